/*
 * Bond methods: bond.create, bond.destroy, bond.set_mode and the property
 * writes (bond.set_property, bond.set_properties, bond.add_to_properties,
 * bond.remove_from_properties).  The rules come from bonding/; this file
 * applies them to the store, each call in one transaction, so that a
 * refused call leaves nothing behind and the OVS reconciler sees a bond
 * appear or go in one change.
 *
 * Creating a bond makes its master PIF ("bondN", not physical, on the
 * given network, with the primary member's MAC unless one is given) and
 * moves onto it what the members carried, as xapi does: the management
 * role and the IP configuration of the primary member, the VLANs whose
 * parent is a member, and the local VIFs on the members' networks.
 * Destroying it moves them back to the primary member.
 */
#include "mgmt/api-internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "bonding/bonding.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "api"

static api_method bond_create, bond_destroy, bond_set_mode;
static api_method bond_set_property, bond_set_properties;
static api_method bond_add_to_properties, bond_remove_from_properties;
static api_method pool_create_bond;
static struct np_error *create_bond(struct api_call *, const char *network,
                                    struct json_object *members,
                                    const char *mac, enum bond_mode,
                                    struct json_object *properties,
                                    char bond[UUID_LENGTH + 1]);

/* The PIF fields that make an IP configuration; they move with the
 * management role. */
static const char *const ip_fields[] = {
    "ip_configuration_mode", "IP", "netmask", "gateway", "DNS",
};

/* What a member PIF holds because it is in a bond: cleared when it
 * leaves. */
static const char *const member_fields[] = {
    "bond_slave_of", "bond_member_state", "lacp_state",
    "lacp_partner",  "bfd_state",
};

static struct np_error *get_bond(struct api_call *, size_t arg,
                                 const char **uuid,
                                 struct json_object **record);
static struct np_error *write_properties(struct api_call *, const char *uuid,
                                         struct json_object *bond,
                                         struct json_object *properties,
                                         bool normalize);
static bool mac_is_valid(const char *mac);
static void next_device(struct json_object *pifs, const char *host,
                        char *device, size_t size);
static int move_role(struct store *, const char *from,
                     struct json_object *from_record, const char *to);
static int move_vlans(struct store *, struct json_object *pifs,
                      const char *from, const char *to, const char *device);
static int move_vifs(struct store *, const char *host,
                     struct json_object *networks, const char *to);
static int update_field(struct store *, const char *class, const char *uuid,
                        const char *field, struct json_object *value);
static const char *field(struct json_object *record, const char *name);
static bool bool_field(struct json_object *record, const char *name);

api_method *
api_bond_method(const char *name)
{
    static const struct {
        const char *name;
        api_method *method;
    } methods[] = {
        {"bond.create", bond_create},
        {"bond.destroy", bond_destroy},
        {"bond.set_mode", bond_set_mode},
        {"bond.set_property", bond_set_property},
        {"bond.set_properties", bond_set_properties},
        {"bond.add_to_properties", bond_add_to_properties},
        {"bond.remove_from_properties", bond_remove_from_properties},
        {"pool.create_bond", pool_create_bond},
    };

    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (!strcmp(name, methods[i].name)) {
            return methods[i].method;
        }
    }
    return NULL;
}

/* bond.create(network, members, MAC, mode, properties): MAC, mode and
 * properties may be left out (MAC "" and mode balance-slb, as xapi). */
static struct np_error *
bond_create(struct api_call *call, struct json_object **result, bool *deferred)
{
    size_t n_args = json_object_array_length(call->args);
    struct json_object *members, *properties = NULL;
    const char *network, *mac = "", *mode_name = "balance-slb";
    struct np_error *error;
    enum bond_mode mode;

    if (n_args < 2 || n_args > 5) {
        error = api_expect_args(call, 5);
        return error;
    }
    if ((error = api_arg_string(call, 0, "network", &network))) {
        return error;
    }
    members = json_object_array_get_idx(call->args, 1);
    if (!json_object_is_type(members, json_type_array)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, "members", NULL);
    }
    for (size_t i = 0; i < json_object_array_length(members); i++) {
        if (!json_object_is_type(json_object_array_get_idx(members, i),
                                 json_type_string)) {
            return np_error_new(ERR_FIELD_TYPE_ERROR, "members", NULL);
        }
    }
    if ((n_args > 2 && (error = api_arg_string(call, 2, "MAC", &mac)))
        || (n_args > 3
            && (error = api_arg_string(call, 3, "mode", &mode_name)))
        || (n_args > 4
            && (error = api_arg_object(call, 4, "properties", &properties)))) {
        return error;
    }
    if (!bond_mode_parse(mode_name, &mode)) {
        return np_error_new(ERR_INVALID_VALUE, "mode", mode_name, NULL);
    }
    if (*mac && !mac_is_valid(mac)) {
        return np_error_new(ERR_INVALID_VALUE, "MAC", mac, NULL);
    }
    char bond[UUID_LENGTH + 1];
    error = create_bond(call, network, members, mac, mode, properties, bond);
    if (!error) {
        *result = json_object_new_string(bond);
    }
    return error;
}

