/*
 * The Prometheus exporter: netpoold's objects and counters in the text
 * exposition format (version 0.0.4).  Families follow Prometheus naming:
 * a netpool_ prefix, base units (bytes, seconds), _total on counters,
 * _info for metadata, and labels that name objects (host, network, PIF,
 * VIF, VM UUIDs and device names), never unbounded values.
 *
 * A scrape reads nothing from the store and builds no JSON tree: the
 * exporter keeps the records it shows (this host's objects and unowned
 * ones) and the number of objects of each class, current from the store's
 * change feed, and walks the OVS interface counters replica
 * (datapath/ovs-counters.c) in place.  The labels of each PIF's and VIF's
 * interface lines are made once and kept until the feed changes an object
 * they depend on (the PIF, the VIF, its VM, the pool), so at 1000 VIFs a
 * scrape mostly copies kept labels and writes counter values.  Secret
 * classes (users, sessions) are only counted.
 */
#include "mgmt/mgmt.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <json-c/linkhash.h>

#include "datapath/datapath.h"
#include "lib/xalloc.h"
#include "mgmt/snmp.h"
#include "mgmt/store.h"

/* The classes whose records the exporter keeps. */
static const char *const kept_classes[] = {
    "pool", "host", "PIF", "network", "bond", "VLAN", "VIF", "VM", NULL,
};

struct metrics {
    struct store *store;         /* Source. */
    char *host;                  /* This host. */
    struct json_object *records; /* Class → (UUID → record), of this host
                                  * and unowned objects. */
    struct json_object *counts;  /* Class → objects in the store. */
    struct json_object *message_names; /* Message UUID → its name. */
    struct json_object *messages;      /* Message name → how many. */
    struct store_subscription *kept;   /* Feeds 'records'. */
    struct store_subscription *all;    /* Feeds the counts. */
    struct lh_table *pif_labels;       /* PIF UUID → struct iface_label. */
    struct lh_table *vif_labels;       /* VIF UUID → struct iface_label. */
    uint64_t scrapes;                  /* Scrapes rendered. */
    size_t last_length; /* Length of the last page, to size the next. */
    char *last_page;    /* The last page rendered (compared, not owned). */
    size_t last_size;   /* Bytes allocated for it. */
    char *spare;        /* A page sent and taken back, or NULL. */
    size_t spare_size;  /* Bytes allocated for 'spare'. */
};

/* The labels of a PIF's or a VIF's interface lines, kept between scrapes
 * until the change feed touches an object they follow from.  An object
 * with several interfaces (or a renamed one) has one per name, chained. */
struct iface_label {
    char *device;    /* The interface name they were made for. */
    char *vm;        /* A VIF's VM, "" for a PIF. */
    char *text;      /* "kind=…,device=…,…", or NULL when the host
                               * does not show the interface. */
    size_t length;   /* Characters in 'text'. */
    uint64_t scrape; /* The last scrape that used them. */
    struct iface_label *next; /* The same object's for another name. */
};

/* The interface counters of interface_families(), counters[] below; the
 * last is OVS-DPDK's policing drops. */
#define N_COUNTERS 9
#define COUNTER_POLICING (N_COUNTERS - 1)

/* One interface of a scrape. */
struct iface_sample {
    const struct iface_label *label; /* Its labels (kept in 'metrics'). */
    bool up;                         /* Link state up. */
    int64_t mtu;                     /* MTU. */
    int64_t stats[N_COUNTERS]; /* The counters of interface_families(). */
    bool has[N_COUNTERS];      /* Which of them OVS reports. */
};

/* What a scrape collects from the counters replica. */
struct iface_scrape {
    struct metrics *metrics;      /* For the records. */
    const char *host;             /* This host. */
    struct iface_sample *samples; /* Interfaces netpool owns. */
    size_t n, allocated;
};

/* A growing text buffer. */
struct text {
    char *data;    /* NUL-terminated contents. */
    size_t length; /* Characters in 'data'. */
    size_t size;   /* Bytes allocated. */
};

