/*
 * VLAN methods: VLAN.create and VLAN.destroy, and the VLAN rule that
 * network.set_MTU must respect.  The rules themselves are vlan/'s (pure
 * checks of records); this file reads the records, asks them, and writes
 * the VLAN object and its VLAN PIF in one store transaction, so that a
 * refused call leaves nothing behind.  The fabric reconciler turns the new
 * VLAN PIF into a fake bridge on the parent's bridge.
 */
#include "mgmt/api-internal.h"

#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "mgmt/store.h"
#include "vlan/vlan.h"

static api_method vlan_create, vlan_destroy;
static struct json_object *read_records(struct store *);
static const char *field(struct json_object *record, const char *name);
static int64_t int_field(struct json_object *record, const char *name,
                         int64_t dflt);
static struct json_object *new_vlan_pif(struct json_object *parent,
                                        const char *network, int64_t tag,
                                        int64_t mtu);

api_method *
api_vlan_method(const char *name)
{
    return !strcmp(name, "VLAN.create")    ? vlan_create
           : !strcmp(name, "VLAN.destroy") ? vlan_destroy
                                           : NULL;
}

struct np_error *
api_vlan_check_set(struct api *api, const struct store_class *class,
                   const struct store_field *field_, const char *uuid,
                   struct json_object *value)
{
    if (strcmp(class->name, "network") || strcmp(field_->name, "MTU")) {
        return NULL;
    }
    struct json_object *records = read_records(api->store);
    struct np_error *error =
        vlan_check_network_mtu(records, uuid, json_object_get_int64(value));
    json_object_put(records);
    return error;
}

/* VLAN.create(tagged_PIF, tag, network): a VLAN with 'tag' on the parent
 * PIF, whose new VLAN PIF (on the parent's host) joins 'network'.  Returns
 * the VLAN's reference. */
static struct np_error *
vlan_create(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct store *store = call->api->store;
    const char *pif_uuid, *network_uuid;
    struct np_error *error;

    if ((error = api_expect_args(call, 3))
        || (error = api_arg_string(call, 0, "tagged_PIF", &pif_uuid))
        || (error = api_arg_string(call, 2, "network", &network_uuid))) {
        return error;
    }
    struct json_object *tag_arg = json_object_array_get_idx(call->args, 1);
    if (!json_object_is_type(tag_arg, json_type_int)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, "tag", NULL);
    }
    int64_t tag = json_object_get_int64(tag_arg);

    struct json_object *records = read_records(store);
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *vlans = json_object_object_get(records, "VLAN");
    struct json_object *parent = json_object_object_get(pifs, pif_uuid);
    struct json_object *network =
        json_object_object_get(networks, network_uuid);
    struct json_object *parent_net =
        json_object_object_get(networks, field(parent, "network"));

    if (!parent) {
        error = np_error_new(ERR_HANDLE_INVALID, "PIF", pif_uuid, NULL);
    } else if (!network) {
        error =
            np_error_new(ERR_HANDLE_INVALID, "network", network_uuid, NULL);
    } else if ((error = vlan_check_parent(pif_uuid, parent, vlans, tag))
               || (error = vlan_check_tag(tag))) {
        /* Refused. */
    } else if (!parent_net) {
        error =
            np_error_new(ERR_PIF_HAS_NO_NETWORK_CONFIGURATION, pif_uuid, NULL);
    } else if ((error = vlan_check_network(network_uuid, field(parent, "host"),
                                           pifs))
               || (error = vlan_check_mtu_parent(
                       network_uuid,
                       int_field(network, "MTU", VLAN_MTU_STANDARD),
                       field(parent, "network"),
                       int_field(parent_net, "MTU", VLAN_MTU_STANDARD)))) {
        /* Refused. */
    }
    if (error) {
        json_object_put(records);
        return error;
    }

    /* The VLAN PIF and the VLAN, together or not at all. */
    char vlan_uuid[UUID_LENGTH + 1], child_uuid[UUID_LENGTH + 1];
    uuid_text_random(vlan_uuid);
    uuid_text_random(child_uuid);
    struct json_object *child =
        new_vlan_pif(parent, network_uuid, tag,
                     int_field(network, "MTU", VLAN_MTU_STANDARD));
    struct json_object *vlan = json_object_new_object();
    json_object_object_add(vlan, "tagged_PIF",
                           json_object_new_string(pif_uuid));
    json_object_object_add(vlan, "untagged_PIF",
                           json_object_new_string(child_uuid));
    json_object_object_add(vlan, "tag", json_object_new_int64(tag));

    int retval = store_begin(store);
    if (!retval) {
        retval = store_insert(store, "PIF", child_uuid, child);
    }
    if (!retval) {
        retval = store_insert(store, "VLAN", vlan_uuid, vlan);
    }
    if (retval) {
        store_rollback(store);
    } else {
        retval = store_commit(store);
    }
    json_object_put(child);
    json_object_put(vlan);
    json_object_put(records);
    if (retval) {
        return api_store_error(retval, "VLAN", vlan_uuid);
    }
    *result = json_object_new_string(vlan_uuid);
    return NULL;
}

