/*
 * store: netpool's object store — desired state, observed state and the
 * ordered change log, in SQLite.
 *
 * Every object (pool, host, PIF, network, bond, VLAN, VIF, VM, SR, VDI,
 * VBD, task, message, user, session) is a record: a JSON object of
 * xapi-named fields keyed by its UUID.  The class schemas below say which
 * fields exist, their types, defaults, who may write them and which host
 * owns an object.
 *
 * Desired and observed state live apart.  Desired fields (what a user or
 * the daemon asked for) are stored in the durable database and every write
 * to them appends to the change log with a monotonic sequence number: the
 * log a pool replicates, in the same order on every member.  Observed
 * fields (FIELD_RUNTIME: carrier, bond state, power state, …) are what a
 * host saw; they live in a local table outside that log, so an observation
 * never moves the log and never wakes a consumer that does not ask for
 * observations.  Reads merge the two.  Classes marked 'local' (sessions,
 * tasks) stay on their host and are never in the replicated log either.
 *
 * Consumers learn what changed from a row-level feed: after each commit,
 * every subscriber receives the changed rows of the classes it asked for
 * (class, UUID, operation, old and new record, changed fields, old and new
 * owner), desired and observed changes told apart.  Every object that has
 * an owning host carries it in an indexed column, so a host reads only its
 * own objects and the pool-wide ones.
 *
 * There is one write path: the transaction calls below, each recording
 * who wrote (a user, or a "system:COMPONENT" identity for the daemon's own
 * writes) and from which host.  A write call returns only after SQLite has
 * appended a desired change to its write-ahead log, so a crash or a kill
 * of netpoold loses nothing; when that log is flushed to the disk, which a
 * crash of the machine needs, is the store's durability mode
 * (store_set_sync()).  Observations are committed without a flush, since
 * a restart observes again.
 *
 * The store has one writer: the netpoold process, single-threaded.  It
 * validates field values against the schema only on request
 * (store_check_value()); rules that span fields and objects belong to the
 * API layer and the modules that own the objects.  It never talks to OVS,
 * the kernel, corosync or clients.
 */
#ifndef NETPOOL_MGMT_STORE_H
#define NETPOOL_MGMT_STORE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct json_object;
struct np_error;
struct store;

/* Current schema version; store_open() migrates older databases to it. */
#define STORE_SCHEMA_VERSION 5

enum store_type {
    STORE_STRING,   /* JSON string. */
    STORE_INT,      /* JSON integer within [min, max]. */
    STORE_BOOL,     /* JSON boolean. */
    STORE_FLOAT,    /* JSON number. */
    STORE_ENUM,     /* JSON string from 'enum_values'. */
    STORE_REF,      /* UUID string of a 'ref_class' object, or "" for
                     * none. */
    STORE_SET,      /* JSON array of strings (refs when 'ref_class' is
                     * set). */
    STORE_MAP,      /* JSON object of string values. */
    STORE_DATETIME, /* ISO 8601 UTC string, "" for never. */
};

/* Field flags. */
#define FIELD_RO (1u << 0) /* Clients may not change it after create. */
#define FIELD_RUNTIME \
    (1u << 1)                    /* Observed state: written by the host that
                                  * observes it, kept outside the log. */
#define FIELD_SECRET (1u << 2)   /* Never returned by the API. */
#define FIELD_CREATE (1u << 3)   /* Accepted by <class>.create. */
#define FIELD_REQUIRED (1u << 4) /* Required by <class>.create. */
#define FIELD_DERIVED \
    (1u << 5) /* Computed from other objects on read;
                                  * never stored. */

/* One field of a class. */
struct store_field {
    const char *name;               /* xapi API name, e.g. "name_label". */
    enum store_type type;           /* Value type. */
    unsigned int flags;             /* FIELD_* bits. */
    const char *default_json;       /* Default as JSON text; NULL for the
                                     * type's zero value. */
    const char *ref_class;          /* Class referred to by REF and SET. */
    const char *const *enum_values; /* NULL-terminated, for ENUM. */
    long long min, max;             /* Inclusive range for INT when
                                     * min < max. */
    const char *inverse;            /* For DERIVED: "CLASS.field", the
                                     * objects of CLASS whose 'field' refers
                                     * to this object. */
};

