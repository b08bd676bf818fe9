/*
 * Local storage: SR, VDI and VBD.
 *
 * A local SR is a directory (type "dir", device_config:location).  A VDI
 * is one image file in it, "<SR>/<VDI uuid>.<format>", made by qemu-img:
 * qcow2 (the default) or raw.  VDI.clone makes a copy-on-write qcow2
 * overlay whose backing file is the source (the new VDI's parent); VDI.copy
 * makes a full, independent copy, into the same or another SR.  A VBD
 * plugs a VDI into a halted VM at a userdevice (0–15, one VDI per
 * userdevice); the qemu backend attaches the VM's VBDs as virtio-blk disks
 * in userdevice order (api_storage_attach_disks()).
 *
 * Every call checks before it touches a file, writes its record in one
 * store transaction, and removes a file it made if the record cannot be
 * written: no image without its VDI, no VDI without its image.  qemu-img
 * runs as a child and the loop waits for it: creating an image takes
 * milliseconds, but copying a large one blocks netpoold for as long.
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
#include "vm/vm.h"

#define LOG_MODULE "storage"

static api_method sr_create, sr_destroy;
static api_method vdi_create, vdi_destroy, vdi_clone, vdi_copy;
static api_method vbd_create, vbd_destroy;
static struct np_error *check_halted(struct store *, const char *vm);
static const char *sr_location(struct store *, const char *sr);
static struct np_error *run_qemu_img(const char *const argv[]);
static struct np_error *insert_vdi(struct store *, const char *uuid,
                                   struct json_object *record,
                                   const char *path);
static int mkdirs(const char *path);
static int compare_disks(const void *a, const void *b);

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
 * device_config:location (made if missing). */
