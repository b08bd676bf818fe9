/*
 * Unit tests of the Prometheus exporter (mgmt/metrics.c): the page an
 * exporter renders from what it kept from the change feed (records, counts
 * and interface labels) equals the page of an exporter made afresh from
 * the store, after every one of many random changes of VIFs, VMs,
 * networks, PIFs, bonds and the pool, and of the interfaces' names and
 * counters; a page sent and taken back is used for the next one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datapath/datapath.h"
#include "lib/uuid.h"
#include "mgmt/mgmt.h"
#include "mgmt/store.h"
#include "tests/unit/fixture.h"

#define H1 "11111111-1111-1111-1111-111111111111"
#define H2 "22222222-2222-2222-2222-222222222222"
#define POOL "33333333-3333-3333-3333-333333333333"

#define MAX_OBJECTS 16 /* Of each class the test changes. */

/* The objects of one class the test made, by UUID. */
struct objects {
    char uuid[MAX_OBJECTS][UUID_LENGTH + 1]; /* Their UUIDs. */
    size_t n;                                /* How many. */
};

/* One OVS interface the test shows the exporter. */
struct iface {
    char name[32];             /* Interface name. */
    char pif[UUID_LENGTH + 1]; /* Its PIF, or "". */
    char vif[UUID_LENGTH + 1]; /* Its VIF, or "". */
    bool link_up;              /* Carrier. */
    int64_t mtu;               /* MTU. */
    int64_t values[6];         /* Counter values. */
};

/* One test's store, objects and interfaces. */
struct fixture {
    char *dir;                                /* Scratch directory. */
    struct store *store;                      /* The store. */
    struct objects networks;                  /* network objects. */
    struct objects pifs;                      /* PIF objects. */
    struct objects bonds;                     /* bond objects. */
    struct objects vms;                       /* VM objects. */
    struct objects vifs;                      /* VIF objects. */
    struct iface ifaces[2 * MAX_OBJECTS + 2]; /* What OVS would hold. */
    size_t n_ifaces;                          /* Entries in 'ifaces'. */
    unsigned int next_name;                   /* For new interface names. */
};

/* Statistics keys OVS reports, sorted as OVS keeps them, with some keys
 * the exporter does not show. */
static const char *const stat_names[] = {
    "collisions", "ovs_rx_qos_drops", "rx_bytes",
    "rx_crc_err", "rx_packets",       "tx_dropped",
};

