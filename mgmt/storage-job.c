/*
 * Storage jobs: the images a VDI or VM method makes (qemu-img create,
 * clone, convert), made beside the event loop, never inside a store
 * transaction.
 *
 * A method plans its images first (api_storage_plan_*(): every check, no
 * file), then runs the plan as a job with a task: each image is written by
 * a qemu-img child as PATH.part, its progress (qemu-img -p) on the task,
 * and renamed to PATH once whole; then one transaction writes the objects
 * (the method's own, the VDIs, the VBDs), ends the operation on the source
 * VM and finishes the task.  On any failure every image of the job goes
 * and the task fails.  The task's other_config names the job's images
 * (storage_files) and its source VM (storage_vm), so that a netpoold
 * killed in the middle rolls the job back at its next start
 * (api_storage_recover_task()): no image is left without its VDI, and the
 * task says it failed.
 */
#include "mgmt/api-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/child.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"
#include "storage/storage.h"

#define LOG_MODULE "storage"

/* A job in flight. */
struct storage_job {
    struct api *api;                /* Owner. */
    char task[UUID_LENGTH + 1];     /* Its task. */
    char user[UUID_LENGTH + 1];     /* Who asked: the author of its writes. */
    struct json_object *disks;      /* The plan (see api_storage_plan_*()). */
    size_t next;                    /* Next image to make. */
    struct child *child;            /* qemu-img making it, or NULL. */
    struct storage_file_op *rename; /* Renaming it on an NFS SR, or
                                     * NULL. */
    char busy_vm[UUID_LENGTH + 1];  /* VM busy with the job, or "". */
    api_job_commit *commit;         /* The method's own writes, or NULL. */
    struct json_object *arg;        /* Their argument. */
    struct storage_job *next_job;   /* In api->jobs. */
};

static void run_next(struct storage_job *);
static void on_progress(void *job_, const char *line);
static void on_made(void *job_, const struct child_exit *);
static void on_renamed(void *job_, int status, const char *error);
static void finish(struct storage_job *, const struct np_error *);
static struct np_error *commit_job(struct storage_job *,
                                   struct json_object **result);
static void remove_images(struct api *, struct json_object *disks);
static void remove_file(struct api *, const char *path);
static int end_vm_operation(struct store *, const char *vm, const char *task);
static const char *sr_location(struct store *, const char *sr, char *buf,
                               size_t size);
static struct np_error *check_lun_sr(struct store *, const char *sr);
static struct json_object *plan_disk(const char *uuid, const char *path,
                                     struct json_object *record,
                                     const char *const argv[]);

struct np_error *
api_storage_plan_create(struct store *store, struct json_object *input,
                        struct json_object *disks)
{
    char location[600];
    const char *sr = record_string(input, "SR");
    struct np_error *error = check_lun_sr(store, sr);

    if (error) {
        return error;
    }
    if (!sr_location(store, sr, location, sizeof location)) {
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
    char *part = xasprintf("%s.part", path);
    char bytes[32];
    snprintf(bytes, sizeof bytes, "%lld", (long long) size);
    struct json_object *record = json_object_new_object();
    json_object_object_foreach (input, key, value) {
        json_object_object_add(record, key, json_object_get(value));
    }
    json_object_object_add(record, "format", json_object_new_string(format));
    const char *argv[] = {"qemu-img", "create", "-q",  "-f",
                          format,     part,     bytes, NULL};
    json_object_array_add(disks, plan_disk(uuid, path, record, argv));
    json_object_put(record);
    free(part);
    free(path);
    return NULL;
}

struct np_error *
api_storage_plan_copy(struct store *store, const char *vdi, const char *sr,
                      struct json_object *disks)
{
    struct json_object *source = store_get(store, "VDI", vdi);
    char location[600];

