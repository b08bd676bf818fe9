/*
 * The desired fabric: what the host's Open vSwitch should hold, computed
 * from the store's records alone.  Pure: no I/O, so unit tests call it
 * with records they make.  The result is JSON in the form dp_ovs_apply()
 * takes:
 *
 *   {"bridges": {NAME: {"datapath_type", "external_ids", "other_config",
 *       "ports": {NAME: {"tag"?, "trunks"?, "bond_mode", "lacp",
 *           "bond_updelay", "bond_downdelay", "external_ids",
 *           "other_config",
 *           "interfaces": {NAME: {"type", "mtu_request"?, "external_ids",
 *               "options", "other_config", "bfd"}}}},
 *       "sflow"?, "ipfix"?, "netflow"?: {"targets", …}}}}
 *
 * Every bridge and port carries an external_ids key "netpool-…" naming the
 * object it stands for; that key is how the apply step knows what netpool
 * owns.
 */
#include "datapath/datapath.h"
#include "datapath/fabric-build.h"

#include <string.h>
#include <json-c/json.h>

static const char *field(struct json_object *record, const char *name);

struct json_object *
dp_fabric_build(struct json_object *records, const char *host,
                const char *datapath_type)
{
    struct json_object *fabric = json_object_new_object();
    struct json_object *bridges = json_object_new_object();
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *pifs = json_object_object_get(records, "PIF");

    json_object_object_add(fabric, "bridges", bridges);

    /* Each plugged, untagged, unbonded PIF of this host puts its network's
     * bridge on the host, with the PIF's device as a port. */
    json_object_object_foreach (pifs, uuid, pif) {
        if (strcmp(field(pif, "host"), host)
            || !dp_record_bool(pif, "currently_attached")
            || dp_record_int(pif, "VLAN") != -1 || *field(pif, "bond_slave_of")
            || !dp_record_bool(pif, "physical")) {
            continue;
        }
        struct json_object *network =
            json_object_object_get(networks, field(pif, "network"));
        const char *bridge = field(network, "bridge");
        if (!network || !*bridge) {
            continue;
        }
        int64_t mtu = dp_record_int(network, "MTU");
        struct json_object *br = dp_fabric_bridge_ensure(
            bridges, bridge, datapath_type, field(pif, "network"), mtu);
        struct json_object *port = dp_fabric_port_new("netpool-pif", uuid);
        struct json_object *ifaces =
            json_object_object_get(port, "interfaces");
        struct json_object *iface = dp_fabric_interface_new("", mtu);
        json_object_object_add(json_object_object_get(iface, "external_ids"),
                               "netpool-pif", json_object_new_string(uuid));
        json_object_object_add(ifaces, field(pif, "device"), iface);
        json_object_object_add(json_object_object_get(br, "ports"),
                               field(pif, "device"), port);
    }

    /* Bonds bring their networks' bridges, on which VLANs and VIFs may
     * hang, so they come before them. */
    dp_fabric_add_bonds(bridges, records, host, datapath_type);

    /* VLANs hang off their parents' bridges, so they come after them. */
    dp_fabric_add_vlans(bridges, records, host);
    /* VIFs join bridges of PIFs and VLANs' parents, so they come last. */
    dp_fabric_add_vifs(bridges, records, host, datapath_type);
    /* Flow export is per bridge, so it comes once every bridge is in. */
    dp_fabric_add_flow_exports(bridges, records, host);
    return fabric;
}

/* Helpers. */

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
               ? json_object_get_string(value)
               : "";
}

int64_t
dp_record_int(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
               ? json_object_get_int64(value)
               : 0;
}

bool
dp_record_bool(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
           && json_object_get_boolean(value);
}

struct json_object *
dp_fabric_bridge_ensure(struct json_object *bridges, const char *name,
                        const char *datapath_type, const char *network,
                        int64_t mtu)
{
    struct json_object *br = json_object_object_get(bridges, name);
    if (br) {
        return br;
    }

    br = json_object_new_object();
    json_object_object_add(br, "datapath_type",
                           json_object_new_string(datapath_type));
    struct json_object *ids = json_object_new_object();
    json_object_object_add(ids, "netpool-network",
                           json_object_new_string(network));
    json_object_object_add(br, "external_ids", ids);
    json_object_object_add(br, "other_config", json_object_new_object());

    struct json_object *ports = json_object_new_object();
    struct json_object *local = dp_fabric_port_new("netpool-network", network);
    json_object_object_add(json_object_object_get(local, "interfaces"), name,
                           dp_fabric_interface_new("internal", mtu));
    json_object_object_add(ports, name, local);
    json_object_object_add(br, "ports", ports);
    json_object_object_add(bridges, name, br);
    return br;
}

struct json_object *
dp_fabric_port_new(const char *id_key, const char *id)
{
    struct json_object *port = json_object_new_object();
    struct json_object *ids = json_object_new_object();

    json_object_object_add(ids, id_key, json_object_new_string(id));
    json_object_object_add(port, "external_ids", ids);
    json_object_object_add(port, "other_config", json_object_new_object());
    json_object_object_add(port, "bond_mode", json_object_new_string(""));
    json_object_object_add(port, "lacp", json_object_new_string(""));
    json_object_object_add(port, "bond_updelay", json_object_new_int(0));
    json_object_object_add(port, "bond_downdelay", json_object_new_int(0));
    json_object_object_add(port, "interfaces", json_object_new_object());
    return port;
}

struct json_object *
dp_fabric_interface_new(const char *type, int64_t mtu)
{
    struct json_object *iface = json_object_new_object();

    json_object_object_add(iface, "type", json_object_new_string(type));
    if (mtu > 0) {
        json_object_object_add(iface, "mtu_request",
                               json_object_new_int64(mtu));
    }
    json_object_object_add(iface, "external_ids", json_object_new_object());
    json_object_object_add(iface, "options", json_object_new_object());
    json_object_object_add(iface, "other_config", json_object_new_object());
    json_object_object_add(iface, "bfd", json_object_new_object());
    return iface;
}
