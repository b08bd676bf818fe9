/*
 * VM power operations (xapi's VM.start, clean_shutdown, hard_shutdown,
 * clean_reboot, hard_reboot, pause, unpause, suspend, resume,
 * power_state_reset), the memory checks of VM.set_memory_*, VM.clone and
 * VM.copy, and the rules of a host's vm_backend.
 *
 * A power operation records intent only, in one transaction: the VM's
 * desired_power_state (where the operation leads), its
 * current_operations (the operation's task → the operation) and, for an
 * operation that brings a domain up, resident_on (the host chosen for it:
 * its affinity if that host is in the pool now, else this one).  The
 * controller in vm/ of the host in resident_on hears of it through the
 * store's change feed, converges the domain, writes the observed
 * power_state and domid and the outcome (last_operation) and finishes
 * the task, or, when the task is another host's, that host's
 * vm-outcome.c finishes it from the outcome; the call answers then
 * (api_task_wait()), or at once with the task for Async.  The
 * operations are one table of (method, operation, arguments, extra check);
 * which states each accepts is vm/'s power-state machine, and what each
 * does to a domain is vm/'s plan.  While an operation is in flight, every
 * other but power_state_reset answers OTHER_OPERATION_IN_PROGRESS, and
 * power_state_reset cancels it.
 */
#define LOG_MODULE "vm"
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
#include "lib/xalloc.h"
#include "mgmt/store.h"
#include "vm/vm.h"

/* An extra rule of one operation, beyond the power-state machine's. */
typedef struct np_error *vm_op_check(struct api *, const char *uuid,
                                     struct json_object *vm);

/* A power operation of the API. */
struct vm_power_method {
    const char *method;   /* "VM.start". */
    enum vm_operation op; /* What it asks for. */
    size_t max_args;      /* Arguments it takes (the VM first). */
    bool start_paused;    /* Its second argument is start_paused. */
    vm_op_check *check;   /* Its extra rule, or NULL. */
};

static vm_op_check check_not_template, check_suspendable;

static const struct vm_power_method power_methods[] = {
    {"VM.start", VM_OP_START, 3, true, check_not_template},
    {"VM.clean_shutdown", VM_OP_CLEAN_SHUTDOWN, 1, false, NULL},
    {"VM.hard_shutdown", VM_OP_HARD_SHUTDOWN, 1, false, NULL},
    {"VM.clean_reboot", VM_OP_CLEAN_REBOOT, 1, false, NULL},
    {"VM.hard_reboot", VM_OP_HARD_REBOOT, 1, false, NULL},
    {"VM.pause", VM_OP_PAUSE, 1, false, NULL},
    {"VM.unpause", VM_OP_UNPAUSE, 1, false, NULL},
    {"VM.suspend", VM_OP_SUSPEND, 1, false, check_suspendable},
    {"VM.resume", VM_OP_RESUME, 3, true, NULL},
    {"VM.power_state_reset", VM_OP_POWER_STATE_RESET, 1, false, NULL},
};

static api_method vm_power_call;
static api_method vm_set_memory;
static api_method vm_clone;
static api_method vm_copy;
static struct np_error *clone_vm(struct api_call *, const char *copy_sr,
                                 bool *deferred);
static api_job_commit commit_clone;
static const struct vm_power_method *find_power_method(const char *name);
static struct json_object *find(struct store *, const char *class,
                                const char *field, const char *value);
static const char *str_field(struct json_object *, const char *key);
static const char *place(struct api *, struct json_object *vm);
static int64_t int_field(struct json_object *, const char *key);

api_method *
api_vm_method(const char *name)
{
    static const struct {
        const char *name;
        api_method *method;
    } methods[] = {
        {"VM.clone", vm_clone},
        {"VM.copy", vm_copy},
        {"VM.set_memory_static_min", vm_set_memory},
        {"VM.set_memory_static_max", vm_set_memory},
        {"VM.set_memory_dynamic_min", vm_set_memory},
        {"VM.set_memory_dynamic_max", vm_set_memory},
    };

    if (find_power_method(name)) {
        return vm_power_call;
    }
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (!strcmp(name, methods[i].name)) {
            return methods[i].method;
        }
    }
    return NULL;
}

