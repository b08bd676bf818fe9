/*
 * The qemu backend's operations, each an asynchronous state machine over
 * QMP, timers and child processes (see qemu-private.h): starting a domain
 * (QEMU launched as a child that daemonizes, then its state loaded when
 * resuming), the power button, queries, ending a domain, pausing and
 * continuing, reset, suspend into a file, live migration, memory and
 * device queries, NIC hot-plug.  Every outcome is told from the loop.
 */
#include "vm/qemu-private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/child.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "qemu"

#define START_LIMIT_MS 60000 /* QEMU until it daemonizes. */
#define LOAD_LIMIT_MS 60000  /* A saved state loading. */
#define SAVE_LIMIT_MS 300000 /* A state saving or migrating. */
#define EXIT_LIMIT_MS 10000  /* QEMU exiting after "quit". */
#define KILL_LIMIT_MS 5000   /* QEMU dying of SIGKILL. */
#define UNPLUG_LIMIT_MS 5000 /* The guest letting go of a NIC. */
#define KILL_POLL_MS 20      /* Between looks at a dying QEMU. */

/* Steps shared by several operations. */
enum {
    STEP_BEGIN = 0,
    STEP_KILL = 100, /* Ending the domain, then reporting final_error. */
};

static void on_timer(evutil_socket_t, short, void *op_);
static void on_reply(void *op_, int error, const char *why,
                     struct json_object *ret);
static void on_launched(void *op_, const struct child_exit *);
static void finish(struct qemu_op *, int error, const char *why);
static void qmp(struct qemu_op *, const char *command,
                struct json_object *arguments);
static void qmp_id(struct qemu_op *, const char *command, const char *key,
                   const char *value);
static void wait_ms(struct qemu_op *, int ms);
static void fail_soon(struct qemu_op *, int error, const char *why);
static void kill_then_fail(struct qemu_op *, int error, const char *why);
static bool advance_start(struct qemu_op *, int error, const char *why,
                          struct json_object *ret);
static bool advance_simple(struct qemu_op *, int error, const char *why,
                           struct json_object *ret);
static bool advance_unpause(struct qemu_op *, int error, const char *why,
                            struct json_object *ret);
static bool advance_suspend(struct qemu_op *, int error, const char *why,
                            struct json_object *ret);
static bool advance_migrate(struct qemu_op *, int error, const char *why,
                            struct json_object *ret);
static bool advance_queries(struct qemu_op *, int error, const char *why,
                            struct json_object *ret);
static bool advance_nic(struct qemu_op *, int error, const char *why,
                        struct json_object *ret);
static bool advance_command(struct qemu_op *, int error, const char *why,
                            struct json_object *ret);
static void advance_kill(struct qemu_op *);
static enum vm_domain_state parse_status(struct json_object *status);
static const char *status_text(struct json_object *ret);
static void remove_files(struct qemu_backend *, const char *uuid);

/* The operations of the backend interface. */

static struct qemu_backend *
cast(struct vm_backend *backend)
{
    return (struct qemu_backend *) backend;
}

