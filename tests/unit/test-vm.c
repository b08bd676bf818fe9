/*
 * Unit tests of the domain core (vm/): the power-state machine, memory
 * defaults, order and admission, and the translation of VM and VIF
 * records into a domain configuration and QEMU's command line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "vm/vm.h"

#define VM1 "11111111-1111-4111-8111-111111111111"
#define VM2 "22222222-2222-4222-8222-222222222222"
#define NET "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define JUMBO "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define VIFA "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
#define VIFB "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
#define VIFC "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"
#define MIB (1024LL * 1024)

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

/* Every operation in every state: allowed exactly where xapi allows it. */
static void
test_power_state_table(void **state)
{
    static const char *const allowed[VM_N_OPERATIONS] = {
        [VM_OP_START] = "H",           [VM_OP_CLEAN_SHUTDOWN] = "R",
        [VM_OP_HARD_SHUTDOWN] = "RPS", [VM_OP_CLEAN_REBOOT] = "R",
        [VM_OP_HARD_REBOOT] = "RP",    [VM_OP_PAUSE] = "R",
        [VM_OP_UNPAUSE] = "P",         [VM_OP_SUSPEND] = "R",
        [VM_OP_RESUME] = "S",          [VM_OP_POWER_STATE_RESET] = "HRPS",
        [VM_OP_POOL_MIGRATE] = "R",
    };
    static const char letters[] = {[VM_HALTED] = 'H',
                                   [VM_RUNNING] = 'R',
                                   [VM_PAUSED] = 'P',
                                   [VM_SUSPENDED] = 'S'};

    for (int op = 0; op < VM_N_OPERATIONS; op++) {
        for (int s = VM_HALTED; s <= VM_SUSPENDED; s++) {
            struct np_error *error = vm_check_operation(op, s, NULL, VM1);
            bool expected = strchr(allowed[op], letters[s]) != NULL;

            if (expected != !error) {
                fail_msg("%s in %s: expected %s", vm_operation_name(op),
                         vm_power_state_name(s),
                         expected ? "allowed" : "refused");
            }
            if (error) {
                assert_string_equal(error->code, ERR_VM_BAD_POWER_STATE);
                assert_string_equal(error->params[0], VM1);
                assert_string_equal(error->params[2], vm_power_state_name(s));
                np_error_destroy(error);
            }
        }
    }
}

static void
test_power_state_errors(void **state)
{
    expect(vm_check_operation(VM_OP_START, VM_RUNNING, NULL, VM1),
           ERR_VM_BAD_POWER_STATE, VM1, "Halted", "Running", NULL);
    expect(vm_check_operation(VM_OP_PAUSE, VM_SUSPENDED, "", VM1),
           ERR_VM_BAD_POWER_STATE, VM1, "Running", "Suspended", NULL);
    expect(vm_check_operation(VM_OP_HARD_SHUTDOWN, VM_HALTED, NULL, VM1),
           ERR_VM_BAD_POWER_STATE, VM1, "Running", "Halted", NULL);
    /* A busy VM refuses everything but power_state_reset, even what its
     * state would allow. */
    expect(vm_check_operation(VM_OP_PAUSE, VM_RUNNING, "clean_shutdown", VM1),
           ERR_OTHER_OPERATION_IN_PROGRESS, "VM", VM1, "clean_shutdown", NULL);
    assert_null(
        vm_check_operation(VM_OP_POWER_STATE_RESET, VM_RUNNING, "start", VM1));
}

static void
test_power_state_results(void **state)
{
    assert_int_equal(vm_operation_result(VM_OP_START), VM_RUNNING);
    assert_int_equal(vm_operation_result(VM_OP_CLEAN_SHUTDOWN), VM_HALTED);
    assert_int_equal(vm_operation_result(VM_OP_HARD_SHUTDOWN), VM_HALTED);
    assert_int_equal(vm_operation_result(VM_OP_CLEAN_REBOOT), VM_RUNNING);
    assert_int_equal(vm_operation_result(VM_OP_HARD_REBOOT), VM_RUNNING);
    assert_int_equal(vm_operation_result(VM_OP_PAUSE), VM_PAUSED);
    assert_int_equal(vm_operation_result(VM_OP_UNPAUSE), VM_RUNNING);
    assert_int_equal(vm_operation_result(VM_OP_SUSPEND), VM_SUSPENDED);
    assert_int_equal(vm_operation_result(VM_OP_RESUME), VM_RUNNING);
    assert_int_equal(vm_operation_result(VM_OP_POWER_STATE_RESET), VM_HALTED);
}

