/*
 * Unit tests of bonding/ (member rules, primary member, properties, the
 * OVS mapping, the readers of bond/show and lacp/show and the status
 * decision) and of the pure bond parts of datapath/ (bonds in the desired
 * fabric, the kernel plan for the management address).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <json-c/json.h>

#include "bonding/bonding.h"
#include "datapath/datapath.h"
#include "lib/error.h"
#include "tests/unit/fixture.h"

#define HOST "11111111-1111-4111-8111-111111111111"
#define OTHER "22222222-2222-4222-8222-222222222222"
#define NET "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"     /* Members', 1500. */
#define JUMBO "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"   /* MTU 9000. */
#define BONDNET "cccccccc-cccc-4ccc-8ccc-cccccccccccc" /* The bond's. */
#define BOND "dddddddd-dddd-4ddd-8ddd-dddddddddddd"    /* A bond. */
#define MASTER "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"  /* Its master PIF. */

/* Asserts that 'error' is 'code' with the parameters that follow (a
 * NULL-terminated list), then frees it. */
static void
assert_error(struct np_error *error, const char *code, ...)
{
    va_list args;
    size_t i = 0;

    assert_non_null(error);
    assert_string_equal(error->code, code);
    va_start(args, code);
    for (const char *p = va_arg(args, const char *); p;
         p = va_arg(args, const char *)) {
        assert_true(i < error->n_params);
        assert_string_equal(error->params[i++], p);
    }
    va_end(args);
    assert_int_equal(i, error->n_params);
    np_error_destroy(error);
}

/* PIFs p0…p5 of HOST (eth0…eth5), physical, untagged, on NET, with
 * 'extra' appended inside the object (JSON with single quotes). */
static struct json_object *
pifs(const char *extra)
{
    struct json_object *p = fixture_json(
        "{'p0': {'device': 'eth0', 'host': '" HOST "', 'network': '" NET
        "', 'VLAN': -1, 'physical': true, 'managed': true, 'MTU': 1500,"
        " 'bond_slave_of': '', 'management': false,"
        " 'ip_configuration_mode': 'None', 'MAC': '02:00:00:00:00:00'},"
        " 'p1': {'device': 'eth1', 'host': '" HOST "', 'network': '" NET
        "', 'VLAN': -1, 'physical': true, 'managed': true, 'MTU': 1500,"
        " 'bond_slave_of': '', 'management': false,"
        " 'ip_configuration_mode': 'None', 'MAC': '02:00:00:00:00:01'},"
        " 'p2': {'device': 'eth2', 'host': '" HOST "', 'network': '" NET
        "', 'VLAN': -1, 'physical': true, 'managed': true, 'MTU': 1500,"
        " 'bond_slave_of': '', 'management': false,"
        " 'ip_configuration_mode': 'None', 'MAC': '02:00:00:00:00:02'},"
        " 'p3': {'device': 'eth3', 'host': '" HOST "', 'network': '" NET
        "', 'VLAN': -1, 'physical': true, 'managed': true, 'MTU': 1500,"
        " 'bond_slave_of': '', 'management': false,"
        " 'ip_configuration_mode': 'None', 'MAC': '02:00:00:00:00:03'},"
        " 'p4': {'device': 'eth4', 'host': '" HOST "', 'network': '" NET
        "', 'VLAN': -1, 'physical': true, 'managed': true, 'MTU': 1500,"
        " 'bond_slave_of': '', 'management': false,"
        " 'ip_configuration_mode': 'None', 'MAC': '02:00:00:00:00:04'}%s}",
        extra);
    assert_non_null(p);
    return p;
}

static struct json_object *
networks(void)
{
    struct json_object *n =
        fixture_json("{'" NET "': {'bridge': 'xenbr0', 'MTU': 1500},"
                     " '" JUMBO "': {'bridge': 'xenbr9', 'MTU': 9000},"
                     " '" BONDNET "': {'bridge': 'xapi0', 'MTU': 1500}}");
    assert_non_null(n);
    return n;
}

/* Runs bond_check_members() on the members listed in JSON 'list'. */
static struct np_error *
check(struct json_object *p, const char *list, enum bond_mode mode,
      const char *bond)
{
    struct json_object *members = fixture_json("%s", list);
    struct json_object *n = networks();
    struct np_error *error =
        bond_check_members(p, n, members, mode, HOST, bond);

    json_object_put(members);
    json_object_put(n);
    return error;
}

/* Modes parse from xapi's names and print back the same. */
static void
test_modes(void **state)
{
    static const char *const names[] = {"balance-slb", "active-backup",
                                        "lacp"};
    enum bond_mode mode;

    for (size_t i = 0; i < 3; i++) {
        assert_true(bond_mode_parse(names[i], &mode));
        assert_string_equal(bond_mode_name(mode), names[i]);
    }
    assert_false(bond_mode_parse("balance-tcp", &mode));
    assert_false(bond_mode_parse("", &mode));
    assert_false(bond_mode_parse(NULL, &mode));
}

/* Two to four members of any mode qualify; LACP takes at most four, the
 * others more. */
static void
test_member_counts(void **state)
{
    struct json_object *p = pifs("");

    assert_null(check(p, "['p0', 'p1']", BOND_MODE_LACP, NULL));
    assert_null(check(p, "['p0', 'p1', 'p2', 'p3']", BOND_MODE_LACP, NULL));
    assert_error(
        check(p, "['p0', 'p1', 'p2', 'p3', 'p4']", BOND_MODE_LACP, NULL),
        ERR_PIF_BOND_TOO_MANY_MEMBERS, "p4", "4", NULL);
    assert_null(check(p, "['p0', 'p1', 'p2', 'p3', 'p4']",
                      BOND_MODE_BALANCE_SLB, NULL));
    assert_error(check(p, "['p0']", BOND_MODE_ACTIVE_BACKUP, NULL),
                 ERR_PIF_BOND_NEEDS_MORE_MEMBERS, "1", NULL);
    assert_error(check(p, "[]", BOND_MODE_BALANCE_SLB, NULL),
                 ERR_PIF_BOND_NEEDS_MORE_MEMBERS, "0", NULL);
    json_object_put(p);
}

