/*
 * Unit tests of VIFs: MAC parsing and generation (datapath/vif-mac.c), the
 * VIF ports of the desired fabric and the namespace guests
 * (datapath/fabric-vif.c), the OpenFlow rules and meters of locking mode
 * and rate limits (datapath/vif-flows.c), and the VM and VIF methods of
 * the API (mgmt/api-vif.c) over a store in a scratch directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "lib/error.h"
#include "lib/jsonrpc.h"
#include "lib/uuid.h"
#include "mgmt/mgmt.h"
#include "mgmt/store.h"
#include "tests/unit/fixture.h"

#define HOST "11111111-1111-4111-8111-111111111111"
#define OTHER "22222222-2222-4222-8222-222222222222"
#define NET1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define NET2 "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define VNET "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
#define PIF1 "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
#define VPIF "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"
#define VLAN1 "ffffffff-ffff-4fff-8fff-ffffffffffff"
#define VM1 "12121212-1212-4212-8212-121212121212"
#define VIF1 "34343434-3434-4434-8434-343434343434"
#define MAC1 "02:00:00:00:00:01"

/* MACs. */

static void
test_mac_parse(void **state)
{
    char mac[DP_MAC_LENGTH + 1];

    assert_true(dp_vif_mac_parse("02:ab:CD:00:11:ff", mac));
    assert_string_equal(mac, "02:ab:cd:00:11:ff");
    assert_true(dp_vif_mac_parse("00:16:3e:00:00:01", mac));

    static const char *const bad[] = {
        "01:00:5e:00:00:01", /* Multicast. */
        "ff:ff:ff:ff:ff:ff", /* Broadcast. */
        "00:00:00:00:00:00", /* Nobody. */
        "02:00:00:00:00",    /* Short. */
        "02:00:00:00:00:0g", /* Not hex. */
        "02-00-00-00-00-01", /* Other separator. */
        "02:00:00:00:00:001", " 2:00:00:00:00:01", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_false(dp_vif_mac_parse(bad[i], mac));
    }
    assert_false(dp_vif_mac_parse(NULL, mac));
}

/* Generated MACs are valid, locally administered unicast, and do not
 * repeat. */
static void
test_mac_generate(void **state)
{
    struct json_object *seen = json_object_new_object();

    for (int i = 0; i < 2000; i++) {
        char mac[DP_MAC_LENGTH + 1], parsed[DP_MAC_LENGTH + 1];
        unsigned int first;

        dp_vif_mac_generate(mac);
        assert_true(dp_vif_mac_parse(mac, parsed));
        assert_string_equal(mac, parsed);
        assert_int_equal(sscanf(mac, "%2x", &first), 1);
        assert_true(first & 0x02);
        assert_false(first & 0x01);
        assert_false(json_object_object_get_ex(seen, mac, NULL));
        json_object_object_add(seen, mac, NULL);
    }
    json_object_put(seen);
}

static void
test_port_name(void **state)
{
    char name[IF_NAMESIZE];

    assert_true(dp_vif_port_name(1, "0", name));
    assert_string_equal(name, "vif1.0");
    assert_true(dp_vif_port_name(DP_VIF_INDEX_MAX, "9999", name));
    assert_string_equal(name, "vif99999.9999");
    assert_true(strlen(name) < IF_NAMESIZE);
    assert_true(dp_vif_port_name(3, "07", name));
    assert_string_equal(name, "vif3.7");
    assert_false(dp_vif_port_name(0, "0", name));
    assert_false(dp_vif_port_name(DP_VIF_INDEX_MAX + 1, "0", name));
    assert_false(dp_vif_port_name(1, "10000", name));
    assert_false(dp_vif_port_name(1, "-1", name));
    assert_false(dp_vif_port_name(1, "1a", name));
    assert_false(dp_vif_port_name(1, "", name));
}

/* The fabric. */

/* Records of one host: NET1 on eth0 (xenbr0, MTU 9000), NET2 private
 * (xapi1), VNET a VLAN 10 network on eth0's, VM1 with index 1 and VIF1 on
 * 'network' with the extra VIF fields 'vif_extra' and VM fields
 * 'vm_extra'. */
