/*
 * Shared SRs and PBDs: SR.create of an NFS or iSCSI SR, SR.destroy of one,
 * and PBD.plug / PBD.unplug.
 *
 * SR.create(device_config, name_label, "nfs"[, shared]) first probes the
 * server from this host (storage/probe.c: the config, a PIF on the
 * server's subnet, the path MTU of a jumbo storage network, a mount, a
 * file made and removed), and answers with the probe's typed error having
 * stored nothing.  Then one transaction writes the SR and its PBDs: one
 * per host of the pool for a shared SR, else one for this host, each asked
 * to be attached; every host's PBD controller (storage/pbd.c) mounts its
 * own and reports what it sees.  An iSCSI SR also gets, in the same
 * transaction, a raw VDI for each disk LUN the probe found (the one of
 * device_config:SCSIid if given); SR.destroy forgets them with it.
 *
 * VDI.resize(vdi, size) grows a VDI of any SR with qemu-img beside the
 * loop, then records its new virtual_size.
 *
 * PBD.plug of this host's PBD probes the same way before it asks for the
 * attachment; of another host's, it only asks, and that host's controller
 * reports (PBD connected and error).  PBD.unplug refuses while a running
 * VM of the PBD's host has a disk on the SR.
 */
#include "mgmt/api-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/child.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"
#include "storage/storage.h"

#define LOG_MODULE "sr"

/* A call waiting for its probe. */
struct sr_probe_call {
    struct api_call *call;       /* The call. */
    struct storage_probe *probe; /* In flight. */
    char pbd[UUID_LENGTH + 1];   /* PBD.plug: the PBD; else "". */
    struct json_object *config;  /* SR.create: device_config. */
    char *label;                 /* SR.create: name_label. */
    char *type;                  /* SR.create: type. */
    bool shared;                 /* SR.create: shared. */
};

/* A VDI.resize waiting for qemu-img. */
struct resize_call {
    struct api_call *call;     /* The call. */
    struct child *child;       /* qemu-img resize. */
    char vdi[UUID_LENGTH + 1]; /* The VDI. */
    int64_t size;              /* Its new size. */
};

static api_method pbd_plug, pbd_unplug, vdi_resize;
static void on_resized(void *rc_, const struct child_exit *);
static void resize_abandoned(void *rc_, struct api_call *);
static void on_probed(void *pc_, struct np_error *error,
                      struct json_object *result);
static struct np_error *create_sr(struct sr_probe_call *,
                                  struct json_object *probed,
                                  struct json_object **result);
static struct np_error *same_device(struct store *, const char *type,
                                    struct json_object *device_config,
                                    struct json_object **configp,
                                    char **wherep);
static int insert_lun_vdis(struct store *, const char *sr,
                           struct json_object *config,
                           struct json_object *luns);
static struct np_error *set_attached(struct store *, const char *pbd,
                                     bool attached);
static struct np_error *check_unused(struct store *, const char *host,
                                     const char *sr, const char *pbd);
static void probe_abandoned(void *pc_, struct api_call *);
static void probe_call_free(struct sr_probe_call *);

api_method *
api_sr_method(const char *name)
{
    if (!strcmp(name, "PBD.plug")) {
        return pbd_plug;
    }
    if (!strcmp(name, "PBD.unplug")) {
        return pbd_unplug;
    }
    if (!strcmp(name, "VDI.resize")) {
        return vdi_resize;
    }
    return NULL;
}

