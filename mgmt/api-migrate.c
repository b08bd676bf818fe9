/*
 * Live migration and maintenance mode in the API: VM.pool_migrate (xe
 * vm-migrate), host.disable, host.enable and host.evacuate.
 *
 * VM.pool_migrate admits the migration first, as a start on the
 * destination would be admitted, and refuses with a typed error that
 * leaves the VM where it runs: the VM must be running and idle, the
 * destination another member of the pool, online and enabled, running the
 * same VM backend and the same or a newer netpool, with room for the VM's
 * memory, a PIF on every network of its VIFs that has PIFs, a datapath of
 * the same kind (a VM with vhost-user VIFs goes only to a dpdk host), every
 * disk on an SR the destination sees or mapped ("vdi:VDI" = SR, storage
 * migration) to one with room for it, and both hosts need an address on
 * the pool's migration network.  Then it records the intent
 * in one write (the operation pool_migrate in current_operations and the
 * VM's "migration" map) that the migration agents of both hosts
 * (mgmt/migrate.c) carry out, and waits for the task as a power operation
 * does.
 *
 * host.evacuate plans first where each VM of the host goes (the enabled
 * member with the most free memory left that admits it, in turn) and
 * moves nothing when a VM fits nowhere; the plan is what
 * host.get_evacuate_plan answers.
 */
#define LOG_MODULE "migrate"
#include "mgmt/api-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "ha/ha.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"
#include "mgmt/mgmt.h"
#include "mgmt/store.h"
#include "vm/vm.h"

static api_method vm_pool_migrate;
static api_method host_set_enabled;
static api_method host_evacuate;
static api_method host_get_evacuate_plan;
static struct np_error *admit(struct api *, const char *vm_uuid,
                              struct json_object *vm, const char *dest,
                              struct json_object *options, int64_t reserved);
static struct np_error *check_options(struct json_object *options);
static struct np_error *check_disks(struct store *, const char *vm_uuid,
                                    const char *dest,
                                    struct json_object *options);
static struct json_object *plan_disks(struct store *,
                                      struct json_object *options);
static bool sr_visible(struct store *, const char *sr, const char *host);
static struct np_error *
start_migration(struct api_call *, const char *vm_uuid, struct json_object *vm,
                const char *dest, struct json_object *options, bool own_task,
                char *task, bool *transient);
static struct np_error *plan_evacuation(struct api *, const char *host,
                                        struct json_object **planp);
static int version_compare(const char *a, const char *b);
static struct json_object *find(struct store *, const char *class,
                                const char *field, const char *value);
static int64_t int_field(struct json_object *, const char *key);
static int64_t vm_needs(struct json_object *vm);
static bool is_dpdk(struct json_object *host);
static struct json_object *evacuation_options(struct store *,
                                              const char *host);

api_method *
api_migrate_method(const char *name)
{
    if (!strcmp(name, "VM.pool_migrate")) {
        return vm_pool_migrate;
    }
    if (!strcmp(name, "host.disable") || !strcmp(name, "host.enable")) {
        return host_set_enabled;
    }
    if (!strcmp(name, "host.evacuate")) {
        return host_evacuate;
    }
    if (!strcmp(name, "host.get_evacuate_plan")) {
        return host_get_evacuate_plan;
    }
    return NULL;
}

char *
mgmt_migration_address(struct store *store, const char *host)
{
    struct json_object *pools = store_get_all(store, "pool");
    const char *network = "";
    char *address = NULL;

    json_object_object_foreach (pools, uuid, pool) {
        (void) uuid;
        network = record_string(pool, "migration_network");
    }
    struct json_object *pifs = find(store, "PIF", "host", host);
    for (size_t i = 0; !address && i < json_object_array_length(pifs); i++) {
        struct json_object *pif = store_get(
            store, "PIF",
            json_object_get_string(json_object_array_get_idx(pifs, i)));
        const char *ip = record_string(pif, "IP");
        bool wanted = *network
                          ? !strcmp(record_string(pif, "network"), network)
                          : record_bool(pif, "management");
        if (wanted && *ip) {
            address = xstrdup(ip);
        }
        json_object_put(pif);
    }
    json_object_put(pifs);
    if (!address && !*network) {
        struct json_object *h = store_get(store, "host", host);
        const char *ip = record_string(h, "cluster_address");
        if (!*ip) {
            ip = record_string(h, "address");
        }
        address = *ip ? xstrdup(ip) : NULL;
        json_object_put(h);
    }
    json_object_put(pools);
    return address;
}

