/*
 * Homogeneity of a pool, pure: for each setting that must agree across
 * members (software version, network backend, datapath, VM backend, the
 * MTU of each pool network's NICs, which pool networks a host has a NIC
 * on), the value most members have, and the hosts that differ with their
 * value.
 */
#include "ha/ha.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/record.h"

static void compare(struct json_object *findings, const char *what,
                    struct json_object *values);
static const char *host_value(struct json_object *host, const char *what);

struct json_object *
ha_homogeneity(struct json_object *hosts, struct json_object *pifs)
{
    static const char *const host_settings[] = {
        "software_version",
        "network_backend",
        "datapath",
        "vm_backend",
    };
    struct json_object *findings = json_object_new_array();

    for (size_t i = 0; i < sizeof host_settings / sizeof *host_settings; i++) {
        struct json_object *values = json_object_new_object();
        json_object_object_foreach (hosts, uuid, host) {
            json_object_object_add(
                values, uuid,
                json_object_new_string(host_value(host, host_settings[i])));
        }
        compare(findings, host_settings[i], values);
        json_object_put(values);
    }

    /* Per pool network: its NICs' MTU on each host, and whether each host
     * has one.  Only untagged physical NICs and bonds: a VLAN's MTU is its
     * network's. */
    struct json_object *networks = json_object_new_object();
    json_object_object_foreach (pifs, pif_uuid, pif) {
        (void) pif_uuid;
        const char *network = record_string(pif, "network");
        const char *host = record_string(pif, "host");
        if (!*network || record_int(pif, "VLAN", -1) >= 0
            || !json_object_object_get_ex(hosts, host, NULL)) {
            continue;
        }
        struct json_object *mtus;
        if (!json_object_object_get_ex(networks, network, &mtus)) {
            mtus = json_object_new_object();
            json_object_object_add(networks, network, mtus);
        }
        char mtu[24];
        snprintf(mtu, sizeof mtu, "%" PRId64, record_int(pif, "MTU", 1500));
        json_object_object_add(mtus, host, json_object_new_string(mtu));
    }
    json_object_object_foreach (networks, network, mtus) {
        char what[96];
        snprintf(what, sizeof what, "MTU of network %s", network);
        compare(findings, what, mtus);

        if (json_object_object_length(mtus) > 1) {
            struct json_object *present = json_object_new_object();
            json_object_object_foreach (hosts, uuid, host) {
                (void) host;
                json_object_object_add(
                    present, uuid,
                    json_object_new_string(
                        json_object_object_get_ex(mtus, uuid, NULL) ? "yes"
                                                                    : "no"));
            }
            snprintf(what, sizeof what, "a NIC on network %s", network);
            compare(findings, what, present);
            json_object_put(present);
        }
    }
    json_object_put(networks);
    return findings;
}

/* Adds to 'findings' one {"what", "host", "value", "pool_value"} per host
 * of 'values' (host UUID → string) whose value is not the most common one
 * (ties go to the value of the lowest host UUID). */
static void
compare(struct json_object *findings, const char *what,
        struct json_object *values)
{
    const char *best = NULL, *best_lowest = NULL;
    size_t best_count = 0;

    json_object_object_foreach (values, host, value) {
        const char *v = json_object_get_string(value);
        const char *lowest = host;
        size_t count = 0;
        json_object_object_foreach (values, other, other_value) {
            if (!strcmp(json_object_get_string(other_value), v)) {
                count++;
                lowest = strcmp(other, lowest) < 0 ? other : lowest;
            }
        }
        if (count > best_count
            || (count == best_count && strcmp(lowest, best_lowest) < 0)) {
            best = v;
            best_lowest = lowest;
            best_count = count;
        }
    }
    if (!best) {
        return;
    }
    json_object_object_foreach (values, h, val) {
        if (strcmp(json_object_get_string(val), best)) {
            struct json_object *f = json_object_new_object();
            json_object_object_add(f, "what", json_object_new_string(what));
            json_object_object_add(f, "host", json_object_new_string(h));
            json_object_object_add(
                f, "value",
                json_object_new_string(json_object_get_string(val)));
            json_object_object_add(f, "pool_value",
                                   json_object_new_string(best));
            json_object_array_add(findings, f);
        }
    }
}

/* Returns a host's value of 'what' as a string ("" if it has none). */
static const char *
host_value(struct json_object *host, const char *what)
{
    struct json_object *value = json_object_object_get(host, what);

    if (json_object_is_type(value, json_type_object)) {
        return record_string(value, "product_version");
    }
    return record_string(host, what);
}
