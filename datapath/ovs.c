/*
 * The host's Open vSwitch through libopenvswitch's OVSDB IDL.
 *
 * The IDL keeps a replica of the part of the Open_vSwitch database the
 * reconciler reads: the configuration columns netpool writes, and the few
 * status columns its observers need (an interface's OpenFlow port, link
 * state, MTU, error, LACP and BFD state; a bond's active member).  Never
 * the statistics, which ovs-vswitchd rewrites every few seconds: an idle
 * host's replica does not change at all.  OVS's poll loop cannot share a
 * thread with libevent, so a short libevent timer runs the IDL
 * (ovsdb_idl_run() does non-blocking I/O only) and commits transactions
 * without blocking.  After each run the rows that changed are summed up
 * for the caller (struct dp_ovs_update): which interfaces got an OpenFlow
 * port, which of netpool's rows someone else changed or removed, whether
 * the replica was loaded afresh.
 *
 * dp_ovs_apply() converges OVS onto a whole desired fabric (see fabric.c):
 * bridges, ports and interfaces that netpool owns carry an external_ids key
 * beginning "netpool-"; the ones not desired are removed, the desired ones
 * created, and only columns whose value differs are written, so a port that
 * is already right is never touched.  Rows without such a key are left
 * alone.  dp_ovs_apply_partial() does the same for a few named ports only,
 * finding them through an index, so its cost follows the change and not
 * the number of ports.  Every transaction asks ovs-vswitchd to report back
 * (next_cfg); until it has (cur_cfg), or for at most CFG_WAIT_MS, the
 * switch counts as busy, so that changes made meanwhile go out together.
 */
#include "datapath/ovs-idl.h"

#include "datapath/datapath.h"
#include "datapath/ovs-flow.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/log.h"

#define LOG_MODULE "ovs"

#define RUN_INTERVAL_MS 20 /* How often the IDL runs: the latency floor. */
#define CFG_WAIT_MS \
    2000 /* Longest wait for ovs-vswitchd to catch up
                            * before the next transaction goes anyway. */

struct dp_ovs {
    struct ovsdb_idl *idl;               /* Replica of the host's OVSDB. */
    struct ovsdb_idl_index *port_names;  /* Port rows by name. */
    struct ovsdb_idl_index *iface_names; /* Interface rows by name. */
    struct ovsdb_idl_txn *txn;           /* Transaction in flight, or NULL. */
    struct event *timer;                 /* Runs the IDL. */
    unsigned int seqno;                  /* Replica version last reported. */
    dp_ovs_changed_cb *cb;               /* Reports changes and commits. */
    void *aux;                           /* Argument for 'cb'. */
    bool connected;                      /* Connection state last seen. */
    bool loaded;                         /* The replica is complete. */
    int64_t cfg;                 /* next_cfg of the last transaction that
                                 * changed something, 0 for none. */
    long long cfg_ms;            /* When that transaction committed. */
    bool waiting;                /* Busy because of 'cfg' at the last run. */
    struct dp_ovs_update update; /* Changes found by the current run. */
    unsigned long long n_txns;   /* Transactions that changed something. */
};

static void run(evutil_socket_t, short, void *ovs_);
static void register_columns(struct ovsdb_idl *);
static void collect_update(struct dp_ovs *);
static void clear_update(struct dp_ovs_update *);
static void note(struct json_object **set, const char *name);
static bool cfg_pending(const struct dp_ovs *);
static int commit(struct dp_ovs *);
static long long now_ms(void);
static const struct ovsrec_port *find_port(const struct dp_ovs *,
                                           const char *name);
static const struct ovsrec_bridge *find_bridge(const struct dp_ovs *,
                                               const char *name);
static const struct ovsrec_bridge *bridge_of(const struct dp_ovs *,
                                             const struct ovsrec_port *);
static bool holds(const struct ovsrec_bridge *, const struct ovsrec_port *);
static bool owned(const struct smap *external_ids);
static bool owned_internal(const struct dp_ovs *,
                           const struct ovsrec_interface *);
static void smap_from_jsonc(struct smap *, struct json_object *);
static bool smap_equals_jsonc(const struct smap *, struct json_object *);
static int64_t json_int(struct json_object *, const char *key, int64_t dflt,
                        bool *present);
static const char *json_str(struct json_object *, const char *key);
static const struct ovsrec_bridge *
apply_bridge_columns(struct dp_ovs *, const struct ovsrec_open_vswitch *,
                     const char *name, struct json_object *want);
static void apply_bridge_ports(struct dp_ovs *, const struct ovsrec_bridge *,
                               struct json_object *want,
                               struct shash *ports_by_name);
static void apply_port(const struct ovsrec_bridge *, const char *name,
                       struct json_object *want,
                       const struct ovsrec_port *port);
static void apply_interface(const struct ovsrec_interface *,
                            struct json_object *want);