/* VM.pool_migrate(vm, host, options): moves running VM 'vm' to pool member
 * 'host' without stopping it.  'options' (a map, may be empty): "live"
 * "true" (the default; "false" pauses the VM while its memory moves),
 * "bandwidth" in MiB/s (QEMU's max-bandwidth; unlimited by default),
 * "downtime" in ms (QEMU's downtime-limit, default 100), and for each
 * disk that moves with the VM (storage migration) "vdi:VDI" = the SR its
 * copy goes to. */
static struct np_error *
vm_pool_migrate(struct api_call *call, struct json_object **result,
                bool *deferred)
{
    struct json_object *vm = NULL, *host = NULL, *options = NULL;
    const char *vm_uuid, *dest;
    struct np_error *error;

    if (json_object_array_length(call->args) < 2
        || json_object_array_length(call->args) > 3) {
        return api_expect_args(call, 3);
    }
    if ((error = api_arg_ref(call, 0, "VM", "vm", &vm_uuid, &vm))) {
        return error;
    }
    if ((error = api_arg_ref(call, 1, "host", "host", &dest, &host))) {
        json_object_put(vm);
        return error;
    }
    if (json_object_array_length(call->args) > 2
        && (error = api_arg_object(call, 2, "options", &options))) {
        goto out;
    }
    if ((error = check_options(options))
        || (error = admit(call->api, vm_uuid, vm, dest, options, 0))) {
        goto out;
    }

    char task[UUID_LENGTH + 1];
    bool transient;
    struct json_object *planned = plan_disks(call->api->store, options);
    error = start_migration(call, vm_uuid, vm, dest, planned, false, task,
                            &transient);
    json_object_put(planned);
    if (!error) {
        api_task_wait(call, task, transient, deferred);
    }

out:
    json_object_put(vm);
    json_object_put(host);
    return error;
}

/* Records the migration of 'vm_uuid' (record 'vm') to 'dest' with
 * 'options': its task in 'task' (the call's own when Async, else a new
 * one, transient unless 'own_task': '*transient' says which), the
 * operation and the map. */
static struct np_error *
start_migration(struct api_call *call, const char *vm_uuid,
                struct json_object *vm, const char *dest,
                struct json_object *options, bool own_task, char *task,
                bool *transient)
{
    struct store *store = call->api->store;

    *transient = !*call->task && !own_task;
    if (*call->task && !own_task) {
        snprintf(task, UUID_LENGTH + 1, "%s", call->task);
    } else {
        int retval = store_task_create(store, "VM.pool_migrate",
                                       call->api->host_uuid, call->user, task);
        if (retval) {
            return api_store_error(retval, "task", "");
        }
    }

    struct json_object *map = json_object_new_object();
    json_object_object_add(map, "task", json_object_new_string(task));
    json_object_object_add(map, "caller",
                           json_object_new_string(call->api->host_uuid));
    json_object_object_add(
        map, "source",
        json_object_new_string(record_string(vm, "resident_on")));
    json_object_object_add(map, "destination", json_object_new_string(dest));
    json_object_object_add(map, "state", json_object_new_string("preparing"));
    if (options) {
        json_object_object_foreach (options, key, value) {
            json_object_object_add(map, key, json_object_get(value));
        }
    }
    struct json_object *ops = json_object_new_object();
    json_object_object_add(
        ops, task,
        json_object_new_string(vm_operation_name(VM_OP_POOL_MIGRATE)));
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "current_operations", ops);
    json_object_object_add(changes, "migration", map);
    int retval = store_update(store, "VM", vm_uuid, changes);
    json_object_put(changes);
    if (retval) {
        if (*transient) {
            store_delete(store, "task", task);
        }
        return api_store_error(retval, "VM", vm_uuid);
    }
    log_info("VM %s: migration to %s asked (task %s)", vm_uuid, dest, task);
    return NULL;
}

/* The admission of VM 'vm_uuid' (record 'vm') on host 'dest', which
 * already takes 'reserved' bytes of VMs planned there (an evacuation).
 * Returns NULL or the typed error that refuses it. */
