/*
 * PIF methods beyond the generic ones: plug and unplug.  They change the
 * PIF's plug state (currently_attached) in the store; the OVS reconciler
 * puts the PIF's port on its network's bridge, or takes it off.
 */
#include "mgmt/api-internal.h"

#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "mgmt/store.h"

static api_method pif_plug, pif_unplug;
static struct np_error *set_attached(struct api_call *, bool attached);

api_method *
api_pif_method(const char *name)
{
    return !strcmp(name, "PIF.plug")     ? pif_plug
           : !strcmp(name, "PIF.unplug") ? pif_unplug
                                         : NULL;
}

static struct np_error *
pif_plug(struct api_call *call, struct json_object **result, bool *deferred)
{
    return set_attached(call, true);
}

/* The management PIF cannot be unplugged: the host would lose its API. */
static struct np_error *
pif_unplug(struct api_call *call, struct json_object **result, bool *deferred)
{
    return set_attached(call, false);
}

static struct np_error *
set_attached(struct api_call *call, bool attached)
{
    struct np_error *error;
    const char *uuid;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_string(call, 0, "self", &uuid))) {
        return error;
    }
    struct json_object *pif = store_get(call->api->store, "PIF", uuid);
    if (!pif) {
        return np_error_new(ERR_HANDLE_INVALID, "PIF", uuid, NULL);
    }
    bool management =
        json_object_get_boolean(json_object_object_get(pif, "management"));
    bool has_network =
        *json_object_get_string(json_object_object_get(pif, "network"));
    json_object_put(pif);
    if (!attached && management) {
        return np_error_new(ERR_PIF_IS_MANAGEMENT_INTERFACE, uuid, NULL);
    }
    if (attached && !has_network) {
        return np_error_new(ERR_PIF_HAS_NO_NETWORK_CONFIGURATION, uuid, NULL);
    }

    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "currently_attached",
                           json_object_new_boolean(attached));
    int retval = store_update(call->api->store, "PIF", uuid, changes);
    json_object_put(changes);
    return retval ? api_store_error(retval, "PIF", uuid) : NULL;
}
