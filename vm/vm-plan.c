/*
 * The controller's decisions: from what a VM asks for (its operation in
 * flight, its desired power state), what was recorded and what its domain
 * does now, the next step.  Pure: unit tests call vm_plan_next() with
 * every situation.
 */
#include "vm/vm.h"

#include <stddef.h>

static struct vm_plan plan_idle(const struct vm_situation *);
static struct vm_plan plan_op(const struct vm_situation *);
static struct vm_plan step(enum vm_action, enum vm_power_state, bool success,
                           const char *why);
static bool has_domain(enum vm_domain_state);
static enum vm_power_state target_of(const struct vm_situation *);

struct vm_plan
vm_plan_next(const struct vm_situation *s)
{
    return s->busy ? plan_op(s) : plan_idle(s);
}

const char *
vm_action_name(enum vm_action action)
{
    static const char *const names[] = {
        [VM_ACT_NONE] = "none",
        [VM_ACT_LAUNCH] = "launch",
        [VM_ACT_LAUNCH_RESUME] = "launch-resume",
        [VM_ACT_POWER_BUTTON] = "power-button",
        [VM_ACT_DESTROY] = "destroy",
        [VM_ACT_PAUSE] = "pause",
        [VM_ACT_UNPAUSE] = "unpause",
        [VM_ACT_RESET] = "reset",
        [VM_ACT_SUSPEND] = "suspend",
        [VM_ACT_ABORT_SUSPEND] = "abort-suspend",
        [VM_ACT_FINISH] = "finish",
    };
    return action <= VM_ACT_FINISH ? names[action] : "";
}

bool
vm_operation_between(enum vm_power_state from, enum vm_power_state to,
                     enum vm_operation *op)
{
    if (from == to) {
        return false;
    }
    switch (to) {
    case VM_HALTED:
        *op = VM_OP_HARD_SHUTDOWN;
        return true;
    case VM_RUNNING:
        *op = from == VM_HALTED   ? VM_OP_START
              : from == VM_PAUSED ? VM_OP_UNPAUSE
                                  : VM_OP_RESUME;
        return true;
    case VM_PAUSED:
        if (from == VM_HALTED || from == VM_RUNNING) {
            *op = from == VM_HALTED ? VM_OP_START : VM_OP_PAUSE;
            return true;
        }
        return false;
    case VM_SUSPENDED:
        if (from == VM_RUNNING) {
            *op = VM_OP_SUSPEND;
            return true;
        }
        return false;
    }
    return false;
}

/* Steps. */

/* No operation in flight: record what the domain did by itself, end a
 * domain nothing accounts for, or converge onto a desired state that
 * differs from the recorded one. */
static struct vm_plan
plan_idle(const struct vm_situation *s)
{
    bool recorded_up = s->observed == VM_RUNNING || s->observed == VM_PAUSED;

    if (recorded_up) {
        switch (s->domain) {
        case VM_DOMAIN_GONE: {
            struct vm_plan p =
                step(VM_ACT_FINISH, VM_HALTED, true, "its domain is gone");
            p.crashed = true;
            return p;
        }
        case VM_DOMAIN_SHUTDOWN:
            return step(VM_ACT_DESTROY, VM_HALTED, true,
                        "the guest shut down");
        case VM_DOMAIN_RUNNING:
            if (s->observed == VM_PAUSED) {
                return step(VM_ACT_FINISH, VM_RUNNING, true,
                            "the domain runs again");
            }
            break;
        case VM_DOMAIN_PAUSED:
            if (s->observed == VM_RUNNING) {
                return step(VM_ACT_FINISH, VM_PAUSED, true,
                            "the domain was paused");
            }
            break;
        }
    } else if (has_domain(s->domain)) {
        return step(VM_ACT_DESTROY, s->observed, true,
                    "a domain that no state accounts for");
    }

    /* A VM that no host runs and no operation moves is no controller's to
     * converge: whoever places it (VM.start, auto_poweron, HA's restart on
     * the acting master) writes its resident_on with an operation.  A
     * protected VM whose domain ended stays desired Running for HA, and
     * must not come up where it ended as well as where HA puts it. */
    enum vm_operation op;
    if (!s->unplaced && s->desired != s->observed
        && vm_operation_between(s->observed, s->desired, &op)) {
        struct vm_situation as_op = *s;
        as_op.busy = true;
        as_op.op = op;
        as_op.recovering = false;
        return plan_op(&as_op);
    }
    return step(VM_ACT_NONE, s->observed, true, "");
}

