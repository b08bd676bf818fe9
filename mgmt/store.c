/*
 * The object store: lifecycle, the change feed, transactions and writes.
 * Reads are in store-read.c, the log, events, snapshots and replicated
 * entries in store-log.c, the schema's tables and migrations in
 * store-migrate.c.
 */
#include "mgmt/store-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"

#define LOG_MODULE "store"

#define MAX_STATEMENTS 256 /* SQL texts kept prepared, at most. */

/* Pages of a database's log that make a commit checkpoint it (SQLite's own
 * default). */
#define CHECKPOINT_PAGES 1000

static int write_observed(struct store *, const struct store_class *,
                          const char *uuid, struct json_object *old,
                          struct json_object *new, const char *owner);
static int log_merged_event(struct store *, const struct store_class *,
                            const char *uuid, const char *operation,
                            struct json_object *desired,
                            struct json_object *observed);
static char *owner_of(struct store *, const struct store_class *,
                      const char *uuid, struct json_object *record);
static char *stored_owner(struct store *, const char *uuid);
static int move_dependents(struct store *, const struct store_class *,
                           const char *uuid, const char *owner);
static struct json_object *changed_fields(struct json_object *old,
                                          struct json_object *new);
static void queue_change(struct store *, const struct store_class *,
                         const char *uuid, enum store_op, bool observed,
                         uint64_t seq, struct json_object *old,
                         struct json_object *new, struct json_object *fields,
                         const char *old_owner, const char *new_owner);
static void deliver(struct store *, struct store_pending *, size_t n,
                    uint64_t seq);
static bool wants(const struct store_subscription *,
                  const struct store_change *);
static void free_dead_subscriptions(struct store *);
static void load_log_head(struct store *);
static int log_written(void *store_, sqlite3 *, const char *db, int pages);
static void arm_flush_timer(struct store *);
static void on_flush_timer(evutil_socket_t, short, void *store_);
static bool must_flush_now(const struct store *);
static uint32_t sql_hash(const char *sql);

/* Lifecycle. */

int
store_open(const char *path, struct store **storep)
{
    struct store *store = xzalloc(sizeof *store);
    int error;

    *storep = NULL;
    store->local_host = xstrdup("");
    if (sqlite3_open_v2(path, &store->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                            | SQLITE_OPEN_NOMUTEX,
                        NULL)
        != SQLITE_OK) {
        log_error("%s: cannot open: %s", path,
                  store->db ? sqlite3_errmsg(store->db) : "no memory");
        error = EIO;
        goto fail;
    }
    sqlite3_busy_timeout(store->db, 5000);

    /* Observed state and events need no flush per commit: a restart
     * observes again, and event.from clients start over on a lost token.
     * They live in a database of their own so that a commit touching only
     * them never flushes the durable one.  The durable one is NORMAL too
     * (in WAL mode: each commit appended to the log, no flush): the store
     * flushes its log itself, when its durability mode says
     * (store_set_sync()). */
    char *sql = sqlite3_mprintf("PRAGMA journal_mode=WAL;"
                                "PRAGMA synchronous=NORMAL;"
                                "PRAGMA foreign_keys=OFF;"
                                "ATTACH DATABASE '%q-local' AS loc;"
                                "PRAGMA loc.journal_mode=WAL;"
                                "PRAGMA loc.synchronous=NORMAL;",
                                path);
    error = store_exec(store, sql);
    sqlite3_free(sql);
    if (error) {
        goto fail;
    }
    /* Tells the store which commits wrote to the durable database's log
     * (it replaces the automatic checkpoint, which it does itself). */
    sqlite3_wal_hook(store->db, log_written, store);
    error = store_migrate(store);
    if (error) {
        goto fail;
    }
    store_sync(store);
    load_log_head(store);
    *storep = store;
    return 0;

fail:
    store_close(store);
    return error;
}

void
store_close(struct store *store)
{
    if (!store) {
        return;
    }
    if (store->depth > 0) {
        store_rollback(store);
    }
    while (store->subscriptions) {
        struct store_subscription *s = store->subscriptions;
        store->subscriptions = s->next;
        free(s->classes);
        free(s->owner);
        free(s);
    }
    for (size_t i = 0; i < store->n_statements; i++) {
        sqlite3_finalize(store->statements[i].stmt);
        free(store->statements[i].sql);
    }
    free(store->statements);
    if (store->db) {
        store_sync(store);
    }
    if (store->flush_timer) {
        event_free(store->flush_timer);
    }
    sqlite3_close_v2(store->db);
    free(store->pending);
    for (size_t i = 0; i < store->n_batches; i++) {
        store_clear_pending(store->batches[i].pending, store->batches[i].n);
        free(store->batches[i].pending);
    }
    free(store->batches);
    for (size_t i = 0; i < store->n_actors; i++) {
        free(store->actors[i]);
    }
    free(store->actors);
    free(store->local_host);
    free(store);
}