static struct np_error *
admit(struct api *api, const char *vm_uuid, struct json_object *vm,
      const char *dest, struct json_object *options, int64_t reserved)
{
    struct store *store = api->store;
    const char *source = record_string(vm, "resident_on");
    struct json_object *src = NULL, *dst = NULL;
    struct np_error *error = NULL;
    enum vm_power_state state;

    if (record_bool(vm, "is_a_template")) {
        return np_error_new(ERR_VM_IS_TEMPLATE, vm_uuid, NULL);
    }
    if (!vm_power_state_parse(record_string(vm, "desired_power_state"),
                              &state)) {
        state = VM_HALTED;
    }
    const char *current = "";
    json_object_object_foreach (
        json_object_object_get(vm, "current_operations"), task_key, op_name) {
        (void) task_key;
        current = json_object_get_string(op_name);
    }
    error = vm_check_operation(VM_OP_POOL_MIGRATE, state, current, vm_uuid);
    if (error) {
        return error;
    }
    if (!strcmp(source, dest)) {
        return np_error_new(ERR_CANNOT_MIGRATE_TO_SAME_HOST, vm_uuid, dest,
                            NULL);
    }
    src = store_get(store, "host", source);
    dst = store_get(store, "host", dest);
    if (!src || !dst) {
        error = np_error_new(ERR_HANDLE_INVALID, "host", src ? dest : source,
                             NULL);
        goto out;
    }
    if (!api->pool || !ha_pool_has_member(api->pool, dest)) {
        error = np_error_new(ERR_HOST_OFFLINE, dest, NULL);
        goto out;
    }
    if (!record_bool(dst, "enabled")) {
        error = np_error_new(ERR_HOST_DISABLED, dest, NULL);
        goto out;
    }
    if (strcmp(record_string(src, "vm_backend"), "qemu")
        || strcmp(record_string(dst, "vm_backend"), "qemu")) {
        error = np_error_new(ERR_VM_MIGRATE_FAILED, vm_uuid,
                             "only the qemu backend migrates", NULL);
        goto out;
    }
    const char *have = record_string(
        json_object_object_get(dst, "software_version"), "product_version");
    const char *need = record_string(
        json_object_object_get(src, "software_version"), "product_version");
    if (version_compare(have, need) < 0) {
        error = np_error_new(ERR_VM_HOST_INCOMPATIBLE_VERSION, dest, vm_uuid,
                             NULL);
        goto out;
    }

    /* Its networks, and the datapath its NICs need. */
    struct json_object *vifs = find(store, "VIF", "VM", vm_uuid);
    for (size_t i = 0; !error && i < json_object_array_length(vifs); i++) {
        struct json_object *vif = store_get(
            store, "VIF",
            json_object_get_string(json_object_array_get_idx(vifs, i)));
        const char *network = record_string(vif, "network");
        struct json_object *pifs = find(store, "PIF", "network", network);
        bool anywhere = json_object_array_length(pifs) > 0;
        bool there = false;
        for (size_t j = 0; j < json_object_array_length(pifs); j++) {
            struct json_object *pif = store_get(
                store, "PIF",
                json_object_get_string(json_object_array_get_idx(pifs, j)));
            there |= !strcmp(record_string(pif, "host"), dest);
            json_object_put(pif);
        }
        json_object_put(pifs);
        if (anywhere && !there) {
            error =
                np_error_new(ERR_VM_REQUIRES_NETWORK, vm_uuid, network, NULL);
        } else if (!*record_string(json_object_object_get(vif, "other_config"),
                                   "netns")
                   && is_dpdk(src) != is_dpdk(dst)) {
            /* vhost-user NICs on a dpdk host, taps elsewhere: the domain
             * that arrives has the NICs it left with. */
            error = np_error_new(ERR_VM_REQUIRES_DATAPATH, vm_uuid, dest,
                                 record_string(src, "datapath"), NULL);
        }
        json_object_put(vif);
    }
    json_object_put(vifs);
    if (error) {
        goto out;
    }

    /* Its disks: on an SR the destination sees, or mapped to one. */
    if ((error = check_disks(store, vm_uuid, dest, options))) {
        goto out;
    }

    /* Its memory, as a start there would be admitted, and the HA plan
     * whole once it runs there. */
    error = vm_check_admission(vm_needs(vm) + reserved,
                               int_field(dst, "memory_free"));
    if (!error) {
        error = api_ha_check_change(api, vm_uuid, vm, dest, -1);
    }
    if (error) {
        goto out;
    }

    /* Both ends on the migration network. */
    char *from = mgmt_migration_address(store, source);
    char *to = mgmt_migration_address(store, dest);
    if (!from || !to) {
        struct json_object *pools = store_get_all(store, "pool");
        const char *network = "";
        json_object_object_foreach (pools, pool_uuid, pool) {
            (void) pool_uuid;
            network = record_string(pool, "migration_network");
        }
        error = np_error_new(ERR_VM_REQUIRES_NETWORK, vm_uuid,
                             *network ? network : "management", NULL);
        json_object_put(pools);
    }
    free(from);
    free(to);
    if (error) {
        goto out;
    }
    if (strcmp(record_string(options, "live"), "false")
        && strcmp(record_string(src, "virtualization"), "kvm")) {
        /* QEMU's translator loses writes that race its dirty bitmap's
         * sync (vCPU stores through a TLB entry the sync has not reset
         * yet): a live migration that iterates can leave the guest with
         * stale pages.  Stopped first, it cannot. */
        error = np_error_new(ERR_VM_MIGRATE_UNSAFE, vm_uuid, "tcg",
                             "a live migration under TCG can lose pages "
                             "the guest writes; use live=false",
                             NULL);
        goto out;
    }

out:
    json_object_put(src);
    json_object_put(dst);
    return error;
}

