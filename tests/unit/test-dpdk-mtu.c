/*
 * Unit tests of the MTU limits of DPDK ports (datapath/dpdk-mtu.c): each
 * driver's limit, the checks of a network's MTU (PIFs and bond members
 * on it), of a host becoming dpdk and of a PIF's new devargs, with
 * MTU_EXCEEDS_DEVICE_LIMIT(field, requested, limit, device); and what OVS
 * reports on PIFs (mtu_max, device_error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "datapath/datapath.h"
#include "lib/error.h"
#include "tests/unit/fixture.h"

#define HOST "0123abcd-0000-4000-8000-000000000001"

/* Host HOST in 'datapath' mode: eth1 (af_packet by default) on network n1
 * at 'mtu1', eth2 (net_pcap) on n2 at 'mtu2', and eth3 + eth4 (af_packet)
 * members of bond b1 whose master bond0 is on n3 at 'mtu3'. */
static struct json_object *
records(const char *datapath, int mtu1, int mtu2, int mtu3)
{
    return fixture_json(
        "{'host': {'%s': {'datapath': '%s'}},"
        " 'network': {'n1': {'MTU': %d}, 'n2': {'MTU': %d},"
        "             'n3': {'MTU': %d}},"
        " 'bond': {'b1': {'master': 'p0'}},"
        " 'PIF': {"
        "  'p1': {'host': '%s', 'device': 'eth1', 'physical': true,"
        "         'network': 'n1'},"
        "  'p2': {'host': '%s', 'device': 'eth2', 'physical': true,"
        "         'network': 'n2', 'other_config': {'dpdk-devargs':"
        "         'net_pcap_eth2,iface=eth2'}},"
        "  'p0': {'host': '%s', 'device': 'bond0', 'physical': false,"
        "         'network': 'n3'},"
        "  'p3': {'host': '%s', 'device': 'eth3', 'physical': true,"
        "         'bond_slave_of': 'b1'},"
        "  'p4': {'host': '%s', 'device': 'eth4', 'physical': true,"
        "         'bond_slave_of': 'b1'}}}",
        HOST, datapath, mtu1, mtu2, mtu3, HOST, HOST, HOST, HOST, HOST);
}

static void
assert_mtu_error(struct np_error *error, const char *name,
                 const char *requested, const char *limit, const char *device)
{
    assert_non_null(error);
    assert_string_equal(error->code, ERR_MTU_EXCEEDS_DEVICE_LIMIT);
    assert_int_equal(error->n_params, 4);
    assert_string_equal(error->params[0], name);
    assert_string_equal(error->params[1], requested);
    assert_string_equal(error->params[2], limit);
    assert_string_equal(error->params[3], device);
    np_error_destroy(error);
}

static void
test_limits(void **state)
{
    assert_int_equal(dp_dpdk_mtu_limit("net_af_packet"), 1500);
    assert_int_equal(dp_dpdk_mtu_limit("net_af_packet_eth1,iface=eth1"), 1500);
    assert_int_equal(dp_dpdk_mtu_limit("net_af_xdp0,iface=eth1"), 3542);
    assert_int_equal(dp_dpdk_mtu_limit("net_pcap_eth2,iface=eth2"),
                     DP_DPDK_MTU_MAX);
    assert_int_equal(dp_dpdk_mtu_limit("0000:01:00.0"), DP_DPDK_MTU_MAX);
    assert_int_equal(dp_dpdk_mtu_limit(""), DP_DPDK_MTU_MAX);

    struct json_object *r = records("dpdk", 1500, 1500, 1500);
    assert_int_equal(dp_dpdk_pif_mtu_limit(r, "p1"), 1500);
    assert_int_equal(dp_dpdk_pif_mtu_limit(r, "p2"), DP_DPDK_MTU_MAX);
    assert_int_equal(dp_dpdk_pif_mtu_limit(r, "p0"), 0); /* A bond. */
    assert_int_equal(dp_dpdk_pif_mtu_limit(r, "missing"), 0);
    json_object_put(r);
    r = records("netdev", 1500, 1500, 1500);
    assert_int_equal(dp_dpdk_pif_mtu_limit(r, "p1"), 0);
    json_object_put(r);
}

static void
test_network_mtu(void **state)
{
    struct json_object *r = records("dpdk", 1500, 1500, 1500);

    assert_null(dp_dpdk_check_network_mtu(r, "n1", 1500, "MTU"));
    assert_mtu_error(dp_dpdk_check_network_mtu(r, "n1", 9000, "MTU"), "MTU",
                     "9000", "1500", "eth1");
    /* net_pcap takes jumbo frames. */
    assert_null(dp_dpdk_check_network_mtu(r, "n2", 9000, "MTU"));
    /* A bond's network: its members are the devices. */
    assert_mtu_error(dp_dpdk_check_network_mtu(r, "n3", 1501, "MTU"), "MTU",
                     "1501", "1500", "eth3");
    assert_null(dp_dpdk_check_network_mtu(r, "n3", 1280, "MTU"));
    /* A network no PIF is on. */
    assert_null(dp_dpdk_check_network_mtu(r, "n9", 9000, "MTU"));
    json_object_put(r);

    /* Outside dpdk mode the kernel's NICs set the limits. */
    r = records("netdev", 1500, 1500, 1500);
    assert_null(dp_dpdk_check_network_mtu(r, "n1", 9000, "MTU"));
    assert_null(dp_dpdk_check_network_mtu(r, "n3", 9000, "MTU"));
    json_object_put(r);
}