int
dp_ovs_create(struct event_base *base, const char *remote,
              dp_ovs_changed_cb *cb, void *aux, struct dp_ovs **ovsp)
{
    struct dp_ovs *ovs = xzalloc(sizeof *ovs);

    /* OVS logs to the console by default; netpoold reports what matters
     * itself. */
    vlog_set_levels(NULL, VLF_CONSOLE, VLL_OFF);
    vlog_set_levels(NULL, VLF_SYSLOG, VLL_OFF);

    ovs->idl = ovsdb_idl_create(remote, &ovsrec_idl_class, false, true);
    ovsdb_idl_set_leader_only(ovs->idl, false);
    register_columns(ovs->idl);
    ovsdb_idl_track_add_all(ovs->idl);
    ovs->port_names = ovsdb_idl_index_create1(ovs->idl, &ovsrec_port_col_name);
    ovs->iface_names =
        ovsdb_idl_index_create1(ovs->idl, &ovsrec_interface_col_name);
    ovs->cb = cb;
    ovs->aux = aux;
    ovs->timer = event_new(base, -1, EV_PERSIST, run, ovs);
    struct timeval tv = {0, RUN_INTERVAL_MS * 1000};
    event_add(ovs->timer, &tv);
    *ovsp = ovs;
    return 0;
}

void
dp_ovs_destroy(struct dp_ovs *ovs)
{
    if (!ovs) {
        return;
    }
    if (ovs->txn) {
        ovsdb_idl_txn_destroy(ovs->txn);
    }
    clear_update(&ovs->update);
    event_free(ovs->timer);
    ovsdb_idl_destroy(ovs->idl);
    free(ovs);
}

bool
dp_ovs_ready(const struct dp_ovs *ovs)
{
    return ovsdb_idl_is_connected(ovs->idl)
           && ovsdb_idl_has_ever_connected(ovs->idl)
           && ovsrec_open_vswitch_first(ovs->idl) != NULL;
}

bool
dp_ovs_busy(const struct dp_ovs *ovs)
{
    return ovs->txn != NULL || cfg_pending(ovs);
}

bool
dp_ovs_settled(const struct dp_ovs *ovs)
{
    const struct ovsrec_open_vswitch *root;

    if (ovs->txn || !dp_ovs_ready(ovs)) {
        return false;
    }
    root = ovsrec_open_vswitch_first(ovs->idl);
    return !ovs->cfg || root->cur_cfg >= ovs->cfg;
}

unsigned long long
dp_ovs_n_transactions(const struct dp_ovs *ovs)
{
    return ovs->n_txns;
}

int
dp_ovs_apply(struct dp_ovs *ovs, struct json_object *desired)
{
    if (ovs->txn) {
        return EBUSY;
    }
    if (!dp_ovs_ready(ovs)) {
        return ENOTCONN;
    }

    const struct ovsrec_open_vswitch *root =
        ovsrec_open_vswitch_first(ovs->idl);
    struct json_object *bridges = json_object_object_get(desired, "bridges");
    struct shash ports_by_name = SHASH_INITIALIZER(&ports_by_name);
    const struct ovsrec_bridge *br;
    const struct ovsrec_port *port;

    ovs->txn = ovsdb_idl_txn_create(ovs->idl);
    ovsdb_idl_txn_add_comment(ovs->txn, "netpoold: converge fabric");

    /* Ports are found by name wherever they are, so that a port that moves
     * between bridges is moved, not duplicated. */
    OVSREC_PORT_FOR_EACH (port, ovs->idl) {
        shash_add_once(&ports_by_name, port->name, port);
    }

    /* Remove what netpool owns and no longer wants: whole bridges, then
     * ports of the bridges that stay. */
    OVSREC_BRIDGE_FOR_EACH (br, ovs->idl) {
        struct json_object *want = json_object_object_get(bridges, br->name);
        if (!want && owned(&br->external_ids)) {
            ovsrec_open_vswitch_update_bridges_delvalue(root, br);
            ovsrec_bridge_delete(br);
            for (size_t i = 0; i < br->n_ports; i++) {
                shash_find_and_delete(&ports_by_name, br->ports[i]->name);
            }
            continue;
        }
        for (size_t i = 0; i < br->n_ports; i++) {
            const struct ovsrec_port *p = br->ports[i];
            struct json_object *ports = json_object_object_get(want, "ports");
            if (owned(&p->external_ids)
                && !json_object_object_get(ports, p->name)) {
                ovsrec_bridge_update_ports_delvalue(br, p);
                ovsrec_port_delete(p);
                shash_find_and_delete(&ports_by_name, p->name);
            }
        }
    }

    json_object_object_foreach (bridges, name, want) {
        br = apply_bridge_columns(ovs, root, name, want);
        apply_bridge_ports(ovs, br, want, &ports_by_name);
    }
    shash_destroy(&ports_by_name);
    /* DPDK settings of the host (dpdk-ovs.c). */
    struct json_object *open_vswitch =
        json_object_object_get(desired, "open_vswitch");
    dp_dpdk_apply(ovs->idl,
                  json_object_object_get(open_vswitch, "other_config"));
    return commit(ovs);
}

int
dp_ovs_apply_partial(struct dp_ovs *ovs, struct json_object *partial,
                     struct json_object *gone)
{
    if (ovs->txn) {
        return EBUSY;
    }
    if (!dp_ovs_ready(ovs)) {
        return ENOTCONN;
    }

    const struct ovsrec_open_vswitch *root =
        ovsrec_open_vswitch_first(ovs->idl);
    struct json_object *bridges = json_object_object_get(partial, "bridges");

    /* Every bridge named must be there already: making one is a whole
     * fabric's business. */
    json_object_object_foreach (bridges, br_name, br_want) {
        (void) br_want;
        if (!find_bridge(ovs, br_name)) {
            return ENOENT;
        }
    }

    ovs->txn = ovsdb_idl_txn_create(ovs->idl);
    ovsdb_idl_txn_add_comment(ovs->txn, "netpoold: converge ports");

