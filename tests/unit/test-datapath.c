/*
 * Unit tests of the datapath's pure decisions (datapath/datapath.h): which
 * links are NICs, which PIF stands for a NIC, and how dp_pifs_sync()
 * mirrors NICs into PIFs in a store in a scratch directory.  Nothing here
 * talks to the kernel.
 */
#include <net/if_arp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datapath/datapath.h"
#include "lib/uuid.h"
#include "mgmt/store.h"
#include "tests/unit/fixture.h"

/* A store for dp_pifs_sync(). */
struct fixture {
    char *dir;                   /* Scratch directory. */
    struct store *store;         /* Store in 'dir'. */
    char host[UUID_LENGTH + 1];  /* The host being synced. */
    char other[UUID_LENGTH + 1]; /* Another host of the pool. */
};

static int
setup(void **state)
{
    struct fixture *fx = xzalloc(sizeof *fx);

    assert_int_equal(fixture_store_open(&fx->dir, &fx->store), 0);
    assert_int_equal(uuid_text_random(fx->host), 0);
    assert_int_equal(uuid_text_random(fx->other), 0);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    fixture_store_close(fx->dir, fx->store);
    free(fx);
    return 0;
}

/* Returns a link named 'device' with 'mac' and 'carrier'; the other facts
 * are those of a 1 Gbit/s full-duplex NIC with MTU 1500. */
static struct dp_link
make_link(const char *device, const char *mac, bool carrier)
{
    struct dp_link link = {
        .ifindex = 2,
        .mtu = 1500,
        .carrier = carrier,
        .speed = 1000,
        .duplex = "full",
    };

    snprintf(link.device, sizeof link.device, "%s", device);
    snprintf(link.mac, sizeof link.mac, "%s", mac);
    return link;
}

/* Returns the PIFs of the store (UUID → record). */
static struct json_object *
all_pifs(struct fixture *fx)
{
    return store_get_all(fx->store, "PIF");
}

/* Returns the PIF (borrowed from 'pifs') whose device is 'device', failing
 * if there is not exactly one; writes its UUID into 'uuid' if not NULL. */
static struct json_object *
pif_by_device(struct json_object *pifs, const char *device, char *uuid)
{
    struct json_object *found = NULL;

    json_object_object_foreach (pifs, key, record) {
        if (!strcmp(fixture_string(record, "device"), device)) {
            assert_null(found);
            found = record;
            if (uuid) {
                snprintf(uuid, UUID_LENGTH + 1, "%s", key);
            }
        }
    }
    if (!found) {
        fail_msg("no PIF for %s", device);
    }
    return found;
}

/* Only Ethernet links backed by a device (or veths), not enslaved, whose
 * name matches a glob, are NICs. */
