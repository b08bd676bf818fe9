/*
 * The datapath of a host through the API: host.set_datapath (the generic
 * setter, with this file's check) chooses "netdev", "dpdk" or "system".
 * Before a host becomes "dpdk", or asks for more DPDK socket memory, its
 * free hugepages are checked against dpdk-socket-mem, so that too few is
 * HOST_HUGEPAGES_INSUFFICIENT(needed, free) and nothing is stored; the
 * reconciler (datapath/dpdk.c) then configures OVS from the stored value.
 * "system" needs the openvswitch kernel module.  A PIF's DPDK keys of
 * other_config are checked where they enter: dpdk-devargs must be a PCI
 * address or a virtual device DPDK knows, whose iface= NIC exists on this
 * host (DPDK_DEVARGS_INVALID(devargs, reason)); dpdk-n-rxq a queue count.
 */
#include "mgmt/api-internal.h"

#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define SOCKET_MEM_KEY "dpdk-socket-mem"
#define KERNEL_MODULE "/sys/module/openvswitch"

static struct np_error *check_datapath(struct api *, const char *uuid,
                                       struct json_object *host,
                                       const char *datapath);
static struct np_error *check_other_config(struct api *, const char *uuid,
                                           struct json_object *host,
                                           struct json_object *config);
static struct np_error *check_masks(struct json_object *config);
static struct np_error *check_pif_config(struct api *, const char *uuid,
                                         struct json_object *config);
static const char *socket_mem(struct json_object *config);
static const char *record_string(struct json_object *record, const char *name);

struct np_error *
api_dpdk_check_set(struct api *api, const struct store_class *class,
                   const struct store_field *field, const char *uuid,
                   struct json_object *value)
{
    struct np_error *error = NULL;

    if (!strcmp(class->name, "PIF") && !strcmp(field->name, "other_config")) {
        return check_pif_config(api, uuid, value);
    }
    if (!strcmp(class->name, "network") && !strcmp(field->name, "MTU")) {
        struct json_object *records = dp_reconciler_records(api->store);
        error = dp_dpdk_check_network_mtu(records, uuid,
                                          json_object_get_int64(value), "MTU");
        json_object_put(records);
        return error;
    }
    if (strcmp(class->name, "host")
        || (strcmp(field->name, "datapath")
            && strcmp(field->name, "other_config"))) {
        return NULL;
    }
    struct json_object *host = store_get(api->store, "host", uuid);
    if (!strcmp(field->name, "datapath")) {
        error = check_datapath(api, uuid, host, json_object_get_string(value));
    } else {
        error = check_other_config(api, uuid, host, value);
    }
    json_object_put(host);
    return error;
}

/* Helpers. */

/* The rules of writing 'datapath' to host 'uuid' (its record 'host'). */
static struct np_error *
check_datapath(struct api *api, const char *uuid, struct json_object *host,
               const char *datapath)
{
    const char *current = record_string(host, "datapath");

    if (!strcmp(current, datapath)) {
        return NULL;
    }
    if (!strcmp(datapath, "system")) {
        if (!strcmp(uuid, api->host_uuid) && access(KERNEL_MODULE, F_OK)) {
            return np_error_new(ERR_HOST_DATAPATH_UNAVAILABLE, "system",
                                "the openvswitch kernel module is not loaded",
                                NULL);
        }
        return NULL;
    }
    if (strcmp(datapath, "dpdk")) {
        return NULL;
    }

    struct json_object *config = json_object_object_get(host, "other_config");
    const char *text = socket_mem(config);
    int64_t needed = dp_hugepages_needed(text);
    if (needed < 0) {
        return np_error_new(ERR_INVALID_VALUE, "other_config:" SOCKET_MEM_KEY,
                            text, NULL);
    }
    struct np_error *error = check_masks(config);
    if (!error && !strcmp(uuid, api->host_uuid)) {
        error = dp_hugepages_check(needed, dp_hugepages_free());
    }
    if (!error) {
        /* Every NIC becomes a DPDK port: each must take its MTU. */
        struct json_object *records = dp_reconciler_records(api->store);
        error = dp_dpdk_check_host_mtus(records, uuid, "datapath");
        json_object_put(records);
    }
    return error;
}

/* The rules of writing 'config' to the other_config of host 'uuid' (its
 * record 'host'): valid DPDK keys, and hugepages for more socket memory on
 * a host that is in dpdk mode. */
static struct np_error *
check_other_config(struct api *api, const char *uuid, struct json_object *host,
                   struct json_object *config)
{
    const char *text = socket_mem(config);
    int64_t needed = dp_hugepages_needed(text);

    if (needed < 0) {
        return np_error_new(ERR_INVALID_VALUE, "other_config:" SOCKET_MEM_KEY,
                            text, NULL);
    }
    /* A limit on OVS's hugepages holds at least what it preallocates. */
    const char *limit = record_string(config, "dpdk-socket-limit");
    if (*limit && dp_hugepages_needed(limit) < needed) {
        return np_error_new(ERR_INVALID_VALUE,
                            "other_config:dpdk-socket-limit", limit, NULL);
    }
    struct np_error *error = check_masks(config);
    if (error || strcmp(record_string(host, "datapath"), "dpdk")
        || strcmp(uuid, api->host_uuid)) {
        return error;
    }
    /* The memory OVS holds for the current setting counts as free for
     * the new one. */
    int64_t held = dp_hugepages_needed(
        socket_mem(json_object_object_get(host, "other_config")));
    if (held < 0 || needed <= held) {
        return NULL;
    }
    return dp_hugepages_check(needed, dp_hugepages_free() + held);
}