struct np_error *
api_sr_create(struct api_call *call, struct json_object **result,
              bool *deferred)
{
    struct api *api = call->api;
    size_t n = json_object_array_length(call->args);
    struct json_object *config;
    const char *label, *type;
    struct np_error *error;
    bool shared = false;

    if (n != 3 && n != 4) {
        return api_expect_args(call, 3);
    }
    if ((error = api_arg_object(call, 0, "device_config", &config))
        || (error = api_arg_string(call, 1, "name_label", &label))
        || (error = api_arg_string(call, 2, "type", &type))) {
        return error;
    }
    if (n == 4) {
        struct json_object *value = json_object_array_get_idx(call->args, 3);
        if (!json_object_is_type(value, json_type_boolean)) {
            return np_error_new(ERR_FIELD_TYPE_ERROR, "shared", NULL);
        }
        shared = json_object_get_boolean(value);
    }
    if (strcmp(type, "nfs") && strcmp(type, "iscsi")) {
        return np_error_new(ERR_SR_UNKNOWN_DRIVER, type, NULL);
    }

    struct sr_probe_call *pc = xzalloc(sizeof *pc);
    pc->call = call;
    pc->type = xstrdup(type);
    pc->config = json_object_get(config);
    pc->label = xstrdup(label);
    pc->shared = shared;
    error = storage_probe_start(api->base, api->store, api->host_uuid, type,
                                config, on_probed, pc, &pc->probe);
    if (error) {
        probe_call_free(pc);
        return error;
    }
    call->abandoned = probe_abandoned;
    call->owner = pc;
    *deferred = true;
    *result = NULL;
    return NULL;
}

struct np_error *
api_sr_destroy(struct api_call *call, const char *sr,
               struct json_object *record)
{
    struct store *store = call->api->store;
    struct json_object *pbds = json_object_object_get(record, "PBDs");
    struct json_object *vdis = json_object_object_get(record, "VDIs");
    bool iscsi = !strcmp(record_string(record, "type"), "iscsi");
    struct np_error *error = NULL;

    /* An iSCSI SR's VDIs are its LUNs: they go with it unless in use. */
    for (size_t i = 0; iscsi && i < json_object_array_length(vdis); i++) {
        const char *vdi =
            json_object_get_string(json_object_array_get_idx(vdis, i));
        struct json_object *r = store_get(store, "VDI", vdi);
        struct json_object *vbds = json_object_object_get(r, "VBDs");
        if (!error && json_object_array_length(vbds)) {
            error = np_error_new(
                ERR_VDI_IN_USE, vdi,
                json_object_get_string(json_object_array_get_idx(vbds, 0)),
                NULL);
        }
        json_object_put(r);
    }
    if (error) {
        return error;
    }
    if (!iscsi && json_object_array_length(vdis)) {
        return np_error_new(ERR_SR_NOT_EMPTY, sr, NULL);
    }
    for (size_t i = 0; !error && i < json_object_array_length(pbds); i++) {
        const char *pbd =
            json_object_get_string(json_object_array_get_idx(pbds, i));
        struct json_object *r = store_get(store, "PBD", pbd);
        if (record_bool(r, "currently_attached")) {
            error = np_error_new(ERR_SR_HAS_PBD_PLUGGED, sr, pbd, NULL);
        }
        json_object_put(r);
    }
    if (error) {
        return error;
    }
    int retval = store_begin(store);
    for (size_t i = 0; !retval && i < json_object_array_length(pbds); i++) {
        retval = store_delete(
            store, "PBD",
            json_object_get_string(json_object_array_get_idx(pbds, i)));
    }
    for (size_t i = 0; !retval && iscsi && i < json_object_array_length(vdis);
         i++) {
        retval = store_delete(
            store, "VDI",
            json_object_get_string(json_object_array_get_idx(vdis, i)));
    }
    if (!retval) {
        retval = store_delete(store, "SR", sr);
    }
    if (retval) {
        store_rollback(store);
        return api_store_error(retval, "SR", sr);
    }
    retval = store_commit(store);
    return retval ? api_store_error(retval, "SR", sr) : NULL;
}

/* PBD.plug(pbd): asks for the attachment; this host's own PBD is probed
 * first. */
