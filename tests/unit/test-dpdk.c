/*
 * Unit tests of the host datapath's pure decisions (datapath/datapath.h):
 * the datapath a host record asks for and the bridge type it maps to, the
 * Open_vSwitch other_config a dpdk host wants, and the hugepage check
 * (socket memory asked for, free hugepages in /proc/meminfo, the
 * hugetlbfs mount, HOST_HUGEPAGES_INSUFFICIENT with its parameters),
 * which of ovs-vswitchd's threads go to the lcore core once DPDK has
 * started in it at run time, and the pidfile those threads are found by.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
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
    /* The PMD tuning the analysis chose: no EMC, the SMC on. */
    assert_string_equal(fixture_string(want, "emc-insert-inv-prob"), "0");
    assert_string_equal(fixture_string(want, "smc-enable"), "true");
    assert_string_equal(fixture_string(want, "tx-flush-interval"), "0");
    assert_string_equal(fixture_string(want, "pmd-maxsleep"), "0");
    /* No limit on OVS's hugepages unless the host sets one. */
    assert_null(fixture_string(want, "dpdk-socket-limit"));
    assert_int_equal(json_object_object_length(want), 9);
    json_object_put(want);
    json_object_put(records);
}

static void
test_dpdk_build_overrides(void **state)
{
    struct json_object *records =
        fixture_json("{'host': {'%s': {'datapath': 'dpdk', 'other_config': "
                     "{'dpdk-socket-mem': '256,0', 'pmd-cpu-mask': '0x6', "
                     "'dpdk-extra': '--no-pci', 'unrelated': 'x', "
                     "'emc-insert-inv-prob': '100', 'pmd-maxsleep': '50', "
                     "'dpdk-socket-limit': '1024'}}}}",
                     HOST);
    struct json_object *want = dp_dpdk_build(records, HOST, "/mnt/huge");

    assert_string_equal(fixture_string(want, "dpdk-socket-mem"), "256,0");
    assert_string_equal(fixture_string(want, "pmd-cpu-mask"), "0x6");
    assert_string_equal(fixture_string(want, "dpdk-lcore-mask"),
                        DP_DPDK_LCORE_MASK);
    assert_string_equal(fixture_string(want, "dpdk-extra"), "--no-pci");
    assert_null(fixture_string(want, "unrelated"));
    assert_string_equal(fixture_string(want, "emc-insert-inv-prob"), "100");
    assert_string_equal(fixture_string(want, "pmd-maxsleep"), "50");
    assert_string_equal(fixture_string(want, "smc-enable"), "true");
    assert_string_equal(fixture_string(want, "dpdk-socket-limit"), "1024");
    json_object_put(want);
    json_object_put(records);
}

