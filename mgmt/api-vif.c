/*
 * VIF and VM methods beyond the generic ones: VM.create and VM.destroy
 * (a minimal VM: a record that VIFs can belong to; its domain comes
 * later), VIF.create, VIF.destroy, VIF.plug, VIF.unplug, and checks on the
 * generic setters of the VIF fields that the fabric reads (rate limit,
 * allowed addresses, guest namespace) so that a bad value is refused with
 * a typed error instead of being ignored later.  The OVS reconciler turns
 * plugged VIFs into ports, veths, rules and meters.
 */
#include "mgmt/api-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"
#include "vm/vm.h"

#define NETNS_DIR "/run/netns" /* Where `ip netns add` puts namespaces. */

static api_method vm_create, vm_destroy;
static api_method vif_create, vif_destroy, vif_plug, vif_unplug;
static api_method vif_checked_set, vm_checked_set;

static struct np_error *check_vif_value(const char *field, const char *map_key,
                                        struct json_object *value);
static struct np_error *check_device(struct store *, const char *vm,
                                     const char *device, char *canonical,
                                     size_t size);
static struct np_error *pick_mac(struct store *, struct json_object *record,
                                 char mac[DP_MAC_LENGTH + 1]);
static int ensure_vm_index(struct store *, const char *vm,
                           struct json_object *vm_record);
static int64_t vm_index(struct json_object *vm_record);
static struct np_error *set_attached(struct api_call *, bool attached);
static const char *str_member(struct json_object *object, const char *key);
static struct np_error *check_vhost_key(const char *key, const char *value);
static bool rate_valid(const char *kbps);
static bool netns_name_valid(const char *name);

api_method *
api_vif_method(const char *name)
{
    static const struct {
        const char *name;
        api_method *method;
    } methods[] = {
        {"VM.create", vm_create},
        {"VM.destroy", vm_destroy},
        {"VM.set_other_config", vm_checked_set},
        {"VM.add_to_other_config", vm_checked_set},
        {"VM.remove_from_other_config", vm_checked_set},
        {"VIF.create", vif_create},
        {"VIF.destroy", vif_destroy},
        {"VIF.plug", vif_plug},
        {"VIF.unplug", vif_unplug},
        {"VIF.set_qos_algorithm_type", vif_checked_set},
        {"VIF.set_qos_algorithm_params", vif_checked_set},
        {"VIF.add_to_qos_algorithm_params", vif_checked_set},
        {"VIF.set_ipv4_allowed", vif_checked_set},
        {"VIF.set_other_config", vif_checked_set},
        {"VIF.add_to_other_config", vif_checked_set},
    };

    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (!strcmp(name, methods[i].name)) {
            return methods[i].method;
        }
    }
    return NULL;
}

/* VM. */

static struct np_error *
vm_create(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_object(call, 0, "record", &record))
        || (error =
                api_check_record(store_class_find("VM", false), record, NULL))
        || (error = api_vm_memory_check_record(record))) {
        return error;
    }
    const char *index = str_member(
        json_object_object_get(record, "other_config"), DP_VIF_INDEX_KEY);
    if (index) {
        return np_error_new(ERR_FIELD_READ_ONLY,
                            "other_config:" DP_VIF_INDEX_KEY, NULL);
    }

    char uuid[UUID_LENGTH + 1];
    uuid_text_random(uuid);
    int retval = store_insert(call->api->store, "VM", uuid, record);
    if (retval) {
        return api_store_error(retval, "VM", uuid);
    }
    *result = json_object_new_string(uuid);
    return NULL;
}

/* A VM goes only when it is halted (its domain is gone) and once its VIFs
 * have gone, so that no port is orphaned; its VBDs go with it, as in xapi
 * (the VDIs stay), in the same transaction. */