    if (!source) {
        return np_error_new(ERR_HANDLE_INVALID, "VDI", vdi, NULL);
    }
    const char *target_sr = sr ? sr : record_string(source, "SR");
    struct np_error *lun_error = check_lun_sr(store, target_sr);
    if (lun_error) {
        json_object_put(source);
        return lun_error;
    }
    if (!sr_location(store, target_sr, location, sizeof location)) {
        struct np_error *error =
            np_error_new(ERR_HANDLE_INVALID, "SR", target_sr, NULL);
        json_object_put(source);
        return error;
    }
    const char *from = record_string(source, "location");
    const char *format = record_string(source, "format");
    if (!storage_location_is_nfs(from) && !storage_location_is_iscsi(from)
        && access(from, R_OK)) {
        struct np_error *error =
            np_error_new(ERR_VDI_MISSING, vdi, from, NULL);
        json_object_put(source);
        return error;
    }

    char uuid[UUID_LENGTH + 1];
    uuid_text_random(uuid);
    const char *new_format = sr ? format : "qcow2";
    char *path = xasprintf("%s/%s.%s", location, uuid, new_format);
    char *part = xasprintf("%s.part", path);
    static const char *const copied[] = {
        "name_label", "name_description", "virtual_size",
        "read_only",  "other_config",
    };
    struct json_object *record = json_object_new_object();
    for (size_t i = 0; i < sizeof copied / sizeof *copied; i++) {
        struct json_object *value = json_object_object_get(source, copied[i]);
        if (value) {
            json_object_object_add(record, copied[i], json_object_get(value));
        }
    }
    json_object_object_add(record, "SR", json_object_new_string(target_sr));
    json_object_object_add(record, "format",
                           json_object_new_string(new_format));
    json_object_object_add(record, "parent",
                           json_object_new_string(sr ? "" : vdi));
    if (sr) {
        /* A full copy: its progress shows. */
        const char *argv[] = {"qemu-img", "convert",  "-p", "-f", format,
                              "-O",       new_format, from, part, NULL};
        json_object_array_add(disks, plan_disk(uuid, path, record, argv));
    } else {
        const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F",
                              format,     "-b",     from, part, NULL};
        json_object_array_add(disks, plan_disk(uuid, path, record, argv));
    }
    json_object_put(record);
    json_object_put(source);
    free(part);
    free(path);
    return NULL;
}

struct np_error *
api_storage_plan_vm_disks(struct store *store, const char *source,
                          const char *target, const char *copy_sr,
                          struct json_object *disks)
{
    struct json_object *key = json_object_new_string(source);
    struct json_object *vbds = store_find(store, "VBD", "VM", key);
    struct np_error *error = NULL;

    json_object_put(key);
    for (size_t i = 0; !error && i < json_object_array_length(vbds); i++) {
        struct json_object *vbd = store_get(
            store, "VBD",
            json_object_get_string(json_object_array_get_idx(vbds, i)));
        const char *from = record_string(vbd, "VDI");
        const char *sr = copy_sr;
        struct json_object *source_vdi = NULL;
        if (sr && !*sr) {
            source_vdi = store_get(store, "VDI", from);
            sr = record_string(source_vdi, "SR");
        }
        size_t before = json_object_array_length(disks);
        error = api_storage_plan_copy(store, from, sr, disks);
        json_object_put(source_vdi);
        if (!error && json_object_array_length(disks) > before) {
            struct json_object *disk =
                json_object_array_get_idx(disks, before);
            struct json_object *copy = json_object_new_object();
            json_object_object_foreach (vbd, k, value) {
                if (strcmp(k, "uuid") && strcmp(k, "currently_attached")) {
                    json_object_object_add(copy, k, json_object_get(value));
                }
            }
            json_object_object_add(copy, "VM", json_object_new_string(target));
            json_object_object_add(
                copy, "VDI",
                json_object_get(json_object_object_get(disk, "uuid")));
            json_object_object_add(disk, "vbd", copy);
        }
        json_object_put(vbd);
    }
    json_object_put(vbds);
    return error;
}

