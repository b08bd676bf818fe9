/*
 * vm: domains.  The power-state machine of a VM (Halted, Running, Paused,
 * Suspended) and which operations it allows, the memory constraints of a VM
 * and the host's memory admission, the translation of a VM's records into
 * the QEMU command line that runs it, and the backends that run domains
 * behind one interface (struct vm_backend): "qemu", driven over QMP.
 *
 * The decisions (vm-power.c, vm-memory.c, qemu-argv.c) are pure: they
 * never touch the store, a process or a device, so unit tests call them
 * directly.  The backends do the I/O.  This module never writes the store:
 * the API layer (mgmt/api-vm.c) applies what a backend reports.
 */
#ifndef NETPOOL_VM_VM_H
#define NETPOOL_VM_VM_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;
struct np_error;

/* Power states, as xapi names them ("Halted", …). */
enum vm_power_state {
    VM_HALTED,    /* Not running; nothing allocated. */
    VM_RUNNING,   /* Running. */
    VM_PAUSED,    /* Its vCPUs are stopped; memory is kept. */
    VM_SUSPENDED, /* Its state is saved to a file; nothing allocated. */
};

/* Power operations, as xapi's VM methods name them. */
enum vm_operation {
    VM_OP_START,            /* Halted → Running. */
    VM_OP_CLEAN_SHUTDOWN,   /* Running → Halted, asking the guest. */
    VM_OP_HARD_SHUTDOWN,    /* Running, Paused, Suspended → Halted. */
    VM_OP_CLEAN_REBOOT,     /* Running → Running, asking the guest. */
    VM_OP_HARD_REBOOT,      /* Running, Paused → Running (a reset). */
    VM_OP_PAUSE,            /* Running → Paused. */
    VM_OP_UNPAUSE,          /* Paused → Running. */
    VM_OP_SUSPEND,          /* Running → Suspended. */
    VM_OP_RESUME,           /* Suspended → Running. */
    VM_OP_POWER_STATE_RESET /* Any → Halted, without touching a domain. */
};
#define VM_N_OPERATIONS (VM_OP_POWER_STATE_RESET + 1)

/* Returns the xapi name of 'state' ("Halted", "Running", "Paused",
 * "Suspended"). */
const char *vm_power_state_name(enum vm_power_state state);

/* Parses 'name' as a power state name.  Returns false if it is none. */
bool vm_power_state_parse(const char *name, enum vm_power_state *state);

/* Returns the xapi method name of 'op' ("start", "clean_shutdown", …). */
const char *vm_operation_name(enum vm_operation op);

/* Decides whether operation 'op' may run on VM 'vm_uuid' in power state
 * 'state' while operation 'current' runs on it ('current' NULL or "" when
 * it is idle).  Returns NULL if it may, else a new typed error:
 * OTHER_OPERATION_IN_PROGRESS("VM", vm_uuid, current) for a busy VM (only
 * power_state_reset may run then, to recover a VM stuck in an operation),
 * or VM_BAD_POWER_STATE(vm_uuid, expected, actual) where 'expected' is the
 * first state the operation accepts. */
struct np_error *vm_check_operation(enum vm_operation op,
                                    enum vm_power_state state,
                                    const char *current, const char *vm_uuid);

/* Returns the power state a VM is in after 'op' succeeded. */
enum vm_power_state vm_operation_result(enum vm_operation op);

/* Memory settings of a VM, in bytes (xapi's memory-* fields).  A zero
 * means "not set" to vm_memory_complete(). */
struct vm_memory {
    int64_t static_min;  /* Lowest the guest may ever be given. */
    int64_t dynamic_min; /* Lowest the host may balloon it down to. */
    int64_t dynamic_max; /* What it is given when memory is plentiful. */
    int64_t static_max;  /* What the guest is booted with. */
};

/* Fills the settings of 'memory' that are not set: dynamic_max defaults to
 * static_max, dynamic_min to a quarter of static_max (raised to static_min
 * when that is larger). */
void vm_memory_complete(struct vm_memory *memory);

/* Checks static_min <= dynamic_min <= dynamic_max <= static_max and
 * static_max > 0.  Returns NULL, or a new
 * MEMORY_CONSTRAINT_VIOLATION(field, rule) naming the first field (CLI
 * name, e.g. "memory-dynamic-min") that breaks the order, where 'rule' is
 * the order it must satisfy. */
struct np_error *vm_memory_check(const struct vm_memory *memory);

/* Returns the host memory, in bytes, that a running VM with 'memory' and
 * 'vcpus' virtual CPUs costs beyond its guest memory (dynamic_max): the
 * emulator, its page tables and device buffers.  Measured with QEMU TCG:
 * a 128 MiB guest costs about 205 MB of host RSS. */
int64_t vm_memory_overhead(const struct vm_memory *memory, int64_t vcpus);

