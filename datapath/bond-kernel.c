/*
 * The kernel's side of bonds, through netlink (libnl-3) and the per-device
 * IPv4 settings.
 *
 * NICs answer ARP only for their own addresses.  With the userspace
 * datapath a NIC that is an OVS port still delivers its frames to the
 * host's own IP stack, and Linux by default answers ARP for any of the
 * host's addresses on every interface, each with its own MAC: on a network
 * where several NICs share a broadcast domain, a peer may learn the
 * management address at the MAC of a NIC without it, and lose the host
 * when that NIC later joins a bond (below) or goes elsewhere.  So every
 * physical PIF's NIC gets arp_ignore=1, as a NIC enslaved to a kernel
 * datapath never answers at all.
 *
 * Member NICs are kept quiet.  A member would answer ARP for the host's
 * addresses with its own MAC (arp_ignore=1 stops that) and would hand the
 * stack a second copy of every packet addressed to the bond's MAC, which
 * is also its own MAC when it is the primary (rp_filter=1 drops those:
 * the route back goes through the bond's bridge, not the member).
 *
 * The management address follows the management role.  When the role is
 * on a bond master PIF, the address (and the routes through it) belong on
 * the internal port of the bond's bridge; installers put it on the NIC
 * itself, so moving the role to a bond moves the address from the member
 * NIC to the bridge: the address is added there first, the routes follow,
 * and only then does the NIC lose it, so that connections to the host
 * survive.  When the role goes back to a physical PIF, the address goes
 * back to its NIC the same way, before OVS takes the bond's bridge away.
 * A management address on a VLAN PIF lives on the internal port of the
 * VLAN's fake bridge, like a bond's.
 *
 * An address that left the management role (a readdress, a move of the
 * role, a disabled role, a rolled-back change: host field
 * management_retired) is taken off every NIC and bridge of the host,
 * unless it is the management address again or another PIF's address,
 * once the change is no longer pending (host field management_rollback):
 * until then old and new addresses live side by side.
 * The default route follows the management gateway: it is replaced when
 * it leaves through another device or another gateway.
 */
#include "datapath/datapath.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"

#define LOG_MODULE "bond"

static int prefix_of(const char *netmask);
static void add_unique(struct json_object *array, const char *text);
static void quieten(const char *device);
static int move_address(struct nl_sock *, struct json_object *management);
static struct rtnl_addr *find_address(struct nl_cache *addrs, int ifindex,
                                      struct nl_addr *local);
static int move_routes(struct nl_sock *, int from, int to);
static int ensure_default_route(struct nl_sock *, const char *device,
                                const char *gateway);
static void retire_addresses(struct nl_sock *, struct json_object *retire);
static void write_sysctl(const char *device, const char *name,
                         const char *value);
static struct json_object *retire_plan(struct json_object *records,
                                       const char *host,
                                       struct json_object *management);