int
store_schema_version(struct store *store)
{
    return store_read_version(store);
}

void
store_set_local_host(struct store *store, const char *host)
{
    free(store->local_host);
    store->local_host = xstrdup(host ? host : "");
}

const char *
store_local_host(const struct store *store)
{
    return store->local_host ? store->local_host : "";
}

/* The change feed. */

struct store_subscription *
store_subscribe(struct store *store, const char *const *classes,
                unsigned int kinds, const char *owner, store_feed_cb *cb,
                void *aux)
{
    struct store_subscription *s = xzalloc(sizeof *s);

    s->store = store;
    s->kinds = kinds;
    s->owner = owner ? xstrdup(owner) : NULL;
    s->cb = cb;
    s->aux = aux;
    if (classes) {
        size_t n = 0;
        while (classes[n]) {
            n++;
        }
        s->classes = xzalloc((n + 1) * sizeof *s->classes);
        for (size_t i = 0, j = 0; i < n; i++) {
            const struct store_class *class =
                store_class_find(classes[i], false);
            if (class) {
                s->classes[j++] = class;
            } else {
                log_warn("subscription to unknown class %s", classes[i]);
            }
        }
    }

    struct store_subscription **tail = &store->subscriptions;
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = s;
    return s;
}

void
store_unsubscribe(struct store_subscription *s)
{
    if (!s) {
        return;
    }
    s->dead = true;
    if (!s->store->delivering) {
        free_dead_subscriptions(s->store);
    }
}

/* Writes. */

int
store_insert(struct store *store, const char *class_name, const char *uuid,
             struct json_object *record)
{
    const struct store_class *class = store_class_find(class_name, false);
    if (!class) {
        return EINVAL;
    }
    if (store_exists(store, class_name, uuid)) {
        return EEXIST;
    }

    struct json_object *desired = store_parse_record(class, "{}", false);
    struct json_object *observed = NULL;
    json_object_object_foreach (record, key, value) {
        const struct store_field *f = store_class_field(class, key);
        if (!f || (f->flags & FIELD_DERIVED)) {
            continue;
        } else if (store_field_is_observed(f)) {
            if (!observed) {
                observed = store_parse_record(class, "{}", true);
            }
            json_object_object_add(observed, key, json_object_get(value));
        } else {
            json_object_object_add(desired, key, json_object_get(value));
        }
    }

    int error = store_begin(store);
    if (!error) {
        error = store_write_desired(store, class, uuid, NULL, desired);
        if (!error && observed) {
            char *owner = stored_owner(store, uuid);
            error = write_observed(store, class, uuid, NULL, observed, owner);
            free(owner);
        }
        if (!error) {
            error =
                log_merged_event(store, class, uuid, "add", desired, observed);
        }
        if (error) {
            store->failed = true;
        }
        int commit_error = store_commit(store);
        error = error ? error : commit_error;
    }
    json_object_put(desired);
    json_object_put(observed);
    return error;
}

int
store_update(struct store *store, const char *class_name, const char *uuid,
             struct json_object *changes)
{
    const struct store_class *class = store_class_find(class_name, false);
    if (!class) {
        return EINVAL;
    }
    struct json_object *old = store_load_desired(store, class, uuid);
    if (!old) {
        return ENOENT;
    }
    json_object_object_del(old, "uuid");

    struct json_object *desired = NULL, *observed = NULL, *old_observed;
    old_observed = store_load_observed(store, class, uuid);
    json_object_object_foreach (changes, key, value) {
        const struct store_field *f = store_class_field(class, key);
        struct json_object *current;
        bool is_observed = f && store_field_is_observed(f);
        if (!f || (f->flags & FIELD_DERIVED)) {
            continue;
        }
        if (json_object_object_get_ex(is_observed ? old_observed : old, key,
                                      &current)
            && json_object_equal(current, value)) {
            continue;
        }
        struct json_object **target = is_observed ? &observed : &desired;
        if (!*target) {
            json_object_deep_copy(is_observed ? old_observed : old, target,
                                  NULL);
        }
        json_object_object_add(*target, key, json_object_get(value));
    }

