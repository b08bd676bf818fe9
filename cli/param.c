#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

/* An object named on the command line, with what the param-* commands
 * need to know about it. */
struct target {
    char *ref;                       /* Its reference. */
    const struct cli_schema *schema; /* Its class's schema. */
    struct json_object *record;      /* Its record, once fetched. */
};

static struct np_error *open_target(struct cli_ctx *ctx, bool by_label,
                                    bool fetch, struct target *target);
static void target_clear(struct target *target);
static struct np_error *named_field(struct cli_ctx *ctx,
                                    const struct target *target, bool write,
                                    const struct cli_field **fieldp);
static struct json_object *record_value(const struct target *target,
                                        const struct cli_field *field);
static struct np_error *call_field(struct cli_ctx *ctx, const char *verb,
                                   const struct cli_field *field,
                                   const char *ref, struct json_object *a,
                                   struct json_object *b);
static struct np_error *set_map_key(struct cli_ctx *ctx,
                                    const struct target *target,
                                    const struct cli_field *field,
                                    const char *key, const char *value);
static struct np_error *edit_set(struct cli_ctx *ctx,
                                 const struct target *target,
                                 const struct cli_field *field,
                                 const char *item, bool add);
static bool is_lookup_key(const struct cli_ctx *ctx, const char *key);

struct np_error *
cli_cmd_param_list(struct cli_ctx *ctx)
{
    struct target target;
    struct np_error *error = open_target(ctx, true, true, &target);

    if (!error) {
        if (ctx->args->json) {
            cli_print_json(ctx->out, target.record);
        } else if (ctx->args->minimal) {
            fprintf(ctx->out, "%s\n", target.ref);
        } else {
            char *block =
                cli_format_block(target.schema, target.record, NULL, 0);
            fputs(block, ctx->out);
            free(block);
        }
    }
    target_clear(&target);
    return error;
}

struct np_error *
cli_cmd_param_get(struct cli_ctx *ctx)
{
    const char *key = cli_args_get(ctx->args, "param-key");
    const struct cli_field *field;
    struct json_object *value;
    struct target target;
    struct np_error *error;

    error = open_target(ctx, true, true, &target);
    if (!error) {
        error = named_field(ctx, &target, false, &field);
    }
    if (error) {
        goto out;
    }

    value = record_value(&target, field);
    if (key) {
        struct json_object *map = value;
        if (field->kind != CLI_KIND_MAP
            || !json_object_is_type(map, json_type_object)) {
            error = np_error_new(ERR_FIELD_TYPE_ERROR, field->cli_name, NULL);
            goto out;
        }
        if (!json_object_object_get_ex(map, key, &value)) {
            error =
                np_error_new(ERR_MAP_KEY_MISSING, field->cli_name, key, NULL);
            goto out;
        }
    }
    if (ctx->args->json) {
        cli_print_json(ctx->out, value);
    } else {
        char *text = cli_value_format(value);
        fprintf(ctx->out, "%s\n", text);
        free(text);
    }

out:
    target_clear(&target);
    return error;
}

struct np_error *
cli_cmd_param_set(struct cli_ctx *ctx)
{
    const struct cli_args *args = ctx->args;
    struct np_error *error;
    struct target target;
    bool has_map_keys = false;

    for (size_t i = 0; i < args->n_params; i++) {
        has_map_keys |= args->params[i].map_key != NULL;
    }
    error = open_target(ctx, false, has_map_keys, &target);

    for (size_t i = 0; !error && i < args->n_params; i++) {
        const struct cli_param *p = &args->params[i];
        const struct cli_field *field;
        struct json_object *value;

        if (!p->map_key && is_lookup_key(ctx, p->key)) {
            continue;
        }
        field = cli_schema_find(target.schema, p->key);
        if (!field) {
            error = np_error_new(CLI_ERR_UNKNOWN_FIELD, ctx->class->cli_name,
                                 p->key, NULL);
        } else if (!field->writable) {
            error = np_error_new(ERR_FIELD_READ_ONLY, field->cli_name, NULL);
        } else if (p->map_key) {
            if (field->kind != CLI_KIND_MAP) {
                error =
                    np_error_new(ERR_FIELD_TYPE_ERROR, field->cli_name, NULL);
            } else {
                error = set_map_key(ctx, &target, field, p->map_key, p->value);
            }
        } else {
            error = cli_value_parse(field, p->value, &value);
            if (!error) {
                error = call_field(ctx, "set", field, target.ref, value, NULL);
            }
        }
    }
    target_clear(&target);
    return error;
}