/* Memory admission: decides whether a VM that needs 'needed' bytes
 * (dynamic_max plus vm_memory_overhead()) may start on a host with
 * 'host_free' bytes free.  Returns NULL, or a new
 * HOST_NOT_ENOUGH_FREE_MEMORY(needed, available) in bytes: netpool never
 * overcommits physical memory. */
struct np_error *vm_check_admission(int64_t needed, int64_t host_free);

/* Hardware acceleration of a domain. */
enum vm_accel {
    VM_ACCEL_TCG, /* QEMU's translator: works everywhere, slowly. */
    VM_ACCEL_KVM, /* Linux KVM: the production path. */
};

/* Returns "tcg" or "kvm". */
const char *vm_accel_name(enum vm_accel accel);

/* One virtual NIC of a domain. */
struct vm_nic {
    char *vif;       /* The VIF's UUID. */
    int device;      /* The VIF's device number (guest NIC order). */
    char mac[18];    /* Its MAC, "xx:xx:xx:xx:xx:xx". */
    char tap[16];    /* Host tap device: the VIF's OVS port name. */
    char bridge[16]; /* Its network's bridge. */
    int64_t mtu;     /* Its network's MTU. */
    char vhost[108]; /* vhost-user socket QEMU serves instead of a tap
                      * (OVS-DPDK), or "". */
    int queues;      /* vhost-user: queue pairs (VIF other_config
                      * vhost-queues, default the VM's vCPUs). */
    int queue_size;  /* vhost-user: ring size (vhost-queue-size). */
    bool mrg_rxbuf;  /* vhost-user: mergeable receive buffers
                      * (vhost-mrg-rxbuf). */
};

/* A vhost-user NIC's settings, from its VIF's other_config (checked where
 * they enter by vm_vhost_value_valid()), chosen for OVS-DPDK by the
 * analysis in perf/README.md:
 *   vhost-queues      queue pairs, 1-VM_VHOST_QUEUES_MAX; default the VM's
 *                     VCPUs-max (at most VM_VHOST_QUEUES_MAX), one per vCPU
 *   vhost-queue-size  virtqueue size, 256, 512 or 1024 (default
 *                     VM_VHOST_QUEUE_SIZE): QEMU's rx_queue_size and
 *                     tx_queue_size, whose default of 256 overflows while a
 *                     guest is descheduled
 *   vhost-mrg-rxbuf   "true" (default) or "false": mergeable receive
 *                     buffers, which a guest needs for jumbo frames in
 *                     page-sized buffers */
#define VM_VHOST_QUEUES_MAX 16
#define VM_VHOST_QUEUE_SIZE 1024

/* Returns false if 'value' is not a valid value of VIF other_config key
 * 'key', one of the vhost-user settings above; true for any other key. */
bool vm_vhost_value_valid(const char *key, const char *value);

/* One virtual disk of a domain. */
struct vm_disk {
    char *path;     /* Image file. */
    char *format;   /* "qcow2" or "raw". */
    int device;     /* Disk order (userdevice). */
    bool read_only; /* Attach read-only. */
};

/* Everything a backend needs to run one domain. */
struct vm_config {
    char *uuid;              /* The VM's UUID. */
    char *name;              /* Its name-label. */
    int64_t vcpus;           /* VCPUs-max. */
    struct vm_memory memory; /* Completed memory settings. */
    char *kernel;            /* PV-kernel: direct kernel boot, or "". */
    char *ramdisk;           /* PV-ramdisk, or "". */
    char *args;              /* PV-args (kernel command line), or "". */
    struct vm_nic *nics;     /* NICs, sorted by device. */
    size_t n_nics;           /* Entries in 'nics'. */
    struct vm_disk *disks;   /* Disks, sorted by device. */
    size_t n_disks;          /* Entries in 'disks'. */
    /* Guest memory a vhost-user backend maps (OVS-DPDK): NULL for private
     * memory, else hugepages shared with other processes, from a file in
     * this hugetlbfs folder, or from an anonymous hugepage memfd when it
     * is "". */
    char *shared_memory;
};

/* Builds a domain configuration from the VM record 'vm' (store JSON, with
 * its "uuid") and 'vifs', a JSON object UUID → VIF record holding at least
 * the VM's VIFs (others are skipped), and 'networks', UUID → network
 * record (for the MTU).  'index' is the VM's index in its port names
 * (other_config netpool-vif-index): each NIC's tap is "vif<index>.<dev>",
 * the name the fabric gives its OVS port; its vhost-user settings come
 * from the VIF's other_config (a value vm_vhost_value_valid() refuses,
 * which the API never stores, counts as unset).  Returns 0 and a new
 * configuration in '*configp', or a new typed error: INVALID_VALUE naming a
 * bad field, MEMORY_CONSTRAINT_VIOLATION, HANDLE_INVALID("network", …) for
 * a VIF whose network is gone. */