struct json_object *
dp_bond_kernel_plan(struct json_object *records, const char *host)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *bonds = json_object_object_get(records, "bond");
    struct json_object *plan = json_object_new_object();
    struct json_object *quiet = json_object_new_array();
    struct json_object *own_arp = json_object_new_array();
    struct json_object *management = NULL;

    json_object_object_add(plan, "quiet", quiet);
    json_object_object_add(plan, "own_arp", own_arp);
    if (!pifs) {
        return plan;
    }
    json_object_object_foreach (pifs, uuid, pif) {
        if (strcmp(record_string(pif, "host"), host)) {
            continue;
        }
        if (record_bool(pif, "physical") && record_int(pif, "VLAN", -1) < 0
            && *record_string(pif, "device")) {
            add_unique(own_arp, record_string(pif, "device"));
        }
        if (*record_string(pif, "bond_slave_of")
            && *record_string(pif, "device")) {
            add_unique(quiet, record_string(pif, "device"));
        }
        int prefix = prefix_of(record_string(pif, "netmask"));
        struct in_addr ip;
        if (!record_bool(pif, "management") || prefix < 0
            || inet_pton(AF_INET, record_string(pif, "IP"), &ip) != 1) {
            continue;
        }

        /* Where the address belongs: the bridge of a bond's or a VLAN's
         * network, or the NIC. */
        bool on_bond = false;
        json_object_object_foreach (bonds, bond_uuid, bond) {
            (void) bond_uuid;
            on_bond |= !strcmp(record_string(bond, "master"), uuid);
        }
        struct json_object *vlan = json_object_object_get(pif, "VLAN");
        bool on_bridge = on_bond || (vlan && json_object_get_int(vlan) >= 0);
        struct json_object *network =
            json_object_object_get(networks, record_string(pif, "network"));
        const char *device = on_bridge ? record_string(network, "bridge")
                                       : record_string(pif, "device");
        if (!*device
            || (on_bridge && !record_bool(pif, "currently_attached"))) {
            continue;
        }
        management = json_object_new_object();
        json_object_object_add(management, "pif",
                               json_object_new_string(uuid));
        json_object_object_add(
            management, "address",
            json_object_new_string(record_string(pif, "IP")));
        json_object_object_add(management, "prefix",
                               json_object_new_int(prefix));
        json_object_object_add(
            management, "gateway",
            json_object_new_string(record_string(pif, "gateway")));
        json_object_object_add(management, "device",
                               json_object_new_string(device));
        json_object_object_add(management, "bond",
                               json_object_new_boolean(on_bridge));
    }
    if (management) {
        /* Where it may be instead: any NIC of this host, any bridge of a
         * network. */
        struct json_object *candidates = json_object_new_array();
        const char *device = record_string(management, "device");
        json_object_object_foreach (pifs, u, p) {
            (void) u;
            if (!strcmp(record_string(p, "host"), host)
                && record_bool(p, "physical") && *record_string(p, "device")
                && strcmp(record_string(p, "device"), device)) {
                add_unique(candidates, record_string(p, "device"));
            }
        }
        json_object_object_foreach (networks, n, net) {
            (void) n;
            if (*record_string(net, "bridge")
                && strcmp(record_string(net, "bridge"), device)) {
                add_unique(candidates, record_string(net, "bridge"));
            }
        }
        json_object_object_add(management, "candidates", candidates);
        json_object_object_add(plan, "management", management);
    }
    struct json_object *retire = retire_plan(records, host, management);
    if (retire) {
        json_object_object_add(plan, "retire", retire);
    }
    return plan;
}

int
dp_bond_kernel_apply(struct json_object *plan)
{
    struct json_object *own_arp = json_object_object_get(plan, "own_arp");
    struct json_object *quiet = json_object_object_get(plan, "quiet");
    struct json_object *management =
        json_object_object_get(plan, "management");

    for (size_t i = 0; i < json_object_array_length(own_arp); i++) {
        write_sysctl(
            json_object_get_string(json_object_array_get_idx(own_arp, i)),
            "arp_ignore", "1");
    }
    for (size_t i = 0; i < json_object_array_length(quiet); i++) {
        quieten(json_object_get_string(json_object_array_get_idx(quiet, i)));
    }
    struct json_object *retire = json_object_object_get(plan, "retire");
    if (!management && !retire) {
        return 0;
    }

    struct nl_sock *sock = nl_socket_alloc();
    int error = 0;
    if (!sock || nl_connect(sock, NETLINK_ROUTE) < 0) {
        error = EIO;
    } else {
        /* The new address first, then the old ones go, then the default
         * route: connections to the host survive a readdress. */
        error = management ? move_address(sock, management) : 0;
        if (retire) {
            retire_addresses(sock, retire);
        }
        if (management && *record_string(management, "gateway")) {
            int retval =
                ensure_default_route(sock, record_string(management, "device"),
                                     record_string(management, "gateway"));
            error = error ? error : retval;
        }
    }
    nl_socket_free(sock);
    return error;
}

/* Returns the "retire" part of the plan for host 'host' of 'records', or
 * NULL: {"addresses": [{"address": IP, "keep": DEVICE}],
 * "devices": [every NIC and bridge]}.  An address that is 'management''s
 * is not retired; one that is another PIF's is kept on that PIF's bridge
 * (where ip-config.c puts it) and taken off the rest. */
static struct json_object *
retire_plan(struct json_object *records, const char *host,
            struct json_object *management)
{
    struct json_object *hosts = json_object_object_get(records, "host");
    struct json_object *record = json_object_object_get(hosts, host);
    struct json_object *retired =
        json_object_object_get(record, "management_retired");
    struct json_object *pending =
        json_object_object_get(record, "management_rollback");

    /* While a change waits for its gateway, the old addresses stay: the
     * client that asked gets its answer, and a rollback finds them. */
    if (!json_object_is_type(retired, json_type_array)
        || (pending && json_object_object_length(pending))) {
        return NULL;
    }
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *addresses = json_object_new_array();