/* Checks the options of VM.pool_migrate. */
static struct np_error *
check_options(struct json_object *options)
{
    if (!options) {
        return NULL;
    }
    json_object_object_foreach (options, key, value) {
        const char *text = json_object_get_string(value);
        char *end;
        bool valid;

        if (!strncmp(key, "vdi:", 4)) {
            /* A disk to move: checked by check_disks(). */
            valid = true;
        } else if (!strcmp(key, "live")) {
            valid = !strcmp(text, "true") || !strcmp(text, "false");
        } else if (!strcmp(key, "bandwidth") || !strcmp(key, "downtime")) {
            long long n = strtoll(text, &end, 10);
            valid = *text && !*end && n > 0 && n <= 1000000;
        } else {
            return np_error_new(ERR_INVALID_VALUE, "options", key, NULL);
        }
        if (!json_object_is_type(value, json_type_string) || !valid) {
            char field[64];
            snprintf(field, sizeof field, "options:%s", key);
            return np_error_new(ERR_INVALID_VALUE, field, text, NULL);
        }
    }
    return NULL;
}

/* Checks the disks of VM 'vm_uuid' against its migration to 'dest' with
 * 'options': each "vdi:VDI" = SR names a VDI of the VM (HANDLE_INVALID,
 * VDI_NOT_OF_VM) and an SR (HANDLE_INVALID) the destination sees
 * (VM_REQUIRES_SR(vm, sr, options:vdi:VDI)), a directory SR when the disk
 * moves (SR_OPERATION_NOT_SUPPORTED) with room for the disks it gets
 * (SR_FULL(sr, needed, available), by their virtual sizes); a disk that
 * is not moved must be on an SR the destination sees (VM_REQUIRES_SR(vm,
 * sr)).  A VDI mapped to the SR it is on does not move; one on a shared
 * SR mapped to another SR moves, as in xe. */
static struct np_error *
check_disks(struct store *store, const char *vm_uuid, const char *dest,
            struct json_object *options)
{
    struct json_object *needed = json_object_new_object();
    struct np_error *error = NULL;

