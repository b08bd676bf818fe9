/*
 * Unit tests of the object store (mgmt/store.h): records with defaults,
 * writes, the change log, lookups, derived fields, transactions, value
 * checks, persistence, schema migration and pruning; the row-level change
 * feed, observed state kept apart, owners, local classes, events,
 * snapshots and log entries applied from elsewhere.  Each test opens a
 * store of its own in a scratch directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "lib/error.h"
#include "lib/uuid.h"
#include "mgmt/store.h"
#include "tests/unit/fixture.h"

/* One test's store. */
struct fixture {
    char *dir;             /* Scratch directory. */
    char *path;            /* Database file in 'dir'. */
    struct store *store;   /* The open store, or NULL. */
    int n_callbacks;       /* Calls of change_cb(). */
    uint64_t callback_seq; /* Sequence number of the last one. */
};

static int
setup(void **state)
{
    struct fixture *fx = xzalloc(sizeof *fx);

    fx->dir = fixture_dir_create();
    assert_non_null(fx->dir);
    fx->path = xasprintf("%s/netpool.db", fx->dir);
    assert_int_equal(store_open(fx->path, &fx->store), 0);
    assert_non_null(fx->store);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    store_close(fx->store);
    fixture_dir_remove(fx->dir);
    free(fx->path);
    free(fx);
    return 0;
}

/* Closes and reopens the store of 'fx'. */
static void
reopen(struct fixture *fx)
{
    store_close(fx->store);
    fx->store = NULL;
    assert_int_equal(store_open(fx->path, &fx->store), 0);
}

static void
new_uuid(char uuid[UUID_LENGTH + 1])
{
    assert_int_equal(uuid_text_random(uuid), 0);
}

/* Inserts an object of 'class' whose fields are the JSON text 'fields'
 * (single quotes allowed) under a new UUID written into 'uuid'. */
static void
insert(struct fixture *fx, const char *class, const char *fields,
       char uuid[UUID_LENGTH + 1])
{
    struct json_object *record = fixture_json("%s", fields);

    assert_non_null(record);
    new_uuid(uuid);
    assert_int_equal(store_insert(fx->store, class, uuid, record), 0);
    json_object_put(record);
}

static int
update(struct fixture *fx, const char *class, const char *uuid,
       const char *fields)
{
    struct json_object *changes = fixture_json("%s", fields);

    assert_non_null(changes);
    int error = store_update(fx->store, class, uuid, changes);
    json_object_put(changes);
    return error;
}

static struct json_object *
member(struct json_object *record, const char *name)
{
    struct json_object *value;

    assert_true(json_object_object_get_ex(record, name, &value));
    return value;
}

static void
change_cb(void *fx_, const struct store_change *changes, size_t n,
          uint64_t seq)
{
    struct fixture *fx = fx_;

    fx->n_callbacks++;
    fx->callback_seq = seq;
}

/* Subscribes change_cb() to every change of the store of 'fx'. */
static void
subscribe_all(struct fixture *fx)
{
    store_subscribe(fx->store, NULL, STORE_FEED_ALL, NULL, change_cb, fx);
}

/* Asserts that 'error' has 'code' and the given parameters (a
 * NULL-terminated list), then frees it. */
static void
expect_error(struct np_error *error, const char *code, ...)
{
    va_list args;
    size_t n = 0;

    assert_non_null(error);
    assert_string_equal(error->code, code);
    va_start(args, code);
    for (const char *p; (p = va_arg(args, const char *)); n++) {
        assert_true(n < error->n_params);
        assert_string_equal(error->params[n], p);
    }
    va_end(args);
    assert_int_equal(error->n_params, n);
    np_error_destroy(error);
}

/* Inserting fills every stored field the record lacks with its default,
 * adds "uuid" and the derived fields on read, and ignores derived fields
 * and "uuid" given by the caller. */
static void
test_insert_get_defaults(void **state)
{
    struct fixture *fx = *state;
    char uuid[UUID_LENGTH + 1];

    insert(fx, "network",
           "{'name_label': 'storage', 'PIFs': ['bogus'],"
           " 'uuid': 'not-the-uuid', 'no_such_field': 1}",
           uuid);

    struct json_object *r = store_get(fx->store, "network", uuid);
    assert_non_null(r);
    assert_string_equal(fixture_string(r, "uuid"), uuid);
    assert_string_equal(fixture_string(r, "name_label"), "storage");
    assert_string_equal(fixture_string(r, "name_description"), "");
    assert_int_equal(fixture_int(r, "MTU"), 1500);
    assert_true(fixture_bool(r, "managed"));
    assert_string_equal(fixture_string(r, "bridge"), "");
    assert_true(
        json_object_is_type(member(r, "other_config"), json_type_object));
    assert_int_equal(json_object_object_length(member(r, "other_config")), 0);
    assert_true(json_object_is_type(member(r, "PIFs"), json_type_array));
    assert_int_equal(json_object_array_length(member(r, "PIFs")), 0);
    assert_false(json_object_object_get_ex(r, "no_such_field", NULL));
    json_object_put(r);

    assert_true(store_exists(fx->store, "network", uuid));
    assert_false(store_exists(fx->store, "PIF", uuid));
    assert_null(store_get(fx->store, "PIF", uuid));
    assert_null(store_get(fx->store, "nonsense", uuid));

    /* Enum and ref defaults of another class. */
    char pif[UUID_LENGTH + 1];
    insert(fx, "PIF", "{'device': 'eth0'}", pif);
    r = store_get(fx->store, "PIF", pif);
    assert_string_equal(fixture_string(r, "duplex"), "unknown");
    assert_string_equal(fixture_string(r, "ip_configuration_mode"), "None");
    assert_int_equal(fixture_int(r, "VLAN"), -1);
    assert_string_equal(fixture_string(r, "host"), "");
    assert_true(fixture_bool(r, "physical"));
    assert_false(fixture_bool(r, "currently_attached"));
    json_object_put(r);
}

/* A second insert of the same UUID and an insert of an unknown class
 * fail without logging anything. */
static void
test_insert_errors(void **state)
{
    struct fixture *fx = *state;
    char uuid[UUID_LENGTH + 1];

    insert(fx, "network", "{'name_label': 'a'}", uuid);
    uint64_t seq = store_last_seq(fx->store);

    struct json_object *record = fixture_json("{'name_label': 'b'}");
    assert_int_equal(store_insert(fx->store, "network", uuid, record), EEXIST);
    assert_int_equal(store_insert(fx->store, "frobnicator", uuid, record),
                     EINVAL);
    json_object_put(record);
    assert_int_equal(store_last_seq(fx->store), seq);

    struct json_object *r = store_get(fx->store, "network", uuid);
    assert_string_equal(fixture_string(r, "name_label"), "a");
    json_object_put(r);
}

/* An update changes only the fields it names; one that changes nothing
 * (same values, unknown or derived fields) logs nothing. */
static void
test_update(void **state)
{
    struct fixture *fx = *state;
    char uuid[UUID_LENGTH + 1];

    insert(fx, "network", "{'name_label': 'a', 'name_description': 'd'}",
           uuid);
    uint64_t seq = store_last_seq(fx->store);
    assert_true(seq > 0);

    assert_int_equal(update(fx, "network", uuid, "{'MTU': 9000}"), 0);
    assert_int_equal(store_last_seq(fx->store), seq + 1);
    struct json_object *r = store_get(fx->store, "network", uuid);
    assert_int_equal(fixture_int(r, "MTU"), 9000);
    assert_string_equal(fixture_string(r, "name_label"), "a");
    assert_string_equal(fixture_string(r, "name_description"), "d");
    json_object_put(r);

    subscribe_all(fx);
    seq = store_last_seq(fx->store);
    assert_int_equal(
        update(fx, "network", uuid, "{'MTU': 9000, 'name_label': 'a'}"), 0);
    assert_int_equal(update(fx, "network", uuid, "{'bogus': 1}"), 0);
    assert_int_equal(update(fx, "network", uuid, "{'PIFs': ['x']}"), 0);
    assert_int_equal(update(fx, "network", uuid, "{}"), 0);
    assert_int_equal(store_last_seq(fx->store), seq);
    assert_int_equal(fx->n_callbacks, 0);
    struct json_object *changes = store_changes_since(fx->store, seq, 10);
    assert_int_equal(json_object_array_length(changes), 0);
    json_object_put(changes);

    char other[UUID_LENGTH + 1];
    new_uuid(other);
    assert_int_equal(update(fx, "network", other, "{'MTU': 1600}"), ENOENT);
    assert_int_equal(update(fx, "PIF", uuid, "{'MTU': 1600}"), ENOENT);
    assert_int_equal(update(fx, "nonsense", uuid, "{'MTU': 1600}"), EINVAL);
    assert_int_equal(store_last_seq(fx->store), seq);
}