    for (size_t i = 0; i < json_object_array_length(retired); i++) {
        const char *ip =
            json_object_get_string(json_object_array_get_idx(retired, i));
        struct in_addr addr;
        if (!ip || inet_pton(AF_INET, ip, &addr) != 1) {
            continue;
        }
        if (management && !strcmp(record_string(management, "address"), ip)) {
            continue;
        }
        const char *keep = "";
        json_object_object_foreach (pifs, uuid, pif) {
            (void) uuid;
            if (!strcmp(record_string(pif, "host"), host)
                && strcmp(record_string(pif, "ip_configuration_mode"), "None")
                && !strcmp(record_string(pif, "IP"), ip)) {
                keep =
                    record_string(json_object_object_get(
                                      networks, record_string(pif, "network")),
                                  "bridge");
            }
        }
        struct json_object *entry = json_object_new_object();
        json_object_object_add(entry, "address", json_object_new_string(ip));
        json_object_object_add(entry, "keep", json_object_new_string(keep));
        json_object_array_add(addresses, entry);
    }
    if (!json_object_array_length(addresses)) {
        json_object_put(addresses);
        return NULL;
    }

    struct json_object *devices = json_object_new_array();
    json_object_object_foreach (pifs, u, p) {
        (void) u;
        if (!strcmp(record_string(p, "host"), host)
            && record_bool(p, "physical") && *record_string(p, "device")) {
            add_unique(devices, record_string(p, "device"));
        }
    }
    json_object_object_foreach (networks, n, net) {
        (void) n;
        if (*record_string(net, "bridge")) {
            add_unique(devices, record_string(net, "bridge"));
        }
    }
    struct json_object *retire = json_object_new_object();
    json_object_object_add(retire, "addresses", addresses);
    json_object_object_add(retire, "devices", devices);
    return retire;
}

/* Helpers. */

/* Returns the prefix length of dotted netmask 'netmask', or -1 if it is
 * not one. */
static int
prefix_of(const char *netmask)
{
    struct in_addr mask;

    if (inet_pton(AF_INET, netmask, &mask) != 1) {
        return -1;
    }
    uint32_t bits = ntohl(mask.s_addr);
    int prefix = 0;
    while (prefix < 32 && (bits & (0x80000000u >> prefix))) {
        prefix++;
    }
    return bits == (prefix ? ~0u << (32 - prefix) : 0) ? prefix : -1;
}

static void
add_unique(struct json_object *array, const char *text)
{
    for (size_t i = 0; i < json_object_array_length(array); i++) {
        if (!strcmp(
                json_object_get_string(json_object_array_get_idx(array, i)),
                text)) {
            return;
        }
    }
    json_object_array_add(array, json_object_new_string(text));
}

/* Sets arp_ignore and rp_filter of member NIC 'device' to 1, if they are
 * not already. */
static void
quieten(const char *device)
{
    write_sysctl(device, "arp_ignore", "1");
    write_sysctl(device, "rp_filter", "1");
}

/* Converges the management address described by 'management' (from
 * dp_bond_kernel_plan()). */
static int
move_address(struct nl_sock *sock, struct json_object *management)
{
    const char *device = record_string(management, "device");
    struct json_object *candidates =
        json_object_object_get(management, "candidates");
    struct nl_cache *addrs = NULL;
    struct nl_addr *local = NULL;
    struct rtnl_link *link = NULL;
    char *text = xasprintf(
        "%s/%d", record_string(management, "address"),
        json_object_get_int(json_object_object_get(management, "prefix")));
    int error = 0;

    /* Only the addresses are dumped: hosts with many VIFs have many
     * links, and most runs have nothing to move. */
    if (rtnl_addr_alloc_cache(sock, &addrs) < 0
        || nl_addr_parse(text, AF_INET, &local) < 0) {
        error = EIO;
        goto out;
    }
    int ifindex = (int) if_nametoindex(device);
    if (!ifindex) {
        goto out; /* OVS has not made the bridge yet: a later run will. */
    }

    /* The candidate interfaces that hold it now. */
    int holders[16];
    size_t n_holders = 0;
    for (size_t i = 0; i < json_object_array_length(candidates); i++) {
        int other = (int) if_nametoindex(
            json_object_get_string(json_object_array_get_idx(candidates, i)));
        if (other && n_holders < 16 && find_address(addrs, other, local)) {
            holders[n_holders++] = other;
        }
    }
    bool present = find_address(addrs, ifindex, local) != NULL;
    if (present && !n_holders) {
        goto out;
    }
    if (rtnl_link_get_kernel(sock, ifindex, NULL, &link) < 0) {
        error = EIO;
        goto out;
    }

    if (!(rtnl_link_get_flags(link) & IFF_UP)) {
        struct rtnl_link *change = rtnl_link_alloc();
        rtnl_link_set_flags(change, IFF_UP);
        if (rtnl_link_change(sock, link, change, 0) < 0) {
            log_warn("%s: cannot bring up", device);
        }
        rtnl_link_put(change);
    }
    if (!present) {
        struct rtnl_addr *addr = rtnl_addr_alloc();
        rtnl_addr_set_ifindex(addr, ifindex);
        rtnl_addr_set_local(addr, local);
        int retval = rtnl_addr_add(sock, addr, 0);
        rtnl_addr_put(addr);
        if (retval < 0 && retval != -NLE_EXIST) {
            log_warn("%s: cannot add the management address %s: %s", device,
                     text, nl_geterror(retval));
            error = EIO;
            goto out;
        }
        log_info("management address %s now on %s", text, device);
    }
    for (size_t i = 0; i < n_holders; i++) {
        move_routes(sock, holders[i], ifindex);
        struct rtnl_addr *old = find_address(addrs, holders[i], local);
        int retval = old ? rtnl_addr_delete(sock, old, 0) : 0;
        if (retval < 0) {
            log_warn("cannot remove the management address from ifindex "
                     "%d: %s",
                     holders[i], nl_geterror(retval));
        }
    }

out:
    rtnl_link_put(link);
    nl_addr_put(local);
    nl_cache_free(addrs);
    free(text);
    return error;
}

