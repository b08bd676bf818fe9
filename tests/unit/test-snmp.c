/*
 * Unit tests of the SNMP subagent's pure parts (mgmt/snmp*.c): OID views,
 * stable index assignment, the IF-MIB/LAG-MIB/NETPOOL-MIB rows built from
 * records, the LACP parser; and of flow-export settings
 * (datapath/fabric-flow.c): validation and the fabric's sFlow/IPFIX/NetFlow
 * objects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "lib/error.h"
#include "mgmt/snmp.h"
#include "tests/unit/fixture.h"

#define HOST "11111111-1111-4111-8111-111111111111"
#define NET0 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define NETB "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define NETV "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
#define PIF0 "00000000-0000-4000-8000-000000000000"
#define PIF2 "00000000-0000-4000-8000-000000000002"
#define PIF3 "00000000-0000-4000-8000-000000000003"
#define PIFB "00000000-0000-4000-8000-00000000000b"
#define PIFV "00000000-0000-4000-8000-00000000000f"
#define BOND "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
#define VLAN "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"
#define VIF1 "ffffffff-ffff-4fff-8fff-ffffffffffff"
#define VM1 "12121212-1212-4212-8212-121212121212"

/* A host with eth0, a LACP bond0 of eth2+eth3, VLAN 30 on eth0 and one
 * VIF, as the store holds them. */
static struct json_object *
records(void)
{
    struct json_object *r = fixture_json(
        "{'host': {'" HOST "': {'name_label': 'h1', 'hostname': 'h1',"
        "   'address': '198.18.0.11', 'enabled': true, 'ha_state': 'stay',"
        "   'software_version': {'product_version': '0.1.0'}}},"
        " 'network': {"
        "  '" NET0 "': {'name_label': 'mgmt', 'bridge': 'xenbr0',"
        "    'MTU': 1500},"
        "  '" NETB "': {'name_label': 'bonded', 'bridge': 'xapi1',"
        "    'MTU': 9000},"
        "  '" NETV "': {'name_label': 'storage', 'bridge': 'xapi2',"
        "    'MTU': 1500}},"
        " 'PIF': {"
        "  '" PIF0 "': {'device': 'eth0', 'host': '" HOST "',"
        "    'MAC': '02:00:00:00:00:10', 'network': '" NET0 "',"
        "    'physical': true, 'VLAN': -1, 'currently_attached': true,"
        "    'speed': 10000, 'carrier': true, 'bond_slave_of': ''},"
        "  '" PIF2 "': {'device': 'eth2', 'host': '" HOST "',"
        "    'MAC': '02:00:00:00:00:12', 'physical': true, 'VLAN': -1,"
        "    'currently_attached': true, 'speed': 1000,"
        "    'bond_slave_of': '" BOND "', 'lacp_state': 'current'},"
        "  '" PIF3 "': {'device': 'eth3', 'host': '" HOST "',"
        "    'MAC': '02:00:00:00:00:13', 'physical': true, 'VLAN': -1,"
        "    'currently_attached': true, 'speed': 1000,"
        "    'bond_slave_of': '" BOND "'},"
        "  '" PIFB "': {'device': 'bond0', 'host': '" HOST "',"
        "    'MAC': '02:00:00:00:00:12', 'network': '" NETB "',"
        "    'physical': false, 'VLAN': -1, 'currently_attached': true,"
        "    'bond_slave_of': ''},"
        "  '" PIFV "': {'device': 'eth0', 'host': '" HOST "',"
        "    'MAC': '02:00:00:00:00:10', 'network': '" NETV "',"
        "    'physical': false, 'VLAN': 30, 'currently_attached': true,"
        "    'bond_slave_of': ''}},"
        " 'bond': {'" BOND "': {'master': '" PIFB "', 'mode': 'lacp',"
        "   'links_up': 1, 'active_slave': '" PIF2 "'}},"
        " 'VLAN': {'" VLAN "': {'tagged_PIF': '" PIF0 "',"
        "   'untagged_PIF': '" PIFV "', 'tag': 30}},"
        " 'VIF': {'" VIF1 "': {'device': '0', 'MAC': '02:aa:00:00:00:01',"
        "   'network': '" NET0 "', 'VM': '" VM1 "',"
        "   'currently_attached': true}},"
        " 'VM': {'" VM1 "': {'name_label': 'web', 'power_state': 'Running',"
        "   'VCPUs_max': 2, 'memory_static_max': 268435456,"
        "   'resident_on': '" HOST "', 'is_a_template': false,"
        "   'ha_restart_priority': 'best-effort'}}}");
    assert_non_null(r);
    return r;
}