    /* Ports that go: the ones netpool owns, wherever they are. */
    struct shash deleted = SHASH_INITIALIZER(&deleted);
    for (size_t i = 0; i < json_object_array_length(gone); i++) {
        const char *name =
            json_object_get_string(json_object_array_get_idx(gone, i));
        const struct ovsrec_port *port = find_port(ovs, name);
        const struct ovsrec_bridge *br = port ? bridge_of(ovs, port) : NULL;
        if (port && owned(&port->external_ids)
            && shash_add_once(&deleted, name, port)) {
            if (br) {
                ovsrec_bridge_update_ports_delvalue(br, port);
            }
            ovsrec_port_delete(port);
        }
    }

    /* Ports that stay or come, found through the index. */
    struct shash ports_by_name = SHASH_INITIALIZER(&ports_by_name);
    json_object_object_foreach (bridges, name, want) {
        json_object_object_foreach (json_object_object_get(want, "ports"),
                                    port_name, port_want) {
            const struct ovsrec_port *port = find_port(ovs, port_name);
            (void) port_want;
            if (port && !shash_find(&deleted, port_name)) {
                shash_add_once(&ports_by_name, port_name, port);
            }
        }
        const struct ovsrec_bridge *br =
            apply_bridge_columns(ovs, root, name, want);
        apply_bridge_ports(ovs, br, want, &ports_by_name);
    }
    shash_destroy(&ports_by_name);
    shash_destroy(&deleted);
    return commit(ovs);
}

int64_t
dp_ovs_ofport(const struct dp_ovs *ovs, const char *iface)
{
    struct ovsrec_interface *key =
        ovsrec_interface_index_init_row(ovs->iface_names);
    ovsrec_interface_index_set_name(key, iface);
    const struct ovsrec_interface *row =
        ovsrec_interface_index_find(ovs->iface_names, key);
    ovsrec_interface_index_destroy_row(key);

    if (!row || !row->n_ofport) {
        return 0;
    }
    return row->ofport[0] > 0 ? row->ofport[0] : -1;
}

struct json_object *
dp_ovs_observe(const struct dp_ovs *ovs)
{
    struct json_object *result = json_object_new_object();
    struct json_object *ifaces = json_object_new_object();
    struct json_object *ports = json_object_new_object();
    const struct ovsrec_interface *iface;
    const struct ovsrec_port *port;

    json_object_object_add(result, "interfaces", ifaces);
    json_object_object_add(result, "ports", ports);
    OVSREC_INTERFACE_FOR_EACH (iface, ovs->idl) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "link_state",
                               json_object_new_string(iface->link_state
                                                          ? iface->link_state
                                                          : ""));
        json_object_object_add(
            o, "ofport",
            json_object_new_int64(iface->n_ofport ? iface->ofport[0] : -1));
        json_object_object_add(
            o, "mtu", json_object_new_int64(iface->n_mtu ? iface->mtu[0] : 0));
        json_object_object_add(
            o, "error",
            json_object_new_string(iface->error ? iface->error : ""));
        json_object_object_add(
            o, "lacp_current",
            json_object_new_string(
                iface->n_lacp_current
                    ? (iface->lacp_current[0] ? "true" : "false")
                    : ""));
        struct json_object *status = json_object_new_object();
        struct smap_node *node;
        SMAP_FOR_EACH (node, &iface->status) {
            json_object_object_add(status, node->key,
                                   json_object_new_string(node->value));
        }
        json_object_object_add(o, "status", status);
        struct json_object *bfd = json_object_new_object();
        SMAP_FOR_EACH (node, &iface->bfd_status) {
            json_object_object_add(bfd, node->key,
                                   json_object_new_string(node->value));
        }
        json_object_object_add(o, "bfd_status", bfd);
        struct json_object *ids = json_object_new_object();
        SMAP_FOR_EACH (node, &iface->external_ids) {
            json_object_object_add(ids, node->key,
                                   json_object_new_string(node->value));
        }
        json_object_object_add(o, "external_ids", ids);
        json_object_object_add(ifaces, iface->name, o);
    }
    OVSREC_PORT_FOR_EACH (port, ovs->idl) {
        struct json_object *o = json_object_new_object();
        struct json_object *status = json_object_new_object();
        struct smap_node *node;
        SMAP_FOR_EACH (node, &port->status) {
            json_object_object_add(status, node->key,
                                   json_object_new_string(node->value));
        }
        json_object_object_add(o, "status", status);
        json_object_object_add(
            o, "bond_active_slave",
            json_object_new_string(
                port->bond_active_slave ? port->bond_active_slave : ""));
        json_object_object_add(ports, port->name, o);
    }
    return result;
}

struct json_object *
dp_ovs_ofports(const struct dp_ovs *ovs)
{
    struct json_object *ofports = json_object_new_object();
    const struct ovsrec_interface *iface;

    OVSREC_INTERFACE_FOR_EACH (iface, ovs->idl) {
        if (iface->n_ofport && iface->ofport[0] > 0) {
            json_object_object_add(ofports, iface->name,
                                   json_object_new_int64(iface->ofport[0]));
        }
    }
    return ofports;
}

/* The timer: run the IDL, finish a transaction in flight, report
 * changes. */
