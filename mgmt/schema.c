/*
 * The class schemas of the object store: xapi's classes and field names.
 * Fields that later phases fill (bonds, VLANs, VIFs, VMs) are declared here
 * so the store holds every object from the start.
 */
#include "mgmt/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <strings.h>
#include <string.h>

#define N(fields) (sizeof fields / sizeof *fields)

/* Shorthands for field declarations. */
#define STR(NAME, FLAGS)                                   \
    {                                                      \
        .name = NAME, .type = STORE_STRING, .flags = FLAGS \
    }
#define BOOL(NAME, FLAGS, DEF)                                                \
    {                                                                         \
        .name = NAME, .type = STORE_BOOL, .flags = FLAGS, .default_json = DEF \
    }
#define INT(NAME, FLAGS, DEF, MIN, MAX)                                       \
    {                                                                         \
        .name = NAME, .type = STORE_INT, .flags = FLAGS, .default_json = DEF, \
        .min = MIN, .max = MAX                                                \
    }
#define REF(NAME, FLAGS, CLASS)                                              \
    {                                                                        \
        .name = NAME, .type = STORE_REF, .flags = FLAGS, .ref_class = CLASS, \
        .default_json = "\"\""                                               \
    }
#define MAP(NAME, FLAGS)                                \
    {                                                   \
        .name = NAME, .type = STORE_MAP, .flags = FLAGS \
    }
#define SET(NAME, FLAGS)                                \
    {                                                   \
        .name = NAME, .type = STORE_SET, .flags = FLAGS \
    }
#define INVERSE(NAME, CLASS, OF)                                            \
    {                                                                       \
        .name = NAME, .type = STORE_SET, .flags = FIELD_RO | FIELD_DERIVED, \
        .ref_class = CLASS, .inverse = OF                                   \
    }
#define ENUM(NAME, FLAGS, VALUES, DEF)                    \
    {                                                     \
        .name = NAME, .type = STORE_ENUM, .flags = FLAGS, \
        .enum_values = VALUES, .default_json = DEF        \
    }

#define RO FIELD_RO
#define RT (FIELD_RO | FIELD_RUNTIME)
#define CR FIELD_CREATE
#define LABELS STR("name_label", CR), STR("name_description", CR)

static const char *const ip_modes[] = {"None", "DHCP", "Static", NULL};
static const char *const duplexes[] = {"unknown", "half", "full", NULL};
static const char *const backends[] = {"openvswitch", "bridge", NULL};
static const char *const datapaths[] = {"netdev", "dpdk", "system", NULL};
static const char *const bond_modes[] = {"balance-slb", "active-backup",
                                         "lacp", NULL};
static const char *const locking_modes[] = {"network_default", "locked",
                                            "unlocked", "disabled", NULL};
static const char *const power_states[] = {"Halted", "Paused", "Running",
                                           "Suspended", NULL};
static const char *const vm_backends[] = {"qemu", "xen", NULL};
static const char *const task_states[] = {"pending",    "success",   "failure",
                                          "cancelling", "cancelled", NULL};
static const char *const roles[] = {
    "pool-admin", "pool-operator", "vm-power-admin",
    "vm-admin",   "vm-operator",   "read-only",
    NULL};

static const struct store_field pool_fields[] = {
    LABELS,
    REF("master", RO, "host"),
    MAP("other_config", 0),
    /* The pool (ha/): the epoch stamped on every log entry, raised at
     * each membership change of a quorate partition; the secret members
     * share (knet's key is derived from it); the pool CA that signs every
     * member's certificate; corosync's token timeout; the largest number
     * of hosts. */
    INT("epoch", RO, "0", 0, 0),
    STR("secret", RO | FIELD_SECRET),
    STR("ca_certificate", RO),
    STR("ca_key", RO | FIELD_SECRET),
    INT("token_timeout", 0, "3000", 200, 60000), /* HA_TOKEN_DEFAULT_MS */
    INT("host_limit", 0, "64", 1, 1000),
    /* The network live migrations run over (mgmt/migrate.c): each host's
     * PIF on it with an address; "" for the management network. */
    REF("migration_network", 0, "network"),
    /* High availability (ha/ha-*.c, mgmt/api-ha.c): on or off, the SRs
     * that hold the statefile, the timeout in seconds (kept across a
     * disable, so a re-enable without one keeps it), and how many host
     * losses the restart plan must cover. */
    BOOL("ha_enabled", RO, "false"),
    SET("ha_heartbeat_srs", RO),
    INT("ha_timeout", RO, "10", 1, 120), /* HA_TIMEOUT_DEFAULT_S */
    INT("ha_host_failures_to_tolerate", 0, "0", 0, 64),
};

