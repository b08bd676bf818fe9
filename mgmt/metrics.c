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
#include "mgmt/snmp.h"
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
static void interface_families(struct text *, struct json_object *records,
                               struct json_object *observed);
static void object_families(struct text *, struct store *,
                            struct json_object *records);
static void vm_families(struct text *, struct json_object *records);
static void bond_families(struct text *, struct json_object *records,
                          struct json_object *stats);
static void datapath_families(struct text *, struct json_object *stats);
static void network_families(struct text *, struct json_object *records,
                             struct json_object *stats);
static struct json_object *read_records(struct store *, const char *host);
static int64_t int_field(struct json_object *record, const char *name);

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
    struct json_object *records = read_records(store, info->host);
    struct json_object *stats = json_object_object_get(observed, "ovs_stats");
    object_families(&t, store, records);
    vm_families(&t, records);
    interface_families(&t, records, observed);
    bond_families(&t, records, stats);
    datapath_families(&t, stats);
    network_families(&t, records, stats);
    json_object_put(records);
    return t.data;
}

/* Object counts, messages and VM states. */
static void
object_families(struct text *t, struct store *store,
                struct json_object *records)
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
}

/* Per-interface families: PIFs from the store, counters from OVS. */
static void
interface_families(struct text *t, struct json_object *records,
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
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *vifs = json_object_object_get(records, "VIF");
    struct json_object *ifaces =
        json_object_object_get(observed, "interfaces");
    struct json_object *none = json_object_new_object();

    if (!ifaces) {
        /* Before the reconciler's first connection. */
        ifaces = none;
    }
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
    json_object_put(none);
}

/* Per VM: power state, vCPUs, memory. */
static void
vm_families(struct text *t, struct json_object *records)
{
    static const char *const states[] = {
        "Halted",
        "Paused",
        "Running",
        "Suspended",
    };
    struct json_object *vms = json_object_object_get(records, "VM");

    family(t, "netpool_vm_power_state", "gauge",
           "1 for the VM's power state, 0 for the others.");
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
    family(t, "netpool_vm_vcpus", "gauge", "vCPUs of the VM (VCPUs_max).");
    json_object_object_foreach (vms, vm2, record2) {
        if (!json_object_get_boolean(
                json_object_object_get(record2, "is_a_template"))) {
            put(t, "netpool_vm_vcpus{vm=\"%s\"} %lld\n", vm2,
                (long long) int_field(record2, "VCPUs_max"));
        }
    }
    family(t, "netpool_vm_memory_bytes", "gauge",
           "Memory of the VM (memory_static_max).");
    json_object_object_foreach (vms, vm3, record3) {
        if (!json_object_get_boolean(
                json_object_object_get(record3, "is_a_template"))) {
            put(t, "netpool_vm_memory_bytes{vm=\"%s\"} %lld\n", vm3,
                (long long) int_field(record3, "memory_static_max"));
        }
    }
}

/* Per bond of this host: members, active members, the active member, and
 * per member its state, LACP state and LACPDUs. */
static void
bond_families(struct text *t, struct json_object *records,
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
network_families(struct text *t, struct json_object *records,
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
         "Packets a VIF sent over its rate limit, dropped by its meter."},
        {"netpool_network_ratelimit_drop_bytes_total", "counter",
         "meter_drop_bytes",
         "Bytes a VIF sent over its rate limit, dropped by its meter."},
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

/* Returns the records the exporter may show (class → (UUID → record)). */
static struct json_object *
read_records(struct store *store, const char *host)
{
    static const char *const classes[] = {"pool", "host", "PIF", "network",
                                          "bond", "VLAN", "VIF", "VM"};
    struct json_object *records = json_object_new_object();

    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        json_object_object_add(records, classes[i],
                               store_get_all(store, classes[i]));
    }
    export_filter_records(records, host);
    return records;
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