static int
setup(void **state)
{
    struct fixture *fx = xzalloc(sizeof *fx);

    assert_int_equal(fixture_store_open(&fx->dir, &fx->store), 0);
    store_set_local_host(fx->store, H1);
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

/* Returns a random element of 'objects', or "" if it is empty. */
static const char *
pick(const struct objects *objects)
{
    return objects->n ? objects->uuid[random() % objects->n] : "";
}

/* Returns one of this host, the other host and "" at random. */
static const char *
pick_host(void)
{
    static const char *const hosts[] = {H1, H1, H2, ""};
    return hosts[random() % 4];
}

/* Inserts an object of 'class' with the fields 'fields' (JSON with single
 * quotes) into 'objects' under a new UUID, if there is room. */
static void
create(struct fixture *fx, struct objects *objects, const char *class,
       const char *fields)
{
    struct json_object *record = fixture_json("%s", fields);

    assert_non_null(record);
    if (objects->n < MAX_OBJECTS) {
        char *uuid = objects->uuid[objects->n];
        assert_int_equal(uuid_text_random(uuid), 0);
        assert_int_equal(store_insert(fx->store, class, uuid, record), 0);
        objects->n++;
    }
    json_object_put(record);
}

/* Deletes a random object of 'objects' ('class'), if there is one. */
static void
destroy(struct fixture *fx, struct objects *objects, const char *class)
{
    if (objects->n) {
        size_t i = random() % objects->n;
        assert_int_equal(store_delete(fx->store, class, objects->uuid[i]), 0);
        memmove(objects->uuid[i], objects->uuid[objects->n - 1],
                sizeof objects->uuid[i]);
        objects->n--;
    }
}

/* Sets the fields 'fields' (JSON with single quotes) of a random object
 * of 'objects' ('class'), if there is one. */
static void
update(struct fixture *fx, const struct objects *objects, const char *class,
       const char *fields)
{
    struct json_object *changes = fixture_json("%s", fields);

    assert_non_null(changes);
    if (objects->n) {
        assert_int_equal(
            store_update(fx->store, class, pick(objects), changes), 0);
    }
    json_object_put(changes);
}

/* other_config with or without the netpool-hidden mark. */
static const char *
other_config(void)
{
    return random() % 4 ? "{}" : "{'" EXPORT_HIDDEN_KEY "': 'true'}";
}

/* Makes one random change to the store. */
static void
change_store(struct fixture *fx)
{
    char *fields = NULL;

    /* The changes below by number, weighted: objects are made more often
     * than they go, so that the store fills up to MAX_OBJECTS of each
     * class, and VMs, PIFs and the pool change often. */
    static const int weighted[] = {
        0, 0, 1,  2,  3,  3,  4,  5,  5,  6,  7,  8,
        9, 9, 10, 11, 11, 12, 12, 12, 14, 15, 16, 16,
    };

    switch (weighted[random() % (sizeof weighted / sizeof *weighted)]) {
    case 0:
    case 1:
        destroy(fx, &fx->networks, "network");
        break;
    case 2:
        fields = xasprintf("{'name_label': 'renamed%ld', 'bridge': '%s',"
                           " 'other_config': %s}",
                           random() % 100, random() % 3 ? "brx" : "",
                           other_config());
        update(fx, &fx->networks, "network", fields);
        break;
    case 3:
        fields = xasprintf("{'device': 'eth%ld', 'host': '%s',"
                           " 'network': '%s', 'physical': %s,"
                           " 'bond_slave_of': '%s', 'speed': %ld}",
                           random() % 100, pick_host(), pick(&fx->networks),
                           random() % 2 ? "true" : "false", pick(&fx->bonds),
                           random() % 10000);
        create(fx, &fx->pifs, "PIF", fields);
        break;
    case 4:
        destroy(fx, &fx->pifs, "PIF");
        break;
    case 5:
        fields = xasprintf("{'network': '%s', 'host': '%s',"
                           " 'bond_slave_of': '%s', 'other_config': %s,"
                           " 'bond_member_state': '%s', 'lacp_state': '%s'}",
                           pick(&fx->networks), pick_host(), pick(&fx->bonds),
                           other_config(), random() % 2 ? "enabled" : "",
                           random() % 2 ? "current" : "expired");
        update(fx, &fx->pifs, "PIF", fields);
        break;
    case 6:
        fields = xasprintf("{'master': '%s', 'mode': '%s'}", pick(&fx->pifs),
                           random() % 2 ? "lacp" : "active-backup");
        create(fx, &fx->bonds, "bond", fields);
        break;
    case 7:
        destroy(fx, &fx->bonds, "bond");
        break;
    case 8:
        fields = xasprintf("{'links_up': %ld, 'active_slave': '%s'}",
                           random() % 3, pick(&fx->pifs));
        update(fx, &fx->bonds, "bond", fields);
        break;
    case 9:
        fields = xasprintf("{'name_label': 'vm%ld', 'resident_on': '%s',"
                           " 'VCPUs_max': %ld, 'memory_static_max': %ld}",
                           random() % 100, pick_host(), 1 + random() % 8,
                           random() % 100000);
        create(fx, &fx->vms, "VM", fields);
        break;
    case 10:
        destroy(fx, &fx->vms, "VM");
        break;
    case 11:
        fields = xasprintf("{'name_label': 'renamed%ld', 'resident_on': '%s',"
                           " 'other_config': %s, 'is_a_template': %s,"
                           " 'power_state': '%s'}",
                           random() % 100, pick_host(), other_config(),
                           random() % 8 ? "false" : "true",
                           random() % 2 ? "Running" : "Halted");
        update(fx, &fx->vms, "VM", fields);
        break;
    case 12:
        fields = xasprintf("{'device': '%ld', 'VM': '%s', 'network': '%s'}",
                           random() % 8, pick(&fx->vms), pick(&fx->networks));
        create(fx, &fx->vifs, "VIF", fields);
        break;
    case 14:
        destroy(fx, &fx->vifs, "VIF");
        break;
    case 15:
        fields =
            xasprintf("{'network': '%s', 'VM': '%s', 'other_config': %s}",
                      pick(&fx->networks), pick(&fx->vms), other_config());
        update(fx, &fx->vifs, "VIF", fields);
        break;
    case 16: {
        struct json_object *changes =
            fixture_json("{'master': '%s'}", random() % 2   ? H1
                                             : random() % 2 ? H2
                                                            : "");
        if (store_exists(fx->store, "pool", POOL)) {
            assert_int_equal(store_update(fx->store, "pool", POOL, changes),
                             0);
        } else {
            assert_int_equal(store_insert(fx->store, "pool", POOL, changes),
                             0);
        }
        json_object_put(changes);
        break;
    }
    }
    free(fields);
}

/* Gives 'iface' the name of a new interface. */
static void
rename_iface(struct fixture *fx, struct iface *iface)
{
    snprintf(iface->name, sizeof iface->name, "if%u", fx->next_name++);
}

/* Makes one random change to what OVS holds: an interface for a PIF or a
 * VIF (of any host, or of none) appears, goes, changes its name, or its
 * counters, carrier and MTU change. */
static void
change_ifaces(struct fixture *fx)
{
    size_t n = fx->n_ifaces;
    struct iface *iface = n ? &fx->ifaces[random() % n] : NULL;

    switch (random() % 6) {
    case 4:
    case 5:
    case 0:
        if (n < sizeof fx->ifaces / sizeof *fx->ifaces) {
            iface = &fx->ifaces[fx->n_ifaces++];
            memset(iface, 0, sizeof *iface);
            rename_iface(fx, iface);
            if (random() % 2) {
                snprintf(iface->pif, sizeof iface->pif, "%s",
                         random() % 8 ? pick(&fx->pifs) : H2);
            } else {
                snprintf(iface->vif, sizeof iface->vif, "%s",
                         random() % 8 ? pick(&fx->vifs) : H2);
            }
        }
        break;
    case 1:
        if (iface) {
            *iface = fx->ifaces[--fx->n_ifaces];
        }
        break;
    case 2:
        if (iface) {
            rename_iface(fx, iface);
        }
        break;
    case 3:
        for (size_t i = 0; i < n; i++) {
            fx->ifaces[i].link_up = random() % 2;
            fx->ifaces[i].mtu = random() % 2 ? 1500 : 9000;
            for (size_t j = 0; j < 6; j++) {
                fx->ifaces[i].values[j] = random() - RAND_MAX / 2;
            }
        }
        break;
    }
}

/* Returns the page 'metrics' renders for the interfaces of 'fx'. */
static char *
render(struct fixture *fx, struct metrics *metrics)
{
    struct dp_iface_counters ifaces[sizeof fx->ifaces / sizeof *fx->ifaces];
    struct json_object *stats =
        fixture_json("{'datapaths': {'ovs-system': {'hits': 5, 'flows': 2}},"
                     " 'bridges': {'br1': {'flows': 3, 'packets': 9},"
                     "             'brx': {'flows': 4, 'rules': 1}}}");
    struct metrics_info info = {
        .version = "test",
        .host = H1,
        .start_time = 1000,
        .now = 2000,
        .ifaces = ifaces,
        .n_ifaces = fx->n_ifaces,
        .ovs_stats = stats,
        .tail = "netpool_ha_enabled 0\n",
    };

    for (size_t i = 0; i < fx->n_ifaces; i++) {
        const struct iface *iface = &fx->ifaces[i];
        ifaces[i] = (struct dp_iface_counters){
            .name = iface->name,
            .pif = iface->pif,
            .vif = iface->vif,
            .link_up = iface->link_up,
            .mtu = iface->mtu,
            .stat_names = stat_names,
            .stat_values = iface->values,
            .n_stats = 6,
        };
    }
    char *page = metrics_render(metrics, &info);
    json_object_put(stats);
    return page;
}

/* Counts the lines of 'page' that start with 'prefix'. */
static size_t
count_lines(const char *page, const char *prefix)
{
    size_t n = 0;

    for (const char *p = page; p && *p;
         p = strchr(p, '\n'), p = p ? p + 1 : p) {
        n += !strncmp(p, prefix, strlen(prefix));
    }
    return n;
}

static int
compare_lines(const void *a_, const void *b_)
{
    const char *const *a = a_, *const *b = b_;
    return strcmp(*a, *b);
}

/* Sorts lines[start] to lines[end - 1]. */
static void
sort_lines(char **lines, size_t start, size_t end)
{
    if (end > start + 1) {
        qsort(lines + start, end - start, sizeof *lines, compare_lines);
    }
}

/* Returns 'page' (a new string) with the sample lines of each family in
 * sorted order: an exporter may list a family's samples in any order (the
 * records it kept from the feed are in the order changes came, a fresh
 * one's in the store's), but not move a sample to another family. */
static char *
normalize(const char *page)
{
    char *copy = xstrdup(page);
    size_t n = 0, allocated = 0, start = 0;
    char **lines = NULL;

    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "# ", 2)) {
            sort_lines(lines, start, n);
            start = n + 1;
        }
        if (n >= allocated) {
            allocated = 2 * allocated + 64;
            lines = xrealloc(lines, allocated * sizeof *lines);
        }
        lines[n++] = line;
    }
    sort_lines(lines, start, n);

    size_t size = strlen(page) + 2, length = 0;
    char *result = xmalloc(size);
    for (size_t i = 0; i < n; i++) {
        length += snprintf(result + length, size - length, "%s\n", lines[i]);
    }
    result[length] = '\0';
    free(lines);
    free(copy);
    return result;
}

