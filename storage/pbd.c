/*
 * The PBD controller of one host.  For each of the host's PBDs asked to be
 * attached (currently_attached) it keeps an NFS client mounted on the SR's
 * folder, over the PIF on the server's subnet, and asks the server for its
 * space every STORAGE_CHECK_INTERVAL seconds; for an iSCSI SR it logs in
 * to the target over that PIF and scans its LUNs as often (the SR's LUN,
 * if device_config:SCSIid names one, must be there).  What it sees goes to the
 * PBD's observed fields (connected, error, PIF) and the SR's
 * (physical_size, physical_utilisation).  A check that fails drops the
 * client, says why in the PBD's error, raises SR_BACKEND_FAILURE once per
 * outage, and the next check mounts again: a server that comes back is
 * used again without anyone's help.
 *
 * A host that has no PBD for a shared SR (it joined the pool after the SR
 * was made) makes one, plugged: that is the only desired write here.
 */
#include "storage/storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "pbd"

#define TICK_MS 1000 /* How often due checks start. */

/* One PBD of this host that is asked to be attached. */
struct attachment {
    struct storage_pbds *owner;         /* The controller. */
    char pbd[UUID_LENGTH + 1];          /* The PBD. */
    char sr[UUID_LENGTH + 1];           /* Its SR. */
    bool iscsi;                         /* An iSCSI SR (else NFS). */
    struct storage_nfs_config config;   /* Where the SR is (NFS). */
    struct storage_iscsi_config target; /* Where the SR is (iSCSI). */
    char where[600];                    /* Where the SR is, for messages. */
    struct storage_iscsi_scan *scan;    /* The iSCSI check in flight. */
    struct storage_path path;           /* How it is reached. */
    bool reachable;                     /* 'path' was found. */
    struct storage_nfs *nfs;            /* Client, mounted or mounting. */
    bool mounted;                       /* 'nfs' is mounted. */
    bool busy;                          /* A request is in flight. */
    bool failed;                        /* The last check failed. */
    bool alerted;                       /* This outage raised its message. */
    time_t due;                         /* Monotonic second of the next
                                       * check. */
    bool listed;                        /* Still wanted. */
};

struct storage_pbds {
    struct event_base *base;            /* The loop. */
    struct store *store;                /* PBDs, SRs, PIFs; observations. */
    char *host;                         /* This host. */
    struct store_subscription *changes; /* Wakes 'refresh'. */
    struct event *refresh;              /* Re-reads what is wanted. */
    struct event *tick;                 /* Starts due checks. */
    struct attachment **attachments;    /* Wanted. */
    size_t n_attachments;               /* Entries in 'attachments'. */
};

static void store_changed(void *pbds_, const struct store_change *, size_t n,
                          uint64_t seq);
static void on_refresh(evutil_socket_t, short, void *pbds_);
static void on_tick(evutil_socket_t, short, void *pbds_);
static void adopt_shared_srs(struct storage_pbds *, struct json_object *srs,
                             struct json_object *pbds);
static void check(struct attachment *);
static void on_mounted(void *att_, int status, const char *error,
                       struct json_object *data);
static void on_space(void *att_, int status, const char *error,
                     struct json_object *data);
static void on_scanned(void *att_, int status, const char *error,
                       struct json_object *luns);
static void connected(struct attachment *, int64_t size, int64_t used);
static void lost(struct attachment *, int status, const char *error);
static void observe(struct storage_pbds *, const char *pbd, bool connected,
                    const char *error, const char *pif);
static void attachment_free(struct attachment *);
static time_t now_seconds(void);

int
storage_pbds_create(struct event_base *base, struct store *store,
                    const char *host, struct storage_pbds **pbdsp)
{
    struct storage_pbds *c = xzalloc(sizeof *c);
    static const char *const classes[] = {"PBD",     "SR",   "PIF",
                                          "network", "host", NULL};

    c->base = base;
    c->store = store;
    c->host = xstrdup(host);
    c->refresh = event_new(base, -1, 0, on_refresh, c);
    c->tick = event_new(base, -1, EV_PERSIST, on_tick, c);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(c->tick, &tv);
    c->changes = store_subscribe(store, classes, STORE_FEED_DESIRED, NULL,
                                 store_changed, c);
    event_active(c->refresh, EV_TIMEOUT, 0);
    *pbdsp = c;
    return 0;
}