    int error = 0;
    if (desired || observed) {
        error = store_begin(store);
        if (!error) {
            if (desired) {
                error = store_write_desired(store, class, uuid, old, desired);
            }
            if (!error && observed) {
                char *owner = stored_owner(store, uuid);
                error = write_observed(store, class, uuid, old_observed,
                                       observed, owner);
                free(owner);
            }
            if (!error) {
                error = log_merged_event(store, class, uuid, "mod",
                                         desired ? desired : old,
                                         observed ? observed : old_observed);
            }
            if (error) {
                store->failed = true;
            }
            int commit_error = store_commit(store);
            error = error ? error : commit_error;
        }
    }
    json_object_put(old);
    json_object_put(old_observed);
    json_object_put(desired);
    json_object_put(observed);
    return error;
}

int
store_delete(struct store *store, const char *class_name, const char *uuid)
{
    const struct store_class *class = store_class_find(class_name, false);
    if (!class || !store_exists(store, class_name, uuid)) {
        return ENOENT;
    }

    int error = store_begin(store);
    if (error) {
        return error;
    }
    error = store_remove(store, class, uuid);
    if (!error) {
        error = store_log_event(store, class->name, uuid, "del", NULL);
    }
    if (error) {
        store->failed = true;
    }
    int commit_error = store_commit(store);
    return error ? error : commit_error;
}

int
store_begin(struct store *store)
{
    if (store->depth++ == 0) {
        int error = store_exec(store, "BEGIN IMMEDIATE");
        if (error) {
            store->depth = 0;
            return error;
        }
        store->failed = false;
        store->begin_local_seq = store->last_local_seq;
    }
    return 0;
}

int
store_commit(struct store *store)
{
    if (store->depth <= 0) {
        return EINVAL;
    }
    if (--store->depth > 0) {
        return 0;
    }
    if (store->failed) {
        store_abort(store);
        store_clear_pending(store->pending, store->n_pending);
        store->n_pending = 0;
        return EIO;
    }
    if (store_needs_replication(store)) {
        return store_commit_replicated(store);
    }
    int error = store_exec(store, "COMMIT");
    if (error) {
        store_abort(store);
        store_clear_pending(store->pending, store->n_pending);
        store->n_pending = 0;
        return error;
    }
    if (must_flush_now(store)) {
        error = store_sync(store);
    }

    /* Subscribers may write, which opens a transaction of its own: hand
     * them this one's changes from a list of their own. */
    struct store_pending *pending = store->pending;
    size_t n = store->n_pending;
    store->pending = NULL;
    store->n_pending = store->allocated_pending = 0;
    store_send_observations(store, pending, n);
    store_publish(store, pending, n);
    return error;
}

void
store_rollback(struct store *store)
{
    if (store->depth > 0) {
        store->depth = 0;
        store_abort(store);
        store_clear_pending(store->pending, store->n_pending);
        store->n_pending = 0;
    }
}

void
store_set_sync(struct store *store, enum store_sync sync,
               struct event_base *base)
{
    if (sync == STORE_SYNC_INTERVAL && base) {
        if (!store->flush_timer) {
            store->flush_timer = evtimer_new(base, on_flush_timer, store);
        }
        store->sync = STORE_SYNC_INTERVAL;
        if (store->unflushed) {
            arm_flush_timer(store);
        }
    } else {
        store->sync = STORE_SYNC_FULL;
        if (store->flush_timer) {
            event_free(store->flush_timer);
            store->flush_timer = NULL;
        }
        store_sync(store);
    }
}

int
store_sync(struct store *store)
{
    if (!store->unflushed) {
        return 0;
    }

    /* In WAL mode a commit is durable once the log holds it on the disk:
     * one flush of the log covers every commit appended since the last. */
    sqlite3_file *wal = NULL;
    if (sqlite3_file_control(store->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
                             &wal)
            != SQLITE_OK
        || !wal || !wal->pMethods) {
        store->unflushed = 0; /* Nothing was ever written to it. */
        return 0;
    }
    int rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
    store->flushes++;
    if (rc != SQLITE_OK) {
        if (!store->flush_failed) {
            log_error("cannot flush the store's log: %s", sqlite3_errstr(rc));
        }
        store->flush_failed = true;
        arm_flush_timer(store);
        return EIO;
    }
    if (store->flush_failed) {
        log_info("the store's log reaches the disk again");
    }
    store->flush_failed = false;
    store->unflushed = 0;
    return 0;
}