static struct np_error *
vm_destroy(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct store *store = call->api->store;
    struct np_error *error;
    const char *uuid;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_string(call, 0, "self", &uuid))) {
        return error;
    }
    struct json_object *vm = store_get(store, "VM", uuid);
    if (!vm) {
        return np_error_new(ERR_HANDLE_INVALID, "VM", uuid, NULL);
    }
    struct json_object *vifs = json_object_object_get(vm, "VIFs");
    const char *state =
        json_object_get_string(json_object_object_get(vm, "power_state"));
    if (state && strcmp(state, "Halted")) {
        error =
            np_error_new(ERR_VM_BAD_POWER_STATE, uuid, "Halted", state, NULL);
    } else if (json_object_array_length(vifs) > 0) {
        error = np_error_new(
            ERR_VM_HAS_VIFS, uuid,
            json_object_get_string(json_object_array_get_idx(vifs, 0)), NULL);
    }
    if (error) {
        json_object_put(vm);
        return error;
    }
    struct json_object *vbds = json_object_object_get(vm, "VBDs");
    int retval = store_begin(store);
    for (size_t i = 0; !retval && i < json_object_array_length(vbds); i++) {
        retval = store_delete(
            store, "VBD",
            json_object_get_string(json_object_array_get_idx(vbds, i)));
    }
    if (!retval) {
        retval = store_delete(store, "VM", uuid);
    }
    if (retval) {
        store_rollback(store);
    } else {
        retval = store_commit(store);
    }
    json_object_put(vm);
    return retval ? api_store_error(retval, "VM", uuid) : NULL;
}

/* The generic other_config methods of VM, except that netpoold's key
 * DP_VIF_INDEX_KEY, which names the VM's ports, stays as it is: adding or
 * removing it is refused, and replacing the whole map keeps it. */
static struct np_error *
vm_checked_set(struct api_call *call, struct json_object **result,
               bool *deferred)
{
    api_method *generic = api_generic_method(call->method);
    struct json_object *arg1 = json_object_array_get_idx(call->args, 1);
    const char *uuid =
        json_object_get_string(json_object_array_get_idx(call->args, 0));

    if (!generic) {
        return np_error_new(ERR_MESSAGE_METHOD_UNKNOWN, call->method, NULL);
    }
    if (strcmp(call->method, "VM.set_other_config")) {
        if (json_object_is_type(arg1, json_type_string)
            && !strcmp(json_object_get_string(arg1), DP_VIF_INDEX_KEY)) {
            return np_error_new(ERR_FIELD_READ_ONLY,
                                "other_config:" DP_VIF_INDEX_KEY, NULL);
        }
        return generic(call, result, deferred);
    }

    struct json_object *vm =
        uuid ? store_get(call->api->store, "VM", uuid) : NULL;
    const char *index =
        vm ? str_member(json_object_object_get(vm, "other_config"),
                        DP_VIF_INDEX_KEY)
           : NULL;
    if (index && json_object_is_type(arg1, json_type_object)) {
        json_object_object_add(arg1, DP_VIF_INDEX_KEY,
                               json_object_new_string(index));
    }
    json_object_put(vm);
    return generic(call, result, deferred);
}

/* VIF. */

static struct np_error *
vif_create(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct store *store = call->api->store;
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_object(call, 0, "record", &record))
        || (error = api_check_record(store_class_find("VIF", false), record,
                                     NULL))) {
        return error;
    }
    json_object_object_foreach (record, key, value) {
        if ((error = check_vif_value(key, NULL, value))) {
            return error;
        }
    }

    const char *vm_uuid = str_member(record, "VM");
    const char *network = str_member(record, "network");
    struct json_object *vm = store_get(store, "VM", vm_uuid);
    if (!vm) {
        return np_error_new(ERR_HANDLE_INVALID, "VM", vm_uuid, NULL);
    }
    char device[16];
    char mac[DP_MAC_LENGTH + 1];
    if (!store_exists(store, "network", network)) {
        error = np_error_new(ERR_HANDLE_INVALID, "network", network, NULL);
    } else if (!(error =
                     check_device(store, vm_uuid, str_member(record, "device"),
                                  device, sizeof device))) {
        error = pick_mac(store, record, mac);
    }
    if (error) {
        json_object_put(vm);
        return error;
    }

    struct json_object *stored = json_object_new_object();
    json_object_object_foreach (record, k, v) {
        json_object_object_add(stored, k, json_object_get(v));
    }
    json_object_object_add(stored, "device", json_object_new_string(device));
    json_object_object_add(stored, "MAC", json_object_new_string(mac));

    /* The VM's index, which names its ports, comes with its first VIF. */
    char uuid[UUID_LENGTH + 1];
    uuid_text_random(uuid);
    int retval = store_begin(store);
    if (!retval) {
        retval = ensure_vm_index(store, vm_uuid, vm);
    }
    if (!retval) {
        retval = store_insert(store, "VIF", uuid, stored);
    }
    if (retval) {
        store_rollback(store);
    } else {
        retval = store_commit(store);
    }
    json_object_put(stored);
    json_object_put(vm);
    if (retval) {
        return api_store_error(retval, "VIF", uuid);
    }
    *result = json_object_new_string(uuid);
    return NULL;
}

