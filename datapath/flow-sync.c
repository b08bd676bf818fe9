/*
 * Pushing VIF rules and meters (vif-flows.c builds them) to the switch
 * over OpenFlow, with libopenvswitch's rconn: one connection per bridge to
 * its management socket (unix:OVS_RUNDIR/BRIDGE.mgmt), never blocking, run
 * by a short libevent timer as the OVSDB replica is.
 *
 * On every new connection (netpoold started, ovs-vswitchd restarted, the
 * bridge made again) the bridge's rules carrying DP_VIF_COOKIE and its
 * meters from DP_VIF_METER_BASE up are dumped and compared with what every
 * VIF wants, and only the difference is sent; others' rules are never
 * touched.  After that, a change to one VIF sends only that VIF's rule and
 * meter changes, computed from what netpool last sent, without reading
 * the switch again.  Each batch ends with a barrier, so "idle" means the
 * switch has acknowledged everything.  A VIF whose OpenFlow port is not
 * known yet keeps whatever rules it had (they cannot be rewritten, and
 * must not look stale) until it is known; so does every rule that looks
 * stale during a comparison made then, and the switch is read and
 * compared again once every port number is known.  A port OVS could not
 * open has no number to wait for: it wants no rules.  A full recompute
 * names every VIF that has a port (dp_vif_flows_retain()): the rules of
 * any other go, whatever was or was not said about it before.
 */
#include "datapath/ovs-idl.h"

#include "datapath/datapath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/log.h"

#define LOG_MODULE "flow-sync"

#define RUN_INTERVAL_MS 20   /* How often the connections run. */
#define MAX_BACKOFF_S 1      /* Longest wait between connection attempts. */
#define MAX_MSGS_PER_RUN 200 /* Messages read per bridge and run. */

/* What a bridge's connection is doing. */
enum bridge_state {
    BRIDGE_DOWN,    /* Not connected. */
    BRIDGE_DUMPING, /* Reading netpool's rules and meters back. */
    BRIDGE_READY,   /* In step: changes go out as they come. */
};

/* One bridge. */
struct flow_bridge {
    char *name;                      /* Bridge name. */
    char *target;                    /* Its management socket, "unix:PATH". */
    struct rconn *rconn;             /* Connection to its management socket. */
    unsigned int seqno;              /* Connection last synced. */
    bool connected_once;             /* A connection was made before. */
    enum bridge_state state;         /* See above. */
    ovs_be32 flows_xid;              /* Of the rule dump in progress. */
    ovs_be32 meters_xid;             /* Of the meter dump in progress. */
    bool flows_done;                 /* The rule dump is complete. */
    bool meters_done;                /* The meter dump is complete. */
    struct json_object *have;        /* Rule key → actions dumped. */
    struct json_object *have_meters; /* Meter ID → text dumped. */
    ovs_be32 barrier_xid;            /* Of the last barrier sent. */
    bool barrier_pending;            /* Its reply has not come yet. */

    struct json_object *vifs;      /* VIF UUID → its entry: {"flows": {key:
                                * {"a": actions, "t": text}}, "meters": {ID:
                                * text}, "incomplete": bool}. */
    struct json_object *dirty;     /* VIF UUID → its entry before the changes
                                * not sent yet (null for none). */
    struct json_object *installed; /* Rule key → actions the switch has
                                    * of netpool's, as far as it knows. */
    struct json_object *installed_meters; /* Meter ID → text, likewise. */
    bool resync;                          /* Dump and compare again. */
    bool sync_incomplete;                 /* The last dump's comparison kept
                                      * rules that looked stale, a VIF's
                                      * port number being unknown. */
    struct json_object *empty;            /* Always empty: stands for a missing
                                * object. */
};

struct dp_vif_flows {
    char *rundir;                    /* Where the .mgmt sockets are. */
    struct event *timer;             /* Runs the connections. */
    struct shash bridges;            /* Name → struct flow_bridge. */
    struct json_object *vif_bridge;  /* VIF UUID → its bridge's name. */
    dp_vif_flows_reconnected_cb *cb; /* Hears of reconnections. */
    void *aux;                       /* Argument for 'cb'. */
};

