/*
 * Unit tests of the rollback decision of a management change
 * (mgmt/mgmt-rollback.h): the time limit from host other_config, and
 * when a change is kept, waited on or restored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mgmt/mgmt-rollback.h"

static void
test_timeout(void **state)
{
    (void) state;
    assert_int_equal(mgmt_rollback_timeout(NULL), 30);
    assert_int_equal(mgmt_rollback_timeout(""), 30);
    assert_int_equal(mgmt_rollback_timeout("5"), 5);
    assert_int_equal(mgmt_rollback_timeout("2"), 2);
    assert_int_equal(mgmt_rollback_timeout("300"), 300);
    assert_int_equal(mgmt_rollback_timeout("1"), 30);
    assert_int_equal(mgmt_rollback_timeout("301"), 30);
    assert_int_equal(mgmt_rollback_timeout("-5"), 30);
    assert_int_equal(mgmt_rollback_timeout("5s"), 30);
    assert_int_equal(mgmt_rollback_timeout(" 5"), 30);
    assert_int_equal(mgmt_rollback_timeout("99999999999999999999"), 30);
    assert_true(mgmt_rollback_timeout_valid("10"));
    assert_false(mgmt_rollback_timeout_valid("ten"));
    assert_false(mgmt_rollback_timeout_valid(NULL));
}

/* With a gateway, only the gateway's answer keeps the change. */
static void
test_gateway(void **state)
{
    (void) state;
    struct mgmt_rollback_change change = {.has_address = true,
                                          .has_gateway = true,
                                          .start_ms = 1000,
                                          .timeout_s = 5};
    struct mgmt_rollback_probe none = {false, false};
    struct mgmt_rollback_probe other = {.any_answered = true};
    struct mgmt_rollback_probe gateway = {.gateway_answered = true,
                                          .any_answered = true};

    assert_int_equal(mgmt_rollback_decide(&change, &none, 1000),
                     MGMT_ROLLBACK_WAIT);
    assert_int_equal(mgmt_rollback_decide(&change, &none, 5999),
                     MGMT_ROLLBACK_WAIT);
    assert_int_equal(mgmt_rollback_decide(&change, &none, 6000),
                     MGMT_ROLLBACK_RESTORE);
    assert_int_equal(mgmt_rollback_decide(&change, &other, 3000),
                     MGMT_ROLLBACK_WAIT);
    assert_int_equal(mgmt_rollback_decide(&change, &other, 7000),
                     MGMT_ROLLBACK_RESTORE);
    assert_int_equal(mgmt_rollback_decide(&change, &gateway, 2000),
                     MGMT_ROLLBACK_KEEP);
    /* An answer that arrives late still counts when seen. */
    assert_int_equal(mgmt_rollback_decide(&change, &gateway, 9000),
                     MGMT_ROLLBACK_KEEP);
}

/* Without a gateway, any answer on the subnet keeps the change. */
static void
test_no_gateway(void **state)
{
    (void) state;
    struct mgmt_rollback_change change = {.has_address = true,
                                          .has_gateway = false,
                                          .start_ms = 0,
                                          .timeout_s = 30};
    struct mgmt_rollback_probe none = {false, false};
    struct mgmt_rollback_probe other = {.any_answered = true};

    assert_int_equal(mgmt_rollback_decide(&change, &none, 29999),
                     MGMT_ROLLBACK_WAIT);
    assert_int_equal(mgmt_rollback_decide(&change, &none, 30000),
                     MGMT_ROLLBACK_RESTORE);
    assert_int_equal(mgmt_rollback_decide(&change, &other, 100),
                     MGMT_ROLLBACK_KEEP);
}

/* A disabled management interface has nothing to probe. */
static void
test_disabled(void **state)
{
    (void) state;
    struct mgmt_rollback_change change = {.has_address = false,
                                          .has_gateway = false,
                                          .start_ms = 0,
                                          .timeout_s = 2};
    struct mgmt_rollback_probe none = {false, false};

    assert_int_equal(mgmt_rollback_decide(&change, &none, 0),
                     MGMT_ROLLBACK_KEEP);
    assert_int_equal(mgmt_rollback_decide(&change, &none, 100000),
                     MGMT_ROLLBACK_KEEP);
}

static void
test_message(void **state)
{
    (void) state;
    char *body =
        mgmt_rollback_message_body("pif-1", "198.18.0.11", "198.18.0.21");
    assert_non_null(strstr(body, "pif-1"));
    assert_non_null(strstr(body, "198.18.0.11"));
    assert_non_null(strstr(body, "198.18.0.21"));
    free(body);
    body = mgmt_rollback_message_body("pif-2", "198.18.0.11", "");
    assert_non_null(strstr(body, "(none)"));
    free(body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout),    cmocka_unit_test(test_gateway),
        cmocka_unit_test(test_no_gateway), cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_message),
    };
    return cmocka_run_group_tests_name("mgmt-rollback", tests, NULL, NULL);
}
