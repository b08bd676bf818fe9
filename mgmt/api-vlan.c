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
#include "lib/uuid.h"
#include "mgmt/store.h"
#include "vlan/vlan.h"

static api_method vlan_create, vlan_destroy, pool_create_vlan;
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
    return !strcmp(name, "VLAN.create")                 ? vlan_create
           : !strcmp(name, "VLAN.destroy")              ? vlan_destroy
           : !strcmp(name, "pool.create_VLAN_from_PIF") ? pool_create_vlan
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

/* Checks a VLAN with 'tag' on PIF 'pif_uuid' joining 'network_uuid'
 * against 'records' (read_records()).  Returns NULL and the records of
 * the new VLAN PIF and VLAN in '*childp' and '*vlanp' (new references,
 * the VLAN PIF's UUID in 'child_uuid'), or the typed error. */
static struct np_error *
plan_vlan(struct json_object *records, const char *pif_uuid, int64_t tag,
          const char *network_uuid, char child_uuid[UUID_LENGTH + 1],
          struct json_object **childp, struct json_object **vlanp)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *vlans = json_object_object_get(records, "VLAN");
    struct json_object *parent = json_object_object_get(pifs, pif_uuid);
    struct json_object *network =
        json_object_object_get(networks, network_uuid);
    struct json_object *parent_net =
        json_object_object_get(networks, field(parent, "network"));
    struct np_error *error = NULL;

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
        return error;
    }
    uuid_text_random(child_uuid);
    *childp = new_vlan_pif(parent, network_uuid, tag,
                           int_field(network, "MTU", VLAN_MTU_STANDARD));
    *vlanp = json_object_new_object();
    json_object_object_add(*vlanp, "tagged_PIF",
                           json_object_new_string(pif_uuid));
    json_object_object_add(*vlanp, "untagged_PIF",
                           json_object_new_string(child_uuid));
    json_object_object_add(*vlanp, "tag", json_object_new_int64(tag));
    return NULL;
}

/* Writes the VLANs of 'plans' (an array of {"pif": child UUID, "child":
 * record, "vlan": record}) with a VLAN UUID each, added to the plans.
 * Returns 0 or the store's errno, having written nothing on error. */
static int insert_vlans(struct store *, struct json_object *plans);

static int
write_vlans(struct store *store, struct json_object *plans)
{
    int retval = store_begin(store);
    if (!retval) {
        retval = insert_vlans(store, plans);
    }
    if (retval) {
        store_rollback(store);
        return retval;
    }
    return store_commit(store);
}

/* Inserts the VLANs of 'plans' as write_vlans() does, into the open
 * transaction. */
static int
insert_vlans(struct store *store, struct json_object *plans)
{
    int retval = 0;
    for (size_t i = 0; !retval && i < json_object_array_length(plans); i++) {
        struct json_object *plan = json_object_array_get_idx(plans, i);
        char vlan_uuid[UUID_LENGTH + 1];
        uuid_text_random(vlan_uuid);
        json_object_object_add(plan, "uuid",
                               json_object_new_string(vlan_uuid));
        retval = store_insert(store, "PIF", field(plan, "pif"),
                              json_object_object_get(plan, "child"));
        if (!retval) {
            retval = store_insert(store, "VLAN", vlan_uuid,
                                  json_object_object_get(plan, "vlan"));
        }
    }
    return retval;
}

/* Adds a plan to 'plans'. */
static void
add_plan(struct json_object *plans, const char *child_uuid,
         struct json_object *child, struct json_object *vlan)
{
    struct json_object *plan = json_object_new_object();
    json_object_object_add(plan, "pif", json_object_new_string(child_uuid));
    json_object_object_add(plan, "child", child);
    json_object_object_add(plan, "vlan", vlan);
    json_object_array_add(plans, plan);
}

/* Reads the arguments (tagged_PIF, tag, network) of VLAN.create and
 * pool.create_VLAN_from_PIF, in that method's order ('tag_index' is where
 * the tag is). */
static struct np_error *
vlan_args(struct api_call *call, size_t pif_index, size_t tag_index,
          size_t network_index, const char **pif, int64_t *tag,
          const char **network)
{
    struct np_error *error;

    if ((error = api_expect_args(call, 3))
        || (error = api_arg_string(call, pif_index, "tagged_PIF", pif))
        || (error = api_arg_string(call, network_index, "network", network))) {
        return error;
    }
    struct json_object *tag_arg =
        json_object_array_get_idx(call->args, tag_index);
    if (!json_object_is_type(tag_arg, json_type_int)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, "tag", NULL);
    }
    *tag = json_object_get_int64(tag_arg);
    return NULL;
}

/* VLAN.create(tagged_PIF, tag, network): a VLAN with 'tag' on the parent
 * PIF, whose new VLAN PIF (on the parent's host) joins 'network'.  Returns
 * the VLAN's reference. */