static void run(evutil_socket_t, short, void *flows_);
static struct flow_bridge *bridge_get(struct dp_vif_flows *, const char *name);
static void bridge_destroy(struct flow_bridge *);
static bool bridge_used(const struct flow_bridge *);
static void bridge_run(struct dp_vif_flows *, struct flow_bridge *);
static void bridge_start_dump(struct flow_bridge *);
static bool vifs_incomplete(const struct flow_bridge *);
static void bridge_receive(struct flow_bridge *, struct ofpbuf *);
static void bridge_read_flows(struct flow_bridge *, struct ofpbuf *);
static void bridge_read_meters(struct flow_bridge *, struct ofpbuf *);
static void bridge_sync_all(struct flow_bridge *);
static void bridge_flush(struct flow_bridge *);
static void bridge_send(struct flow_bridge *, struct ovs_list *);
static struct json_object *parse_entry(const struct flow_bridge *,
                                       struct json_object *state);
static char *flow_key(const struct match *, int priority,
                      const struct ofpact *, size_t ofpacts_len,
                      char **actionsp);
static void queue_flow(struct ovs_list *, const char *text, bool add,
                       enum ofputil_protocol);
static void queue_dumped_delete(struct ovs_list *, const char *key,
                                enum ofputil_protocol);
static void queue_meter(struct ovs_list *, const char *text, int command);
static char *meter_text(const char *id, struct json_object *band);
static char *rundir_of(const char *remote);
static struct json_object *members(const struct flow_bridge *,
                                   struct json_object *object,
                                   const char *key);

struct dp_vif_flows *
dp_vif_flows_create(struct event_base *base, const char *remote,
                    dp_vif_flows_reconnected_cb *cb, void *aux)
{
    struct dp_vif_flows *flows = xzalloc(sizeof *flows);

    flows->rundir = rundir_of(remote);
    shash_init(&flows->bridges);
    flows->vif_bridge = json_object_new_object();
    flows->cb = cb;
    flows->aux = aux;
    flows->timer = event_new(base, -1, EV_PERSIST, run, flows);
    struct timeval tv = {0, RUN_INTERVAL_MS * 1000};
    event_add(flows->timer, &tv);
    return flows;
}

void
dp_vif_flows_destroy(struct dp_vif_flows *flows)
{
    struct shash_node *node;

    if (!flows) {
        return;
    }
    SHASH_FOR_EACH (node, &flows->bridges) {
        bridge_destroy(node->data);
    }
    shash_destroy(&flows->bridges);
    json_object_put(flows->vif_bridge);
    event_free(flows->timer);
    free(flows->rundir);
    free(flows);
}

void
dp_vif_flows_set_bridges(struct dp_vif_flows *flows,
                         struct json_object *bridges)
{
    struct shash_node *node, *next;

    if (bridges) {
        json_object_object_foreach (bridges, name, value) {
            (void) value;
            bridge_get(flows, name);
        }
    }
    SHASH_FOR_EACH_SAFE(node, next, &flows->bridges)
    {
        struct flow_bridge *b = node->data;
        if (!json_object_object_get_ex(bridges, b->name, NULL)) {
            /* The bridge goes, and its rules with it. */
            json_object_object_foreach (b->vifs, vif, entry) {
                (void) entry;
                json_object_object_del(flows->vif_bridge, vif);
            }
            shash_delete(&flows->bridges, node);
            bridge_destroy(b);
        }
    }
}

void
dp_vif_flows_set(struct dp_vif_flows *flows, const char *vif,
                 const char *bridge, struct json_object *state)
{
    const char *was =
        json_object_get_string(json_object_object_get(flows->vif_bridge, vif));

    if (was && (!bridge || !state || strcmp(was, bridge))) {
        /* Leaving its bridge: its rules there go. */
        struct flow_bridge *old = shash_find_data(&flows->bridges, was);
        struct json_object *entry =
            old ? json_object_object_get(old->vifs, vif) : NULL;
        if (entry) {
            if (!json_object_object_get_ex(old->dirty, vif, NULL)) {
                json_object_object_add(old->dirty, vif,
                                       json_object_get(entry));
            }
            json_object_object_del(old->vifs, vif);
        }
        json_object_object_del(flows->vif_bridge, vif);
    }
    if (!bridge || !state) {
        return;
    }

    struct flow_bridge *b = bridge_get(flows, bridge);
    struct json_object *entry = json_object_object_get(b->vifs, vif);
    struct json_object *want = parse_entry(b, state);
    bool incomplete =
        json_object_get_boolean(json_object_object_get(want, "incomplete"));

    json_object_object_add(flows->vif_bridge, vif,
                           json_object_new_string(bridge));
    if (incomplete && entry) {
        /* Its port number is unknown: what it had stays as it is. */
        json_object_put(want);
        return;
    }
    if (entry && json_object_equal(entry, want)) {
        json_object_put(want);
        return;
    }
    if (!json_object_object_get_ex(b->dirty, vif, NULL)) {
        json_object_object_add(b->dirty, vif,
                               entry ? json_object_get(entry) : NULL);
    }
    json_object_object_add(b->vifs, vif, want);
}

