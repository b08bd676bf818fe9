/*
 * Unit tests of VLANs and MTU policy: the pure rules (vlan/policy.c), the
 * MTU path check's decisions (vlan/mtu-check.c), VLAN fake bridges in the
 * desired fabric (datapath/fabric-vlan.c), the address plan of
 * non-management PIFs (datapath/ip-config.c), and VLAN.create,
 * VLAN.destroy, network.set_MTU and PIF.reconfigure_ip through the API,
 * including that a refused call leaves the store as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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
#include "vlan/vlan.h"

#define HOST "11111111-1111-4111-8111-111111111111"
#define OTHER "22222222-2222-4222-8222-222222222222"
#define NET1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"  /* eth1's, MTU 9000. */
#define NET10 "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb" /* VLAN 10's. */
#define NET20 "cccccccc-cccc-4ccc-8ccc-cccccccccccc" /* Unused, 1500. */
#define ETH1 "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
#define VPIF "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee" /* VLAN 10's PIF. */
#define VLAN10 "ffffffff-ffff-4fff-8fff-ffffffffffff"
#define BOND "99999999-9999-4999-8999-999999999999"
#define MGMT "88888888-8888-4888-8888-888888888888"

/* Asserts that 'error' is 'code' with the parameters that follow (a
 * NULL-terminated list), and frees it. */
static void
expect(struct np_error *error, const char *code, ...)
{
    va_list args;
    size_t n = 0;

    assert_non_null(error);
    assert_string_equal(error->code, code);
    va_start(args, code);
    for (const char *p = va_arg(args, const char *); p;
         p = va_arg(args, const char *)) {
        assert_true(n < error->n_params);
        assert_string_equal(error->params[n], p);
        n++;
    }
    va_end(args);
    assert_int_equal(error->n_params, n);
    np_error_destroy(error);
}

/* Records of host HOST: eth1 on NET1 (MTU 9000) carrying VLAN 10, whose
 * PIF is on NET10 at 'vlan_mtu' and has 'vlan_pif_extra' fields. */
static struct json_object *
records(int vlan_mtu, const char *vlan_pif_extra)
{
    struct json_object *r = fixture_json(
        "{'network': {"
        "  '" NET1 "': {'bridge': 'xenbr1', 'MTU': 9000,"
        "    'name_label': 'eth1', 'other_config': {}},"
        "  '" NET10 "': {'bridge': 'xapi0', 'MTU': %d, 'name_label': 's',"
        "    'other_config': {}},"
        "  '" NET20 "': {'bridge': 'xapi1', 'MTU': 1500,"
        "    'other_config': {}}},"
        " 'PIF': {"
        "  '" ETH1 "': {'device': 'eth1', 'host': '" HOST "',"
        "    'network': '" NET1 "', 'currently_attached': true,"
        "    'VLAN': -1, 'physical': true, 'bond_slave_of': '',"
        "    'bond_master_of': [], 'management': false,"
        "    'ip_configuration_mode': 'None', 'IP': '', 'netmask': ''},"
        "  '" VPIF "': {'device': 'eth1', 'host': '" HOST "',"
        "    'network': '" NET10 "', 'currently_attached': true,"
        "    'VLAN': 10, 'physical': false, 'bond_slave_of': '',"
        "    'bond_master_of': [], 'management': false%s}},"
        " 'VLAN': {"
        "  '" VLAN10 "': {'tagged_PIF': '" ETH1 "',"
        "    'untagged_PIF': '" VPIF "', 'tag': 10}}}",
        vlan_mtu, vlan_pif_extra);
    assert_non_null(r);
    return r;
}

static struct json_object *
pif_of(struct json_object *r, const char *uuid)
{
    return json_object_object_get(json_object_object_get(r, "PIF"), uuid);
}

/* Policy. */

static void
test_tags(void **state)
{
    assert_null(vlan_check_tag(1));
    assert_null(vlan_check_tag(10));
    assert_null(vlan_check_tag(4094));
    expect(vlan_check_tag(0), ERR_VLAN_TAG_INVALID, "0", NULL);
    expect(vlan_check_tag(4095), ERR_VLAN_TAG_INVALID, "4095", NULL);
    expect(vlan_check_tag(-1), ERR_VLAN_TAG_INVALID, "-1", NULL);
    expect(vlan_check_tag(100000), ERR_VLAN_TAG_INVALID, "100000", NULL);
}