/* Makes the bond of 'members' (PIFs of one host) on 'network' as
 * bond.create does, in one store transaction (nested in the caller's if
 * it has one open), and stores its UUID in 'bond'. */
static struct np_error *
create_bond(struct api_call *call, const char *network,
            struct json_object *members, const char *mac, enum bond_mode mode,
            struct json_object *properties, char bond[UUID_LENGTH + 1])
{
    struct store *store = call->api->store;
    struct json_object *normalized = NULL;
    struct np_error *error;
    struct json_object *net = store_get(store, "network", network);
    if (!net) {
        return np_error_new(ERR_HANDLE_INVALID, "network", network, NULL);
    }

    struct json_object *pifs = store_get_all(store, "PIF");
    struct json_object *networks = store_get_all(store, "network");
    struct json_object *first = json_object_object_get(
        pifs, json_object_get_string(json_object_array_get_idx(members, 0)));
    const char *host = first ? field(first, "host") : call->api->host_uuid;
    char device[16];
    char master[UUID_LENGTH + 1];
    int retval = 0;

    error = bond_check_members(pifs, networks, members, mode, host, NULL);
    if (!error) {
        json_object_object_foreach (pifs, uuid, pif) {
            if (!strcmp(field(pif, "network"), network)
                && !strcmp(field(pif, "host"), host)) {
                error = np_error_new(ERR_NETWORK_ALREADY_CONNECTED, network,
                                     uuid, NULL);
                break;
            }
        }
    }
    if (!error) {
        error = bond_properties_check(mode, properties, &normalized);
    }
    if (!error) {
        error = api_dpdk_check_bond(call->api, network, members);
    }
    if (error) {
        goto out;
    }

    const char *primary = bond_pick_primary_member(pifs, members);
    struct json_object *primary_pif = json_object_object_get(pifs, primary);
    bool management = false;
    for (size_t i = 0; i < json_object_array_length(members); i++) {
        management |= bool_field(
            json_object_object_get(
                pifs,
                json_object_get_string(json_object_array_get_idx(members, i))),
            "management");
    }
    next_device(pifs, host, device, sizeof device);
    uuid_text_random(bond);
    uuid_text_random(master);

    struct json_object *b = json_object_new_object();
    json_object_object_add(b, "master", json_object_new_string(master));
    json_object_object_add(b, "primary_slave",
                           json_object_new_string(primary));
    json_object_object_add(b, "mode",
                           json_object_new_string(bond_mode_name(mode)));
    json_object_object_add(b, "properties", json_object_get(normalized));

    struct json_object *m = json_object_new_object();
    json_object_object_add(m, "device", json_object_new_string(device));
    json_object_object_add(
        m, "MAC",
        json_object_new_string(*mac ? mac : field(primary_pif, "MAC")));
    json_object_object_add(
        m, "MTU", json_object_get(json_object_object_get(net, "MTU")));
    json_object_object_add(m, "physical", json_object_new_boolean(false));
    json_object_object_add(m, "currently_attached",
                           json_object_new_boolean(true));
    json_object_object_add(m, "host", json_object_new_string(host));
    json_object_object_add(m, "network", json_object_new_string(network));