/* A delete removes the object; deleting it again is ENOENT. */
static void
test_delete(void **state)
{
    struct fixture *fx = *state;
    char uuid[UUID_LENGTH + 1], keep[UUID_LENGTH + 1];

    insert(fx, "network", "{'name_label': 'a'}", uuid);
    insert(fx, "network", "{'name_label': 'b'}", keep);
    assert_int_equal(store_delete(fx->store, "PIF", uuid), ENOENT);
    assert_true(store_exists(fx->store, "network", uuid));

    assert_int_equal(store_delete(fx->store, "network", uuid), 0);
    assert_false(store_exists(fx->store, "network", uuid));
    assert_null(store_get(fx->store, "network", uuid));
    assert_true(store_exists(fx->store, "network", keep));
    assert_int_equal(store_delete(fx->store, "network", uuid), ENOENT);

    struct json_object *all = store_get_all(fx->store, "network");
    assert_int_equal(json_object_object_length(all), 1);
    assert_true(json_object_object_get_ex(all, keep, NULL));
    json_object_put(all);
}

/* Every write appends one change with the next sequence number; the log
 * returns add, mod and del in order with snapshots of the stored fields
 * (none for del), and the change callback reports each sequence number. */
static void
test_change_log(void **state)
{
    struct fixture *fx = *state;
    char uuid[UUID_LENGTH + 1];

    assert_int_equal(store_last_seq(fx->store), 0);
    assert_int_equal(store_first_seq(fx->store), 0);
    subscribe_all(fx);

    insert(fx, "network", "{'name_label': 'a'}", uuid);
    uint64_t first = store_last_seq(fx->store);
    assert_int_equal(fx->n_callbacks, 1);
    assert_int_equal(fx->callback_seq, first);

    assert_int_equal(update(fx, "network", uuid, "{'MTU': 9000}"), 0);
    assert_int_equal(fx->n_callbacks, 2);
    assert_int_equal(fx->callback_seq, first + 1);

    assert_int_equal(store_delete(fx->store, "network", uuid), 0);
    assert_int_equal(fx->n_callbacks, 3);
    assert_int_equal(fx->callback_seq, first + 2);
    assert_int_equal(store_last_seq(fx->store), first + 2);
    assert_int_equal(store_first_seq(fx->store), first);

    struct json_object *changes = store_changes_since(fx->store, 0, 100);
    assert_int_equal(json_object_array_length(changes), 3);
    static const char *const ops[] = {"add", "mod", "del"};
    int64_t previous = 0;
    for (size_t i = 0; i < 3; i++) {
        struct json_object *c = json_object_array_get_idx(changes, i);
        int64_t id = fixture_int(c, "id");
        assert_true(id > previous);
        assert_int_equal(id, first + i);
        previous = id;
        assert_string_equal(fixture_string(c, "operation"), ops[i]);
        assert_string_equal(fixture_string(c, "class"), "network");
        assert_string_equal(fixture_string(c, "ref"), uuid);
        const char *stamp = fixture_string(c, "timestamp");
        assert_non_null(stamp);
        assert_int_equal(strlen(stamp), 24);
        assert_int_equal(stamp[23], 'Z');
    }
    struct json_object *add = json_object_array_get_idx(changes, 0);
    struct json_object *mod = json_object_array_get_idx(changes, 1);
    struct json_object *del = json_object_array_get_idx(changes, 2);
    assert_string_equal(fixture_string(member(add, "snapshot"), "name_label"),
                        "a");
    assert_int_equal(fixture_int(member(add, "snapshot"), "MTU"), 1500);
    assert_int_equal(fixture_int(member(mod, "snapshot"), "MTU"), 9000);
    assert_false(
        json_object_object_get_ex(member(mod, "snapshot"), "PIFs", NULL));
    assert_false(json_object_object_get_ex(del, "snapshot", NULL));
    json_object_put(changes);

    /* 'seq' is exclusive and 'max' limits. */
    changes = store_changes_since(fx->store, first, 1);
    assert_int_equal(json_object_array_length(changes), 1);
    assert_string_equal(
        fixture_string(json_object_array_get_idx(changes, 0), "operation"),
        "mod");
    json_object_put(changes);
    changes = store_changes_since(fx->store, first + 2, 100);
    assert_int_equal(json_object_array_length(changes), 0);
    json_object_put(changes);
}

/* store_find and store_find_match match stored string, integer and
 * boolean fields exactly, without confusing 1 with "1" or true with
 * "true". */
