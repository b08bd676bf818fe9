/*
 * datapath: the host's network devices as netpool sees them.
 *
 * Today it owns NIC discovery and link monitoring over netlink (libnl-3):
 * which kernel links are NICs that become PIFs, their MAC, MTU, carrier,
 * speed and duplex, and the PIF objects that mirror them in the store
 * (matched by MAC, so a PIF keeps its UUID across restarts and renames).
 * It never changes a link: configuration of ports and bridges goes through
 * Open vSwitch, owned by the OVS reconciler of this module.
 */
#ifndef NETPOOL_DATAPATH_DATAPATH_H
#define NETPOOL_DATAPATH_DATAPATH_H 1

#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct json_object;
struct np_error;
struct store;

#define DP_MAC_LENGTH 17 /* "aa:bb:cc:dd:ee:ff". */

/* A NIC as the kernel reports it. */
struct dp_link {
    char device[IF_NAMESIZE];    /* Interface name, e.g. "eth0". */
    char mac[DP_MAC_LENGTH + 1]; /* Permanent or current MAC. */
    int ifindex;                 /* Kernel interface index. */
    int mtu;                     /* Current MTU. */
    bool carrier;                /* Lower layer up. */
    int speed;                   /* Mbit/s, 0 when unknown. */
    const char *duplex;          /* "full", "half" or "unknown". */
    char ip[48];                 /* First IPv4 address, or "". */
    char netmask[16];            /* Its netmask, or "". */
};

/* What the kernel says of a link, for the NIC decision. */
struct dp_link_facts {
    const char *name;     /* Interface name. */
    const char *kind;     /* rtnl kind ("veth", "tun", …) or
                                     * NULL for a plain device. */
    unsigned int arptype; /* ARPHRD_*. */
    bool has_device;      /* Backed by a bus device (sysfs). */
    bool enslaved;        /* Has a master (bridge, OVS). */
};

/* Returns true if the link described by 'facts' is a NIC that becomes a
 * PIF: an Ethernet device backed by hardware (or a veth, which plays a NIC
 * in test topologies), not a bridge, tunnel, tap or enslaved port, whose
 * name matches one of the space-separated shell globs in 'globs'. */
bool dp_link_is_nic(const struct dp_link_facts *facts, const char *globs);

/* Reads every NIC matching 'globs' from the kernel into a new array
 * '*links' of '*n' entries, sorted by device name.  Returns 0 or a
 * positive errno. */
int dp_links_read(const char *globs, struct dp_link **links, size_t *n);

/* Returns the UUID (borrowed from 'pifs') of the PIF in 'pifs' (UUID →
 * record, as store_get_all() returns) that stands for 'link' on host
 * 'host': the physical PIF with the same MAC, else the one with the same
 * device name and no MAC.  NULL if none. */
const char *dp_pif_match(struct json_object *pifs, const char *host,
                         const struct dp_link *link);

/* Makes the PIFs of host 'host' in 'store' mirror 'links': creates a PIF
 * for each new NIC, plugged, with its own network (bridge "xenbrN", the
 * NIC's MTU) as XenServer's installer does; the one named 'management' —
 * or the first, if 'management' is NULL and no PIF is management yet — is
 * marked as management with its address.  Refreshes the runtime fields
 * (device, carrier, speed, duplex) of known PIFs.  A PIF whose NIC
 * vanished stays, without carrier; plug states (currently_attached) change
 * only through pif-plug and pif-unplug.  Returns 0 or a positive errno. */
int dp_pifs_sync(struct store *store, const char *host,
                 const struct dp_link *links, size_t n,
                 const char *management);

/* Names of the messages a NIC's carrier change raises (pif-carrier.c). */
#define DP_PIF_CARRIER_DOWN "PIF_CARRIER_DOWN"
#define DP_PIF_CARRIER_UP "PIF_CARRIER_UP"

/* Raises PIF_CARRIER_DOWN (priority 3) or PIF_CARRIER_UP (priority 5) for
 * PIF 'pif' of 'store', whose NIC 'link' now has the carrier it reports.
 * Returns 0 or a positive errno. */
int dp_pif_raise_carrier(struct store *store, const char *pif,
                         const struct dp_link *link);

/* Returns the folder of OVS's control sockets (a new string) for the
 * database 'remote': the folder of a "unix:DIR/db.sock" remote, else
 * $OVS_RUNDIR; NULL if neither says. */
char *dp_ovs_rundir(const char *remote);

/* Sets '*pid' to the ovs-vswitchd whose pidfile is in 'rundir', if that
 * process holds the pidfile's lock (it runs; ovs.c).  Returns 0, ENOENT ('rundir'
 * NULL or no pidfile), ESRCH (a stale pidfile) or another errno value. */
int dp_ovs_vswitchd_pid(const char *rundir, int *pid);

/* OVS statistics from ovs-appctl and ovs-ofctl (ovs-stats.c). */

struct dp_ovs_stats;

/* Returns a new reader of the statistics of the OVS whose database is at
 * 'remote', running its reads on 'base', in '*statsp'.  Returns 0. */
int dp_ovs_stats_create(struct event_base *base, const char *remote,
                        struct dp_ovs_stats **statsp);

/* Stops and frees 'stats'.  Accepts NULL. */
void dp_ovs_stats_destroy(struct dp_ovs_stats *stats);

/* Returns the last statistics read (a new reference, in the form of
 * dp_ovs_stats_parse(); empty before the first read ends) and, if they
 * are older than two seconds, starts a new read in a child process 100 ms
 * later (once the caller's reply is on its way). */
struct json_object *dp_ovs_stats_get(struct dp_ovs_stats *stats);

