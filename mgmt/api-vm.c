/*
 * VM power operations (xapi's VM.start, clean_shutdown, hard_shutdown,
 * clean_reboot, hard_reboot, pause, unpause, suspend, resume,
 * power_state_reset), the memory checks of VM.set_memory_*, and the
 * domain watcher.
 *
 * The decisions come from vm/ (power-state machine, memory order and
 * admission, the domain configuration); the domains run on vm/'s qemu
 * backend, whose files live under VM_STATE_ROOT/<host UUID>.  A started
 * VM is resident on this host with its QEMU's PID as domid, and its VIFs
 * are attached: the fabric makes each one's tap (QEMU's, named as the
 * port) a port of its network's bridge.  Operations that wait for a guest
 * (clean shutdown and reboot, resume) answer later; meanwhile the VM is
 * busy and other operations get OTHER_OPERATION_IN_PROGRESS.
 *
 * The watcher looks at every domain of this host once a second: a QEMU
 * that is gone (killed, crashed) gets its VM marked Halted and a
 * VM_CRASHED message; a guest that powered itself off gets its domain
 * ended and its VM Halted.  netpoold's restart needs nothing more: domains
 * outlive it and the watcher finds them by their VM's domid.
 */
#define LOG_MODULE "vm"
#include "mgmt/api-internal.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <json-c/json.h>
#include <linux/magic.h>

#include "datapath/datapath.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"
#include "vm/vm.h"

#define VM_STATE_ROOT "/run/netpool/vm"
#define WATCH_INTERVAL_MS 1000
#define POLL_INTERVAL_MS 200
#define CLEAN_SHUTDOWN_TIMEOUT_MS 60000
#define RESUME_TIMEOUT_MS 60000
#define BOOT_MARKER "booted" /* In the backend's folder: not a new boot. */

/* An operation waiting for its domain. */
struct vm_pending {
    struct api_vm *vm;          /* Owner. */
    struct api_call *call;      /* Answered when done. */
    char uuid[UUID_LENGTH + 1]; /* The VM. */
    enum vm_operation op;       /* What it does. */
    int waited_ms;              /* Time waited so far. */
    int timeout_ms;             /* Give up after this long. */
    struct event *timer;        /* Next poll. */
    struct vm_pending *next;    /* In api_vm->pending. */
};

/* The domain controller of this host. */
struct api_vm {
    struct api *api;            /* Owner. */
    struct vm_backend *backend; /* Runs the domains. */
    struct json_object *busy;   /* VM UUID → operation running on it. */
    struct event *watch;        /* The watcher's timer. */
    struct vm_pending *pending; /* Operations waiting for a domain. */
    bool host_reported;         /* Host fields written once. */
    bool boot_checked;          /* auto_poweron looked at. */
};

static api_method vm_start, vm_clean_shutdown, vm_hard_shutdown;
static api_method vm_clean_reboot, vm_hard_reboot, vm_pause, vm_unpause;
static api_method vm_suspend, vm_resume, vm_power_state_reset;
static api_method vm_set_memory;
static api_method vm_clone;
static api_method vm_copy;
static struct np_error *clone_vm(struct api_call *, const char *copy_sr,
                                 struct json_object **result);

static struct np_error *begin_op(struct api_call *, enum vm_operation,
                                 struct json_object **vmp, const char **uuidp);
static struct np_error *start_domain(struct api_vm *, const char *uuid,
                                     struct json_object *vm, bool paused,
                                     const char *resume_file);
static struct np_error *defer(struct api_call *, const char *uuid,
                              enum vm_operation, int timeout_ms,
                              bool *deferred);
static void pending_poll(evutil_socket_t, short, void *);
static void pending_free(struct vm_pending *);
static struct np_error *press_power_button(struct api_call *,
                                           enum vm_operation, bool *deferred);
static void pending_abandoned(void *pending, struct api_call *);
static int mark_running(struct api_vm *, const char *uuid, enum vm_power_state,
                        int64_t domid);
static int mark_halted(struct api_vm *, const char *uuid, enum vm_power_state);
static void watch(evutil_socket_t, short, void *);
static void sync_nics(struct api_vm *, struct json_object *vm);
static void auto_poweron(struct api_vm *);
static int compare_order(const void *, const void *);
static void report_host(struct api_vm *);
static int64_t host_free_memory(struct api_vm *, int64_t *total);
static char *suspend_file(struct api_vm *, const char *uuid);
static struct np_error *backend_error(const char *uuid, const char *why);
static struct json_object *find(struct store *, const char *class,
                                const char *field, const char *value);
static const char *str_field(struct json_object *, const char *key);
static bool use_vhost_user(struct api_vm *, struct vm_config *);
static char *shared_memory(void);
static bool host_is_dpdk(struct api_vm *);
static bool has_vifs(struct api_vm *, const char *uuid);
static int64_t int_field(struct json_object *, const char *key);
static bool bool_arg(const struct api_call *, size_t i);

void
api_vm_init(struct api *api)
{
    struct api_vm *vm = xzalloc(sizeof *vm);
    char *dir = xasprintf(VM_STATE_ROOT "/%s", api->host_uuid);

    mkdir("/run/netpool", 0755);
    mkdir(VM_STATE_ROOT, 0700);
    vm->api = api;
    const char *backend = getenv("NETPOOL_VM_BACKEND");
    if (backend && !strcmp(backend, "xen")) {
        vm->backend = vm_xen_backend_create(dir);
        if (!vm->backend) {
            log_warn("no Xen here (or no libxl): domains run on QEMU");
        }
    }
    if (!vm->backend) {
        vm->backend = vm_qemu_backend_create(dir, getenv("NETPOOL_QEMU"),
                                             getenv("NETPOOL_VM_ACCEL"));
    }
    vm->busy = json_object_new_object();
    free(dir);
    if (api->base) {
        struct timeval tv = {WATCH_INTERVAL_MS / 1000,
                             (WATCH_INTERVAL_MS % 1000) * 1000};
        vm->watch = event_new(api->base, -1, EV_PERSIST, watch, vm);
        event_add(vm->watch, &tv);
    }
    api->vm = vm;
}

