/*
 * The host's Open vSwitch through libopenvswitch's OVSDB IDL.
 *
 * The IDL keeps a replica of the Open_vSwitch database and reconnects by
 * itself.  OVS's poll loop cannot share a thread with libevent, so a short
 * libevent timer runs the IDL (ovsdb_idl_run() does non-blocking I/O only)
 * and commits transactions without blocking.  A change of the replica's
 * sequence number is reported to the caller, which decides what to do.
 *
 * dp_ovs_apply() converges OVS onto a desired fabric (see fabric.c):
 * bridges, ports and interfaces that netpool owns carry an external_ids key
 * beginning "netpool-"; the ones not desired are removed, the desired ones
 * created, and only columns whose value differs are written, so a port that
 * is already right is never touched.  Rows without such a key are left
 * alone.
 */
#include "datapath/ovs-idl.h"

#include "datapath/datapath.h"
#include "datapath/ovs-flow.h"

#include <errno.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/log.h"

#define LOG_MODULE "ovs"

#define RUN_INTERVAL_MS 20 /* How often the IDL runs: the latency floor. */

struct dp_ovs {
    struct ovsdb_idl *idl;     /* Replica of the host's OVSDB. */
    struct ovsdb_idl_txn *txn; /* Transaction in flight, or NULL. */
    struct event *timer;       /* Runs the IDL. */
    unsigned int seqno;        /* Replica version last reported. */
    dp_ovs_changed_cb *cb;     /* Reports replica changes and commits. */
    void *aux;                 /* Argument for 'cb'. */
    bool connected;            /* Connection state last logged. */
    enum ovsdb_idl_txn_status last_status; /* Of the last finished txn. */
};

static void run(evutil_socket_t, short, void *ovs_);
static bool owned(const struct smap *external_ids);
static void smap_from_jsonc(struct smap *, struct json_object *);
static bool smap_equals_jsonc(const struct smap *, struct json_object *);
static int64_t json_int(struct json_object *, const char *key, int64_t dflt,
                        bool *present);
static const char *json_str(struct json_object *, const char *key);
static void apply_bridge(struct dp_ovs *, const struct ovsrec_open_vswitch *,
                         const char *name, struct json_object *want,
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

    ovs->idl = ovsdb_idl_create(remote, &ovsrec_idl_class, true, true);
    ovsdb_idl_set_leader_only(ovs->idl, false);
    ovs->cb = cb;
    ovs->aux = aux;
    ovs->last_status = TXN_UNCOMMITTED;
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
    return ovs->txn != NULL;
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
        apply_bridge(ovs, root, name, want, &ports_by_name);
    }
    shash_destroy(&ports_by_name);
    /* DPDK settings of the host (dpdk-ovs.c). */
    struct json_object *open_vswitch =
        json_object_object_get(desired, "open_vswitch");
    dp_dpdk_apply(ovs->idl,
                  json_object_object_get(open_vswitch, "other_config"));

    /* Ask ovs-vswitchd to report back, so the commit's completion means
     * the switch has the configuration (or has failed it). */
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
    return 0;
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
        struct json_object *stats = json_object_new_object();
        for (size_t i = 0; i < iface->n_statistics; i++) {
            json_object_object_add(
                stats, iface->key_statistics[i],
                json_object_new_int64(iface->value_statistics[i]));
        }
        json_object_object_add(o, "statistics", stats);
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
        }
        changed = true;
    }

    if (ovs->txn) {
        enum ovsdb_idl_txn_status status = ovsdb_idl_txn_commit(ovs->txn);
        if (status != TXN_INCOMPLETE) {
            if (status != TXN_SUCCESS && status != TXN_UNCHANGED) {
                log_warn("transaction ended %s: %s",
                         ovsdb_idl_txn_status_to_string(status),
                         ovsdb_idl_txn_get_error(ovs->txn));
            }
            ovs->last_status = status;
            ovsdb_idl_txn_destroy(ovs->txn);
            ovs->txn = NULL;
            changed = true;
        }
    }

    unsigned int seqno = ovsdb_idl_get_seqno(ovs->idl);
    if (seqno != ovs->seqno) {
        ovs->seqno = seqno;
        changed = true;
    }
    if (changed && ovs->cb) {
        ovs->cb(ovs->aux);
    }
}

/* Applying. */

static void
apply_bridge(struct dp_ovs *ovs, const struct ovsrec_open_vswitch *root,
             const char *name, struct json_object *want,
             struct shash *ports_by_name)
{
    const struct ovsrec_bridge *br = NULL, *b;
    struct smap map;

    OVSREC_BRIDGE_FOR_EACH (b, ovs->idl) {
        if (!strcmp(b->name, name)) {
            br = b;
        }
    }
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

    json_object_object_foreach (json_object_object_get(want, "ports"),
                                port_name, port_want) {
        const struct ovsrec_port *port =
            shash_find_data(ports_by_name, port_name);
        bool here = false;
        for (size_t i = 0; port && i < br->n_ports; i++) {
            here |= br->ports[i] == port;
        }
        if (port && !here) {
            /* On another bridge: take it from there. */
            const struct ovsrec_bridge *other;
            OVSREC_BRIDGE_FOR_EACH (other, ovs->idl) {
                for (size_t i = 0; i < other->n_ports; i++) {
                    if (other->ports[i] == port) {
                        ovsrec_bridge_update_ports_delvalue(other, port);
                    }
                }
            }
            ovsrec_port_delete(port);
            port = NULL;
        }
        apply_port(br, port_name, port_want, port);
    }
    dp_ovs_apply_flow_exports(br, want);
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
