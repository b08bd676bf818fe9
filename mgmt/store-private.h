/*
 * What the store's own files (store*.c) share: the store structure, the
 * pending changes of the open transaction and the database helpers.
 * Nothing outside store*.c includes this.
 *
 * Tables of the durable database ("main"):
 *   meta(key, value)                    schema_version and similar facts
 *   objects(uuid, class, host, seq, record)   one row per object: its
 *                                       desired fields as JSON, its owning
 *                                       host (indexed) and the sequence
 *                                       number of its last logged change
 *   changes(seq, class, uuid, operation, snapshot, timestamp, origin,
 *           actor, epoch)               the replicated log
 * Tables of the local database ("loc", PATH-local, synchronous=NORMAL):
 *   observed(uuid, class, record)       observed fields of an object
 *   events(id, class, uuid, operation, snapshot, timestamp)
 *                                       what this host saw, for event.from
 */
#ifndef NETPOOL_MGMT_STORE_PRIVATE_H
#define NETPOOL_MGMT_STORE_PRIVATE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt/store.h"

struct event;
struct sqlite3;
struct sqlite3_stmt;

/* A row change of the open transaction, delivered after the commit. */
struct store_pending {
    struct store_change change;  /* What subscribers receive; the strings and
                                 * JSON below are owned here. */
    char *uuid;                  /* Owned copy of change.uuid. */
    char *old_owner, *new_owner; /* Owned copies of the owners. */
};

struct store_subscription {
    struct store *store;                /* Owner. */
    const struct store_class **classes; /* Classes wanted (NULL-terminated),
                                         * or NULL for all. */
    unsigned int kinds;                 /* STORE_FEED_* bits. */
    char *owner;                        /* Host filter, or NULL. */
    store_feed_cb *cb;                  /* Callback. */
    void *aux;                          /* Its argument. */
    bool dead;                          /* Unsubscribed during a delivery. */
    struct store_subscription *next;    /* In store->subscriptions. */
};

struct store {
    struct sqlite3 *db; /* The open database, "loc" attached. */
    int depth;          /* Nesting depth of store_begin(). */
    bool failed;        /* A write failed inside the transaction. */
    int delivering;     /* Nesting depth of deliveries running. */
    char **actors;      /* Stack of authors; the last writes now. */
    size_t n_actors, allocated_actors;
    char *local_host; /* This host, the origin of its changes. */
    uint64_t epoch;   /* Epoch recorded on new log entries. */

    struct store_pending *pending; /* Changes of the open transaction. */
    size_t n_pending, allocated_pending;

    struct store_subscription *subscriptions; /* In subscription order. */

    /* While store_apply_changes() runs: the entry being applied, whose
     * sequence, origin, actor, epoch and timestamp the log keeps. */
    struct json_object *applying;
    bool loading; /* store_load_snapshot() runs: nothing is logged. */

    /* Replication (store-pool.c). */
    const struct store_replicator *replicator; /* In a pool, or NULL. */
    void *replicator_aux;                      /* Its argument. */
    bool pool_apply;       /* Applying another host's transaction or
                          * observations: commit here, send nothing. */
    bool local_only;       /* Redoing this host's local part of a
                          * replicated commit: commit here. */
    const char *origin;    /* Origin of the transaction being applied. */
    const char *timestamp; /* And its writer's time. */
    char log_hash[STORE_HASH_LENGTH + 1]; /* Chain hash of the last log
                                           * entry. */
    uint64_t last_local_seq;              /* Last entry this host wrote. */
    uint64_t begin_local_seq;             /* That, when the open
                                           * transaction began. */

    /* Statements kept prepared, by SQL text (store_prepare()). */
    struct store_statement *statements;
    size_t n_statements;

    /* Durability (store_set_sync()). */
    enum store_sync sync;      /* When commits reach the disk. */
    struct event *flush_timer; /* Flushes the log in STORE_SYNC_INTERVAL,
                                * or NULL. */
    uint64_t unflushed;        /* Commits appended to the durable
                                * database's log since its last flush. */
    uint64_t flushes;          /* Flushes of that log. */
    bool flush_failed;         /* The last flush failed (logged once). */

    /* Group commit: nesting depth of store_defer_flush(). */
    int deferred;

    /* Held feed: batches committed while held, delivered on release. */
    int held;
    struct store_batch *batches;
    size_t n_batches, allocated_batches;
};

/* A prepared statement the store keeps for its SQL text. */
struct store_statement {
    char *sql;                 /* The text. */
    uint32_t hash;             /* Its hash, compared first. */
    struct sqlite3_stmt *stmt; /* Prepared. */
    bool busy;                 /* Handed out and not given back yet. */
};