/* Parses the output of the reader's script into a new JSON object:
 * "datapaths": {NAME: {"hits", "missed", "lost", "flows", "masks"}},
 * "lacp_show" and "lacp_stats" (the texts of lacp/show and
 * lacp/show-stats), "bridges": {NAME: {"flows", "packets", "bytes" (the
 * OpenFlow aggregate), "rules", "rule_packets", "rule_bytes" (netpool's
 * rules), "drop_packets", "drop_bytes" (those of its rules that drop),
 * "meter_drop_packets", "meter_drop_bytes" (dropped by its meters)}}.
 * Pure. */
struct json_object *dp_ovs_stats_parse(const char *output);

/* The host's Open vSwitch (ovs.c). */

struct dp_ovs;

/* What one run of the replica saw change.  Sets are JSON objects whose
 * keys are names (values null); NULL for an empty set. */
struct dp_ovs_update {
    bool reconnected;               /* The replica was loaded afresh (first
                                     * connection, or a new one): anything
                                     * may differ. */
    bool failed;                    /* A transaction failed. */
    bool root;                      /* Open_vSwitch other_config changed. */
    struct json_object *bridges;    /* netpool's bridges whose configuration
                                     * changed, or that went. */
    struct json_object *ports;      /* netpool's ports likewise. */
    struct json_object *interfaces; /* netpool's interfaces likewise. */
    struct json_object *ofports;    /* Interface name → OpenFlow port
                                     * (0 for none yet, -1 for failed), for
                                     * interfaces whose port changed. */
    bool internal_reset;            /* An internal interface of netpool's
                                     * was made again (new ifindex): the
                                     * switch restarted. */
    bool status;                    /* A status column observers read
                                     * changed (link, LACP, BFD, bond). */
    bool pif_status;                /* The same on a PIF's interface. */
    struct json_object *bfd;        /* netpool's interface name → its BFD
                                     * state (bfd_status:state, "" for
                                     * none), for interfaces whose BFD
                                     * status changed or that went. */
    bool dpdk_started;              /* ovs-vswitchd reports DPDK started
                                     * (dpdk_initialized became true, or
                                     * is on a replica loaded afresh). */
};

/* Called when the OVSDB replica changed, the connection came or went, a
 * transaction finished or ovs-vswitchd caught up with one.  'update'
 * (borrowed, valid during the call) says what changed. */
typedef void dp_ovs_changed_cb(void *aux, const struct dp_ovs_update *update);

/* Connects to the OVSDB at 'remote' ("unix:PATH", "tcp:IP:PORT"), running
 * on 'base' and reconnecting for ever; 'cb' (with 'aux') hears of changes.
 * Returns 0 and sets '*ovsp'. */
int dp_ovs_create(struct event_base *base, const char *remote,
                  dp_ovs_changed_cb *cb, void *aux, struct dp_ovs **ovsp);

/* Disconnects and frees 'ovs'.  Accepts NULL. */
void dp_ovs_destroy(struct dp_ovs *ovs);

/* Returns true once the replica is connected and complete. */
bool dp_ovs_ready(const struct dp_ovs *ovs);

/* Returns true while a transaction is in flight, or while ovs-vswitchd
 * has not yet caught up with the last one (for at most two seconds):
 * changes made meanwhile wait and go out together. */
bool dp_ovs_busy(const struct dp_ovs *ovs);

/* Returns true if no transaction is in flight and ovs-vswitchd has
 * reconfigured itself after the last one that changed something. */
bool dp_ovs_settled(const struct dp_ovs *ovs);

/* Returns how many transactions that changed something were sent. */
unsigned long long dp_ovs_n_transactions(const struct dp_ovs *ovs);

/* Starts one transaction that converges OVS onto 'desired' (borrowed; the
 * form dp_fabric_build() returns): owned rows not desired are removed,
 * desired ones created, differing columns written, everything else left
 * alone.  Returns 0 (sent, or nothing to change), EBUSY while another
 * transaction is in flight, ENOTCONN before the replica is ready, EAGAIN
 * if the transaction could not start; the caller retries on the next
 * change callback. */
int dp_ovs_apply(struct dp_ovs *ovs, struct json_object *desired);

/* Like dp_ovs_apply() for part of the fabric: 'partial' (borrowed) holds
 * some bridges, each with its columns and only the ports to converge;
 * other ports of those bridges, and other bridges, are left alone.  The
 * ports named in 'gone' (an array of names, borrowed) are removed if
 * netpool owns them.  Ports are found by name through an index, so the
 * cost follows the ports named.  Returns as dp_ovs_apply(), or ENOENT if a
 * bridge of 'partial' does not exist (making bridges is dp_ovs_apply()'s
 * business). */
int dp_ovs_apply_partial(struct dp_ovs *ovs, struct json_object *partial,
                         struct json_object *gone);

/* Returns the OpenFlow port number of interface 'iface': 0 if it has none
 * yet (or no such interface is known), -1 if OVS failed to open it. */
int64_t dp_ovs_ofport(const struct dp_ovs *ovs, const char *iface);

/* Returns a new JSON object with what OVS reports: "interfaces" (name →
 * link_state, ofport, mtu, error, lacp_current, status, bfd_status,
 * external_ids) and "ports" (name → status, bond_active_slave).  No
 * statistics: see dp_ovs_counters. */
struct json_object *dp_ovs_observe(const struct dp_ovs *ovs);

/* Returns a new JSON object mapping the name of every interface that has
 * an OpenFlow port number to that number. */
struct json_object *dp_ovs_ofports(const struct dp_ovs *ovs);

/* Interface counters (ovs-counters.c): a replica of its own of the
 * Interface table's statistics, names and link state, for the exporters,
 * so that the counters ovs-vswitchd rewrites every few seconds never wake
 * the reconciler. */

struct dp_ovs_counters;

/* One interface as the counters replica sees it; pointers are borrowed
 * for the duration of the callback. */