static void
test_host_mtus(void **state)
{
    struct json_object *r = records("netdev", 1500, 9000, 1500);

    /* eth2 is net_pcap: 9000 is fine. */
    assert_null(dp_dpdk_check_host_mtus(r, HOST, "datapath"));
    json_object_put(r);

    r = records("netdev", 9000, 1500, 1500);
    assert_mtu_error(dp_dpdk_check_host_mtus(r, HOST, "datapath"), "datapath",
                     "9000", "1500", "eth1");
    json_object_put(r);

    r = records("netdev", 1500, 1500, 9000);
    assert_mtu_error(dp_dpdk_check_host_mtus(r, HOST, "datapath"), "datapath",
                     "9000", "1500", "eth3");
    /* The records themselves are left as they were. */
    assert_string_equal(dp_host_datapath(r, HOST), "netdev");
    json_object_put(r);
}

static void
test_devargs_mtu(void **state)
{
    struct json_object *r = records("dpdk", 1500, 9000, 9000);
    const char *name = "other_config:dpdk-devargs";

    /* eth2 carries 9000: back to af_packet is refused, af_xdp too. */
    assert_mtu_error(
        dp_dpdk_check_devargs_mtu(r, "p2", "net_af_packet_x,iface=eth2", name),
        name, "9000", "1500", "eth2");
    assert_mtu_error(
        dp_dpdk_check_devargs_mtu(r, "p2", "net_af_xdp0,iface=eth2", name),
        name, "9000", "3542", "eth2");
    assert_null(dp_dpdk_check_devargs_mtu(r, "p2", "0000:01:00.0", name));
    /* A bond member carries its bond's network. */
    assert_mtu_error(dp_dpdk_check_devargs_mtu(
                         r, "p3", "net_af_packet_eth3,iface=eth3", name),
                     name, "9000", "1500", "eth3");
    assert_null(
        dp_dpdk_check_devargs_mtu(r, "p3", "net_pcap0,iface=eth3", name));
    /* eth1 carries 1500. */
    assert_null(
        dp_dpdk_check_devargs_mtu(r, "p1", "net_af_packet0,iface=eth1", name));
    json_object_put(r);
}

static void
test_pif_status(void **state)
{
    struct json_object *r = records("dpdk", 1500, 9000, 1500);
    struct json_object *observed = fixture_json(
        "{'interfaces': {"
        " 'eth1': {'error': '', 'mtu': 1500,"
        "          'status': {'driver_name': 'net_af_packet'},"
        "          'external_ids': {'netpool-pif': 'p1'}},"
        " 'eth2': {'error': '', 'mtu': 9000,"
        "          'status': {'driver_name': 'net_pcap'},"
        "          'external_ids': {'netpool-pif': 'p2'}},"
        " 'eth3': {'error': 'could not add network device eth3 to ofproto"
        " (Invalid argument)', 'mtu': 0, 'status': {},"
        "          'external_ids': {'netpool-pif': 'p3'}}}}");
    struct json_object *status = dp_dpdk_pif_status(r, HOST, observed);

    struct json_object *p1 = json_object_object_get(status, "p1");
    struct json_object *p2 = json_object_object_get(status, "p2");
    struct json_object *p3 = json_object_object_get(status, "p3");
    struct json_object *p0 = json_object_object_get(status, "p0");
    assert_int_equal(fixture_int(p1, "mtu_max"), 1500);
    assert_string_equal(fixture_string(p1, "device_error"), "");
    assert_int_equal(fixture_int(p2, "mtu_max"), DP_DPDK_MTU_MAX);
    /* No status: the driver its devargs name. */
    assert_int_equal(fixture_int(p3, "mtu_max"), 1500);
    assert_string_equal(
        fixture_string(p3, "device_error"),
        "could not add network device eth3 to ofproto (Invalid argument)");
    /* A bond master is no DPDK port; eth4 has no interface yet. */
    assert_int_equal(fixture_int(p0, "mtu_max"), 0);
    assert_string_equal(
        fixture_string(json_object_object_get(status, "p4"), "device_error"),
        "");
    assert_int_equal(json_object_object_length(status), 5);
    json_object_put(status);

    /* An OVS that runs a port above the table's limit knows better. */
    json_object_object_add(
        json_object_object_get(json_object_object_get(observed, "interfaces"),
                               "eth1"),
        "mtu", json_object_new_int(2000));
    status = dp_dpdk_pif_status(r, HOST, observed);
    assert_int_equal(
        fixture_int(json_object_object_get(status, "p1"), "mtu_max"), 2000);
    json_object_put(status);
    json_object_put(r);

    /* Not in dpdk mode: no limit, errors still shown. */
    r = records("netdev", 1500, 1500, 1500);
    status = dp_dpdk_pif_status(r, HOST, observed);
    assert_int_equal(
        fixture_int(json_object_object_get(status, "p1"), "mtu_max"), 0);
    assert_string_equal(
        fixture_string(json_object_object_get(status, "p3"), "device_error"),
        "could not add network device eth3 to ofproto (Invalid argument)");
    json_object_put(status);
    json_object_put(r);
    json_object_put(observed);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),     cmocka_unit_test(test_network_mtu),
        cmocka_unit_test(test_host_mtus),  cmocka_unit_test(test_devargs_mtu),
        cmocka_unit_test(test_pif_status),
    };
    return cmocka_run_group_tests_name("dpdk-mtu", tests, NULL, NULL);
}