static struct np_error *
pbd_plug(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api *api = call->api;
    const char *uuid;
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "PBD", "PBD", &uuid, &record))) {
        return error;
    }
    struct json_object *sr =
        store_get(api->store, "SR", record_string(record, "SR"));
    if (record_bool(record, "currently_attached")) {
        error = np_error_new(ERR_DEVICE_ALREADY_ATTACHED, "PBD", uuid, NULL);
    } else if (strcmp(record_string(record, "host"), api->host_uuid)) {
        /* Another host's: its controller probes, and reports. */
        error = set_attached(api->store, uuid, true);
        if (!error) {
            *result = json_object_new_null();
        }
    } else {
        struct sr_probe_call *pc = xzalloc(sizeof *pc);
        pc->call = call;
        snprintf(pc->pbd, sizeof pc->pbd, "%s", uuid);
        error = storage_probe_start(
            api->base, api->store, api->host_uuid, record_string(sr, "type"),
            json_object_object_get(record, "device_config"), on_probed, pc,
            &pc->probe);
        if (error) {
            probe_call_free(pc);
        } else {
            call->abandoned = probe_abandoned;
            call->owner = pc;
            *deferred = true;
            *result = NULL;
        }
    }
    json_object_put(sr);
    json_object_put(record);
    return error;
}

/* PBD.unplug(pbd): the SR's attachment to the PBD's host ends. */
static struct np_error *
pbd_unplug(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct store *store = call->api->store;
    const char *uuid;
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "PBD", "PBD", &uuid, &record))) {
        return error;
    }
    if (!record_bool(record, "currently_attached")) {
        error = np_error_new(ERR_DEVICE_ALREADY_DETACHED, "PBD", uuid, NULL);
    } else if (!(error = check_unused(store, record_string(record, "host"),
                                      record_string(record, "SR"), uuid))) {
        error = set_attached(store, uuid, false);
    }
    json_object_put(record);
    if (!error) {
        *result = json_object_new_null();
    }
    return error;
}

/* VDI.resize(vdi, size): grows the VDI's image to 'size' bytes (a number,
 * or its decimal text as xapi's clients send it) while no running VM uses
 * it. */
static struct np_error *
vdi_resize(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api *api = call->api;
    const char *uuid;
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 2))
        || (error = api_arg_ref(call, 0, "VDI", "VDI", &uuid, &record))) {
        return error;
    }
    struct json_object *arg = json_object_array_get_idx(call->args, 1);
    const char *text = json_object_get_string(arg);
    char *end = NULL;
    long long size = json_object_is_type(arg, json_type_int)
                         ? (long long) json_object_get_int64(arg)
                         : strtoll(text, &end, 10);
    int64_t old = record_int(record, "virtual_size", 0);
    struct json_object *vbds = json_object_object_get(record, "VBDs");

    if (storage_location_is_iscsi(record_string(record, "location"))) {
        error = np_error_new(ERR_SR_OPERATION_NOT_SUPPORTED,
                             record_string(record, "SR"), NULL);
    } else if ((end && (*end || end == text)) || size <= 0) {
        error = np_error_new(ERR_INVALID_VALUE, "size", text, NULL);
    } else if (size < old) {
        /* Shrinking loses data: refused, as xapi does. */
        error = np_error_newf(ERR_INVALID_VALUE, "size", "%lld", size);
    }
    for (size_t i = 0; !error && i < json_object_array_length(vbds); i++) {
        struct json_object *vbd = store_get(
            api->store, "VBD",
            json_object_get_string(json_object_array_get_idx(vbds, i)));
        struct json_object *vm =
            store_get(api->store, "VM", record_string(vbd, "VM"));
        const char *state = record_string(vm, "power_state");
        if (*state && strcmp(state, "Halted")) {
            error = np_error_new(ERR_VDI_IN_USE, uuid,
                                 record_string(vbd, "VM"), NULL);
        }
        json_object_put(vm);
        json_object_put(vbd);
    }
    if (error) {
        json_object_put(record);
        return error;
    }

    char bytes[32];
    snprintf(bytes, sizeof bytes, "%lld", size);
    const char *argv[] = {"qemu-img",
                          "resize",
                          "-q",
                          "-f",
                          record_string(record, "format"),
                          record_string(record, "location"),
                          bytes,
                          NULL};
    struct resize_call *rc = xzalloc(sizeof *rc);
    rc->call = call;
    snprintf(rc->vdi, sizeof rc->vdi, "%s", uuid);
    rc->size = size;
    struct child_options options = {.stderr_too = true};
    int retval =
        child_start(api->base, argv, &options, on_resized, rc, &rc->child);
    json_object_put(record);
    if (retval) {
        free(rc);
        return np_error_new(ERR_SR_BACKEND_FAILURE, "qemu-img",
                            strerror(retval), NULL);
    }
    call->abandoned = resize_abandoned;
    call->owner = rc;
    *deferred = true;
    *result = NULL;
    return NULL;
}

