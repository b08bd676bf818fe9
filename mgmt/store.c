/*
 * The object store on SQLite.  Tables:
 *   meta(key, value)              schema_version and similar facts
 *   objects(uuid, class, host, seq, record)   one row per object; 'record'
 *                                 is the JSON of its stored fields, 'host'
 *                                 the owning host, 'seq' its last change
 *   changes(seq, class, uuid, operation, snapshot, timestamp)  the log
 */
#include "mgmt/store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "lib/clock.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "store"

struct store {
    sqlite3 *db; /* The open database. */
    int depth;   /* Nesting depth of store_begin(). */
    bool dirty;  /* The open transaction logged a change. */
    bool failed; /* A write failed inside the transaction. */
    struct {
        store_change_cb *cb; /* Called after each durable commit. */
        void *aux;           /* Argument for 'cb'. */
    } change_cbs[STORE_MAX_CHANGE_CBS];
    size_t n_change_cbs; /* Entries used in 'change_cbs'. */
};

/* One schema migration: from version 'from' to 'from' + 1. */
struct migration {
    int from;        /* Version it starts from. */
    const char *sql; /* Statements that perform it. */
};

static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE objects(uuid TEXT PRIMARY KEY, class TEXT NOT NULL,"
    "                     host TEXT, record TEXT NOT NULL);"
    "CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "                     class TEXT NOT NULL, uuid TEXT NOT NULL,"
    "                     operation TEXT NOT NULL, snapshot TEXT,"
    "                     timestamp TEXT NOT NULL);"
    "INSERT INTO meta VALUES('schema_version', '1');";

/* Version 2 indexes objects by class and records on each object the
 * sequence number of its last change, which replication needs to ship only
 * what a member lacks. */
static const struct migration migrations[] = {
    {1, "CREATE INDEX objects_by_class ON objects(class);"
        "ALTER TABLE objects ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
        "UPDATE objects SET seq = COALESCE((SELECT MAX(seq) FROM changes"
        "    WHERE changes.uuid = objects.uuid), 0);"},
};

static int exec_sql(struct store *, const char *sql);
static int read_version(struct store *);
static int migrate(struct store *);
static int write_object(struct store *, const struct store_class *,
                        const char *uuid, struct json_object *record,
                        const char *operation);
static struct json_object *
load_record(struct store *, const struct store_class *, const char *uuid);
static void add_derived_fields(struct store *, const struct store_class *,
                               struct json_object *all);
static struct json_object *parse_record(const struct store_class *,
                                        const char *text);
static const char *owner_of(const struct store_class *, const char *uuid,
                            struct json_object *record);
static int log_change(struct store *, const char *class, const char *uuid,
                      const char *operation, struct json_object *snapshot);
static bool type_fits(const struct store_field *, struct json_object *);
static struct json_object *zero_value(const struct store_field *);

/* Schema helpers. */

struct np_error *
store_check_value(const struct store_class *class,
                  const struct store_field *field, struct json_object *value)
{
    (void) class;
    if (!type_fits(field, value)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, field->name, NULL);
    }
    if (field->type == STORE_INT && field->min < field->max) {
        int64_t v = json_object_get_int64(value);
        if (v < field->min || v > field->max) {
            return np_error_newf(ERR_INVALID_VALUE, field->name, "%" PRId64,
                                 v);
        }
    } else if (field->type == STORE_ENUM) {
        const char *s = json_object_get_string(value);
        for (const char *const *e = field->enum_values; *e; e++) {
            if (!strcmp(*e, s)) {
                return NULL;
            }
        }
        return np_error_new(ERR_INVALID_VALUE, field->name, s, NULL);
    }
    return NULL;
}

struct json_object *
store_default_record(const struct store_class *class)
{
    struct json_object *record = json_object_new_object();

    for (size_t i = 0; i < class->n_fields; i++) {
        const struct store_field *f = &class->fields[i];
        if (!(f->flags & FIELD_DERIVED)) {
            json_object_object_add(record, f->name, zero_value(f));
        }
    }
    return record;
}

/* Lifecycle. */

int
store_open(const char *path, struct store **storep)
{
    struct store *store = xzalloc(sizeof *store);
    int error;

    *storep = NULL;
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
    error = exec_sql(store, "PRAGMA journal_mode=WAL;"
                            "PRAGMA synchronous=FULL;"
                            "PRAGMA foreign_keys=OFF;");
    if (error) {
        goto fail;
    }
    error = migrate(store);
    if (error) {
        goto fail;
    }
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
    sqlite3_close_v2(store->db);
    free(store);
}

