/*
 * Local storage: SR, VDI and VBD.
 *
 * A local SR is a directory (type "dir", device_config:location) of the
 * host that made it (device_config:host: a storage migration copies a
 * disk only into a directory SR of its destination).  A VDI
 * is one image file in it, "<SR>/<VDI uuid>.<format>", made by qemu-img:
 * qcow2 (the default) or raw.  VDI.clone makes a copy-on-write qcow2
 * overlay whose backing file is the source (the new VDI's parent); VDI.copy
 * makes a full, independent copy, into the same or another SR.  A VBD
 * plugs a VDI into a halted VM at a userdevice (0–15, one VDI per
 * userdevice); the qemu backend attaches the VM's VBDs as virtio-blk disks
 * in userdevice order (vm_config_add_disks()).
 *
 * Every call checks before it touches a file, writes its record in one
 * store transaction, and removes a file it made if the record cannot be
 * written: no image without its VDI, no VDI without its image.  The VDI
 * methods that make an image (create, clone, copy) run as storage jobs
 * (storage-job.c): qemu-img beside the event loop, then the record in one
 * transaction; the call answers once its task has finished, and the API
 * answers other calls while a large image copies.
 */
#include "mgmt/api-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"
#include "storage/storage.h"
#include "vm/vm.h"

#define LOG_MODULE "storage"

static api_method sr_create, sr_destroy;
static api_method vdi_create, vdi_destroy, vdi_clone, vdi_copy;
static api_method vbd_create, vbd_destroy;
static struct np_error *check_halted(struct store *, const char *vm);
static int mkdirs(const char *path);

api_method *
api_storage_method(const char *name)
{
    static const struct {
        const char *name;
        api_method *fn;
    } methods[] = {
        {"SR.create", sr_create},   {"SR.destroy", sr_destroy},
        {"VDI.create", vdi_create}, {"VDI.destroy", vdi_destroy},
        {"VDI.clone", vdi_clone},   {"VDI.copy", vdi_copy},
        {"VBD.create", vbd_create}, {"VBD.destroy", vbd_destroy},
    };
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (!strcmp(name, methods[i].name)) {
            return methods[i].fn;
        }
    }
    return NULL;
}

/* SR.create(device_config, name_label, type): a directory SR at
 * device_config:location (made if missing) of this host, which
 * device_config:host names. */
static struct np_error *
sr_create(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct store *store = call->api->store;
    struct json_object *config;
    const char *label, *type;
    struct np_error *error;

    if (json_object_array_length(call->args) != 3
        || !json_object_is_type(json_object_array_get_idx(call->args, 2),
                                json_type_string)
        || strcmp(
            json_object_get_string(json_object_array_get_idx(call->args, 2)),
            "dir")) {
        return api_sr_create(call, result, deferred); /* api-sr.c */
    }
    if ((error = api_expect_args(call, 3))
        || (error = api_arg_object(call, 0, "device_config", &config))
        || (error = api_arg_string(call, 1, "name_label", &label))
        || (error = api_arg_string(call, 2, "type", &type))) {
        return error;
    }
    if (strcmp(type, "dir")) {
        return np_error_new(ERR_SR_UNKNOWN_DRIVER, type, NULL);
    }
    const char *location = record_string(config, "location");
    if (*location != '/' || strstr(location, "/../")
        || strlen(location) > 512) {
        return np_error_new(ERR_INVALID_VALUE, "device_config:location",
                            location, NULL);
    }
    struct json_object *srs = store_get_all(store, "SR");
    json_object_object_foreach (srs, other, sr_record) {
        if (!strcmp(record_string(
                        json_object_object_get(sr_record, "device_config"),
                        "location"),
                    location)) {
            error = np_error_new(ERR_SR_DEVICE_IN_USE, location, other, NULL);
            break;
        }
    }
    json_object_put(srs);
    if (error) {
        return error;
    }
    struct stat st;
    if (mkdirs(location) || stat(location, &st) || !S_ISDIR(st.st_mode)
        || access(location, W_OK)) {
        return np_error_new(ERR_SR_BACKEND_FAILURE, location,
                            strerror(errno ? errno : ENOTDIR), NULL);
    }

    struct statvfs vfs;
    long long size = statvfs(location, &vfs)
                         ? 0
                         : (long long) vfs.f_blocks * (long long) vfs.f_frsize;
    struct json_object *record = json_object_new_object();
    json_object_object_add(record, "name_label",
                           json_object_new_string(label));
    json_object_object_add(record, "type", json_object_new_string("dir"));
    struct json_object *stored_config = json_object_new_object();
    json_object_object_add(stored_config, "location",
                           json_object_new_string(location));
    /* The host whose directory it is: the one that made it. */
    json_object_object_add(stored_config, "host",
                           json_object_new_string(call->api->host_uuid));
    json_object_object_add(record, "device_config", stored_config);
    json_object_object_add(record, "physical_size",
                           json_object_new_int64(size));
    char uuid[UUID_LENGTH + 1];
    uuid_text_random(uuid);
    int retval = store_insert(store, "SR", uuid, record);
    json_object_put(record);
    if (retval) {
        return api_store_error(retval, "SR", uuid);
    }
    *result = json_object_new_string(uuid);
    return NULL;
}