static void
on_resized(void *rc_, const struct child_exit *end)
{
    struct resize_call *rc = rc_;
    struct api_call *call = rc->call;
    struct store *store = call->api->store;
    struct np_error *error = NULL;

    rc->child = NULL;
    call->abandoned = NULL;
    call->owner = NULL;
    if (!end->complete || end->status) {
        char first[256];
        snprintf(first, sizeof first, "%.*s",
                 (int) strcspn(end->output, "\r\n"), end->output);
        error = np_error_new(ERR_SR_BACKEND_FAILURE, "resize",
                             *first ? first : "qemu-img failed", NULL);
    } else {
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "virtual_size",
                               json_object_new_int64(rc->size));
        store_push_actor(store, *call->user ? call->user : "root");
        int retval = store_update(store, "VDI", rc->vdi, changes);
        store_pop_actor(store);
        json_object_put(changes);
        error = retval ? api_store_error(retval, "VDI", rc->vdi) : NULL;
    }
    free(rc);
    api_call_finish(call, error ? NULL : json_object_new_null(), error);
    np_error_destroy(error);
}

/* The client went away: qemu-img is stopped; the image may have grown,
 * its record keeps the old size. */
static void
resize_abandoned(void *rc_, struct api_call *call)
{
    struct resize_call *rc = rc_;

    child_stop(rc->child);
    free(rc);
}

/* The probe of a waiting call ended. */
static void
on_probed(void *pc_, struct np_error *error, struct json_object *probed)
{
    struct sr_probe_call *pc = pc_;
    struct api_call *call = pc->call;
    struct store *store = call->api->store;
    struct json_object *result = NULL;

    pc->probe = NULL;
    call->abandoned = NULL;
    call->owner = NULL;
    store_push_actor(store, *call->user ? call->user : "root");
    if (!error && *pc->pbd) {
        error = set_attached(store, pc->pbd, true);
        if (!error) {
            result = json_object_new_null();
        }
    } else if (!error) {
        error = create_sr(pc, probed, &result);
    }
    store_pop_actor(store);
    json_object_put(probed);
    probe_call_free(pc);
    api_call_finish(call, error ? NULL : result, error);
    np_error_destroy(error);
}

/* Writes the SR that 'pc' probed ('probed': what the probe saw) and its
 * PBDs (and, for iSCSI, a VDI per LUN found); sets '*result' to the SR's
 * UUID. */
static struct np_error *
create_sr(struct sr_probe_call *pc, struct json_object *probed,
          struct json_object **result)
{
    struct api *api = pc->call->api;
    struct store *store = api->store;
    struct np_error *error;
    struct json_object *config;
    char *where;

    if ((error = same_device(store, pc->type, pc->config, &config, &where))) {
        return error;
    }
    struct json_object *record = json_object_new_object();
    json_object_object_add(record, "name_label",
                           json_object_new_string(pc->label));
    json_object_object_add(record, "type", json_object_new_string(pc->type));
    json_object_object_add(record, "device_config", json_object_get(config));
    json_object_object_add(record, "shared",
                           json_object_new_boolean(pc->shared));
    json_object_object_add(
        record, "physical_size",
        json_object_get(json_object_object_get(probed, "physical_size")));
    json_object_object_add(record, "physical_utilisation",
                           json_object_get(json_object_object_get(
                               probed, "physical_utilisation")));
    char uuid[UUID_LENGTH + 1];
    uuid_text_random(uuid);

