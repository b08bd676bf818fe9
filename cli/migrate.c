/*
 * Live migration and maintenance commands: vm-migrate (VM.pool_migrate,
 * as a task the CLI waits for), host-disable, host-enable and
 * host-evacuate (the plan printed first, then every VM's migration waited
 * for).
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"

static struct np_error *find_host(struct cli_ctx *, const char *name,
                                  char **refp);

/* vm-migrate uuid= host= [live=] [bandwidth=] [downtime=]
 * [vdi:<vdi>=<sr>...]. */
struct np_error *
cli_cmd_vm_migrate(struct cli_ctx *ctx)
{
    static const char *const option_keys[] = {"live", "bandwidth", "downtime"};
    struct np_error *error = NULL;
    const char *host_name = cli_require(ctx, "host", &error);
    char *vm = NULL, *host = NULL;
    struct json_object *task = NULL;

    if (!host_name) {
        return error;
    }
    if ((error = cli_lookup(ctx, true, &vm))
        || (error = find_host(ctx, host_name, &host))) {
        goto out;
    }
    struct json_object *options = json_object_new_object();
    for (size_t i = 0; i < sizeof option_keys / sizeof *option_keys; i++) {
        const char *value = cli_args_get(ctx->args, option_keys[i]);
        if (value) {
            json_object_object_add(options, option_keys[i],
                                   json_object_new_string(value));
        }
    }
    /* vdi:<vdi>=<sr>: a disk that moves with it. */
    for (size_t i = 0; i < ctx->args->n_params; i++) {
        const struct cli_param *p = &ctx->args->params[i];
        if (p->map_key && !strcmp(p->key, "vdi")) {
            char *key = xasprintf("vdi:%s", p->map_key);
            json_object_object_add(options, key,
                                   json_object_new_string(p->value));
            free(key);
        }
    }
    error = cli_callv(ctx->session, &task, "Async.VM.pool_migrate",
                      json_object_new_string(vm), json_object_new_string(host),
                      options, NULL);
    if (!error) {
        error =
            cli_wait_task(ctx->session, json_object_get_string(task), NULL);
    }

out:
    json_object_put(task);
    free(vm);
    free(host);
    return error;
}

/* host-disable, host-enable, host-evacuate: uuid=, host= or name-label=. */
struct np_error *
cli_cmd_host_maintenance(struct cli_ctx *ctx)
{
    const char *name = ctx->command->name;
    struct json_object *plan = NULL, *tasks = NULL;
    struct np_error *error;
    char *host = NULL;

    if ((error = cli_lookup(ctx, true, &host))) {
        return error;
    }
    if (strcmp(name, "host-evacuate")) {
        error = cli_callv(ctx->session, NULL,
                          !strcmp(name, "host-disable") ? "host.disable"
                                                        : "host.enable",
                          json_object_new_string(host), NULL);
        free(host);
        return error;
    }

    /* The plan first: nothing moves unless every VM fits. */
    error = cli_callv(ctx->session, &plan, "host.get_evacuate_plan",
                      json_object_new_string(host), NULL);
    if (!error && json_object_is_type(plan, json_type_object)) {
        json_object_object_foreach (plan, vm, dest) {
            fprintf(ctx->out, "%s -> %s\n", vm, json_object_get_string(dest));
        }
        fflush(ctx->out);
        error = cli_callv(ctx->session, &tasks, "host.evacuate",
                          json_object_new_string(host), NULL);
    }
    if (!error && json_object_is_type(tasks, json_type_object)) {
        json_object_object_foreach (tasks, vm, task) {
            (void) vm;
            struct np_error *failed = cli_wait_task(
                ctx->session, json_object_get_string(task), NULL);
            if (failed && !error) {
                error = failed;
            } else {
                np_error_destroy(failed);
            }
        }
    }
    json_object_put(plan);
    json_object_put(tasks);
    free(host);
    return error;
}

/* Stores in '*refp' (a new string) the host 'name' names: a UUID, or its
 * name-label. */
static struct np_error *
find_host(struct cli_ctx *ctx, const char *name, char **refp)
{
    struct json_object *hosts = NULL;
    struct np_error *error;

    if (uuid_text_is_valid(name)) {
        *refp = xstrdup(name);
        return NULL;
    }
    error = cli_callv(ctx->session, &hosts, "host.get_by_name_label",
                      json_object_new_string(name), NULL);
    if (error) {
        return error;
    }
    size_t n = json_object_array_length(hosts);
    if (n == 1) {
        *refp = xstrdup(
            json_object_get_string(json_object_array_get_idx(hosts, 0)));
    } else {
        error = np_error_new(n ? ERR_MULTIPLE_MATCHES : ERR_HANDLE_INVALID,
                             "host", name, NULL);
    }
    json_object_put(hosts);
    return error;
}