void
api_vm_fini(struct api *api)
{
    struct api_vm *vm = api ? api->vm : NULL;

    if (!vm) {
        return;
    }
    while (vm->pending) {
        struct vm_pending *p = vm->pending;
        struct np_error *error =
            np_error_new(ERR_INTERNAL_ERROR, "netpoold is stopping", NULL);
        if (p->call) {
            api_call_finish(p->call, NULL, error);
        }
        np_error_destroy(error);
        p->call = NULL;
        pending_free(p);
    }
    if (vm->watch) {
        event_free(vm->watch);
    }
    vm_backend_destroy(vm->backend);
    json_object_put(vm->busy);
    free(vm);
    api->vm = NULL;
}

api_method *
api_vm_method(const char *name)
{
    static const struct {
        const char *name;
        api_method *method;
    } methods[] = {
        {"VM.start", vm_start},
        {"VM.clean_shutdown", vm_clean_shutdown},
        {"VM.hard_shutdown", vm_hard_shutdown},
        {"VM.clean_reboot", vm_clean_reboot},
        {"VM.hard_reboot", vm_hard_reboot},
        {"VM.pause", vm_pause},
        {"VM.unpause", vm_unpause},
        {"VM.suspend", vm_suspend},
        {"VM.resume", vm_resume},
        {"VM.power_state_reset", vm_power_state_reset},
        {"VM.clone", vm_clone},
        {"VM.copy", vm_copy},
        {"VM.set_memory_static_min", vm_set_memory},
        {"VM.set_memory_static_max", vm_set_memory},
        {"VM.set_memory_dynamic_min", vm_set_memory},
        {"VM.set_memory_dynamic_max", vm_set_memory},
    };

    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (!strcmp(name, methods[i].name)) {
            return methods[i].method;
        }
    }
    return NULL;
}

/* Methods. */

/* VM.start(vm[, start_paused, force]). */
static struct np_error *
vm_start(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct json_object *vm;
    const char *uuid;
    struct np_error *error = begin_op(call, VM_OP_START, &vm, &uuid);

    if (!error) {
        error = start_domain(call->api->vm, uuid, vm, bool_arg(call, 1), NULL);
        json_object_put(vm);
    }
    return error;
}

/* VM.clean_shutdown(vm): the ACPI power button, then waits for the guest
 * to power off. */
static struct np_error *
vm_clean_shutdown(struct api_call *call, struct json_object **result,
                  bool *deferred)
{
    return press_power_button(call, VM_OP_CLEAN_SHUTDOWN, deferred);
}

/* VM.clean_reboot(vm): the guest powers off, then the same domain is reset
 * and continues, keeping its taps and ports. */
static struct np_error *
vm_clean_reboot(struct api_call *call, struct json_object **result,
                bool *deferred)
{
    return press_power_button(call, VM_OP_CLEAN_REBOOT, deferred);
}

/* The work of VM.clean_shutdown and VM.clean_reboot ('op'): asks the guest
 * to power off and waits (deferred) for it. */
static struct np_error *
press_power_button(struct api_call *call, enum vm_operation op, bool *deferred)
{
    struct json_object *vm;
    const char *uuid;
    struct np_error *error = begin_op(call, op, &vm, &uuid);
    char why[VM_WHY_SIZE];

    if (error) {
        return error;
    }
    struct vm_backend *backend = call->api->vm->backend;
    if (backend->ops->shutdown(backend, uuid, why)) {
        error = backend_error(uuid, why);
    } else {
        error = defer(call, uuid, op, CLEAN_SHUTDOWN_TIMEOUT_MS, deferred);
    }
    json_object_put(vm);
    return error;
}

/* VM.hard_shutdown(vm): ends the domain at once; a suspended VM loses its
 * saved state. */
static struct np_error *
vm_hard_shutdown(struct api_call *call, struct json_object **result,
                 bool *deferred)
{
    struct api_vm *avm = call->api->vm;
    struct json_object *vm;
    const char *uuid;
    struct np_error *error = begin_op(call, VM_OP_HARD_SHUTDOWN, &vm, &uuid);
    char why[VM_WHY_SIZE];

    if (error) {
        return error;
    }
    if (avm->backend->ops->destroy(avm->backend, uuid, why)) {
        error = backend_error(uuid, why);
    } else {
        char *file = suspend_file(avm, uuid);
        unlink(file);
        free(file);
        int retval = mark_halted(avm, uuid, VM_HALTED);
        error = retval ? api_store_error(retval, "VM", uuid) : NULL;
    }
    json_object_put(vm);
    return error;
}

/* VM.hard_reboot(vm): a reset; a paused VM runs again. */
static struct np_error *
vm_hard_reboot(struct api_call *call, struct json_object **result,
               bool *deferred)
{
    struct api_vm *avm = call->api->vm;
    struct json_object *vm;
    const char *uuid;
    struct np_error *error = begin_op(call, VM_OP_HARD_REBOOT, &vm, &uuid);
    char why[VM_WHY_SIZE];

    if (error) {
        return error;
    }
    if (avm->backend->ops->reset(avm->backend, uuid, why)
        || avm->backend->ops->unpause(avm->backend, uuid, why)) {
        error = backend_error(uuid, why);
    } else {
        int retval = mark_running(avm, uuid, VM_RUNNING, -1);
        error = retval ? api_store_error(retval, "VM", uuid) : NULL;
    }
    json_object_put(vm);
    return error;
}