struct dp_iface_counters {
    const char *name;              /* Interface name. */
    const char *pif;               /* external_ids netpool-pif, or "". */
    const char *vif;               /* external_ids iface-id, or "". */
    bool link_up;                  /* link_state is "up". */
    int64_t mtu;                   /* MTU OVS reports, 0 when unknown. */
    const char *const *stat_names; /* Statistics keys ("rx_bytes", …). */
    const int64_t *stat_values;    /* Their values. */
    size_t n_stats;                /* Entries in both. */
};

/* Called once per interface by dp_ovs_counters_foreach(). */
typedef void dp_iface_counters_cb(void *aux,
                                  const struct dp_iface_counters *iface);

/* Starts replicating the counters of the OVS whose database is at
 * 'remote', on 'base'.  Returns 0 and sets '*countersp'. */
int dp_ovs_counters_create(struct event_base *base, const char *remote,
                           struct dp_ovs_counters **countersp);

/* Disconnects and frees 'counters'.  Accepts NULL. */
void dp_ovs_counters_destroy(struct dp_ovs_counters *counters);

/* Calls 'cb' (with 'aux') for every interface the replica holds, in no
 * particular order, without building anything. */
void dp_ovs_counters_foreach(const struct dp_ovs_counters *counters,
                             dp_iface_counters_cb *cb, void *aux);

/* Adds to each interface of 'observed' (the form dp_ovs_observe()
 * returns) its "statistics" object from 'counters' (NULL: none). */
void dp_ovs_counters_add_statistics(const struct dp_ovs_counters *counters,
                                    struct json_object *observed);

/* The desired fabric (fabric.c). */

/* Returns the desired fabric of host 'host' (a new JSON object in the form
 * dp_ovs_apply() takes) from 'records', a JSON object of class name →
 * (UUID → record) holding at least "network" and "PIF" (as
 * dp_reconciler_records() makes it).  New bridges get 'datapath_type'.
 * Pure. */
struct json_object *dp_fabric_build(struct json_object *records,
                                    const char *host,
                                    const char *datapath_type);

/* Adds to 'bridges' (a fabric's "bridges" object being built) a fake
 * bridge for every plugged VLAN PIF of host 'host' in 'records' (class →
 * (UUID → record), with "network", "PIF", "VLAN") whose parent's bridge is
 * in 'bridges': a port of that bridge named after the VLAN network's
 * bridge, with tag = the VLAN, fake_bridge = true and one internal
 * interface at the VLAN network's MTU.  Pure; called by dp_fabric_build()
 * once the PIFs' bridges are in (fabric-vlan.c). */
void dp_fabric_add_vlans(struct json_object *bridges,
                         struct json_object *records, const char *host);

/* Addresses of non-management PIFs (ip-config.c). */

/* Returns the addresses host 'host' wants, from 'records' (class → (UUID
 * → record), with "network" and "PIF"): a new JSON object mapping the
 * device of each attached, non-management, unbonded PIF (its network's
 * bridge: the bridge's internal port, or a VLAN's fake bridge) to {"pif",
 * "address", "prefix"}; "address" is "" unless the PIF is Static with a
 * valid IP and netmask.  Pure. */
struct json_object *dp_ip_config_plan(struct json_object *records,
                                      const char *host);

/* Converges the kernel onto 'plan' (from dp_ip_config_plan()) through
 * netlink: adds each wanted address (labelled "DEVICE:np") and brings its
 * device up, removes the addresses labelled so that are no longer wanted,
 * and leaves every other address alone.  Devices that do not exist yet
 * are skipped.  Returns 0 or a positive errno. */
int dp_ip_config_apply(struct json_object *plan);

/* Adds to 'bridges' (a fabric's "bridges" object being built) the bond
 * of every plugged bond master PIF of host 'host' in 'records' (class →
 * (UUID → record), with "network", "PIF", "bond"): its network's bridge
 * (new bridges get 'datapath_type'; the bridge takes the bond's MAC as
 * other_config:hwaddr) with one bonded port named after the master's
 * device, whose interfaces are the plugged members (bonding/bonding.h
 * maps mode and properties onto it).  Pure; called by dp_fabric_build()
 * before VLANs and VIFs, which may hang off a bond's bridge
 * (fabric-bond.c). */
void dp_fabric_add_bonds(struct json_object *bridges,
                         struct json_object *records, const char *host,
                         const char *datapath_type);

/* The kernel's side of bonds (bond-kernel.c). */

/* Returns what host 'host' wants of the kernel for its bonds, from
 * 'records' (class → (UUID → record), with "network", "PIF", "bond"): a
 * new JSON object {"own_arp": [NIC devices of physical PIFs], "quiet":
 * [member NIC devices], "management": {"pif",
 * "address", "prefix", "gateway", "device", "bond", "candidates"}} — the
 * management PIF's address, the device it belongs on (the bridge of a
 * bond master's network, or the NIC of a physical PIF; "bond" says
 * which) and the other devices it may sit on now.  "management" is absent
 * when the management PIF has no static address.  Pure. */
struct json_object *dp_bond_kernel_plan(struct json_object *records,
                                        const char *host);

/* Converges the kernel onto 'plan' (from dp_bond_kernel_plan()): NICs
 * get arp_ignore=1, so that each answers ARP only for its own addresses;
 * member NICs get rp_filter=1 as well, so that only the bond answers for
 * the host; a management address on a bond moves from wherever it is to
 * the bond's bridge (address first, then its routes, then its removal
 * from the old device, so connections survive), and back to the NIC when
 * the role returns to a physical PIF.  Devices that do not exist yet are
 * skipped (a later run finishes).  Returns 0 or a positive errno. */
int dp_bond_kernel_apply(struct json_object *plan);

/* Bond status (bond-status.c). */

struct dp_bond_status;