static void put(struct text *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void family(struct text *, const char *name, const char *type,
                   const char *help);
static void append(struct text *, const char *data, size_t length);
static void put_label_value(struct text *, const char *value);
static void put_sample(struct text *, const char *name, size_t name_length,
                       const char *labels, size_t labels_length,
                       int64_t value);
static const char *field(struct json_object *record, const char *name);
static void object_families(struct text *, struct metrics *);
static void vm_families(struct text *, struct metrics *);
static void interface_families(struct text *, struct metrics *,
                               const struct metrics_info *);
static void collect_iface(void *scrape_, const struct dp_iface_counters *);
static const struct iface_label *iface_label(struct metrics *,
                                             const struct dp_iface_counters *);
static struct iface_label *make_label(struct metrics *,
                                      const struct dp_iface_counters *);
static void free_labels(struct iface_label *);
static void free_label_entry(struct lh_entry *);
static void forget_labels(struct metrics *, const char *class,
                          const char *uuid);
static int counter_index(const char *stat);
static void bond_families(struct text *, struct metrics *,
                          struct json_object *stats);
static void datapath_families(struct text *, struct json_object *stats);
static void network_families(struct text *, struct metrics *,
                             struct json_object *stats);
static void network_families_of(struct text *, struct json_object *records,
                                struct json_object *stats);
static void bond_families_of(struct text *, struct json_object *records,
                             struct json_object *stats);
static struct json_object *visible_view(struct metrics *,
                                        const char *const *classes);
static void reconciler_families(struct text *,
                                const struct dp_reconciler_stats *);
static bool visible(struct metrics *, const char *class, const char *uuid,
                    struct json_object *record);
static void kept_changed(void *metrics_, const struct store_change *, size_t n,
                         uint64_t seq);
static void all_changed(void *metrics_, const struct store_change *, size_t n,
                        uint64_t seq);
static void count(struct json_object *counts, const char *key, int delta);
static void strip(const struct store_class *, struct json_object *record);
static int64_t int_field(struct json_object *record, const char *name);

struct metrics *
metrics_create(struct store *store, const char *host)
{
    struct metrics *m = xzalloc(sizeof *m);
    const struct store_class *const *classes = store_classes();

    m->store = store;
    m->host = xstrdup(host);
    m->pif_labels = lh_kchar_table_new(64, free_label_entry);
    m->vif_labels = lh_kchar_table_new(1024, free_label_entry);
    m->records = json_object_new_object();
    for (size_t i = 0; kept_classes[i]; i++) {
        const struct store_class *class =
            store_class_find(kept_classes[i], false);
        struct json_object *rows =
            store_get_owned_stored(store, kept_classes[i], host, true);
        json_object_object_foreach (rows, uuid, record) {
            (void) uuid;
            strip(class, record);
        }
        json_object_object_add(m->records, kept_classes[i], rows);
    }
    m->counts = json_object_new_object();
    for (size_t i = 0; classes[i]; i++) {
        json_object_object_add(m->counts, classes[i]->name,
                               json_object_new_int64((int64_t) store_count(
                                   store, classes[i]->name)));
    }
    m->message_names = json_object_new_object();
    m->messages = json_object_new_object();
    struct json_object *messages = store_get_all(store, "message");
    json_object_object_foreach (messages, uuid, message) {
        const char *name = field(message, "name");
        json_object_object_add(m->message_names, uuid,
                               json_object_new_string(name));
        count(m->messages, name, 1);
    }
    json_object_put(messages);
    m->kept = store_subscribe(store, kept_classes, STORE_FEED_ALL, host,
                              kept_changed, m);
    m->all =
        store_subscribe(store, NULL, STORE_FEED_DESIRED, NULL, all_changed, m);
    return m;
}

void
metrics_destroy(struct metrics *m)
{
    if (!m) {
        return;
    }
    store_unsubscribe(m->kept);
    store_unsubscribe(m->all);
    json_object_put(m->records);
    json_object_put(m->counts);
    json_object_put(m->message_names);
    json_object_put(m->messages);
    lh_table_free(m->pif_labels);
    lh_table_free(m->vif_labels);
    free(m->spare);
    free(m->host);
    free(m);
}

char *
metrics_render(struct metrics *m, const struct metrics_info *info)
{
    /* One allocation for the whole page (2 MB at 1000 VIFs): growing it
     * copies, and every fresh page costs a fault, so the page last taken
     * back is written over when it has room for the last page and an
     * eighth. */
    size_t size = m->last_length + m->last_length / 8 + 65536;
    struct text t = {NULL, 0, size};
    if (m->spare && m->spare_size >= size - 65536) {
        t.data = m->spare;
        t.size = m->spare_size;
        m->spare = NULL;
    } else {
        t.data = xmalloc(size);
    }
    t.data[0] = '\0';
    m->scrapes++;

    family(&t, "netpool_build_info", "gauge",
           "netpoold build; the value is always 1.");
    put(&t, "netpool_build_info{version=\"");
    put_label_value(&t, info->version);
    put(&t, "\",host=\"%s\"} 1\n", info->host);
    family(&t, "netpool_start_time_seconds", "gauge",
           "When netpoold started, seconds since the Unix epoch.");
    put(&t, "netpool_start_time_seconds %.3f\n", info->start_time);
    family(&t, "netpool_uptime_seconds", "gauge",
           "Seconds since netpoold started.");
    put(&t, "netpool_uptime_seconds %.3f\n", info->now - info->start_time);
    if (info->memory_total) {
        family(&t, "netpool_host_memory_total_bytes", "gauge",
               "Physical memory of the host.");
        put(&t, "netpool_host_memory_total_bytes %llu\n",
            (unsigned long long) info->memory_total);
        family(&t, "netpool_host_memory_free_bytes", "gauge",
               "Memory the host has available.");
        put(&t, "netpool_host_memory_free_bytes %llu\n",
            (unsigned long long) info->memory_free);
    }
    object_families(&t, m);
    vm_families(&t, m);
    interface_families(&t, m, info);
    bond_families(&t, m, info->ovs_stats);
    datapath_families(&t, info->ovs_stats);
    network_families(&t, m, info->ovs_stats);
    reconciler_families(&t, info->reconciler);
    if (info->tail) {
        append(&t, info->tail, strlen(info->tail));
    }
    m->last_length = t.length;
    m->last_page = t.data;
    m->last_size = t.size;
    return t.data;
}

void
metrics_release_page(struct metrics *m, char *page)
{
    if (page && page == m->last_page) {
        free(m->spare);
        m->spare = page;
        m->spare_size = m->last_size;
        m->last_page = NULL;
    } else {
        free(page);
    }
}

/* Object counts, messages and VM states. */
static void
object_families(struct text *t, struct metrics *m)
{
    const struct store_class *const *classes = store_classes();

    family(t, "netpool_objects", "gauge", "Objects in the store by class.");
    for (size_t i = 0; classes[i]; i++) {
        if (classes[i]->secret) {
            continue;
        }
        put(t, "netpool_objects{class=\"%s\"} %" PRId64 "\n", classes[i]->name,
            json_object_get_int64(
                json_object_object_get(m->counts, classes[i]->name)));
    }

    /* Messages by name: how many are raised and not yet destroyed. */
    family(t, "netpool_messages", "gauge",
           "Messages (alerts) present, by name.");
    json_object_object_foreach (m->messages, name, n) {
        if (json_object_get_int(n) > 0) {
            put(t, "netpool_messages{name=\"");
            put_label_value(t, name);
            put(t, "\"} %d\n", json_object_get_int(n));
        }
    }

    /* Messages raised since netpoold started, by name and priority. */
    struct json_object *raised = store_messages_raised();
    family(t, "netpool_messages_raised_total", "counter",
           "Messages (alerts) raised since netpoold started, by name and "
           "priority.");
    for (size_t i = 0; i < json_object_array_length(raised); i++) {
        struct json_object *entry = json_object_array_get_idx(raised, i);
        put(t, "netpool_messages_raised_total{name=\"");
        put_label_value(t, field(entry, "name"));
        put(t, "\",priority=\"%d\"} %lld\n",
            json_object_get_int(json_object_object_get(entry, "priority")),
            (long long) json_object_get_int64(
                json_object_object_get(entry, "count")));
    }
    json_object_put(raised);
}

/* The interface counters of interface_families(). */
static const struct {
    const char *name; /* Family name. */
    const char *stat; /* OVS statistics key. */
    const char *help; /* HELP text. */
} counters[] = {
    {"netpool_interface_receive_bytes_total", "rx_bytes", "Bytes received."},
    {"netpool_interface_receive_packets_total", "rx_packets",
     "Packets received."},
    {"netpool_interface_receive_drops_total", "rx_dropped",
     "Received packets dropped."},
    {"netpool_interface_receive_errors_total", "rx_errors", "Receive errors."},
    {"netpool_interface_transmit_bytes_total", "tx_bytes",
     "Bytes transmitted."},
    {"netpool_interface_transmit_packets_total", "tx_packets",
     "Packets transmitted."},
    {"netpool_interface_transmit_drops_total", "tx_dropped",
     "Packets dropped on transmit."},
    {"netpool_interface_transmit_errors_total", "tx_errors",
     "Transmit errors."},
    {"netpool_interface_receive_policing_drops_total", "ovs_rx_qos_drops",
     "Received packets over the interface's ingress policing rate, dropped "
     "(OVS-DPDK ports only: a VIF's rate limit on a dpdk host)."},
};
_Static_assert(sizeof counters / sizeof *counters == N_COUNTERS,
               "N_COUNTERS counts counters[]");

/* Per-interface families: PIFs and VIFs with their kept labels, counters
 * from the counters replica (or 'info->ifaces'), walked once. */
static void
interface_families(struct text *t, struct metrics *m,
                   const struct metrics_info *info)
{
    struct iface_scrape scrape = {.metrics = m, .host = m->host};
    struct json_object *pifs = json_object_object_get(m->records, "PIF");

    if (info->counters) {
        dp_ovs_counters_foreach(info->counters, collect_iface, &scrape);
    } else {
        for (size_t i = 0; i < info->n_ifaces; i++) {
            collect_iface(&scrape, &info->ifaces[i]);
        }
    }

    static const char up[] = "netpool_interface_up";
    family(t, up, "gauge", "1 if the interface has carrier (link state up).");
    for (size_t i = 0; i < scrape.n; i++) {
        const struct iface_sample *sample = &scrape.samples[i];
        put_sample(t, up, sizeof up - 1, sample->label->text,
                   sample->label->length, sample->up);
    }
    static const char mtu[] = "netpool_interface_mtu_bytes";
    family(t, mtu, "gauge", "MTU the interface has in Open vSwitch.");
    for (size_t i = 0; i < scrape.n; i++) {
        const struct iface_sample *sample = &scrape.samples[i];
        put_sample(t, mtu, sizeof mtu - 1, sample->label->text,
                   sample->label->length, sample->mtu);
    }
    family(t, "netpool_interface_speed_bytes", "gauge",
           "Link speed of a PIF in bytes per second (0 when unknown).");
    json_object_object_foreach (pifs, pif_uuid, pif) {
        if (!visible(m, "PIF", pif_uuid, pif)) {
            continue;
        }
        put(t, "netpool_interface_speed_bytes{kind=\"pif\",device=\"");
        put_label_value(t, field(pif, "device"));
        put(t, "\",pif=\"%s\",network=\"%s\",host=\"%s\"} %lld\n", pif_uuid,
            field(pif, "network"), field(pif, "host"),
            (long long) json_object_get_int64(
                json_object_object_get(pif, "speed"))
                * 125000);
    }
    for (size_t i = 0; i < sizeof counters / sizeof *counters; i++) {
        size_t name_length = strlen(counters[i].name);
        family(t, counters[i].name, "counter", counters[i].help);
        for (size_t j = 0; j < scrape.n; j++) {
            const struct iface_sample *sample = &scrape.samples[j];
            if (sample->has[i]) {
                put_sample(t, counters[i].name, name_length,
                           sample->label->text, sample->label->length,
                           sample->stats[i]);
            }
        }
    }
    free(scrape.samples);
}

/* Keeps interface 'iface' in the scrape if it is a PIF's or a VIF's the
 * host shows. */
static void
collect_iface(void *scrape_, const struct dp_iface_counters *iface)
{
    struct iface_scrape *scrape = scrape_;
    const struct iface_label *label = iface_label(scrape->metrics, iface);

    if (!label || !label->text) {
        return;
    }
    if (scrape->n >= scrape->allocated) {
        scrape->allocated = scrape->allocated * 2 + 64;
        scrape->samples = xrealloc(
            scrape->samples, scrape->allocated * sizeof *scrape->samples);
    }
    struct iface_sample *sample = &scrape->samples[scrape->n++];
    memset(sample, 0, sizeof *sample);
    sample->label = label;
    sample->up = iface->link_up;
    sample->mtu = iface->mtu;
    for (size_t i = 0; i < iface->n_stats; i++) {
        int j = counter_index(iface->stat_names[i]);
        if (j >= 0) {
            sample->stats[j] = iface->stat_values[i];
            sample->has[j] = true;
        }
    }
}

/* Returns the kept labels of interface 'iface' (a PIF's or a VIF's),
 * making them if none are kept for its object and name; NULL for an
 * interface of neither. */
static const struct iface_label *
iface_label(struct metrics *m, const struct dp_iface_counters *iface)
{
    struct lh_table *table = *iface->pif   ? m->pif_labels
                             : *iface->vif ? m->vif_labels
                                           : NULL;
    const char *uuid = *iface->pif ? iface->pif : iface->vif;

    if (!table) {
        return NULL;
    }
    struct lh_entry *entry = lh_table_lookup_entry(table, uuid);
    struct iface_label *head = entry ? lh_entry_v(entry) : NULL;
    for (struct iface_label *label = head; label; label = label->next) {
        if (!strcmp(label->device, iface->name)) {
            label->scrape = m->scrapes;
            return label;
        }
    }

    /* A name not seen before: the labels of names this scrape has not
     * used (an interface renamed since) go, those it used stay. */
    struct iface_label *label = make_label(m, iface);
    struct iface_label **tail = &label->next;
    label->scrape = m->scrapes;
    while (head) {
        struct iface_label *next = head->next;
        if (head->scrape == m->scrapes) {
            *tail = head;
            tail = &head->next;
        } else {
            head->next = NULL;
            free_labels(head);
        }
        head = next;
    }
    *tail = NULL;
    if (entry) {
        lh_entry_set_val(entry, label);
    } else {
        lh_table_insert(table, xstrdup(uuid), label);
    }
    return label;
}

/* Returns new labels for interface 'iface' from the kept records: the
 * labels' text is NULL when the host does not show the interface's PIF or
 * VIF. */
static struct iface_label *
make_label(struct metrics *m, const struct dp_iface_counters *iface)
{
    struct json_object *pifs = json_object_object_get(m->records, "PIF");
    struct json_object *vifs = json_object_object_get(m->records, "VIF");
    struct iface_label *label = xzalloc(sizeof *label);
    struct json_object *record;

    label->device = xstrdup(iface->name);
    if (*iface->pif) {
        label->vm = xstrdup("");
        if ((record = json_object_object_get(pifs, iface->pif))
            && visible(m, "PIF", iface->pif, record)) {
            label->text = xasprintf(
                "kind=\"%s\",device=\"%s\",pif=\"%s\",network=\"%s\","
                "host=\"%s\"",
                json_object_get_boolean(
                    json_object_object_get(record, "physical"))
                    ? "pif"
                : *field(record, "bond_slave_of") ? "bond"
                                                  : "vlan",
                iface->name, iface->pif, field(record, "network"),
                field(record, "host"));
        }
    } else {
        record = json_object_object_get(vifs, iface->vif);
        label->vm = xstrdup(field(record, "VM"));
        if (record && visible(m, "VIF", iface->vif, record)) {
            label->text =
                xasprintf("kind=\"vif\",device=\"%s\",vif=\"%s\","
                          "vm=\"%s\",network=\"%s\"",
                          iface->name, iface->vif, field(record, "VM"),
                          field(record, "network"));
        }
    }
    label->length = label->text ? strlen(label->text) : 0;
    return label;
}

/* Frees 'label' and those chained to it.  Accepts NULL. */
static void
free_labels(struct iface_label *label)
{
    while (label) {
        struct iface_label *next = label->next;
        free(label->device);
        free(label->vm);
        free(label->text);
        free(label);
        label = next;
    }
}

/* Frees the key and the labels of table entry 'entry'. */
static void
free_label_entry(struct lh_entry *entry)
{
    free(lh_entry_k(entry));
    free_labels(lh_entry_v(entry));
}

/* Drops the kept labels that follow from object 'uuid' of 'class': a PIF's
 * or a VIF's own, a VM's VIFs', and every VIF's for a pool (whose master
 * decides where a halted VM shows). */
static void
forget_labels(struct metrics *m, const char *class, const char *uuid)
{
    struct lh_entry *entry, *next;

    if (!strcmp(class, "PIF")) {
        lh_table_delete(m->pif_labels, uuid);
    } else if (!strcmp(class, "VIF")) {
        lh_table_delete(m->vif_labels, uuid);
    } else if (!strcmp(class, "VM") || !strcmp(class, "pool")) {
        bool every = !strcmp(class, "pool");
        lh_foreach_safe(m->vif_labels, entry, next)
        {
            const struct iface_label *label = lh_entry_v(entry);
            /* Every label of a VIF names the same VM. */
            if (every || !strcmp(label->vm, uuid)) {
                lh_table_delete_entry(m->vif_labels, entry);
            }
        }
    }
}

/* Returns the index in counters[] of OVS statistics key 'stat', or -1:
 * one comparison per key instead of one per family. */
static int
counter_index(const char *stat)
{
    int base;

    if (stat[0] == 'o') {
        return !strcmp(stat, "ovs_rx_qos_drops") ? COUNTER_POLICING : -1;
    }
    if (!strncmp(stat, "rx_", 3)) {
        base = 0;
    } else if (!strncmp(stat, "tx_", 3)) {
        base = 4;
    } else {
        return -1;
    }
    stat += 3;
    switch (stat[0]) {
    case 'b':
        return !strcmp(stat, "bytes") ? base : -1;
    case 'p':
        return !strcmp(stat, "packets") ? base + 1 : -1;
    case 'd':
        return !strcmp(stat, "dropped") ? base + 2 : -1;
    case 'e':
        return !strcmp(stat, "errors") ? base + 3 : -1;
    default:
        return -1;
    }
}

/* Per VM: power state, vCPUs, memory. */
static void
vm_families(struct text *t, struct metrics *m)
{
    static const char *const states[] = {
        "Halted",
        "Paused",
        "Running",
        "Suspended",
    };
    struct json_object *vms = json_object_object_get(m->records, "VM");

    family(t, "netpool_vm_power_state", "gauge",
           "1 for the VM's power state, 0 for the others.");
    json_object_object_foreach (vms, vm, record) {
        if (json_object_get_boolean(
                json_object_object_get(record, "is_a_template"))
            || !visible(m, "VM", vm, record)) {
            continue;
        }
        for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
            put(t, "netpool_vm_power_state{vm=\"%s\",state=\"%s\"} %d\n", vm,
                states[i], !strcmp(field(record, "power_state"), states[i]));
        }
    }
    family(t, "netpool_vm_vcpus", "gauge", "vCPUs of the VM (VCPUs_max).");
    json_object_object_foreach (vms, vm2, record2) {
        if (!json_object_get_boolean(
                json_object_object_get(record2, "is_a_template"))
            && visible(m, "VM", vm2, record2)) {
            put(t, "netpool_vm_vcpus{vm=\"%s\"} %lld\n", vm2,
                (long long) int_field(record2, "VCPUs_max"));
        }
    }
    family(t, "netpool_vm_memory_bytes", "gauge",
           "Memory of the VM (memory_static_max).");
    json_object_object_foreach (vms, vm3, record3) {
        if (!json_object_get_boolean(
                json_object_object_get(record3, "is_a_template"))
            && visible(m, "VM", vm3, record3)) {
            put(t, "netpool_vm_memory_bytes{vm=\"%s\"} %lld\n", vm3,
                (long long) int_field(record3, "memory_static_max"));
        }
    }
}