    store_begin(store);
    retval = store_insert(store, "bond", bond, b);
    if (!retval) {
        retval = store_insert(store, "PIF", master, m);
    }
    for (size_t i = 0; !retval && i < json_object_array_length(members); i++) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(members, i));
        struct json_object *value = json_object_new_string(bond);
        retval = update_field(store, "PIF", uuid, "bond_slave_of", value);
        json_object_put(value);
    }
    if (!retval
        && (management
            || strcmp(field(primary_pif, "ip_configuration_mode"), "None"))) {
        retval = move_role(store, primary, primary_pif, master);
    }
    for (size_t i = 0; !retval && i < json_object_array_length(members); i++) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(members, i));
        retval = move_vlans(store, pifs, uuid, master, device);
    }
    if (!retval) {
        struct json_object *from = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(members); i++) {
            struct json_object *pif = json_object_object_get(
                pifs,
                json_object_get_string(json_object_array_get_idx(members, i)));
            if (*field(pif, "network")) {
                json_object_array_add(
                    from, json_object_new_string(field(pif, "network")));
            }
        }
        retval = move_vifs(store, host, from, network);
        json_object_put(from);
    }
    json_object_put(b);
    json_object_put(m);
    if (retval) {
        store_rollback(store);
    } else {
        retval = store_commit(store);
    }
    if (retval) {
        error = api_store_error(retval, "bond", bond);
    }

out:
    json_object_put(normalized);
    json_object_put(pifs);
    json_object_put(networks);
    json_object_put(net);
    return error;
}

/* pool.create_bond(network, members, mode, properties): the bond
 * bond.create would make of 'members' (PIFs of one host), made on every
 * host of the pool that has PIFs of the same devices, each on 'network';
 * refused whole if any host's cannot be made (the error names that
 * host's PIF).  Returns the new bonds. */
static struct np_error *
pool_create_bond(struct api_call *call, struct json_object **result,
                 bool *deferred)
{
    struct store *store = call->api->store;
    struct json_object *members, *properties = NULL;
    const char *network, *mode_name;
    struct np_error *error;
    enum bond_mode mode;

    if ((error = api_expect_args(call, 4))
        || (error = api_arg_string(call, 0, "network", &network))
        || (error = api_arg_string(call, 2, "mode", &mode_name))
        || (error = api_arg_object(call, 3, "properties", &properties))) {
        return error;
    }
    members = json_object_array_get_idx(call->args, 1);
    if (!json_object_is_type(members, json_type_array)
        || !json_object_array_length(members)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, "members", NULL);
    }
    if (!bond_mode_parse(mode_name, &mode)) {
        return np_error_new(ERR_INVALID_VALUE, "mode", mode_name, NULL);
    }

    /* The devices of the given members, all of one host. */
    struct json_object *pifs = store_get_all(store, "PIF");
    struct json_object *devices = json_object_new_array();
    const char *first_host = NULL;
    for (size_t i = 0; !error && i < json_object_array_length(members); i++) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(members, i));
        struct json_object *pif =
            uuid ? json_object_object_get(pifs, uuid) : NULL;
        if (!pif) {
            error = np_error_new(ERR_HANDLE_INVALID, "PIF", uuid ? uuid : "",
                                 NULL);
        } else if (first_host && strcmp(first_host, field(pif, "host"))) {
            error = np_error_new(ERR_INVALID_VALUE, "members", uuid, NULL);
        } else {
            first_host = field(pif, "host");
            json_object_array_add(
                devices, json_object_new_string(field(pif, "device")));
        }
    }

    /* Each host's untagged PIFs of those devices (bond.create's checks
     * refuse one already bonded). */
    struct json_object *hosts = store_get_all(store, "host");
    struct json_object *bonds = json_object_new_array();
    int retval = error ? 0 : store_begin(store);
    if (retval) {
        error = api_store_error(retval, "bond", "");
    }
    json_object_object_foreach (hosts, host, host_record) {
        (void) host_record;
        if (error) {
            break;
        }
        struct json_object *host_members = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(devices); i++) {
            const char *device =
                json_object_get_string(json_object_array_get_idx(devices, i));
            json_object_object_foreach (pifs, uuid, pif) {
                if (!strcmp(field(pif, "host"), host)
                    && !strcmp(field(pif, "device"), device)
                    && json_object_get_int64(
                           json_object_object_get(pif, "VLAN"))
                           < 0) {
                    json_object_array_add(host_members,
                                          json_object_new_string(uuid));
                }
            }
        }
        if (json_object_array_length(host_members)
            == json_object_array_length(devices)) {
            char bond[UUID_LENGTH + 1];
            error = create_bond(call, network, host_members, "", mode,
                                properties, bond);
            if (!error) {
                json_object_array_add(bonds, json_object_new_string(bond));
            }
        }
        json_object_put(host_members);
    }
    if (!error) {
        retval = store_commit(store);
        if (retval) {
            error = api_store_error(retval, "bond", "");
        }
    } else {
        store_rollback(store);
    }
    if (!error) {
        *result = json_object_get(bonds);
    }
    json_object_put(bonds);
    json_object_put(hosts);
    json_object_put(devices);
    json_object_put(pifs);
    return error;
}

