/*
 * The PBD controller of one host.  For each of the host's PBDs asked to be
 * attached (currently_attached) it keeps an NFS client mounted on the SR's
 * folder, over the PIF on the server's subnet, and asks the server for its
 * space every STORAGE_CHECK_INTERVAL seconds.  What it sees goes to the
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
    struct storage_pbds *owner;       /* The controller. */
    char pbd[UUID_LENGTH + 1];        /* The PBD. */
    char sr[UUID_LENGTH + 1];         /* Its SR. */
    struct storage_nfs_config config; /* Where the SR is. */
    struct storage_path path;         /* How it is reached. */
    bool reachable;                   /* 'path' was found. */
    struct storage_nfs *nfs;          /* Client, mounted or mounting. */
    bool mounted;                     /* 'nfs' is mounted. */
    bool busy;                        /* A request is in flight. */
    bool failed;                      /* The last check failed. */
    bool alerted;                     /* This outage raised its message. */
    time_t due;                       /* Monotonic second of the next
                                       * check. */
    bool listed;                      /* Still wanted. */
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
        struct np_error *error = NULL;
        if (!record_bool(pbd, "currently_attached")
            || strcmp(record_string(sr, "type"), "nfs")
            || (error = storage_nfs_check_config(
                    json_object_object_get(pbd, "device_config"), &config))) {
            np_error_destroy(error);
            if (record_bool(pbd, "connected") || *record_string(pbd, "error")
                || *record_string(pbd, "PIF")) {
                observe(c, uuid, false, "", "");
            }
            continue;
        }
        struct storage_path path;
        bool reachable =
            storage_pick_path(records, c->host, config.server, &path);
        struct attachment *a = NULL;
        for (size_t i = 0; i < c->n_attachments && !a; i++) {
            if (!strcmp(c->attachments[i]->pbd, uuid)) {
                a = c->attachments[i];
            }
        }
        if (a
            && (memcmp(&a->config, &config, sizeof config)
                || a->reachable != reachable
                || (reachable && memcmp(&a->path, &path, sizeof path)))) {
            /* Elsewhere now: start again. */
            storage_nfs_close(a->nfs);
            a->nfs = NULL;
            a->mounted = a->busy = false;
            a->due = 0;
            a->config = config;
        } else if (!a) {
            a = xzalloc(sizeof *a);
            a->owner = c;
            snprintf(a->pbd, sizeof a->pbd, "%s", uuid);
            snprintf(a->sr, sizeof a->sr, "%s", record_string(pbd, "SR"));
            a->config = config;
            c->attachments =
                xrealloc(c->attachments,
                         sizeof *c->attachments * (c->n_attachments + 1));
            c->attachments[c->n_attachments++] = a;
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
    if (!a->nfs) {
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
    struct storage_pbds *c = a->owner;

    a->busy = false;
    if (status) {
        lost(a, status, error);
        return;
    }
    if (a->failed) {
        log_info("PBD %s: SR %s on %s:%s is reachable again", a->pbd, a->sr,
                 a->config.server, a->config.path);
    }
    a->failed = a->alerted = false;
    observe(c, a->pbd, true, "", a->path.pif);

    int64_t size = json_object_get_int64(json_object_object_get(data, "size"));
    int64_t free_bytes =
        json_object_get_int64(json_object_object_get(data, "free"));
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "physical_size",
                           json_object_new_int64(size));
    json_object_object_add(changes, "physical_utilisation",
                           json_object_new_int64(size - free_bytes));
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
    char *reason =
        xasprintf("%s %s:%s: %s", a->mounted ? "lost" : "cannot mount",
                  a->config.server, a->config.path,
                  error && *error ? error : strerror(status ? status : EIO));

    storage_nfs_close(a->nfs);
    a->nfs = NULL;
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
    free(a);
}

static time_t
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}