static struct np_error *
sr_create(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct store *store = call->api->store;
    struct json_object *config;
    const char *label, *type;
    struct np_error *error;

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
    const char *sr = record_string(input, "SR");
    const char *location = sr_location(store, sr);
    if (!location) {
        return np_error_new(ERR_HANDLE_INVALID, "SR", sr, NULL);
    }
    int64_t size =
        json_object_get_int64(json_object_object_get(input, "virtual_size"));
    if (size < 1) {
        return np_error_newf(ERR_INVALID_VALUE, "virtual_size", "%lld",
                             (long long) size);
    }
    const char *format = record_string(input, "format");
    if (!*format) {
        format = "qcow2";
    }

    char uuid[UUID_LENGTH + 1];
    uuid_text_random(uuid);
    char *path = xasprintf("%s/%s.%s", location, uuid, format);
    char bytes[32];
    snprintf(bytes, sizeof bytes, "%lld", (long long) size);
    const char *argv[] = {"qemu-img", "create", "-q",  "-f",
                          format,     path,     bytes, NULL};
    error = run_qemu_img(argv);
    if (!error) {
        struct json_object *record = json_object_new_object();
        json_object_object_foreach (input, key, value) {
            json_object_object_add(record, key, json_object_get(value));
        }
        json_object_object_add(record, "format",
                               json_object_new_string(format));
        error = insert_vdi(store, uuid, record, path);
        json_object_put(record);
    }
    free(path);
    if (!error) {
        *result = json_object_new_string(uuid);
    }
    return error;
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
    if (json_object_array_length(vbds)) {
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
        if (retval) {
            error = api_store_error(retval, "VDI", uuid);
        } else if (unlink(record_string(record, "location"))
                   && errno != ENOENT) {
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
    char *clone = NULL;
    error = api_storage_clone_vdi(call->api->store, uuid, NULL, &clone);
    json_object_put(source);
    if (!error) {
        *result = json_object_new_string(clone);
    }
    free(clone);
    return error;
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
    char *copy = NULL;
    error = api_storage_clone_vdi(call->api->store, uuid, sr, &copy);
    json_object_put(source);
    if (!error) {
        *result = json_object_new_string(copy);
    }
    free(copy);
    return error;
}

struct np_error *
api_storage_clone_vdi(struct store *store, const char *vdi, const char *sr,
                      char **uuidp)
{
    struct json_object *source = store_get(store, "VDI", vdi);
    if (!source) {
        return np_error_new(ERR_HANDLE_INVALID, "VDI", vdi, NULL);
    }
    const char *target_sr = sr ? sr : record_string(source, "SR");
    const char *location = sr_location(store, target_sr);
    if (!location) {
        json_object_put(source);
        return np_error_new(ERR_HANDLE_INVALID, "SR", target_sr, NULL);
    }
    const char *from = record_string(source, "location");
    const char *format = record_string(source, "format");
    if (access(from, R_OK)) {
        struct np_error *error =
            np_error_new(ERR_VDI_MISSING, vdi, from, NULL);
        json_object_put(source);
        return error;
    }

    char uuid[UUID_LENGTH + 1];
    uuid_text_random(uuid);
    const char *new_format = sr ? format : "qcow2";
    char *path = xasprintf("%s/%s.%s", location, uuid, new_format);
    struct np_error *error;
    if (sr) {
        const char *argv[] = {"qemu-img", "convert",  "-q", "-f", format,
                              "-O",       new_format, from, path, NULL};
        error = run_qemu_img(argv);
    } else {
        const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F",
                              format,     "-b",     from, path, NULL};
        error = run_qemu_img(argv);
    }
    if (!error) {
        static const char *const copied[] = {
            "name_label", "name_description", "virtual_size",
            "read_only",  "other_config",
        };
        struct json_object *record = json_object_new_object();
        for (size_t i = 0; i < sizeof copied / sizeof *copied; i++) {
            struct json_object *value =
                json_object_object_get(source, copied[i]);
            if (value) {
                json_object_object_add(record, copied[i],
                                       json_object_get(value));
            }
        }
        json_object_object_add(record, "SR",
                               json_object_new_string(target_sr));
        json_object_object_add(record, "format",
                               json_object_new_string(new_format));
        json_object_object_add(record, "parent",
                               json_object_new_string(sr ? "" : vdi));
        error = insert_vdi(store, uuid, record, path);
        json_object_put(record);
    }
    free(path);
    json_object_put(source);
    if (!error) {
        *uuidp = xstrdup(uuid);
    }
    return error;
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

struct np_error *
api_storage_attach_disks(struct store *store, const char *vm,
                         struct vm_config *config)
{
    struct json_object *key = json_object_new_string(vm);
    struct json_object *vbds = store_find(store, "VBD", "VM", key);
    size_t n = json_object_array_length(vbds);
    struct np_error *error = NULL;

    json_object_put(key);
    free(config->disks);
    config->disks = xzalloc((n ? n : 1) * sizeof *config->disks);
    config->n_disks = 0;
    for (size_t i = 0; !error && i < n; i++) {
        struct json_object *vbd = store_get(
            store, "VBD",
            json_object_get_string(json_object_array_get_idx(vbds, i)));
        const char *vdi_uuid = record_string(vbd, "VDI");
        struct json_object *vdi = store_get(store, "VDI", vdi_uuid);
        const char *path = record_string(vdi, "location");
        if (!vdi) {
            error = np_error_new(ERR_HANDLE_INVALID, "VDI", vdi_uuid, NULL);
        } else if (access(path, R_OK)) {
            error = np_error_new(ERR_VDI_MISSING, vdi_uuid, path, NULL);
        } else {
            struct vm_disk *disk = &config->disks[config->n_disks++];
            disk->path = xstrdup(path);
            disk->format = xstrdup(record_string(vdi, "format"));
            disk->device = (int) json_object_get_int64(
                json_object_object_get(vbd, "userdevice"));
            disk->read_only = !strcmp(record_string(vbd, "mode"), "RO");
        }
        json_object_put(vdi);
        json_object_put(vbd);
    }
    json_object_put(vbds);
    if (config->n_disks > 1) {
        qsort(config->disks, config->n_disks, sizeof *config->disks,
              compare_disks);
    }
    return error;
}

static int
compare_disks(const void *a_, const void *b_)
{
    const struct vm_disk *a = a_, *b = b_;
    return a->device < b->device ? -1 : a->device > b->device;
}

struct np_error *
api_storage_clone_disks(struct store *store, const char *source,
                        const char *target, const char *copy_sr)
{
    struct json_object *key = json_object_new_string(source);
    struct json_object *vbds = store_find(store, "VBD", "VM", key);
    struct np_error *error = NULL;

    json_object_put(key);
    for (size_t i = 0; !error && i < json_object_array_length(vbds); i++) {
        struct json_object *vbd = store_get(
            store, "VBD",
            json_object_get_string(json_object_array_get_idx(vbds, i)));
        char *vdi = NULL;
        const char *from = record_string(vbd, "VDI");
        const char *sr = copy_sr;
        struct json_object *source_vdi = NULL;
        if (sr && !*sr) {
            source_vdi = store_get(store, "VDI", from);
            sr = record_string(source_vdi, "SR");
        }
        error = api_storage_clone_vdi(store, from, sr, &vdi);
        json_object_put(source_vdi);
        if (!error) {
            struct json_object *copy = json_object_new_object();
            json_object_object_foreach (vbd, k, value) {
                if (strcmp(k, "uuid") && strcmp(k, "currently_attached")) {
                    json_object_object_add(copy, k, json_object_get(value));
                }
            }
            json_object_object_add(copy, "VM", json_object_new_string(target));
            json_object_object_add(copy, "VDI", json_object_new_string(vdi));
            char uuid[UUID_LENGTH + 1];
            uuid_text_random(uuid);
            int retval = store_insert(store, "VBD", uuid, copy);
            error = retval ? api_store_error(retval, "VBD", uuid) : NULL;
            json_object_put(copy);
        }
        free(vdi);
        json_object_put(vbd);
    }
    json_object_put(vbds);
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

/* Returns the directory of SR 'sr' (static storage, valid until the next
 * call), or NULL if there is no such SR. */
static const char *
sr_location(struct store *store, const char *sr)
{
    static char location[600];
    struct json_object *record = store_get(store, "SR", sr);

    if (!record) {
        return NULL;
    }
    snprintf(location, sizeof location, "%s",
             record_string(json_object_object_get(record, "device_config"),
                           "location"));
    json_object_put(record);
    return location;
}

/* Runs qemu-img with 'argv' and waits.  Returns NULL, or
 * SR_BACKEND_FAILURE with the first line qemu-img wrote. */
static struct np_error *
run_qemu_img(const char *const argv[])
{
    int pipefd[2];

    if (pipe2(pipefd, O_CLOEXEC)) {
        return np_error_new(ERR_SR_BACKEND_FAILURE, "pipe", strerror(errno),
                            NULL);
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return np_error_new(ERR_SR_BACKEND_FAILURE, "fork", strerror(errno),
                            NULL);
    }
    if (!pid) {
        dup2(pipefd[1], STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        execvp(argv[0], (char *const *) argv);
        _exit(127);
    }
    close(pipefd[1]);
    char out[512];
    size_t len = 0;
    ssize_t n;
    while ((n = read(pipefd[0], out + len, sizeof out - 1 - len)) > 0) {
        len += (size_t) n;
        if (len == sizeof out - 1) {
            break;
        }
    }
    close(pipefd[0]);
    out[len] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        continue;
    }
    if (WIFEXITED(status) && !WEXITSTATUS(status)) {
        return NULL;
    }
    out[strcspn(out, "\n")] = '\0';
    return np_error_new(ERR_SR_BACKEND_FAILURE, argv[1],
                        *out ? out : "qemu-img failed", NULL);
}

/* Stores VDI 'uuid' ('record', borrowed, plus its location 'path'); on
 * failure removes the image at 'path'. */
static struct np_error *
insert_vdi(struct store *store, const char *uuid, struct json_object *record,
           const char *path)
{
    json_object_object_add(record, "location", json_object_new_string(path));
    int retval = store_insert(store, "VDI", uuid, record);
    if (retval) {
        unlink(path);
        return api_store_error(retval, "VDI", uuid);
    }
    return NULL;
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
