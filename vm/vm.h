/*
 * vm: domains.  The power-state machine of a VM (Halted, Running, Paused,
 * Suspended) and which operations it allows, the memory constraints of a VM
 * and the host's memory admission, the translation of a VM's records into
 * the QEMU command line that runs it, the backends that run domains behind
 * one asynchronous interface (struct vm_backend): "qemu", driven over QMP,
 * and "xen", through libxl; and the controller of a host's domains.
 *
 * The controller (controller.c) is how domains change: the API records
 * what a user asked for in a VM's desired fields (desired_power_state,
 * current_operations with the operation and its task, resident_on with
 * the host chosen) and never touches a domain; the controller of that host
 * hears of it through the store's change feed, converges the domain onto
 * it through the backend, writes what it observes (power_state, domid) and
 * finishes the operation's task.  After a restart it adopts the domains
 * that outlived netpoold and completes or rolls back the operation that was
 * in flight.  Nothing it does blocks the event loop: the backends run QMP,
 * emulators and libxl calls asynchronously or from the loop.
 *
 * The decisions (vm-power.c, vm-memory.c, qemu-argv.c, vm-plan.c) are
 * pure: they never touch the store, a process or a device, so unit tests
 * call them directly.  The backends and the controller do the I/O; only
 * the controller writes the store.
 */
#ifndef NETPOOL_VM_VM_H
#define NETPOOL_VM_VM_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct json_object;
struct np_error;
struct store;

/* Power states, as xapi names them ("Halted", …). */
enum vm_power_state {
    VM_HALTED,    /* Not running; nothing allocated. */
    VM_RUNNING,   /* Running. */
    VM_PAUSED,    /* Its vCPUs are stopped; memory is kept. */
    VM_SUSPENDED, /* Its state is saved to a file; nothing allocated. */
};

/* Power operations, as xapi's VM methods name them. */
enum vm_operation {
    VM_OP_START,             /* Halted → Running. */
    VM_OP_CLEAN_SHUTDOWN,    /* Running → Halted, asking the guest. */
    VM_OP_HARD_SHUTDOWN,     /* Running, Paused, Suspended → Halted. */
    VM_OP_CLEAN_REBOOT,      /* Running → Running, asking the guest. */
    VM_OP_HARD_REBOOT,       /* Running, Paused → Running (a reset). */
    VM_OP_PAUSE,             /* Running → Paused. */
    VM_OP_UNPAUSE,           /* Paused → Running. */
    VM_OP_SUSPEND,           /* Running → Suspended. */
    VM_OP_RESUME,            /* Suspended → Running. */
    VM_OP_POWER_STATE_RESET, /* Any → Halted, without touching a domain. */
    VM_OP_POOL_MIGRATE       /* Running → Running on another host: the
                              * migration agent (mgmt/migrate.c) drives
                              * it, never the controller. */
};
#define VM_N_OPERATIONS (VM_OP_POOL_MIGRATE + 1)

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

/* Parses 'name' as an operation name ("start", ...).  Returns false if it
 * is none. */
bool vm_operation_parse(const char *name, enum vm_operation *op);

/* Returns true if operation 'op' waits for the guest (clean shutdown and
 * reboot) or for a saved state to load (resume), which may take a while:
 * its task's progress is the share of its time limit spent. */
bool vm_operation_waits(enum vm_operation op);

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
    const char *qmp;      /* QMP unix socket, for tools. */
    const char *control;  /* netpoold's own QMP socket (QEMU serves one
                           * client per socket), or NULL. */
    const char *serial;   /* Serial console log. */
    const char *pidfile;  /* QEMU's pidfile. */
    const char *incoming; /* Resume: QEMU -incoming URI ("exec:cat …"),
                           * or NULL. */
};

