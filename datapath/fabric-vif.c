/*
 * VIFs in the desired fabric.  A plugged VIF of a VM on this host becomes
 * a port of its network's bridge named "vif<index>.<device>" (XenServer
 * names them "vif<domid>.<device>"; until domains exist the VM's index
 * stands in for the domid), with one interface of the same name whose
 * external_ids follow Open vSwitch's integration guide for hypervisors:
 * iface-id is the VIF's UUID, attached-mac its MAC, vm-id its VM's UUID,
 * iface-status "active".  A private network's bridge comes up with its
 * first plugged VIF; a VIF on a VLAN network sits on the parent PIF's
 * bridge with the VLAN as its access tag, beside the fake bridge.  A rate
 * limit is written as the interface's ingress policing, as XenServer does.
 * On a host whose datapath is dpdk the port is a vhost-user client port
 * (dpdkvhostuserclient) on the socket the VM's QEMU serves
 * (dp_vif_vhost_socket()); a VIF whose other_config:vhost-user is
 * "external" has that port whatever its VM does, for a process such as
 * netpool-perf that serves the socket itself (a guest without a VM).
 * Pure, like fabric.c.
 */
#include "datapath/datapath.h"
#include "datapath/fabric-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

static struct json_object *vif_bridge(struct json_object *bridges,
                                      struct json_object *records,
                                      const char *network_uuid,
                                      const char *host,
                                      const char *datapath_type, int64_t *tag);
static struct json_object *find_vlan(struct json_object *records,
                                     const char *network_uuid,
                                     const char *host);
static struct json_object *new_vif_port(const char *uuid,
                                        struct json_object *vif,
                                        const char *name, int64_t mtu,
                                        int64_t tag);
static void set_vhost_user(struct json_object *port, const char *name,
                           const char *host, struct json_object *vif);
static const char *field(struct json_object *record, const char *name);
static const char *map_field(struct json_object *record, const char *map,
                             const char *key);
static bool parse_int(const char *text, int64_t min, int64_t max,
                      int64_t *value);

bool
dp_vif_port_name(int64_t index, const char *device, char name[IF_NAMESIZE])
{
    int64_t number;

    if (index < 1 || index > DP_VIF_INDEX_MAX
        || !parse_int(device, 0, DP_VIF_DEVICE_MAX, &number)) {
        return false;
    }
    snprintf(name, IF_NAMESIZE, "vif%d.%d", (int) index, (int) number);
    return true;
}

char *
dp_vif_vhost_socket(const char *host, const char *port)
{
    return xasprintf("%s/%s/%s.sock", DP_VHOST_ROOT, host, port);
}

bool
dp_vif_vhost_external(struct json_object *vif)
{
    return !strcmp(map_field(vif, "other_config", "vhost-user"), "external");
}

bool
dp_vif_vhost_value_valid(const char *key, const char *value)
{
    int64_t n;

    if (!strcmp(key, "vhost-tx-retries")) {
        return parse_int(value, 0, 32, &n);
    }
    if (!strcmp(key, "dpdk-pmd-rxq-affinity")) {
        return dp_dpdk_rxq_affinity_valid(value);
    }
    return true;
}

int64_t
dp_vif_kbps(struct json_object *vif)
{
    int64_t kbps;

    return !strcmp(field(vif, "qos_algorithm_type"), "ratelimit")
                   && parse_int(map_field(vif, "qos_algorithm_params", "kbps"),
                                1, DP_VIF_KBPS_MAX, &kbps)
               ? kbps
               : 0;
}

int64_t
dp_vif_burst(int64_t kbps)
{
    return kbps / 10 > 100 ? kbps / 10 : 100;
}