static void
test_parents(void **state)
{
    struct json_object *r = records(1500, "");
    struct json_object *vlans = json_object_object_get(r, "VLAN");

    /* A physical PIF takes a new tag, not the one it carries. */
    assert_null(vlan_check_parent(ETH1, pif_of(r, ETH1), vlans, 20));
    expect(vlan_check_parent(ETH1, pif_of(r, ETH1), vlans, 10),
           ERR_PIF_VLAN_EXISTS, "eth1", NULL);

    /* Not on a VLAN PIF, whatever the tag. */
    expect(vlan_check_parent(VPIF, pif_of(r, VPIF), vlans, 20),
           ERR_PIF_IS_VLAN, VPIF, NULL);

    /* Not on a bond member; on a bond master yes; not on another virtual
     * PIF. */
    struct json_object *slave = fixture_json(
        "{'VLAN': -1, 'physical': true, 'bond_slave_of': '" BOND "'}");
    expect(vlan_check_parent(ETH1, slave, vlans, 20),
           ERR_CANNOT_ADD_VLAN_TO_BOND_SLAVE, ETH1, NULL);
    struct json_object *master =
        fixture_json("{'VLAN': -1, 'physical': false, 'bond_slave_of': '',"
                     " 'bond_master_of': ['" BOND "'], 'device': 'bond0'}");
    assert_null(vlan_check_parent(BOND, master, vlans, 10));
    struct json_object *other =
        fixture_json("{'VLAN': -1, 'physical': false, 'bond_slave_of': '',"
                     " 'bond_master_of': []}");
    expect(vlan_check_parent(BOND, other, vlans, 10), ERR_PIF_IS_NOT_PHYSICAL,
           BOND, NULL);

    json_object_put(slave);
    json_object_put(master);
    json_object_put(other);
    json_object_put(r);
}

static void
test_networks(void **state)
{
    struct json_object *r = records(1500, "");
    struct json_object *pifs = json_object_object_get(r, "PIF");

    assert_null(vlan_check_network(NET20, HOST, pifs));
    expect(vlan_check_network(NET10, HOST, pifs),
           ERR_NETWORK_ALREADY_CONNECTED, NET10, VPIF, NULL);
    expect(vlan_check_network(NET1, HOST, pifs), ERR_NETWORK_ALREADY_CONNECTED,
           NET1, ETH1, NULL);
    /* A network is pool-wide: another host may join it. */
    assert_null(vlan_check_network(NET10, OTHER, pifs));
    json_object_put(r);
}

static void
test_mtu_range(void **state)
{
    assert_null(vlan_check_mtu(1280));
    assert_null(vlan_check_mtu(1500));
    assert_null(vlan_check_mtu(9000));
    assert_null(vlan_check_mtu(9216));
    expect(vlan_check_mtu(1279), ERR_INVALID_VALUE, "MTU", "1279", NULL);
    expect(vlan_check_mtu(9217), ERR_INVALID_VALUE, "MTU", "9217", NULL);
    expect(vlan_check_mtu(10000), ERR_INVALID_VALUE, "MTU", "10000", NULL);
}

static void
test_mtu_parent(void **state)
{
    assert_null(vlan_check_mtu_parent(NET10, 1500, NET1, 9000));
    assert_null(vlan_check_mtu_parent(NET10, 9000, NET1, 9000));
    expect(vlan_check_mtu_parent(NET10, 9216, NET1, 9000),
           ERR_VLAN_MTU_EXCEEDS_PARENT, "MTU", NET10, "9216", NET1, "9000",
           NULL);
}

/* Changing a network's MTU checks both directions of the VLAN rule. */
static void
test_network_mtu_changes(void **state)
{
    struct json_object *r = records(1500, "");

    /* The VLAN network up to its parent's MTU, not beyond. */
    assert_null(vlan_check_network_mtu(r, NET10, 9000));
    expect(vlan_check_network_mtu(r, NET10, 9216), ERR_VLAN_MTU_EXCEEDS_PARENT,
           "MTU", NET10, "9216", NET1, "9000", NULL);
    /* The parent down to its VLAN network's MTU, not below. */
    assert_null(vlan_check_network_mtu(r, NET1, 1500));
    expect(vlan_check_network_mtu(r, NET1, 1400), ERR_VLAN_MTU_EXCEEDS_PARENT,
           "MTU", NET10, "1500", NET1, "1400", NULL);
    /* The range first; networks without VLANs have no other rule. */
    expect(vlan_check_network_mtu(r, NET20, 10000), ERR_INVALID_VALUE, "MTU",
           "10000", NULL);
    assert_null(vlan_check_network_mtu(r, NET20, 9216));
    json_object_put(r);
}

/* The MTU path check. */

