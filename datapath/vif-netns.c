/*
 * Namespace guests: until VMs exist, a VIF can stand for a network
 * namespace (other_config:netns) that plays the guest.  netpoold makes a
 * veth pair for it: the host end, named after the VIF's port, stays in
 * netpoold's own namespace and becomes the OVS port; the guest end moves
 * into the guest's namespace as "eth<device>" with the VIF's MAC.  Both
 * ends are up, with transmit checksum offload off (the userspace datapath
 * reads frames through AF_PACKET, which sees checksums the kernel has not
 * filled in yet); the host end, a switch port, has IPv6 off.  A pair is
 * made in one netlink request that gives both ends their names and MTU
 * and the guest end its MAC and namespace, without looking first; then
 * the alias, checksum offload, IPv6 and up state are each set once.
 *
 * The host end's alias ("netpool-vif UUID") marks the pairs netpoold
 * made, so that it deletes only its own.  What it made or verified is
 * remembered, so a run that finds nothing new costs no system call; the
 * kernel is listed again every SCAN_INTERVAL_MS to notice pairs that went
 * away (a deleted guest namespace takes its pair with it).  On its first
 * run after a restart it adopts every right pair it finds without
 * touching it, so traffic through them never stops.
 */
#include "datapath/datapath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "vif-netns"

#define NETNS_DIR "/run/netns"      /* Where `ip netns add` puts them. */
#define ALIAS_PREFIX "netpool-vif " /* Alias of the host ends made here. */
#define SCAN_INTERVAL_MS 5000       /* How often the kernel is listed. */

struct dp_vif_netns {
    struct nl_sock *sock;       /* rtnetlink, netpoold's namespace. */
    int home_fd;                /* netpoold's own network namespace. */
    int ioctl_fd;               /* AF_INET socket in netpoold's namespace. */
    struct json_object *made;   /* VIF UUID → guest (dp_vif_guests_build()
                                 * form) known to be in place. */
    struct json_object *failed; /* VIF UUID → errno of the last failure to
                                 * make its pair, so it is logged once. */
    long long last_scan_ms;     /* When the kernel was last listed. */
    bool scanned;               /* True after the first listing. */
};

static int scan(struct dp_vif_netns *, struct json_object *guests);
static int make_pair(struct dp_vif_netns *, const char *uuid,
                     struct json_object *guest);
static int add_pair(struct dp_vif_netns *, struct json_object *guest,
                    int ns_fd);
static int set_alias(struct dp_vif_netns *, const char *name,
                     const char *alias);
static bool is_ours(struct dp_vif_netns *, const char *name);
static int delete_link(struct dp_vif_netns *, const char *name);
static int nl_error_to_errno(int nl_error);
static bool guest_right(struct dp_vif_netns *, struct json_object *guest);
static int set_guest_mtu(struct dp_vif_netns *, struct json_object *guest);
static int netns_socket(struct dp_vif_netns *, const char *netns);
static int socket_in(struct dp_vif_netns *, int ns_fd);
static int open_netns(const char *netns);
static int tx_checksum_off(int fd, const char *name);
static int bring_up(int fd, const char *name);
static int link_read(int fd, const char *name, char *mac, int *mtu, bool *up);
static void host_end_no_ipv6(const char *port);
static bool same_guest(struct json_object *a, struct json_object *b,
                       bool with_mtu);
static const char *str(struct json_object *guest, const char *key);
static long long now_ms(void);

struct dp_vif_netns *
dp_vif_netns_create(void)
{
    struct dp_vif_netns *netns = xzalloc(sizeof *netns);

    netns->sock = nl_socket_alloc();
    if (netns->sock && nl_connect(netns->sock, NETLINK_ROUTE)) {
        nl_socket_free(netns->sock);
        netns->sock = NULL;
    }
    netns->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    netns->ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    netns->made = json_object_new_object();
    netns->failed = json_object_new_object();
    if (!netns->sock || netns->home_fd < 0 || netns->ioctl_fd < 0) {
        log_warn("namespace guests unavailable: no netlink socket or "
                 "namespace handle");
    }
    return netns;
}

