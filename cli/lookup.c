#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"

static struct np_error *get_by_uuid(struct cli_ctx *ctx, const char *uuid,
                                    char **refp);
static struct np_error *get_by_name(struct cli_ctx *ctx, const char *name,
                                    char **refp);
static struct np_error *scan_by_field(struct cli_ctx *ctx,
                                      const char *api_field, const char *name,
                                      struct json_object **refsp);
static struct np_error *pick_one(struct cli_ctx *ctx, const char *name,
                                 struct json_object *refs, char **refp);

const char *
cli_require(const struct cli_ctx *ctx, const char *key,
            struct np_error **errorp)
{
    const char *value = cli_args_get(ctx->args, key);

    if (!value) {
        *errorp = np_error_new(ERR_MISSING_PARAMETER, key, NULL);
    }
    return value;
}

struct np_error *
cli_lookup(struct cli_ctx *ctx, bool by_label, char **refp)
{
    const char *uuid = cli_args_get(ctx->args, "uuid");
    const char *name = cli_args_get(ctx->args, ctx->class->cli_name);
    const char *label =
        by_label ? cli_args_get(ctx->args, "name-label") : NULL;
    struct np_error *error;

    *refp = NULL;
    if (uuid) {
        if (!uuid_text_is_valid(uuid)) {
            return np_error_new(ERR_INVALID_VALUE, "uuid", uuid, NULL);
        }
        return get_by_uuid(ctx, uuid, refp);
    } else if (name) {
        if (!uuid_text_is_valid(name)) {
            return get_by_name(ctx, name, refp);
        }
        error = get_by_uuid(ctx, name, refp);
        if (error && !strcmp(error->code, ERR_HANDLE_INVALID)) {
            /* A name may look like a UUID. */
            struct np_error *name_error = get_by_name(ctx, name, refp);
            if (!name_error) {
                np_error_destroy(error);
                return NULL;
            }
            np_error_destroy(name_error);
        }
        return error;
    } else if (label) {
        return get_by_name(ctx, label, refp);
    }
    return np_error_new(ERR_MISSING_PARAMETER, "uuid", NULL);
}

/* Resolves 'uuid' with <Class>.get_by_uuid. */
static struct np_error *
get_by_uuid(struct cli_ctx *ctx, const char *uuid, char **refp)
{
    char *method = xasprintf("%s.get_by_uuid", ctx->class->api_name);
    struct json_object *result;
    struct np_error *error;

    error = cli_callv(ctx->session, &result, method,
                      json_object_new_string(uuid), NULL);
    if (!error) {
        if (json_object_is_type(result, json_type_string)) {
            *refp = xstrdup(json_object_get_string(result));
        } else {
            error = np_error_new(ERR_HANDLE_INVALID, ctx->class->api_name,
                                 uuid, NULL);
        }
        json_object_put(result);
    }
    free(method);
    return error;
}

/* Resolves 'name' as a name-label (or, for classes without one, a
 * username). */
static struct np_error *
get_by_name(struct cli_ctx *ctx, const char *name, char **refp)
{
    const struct cli_schema *schema;
    struct json_object *refs = NULL;
    struct np_error *error;

    error = cli_session_schema(ctx->session, ctx->class, &schema);
    if (error) {
        return error;
    }
    if (cli_schema_find_api(schema, "name_label")) {
        char *method = xasprintf("%s.get_by_name_label", ctx->class->api_name);
        error = cli_callv(ctx->session, &refs, method,
                          json_object_new_string(name), NULL);
        free(method);
    } else if (cli_schema_find_api(schema, "username")) {
        error = scan_by_field(ctx, "username", name, &refs);
    } else {
        return np_error_new(ERR_HANDLE_INVALID, ctx->class->api_name, name,
                            NULL);
    }
    if (!error) {
        error = pick_one(ctx, name, refs, refp);
    }
    json_object_put(refs);
    return error;
}

/* Stores in '*refsp' a new array of the references of objects whose field
 * 'api_field' equals 'name'. */
static struct np_error *
scan_by_field(struct cli_ctx *ctx, const char *api_field, const char *name,
              struct json_object **refsp)
{
    char *method = xasprintf("%s.get_all_records", ctx->class->api_name);
    struct json_object *records;
    struct np_error *error;

    *refsp = NULL;
    error = cli_call(ctx->session, method, NULL, &records);
    free(method);
    if (error) {
        return error;
    }
    *refsp = json_object_new_array();
    if (json_object_is_type(records, json_type_object)) {
        json_object_object_foreach (records, ref, record) {
            struct json_object *value;
            if (json_object_object_get_ex(record, api_field, &value)
                && !strcmp(json_object_get_string(value), name)) {
                json_object_array_add(*refsp, json_object_new_string(ref));
            }
        }
    }
    json_object_put(records);
    return NULL;
}

/* Stores in '*refp' the single reference in 'refs'. */
static struct np_error *
pick_one(struct cli_ctx *ctx, const char *name, struct json_object *refs,
         char **refp)
{
    size_t n = (json_object_is_type(refs, json_type_array)
                    ? json_object_array_length(refs)
                    : 0);

    if (n == 0) {
        return np_error_new(ERR_HANDLE_INVALID, ctx->class->api_name, name,
                            NULL);
    } else if (n > 1) {
        return np_error_new(ERR_MULTIPLE_MATCHES, ctx->class->api_name, name,
                            NULL);
    }
    *refp =
        xstrdup(json_object_get_string(json_object_array_get_idx(refs, 0)));
    return NULL;
}
