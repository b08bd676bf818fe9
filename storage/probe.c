/*
 * The SR probe: before an SR is made or a PBD plugged, this host checks
 * that it can use it.  Each step that fails is the typed error a user
 * sees, naming the server and the reason; nothing is stored by then.
 *
 *   1. the device_config (INVALID_VALUE naming the key);
 *   2. a PIF on the server's subnet (the storage network);
 *   3. on a network above MTU 1500, the path MTU: a small and a full-size
 *      echo request with don't-fragment set; when only the small one comes
 *      back, a device on the path drops jumbo frames (MTU_MISMATCH);
 *   4. NFS: a mount of the folder over that PIF, a file made and removed,
 *      the file system's space; iSCSI: a login to the target over that
 *      PIF and a scan of its LUNs (with device_config:SCSIid, that LUN
 *      must be among them).
 */
#include "storage/storage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"
#include "vlan/vlan.h"

#define LOG_MODULE "sr-probe"

struct storage_probe {
    struct event_base *base;            /* The loop. */
    bool iscsi;                         /* An iSCSI SR (else NFS). */
    struct storage_nfs_config config;   /* What is probed (NFS). */
    struct storage_iscsi_config target; /* What is probed (iSCSI). */
    char server[INET_ADDRSTRLEN];       /* The server's or target's address. */
    char where[600];                    /* What is probed, for errors. */
    char *initiator;                    /* This host's iSCSI name. */
    struct storage_iscsi_scan *scan; /* Step 4 (iSCSI) in flight, or NULL. */
    struct storage_path path;        /* How. */
    struct event *start;             /* Starts step 4 without step 3. */
    struct vlan_mtu_probe *mtu;      /* Step 3 in flight, or NULL. */
    struct storage_nfs *nfs;         /* Step 4's client, or NULL. */
    char check_file[64];             /* Step 4's file. */
    struct json_object *result;      /* What it found so far. */
    storage_probe_cb *done;          /* Told the outcome. */
    void *aux;                       /* Its argument. */
};

static void on_start(evutil_socket_t, short, void *probe_);
static void on_mtu(void *probe_, bool small_reply, bool large_reply);
static void mount_start(struct storage_probe *);
static void on_mounted(void *probe_, int status, const char *error,
                       struct json_object *data);
static void on_checked(void *probe_, int status, const char *error,
                       struct json_object *data);
static void on_space(void *probe_, int status, const char *error,
                     struct json_object *data);
static void on_scanned(void *probe_, int status, const char *error,
                       struct json_object *luns);
static void finish(struct storage_probe *, struct np_error *);
static struct np_error *backend_failure(const struct storage_probe *,
                                        const char *what, int status,
                                        const char *error);

struct np_error *
storage_probe_start(struct event_base *base, struct store *store,
                    const char *host, const char *type,
                    struct json_object *device_config, storage_probe_cb *done,
                    void *aux, struct storage_probe **probep)
{
    struct storage_nfs_config config;
    struct storage_iscsi_config target;
    struct storage_path path;
    struct np_error *error;
    bool iscsi = !strcmp(type, "iscsi");

    *probep = NULL;
    if (strcmp(type, "nfs") && !iscsi) {
        return np_error_new(ERR_SR_UNKNOWN_DRIVER, type, NULL);
    }
    if ((error = iscsi ? storage_iscsi_check_config(device_config, &target)
                       : storage_nfs_check_config(device_config, &config))) {
        return error;
    }
    const char *server = iscsi ? target.target : config.server;
    struct json_object *records = json_object_new_object();
    json_object_object_add(records, "PIF", store_get_all(store, "PIF"));
    json_object_object_add(records, "network",
                           store_get_all(store, "network"));
    bool found = storage_pick_path(records, host, server, &path);
    json_object_put(records);
    if (!found) {
        return np_error_new(ERR_SR_BACKEND_FAILURE, server,
                            "no PIF of this host has an address on the "
                            "server's subnet",
                            NULL);
    }

    struct storage_probe *p = xzalloc(sizeof *p);
    p->base = base;
    p->iscsi = iscsi;
    if (iscsi) {
        p->target = target;
        snprintf(p->where, sizeof p->where, "iSCSI target %s:%d %s",
                 target.target, target.port, target.iqn);
        p->initiator = storage_iscsi_initiator(host);
    } else {
        p->config = config;
        snprintf(p->where, sizeof p->where, "%s:%s", config.server,
                 config.path);
    }
    snprintf(p->server, sizeof p->server, "%s", server);
    p->path = path;
    p->done = done;
    p->aux = aux;
    p->result = json_object_new_object();
    json_object_object_add(p->result, "PIF", json_object_new_string(path.pif));
    json_object_object_add(p->result, "interface",
                           json_object_new_string(path.interface));
    *probep = p;
    if (path.mtu > 1500) {
        int retval = vlan_mtu_probe_start(base, path.source, server, path.mtu,
                                          on_mtu, p, &p->mtu);
        if (!retval) {
            return NULL;
        }
        log_warn("cannot check the path MTU to %s from %s: %s", server,
                 path.source, strerror(retval));
    }
    p->start = event_new(base, -1, 0, on_start, p);
    event_active(p->start, EV_TIMEOUT, 0);
    return NULL;
}

void
storage_probe_cancel(struct storage_probe *p)
{
    if (!p) {
        return;
    }
    if (p->start) {
        event_free(p->start);
    }
    vlan_mtu_probe_cancel(p->mtu);
    storage_nfs_close(p->nfs);
    storage_iscsi_scan_cancel(p->scan);
    free(p->initiator);
    json_object_put(p->result);
    free(p);
}

/* Steps. */

