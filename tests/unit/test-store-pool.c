/*
 * Unit tests of the object store in a pool (mgmt/store.h, replication):
 * three stores stand for three members, and a replicator that applies each
 * transaction to all of them in one order stands for corosync's total
 * order.  They check that members end identical (objects, sequence
 * numbers, chain hashes), that conflicting transactions are refused alike
 * everywhere, that observations and local classes stay out of the log, and
 * that a held feed delivers after its release.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/uuid.h"
#include "mgmt/store.h"
#include "tests/unit/fixture.h"

#define N_MEMBERS 3

struct member;

/* The pool: members, and what the replicator saw. */
struct pool {
    char *dir;                         /* Scratch directory. */
    struct member *members[N_MEMBERS]; /* The members. */
    int transactions;                  /* Transactions ordered. */
    int observations;                  /* Observation lists sent. */
    struct json_object *deferred;      /* Transactions held back to make
                                       * them concurrent, or NULL. */
    int refuse;                        /* Refuse every write with this
                                        * errno (a minority), or 0. */
};

struct member {
    struct pool *pool;          /* Owner. */
    struct store *store;        /* The member's store. */
    char host[UUID_LENGTH + 1]; /* Its host. */
    int feed_calls;             /* Feed deliveries. */
};

/* Applies 'transaction' on every member, in order; returns what the
 * writer's own store said. */
static int
order(struct pool *pool, struct member *writer,
      struct json_object *transaction)
{
    int result = EIO;

    json_object_object_add(transaction, "origin",
                           json_object_new_string(writer->host));
    for (size_t i = 0; i < N_MEMBERS; i++) {
        int error =
            store_apply_transaction(pool->members[i]->store, transaction);
        if (pool->members[i] == writer) {
            result = error;
        }
    }
    pool->transactions++;
    return result;
}

static int
replicate_commit(void *member_, struct json_object *transaction)
{
    struct member *m = member_;
    struct json_object *copy = NULL;

    if (m->pool->refuse) {
        return m->pool->refuse;
    }
    json_object_deep_copy(transaction, &copy, NULL);
    if (m->pool->deferred) {
        /* Written now, ordered later: store what its writer saw. */
        int writer = 0;
        while (m->pool->members[writer] != m) {
            writer++;
        }
        json_object_object_add(copy, "writer", json_object_new_int(writer));
        json_object_array_add(m->pool->deferred, copy);
        return 0;
    }
    int error = order(m->pool, m, copy);
    json_object_put(copy);
    return error;
}

static void
replicate_observe(void *member_, struct json_object *observations)
{
    struct member *m = member_;

    m->pool->observations++;
    for (size_t i = 0; i < N_MEMBERS; i++) {
        if (m->pool->members[i] != m) {
            assert_int_equal(store_apply_observations(
                                 m->pool->members[i]->store, observations),
                             0);
        }
    }
}

static const struct store_replicator replicator = {
    .commit = replicate_commit,
    .observe = replicate_observe,
};

static void
feed_cb(void *member_, const struct store_change *changes, size_t n,
        uint64_t seq)
{
    struct member *m = member_;
    m->feed_calls++;
}

static int
setup(void **state)
{
    struct pool *pool = xzalloc(sizeof *pool);

    pool->dir = fixture_dir_create();
    assert_non_null(pool->dir);
    for (size_t i = 0; i < N_MEMBERS; i++) {
        struct member *m = xzalloc(sizeof *m);
        char *path = xasprintf("%s/member%zu.db", pool->dir, i);
        assert_int_equal(store_open(path, &m->store), 0);
        free(path);
        m->pool = pool;
        assert_int_equal(uuid_text_random(m->host), 0);
        store_set_local_host(m->store, m->host);
        store_set_replicator(m->store, &replicator, m);
        store_subscribe(m->store, NULL, STORE_FEED_ALL, NULL, feed_cb, m);
        pool->members[i] = m;
    }
    *state = pool;
    return 0;
}