struct np_error *
api_vm_check_set(struct api *api, const struct store_class *class,
                 const struct store_field *field, const char *uuid,
                 struct json_object *value)
{
    if (strcmp(class->name, "host") || strcmp(field->name, "vm_backend")) {
        return NULL;
    }
    const char *name = json_object_get_string(value);
    struct json_object *host = store_get(api->store, "host", uuid);
    struct np_error *error = NULL;

    if (strcmp(record_string(host, "vm_backend"), name)) {
        struct json_object *resident =
            json_object_object_get(host, "resident_VMs");
        if (json_object_array_length(resident)) {
            /* Its domains run on the backend they started on. */
            error = np_error_new(
                ERR_OPERATION_NOT_ALLOWED, "the host runs VMs",
                json_object_get_string(json_object_array_get_idx(resident, 0)),
                NULL);
        } else if (!strcmp(uuid, api->host_uuid)) {
            error = vm_backend_check(name);
        }
    }
    json_object_put(host);
    return error;
}

/* Power operations. */

/* Every power operation: checks it may run, records the intent and waits
 * for the controller to finish its task. */
static struct np_error *
vm_power_call(struct api_call *call, struct json_object **result,
              bool *deferred)
{
    const struct vm_power_method *m = find_power_method(call->method);
    struct store *store = call->api->store;
    struct json_object *vm = NULL;
    const char *uuid;
    struct np_error *error;

    if ((error = api_arg_string(call, 0, "vm", &uuid))) {
        return error;
    }
    if (json_object_array_length(call->args) > m->max_args) {
        return api_expect_args(call, m->max_args);
    }
    vm = store_get(store, "VM", uuid);
    if (!vm) {
        return np_error_new(ERR_HANDLE_INVALID, "VM", uuid, NULL);
    }
    uuid = str_field(vm, "uuid");

    /* The state a user sees is the one asked for last: its host's
     * controller brings the observed state onto it, and writes both when
     * the domain changes by itself. */
    enum vm_power_state state;
    if (!vm_power_state_parse(str_field(vm, "desired_power_state"), &state)) {
        state = VM_HALTED;
    }
    const char *current = "";
    json_object_object_foreach (
        json_object_object_get(vm, "current_operations"), task_key, op_name) {
        (void) task_key;
        current = json_object_get_string(op_name);
    }
    error = m->check ? m->check(call->api, uuid, vm) : NULL;
    if (!error) {
        error = vm_check_operation(m->op, state, current, uuid);
    }
    if (error) {
        json_object_put(vm);
        return error;
    }

    /* The task: the Async call's own, else one for this call. */
    char task[UUID_LENGTH + 1];
    bool transient = !*call->task;
    if (*call->task) {
        snprintf(task, sizeof task, "%s", call->task);
    } else {
        int retval = store_task_create(store, call->method,
                                       call->api->host_uuid, call->user, task);
        if (retval) {
            json_object_put(vm);
            return api_store_error(retval, "task", "");
        }
    }

    enum vm_power_state desired = vm_operation_result(m->op);
    struct json_object *paused = json_object_array_get_idx(call->args, 1);
    if (m->start_paused && json_object_get_boolean(paused)) {
        desired = VM_PAUSED;
    }
    const char *resident = str_field(vm, "resident_on");
    struct json_object *ops = json_object_new_object();
    struct json_object *changes = json_object_new_object();
    json_object_object_add(ops, task,
                           json_object_new_string(vm_operation_name(m->op)));
    json_object_object_add(changes, "current_operations", ops);
    json_object_object_add(
        changes, "desired_power_state",
        json_object_new_string(vm_power_state_name(desired)));
    if (!*resident || m->op == VM_OP_START || m->op == VM_OP_RESUME) {
        const char *host = place(call->api, vm);
        json_object_object_add(changes, "resident_on",
                               json_object_new_string(host));
        if (m->op == VM_OP_START || m->op == VM_OP_RESUME) {
            /* A disabled host (maintenance) takes no VM. */
            struct json_object *record = store_get(store, "host", host);
            if (record && !record_bool(record, "enabled")) {
                error = np_error_new(ERR_HOST_DISABLED, host, NULL);
            }
            json_object_put(record);
        }
    }
    int retval = error ? 0 : store_update(store, "VM", uuid, changes);
    json_object_put(changes);
    if (retval || error) {
        error = error ? error : api_store_error(retval, "VM", uuid);
        if (transient) {
            store_delete(store, "task", task);
        }
    } else {
        api_task_wait(call, task, transient, deferred);
    }
    json_object_put(vm);
    return error;
}