/* Per bond of this host: members, active members, the active member, and
 * per member its state, LACP state and LACPDUs. */
static void
bond_families(struct text *t, struct metrics *m, struct json_object *stats)
{
    static const char *const classes[] = {"bond", "PIF", NULL};
    struct json_object *records = visible_view(m, classes);

    bond_families_of(t, records, stats);
    json_object_put(records);
}

/* bond_families() on 'records' (class → (UUID → record), filtered). */
static void
bond_families_of(struct text *t, struct json_object *records,
                 struct json_object *stats)
{
    static const char *const lacp_states[] = {"current", "expired",
                                              "defaulted"};
    struct json_object *bonds = json_object_object_get(records, "bond");
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *lacp =
        snmp_lacp_parse(field(stats, "lacp_show"), field(stats, "lacp_stats"));
    /* Bond UUID → label text; member PIF UUID → label text. */
    struct json_object *labels = json_object_new_object();
    struct json_object *members = json_object_new_object();

    json_object_object_foreach (bonds, uuid, bond) {
        struct json_object *master =
            json_object_object_get(pifs, field(bond, "master"));
        char *label =
            xasprintf("bond=\"%s\",device=\"%s\",network=\"%s\",host=\"%s\"",
                      uuid, field(master, "device"), field(master, "network"),
                      field(master, "host"));
        json_object_object_add(labels, uuid, json_object_new_string(label));
        json_object_object_foreach (pifs, pif_uuid, pif) {
            if (!strcmp(field(pif, "bond_slave_of"), uuid)) {
                char *m = xasprintf("%s,member=\"%s\",pif=\"%s\"", label,
                                    field(pif, "device"), pif_uuid);
                json_object_object_add(members, pif_uuid,
                                       json_object_new_string(m));
                free(m);
            }
        }
        free(label);
    }

