/*
 * Unit tests of roles (mgmt/rbac.c): the ranking of xapi's six roles and
 * the least role each kind of method needs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mgmt/mgmt.h"

static const char *const roles[] = {
    "read-only",      "vm-operator",   "vm-admin",
    "vm-power-admin", "pool-operator", "pool-admin",
};
#define N_ROLES (sizeof roles / sizeof *roles)

/* Roles rank from read-only (0) to pool-admin (5); anything else is
 * -1. */
static void
test_role_rank(void **state)
{
    (void) state;

    for (size_t i = 0; i < N_ROLES; i++) {
        assert_int_equal(rbac_role_rank(roles[i]), (int) i);
    }
    assert_int_equal(rbac_role_rank(""), -1);
    assert_int_equal(rbac_role_rank("root"), -1);
    assert_int_equal(rbac_role_rank("Pool-Admin"), -1);
    assert_int_equal(rbac_role_rank("pool-admin "), -1);
}

/* The least role of each kind of method, from its name alone. */
static void
test_required_role(void **state)
{
    (void) state;
    static const struct {
        const char *method;
        const char *role;
    } cases[] = {
        {"network.get_record", "read-only"},
        {"network.get_all", "read-only"},
        {"PIF.get_MTU", "read-only"},
        {"user.get_record", "read-only"},
        {"user.get_all_records", "read-only"},
        {"event.from", "read-only"},
        {"session.logout", "read-only"},
        {"session.change_password", "read-only"},
        {"session.get_this_user", "read-only"},
        {"network.create", "pool-operator"},
        {"network.destroy", "pool-operator"},
        {"network.set_name_label", "pool-operator"},
        {"network.add_to_other_config", "pool-operator"},
        {"PIF.set_other_config", "pool-operator"},
        {"host.set_name_label", "pool-operator"},
        {"pool.set_name_label", "pool-operator"},
        {"task.cancel", "pool-operator"},
        {"task.destroy", "pool-operator"},
        {"message.destroy", "pool-operator"},
        {"user.create", "pool-admin"},
        {"user.destroy", "pool-admin"},
        {"user.set_role", "pool-admin"},
        {"VM.start", "vm-admin"},
        {"VM.set_name_label", "vm-admin"},
        {"VIF.create", "vm-admin"},
        {"VM.get_record", "read-only"},
        {"unknown.frobnicate", "pool-operator"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *role = rbac_required_role(cases[i].method);
        if (strcmp(role, cases[i].role)) {
            fail_msg("%s needs %s, not %s", cases[i].method, cases[i].role,
                     role);
        }
    }
}

/* A role may call a method if it ranks at least as high as the method's
 * least role; an unknown role may call nothing, not even reads. */
static void
test_allows(void **state)
{
    (void) state;
    static const char *const methods[] = {
        "network.get_record", "event.from",  "VM.start",     "network.create",
        "task.cancel",        "user.create", "user.destroy",
    };

    for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
        int need = rbac_role_rank(rbac_required_role(methods[m]));
        assert_true(need >= 0);
        for (size_t r = 0; r < N_ROLES; r++) {
            bool expected = (int) r >= need;
            if (rbac_allows(roles[r], methods[m]) != expected) {
                fail_msg("%s %s call %s", roles[r],
                         expected ? "should" : "should not", methods[m]);
            }
        }
        assert_false(rbac_allows("", methods[m]));
        assert_false(rbac_allows("superuser", methods[m]));
    }

    /* Spot checks that do not depend on the table above. */
    assert_true(rbac_allows("read-only", "network.get_all"));
    assert_false(rbac_allows("read-only", "network.create"));
    assert_false(rbac_allows("vm-power-admin", "network.create"));
    assert_true(rbac_allows("pool-operator", "network.create"));
    assert_false(rbac_allows("pool-operator", "user.create"));
    assert_true(rbac_allows("pool-admin", "user.create"));
    assert_true(rbac_allows("vm-admin", "VIF.create"));
    assert_false(rbac_allows("vm-operator", "VIF.create"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_rank),
        cmocka_unit_test(test_required_role),
        cmocka_unit_test(test_allows),
    };
    return cmocka_run_group_tests_name("rbac", tests, NULL, NULL);
}