static void
test_find(void **state)
{
    struct fixture *fx = *state;
    char a[UUID_LENGTH + 1], b[UUID_LENGTH + 1], c[UUID_LENGTH + 1];

    insert(fx, "PIF", "{'device': 'eth0', 'MTU': 9000, 'management': true}",
           a);
    insert(fx, "PIF", "{'device': 'eth1', 'MTU': 1500}", b);
    insert(fx, "PIF", "{'device': '9000', 'MTU': 9000}", c);

    struct {
        const char *field;   /* Field compared. */
        const char *value;   /* Its JSON value. */
        const char *hits[3]; /* Expected UUIDs, NULL-padded. */
    } cases[] = {
        {"device", "'eth1'", {b}},      {"device", "'9000'", {c}},
        {"MTU", "9000", {a, c}},        {"MTU", "1500", {b}},
        {"management", "true", {a}},    {"management", "false", {b, c}},
        {"device", "'eth7'", {NULL}},   {"MTU", "'9000'", {NULL}},
        {"nonexistent", "'x'", {NULL}}, {"dev\"ice", "'eth0'", {NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct json_object *value = fixture_json("%s", cases[i].value);
        struct json_object *hits =
            store_find(fx->store, "PIF", cases[i].field, value);
        size_t n = 0;
        while (n < 3 && cases[i].hits[n]) {
            assert_true(fixture_array_has(hits, cases[i].hits[n]));
            n++;
        }
        assert_int_equal(json_object_array_length(hits), n);
        json_object_put(hits);
        json_object_put(value);
    }

    /* The class is part of the match. */
    struct json_object *value = json_object_new_string("eth0");
    struct json_object *hits = store_find(fx->store, "VIF", "device", value);
    assert_int_equal(json_object_array_length(hits), 0);
    json_object_put(hits);
    json_object_put(value);

    /* Several fields at once: every one must match. */
    struct {
        const char *match; /* The fields compared, as JSON. */
        const char *hit;   /* The expected UUID, or NULL for none. */
    } all[] = {
        {"{'MTU': 9000, 'device': '9000'}", c},
        {"{'MTU': 9000, 'management': true}", a},
        {"{'MTU': 1500, 'device': '9000'}", NULL},
        {"{'MTU': 9000, 'carrier': true}", NULL}, /* Observed. */
        {"{}", NULL},
    };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        struct json_object *match = fixture_json("%s", all[i].match);
        hits = store_find_match(fx->store, "PIF", match);
        assert_int_equal(json_object_array_length(hits), all[i].hit ? 1 : 0);
        if (all[i].hit) {
            assert_true(fixture_array_has(hits, all[i].hit));
        }
        json_object_put(hits);
        json_object_put(match);
    }
}

/* host.PIFs and network.PIFs are computed from PIF.host and PIF.network,
 * in store_get and store_get_all, and follow updates and deletes. */
static void
test_derived_fields(void **state)
{
    struct fixture *fx = *state;
    char h1[UUID_LENGTH + 1], h2[UUID_LENGTH + 1], net[UUID_LENGTH + 1];
    char p1[UUID_LENGTH + 1], p2[UUID_LENGTH + 1], p3[UUID_LENGTH + 1];

    insert(fx, "host", "{'name_label': 'h1'}", h1);
    insert(fx, "host", "{'name_label': 'h2'}", h2);
    insert(fx, "network", "{'name_label': 'n'}", net);
    char *fields = xasprintf("{'host': '%s', 'network': '%s'}", h1, net);
    insert(fx, "PIF", fields, p1);
    free(fields);
    fields = xasprintf("{'host': '%s'}", h1);
    insert(fx, "PIF", fields, p2);
    free(fields);
    fields = xasprintf("{'host': '%s', 'network': '%s'}", h2, net);
    insert(fx, "PIF", fields, p3);
    free(fields);

    struct json_object *r = store_get(fx->store, "host", h1);
    struct json_object *pifs = member(r, "PIFs");
    assert_int_equal(json_object_array_length(pifs), 2);
    assert_true(fixture_array_has(pifs, p1));
    assert_true(fixture_array_has(pifs, p2));
    json_object_put(r);

    r = store_get(fx->store, "network", net);
    pifs = member(r, "PIFs");
    assert_int_equal(json_object_array_length(pifs), 2);
    assert_true(fixture_array_has(pifs, p1));
    assert_true(fixture_array_has(pifs, p3));
    assert_int_equal(json_object_array_length(member(r, "VIFs")), 0);
    json_object_put(r);

    struct json_object *all = store_get_all(fx->store, "host");
    assert_int_equal(json_object_object_length(all), 2);
    pifs = member(member(all, h2), "PIFs");
    assert_int_equal(json_object_array_length(pifs), 1);
    assert_true(fixture_array_has(pifs, p3));
    assert_string_equal(fixture_string(member(all, h2), "uuid"), h2);
    json_object_put(all);

    /* Derived fields are never stored: the change log lacks them. */
    struct json_object *changes = store_changes_since(fx->store, 0, 100);
    for (size_t i = 0; i < json_object_array_length(changes); i++) {
        struct json_object *snapshot =
            member(json_object_array_get_idx(changes, i), "snapshot");
        assert_false(json_object_object_get_ex(snapshot, "PIFs", NULL));
    }
    json_object_put(changes);

    fields = xasprintf("{'network': '%s'}", net);
    assert_int_equal(update(fx, "PIF", p2, fields), 0);
    free(fields);
    assert_int_equal(store_delete(fx->store, "PIF", p1), 0);
    r = store_get(fx->store, "network", net);
    pifs = member(r, "PIFs");
    assert_int_equal(json_object_array_length(pifs), 2);
    assert_true(fixture_array_has(pifs, p2));
    assert_true(fixture_array_has(pifs, p3));
    json_object_put(r);
    r = store_get(fx->store, "host", h1);
    pifs = member(r, "PIFs");
    assert_int_equal(json_object_array_length(pifs), 1);
    assert_true(fixture_array_has(pifs, p2));
    json_object_put(r);
}

/* A rolled-back transaction leaves no object, no change and no callback
 * behind. */
static void
test_transaction_rollback(void **state)
{
    struct fixture *fx = *state;
    char kept[UUID_LENGTH + 1], a[UUID_LENGTH + 1], b[UUID_LENGTH + 1];

    insert(fx, "network", "{'name_label': 'kept'}", kept);
    uint64_t seq = store_last_seq(fx->store);
    subscribe_all(fx);

    assert_int_equal(store_begin(fx->store), 0);
    insert(fx, "network", "{'name_label': 'a'}", a);
    assert_int_equal(update(fx, "network", kept, "{'name_label': 'x'}"), 0);
    assert_int_equal(store_begin(fx->store), 0);
    insert(fx, "network", "{'name_label': 'b'}", b);
    assert_int_equal(store_delete(fx->store, "network", kept), 0);
    store_rollback(fx->store);

    assert_int_equal(fx->n_callbacks, 0);
    assert_false(store_exists(fx->store, "network", a));
    assert_false(store_exists(fx->store, "network", b));
    struct json_object *r = store_get(fx->store, "network", kept);
    assert_non_null(r);
    assert_string_equal(fixture_string(r, "name_label"), "kept");
    json_object_put(r);
    assert_int_equal(store_last_seq(fx->store), seq);
    struct json_object *changes = store_changes_since(fx->store, seq, 100);
    assert_int_equal(json_object_array_length(changes), 0);
    json_object_put(changes);

    /* Nothing is left open: the next write is durable on its own. */
    assert_int_equal(store_commit(fx->store), EINVAL);
    insert(fx, "network", "{'name_label': 'after'}", a);
    assert_int_equal(fx->n_callbacks, 1);
    reopen(fx);
    assert_true(store_exists(fx->store, "network", a));
}

/* Nested begin/commit pairs make one transaction: the inner commit
 * publishes nothing, the outer one commits everything and calls back
 * once. */
static void
test_transaction_nested(void **state)
{
    struct fixture *fx = *state;
    char a[UUID_LENGTH + 1], b[UUID_LENGTH + 1];

    subscribe_all(fx);
    assert_int_equal(store_begin(fx->store), 0);
    assert_int_equal(store_begin(fx->store), 0);
    insert(fx, "network", "{'name_label': 'a'}", a);
    assert_int_equal(store_commit(fx->store), 0);
    assert_int_equal(fx->n_callbacks, 0);
    insert(fx, "network", "{'name_label': 'b'}", b);
    assert_int_equal(update(fx, "network", a, "{'MTU': 2000}"), 0);
    assert_int_equal(fx->n_callbacks, 0);
    assert_int_equal(store_commit(fx->store), 0);
    assert_int_equal(fx->n_callbacks, 1);
    assert_int_equal(fx->callback_seq, store_last_seq(fx->store));
    assert_int_equal(store_last_seq(fx->store), 3);

    /* A transaction without a logged change calls nobody back. */
    assert_int_equal(store_begin(fx->store), 0);
    assert_int_equal(update(fx, "network", a, "{'MTU': 2000}"), 0);
    assert_int_equal(store_commit(fx->store), 0);
    assert_int_equal(fx->n_callbacks, 1);

    /* The outer rollback of a nested pair discards the inner commit. */
    assert_int_equal(store_begin(fx->store), 0);
    assert_int_equal(store_begin(fx->store), 0);
    assert_int_equal(store_delete(fx->store, "network", b), 0);
    assert_int_equal(store_commit(fx->store), 0);
    store_rollback(fx->store);
    assert_true(store_exists(fx->store, "network", b));

    reopen(fx);
    struct json_object *r = store_get(fx->store, "network", a);
    assert_int_equal(fixture_int(r, "MTU"), 2000);
    json_object_put(r);
    assert_true(store_exists(fx->store, "network", b));
    assert_int_equal(store_last_seq(fx->store), 3);
}

/* Returns the number of objects of 'class' that a connection of its own
 * reads from the database at 'path': what is committed there. */
static int
count_committed(const char *path, const char *class)
{
    sqlite3 *db;
    sqlite3_stmt *stmt;
    int n = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM objects WHERE class = ?",
                           -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_text(stmt, 1, class, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        n = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

/* Between store_defer_flush() and store_flush() every write still commits
 * on its own (another connection reads it at once) and calls back at once;
 * a transaction rolled back there discards only itself; deferrals nest;
 * after the flush the writes are there on reopening, and later writes
 * commit as before. */
static void
test_group_commit(void **state)
{
    struct fixture *fx = *state;
    char a[UUID_LENGTH + 1], b[UUID_LENGTH + 1], c[UUID_LENGTH + 1];

    subscribe_all(fx);
    store_defer_flush(fx->store);
    insert(fx, "network", "{'name_label': 'a'}", a);
    assert_int_equal(fx->n_callbacks, 1);
    assert_int_equal(count_committed(fx->path, "network"), 1);

    store_defer_flush(fx->store);
    insert(fx, "network", "{'name_label': 'b'}", b);
    assert_int_equal(store_flush(fx->store), 0); /* The inner one. */
    assert_int_equal(fx->n_callbacks, 2);
    assert_int_equal(count_committed(fx->path, "network"), 2);

    assert_int_equal(store_begin(fx->store), 0);
    insert(fx, "network", "{'name_label': 'gone'}", c);
    store_rollback(fx->store);
    assert_int_equal(update(fx, "network", a, "{'MTU': 2000}"), 0);
    assert_int_equal(fx->n_callbacks, 3);
    assert_int_equal(store_flush(fx->store), 0);
    assert_int_equal(store_flush(fx->store), 0); /* Unmatched: nothing. */

    insert(fx, "network", "{'name_label': 'c'}", c);
    assert_int_equal(fx->n_callbacks, 4);
    uint64_t seq = store_last_seq(fx->store);
    reopen(fx);
    assert_true(store_exists(fx->store, "network", a));
    assert_true(store_exists(fx->store, "network", b));
    assert_true(store_exists(fx->store, "network", c));
    struct json_object *r = store_get(fx->store, "network", a);
    assert_int_equal(fixture_int(r, "MTU"), 2000);
    json_object_put(r);
    assert_int_equal(store_last_seq(fx->store), seq);
    assert_int_equal(count_committed(fx->path, "network"), 3);
}

/* Returns how many times the store of 'fx' has flushed its log. */
static uint64_t
flushes(struct fixture *fx)
{
    struct store_sync_stats stats;

    store_get_sync_stats(fx->store, &stats);
    return stats.flushes;
}

/* Returns how many commits of the store of 'fx' wait for a flush. */
static uint64_t
unflushed(struct fixture *fx)
{
    struct store_sync_stats stats;

    store_get_sync_stats(fx->store, &stats);
    return stats.unflushed;
}

/* STORE_SYNC_FULL, the mode a store opens in: each commit of desired
 * state is flushed before it returns, a group commit flushes once at its
 * end, and an observation (kept outside the durable database) needs no
 * flush. */
static void
test_sync_full(void **state)
{
    struct fixture *fx = *state;
    char a[UUID_LENGTH + 1], b[UUID_LENGTH + 1], pif[UUID_LENGTH + 1];

    uint64_t before = flushes(fx);
    insert(fx, "network", "{'name_label': 'a'}", a);
    insert(fx, "network", "{'name_label': 'b'}", b);
    assert_int_equal(update(fx, "network", a, "{'MTU': 9000}"), 0);
    assert_int_equal(flushes(fx), before + 3);
    assert_int_equal(unflushed(fx), 0);

    insert(fx, "PIF", "{'device': 'eth0'}", pif);
    before = flushes(fx);
    assert_int_equal(update(fx, "PIF", pif, "{'carrier': true}"), 0);
    assert_int_equal(flushes(fx), before);

    store_defer_flush(fx->store);
    assert_int_equal(update(fx, "network", a, "{'MTU': 2000}"), 0);
    assert_int_equal(update(fx, "network", b, "{'MTU': 2000}"), 0);
    assert_int_equal(flushes(fx), before);
    assert_int_equal(unflushed(fx), 2);
    assert_int_equal(store_flush(fx->store), 0);
    assert_int_equal(flushes(fx), before + 1);
    assert_int_equal(unflushed(fx), 0);
}

/* STORE_SYNC_INTERVAL: a commit is in the database for another connection
 * as soon as it returns, unflushed; the timer on the loop flushes every
 * commit made meanwhile once and stops; an end of a group commit leaves
 * them to it; what a pool member applies of the pool's log is flushed at
 * once; switching back to STORE_SYNC_FULL flushes what waits; the commits
 * are there after the store is closed and opened again. */
static void
test_sync_interval(void **state)
{
    struct fixture *fx = *state;
    struct event_base *base = event_base_new();
    char a[UUID_LENGTH + 1], b[UUID_LENGTH + 1];

    assert_non_null(base);
    store_set_sync(fx->store, STORE_SYNC_INTERVAL, base);
    uint64_t before = flushes(fx);
    insert(fx, "network", "{'name_label': 'a'}", a);
    assert_int_equal(count_committed(fx->path, "network"), 1);
    insert(fx, "network", "{'name_label': 'b'}", b);
    assert_int_equal(count_committed(fx->path, "network"), 2);
    assert_int_equal(flushes(fx), before);
    assert_int_equal(unflushed(fx), 2);

    /* The loop has one thing to do: the flush. */
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(flushes(fx), before + 1);
    assert_int_equal(unflushed(fx), 0);
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);

    store_defer_flush(fx->store);
    assert_int_equal(update(fx, "network", a, "{'MTU': 2000}"), 0);
    assert_int_equal(store_flush(fx->store), 0);
    assert_int_equal(flushes(fx), before + 1);
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(flushes(fx), before + 2);

    /* A pool member: another store's log entries, applied here. */
    char *path = xasprintf("%s/member.db", fx->dir);
    struct store *member_store;
    assert_int_equal(store_open(path, &member_store), 0);
    store_set_sync(member_store, STORE_SYNC_INTERVAL, base);
    struct json_object *entries = store_changes_since(fx->store, 0, 10);
    struct store_sync_stats stats;
    store_get_sync_stats(member_store, &stats);
    uint64_t member_before = stats.flushes;
    assert_int_equal(store_apply_changes(member_store, entries), 0);
    store_get_sync_stats(member_store, &stats);
    assert_int_equal(stats.flushes, member_before + 1);
    assert_int_equal(stats.unflushed, 0);
    assert_true(store_exists(member_store, "network", b));
    json_object_put(entries);
    store_close(member_store);
    free(path);

    assert_int_equal(store_delete(fx->store, "network", b), 0);
    assert_int_equal(unflushed(fx), 1);
    store_set_sync(fx->store, STORE_SYNC_FULL, NULL);
    assert_int_equal(flushes(fx), before + 3);
    assert_int_equal(unflushed(fx), 0);
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);

    store_set_sync(fx->store, STORE_SYNC_INTERVAL, base);
    assert_int_equal(update(fx, "network", a, "{'MTU': 9000}"), 0);
    reopen(fx);
    struct json_object *r = store_get(fx->store, "network", a);
    assert_int_equal(fixture_int(r, "MTU"), 9000);
    json_object_put(r);
    assert_false(store_exists(fx->store, "network", b));
    event_base_free(base);
}

/* store_check_value reports a wrong JSON type as FIELD_TYPE_ERROR(field)
 * and a value out of range or outside the enum as INVALID_VALUE(field,
 * value). */
static void
test_check_value(void **state)
{
    (void) state;
    const struct store_class *network = store_class_find("network", false);
    const struct store_class *pif = store_class_find("PIF", false);
    const struct store_class *task = store_class_find("task", false);
    struct {
        const struct store_class *class;
        const char *field;
        const char *value; /* JSON text. */
        const char *code;  /* Expected error, NULL for none. */
        const char *param; /* Its second parameter, if any. */
    } cases[] = {
        {network, "MTU", "9000", NULL, NULL},
        {network, "MTU", "1280", NULL, NULL},
        {network, "MTU", "9216", NULL, NULL},
        {network, "MTU", "1279", ERR_INVALID_VALUE, "1279"},
        {network, "MTU", "9217", ERR_INVALID_VALUE, "9217"},
        {network, "MTU", "'9000'", ERR_FIELD_TYPE_ERROR, NULL},
        {network, "MTU", "9000.5", ERR_FIELD_TYPE_ERROR, NULL},
        {network, "name_label", "'x'", NULL, NULL},
        {network, "name_label", "7", ERR_FIELD_TYPE_ERROR, NULL},
        {network, "managed", "true", NULL, NULL},
        {network, "managed", "1", ERR_FIELD_TYPE_ERROR, NULL},
        {network, "other_config", "{'a': 'b'}", NULL, NULL},
        {network, "other_config", "{'a': 1}", ERR_FIELD_TYPE_ERROR, NULL},
        {network, "other_config", "['a']", ERR_FIELD_TYPE_ERROR, NULL},
        {pif, "duplex", "'full'", NULL, NULL},
        {pif, "duplex", "'sideways'", ERR_INVALID_VALUE, "sideways"},
        {pif, "duplex", "1", ERR_FIELD_TYPE_ERROR, NULL},
        {pif, "VLAN", "-1", NULL, NULL},
        {pif, "VLAN", "4095", ERR_INVALID_VALUE, "4095"},
        {pif, "speed", "100000", NULL, NULL},
        {pif, "host", "''", NULL, NULL},
        {pif, "host", "null", ERR_FIELD_TYPE_ERROR, NULL},
        {pif, "VLAN_slave_of", "['a', 'b']", NULL, NULL},
        {pif, "VLAN_slave_of", "['a', 2]", ERR_FIELD_TYPE_ERROR, NULL},
        {task, "progress", "0.5", NULL, NULL},
        {task, "progress", "1", NULL, NULL},
        {task, "progress", "'half'", ERR_FIELD_TYPE_ERROR, NULL},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct store_field *f =
            store_class_field(cases[i].class, cases[i].field);
        assert_non_null(f);
        struct json_object *value = fixture_json("%s", cases[i].value);
        struct np_error *error = store_check_value(cases[i].class, f, value);
        if (!cases[i].code) {
            assert_null(error);
        } else if (cases[i].param) {
            expect_error(error, cases[i].code, cases[i].field, cases[i].param,
                         NULL);
        } else {
            expect_error(error, cases[i].code, cases[i].field, NULL);
        }
        json_object_put(value);
    }
}

/* Class and field lookup by API and CLI name. */
static void
test_schema_lookup(void **state)
{
    (void) state;
    const struct store_class *pif = store_class_find("PIF", false);

    assert_non_null(pif);
    assert_string_equal(pif->name, "PIF");
    assert_ptr_equal(store_class_find("pif", true), pif);
    assert_ptr_equal(store_class_find("PiF", true), pif);
    assert_null(store_class_find("pif", false));
    assert_null(store_class_find("bridge", false));
    assert_non_null(store_class_field(pif, "MTU"));
    assert_null(store_class_field(pif, "uuid"));
    assert_null(store_class_field(pif, "mtu"));

    size_t n = 0;
    for (const struct store_class *const *c = store_classes(); *c; c++) {
        assert_ptr_equal(store_class_find((*c)->name, false), *c);
        n++;
    }
    assert_int_equal(n, 16);
    assert_true(store_class_find("session", false)->secret);

    struct json_object *record = store_default_record(pif);
    assert_false(json_object_object_get_ex(record, "uuid", NULL));
    assert_false(json_object_object_get_ex(record, "bond_master_of", NULL));
    assert_int_equal(fixture_int(record, "MTU"), 1500);
    assert_int_equal(json_object_object_length(record), pif->n_fields - 3);
    json_object_put(record);
}

/* Closing and reopening keeps objects, the change log and the sequence
 * numbers. */
static void
test_persistence(void **state)
{
    struct fixture *fx = *state;
    char uuid[UUID_LENGTH + 1];

    assert_int_equal(store_schema_version(fx->store), STORE_SCHEMA_VERSION);
    insert(fx, "network", "{'name_label': 'persisted'}", uuid);
    assert_int_equal(
        update(fx, "network", uuid, "{'other_config': {'k': 'v'}}"), 0);
    uint64_t seq = store_last_seq(fx->store);

    reopen(fx);
    assert_int_equal(store_schema_version(fx->store), STORE_SCHEMA_VERSION);
    assert_int_equal(store_last_seq(fx->store), seq);
    struct json_object *r = store_get(fx->store, "network", uuid);
    assert_non_null(r);
    assert_string_equal(fixture_string(r, "name_label"), "persisted");
    assert_string_equal(fixture_string(member(r, "other_config"), "k"), "v");
    json_object_put(r);
    struct json_object *changes = store_changes_since(fx->store, 0, 100);
    assert_int_equal(json_object_array_length(changes), 2);
    json_object_put(changes);

    char next[UUID_LENGTH + 1];
    insert(fx, "network", "{'name_label': 'next'}", next);
    assert_int_equal(store_last_seq(fx->store), seq + 1);
}

/* Runs 'sql' on a new database at 'path' with the sqlite3 API. */
static void
make_database(const char *path, const char *sql)
{
    sqlite3 *db;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("sql: %s", msg);
    }
    sqlite3_close(db);
}