/* Returns the QEMU command line (a new NULL-terminated argv whose strings the
 * caller frees with vm_argv_free()) that runs 'config' with 'accel': "-accel
 * kvm|tcg", -m (dynamic_max, MiB), -smp, -kernel/-initrd/-append from
 * PV-kernel/PV-ramdisk/PV-args, one virtio-net-pci on its tap per NIC (with
 * the VIF's MAC, no option ROM, checksum offload off: OVS's AF_PACKET ports
 * pass partial checksums on unfixed) except NICs with a vhost-user socket,
 * which are hot-plugged into the running domain (QEMU would wait for their
 * peer, OVS, before it finishes starting); guest memory comes from
 * 'config->shared_memory' when set, shared), one virtio-blk per disk,
 * -no-shutdown (a guest that powers off leaves QEMU waiting, so that a guest's
 * shutdown is told from a crash), QMP on 'paths->qmp', the serial console
 * appended to 'paths->serial', -daemonize with 'paths->pidfile', and -incoming
 * 'paths->incoming' when resuming.  The domain starts with its vCPUs stopped
 * when 'paused'. */
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

/* Disks of a domain from its records: the VBDs in 'vbds' (UUID → record)
 * that belong to 'config''s VM, each with its VDI from 'vdis' (UUID →
 * record), in userdevice order.  Returns NULL, or HANDLE_INVALID("VDI", …)
 * for a VBD whose VDI is gone, VDI_MISSING(VDI, path) for one whose image
 * is not readable.  Reads the file system (access()) only. */
struct np_error *vm_config_add_disks(struct vm_config *config,
                                     struct json_object *vbds,
                                     struct json_object *vdis);

/* QMP (qmp.c): a connection to a QEMU's QMP socket on the event loop. */

struct vm_qmp;

/* The outcome of a command: 'error' 0 with its "return" value in 'ret'
 * (borrowed), or a positive errno (EPROTO for a QMP error, ETIMEDOUT,
 * ECONNRESET when the connection ended, ECANCELED when it was closed)
 * with the reason in 'why'. */
typedef void vm_qmp_reply_cb(void *aux, int error, const char *why,
                             struct json_object *ret);

/* An asynchronous event ("SHUTDOWN", "STOP", ...) with its data (borrowed,
 * may be NULL). */
typedef void vm_qmp_event_cb(void *aux, const char *event,
                             struct json_object *data);

/* The connection ended (QEMU exited or closed it), with the reason. */
typedef void vm_qmp_closed_cb(void *aux, const char *why);

/* Connects to the QMP socket at 'path' on 'base', negotiating capabilities
 * as soon as QEMU greets.  Events go to 'on_event', the end of the
 * connection to 'on_closed' (once), both with 'aux' and from the loop.
 * Returns the connection, or NULL with the reason in 'why' (VM_WHY_SIZE
 * bytes) when the socket cannot be reached. */
struct vm_qmp *vm_qmp_open(struct event_base *base, const char *path,
                           vm_qmp_event_cb *on_event,
                           vm_qmp_closed_cb *on_closed, void *aux, char *why);

/* Sends QMP command 'command' with 'arguments' (borrowed; NULL for none)
 * once capabilities are negotiated; 'cb' (with 'aux') hears its outcome
 * once, from the loop, at the latest after 'timeout_ms'. */
void vm_qmp_execute(struct vm_qmp *qmp, const char *command,
                    struct json_object *arguments, int timeout_ms,
                    vm_qmp_reply_cb *cb, void *aux);

/* Makes the commands still waiting that were sent with 'aux' answer
 * nobody (their owner is going). */
void vm_qmp_forget(struct vm_qmp *qmp, void *aux);

/* Returns true if 'qmp' is not NULL and its connection has not ended. */
bool vm_qmp_is_open(const struct vm_qmp *qmp);

/* Closes 'qmp': every command still waiting hears ECANCELED now, and
 * 'on_closed' is not called.  Accepts NULL. */
void vm_qmp_close(struct vm_qmp *qmp);

