/*
 * The OVS reconciler: makes the host's Open vSwitch, its namespace guests'
 * veths, its OpenFlow rules and the kernel addresses netpool owns match
 * the store, with a cost per change that follows the change.
 *
 * It is a change-driven engine (engine.h) of four nodes:
 *
 *   records  (input)  the store rows of this host and unowned ones
 *                     (records.h), fed row by row by the store's change
 *                     feed with this host as the owner filter; tracks which
 *                     VIFs may want something else and whether anything
 *                     else the fabric reads changed
 *   ovs      (input)  what the OVSDB replica saw change (struct
 *                     dp_ovs_update): OpenFlow ports, netpool's rows
 *                     changed or removed by someone else, a reconnection
 *   fabric            the desired fabric without VIF ports: bridges, PIF,
 *                     bond and VLAN ports, flow export, DPDK settings, and
 *                     the kernel's addresses; no handler for a change of
 *                     what it is built from (networks, PIFs, bonds, VLANs,
 *                     the host), which recomputes everything; a handler
 *                     for rows someone else changed (they are written
 *                     again) and for internal interfaces made again
 *   vifs              per VIF: its port, its namespace guest's veth and its
 *                     rules; handlers for a VIF or its VM changing and for
 *                     an OpenFlow port appearing, which compute that VIF
 *                     alone with the same pure builders a full recompute
 *                     uses (fabric-vif.c, vif-flows.c)
 *
 * A full recompute reads the rows afresh and converges everything (one
 * OVSDB transaction over the whole fabric, every veth, every bridge's
 * rules read back and compared).  It runs at start, whenever the OVSDB
 * connection is new (ovsdb-server restarted, the database wiped), when an
 * OpenFlow connection comes back (ovs-vswitchd restarted), at every
 * periodic resync, and whenever a handler cannot cope (a VIF that brings
 * or empties a bridge of its own, a network's MTU, ...).  Otherwise a run
 * writes only what the changed VIFs need: their veths, one OVSDB
 * transaction with their ports (found through an index), their rules.
 *
 * Runs wait while an OVSDB transaction is in flight or ovs-vswitchd has
 * not caught up with it; the changes made meanwhile go out together in the
 * next one.  When changes had to wait so (a burst of them), the next run
 * waits a little longer, about as long as the last transaction took (20 to
 * 250 ms), for more to join it: every transaction makes ovs-vswitchd
 * reconfigure all its ports, so a burst of N changes costs it a few
 * reconfigurations instead of one per change or two.  A change that finds
 * the switch idle goes at once.  Once everything sent has been
 * acknowledged (the transaction committed and ovs-vswitchd reconfigured,
 * every rule batch's barrier answered, no VIF waiting for its OpenFlow
 * port) and nothing is left to do, the host's observed field applied_seq
 * takes the store's last sequence number: every change up to it is in the
 * switch (as OVN's nb_cfg/hv_cfg).
 */
#include "datapath/datapath.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "bonding/bonding.h"
#include "datapath/engine.h"
#include "datapath/records.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "reconcile"

#define PUBLISH_INTERVAL_MS \
    100               /* How often an idle reconciler checks
                                 * whether applied_seq can move. */
#define RETRY_MS 1000 /* Wait before a failed write is retried. */

/* Shortest and longest wait for more changes once the switch is free
 * during a burst. */
#define COALESCE_MIN_MS 20
#define COALESCE_MAX_MS 250

enum { NODE_RECORDS, NODE_OVS, NODE_FABRIC, NODE_VIFS, N_NODES };

struct dp_reconciler {
    struct store *store;     /* Desired state. */
    struct event_base *loop; /* The loop. */
    char *host;              /* This host's UUID. */
    char *datapath_type;     /* "netdev", "system", … for new bridges. */
    struct dp_ovs *ovs;      /* The host's OVS. */
    struct dp_ovs_counters *counters;        /* Its interface counters. */
    struct dp_bond_status *bonds;            /* Reads bond status back. */
    struct dp_vif_netns *guests;             /* Veths of namespace guests. */
    struct dp_vif_flows *flows;              /* VIF rules and meters. */
    char *ovs_rundir;                        /* OVS's pidfiles, or NULL. */
    struct store_subscription *desired_feed; /* Desired rows of this host
                                              * and unowned ones. */
    struct store_subscription *vm_feed;      /* VMs' observed state. */
    struct store_subscription *hosts_feed;   /* Hosts of the pool coming
                                              * and going. */
    struct event *run_event;     /* Coalesces requests into one run. */
    struct event *publish_timer; /* Moves applied_seq when idle. */
    struct event *retry_timer;   /* Retries a failed write. */

    /* The engine. */
    struct dp_engine_node nodes[N_NODES];
    struct dp_engine_node *order[N_NODES];
    struct dp_records records; /* NODE_RECORDS's data. */
    bool full;                 /* The next run recomputes everything. */
    bool started;              /* A full run has been written. */

    /* NODE_OVS's data: what the replica reported since the last run. */
    struct json_object *ovs_ofports;    /* Interface → OpenFlow port. */
    struct json_object *ovs_ports;      /* Port names to write again. */
    struct json_object *ovs_interfaces; /* Interface names likewise. */
    struct json_object *ovs_bridges;    /* Bridge names likewise. */
    struct json_object *ovs_bfd;        /* Members whose BFD session is to
                                         * poll: name → its new state. */
    bool ovs_reset;    /* Replica afresh, root changed, failure. */
    bool ovs_internal; /* Internal interfaces (re)made. */
    struct json_object *bfd_states; /* Interface → BFD state last seen. */

    /* NODE_FABRIC's data. */
    struct json_object *base;     /* Desired fabric without VIF ports. */
    struct json_object *vif_only; /* Bridges only VIFs bring: name → null. */
    struct json_object *kernel;   /* dp_bond_kernel_plan(). */
    struct json_object *addresses;      /* dp_ip_config_plan(). */
    char *bridge_type;                  /* datapath_type of new bridges. */
    struct json_object *verify_ports;   /* Tracked: ports to write again. */
    struct json_object *verify_bridges; /* Tracked: bridges likewise. */
    struct json_object *poll_ports;     /* Tracked: port → {"bridge",
                                         * "port"}, a bond port whose
                                         * members' BFD is to poll. */
    bool kernel_again;                  /* Tracked: kernel plans again. */