void
store_get_sync_stats(const struct store *store, struct store_sync_stats *stats)
{
    stats->flushes = store->flushes;
    stats->unflushed = store->unflushed;
}

void
store_defer_flush(struct store *store)
{
    store->deferred++;
}

int
store_flush(struct store *store)
{
    if (store->deferred <= 0 || --store->deferred > 0) {
        return 0;
    }
    /* In STORE_SYNC_INTERVAL the timer flushes them, as any commit. */
    return store->sync == STORE_SYNC_FULL ? store_sync(store) : 0;
}

void
store_abort(struct store *store)
{
    store_exec(store, "ROLLBACK");
    /* What the transaction logged is gone: so is its log head, and the
     * entry this host last wrote is the one before it. */
    load_log_head(store);
    store->last_local_seq = store->begin_local_seq;
}

void
store_hold_feed(struct store *store)
{
    store->held++;
}

void
store_release_feed(struct store *store)
{
    if (store->held > 0 && --store->held == 0) {
        /* Delivering may commit and queue again only if a subscriber holds
         * the feed itself; take the batches one at a time. */
        while (store->n_batches && !store->held) {
            struct store_batch batch = store->batches[0];
            memmove(&store->batches[0], &store->batches[1],
                    --store->n_batches * sizeof *store->batches);
            deliver(store, batch.pending, batch.n, batch.seq);
            store_clear_pending(batch.pending, batch.n);
            free(batch.pending);
        }
    }
}

void
store_push_actor(struct store *store, const char *actor)
{
    if (store->n_actors >= store->allocated_actors) {
        store->allocated_actors = store->allocated_actors * 2 + 4;
        store->actors = xrealloc(store->actors, store->allocated_actors
                                                    * sizeof *store->actors);
    }
    store->actors[store->n_actors++] = xstrdup(actor ? actor : "system");
}

void
store_pop_actor(struct store *store)
{
    if (store->n_actors) {
        free(store->actors[--store->n_actors]);
    }
}

const char *
store_actor(const struct store *store)
{
    return store->n_actors ? store->actors[store->n_actors - 1] : "system";
}

/* Internal interface. */

int
store_exec(struct store *store, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("sql failed: %s (%.60s)", msg ? msg : "?", sql);
        sqlite3_free(msg);
        return EIO;
    }
    return 0;
}

int
store_prepare(struct store *store, const char *sql, sqlite3_stmt **stmt)
{
    uint32_t hash = sql_hash(sql);

    for (size_t i = 0; i < store->n_statements; i++) {
        struct store_statement *s = &store->statements[i];
        if (s->hash == hash && !s->busy && !strcmp(s->sql, sql)) {
            s->busy = true;
            *stmt = s->stmt;
            return 0;
        }
    }
    if (sqlite3_prepare_v2(store->db, sql, -1, stmt, NULL) != SQLITE_OK) {
        log_error("sql failed: %s (%.60s)", sqlite3_errmsg(store->db), sql);
        *stmt = NULL;
        return EIO;
    }

    /* The texts are the store's own, with class and field names at most
     * filled in: a bounded set, kept unless one is already kept (a
     * statement used again while in use gets a copy of its own). */
    bool kept = false;
    for (size_t i = 0; i < store->n_statements && !kept; i++) {
        kept = store->statements[i].hash == hash
               && !strcmp(store->statements[i].sql, sql);
    }
    if (!kept && store->n_statements < MAX_STATEMENTS) {
        if (!store->statements) {
            store->statements =
                xzalloc(MAX_STATEMENTS * sizeof *store->statements);
        }
        store->statements[store->n_statements++] = (struct store_statement){
            .sql = xstrdup(sql),
            .hash = hash,
            .stmt = *stmt,
            .busy = true,
        };
    }
    return 0;
}

void
store_finish(struct store *store, sqlite3_stmt *stmt)
{
    if (!stmt) {
        return;
    }
    for (size_t i = 0; i < store->n_statements; i++) {
        struct store_statement *s = &store->statements[i];
        if (s->stmt == stmt) {
            /* Reset ends its read of the database; the bindings may point
             * at the caller's memory. */
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            s->busy = false;
            return;
        }
    }
    sqlite3_finalize(stmt);
}