struct np_error *
cli_cmd_param_add(struct cli_ctx *ctx)
{
    static const char *const fixed[] = {"param-name", "param-key", NULL};
    const struct cli_args *args = ctx->args;
    const struct cli_field *field;
    struct target target;
    struct np_error *error;
    size_t n_added = 0;

    error = open_target(ctx, true, true, &target);
    if (!error) {
        error = named_field(ctx, &target, true, &field);
    }
    if (error) {
        goto out;
    }

    if (field->kind == CLI_KIND_SET) {
        const char *item = cli_args_get(args, "param-key");
        error =
            (item ? edit_set(ctx, &target, field, item, true)
                  : np_error_new(ERR_MISSING_PARAMETER, "param-key", NULL));
        goto out;
    } else if (field->kind != CLI_KIND_MAP) {
        error = np_error_new(ERR_FIELD_TYPE_ERROR, field->cli_name, NULL);
        goto out;
    }

    for (size_t i = 0; !error && i < args->n_params; i++) {
        const struct cli_param *p = &args->params[i];
        bool skip = false;

        for (size_t j = 0; fixed[j]; j++) {
            skip |= !strcmp(p->key, fixed[j]);
        }
        if (p->map_key || skip || is_lookup_key(ctx, p->key)) {
            continue;
        }
        error = call_field(ctx, "add_to", field, target.ref,
                           json_object_new_string(p->key),
                           json_object_new_string(p->value));
        n_added++;
    }
    if (!error && !n_added) {
        error = np_error_new(ERR_MISSING_PARAMETER, "KEY=VALUE", NULL);
    }

out:
    target_clear(&target);
    return error;
}

struct np_error *
cli_cmd_param_remove(struct cli_ctx *ctx)
{
    const struct cli_field *field;
    struct target target;
    struct np_error *error = NULL;
    const char *key;

    key = cli_require(ctx, "param-key", &error);
    if (!key) {
        return error;
    }
    error = open_target(ctx, true, true, &target);
    if (!error) {
        error = named_field(ctx, &target, true, &field);
    }
    if (!error) {
        if (field->kind == CLI_KIND_MAP) {
            error = call_field(ctx, "remove_from", field, target.ref,
                               json_object_new_string(key), NULL);
        } else if (field->kind == CLI_KIND_SET) {
            error = edit_set(ctx, &target, field, key, false);
        } else {
            error = np_error_new(ERR_FIELD_TYPE_ERROR, field->cli_name, NULL);
        }
    }
    target_clear(&target);
    return error;
}

struct np_error *
cli_cmd_param_clear(struct cli_ctx *ctx)
{
    const struct cli_field *field;
    struct target target;
    struct np_error *error;

    error = open_target(ctx, true, true, &target);
    if (!error) {
        error = named_field(ctx, &target, true, &field);
    }
    if (error) {
        goto out;
    }

    if (field->kind == CLI_KIND_MAP) {
        struct json_object *map = record_value(&target, field);
        if (json_object_is_type(map, json_type_object)) {
            json_object_object_foreach (map, key, value) {
                (void) value;
                error = call_field(ctx, "remove_from", field, target.ref,
                                   json_object_new_string(key), NULL);
                if (error) {
                    break;
                }
            }
        }
    } else if (field->kind == CLI_KIND_SET) {
        error = call_field(ctx, "set", field, target.ref,
                           json_object_new_array(), NULL);
    } else {
        error = np_error_new(ERR_FIELD_TYPE_ERROR, field->cli_name, NULL);
    }

out:
    target_clear(&target);
    return error;
}

/* Finds the object the command line names and its schema, and with
 * 'fetch' its record.  Clear 'target' afterwards whatever the result. */
static struct np_error *
open_target(struct cli_ctx *ctx, bool by_label, bool fetch,
            struct target *target)
{
    struct np_error *error;
    char *method;

    memset(target, 0, sizeof *target);
    error = cli_session_schema(ctx->session, ctx->class, &target->schema);
    if (!error) {
        error = cli_lookup(ctx, by_label, &target->ref);
    }
    if (error || !fetch) {
        return error;
    }

    method = xasprintf("%s.get_record", ctx->class->api_name);
    error = cli_callv(ctx->session, &target->record, method,
                      json_object_new_string(target->ref), NULL);
    free(method);
    if (!error) {
        if (!json_object_is_type(target->record, json_type_object)) {
            return np_error_new(ERR_HANDLE_INVALID, ctx->class->api_name,
                                target->ref, NULL);
        }
        if (!json_object_object_get_ex(target->record, "uuid", NULL)) {
            json_object_object_add(target->record, "uuid",
                                   json_object_new_string(target->ref));
        }
        cli_record_strip_secrets(target->record);
    }
    return error;
}