static void
run(evutil_socket_t fd, short what, void *ovs_)
{
    struct dp_ovs *ovs = ovs_;
    bool changed = false;

    ovsdb_idl_run(ovs->idl);

    bool connected = ovsdb_idl_is_connected(ovs->idl);
    if (connected != ovs->connected) {
        ovs->connected = connected;
        if (connected) {
            log_info("connected to the host's OVSDB");
        } else {
            log_warn("lost the host's OVSDB; reconnecting");
            ovs->loaded = false;
        }
        changed = true;
    }
    if (!ovs->loaded && dp_ovs_ready(ovs)) {
        /* A new connection brings the whole database, which may be
         * another one than before (ovsdb-server restarted, the database
         * wiped): the caller starts again from scratch. */
        ovs->loaded = true;
        ovs->update.reconnected = true;
        const struct ovsrec_open_vswitch *root =
            ovsrec_open_vswitch_first(ovs->idl);
        ovs->update.dpdk_started |= root && root->dpdk_initialized;
        ovs->cfg = 0;
        changed = true;
    }

    if (ovs->txn) {
        enum ovsdb_idl_txn_status status = ovsdb_idl_txn_commit(ovs->txn);
        if (status != TXN_INCOMPLETE) {
            if (status == TXN_SUCCESS) {
                int64_t cfg = ovsdb_idl_txn_get_increment_new_value(ovs->txn);
                if (cfg > 0) {
                    ovs->cfg = cfg;
                    ovs->cfg_ms = now_ms();
                }
            } else if (status != TXN_UNCHANGED) {
                log_warn("transaction ended %s: %s",
                         ovsdb_idl_txn_status_to_string(status),
                         ovsdb_idl_txn_get_error(ovs->txn));
                ovs->update.failed = true;
            }
            ovsdb_idl_txn_destroy(ovs->txn);
            ovs->txn = NULL;
            changed = true;
        }
    }

    unsigned int seqno = ovsdb_idl_get_seqno(ovs->idl);
    if (seqno != ovs->seqno) {
        ovs->seqno = seqno;
        collect_update(ovs);
        changed = true;
    }
    ovsdb_idl_track_clear(ovs->idl);

    /* The end of a wait for ovs-vswitchd is news too. */
    bool waiting = cfg_pending(ovs);
    if (waiting != ovs->waiting) {
        ovs->waiting = waiting;
        changed |= !waiting;
    }
    if (changed && ovs->cb) {
        ovs->cb(ovs->aux, &ovs->update);
    }
    clear_update(&ovs->update);
}

/* The columns netpool reads or writes; nothing else is replicated. */
static void
register_columns(struct ovsdb_idl *idl)
{
    static const struct ovsdb_idl_column *const columns[] = {
        &ovsrec_open_vswitch_col_bridges,
        &ovsrec_open_vswitch_col_other_config,
        &ovsrec_open_vswitch_col_next_cfg,
        &ovsrec_open_vswitch_col_cur_cfg,
        &ovsrec_open_vswitch_col_dpdk_initialized,
        &ovsrec_bridge_col_name,
        &ovsrec_bridge_col_ports,
        &ovsrec_bridge_col_datapath_type,
        &ovsrec_bridge_col_external_ids,
        &ovsrec_bridge_col_other_config,
        &ovsrec_bridge_col_sflow,
        &ovsrec_bridge_col_ipfix,
        &ovsrec_bridge_col_netflow,
        &ovsrec_port_col_name,
        &ovsrec_port_col_interfaces,
        &ovsrec_port_col_tag,
        &ovsrec_port_col_trunks,
        &ovsrec_port_col_bond_mode,
        &ovsrec_port_col_lacp,
        &ovsrec_port_col_bond_updelay,
        &ovsrec_port_col_bond_downdelay,
        &ovsrec_port_col_external_ids,
        &ovsrec_port_col_other_config,
        &ovsrec_port_col_fake_bridge,
        &ovsrec_port_col_status,
        &ovsrec_port_col_bond_active_slave,
        &ovsrec_interface_col_name,
        &ovsrec_interface_col_type,
        &ovsrec_interface_col_mtu_request,
        &ovsrec_interface_col_ingress_policing_rate,
        &ovsrec_interface_col_ingress_policing_burst,
        &ovsrec_interface_col_external_ids,
        &ovsrec_interface_col_options,
        &ovsrec_interface_col_other_config,
        &ovsrec_interface_col_bfd,
        &ovsrec_interface_col_ofport,
        &ovsrec_interface_col_ifindex,
        &ovsrec_interface_col_link_state,
        &ovsrec_interface_col_mtu,
        &ovsrec_interface_col_error,
        &ovsrec_interface_col_lacp_current,
        &ovsrec_interface_col_status,
        &ovsrec_interface_col_bfd_status,
    };

    for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
        ovsdb_idl_add_column(idl, columns[i]);
    }
    /* Flow export rows (ovs-flow.c) have no counters. */
    ovsdb_idl_add_table(idl, &ovsrec_table_sflow);
    ovsdb_idl_add_table(idl, &ovsrec_table_ipfix);
    ovsdb_idl_add_table(idl, &ovsrec_table_netflow);
}