/* Backends.
 *
 * A backend runs domains.  Every operation names the domain by VM UUID;
 * the backend keeps whatever handle it needs (a QMP socket, a domid) in
 * its own state folder, so that a restarted netpoold finds running domains
 * again with list() and adopt().  Operations are asynchronous: each
 * reports its outcome once through a callback, from the event loop, never
 * from within the call that started it.  A domain that changes by itself
 * (the guest powers off, the emulator dies, something pauses it) is
 * reported through the backend's watcher. */

/* What a domain is doing, as its backend sees it. */
enum vm_domain_state {
    VM_DOMAIN_GONE,     /* No domain: never started, ended or crashed. */
    VM_DOMAIN_RUNNING,  /* Its vCPUs run. */
    VM_DOMAIN_PAUSED,   /* Its vCPUs are stopped. */
    VM_DOMAIN_SHUTDOWN, /* The guest powered off; the emulator waits to be
                         * destroyed. */
};

/* Returns "gone", "running", "paused" or "shutdown". */
const char *vm_domain_state_name(enum vm_domain_state state);

/* What a backend knows about one domain it runs. */
struct vm_domain_info {
    char uuid[37];             /* The VM's UUID. */
    pid_t pid;                 /* The emulator's process, or 0. */
    enum vm_power_state state; /* Running or Paused. */
};

/* The outcome of an operation. */
struct vm_result {
    int error;                  /* 0, or a positive errno. */
    const char *why;            /* Why it failed ("" on success). */
    int64_t domid;              /* start: the domain's number (QEMU: its
                                 * PID). */
    enum vm_domain_state state; /* query: what the domain does. */
    struct json_object *info;   /* query_memory, query_devices, migrate:
                                 * what the backend reports (borrowed), or
                                 * NULL. */
};

/* Called once with the outcome of an operation. */
typedef void vm_done_cb(void *aux, const struct vm_result *result);

/* Called when domain 'uuid' changed by itself to 'state'. */
typedef void vm_domain_cb(void *aux, const char *uuid,
                          enum vm_domain_state state);

/* How a domain starts. */
struct vm_start_options {
    bool paused;              /* With its vCPUs stopped. */
    const char *resume_file;  /* From the state saved in this file (a
                               * suspended VM), or NULL. */
    const char *incoming_uri; /* Waiting for a live migration on this QEMU
                               * URI ("tcp:ADDR:PORT"), or NULL: it stays
                               * paused until unpause(). */
};

struct vm_backend;

