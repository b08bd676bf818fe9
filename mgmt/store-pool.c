/*
 * The object store in a pool: how a commit of replicated desired changes
 * goes through the replicator (ha/) instead of SQLite, how a transaction
 * ordered by the pool is applied — the same way on every member — and how
 * observations travel between members.
 */
#include "mgmt/store-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"

#define LOG_MODULE "store"

static struct json_object *transaction_op(const struct store_change *);
static struct json_object *local_op(const struct store_change *);
static int redo_local(struct store *, struct json_object *ops);
static bool op_is_valid(struct json_object *op);
static int apply_op(struct store *, struct json_object *op, uint64_t base,
                    struct json_object *written);
static int64_t object_seq(struct store *, const char *uuid);

void
store_set_replicator(struct store *store,
                     const struct store_replicator *replicator, void *aux)
{
    store->replicator = replicator;
    store->replicator_aux = aux;
}

int
store_apply_transaction(struct store *store, struct json_object *transaction)
{
    struct json_object *ops, *base;

    if (!json_object_is_type(transaction, json_type_object)
        || !json_object_object_get_ex(transaction, "ops", &ops)
        || !json_object_is_type(ops, json_type_array)
        || !json_object_object_get_ex(transaction, "base", &base)
        || !json_object_is_type(base, json_type_int)) {
        return EINVAL;
    }
    for (size_t i = 0; i < json_object_array_length(ops); i++) {
        if (!op_is_valid(json_object_array_get_idx(ops, i))) {
            return EINVAL;
        }
    }

    const char *actor = record_string(transaction, "actor");
    store->pool_apply = true;
    store->origin = record_string(transaction, "origin");
    store->timestamp = *record_string(transaction, "timestamp")
                           ? record_string(transaction, "timestamp")
                           : NULL;
    store_push_actor(store, *actor ? actor : "system");
    int error = store_begin(store);
    if (!error) {
        struct json_object *written = json_object_new_object();
        for (size_t i = 0; !error && i < json_object_array_length(ops); i++) {
            error = apply_op(store, json_object_array_get_idx(ops, i),
                             (uint64_t) json_object_get_int64(base), written);
        }
        json_object_put(written);
        if (error) {
            store_rollback(store);
        } else {
            error = store_commit(store);
        }
    }
    store_pop_actor(store);
    store->origin = NULL;
    store->timestamp = NULL;
    store->pool_apply = false;
    return error;
}

int
store_apply_observations(struct store *store, struct json_object *observations)
{
    if (!json_object_is_type(observations, json_type_array)) {
        return EINVAL;
    }
    store->pool_apply = true;
    int error = store_begin(store);
    for (size_t i = 0; !error && i < json_object_array_length(observations);
         i++) {
        struct json_object *o = json_object_array_get_idx(observations, i);
        const struct store_class *class =
            store_class_find(record_string(o, "class"), false);
        struct json_object *fields, *observed;
        if (!class || !json_object_object_get_ex(o, "fields", &fields)
            || !json_object_is_type(fields, json_type_object)) {
            continue;
        }
        observed = json_object_new_object();
        json_object_object_foreach (fields, key, value) {
            const struct store_field *f = store_class_field(class, key);
            if (f && store_field_is_observed(f)) {
                json_object_object_add(observed, key, json_object_get(value));
            }
        }
        int retval = store_update(store, class->name, record_string(o, "uuid"),
                                  observed);
        json_object_put(observed);
        if (retval && retval != ENOENT) {
            error = retval;
        }
    }
    if (error) {
        store_rollback(store);
    } else {
        error = store_commit(store);
    }
    store->pool_apply = false;
    return error;
}

struct json_object *
store_own_observations(struct store *store, const char *host)
{
    struct json_object *list = json_object_new_array();
    sqlite3_stmt *stmt;

    if (store_prepare(store,
                      "SELECT b.class, b.uuid, b.record FROM loc.observed b"
                      " JOIN objects o ON o.uuid = b.uuid WHERE o.host = ?",
                      &stmt)) {
        return list;
    }
    sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(
            o, "class",
            json_object_new_string(
                (const char *) sqlite3_column_text(stmt, 0)));
        json_object_object_add(
            o, "uuid",
            json_object_new_string(
                (const char *) sqlite3_column_text(stmt, 1)));
        json_object_object_add(
            o, "fields",
            json_tokener_parse((const char *) sqlite3_column_text(stmt, 2)));
        json_object_array_add(list, o);
    }
    store_finish(store, stmt);
    return list;
}

