/*
 * High availability commands, as xe spells them: pool-ha-enable,
 * pool-ha-disable and pool-ha-compute-max-host-failures-to-tolerate.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"

/* pool-ha-enable heartbeat-sr-uuids= [ha-config:timeout=]: pool.enable_ha;
 * prints each pre-flight warning the pool raised as a message. */
struct np_error *
cli_cmd_pool_ha_enable(struct cli_ctx *ctx)
{
    const struct cli_args *args = ctx->args;
    struct np_error *error = NULL;
    const char *srs = cli_require(ctx, "heartbeat-sr-uuids", &error);
    struct json_object *warnings = NULL;

    if (!srs) {
        return error;
    }
    struct json_object *list = json_object_new_array();
    for (const char *p = srs; *p;) {
        size_t length = strcspn(p, ",;");
        if (length) {
            json_object_array_add(list, json_object_new_string_len(p, length));
        }
        p += length + (p[length] != '\0');
    }
    struct json_object *config = json_object_new_object();
    for (size_t i = 0; i < args->n_params; i++) {
        const struct cli_param *param = &args->params[i];
        if (param->map_key && !strcmp(param->key, "ha-config")) {
            json_object_object_add(config, param->map_key,
                                   json_object_new_string(param->value));
        }
    }
    error = cli_callv(ctx->session, &warnings, "pool.enable_ha", list, config,
                      NULL);
    for (size_t i = 0; !error && i < json_object_array_length(warnings); i++) {
        fprintf(
            ctx->out, "warning: %s (see message-list)\n",
            json_object_get_string(json_object_array_get_idx(warnings, i)));
    }
    json_object_put(warnings);
    return error;
}

/* pool-ha-disable: pool.disable_ha. */
struct np_error *
cli_cmd_pool_ha_disable(struct cli_ctx *ctx)
{
    return cli_callv(ctx->session, NULL, "pool.disable_ha", NULL);
}

/* pool-ha-compute-max-host-failures-to-tolerate: prints the number. */
struct np_error *
cli_cmd_pool_ha_compute_max_host_failures_to_tolerate(struct cli_ctx *ctx)
{
    struct json_object *n = NULL;
    struct np_error *error =
        cli_callv(ctx->session, &n,
                  "pool.ha_compute_max_host_failures_to_tolerate", NULL);

    if (!error) {
        fprintf(ctx->out, "%s\n", json_object_get_string(n));
    }
    json_object_put(n);
    return error;
}

/* host-ha-clear: host.ha_clear on the host the CLI talks to. */
struct np_error *
cli_cmd_host_ha_clear(struct cli_ctx *ctx)
{
    return cli_callv(ctx->session, NULL, "host.ha_clear", NULL);
}

/* host-emergency-ha-disable --force: host.emergency_ha_disable on the host
 * the CLI talks to. */
struct np_error *
cli_cmd_host_emergency_ha_disable(struct cli_ctx *ctx)
{
    const char *force = cli_args_get(ctx->args, "force");

    if (!force || strcmp(force, "true")) {
        return np_error_new(ERR_INVALID_VALUE, "force", force ? force : "",
                            NULL);
    }
    return cli_callv(ctx->session, NULL, "host.emergency_ha_disable",
                     json_object_new_boolean(true), NULL);
}