/* Returns the IPv4 address 'local' of interface 'ifindex' in 'addrs'
 * (borrowed), or NULL. */
static struct rtnl_addr *
find_address(struct nl_cache *addrs, int ifindex, struct nl_addr *local)
{
    for (struct nl_object *o = nl_cache_get_first(addrs); o;
         o = nl_cache_get_next(o)) {
        struct rtnl_addr *addr = (struct rtnl_addr *) o;
        struct nl_addr *have = rtnl_addr_get_local(addr);
        if (rtnl_addr_get_ifindex(addr) == ifindex
            && rtnl_addr_get_family(addr) == AF_INET && have
            && nl_addr_get_len(have) == nl_addr_get_len(local)
            && !memcmp(nl_addr_get_binary_addr(have),
                       nl_addr_get_binary_addr(local),
                       nl_addr_get_len(local))) {
            return addr;
        }
    }
    return NULL;
}

/* Moves the routes of the main table that leave through interface 'from'
 * via a gateway (the default route, static routes) to interface 'to'. */
static int
move_routes(struct nl_sock *sock, int from, int to)
{
    struct nl_cache *routes = NULL;

    if (rtnl_route_alloc_cache(sock, AF_INET, 0, &routes) < 0) {
        return EIO;
    }
    for (struct nl_object *o = nl_cache_get_first(routes); o;
         o = nl_cache_get_next(o)) {
        struct rtnl_route *route = (struct rtnl_route *) o;
        if (rtnl_route_get_table(route) != RT_TABLE_MAIN
            || rtnl_route_get_protocol(route) == RTPROT_KERNEL
            || rtnl_route_get_nnexthops(route) != 1) {
            continue;
        }
        struct rtnl_nexthop *nh = rtnl_route_nexthop_n(route, 0);
        if (rtnl_route_nh_get_ifindex(nh) != from
            || !rtnl_route_nh_get_gateway(nh)) {
            continue;
        }
        struct rtnl_route *moved =
            (struct rtnl_route *) nl_object_clone((struct nl_object *) route);
        rtnl_route_nh_set_ifindex(rtnl_route_nexthop_n(moved, 0), to);
        int retval = rtnl_route_add(sock, moved, NLM_F_REPLACE);
        if (retval < 0) {
            log_warn("cannot move a route to ifindex %d: %s", to,
                     nl_geterror(retval));
        }
        rtnl_route_put(moved);
    }
    nl_cache_free(routes);
    return 0;
}

/* Makes the main table's default route "via 'gateway' dev 'device'",
 * replacing one that leaves another way.  A device that does not exist
 * yet is left for a later run. */