/* Returns normalize('page') and frees 'page'. */
static char *
normalize_page(char *page)
{
    char *normal = normalize(page);
    free(page);
    return normal;
}

/* Prints the first line where 'expected' and 'actual' differ. */
static void
print_first_difference(int step, const char *expected, const char *actual)
{
    const char *e = expected, *a = actual;

    while (*e && *e == *a) {
        if (*e == '\n') {
            expected = e + 1;
            actual = a + 1;
        }
        e++;
        a++;
    }
    print_error("step %d: fresh has\n%.*s\nkept has\n%.*s\n", step,
                (int) strcspn(expected, "\n"), expected,
                (int) strcspn(actual, "\n"), actual);
}

/* After each of many random changes, the exporter that kept its state
 * from the feed renders what an exporter made afresh from the store
 * renders. */
static void
test_kept_equals_fresh(void **state)
{
    struct fixture *fx = *state;
    struct metrics *kept = metrics_create(fx->store, H1);
    size_t vif_lines = 0, pif_lines = 0;

    /* No disk flush per change: the test is about what the feed says. */
    store_defer_flush(fx->store);
    srandom(12);
    for (int step = 0; step < 500; step++) {
        if (random() % 3) {
            change_store(fx);
        } else {
            change_ifaces(fx);
        }
        struct metrics *fresh = metrics_create(fx->store, H1);
        char *expected = normalize_page(render(fx, fresh));
        char *actual = normalize_page(render(fx, kept));
        if (strcmp(expected, actual)) {
            print_first_difference(step, expected, actual);
        }
        assert_string_equal(actual, expected);
        vif_lines += count_lines(actual, "netpool_interface_up{kind=\"vif\"");
        pif_lines += count_lines(actual, "netpool_interface_up{kind=\"pif\"");
        free(expected);
        free(actual);
        metrics_destroy(fresh);
    }
    print_message("%zu VIF and %zu PIF interface lines\n", vif_lines,
                  pif_lines);
    /* The pages showed VIFs' and PIFs' interfaces, not only empty
     * families. */
    assert_true(vif_lines > 100);
    assert_true(pif_lines > 100);
    metrics_destroy(kept);
    assert_int_equal(store_flush(fx->store), 0);
}