static void
test_power_state_names(void **state)
{
    enum vm_power_state s;

    for (int i = VM_HALTED; i <= VM_SUSPENDED; i++) {
        assert_true(vm_power_state_parse(vm_power_state_name(i), &s));
        assert_int_equal(s, i);
    }
    assert_false(vm_power_state_parse("halted", &s));
    assert_false(vm_power_state_parse(NULL, &s));
    assert_string_equal(vm_operation_name(VM_OP_CLEAN_SHUTDOWN),
                        "clean_shutdown");
    assert_string_equal(vm_operation_name(VM_OP_POWER_STATE_RESET),
                        "power_state_reset");
}

static void
test_memory_defaults(void **state)
{
    struct vm_memory m = {.static_max = 128 * MIB};

    vm_memory_complete(&m);
    assert_int_equal(m.dynamic_max, 128 * MIB);
    assert_int_equal(m.dynamic_min, 32 * MIB);
    assert_int_equal(m.static_min, 0);
    assert_null(vm_memory_check(&m));

    /* static-min above a quarter of static-max raises dynamic-min. */
    m = (struct vm_memory){.static_min = 64 * MIB, .static_max = 128 * MIB};
    vm_memory_complete(&m);
    assert_int_equal(m.dynamic_min, 64 * MIB);
    assert_null(vm_memory_check(&m));

    /* Settings that are set stay. */
    m = (struct vm_memory){.static_min = 16 * MIB,
                           .dynamic_min = 48 * MIB,
                           .dynamic_max = 96 * MIB,
                           .static_max = 128 * MIB};
    vm_memory_complete(&m);
    assert_int_equal(m.dynamic_min, 48 * MIB);
    assert_int_equal(m.dynamic_max, 96 * MIB);
}

static void
test_memory_order(void **state)
{
    static const char rule[] = "memory-static-min <= memory-dynamic-min <= "
                               "memory-dynamic-max <= memory-static-max";
    struct vm_memory m;

    m = (struct vm_memory){64 * MIB, 32 * MIB, 96 * MIB, 128 * MIB};
    expect(vm_memory_check(&m), ERR_MEMORY_CONSTRAINT_VIOLATION,
           "memory-dynamic-min", rule, NULL);
    m = (struct vm_memory){0, 64 * MIB, 32 * MIB, 128 * MIB};
    expect(vm_memory_check(&m), ERR_MEMORY_CONSTRAINT_VIOLATION,
           "memory-dynamic-max", rule, NULL);
    m = (struct vm_memory){0, 32 * MIB, 256 * MIB, 128 * MIB};
    expect(vm_memory_check(&m), ERR_MEMORY_CONSTRAINT_VIOLATION,
           "memory-static-max", rule, NULL);
    m = (struct vm_memory){0};
    expect(vm_memory_check(&m), ERR_MEMORY_CONSTRAINT_VIOLATION,
           "memory-static-max", rule, NULL);
    m = (struct vm_memory){-1, 0, 0, 128 * MIB};
    expect(vm_memory_check(&m), ERR_MEMORY_CONSTRAINT_VIOLATION,
           "memory-static-min", rule, NULL);
    m = (struct vm_memory){128 * MIB, 128 * MIB, 128 * MIB, 128 * MIB};
    assert_null(vm_memory_check(&m));
}

static void
test_memory_admission(void **state)
{
    struct vm_memory m = {.static_max = 128 * MIB};
    int64_t overhead, needed;

    vm_memory_complete(&m);
    overhead = vm_memory_overhead(&m, 1);
    /* A 128 MiB TCG guest measured about 205 MB of host RSS. */
    assert_true(128 * MIB + overhead >= 195 * MIB);
    assert_true(vm_memory_overhead(&m, 4) > overhead);
    needed = m.dynamic_max + overhead;

    assert_null(vm_check_admission(needed, needed));
    assert_null(vm_check_admission(needed, 4096 * MIB));
    expect(vm_check_admission(1000, 999), ERR_HOST_NOT_ENOUGH_FREE_MEMORY,
           "1000", "999", NULL);
    expect(vm_check_admission(1000, -5), ERR_HOST_NOT_ENOUGH_FREE_MEMORY,
           "1000", "0", NULL);
}