static const struct store_field host_fields[] = {
    LABELS,
    STR("hostname", RT),
    STR("address", RT),
    BOOL("enabled", RO, "true"),
    MAP("software_version", RO),
    ENUM("network_backend", RO, backends, "\"openvswitch\""),
    INVERSE("PIFs", "PIF", "PIF.host"),
    INVERSE("resident_VMs", "VM", "VM.resident_on"),
    MAP("other_config", 0),
    /* Domains (mgmt/api-vm.c): "kvm" or "tcg", memory in bytes. */
    STR("virtualization", RT),
    INT("memory_total", RT, "0", 0, 0),
    INT("memory_free", RT, "0", 0, 0),
    /* A management change waiting for its gateway to answer: the previous
     * configuration, restored if none does (mgmt/management.c). */
    MAP("management_rollback", RO),
    /* IPv4 addresses that left the management role: netpool takes
     * them off its devices (datapath/bond-kernel.c). */
    SET("management_retired", RO),
    /* OVS datapath: "netdev" (userspace), "dpdk" (userspace with DPDK
     * ports, hugepages checked by mgmt/api-dpdk.c) or "system" (the
     * kernel module); datapath/dpdk.c maps it onto OVS. */
    ENUM("datapath", 0, datapaths, "\"netdev\""),
    /* Pool membership (ha/): the host's corosync node id (0 while
     * standalone), what it sees of the pool (role "standalone", "master"
     * or "member"; whether its partition is quorate; the log sequence a
     * majority holds) and its certificate signed by the pool CA. */
    INT("cluster_node_id", RO, "0", 0, 0),
    STR("cluster_address", RO),
    STR("pool_role", RT),
    BOOL("quorate", RT, "true"),
    STR("pool_certificate", RO),
    /* What runs its domains: "qemu" (QMP) or "xen" (libxl), checked by
     * mgmt/api-vm.c; vm/'s controller switches to it. */
    ENUM("vm_backend", 0, vm_backends, "\"qemu\""),
    /* Its HTTPS certificate, which pool members pin when they call it. */
    STR("certificate", RO),
    /* What its HA monitor sees (ha/): "disabled", "stay", "undecided" or
     * "fenced", and whether it cannot reach the statefile (the survival
     * rule's "lost everywhere" counts these). */
    STR("ha_state", RT),
    BOOL("ha_statefile_lost", RT, "false"),
    /* The store sequence number (the change log's) up to which every
     * change concerning this host is in its Open vSwitch: its rows, its
     * namespace guests' veths and its OpenFlow rules
     * (datapath/reconcile.c), as OVN's hv_cfg. */
    INT("applied_seq", RT, "0", 0, 0),
};

static const struct store_field pif_fields[] = {
    STR("device", RO),
    STR("MAC", RO),
    INT("MTU", RO, "1500", 68, 65535),
    INT("VLAN", RO, "-1", -1, 4094),
    BOOL("physical", RO, "true"),
    BOOL("managed", RO, "true"),
    /* Plugged: pif-plug and pif-unplug set it, the reconciler acts on it. */
    BOOL("currently_attached", RO, "false"),
    BOOL("carrier", RT, "false"),
    INT("speed", RT, "0", 0, 0),
    ENUM("duplex", RT, duplexes, "\"unknown\""),
    BOOL("management", RO, "false"),
    ENUM("ip_configuration_mode", RO, ip_modes, "\"None\""),
    STR("IP", RO),
    STR("netmask", RO),
    STR("gateway", RO),
    STR("DNS", RO),
    REF("host", RO, "host"),
    REF("network", RO, "network"),
    INVERSE("bond_master_of", "bond", "bond.master"),
    REF("bond_slave_of", RO, "bond"),
    STR("bond_member_state", RT),
    STR("lacp_state", RT),
    STR("lacp_partner", RT),
    STR("bfd_state", RT),
    /* A DPDK port's largest MTU (0: no DPDK port) and the error OVS
     * reports on the PIF's interface (datapath/dpdk-mtu.c). */
    INT("mtu_max", RT, "0", 0, 0),
    STR("device_error", RT),
    INVERSE("VLAN_master_of", "VLAN", "VLAN.untagged_PIF"),
    INVERSE("VLAN_slave_of", "VLAN", "VLAN.tagged_PIF"),
    MAP("other_config", 0),
};

