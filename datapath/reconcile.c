/*
 * The OVS reconciler: makes the host's Open vSwitch match the store.  It
 * runs when the store changes, when OVS changes (including a restart of
 * ovsdb-server or ovs-vswitchd), and at every resync; each run computes the
 * whole desired fabric and applies only the difference, so running it
 * again, or after a crash, disturbs nothing that is already right.
 */
#include "datapath/datapath.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "reconcile"

struct dp_reconciler {
    struct store *store;     /* Desired state. */
    struct dp_ovs *ovs;      /* The host's OVS. */
    struct event *run_event; /* Coalesces requests into one run. */
    char *host;              /* This host's UUID. */
    char *datapath_type;     /* "netdev", "system", … for new bridges. */
    bool pending;            /* A run was asked for while busy. */
    struct dp_bond_status *bonds; /* Reads bond status back. */

    struct dp_vif_netns *guests;        /* Veths of namespace guests. */
    struct dp_vif_flows *vif_flows;     /* VIF rules and meters. */
    struct store_subscription *changes; /* Store changes that concern
                                         * this host. */
};

static void store_changed(void *reconciler_, const struct store_change *,
                          size_t n, uint64_t seq);
static void ovs_changed(void *reconciler_);
static void run(evutil_socket_t, short, void *reconciler_);
static void make_vhost_dir(const char *host);

int
dp_reconciler_create(struct event_base *base, struct store *store,
                     const char *host, const char *remote,
                     const char *datapath_type,
                     struct dp_reconciler **reconcilerp)
{
    struct dp_reconciler *r = xzalloc(sizeof *r);

    r->store = store;
    r->host = xstrdup(host);
    r->datapath_type = xstrdup(datapath_type);
    r->run_event = event_new(base, -1, 0, run, r);
    dp_ovs_create(base, remote, ovs_changed, r, &r->ovs);
    r->guests = dp_vif_netns_create();
    r->vif_flows = dp_vif_flows_create(remote);
    dp_bond_status_create(base, store, r->ovs, host, remote, &r->bonds);
    static const char *const classes[] = {
        "network", "PIF", "bond", "VLAN", "VIF", "VM", "host", NULL,
    };
    r->changes = store_subscribe(store, classes, STORE_FEED_ALL, host,
                                 store_changed, r);
    *reconcilerp = r;
    return 0;
}

void
dp_reconciler_destroy(struct dp_reconciler *r)
{
    if (!r) {
        return;
    }
    store_unsubscribe(r->changes);
    dp_vif_netns_destroy(r->guests);
    dp_vif_flows_destroy(r->vif_flows);
    dp_bond_status_destroy(r->bonds);
    dp_ovs_destroy(r->ovs);
    event_free(r->run_event);
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

bool
dp_reconciler_ready(const struct dp_reconciler *r)
{
    return dp_ovs_ready(r->ovs);
}

struct json_object *
dp_reconciler_observe(const struct dp_reconciler *r)
{
    return dp_ovs_observe(r->ovs);
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
store_changed(void *reconciler_, const struct store_change *changes, size_t n,
              uint64_t seq)
{
    dp_reconciler_kick(reconciler_);
}

static void
ovs_changed(void *reconciler_)
{
    struct dp_reconciler *r = reconciler_;

    if (r->pending && !dp_ovs_busy(r->ovs)) {
        r->pending = false;
    }
    /* OVS reports bond state (carrier, LACP, BFD, the active member)
     * through the same replica. */
    dp_bond_status_kick(r->bonds);
    /* And the MTU limits and errors of PIFs' interfaces. */
    struct json_object *observed = dp_ovs_observe(r->ovs);
    dp_dpdk_status_sync(r->store, r->host, observed);
    json_object_put(observed);
    dp_reconciler_kick(r);
}

static void
run(evutil_socket_t fd, short what, void *reconciler_)
{
    struct dp_reconciler *r = reconciler_;

    if (dp_ovs_busy(r->ovs)) {
        r->pending = true; /* ovs_changed() runs us again. */
        return;
    }
    struct json_object *records = dp_reconciler_records(r->store);
    const char *datapath = dp_host_datapath(records, r->host);
    struct json_object *desired = dp_fabric_build(
        records, r->host, dp_datapath_type(datapath, r->datapath_type));
    /* Only a dpdk host needs its hugepage folder, for dpdk-extra, and the
     * folder of its VIFs' vhost-user sockets. */
    char *huge_dir = strcmp(datapath, "dpdk") ? NULL : dp_hugepages_dir();
    if (huge_dir) {
        make_vhost_dir(r->host);
    }
    struct json_object *root = json_object_new_object();
    json_object_object_add(root, "other_config",
                           dp_dpdk_build(records, r->host, huge_dir));
    json_object_object_add(desired, "open_vswitch", root);
    dp_dpdk_fabric_ports(desired, records, r->host);
    dp_dpdk_link_mtus(desired);
    free(huge_dir);

    /* A namespace guest's veth must exist before OVS opens its port. */
    struct json_object *guests = dp_vif_guests_build(records, r->host);
    dp_vif_netns_sync(r->guests, guests);
    json_object_put(guests);

    /* A management address leaving a bond must reach its NIC before OVS
     * takes the bond's bridge away, so the kernel goes first. */
    struct json_object *kernel = dp_bond_kernel_plan(records, r->host);
    dp_bond_kernel_apply(kernel);
    json_object_put(kernel);
    int error = dp_ovs_apply(r->ovs, desired);
    if (error && error != ENOTCONN && error != EBUSY) {
        log_warn("cannot apply the fabric: %s", strerror(error));
    }

    /* Addresses go on internal interfaces that OVS makes: a later run,
     * after OVS reports them, puts the addresses on new ones. */
    struct json_object *addresses = dp_ip_config_plan(records, r->host);
    dp_ip_config_apply(addresses);
    json_object_put(addresses);

    /* VIF rules need the OpenFlow ports OVS has given the VIFs: a later
     * run, after OVS reports new ones, adds their rules. */
    dp_vif_flows_sync(r->vif_flows, records, desired, r->ovs);
    json_object_put(desired);
    json_object_put(records);
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
