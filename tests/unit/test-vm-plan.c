/*
 * Unit tests of the controller's decisions (vm_plan_next()): what it does
 * with no operation (a domain that crashed, shut down or was paused by
 * itself, a domain nothing accounts for, a desired state to converge
 * onto), the steps of every operation, and after a restart which
 * operations complete, which roll back and which run again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vm/vm.h"

/* A situation: operation (or none), desired, observed, domain. */
static struct vm_situation
at(bool busy, enum vm_operation op, enum vm_power_state desired,
   enum vm_power_state observed, enum vm_domain_state domain)
{
    return (struct vm_situation){.busy = busy,
                                 .op = op,
                                 .desired = desired,
                                 .observed = observed,
                                 .domain = domain};
}

/* Asserts that 's' plans 'action' towards 'state', succeeding or not. */
static void
expect(struct vm_situation s, enum vm_action action, enum vm_power_state state,
       bool success)
{
    struct vm_plan p = vm_plan_next(&s);

    if (p.action != action || p.state != state || p.success != success) {
        fail_msg(
            "op %s busy %d desired %s observed %s domain %s: got %s "
            "%s %s, want %s %s %s",
            vm_operation_name(s.op), s.busy, vm_power_state_name(s.desired),
            vm_power_state_name(s.observed), vm_domain_state_name(s.domain),
            vm_action_name(p.action), vm_power_state_name(p.state),
            p.success ? "ok" : "fail", vm_action_name(action),
            vm_power_state_name(state), success ? "ok" : "fail");
    }
}

/* Nothing asked: the domain's own changes are recorded. */
static void
test_idle(void **state)
{
    (void) state;
    /* Converged. */
    expect(at(false, 0, VM_RUNNING, VM_RUNNING, VM_DOMAIN_RUNNING),
           VM_ACT_NONE, VM_RUNNING, true);
    expect(at(false, 0, VM_HALTED, VM_HALTED, VM_DOMAIN_GONE), VM_ACT_NONE,
           VM_HALTED, true);
    expect(at(false, 0, VM_SUSPENDED, VM_SUSPENDED, VM_DOMAIN_GONE),
           VM_ACT_NONE, VM_SUSPENDED, true);

    /* A domain gone without being asked: a crash. */
    struct vm_situation s =
        at(false, 0, VM_RUNNING, VM_RUNNING, VM_DOMAIN_GONE);
    struct vm_plan p = vm_plan_next(&s);
    assert_int_equal(p.action, VM_ACT_FINISH);
    assert_int_equal(p.state, VM_HALTED);
    assert_true(p.crashed);
    s = at(false, 0, VM_PAUSED, VM_PAUSED, VM_DOMAIN_GONE);
    assert_true(vm_plan_next(&s).crashed);

    /* The guest powered off: its domain ends, no crash. */
    s = at(false, 0, VM_RUNNING, VM_RUNNING, VM_DOMAIN_SHUTDOWN);
    p = vm_plan_next(&s);
    assert_int_equal(p.action, VM_ACT_DESTROY);
    assert_int_equal(p.state, VM_HALTED);
    assert_false(p.crashed);

    /* Paused or continued by something else. */
    expect(at(false, 0, VM_RUNNING, VM_RUNNING, VM_DOMAIN_PAUSED),
           VM_ACT_FINISH, VM_PAUSED, true);
    expect(at(false, 0, VM_PAUSED, VM_PAUSED, VM_DOMAIN_RUNNING),
           VM_ACT_FINISH, VM_RUNNING, true);

    /* A domain that no state accounts for ends. */
    expect(at(false, 0, VM_HALTED, VM_HALTED, VM_DOMAIN_RUNNING),
           VM_ACT_DESTROY, VM_HALTED, true);
    expect(at(false, 0, VM_SUSPENDED, VM_SUSPENDED, VM_DOMAIN_PAUSED),
           VM_ACT_DESTROY, VM_SUSPENDED, true);

    /* A desired state without an operation: converged onto as the
     * operation that leads there would. */
    expect(at(false, 0, VM_RUNNING, VM_HALTED, VM_DOMAIN_GONE), VM_ACT_LAUNCH,
           VM_RUNNING, true);
    expect(at(false, 0, VM_HALTED, VM_RUNNING, VM_DOMAIN_RUNNING),
           VM_ACT_DESTROY, VM_HALTED, true);
    expect(at(false, 0, VM_PAUSED, VM_RUNNING, VM_DOMAIN_RUNNING),
           VM_ACT_PAUSE, VM_PAUSED, true);

    /* Unless no host runs it and no operation moves it (a protected VM
     * whose domain ended, left desired Running for HA to place). */
    s = at(false, 0, VM_RUNNING, VM_HALTED, VM_DOMAIN_GONE);
    s.unplaced = true;
    expect(s, VM_ACT_NONE, VM_HALTED, true);
}