/* Each rule names the member that breaks it. */
static void
test_member_rules(void **state)
{
    struct json_object *p = pifs(
        ",'vlan': {'device': 'eth0', 'host': '" HOST "', 'network': '" NET
        "', 'VLAN': 10, 'physical': false, 'MTU': 1500, 'bond_slave_of': ''},"
        " 'master': {'device': 'bond0', 'host': '" HOST "', 'network': '" NET
        "', 'VLAN': -1, 'physical': false, 'MTU': 1500, 'bond_slave_of': ''},"
        " 'bonded': {'device': 'eth6', 'host': '" HOST "', 'network': '" NET
        "', 'VLAN': -1, 'physical': true, 'MTU': 1500,"
        " 'bond_slave_of': '" BOND "'},"
        " 'far': {'device': 'eth7', 'host': '" OTHER "', 'network': '" NET
        "', 'VLAN': -1, 'physical': true, 'MTU': 1500, 'bond_slave_of': ''},"
        " 'jumbo': {'device': 'eth8', 'host': '" HOST "', 'network': '" JUMBO
        "', 'VLAN': -1, 'physical': true, 'MTU': 1500, 'bond_slave_of': ''},"
        " 'unmanaged': {'device': 'eth9', 'host': '" HOST "', 'network': '" NET
        "', 'VLAN': -1, 'physical': true, 'managed': false, 'MTU': 1500,"
        " 'bond_slave_of': ''}");

    assert_error(check(p, "['p0', 'vlan']", BOND_MODE_LACP, NULL),
                 ERR_PIF_IS_VLAN, "vlan", NULL);
    assert_error(check(p, "['master', 'p0']", BOND_MODE_LACP, NULL),
                 ERR_PIF_IS_NOT_PHYSICAL, "master", NULL);
    assert_error(check(p, "['p0', 'bonded']", BOND_MODE_LACP, NULL),
                 ERR_PIF_IS_ALREADY_BONDED, "bonded", NULL);
    assert_null(check(p, "['p0', 'bonded']", BOND_MODE_LACP, BOND));
    assert_error(check(p, "['p0', 'far']", BOND_MODE_LACP, NULL),
                 ERR_PIF_CANNOT_BOND_CROSS_HOST, "far", NULL);
    assert_error(check(p, "['p0', 'jumbo']", BOND_MODE_LACP, NULL),
                 ERR_PIF_BOND_MTU_MISMATCH, "jumbo", "9000", "1500", NULL);
    assert_error(check(p, "['p0', 'unmanaged']", BOND_MODE_LACP, NULL),
                 ERR_PIF_UNMANAGED, "unmanaged", NULL);
    assert_error(check(p, "['p0', 'nope']", BOND_MODE_LACP, NULL),
                 ERR_HANDLE_INVALID, "PIF", "nope", NULL);
    assert_error(check(p, "['p0', 'p1', 'p0']", BOND_MODE_LACP, NULL),
                 ERR_INVALID_VALUE, "members", "p0", NULL);
    json_object_put(p);
}

/* The primary is the management PIF, else the first with an IP
 * configuration, else the first. */
static void
test_primary(void **state)
{
    struct json_object *p = pifs("");
    struct json_object *members = fixture_json("['p0', 'p1', 'p2']");

    assert_string_equal(bond_pick_primary_member(p, members), "p0");
    json_object_object_add(json_object_object_get(p, "p2"),
                           "ip_configuration_mode",
                           json_object_new_string("Static"));
    assert_string_equal(bond_pick_primary_member(p, members), "p2");
    json_object_object_add(json_object_object_get(p, "p1"), "management",
                           json_object_new_boolean(true));
    assert_string_equal(bond_pick_primary_member(p, members), "p1");
    json_object_put(members);

    members = fixture_json("[]");
    assert_null(bond_pick_primary_member(p, members));
    json_object_put(members);
    json_object_put(p);
}

/* Every documented key takes its values; anything else is refused with
 * the key named as the CLI writes it. */