    struct json_object *hosts = store_get_all(store, "host");
    int retval = store_begin(store);
    if (!retval) {
        retval = store_insert(store, "SR", uuid, record);
    }
    json_object_object_foreach (hosts, host, host_record) {
        (void) host_record;
        if (retval || (!pc->shared && strcmp(host, api->host_uuid))) {
            continue;
        }
        struct json_object *pbd = json_object_new_object();
        json_object_object_add(pbd, "host", json_object_new_string(host));
        json_object_object_add(pbd, "SR", json_object_new_string(uuid));
        json_object_object_add(pbd, "device_config", json_object_get(config));
        json_object_object_add(pbd, "currently_attached",
                               json_object_new_boolean(true));
        char pbd_uuid[UUID_LENGTH + 1];
        uuid_text_random(pbd_uuid);
        retval = store_insert(store, "PBD", pbd_uuid, pbd);
        json_object_put(pbd);
    }
    if (!retval && !strcmp(pc->type, "iscsi")) {
        retval = insert_lun_vdis(store, uuid, config,
                                 json_object_object_get(probed, "LUNs"));
    }
    if (retval) {
        store_rollback(store);
    } else {
        retval = store_commit(store);
    }
    json_object_put(hosts);
    json_object_put(record);
    json_object_put(config);
    if (retval) {
        free(where);
        return api_store_error(retval, "SR", uuid);
    }
    log_info("SR %s: %s, %s", uuid, where,
             pc->shared ? "shared" : "this host only");
    free(where);
    *result = json_object_new_string(uuid);
    return NULL;
}

/* Checks 'device_config' of a new SR of 'type' ("nfs" or "iscsi") and that
 * no SR has the same folder or target (SR_DEVICE_IN_USE(where, SR)); an
 * iSCSI SR with a SCSIid and another with a different one may share a
 * target.  Sets '*configp' to the device_config to store and '*wherep' to
 * its text (new), or returns a typed error. */
static struct np_error *
same_device(struct store *store, const char *type,
            struct json_object *device_config, struct json_object **configp,
            char **wherep)
{
    bool iscsi = !strcmp(type, "iscsi");
    struct storage_nfs_config nfs;
    struct storage_iscsi_config target;
    struct np_error *error =
        iscsi ? storage_iscsi_check_config(device_config, &target)
              : storage_nfs_check_config(device_config, &nfs);

    if (error) {
        return error;
    }
    char *where =
        iscsi ? storage_iscsi_url(&target, 0) : storage_nfs_url(&nfs, "");
    if (iscsi) {
        /* iscsi://ADDRESS:PORT/IQN */
        where[strlen(where) - 2] = '\0';
    }
    struct json_object *srs = store_get_all(store, "SR");
    json_object_object_foreach (srs, other, other_record) {
        struct json_object *c =
            json_object_object_get(other_record, "device_config");
        struct storage_nfs_config o;
        struct storage_iscsi_config t;
        struct np_error *e = NULL;
        bool same = false;
        if (error || strcmp(record_string(other_record, "type"), type)) {
            continue;
        }
        if (iscsi) {
            same = !(e = storage_iscsi_check_config(c, &t))
                   && !strcmp(t.target, target.target) && t.port == target.port
                   && !strcmp(t.iqn, target.iqn)
                   && (!*t.scsi_id || !*target.scsi_id
                       || !strcmp(t.scsi_id, target.scsi_id));
        } else {
            same = !(e = storage_nfs_check_config(c, &o))
                   && !strcmp(o.server, nfs.server)
                   && !strcmp(o.path, nfs.path);
        }
        if (same) {
            error = np_error_new(ERR_SR_DEVICE_IN_USE, where, other, NULL);
        }
        np_error_destroy(e);
    }
    json_object_put(srs);
    if (error) {
        free(where);
        return error;
    }
    if (iscsi) {
        *configp = storage_iscsi_device_config(&target);
    } else {
        *configp = json_object_new_object();
        json_object_object_add(*configp, "server",
                               json_object_new_string(nfs.server));
        json_object_object_add(*configp, "serverpath",
                               json_object_new_string(nfs.path));
        json_object_object_add(*configp, "nfsversion",
                               json_object_new_string("3"));
    }
    *wherep = where;
    return NULL;
}