static struct np_error *
vlan_create(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct store *store = call->api->store;
    const char *pif_uuid, *network_uuid;
    int64_t tag;
    struct np_error *error;

    if ((error = vlan_args(call, 0, 1, 2, &pif_uuid, &tag, &network_uuid))) {
        return error;
    }
    struct json_object *records = read_records(store);
    char child_uuid[UUID_LENGTH + 1];
    struct json_object *child, *vlan;
    error = plan_vlan(records, pif_uuid, tag, network_uuid, child_uuid, &child,
                      &vlan);
    json_object_put(records);
    if (error) {
        return error;
    }

    /* The VLAN PIF and the VLAN, together or not at all. */
    struct json_object *plans = json_object_new_array();
    add_plan(plans, child_uuid, child, vlan);
    int retval = write_vlans(store, plans);
    if (retval) {
        json_object_put(plans);
        return api_store_error(retval, "VLAN", "");
    }
    *result = json_object_new_string(
        field(json_object_array_get_idx(plans, 0), "uuid"));
    json_object_put(plans);
    return NULL;
}

/* pool.create_VLAN_from_PIF(PIF, network, VLAN): the VLAN on every host
 * of the pool, on its PIF with the same device as 'PIF', joining
 * 'network'; refused whole (naming the host's PIF that cannot take it)
 * if any host's cannot.  Returns the new VLAN PIFs. */
static struct np_error *
pool_create_vlan(struct api_call *call, struct json_object **result,
                 bool *deferred)
{
    struct store *store = call->api->store;
    const char *pif_uuid, *network_uuid;
    int64_t tag;
    struct np_error *error;

    if ((error = vlan_args(call, 0, 2, 1, &pif_uuid, &tag, &network_uuid))) {
        return error;
    }
    struct json_object *records = read_records(store);
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *parent = json_object_object_get(pifs, pif_uuid);
    if (!parent) {
        json_object_put(records);
        return np_error_new(ERR_HANDLE_INVALID, "PIF", pif_uuid, NULL);
    }
    struct json_object *hosts = store_get_all(store, "host");
    struct json_object *plans = json_object_new_array();
    json_object_object_foreach (hosts, host, host_record) {
        (void) host_record;
        const char *match = NULL;
        json_object_object_foreach (pifs, uuid, pif) {
            if (!strcmp(field(pif, "host"), host)
                && !strcmp(field(pif, "device"), field(parent, "device"))
                && int_field(pif, "VLAN", -1) < 0) {
                match = uuid;
            }
        }
        if (!match) {
            continue;
        }
        char child_uuid[UUID_LENGTH + 1];
        struct json_object *child, *vlan;
        error = plan_vlan(records, match, tag, network_uuid, child_uuid,
                          &child, &vlan);
        if (error) {
            break;
        }
        add_plan(plans, child_uuid, child, vlan);
    }
    json_object_put(hosts);
    json_object_put(records);
    if (!error) {
        int retval = write_vlans(store, plans);
        if (retval) {
            error = api_store_error(retval, "VLAN", "");
        }
    }
    if (!error) {
        *result = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(plans); i++) {
            json_object_array_add(
                *result, json_object_new_string(field(
                             json_object_array_get_idx(plans, i), "pif")));
        }
    }
    json_object_put(plans);
    return error;
}

struct np_error *
api_vlan_mirror(struct store *store, const char *from_host,
                const char *to_host)
{
    struct json_object *records = read_records(store);
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *plans = json_object_new_array();
    struct np_error *error = NULL;

    json_object_object_foreach (json_object_object_get(records, "VLAN"), v,
                                vlan) {
        (void) v;
        struct json_object *tagged =
            json_object_object_get(pifs, field(vlan, "tagged_PIF"));
        struct json_object *untagged =
            json_object_object_get(pifs, field(vlan, "untagged_PIF"));
        if (error || !tagged || !untagged
            || strcmp(field(tagged, "host"), from_host)) {
            continue;
        }
        const char *match = NULL;
        json_object_object_foreach (pifs, uuid, pif) {
            if (!strcmp(field(pif, "host"), to_host)
                && !strcmp(field(pif, "device"), field(tagged, "device"))
                && int_field(pif, "VLAN", -1) < 0) {
                match = uuid;
            }
        }
        if (!match) {
            continue;
        }
        char child_uuid[UUID_LENGTH + 1];
        struct json_object *child, *new_vlan;
        error = plan_vlan(records, match, int_field(vlan, "tag", -1),
                          field(untagged, "network"), child_uuid, &child,
                          &new_vlan);
        if (!error) {
            add_plan(plans, child_uuid, child, new_vlan);
        }
    }
    json_object_put(records);
    if (!error) {
        int retval = insert_vlans(store, plans);
        if (retval) {
            error = api_store_error(retval, "VLAN", "");
        }
    }
    json_object_put(plans);
    return error;
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