void
storage_pbds_destroy(struct storage_pbds *c)
{
    if (!c) {
        return;
    }
    store_unsubscribe(c->changes);
    for (size_t i = 0; i < c->n_attachments; i++) {
        attachment_free(c->attachments[i]);
    }
    free(c->attachments);
    event_free(c->refresh);
    event_free(c->tick);
    free(c->host);
    free(c);
}

/* What is wanted. */

static void
store_changed(void *pbds_, const struct store_change *changes, size_t n,
              uint64_t seq)
{
    struct storage_pbds *c = pbds_;

    if (!event_pending(c->refresh, EV_TIMEOUT, NULL)) {
        event_active(c->refresh, EV_TIMEOUT, 0);
    }
}

/* Re-reads this host's PBDs: a new or changed one is checked at once, one
 * no longer asked for is dropped (and observed unplugged). */
static void
on_refresh(evutil_socket_t fd, short what, void *pbds_)
{
    struct storage_pbds *c = pbds_;
    struct json_object *pbds = store_get_all(c->store, "PBD");
    struct json_object *srs = store_get_all(c->store, "SR");
    struct json_object *records = json_object_new_object();

    json_object_object_add(records, "PIF", store_get_all(c->store, "PIF"));
    json_object_object_add(records, "network",
                           store_get_all(c->store, "network"));
    adopt_shared_srs(c, srs, pbds);

    for (size_t i = 0; i < c->n_attachments; i++) {
        c->attachments[i]->listed = false;
    }
    json_object_object_foreach (pbds, uuid, pbd) {
        if (strcmp(record_string(pbd, "host"), c->host)) {
            continue;
        }
        struct json_object *sr =
            json_object_object_get(srs, record_string(pbd, "SR"));
        struct storage_nfs_config config;
        struct storage_iscsi_config target;
        struct np_error *error = NULL;
        const char *type = record_string(sr, "type");
        bool iscsi = !strcmp(type, "iscsi");
        struct json_object *device_config =
            json_object_object_get(pbd, "device_config");
        memset(&config, 0, sizeof config);
        memset(&target, 0, sizeof target);
        if (!record_bool(pbd, "currently_attached")
            || (strcmp(type, "nfs") && !iscsi)
            || (error =
                    iscsi
                        ? storage_iscsi_check_config(device_config, &target)
                        : storage_nfs_check_config(device_config, &config))) {
            np_error_destroy(error);
            if (record_bool(pbd, "connected") || *record_string(pbd, "error")
                || *record_string(pbd, "PIF")) {
                observe(c, uuid, false, "", "");
            }
            continue;
        }
        struct storage_path path;
        bool reachable = storage_pick_path(
            records, c->host, iscsi ? target.target : config.server, &path);
        struct attachment *a = NULL;
        for (size_t i = 0; i < c->n_attachments && !a; i++) {
            if (!strcmp(c->attachments[i]->pbd, uuid)) {
                a = c->attachments[i];
            }
        }
        if (a
            && (memcmp(&a->config, &config, sizeof config)
                || memcmp(&a->target, &target, sizeof target)
                || a->reachable != reachable
                || (reachable && memcmp(&a->path, &path, sizeof path)))) {
            /* Elsewhere now: start again. */
            storage_nfs_close(a->nfs);
            a->nfs = NULL;
            storage_iscsi_scan_cancel(a->scan);
            a->scan = NULL;
            a->mounted = a->busy = false;
            a->due = 0;
        } else if (!a) {
            a = xzalloc(sizeof *a);
            a->owner = c;
            snprintf(a->pbd, sizeof a->pbd, "%s", uuid);
            snprintf(a->sr, sizeof a->sr, "%s", record_string(pbd, "SR"));
            c->attachments =
                xrealloc(c->attachments,
                         sizeof *c->attachments * (c->n_attachments + 1));
            c->attachments[c->n_attachments++] = a;
        }
        a->config = config;
        a->target = target;
        a->iscsi = iscsi;
        if (iscsi) {
            snprintf(a->where, sizeof a->where, "iSCSI target %s:%d %s",
                     target.target, target.port, target.iqn);
        } else {
            snprintf(a->where, sizeof a->where, "%s:%s", config.server,
                     config.path);
        }
        a->reachable = reachable;
        if (reachable) {
            a->path = path;
        } else {
            memset(&a->path, 0, sizeof a->path);
        }
        a->listed = true;
    }

    size_t kept = 0;
    for (size_t i = 0; i < c->n_attachments; i++) {
        struct attachment *a = c->attachments[i];
        if (a->listed) {
            c->attachments[kept++] = a;
            continue;
        }
        if (store_exists(c->store, "PBD", a->pbd)) {
            observe(c, a->pbd, false, "", "");
        }
        attachment_free(a);
    }
    c->n_attachments = kept;
    json_object_put(records);
    json_object_put(srs);
    json_object_put(pbds);
    on_tick(-1, 0, c);
}