/* A bond to mirror, by its bond PIF's device. */
struct mirrored {
    const char *device;
    const char *bond;
};

/* Orders bond devices as people count them: bond2 before bond10. */
static int
compare_devices(const void *a_, const void *b_)
{
    const struct mirrored *a = a_, *b = b_;
    size_t la = strlen(a->device), lb = strlen(b->device);
    return la != lb ? (la < lb ? -1 : 1) : strcmp(a->device, b->device);
}

struct np_error *
api_bond_mirror(struct api_call *call, const char *from_host,
                const char *to_host)
{
    struct store *store = call->api->store;
    struct json_object *bonds = store_get_all(store, "bond");
    struct json_object *pifs = store_get_all(store, "PIF");
    struct np_error *error = NULL;

    /* In the order of the bond PIFs' devices, so that the joiner's bond0
     * is the master's bond0 (VLANs follow bonds by device). */
    size_t n = 0;
    struct mirrored *order =
        xzalloc((json_object_object_length(bonds) + 1) * sizeof *order);
    json_object_object_foreach (bonds, b, bond) {
        struct json_object *master =
            json_object_object_get(pifs, field(bond, "master"));
        if (master && !strcmp(field(master, "host"), from_host)) {
            order[n].device = field(master, "device");
            order[n++].bond = b;
        }
    }
    qsort(order, n, sizeof *order, compare_devices);

    for (size_t i = 0; !error && i < n; i++) {
        const char *b = order[i].bond;
        struct json_object *bond = json_object_object_get(bonds, b);
        struct json_object *master =
            json_object_object_get(pifs, field(bond, "master"));
        struct json_object *members = json_object_new_array();
        size_t wanted = 0;

        json_object_object_foreach (pifs, uuid, pif) {
            (void) uuid;
            if (strcmp(field(pif, "bond_slave_of"), b)) {
                continue;
            }
            wanted++;
            json_object_object_foreach (pifs, to_uuid, to_pif) {
                if (!strcmp(field(to_pif, "host"), to_host)
                    && !strcmp(field(to_pif, "device"), field(pif, "device"))
                    && json_object_get_int64(
                           json_object_object_get(to_pif, "VLAN"))
                           < 0) {
                    json_object_array_add(members,
                                          json_object_new_string(to_uuid));
                }
            }
        }
        enum bond_mode mode;
        if (wanted && json_object_array_length(members) == wanted
            && bond_mode_parse(field(bond, "mode"), &mode)) {
            char copy[UUID_LENGTH + 1];
            error =
                create_bond(call, field(master, "network"), members, "", mode,
                            json_object_object_get(bond, "properties"), copy);
        }
        json_object_put(members);
    }
    free(order);
    json_object_put(pifs);
    json_object_put(bonds);
    return error;
}

/* bond.destroy(self): the members become ordinary PIFs again and the
 * primary member takes back what the bond took from it. */