/* A class of objects. */
struct store_class {
    const char *name;                 /* API class name: "PIF", "network". */
    const char *cli_name;             /* CLI prefix: "pif", "network". */
    const struct store_field *fields; /* Fields, 'uuid' excluded. */
    size_t n_fields;                  /* Entries in 'fields'. */
    const char *owner_field;          /* Field that decides the owning host:
                                       * "uuid" for host itself, a REF to a
                                       * host, or (with 'owner_via') a REF to
                                       * an object whose owner this one
                                       * shares; NULL for pool-wide
                                       * objects. */
    bool secret;                      /* Objects never listed by the API. */
    const char *owner_via;            /* Class 'owner_field' refers to when
                                       * the owner is inherited, else NULL. */
    bool local;                       /* Kept on this host only: never in the
                                       * replicated log (sessions, tasks). */
};

/* Schema. */

/* Returns the class named 'name' (API name, or CLI name when 'cli' is
 * true; CLI names match case-insensitively), or NULL. */
const struct store_class *store_class_find(const char *name, bool cli);

/* Returns every class, NULL-terminated. */
const struct store_class *const *store_classes(void);

/* Returns the field of 'class' named 'name', or NULL. */
const struct store_field *store_class_field(const struct store_class *class,
                                            const char *name);

/* Returns true if 'field' holds observed state (FIELD_RUNTIME). */
bool store_field_is_observed(const struct store_field *field);

/* Checks 'value' (borrowed) against the type of 'field' of 'class'.
 * Returns NULL if it fits, otherwise FIELD_TYPE_ERROR(field) or
 * INVALID_VALUE(field, value) for the caller to free.  Does not look at
 * other objects: whether a REF names an existing object is the caller's
 * question (store_exists()). */
struct np_error *store_check_value(const struct store_class *class,
                                   const struct store_field *field,
                                   struct json_object *value);

/* Returns a new record holding every stored field of 'class' (desired and
 * observed) at its default, without "uuid". */
struct json_object *store_default_record(const struct store_class *class);

/* Lifecycle. */

/* Opens or creates the store at 'path' (the durable database; observed
 * state and the event log go beside it in PATH-local), migrating an older
 * schema.  Returns 0 and sets '*storep', or a positive errno. */
int store_open(const char *path, struct store **storep);

/* Closes 'store'.  Accepts NULL. */
void store_close(struct store *store);

/* Returns the schema version of the open database. */
int store_schema_version(struct store *store);

/* Sets the UUID of the host this store runs on: the origin recorded on
 * every change it writes.  Until it is set the origin is "". */
void store_set_local_host(struct store *store, const char *host);

/* Returns the UUID store_set_local_host() set ("" until then). */
const char *store_local_host(const struct store *store);

/* The change feed. */

enum store_op {
    STORE_OP_ADD, /* The object appeared. */
    STORE_OP_MOD, /* Fields of the object (or its owner) changed. */
    STORE_OP_DEL, /* The object went. */
};

/* One changed row, as subscribers receive it.  Every pointer is borrowed
 * for the duration of the callback. */
struct store_change {
    const struct store_class *class; /* Its class. */
    const char *uuid;                /* The object. */
    enum store_op op;                /* What happened to it. */
    bool observed;              /* An observation (the observed part of the
                               * object changed), not a desired change. */
    uint64_t seq;               /* Sequence number in the log of a desired
                               * change of a pool-wide class, else 0. */
    struct json_object *old;    /* The desired record (observed part for an
                               * observation) before; NULL for ADD. */
    struct json_object *new;    /* The same after; NULL for DEL. */
    struct json_object *fields; /* Array of the names of changed fields
                                 * (empty when only the owner moved). */
    const char *old_owner;      /* Owning host before ("" for none). */
    const char *new_owner;      /* Owning host after ("" for none). */
};

/* What a subscriber wants to hear about. */
#define STORE_FEED_DESIRED (1u << 0)  /* Desired changes. */
#define STORE_FEED_OBSERVED (1u << 1) /* Observations. */
#define STORE_FEED_ALL (STORE_FEED_DESIRED | STORE_FEED_OBSERVED)