/* Records as the store returns them. */
static struct json_object *
records(const char *text)
{
    struct json_object *json = json_tokener_parse(text);

    assert_non_null(json);
    return json;
}

static const char vm_json[] =
    "{\"uuid\": \"" VM1 "\", \"name_label\": \"web\", \"VCPUs_max\": 2,"
    " \"memory_static_min\": 0, \"memory_static_max\": 134217728,"
    " \"memory_dynamic_min\": 0, \"memory_dynamic_max\": 0,"
    " \"PV_kernel\": \"/g/vmlinuz\", \"PV_ramdisk\": \"/g/initrd.img\","
    " \"PV_args\": \"quiet np.ip0=198.18.30.1/24\"}";
static const char vifs_json[] =
    "{\"" VIFA "\": {\"VM\": \"" VM1 "\", \"device\": \"1\","
    "   \"network\": \"" JUMBO "\", \"MAC\": \"02:00:00:00:00:0b\"},"
    " \"" VIFB "\": {\"VM\": \"" VM1 "\", \"device\": \"0\","
    "   \"network\": \"" NET "\", \"MAC\": \"02:00:00:00:00:0a\"},"
    " \"" VIFC "\": {\"VM\": \"" VM2 "\", \"device\": \"0\","
    "   \"network\": \"" NET "\", \"MAC\": \"02:00:00:00:00:0c\"}}";
static const char networks_json[] =
    "{\"" NET "\": {\"MTU\": 1500}, \"" JUMBO "\": {\"MTU\": 9000}}";

static void
test_config_from_records(void **state)
{
    struct json_object *vm = records(vm_json);
    struct json_object *vifs = records(vifs_json);
    struct json_object *networks = records(networks_json);
    struct vm_config *config;

    assert_null(vm_config_from_records(vm, vifs, networks, 7, &config));
    assert_string_equal(config->uuid, VM1);
    assert_int_equal(config->vcpus, 2);
    assert_int_equal(config->memory.dynamic_max, 128 * MIB);
    assert_int_equal(config->memory.dynamic_min, 32 * MIB);
    assert_string_equal(config->kernel, "/g/vmlinuz");
    /* Only the VM's own VIFs, in device order, on taps named as their
     * OVS ports. */
    assert_int_equal(config->n_nics, 2);
    assert_string_equal(config->nics[0].vif, VIFB);
    assert_string_equal(config->nics[0].tap, "vif7.0");
    assert_string_equal(config->nics[0].mac, "02:00:00:00:00:0a");
    assert_int_equal(config->nics[0].mtu, 1500);
    assert_string_equal(config->nics[1].tap, "vif7.1");
    assert_int_equal(config->nics[1].mtu, 9000);
    vm_config_destroy(config);

    /* A VIF whose network is gone. */
    json_object_object_del(networks, JUMBO);
    config = (void *) 1;
    expect(vm_config_from_records(vm, vifs, networks, 7, &config),
           ERR_HANDLE_INVALID, "network", JUMBO, NULL);
    assert_null(config);

    /* Memory out of order. */
    json_object_object_add(vm, "memory_dynamic_max",
                           json_object_new_int64(256 * MIB));
    expect(vm_config_from_records(vm, NULL, networks, 7, &config),
           ERR_MEMORY_CONSTRAINT_VIOLATION, "memory-static-max",
           "memory-static-min <= memory-dynamic-min <= memory-dynamic-max "
           "<= memory-static-max",
           NULL);
    vm_config_destroy(NULL);
    json_object_put(vm);
    json_object_put(vifs);
    json_object_put(networks);
}

/* Returns the argument after 'flag' in 'argv' (the n-th occurrence from
 * 0), or NULL. */
static const char *
arg_after(char **argv, const char *flag, int nth)
{
    for (char **p = argv; *p; p++) {
        if (!strcmp(*p, flag) && p[1] && nth-- == 0) {
            return p[1];
        }
    }
    return NULL;
}

static bool
has_arg(char **argv, const char *arg)
{
    for (char **p = argv; *p; p++) {
        if (!strcmp(*p, arg)) {
            return true;
        }
    }
    return false;
}