void
dp_vif_flows_retain(struct dp_vif_flows *flows, struct json_object *vifs)
{
    struct json_object *gone = json_object_new_array();

    json_object_object_foreach (flows->vif_bridge, vif, bridge) {
        (void) bridge;
        if (!json_object_object_get_ex(vifs, vif, NULL)) {
            json_object_array_add(gone, json_object_new_string(vif));
        }
    }
    for (size_t i = 0; i < json_object_array_length(gone); i++) {
        dp_vif_flows_set(
            flows, json_object_get_string(json_object_array_get_idx(gone, i)),
            NULL, NULL);
    }
    json_object_put(gone);
}

void
dp_vif_flows_resync(struct dp_vif_flows *flows)
{
    struct shash_node *node;

    SHASH_FOR_EACH (node, &flows->bridges) {
        struct flow_bridge *b = node->data;
        b->resync = true;
        if (!rconn_is_connected(b->rconn)) {
            /* Try now rather than after the backoff. */
            rconn_connect(b->rconn, b->target, b->name);
        }
    }
}

void
dp_vif_flows_flush(struct dp_vif_flows *flows)
{
    struct shash_node *node;

    SHASH_FOR_EACH (node, &flows->bridges) {
        bridge_flush(node->data);
    }
}

bool
dp_vif_flows_idle(const struct dp_vif_flows *flows)
{
    struct shash_node *node;

    SHASH_FOR_EACH (node, &flows->bridges) {
        const struct flow_bridge *b = node->data;
        if (!bridge_used(b)) {
            continue;
        }
        if (b->state != BRIDGE_READY || b->barrier_pending || b->resync
            || json_object_object_length(b->dirty)) {
            return false;
        }
        if (b->sync_incomplete && !vifs_incomplete(b)) {
            /* The rules the last comparison kept are to be judged at the
             * next run: not in step until then. */
            return false;
        }
    }
    return true;
}

/* The timer. */

static void
run(evutil_socket_t fd, short what, void *flows_)
{
    struct dp_vif_flows *flows = flows_;
    struct shash_node *node;

    SHASH_FOR_EACH (node, &flows->bridges) {
        bridge_run(flows, node->data);
    }
}

/* Bridges. */

static struct flow_bridge *
bridge_get(struct dp_vif_flows *flows, const char *name)
{
    struct flow_bridge *b = shash_find_data(&flows->bridges, name);

    if (!b) {
        b = xzalloc(sizeof *b);
        b->name = xstrdup(name);
        b->rconn =
            rconn_create(0, MAX_BACKOFF_S, DSCP_DEFAULT, 1u << OFP13_VERSION);
        b->target = xasprintf("unix:%s/%s.mgmt", flows->rundir, name);
        rconn_connect(b->rconn, b->target, name);
        b->have = json_object_new_object();
        b->have_meters = json_object_new_object();
        b->vifs = json_object_new_object();
        b->dirty = json_object_new_object();
        b->installed = json_object_new_object();
        b->installed_meters = json_object_new_object();
        b->resync = true;
        b->empty = json_object_new_object();
        shash_add(&flows->bridges, name, b);
    }
    return b;
}

static void
bridge_destroy(struct flow_bridge *b)
{
    rconn_destroy(b->rconn);
    json_object_put(b->have);
    json_object_put(b->have_meters);
    json_object_put(b->vifs);
    json_object_put(b->dirty);
    json_object_put(b->installed);
    json_object_put(b->installed_meters);
    json_object_put(b->empty);
    free(b->target);
    free(b->name);
    free(b);
}

/* Returns true if netpool wants or has rules or meters on 'b'. */
static bool
bridge_used(const struct flow_bridge *b)
{
    return json_object_object_length(b->vifs)
           || json_object_object_length(b->dirty)
           || json_object_object_length(b->installed)
           || json_object_object_length(b->installed_meters);
}

