/*
 * The Prometheus exporter: netpoold's objects and counters in the text
 * exposition format (version 0.0.4).  Families follow Prometheus naming:
 * a netpool_ prefix, base units (bytes, seconds), _total on counters,
 * _info for metadata, and labels that name objects (host, network, PIF,
 * VIF, VM UUIDs and device names), never unbounded values.
 *
 * Everything comes from the object store and from what the OVS
 * reconciler observes; secret classes (users, sessions) are never read.
 */
#include "mgmt/mgmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/xalloc.h"
#include "mgmt/store.h"

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
static void put_label_value(struct text *, const char *value);
static const char *field(struct json_object *record, const char *name);
static void interface_families(struct text *, struct store *,
                               struct json_object *observed);
static void object_families(struct text *, struct store *);

char *
metrics_render(struct store *store, struct json_object *observed,
               const struct metrics_info *info)
{
    struct text t = {xzalloc(4096), 0, 4096};

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
    object_families(&t, store);
    interface_families(&t, store, observed);
    return t.data;
}

/* Object counts, messages and VM states. */
static void
object_families(struct text *t, struct store *store)
{
    const struct store_class *const *classes = store_classes();

    family(t, "netpool_objects", "gauge", "Objects in the store by class.");
    for (size_t i = 0; classes[i]; i++) {
        if (classes[i]->secret) {
            continue;
        }
        struct json_object *all = store_get_all(store, classes[i]->name);
        put(t, "netpool_objects{class=\"%s\"} %d\n", classes[i]->name,
            json_object_object_length(all));
        json_object_put(all);
    }

    /* Messages by name: how many are raised and not yet destroyed. */
    struct json_object *messages = store_get_all(store, "message");
    struct json_object *counts = json_object_new_object();
    json_object_object_foreach (messages, uuid, message) {
        const char *name = field(message, "name");
        struct json_object *n = json_object_object_get(counts, name);
        json_object_object_add(
            counts, name, json_object_new_int(json_object_get_int(n) + 1));
        (void) uuid;
    }
    family(t, "netpool_messages", "gauge",
           "Messages (alerts) present, by name.");
    json_object_object_foreach (counts, name, n) {
        put(t, "netpool_messages{name=\"");
        put_label_value(t, name);
        put(t, "\"} %d\n", json_object_get_int(n));
    }
    json_object_put(counts);
    json_object_put(messages);

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

    struct json_object *vms = store_get_all(store, "VM");
    family(t, "netpool_vm_power_state", "gauge",
           "1 for the VM's power state, 0 for the others.");
    static const char *const states[] = {
        "Halted",
        "Paused",
        "Running",
        "Suspended",
    };
    json_object_object_foreach (vms, vm, record) {
        if (json_object_get_boolean(
                json_object_object_get(record, "is_a_template"))) {
            continue;
        }
        for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
            put(t, "netpool_vm_power_state{vm=\"%s\",state=\"%s\"} %d\n", vm,
                states[i], !strcmp(field(record, "power_state"), states[i]));
        }
    }
    json_object_put(vms);
}

/* Per-interface families: PIFs from the store, counters from OVS. */
static void
interface_families(struct text *t, struct store *store,
                   struct json_object *observed)
{
    static const struct {
        const char *name; /* Family name. */
        const char *stat; /* OVS statistics key. */
        const char *help; /* HELP text. */
    } counters[] = {
        {"netpool_interface_receive_bytes_total", "rx_bytes",
         "Bytes received."},
        {"netpool_interface_receive_packets_total", "rx_packets",
         "Packets received."},
        {"netpool_interface_receive_drops_total", "rx_dropped",
         "Received packets dropped."},
        {"netpool_interface_receive_errors_total", "rx_errors",
         "Receive errors."},
        {"netpool_interface_transmit_bytes_total", "tx_bytes",
         "Bytes transmitted."},
        {"netpool_interface_transmit_packets_total", "tx_packets",
         "Packets transmitted."},
        {"netpool_interface_transmit_drops_total", "tx_dropped",
         "Packets dropped on transmit."},
        {"netpool_interface_transmit_errors_total", "tx_errors",
         "Transmit errors."},
    };
    struct json_object *pifs = store_get_all(store, "PIF");
    struct json_object *vifs = store_get_all(store, "VIF");
    struct json_object *ifaces =
        json_object_object_get(observed, "interfaces");
    /* Interface name → label text, for the interfaces netpool owns. */
    struct json_object *labels = json_object_new_object();