/* Inserts a raw VDI of SR 'sr' (device_config 'config') for each of
 * 'luns' (see storage_iscsi_cb), inside the caller's transaction.  Returns
 * 0 or a positive errno. */
static int
insert_lun_vdis(struct store *store, const char *sr,
                struct json_object *config, struct json_object *luns)
{
    struct storage_iscsi_config target;
    struct np_error *error = storage_iscsi_check_config(config, &target);
    int retval = 0;

    if (error) {
        np_error_destroy(error);
        return EINVAL;
    }
    for (size_t i = 0; !retval && i < json_object_array_length(luns); i++) {
        struct json_object *lun = json_object_array_get_idx(luns, i);
        int number = json_object_get_int(json_object_object_get(lun, "LUN"));
        const char *id =
            json_object_get_string(json_object_object_get(lun, "SCSIid"));
        char *label = xasprintf("LUN %d", number);
        char *location = storage_iscsi_url(&target, number);
        struct json_object *other_config = json_object_new_object();
        json_object_object_add(other_config, "SCSIid",
                               json_object_new_string(id));
        struct json_object *vdi = json_object_new_object();
        json_object_object_add(vdi, "name_label",
                               json_object_new_string(label));
        json_object_object_add(vdi, "SR", json_object_new_string(sr));
        json_object_object_add(
            vdi, "virtual_size",
            json_object_get(json_object_object_get(lun, "size")));
        json_object_object_add(vdi, "format", json_object_new_string("raw"));
        json_object_object_add(vdi, "location",
                               json_object_new_string(location));
        json_object_object_add(vdi, "other_config", other_config);
        char uuid[UUID_LENGTH + 1];
        uuid_text_random(uuid);
        retval = store_insert(store, "VDI", uuid, vdi);
        json_object_put(vdi);
        free(location);
        free(label);
    }
    return retval;
}

/* Helpers. */

static struct np_error *
set_attached(struct store *store, const char *pbd, bool attached)
{
    struct json_object *changes = json_object_new_object();

    json_object_object_add(changes, "currently_attached",
                           json_object_new_boolean(attached));
    int retval = store_update(store, "PBD", pbd, changes);
    json_object_put(changes);
    return retval ? api_store_error(retval, "PBD", pbd) : NULL;
}

/* PBD_IN_USE(pbd, vm) if a VM of host 'host' that is not halted has a
 * disk on SR 'sr'. */
static struct np_error *
check_unused(struct store *store, const char *host, const char *sr,
             const char *pbd)
{
    struct json_object *vbds = store_get_all(store, "VBD");
    struct np_error *error = NULL;

    json_object_object_foreach (vbds, vbd_uuid, vbd) {
        (void) vbd_uuid;
        if (error) {
            break;
        }
        struct json_object *vdi =
            store_get(store, "VDI", record_string(vbd, "VDI"));
        struct json_object *vm =
            store_get(store, "VM", record_string(vbd, "VM"));
        if (!strcmp(record_string(vdi, "SR"), sr)
            && !strcmp(record_string(vm, "resident_on"), host)
            && *record_string(vm, "power_state")
            && strcmp(record_string(vm, "power_state"), "Halted")) {
            error = np_error_new(ERR_PBD_IN_USE, pbd, record_string(vbd, "VM"),
                                 NULL);
        }
        json_object_put(vdi);
        json_object_put(vm);
    }
    json_object_put(vbds);
    return error;
}

/* The client went away: the probe stops, nothing is written. */
static void
probe_abandoned(void *pc_, struct api_call *call)
{
    probe_call_free(pc_);
}

static void
probe_call_free(struct sr_probe_call *pc)
{
    storage_probe_cancel(pc->probe);
    json_object_put(pc->config);
    free(pc->label);
    free(pc->type);
    free(pc);
}