    family(t, "netpool_bond_members", "gauge", "Members the bond has.");
    json_object_object_foreach (bonds, uuid1, bond1) {
        int n = 0;
        json_object_object_foreach (pifs, pif_uuid1, pif1) {
            (void) pif_uuid1;
            n += !strcmp(field(pif1, "bond_slave_of"), uuid1);
        }
        (void) bond1;
        put(t, "netpool_bond_members{%s} %d\n", field(labels, uuid1), n);
    }
    family(t, "netpool_bond_active_members", "gauge",
           "Members the bond carries traffic on (links_up).");
    json_object_object_foreach (bonds, uuid2, bond2) {
        put(t, "netpool_bond_active_members{%s} %lld\n", field(labels, uuid2),
            (long long) int_field(bond2, "links_up"));
    }
    family(t, "netpool_bond_active_member_info", "gauge",
           "The active member of the bond (active-backup); the value is "
           "always 1.");
    json_object_object_foreach (bonds, uuid3, bond3) {
        const char *active = field(bond3, "active_slave");
        (void) uuid3;
        if (*active && *field(members, active)) {
            put(t, "netpool_bond_active_member_info{%s} 1\n",
                field(members, active));
        }
    }
    family(t, "netpool_bond_member_enabled", "gauge",
           "1 if the bond may use the member, 0 if not.");
    json_object_object_foreach (members, pif_uuid4, label4) {
        put(t, "netpool_bond_member_enabled{%s} %d\n",
            json_object_get_string(label4),
            !strcmp(field(json_object_object_get(pifs, pif_uuid4),
                          "bond_member_state"),
                    "enabled"));
    }
    family(t, "netpool_bond_member_lacp_state", "gauge",
           "1 for the LACP state of the member's actor (current, expired, "
           "defaulted), 0 for the others; LACP bonds only.");
    json_object_object_foreach (members, pif_uuid5, label5) {
        struct json_object *pif = json_object_object_get(pifs, pif_uuid5);
        struct json_object *bond =
            json_object_object_get(bonds, field(pif, "bond_slave_of"));
        if (strcmp(field(bond, "mode"), "lacp")) {
            continue;
        }
        for (size_t i = 0; i < 3; i++) {
            put(t, "netpool_bond_member_lacp_state{%s,state=\"%s\"} %d\n",
                json_object_get_string(label5), lacp_states[i],
                !strcmp(field(pif, "lacp_state"), lacp_states[i]));
        }
    }
    static const struct {
        const char *name; /* Family name. */
        const char *key;  /* snmp_lacp_parse() member key. */
        const char *help; /* HELP text. */
    } pdus[] = {
        {"netpool_bond_member_lacpdus_received_total", "rx_pdus",
         "LACPDUs the member received."},
        {"netpool_bond_member_lacpdus_sent_total", "tx_pdus",
         "LACPDUs the member sent."},
    };
    for (size_t i = 0; i < 2; i++) {
        family(t, pdus[i].name, "counter", pdus[i].help);
        json_object_object_foreach (members, pif_uuid6, label6) {
            struct json_object *pif = json_object_object_get(pifs, pif_uuid6);
            struct json_object *bond =
                json_object_object_get(bonds, field(pif, "bond_slave_of"));
            struct json_object *master =
                json_object_object_get(pifs, field(bond, "master"));
            struct json_object *member = json_object_object_get(
                json_object_object_get(
                    json_object_object_get(lacp, field(master, "device")),
                    "members"),
                field(pif, "device"));
            struct json_object *value;
            if (json_object_object_get_ex(member, pdus[i].key, &value)) {
                put(t, "%s{%s} %lld\n", pdus[i].name,
                    json_object_get_string(label6),
                    (long long) json_object_get_int64(value));
            }
        }
    }
    json_object_put(members);
    json_object_put(labels);
    json_object_put(lacp);
}

