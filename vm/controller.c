/*
 * The domain controller of a host: it converges each VM resident on the
 * host onto what its desired fields ask (desired_power_state, and the
 * operation in current_operations with its task), through the backend the
 * host's vm_backend names, and writes what it observes (power_state,
 * domid, the host's memory) and the operations' outcomes.
 *
 * It hears of desired changes from the store's change feed (VMs and VIFs
 * owned by this host, and the host itself) and of domains changing by
 * themselves from its backend's watcher (QMP events, QEMU's exit); a
 * resync every few seconds asks each domain its state in case either was
 * missed.  Each VM is converged by one step at a time: vm_plan_next()
 * decides it, the backend does it asynchronously, and its outcome is
 * recorded in one store transaction (observed state, desired state rolled
 * forward or back, the operation's removal from current_operations, the
 * VIFs' plug state, the task's end).  A VM busy with a step gathers what
 * happens meanwhile and is planned again once the step is done.
 *
 * After a restart the controller takes the domains its backend finds
 * under watch again (ending those no pidfile accounts for) and plans every
 * VM whose operation was in flight as "recovering": the plan completes it
 * if the domain shows its effect, rolls a start, resume or suspend back if
 * not, and runs the others again; the task says which in its
 * other_config:recovery ("completed" or "rolled back").
 */
#include "vm/vm.h"

#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "ha/ha.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "vm"

#define ACTOR "system:vm"
#define RESYNC_INTERVAL_MS 5000   /* Domains asked their state. */
#define WAIT_LIMIT_MS 60000       /* A guest shutting down or rebooting. */
#define PROGRESS_INTERVAL_MS 1000 /* Task progress while waiting. */
#define BOOT_MARKER "booted"      /* In the state folder: not a new boot. */

/* What the controller knows of one VM. */
struct vmc_vm {
    struct vm_controller *ctl;   /* Owner. */
    char uuid[37];               /* The VM. */
    uint64_t gen;                /* Bumped when work in flight is dropped:
                                 * its outcome is then ignored. */
    bool dirty;                  /* Plan again on the next turn. */
    bool acting;                 /* A backend step is in flight. */
    struct vm_plan plan;         /* The step in flight and its outcome. */
    bool busy;                   /* An operation is being worked on. */
    enum vm_operation op;        /* That operation. */
    char task[37];               /* Its task ("" for none). */
    bool recovering;             /* It was in flight at the last stop. */
    char recovered_task[37];     /* The task found in flight at start. */
    bool button_pressed;         /* The guest was asked to shut down. */
    uint64_t op_started_ms;      /* When the operation began. */
    struct event *timer;         /* Its progress and time limit. */
    enum vm_domain_state domain; /* What the backend last saw. */
    bool domain_known;           /* 'domain' has been seen. */
    bool querying;               /* A query is in flight. */
    int64_t domid;               /* The domain's number, or -1. */
    bool nics_dirty;             /* Hot-plug may be due. */
    bool nics_busy;              /* A hot-plug is in flight. */
    uint64_t retry_after_ms;     /* A failed convergence waits till then. */
    struct vmc_vm *next;         /* In ctl->vms. */
};

struct vm_controller {
    struct event_base *base;          /* The loop. */
    struct store *store;              /* The store. */
    char host[37];                    /* This host. */
    char *state_dir;                  /* STATE_ROOT/<host>. */
    struct vm_host_hooks hooks;       /* What other modules decide. */
    struct vm_backend *backend;       /* Runs the domains. */
    char backend_name[16];            /* Its name. */
    struct store_subscription *feed;  /* VMs, VIFs, the host. */
    struct vmc_vm *vms;               /* VMs it knows. */
    struct event *kick;               /* Plans dirty VMs. */
    struct event *resync;             /* Asks domains their state. */
    struct json_object *auto_poweron; /* VMs left to start at boot. */
    bool stopping;                    /* Being destroyed. */
};

/* An outcome the backend tells later: which VM and which generation. */
struct vmc_ticket {
    struct vm_controller *ctl; /* Owner. */
    char uuid[37];             /* The VM. */
    uint64_t gen;              /* Its generation when asked. */
    vm_done_cb *user_cb;       /* A primitive's caller, or NULL. */
    void *user_aux;            /* Its argument. */
};

static struct vmc_vm *vm_get(struct vm_controller *, const char *uuid,
                             bool create);
static void vm_forget(struct vmc_vm *);
static void mark_dirty(struct vmc_vm *);
static void on_kick(evutil_socket_t, short, void *ctl_);
static void on_resync(evutil_socket_t, short, void *ctl_);
static void on_feed(void *ctl_, const struct store_change *, size_t n,
                    uint64_t seq);
static void on_domain(void *ctl_, const char *uuid,
                      enum vm_domain_state state);
static void on_timer(evutil_socket_t, short, void *vm_);
static void converge(struct vmc_vm *);
static void execute(struct vmc_vm *, struct json_object *record,
                    struct vm_plan);
static void on_step_done(void *ticket_, const struct vm_result *);
static void on_query_done(void *ticket_, const struct vm_result *);
static void on_nic_done(void *ticket_, const struct vm_result *);
static bool pool_ha_enabled(struct store *);
static void record(struct vmc_vm *, struct vm_plan,
                   const struct np_error *error);
static void fail_op(struct vmc_vm *, struct vm_plan, struct np_error *);
static struct json_object *outcome(const struct vmc_vm *, enum vm_power_state,
                                   const struct np_error *);
static struct np_error *op_error(const struct vmc_vm *, const char *why);
static void query_domain(struct vmc_vm *);
static void sync_nics(struct vmc_vm *, struct json_object *record);
static struct np_error *build_config(struct vm_controller *,
                                     struct json_object *vdi_map,
                                     struct json_object *record, bool starting,
                                     struct vm_config **);
static struct vmc_ticket *ticket(struct vmc_vm *);
static void recover(struct vm_controller *);
static void auto_poweron(struct vm_controller *);
static void next_auto_poweron(struct vm_controller *);
static void report_host(struct vm_controller *);
static int64_t host_free_memory(struct vm_controller *, int64_t *total);
static void choose_backend(struct vm_controller *, bool at_start);
static char *suspend_file(struct vm_controller *, const char *uuid);
static bool current_operation(struct json_object *record, char *task,
                              enum vm_operation *op);
static enum vm_power_state power_state(struct json_object *record,
                                       const char *field);
static bool is_up(enum vm_power_state);
static bool migrating_here(const struct vm_controller *,
                           struct json_object *record);
static uint64_t now_ms(void);

struct vm_controller *
vm_controller_create(struct event_base *base, struct store *store,
                     const char *host, const char *state_root,
                     const struct vm_host_hooks *hooks)
{
    struct vm_controller *ctl = xzalloc(sizeof *ctl);
    const char *root = state_root ? state_root : VM_STATE_ROOT;

    ctl->base = base;
    ctl->store = store;
    snprintf(ctl->host, sizeof ctl->host, "%s", host);
    if (hooks) {
        ctl->hooks = *hooks;
    }
    char *parent = xstrdup(root);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        mkdir(parent, 0755);
    }
    free(parent);
    mkdir(root, 0700);
    ctl->state_dir = xasprintf("%s/%s", root, host);
    mkdir(ctl->state_dir, 0700);
    ctl->kick = event_new(base, -1, 0, on_kick, ctl);
    ctl->resync = event_new(base, -1, EV_PERSIST, on_resync, ctl);
    event_add(ctl->resync, &(struct timeval){RESYNC_INTERVAL_MS / 1000, 0});

    store_push_actor(store, ACTOR);
    choose_backend(ctl, true);
    recover(ctl);
    report_host(ctl);
    auto_poweron(ctl);
    store_pop_actor(store);

    static const char *const classes[] = {"VM", "VIF", "host", NULL};
    ctl->feed = store_subscribe(store, classes, STORE_FEED_DESIRED, host,
                                on_feed, ctl);
    return ctl;
}