static struct np_error *
bond_destroy(struct api_call *call, struct json_object **result,
             bool *deferred)
{
    struct store *store = call->api->store;
    struct json_object *bond;
    struct np_error *error;
    const char *uuid;

    if ((error = api_expect_args(call, 1))
        || (error = get_bond(call, 0, &uuid, &bond))) {
        return error;
    }
    const char *master = field(bond, "master");
    struct json_object *pifs = store_get_all(store, "PIF");
    struct json_object *master_pif = json_object_object_get(pifs, master);
    struct json_object *slaves = json_object_object_get(bond, "slaves");
    const char *primary = field(bond, "primary_slave");
    if (!json_object_object_get(pifs, primary)) {
        primary = json_object_get_string(json_object_array_get_idx(slaves, 0));
    }
    struct json_object *primary_pif =
        primary ? json_object_object_get(pifs, primary) : NULL;
    int retval = 0;

    store_begin(store);
    for (size_t i = 0; !retval && i < json_object_array_length(slaves); i++) {
        /* Out of the bond, and without the bond's runtime state. */
        struct json_object *changes = json_object_new_object();
        for (size_t j = 0; j < sizeof member_fields / sizeof *member_fields;
             j++) {
            json_object_object_add(changes, member_fields[j],
                                   json_object_new_string(""));
        }
        retval = store_update(
            store, "PIF",
            json_object_get_string(json_object_array_get_idx(slaves, i)),
            changes);
        json_object_put(changes);
    }
    if (master_pif && primary_pif) {
        if (!retval
            && (bool_field(master_pif, "management")
                || strcmp(field(master_pif, "ip_configuration_mode"),
                          "None"))) {
            retval = move_role(store, master, master_pif, primary);
        }
        if (!retval) {
            retval = move_vlans(store, pifs, master, primary,
                                field(primary_pif, "device"));
        }
        if (!retval && *field(primary_pif, "network")) {
            struct json_object *from = json_object_new_array();
            json_object_array_add(
                from, json_object_new_string(field(master_pif, "network")));
            retval = move_vifs(store, field(master_pif, "host"), from,
                               field(primary_pif, "network"));
            json_object_put(from);
        }
    }
    if (!retval && master_pif) {
        retval = store_delete(store, "PIF", master);
    }
    if (!retval) {
        retval = store_delete(store, "bond", uuid);
    }
    if (retval) {
        store_rollback(store);
    } else {
        retval = store_commit(store);
    }
    if (retval) {
        error = api_store_error(retval, "bond", uuid);
    }
    json_object_put(pifs);
    json_object_put(bond);
    return error;
}

/* bond.set_mode(self, value): the members must suit the new mode (at most
 * four for lacp), and a hashing algorithm it lacks becomes its default. */
static struct np_error *
bond_set_mode(struct api_call *call, struct json_object **result,
              bool *deferred)
{
    struct store *store = call->api->store;
    struct json_object *bond;
    struct np_error *error;
    const char *uuid, *mode_name;
    enum bond_mode mode;

    if ((error = api_expect_args(call, 2))
        || (error = api_arg_string(call, 1, "value", &mode_name))
        || (error = get_bond(call, 0, &uuid, &bond))) {
        return error;
    }
    if (!bond_mode_parse(mode_name, &mode)) {
        json_object_put(bond);
        return np_error_new(ERR_INVALID_VALUE, "mode", mode_name, NULL);
    }
    struct json_object *pifs = store_get_all(store, "PIF");
    struct json_object *networks = store_get_all(store, "network");
    struct json_object *slaves = json_object_object_get(bond, "slaves");
    const char *host = field(
        json_object_object_get(
            pifs,
            json_object_get_string(json_object_array_get_idx(slaves, 0))),
        "host");
    struct json_object *properties = bond_properties_for_mode(
        mode, json_object_object_get(bond, "properties"));

    error = bond_check_members(pifs, networks, slaves, mode, host, uuid);
    if (!error) {
        error = bond_properties_check(mode, properties, NULL);
    }
    if (!error) {
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "mode",
                               json_object_new_string(bond_mode_name(mode)));
        json_object_object_add(changes, "properties",
                               json_object_get(properties));
        int retval = store_update(store, "bond", uuid, changes);
        json_object_put(changes);
        if (retval) {
            error = api_store_error(retval, "bond", uuid);
        }
    }
    json_object_put(properties);
    json_object_put(networks);
    json_object_put(pifs);
    json_object_put(bond);
    return error;
}

/* bond.set_property(self, name, value): sets one property. */
static struct np_error *
bond_set_property(struct api_call *call, struct json_object **result,
                  bool *deferred)
{
    struct json_object *bond;
    struct np_error *error;
    const char *uuid, *name, *value;

    if ((error = api_expect_args(call, 3))
        || (error = api_arg_string(call, 1, "name", &name))
        || (error = api_arg_string(call, 2, "value", &value))
        || (error = get_bond(call, 0, &uuid, &bond))) {
        return error;
    }
    struct json_object *properties = json_object_new_object();
    json_object_object_foreach (json_object_object_get(bond, "properties"),
                                key, v) {
        json_object_object_add(properties, key, json_object_get(v));
    }
    json_object_object_add(properties, name, json_object_new_string(value));
    error = write_properties(call, uuid, bond, properties, true);
    json_object_put(properties);
    json_object_put(bond);
    return error;
}