/* Per datapath (dpctl/show): lookups, flows, masks. */
static void
datapath_families(struct text *t, struct json_object *stats)
{
    static const struct {
        const char *name; /* Family name. */
        const char *type; /* "counter" or "gauge". */
        const char *key;  /* dp_ovs_stats_parse() datapath key. */
        const char *help; /* HELP text. */
    } families[] = {
        {"netpool_datapath_hits_total", "counter", "hits",
         "Packets that matched a flow in the datapath."},
        {"netpool_datapath_misses_total", "counter", "missed",
         "Packets that matched no datapath flow (upcalls)."},
        {"netpool_datapath_lost_total", "counter", "lost",
         "Packets lost before reaching userspace."},
        {"netpool_datapath_flows", "gauge", "flows", "Flows in the datapath."},
        {"netpool_datapath_masks", "gauge", "masks",
         "Distinct megaflow masks in the datapath."},
    };
    struct json_object *datapaths = json_object_object_get(stats, "datapaths");

    if (!datapaths) {
        return;
    }

    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        family(t, families[i].name, families[i].type, families[i].help);
        json_object_object_foreach (datapaths, name, dp) {
            struct json_object *value;
            if (json_object_object_get_ex(dp, families[i].key, &value)) {
                put(t, "%s{datapath=\"", families[i].name);
                put_label_value(t, name);
                put(t, "\"} %lld\n", (long long) json_object_get_int64(value));
            }
        }
    }
}

