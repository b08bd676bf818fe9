/*
 * VIF rules and meters over OpenFlow.
 *
 * Locking mode (xapi's locking_mode): a "locked" VIF may send only frames
 * from its own MAC, and of those only ARP and IPv4 from the addresses in
 * its ipv4_allowed; everything else it sends is dropped.  A "disabled" VIF
 * may send nothing.  "unlocked" and "network_default" need no rule: the
 * bridge's default NORMAL flow, which netpool never touches, carries their
 * traffic.  Rate limiting (qos_algorithm_type "ratelimit") is written as
 * the interface's ingress policing by the fabric, which the kernel
 * datapath honours; the userspace datapath reads its ports through
 * AF_PACKET, which sees frames before the kernel's ingress policers, so
 * there netpool adds an OpenFlow meter (drop band at the rate) that the
 * VIF's frames pass through.
 *
 * Every rule netpool adds carries DP_VIF_COOKIE and every meter has an ID
 * from DP_VIF_METER_BASE up, so netpool replaces only its own.  The sync
 * reads back what the bridge holds (a flow dump filtered on the cookie,
 * the meter table) and sends only the difference, so it can run as often
 * as the reconciler does, and after a restart of ovs-vswitchd (which loses
 * every rule) it puts them back.  It talks to each bridge's management
 * socket with libopenvswitch's blocking vconn calls, which return at once
 * for a local unix socket; a switch that is down fails the connect.
 */
#include "datapath/ovs-idl.h"

#include "datapath/datapath.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/log.h"

#define LOG_MODULE "vif-flows"

#define CONNECT_TIMEOUT_MS 2000 /* For a switch that does not answer. */
#define PRIORITY_ALLOW 4000     /* A locked VIF's allowed traffic. */
#define PRIORITY_DROP 3000      /* The rest of a locked VIF's traffic. */
#define PRIORITY_METER 2000     /* An unlocked VIF's rate limit. */

struct dp_vif_flows {
    char *rundir;             /* Where the bridges' .mgmt sockets are. */
    struct json_object *done; /* Bridge → its wanted state (as built)
                               * last found in place. */
    bool swept;               /* Every bridge checked once since start. */
};

static struct json_object *bridge_state(struct json_object *result,
                                        const char *bridge);
static void add_vif_flows(struct json_object *state, struct json_object *vif,
                          int64_t ofport, uint32_t meter);
static int sync_bridge(struct dp_vif_flows *, const char *bridge,
                       struct json_object *want);
static int read_flows(struct vconn *, enum ofputil_protocol,
                      struct ofputil_flow_stats **fsesp, size_t *n);
static int read_meters(struct vconn *, struct json_object *have);
static void flow_key(struct ds *key, const struct match *, int priority,
                     const struct ofpact *, size_t ofpacts_len,
                     struct ds *actions);
static struct ofpbuf *encode_flow_delete(const struct ofputil_flow_stats *,
                                         enum ofputil_protocol);
static char *meter_text(const char *id, struct json_object *band);
static void push_meter_mod(struct ovs_list *, const char *text, int command);
static const char *field(struct json_object *record, const char *name);
static char *rundir_of(const char *remote);

struct json_object *
dp_vif_flows_build(struct json_object *records, struct json_object *fabric,
                   struct json_object *ofports)
{
    struct json_object *vifs = json_object_object_get(records, "VIF");
    struct json_object *bridges = json_object_object_get(fabric, "bridges");
    struct json_object *result = json_object_new_object();

    if (!bridges || !vifs) {
        return result;
    }
    json_object_object_foreach (bridges, bridge, br) {
        bool netdev = !strcmp(field(br, "datapath_type"), "netdev");
        json_object_object_foreach (json_object_object_get(br, "ports"),
                                    port_name, port) {
            const char *uuid = field(
                json_object_object_get(port, "external_ids"), "netpool-vif");
            struct json_object *vif = json_object_object_get(vifs, uuid);
            if (!*uuid || !vif) {
                continue;
            }
            struct json_object *state = bridge_state(result, bridge);
            int64_t ofport = json_object_get_int64(
                json_object_object_get(ofports, port_name));
            if (ofport <= 0 || ofport > 0xfeff) {
                /* Not in the switch yet: its rules cannot be written, and
                 * the ones it may have must not go. */
                json_object_object_add(state, "incomplete",
                                       json_object_new_boolean(1));
                continue;
            }

            int64_t kbps = dp_vif_kbps(vif);
            uint32_t meter = 0;
            if (kbps > 0 && netdev) {
                char id[16];
                meter = DP_VIF_METER_BASE + (uint32_t) ofport;
                snprintf(id, sizeof id, "%u", meter);
                struct json_object *band = json_object_new_object();
                json_object_object_add(band, "kbps",
                                       json_object_new_int64(kbps));
                json_object_object_add(
                    band, "burst", json_object_new_int64(dp_vif_burst(kbps)));
                json_object_object_add(json_object_object_get(state, "meters"),
                                       id, band);
            }
            add_vif_flows(state, vif, ofport, meter);
        }
    }
    return result;
}