/* Returns the 'seq' column of object 'uuid' in the database at 'path'. */
static int64_t
object_seq(const char *path, const char *uuid)
{
    sqlite3 *db;
    sqlite3_stmt *stmt;
    int64_t seq = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT seq FROM objects"
                                        " WHERE uuid = ?",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        seq = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return seq;
}

/* A database of schema version 1 (as the first netpoold wrote it) is
 * migrated to STORE_SCHEMA_VERSION on open, keeping its objects and its
 * change log, including objects whose changes were already pruned. */
static void
test_migration_from_v1(void **state)
{
    struct fixture *fx = *state;
    static const char *const net = "6b9f0a47-2f0c-4d0e-9a4e-0d3a1c2b3e4f";
    static const char *const old = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";

    store_close(fx->store);
    fx->store = NULL;
    char *path = xasprintf("%s/v1.db", fx->dir);
    make_database(
        path,
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE objects(uuid TEXT PRIMARY KEY, class TEXT NOT NULL,"
        "                     host TEXT, record TEXT NOT NULL);"
        "CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        "                     class TEXT NOT NULL, uuid TEXT NOT NULL,"
        "                     operation TEXT NOT NULL, snapshot TEXT,"
        "                     timestamp TEXT NOT NULL);"
        "INSERT INTO meta VALUES('schema_version', '1');"
        "INSERT INTO objects VALUES('6b9f0a47-2f0c-4d0e-9a4e-0d3a1c2b3e4f',"
        "    'network', NULL, '{\"name_label\":\"v1net\",\"MTU\":9000}');"
        "INSERT INTO changes(class, uuid, operation, snapshot, timestamp)"
        "    VALUES('network', '6b9f0a47-2f0c-4d0e-9a4e-0d3a1c2b3e4f',"
        "    'add', '{\"name_label\":\"v1net\",\"MTU\":9000}',"
        "    '2025-01-01T00:00:00.000Z');"
        "INSERT INTO objects VALUES('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9',"
        "    'network', NULL, '{\"name_label\":\"pruned\"}');");

    assert_int_equal(store_open(path, &fx->store), 0);
    assert_int_equal(store_schema_version(fx->store), STORE_SCHEMA_VERSION);
    struct json_object *r = store_get(fx->store, "network", net);
    assert_non_null(r);
    assert_string_equal(fixture_string(r, "name_label"), "v1net");
    assert_int_equal(fixture_int(r, "MTU"), 9000);
    assert_true(fixture_bool(r, "managed")); /* Default filled in. */
    json_object_put(r);
    assert_true(store_exists(fx->store, "network", old));

    assert_int_equal(store_last_seq(fx->store), 1);
    struct json_object *changes = store_changes_since(fx->store, 0, 10);
    assert_int_equal(json_object_array_length(changes), 1);
    assert_string_equal(
        fixture_string(json_object_array_get_idx(changes, 0), "ref"), net);
    json_object_put(changes);

    char uuid[UUID_LENGTH + 1];
    insert(fx, "network", "{'name_label': 'v2'}", uuid);
    assert_int_equal(store_last_seq(fx->store), 2);
    store_close(fx->store);
    fx->store = NULL;

    /* Version 2 records each object's last change. */
    assert_int_equal(object_seq(path, net), 1);
    assert_int_equal(object_seq(path, old), 0);
    assert_int_equal(object_seq(path, uuid), 2);

    /* A migrated database opens again as it is. */
    assert_int_equal(store_open(path, &fx->store), 0);
    assert_int_equal(store_schema_version(fx->store), STORE_SCHEMA_VERSION);
    assert_true(store_exists(fx->store, "network", old));
    free(path);
}

/* A database written by a newer netpoold is refused with EPROTO and left
 * as it was. */
static void
test_newer_schema_refused(void **state)
{
    struct fixture *fx = *state;
    char *sql = xasprintf("UPDATE meta SET value = '%d'"
                          " WHERE key = 'schema_version';",
                          STORE_SCHEMA_VERSION + 1);

    store_close(fx->store);
    fx->store = NULL;
    make_database(fx->path, sql);
    free(sql);

    struct store *store = (struct store *) 1;
    assert_int_equal(store_open(fx->path, &store), EPROTO);
    assert_null(store);

    sqlite3 *db;
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    sqlite3_prepare_v2(db,
                       "SELECT value FROM meta"
                       " WHERE key = 'schema_version'",
                       -1, &stmt, NULL);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), STORE_SCHEMA_VERSION + 1);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