struct np_error *
api_storage_job(struct api_call *call, const char *label,
                struct json_object *disks, const char *busy_vm,
                const char *busy_op, api_job_commit *commit,
                struct json_object *arg, bool *deferred)
{
    struct api *api = call->api;
    struct store *store = api->store;
    char task[UUID_LENGTH + 1];
    bool transient = !*call->task;

    if (*call->task) {
        snprintf(task, sizeof task, "%s", call->task);
    } else {
        int retval =
            store_task_create(store, label, api->host_uuid, call->user, task);
        if (retval) {
            json_object_put(disks);
            json_object_put(arg);
            return api_store_error(retval, "task", "");
        }
    }

    /* What a restart needs to roll the job back, before any file. */
    struct json_object *paths = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(disks); i++) {
        json_object_array_add(
            paths, json_object_get(json_object_object_get(
                       json_object_array_get_idx(disks, i), "path")));
    }
    int retval = store_begin(store);
    if (!retval) {
        retval = store_task_note(
            store, task, "storage_files",
            json_object_to_json_string_ext(paths, JSON_C_TO_STRING_PLAIN));
    }
    if (!retval && busy_vm) {
        retval = store_task_note(store, task, "storage_vm", busy_vm);
    }
    if (!retval && busy_vm) {
        struct json_object *vm = store_get(store, "VM", busy_vm);
        struct json_object *ops = json_object_new_object();
        json_object_object_add(ops, task, json_object_new_string(busy_op));
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "current_operations", ops);
        retval = vm ? store_update(store, "VM", busy_vm, changes) : ENOENT;
        json_object_put(changes);
        json_object_put(vm);
    }
    if (!retval) {
        retval = store_commit(store);
    } else {
        store_rollback(store);
    }
    json_object_put(paths);
    if (retval) {
        if (transient) {
            store_delete(store, "task", task);
        }
        json_object_put(disks);
        json_object_put(arg);
        return api_store_error(retval, "VM", busy_vm ? busy_vm : "");
    }

    struct storage_job *job = xzalloc(sizeof *job);
    job->api = api;
    snprintf(job->task, sizeof job->task, "%s", task);
    snprintf(job->user, sizeof job->user, "%s", call->user);
    snprintf(job->busy_vm, sizeof job->busy_vm, "%s", busy_vm ? busy_vm : "");
    job->disks = disks;
    job->commit = commit;
    job->arg = arg;
    job->next_job = api->jobs;
    api->jobs = job;
    api_task_wait(call, task, transient, deferred);
    run_next(job);
    return NULL;
}

void
api_storage_jobs_stop(struct api *api)
{
    while (api->jobs) {
        struct storage_job *job = api->jobs;
        api->jobs = job->next_job;
        /* Its task stays pending: the next start rolls it back. */
        child_stop(job->child);
        storage_file_cancel(job->rename);
        json_object_put(job->disks);
        json_object_put(job->arg);
        free(job);
    }
}

bool
api_storage_recover_task(struct api *api, const char *task,
                         struct json_object *record)
{
    struct json_object *config =
        json_object_object_get(record, "other_config");
    const char *files = record_string(config, "storage_files");
    struct store *store = api->store;

    if (!*files) {
        return false;
    }
    struct json_object *paths = json_tokener_parse(files);
    for (size_t i = 0; i < json_object_array_length(paths); i++) {
        const char *path =
            json_object_get_string(json_object_array_get_idx(paths, i));
        struct json_object *key = json_object_new_string(path);
        struct json_object *owners = store_find(store, "VDI", "location", key);
        char *part = xasprintf("%s.part", path);
        json_object_put(key);
        if (!json_object_array_length(owners)
            && storage_location_is_nfs(path)) {
            log_warn("task %s: removing %s, left by a job cut short", task,
                     path);
            remove_file(api, path);
            remove_file(api, part);
        } else if (!json_object_array_length(owners)) {
            if (!unlink(path) || !unlink(part)) {
                log_warn("task %s: removed %s, left by a job cut short", task,
                         path);
            }
            unlink(part);
        }
        free(part);
        json_object_put(owners);
    }
    json_object_put(paths);
    const char *vm = record_string(config, "storage_vm");
    if (*vm) {
        end_vm_operation(store, vm, task);
    }
    struct np_error *error = np_error_new(
        ERR_SR_BACKEND_FAILURE, record_string(record, "name_label"),
        "netpoold stopped before the job finished", NULL);
    store_task_note(store, task, "recovery", "rolled back");
    store_task_finish(store, task, NULL, error);
    np_error_destroy(error);
    log_warn("task %s (%s) was making images when netpoold stopped: rolled "
             "back",
             task, record_string(record, "name_label"));
    return true;
}