/* Starts watching the bonds of host 'host' of 'store' in the OVS that
 * 'ovs' replicates, whose database is at 'remote' (its control sockets
 * are found beside a "unix:DIR/db.sock"), on 'base'.  Returns 0 and sets
 * '*statusp'. */
int dp_bond_status_create(struct event_base *base, struct store *store,
                          struct dp_ovs *ovs, const char *host,
                          const char *remote, struct dp_bond_status **statusp);

/* Stops and frees 'status'.  Accepts NULL. */
void dp_bond_status_destroy(struct dp_bond_status *status);

/* If this host has bonds, reads their state from OVS again, soon and
 * without blocking, and writes the runtime fields of bonds and members
 * (links_up, active_slave, bond_member_state, lacp_state, lacp_partner,
 * bfd_state), raising BOND_STATUS_CHANGED when links_up changes.  Call
 * after each change of the OVSDB replica. */
void dp_bond_status_kick(struct dp_bond_status *status);

/* The reconciler (reconcile.c): a change-driven engine whose cost per
 * change follows the change; see reconcile.c. */

struct dp_reconciler;

/* Starts reconciling host 'host' of 'store' onto the OVS at 'remote',
 * on 'base', driven by the store's change feed (this host's objects and
 * unowned ones only) and by what OVS reports.  New bridges get
 * 'datapath_type' unless the host's datapath says otherwise.  Returns 0
 * and sets '*reconcilerp'. */
int dp_reconciler_create(struct event_base *base, struct store *store,
                         const char *host, const char *remote,
                         const char *datapath_type,
                         struct dp_reconciler **reconcilerp);

/* Stops and frees 'reconciler'.  Accepts NULL. */
void dp_reconciler_destroy(struct dp_reconciler *reconciler);

/* Asks for a run soon (runs coalesce); only what changed is written. */
void dp_reconciler_kick(struct dp_reconciler *reconciler);

/* Asks for a full recompute soon: everything is computed from the store
 * afresh and compared with OVS, the kernel and the OpenFlow rules (the
 * periodic resync). */
void dp_reconciler_resync(struct dp_reconciler *reconciler);

/* Makes VM 'vm' one migrating to this host ('incoming' true): the ports
 * of its VIFs, with their rules, are made here as if it were resident,
 * before the store says it is; or no longer ('incoming' false): they go
 * unless the store now says it is resident here.  The domain that opens
 * the VIFs' taps must run here first. */
void dp_reconciler_set_incoming(struct dp_reconciler *reconciler,
                                const char *vm, bool incoming);

/* Returns true if everything asked of the switch is in it and every
 * plugged VIF of VM 'vm' has its port with an OpenFlow port number. */
bool dp_reconciler_vm_ready(const struct dp_reconciler *reconciler,
                            const char *vm);

/* Returns true once the reconciler is connected to a complete OVSDB. */
bool dp_reconciler_ready(const struct dp_reconciler *reconciler);

/* Returns what the reconciler's OVS reports now (see dp_ovs_observe()),
 * with each interface's "statistics", a new JSON object; empty before the
 * first connection. */
struct json_object *dp_reconciler_observe(const struct dp_reconciler *);

/* Returns the interface counters replica of the reconciler's OVS. */
const struct dp_ovs_counters *
dp_reconciler_counters(const struct dp_reconciler *reconciler);

/* What the reconciler did so far. */
struct dp_reconciler_stats {
    uint64_t full_runs;          /* Runs that recomputed everything. */
    uint64_t incremental_runs;   /* Runs that wrote only what changed. */
    uint64_t ovsdb_transactions; /* OVSDB transactions that changed
                                  * something. */
    uint64_t applied_seq;        /* Store sequence last reported applied. */
    uint64_t vifs;               /* VIF ports wanted on this host. */
};

/* Fills 'stats' for 'reconciler'. */
void dp_reconciler_get_stats(const struct dp_reconciler *reconciler,
                             struct dp_reconciler_stats *stats);

/* Returns a new JSON object of class → (UUID → record) with the classes
 * the fabric depends on, read from 'store'. */
struct json_object *dp_reconciler_records(struct store *store);

/* VIFs (vif-mac.c, fabric-vif.c, vif-netns.c, vif-flows.c).
 *
 * A plugged VIF of a VM on this host is a port "vif<index>.<device>" of
 * its network's bridge (a VLAN network's: the parent bridge, with the tag),
 * whose Interface carries the OVS integration guide's external_ids
 * (iface-id, attached-mac, vm-id, iface-status).  "On this host" means the
 * VIF's other_config:netns names a namespace guest, or its VM is resident
 * here.  For a namespace guest, netpoold makes the veth pair itself.
 * Rate limiting and locking mode become ingress policing, OpenFlow meters
 * and rules that carry DP_VIF_COOKIE, so that only netpool's own are ever
 * replaced. */

/* VM.other_config key holding the VM's index in its ports' names. */
#define DP_VIF_INDEX_KEY "netpool-vif-index"
#define DP_VIF_INDEX_MAX 99999 /* Largest VM index. */
#define DP_VIF_DEVICE_MAX 9999 /* Largest VIF device. */
/* Cookie of netpool's VIF rules ("NPVIF"). */
#define DP_VIF_COOKIE 0x4e50564946000000ULL
/* A VIF's meter ID is this plus its OpenFlow port number. */
#define DP_VIF_METER_BASE 0x4e500000u
#define DP_VIF_KBPS_MAX 100000000 /* Largest rate limit: 100 Gbit/s. */

/* Folder of the vhost-user sockets of VIFs on a dpdk host: one folder per
 * host UUID, one socket per VIF port, "<port>.sock".  QEMU (or
 * netpool-perf) serves the socket; OVS's dpdkvhostuserclient port
 * connects to it, and reconnects when the server comes back. */
#define DP_VHOST_ROOT "/run/netpool/vhost"