/* The rules of writing 'config' to the other_config of PIF 'uuid'. */
static struct np_error *
check_pif_config(struct api *api, const char *uuid, struct json_object *config)
{
    const char *devargs = record_string(config, "dpdk-devargs");
    const char *n_rxq = record_string(config, "dpdk-n-rxq");
    const char *affinity = record_string(config, "dpdk-pmd-rxq-affinity");

    if (*n_rxq) {
        char *end;
        long n = strtol(n_rxq, &end, 10);
        if (*end || end == n_rxq || n < 1 || n > 64) {
            return np_error_new(ERR_INVALID_VALUE, "other_config:dpdk-n-rxq",
                                n_rxq, NULL);
        }
    }
    if (*affinity && !dp_dpdk_rxq_affinity_valid(affinity)) {
        return np_error_new(ERR_INVALID_VALUE,
                            "other_config:dpdk-pmd-rxq-affinity", affinity,
                            NULL);
    }
    bool has_devargs = json_object_object_get_ex(config, "dpdk-devargs", NULL);
    const char *problem =
        has_devargs ? dp_dpdk_devargs_problem(devargs) : NULL;
    if (problem) {
        return np_error_new(ERR_DPDK_DEVARGS_INVALID, devargs, problem, NULL);
    }

    /* A virtual device on a NIC of this host needs that NIC. */
    struct json_object *pif = store_get(api->store, "PIF", uuid);
    const char *iface = strstr(devargs, ",iface=");
    struct np_error *error = NULL;
    if (has_devargs && iface
        && !strcmp(record_string(pif, "host"), api->host_uuid)) {
        char name[IF_NAMESIZE];
        iface += strlen(",iface=");
        size_t length = strcspn(iface, ",");
        if (length >= sizeof name) {
            length = sizeof name - 1;
        }
        memcpy(name, iface, length);
        name[length] = '\0';
        if (!if_nametoindex(name)) {
            error = np_error_new(ERR_DPDK_DEVARGS_INVALID, devargs,
                                 "this host has no such iface", NULL);
        }
    }
    if (!error) {
        /* The port's driver must take the MTU it carries. */
        struct json_object *records = dp_reconciler_records(api->store);
        struct json_object *changed = json_object_new_object();
        json_object_object_add(
            changed, "device",
            json_object_new_string(record_string(pif, "device")));
        json_object_object_add(changed, "other_config",
                               json_object_get(config));
        char *effective = dp_dpdk_devargs(changed);
        error = dp_dpdk_check_devargs_mtu(records, uuid, effective,
                                          "other_config:dpdk-devargs");
        free(effective);
        json_object_put(changed);
        json_object_put(records);
    }
    json_object_put(pif);
    return error;
}

struct np_error *
api_dpdk_check_bond(struct api *api, const char *network,
                    struct json_object *members)
{
    struct json_object *records = dp_reconciler_records(api->store);
    struct json_object *net = json_object_object_get(
        json_object_object_get(records, "network"), network);
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *value;
    int64_t mtu = json_object_object_get_ex(net, "MTU", &value)
                      ? json_object_get_int64(value)
                      : 1500;
    struct np_error *error = NULL;

    for (size_t i = 0; !error && i < json_object_array_length(members); i++) {
        const char *member =
            json_object_get_string(json_object_array_get_idx(members, i));
        int64_t limit = dp_dpdk_pif_mtu_limit(records, member);
        if (limit && mtu > limit) {
            error = dp_dpdk_mtu_error(
                "MTU", mtu, limit,
                record_string(json_object_object_get(pifs, member), "device"));
        }
    }
    json_object_put(records);
    return error;
}

/* Returns INVALID_VALUE naming the first DPDK CPU mask of 'config' that is
 * not a hexadecimal number, or the first PMD tuning key with a bad value
 * (dp_dpdk_host_value_valid()), or NULL. */
static struct np_error *
check_masks(struct json_object *config)
{
    static const char *const keys[] = {"dpdk-lcore-mask", "pmd-cpu-mask"};

    if (!json_object_is_type(config, json_type_object)) {
        return NULL;
    }
    json_object_object_foreach (config, key, member) {
        const char *value = json_object_is_type(member, json_type_string)
                                ? json_object_get_string(member)
                                : "";
        if (*value && !dp_dpdk_host_value_valid(key, value)) {
            char *name = xasprintf("other_config:%s", key);
            struct np_error *error =
                np_error_new(ERR_INVALID_VALUE, name, value, NULL);
            free(name);
            return error;
        }
    }

    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *mask = record_string(config, keys[i]);
        const char *digits = mask;
        if (!*mask) {
            continue;
        }
        if (!strncmp(digits, "0x", 2) || !strncmp(digits, "0X", 2)) {
            digits += 2;
        }
        if (!*digits
            || strspn(digits, "0123456789abcdefABCDEF") != strlen(digits)) {
            char *name = xasprintf("other_config:%s", keys[i]);
            struct np_error *error =
                np_error_new(ERR_INVALID_VALUE, name, mask, NULL);
            free(name);
            return error;
        }
    }
    return NULL;
}

/* Returns the dpdk-socket-mem of host other_config 'config', or the
 * default. */
static const char *
socket_mem(struct json_object *config)
{
    const char *text = record_string(config, SOCKET_MEM_KEY);
    return *text ? text : DP_DPDK_SOCKET_MEM;
}

static const char *
record_string(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
}