/* An operation in flight. */
static struct vm_plan
plan_op(const struct vm_situation *s)
{
    enum vm_power_state target = target_of(s);
    enum vm_domain_state d = s->domain;
    bool was_up = s->observed == VM_RUNNING || s->observed == VM_PAUSED;
    struct vm_plan p;

    switch (s->op) {
    case VM_OP_START:
        if (d == VM_DOMAIN_GONE) {
            return s->recovering
                       ? step(VM_ACT_FINISH, VM_HALTED, false,
                              "netpoold stopped before the domain started")
                       : step(VM_ACT_LAUNCH, target, true, "");
        }
        if (d == VM_DOMAIN_SHUTDOWN) {
            return step(VM_ACT_DESTROY, VM_HALTED, false,
                        "the guest powered off while starting");
        }
        if ((d == VM_DOMAIN_PAUSED) == (target == VM_PAUSED)) {
            return step(VM_ACT_FINISH, target, true, "");
        }
        return step(target == VM_PAUSED ? VM_ACT_PAUSE : VM_ACT_UNPAUSE,
                    target, true, "");

    case VM_OP_RESUME:
        if (d == VM_DOMAIN_GONE) {
            if (s->recovering) {
                return step(VM_ACT_FINISH,
                            s->saved_state ? VM_SUSPENDED : VM_HALTED, false,
                            "netpoold stopped before the domain resumed");
            }
            return s->saved_state
                       ? step(VM_ACT_LAUNCH_RESUME, target, true, "")
                       : step(VM_ACT_FINISH, VM_SUSPENDED, false,
                              "the suspended state is gone");
        }
        if (d == VM_DOMAIN_SHUTDOWN) {
            return step(VM_ACT_DESTROY,
                        s->saved_state ? VM_SUSPENDED : VM_HALTED, false,
                        "the resumed domain ended");
        }
        if ((d == VM_DOMAIN_PAUSED) == (target == VM_PAUSED)) {
            return step(VM_ACT_FINISH, target, true, "");
        }
        return step(target == VM_PAUSED ? VM_ACT_PAUSE : VM_ACT_UNPAUSE,
                    target, true, "");

    case VM_OP_SUSPEND:
        if (d == VM_DOMAIN_GONE) {
            if (s->saved_state) {
                return step(VM_ACT_FINISH, VM_SUSPENDED, true, "");
            }
            p = step(VM_ACT_FINISH, VM_HALTED, false,
                     "the domain ended before its state was saved");
            p.crashed = was_up;
            return p;
        }
        if (d == VM_DOMAIN_SHUTDOWN) {
            return s->saved_state
                       ? step(VM_ACT_DESTROY, VM_SUSPENDED, true, "")
                       : step(VM_ACT_DESTROY, VM_HALTED, false,
                              "the guest powered off while suspending");
        }
        if (!s->recovering) {
            return step(VM_ACT_SUSPEND, VM_SUSPENDED, true, "");
        }
        return s->saved_state
                   ? step(VM_ACT_DESTROY, VM_SUSPENDED, true, "")
                   : step(VM_ACT_ABORT_SUSPEND, VM_RUNNING, false,
                          "netpoold stopped before the state was saved");

    case VM_OP_CLEAN_SHUTDOWN:
        if (d == VM_DOMAIN_GONE) {
            return step(VM_ACT_FINISH, VM_HALTED, true, "");
        }
        if (d == VM_DOMAIN_SHUTDOWN) {
            return step(VM_ACT_DESTROY, VM_HALTED, true, "");
        }
        return s->button_pressed
                   ? step(VM_ACT_NONE, VM_HALTED, true, "")
                   : step(VM_ACT_POWER_BUTTON, VM_HALTED, true, "");

    case VM_OP_CLEAN_REBOOT:
        if (d == VM_DOMAIN_GONE) {
            return step(VM_ACT_FINISH, VM_HALTED, false,
                        "the domain ended while rebooting");
        }
        if (d == VM_DOMAIN_SHUTDOWN) {
            return step(VM_ACT_RESET, VM_RUNNING, true, "");
        }
        return s->button_pressed
                   ? step(VM_ACT_NONE, VM_RUNNING, true, "")
                   : step(VM_ACT_POWER_BUTTON, VM_RUNNING, true, "");

    case VM_OP_HARD_SHUTDOWN:
    case VM_OP_POWER_STATE_RESET:
        return has_domain(d) ? step(VM_ACT_DESTROY, VM_HALTED, true, "")
                             : step(VM_ACT_FINISH, VM_HALTED, true, "");

    case VM_OP_HARD_REBOOT:
        if (d == VM_DOMAIN_GONE) {
            p = step(VM_ACT_FINISH, VM_HALTED, false, "its domain is gone");
            p.crashed = was_up;
            return p;
        }
        return step(VM_ACT_RESET, VM_RUNNING, true, "");

    case VM_OP_PAUSE:
    case VM_OP_UNPAUSE:
        if (d == VM_DOMAIN_GONE) {
            p = step(VM_ACT_FINISH, VM_HALTED, false, "its domain is gone");
            p.crashed = was_up;
            return p;
        }
        if (d == VM_DOMAIN_SHUTDOWN) {
            return step(VM_ACT_DESTROY, VM_HALTED, false,
                        "the guest shut down");
        }
        if ((d == VM_DOMAIN_PAUSED) == (target == VM_PAUSED)) {
            return step(VM_ACT_FINISH, target, true, "");
        }
        return step(s->op == VM_OP_PAUSE ? VM_ACT_PAUSE : VM_ACT_UNPAUSE,
                    target, true, "");

    case VM_OP_POOL_MIGRATE:
        /* The migration agent (mgmt/migrate.c) moves the domain. */
        return step(VM_ACT_NONE, s->observed, true, "");
    }
    return step(VM_ACT_NONE, s->observed, true, "");
}

/* Helpers. */

static struct vm_plan
step(enum vm_action action, enum vm_power_state state, bool success,
     const char *why)
{
    return (struct vm_plan){
        .action = action, .state = state, .success = success, .why = why};
}

static bool
has_domain(enum vm_domain_state domain)
{
    return domain != VM_DOMAIN_GONE;
}

/* The power state 's''s operation leads to: a start or resume leads to the
 * desired state (Paused when started paused). */
static enum vm_power_state
target_of(const struct vm_situation *s)
{
    if ((s->op == VM_OP_START || s->op == VM_OP_RESUME)
        && s->desired == VM_PAUSED) {
        return VM_PAUSED;
    }
    return vm_operation_result(s->op);
}