static void
test_qemu_argv(void **state)
{
    struct json_object *vm = records(vm_json);
    struct json_object *vifs = records(vifs_json);
    struct json_object *networks = records(networks_json);
    struct vm_qemu_paths paths = {.qmp = "/run/np/vm1/qmp",
                                  .serial = "/run/np/vm1/serial.log",
                                  .pidfile = "/run/np/vm1/pid"};
    struct vm_config *config;
    char **argv;

    assert_null(vm_config_from_records(vm, vifs, networks, 7, &config));
    argv = vm_qemu_argv(config, VM_ACCEL_TCG, &paths, false);
    assert_string_equal(argv[0], "qemu-system-x86_64");
    assert_string_equal(arg_after(argv, "-accel", 0), "tcg");
    assert_null(arg_after(argv, "-cpu", 0));
    assert_string_equal(arg_after(argv, "-m", 0), "128M");
    assert_string_equal(arg_after(argv, "-smp", 0), "2");
    assert_string_equal(arg_after(argv, "-uuid", 0), VM1);
    assert_string_equal(arg_after(argv, "-kernel", 0), "/g/vmlinuz");
    assert_string_equal(arg_after(argv, "-initrd", 0), "/g/initrd.img");
    assert_string_equal(arg_after(argv, "-append", 0),
                        "console=ttyS0 quiet np.ip0=198.18.30.1/24");
    assert_string_equal(arg_after(argv, "-netdev", 0),
                        "tap,id=net0,ifname=vif7.0,script=no,downscript=no");
    assert_string_equal(arg_after(argv, "-device", 0),
                        "virtio-net-pci,id=nic0,netdev=net0,"
                        "mac=02:00:00:00:00:0a,romfile=,csum=off");
    assert_string_equal(arg_after(argv, "-netdev", 1),
                        "tap,id=net1,ifname=vif7.1,script=no,downscript=no");
    assert_string_equal(arg_after(argv, "-device", 1),
                        "virtio-net-pci,id=nic1,netdev=net1,"
                        "mac=02:00:00:00:00:0b,romfile=,csum=off,"
                        "host_mtu=9000");
    assert_string_equal(arg_after(argv, "-qmp", 0),
                        "unix:/run/np/vm1/qmp,server=on,wait=off");
    assert_null(arg_after(argv, "-qmp", 1));
    assert_string_equal(arg_after(argv, "-serial", 0),
                        "file:/run/np/vm1/serial.log");
    assert_string_equal(arg_after(argv, "-pidfile", 0), "/run/np/vm1/pid");
    assert_true(has_arg(argv, "-daemonize"));
    assert_true(has_arg(argv, "-no-shutdown"));
    assert_false(has_arg(argv, "-S"));
    assert_null(arg_after(argv, "-incoming", 0));
    vm_argv_free(argv);

    /* KVM, paused, resuming from a file, with disks. */
    config->disks = calloc(2, sizeof *config->disks);
    config->disks[0] =
        (struct vm_disk){strdup("/sr/b.qcow2"), strdup("qcow2"), 1, false};
    config->disks[1] =
        (struct vm_disk){strdup("/sr/a.raw"), strdup("raw"), 0, true};
    config->n_disks = 2;
    paths.incoming = "exec:cat '/sr/suspend.img'";
    argv = vm_qemu_argv(config, VM_ACCEL_KVM, &paths, true);
    assert_string_equal(arg_after(argv, "-accel", 0), "kvm");
    assert_string_equal(arg_after(argv, "-cpu", 0), "host");
    assert_true(has_arg(argv, "-S"));
    assert_string_equal(arg_after(argv, "-incoming", 0),
                        "exec:cat '/sr/suspend.img'");
    assert_string_equal(arg_after(argv, "-drive", 0),
                        "file=/sr/b.qcow2,format=qcow2,if=none,id=disk1,"
                        "node-name=np-disk1,file.node-name=np-file1");
    assert_string_equal(arg_after(argv, "-drive", 1),
                        "file=/sr/a.raw,format=raw,if=none,id=disk0,"
                        "node-name=np-disk0,file.node-name=np-file0,"
                        "readonly=on");
    assert_string_equal(arg_after(argv, "-device", 2),
                        "virtio-blk-pci,drive=disk1,id=blk1");
    vm_argv_free(argv);
    vm_argv_free(NULL);

    /* vhost-user NICs are hot-plugged, not on the command line; guest
     * memory is shared hugepages, from hugetlbfs or a memfd. */
    paths.incoming = NULL;
    snprintf(config->nics[0].vhost, sizeof config->nics[0].vhost,
             "/run/netpool/vhost/h/vif7.0.sock");
    config->shared_memory = strdup("/dev/hugepages");
    argv = vm_qemu_argv(config, VM_ACCEL_TCG, &paths, false);
    assert_string_equal(arg_after(argv, "-netdev", 0),
                        "tap,id=net1,ifname=vif7.1,script=no,downscript=no");
    assert_null(arg_after(argv, "-netdev", 1));
    assert_string_equal(arg_after(argv, "-object", 0),
                        "memory-backend-file,id=mem,size=128M,"
                        "mem-path=/dev/hugepages,share=on");
    assert_string_equal(arg_after(argv, "-machine", 0), "memory-backend=mem");
    vm_argv_free(argv);
    free(config->shared_memory);
    config->shared_memory = strdup("");
    argv = vm_qemu_argv(config, VM_ACCEL_TCG, &paths, false);
    assert_string_equal(arg_after(argv, "-object", 0),
                        "memory-backend-memfd,id=mem,size=128M,hugetlb=on,"
                        "hugetlbsize=2M,share=on");
    vm_argv_free(argv);

    /* No kernel: no -kernel, -initrd or -append. */
    free(config->kernel);
    config->kernel = strdup("");
    argv = vm_qemu_argv(config, VM_ACCEL_TCG, &paths, false);
    assert_null(arg_after(argv, "-kernel", 0));
    assert_null(arg_after(argv, "-initrd", 0));
    assert_null(arg_after(argv, "-append", 0));
    vm_argv_free(argv);

    vm_config_destroy(config);
    json_object_put(vm);
    json_object_put(vifs);
    json_object_put(networks);
}