/* Pruning keeps the newest 'keep' changes; sequence numbers keep rising
 * afterwards, even across a reopen and when the whole log was pruned. */
static void
test_prune_changes(void **state)
{
    struct fixture *fx = *state;
    char uuid[UUID_LENGTH + 1];

    insert(fx, "network", "{'name_label': 'n'}", uuid);
    for (int i = 0; i < 9; i++) {
        char *fields = xasprintf("{'MTU': %d}", 2000 + i);
        assert_int_equal(update(fx, "network", uuid, fields), 0);
        free(fields);
    }
    uint64_t last = store_last_seq(fx->store);
    assert_int_equal(last, 10);

    assert_int_equal(store_prune_changes(fx->store, 100), 0);
    assert_int_equal(store_first_seq(fx->store), 1);

    assert_int_equal(store_prune_changes(fx->store, 3), 0);
    assert_int_equal(store_last_seq(fx->store), last);
    assert_int_equal(store_first_seq(fx->store), last - 2);
    struct json_object *changes = store_changes_since(fx->store, 0, 100);
    assert_int_equal(json_object_array_length(changes), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(
            fixture_int(json_object_array_get_idx(changes, i), "id"),
            last - 2 + i);
    }
    json_object_put(changes);

    assert_int_equal(update(fx, "network", uuid, "{'MTU': 1500}"), 0);
    assert_int_equal(store_last_seq(fx->store), last + 1);

    assert_int_equal(store_prune_changes(fx->store, 0), 0);
    assert_int_equal(store_first_seq(fx->store), 0);
    assert_int_equal(store_last_seq(fx->store), last + 1);
    reopen(fx);
    assert_int_equal(store_last_seq(fx->store), last + 1);
    assert_int_equal(update(fx, "network", uuid, "{'MTU': 1600}"), 0);
    assert_int_equal(store_last_seq(fx->store), last + 2);
    changes = store_changes_since(fx->store, 0, 100);
    assert_int_equal(json_object_array_length(changes), 1);
    assert_int_equal(fixture_int(json_object_array_get_idx(changes, 0), "id"),
                     last + 2);
    json_object_put(changes);

    /* The object itself is untouched by pruning. */
    struct json_object *r = store_get(fx->store, "network", uuid);
    assert_int_equal(fixture_int(r, "MTU"), 1600);
    json_object_put(r);
}

/* What a feed subscriber received: one entry per changed row. */
struct feed {
    struct json_object *rows; /* Array of {"class", "uuid", "op",
                               * "observed", "seq", "fields", "old_owner",
                               * "new_owner", "new"}. */
    int calls;                /* Deliveries. */
};