static int
teardown(void **state)
{
    struct pool *pool = *state;

    for (size_t i = 0; i < N_MEMBERS; i++) {
        store_close(pool->members[i]->store);
        free(pool->members[i]);
    }
    json_object_put(pool->deferred);
    fixture_dir_remove(pool->dir);
    free(pool);
    return 0;
}

static int
insert(struct member *m, const char *class, const char *fields,
       char uuid[UUID_LENGTH + 1])
{
    struct json_object *record = fixture_json("%s", fields);
    assert_non_null(record);
    assert_int_equal(uuid_text_random(uuid), 0);
    int error = store_insert(m->store, class, uuid, record);
    json_object_put(record);
    return error;
}

static int
update(struct member *m, const char *class, const char *uuid,
       const char *fields)
{
    struct json_object *changes = fixture_json("%s", fields);
    assert_non_null(changes);
    int error = store_update(m->store, class, uuid, changes);
    json_object_put(changes);
    return error;
}

/* Asserts that every member holds the same log: same last sequence, same
 * chain hash, same snapshot. */
static void
assert_identical(struct pool *pool)
{
    struct json_object *first = store_snapshot(pool->members[0]->store);
    char hash0[STORE_HASH_LENGTH + 1];
    uint64_t seq0 = store_last_seq(pool->members[0]->store);

    assert_true(store_log_hash(pool->members[0]->store, seq0, hash0));
    for (size_t i = 1; i < N_MEMBERS; i++) {
        struct store *s = pool->members[i]->store;
        char hash[STORE_HASH_LENGTH + 1];
        assert_int_equal(store_last_seq(s), seq0);
        assert_true(store_log_hash(s, seq0, hash));
        assert_string_equal(hash, hash0);
        struct json_object *snapshot = store_snapshot(s);
        assert_true(json_object_equal(snapshot, first));
        json_object_put(snapshot);
    }
    json_object_put(first);
}

/* A write on any member reaches every member in the same order: same
 * objects, sequence numbers and chain hashes; the writer reads its own
 * write as soon as the call returns. */
static void
test_writes_replicate(void **state)
{
    struct pool *pool = *state;
    char net[UUID_LENGTH + 1], other[UUID_LENGTH + 1];

    assert_int_equal(insert(pool->members[0], "network",
                            "{'name_label': 'a', 'MTU': 9000}", net),
                     0);
    struct json_object *r = store_get(pool->members[0]->store, "network", net);
    assert_non_null(r);
    json_object_put(r);
    assert_int_equal(update(pool->members[1], "network", net,
                            "{'name_description': 'from b'}"),
                     0);
    assert_int_equal(
        insert(pool->members[2], "network", "{'name_label': 'b'}", other), 0);
    assert_int_equal(store_delete(pool->members[0]->store, "network", other),
                     0);
    assert_int_equal(pool->transactions, 4);
    assert_identical(pool);
    assert_int_equal(store_last_seq(pool->members[2]->store), 4);

    /* The log keeps each writer's origin. */
    struct json_object *log =
        store_changes_since(pool->members[2]->store, 0, 10);
    assert_string_equal(
        fixture_string(json_object_array_get_idx(log, 1), "origin"),
        pool->members[1]->host);
    json_object_put(log);

    /* One transaction of several writes is one ordered transaction. */
    int before = pool->transactions;
    assert_int_equal(store_begin(pool->members[1]->store), 0);
    assert_int_equal(update(pool->members[1], "network", net, "{'MTU': 1500}"),
                     0);
    assert_int_equal(
        insert(pool->members[1], "network", "{'name_label': 'c'}", other), 0);
    assert_int_equal(store_commit(pool->members[1]->store), 0);
    assert_int_equal(pool->transactions, before + 1);
    assert_identical(pool);
    r = store_get(pool->members[2]->store, "network", other);
    assert_string_equal(fixture_string(r, "name_label"), "c");
    json_object_put(r);
}

/* Two members change one object from the same view: the transaction
 * ordered first wins and the second is refused on every member alike
 * (EBUSY), leaving all of them identical. */
