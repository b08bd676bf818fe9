/*
 * The object store: reads, which merge an object's desired record with its
 * observed part, and the schema helpers that check and fill records.
 */
#include "mgmt/store-private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "store"

/* Desired record and observed part of one object, as the reads select
 * them: uuid, objects.record, loc.observed.record. */
/* Up to this many records, derived fields are found through the index of
 * their source field, one query per record; beyond, in one pass. */
#define FEW_RECORDS 8

#define SELECT_MERGED                                  \
    "SELECT o.uuid, o.record, b.record FROM objects o" \
    " LEFT JOIN loc.observed b ON b.uuid = o.uuid"

/* The reads below write the class into their SQL text ('VIF') instead of
 * binding it: objects has partial indexes per class ("WHERE class =
 * 'VIF'"), and for a bound class SQLite prepares the statement again at
 * every use to see which of them apply (11 % of netpoold's samples while
 * VIFs were made one by one).  Class names come from the schema, so the
 * texts are few and stay prepared (store_prepare()). */

static struct json_object *merged_row(const struct store_class *,
                                      sqlite3_stmt *);
static bool type_fits(const struct store_field *, struct json_object *);
static void add_inverse_few(struct store *, struct json_object *all,
                            const char *name, const char *source_class,
                            const char *source_field);
static void bind_json(sqlite3_stmt *, int index, struct json_object *);
static struct json_object *get_owned(struct store *, const char *class_name,
                                     const char *host, bool unowned,
                                     bool derived);

/* Schema helpers. */

bool
store_field_is_observed(const struct store_field *field)
{
    return (field->flags & FIELD_RUNTIME) != 0;
}

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
            json_object_object_add(record, f->name, store_zero_value(f));
        }
    }
    return record;
}

/* Reads. */

bool
store_exists(struct store *store, const char *class, const char *uuid)
{
    sqlite3_stmt *stmt;
    bool found;

    if (store_prepare(store,
                      "SELECT 1 FROM objects WHERE uuid = ? AND class = ?",
                      &stmt)) {
        return false;
    }
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, class, -1, SQLITE_STATIC);
    found = sqlite3_step(stmt) == SQLITE_ROW;
    store_finish(store, stmt);
    return found;
}

struct json_object *
store_get(struct store *store, const char *class_name, const char *uuid)
{
    const struct store_class *class = store_class_find(class_name, false);
    struct json_object *record = NULL;
    sqlite3_stmt *stmt;

    if (!class) {
        return NULL;
    }
    char *sql = sqlite3_mprintf(SELECT_MERGED " WHERE o.uuid = ?1"
                                              " AND o.class = %Q",
                                class->name);
    int error = store_prepare(store, sql, &stmt);
    sqlite3_free(sql);
    if (error) {
        return NULL;
    }
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        record = merged_row(class, stmt);
    }
    store_finish(store, stmt);
    if (!record) {
        return NULL;
    }

    struct json_object *one = json_object_new_object();
    json_object_object_add(one, uuid, record);
    store_add_derived_fields(store, class, one);
    json_object_get(record);
    json_object_put(one);
    return record;
}

struct json_object *
store_get_all(struct store *store, const char *class_name)
{
    return store_get_owned(store, class_name, NULL, false);
}

struct json_object *
store_get_owned(struct store *store, const char *class_name, const char *host,
                bool unowned)
{
    return get_owned(store, class_name, host, unowned, true);
}

struct json_object *
store_get_owned_stored(struct store *store, const char *class_name,
                       const char *host, bool unowned)
{
    return get_owned(store, class_name, host, unowned, false);
}

size_t
store_count(struct store *store, const char *class)
{
    sqlite3_stmt *stmt;
    size_t n = 0;

    if (store_prepare(store, "SELECT count(*) FROM objects WHERE class = ?",
                      &stmt)) {
        return 0;
    }
    sqlite3_bind_text(stmt, 1, class, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        n = (size_t) sqlite3_column_int64(stmt, 0);
    }
    store_finish(store, stmt);
    return n;
}

struct json_object *
store_find(struct store *store, const char *class_name, const char *field,
           struct json_object *value)
{
    const struct store_class *class = store_class_find(class_name, false);
    const struct store_field *f =
        class ? store_class_field(class, field) : NULL;
    struct json_object *uuids = json_object_new_array();

    if (!class || (f && (f->flags & FIELD_DERIVED)) || strchr(field, '"')
        || strchr(field, '\'')) {
        return uuids;
    }

