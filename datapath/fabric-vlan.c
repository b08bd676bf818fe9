/*
 * VLANs in the desired fabric.  A VLAN network appears in OVS the way
 * xcp-networkd and `ovs-vsctl add-br CHILD PARENT TAG` make it: a fake
 * bridge, that is a port of the parent PIF's bridge named after the VLAN
 * network's bridge, with the VLAN as its access tag, Port.fake_bridge set,
 * and one internal interface of the same name at the VLAN network's MTU.
 * Frames of the VLAN leave through the parent's trunk port tagged; the
 * internal interface is where the host's own address on the VLAN lives.
 * Pure, like fabric.c.
 */
#include "datapath/datapath.h"
#include "datapath/fabric-build.h"

#include <string.h>
#include <json-c/json.h>

static const char *field(struct json_object *record, const char *name);
static struct json_object *new_fake_bridge(const char *pif, const char *name,
                                           int64_t tag, int64_t mtu);

void
dp_fabric_add_vlans(struct json_object *bridges, struct json_object *records,
                    const char *host)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *vlans = json_object_object_get(records, "VLAN");

    if (!vlans) {
        return;
    }
    json_object_object_foreach (vlans, vlan_uuid, vlan) {
        (void) vlan_uuid;
        const char *child_uuid = field(vlan, "untagged_PIF");
        struct json_object *child = json_object_object_get(pifs, child_uuid);
        struct json_object *parent =
            json_object_object_get(pifs, field(vlan, "tagged_PIF"));
        if (!child || !parent || strcmp(field(child, "host"), host)
            || !dp_record_bool(child, "currently_attached")) {
            continue;
        }

        /* The parent's bridge is there only while the parent is plugged;
         * without it the VLAN has no way out. */
        struct json_object *parent_net =
            json_object_object_get(networks, field(parent, "network"));
        struct json_object *br =
            json_object_object_get(bridges, field(parent_net, "bridge"));
        struct json_object *child_net =
            json_object_object_get(networks, field(child, "network"));
        const char *name = field(child_net, "bridge");
        int64_t tag = dp_record_int(vlan, "tag");
        if (!br || !child_net || !*name || tag < 1 || tag > 4094) {
            continue;
        }
        json_object_object_add(
            json_object_object_get(br, "ports"), name,
            new_fake_bridge(child_uuid, name, tag,
                            dp_record_int(child_net, "MTU")));
    }
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

/* Returns the port of a fake bridge 'name' for VLAN PIF 'pif', in the
 * shape fabric.c gives every port. */
static struct json_object *
new_fake_bridge(const char *pif, const char *name, int64_t tag, int64_t mtu)
{
    struct json_object *port = json_object_new_object();
    struct json_object *ids = json_object_new_object();
    struct json_object *iface = json_object_new_object();
    struct json_object *iface_ids = json_object_new_object();
    struct json_object *ifaces = json_object_new_object();

    json_object_object_add(ids, "netpool-pif", json_object_new_string(pif));
    json_object_object_add(port, "external_ids", ids);
    json_object_object_add(port, "other_config", json_object_new_object());
    json_object_object_add(port, "tag", json_object_new_int64(tag));
    json_object_object_add(port, "fake_bridge", json_object_new_boolean(1));
    json_object_object_add(port, "bond_mode", json_object_new_string(""));
    json_object_object_add(port, "lacp", json_object_new_string(""));
    json_object_object_add(port, "bond_updelay", json_object_new_int(0));
    json_object_object_add(port, "bond_downdelay", json_object_new_int(0));

    json_object_object_add(iface, "type", json_object_new_string("internal"));
    if (mtu > 0) {
        json_object_object_add(iface, "mtu_request",
                               json_object_new_int64(mtu));
    }
    json_object_object_add(iface_ids, "netpool-pif",
                           json_object_new_string(pif));
    json_object_object_add(iface, "external_ids", iface_ids);
    json_object_object_add(iface, "options", json_object_new_object());
    json_object_object_add(iface, "other_config", json_object_new_object());
    json_object_object_add(iface, "bfd", json_object_new_object());
    json_object_object_add(ifaces, name, iface);
    json_object_object_add(port, "interfaces", ifaces);
    return port;
}