static const struct store_field network_fields[] = {
    {.name = "name_label", .type = STORE_STRING, .flags = CR | FIELD_REQUIRED},
    STR("name_description", CR),
    INT("MTU", CR, "1500", 1280, 9216),
    STR("bridge", RO),
    BOOL("managed", RO, "true"),
    INVERSE("PIFs", "PIF", "PIF.network"),
    INVERSE("VIFs", "VIF", "VIF.network"),
    {.name = "other_config", .type = STORE_MAP, .flags = CR},
};

static const struct store_field bond_fields[] = {
    REF("master", RO, "PIF"),
    INVERSE("slaves", "PIF", "PIF.bond_slave_of"),
    REF("primary_slave", RO, "PIF"),
    ENUM("mode", RO, bond_modes, "\"balance-slb\""),
    MAP("properties", 0), /* Written through bond.* (api-bond.c). */
    INT("links_up", RT, "0", 0, 0),
    REF("active_slave", RT, "PIF"),
    MAP("other_config", 0),
};

static const struct store_field vlan_fields[] = {
    REF("tagged_PIF", RO, "PIF"),
    REF("untagged_PIF", RO, "PIF"),
    INT("tag", RO, "-1", -1, 4094),
    MAP("other_config", 0),
};

static const struct store_field vif_fields[] = {
    STR("device", RO | CR | FIELD_REQUIRED),
    STR("MAC", RO | CR),
    INT("MTU", RT, "1500", 0, 0),
    REF("network", RO | CR | FIELD_REQUIRED, "network"),
    REF("VM", RO | CR | FIELD_REQUIRED, "VM"),
    /* Plugged: vif-plug and vif-unplug set it, the reconciler acts on it. */
    BOOL("currently_attached", RO, "false"),
    STR("qos_algorithm_type", CR),
    MAP("qos_algorithm_params", CR),
    ENUM("locking_mode", CR, locking_modes, "\"network_default\""),
    SET("ipv4_allowed", CR),
    MAP("other_config", CR),
};

static const struct store_field vm_fields[] = {
    LABELS,
    /* What the controller of its host saw its domain do (vm/). */
    ENUM("power_state", RT, power_states, "\"Halted\""),
    /* What was asked for: the power state the operation in
     * current_operations (task → operation) converges it onto, on the
     * host in resident_on (mgmt/api-vm.c writes them, vm/ acts). */
    ENUM("desired_power_state", RO, power_states, "\"Halted\""),
    MAP("current_operations", RO),
    /* How the last operation ended, written by the controller that ran
     * it beside current_operations' removal (task, operation, status,
     * power_state, error_info as JSON text, recovery): a pool member
     * whose API made the task finishes it from there (mgmt/vm-outcome.c).
     */
    MAP("last_operation", RO),
    /* A live migration in flight (mgmt/migrate.c): task, caller, source,
     * destination, state (preparing, ready, migrating, committed), the
     * destination's uri, progress, cancel; empty otherwise. */
    MAP("migration", RO),
    /* The writable fields are accepted by VM.create too, as xapi's. */
    INT("VCPUs_max", CR, "1", 1, 64),
    INT("memory_static_min", CR, "0", 0, 0),
    INT("memory_static_max", CR, "0", 0, 0),
    INT("memory_dynamic_min", CR, "0", 0, 0),
    INT("memory_dynamic_max", CR, "0", 0, 0),
    REF("resident_on", RO, "host"),
    /* The host a VM prefers; a namespace guest of a halted VM lives
     * there (datapath/fabric-vif.c). */
    REF("affinity", CR, "host"),
    BOOL("is_a_template", CR, "false"),
    STR("ha_restart_priority", CR),
    INT("order", CR, "0", 0, 0),
    INT("start_delay", CR, "0", 0, 0),
    STR("PV_kernel", CR),
    STR("PV_ramdisk", CR),
    STR("PV_args", CR),
    INVERSE("VIFs", "VIF", "VIF.VM"),
    INVERSE("VBDs", "VBD", "VBD.VM"),
    MAP("other_config", CR),
    /* The running domain's number (QEMU: its PID), -1 without one. */
    INT("domid", RT, "-1", 0, 0),
};

