/*
 * Unit tests of the reconciler's engine (datapath/engine.c) and of its
 * copy of the store rows (datapath/records.c): handlers run instead of
 * recomputes when they cope, a handler that cannot cope makes the whole
 * run a recompute; the copy kept from the change feed equals a full load
 * after any sequence of writes, holds no other host's objects (other
 * hosts themselves as empty records), and tracks what the fabric needs to
 * hear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "datapath/engine.h"
#include "datapath/records.h"
#include "lib/uuid.h"
#include "mgmt/store.h"
#include "tests/unit/fixture.h"

/* The engine: an input and a node that sums it. */

struct sum {
    int input;      /* The input's value. */
    int delta;      /* Tracked: its change since the last run. */
    bool tracked;   /* The input changed. */
    int total;      /* The node's data: the input, times ten. */
    bool cope;      /* Whether the handler copes. */
    int recomputes; /* Calls of the node's recompute. */
    int handled;    /* Calls of its handler. */
};

static void
input_recompute(struct dp_engine_node *node)
{
    struct sum *s = node->data;
    s->delta = 0;
}

static bool
input_changed(struct dp_engine_node *node)
{
    struct sum *s = node->data;
    return s->tracked;
}

static void
input_clear(struct dp_engine_node *node)
{
    struct sum *s = node->data;
    s->tracked = false;
    s->delta = 0;
}

static void
sum_recompute(struct dp_engine_node *node)
{
    struct sum *s = node->data;
    s->total = s->input * 10;
    s->recomputes++;
}

static enum dp_engine_handled
sum_handler(struct dp_engine_node *node, struct dp_engine_node *input)
{
    struct sum *s = node->data;
    s->handled++;
    if (!s->cope) {
        return DP_ENGINE_UNHANDLED;
    }
    s->total += s->delta * 10;
    return s->delta ? DP_ENGINE_HANDLED_UPDATED : DP_ENGINE_HANDLED_UNCHANGED;
}

static void
change(struct sum *s, int delta)
{
    s->input += delta;
    s->delta += delta;
    s->tracked = true;
}

static void
test_engine(void **state)
{
    struct sum s = {.cope = true};
    struct dp_engine_node in = {
        .name = "in",
        .data = &s,
        .recompute = input_recompute,
        .changed = input_changed,
        .clear = input_clear,
    };
    struct dp_engine_node node = {
        .name = "sum", .data = &s, .recompute = sum_recompute};
    struct dp_engine_node *nodes[] = {&in, &node};

    dp_engine_add_input(&node, &in, sum_handler);

    /* The first run recomputes. */
    change(&s, 3);
    assert_true(dp_engine_run(nodes, 2, true));
    assert_int_equal(s.total, 30);
    assert_int_equal(s.recomputes, 1);
    assert_int_equal(node.state, DP_ENGINE_RECOMPUTED);
    dp_engine_clear_tracked(nodes, 2);

    /* A change the handler copes with: no recompute. */
    change(&s, 4);
    assert_false(dp_engine_run(nodes, 2, false));
    assert_int_equal(s.total, 70);
    assert_int_equal(s.recomputes, 1);
    assert_int_equal(s.handled, 1);
    assert_int_equal(node.state, DP_ENGINE_UPDATED);
    assert_int_equal(node.n_handled, 1);
    dp_engine_clear_tracked(nodes, 2);

    /* Nothing changed: nothing runs. */
    assert_false(dp_engine_run(nodes, 2, false));
    assert_int_equal(s.handled, 1);
    assert_int_equal(node.state, DP_ENGINE_UNCHANGED);

    /* A handler that cannot cope: the run is a full recompute, and its
     * result is what a recompute gives. */
    s.cope = false;
    change(&s, 5);
    assert_true(dp_engine_run(nodes, 2, false));
    assert_int_equal(s.total, 120);
    assert_int_equal(s.recomputes, 2);
    assert_int_equal(node.n_recomputes, 2);
    dp_engine_clear_tracked(nodes, 2);
    assert_false(s.tracked);
}

/* The records: a store, and rows written to it. */

struct fixture {
    char *dir;                   /* Scratch folder. */
    struct store *store;         /* The store. */
    char host[UUID_LENGTH + 1];  /* This host. */
    char other[UUID_LENGTH + 1]; /* Another host of the pool. */
};

