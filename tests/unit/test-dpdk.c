/*
 * Unit tests of the host datapath's pure decisions (datapath/datapath.h):
 * the datapath a host record asks for and the bridge type it maps to, the
 * Open_vSwitch other_config a dpdk host wants, and the hugepage check
 * (socket memory asked for, free hugepages in /proc/meminfo, the
 * hugetlbfs mount, HOST_HUGEPAGES_INSUFFICIENT with its parameters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datapath/datapath.h"
#include "lib/error.h"
#include "tests/unit/fixture.h"

#define HOST "0123abcd-0000-4000-8000-000000000001"
#define MIB (INT64_C(1024) * 1024)

static void
test_host_datapath(void **state)
{
    struct json_object *records = fixture_json(
        "{'host': {'%s': {'datapath': 'dpdk'}, 'other': {}}}", HOST);

    assert_string_equal(dp_host_datapath(records, HOST), "dpdk");
    /* A record without the field, and a host that is not there, are
     * netdev. */
    assert_string_equal(dp_host_datapath(records, "other"), "netdev");
    assert_string_equal(dp_host_datapath(records, "missing"), "netdev");

    assert_string_equal(dp_datapath_type("dpdk", "netdev"), "netdev");
    assert_string_equal(dp_datapath_type("system", "netdev"), "system");
    assert_string_equal(dp_datapath_type("netdev", "netdev"), "netdev");
    /* netdev follows netpoold's --datapath-type. */
    assert_string_equal(dp_datapath_type("netdev", "system"), "system");
    json_object_put(records);
}

static void
test_dpdk_build_defaults(void **state)
{
    struct json_object *records =
        fixture_json("{'host': {'%s': {'datapath': 'dpdk'}}}", HOST);
    struct json_object *want = dp_dpdk_build(records, HOST, "/dev/hugepages");

    assert_string_equal(fixture_string(want, "dpdk-init"), "true");
    assert_string_equal(fixture_string(want, "dpdk-socket-mem"),
                        DP_DPDK_SOCKET_MEM);
    assert_string_equal(fixture_string(want, "dpdk-lcore-mask"),
                        DP_DPDK_LCORE_MASK);
    assert_string_equal(fixture_string(want, "pmd-cpu-mask"),
                        DP_DPDK_PMD_MASK);
    assert_string_equal(fixture_string(want, "dpdk-extra"),
                        "--no-pci --huge-dir=/dev/hugepages "
                        "--file-prefix=netpool-0123abcd");
    assert_int_equal(json_object_object_length(want), 5);
    json_object_put(want);
    json_object_put(records);
}

static void
test_dpdk_build_overrides(void **state)
{
    struct json_object *records =
        fixture_json("{'host': {'%s': {'datapath': 'dpdk', 'other_config': "
                     "{'dpdk-socket-mem': '256,0', 'pmd-cpu-mask': '0x6', "
                     "'dpdk-extra': '--no-pci', 'unrelated': 'x'}}}}",
                     HOST);
    struct json_object *want = dp_dpdk_build(records, HOST, "/mnt/huge");

    assert_string_equal(fixture_string(want, "dpdk-socket-mem"), "256,0");
    assert_string_equal(fixture_string(want, "pmd-cpu-mask"), "0x6");
    assert_string_equal(fixture_string(want, "dpdk-lcore-mask"),
                        DP_DPDK_LCORE_MASK);
    assert_string_equal(fixture_string(want, "dpdk-extra"), "--no-pci");
    assert_null(fixture_string(want, "unrelated"));
    json_object_put(want);
    json_object_put(records);
}

static void
test_dpdk_build_other_datapaths(void **state)
{
    static const char *const datapaths[] = {"netdev", "system", ""};

    for (size_t i = 0; i < sizeof datapaths / sizeof *datapaths; i++) {
        struct json_object *records =
            fixture_json("{'host': {'%s': {'datapath': '%s', 'other_config': "
                         "{'dpdk-socket-mem': '256'}}}}",
                         HOST, datapaths[i]);
        struct json_object *want = dp_dpdk_build(records, HOST, NULL);
        /* Nothing wanted: the apply step removes netpool's keys. */
        assert_int_equal(json_object_object_length(want), 0);
        json_object_put(want);
        json_object_put(records);
    }
}

static void
test_hugepages_needed(void **state)
{
    assert_int_equal(dp_hugepages_needed("512"), 512 * MIB);
    assert_int_equal(dp_hugepages_needed("512,256"), 768 * MIB);
    assert_int_equal(dp_hugepages_needed("0"), 0);
    assert_int_equal(dp_hugepages_needed(""), -1);
    assert_int_equal(dp_hugepages_needed(NULL), -1);
    assert_int_equal(dp_hugepages_needed("512,"), -1);
    assert_int_equal(dp_hugepages_needed(",512"), -1);
    assert_int_equal(dp_hugepages_needed("-1"), -1);
    assert_int_equal(dp_hugepages_needed("1G"), -1);
    assert_int_equal(dp_hugepages_needed("99999999999999999999"), -1);
}

static void
test_hugepages_free_meminfo(void **state)
{
    static const char meminfo[] = "MemTotal:       24683520 kB\n"
                                  "HugePages_Total:     300\n"
                                  "HugePages_Free:      200\n"
                                  "HugePages_Rsvd:        0\n"
                                  "Hugepagesize:       2048 kB\n";

    assert_int_equal(dp_hugepages_free_meminfo(meminfo), 400 * MIB);
    assert_int_equal(dp_hugepages_free_meminfo("HugePages_Free: 0\n"
                                               "Hugepagesize: 2048 kB\n"),
                     0);
    assert_int_equal(dp_hugepages_free_meminfo("MemTotal: 1 kB\n"), 0);
    assert_int_equal(dp_hugepages_free_meminfo(""), 0);
}

static void
test_hugepages_mount(void **state)
{
    char *dir = dp_hugepages_mount(
        "proc /proc proc rw 0 0\n"
        "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
        "none /mnt/huge hugetlbfs rw 0 0\n");

    assert_string_equal(dir, "/dev/hugepages");
    free(dir);
    assert_null(dp_hugepages_mount("proc /proc proc rw 0 0\n"));
    assert_null(dp_hugepages_mount(""));
}

static void
test_hugepages_check(void **state)
{
    assert_null(dp_hugepages_check(512 * MIB, 512 * MIB));
    assert_null(dp_hugepages_check(0, 0));

    struct np_error *error = dp_hugepages_check(512 * MIB, 256 * MIB);
    assert_non_null(error);
    assert_string_equal(error->code, ERR_HOST_HUGEPAGES_INSUFFICIENT);
    assert_int_equal(error->n_params, 2);
    assert_string_equal(error->params[0], "536870912");
    assert_string_equal(error->params[1], "268435456");
    np_error_destroy(error);

    /* An unreadable count reports nothing free, never a negative size. */
    error = dp_hugepages_check(2 * MIB, -1);
    assert_non_null(error);
    assert_string_equal(error->params[1], "0");
    np_error_destroy(error);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_datapath),
        cmocka_unit_test(test_dpdk_build_defaults),
        cmocka_unit_test(test_dpdk_build_overrides),
        cmocka_unit_test(test_dpdk_build_other_datapaths),
        cmocka_unit_test(test_hugepages_needed),
        cmocka_unit_test(test_hugepages_free_meminfo),
        cmocka_unit_test(test_hugepages_mount),
        cmocka_unit_test(test_hugepages_check),
    };
    return cmocka_run_group_tests_name("dpdk", tests, NULL, NULL);
}