/* Returns the vhost-user socket of VIF port 'port' (dp_vif_port_name()) on
 * host 'host', a new string. */
char *dp_vif_vhost_socket(const char *host, const char *port);

/* Returns true if VIF record 'vif' has other_config:vhost-user=external: on
 * a dpdk host its port exists whether or not its VM runs, for a process
 * that serves the socket itself (netpool-perf). */
bool dp_vif_vhost_external(struct json_object *vif);

/* VIF other_config keys of a vhost-user port on OVS's side (the QEMU side
 * is vm.h's vhost-* keys):
 *   vhost-tx-retries        options:tx-retries-max, 0-32 (OVS's default
 *                           8): how often OVS retries a guest's full
 *                           receive ring before it drops
 *   dpdk-pmd-rxq-affinity   other_config:pmd-rxq-affinity, "Q:CORE,..."
 * Returns false if 'value' is no valid value of such a 'key'; true for any
 * other key.  Pure. */
bool dp_vif_vhost_value_valid(const char *key, const char *value);

/* Returns the rate limit of VIF record 'vif' in kbit/s: its
 * qos_algorithm_params:kbps (a decimal from 1 to DP_VIF_KBPS_MAX) when its
 * qos_algorithm_type is "ratelimit", else 0 (none). */
int64_t dp_vif_kbps(struct json_object *vif);

/* Returns the burst in kbit that goes with a rate limit of 'kbps': a tenth
 * of a second's worth, but at least 100 kbit (eight full-size frames). */
int64_t dp_vif_burst(int64_t kbps);

/* Checks 'text' as a MAC address for a VIF: six colon-separated hex
 * octets, unicast, not all zero.  On success writes it in lower case to
 * 'out' and returns true. */
bool dp_vif_mac_parse(const char *text, char out[DP_MAC_LENGTH + 1]);

/* Writes a new random MAC address into 'out': locally administered
 * unicast (first octet with bit 1 set and bit 0 clear), as XenServer
 * generates them.  The caller checks it against the MACs in use. */
void dp_vif_mac_generate(char out[DP_MAC_LENGTH + 1]);

/* Writes into 'name' the port name of VIF 'device' (decimal, 0 to
 * DP_VIF_DEVICE_MAX) of a VM whose index is 'index' (1 to
 * DP_VIF_INDEX_MAX): "vif<index>.<device>".  Returns false if either is
 * out of range. */
bool dp_vif_port_name(int64_t index, const char *device,
                      char name[IF_NAMESIZE]);

/* Adds to 'bridges' (a fabric's "bridges" object being built) a port for
 * every plugged VIF of a VM on host 'host' found in 'records' (class →
 * (UUID → record), with "network", "PIF", "VLAN", "VIF", "VM"), creating
 * the bridge of a private network with 'datapath_type'.  Pure; called by
 * dp_fabric_build() after the PIFs and VLANs are in. */
void dp_fabric_add_vifs(struct json_object *bridges,
                        struct json_object *records, const char *host,
                        const char *datapath_type);

/* Flow export (fabric-flow.c).  sFlow, IPFIX and NetFlow settings are
 * other_config keys "flow-PROTOCOL-…" of a network (its bridge) or of the
 * host (every bridge netpool owns there); see fabric-flow.c for the keys.
 * A protocol is on for a bridge when its targets are set; the network's
 * settings of a protocol win over the host's, and targets "" on a network
 * turn the host's off for it. */

#define DP_FLOW_KEY_PREFIX "flow-" /* Prefix of flow-export keys. */

/* Checks one other_config entry: NULL if 'key' is not a flow-export key or
 * 'value' suits it, else INVALID_VALUE("other_config:KEY", value) for an
 * unknown flow-export key or a bad value (targets: up to 16 distinct
 * "IPv4:PORT" or "[IPv6]:PORT"; numbers within their ranges). */
struct np_error *dp_flow_export_check(const char *key, const char *value);

/* Runs dp_flow_export_check() on every entry of 'other_config' (a map,
 * borrowed).  Returns NULL or the first error. */
struct np_error *dp_flow_export_check_map(struct json_object *other_config);

/* Returns true if some setting of 'protocol' ("sflow", "ipfix",
 * "netflow") in 'other_config' fails dp_flow_export_check(). */
bool dp_flow_export_check_map_protocol(struct json_object *other_config,
                                       const char *protocol);

/* Adds to every bridge of 'bridges' that stands for a network (its
 * external_ids netpool-network) the flow export that network and host
 * 'host' ask for in 'records' (class → (UUID → record), with "network" and
 * "host"): "sflow", "ipfix" and "netflow" objects holding "targets" (an
 * array), the protocol's integer columns that are set, sFlow's "agent",
 * and external_ids netpool-network.  Pure; called by dp_fabric_build()
 * once every bridge is in. */
void dp_fabric_add_flow_exports(struct json_object *bridges,
                                struct json_object *records, const char *host);

/* Returns the namespace guests host 'host' should have, from 'records'
 * (as for dp_fabric_add_vifs()): a new JSON object mapping the UUID of
 * every plugged VIF with other_config:netns whose VM is on 'host' (see
 * dp_vif_on_host()) to {"port": its port name, "netns": the namespace,
 * "device": "eth<device>", "MAC", "MTU": its network's}.  Pure. */
struct json_object *dp_vif_guests_build(struct json_object *records,
                                        const char *host);

/* Returns true if VIF 'vif' of VM 'vm' belongs on host 'host': the VM is
 * resident there; or, for a namespace guest (other_config:netns) of a VM
 * resident nowhere, the VM's affinity is 'host', or it has none and
 * 'host' is the only host in 'records' (a standalone host).  Pure. */
bool dp_vif_on_host(struct json_object *records, struct json_object *vif,
                    struct json_object *vm, const char *host);