/* A plugged VIF may go too: its port and veth go with it. */
static struct np_error *
vif_destroy(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct np_error *error;
    const char *uuid;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_string(call, 0, "self", &uuid))) {
        return error;
    }
    if (!store_exists(call->api->store, "VIF", uuid)) {
        return np_error_new(ERR_HANDLE_INVALID, "VIF", uuid, NULL);
    }
    int retval = store_delete(call->api->store, "VIF", uuid);
    return retval ? api_store_error(retval, "VIF", uuid) : NULL;
}

static struct np_error *
vif_plug(struct api_call *call, struct json_object **result, bool *deferred)
{
    return set_attached(call, true);
}

static struct np_error *
vif_unplug(struct api_call *call, struct json_object **result, bool *deferred)
{
    return set_attached(call, false);
}

/* The generic setters of VIF fields the fabric reads, after checking the
 * new value (see check_vif_value()). */
static struct np_error *
vif_checked_set(struct api_call *call, struct json_object **result,
                bool *deferred)
{
    api_method *generic = api_generic_method(call->method);
    const char *verb = strchr(call->method, '.') + 1;
    struct json_object *arg1 = json_object_array_get_idx(call->args, 1);
    struct json_object *arg2 = json_object_array_get_idx(call->args, 2);
    struct np_error *error = NULL;

    if (!generic) {
        return np_error_new(ERR_MESSAGE_METHOD_UNKNOWN, call->method, NULL);
    }
    if (!strncmp(verb, "set_", 4) && arg1) {
        error = check_vif_value(verb + 4, NULL, arg1);
    } else if (!strncmp(verb, "add_to_", 7) && arg2
               && json_object_is_type(arg1, json_type_string)) {
        error = check_vif_value(verb + 7, json_object_get_string(arg1), arg2);
    }
    return error ? error : generic(call, result, deferred);
}

/* Checks. */

/* Checks a new value of VIF field 'field' (or, with 'map_key', of that key
 * of the map field) beyond its type: the rate-limit algorithm and rate,
 * the allowed addresses and the guest namespace's name.  Values of the
 * wrong type are left to the store's type check. */
static struct np_error *
check_vif_value(const char *field, const char *map_key,
                struct json_object *value)
{
    const char *text = json_object_is_type(value, json_type_string)
                           ? json_object_get_string(value)
                           : NULL;

    if (!strcmp(field, "qos_algorithm_type") && !map_key && text) {
        if (*text && strcmp(text, "ratelimit")) {
            return np_error_new(ERR_INVALID_VALUE, field, text, NULL);
        }
    } else if (!strcmp(field, "qos_algorithm_params")) {
        const char *kbps = map_key ? (!strcmp(map_key, "kbps") ? text : NULL)
                                   : str_member(value, "kbps");
        if (kbps && !rate_valid(kbps)) {
            return np_error_new(ERR_INVALID_VALUE, "qos_algorithm_params:kbps",
                                kbps, NULL);
        }
    } else if (!strcmp(field, "other_config")) {
        const char *netns = map_key ? (!strcmp(map_key, "netns") ? text : NULL)
                                    : str_member(value, "netns");
        if (netns && *netns && !netns_name_valid(netns)) {
            return np_error_new(ERR_INVALID_VALUE, "other_config:netns", netns,
                                NULL);
        }
        const char *vhost =
            map_key ? (!strcmp(map_key, "vhost-user") ? text : NULL)
                    : str_member(value, "vhost-user");
        if (vhost && *vhost && strcmp(vhost, "external")) {
            return np_error_new(ERR_INVALID_VALUE, "other_config:vhost-user",
                                vhost, NULL);
        }
        if (map_key) {
            return text ? check_vhost_key(map_key, text) : NULL;
        }
        if (json_object_is_type(value, json_type_object)) {
            json_object_object_foreach (value, key, member) {
                struct np_error *error =
                    json_object_is_type(member, json_type_string)
                        ? check_vhost_key(key, json_object_get_string(member))
                        : NULL;
                if (error) {
                    return error;
                }
            }
        }
    } else if (!strcmp(field, "ipv4_allowed") && !map_key
               && json_object_is_type(value, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(value); i++) {
            const char *ip =
                json_object_get_string(json_object_array_get_idx(value, i));
            struct in_addr addr;
            if (!ip || inet_pton(AF_INET, ip, &addr) != 1) {
                return np_error_new(ERR_INVALID_VALUE, field, ip ? ip : "",
                                    NULL);
            }
        }
    }
    return NULL;
}