/* An interface's lines carry its labels and only the counters the
 * exporter knows; one of another host's VIF shows nothing; a VIF's lines
 * follow its interface's name and its VM. */
static void
test_interface_lines(void **state)
{
    struct fixture *fx = *state;
    struct json_object *net = fixture_json("{'name_label': 'n'}");
    struct json_object *vm = fixture_json("{'resident_on': '" H1 "'}");
    struct json_object *vm2 = fixture_json("{'resident_on': '" H2 "'}");
    const char *n = "44444444-4444-4444-4444-444444444444";
    const char *v = "55555555-5555-5555-5555-555555555555";
    const char *v2 = "66666666-6666-6666-6666-666666666666";
    const char *vif = "77777777-7777-7777-7777-777777777777";
    const char *vif2 = "88888888-8888-8888-8888-888888888888";

    assert_int_equal(store_insert(fx->store, "network", n, net), 0);
    assert_int_equal(store_insert(fx->store, "VM", v, vm), 0);
    assert_int_equal(store_insert(fx->store, "VM", v2, vm2), 0);
    struct json_object *record =
        fixture_json("{'device': '0', 'VM': '%s', 'network': '%s'}", v, n);
    assert_int_equal(store_insert(fx->store, "VIF", vif, record), 0);
    json_object_put(record);
    record =
        fixture_json("{'device': '0', 'VM': '%s', 'network': '%s'}", v2, n);
    assert_int_equal(store_insert(fx->store, "VIF", vif2, record), 0);
    json_object_put(record);

    struct metrics *metrics = metrics_create(fx->store, H1);
    fx->n_ifaces = 2;
    memset(fx->ifaces, 0, 2 * sizeof *fx->ifaces);
    snprintf(fx->ifaces[0].name, sizeof fx->ifaces[0].name, "vif1.0");
    snprintf(fx->ifaces[0].vif, sizeof fx->ifaces[0].vif, "%s", vif);
    fx->ifaces[0].link_up = true;
    fx->ifaces[0].mtu = 1500;
    fx->ifaces[0].values[1] = 77;
    fx->ifaces[0].values[2] = 1234;
    fx->ifaces[0].values[5] = -1;
    snprintf(fx->ifaces[1].name, sizeof fx->ifaces[1].name, "vif2.0");
    snprintf(fx->ifaces[1].vif, sizeof fx->ifaces[1].vif, "%s", vif2);

    char *page = render(fx, metrics);
    char *label = xasprintf("{kind=\"vif\",device=\"vif1.0\",vif=\"%s\","
                            "vm=\"%s\",network=\"%s\"}",
                            vif, v, n);
    char *line =
        xasprintf("netpool_interface_receive_bytes_total%s 1234\n", label);
    assert_non_null(strstr(page, line));
    free(line);
    line = xasprintf("netpool_interface_transmit_drops_total%s -1\n", label);
    assert_non_null(strstr(page, line));
    free(line);
    line = xasprintf("netpool_interface_receive_policing_drops_total%s 77\n",
                     label);
    assert_non_null(strstr(page, line));
    free(line);
    line = xasprintf("netpool_interface_up%s 1\n", label);
    assert_non_null(strstr(page, line));
    free(line);
    line = xasprintf("netpool_interface_mtu_bytes%s 1500\n", label);
    assert_non_null(strstr(page, line));
    free(line);
    assert_null(strstr(page, "receive_errors_total{"));
    assert_null(strstr(page, "vif2.0"));
    assert_non_null(strstr(page, "netpool_ha_enabled 0\n"));
    free(page);

    /* The VIF's interface changes its name; its VM moves away. */
    snprintf(fx->ifaces[0].name, sizeof fx->ifaces[0].name, "vif1.9");
    page = render(fx, metrics);
    assert_non_null(strstr(page, "device=\"vif1.9\""));
    assert_null(strstr(page, "device=\"vif1.0\""));
    free(page);

    /* The VM is hidden, then shown again; then it moves away. */
    struct json_object *hide =
        fixture_json("{'other_config': {'" EXPORT_HIDDEN_KEY "': 'true'}}");
    assert_int_equal(store_update(fx->store, "VM", v, hide), 0);
    json_object_put(hide);
    page = render(fx, metrics);
    assert_null(strstr(page, "device=\"vif1.9\""));
    free(page);
    struct json_object *show = fixture_json("{'other_config': {}}");
    assert_int_equal(store_update(fx->store, "VM", v, show), 0);
    json_object_put(show);
    page = render(fx, metrics);
    assert_non_null(strstr(page, "device=\"vif1.9\""));
    free(page);
    assert_int_equal(store_update(fx->store, "VM", v, vm2), 0);
    page = render(fx, metrics);
    assert_null(strstr(page, "device=\"vif1.9\""));
    free(page);

    free(label);
    metrics_destroy(metrics);
    json_object_put(net);
    json_object_put(vm);
    json_object_put(vm2);
}

/* A page taken back is written over by the next scrape (its memory is
 * already mapped); a page taken back after a newer one was rendered is
 * freed. */
static void
test_page_reuse(void **state)
{
    struct fixture *fx = *state;
    struct metrics *metrics = metrics_create(fx->store, H1);

    char *first = render(fx, metrics);
    char *copy = xstrdup(first);
    metrics_release_page(metrics, first);
    char *second = render(fx, metrics);
    assert_ptr_equal(second, first);
    assert_string_equal(second, copy);
    char *third = render(fx, metrics);
    assert_ptr_not_equal(third, second);
    assert_string_equal(third, copy);
    metrics_release_page(metrics, second);
    metrics_release_page(metrics, third);
    metrics_release_page(metrics, NULL);
    free(copy);
    metrics_destroy(metrics);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kept_equals_fresh, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_interface_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_reuse, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