/* Returns the host that brings up (or ends the saved state of) VM record
 * 'vm', which runs nowhere: its affinity when that is this host or a host
 * in this host's pool configuration now (as xapi's VM.start prefers it),
 * else this host.  Its controller runs the operation; vm-outcome.c
 * finishes this host's task from what it writes on the VM. */
static const char *
place(struct api *api, struct json_object *vm)
{
    const char *affinity = str_field(vm, "affinity");
    struct ha_status status;

    if (!*affinity || !strcmp(affinity, api->host_uuid) || !api->pool) {
        return api->host_uuid;
    }
    ha_pool_status(api->pool, &status);
    return status.in_pool && ha_pool_has_member(api->pool, affinity)
               ? affinity
               : api->host_uuid;
}

/* VM.start: a template does not start, and a start must leave the HA
 * plan whole (api-ha.c). */
static struct np_error *
check_not_template(struct api *api, const char *uuid, struct json_object *vm)
{
    return json_object_get_boolean(json_object_object_get(vm, "is_a_template"))
               ? np_error_new(ERR_VM_IS_TEMPLATE, uuid, NULL)
               : api_ha_check_change(api, uuid, vm, place(api, vm), -1);
}

/* VM.suspend: on a dpdk host a VM with VIFs cannot be suspended: its
 * vhost-user NICs are plugged after the domain starts, which a domain
 * restored from a saved state cannot wait for. */
static struct np_error *
check_suspendable(struct api *api, const char *uuid, struct json_object *vm)
{
    struct json_object *host =
        store_get(api->store, "host", str_field(vm, "resident_on"));
    bool dpdk = !strcmp(str_field(host, "datapath"), "dpdk");
    struct json_object *vifs = find(api->store, "VIF", "VM", uuid);
    bool has_vifs = json_object_array_length(vifs) > 0;

    json_object_put(host);
    json_object_put(vifs);
    return dpdk && has_vifs
               ? np_error_new(ERR_VM_LACKS_FEATURE_SUSPEND, uuid, NULL)
               : NULL;
}

static const struct vm_power_method *
find_power_method(const char *name)
{
    for (size_t i = 0; i < sizeof power_methods / sizeof *power_methods; i++) {
        if (!strcmp(name, power_methods[i].method)) {
            return &power_methods[i];
        }
    }
    return NULL;
}

/* Memory, clones and copies. */

/* VM.set_memory_*(vm, value): the four settings must stay in order. */
static struct np_error *
vm_set_memory(struct api_call *call, struct json_object **result,
              bool *deferred)
{
    const char *field = call->method + strlen("VM.set_");
    struct json_object *value, *vm;
    const char *uuid;
    struct np_error *error;

    if ((error = api_expect_args(call, 2))
        || (error = api_arg_string(call, 0, "self", &uuid))) {
        return error;
    }
    value = json_object_array_get_idx(call->args, 1);
    vm = store_get(call->api->store, "VM", uuid);
    if (vm && json_object_is_type(value, json_type_int)) {
        struct vm_memory memory = {
            .static_min = int_field(vm, "memory_static_min"),
            .dynamic_min = int_field(vm, "memory_dynamic_min"),
            .dynamic_max = int_field(vm, "memory_dynamic_max"),
            .static_max = int_field(vm, "memory_static_max"),
        };
        int64_t v = json_object_get_int64(value);

        if (!strcmp(field, "memory_static_min")) {
            memory.static_min = v;
        } else if (!strcmp(field, "memory_static_max")) {
            memory.static_max = v;
        } else if (!strcmp(field, "memory_dynamic_min")) {
            memory.dynamic_min = v;
        } else {
            memory.dynamic_max = v;
        }
        vm_memory_complete(&memory);
        error = vm_memory_check(&memory);
    }
    json_object_put(vm);
    if (error) {
        return error;
    }
    /* The generic setter does the rest: handle, type, the write. */
    return api_generic_method(call->method)(call, result, deferred);
}