/* SR.destroy(sr): forgets an empty SR; its directory stays. */
static struct np_error *
sr_destroy(struct api_call *call, struct json_object **result, bool *deferred)
{
    const char *uuid;
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "SR", "SR", &uuid, &record))) {
        return error;
    }
    if (strcmp(record_string(record, "type"), "dir")) {
        error = api_sr_destroy(call, uuid, record); /* api-sr.c */
        json_object_put(record);
        if (!error) {
            *result = json_object_new_null();
        }
        return error;
    }
    struct json_object *vdis = json_object_object_get(record, "VDIs");
    if (json_object_array_length(vdis)) {
        error = np_error_new(ERR_SR_NOT_EMPTY, uuid, NULL);
    } else {
        int retval = store_delete(call->api->store, "SR", uuid);
        error = retval ? api_store_error(retval, "SR", uuid) : NULL;
    }
    json_object_put(record);
    if (!error) {
        *result = json_object_new_null();
    }
    return error;
}

/* VDI.create(record): an empty image of record.virtual_size bytes in
 * record.SR. */
static struct np_error *
vdi_create(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct store *store = call->api->store;
    struct json_object *input;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_object(call, 0, "record", &input))
        || (error = api_check_record(store_class_find("VDI", false), input,
                                     NULL))) {
        return error;
    }
    struct json_object *disks = json_object_new_array();
    error = api_storage_plan_create(store, input, disks);
    if (error) {
        json_object_put(disks);
        return error;
    }
    return api_storage_job(call, call->method, disks, NULL, NULL, NULL, NULL,
                           deferred);
}

/* VDI.destroy(vdi): removes a VDI no VBD uses and no clone is based on,
 * and its image. */
static struct np_error *
vdi_destroy(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct store *store = call->api->store;
    const char *uuid;
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "VDI", "VDI", &uuid, &record))) {
        return error;
    }
    struct json_object *vbds = json_object_object_get(record, "VBDs");
    struct json_object *key = json_object_new_string(uuid);
    struct json_object *children = store_find(store, "VDI", "parent", key);
    json_object_put(key);
    if (storage_location_is_iscsi(record_string(record, "location"))) {
        /* A LUN of its target: it goes with its SR. */
        error = np_error_new(ERR_SR_OPERATION_NOT_SUPPORTED,
                             record_string(record, "SR"), NULL);
    } else if (json_object_array_length(vbds)) {
        error = np_error_new(
            ERR_VDI_IN_USE, uuid,
            json_object_get_string(json_object_array_get_idx(vbds, 0)), NULL);
    } else if (json_object_array_length(children)) {
        error = np_error_new(
            ERR_VDI_IN_USE, uuid,
            json_object_get_string(json_object_array_get_idx(children, 0)),
            NULL);
    } else {
        int retval = store_delete(store, "VDI", uuid);
        const char *location = record_string(record, "location");
        int ignored;
        if (retval) {
            error = api_store_error(retval, "VDI", uuid);
        } else if (storage_location_is_nfs(location)) {
            /* On the server, in the background (it logs a failure). */
            storage_file_start(call->api->files, location, NULL, NULL, NULL,
                               &ignored);
        } else if (unlink(location) && errno != ENOENT) {
            log_warn("%s: cannot remove: %s",
                     record_string(record, "location"), strerror(errno));
        }
    }
    json_object_put(children);
    json_object_put(record);
    if (!error) {
        *result = json_object_new_null();
    }
    return error;
}

/* VDI.clone(vdi): a copy-on-write qcow2 overlay on 'vdi', in its SR. */
static struct np_error *
vdi_clone(struct api_call *call, struct json_object **result, bool *deferred)
{
    const char *uuid;
    struct json_object *source;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "VDI", "VDI", &uuid, &source))) {
        return error;
    }
    struct json_object *disks = json_object_new_array();
    error = api_storage_plan_copy(call->api->store, uuid, NULL, disks);
    json_object_put(source);
    if (error) {
        json_object_put(disks);
        return error;
    }
    return api_storage_job(call, call->method, disks, NULL, NULL, NULL, NULL,
                           deferred);
}