static struct json_object *
records(const char *network, const char *vif_extra, const char *vm_extra)
{
    struct json_object *r = fixture_json(
        "{'network': {"
        "  '" NET1 "': {'bridge': 'xenbr0', 'MTU': 9000},"
        "  '" NET2 "': {'bridge': 'xapi1', 'MTU': 1500},"
        "  '" VNET "': {'bridge': 'xapi2', 'MTU': 1500}},"
        " 'PIF': {"
        "  '" PIF1 "': {'device': 'eth0', 'host': '" HOST "',"
        "    'network': '" NET1 "', 'currently_attached': true,"
        "    'VLAN': -1, 'physical': true, 'bond_slave_of': ''},"
        "  '" VPIF "': {'device': 'eth0', 'host': '" HOST "',"
        "    'network': '" VNET "', 'currently_attached': true,"
        "    'VLAN': 10, 'physical': false, 'bond_slave_of': ''}},"
        " 'VLAN': {'" VLAN1 "': {'tagged_PIF': '" PIF1 "',"
        "    'untagged_PIF': '" VPIF "', 'tag': 10}},"
        " 'VM': {'" VM1 "': {'resident_on': '',"
        "    'other_config': {'netpool-vif-index': '1'}%s}},"
        " 'VIF': {'" VIF1 "': {'VM': '" VM1 "', 'network': '%s',"
        "    'device': '2', 'MAC': '" MAC1 "', 'currently_attached': true,"
        "    'qos_algorithm_type': '', 'qos_algorithm_params': {},"
        "    'locking_mode': 'network_default', 'ipv4_allowed': [],"
        "    'other_config': {'netns': 'guest1'}%s}}}",
        vm_extra, network, vif_extra);
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

/* A plugged VIF of a namespace guest on a private network brings the
 * network's bridge up with a port vif<index>.<device>, whose interface
 * carries the integration guide's external_ids and the network's MTU. */
static void
test_fabric_private(void **state)
{
    struct json_object *r = records(NET2, "", "");
    struct json_object *f = dp_fabric_build(r, HOST, "netdev");
    struct json_object *br = path(f, "bridges", "xapi1", NULL, NULL);

    assert_non_null(br);
    assert_string_equal(fixture_string(br, "datapath_type"), "netdev");
    assert_string_equal(
        fixture_string(json_object_object_get(br, "external_ids"),
                       "netpool-network"),
        NET2);
    assert_non_null(path(br, "ports", "xapi1", "interfaces", "xapi1"));
    struct json_object *port = path(br, "ports", "vif1.2", NULL, NULL);
    assert_non_null(port);
    assert_null(json_object_object_get(port, "tag"));
    assert_string_equal(
        fixture_string(json_object_object_get(port, "external_ids"),
                       "netpool-vif"),
        VIF1);
    struct json_object *iface = path(port, "interfaces", "vif1.2", NULL, NULL);
    assert_string_equal(fixture_string(iface, "type"), "");
    assert_int_equal(fixture_int(iface, "mtu_request"), 1500);
    struct json_object *ids = json_object_object_get(iface, "external_ids");
    assert_string_equal(fixture_string(ids, "iface-id"), VIF1);
    assert_string_equal(fixture_string(ids, "attached-mac"), MAC1);
    assert_string_equal(fixture_string(ids, "vm-id"), VM1);
    assert_string_equal(fixture_string(ids, "iface-status"), "active");
    assert_null(json_object_object_get(iface, "ingress_policing_rate"));
    json_object_put(f);
    json_object_put(r);
}

/* On a network with a PIF, the VIF joins the PIF's bridge; on a VLAN
 * network, the parent's bridge with the VLAN as its tag. */
static void
test_fabric_placement(void **state)
{
    struct json_object *r = records(NET1, "", "");
    struct json_object *f = dp_fabric_build(r, HOST, "netdev");
    struct json_object *port = path(f, "bridges", "xenbr0", "ports", "vif1.2");

    assert_non_null(port);
    assert_non_null(path(f, "bridges", "xenbr0", "ports", "eth0"));
    assert_int_equal(
        fixture_int(path(port, "interfaces", "vif1.2", NULL, NULL),
                    "mtu_request"),
        9000);
    assert_null(path(f, "bridges", "xapi1", NULL, NULL));
    json_object_put(f);
    json_object_put(r);

    r = records(VNET, "", "");
    f = dp_fabric_build(r, HOST, "netdev");
    port = path(f, "bridges", "xenbr0", "ports", "vif1.2");
    assert_non_null(port);
    assert_int_equal(fixture_int(port, "tag"), 10);
    assert_null(path(f, "bridges", "xapi2", NULL, NULL));
    json_object_put(f);
    json_object_put(r);
}

/* No port for a VIF that is unplugged, whose VM has no index, or whose VM
 * is neither a namespace guest nor resident here; a VM resident here gets
 * its ports without a namespace. */
static void
test_fabric_excluded(void **state)
{
    static const struct {
        const char *vif, *vm;
        bool port;
    } cases[] = {
        {", 'currently_attached': false", "", false},
        {"", ", 'other_config': {}", false},
        {"", ", 'other_config': {'netpool-vif-index': 'x'}", false},
        {", 'other_config': {}", ", 'resident_on': '" OTHER "'", false},
        {", 'other_config': {}", ", 'resident_on': '" HOST "'", true},
        {", 'device': 'eth'", "", false},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct json_object *r = records(NET2, cases[i].vif, cases[i].vm);
        struct json_object *f = dp_fabric_build(r, HOST, "netdev");
        struct json_object *port =
            path(f, "bridges", "xapi1", "ports", "vif1.2");
        assert_true(cases[i].port == (port != NULL));
        if (!cases[i].port) {
            /* A private network's bridge comes only with a VIF. */
            assert_null(path(f, "bridges", "xapi1", NULL, NULL));
        }
        json_object_put(f);
        json_object_put(r);
    }
}

/* On a dpdk host a VM's VIF is a vhost-user client port on the socket of
 * its port name in the host's folder; a namespace guest's stays a veth
 * port; a VIF with other_config:vhost-user=external has its port though
 * its VM runs nowhere, and only on a dpdk host. */
static void
test_fabric_vhost_user(void **state)
{
    struct json_object *r =
        records(NET2, ", 'other_config': {}", ", 'resident_on': '" HOST "'");
    json_object_object_add(r, "host",
                           fixture_json("{'" HOST "': {'datapath': 'dpdk'}}"));
    struct json_object *f = dp_fabric_build(r, HOST, "netdev");
    struct json_object *iface = path(f, "bridges", "xapi1", "ports", "vif1.2");
    iface = path(iface, "interfaces", "vif1.2", NULL, NULL);
    char *socket = dp_vif_vhost_socket(HOST, "vif1.2");

    assert_non_null(iface);
    assert_string_equal(fixture_string(iface, "type"), "dpdkvhostuserclient");
    assert_string_equal(socket, DP_VHOST_ROOT "/" HOST "/vif1.2.sock");
    assert_string_equal(
        fixture_string(json_object_object_get(iface, "options"),
                       "vhost-server-path"),
        socket);
    /* OVS's defaults unless the VIF says otherwise. */
    assert_null(fixture_string(json_object_object_get(iface, "options"),
                               "tx-retries-max"));
    assert_null(fixture_string(json_object_object_get(iface, "other_config"),
                               "pmd-rxq-affinity"));
    free(socket);
    json_object_put(f);
    json_object_put(r);

    /* The VIF's retries and queue placement reach its port. */
    r = records(NET2,
                ", 'other_config': {'vhost-tx-retries': '0',"
                " 'dpdk-pmd-rxq-affinity': '0:1,1:2'}",
                ", 'resident_on': '" HOST "'");
    json_object_object_add(r, "host",
                           fixture_json("{'" HOST "': {'datapath': 'dpdk'}}"));
    f = dp_fabric_build(r, HOST, "netdev");
    iface = path(f, "bridges", "xapi1", "ports", "vif1.2");
    iface = path(iface, "interfaces", "vif1.2", NULL, NULL);
    assert_string_equal(
        fixture_string(json_object_object_get(iface, "options"),
                       "tx-retries-max"),
        "0");
    assert_string_equal(
        fixture_string(json_object_object_get(iface, "other_config"),
                       "pmd-rxq-affinity"),
        "0:1,1:2");
    json_object_put(f);
    json_object_put(r);

    assert_true(dp_vif_vhost_value_valid("vhost-tx-retries", "32"));
    assert_false(dp_vif_vhost_value_valid("vhost-tx-retries", "33"));
    assert_false(dp_vif_vhost_value_valid("vhost-tx-retries", "-1"));
    assert_true(dp_vif_vhost_value_valid("dpdk-pmd-rxq-affinity", "0:3"));
    assert_false(dp_vif_vhost_value_valid("dpdk-pmd-rxq-affinity", "0:"));
    assert_false(dp_vif_vhost_value_valid("dpdk-pmd-rxq-affinity", "0:1,"));
    assert_false(dp_vif_vhost_value_valid("dpdk-pmd-rxq-affinity", "a:1"));
    assert_true(dp_vif_vhost_value_valid("vhost-queues", "whatever"));

    /* A namespace guest on a dpdk host. */
    r = records(NET2, "", "");
    json_object_object_add(r, "host",
                           fixture_json("{'" HOST "': {'datapath': 'dpdk'}}"));
    f = dp_fabric_build(r, HOST, "netdev");
    iface = path(f, "bridges", "xapi1", "ports", "vif1.2");
    assert_string_equal(
        fixture_string(path(iface, "interfaces", "vif1.2", NULL, NULL),
                       "type"),
        "");
    json_object_put(f);
    json_object_put(r);

    /* External: a port on a dpdk host only. */
    static const char *const datapaths[] = {"dpdk", "netdev"};
    for (size_t i = 0; i < 2; i++) {
        char *host = NULL;
        r = records(NET2, ", 'other_config': {'vhost-user': 'external'}", "");
        assert_int_not_equal(
            asprintf(&host, "{'" HOST "': {'datapath': '%s'}}", datapaths[i]),
            -1);
        json_object_object_add(r, "host", fixture_json(host));
        free(host);
        f = dp_fabric_build(r, HOST, "netdev");
        iface = path(f, "bridges", "xapi1", "ports", "vif1.2");
        if (i == 0) {
            assert_string_equal(
                fixture_string(path(iface, "interfaces", "vif1.2", NULL, NULL),
                               "type"),
                "dpdkvhostuserclient");
        } else {
            assert_null(iface);
        }
        json_object_put(f);
        json_object_put(r);
    }
}

/* A rate limit is the interface's ingress policing, with a tenth of a
 * second of burst; a bad rate is none. */
static void
test_fabric_qos(void **state)
{
    struct json_object *r =
        records(NET2,
                ", 'qos_algorithm_type': 'ratelimit',"
                " 'qos_algorithm_params': {'kbps': '10000'}",
                "");
    struct json_object *f = dp_fabric_build(r, HOST, "netdev");
    struct json_object *iface = path(f, "bridges", "xapi1", "ports", "vif1.2");

    iface = path(iface, "interfaces", "vif1.2", NULL, NULL);
    assert_int_equal(fixture_int(iface, "ingress_policing_rate"), 10000);
    assert_int_equal(fixture_int(iface, "ingress_policing_burst"), 1000);
    json_object_put(f);
    json_object_put(r);

    static const char *const bad[] = {"0", "-5", "1e3", "", "999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *extra = xasprintf(", 'qos_algorithm_type': 'ratelimit',"
                                " 'qos_algorithm_params': {'kbps': '%s'}",
                                bad[i]);
        r = records(NET2, extra, "");
        f = dp_fabric_build(r, HOST, "netdev");
        iface = path(f, "bridges", "xapi1", "ports", "vif1.2");
        iface = path(iface, "interfaces", "vif1.2", NULL, NULL);
        assert_null(json_object_object_get(iface, "ingress_policing_rate"));
        json_object_put(f);
        json_object_put(r);
        free(extra);
    }
    assert_int_equal(dp_vif_burst(300), 100);
}