static void
qemu_start(struct vm_backend *backend, const struct vm_config *config,
           const struct vm_start_options *options, vm_done_cb *cb, void *aux)
{
    struct qemu_backend *b = cast(backend);
    struct qemu_op *op = qemu_op_new(b, QOP_START, config->uuid, cb, aux);
    char *dir = qemu_domain_path(b, config->uuid, NULL);
    char *qmp_path = qemu_domain_path(b, config->uuid, "qmp");
    char *control = qemu_domain_path(b, config->uuid, "control");
    char *pidfile = qemu_domain_path(b, config->uuid, "pid");
    char *serial = qemu_domain_path(b, config->uuid, "serial.log");
    char *log = qemu_domain_path(b, config->uuid, "qemu.log");
    char *incoming = NULL;

    op->paused = options->paused;
    op->resume = options->resume_file != NULL;
    op->incoming = options->incoming_uri != NULL;
    op->limit_ms = LOAD_LIMIT_MS;
    if (mkdir(b->up.state_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(op->why, sizeof op->why, "mkdir %s: %s", b->up.state_dir,
                 strerror(errno));
        fail_soon(op, errno, op->why);
        goto out;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(op->why, sizeof op->why, "mkdir %s: %s", dir,
                 strerror(errno));
        fail_soon(op, errno, op->why);
        goto out;
    }
    if (qemu_domain_find(b, config->uuid)
        || qemu_domain_pid(b, config->uuid) > 0) {
        fail_soon(op, EEXIST, "a domain of this VM runs already");
        goto out;
    }
    unlink(qmp_path);
    unlink(control);
    unlink(pidfile);
    if (options->resume_file) {
        incoming = xasprintf("exec:cat '%s'", options->resume_file);
    } else if (options->incoming_uri) {
        incoming = xstrdup(options->incoming_uri);
    }

    /* A vhost-user NIC is plugged once the domain runs, when its socket
     * does not exist: none may be left from an earlier run. */
    op->taps = xzalloc((config->n_nics + 1) * sizeof *op->taps);
    for (size_t i = 0; i < config->n_nics; i++) {
        if (*config->nics[i].vhost) {
            unlink(config->nics[i].vhost);
        } else {
            op->taps[op->n_taps++] = xstrdup(config->nics[i].tap);
        }
    }
    struct vm_qemu_paths paths = {.qmp = qmp_path,
                                  .control = control,
                                  .serial = serial,
                                  .pidfile = pidfile,
                                  .incoming = incoming};
    char **argv = vm_qemu_argv(config, b->accel, &paths,
                               options->paused || options->resume_file
                                   || options->incoming_uri);
    free(argv[0]);
    argv[0] = xstrdup(b->qemu);
    /* QEMU outlives netpoold once it daemonizes; its launcher must not be
     * killed with netpoold either, or the daemon would die half made. */
    struct child_options child_options = {.timeout_s = START_LIMIT_MS / 1000,
                                          .stderr_too = true,
                                          .outlives_parent = true,
                                          .output_log = log};
    int error = child_start(b->up.base, (const char *const *) argv,
                            &child_options, on_launched, op, &op->launcher);
    vm_argv_free(argv);
    if (error) {
        snprintf(op->why, sizeof op->why, "cannot run %s: %s", b->qemu,
                 strerror(error));
        fail_soon(op, error, op->why);
    } else {
        op->step = 1;
    }

out:
    free(incoming);
    free(log);
    free(serial);
    free(pidfile);
    free(qmp_path);
    free(control);
    free(dir);
}

static void
qemu_simple(struct vm_backend *backend, enum qemu_op_kind kind,
            const char *uuid, vm_done_cb *cb, void *aux)
{
    qemu_op_begin(qemu_op_new(cast(backend), kind, uuid, cb, aux));
}

static void
qemu_shutdown(struct vm_backend *b, const char *uuid, vm_done_cb *cb,
              void *aux)
{
    qemu_simple(b, QOP_POWERDOWN, uuid, cb, aux);
}

static void
qemu_query(struct vm_backend *b, const char *uuid, vm_done_cb *cb, void *aux)
{
    qemu_simple(b, QOP_QUERY, uuid, cb, aux);
}

static void
qemu_destroy(struct vm_backend *backend, const char *uuid, vm_done_cb *cb,
             void *aux)
{
    struct qemu_backend *b = cast(backend);
    struct qemu_op *op = qemu_op_new(b, QOP_DESTROY, uuid, cb, aux);

    /* Nothing else runs on a domain being ended. */
    qemu_op_cancel_all(b, uuid, op);
    qemu_op_begin(op);
}

static void
qemu_pause(struct vm_backend *b, const char *uuid, vm_done_cb *cb, void *aux)
{
    qemu_simple(b, QOP_PAUSE, uuid, cb, aux);
}

static void
qemu_unpause(struct vm_backend *b, const char *uuid, vm_done_cb *cb, void *aux)
{
    qemu_simple(b, QOP_UNPAUSE, uuid, cb, aux);
}

static void
qemu_reset(struct vm_backend *b, const char *uuid, vm_done_cb *cb, void *aux)
{
    qemu_simple(b, QOP_RESET, uuid, cb, aux);
}

static void
qemu_suspend(struct vm_backend *backend, const char *uuid, const char *file,
             vm_done_cb *cb, void *aux)
{
    struct qemu_op *op =
        qemu_op_new(cast(backend), QOP_SUSPEND, uuid, cb, aux);

    op->file = xstrdup(file);
    op->limit_ms = SAVE_LIMIT_MS;
    qemu_op_begin(op);
}

static void
qemu_migrate(struct vm_backend *backend, const char *uuid, const char *uri,
             vm_done_cb *cb, void *aux)
{
    struct qemu_op *op =
        qemu_op_new(cast(backend), QOP_MIGRATE, uuid, cb, aux);

    op->uri = xstrdup(uri);
    op->limit_ms = SAVE_LIMIT_MS;
    qemu_op_begin(op);
}

static void
qemu_query_memory(struct vm_backend *b, const char *uuid, vm_done_cb *cb,
                  void *aux)
{
    qemu_simple(b, QOP_QUERY_MEMORY, uuid, cb, aux);
}

static void
qemu_query_devices(struct vm_backend *b, const char *uuid, vm_done_cb *cb,
                   void *aux)
{
    qemu_simple(b, QOP_QUERY_DEVICES, uuid, cb, aux);
}

static void
qemu_nic(struct vm_backend *backend, enum qemu_op_kind kind, const char *uuid,
         const struct vm_nic *nic, vm_done_cb *cb, void *aux)
{
    struct qemu_op *op = qemu_op_new(cast(backend), kind, uuid, cb, aux);

    op->nic = *nic;
    op->nic.vif = NULL;
    op->limit_ms = UNPLUG_LIMIT_MS;
    qemu_op_begin(op);
}

static void
qemu_nic_plug(struct vm_backend *b, const char *uuid, const struct vm_nic *nic,
              vm_done_cb *cb, void *aux)
{
    qemu_nic(b, QOP_NIC_PLUG, uuid, nic, cb, aux);
}

static void
qemu_nic_unplug(struct vm_backend *b, const char *uuid,
                const struct vm_nic *nic, vm_done_cb *cb, void *aux)
{
    qemu_nic(b, QOP_NIC_UNPLUG, uuid, nic, cb, aux);
}

static void
qemu_command(struct vm_backend *backend, const char *uuid, const char *command,
             struct json_object *arguments, vm_done_cb *cb, void *aux)
{
    struct qemu_op *op =
        qemu_op_new(cast(backend), QOP_COMMAND, uuid, cb, aux);

    op->command = xstrdup(command);
    op->args = arguments ? json_object_get(arguments) : NULL;
    qemu_op_begin(op);
}

const struct vm_backend_ops qemu_backend_ops = {
    .name = "qemu",
    .accel = qemu_accel,
    .list = qemu_list,
    .adopt = qemu_adopt,
    .start = qemu_start,
    .shutdown = qemu_shutdown,
    .query = qemu_query,
    .destroy = qemu_destroy,
    .pause = qemu_pause,
    .unpause = qemu_unpause,
    .reset = qemu_reset,
    .suspend = qemu_suspend,
    .migrate = qemu_migrate,
    .query_memory = qemu_query_memory,
    .query_devices = qemu_query_devices,
    .nic_plug = qemu_nic_plug,
    .nic_unplug = qemu_nic_unplug,
    .command = qemu_command,
    .destroy_backend = qemu_destroy_backend,
};

/* Operations in flight. */

struct qemu_op *
qemu_op_new(struct qemu_backend *backend, enum qemu_op_kind kind,
            const char *uuid, vm_done_cb *cb, void *aux)
{
    struct qemu_op *op = xzalloc(sizeof *op);

    op->backend = backend;
    op->kind = kind;
    snprintf(op->uuid, sizeof op->uuid, "%s", uuid);
    op->cb = cb;
    op->aux = aux;
    op->timer = evtimer_new(backend->up.base, on_timer, op);
    op->next = backend->ops;
    backend->ops = op;
    return op;
}

/* Runs 'op''s first step from the loop. */
void
qemu_op_begin(struct qemu_op *op)
{
    op->step = STEP_BEGIN;
    wait_ms(op, 0);
}

void
qemu_op_advance(struct qemu_op *op, int error, const char *why,
                struct json_object *ret)
{
    bool done;

    if (op->backend->stopping) {
        finish(op, ECANCELED, "netpoold is stopping");
        return;
    }
    if (op->step >= STEP_KILL) {
        advance_kill(op);
        return;
    }
    switch (op->kind) {
    case QOP_START:
        done = advance_start(op, error, why, ret);
        break;
    case QOP_UNPAUSE:
        done = advance_unpause(op, error, why, ret);
        break;
    case QOP_SUSPEND:
        done = advance_suspend(op, error, why, ret);
        break;
    case QOP_MIGRATE:
        done = advance_migrate(op, error, why, ret);
        break;
    case QOP_QUERY_MEMORY:
    case QOP_QUERY_DEVICES:
        done = advance_queries(op, error, why, ret);
        break;
    case QOP_NIC_PLUG:
    case QOP_NIC_UNPLUG:
        done = advance_nic(op, error, why, ret);
        break;
    case QOP_COMMAND:
        done = advance_command(op, error, why, ret);
        break;
    default:
        done = advance_simple(op, error, why, ret);
        break;
    }
    (void) done;
}

/* Ends every operation on domain 'uuid' but 'except' with ECANCELED. */
void
qemu_op_cancel_all(struct qemu_backend *backend, const char *uuid,
                   const struct qemu_op *except)
{
    bool found = true;

    while (found) {
        found = false;
        for (struct qemu_op *op = backend->ops; op; op = op->next) {
            if (op != except && !strcmp(op->uuid, uuid)) {
                finish(op, ECANCELED, "the domain is being ended");
                found = true;
                break;
            }
        }
    }
}

/* Ends every operation with ECANCELED (the backend is going). */
void
qemu_op_fail_all(struct qemu_backend *backend)
{
    while (backend->ops) {
        finish(backend->ops, ECANCELED, "netpoold is stopping");
    }
}

static void
on_timer(evutil_socket_t fd, short what, void *op_)
{
    struct qemu_op *op = op_;

    if (op->error) {
        int error = op->error;
        op->error = 0;
        finish(op, error, op->why);
        return;
    }
    qemu_op_advance(op, 0, "", NULL);
}

/* A QMP command of 'op' answered.  (An operation that ended meanwhile
 * had its commands forgotten: they answer nobody.) */
static void
on_reply(void *op_, int error, const char *why, struct json_object *ret)
{
    qemu_op_advance(op_, error, why, ret);
}

static void
on_launched(void *op_, const struct child_exit *end)
{
    struct qemu_op *op = op_;
    char why[VM_WHY_SIZE];

    op->launcher = NULL;
    char *log = qemu_domain_path(op->backend, op->uuid, "qemu.log");
    if (!end->complete || end->status) {
        qemu_tail_of(log, why,
                     end->complete ? "QEMU failed" : "QEMU did not start");
        free(log);
        kill_then_fail(op, EIO, why);
        return;
    }
    op->pid = qemu_domain_pid(op->backend, op->uuid);
    if (op->pid <= 0) {
        qemu_tail_of(log, why, "QEMU is gone");
        free(log);
        kill_then_fail(op, ESRCH, why);
        return;
    }
    free(log);
    qemu_domain_add(op->backend, op->uuid, op->pid);
    for (size_t i = 0; i < op->n_taps; i++) {
        qemu_tap_up(op->taps[i]);
    }
    op->step = 2;
    qemu_op_advance(op, 0, "", NULL);
}

/* Tells 'op''s caller its outcome and frees it. */
static void
finish(struct qemu_op *op, int error, const char *why)
{
    struct qemu_backend *b = op->backend;
    struct vm_result result = {
        .error = error,
        .why = error ? why : "",
        .domid = op->pid,
        .info = op->info,
    };

    if (op->kind == QOP_QUERY) {
        result.state = op->state;
        result.domid = 0;
    }
    for (struct qemu_op **p = &b->ops; *p; p = &(*p)->next) {
        if (*p == op) {
            *p = op->next;
            break;
        }
    }
    /* Its QMP commands still in flight answer nobody. */
    struct qemu_domain *d = qemu_domain_find(b, op->uuid);
    if (d && d->qmp) {
        vm_qmp_forget(d->qmp, op);
    }
    event_free(op->timer);
    child_stop(op->launcher);
    vm_done_cb *cb = op->cb;
    void *aux = op->aux;
    op->cb = NULL;
    if (cb) {
        cb(aux, &result);
    }
    json_object_put(op->info);
    for (size_t i = 0; i < op->n_taps; i++) {
        free(op->taps[i]);
    }
    free(op->taps);
    free(op->file);
    free(op->uri);
    free(op->command);
    json_object_put(op->args);
    free(op);
}

/* Steps. */

static bool
advance_start(struct qemu_op *op, int error, const char *why,
              struct json_object *ret)
{
    switch (op->step) {
    case 2:
        /* Launched and watched.  A saved state loads before it can run. */
        if (!op->resume) {
            finish(op, 0, "");
            return true;
        }
        op->step = 3;
        qmp(op, "query-status", NULL);
        return false;
    case 3:
        if (error) {
            kill_then_fail(op, error, why);
        } else if (!strcmp(status_text(ret), "inmigrate")) {
            op->waited_ms += QEMU_POLL_MS;
            if (op->waited_ms > op->limit_ms) {
                kill_then_fail(op, ETIMEDOUT,
                               "the resumed domain does not run");
            } else {
                op->step = 2;
                wait_ms(op, QEMU_POLL_MS);
            }
        } else if (!strcmp(status_text(ret), "running") || op->paused) {
            finish(op, 0, "");
            return true;
        } else {
            /* The state was saved from a stopped domain, so QEMU stays
             * paused once it is loaded. */
            op->step = 4;
            qmp(op, "cont", NULL);
        }
        return false;
    case 4:
        if (error) {
            kill_then_fail(op, error, why);
            return false;
        }
        finish(op, 0, "");
        return true;
    }
    return false;
}

/* The operations of one QMP command (and a reset's "cont"). */
static bool
advance_simple(struct qemu_op *op, int error, const char *why,
               struct json_object *ret)
{
    struct qemu_domain *d = qemu_domain_find(op->backend, op->uuid);

    if (op->kind == QOP_DESTROY) {
        op->final_error = 0;
        op->step = STEP_KILL;
        advance_kill(op);
        return false;
    }
    if (op->kind == QOP_QUERY && op->step == STEP_BEGIN && !d) {
        op->state = VM_DOMAIN_GONE;
        finish(op, 0, "");
        return true;
    }
    if (op->step == STEP_BEGIN) {
        static const char *const commands[] = {
            [QOP_POWERDOWN] = "system_powerdown",
            [QOP_QUERY] = "query-status",
            [QOP_PAUSE] = "stop",
            [QOP_RESET] = "system_reset",
        };
        op->step = 1;
        qmp(op, commands[op->kind], NULL);
        return false;
    }
    if (op->kind == QOP_RESET && op->step == 1 && !error) {
        /* A reset domain runs, whatever it did before. */
        op->step = 2;
        qmp(op, "cont", NULL);
        return false;
    }
    if (op->kind == QOP_QUERY) {
        /* Alive but not answering: it runs, as far as anyone knows. */
        op->state = error ? VM_DOMAIN_RUNNING : parse_status(ret);
    }
    finish(op, error, why);
    return true;
}

/* "cont" once a state being loaded has arrived and an outgoing migration
 * still running (a suspend cut short) is cancelled. */
static bool
advance_unpause(struct qemu_op *op, int error, const char *why,
                struct json_object *ret)
{
    switch (op->step) {
    case STEP_BEGIN:
        op->limit_ms = LOAD_LIMIT_MS;
        op->step = 1;
        qmp(op, "query-status", NULL);
        return false;
    case 1:
        if (error) {
            finish(op, error, why);
            return true;
        }
        if (!strcmp(status_text(ret), "inmigrate")) {
            op->waited_ms += QEMU_POLL_MS;
            if (op->waited_ms > op->limit_ms) {
                finish(op, ETIMEDOUT, "the incoming state does not arrive");
                return true;
            }
            op->step = STEP_BEGIN + 10;
            wait_ms(op, QEMU_POLL_MS);
            return false;
        }
        if (!strcmp(status_text(ret), "finish-migrate")
            || !strcmp(status_text(ret), "postmigrate")) {
            op->step = 2;
            qmp(op, "migrate_cancel", NULL);
            return false;
        }
        op->step = 3;
        qmp(op, "cont", NULL);
        return false;
    case STEP_BEGIN + 10:
        op->step = 1;
        qmp(op, "query-status", NULL);
        return false;
    case 2:
        op->step = 3;
        qmp(op, "cont", NULL);
        return false;
    case 3:
        finish(op, error, why);
        return true;
    }
    return false;
}

/* stop, migrate into FILE.part, poll until completed, rename, quit, wait
 * for QEMU to exit.  A failure continues the domain and removes the
 * partial file. */
static bool
advance_suspend(struct qemu_op *op, int error, const char *why,
                struct json_object *ret)
{
    char *part = xasprintf("%s.part", op->file);
    bool done = false;

    switch (op->step) {
    case STEP_BEGIN:
        unlink(part);
        op->step = 1;
        qmp(op, "stop", NULL);
        break;
    case 1:
        if (error) {
            finish(op, error, why);
            done = true;
            break;
        } else {
            struct json_object *args = json_object_new_object();
            char *uri = xasprintf("exec:cat > '%s'", part);
            json_object_object_add(args, "uri", json_object_new_string(uri));
            free(uri);
            op->step = 2;
            qmp(op, "migrate", args);
            json_object_put(args);
        }
        break;
    case 2:
    case 3:
        if (error) {
            op->final_error = error;
            snprintf(op->final_why, sizeof op->final_why, "%s", why);
            op->step = 20;
            qmp(op, "migrate_cancel", NULL);
            break;
        }
        if (op->step == 3) {
            const char *state = status_text(ret);
            if (!strcmp(state, "completed")) {
                if (rename(part, op->file)) {
                    op->final_error = errno;
                    snprintf(op->final_why, sizeof op->final_why,
                             "suspend: rename: %s", strerror(errno));
                    op->step = 20;
                    qmp(op, "migrate_cancel", NULL);
                    break;
                }
                op->step = 5;
                qmp(op, "quit", NULL);
                break;
            }
            if (!strcmp(state, "failed") || !strcmp(state, "cancelled")) {
                op->final_error = EIO;
                snprintf(op->final_why, sizeof op->final_why,
                         "suspend: migration %s", state);
                op->step = 21;
                qmp(op, "cont", NULL);
                break;
            }
            op->waited_ms += QEMU_POLL_MS;
            if (op->waited_ms > op->limit_ms) {
                op->final_error = ETIMEDOUT;
                snprintf(op->final_why, sizeof op->final_why,
                         "suspend: migration takes too long");
                op->step = 20;
                qmp(op, "migrate_cancel", NULL);
                break;
            }
        }
        op->step = 4;
        wait_ms(op, QEMU_POLL_MS);
        break;
    case 4:
        op->step = 3;
        qmp(op, "query-migrate", NULL);
        break;
    case 5:
        /* "quit" answers before QEMU exits: wait for the exit. */
        op->final_error = 0;
        op->limit_ms = EXIT_LIMIT_MS;
        op->waited_ms = 0;
        op->step = STEP_KILL + 1;
        wait_ms(op, KILL_POLL_MS);
        break;
    case 20:
        op->step = 21;
        qmp(op, "cont", NULL);
        break;
    case 21:
        unlink(part);
        finish(op, op->final_error, op->final_why);
        done = true;
        break;
    }
    free(part);
    return done;
}

/* migrate to the URI, poll until it ends; the domain stays paused. */
static bool
advance_migrate(struct qemu_op *op, int error, const char *why,
                struct json_object *ret)
{
    switch (op->step) {
    case STEP_BEGIN: {
        struct json_object *args = json_object_new_object();
        json_object_object_add(args, "uri", json_object_new_string(op->uri));
        op->step = 1;
        qmp(op, "migrate", args);
        json_object_put(args);
        return false;
    }
    case 1:
        if (error) {
            finish(op, error, why);
            return true;
        }
        op->step = 2;
        wait_ms(op, QEMU_POLL_MS);
        return false;
    case 2:
        op->step = 3;
        qmp(op, "query-migrate", NULL);
        return false;
    case 3: {
        if (error) {
            finish(op, error, why);
            return true;
        }
        const char *state = status_text(ret);
        if (!strcmp(state, "completed") || !strcmp(state, "failed")
            || !strcmp(state, "cancelled")) {
            json_object_put(op->info);
            op->info = json_object_get(ret);
            bool ok = !strcmp(state, "completed");
            char text[VM_WHY_SIZE];
            snprintf(text, sizeof text, "migration %s", state);
            finish(op, ok ? 0 : EIO, text);
            return true;
        }
        op->waited_ms += QEMU_POLL_MS;
        if (op->waited_ms > op->limit_ms) {
            op->step = 4;
            qmp(op, "migrate_cancel", NULL);
            return false;
        }
        op->step = 2;
        wait_ms(op, QEMU_POLL_MS);
        return false;
    }
    case 4:
        finish(op, ETIMEDOUT, "migration takes too long");
        return true;
    }
    return false;
}

/* One QMP command; its return value is the result's 'info'. */
static bool
advance_command(struct qemu_op *op, int error, const char *why,
                struct json_object *ret)
{
    if (op->step == STEP_BEGIN) {
        op->step = 1;
        qmp(op, op->command, op->args);
        return false;
    }
    if (!error) {
        op->info = json_object_get(ret);
    }
    finish(op, error, why);
    return true;
}

/* query-memory-size-summary then query-balloon; query-pci then
 * query-block. */
static bool
advance_queries(struct qemu_op *op, int error, const char *why,
                struct json_object *ret)
{
    bool memory = op->kind == QOP_QUERY_MEMORY;

    switch (op->step) {
    case STEP_BEGIN:
        op->info = json_object_new_object();
        op->step = 1;
        qmp(op, memory ? "query-memory-size-summary" : "query-pci", NULL);
        return false;
    case 1:
        if (error) {
            finish(op, error, why);
            return true;
        }
        if (memory) {
            json_object_object_foreach (ret, key, value) {
                json_object_object_add(op->info, key, json_object_get(value));
            }
        } else {
            struct json_object *pci = json_object_new_array();
            for (size_t b = 0; b < json_object_array_length(ret); b++) {
                struct json_object *devices = json_object_object_get(
                    json_object_array_get_idx(ret, b), "devices");
                for (size_t i = 0; i < json_object_array_length(devices);
                     i++) {
                    struct json_object *dev =
                        json_object_array_get_idx(devices, i);
                    struct json_object *entry = json_object_new_object();
                    const char *id = json_object_get_string(
                        json_object_object_get(dev, "qdev_id"));
                    const char *class =
                        json_object_get_string(json_object_object_get(
                            json_object_object_get(dev, "class_info"),
                            "desc"));
                    json_object_object_add(
                        entry, "id", json_object_new_string(id ? id : ""));
                    json_object_object_add(
                        entry, "class",
                        json_object_new_string(class ? class : ""));
                    json_object_array_add(pci, entry);
                }
            }
            json_object_object_add(op->info, "pci", pci);
        }
        op->step = 2;
        qmp(op, memory ? "query-balloon" : "query-block", NULL);
        return false;
    case 2:
        if (memory) {
            /* A domain without a balloon answers an error: no "actual". */
            if (!error) {
                json_object_object_add(
                    op->info, "actual",
                    json_object_get(json_object_object_get(ret, "actual")));
            }
        } else if (error) {
            finish(op, error, why);
            return true;
        } else {
            struct json_object *block = json_object_new_array();
            for (size_t i = 0; i < json_object_array_length(ret); i++) {
                struct json_object *dev = json_object_array_get_idx(ret, i);
                const char *name = json_object_get_string(
                    json_object_object_get(dev, "qdev"));
                const char *file =
                    json_object_get_string(json_object_object_get(
                        json_object_object_get(dev, "inserted"), "file"));
                struct json_object *entry = json_object_new_object();
                json_object_object_add(
                    entry, "device", json_object_new_string(name ? name : ""));
                json_object_object_add(
                    entry, "file", json_object_new_string(file ? file : ""));
                json_object_array_add(block, entry);
            }
            json_object_object_add(op->info, "block", block);
        }
        finish(op, 0, "");
        return true;
    }
    return false;
}

/* Plug: [chardev-add,] netdev_add, device_add.  Unplug: device_del, poll
 * until the guest let go of the device (qom-list fails), netdev_del
 * (retried until it works), [chardev-remove]. */
static bool
advance_nic(struct qemu_op *op, int error, const char *why,
            struct json_object *ret)
{
    const struct vm_nic *nic = &op->nic;
    char id[32];

    if (op->kind == QOP_NIC_PLUG) {
        switch (op->step) {
        case STEP_BEGIN:
            if (*nic->vhost) {
                struct json_object *args = json_object_new_object();
                struct json_object *chardev = json_object_new_object();
                struct json_object *data = json_object_new_object();
                struct json_object *addr = json_object_new_object();
                struct json_object *path = json_object_new_object();
                snprintf(id, sizeof id, "chr%d", nic->device);
                json_object_object_add(path, "path",
                                       json_object_new_string(nic->vhost));
                json_object_object_add(addr, "type",
                                       json_object_new_string("unix"));
                json_object_object_add(addr, "data", path);
                json_object_object_add(data, "addr", addr);
                json_object_object_add(data, "server",
                                       json_object_new_boolean(true));
                json_object_object_add(data, "wait",
                                       json_object_new_boolean(false));
                json_object_object_add(chardev, "type",
                                       json_object_new_string("socket"));
                json_object_object_add(chardev, "data", data);
                json_object_object_add(args, "id", json_object_new_string(id));
                json_object_object_add(args, "backend", chardev);
                op->step = 1;
                qmp(op, "chardev-add", args);
                json_object_put(args);
                return false;
            }
            /* Fall through: no chardev. */
            error = 0;
            /* fall through */
        case 1: {
            if (error) {
                finish(op, error, why);
                return true;
            }
            struct json_object *args = vm_qemu_netdev_args(nic);
            op->step = 2;
            qmp(op, "netdev_add", args);
            json_object_put(args);
            return false;
        }
        case 2: {
            if (error) {
                op->final_error = error;
                snprintf(op->final_why, sizeof op->final_why, "%s", why);
                op->step = 11;
                snprintf(id, sizeof id, "chr%d", nic->device);
                if (*nic->vhost) {
                    qmp_id(op, "chardev-remove", "id", id);
                } else {
                    qemu_op_advance(op, 0, "", NULL);
                }
                return false;
            }
            if (!*nic->vhost) {
                qemu_tap_up(nic->tap);
            }
            struct json_object *args =
                vm_qemu_device_args(nic, op->backend->accel);
            op->step = 3;
            qmp(op, "device_add", args);
            json_object_put(args);
            return false;
        }
        case 3:
            if (!error) {
                finish(op, 0, "");
                return true;
            }
            op->final_error = error;
            snprintf(op->final_why, sizeof op->final_why, "%s", why);
            op->step = 10;
            snprintf(id, sizeof id, "net%d", nic->device);
            qmp_id(op, "netdev_del", "id", id);
            return false;
        case 10:
            op->step = 11;
            if (*nic->vhost) {
                snprintf(id, sizeof id, "chr%d", nic->device);
                qmp_id(op, "chardev-remove", "id", id);
                return false;
            }
            /* fall through */
        case 11:
            if (*nic->vhost) {
                unlink(nic->vhost);
            }
            finish(op, op->final_error, op->final_why);
            return true;
        }
        return false;
    }

    switch (op->step) {
    case STEP_BEGIN:
        snprintf(id, sizeof id, "nic%d", nic->device);
        op->step = 1;
        qmp_id(op, "device_del", "id", id);
        return false;
    case 1:
        if (error) {
            finish(op, error, why);
            return true;
        }
        op->step = 2;
        wait_ms(op, 0);
        return false;
    case 2: {
        /* The guest lets go of the device asynchronously; the netdev goes
         * with it once it did (a vhost-user netdev taken from under its
         * device aborts QEMU when the guest next touches the device). */
        char path[64];
        snprintf(path, sizeof path, "/machine/peripheral/nic%d", nic->device);
        op->step = 3;
        qmp_id(op, "qom-list", "path", path);
        return false;
    }
    case 3:
        op->waited_ms += QEMU_POLL_MS;
        if (!error && op->waited_ms < op->limit_ms) {
            op->step = 2;
            wait_ms(op, QEMU_POLL_MS);
            return false;
        }
        op->waited_ms = 0;
        /* fall through */
    case 4:
        snprintf(id, sizeof id, "net%d", nic->device);
        op->step = 5;
        qmp_id(op, "netdev_del", "id", id);
        return false;
    case 5:
        op->waited_ms += QEMU_POLL_MS;
        if (error && op->waited_ms < op->limit_ms) {
            op->step = 6;
            wait_ms(op, QEMU_POLL_MS);
            return false;
        }
        op->step = 7;
        if (*nic->vhost) {
            snprintf(id, sizeof id, "chr%d", nic->device);
            qmp_id(op, "chardev-remove", "id", id);
            return false;
        }
        /* fall through */
    case 7:
        if (*nic->vhost) {
            unlink(nic->vhost);
        }
        finish(op, 0, "");
        return true;
    case 6:
        op->step = 4;
        qemu_op_advance(op, 0, "", NULL);
        return false;
    }
    return false;
}

/* Ending the domain: SIGKILL to every QEMU of it, then a look every
 * KILL_POLL_MS until none is left; then its files go and the operation
 * reports 'final_error'.  Step STEP_KILL + 1 waits for an exit already
 * asked for ("quit") before killing. */
static void
advance_kill(struct qemu_op *op)
{
    struct qemu_backend *b = op->backend;
    pid_t pid = qemu_domain_pid(b, op->uuid);
    struct qemu_domain *d = qemu_domain_find(b, op->uuid);

    if (d && !pid) {
        pid = d->pid;
    }
    if (op->step == STEP_KILL + 1 && pid > 0 && !qemu_pid_gone(pid)
        && op->waited_ms < op->limit_ms) {
        op->waited_ms += KILL_POLL_MS;
        wait_ms(op, KILL_POLL_MS);
        return;
    }
    if (op->step != STEP_KILL + 2) {
        op->step = STEP_KILL + 2;
        op->waited_ms = 0;
    }
    int n = qemu_kill_all(b, op->uuid);
    if (pid > 0 && !qemu_pid_gone(pid)) {
        kill(pid, SIGKILL);
        n++;
    }
    if (n && op->waited_ms < KILL_LIMIT_MS) {
        op->waited_ms += KILL_POLL_MS;
        wait_ms(op, KILL_POLL_MS);
        return;
    }
    if (n) {
        snprintf(op->why, sizeof op->why, "QEMU of VM %s survives SIGKILL",
                 op->uuid);
        finish(op, EBUSY, op->why);
        return;
    }
    d = qemu_domain_find(b, op->uuid);
    if (d) {
        qemu_domain_remove(d, false);
    }
    remove_files(b, op->uuid);
    op->pid = 0;
    finish(op, op->final_error, op->final_why);
}

/* Helpers. */

/* Sends 'command' to 'op''s domain; its reply advances 'op'. */
static void
qmp(struct qemu_op *op, const char *command, struct json_object *arguments)
{
    struct qemu_domain *d = qemu_domain_find(op->backend, op->uuid);
    struct vm_qmp *conn = d ? qemu_domain_qmp(d) : NULL;

    if (!conn) {
        fail_soon(op, d ? ECONNREFUSED : ESRCH,
                  d ? "QMP unreachable" : "the domain is gone");
        return;
    }
    vm_qmp_execute(conn, command, arguments, QEMU_QMP_TIMEOUT_MS, on_reply,
                   op);
}

/* Sends 'command' with the one string argument 'key': 'value'. */
static void
qmp_id(struct qemu_op *op, const char *command, const char *key,
       const char *value)
{
    struct json_object *args = json_object_new_object();

    json_object_object_add(args, key, json_object_new_string(value));
    qmp(op, command, args);
    json_object_put(args);
}

/* Advances 'op' after 'ms' milliseconds. */
static void
wait_ms(struct qemu_op *op, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    event_add(op->timer, &tv);
}

/* Makes 'op' fail with 'error' on the loop's next turn. */
static void
fail_soon(struct qemu_op *op, int error, const char *why)
{
    op->error = error ? error : EIO;
    if (why != op->why) {
        snprintf(op->why, sizeof op->why, "%s", why);
    }
    wait_ms(op, 0);
}

/* Ends the domain 'op' was making, then fails with 'error'. */
static void
kill_then_fail(struct qemu_op *op, int error, const char *why)
{
    op->final_error = error;
    snprintf(op->final_why, sizeof op->final_why, "%s", why);
    op->step = STEP_KILL;
    op->waited_ms = 0;
    op->pid = 0;
    advance_kill(op);
}

static const char *
status_text(struct json_object *ret)
{
    const char *text =
        json_object_get_string(json_object_object_get(ret, "status"));
    return text ? text : "";
}

/* The domain state of a query-status reply. */
static enum vm_domain_state
parse_status(struct json_object *ret)
{
    const char *text = status_text(ret);

    if (!*text || !strcmp(text, "running")) {
        return VM_DOMAIN_RUNNING;
    }
    if (!strcmp(text, "shutdown") || !strcmp(text, "guest-panicked")
        || !strcmp(text, "internal-error")) {
        return VM_DOMAIN_SHUTDOWN;
    }
    return VM_DOMAIN_PAUSED;
}

static void
remove_files(struct qemu_backend *b, const char *uuid)
{
    static const char *const files[] = {"qmp", "control", "pid"};

    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *path = qemu_domain_path(b, uuid, files[i]);
        unlink(path);
        free(path);
    }
}