struct vm_backend_ops {
    const char *name; /* "qemu", "xen". */
    /* Returns the acceleration domains get on this host. */
    enum vm_accel (*accel)(struct vm_backend *);
    /* Lists the domains this backend runs, from its state folder and the
     * process table alone: a new array in '*domainsp' (the caller frees
     * it) of '*n' entries.  Emulators of this backend that it cannot
     * account for (no pidfile) are ended. */
    int (*list)(struct vm_backend *, struct vm_domain_info **domainsp,
                size_t *n);
    /* Takes domain 'uuid', which list() found, under watch again. */
    void (*adopt)(struct vm_backend *, const char *uuid);
    /* Starts 'config' as 'options' say; the result's domid is the
     * domain's number.  On failure nothing is left. */
    void (*start)(struct vm_backend *, const struct vm_config *config,
                  const struct vm_start_options *options, vm_done_cb *,
                  void *aux);
    /* Asks the guest to shut down (ACPI power button) and reports at once;
     * the watcher tells when the guest is done (VM_DOMAIN_SHUTDOWN). */
    void (*shutdown)(struct vm_backend *, const char *uuid, vm_done_cb *,
                     void *aux);
    /* Tells what the domain is doing now (the result's 'state'). */
    void (*query)(struct vm_backend *, const char *uuid, vm_done_cb *,
                  void *aux);
    /* Ends the domain at once (a pulled plug) and cleans its files: once
     * it reports success no emulator of the VM runs here. */
    void (*destroy)(struct vm_backend *, const char *uuid, vm_done_cb *,
                    void *aux);
    /* Stops the domain's vCPUs. */
    void (*pause)(struct vm_backend *, const char *uuid, vm_done_cb *,
                  void *aux);
    /* Continues them, once a state being loaded has arrived. */
    void (*unpause)(struct vm_backend *, const char *uuid, vm_done_cb *,
                    void *aux);
    /* Resets the domain, as a hardware reset button. */
    void (*reset)(struct vm_backend *, const char *uuid, vm_done_cb *,
                  void *aux);
    /* Saves the domain's whole state into 'file' and ends it.  The file
     * appears only complete: until then it is 'file'.part. */
    void (*suspend)(struct vm_backend *, const char *uuid, const char *file,
                    vm_done_cb *, void *aux);
    /* Sends the domain's state to a domain started with an incoming URI
     * ('uri'), which then holds it; this domain stays, paused.  The
     * result's 'info' is the migration's final statistics. */
    void (*migrate)(struct vm_backend *, const char *uuid, const char *uri,
                    vm_done_cb *, void *aux);
    /* Reports the domain's memory (the result's 'info': "base-memory" and
     * "plugged-memory" in bytes, "actual" of the balloon when there is
     * one). */
    void (*query_memory)(struct vm_backend *, const char *uuid, vm_done_cb *,
                         void *aux);
    /* Reports the domain's devices (the result's 'info': "pci", a list of
     * {"id", "class"}, and "block", a list of {"device", "file"}). */
    void (*query_devices)(struct vm_backend *, const char *uuid, vm_done_cb *,
                          void *aux);
    /* Adds or removes a NIC of a running domain. */
    void (*nic_plug)(struct vm_backend *, const char *uuid,
                     const struct vm_nic *nic, vm_done_cb *, void *aux);
    void (*nic_unplug)(struct vm_backend *, const char *uuid,
                       const struct vm_nic *nic, vm_done_cb *, void *aux);
    /* Sends QMP command 'command' with 'arguments' (borrowed; NULL for
     * none) to the domain (migration parameters, announce-self,
     * query-migrate); the result's 'info' is what it returned.  NULL in a
     * backend without QMP. */
    void (*command)(struct vm_backend *, const char *uuid, const char *command,
                    struct json_object *arguments, vm_done_cb *, void *aux);
    /* Frees the backend: domains keep running; operations in flight hear
     * ECANCELED first. */
    void (*destroy_backend)(struct vm_backend *);
};

/* A backend instance: its operations and its private state. */
struct vm_backend {
    const struct vm_backend_ops *ops; /* What it does. */
    char *state_dir;                  /* Its runtime files. */
    struct event_base *base;          /* Its loop. */
    vm_domain_cb *on_domain;          /* Its watcher, or NULL. */
    void *domain_aux;                 /* Argument for 'on_domain'. */
    struct vm_backend_reply *replies; /* Outcomes not yet told
                                       * (vm_backend_reply()). */
};

/* Returns a new QEMU backend on 'base' keeping its runtime files (one
 * folder per domain: QMP socket, pidfile, serial log) under 'state_dir',
 * running 'qemu' (NULL: "qemu-system-x86_64") with 'accel' "kvm" or
 * "tcg", or NULL to use vm_kvm_usable(). */
struct vm_backend *vm_qemu_backend_create(struct event_base *base,
                                          const char *state_dir,
                                          const char *qemu, const char *accel);

/* Returns a new Xen backend (libxl) on 'base', or NULL with the reason in
 * 'why' (VM_WHY_SIZE bytes) when netpool was built without libxl or the
 * host runs no Xen hypervisor. */
struct vm_backend *vm_xen_backend_create(struct event_base *base,
                                         const char *state_dir, char *why);

/* Makes 'cb' (with 'aux') the watcher of 'backend''s domains. */
void vm_backend_watch(struct vm_backend *backend, vm_domain_cb *cb, void *aux);

/* Frees 'backend'.  Accepts NULL.  Running domains keep running. */
void vm_backend_destroy(struct vm_backend *backend);