int
store_schema_version(struct store *store)
{
    return read_version(store);
}

int
store_add_change_cb(struct store *store, store_change_cb *cb, void *aux)
{
    if (store->n_change_cbs >= STORE_MAX_CHANGE_CBS) {
        return ENOSPC;
    }
    store->change_cbs[store->n_change_cbs].cb = cb;
    store->change_cbs[store->n_change_cbs].aux = aux;
    store->n_change_cbs++;
    return 0;
}

void
store_remove_change_cb(struct store *store, store_change_cb *cb, void *aux)
{
    for (size_t i = 0; i < store->n_change_cbs; i++) {
        if (store->change_cbs[i].cb == cb && store->change_cbs[i].aux == aux) {
            memmove(&store->change_cbs[i], &store->change_cbs[i + 1],
                    (store->n_change_cbs - i - 1)
                        * sizeof store->change_cbs[0]);
            store->n_change_cbs--;
            return;
        }
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

    struct json_object *full = store_default_record(class);
    json_object_object_foreach (record, key, value) {
        const struct store_field *f = store_class_field(class, key);
        if (f && !(f->flags & FIELD_DERIVED)) {
            json_object_object_add(full, key, json_object_get(value));
        }
    }
    int error = write_object(store, class, uuid, full, "add");
    json_object_put(full);
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
    struct json_object *record = load_record(store, class, uuid);
    if (!record) {
        return ENOENT;
    }

    bool changed = false;
    json_object_object_foreach (changes, key, value) {
        const struct store_field *f = store_class_field(class, key);
        struct json_object *old;
        if (!f || (f->flags & FIELD_DERIVED)) {
            continue;
        }
        if (!json_object_object_get_ex(record, key, &old)
            || !json_object_equal(old, value)) {
            json_object_object_add(record, key, json_object_get(value));
            changed = true;
        }
    }
    int error = changed ? write_object(store, class, uuid, record, "mod") : 0;
    json_object_put(record);
    return error;
}

int
store_delete(struct store *store, const char *class_name, const char *uuid)
{
    if (!store_exists(store, class_name, uuid)) {
        return ENOENT;
    }

    int error = store_begin(store);
    if (error) {
        return error;
    }
    sqlite3_stmt *stmt;
    sqlite3_prepare_v2(store->db,
                       "DELETE FROM objects WHERE uuid = ? AND class = ?", -1,
                       &stmt, NULL);
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, class_name, -1, SQLITE_STATIC);
    error = sqlite3_step(stmt) == SQLITE_DONE ? 0 : EIO;
    sqlite3_finalize(stmt);
    if (!error) {
        error = log_change(store, class_name, uuid, "del", NULL);
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
        int error = exec_sql(store, "BEGIN IMMEDIATE");
        if (error) {
            store->depth = 0;
            return error;
        }
        store->dirty = false;
        store->failed = false;
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
        exec_sql(store, "ROLLBACK");
        return EIO;
    }
    int error = exec_sql(store, "COMMIT");
    if (error) {
        exec_sql(store, "ROLLBACK");
        return error;
    }
    if (store->dirty) {
        uint64_t seq = store_last_seq(store);
        for (size_t i = 0; i < store->n_change_cbs; i++) {
            store->change_cbs[i].cb(store->change_cbs[i].aux, seq);
        }
    }
    return 0;
}

void
store_rollback(struct store *store)
{
    if (store->depth > 0) {
        store->depth = 0;
        exec_sql(store, "ROLLBACK");
    }
}

/* Reads. */

bool
store_exists(struct store *store, const char *class, const char *uuid)
{
    sqlite3_stmt *stmt;
    bool found;

    sqlite3_prepare_v2(store->db,
                       "SELECT 1 FROM objects WHERE uuid = ? AND class = ?",
                       -1, &stmt, NULL);
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, class, -1, SQLITE_STATIC);
    found = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return found;
}

struct json_object *
store_get(struct store *store, const char *class_name, const char *uuid)
{
    const struct store_class *class = store_class_find(class_name, false);
    if (!class) {
        return NULL;
    }
    struct json_object *record = load_record(store, class, uuid);
    if (!record) {
        return NULL;
    }

    struct json_object *one = json_object_new_object();
    json_object_object_add(one, uuid, record);
    add_derived_fields(store, class, one);
    json_object_get(record);
    json_object_put(one);
    return record;
}

