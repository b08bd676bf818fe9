/*
 * Interface counters for the exporters: a second OVSDB replica, of the
 * Interface table's name, external_ids, link state, MTU and statistics
 * only.  ovs-vswitchd rewrites the statistics of every interface that
 * passed traffic every few seconds; keeping them here, on a connection of
 * their own, means those updates cost the reconciler nothing, and an idle
 * interface costs nothing at all (OVS sends only values that changed).  A
 * scrape walks the replica's rows directly (dp_ovs_counters_foreach()):
 * nothing is copied or built per scrape.
 */
#include "datapath/ovs-idl.h"

#include "datapath/datapath.h"

#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#define RUN_INTERVAL_MS 100 /* Counters need no lower latency. */

struct dp_ovs_counters {
    struct ovsdb_idl *idl; /* Replica of the Interface counters. */
    struct event *timer;   /* Runs the IDL. */
};

static void run(evutil_socket_t, short, void *counters_);

int
dp_ovs_counters_create(struct event_base *base, const char *remote,
                       struct dp_ovs_counters **countersp)
{
    struct dp_ovs_counters *c = xzalloc(sizeof *c);
    static const struct ovsdb_idl_column *const columns[] = {
        &ovsrec_interface_col_name,       &ovsrec_interface_col_external_ids,
        &ovsrec_interface_col_link_state, &ovsrec_interface_col_mtu,
        &ovsrec_interface_col_statistics,
    };

    c->idl = ovsdb_idl_create(remote, &ovsrec_idl_class, false, true);
    ovsdb_idl_set_leader_only(c->idl, false);
    for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
        ovsdb_idl_add_column(c->idl, columns[i]);
    }
    c->timer = event_new(base, -1, EV_PERSIST, run, c);
    struct timeval tv = {0, RUN_INTERVAL_MS * 1000};
    event_add(c->timer, &tv);
    *countersp = c;
    return 0;
}

void
dp_ovs_counters_destroy(struct dp_ovs_counters *c)
{
    if (!c) {
        return;
    }
    event_free(c->timer);
    ovsdb_idl_destroy(c->idl);
    free(c);
}

void
dp_ovs_counters_foreach(const struct dp_ovs_counters *c,
                        dp_iface_counters_cb *cb, void *aux)
{
    const struct ovsrec_interface *iface;

    if (!c) {
        return;
    }
    OVSREC_INTERFACE_FOR_EACH (iface, c->idl) {
        const char *pif = smap_get(&iface->external_ids, "netpool-pif");
        const char *vif = smap_get(&iface->external_ids, "iface-id");
        struct dp_iface_counters one = {
            .name = iface->name,
            .pif = pif ? pif : "",
            .vif = vif ? vif : "",
            .link_up = iface->link_state && !strcmp(iface->link_state, "up"),
            .mtu = iface->n_mtu ? iface->mtu[0] : 0,
            .stat_names = (const char *const *) iface->key_statistics,
            .stat_values = iface->value_statistics,
            .n_stats = iface->n_statistics,
        };
        cb(aux, &one);
    }
}

void
dp_ovs_counters_add_statistics(const struct dp_ovs_counters *c,
                               struct json_object *observed)
{
    struct json_object *ifaces =
        json_object_object_get(observed, "interfaces");
    const struct ovsrec_interface *iface;

    if (!c || !ifaces) {
        return;
    }
    OVSREC_INTERFACE_FOR_EACH (iface, c->idl) {
        struct json_object *o = json_object_object_get(ifaces, iface->name);
        if (!o) {
            continue;
        }
        struct json_object *stats = json_object_new_object();
        for (size_t i = 0; i < iface->n_statistics; i++) {
            json_object_object_add(
                stats, iface->key_statistics[i],
                json_object_new_int64(iface->value_statistics[i]));
        }
        json_object_object_add(o, "statistics", stats);
    }
}

static void
run(evutil_socket_t fd, short what, void *counters_)
{
    struct dp_ovs_counters *c = counters_;

    ovsdb_idl_run(c->idl);
}