/* VM.pause(vm) and VM.unpause(vm). */
static struct np_error *
pause_or_unpause(struct api_call *call, enum vm_operation op)
{
    struct api_vm *avm = call->api->vm;
    struct json_object *vm;
    const char *uuid;
    struct np_error *error = begin_op(call, op, &vm, &uuid);
    char why[VM_WHY_SIZE];

    if (error) {
        return error;
    }
    int retval = op == VM_OP_PAUSE
                     ? avm->backend->ops->pause(avm->backend, uuid, why)
                     : avm->backend->ops->unpause(avm->backend, uuid, why);
    if (retval) {
        error = backend_error(uuid, why);
    } else {
        retval = mark_running(avm, uuid, vm_operation_result(op), -1);
        error = retval ? api_store_error(retval, "VM", uuid) : NULL;
    }
    json_object_put(vm);
    return error;
}

static struct np_error *
vm_pause(struct api_call *call, struct json_object **result, bool *deferred)
{
    return pause_or_unpause(call, VM_OP_PAUSE);
}

static struct np_error *
vm_unpause(struct api_call *call, struct json_object **result, bool *deferred)
{
    return pause_or_unpause(call, VM_OP_UNPAUSE);
}

/* VM.suspend(vm): the domain's state goes into a file and the domain
 * ends. */
static struct np_error *
vm_suspend(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api_vm *avm = call->api->vm;
    struct json_object *vm;
    const char *uuid;
    struct np_error *error = begin_op(call, VM_OP_SUSPEND, &vm, &uuid);
    char why[VM_WHY_SIZE];

    if (error) {
        return error;
    }
    if (host_is_dpdk(avm) && has_vifs(avm, uuid)) {
        /* Its vhost-user NICs are plugged after the domain starts, which
         * a domain restored from a saved state cannot wait for. */
        error = np_error_new(ERR_VM_LACKS_FEATURE_SUSPEND, uuid, NULL);
        json_object_put(vm);
        return error;
    }
    char *file = suspend_file(avm, uuid);
    if (avm->backend->ops->suspend(avm->backend, uuid, file, why)) {
        error = backend_error(uuid, why);
    } else {
        int retval = mark_halted(avm, uuid, VM_SUSPENDED);
        error = retval ? api_store_error(retval, "VM", uuid) : NULL;
    }
    free(file);
    json_object_put(vm);
    return error;
}

/* VM.resume(vm[, start_paused, force]): a new domain from the saved
 * state; answers once the guest runs again. */
static struct np_error *
vm_resume(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api_vm *avm = call->api->vm;
    struct json_object *vm;
    const char *uuid;
    struct np_error *error = begin_op(call, VM_OP_RESUME, &vm, &uuid);

    if (error) {
        return error;
    }
    char *file = suspend_file(avm, uuid);
    if (access(file, R_OK)) {
        error = np_error_new(ERR_VM_FAILED_START, uuid,
                             "the suspended state is gone", NULL);
    } else {
        error = start_domain(avm, uuid, vm, false, file);
    }
    if (!error) {
        error = defer(call, uuid, VM_OP_RESUME, RESUME_TIMEOUT_MS, deferred);
    }
    free(file);
    json_object_put(vm);
    return error;
}

/* VM.power_state_reset(vm): the VM is Halted whatever its domain was
 * doing; a domain still there is ended, so that nothing runs unmanaged. */
static struct np_error *
vm_power_state_reset(struct api_call *call, struct json_object **result,
                     bool *deferred)
{
    struct api_vm *avm = call->api->vm;
    struct json_object *vm;
    const char *uuid;
    struct np_error *error =
        begin_op(call, VM_OP_POWER_STATE_RESET, &vm, &uuid);
    char why[VM_WHY_SIZE];

    if (error) {
        return error;
    }
    for (struct vm_pending **p = &avm->pending; *p;) {
        struct vm_pending *pending = *p;
        if (!strcmp(pending->uuid, uuid)) {
            struct np_error *cancelled = np_error_new(
                ERR_TASK_CANCELLED, "power_state_reset", uuid, NULL);
            *p = pending->next;
            pending->next = NULL;
            if (pending->call) {
                api_call_finish(pending->call, NULL, cancelled);
            }
            np_error_destroy(cancelled);
            pending->call = NULL;
            pending_free(pending);
        } else {
            p = &pending->next;
        }
    }
    json_object_object_del(avm->busy, uuid);
    avm->backend->ops->destroy(avm->backend, uuid, why);
    char *file = suspend_file(avm, uuid);
    unlink(file);
    free(file);
    int retval = mark_halted(avm, uuid, VM_HALTED);
    json_object_put(vm);
    return retval ? api_store_error(retval, "VM", uuid) : NULL;
}

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
 * halted.  Answers the new VM's ref. */
static struct np_error *
vm_clone(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct np_error *error = api_expect_args(call, 2);
    return error ? error : clone_vm(call, NULL, result);
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
    return clone_vm(call, sr, result);
}