void
vm_controller_destroy(struct vm_controller *ctl)
{
    if (!ctl) {
        return;
    }
    ctl->stopping = true;
    store_unsubscribe(ctl->feed);
    /* Steps in flight hear ECANCELED and are dropped. */
    vm_backend_destroy(ctl->backend);
    while (ctl->vms) {
        vm_forget(ctl->vms);
    }
    event_free(ctl->kick);
    event_free(ctl->resync);
    json_object_put(ctl->auto_poweron);
    free(ctl->state_dir);
    free(ctl);
}

struct vm_backend *
vm_controller_backend(struct vm_controller *ctl)
{
    return ctl->backend;
}

struct np_error *
vm_controller_config(struct vm_controller *ctl, struct json_object *record,
                     struct json_object *vdi_map, struct vm_config **configp)
{
    return build_config(ctl, vdi_map, record, true, configp);
}

/* Primitives. */

static void
on_ensured(void *ticket_, const struct vm_result *result)
{
    struct vmc_ticket *t = ticket_;
    struct vm_controller *ctl = t->ctl;

    if (!result->error && !ctl->stopping) {
        struct vmc_vm *vm = vm_get(ctl, t->uuid, false);
        struct json_object *vm_record = store_get(ctl->store, "VM", t->uuid);
        if (vm) {
            vm->domain = VM_DOMAIN_GONE;
            vm->domain_known = true;
        }
        if (vm && vm_record
            && !strcmp(record_string(vm_record, "resident_on"), ctl->host)
            && (vm->busy || is_up(power_state(vm_record, "power_state")))) {
            struct vm_plan plan = {.action = VM_ACT_FINISH,
                                   .state = VM_HALTED,
                                   .success = !vm->busy,
                                   .why = "ended: it must not run here"};
            store_push_actor(ctl->store, ACTOR);
            if (vm->busy) {
                fail_op(vm, plan, op_error(vm, plan.why));
            } else {
                record(vm, plan, NULL);
            }
            store_pop_actor(ctl->store);
        }
        json_object_put(vm_record);
    }
    if (t->user_cb) {
        t->user_cb(t->user_aux, result);
    }
    free(t);
}

void
vm_controller_ensure_halted(struct vm_controller *ctl, const char *uuid,
                            vm_done_cb *cb, void *aux)
{
    struct vmc_vm *vm = vm_get(ctl, uuid, true);
    struct vmc_ticket *t;

    /* Whatever was under way for it is dropped. */
    vm->gen++;
    vm->acting = false;
    t = ticket(vm);
    t->user_cb = cb;
    t->user_aux = aux;
    ctl->backend->ops->destroy(ctl->backend, uuid, on_ensured, t);
}

/* Counts the domains still being ended by
 * vm_controller_ensure_none_running(). */
struct vmc_all {
    int left;              /* Domains not yet ended. */
    int error;             /* First failure. */
    char why[VM_WHY_SIZE]; /* Its reason. */
    vm_done_cb *cb;        /* The caller. */
    void *aux;             /* Its argument. */
};

static void
on_one_ended(void *all_, const struct vm_result *result)
{
    struct vmc_all *all = all_;

    if (result->error && !all->error) {
        all->error = result->error;
        snprintf(all->why, sizeof all->why, "%s", result->why);
    }
    if (!--all->left) {
        struct vm_result done = {.error = all->error, .why = all->why};
        all->cb(all->aux, &done);
        free(all);
    }
}

void
vm_controller_ensure_none_running(struct vm_controller *ctl, vm_done_cb *cb,
                                  void *aux)
{
    struct vm_domain_info *domains = NULL;
    size_t n = 0;
    struct vmc_all *all = xzalloc(sizeof *all);

    all->cb = cb;
    all->aux = aux;
    all->left = 1; /* Held until every destroy is asked. */
    ctl->backend->ops->list(ctl->backend, &domains, &n);
    for (size_t i = 0; i < n; i++) {
        all->left++;
        vm_controller_ensure_halted(ctl, domains[i].uuid, on_one_ended, all);
    }
    free(domains);
    struct vm_result none = {.why = ""};
    vm_backend_reply(ctl->backend, on_one_ended, all, &none);
}

void
vm_controller_query(struct vm_controller *ctl, const char *uuid,
                    enum vm_query what, vm_done_cb *cb, void *aux)
{
    struct vm_backend *b = ctl->backend;

    switch (what) {
    case VM_QUERY_STATE:
        b->ops->query(b, uuid, cb, aux);
        break;
    case VM_QUERY_MEMORY:
        b->ops->query_memory(b, uuid, cb, aux);
        break;
    case VM_QUERY_DEVICES:
        b->ops->query_devices(b, uuid, cb, aux);
        break;
    }
}

/* Events. */

static void
on_feed(void *ctl_, const struct store_change *changes, size_t n, uint64_t seq)
{
    struct vm_controller *ctl = ctl_;

    for (size_t i = 0; i < n; i++) {
        const struct store_change *c = &changes[i];
        const char *class = c->class->name;

        if (!strcmp(class, "host")) {
            if (!strcmp(c->uuid, ctl->host) && c->op == STORE_OP_MOD) {
                choose_backend(ctl, false);
            }
            continue;
        }
        if (!strcmp(class, "VIF")) {
            const char *vm_uuid =
                record_string(c->new ? c->new : c->old, "VM");
            struct vmc_vm *vm = *vm_uuid ? vm_get(ctl, vm_uuid, false) : NULL;
            if (vm) {
                vm->nics_dirty = true;
                mark_dirty(vm);
            }
            continue;
        }

        /* A VM. */
        struct vmc_vm *vm = vm_get(ctl, c->uuid, c->op != STORE_OP_DEL);
        if (!vm) {
            continue;
        }
        /* An operation replaced before it finished (power_state_reset
         * cancels the one in flight): its task says so, and its step in
         * flight is dropped. */
        struct json_object *old_ops =
            c->old ? json_object_object_get(c->old, "current_operations")
                   : NULL;
        struct json_object *new_ops =
            c->new ? json_object_object_get(c->new, "current_operations")
                   : NULL;
        if (!old_ops) {
            mark_dirty(vm);
            continue;
        }
        /* An operation that ended has its outcome in last_operation: in
         * a pool, the task it names is finished just after the pool has
         * applied the VM's change. */
        struct json_object *last =
            c->new ? json_object_object_get(c->new, "last_operation") : NULL;
        const char *ended = record_string(last, "task");
        json_object_object_foreach (old_ops, task, op_name) {
            enum vm_operation op;
            /* A clone or copy is the storage jobs' to end. */
            if (vm_operation_parse(json_object_get_string(op_name), &op)
                && !json_object_object_get_ex(new_ops, task, NULL)
                && strcmp(task, ended)
                && store_task_pending(ctl->store, task)) {
                struct np_error *cancelled = np_error_new(
                    ERR_TASK_CANCELLED, json_object_get_string(op_name),
                    c->uuid, NULL);
                store_push_actor(ctl->store, ACTOR);
                store_task_finish(ctl->store, task, NULL, cancelled);
                store_pop_actor(ctl->store);
                np_error_destroy(cancelled);
                if (!strcmp(task, vm->task)) {
                    vm->gen++;
                    vm->acting = false;
                    vm->busy = false;
                    vm->task[0] = '\0';
                    event_del(vm->timer);
                    /* The dropped step may have changed the domain. */
                    vm->domain_known = false;
                }
            }
        }
        mark_dirty(vm);
    }
}