static void
test_link_is_nic(void **state)
{
    (void) state;
    static const struct {
        struct dp_link_facts facts;
        const char *globs;
        bool nic;
    } cases[] = {
        {{"eth0", NULL, ARPHRD_ETHER, true, false}, "eth* en*", true},
        {{"enp3s0", NULL, ARPHRD_ETHER, true, false}, "eth* en*", true},
        {{"enp3s0", NULL, ARPHRD_ETHER, true, false}, "eth*,en*", true},
        {{"eth0", "veth", ARPHRD_ETHER, false, false}, "eth*", true},
        {{"veth1", "veth", ARPHRD_ETHER, false, false}, "eth*", false},
        {{"veth1", "veth", ARPHRD_ETHER, false, false}, "veth?", true},
        {{"eth0", "veth", ARPHRD_ETHER, false, true}, "eth*", false},
        {{"eth0", NULL, ARPHRD_ETHER, true, true}, "eth*", false},
        {{"eth0", "tun", ARPHRD_ETHER, false, false}, "eth*", false},
        {{"eth0", "bridge", ARPHRD_ETHER, false, false}, "eth*", false},
        {{"eth0", "vlan", ARPHRD_ETHER, true, false}, "eth*", false},
        {{"eth0", "openvswitch", ARPHRD_ETHER, false, false}, "eth*", false},
        {{"eth0", NULL, ARPHRD_ETHER, false, false}, "eth*", false},
        {{"eth0", NULL, ARPHRD_LOOPBACK, true, false}, "eth*", false},
        {{"eth0", NULL, ARPHRD_INFINIBAND, true, false}, "eth*", false},
        {{"eth0", "veth", ARPHRD_NONE, false, false}, "eth*", false},
        {{"wlan0", NULL, ARPHRD_ETHER, true, false}, "eth* en*", false},
        {{"eth0", NULL, ARPHRD_ETHER, true, false}, "", false},
        {{"eth0", NULL, ARPHRD_ETHER, true, false}, "eth0", true},
        {{"eth10", NULL, ARPHRD_ETHER, true, false}, "eth?", false},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (dp_link_is_nic(&cases[i].facts, cases[i].globs) != cases[i].nic) {
            fail_msg("case %zu (%s, kind %s, globs '%s'): expected %s", i,
                     cases[i].facts.name,
                     cases[i].facts.kind ? cases[i].facts.kind : "none",
                     cases[i].globs, cases[i].nic ? "NIC" : "not a NIC");
        }
    }
}

/* A NIC's PIF is the physical one of this host with its MAC (in any
 * case), else the one with its device name and no MAC. */
static void
test_pif_match(void **state)
{
    struct fixture *fx = *state;
    struct json_object *pifs = fixture_json(
        "{'by-mac': {'host': '%s', 'physical': true, 'device': 'eth9',"
        "            'MAC': 'AA:BB:CC:00:00:01'},"
        " 'by-name': {'host': '%s', 'physical': true, 'device': 'eth1',"
        "             'MAC': ''},"
        " 'named-with-mac': {'host': '%s', 'physical': true,"
        "                    'device': 'eth2', 'MAC': 'aa:bb:cc:00:00:77'},"
        " 'elsewhere': {'host': '%s', 'physical': true, 'device': 'eth3',"
        "               'MAC': 'aa:bb:cc:00:00:03'},"
        " 'vlan': {'host': '%s', 'physical': false, 'device': 'eth4',"
        "          'MAC': 'aa:bb:cc:00:00:04'}}",
        fx->host, fx->host, fx->host, fx->other, fx->host);
    assert_non_null(pifs);
    static const struct {
        const char *device;
        const char *mac;
        const char *match;
    } cases[] = {
        {"eth0", "aa:bb:cc:00:00:01", "by-mac"}, /* Renamed NIC. */
        {"eth1", "aa:bb:cc:00:00:02", "by-name"}, {"eth1", "", "by-name"},
        {"eth2", "aa:bb:cc:00:00:02", NULL}, /* Its PIF has another MAC. */
        {"eth3", "aa:bb:cc:00:00:03", NULL}, /* Other host's. */
        {"eth4", "aa:bb:cc:00:00:04", NULL}, /* Not physical. */
        {"eth5", "aa:bb:cc:00:00:05", NULL},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct dp_link link = make_link(cases[i].device, cases[i].mac, true);
        const char *match = dp_pif_match(pifs, fx->host, &link);
        if (cases[i].match ? !match || strcmp(match, cases[i].match)
                           : match != NULL) {
            fail_msg("%s %s: expected %s, got %s", cases[i].device,
                     cases[i].mac, cases[i].match ? cases[i].match : "none",
                     match ? match : "none");
        }
    }

    /* The other host sees its own PIF. */
    struct dp_link link = make_link("eth3", "aa:bb:cc:00:00:03", true);
    assert_string_equal(dp_pif_match(pifs, fx->other, &link), "elsewhere");

    /* The MAC wins over the device name. */
    json_object_put(pifs);
    pifs = fixture_json(
        "{'a-name': {'host': '%s', 'physical': true, 'device': 'eth0',"
        "            'MAC': ''},"
        " 'b-mac': {'host': '%s', 'physical': true, 'device': 'eth7',"
        "           'MAC': 'aa:bb:cc:00:00:10'},"
        " 'c-name': {'host': '%s', 'physical': true, 'device': 'eth0',"
        "            'MAC': ''}}",
        fx->host, fx->host, fx->host);
    link = make_link("eth0", "aa:bb:cc:00:00:10", true);
    assert_string_equal(dp_pif_match(pifs, fx->host, &link), "b-mac");
    json_object_put(pifs);

    pifs = json_object_new_object();
    assert_null(dp_pif_match(pifs, fx->host, &link));
    json_object_put(pifs);
}