static int
setup(void **state)
{
    struct fixture *fx = xzalloc(sizeof *fx);
    assert_int_equal(fixture_store_open(&fx->dir, &fx->store), 0);
    uuid_text_random(fx->host);
    uuid_text_random(fx->other);
    store_set_local_host(fx->store, fx->host);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    fixture_store_close(fx->dir, fx->store);
    free(fx);
    return 0;
}

static size_t n_fed; /* Rows the records' feed delivered. */

static void
feed(void *records_, const struct store_change *changes, size_t n,
     uint64_t seq)
{
    n_fed += n;
    dp_records_feed(records_, changes, n);
}

static void
feed_hosts(void *records_, const struct store_change *changes, size_t n,
           uint64_t seq)
{
    dp_records_feed_hosts(records_, changes, n);
}

static char *
insert(struct fixture *fx, const char *class, struct json_object *record)
{
    char *uuid = xzalloc(UUID_LENGTH + 1);
    uuid_text_random(uuid);
    assert_non_null(record);
    assert_int_equal(store_insert(fx->store, class, uuid, record), 0);
    json_object_put(record);
    return uuid;
}

static void
update(struct fixture *fx, const char *class, const char *uuid,
       struct json_object *changes)
{
    assert_non_null(changes);
    assert_int_equal(store_update(fx->store, class, uuid, changes), 0);
    json_object_put(changes);
}

/* Returns true if 'a' and a full load of the same host's rows are
 * equal. */
static bool
equals_full_load(struct fixture *fx, struct dp_records *a)
{
    struct dp_records b;

    dp_records_init(&b, fx->store, fx->host);
    dp_records_reload(&b);
    bool same = json_object_equal(a->all, b.all);
    if (!same) {
        fprintf(stderr, "fed:  %s\nload: %s\n",
                json_object_to_json_string(a->all),
                json_object_to_json_string(b.all));
    }
    dp_records_destroy(&b);
    return same;
}