/* What OVS reports for those interfaces. */
static struct json_object *
observed(void)
{
    struct json_object *o = fixture_json(
        "{'interfaces': {"
        "  'eth0': {'link_state': 'up', 'mtu': 1500,"
        "    'external_ids': {'netpool-pif': '" PIF0 "'},"
        "    'statistics': {'rx_bytes': 5000000000, 'rx_packets': 700,"
        "      'rx_multicast': 100, 'rx_dropped': 3, 'rx_errors': 1,"
        "      'tx_bytes': 12345, 'tx_packets': 90}},"
        "  'eth2': {'link_state': 'up', 'external_ids': {},"
        "    'statistics': {'rx_bytes': 100, 'rx_packets': 1,"
        "      'tx_bytes': 200, 'tx_packets': 2}},"
        "  'eth3': {'link_state': 'down', 'external_ids': {},"
        "    'statistics': {'rx_bytes': 10, 'rx_packets': 1,"
        "      'tx_bytes': 20, 'tx_packets': 1}},"
        "  'xapi2': {'link_state': 'up', 'external_ids': {},"
        "    'statistics': {}},"
        "  'vif1.0': {'link_state': 'up', 'mtu': 1500,"
        "    'external_ids': {'iface-id': '" VIF1 "'},"
        "    'statistics': {'rx_bytes': 64, 'rx_packets': 1}}},"
        " 'ports': {}}");
    assert_non_null(o);
    return o;
}

static const char lacp_show[] =
    "---- bond0 ----\n"
    "  status: active negotiated\n"
    "  sys_id: ce:04:a6:27:a1:43\n"
    "  sys_priority: 65534\n"
    "  aggregation key: 1\n"
    "  lacp_time: fast\n"
    "\n"
    "member: eth2: current attached\n"
    "  port_id: 1\n"
    "  port_priority: 65535\n"
    "  may_enable: true\n"
    "\n"
    "  actor sys_id: ce:04:a6:27:a1:43\n"
    "  actor sys_priority: 65534\n"
    "  actor port_id: 1\n"
    "  actor port_priority: 65535\n"
    "  actor key: 1\n"
    "  actor state: activity timeout aggregation synchronized collecting"
    " distributing\n"
    "\n"
    "  partner sys_id: e6:9c:af:54:51:46\n"
    "  partner sys_priority: 65534\n"
    "  partner port_id: 5\n"
    "  partner port_priority: 65535\n"
    "  partner key: 5\n"
    "  partner state: activity timeout aggregation synchronized collecting"
    " distributing\n"
    "\n"
    "member: eth3: defaulted detached\n"
    "  port_id: 2\n"
    "  actor state: activity aggregation defaulted\n";

static const char lacp_stats[] = "---- bond0 statistics ----\n"
                                 "\n"
                                 "member: eth2:\n"
                                 "  TX PDUs: 7\n"
                                 "  RX PDUs: 9\n"
                                 "  RX Bad PDUs: 1\n"
                                 "  RX Marker Request PDUs: 0\n"
                                 "  Link Expired: 0\n";

/* Looks up one instance by its dotted OID. */
static const struct snmp_entry *
get(const struct snmp_view *view, const char *dotted)
{
    uint32_t oid[SNMP_MAX_OID];
    size_t n = 0;
    char *copy = xstrdup(dotted), *save = NULL;

    for (char *p = strtok_r(copy, ".", &save); p && n < SNMP_MAX_OID;
         p = strtok_r(NULL, ".", &save)) {
        oid[n++] = (uint32_t) strtoul(p, NULL, 10);
    }
    free(copy);
    return snmp_view_get(view, oid, n);
}

static uint64_t
number(const struct snmp_view *view, const char *dotted)
{
    const struct snmp_entry *e = get(view, dotted);
    assert_non_null(e);
    return e->number;
}

static const char *
text(const struct snmp_view *view, const char *dotted)
{
    const struct snmp_entry *e = get(view, dotted);
    assert_non_null(e);
    return e->octets;
}