/* A JSON value of 'args' as text ("" when absent). */
static const char *
member(struct json_object *args, const char *key)
{
    struct json_object *value = json_object_object_get(args, key);
    return value ? json_object_get_string(value) : "";
}

/* A vhost-user NIC's settings from its VIF: one queue pair per vCPU, 1024
 * entries per ring and mergeable receive buffers by default, or the VIF's
 * vhost-* keys; values the API refuses. */
static void
test_vhost_settings(void **state)
{
    struct json_object *vm = records(vm_json);
    struct json_object *vifs = records(vifs_json);
    struct json_object *networks = records(networks_json);
    struct vm_config *config;

    (void) state;
    assert_null(vm_config_from_records(vm, vifs, networks, 7, &config));
    assert_int_equal(config->nics[0].queues, 2);
    assert_int_equal(config->nics[0].queue_size, 1024);
    assert_true(config->nics[0].mrg_rxbuf);
    vm_config_destroy(config);

    struct json_object *other = json_object_new_object();
    json_object_object_add(other, "vhost-queues", json_object_new_string("4"));
    json_object_object_add(other, "vhost-queue-size",
                           json_object_new_string("512"));
    json_object_object_add(other, "vhost-mrg-rxbuf",
                           json_object_new_string("false"));
    json_object_object_add(json_object_object_get(vifs, VIFA), "other_config",
                           other);
    json_object_object_add(vm, "VCPUs_max", json_object_new_int(64));
    assert_null(vm_config_from_records(vm, vifs, networks, 7, &config));
    /* 64 vCPUs: at most VM_VHOST_QUEUES_MAX queue pairs. */
    assert_int_equal(config->nics[0].queues, VM_VHOST_QUEUES_MAX);
    assert_int_equal(config->nics[1].queues, 4);
    assert_int_equal(config->nics[1].queue_size, 512);
    assert_false(config->nics[1].mrg_rxbuf);
    vm_config_destroy(config);

    assert_true(vm_vhost_value_valid("vhost-queues", "1"));
    assert_true(vm_vhost_value_valid("vhost-queues", "16"));
    assert_false(vm_vhost_value_valid("vhost-queues", "0"));
    assert_false(vm_vhost_value_valid("vhost-queues", "17"));
    assert_false(vm_vhost_value_valid("vhost-queues", "2x"));
    assert_false(vm_vhost_value_valid("vhost-queues", ""));
    assert_true(vm_vhost_value_valid("vhost-queue-size", "256"));
    assert_false(vm_vhost_value_valid("vhost-queue-size", "768"));
    assert_false(vm_vhost_value_valid("vhost-queue-size", "2048"));
    assert_false(vm_vhost_value_valid("vhost-queue-size", "128"));
    assert_true(vm_vhost_value_valid("vhost-mrg-rxbuf", "false"));
    assert_false(vm_vhost_value_valid("vhost-mrg-rxbuf", "no"));
    assert_true(vm_vhost_value_valid("netns", "anything"));
    json_object_put(vm);
    json_object_put(vifs);
    json_object_put(networks);
}