/* Returns INVALID_VALUE(other_config:KEY, value) if 'value' is no valid
 * value of vhost-user setting 'key' (QEMU's, vm.h, or OVS's,
 * datapath.h); NULL otherwise, and for "" (the setting removed). */
static struct np_error *
check_vhost_key(const char *key, const char *value)
{
    if (!*value
        || (vm_vhost_value_valid(key, value)
            && dp_vif_vhost_value_valid(key, value))) {
        return NULL;
    }
    char *name = xasprintf("other_config:%s", key);
    struct np_error *error =
        np_error_new(ERR_INVALID_VALUE, name, value, NULL);
    free(name);
    return error;
}

/* Returns true if 'kbps' is a rate the fabric accepts (dp_vif_kbps()). */
static bool
rate_valid(const char *kbps)
{
    struct json_object *vif = json_object_new_object();
    struct json_object *params = json_object_new_object();

    json_object_object_add(vif, "qos_algorithm_type",
                           json_object_new_string("ratelimit"));
    json_object_object_add(params, "kbps", json_object_new_string(kbps));
    json_object_object_add(vif, "qos_algorithm_params", params);
    bool valid = dp_vif_kbps(vif) > 0;
    json_object_put(vif);
    return valid;
}

/* Checks VIF device 'device' for VM 'vm': a decimal from 0 to
 * DP_VIF_DEVICE_MAX that no other VIF of the VM has.  Writes its
 * canonical form ("07" → "7") into 'canonical'. */
static struct np_error *
check_device(struct store *store, const char *vm, const char *device,
             char *canonical, size_t size)
{
    char name[IF_NAMESIZE];
    char *end;

    if (!dp_vif_port_name(1, device, name)) {
        return np_error_new(ERR_INVALID_VALUE, "device", device, NULL);
    }
    snprintf(canonical, size, "%ld", strtol(device, &end, 10));

    /* Found through the VM (every VM of a pool has a device 0), the
     * device compared on its VIFs alone. */
    struct json_object *match = json_object_new_object();
    json_object_object_add(match, "VM", json_object_new_string(vm));
    json_object_object_add(match, "device", json_object_new_string(canonical));
    struct json_object *same = store_find_match(store, "VIF", match);
    struct np_error *error =
        json_object_array_length(same)
            ? np_error_new(ERR_DEVICE_ALREADY_EXISTS, canonical, NULL)
            : NULL;
    json_object_put(same);
    json_object_put(match);
    return error;
}

/* Picks the MAC of a new VIF: the record's, if it has a non-empty one (a
 * valid unicast MAC that no VIF uses yet), else a new random locally
 * administered one that no VIF uses. */
static struct np_error *
pick_mac(struct store *store, struct json_object *record,
         char mac[DP_MAC_LENGTH + 1])
{
    const char *given = str_member(record, "MAC");
    bool generate = !given || !*given;

    if (!generate && !dp_vif_mac_parse(given, mac)) {
        return np_error_new(ERR_INVALID_VALUE, "MAC", given, NULL);
    }
    for (;;) {
        if (generate) {
            dp_vif_mac_generate(mac);
        }
        struct json_object *value = json_object_new_string(mac);
        struct json_object *users = store_find(store, "VIF", "MAC", value);
        struct np_error *error = NULL;
        if (json_object_array_length(users) > 0 && !generate) {
            error = np_error_new(
                ERR_MAC_ALREADY_IN_USE, mac,
                json_object_get_string(json_object_array_get_idx(users, 0)),
                NULL);
        }
        bool taken = json_object_array_length(users) > 0;
        json_object_put(users);
        json_object_put(value);
        if (error || !taken) {
            return error;
        }
    }
}

/* Gives VM 'vm' (record 'vm_record') an index for its port names if it
 * has none yet: the smallest one no other VM holds.  Returns 0 or a
 * store errno. */
static int
ensure_vm_index(struct store *store, const char *vm,
                struct json_object *vm_record)
{
    if (vm_index(vm_record) > 0) {
        return 0;
    }

