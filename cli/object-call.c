#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

/* Runs a command "<class>-<verb>" (network-destroy, pif-plug, task-cancel)
 * that names one object and calls <Class>.<verb>(ref) on it. */
struct np_error *
cli_cmd_object_call(struct cli_ctx *ctx)
{
    const char *dash = strchr(ctx->command->name, '-');
    struct np_error *error;
    char *ref;

    error = cli_lookup(ctx, true, &ref);
    if (!error) {
        char *verb = cli_name_to_api(dash + 1);
        char *method = xasprintf("%s.%s", ctx->class->api_name, verb);
        error = cli_callv(ctx->session, NULL, method,
                          json_object_new_string(ref), NULL);
        free(method);
        free(verb);
        free(ref);
    }
    return error;
}
