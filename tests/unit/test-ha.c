/*
 * Unit tests of the pool's pure decisions (ha/replica.c,
 * ha/corosync-conf.c, ha/homogeneity.c): who leads a sync and what each
 * member is sent, how far a majority holds the log, who writes an epoch,
 * what corosync is told, the authkey, and what differs across hosts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "ha/ha.h"
#include "ha/ha-private.h"

/* The greatest (epoch, sequence) leads; a tie goes to the lowest node. */
static void
test_sync_leader(void **state)
{
    (void) state;
    struct ha_member_state s[] = {
        {3, "c", 10, 2, "h10"},
        {1, "a", 12, 1, "x12"},
        {2, "b", 10, 2, "h10"},
    };

    /* Epoch 2 beats a longer log of epoch 1. */
    assert_int_equal(ha_sync_leader(s, 3), 2);
    s[1].epoch = 2;
    assert_int_equal(ha_sync_leader(s, 3), 1);
    s[1].seq = 10;
    assert_int_equal(ha_sync_leader(s, 3), 1); /* node 1 */
    assert_int_equal(ha_sync_leader(s, 1), 0);
}

/* Nothing for the same log, the tail when the leader keeps the entries
 * after the member's last and their histories agree, a snapshot
 * otherwise. */
static void
test_sync_plan(void **state)
{
    (void) state;
    struct ha_member_state m = {2, "b", 10, 1, "h10"};

    assert_int_equal(ha_sync_plan(&m, 10, 1, "h10"), HA_SYNC_NOTHING);
    assert_int_equal(ha_sync_plan(&m, 15, 1, "h10"), HA_SYNC_TAIL);
    assert_int_equal(ha_sync_plan(&m, 15, 11, "h10"), HA_SYNC_TAIL);
    /* The leader no longer keeps entry 11. */
    assert_int_equal(ha_sync_plan(&m, 15, 12, "h10"), HA_SYNC_SNAPSHOT);
    assert_int_equal(ha_sync_plan(&m, 15, 0, "h10"), HA_SYNC_SNAPSHOT);
    /* A history that differs at the member's last entry. */
    assert_int_equal(ha_sync_plan(&m, 15, 1, "other"), HA_SYNC_SNAPSHOT);
    assert_int_equal(ha_sync_plan(&m, 15, 1, NULL), HA_SYNC_SNAPSHOT);
    /* Entries the leader never had (a minority's). */
    m.seq = 16;
    assert_int_equal(ha_sync_plan(&m, 15, 1, "h10"), HA_SYNC_SNAPSHOT);
}

/* What a majority holds: the quorum-th highest acknowledgement. */
static void
test_committed_seq(void **state)
{
    (void) state;
    uint64_t acked[] = {7, 9, 3};

    assert_int_equal(ha_committed_seq(acked, 3, 2), 7);
    assert_int_equal(ha_committed_seq(acked, 3, 3), 3);
    assert_int_equal(ha_committed_seq(acked, 3, 1), 9);
    assert_int_equal(ha_committed_seq(acked, 1, 2), 0); /* Too few. */
    assert_int_equal(ha_committed_seq(acked, 3, 0), 0);
    /* The input is not reordered. */
    assert_int_equal(acked[0], 7);
    assert_int_equal(acked[2], 3);
}

static void
test_lowest_node(void **state)
{
    (void) state;
    uint32_t nodes[] = {4, 2, 7, 3};

    assert_int_equal(ha_lowest_node(nodes, 4), 1);
    assert_int_equal(ha_lowest_node(nodes, 1), 0);
}

/* corosync.conf: knet, encrypted and authenticated with the key file, the
 * token timeout, every node with its id and address and no name (corosync
 * would look it up), votequorum, two_node only when asked. */
static void
test_corosync_conf(void **state)
{
    (void) state;
    struct ha_node nodes[] = {
        {1, "uuid-a", "198.18.0.11"},
        {2, "uuid-b", "198.18.0.12"},
    };
    struct ha_corosync_settings s = {
        .cluster_name = "np-12345678",
        .token_ms = 1500,
        .nodes = nodes,
        .n_nodes = 2,
        .keyfile = "/state/authkey",
        .state_dir = "/state/lib",
        .log_file = "/state/corosync.log",
    };
    char *conf = ha_corosync_conf(&s);

    assert_non_null(strstr(conf, "cluster_name: np-12345678"));
    assert_non_null(strstr(conf, "transport: knet"));
    assert_non_null(strstr(conf, "crypto_cipher: aes256"));
    assert_non_null(strstr(conf, "crypto_hash: sha256"));
    assert_non_null(strstr(conf, "keyfile: /state/authkey"));
    assert_non_null(strstr(conf, "token: 1500"));
    assert_non_null(strstr(conf, "ring0_addr: 198.18.0.11"));
    assert_non_null(strstr(conf, "ring0_addr: 198.18.0.12"));
    assert_non_null(strstr(conf, "nodeid: 2"));
    assert_null(strstr(conf, " name:"));
    assert_non_null(strstr(conf, "provider: corosync_votequorum"));
    assert_null(strstr(conf, "two_node"));
    free(conf);

    s.two_node = true;
    conf = ha_corosync_conf(&s);
    assert_non_null(strstr(conf, "two_node: 1"));
    free(conf);
}