/* Per network with a bridge here: its bridge's OpenFlow rules, and the
 * packets through netpool's own (anti-spoofing drops, rate-limit
 * drops). */
static void
network_families(struct text *t, struct metrics *m, struct json_object *stats)
{
    static const char *const classes[] = {"network", NULL};
    struct json_object *records = visible_view(m, classes);

    network_families_of(t, records, stats);
    json_object_put(records);
}

/* network_families() on 'records' (class → (UUID → record), filtered). */
static void
network_families_of(struct text *t, struct json_object *records,
                    struct json_object *stats)
{
    static const struct {
        const char *name; /* Family name. */
        const char *type; /* "counter" or "gauge". */
        const char *key;  /* dp_ovs_stats_parse() bridge key. */
        const char *help; /* HELP text. */
    } families[] = {
        {"netpool_network_openflow_flows", "gauge", "flows",
         "OpenFlow rules on the network's bridge."},
        {"netpool_network_openflow_packets_total", "counter", "packets",
         "Packets through the OpenFlow rules of the network's bridge."},
        {"netpool_network_openflow_bytes_total", "counter", "bytes",
         "Bytes through the OpenFlow rules of the network's bridge."},
        {"netpool_network_netpool_rules", "gauge", "rules",
         "netpool's own OpenFlow rules (VIF locking and rate limits) on the "
         "bridge."},
        {"netpool_network_netpool_rule_packets_total", "counter",
         "rule_packets", "Packets through netpool's own rules."},
        {"netpool_network_netpool_rule_bytes_total", "counter", "rule_bytes",
         "Bytes through netpool's own rules."},
        {"netpool_network_antispoof_drop_packets_total", "counter",
         "drop_packets", "Packets a VIF sent that its locking mode dropped."},
        {"netpool_network_antispoof_drop_bytes_total", "counter", "drop_bytes",
         "Bytes a VIF sent that its locking mode dropped."},
        {"netpool_network_ratelimit_drop_packets_total", "counter",
         "meter_drop_packets",
         "Packets a VIF sent over its rate limit, dropped by its meter (on "
         "a dpdk host its port's policing drops them instead: "
         "netpool_interface_receive_policing_drops_total)."},
        {"netpool_network_ratelimit_drop_bytes_total", "counter",
         "meter_drop_bytes",
         "Bytes a VIF sent over its rate limit, dropped by its meter (none "
         "on a dpdk host)."},
    };
    struct json_object *bridges = json_object_object_get(stats, "bridges");
    struct json_object *networks = json_object_object_get(records, "network");

    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        family(t, families[i].name, families[i].type, families[i].help);
        json_object_object_foreach (networks, uuid, network) {
            const char *bridge = field(network, "bridge");
            struct json_object *b = json_object_object_get(bridges, bridge);
            struct json_object *value;
            if (*bridge
                && json_object_object_get_ex(b, families[i].key, &value)) {
                put(t, "%s{network=\"%s\",bridge=\"", families[i].name, uuid);
                put_label_value(t, bridge);
                put(t, "\"} %lld\n", (long long) json_object_get_int64(value));
            }
        }
    }
}