static void
test_mtu_states(void **state)
{
    enum vlan_mtu_state s = VLAN_MTU_UNKNOWN, next;

    /* A silent peer says nothing. */
    next = vlan_mtu_next_state(s, false, false);
    assert_int_equal(next, VLAN_MTU_UNKNOWN);
    assert_false(vlan_mtu_should_alert(s, next));

    /* Small passes, large fails: alert once, however long it lasts. */
    next = vlan_mtu_next_state(s, true, false);
    assert_int_equal(next, VLAN_MTU_MISMATCH);
    assert_true(vlan_mtu_should_alert(s, next));
    s = next;
    next = vlan_mtu_next_state(s, true, false);
    assert_int_equal(next, VLAN_MTU_MISMATCH);
    assert_false(vlan_mtu_should_alert(s, next));
    next = vlan_mtu_next_state(s, false, false);
    assert_int_equal(next, VLAN_MTU_MISMATCH);
    assert_false(vlan_mtu_should_alert(s, next));

    /* Mended, then broken again: a new transition, a new alert. */
    next = vlan_mtu_next_state(s, true, true);
    assert_int_equal(next, VLAN_MTU_OK);
    assert_false(vlan_mtu_should_alert(s, next));
    s = next;
    next = vlan_mtu_next_state(s, true, false);
    assert_true(vlan_mtu_should_alert(s, next));

    /* A whole path from the start never alerts. */
    next = vlan_mtu_next_state(VLAN_MTU_UNKNOWN, true, true);
    assert_int_equal(next, VLAN_MTU_OK);
    assert_false(vlan_mtu_should_alert(VLAN_MTU_UNKNOWN, next));

    assert_int_equal(vlan_mtu_large_payload(9000), 8972);
    assert_int_equal(vlan_mtu_large_payload(1500), 1472);
}

static void
test_mtu_targets(void **state)
{
    struct json_object *r = records(
        9000, ", 'ip_configuration_mode': 'Static', 'IP': '198.18.32.1',"
              " 'netmask': '255.255.255.0'");
    struct json_object *net10 =
        json_object_object_get(json_object_object_get(r, "network"), NET10);
    struct json_object *oc = json_object_object_get(net10, "other_config");
    struct json_object *targets;

    /* No peers: nothing to probe. */
    targets = vlan_mtu_targets(r, HOST);
    assert_int_equal(json_object_array_length(targets), 0);
    json_object_put(targets);

    /* Good addresses become targets; bad ones are skipped. */
    json_object_object_add(
        oc, "mtu-check-peers",
        json_object_new_string("198.18.32.2, bogus,198.18.32.3"));
    targets = vlan_mtu_targets(r, HOST);
    assert_int_equal(json_object_array_length(targets), 2);
    struct json_object *t = json_object_array_get_idx(targets, 0);
    assert_string_equal(fixture_string(t, "network"), NET10);
    assert_string_equal(fixture_string(t, "peer"), "198.18.32.2");
    assert_string_equal(fixture_string(t, "source"), "198.18.32.1");
    assert_int_equal(fixture_int(t, "mtu"), 9000);
    assert_int_equal(fixture_int(t, "interval"), 30);
    assert_string_equal(
        fixture_string(json_object_array_get_idx(targets, 1), "peer"),
        "198.18.32.3");
    json_object_put(targets);

    /* The interval is configurable, within bounds. */
    json_object_object_add(oc, "mtu-check-interval",
                           json_object_new_string("2"));
    targets = vlan_mtu_targets(r, HOST);
    assert_int_equal(
        fixture_int(json_object_array_get_idx(targets, 0), "interval"), 2);
    json_object_put(targets);
    json_object_object_add(oc, "mtu-check-interval",
                           json_object_new_string("0"));
    targets = vlan_mtu_targets(r, HOST);
    assert_int_equal(
        fixture_int(json_object_array_get_idx(targets, 0), "interval"), 30);
    json_object_put(targets);

    /* Another host has no address here. */
    targets = vlan_mtu_targets(r, OTHER);
    assert_int_equal(json_object_array_length(targets), 0);
    json_object_put(targets);

    /* Standard frames need no check. */
    json_object_object_add(net10, "MTU", json_object_new_int(1500));
    targets = vlan_mtu_targets(r, HOST);
    assert_int_equal(json_object_array_length(targets), 0);
    json_object_put(targets);
    json_object_put(r);

    /* Without a static address there is no source. */
    r = records(9000, ", 'ip_configuration_mode': 'None'");
    json_object_object_add(
        json_object_object_get(
            json_object_object_get(json_object_object_get(r, "network"),
                                   NET10),
            "other_config"),
        "mtu-check-peers", json_object_new_string("198.18.32.2"));
    targets = vlan_mtu_targets(r, HOST);
    assert_int_equal(json_object_array_length(targets), 0);
    json_object_put(targets);
    json_object_put(r);
}