    /* NODE_VIFS's data. */
    struct json_object *vifs;        /* VIF UUID → {"bridge", "name",
                                      * "port", "guest"?, "flows"?,
                                      * "waiting"?}. */
    struct json_object *port_vif;    /* Port name → VIF UUID. */
    struct json_object *bridge_vifs; /* Bridge → VIF ports on it. */
    struct json_object *changed;     /* Tracked: VIF UUID → its entry
                                      * before (null for none). */
    size_t n_waiting;                /* VIFs waiting for an OpenFlow port
                                      * to get their rules. */

    /* Coalescing a burst. */
    bool burst;       /* Store changes waited for the switch. */
    bool coalescing;  /* 'run_event' is the wait for more of them. */
    uint64_t sent_ms; /* When the last run left the switch busy. */

    uint64_t applied;       /* applied_seq last written. */
    uint64_t n_full;        /* Runs that recomputed everything. */
    uint64_t n_incremental; /* Runs that did not. */
};

static void store_changed(void *r_, const struct store_change *, size_t n,
                          uint64_t seq);
static void hosts_changed(void *r_, const struct store_change *, size_t n,
                          uint64_t seq);
static void ovs_changed(void *r_, const struct dp_ovs_update *);
static void flows_reconnected(void *r_, const char *bridge);
static void run(evutil_socket_t, short, void *r_);
static void on_publish(evutil_socket_t, short, void *r_);
static void on_retry(evutil_socket_t, short, void *r_);
static void retry_later(struct dp_reconciler *);
static void publish(struct dp_reconciler *);
static bool settled(const struct dp_reconciler *);

static void records_recompute(struct dp_engine_node *);
static bool records_changed(struct dp_engine_node *);
static void records_clear(struct dp_engine_node *);
static void ovs_recompute(struct dp_engine_node *);
static bool ovs_input_changed(struct dp_engine_node *);
static void ovs_clear(struct dp_engine_node *);
static void fabric_recompute(struct dp_engine_node *);
static enum dp_engine_handled fabric_records(struct dp_engine_node *,
                                             struct dp_engine_node *);
static enum dp_engine_handled fabric_ovs(struct dp_engine_node *,
                                         struct dp_engine_node *);
static void fabric_clear(struct dp_engine_node *);
static void vifs_recompute(struct dp_engine_node *);
static enum dp_engine_handled vifs_records(struct dp_engine_node *,
                                           struct dp_engine_node *);
static enum dp_engine_handled vifs_fabric(struct dp_engine_node *,
                                          struct dp_engine_node *);
static enum dp_engine_handled vifs_ovs(struct dp_engine_node *,
                                       struct dp_engine_node *);
static void vifs_clear(struct dp_engine_node *);

static struct json_object *vif_compute(struct dp_reconciler *,
                                       const char *uuid, bool *new_bridge);
static bool vif_set(struct dp_reconciler *, const char *uuid,
                    struct json_object *entry);
static const char *port_bridge(struct dp_reconciler *, const char *port);
static const char *member_port(struct dp_reconciler *, const char *iface,
                               const char **bridgep);

static void write_full(struct dp_reconciler *);
static void write_incremental(struct dp_reconciler *);
static void add_partial_port(struct dp_reconciler *, struct json_object *,
                             const char *bridge, const char *name,
                             struct json_object *port);
static void make_vhost_dir(const char *host);
static void pin_ovs_threads(struct dp_reconciler *);
static void set_add(struct json_object *set, const char *name);
static void set_merge(struct json_object *set, struct json_object *from);
static bool same(struct json_object *a, struct json_object *b);

int
dp_reconciler_create(struct event_base *base, struct store *store,
                     const char *host, const char *remote,
                     const char *datapath_type,
                     struct dp_reconciler **reconcilerp)
{
    struct dp_reconciler *r = xzalloc(sizeof *r);

    r->store = store;
    r->loop = base;
    r->host = xstrdup(host);
    r->datapath_type = xstrdup(datapath_type);
    r->bridge_type = xstrdup(datapath_type);
    r->run_event = event_new(base, -1, 0, run, r);
    r->retry_timer = event_new(base, -1, 0, on_retry, r);
    r->publish_timer = event_new(base, -1, EV_PERSIST, on_publish, r);
    struct timeval tv = {0, PUBLISH_INTERVAL_MS * 1000};
    event_add(r->publish_timer, &tv);
    r->full = true;

    dp_records_init(&r->records, store, host);
    r->vifs = json_object_new_object();
    r->port_vif = json_object_new_object();
    r->bridge_vifs = json_object_new_object();
    r->vif_only = json_object_new_object();
    r->base = json_object_new_object();
    r->ovs_ofports = json_object_new_object();
    r->ovs_ports = json_object_new_object();
    r->ovs_interfaces = json_object_new_object();
    r->ovs_bridges = json_object_new_object();
    r->ovs_bfd = json_object_new_object();
    r->bfd_states = json_object_new_object();
    r->verify_ports = json_object_new_object();
    r->verify_bridges = json_object_new_object();
    r->poll_ports = json_object_new_object();
    r->changed = json_object_new_object();

    struct dp_engine_node *n = r->nodes;
    n[NODE_RECORDS] = (struct dp_engine_node){
        .name = "records",
        .data = r,
        .recompute = records_recompute,
        .changed = records_changed,
        .clear = records_clear,
    };
    n[NODE_OVS] = (struct dp_engine_node){
        .name = "ovs",
        .data = r,
        .recompute = ovs_recompute,
        .changed = ovs_input_changed,
        .clear = ovs_clear,
    };
    n[NODE_FABRIC] = (struct dp_engine_node){
        .name = "fabric",
        .data = r,
        .recompute = fabric_recompute,
        .clear = fabric_clear,
    };
    n[NODE_VIFS] = (struct dp_engine_node){
        .name = "vifs",
        .data = r,
        .recompute = vifs_recompute,
        .clear = vifs_clear,
    };
    dp_engine_add_input(&n[NODE_FABRIC], &n[NODE_RECORDS], fabric_records);
    dp_engine_add_input(&n[NODE_FABRIC], &n[NODE_OVS], fabric_ovs);
    dp_engine_add_input(&n[NODE_VIFS], &n[NODE_RECORDS], vifs_records);
    dp_engine_add_input(&n[NODE_VIFS], &n[NODE_FABRIC], vifs_fabric);
    dp_engine_add_input(&n[NODE_VIFS], &n[NODE_OVS], vifs_ovs);
    for (size_t i = 0; i < N_NODES; i++) {
        r->order[i] = &n[i];
    }

    r->ovs_rundir = dp_ovs_rundir(remote);
    dp_ovs_create(base, remote, ovs_changed, r, &r->ovs);
    dp_ovs_counters_create(base, remote, &r->counters);
    r->guests = dp_vif_netns_create();
    r->flows = dp_vif_flows_create(base, remote, flows_reconnected, r);
    dp_bond_status_create(base, store, r->ovs, host, remote, &r->bonds);