/* The PMD tuning keys take their ranges; other keys are not theirs. */
static void
test_dpdk_host_values(void **state)
{
    assert_true(dp_dpdk_host_value_valid("emc-insert-inv-prob", "0"));
    assert_true(dp_dpdk_host_value_valid("emc-insert-inv-prob", "4294967295"));
    assert_false(
        dp_dpdk_host_value_valid("emc-insert-inv-prob", "4294967296"));
    assert_false(dp_dpdk_host_value_valid("emc-insert-inv-prob", "-1"));
    assert_true(dp_dpdk_host_value_valid("smc-enable", "false"));
    assert_false(dp_dpdk_host_value_valid("smc-enable", "yes"));
    assert_true(dp_dpdk_host_value_valid("tx-flush-interval", "1000000"));
    assert_false(dp_dpdk_host_value_valid("tx-flush-interval", "1000001"));
    assert_true(dp_dpdk_host_value_valid("pmd-maxsleep", "10000"));
    assert_false(dp_dpdk_host_value_valid("pmd-maxsleep", "10001"));
    assert_false(dp_dpdk_host_value_valid("pmd-maxsleep", "1e3"));
    assert_false(dp_dpdk_host_value_valid("pmd-maxsleep", ""));
    assert_true(dp_dpdk_host_value_valid("dpdk-extra", "anything"));
    assert_true(dp_dpdk_rxq_affinity_valid("0:1"));
    assert_true(dp_dpdk_rxq_affinity_valid("0:1,1:3,2:3"));
    assert_false(dp_dpdk_rxq_affinity_valid(""));
    assert_false(dp_dpdk_rxq_affinity_valid("0"));
    assert_false(dp_dpdk_rxq_affinity_valid("0:1;1:2"));
    assert_false(dp_dpdk_rxq_affinity_valid(":1"));
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

static void
test_devargs(void **state)
{
    struct json_object *pif = fixture_json(
        "{'device': 'eth1', 'other_config': {}, 'physical': true}");
    char *devargs = dp_dpdk_devargs(pif);
    assert_string_equal(devargs, "net_af_packet_eth1,iface=eth1");
    free(devargs);
    json_object_put(pif);

    pif = fixture_json("{'device': 'eth1', 'other_config': "
                       "{'dpdk-devargs': '0000:01:00.0'}}");
    devargs = dp_dpdk_devargs(pif);
    assert_string_equal(devargs, "0000:01:00.0");
    free(devargs);
    json_object_put(pif);

    assert_null(dp_dpdk_devargs_problem("0000:01:00.0"));
    assert_null(dp_dpdk_devargs_problem("net_af_packet_eth1,iface=eth1"));
    assert_null(dp_dpdk_devargs_problem("net_af_xdp0,iface=eth2,"
                                        "start_queue=0"));
    assert_null(dp_dpdk_devargs_problem("net_null0"));
    assert_non_null(dp_dpdk_devargs_problem(""));
    assert_non_null(dp_dpdk_devargs_problem("eth1"));
    assert_non_null(dp_dpdk_devargs_problem("net_bogus0,iface=eth1"));
    assert_non_null(dp_dpdk_devargs_problem("net_af_packet0,iface"));
    assert_non_null(dp_dpdk_devargs_problem("net_af_packet/0,iface=eth1"));
}

/* Records of a host with NIC eth1 on xenbr1 and a bond of eth2 and eth3,
 * in datapath 'datapath'. */
static struct json_object *
port_records(const char *datapath)
{
    return fixture_json(
        "{'host': {'%s': {'datapath': '%s'}},"
        " 'network': {'n1': {'bridge': 'xenbr1', 'MTU': 1500},"
        "             'n2': {'bridge': 'xenbr2', 'MTU': 1500}},"
        " 'PIF': {'p1': {'host': '%s', 'device': 'eth1', 'network': 'n1',"
        "                'currently_attached': true, 'VLAN': -1,"
        "                'physical': true, 'bond_slave_of': '',"
        "                'other_config': {'dpdk-n-rxq': '2',"
        "                  'dpdk-pmd-rxq-affinity': '0:1,1:1'}}},"
        " 'bond': {}, 'VLAN': {}, 'VIF': {}, 'VM': {}}",
        HOST, datapath, HOST);
}

static void
test_fabric_ports(void **state)
{
    struct json_object *records = port_records("dpdk");
    struct json_object *fabric = dp_fabric_build(records, HOST, "netdev");

    dp_dpdk_fabric_ports(fabric, records, HOST);
    struct json_object *br = json_object_object_get(
        json_object_object_get(fabric, "bridges"), "xenbr1");
    struct json_object *ports = json_object_object_get(br, "ports");
    struct json_object *eth1 = json_object_object_get(
        json_object_object_get(json_object_object_get(ports, "eth1"),
                               "interfaces"),
        "eth1");
    assert_string_equal(fixture_string(eth1, "type"), "dpdk");
    struct json_object *options = json_object_object_get(eth1, "options");
    assert_string_equal(fixture_string(options, "dpdk-devargs"),
                        "net_af_packet_eth1,iface=eth1");
    assert_string_equal(fixture_string(options, "n_rxq"), "2");
    assert_string_equal(
        fixture_string(json_object_object_get(eth1, "other_config"),
                       "pmd-rxq-affinity"),
        "0:1,1:1");
    /* The bridge's own port stays internal. */
    struct json_object *local = json_object_object_get(
        json_object_object_get(json_object_object_get(ports, "xenbr1"),
                               "interfaces"),
        "xenbr1");
    assert_string_equal(fixture_string(local, "type"), "internal");
    json_object_put(fabric);
    json_object_put(records);

    /* A netdev host keeps plain ports. */
    records = port_records("netdev");
    fabric = dp_fabric_build(records, HOST, "netdev");
    dp_dpdk_fabric_ports(fabric, records, HOST);
    br = json_object_object_get(json_object_object_get(fabric, "bridges"),
                                "xenbr1");
    eth1 = json_object_object_get(
        json_object_object_get(
            json_object_object_get(json_object_object_get(br, "ports"),
                                   "eth1"),
            "interfaces"),
        "eth1");
    assert_string_equal(fixture_string(eth1, "type"), "");
    assert_int_equal(
        json_object_object_length(json_object_object_get(eth1, "options")), 0);
    json_object_put(fabric);
    json_object_put(records);
}

/* A CPU set of the CPUs in 'mask' (bit N for CPU N). */
static cpu_set_t
cpus_of(unsigned mask)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    for (int cpu = 0; cpu < 32; cpu++) {
        if (mask & (1u << cpu)) {
            CPU_SET(cpu, &set);
        }
    }
    return set;
}

