/*
 * Storage commands, as xe spells them: sr-create, vdi-create, vdi-clone,
 * vdi-copy and vbd-create (the -destroy, -list and -param-* commands are
 * the generic ones).
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static struct np_error *call_ref(struct cli_ctx *ctx, const char *method,
                                 struct json_object *arg2);

/* sr-create name-label= type=dir device-config:location=DIR, type=nfs
 * device-config:server= device-config:serverpath=, or type=iscsi
 * device-config:target= device-config:targetIQN= [device-config:SCSIid=]
 * [shared=true]. */
struct np_error *
cli_cmd_sr_create(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *label = cli_require(ctx, "name-label", &error);
    const char *type = label ? cli_require(ctx, "type", &error) : NULL;

    if (!type) {
        return error;
    }
    struct json_object *config = json_object_new_object();
    const struct cli_args *args = ctx->args;
    for (size_t i = 0; i < args->n_params; i++) {
        const struct cli_param *p = &args->params[i];
        if (p->map_key && !strcmp(p->key, "device-config")) {
            json_object_object_add(config, p->map_key,
                                   json_object_new_string(p->value));
        }
    }
    struct json_object *ref = NULL;
    const char *shared = cli_args_get(ctx->args, "shared");
    struct json_object *shared_arg = NULL;
    if (shared) {
        if (strcmp(shared, "true") && strcmp(shared, "false")) {
            json_object_put(config);
            return np_error_new(ERR_INVALID_VALUE, "shared", shared, NULL);
        }
        shared_arg = json_object_new_boolean(!strcmp(shared, "true"));
    }
    error = cli_callv(ctx->session, &ref, "SR.create", config,
                      json_object_new_string(label),
                      json_object_new_string(type), shared_arg, NULL);
    if (!error) {
        fprintf(ctx->out, "%s\n", json_object_get_string(ref));
    }
    json_object_put(ref);
    return error;
}

/* vdi-create sr-uuid= virtual-size= [name-label= format= read-only=
 * other-config:k=v]. */
struct np_error *
cli_cmd_vdi_create(struct cli_ctx *ctx)
{
    static const char *const skip[] = {"sr-uuid", NULL};
    struct json_object *record = json_object_new_object();
    const struct cli_schema *schema;
    struct np_error *error = NULL;
    const char *sr;

    if (!(sr = cli_require(ctx, "sr-uuid", &error))
        || !cli_require(ctx, "virtual-size", &error)
        || (error = cli_session_schema(ctx->session, ctx->class, &schema))
        || (error = cli_add_record_params(ctx, schema, skip, record))) {
        json_object_put(record);
        return error;
    }
    json_object_object_add(record, "SR", json_object_new_string(sr));
    return cli_create_object(ctx, "VDI.create", record);
}

/* vbd-create vm-uuid= vdi-uuid= [device= bootable= mode= type=]:
 * device is xe's name for userdevice. */
struct np_error *
cli_cmd_vbd_create(struct cli_ctx *ctx)
{
    static const char *const skip[] = {"vm-uuid", "vdi-uuid", "device", NULL};
    struct json_object *record = json_object_new_object();
    const struct cli_schema *schema;
    struct np_error *error = NULL;
    const char *vm, *vdi;

    if (!(vm = cli_require(ctx, "vm-uuid", &error))
        || !(vdi = cli_require(ctx, "vdi-uuid", &error))
        || (error = cli_session_schema(ctx->session, ctx->class, &schema))
        || (error = cli_add_record_params(ctx, schema, skip, record))) {
        json_object_put(record);
        return error;
    }
    const char *device = cli_args_get(ctx->args, "device");
    if (device) {
        char *end;
        long n = strtol(device, &end, 10);
        if (!*device || *end) {
            json_object_put(record);
            return np_error_new(ERR_INVALID_VALUE, "device", device, NULL);
        }
        json_object_object_add(record, "userdevice", json_object_new_int64(n));
    }
    json_object_object_add(record, "VM", json_object_new_string(vm));
    json_object_object_add(record, "VDI", json_object_new_string(vdi));
    return cli_create_object(ctx, "VBD.create", record);
}

/* vdi-clone uuid=: VDI.clone, prints the new VDI. */
struct np_error *
cli_cmd_vdi_clone(struct cli_ctx *ctx)
{
    return call_ref(ctx, "VDI.clone", NULL);
}

/* vdi-copy uuid= sr-uuid=: VDI.copy, prints the new VDI. */
struct np_error *
cli_cmd_vdi_copy(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *sr = cli_require(ctx, "sr-uuid", &error);

    return sr ? call_ref(ctx, "VDI.copy", json_object_new_string(sr)) : error;
}

/* vdi-resize uuid= disk-size=: VDI.resize with the size in bytes. */
struct np_error *
cli_cmd_vdi_resize(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *size = cli_require(ctx, "disk-size", &error);
    char *vdi;

    if (!size || (error = cli_lookup(ctx, true, &vdi))) {
        return error;
    }
    error = cli_callv(ctx->session, NULL, "VDI.resize",
                      json_object_new_string(vdi),
                      json_object_new_string(size), NULL);
    free(vdi);
    return error;
}

/* Calls 'method' on the VDI named by uuid= (and 'arg2', ownership taken,
 * unless NULL) and prints the reference it answers. */
static struct np_error *
call_ref(struct cli_ctx *ctx, const char *method, struct json_object *arg2)
{
    struct json_object *ref = NULL;
    char *vdi;
    struct np_error *error = cli_lookup(ctx, true, &vdi);

    if (error) {
        json_object_put(arg2);
        return error;
    }
    error = cli_callv(ctx->session, &ref, method, json_object_new_string(vdi),
                      arg2, NULL);
    if (!error) {
        fprintf(ctx->out, "%s\n", json_object_get_string(ref));
    }
    json_object_put(ref);
    free(vdi);
    return error;
}