/* VM.clone(vm, new_name): a new halted VM with the source's settings
 * (a template's clone is a template), a copy of each of its VIFs on the
 * same network with a new MAC, and a copy-on-write clone of each of its
 * disks at the same userdevice, all with new UUIDs.  The source must be
 * halted and stays busy ("clone") while the job runs.  Answers the new
 * VM's ref. */
static struct np_error *
vm_clone(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct np_error *error = api_expect_args(call, 2);
    return error ? error : clone_vm(call, NULL, deferred);
}

/* VM.copy(vm, new_name, sr): like VM.clone, but each disk is a full,
 * independent copy, into SR 'sr' (or, when 'sr' is "", into the SR of
 * the disk it copies). */
static struct np_error *
vm_copy(struct api_call *call, struct json_object **result, bool *deferred)
{
    const char *sr;
    struct np_error *error;

    if ((error = api_expect_args(call, 3))
        || (error = api_arg_string(call, 2, "sr", &sr))) {
        return error;
    }
    if (*sr && !store_exists(call->api->store, "SR", sr)) {
        return np_error_new(ERR_HANDLE_INVALID, "SR", sr, NULL);
    }
    return clone_vm(call, sr, deferred);
}

/* The work of VM.clone ('copy_sr' NULL) and VM.copy: checks and plans
 * everything, then runs it as a storage job whose commit_clone() writes
 * the VM and its VIFs. */
