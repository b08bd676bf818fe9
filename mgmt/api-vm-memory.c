/*
 * A VM's four memory settings changed together, as xapi has them:
 * VM.set_memory_limits(vm, static_min, static_max, dynamic_min,
 * dynamic_max) and VM.set_memory(vm, value) (static_max, dynamic_min and
 * dynamic_max all to 'value', static_min unchanged).  The new settings are
 * checked as one (memory_static_min <= memory_dynamic_min <=
 * memory_dynamic_max <= memory_static_max) and written in one
 * transaction, so a change that moves a limit past another one's old value
 * works, where the single setters refuse it.  A running domain keeps its
 * memory until its next start.  With HA on, a protected VM's new
 * memory_static_max must leave the restart plan whole (api-ha.c).
 */
#include "mgmt/api-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "mgmt/store.h"
#include "vm/vm.h"

static api_method vm_set_memory_limits, vm_set_memory_all;

static struct np_error *int_arg(const struct api_call *call, size_t i,
                                const char *name, int64_t *value);
static struct np_error *write_memory(struct api_call *call, const char *uuid,
                                     const struct vm_memory *memory);

api_method *
api_vm_memory_method(const char *name)
{
    if (!strcmp(name, "VM.set_memory_limits")) {
        return vm_set_memory_limits;
    }
    if (!strcmp(name, "VM.set_memory")) {
        return vm_set_memory_all;
    }
    return NULL;
}

struct np_error *
api_vm_memory_check_record(struct json_object *record)
{
    static const char *const fields[] = {
        "memory_static_min",
        "memory_static_max",
        "memory_dynamic_min",
        "memory_dynamic_max",
    };
    int64_t values[4] = {0, 0, 0, 0};
    bool given = false;

    for (size_t i = 0; i < 4; i++) {
        struct json_object *value;
        if (json_object_object_get_ex(record, fields[i], &value)) {
            values[i] = json_object_get_int64(value);
            given = true;
        }
    }
    if (!given) {
        return NULL;
    }
    struct vm_memory memory = {
        .static_min = values[0],
        .static_max = values[1],
        .dynamic_min = values[2],
        .dynamic_max = values[3],
    };
    vm_memory_complete(&memory);
    return vm_memory_check(&memory);
}

/* VM.set_memory_limits(vm, static_min, static_max, dynamic_min,
 * dynamic_max). */
static struct np_error *
vm_set_memory_limits(struct api_call *call, struct json_object **result,
                     bool *deferred)
{
    struct vm_memory memory;
    struct np_error *error;
    const char *uuid;

    if ((error = api_expect_args(call, 5))
        || (error = api_arg_string(call, 0, "self", &uuid))
        || (error = int_arg(call, 1, "static_min", &memory.static_min))
        || (error = int_arg(call, 2, "static_max", &memory.static_max))
        || (error = int_arg(call, 3, "dynamic_min", &memory.dynamic_min))
        || (error = int_arg(call, 4, "dynamic_max", &memory.dynamic_max))) {
        return error;
    }
    return write_memory(call, uuid, &memory);
}

/* VM.set_memory(vm, value). */
static struct np_error *
vm_set_memory_all(struct api_call *call, struct json_object **result,
                  bool *deferred)
{
    struct json_object *vm, *static_min;
    struct np_error *error;
    const char *uuid;
    int64_t value;

    if ((error = api_expect_args(call, 2))
        || (error = api_arg_ref(call, 0, "VM", "self", &uuid, &vm))) {
        return error;
    }
    error = int_arg(call, 1, "value", &value);
    struct vm_memory memory = {
        .static_min =
            json_object_object_get_ex(vm, "memory_static_min", &static_min)
                ? json_object_get_int64(static_min)
                : 0,
        .static_max = value,
        .dynamic_min = value,
        .dynamic_max = value,
    };
    if (!error) {
        error = write_memory(call, uuid, &memory);
    }
    json_object_put(vm);
    return error;
}

/* Argument 'i' of 'call', an integer named 'name', into '*value'. */
static struct np_error *
int_arg(const struct api_call *call, size_t i, const char *name,
        int64_t *value)
{
    struct json_object *arg = json_object_array_get_idx(call->args, i);

    if (!arg) {
        return np_error_new(ERR_MISSING_PARAMETER, name, NULL);
    }
    if (!json_object_is_type(arg, json_type_int)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, name, NULL);
    }
    *value = json_object_get_int64(arg);
    return NULL;
}

/* Checks 'memory' as one change and writes its four settings to VM 'uuid'
 * in one transaction; nothing is written when it is refused. */
static struct np_error *
write_memory(struct api_call *call, const char *uuid,
             const struct vm_memory *memory)
{
    struct store *store = call->api->store;
    struct np_error *error;

    if (!store_exists(store, "VM", uuid)) {
        return np_error_new(ERR_HANDLE_INVALID, "VM", uuid, NULL);
    }
    if ((error = vm_memory_check(memory))) {
        return error;
    }
    /* A protected VM's new need must leave the HA plan whole. */
    struct json_object *vm = store_get(store, "VM", uuid);
    error = api_ha_check_change(call->api, uuid, vm, NULL, memory->static_max);
    json_object_put(vm);
    if (error) {
        return error;
    }
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "memory_static_min",
                           json_object_new_int64(memory->static_min));
    json_object_object_add(changes, "memory_static_max",
                           json_object_new_int64(memory->static_max));
    json_object_object_add(changes, "memory_dynamic_min",
                           json_object_new_int64(memory->dynamic_min));
    json_object_object_add(changes, "memory_dynamic_max",
                           json_object_new_int64(memory->dynamic_max));
    /* One update of the record: the four settings land together. */
    int retval = store_update(store, "VM", uuid, changes);
    json_object_put(changes);
    return retval ? api_store_error(retval, "VM", uuid) : NULL;
}