/* corosync's token: the pool's with HA off; with HA on a quarter of the
 * HA timeout, never under HA_TOKEN_MIN_MS nor over the pool's own. */
static void
test_token_ms(void **state)
{
    (void) state;

    assert_int_equal(ha_token_ms(0, false, 3), HA_TOKEN_DEFAULT_MS);
    assert_int_equal(ha_token_ms(5000, false, 3), 5000);
    assert_int_equal(ha_token_ms(0, true, 10), 2500);
    assert_int_equal(ha_token_ms(0, true, 0), 2500);
    assert_int_equal(ha_token_ms(0, true, 5), 1250);
    assert_int_equal(ha_token_ms(0, true, 3), HA_TOKEN_MIN_MS);
    assert_int_equal(ha_token_ms(0, true, 1), HA_TOKEN_MIN_MS);
    assert_int_equal(ha_token_ms(0, true, 60), HA_TOKEN_DEFAULT_MS);
    assert_int_equal(ha_token_ms(8000, true, 60), 8000);
    assert_int_equal(ha_token_ms(800, true, 3), 800);

    struct json_object *pool = json_tokener_parse(
        "{\"token_timeout\": 3000, \"ha_enabled\": true, \"ha_timeout\": 5}");
    assert_int_equal(ha_pool_token_ms(pool), 1250);
    json_object_object_add(pool, "ha_enabled", json_object_new_boolean(0));
    assert_int_equal(ha_pool_token_ms(pool), 3000);
    json_object_put(pool);
    assert_int_equal(ha_pool_token_ms(NULL), HA_TOKEN_DEFAULT_MS);
}

/* Every member derives the same key from the secret; another secret gives
 * another key; the key is not the secret. */
static void
test_authkey(void **state)
{
    (void) state;
    unsigned char a[HA_AUTHKEY_SIZE], b[HA_AUTHKEY_SIZE], c[HA_AUTHKEY_SIZE];

    ha_authkey("secret-one", a);
    ha_authkey("secret-one", b);
    ha_authkey("secret-two", c);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    assert_memory_not_equal(a, "secret-one", strlen("secret-one"));

    char *name = ha_cluster_name("0123456789ab-cdef");
    assert_string_equal(name, "np-01234567");
    free(name);
}

static struct json_object *
host(const char *version, const char *backend, const char *datapath)
{
    struct json_object *h = json_object_new_object();
    struct json_object *sv = json_object_new_object();
    json_object_object_add(sv, "product_version",
                           json_object_new_string(version));
    json_object_object_add(h, "software_version", sv);
    json_object_object_add(h, "network_backend",
                           json_object_new_string(backend));
    json_object_object_add(h, "datapath", json_object_new_string(datapath));
    return h;
}

static void
add_pif(struct json_object *pifs, const char *uuid, const char *host_uuid,
        const char *network, int mtu, int vlan)
{
    struct json_object *p = json_object_new_object();
    json_object_object_add(p, "host", json_object_new_string(host_uuid));
    json_object_object_add(p, "network", json_object_new_string(network));
    json_object_object_add(p, "MTU", json_object_new_int(mtu));
    json_object_object_add(p, "VLAN", json_object_new_int(vlan));
    json_object_object_add(pifs, uuid, p);
}

/* Returns the number of findings and checks that the one about 'what' (if
 * 'what') names 'host_uuid' with 'value' against 'pool_value'. */
static size_t
finding(struct json_object *findings, const char *what, const char *host_uuid,
        const char *value, const char *pool_value)
{
    bool found = !what;
    for (size_t i = 0; i < json_object_array_length(findings); i++) {
        struct json_object *f = json_object_array_get_idx(findings, i);
#define F(NAME) json_object_get_string(json_object_object_get(f, NAME))
        if (what && !strcmp(F("what"), what)) {
            assert_string_equal(F("host"), host_uuid);
            assert_string_equal(F("value"), value);
            assert_string_equal(F("pool_value"), pool_value);
            found = true;
        }
#undef F
    }
    assert_true(found);
    return json_object_array_length(findings);
}