static void
bridge_run(struct dp_vif_flows *flows, struct flow_bridge *b)
{
    rconn_run(b->rconn);
    if (!rconn_is_connected(b->rconn)) {
        if (b->state != BRIDGE_DOWN) {
            log_info("%s: OpenFlow connection lost", b->name);
        }
        b->state = BRIDGE_DOWN;
        b->barrier_pending = false;
        return;
    }

    unsigned int seqno = rconn_get_connection_seqno(b->rconn);
    if (seqno != b->seqno) {
        bool again = b->connected_once;
        b->seqno = seqno;
        b->connected_once = true;
        b->resync = true;
        b->state = BRIDGE_DOWN;
        if (again) {
            log_info("%s: OpenFlow connection back", b->name);
            if (flows->cb) {
                flows->cb(flows->aux, b->name);
            }
        }
    }
    for (int i = 0; i < MAX_MSGS_PER_RUN; i++) {
        struct ofpbuf *msg = rconn_recv(b->rconn);
        if (!msg) {
            break;
        }
        bridge_receive(b, msg);
        ofpbuf_delete(msg);
    }
    if (b->sync_incomplete && b->state == BRIDGE_READY
        && !vifs_incomplete(b)) {
        /* Every port number is known now: read the switch again, so that
         * the rules the last comparison had to keep are judged. */
        b->sync_incomplete = false;
        b->resync = true;
    }
    if (b->resync && b->state != BRIDGE_DUMPING && !b->barrier_pending) {
        bridge_start_dump(b);
    }
}

/* Returns true if a VIF of 'b' has a port number not known yet. */
static bool
vifs_incomplete(const struct flow_bridge *b)
{
    json_object_object_foreach (b->vifs, vif, entry) {
        (void) vif;
        if (json_object_get_boolean(
                json_object_object_get(entry, "incomplete"))) {
            return true;
        }
    }
    return false;
}

/* Asks the switch for netpool's rules and meters. */
static void
bridge_start_dump(struct flow_bridge *b)
{
    enum ofputil_protocol protocol =
        ofputil_protocol_from_ofp_version(rconn_get_version(b->rconn));
    struct ofputil_flow_stats_request fsr;

    memset(&fsr, 0, sizeof fsr);
    match_init_catchall(&fsr.match);
    fsr.cookie = htonll(DP_VIF_COOKIE);
    fsr.cookie_mask = OVS_BE64_MAX;
    fsr.out_port = OFPP_ANY;
    fsr.out_group = OFPG_ANY;
    fsr.table_id = 0;
    struct ofpbuf *request = ofputil_encode_flow_stats_request(&fsr, protocol);
    b->flows_xid = ((struct ofp_header *) request->data)->xid;
    struct ofpbuf *meters = ofputil_encode_meter_request(
        rconn_get_version(b->rconn), OFPUTIL_METER_CONFIG, OFPM13_ALL);
    b->meters_xid = ((struct ofp_header *) meters->data)->xid;

    json_object_put(b->have);
    json_object_put(b->have_meters);
    b->have = json_object_new_object();
    b->have_meters = json_object_new_object();
    b->flows_done = b->meters_done = false;
    b->resync = false;
    int error = rconn_send(b->rconn, request, NULL);
    int error2 = rconn_send(b->rconn, meters, NULL); /* Takes 'meters'. */
    if (error || error2) {
        b->resync = true; /* The connection went: again when it is back. */
        return;
    }
    b->state = BRIDGE_DUMPING;
}

static void
bridge_receive(struct flow_bridge *b, struct ofpbuf *msg)
{
    const struct ofp_header *oh = msg->data;
    enum ofptype type;

    if (ofptype_decode(&type, oh)) {
        return;
    }
    switch (type) {
    case OFPTYPE_ECHO_REQUEST:
        rconn_send(b->rconn, ofputil_encode_echo_reply(oh), NULL);
        break;
    case OFPTYPE_FLOW_STATS_REPLY:
        if (b->state == BRIDGE_DUMPING && oh->xid == b->flows_xid) {
            bridge_read_flows(b, msg);
        }
        break;
    case OFPTYPE_METER_CONFIG_STATS_REPLY:
        if (b->state == BRIDGE_DUMPING && oh->xid == b->meters_xid) {
            bridge_read_meters(b, msg);
        }
        break;
    case OFPTYPE_BARRIER_REPLY:
        if (oh->xid == b->barrier_xid) {
            b->barrier_pending = false;
        }
        break;
    case OFPTYPE_ERROR: {
        enum ofperr error = ofperr_decode_msg(oh, NULL);
        log_warn("%s: the switch refused a change: %s", b->name,
                 ofperr_to_string(error));
        if (b->state == BRIDGE_DUMPING
            && (oh->xid == b->flows_xid || oh->xid == b->meters_xid)) {
            /* A switch without meters: take the dump as empty. */
            b->flows_done |= oh->xid == b->flows_xid;
            b->meters_done |= oh->xid == b->meters_xid;
        }
        break;
    }
    default:
        break;
    }
    if (b->state == BRIDGE_DUMPING && b->flows_done && b->meters_done) {
        bridge_sync_all(b);
    }
}