static void
on_domain(void *ctl_, const char *uuid, enum vm_domain_state state)
{
    struct vm_controller *ctl = ctl_;
    struct vmc_vm *vm = vm_get(ctl, uuid, true);

    log_debug("VM %s: domain %s", uuid, vm_domain_state_name(state));
    vm->domain = state;
    vm->domain_known = true;
    if (state == VM_DOMAIN_GONE) {
        vm->domid = -1;
    }
    mark_dirty(vm);
}

static void
on_kick(evutil_socket_t fd, short what, void *ctl_)
{
    struct vm_controller *ctl = ctl_;

    store_push_actor(ctl->store, ACTOR);
    /* Converging may add or forget VMs: start over after each. */
    for (bool again = true; again;) {
        again = false;
        for (struct vmc_vm *vm = ctl->vms; vm; vm = vm->next) {
            if (vm->dirty) {
                vm->dirty = false;
                converge(vm);
                again = true;
                break;
            }
        }
    }
    store_pop_actor(ctl->store);
}

static void
on_resync(evutil_socket_t fd, short what, void *ctl_)
{
    struct vm_controller *ctl = ctl_;
    struct json_object *vms =
        store_get_owned(ctl->store, "VM", ctl->host, false);

    json_object_object_foreach (vms, uuid, record) {
        (void) record;
        vm_get(ctl, uuid, true);
    }
    json_object_put(vms);
    for (struct vmc_vm *vm = ctl->vms; vm; vm = vm->next) {
        if (vm->domain_known && vm->domain != VM_DOMAIN_GONE) {
            vm->nics_dirty = true;
        }
        if (!vm->acting && !vm->querying) {
            vm->domain_known = false;
        }
        vm->retry_after_ms = 0;
        mark_dirty(vm);
    }
    report_host(ctl);
}

/* A waiting operation's progress, and its time limit. */
static void
on_timer(evutil_socket_t fd, short what, void *vm_)
{
    struct vmc_vm *vm = vm_;
    struct vm_controller *ctl = vm->ctl;
    uint64_t waited = now_ms() - vm->op_started_ms;

    if (!vm->busy) {
        return;
    }
    store_push_actor(ctl->store, ACTOR);
    if (waited >= WAIT_LIMIT_MS && !vm->acting
        && (vm->op == VM_OP_CLEAN_SHUTDOWN || vm->op == VM_OP_CLEAN_REBOOT)) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", WAIT_LIMIT_MS / 1000);
        struct json_object *rec = store_get(ctl->store, "VM", vm->uuid);
        struct vm_plan plan = {.action = VM_ACT_FINISH,
                               .state = power_state(rec, "power_state"),
                               .success = false};
        json_object_put(rec);
        fail_op(
            vm, plan,
            np_error_new(ERR_VM_SHUTDOWN_TIMEOUT, vm->uuid, seconds, NULL));
    } else {
        if (*vm->task) {
            store_task_set_progress(ctl->store, vm->task,
                                    (double) waited / WAIT_LIMIT_MS);
        }
        event_add(vm->timer,
                  &(struct timeval){0, PROGRESS_INTERVAL_MS * 1000});
    }
    store_pop_actor(ctl->store);
}

/* Converging. */

/* Decides and starts 'vm''s next step. */
static void
converge(struct vmc_vm *vm)
{
    struct vm_controller *ctl = vm->ctl;

    if (vm->acting || vm->querying || ctl->stopping) {
        return;
    }
    if (vm->retry_after_ms > now_ms()) {
        return; /* The resync marks it again. */
    }
    struct json_object *rec = store_get(ctl->store, "VM", vm->uuid);
    if (!rec) {
        if (vm->domain_known && vm->domain != VM_DOMAIN_GONE) {
            log_warn("VM %s is gone but its domain runs: ending it", vm->uuid);
            struct vm_plan plan = {.action = VM_ACT_DESTROY};
            vm->acting = true;
            vm->plan = plan;
            ctl->backend->ops->destroy(ctl->backend, vm->uuid, on_step_done,
                                       ticket(vm));
        } else if (!vm->domain_known) {
            query_domain(vm);
        } else {
            vm_forget(vm);
        }
        return;
    }

    const char *resident = record_string(rec, "resident_on");
    char task[37] = "";
    enum vm_operation op = VM_OP_START;
    bool busy = current_operation(rec, task, &op);

    if (busy && op == VM_OP_POOL_MIGRATE && migrating_here(ctl, rec)) {
        /* The migration agent (mgmt/migrate.c) runs its domains here until
         * the migration ends one way or the other. */
        json_object_put(rec);
        return;
    }
    if (*resident && strcmp(resident, ctl->host)) {
        /* Another host's VM: no domain of it may run here. */
        if (!vm->domain_known) {
            query_domain(vm);
        } else if (vm->domain != VM_DOMAIN_GONE) {
            log_warn("VM %s is resident on %s: ending its domain here",
                     vm->uuid, resident);
            vm->acting = true;
            vm->plan = (struct vm_plan){.action = VM_ACT_DESTROY};
            ctl->backend->ops->destroy(ctl->backend, vm->uuid, on_step_done,
                                       ticket(vm));
        } else {
            vm_forget(vm);
        }
        json_object_put(rec);
        return;
    }

    if (busy && strcmp(task, vm->task)) {
        /* A new operation (or one found at start). */
        snprintf(vm->task, sizeof vm->task, "%s", task);
        vm->op = op;
        vm->busy = true;
        vm->recovering = !strcmp(task, vm->recovered_task);
        vm->button_pressed = false;
        vm->op_started_ms = now_ms();
        if (vm->op == VM_OP_CLEAN_SHUTDOWN || vm->op == VM_OP_CLEAN_REBOOT
            || vm->op == VM_OP_RESUME) {
            event_add(vm->timer,
                      &(struct timeval){0, PROGRESS_INTERVAL_MS * 1000});
        }
    } else if (!busy && vm->busy) {
        vm->busy = false;
        vm->task[0] = '\0';
        vm->recovering = false;
        event_del(vm->timer);
    }
    if (!vm->domain_known) {
        query_domain(vm);
        json_object_put(rec);
        return;
    }

    char *file = suspend_file(ctl, vm->uuid);
    struct vm_situation s = {
        .busy = busy,
        .op = op,
        .unplaced = !busy && !*resident,
        .desired = power_state(rec, "desired_power_state"),
        .observed = power_state(rec, "power_state"),
        .domain = vm->domain,
        .saved_state = !access(file, R_OK),
        .recovering = vm->recovering,
        .button_pressed = vm->button_pressed,
    };
    free(file);
    struct vm_plan plan = vm_plan_next(&s);
    if (plan.action != VM_ACT_NONE) {
        log_info("VM %s: %s%s%s (%s, domain %s)%s%s", vm->uuid,
                 busy ? vm_operation_name(op) : "converge", busy ? ": " : ": ",
                 vm_action_name(plan.action), vm_power_state_name(s.observed),
                 vm_domain_state_name(s.domain), *plan.why ? ": " : "",
                 plan.why);
    }
    execute(vm, rec, plan);
    json_object_put(rec);
}