/* Builds the view of records() and observed() with 'indexes'. */
static void
build(struct snmp_view *view, struct json_object *indexes,
      struct json_object *lacp)
{
    struct json_object *r = records(), *o = observed();
    struct json_object *changes = json_object_new_object();
    struct snmp_sources src = {
        .records = r,
        .observed = o,
        .lacp = lacp,
        .host = HOST,
        .indexes = indexes,
        .changes = changes,
    };

    snmp_view_init(view);
    snmp_view_build(view, &src);
    json_object_put(changes);
    json_object_put(o);
    json_object_put(r);
}

static void
test_view_order(void **state)
{
    struct snmp_view view;
    static const uint32_t a[] = {1, 3, 6, 1, 2};
    static const uint32_t b[] = {1, 3, 6, 1, 2, 1};
    static const uint32_t c[] = {1, 3, 6, 1, 10};
    static const uint32_t root[] = {1, 3, 6, 1};

    snmp_view_init(&view);
    snmp_view_add(&view, c, 5, NULL, 0, SNMP_T_INTEGER, 3, NULL, 0);
    snmp_view_add(&view, b, 6, NULL, 0, SNMP_T_INTEGER, 2, NULL, 0);
    snmp_view_add(&view, a, 5, NULL, 0, SNMP_T_OCTETS, 0, "x", 1);
    snmp_view_finish(&view);

    /* Numeric, not textual, order: .2 < .2.1 < .10. */
    const struct snmp_entry *e = snmp_view_next(&view, root, 4, root, 4);
    assert_string_equal(e->octets, "x");
    e = snmp_view_next(&view, e->oid, e->oid_len, root, 4);
    assert_int_equal(e->number, 2);
    e = snmp_view_next(&view, e->oid, e->oid_len, root, 4);
    assert_int_equal(e->number, 3);
    assert_null(snmp_view_next(&view, e->oid, e->oid_len, root, 4));
    /* Outside the root, nothing. */
    assert_null(snmp_view_next(&view, root, 4, c, 5));
    assert_non_null(snmp_view_get(&view, b, 6));
    assert_null(snmp_view_get(&view, root, 4));
    snmp_view_clear(&view);
}

static void
test_index_assign(void **state)
{
    struct json_object *map = json_object_new_object();
    bool changed = false;

    assert_int_equal(snmp_index_assign(map, "if", "pif:a", &changed), 1);
    assert_true(changed);
    assert_int_equal(snmp_index_assign(map, "if", "vif:b", &changed), 2);
    assert_int_equal(snmp_index_assign(map, "host", "host:h", &changed), 1);
    changed = false;
    assert_int_equal(snmp_index_assign(map, "if", "pif:a", &changed), 1);
    assert_false(changed);

    /* A removed object's number is not given again. */
    struct json_object *keep = fixture_json("{'vif:b': true}");
    assert_true(snmp_index_prune(map, "if", keep));
    assert_int_equal(snmp_index_assign(map, "if", "pif:a", &changed), 3);
    assert_int_equal(snmp_index_assign(map, "if", "vif:b", &changed), 2);
    assert_int_equal(snmp_index_assign(map, "host", "host:h", &changed), 1);

    /* It survives a save and a load. */
    char *dir = fixture_dir_create();
    assert_non_null(dir);
    char *path = xasprintf("%s/idx.json", dir ? dir : "/tmp");
    assert_int_equal(snmp_index_save(path, map), 0);
    struct json_object *loaded = snmp_index_load(path);
    assert_true(json_object_equal(loaded, map));
    json_object_put(loaded);
    free(path);
    fixture_dir_remove(dir);
    json_object_put(keep);
    json_object_put(map);

    /* A missing file is an empty map. */
    struct json_object *empty = snmp_index_load("/nonexistent/idx.json");
    assert_int_equal(json_object_object_length(empty), 0);
    json_object_put(empty);
}

