/*
 * Static addresses of non-management PIFs (a storage VLAN, a storage NIC),
 * converged onto the kernel through libnl-3.  A PIF's address lives on the
 * internal interface named after its network's bridge: the bridge's own
 * port for an untagged PIF, the fake bridge's port for a VLAN PIF.  Those
 * interfaces belong to netpool's bridges, and each address netpool puts on
 * one carries the label "DEVICE:np", so that it removes its own addresses
 * and never one that someone else put there.
 *
 * The reconciler calls this on every run: after a store change, after OVS
 * (re)creates its internal interfaces, at every resync.  Adding what is
 * missing and removing what is stale makes it idempotent, and a restart of
 * netpoold or of OVS ends with the same addresses.  The management PIF is
 * never touched here.
 */
#include "datapath/datapath.h"

#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "lib/log.h"

#define LOG_MODULE "ip-config"

#define LABEL_SUFFIX ":np" /* Marks the addresses netpool owns. */

static const char *field(struct json_object *record, const char *name);
static bool bool_field(struct json_object *record, const char *name);
static int netmask_prefix(const char *netmask);
static int converge_device(struct nl_sock *, struct nl_cache *addrs,
                           const char *device, const char *address,
                           int prefix);

struct json_object *
dp_ip_config_plan(struct json_object *records, const char *host)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *plan = json_object_new_object();

    if (!pifs) {
        return plan;
    }
    json_object_object_foreach (pifs, uuid, pif) {
        struct json_object *network =
            json_object_object_get(networks, field(pif, "network"));
        const char *device = field(network, "bridge");
        if (strcmp(field(pif, "host"), host) || bool_field(pif, "management")
            || !bool_field(pif, "currently_attached")
            || *field(pif, "bond_slave_of") || !*device) {
            continue;
        }

        struct in_addr addr;
        const char *ip = field(pif, "IP");
        int prefix = netmask_prefix(field(pif, "netmask"));
        bool has_address =
            !strcmp(field(pif, "ip_configuration_mode"), "Static")
            && inet_pton(AF_INET, ip, &addr) == 1 && prefix >= 0;

        struct json_object *entry = json_object_new_object();
        json_object_object_add(entry, "pif", json_object_new_string(uuid));
        json_object_object_add(entry, "address",
                               json_object_new_string(has_address ? ip : ""));
        json_object_object_add(entry, "prefix",
                               json_object_new_int(has_address ? prefix : 0));
        json_object_object_add(plan, device, entry);
    }
    return plan;
}

int
dp_ip_config_apply(struct json_object *plan)
{
    struct nl_sock *sock = NULL;
    struct nl_cache *addrs = NULL;
    int error = 0;

    if (!json_object_object_length(plan)) {
        return 0;
    }
    sock = nl_socket_alloc();
    if (!sock || nl_connect(sock, NETLINK_ROUTE) < 0
        || rtnl_addr_alloc_cache(sock, &addrs) < 0) {
        error = EIO;
        goto out;
    }
    json_object_object_foreach (plan, device, entry) {
        int retval = converge_device(
            sock, addrs, device, field(entry, "address"),
            json_object_get_int(json_object_object_get(entry, "prefix")));
        if (retval && !error) {
            error = retval;
        }
    }

out:
    if (addrs) {
        nl_cache_free(addrs);
    }
    nl_socket_free(sock);
    return error;
}

/* Makes 'device' hold 'address'/'prefix' (none when 'address' is "") as
 * far as netpool's own addresses go.  A device that does not exist yet is
 * left for the next run.  Returns 0 or a positive errno. */