void
dp_fabric_add_vifs(struct json_object *bridges, struct json_object *records,
                   const char *host, const char *datapath_type)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *vms = json_object_object_get(records, "VM");
    struct json_object *vifs = json_object_object_get(records, "VIF");
    bool dpdk = !strcmp(dp_host_datapath(records, host), "dpdk");

    if (!vifs) {
        return;
    }
    json_object_object_foreach (vifs, uuid, vif) {
        struct json_object *vm = json_object_object_get(vms, field(vif, "VM"));
        const char *network_uuid = field(vif, "network");
        bool vhost_user = dpdk && !*map_field(vif, "other_config", "netns");
        struct json_object *network =
            json_object_object_get(networks, network_uuid);
        int64_t index;
        char name[IF_NAMESIZE];

        if (!dp_record_bool(vif, "currently_attached") || !vm || !network
            || !(dp_vif_on_host(records, vif, vm, host)
                 || (dpdk && dp_vif_vhost_external(vif)))
            || !parse_int(map_field(vm, "other_config", DP_VIF_INDEX_KEY), 1,
                          DP_VIF_INDEX_MAX, &index)
            || !dp_vif_port_name(index, field(vif, "device"), name)) {
            continue;
        }
        int64_t tag = -1;
        struct json_object *br = vif_bridge(bridges, records, network_uuid,
                                            host, datapath_type, &tag);
        if (!br) {
            continue;
        }
        struct json_object *port =
            new_vif_port(uuid, vif, name, dp_record_int(network, "MTU"), tag);
        if (vhost_user) {
            set_vhost_user(port, name, host, vif);
        }
        json_object_object_add(json_object_object_get(br, "ports"), name,
                               port);
    }
}

struct json_object *
dp_vif_guests_build(struct json_object *records, const char *host)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *vms = json_object_object_get(records, "VM");
    struct json_object *vifs = json_object_object_get(records, "VIF");
    struct json_object *guests = json_object_new_object();

    if (!vifs) {
        return guests;
    }
    json_object_object_foreach (vifs, uuid, vif) {
        struct json_object *vm = json_object_object_get(vms, field(vif, "VM"));
        struct json_object *network =
            json_object_object_get(networks, field(vif, "network"));
        const char *netns = map_field(vif, "other_config", "netns");
        int64_t index, device;
        char port[IF_NAMESIZE];

        if (!dp_record_bool(vif, "currently_attached") || !vm || !network
            || !*netns || !dp_vif_on_host(records, vif, vm, host)
            || !parse_int(map_field(vm, "other_config", DP_VIF_INDEX_KEY), 1,
                          DP_VIF_INDEX_MAX, &index)
            || !dp_vif_port_name(index, field(vif, "device"), port)
            || !parse_int(field(vif, "device"), 0, DP_VIF_DEVICE_MAX,
                          &device)) {
            continue;
        }
        char guest_name[IF_NAMESIZE];
        snprintf(guest_name, sizeof guest_name, "eth%d", (int) device);
        struct json_object *guest = json_object_new_object();
        json_object_object_add(guest, "port", json_object_new_string(port));
        json_object_object_add(guest, "netns", json_object_new_string(netns));
        json_object_object_add(guest, "device",
                               json_object_new_string(guest_name));
        json_object_object_add(guest, "MAC",
                               json_object_new_string(field(vif, "MAC")));
        json_object_object_add(
            guest, "MTU",
            json_object_new_int64(dp_record_int(network, "MTU")));
        json_object_object_add(guests, uuid, guest);
    }
    return guests;
}

bool
dp_vif_on_host(struct json_object *records, struct json_object *vif,
               struct json_object *vm, const char *host)
{
    const char *resident = field(vm, "resident_on");

    if (*resident || !*map_field(vif, "other_config", "netns")) {
        return !strcmp(resident, host);
    }
    const char *affinity = field(vm, "affinity");
    if (*affinity) {
        return !strcmp(affinity, host);
    }
    struct json_object *hosts = json_object_object_get(records, "host");
    return !hosts || json_object_object_length(hosts) <= 1;
}

/* Placement. */

/* Returns the bridge that VIFs of network 'network_uuid' join on 'host'
 * and sets '*tag' to their access VLAN (-1 for none): for a VLAN network
 * (one of the host's PIFs on it is a VLAN PIF), the bridge of the VLAN's
 * parent PIF, which must be up already; for any other network its own
 * bridge, created if no PIF brought it. */
static struct json_object *
vif_bridge(struct json_object *bridges, struct json_object *records,
           const char *network_uuid, const char *host,
           const char *datapath_type, int64_t *tag)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *network =
        json_object_object_get(networks, network_uuid);
    struct json_object *vlan = find_vlan(records, network_uuid, host);

    if (vlan) {
        struct json_object *parent =
            json_object_object_get(pifs, field(vlan, "tagged_PIF"));
        struct json_object *parent_net =
            json_object_object_get(networks, field(parent, "network"));
        *tag = dp_record_int(vlan, "tag");
        if (!parent || !parent_net || *tag < 1 || *tag > 4094) {
            return NULL;
        }
        return json_object_object_get(bridges, field(parent_net, "bridge"));
    }

    const char *name = field(network, "bridge");
    if (!*name) {
        return NULL;
    }
    return dp_fabric_bridge_ensure(bridges, name, datapath_type, network_uuid,
                                   dp_record_int(network, "MTU"));
}