static void
feed_cb(void *feed_, const struct store_change *changes, size_t n,
        uint64_t seq)
{
    static const char *const ops[] = {"add", "mod", "del"};
    struct feed *feed = feed_;

    feed->calls++;
    for (size_t i = 0; i < n; i++) {
        const struct store_change *c = &changes[i];
        struct json_object *row = json_object_new_object();
        json_object_object_add(row, "class",
                               json_object_new_string(c->class->name));
        json_object_object_add(row, "uuid", json_object_new_string(c->uuid));
        json_object_object_add(row, "op", json_object_new_string(ops[c->op]));
        json_object_object_add(row, "observed",
                               json_object_new_boolean(c->observed));
        json_object_object_add(row, "seq",
                               json_object_new_int64((int64_t) c->seq));
        json_object_object_add(row, "fields", json_object_get(c->fields));
        json_object_object_add(row, "old_owner",
                               json_object_new_string(c->old_owner));
        json_object_object_add(row, "new_owner",
                               json_object_new_string(c->new_owner));
        if (c->new) {
            json_object_object_add(row, "new", json_object_get(c->new));
        }
        json_object_array_add(feed->rows, row);
    }
    assert_true(seq > 0 || n > 0);
}

static void
feed_init(struct feed *feed)
{
    feed->rows = json_object_new_array();
    feed->calls = 0;
}

static void
feed_reset(struct feed *feed)
{
    json_object_put(feed->rows);
    feed_init(feed);
}

static struct json_object *
feed_row(struct feed *feed, size_t i)
{
    assert_true(i < json_object_array_length(feed->rows));
    return json_object_array_get_idx(feed->rows, i);
}

/* The feed hands each subscriber the rows of the classes and kinds it
 * asked for, once per commit, with the operation, the log sequence, the
 * changed fields and the records. */
static void
test_feed_rows(void **state)
{
    struct fixture *fx = *state;
    struct feed nets, all;
    static const char *const networks[] = {"network", NULL};
    char a[UUID_LENGTH + 1], b[UUID_LENGTH + 1];

    feed_init(&nets);
    feed_init(&all);
    struct store_subscription *s1 = store_subscribe(
        fx->store, networks, STORE_FEED_DESIRED, NULL, feed_cb, &nets);
    store_subscribe(fx->store, NULL, STORE_FEED_ALL, NULL, feed_cb, &all);

    assert_int_equal(store_begin(fx->store), 0);
    insert(fx, "network", "{'name_label': 'a'}", a);
    insert(fx, "network", "{'name_label': 'b'}", b);
    assert_int_equal(update(fx, "network", a, "{'MTU': 9000}"), 0);
    assert_int_equal(store_commit(fx->store), 0);
    assert_int_equal(nets.calls, 1);
    assert_int_equal(json_object_array_length(nets.rows), 3);
    assert_string_equal(fixture_string(feed_row(&nets, 0), "op"), "add");
    assert_string_equal(fixture_string(feed_row(&nets, 0), "uuid"), a);
    assert_int_equal(fixture_int(feed_row(&nets, 0), "seq"), 1);
    assert_string_equal(fixture_string(feed_row(&nets, 2), "op"), "mod");
    assert_int_equal(fixture_int(feed_row(&nets, 2), "seq"), 3);
    struct json_object *fields = member(feed_row(&nets, 2), "fields");
    assert_int_equal(json_object_array_length(fields), 1);
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(fields, 0)), "MTU");
    assert_int_equal(fixture_int(member(feed_row(&nets, 2), "new"), "MTU"),
                     9000);

    /* Another class reaches only the subscriber of every class. */
    char user[UUID_LENGTH + 1];
    insert(fx, "user", "{'username': 'u'}", user);
    assert_int_equal(nets.calls, 1);
    assert_int_equal(json_object_array_length(all.rows), 4);

    /* A delete, then an unsubscribed subscriber hears nothing more. */
    assert_int_equal(store_delete(fx->store, "network", b), 0);
    assert_string_equal(fixture_string(feed_row(&nets, 3), "op"), "del");
    store_unsubscribe(s1);
    assert_int_equal(store_delete(fx->store, "network", a), 0);
    assert_int_equal(json_object_array_length(nets.rows), 4);
    assert_int_equal(json_object_array_length(all.rows), 6);
    json_object_put(nets.rows);
    json_object_put(all.rows);
}

/* Observed fields live apart: writing them moves neither the log nor a
 * subscriber of desired changes, reads merge them, a search finds them
 * (defaults included), and the event log shows them. */
static void
test_observed_apart(void **state)
{
    struct fixture *fx = *state;
    struct feed desired, observed;
    static const char *const pifs[] = {"PIF", NULL};
    char host[UUID_LENGTH + 1], pif[UUID_LENGTH + 1], pif2[UUID_LENGTH + 1];

    new_uuid(host);
    char *fields = xasprintf("{'device': 'eth0', 'host': '%s',"
                             " 'carrier': true, 'speed': 1000}",
                             host);
    insert(fx, "PIF", fields, pif);
    free(fields);
    fields = xasprintf("{'device': 'eth1', 'host': '%s'}", host);
    insert(fx, "PIF", fields, pif2);
    free(fields);
    uint64_t seq = store_last_seq(fx->store);
    uint64_t events = store_event_last(fx->store);

    feed_init(&desired);
    feed_init(&observed);
    store_subscribe(fx->store, pifs, STORE_FEED_DESIRED, NULL, feed_cb,
                    &desired);
    store_subscribe(fx->store, pifs, STORE_FEED_OBSERVED, NULL, feed_cb,
                    &observed);

    assert_int_equal(update(fx, "PIF", pif, "{'carrier': false}"), 0);
    assert_int_equal(store_last_seq(fx->store), seq);
    assert_int_equal(desired.calls, 0);
    assert_int_equal(observed.calls, 1);
    assert_true(fixture_bool(feed_row(&observed, 0), "observed"));
    assert_int_equal(fixture_int(feed_row(&observed, 0), "seq"), 0);
    assert_false(
        fixture_bool(member(feed_row(&observed, 0), "new"), "carrier"));

    /* One update of both kinds: one desired and one observed row. */
    assert_int_equal(update(fx, "PIF", pif,
                            "{'carrier': true, 'other_config': {'a': 'b'}}"),
                     0);
    assert_int_equal(store_last_seq(fx->store), seq + 1);
    assert_int_equal(desired.calls, 1);
    assert_int_equal(observed.calls, 2);
    struct json_object *changes = store_changes_since(fx->store, seq, 10);
    assert_int_equal(json_object_array_length(changes), 1);
    assert_false(json_object_object_get_ex(
        member(json_object_array_get_idx(changes, 0), "snapshot"), "carrier",
        NULL));
    json_object_put(changes);

    struct json_object *r = store_get(fx->store, "PIF", pif);
    assert_true(fixture_bool(r, "carrier"));
    assert_int_equal(fixture_int(r, "speed"), 1000);
    assert_string_equal(fixture_string(member(r, "other_config"), "a"), "b");
    json_object_put(r);

    struct json_object *yes = json_object_new_boolean(true);
    struct json_object *no = json_object_new_boolean(false);
    struct json_object *found = store_find(fx->store, "PIF", "carrier", yes);
    assert_int_equal(json_object_array_length(found), 1);
    json_object_put(found);
    found = store_find(fx->store, "PIF", "carrier", no);
    assert_int_equal(json_object_array_length(found), 1); /* The default. */
    assert_true(fixture_array_has(found, pif2));
    json_object_put(found);
    json_object_put(yes);
    json_object_put(no);

    struct json_object *seen = store_events_since(fx->store, events, 10);
    assert_int_equal(json_object_array_length(seen), 2);
    struct json_object *first = json_object_array_get_idx(seen, 0);
    assert_false(fixture_bool(member(first, "snapshot"), "carrier"));
    assert_string_equal(fixture_string(member(first, "snapshot"), "device"),
                        "eth0");
    json_object_put(seen);

    /* Observations survive a restart (until observed again). */
    reopen(fx);
    r = store_get(fx->store, "PIF", pif);
    assert_true(fixture_bool(r, "carrier"));
    json_object_put(r);
    json_object_put(desired.rows);
    json_object_put(observed.rows);
}

/* Owners: a PIF's bond and VLAN share its host, a VM's VIFs follow its
 * resident_on, and a subscriber of one host hears of its own objects and
 * of unowned ones only — including the owner moving to or from it. */
