/*
 * Pool commands, as xe spells them: pool-join, pool-eject,
 * pool-designate-new-master, pool-emergency-transition-to-master,
 * pool-recover-slaves, and pool-status (this host's view of its pool).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"

/* pool-join master-address= master-username= master-password=
 * [force=true]: pool.join on the host the CLI talks to. */
struct np_error *
cli_cmd_pool_join(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *address = cli_require(ctx, "master-address", &error);
    const char *user =
        address ? cli_require(ctx, "master-username", &error) : NULL;
    const char *password =
        user ? cli_require(ctx, "master-password", &error) : NULL;
    const char *force = cli_args_get(ctx->args, "force");

    if (!password) {
        return error;
    }
    if (force && strcmp(force, "true") && strcmp(force, "false")) {
        return np_error_new(ERR_INVALID_VALUE, "force", force, NULL);
    }
    return cli_callv(
        ctx->session, NULL, "pool.join", json_object_new_string(address),
        json_object_new_string(user), json_object_new_string(password),
        json_object_new_boolean(force && !strcmp(force, "true")), NULL);
}

/* pool-eject host-uuid=: pool.eject. */
struct np_error *
cli_cmd_pool_eject(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *host = cli_require(ctx, "host-uuid", &error);

    return host ? cli_callv(ctx->session, NULL, "pool.eject",
                            json_object_new_string(host), NULL)
                : error;
}

/* pool-designate-new-master host-uuid=: pool.designate_new_master. */
struct np_error *
cli_cmd_pool_designate_new_master(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *host = cli_require(ctx, "host-uuid", &error);

    return host ? cli_callv(ctx->session, NULL, "pool.designate_new_master",
                            json_object_new_string(host), NULL)
                : error;
}

/* pool-management-reconfigure network-uuid=:
 * pool.management_reconfigure. */
struct np_error *
cli_cmd_pool_management_reconfigure(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *network = cli_require(ctx, "network-uuid", &error);

    return network
               ? cli_callv(ctx->session, NULL, "pool.management_reconfigure",
                           json_object_new_string(network), NULL)
               : error;
}

/* pool-emergency-transition-to-master: on the host the CLI talks to. */
struct np_error *
cli_cmd_pool_emergency_transition_to_master(struct cli_ctx *ctx)
{
    return cli_callv(ctx->session, NULL, "pool.emergency_transition_to_master",
                     NULL);
}

/* pool-emergency-reset-master master-address=: on the host the CLI talks
 * to. */
struct np_error *
cli_cmd_pool_emergency_reset_master(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *address = cli_require(ctx, "master-address", &error);

    return address
               ? cli_callv(ctx->session, NULL, "pool.emergency_reset_master",
                           json_object_new_string(address), NULL)
               : error;
}

/* pool-homogeneity-report: one line per host whose setting differs from
 * what most of the pool's hosts have. */
struct np_error *
cli_cmd_pool_homogeneity_report(struct cli_ctx *ctx)
{
    struct json_object *findings = NULL;
    struct np_error *error =
        cli_callv(ctx->session, &findings, "pool.get_homogeneity", NULL);

    if (error) {
        return error;
    }
    size_t n = json_object_array_length(findings);
    for (size_t i = 0; i < n; i++) {
        struct json_object *f = json_object_array_get_idx(findings, i);
#define F(NAME) json_object_get_string(json_object_object_get(f, NAME))
        fprintf(ctx->out, "%s: host %s has %s, the pool %s\n", F("what"),
                F("host"), F("value"), F("pool_value"));
#undef F
    }
    if (!n) {
        fprintf(ctx->out, "the pool's hosts agree\n");
    }
    json_object_put(findings);
    return NULL;
}

/* pool-recover-slaves: prints the hosts in the pool's configuration. */
struct np_error *
cli_cmd_pool_recover_slaves(struct cli_ctx *ctx)
{
    struct json_object *hosts = NULL;
    struct np_error *error =
        cli_callv(ctx->session, &hosts, "pool.recover_slaves", NULL);

    if (!error) {
        for (size_t i = 0; i < json_object_array_length(hosts); i++) {
            fprintf(
                ctx->out, "%s\n",
                json_object_get_string(json_object_array_get_idx(hosts, i)));
        }
    }
    json_object_put(hosts);
    return error;
}

/* pool-status: pool.get_status, one "key: value" line each (or JSON). */
struct np_error *
cli_cmd_pool_status(struct cli_ctx *ctx)
{
    struct json_object *status = NULL;
    struct np_error *error =
        cli_callv(ctx->session, &status, "pool.get_status", NULL);

    if (error) {
        return error;
    }
    if (ctx->args->json) {
        cli_print_json(ctx->out, status);
    } else {
        json_object_object_foreach (status, key, value) {
            if (json_object_is_type(value, json_type_object)) {
                fprintf(ctx->out, "%s:", key);
                json_object_object_foreach (value, host, role) {
                    fprintf(ctx->out, " %s(%s)", host,
                            json_object_get_string(role));
                }
                fprintf(ctx->out, "\n");
            } else {
                fprintf(ctx->out, "%s: %s\n", key,
                        json_object_get_string(value));
            }
        }
    }
    json_object_put(status);
    return NULL;
}

/* pool-vlan-create pif-uuid= vlan= network-uuid=:
 * pool.create_VLAN_from_PIF; prints the new VLAN PIFs, comma-separated as
 * --minimal lists are. */
struct np_error *
cli_cmd_pool_vlan_create(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *pif = cli_require(ctx, "pif-uuid", &error);
    const char *tag_text = pif ? cli_require(ctx, "vlan", &error) : NULL;
    const char *network =
        tag_text ? cli_require(ctx, "network-uuid", &error) : NULL;
    struct json_object *pifs = NULL;

    if (!network) {
        return error;
    }
    char *end;
    errno = 0;
    long long tag = strtoll(tag_text, &end, 10);
    if (!*tag_text || *end || errno) {
        return np_error_new(ERR_INVALID_VALUE, "vlan", tag_text, NULL);
    }
    error =
        cli_callv(ctx->session, &pifs, "pool.create_VLAN_from_PIF",
                  json_object_new_string(pif), json_object_new_string(network),
                  json_object_new_int64(tag), NULL);
    if (!error) {
        for (size_t i = 0; i < json_object_array_length(pifs); i++) {
            fprintf(
                ctx->out, "%s%s", i ? "," : "",
                json_object_get_string(json_object_array_get_idx(pifs, i)));
        }
        fprintf(ctx->out, "\n");
    }
    json_object_put(pifs);
    return error;
}