/* Called once per commit that changed at least one row the subscription
 * wants, with those rows ('n' of them, in the order they were written)
 * and 'seq', the log's last sequence number after the commit. */
typedef void store_feed_cb(void *aux, const struct store_change *changes,
                           size_t n, uint64_t seq);

struct store_subscription;

/* Subscribes 'cb' (with 'aux') to changes of the classes named in
 * 'classes' (NULL-terminated API names; NULL for every class) of the kinds
 * in 'kinds' (STORE_FEED_*).  With 'owner' not NULL, only objects owned by
 * that host before or after the change, and objects with no owner before
 * or after it (an unowned object taken by another host, or let go by one),
 * are delivered.  Subscribers run in the order they subscribed.  Returns
 * the subscription. */
struct store_subscription *store_subscribe(struct store *store,
                                           const char *const *classes,
                                           unsigned int kinds,
                                           const char *owner,
                                           store_feed_cb *cb, void *aux);

/* Ends a subscription; its callback never runs again, even within a
 * delivery in progress.  Accepts NULL. */
void store_unsubscribe(struct store_subscription *subscription);

/* Writes.  Each returns 0 or a positive errno (ENOENT for a missing
 * object, EEXIST for a duplicate UUID, EIO for a database failure).  Outside
 * a transaction each is its own transaction. */

/* Inserts an object of 'class' ("PIF") with 'uuid' and the fields of
 * 'record' (borrowed; missing fields take their defaults; DERIVED fields
 * and "uuid" are ignored; observed fields go to the observed part). */
int store_insert(struct store *store, const char *class, const char *uuid,
                 struct json_object *record);

/* Sets the fields in 'changes' (borrowed) on an existing object; other
 * fields keep their values.  A write that changes nothing logs nothing. */
int store_update(struct store *store, const char *class, const char *uuid,
                 struct json_object *changes);

/* Deletes an object, desired and observed parts. */
int store_delete(struct store *store, const char *class, const char *uuid);

/* Starts a transaction grouping several writes; nested calls nest. */
int store_begin(struct store *store);

/* Commits the outermost transaction (flushed to the disk as the
 * durability mode says when it changed desired state), then delivers its
 * changes to the subscribers.  On failure the whole transaction is rolled
 * back, except that a failed flush returns EIO after the commit (it stays
 * and is delivered; its durability is not known). */
int store_commit(struct store *store);

/* Abandons the outermost transaction and everything written in it. */
void store_rollback(struct store *store);

/* Durability.  Every commit of desired state is in the write-ahead log
 * when it returns: a crash or a kill of netpoold loses nothing.  The mode
 * says when the log is flushed to the disk, which is what a crash of the
 * machine (a power loss) needs, as OVSDB flushes its log only for the
 * transactions marked durable. */
enum store_sync {
    STORE_SYNC_FULL,     /* Each commit is flushed before it returns (the
                          * mode a store opens in). */
    STORE_SYNC_INTERVAL, /* One flush, from a timer on the event loop, at
                          * most STORE_SYNC_INTERVAL_MS after the first
                          * commit not flushed yet: a power loss loses at
                          * most that much. */
};

/* How long a commit may wait for its flush in STORE_SYNC_INTERVAL. */
#define STORE_SYNC_INTERVAL_MS 100

/* Makes 'sync' the durability of the commits that follow.  For
 * STORE_SYNC_INTERVAL, 'base' is the loop the flush timer runs on (without
 * one the store stays in STORE_SYNC_FULL); switching to STORE_SYNC_FULL
 * flushes what is not flushed yet.  Whatever the mode, what a pool member
 * applies of the pool's log (store_apply_transaction(),
 * store_apply_changes(), store_load_snapshot()) is flushed before the call
 * returns, since the member then tells the pool it holds it durably; and
 * store_close() flushes what is left. */
void store_set_sync(struct store *store, enum store_sync sync,
                    struct event_base *base);

/* Flushes every commit not flushed yet to the disk now.  Returns 0, or EIO
 * if the flush failed (the commits stay, but their durability is not
 * known; the next flush tries again). */