/* Reads one part of the rule dump into 'b->have'. */
static void
bridge_read_flows(struct flow_bridge *b, struct ofpbuf *msg)
{
    struct ofpbuf ofpacts;

    ofpbuf_init(&ofpacts, 64);
    for (;;) {
        struct ofputil_flow_stats fs;
        int retval =
            ofputil_decode_flow_stats_reply(&fs, msg, false, &ofpacts);
        if (retval) {
            if (retval != EOF) {
                log_warn("%s: bad rule in a dump", b->name);
            }
            break;
        }
        char *actions;
        char *key = flow_key(&fs.match, fs.priority, fs.ofpacts,
                             fs.ofpacts_len, &actions);
        json_object_object_add(b->have, key, json_object_new_string(actions));
        free(key);
        free(actions);
    }
    ofpbuf_uninit(&ofpacts);
    if (!msg->header || !ofpmp_more(msg->header)) {
        b->flows_done = true;
    }
}

/* Reads one part of the meter dump into 'b->have_meters'. */
static void
bridge_read_meters(struct flow_bridge *b, struct ofpbuf *msg)
{
    struct ofputil_meter_config mc;
    struct ofpbuf bands;

    ofpbuf_init(&bands, 64);
    while (!ofputil_decode_meter_config(msg, &mc, &bands)) {
        if (mc.meter_id < DP_VIF_METER_BASE
            || mc.meter_id > DP_VIF_METER_BASE + 0xffff) {
            continue;
        }
        char id[16];
        snprintf(id, sizeof id, "%u", mc.meter_id);
        struct json_object *band = json_object_new_object();
        bool plain = mc.n_bands == 1 && mc.bands[0].type == OFPMBT13_DROP
                     && mc.flags == (OFPMF13_KBPS | OFPMF13_BURST);
        /* Anything else never matches what is wanted, so it is
         * rewritten. */
        json_object_object_add(
            band, "kbps", json_object_new_int64(plain ? mc.bands[0].rate : 0));
        json_object_object_add(
            band, "burst",
            json_object_new_int64(plain ? mc.bands[0].burst_size : 0));
        char *text = meter_text(id, band);
        json_object_object_add(b->have_meters, id,
                               json_object_new_string(text));
        free(text);
        json_object_put(band);
    }
    ofpbuf_uninit(&bands);
    if (!msg->header || !ofpmp_more(msg->header)) {
        b->meters_done = true;
    }
}

/* Compares the dump with what every VIF wants and sends the difference:
 * meters added or changed first, then rules deleted and added, then
 * meters deleted (deleting a meter deletes the rules that use it).
 * Rules that look stale stay while a VIF's port number is unknown. */