struct dp_vif_flows *
dp_vif_flows_create(const char *remote)
{
    struct dp_vif_flows *flows = xzalloc(sizeof *flows);

    flows->rundir = rundir_of(remote);
    flows->done = json_object_new_object();
    return flows;
}

void
dp_vif_flows_destroy(struct dp_vif_flows *flows)
{
    if (!flows) {
        return;
    }
    json_object_put(flows->done);
    free(flows->rundir);
    free(flows);
}

int
dp_vif_flows_sync(struct dp_vif_flows *flows, struct json_object *records,
                  struct json_object *fabric, const struct dp_ovs *ovs)
{
    struct json_object *bridges = json_object_object_get(fabric, "bridges");
    struct json_object *vifs = json_object_object_get(records, "VIF");
    bool wanted = false;
    int error = 0;

    if (!bridges || !vifs) {
        return 0;
    }
    if (!dp_ovs_ready(ovs)) {
        return EAGAIN; /* Without OVS's ports, every rule looks stale. */
    }
    /* Reading OVS's ports costs; skip it when no VIF asks for a rule. */
    json_object_object_foreach (vifs, uuid, vif) {
        (void) uuid;
        const char *mode = field(vif, "locking_mode");
        wanted |= !strcmp(mode, "locked") || !strcmp(mode, "disabled")
                  || dp_vif_kbps(vif) > 0;
    }
    if (!wanted && flows->swept && !json_object_object_length(flows->done)) {
        return 0;
    }

    struct json_object *ofports = dp_ovs_ofports(ovs);
    struct json_object *want = dp_vif_flows_build(records, fabric, ofports);
    json_object_put(ofports);

    /* Bridges to visit: those with VIFs, those netpool put rules on, and
     * once after a start every bridge (rules of VIFs that went while
     * netpoold was down). */
    struct json_object *visit = json_object_new_object();
    json_object_object_foreach (want, b1, w1) {
        json_object_object_add(visit, b1, json_object_get(w1));
    }
    json_object_object_foreach (flows->done, b2, d2) {
        (void) d2;
        if (!json_object_object_get(visit, b2)
            && json_object_object_get(bridges, b2)) {
            json_object_object_add(visit, b2, NULL);
        }
    }
    if (!flows->swept) {
        json_object_object_foreach (bridges, b3, br3) {
            (void) br3;
            if (!json_object_object_get_ex(visit, b3, NULL)) {
                json_object_object_add(visit, b3, NULL);
            }
        }
    }

    struct json_object *done = json_object_new_object();
    json_object_object_foreach (visit, bridge, w) {
        int retval = sync_bridge(flows, bridge, w);
        if (retval) {
            error = error ? error : retval;
        } else if (w
                   && (json_object_array_length(
                           json_object_object_get(w, "flows"))
                       || json_object_object_length(
                           json_object_object_get(w, "meters")))) {
            json_object_object_add(done, bridge, json_object_get(w));
        }
    }
    json_object_put(flows->done);
    flows->done = done;
    flows->swept |= !error;
    json_object_put(visit);
    json_object_put(want);
    return error;
}

/* Building. */

static struct json_object *
bridge_state(struct json_object *result, const char *bridge)
{
    struct json_object *state = json_object_object_get(result, bridge);

    if (!state) {
        state = json_object_new_object();
        json_object_object_add(state, "flows", json_object_new_array());
        json_object_object_add(state, "meters", json_object_new_object());
        json_object_object_add(result, bridge, state);
    }
    return state;
}

/* Adds to 'state' the rules of 'vif' on OpenFlow port 'ofport', its
 * allowed traffic going through 'meter' if it is not 0. */