/* The odd host is named with its value and the pool's. */
static void
test_homogeneity(void **state)
{
    (void) state;
    struct json_object *hosts = json_object_new_object();
    struct json_object *pifs = json_object_new_object();

    json_object_object_add(hosts, "h1", host("1.0", "openvswitch", "netdev"));
    json_object_object_add(hosts, "h2", host("1.0", "openvswitch", "netdev"));
    json_object_object_add(hosts, "h3", host("1.0", "openvswitch", "netdev"));
    add_pif(pifs, "p1", "h1", "net-eth1", 9000, -1);
    add_pif(pifs, "p2", "h2", "net-eth1", 9000, -1);
    add_pif(pifs, "p3", "h3", "net-eth1", 9000, -1);
    add_pif(pifs, "v1", "h1", "net-vlan", 1500, 20); /* VLANs: not NICs. */
    add_pif(pifs, "x1", "h1", "net-eth2", 1500, -1);
    add_pif(pifs, "x2", "h2", "net-eth2", 1500, -1);
    add_pif(pifs, "x3", "h3", "net-eth2", 1500, -1);

    struct json_object *findings = ha_homogeneity(hosts, pifs);
    assert_int_equal(finding(findings, NULL, NULL, NULL, NULL), 0);
    json_object_put(findings);

    /* h2's eth1 at 1500; h3 on another datapath and without eth2. */
    add_pif(pifs, "p2", "h2", "net-eth1", 1500, -1);
    json_object_object_del(pifs, "x3");
    json_object_object_add(hosts, "h3", host("1.0", "openvswitch", "dpdk"));
    findings = ha_homogeneity(hosts, pifs);
    assert_int_equal(
        finding(findings, "MTU of network net-eth1", "h2", "1500", "9000"), 3);
    finding(findings, "datapath", "h3", "dpdk", "netdev");
    finding(findings, "a NIC on network net-eth2", "h3", "no", "yes");
    json_object_put(findings);

    /* Two hosts, two versions: the lowest host's is the pool's. */
    json_object_object_del(hosts, "h3");
    json_object_object_add(hosts, "h2", host("1.1", "openvswitch", "netdev"));
    add_pif(pifs, "p2", "h2", "net-eth1", 9000, -1);
    findings = ha_homogeneity(hosts, pifs);
    assert_int_equal(finding(findings, "software_version", "h2", "1.1", "1.0"),
                     1);
    json_object_put(findings);

    json_object_put(hosts);
    json_object_put(pifs);
}

/* Only a known node's new address needs corosync started again. */
static void
test_nodes_readdressed(void **state)
{
    (void) state;
    struct json_object *old =
        json_tokener_parse("[{\"id\": 1, \"address\": \"198.18.0.11\"},"
                           " {\"id\": 2, \"address\": \"198.18.0.12\"}]");
    struct json_object *added =
        json_tokener_parse("[{\"id\": 1, \"address\": \"198.18.0.11\"},"
                           " {\"id\": 2, \"address\": \"198.18.0.12\"},"
                           " {\"id\": 3, \"address\": \"198.18.0.13\"}]");
    struct json_object *removed =
        json_tokener_parse("[{\"id\": 2, \"address\": \"198.18.0.12\"}]");
    struct json_object *moved =
        json_tokener_parse("[{\"id\": 1, \"address\": \"198.18.7.11\"},"
                           " {\"id\": 2, \"address\": \"198.18.0.12\"}]");

    assert_false(ha_nodes_readdressed(old, old));
    assert_false(ha_nodes_readdressed(old, added));
    assert_false(ha_nodes_readdressed(old, removed));
    assert_true(ha_nodes_readdressed(old, moved));
    assert_true(ha_nodes_readdressed(moved, old));
    json_object_put(old);
    json_object_put(added);
    json_object_put(removed);
    json_object_put(moved);
}

/* A "domain": a child that waits until it is killed. */
static pid_t
domain(void)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (!pid) {
        for (;;) {
            pause();
        }
    }
    return pid;
}

/* A watchdog netpoold lets go of while armed (a clean stop with HA on)
 * still kills at its deadline; one stopped is disarmed and kills nothing. */
static void
test_watchdog_release(void **state)
{
    (void) state;

    pid_t d1 = domain();
    struct ha_watchdog *wd = ha_watchdog_start(NULL);
    assert_non_null(wd);
    assert_int_equal(ha_watchdog_arm(wd, ha_clock_ms() + 100, &d1, 1), 0);
    ha_watchdog_release(wd);
    int status;
    assert_int_equal(waitpid(d1, &status, 0), d1);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    pid_t d2 = domain();
    wd = ha_watchdog_start(NULL);
    assert_non_null(wd);
    assert_int_equal(ha_watchdog_arm(wd, ha_clock_ms() + 60000, &d2, 1), 0);
    ha_watchdog_stop(wd); /* Returns once the watchdog has exited. */
    assert_int_equal(waitpid(d2, &status, WNOHANG), 0);
    kill(d2, SIGKILL);
    assert_int_equal(waitpid(d2, &status, 0), d2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_leader),
        cmocka_unit_test(test_token_ms),
        cmocka_unit_test(test_sync_plan),
        cmocka_unit_test(test_committed_seq),
        cmocka_unit_test(test_lowest_node),
        cmocka_unit_test(test_corosync_conf),
        cmocka_unit_test(test_nodes_readdressed),
        cmocka_unit_test(test_authkey),
        cmocka_unit_test(test_homogeneity),
        cmocka_unit_test(test_watchdog_release),
    };
    return cmocka_run_group_tests_name("ha", tests, NULL, NULL);
}
