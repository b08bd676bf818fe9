#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

/* vm-create name-label= [name-description=] [other-config:k=v…]: a minimal
 * VM record (no domain yet), for VIFs to belong to. */
struct np_error *
cli_cmd_vm_create(struct cli_ctx *ctx)
{
    struct json_object *record = json_object_new_object();
    const struct cli_schema *schema;
    struct np_error *error = NULL;

    if (!cli_require(ctx, "name-label", &error)
        || (error = cli_session_schema(ctx->session, ctx->class, &schema))
        || (error = cli_add_record_params(ctx, schema, NULL, record))) {
        json_object_put(record);
        return error;
    }
    return cli_create_object(ctx, "VM.create", record);
}

/* vif-create vm-uuid= network-uuid= device= [MAC=] [other-config:k=v…]
 * [qos-algorithm-type= …]: VIF.create with the VM and network named by
 * UUID, as xe has it; the other parameters are VIF fields. */
struct np_error *
cli_cmd_vif_create(struct cli_ctx *ctx)
{
    static const char *const skip[] = {"vm-uuid", "network-uuid", NULL};
    struct json_object *record = json_object_new_object();
    const struct cli_schema *schema;
    struct np_error *error = NULL;
    const char *vm, *network;

    if (!(vm = cli_require(ctx, "vm-uuid", &error))
        || !(network = cli_require(ctx, "network-uuid", &error))
        || !cli_require(ctx, "device", &error)
        || (error = cli_session_schema(ctx->session, ctx->class, &schema))
        || (error = cli_add_record_params(ctx, schema, skip, record))) {
        json_object_put(record);
        return error;
    }
    json_object_object_add(record, "VM", json_object_new_string(vm));
    json_object_object_add(record, "network", json_object_new_string(network));
    return cli_create_object(ctx, "VIF.create", record);
}

/* Adds to 'record' every parameter of the command line not in 'skip' as a
 * field of 'schema', typed by it; "map:key=value" parameters become keys
 * of the map field. */
struct np_error *
cli_add_record_params(const struct cli_ctx *ctx,
                      const struct cli_schema *schema, const char *const *skip,
                      struct json_object *record)
{
    const struct cli_args *args = ctx->args;

    for (size_t i = 0; i < args->n_params; i++) {
        const struct cli_param *p = &args->params[i];
        bool skipped = false;
        for (size_t j = 0; skip && skip[j]; j++) {
            skipped |= !p->map_key && !strcmp(p->key, skip[j]);
        }
        if (skipped) {
            continue;
        }

        const struct cli_field *field = cli_schema_find(schema, p->key);
        struct json_object *value, *map;
        if (!field) {
            return np_error_new(CLI_ERR_UNKNOWN_FIELD, ctx->class->cli_name,
                                p->key, NULL);
        }
        if (p->map_key) {
            if (!json_object_object_get_ex(record, field->api_name, &map)) {
                map = json_object_new_object();
                json_object_object_add(record, field->api_name, map);
            }
            json_object_object_add(map, p->map_key,
                                   json_object_new_string(p->value));
            continue;
        }
        struct np_error *error = cli_value_parse(field, p->value, &value);
        if (error) {
            return error;
        }
        json_object_object_add(record, field->api_name, value);
    }
    return NULL;
}

/* Calls 'method' (a <Class>.create) with 'record' (ownership taken) and
 * prints the new object's reference. */
struct np_error *
cli_create_object(struct cli_ctx *ctx, const char *method,
                  struct json_object *record)
{
    struct json_object *ref = NULL;
    struct np_error *error =
        cli_callv(ctx->session, &ref, method, record, NULL);

    if (!error) {
        if (ctx->args->json) {
            cli_print_json(ctx->out, ref);
        } else {
            fprintf(ctx->out, "%s\n", json_object_get_string(ref));
        }
    }
    json_object_put(ref);
    return error;
}