static void
test_owners(void **state)
{
    struct fixture *fx = *state;
    char h1[UUID_LENGTH + 1], h2[UUID_LENGTH + 1];
    char pif[UUID_LENGTH + 1], bond[UUID_LENGTH + 1], vm[UUID_LENGTH + 1];
    char vif[UUID_LENGTH + 1], net[UUID_LENGTH + 1];
    struct feed mine;

    new_uuid(h1);
    new_uuid(h2);
    char *fields = xasprintf("{'host': '%s'}", h1);
    insert(fx, "PIF", fields, pif);
    free(fields);
    fields = xasprintf("{'master': '%s'}", pif);
    insert(fx, "bond", fields, bond);
    free(fields);
    insert(fx, "network", "{'name_label': 'n'}", net);
    insert(fx, "VM", "{'name_label': 'vm'}", vm);
    fields =
        xasprintf("{'VM': '%s', 'network': '%s', 'device': '0'}", vm, net);
    insert(fx, "VIF", fields, vif);
    free(fields);

    char *owner = store_owner(fx->store, "bond", bond);
    assert_string_equal(owner, h1);
    free(owner);
    owner = store_owner(fx->store, "VIF", vif);
    assert_string_equal(owner, "");
    free(owner);
    assert_null(store_owner(fx->store, "VIF", pif));

    feed_init(&mine);
    store_subscribe(fx->store, NULL, STORE_FEED_ALL, h2, feed_cb, &mine);

    /* Another host's object: nothing. */
    assert_int_equal(update(fx, "bond", bond, "{'other_config': {'a': 'b'}}"),
                     0);
    assert_int_equal(mine.calls, 0);

    /* The VM moves to h2: its VIF moves with it, and h2 hears of both. */
    fields = xasprintf("{'resident_on': '%s'}", h2);
    assert_int_equal(update(fx, "VM", vm, fields), 0);
    free(fields);
    assert_int_equal(mine.calls, 1);
    assert_int_equal(json_object_array_length(mine.rows), 2);
    struct json_object *moved = feed_row(&mine, 1);
    assert_string_equal(fixture_string(moved, "class"), "VIF");
    assert_string_equal(fixture_string(moved, "old_owner"), "");
    assert_string_equal(fixture_string(moved, "new_owner"), h2);
    assert_int_equal(json_object_array_length(member(moved, "fields")), 0);
    owner = store_owner(fx->store, "VIF", vif);
    assert_string_equal(owner, h2);
    free(owner);

    struct json_object *own = store_get_owned(fx->store, "VIF", h2, false);
    assert_int_equal(json_object_object_length(own), 1);
    json_object_put(own);
    own = store_get_owned(fx->store, "VIF", h1, false);
    assert_int_equal(json_object_object_length(own), 0);
    json_object_put(own);
    own = store_get_owned(fx->store, "network", h1, false);
    assert_int_equal(json_object_object_length(own), 1); /* Pool-wide. */
    json_object_object_foreach (own, net_uuid, net_record) {
        (void) net_uuid;
        assert_true(json_object_object_get_ex(net_record, "VIFs", NULL));
    }
    json_object_put(own);
    /* Without the derived fields, which follow every host's objects. */
    own = store_get_owned_stored(fx->store, "network", h1, false);
    assert_int_equal(json_object_object_length(own), 1);
    json_object_object_foreach (own, net_uuid2, net_record2) {
        (void) net_uuid2;
        assert_false(json_object_object_get_ex(net_record2, "VIFs", NULL));
        assert_true(
            json_object_object_get_ex(net_record2, "name_label", NULL));
    }
    json_object_put(own);

    /* Back to h1: h2 hears that the VIF left it. */
    fields = xasprintf("{'resident_on': '%s'}", h1);
    assert_int_equal(update(fx, "VM", vm, fields), 0);
    free(fields);
    assert_int_equal(json_object_array_length(mine.rows), 4);
    assert_string_equal(fixture_string(feed_row(&mine, 3), "old_owner"), h2);
    assert_string_equal(fixture_string(feed_row(&mine, 3), "new_owner"), h1);

    /* Owners survive a reopen. */
    reopen(fx);
    own = store_get_owned(fx->store, "VIF", h1, false);
    assert_int_equal(json_object_object_length(own), 1);
    json_object_put(own);
    json_object_put(mine.rows);
}

/* Local classes (tasks, sessions) never enter the replicated log, but
 * their changes are events; log entries carry origin, actor and epoch. */
static void
test_local_classes_and_origin(void **state)
{
    struct fixture *fx = *state;
    char task[UUID_LENGTH + 1], net[UUID_LENGTH + 1];
    static const char *const host = "11111111-2222-4333-8444-555555555555";

    store_set_local_host(fx->store, host);
    store_set_epoch(fx->store, 7);
    uint64_t events = store_event_last(fx->store);
    insert(fx, "task", "{'name_label': 't'}", task);
    assert_int_equal(store_last_seq(fx->store), 0);
    assert_int_equal(store_event_last(fx->store), events + 1);

    assert_string_equal(store_actor(fx->store), "system");
    store_push_actor(fx->store, "system:test");
    insert(fx, "network", "{'name_label': 'n'}", net);
    store_pop_actor(fx->store);
    assert_string_equal(store_actor(fx->store), "system");
    struct json_object *changes = store_changes_since(fx->store, 0, 10);
    assert_int_equal(json_object_array_length(changes), 1);
    struct json_object *c = json_object_array_get_idx(changes, 0);
    assert_string_equal(fixture_string(c, "origin"), host);
    assert_string_equal(fixture_string(c, "actor"), "system:test");
    assert_int_equal(fixture_int(c, "epoch"), 7);
    json_object_put(changes);

    assert_int_equal(update(fx, "network", net, "{'MTU': 2000}"), 0);
    changes = store_changes_since(fx->store, 1, 10);
    assert_string_equal(
        fixture_string(json_object_array_get_idx(changes, 0), "actor"),
        "system");
    json_object_put(changes);
}

/* A snapshot loaded into another store reproduces every pool-wide object
 * and the log's position, keeps that store's local objects, and tells its
 * subscribers the difference; log entries applied after it follow on. */
static void
test_snapshot_and_apply(void **state)
{
    struct fixture *fx = *state;
    char net[UUID_LENGTH + 1], gone[UUID_LENGTH + 1], task[UUID_LENGTH + 1];
    char *path = xasprintf("%s/member.db", fx->dir);
    struct store *member_store;
    struct feed feed;

    insert(fx, "network", "{'name_label': 'n', 'MTU': 9000}", net);
    assert_int_equal(store_open(path, &member_store), 0);
    struct json_object *record = fixture_json("{'name_label': 'old'}");
    new_uuid(gone);
    assert_int_equal(store_insert(member_store, "network", gone, record), 0);
    json_object_put(record);
    record = fixture_json("{'name_label': 'local task'}");
    new_uuid(task);
    assert_int_equal(store_insert(member_store, "task", task, record), 0);
    json_object_put(record);

    feed_init(&feed);
    store_subscribe(member_store, NULL, STORE_FEED_ALL, NULL, feed_cb, &feed);
    struct json_object *snapshot = store_snapshot(fx->store);
    assert_int_equal(store_load_snapshot(member_store, snapshot), 0);
    json_object_put(snapshot);
    assert_int_equal(store_last_seq(member_store), store_last_seq(fx->store));
    assert_false(store_exists(member_store, "network", gone));
    assert_true(store_exists(member_store, "task", task));
    struct json_object *r = store_get(member_store, "network", net);
    assert_int_equal(fixture_int(r, "MTU"), 9000);
    json_object_put(r);
    assert_int_equal(json_object_array_length(feed.rows), 2);

    /* A malformed snapshot changes nothing. */
    snapshot = fixture_json("{'seq': 3, 'objects': {'nonsense': {}}}");
    assert_int_equal(store_load_snapshot(member_store, snapshot), EINVAL);
    json_object_put(snapshot);
    assert_true(store_exists(member_store, "network", net));

    /* The log's next entries apply in order; replaying them changes
     * nothing; a gap is refused. */
    uint64_t seq = store_last_seq(fx->store);
    assert_int_equal(update(fx, "network", net, "{'MTU': 1500}"), 0);
    assert_int_equal(store_delete(fx->store, "network", net), 0);
    struct json_object *entries = store_changes_since(fx->store, seq, 10);
    feed_reset(&feed);
    assert_int_equal(store_apply_changes(member_store, entries), 0);
    assert_int_equal(store_last_seq(member_store), seq + 2);
    assert_false(store_exists(member_store, "network", net));
    assert_int_equal(json_object_array_length(feed.rows), 2);
    assert_int_equal(fixture_int(feed_row(&feed, 0), "seq"), seq + 1);
    assert_int_equal(store_apply_changes(member_store, entries), 0);
    assert_int_equal(store_last_seq(member_store), seq + 2);
    struct json_object *log = store_changes_since(member_store, seq, 10);
    assert_true(json_object_equal(log, entries));
    json_object_put(log);
    json_object_put(entries);

    char late[UUID_LENGTH + 1];
    insert(fx, "network", "{'name_label': 'late'}", late);
    insert(fx, "network", "{'name_label': 'later'}", late);
    entries = store_changes_since(fx->store, seq + 3, 10);
    assert_int_equal(store_apply_changes(member_store, entries), EPROTO);
    assert_false(store_exists(member_store, "network", late));
    json_object_put(entries);

    json_object_put(feed.rows);
    store_close(member_store);
    free(path);
}

