/*
 * The datapath of a host and the OVS-DPDK settings it implies, computed
 * from the store's records alone.  Pure: the reconciler puts the result
 * into the desired fabric ("open_vswitch": {"other_config": …}) and
 * dp_dpdk_apply() (dpdk-ovs.c) writes it to the Open_vSwitch row.
 */
#include "datapath/datapath.h"

#include <string.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

#define UUID_PREFIX_LENGTH 8 /* Host UUID characters in --file-prefix. */

static const char *record_string(struct json_object *record, const char *name);
static const char *config_value(struct json_object *other_config,
                                const char *key, const char *dflt);

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
    return want;
}

/* Helpers. */

static const char *
record_string(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
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