/* Starts the step 'plan' for 'vm' (record 'rec'), or records its outcome
 * at once when it needs no backend. */
static void
execute(struct vmc_vm *vm, struct json_object *rec, struct vm_plan plan)
{
    struct vm_controller *ctl = vm->ctl;
    struct vm_backend *b = ctl->backend;
    struct vm_config *config = NULL;
    struct np_error *error;

    vm->plan = plan;
    switch (plan.action) {
    case VM_ACT_NONE:
        if (!vm->busy && vm->nics_dirty && vm->domain != VM_DOMAIN_GONE
            && is_up(power_state(rec, "power_state"))) {
            sync_nics(vm, rec);
        } else if (!vm->busy && vm->domain == VM_DOMAIN_GONE
                   && !*record_string(rec, "resident_on")) {
            vm_forget(vm);
        }
        return;

    case VM_ACT_FINISH:
        if (plan.success) {
            record(vm, plan, NULL);
        } else {
            fail_op(vm, plan, op_error(vm, plan.why));
        }
        return;

    case VM_ACT_LAUNCH:
    case VM_ACT_LAUNCH_RESUME: {
        error = build_config(ctl, NULL, rec, true, &config);
        if (error) {
            plan.success = false;
            plan.state = power_state(rec, "power_state");
            fail_op(vm, plan, error);
            return;
        }
        char *file = suspend_file(ctl, vm->uuid);
        struct vm_start_options options = {
            .paused = plan.state == VM_PAUSED,
            .resume_file = plan.action == VM_ACT_LAUNCH_RESUME ? file : NULL,
        };
        vm->acting = true;
        b->ops->start(b, config, &options, on_step_done, ticket(vm));
        free(file);
        vm_config_destroy(config);
        return;
    }

    case VM_ACT_POWER_BUTTON:
        vm->acting = true;
        b->ops->shutdown(b, vm->uuid, on_step_done, ticket(vm));
        return;
    case VM_ACT_DESTROY:
        vm->acting = true;
        b->ops->destroy(b, vm->uuid, on_step_done, ticket(vm));
        return;
    case VM_ACT_PAUSE:
        vm->acting = true;
        b->ops->pause(b, vm->uuid, on_step_done, ticket(vm));
        return;
    case VM_ACT_UNPAUSE:
    case VM_ACT_ABORT_SUSPEND:
        vm->acting = true;
        b->ops->unpause(b, vm->uuid, on_step_done, ticket(vm));
        return;
    case VM_ACT_RESET:
        vm->acting = true;
        b->ops->reset(b, vm->uuid, on_step_done, ticket(vm));
        return;
    case VM_ACT_SUSPEND: {
        char *file = suspend_file(ctl, vm->uuid);
        vm->acting = true;
        b->ops->suspend(b, vm->uuid, file, on_step_done, ticket(vm));
        free(file);
        return;
    }
    }
}

/* A backend step ended: record its outcome (or that it failed). */
static void
on_step_done(void *ticket_, const struct vm_result *result)
{
    struct vmc_ticket *t = ticket_;
    struct vm_controller *ctl = t->ctl;
    struct vmc_vm *vm = ctl->stopping ? NULL : vm_get(ctl, t->uuid, false);

    if (!vm || vm->gen != t->gen) {
        free(t);
        return; /* Dropped meanwhile. */
    }
    free(t);
    vm->acting = false;
    struct vm_plan plan = vm->plan;

    struct json_object *now = store_get(ctl->store, "VM", vm->uuid);
    const char *resident = record_string(now, "resident_on");
    bool elsewhere = now && *resident && strcmp(resident, ctl->host);
    json_object_put(now);
    if (elsewhere) {
        /* Another host's VM (it migrated away) whose domain here was
         * ended: nothing of it is this host's to record. */
        vm->domain_known = !result->error && plan.action == VM_ACT_DESTROY;
        vm->domain = VM_DOMAIN_GONE;
        vm->domid = -1;
        mark_dirty(vm);
        return;
    }
    store_push_actor(ctl->store, ACTOR);

    if (result->error) {
        log_warn("VM %s: %s failed: %s", vm->uuid, vm_action_name(plan.action),
                 result->why);
        struct json_object *rec = store_get(ctl->store, "VM", vm->uuid);
        plan.success = false;
        plan.state = power_state(rec, "power_state");
        json_object_put(rec);
        vm->domain_known = false;
        if (!vm->busy) {
            /* Converging failed: try again at the next resync. */
            vm->retry_after_ms = now_ms() + RESYNC_INTERVAL_MS;
        }
        fail_op(vm, plan, op_error(vm, result->why));
        store_pop_actor(ctl->store);
        return;
    }

    switch (plan.action) {
    case VM_ACT_LAUNCH:
    case VM_ACT_LAUNCH_RESUME:
        vm->domid = result->domid;
        vm->domain =
            plan.state == VM_PAUSED ? VM_DOMAIN_PAUSED : VM_DOMAIN_RUNNING;
        vm->domain_known = true;
        vm->nics_dirty = true;
        log_info("VM %s started (%s, domid %" PRId64 ")", vm->uuid,
                 vm_accel_name(ctl->backend->ops->accel(ctl->backend)),
                 result->domid);
        break;
    case VM_ACT_POWER_BUTTON:
        /* Now the guest: its shutdown comes as a domain event. */
        vm->button_pressed = true;
        store_pop_actor(ctl->store);
        mark_dirty(vm);
        return;
    case VM_ACT_DESTROY:
    case VM_ACT_SUSPEND:
        vm->domain = VM_DOMAIN_GONE;
        vm->domain_known = true;
        vm->domid = -1;
        break;
    case VM_ACT_PAUSE:
        vm->domain = VM_DOMAIN_PAUSED;
        break;
    case VM_ACT_UNPAUSE:
    case VM_ACT_RESET:
        vm->domain = VM_DOMAIN_RUNNING;
        break;
    case VM_ACT_ABORT_SUSPEND: {
        vm->domain = VM_DOMAIN_RUNNING;
        char *file = suspend_file(ctl, vm->uuid);
        char *part = xasprintf("%s.part", file);
        unlink(part);
        free(part);
        free(file);
        break;
    }
    case VM_ACT_NONE:
    case VM_ACT_FINISH:
        break;
    }
    if (plan.success) {
        record(vm, plan, NULL);
    } else {
        fail_op(vm, plan, op_error(vm, plan.why));
    }
    store_pop_actor(ctl->store);
}

/* Records the outcome 'plan' of 'vm''s operation (or of what its domain
 * did by itself), in one transaction: the observed power state and domid,
 * the desired power state rolled forward or back to it, the operation
 * gone from current_operations, the VM resident here only while it has a
 * domain, its VIFs plugged as it comes up and unplugged as it goes down,
 * and the task finished with 'error' (NULL: success). */