static void
test_guests(void **state)
{
    struct json_object *r = records(NET2, "", "");
    struct json_object *g = dp_vif_guests_build(r, HOST);
    struct json_object *guest = json_object_object_get(g, VIF1);

    assert_int_equal(json_object_object_length(g), 1);
    assert_string_equal(fixture_string(guest, "port"), "vif1.2");
    assert_string_equal(fixture_string(guest, "netns"), "guest1");
    assert_string_equal(fixture_string(guest, "device"), "eth2");
    assert_string_equal(fixture_string(guest, "MAC"), MAC1);
    assert_int_equal(fixture_int(guest, "MTU"), 1500);
    json_object_put(g);
    json_object_put(r);

    /* A VM resident here has no namespace to make. */
    r = records(NET2, ", 'other_config': {}", ", 'resident_on': '" HOST "'");
    g = dp_vif_guests_build(r, HOST);
    assert_int_equal(json_object_object_length(g), 0);
    json_object_put(g);
    json_object_put(r);

    /* In a pool, a halted VM's guest lives on its affinity, and without
     * one on no host. */
    r = records(NET2, "", ", 'affinity': 'other-host'");
    g = dp_vif_guests_build(r, HOST);
    assert_int_equal(json_object_object_length(g), 0);
    json_object_put(g);
    g = dp_vif_guests_build(r, "other-host");
    assert_int_equal(json_object_object_length(g), 1);
    json_object_put(g);
    json_object_put(r);
    r = records(NET2, "", "");
    json_object_object_add(r, "host",
                           fixture_json("{'" HOST "': {}, 'other-host': {}}"));
    g = dp_vif_guests_build(r, HOST);
    assert_int_equal(json_object_object_length(g), 0);
    json_object_put(g);
    json_object_put(r);
}