    struct json_object *vms = store_get_all(store, "VM");
    size_t n = json_object_object_length(vms) + 2;
    bool *used = xzalloc(n * sizeof *used);
    json_object_object_foreach (vms, uuid, record) {
        (void) uuid;
        int64_t index = vm_index(record);
        if (index > 0 && (size_t) index < n) {
            used[index] = true;
        }
    }
    size_t index = 1;
    while (used[index]) {
        index++;
    }
    free(used);
    json_object_put(vms);
    if (index > DP_VIF_INDEX_MAX) {
        return ENOSPC;
    }

    struct json_object *other_config = json_object_new_object();
    json_object_object_foreach (
        json_object_object_get(vm_record, "other_config"), key, value) {
        json_object_object_add(other_config, key, json_object_get(value));
    }
    char text[16];
    snprintf(text, sizeof text, "%zu", index);
    json_object_object_add(other_config, DP_VIF_INDEX_KEY,
                           json_object_new_string(text));
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "other_config", other_config);
    int retval = store_update(store, "VM", vm, changes);
    json_object_put(changes);
    return retval;
}

/* Returns the index of VM record 'vm_record', or 0 if it has none. */
static int64_t
vm_index(struct json_object *vm_record)
{
    const char *text = str_member(
        json_object_object_get(vm_record, "other_config"), DP_VIF_INDEX_KEY);
    char *end;

    if (!text || *text < '1' || *text > '9') {
        return 0;
    }
    long index = strtol(text, &end, 10);
    return !*end && index <= DP_VIF_INDEX_MAX ? index : 0;
}

/* Plugs or unplugs the VIF named by the call's argument.  Plugging needs
 * somewhere for the VIF to be: a namespace guest (other_config:netns, a
 * namespace that exists), a vhost-user port that an outside process
 * serves (other_config:vhost-user=external, for netpool-perf) or a
 * running VM. */
static struct np_error *
set_attached(struct api_call *call, bool attached)
{
    struct store *store = call->api->store;
    struct np_error *error;
    const char *uuid;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_string(call, 0, "self", &uuid))) {
        return error;
    }
    struct json_object *vif = store_get(store, "VIF", uuid);
    if (!vif) {
        return np_error_new(ERR_HANDLE_INVALID, "VIF", uuid, NULL);
    }
    bool now = json_object_get_boolean(
        json_object_object_get(vif, "currently_attached"));
    const char *netns =
        str_member(json_object_object_get(vif, "other_config"), "netns");
    const char *network = str_member(vif, "network");
    const char *vm_uuid = str_member(vif, "VM");

    if (attached && now) {
        error = np_error_new(ERR_DEVICE_ALREADY_ATTACHED, uuid, NULL);
    } else if (!attached && !now) {
        error = np_error_new(ERR_DEVICE_ALREADY_DETACHED, uuid, NULL);
    } else if (attached && !store_exists(store, "network", network)) {
        error = np_error_new(ERR_HANDLE_INVALID, "network", network, NULL);
    } else if (attached && netns && *netns) {
        char path[sizeof NETNS_DIR + 256];
        snprintf(path, sizeof path, "%s/%s", NETNS_DIR, netns);
        if (access(path, F_OK)) {
            error = np_error_new(ERR_INVALID_VALUE, "other_config:netns",
                                 netns, NULL);
        }
    } else if (attached && !dp_vif_vhost_external(vif)) {
        struct json_object *vm = store_get(store, "VM", vm_uuid);
        const char *state = vm ? str_member(vm, "power_state") : "";
        if (!state || (strcmp(state, "Running") && strcmp(state, "Paused"))) {
            error = np_error_new(ERR_VM_BAD_POWER_STATE, vm_uuid, "Running",
                                 state ? state : "", NULL);
        }
        json_object_put(vm);
    }
    json_object_put(vif);
    if (error) {
        return error;
    }

    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "currently_attached",
                           json_object_new_boolean(attached));
    int retval = store_update(store, "VIF", uuid, changes);
    json_object_put(changes);
    return retval ? api_store_error(retval, "VIF", uuid) : NULL;
}

/* Helpers. */

/* Returns the string member 'key' of 'object', or NULL if it has none. */
static const char *
str_member(struct json_object *object, const char *key)
{
    struct json_object *value;

    return json_object_object_get_ex(object, key, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : NULL;
}

/* Returns true if 'name' can name a namespace under NETNS_DIR: a single
 * path component. */
static bool
netns_name_valid(const char *name)
{
    return *name && strlen(name) < 256 && !strchr(name, '/')
           && strcmp(name, ".") && strcmp(name, "..");
}