struct np_error *vm_config_from_records(struct json_object *vm,
                                        struct json_object *vifs,
                                        struct json_object *networks,
                                        int64_t index,
                                        struct vm_config **configp);

/* Frees 'config'.  Accepts NULL. */
void vm_config_destroy(struct vm_config *config);

/* Where a QEMU domain keeps its runtime files, all in one folder. */
struct vm_qemu_paths {
    const char *qmp;      /* QMP unix socket. */
    const char *serial;   /* Serial console log. */
    const char *pidfile;  /* QEMU's pidfile. */
    const char *incoming; /* Resume: QEMU -incoming URI ("exec:cat …"),
                           * or NULL. */
};

/* Returns the QEMU command line (a new NULL-terminated argv whose strings
 * the caller frees with vm_argv_free()) that runs 'config' with 'accel':
 * "-accel kvm|tcg", -m (dynamic_max, MiB), -smp, -kernel/-initrd/-append
 * from PV-kernel/PV-ramdisk/PV-args, one virtio-net-pci on its tap per NIC
 * (with the VIF's MAC, no option ROM, checksum offload off: OVS's
 * AF_PACKET ports pass partial checksums on unfixed) except NICs with a
 * vhost-user socket, which are hot-plugged into the running domain (QEMU
 * would wait for their peer, OVS, before it finishes starting); guest
 * memory comes from 'config->shared_memory' when set, shared), one
 * virtio-blk per
 * disk, -no-shutdown (a guest that powers off leaves QEMU waiting, so
 * that a guest's shutdown is told from a crash), QMP on 'paths->qmp', the serial console appended to
 * 'paths->serial', -daemonize with 'paths->pidfile', and -incoming
 * 'paths->incoming' when resuming.  The domain starts with its vCPUs stopped when
 * 'paused'. */
char **vm_qemu_argv(const struct vm_config *config, enum vm_accel accel,
                    const struct vm_qemu_paths *paths, bool paused);

/* Frees an argv made by vm_qemu_argv().  Accepts NULL. */
void vm_argv_free(char **argv);

/* Returns the arguments of QMP netdev_add that hot-plugs 'nic' (a new JSON
 * object): id "net<device>"; a vhost-user netdev on chardev
 * "chr<device>" with its queue pairs, or a tap on its tap device. */
struct json_object *vm_qemu_netdev_args(const struct vm_nic *nic);

/* Returns the arguments of QMP device_add that hot-plugs 'nic' on netdev
 * "net<device>" (a new JSON object): a virtio-net-pci "nic<device>" with
 * the VIF's MAC, no option ROM, checksum offload off, and for a
 * vhost-user NIC its ring sizes, mergeable receive buffers, multiqueue
 * (mq, with 2 vectors per queue pair and 2 more) and the network's MTU
 * (host_mtu, which QEMU also gives the switch).  Under TCG ('accel') a
 * vhost-user NIC gets INTx interrupts (vectors 0): QEMU 7.2 crashes wiring
 * its MSI-X vectors without KVM's irqfd. */
struct json_object *vm_qemu_device_args(const struct vm_nic *nic,
                                        enum vm_accel accel);

/* Room for the reason an operation with the I/O failed. */
#define VM_WHY_SIZE 256

/* QMP (qmp.c). */

/* Runs QMP command 'command' with 'arguments' (borrowed; NULL for none) on
 * the QMP unix socket at 'path', in one connection that negotiates
 * capabilities first, giving up after 'timeout_ms'.  Returns 0 and the
 * command's "return" value in '*returnp' (a new reference; pass NULL to
 * ignore it), or a positive errno with the reason in 'why' (VM_WHY_SIZE
 * bytes): EPROTO for a QMP error, ETIMEDOUT, or the socket's error. */
int vm_qmp_execute(const char *path, const char *command,
                   struct json_object *arguments, int timeout_ms,
                   struct json_object **returnp, char *why);

/* Backends.
 *
 * A backend runs domains.  Every operation names the domain by VM UUID;
 * the backend keeps whatever handle it needs (a QMP socket, a domid) in
 * its own state folder, so that a restarted netpoold finds running domains
 * again with list().  Operations return 0 or a positive errno and write a
 * human-readable reason into 'why' (VM_WHY_SIZE bytes) on failure. */

/* What a domain is doing, as its backend sees it. */
enum vm_domain_state {
    VM_DOMAIN_GONE,     /* No domain: never started, ended or crashed. */
    VM_DOMAIN_RUNNING,  /* Its vCPUs run. */
    VM_DOMAIN_PAUSED,   /* Its vCPUs are stopped. */
    VM_DOMAIN_SHUTDOWN, /* The guest powered off; the emulator waits to be
                         * destroyed. */
};