/* For backends: reports 'result' (copied) to 'cb' from 'backend''s loop,
 * on its next turn. */
void vm_backend_reply(struct vm_backend *backend, vm_done_cb *cb, void *aux,
                      const struct vm_result *result);

/* For backends: reports an error 'error' with 'why' the same way. */
void vm_backend_fail(struct vm_backend *backend, vm_done_cb *cb, void *aux,
                     int error, const char *why);

/* For backends: tells the watcher that domain 'uuid' changed by itself. */
void vm_backend_domain_changed(struct vm_backend *backend, const char *uuid,
                               enum vm_domain_state state);

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

/* Decisions of the controller (vm-plan.c). */

/* What the controller knows about a VM when it decides. */
struct vm_situation {
    bool busy;                    /* An operation is in current_operations. */
    enum vm_operation op;         /* That operation (when 'busy'). */
    bool unplaced;                /* No host runs it (resident_on) and no
                                   * operation moves it. */
    enum vm_power_state desired;  /* desired_power_state. */
    enum vm_power_state observed; /* power_state as last recorded. */
    enum vm_domain_state domain;  /* What the backend sees now. */
    bool saved_state;             /* A complete suspend image exists. */
    bool recovering;              /* The operation was in flight when
                                    * netpoold stopped. */
    bool button_pressed;          /* The guest was asked to shut down in
                                    * this run of the operation. */
};

/* What the controller does next. */
enum vm_action {
    VM_ACT_NONE,          /* Nothing: converged, or wait for the guest. */
    VM_ACT_LAUNCH,        /* Start a domain (paused when desired). */
    VM_ACT_LAUNCH_RESUME, /* Start a domain from the saved state. */
    VM_ACT_POWER_BUTTON,  /* Ask the guest to shut down, then wait. */
    VM_ACT_DESTROY,       /* End the domain, then record the outcome. */
    VM_ACT_PAUSE,         /* Stop the vCPUs. */
    VM_ACT_UNPAUSE,       /* Continue them. */
    VM_ACT_RESET,         /* Reset and continue the domain. */
    VM_ACT_SUSPEND,       /* Save the domain into a file and end it. */
    VM_ACT_ABORT_SUSPEND, /* Cancel a save in progress, continue. */
    VM_ACT_FINISH,        /* Record the outcome: no domain action. */
};

/* The controller's next step for a VM. */
struct vm_plan {
    enum vm_action action;     /* What to do. */
    enum vm_power_state state; /* The power state to record once the
                                * action is done. */
    bool success;              /* The operation succeeds (else it fails,
                                * its desired state rolled back to
                                * 'state'). */
    bool crashed;              /* The domain died on its own (VM_CRASHED). */
    const char *why;           /* Why it fails, or what happened. */
};

/* Decides the controller's next step for the VM in 'situation'.  With no
 * operation: a domain that changed by itself is recorded (crashed, shut
 * down, paused, resumed), a domain no state accounts for is destroyed, and
 * a desired state different from the recorded one is converged onto as
 * the operation that leads there would.  With an operation, the step that
 * brings the domain to where the operation leads; after a restart
 * ('recovering') an operation whose effect the domain already shows
 * completes, a start, resume or suspend that cannot is rolled back, and
 * the others run again.  Pure. */
struct vm_plan vm_plan_next(const struct vm_situation *situation);

/* Returns the name of 'action' ("launch", ...). */
const char *vm_action_name(enum vm_action action);

/* Returns the operation that brings a VM from 'from' to 'to' when nothing
 * says how (hard shutdown to halt, start to run, ...), or false if none
 * does. */
bool vm_operation_between(enum vm_power_state from, enum vm_power_state to,
                          enum vm_operation *op);

/* The controller (controller.c). */

struct vm_controller;

/* Where the controller keeps domains' files: ROOT/<host UUID>/. */
#define VM_STATE_ROOT "/run/netpool/vm"

/* What other modules decide about a host's domains, given to the
 * controller by netpoold (mgmt/vm-hooks.c) so that vm/ depends on none of
 * them. */
