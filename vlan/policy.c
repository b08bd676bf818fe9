/*
 * VLAN and MTU rules: pure checks of store records that the API runs
 * before it writes anything.
 */
#include "vlan/vlan.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"

static const char *field(struct json_object *record, const char *name);
static int64_t int_field(struct json_object *record, const char *name,
                         int64_t dflt);
static bool bool_field(struct json_object *record, const char *name);

struct np_error *
vlan_check_tag(int64_t tag)
{
    char text[24];

    if (tag >= VLAN_TAG_MIN && tag <= VLAN_TAG_MAX) {
        return NULL;
    }
    snprintf(text, sizeof text, "%" PRId64, tag);
    return np_error_new(ERR_VLAN_TAG_INVALID, text, NULL);
}

struct np_error *
vlan_check_parent(const char *pif_uuid, struct json_object *pif,
                  struct json_object *vlans, int64_t tag)
{
    /* A VLAN PIF is not physical either, so test for it first: its error
     * says more than "not physical". */
    if (int_field(pif, "VLAN", -1) >= 0) {
        return np_error_new(ERR_PIF_IS_VLAN, pif_uuid, NULL);
    }
    if (*field(pif, "bond_slave_of")) {
        return np_error_new(ERR_CANNOT_ADD_VLAN_TO_BOND_SLAVE, pif_uuid, NULL);
    }
    struct json_object *bond_master_of;
    if (!bool_field(pif, "physical")
        && (!json_object_object_get_ex(pif, "bond_master_of", &bond_master_of)
            || !json_object_array_length(bond_master_of))) {
        return np_error_new(ERR_PIF_IS_NOT_PHYSICAL, pif_uuid, NULL);
    }
    if (!vlans) {
        return NULL;
    }
    json_object_object_foreach (vlans, uuid, vlan) {
        (void) uuid;
        if (!strcmp(field(vlan, "tagged_PIF"), pif_uuid)
            && int_field(vlan, "tag", -1) == tag) {
            return np_error_new(ERR_PIF_VLAN_EXISTS, field(pif, "device"),
                                NULL);
        }
    }
    return NULL;
}

struct np_error *
vlan_check_network(const char *network_uuid, const char *host,
                   struct json_object *pifs)
{
    if (!pifs) {
        return NULL;
    }
    json_object_object_foreach (pifs, uuid, pif) {
        if (!strcmp(field(pif, "network"), network_uuid)
            && !strcmp(field(pif, "host"), host)) {
            return np_error_new(ERR_NETWORK_ALREADY_CONNECTED, network_uuid,
                                uuid, NULL);
        }
    }
    return NULL;
}

struct np_error *
vlan_check_mtu(int64_t mtu)
{
    if (mtu >= VLAN_MTU_MIN && mtu <= VLAN_MTU_MAX) {
        return NULL;
    }
    return np_error_newf(ERR_INVALID_VALUE, "MTU", "%" PRId64, mtu);
}

struct np_error *
vlan_check_mtu_parent(const char *vlan_network, int64_t mtu,
                      const char *parent_network, int64_t parent_mtu)
{
    char mtu_text[24], parent_text[24];

    if (mtu <= parent_mtu) {
        return NULL;
    }
    snprintf(mtu_text, sizeof mtu_text, "%" PRId64, mtu);
    snprintf(parent_text, sizeof parent_text, "%" PRId64, parent_mtu);
    return np_error_new(ERR_VLAN_MTU_EXCEEDS_PARENT, "MTU", vlan_network,
                        mtu_text, parent_network, parent_text, NULL);
}

struct np_error *
vlan_check_network_mtu(struct json_object *records, const char *network,
                       int64_t mtu)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *vlans = json_object_object_get(records, "VLAN");
    struct np_error *error = vlan_check_mtu(mtu);

    if (error || !vlans) {
        return error;
    }
    json_object_object_foreach (vlans, uuid, vlan) {
        if (error) {
            break;
        }
        (void) uuid;
        struct json_object *child =
            json_object_object_get(pifs, field(vlan, "untagged_PIF"));
        struct json_object *parent =
            json_object_object_get(pifs, field(vlan, "tagged_PIF"));
        const char *child_net = field(child, "network");
        const char *parent_net = field(parent, "network");
        if (!child || !parent || !strcmp(child_net, parent_net)) {
            continue;
        }
        if (!strcmp(child_net, network)) {
            /* The VLAN network itself changes. */
            struct json_object *p =
                json_object_object_get(networks, parent_net);
            if (p) {
                error = vlan_check_mtu_parent(
                    network, mtu, parent_net,
                    int_field(p, "MTU", VLAN_MTU_STANDARD));
            }
        } else if (!strcmp(parent_net, network)) {
            /* The parent's network changes under the VLAN network. */
            struct json_object *c =
                json_object_object_get(networks, child_net);
            if (c) {
                error = vlan_check_mtu_parent(
                    child_net, int_field(c, "MTU", VLAN_MTU_STANDARD), network,
                    mtu);
            }
        }
    }
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

static int64_t
int_field(struct json_object *record, const char *name, int64_t dflt)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_int)
               ? json_object_get_int64(value)
               : dflt;
}

static bool
bool_field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
           && json_object_get_boolean(value);
}
