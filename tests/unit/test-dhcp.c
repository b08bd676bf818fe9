/*
 * Unit tests of the DHCP lease as netpoold reads it from the udhcpc hook's
 * file (mgmt/dhcp.c, mgmt_dhcp_parse_lease()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mgmt/mgmt.h"

/* A full lease, as the hook writes it. */
static void
test_full(void **state)
{
    struct mgmt_dhcp_lease lease;

    (void) state;
    assert_true(mgmt_dhcp_parse_lease("ip=198.18.0.104\n"
                                      "subnet=255.255.255.0\n"
                                      "router=198.18.0.1\n"
                                      "dns=198.18.0.1,198.18.0.2\n",
                                      &lease));
    assert_string_equal(lease.ip, "198.18.0.104");
    assert_string_equal(lease.subnet, "255.255.255.0");
    assert_string_equal(lease.router, "198.18.0.1");
    assert_string_equal(lease.dns, "198.18.0.1,198.18.0.2");
}

/* Without a router or DNS (and without a final newline) the lease still
 * counts; unknown keys and lines without '=' are ignored. */
static void
test_partial(void **state)
{
    struct mgmt_dhcp_lease lease;

    (void) state;
    assert_true(mgmt_dhcp_parse_lease("junk\nlease=3600\nsubnet=255.255.0.0\n"
                                      "router=\nip=198.19.1.2",
                                      &lease));
    assert_string_equal(lease.ip, "198.19.1.2");
    assert_string_equal(lease.subnet, "255.255.0.0");
    assert_string_equal(lease.router, "");
    assert_string_equal(lease.dns, "");

    /* A router that is not an address is dropped, not applied. */
    assert_true(mgmt_dhcp_parse_lease(
        "ip=198.18.0.5\nsubnet=255.255.255.0\nrouter=gw.example\n", &lease));
    assert_string_equal(lease.router, "");
}

/* No address, a bad address, a missing netmask, an empty file, a value
 * too long for its field: no lease. */
static void
test_invalid(void **state)
{
    struct mgmt_dhcp_lease lease;

    (void) state;
    assert_false(mgmt_dhcp_parse_lease("", &lease));
    assert_false(mgmt_dhcp_parse_lease("subnet=255.255.255.0\n", &lease));
    assert_false(mgmt_dhcp_parse_lease("ip=198.18.0.300\n"
                                       "subnet=255.255.255.0\n",
                                       &lease));
    assert_false(mgmt_dhcp_parse_lease("ip=198.18.0.5\n", &lease));
    assert_false(mgmt_dhcp_parse_lease("ip=198.18.0.5 and more text here\n"
                                       "subnet=255.255.255.0\n",
                                       &lease));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_partial),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