/* Rules and meters. */

/* Returns the flows dp_vif_flows_build() wants on xapi1 for VIF1 with
 * 'vif_extra', the bridge being of 'datapath_type' and the VIF's port
 * numbered 'ofport' (0: unknown, -1: OVS could not open it), and stores
 * the bridge's state in '*statep' (owned by the result). */
static struct json_object *
flows_for(const char *vif_extra, const char *datapath_type, int ofport,
          struct json_object **statep)
{
    struct json_object *r = records(NET2, vif_extra, "");
    struct json_object *f = dp_fabric_build(r, HOST, datapath_type);
    struct json_object *observed =
        ofport ? fixture_json("{'vif1.2': %d}", ofport) : fixture_json("{}");
    struct json_object *want = dp_vif_flows_build(r, f, observed);

    *statep = json_object_object_get(want, "xapi1");
    json_object_put(observed);
    json_object_put(f);
    json_object_put(r);
    return want;
}

static bool
has_flow(struct json_object *state, const char *text)
{
    return fixture_array_has(json_object_object_get(state, "flows"), text);
}

#define COOKIE "cookie=0x4e50564946000000,"

static void
test_flows_locked(void **state_)
{
    struct json_object *state;
    struct json_object *want =
        flows_for(", 'locking_mode': 'locked',"
                  " 'ipv4_allowed': ['198.18.20.1', 'bogus', '198.18.20.5']",
                  "netdev", 7, &state);

    assert_int_equal(
        json_object_array_length(json_object_object_get(state, "flows")), 5);
    assert_true(has_flow(state, COOKIE "priority=4000,in_port=7,dl_src=" MAC1
                                       ",arp,arp_sha=" MAC1
                                       ",arp_spa=198.18.20.1,actions=NORMAL"));
    assert_true(has_flow(state, COOKIE "priority=4000,in_port=7,dl_src=" MAC1
                                       ",ip,nw_src=198.18.20.5,"
                                       "actions=NORMAL"));
    assert_true(
        has_flow(state, COOKIE "priority=3000,in_port=7,actions=drop"));
    assert_int_equal(
        json_object_object_length(json_object_object_get(state, "meters")), 0);
    json_object_put(want);

    want = flows_for(", 'locking_mode': 'disabled'", "netdev", 7, &state);
    assert_int_equal(
        json_object_array_length(json_object_object_get(state, "flows")), 1);
    assert_true(
        has_flow(state, COOKIE "priority=3000,in_port=7,actions=drop"));
    json_object_put(want);

    /* Unlocked: the bridge is there, with nothing to add. */
    want = flows_for(", 'locking_mode': 'unlocked'", "netdev", 7, &state);
    assert_non_null(state);
    assert_int_equal(
        json_object_array_length(json_object_object_get(state, "flows")), 0);
    json_object_put(want);
}