static void
add_vif_flows(struct json_object *state, struct json_object *vif,
              int64_t ofport, uint32_t meter)
{
    struct json_object *list = json_object_object_get(state, "flows");
    const char *mode = field(vif, "locking_mode");
    const char *mac = field(vif, "MAC");
    char next[48], text[256];

    if (meter) {
        snprintf(next, sizeof next, "meter:%u,NORMAL", meter);
    } else {
        snprintf(next, sizeof next, "NORMAL");
    }

#define ADD_FLOW(...)                                              \
    do {                                                           \
        snprintf(text, sizeof text, "cookie=%#llx," __VA_ARGS__);  \
        json_object_array_add(list, json_object_new_string(text)); \
    } while (0)

    if (!strcmp(mode, "locked")) {
        struct json_object *ips = json_object_object_get(vif, "ipv4_allowed");
        size_t n_ips = json_object_is_type(ips, json_type_array)
                           ? json_object_array_length(ips)
                           : 0;
        for (size_t i = 0; i < n_ips; i++) {
            const char *ip =
                json_object_get_string(json_object_array_get_idx(ips, i));
            struct in_addr addr;
            if (!ip || inet_pton(AF_INET, ip, &addr) != 1) {
                continue;
            }
            ADD_FLOW("priority=%d,in_port=%lld,dl_src=%s,arp,arp_sha=%s,"
                     "arp_spa=%s,actions=%s",
                     DP_VIF_COOKIE, PRIORITY_ALLOW, (long long) ofport, mac,
                     mac, ip, next);
            ADD_FLOW("priority=%d,in_port=%lld,dl_src=%s,ip,nw_src=%s,"
                     "actions=%s",
                     DP_VIF_COOKIE, PRIORITY_ALLOW, (long long) ofport, mac,
                     ip, next);
        }
        ADD_FLOW("priority=%d,in_port=%lld,actions=drop", DP_VIF_COOKIE,
                 PRIORITY_DROP, (long long) ofport);
    } else if (!strcmp(mode, "disabled")) {
        ADD_FLOW("priority=%d,in_port=%lld,actions=drop", DP_VIF_COOKIE,
                 PRIORITY_DROP, (long long) ofport);
    } else if (meter) {
        ADD_FLOW("priority=%d,in_port=%lld,actions=%s", DP_VIF_COOKIE,
                 PRIORITY_METER, (long long) ofport, next);
    }
#undef ADD_FLOW
}

/* Syncing one bridge. */

/* Converges bridge 'bridge' onto 'want' ({"flows", "meters"}, or NULL for
 * none): meters added or changed first, then rules deleted and added, then
 * meters deleted (deleting a meter deletes the rules that use it). */
static int
sync_bridge(struct dp_vif_flows *flows, const char *bridge,
            struct json_object *want)
{
    char *target = xasprintf("unix:%s/%s.mgmt", flows->rundir, bridge);
    struct json_object *have_meters = json_object_new_object();
    struct json_object *have_flows = json_object_new_object();
    struct json_object *wanted = json_object_new_object();
    struct json_object *empty_meters = NULL;
    struct ovs_list meter_adds = OVS_LIST_INITIALIZER(&meter_adds);
    struct ovs_list flow_mods = OVS_LIST_INITIALIZER(&flow_mods);
    struct ovs_list meter_dels = OVS_LIST_INITIALIZER(&meter_dels);
    struct ofputil_flow_stats *fses = NULL;
    struct ds key = DS_EMPTY_INITIALIZER;
    struct ds actions = DS_EMPTY_INITIALIZER;
    struct vconn *vconn = NULL;
    enum ofputil_protocol protocol = 0;
    size_t n_fses = 0;
    int error;

    error = vconn_open_block(target, 1u << OFP13_VERSION, DSCP_DEFAULT,
                             CONNECT_TIMEOUT_MS, &vconn);
    if (error) {
        log_debug("%s: cannot connect: %s", target, ovs_strerror(error));
        goto out;
    }
    protocol = ofputil_protocol_from_ofp_version(vconn_get_version(vconn));
    if ((error = read_flows(vconn, protocol, &fses, &n_fses))
        || (error = read_meters(vconn, have_meters))) {
        log_warn("%s: cannot read rules and meters: %s", bridge,
                 ovs_strerror(error));
        goto out;
    }
    for (size_t i = 0; i < n_fses; i++) {
        flow_key(&key, &fses[i].match, fses[i].priority, fses[i].ofpacts,
                 fses[i].ofpacts_len, &actions);
        json_object_object_add(have_flows, ds_cstr(&key),
                               json_object_new_string(ds_cstr(&actions)));
    }