void
dp_vif_netns_destroy(struct dp_vif_netns *netns)
{
    if (!netns) {
        return;
    }
    if (netns->sock) {
        nl_socket_free(netns->sock);
    }
    if (netns->home_fd >= 0) {
        close(netns->home_fd);
    }
    if (netns->ioctl_fd >= 0) {
        close(netns->ioctl_fd);
    }
    json_object_put(netns->made);
    json_object_put(netns->failed);
    free(netns);
}

int
dp_vif_netns_sync(struct dp_vif_netns *netns, struct json_object *guests)
{
    int error = 0;

    if (!netns->sock || netns->home_fd < 0 || netns->ioctl_fd < 0) {
        return json_object_object_length(guests) ? ENOTSUP : 0;
    }
    if (!netns->scanned
        || now_ms() - netns->last_scan_ms >= SCAN_INTERVAL_MS) {
        error = scan(netns, guests);
    }

    /* Pairs no longer wanted, or wanted differently. */
    struct json_object *gone = json_object_new_array();
    json_object_object_foreach (netns->made, uuid, have) {
        struct json_object *want = json_object_object_get(guests, uuid);
        if (!want || !same_guest(want, have, false)) {
            json_object_array_add(gone, json_object_new_string(uuid));
        }
    }
    for (size_t i = 0; i < json_object_array_length(gone); i++) {
        int retval = dp_vif_netns_update(
            netns, json_object_get_string(json_object_array_get_idx(gone, i)),
            NULL);
        error = error ? error : retval;
    }
    json_object_put(gone);

    /* Pairs to make, and MTUs to follow. */
    json_object_object_foreach (guests, id, want) {
        int retval = dp_vif_netns_update(netns, id, want);
        error = error ? error : retval;
    }
    return error;
}

int
dp_vif_netns_update(struct dp_vif_netns *netns, const char *uuid,
                    struct json_object *want)
{
    struct json_object *have = json_object_object_get(netns->made, uuid);
    int retval = 0;

    if (!netns->sock || netns->home_fd < 0 || netns->ioctl_fd < 0) {
        return want ? ENOTSUP : 0;
    }
    if (have && (!want || !same_guest(want, have, false))) {
        retval = delete_link(netns, str(have, "port"));
        if (retval && retval != ENODEV) {
            log_warn("%s: cannot delete: %s", str(have, "port"),
                     strerror(retval));
            return retval;
        }
        json_object_object_del(netns->made, uuid);
        have = NULL;
    }
    if (!want) {
        json_object_object_del(netns->failed, uuid);
        return 0;
    }
    if (!have) {
        retval = make_pair(netns, uuid, want);
    } else if (!same_guest(want, have, true)) {
        retval = set_guest_mtu(netns, want);
    } else {
        return 0;
    }

    struct json_object *last = json_object_object_get(netns->failed, uuid);
    if (retval) {
        /* Retried on every full run; said once. */
        if (json_object_get_int(last) != retval) {
            log_warn("%s (VIF %s, namespace %s): %s", str(want, "port"), uuid,
                     str(want, "netns"), strerror(retval));
            json_object_object_add(netns->failed, uuid,
                                   json_object_new_int(retval));
        }
        return retval;
    }
    json_object_object_add(netns->made, uuid, json_object_get(want));
    json_object_object_del(netns->failed, uuid);
    return 0;
}

/* Lists the kernel's links and brings 'netns->made' in line with the
 * pairs that exist: host ends made here for VIFs no longer in 'guests',
 * or for another port name, are deleted; on the first listing, pairs that
 * are right are adopted as they are. */