    json_object_object_foreach (ifaces, name, iface) {
        struct json_object *ids =
            json_object_object_get(iface, "external_ids");
        const char *pif = field(ids, "netpool-pif");
        const char *vif = field(ids, "iface-id");
        struct json_object *record;
        char *label = NULL;

        if (*pif && (record = json_object_object_get(pifs, pif))) {
            label = xasprintf(
                "kind=\"%s\",device=\"%s\",pif=\"%s\",network=\"%s\","
                "host=\"%s\"",
                json_object_get_boolean(
                    json_object_object_get(record, "physical"))
                    ? "pif"
                : *field(record, "bond_slave_of") ? "bond"
                                                  : "vlan",
                name, pif, field(record, "network"), field(record, "host"));
        } else if (*vif && (record = json_object_object_get(vifs, vif))) {
            label = xasprintf("kind=\"vif\",device=\"%s\",vif=\"%s\","
                              "vm=\"%s\",network=\"%s\"",
                              name, vif, field(record, "VM"),
                              field(record, "network"));
        }
        if (label) {
            json_object_object_add(labels, name,
                                   json_object_new_string(label));
            free(label);
        }
    }

    family(t, "netpool_interface_up", "gauge",
           "1 if the interface has carrier (link state up).");
    json_object_object_foreach (labels, name1, label1) {
        struct json_object *iface = json_object_object_get(ifaces, name1);
        put(t, "netpool_interface_up{%s} %d\n", json_object_get_string(label1),
            !strcmp(field(iface, "link_state"), "up"));
    }
    family(t, "netpool_interface_mtu_bytes", "gauge",
           "MTU the interface has in Open vSwitch.");
    json_object_object_foreach (labels, name2, label2) {
        struct json_object *iface = json_object_object_get(ifaces, name2);
        put(t, "netpool_interface_mtu_bytes{%s} %lld\n",
            json_object_get_string(label2),
            (long long) json_object_get_int64(
                json_object_object_get(iface, "mtu")));
    }
    family(t, "netpool_interface_speed_bytes", "gauge",
           "Link speed of a PIF in bytes per second (0 when unknown).");
    json_object_object_foreach (pifs, pif_uuid, pif) {
        put(t, "netpool_interface_speed_bytes{kind=\"pif\",device=\"");
        put_label_value(t, field(pif, "device"));
        put(t, "\",pif=\"%s\",network=\"%s\",host=\"%s\"} %lld\n", pif_uuid,
            field(pif, "network"), field(pif, "host"),
            (long long) json_object_get_int64(
                json_object_object_get(pif, "speed"))
                * 125000);
    }
    for (size_t i = 0; i < sizeof counters / sizeof *counters; i++) {
        family(t, counters[i].name, "counter", counters[i].help);
        json_object_object_foreach (labels, name3, label3) {
            struct json_object *stats = json_object_object_get(
                json_object_object_get(ifaces, name3), "statistics");
            struct json_object *value;
            if (json_object_object_get_ex(stats, counters[i].stat, &value)) {
                put(t, "%s{%s} %lld\n", counters[i].name,
                    json_object_get_string(label3),
                    (long long) json_object_get_int64(value));
            }
        }
    }
    json_object_put(labels);
    json_object_put(vifs);
    json_object_put(pifs);
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

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
               ? json_object_get_string(value)
               : "";
}