    /* An object without observations has its observed fields at their
     * defaults. */
    bool observed = f && store_field_is_observed(f);
    char *sql = observed
                    ? xasprintf("SELECT o.uuid FROM objects o LEFT JOIN"
                                " loc.observed b ON b.uuid = o.uuid"
                                " WHERE o.class = ?1 AND"
                                " COALESCE(json_extract(b.record,"
                                " '$.\"%s\"'), ?3) = ?2 ORDER BY o.rowid",
                                field)
                    /* The class as a literal: the per-class index of
                     * the field serves it (store-migrate.c). */
                    : xasprintf("SELECT uuid FROM objects WHERE class = '%s'"
                                " AND json_extract(record, '$.\"%s\"') = ?2"
                                " ORDER BY rowid",
                                class->name, field);
    sqlite3_stmt *stmt;
    int error = store_prepare(store, sql, &stmt);
    free(sql);
    if (error) {
        return uuids;
    }
    sqlite3_bind_text(stmt, 1, class_name, -1, SQLITE_STATIC);
    bind_json(stmt, 2, value);
    if (observed) {
        struct json_object *zero = store_zero_value(f);
        bind_json(stmt, 3, zero);
        json_object_put(zero);
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        json_object_array_add(
            uuids, json_object_new_string(
                       (const char *) sqlite3_column_text(stmt, 0)));
    }
    store_finish(store, stmt);
    return uuids;
}

struct json_object *
store_find_match(struct store *store, const char *class_name,
                 struct json_object *match)
{
    const struct store_class *class = store_class_find(class_name, false);
    struct json_object *uuids = json_object_new_array();

    if (!class || !json_object_object_length(match)) {
        return uuids;
    }
    char *sql =
        xasprintf("SELECT uuid FROM objects WHERE class = '%s'", class->name);
    bool first = true;
    json_object_object_foreach (match, field, value) {
        const struct store_field *f = store_class_field(class, field);
        (void) value;
        if (!f || (f->flags & FIELD_DERIVED) || store_field_is_observed(f)) {
            free(sql);
            return uuids;
        }
        /* A unary "+" keeps the field off its index: the first field's
         * index finds the rows, the others filter them. */
        char *more = xasprintf("%s AND %sjson_extract(record, '$.\"%s\"')"
                               " = ?",
                               sql, first ? "" : "+", f->name);
        free(sql);
        sql = more;
        first = false;
    }
    char *ordered = xasprintf("%s ORDER BY rowid", sql);
    free(sql);
    sqlite3_stmt *stmt;
    int error = store_prepare(store, ordered, &stmt);
    free(ordered);
    if (error) {
        return uuids;
    }
    int index = 1;
    json_object_object_foreach (match, field2, value2) {
        (void) field2;
        bind_json(stmt, index++, value2);
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        json_object_array_add(
            uuids, json_object_new_string(
                       (const char *) sqlite3_column_text(stmt, 0)));
    }
    store_finish(store, stmt);
    return uuids;
}

char *
store_owner(struct store *store, const char *class, const char *uuid)
{
    sqlite3_stmt *stmt;
    char *owner = NULL;

    if (store_prepare(store,
                      "SELECT host FROM objects WHERE uuid = ? AND class = ?",
                      &stmt)) {
        return NULL;
    }
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, class, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *host = (const char *) sqlite3_column_text(stmt, 0);
        owner = xstrdup(host ? host : "");
    }
    store_finish(store, stmt);
    return owner;
}

/* Internal interface. */

struct json_object *
store_parse_record(const struct store_class *class, const char *text,
                   bool observed)
{
    struct json_object *record = json_tokener_parse(text);

    if (!json_object_is_type(record, json_type_object)) {
        json_object_put(record);
        return NULL;
    }
    for (size_t i = 0; i < class->n_fields; i++) {
        const struct store_field *f = &class->fields[i];
        if (!(f->flags & FIELD_DERIVED)
            && store_field_is_observed(f) == observed
            && !json_object_object_get_ex(record, f->name, NULL)) {
            json_object_object_add(record, f->name, store_zero_value(f));
        }
    }
    return record;
}

struct json_object *
store_load_desired(struct store *store, const struct store_class *class,
                   const char *uuid)
{
    struct json_object *record = NULL;
    sqlite3_stmt *stmt;

    if (store_prepare(store,
                      "SELECT record FROM objects WHERE uuid = ?"
                      " AND class = ?",
                      &stmt)) {
        return NULL;
    }
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, class->name, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        record = store_parse_record(
            class, (const char *) sqlite3_column_text(stmt, 0), false);
        if (record) {
            json_object_object_add(record, "uuid",
                                   json_object_new_string(uuid));
        }
    }
    store_finish(store, stmt);
    return record;
}

struct json_object *
store_load_observed(struct store *store, const struct store_class *class,
                    const char *uuid)
{
    struct json_object *record = NULL;
    sqlite3_stmt *stmt;

    if (!store_prepare(store, "SELECT record FROM loc.observed WHERE uuid = ?",
                       &stmt)) {
        sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            record = store_parse_record(
                class, (const char *) sqlite3_column_text(stmt, 0), true);
        }
        store_finish(store, stmt);
    }
    return record ? record : store_parse_record(class, "{}", true);
}