static void
test_properties_check(void **state)
{
    struct json_object *good =
        fixture_json("{'hashing_algorithm': 'src_mac', 'lacp-time': 'fast',"
                     " 'lacp-fallback-ab': 'false', 'rebalance-interval': '0',"
                     " 'updelay': '0', 'downdelay': '50', 'detect': 'miimon',"
                     " 'miimon': '20', 'bfd': 'true', 'bfd-min-rx': '30',"
                     " 'bfd-min-tx': '30', 'failback': 'false'}");
    struct json_object *normalized = NULL;

    assert_null(bond_properties_check(BOND_MODE_LACP, good, &normalized));
    assert_true(json_object_equal(good, normalized));
    json_object_put(normalized);
    json_object_put(good);

    static const struct {
        const char *json, *key, *value;
    } bad[] = {
        {"{'hashing_algorithm': 'l3'}", "properties:hashing_algorithm", "l3"},
        {"{'lacp-time': 'medium'}", "properties:lacp-time", "medium"},
        {"{'lacp-fallback-ab': 'yes'}", "properties:lacp-fallback-ab", "yes"},
        {"{'updelay': '-1'}", "properties:updelay", "-1"},
        {"{'downdelay': '1e3'}", "properties:downdelay", "1e3"},
        {"{'miimon': '0'}", "properties:miimon", "0"},
        {"{'detect': 'arp'}", "properties:detect", "arp"},
        {"{'bfd-min-rx': ''}", "properties:bfd-min-rx", ""},
        {"{'bfd-min-tx': '60001'}", "properties:bfd-min-tx", "60001"},
        {"{'failback': 'never'}", "properties:failback", "never"},
        {"{'rebalance-interval': '99999999999'}",
         "properties:rebalance-interval", "99999999999"},
        {"{'colour': 'blue'}", "properties:colour", "blue"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct json_object *props = fixture_json("%s", bad[i].json);
        assert_error(bond_properties_check(BOND_MODE_LACP, props, NULL),
                     ERR_INVALID_VALUE, bad[i].key, bad[i].value, NULL);
        json_object_put(props);
    }

    /* L4 hashing needs LACP (balance-tcp). */
    struct json_object *l4 = fixture_json("{'hashing_algorithm': "
                                          "'tcpudp_ports'}");
    assert_null(bond_properties_check(BOND_MODE_LACP, l4, NULL));
    assert_error(bond_properties_check(BOND_MODE_BALANCE_SLB, l4, NULL),
                 ERR_INVALID_VALUE, "properties:hashing_algorithm",
                 "tcpudp_ports", NULL);
    json_object_put(l4);

    struct json_object *list = fixture_json("['x']");
    assert_error(bond_properties_check(BOND_MODE_LACP, list, NULL),
                 ERR_FIELD_TYPE_ERROR, "properties", NULL);
    json_object_put(list);
}

/* Without hashing_algorithm a bond gets its mode's default, and a mode
 * change replaces one the new mode cannot use. */
static void
test_properties_defaults(void **state)
{
    struct json_object *normalized = NULL;

    assert_null(bond_properties_check(BOND_MODE_LACP, NULL, &normalized));
    assert_string_equal(fixture_string(normalized, "hashing_algorithm"),
                        "tcpudp_ports");
    json_object_put(normalized);
    assert_null(
        bond_properties_check(BOND_MODE_ACTIVE_BACKUP, NULL, &normalized));
    assert_string_equal(fixture_string(normalized, "hashing_algorithm"),
                        "src_mac");

    struct json_object *lacp =
        bond_properties_for_mode(BOND_MODE_LACP, normalized);
    assert_string_equal(fixture_string(lacp, "hashing_algorithm"), "src_mac");
    json_object_put(normalized);
    json_object_put(lacp);

    struct json_object *l4 = fixture_json("{'hashing_algorithm': "
                                          "'tcpudp_ports', 'updelay': '5'}");
    struct json_object *slb =
        bond_properties_for_mode(BOND_MODE_BALANCE_SLB, l4);
    assert_string_equal(fixture_string(slb, "hashing_algorithm"), "src_mac");
    assert_string_equal(fixture_string(slb, "updelay"), "5");
    json_object_put(slb);
    json_object_put(l4);

    /* xapi's defaults. */
    struct bond_properties p;
    bond_properties_read(BOND_MODE_BALANCE_SLB, NULL, &p);
    assert_false(p.tcpudp_ports);
    assert_false(p.lacp_fast);
    assert_true(p.lacp_fallback_ab);
    assert_int_equal(p.rebalance_interval, 1800000);
    assert_int_equal(p.updelay, 31000);
    assert_int_equal(p.downdelay, 200);
    assert_false(p.miimon);
    assert_int_equal(p.miimon_interval, 100);
    assert_false(p.bfd);
    assert_true(p.failback);
    bond_properties_read(BOND_MODE_LACP, NULL, &p);
    assert_true(p.tcpudp_ports);
    assert_int_equal(p.rebalance_interval, -1);

    /* With BFD: packets every 25 ms, no downdelay, and a 2 s hold-down
     * after BFD says a recovered member forwards; explicit delays win. */
    struct json_object *bfd = fixture_json("{'bfd': 'true'}");
    bond_properties_read(BOND_MODE_ACTIVE_BACKUP, bfd, &p);
    assert_true(p.bfd);
    assert_int_equal(p.bfd_min_rx, 25);
    assert_int_equal(p.bfd_min_tx, 25);
    assert_int_equal(p.updelay, 2000);
    assert_int_equal(p.downdelay, 0);
    assert_true(p.failback);
    json_object_put(bfd);
    bfd = fixture_json("{'bfd': 'true', 'failback': 'false'}");
    bond_properties_read(BOND_MODE_ACTIVE_BACKUP, bfd, &p);
    assert_false(p.failback);
    assert_int_equal(p.updelay, 2000);
    json_object_put(bfd);
    bfd = fixture_json("{'bfd': 'true', 'updelay': '500', 'downdelay': '10',"
                       " 'bfd-min-tx': '50'}");
    bond_properties_read(BOND_MODE_LACP, bfd, &p);
    assert_int_equal(p.updelay, 500);
    assert_int_equal(p.downdelay, 10);
    assert_int_equal(p.bfd_min_rx, 25);
    assert_int_equal(p.bfd_min_tx, 50);
    json_object_put(bfd);
    bfd = fixture_json("{'bfd': 'false'}");
    bond_properties_read(BOND_MODE_LACP, bfd, &p);
    assert_int_equal(p.updelay, 31000);
    assert_int_equal(p.downdelay, 200);
    json_object_put(bfd);
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

/* Returns the port bond_ovs_port() makes of eth1+eth2 for 'mode' with
 * the properties in JSON 'props'. */
static struct json_object *
ovs_port(enum bond_mode mode, const char *props)
{
    static const struct bond_ovs_member members[] = {
        {"eth1", "p1"},
        {"eth2", "p2"},
    };
    struct json_object *map = fixture_json("%s", props);
    struct bond_properties p;

    bond_properties_read(mode, map, &p);
    json_object_put(map);
    struct bond_ovs_config config = {
        .mode = mode,
        .props = &p,
        .bond = BOND,
        .master = MASTER,
        .primary_device = "eth1",
        .members = members,
        .n_members = 2,
        .mtu = 9000,
    };
    return bond_ovs_port(&config);
}

/* LACP bonds: lacp=active, balance-tcp on L4 hashing, balance-slb on
 * source MAC, and the LACP keys xcp-networkd writes. */
static void
test_ovs_lacp(void **state)
{
    struct json_object *port =
        ovs_port(BOND_MODE_LACP, "{'lacp-time': 'fast', 'updelay': '0'}");
    struct json_object *oc = json_object_object_get(port, "other_config");

    assert_string_equal(fixture_string(port, "bond_mode"), "balance-tcp");
    assert_string_equal(fixture_string(port, "lacp"), "active");
    assert_int_equal(fixture_int(port, "bond_updelay"), 0);
    assert_int_equal(fixture_int(port, "bond_downdelay"), 200);
    assert_string_equal(fixture_string(oc, "lacp-time"), "fast");
    assert_string_equal(fixture_string(oc, "lacp-fallback-ab"), "true");
    assert_string_equal(fixture_string(oc, "bond-detect-mode"), "carrier");
    assert_string_equal(fixture_string(oc, "bond-miimon-interval"), "100");
    assert_string_equal(fixture_string(oc, "bond-primary"), "eth1");
    assert_null(fixture_string(oc, "bond-rebalance-interval"));
    assert_string_equal(
        fixture_string(json_object_object_get(port, "external_ids"),
                       "netpool-pif"),
        MASTER);
    assert_string_equal(
        fixture_string(json_object_object_get(port, "external_ids"),
                       "netpool-bond"),
        BOND);
    struct json_object *ifaces = json_object_object_get(port, "interfaces");
    assert_int_equal(json_object_object_length(ifaces), 2);
    struct json_object *eth2 = json_object_object_get(ifaces, "eth2");
    assert_int_equal(fixture_int(eth2, "mtu_request"), 9000);
    assert_string_equal(fixture_string(eth2, "type"), "");
    assert_string_equal(
        fixture_string(json_object_object_get(eth2, "external_ids"),
                       "netpool-pif"),
        "p2");
    assert_int_equal(
        json_object_object_length(json_object_object_get(eth2, "bfd")), 0);
    json_object_put(port);

    port = ovs_port(BOND_MODE_LACP, "{'hashing_algorithm': 'src_mac',"
                                    " 'lacp-fallback-ab': 'false'}");
    oc = json_object_object_get(port, "other_config");
    assert_string_equal(fixture_string(port, "bond_mode"), "balance-slb");
    assert_string_equal(fixture_string(port, "lacp"), "active");
    assert_string_equal(fixture_string(oc, "lacp-time"), "slow");
    assert_string_equal(fixture_string(oc, "lacp-fallback-ab"), "false");
    assert_int_equal(fixture_int(port, "bond_updelay"), 31000);
    json_object_put(port);
}

/* active-backup names its primary unless it does not fail back;
 * balance-slb rebalances every 30 minutes unless told; neither runs LACP;
 * BFD and miimon map onto their keys. */
static void
test_ovs_other_modes(void **state)
{
    struct json_object *port =
        ovs_port(BOND_MODE_ACTIVE_BACKUP,
                 "{'bfd': 'true', 'bfd-min-rx': '30', 'detect': 'miimon',"
                 " 'miimon': '50', 'downdelay': '0'}");
    struct json_object *oc = json_object_object_get(port, "other_config");

    assert_string_equal(fixture_string(port, "bond_mode"), "active-backup");
    assert_string_equal(fixture_string(port, "lacp"), "");
    assert_string_equal(fixture_string(oc, "bond-primary"), "eth1");
    assert_string_equal(fixture_string(oc, "bond-detect-mode"), "miimon");
    assert_string_equal(fixture_string(oc, "bond-miimon-interval"), "50");
    assert_null(fixture_string(oc, "lacp-time"));
    assert_null(fixture_string(oc, "bond-rebalance-interval"));
    assert_int_equal(fixture_int(port, "bond_downdelay"), 0);
    struct json_object *bfd = path(port, "interfaces", "eth1", "bfd", NULL);
    assert_string_equal(fixture_string(bfd, "enable"), "true");
    assert_string_equal(fixture_string(bfd, "min_rx"), "30");
    assert_string_equal(fixture_string(bfd, "min_tx"), "25");
    assert_int_equal(fixture_int(port, "bond_updelay"), 2000);
    json_object_put(port);

    /* Without failback OVS gets no primary, so that it keeps the member
     * that carries traffic when another comes back. */
    port = ovs_port(BOND_MODE_ACTIVE_BACKUP,
                    "{'bfd': 'true', 'failback': 'false'}");
    oc = json_object_object_get(port, "other_config");
    assert_string_equal(fixture_string(port, "bond_mode"), "active-backup");
    assert_null(fixture_string(oc, "bond-primary"));
    assert_int_equal(fixture_int(port, "bond_updelay"), 2000);
    json_object_put(port);
    port = ovs_port(BOND_MODE_LACP, "{'failback': 'false'}");
    assert_null(fixture_string(json_object_object_get(port, "other_config"),
                               "bond-primary"));
    json_object_put(port);
    port = ovs_port(BOND_MODE_ACTIVE_BACKUP, "{'failback': 'true'}");
    assert_string_equal(
        fixture_string(json_object_object_get(port, "other_config"),
                       "bond-primary"),
        "eth1");
    json_object_put(port);

    port = ovs_port(BOND_MODE_BALANCE_SLB, "{}");
    oc = json_object_object_get(port, "other_config");
    assert_string_equal(fixture_string(port, "bond_mode"), "balance-slb");
    assert_string_equal(fixture_string(oc, "bond-rebalance-interval"),
                        "1800000");
    assert_null(fixture_string(oc, "bond-primary"));
    json_object_put(port);

    port = ovs_port(BOND_MODE_BALANCE_SLB, "{'rebalance-interval': '0'}");
    assert_string_equal(
        fixture_string(path(port, "other_config", NULL, NULL, NULL),
                       "bond-rebalance-interval"),
        "0");
    json_object_put(port);
}

/* A member's BFD leaving down (to init) or coming up is what makes
 * netpool ask OVS to poll the far end; nothing else is. */
static void
test_bfd_poll_due(void **state)
{
    assert_true(bond_bfd_poll_due("down", "init"));
    assert_true(bond_bfd_poll_due("", "init"));
    assert_true(bond_bfd_poll_due(NULL, "init"));
    assert_true(bond_bfd_poll_due("admin_down", "init"));
    assert_true(bond_bfd_poll_due("down", "up"));
    assert_true(bond_bfd_poll_due("init", "up"));
    assert_true(bond_bfd_poll_due(NULL, "up"));
    assert_false(bond_bfd_poll_due("up", "up"));
    assert_false(bond_bfd_poll_due("init", "init"));
    assert_false(bond_bfd_poll_due("up", "init"));
    assert_false(bond_bfd_poll_due("up", "down"));
    assert_false(bond_bfd_poll_due("down", "down"));
    assert_false(bond_bfd_poll_due("down", ""));
    assert_false(bond_bfd_poll_due("down", NULL));
}

/* The bfd min_tx of member 'iface' in bond port 'port'. */
static const char *
bfd_min_tx(struct json_object *port, const char *iface)
{
    return fixture_string(path(port, "interfaces", iface, "bfd", NULL),
                          "min_tx");
}

/* The polled form of a port differs from the desired one only in that
 * member's min_tx: a second when it left down (or the configured value
 * + 1 if longer), the configured value + 1 when it came up; a member
 * without BFD, one the port does not have, or another state gives
 * none. */
static void
test_ovs_bfd_poll(void **state)
{
    struct json_object *port = ovs_port(BOND_MODE_ACTIVE_BACKUP,
                                        "{'bfd': 'true', 'bfd-min-tx': '30'}");
    struct json_object *polled = bond_ovs_bfd_poll(port, "eth1", "up");

    assert_non_null(polled);
    assert_string_equal(bfd_min_tx(polled, "eth1"), "31");
    assert_string_equal(bfd_min_tx(port, "eth1"), "30");
    /* Everything else as desired: put the value back and compare. */
    json_object_object_add(path(polled, "interfaces", "eth1", "bfd", NULL),
                           "min_tx", json_object_new_string("30"));
    assert_true(json_object_equal(polled, port));
    json_object_put(polled);

    polled = bond_ovs_bfd_poll(port, "eth2", "init");
    assert_string_equal(bfd_min_tx(polled, "eth2"), "1000");
    assert_string_equal(bfd_min_tx(polled, "eth1"), "30");
    json_object_put(polled);

    assert_null(bond_ovs_bfd_poll(port, "eth9", "up"));
    assert_null(bond_ovs_bfd_poll(port, "eth1", "down"));
    assert_null(bond_ovs_bfd_poll(port, "eth1", NULL));
    json_object_put(port);

    port = ovs_port(BOND_MODE_LACP, "{'bfd': 'true', 'bfd-min-tx': '1500'}");
    polled = bond_ovs_bfd_poll(port, "eth1", "init");
    assert_string_equal(bfd_min_tx(polled, "eth1"), "1501");
    json_object_put(polled);
    json_object_put(port);

    port = ovs_port(BOND_MODE_ACTIVE_BACKUP, "{}");
    assert_null(bond_ovs_bfd_poll(port, "eth1", "up"));
    json_object_put(port);
}

/* What OVS 3.1 prints. */
static const char bond_show[] =
    "---- bond0 ----\n"
    "bond_mode: active-backup\n"
    "bond may use recirculation: no, Recirc-ID : -1\n"
    "bond-hash-basis: 0\n"
    "lb_output action: disabled, bond-id: -1\n"
    "updelay: 31000 ms\n"
    "downdelay: 200 ms\n"
    "lacp_status: off\n"
    "lacp_fallback_ab: false\n"
    "active-backup primary: eth1\n"
    "active member mac: de:63:3e:b9:4e:bf(eth2)\n"
    "\n"
    "member eth1: disabled\n"
    "  updelay expires in 29500 ms\n"
    "  may_enable: true\n"
    "\n"
    "member eth2: enabled\n"
    "  active member\n"
    "  may_enable: true\n"
    "---- bond1 ----\n"
    "bond_mode: balance-tcp\n"
    "\n"
    "member eth3: enabled\n"
    "  may_enable: true\n"
    "  hash 12: 0 kB load\n";

static const char lacp_show[] =
    "---- bond1 ----\n"
    "  status: active negotiated\n"
    "  sys_id: de:63:3e:b9:4e:bf\n"
    "  sys_priority: 65534\n"
    "  aggregation key: 1\n"
    "  lacp_time: fast\n"
    "\n"
    "member: eth3: current attached\n"
    "  port_id: 2\n"
    "  port_priority: 65535\n"
    "  may_enable: true\n"
    "\n"
    "  actor sys_id: de:63:3e:b9:4e:bf\n"
    "  actor state: activity timeout aggregation synchronized\n"
    "\n"
    "  partner sys_id: 62:7e:69:1a:cd:40\n"
    "  partner state: activity timeout aggregation synchronized\n"
    "\n"
    "member: eth4: defaulted detached\n"
    "  partner sys_id: 00:00:00:00:00:00\n";

static void
test_parse_show(void **state)
{
    struct json_object *b = bond_parse_bond_show(bond_show);
    struct json_object *l = bond_parse_lacp_show(lacp_show);

    assert_string_equal(
        fixture_string(json_object_object_get(b, "bond0"), "active"), "eth2");
    struct json_object *eth1 = path(b, "bond0", "members", "eth1", NULL);
    assert_false(fixture_bool(eth1, "enabled"));
    assert_true(fixture_bool(eth1, "may_enable"));
    assert_int_equal(fixture_int(eth1, "delay_ms"), 29500);
    assert_true(
        fixture_bool(path(b, "bond0", "members", "eth2", NULL), "enabled"));
    assert_true(
        fixture_bool(path(b, "bond1", "members", "eth3", NULL), "enabled"));
    assert_null(fixture_string(json_object_object_get(b, "bond1"), "active"));

    assert_true(
        fixture_bool(json_object_object_get(l, "bond1"), "negotiated"));
    struct json_object *eth3 = path(l, "bond1", "members", "eth3", NULL);
    assert_string_equal(fixture_string(eth3, "state"), "current");
    assert_true(fixture_bool(eth3, "attached"));
    assert_string_equal(fixture_string(eth3, "partner"), "62:7e:69:1a:cd:40");
    struct json_object *eth4 = path(l, "bond1", "members", "eth4", NULL);
    assert_string_equal(fixture_string(eth4, "state"), "defaulted");
    assert_false(fixture_bool(eth4, "attached"));
    assert_string_equal(fixture_string(eth4, "partner"), "");
    json_object_put(b);
    json_object_put(l);

    /* Nothing to read is an empty result, not a failure. */
    b = bond_parse_bond_show("");
    assert_int_equal(json_object_object_length(b), 0);
    json_object_put(b);
    l = bond_parse_lacp_show(NULL);
    assert_int_equal(json_object_object_length(l), 0);
    json_object_put(l);
}

/* bond/show decides enabled and active; lacp/show the LACP state and
 * partner; OVSDB the BFD state; a running updelay asks for a re-read. */
static void
test_status_compute(void **state)
{
    struct json_object *b = bond_parse_bond_show(bond_show);
    struct json_object *l = bond_parse_lacp_show(lacp_show);
    struct json_object *members = fixture_json(
        "[{'pif': 'p1', 'device': 'eth1', 'MAC': '02:00:00:00:00:01'},"
        " {'pif': 'p2', 'device': 'eth2', 'MAC': '02:00:00:00:00:02'}]");
    struct json_object *observed = fixture_json(
        "{'interfaces': {'eth1': {'link_state': 'up', 'lacp_current': '',"
        "   'bfd_status': {'state': 'down', 'forwarding': 'false'}},"
        "  'eth2': {'link_state': 'up', 'lacp_current': '',"
        "   'bfd_status': {'state': 'up', 'forwarding': 'true'}}},"
        " 'ports': {'bond0': {'bond_active_slave': '02:00:00:00:00:02'}}}");

    struct json_object *s =
        bond_status_compute("bond0", members, b, l, observed);
    assert_int_equal(fixture_int(s, "links_up"), 1);
    assert_string_equal(fixture_string(s, "active_slave"), "p2");
    assert_int_equal(fixture_int(s, "recheck_ms"), 29501);
    struct json_object *p1 = path(s, "members", "p1", NULL, NULL);
    assert_string_equal(fixture_string(p1, "bond_member_state"), "disabled");
    assert_string_equal(fixture_string(p1, "bfd_state"), "down");
    assert_string_equal(fixture_string(p1, "lacp_state"), "");
    assert_false(fixture_bool(s, "settling"));
    json_object_put(s);

    /* OVS may enable eth1 and has not yet, with no updelay running; then
     * eth1's link and BFD are up while OVS has yet to see it may: either
     * way no OVSDB change will say when it acts, so look again soon. */
    struct json_object *pending =
        bond_parse_bond_show("---- bond0 ----\n"
                             "bond_mode: active-backup\n"
                             "\n"
                             "member eth1: disabled\n"
                             "  may_enable: true\n"
                             "\n"
                             "member eth2: enabled\n"
                             "  active member\n"
                             "  may_enable: true\n");
    s = bond_status_compute("bond0", members, pending, NULL, observed);
    assert_int_equal(fixture_int(s, "links_up"), 1);
    assert_int_equal(fixture_int(s, "recheck_ms"), 0);
    assert_true(fixture_bool(s, "settling"));
    json_object_put(s);
    json_object_put(pending);
    pending = bond_parse_bond_show("---- bond0 ----\n"
                                   "member eth1: disabled\n"
                                   "  may_enable: false\n"
                                   "member eth2: enabled\n"
                                   "  may_enable: true\n");
    struct json_object *bfd_up = fixture_json(
        "{'interfaces': {'eth1': {'link_state': 'up', 'lacp_current': '',"
        "   'bfd_status': {'state': 'up', 'forwarding': 'true'}},"
        "  'eth2': {'link_state': 'up', 'lacp_current': '',"
        "   'bfd_status': {'state': 'up', 'forwarding': 'true'}}},"
        " 'ports': {}}");
    s = bond_status_compute("bond0", members, pending, NULL, bfd_up);
    assert_true(fixture_bool(s, "settling"));
    json_object_put(s);
    /* A member that is down and that OVS keeps disabled is settled. */
    s = bond_status_compute("bond0", members, pending, NULL, observed);
    assert_false(fixture_bool(s, "settling"));
    json_object_put(s);
    json_object_put(bfd_up);
    json_object_put(pending);

    /* Without bond/show: OVSDB's view, the active member by MAC. */
    s = bond_status_compute("bond0", members, NULL, NULL, observed);
    assert_int_equal(fixture_int(s, "links_up"), 1);
    assert_string_equal(fixture_string(s, "active_slave"), "p2");
    assert_int_equal(fixture_int(s, "recheck_ms"), 0);
    json_object_put(s);
    json_object_put(members);

    /* LACP members. */
    members = fixture_json("[{'pif': 'p3', 'device': 'eth3', 'MAC': ''},"
                           " {'pif': 'p4', 'device': 'eth4', 'MAC': ''}]");
    json_object_put(observed);
    observed = fixture_json(
        "{'interfaces': {'eth3': {'link_state': 'up', 'lacp_current': 'true',"
        "   'bfd_status': {}},"
        "  'eth4': {'link_state': 'up', 'lacp_current': 'false',"
        "   'bfd_status': {}}}, 'ports': {}}");
    s = bond_status_compute("bond1", members, b, l, observed);
    assert_int_equal(fixture_int(s, "links_up"), 1);
    p1 = path(s, "members", "p3", NULL, NULL);
    assert_string_equal(fixture_string(p1, "lacp_state"), "current");
    assert_string_equal(fixture_string(p1, "lacp_partner"),
                        "62:7e:69:1a:cd:40");
    assert_string_equal(fixture_string(p1, "bond_member_state"), "enabled");
    assert_string_equal(
        fixture_string(path(s, "members", "p4", NULL, NULL), "lacp_state"),
        "defaulted");
    json_object_put(s);

    /* Without lacp/show, lacp_current stands for the state. */
    s = bond_status_compute("bond1", members, NULL, NULL, observed);
    assert_int_equal(fixture_int(s, "links_up"), 1);
    assert_string_equal(
        fixture_string(path(s, "members", "p3", NULL, NULL), "lacp_state"),
        "current");
    assert_string_equal(
        fixture_string(path(s, "members", "p4", NULL, NULL), "lacp_state"),
        "expired");
    json_object_put(s);

    json_object_put(members);
    json_object_put(observed);
    json_object_put(b);
    json_object_put(l);
}

static void
test_status_message(void **state)
{
    char *body = bond_status_message("eth0+eth1", 1, 2);

    assert_string_equal(body,
                        "The status of the eth0+eth1 bond changed: 1/2 up");
    free(body);
}

/* Records of one host: eth1 and eth2 bonded (bond0 on BONDNET), eth0
 * management with 198.18.0.11/24. */
static struct json_object *
bond_records(const char *master_extra)
{
    struct json_object *r = fixture_json(
        "{'VLAN': {}, 'VIF': {}, 'VM': {},"
        " 'network': {"
        "  '" NET "': {'bridge': 'xenbr0', 'MTU': 1500},"
        "  '" BONDNET "': {'bridge': 'xapi0', 'MTU': 9000}},"
        " 'bond': {'" BOND "': {'master': '" MASTER "', 'primary_slave': 'p2',"
        "   'mode': 'active-backup', 'properties': {'updelay': '0'}}},"
        " 'PIF': {"
        "  'p0': {'device': 'eth0', 'host': '" HOST "', 'network': '" NET
        "',  'currently_attached': true, 'VLAN': -1, 'physical': true,"
        "    'bond_slave_of': '', 'management': true, 'IP': '198.18.0.11',"
        "    'netmask': '255.255.255.0', 'gateway': ''},"
        "  'p1': {'device': 'eth1', 'host': '" HOST "', 'network': '" NET
        "',  'currently_attached': true, 'VLAN': -1, 'physical': true,"
        "    'bond_slave_of': '" BOND "'},"
        "  'p2': {'device': 'eth2', 'host': '" HOST "', 'network': '" NET
        "',  'currently_attached': true, 'VLAN': -1, 'physical': true,"
        "    'bond_slave_of': '" BOND "'},"
        "  '" MASTER "': {'device': 'bond0', 'host': '" HOST "',"
        "    'network': '" BONDNET "', 'currently_attached': true,"
        "    'VLAN': -1, 'physical': false, 'bond_slave_of': '',"
        "    'MAC': '02:00:00:00:00:02'%s}}}",
        master_extra);
    assert_non_null(r);
    return r;
}

/* A plugged bond master brings its network's bridge with one bonded port
 * of its plugged members; the members have no port of their own; the
 * bridge carries the bond's MAC. */
static void
test_fabric_bond(void **state)
{
    struct json_object *r = bond_records("");
    struct json_object *f = dp_fabric_build(r, HOST, "netdev");
    struct json_object *br = path(f, "bridges", "xapi0", NULL, NULL);

    assert_non_null(br);
    assert_string_equal(
        fixture_string(json_object_object_get(br, "other_config"), "hwaddr"),
        "02:00:00:00:00:02");
    struct json_object *ports = json_object_object_get(br, "ports");
    assert_int_equal(json_object_object_length(ports), 2);
    assert_int_equal(
        fixture_int(path(ports, "xapi0", "interfaces", "xapi0", NULL),
                    "mtu_request"),
        9000);
    struct json_object *bond = json_object_object_get(ports, "bond0");
    assert_string_equal(fixture_string(bond, "bond_mode"), "active-backup");
    assert_int_equal(fixture_int(bond, "bond_updelay"), 0);
    assert_string_equal(
        fixture_string(json_object_object_get(bond, "other_config"),
                       "bond-primary"),
        "eth2");
    struct json_object *ifaces = json_object_object_get(bond, "interfaces");
    assert_int_equal(json_object_object_length(ifaces), 2);
    assert_int_equal(
        fixture_int(json_object_object_get(ifaces, "eth1"), "mtu_request"),
        9000);
    assert_null(path(f, "bridges", "xenbr0", "ports", "eth1"));
    assert_non_null(path(f, "bridges", "xenbr0", "ports", "eth0"));
    json_object_put(f);

    /* An unplugged member leaves the bond's port. */
    json_object_object_add(path(r, "PIF", "p1", NULL, NULL),
                           "currently_attached",
                           json_object_new_boolean(false));
    f = dp_fabric_build(r, HOST, "netdev");
    bond = path(f, "bridges", "xapi0", "ports", "bond0");
    assert_int_equal(
        json_object_object_length(json_object_object_get(bond, "interfaces")),
        1);
    json_object_put(f);
    json_object_put(r);

    /* An unplugged master, or one of another host, brings nothing. */
    r = bond_records(", 'currently_attached': false");
    f = dp_fabric_build(r, HOST, "netdev");
    assert_null(path(f, "bridges", "xapi0", NULL, NULL));
    json_object_put(f);
    f = dp_fabric_build(r, OTHER, "netdev");
    assert_int_equal(
        json_object_object_length(json_object_object_get(f, "bridges")), 0);
    json_object_put(f);
    json_object_put(r);
}

/* Every NIC answers ARP for its own addresses only and members are kept
 * quiet; the management address belongs on the bond's bridge once the
 * role is on the bond, on the NIC otherwise. */
static void
test_kernel_plan(void **state)
{
    struct json_object *r = bond_records("");
    struct json_object *plan = dp_bond_kernel_plan(r, HOST);
    struct json_object *own_arp = json_object_object_get(plan, "own_arp");
    struct json_object *quiet = json_object_object_get(plan, "quiet");

    assert_int_equal(json_object_array_length(own_arp), 3);
    assert_true(fixture_array_has(own_arp, "eth0"));
    assert_true(fixture_array_has(own_arp, "eth1"));
    assert_true(fixture_array_has(own_arp, "eth2"));
    assert_false(fixture_array_has(own_arp, "bond0"));
    assert_int_equal(json_object_array_length(quiet), 2);
    assert_true(fixture_array_has(quiet, "eth1"));
    assert_true(fixture_array_has(quiet, "eth2"));
    struct json_object *m = json_object_object_get(plan, "management");
    assert_string_equal(fixture_string(m, "device"), "eth0");
    assert_false(fixture_bool(m, "bond"));
    assert_string_equal(fixture_string(m, "address"), "198.18.0.11");
    assert_int_equal(fixture_int(m, "prefix"), 24);
    struct json_object *candidates = json_object_object_get(m, "candidates");
    assert_true(fixture_array_has(candidates, "xapi0"));
    assert_true(fixture_array_has(candidates, "eth1"));
    assert_false(fixture_array_has(candidates, "eth0"));
    json_object_put(plan);
    json_object_put(r);

    r = bond_records(", 'management': true, 'IP': '198.18.0.11',"
                     " 'netmask': '255.255.255.0', 'gateway': '198.18.0.1'");
    json_object_object_add(path(r, "PIF", "p0", NULL, NULL), "management",
                           json_object_new_boolean(false));
    plan = dp_bond_kernel_plan(r, HOST);
    m = json_object_object_get(plan, "management");
    assert_string_equal(fixture_string(m, "device"), "xapi0");
    assert_true(fixture_bool(m, "bond"));
    assert_string_equal(fixture_string(m, "gateway"), "198.18.0.1");
    candidates = json_object_object_get(m, "candidates");
    assert_true(fixture_array_has(candidates, "eth0"));
    assert_true(fixture_array_has(candidates, "eth2"));
    assert_false(fixture_array_has(candidates, "xapi0"));
    json_object_put(plan);

    /* No valid address: nothing to move. */
    json_object_object_add(path(r, "PIF", MASTER, NULL, NULL), "netmask",
                           json_object_new_string("255.0.255.0"));
    plan = dp_bond_kernel_plan(r, HOST);
    assert_null(json_object_object_get(plan, "management"));
    json_object_put(plan);
    plan = dp_bond_kernel_plan(r, OTHER);
    assert_int_equal(
        json_object_array_length(json_object_object_get(plan, "quiet")), 0);
    assert_int_equal(
        json_object_array_length(json_object_object_get(plan, "own_arp")), 0);
    json_object_put(plan);
    json_object_put(r);
}

/* Addresses that left the management role are retired from every NIC
 * and bridge once no change is pending, except the management address
 * itself; another PIF's address is kept on that PIF's bridge.  A
 * management VLAN PIF's address lives on its network's bridge. */
static void
test_kernel_retire(void **state)
{
    struct json_object *r = bond_records("");
    struct json_object *host =
        fixture_json("{'" HOST "': {'management_rollback': {'pif': 'p0'},"
                     " 'management_retired': ['198.18.0.21', '198.18.0.11',"
                     " '198.18.0.31', 'junk']}}");
    json_object_object_add(r, "host", host);

    /* Pending: nothing is retired yet. */
    struct json_object *plan = dp_bond_kernel_plan(r, HOST);
    assert_null(json_object_object_get(plan, "retire"));
    json_object_put(plan);

    json_object_object_add(path(r, "host", HOST, NULL, NULL),
                           "management_rollback", json_object_new_object());
    json_object_object_add(path(r, "PIF", "p2", NULL, NULL),
                           "ip_configuration_mode",
                           json_object_new_string("Static"));
    json_object_object_add(path(r, "PIF", "p2", NULL, NULL), "IP",
                           json_object_new_string("198.18.0.31"));
    plan = dp_bond_kernel_plan(r, HOST);
    struct json_object *retire = json_object_object_get(plan, "retire");
    struct json_object *addresses =
        json_object_object_get(retire, "addresses");
    assert_int_equal(json_object_array_length(addresses), 2);
    struct json_object *a = json_object_array_get_idx(addresses, 0);
    assert_string_equal(fixture_string(a, "address"), "198.18.0.21");
    assert_string_equal(fixture_string(a, "keep"), "");
    a = json_object_array_get_idx(addresses, 1);
    assert_string_equal(fixture_string(a, "address"), "198.18.0.31");
    assert_string_equal(fixture_string(a, "keep"), "xenbr0");
    struct json_object *devices = json_object_object_get(retire, "devices");
    assert_true(fixture_array_has(devices, "eth0"));
    assert_true(fixture_array_has(devices, "xapi0"));
    assert_false(fixture_array_has(devices, "bond0"));
    json_object_put(plan);
    json_object_put(r);

    /* The management role on a VLAN PIF: its network's bridge. */
    r = bond_records("");
    struct json_object *p0 = path(r, "PIF", "p0", NULL, NULL);
    json_object_object_add(p0, "VLAN", json_object_new_int(10));
    json_object_object_add(p0, "physical", json_object_new_boolean(false));
    json_object_object_add(p0, "network", json_object_new_string(BONDNET));
    plan = dp_bond_kernel_plan(r, HOST);
    struct json_object *m = json_object_object_get(plan, "management");
    assert_string_equal(fixture_string(m, "device"), "xapi0");
    assert_true(fixture_bool(m, "bond"));
    json_object_put(plan);
    json_object_put(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_member_counts),
        cmocka_unit_test(test_member_rules),
        cmocka_unit_test(test_primary),
        cmocka_unit_test(test_properties_check),
        cmocka_unit_test(test_properties_defaults),
        cmocka_unit_test(test_ovs_lacp),
        cmocka_unit_test(test_ovs_other_modes),
        cmocka_unit_test(test_bfd_poll_due),
        cmocka_unit_test(test_ovs_bfd_poll),
        cmocka_unit_test(test_parse_show),
        cmocka_unit_test(test_status_compute),
        cmocka_unit_test(test_status_message),
        cmocka_unit_test(test_fabric_bond),
        cmocka_unit_test(test_kernel_plan),
        cmocka_unit_test(test_kernel_retire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