int store_sync(struct store *store);

/* What the store did for durability since it was opened. */
struct store_sync_stats {
    uint64_t flushes;   /* Flushes of the durable database's log. */
    uint64_t unflushed; /* Commits appended to it since the last flush. */
};

/* Fills 'stats' with the store's durability counters. */
void store_get_sync_stats(const struct store *store,
                          struct store_sync_stats *stats);

/* Group commit.  Between store_defer_flush() and the matching
 * store_flush(), commits of desired state are not flushed one by one in
 * STORE_SYNC_FULL: each still commits (or fails and rolls back) on its own
 * and is delivered to the subscribers at once, and a crash of netpoold
 * loses none of them, but only the outermost store_flush() makes them
 * survive a crash of the machine, with one flush for all of them.  A
 * caller answers nobody about such a commit before store_flush() returned.
 * In STORE_SYNC_INTERVAL the outermost store_flush() leaves them to the
 * timer, as any other commit.  Deferrals nest.  store_flush() returns 0,
 * or EIO if the flush failed (the commits stay, but their durability is
 * not known). */
void store_defer_flush(struct store *store);
int store_flush(struct store *store);

/* Makes 'actor' the author of the writes that follow, until the matching
 * store_pop_actor(): a user's UUID for a client's call, or a
 * "system:COMPONENT" identity ("system:dhcp") for the daemon's own writes.
 * Pushes nest; with none pushed the author is "system". */
void store_push_actor(struct store *store, const char *actor);

/* Returns to the author before the last store_push_actor(). */
void store_pop_actor(struct store *store);

/* Returns the current author (borrowed). */
const char *store_actor(const struct store *store);

/* Reads. */

/* Returns true if an object of 'class' with 'uuid' exists. */
bool store_exists(struct store *store, const char *class, const char *uuid);

/* Returns the record (a new reference, with "uuid", desired and observed
 * fields and DERIVED fields) of the object, or NULL if there is none. */
struct json_object *store_get(struct store *store, const char *class,
                              const char *uuid);

/* Returns a new JSON object mapping UUID to record for every object of
 * 'class'. */
struct json_object *store_get_all(struct store *store, const char *class);

/* Returns a new JSON object mapping UUID to record for every object of
 * 'class' owned by host 'host' (every object of a class without owners;
 * with 'unowned' also those of 'class' whose owner is not known yet). */
struct json_object *store_get_owned(struct store *store, const char *class,
                                    const char *host, bool unowned);

/* Like store_get_owned() without the derived fields (the inverse
 * references such as network.VIFs, whose cost follows the referring
 * objects of every host): for consumers that read only this host's part
 * of a pool. */
struct json_object *store_get_owned_stored(struct store *store,
                                           const char *class, const char *host,
                                           bool unowned);

/* Returns how many objects of 'class' the store holds. */
size_t store_count(struct store *store, const char *class);

/* Returns a new JSON array of the UUIDs of objects of 'class' whose
 * field 'field' (desired or observed) equals 'value' (borrowed). */
struct json_object *store_find(struct store *store, const char *class,
                               const char *field, struct json_object *value);

/* Returns a new JSON array of the UUIDs of objects of 'class' whose
 * desired fields equal every value of 'match' (borrowed; field name →
 * value).  Only the first field is looked up through an index, so it
 * should be the most selective (a VIF's VM, not its device); the others
 * are compared on the rows found.  Empty if 'match' is empty or names an
 * observed, derived or unknown field. */
struct json_object *store_find_match(struct store *store, const char *class,
                                     struct json_object *match);

/* Returns the owning host of object 'uuid' of 'class' (a new string, ""
 * for none), or NULL if there is no such object. */
char *store_owner(struct store *store, const char *class, const char *uuid);

/* Messages. */

/* Raises a message (an alert, xapi's class "message"): 'name' is its kind
 * ("BOND_STATUS_CHANGED"), 'priority' 1 (highest) to 5, 'cls' the class of
 * the object it is about ("PIF", "Host", "VM", "Pool"), 'obj_uuid' that
 * object, 'body' the text.  Its "raised_on" is this store's local host
 * (store_set_local_host()), so that of the pool members holding a copy
 * only that host's agent sends a notification for it.  Returns 0 or a
 * positive errno. */