    /* Nothing is known to be in the switch until the first full run has
     * converged it: what an earlier netpoold reported no longer holds. */
    struct json_object *zero = json_object_new_object();
    json_object_object_add(zero, "applied_seq", json_object_new_int64(0));
    store_push_actor(store, "system:reconciler");
    store_update(store, "host", host, zero);
    store_pop_actor(store);
    json_object_put(zero);

    /* Desired rows of this host's and unowned objects; of VMs, their
     * observed state too (a VIF's port may depend on its VM running). */
    static const char *const vms[] = {"VM", NULL};
    r->desired_feed = store_subscribe(
        store, dp_records_classes, STORE_FEED_DESIRED, host, store_changed, r);
    r->vm_feed = store_subscribe(store, vms, STORE_FEED_OBSERVED, host,
                                 store_changed, r);
    static const char *const hosts[] = {"host", NULL};
    r->hosts_feed = store_subscribe(store, hosts, STORE_FEED_DESIRED, NULL,
                                    hosts_changed, r);
    *reconcilerp = r;
    return 0;
}

void
dp_reconciler_destroy(struct dp_reconciler *r)
{
    if (!r) {
        return;
    }
    store_unsubscribe(r->desired_feed);
    store_unsubscribe(r->vm_feed);
    store_unsubscribe(r->hosts_feed);
    dp_vif_netns_destroy(r->guests);
    dp_vif_flows_destroy(r->flows);
    dp_bond_status_destroy(r->bonds);
    dp_ovs_counters_destroy(r->counters);
    dp_ovs_destroy(r->ovs);
    free(r->ovs_rundir);
    event_free(r->run_event);
    event_free(r->publish_timer);
    event_free(r->retry_timer);
    dp_records_destroy(&r->records);
    json_object_put(r->ovs_ofports);
    json_object_put(r->ovs_ports);
    json_object_put(r->ovs_interfaces);
    json_object_put(r->ovs_bridges);
    json_object_put(r->ovs_bfd);
    json_object_put(r->bfd_states);
    json_object_put(r->verify_ports);
    json_object_put(r->verify_bridges);
    json_object_put(r->poll_ports);
    json_object_put(r->changed);
    json_object_put(r->base);
    json_object_put(r->vif_only);
    json_object_put(r->kernel);
    json_object_put(r->addresses);
    json_object_put(r->vifs);
    json_object_put(r->port_vif);
    json_object_put(r->bridge_vifs);
    free(r->bridge_type);
    free(r->datapath_type);
    free(r->host);
    free(r);
}

void
dp_reconciler_kick(struct dp_reconciler *r)
{
    if (!event_pending(r->run_event, EV_TIMEOUT, NULL)) {
        struct timeval now = {0, 0};
        event_add(r->run_event, &now);
    }
}

void
dp_reconciler_resync(struct dp_reconciler *r)
{
    r->full = true;
    dp_reconciler_kick(r);
}

void
dp_reconciler_set_incoming(struct dp_reconciler *r, const char *vm,
                           bool incoming)
{
    dp_records_set_incoming(&r->records, vm, incoming);
    dp_reconciler_kick(r);
}

bool
dp_reconciler_vm_ready(const struct dp_reconciler *r, const char *vm)
{
    if (!settled(r)) {
        return false;
    }
    struct json_object *vifs = json_object_object_get(r->records.vm_vifs, vm);
    struct json_object *rows = json_object_object_get(r->records.all, "VIF");
    if (!vifs) {
        return true; /* No VIF, no port. */
    }
    json_object_object_foreach (vifs, vif, value) {
        (void) value;
        struct json_object *record = json_object_object_get(rows, vif);
        if (!record_bool(record, "currently_attached")) {
            continue;
        }
        const char *name =
            record_string(json_object_object_get(r->vifs, vif), "name");
        if (!*name || dp_ovs_ofport(r->ovs, name) <= 0) {
            return false;
        }
    }
    return true;
}

bool
dp_reconciler_ready(const struct dp_reconciler *r)
{
    return dp_ovs_ready(r->ovs);
}

struct json_object *
dp_reconciler_observe(const struct dp_reconciler *r)
{
    struct json_object *observed = dp_ovs_observe(r->ovs);

    dp_ovs_counters_add_statistics(r->counters, observed);
    return observed;
}

const struct dp_ovs_counters *
dp_reconciler_counters(const struct dp_reconciler *r)
{
    return r->counters;
}

void
dp_reconciler_get_stats(const struct dp_reconciler *r,
                        struct dp_reconciler_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->full_runs = r->n_full;
    stats->incremental_runs = r->n_incremental;
    stats->ovsdb_transactions = dp_ovs_n_transactions(r->ovs);
    stats->applied_seq = r->applied;
    stats->vifs = json_object_object_length(r->vifs);
}

struct json_object *
dp_reconciler_records(struct store *store)
{
    static const char *const classes[] = {
        "network", "PIF", "bond", "VLAN", "VIF", "VM", "host",
    };
    struct json_object *records = json_object_new_object();

    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        json_object_object_add(records, classes[i],
                               store_get_all(store, classes[i]));
    }
    return records;
}

/* Callbacks. */

static void
store_changed(void *r_, const struct store_change *changes, size_t n,
              uint64_t seq)
{
    struct dp_reconciler *r = r_;

    dp_records_feed(&r->records, changes, n);
    if (dp_records_changed(&r->records)) {
        dp_reconciler_kick(r);
    }
}

static void
hosts_changed(void *r_, const struct store_change *changes, size_t n,
              uint64_t seq)
{
    struct dp_reconciler *r = r_;

    dp_records_feed_hosts(&r->records, changes, n);
    if (dp_records_changed(&r->records)) {
        dp_reconciler_kick(r);
    }
}