static void
test_conflict_refused_everywhere(void **state)
{
    struct pool *pool = *state;
    char net[UUID_LENGTH + 1];

    assert_int_equal(
        insert(pool->members[0], "network", "{'name_label': 'n'}", net), 0);

    /* Both write before either is ordered. */
    pool->deferred = json_object_new_array();
    assert_int_equal(update(pool->members[1], "network", net, "{'MTU': 2000}"),
                     0);
    assert_int_equal(update(pool->members[2], "network", net, "{'MTU': 3000}"),
                     0);
    struct json_object *queued = pool->deferred;
    pool->deferred = NULL;
    assert_int_equal(json_object_array_length(queued), 2);
    for (size_t i = 0; i < 2; i++) {
        struct json_object *t = json_object_array_get_idx(queued, i);
        int writer = (int) fixture_int(t, "writer");
        int error = order(pool, pool->members[writer], t);
        assert_int_equal(error, i == 0 ? 0 : EBUSY);
    }
    json_object_put(queued);
    assert_identical(pool);
    for (size_t i = 0; i < N_MEMBERS; i++) {
        struct json_object *r =
            store_get(pool->members[i]->store, "network", net);
        assert_int_equal(fixture_int(r, "MTU"), 2000);
        json_object_put(r);
    }

    /* Changes of different objects from the same view both apply; an add
     * of an existing object and a change of a deleted one are refused. */
    char a[UUID_LENGTH + 1], b[UUID_LENGTH + 1];
    assert_int_equal(
        insert(pool->members[0], "network", "{'name_label': 'a'}", a), 0);
    assert_int_equal(
        insert(pool->members[0], "network", "{'name_label': 'b'}", b), 0);
    pool->deferred = json_object_new_array();
    assert_int_equal(update(pool->members[1], "network", a, "{'MTU': 2000}"),
                     0);
    assert_int_equal(update(pool->members[2], "network", b, "{'MTU': 2000}"),
                     0);
    assert_int_equal(store_delete(pool->members[0]->store, "network", a), 0);
    queued = pool->deferred;
    pool->deferred = NULL;
    int results[3];
    for (size_t i = 0; i < 3; i++) {
        struct json_object *t = json_object_array_get_idx(queued, i);
        results[i] = order(pool, pool->members[fixture_int(t, "writer")], t);
    }
    assert_int_equal(results[0], 0);
    assert_int_equal(results[1], 0);
    assert_int_equal(results[2], EBUSY); /* 'a' changed since. */
    json_object_put(queued);
    assert_identical(pool);

    struct json_object *t = fixture_json(
        "{'base': 0, 'origin': 'x', 'ops': [{'op': 'add', 'class':"
        " 'network', 'uuid': '%s', 'record': {}}]}",
        b);
    assert_int_equal(store_apply_transaction(pool->members[0]->store, t),
                     EBUSY);
    json_object_put(t);
    t = fixture_json("{'base': 0, 'ops': [{'op': 'nonsense'}]}");
    assert_int_equal(store_apply_transaction(pool->members[0]->store, t),
                     EINVAL);
    json_object_put(t);
    t = fixture_json("{'base': 0, 'ops': [{'op': 'add', 'class': 'task',"
                     " 'uuid': 'x', 'record': {}}]}");
    assert_int_equal(store_apply_transaction(pool->members[0]->store, t),
                     EINVAL);
    json_object_put(t);
}

/* Observations and local classes never enter the replicated log: an
 * observation reaches the other members without ordering, a task stays
 * on its host, and a commit mixing them with replicated writes keeps
 * both parts. */