/* Steps. */

/* Makes the next image, or commits once all are made. */
static void
run_next(struct storage_job *job)
{
    struct json_object *disks = job->disks;

    if (job->next >= json_object_array_length(disks)) {
        struct json_object *result = NULL;
        struct store *store = job->api->store;
        store_push_actor(store, *job->user ? job->user : "root");
        /* A job that commits is freed. */
        struct np_error *error = commit_job(job, &result);
        store_pop_actor(store);
        if (error) {
            finish(job, error);
            np_error_destroy(error);
        }
        json_object_put(result);
        return;
    }

    struct json_object *disk = json_object_array_get_idx(disks, job->next);
    struct json_object *args = json_object_object_get(disk, "argv");
    size_t n = json_object_array_length(args);
    const char **argv = xzalloc((n + 1) * sizeof *argv);
    for (size_t i = 0; i < n; i++) {
        argv[i] = json_object_get_string(json_object_array_get_idx(args, i));
    }
    char *part = xasprintf("%s.part", record_string(disk, "path"));
    if (!storage_location_is_nfs(part)) {
        unlink(part); /* qemu-img replaces one on an NFS SR. */
    }
    free(part);
    struct child_options options = {.stderr_too = true,
                                    .on_line = on_progress};
    int error =
        child_start(job->api->base, argv, &options, on_made, job, &job->child);
    free(argv);
    if (error) {
        struct np_error *e = np_error_new(ERR_SR_BACKEND_FAILURE, "qemu-img",
                                          strerror(error), NULL);
        finish(job, e);
        np_error_destroy(e);
    }
}

/* A line of qemu-img -p: "    (12.34/100%)". */
static void
on_progress(void *job_, const char *line)
{
    struct storage_job *job = job_;
    double percent;

    if (sscanf(line, " (%lf/100%%)", &percent) == 1) {
        size_t n = json_object_array_length(job->disks);
        double done = (job->next + percent / 100.0) / (n ? n : 1);
        store_push_actor(job->api->store, "system:storage");
        store_task_set_progress(job->api->store, job->task, done * 0.99);
        store_pop_actor(job->api->store);
    }
}

static void
on_made(void *job_, const struct child_exit *end)
{
    struct storage_job *job = job_;
    struct json_object *disk =
        json_object_array_get_idx(job->disks, job->next);
    const char *path = record_string(disk, "path");
    char *part = xasprintf("%s.part", path);

    job->child = NULL;
    if (!end->complete || end->status) {
        char first[256];
        const char *text = end->output;
        /* Its message, not its progress. */
        while (*text == ' ' || *text == '(' || *text == '\r'
               || *text == '\n') {
            text += strcspn(text, "\r\n");
            text += strspn(text, "\r\n");
            if (*text != ' ' && *text != '(') {
                break;
            }
        }
        snprintf(first, sizeof first, "%.*s", (int) strcspn(text, "\r\n"),
                 text);
        struct np_error *error =
            np_error_new(ERR_SR_BACKEND_FAILURE,
                         json_object_get_string(json_object_array_get_idx(
                             json_object_object_get(disk, "argv"), 1)),
                         *first ? first : "qemu-img failed", NULL);
        free(part);
        finish(job, error);
        np_error_destroy(error);
        return;
    }
    if (storage_location_is_nfs(path)) {
        int error = 0;
        job->rename = storage_file_start(job->api->files, part, path,
                                         on_renamed, job, &error);
        free(part);
        if (!job->rename) {
            on_renamed(job, error, NULL);
        }
        return;
    }
    if (rename(part, path)) {
        struct np_error *error = np_error_new(ERR_SR_BACKEND_FAILURE, "rename",
                                              strerror(errno), NULL);
        free(part);
        finish(job, error);
        np_error_destroy(error);
        return;
    }
    free(part);
    job->next++;
    run_next(job);
}

