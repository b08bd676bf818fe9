/*
 * The object store: the tables of both databases and the migrations that
 * bring an older durable database to STORE_SCHEMA_VERSION, one transaction
 * per version, so a crash leaves a consistent older version behind.
 */
#include "mgmt/store-private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"

#define LOG_MODULE "store"

/* One schema migration: from version 'from' to 'from' + 1, by SQL and then
 * by 'fn' (or NULL). */
struct migration {
    int from;                  /* Version it starts from. */
    const char *sql;           /* Statements that perform it. */
    int (*fn)(struct store *); /* What SQL alone cannot do. */
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

/* The local database: observations and events, made when missing. */
static const char local_tables[] =
    "CREATE TABLE IF NOT EXISTS loc.observed(uuid TEXT PRIMARY KEY,"
    "    class TEXT NOT NULL, record TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS loc.events(id INTEGER PRIMARY KEY"
    "    AUTOINCREMENT, class TEXT NOT NULL, uuid TEXT NOT NULL,"
    "    operation TEXT NOT NULL, snapshot TEXT, timestamp TEXT NOT NULL);";

static int split_observed(struct store *);
static int ensure_indexes(struct store *);

/* Version 5 makes a VM's power_state an observation (what its host's
 * controller saw) beside its new desired_power_state (what was asked);
 * SQL alone does it: the recorded state becomes both. */
static const char vm_power_state_observed[] =
    "INSERT OR IGNORE INTO loc.observed(uuid, class, record)"
    "    SELECT uuid, 'VM', '{}' FROM main.objects WHERE class = 'VM';"
    "UPDATE main.objects SET record = json_set(record,"
    "    '$.desired_power_state', COALESCE(json_extract(record,"
    "    '$.power_state'), (SELECT json_extract(l.record, '$.power_state')"
    "    FROM loc.observed l WHERE l.uuid = objects.uuid), 'Halted'))"
    "    WHERE class = 'VM';"
    "UPDATE loc.observed SET record = json_set(record, '$.power_state',"
    "    COALESCE((SELECT json_extract(o.record, '$.power_state')"
    "    FROM main.objects o WHERE o.uuid = observed.uuid),"
    "    json_extract(record, '$.power_state'), 'Halted'))"
    "    WHERE class = 'VM';"
    "UPDATE main.objects SET record = json_remove(record, '$.power_state')"
    "    WHERE class = 'VM';";

/* Version 2 indexes objects by class and records on each object the
 * sequence number of its last change, which replication needs to ship only
 * what a member lacks.  Version 3 gives log entries their origin host,
 * actor and epoch, indexes objects by owner, gives every class that has one
 * its owner, and moves observed fields out of the records.  Version 4
 * chains the log: each entry's hash covers the one before.  Version 5:
 * see vm_power_state_observed. */
static const struct migration migrations[] = {
    {1,
     "CREATE INDEX objects_by_class ON objects(class);"
     "ALTER TABLE objects ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
     "UPDATE objects SET seq = COALESCE((SELECT MAX(seq) FROM changes"
     "    WHERE changes.uuid = objects.uuid), 0);",
     NULL},
    {2,
     "ALTER TABLE changes ADD COLUMN origin TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE changes ADD COLUMN actor TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE changes ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;"
     "CREATE INDEX objects_by_host ON objects(host, class);",
     split_observed},
    {3,
     "ALTER TABLE changes ADD COLUMN hash TEXT NOT NULL DEFAULT '';"
     "INSERT OR REPLACE INTO meta VALUES('log_hash', '');",
     NULL},
    {4, vm_power_state_observed, NULL},
};

int
store_read_version(struct store *store)
{
    sqlite3_stmt *stmt = NULL;
    int version = 0;

    if (sqlite3_prepare_v2(store->db,
                           "SELECT value FROM main.meta"
                           " WHERE key = 'schema_version'",
                           -1, &stmt, NULL)
            == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW) {
        version = atoi((const char *) sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return version;
}

int
store_migrate(struct store *store)
{
    int version = store_read_version(store);

    if (version > STORE_SCHEMA_VERSION) {
        log_error("database schema %d is newer than this netpoold (%d)",
                  version, STORE_SCHEMA_VERSION);
        return EPROTO;
    }
    if (version == 0) {
        int error = store_exec(store, "BEGIN IMMEDIATE");
        if (!error) {
            error = store_exec(store, schema_v1);
        }
        if (error || (error = store_exec(store, "COMMIT"))) {
            store_exec(store, "ROLLBACK");
            return error;
        }
        version = 1;
    }

    /* Events number on from the log of an older store, so event.from
     * tokens never go backwards across an upgrade. */
    bool new_events = false;
    sqlite3_stmt *stmt;
    if (!store_prepare(store,
                       "SELECT 1 FROM loc.sqlite_master WHERE name = 'events'",
                       &stmt)) {
        new_events = sqlite3_step(stmt) != SQLITE_ROW;
        store_finish(store, stmt);
    }
    int error = store_exec(store, local_tables);
    if (error) {
        return error;
    }
    if (new_events) {
        char *sql = xasprintf(
            "INSERT INTO loc.sqlite_sequence(name, seq) SELECT 'events',"
            " seq FROM main.sqlite_sequence WHERE name = 'changes'");
        error = store_exec(store, sql);
        free(sql);
        if (error) {
            return error;
        }
    }

    for (size_t i = 0; i < sizeof migrations / sizeof *migrations; i++) {
        const struct migration *m = &migrations[i];
        if (m->from != version) {
            continue;
        }
        error = store_exec(store, "BEGIN IMMEDIATE");
        if (!error) {
            error = store_exec(store, m->sql);
        }
        if (!error && m->fn) {
            error = m->fn(store);
        }
        if (!error) {
            char *sql = xasprintf("UPDATE main.meta SET value = '%d'"
                                  " WHERE key = 'schema_version'",
                                  m->from + 1);
            error = store_exec(store, sql);
            free(sql);
        }
        if (error || (error = store_exec(store, "COMMIT"))) {
            store_exec(store, "ROLLBACK");
            return error;
        }
        log_info("migrated the store from schema %d to %d", m->from,
                 m->from + 1);
        version = m->from + 1;
    }
    if (version != STORE_SCHEMA_VERSION) {
        return EPROTO;
    }
    return ensure_indexes(store);
}

bool
store_field_indexed(const struct store_class *class,
                    const struct store_field *field)
{
    /* Fields searched by value besides references. */
    static const char *const searched[] = {
        "VIF.MAC",    "VIF.device",     "network.bridge", "user.username",
        "PIF.device", "PIF.management", "*.name_label",
    };

    if (field->flags & (FIELD_DERIVED | FIELD_RUNTIME)) {
        return false;
    }
    if (field->type == STORE_REF) {
        return true;
    }
    for (size_t i = 0; i < sizeof searched / sizeof *searched; i++) {
        const char *dot = strchr(searched[i], '.');
        size_t n = (size_t) (dot - searched[i]);
        if ((!strncmp(searched[i], "*", n)
             || (strlen(class->name) == n
                 && !strncmp(searched[i], class->name, n)))
            && !strcmp(dot + 1, field->name)) {
            return true;
        }
    }
    return false;
}

/* Moves the observed fields of every record into the local database and
 * sets every object's owner from the current schema. */
static int
split_observed(struct store *store)
{
    struct json_object *rows = json_object_new_array();
    sqlite3_stmt *stmt;
    int error = store_prepare(
        store, "SELECT uuid, class, record FROM main.objects", &stmt);
    if (error) {
        json_object_put(rows);
        return error;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        struct json_object *row = json_object_new_array();
        for (int i = 0; i < 3; i++) {
            json_object_array_add(
                row, json_object_new_string(
                         (const char *) sqlite3_column_text(stmt, i)));
        }
        json_object_array_add(rows, row);
    }
    store_finish(store, stmt);

    /* Classes whose owner comes from another object go last, after the
     * objects they inherit it from. */
    for (int pass = 0; pass < 2 && !error; pass++) {
        for (size_t i = 0; i < json_object_array_length(rows) && !error; i++) {
            struct json_object *row = json_object_array_get_idx(rows, i);
            const char *uuid =
                json_object_get_string(json_object_array_get_idx(row, 0));
            const struct store_class *class = store_class_find(
                json_object_get_string(json_object_array_get_idx(row, 1)),
                false);
            if (!class || (pass == 0) != !class->owner_via) {
                continue;
            }
            struct json_object *record = json_tokener_parse(
                json_object_get_string(json_object_array_get_idx(row, 2)));
            struct json_object *observed = json_object_new_object();
            for (size_t f = 0; f < class->n_fields; f++) {
                const char *name = class->fields[f].name;
                struct json_object *value;
                if (store_field_is_observed(&class->fields[f])
                    && json_object_object_get_ex(record, name, &value)) {
                    json_object_object_add(observed, name,
                                           json_object_get(value));
                    json_object_object_del(record, name);
                }
            }

            char *owner = NULL;
            if (!class->owner_field) {
                owner = xstrdup("");
            } else if (!strcmp(class->owner_field, "uuid")) {
                owner = xstrdup(uuid);
            } else if (!class->owner_via) {
                owner = xstrdup(record_string(record, class->owner_field));
            } else {
                owner = store_owner(store, class->owner_via,
                                    record_string(record, class->owner_field));
                owner = owner ? owner : xstrdup("");
            }

            char *sql = sqlite3_mprintf(
                "UPDATE main.objects SET record = %Q, host = NULLIF(%Q, '')"
                " WHERE uuid = %Q;",
                json_object_to_json_string_ext(record, JSON_C_TO_STRING_PLAIN),
                owner, uuid);
            error = store_exec(store, sql);
            sqlite3_free(sql);
            if (!error && json_object_object_length(observed)) {
                sql = sqlite3_mprintf(
                    "INSERT OR REPLACE INTO loc.observed(uuid, class,"
                    " record) VALUES(%Q, %Q, %Q);",
                    uuid, class->name,
                    json_object_to_json_string_ext(observed,
                                                   JSON_C_TO_STRING_PLAIN));
                error = store_exec(store, sql);
                sqlite3_free(sql);
            }
            free(owner);
            json_object_put(record);
            json_object_put(observed);
        }
    }
    json_object_put(rows);
    return error;
}

/* Makes an index of every field store_field_indexed() names, over the
 * objects of its class only, so that finding objects by reference or by
 * value (and the derived fields of one object) costs what the answer
 * costs, not a pass over the class.  Indexes are no part of the schema
 * version: any store gets them at open. */
static int
ensure_indexes(struct store *store)
{
    const struct store_class *const *classes = store_classes();
    int error = 0;

    for (size_t i = 0; classes[i] && !error; i++) {
        const struct store_class *class = classes[i];
        for (size_t j = 0; j < class->n_fields && !error; j++) {
            const struct store_field *f = &class->fields[j];
            if (!store_field_indexed(class, f)) {
                continue;
            }
            char *sql = xasprintf(
                "CREATE INDEX IF NOT EXISTS main.\"objects_%s_%s\" ON"
                " objects(json_extract(record, '$.\"%s\"'))"
                " WHERE class = '%s'",
                class->name, f->name, f->name, class->name);
            error = store_exec(store, sql);
            free(sql);
        }
    }
    return error;
}