/* What a backend knows about one domain it runs. */
struct vm_domain_info {
    char uuid[37];             /* The VM's UUID. */
    pid_t pid;                 /* The emulator's process, or 0. */
    enum vm_power_state state; /* Running or Paused. */
};

struct vm_backend;

struct vm_backend_ops {
    const char *name; /* "qemu", "xen". */
    /* Returns the acceleration domains get on this host. */
    enum vm_accel (*accel)(struct vm_backend *);
    /* Starts 'config' (paused if 'paused'), from the saved state in
     * 'resume_file' when that is not NULL, and sets '*domid' to the
     * domain's number (QEMU: its PID).  On failure nothing is left. */
    int (*start)(struct vm_backend *, const struct vm_config *config,
                 bool paused, const char *resume_file, int64_t *domid,
                 char *why);
    /* Asks the guest to shut down (ACPI power button).  Returns at once;
     * query() tells when the guest is done (VM_DOMAIN_SHUTDOWN). */
    int (*shutdown)(struct vm_backend *, const char *uuid, char *why);
    /* Tells what the domain is doing now ('*state'). */
    int (*query)(struct vm_backend *, const char *uuid,
                 enum vm_domain_state *state, char *why);
    /* Ends the domain at once (a pulled plug) and cleans its files. */
    int (*destroy)(struct vm_backend *, const char *uuid, char *why);
    /* Stops or continues the domain's vCPUs. */
    int (*pause)(struct vm_backend *, const char *uuid, char *why);
    int (*unpause)(struct vm_backend *, const char *uuid, char *why);
    /* Resets the domain, as a hardware reset button. */
    int (*reset)(struct vm_backend *, const char *uuid, char *why);
    /* Saves the (paused) domain's whole state into 'file' and ends it. */
    int (*suspend)(struct vm_backend *, const char *uuid, const char *file,
                   char *why);
    /* Adds or removes a NIC of a running domain. */
    int (*nic_plug)(struct vm_backend *, const char *uuid,
                    const struct vm_nic *nic, char *why);
    int (*nic_unplug)(struct vm_backend *, const char *uuid,
                      const struct vm_nic *nic, char *why);
    /* Lists the domains this backend runs: a new array in '*domainsp' (the
     * caller frees it) of '*n' entries. */
    int (*list)(struct vm_backend *, struct vm_domain_info **domainsp,
                size_t *n);
    /* Frees the backend (domains keep running). */
    void (*destroy_backend)(struct vm_backend *);
};

/* A backend instance: its operations and its private state. */
struct vm_backend {
    const struct vm_backend_ops *ops; /* What it does. */
    char *state_dir;                  /* Its runtime files. */
};

/* Returns a new QEMU backend keeping its runtime files (one folder per
 * domain: QMP socket, pidfile, serial log) under 'state_dir', running
 * 'qemu' (NULL: "qemu-system-x86_64") with 'accel' "kvm" or "tcg", or
 * NULL to use vm_kvm_usable(). */
struct vm_backend *vm_qemu_backend_create(const char *state_dir,
                                          const char *qemu, const char *accel);

/* Frees 'backend'.  Accepts NULL.  Running domains keep running. */
void vm_backend_destroy(struct vm_backend *backend);

/* Returns a new Xen backend (libxl), or NULL when netpool was built
 * without libxl or the host runs no Xen hypervisor. */
struct vm_backend *vm_xen_backend_create(const char *state_dir);

#ifdef HAVE_LIBXL
struct libxl_domain_config;

/* Translates 'config' into libxl's domain configuration 'd' (initialized
 * here; the caller disposes of it with libxl_domain_config_dispose()): a
 * PVH guest named "netpool-<UUID prefix>" with the VM's UUID, VCPUs-max
 * vCPUs, memory-static-max as its maximum and memory-dynamic-max as its
 * target, PV-kernel, PV-ramdisk and "console=hvc0 PV-args"; destroyed on
 * poweroff and crash, restarted on reboot; one vif per NIC (device, MAC,
 * MTU, its network's bridge, ifname the VIF's port name, the
 * vif-openvswitch hotplug script); one qdisk disk per disk (xvda, xvdb …
 * by device, qcow2 or raw, read-only when asked).  Returns 0, or EINVAL
 * with 'why' for a bad UUID or MAC.  Pure. */
int vm_xen_domain_config(const struct vm_config *config,
                         struct libxl_domain_config *d, char *why);
#endif

/* Returns true if KVM works on this host: /dev/kvm opens and the CPU shows
 * hardware virtualization (vmx or svm).  A host that is itself a VM
 * without nested virtualization has /dev/kvm but no such flag, and KVM
 * guests abort there. */
bool vm_kvm_usable(void);

#endif