static void
record(struct vmc_vm *vm, struct vm_plan plan, const struct np_error *error)
{
    struct vm_controller *ctl = vm->ctl;
    struct store *store = ctl->store;
    struct json_object *rec = store_get(store, "VM", vm->uuid);

    if (!rec) {
        return;
    }
    enum vm_power_state before = power_state(rec, "power_state");
    bool up = is_up(plan.state);
    struct json_object *changes = json_object_new_object();

    json_object_object_add(
        changes, "power_state",
        json_object_new_string(vm_power_state_name(plan.state)));
    /* A protected VM whose domain ended by itself (or by its host's
     * fence) stays desired Running: the acting master restarts it.  Not
     * one that someone asked to stop meanwhile (a VM.hard_shutdown whose
     * kill raced the domain's end already says desired Halted). */
    bool keep =
        plan.state == VM_HALTED
        && !strcmp(record_string(rec, "desired_power_state"), "Running")
        && ha_keeps_running(plan.crashed, pool_ha_enabled(store),
                            record_string(rec, "ha_restart_priority"));
    json_object_object_add(changes, "desired_power_state",
                           json_object_new_string(vm_power_state_name(
                               keep ? VM_RUNNING : plan.state)));
    json_object_object_add(changes, "domid",
                           json_object_new_int64(up ? vm->domid : -1));
    json_object_object_add(changes, "current_operations",
                           json_object_new_object());
    json_object_object_add(changes, "resident_on",
                           json_object_new_string(up ? ctl->host : ""));
    if (*vm->task) {
        json_object_object_add(changes, "last_operation",
                               outcome(vm, plan.state, error));
    }

    int retval = store_begin(store);
    if (!retval) {
        retval = store_update(store, "VM", vm->uuid, changes);
    }
    if (!retval && up != is_up(before)) {
        struct json_object *key = json_object_new_string(vm->uuid);
        struct json_object *vifs = store_find(store, "VIF", "VM", key);
        struct json_object *plug = json_object_new_object();
        json_object_put(key);
        json_object_object_add(plug, "currently_attached",
                               json_object_new_boolean(up));
        for (size_t i = 0; !retval && i < json_object_array_length(vifs);
             i++) {
            const char *vif =
                json_object_get_string(json_object_array_get_idx(vifs, i));
            struct json_object *vif_rec = store_get(store, "VIF", vif);
            /* A namespace guest's VIF is no domain's. */
            if (up
                || !*record_string(
                    json_object_object_get(vif_rec, "other_config"),
                    "netns")) {
                retval = store_update(store, "VIF", vif, plug);
            }
            json_object_put(vif_rec);
        }
        json_object_put(plug);
        json_object_put(vifs);
    }
    if (!retval && *vm->task) {
        int finished = store_task_finish(store, vm->task, NULL, error);
        if (!finished && vm->recovering) {
            store_task_note(store, vm->task, "recovery",
                            error ? "rolled back" : "completed");
        }
    }
    if (!retval) {
        retval = store_commit(store);
    } else {
        store_rollback(store);
    }
    if (retval) {
        /* No quorum, or a write ordered before ours: plan again at the
         * next resync. */
        log_error("VM %s: cannot record %s: %s", vm->uuid,
                  vm_power_state_name(plan.state), strerror(retval));
        vm->retry_after_ms = now_ms() + RESYNC_INTERVAL_MS;
    } else if (vm->busy && vm->recovering) {
        log_info("VM %s: %s found in flight at start: %s", vm->uuid,
                 vm_operation_name(vm->op),
                 error ? "rolled back" : "completed");
    }
    if (plan.crashed) {
        char *body = xasprintf("VM %s (%s) crashed: its domain is gone",
                               record_string(rec, "name_label"), vm->uuid);
        log_warn("%s", body);
        store_raise_message(store, "VM_CRASHED", 2, "VM", vm->uuid, body);
        free(body);
    }
    if (plan.state == VM_HALTED
        || (up && vm->busy && vm->op == VM_OP_RESUME && !error)) {
        /* A halted VM, or one resumed, has no saved state. */
        char *file = suspend_file(ctl, vm->uuid);
        unlink(file);
        free(file);
    }
    json_object_put(changes);
    json_object_put(rec);

    bool was_busy = vm->busy;
    vm->busy = false;
    vm->task[0] = '\0';
    vm->recovering = false;
    vm->button_pressed = false;
    event_del(vm->timer);
    report_host(ctl);
    mark_dirty(vm);
    if (was_busy) {
        next_auto_poweron(ctl);
    }
}

/* Returns the VM's last_operation for the end of 'vm''s operation, which
 * leaves the VM in 'state', with 'error' (NULL for success): the outcome
 * the host whose API made the task finishes it from when that is not this
 * host (tasks are local). */
static struct json_object *
outcome(const struct vmc_vm *vm, enum vm_power_state state,
        const struct np_error *error)
{
    struct json_object *map = json_object_new_object();
    const char *status = "success";

    json_object_object_add(map, "task", json_object_new_string(vm->task));
    json_object_object_add(map, "operation",
                           json_object_new_string(vm_operation_name(vm->op)));
    if (error) {
        status =
            !strcmp(error->code, ERR_TASK_CANCELLED) ? "cancelled" : "failure";
        struct json_object *info = np_error_to_json(error);
        json_object_object_add(
            map, "error_info",
            json_object_new_string(
                json_object_to_json_string_ext(info, JSON_C_TO_STRING_PLAIN)));
        json_object_put(info);
    }
    json_object_object_add(map, "status", json_object_new_string(status));
    json_object_object_add(map, "power_state",
                           json_object_new_string(vm_power_state_name(state)));
    if (vm->recovering) {
        json_object_object_add(
            map, "recovery",
            json_object_new_string(error ? "rolled back" : "completed"));
    }
    return map;
}

/* Returns true if this host's pool has HA on. */
static bool
pool_ha_enabled(struct store *store)
{
    struct json_object *pools = store_get_all(store, "pool");
    bool enabled = false;

    json_object_object_foreach (pools, uuid, pool) {
        (void) uuid;
        enabled |= record_bool(pool, "ha_enabled");
    }
    json_object_put(pools);
    return enabled;
}

/* Records the failure 'error' (taken) of 'vm''s operation: the state in
 * 'plan' is what the VM is left in. */
static void
fail_op(struct vmc_vm *vm, struct vm_plan plan, struct np_error *error)
{
    char *text = np_error_to_string(error);

    log_warn("VM %s: %s failed: %s", vm->uuid,
             vm->busy ? vm_operation_name(vm->op) : "converging", text);
    free(text);
    record(vm, plan, error);
    np_error_destroy(error);
}

/* The error of 'vm''s operation failing for 'why': VM_FAILED_START(VM,
 * why) for an operation that brings a domain up, else
 * INTERNAL_ERROR(why, VM). */
static struct np_error *
op_error(const struct vmc_vm *vm, const char *why)
{
    if (vm->busy
        && (vm->op == VM_OP_START || vm->op == VM_OP_RESUME
            || vm->op == VM_OP_CLEAN_REBOOT || vm->op == VM_OP_HARD_REBOOT)) {
        return np_error_new(ERR_VM_FAILED_START, vm->uuid, why, NULL);
    }
    return np_error_new(ERR_INTERNAL_ERROR, why, vm->uuid, NULL);
}