int
store_write_desired(struct store *store, const struct store_class *class,
                    const char *uuid, struct json_object *old,
                    struct json_object *record)
{
    json_object_object_del(record, "uuid");
    const char *text =
        json_object_to_json_string_ext(record, JSON_C_TO_STRING_PLAIN);
    char *owner = owner_of(store, class, uuid, record);
    char *old_owner = old ? stored_owner(store, uuid) : xstrdup("");
    uint64_t seq = 0;
    int error = 0;

    /* The pool's epoch stamps every log entry, the entry that raises it
     * included. */
    struct json_object *epoch;
    if (!strcmp(class->name, "pool")
        && json_object_object_get_ex(record, "epoch", &epoch)) {
        store->epoch = (uint64_t) json_object_get_int64(epoch);
    }
    if (!class->local) {
        error = store_log_change(store, class->name, uuid, old ? "mod" : "add",
                                 record, &seq);
    }

    sqlite3_stmt *stmt = NULL;
    if (!error) {
        error = store_prepare(
            store,
            old ? "UPDATE objects SET host = ?3, record = ?4, seq = ?5"
                  " WHERE uuid = ?1 AND class = ?2"
                : "INSERT INTO objects(uuid, class, host, record, seq)"
                  " VALUES(?1, ?2, ?3, ?4, ?5)",
            &stmt);
    }
    if (!error) {
        sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, class->name, -1, SQLITE_STATIC);
        if (*owner) {
            sqlite3_bind_text(stmt, 3, owner, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(stmt, 3);
        }
        sqlite3_bind_text(stmt, 4, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(stmt, 5, (sqlite3_int64) seq);
        if (sqlite3_step(stmt) != SQLITE_DONE) {
            log_error("write of %s %s failed: %s", class->name, uuid,
                      sqlite3_errmsg(store->db));
            error = EIO;
        }
    }
    store_finish(store, stmt);

    if (!error) {
        queue_change(store, class, uuid, old ? STORE_OP_MOD : STORE_OP_ADD,
                     false, seq, old, record, changed_fields(old, record),
                     old_owner, owner);
    }
    if (!error && strcmp(owner, old_owner)) {
        error = move_dependents(store, class, uuid, owner);
    }
    free(owner);
    free(old_owner);
    if (error) {
        store->failed = true;
    }
    return error;
}

int
store_remove(struct store *store, const struct store_class *class,
             const char *uuid)
{
    struct json_object *old = store_load_desired(store, class, uuid);
    if (!old) {
        return ENOENT;
    }
    json_object_object_del(old, "uuid");
    char *old_owner = stored_owner(store, uuid);
    uint64_t seq = 0;
    int error = 0;

    if (!class->local) {
        error = store_log_change(store, class->name, uuid, "del", NULL, &seq);
    }
    for (int i = 0; i < 2 && !error; i++) {
        sqlite3_stmt *stmt;
        error = store_prepare(store,
                              i == 0 ? "DELETE FROM objects WHERE uuid = ?"
                                     : "DELETE FROM loc.observed"
                                       " WHERE uuid = ?",
                              &stmt);
        if (!error) {
            sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
            error = sqlite3_step(stmt) == SQLITE_DONE ? 0 : EIO;
        }
        store_finish(store, stmt);
    }
    if (!error) {
        queue_change(store, class, uuid, STORE_OP_DEL, false, seq, old, NULL,
                     json_object_new_array(), old_owner, "");
    }
    if (!error && *old_owner) {
        error = move_dependents(store, class, uuid, "");
    }
    json_object_put(old);
    free(old_owner);
    if (error) {
        store->failed = true;
    }
    return error;
}

/* Lifecycle. */

/* Reads the chain hash of the log's last entry and the pool's epoch. */
static void
load_log_head(struct store *store)
{
    sqlite3_stmt *stmt;

    store->log_hash[0] = '\0';
    store->epoch = 0;
    if (!store_prepare(store,
                       "SELECT value FROM main.meta WHERE key = 'log_hash'",
                       &stmt)) {
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            snprintf(store->log_hash, sizeof store->log_hash, "%s",
                     (const char *) sqlite3_column_text(stmt, 0));
        }
        store_finish(store, stmt);
    }
    if (!store_prepare(store,
                       "SELECT json_extract(record, '$.epoch') FROM objects"
                       " WHERE class = 'pool' LIMIT 1",
                       &stmt)) {
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            store->epoch = (uint64_t) sqlite3_column_int64(stmt, 0);
        }
        store_finish(store, stmt);
    }
}