static void
bridge_sync_all(struct flow_bridge *b)
{
    enum ofputil_protocol protocol =
        ofputil_protocol_from_ofp_version(rconn_get_version(b->rconn));
    struct ovs_list meter_adds = OVS_LIST_INITIALIZER(&meter_adds);
    struct ovs_list flow_dels = OVS_LIST_INITIALIZER(&flow_dels);
    struct ovs_list flow_adds = OVS_LIST_INITIALIZER(&flow_adds);
    struct ovs_list meter_dels = OVS_LIST_INITIALIZER(&meter_dels);
    struct json_object *want = json_object_new_object();
    struct json_object *want_meters = json_object_new_object();
    bool incomplete = false;

    json_object_object_foreach (b->vifs, vif, entry) {
        (void) vif;
        incomplete |= json_object_get_boolean(
            json_object_object_get(entry, "incomplete"));
        json_object_object_foreach (members(b, entry, "flows"), key, flow) {
            json_object_object_add(want, key, json_object_get(flow));
        }
        json_object_object_foreach (members(b, entry, "meters"), id, text) {
            json_object_object_add(want_meters, id, json_object_get(text));
        }
    }

    json_object_object_foreach (want_meters, id, text) {
        struct json_object *now = json_object_object_get(b->have_meters, id);
        if (!now
            || strcmp(json_object_get_string(now),
                      json_object_get_string(text))) {
            queue_meter(&meter_adds, json_object_get_string(text),
                        now ? OFPMC13_MODIFY : OFPMC13_ADD);
        }
    }
    json_object_object_foreach (want, key, flow) {
        struct json_object *now = json_object_object_get(b->have, key);
        const char *actions =
            json_object_get_string(json_object_object_get(flow, "a"));
        if (!now || strcmp(json_object_get_string(now), actions)) {
            queue_flow(
                &flow_adds,
                json_object_get_string(json_object_object_get(flow, "t")),
                true, protocol);
        }
    }
    if (!incomplete) {
        json_object_object_foreach (b->have, old_key, old_actions) {
            (void) old_actions;
            if (!json_object_object_get_ex(want, old_key, NULL)) {
                queue_dumped_delete(&flow_dels, old_key, protocol);
            }
        }
        json_object_object_foreach (b->have_meters, old_id, old_text) {
            (void) old_text;
            if (!json_object_object_get_ex(want_meters, old_id, NULL)) {
                char *text = xasprintf("meter=%s", old_id);
                queue_meter(&meter_dels, text, OFPMC13_DELETE);
                free(text);
            }
        }
    }

    /* What the switch has now, as far as netpool knows. */
    json_object_put(b->installed);
    json_object_put(b->installed_meters);
    b->installed = json_object_new_object();
    b->installed_meters = json_object_new_object();
    json_object_object_foreach (want, k, f) {
        json_object_object_add(
            b->installed, k, json_object_get(json_object_object_get(f, "a")));
    }
    json_object_object_foreach (want_meters, mid, mtext) {
        json_object_object_add(b->installed_meters, mid,
                               json_object_get(mtext));
    }
    json_object_put(want);
    json_object_put(want_meters);
    json_object_put(b->dirty);
    b->dirty = json_object_new_object();

    size_t n = ovs_list_size(&meter_adds) + ovs_list_size(&flow_dels)
               + ovs_list_size(&flow_adds) + ovs_list_size(&meter_dels);
    ovs_list_push_back_all(&meter_adds, &flow_dels);
    ovs_list_push_back_all(&meter_adds, &flow_adds);
    ovs_list_push_back_all(&meter_adds, &meter_dels);
    b->state = BRIDGE_READY;
    b->sync_incomplete = incomplete;
    bridge_send(b, &meter_adds);
    if (n) {
        log_info("%s: %zu OpenFlow change(s) for VIFs after reading the "
                 "switch",
                 b->name, n);
    }
}

/* Sends the changes of the VIFs changed since the last flush, from what
 * netpool last sent (no dump), if 'b' is in step. */
static void
bridge_flush(struct flow_bridge *b)
{
    if (b->state != BRIDGE_READY || !json_object_object_length(b->dirty)) {
        return;
    }

    enum ofputil_protocol protocol =
        ofputil_protocol_from_ofp_version(rconn_get_version(b->rconn));
    struct ovs_list meter_adds = OVS_LIST_INITIALIZER(&meter_adds);
    struct ovs_list flow_dels = OVS_LIST_INITIALIZER(&flow_dels);
    struct ovs_list flow_adds = OVS_LIST_INITIALIZER(&flow_adds);
    struct ovs_list meter_dels = OVS_LIST_INITIALIZER(&meter_dels);

    json_object_object_foreach (b->dirty, vif, old) {
        struct json_object *new = json_object_object_get(b->vifs, vif);
        struct json_object *new_flows = members(b, new, "flows");
        struct json_object *new_meters = members(b, new, "meters");

        json_object_object_foreach (new_meters, id, text) {
            struct json_object *now =
                json_object_object_get(b->installed_meters, id);
            if (!now
                || strcmp(json_object_get_string(now),
                          json_object_get_string(text))) {
                queue_meter(&meter_adds, json_object_get_string(text),
                            now ? OFPMC13_MODIFY : OFPMC13_ADD);
                json_object_object_add(b->installed_meters, id,
                                       json_object_get(text));
            }
        }
        json_object_object_foreach (members(b, old, "flows"), old_key,
                                    old_flow) {
            if (!json_object_object_get_ex(new_flows, old_key, NULL)
                && json_object_object_get_ex(b->installed, old_key, NULL)) {
                queue_flow(&flow_dels,
                           json_object_get_string(
                               json_object_object_get(old_flow, "t")),
                           false, protocol);
                json_object_object_del(b->installed, old_key);
            }
        }
        json_object_object_foreach (new_flows, key, flow) {
            struct json_object *now =
                json_object_object_get(b->installed, key);
            struct json_object *actions = json_object_object_get(flow, "a");
            if (!now
                || strcmp(json_object_get_string(now),
                          json_object_get_string(actions))) {
                queue_flow(
                    &flow_adds,
                    json_object_get_string(json_object_object_get(flow, "t")),
                    true, protocol);
                json_object_object_add(b->installed, key,
                                       json_object_get(actions));
            }
        }
        json_object_object_foreach (members(b, old, "meters"), old_id,
                                    old_text) {
            (void) old_text;
            if (!json_object_object_get_ex(new_meters, old_id, NULL)
                && json_object_object_get_ex(b->installed_meters, old_id,
                                             NULL)) {
                char *text = xasprintf("meter=%s", old_id);
                queue_meter(&meter_dels, text, OFPMC13_DELETE);
                free(text);
                json_object_object_del(b->installed_meters, old_id);
            }
        }
    }
    json_object_put(b->dirty);
    b->dirty = json_object_new_object();

    ovs_list_push_back_all(&meter_adds, &flow_dels);
    ovs_list_push_back_all(&meter_adds, &flow_adds);
    ovs_list_push_back_all(&meter_adds, &meter_dels);
    bridge_send(b, &meter_adds);
}