static void
test_flows_meter(void **state_)
{
    static const char *const qos = ", 'qos_algorithm_type': 'ratelimit',"
                                   " 'qos_algorithm_params': {'kbps': '8000'}";
    struct json_object *state, *want = flows_for(qos, "netdev", 3, &state);
    char id[16], text[160];

    snprintf(id, sizeof id, "%u", DP_VIF_METER_BASE + 3);
    struct json_object *band =
        json_object_object_get(json_object_object_get(state, "meters"), id);
    assert_non_null(band);
    assert_int_equal(fixture_int(band, "kbps"), 8000);
    assert_int_equal(fixture_int(band, "burst"), 800);
    snprintf(text, sizeof text,
             COOKIE "priority=2000,in_port=3,actions=meter:%s,NORMAL", id);
    assert_true(has_flow(state, text));
    json_object_put(want);

    /* Locked and limited: the allowed traffic goes through the meter. */
    char *extra = xasprintf("%s, 'locking_mode': 'locked',"
                            " 'ipv4_allowed': ['198.18.20.1']",
                            qos);
    want = flows_for(extra, "netdev", 3, &state);
    snprintf(text, sizeof text,
             COOKIE "priority=4000,in_port=3,dl_src=" MAC1
                    ",ip,nw_src=198.18.20.1,actions=meter:%s,NORMAL",
             id);
    assert_true(has_flow(state, text));
    json_object_put(want);
    free(extra);

    /* The kernel datapath polices by itself. */
    want = flows_for(qos, "system", 3, &state);
    assert_int_equal(
        json_object_object_length(json_object_object_get(state, "meters")), 0);
    assert_int_equal(
        json_object_array_length(json_object_object_get(state, "flows")), 0);
    json_object_put(want);
}

/* On a dpdk host a vhost-user VIF's rate limit is its port's ingress
 * policing alone (netdev-dpdk polices what it receives): no meter, and no
 * rule for an unlocked VIF; a locked one's allowed traffic goes straight
 * to NORMAL.  A namespace guest's veth port there still has its meter. */
static void
test_flows_dpdk_no_meter(void **state_)
{
    static const char *const qos = "'qos_algorithm_type': 'ratelimit',"
                                   " 'qos_algorithm_params': {'kbps': '8000'}";
    static const char *const locked =
        ", 'locking_mode': 'locked', 'ipv4_allowed': ['198.18.20.1']";

    for (int lock = 0; lock < 2; lock++) {
        char *extra =
            xasprintf(", %s, 'other_config': {}%s", qos, lock ? locked : "");
        struct json_object *r =
            records(NET2, extra, ", 'resident_on': '" HOST "'");
        json_object_object_add(
            r, "host", fixture_json("{'" HOST "': {'datapath': 'dpdk'}}"));
        struct json_object *f = dp_fabric_build(r, HOST, "netdev");
        struct json_object *port =
            path(f, "bridges", "xapi1", "ports", "vif1.2");
        struct json_object *iface =
            path(port, "interfaces", "vif1.2", NULL, NULL);
        struct json_object *observed = fixture_json("{'vif1.2': 3}");
        struct json_object *want = dp_vif_flows_build(r, f, observed);
        struct json_object *state = json_object_object_get(want, "xapi1");

        assert_string_equal(fixture_string(iface, "type"),
                            "dpdkvhostuserclient");
        assert_int_equal(fixture_int(iface, "ingress_policing_rate"), 8000);
        assert_int_equal(fixture_int(iface, "ingress_policing_burst"), 800);
        assert_int_equal(
            json_object_object_length(json_object_object_get(state, "meters")),
            0);
        assert_int_equal(
            json_object_array_length(json_object_object_get(state, "flows")),
            lock ? 3 : 0);
        if (lock) {
            assert_true(has_flow(state, COOKIE
                                 "priority=4000,in_port=3,dl_src=" MAC1
                                 ",ip,nw_src=198.18.20.1,actions=NORMAL"));
        }
        json_object_put(want);
        json_object_put(observed);
        json_object_put(f);
        json_object_put(r);
        free(extra);
    }

    /* A namespace guest's veth on the same dpdk host: AF_PACKET, metered. */
    char *extra = xasprintf(", %s", qos);
    struct json_object *r = records(NET2, extra, "");
    json_object_object_add(r, "host",
                           fixture_json("{'" HOST "': {'datapath': 'dpdk'}}"));
    struct json_object *f = dp_fabric_build(r, HOST, "netdev");
    struct json_object *observed = fixture_json("{'vif1.2': 3}");
    struct json_object *want = dp_vif_flows_build(r, f, observed);
    struct json_object *state = json_object_object_get(want, "xapi1");
    assert_int_equal(
        json_object_object_length(json_object_object_get(state, "meters")), 1);
    json_object_put(want);
    json_object_put(observed);
    json_object_put(f);
    json_object_put(r);
    free(extra);
}

