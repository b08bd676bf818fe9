/*
 * VLAN and PIF address commands: vlan-create, vlan-destroy and
 * pif-reconfigure-ip, as xe spells them.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static void print_ref(const struct cli_ctx *ctx, struct json_object *ref);

/* vlan-create pif-uuid= vlan= network-uuid=: VLAN.create, then prints the
 * new VLAN PIF's UUID as xe does (the PIF is what pif-reconfigure-ip and
 * pif-plug take). */
struct np_error *
cli_cmd_vlan_create(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *pif = cli_require(ctx, "pif-uuid", &error);
    const char *tag_text = pif ? cli_require(ctx, "vlan", &error) : NULL;
    const char *network =
        tag_text ? cli_require(ctx, "network-uuid", &error) : NULL;
    struct json_object *vlan = NULL, *child = NULL;

    if (!network) {
        return error;
    }
    char *end;
    errno = 0;
    long long tag = strtoll(tag_text, &end, 10);
    if (!*tag_text || *end || errno) {
        return np_error_new(ERR_INVALID_VALUE, "vlan", tag_text, NULL);
    }

    error = cli_callv(ctx->session, &vlan, "VLAN.create",
                      json_object_new_string(pif), json_object_new_int64(tag),
                      json_object_new_string(network), NULL);
    if (!error) {
        error = cli_callv(ctx->session, &child, "VLAN.get_untagged_PIF",
                          json_object_get(vlan), NULL);
    }
    if (!error) {
        print_ref(ctx, child);
    }
    json_object_put(vlan);
    json_object_put(child);
    return error;
}

/* vlan-destroy uuid=: VLAN.destroy of the VLAN named by its own UUID or
 * by its VLAN PIF's, as xe accepts both. */
struct np_error *
cli_cmd_vlan_destroy(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *uuid = cli_require(ctx, "uuid", &error);
    struct json_object *masters = NULL;

    if (!uuid) {
        return error;
    }
    error = cli_callv(ctx->session, NULL, "VLAN.destroy",
                      json_object_new_string(uuid), NULL);
    if (!error || strcmp(error->code, ERR_HANDLE_INVALID)) {
        return error;
    }

    /* Not a VLAN: perhaps the VLAN PIF. */
    struct np_error *pif_error =
        cli_callv(ctx->session, &masters, "PIF.get_VLAN_master_of",
                  json_object_new_string(uuid), NULL);
    if (!pif_error && json_object_is_type(masters, json_type_array)
        && json_object_array_length(masters) == 1) {
        np_error_destroy(error);
        error = cli_callv(
            ctx->session, NULL, "VLAN.destroy",
            json_object_get(json_object_array_get_idx(masters, 0)), NULL);
    }
    np_error_destroy(pif_error);
    json_object_put(masters);
    return error;
}

/* pif-reconfigure-ip uuid= mode= [IP= netmask= gateway= DNS=]:
 * PIF.reconfigure_ip with "" for what is not given. */
struct np_error *
cli_cmd_pif_reconfigure_ip(struct cli_ctx *ctx)
{
    static const char *const keys[] = {"IP", "netmask", "gateway", "DNS"};
    struct np_error *error = NULL;
    const char *mode = cli_require(ctx, "mode", &error);
    char *ref;

    if (!mode) {
        return error;
    }
    error = cli_lookup(ctx, false, &ref);
    if (error) {
        return error;
    }
    struct json_object *params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(ref));
    json_object_array_add(params, json_object_new_string(mode));
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *value = cli_args_get(ctx->args, keys[i]);
        json_object_array_add(params,
                              json_object_new_string(value ? value : ""));
    }
    error = cli_call(ctx->session, "PIF.reconfigure_ip", params, NULL);
    free(ref);
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
