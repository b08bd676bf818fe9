/*
 * Unit tests of the OVS statistics parser (datapath/ovs-stats.c): the
 * datapath's lookups and flows from dpctl/show, its masks from the
 * megaflows when it does not count them, a bridge's OpenFlow aggregate,
 * netpool's own rules and the drops of its rules and meters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "datapath/datapath.h"

static const char output[] =
    "@@lacp_show\n"
    "---- bond0 ----\n"
    "@@lacp_stats\n"
    "@@dpctl\n"
    "netdev@ovs-netdev:\n"
    "  lookups: hit:10 missed:5 lost:2\n"
    "  flows: 3\n"
    "  port 0: ovs-netdev (tap)\n"
    "system@ovs-system:\n"
    "  lookups: hit:1 missed:1 lost:0\n"
    "  flows: 1\n"
    "  masks: hit:7 total:4 hit/pkt:1.00\n"
    "@@megaflows netdev@ovs-netdev\n"
    "flow-dump from the main thread:\n"
    "ufid:1, recirc_id(0),in_port(a0),eth(src=b6:c4:1a:75:64:9c/"
    "00:00:00:00:00:00,dst=ff:ff:ff:ff:ff:ff/00:00:00:00:00:00),"
    "eth_type(0x0806), packets:4, bytes:168, used:1.0s, actions:drop\n"
    "ufid:2, recirc_id(0),in_port(a1),eth(src=b6:c4:1a:75:64:9d/"
    "00:00:00:00:00:00,dst=ff:ff:ff:ff:ff:fe/00:00:00:00:00:00),"
    "eth_type(0x0806), packets:4, bytes:168, used:1.0s, actions:drop\n"
    "ufid:3, recirc_id(0),in_port(a1),eth(src=b6:c4:1a:75:64:9d/"
    "ff:ff:ff:ff:ff:ff,dst=ff:ff:ff:ff:ff:fe/00:00:00:00:00:00),"
    "eth_type(0x0800), packets:4, bytes:168, used:1.0s, actions:1\n"
    "@@aggregate br0\n"
    "NXST_AGGREGATE reply (xid=0x4): packet_count=15 byte_count=958 "
    "flow_count=4\n"
    "@@rules br0\n"
    "NXST_FLOW reply (xid=0x8):\n"
    " cookie=0x4e50564946000000, duration=1.6s, table=0, n_packets=14, "
    "n_bytes=872, idle_age=53, priority=100,in_port=1 actions=drop\n"
    " cookie=0x4e50564946000000, duration=1.6s, table=0, n_packets=7, "
    "n_bytes=700, idle_age=53, priority=110,in_port=1,dl_src=02:00:00:00:00:01"
    " actions=meter:1313865729,NORMAL\n"
    "@@meters br0\n"
    "OFPST_METER reply (OF1.3) (xid=0x2):\n"
    "meter:5 flow_count:0 packet_in_count:9 byte_in_count:0 duration:1s "
    "bands:\n"
    "0: packet_count:99 byte_count:9900\n"
    "meter:1313865729 flow_count:1 packet_in_count:30 byte_in_count:3000 "
    "duration:1s bands:\n"
    "0: packet_count:20 byte_count:2000\n"
    "@@aggregate br1\n"
    "@@rules br1\n"
    "@@meters br1\n";

static int64_t
get(struct json_object *o, const char *a, const char *b, const char *c)
{
    struct json_object *v = json_object_object_get(
        json_object_object_get(json_object_object_get(o, a), b), c);
    return v ? json_object_get_int64(v) : -1;
}

static void
test_datapath(void **state)
{
    struct json_object *s = dp_ovs_stats_parse(output);
    (void) state;

    assert_int_equal(get(s, "datapaths", "netdev@ovs-netdev", "hits"), 10);
    assert_int_equal(get(s, "datapaths", "netdev@ovs-netdev", "missed"), 5);
    assert_int_equal(get(s, "datapaths", "netdev@ovs-netdev", "lost"), 2);
    assert_int_equal(get(s, "datapaths", "netdev@ovs-netdev", "flows"), 3);
    /* The first two megaflows differ in values only. */
    assert_int_equal(get(s, "datapaths", "netdev@ovs-netdev", "masks"), 2);
    /* The kernel datapath counts its own. */
    assert_int_equal(get(s, "datapaths", "system@ovs-system", "masks"), 4);
    assert_string_equal(
        json_object_get_string(json_object_object_get(s, "lacp_show")),
        "---- bond0 ----\n");
    json_object_put(s);
}

static void
test_bridges(void **state)
{
    struct json_object *s = dp_ovs_stats_parse(output);
    (void) state;

    assert_int_equal(get(s, "bridges", "br0", "flows"), 4);
    assert_int_equal(get(s, "bridges", "br0", "packets"), 15);
    assert_int_equal(get(s, "bridges", "br0", "bytes"), 958);
    assert_int_equal(get(s, "bridges", "br0", "rules"), 2);
    assert_int_equal(get(s, "bridges", "br0", "rule_packets"), 21);
    assert_int_equal(get(s, "bridges", "br0", "rule_bytes"), 1572);
    assert_int_equal(get(s, "bridges", "br0", "drop_packets"), 14);
    assert_int_equal(get(s, "bridges", "br0", "drop_bytes"), 872);
    /* Only netpool's meter counts. */
    assert_int_equal(get(s, "bridges", "br0", "meter_drop_packets"), 20);
    assert_int_equal(get(s, "bridges", "br0", "meter_drop_bytes"), 2000);
    assert_int_equal(get(s, "bridges", "br1", "flows"), 0);
    json_object_put(s);
}

static void
test_empty(void **state)
{
    struct json_object *s = dp_ovs_stats_parse("");
    (void) state;

    assert_int_equal(
        json_object_object_length(json_object_object_get(s, "bridges")), 0);
    json_object_put(s);
    s = dp_ovs_stats_parse(NULL);
    assert_non_null(s);
    json_object_put(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datapath),
        cmocka_unit_test(test_bridges),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests_name("ovs-stats", tests, NULL, NULL);
}