    if (options) {
        json_object_object_foreach (options, key, value) {
            if (error || strncmp(key, "vdi:", 4)) {
                continue;
            }
            const char *vdi = key + 4;
            const char *sr = json_object_get_string(value);
            struct json_object *record = store_get(store, "VDI", vdi);
            struct json_object *target = store_get(store, "SR", sr);
            bool mine = false;
            struct json_object *vbds = json_object_object_get(record, "VBDs");
            size_t n_vbds = vbds ? json_object_array_length(vbds) : 0;
            for (size_t i = 0; i < n_vbds; i++) {
                struct json_object *vbd =
                    store_get(store, "VBD",
                              json_object_get_string(
                                  json_object_array_get_idx(vbds, i)));
                mine |= !strcmp(record_string(vbd, "VM"), vm_uuid);
                json_object_put(vbd);
            }
            if (!record) {
                error = np_error_new(ERR_HANDLE_INVALID, "VDI", vdi, NULL);
            } else if (!mine) {
                error = np_error_new(ERR_VDI_NOT_OF_VM, vdi, vm_uuid, NULL);
            } else if (!target) {
                error = np_error_new(ERR_HANDLE_INVALID, "SR", sr, NULL);
            } else if (!sr_visible(store, sr, dest)) {
                error =
                    np_error_new(ERR_VM_REQUIRES_SR, vm_uuid, sr, key, NULL);
            } else if (strcmp(record_string(record, "SR"), sr)
                       && strcmp(record_string(target, "type"), "dir")) {
                /* The destination makes the copy in a directory. */
                error = np_error_new(ERR_SR_OPERATION_NOT_SUPPORTED, sr, NULL);
            } else if (strcmp(record_string(record, "SR"), sr)) {
                json_object_object_add(
                    needed, sr,
                    json_object_new_int64(
                        int_field(needed, sr)
                        + int_field(record, "virtual_size")));
            }
            json_object_put(record);
            json_object_put(target);
        }
    }

    /* The disks that stay where they are. */
    struct json_object *vbds = find(store, "VBD", "VM", vm_uuid);
    for (size_t i = 0; !error && i < json_object_array_length(vbds); i++) {
        struct json_object *vbd = store_get(
            store, "VBD",
            json_object_get_string(json_object_array_get_idx(vbds, i)));
        const char *vdi = record_string(vbd, "VDI");
        struct json_object *record = store_get(store, "VDI", vdi);
        const char *sr = record_string(record, "SR");
        char key[UUID_LENGTH + 8];
        snprintf(key, sizeof key, "vdi:%s", vdi);
        const char *to = record_string(options, key);
        if (record && (!*to || !strcmp(to, sr))
            && !sr_visible(store, sr, dest)) {
            error = np_error_new(ERR_VM_REQUIRES_SR, vm_uuid, sr, NULL);
        }
        json_object_put(record);
        json_object_put(vbd);
    }
    json_object_put(vbds);

    /* Room for the copies. */
    json_object_object_foreach (needed, sr, bytes) {
        struct json_object *record = store_get(store, "SR", sr);
        int64_t available = int_field(record, "physical_size")
                            - int_field(record, "physical_utilisation");
        if (!error && json_object_get_int64(bytes) > available) {
            char need_text[32], have_text[32];
            snprintf(need_text, sizeof need_text, "%lld",
                     (long long) json_object_get_int64(bytes));
            snprintf(have_text, sizeof have_text, "%lld",
                     (long long) available);
            error = np_error_new(ERR_SR_FULL, sr, need_text, have_text, NULL);
        }
        json_object_put(record);
    }
    json_object_put(needed);
    return error;
}

/* Returns the options of an admitted migration as its map records them (a
 * new object, or NULL for none): a "vdi:VDI" whose VDI stays on its SR
 * dropped, and for each disk that moves "vdi-new:VDI" = the UUID of its
 * copy. */
static struct json_object *
plan_disks(struct store *store, struct json_object *options)
{
    if (!options) {
        return NULL;
    }
    struct json_object *planned = json_object_new_object();
    json_object_object_foreach (options, key, value) {
        if (strncmp(key, "vdi:", 4)) {
            json_object_object_add(planned, key, json_object_get(value));
            continue;
        }
        struct json_object *record = store_get(store, "VDI", key + 4);
        if (strcmp(record_string(record, "SR"),
                   json_object_get_string(value))) {
            char uuid[UUID_LENGTH + 1];
            char *new_key = xasprintf("vdi-new:%s", key + 4);
            uuid_text_random(uuid);
            json_object_object_add(planned, key, json_object_get(value));
            json_object_object_add(planned, new_key,
                                   json_object_new_string(uuid));
            free(new_key);
        }
        json_object_put(record);
    }
    return planned;
}

/* True if host 'host' sees SR 'sr': a shared SR with a PBD of the host
 * asked to be attached, or a directory SR of the host. */