/* Asks the backend what 'vm''s domain does. */
static void
query_domain(struct vmc_vm *vm)
{
    vm->querying = true;
    vm->ctl->backend->ops->query(vm->ctl->backend, vm->uuid, on_query_done,
                                 ticket(vm));
}

static void
on_query_done(void *ticket_, const struct vm_result *result)
{
    struct vmc_ticket *t = ticket_;
    struct vm_controller *ctl = t->ctl;
    struct vmc_vm *vm = ctl->stopping ? NULL : vm_get(ctl, t->uuid, false);

    free(t);
    if (!vm) {
        return;
    }
    vm->querying = false;
    if (!result->error) {
        vm->domain = result->state;
        vm->domain_known = true;
        if (result->state == VM_DOMAIN_GONE) {
            vm->domid = -1;
        }
    } else {
        /* Alive but not answering: look again at the next resync. */
        log_warn("VM %s: query: %s", vm->uuid, result->why);
        vm->domain = result->state;
        vm->domain_known = true;
    }
    mark_dirty(vm);
}

/* Hot-plug: makes the NICs of 'vm''s running domain match its VIFs'
 * currently_attached (VIF.plug and VIF.unplug set it): an attached VIF
 * whose tap (or vhost-user socket) does not exist is plugged into the
 * domain, a detached one whose tap exists is unplugged, one at a time. */
static void
sync_nics(struct vmc_vm *vm, struct json_object *rec)
{
    struct vm_controller *ctl = vm->ctl;
    struct vm_config *config = NULL;
    struct np_error *error;

    if (vm->nics_busy) {
        return;
    }
    vm->nics_dirty = false;
    error = build_config(ctl, NULL, rec, false, &config);
    if (error) {
        np_error_destroy(error);
        return;
    }
    struct json_object *key = json_object_new_string(vm->uuid);
    struct json_object *vifs = store_find(ctl->store, "VIF", "VM", key);
    json_object_put(key);
    for (size_t i = 0; i < config->n_nics; i++) {
        const struct vm_nic *nic = &config->nics[i];
        struct json_object *vif = store_get(ctl->store, "VIF", nic->vif);
        bool attached = record_bool(vif, "currently_attached");
        json_object_put(vif);
        /* A NIC's tap or vhost-user socket exists exactly while the
         * domain has the NIC. */
        bool present = *nic->vhost ? !access(nic->vhost, F_OK)
                                   : if_nametoindex(nic->tap) != 0;
        if (attached != present) {
            log_info("VM %s: hot-%s VIF %s (%s)", vm->uuid,
                     attached ? "plug of" : "unplug of", nic->vif, nic->tap);
            vm->nics_busy = true;
            struct vm_backend *b = ctl->backend;
            (attached ? b->ops->nic_plug : b->ops->nic_unplug)(
                b, vm->uuid, nic, on_nic_done, ticket(vm));
            break;
        }
    }
    json_object_put(vifs);
    vm_config_destroy(config);
}

static void
on_nic_done(void *ticket_, const struct vm_result *result)
{
    struct vmc_ticket *t = ticket_;
    struct vm_controller *ctl = t->ctl;
    struct vmc_vm *vm = ctl->stopping ? NULL : vm_get(ctl, t->uuid, false);

    free(t);
    if (!vm) {
        return;
    }
    vm->nics_busy = false;
    if (result->error) {
        /* Tried again at the next resync. */
        log_warn("VM %s: hot-plug: %s", vm->uuid, result->why);
    } else {
        vm->nics_dirty = true;
        mark_dirty(vm);
    }
}

/* The configuration of a domain of VM record 'rec' (with its NICs, disks
 * and what the hooks add); when 'starting', checked as a start checks it:
 * readable kernel and ramdisk, memory admission.  'vdi_map' (or NULL): VDI
 * → the VDI the domain has in its place. */
static struct np_error *
build_config(struct vm_controller *ctl, struct json_object *vdi_map,
             struct json_object *rec, bool starting,
             struct vm_config **configp)
{
    struct store *store = ctl->store;
    const char *uuid = record_string(rec, "uuid");
    int64_t index =
        ctl->hooks.vif_index ? ctl->hooks.vif_index(ctl->hooks.aux, rec) : 0;
    struct np_error *error = NULL;

    *configp = NULL;
    struct json_object *key = json_object_new_string(uuid);
    struct json_object *vif_uuids = store_find(store, "VIF", "VM", key);
    if (index < 1 && json_object_array_length(vif_uuids)) {
        /* It names the NICs' taps; a VM gets it with its first VIF. */
        json_object_put(key);
        json_object_put(vif_uuids);
        return np_error_new(ERR_INVALID_VALUE,
                            "other_config:netpool-vif-index", "", NULL);
    }
    struct json_object *vbd_uuids = store_find(store, "VBD", "VM", key);
    struct json_object *vifs = json_object_new_object();
    struct json_object *vbds = json_object_new_object();
    struct json_object *vdis = json_object_new_object();
    json_object_put(key);
    for (size_t i = 0; i < json_object_array_length(vif_uuids); i++) {
        const char *vif =
            json_object_get_string(json_object_array_get_idx(vif_uuids, i));
        json_object_object_add(vifs, vif, store_get(store, "VIF", vif));
    }
    for (size_t i = 0; i < json_object_array_length(vbd_uuids); i++) {
        const char *vbd =
            json_object_get_string(json_object_array_get_idx(vbd_uuids, i));
        struct json_object *vbd_rec = store_get(store, "VBD", vbd);
        const char *vdi = record_string(vbd_rec, "VDI");
        const char *other = record_string(vdi_map, vdi);
        if (*other) {
            json_object_object_add(vbd_rec, "VDI",
                                   json_object_new_string(other));
            vdi = other;
        }
        struct json_object *vdi_rec = store_get(store, "VDI", vdi);
        if (vdi_rec) {
            json_object_object_add(vdis, vdi, vdi_rec);
        }
        json_object_object_add(vbds, vbd, vbd_rec);
    }
    struct json_object *networks = store_get_all(store, "network");
    struct vm_config *config = NULL;

    error = vm_config_from_records(rec, vifs, networks, index, &config);
    if (!error && ctl->hooks.prepare) {
        error =
            ctl->hooks.prepare(ctl->hooks.aux, ctl->host, config, starting);
    }
    if (!error && starting) {
        error = vm_config_add_disks(config, vbds, vdis);
    }
    if (!error && starting && *config->kernel
        && access(config->kernel, R_OK)) {
        error =
            np_error_new(ERR_INVALID_VALUE, "PV_kernel", config->kernel, NULL);
    }
    if (!error && starting && *config->ramdisk
        && access(config->ramdisk, R_OK)) {
        error = np_error_new(ERR_INVALID_VALUE, "PV_ramdisk", config->ramdisk,
                             NULL);
    }
    if (!error && starting) {
        int64_t needed = config->memory.dynamic_max
                         + vm_memory_overhead(&config->memory, config->vcpus);
        error = vm_check_admission(needed, host_free_memory(ctl, NULL));
    }
    json_object_put(vif_uuids);
    json_object_put(vbd_uuids);
    json_object_put(vifs);
    json_object_put(vbds);
    json_object_put(vdis);
    json_object_put(networks);
    if (error) {
        vm_config_destroy(config);
        return error;
    }
    *configp = config;
    return NULL;
}