static void
test_interfaces(void **state)
{
    struct json_object *r = records(), *o = observed();
    struct json_object *indexes = json_object_new_object();
    struct snmp_sources src = {
        .records = r,
        .observed = o,
        .host = HOST,
        .indexes = indexes,
    };
    size_t n;
    struct snmp_interface *rows = snmp_interfaces_build(&src, &n);

    /* NICs first by name, then the bond, the VLAN, the VIF. */
    assert_int_equal(n, 6);
    assert_string_equal(rows[0].name, "eth0");
    assert_string_equal(rows[1].name, "eth2");
    assert_string_equal(rows[2].name, "eth3");
    assert_string_equal(rows[3].name, "bond0");
    assert_int_equal(rows[3].type, 161);
    assert_string_equal(rows[4].name, "xapi2");
    assert_string_equal(rows[4].descr, "eth0.30");
    assert_int_equal(rows[4].type, 135);
    assert_string_equal(rows[5].name, "vif1.0");
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rows[i].index, i + 1);
    }
    /* The bond adds up its members and is up with one of them. */
    assert_int_equal(rows[3].stats[SNMP_STAT_IN_OCTETS], 110);
    assert_int_equal(rows[3].stats[SNMP_STAT_OUT_UCAST], 3);
    assert_int_equal(rows[3].oper, 1);
    assert_int_equal(rows[3].speed, 1000);
    assert_int_equal(rows[3].mtu, 9000);
    assert_int_equal(rows[2].oper, 2);
    assert_string_equal(rows[0].alias, "mgmt");
    free(rows);

    /* A later host keeps every index, whatever the order of records. */
    json_object_object_del(json_object_object_get(r, "PIF"), PIF2);
    rows = snmp_interfaces_build(&src, &n);
    assert_int_equal(n, 5);
    assert_string_equal(rows[1].name, "eth3");
    assert_int_equal(rows[1].index, 3);
    free(rows);
    json_object_put(indexes);
    json_object_put(o);
    json_object_put(r);
}

static void
test_if_mib(void **state)
{
    struct json_object *indexes = json_object_new_object();
    struct snmp_view view;

    build(&view, indexes, NULL);
    assert_int_equal(number(&view, "1.3.6.1.2.1.2.1.0"), 6);
    /* eth0: 64-bit counters whole, 32-bit ones wrapped. */
    assert_int_equal(number(&view, "1.3.6.1.2.1.31.1.1.1.6.1"), 5000000000);
    assert_int_equal(number(&view, "1.3.6.1.2.1.2.2.1.10.1"),
                     5000000000 & 0xffffffff);
    assert_int_equal(number(&view, "1.3.6.1.2.1.31.1.1.1.7.1"), 600);
    assert_int_equal(number(&view, "1.3.6.1.2.1.31.1.1.1.8.1"), 100);
    assert_int_equal(number(&view, "1.3.6.1.2.1.2.2.1.13.1"), 3);
    assert_int_equal(number(&view, "1.3.6.1.2.1.31.1.1.1.10.1"), 12345);
    assert_string_equal(text(&view, "1.3.6.1.2.1.31.1.1.1.1.1"), "eth0");
    assert_string_equal(text(&view, "1.3.6.1.2.1.31.1.1.1.18.1"), "mgmt");
    assert_int_equal(number(&view, "1.3.6.1.2.1.31.1.1.1.15.1"), 10000);
    assert_int_equal(number(&view, "1.3.6.1.2.1.2.2.1.5.1"), 4294967295);
    assert_int_equal(number(&view, "1.3.6.1.2.1.2.2.1.3.4"), 161);
    assert_int_equal(number(&view, "1.3.6.1.2.1.2.2.1.8.3"), 2);
    const struct snmp_entry *mac = get(&view, "1.3.6.1.2.1.2.2.1.6.1");
    assert_int_equal(mac->octets_len, 6);
    assert_memory_equal(mac->octets, "\x02\x00\x00\x00\x00\x10", 6);

    /* Stack: bond0 over eth2 and eth3, the VLAN over eth0, and the ends. */
    assert_int_equal(number(&view, "1.3.6.1.2.1.31.1.2.1.3.4.2"), 1);
    assert_int_equal(number(&view, "1.3.6.1.2.1.31.1.2.1.3.4.3"), 1);
    assert_int_equal(number(&view, "1.3.6.1.2.1.31.1.2.1.3.5.1"), 1);
    assert_int_equal(number(&view, "1.3.6.1.2.1.31.1.2.1.3.0.4"), 1);
    assert_int_equal(number(&view, "1.3.6.1.2.1.31.1.2.1.3.2.0"), 1);
    assert_null(get(&view, "1.3.6.1.2.1.31.1.2.1.3.0.2"));
    assert_null(get(&view, "1.3.6.1.2.1.31.1.2.1.3.4.0"));
    snmp_view_clear(&view);
    json_object_put(indexes);
}