/* Returns the OpenFlow state netpool wants for VIFs, a new JSON object
 * {BRIDGE: {"flows": [TEXT, …], "meters": {ID: {"kbps", "burst"}},
 * "incomplete"?: true}}, from 'records', the desired 'fabric'
 * (dp_fabric_build()) and 'ofports' (interface name → OpenFlow port, as
 * dp_ovs_ofports() returns it; a negative number for a port OVS could
 * not open).  Every bridge of 'fabric' holding a VIF port appears, with no
 * flows if none is wanted, and "incomplete" if a VIF port has no OpenFlow
 * port number yet (a port OVS could not open has none to wait for: it
 * wants no rules).  A locked VIF may send only from its MAC and its
 * ipv4_allowed addresses (IPv4 and ARP); a "disabled" one may send
 * nothing; a rate limit on a bridge of the userspace datapath becomes a
 * meter (ID DP_VIF_METER_BASE + OpenFlow port).  Flows are ovs-ofctl text
 * with DP_VIF_COOKIE.  Pure. */
struct json_object *dp_vif_flows_build(struct json_object *records,
                                       struct json_object *fabric,
                                       struct json_object *ofports);

/* Namespace guests (vif-netns.c). */

struct dp_vif_netns;

/* Returns a new guest plumber for the network namespace netpoold runs
 * in. */
struct dp_vif_netns *dp_vif_netns_create(void);

/* Frees 'netns' (the veths stay).  Accepts NULL. */
void dp_vif_netns_destroy(struct dp_vif_netns *netns);

/* Makes the veth pairs of namespace guests match 'guests' (as
 * dp_vif_guests_build() returns it): each one's host end, named after its
 * port, up in netpoold's namespace; its guest end "eth<device>" in the
 * named namespace with the VIF's MAC and the network's MTU, up; transmit
 * checksum offload off on both.  Pairs that are right are not touched;
 * pairs it made (their host end's alias says so) that are no longer wanted
 * are deleted.  Returns 0, or a positive errno if some pair could not be
 * made (the caller tries again later). */
int dp_vif_netns_sync(struct dp_vif_netns *netns, struct json_object *guests);

/* Makes the veth pair of VIF 'vif' alone match 'guest' (its entry of
 * dp_vif_guests_build(), borrowed; NULL for none), as dp_vif_netns_sync()
 * would, without looking at any other pair.  Returns 0, or a positive
 * errno if the pair could not be made (a later full sync tries again). */
int dp_vif_netns_update(struct dp_vif_netns *netns, const char *vif,
                        struct json_object *guest);

/* Pushing VIF flows (flow-sync.c). */

struct dp_vif_flows;

/* Called when the OpenFlow connection of 'bridge' came back after it went
 * (ovs-vswitchd restarted, or the bridge was made again). */
typedef void dp_vif_flows_reconnected_cb(void *aux, const char *bridge);

/* Returns a new OpenFlow programmer for VIF rules and meters of the switch
 * whose OVSDB is at 'remote' (its bridges' management sockets are in
 * $OVS_RUNDIR, else beside a "unix:" remote's socket), running on 'base';
 * 'cb' (with 'aux', may be NULL) hears of reconnections. */
struct dp_vif_flows *dp_vif_flows_create(struct event_base *base,
                                         const char *remote,
                                         dp_vif_flows_reconnected_cb *cb,
                                         void *aux);

/* Frees 'flows' (the rules stay in OVS).  Accepts NULL. */
void dp_vif_flows_destroy(struct dp_vif_flows *flows);

/* Makes 'flows' connect to the bridges named by the keys of 'bridges'
 * (borrowed), and forget the bridges it knows that are not named (they are
 * going, and their rules with them). */
void dp_vif_flows_set_bridges(struct dp_vif_flows *flows,
                              struct json_object *bridges);

/* Says that VIF 'vif' wants 'state' on bridge 'bridge' (borrowed; its
 * bridge's entry of dp_vif_flows_build(): {"flows", "meters",
 * "incomplete"?}), or nothing when 'state' or 'bridge' is NULL.  A state
 * marked incomplete keeps what the VIF had.  Nothing is sent until
 * dp_vif_flows_flush(). */
void dp_vif_flows_set(struct dp_vif_flows *flows, const char *vif,
                      const char *bridge, struct json_object *state);

/* Forgets every VIF of 'flows' that is not a key of 'vifs' (a JSON object
 * keyed by VIF UUID), as dp_vif_flows_set() with no state would: their
 * rules and meters go with the next flush or comparison. */
void dp_vif_flows_retain(struct dp_vif_flows *flows, struct json_object *vifs);

/* Makes every bridge read netpool's rules and meters back from the switch
 * and send the difference with what is wanted, soon. */
void dp_vif_flows_resync(struct dp_vif_flows *flows);

/* Sends the rule and meter changes of the VIFs set since the last flush,
 * from what was sent before (the switch is not read again), followed by a
 * barrier. */
void dp_vif_flows_flush(struct dp_vif_flows *flows);

/* Returns true if every bridge that netpool has or wants rules on is
 * connected, in step and has acknowledged everything sent. */
bool dp_vif_flows_idle(const struct dp_vif_flows *flows);

/* Datapath per host and OVS-DPDK settings (dpdk.c, hugepages.c,
 * dpdk-ovs.c).  A host's "datapath" field is "netdev" (OVS userspace, the
 * default), "dpdk" (OVS userspace with DPDK ports) or "system" (the
 * kernel module).  In dpdk mode netpool owns the DPDK keys of the
 * Open_vSwitch table's other_config (DP_DPDK_KEYS) and checks hugepages
 * before it asks OVS for them. */

struct ovsdb_idl;

/* The keys of Open_vSwitch:other_config netpool owns: set in dpdk mode,
 * removed otherwise. */
