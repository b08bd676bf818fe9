/*
 * Flow export rows in OVS: sFlow, IPFIX and NetFlow of netpool's bridges.
 * They are non-root tables, so a row no bridge points to any more is
 * removed by ovsdb-server itself; netpool only sets or clears the
 * bridge's reference and writes the columns that differ.
 */
#include "datapath/ovs-idl.h"

#include "datapath/ovs-flow.h"

#include <string.h>
#include <json-c/json.h>

static bool owned(const struct smap *external_ids);
static bool smap_same(const struct smap *, struct json_object *);
static void smap_fill(struct smap *, struct json_object *);
static bool strings_same(char **have, size_t n, struct json_object *want);
static const char **strings_of(struct json_object *array, size_t *n);
static bool optional_int(struct json_object *want, const char *key,
                         int64_t *value);
static bool optional_same(const int64_t *have, size_t n, bool present,
                          int64_t value);
static void apply_sflow(const struct ovsrec_bridge *,
                        struct json_object *want);
static void apply_ipfix(const struct ovsrec_bridge *,
                        struct json_object *want);
static void apply_netflow(const struct ovsrec_bridge *,
                          struct json_object *want);

void
dp_ovs_apply_flow_exports(const struct ovsrec_bridge *br,
                          struct json_object *want)
{
    apply_sflow(br, json_object_object_get(want, "sflow"));
    apply_ipfix(br, json_object_object_get(want, "ipfix"));
    apply_netflow(br, json_object_object_get(want, "netflow"));
}