/* Internal interface. */

bool
store_needs_replication(const struct store *store)
{
    if (!store->replicator || store->pool_apply || store->local_only
        || store->loading) {
        return false;
    }
    for (size_t i = 0; i < store->n_pending; i++) {
        const struct store_change *c = &store->pending[i].change;
        if (!c->observed && !c->class->local) {
            return true;
        }
    }
    return false;
}

int
store_commit_replicated(struct store *store)
{
    struct json_object *ops = json_object_new_array();
    struct json_object *later = json_object_new_array();

    for (size_t i = 0; i < store->n_pending; i++) {
        const struct store_change *c = &store->pending[i].change;
        struct json_object *op =
            !c->observed && !c->class->local ? transaction_op(c) : local_op(c);
        if (op) {
            json_object_array_add(
                !c->observed && !c->class->local ? ops : later, op);
        }
    }

    /* The pool orders the replicated part; nothing of it stays here until
     * the pool hands it back. */
    store_abort(store);
    store_clear_pending(store->pending, store->n_pending);
    store->n_pending = 0;

    int error = 0;
    if (json_object_array_length(ops)) {
        struct json_object *transaction = json_object_new_object();
        json_object_object_add(
            transaction, "base",
            json_object_new_int64((int64_t) store_last_seq(store)));
        json_object_object_add(transaction, "actor",
                               json_object_new_string(store_actor(store)));
        char stamp[CLOCK_ISO8601_SIZE];
        clock_iso8601_now(stamp);
        json_object_object_add(transaction, "timestamp",
                               json_object_new_string(stamp));
        json_object_object_add(transaction, "ops", json_object_get(ops));
        error = store->replicator->commit(store->replicator_aux, transaction);
        json_object_put(transaction);
    }
    json_object_put(ops);
    if (!error && json_object_array_length(later)) {
        error = redo_local(store, later);
    }
    json_object_put(later);
    return error;
}

void
store_send_observations(struct store *store,
                        const struct store_pending *pending, size_t n)
{
    if (!store->replicator || store->pool_apply) {
        return;
    }
    struct json_object *list = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct store_change *c = &pending[i].change;
        if (!c->observed || !c->new) {
            continue;
        }
        struct json_object *fields = json_object_new_object();
        for (size_t j = 0; j < json_object_array_length(c->fields); j++) {
            const char *name = json_object_get_string(
                json_object_array_get_idx(c->fields, j));
            struct json_object *value;
            if (json_object_object_get_ex(c->new, name, &value)) {
                json_object_object_add(fields, name, json_object_get(value));
            }
        }
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "class",
                               json_object_new_string(c->class->name));
        json_object_object_add(o, "uuid", json_object_new_string(c->uuid));
        json_object_object_add(o, "fields", fields);
        if (!list) {
            list = json_object_new_array();
        }
        json_object_array_add(list, o);
    }
    if (list) {
        store->replicator->observe(store->replicator_aux, list);
        json_object_put(list);
    }
}

/* Helpers. */

/* Returns the operation of a replicated transaction that repeats change
 * 'c', or NULL for a change that needs none (an owner moving with the
 * object it inherits it from). */
static struct json_object *
transaction_op(const struct store_change *c)
{
    static const char *const ops[] = {"add", "mod", "del"};
    struct json_object *op;

    if (c->op == STORE_OP_MOD && !json_object_array_length(c->fields)) {
        return NULL;
    }
    op = json_object_new_object();
    json_object_object_add(op, "op", json_object_new_string(ops[c->op]));
    json_object_object_add(op, "class",
                           json_object_new_string(c->class->name));
    json_object_object_add(op, "uuid", json_object_new_string(c->uuid));
    if (c->op == STORE_OP_ADD) {
        json_object_object_add(op, "record", json_object_get(c->new));
    } else if (c->op == STORE_OP_MOD) {
        struct json_object *fields = json_object_new_object();
        for (size_t i = 0; i < json_object_array_length(c->fields); i++) {
            const char *name = json_object_get_string(
                json_object_array_get_idx(c->fields, i));
            struct json_object *value;
            if (json_object_object_get_ex(c->new, name, &value)) {
                json_object_object_add(fields, name, json_object_get(value));
            }
        }
        json_object_object_add(op, "fields", fields);
    }
    return op;
}