static void
test_records(void **state)
{
    struct fixture *fx = *state;
    struct dp_records r;
    static const char *const vms[] = {"VM", NULL};

    dp_records_init(&r, fx->store, fx->host);
    dp_records_reload(&r);
    struct store_subscription *desired = store_subscribe(
        fx->store, dp_records_classes, STORE_FEED_DESIRED, fx->host, feed, &r);
    struct store_subscription *observed = store_subscribe(
        fx->store, vms, STORE_FEED_OBSERVED, fx->host, feed, &r);
    static const char *const host_class[] = {"host", NULL};
    struct store_subscription *hosts = store_subscribe(
        fx->store, host_class, STORE_FEED_DESIRED, NULL, feed_hosts, &r);

    /* This host is a row like the others; another host of the pool
     * enters as an empty record, and its coming is news to the fabric
     * (a halted VM's namespace guests may live elsewhere now); what it
     * later changes is not. */
    struct json_object *me = fixture_json("{'name_label': 'me'}");
    assert_int_equal(store_insert(fx->store, "host", fx->host, me), 0);
    json_object_put(me);
    assert_true(equals_full_load(fx, &r));
    dp_records_clear_tracked(&r);
    struct json_object *other = fixture_json("{'name_label': 'other'}");
    assert_int_equal(store_insert(fx->store, "host", fx->other, other), 0);
    json_object_put(other);
    assert_true(r.infra);
    assert_int_equal(json_object_object_length(json_object_object_get(
                         json_object_object_get(r.all, "host"), fx->other)),
                     0);
    assert_true(equals_full_load(fx, &r));
    dp_records_clear_tracked(&r);
    update(fx, "host", fx->other, fixture_json("{'name_label': 'o2'}"));
    assert_false(dp_records_changed(&r));

    char *net = insert(fx, "network", fixture_json("{'name_label': 'n'}"));
    assert_false(dp_records_changed(&r)); /* A network nobody uses. */
    char *vm = insert(fx, "VM", fixture_json("{'name_label': 'a'}"));
    char *vif = insert(fx, "VIF",
                       fixture_json("{'VM': '%s', 'network': '%s', "
                                    "'device': '0'}",
                                    vm, net));
    assert_true(json_object_object_get_ex(r.vifs, vif, NULL));
    assert_false(r.infra);
    assert_true(equals_full_load(fx, &r));
    dp_records_clear_tracked(&r);

    /* A VM's change that a VIF's port reads tracks its VIFs; one it does
     * not read tracks nothing. */
    update(fx, "VM", vm, fixture_json("{'name_label': 'b'}"));
    assert_false(dp_records_changed(&r));
    update(fx, "VM", vm, fixture_json("{'affinity': '%s'}", fx->host));
    assert_true(json_object_object_get_ex(r.vifs, vif, NULL));
    dp_records_clear_tracked(&r);
    update(fx, "VM", vm, fixture_json("{'resident_on': '%s'}", fx->host));
    assert_true(json_object_object_get_ex(r.vifs, vif, NULL));
    assert_true(equals_full_load(fx, &r));
    dp_records_clear_tracked(&r);

    /* An observation of the VM. */
    update(fx, "VM", vm, fixture_json("{'domid': 7}"));
    assert_true(json_object_object_get_ex(r.vifs, vif, NULL));
    assert_true(equals_full_load(fx, &r));
    dp_records_clear_tracked(&r);

    /* A network's MTU is the fabric's; its label is not. */
    update(fx, "network", net, fixture_json("{'name_label': 'm'}"));
    assert_false(dp_records_changed(&r));
    update(fx, "network", net, fixture_json("{'MTU': 9000}"));
    assert_true(r.infra);
    dp_records_clear_tracked(&r);

    /* Another host's objects never enter, nor even reach the feed. */
    size_t fed = n_fed;
    char *vm2 = insert(fx, "VM",
                       fixture_json("{'name_label': 'o', "
                                    "'resident_on': '%s'}",
                                    fx->other));
    char *vif2 = insert(fx, "VIF",
                        fixture_json("{'VM': '%s', 'network': '%s', "
                                     "'device': '0'}",
                                     vm2, net));
    assert_null(
        json_object_object_get(json_object_object_get(r.all, "VIF"), vif2));
    assert_false(dp_records_changed(&r));
    assert_int_equal(n_fed, fed);
    assert_true(equals_full_load(fx, &r));

    /* Our VM moves away: it and its VIF leave, and the VIF is tracked. */
    update(fx, "VM", vm, fixture_json("{'resident_on': '%s'}", fx->other));
    assert_null(
        json_object_object_get(json_object_object_get(r.all, "VIF"), vif));
    assert_true(json_object_object_get_ex(r.vifs, vif, NULL));
    assert_true(equals_full_load(fx, &r));
    dp_records_clear_tracked(&r);

    /* The other host's VM comes here: it and its VIF arrive. */
    update(fx, "VM", vm2, fixture_json("{'resident_on': '%s'}", fx->host));
    assert_non_null(
        json_object_object_get(json_object_object_get(r.all, "VIF"), vif2));
    assert_true(json_object_object_get_ex(r.vifs, vif2, NULL));
    assert_true(equals_full_load(fx, &r));

    /* A VIF changes and goes. */
    update(fx, "VIF", vif2, fixture_json("{'currently_attached': true}"));
    assert_true(equals_full_load(fx, &r));
    assert_int_equal(store_delete(fx->store, "VIF", vif2), 0);
    assert_true(equals_full_load(fx, &r));
    dp_records_clear_tracked(&r);

    /* The one-VIF view shares the classes and holds the VIF and its VM. */
    char *vif3 = insert(fx, "VIF",
                        fixture_json("{'VM': '%s', 'network': '%s', "
                                     "'device': '1'}",
                                     vm2, net));
    struct json_object *view = dp_records_vif_view(&r, vif3);
    assert_non_null(view);
    assert_int_equal(
        json_object_object_length(json_object_object_get(view, "VIF")), 1);
    assert_non_null(
        json_object_object_get(json_object_object_get(view, "VM"), vm2));
    assert_ptr_equal(json_object_object_get(view, "network"),
                     json_object_object_get(r.all, "network"));
    json_object_put(view);
    assert_null(dp_records_vif_view(&r, vif2));

    store_unsubscribe(desired);
    store_unsubscribe(observed);
    store_unsubscribe(hosts);
    dp_records_destroy(&r);
    free(net);
    free(vm);
    free(vif);
    free(vm2);
    free(vif2);
    free(vif3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine),
        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
