/*
 * Unit tests of the desired fabric (datapath/fabric.c): which bridges,
 * ports and interfaces a host's records call for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "tests/unit/fixture.h"

#define HOST "11111111-1111-4111-8111-111111111111"
#define OTHER "22222222-2222-4222-8222-222222222222"
#define NET1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define NET2 "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define PIF1 "cccccccc-cccc-4ccc-8ccc-cccccccccccc"

/* Records of one host with eth0 on NET1 (MTU 9000) plus whatever 'pifs'
 * adds, as JSON text with single quotes. */
static struct json_object *
records(const char *extra_pifs)
{
    struct json_object *r = fixture_json(
        "{'network': {"
        "  '" NET1 "': {'bridge': 'xenbr0', 'MTU': 9000},"
        "  '" NET2 "': {'bridge': 'xenbr1', 'MTU': 1500}},"
        " 'PIF': {"
        "  '" PIF1 "': {'device': 'eth0', 'host': '" HOST "',"
        "    'network': '" NET1 "', 'currently_attached': true,"
        "    'VLAN': -1, 'physical': true, 'bond_slave_of': ''}%s}}",
        extra_pifs);
    assert_non_null(r);
    return r;
}

static struct json_object *
path(struct json_object *o, const char *a, const char *b, const char *c,
     const char *d)
{
    const char *keys[] = {a, b, c, d};
    for (size_t i = 0; i < 4 && keys[i] && o; i++) {
        o = json_object_object_get(o, keys[i]);
    }
    return o;
}

/* A plugged PIF brings its network's bridge with two ports: the bridge's
 * own internal port and the NIC, both at the network's MTU, each naming
 * its object in external_ids. */
static void
test_plugged_pif(void **state)
{
    struct json_object *r = records("");
    struct json_object *f = dp_fabric_build(r, HOST, "netdev");
    struct json_object *br = path(f, "bridges", "xenbr0", NULL, NULL);

    assert_non_null(br);
    assert_int_equal(
        json_object_object_length(json_object_object_get(f, "bridges")), 1);
    assert_string_equal(fixture_string(br, "datapath_type"), "netdev");
    assert_string_equal(
        fixture_string(json_object_object_get(br, "external_ids"),
                       "netpool-network"),
        NET1);
    struct json_object *ports = json_object_object_get(br, "ports");
    assert_int_equal(json_object_object_length(ports), 2);

    struct json_object *local =
        path(ports, "xenbr0", "interfaces", "xenbr0", NULL);
    assert_string_equal(fixture_string(local, "type"), "internal");
    assert_int_equal(fixture_int(local, "mtu_request"), 9000);

    struct json_object *nic = path(ports, "eth0", "interfaces", "eth0", NULL);
    assert_string_equal(fixture_string(nic, "type"), "");
    assert_int_equal(fixture_int(nic, "mtu_request"), 9000);
    assert_string_equal(
        fixture_string(path(ports, "eth0", "external_ids", NULL, NULL),
                       "netpool-pif"),
        PIF1);
    json_object_put(f);
    json_object_put(r);
}

/* Unplugged PIFs, PIFs of other hosts, VLAN and bond-member PIFs, and
 * PIFs without a network bring no bridge of their own. */
static void
test_excluded_pifs(void **state)
{
    static const char *const extras[] = {
        ",'p2': {'device': 'eth1', 'host': '" HOST "', 'network': '" NET2
        "', 'currently_attached': false, 'VLAN': -1, 'physical': true,"
        " 'bond_slave_of': ''}",
        ",'p2': {'device': 'eth1', 'host': '" OTHER "', 'network': '" NET2
        "', 'currently_attached': true, 'VLAN': -1, 'physical': true,"
        " 'bond_slave_of': ''}",
        ",'p2': {'device': 'eth1', 'host': '" HOST "', 'network': '" NET2
        "', 'currently_attached': true, 'VLAN': 10, 'physical': false,"
        " 'bond_slave_of': ''}",
        ",'p2': {'device': 'eth1', 'host': '" HOST "', 'network': '" NET2
        "', 'currently_attached': true, 'VLAN': -1, 'physical': true,"
        " 'bond_slave_of': 'some-bond'}",
        ",'p2': {'device': 'eth1', 'host': '" HOST "', 'network': '',"
        " 'currently_attached': true, 'VLAN': -1, 'physical': true,"
        " 'bond_slave_of': ''}",
    };

    for (size_t i = 0; i < sizeof extras / sizeof *extras; i++) {
        struct json_object *r = records(extras[i]);
        struct json_object *f = dp_fabric_build(r, HOST, "system");
        struct json_object *bridges = json_object_object_get(f, "bridges");
        assert_int_equal(json_object_object_length(bridges), 1);
        assert_null(json_object_object_get(bridges, "xenbr1"));
        assert_string_equal(
            fixture_string(json_object_object_get(bridges, "xenbr0"),
                           "datapath_type"),
            "system");
        json_object_put(f);
        json_object_put(r);
    }
}

/* The same records give the same fabric: the reconciler's idempotence
 * starts here. */
static void
test_deterministic(void **state)
{
    struct json_object *r = records(
        ",'p2': {'device': 'eth1', 'host': '" HOST "', 'network': '" NET2
        "', 'currently_attached': true, 'VLAN': -1, 'physical': true,"
        " 'bond_slave_of': ''}");
    struct json_object *a = dp_fabric_build(r, HOST, "netdev");
    struct json_object *b = dp_fabric_build(r, HOST, "netdev");

    assert_true(json_object_equal(a, b));
    assert_non_null(path(a, "bridges", "xenbr1", "ports", "eth1"));
    assert_int_equal(fixture_int(path(a, "bridges", "xenbr1", "ports", "eth1"),
                                 "bond_updelay"),
                     0);
    json_object_put(a);
    json_object_put(b);
    json_object_put(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugged_pif),
        cmocka_unit_test(test_excluded_pifs),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