/* Gives this host a plugged PBD for every shared SR it has none for. */
static void
adopt_shared_srs(struct storage_pbds *c, struct json_object *srs,
                 struct json_object *pbds)
{
    if (!store_exists(c->store, "host", c->host)) {
        return;
    }
    json_object_object_foreach (srs, sr_uuid, sr) {
        bool has = false;
        if (!record_bool(sr, "shared")) {
            continue;
        }
        json_object_object_foreach (pbds, pbd_uuid, pbd) {
            (void) pbd_uuid;
            if (!strcmp(record_string(pbd, "SR"), sr_uuid)
                && !strcmp(record_string(pbd, "host"), c->host)) {
                has = true;
            }
        }
        if (has) {
            continue;
        }
        struct json_object *record = json_object_new_object();
        json_object_object_add(record, "host",
                               json_object_new_string(c->host));
        json_object_object_add(record, "SR", json_object_new_string(sr_uuid));
        json_object_object_add(
            record, "device_config",
            json_object_get(json_object_object_get(sr, "device_config")));
        json_object_object_add(record, "currently_attached",
                               json_object_new_boolean(true));
        char uuid[UUID_LENGTH + 1];
        uuid_text_random(uuid);
        store_push_actor(c->store, "system:storage");
        int retval = store_insert(c->store, "PBD", uuid, record);
        store_pop_actor(c->store);
        json_object_put(record);
        if (retval) {
            /* Not quorate yet, or another write won: the next change or
             * tick tries again. */
            log_debug("cannot make this host's PBD for SR %s: %s", sr_uuid,
                      strerror(retval));
        } else {
            log_info("SR %s: made this host's PBD %s", sr_uuid, uuid);
        }
    }
}

/* Checks. */

static void
on_tick(evutil_socket_t fd, short what, void *pbds_)
{
    struct storage_pbds *c = pbds_;
    time_t now = now_seconds();

    for (size_t i = 0; i < c->n_attachments; i++) {
        struct attachment *a = c->attachments[i];
        if (!a->busy && now >= a->due) {
            check(a);
        }
    }
}

/* Mounts 'a', or asks its server for its space. */
static void
check(struct attachment *a)
{
    struct storage_pbds *c = a->owner;
    int retval;

    a->due = now_seconds() + STORAGE_CHECK_INTERVAL;
    if (!a->reachable) {
        lost(a, 0,
             "no PIF of this host has an address on the server's "
             "subnet");
        return;
    }
    a->busy = true;
    if (a->iscsi) {
        char *initiator = storage_iscsi_initiator(c->host);
        retval = storage_iscsi_scan_start(
            c->base, &a->target, a->path.interface, initiator,
            STORAGE_MOUNT_TIMEOUT_MS, on_scanned, a, &a->scan);
        free(initiator);
    } else if (!a->nfs) {
        retval =
            storage_nfs_open(c->base, &a->config, a->path.interface,
                             STORAGE_MOUNT_TIMEOUT_MS, on_mounted, a, &a->nfs);
    } else {
        retval = storage_nfs_space(a->nfs, on_space, a);
    }
    if (retval) {
        a->busy = false;
        lost(a, retval, NULL);
    }
}

static void
on_mounted(void *att_, int status, const char *error, struct json_object *data)
{
    struct attachment *a = att_;

    a->busy = false;
    if (status) {
        lost(a, status, error);
        return;
    }
    a->mounted = true;
    a->busy = true;
    int retval = storage_nfs_space(a->nfs, on_space, a);
    if (retval) {
        a->busy = false;
        lost(a, retval, NULL);
    }
}

static void
on_space(void *att_, int status, const char *error, struct json_object *data)
{
    struct attachment *a = att_;

    a->busy = false;
    if (status) {
        lost(a, status, error);
        return;
    }
    int64_t size = json_object_get_int64(json_object_object_get(data, "size"));
    int64_t free_bytes =
        json_object_get_int64(json_object_object_get(data, "free"));
    connected(a, size, size - free_bytes);
}

