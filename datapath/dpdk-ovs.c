/*
 * The DPDK keys of the Open_vSwitch row: written within the fabric's
 * transaction (datapath/ovs.c), only the keys netpool owns (DP_DPDK_KEYS)
 * and only when they differ, so ovs-vswitchd sees no change when nothing
 * changed.
 */
#include "datapath/ovs-idl.h"

#include "datapath/datapath.h"

#include <string.h>
#include <json-c/json.h>

static const char *const owned_keys[] = {DP_DPDK_KEYS};

void
dp_dpdk_apply(struct ovsdb_idl *idl, struct json_object *want)
{
    const struct ovsrec_open_vswitch *root = ovsrec_open_vswitch_first(idl);
    bool changed = false;

    if (!want || !root) {
        return;
    }

    struct smap config;
    smap_clone(&config, &root->other_config);
    for (size_t i = 0; i < sizeof owned_keys / sizeof *owned_keys; i++) {
        const char *key = owned_keys[i];
        const char *have = smap_get(&config, key);
        struct json_object *value = json_object_object_get(want, key);
        if (value) {
            const char *text = json_object_get_string(value);
            if (!have || strcmp(have, text)) {
                smap_replace(&config, key, text);
                changed = true;
            }
        } else if (have) {
            smap_remove(&config, key);
            changed = true;
        }
    }
    if (changed) {
        ovsrec_open_vswitch_set_other_config(root, &config);
    }
    smap_destroy(&config);
}