static void
ovs_changed(void *r_, const struct dp_ovs_update *u)
{
    struct dp_reconciler *r = r_;

    set_merge(r->ovs_ports, u->ports);
    set_merge(r->ovs_interfaces, u->interfaces);
    set_merge(r->ovs_bridges, u->bridges);
    if (u->ofports) {
        json_object_object_foreach (u->ofports, name, ofport) {
            json_object_object_add(r->ovs_ofports, name,
                                   json_object_get(ofport));
        }
    }
    r->ovs_reset |= u->reconnected || u->root || u->failed;
    r->ovs_internal |= u->internal_reset;
    if (u->bfd) {
        json_object_object_foreach (u->bfd, iface, state) {
            const char *now = json_object_get_string(state);
            if (bond_bfd_poll_due(record_string(r->bfd_states, iface), now)) {
                json_object_object_add(r->ovs_bfd, iface,
                                       json_object_new_string(now));
            }
            if (*now) {
                json_object_object_add(r->bfd_states, iface,
                                       json_object_new_string(now));
            } else {
                json_object_object_del(r->bfd_states, iface);
            }
        }
    }
    if (u->reconnected) {
        r->full = true;
    }

    /* DPDK started in a running ovs-vswitchd pins its main thread to
     * dpdk-lcore-mask; the threads it had before stay on every core, the
     * PMD's too, unless moved. */
    if (u->dpdk_started) {
        pin_ovs_threads(r);
    }

    /* OVS reports bond state (carrier, LACP, BFD, the active member)
     * through the same replica, and the MTU limits and errors of PIFs'
     * interfaces. */
    if (u->status || u->reconnected) {
        dp_bond_status_kick(r->bonds);
    }
    if (u->pif_status || u->reconnected) {
        struct json_object *observed = dp_ovs_observe(r->ovs);
        dp_dpdk_status_sync(r->store, r->host, observed);
        json_object_put(observed);
    }
    dp_reconciler_kick(r);
}

static void
flows_reconnected(void *r_, const char *bridge)
{
    struct dp_reconciler *r = r_;

    /* ovs-vswitchd restarted (or the bridge was made again): its internal
     * interfaces, and the addresses on them, are new. */
    log_info("%s: the switch came back; converging everything", bridge);
    dp_reconciler_resync(r);
}

static void
run(evutil_socket_t fd, short what, void *r_)
{
    struct dp_reconciler *r = r_;

    if (!dp_ovs_ready(r->ovs) || dp_ovs_busy(r->ovs)) {
        /* ovs_changed() runs us again when the switch is free; the
         * changes wait in the nodes' tracked data.  Store changes that
         * have to wait for the switch mean a burst of them. */
        r->burst |= dp_records_changed(&r->records);
        return;
    }
    if (r->burst && !r->coalescing && r->started) {
        /* A burst: changes came while ovs-vswitchd worked on the last
         * transaction, and more are likely on their way.  Each
         * transaction makes it reconfigure every port, so let them
         * gather for about as long as the last one took (the switch is
         * idle at most half of the burst), then send them together.  A
         * change that finds the switch idle never waits. */
        uint64_t now = clock_monotonic_ms();
        uint64_t wait = now - r->sent_ms;
        wait = wait < COALESCE_MIN_MS   ? COALESCE_MIN_MS
               : wait > COALESCE_MAX_MS ? COALESCE_MAX_MS
                                        : wait;
        struct timeval tv = {0, (long) wait * 1000};
        r->coalescing = true;
        event_del(r->run_event);
        event_add(r->run_event, &tv);
        return;
    }
    r->burst = r->coalescing = false;
    bool full = dp_engine_run(r->order, N_NODES, r->full || !r->started);
    r->full = false;
    if (full) {
        r->n_full++;
        write_full(r);
    } else {
        r->n_incremental++;
        write_incremental(r);
    }
    dp_engine_clear_tracked(r->order, N_NODES);
    if (dp_ovs_busy(r->ovs)) {
        r->sent_ms = clock_monotonic_ms();
    }
    publish(r);
}

static void
on_publish(evutil_socket_t fd, short what, void *r_)
{
    publish(r_);
}

static void
on_retry(evutil_socket_t fd, short what, void *r_)
{
    dp_reconciler_resync(r_);
}

/* Converges everything again in a while: a write failed. */
static void
retry_later(struct dp_reconciler *r)
{
    if (!event_pending(r->retry_timer, EV_TIMEOUT, NULL)) {
        struct timeval tv = {RETRY_MS / 1000, (RETRY_MS % 1000) * 1000};
        event_add(r->retry_timer, &tv);
    }
}

/* Writes the store's last sequence number to this host's applied_seq if
 * everything is in the switch. */
static void
publish(struct dp_reconciler *r)
{
    if (!settled(r)) {
        return;
    }
    uint64_t seq = store_last_seq(r->store);
    if (seq == r->applied) {
        return;
    }
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "applied_seq",
                           json_object_new_int64((int64_t) seq));
    store_push_actor(r->store, "system:reconciler");
    int error = store_update(r->store, "host", r->host, changes);
    store_pop_actor(r->store);
    json_object_put(changes);
    if (!error) {
        r->applied = seq;
    }
}

/* Returns true if nothing is left to do or to hear back about. */
static bool
settled(const struct dp_reconciler *r)
{
    return r->started && !r->full && dp_ovs_settled(r->ovs)
           && !event_pending(r->run_event, EV_TIMEOUT, NULL)
           && !event_pending(r->retry_timer, EV_TIMEOUT, NULL)
           && !dp_records_changed(&r->records)
           && !ovs_input_changed((struct dp_engine_node *) &r->nodes[NODE_OVS])
           && !r->n_waiting && dp_vif_flows_idle(r->flows);
}

/* The records node: the store's rows. */

static void
records_recompute(struct dp_engine_node *node)
{
    struct dp_reconciler *r = node->data;
    dp_records_reload(&r->records);
}

static bool
records_changed(struct dp_engine_node *node)
{
    struct dp_reconciler *r = node->data;
    return dp_records_changed(&r->records);
}

static void
records_clear(struct dp_engine_node *node)
{
    struct dp_reconciler *r = node->data;
    dp_records_clear_tracked(&r->records);
}

/* The ovs node: what the replica saw. */

static void
ovs_recompute(struct dp_engine_node *node)
{
    /* The replica is the source: nothing to load. */
}

static bool
ovs_input_changed(struct dp_engine_node *node)
{
    struct dp_reconciler *r = node->data;
    return r->ovs_reset || r->ovs_internal
           || json_object_object_length(r->ovs_ofports)
           || json_object_object_length(r->ovs_ports)
           || json_object_object_length(r->ovs_interfaces)
           || json_object_object_length(r->ovs_bridges)
           || json_object_object_length(r->ovs_bfd);
}

static void
ovs_clear(struct dp_engine_node *node)
{
    struct dp_reconciler *r = node->data;

    json_object_put(r->ovs_ofports);
    json_object_put(r->ovs_ports);
    json_object_put(r->ovs_interfaces);
    json_object_put(r->ovs_bridges);
    json_object_put(r->ovs_bfd);
    r->ovs_ofports = json_object_new_object();
    r->ovs_ports = json_object_new_object();
    r->ovs_interfaces = json_object_new_object();
    r->ovs_bridges = json_object_new_object();
    r->ovs_bfd = json_object_new_object();
    r->ovs_reset = r->ovs_internal = false;
}