/* The first sync creates one PIF per NIC with the kernel's facts and
 * marks only the named device as management, with its address. */
static void
test_sync_creates_pifs(void **state)
{
    struct fixture *fx = *state;
    struct dp_link links[3] = {
        make_link("eth0", "aa:bb:cc:00:00:01", true),
        make_link("eth1", "aa:bb:cc:00:00:02", false),
        make_link("eth2", "aa:bb:cc:00:00:03", true),
    };

    links[1].mtu = 9000;
    links[1].speed = 0;
    links[1].duplex = "unknown";
    snprintf(links[1].ip, sizeof links[1].ip, "192.0.2.10");
    snprintf(links[1].netmask, sizeof links[1].netmask, "255.255.255.0");
    snprintf(links[0].ip, sizeof links[0].ip, "198.51.100.1");
    assert_int_equal(dp_pifs_sync(fx->store, fx->host, links, 3, "eth1"), 0);

    struct json_object *pifs = all_pifs(fx);
    assert_int_equal(json_object_object_length(pifs), 3);
    struct json_object *p0 = pif_by_device(pifs, "eth0", NULL);
    struct json_object *p1 = pif_by_device(pifs, "eth1", NULL);
    struct json_object *p2 = pif_by_device(pifs, "eth2", NULL);

    assert_string_equal(fixture_string(p0, "MAC"), "aa:bb:cc:00:00:01");
    assert_string_equal(fixture_string(p0, "host"), fx->host);
    assert_int_equal(fixture_int(p0, "MTU"), 1500);
    assert_true(fixture_bool(p0, "carrier"));
    assert_true(fixture_bool(p0, "currently_attached"));
    assert_true(fixture_bool(p0, "physical"));
    assert_int_equal(fixture_int(p0, "speed"), 1000);
    assert_string_equal(fixture_string(p0, "duplex"), "full");
    assert_false(fixture_bool(p0, "management"));
    assert_string_equal(fixture_string(p0, "IP"), "");
    assert_string_equal(fixture_string(p0, "ip_configuration_mode"), "None");

    assert_true(fixture_bool(p1, "management"));
    assert_int_equal(fixture_int(p1, "MTU"), 9000);
    assert_false(fixture_bool(p1, "carrier"));
    assert_true(fixture_bool(p1, "currently_attached"));
    assert_string_equal(fixture_string(p1, "duplex"), "unknown");
    assert_string_equal(fixture_string(p1, "ip_configuration_mode"), "Static");
    assert_string_equal(fixture_string(p1, "IP"), "192.0.2.10");
    assert_string_equal(fixture_string(p1, "netmask"), "255.255.255.0");

    assert_false(fixture_bool(p2, "management"));
    json_object_put(pifs);

    /* The host's PIFs field lists them. */
    struct json_object *record = fixture_json("{'name_label': 'h'}");
    assert_int_equal(store_insert(fx->store, "host", fx->host, record), 0);
    json_object_put(record);
    struct json_object *host = store_get(fx->store, "host", fx->host);
    struct json_object *list;
    assert_true(json_object_object_get_ex(host, "PIFs", &list));
    assert_int_equal(json_object_array_length(list), 3);
    json_object_put(host);
}

/* Without a named management device the first NIC becomes management,
 * and only while no PIF of the host is management yet. */
