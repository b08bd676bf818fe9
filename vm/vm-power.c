/*
 * The power-state machine: which operation a VM accepts in which power
 * state, and where it leaves it.  xapi's rules: start from Halted; clean
 * shutdown, clean reboot, pause and suspend from Running; hard shutdown
 * from anything but Halted; hard reboot from Running or Paused; unpause
 * from Paused; resume from Suspended; power_state_reset from anything;
 * pool_migrate from Running.
 * Pure.
 */
#include "vm/vm.h"

#include <string.h>

#include "lib/error.h"

/* Bit of power state 's' in a set of states. */
#define S(s) (1u << (s))

static const struct {
    const char *name;       /* xapi method name. */
    unsigned int from;      /* States it accepts (S() bits). */
    enum vm_power_state to; /* State after it. */
} operations[VM_N_OPERATIONS] = {
    [VM_OP_START] = {"start", S(VM_HALTED), VM_RUNNING},
    [VM_OP_CLEAN_SHUTDOWN] = {"clean_shutdown", S(VM_RUNNING), VM_HALTED},
    [VM_OP_HARD_SHUTDOWN] = {"hard_shutdown",
                             S(VM_RUNNING) | S(VM_PAUSED) | S(VM_SUSPENDED),
                             VM_HALTED},
    [VM_OP_CLEAN_REBOOT] = {"clean_reboot", S(VM_RUNNING), VM_RUNNING},
    [VM_OP_HARD_REBOOT] = {"hard_reboot", S(VM_RUNNING) | S(VM_PAUSED),
                           VM_RUNNING},
    [VM_OP_PAUSE] = {"pause", S(VM_RUNNING), VM_PAUSED},
    [VM_OP_UNPAUSE] = {"unpause", S(VM_PAUSED), VM_RUNNING},
    [VM_OP_SUSPEND] = {"suspend", S(VM_RUNNING), VM_SUSPENDED},
    [VM_OP_RESUME] = {"resume", S(VM_SUSPENDED), VM_RUNNING},
    [VM_OP_POWER_STATE_RESET] = {"power_state_reset",
                                 S(VM_HALTED) | S(VM_RUNNING) | S(VM_PAUSED)
                                     | S(VM_SUSPENDED),
                                 VM_HALTED},
    [VM_OP_POOL_MIGRATE] = {"pool_migrate", S(VM_RUNNING), VM_RUNNING},
};

static const char *const state_names[] = {
    [VM_HALTED] = "Halted",
    [VM_RUNNING] = "Running",
    [VM_PAUSED] = "Paused",
    [VM_SUSPENDED] = "Suspended",
};

const char *
vm_power_state_name(enum vm_power_state state)
{
    return state <= VM_SUSPENDED ? state_names[state] : "Halted";
}

bool
vm_power_state_parse(const char *name, enum vm_power_state *state)
{
    for (int s = VM_HALTED; s <= VM_SUSPENDED; s++) {
        if (name && !strcmp(name, state_names[s])) {
            *state = s;
            return true;
        }
    }
    return false;
}

const char *
vm_operation_name(enum vm_operation op)
{
    return op < VM_N_OPERATIONS ? operations[op].name : "";
}

struct np_error *
vm_check_operation(enum vm_operation op, enum vm_power_state state,
                   const char *current, const char *vm_uuid)
{
    if (op >= VM_N_OPERATIONS) {
        return np_error_new(ERR_INTERNAL_ERROR, "unknown VM operation", NULL);
    }
    if (current && *current && op != VM_OP_POWER_STATE_RESET) {
        return np_error_new(ERR_OTHER_OPERATION_IN_PROGRESS, "VM", vm_uuid,
                            current, NULL);
    }
    if (operations[op].from & S(state)) {
        return NULL;
    }
    for (int s = VM_HALTED; s <= VM_SUSPENDED; s++) {
        if (operations[op].from & S(s)) {
            return np_error_new(ERR_VM_BAD_POWER_STATE, vm_uuid,
                                state_names[s], vm_power_state_name(state),
                                NULL);
        }
    }
    return NULL;
}

enum vm_power_state
vm_operation_result(enum vm_operation op)
{
    return op < VM_N_OPERATIONS ? operations[op].to : VM_HALTED;
}

bool
vm_operation_parse(const char *name, enum vm_operation *op)
{
    for (int i = 0; i < VM_N_OPERATIONS; i++) {
        if (name && !strcmp(name, operations[i].name)) {
            *op = i;
            return true;
        }
    }
    return false;
}

bool
vm_operation_waits(enum vm_operation op)
{
    return op == VM_OP_CLEAN_SHUTDOWN || op == VM_OP_CLEAN_REBOOT
           || op == VM_OP_RESUME;
}

const char *
vm_domain_state_name(enum vm_domain_state state)
{
    static const char *const names[] = {
        [VM_DOMAIN_GONE] = "gone",
        [VM_DOMAIN_RUNNING] = "running",
        [VM_DOMAIN_PAUSED] = "paused",
        [VM_DOMAIN_SHUTDOWN] = "shutdown",
    };
    return state <= VM_DOMAIN_SHUTDOWN ? names[state] : "";
}