/* The work of VM.clone ('copy_sr' NULL) and VM.copy. */
static struct np_error *
clone_vm(struct api_call *call, const char *copy_sr,
         struct json_object **result)
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
    int retval;

    if ((error = api_arg_string(call, 0, "vm", &uuid))
        || (error = api_arg_string(call, 1, "new_name", &name))) {
        return error;
    }
    vm = store_get(store, "VM", uuid);
    if (!vm) {
        return np_error_new(ERR_HANDLE_INVALID, "VM", uuid, NULL);
    }
    if (!vm_power_state_parse(str_field(vm, "power_state"), &state)) {
        state = VM_HALTED;
    }
    if (state != VM_HALTED) {
        error = np_error_new(ERR_VM_BAD_POWER_STATE, uuid, "Halted",
                             vm_power_state_name(state), NULL);
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

    uuid_text_random(new_uuid);
    retval = store_begin(store);
    bool began = !retval;
    if (!retval) {
        retval = store_insert(store, "VM", new_uuid, copy);
    }
    error = retval ? api_store_error(retval, "VM", new_uuid) : NULL;

    /* The VIFs, through VIF.create: its MAC, device and index rules. */
    struct json_object *vifs = find(store, "VIF", "VM", uuid);
    api_method *vif_create = api_vif_method("VIF.create");
    for (size_t i = 0; !error && i < json_object_array_length(vifs); i++) {
        struct json_object *vif = store_get(
            store, "VIF",
            json_object_get_string(json_object_array_get_idx(vifs, i)));
        struct json_object *record = json_object_new_object();
        struct json_object *vif_result = NULL;
        bool vif_deferred = false;

        json_object_object_add(record, "VM", json_object_new_string(new_uuid));
        for (size_t j = 0; j < sizeof vif_copied / sizeof *vif_copied; j++) {
            struct json_object *value =
                json_object_object_get(vif, vif_copied[j]);
            if (value) {
                json_object_object_add(record, vif_copied[j],
                                       json_object_get(value));
            }
        }
        struct api_call inner = {.api = call->api,
                                 .args = json_object_new_array()};
        json_object_array_add(inner.args, record);
        error = vif_create(&inner, &vif_result, &vif_deferred);
        json_object_put(vif_result);
        json_object_put(inner.args);
        json_object_put(vif);
    }
    json_object_put(vifs);
    /* Its disks last: copy-on-write clones of the source's (api-storage.c),
     * so that nothing that could fail comes after their images. */
    if (!error) {
        error = api_storage_clone_disks(store, uuid, new_uuid, copy_sr);
    }
    if (!error) {
        retval = store_commit(store);
        error = retval ? api_store_error(retval, "VM", new_uuid) : NULL;
    } else if (began) {
        store_rollback(store);
    }
    json_object_put(copy);
    json_object_put(vm);
    if (!error) {
        *result = json_object_new_string(new_uuid);
    }
    return error;
}

/* Operations. */

/* Checks that 'call' (VM ref first) may run 'op': the VM exists, is in a
 * state 'op' accepts and is not busy.  On success '*vmp' is the VM's
 * record (the caller puts it) and '*uuidp' its UUID (in the record). */
static struct np_error *
begin_op(struct api_call *call, enum vm_operation op, struct json_object **vmp,
         const char **uuidp)
{
    struct api_vm *avm = call->api->vm;
    struct np_error *error;
    const char *uuid;
    enum vm_power_state state;

    *vmp = NULL;
    if (!avm) {
        return np_error_new(ERR_INTERNAL_ERROR, "no domain controller", NULL);
    }
    if ((error = api_arg_string(call, 0, "vm", &uuid))) {
        return error;
    }
    if (json_object_array_length(call->args) > 3) {
        return api_expect_args(call, 3);
    }
    struct json_object *vm = store_get(call->api->store, "VM", uuid);
    if (!vm) {
        return np_error_new(ERR_HANDLE_INVALID, "VM", uuid, NULL);
    }
    if (!vm_power_state_parse(str_field(vm, "power_state"), &state)) {
        state = VM_HALTED;
    }
    if (op == VM_OP_START
        && json_object_get_boolean(
            json_object_object_get(vm, "is_a_template"))) {
        json_object_put(vm);
        return np_error_new(ERR_VM_IS_TEMPLATE, uuid, NULL);
    }
    error = vm_check_operation(
        op, state, str_field(avm->busy, str_field(vm, "uuid")), uuid);
    if (error) {
        json_object_put(vm);
        return error;
    }
    *vmp = vm;
    *uuidp = str_field(vm, "uuid");
    return NULL;
}

/* Starts a domain for VM 'uuid' (record 'vm'), from 'resume_file' when not
 * NULL, and records it.  Leaves nothing behind when it fails. */
static struct np_error *
start_domain(struct api_vm *avm, const char *uuid, struct json_object *vm,
             bool paused, const char *resume_file)
{
    struct store *store = avm->api->store;
    struct json_object *vifs = store_get_all(store, "VIF");
    struct json_object *networks = store_get_all(store, "network");
    struct vm_config *config = NULL;
    struct np_error *error;
    char why[VM_WHY_SIZE];
    int64_t index = 0, domid = 0;
    const char *index_text = str_field(
        json_object_object_get(vm, "other_config"), DP_VIF_INDEX_KEY);

    index = strtoll(index_text, NULL, 10);
    if (index < 1) {
        error =
            np_error_new(ERR_INVALID_VALUE, "other_config:" DP_VIF_INDEX_KEY,
                         index_text, NULL);
        goto out;
    }
    error = vm_config_from_records(vm, vifs, networks, index, &config);
    if (error) {
        goto out;
    }
    if (use_vhost_user(avm, config)) {
        config->shared_memory = shared_memory();
    }
    /* Its disks: the VDIs of its VBDs (api-storage.c). */
    error = api_storage_attach_disks(store, uuid, config);
    if (error) {
        goto out;
    }
    if (*config->kernel && access(config->kernel, R_OK)) {
        error =
            np_error_new(ERR_INVALID_VALUE, "PV_kernel", config->kernel, NULL);
        goto out;
    }
    if (*config->ramdisk && access(config->ramdisk, R_OK)) {
        error = np_error_new(ERR_INVALID_VALUE, "PV_ramdisk", config->ramdisk,
                             NULL);
        goto out;
    }
    int64_t needed = config->memory.dynamic_max
                     + vm_memory_overhead(&config->memory, config->vcpus);
    error = vm_check_admission(needed, host_free_memory(avm, NULL));
    if (!error && config->shared_memory) {
        /* Its memory comes from hugepages, in whole 2 MiB pages. */
        int64_t page = 2 * 1024 * 1024;
        error = dp_hugepages_check((config->memory.dynamic_max + page - 1)
                                       / page * page,
                                   dp_hugepages_free());
    }
    if (error) {
        goto out;
    }
    if (avm->backend->ops->start(avm->backend, config, paused, resume_file,
                                 &domid, why)) {
        error = np_error_new(ERR_VM_FAILED_START, uuid, why, NULL);
        goto out;
    }
    int retval =
        mark_running(avm, uuid, paused ? VM_PAUSED : VM_RUNNING, domid);
    if (retval) {
        avm->backend->ops->destroy(avm->backend, uuid, why);
        error = api_store_error(retval, "VM", uuid);
        goto out;
    }
    log_info("VM %s started (%s, domid %" PRId64 ")", uuid,
             vm_accel_name(avm->backend->ops->accel(avm->backend)), domid);

out:
    vm_config_destroy(config);
    json_object_put(vifs);
    json_object_put(networks);
    return error;
}