/* Reconciler counters. */
static void
reconciler_families(struct text *t, const struct dp_reconciler_stats *stats)
{
    if (!stats) {
        return;
    }
    family(t, "netpool_reconciler_runs_total", "counter",
           "Runs of the fabric reconciler: incremental (only what changed "
           "was computed and written) or full (everything recomputed and "
           "compared).");
    put(t, "netpool_reconciler_runs_total{kind=\"incremental\"} %" PRIu64 "\n",
        stats->incremental_runs);
    put(t, "netpool_reconciler_runs_total{kind=\"full\"} %" PRIu64 "\n",
        stats->full_runs);
    family(t, "netpool_reconciler_ovsdb_transactions_total", "counter",
           "OVSDB transactions the reconciler sent that changed something.");
    put(t, "netpool_reconciler_ovsdb_transactions_total %" PRIu64 "\n",
        stats->ovsdb_transactions);
    family(t, "netpool_reconciler_applied_seq", "gauge",
           "Store sequence number up to which every change is in this "
           "host's Open vSwitch (host applied-seq).");
    put(t, "netpool_reconciler_applied_seq %" PRIu64 "\n", stats->applied_seq);
    family(t, "netpool_reconciler_vif_ports", "gauge",
           "VIF ports the reconciler wants on this host.");
    put(t, "netpool_reconciler_vif_ports %" PRIu64 "\n", stats->vifs);
}

/* Keeping the records and counts. */

/* Returns true if the host shows object 'uuid' of 'class'. */
static bool
visible(struct metrics *m, const char *class, const char *uuid,
        struct json_object *record)
{
    return export_visible(m->records, class, uuid, record, m->host);
}

/* Returns a new class → (UUID → record) of the objects of 'classes'
 * (NULL-terminated, small classes only) the host shows; the records are
 * shared with 'm'. */
static struct json_object *
visible_view(struct metrics *m, const char *const *classes)
{
    struct json_object *view = json_object_new_object();

    for (size_t i = 0; classes[i]; i++) {
        struct json_object *rows = json_object_new_object();
        json_object_object_foreach (
            json_object_object_get(m->records, classes[i]), uuid, record) {
            if (visible(m, classes[i], uuid, record)) {
                json_object_object_add(rows, uuid, json_object_get(record));
            }
        }
        json_object_object_add(view, classes[i], rows);
    }
    return view;
}

/* Applies changes of this host's and unowned objects to 'm->records':
 * each side of a record (desired, observed) is replaced whole. */