static int
converge_device(struct nl_sock *sock, struct nl_cache *addrs,
                const char *device, const char *address, int prefix)
{
    struct rtnl_link *link = NULL;
    char label[IF_NAMESIZE] = "";
    bool present = false;
    int error = 0;

    /* One device at a time: a host with many VIFs has many links. */
    if (rtnl_link_get_kernel(sock, 0, device, &link) < 0) {
        return 0;
    }
    int ifindex = rtnl_link_get_ifindex(link);
    if (strlen(device) + strlen(LABEL_SUFFIX) < sizeof label) {
        snprintf(label, sizeof label, "%s%s", device, LABEL_SUFFIX);
    }

    for (struct nl_object *o = nl_cache_get_first(addrs); o;
         o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *) o;
        struct nl_addr *local = rtnl_addr_get_local(a);
        char text[INET_ADDRSTRLEN] = "";

        if (rtnl_addr_get_ifindex(a) != ifindex
            || rtnl_addr_get_family(a) != AF_INET || !local
            || nl_addr_get_len(local) != 4) {
            continue;
        }
        inet_ntop(AF_INET, nl_addr_get_binary_addr(local), text, sizeof text);
        const char *have_label = rtnl_addr_get_label(a);
        if (*address && !strcmp(text, address)
            && rtnl_addr_get_prefixlen(a) == prefix) {
            present = true;
        } else if (*label && have_label && !strcmp(have_label, label)) {
            int retval = rtnl_addr_delete(sock, a, 0);
            if (retval < 0) {
                log_warn("%s: cannot remove %s/%d: %s", device, text,
                         rtnl_addr_get_prefixlen(a), nl_geterror(retval));
                error = EIO;
            } else {
                log_info("%s: removed %s/%d", device, text,
                         rtnl_addr_get_prefixlen(a));
            }
        }
    }

    if (*address && !present) {
        struct rtnl_addr *a = rtnl_addr_alloc();
        struct in_addr in, bcast;
        inet_pton(AF_INET, address, &in);
        bcast.s_addr =
            in.s_addr | htonl(prefix < 32 ? 0xffffffffu >> prefix : 0);
        struct nl_addr *local = nl_addr_build(AF_INET, &in, 4);
        struct nl_addr *broadcast = nl_addr_build(AF_INET, &bcast, 4);
        nl_addr_set_prefixlen(local, prefix);
        rtnl_addr_set_ifindex(a, ifindex);
        rtnl_addr_set_family(a, AF_INET);
        rtnl_addr_set_local(a, local);
        if (prefix < 31) {
            rtnl_addr_set_broadcast(a, broadcast);
        }
        if (*label) {
            rtnl_addr_set_label(a, label);
        }
        int retval = rtnl_addr_add(sock, a, 0);
        if (retval < 0 && retval != -NLE_EXIST) {
            log_warn("%s: cannot add %s/%d: %s", device, address, prefix,
                     nl_geterror(retval));
            error = EIO;
        } else {
            log_info("%s: added %s/%d", device, address, prefix);
        }
        nl_addr_put(local);
        nl_addr_put(broadcast);
        rtnl_addr_put(a);
    }

    /* OVS creates internal interfaces down; an address is no use there. */
    if (*address && !(rtnl_link_get_flags(link) & IFF_UP)) {
        struct rtnl_link *change = rtnl_link_alloc();
        rtnl_link_set_flags(change, IFF_UP);
        int retval = rtnl_link_change(sock, link, change, 0);
        if (retval < 0) {
            log_warn("%s: cannot bring up: %s", device, nl_geterror(retval));
            error = EIO;
        }
        rtnl_link_put(change);
    }
    rtnl_link_put(link);
    return error;
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

static bool
bool_field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
           && json_object_get_boolean(value);
}

/* Returns the prefix length of dotted-quad 'netmask', or -1 if it is not
 * a contiguous netmask. */
static int
netmask_prefix(const char *netmask)
{
    struct in_addr addr;

    if (inet_pton(AF_INET, netmask, &addr) != 1) {
        return -1;
    }
    uint32_t mask = ntohl(addr.s_addr);
    int prefix = __builtin_popcount(mask);
    if (prefix && mask != 0xffffffffu << (32 - prefix)) {
        return -1;
    }
    return prefix;
}