/* A port without its OpenFlow number yet has no rules, and marks its
 * bridge incomplete so that its old rules are not taken for stale. */
static void
test_flows_unknown_port(void **state_)
{
    struct json_object *state,
        *want = flows_for(", 'locking_mode': 'disabled'", "netdev", 0, &state);

    assert_int_equal(
        json_object_array_length(json_object_object_get(state, "flows")), 0);
    assert_true(fixture_bool(state, "incomplete"));
    json_object_put(want);
}

/* A port OVS could not open (OpenFlow port -1) has no OpenFlow port: no
 * rules, and nothing to wait for, so that the rules it had for the number
 * it no longer has are not kept. */
static void
test_flows_failed_port(void **state_)
{
    static const char *const qos = ", 'qos_algorithm_type': 'ratelimit',"
                                   " 'qos_algorithm_params': {'kbps': '8000'},"
                                   " 'locking_mode': 'disabled'";
    struct json_object *state, *want = flows_for(qos, "netdev", -1, &state);

    assert_non_null(state);
    assert_int_equal(
        json_object_array_length(json_object_object_get(state, "flows")), 0);
    assert_int_equal(
        json_object_object_length(json_object_object_get(state, "meters")), 0);
    assert_false(json_object_object_get_ex(state, "incomplete", NULL));
    json_object_put(want);
}

/* The API. */

/* One test's API over a scratch store. */
struct fixture {
    char *dir;                    /* Scratch directory. */
    struct store *store;          /* Store in 'dir'. */
    struct event_base *base;      /* Loop for deferred work. */
    struct api *api;              /* The API under test. */
    struct json_object *response; /* The last response. */
};

static int
setup(void **state)
{
    struct fixture *fx = xzalloc(sizeof *fx);
    char host[UUID_LENGTH + 1];
    char password[PASSWORD_LENGTH + 1];

    fx->dir = fixture_dir_create();
    assert_non_null(fx->dir);
    char *db = xasprintf("%s/netpool.db", fx->dir);
    assert_int_equal(store_open(db, &fx->store), 0);
    free(db);
    fx->base = event_base_new();
    assert_int_equal(uuid_text_random(host), 0);
    fx->api = api_create(fx->store, fx->base, host);
    assert_int_equal(api_ensure_root(fx->api, password), 1);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    api_destroy(fx->api);
    json_object_put(fx->response);
    event_base_free(fx->base);
    store_close(fx->store);
    fixture_dir_remove(fx->dir);
    free(fx);
    return 0;
}

static void
capture(void *fx_, struct json_object *response)
{
    struct fixture *fx = fx_;

    json_object_put(fx->response);
    fx->response = response;
}

/* Calls 'method' locally with the JSON params after the session, given
 * printf-style with single quotes; returns the response (owned by 'fx'). */
static struct json_object *rpc(struct fixture *fx, const char *method,
                               const char *params, ...)
    __attribute__((format(printf, 3, 4)));

static struct json_object *
rpc(struct fixture *fx, const char *method, const char *params, ...)
{
    va_list args;
    char *text;

    va_start(args, params);
    assert_true(vasprintf(&text, params, args) >= 0);
    va_end(args);
    char *full = xasprintf("[''%s%s]", *text ? ", " : "", text);
    struct json_object *json = fixture_json("%s", full);
    assert_non_null(json);
    struct json_object *msg = jsonrpc_make_request(method, json, 1);
    const char *body =
        json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    assert_null(api_handle(fx->api, body, strlen(body), true, capture, fx));
    json_object_put(msg);
    free(full);
    free(text);
    return fx->response;
}

/* Returns the result string of 'response', failing on an error. */
static const char *
result(struct json_object *response)
{
    struct json_object *value;
    if (!json_object_object_get_ex(response, "result", &value)) {
        fail_msg("error: %s", json_object_to_json_string(response));
    }
    return json_object_get_string(value);
}

/* Returns the error of 'response' as "CODE(p1, p2)" in 'buf'. */
static const char *
error_of(struct json_object *response, char *buf, size_t size)
{
    struct json_object *data = path(response, "error", "data", NULL, NULL);
    struct np_error *error = np_error_from_json(data);
    assert_non_null(error);
    char *text = np_error_to_string(error);
    snprintf(buf, size, "%s", text);
    free(text);
    np_error_destroy(error);
    return buf;
}