static bool
sr_visible(struct store *store, const char *sr, const char *host)
{
    struct json_object *record = store_get(store, "SR", sr);
    bool visible = false;

    if (!strcmp(record_string(record, "type"), "dir")) {
        visible = !strcmp(
            record_string(json_object_object_get(record, "device_config"),
                          "host"),
            host);
    } else if (record_bool(record, "shared")) {
        struct json_object *pbds = json_object_object_get(record, "PBDs");
        for (size_t i = 0; i < json_object_array_length(pbds); i++) {
            struct json_object *pbd = store_get(
                store, "PBD",
                json_object_get_string(json_object_array_get_idx(pbds, i)));
            visible |= !strcmp(record_string(pbd, "host"), host)
                       && record_bool(pbd, "currently_attached");
            json_object_put(pbd);
        }
    }
    json_object_put(record);
    return visible;
}

/* Maintenance. */

/* host.disable(host), host.enable(host): a disabled host takes no VM that
 * starts, resumes or migrates; its own keep running. */
static struct np_error *
host_set_enabled(struct api_call *call, struct json_object **result,
                 bool *deferred)
{
    struct json_object *host = NULL;
    const char *uuid;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "host", "host", &uuid, &host))) {
        return error;
    }
    struct json_object *changes = json_object_new_object();
    json_object_object_add(
        changes, "enabled",
        json_object_new_boolean(!strcmp(call->method, "host.enable")));
    int retval = store_update(call->api->store, "host", uuid, changes);
    json_object_put(changes);
    json_object_put(host);
    return retval ? api_store_error(retval, "host", uuid) : NULL;
}

/* host.get_evacuate_plan(host): where each running VM of the host would
 * go, {VM: host}; HOST_EVACUATE_PLAN_DOES_NOT_FIT(vm, reason) when one
 * fits nowhere. */
static struct np_error *
host_get_evacuate_plan(struct api_call *call, struct json_object **result,
                       bool *deferred)
{
    struct json_object *host = NULL;
    const char *uuid;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "host", "host", &uuid, &host))) {
        return error;
    }
    json_object_put(host);
    return plan_evacuation(call->api, uuid, result);
}

/* host.evacuate(host): the host must be disabled; its plan is computed
 * first and nothing moves unless every VM fits; then every VM of it starts
 * migrating as VM.pool_migrate does, each with a task of this host, and
 * the call answers {VM: task} (the CLI waits for them). */
static struct np_error *
host_evacuate(struct api_call *call, struct json_object **result,
              bool *deferred)
{
    struct json_object *host = NULL, *plan = NULL;
    const char *uuid;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "host", "host", &uuid, &host))) {
        return error;
    }
    if (record_bool(host, "enabled")) {
        error = np_error_new(ERR_HOST_NOT_DISABLED, uuid, NULL);
    } else {
        error = plan_evacuation(call->api, uuid, &plan);
    }
    json_object_put(host);
    if (error) {
        return error;
    }
    /* Every VM of the plan moves at once, each with its own task; under
     * TCG stopped while its memory moves (see admit()). */
    struct json_object *tasks = json_object_new_object();
    struct json_object *options = evacuation_options(call->api->store, uuid);
    json_object_object_foreach (plan, vm_uuid, dest) {
        struct json_object *vm = store_get(call->api->store, "VM", vm_uuid);
        char task[UUID_LENGTH + 1];
        bool transient;
        error = vm ? start_migration(call, vm_uuid, vm,
                                     json_object_get_string(dest), options,
                                     true, task, &transient)
                   : NULL;
        json_object_put(vm);
        if (error) {
            break;
        }
        json_object_object_add(tasks, vm_uuid, json_object_new_string(task));
    }
    json_object_put(plan);
    json_object_put(options);
    if (error) {
        json_object_put(tasks);
        return error;
    }
    *result = tasks;
    return NULL;
}

/* Computes in '*planp' (a new {VM: host}) where each running VM resident
 * on 'host' goes: the enabled member, other than 'host', with the most
 * memory left after the VMs already planned there that admits it. */