static void
on_start(evutil_socket_t fd, short what, void *probe_)
{
    mount_start(probe_);
}

static void
on_mtu(void *probe_, bool small_reply, bool large_reply)
{
    struct storage_probe *p = probe_;

    p->mtu = NULL;
    if (small_reply && !large_reply) {
        char mtu[24];
        snprintf(mtu, sizeof mtu, "%" PRId64, p->path.mtu);
        finish(p, np_error_new(ERR_MTU_MISMATCH, p->path.network_name,
                               p->server, mtu, NULL));
        return;
    }
    /* A server that answers no echo request tells nothing about the MTU:
     * the mount says whether it is there. */
    mount_start(p);
}

static void
mount_start(struct storage_probe *p)
{
    if (p->iscsi) {
        int retval = storage_iscsi_scan_start(
            p->base, &p->target, p->path.interface, p->initiator,
            STORAGE_MOUNT_TIMEOUT_MS, on_scanned, p, &p->scan);
        if (retval) {
            finish(p, backend_failure(p, "cannot scan", retval, NULL));
        }
        return;
    }
    int retval =
        storage_nfs_open(p->base, &p->config, p->path.interface,
                         STORAGE_MOUNT_TIMEOUT_MS, on_mounted, p, &p->nfs);
    if (retval) {
        /* From the loop, as every outcome. */
        finish(p, backend_failure(p, "cannot mount", retval, NULL));
    }
}

static void
on_mounted(void *probe_, int status, const char *error,
           struct json_object *data)
{
    struct storage_probe *p = probe_;
    char uuid[UUID_LENGTH + 1];

    if (status) {
        finish(p, backend_failure(p, "cannot mount", status, error));
        return;
    }
    uuid_text_random(uuid);
    snprintf(p->check_file, sizeof p->check_file, ".netpool-check-%.8s", uuid);
    int retval = storage_nfs_write_check(p->nfs, p->check_file, on_checked, p);
    if (retval) {
        finish(p, backend_failure(p, "cannot write to", retval, NULL));
    }
}

static void
on_checked(void *probe_, int status, const char *error,
           struct json_object *data)
{
    struct storage_probe *p = probe_;

    if (status) {
        finish(p, backend_failure(p, "cannot write to", status, error));
        return;
    }
    int retval = storage_nfs_space(p->nfs, on_space, p);
    if (retval) {
        finish(p,
               backend_failure(p, "cannot read the space of", retval, NULL));
    }
}

static void
on_space(void *probe_, int status, const char *error, struct json_object *data)
{
    struct storage_probe *p = probe_;

    if (status) {
        finish(p,
               backend_failure(p, "cannot read the space of", status, error));
        return;
    }
    int64_t size = json_object_get_int64(json_object_object_get(data, "size"));
    int64_t free_bytes =
        json_object_get_int64(json_object_object_get(data, "free"));
    json_object_object_add(p->result, "physical_size",
                           json_object_new_int64(size));
    json_object_object_add(p->result, "physical_utilisation",
                           json_object_new_int64(size - free_bytes));
    finish(p, NULL);
}

static void
on_scanned(void *probe_, int status, const char *error,
           struct json_object *luns)
{
    struct storage_probe *p = probe_;
    struct json_object *kept = json_object_new_array();
    int64_t size = 0;

    p->scan = NULL;
    if (status) {
        json_object_put(kept);
        finish(p, backend_failure(p, "cannot scan", status, error));
        return;
    }
    for (size_t i = 0; i < json_object_array_length(luns); i++) {
        struct json_object *lun = json_object_array_get_idx(luns, i);
        const char *id =
            json_object_get_string(json_object_object_get(lun, "SCSIid"));
        if (!*p->target.scsi_id || !strcmp(id, p->target.scsi_id)) {
            json_object_array_add(kept, json_object_get(lun));
            size += json_object_get_int64(json_object_object_get(lun, "size"));
        }
    }
    if (!json_object_array_length(kept)) {
        char *reason = *p->target.scsi_id
                           ? xasprintf("%s has no LUN with SCSIid %s",
                                       p->where, p->target.scsi_id)
                           : xasprintf("%s has no disk LUN", p->where);
        json_object_put(kept);
        finish(p,
               np_error_new(ERR_SR_BACKEND_FAILURE, p->server, reason, NULL));
        free(reason);
        return;
    }
    json_object_object_add(p->result, "LUNs", kept);
    /* A LUN is allocated whole. */
    json_object_object_add(p->result, "physical_size",
                           json_object_new_int64(size));
    json_object_object_add(p->result, "physical_utilisation",
                           json_object_new_int64(size));
    finish(p, NULL);
}

/* Ends probe 'p' with 'error' (taken) or its result; 'p' goes first. */
static void
finish(struct storage_probe *p, struct np_error *error)
{
    storage_probe_cb *done = p->done;
    void *aux = p->aux;
    struct json_object *result = error ? NULL : json_object_get(p->result);

    storage_probe_cancel(p);
    done(aux, error, result);
}

/* SR_BACKEND_FAILURE(server, "WHAT SERVER:PATH from SOURCE: REASON"),
 * or for iSCSI "WHAT iSCSI target ADDRESS:PORT IQN from SOURCE: REASON". */
static struct np_error *
backend_failure(const struct storage_probe *p, const char *what, int status,
                const char *error)
{
    char *reason =
        xasprintf("%s %s from %s: %s", what, p->where,
                  *p->path.source ? p->path.source : "?",
                  error && *error ? error : strerror(status ? status : EIO));
    struct np_error *e =
        np_error_new(ERR_SR_BACKEND_FAILURE, p->server, reason, NULL);
    free(reason);
    return e;
}