/* VDI.copy(vdi, sr): a full copy of 'vdi' into 'sr'. */
static struct np_error *
vdi_copy(struct api_call *call, struct json_object **result, bool *deferred)
{
    const char *uuid, *sr;
    struct json_object *source = NULL;
    struct np_error *error;

    if ((error = api_expect_args(call, 2))
        || (error = api_arg_ref(call, 0, "VDI", "VDI", &uuid, &source))
        || (error = api_arg_string(call, 1, "sr", &sr))) {
        json_object_put(source);
        return error;
    }
    struct json_object *disks = json_object_new_array();
    error = api_storage_plan_copy(call->api->store, uuid, sr, disks);
    json_object_put(source);
    if (error) {
        json_object_put(disks);
        return error;
    }
    return api_storage_job(call, call->method, disks, NULL, NULL, NULL, NULL,
                           deferred);
}

/* VBD.create(record): plugs record.VDI into halted VM record.VM at
 * record.userdevice. */
static struct np_error *
vbd_create(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct store *store = call->api->store;
    struct json_object *input;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_object(call, 0, "record", &input))
        || (error = api_check_record(store_class_find("VBD", false), input,
                                     NULL))) {
        return error;
    }
    const char *vm = record_string(input, "VM");
    const char *vdi = record_string(input, "VDI");
    struct json_object *vdi_record = store_get(store, "VDI", vdi);
    if (!store_exists(store, "VM", vm)) {
        error = np_error_new(ERR_HANDLE_INVALID, "VM", vm, NULL);
    } else if (!vdi_record) {
        error = np_error_new(ERR_HANDLE_INVALID, "VDI", vdi, NULL);
    } else if (!(error = check_halted(store, vm))) {
        const char *mode = record_string(input, "mode");
        struct json_object *read_only =
            json_object_object_get(vdi_record, "read_only");
        if (json_object_get_boolean(read_only) && strcmp(mode, "RO")) {
            error = np_error_new(ERR_VDI_READONLY, vdi, NULL);
        }
    }
    json_object_put(vdi_record);
    int64_t device =
        json_object_get_int64(json_object_object_get(input, "userdevice"));
    if (!error) {
        struct json_object *key = json_object_new_string(vm);
        struct json_object *vbds = store_find(store, "VBD", "VM", key);
        json_object_put(key);
        for (size_t i = 0; !error && i < json_object_array_length(vbds); i++) {
            struct json_object *other = store_get(
                store, "VBD",
                json_object_get_string(json_object_array_get_idx(vbds, i)));
            if (json_object_get_int64(
                    json_object_object_get(other, "userdevice"))
                == device) {
                error = np_error_newf(ERR_DEVICE_ALREADY_EXISTS, "userdevice",
                                      "%lld", (long long) device);
            }
            json_object_put(other);
        }
        json_object_put(vbds);
    }
    if (error) {
        return error;
    }
    char uuid[UUID_LENGTH + 1];
    uuid_text_random(uuid);
    int retval = store_insert(store, "VBD", uuid, input);
    if (retval) {
        return api_store_error(retval, "VBD", uuid);
    }
    *result = json_object_new_string(uuid);
    return NULL;
}

/* VBD.destroy(vbd): unplugs a VDI from a halted VM (the VDI stays). */
static struct np_error *
vbd_destroy(struct api_call *call, struct json_object **result, bool *deferred)
{
    const char *uuid;
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "VBD", "VBD", &uuid, &record))) {
        return error;
    }
    error = check_halted(call->api->store, record_string(record, "VM"));
    if (!error) {
        int retval = store_delete(call->api->store, "VBD", uuid);
        error = retval ? api_store_error(retval, "VBD", uuid) : NULL;
    }
    json_object_put(record);
    if (!error) {
        *result = json_object_new_null();
    }
    return error;
}

/* Helpers. */

/* VM_BAD_POWER_STATE(vm, Halted, state) unless VM 'vm' is halted. */
static struct np_error *
check_halted(struct store *store, const char *vm)
{
    struct json_object *record = store_get(store, "VM", vm);
    const char *state = record_string(record, "power_state");
    struct np_error *error =
        record && strcmp(state, "Halted")
            ? np_error_new(ERR_VM_BAD_POWER_STATE, vm, "Halted", state, NULL)
            : NULL;
    json_object_put(record);
    return error;
}

/* mkdir -p 'path' (0755).  Returns 0 or -1 with errno. */
static int
mkdirs(const char *path)
{
    char *copy = xstrdup(path);
    int retval = 0;

    for (char *p = copy + 1; !retval; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = '\0';
            if (mkdir(copy, 0755) && errno != EEXIST) {
                retval = -1;
            }
            *p = c;
            if (!c) {
                break;
            }
        }
    }
    free(copy);
    if (!retval) {
        errno = 0;
    }
    return retval;
}
