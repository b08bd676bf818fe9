/*
 * The object store: the replicated change log (desired changes of
 * pool-wide classes), the local event log (everything this host saw, for
 * event.from), whole-state snapshots, and the application of log entries
 * made on another host.
 */
#include "mgmt/store-private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include <openssl/evp.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"

#define LOG_MODULE "store"

static uint64_t read_u64(struct store *, const char *sql);
static int set_sequence(struct store *, const char *schema, const char *table,
                        uint64_t seq);
static bool entry_is_valid(struct json_object *entry);
static int apply_entry(struct store *, struct json_object *entry);
static struct json_object *desired_only(const struct store_class *,
                                        struct json_object *snapshot);
static void chain_hash(const char *previous, uint64_t seq, const char *class,
                       const char *uuid, const char *operation,
                       const char *snapshot, uint64_t epoch, char *hash);
static int save_log_head(struct store *, uint64_t epoch);

/* The change log. */

uint64_t
store_last_seq(struct store *store)
{
    return read_u64(store, "SELECT seq FROM main.sqlite_sequence"
                           " WHERE name = 'changes'");
}

uint64_t
store_last_local_seq(struct store *store)
{
    return store->last_local_seq;
}

uint64_t
store_first_seq(struct store *store)
{
    return read_u64(store, "SELECT MIN(seq) FROM main.changes");
}

struct json_object *
store_changes_since(struct store *store, uint64_t seq, size_t max)
{
    struct json_object *changes = json_object_new_array();
    sqlite3_stmt *stmt;

    if (store_prepare(store,
                      "SELECT seq, class, uuid, operation, snapshot,"
                      " timestamp, origin, actor, epoch, hash"
                      " FROM main.changes WHERE seq > ? ORDER BY seq"
                      " LIMIT ?",
                      &stmt)) {
        return changes;
    }
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64) seq);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) max);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        static const char *const names[] = {
            NULL, "class",     "ref",    "operation",
            NULL, "timestamp", "origin", "actor",
        };
        struct json_object *c = json_object_new_object();
        const char *snapshot = (const char *) sqlite3_column_text(stmt, 4);

        json_object_object_add(
            c, "id", json_object_new_int64(sqlite3_column_int64(stmt, 0)));
        for (int i = 1; i < 8; i++) {
            const char *text = (const char *) sqlite3_column_text(stmt, i);
            if (names[i]) {
                json_object_object_add(
                    c, names[i], json_object_new_string(text ? text : ""));
            }
        }
        json_object_object_add(
            c, "epoch", json_object_new_int64(sqlite3_column_int64(stmt, 8)));
        json_object_object_add(
            c, "hash",
            json_object_new_string(
                (const char *) sqlite3_column_text(stmt, 9)));
        if (snapshot) {
            json_object_object_add(c, "snapshot",
                                   json_tokener_parse(snapshot));
        }
        json_object_array_add(changes, c);
    }
    store_finish(store, stmt);
    return changes;
}

int
store_prune_changes(struct store *store, size_t keep)
{
    uint64_t last = store_last_seq(store);
    uint64_t last_event = store_event_last(store);
    int error = 0;

    if (last > keep) {
        char *sql = xasprintf("DELETE FROM main.changes WHERE seq <= %" PRIu64,
                              last - keep);
        error = store_exec(store, sql);
        free(sql);
    }
    if (!error && last_event > keep) {
        char *sql = xasprintf("DELETE FROM loc.events WHERE id <= %" PRIu64,
                              last_event - keep);
        error = store_exec(store, sql);
        free(sql);
    }
    return error;
}

void
store_set_epoch(struct store *store, uint64_t epoch)
{
    store->epoch = epoch;
}

/* Snapshots and replicated entries. */

struct json_object *
store_snapshot(struct store *store)
{
    struct json_object *snapshot = json_object_new_object();
    struct json_object *objects = json_object_new_object();
    sqlite3_stmt *stmt;

    json_object_object_add(
        snapshot, "seq",
        json_object_new_int64((int64_t) store_last_seq(store)));
    json_object_object_add(snapshot, "epoch",
                           json_object_new_int64((int64_t) store->epoch));
    json_object_object_add(snapshot, "hash",
                           json_object_new_string(store->log_hash));
    for (const struct store_class *const *c = store_classes(); *c; c++) {
        if (!(*c)->local) {
            json_object_object_add(objects, (*c)->name,
                                   json_object_new_object());
        }
    }
    json_object_object_add(snapshot, "objects", objects);
    if (store_prepare(store,
                      "SELECT class, uuid, record FROM objects ORDER BY rowid",
                      &stmt)) {
        return snapshot;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        struct json_object *class_objects;
        const char *class = (const char *) sqlite3_column_text(stmt, 0);
        if (json_object_object_get_ex(objects, class, &class_objects)) {
            json_object_object_add(
                class_objects, (const char *) sqlite3_column_text(stmt, 1),
                json_tokener_parse(
                    (const char *) sqlite3_column_text(stmt, 2)));
        }
    }
    store_finish(store, stmt);
    return snapshot;
}