struct json_object *
store_get_all(struct store *store, const char *class_name)
{
    const struct store_class *class = store_class_find(class_name, false);
    struct json_object *all = json_object_new_object();
    sqlite3_stmt *stmt;

    if (!class) {
        return all;
    }
    sqlite3_prepare_v2(store->db,
                       "SELECT uuid, record FROM objects WHERE class = ?"
                       " ORDER BY rowid",
                       -1, &stmt, NULL);
    sqlite3_bind_text(stmt, 1, class_name, -1, SQLITE_STATIC);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *uuid = (const char *) sqlite3_column_text(stmt, 0);
        const char *text = (const char *) sqlite3_column_text(stmt, 1);
        struct json_object *record = parse_record(class, text);
        if (record) {
            json_object_object_add(record, "uuid",
                                   json_object_new_string(uuid));
            json_object_object_add(all, uuid, record);
        }
    }
    sqlite3_finalize(stmt);
    add_derived_fields(store, class, all);
    return all;
}

struct json_object *
store_find(struct store *store, const char *class, const char *field,
           struct json_object *value)
{
    struct json_object *uuids = json_object_new_array();
    char *sql = xasprintf("SELECT uuid FROM objects WHERE class = ?"
                          " AND json_extract(record, '$.\"%s\"') = ?"
                          " ORDER BY rowid",
                          field);
    sqlite3_stmt *stmt;

    if (strchr(field, '"') || strchr(field, '\'')) {
        free(sql);
        return uuids;
    }
    sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL);
    free(sql);
    sqlite3_bind_text(stmt, 1, class, -1, SQLITE_STATIC);
    switch (json_object_get_type(value)) {
    case json_type_boolean:
        sqlite3_bind_int(stmt, 2, json_object_get_boolean(value));
        break;
    case json_type_int:
        sqlite3_bind_int64(stmt, 2, json_object_get_int64(value));
        break;
    case json_type_double:
        sqlite3_bind_double(stmt, 2, json_object_get_double(value));
        break;
    default:
        sqlite3_bind_text(stmt, 2, json_object_get_string(value), -1,
                          SQLITE_TRANSIENT);
        break;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        json_object_array_add(
            uuids, json_object_new_string(
                       (const char *) sqlite3_column_text(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return uuids;
}

/* Change log. */

uint64_t
store_last_seq(struct store *store)
{
    sqlite3_stmt *stmt;
    uint64_t seq = 0;

    sqlite3_prepare_v2(store->db,
                       "SELECT seq FROM sqlite_sequence WHERE name='changes'",
                       -1, &stmt, NULL);
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
        seq = (uint64_t) sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return seq;
}

uint64_t
store_first_seq(struct store *store)
{
    sqlite3_stmt *stmt;
    uint64_t seq = 0;

    sqlite3_prepare_v2(store->db, "SELECT MIN(seq) FROM changes", -1, &stmt,
                       NULL);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        seq = (uint64_t) sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return seq;
}

struct json_object *
store_changes_since(struct store *store, uint64_t seq, size_t max)
{
    struct json_object *changes = json_object_new_array();
    sqlite3_stmt *stmt;

    sqlite3_prepare_v2(store->db,
                       "SELECT seq, class, uuid, operation, snapshot,"
                       " timestamp FROM changes WHERE seq > ?"
                       " ORDER BY seq LIMIT ?",
                       -1, &stmt, NULL);
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64) seq);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) max);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        struct json_object *c = json_object_new_object();
        const char *snapshot = (const char *) sqlite3_column_text(stmt, 4);

        json_object_object_add(
            c, "id", json_object_new_int64(sqlite3_column_int64(stmt, 0)));
        for (int i = 1; i <= 3; i++) {
            static const char *const names[] = {NULL, "class", "ref",
                                                "operation"};
            json_object_object_add(
                c, names[i],
                json_object_new_string(
                    (const char *) sqlite3_column_text(stmt, i)));
        }
        json_object_object_add(
            c, "timestamp",
            json_object_new_string(
                (const char *) sqlite3_column_text(stmt, 5)));
        if (snapshot) {
            json_object_object_add(c, "snapshot",
                                   json_tokener_parse(snapshot));
        }
        json_object_array_add(changes, c);
    }
    sqlite3_finalize(stmt);
    return changes;
}

int
store_prune_changes(struct store *store, size_t keep)
{
    uint64_t last = store_last_seq(store);
    if (last <= keep) {
        return 0;
    }

    char *sql =
        xasprintf("DELETE FROM changes WHERE seq <= %" PRIu64, last - keep);
    int error = exec_sql(store, sql);
    free(sql);
    return error;
}

/* Database helpers. */

static int
exec_sql(struct store *store, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("sql failed: %s (%.60s)", msg ? msg : "?", sql);
        sqlite3_free(msg);
        return EIO;
    }
    return 0;
}

