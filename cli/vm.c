/*
 * VM power commands: vm-start, vm-shutdown [--force], vm-reboot [--force],
 * vm-pause, vm-unpause, vm-suspend, vm-resume and vm-reset-powerstate
 * --force, each one call of the VM method xe maps it to.
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static bool forced(const struct cli_ctx *ctx);

struct np_error *
cli_cmd_vm_power(struct cli_ctx *ctx)
{
    const char *name = ctx->command->name;
    const char *method;
    struct np_error *error;
    char *ref;

    if (!strcmp(name, "vm-start")) {
        method = "VM.start";
    } else if (!strcmp(name, "vm-shutdown")) {
        method = forced(ctx) ? "VM.hard_shutdown" : "VM.clean_shutdown";
    } else if (!strcmp(name, "vm-reboot")) {
        method = forced(ctx) ? "VM.hard_reboot" : "VM.clean_reboot";
    } else if (!strcmp(name, "vm-pause")) {
        method = "VM.pause";
    } else if (!strcmp(name, "vm-unpause")) {
        method = "VM.unpause";
    } else if (!strcmp(name, "vm-suspend")) {
        method = "VM.suspend";
    } else if (!strcmp(name, "vm-resume")) {
        method = "VM.resume";
    } else if (!strcmp(name, "vm-reset-powerstate")) {
        if (!forced(ctx)) {
            return np_error_new(ERR_MISSING_PARAMETER, "force", NULL);
        }
        method = "VM.power_state_reset";
    } else {
        return np_error_new(ERR_UNKNOWN_COMMAND, name, NULL);
    }

    error = cli_lookup(ctx, true, &ref);
    if (!error) {
        error = cli_callv(ctx->session, NULL, method,
                          json_object_new_string(ref), NULL);
        free(ref);
    }
    return error;
}

/* Returns true if the command line says --force (force=true). */
static bool
forced(const struct cli_ctx *ctx)
{
    const char *force = cli_args_get(ctx->args, "force");

    return force && (!strcmp(force, "true") || !strcmp(force, "1"));
}