static struct np_error *
clone_vm(struct api_call *call, const char *copy_sr, bool *deferred)
{
    static const char *const vm_copied[] = {
        "name_description",  "VCPUs_max",           "memory_static_min",
        "memory_static_max", "memory_dynamic_min",  "memory_dynamic_max",
        "is_a_template",     "ha_restart_priority", "order",
        "start_delay",       "PV_kernel",           "PV_ramdisk",
        "PV_args",
    };
    static const char *const vif_copied[] = {
        "network",
        "device",
        "qos_algorithm_type",
        "qos_algorithm_params",
        "locking_mode",
        "ipv4_allowed",
    };
    struct store *store = call->api->store;
    struct json_object *vm, *copy, *other_config;
    const char *uuid, *name;
    struct np_error *error;
    char new_uuid[UUID_LENGTH + 1];
    enum vm_power_state state;

    if ((error = api_arg_string(call, 0, "vm", &uuid))
        || (error = api_arg_string(call, 1, "new_name", &name))) {
        return error;
    }
    vm = store_get(store, "VM", uuid);
    if (!vm) {
        return np_error_new(ERR_HANDLE_INVALID, "VM", uuid, NULL);
    }
    uuid = str_field(vm, "uuid");
    if (!vm_power_state_parse(str_field(vm, "power_state"), &state)) {
        state = VM_HALTED;
    }
    if (state != VM_HALTED) {
        error = np_error_new(ERR_VM_BAD_POWER_STATE, uuid, "Halted",
                             vm_power_state_name(state), NULL);
        json_object_put(vm);
        return error;
    }
    json_object_object_foreach (
        json_object_object_get(vm, "current_operations"), task, op) {
        (void) task;
        error = np_error_new(ERR_OTHER_OPERATION_IN_PROGRESS, "VM", uuid,
                             json_object_get_string(op), NULL);
        json_object_put(vm);
        return error;
    }

    copy = json_object_new_object();
    json_object_object_add(copy, "name_label", json_object_new_string(name));
    for (size_t i = 0; i < sizeof vm_copied / sizeof *vm_copied; i++) {
        struct json_object *value = json_object_object_get(vm, vm_copied[i]);
        if (value) {
            json_object_object_add(copy, vm_copied[i], json_object_get(value));
        }
    }
    other_config = json_object_new_object();
    json_object_object_foreach (json_object_object_get(vm, "other_config"),
                                key, value) {
        if (strcmp(key, DP_VIF_INDEX_KEY)) {
            json_object_object_add(other_config, key, json_object_get(value));
        }
    }
    json_object_object_add(copy, "other_config", other_config);

    /* Its VIFs, made through VIF.create at the end: its MAC, device and
     * index rules. */
    uuid_text_random(new_uuid);
    struct json_object *vif_records = json_object_new_array();
    struct json_object *vifs = find(store, "VIF", "VM", uuid);
    for (size_t i = 0; i < json_object_array_length(vifs); i++) {
        struct json_object *vif = store_get(
            store, "VIF",
            json_object_get_string(json_object_array_get_idx(vifs, i)));
        struct json_object *record = json_object_new_object();
        json_object_object_add(record, "VM", json_object_new_string(new_uuid));
        for (size_t j = 0; j < sizeof vif_copied / sizeof *vif_copied; j++) {
            struct json_object *value =
                json_object_object_get(vif, vif_copied[j]);
            if (value) {
                json_object_object_add(record, vif_copied[j],
                                       json_object_get(value));
            }
        }
        json_object_array_add(vif_records, record);
        json_object_put(vif);
    }
    json_object_put(vifs);

    struct json_object *arg = json_object_new_object();
    json_object_object_add(arg, "uuid", json_object_new_string(new_uuid));
    json_object_object_add(arg, "record", copy);
    json_object_object_add(arg, "vifs", vif_records);

    /* Its disks: copies of the source's, made beside the loop. */
    struct json_object *disks = json_object_new_array();
    error = api_storage_plan_vm_disks(store, uuid, new_uuid, copy_sr, disks);
    if (error) {
        json_object_put(disks);
        json_object_put(arg);
    } else {
        error = api_storage_job(call, call->method, disks, uuid,
                                copy_sr ? "copy" : "clone", commit_clone, arg,
                                deferred);
    }
    json_object_put(vm);
    return error;
}

/* A clone's or copy's own writes, in its job's transaction: the VM, then
 * its VIFs through VIF.create. */
static struct np_error *
commit_clone(struct api *api, struct json_object *arg,
             struct json_object **result)
{
    const char *uuid = str_field(arg, "uuid");
    int retval = store_insert(api->store, "VM", uuid,
                              json_object_object_get(arg, "record"));
    struct np_error *error =
        retval ? api_store_error(retval, "VM", uuid) : NULL;
    struct json_object *vifs = json_object_object_get(arg, "vifs");
    api_method *vif_create = api_vif_method("VIF.create");

    for (size_t i = 0; !error && i < json_object_array_length(vifs); i++) {
        struct json_object *vif_result = NULL;
        bool vif_deferred = false;
        struct api_call inner = {.api = api, .args = json_object_new_array()};
        json_object_array_add(
            inner.args, json_object_get(json_object_array_get_idx(vifs, i)));
        error = vif_create(&inner, &vif_result, &vif_deferred);
        json_object_put(vif_result);
        json_object_put(inner.args);
    }
    if (!error) {
        *result = json_object_new_string(uuid);
    }
    return error;
}

/* Helpers. */

/* Returns a new array of the UUIDs of the objects of 'class' whose 'field'
 * is the string 'value'. */
static struct json_object *
find(struct store *store, const char *class, const char *field,
     const char *value)
{
    struct json_object *json = json_object_new_string(value);
    struct json_object *uuids = store_find(store, class, field, json);

    json_object_put(json);
    return uuids;
}

/* Returns the string member 'key' of 'object', or "". */
static const char *
str_field(struct json_object *object, const char *key)
{
    return record_string(object, key);
}

static int64_t
int_field(struct json_object *object, const char *key)
{
    struct json_object *value;

    return object && json_object_object_get_ex(object, key, &value)
               ? json_object_get_int64(value)
               : 0;
}