static int
read_version(struct store *store)
{
    sqlite3_stmt *stmt = NULL;
    int version = 0;

    if (sqlite3_prepare_v2(store->db,
                           "SELECT value FROM meta"
                           " WHERE key = 'schema_version'",
                           -1, &stmt, NULL)
            == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW) {
        version = atoi((const char *) sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return version;
}

/* Brings the database to STORE_SCHEMA_VERSION, one migration per
 * transaction, so a crash leaves a consistent older version behind. */
static int
migrate(struct store *store)
{
    int version = read_version(store);

    if (version > STORE_SCHEMA_VERSION) {
        log_error("database schema %d is newer than this netpoold (%d)",
                  version, STORE_SCHEMA_VERSION);
        return EPROTO;
    }
    if (version == 0) {
        int error = exec_sql(store, "BEGIN IMMEDIATE");
        if (!error) {
            error = exec_sql(store, schema_v1);
        }
        if (error || (error = exec_sql(store, "COMMIT"))) {
            exec_sql(store, "ROLLBACK");
            return error;
        }
        version = 1;
    }
    for (size_t i = 0; i < sizeof migrations / sizeof *migrations; i++) {
        const struct migration *m = &migrations[i];
        if (m->from != version) {
            continue;
        }
        char *sql = xasprintf("BEGIN IMMEDIATE; %s UPDATE meta SET value ="
                              " '%d' WHERE key = 'schema_version'; COMMIT;",
                              m->sql, m->from + 1);
        int error = exec_sql(store, sql);
        free(sql);
        if (error) {
            exec_sql(store, "ROLLBACK");
            return error;
        }
        log_info("migrated the store from schema %d to %d", m->from,
                 m->from + 1);
        version = m->from + 1;
    }
    return version == STORE_SCHEMA_VERSION ? 0 : EPROTO;
}

/* Stores 'record' (complete, without "uuid") as object 'uuid' and logs the
 * change, in a transaction of its own unless one is open. */
static int
write_object(struct store *store, const struct store_class *class,
             const char *uuid, struct json_object *record,
             const char *operation)
{
    int error = store_begin(store);
    if (error) {
        return error;
    }

    json_object_object_del(record, "uuid");
    const char *text =
        json_object_to_json_string_ext(record, JSON_C_TO_STRING_PLAIN);
    const char *owner = owner_of(class, uuid, record);
    sqlite3_stmt *stmt;
    sqlite3_prepare_v2(store->db,
                       "INSERT OR REPLACE INTO objects(uuid, class, host,"
                       " record, seq) VALUES(?, ?, ?, ?,"
                       " COALESCE((SELECT seq FROM sqlite_sequence"
                       " WHERE name = 'changes'), 0) + 1)",
                       -1, &stmt, NULL);
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, class->name, -1, SQLITE_STATIC);
    if (owner && *owner) {
        sqlite3_bind_text(stmt, 3, owner, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(stmt, 3);
    }
    sqlite3_bind_text(stmt, 4, text, -1, SQLITE_TRANSIENT);
    error = sqlite3_step(stmt) == SQLITE_DONE ? 0 : EIO;
    if (error) {
        log_error("write of %s %s failed: %s", class->name, uuid,
                  sqlite3_errmsg(store->db));
    }
    sqlite3_finalize(stmt);

    if (!error) {
        error = log_change(store, class->name, uuid, operation, record);
    }
    if (error) {
        store->failed = true;
    }
    int commit_error = store_commit(store);
    return error ? error : commit_error;
}

static struct json_object *
load_record(struct store *store, const struct store_class *class,
            const char *uuid)
{
    struct json_object *record = NULL;
    sqlite3_stmt *stmt;

    sqlite3_prepare_v2(store->db,
                       "SELECT record FROM objects WHERE uuid = ?"
                       " AND class = ?",
                       -1, &stmt, NULL);
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, class->name, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        record =
            parse_record(class, (const char *) sqlite3_column_text(stmt, 0));
        if (record) {
            json_object_object_add(record, "uuid",
                                   json_object_new_string(uuid));
        }
    }
    sqlite3_finalize(stmt);
    return record;
}

/* Fills the DERIVED fields of every record in 'all' (UUID → record) with one
 * query per derived field. */
static void
add_derived_fields(struct store *store, const struct store_class *class,
                   struct json_object *all)
{
    for (size_t i = 0; i < class->n_fields; i++) {
        const struct store_field *f = &class->fields[i];
        if (!(f->flags & FIELD_DERIVED)) {
            continue;
        }
        json_object_object_foreach (all, uuid, record) {
            (void) uuid;
            json_object_object_add(record, f->name, json_object_new_array());
        }

        char source_class[32], source_field[64];
        if (sscanf(f->inverse, "%31[^.].%63s", source_class, source_field)
            != 2) {
            continue;
        }
        char *sql = xasprintf("SELECT json_extract(record, '$.\"%s\"'), uuid"
                              " FROM objects WHERE class = ?"
                              " ORDER BY rowid",
                              source_field);
        sqlite3_stmt *stmt;
        sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL);
        free(sql);
        sqlite3_bind_text(stmt, 1, source_class, -1, SQLITE_STATIC);
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *target = (const char *) sqlite3_column_text(stmt, 0);
            struct json_object *record, *set;
            if (target && json_object_object_get_ex(all, target, &record)
                && json_object_object_get_ex(record, f->name, &set)) {
                json_object_array_add(
                    set, json_object_new_string(
                             (const char *) sqlite3_column_text(stmt, 1)));
            }
        }
        sqlite3_finalize(stmt);
    }
}