/* The image made on an NFS SR has its name ('status' 0), or not. */
static void
on_renamed(void *job_, int status, const char *error)
{
    struct storage_job *job = job_;

    job->rename = NULL;
    if (status) {
        struct np_error *e =
            np_error_new(ERR_SR_BACKEND_FAILURE, "rename",
                         error ? error : strerror(status), NULL);
        finish(job, e);
        np_error_destroy(e);
        return;
    }
    job->next++;
    run_next(job);
}

/* One transaction: the method's objects, the VDIs and VBDs, the end of the
 * operation on the source VM, the task's success.  Sets '*result'. */
static struct np_error *
commit_job(struct storage_job *job, struct json_object **result)
{
    struct store *store = job->api->store;
    struct np_error *error = NULL;
    int retval = store_begin(store);

    if (retval) {
        return api_store_error(retval, "VDI", "");
    }
    if (job->commit) {
        error = job->commit(job->api, job->arg, result);
    }
    for (size_t i = 0; !error && i < json_object_array_length(job->disks);
         i++) {
        struct json_object *disk = json_object_array_get_idx(job->disks, i);
        const char *uuid = record_string(disk, "uuid");
        retval = store_insert(store, "VDI", uuid,
                              json_object_object_get(disk, "record"));
        struct json_object *vbd = json_object_object_get(disk, "vbd");
        if (!retval && vbd) {
            char vbd_uuid[UUID_LENGTH + 1];
            uuid_text_random(vbd_uuid);
            retval = store_insert(store, "VBD", vbd_uuid, vbd);
        }
        if (retval) {
            error = api_store_error(retval, "VDI", uuid);
        }
        if (!error && !*result && !job->commit) {
            *result = json_object_new_string(uuid);
        }
    }
    if (!error && *job->busy_vm) {
        retval = end_vm_operation(store, job->busy_vm, job->task);
        error = retval ? api_store_error(retval, "VM", job->busy_vm) : NULL;
    }
    if (!error) {
        retval = store_task_finish(store, job->task, *result, NULL);
        error = retval ? api_store_error(retval, "task", job->task) : NULL;
    }
    if (error) {
        store_rollback(store);
        return error;
    }
    retval = store_commit(store);
    if (retval) {
        return api_store_error(retval, "VDI", "");
    }
    /* Done: forget the job. */
    for (struct storage_job **p = &job->api->jobs; *p; p = &(*p)->next_job) {
        if (*p == job) {
            *p = job->next_job;
            break;
        }
    }
    json_object_put(job->disks);
    json_object_put(job->arg);
    free(job);
    return NULL;
}

/* The job failed with 'error': its images go, the source VM is free, the
 * task fails. */
static void
finish(struct storage_job *job, const struct np_error *error)
{
    struct store *store = job->api->store;
    char *text = np_error_to_string(error);

    log_warn("task %s: %s", job->task, text);
    free(text);
    remove_images(job->api, job->disks);
    store_push_actor(store, *job->user ? job->user : "root");
    store_begin(store);
    if (*job->busy_vm) {
        end_vm_operation(store, job->busy_vm, job->task);
    }
    store_task_finish(store, job->task, NULL, error);
    store_commit(store);
    store_pop_actor(store);
    for (struct storage_job **p = &job->api->jobs; *p; p = &(*p)->next_job) {
        if (*p == job) {
            *p = job->next_job;
            break;
        }
    }
    child_stop(job->child);
    storage_file_cancel(job->rename);
    json_object_put(job->disks);
    json_object_put(job->arg);
    free(job);
}