/* Writes optional integer column COL of ROW from WANT when it differs. */
#define SET_OPTIONAL(TABLE, ROW, WANT, COL)                                 \
    do {                                                                    \
        int64_t value_;                                                     \
        bool present_ = optional_int(WANT, #COL, &value_);                  \
        if (!optional_same((ROW)->COL, (ROW)->n_##COL, present_, value_)) { \
            ovsrec_##TABLE##_set_##COL(ROW, present_ ? &value_ : NULL,      \
                                       present_);                           \
        }                                                                   \
    } while (0)

/* Writes the targets and external_ids of ROW from WANT when they
 * differ. */
#define SET_COMMON(TABLE, ROW, WANT)                                     \
    do {                                                                 \
        struct json_object *targets_ =                                   \
            json_object_object_get(WANT, "targets");                     \
        if (!strings_same((ROW)->targets, (ROW)->n_targets, targets_)) { \
            size_t n_;                                                   \
            const char **t_ = strings_of(targets_, &n_);                 \
            ovsrec_##TABLE##_set_targets(ROW, t_, n_);                   \
            free(t_);                                                    \
        }                                                                \
        struct json_object *ids_ =                                       \
            json_object_object_get(WANT, "external_ids");                \
        if (!smap_same(&(ROW)->external_ids, ids_)) {                    \
            struct smap map_;                                            \
            smap_fill(&map_, ids_);                                      \
            ovsrec_##TABLE##_set_external_ids(ROW, &map_);               \
            smap_destroy(&map_);                                         \
        }                                                                \
    } while (0)

static void
apply_sflow(const struct ovsrec_bridge *br, struct json_object *want)
{
    const struct ovsrec_sflow *row = br->sflow;
    bool ours = row && owned(&row->external_ids);

    if (!want) {
        if (ours) {
            ovsrec_bridge_set_sflow(br, NULL);
        }
        return;
    }
    if (!ours) {
        row = ovsrec_sflow_insert(ovsdb_idl_txn_get(&br->header_));
        ovsrec_bridge_set_sflow(br, row);
    }
    SET_COMMON(sflow, row, want);
    SET_OPTIONAL(sflow, row, want, sampling);
    SET_OPTIONAL(sflow, row, want, polling);
    SET_OPTIONAL(sflow, row, want, header);
    struct json_object *agent = json_object_object_get(want, "agent");
    const char *a = agent ? json_object_get_string(agent) : NULL;
    if ((a == NULL) != (row->agent == NULL) || (a && strcmp(a, row->agent))) {
        ovsrec_sflow_set_agent(row, a);
    }
}

static void
apply_ipfix(const struct ovsrec_bridge *br, struct json_object *want)
{
    const struct ovsrec_ipfix *row = br->ipfix;
    bool ours = row && owned(&row->external_ids);

    if (!want) {
        if (ours) {
            ovsrec_bridge_set_ipfix(br, NULL);
        }
        return;
    }
    if (!ours) {
        row = ovsrec_ipfix_insert(ovsdb_idl_txn_get(&br->header_));
        ovsrec_bridge_set_ipfix(br, row);
    }
    SET_COMMON(ipfix, row, want);
    SET_OPTIONAL(ipfix, row, want, sampling);
    SET_OPTIONAL(ipfix, row, want, obs_domain_id);
    SET_OPTIONAL(ipfix, row, want, obs_point_id);
    SET_OPTIONAL(ipfix, row, want, cache_active_timeout);
    SET_OPTIONAL(ipfix, row, want, cache_max_flows);
}

static void
apply_netflow(const struct ovsrec_bridge *br, struct json_object *want)
{
    const struct ovsrec_netflow *row = br->netflow;
    bool ours = row && owned(&row->external_ids);

    if (!want) {
        if (ours) {
            ovsrec_bridge_set_netflow(br, NULL);
        }
        return;
    }
    if (!ours) {
        row = ovsrec_netflow_insert(ovsdb_idl_txn_get(&br->header_));
        ovsrec_bridge_set_netflow(br, row);
    }
    SET_COMMON(netflow, row, want);
    SET_OPTIONAL(netflow, row, want, engine_type);
    SET_OPTIONAL(netflow, row, want, engine_id);
    int64_t timeout = 0;
    optional_int(want, "active_timeout", &timeout);
    if (row->active_timeout != timeout) {
        ovsrec_netflow_set_active_timeout(row, timeout);
    }
}

/* Helpers. */

static bool
owned(const struct smap *external_ids)
{
    struct smap_node *node;

    SMAP_FOR_EACH (node, external_ids) {
        if (!strncmp(node->key, "netpool-", 8)) {
            return true;
        }
    }
    return false;
}

static bool
smap_same(const struct smap *map, struct json_object *obj)
{
    if (!obj) {
        return smap_is_empty(map);
    }
    if (smap_count(map) != (size_t) json_object_object_length(obj)) {
        return false;
    }
    json_object_object_foreach (obj, key, value) {
        const char *have = smap_get(map, key);
        if (!have || strcmp(have, json_object_get_string(value))) {
            return false;
        }
    }
    return true;
}

static void
smap_fill(struct smap *map, struct json_object *obj)
{
    smap_init(map);
    if (!obj) {
        return;
    }
    json_object_object_foreach (obj, key, value) {
        smap_add(map, key, json_object_get_string(value));
    }
}

/* True if the string set 'have' holds exactly the strings of 'want' (a
 * JSON array without duplicates). */
static bool
strings_same(char **have, size_t n, struct json_object *want)
{
    size_t n_want = want ? json_object_array_length(want) : 0;

    if (n != n_want) {
        return false;
    }
    for (size_t i = 0; i < n_want; i++) {
        const char *w =
            json_object_get_string(json_object_array_get_idx(want, i));
        bool found = false;
        for (size_t j = 0; j < n && !found; j++) {
            found = !strcmp(have[j], w);
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

/* Returns a new array (free() it, not its strings) of the strings in JSON
 * array 'array', and their number in '*n'. */
static const char **
strings_of(struct json_object *array, size_t *n)
{
    *n = array ? json_object_array_length(array) : 0;
    const char **strings = xmalloc(sizeof *strings * (*n ? *n : 1));
    for (size_t i = 0; i < *n; i++) {
        strings[i] =
            json_object_get_string(json_object_array_get_idx(array, i));
    }
    return strings;
}

static bool
optional_int(struct json_object *want, const char *key, int64_t *value)
{
    struct json_object *v;

    if (json_object_object_get_ex(want, key, &v)
        && json_object_is_type(v, json_type_int)) {
        *value = json_object_get_int64(v);
        return true;
    }
    *value = 0;
    return false;
}

static bool
optional_same(const int64_t *have, size_t n, bool present, int64_t value)
{
    return present ? n == 1 && have[0] == value : n == 0;
}