static void
on_scanned(void *att_, int status, const char *error, struct json_object *luns)
{
    struct attachment *a = att_;
    int64_t size = 0;
    bool found = false;

    a->busy = false;
    a->scan = NULL;
    if (status) {
        lost(a, status, error);
        return;
    }
    for (size_t i = 0; i < json_object_array_length(luns); i++) {
        struct json_object *lun = json_object_array_get_idx(luns, i);
        const char *id =
            json_object_get_string(json_object_object_get(lun, "SCSIid"));
        if (!*a->target.scsi_id || !strcmp(id, a->target.scsi_id)) {
            size += json_object_get_int64(json_object_object_get(lun, "size"));
            found = true;
        }
    }
    if (!found) {
        char *reason = *a->target.scsi_id ? xasprintf("no LUN with SCSIid %s",
                                                      a->target.scsi_id)
                                          : xstrdup("no disk LUN");
        lost(a, ENOENT, reason);
        free(reason);
        return;
    }
    a->mounted = true;
    connected(a, size, size);
}

/* 'a''s check found its SR, of 'size' bytes with 'used' bytes in use. */
static void
connected(struct attachment *a, int64_t size, int64_t used)
{
    struct storage_pbds *c = a->owner;

    if (a->failed) {
        log_info("PBD %s: SR %s on %s is reachable again", a->pbd, a->sr,
                 a->where);
    }
    a->failed = a->alerted = false;
    observe(c, a->pbd, true, "", a->path.pif);

    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "physical_size",
                           json_object_new_int64(size));
    json_object_object_add(changes, "physical_utilisation",
                           json_object_new_int64(used));
    store_push_actor(c->store, "system:storage");
    store_update(c->store, "SR", a->sr, changes);
    store_pop_actor(c->store);
    json_object_put(changes);
}

/* 'a''s check failed ('status' an errno, 'error' the client's text or
 * NULL): drop its client, say why, raise the message once per outage. */
static void
lost(struct attachment *a, int status, const char *error)
{
    struct storage_pbds *c = a->owner;
    const char *what = a->iscsi ? (a->mounted ? "lost" : "cannot reach")
                                : (a->mounted ? "lost" : "cannot mount");
    char *reason =
        xasprintf("%s %s: %s", what, a->where,
                  error && *error ? error : strerror(status ? status : EIO));

    storage_nfs_close(a->nfs);
    a->nfs = NULL;
    storage_iscsi_scan_cancel(a->scan);
    a->scan = NULL;
    a->mounted = false;
    a->failed = true;
    observe(c, a->pbd, false, reason, a->reachable ? a->path.pif : "");
    if (!a->alerted) {
        a->alerted = true;
        log_warn("PBD %s: %s", a->pbd, reason);
        char *body = xasprintf("SR_BACKEND_FAILURE on host %s (PBD %s): %s",
                               c->host, a->pbd, reason);
        store_push_actor(c->store, "system:storage");
        int retval = store_raise_message(c->store, "SR_BACKEND_FAILURE", 2,
                                         "SR", a->sr, body);
        store_pop_actor(c->store);
        if (retval) {
            log_warn("cannot raise SR_BACKEND_FAILURE: %s", strerror(retval));
        }
        free(body);
    }
    free(reason);
}

/* Writes PBD 'pbd''s observed fields. */
static void
observe(struct storage_pbds *c, const char *pbd, bool connected,
        const char *error, const char *pif)
{
    struct json_object *changes = json_object_new_object();

    json_object_object_add(changes, "connected",
                           json_object_new_boolean(connected));
    json_object_object_add(changes, "error", json_object_new_string(error));
    json_object_object_add(changes, "PIF", json_object_new_string(pif));
    store_push_actor(c->store, "system:storage");
    int retval = store_update(c->store, "PBD", pbd, changes);
    store_pop_actor(c->store);
    if (retval && retval != ENOENT) {
        log_warn("PBD %s: cannot record what is seen: %s", pbd,
                 strerror(retval));
    }
    json_object_put(changes);
}

static void
attachment_free(struct attachment *a)
{
    storage_nfs_close(a->nfs);
    storage_iscsi_scan_cancel(a->scan);
    free(a);
}

static time_t
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}