    /* Meters to add or change. */
    struct json_object *want_meters = json_object_object_get(want, "meters");
    if (!want_meters) {
        want_meters = empty_meters = json_object_new_object();
    }
    json_object_object_foreach (want_meters, id, band) {
        struct json_object *now = json_object_object_get(have_meters, id);
        char *text = meter_text(id, band);
        if (!now || strcmp(json_object_get_string(now), text)) {
            push_meter_mod(&meter_adds, text,
                           now ? OFPMC13_MODIFY : OFPMC13_ADD);
        }
        free(text);
    }

    /* Rules missing or different. */
    struct json_object *list = json_object_object_get(want, "flows");
    size_t n_list = list ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n_list; i++) {
        const char *text =
            json_object_get_string(json_object_array_get_idx(list, i));
        struct ofputil_flow_mod fm;
        enum ofputil_protocol usable;
        char *parse_error =
            parse_ofp_flow_mod_str(&fm, text, NULL, NULL, OFPFC_ADD, &usable);
        if (parse_error) {
            log_warn("%s: bad rule \"%s\": %s", bridge, text, parse_error);
            free(parse_error);
            continue;
        }
        struct match match;
        minimatch_expand(&fm.match, &match);
        flow_key(&key, &match, fm.priority, fm.ofpacts, fm.ofpacts_len,
                 &actions);
        json_object_object_add(wanted, ds_cstr(&key), NULL);
        struct json_object *now =
            json_object_object_get(have_flows, ds_cstr(&key));
        if (!now || strcmp(json_object_get_string(now), ds_cstr(&actions))) {
            struct ofpbuf *msg = ofputil_encode_flow_mod(&fm, protocol);
            ovs_list_push_back(&flow_mods, &msg->list_node);
        }
        minimatch_destroy(&fm.match);
        free(fm.ofpacts);
    }

    /* Rules of netpool's that are not wanted (deleted before the adds, in
     * case one of them holds the same match); none while a VIF's port
     * number is unknown, as its rules would look unwanted. */
    bool incomplete =
        json_object_get_boolean(json_object_object_get(want, "incomplete"));
    for (size_t i = 0; !incomplete && i < n_fses; i++) {
        flow_key(&key, &fses[i].match, fses[i].priority, fses[i].ofpacts,
                 fses[i].ofpacts_len, &actions);
        if (!json_object_object_get_ex(wanted, ds_cstr(&key), NULL)) {
            struct ofpbuf *msg = encode_flow_delete(&fses[i], protocol);
            ovs_list_push_front(&flow_mods, &msg->list_node);
        }
    }

    /* Meters no longer wanted. */
    json_object_object_foreach (have_meters, old_id, old_text) {
        (void) old_text;
        if (!incomplete && !json_object_object_get(want_meters, old_id)) {
            char *text = xasprintf("meter=%s", old_id);
            push_meter_mod(&meter_dels, text, OFPMC13_DELETE);
            free(text);
        }
    }

    ovs_list_push_back_all(&meter_adds, &flow_mods);
    ovs_list_push_back_all(&meter_adds, &meter_dels);
    if (!ovs_list_is_empty(&meter_adds)) {
        size_t n = ovs_list_size(&meter_adds);
        struct ofpbuf *reply = NULL;
        error = vconn_transact_multiple_noreply(vconn, &meter_adds, &reply);
        if (!error && reply) {
            log_warn("%s: the switch refused a change: %s", bridge,
                     ofperr_to_string(ofperr_decode_msg(reply->data, NULL)));
            error = EPROTO;
        } else if (error) {
            log_warn("%s: cannot send rules and meters: %s", bridge,
                     ovs_strerror(error));
        } else {
            log_info("%s: %zu OpenFlow change(s) for VIFs", bridge, n);
        }
        ofpbuf_delete(reply);
    }