/* The QMP arguments that hot-plug a NIC: a tap as before; a vhost-user
 * NIC with its queue pairs, ring sizes, mergeable buffers and MTU, MSI-X
 * vectors for its queues under KVM, INTx under TCG. */
static void
test_nic_plug_args(void **state)
{
    struct vm_nic nic = {.device = 1,
                         .mac = "02:00:00:00:00:0b",
                         .tap = "vif7.1",
                         .mtu = 9000,
                         .queues = 2,
                         .queue_size = 1024,
                         .mrg_rxbuf = true};
    struct json_object *args;

    (void) state;
    args = vm_qemu_netdev_args(&nic);
    assert_string_equal(
        json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN),
        "{\"id\":\"net1\",\"type\":\"tap\",\"ifname\":"
        "\"vif7.1\",\"script\":\"no\",\"downscript\":"
        "\"no\"}");
    json_object_put(args);
    args = vm_qemu_device_args(&nic, VM_ACCEL_KVM);
    assert_string_equal(
        json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN),
        "{\"driver\":\"virtio-net-pci\",\"id\":\"nic1\","
        "\"netdev\":\"net1\",\"mac\":"
        "\"02:00:00:00:00:0b\",\"romfile\":\"\",\"csum\":"
        "false}");
    json_object_put(args);

    snprintf(nic.vhost, sizeof nic.vhost, "/run/netpool/vhost/h/vif7.1.sock");
    args = vm_qemu_netdev_args(&nic);
    assert_string_equal(member(args, "type"), "vhost-user");
    assert_string_equal(member(args, "chardev"), "chr1");
    assert_string_equal(member(args, "queues"), "2");
    assert_string_equal(member(args, "id"), "net1");
    json_object_put(args);
    args = vm_qemu_device_args(&nic, VM_ACCEL_KVM);
    assert_string_equal(member(args, "rx_queue_size"), "1024");
    assert_string_equal(member(args, "tx_queue_size"), "1024");
    assert_string_equal(member(args, "mrg_rxbuf"), "true");
    assert_string_equal(member(args, "host_mtu"), "9000");
    assert_string_equal(member(args, "mq"), "true");
    assert_string_equal(member(args, "vectors"), "6");
    assert_string_equal(member(args, "csum"), "false");
    json_object_put(args);
    args = vm_qemu_device_args(&nic, VM_ACCEL_TCG);
    assert_string_equal(member(args, "vectors"), "0");
    json_object_put(args);

    nic.queues = 1;
    nic.queue_size = 256;
    nic.mrg_rxbuf = false;
    args = vm_qemu_device_args(&nic, VM_ACCEL_KVM);
    assert_string_equal(member(args, "rx_queue_size"), "256");
    assert_string_equal(member(args, "mrg_rxbuf"), "false");
    assert_string_equal(member(args, "mq"), "");
    assert_string_equal(member(args, "vectors"), "");
    json_object_put(args);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_state_table),
        cmocka_unit_test(test_power_state_errors),
        cmocka_unit_test(test_power_state_results),
        cmocka_unit_test(test_power_state_names),
        cmocka_unit_test(test_memory_defaults),
        cmocka_unit_test(test_memory_order),
        cmocka_unit_test(test_memory_admission),
        cmocka_unit_test(test_config_from_records),
        cmocka_unit_test(test_qemu_argv),
        cmocka_unit_test(test_vhost_settings),
        cmocka_unit_test(test_nic_plug_args),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