int
store_load_snapshot(struct store *store, struct json_object *snapshot)
{
    struct json_object *objects, *seq_json;

    if (!json_object_object_get_ex(snapshot, "objects", &objects)
        || !json_object_is_type(objects, json_type_object)
        || !json_object_object_get_ex(snapshot, "seq", &seq_json)
        || !json_object_is_type(seq_json, json_type_int)) {
        return EINVAL;
    }
    json_object_object_foreach (objects, name, records) {
        const struct store_class *class = store_class_find(name, false);
        if (!class || class->local
            || !json_object_is_type(records, json_type_object)) {
            return EINVAL;
        }
    }

    /* The snapshot replaces the log here, and only here: its entries are
     * not logged again, and the pool has them already. */
    store->pool_apply = true;
    int error = store_begin(store);
    if (error) {
        store->pool_apply = false;
        return error;
    }
    store->loading = true;
    for (const struct store_class *const *c = store_classes(); *c && !error;
         c++) {
        if ((*c)->local) {
            continue;
        }
        struct json_object *wanted =
            json_object_object_get(objects, (*c)->name);
        struct json_object *current = store_get_all(store, (*c)->name);
        json_object_object_foreach (current, uuid, record) {
            (void) record;
            if (!wanted || !json_object_object_get_ex(wanted, uuid, NULL)) {
                error = store_remove(store, *c, uuid);
                if (!error) {
                    error =
                        store_log_event(store, (*c)->name, uuid, "del", NULL);
                }
                if (error) {
                    break;
                }
            }
        }
        json_object_put(current);
        if (!wanted) {
            continue;
        }
        json_object_object_foreach (wanted, uuid2, text) {
            struct json_object *new = desired_only(*c, text);
            struct json_object *old = store_load_desired(store, *c, uuid2);
            if (old) {
                json_object_object_del(old, "uuid");
            }
            if (!new) {
                error = EINVAL;
            } else if (!old || !json_object_equal(old, new)) {
                error = store_write_desired(store, *c, uuid2, old, new);
                if (!error) {
                    struct json_object *event =
                        store_get(store, (*c)->name, uuid2);
                    for (size_t i = 0; i < (*c)->n_fields; i++) {
                        if ((*c)->fields[i].flags & FIELD_DERIVED) {
                            json_object_object_del(event,
                                                   (*c)->fields[i].name);
                        }
                    }
                    json_object_object_del(event, "uuid");
                    error = store_log_event(store, (*c)->name, uuid2,
                                            old ? "mod" : "add", event);
                    json_object_put(event);
                }
            }
            json_object_put(old);
            json_object_put(new);
            if (error) {
                break;
            }
        }
    }
    store->loading = false;
    if (!error) {
        error = store_exec(store, "DELETE FROM main.changes");
    }
    if (!error) {
        error = set_sequence(store, "main", "changes",
                             (uint64_t) json_object_get_int64(seq_json));
    }
    if (!error) {
        snprintf(store->log_hash, sizeof store->log_hash, "%s",
                 record_string(snapshot, "hash"));
        struct json_object *epoch = json_object_object_get(snapshot, "epoch");
        store->epoch = (uint64_t) json_object_get_int64(epoch);
        error = save_log_head(store, store->epoch);
    }
    if (error) {
        store->failed = true;
    }
    int commit_error = store_commit(store);
    store->pool_apply = false;
    return error ? error : commit_error;
}