/* bond.set_properties(self, map): replaces every property. */
static struct np_error *
bond_set_properties(struct api_call *call, struct json_object **result,
                    bool *deferred)
{
    struct json_object *bond, *properties;
    struct np_error *error;
    const char *uuid;

    if ((error = api_expect_args(call, 2))
        || (error = api_arg_object(call, 1, "value", &properties))
        || (error = get_bond(call, 0, &uuid, &bond))) {
        return error;
    }
    error = write_properties(call, uuid, bond, properties, true);
    json_object_put(bond);
    return error;
}

/* bond.add_to_properties(self, key, value): as set_property, but a key
 * that is already there answers MAP_DUPLICATE_KEY, as for every map. */
static struct np_error *
bond_add_to_properties(struct api_call *call, struct json_object **result,
                       bool *deferred)
{
    struct json_object *bond;
    struct np_error *error;
    const char *uuid, *key;

    if ((error = api_expect_args(call, 3))
        || (error = api_arg_string(call, 1, "key", &key))
        || (error = get_bond(call, 0, &uuid, &bond))) {
        return error;
    }
    bool present = json_object_object_get_ex(
        json_object_object_get(bond, "properties"), key, NULL);
    json_object_put(bond);
    if (present) {
        return np_error_new(ERR_MAP_DUPLICATE_KEY, "bond", "properties", key,
                            NULL);
    }
    return bond_set_property(call, result, deferred);
}

/* bond.remove_from_properties(self, key): the property takes its default
 * again (kept out of the map, so that a following add_to_properties of
 * the same key, as the CLI's param-set makes, succeeds); a missing key
 * does nothing. */
static struct np_error *
bond_remove_from_properties(struct api_call *call, struct json_object **result,
                            bool *deferred)
{
    struct json_object *bond;
    struct np_error *error;
    const char *uuid, *key;

    if ((error = api_expect_args(call, 2))
        || (error = api_arg_string(call, 1, "key", &key))
        || (error = get_bond(call, 0, &uuid, &bond))) {
        return error;
    }
    struct json_object *properties = json_object_new_object();
    json_object_object_foreach (json_object_object_get(bond, "properties"), k,
                                v) {
        if (strcmp(k, key)) {
            json_object_object_add(properties, k, json_object_get(v));
        }
    }
    error = write_properties(call, uuid, bond, properties, false);
    json_object_put(properties);
    json_object_put(bond);
    return error;
}

/* Helpers. */

static struct np_error *
get_bond(struct api_call *call, size_t arg, const char **uuid,
         struct json_object **record)
{
    struct np_error *error = api_arg_string(call, arg, "self", uuid);

    if (error) {
        return error;
    }
    *record = store_get(call->api->store, "bond", *uuid);
    if (!*record) {
        return np_error_new(ERR_HANDLE_INVALID, "bond", *uuid, NULL);
    }
    return NULL;
}

/* Checks 'properties' for the mode of 'bond' and stores them; with
 * 'normalize', with the mode's default hashing algorithm when absent. */
static struct np_error *
write_properties(struct api_call *call, const char *uuid,
                 struct json_object *bond, struct json_object *properties,
                 bool normalize)
{
    struct json_object *normalized;
    struct np_error *error;
    enum bond_mode mode;

    if (!bond_mode_parse(field(bond, "mode"), &mode)) {
        mode = BOND_MODE_BALANCE_SLB;
    }
    if ((error = bond_properties_check(mode, properties, &normalized))) {
        return error;
    }
    int retval = update_field(call->api->store, "bond", uuid, "properties",
                              normalize ? normalized : properties);
    json_object_put(normalized);
    return retval ? api_store_error(retval, "bond", uuid) : NULL;
}

/* A unicast MAC written "aa:bb:cc:dd:ee:ff". */
static bool
mac_is_valid(const char *mac)
{
    if (strlen(mac) != 17) {
        return false;
    }
    for (size_t i = 0; i < 17; i++) {
        if (i % 3 == 2 ? mac[i] != ':' : !isxdigit((unsigned char) mac[i])) {
            return false;
        }
    }
    unsigned int first;
    return sscanf(mac, "%2x", &first) == 1 && !(first & 1);
}