/* A schema 2 database (observed fields inside records, no owners of
 * bonds) is split on open: observations move out of the log's records,
 * owners are set, and event numbers continue after the old log. */
static void
test_migration_from_v2(void **state)
{
    struct fixture *fx = *state;
    static const char *const host = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    static const char *const pif = "6b9f0a47-2f0c-4d0e-9a4e-0d3a1c2b3e4f";
    static const char *const bond = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    static const char *const vm = "1a2b3c4d-5e6f-4a0b-9c1d-2e3f4a5b6c7d";

    store_close(fx->store);
    fx->store = NULL;
    char *path = xasprintf("%s/v2.db", fx->dir);
    char *sql = xasprintf(
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE objects(uuid TEXT PRIMARY KEY, class TEXT NOT NULL,"
        "                     host TEXT, record TEXT NOT NULL,"
        "                     seq INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX objects_by_class ON objects(class);"
        "CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        "                     class TEXT NOT NULL, uuid TEXT NOT NULL,"
        "                     operation TEXT NOT NULL, snapshot TEXT,"
        "                     timestamp TEXT NOT NULL);"
        "INSERT INTO meta VALUES('schema_version', '2');"
        "INSERT INTO objects VALUES('%s', 'PIF', '%s',"
        "    '{\"device\":\"eth0\",\"host\":\"%s\",\"carrier\":true,"
        "      \"currently_attached\":true}', 1);"
        "INSERT INTO objects VALUES('%s', 'bond', NULL,"
        "    '{\"master\":\"%s\",\"links_up\":2}', 2);"
        "INSERT INTO objects VALUES('%s', 'VM', '%s',"
        "    '{\"name_label\":\"web\",\"resident_on\":\"%s\","
        "      \"power_state\":\"Paused\",\"domid\":7}', 0);"
        "INSERT INTO changes(class, uuid, operation, snapshot, timestamp)"
        "    VALUES('PIF', '%s', 'add', '{}', '2025-01-01T00:00:00.000Z');"
        "INSERT INTO changes(class, uuid, operation, snapshot, timestamp)"
        "    VALUES('bond', '%s', 'add', '{}', '2025-01-01T00:00:00.000Z');",
        pif, host, host, bond, pif, vm, host, host, pif, bond);
    make_database(path, sql);
    free(sql);

    assert_int_equal(store_open(path, &fx->store), 0);
    assert_int_equal(store_schema_version(fx->store), STORE_SCHEMA_VERSION);
    struct json_object *r = store_get(fx->store, "PIF", pif);
    assert_true(fixture_bool(r, "carrier"));
    assert_true(fixture_bool(r, "currently_attached"));
    json_object_put(r);
    r = store_get(fx->store, "bond", bond);
    assert_int_equal(fixture_int(r, "links_up"), 2);
    json_object_put(r);
    char *owner = store_owner(fx->store, "bond", bond);
    assert_string_equal(owner, host);
    free(owner);
    assert_int_equal(store_event_last(fx->store), 2);

    /* The observation left the stored record: a snapshot lacks it. */
    struct json_object *snapshot = store_snapshot(fx->store);
    struct json_object *stored =
        member(member(member(snapshot, "objects"), "PIF"), pif);
    assert_false(json_object_object_get_ex(stored, "carrier", NULL));
    assert_true(fixture_bool(stored, "currently_attached"));
    /* A VM's power state is an observation (schema 4) and what was
     * asked for, both what the old record said. */
    stored = member(member(member(snapshot, "objects"), "VM"), vm);
    assert_false(json_object_object_get_ex(stored, "power_state", NULL));
    assert_false(json_object_object_get_ex(stored, "domid", NULL));
    assert_string_equal(fixture_string(stored, "desired_power_state"),
                        "Paused");
    json_object_put(snapshot);
    r = store_get(fx->store, "VM", vm);
    assert_string_equal(fixture_string(r, "power_state"), "Paused");
    assert_string_equal(fixture_string(r, "desired_power_state"), "Paused");
    assert_int_equal(fixture_int(r, "domid"), 7);
    json_object_put(r);

    char uuid[UUID_LENGTH + 1];
    insert(fx, "network", "{'name_label': 'v3'}", uuid);
    assert_int_equal(store_last_seq(fx->store), 3);
    assert_int_equal(store_event_last(fx->store), 3);
    free(path);
}

/* A schema 3 (or 4) database keeps a VM's power state in its desired
 * record: on open it becomes the observed power_state and the
 * desired_power_state,
 * next to the observations the VM had. */
static void
test_migration_from_v3(void **state)
{
    struct fixture *fx = *state;
    static const char *const host = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    static const char *const vm1 = "1a2b3c4d-5e6f-4a0b-9c1d-2e3f4a5b6c7d";
    static const char *const vm2 = "2b3c4d5e-6f70-4b1c-8d2e-3f4a5b6c7d8e";

    store_close(fx->store);
    char *path = xasprintf("%s/v3.db", fx->dir);
    char *sql = xasprintf(
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE objects(uuid TEXT PRIMARY KEY, class TEXT NOT NULL,"
        "                     host TEXT, record TEXT NOT NULL,"
        "                     seq INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX objects_by_class ON objects(class);"
        "CREATE INDEX objects_by_host ON objects(host, class);"
        "CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        "    class TEXT NOT NULL, uuid TEXT NOT NULL,"
        "    operation TEXT NOT NULL, snapshot TEXT,"
        "    timestamp TEXT NOT NULL, origin TEXT NOT NULL DEFAULT '',"
        "    actor TEXT NOT NULL DEFAULT '', epoch INTEGER NOT NULL"
        "    DEFAULT 0);"
        "INSERT INTO meta VALUES('schema_version', '3');"
        "INSERT INTO objects VALUES('%s', 'VM', '%s',"
        "    '{\"name_label\":\"up\",\"resident_on\":\"%s\","
        "      \"power_state\":\"Running\"}', 1);"
        "INSERT INTO objects VALUES('%s', 'VM', NULL,"
        "    '{\"name_label\":\"down\",\"power_state\":\"Suspended\"}',"
        "    2);"
        "ATTACH DATABASE '%s-local' AS loc;"
        "CREATE TABLE loc.observed(uuid TEXT PRIMARY KEY,"
        "    class TEXT NOT NULL, record TEXT NOT NULL);"
        "INSERT INTO loc.observed VALUES('%s', 'VM', '{\"domid\":42}');",
        vm1, host, host, vm2, path, vm1);
    make_database(path, sql);
    free(sql);

    assert_int_equal(store_open(path, &fx->store), 0);
    assert_int_equal(store_schema_version(fx->store), STORE_SCHEMA_VERSION);
    struct json_object *r = store_get(fx->store, "VM", vm1);
    assert_string_equal(fixture_string(r, "power_state"), "Running");
    assert_string_equal(fixture_string(r, "desired_power_state"), "Running");
    assert_int_equal(fixture_int(r, "domid"), 42);
    json_object_put(r);
    r = store_get(fx->store, "VM", vm2);
    assert_string_equal(fixture_string(r, "power_state"), "Suspended");
    assert_string_equal(fixture_string(r, "desired_power_state"), "Suspended");
    json_object_put(r);

    /* Only the desired side is in the replicated state. */
    struct json_object *snapshot = store_snapshot(fx->store);
    struct json_object *stored =
        member(member(member(snapshot, "objects"), "VM"), vm1);
    assert_false(json_object_object_get_ex(stored, "power_state", NULL));
    assert_string_equal(fixture_string(stored, "desired_power_state"),
                        "Running");
    json_object_put(snapshot);
    free(path);
}

int
main(void)
{
#define TEST(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_insert_get_defaults),
        TEST(test_insert_errors),
        TEST(test_update),
        TEST(test_delete),
        TEST(test_change_log),
        TEST(test_find),
        TEST(test_derived_fields),
        TEST(test_transaction_rollback),
        TEST(test_transaction_nested),
        TEST(test_group_commit),
        TEST(test_sync_full),
        TEST(test_sync_interval),
        TEST(test_check_value),
        TEST(test_schema_lookup),
        TEST(test_persistence),
        TEST(test_migration_from_v1),
        TEST(test_newer_schema_refused),
        TEST(test_prune_changes),
        TEST(test_feed_rows),
        TEST(test_observed_apart),
        TEST(test_owners),
        TEST(test_local_classes_and_origin),
        TEST(test_snapshot_and_apply),
        TEST(test_migration_from_v2),
        TEST(test_migration_from_v3),
    };
#undef TEST
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