static void
test_lag_and_netpool_mib(void **state)
{
    struct json_object *indexes = json_object_new_object();
    struct json_object *lacp = snmp_lacp_parse(lacp_show, lacp_stats);
    struct snmp_view view;

    /* The parser. */
    struct json_object *eth2 = json_object_object_get(
        json_object_object_get(json_object_object_get(lacp, "bond0"),
                               "members"),
        "eth2");
    assert_int_equal(fixture_int(eth2, "partner_key"), 5);
    assert_int_equal(fixture_int(eth2, "actor_state"), 0x3f);
    assert_int_equal(fixture_int(eth2, "rx_pdus"), 9);
    assert_string_equal(fixture_string(eth2, "partner_sys_id"),
                        "e6:9c:af:54:51:46");

    build(&view, indexes, lacp);
    /* dot3adAggTable for bond0 (ifIndex 4). */
    const struct snmp_entry *sys =
        get(&view, "1.2.840.10006.300.43.1.1.1.1.4.4");
    assert_memory_equal(sys->octets, "\xce\x04\xa6\x27\xa1\x43", 6);
    assert_int_equal(number(&view, "1.2.840.10006.300.43.1.1.1.1.10.4"), 5);
    /* dot3adAggPortTable: eth2 attached, eth3 not. */
    assert_int_equal(number(&view, "1.2.840.10006.300.43.1.2.1.1.13.2"), 4);
    assert_int_equal(number(&view, "1.2.840.10006.300.43.1.2.1.1.13.3"), 0);
    assert_int_equal(number(&view, "1.2.840.10006.300.43.1.2.1.1.17.2"), 5);
    /* LacpState BITS: activity … distributing are the top six bits. */
    const struct snmp_entry *st =
        get(&view, "1.2.840.10006.300.43.1.2.1.1.21.2");
    assert_int_equal((uint8_t) st->octets[0], 0xfc);
    /* dot3adAggPortStatsTable. */
    assert_int_equal(number(&view, "1.2.840.10006.300.43.1.2.2.1.1.2"), 9);
    assert_int_equal(number(&view, "1.2.840.10006.300.43.1.2.2.1.6.2"), 7);
    assert_int_equal(number(&view, "1.2.840.10006.300.43.1.2.2.1.5.2"), 1);

    /* NETPOOL-MIB: host, VM, bond. */
    assert_string_equal(text(&view, "1.3.6.1.4.1.99999.1.1.1.3.1"), "h1");
    assert_int_equal(number(&view, "1.3.6.1.4.1.99999.1.1.1.8.1"), 1);
    assert_string_equal(text(&view, "1.3.6.1.4.1.99999.1.1.1.9.1"), "stay");
    assert_string_equal(text(&view, "1.3.6.1.4.1.99999.1.2.1.3.1"), "web");
    assert_int_equal(number(&view, "1.3.6.1.4.1.99999.1.2.1.4.1"), 3);
    assert_int_equal(number(&view, "1.3.6.1.4.1.99999.1.2.1.6.1"), 256);
    assert_string_equal(text(&view, "1.3.6.1.4.1.99999.1.2.1.8.1"),
                        "best-effort");
    assert_int_equal(number(&view, "1.3.6.1.4.1.99999.1.3.1.4.4"), 3);
    assert_int_equal(number(&view, "1.3.6.1.4.1.99999.1.3.1.5.4"), 1);
    assert_int_equal(number(&view, "1.3.6.1.4.1.99999.1.3.1.6.4"), 2);
    assert_int_equal(number(&view, "1.3.6.1.4.1.99999.1.3.1.7.4"), 2);
    assert_int_equal(number(&view, "1.3.6.1.4.1.99999.1.3.1.8.4"), 2);
    snmp_view_clear(&view);
    json_object_put(lacp);
    json_object_put(indexes);
}

/* Messages map onto the NETPOOL-MIB notifications of doc/NETPOOL-MIB.txt,
 * each naming its object by the field that labels it. */