/* Storage: a local SR is a directory, an NFS SR a folder of an NFS
 * server; a VDI is an image file in it (mgmt/api-storage.c), or on an
 * iSCSI SR one LUN of its target; a VBD plugs a VDI into a VM; a PBD plugs
 * an SR into a host (storage/). */
static const char *const sr_types[] = {"dir", "nfs", "iscsi", NULL};
static const char *const vdi_formats[] = {"qcow2", "raw", NULL};
static const char *const vbd_modes[] = {"RW", "RO", NULL};
static const char *const vbd_types[] = {"Disk", "CD", NULL};

static const struct store_field sr_fields[] = {
    LABELS,
    ENUM("type", RO, sr_types, "\"dir\""),
    MAP("device_config", RO),
    INT("physical_size", RT, "0", 0, 0),
    INT("physical_utilisation", RT, "0", 0, 0),
    /* Every host of the pool plugs it (a PBD each). */
    BOOL("shared", RO, "false"),
    INVERSE("VDIs", "VDI", "VDI.SR"),
    INVERSE("PBDs", "PBD", "PBD.SR"),
    MAP("other_config", CR),
};

static const struct store_field pbd_fields[] = {
    {.name = "host",
     .type = STORE_REF,
     .flags = RO | FIELD_REQUIRED,
     .ref_class = "host",
     .default_json = "\"\""},
    {.name = "SR",
     .type = STORE_REF,
     .flags = RO | FIELD_REQUIRED,
     .ref_class = "SR",
     .default_json = "\"\""},
    MAP("device_config", RO),
    /* Plugged: PBD.plug and PBD.unplug set it, its host's PBD controller
     * acts on it. */
    BOOL("currently_attached", RO, "false"),
    /* What the controller of its host sees: the SR is mounted and
     * answers; why not; the PIF it is reached through. */
    BOOL("connected", RT, "false"),
    STR("error", RT),
    REF("PIF", RT, "PIF"),
    MAP("other_config", CR),
};

static const struct store_field vdi_fields[] = {
    LABELS,
    {.name = "SR",
     .type = STORE_REF,
     .flags = CR | FIELD_REQUIRED,
     .ref_class = "SR",
     .default_json = "\"\""},
    {.name = "virtual_size",
     .type = STORE_INT,
     .flags = CR | FIELD_REQUIRED,
     .default_json = "0",
     .min = 1,
     .max = 0},
    ENUM("format", CR, vdi_formats, "\"qcow2\""),
    BOOL("read_only", CR, "false"),
    STR("location", RO),
    REF("parent", RO, "VDI"),
    INVERSE("VBDs", "VBD", "VBD.VDI"),
    /* A disk a storage migration made or left (mgmt/migrate.c): its
     * task, VM, role ("copy" until the commit, "original" after it) and
     * the host that removes it once no migration names the task; empty
     * otherwise. */
    MAP("migration", RO),
    MAP("other_config", CR),
};

static const struct store_field vbd_fields[] = {
    {.name = "VM",
     .type = STORE_REF,
     .flags = CR | FIELD_REQUIRED,
     .ref_class = "VM",
     .default_json = "\"\""},
    {.name = "VDI",
     .type = STORE_REF,
     .flags = CR | FIELD_REQUIRED,
     .ref_class = "VDI",
     .default_json = "\"\""},
    INT("userdevice", CR, "0", 0, 15),
    BOOL("bootable", CR, "false"),
    ENUM("mode", CR, vbd_modes, "\"RW\""),
    ENUM("type", CR, vbd_types, "\"Disk\""),
    BOOL("currently_attached", RT, "false"),
    MAP("other_config", CR),
};