/* The fabric node: bridges and everything but VIFs. */

static void
fabric_recompute(struct dp_engine_node *node)
{
    struct dp_reconciler *r = node->data;
    struct json_object *records = r->records.all;
    const char *datapath = dp_host_datapath(records, r->host);

    free(r->bridge_type);
    r->bridge_type = xstrdup(dp_datapath_type(datapath, r->datapath_type));
    struct json_object *fabric =
        dp_fabric_build(records, r->host, r->bridge_type);

    /* Only a dpdk host needs its hugepage folder, for dpdk-extra, and the
     * folder of its VIFs' vhost-user sockets. */
    char *huge_dir = strcmp(datapath, "dpdk") ? NULL : dp_hugepages_dir();
    if (huge_dir) {
        make_vhost_dir(r->host);
    }
    struct json_object *root = json_object_new_object();
    json_object_object_add(root, "other_config",
                           dp_dpdk_build(records, r->host, huge_dir));
    json_object_object_add(fabric, "open_vswitch", root);
    dp_dpdk_fabric_ports(fabric, records, r->host);
    free(huge_dir);

    /* VIF ports are the vifs node's; a bridge left with its own port only
     * is there for VIFs. */
    json_object_put(r->vif_only);
    r->vif_only = json_object_new_object();
    json_object_object_foreach (json_object_object_get(fabric, "bridges"),
                                bridge, br) {
        struct json_object *ports = json_object_object_get(br, "ports");
        struct json_object *vif_ports = json_object_new_array();
        json_object_object_foreach (ports, name, port) {
            if (*record_string(json_object_object_get(port, "external_ids"),
                               "netpool-vif")) {
                json_object_array_add(vif_ports, json_object_new_string(name));
            }
        }
        for (size_t i = 0; i < json_object_array_length(vif_ports); i++) {
            json_object_object_del(
                ports, json_object_get_string(
                           json_object_array_get_idx(vif_ports, i)));
        }
        if (json_object_array_length(vif_ports)
            && json_object_object_length(ports) == 1
            && json_object_object_get(ports, bridge)) {
            json_object_object_add(r->vif_only, bridge, NULL);
        }
        json_object_put(vif_ports);
    }
    json_object_put(r->base);
    r->base = fabric;

    json_object_put(r->kernel);
    json_object_put(r->addresses);
    r->kernel = dp_bond_kernel_plan(records, r->host);
    r->addresses = dp_ip_config_plan(records, r->host);
}

static enum dp_engine_handled
fabric_records(struct dp_engine_node *node, struct dp_engine_node *input)
{
    struct dp_reconciler *r = node->data;

    /* VIFs and VMs are the vifs node's; anything else is built from
     * scratch. */
    return r->records.infra ? DP_ENGINE_UNHANDLED
                            : DP_ENGINE_HANDLED_UNCHANGED;
}

static enum dp_engine_handled
fabric_ovs(struct dp_engine_node *node, struct dp_engine_node *input)
{
    struct dp_reconciler *r = node->data;
    struct json_object *bridges = json_object_object_get(r->base, "bridges");
    bool changed = false;

    if (r->ovs_reset || !bridges) {
        return DP_ENGINE_UNHANDLED;
    }
    /* Rows of netpool's that changed are written again: a no-op when the
     * change was netpool's own, a repair when it was someone else's. */
    json_object_object_foreach (r->ovs_bridges, bridge, v1) {
        (void) v1;
        if (json_object_object_get(bridges, bridge)) {
            set_add(r->verify_bridges, bridge);
            changed = true;
        }
    }
    json_object_object_foreach (r->ovs_ports, port, v2) {
        (void) v2;
        set_add(r->verify_ports, port);
        changed = true;
    }
    json_object_object_foreach (r->ovs_interfaces, iface, v3) {
        (void) v3;
        /* An interface is written with its port: a VIF's, a PIF's or a
         * fake bridge's carries its name, a bond member's does not. */
        const char *port = iface;
        if (!json_object_object_get(r->port_vif, iface)
            && !port_bridge(r, iface)) {
            port = member_port(r, iface, NULL);
        }
        if (port) {
            set_add(r->verify_ports, port);
            changed = true;
        }
    }
    /* A member whose BFD session left down or came up: its port goes out
     * with that member's min_tx changed, so that OVS polls the far end at
     * once (bonding.h).  OVS reports the change as one of netpool's rows,
     * and the run after it, once ovs-vswitchd has taken it, writes the
     * port as desired again. */
    json_object_object_foreach (r->ovs_bfd, iface2, now) {
        const char *bridge = NULL;
        const char *port = member_port(r, iface2, &bridge);
        if (!port) {
            continue;
        }
        /* A port polled already in this run: on top of that poll. */
        struct json_object *entry =
            json_object_object_get(r->poll_ports, port);
        struct json_object *want =
            entry ? json_object_object_get(entry, "port")
                  : json_object_object_get(
                      json_object_object_get(
                          json_object_object_get(bridges, bridge), "ports"),
                      port);
        struct json_object *polled =
            want ? bond_ovs_bfd_poll(want, iface2, json_object_get_string(now))
                 : NULL;
        if (polled) {
            entry = json_object_new_object();
            json_object_object_add(entry, "bridge",
                                   json_object_new_string(bridge));
            json_object_object_add(entry, "port", polled);
            json_object_object_add(r->poll_ports, port, entry);
            changed = true;
        }
    }
    if (r->ovs_internal) {
        r->kernel_again = true;
        changed = true;
    }
    return changed ? DP_ENGINE_HANDLED_UPDATED : DP_ENGINE_HANDLED_UNCHANGED;
}

static void
fabric_clear(struct dp_engine_node *node)
{
    struct dp_reconciler *r = node->data;

    json_object_put(r->verify_ports);
    json_object_put(r->verify_bridges);
    json_object_put(r->poll_ports);
    r->verify_ports = json_object_new_object();
    r->verify_bridges = json_object_new_object();
    r->poll_ports = json_object_new_object();
    r->kernel_again = false;
}

/* The vifs node. */