/* The steps of each operation from where it starts. */
static void
test_operations(void **state)
{
    (void) state;
    expect(at(true, VM_OP_START, VM_RUNNING, VM_HALTED, VM_DOMAIN_GONE),
           VM_ACT_LAUNCH, VM_RUNNING, true);
    expect(at(true, VM_OP_START, VM_PAUSED, VM_HALTED, VM_DOMAIN_GONE),
           VM_ACT_LAUNCH, VM_PAUSED, true);
    expect(at(true, VM_OP_CLEAN_SHUTDOWN, VM_HALTED, VM_RUNNING,
              VM_DOMAIN_RUNNING),
           VM_ACT_POWER_BUTTON, VM_HALTED, true);
    struct vm_situation s = at(true, VM_OP_CLEAN_SHUTDOWN, VM_HALTED,
                               VM_RUNNING, VM_DOMAIN_RUNNING);
    s.button_pressed = true;
    expect(s, VM_ACT_NONE, VM_HALTED, true); /* Waits for the guest. */
    s.domain = VM_DOMAIN_SHUTDOWN;
    expect(s, VM_ACT_DESTROY, VM_HALTED, true);
    s.domain = VM_DOMAIN_GONE;
    expect(s, VM_ACT_FINISH, VM_HALTED, true);

    s = at(true, VM_OP_CLEAN_REBOOT, VM_RUNNING, VM_RUNNING,
           VM_DOMAIN_SHUTDOWN);
    s.button_pressed = true;
    expect(s, VM_ACT_RESET, VM_RUNNING, true);
    s.domain = VM_DOMAIN_GONE;
    expect(s, VM_ACT_FINISH, VM_HALTED, false);

    expect(
        at(true, VM_OP_HARD_SHUTDOWN, VM_HALTED, VM_PAUSED, VM_DOMAIN_PAUSED),
        VM_ACT_DESTROY, VM_HALTED, true);
    expect(
        at(true, VM_OP_HARD_SHUTDOWN, VM_HALTED, VM_SUSPENDED, VM_DOMAIN_GONE),
        VM_ACT_FINISH, VM_HALTED, true);
    expect(
        at(true, VM_OP_HARD_REBOOT, VM_RUNNING, VM_PAUSED, VM_DOMAIN_PAUSED),
        VM_ACT_RESET, VM_RUNNING, true);
    expect(at(true, VM_OP_PAUSE, VM_PAUSED, VM_RUNNING, VM_DOMAIN_RUNNING),
           VM_ACT_PAUSE, VM_PAUSED, true);
    expect(at(true, VM_OP_UNPAUSE, VM_RUNNING, VM_PAUSED, VM_DOMAIN_PAUSED),
           VM_ACT_UNPAUSE, VM_RUNNING, true);
    expect(at(true, VM_OP_UNPAUSE, VM_RUNNING, VM_PAUSED, VM_DOMAIN_RUNNING),
           VM_ACT_FINISH, VM_RUNNING, true);
    expect(
        at(true, VM_OP_SUSPEND, VM_SUSPENDED, VM_RUNNING, VM_DOMAIN_RUNNING),
        VM_ACT_SUSPEND, VM_SUSPENDED, true);
    expect(at(true, VM_OP_POWER_STATE_RESET, VM_HALTED, VM_RUNNING,
              VM_DOMAIN_RUNNING),
           VM_ACT_DESTROY, VM_HALTED, true);

    /* Resume needs the saved state. */
    s = at(true, VM_OP_RESUME, VM_RUNNING, VM_SUSPENDED, VM_DOMAIN_GONE);
    expect(s, VM_ACT_FINISH, VM_SUSPENDED, false);
    s.saved_state = true;
    expect(s, VM_ACT_LAUNCH_RESUME, VM_RUNNING, true);

    /* A domain that dies under an operation. */
    s = at(true, VM_OP_PAUSE, VM_PAUSED, VM_RUNNING, VM_DOMAIN_GONE);
    struct vm_plan p = vm_plan_next(&s);
    assert_false(p.success);
    assert_true(p.crashed);
    assert_int_equal(p.state, VM_HALTED);
}