int store_raise_message(struct store *store, const char *name, int priority,
                        const char *cls, const char *obj_uuid,
                        const char *body);

/* Returns a new JSON array of {"name", "priority", "count"}: how many
 * messages of each name and priority store_raise_message() raised in this
 * process (destroying a message does not lower its count), for counters
 * that only go up. */
struct json_object *store_messages_raised(void);

/* Tasks: the records of long operations (task.c).  The API starts a task
 * for a call; whichever part of netpoold does the work (the API itself,
 * vm/'s controller, a storage job) moves its progress and finishes it. */

/* Inserts a pending task named 'name' (the method, "VM.start") on 'host',
 * owned by user 'owner' ("" for the daemon), and writes its UUID into
 * 'uuid' (37 bytes).  Returns 0 or a positive errno. */
int store_task_create(struct store *store, const char *name, const char *host,
                      const char *owner, char *uuid);

/* Returns true if task 'task' exists and is pending. */
bool store_task_pending(struct store *store, const char *task);

/* Moves pending task 'task''s progress forward to 'progress' (below 1.0,
 * which only its end sets), in steps of at least 1%.  Returns 0, or a
 * positive errno (ENOENT: no such task). */
int store_task_set_progress(struct store *store, const char *task,
                            double progress);

/* Sets other_config key 'key' of task 'task' to 'value': what the work
 * wants a user to read beside the outcome (for example how it was
 * recovered after a restart).  Returns 0 or a positive errno. */
int store_task_note(struct store *store, const char *task, const char *key,
                    const char *value);

/* Finishes pending task 'task': "success" with 'result' (borrowed; NULL
 * for null) as its JSON text, or, when 'error' is not NULL, "cancelled"
 * for TASK_CANCELLED and "failure" otherwise, with the error in
 * error_info.  Returns 0, EALREADY if the task had finished already
 * (nothing is written), or another positive errno. */
int store_task_finish(struct store *store, const char *task,
                      struct json_object *result,
                      const struct np_error *error);

/* The change log: desired changes of pool-wide classes, the order a pool
 * replicates. */

/* Returns the sequence number of the last change in the log (0 when
 * none). */
uint64_t store_last_seq(struct store *store);

/* Returns the sequence number of the last log entry written by this host
 * (its origin is this host) since the store was opened, 0 if none. */
uint64_t store_last_local_seq(struct store *store);

/* Returns the oldest sequence number still in the log, or 0 if the log is
 * empty. */
uint64_t store_first_seq(struct store *store);

/* Returns a new JSON array of at most 'max' log entries after 'seq',
 * oldest first, each {"id": seq, "class", "operation": "add"|"mod"|"del",
 * "ref": uuid, "timestamp", "origin": host, "actor", "epoch", "snapshot":
 * desired record (absent for "del")}. */
struct json_object *store_changes_since(struct store *store, uint64_t seq,
                                        size_t max);

/* Drops all but the newest 'keep' log entries and events.  Returns 0 or
 * EIO. */
int store_prune_changes(struct store *store, size_t keep);

/* Sets the epoch recorded on the log entries written from now on (a
 * pool's configuration number; 0 for a standalone host). */
void store_set_epoch(struct store *store, uint64_t epoch);

/* Writes into 'hash' (STORE_HASH_LENGTH + 1 bytes) the chain hash of the
 * log up to entry 'seq' (each entry's hash covers the previous one's and
 * the entry), "" for seq 0.  Returns true, or false if the log no longer
 * (or not yet) has that entry. */
#define STORE_HASH_LENGTH 64
bool store_log_hash(struct store *store, uint64_t seq, char *hash);

/* Returns the epoch of log entry 'seq' (of the last entry the log had
 * when 'seq' is the last sequence and was pruned), or 0. */
uint64_t store_log_epoch(struct store *store, uint64_t seq);