/* Durability. */

/* SQLite's hook after each commit that appended 'pages' to the log of
 * database 'db': counts the durable database's commits not flushed yet,
 * starts the flush timer in STORE_SYNC_INTERVAL (a pool's entries are
 * flushed at once instead, by store_commit()), and checkpoints a log grown
 * past CHECKPOINT_PAGES as SQLite's automatic checkpoint would. */
static int
log_written(void *store_, sqlite3 *db, const char *name, int pages)
{
    struct store *store = store_;

    if (!strcmp(name, "main")) {
        if (!store->unflushed++ && store->sync == STORE_SYNC_INTERVAL
            && !store->pool_apply) {
            arm_flush_timer(store);
        }
    }
    if (pages >= CHECKPOINT_PAGES) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL,
                                  NULL);
    }
    return SQLITE_OK;
}

/* Makes the flush timer, if there is one, go off STORE_SYNC_INTERVAL_MS
 * from now. */
static void
arm_flush_timer(struct store *store)
{
    struct timeval tv = {STORE_SYNC_INTERVAL_MS / 1000,
                         STORE_SYNC_INTERVAL_MS % 1000 * 1000};

    if (store->flush_timer) {
        evtimer_add(store->flush_timer, &tv);
    }
}

static void
on_flush_timer(evutil_socket_t fd, short what, void *store_)
{
    (void) fd;
    (void) what;
    store_sync(store_);
}

/* Returns true if the commit that just happened must be on the disk before
 * store_commit() returns: what a pool member applies of the pool's log (it
 * tells the pool it holds it durably right after), and every commit in
 * STORE_SYNC_FULL outside a group commit. */
static bool
must_flush_now(const struct store *store)
{
    return store->unflushed
           && (store->pool_apply
               || (store->sync == STORE_SYNC_FULL && !store->deferred));
}

/* Writes. */

/* Stores 'new', the observed part of 'uuid' (complete; 'old' is what it
 * was), and queues the observation for the subscribers. */
static int
write_observed(struct store *store, const struct store_class *class,
               const char *uuid, struct json_object *old,
               struct json_object *new, const char *owner)
{
    sqlite3_stmt *stmt;
    int error = store_prepare(store,
                              "INSERT OR REPLACE INTO loc.observed(uuid,"
                              " class, record) VALUES(?, ?, ?)",
                              &stmt);
    if (!error) {
        sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, class->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(
            stmt, 3,
            json_object_to_json_string_ext(new, JSON_C_TO_STRING_PLAIN), -1,
            SQLITE_TRANSIENT);
        error = sqlite3_step(stmt) == SQLITE_DONE ? 0 : EIO;
    }
    store_finish(store, stmt);
    if (!error) {
        struct json_object *fields = changed_fields(old, new);
        if (!old) {
            /* A first observation: only what differs from the defaults
             * changed. */
            struct json_object *defaults =
                store_parse_record(class, "{}", true);
            json_object_put(fields);
            fields = changed_fields(defaults, new);
            json_object_put(defaults);
        }
        queue_change(store, class, uuid, STORE_OP_MOD, true, 0, old, new,
                     fields, owner, owner);
    }
    return error;
}

/* Logs the event of a write: the object's desired and observed parts
 * merged (observed may be NULL: the defaults). */
static int
log_merged_event(struct store *store, const struct store_class *class,
                 const char *uuid, const char *operation,
                 struct json_object *desired, struct json_object *observed)
{
    struct json_object *merged = NULL;
    json_object_deep_copy(desired, &merged, NULL);
    struct json_object *obs = observed
                                  ? json_object_get(observed)
                                  : store_load_observed(store, class, uuid);
    json_object_object_foreach (obs, key, value) {
        json_object_object_add(merged, key, json_object_get(value));
    }
    json_object_object_del(merged, "uuid");
    int error = store_log_event(store, class->name, uuid, operation, merged);
    json_object_put(obs);
    json_object_put(merged);
    return error;
}

/* Owners. */

/* Returns the owner (a new string, "" for none) that 'record' of object
 * 'uuid' gives it. */