/* After a restart: complete what the domain shows done, roll back a start,
 * resume or suspend that cannot be completed, run the others again. */
static void
test_recovery(void **state)
{
    struct vm_situation s;
    (void) state;

    /* Start: the domain came up before the stop, or it did not. */
    s = at(true, VM_OP_START, VM_RUNNING, VM_HALTED, VM_DOMAIN_RUNNING);
    s.recovering = true;
    expect(s, VM_ACT_FINISH, VM_RUNNING, true);
    s.domain = VM_DOMAIN_GONE;
    expect(s, VM_ACT_FINISH, VM_HALTED, false);

    /* Suspend: the state file is complete (QEMU may still be there), or
     * the save is cut short and the domain continues, or the domain died
     * without a complete state. */
    s = at(true, VM_OP_SUSPEND, VM_SUSPENDED, VM_RUNNING, VM_DOMAIN_PAUSED);
    s.recovering = true;
    expect(s, VM_ACT_ABORT_SUSPEND, VM_RUNNING, false);
    s.saved_state = true;
    expect(s, VM_ACT_DESTROY, VM_SUSPENDED, true);
    s.domain = VM_DOMAIN_GONE;
    expect(s, VM_ACT_FINISH, VM_SUSPENDED, true);
    s.saved_state = false;
    expect(s, VM_ACT_FINISH, VM_HALTED, false);

    /* Resume: the saved state stays until the domain runs. */
    s = at(true, VM_OP_RESUME, VM_RUNNING, VM_SUSPENDED, VM_DOMAIN_GONE);
    s.recovering = true;
    s.saved_state = true;
    expect(s, VM_ACT_FINISH, VM_SUSPENDED, false);
    s.domain = VM_DOMAIN_PAUSED;
    expect(s, VM_ACT_UNPAUSE, VM_RUNNING, true);

    /* Clean shutdown: the guest was told, or is told again. */
    s = at(true, VM_OP_CLEAN_SHUTDOWN, VM_HALTED, VM_RUNNING,
           VM_DOMAIN_RUNNING);
    s.recovering = true;
    expect(s, VM_ACT_POWER_BUTTON, VM_HALTED, true);
    s.domain = VM_DOMAIN_GONE;
    expect(s, VM_ACT_FINISH, VM_HALTED, true);

    /* Hard shutdown and reset: ending a domain is always done. */
    s = at(true, VM_OP_HARD_SHUTDOWN, VM_HALTED, VM_RUNNING,
           VM_DOMAIN_RUNNING);
    s.recovering = true;
    expect(s, VM_ACT_DESTROY, VM_HALTED, true);
}

static void
test_operation_between(void **state)
{
    enum vm_operation op;
    (void) state;

    assert_true(vm_operation_between(VM_HALTED, VM_RUNNING, &op));
    assert_int_equal(op, VM_OP_START);
    assert_true(vm_operation_between(VM_SUSPENDED, VM_RUNNING, &op));
    assert_int_equal(op, VM_OP_RESUME);
    assert_true(vm_operation_between(VM_PAUSED, VM_HALTED, &op));
    assert_int_equal(op, VM_OP_HARD_SHUTDOWN);
    assert_true(vm_operation_between(VM_RUNNING, VM_SUSPENDED, &op));
    assert_int_equal(op, VM_OP_SUSPEND);
    assert_false(vm_operation_between(VM_HALTED, VM_SUSPENDED, &op));
    assert_false(vm_operation_between(VM_RUNNING, VM_RUNNING, &op));

    assert_true(vm_operation_parse("clean_shutdown", &op));
    assert_int_equal(op, VM_OP_CLEAN_SHUTDOWN);
    assert_false(vm_operation_parse("copy", &op));
    assert_true(vm_operation_waits(VM_OP_RESUME));
    assert_false(vm_operation_waits(VM_OP_PAUSE));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle),
        cmocka_unit_test(test_operations),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_operation_between),
    };
    return cmocka_run_group_tests_name("vm-plan", tests, NULL, NULL);
}