/* Returns a new JSON object holding the whole replicated state: {"seq":
 * last log sequence, "epoch", "hash": the chain hash at "seq",
 * "objects": {CLASS: {UUID: desired record}}} for every pool-wide class.
 * A joining or returning pool member loads it with
 * store_load_snapshot(). */
struct json_object *store_snapshot(struct store *store);

/* Replaces every pool-wide object of 'store' with those of 'snapshot' (as
 * store_snapshot() makes it; borrowed), keeping observed state of objects
 * that stay, and sets the log to end at the snapshot's sequence.  Local
 * classes are kept.  Subscribers receive the difference.  Returns 0,
 * EINVAL for a malformed snapshot (nothing changed) or EIO. */
int store_load_snapshot(struct store *store, struct json_object *snapshot);

/* Applies log entries made elsewhere ('entries', borrowed: an array in
 * store_changes_since()'s form, with their sequence numbers, origins,
 * actors and epochs) in one transaction.  Entries at or below the log's
 * last sequence are skipped; a gap before the first new one is EPROTO.
 * Returns 0, EPROTO, EINVAL or EIO (nothing applied on error). */
int store_apply_changes(struct store *store, struct json_object *entries);

/* Replication (ha/).  In a pool, desired changes of pool-wide classes
 * are not committed where they are written: store_commit() hands them, as
 * a transaction, to the replicator, which orders them with every other
 * member's and applies them, on every member, with
 * store_apply_transaction(). */

/* What a pool's replicator does for the store. */
struct store_replicator {
    /* Orders and applies 'transaction' (borrowed: {"base": the log sequence
     * the writer had seen, "actor", "ops": [{"op": "add", "class", "uuid",
     * "record"}, {"op": "mod", "class", "uuid", "fields": {NAME: value}},
     * {"op": "del", "class", "uuid"}]}) and returns once it is applied
     * here: 0, or a positive errno (EROFS without quorum, EBUSY for a
     * conflict with a transaction ordered first, ETIMEDOUT). */
    int (*commit)(void *aux, struct json_object *transaction);

    /* Sends this host's new observations ('observations', borrowed: an
     * array of {"class", "uuid", "fields": {NAME: value}}) to the other
     * members. */
    void (*observe)(void *aux, struct json_object *observations);
};

/* Makes 'replicator' (with 'aux') the path of every desired write of a
 * pool-wide class from now on; NULL returns to local commits. */
void store_set_replicator(struct store *store,
                          const struct store_replicator *replicator,
                          void *aux);

/* Applies 'transaction' (borrowed, in the form the replicator receives,
 * with "origin" added: the writer's host) as every member does, in one
 * SQLite transaction: refused whole with EBUSY if an object it adds
 * exists, an object it changes or deletes is gone, or an object it writes
 * was changed after the transaction's base; EINVAL if malformed.  Returns
 * 0 or the errno, having changed nothing on error. */
int store_apply_transaction(struct store *store,
                            struct json_object *transaction);

/* Applies observations of another host ('observations', borrowed, in the
 * form the replicator sends) to the observed tables.  Unknown objects and
 * fields are skipped.  Returns 0 or EIO. */
int store_apply_observations(struct store *store,
                             struct json_object *observations);

/* Returns a new array of this host's observations of the objects it owns
 * (in the form above), for a member that joins or returns. */
struct json_object *store_own_observations(struct store *store,
                                           const char *host);

/* Holds the change feed: commits until the matching store_release_feed()
 * queue their changes, which the release delivers in order.  Holds
 * nest. */
void store_hold_feed(struct store *store);
void store_release_feed(struct store *store);

/* Events: every change this host saw (desired, observed, local classes),
 * in the order it saw them, for event.from. */

/* Returns the number of the last event (0 when none). */
uint64_t store_event_last(struct store *store);

/* Returns the oldest event number still kept, or 0 if none. */
uint64_t store_event_first(struct store *store);

/* Returns a new JSON array of at most 'max' events after 'id', oldest
 * first, each {"id", "class", "operation", "ref", "timestamp",
 * "snapshot": the object's record, desired and observed, when the event
 * happened (absent for "del")}. */
struct json_object *store_events_since(struct store *store, uint64_t id,
                                       size_t max);

#endif