/* Makes 'call' answer later, once pending_poll() sees operation 'op' on VM
 * 'uuid' done; the VM is busy until then. */
static struct np_error *
defer(struct api_call *call, const char *uuid, enum vm_operation op,
      int timeout_ms, bool *deferred)
{
    struct api_vm *avm = call->api->vm;
    struct vm_pending *pending;
    struct timeval tv = {0, POLL_INTERVAL_MS * 1000};

    if (!call->api->base) {
        return np_error_new(ERR_INTERNAL_ERROR, "no event loop", NULL);
    }
    pending = xzalloc(sizeof *pending);
    pending->vm = avm;
    pending->call = call;
    snprintf(pending->uuid, sizeof pending->uuid, "%s", uuid);
    pending->op = op;
    pending->timeout_ms = timeout_ms;
    pending->timer = event_new(call->api->base, -1, 0, pending_poll, pending);
    pending->next = avm->pending;
    avm->pending = pending;
    json_object_object_add(avm->busy, uuid,
                           json_object_new_string(vm_operation_name(op)));
    event_add(pending->timer, &tv);
    call->abandoned = pending_abandoned;
    call->owner = pending;
    *deferred = true;
    return NULL;
}

/* The client of 'pending''s call went away: the operation goes on, with
 * nobody to answer. */
static void
pending_abandoned(void *pending_, struct api_call *call)
{
    struct vm_pending *pending = pending_;

    if (pending->call == call) {
        pending->call = NULL;
    }
}

/* One poll of a waiting operation. */
static void
pending_poll(evutil_socket_t fd, short what, void *pending_)
{
    struct vm_pending *pending = pending_;
    struct api_vm *avm = pending->vm;
    struct vm_backend *backend = avm->backend;
    enum vm_domain_state state;
    struct np_error *error = NULL;
    char why[VM_WHY_SIZE] = "";
    bool done = false;
    int retval;

    backend->ops->query(backend, pending->uuid, &state, why);
    switch (pending->op) {
    case VM_OP_CLEAN_SHUTDOWN:
        if (state == VM_DOMAIN_SHUTDOWN || state == VM_DOMAIN_GONE) {
            backend->ops->destroy(backend, pending->uuid, why);
            retval = mark_halted(avm, pending->uuid, VM_HALTED);
            error =
                retval ? api_store_error(retval, "VM", pending->uuid) : NULL;
            done = true;
        }
        break;
    case VM_OP_CLEAN_REBOOT:
        if (state == VM_DOMAIN_GONE) {
            mark_halted(avm, pending->uuid, VM_HALTED);
            error = np_error_new(ERR_VM_FAILED_START, pending->uuid,
                                 "the domain ended while rebooting", NULL);
            done = true;
        } else if (state == VM_DOMAIN_SHUTDOWN) {
            if (backend->ops->reset(backend, pending->uuid, why)
                || backend->ops->unpause(backend, pending->uuid, why)) {
                error = backend_error(pending->uuid, why);
            }
            done = true;
        }
        break;
    case VM_OP_RESUME:
        if (state == VM_DOMAIN_RUNNING) {
            char *file = suspend_file(avm, pending->uuid);
            unlink(file);
            free(file);
            done = true;
        } else if (state == VM_DOMAIN_PAUSED) {
            /* The state was saved from a stopped domain, so QEMU stays
             * paused once it is loaded; until then "cont" fails. */
            backend->ops->unpause(backend, pending->uuid, why);
        } else {
            backend->ops->destroy(backend, pending->uuid, why);
            mark_halted(avm, pending->uuid, VM_SUSPENDED);
            error = np_error_new(ERR_VM_FAILED_START, pending->uuid,
                                 "the resumed domain ended", NULL);
            done = true;
        }
        break;
    default:
        done = true;
        break;
    }
    pending->waited_ms += POLL_INTERVAL_MS;
    if (!done && pending->waited_ms >= pending->timeout_ms) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", pending->timeout_ms / 1000);
        error = pending->op == VM_OP_RESUME
                    ? np_error_new(ERR_VM_FAILED_START, pending->uuid,
                                   "the resumed domain does not run", NULL)
                    : np_error_new(ERR_VM_SHUTDOWN_TIMEOUT, pending->uuid,
                                   seconds, NULL);
        done = true;
    }
    if (!done) {
        struct timeval tv = {0, POLL_INTERVAL_MS * 1000};
        event_add(pending->timer, &tv);
        /* An Async call's task shows the share of the time limit spent. */
        if (pending->call && pending->call->task[0] && pending->timeout_ms) {
            api_task_set_progress(avm->api, pending->call->task,
                                  (double) pending->waited_ms
                                      / pending->timeout_ms);
        }
        return;
    }

    for (struct vm_pending **p = &avm->pending; *p; p = &(*p)->next) {
        if (*p == pending) {
            *p = pending->next;
            break;
        }
    }
    json_object_object_del(avm->busy, pending->uuid);
    if (pending->call) {
        api_call_finish(pending->call, NULL, error);
    }
    np_error_destroy(error);
    pending->call = NULL;
    pending->next = NULL;
    pending_free(pending);
}