/* Sends the messages of 'msgs' (taking them) and a barrier after them;
 * nothing if 'msgs' is empty.  A connection that fails makes the bridge
 * read the switch again once it is back. */
static void
bridge_send(struct flow_bridge *b, struct ovs_list *msgs)
{
    struct ofpbuf *msg;

    if (ovs_list_is_empty(msgs)) {
        return;
    }
    LIST_FOR_EACH_POP(msg, list_node, msgs)
    {
        if (rconn_send(b->rconn, msg, NULL)) {
            b->resync = true;
        }
    }
    struct ofpbuf *barrier =
        ofputil_encode_barrier_request(rconn_get_version(b->rconn));
    b->barrier_xid = ((struct ofp_header *) barrier->data)->xid;
    if (rconn_send(b->rconn, barrier, NULL)) {
        b->resync = true;
        return;
    }
    b->barrier_pending = true;
}

/* Rules. */

/* Returns what VIF state 'state' ({"flows": [TEXT…], "meters": {ID:
 * band}, "incomplete"?}) on bridge 'b' becomes: its rules by key. */
static struct json_object *
parse_entry(const struct flow_bridge *b, struct json_object *state)
{
    struct json_object *entry = json_object_new_object();
    struct json_object *flows = json_object_new_object();
    struct json_object *meters = json_object_new_object();
    struct json_object *list = json_object_object_get(state, "flows");

    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        const char *text =
            json_object_get_string(json_object_array_get_idx(list, i));
        struct ofputil_flow_mod fm;
        enum ofputil_protocol usable;
        char *error =
            parse_ofp_flow_mod_str(&fm, text, NULL, NULL, OFPFC_ADD, &usable);
        if (error) {
            log_warn("%s: bad rule \"%s\": %s", b->name, text, error);
            free(error);
            continue;
        }
        struct match match;
        minimatch_expand(&fm.match, &match);
        char *actions;
        char *key = flow_key(&match, fm.priority, fm.ofpacts, fm.ofpacts_len,
                             &actions);
        struct json_object *flow = json_object_new_object();
        json_object_object_add(flow, "a", json_object_new_string(actions));
        json_object_object_add(flow, "t", json_object_new_string(text));
        json_object_object_add(flows, key, flow);
        free(key);
        free(actions);
        minimatch_destroy(&fm.match);
        free(fm.ofpacts);
    }
    json_object_object_foreach (members(b, state, "meters"), id, band) {
        char *text = meter_text(id, band);
        json_object_object_add(meters, id, json_object_new_string(text));
        free(text);
    }
    json_object_object_add(entry, "flows", flows);
    json_object_object_add(entry, "meters", meters);
    if (json_object_get_boolean(json_object_object_get(state, "incomplete"))) {
        json_object_object_add(entry, "incomplete",
                               json_object_new_boolean(1));
    }
    return entry;
}

/* Returns a rule's identity (priority and match) as ovs-ofctl prints it,
 * and sets '*actionsp' to its actions likewise (both new strings), so
 * that rules read from the switch and rules parsed from text compare as
 * text. */