/* Start, restart, boot. */

/* Takes the domains that outlived the last run under watch and marks every
 * VM of this host, and every operation found in flight, to be planned. */
static void
recover(struct vm_controller *ctl)
{
    struct vm_domain_info *domains = NULL;
    size_t n = 0;

    ctl->backend->ops->list(ctl->backend, &domains, &n);
    for (size_t i = 0; i < n; i++) {
        log_info("VM %s: adopting its running domain (pid %d)",
                 domains[i].uuid, (int) domains[i].pid);
        ctl->backend->ops->adopt(ctl->backend, domains[i].uuid);
        struct vmc_vm *vm = vm_get(ctl, domains[i].uuid, true);
        vm->domid = domains[i].pid;
        vm->domain_known = false; /* Asked before it is planned. */
    }
    free(domains);

    /* The VMs resident here, and the halted ones (no owner) that an
     * operation may have been starting: not the rest of the pool's. */
    struct json_object *vms =
        store_get_owned_stored(ctl->store, "VM", ctl->host, true);
    json_object_object_foreach (vms, uuid, rec) {
        char task[37];
        enum vm_operation op;
        const char *resident = record_string(rec, "resident_on");
        bool busy = current_operation(rec, task, &op);

        if (strcmp(resident, ctl->host) && (*resident || !busy)) {
            continue;
        }
        bool adopted = vm_get(ctl, uuid, false) != NULL;
        struct vmc_vm *vm = vm_get(ctl, uuid, true);
        if (!adopted) {
            /* The backend found no domain of it. */
            vm->domain = VM_DOMAIN_GONE;
            vm->domain_known = true;
        }
        if (busy) {
            vm->recovering = true;
            snprintf(vm->recovered_task, sizeof vm->recovered_task, "%s",
                     task);
            log_info("VM %s: %s was in flight when netpoold stopped", uuid,
                     vm_operation_name(op));
        }
    }
    json_object_put(vms);
    event_active(ctl->kick, EV_TIMEOUT, 0);
}

/* Returns true if 'record' has other_config:auto_poweron=true. */
static bool
auto_poweron_set(struct json_object *rec)
{
    return !strcmp(record_string(json_object_object_get(rec, "other_config"),
                                 "auto_poweron"),
                   "true");
}

static int
compare_order(const void *a_, const void *b_)
{
    struct json_object *a = *(struct json_object *const *) a_;
    struct json_object *b = *(struct json_object *const *) b_;
    int64_t x = json_object_get_int64(json_object_object_get(a, "order"));
    int64_t y = json_object_get_int64(json_object_object_get(b, "order"));

    return x < y ? -1 : x > y;
}

/* auto_poweron: on the first start of netpoold since the host booted (no
 * BOOT_MARKER in the state folder under /run, which a boot empties), with
 * pool other_config:auto_poweron=true, starts every halted VM whose
 * other_config:auto_poweron is true, lowest "order" first, one after the
 * other; each start is a task like a user's. */
static void
auto_poweron(struct vm_controller *ctl)
{
    char *marker = xasprintf("%s/" BOOT_MARKER, ctl->state_dir);
    bool booted = access(marker, F_OK) != 0;

    if (booted) {
        FILE *file = fopen(marker, "w");
        if (file) {
            fclose(file);
        }
    }
    free(marker);
    if (!booted) {
        return; /* netpoold restarted; the host did not boot. */
    }

    struct json_object *pools = store_get_all(ctl->store, "pool");
    bool pool_on = false;
    json_object_object_foreach (pools, pool_uuid, pool) {
        (void) pool_uuid;
        pool_on |= auto_poweron_set(pool);
    }
    json_object_put(pools);
    if (!pool_on) {
        return;
    }
    struct json_object *vms = store_get_all(ctl->store, "VM");
    ctl->auto_poweron = json_object_new_array();
    json_object_object_foreach (vms, uuid, rec) {
        (void) uuid;
        if (auto_poweron_set(rec)
            && power_state(rec, "power_state") == VM_HALTED
            && !record_bool(rec, "is_a_template")) {
            json_object_array_add(ctl->auto_poweron, json_object_get(rec));
        }
    }
    json_object_put(vms);
    json_object_array_sort(ctl->auto_poweron, compare_order);
    next_auto_poweron(ctl);
}

/* Asks the next auto_poweron VM to start, if no start of one runs. */
static void
next_auto_poweron(struct vm_controller *ctl)
{
    while (ctl->auto_poweron && json_object_array_length(ctl->auto_poweron)) {
        for (struct vmc_vm *vm = ctl->vms; vm; vm = vm->next) {
            if (vm->busy && vm->op == VM_OP_START) {
                return;
            }
        }
        struct json_object *next =
            json_object_get(json_object_array_get_idx(ctl->auto_poweron, 0));
        json_object_array_del_idx(ctl->auto_poweron, 0, 1);
        const char *uuid = record_string(next, "uuid");
        struct json_object *rec = store_get(ctl->store, "VM", uuid);
        char task[37];
        if (rec && power_state(rec, "power_state") == VM_HALTED
            && !current_operation(rec, task, &(enum vm_operation){0})
            && !store_task_create(ctl->store, "VM.start", ctl->host, "",
                                  task)) {
            struct json_object *changes = json_object_new_object();
            struct json_object *ops = json_object_new_object();
            json_object_object_add(ops, task, json_object_new_string("start"));
            json_object_object_add(changes, "current_operations", ops);
            json_object_object_add(changes, "desired_power_state",
                                   json_object_new_string("Running"));
            json_object_object_add(changes, "resident_on",
                                   json_object_new_string(ctl->host));
            store_task_note(ctl->store, task, "auto_poweron", "true");
            if (!store_update(ctl->store, "VM", uuid, changes)) {
                log_info("VM %s: started by auto_poweron (task %s)", uuid,
                         task);
                mark_dirty(vm_get(ctl, uuid, true));
                json_object_put(changes);
                json_object_put(rec);
                json_object_put(next);
                return;
            }
            json_object_put(changes);
        }
        json_object_put(rec);
        json_object_put(next);
    }
}

/* Picks the backend host.vm_backend names; at start, the one it names if
 * it works here (else qemu); later, a change of it, when no domain runs. */
static void
choose_backend(struct vm_controller *ctl, bool at_start)
{
    struct json_object *host = store_get(ctl->store, "host", ctl->host);
    const char *wanted = record_string(host, "vm_backend");
    char why[VM_WHY_SIZE] = "";
    struct vm_backend *b = NULL;

    if (!*wanted) {
        wanted = "qemu";
    }
    if (!at_start && !strcmp(wanted, ctl->backend_name)) {
        json_object_put(host);
        return;
    }
    if (!at_start) {
        for (struct vmc_vm *vm = ctl->vms; vm; vm = vm->next) {
            if (!vm->domain_known || vm->domain != VM_DOMAIN_GONE
                || vm->acting) {
                log_warn("vm_backend %s: domains run on %s; keeping it",
                         wanted, ctl->backend_name);
                json_object_put(host);
                return;
            }
        }
    }
    if (!strcmp(wanted, "xen")) {
        b = vm_xen_backend_create(ctl->base, ctl->state_dir, why);
        if (!b) {
            log_warn("vm_backend xen: %s; domains run on QEMU", why);
        }
    }
    if (!b) {
        wanted = "qemu";
        b = vm_qemu_backend_create(ctl->base, ctl->state_dir,
                                   getenv("NETPOOL_QEMU"),
                                   getenv("NETPOOL_VM_ACCEL"));
    }
    if (ctl->backend) {
        vm_backend_destroy(ctl->backend);
        while (ctl->vms) {
            vm_forget(ctl->vms);
        }
    }
    ctl->backend = b;
    snprintf(ctl->backend_name, sizeof ctl->backend_name, "%s", wanted);
    vm_backend_watch(b, on_domain, ctl);
    log_info("domains run on %s (%s)", wanted,
             vm_accel_name(b->ops->accel(b)));
    if (!at_start) {
        recover(ctl);
        report_host(ctl);
    }
    json_object_put(host);
}