struct vm_host_hooks {
    /* Returns the index of VM record 'vm' in its NICs' port names (its
     * other_config netpool-vif-index), or 0 if it has none. */
    int64_t (*vif_index)(void *aux, struct json_object *vm);
    /* Completes 'config', a domain of host 'host': each NIC's vhost-user
     * socket on a host whose datapath is dpdk; when 'starting', also its
     * shared memory, checked against what the host has.  Returns NULL or
     * the typed error that refuses the start. */
    struct np_error *(*prepare)(void *aux, const char *host,
                                struct vm_config *config, bool starting);
    void *aux; /* Argument for both. */
};

/* Creates the domain controller of host 'host' of 'store' on 'base', with
 * its backends' files under 'state_root'/<host> ('state_root' NULL:
 * VM_STATE_ROOT) and 'hooks' (copied).  It reports the host's
 * virtualization and memory, takes running domains under watch again,
 * finishes what a previous run left in flight, starts auto_poweron VMs
 * after a host boot, and from then on converges every VM of the host onto
 * its desired state. */
struct vm_controller *vm_controller_create(struct event_base *base,
                                           struct store *store,
                                           const char *host,
                                           const char *state_root,
                                           const struct vm_host_hooks *hooks);

/* Frees 'controller'; domains keep running.  Accepts NULL. */
void vm_controller_destroy(struct vm_controller *controller);

/* Primitives for migration and high availability.  Each reports through
 * 'cb' (with 'aux') from the loop. */

/* Makes sure no domain of VM 'uuid' runs on this host (fencing): ends one
 * that does, whatever the store says, and records the VM Halted if it was
 * resident here. */
void vm_controller_ensure_halted(struct vm_controller *controller,
                                 const char *uuid, vm_done_cb *cb, void *aux);

/* Makes sure no domain at all runs on this host (a host fencing itself):
 * ends every domain of its backend. */
void vm_controller_ensure_none_running(struct vm_controller *controller,
                                       vm_done_cb *cb, void *aux);

/* What vm_controller_query() asks a running domain. */
enum vm_query {
    VM_QUERY_STATE,   /* Its domain state (the result's 'state'). */
    VM_QUERY_MEMORY,  /* Its memory (backend query_memory()). */
    VM_QUERY_DEVICES, /* Its devices (backend query_devices()). */
};

/* Asks the domain of VM 'uuid' 'what', without blocking. */
void vm_controller_query(struct vm_controller *controller, const char *uuid,
                         enum vm_query what, vm_done_cb *cb, void *aux);

/* Returns the backend of 'controller' (for the migration code that drives
 * start with an incoming URI, migrate and unpause). */
struct vm_backend *vm_controller_backend(struct vm_controller *controller);

/* Builds in '*configp' the domain configuration of VM record 'record' (a
 * store record with its "uuid") as a start on this host would: NICs,
 * disks, what the hooks add, the memory admission and readable kernel and
 * ramdisk.  Returns NULL, or the typed error that refuses it (and
 * '*configp' NULL).  'vdi_map' (borrowed, or NULL) maps a VDI of the VM
 * to the VDI its domain has in its place (a storage migration's copy).
 * The migration agent starts the incoming domain of a live migration from
 * it. */
struct np_error *vm_controller_config(struct vm_controller *controller,
                                      struct json_object *record,
                                      struct json_object *vdi_map,
                                      struct vm_config **configp);

/* Returns the backend name 'name' ("qemu", "xen") is usable on this host:
 * NULL, or a new HOST_VM_BACKEND_UNAVAILABLE(name, reason). */
struct np_error *vm_backend_check(const char *name);

/* Returns true if KVM works on this host: /dev/kvm opens and the CPU shows
 * hardware virtualization (vmx or svm).  A host that is itself a VM
 * without nested virtualization has /dev/kvm but no such flag, and KVM
 * guests abort there. */
bool vm_kvm_usable(void);

#endif
