/*
 * Bonds in the desired fabric.  A plugged bond master PIF of this host
 * puts its network's bridge on the host with one bonded port, named after
 * the master's device ("bond0"), whose interfaces are the plugged member
 * NICs at the network's MTU; bonding/ says how the bond's mode and
 * properties become the port's columns.  The members get no port of their
 * own (fabric.c skips bonded PIFs).  The bridge carries the bond's MAC
 * (other_config:hwaddr), so that its internal port, where a management
 * address on the bond lives, answers with the MAC its peers knew before
 * the bond existed.  Pure, like fabric.c.
 */
#include "datapath/datapath.h"
#include "datapath/fabric-build.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "bonding/bonding.h"
#include "lib/xalloc.h"

static const char *field(struct json_object *record, const char *name);
static struct json_object *bond_bridge(struct json_object *bridges,
                                       const char *name,
                                       const char *datapath_type,
                                       const char *network, int64_t mtu);

void
dp_fabric_add_bonds(struct json_object *bridges, struct json_object *records,
                    const char *host, const char *datapath_type)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *bonds = json_object_object_get(records, "bond");

    if (!bonds || !pifs) {
        return;
    }
    json_object_object_foreach (bonds, uuid, bond) {
        const char *master_uuid = field(bond, "master");
        struct json_object *master = json_object_object_get(pifs, master_uuid);
        if (!master || strcmp(field(master, "host"), host)
            || !dp_record_bool(master, "currently_attached")) {
            continue;
        }
        struct json_object *network =
            json_object_object_get(networks, field(master, "network"));
        const char *bridge = field(network, "bridge");
        if (!network || !*bridge) {
            continue;
        }

        /* Members, in a stable order (by device), plugged ones only. */
        size_t n = 0, cap = json_object_object_length(pifs);
        struct bond_ovs_member *members =
            xmalloc(sizeof *members * (cap ? cap : 1));
        const char *primary = "";
        json_object_object_foreach (pifs, pif_uuid, pif) {
            if (strcmp(field(pif, "bond_slave_of"), uuid)
                || !dp_record_bool(pif, "currently_attached")
                || !*field(pif, "device")) {
                continue;
            }
            size_t i = n++;
            while (i > 0
                   && strcmp(members[i - 1].device, field(pif, "device"))
                          > 0) {
                members[i] = members[i - 1];
                i--;
            }
            members[i].device = field(pif, "device");
            members[i].pif = pif_uuid;
            if (!strcmp(pif_uuid, field(bond, "primary_slave"))) {
                primary = field(pif, "device");
            }
        }
        if (!n) {
            free(members);
            continue;
        }

        enum bond_mode mode;
        struct bond_properties props;
        if (!bond_mode_parse(field(bond, "mode"), &mode)) {
            mode = BOND_MODE_BALANCE_SLB;
        }
        bond_properties_read(mode, json_object_object_get(bond, "properties"),
                             &props);
        int64_t mtu = dp_record_int(network, "MTU");
        struct bond_ovs_config config = {
            .mode = mode,
            .props = &props,
            .bond = uuid,
            .master = master_uuid,
            .primary_device = primary,
            .members = members,
            .n_members = n,
            .mtu = mtu,
        };
        struct json_object *br = bond_bridge(bridges, bridge, datapath_type,
                                             field(master, "network"), mtu);
        if (*field(master, "MAC")) {
            json_object_object_add(
                json_object_object_get(br, "other_config"), "hwaddr",
                json_object_new_string(field(master, "MAC")));
        }
        json_object_object_add(json_object_object_get(br, "ports"),
                               field(master, "device"),
                               bond_ovs_port(&config));
        free(members);
    }
}

/* Helpers. */

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
}

/* Returns bridge 'name' of 'bridges', adding it as fabric.c adds a
 * network's bridge (its internal port at the network's MTU) if it is not
 * there yet. */
static struct json_object *
bond_bridge(struct json_object *bridges, const char *name,
            const char *datapath_type, const char *network, int64_t mtu)
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

    struct json_object *local = json_object_new_object();
    struct json_object *local_ids = json_object_new_object();
    json_object_object_add(local_ids, "netpool-network",
                           json_object_new_string(network));
    json_object_object_add(local, "external_ids", local_ids);
    json_object_object_add(local, "other_config", json_object_new_object());
    json_object_object_add(local, "bond_mode", json_object_new_string(""));
    json_object_object_add(local, "lacp", json_object_new_string(""));
    json_object_object_add(local, "bond_updelay", json_object_new_int(0));
    json_object_object_add(local, "bond_downdelay", json_object_new_int(0));

    struct json_object *iface = json_object_new_object();
    json_object_object_add(iface, "type", json_object_new_string("internal"));
    if (mtu > 0) {
        json_object_object_add(iface, "mtu_request",
                               json_object_new_int64(mtu));
    }
    json_object_object_add(iface, "external_ids", json_object_new_object());
    json_object_object_add(iface, "options", json_object_new_object());
    json_object_object_add(iface, "other_config", json_object_new_object());
    json_object_object_add(iface, "bfd", json_object_new_object());
    struct json_object *ifaces = json_object_new_object();
    json_object_object_add(ifaces, name, iface);
    json_object_object_add(local, "interfaces", ifaces);

    struct json_object *ports = json_object_new_object();
    json_object_object_add(ports, name, local);
    json_object_object_add(br, "ports", ports);
    json_object_object_add(bridges, name, br);
    return br;
}
