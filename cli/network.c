#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static struct np_error *build_record(struct cli_ctx *ctx,
                                     const struct cli_schema *schema,
                                     struct json_object **recordp);
static void print_ref(const struct cli_ctx *ctx, struct json_object *ref);

struct np_error *
cli_cmd_network_create(struct cli_ctx *ctx)
{
    struct json_object *record, *task = NULL, *ref = NULL;
    const struct cli_schema *schema;
    struct np_error *error = NULL;

    if (!cli_require(ctx, "name-label", &error)) {
        return error;
    }
    error = cli_session_schema(ctx->session, ctx->class, &schema);
    if (!error) {
        error = build_record(ctx, schema, &record);
    }
    if (error) {
        return error;
    }

    /* Creation runs as a task, as a long operation would. */
    error = cli_callv(ctx->session, &task, "Async.network.create",
                      json_object_get(record), NULL);
    if (error && !strcmp(error->code, ERR_MESSAGE_METHOD_UNKNOWN)) {
        np_error_destroy(error);
        error = cli_callv(ctx->session, &ref, "network.create",
                          json_object_get(record), NULL);
    } else if (!error) {
        if (json_object_is_type(task, json_type_string)) {
            error = cli_wait_task(ctx->session, json_object_get_string(task),
                                  &ref);
        } else {
            error = np_error_new(ERR_INTERNAL_ERROR, "Async.network.create",
                                 "the result is not a task reference", NULL);
        }
    }
    if (!error) {
        print_ref(ctx, ref);
    }
    json_object_put(record);
    json_object_put(task);
    json_object_put(ref);
    return error;
}

/* Builds the record for network.create from the command line, typing each
 * value by the schema. */
static struct np_error *
build_record(struct cli_ctx *ctx, const struct cli_schema *schema,
             struct json_object **recordp)
{
    const struct cli_args *args = ctx->args;
    struct json_object *record = json_object_new_object();
    struct np_error *error = NULL;

    for (size_t i = 0; !error && i < args->n_params; i++) {
        const struct cli_param *p = &args->params[i];
        const struct cli_field *field = cli_schema_find(schema, p->key);
        struct json_object *value, *map;

        if (!field) {
            error = np_error_new(CLI_ERR_UNKNOWN_FIELD, ctx->class->cli_name,
                                 p->key, NULL);
        } else if (p->map_key) {
            if (!json_object_object_get_ex(record, field->api_name, &map)) {
                map = json_object_new_object();
                json_object_object_add(record, field->api_name, map);
            }
            json_object_object_add(map, p->map_key,
                                   json_object_new_string(p->value));
        } else {
            error = cli_value_parse(field, p->value, &value);
            if (!error) {
                json_object_object_add(record, field->api_name, value);
            }
        }
    }
    if (error) {
        json_object_put(record);
        record = NULL;
    }
    *recordp = record;
    return error;
}

/* Prints the reference of a new object: a UUID, or JSON with --json. */
static void
print_ref(const struct cli_ctx *ctx, struct json_object *ref)
{
    if (ctx->args->json) {
        cli_print_json(ctx->out, ref);
    } else {
        fprintf(ctx->out, "%s\n", json_object_get_string(ref));
    }
}