static void
pending_free(struct vm_pending *pending)
{
    if (pending) {
        struct api_vm *avm = pending->vm;
        if (avm->pending == pending) {
            avm->pending = pending->next;
        }
        json_object_object_del(avm->busy, pending->uuid);
        event_free(pending->timer);
        free(pending);
    }
}

/* Records that VM 'uuid' has a domain here in 'state' (Running or Paused),
 * with 'domid' (or the one it has, when -1), its VIFs attached, and the
 * host's free memory. */
static int
mark_running(struct api_vm *avm, const char *uuid, enum vm_power_state state,
             int64_t domid)
{
    struct store *store = avm->api->store;
    struct json_object *changes = json_object_new_object();
    int retval;

    json_object_object_add(changes, "power_state",
                           json_object_new_string(vm_power_state_name(state)));
    if (domid >= 0) {
        json_object_object_add(changes, "domid", json_object_new_int64(domid));
        json_object_object_add(changes, "resident_on",
                               json_object_new_string(avm->api->host_uuid));
    }
    retval = store_begin(store);
    if (!retval) {
        retval = store_update(store, "VM", uuid, changes);
    }
    if (!retval && domid >= 0) {
        struct json_object *attached = json_object_new_object();
        struct json_object *vifs = find(store, "VIF", "VM", uuid);
        json_object_object_add(attached, "currently_attached",
                               json_object_new_boolean(true));
        for (size_t i = 0; !retval && i < json_object_array_length(vifs);
             i++) {
            retval = store_update(
                store, "VIF",
                json_object_get_string(json_object_array_get_idx(vifs, i)),
                attached);
        }
        json_object_put(attached);
        json_object_put(vifs);
    }
    if (!retval) {
        retval = store_commit(store);
    } else {
        store_rollback(store);
    }
    json_object_put(changes);
    report_host(avm);
    return retval;
}

/* Records that VM 'uuid' has no domain any more: 'state' (Halted or
 * Suspended), no domid, not resident, its VIFs detached. */
static int
mark_halted(struct api_vm *avm, const char *uuid, enum vm_power_state state)
{
    struct store *store = avm->api->store;
    struct json_object *changes = json_object_new_object();
    int retval;

    json_object_object_add(changes, "power_state",
                           json_object_new_string(vm_power_state_name(state)));
    json_object_object_add(changes, "domid", json_object_new_int64(-1));
    json_object_object_add(changes, "resident_on", json_object_new_string(""));
    retval = store_begin(store);
    if (!retval) {
        retval = store_update(store, "VM", uuid, changes);
    }
    if (!retval) {
        struct json_object *detached = json_object_new_object();
        struct json_object *vifs = find(store, "VIF", "VM", uuid);
        json_object_object_add(detached, "currently_attached",
                               json_object_new_boolean(false));
        for (size_t i = 0; !retval && i < json_object_array_length(vifs);
             i++) {
            struct json_object *vif = store_get(
                store, "VIF",
                json_object_get_string(json_object_array_get_idx(vifs, i)));
            const char *netns = str_field(
                json_object_object_get(vif, "other_config"), "netns");
            /* A namespace guest's VIF is no domain's. */
            if (!*netns) {
                retval = store_update(store, "VIF", str_field(vif, "uuid"),
                                      detached);
            }
            json_object_put(vif);
        }
        json_object_put(detached);
        json_object_put(vifs);
    }
    if (!retval) {
        retval = store_commit(store);
    } else {
        store_rollback(store);
    }
    json_object_put(changes);
    report_host(avm);
    return retval;
}

/* The watcher. */

static void
watch(evutil_socket_t fd, short what, void *avm_)
{
    struct api_vm *avm = avm_;
    struct store *store = avm->api->store;
    struct json_object *vms;

    if (!avm->host_reported) {
        report_host(avm);
    }
    if (!avm->boot_checked) {
        avm->boot_checked = true;
        auto_poweron(avm);
    }
    vms = find(store, "VM", "resident_on", avm->api->host_uuid);
    for (size_t i = 0; i < json_object_array_length(vms); i++) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(vms, i));
        struct json_object *vm = store_get(store, "VM", uuid);
        enum vm_power_state state;
        enum vm_domain_state domain;
        char why[VM_WHY_SIZE];

        if (!vm || int_field(vm, "domid") <= 0
            || json_object_object_get(avm->busy, uuid)
            || !vm_power_state_parse(str_field(vm, "power_state"), &state)
            || (state != VM_RUNNING && state != VM_PAUSED)) {
            json_object_put(vm);
            continue;
        }
        if (avm->backend->ops->query(avm->backend, uuid, &domain, why)) {
            json_object_put(vm);
            continue; /* Alive but not answering: look again later. */
        }
        if (domain == VM_DOMAIN_GONE) {
            char *body = xasprintf(
                "VM %s (%s) crashed: its domain %" PRId64 " is gone",
                str_field(vm, "name_label"), uuid, int_field(vm, "domid"));
            log_warn("%s", body);
            mark_halted(avm, uuid, VM_HALTED);
            store_raise_message(store, "VM_CRASHED", 2, "VM", uuid, body);
            free(body);
        } else if (domain == VM_DOMAIN_SHUTDOWN) {
            log_info("VM %s: the guest shut down", uuid);
            avm->backend->ops->destroy(avm->backend, uuid, why);
            mark_halted(avm, uuid, VM_HALTED);
        } else {
            if ((domain == VM_DOMAIN_PAUSED) != (state == VM_PAUSED)) {
                mark_running(
                    avm, uuid,
                    domain == VM_DOMAIN_PAUSED ? VM_PAUSED : VM_RUNNING, -1);
            }
            sync_nics(avm, vm);
        }
        json_object_put(vm);
    }
    json_object_put(vms);
}