/* The fabric. */

static struct json_object *
port_of(struct json_object *fabric, const char *bridge, const char *port)
{
    return json_object_object_get(
        json_object_object_get(
            json_object_object_get(json_object_object_get(fabric, "bridges"),
                                   bridge),
            "ports"),
        port);
}

static void
test_fake_bridge(void **state)
{
    struct json_object *r = records(1500, "");
    struct json_object *f = dp_fabric_build(r, HOST, "netdev");
    struct json_object *port = port_of(f, "xenbr1", "xapi0");

    /* Not a bridge of its own: a tagged port of the parent's bridge. */
    assert_null(
        json_object_object_get(json_object_object_get(f, "bridges"), "xapi0"));
    assert_non_null(port);
    assert_int_equal(fixture_int(port, "tag"), 10);
    assert_true(fixture_bool(port, "fake_bridge"));
    assert_string_equal(
        fixture_string(json_object_object_get(port, "external_ids"),
                       "netpool-pif"),
        VPIF);
    struct json_object *iface = json_object_object_get(
        json_object_object_get(port, "interfaces"), "xapi0");
    assert_string_equal(fixture_string(iface, "type"), "internal");
    assert_int_equal(fixture_int(iface, "mtu_request"), 1500);
    /* The parent's trunk keeps the parent network's MTU. */
    struct json_object *eth1 = json_object_object_get(
        json_object_object_get(port_of(f, "xenbr1", "eth1"), "interfaces"),
        "eth1");
    assert_int_equal(fixture_int(eth1, "mtu_request"), 9000);
    json_object_put(f);

    /* Another host's fabric has no VLAN. */
    f = dp_fabric_build(r, OTHER, "netdev");
    assert_int_equal(
        json_object_object_length(json_object_object_get(f, "bridges")), 0);
    json_object_put(f);

    /* An unplugged VLAN PIF leaves; so does a VLAN whose parent is
     * unplugged (no bridge to hang on). */
    json_object_object_add(pif_of(r, VPIF), "currently_attached",
                           json_object_new_boolean(false));
    f = dp_fabric_build(r, HOST, "netdev");
    assert_non_null(port_of(f, "xenbr1", "eth1"));
    assert_null(port_of(f, "xenbr1", "xapi0"));
    json_object_put(f);
    json_object_object_add(pif_of(r, VPIF), "currently_attached",
                           json_object_new_boolean(true));
    json_object_object_add(pif_of(r, ETH1), "currently_attached",
                           json_object_new_boolean(false));
    f = dp_fabric_build(r, HOST, "netdev");
    assert_int_equal(
        json_object_object_length(json_object_object_get(f, "bridges")), 0);
    json_object_put(f);
    json_object_put(r);
}

static void
test_address_plan(void **state)
{
    struct json_object *r = records(
        1500, ", 'ip_configuration_mode': 'Static', 'IP': '198.18.30.1',"
              " 'netmask': '255.255.255.0'");
    struct json_object *plan = dp_ip_config_plan(r, HOST);

    /* The VLAN PIF's address goes on its fake bridge; eth1 (None) gets an
     * entry without one, so that stale addresses of netpool's go. */
    assert_int_equal(json_object_object_length(plan), 2);
    struct json_object *v = json_object_object_get(plan, "xapi0");
    assert_string_equal(fixture_string(v, "pif"), VPIF);
    assert_string_equal(fixture_string(v, "address"), "198.18.30.1");
    assert_int_equal(fixture_int(v, "prefix"), 24);
    assert_string_equal(
        fixture_string(json_object_object_get(plan, "xenbr1"), "address"), "");
    json_object_put(plan);

    /* Management is someone else's; a bad netmask gives no address. */
    json_object_object_add(pif_of(r, ETH1), "management",
                           json_object_new_boolean(true));
    json_object_object_add(pif_of(r, VPIF), "netmask",
                           json_object_new_string("255.0.255.0"));
    plan = dp_ip_config_plan(r, HOST);
    assert_int_equal(json_object_object_length(plan), 1);
    assert_string_equal(
        fixture_string(json_object_object_get(plan, "xapi0"), "address"), "");
    json_object_put(plan);

    plan = dp_ip_config_plan(r, OTHER);
    assert_int_equal(json_object_object_length(plan), 0);
    json_object_put(plan);
    json_object_put(r);
}

/* The API. */

struct api_fixture {
    char *dir;                    /* Scratch directory. */
    struct store *store;          /* Store in 'dir'. */
    struct event_base *base;      /* Loop for deferred work. */
    struct api *api;              /* The API under test. */
    struct json_object *response; /* Last response, owned. */
};

