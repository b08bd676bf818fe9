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
        struct json_object *br = dp_fabric_bridge_ensure(
            bridges, bridge, datapath_type, field(master, "network"), mtu);
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