/* The first "bondN" no PIF of 'host' uses. */
static void
next_device(struct json_object *pifs, const char *host, char *device,
            size_t size)
{
    for (unsigned int n = 0;; n++) {
        bool taken = false;
        snprintf(device, size, "bond%u", n);
        json_object_object_foreach (pifs, uuid, pif) {
            (void) uuid;
            taken |= !strcmp(field(pif, "host"), host)
                     && !strcmp(field(pif, "device"), device);
        }
        if (!taken) {
            return;
        }
    }
}

/* Moves the management role and the IP configuration from PIF 'from'
 * (whose record is 'from_record') to PIF 'to'. */
static int
move_role(struct store *store, const char *from,
          struct json_object *from_record, const char *to)
{
    struct json_object *gain = json_object_new_object();
    struct json_object *lose = json_object_new_object();

    json_object_object_add(
        gain, "management",
        json_object_new_boolean(bool_field(from_record, "management")));
    json_object_object_add(lose, "management", json_object_new_boolean(false));
    for (size_t i = 0; i < sizeof ip_fields / sizeof *ip_fields; i++) {
        const char *value = field(from_record, ip_fields[i]);
        bool mode = !strcmp(ip_fields[i], "ip_configuration_mode");
        json_object_object_add(
            gain, ip_fields[i],
            json_object_new_string(mode && !*value ? "None" : value));
        json_object_object_add(lose, ip_fields[i],
                               json_object_new_string(mode ? "None" : ""));
    }
    int retval = store_update(store, "PIF", from, lose);
    if (!retval) {
        retval = store_update(store, "PIF", to, gain);
    }
    json_object_put(gain);
    json_object_put(lose);
    return retval;
}

/* Re-parents the VLANs on PIF 'from' onto PIF 'to' (device 'device'):
 * the VLAN objects and their VLAN PIFs, which carry the parent's
 * device. */
static int
move_vlans(struct store *store, struct json_object *pifs, const char *from,
           const char *to, const char *device)
{
    struct json_object *key = json_object_new_string(from);
    struct json_object *vlans = store_find(store, "VLAN", "tagged_PIF", key);
    int retval = 0;

    for (size_t i = 0; !retval && i < json_object_array_length(vlans); i++) {
        const char *vlan =
            json_object_get_string(json_object_array_get_idx(vlans, i));
        struct json_object *record = store_get(store, "VLAN", vlan);
        struct json_object *value = json_object_new_string(to);
        retval = update_field(store, "VLAN", vlan, "tagged_PIF", value);
        json_object_put(value);
        const char *untagged = field(record, "untagged_PIF");
        if (!retval && json_object_object_get(pifs, untagged)) {
            value = json_object_new_string(device);
            retval = update_field(store, "PIF", untagged, "device", value);
            json_object_put(value);
        }
        json_object_put(record);
    }
    json_object_put(vlans);
    json_object_put(key);
    return retval;
}

/* Moves onto network 'to' the VIFs on any network of 'networks' (a JSON
 * array of UUIDs) that belong to this host: those whose VM resides on
 * 'host' and those attached to a namespace guest here
 * (other_config:netns). */
static int
move_vifs(struct store *store, const char *host, struct json_object *networks,
          const char *to)
{
    struct json_object *vifs = store_get_all(store, "VIF");
    int retval = 0;

    json_object_object_foreach (vifs, uuid, vif) {
        bool listed = false;
        for (size_t i = 0; i < json_object_array_length(networks); i++) {
            listed |= !strcmp(field(vif, "network"),
                              json_object_get_string(
                                  json_object_array_get_idx(networks, i)));
        }
        if (!listed || retval) {
            continue;
        }
        struct json_object *vm = store_get(store, "VM", field(vif, "VM"));
        struct json_object *oc = json_object_object_get(vif, "other_config");
        bool local = !strcmp(field(vm, "resident_on"), host)
                     || json_object_object_get_ex(oc, "netns", NULL);
        json_object_put(vm);
        if (local) {
            struct json_object *value = json_object_new_string(to);
            retval = update_field(store, "VIF", uuid, "network", value);
            json_object_put(value);
        }
    }
    json_object_put(vifs);
    return retval;
}

static int
update_field(struct store *store, const char *class, const char *uuid,
             const char *name, struct json_object *value)
{
    struct json_object *changes = json_object_new_object();

    json_object_object_add(changes, name, json_object_get(value));
    int retval = store_update(store, class, uuid, changes);
    json_object_put(changes);
    return retval;
}

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
}

static bool
bool_field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
           && json_object_get_boolean(value);
}