static char *
flow_key(const struct match *match, int priority, const struct ofpact *ofpacts,
         size_t ofpacts_len, char **actionsp)
{
    struct ds key = DS_EMPTY_INITIALIZER;
    struct ds actions = DS_EMPTY_INITIALIZER;
    struct ofpact_format_params fp = {.s = &actions};

    match_format(match, NULL, &key, priority);
    ofpacts_format(ofpacts, ofpacts_len, &fp);
    *actionsp = ds_steal_cstr(&actions);
    return ds_steal_cstr(&key);
}

/* Appends to 'list' the flow_mod that adds rule 'text' (netpool's form,
 * with its cookie), or deletes it exactly ('add' false). */
static void
queue_flow(struct ovs_list *list, const char *text, bool add,
           enum ofputil_protocol protocol)
{
    struct ofputil_flow_mod fm;
    enum ofputil_protocol usable;
    char *error =
        parse_ofp_flow_mod_str(&fm, text, NULL, NULL, OFPFC_ADD, &usable);

    if (error) {
        log_warn("bad rule \"%s\": %s", text, error);
        free(error);
        return;
    }
    if (!add) {
        fm.command = OFPFC_DELETE_STRICT;
        fm.cookie = htonll(DP_VIF_COOKIE);
        fm.cookie_mask = OVS_BE64_MAX;
        fm.new_cookie = OVS_BE64_MAX;
        fm.table_id = 0;
        fm.out_port = OFPP_ANY;
        fm.out_group = OFPG_ANY;
        fm.buffer_id = UINT32_MAX;
    }
    struct ofpbuf *msg = ofputil_encode_flow_mod(&fm, protocol);
    ovs_list_push_back(list, &msg->list_node);
    minimatch_destroy(&fm.match);
    free(fm.ofpacts);
}

/* Appends to 'list' the exact delete of a dumped rule of netpool's whose
 * key ("priority=…,match" as match_format() prints it) is 'key'. */
static void
queue_dumped_delete(struct ovs_list *list, const char *key,
                    enum ofputil_protocol protocol)
{
    /* The key is ovs-ofctl's own syntax for a match with its priority. */
    char *text = xasprintf("cookie=%#llx,%s,actions=drop", DP_VIF_COOKIE, key);

    queue_flow(list, text, false, protocol);
    free(text);
}

/* Appends to 'list' the meter_mod 'command' for meter 'text'. */
static void
queue_meter(struct ovs_list *list, const char *text, int command)
{
    struct ofputil_meter_mod mm;
    enum ofputil_protocol usable;
    char *error = parse_ofp_meter_mod_str(&mm, text, command, &usable);

    if (error) {
        log_warn("bad meter \"%s\": %s", text, error);
        free(error);
        return;
    }
    struct ofpbuf *msg = ofputil_encode_meter_mod(OFP13_VERSION, &mm);
    free(mm.meter.bands);
    ovs_list_push_back(list, &msg->list_node);
}

/* Returns meter 'id' with 'band' ({"kbps", "burst"}) as ovs-ofctl text. */
static char *
meter_text(const char *id, struct json_object *band)
{
    return xasprintf(
        "meter=%s,kbps,burst,band=type=drop,rate=%lld,burst_size=%lld", id,
        (long long) json_object_get_int64(
            json_object_object_get(band, "kbps")),
        (long long) json_object_get_int64(
            json_object_object_get(band, "burst")));
}

/* Returns the folder of the switch's sockets: $OVS_RUNDIR, else the folder
 * of the OVSDB socket 'remote' names ("unix:/run/openvswitch/db.sock"),
 * else Open vSwitch's default. */
static char *
rundir_of(const char *remote)
{
    const char *env = getenv("OVS_RUNDIR");

    if (env && *env) {
        return xstrdup(env);
    }
    if (remote && !strncmp(remote, "unix:", 5) && strrchr(remote, '/')) {
        const char *path = remote + 5;
        return xasprintf("%.*s", (int) (strrchr(path, '/') - path), path);
    }
    return xstrdup("/var/run/openvswitch");
}

/* Returns member 'key' of 'object' if it is a JSON object, else the
 * empty object of 'b', so that it can be walked whatever it is. */
static struct json_object *
members(const struct flow_bridge *b, struct json_object *object,
        const char *key)
{
    struct json_object *value = json_object_object_get(object, key);

    return json_object_is_type(value, json_type_object) ? value : b->empty;
}