static int
scan(struct dp_vif_netns *netns, struct json_object *guests)
{
    struct nl_cache *cache;
    int error = rtnl_link_alloc_cache(netns->sock, AF_UNSPEC, &cache);

    if (error) {
        return EIO;
    }
    netns->last_scan_ms = now_ms();

    struct json_object *present = json_object_new_object();
    for (struct nl_object *o = nl_cache_get_first(cache); o;
         o = nl_cache_get_next(o)) {
        struct rtnl_link *link = (struct rtnl_link *) o;
        const char *alias = rtnl_link_get_ifalias(link);
        const char *name = rtnl_link_get_name(link);
        size_t prefix = strlen(ALIAS_PREFIX);
        if (!alias || !name || strncmp(alias, ALIAS_PREFIX, prefix)) {
            continue;
        }
        const char *uuid = alias + prefix;
        struct json_object *want = json_object_object_get(guests, uuid);
        if (!want || strcmp(str(want, "port"), name)) {
            int retval = delete_link(netns, name);
            if (retval && retval != ENODEV) {
                error = error ? error : retval;
            }
            continue;
        }
        json_object_object_add(present, uuid, json_object_new_boolean(1));
        if (!netns->scanned && !json_object_object_get(netns->made, uuid)
            && guest_right(netns, want)) {
            json_object_object_add(netns->made, uuid, json_object_get(want));
        }
    }
    nl_cache_free(cache);

    /* What was made but is gone (its namespace went, say) is made again. */
    struct json_object *lost = json_object_new_array();
    json_object_object_foreach (netns->made, uuid, have) {
        (void) have;
        if (!json_object_object_get(present, uuid)) {
            json_object_array_add(lost, json_object_new_string(uuid));
        }
    }
    for (size_t i = 0; i < json_object_array_length(lost); i++) {
        json_object_object_del(
            netns->made,
            json_object_get_string(json_object_array_get_idx(lost, i)));
    }
    json_object_put(lost);
    json_object_put(present);
    netns->scanned = true;
    return error;
}

/* Makes the veth pair of VIF 'uuid' as 'guest' describes it, replacing a
 * leftover host end of the same name that netpoold made.  Returns 0 or a
 * positive errno: EEXIST if a link of that name is not one of netpoold's,
 * ENOENT if the guest's namespace does not exist, EIO for another netlink
 * failure, or what a failed ioctl said. */
static int
make_pair(struct dp_vif_netns *netns, const char *uuid,
          struct json_object *guest)
{
    const char *port = str(guest, "port");
    const char *device = str(guest, "device");
    int ns_fd = open_netns(str(guest, "netns"));
    int error;

    if (ns_fd < 0) {
        return -ns_fd;
    }
    error = add_pair(netns, guest, ns_fd);
    if (error == EEXIST) {
        /* A stale pair of ours by that name goes first; another link by
         * that name is not ours to touch. */
        if (!is_ours(netns, port)) {
            close(ns_fd);
            return EEXIST;
        }
        delete_link(netns, port);
        error = add_pair(netns, guest, ns_fd);
    }
    if (error) {
        close(ns_fd);
        return error;
    }