/* Sums up the rows the last ovsdb_idl_run() changed into 'ovs->update'. */
static void
collect_update(struct dp_ovs *ovs)
{
    static const enum ovsrec_bridge_column_id bridge_config[] = {
        OVSREC_BRIDGE_COL_NAME,         OVSREC_BRIDGE_COL_DATAPATH_TYPE,
        OVSREC_BRIDGE_COL_EXTERNAL_IDS, OVSREC_BRIDGE_COL_OTHER_CONFIG,
        OVSREC_BRIDGE_COL_SFLOW,        OVSREC_BRIDGE_COL_IPFIX,
        OVSREC_BRIDGE_COL_NETFLOW,
    };
    static const enum ovsrec_port_column_id port_config[] = {
        OVSREC_PORT_COL_NAME,         OVSREC_PORT_COL_INTERFACES,
        OVSREC_PORT_COL_TAG,          OVSREC_PORT_COL_TRUNKS,
        OVSREC_PORT_COL_BOND_MODE,    OVSREC_PORT_COL_LACP,
        OVSREC_PORT_COL_BOND_UPDELAY, OVSREC_PORT_COL_BOND_DOWNDELAY,
        OVSREC_PORT_COL_EXTERNAL_IDS, OVSREC_PORT_COL_OTHER_CONFIG,
        OVSREC_PORT_COL_FAKE_BRIDGE,
    };
    static const enum ovsrec_interface_column_id iface_config[] = {
        OVSREC_INTERFACE_COL_NAME,
        OVSREC_INTERFACE_COL_TYPE,
        OVSREC_INTERFACE_COL_MTU_REQUEST,
        OVSREC_INTERFACE_COL_INGRESS_POLICING_RATE,
        OVSREC_INTERFACE_COL_INGRESS_POLICING_BURST,
        OVSREC_INTERFACE_COL_EXTERNAL_IDS,
        OVSREC_INTERFACE_COL_OPTIONS,
        OVSREC_INTERFACE_COL_OTHER_CONFIG,
        OVSREC_INTERFACE_COL_BFD,
    };
    static const enum ovsrec_interface_column_id iface_status[] = {
        OVSREC_INTERFACE_COL_LINK_STATE, OVSREC_INTERFACE_COL_MTU,
        OVSREC_INTERFACE_COL_ERROR,      OVSREC_INTERFACE_COL_LACP_CURRENT,
        OVSREC_INTERFACE_COL_STATUS,     OVSREC_INTERFACE_COL_BFD_STATUS,
    };
    struct dp_ovs_update *u = &ovs->update;
    const struct ovsrec_open_vswitch *root;
    const struct ovsrec_bridge *br;
    const struct ovsrec_port *port;
    const struct ovsrec_interface *iface;

    OVSREC_OPEN_VSWITCH_FOR_EACH_TRACKED(root, ovs->idl)
    {
        if (ovsrec_open_vswitch_is_updated(
                root, OVSREC_OPEN_VSWITCH_COL_OTHER_CONFIG)
            || ovsrec_open_vswitch_is_deleted(root)) {
            u->root = true;
        }
        if (root->dpdk_initialized
            && (ovsrec_open_vswitch_is_new(root)
                || ovsrec_open_vswitch_is_updated(
                    root, OVSREC_OPEN_VSWITCH_COL_DPDK_INITIALIZED))) {
            u->dpdk_started = true;
        }
    }
    OVSREC_BRIDGE_FOR_EACH_TRACKED(br, ovs->idl)
    {
        bool config = ovsrec_bridge_is_deleted(br) || ovsrec_bridge_is_new(br);
        for (size_t i = 0; !config && i < ARRAY_SIZE(bridge_config); i++) {
            config = ovsrec_bridge_is_updated(br, bridge_config[i]);
        }
        if (config && owned(&br->external_ids)) {
            note(&u->bridges, br->name);
        }
    }
    OVSREC_PORT_FOR_EACH_TRACKED(port, ovs->idl)
    {
        bool config = ovsrec_port_is_deleted(port) || ovsrec_port_is_new(port);
        for (size_t i = 0; !config && i < ARRAY_SIZE(port_config); i++) {
            config = ovsrec_port_is_updated(port, port_config[i]);
        }
        if (config && owned(&port->external_ids)) {
            note(&u->ports, port->name);
        }
        if (ovsrec_port_is_updated(port, OVSREC_PORT_COL_BOND_ACTIVE_SLAVE)
            || ovsrec_port_is_updated(port, OVSREC_PORT_COL_STATUS)) {
            u->status = true;
        }
    }
    OVSREC_INTERFACE_FOR_EACH_TRACKED(iface, ovs->idl)
    {
        bool deleted = ovsrec_interface_is_deleted(iface);
        bool config = deleted || ovsrec_interface_is_new(iface);
        bool mine = owned(&iface->external_ids)
                    || (!deleted && !strcmp(iface->type, "internal")
                        && owned_internal(ovs, iface));
        for (size_t i = 0; !config && i < ARRAY_SIZE(iface_config); i++) {
            config = ovsrec_interface_is_updated(iface, iface_config[i]);
        }
        if (config && mine) {
            note(&u->interfaces, iface->name);
        }
        if (!deleted
            && (ovsrec_interface_is_new(iface)
                || ovsrec_interface_is_updated(iface,
                                               OVSREC_INTERFACE_COL_OFPORT))) {
            if (!u->ofports) {
                u->ofports = json_object_new_object();
            }
            json_object_object_add(
                u->ofports, iface->name,
                json_object_new_int64(iface->n_ofport ? iface->ofport[0] : 0));
        }
        /* An internal interface's device (re)made: its ifindex changed,
         * or it came with one, when vswitchd's update reached the replica
         * in the same batch as the row netpool inserted. */
        if (!deleted && mine && !strcmp(iface->type, "internal")
            && (ovsrec_interface_is_updated(iface,
                                            OVSREC_INTERFACE_COL_IFINDEX)
                || (ovsrec_interface_is_new(iface) && iface->n_ifindex
                    && iface->ifindex[0] > 0))) {
            u->internal_reset = true;
        }
        for (size_t i = 0; i < ARRAY_SIZE(iface_status); i++) {
            if (ovsrec_interface_is_updated(iface, iface_status[i])) {
                u->status = true;
                if (mine && smap_get(&iface->external_ids, "netpool-pif")) {
                    u->pif_status = true;
                }
            }
        }
        if (deleted || config) {
            u->status = true;
        }
        /* BFD news: a changed state, or an interface with a session that
         * came or went (most, VIFs, have none and are no news). */
        const char *bfd = smap_get(&iface->bfd_status, "state");
        if (mine
            && (ovsrec_interface_is_updated(iface,
                                            OVSREC_INTERFACE_COL_BFD_STATUS)
                || (bfd && (deleted || ovsrec_interface_is_new(iface))))) {
            if (!u->bfd) {
                u->bfd = json_object_new_object();
            }
            json_object_object_add(
                u->bfd, iface->name,
                json_object_new_string(deleted || !bfd ? "" : bfd));
        }
    }
}