static void
capture_reply(void *fx_, struct json_object *response)
{
    struct api_fixture *fx = fx_;

    json_object_put(fx->response);
    fx->response = response;
}

/* A store with host HOST: eth1 on NET1 (MTU 9000), the management PIF
 * eth0 (on no network: it plays no part here), and NET10 and NET20 (MTU
 * 1500) without PIFs. */
static int
api_setup(void **state)
{
    struct api_fixture *fx = xzalloc(sizeof *fx);
    char password[PASSWORD_LENGTH + 1];

    fx->dir = fixture_dir_create();
    assert_non_null(fx->dir);
    char *path = xasprintf("%s/netpool.db", fx->dir);
    assert_int_equal(store_open(path, &fx->store), 0);
    free(path);
    fx->base = event_base_new();
    fx->api = api_create(fx->store, fx->base, HOST);
    assert_int_equal(api_ensure_root(fx->api, password), 1);

    struct {
        const char *class, *uuid, *json;
    } rows[] = {
        {"host", HOST, "{'name_label': 'h1'}"},
        {"network", NET1,
         "{'name_label': 'eth1', 'bridge': 'xenbr1',"
         " 'MTU': 9000}"},
        {"network", NET10, "{'name_label': 'v10', 'bridge': 'xapi0'}"},
        {"network", NET20, "{'name_label': 'v20', 'bridge': 'xapi1'}"},
        {"PIF", ETH1,
         "{'device': 'eth1', 'host': '" HOST "',"
         " 'network': '" NET1 "', 'currently_attached': true,"
         " 'MAC': '02:00:00:00:00:01'}"},
        {"PIF", MGMT,
         "{'device': 'eth0', 'host': '" HOST "',"
         " 'management': true, 'ip_configuration_mode':"
         " 'Static', 'IP': '198.18.0.11',"
         " 'netmask': '255.255.255.0'}"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        struct json_object *record = fixture_json("%s", rows[i].json);
        assert_non_null(record);
        assert_int_equal(
            store_insert(fx->store, rows[i].class, rows[i].uuid, record), 0);
        json_object_put(record);
    }
    *state = fx;
    return 0;
}

static int
api_teardown(void **state)
{
    struct api_fixture *fx = *state;

    event_base_loop(fx->base, EVLOOP_NONBLOCK);
    api_destroy(fx->api);
    json_object_put(fx->response);
    event_base_free(fx->base);
    store_close(fx->store);
    fixture_dir_remove(fx->dir);
    free(fx);
    return 0;
}

/* Calls 'method' locally with 'params' (JSON text after the session,
 * single quotes allowed) and returns the response, owned by 'fx'. */
static struct json_object *
call(struct api_fixture *fx, const char *method, const char *params)
{
    struct json_object *args =
        fixture_json("[''%s%s]", *params ? ", " : "", params);
    assert_non_null(args);
    struct json_object *msg = jsonrpc_make_request(method, args, 1);
    const char *body =
        json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    assert_null(
        api_handle(fx->api, body, strlen(body), true, capture_reply, fx));
    json_object_put(msg);
    return fx->response;
}

/* Returns the error code of 'response', or NULL for a result. */
static const char *
error_code(struct json_object *response)
{
    struct json_object *error = json_object_object_get(response, "error");
    return error ? fixture_string(error, "message") : NULL;
}

static int
count(struct api_fixture *fx, const char *class)
{
    struct json_object *all = store_get_all(fx->store, class);
    int n = json_object_object_length(all);
    json_object_put(all);
    return n;
}

static void
test_api_create_destroy(void **state)
{
    struct api_fixture *fx = *state;
    struct json_object *r;

    r = call(fx, "VLAN.create", "'" ETH1 "', 10, '" NET10 "'");
    assert_null(error_code(r));
    char vlan[UUID_LENGTH + 1];
    snprintf(vlan, sizeof vlan, "%s",
             json_object_get_string(json_object_object_get(r, "result")));

    struct json_object *record = store_get(fx->store, "VLAN", vlan);
    assert_int_equal(fixture_int(record, "tag"), 10);
    assert_string_equal(fixture_string(record, "tagged_PIF"), ETH1);
    struct json_object *child =
        store_get(fx->store, "PIF", fixture_string(record, "untagged_PIF"));
    assert_non_null(child);
    assert_false(fixture_bool(child, "physical"));
    assert_true(fixture_bool(child, "currently_attached"));
    assert_int_equal(fixture_int(child, "VLAN"), 10);
    assert_int_equal(fixture_int(child, "MTU"), 1500);
    assert_string_equal(fixture_string(child, "device"), "eth1");
    assert_string_equal(fixture_string(child, "MAC"), "02:00:00:00:00:01");
    assert_string_equal(fixture_string(child, "host"), HOST);
    assert_string_equal(fixture_string(child, "network"), NET10);
    assert_true(fixture_array_has(
        json_object_object_get(child, "VLAN_master_of"), vlan));
    json_object_put(child);
    json_object_put(record);

    char *body = xasprintf("'%s'", vlan);
    r = call(fx, "VLAN.destroy", body);
    free(body);
    assert_null(error_code(r));
    assert_int_equal(count(fx, "VLAN"), 0);
    assert_int_equal(count(fx, "PIF"), 2);

    r = call(fx, "VLAN.destroy", "'" VLAN10 "'");
    assert_string_equal(error_code(r), ERR_HANDLE_INVALID);
}

/* Every refused VLAN.create leaves the store as it was. */
static void
test_api_refusals(void **state)
{
    struct api_fixture *fx = *state;
    static const struct {
        const char *params, *code;
    } cases[] = {
        {"'" ETH1 "', 4095, '" NET10 "'", ERR_VLAN_TAG_INVALID},
        {"'" ETH1 "', 0, '" NET10 "'", ERR_VLAN_TAG_INVALID},
        {"'" ETH1 "', '10', '" NET10 "'", ERR_FIELD_TYPE_ERROR},
        {"'" VLAN10 "', 10, '" NET10 "'", ERR_HANDLE_INVALID},
        {"'" ETH1 "', 10, '" VLAN10 "'", ERR_HANDLE_INVALID},
        {"'" ETH1 "', 10, '" NET1 "'", ERR_NETWORK_ALREADY_CONNECTED},
        {"'" ETH1 "', 10", ERR_MESSAGE_PARAMETER_COUNT_MISMATCH},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t seq = store_last_seq(fx->store);
        struct json_object *r = call(fx, "VLAN.create", cases[i].params);
        assert_non_null(error_code(r));
        assert_string_equal(error_code(r), cases[i].code);
        assert_int_equal(store_last_seq(fx->store), seq);
    }

    /* A second VLAN 10 on eth1; a VLAN on the VLAN PIF. */
    struct json_object *r =
        call(fx, "VLAN.create", "'" ETH1 "', 10, '" NET10 "'");
    assert_null(error_code(r));
    uint64_t seq = store_last_seq(fx->store);
    r = call(fx, "VLAN.create", "'" ETH1 "', 10, '" NET20 "'");
    assert_string_equal(error_code(r), ERR_PIF_VLAN_EXISTS);
    struct json_object *net10 = json_object_new_string(NET10);
    struct json_object *children =
        store_find(fx->store, "PIF", "network", net10);
    json_object_put(net10);
    char *params = xasprintf(
        "'%s', 20, '" NET20 "'",
        json_object_get_string(json_object_array_get_idx(children, 0)));
    r = call(fx, "VLAN.create", params);
    assert_string_equal(error_code(r), ERR_PIF_IS_VLAN);
    free(params);
    json_object_put(children);
    assert_int_equal(store_last_seq(fx->store), seq);
    assert_int_equal(count(fx, "VLAN"), 1);
    assert_int_equal(count(fx, "PIF"), 3);
}

static void
test_api_mtu(void **state)
{
    struct api_fixture *fx = *state;
    struct json_object *r;

    /* A VLAN network above its parent's MTU is refused at create... */
    r = call(fx, "network.set_MTU", "'" NET20 "', 9216");
    assert_null(error_code(r));
    uint64_t seq = store_last_seq(fx->store);
    r = call(fx, "VLAN.create", "'" ETH1 "', 20, '" NET20 "'");
    assert_string_equal(error_code(r), ERR_VLAN_MTU_EXCEEDS_PARENT);
    assert_int_equal(store_last_seq(fx->store), seq);

    /* ...and by network.set_MTU later, either side. */
    r = call(fx, "VLAN.create", "'" ETH1 "', 10, '" NET10 "'");
    assert_null(error_code(r));
    r = call(fx, "network.set_MTU", "'" NET10 "', 9000");
    assert_null(error_code(r));
    seq = store_last_seq(fx->store);
    r = call(fx, "network.set_MTU", "'" NET10 "', 9216");
    assert_string_equal(error_code(r), ERR_VLAN_MTU_EXCEEDS_PARENT);
    r = call(fx, "network.set_MTU", "'" NET1 "', 1500");
    assert_string_equal(error_code(r), ERR_VLAN_MTU_EXCEEDS_PARENT);
    r = call(fx, "network.set_MTU", "'" NET10 "', 10000");
    assert_string_equal(error_code(r), ERR_INVALID_VALUE);
    assert_int_equal(store_last_seq(fx->store), seq);
}

static void
test_api_reconfigure_ip(void **state)
{
    struct api_fixture *fx = *state;
    struct json_object *r, *pif;

    r = call(fx, "PIF.reconfigure_ip",
             "'" ETH1 "', 'static', '198.18.30.1', '255.255.255.0',"
             " '198.18.30.254', ''");
    assert_null(error_code(r));
    pif = store_get(fx->store, "PIF", ETH1);
    assert_string_equal(fixture_string(pif, "ip_configuration_mode"),
                        "Static");
    assert_string_equal(fixture_string(pif, "IP"), "198.18.30.1");
    assert_string_equal(fixture_string(pif, "netmask"), "255.255.255.0");
    assert_string_equal(fixture_string(pif, "gateway"), "198.18.30.254");
    json_object_put(pif);

    uint64_t seq = store_last_seq(fx->store);
    static const struct {
        const char *params, *code, *field;
    } cases[] = {
        {"'" ETH1 "', 'static', '198.18.300.1', '255.255.255.0', '', ''",
         ERR_INVALID_VALUE, "IP"},
        {"'" ETH1 "', 'static', '198.18.30.1', '255.0.255.0', '', ''",
         ERR_INVALID_VALUE, "netmask"},
        {"'" ETH1 "', 'static', '198.18.30.1', '255.255.255.0', 'x', ''",
         ERR_INVALID_VALUE, "gateway"},
        {"'" ETH1 "', 'static', '198.18.30.1', '255.255.255.0', '', 'x'",
         ERR_INVALID_VALUE, "DNS"},
        {"'" ETH1 "', 'sometimes', '', '', '', ''", ERR_INVALID_VALUE, "mode"},
        {"'" MGMT "', 'none', '', '', '', ''", ERR_PIF_IS_MANAGEMENT_INTERFACE,
         MGMT},
        {"'" VLAN10 "', 'none', '', '', '', ''", ERR_HANDLE_INVALID, "PIF"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        r = call(fx, "PIF.reconfigure_ip", cases[i].params);
        assert_non_null(error_code(r));
        assert_string_equal(error_code(r), cases[i].code);
        struct json_object *data =
            json_object_object_get(json_object_object_get(r, "error"), "data");
        assert_string_equal(
            json_object_get_string(json_object_array_get_idx(data, 1)),
            cases[i].field);
    }
    assert_int_equal(store_last_seq(fx->store), seq);

    r = call(fx, "PIF.reconfigure_ip", "'" ETH1 "', 'None', '', '', '', ''");
    assert_null(error_code(r));
    pif = store_get(fx->store, "PIF", ETH1);
    assert_string_equal(fixture_string(pif, "ip_configuration_mode"), "None");
    assert_string_equal(fixture_string(pif, "IP"), "");
    json_object_put(pif);
}

/* The management PIF's readdress records the old configuration for the
 * rollback and retires the old address; a second change waits; the role
 * moves to a PIF with an address (the old one loses its own) and can be
 * disabled; a refused move writes nothing. */
static void
test_api_management(void **state)
{
    struct api_fixture *fx = *state;
    struct json_object *r, *host, *pif;

    r = call(fx, "PIF.reconfigure_ip",
             "'" MGMT "', 'static', '198.18.0.21', '255.255.255.0',"
             " '198.18.0.1', ''");
    assert_null(error_code(r));
    host = store_get(fx->store, "host", HOST);
    struct json_object *rollback =
        json_object_object_get(host, "management_rollback");
    assert_string_equal(fixture_string(rollback, "pif"), MGMT);
    assert_string_equal(fixture_string(rollback, "new_pif"), MGMT);
    assert_string_equal(fixture_string(rollback, "IP"), "198.18.0.11");
    assert_string_equal(fixture_string(rollback, "new_IP"), "198.18.0.21");
    assert_string_equal(fixture_string(rollback, "ip_configuration_mode"),
                        "Static");
    assert_string_equal(fixture_string(rollback, "timeout"), "30");
    assert_string_equal(fixture_string(host, "address"), "198.18.0.21");
    assert_true(fixture_array_has(
        json_object_object_get(host, "management_retired"), "198.18.0.11"));
    json_object_put(host);

    uint64_t seq = store_last_seq(fx->store);
    r = call(fx, "PIF.reconfigure_ip",
             "'" MGMT "', 'static', '198.18.0.22', '255.255.255.0', '', ''");
    assert_string_equal(error_code(r), ERR_OTHER_OPERATION_IN_PROGRESS);
    r = call(fx, "host.management_disable", "");
    assert_string_equal(error_code(r), ERR_OTHER_OPERATION_IN_PROGRESS);
    assert_int_equal(store_last_seq(fx->store), seq);

    /* Confirmed (as management.c does when the gateway answers). */
    struct json_object *done = fixture_json("{'management_rollback': {}}");
    assert_int_equal(store_update(fx->store, "host", HOST, done), 0);
    json_object_put(done);

    seq = store_last_seq(fx->store);
    r = call(fx, "host.management_reconfigure", "'" ETH1 "'");
    assert_string_equal(error_code(r), ERR_PIF_HAS_NO_NETWORK_CONFIGURATION);
    r = call(fx, "host.management_reconfigure", "'" NET1 "'");
    assert_string_equal(error_code(r), ERR_HANDLE_INVALID);
    r = call(fx, "host.management_reconfigure", "");
    assert_string_equal(error_code(r), ERR_MESSAGE_PARAMETER_COUNT_MISMATCH);
    assert_int_equal(store_last_seq(fx->store), seq);

    r = call(fx, "PIF.reconfigure_ip",
             "'" ETH1 "', 'static', '198.18.0.31', '255.255.255.0',"
             " '198.18.0.1', ''");
    assert_null(error_code(r));
    r = call(fx, "host.management_reconfigure", "'" ETH1 "'");
    assert_null(error_code(r));
    pif = store_get(fx->store, "PIF", ETH1);
    assert_true(fixture_bool(pif, "management"));
    json_object_put(pif);
    pif = store_get(fx->store, "PIF", MGMT);
    assert_false(fixture_bool(pif, "management"));
    assert_string_equal(fixture_string(pif, "ip_configuration_mode"), "None");
    assert_string_equal(fixture_string(pif, "IP"), "");
    json_object_put(pif);
    host = store_get(fx->store, "host", HOST);
    rollback = json_object_object_get(host, "management_rollback");
    assert_string_equal(fixture_string(rollback, "pif"), MGMT);
    assert_string_equal(fixture_string(rollback, "IP"), "198.18.0.21");
    assert_string_equal(fixture_string(rollback, "new_pif"), ETH1);
    assert_string_equal(fixture_string(host, "address"), "198.18.0.31");
    json_object_put(host);

    done = fixture_json("{'management_rollback': {}}");
    assert_int_equal(store_update(fx->store, "host", HOST, done), 0);
    json_object_put(done);

    /* DHCP: the lease fills the fields in; only for management. */
    r = call(fx, "PIF.reconfigure_ip", "'" MGMT "', 'dhcp', '', '', '', ''");
    assert_string_equal(error_code(r), ERR_OPERATION_NOT_ALLOWED);
    r = call(fx, "PIF.reconfigure_ip",
             "'" ETH1 "', 'dhcp', '198.18.0.99', '', '', ''");
    assert_null(error_code(r));
    pif = store_get(fx->store, "PIF", ETH1);
    assert_string_equal(fixture_string(pif, "ip_configuration_mode"), "DHCP");
    assert_string_equal(fixture_string(pif, "IP"), "");
    json_object_put(pif);
    host = store_get(fx->store, "host", HOST);
    rollback = json_object_object_get(host, "management_rollback");
    assert_string_equal(fixture_string(rollback, "IP"), "198.18.0.31");
    assert_string_equal(fixture_string(rollback, "new_IP"), "");
    json_object_put(host);
    done = fixture_json("{'management_rollback': {}}");
    assert_int_equal(store_update(fx->store, "host", HOST, done), 0);
    json_object_put(done);

    r = call(fx, "host.management_disable", "");
    assert_null(error_code(r));
    pif = store_get(fx->store, "PIF", ETH1);
    assert_false(fixture_bool(pif, "management"));
    assert_string_equal(fixture_string(pif, "IP"), "");
    json_object_put(pif);
    host = store_get(fx->store, "host", HOST);
    assert_string_equal(fixture_string(host, "address"), "");
    assert_int_equal(json_object_object_length(
                         json_object_object_get(host, "management_rollback")),
                     0);
    json_object_put(host);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_parents),
        cmocka_unit_test(test_networks),
        cmocka_unit_test(test_mtu_range),
        cmocka_unit_test(test_mtu_parent),
        cmocka_unit_test(test_network_mtu_changes),
        cmocka_unit_test(test_mtu_states),
        cmocka_unit_test(test_mtu_targets),
        cmocka_unit_test(test_fake_bridge),
        cmocka_unit_test(test_address_plan),
        cmocka_unit_test_setup_teardown(test_api_create_destroy, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_api_refusals, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_api_mtu, api_setup, api_teardown),
        cmocka_unit_test_setup_teardown(test_api_reconfigure_ip, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_api_management, api_setup,
                                        api_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