/* Returns true if 'record' has other_config:auto_poweron=true. */
static bool
auto_poweron_set(struct json_object *record)
{
    return !strcmp(str_field(json_object_object_get(record, "other_config"),
                             "auto_poweron"),
                   "true");
}

/* auto_poweron: on the first start of netpoold since the host booted (no
 * BOOT_MARKER in the backend's folder under /run, which a boot empties),
 * with pool other_config:auto_poweron=true, starts every halted VM whose
 * other_config:auto_poweron is true, lowest "order" first; the others stay
 * halted.  A VM that cannot start is logged and left halted. */
static void
auto_poweron(struct api_vm *avm)
{
    struct store *store = avm->api->store;
    char *marker = xasprintf("%s/" BOOT_MARKER, avm->backend->state_dir);
    struct json_object *pools, *vms, *chosen;
    bool pool_on = false;
    FILE *file;

    if (!access(marker, F_OK)) {
        free(marker);
        return; /* netpoold restarted; the host did not boot. */
    }
    mkdir(avm->backend->state_dir, 0700);
    file = fopen(marker, "w");
    if (file) {
        fclose(file);
    }
    free(marker);

    pools = store_get_all(store, "pool");
    json_object_object_foreach (pools, pool_uuid, pool) {
        pool_on |= auto_poweron_set(pool);
        (void) pool_uuid;
    }
    json_object_put(pools);
    if (!pool_on) {
        return;
    }

    vms = store_get_all(store, "VM");
    chosen = json_object_new_array();
    json_object_object_foreach (vms, uuid, vm) {
        if (auto_poweron_set(vm)
            && !strcmp(str_field(vm, "power_state"), "Halted")
            && !json_object_get_boolean(
                json_object_object_get(vm, "is_a_template"))) {
            json_object_array_add(chosen, json_object_get(vm));
        }
        (void) uuid;
    }
    json_object_array_sort(chosen, compare_order);
    for (size_t i = 0; i < json_object_array_length(chosen); i++) {
        struct json_object *vm = json_object_array_get_idx(chosen, i);
        const char *uuid = str_field(vm, "uuid");
        struct np_error *error = start_domain(avm, uuid, vm, false, NULL);

        if (error) {
            char *text = np_error_to_string(error);
            log_warn("VM %s: auto_poweron: %s", uuid, text);
            free(text);
            np_error_destroy(error);
        } else {
            log_info("VM %s: started by auto_poweron", uuid);
        }
    }
    json_object_put(chosen);
    json_object_put(vms);
}

/* Orders VM records by their "order" field. */
static int
compare_order(const void *a_, const void *b_)
{
    int64_t a = int_field(*(struct json_object *const *) a_, "order");
    int64_t b = int_field(*(struct json_object *const *) b_, "order");

    return a < b ? -1 : a > b;
}

/* Hot-plug: makes the NICs of the running domain of VM record 'vm' match
 * its VIFs' currently_attached (VIF.plug and VIF.unplug set it): an
 * attached VIF whose tap does not exist is plugged into the domain, a
 * detached one whose tap exists is unplugged.  A NIC's tap exists exactly
 * while the domain has the NIC. */
static void
sync_nics(struct api_vm *avm, struct json_object *vm)
{
    struct store *store = avm->api->store;
    const char *uuid = str_field(vm, "uuid");
    int64_t index =
        strtoll(str_field(json_object_object_get(vm, "other_config"),
                          DP_VIF_INDEX_KEY),
                NULL, 10);
    struct json_object *vifs = store_get_all(store, "VIF");
    struct json_object *networks = store_get_all(store, "network");
    struct vm_config *config = NULL;
    struct np_error *error;

    error = vm_config_from_records(vm, vifs, networks, index, &config);
    if (!error) {
        use_vhost_user(avm, config);
    }
    for (size_t i = 0; !error && i < config->n_nics; i++) {
        const struct vm_nic *nic = &config->nics[i];
        struct json_object *vif = json_object_object_get(vifs, nic->vif);
        bool attached = json_object_get_boolean(
            json_object_object_get(vif, "currently_attached"));
        /* A vhost-user NIC's socket exists exactly while the domain
         * has the NIC, as a tap does. */
        bool present = *nic->vhost ? !access(nic->vhost, F_OK)
                                   : if_nametoindex(nic->tap) != 0;
        char why[VM_WHY_SIZE];

        if (attached && !present) {
            if (avm->backend->ops->nic_plug(avm->backend, uuid, nic, why)) {
                log_warn("VM %s: hot-plug of VIF %s: %s", uuid, nic->vif, why);
            } else {
                log_info("VM %s: VIF %s hot-plugged as %s", uuid, nic->vif,
                         nic->tap);
            }
        } else if (!attached && present) {
            if (avm->backend->ops->nic_unplug(avm->backend, uuid, nic, why)) {
                log_warn("VM %s: hot-unplug of VIF %s: %s", uuid, nic->vif,
                         why);
            } else {
                log_info("VM %s: VIF %s unplugged", uuid, nic->vif);
            }
        }
    }
    np_error_destroy(error);
    vm_config_destroy(config);
    json_object_put(vifs);
    json_object_put(networks);
}

/* On a host whose datapath is dpdk, gives every NIC of 'config' its
 * vhost-user socket (the one OVS's dpdkvhostuserclient port of the VIF
 * connects to) and returns true; else returns false. */