/* VLAN.destroy(self): the VLAN and its VLAN PIF go; the fake bridge
 * leaves the parent's bridge.  Not while the VLAN PIF is the management
 * interface. */
static struct np_error *
vlan_destroy(struct api_call *call, struct json_object **result,
             bool *deferred)
{
    struct store *store = call->api->store;
    const char *uuid;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_string(call, 0, "self", &uuid))) {
        return error;
    }
    struct json_object *vlan = store_get(store, "VLAN", uuid);
    if (!vlan) {
        return np_error_new(ERR_HANDLE_INVALID, "VLAN", uuid, NULL);
    }
    const char *child_uuid = field(vlan, "untagged_PIF");
    struct json_object *child = store_get(store, "PIF", child_uuid);
    struct json_object *management;
    if (child && json_object_object_get_ex(child, "management", &management)
        && json_object_get_boolean(management)) {
        error =
            np_error_new(ERR_PIF_IS_MANAGEMENT_INTERFACE, child_uuid, NULL);
    }

    int retval = 0;
    if (!error) {
        retval = store_begin(store);
        if (!retval && child) {
            retval = store_delete(store, "PIF", child_uuid);
        }
        if (!retval) {
            retval = store_delete(store, "VLAN", uuid);
        }
        if (retval) {
            store_rollback(store);
        } else {
            retval = store_commit(store);
        }
    }
    json_object_put(child);
    json_object_put(vlan);
    if (!error && retval) {
        error = api_store_error(retval, "VLAN", uuid);
    }
    return error;
}

/* Helpers. */

/* Returns what the VLAN rules look at: class → (UUID → record) for
 * "network", "PIF" and "VLAN". */
static struct json_object *
read_records(struct store *store)
{
    static const char *const classes[] = {"network", "PIF", "VLAN"};
    struct json_object *records = json_object_new_object();

    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        json_object_object_add(records, classes[i],
                               store_get_all(store, classes[i]));
    }
    return records;
}

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

/* Returns the record of a new VLAN PIF under 'parent', as xapi makes it:
 * not physical, the parent's device, MAC and host, the VLAN tag, on
 * 'network' at its 'mtu', plugged. */
static struct json_object *
new_vlan_pif(struct json_object *parent, const char *network, int64_t tag,
             int64_t mtu)
{
    struct json_object *pif = json_object_new_object();

    json_object_object_add(pif, "device",
                           json_object_new_string(field(parent, "device")));
    json_object_object_add(pif, "MAC",
                           json_object_new_string(field(parent, "MAC")));
    json_object_object_add(pif, "host",
                           json_object_new_string(field(parent, "host")));
    json_object_object_add(pif, "network", json_object_new_string(network));
    json_object_object_add(pif, "VLAN", json_object_new_int64(tag));
    json_object_object_add(pif, "MTU", json_object_new_int64(mtu));
    json_object_object_add(pif, "physical", json_object_new_boolean(false));
    json_object_object_add(pif, "currently_attached",
                           json_object_new_boolean(true));
    return pif;
}