static char *
owner_of(struct store *store, const struct store_class *class,
         const char *uuid, struct json_object *record)
{
    if (!class->owner_field) {
        return xstrdup("");
    } else if (!strcmp(class->owner_field, "uuid")) {
        return xstrdup(uuid);
    }
    const char *ref = record_string(record, class->owner_field);
    if (!class->owner_via || !*ref) {
        return xstrdup(ref);
    }
    char *owner = stored_owner(store, ref);
    return owner ? owner : xstrdup("");
}

/* Returns the stored owner of object 'uuid' (a new string, "" for none),
 * or NULL if there is no such object. */
static char *
stored_owner(struct store *store, const char *uuid)
{
    sqlite3_stmt *stmt;
    char *owner = NULL;

    if (store_prepare(store, "SELECT host FROM objects WHERE uuid = ?",
                      &stmt)) {
        return NULL;
    }
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *host = (const char *) sqlite3_column_text(stmt, 0);
        owner = xstrdup(host ? host : "");
    }
    store_finish(store, stmt);
    return owner;
}

/* Gives 'owner' to every object whose owner is inherited from object
 * 'uuid' of 'class' (a VM's VIFs, a PIF's bonds and VLANs), and so on down,
 * queueing an owner change for each. */
static int
move_dependents(struct store *store, const struct store_class *class,
                const char *uuid, const char *owner)
{
    for (const struct store_class *const *d = store_classes(); *d; d++) {
        if (!(*d)->owner_via || strcmp((*d)->owner_via, class->name)) {
            continue;
        }

        char *sql = xasprintf("SELECT uuid, host, record FROM objects"
                              " WHERE class = ? AND json_extract(record,"
                              " '$.\"%s\"') = ?",
                              (*d)->owner_field);
        sqlite3_stmt *stmt;
        int error = store_prepare(store, sql, &stmt);
        free(sql);
        if (error) {
            return error;
        }
        sqlite3_bind_text(stmt, 1, (*d)->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, uuid, -1, SQLITE_STATIC);
        struct json_object *moved = json_object_new_object();
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *host = (const char *) sqlite3_column_text(stmt, 1);
            if (strcmp(host ? host : "", owner)) {
                struct json_object *entry = json_object_new_object();
                json_object_object_add(
                    entry, "host", json_object_new_string(host ? host : ""));
                json_object_object_add(
                    entry, "record",
                    store_parse_record(
                        *d, (const char *) sqlite3_column_text(stmt, 2),
                        false));
                json_object_object_add(
                    moved, (const char *) sqlite3_column_text(stmt, 0), entry);
            }
        }
        store_finish(store, stmt);

        json_object_object_foreach (moved, dep, entry) {
            error = store_prepare(
                store, "UPDATE objects SET host = ? WHERE uuid = ?", &stmt);
            if (!error) {
                if (*owner) {
                    sqlite3_bind_text(stmt, 1, owner, -1, SQLITE_STATIC);
                } else {
                    sqlite3_bind_null(stmt, 1);
                }
                sqlite3_bind_text(stmt, 2, dep, -1, SQLITE_STATIC);
                error = sqlite3_step(stmt) == SQLITE_DONE ? 0 : EIO;
            }
            store_finish(store, stmt);
            if (!error) {
                struct json_object *record =
                    json_object_object_get(entry, "record");
                queue_change(store, *d, dep, STORE_OP_MOD, false, 0, record,
                             record, json_object_new_array(),
                             record_string(entry, "host"), owner);
                error = move_dependents(store, *d, dep, owner);
            }
            if (error) {
                break;
            }
        }
        json_object_put(moved);
        if (error) {
            return error;
        }
    }
    return 0;
}

/* Pending changes and their delivery. */

/* Returns a new array of the names of the fields whose values differ
 * between 'old' (NULL: every field of 'new') and 'new'. */
static struct json_object *
changed_fields(struct json_object *old, struct json_object *new)
{
    struct json_object *fields = json_object_new_array();

    json_object_object_foreach (new, key, value) {
        struct json_object *before;
        if (!old || !json_object_object_get_ex(old, key, &before)
            || !json_object_equal(before, value)) {
            json_object_array_add(fields, json_object_new_string(key));
        }
    }
    return fields;
}

/* Queues a change of the open transaction.  Takes 'fields'; 'old' and
 * 'new' are borrowed (a reference is kept). */