static void
kept_changed(void *metrics_, const struct store_change *changes, size_t n,
             uint64_t seq)
{
    struct metrics *m = metrics_;

    for (size_t i = 0; i < n; i++) {
        const struct store_change *c = &changes[i];
        struct json_object *rows =
            json_object_object_get(m->records, c->class->name);
        struct json_object *have = json_object_object_get(rows, c->uuid);
        bool here = c->op != STORE_OP_DEL
                    && (!c->class->owner_field || !*c->new_owner
                        || !strcmp(c->new_owner, m->host));

        forget_labels(m, c->class->name, c->uuid);
        if (!rows) {
            continue;
        }
        if (!here) {
            json_object_object_del(rows, c->uuid);
        } else if (!have) {
            struct json_object *record = NULL;
            if (c->op == STORE_OP_ADD && !c->observed && c->new) {
                /* New: its desired part, nothing observed yet. */
                record = store_default_record(c->class);
                json_object_object_foreach (c->new, key, value) {
                    struct json_object *copy = NULL;
                    json_object_deep_copy(value, &copy, NULL);
                    json_object_object_add(record, key, copy);
                }
            } else {
                /* Come from another host: read it whole. */
                record = store_get(m->store, c->class->name, c->uuid);
            }
            if (record) {
                strip(c->class, record);
                json_object_object_add(rows, c->uuid, record);
            }
        } else {
            json_object_object_foreach (c->new, key, value) {
                struct json_object *copy = NULL;
                json_object_deep_copy(value, &copy, NULL);
                json_object_object_add(have, key, copy);
            }
            strip(c->class, have);
        }
    }
}

/* Keeps the object counts and the messages by name. */
static void
all_changed(void *metrics_, const struct store_change *changes, size_t n,
            uint64_t seq)
{
    struct metrics *m = metrics_;

    for (size_t i = 0; i < n; i++) {
        const struct store_change *c = &changes[i];
        bool message = !strcmp(c->class->name, "message");

        if (c->op == STORE_OP_ADD) {
            count(m->counts, c->class->name, 1);
            if (message) {
                json_object_object_add(
                    m->message_names, c->uuid,
                    json_object_new_string(field(c->new, "name")));
                count(m->messages, field(c->new, "name"), 1);
            }
        } else if (c->op == STORE_OP_DEL) {
            count(m->counts, c->class->name, -1);
            if (message) {
                count(m->messages, field(m->message_names, c->uuid), -1);
                json_object_object_del(m->message_names, c->uuid);
            }
        }
    }
}

/* Adds 'delta' to the number 'key' of 'counts'. */
static void
count(struct json_object *counts, const char *key, int delta)
{
    int64_t n = json_object_get_int64(json_object_object_get(counts, key));

    if (n + delta > 0) {
        json_object_object_add(counts, key, json_object_new_int64(n + delta));
    } else {
        json_object_object_add(counts, key, json_object_new_int64(0));
    }
}

/* Takes the fields the feed does not carry (derived fields, "uuid") off
 * 'record'. */
static void
strip(const struct store_class *class, struct json_object *record)
{
    json_object_object_del(record, "uuid");
    for (size_t i = 0; class && i < class->n_fields; i++) {
        if (class->fields[i].flags & FIELD_DERIVED) {
            json_object_object_del(record, class->fields[i].name);
        }
    }
}

/* Helpers. */

static void
put(struct text *t, const char *fmt, ...)
{
    va_list args;

    for (;;) {
        va_start(args, fmt);
        int n = vsnprintf(t->data + t->length, t->size - t->length, fmt, args);
        va_end(args);
        if (n >= 0 && (size_t) n < t->size - t->length) {
            t->length += n;
            return;
        }
        t->size = 2 * t->size + (n > 0 ? n : 0);
        t->data = xrealloc(t->data, t->size);
    }
}

/* Appends 'length' bytes of 'data' to 't'. */
static void
append(struct text *t, const char *data, size_t length)
{
    if (t->length + length + 1 > t->size) {
        t->size = 2 * t->size + length + 1;
        t->data = xrealloc(t->data, t->size);
    }
    memcpy(t->data + t->length, data, length);
    t->length += length;
    t->data[t->length] = '\0';
}

/* Appends the sample line "NAME{LABELS} VALUE": what put() would write,
 * without parsing a format for each of the page's many lines. */
static void
put_sample(struct text *t, const char *name, size_t name_length,
           const char *labels, size_t labels_length, int64_t value)
{
    char digits[24];
    char *p = digits + sizeof digits;
    uint64_t magnitude = value < 0 ? -(uint64_t) value : (uint64_t) value;

    *--p = '\n';
    do {
        *--p = (char) ('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0) {
        *--p = '-';
    }
    append(t, name, name_length);
    append(t, "{", 1);
    append(t, labels, labels_length);
    append(t, "} ", 2);
    append(t, p, (size_t) (digits + sizeof digits - p));
}

static void
family(struct text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Writes 'value' escaped as the exposition format wants inside quotes. */
static void
put_label_value(struct text *t, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"') {
            put(t, "\\%c", *p);
        } else if (*p == '\n') {
            put(t, "\\n");
        } else {
            put(t, "%c", *p);
        }
    }
}

static int64_t
int_field(struct json_object *record, const char *name)
{
    return json_object_get_int64(json_object_object_get(record, name));
}

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
               ? json_object_get_string(value)
               : "";
}
