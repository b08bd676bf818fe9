/* NIC discovery: which kernel links are NICs, and their facts (libnl-3). */
#include "datapath/datapath.h"

#include <errno.h>
#include <fnmatch.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "link"

static void read_ethtool(int fd, struct dp_link *);
static void read_address(struct nl_cache *addrs, struct dp_link *);
static int compare_links(const void *, const void *);

bool
dp_link_is_nic(const struct dp_link_facts *facts, const char *globs)
{
    if (facts->arptype != ARPHRD_ETHER || facts->enslaved) {
        return false;
    }
    if (facts->kind && strcmp(facts->kind, "veth")) {
        return false; /* Bridges, tunnels, taps, VLANs. */
    }
    if (!facts->has_device && !facts->kind) {
        return false; /* Virtual without a kind: not a NIC. */
    }

    /* Match the name against each glob of the space-separated list. */
    char *copy = xstrdup(globs), *save = NULL;
    bool match = false;
    for (char *g = strtok_r(copy, " \t,", &save); g && !match;
         g = strtok_r(NULL, " \t,", &save)) {
        match = !fnmatch(g, facts->name, 0);
    }
    free(copy);
    return match;
}

int
dp_links_read(const char *globs, struct dp_link **linksp, size_t *np)
{
    struct nl_sock *sock = nl_socket_alloc();
    struct nl_cache *links = NULL, *addrs = NULL;
    struct dp_link *out = NULL;
    size_t n = 0;
    int error = 0;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    *linksp = NULL;
    *np = 0;
    if (!sock || nl_connect(sock, NETLINK_ROUTE) < 0
        || rtnl_link_alloc_cache(sock, AF_UNSPEC, &links) < 0
        || rtnl_addr_alloc_cache(sock, &addrs) < 0) {
        error = EIO;
        goto out;
    }

    out = xzalloc(sizeof *out * (nl_cache_nitems(links) + 1));
    for (struct nl_object *o = nl_cache_get_first(links); o;
         o = nl_cache_get_next(o)) {
        struct rtnl_link *link = (struct rtnl_link *) o;
        const char *name = rtnl_link_get_name(link);
        char path[64 + IF_NAMESIZE];

        snprintf(path, sizeof path, "/sys/class/net/%s/device", name);
        struct dp_link_facts facts = {
            .name = name,
            .kind = rtnl_link_get_type(link),
            .arptype = rtnl_link_get_arptype(link),
            .has_device = access(path, F_OK) == 0,
            .enslaved = rtnl_link_get_master(link) > 0,
        };
        if (!dp_link_is_nic(&facts, globs)) {
            continue;
        }

        struct dp_link *l = &out[n++];
        snprintf(l->device, sizeof l->device, "%s", name);
        struct nl_addr *mac = rtnl_link_get_addr(link);
        if (mac) {
            nl_addr2str(mac, l->mac, sizeof l->mac);
        }
        l->ifindex = rtnl_link_get_ifindex(link);
        l->mtu = (int) rtnl_link_get_mtu(link);
        l->carrier = rtnl_link_get_carrier(link) != 0
                     && (rtnl_link_get_flags(link) & IFF_UP);
        l->duplex = "unknown";
        if (fd >= 0) {
            read_ethtool(fd, l);
        }
        read_address(addrs, l);
    }
    qsort(out, n, sizeof *out, compare_links);
    *linksp = out;
    *np = n;
    out = NULL;

out:
    free(out);
    if (fd >= 0) {
        close(fd);
    }
    nl_cache_free(addrs);
    nl_cache_free(links);
    nl_socket_free(sock);
    return error;
}

/* Speed and duplex through the ethtool ioctl; left unknown when the driver
 * does not say. */
static void
read_ethtool(int fd, struct dp_link *link)
{
    struct ethtool_cmd cmd = {.cmd = ETHTOOL_GSET};
    struct ifreq ifr;

    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", link->device);
    ifr.ifr_data = (void *) &cmd;
    if (ioctl(fd, SIOCETHTOOL, &ifr) < 0) {
        return;
    }
    unsigned int speed = ethtool_cmd_speed(&cmd);
    link->speed = speed == (unsigned int) SPEED_UNKNOWN ? 0 : (int) speed;
    link->duplex = cmd.duplex == DUPLEX_FULL   ? "full"
                   : cmd.duplex == DUPLEX_HALF ? "half"
                                               : "unknown";
}

static void
read_address(struct nl_cache *addrs, struct dp_link *link)
{
    for (struct nl_object *o = nl_cache_get_first(addrs); o;
         o = nl_cache_get_next(o)) {
        struct rtnl_addr *addr = (struct rtnl_addr *) o;
        if (rtnl_addr_get_ifindex(addr) != link->ifindex
            || rtnl_addr_get_family(addr) != AF_INET) {
            continue;
        }
        struct nl_addr *local = rtnl_addr_get_local(addr);
        int prefix = rtnl_addr_get_prefixlen(addr);
        if (!local || nl_addr_get_len(local) != 4) {
            continue;
        }
        inet_ntop(AF_INET, nl_addr_get_binary_addr(local), link->ip,
                  sizeof link->ip);
        struct in_addr mask = {.s_addr =
                                   htonl(prefix ? ~0u << (32 - prefix) : 0)};
        inet_ntop(AF_INET, &mask, link->netmask, sizeof link->netmask);
        return;
    }
}

static int
compare_links(const void *a_, const void *b_)
{
    const struct dp_link *a = a_, *b = b_;
    return strcmp(a->device, b->device);
}