static void
test_sync_default_management(void **state)
{
    struct fixture *fx = *state;
    struct dp_link links[2] = {
        make_link("eth0", "aa:bb:cc:00:00:01", true),
        make_link("eth1", "aa:bb:cc:00:00:02", true),
    };

    assert_int_equal(dp_pifs_sync(fx->store, fx->host, links, 2, NULL), 0);
    struct json_object *pifs = all_pifs(fx);
    assert_true(fixture_bool(pif_by_device(pifs, "eth0", NULL), "management"));
    assert_false(
        fixture_bool(pif_by_device(pifs, "eth1", NULL), "management"));
    json_object_put(pifs);

    struct dp_link more[3] = {
        links[0],
        links[1],
        make_link("eth2", "aa:bb:cc:00:00:03", true),
    };
    assert_int_equal(dp_pifs_sync(fx->store, fx->host, more, 3, "eth2"), 0);
    pifs = all_pifs(fx);
    assert_int_equal(json_object_object_length(pifs), 3);
    assert_false(
        fixture_bool(pif_by_device(pifs, "eth2", NULL), "management"));
    json_object_put(pifs);
}

/* A later sync refreshes the runtime fields of the PIFs it finds (by MAC,
 * even after a rename), keeps their UUIDs, creates nothing, and logs
 * nothing when nothing changed. */
static void
test_sync_refreshes(void **state)
{
    struct fixture *fx = *state;
    struct dp_link links[2] = {
        make_link("eth0", "aa:bb:cc:00:00:01", true),
        make_link("eth1", "aa:bb:cc:00:00:02", true),
    };
    char u0[UUID_LENGTH + 1], u1[UUID_LENGTH + 1];

    assert_int_equal(dp_pifs_sync(fx->store, fx->host, links, 2, "eth0"), 0);
    struct json_object *pifs = all_pifs(fx);
    pif_by_device(pifs, "eth0", u0);
    pif_by_device(pifs, "eth1", u1);
    json_object_put(pifs);

    uint64_t seq = store_last_seq(fx->store);
    assert_int_equal(dp_pifs_sync(fx->store, fx->host, links, 2, "eth0"), 0);
    assert_int_equal(store_last_seq(fx->store), seq);

    links[0].carrier = false;
    links[0].speed = 10000;
    links[0].mtu = 9000;
    snprintf(links[1].device, sizeof links[1].device, "eth7");
    assert_int_equal(dp_pifs_sync(fx->store, fx->host, links, 2, "eth0"), 0);
    assert_true(store_last_seq(fx->store) > seq);

    pifs = all_pifs(fx);
    assert_int_equal(json_object_object_length(pifs), 2);
    char now0[UUID_LENGTH + 1], now1[UUID_LENGTH + 1];
    struct json_object *p0 = pif_by_device(pifs, "eth0", now0);
    struct json_object *p1 = pif_by_device(pifs, "eth7", now1);
    assert_string_equal(now0, u0);
    assert_string_equal(now1, u1);
    assert_false(fixture_bool(p0, "carrier"));
    assert_int_equal(fixture_int(p0, "speed"), 10000);
    assert_int_equal(fixture_int(p0, "MTU"), 1500); /* Configured, kept. */
    assert_true(fixture_bool(p0, "management"));
    assert_true(fixture_bool(p1, "currently_attached"));
    json_object_put(pifs);
}

/* A NIC that vanished leaves its PIF, detached and without carrier; it is
 * attached again when the NIC comes back.  PIFs of other hosts and PIFs
 * that stand for no NIC (VLANs, bonds) are left alone. */