static void
vifs_recompute(struct dp_engine_node *node)
{
    struct dp_reconciler *r = node->data;
    struct json_object *all = json_object_object_get(r->records.all, "VIF");

    /* What was written before this run: the entries now, except those a
     * handler already changed in this run before one could not cope (the
     * tracked changes say what they were).  A VIF such a handler removed
     * is among them, so that its port, veth and rules go. */
    struct json_object *before = r->vifs;
    json_object_object_foreach (r->changed, was, old) {
        if (old) {
            json_object_object_add(before, was, json_object_get(old));
        } else {
            json_object_object_del(before, was);
        }
    }
    json_object_put(r->changed);
    r->changed = before;
    r->vifs = json_object_new_object();
    json_object_put(r->port_vif);
    json_object_put(r->bridge_vifs);
    r->port_vif = json_object_new_object();
    r->bridge_vifs = json_object_new_object();
    r->n_waiting = 0;
    json_object_object_foreach (all, uuid, vif) {
        bool new_bridge = false;
        (void) vif;
        struct json_object *entry = vif_compute(r, uuid, &new_bridge);
        if (entry) {
            vif_set(r, uuid, entry);
        }
    }
}

static enum dp_engine_handled
vifs_records(struct dp_engine_node *node, struct dp_engine_node *input)
{
    struct dp_reconciler *r = node->data;
    bool changed = false;

    json_object_object_foreach (r->records.vifs, uuid, v) {
        bool new_bridge = false;
        (void) v;
        struct json_object *entry = vif_compute(r, uuid, &new_bridge);
        if (new_bridge) {
            /* It brings a bridge: the bridges are the fabric node's to
             * compute. */
            json_object_put(entry);
            return DP_ENGINE_UNHANDLED;
        }
        if (!vif_set(r, uuid, entry)) {
            /* It takes the last VIF off a bridge only VIFs bring. */
            return DP_ENGINE_UNHANDLED;
        }
        changed = true;
    }
    return changed ? DP_ENGINE_HANDLED_UPDATED : DP_ENGINE_HANDLED_UNCHANGED;
}

static enum dp_engine_handled
vifs_fabric(struct dp_engine_node *node, struct dp_engine_node *input)
{
    /* Only rows to write again or kernel plans: nothing a VIF reads. */
    return DP_ENGINE_HANDLED_UNCHANGED;
}

static enum dp_engine_handled
vifs_ovs(struct dp_engine_node *node, struct dp_engine_node *input)
{
    struct dp_reconciler *r = node->data;
    bool changed = false;

    if (r->ovs_reset) {
        return DP_ENGINE_UNHANDLED;
    }
    /* A VIF's rules name its OpenFlow port. */
    json_object_object_foreach (r->ovs_ofports, name, ofport) {
        const char *uuid =
            json_object_get_string(json_object_object_get(r->port_vif, name));
        (void) ofport;
        if (!uuid
            || !json_object_object_get(json_object_object_get(r->vifs, uuid),
                                       "flows")) {
            continue;
        }
        bool new_bridge = false;
        char *vif = xstrdup(uuid); /* vif_set() frees 'uuid'. */
        struct json_object *now = vif_compute(r, vif, &new_bridge);
        bool ok = !new_bridge && vif_set(r, vif, now);
        if (new_bridge) {
            json_object_put(now);
        }
        free(vif);
        if (!ok) {
            return DP_ENGINE_UNHANDLED;
        }
        changed = true;
    }
    return changed ? DP_ENGINE_HANDLED_UPDATED : DP_ENGINE_HANDLED_UNCHANGED;
}

static void
vifs_clear(struct dp_engine_node *node)
{
    struct dp_reconciler *r = node->data;

    json_object_put(r->changed);
    r->changed = json_object_new_object();
}

/* Computing one VIF. */

/* Returns what VIF 'uuid' wants (a new entry for r->vifs), or NULL if it
 * has no port on this host.  Sets '*new_bridge' if its port would be on a
 * bridge the fabric node does not have. */
static struct json_object *
vif_compute(struct dp_reconciler *r, const char *uuid, bool *new_bridge)
{
    struct json_object *view = dp_records_vif_view(&r->records, uuid);
    struct json_object *base_bridges =
        json_object_object_get(r->base, "bridges");

    if (!view || !base_bridges) {
        json_object_put(view);
        return NULL;
    }

    /* The fabric's bridges, empty, for the port to join. */
    struct json_object *scratch = json_object_new_object();
    json_object_object_foreach (base_bridges, name, br) {
        struct json_object *empty = json_object_new_object();
        json_object_object_add(
            empty, "datapath_type",
            json_object_get(json_object_object_get(br, "datapath_type")));
        json_object_object_add(empty, "ports", json_object_new_object());
        json_object_object_add(scratch, name, empty);
    }
    dp_fabric_add_vifs(scratch, view, r->host, r->bridge_type);

    struct json_object *entry = NULL;
    json_object_object_foreach (scratch, bridge, scratch_br) {
        json_object_object_foreach (
            json_object_object_get(scratch_br, "ports"), port_name, port) {
            struct json_object *ids =
                json_object_object_get(port, "external_ids");
            if (strcmp(record_string(ids, "netpool-vif"), uuid)) {
                continue;
            }
            if (!json_object_object_get(base_bridges, bridge)) {
                *new_bridge = true;
            }
            entry = json_object_new_object();
            json_object_object_add(entry, "bridge",
                                   json_object_new_string(bridge));
            json_object_object_add(entry, "name",
                                   json_object_new_string(port_name));
            json_object_object_add(entry, "port", json_object_get(port));
        }
    }
    if (!entry) {
        json_object_put(scratch);
        json_object_put(view);
        return NULL;
    }

    struct json_object *guests = dp_vif_guests_build(view, r->host);
    struct json_object *guest = json_object_object_get(guests, uuid);
    if (guest) {
        json_object_object_add(entry, "guest", json_object_get(guest));
    }
    json_object_put(guests);

    /* Rules only for the VIFs that want some. */
    struct json_object *vif =
        json_object_object_get(json_object_object_get(view, "VIF"), uuid);
    const char *mode = record_string(vif, "locking_mode");
    if (!strcmp(mode, "locked") || !strcmp(mode, "disabled")
        || dp_vif_kbps(vif) > 0) {
        const char *vif_bridge = record_string(entry, "bridge");
        const char *vif_port = record_string(entry, "name");
        struct json_object *fabric = json_object_new_object();
        struct json_object *bridges = json_object_new_object();
        struct json_object *one = json_object_new_object();
        struct json_object *ports = json_object_new_object();
        struct json_object *ofports = json_object_new_object();
        int64_t ofport = dp_ovs_ofport(r->ovs, vif_port);

        json_object_object_add(one, "datapath_type",
                               json_object_get(json_object_object_get(
                                   json_object_object_get(scratch, vif_bridge),
                                   "datapath_type")));
        json_object_object_add(
            ports, vif_port,
            json_object_get(json_object_object_get(entry, "port")));
        json_object_object_add(one, "ports", ports);
        json_object_object_add(bridges, vif_bridge, one);
        json_object_object_add(fabric, "bridges", bridges);
        if (ofport) {
            json_object_object_add(ofports, vif_port,
                                   json_object_new_int64(ofport));
        }
        struct json_object *want = dp_vif_flows_build(view, fabric, ofports);
        struct json_object *state = json_object_object_get(want, vif_bridge);
        if (state) {
            json_object_object_add(entry, "flows", json_object_get(state));
        }
        if (!ofport) {
            /* OVS has not opened it yet: its rules come when it has. */
            json_object_object_add(entry, "waiting",
                                   json_object_new_boolean(1));
        }
        json_object_put(want);
        json_object_put(ofports);
        json_object_put(fabric);
    }
    json_object_put(scratch);
    json_object_put(view);
    return entry;
}