static void
test_message_notes(void **state)
{
    static const struct {
        const char *message;
        uint32_t trap;
        const char *class, *name_field;
    } expected[] = {
        {"MTU_MISMATCH", 2, "network", "name_label"},
        {"VM_CRASHED", 3, "VM", "name_label"},
        {"MANAGEMENT_RECONFIGURE_ROLLED_BACK", 4, "PIF", "device"},
        {"HA_VM_RESTARTED", 5, "VM", "name_label"},
        {"HA_VM_UNPLACEABLE", 6, "VM", "name_label"},
    };

    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
        const struct snmp_message_note *note =
            snmp_message_note(expected[i].message);
        assert_non_null(note);
        assert_string_equal(note->message, expected[i].message);
        assert_int_equal(note->trap, expected[i].trap);
        assert_string_equal(note->class, expected[i].class);
        assert_string_equal(note->name_field, expected[i].name_field);
    }
    /* BOND_STATUS_CHANGED carries the bond's row (snmp.c); others send
     * nothing. */
    assert_null(snmp_message_note("BOND_STATUS_CHANGED"));
    assert_null(snmp_message_note("HA_MANAGEMENT_NOT_BONDED"));
    assert_null(snmp_message_note(""));
}

/* Of the pool members holding a message, the host that raised it sends
 * its notification; one that names no host is every host's. */
static void
test_message_is_ours(void **state)
{
    struct json_object *message = json_tokener_parse(
        "{\"name\": \"HA_VM_RESTARTED\", \"raised_on\": \"h-1\"}");

    assert_true(snmp_message_is_ours(message, "h-1"));
    assert_false(snmp_message_is_ours(message, "h-2"));
    assert_false(snmp_message_is_ours(message, ""));
    json_object_object_add(message, "raised_on", json_object_new_string(""));
    assert_true(snmp_message_is_ours(message, "h-2"));
    json_object_object_del(message, "raised_on");
    assert_true(snmp_message_is_ours(message, "h-2"));
    json_object_object_add(message, "raised_on", json_object_new_int(1));
    assert_true(snmp_message_is_ours(message, "h-2"));
    json_object_put(message);
}

/* Returns the code and parameters of the error of checking 'key'='value'
 * as "CODE p1 p2", or "" for none. */
static char *
check(const char *key, const char *value)
{
    struct np_error *error = dp_flow_export_check(key, value);
    char *result = error ? np_error_to_string(error) : xstrdup("");
    np_error_destroy(error);
    return result;
}

static void
test_flow_settings(void **state)
{
    static const char *const good[][2] = {
        {"flow-sflow-targets", "127.0.0.1:6343"},
        {"flow-sflow-targets", "127.0.0.1:6343,[::1]:6343"},
        {"flow-sflow-targets", ""},
        {"flow-sflow-sampling", "64"},
        {"flow-sflow-polling", "10"},
        {"flow-sflow-agent", "eth0"},
        {"flow-ipfix-targets", "198.18.20.1:4739"},
        {"flow-ipfix-active-timeout", "1"},
        {"flow-ipfix-obs-domain-id", "4294967295"},
        {"flow-netflow-active-timeout", "-1"},
        {"flow-netflow-engine-id", "255"},
        {"owner", "anything"},
    };
    static const char *const bad[][2] = {
        {"flow-sflow-targets", "127.0.0.1"},
        {"flow-sflow-targets", "127.0.0.1:0"},
        {"flow-sflow-targets", "127.0.0.1:65536"},
        {"flow-sflow-targets", "collector:6343"},
        {"flow-sflow-targets", "127.0.0.1:6343,"},
        {"flow-sflow-targets", "127.0.0.1:6343,127.0.0.1:6343"},
        {"flow-sflow-sampling", "0"},
        {"flow-sflow-sampling", "many"},
        {"flow-sflow-polling", "3601"},
        {"flow-ipfix-active-timeout", "4201"},
        {"flow-netflow-engine-id", "256"},
        {"flow-sflow-agent", "a b"},
        {"flow-bogus", "1"},
    };

    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char *e = check(good[i][0], good[i][1]);
        assert_string_equal(e, "");
        free(e);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *e = check(bad[i][0], bad[i][1]);
        char *want = xasprintf("INVALID_VALUE(other_config:%s, %s)", bad[i][0],
                               bad[i][1]);
        assert_string_equal(e, want);
        free(want);
        free(e);
    }
}