static struct np_error *
plan_evacuation(struct api *api, const char *host, struct json_object **planp)
{
    struct store *store = api->store;
    struct json_object *vms = find(store, "VM", "resident_on", host);
    struct json_object *hosts = store_get_all(store, "host");
    struct json_object *reserved = json_object_new_object();
    struct json_object *plan = json_object_new_object();
    struct json_object *options = evacuation_options(store, host);
    struct np_error *error = NULL;

    for (size_t i = 0; !error && i < json_object_array_length(vms); i++) {
        const char *vm_uuid =
            json_object_get_string(json_object_array_get_idx(vms, i));
        struct json_object *vm = store_get(store, "VM", vm_uuid);
        const char *best = NULL;
        int64_t best_left = 0;
        struct np_error *why = NULL;

        json_object_object_foreach (hosts, dest, record) {
            if (!strcmp(dest, host)) {
                continue;
            }
            int64_t taken = int_field(reserved, dest);
            struct np_error *refused =
                admit(api, vm_uuid, vm, dest, options, taken);
            int64_t left =
                int_field(record, "memory_free") - taken - vm_needs(vm);
            if (!refused && (!best || left > best_left)) {
                best = dest;
                best_left = left;
            }
            if (refused && !why) {
                why = refused;
            } else {
                np_error_destroy(refused);
            }
        }
        if (best) {
            json_object_object_add(plan, vm_uuid,
                                   json_object_new_string(best));
            json_object_object_add(
                reserved, best,
                json_object_new_int64(int_field(reserved, best)
                                      + vm_needs(vm)));
        } else {
            char *text = why ? np_error_to_string(why)
                             : xstrdup("no other host in the pool");
            error = np_error_new(ERR_HOST_EVACUATE_PLAN_DOES_NOT_FIT, vm_uuid,
                                 text, NULL);
            free(text);
        }
        np_error_destroy(why);
        json_object_put(vm);
    }
    json_object_put(vms);
    json_object_put(hosts);
    json_object_put(reserved);
    json_object_put(options);
    if (error) {
        json_object_put(plan);
    } else {
        *planp = plan;
    }
    return error;
}

/* Helpers. */

/* Returns the options of the migrations that evacuate 'host' (a new map,
 * or NULL for none): under TCG, not live (see admit()). */
static struct json_object *
evacuation_options(struct store *store, const char *host)
{
    struct json_object *record = store_get(store, "host", host);
    struct json_object *options = NULL;

    if (strcmp(record_string(record, "virtualization"), "kvm")) {
        options = json_object_new_object();
        json_object_object_add(options, "live",
                               json_object_new_string("false"));
    }
    json_object_put(record);
    return options;
}

/* Compares dotted version numbers: <0, 0 or >0 as 'a' is older than, the
 * same as or newer than 'b'. */
static int
version_compare(const char *a, const char *b)
{
    while (*a || *b) {
        char *end;
        long x = strtol(a, &end, 10);
        a = end;
        long y = strtol(b, &end, 10);
        b = end;
        if (x != y) {
            return x < y ? -1 : 1;
        }
        a += strcspn(a, ".");
        a += *a == '.';
        b += strcspn(b, ".");
        b += *b == '.';
    }
    return 0;
}

static struct json_object *
find(struct store *store, const char *class, const char *field,
     const char *value)
{
    struct json_object *json = json_object_new_string(value);
    struct json_object *uuids = store_find(store, class, field, json);

    json_object_put(json);
    return uuids;
}

static int64_t
int_field(struct json_object *object, const char *key)
{
    struct json_object *value;

    return object && json_object_object_get_ex(object, key, &value)
               ? json_object_get_int64(value)
               : 0;
}

/* Returns the host memory VM record 'vm' takes running: its guest memory
 * and the emulator's. */
static int64_t
vm_needs(struct json_object *vm)
{
    struct vm_memory memory = {
        .static_min = int_field(vm, "memory_static_min"),
        .dynamic_min = int_field(vm, "memory_dynamic_min"),
        .dynamic_max = int_field(vm, "memory_dynamic_max"),
        .static_max = int_field(vm, "memory_static_max"),
    };
    vm_memory_complete(&memory);
    return memory.dynamic_max
           + vm_memory_overhead(&memory, int_field(vm, "VCPUs_max"));
}

static bool
is_dpdk(struct json_object *host)
{
    return !strcmp(record_string(host, "datapath"), "dpdk");
}