/* A committed transaction's changes waiting for delivery. */
struct store_batch {
    struct store_pending *pending; /* Its changes. */
    size_t n;                      /* Their number. */
    uint64_t seq;                  /* The log's last sequence then. */
};

/* Database helpers (store.c). */

/* Runs 'sql' (several statements allowed).  Returns 0 or EIO, logged. */
int store_exec(struct store *, const char *sql);

/* Prepares 'sql' into '*stmt', or hands out the statement prepared for the
 * same text earlier if no one uses it: the store parses each of its few
 * SQL texts once, not once per call.  Returns 0 or EIO, logged.  The
 * statement goes back with store_finish(), never sqlite3_finalize(). */
int store_prepare(struct store *, const char *sql, struct sqlite3_stmt **);

/* Gives back a statement of store_prepare() (NULL allowed): reset for the
 * next use, or finalized if it is not one the store keeps. */
void store_finish(struct store *, struct sqlite3_stmt *);

/* Rolls the open SQLite transaction back, with what it cached. */
void store_abort(struct store *);

/* Records. */

/* Parses a stored record of 'class' and fills the fields it lacks with
 * their defaults: desired fields when 'observed' is false, observed fields
 * when it is true.  Returns a new object or NULL. */
struct json_object *store_parse_record(const struct store_class *,
                                       const char *text, bool observed);

/* Returns the desired record (fields filled, with "uuid") of 'uuid', or
 * NULL. */
struct json_object *store_load_desired(struct store *,
                                       const struct store_class *,
                                       const char *uuid);

/* Returns the observed part (fields filled) of 'uuid': its stored
 * observations, or the defaults when it has none.  A new object. */
struct json_object *store_load_observed(struct store *,
                                        const struct store_class *,
                                        const char *uuid);

/* Fills the DERIVED fields of every record in 'all' (UUID → record). */
void store_add_derived_fields(struct store *, const struct store_class *,
                              struct json_object *all);

/* The default value of 'field', a new JSON value. */
struct json_object *store_zero_value(const struct store_field *);

/* Log (store-log.c). */

/* Appends a log entry for a desired change of a pool-wide class (with
 * the sequence, origin, actor, epoch and timestamp of the entry being
 * applied, if any, else new ones).  Returns 0 and sets '*seq', or EIO. */
int store_log_change(struct store *, const char *class, const char *uuid,
                     const char *operation, struct json_object *snapshot,
                     uint64_t *seq);

/* Appends an event ('snapshot' merged desired and observed, or NULL for a
 * delete).  Returns 0 or EIO. */
int store_log_event(struct store *, const char *class, const char *uuid,
                    const char *operation, struct json_object *snapshot);

/* Replication (store-pool.c). */

/* Returns true if the open transaction holds desired changes that a pool
 * replicates and must go through the replicator. */
bool store_needs_replication(const struct store *);

/* Commits the open transaction through the replicator: its replicated
 * part is rolled back here and ordered by the pool, then its local part
 * (observations, local classes) is redone here.  Returns 0 or an errno. */
int store_commit_replicated(struct store *);

/* Sends the observations among 'n' committed changes to the other
 * members, unless they came from another member. */
void store_send_observations(struct store *, const struct store_pending *,
                             size_t n);

/* Delivers a committed transaction's changes (taking 'pending'), now or,
 * while the feed is held, on release. */
void store_publish(struct store *, struct store_pending *, size_t n);

/* Frees the strings and records of 'n' changes. */
void store_clear_pending(struct store_pending *, size_t n);

/* Migrations (store-migrate.c). */

/* Creates or migrates both databases to STORE_SCHEMA_VERSION.  Returns 0
 * or a positive errno. */
int store_migrate(struct store *);

/* Returns the schema version recorded in the database. */
int store_read_version(struct store *);

/* Returns true if objects of 'class' have an index on 'field' (a desired
 * reference, or a field searched by value): queries of the form
 * "WHERE class = 'CLASS' AND json_extract(record, '$."FIELD"') = ?" use
 * it. */
bool store_field_indexed(const struct store_class *class,
                         const struct store_field *field);

/* Writes (store.c), for the log's snapshot and apply calls. */

/* Writes the desired 'record' (complete, without "uuid"; borrowed) of
 * object 'uuid' of 'class', which was 'old' (NULL for a new object;
 * borrowed): logs it, moves the owner of objects that inherit it, queues
 * the change for the subscribers and the event.  Returns 0 or EIO. */
int store_write_desired(struct store *, const struct store_class *,
                        const char *uuid, struct json_object *old,
                        struct json_object *record);

/* Deletes object 'uuid' of 'class', desired and observed parts, the same
 * way.  Returns 0, ENOENT or EIO. */
int store_remove(struct store *, const struct store_class *, const char *uuid);

#endif