/* Makes 'entry' (taken; NULL for none) VIF 'uuid''s, keeping the indexes
 * and the tracked changes.  Returns false if that empties a bridge that
 * only VIFs bring. */
static bool
vif_set(struct dp_reconciler *r, const char *uuid, struct json_object *entry)
{
    struct json_object *old = json_object_object_get(r->vifs, uuid);
    bool ok = true;

    if (!json_object_object_get_ex(r->changed, uuid, NULL)) {
        json_object_object_add(r->changed, uuid,
                               old ? json_object_get(old) : NULL);
    }
    if (old) {
        const char *bridge = record_string(old, "bridge");
        struct json_object *count =
            json_object_object_get(r->bridge_vifs, bridge);
        int64_t n = json_object_get_int64(count) - 1;
        json_object_object_add(r->bridge_vifs, bridge,
                               json_object_new_int64(n));
        if (n <= 0 && json_object_object_get_ex(r->vif_only, bridge, NULL)
            && (!entry || strcmp(record_string(entry, "bridge"), bridge))) {
            ok = false;
        }
        json_object_object_del(r->port_vif, record_string(old, "name"));
        r->n_waiting -= record_bool(old, "waiting");
    }
    if (entry) {
        const char *bridge = record_string(entry, "bridge");
        json_object_object_add(
            r->bridge_vifs, bridge,
            json_object_new_int64(json_object_get_int64(json_object_object_get(
                                      r->bridge_vifs, bridge))
                                  + 1));
        json_object_object_add(r->port_vif, record_string(entry, "name"),
                               json_object_new_string(uuid));
        r->n_waiting += record_bool(entry, "waiting");
        json_object_object_add(r->vifs, uuid, entry);
    } else {
        json_object_object_del(r->vifs, uuid);
    }
    return ok;
}

/* Returns the bridge of the base fabric holding port 'port', or NULL. */
static const char *
port_bridge(struct dp_reconciler *r, const char *port)
{
    struct json_object *bridges = json_object_object_get(r->base, "bridges");

    if (!bridges) {
        return NULL;
    }
    json_object_object_foreach (bridges, bridge, br) {
        if (json_object_object_get(json_object_object_get(br, "ports"),
                                   port)) {
            return bridge;
        }
    }
    return NULL;
}

/* Writing. */

/* Converges everything onto the nodes' data. */
static void
write_full(struct dp_reconciler *r)
{
    struct json_object *fabric = NULL;
    json_object_deep_copy(r->base, &fabric, NULL);
    struct json_object *bridges = json_object_object_get(fabric, "bridges");
    struct json_object *guests = json_object_new_object();

    json_object_object_foreach (r->vifs, uuid, entry) {
        struct json_object *br =
            json_object_object_get(bridges, record_string(entry, "bridge"));
        json_object_object_add(
            json_object_object_get(br, "ports"), record_string(entry, "name"),
            json_object_get(json_object_object_get(entry, "port")));
        struct json_object *guest = json_object_object_get(entry, "guest");
        if (guest) {
            json_object_object_add(guests, uuid, json_object_get(guest));
        }
    }

    /* A namespace guest's veth must exist before OVS opens its port. */
    dp_vif_netns_sync(r->guests, guests);
    json_object_put(guests);

    /* A management address leaving a bond must reach its NIC before OVS
     * takes the bond's bridge away, so the kernel goes first. */
    dp_bond_kernel_apply(r->kernel);
    dp_dpdk_link_mtus(fabric);
    int error = dp_ovs_apply(r->ovs, fabric);
    if (error) {
        log_warn("cannot apply the fabric: %s", strerror(error));
        retry_later(r);
    }

    /* Addresses go on internal interfaces that OVS makes: when OVS
     * reports them (an ifindex), they are put on again. */
    dp_ip_config_apply(r->addresses);

    /* Rules: every VIF's (and none of a VIF that has no port now,
     * whatever the tracked changes say), then every bridge read back and
     * compared. */
    dp_vif_flows_set_bridges(r->flows, bridges);
    dp_vif_flows_retain(r->flows, r->vifs);
    json_object_object_foreach (r->vifs, uuid2, entry2) {
        dp_vif_flows_set(r->flows, uuid2, record_string(entry2, "bridge"),
                         json_object_object_get(entry2, "flows"));
    }
    dp_vif_flows_resync(r->flows);
    dp_vif_flows_flush(r->flows);
    json_object_put(fabric);
    r->started = true;
    log_debug("full run: %d VIF ports", json_object_object_length(r->vifs));
}