static void
test_sync_vanished(void **state)
{
    struct fixture *fx = *state;
    struct dp_link links[2] = {
        make_link("eth0", "aa:bb:cc:00:00:01", true),
        make_link("eth1", "aa:bb:cc:00:00:02", true),
    };
    char u1[UUID_LENGTH + 1], theirs[UUID_LENGTH + 1], vlan[UUID_LENGTH + 1];

    assert_int_equal(uuid_text_random(theirs), 0);
    struct json_object *record = fixture_json(
        "{'host': '%s', 'device': 'eth1', 'MAC': 'aa:bb:cc:00:00:99',"
        " 'currently_attached': true, 'carrier': true}",
        fx->other);
    assert_int_equal(store_insert(fx->store, "PIF", theirs, record), 0);
    json_object_put(record);
    assert_int_equal(uuid_text_random(vlan), 0);
    record = fixture_json(
        "{'host': '%s', 'device': 'eth0', 'MAC': 'aa:bb:cc:00:00:01',"
        " 'physical': false, 'VLAN': 10, 'currently_attached': true}",
        fx->host);
    assert_int_equal(store_insert(fx->store, "PIF", vlan, record), 0);
    json_object_put(record);

    assert_int_equal(dp_pifs_sync(fx->store, fx->host, links, 2, NULL), 0);
    struct json_object *pifs = all_pifs(fx);
    assert_int_equal(json_object_object_length(pifs), 4);
    json_object_object_foreach (pifs, uuid, pif) {
        if (!strcmp(fixture_string(pif, "device"), "eth1")
            && strcmp(uuid, theirs)) {
            snprintf(u1, sizeof u1, "%s", uuid);
        }
    }
    json_object_put(pifs);

    assert_int_equal(dp_pifs_sync(fx->store, fx->host, links, 1, NULL), 0);
    struct json_object *gone = store_get(fx->store, "PIF", u1);
    assert_non_null(gone);
    /* currently_attached is the plug state, which only pif-plug and
     * pif-unplug change; a vanished NIC loses its carrier. */
    assert_true(fixture_bool(gone, "currently_attached"));
    assert_false(fixture_bool(gone, "carrier"));
    json_object_put(gone);
    struct json_object *other = store_get(fx->store, "PIF", theirs);
    assert_true(fixture_bool(other, "currently_attached"));
    assert_true(fixture_bool(other, "carrier"));
    json_object_put(other);
    struct json_object *v = store_get(fx->store, "PIF", vlan);
    assert_true(fixture_bool(v, "currently_attached"));
    json_object_put(v);
    pifs = all_pifs(fx);
    assert_int_equal(json_object_object_length(pifs), 4);
    json_object_put(pifs);

    /* Idempotent while it stays away. */
    uint64_t seq = store_last_seq(fx->store);
    assert_int_equal(dp_pifs_sync(fx->store, fx->host, links, 1, NULL), 0);
    assert_int_equal(store_last_seq(fx->store), seq);

    assert_int_equal(dp_pifs_sync(fx->store, fx->host, links, 2, NULL), 0);
    gone = store_get(fx->store, "PIF", u1);
    assert_true(fixture_bool(gone, "currently_attached"));
    assert_true(fixture_bool(gone, "carrier"));
    json_object_put(gone);

    /* With no NIC at all every physical PIF of the host loses carrier;
     * plug states stay. */
    assert_int_equal(dp_pifs_sync(fx->store, fx->host, NULL, 0, NULL), 0);
    pifs = all_pifs(fx);
    json_object_object_foreach (pifs, uuid2, pif2) {
        bool mine = !strcmp(fixture_string(pif2, "host"), fx->host)
                    && fixture_bool(pif2, "physical");
        assert_true(fixture_bool(pif2, "currently_attached"));
        if (mine) {
            assert_false(fixture_bool(pif2, "carrier"));
        }
        (void) uuid2;
    }
    json_object_put(pifs);
}

int
main(void)
{
#define TEST(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_is_nic), TEST(test_pif_match),
        TEST(test_sync_creates_pifs),       TEST(test_sync_default_management),
        TEST(test_sync_refreshes),          TEST(test_sync_vanished),
    };
#undef TEST
    return cmocka_run_group_tests_name("datapath", tests, NULL, NULL);
}
