/*
 * VM power commands: vm-start, vm-shutdown [--force], vm-reboot [--force],
 * vm-pause, vm-unpause, vm-suspend, vm-resume and vm-reset-powerstate
 * --force, each one call of the VM method xe maps it to; vm-clone and
 * vm-install.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static bool forced(const struct cli_ctx *ctx);
static bool waits_for_guest(const char *method);
static struct np_error *find_template(struct cli_ctx *ctx, char **refp);

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
    if (error) {
        return error;
    }
    if (waits_for_guest(method)) {
        /* As a task, so that the call survives however long the guest
         * takes, and the CLI waits for the task. */
        struct json_object *task = NULL;
        char *async = xasprintf("Async.%s", method);

        error = cli_callv(ctx->session, &task, async,
                          json_object_new_string(ref), NULL);
        if (!error) {
            error = cli_wait_task(ctx->session, json_object_get_string(task),
                                  NULL);
        }
        json_object_put(task);
        free(async);
    } else {
        error = cli_callv(ctx->session, NULL, method,
                          json_object_new_string(ref), NULL);
    }
    free(ref);
    return error;
}

/* vm-clone uuid= new-name-label= and vm-install template=
 * new-name-label=: VM.clone, then (vm-install) VM.set_is_a_template false;
 * prints the new VM's UUID. */
struct np_error *
cli_cmd_vm_clone(struct cli_ctx *ctx)
{
    bool install = !strcmp(ctx->command->name, "vm-install");
    bool copy = !strcmp(ctx->command->name, "vm-copy");
    struct json_object *ref = NULL;
    struct np_error *error = NULL;
    const char *name;
    char *source = NULL;

    if (!(name = cli_require(ctx, "new-name-label", &error))) {
        return error;
    }
    if (install) {
        error = find_template(ctx, &source);
    } else {
        error = cli_lookup(ctx, true, &source);
    }
    if (!error && copy) {
        const char *sr = cli_args_get(ctx->args, "sr-uuid");
        error = cli_callv(ctx->session, &ref, "VM.copy",
                          json_object_new_string(source),
                          json_object_new_string(name),
                          json_object_new_string(sr ? sr : ""), NULL);
    } else if (!error) {
        error = cli_callv(ctx->session, &ref, "VM.clone",
                          json_object_new_string(source),
                          json_object_new_string(name), NULL);
    }
    if (!error && install) {
        error = cli_callv(ctx->session, NULL, "VM.set_is_a_template",
                          json_object_new_string(json_object_get_string(ref)),
                          json_object_new_boolean(false), NULL);
    }
    if (!error) {
        fprintf(ctx->out, "%s\n", json_object_get_string(ref));
    }
    json_object_put(ref);
    free(source);
    return error;
}

/* Finds the template named by template= (a UUID or a name-label) and
 * stores its UUID, a new string, in '*refp'. */
static struct np_error *
find_template(struct cli_ctx *ctx, char **refp)
{
    struct json_object *refs = NULL, *record = NULL;
    struct np_error *error = NULL;
    const char *name = cli_require(ctx, "template", &error);
    const char *ref = NULL;

    *refp = NULL;
    if (!name) {
        return error;
    }
    error = cli_callv(ctx->session, &refs, "VM.get_by_name_label",
                      json_object_new_string(name), NULL);
    if (!error && json_object_array_length(refs) > 1) {
        error = np_error_new(ERR_MULTIPLE_MATCHES, "VM", name, NULL);
    } else if (!error && json_object_array_length(refs) == 1) {
        ref = json_object_get_string(json_object_array_get_idx(refs, 0));
    } else if (!error || !strcmp(error->code, ERR_HANDLE_INVALID)) {
        np_error_destroy(error);
        error = NULL;
        ref = name;
    }
    if (!error) {
        error = cli_callv(ctx->session, &record, "VM.get_record",
                          json_object_new_string(ref), NULL);
    }
    if (!error
        && !json_object_get_boolean(
            json_object_object_get(record, "is_a_template"))) {
        error = np_error_new(ERR_INVALID_VALUE, "template", name, NULL);
    }
    if (!error) {
        *refp = xstrdup(ref);
    }
    json_object_put(refs);
    json_object_put(record);
    return error;
}

/* Returns true if the command line says --force (force=true). */
static bool
forced(const struct cli_ctx *ctx)
{
    const char *force = cli_args_get(ctx->args, "force");

    return force && (!strcmp(force, "true") || !strcmp(force, "1"));
}

/* Returns true if 'method' answers only once the guest has done something
 * (powered off, rebooted, resumed). */
static bool
waits_for_guest(const char *method)
{
    return !strcmp(method, "VM.clean_shutdown")
           || !strcmp(method, "VM.clean_reboot")
           || !strcmp(method, "VM.resume");
}