static void
clear_update(struct dp_ovs_update *u)
{
    json_object_put(u->ofports);
    json_object_put(u->ports);
    json_object_put(u->interfaces);
    json_object_put(u->bridges);
    json_object_put(u->bfd);
    memset(u, 0, sizeof *u);
}

/* Adds 'name' to the set '*set' (a JSON object of names), making it if
 * need be. */
static void
note(struct json_object **set, const char *name)
{
    if (!*set) {
        *set = json_object_new_object();
    }
    json_object_object_add(*set, name, NULL);
}

/* Returns true while ovs-vswitchd has not caught up with the last
 * transaction that changed something, for at most CFG_WAIT_MS. */
static bool
cfg_pending(const struct dp_ovs *ovs)
{
    const struct ovsrec_open_vswitch *root;

    if (!ovs->cfg || !dp_ovs_ready(ovs)) {
        return false;
    }
    root = ovsrec_open_vswitch_first(ovs->idl);
    return root->cur_cfg < ovs->cfg && now_ms() - ovs->cfg_ms < CFG_WAIT_MS;
}

/* Asks ovs-vswitchd to report back and sends the transaction being built.
 * Returns 0 (sent, or nothing to change) or EAGAIN. */
static int
commit(struct dp_ovs *ovs)
{
    const struct ovsrec_open_vswitch *root =
        ovsrec_open_vswitch_first(ovs->idl);

    /* Counted only if the transaction changes something else. */
    ovsdb_idl_txn_increment(ovs->txn, &root->header_,
                            &ovsrec_open_vswitch_col_next_cfg, false);

    enum ovsdb_idl_txn_status status = ovsdb_idl_txn_commit(ovs->txn);
    if (status == TXN_UNCHANGED) {
        ovsdb_idl_txn_destroy(ovs->txn);
        ovs->txn = NULL;
        return 0;
    }
    if (status != TXN_INCOMPLETE) {
        log_warn("transaction failed at once: %s",
                 ovsdb_idl_txn_status_to_string(status));
        ovsdb_idl_txn_destroy(ovs->txn);
        ovs->txn = NULL;
        return EAGAIN;
    }
    ovs->n_txns++;
    return 0;
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Finding rows. */

static const struct ovsrec_port *
find_port(const struct dp_ovs *ovs, const char *name)
{
    struct ovsrec_port *key = ovsrec_port_index_init_row(ovs->port_names);
    ovsrec_port_index_set_name(key, name);
    const struct ovsrec_port *port =
        ovsrec_port_index_find(ovs->port_names, key);
    ovsrec_port_index_destroy_row(key);
    return port;
}

static const struct ovsrec_bridge *
find_bridge(const struct dp_ovs *ovs, const char *name)
{
    const struct ovsrec_bridge *br;

    OVSREC_BRIDGE_FOR_EACH (br, ovs->idl) {
        if (!strcmp(br->name, name)) {
            return br;
        }
    }
    return NULL;
}

/* Returns the bridge that holds 'port', or NULL. */
static const struct ovsrec_bridge *
bridge_of(const struct dp_ovs *ovs, const struct ovsrec_port *port)
{
    const struct ovsrec_bridge *br;

    OVSREC_BRIDGE_FOR_EACH (br, ovs->idl) {
        if (holds(br, port)) {
            return br;
        }
    }
    return NULL;
}

static bool
holds(const struct ovsrec_bridge *br, const struct ovsrec_port *port)
{
    for (size_t i = 0; i < br->n_ports; i++) {
        if (br->ports[i] == port) {
            return true;
        }
    }
    return false;
}

/* Applying. */

/* Makes bridge 'name' exist with the columns of 'want' (its ports aside)
 * within the transaction in progress, and returns it. */
static const struct ovsrec_bridge *
apply_bridge_columns(struct dp_ovs *ovs,
                     const struct ovsrec_open_vswitch *root, const char *name,
                     struct json_object *want)
{
    const struct ovsrec_bridge *br = find_bridge(ovs, name);
    struct smap map;

    if (!br) {
        br = ovsrec_bridge_insert(ovs->txn);
        ovsrec_bridge_set_name(br, name);
        ovsrec_open_vswitch_update_bridges_addvalue(root, br);
    }

    const char *dp_type = json_str(want, "datapath_type");
    if (strcmp(br->datapath_type ? br->datapath_type : "", dp_type)) {
        ovsrec_bridge_set_datapath_type(br, dp_type);
    }
    struct json_object *ids = json_object_object_get(want, "external_ids");
    if (!smap_equals_jsonc(&br->external_ids, ids)) {
        smap_from_jsonc(&map, ids);
        ovsrec_bridge_set_external_ids(br, &map);
        smap_destroy(&map);
    }
    struct json_object *oc = json_object_object_get(want, "other_config");
    if (!smap_equals_jsonc(&br->other_config, oc)) {
        smap_from_jsonc(&map, oc);
        ovsrec_bridge_set_other_config(br, &map);
        smap_destroy(&map);
    }
    dp_ovs_apply_flow_exports(br, want);
    return br;
}

/* Makes the ports of 'want' exist on 'br' as wanted, within the
 * transaction in progress; 'ports_by_name' holds the existing ports that
 * may be reused, wherever they are. */
static void
apply_bridge_ports(struct dp_ovs *ovs, const struct ovsrec_bridge *br,
                   struct json_object *want, struct shash *ports_by_name)
{
    json_object_object_foreach (json_object_object_get(want, "ports"),
                                port_name, port_want) {
        const struct ovsrec_port *port =
            shash_find_data(ports_by_name, port_name);
        if (port && !holds(br, port)) {
            /* On another bridge: take it from there. */
            const struct ovsrec_bridge *other = bridge_of(ovs, port);
            if (other) {
                ovsrec_bridge_update_ports_delvalue(other, port);
            }
            ovsrec_port_delete(port);
            port = NULL;
        }
        apply_port(br, port_name, port_want, port);
    }
}

static void
apply_port(const struct ovsrec_bridge *br, const char *name,
           struct json_object *want, const struct ovsrec_port *port)
{
    struct json_object *ifaces = json_object_object_get(want, "interfaces");
    struct smap map;

    if (!port) {
        size_t n = json_object_object_length(ifaces);
        struct ovsrec_interface **rows = xmalloc(sizeof *rows * (n ? n : 1));
        size_t i = 0;
        port = ovsrec_port_insert(ovsdb_idl_txn_get(&br->header_));
        ovsrec_port_set_name(port, name);
        json_object_object_foreach (ifaces, iface_name, iface_want) {
            struct ovsrec_interface *iface =
                ovsrec_interface_insert(ovsdb_idl_txn_get(&br->header_));
            ovsrec_interface_set_name(iface, iface_name);
            apply_interface(iface, iface_want);
            rows[i++] = iface;
        }
        ovsrec_port_set_interfaces(port, rows, i);
        free(rows);
        ovsrec_bridge_update_ports_addvalue(br, port);
    } else {
        /* Interfaces: keep the ones wanted, add the missing, drop the
         * rest. */
        size_t n = json_object_object_length(ifaces);
        struct ovsrec_interface **rows = xmalloc(sizeof *rows * (n ? n : 1));
        size_t i = 0;
        bool same = port->n_interfaces == n;
        json_object_object_foreach (ifaces, iface_name, iface_want) {
            struct ovsrec_interface *iface = NULL;
            for (size_t j = 0; j < port->n_interfaces; j++) {
                if (!strcmp(port->interfaces[j]->name, iface_name)) {
                    iface = port->interfaces[j];
                }
            }
            if (!iface) {
                iface =
                    ovsrec_interface_insert(ovsdb_idl_txn_get(&br->header_));
                ovsrec_interface_set_name(iface, iface_name);
                same = false;
            }
            apply_interface(iface, iface_want);
            rows[i++] = iface;
        }
        if (!same) {
            ovsrec_port_set_interfaces(port, rows, i);
        }
        free(rows);
    }

    bool has_tag;
    int64_t tag = json_int(want, "tag", -1, &has_tag);
    if (has_tag != (port->n_tag > 0) || (has_tag && port->tag[0] != tag)) {
        ovsrec_port_set_tag(port, has_tag ? &tag : NULL, has_tag);
    }
    struct json_object *trunks = json_object_object_get(want, "trunks");
    size_t n_trunks = trunks ? json_object_array_length(trunks) : 0;
    bool trunks_same = n_trunks == port->n_trunks;
    int64_t *t = xmalloc(sizeof *t * (n_trunks ? n_trunks : 1));
    for (size_t i = 0; i < n_trunks; i++) {
        t[i] = json_object_get_int64(json_object_array_get_idx(trunks, i));
        trunks_same &= trunks_same && port->trunks[i] == t[i];
    }
    if (!trunks_same) {
        ovsrec_port_set_trunks(port, t, n_trunks);
    }
    free(t);

    const char *bond_mode = json_str(want, "bond_mode");
    if (strcmp(port->bond_mode ? port->bond_mode : "", bond_mode)) {
        ovsrec_port_set_bond_mode(port, *bond_mode ? bond_mode : NULL);
    }
    const char *lacp = json_str(want, "lacp");
    if (strcmp(port->lacp ? port->lacp : "", lacp)) {
        ovsrec_port_set_lacp(port, *lacp ? lacp : NULL);
    }
    int64_t updelay = json_int(want, "bond_updelay", 0, NULL);
    if (port->bond_updelay != updelay) {
        ovsrec_port_set_bond_updelay(port, updelay);
    }
    int64_t downdelay = json_int(want, "bond_downdelay", 0, NULL);
    if (port->bond_downdelay != downdelay) {
        ovsrec_port_set_bond_downdelay(port, downdelay);
    }
    struct json_object *ids = json_object_object_get(want, "external_ids");
    if (!smap_equals_jsonc(&port->external_ids, ids)) {
        smap_from_jsonc(&map, ids);
        ovsrec_port_set_external_ids(port, &map);
        smap_destroy(&map);
    }
    struct json_object *oc = json_object_object_get(want, "other_config");
    if (!smap_equals_jsonc(&port->other_config, oc)) {
        smap_from_jsonc(&map, oc);
        ovsrec_port_set_other_config(port, &map);
        smap_destroy(&map);
    }
    bool fake_bridge =
        json_object_get_boolean(json_object_object_get(want, "fake_bridge"));
    if (port->fake_bridge != fake_bridge) {
        ovsrec_port_set_fake_bridge(port, fake_bridge);
    }
}

static void
apply_interface(const struct ovsrec_interface *iface, struct json_object *want)
{
    struct smap map;

    const char *type = json_str(want, "type");
    if (strcmp(iface->type ? iface->type : "", type)) {
        ovsrec_interface_set_type(iface, type);
    }
    bool has_mtu;
    int64_t mtu = json_int(want, "mtu_request", 0, &has_mtu);
    if (has_mtu != (iface->n_mtu_request > 0)
        || (has_mtu && iface->mtu_request[0] != mtu)) {
        ovsrec_interface_set_mtu_request(iface, has_mtu ? &mtu : NULL,
                                         has_mtu);
    }
    /* A VIF's rate limit (absent: none). */
    int64_t rate = json_int(want, "ingress_policing_rate", 0, NULL);
    if (iface->ingress_policing_rate != rate) {
        ovsrec_interface_set_ingress_policing_rate(iface, rate);
    }
    int64_t burst = json_int(want, "ingress_policing_burst", 0, NULL);
    if (iface->ingress_policing_burst != burst) {
        ovsrec_interface_set_ingress_policing_burst(iface, burst);
    }
    static const struct {
        const char *key;
        size_t offset;
        void (*set)(const struct ovsrec_interface *, const struct smap *);
    } maps[] = {
        {"external_ids", offsetof(struct ovsrec_interface, external_ids),
         ovsrec_interface_set_external_ids},
        {"options", offsetof(struct ovsrec_interface, options),
         ovsrec_interface_set_options},
        {"other_config", offsetof(struct ovsrec_interface, other_config),
         ovsrec_interface_set_other_config},
        {"bfd", offsetof(struct ovsrec_interface, bfd),
         ovsrec_interface_set_bfd},
    };
    for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
        const struct smap *have =
            (const struct smap *) ((const char *) iface + maps[i].offset);
        struct json_object *w = json_object_object_get(want, maps[i].key);
        if (!smap_equals_jsonc(have, w)) {
            smap_from_jsonc(&map, w);
            maps[i].set(iface, &map);
            smap_destroy(&map);
        }
    }
}