static bool
use_vhost_user(struct api_vm *avm, struct vm_config *config)
{
    if (!host_is_dpdk(avm)) {
        return false;
    }
    for (size_t i = 0; i < config->n_nics; i++) {
        struct vm_nic *nic = &config->nics[i];
        char *socket = dp_vif_vhost_socket(avm->api->host_uuid, nic->tap);
        snprintf(nic->vhost, sizeof nic->vhost, "%s", socket);
        free(socket);
    }
    return true;
}

/* Returns the shared hugepage memory a domain with vhost-user NICs gets
 * (vm_config's shared_memory), a new string: the hugetlbfs mount if there
 * is one, else "" for an anonymous hugepage memfd. */
static char *
shared_memory(void)
{
    char *dir = dp_hugepages_dir();
    struct statfs fs;

    if (statfs(dir, &fs) || fs.f_type != HUGETLBFS_MAGIC) {
        dir[0] = '\0';
    }
    return dir;
}

/* Returns true if this host's datapath is dpdk (its VIFs are vhost-user
 * ports). */
static bool
host_is_dpdk(struct api_vm *avm)
{
    struct json_object *host =
        store_get(avm->api->store, "host", avm->api->host_uuid);
    bool dpdk = !strcmp(str_field(host, "datapath"), "dpdk");

    json_object_put(host);
    return dpdk;
}

/* Returns true if VM 'uuid' has a VIF. */
static bool
has_vifs(struct api_vm *avm, const char *uuid)
{
    struct json_object *vifs = find(avm->api->store, "VIF", "VM", uuid);
    bool any = json_object_array_length(vifs) > 0;
    json_object_put(vifs);
    return any;
}

/* Writes the host's virtualization, memory_total and memory_free. */
static void
report_host(struct api_vm *avm)
{
    struct json_object *changes = json_object_new_object();
    int64_t total = 0;
    int64_t free_memory = host_free_memory(avm, &total);

    json_object_object_add(changes, "virtualization",
                           json_object_new_string(vm_accel_name(
                               avm->backend->ops->accel(avm->backend))));
    json_object_object_add(changes, "memory_total",
                           json_object_new_int64(total));
    json_object_object_add(changes, "memory_free",
                           json_object_new_int64(free_memory));
    if (!store_update(avm->api->store, "host", avm->api->host_uuid, changes)) {
        avm->host_reported = true;
    }
    json_object_put(changes);
}

/* Returns the memory, in bytes, that new domains may take: what the
 * kernel reports available, less what the running domains of this host
 * may still claim (their guest memory and overhead beyond what they use
 * now), so that guests that have not touched their memory yet are not
 * overcommitted.  Sets '*total' (when not NULL) to the host's memory. */
static int64_t
host_free_memory(struct api_vm *avm, int64_t *total)
{
    struct store *store = avm->api->store;
    int64_t available = 0, mem_total = 0, claimed = 0;
    char line[256];
    FILE *file = fopen("/proc/meminfo", "r");

    while (file && fgets(line, sizeof line, file)) {
        long long kib;
        if (sscanf(line, "MemTotal: %lld kB", &kib) == 1) {
            mem_total = kib * 1024;
        } else if (sscanf(line, "MemAvailable: %lld kB", &kib) == 1) {
            available = kib * 1024;
        }
    }
    if (file) {
        fclose(file);
    }
    if (total) {
        *total = mem_total;
    }

    struct json_object *vms =
        find(store, "VM", "resident_on", avm->api->host_uuid);
    for (size_t i = 0; i < json_object_array_length(vms); i++) {
        struct json_object *vm = store_get(
            store, "VM",
            json_object_get_string(json_object_array_get_idx(vms, i)));
        int64_t domid = int_field(vm, "domid");
        if (domid > 0) {
            struct vm_memory memory = {
                .static_min = int_field(vm, "memory_static_min"),
                .dynamic_min = int_field(vm, "memory_dynamic_min"),
                .dynamic_max = int_field(vm, "memory_dynamic_max"),
                .static_max = int_field(vm, "memory_static_max"),
            };
            vm_memory_complete(&memory);
            int64_t need =
                memory.dynamic_max
                + vm_memory_overhead(&memory, int_field(vm, "VCPUs_max"));
            int64_t rss = 0;
            char path[64];
            snprintf(path, sizeof path, "/proc/%" PRId64 "/status", domid);
            FILE *status = fopen(path, "r");
            while (status && fgets(line, sizeof line, status)) {
                long long kib;
                if (sscanf(line, "VmRSS: %lld kB", &kib) == 1) {
                    rss = kib * 1024;
                }
            }
            if (status) {
                fclose(status);
            }
            if (need > rss) {
                claimed += need - rss;
            }
        }
        json_object_put(vm);
    }
    json_object_put(vms);
    return available - claimed;
}

/* Helpers. */

static char *
suspend_file(struct api_vm *avm, const char *uuid)
{
    return xasprintf("%s/%s.suspend", avm->backend->state_dir, uuid);
}

static struct np_error *
backend_error(const char *uuid, const char *why)
{
    return np_error_new(ERR_INTERNAL_ERROR, why, uuid, NULL);
}

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
    struct json_object *value;

    return object && json_object_object_get_ex(object, key, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
}

static int64_t
int_field(struct json_object *object, const char *key)
{
    struct json_object *value;

    return object && json_object_object_get_ex(object, key, &value)
               ? json_object_get_int64(value)
               : 0;
}

/* Returns argument 'i' of 'call' as a boolean (false when absent). */
static bool
bool_arg(const struct api_call *call, size_t i)
{
    struct json_object *value = json_object_array_get_idx(call->args, i);

    return value && json_object_get_boolean(value);
}