#define DP_DPDK_KEYS                                                   \
    "dpdk-init", "dpdk-socket-mem", "dpdk-lcore-mask", "pmd-cpu-mask", \
        "dpdk-extra", "dpdk-socket-limit", "emc-insert-inv-prob",      \
        "smc-enable", "tx-flush-interval", "pmd-maxsleep"

/* Defaults of host other_config keys of the same names, chosen by the
 * analysis in perf/README.md ("Where the cycles go"). */
#define DP_DPDK_SOCKET_MEM "512" /* MiB per NUMA socket. */
#define DP_DPDK_LCORE_MASK "0x1" /* Non-PMD threads on core 0. */
#define DP_DPDK_PMD_MASK "0x2"   /* One PMD thread, on core 1. */
/* The exact-match cache off: netpool's rules (NORMAL, and locking mode's
 * per-port rules) never match L4 ports, so a guest's thousands of
 * connections share a handful of megaflows, which the signature match
 * cache finds in one probe, while the EMC (8192 entries, one per
 * connection) thrashes and costs a miss on top of the classifier. */
#define DP_DPDK_EMC_INSERT_INV_PROB "0"
#define DP_DPDK_SMC_ENABLE "true"     /* The signature match cache. */
#define DP_DPDK_TX_FLUSH_INTERVAL "0" /* Flush output batches at once. */
#define DP_DPDK_PMD_MAXSLEEP "0"      /* PMDs poll, never sleep (us). */

/* Returns the datapath of host 'host' in 'records' (class → (UUID →
 * record), with "host"): its "datapath" field, "netdev" if unset.  The
 * result is borrowed from 'records' or a literal.  Pure. */
const char *dp_host_datapath(struct json_object *records, const char *host);

/* Returns the OVS bridge datapath_type for host datapath 'datapath':
 * "netdev" for "dpdk" (OVS-DPDK runs on the userspace datapath),
 * "system" for "system", 'dflt' (netpoold's --datapath-type) otherwise.
 * Pure. */
const char *dp_datapath_type(const char *datapath, const char *dflt);

/* Returns false if 'value' is no valid value of host other_config key
 * 'key' among the PMD tuning keys of DP_DPDK_KEYS: emc-insert-inv-prob
 * (0-4294967295, 0 for no EMC), smc-enable ("true" or "false"),
 * tx-flush-interval (0-1000000 us), pmd-maxsleep (0-10000 us); true for
 * any other key.  Pure. */
bool dp_dpdk_host_value_valid(const char *key, const char *value);

/* Returns true if 'text' is a pmd-rxq-affinity: "QUEUE:CORE" pairs of
 * decimals separated by commas.  Pure. */
bool dp_dpdk_rxq_affinity_valid(const char *text);

/* Returns the Open_vSwitch other_config that host 'host' of 'records'
 * wants for the keys of DP_DPDK_KEYS, a new JSON object of string values:
 * empty unless the host's datapath is "dpdk", else dpdk-init=true and the
 * host other_config values of the other keys or their defaults
 * (dpdk-socket-limit only when the host sets it: OVS's own default is no
 * limit, and its packet buffer pools then take any free hugepages, up to
 * about 2.6 GB for MTU 9000);
 * dpdk-extra defaults to "--no-pci --huge-dir=HUGE_DIR
 * --file-prefix=netpool-UUID8" (the host's first UUID characters, so that
 * hosts sharing a machine keep apart).  Pure. */
struct json_object *dp_dpdk_build(struct json_object *records,
                                  const char *host, const char *huge_dir);

/* Returns the dpdk-devargs of physical PIF record 'pif' as a new string:
 * its other_config:dpdk-devargs, else a DPDK AF_PACKET virtual device on
 * its NIC, "net_af_packet_DEVICE,iface=DEVICE" (the machines here have no
 * PCI device DPDK can drive).  Pure. */
char *dp_dpdk_devargs(struct json_object *pif);

/* Checks 'devargs' for dpdk-devargs: a PCI address ("0000:01:00.0"), or a
 * virtual device "net_DRIVER[NAME][,KEY=VALUE…]" of the drivers DPDK
 * builds here.  Returns NULL or a static string that says what is wrong.
 * Pure. */
const char *dp_dpdk_devargs_problem(const char *devargs);

/* In 'fabric' (as dp_fabric_build() makes it) of host 'host' of 'records'
 * in dpdk mode, makes every interface of a physical PIF (external_ids
 * netpool-pif, type "") a DPDK port: type "dpdk", options dpdk-devargs
 * (dp_dpdk_devargs()) and n_rxq (PIF other_config:dpdk-n-rxq), and
 * other_config pmd-rxq-affinity (PIF other_config:dpdk-pmd-rxq-affinity).
 * Does nothing for a host in another mode.  Pure. */
void dp_dpdk_fabric_ports(struct json_object *fabric,
                          struct json_object *records, const char *host);

/* Returns true if a thread of ovs-vswitchd named 'name' (its comm) that
 * may run on 'cpus' should be moved to 'main_cpus', the main thread's
 * CPUs once DPDK pinned it to dpdk-lcore-mask: a thread born before DPDK
 * started at run time, which kept every core ('cpus' holds 'main_cpus'
 * and more), and no PMD thread ("pmd…", which OVS pins itself).  Pure. */
bool dp_dpdk_thread_to_move(const char *name, const cpu_set_t *cpus,
                            const cpu_set_t *main_cpus);

/* Moves the threads of the ovs-vswitchd whose pidfile is in 'rundir' that
 * dp_dpdk_thread_to_move() names to its main thread's CPUs.  Sets '*pid'
 * (0 if unknown) and '*moved' (threads moved); returns 0 or an errno
 * value (the last thread that could not be moved; the others are). */
int dp_dpdk_threads_pin(const char *rundir, int *pid, int *moved);