/* Helpers. */

static bool
owned(const struct smap *external_ids)
{
    struct smap_node *node;

    SMAP_FOR_EACH (node, external_ids) {
        if (!strncmp(node->key, "netpool-", 8)) {
            return true;
        }
    }
    return false;
}

/* Returns true if internal interface 'iface' is netpool's: a bridge's (or
 * a VLAN's fake bridge's) own interface carries no external_ids of its
 * own, but its port, which has its name, does. */
static bool
owned_internal(const struct dp_ovs *ovs, const struct ovsrec_interface *iface)
{
    const struct ovsrec_port *port = find_port(ovs, iface->name);
    return port && owned(&port->external_ids);
}

static void
smap_from_jsonc(struct smap *map, struct json_object *obj)
{
    smap_init(map);
    json_object_object_foreach (obj, key, value) {
        smap_add(map, key, json_object_get_string(value));
    }
}

static bool
smap_equals_jsonc(const struct smap *map, struct json_object *obj)
{
    if (smap_count(map) != (size_t) json_object_object_length(obj)) {
        return false;
    }
    json_object_object_foreach (obj, key, value) {
        const char *have = smap_get(map, key);
        if (!have || strcmp(have, json_object_get_string(value))) {
            return false;
        }
    }
    return true;
}

static int64_t
json_int(struct json_object *obj, const char *key, int64_t dflt, bool *present)
{
    struct json_object *value;
    bool found = json_object_object_get_ex(obj, key, &value)
                 && json_object_is_type(value, json_type_int);

    if (present) {
        *present = found;
    }
    return found ? json_object_get_int64(value) : dflt;
}

static const char *
json_str(struct json_object *obj, const char *key)
{
    struct json_object *value;
    return json_object_object_get_ex(obj, key, &value)
               ? json_object_get_string(value)
               : "";
}

int
dp_ovs_vswitchd_pid(const char *rundir, int *pid)
{
    *pid = 0;
    if (!rundir) {
        return ENOENT;
    }
    char *pidfile = xasprintf("%s/ovs-vswitchd.pid", rundir);
    pid_t found = read_pidfile(pidfile);
    free(pidfile);
    if (found <= 0) {
        return found < 0 ? (int) -found : ESRCH;
    }
    *pid = (int) found;
    return 0;
}