int
store_apply_changes(struct store *store, struct json_object *entries)
{
    if (!json_object_is_type(entries, json_type_array)) {
        return EINVAL;
    }
    size_t n = json_object_array_length(entries);
    for (size_t i = 0; i < n; i++) {
        if (!entry_is_valid(json_object_array_get_idx(entries, i))) {
            return EINVAL;
        }
    }

    store->pool_apply = true;
    int error = store_begin(store);
    if (error) {
        store->pool_apply = false;
        return error;
    }
    for (size_t i = 0; i < n && !error; i++) {
        struct json_object *entry = json_object_array_get_idx(entries, i);
        uint64_t id = (uint64_t) json_object_get_int64(
            json_object_object_get(entry, "id"));
        uint64_t last = store_last_seq(store);
        if (id <= last) {
            continue;
        } else if (id != last + 1) {
            log_warn("log entry %" PRIu64 " follows %" PRIu64 ": a gap", id,
                     last);
            error = EPROTO;
            break;
        }
        store->applying = entry;
        error = apply_entry(store, entry);
        store->applying = NULL;
        const char *hash = record_string(entry, "hash");
        if (!error && *hash && strcmp(hash, store->log_hash)) {
            log_warn("log entry %" PRIu64 " differs from the writer's", id);
            error = EPROTO;
        }
    }
    if (error) {
        store->failed = true;
    }
    int commit_error = store_commit(store);
    store->pool_apply = false;
    return error ? error : commit_error;
}

bool
store_log_hash(struct store *store, uint64_t seq, char *hash)
{
    sqlite3_stmt *stmt;
    bool found = false;

    if (!seq) {
        hash[0] = '\0';
        return true;
    } else if (seq == store_last_seq(store)) {
        memcpy(hash, store->log_hash, STORE_HASH_LENGTH + 1);
        return true;
    }
    if (!store_prepare(store, "SELECT hash FROM main.changes WHERE seq = ?",
                       &stmt)) {
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64) seq);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            snprintf(hash, STORE_HASH_LENGTH + 1, "%s",
                     (const char *) sqlite3_column_text(stmt, 0));
            found = true;
        }
        store_finish(store, stmt);
    }
    return found;
}

uint64_t
store_log_epoch(struct store *store, uint64_t seq)
{
    sqlite3_stmt *stmt;
    int64_t epoch = -1;

    if (!store_prepare(store, "SELECT epoch FROM main.changes WHERE seq = ?",
                       &stmt)) {
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64) seq);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            epoch = sqlite3_column_int64(stmt, 0);
        }
        store_finish(store, stmt);
    }
    if (epoch < 0 && seq && seq == store_last_seq(store)) {
        epoch = (int64_t) read_u64(store, "SELECT CAST(value AS INTEGER)"
                                          " FROM main.meta"
                                          " WHERE key = 'log_epoch'");
    }
    return epoch < 0 ? 0 : (uint64_t) epoch;
}

/* Events. */

uint64_t
store_event_last(struct store *store)
{
    return read_u64(store, "SELECT seq FROM loc.sqlite_sequence"
                           " WHERE name = 'events'");
}

uint64_t
store_event_first(struct store *store)
{
    return read_u64(store, "SELECT MIN(id) FROM loc.events");
}

struct json_object *
store_events_since(struct store *store, uint64_t id, size_t max)
{
    struct json_object *events = json_object_new_array();
    sqlite3_stmt *stmt;

    if (store_prepare(store,
                      "SELECT id, class, uuid, operation, snapshot,"
                      " timestamp FROM loc.events WHERE id > ?"
                      " ORDER BY id LIMIT ?",
                      &stmt)) {
        return events;
    }
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64) id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) max);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        static const char *const names[] = {NULL, "class", "ref", "operation"};
        struct json_object *e = json_object_new_object();
        const char *snapshot = (const char *) sqlite3_column_text(stmt, 4);

        json_object_object_add(
            e, "id", json_object_new_int64(sqlite3_column_int64(stmt, 0)));
        for (int i = 1; i <= 3; i++) {
            json_object_object_add(
                e, names[i],
                json_object_new_string(
                    (const char *) sqlite3_column_text(stmt, i)));
        }
        json_object_object_add(
            e, "timestamp",
            json_object_new_string(
                (const char *) sqlite3_column_text(stmt, 5)));
        if (snapshot) {
            json_object_object_add(e, "snapshot",
                                   json_tokener_parse(snapshot));
        }
        json_object_array_add(events, e);
    }
    store_finish(store, stmt);
    return events;
}

/* Internal interface. */