/* Returns the VLAN whose VLAN PIF on 'host' is on network 'network_uuid',
 * or NULL if the network is not a VLAN network there. */
static struct json_object *
find_vlan(struct json_object *records, const char *network_uuid,
          const char *host)
{
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *vlans = json_object_object_get(records, "VLAN");

    if (!vlans) {
        return NULL;
    }
    json_object_object_foreach (vlans, uuid, vlan) {
        (void) uuid;
        struct json_object *child =
            json_object_object_get(pifs, field(vlan, "untagged_PIF"));
        if (child && !strcmp(field(child, "network"), network_uuid)
            && !strcmp(field(child, "host"), host)) {
            return vlan;
        }
    }
    return NULL;
}

/* Returns the port of VIF 'uuid' ('vif' its record) named 'name'. */
static struct json_object *
new_vif_port(const char *uuid, struct json_object *vif, const char *name,
             int64_t mtu, int64_t tag)
{
    struct json_object *port = dp_fabric_port_new("netpool-vif", uuid);
    struct json_object *iface = dp_fabric_interface_new("", mtu);
    struct json_object *ids = json_object_object_get(iface, "external_ids");

    if (tag > 0) {
        json_object_object_add(port, "tag", json_object_new_int64(tag));
    }
    json_object_object_add(ids, "netpool-vif", json_object_new_string(uuid));
    json_object_object_add(ids, "iface-id", json_object_new_string(uuid));
    json_object_object_add(ids, "attached-mac",
                           json_object_new_string(field(vif, "MAC")));
    json_object_object_add(ids, "vm-id",
                           json_object_new_string(field(vif, "VM")));
    json_object_object_add(ids, "iface-status",
                           json_object_new_string("active"));

    int64_t kbps = dp_vif_kbps(vif);
    if (kbps > 0) {
        json_object_object_add(iface, "ingress_policing_rate",
                               json_object_new_int64(kbps));
        json_object_object_add(iface, "ingress_policing_burst",
                               json_object_new_int64(dp_vif_burst(kbps)));
    }
    json_object_object_add(json_object_object_get(port, "interfaces"), name,
                           iface);
    return port;
}

/* Makes interface 'name' of 'port' a vhost-user client port on the
 * socket of its VIF 'vif' on 'host', with the VIF's vhost-tx-retries and
 * dpdk-pmd-rxq-affinity. */
static void
set_vhost_user(struct json_object *port, const char *name, const char *host,
               struct json_object *vif)
{
    struct json_object *iface = json_object_object_get(
        json_object_object_get(port, "interfaces"), name);
    struct json_object *options = json_object_object_get(iface, "options");
    const char *retries = map_field(vif, "other_config", "vhost-tx-retries");
    const char *affinity =
        map_field(vif, "other_config", "dpdk-pmd-rxq-affinity");
    char *socket = dp_vif_vhost_socket(host, name);

    json_object_object_add(iface, "type",
                           json_object_new_string("dpdkvhostuserclient"));
    json_object_object_add(options, "vhost-server-path",
                           json_object_new_string(socket));
    free(socket);
    if (*retries && dp_vif_vhost_value_valid("vhost-tx-retries", retries)) {
        json_object_object_add(options, "tx-retries-max",
                               json_object_new_string(retries));
    }
    if (*affinity && dp_dpdk_rxq_affinity_valid(affinity)) {
        json_object_object_add(json_object_object_get(iface, "other_config"),
                               "pmd-rxq-affinity",
                               json_object_new_string(affinity));
    }
}

/* Record fields. */

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_get_string(value)
               ? json_object_get_string(value)
               : "";
}

static const char *
map_field(struct json_object *record, const char *map, const char *key)
{
    return field(json_object_object_get(record, map), key);
}

/* Parses 'text' as a decimal integer from 'min' to 'max' with nothing
 * around it. */
static bool
parse_int(const char *text, int64_t min, int64_t max, int64_t *value)
{
    char *end;

    if (!*text || *text == '+' || *text == '-' || *text == ' ') {
        return false;
    }
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || *end || n < min || n > max) {
        return false;
    }
    *value = n;
    return true;
}

/* Fabric shapes, as fabric.c makes them. */