static void
test_thread_to_move(void **state)
{
    cpu_set_t lcore = cpus_of(0x1); /* dpdk-lcore-mask 0x1. */
    cpu_set_t all = cpus_of(0x3), pmd = cpus_of(0x2), wide = cpus_of(0xf);

    (void) state;
    /* Born before DPDK started: every core. */
    assert_true(dp_dpdk_thread_to_move("handler1", &all, &lcore));
    assert_true(dp_dpdk_thread_to_move("revalidator2", &wide, &lcore));
    assert_true(dp_dpdk_thread_to_move("urcu3", &all, &lcore));
    /* Born after: the main thread's CPUs already. */
    assert_false(dp_dpdk_thread_to_move("handler4", &lcore, &lcore));
    /* PMDs pin themselves, whatever their CPUs. */
    assert_false(dp_dpdk_thread_to_move("pmd-c01/id:7", &pmd, &lcore));
    assert_false(dp_dpdk_thread_to_move("pmd-c01/id:7", &all, &lcore));
    /* Placed elsewhere on purpose (DPDK's control threads, a user's
     * taskset): not a superset of the main thread's CPUs. */
    assert_false(dp_dpdk_thread_to_move("eal-intr-thread", &pmd, &lcore));
    /* An OVS whose DPDK took no lcore mask keeps every core: nothing
     * moves. */
    assert_false(dp_dpdk_thread_to_move("handler1", &all, &all));
}

/* A process that writes 'written' (0: its own PID) to 'pidfile', holds
 * the file's lock as ovs-vswitchd does and waits to be killed; returns
 * its PID once it holds the lock. */
static pid_t
start_pidfile_holder(const char *pidfile, pid_t written)
{
    int ready[2];
    char byte = 0;

    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        int fd = open(pidfile, O_RDWR | O_CREAT | O_TRUNC, 0644);
        struct flock lck = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fd < 0 || fcntl(fd, F_SETLK, &lck)
            || dprintf(fd, "%ld\n", (long) (written ? written : getpid())) < 0
            || write(ready[1], &byte, 1) != 1) {
            _exit(1);
        }
        for (;;) {
            pause();
        }
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    return pid;
}

static void
stop_pidfile_holder(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void
test_vswitchd_pid(void **state)
{
    char dir[] = "/tmp/netpool-unit-pidfile.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char pidfile[sizeof dir + 32];
    snprintf(pidfile, sizeof pidfile, "%s/ovs-vswitchd.pid", dir);
    int pid = -1;

    /* No folder known, and no pidfile in it. */
    assert_int_equal(dp_ovs_vswitchd_pid(NULL, &pid), ENOENT);
    assert_int_equal(pid, 0);
    assert_int_equal(dp_ovs_vswitchd_pid(dir, &pid), ENOENT);

    /* A running process holds the lock of the pidfile with its PID. */
    pid_t holder = start_pidfile_holder(pidfile, 0);
    assert_int_equal(dp_ovs_vswitchd_pid(dir, &pid), 0);
    assert_int_equal(pid, holder);

    /* Once it has gone the file is stale, though it still names it. */
    stop_pidfile_holder(holder);
    pid = -1;
    assert_int_equal(dp_ovs_vswitchd_pid(dir, &pid), ESRCH);
    assert_int_equal(pid, 0);

    /* A lock held by a process other than the one the file names. */
    holder = start_pidfile_holder(pidfile, 1);
    assert_int_equal(dp_ovs_vswitchd_pid(dir, &pid), ESRCH);
    stop_pidfile_holder(holder);

    unlink(pidfile);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_datapath),
        cmocka_unit_test(test_dpdk_build_defaults),
        cmocka_unit_test(test_dpdk_build_overrides),
        cmocka_unit_test(test_dpdk_build_other_datapaths),
        cmocka_unit_test(test_dpdk_host_values),
        cmocka_unit_test(test_hugepages_needed),
        cmocka_unit_test(test_hugepages_free_meminfo),
        cmocka_unit_test(test_hugepages_mount),
        cmocka_unit_test(test_hugepages_check),
        cmocka_unit_test(test_devargs),
        cmocka_unit_test(test_fabric_ports),
        cmocka_unit_test(test_thread_to_move),
        cmocka_unit_test(test_vswitchd_pid),
    };
    return cmocka_run_group_tests_name("dpdk", tests, NULL, NULL);
}