out:
    ofpbuf_list_delete(&meter_adds);
    ofpbuf_list_delete(&flow_mods);
    ofpbuf_list_delete(&meter_dels);
    for (size_t i = 0; i < n_fses; i++) {
        free(CONST_CAST(struct ofpact *, fses[i].ofpacts));
    }
    free(fses);
    ds_destroy(&key);
    ds_destroy(&actions);
    vconn_close(vconn);
    json_object_put(have_meters);
    json_object_put(have_flows);
    json_object_put(wanted);
    json_object_put(empty_meters);
    free(target);
    return error;
}

/* Reads the rules of table 0 that carry DP_VIF_COOKIE into a new array
 * '*fsesp' of '*n' (free each one's ofpacts, then the array). */
static int
read_flows(struct vconn *vconn, enum ofputil_protocol protocol,
           struct ofputil_flow_stats **fsesp, size_t *n)
{
    struct ofputil_flow_stats_request fsr;

    memset(&fsr, 0, sizeof fsr);
    match_init_catchall(&fsr.match);
    fsr.cookie = htonll(DP_VIF_COOKIE);
    fsr.cookie_mask = OVS_BE64_MAX;
    fsr.out_port = OFPP_ANY;
    fsr.out_group = OFPG_ANY;
    fsr.table_id = 0;
    return vconn_dump_flows(vconn, &fsr, protocol, fsesp, n);
}

/* Reads the meters with IDs from DP_VIF_METER_BASE into 'have': ID (as
 * text) → its meter_text() form. */
static int
read_meters(struct vconn *vconn, struct json_object *have)
{
    struct ovs_list requests = OVS_LIST_INITIALIZER(&requests);
    struct ovs_list replies;
    struct ofpbuf *request = ofputil_encode_meter_request(
        OFP13_VERSION, OFPUTIL_METER_CONFIG, OFPM13_ALL);
    struct ofpbuf *reply;
    struct ofpbuf bands;
    int error;

    ovs_list_push_back(&requests, &request->list_node);
    error = vconn_transact_multipart(vconn, &requests, &replies);
    if (error) {
        return error;
    }
    ofpbuf_init(&bands, 64);
    LIST_FOR_EACH (reply, list_node, &replies) {
        struct ofputil_meter_config mc;
        while (!ofputil_decode_meter_config(reply, &mc, &bands)) {
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
                band, "kbps",
                json_object_new_int64(plain ? mc.bands[0].rate : 0));
            json_object_object_add(
                band, "burst",
                json_object_new_int64(plain ? mc.bands[0].burst_size : 0));
            char *text = meter_text(id, band);
            json_object_object_add(have, id, json_object_new_string(text));
            free(text);
            json_object_put(band);
        }
    }
    ofpbuf_uninit(&bands);
    ofpbuf_list_delete(&replies);
    return 0;
}

/* Writes into 'key' a rule's identity (priority and match) and into
 * 'actions' its actions, both as ovs-ofctl prints them, so that rules read
 * from the switch and rules parsed from text compare as text. */
static void
flow_key(struct ds *key, const struct match *match, int priority,
         const struct ofpact *ofpacts, size_t ofpacts_len, struct ds *actions)
{
    struct ofpact_format_params fp = {.s = actions};

    ds_clear(key);
    ds_clear(actions);
    match_format(match, NULL, key, priority);
    ofpacts_format(ofpacts, ofpacts_len, &fp);
}

/* Returns a DELETE_STRICT flow_mod for rule 'fs' of netpool's. */
static struct ofpbuf *
encode_flow_delete(const struct ofputil_flow_stats *fs,
                   enum ofputil_protocol protocol)
{
    struct ofputil_flow_mod fm;

    memset(&fm, 0, sizeof fm);
    minimatch_init(&fm.match, &fs->match);
    fm.priority = fs->priority;
    fm.cookie = htonll(DP_VIF_COOKIE);
    fm.cookie_mask = OVS_BE64_MAX;
    fm.new_cookie = OVS_BE64_MAX;
    fm.table_id = fs->table_id;
    fm.command = OFPFC_DELETE_STRICT;
    fm.buffer_id = UINT32_MAX;
    fm.out_port = OFPP_ANY;
    fm.out_group = OFPG_ANY;
    struct ofpbuf *msg = ofputil_encode_flow_mod(&fm, protocol);
    minimatch_destroy(&fm.match);
    return msg;
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

/* Appends to 'list' the meter_mod 'command' for meter 'text'. */
static void
push_meter_mod(struct ovs_list *list, const char *text, int command)
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

/* Helpers. */

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_get_string(value)
               ? json_object_get_string(value)
               : "";
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
