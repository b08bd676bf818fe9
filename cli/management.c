/*
 * Management interface commands: host-management-reconfigure and
 * host-management-disable, as xe spells them.  Both act on the host the
 * CLI talks to.
 */
#include "cli/cli.h"

#include <json-c/json.h>

#include "lib/error.h"

/* host-management-reconfigure pif-uuid=: host.management_reconfigure. */
struct np_error *
cli_cmd_host_management_reconfigure(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *pif = cli_require(ctx, "pif-uuid", &error);

    if (!pif) {
        return error;
    }
    return cli_callv(ctx->session, NULL, "host.management_reconfigure",
                     json_object_new_string(pif), NULL);
}

/* host-management-disable: host.management_disable. */
struct np_error *
cli_cmd_host_management_disable(struct cli_ctx *ctx)
{
    return cli_callv(ctx->session, NULL, "host.management_disable", NULL);
}