static const struct store_field task_fields[] = {
    LABELS,
    ENUM("status", RO, task_states, "\"pending\""),
    {.name = "progress",
     .type = STORE_FLOAT,
     .flags = RO,
     .default_json = "0.0"},
    {.name = "created", .type = STORE_DATETIME, .flags = RO},
    {.name = "finished", .type = STORE_DATETIME, .flags = RO},
    STR("result", RO),
    SET("error_info", RO),
    REF("resident_on", RO, "host"),
    REF("owner", RO, "user"),
    MAP("other_config", 0),
};

static const struct store_field message_fields[] = {
    STR("name", RO),
    INT("priority", RO, "3", 1, 5),
    STR("cls", RO),
    STR("obj_uuid", RO),
    {.name = "timestamp", .type = STORE_DATETIME, .flags = RO},
    STR("body", RO),
    STR("raised_on", RO), /* UUID of the host whose netpoold raised it. */
};

static const struct store_field user_fields[] = {
    {.name = "username",
     .type = STORE_STRING,
     .flags = RO | CR | FIELD_REQUIRED},
    ENUM("role", CR, roles, "\"read-only\""),
    STR("password_hash", RO | FIELD_SECRET),
    MAP("other_config", 0),
};

static const struct store_field session_fields[] = {
    REF("this_host", RO, "host"),
    REF("this_user", RO, "user"),
    STR("originator", RO),
    {.name = "last_active", .type = STORE_DATETIME, .flags = RO},
};

/* A class: its names, fields, the field that decides its owning host (and
 * the class whose owner it inherits through that field, or NULL), whether
 * it is secret and whether it stays on its host. */
#define CLASS(NAME, CLI, FIELDS, OWNER, VIA, SECRET, LOCAL)            \
    {                                                                  \
        .name = NAME, .cli_name = CLI, .fields = FIELDS,               \
        .n_fields = N(FIELDS), .owner_field = OWNER, .owner_via = VIA, \
        .secret = SECRET, .local = LOCAL                               \
    }

static const struct store_class classes[] = {
    CLASS("pool", "pool", pool_fields, NULL, NULL, false, false),
    CLASS("host", "host", host_fields, "uuid", NULL, false, false),
    CLASS("PIF", "pif", pif_fields, "host", NULL, false, false),
    CLASS("network", "network", network_fields, NULL, NULL, false, false),
    CLASS("bond", "bond", bond_fields, "master", "PIF", false, false),
    CLASS("VLAN", "vlan", vlan_fields, "tagged_PIF", "PIF", false, false),
    CLASS("VIF", "vif", vif_fields, "VM", "VM", false, false),
    CLASS("VM", "vm", vm_fields, "resident_on", NULL, false, false),
    CLASS("task", "task", task_fields, "resident_on", NULL, false, true),
    CLASS("message", "message", message_fields, NULL, NULL, false, false),
    CLASS("user", "user", user_fields, NULL, NULL, false, false),
    CLASS("session", "session", session_fields, "this_host", NULL, true, true),
    CLASS("SR", "sr", sr_fields, NULL, NULL, false, false),
    CLASS("VDI", "vdi", vdi_fields, NULL, NULL, false, false),
    CLASS("VBD", "vbd", vbd_fields, "VM", "VM", false, false),
    CLASS("PBD", "pbd", pbd_fields, "host", NULL, false, false),
};

static const struct store_class *const class_list[] = {
    &classes[0],  &classes[1],  &classes[2],  &classes[3],  &classes[4],
    &classes[5],  &classes[6],  &classes[7],  &classes[8],  &classes[9],
    &classes[10], &classes[11], &classes[12], &classes[13], &classes[14],
    &classes[15], NULL,
};

const struct store_class *
store_class_find(const char *name, bool cli)
{
    for (size_t i = 0; i < N(classes); i++) {
        if (cli ? !strcasecmp(classes[i].cli_name, name)
                : !strcmp(classes[i].name, name)) {
            return &classes[i];
        }
    }
    return NULL;
}

const struct store_class *const *
store_classes(void)
{
    return class_list;
}

const struct store_field *
store_class_field(const struct store_class *class, const char *name)
{
    for (size_t i = 0; i < class->n_fields; i++) {
        if (!strcmp(class->fields[i].name, name)) {
            return &class->fields[i];
        }
    }
    return NULL;
}
