/*
 * Unit tests of the object store (mgmt/store.h): records with defaults,
 * writes, the change log, lookups, derived fields, transactions, value
 * checks, persistence, schema migration and pruning.  Each test opens a
 * store of its own in a scratch directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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
change_cb(void *fx_, uint64_t seq)
{
    struct fixture *fx = fx_;

    fx->n_callbacks++;
    fx->callback_seq = seq;
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

    store_add_change_cb(fx->store, change_cb, fx);
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
    store_add_change_cb(fx->store, change_cb, fx);

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

/* store_find matches stored string, integer and boolean fields exactly,
 * without confusing 1 with "1" or true with "true". */
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
    store_add_change_cb(fx->store, change_cb, fx);

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

    store_add_change_cb(fx->store, change_cb, fx);
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
    assert_int_equal(n, 15);
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
        TEST(test_check_value),
        TEST(test_schema_lookup),
        TEST(test_persistence),
        TEST(test_migration_from_v1),
        TEST(test_newer_schema_refused),
        TEST(test_prune_changes),
    };
#undef TEST
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