    /* Mark it as ours before anything else can fail. */
    char alias[sizeof ALIAS_PREFIX + 64];
    snprintf(alias, sizeof alias, "%s%s", ALIAS_PREFIX, uuid);
    error = set_alias(netns, port, alias);
    if (!error) {
        int fd = socket_in(netns, ns_fd);
        error = fd < 0 ? -fd : tx_checksum_off(fd, device);
        if (!error) {
            error = bring_up(fd, device);
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    close(ns_fd);
    if (!error) {
        host_end_no_ipv6(port);
        error = tx_checksum_off(netns->ioctl_fd, port);
    }
    if (!error) {
        error = bring_up(netns->ioctl_fd, port);
    }
    if (error) {
        delete_link(netns, port);
    }
    return error;
}

/* Asks the kernel, in one request, for the veth pair 'guest' describes:
 * the host end named for its port and the guest end named for its device,
 * with its MAC, in the namespace 'ns_fd'; both down, with the guest's MTU
 * (when it has one).  Returns 0, EEXIST if a link of the host
 * end's name exists, or another positive errno. */
static int
add_pair(struct dp_vif_netns *netns, struct json_object *guest, int ns_fd)
{
    int mtu = json_object_get_int(json_object_object_get(guest, "MTU"));
    unsigned int o[6];
    unsigned char mac[6];

    if (sscanf(str(guest, "MAC"), "%2x:%2x:%2x:%2x:%2x:%2x", &o[0], &o[1],
               &o[2], &o[3], &o[4], &o[5])
        != 6) {
        return EINVAL;
    }
    for (size_t i = 0; i < 6; i++) {
        mac[i] = (unsigned char) o[i];
    }

    struct rtnl_link *link = rtnl_link_veth_alloc();
    if (!link) {
        return ENOMEM;
    }
    struct rtnl_link *peer = rtnl_link_veth_get_peer(link);
    struct nl_addr *address = nl_addr_build(AF_LLC, mac, sizeof mac);
    rtnl_link_set_name(link, str(guest, "port"));
    rtnl_link_set_name(peer, str(guest, "device"));
    if (mtu > 0) {
        rtnl_link_set_mtu(link, (unsigned int) mtu);
        rtnl_link_set_mtu(peer, (unsigned int) mtu);
    }
    if (address) {
        rtnl_link_set_addr(peer, address);
        nl_addr_put(address);
    }
    rtnl_link_set_ns_fd(peer, ns_fd);
    rtnl_link_put(peer);
    int error =
        address ? rtnl_link_add(netns->sock, link, NLM_F_CREATE | NLM_F_EXCL)
                : -NLE_NOMEM;
    rtnl_link_put(link);
    return nl_error_to_errno(error);
}

/* Sets the alias of link 'name' of netpoold's namespace to 'alias', found
 * by its name (no lookup first).  Returns 0 or a positive errno. */
static int
set_alias(struct dp_vif_netns *netns, const char *name, const char *alias)
{
    struct rtnl_link *link = rtnl_link_alloc();

    if (!link) {
        return ENOMEM;
    }
    rtnl_link_set_name(link, name);
    rtnl_link_set_ifalias(link, alias);
    int error = rtnl_link_change(netns->sock, link, link, 0);
    rtnl_link_put(link);
    return nl_error_to_errno(error);
}

/* Returns true if link 'name' of netpoold's namespace exists and carries
 * the alias of the host ends netpoold makes. */
static bool
is_ours(struct dp_vif_netns *netns, const char *name)
{
    struct rtnl_link *link = NULL;

    if (rtnl_link_get_kernel(netns->sock, 0, name, &link)) {
        return false;
    }
    const char *alias = rtnl_link_get_ifalias(link);
    bool ours = alias && !strncmp(alias, ALIAS_PREFIX, strlen(ALIAS_PREFIX));
    rtnl_link_put(link);
    return ours;
}

static int
delete_link(struct dp_vif_netns *netns, const char *name)
{
    struct rtnl_link *link = rtnl_link_alloc();
    int error;

    rtnl_link_set_name(link, name);
    error = rtnl_link_delete(netns->sock, link);
    rtnl_link_put(link);
    return !error                                              ? 0
           : error == -NLE_NODEV || error == -NLE_OBJ_NOTFOUND ? ENODEV
                                                               : EIO;
}

/* Returns the errno for libnl's error 'nl_error' (0 or negative): the
 * failures a caller tells apart, EIO for the others. */
static int
nl_error_to_errno(int nl_error)
{
    switch (nl_error) {
    case 0:
        return 0;
    case -NLE_EXIST:
        return EEXIST;
    case -NLE_NOMEM:
        return ENOMEM;
    case -NLE_PERM:
        return EPERM;
    case -NLE_INVAL:
    case -NLE_RANGE:
        return EINVAL;
    case -NLE_NODEV:
    case -NLE_OBJ_NOTFOUND:
        return ENODEV;
    default:
        return EIO;
    }
}

/* Returns true if the guest end 'guest' describes is in place: the device
 * in its namespace with its MAC, up. */
static bool
guest_right(struct dp_vif_netns *netns, struct json_object *guest)
{
    int fd = netns_socket(netns, str(guest, "netns"));
    char mac[DP_MAC_LENGTH + 1];
    int mtu = 0;
    bool up = false;

    if (fd < 0) {
        return false;
    }
    bool right = !link_read(fd, str(guest, "device"), mac, &mtu, &up) && up
                 && !strcmp(mac, str(guest, "MAC"));
    close(fd);
    return right;
}

static int
set_guest_mtu(struct dp_vif_netns *netns, struct json_object *guest)
{
    int fd = netns_socket(netns, str(guest, "netns"));
    struct ifreq ifr;

    if (fd < 0) {
        return -fd;
    }
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", str(guest, "device"));
    ifr.ifr_mtu = json_object_get_int(json_object_object_get(guest, "MTU"));
    int error = ioctl(fd, SIOCSIFMTU, &ifr) ? errno : 0;
    close(fd);
    return error;
}

/* Namespaces. */

/* Returns an AF_INET socket that lives in namespace 'netns' (for ioctls
 * on its devices), or a negative errno. */
static int
netns_socket(struct dp_vif_netns *netns, const char *name)
{
    int ns_fd = open_netns(name);

    if (ns_fd < 0) {
        return ns_fd;
    }
    int fd = socket_in(netns, ns_fd);
    close(ns_fd);
    return fd;
}

/* Returns an AF_INET socket that lives in the namespace open as 'ns_fd',
 * or a negative errno.  netpoold steps into the namespace only for the
 * socket() call. */
static int
socket_in(struct dp_vif_netns *netns, int ns_fd)
{
    int fd, error;

    if (setns(ns_fd, CLONE_NEWNET)) {
        return -errno;
    }
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    error = fd < 0 ? errno : 0;
    if (setns(netns->home_fd, CLONE_NEWNET)) {
        /* Not back home: every later netlink and OVS call would act on
         * the guest's namespace. */
        log_error("cannot return to netpoold's namespace: %s",
                  strerror(errno));
        abort();
    }
    return fd < 0 ? -error : fd;
}

/* Opens the namespace 'name' of NETNS_DIR.  Returns the descriptor or a
 * negative errno. */
static int
open_netns(const char *name)
{
    char path[sizeof NETNS_DIR + 256];

    if (!*name || strchr(name, '/') || strlen(name) >= 256) {
        return -EINVAL;
    }
    snprintf(path, sizeof path, "%s/%s", NETNS_DIR, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Devices, through ioctls on a socket of their namespace. */

/* Turns device 'name''s transmit checksum offload off.  Returns 0 or the
 * ioctl's errno. */
static int
tx_checksum_off(int fd, const char *name)
{
    struct ethtool_value tx = {.cmd = ETHTOOL_STXCSUM, .data = 0};
    struct ifreq ifr;

    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    ifr.ifr_data = (void *) &tx;
    return ioctl(fd, SIOCETHTOOL, &ifr) ? errno : 0;
}

/* Brings device 'name' up.  Returns 0 or the ioctl's errno. */
static int
bring_up(int fd, const char *name)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr)) {
        return errno;
    }
    ifr.ifr_flags |= IFF_UP;
    return ioctl(fd, SIOCSIFFLAGS, &ifr) ? errno : 0;
}

/* Turns IPv6 off on host end 'port' (in netpoold's namespace) before it
 * comes up.  It is a switch port, not an address of the host: with IPv6
 * on, each host end would take a link-local address, run duplicate address
 * detection and solicit routers towards its guest, and every address it
 * took would make ovs-vswitchd read all the namespace's addresses again
 * (500 VIFs made at once cost it 1.5 times the CPU).  A kernel without
 * IPv6 has nothing to turn off. */
static void
host_end_no_ipv6(const char *port)
{
    char path[128];

    snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
             port);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    if (write(fd, "1", 1) != 1) {
        log_debug("%s: cannot turn IPv6 off: %s", port, strerror(errno));
    }
    close(fd);
}

