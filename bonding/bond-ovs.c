/*
 * A bond as an Open vSwitch bonded port, keyed the way xcp-networkd keys
 * it: bond_mode, lacp, bond_updelay and bond_downdelay columns, and
 * other_config lacp-time, lacp-fallback-ab, bond-rebalance-interval,
 * bond-detect-mode, bond-miimon-interval and bond-primary (when the bond
 * fails back to its primary member).  BFD goes on every member interface;
 * bond_ovs_bfd_poll() gives the form that makes OVS poll at once
 * (bonding.h says why).
 */
#include "bonding/bonding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

/* The interval of a BFD session that is not up (RFC 5880 6.8.3). */
#define BFD_SLOW_TX_MS 1000

static void put(struct json_object *map, const char *key, const char *value);
static void put_int(struct json_object *map, const char *key, int64_t value);
static struct json_object *interface_bfd(struct json_object *port,
                                         const char *iface);
static struct json_object *member_interface(const struct bond_ovs_config *,
                                            const struct bond_ovs_member *);

struct json_object *
bond_ovs_port(const struct bond_ovs_config *c)
{
    const struct bond_properties *p = c->props;
    struct json_object *port = json_object_new_object();
    struct json_object *ids = json_object_new_object();
    struct json_object *oc = json_object_new_object();
    struct json_object *ifaces = json_object_new_object();
    const char *ovs_mode;

    switch (c->mode) {
    case BOND_MODE_ACTIVE_BACKUP:
        ovs_mode = "active-backup";
        break;
    case BOND_MODE_LACP:
        ovs_mode = p->tcpudp_ports ? "balance-tcp" : "balance-slb";
        break;
    case BOND_MODE_BALANCE_SLB:
    default:
        ovs_mode = "balance-slb";
        break;
    }
    json_object_object_add(port, "bond_mode",
                           json_object_new_string(ovs_mode));
    json_object_object_add(
        port, "lacp",
        json_object_new_string(c->mode == BOND_MODE_LACP ? "active" : ""));
    json_object_object_add(port, "bond_updelay",
                           json_object_new_int64(p->updelay));
    json_object_object_add(port, "bond_downdelay",
                           json_object_new_int64(p->downdelay));

    put(ids, "netpool-pif", c->master);
    put(ids, "netpool-bond", c->bond);
    json_object_object_add(port, "external_ids", ids);

    put(oc, "bond-detect-mode", p->miimon ? "miimon" : "carrier");
    put_int(oc, "bond-miimon-interval", p->miimon_interval);
    if (c->mode == BOND_MODE_LACP) {
        put(oc, "lacp-time", p->lacp_fast ? "fast" : "slow");
        put(oc, "lacp-fallback-ab", p->lacp_fallback_ab ? "true" : "false");
    }
    if (c->mode != BOND_MODE_ACTIVE_BACKUP && p->rebalance_interval >= 0) {
        put_int(oc, "bond-rebalance-interval", p->rebalance_interval);
    }
    /* Both ends of an active-backup link must prefer the same member, or
     * each may pick a different one (FACTS.md); a LACP bond that falls
     * back to active-backup needs it as well.  OVS goes back to it
     * whenever it is enabled, so without failback there is none. */
    if (c->mode != BOND_MODE_BALANCE_SLB && p->failback && c->primary_device
        && *c->primary_device) {
        put(oc, "bond-primary", c->primary_device);
    }
    json_object_object_add(port, "other_config", oc);

    for (size_t i = 0; i < c->n_members; i++) {
        json_object_object_add(ifaces, c->members[i].device,
                               member_interface(c, &c->members[i]));
    }
    json_object_object_add(port, "interfaces", ifaces);
    return port;
}

bool
bond_bfd_poll_due(const char *before, const char *now)
{
    before = before ? before : "";
    now = now ? now : "";
    if (!strcmp(now, "init")) {
        return strcmp(before, "init") && strcmp(before, "up");
    }
    return !strcmp(now, "up") && strcmp(before, "up");
}

struct json_object *
bond_ovs_bfd_poll(struct json_object *port, const char *iface, const char *now)
{
    const char *min_tx = json_object_get_string(
        json_object_object_get(interface_bfd(port, iface), "min_tx"));
    struct json_object *copy = NULL;
    int64_t value;

    if (!min_tx || !now) {
        return NULL;
    }
    value = strtoll(min_tx, NULL, 10) + 1;
    if (!strcmp(now, "init")) {
        value = value < BFD_SLOW_TX_MS ? BFD_SLOW_TX_MS : value;
    } else if (strcmp(now, "up")) {
        return NULL;
    }
    json_object_deep_copy(port, &copy, NULL);
    put_int(interface_bfd(copy, iface), "min_tx", value);
    return copy;
}

/* Helpers. */

/* Returns the "bfd" map of interface 'iface' of port form 'port' (borrowed),
 * or NULL. */
static struct json_object *
interface_bfd(struct json_object *port, const char *iface)
{
    return json_object_object_get(
        json_object_object_get(json_object_object_get(port, "interfaces"),
                               iface),
        "bfd");
}

static struct json_object *
member_interface(const struct bond_ovs_config *c,
                 const struct bond_ovs_member *m)
{
    struct json_object *iface = json_object_new_object();
    struct json_object *ids = json_object_new_object();
    struct json_object *bfd = json_object_new_object();

    json_object_object_add(iface, "type", json_object_new_string(""));
    if (c->mtu > 0) {
        json_object_object_add(iface, "mtu_request",
                               json_object_new_int64(c->mtu));
    }
    put(ids, "netpool-pif", m->pif);
    json_object_object_add(iface, "external_ids", ids);
    json_object_object_add(iface, "options", json_object_new_object());
    json_object_object_add(iface, "other_config", json_object_new_object());
    if (c->props->bfd) {
        put(bfd, "enable", "true");
        put_int(bfd, "min_rx", c->props->bfd_min_rx);
        put_int(bfd, "min_tx", c->props->bfd_min_tx);
    }
    json_object_object_add(iface, "bfd", bfd);
    return iface;
}

static void
put(struct json_object *map, const char *key, const char *value)
{
    json_object_object_add(map, key, json_object_new_string(value));
}

static void
put_int(struct json_object *map, const char *key, int64_t value)
{
    char text[24];

    snprintf(text, sizeof text, "%lld", (long long) value);
    put(map, key, text);
}
