/*
 * VIF rules and meters: what netpool wants of OpenFlow for each VIF.
 *
 * Locking mode (xapi's locking_mode): a "locked" VIF may send only frames
 * from its own MAC, and of those only ARP and IPv4 from the addresses in
 * its ipv4_allowed; everything else it sends is dropped.  A "disabled" VIF
 * may send nothing.  "unlocked" and "network_default" need no rule: the
 * bridge's default NORMAL flow, which netpool never touches, carries their
 * traffic.  Rate limiting (qos_algorithm_type "ratelimit") is written as
 * the interface's ingress policing by the fabric, which the kernel
 * datapath honours, and so does OVS-DPDK for its own ports (a dpdk host's
 * vhost-user VIFs: netdev-dpdk polices what it receives); the userspace
 * datapath reads its other ports through AF_PACKET, which sees frames
 * before the kernel's ingress policers, so there netpool adds an OpenFlow
 * meter (drop band at the rate) that the VIF's frames pass through.  A
 * meter on a DPDK port would police the same frames twice and cost the
 * PMD a meter lookup and lock per batch (perf/README.md, "Where the cycles
 * go"), so a DPDK port gets neither meter nor rule for its rate limit.
 *
 * Every rule netpool adds carries DP_VIF_COOKIE and every meter has an ID
 * from DP_VIF_METER_BASE up, so netpool replaces only its own.  This file
 * says what they are (pure); flow-sync.c pushes them to the switch.
 */
#include "datapath/datapath.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#define PRIORITY_ALLOW 4000 /* A locked VIF's allowed traffic. */
#define PRIORITY_DROP 3000  /* The rest of a locked VIF's traffic. */
#define PRIORITY_METER 2000 /* An unlocked VIF's rate limit. */

static struct json_object *bridge_state(struct json_object *result,
                                        const char *bridge);
static void add_vif_flows(struct json_object *state, struct json_object *vif,
                          int64_t ofport, uint32_t meter);
static const char *field(struct json_object *record, const char *name);
static bool polices_itself(struct json_object *port);

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
            if (ofport < 0) {
                /* OVS could not open it: it has no OpenFlow port, so
                 * there is nothing to match, and the rules it had (for a
                 * number it no longer has) go. */
                continue;
            }
            if (!ofport || ofport > 0xfeff) {
                /* Not in the switch yet: its rules cannot be written, and
                 * the ones it may have must not go. */
                json_object_object_add(state, "incomplete",
                                       json_object_new_boolean(1));
                continue;
            }

            int64_t kbps = dp_vif_kbps(vif);
            uint32_t meter = 0;
            if (kbps > 0 && netdev && !polices_itself(port)) {
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

/* Helpers. */

/* Returns true if every interface of fabric port 'port' is a DPDK port
 * (type "dpdk…"), which OVS-DPDK polices by itself. */
static bool
polices_itself(struct json_object *port)
{
    struct json_object *ifaces = json_object_object_get(port, "interfaces");
    bool any = false;

    json_object_object_foreach (ifaces, name, iface) {
        (void) name;
        if (strncmp(field(iface, "type"), "dpdk", 4)) {
            return false;
        }
        any = true;
    }
    return any;
}

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_get_string(value)
               ? json_object_get_string(value)
               : "";
}