void
store_add_derived_fields(struct store *store, const struct store_class *class,
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
        if (json_object_object_length(all) <= FEW_RECORDS) {
            /* A few objects: their referrers through the index. */
            add_inverse_few(store, all, f->name, source_class, source_field);
            continue;
        }
        char *sql = xasprintf("SELECT json_extract(record, '$.\"%s\"'), uuid"
                              " FROM objects WHERE class = ?"
                              " ORDER BY rowid",
                              source_field);
        sqlite3_stmt *stmt;
        int error = store_prepare(store, sql, &stmt);
        free(sql);
        if (error) {
            continue;
        }
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
        store_finish(store, stmt);
    }
}

/* Fills field 'name' of every record of 'all' (a few) with the UUIDs of
 * the objects of 'source_class' whose 'source_field' refers to it, one
 * indexed query per record. */
static void
add_inverse_few(struct store *store, struct json_object *all, const char *name,
                const char *source_class, const char *source_field)
{
    const struct store_class *class = store_class_find(source_class, false);
    sqlite3_stmt *stmt;

    if (!class) {
        return;
    }
    char *sql = xasprintf("SELECT uuid FROM objects WHERE class = '%s'"
                          " AND json_extract(record, '$.\"%s\"') = ?1"
                          " ORDER BY rowid",
                          class->name, source_field);
    int error = store_prepare(store, sql, &stmt);
    free(sql);
    if (error) {
        return;
    }
    json_object_object_foreach (all, uuid, record) {
        struct json_object *set = json_object_object_get(record, name);
        sqlite3_reset(stmt);
        sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            json_object_array_add(
                set, json_object_new_string(
                         (const char *) sqlite3_column_text(stmt, 0)));
        }
    }
    store_finish(store, stmt);
}

struct json_object *
store_zero_value(const struct store_field *f)
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

/* Helpers. */

/* store_get_owned(), with the derived fields if 'derived'. */
static struct json_object *
get_owned(struct store *store, const char *class_name, const char *host,
          bool unowned, bool derived)
{
    const struct store_class *class = store_class_find(class_name, false);
    struct json_object *all = json_object_new_object();
    sqlite3_stmt *stmt;

    if (!class) {
        return all;
    }
    char *sql;
    if (!host || !class->owner_field) {
        sql = sqlite3_mprintf(SELECT_MERGED " WHERE o.class = %Q"
                                            " ORDER BY o.rowid",
                              class->name);
    } else if (unowned) {
        sql = sqlite3_mprintf(SELECT_MERGED " WHERE o.class = %Q AND"
                                            " (o.host = ?1 OR o.host IS NULL)"
                                            " ORDER BY o.rowid",
                              class->name);
    } else {
        sql = sqlite3_mprintf(SELECT_MERGED " WHERE o.class = %Q AND"
                                            " o.host = ?1 ORDER BY o.rowid",
                              class->name);
    }
    int error = store_prepare(store, sql, &stmt);
    sqlite3_free(sql);
    if (error) {
        return all;
    }
    if (host && class->owner_field) {
        sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        struct json_object *record = merged_row(class, stmt);
        if (record) {
            json_object_object_add(
                all, (const char *) sqlite3_column_text(stmt, 0), record);
        }
    }
    store_finish(store, stmt);
    if (derived) {
        store_add_derived_fields(store, class, all);
    }
    return all;
}

/* Returns the merged record (desired, then observed fields, with "uuid")
 * of the row 'stmt' stands on (SELECT_MERGED's columns), or NULL. */
static struct json_object *
merged_row(const struct store_class *class, sqlite3_stmt *stmt)
{
    const char *uuid = (const char *) sqlite3_column_text(stmt, 0);
    const char *observed_text = (const char *) sqlite3_column_text(stmt, 2);
    struct json_object *record = store_parse_record(
        class, (const char *) sqlite3_column_text(stmt, 1), false);
    struct json_object *observed =
        store_parse_record(class, observed_text ? observed_text : "{}", true);

    if (record && observed) {
        json_object_object_foreach (observed, key, value) {
            json_object_object_add(record, key, json_object_get(value));
        }
        json_object_object_add(record, "uuid", json_object_new_string(uuid));
    }
    json_object_put(observed);
    return record;
}

static bool
type_fits(const struct store_field *f, struct json_object *v)
{
    switch (f->type) {
    case STORE_STRING:
    case STORE_ENUM:
    case STORE_DATETIME:
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

/* Binds 'value' as json_extract() would return it. */
static void
bind_json(sqlite3_stmt *stmt, int index, struct json_object *value)
{
    switch (json_object_get_type(value)) {
    case json_type_boolean:
        sqlite3_bind_int(stmt, index, json_object_get_boolean(value));
        break;
    case json_type_int:
        sqlite3_bind_int64(stmt, index, json_object_get_int64(value));
        break;
    case json_type_double:
        sqlite3_bind_double(stmt, index, json_object_get_double(value));
        break;
    default:
        sqlite3_bind_text(stmt, index, json_object_get_string(value), -1,
                          SQLITE_TRANSIENT);
        break;
    }
}