/* Writes what the tracked changes of the nodes need. */
static void
write_incremental(struct dp_reconciler *r)
{
    struct json_object *partial = json_object_new_object();
    struct json_object *gone = json_object_new_array();
    struct json_object *names = json_object_new_object();

    json_object_object_add(partial, "bridges", json_object_new_object());

    /* VIFs that changed: their veths first (before OVS opens a port on
     * one), then their ports, then their rules. */
    json_object_object_foreach (r->changed, uuid, old) {
        struct json_object *new = json_object_object_get(r->vifs, uuid);
        struct json_object *old_guest = json_object_object_get(old, "guest");
        struct json_object *new_guest = json_object_object_get(new, "guest");
        const char *old_name = record_string(old, "name");
        const char *new_name = record_string(new, "name");
        const char *old_bridge = record_string(old, "bridge");
        const char *new_bridge = record_string(new, "bridge");

        if (!same(old_guest, new_guest)) {
            dp_vif_netns_update(r->guests, uuid, new_guest);
        }
        if (*old_name && strcmp(old_name, new_name)) {
            json_object_object_add(names, old_name, NULL);
        }
        if (new
            && (strcmp(old_name, new_name) || strcmp(old_bridge, new_bridge)
                || !same(json_object_object_get(old, "port"),
                         json_object_object_get(new, "port")))) {
            json_object_object_add(names, new_name, NULL);
        }
        if (strcmp(old_bridge, new_bridge)
            || !same(json_object_object_get(old, "flows"),
                     json_object_object_get(new, "flows"))) {
            dp_vif_flows_set(r->flows, uuid, new ? new_bridge : NULL,
                             json_object_object_get(new, "flows"));
        }
    }

    /* Rows someone changed, written again. */
    json_object_object_foreach (r->verify_ports, port, v) {
        (void) v;
        json_object_object_add(names, port, NULL);
    }
    json_object_object_foreach (r->verify_bridges, bridge, v2) {
        (void) v2;
        add_partial_port(r, partial, bridge, NULL, NULL);
    }

    json_object_object_foreach (names, name, v3) {
        (void) v3;
        const char *uuid =
            json_object_get_string(json_object_object_get(r->port_vif, name));
        struct json_object *entry =
            uuid ? json_object_object_get(r->vifs, uuid) : NULL;
        const char *bridge = port_bridge(r, name);
        if (entry) {
            add_partial_port(r, partial, record_string(entry, "bridge"), name,
                             json_object_object_get(entry, "port"));
        } else if (bridge) {
            add_partial_port(
                r, partial, bridge, name,
                json_object_object_get(
                    json_object_object_get(
                        json_object_object_get(
                            json_object_object_get(r->base, "bridges"),
                            bridge),
                        "ports"),
                    name));
        } else {
            json_object_array_add(gone, json_object_new_string(name));
        }
    }

    json_object_object_foreach (r->poll_ports, polled, entry) {
        log_info("%s: a member's BFD session changed; OVS polls the far end",
                 polled);
        add_partial_port(r, partial, record_string(entry, "bridge"), polled,
                         json_object_object_get(entry, "port"));
    }

    if (json_object_object_length(json_object_object_get(partial, "bridges"))
        || json_object_array_length(gone)) {
        int error = dp_ovs_apply_partial(r->ovs, partial, gone);
        if (error) {
            /* A bridge went, or the switch is not there: start again from
             * scratch. */
            log_info("cannot converge %d port(s) (%s); converging everything",
                     json_object_object_length(names), strerror(error));
            r->full = true;
            dp_reconciler_kick(r);
        }
    }
    if (r->kernel_again) {
        dp_bond_kernel_apply(r->kernel);
        dp_ip_config_apply(r->addresses);
    }
    dp_vif_flows_flush(r->flows);
    json_object_put(names);
    json_object_put(gone);
    json_object_put(partial);
}

/* Returns the name of the base fabric's port that has 'iface' as an
 * interface (a bond member's port), or NULL, and sets '*bridgep' (if not
 * NULL) to its bridge. */
static const char *
member_port(struct dp_reconciler *r, const char *iface, const char **bridgep)
{
    json_object_object_foreach (json_object_object_get(r->base, "bridges"),
                                bridge, br) {
        json_object_object_foreach (json_object_object_get(br, "ports"), port,
                                    want) {
            if (json_object_object_get(
                    json_object_object_get(want, "interfaces"), iface)) {
                if (bridgep) {
                    *bridgep = bridge;
                }
                return port;
            }
        }
    }
    return NULL;
}

/* Adds to 'partial' bridge 'bridge' with its columns from the base fabric,
 * and port 'name' ('port' its desired form) if 'name' is not NULL. */
static void
add_partial_port(struct dp_reconciler *r, struct json_object *partial,
                 const char *bridge, const char *name,
                 struct json_object *port)
{
    struct json_object *bridges = json_object_object_get(partial, "bridges");
    struct json_object *br = json_object_object_get(bridges, bridge);

    if (!br) {
        struct json_object *base = json_object_object_get(
            json_object_object_get(r->base, "bridges"), bridge);
        if (!base) {
            return;
        }
        br = json_object_new_object();
        json_object_object_foreach (base, key, value) {
            if (strcmp(key, "ports")) {
                json_object_object_add(br, key, json_object_get(value));
            }
        }
        json_object_object_add(br, "ports", json_object_new_object());
        json_object_object_add(bridges, bridge, br);
    }
    if (name && port) {
        json_object_object_add(json_object_object_get(br, "ports"), name,
                               json_object_get(port));
    }
}

/* Moves ovs-vswitchd's threads from before DPDK started to its lcore
 * core (dp_dpdk_threads_pin()). */
static void
pin_ovs_threads(struct dp_reconciler *r)
{
    int pid, moved;
    int error = dp_dpdk_threads_pin(r->ovs_rundir, &pid, &moved);

    if (error && !pid) {
        log_warn("DPDK started in ovs-vswitchd, whose pidfile netpoold "
                 "cannot read (%s/ovs-vswitchd.pid: %s): its older threads "
                 "stay on every core",
                 r->ovs_rundir ? r->ovs_rundir : "no OVS run folder",
                 strerror(error));
    } else if (error) {
        log_warn("DPDK started in ovs-vswitchd (pid %d); its threads could "
                 "not all be moved to the lcore core: %s",
                 pid, strerror(error));
    } else {
        log_info("DPDK started in ovs-vswitchd (pid %d): %d of its threads "
                 "moved to the lcore core",
                 pid, moved);
    }
}

/* Makes the folder of host 'host''s vhost-user sockets (DP_VHOST_ROOT/HOST),
 * where QEMU and netpool-perf serve them. */
static void
make_vhost_dir(const char *host)
{
    char *dir = xasprintf("%s/%s", DP_VHOST_ROOT, host);

    mkdir("/run/netpool", 0755);
    mkdir(DP_VHOST_ROOT, 0755);
    if (mkdir(dir, 0755) && errno != EEXIST) {
        log_warn("%s: %s", dir, strerror(errno));
    }
    free(dir);
}

/* Small helpers. */

static void
set_add(struct json_object *set, const char *name)
{
    json_object_object_add(set, name, NULL);
}

/* Adds the keys of 'from' (may be NULL) to 'set'. */
static void
set_merge(struct json_object *set, struct json_object *from)
{
    if (from) {
        json_object_object_foreach (from, name, value) {
            (void) value;
            set_add(set, name);
        }
    }
}

/* Returns true if 'a' and 'b' are equal JSON (both NULL included). */
static bool
same(struct json_object *a, struct json_object *b)
{
    return (!a && !b) || (a && b && json_object_equal(a, b));
}