static int
ensure_default_route(struct nl_sock *sock, const char *device,
                     const char *gateway)
{
    struct nl_cache *routes = NULL;
    struct nl_addr *gw = NULL, *any = NULL;
    int ifindex = (int) if_nametoindex(device);
    int error = 0;

    if (!ifindex) {
        return 0;
    }
    if (nl_addr_parse(gateway, AF_INET, &gw) < 0
        || nl_addr_parse("0.0.0.0/0", AF_INET, &any) < 0) {
        error = EINVAL;
        goto out;
    }
    if (rtnl_route_alloc_cache(sock, AF_INET, 0, &routes) < 0) {
        error = EIO;
        goto out;
    }
    for (struct nl_object *o = nl_cache_get_first(routes); o;
         o = nl_cache_get_next(o)) {
        struct rtnl_route *route = (struct rtnl_route *) o;
        if (rtnl_route_get_table(route) != RT_TABLE_MAIN
            || nl_addr_get_prefixlen(rtnl_route_get_dst(route)) != 0) {
            continue;
        }
        struct rtnl_nexthop *nh = rtnl_route_get_nnexthops(route) == 1
                                      ? rtnl_route_nexthop_n(route, 0)
                                      : NULL;
        struct nl_addr *have = nh ? rtnl_route_nh_get_gateway(nh) : NULL;
        if (have && rtnl_route_nh_get_ifindex(nh) == ifindex
            && !nl_addr_cmp(have, gw)) {
            goto out; /* Already right. */
        }
    }

    struct rtnl_route *route = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    rtnl_route_set_family(route, AF_INET);
    rtnl_route_set_table(route, RT_TABLE_MAIN);
    rtnl_route_set_dst(route, any);
    rtnl_route_nh_set_ifindex(nh, ifindex);
    rtnl_route_nh_set_gateway(nh, gw);
    rtnl_route_add_nexthop(route, nh);
    int retval = rtnl_route_add(sock, route, NLM_F_CREATE | NLM_F_REPLACE);
    if (retval < 0) {
        log_warn("cannot make the default route via %s dev %s: %s", gateway,
                 device, nl_geterror(retval));
        error = EIO;
    } else {
        log_info("default route via %s dev %s", gateway, device);
    }
    rtnl_route_put(route);

out:
    nl_addr_put(gw);
    nl_addr_put(any);
    nl_cache_free(routes);
    return error;
}

/* Takes the addresses of 'retire' (from retire_plan()) off its devices.
 * The device's secondary addresses are promoted first, so that removing
 * an old primary address keeps a new one on the same subnet. */
static void
retire_addresses(struct nl_sock *sock, struct json_object *retire)
{
    struct json_object *addresses =
        json_object_object_get(retire, "addresses");
    struct json_object *devices = json_object_object_get(retire, "devices");
    struct nl_cache *addrs = NULL;

    if (rtnl_addr_alloc_cache(sock, &addrs) < 0) {
        return;
    }
    for (size_t i = 0; i < json_object_array_length(addresses); i++) {
        struct json_object *entry = json_object_array_get_idx(addresses, i);
        const char *text = record_string(entry, "address");
        const char *keep = record_string(entry, "keep");
        struct nl_addr *local = NULL;
        if (nl_addr_parse(text, AF_INET, &local) < 0) {
            continue;
        }
        for (size_t j = 0; j < json_object_array_length(devices); j++) {
            const char *device =
                json_object_get_string(json_object_array_get_idx(devices, j));
            if (!strcmp(device, keep)) {
                continue;
            }
            int ifindex = (int) if_nametoindex(device);
            struct rtnl_addr *old =
                ifindex ? find_address(addrs, ifindex, local) : NULL;
            if (!old) {
                continue;
            }
            write_sysctl(device, "promote_secondaries", "1");
            int retval = rtnl_addr_delete(sock, old, 0);
            if (retval < 0) {
                log_warn("%s: cannot remove the old management address %s: %s",
                         device, text, nl_geterror(retval));
            } else {
                log_info("old management address %s removed from %s", text,
                         device);
            }
        }
        nl_addr_put(local);
    }
    nl_cache_free(addrs);
}

/* Writes 'value' to net.ipv4.conf.'device'.'name' if it differs. */
static void
write_sysctl(const char *device, const char *name, const char *value)
{
    if (strchr(device, '/') || !strcmp(device, ".") || !strcmp(device, "..")) {
        return;
    }
    char *path = xasprintf("/proc/sys/net/ipv4/conf/%s/%s", device, name);
    char have[16] = "";
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, have, sizeof have - 1);
        size_t len = strlen(value);
        if (n >= 0 && strncmp(have, value, len)) {
            if (pwrite(fd, value, len, 0) != (ssize_t) len) {
                log_warn("%s: cannot write: %s", path, strerror(errno));
            }
        }
        close(fd);
    }
    free(path);
}