/* Reads device 'name''s MAC, MTU and whether it is up. */
static int
link_read(int fd, const char *name, char *mac, int *mtu, bool *up)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
        return errno;
    }
    const unsigned char *o = (const unsigned char *) ifr.ifr_hwaddr.sa_data;
    snprintf(mac, DP_MAC_LENGTH + 1, "%02x:%02x:%02x:%02x:%02x:%02x", o[0],
             o[1], o[2], o[3], o[4], o[5]);
    if (ioctl(fd, SIOCGIFMTU, &ifr)) {
        return errno;
    }
    *mtu = ifr.ifr_mtu;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr)) {
        return errno;
    }
    *up = ifr.ifr_flags & IFF_UP;
    return 0;
}

/* Helpers. */

/* Returns true if guests 'a' and 'b' have the same port, namespace,
 * device, MAC and, if 'with_mtu', MTU. */
static bool
same_guest(struct json_object *a, struct json_object *b, bool with_mtu)
{
    static const char *const keys[] = {"port", "netns", "device", "MAC"};

    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        if (strcmp(str(a, keys[i]), str(b, keys[i]))) {
            return false;
        }
    }
    return !with_mtu
           || json_object_get_int(json_object_object_get(a, "MTU"))
                  == json_object_get_int(json_object_object_get(b, "MTU"));
}

static const char *
str(struct json_object *guest, const char *key)
{
    const char *s = json_object_get_string(json_object_object_get(guest, key));
    return s ? s : "";
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}