static void
queue_change(struct store *store, const struct store_class *class,
             const char *uuid, enum store_op op, bool observed, uint64_t seq,
             struct json_object *old, struct json_object *new,
             struct json_object *fields, const char *old_owner,
             const char *new_owner)
{
    if (store->n_pending >= store->allocated_pending) {
        store->allocated_pending = store->allocated_pending * 2 + 8;
        store->pending = xrealloc(
            store->pending, store->allocated_pending * sizeof *store->pending);
    }
    struct store_pending *p = &store->pending[store->n_pending++];
    p->uuid = xstrdup(uuid);
    p->old_owner = xstrdup(old_owner ? old_owner : "");
    p->new_owner = xstrdup(new_owner ? new_owner : "");
    p->change = (struct store_change){
        .class = class,
        .uuid = p->uuid,
        .op = op,
        .observed = observed,
        .seq = seq,
        .old = old ? json_object_get(old) : NULL,
        .new = new ? json_object_get(new) : NULL,
        .fields = fields,
        .old_owner = p->old_owner,
        .new_owner = p->new_owner,
    };
}

void
store_publish(struct store *store, struct store_pending *pending, size_t n)
{
    if (!n) {
        free(pending);
    } else if (store->held) {
        if (store->n_batches >= store->allocated_batches) {
            store->allocated_batches = store->allocated_batches * 2 + 4;
            store->batches =
                xrealloc(store->batches,
                         store->allocated_batches * sizeof *store->batches);
        }
        store->batches[store->n_batches++] =
            (struct store_batch){pending, n, store_last_seq(store)};
    } else {
        deliver(store, pending, n, store_last_seq(store));
        store_clear_pending(pending, n);
        free(pending);
    }
}

void
store_clear_pending(struct store_pending *pending, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_object_put(pending[i].change.old);
        json_object_put(pending[i].change.new);
        json_object_put(pending[i].change.fields);
        free(pending[i].uuid);
        free(pending[i].old_owner);
        free(pending[i].new_owner);
    }
}

/* Hands each subscriber the changes it wants of a committed
 * transaction. */
static void
deliver(struct store *store, struct store_pending *pending, size_t n,
        uint64_t seq)
{
    struct store_change *wanted = xmalloc(n * sizeof *wanted);

    /* Subscriptions made during the delivery do not hear of changes made
     * before they existed. */
    struct store_subscription *last = store->subscriptions;
    while (last && last->next) {
        last = last->next;
    }
    store->delivering++;
    for (struct store_subscription *s = store->subscriptions; s;
         s = s == last ? NULL : s->next) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (wants(s, &pending[i].change)) {
                wanted[m++] = pending[i].change;
            }
        }
        if (m && !s->dead) {
            s->cb(s->aux, wanted, m, seq);
        }
    }
    store->delivering--;
    free(wanted);
    if (!store->delivering) {
        free_dead_subscriptions(store);
    }
}

static bool
wants(const struct store_subscription *s, const struct store_change *c)
{
    if (s->classes) {
        bool found = false;
        for (size_t i = 0; s->classes[i]; i++) {
            if (s->classes[i] == c->class) {
                found = true;
                break;
            }
        }
        if (!found) {
            return false;
        }
    }
    if (c->op != STORE_OP_DEL
        && !(s->kinds
             & (c->observed ? STORE_FEED_OBSERVED : STORE_FEED_DESIRED))) {
        return false;
    }
    if (s->owner && c->class->owner_field) {
        /* An unowned object is everyone's: its moving to another host is
         * news to all who hold it.  An object made or removed elsewhere
         * is no one else's news. */
        return !strcmp(c->old_owner, s->owner)
               || !strcmp(c->new_owner, s->owner)
               || (c->op != STORE_OP_ADD && !*c->old_owner)
               || (c->op != STORE_OP_DEL && !*c->new_owner);
    }
    return true;
}

static void
free_dead_subscriptions(struct store *store)
{
    struct store_subscription **s = &store->subscriptions;

    while (*s) {
        if ((*s)->dead) {
            struct store_subscription *dead = *s;
            *s = dead->next;
            free(dead->classes);
            free(dead->owner);
            free(dead);
        } else {
            s = &(*s)->next;
        }
    }
}

/* FNV-1a of 'sql', to tell cached statements apart quickly. */
static uint32_t
sql_hash(const char *sql)
{
    uint32_t hash = 2166136261u;

    for (const unsigned char *p = (const unsigned char *) sql; *p; p++) {
        hash = (hash ^ *p) * 16777619u;
    }
    return hash;
}