/* Writes the host's virtualization, memory_total and memory_free. */
static void
report_host(struct vm_controller *ctl)
{
    struct json_object *changes = json_object_new_object();
    int64_t total = 0;
    int64_t free_memory = host_free_memory(ctl, &total);

    json_object_object_add(changes, "virtualization",
                           json_object_new_string(vm_accel_name(
                               ctl->backend->ops->accel(ctl->backend))));
    json_object_object_add(changes, "memory_total",
                           json_object_new_int64(total));
    json_object_object_add(changes, "memory_free",
                           json_object_new_int64(free_memory));
    store_update(ctl->store, "host", ctl->host, changes);
    json_object_put(changes);
}

/* Returns the memory, in bytes, that new domains may take: what the
 * kernel reports available, less what the running domains of this host
 * may still claim (their guest memory and overhead beyond what they use
 * now), so that guests that have not touched their memory yet are not
 * overcommitted.  Sets '*total' (when not NULL) to the host's memory. */
static int64_t
host_free_memory(struct vm_controller *ctl, int64_t *total)
{
    int64_t available = 0, mem_total = 0, claimed = 0;
    char line[256];
    FILE *file = fopen("/proc/meminfo", "r");

    while (file && fgets(line, sizeof line, file)) {
        long long kib;
        if (sscanf(line, "MemTotal: %lld kB", &kib) == 1) {
            mem_total = kib * 1024;
        } else if (sscanf(line, "MemAvailable: %lld kB", &kib) == 1) {
            available = kib * 1024;
        }
    }
    if (file) {
        fclose(file);
    }
    if (total) {
        *total = mem_total;
    }

    struct json_object *vms =
        store_get_owned(ctl->store, "VM", ctl->host, false);
    json_object_object_foreach (vms, uuid, vm) {
        (void) uuid;
        int64_t domid =
            json_object_get_int64(json_object_object_get(vm, "domid"));
        if (domid <= 0) {
            continue;
        }
        struct vm_memory memory = {
            .static_min = json_object_get_int64(
                json_object_object_get(vm, "memory_static_min")),
            .dynamic_min = json_object_get_int64(
                json_object_object_get(vm, "memory_dynamic_min")),
            .dynamic_max = json_object_get_int64(
                json_object_object_get(vm, "memory_dynamic_max")),
            .static_max = json_object_get_int64(
                json_object_object_get(vm, "memory_static_max")),
        };
        vm_memory_complete(&memory);
        int64_t need =
            memory.dynamic_max
            + vm_memory_overhead(&memory,
                                 json_object_get_int64(
                                     json_object_object_get(vm, "VCPUs_max")));
        int64_t rss = 0;
        char path[64];
        snprintf(path, sizeof path, "/proc/%" PRId64 "/status", domid);
        FILE *status = fopen(path, "r");
        while (status && fgets(line, sizeof line, status)) {
            long long kib;
            if (sscanf(line, "VmRSS: %lld kB", &kib) == 1) {
                rss = kib * 1024;
            }
        }
        if (status) {
            fclose(status);
        }
        if (need > rss) {
            claimed += need - rss;
        }
    }
    json_object_put(vms);
    return available - claimed;
}

/* VMs. */

static struct vmc_vm *
vm_get(struct vm_controller *ctl, const char *uuid, bool create)
{
    for (struct vmc_vm *vm = ctl->vms; vm; vm = vm->next) {
        if (!strcmp(vm->uuid, uuid)) {
            return vm;
        }
    }
    if (!create || ctl->stopping) {
        return NULL;
    }
    struct vmc_vm *vm = xzalloc(sizeof *vm);
    vm->ctl = ctl;
    snprintf(vm->uuid, sizeof vm->uuid, "%s", uuid);
    vm->domid = -1;
    vm->timer = evtimer_new(ctl->base, on_timer, vm);
    vm->next = ctl->vms;
    ctl->vms = vm;
    mark_dirty(vm);
    return vm;
}

/* Forgets 'vm': steps in flight for it are ignored when they end. */
static void
vm_forget(struct vmc_vm *vm)
{
    struct vm_controller *ctl = vm->ctl;

    for (struct vmc_vm **p = &ctl->vms; *p; p = &(*p)->next) {
        if (*p == vm) {
            *p = vm->next;
            break;
        }
    }
    event_free(vm->timer);
    free(vm);
}

static void
mark_dirty(struct vmc_vm *vm)
{
    vm->dirty = true;
    event_active(vm->ctl->kick, EV_TIMEOUT, 0);
}

static struct vmc_ticket *
ticket(struct vmc_vm *vm)
{
    struct vmc_ticket *t = xzalloc(sizeof *t);

    t->ctl = vm->ctl;
    snprintf(t->uuid, sizeof t->uuid, "%s", vm->uuid);
    t->gen = vm->gen;
    return t;
}

/* Helpers. */

static char *
suspend_file(struct vm_controller *ctl, const char *uuid)
{
    return xasprintf("%s/%s.suspend", ctl->state_dir, uuid);
}

/* Reads the operation in 'record''s current_operations (task → name) into
 * 'task' (37 bytes) and '*op'.  Returns false if there is none that is a
 * power operation (a clone or copy is the storage jobs' business). */
static bool
current_operation(struct json_object *rec, char *task, enum vm_operation *op)
{
    struct json_object *ops =
        json_object_object_get(rec, "current_operations");

    if (!ops) {
        return false;
    }
    json_object_object_foreach (ops, key, value) {
        if (vm_operation_parse(json_object_get_string(value), op)) {
            snprintf(task, 37, "%s", key);
            return true;
        }
    }
    return false;
}

static enum vm_power_state
power_state(struct json_object *rec, const char *field)
{
    enum vm_power_state state;

    return vm_power_state_parse(record_string(rec, field), &state) ? state
                                                                   : VM_HALTED;
}

/* Returns true if VM 'record' is migrating from this host (its resident
 * host until the migration commits) or to it (its destination). */
static bool
migrating_here(const struct vm_controller *ctl, struct json_object *record)
{
    struct json_object *migration =
        json_object_object_get(record, "migration");

    return json_object_is_type(migration, json_type_object)
           && json_object_object_length(migration)
           && (!strcmp(record_string(record, "resident_on"), ctl->host)
               || !strcmp(record_string(migration, "destination"), ctl->host));
}

static bool
is_up(enum vm_power_state state)
{
    return state == VM_RUNNING || state == VM_PAUSED;
}

static uint64_t
now_ms(void)
{
    return clock_monotonic_ms();
}