/* Frees what 'target' owns. */
static void
target_clear(struct target *target)
{
    free(target->ref);
    json_object_put(target->record);
    memset(target, 0, sizeof *target);
}

/* Finds the field that param-name= names; with 'write', one that clients
 * may change. */
static struct np_error *
named_field(struct cli_ctx *ctx, const struct target *target, bool write,
            const struct cli_field **fieldp)
{
    struct np_error *error = NULL;
    const char *name = cli_require(ctx, "param-name", &error);

    if (!name) {
        return error;
    }
    *fieldp = cli_schema_find(target->schema, name);
    if (!*fieldp) {
        return np_error_new(CLI_ERR_UNKNOWN_FIELD, ctx->class->cli_name, name,
                            NULL);
    }
    if (write && !(*fieldp)->writable) {
        return np_error_new(ERR_FIELD_READ_ONLY, (*fieldp)->cli_name, NULL);
    }
    return NULL;
}

/* Returns the value of 'field' in the fetched record (borrowed; NULL if
 * absent). */
static struct json_object *
record_value(const struct target *target, const struct cli_field *field)
{
    struct json_object *value = NULL;

    json_object_object_get_ex(target->record, field->api_name, &value);
    return value;
}

/* Calls <Class>.<verb>_<field>(ref, a[, b]), taking ownership of 'a' and
 * 'b' (either may be NULL). */
static struct np_error *
call_field(struct cli_ctx *ctx, const char *verb,
           const struct cli_field *field, const char *ref,
           struct json_object *a, struct json_object *b)
{
    char *method =
        xasprintf("%s.%s_%s", ctx->class->api_name, verb, field->api_name);
    struct json_object *params = json_object_new_array();
    struct np_error *error;

    json_object_array_add(params, json_object_new_string(ref));
    if (a) {
        json_object_array_add(params, a);
    }
    if (b) {
        json_object_array_add(params, b);
    }
    error = cli_call(ctx->session, method, params, NULL);
    free(method);
    return error;
}

/* Sets 'key' of map 'field' to 'value' in one set_<map> call carrying the
 * whole map, so the change is one write that the server checks as a whole:
 * a refused value leaves the map as it was. */
static struct np_error *
set_map_key(struct cli_ctx *ctx, const struct target *target,
            const struct cli_field *field, const char *key, const char *value)
{
    struct json_object *map = record_value(target, field);
    struct json_object *current;

    if (json_object_object_get_ex(map, key, &current)
        && json_object_is_type(current, json_type_string)
        && !strcmp(json_object_get_string(current), value)) {
        return NULL;
    }
    struct json_object *updated = json_object_new_object();
    json_object_object_foreach (map, k, v) {
        json_object_object_add(updated, k, json_object_get(v));
    }
    json_object_object_add(updated, key, json_object_new_string(value));
    struct np_error *error = call_field(ctx, "set", field, target->ref,
                                        json_object_get(updated), NULL);
    if (!error && map) {
        /* Later keys of the same command build on this one. */
        json_object_object_add(map, key, json_object_new_string(value));
    }
    json_object_put(updated);
    return error;
}

/* Adds 'item' to, or removes it from, set 'field' by writing the whole
 * set. */
static struct np_error *
edit_set(struct cli_ctx *ctx, const struct target *target,
         const struct cli_field *field, const char *item, bool add)
{
    struct json_object *set = record_value(target, field);
    struct json_object *new_set = json_object_new_array();
    size_t n = json_object_is_type(set, json_type_array)
                   ? json_object_array_length(set)
                   : 0;
    bool present = false;

    for (size_t i = 0; i < n; i++) {
        struct json_object *member = json_object_array_get_idx(set, i);
        if (!strcmp(json_object_get_string(member), item)) {
            present = true;
            if (!add) {
                continue;
            }
        }
        json_object_array_add(new_set, json_object_get(member));
    }
    if (add && !present) {
        json_object_array_add(new_set, json_object_new_string(item));
    } else if (!add && !present) {
        json_object_put(new_set);
        return np_error_new(ERR_MAP_KEY_MISSING, field->cli_name, item, NULL);
    } else if (add) {
        json_object_put(new_set);
        return NULL;
    }
    return call_field(ctx, "set", field, target->ref, new_set, NULL);
}

/* Returns true if 'key' names the object rather than a field: uuid= or
 * <class>=, and for commands that look objects up by label, name-label=. */
static bool
is_lookup_key(const struct cli_ctx *ctx, const char *key)
{
    return (!strcmp(key, "uuid") || !strcmp(key, ctx->class->cli_name)
            || (ctx->command->run != cli_cmd_param_set
                && !strcmp(key, "name-label")));
}