static void
test_flow_fabric(void **state)
{
    struct json_object *r = fixture_json(
        "{'host': {'" HOST "': {'other_config': {"
        "   'flow-ipfix-targets': '127.0.0.1:4739',"
        "   'flow-ipfix-sampling': '1', 'flow-ipfix-active-timeout': '2',"
        "   'flow-sflow-targets': '127.0.0.1:6343'}}},"
        " 'network': {"
        "  '" NET0 "': {'bridge': 'xenbr0', 'MTU': 1500, 'other_config': {"
        "    'flow-sflow-targets': '127.0.0.1:6344,127.0.0.1:6345',"
        "    'flow-sflow-sampling': '10', 'flow-sflow-polling': '5',"
        "    'flow-netflow-targets': '127.0.0.1:2055',"
        "    'flow-netflow-active-timeout': '30'}},"
        "  '" NETB "': {'bridge': 'xenbr1', 'MTU': 1500, 'other_config': {"
        "    'flow-sflow-targets': '', 'flow-ipfix-sampling': 'x'}}},"
        " 'PIF': {"
        "  '" PIF0 "': {'device': 'eth0', 'host': '" HOST "',"
        "    'network': '" NET0 "', 'currently_attached': true,"
        "    'VLAN': -1, 'physical': true, 'bond_slave_of': ''},"
        "  '" PIF2 "': {'device': 'eth1', 'host': '" HOST "',"
        "    'network': '" NETB "', 'currently_attached': true,"
        "    'VLAN': -1, 'physical': true, 'bond_slave_of': ''}}}");
    struct json_object *fabric = dp_fabric_build(r, HOST, "netdev");
    struct json_object *bridges = json_object_object_get(fabric, "bridges");
    struct json_object *br0 = json_object_object_get(bridges, "xenbr0");
    struct json_object *br1 = json_object_object_get(bridges, "xenbr1");

    /* xenbr0: its network's sFlow and NetFlow, the host's IPFIX. */
    struct json_object *sflow = json_object_object_get(br0, "sflow");
    assert_non_null(sflow);
    struct json_object *targets = json_object_object_get(sflow, "targets");
    assert_int_equal(json_object_array_length(targets), 2);
    assert_true(fixture_array_has(targets, "127.0.0.1:6345"));
    assert_int_equal(fixture_int(sflow, "sampling"), 10);
    assert_int_equal(fixture_int(sflow, "polling"), 5);
    assert_string_equal(
        fixture_string(json_object_object_get(sflow, "external_ids"),
                       "netpool-network"),
        NET0);
    struct json_object *ipfix = json_object_object_get(br0, "ipfix");
    assert_int_equal(fixture_int(ipfix, "sampling"), 1);
    assert_int_equal(fixture_int(ipfix, "cache_active_timeout"), 2);
    assert_int_equal(
        fixture_int(json_object_object_get(br0, "netflow"), "active_timeout"),
        30);

    /* xenbr1: targets "" turn the host's sFlow off; without targets of
     * its own, its IPFIX sampling does not count and the host's IPFIX
     * applies; no NetFlow anywhere but xenbr0. */
    assert_null(json_object_object_get(br1, "sflow"));
    assert_int_equal(
        fixture_int(json_object_object_get(br1, "ipfix"), "sampling"), 1);
    assert_null(json_object_object_get(br1, "netflow"));

    /* A network whose settings of a protocol do not pass the check
     * exports nothing of it. */
    json_object_object_add(
        json_object_object_get(
            json_object_object_get(json_object_object_get(r, "network"), NET0),
            "other_config"),
        "flow-sflow-sampling", json_object_new_string("0"));
    json_object_put(fabric);
    fabric = dp_fabric_build(r, HOST, "netdev");
    br0 = json_object_object_get(json_object_object_get(fabric, "bridges"),
                                 "xenbr0");
    assert_null(json_object_object_get(br0, "sflow"));
    assert_non_null(json_object_object_get(br0, "netflow"));

    json_object_put(fabric);
    json_object_put(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_order),
        cmocka_unit_test(test_index_assign),
        cmocka_unit_test(test_interfaces),
        cmocka_unit_test(test_if_mib),
        cmocka_unit_test(test_lag_and_netpool_mib),
        cmocka_unit_test(test_message_notes),
        cmocka_unit_test(test_message_is_ours),
        cmocka_unit_test(test_flow_settings),
        cmocka_unit_test(test_flow_fabric),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