static void
test_observations_and_local(void **state)
{
    struct pool *pool = *state;
    char pif[UUID_LENGTH + 1], task[UUID_LENGTH + 1];
    char *fields =
        xasprintf("{'device': 'eth0', 'host': '%s'}", pool->members[0]->host);

    assert_int_equal(insert(pool->members[0], "PIF", fields, pif), 0);
    free(fields);
    uint64_t seq = store_last_seq(pool->members[0]->store);
    int transactions = pool->transactions;

    assert_int_equal(update(pool->members[0], "PIF", pif, "{'carrier': true}"),
                     0);
    assert_int_equal(pool->transactions, transactions);
    assert_int_equal(pool->observations, 1);
    for (size_t i = 0; i < N_MEMBERS; i++) {
        struct json_object *r = store_get(pool->members[i]->store, "PIF", pif);
        assert_true(fixture_bool(r, "carrier"));
        json_object_put(r);
        assert_int_equal(store_last_seq(pool->members[i]->store), seq);
    }

    assert_int_equal(
        insert(pool->members[1], "task", "{'name_label': 't'}", task), 0);
    assert_int_equal(pool->transactions, transactions);
    assert_true(store_exists(pool->members[1]->store, "task", task));
    assert_false(store_exists(pool->members[0]->store, "task", task));

    /* Mixed: the desired part is ordered, the observation and the task
     * are redone here. */
    assert_int_equal(store_begin(pool->members[0]->store), 0);
    assert_int_equal(update(pool->members[0], "PIF", pif,
                            "{'carrier': false, 'other_config': {'a': 'b'}}"),
                     0);
    assert_int_equal(
        insert(pool->members[0], "task", "{'name_label': 'u'}", task), 0);
    assert_int_equal(store_commit(pool->members[0]->store), 0);
    assert_int_equal(pool->transactions, transactions + 1);
    assert_true(store_exists(pool->members[0]->store, "task", task));
    for (size_t i = 0; i < N_MEMBERS; i++) {
        struct json_object *r = store_get(pool->members[i]->store, "PIF", pif);
        assert_false(fixture_bool(r, "carrier"));
        assert_string_equal(
            fixture_string(json_object_object_get(r, "other_config"), "a"),
            "b");
        json_object_put(r);
    }
    assert_identical(pool);

    /* A member's own observations, for one that joins. */
    struct json_object *own = store_own_observations(pool->members[0]->store,
                                                     pool->members[0]->host);
    assert_int_equal(json_object_array_length(own), 1);
    json_object_put(own);
}

/* While the feed is held, commits deliver nothing; the release delivers
 * them in order. */
static void
test_held_feed(void **state)
{
    struct pool *pool = *state;
    struct member *m = pool->members[0];
    char a[UUID_LENGTH + 1];

    int calls = m->feed_calls;
    store_hold_feed(m->store);
    store_hold_feed(m->store);
    assert_int_equal(insert(m, "network", "{'name_label': 'a'}", a), 0);
    assert_int_equal(update(m, "network", a, "{'MTU': 2000}"), 0);
    assert_int_equal(m->feed_calls, calls);
    store_release_feed(m->store);
    assert_int_equal(m->feed_calls, calls);
    store_release_feed(m->store);
    assert_int_equal(m->feed_calls, calls + 2);
}

/* A write the pool refuses (a minority) leaves nothing behind: not the
 * object, not a log entry, and not the writer's "last entry I wrote", which
 * the API waits on for a majority. */
static void
test_refused_write_leaves_nothing(void **state)
{
    struct pool *pool = *state;
    struct member *m = pool->members[0];
    char uuid[UUID_LENGTH + 1];

    assert_int_equal(insert(m, "network", "{\"name_label\": \"a\"}", uuid), 0);
    uint64_t seq = store_last_seq(m->store);
    uint64_t local = store_last_local_seq(m->store);
    assert_true(local > 0);

    pool->refuse = EROFS;
    assert_int_equal(insert(m, "network", "{\"name_label\": \"b\"}", uuid),
                     EROFS);
    assert_false(store_exists(m->store, "network", uuid));
    assert_int_equal(store_last_seq(m->store), seq);
    assert_int_equal(store_last_local_seq(m->store), local);

    pool->refuse = 0;
    assert_int_equal(insert(m, "network", "{\"name_label\": \"c\"}", uuid), 0);
    assert_true(store_last_local_seq(m->store) > local);
    assert_identical(pool);
}

int
main(void)
{
#define TEST(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_writes_replicate),
        TEST(test_conflict_refused_everywhere),
        TEST(test_observations_and_local),
        TEST(test_held_feed),
        TEST(test_refused_write_leaves_nothing),
    };
#undef TEST
    return cmocka_run_group_tests_name("store-pool", tests, NULL, NULL);
}