int
store_log_change(struct store *store, const char *class, const char *uuid,
                 const char *operation, struct json_object *snapshot,
                 uint64_t *seq)
{
    struct json_object *entry = store->applying;
    char stamp[CLOCK_ISO8601_SIZE];
    sqlite3_stmt *stmt;

    *seq = 0;
    if (store->loading) {
        return 0;
    }

    /* An entry made elsewhere keeps what its writer gave it; a transaction
     * the pool ordered keeps its writer's origin and time. */
    uint64_t id = entry ? (uint64_t) json_object_get_int64(
                      json_object_object_get(entry, "id"))
                        : store_last_seq(store) + 1;
    uint64_t epoch = entry ? (uint64_t) json_object_get_int64(
                         json_object_object_get(entry, "epoch"))
                           : store->epoch;
    const char *origin = entry           ? record_string(entry, "origin")
                         : store->origin ? store->origin
                                         : store->local_host;
    const char *actor =
        entry ? record_string(entry, "actor") : store_actor(store);
    const char *timestamp;
    if (entry) {
        timestamp = record_string(entry, "timestamp");
    } else if (store->timestamp) {
        timestamp = store->timestamp;
    } else {
        clock_iso8601_now(stamp);
        timestamp = stamp;
    }
    const char *text =
        snapshot
            ? json_object_to_json_string_ext(snapshot, JSON_C_TO_STRING_PLAIN)
            : NULL;
    char hash[STORE_HASH_LENGTH + 1];
    chain_hash(store->log_hash, id, class, uuid, operation, text, epoch, hash);

    int error = store_prepare(store,
                              "INSERT INTO main.changes(seq, class, uuid,"
                              " operation, snapshot, timestamp, origin, actor,"
                              " epoch, hash)"
                              " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              &stmt);
    if (error) {
        return error;
    }
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64) id);
    sqlite3_bind_text(stmt, 2, class, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, operation, -1, SQLITE_STATIC);
    if (text) {
        sqlite3_bind_text(stmt, 5, text, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(stmt, 5);
    }
    sqlite3_bind_text(stmt, 6, timestamp, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 7, origin, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 8, actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 9, (sqlite3_int64) epoch);
    sqlite3_bind_text(stmt, 10, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_DONE) {
        *seq = id;
        if (!strcmp(origin, store->local_host)) {
            store->last_local_seq = id;
        }
    } else {
        log_error("cannot log a change of %s %s: %s", class, uuid,
                  sqlite3_errmsg(store->db));
        error = EIO;
    }
    store_finish(store, stmt);
    if (!error) {
        memcpy(store->log_hash, hash, sizeof hash);
        error = save_log_head(store, epoch);
    }
    return error;
}

int
store_log_event(struct store *store, const char *class, const char *uuid,
                const char *operation, struct json_object *snapshot)
{
    char stamp[CLOCK_ISO8601_SIZE];
    sqlite3_stmt *stmt;

    clock_iso8601_now(stamp);
    int error = store_prepare(store,
                              "INSERT INTO loc.events(class, uuid, operation,"
                              " snapshot, timestamp) VALUES(?, ?, ?, ?, ?)",
                              &stmt);
    if (error) {
        return error;
    }
    sqlite3_bind_text(stmt, 1, class, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, operation, -1, SQLITE_STATIC);
    if (snapshot) {
        sqlite3_bind_text(
            stmt, 4,
            json_object_to_json_string_ext(snapshot, JSON_C_TO_STRING_PLAIN),
            -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(stmt, 4);
    }
    sqlite3_bind_text(stmt, 5, stamp, -1, SQLITE_STATIC);
    error = sqlite3_step(stmt) == SQLITE_DONE ? 0 : EIO;
    store_finish(store, stmt);
    return error;
}

/* Helpers. */

static uint64_t
read_u64(struct store *store, const char *sql)
{
    sqlite3_stmt *stmt;
    uint64_t value = 0;

    if (!store_prepare(store, sql, &stmt)) {
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            value = (uint64_t) sqlite3_column_int64(stmt, 0);
        }
        store_finish(store, stmt);
    }
    return value;
}

/* Makes the AUTOINCREMENT counter of 'schema'.'table' continue after
 * 'seq'. */
static int
set_sequence(struct store *store, const char *schema, const char *table,
             uint64_t seq)
{
    char *sql = sqlite3_mprintf(
        "DELETE FROM %s.sqlite_sequence WHERE name = '%q';"
        "INSERT INTO %s.sqlite_sequence(name, seq) VALUES('%q', %llu);",
        schema, table, schema, table, (unsigned long long) seq);
    int error = store_exec(store, sql);
    sqlite3_free(sql);
    return error;
}

