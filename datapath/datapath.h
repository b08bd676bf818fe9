/*
 * datapath: the host's network devices as netpool sees them.
 *
 * Today it owns NIC discovery and link monitoring over netlink (libnl-3):
 * which kernel links are NICs that become PIFs, their MAC, MTU, carrier,
 * speed and duplex, and the PIF objects that mirror them in the store
 * (matched by MAC, so a PIF keeps its UUID across restarts and renames).
 * It never changes a link: configuration of ports and bridges goes through
 * Open vSwitch, owned by the OVS reconciler of this module.
 */
#ifndef NETPOOL_DATAPATH_DATAPATH_H
#define NETPOOL_DATAPATH_DATAPATH_H 1

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct json_object;
struct store;

#define DP_MAC_LENGTH 17 /* "aa:bb:cc:dd:ee:ff". */

/* A NIC as the kernel reports it. */
struct dp_link {
    char device[IF_NAMESIZE];    /* Interface name, e.g. "eth0". */
    char mac[DP_MAC_LENGTH + 1]; /* Permanent or current MAC. */
    int ifindex;                 /* Kernel interface index. */
    int mtu;                     /* Current MTU. */
    bool carrier;                /* Lower layer up. */
    int speed;                   /* Mbit/s, 0 when unknown. */
    const char *duplex;          /* "full", "half" or "unknown". */
    char ip[48];                 /* First IPv4 address, or "". */
    char netmask[16];            /* Its netmask, or "". */
};

/* What the kernel says of a link, for the NIC decision. */
struct dp_link_facts {
    const char *name;     /* Interface name. */
    const char *kind;     /* rtnl kind ("veth", "tun", …) or
                                     * NULL for a plain device. */
    unsigned int arptype; /* ARPHRD_*. */
    bool has_device;      /* Backed by a bus device (sysfs). */
    bool enslaved;        /* Has a master (bridge, OVS). */
};

/* Returns true if the link described by 'facts' is a NIC that becomes a
 * PIF: an Ethernet device backed by hardware (or a veth, which plays a NIC
 * in test topologies), not a bridge, tunnel, tap or enslaved port, whose
 * name matches one of the space-separated shell globs in 'globs'. */
bool dp_link_is_nic(const struct dp_link_facts *facts, const char *globs);

/* Reads every NIC matching 'globs' from the kernel into a new array
 * '*links' of '*n' entries, sorted by device name.  Returns 0 or a
 * positive errno. */
int dp_links_read(const char *globs, struct dp_link **links, size_t *n);

/* Returns the UUID (borrowed from 'pifs') of the PIF in 'pifs' (UUID →
 * record, as store_get_all() returns) that stands for 'link' on host
 * 'host': the physical PIF with the same MAC, else the one with the same
 * device name and no MAC.  NULL if none. */
const char *dp_pif_match(struct json_object *pifs, const char *host,
                         const struct dp_link *link);

/* Makes the PIFs of host 'host' in 'store' mirror 'links': creates a PIF
 * for each new NIC (MTU from the kernel, the one named 'management' — or
 * the first, if 'management' is NULL and no PIF is management yet —
 * marked as management with its address), and refreshes the runtime fields
 * (device, carrier, speed, duplex, currently_attached) of the known ones.
 * A PIF whose NIC vanished stays, with currently_attached false.  Returns
 * 0 or a positive errno. */
int dp_pifs_sync(struct store *store, const char *host,
                 const struct dp_link *links, size_t n,
                 const char *management);

/* Link monitor. */

struct dp_link_monitor;

/* Called when the kernel reports a change to a NIC. */
typedef void dp_link_changed_cb(void *aux);

/* Starts watching netlink link events on 'base'; calls 'cb' (with 'aux')
 * after each batch of changes to links matching 'globs'.  Returns 0 and
 * sets '*monitorp', or a positive errno. */
int dp_link_monitor_start(struct event_base *base, const char *globs,
                          dp_link_changed_cb *cb, void *aux,
                          struct dp_link_monitor **monitorp);

/* Stops and frees 'monitor'.  Accepts NULL. */
void dp_link_monitor_stop(struct dp_link_monitor *monitor);

#endif
