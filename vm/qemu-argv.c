/*
 * A domain's configuration from its store records, and the QEMU command
 * line that runs it.  Pure.
 */
#include "vm/vm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

#define MIB (1024 * 1024)
#define MAX_ARGS 256

static const char *field(struct json_object *record, const char *name);
static void vhost_settings(struct vm_nic *nic, struct json_object *vif,
                           int64_t vcpus);
static bool parse_int(const char *text, long min, long max, long *value);
static int64_t int_field(struct json_object *record, const char *name);
static int compare_nics(const void *a, const void *b);
static int compare_disks(const void *a, const void *b);
static void add(char **argv, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *
vm_accel_name(enum vm_accel accel)
{
    return accel == VM_ACCEL_KVM ? "kvm" : "tcg";
}

bool
vm_vhost_value_valid(const char *key, const char *value)
{
    long n;

    if (!strcmp(key, "vhost-queues")) {
        return parse_int(value, 1, VM_VHOST_QUEUES_MAX, &n);
    }
    if (!strcmp(key, "vhost-queue-size")) {
        return parse_int(value, 256, 1024, &n) && !(n & (n - 1));
    }
    if (!strcmp(key, "vhost-mrg-rxbuf")) {
        return !strcmp(value, "true") || !strcmp(value, "false");
    }
    return true;
}

struct np_error *
vm_config_from_records(struct json_object *vm, struct json_object *vifs,
                       struct json_object *networks, int64_t index,
                       struct vm_config **configp)
{
    struct vm_config *config = xzalloc(sizeof *config);
    const char *uuid = field(vm, "uuid");
    struct np_error *error = NULL;

    *configp = NULL;
    config->uuid = xstrdup(uuid);
    config->name = xstrdup(field(vm, "name_label"));
    config->vcpus = int_field(vm, "VCPUs_max");
    if (config->vcpus < 1) {
        config->vcpus = 1;
    }
    config->memory = (struct vm_memory){
        .static_min = int_field(vm, "memory_static_min"),
        .dynamic_min = int_field(vm, "memory_dynamic_min"),
        .dynamic_max = int_field(vm, "memory_dynamic_max"),
        .static_max = int_field(vm, "memory_static_max"),
    };
    vm_memory_complete(&config->memory);
    error = vm_memory_check(&config->memory);
    if (error) {
        goto out;
    }
    config->kernel = xstrdup(field(vm, "PV_kernel"));
    config->ramdisk = xstrdup(field(vm, "PV_ramdisk"));
    config->args = xstrdup(field(vm, "PV_args"));

    size_t n_vifs = vifs ? (size_t) json_object_object_length(vifs) : 0;
    config->nics = xzalloc((n_vifs ? n_vifs : 1) * sizeof *config->nics);
    if (vifs) {
        json_object_object_foreach (vifs, vif_uuid, vif) {
            if (strcmp(field(vif, "VM"), uuid)) {
                continue;
            }
            const char *device = field(vif, "device");
            const char *network_uuid = field(vif, "network");
            struct json_object *network =
                networks ? json_object_object_get(networks, network_uuid)
                         : NULL;
            char *end;
            long number = strtol(device, &end, 10);

            if (!*device || *end || number < 0 || number > 9999) {
                error =
                    np_error_new(ERR_INVALID_VALUE, "device", device, NULL);
                goto out;
            }
            if (!network) {
                error = np_error_new(ERR_HANDLE_INVALID, "network",
                                     network_uuid, NULL);
                goto out;
            }
            struct vm_nic *nic = &config->nics[config->n_nics++];
            nic->vif = xstrdup(vif_uuid);
            nic->device = number;
            snprintf(nic->mac, sizeof nic->mac, "%s", field(vif, "MAC"));
            snprintf(nic->tap, sizeof nic->tap, "vif%d.%d", (int) index,
                     (int) number);
            nic->mtu = int_field(network, "MTU");
            snprintf(nic->bridge, sizeof nic->bridge, "%s",
                     field(network, "bridge"));
            vhost_settings(nic, vif, config->vcpus);
        }
    }
    qsort(config->nics, config->n_nics, sizeof *config->nics, compare_nics);
    if (config->n_disks) {
        qsort(config->disks, config->n_disks, sizeof *config->disks,
              compare_disks);
    }

out:
    if (error) {
        vm_config_destroy(config);
        return error;
    }
    *configp = config;
    return NULL;
}

void
vm_config_destroy(struct vm_config *config)
{
    if (!config) {
        return;
    }
    for (size_t i = 0; i < config->n_nics; i++) {
        free(config->nics[i].vif);
    }
    for (size_t i = 0; i < config->n_disks; i++) {
        free(config->disks[i].path);
        free(config->disks[i].format);
    }
    free(config->nics);
    free(config->disks);
    free(config->uuid);
    free(config->name);
    free(config->kernel);
    free(config->ramdisk);
    free(config->args);
    free(config->shared_memory);
    free(config);
}

char **
vm_qemu_argv(const struct vm_config *config, enum vm_accel accel,
             const struct vm_qemu_paths *paths, bool paused)
{
    char **argv = xzalloc(MAX_ARGS * sizeof *argv);
    size_t n = 0;

    add(argv, &n, "qemu-system-x86_64");
    add(argv, &n, "-name");
    add(argv, &n, "netpool-%.8s,process=netpool-%.8s", config->uuid,
        config->uuid);
    add(argv, &n, "-uuid");
    add(argv, &n, "%s", config->uuid);
    add(argv, &n, "-accel");
    add(argv, &n, "%s", vm_accel_name(accel));
    if (accel == VM_ACCEL_KVM) {
        add(argv, &n, "-cpu");
        add(argv, &n, "host");
    }
    add(argv, &n, "-m");
    add(argv, &n, "%" PRId64 "M",
        (config->memory.dynamic_max + MIB - 1) / MIB);
    if (config->shared_memory) {
        /* vhost-user maps the whole guest memory: shared hugepages. */
        int64_t mib = (config->memory.dynamic_max + MIB - 1) / MIB;
        add(argv, &n, "-object");
        if (*config->shared_memory) {
            add(argv, &n,
                "memory-backend-file,id=mem,size=%" PRId64
                "M,mem-path=%s,share=on",
                mib, config->shared_memory);
        } else {
            add(argv, &n,
                "memory-backend-memfd,id=mem,size=%" PRId64
                "M,hugetlb=on,hugetlbsize=2M,share=on",
                mib);
        }
        add(argv, &n, "-machine");
        add(argv, &n, "memory-backend=mem");
    }
    add(argv, &n, "-smp");
    add(argv, &n, "%" PRId64, config->vcpus);
    add(argv, &n, "-nodefaults");
    add(argv, &n, "-no-user-config");
    add(argv, &n, "-display");
    add(argv, &n, "none");
    if (*config->kernel) {
        add(argv, &n, "-kernel");
        add(argv, &n, "%s", config->kernel);
        if (*config->ramdisk) {
            add(argv, &n, "-initrd");
            add(argv, &n, "%s", config->ramdisk);
        }
        add(argv, &n, "-append");
        add(argv, &n, "console=ttyS0%s%s", *config->args ? " " : "",
            config->args);
    }
    for (size_t i = 0; i < config->n_nics && n + 8 < MAX_ARGS; i++) {
        const struct vm_nic *nic = &config->nics[i];

        if (*nic->vhost) {
            /* QEMU waits for a vhost-user NIC's peer before it finishes
             * starting, and OVS's port of the VIF comes with the running
             * domain: the NIC is hot-plugged once the domain runs. */
            continue;
        }
        add(argv, &n, "-netdev");
        add(argv, &n, "tap,id=net%d,ifname=%s,script=no,downscript=no",
            nic->device, nic->tap);
        add(argv, &n, "-device");
        add(argv, &n,
            "virtio-net-pci,id=nic%d,netdev=net%d,mac=%s,romfile=,"
            "csum=off%s",
            nic->device, nic->device, nic->mac,
            nic->mtu > 1500 ? ",host_mtu=9000" : "");
    }
    for (size_t i = 0; i < config->n_disks && n + 8 < MAX_ARGS; i++) {
        const struct vm_disk *disk = &config->disks[i];

        add(argv, &n, "-drive");
        /* Its nodes are named, so that a storage migration's NBD server
         * can export it (and reopen a read-only one writable while the
         * source writes its copy). */
        add(argv, &n,
            "file=%s,format=%s,if=none,id=disk%d,node-name=np-disk%d,"
            "file.node-name=np-file%d%s",
            disk->path, disk->format, disk->device, disk->device, disk->device,
            disk->read_only ? ",readonly=on" : "");
        add(argv, &n, "-device");
        add(argv, &n, "virtio-blk-pci,drive=disk%d,id=blk%d", disk->device,
            disk->device);
    }
    add(argv, &n, "-qmp");
    add(argv, &n, "unix:%s,server=on,wait=off", paths->qmp);
    if (paths->control) {
        add(argv, &n, "-qmp");
        add(argv, &n, "unix:%s,server=on,wait=off", paths->control);
    }
    add(argv, &n, "-serial");
    add(argv, &n, "file:%s", paths->serial);
    add(argv, &n, "-no-shutdown");
    add(argv, &n, "-daemonize");
    add(argv, &n, "-pidfile");
    add(argv, &n, "%s", paths->pidfile);
    if (paused) {
        add(argv, &n, "-S");
    }
    if (paths->incoming) {
        add(argv, &n, "-incoming");
        add(argv, &n, "%s", paths->incoming);
    }
    return argv;
}

void
vm_argv_free(char **argv)
{
    if (argv) {
        for (char **p = argv; *p; p++) {
            free(*p);
        }
        free(argv);
    }
}

struct json_object *
vm_qemu_netdev_args(const struct vm_nic *nic)
{
    struct json_object *args = json_object_new_object();
    char id[32];

    snprintf(id, sizeof id, "net%d", nic->device);
    json_object_object_add(args, "id", json_object_new_string(id));
    if (*nic->vhost) {
        char chardev[32];
        snprintf(chardev, sizeof chardev, "chr%d", nic->device);
        json_object_object_add(args, "type",
                               json_object_new_string("vhost-user"));
        json_object_object_add(args, "chardev",
                               json_object_new_string(chardev));
        json_object_object_add(args, "queues",
                               json_object_new_int(nic->queues));
    } else {
        json_object_object_add(args, "type", json_object_new_string("tap"));
        json_object_object_add(args, "ifname",
                               json_object_new_string(nic->tap));
        json_object_object_add(args, "script", json_object_new_string("no"));
        json_object_object_add(args, "downscript",
                               json_object_new_string("no"));
    }
    return args;
}

struct json_object *
vm_qemu_device_args(const struct vm_nic *nic, enum vm_accel accel)
{
    struct json_object *args = json_object_new_object();
    char id[32], netdev[32];

    snprintf(id, sizeof id, "nic%d", nic->device);
    snprintf(netdev, sizeof netdev, "net%d", nic->device);
    json_object_object_add(args, "driver",
                           json_object_new_string("virtio-net-pci"));
    json_object_object_add(args, "id", json_object_new_string(id));
    json_object_object_add(args, "netdev", json_object_new_string(netdev));
    json_object_object_add(args, "mac", json_object_new_string(nic->mac));
    json_object_object_add(args, "romfile", json_object_new_string(""));
    json_object_object_add(args, "csum", json_object_new_boolean(false));
    if (!*nic->vhost) {
        return args;
    }
    json_object_object_add(args, "rx_queue_size",
                           json_object_new_int(nic->queue_size));
    json_object_object_add(args, "tx_queue_size",
                           json_object_new_int(nic->queue_size));
    json_object_object_add(args, "mrg_rxbuf",
                           json_object_new_boolean(nic->mrg_rxbuf));
    if (nic->mtu > 0) {
        json_object_object_add(args, "host_mtu",
                               json_object_new_int((int) nic->mtu));
    }
    if (nic->queues > 1) {
        json_object_object_add(args, "mq", json_object_new_boolean(true));
    }
    if (accel == VM_ACCEL_TCG) {
        /* Without KVM's irqfd, QEMU 7.2 crashes wiring a vhost-user NIC's
         * MSI-X vectors when the guest starts the device (in
         * msix_set_vector_notifiers): it gets INTx interrupts instead. */
        json_object_object_add(args, "vectors", json_object_new_int(0));
    } else if (nic->queues > 1) {
        /* One vector per queue, one for the control queue, one for
         * configuration changes. */
        json_object_object_add(args, "vectors",
                               json_object_new_int(2 * nic->queues + 2));
    }
    return args;
}

/* Record readers. */

/* Fills the vhost-user settings of 'nic' from its VIF record 'vif', for a
 * VM with 'vcpus' virtual CPUs. */
static void
vhost_settings(struct vm_nic *nic, struct json_object *vif, int64_t vcpus)
{
    struct json_object *config = json_object_object_get(vif, "other_config");
    const char *queues = field(config, "vhost-queues");
    const char *queue_size = field(config, "vhost-queue-size");
    const char *mrg_rxbuf = field(config, "vhost-mrg-rxbuf");
    long n;

    nic->queues =
        (int) (vcpus < VM_VHOST_QUEUES_MAX ? vcpus : VM_VHOST_QUEUES_MAX);
    if (vm_vhost_value_valid("vhost-queues", queues)
        && parse_int(queues, 1, VM_VHOST_QUEUES_MAX, &n)) {
        nic->queues = (int) n;
    }
    nic->queue_size = VM_VHOST_QUEUE_SIZE;
    if (vm_vhost_value_valid("vhost-queue-size", queue_size)
        && parse_int(queue_size, 256, 1024, &n)) {
        nic->queue_size = (int) n;
    }
    nic->mrg_rxbuf = strcmp(mrg_rxbuf, "false") != 0;
}

/* Parses 'text' as a decimal integer from 'min' to 'max', nothing around
 * it. */
static bool
parse_int(const char *text, long min, long max, long *value)
{
    char *end;

    if (*text < '0' || *text > '9') {
        return false;
    }
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno || *end || n < min || n > max) {
        return false;
    }
    *value = n;
    return true;
}

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value = json_object_object_get(record, name);
    const char *text = value ? json_object_get_string(value) : NULL;

    return text ? text : "";
}

static int64_t
int_field(struct json_object *record, const char *name)
{
    struct json_object *value = json_object_object_get(record, name);

    return value ? json_object_get_int64(value) : 0;
}

static int
compare_nics(const void *a_, const void *b_)
{
    const struct vm_nic *a = a_, *b = b_;

    return a->device < b->device ? -1 : a->device > b->device;
}

static int
compare_disks(const void *a_, const void *b_)
{
    const struct vm_disk *a = a_, *b = b_;

    return a->device < b->device ? -1 : a->device > b->device;
}

/* Appends a formatted argument to 'argv' (which has room: MAX_ARGS). */
static void
add(char **argv, size_t *n, const char *fmt, ...)
{
    va_list args;

    if (*n + 1 >= MAX_ARGS) {
        return;
    }
    va_start(args, fmt);
    if (vasprintf(&argv[*n], fmt, args) < 0) {
        abort();
    }
    va_end(args);
    (*n)++;
}
