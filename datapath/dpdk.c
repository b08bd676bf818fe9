/*
 * The datapath of a host and the OVS-DPDK settings it implies, computed
 * from the store's records alone.  Pure: the reconciler puts the result
 * into the desired fabric ("open_vswitch": {"other_config": …}) and
 * dp_dpdk_apply() (dpdk-ovs.c) writes it to the Open_vSwitch row.
 */
#include "datapath/datapath.h"
#include "datapath/fabric-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/record.h"
#include "lib/xalloc.h"

#define UUID_PREFIX_LENGTH 8 /* Host UUID characters in --file-prefix. */

/* The PMD tuning keys of DP_DPDK_KEYS, their defaults and ranges. */
struct tuning_key {
    const char *key;  /* Host and Open_vSwitch other_config key. */
    const char *dflt; /* netpool's default. */
    long long max;    /* Largest value; -1 for a boolean. */
};
static const struct tuning_key tuning_keys[] = {
    {"emc-insert-inv-prob", DP_DPDK_EMC_INSERT_INV_PROB, 4294967295LL},
    {"smc-enable", DP_DPDK_SMC_ENABLE, -1},
    {"tx-flush-interval", DP_DPDK_TX_FLUSH_INTERVAL, 1000000},
    {"pmd-maxsleep", DP_DPDK_PMD_MAXSLEEP, 10000},
};

static const char *config_value(struct json_object *other_config,
                                const char *key, const char *dflt);
static bool decimal_valid(const char *text, long long max);
static void set_dpdk_port(struct json_object *iface, struct json_object *pif);

const char *
dp_host_datapath(struct json_object *records, const char *host)
{
    struct json_object *hosts = json_object_object_get(records, "host");
    const char *datapath =
        record_string(json_object_object_get(hosts, host), "datapath");

    return *datapath ? datapath : "netdev";
}

const char *
dp_datapath_type(const char *datapath, const char *dflt)
{
    if (!strcmp(datapath, "dpdk")) {
        return "netdev";
    }
    if (!strcmp(datapath, "system")) {
        return "system";
    }
    return dflt;
}

struct json_object *
dp_dpdk_build(struct json_object *records, const char *host,
              const char *huge_dir)
{
    struct json_object *want = json_object_new_object();

    if (strcmp(dp_host_datapath(records, host), "dpdk")) {
        return want;
    }

    struct json_object *hosts = json_object_object_get(records, "host");
    struct json_object *config = json_object_object_get(
        json_object_object_get(hosts, host), "other_config");
    char *extra =
        xasprintf("--no-pci --huge-dir=%s --file-prefix=netpool-%.*s",
                  huge_dir, UUID_PREFIX_LENGTH, host);

    json_object_object_add(want, "dpdk-init", json_object_new_string("true"));
    json_object_object_add(
        want, "dpdk-socket-mem",
        json_object_new_string(
            config_value(config, "dpdk-socket-mem", DP_DPDK_SOCKET_MEM)));
    json_object_object_add(
        want, "dpdk-lcore-mask",
        json_object_new_string(
            config_value(config, "dpdk-lcore-mask", DP_DPDK_LCORE_MASK)));
    json_object_object_add(want, "pmd-cpu-mask",
                           json_object_new_string(config_value(
                               config, "pmd-cpu-mask", DP_DPDK_PMD_MASK)));
    json_object_object_add(
        want, "dpdk-extra",
        json_object_new_string(config_value(config, "dpdk-extra", extra)));
    free(extra);
    const char *limit = config_value(config, "dpdk-socket-limit", "");
    if (*limit) {
        json_object_object_add(want, "dpdk-socket-limit",
                               json_object_new_string(limit));
    }
    for (size_t i = 0; i < sizeof tuning_keys / sizeof *tuning_keys; i++) {
        const struct tuning_key *t = &tuning_keys[i];
        json_object_object_add(
            want, t->key,
            json_object_new_string(config_value(config, t->key, t->dflt)));
    }
    return want;
}

bool
dp_dpdk_host_value_valid(const char *key, const char *value)
{
    for (size_t i = 0; i < sizeof tuning_keys / sizeof *tuning_keys; i++) {
        const struct tuning_key *t = &tuning_keys[i];
        if (!strcmp(key, t->key)) {
            return t->max < 0
                       ? !strcmp(value, "true") || !strcmp(value, "false")
                       : decimal_valid(value, t->max);
        }
    }
    return true;
}