/* Returns an operation that redoes change 'c' (an observation or a change
 * of a local class) here, or NULL. */
static struct json_object *
local_op(const struct store_change *c)
{
    struct json_object *op = transaction_op(c);

    if (op && c->observed) {
        /* An observation is always a change of fields. */
        json_object_object_add(op, "op", json_object_new_string("mod"));
        if (!json_object_object_get_ex(op, "fields", NULL)) {
            json_object_object_add(op, "fields", json_object_get(c->new));
        }
        json_object_object_del(op, "record");
    }
    return op;
}

/* Commits 'ops' (from local_op()) here. */
static int
redo_local(struct store *store, struct json_object *ops)
{
    store->local_only = true;
    int error = store_begin(store);
    for (size_t i = 0; !error && i < json_object_array_length(ops); i++) {
        struct json_object *op = json_object_array_get_idx(ops, i);
        const char *kind = record_string(op, "op");
        const char *class = record_string(op, "class");
        const char *uuid = record_string(op, "uuid");
        int retval;
        if (!strcmp(kind, "add")) {
            retval = store_insert(store, class, uuid,
                                  json_object_object_get(op, "record"));
        } else if (!strcmp(kind, "mod")) {
            retval = store_update(store, class, uuid,
                                  json_object_object_get(op, "fields"));
        } else {
            retval = store_delete(store, class, uuid);
        }
        /* An observation of an object the pool refused is moot. */
        if (retval && retval != ENOENT && retval != EEXIST) {
            error = retval;
        }
    }
    if (error) {
        store_rollback(store);
    } else {
        error = store_commit(store);
    }
    store->local_only = false;
    return error;
}

static bool
op_is_valid(struct json_object *op)
{
    const char *kind = record_string(op, "op");
    const struct store_class *class =
        store_class_find(record_string(op, "class"), false);
    struct json_object *value;

    if (!json_object_is_type(op, json_type_object) || !class || class->local
        || !*record_string(op, "uuid")) {
        return false;
    }
    if (!strcmp(kind, "add")) {
        return json_object_object_get_ex(op, "record", &value)
               && json_object_is_type(value, json_type_object);
    } else if (!strcmp(kind, "mod")) {
        return json_object_object_get_ex(op, "fields", &value)
               && json_object_is_type(value, json_type_object);
    }
    return !strcmp(kind, "del");
}

/* Applies one valid operation of a transaction whose writer had seen the
 * log up to 'base'; 'written' holds the objects the transaction wrote so
 * far (its own changes are no conflict). */
static int
apply_op(struct store *store, struct json_object *op, uint64_t base,
         struct json_object *written)
{
    const char *kind = record_string(op, "op");
    const char *class = record_string(op, "class");
    const char *uuid = record_string(op, "uuid");
    int64_t seq = object_seq(store, uuid);
    bool own = json_object_object_get_ex(written, uuid, NULL);
    int error;

    if (!strcmp(kind, "add")) {
        if (seq >= 0) {
            log_info("transaction refused: %s %s exists", class, uuid);
            return EBUSY;
        }
        error = store_insert(store, class, uuid,
                             json_object_object_get(op, "record"));
    } else if (seq < 0 || (!own && (uint64_t) seq > base)) {
        log_info("transaction refused: %s %s %s", class, uuid,
                 seq < 0 ? "is gone" : "changed since the writer looked");
        return EBUSY;
    } else if (!strcmp(kind, "mod")) {
        error = store_update(store, class, uuid,
                             json_object_object_get(op, "fields"));
    } else {
        error = store_delete(store, class, uuid);
    }
    if (!error) {
        json_object_object_add(written, uuid, NULL);
    }
    return error;
}

/* Returns the log sequence of the last change of object 'uuid', or -1 if
 * there is no such object. */
static int64_t
object_seq(struct store *store, const char *uuid)
{
    sqlite3_stmt *stmt;
    int64_t seq = -1;

    if (!store_prepare(store, "SELECT seq FROM objects WHERE uuid = ?",
                       &stmt)) {
        sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            seq = sqlite3_column_int64(stmt, 0);
        }
        store_finish(store, stmt);
    }
    return seq;
}