/* Helpers. */

static void
remove_images(struct api *api, struct json_object *disks)
{
    for (size_t i = 0; i < json_object_array_length(disks); i++) {
        const char *path =
            record_string(json_object_array_get_idx(disks, i), "path");
        char *part = xasprintf("%s.part", path);
        remove_file(api, path);
        remove_file(api, part);
        free(part);
    }
}

/* Removes the image 'path' (a file, or an nfs:// URL: then in the
 * background), if it is there. */
static void
remove_file(struct api *api, const char *path)
{
    if (storage_location_is_nfs(path)) {
        int error;
        storage_file_start(api->files, path, NULL, NULL, NULL, &error);
    } else {
        unlink(path);
    }
}

/* Removes task 'task' from VM 'vm''s current_operations. */
static int
end_vm_operation(struct store *store, const char *vm, const char *task)
{
    struct json_object *record = store_get(store, "VM", vm);
    struct json_object *ops = json_object_new_object();

    if (!record) {
        json_object_put(ops);
        return 0; /* Gone meanwhile. */
    }
    json_object_object_foreach (
        json_object_object_get(record, "current_operations"), key, value) {
        if (strcmp(key, task)) {
            json_object_object_add(ops, key, json_object_get(value));
        }
    }
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "current_operations", ops);
    int retval = store_update(store, "VM", vm, changes);
    json_object_put(changes);
    json_object_put(record);
    return retval;
}

/* Writes SR 'sr''s directory into 'buf'; returns it, or NULL if there is no
 * such SR. */
static const char *
sr_location(struct store *store, const char *sr, char *buf, size_t size)
{
    struct json_object *record = store_get(store, "SR", sr);
    struct json_object *config =
        json_object_object_get(record, "device_config");
    struct storage_nfs_config nfs;

    if (!record) {
        return NULL;
    }
    if (!strcmp(record_string(record, "type"), "nfs")) {
        /* An NFS SR's images are URLs that QEMU opens as they are. */
        struct np_error *error = storage_nfs_check_config(config, &nfs);
        char *url = error ? xstrdup("") : storage_nfs_url(&nfs, "");
        snprintf(buf, size, "%s", url);
        free(url);
        np_error_destroy(error);
    } else {
        snprintf(buf, size, "%s", record_string(config, "location"));
    }
    json_object_put(record);
    return buf;
}

/* SR_OPERATION_NOT_SUPPORTED(sr) if 'sr' is an iSCSI SR, whose VDIs are
 * the LUNs of its target: no image is made on it. */
static struct np_error *
check_lun_sr(struct store *store, const char *sr)
{
    struct json_object *record = store_get(store, "SR", sr);
    bool iscsi = !strcmp(record_string(record, "type"), "iscsi");

    json_object_put(record);
    return iscsi ? np_error_new(ERR_SR_OPERATION_NOT_SUPPORTED, sr, NULL)
                 : NULL;
}

/* One planned image: its VDI's UUID, its final path, its VDI record
 * (location set) and the qemu-img command that writes PATH.part. */
static struct json_object *
plan_disk(const char *uuid, const char *path, struct json_object *record,
          const char *const argv[])
{
    struct json_object *disk = json_object_new_object();
    struct json_object *copy = NULL;
    struct json_object *args = json_object_new_array();

    json_object_deep_copy(record, &copy, NULL);
    json_object_object_add(copy, "location", json_object_new_string(path));
    for (size_t i = 0; argv[i]; i++) {
        json_object_array_add(args, json_object_new_string(argv[i]));
    }
    json_object_object_add(disk, "uuid", json_object_new_string(uuid));
    json_object_object_add(disk, "path", json_object_new_string(path));
    json_object_object_add(disk, "record", copy);
    json_object_object_add(disk, "argv", args);
    return disk;
}