static size_t
count(struct fixture *fx, const char *class)
{
    struct json_object *all = store_get_all(fx->store, class);
    size_t n = json_object_object_length(all);
    json_object_put(all);
    return n;
}

static void
test_api_create(void **state)
{
    struct fixture *fx = *state;
    char vm[UUID_LENGTH + 1], net[UUID_LENGTH + 1], buf[256];

    snprintf(vm, sizeof vm, "%s",
             result(rpc(fx, "VM.create", "{'name_label': 'g1'}")));
    snprintf(net, sizeof net, "%s",
             result(rpc(fx, "network.create", "{'name_label': 'n'}")));

    /* Generated MACs: locally administered unicast, one per VIF. */
    struct json_object *macs = json_object_new_object();
    for (int device = 0; device < 20; device++) {
        const char *vif = result(rpc(
            fx, "VIF.create", "{'VM': '%s', 'network': '%s', 'device': '%d'}",
            vm, net, device));
        struct json_object *rec = store_get(fx->store, "VIF", vif);
        const char *mac = fixture_string(rec, "MAC");
        unsigned int first;
        assert_int_equal(sscanf(mac, "%2x", &first), 1);
        assert_int_equal(first & 0x03, 0x02);
        assert_false(json_object_object_get_ex(macs, mac, NULL));
        json_object_object_add(macs, mac, NULL);
        json_object_put(rec);
    }
    json_object_put(macs);

    /* The VM got its index with its first VIF. */
    struct json_object *vm_rec = store_get(fx->store, "VM", vm);
    assert_string_equal(
        fixture_string(json_object_object_get(vm_rec, "other_config"),
                       DP_VIF_INDEX_KEY),
        "1");
    assert_string_equal(fixture_string(vm_rec, "power_state"), "Halted");
    json_object_put(vm_rec);

    /* Rejected calls leave nothing behind. */
    size_t before = count(fx, "VIF");
    static const struct {
        const char *record, *error;
    } bad[] = {
        {"'device': '50', 'MAC': '02:00:00:00:00:0g'",
         "INVALID_VALUE(MAC, 02:00:00:00:00:0g)"},
        {"'device': '50', 'MAC': '03:00:00:00:00:01'",
         "INVALID_VALUE(MAC, 03:00:00:00:00:01)"},
        {"'device': '0'", "DEVICE_ALREADY_EXISTS(0)"},
        {"'device': '00'", "DEVICE_ALREADY_EXISTS(0)"},
        {"'device': 'x'", "INVALID_VALUE(device, x)"},
        {"'device': '50', 'qos_algorithm_type': 'fast'",
         "INVALID_VALUE(qos_algorithm_type, fast)"},
        {"'device': '50', 'ipv4_allowed': ['1.2.3']",
         "INVALID_VALUE(ipv4_allowed, 1.2.3)"},
        {"'device': '50', 'currently_attached': true",
         "INVALID_VALUE(currently_attached, not a field accepted on create)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct json_object *r =
            rpc(fx, "VIF.create", "{'VM': '%s', 'network': '%s', %s}", vm, net,
                bad[i].record);
        assert_string_equal(error_of(r, buf, sizeof buf), bad[i].error);
    }
    assert_int_equal(count(fx, "VIF"), before);

    /* A MAC in use, in any case. */
    const char *vif =
        result(rpc(fx, "VIF.create",
                   "{'VM': '%s', 'network': '%s', 'device': '30', 'MAC': "
                   "'02:AA:00:00:00:01'}",
                   vm, net));
    char first[UUID_LENGTH + 1];
    snprintf(first, sizeof first, "%s", vif);
    char *expected =
        xasprintf("MAC_ALREADY_IN_USE(02:aa:00:00:00:01, %s)", first);
    assert_string_equal(
        error_of(rpc(fx, "VIF.create",
                     "{'VM': '%s', 'network': '%s', 'device': '31', 'MAC': "
                     "'02:aa:00:00:00:01'}",
                     vm, net),
                 buf, sizeof buf),
        expected);
    free(expected);

    /* A destroyed network, an unknown VM. */
    char gone[UUID_LENGTH + 1];
    snprintf(gone, sizeof gone, "%s",
             result(rpc(fx, "network.create", "{'name_label': 'gone'}")));
    result(rpc(fx, "network.destroy", "'%s'", gone));
    expected = xasprintf("HANDLE_INVALID(network, %s)", gone);
    assert_string_equal(
        error_of(rpc(fx, "VIF.create",
                     "{'VM': '%s', 'network': '%s', 'device': '40'}", vm,
                     gone),
                 buf, sizeof buf),
        expected);
    free(expected);
    assert_string_equal(
        error_of(rpc(fx, "VIF.create",
                     "{'VM': 'nope', 'network': '%s', 'device': '40'}", net),
                 buf, sizeof buf),
        "HANDLE_INVALID(VM, nope)");
    assert_string_equal(error_of(rpc(fx, "VIF.create",
                                     "{'VM': '%s', 'network': '%s'}", vm, net),
                                 buf, sizeof buf),
                        "MISSING_PARAMETER(device)");
}

static void
test_api_lifecycle(void **state)
{
    struct fixture *fx = *state;
    char vm[UUID_LENGTH + 1], net[UUID_LENGTH + 1], vif[UUID_LENGTH + 1];
    char buf[256];

    snprintf(vm, sizeof vm, "%s",
             result(rpc(fx, "VM.create", "{'name_label': 'g1'}")));
    snprintf(net, sizeof net, "%s",
             result(rpc(fx, "network.create", "{'name_label': 'n'}")));
    snprintf(
        vif, sizeof vif, "%s",
        result(rpc(fx, "VIF.create",
                   "{'VM': '%s', 'network': '%s', 'device': '0'}", vm, net)));

    /* A halted VM has nowhere to plug into; a namespace guest has. */
    char *expected = xasprintf("VM_BAD_POWER_STATE(%s, Running, Halted)", vm);
    assert_string_equal(
        error_of(rpc(fx, "VIF.plug", "'%s'", vif), buf, sizeof buf), expected);
    free(expected);
    result(rpc(fx, "VIF.add_to_other_config", "'%s', 'netns', 'lo'", vif));
    assert_string_equal(error_of(rpc(fx, "VIF.add_to_other_config",
                                     "'%s', 'netns', '../x'", vif),
                                 buf, sizeof buf),
                        "INVALID_VALUE(other_config:netns, ../x)");
    assert_string_equal(error_of(rpc(fx, "VIF.set_other_config",
                                     "'%s', {'netns': '../x'}", vif),
                                 buf, sizeof buf),
                        "INVALID_VALUE(other_config:netns, ../x)");
    expected = xasprintf("DEVICE_ALREADY_DETACHED(%s)", vif);
    assert_string_equal(
        error_of(rpc(fx, "VIF.unplug", "'%s'", vif), buf, sizeof buf),
        expected);
    free(expected);

    /* Checked setters. */
    assert_string_equal(error_of(rpc(fx, "VIF.add_to_qos_algorithm_params",
                                     "'%s', 'kbps', 'fast'", vif),
                                 buf, sizeof buf),
                        "INVALID_VALUE(qos_algorithm_params:kbps, fast)");
    result(rpc(fx, "VIF.add_to_qos_algorithm_params", "'%s', 'kbps', '100'",
               vif));
    result(rpc(fx, "VIF.set_ipv4_allowed", "'%s', ['198.18.20.1']", vif));
    assert_string_equal(error_of(rpc(fx, "VIF.set_ipv4_allowed",
                                     "'%s', ['198.18.20.300']", vif),
                                 buf, sizeof buf),
                        "INVALID_VALUE(ipv4_allowed, 198.18.20.300)");

    /* The VM's index stays while its ports are named after it. */
    assert_string_equal(error_of(rpc(fx, "VM.remove_from_other_config",
                                     "'%s', '" DP_VIF_INDEX_KEY "'", vm),
                                 buf, sizeof buf),
                        "FIELD_READ_ONLY(other_config:" DP_VIF_INDEX_KEY ")");
    result(rpc(fx, "VM.set_other_config", "'%s', {'a': 'b'}", vm));
    struct json_object *vm_rec = store_get(fx->store, "VM", vm);
    struct json_object *oc = json_object_object_get(vm_rec, "other_config");
    assert_string_equal(fixture_string(oc, DP_VIF_INDEX_KEY), "1");
    assert_string_equal(fixture_string(oc, "a"), "b");
    json_object_put(vm_rec);

    /* Neither the VM nor the network goes while the VIF is there. */
    expected = xasprintf("VM_HAS_VIFS(%s, %s)", vm, vif);
    assert_string_equal(
        error_of(rpc(fx, "VM.destroy", "'%s'", vm), buf, sizeof buf),
        expected);
    free(expected);
    expected = xasprintf("NETWORK_CONTAINS_VIF(%s)", vif);
    assert_string_equal(
        error_of(rpc(fx, "network.destroy", "'%s'", net), buf, sizeof buf),
        expected);
    free(expected);
    result(rpc(fx, "VIF.destroy", "'%s'", vif));
    result(rpc(fx, "VM.destroy", "'%s'", vm));
    result(rpc(fx, "network.destroy", "'%s'", net));
    assert_int_equal(count(fx, "VIF"), 0);
    assert_int_equal(count(fx, "VM"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac_parse),
        cmocka_unit_test(test_mac_generate),
        cmocka_unit_test(test_port_name),
        cmocka_unit_test(test_fabric_private),
        cmocka_unit_test(test_fabric_placement),
        cmocka_unit_test(test_fabric_excluded),
        cmocka_unit_test(test_fabric_qos),
        cmocka_unit_test(test_fabric_vhost_user),
        cmocka_unit_test(test_guests),
        cmocka_unit_test(test_flows_locked),
        cmocka_unit_test(test_flows_meter),
        cmocka_unit_test(test_flows_dpdk_no_meter),
        cmocka_unit_test(test_flows_unknown_port),
        cmocka_unit_test(test_flows_failed_port),
        cmocka_unit_test_setup_teardown(test_api_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_lifecycle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