/* Parses a stored record and fills fields it lacks (added to the schema
 * after it was written) with their defaults. */
static struct json_object *
parse_record(const struct store_class *class, const char *text)
{
    struct json_object *record = json_tokener_parse(text);

    if (!json_object_is_type(record, json_type_object)) {
        json_object_put(record);
        return NULL;
    }
    for (size_t i = 0; i < class->n_fields; i++) {
        const struct store_field *f = &class->fields[i];
        if (!(f->flags & FIELD_DERIVED)
            && !json_object_object_get_ex(record, f->name, NULL)) {
            json_object_object_add(record, f->name, zero_value(f));
        }
    }
    return record;
}

static const char *
owner_of(const struct store_class *class, const char *uuid,
         struct json_object *record)
{
    struct json_object *value;

    if (!class->owner_field) {
        return NULL;
    } else if (!strcmp(class->owner_field, "uuid")) {
        return uuid;
    } else if (json_object_object_get_ex(record, class->owner_field, &value)) {
        return json_object_get_string(value);
    }
    return NULL;
}

static int
log_change(struct store *store, const char *class, const char *uuid,
           const char *operation, struct json_object *snapshot)
{
    char stamp[CLOCK_ISO8601_SIZE];
    sqlite3_stmt *stmt;
    int error;

    clock_iso8601_now(stamp);
    sqlite3_prepare_v2(store->db,
                       "INSERT INTO changes(class, uuid, operation, snapshot,"
                       " timestamp) VALUES(?, ?, ?, ?, ?)",
                       -1, &stmt, NULL);
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
    sqlite3_finalize(stmt);
    if (!error) {
        store->dirty = true;
    }
    return error;
}

/* Value helpers. */

static bool
type_fits(const struct store_field *f, struct json_object *v)
{
    switch (f->type) {
    case STORE_STRING:
    case STORE_ENUM:
    case STORE_DATETIME:
        return json_object_is_type(v, json_type_string);
    case STORE_REF:
        return json_object_is_type(v, json_type_string);
    case STORE_INT:
        return json_object_is_type(v, json_type_int);
    case STORE_BOOL:
        return json_object_is_type(v, json_type_boolean);
    case STORE_FLOAT:
        return json_object_is_type(v, json_type_double)
               || json_object_is_type(v, json_type_int);
    case STORE_SET:
        if (!json_object_is_type(v, json_type_array)) {
            return false;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (!json_object_is_type(json_object_array_get_idx(v, i),
                                     json_type_string)) {
                return false;
            }
        }
        return true;
    case STORE_MAP:
        if (!json_object_is_type(v, json_type_object)) {
            return false;
        }
        json_object_object_foreach (v, key, value) {
            (void) key;
            if (!json_object_is_type(value, json_type_string)) {
                return false;
            }
        }
        return true;
    }
    return false;
}

static struct json_object *
zero_value(const struct store_field *f)
{
    if (f->default_json) {
        return json_tokener_parse(f->default_json);
    }
    switch (f->type) {
    case STORE_STRING:
    case STORE_ENUM:
    case STORE_REF:
    case STORE_DATETIME:
        return json_object_new_string("");
    case STORE_INT:
        return json_object_new_int64(0);
    case STORE_BOOL:
        return json_object_new_boolean(false);
    case STORE_FLOAT:
        return json_object_new_double(0.0);
    case STORE_SET:
        return json_object_new_array();
    case STORE_MAP:
        return json_object_new_object();
    }
    return NULL;
}