/* Returns the number of bytes of hugepage memory a dpdk-socket-mem value
 * ('text', MiB per socket, comma-separated, e.g. "512" or "512,0") asks
 * for, or -1 if 'text' is not such a list.  Pure. */
int64_t dp_hugepages_needed(const char *text);

/* Returns the free hugepage memory in bytes that 'meminfo' (the text of
 * /proc/meminfo) reports: HugePages_Free times Hugepagesize.  Pure. */
int64_t dp_hugepages_free_meminfo(const char *meminfo);

/* Returns the mount point of the first hugetlbfs in 'mounts' (the text
 * of /proc/mounts) as a new string, or NULL if there is none.  Pure. */
char *dp_hugepages_mount(const char *mounts);

/* Returns NULL if 'free_size' bytes of hugepages hold 'needed' bytes,
 * else HOST_HUGEPAGES_INSUFFICIENT(needed, free) in bytes.  Pure. */
struct np_error *dp_hugepages_check(int64_t needed, int64_t free_size);

/* Returns the free hugepage memory of this machine in bytes: the sum of
 * free_hugepages times the page size over /sys/kernel/mm/hugepages, or,
 * without it, what /proc/meminfo says; 0 if neither can be read. */
int64_t dp_hugepages_free(void);

/* Returns the hugetlbfs mount point of this machine (a new string),
 * "/dev/hugepages" if /proc/mounts has none. */
char *dp_hugepages_dir(void);

/* Writes the keys of DP_DPDK_KEYS of the Open_vSwitch row of 'idl' within
 * its transaction in progress to match 'want' (a JSON object of string
 * values, as dp_dpdk_build() makes it): keys that differ are set, keys
 * absent from 'want' removed; the other keys are left alone.  Does
 * nothing if 'want' is NULL. */
void dp_dpdk_apply(struct ovsdb_idl *idl, struct json_object *want);

/* MTU limits of DPDK ports and what OVS reports on PIFs (dpdk-mtu.c,
 * dpdk-status.c).  A DPDK driver that cannot take a port's mtu_request
 * makes OVS drop the port, so MTUs above a driver's limit are refused with
 * MTU_EXCEEDS_DEVICE_LIMIT(field, requested, limit, device) before they are
 * stored.  Pure unless said otherwise. */
#define DP_DPDK_MTU_MAX 9702 /* OVS-DPDK: 9728-byte frames with 2 VLANs. */

/* Returns the largest MTU of DPDK driver 'driver' (a driver name, or
 * dpdk-devargs naming one); DP_DPDK_MTU_MAX for PCI devices and drivers
 * without a smaller limit. */
int64_t dp_dpdk_mtu_limit(const char *driver);

/* Returns the MTU limit of PIF 'pif_uuid' of 'records' as a DPDK port (its
 * devargs' driver), or 0 if it is no DPDK port (not physical, or its host
 * is not in dpdk mode). */
int64_t dp_dpdk_pif_mtu_limit(struct json_object *records,
                              const char *pif_uuid);

/* Returns MTU_EXCEEDS_DEVICE_LIMIT(name, mtu, limit, device) if setting
 * network 'network' of 'records' to 'mtu' exceeds the limit of a DPDK
 * port carrying it (a PIF on it, or a member of a bond on it), else NULL. */
struct np_error *dp_dpdk_check_network_mtu(struct json_object *records,
                                           const char *network, int64_t mtu,
                                           const char *name);

/* The same for host 'host' of 'records' becoming dpdk: each physical PIF's
 * network MTU against its driver's limit. */
struct np_error *dp_dpdk_check_host_mtus(struct json_object *records,
                                         const char *host, const char *name);

/* The same for PIF 'pif_uuid' getting dpdk-devargs 'devargs'. */
struct np_error *dp_dpdk_check_devargs_mtu(struct json_object *records,
                                           const char *pif_uuid,
                                           const char *devargs,
                                           const char *name);

/* Returns a new MTU_EXCEEDS_DEVICE_LIMIT(name, mtu, limit, device). */
struct np_error *dp_dpdk_mtu_error(const char *name, int64_t mtu,
                                   int64_t limit, const char *device);

/* Returns {PIF UUID: {"mtu_max", "device_error"}} for every PIF of host
 * 'host': the MTU limit of a DPDK port (from the driver OVS reports in its
 * Interface status, else its devargs'; 0 for no DPDK port) and the error
 * OVS reports on the PIF's interface ("" for none), from 'observed' (as
 * dp_ovs_observe() returns it). */
struct json_object *dp_dpdk_pif_status(struct json_object *records,
                                       const char *host,
                                       struct json_object *observed);

/* Writes dp_dpdk_pif_status() to the PIFs of host 'host' where it
 * differs, raising PIF_DEVICE_ERROR once when a PIF gets a new error.  Not
 * pure: it reads and writes 'store'. */
void dp_dpdk_status_sync(struct store *store, const char *host,
                         struct json_object *observed);

/* Sets the kernel MTU of each NIC that a DPDK virtual device of 'fabric'
 * (a desired fabric) opens with iface=NIC to the port's mtu_request, since
 * not every driver does (net_pcap does not).  Not pure. */
void dp_dpdk_link_mtus(struct json_object *fabric);

/* Link monitor. */

struct dp_link_monitor;

/* Called when the kernel reports a change to a NIC. */
typedef void dp_link_changed_cb(void *aux);

/* Starts watching netlink link events on 'base'; calls 'cb' (with 'aux')
 * after each batch of changes to links matching 'globs'.  Returns 0 and
 * sets '*monitorp', or a positive errno. */
int dp_link_monitor_start(struct event_base *base, const char *globs,
                          dp_link_changed_cb *cb, void *aux,
                          struct dp_link_monitor **monitorp);

/* Stops and frees 'monitor'.  Accepts NULL. */
void dp_link_monitor_stop(struct dp_link_monitor *monitor);

#endif