static bool
entry_is_valid(struct json_object *entry)
{
    struct json_object *id, *snapshot;
    const char *op = record_string(entry, "operation");
    const struct store_class *class =
        store_class_find(record_string(entry, "class"), false);

    if (!json_object_is_type(entry, json_type_object)
        || !json_object_object_get_ex(entry, "id", &id)
        || !json_object_is_type(id, json_type_int) || !class || class->local
        || !*record_string(entry, "ref")
        || (strcmp(op, "add") && strcmp(op, "mod") && strcmp(op, "del"))) {
        return false;
    }
    return !strcmp(op, "del")
           || (json_object_object_get_ex(entry, "snapshot", &snapshot)
               && json_object_is_type(snapshot, json_type_object));
}

/* Applies one valid log entry made elsewhere. */
static int
apply_entry(struct store *store, struct json_object *entry)
{
    const struct store_class *class =
        store_class_find(record_string(entry, "class"), false);
    const char *uuid = record_string(entry, "ref");
    const char *op = record_string(entry, "operation");
    struct json_object *old = store_load_desired(store, class, uuid);
    int error;

    if (old) {
        json_object_object_del(old, "uuid");
    }
    if (!strcmp(op, "del")) {
        error = old ? store_remove(store, class, uuid) : EPROTO;
        if (!error) {
            error = store_log_event(store, class->name, uuid, "del", NULL);
        }
    } else if (!strcmp(op, "add") == !old) {
        struct json_object *new =
            desired_only(class, json_object_object_get(entry, "snapshot"));
        error = store_write_desired(store, class, uuid, old, new);
        if (!error) {
            struct json_object *event = NULL;
            struct json_object *observed =
                store_load_observed(store, class, uuid);
            json_object_deep_copy(new, &event, NULL);
            json_object_object_foreach (observed, key, value) {
                json_object_object_add(event, key, json_object_get(value));
            }
            error = store_log_event(store, class->name, uuid, op, event);
            json_object_put(event);
            json_object_put(observed);
        }
        json_object_put(new);
    } else {
        log_warn("log entry %s of %s %s does not fit the store", op,
                 class->name, uuid);
        error = EPROTO;
    }
    json_object_put(old);
    return error;
}

/* Writes into 'hash' the chain hash of a log entry: SHA-256 over the
 * previous entry's hash and the entry's fields, in hexadecimal. */
static void
chain_hash(const char *previous, uint64_t seq, const char *class,
           const char *uuid, const char *operation, const char *snapshot,
           uint64_t epoch, char *hash)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    char *text = xasprintf("%s\n%" PRIu64 "\n%s\n%s\n%s\n%" PRIu64 "\n%s",
                           previous, seq, class, uuid, operation, epoch,
                           snapshot ? snapshot : "");

    EVP_Digest(text, strlen(text), digest, &size, EVP_sha256(), NULL);
    free(text);
    for (unsigned int i = 0; i < size && i < STORE_HASH_LENGTH / 2; i++) {
        snprintf(&hash[2 * i], 3, "%02x", digest[i]);
    }
    hash[STORE_HASH_LENGTH] = '\0';
}

/* Records the chain hash and epoch of the log's last entry, which outlive
 * the entry when the log is pruned. */
static int
save_log_head(struct store *store, uint64_t epoch)
{
    char *sql = sqlite3_mprintf(
        "INSERT OR REPLACE INTO main.meta VALUES('log_hash', %Q);"
        "INSERT OR REPLACE INTO main.meta VALUES('log_epoch', '%llu');",
        store->log_hash, (unsigned long long) epoch);
    int error = store_exec(store, sql);
    sqlite3_free(sql);
    return error;
}

/* Returns a new desired record of 'class' from 'snapshot' (borrowed): its
 * desired fields, the others at their defaults.  NULL if it is not an
 * object. */
static struct json_object *
desired_only(const struct store_class *class, struct json_object *snapshot)
{
    if (!json_object_is_type(snapshot, json_type_object)) {
        return NULL;
    }
    struct json_object *record = store_parse_record(class, "{}", false);
    json_object_object_foreach (snapshot, key, value) {
        const struct store_field *f = store_class_field(class, key);
        if (f && !(f->flags & FIELD_DERIVED) && !store_field_is_observed(f)) {
            json_object_object_add(record, key, json_object_get(value));
        }
    }
    return record;
}