bool
dp_dpdk_rxq_affinity_valid(const char *text)
{
    const char *p = text;

    for (;;) {
        size_t queue = strspn(p, "0123456789");
        if (!queue || queue > 5 || p[queue] != ':') {
            return false;
        }
        p += queue + 1;
        size_t core = strspn(p, "0123456789");
        if (!core || core > 5) {
            return false;
        }
        p += core;
        if (!*p) {
            return true;
        }
        if (*p++ != ',') {
            return false;
        }
    }
}

char *
dp_dpdk_devargs(struct json_object *pif)
{
    const char *devargs = config_value(
        json_object_object_get(pif, "other_config"), "dpdk-devargs", "");
    const char *device = record_string(pif, "device");

    return *devargs ? xstrdup(devargs)
                    : xasprintf("net_af_packet_%s,iface=%s", device, device);
}

const char *
dp_dpdk_devargs_problem(const char *devargs)
{
    static const char *const drivers[] = {
        "net_af_packet", "net_af_xdp", "net_tap",   "net_pcap",
        "net_null",      "net_ring",   "net_vhost", "net_virtio_user",
    };
    unsigned int domain, bus, slot, function;
    char tail;

    if (!*devargs) {
        return "empty";
    }
    if (sscanf(devargs, "%4x:%2x:%2x.%1x%c", &domain, &bus, &slot, &function,
               &tail)
            >= 4
        && strspn(devargs, "0123456789abcdefABCDEF:.") >= 12) {
        return NULL;
    }
    size_t name_length = strcspn(devargs, ",");
    for (size_t i = 0; i < sizeof drivers / sizeof *drivers; i++) {
        size_t length = strlen(drivers[i]);
        if (name_length >= length && !strncmp(devargs, drivers[i], length)) {
            const char *args = devargs + name_length;
            if (strspn(devargs, "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
                < name_length) {
                return "the device name has characters DPDK refuses";
            }
            if (*args && !strchr(args + 1, '=')) {
                return "device arguments are KEY=VALUE pairs";
            }
            return NULL;
        }
    }
    return "neither a PCI address nor a virtual device DPDK knows";
}

void
dp_dpdk_fabric_ports(struct json_object *fabric, struct json_object *records,
                     const char *host)
{
    struct json_object *pifs = json_object_object_get(records, "PIF");

    if (strcmp(dp_host_datapath(records, host), "dpdk")) {
        return;
    }
    json_object_object_foreach (json_object_object_get(fabric, "bridges"),
                                bridge, br) {
        json_object_object_foreach (json_object_object_get(br, "ports"),
                                    port_name, port) {
            json_object_object_foreach (
                json_object_object_get(port, "interfaces"), name, iface) {
                const char *uuid = record_string(
                    json_object_object_get(iface, "external_ids"),
                    "netpool-pif");
                struct json_object *pif = json_object_object_get(pifs, uuid);
                if (!pif || !dp_record_bool(pif, "physical")
                    || *record_string(iface, "type")) {
                    continue;
                }
                set_dpdk_port(iface, pif);
                (void) name;
            }
            (void) port_name;
        }
        (void) bridge;
    }
}

/* Helpers. */

/* Makes 'iface' the DPDK port of physical PIF 'pif'. */
static void
set_dpdk_port(struct json_object *iface, struct json_object *pif)
{
    struct json_object *config = json_object_object_get(pif, "other_config");
    struct json_object *options = json_object_object_get(iface, "options");
    struct json_object *iface_config =
        json_object_object_get(iface, "other_config");
    const char *n_rxq = config_value(config, "dpdk-n-rxq", "");
    const char *affinity = config_value(config, "dpdk-pmd-rxq-affinity", "");

    char *devargs = dp_dpdk_devargs(pif);

    json_object_object_add(iface, "type", json_object_new_string("dpdk"));
    json_object_object_add(options, "dpdk-devargs",
                           json_object_new_string(devargs));
    free(devargs);
    if (*n_rxq) {
        json_object_object_add(options, "n_rxq",
                               json_object_new_string(n_rxq));
    }
    if (*affinity) {
        json_object_object_add(iface_config, "pmd-rxq-affinity",
                               json_object_new_string(affinity));
    }
}

/* Returns true if 'text' is a decimal from 0 to 'max', nothing around
 * it. */
static bool
decimal_valid(const char *text, long long max)
{
    size_t digits = strspn(text, "0123456789");

    return digits && digits <= 10 && !text[digits]
           && strtoll(text, NULL, 10) <= max;
}

/* Returns the value of 'key' in 'other_config' if it is a non-empty
 * string, else 'dflt'. */
static const char *
config_value(struct json_object *other_config, const char *key,
             const char *dflt)
{
    const char *value = record_string(other_config, key);
    return *value ? value : dflt;
}
