/*
 * pool.management_reconfigure(network): every member of the pool moves its
 * management role to its PIF on 'network', in one write of the pool.
 *
 * The plan comes first (plan_hosts(), a decision over the store's records):
 * every member has one PIF on the network, not a bond member, with an IP
 * configuration; no member has a management change waiting for its
 * confirmation; HA is off (as xapi, which refuses with HA_IS_ENABLED).
 * Then this host calls every other member at its new address over mutual
 * TLS (the pool's certificates), so that nothing moves unless the new
 * network carries host-to-host traffic between all of them: a member that
 * does not answer refuses the change with
 * MANAGEMENT_ADDRESS_UNREACHABLE(host, address, why).
 *
 * The write, replicated like any other, gives each member's role to its new
 * PIF (the old PIF loses its address, as host.management_reconfigure's
 * does) and sets each member's address and cluster_address to the new IP.
 * Each member's reconciler moves its addresses; each member's pool module
 * rewrites corosync's node list from the store and reloads it, so that
 * knet's link follows.  Unlike a single host's change there is no rollback
 * watcher: the check before the write is the pool's safeguard, and a
 * member cut off afterwards would be outside the quorum, unable to write
 * its own rollback.
 */
#include "mgmt/api-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "ha/ha.h"
#include "lib/error.h"
#include "lib/jsonrpc.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"
#include "mgmt/mgmt.h"
#include "mgmt/store.h"

#define LOG_MODULE "api-pool-management"

/* A member asked at its new address. */
struct member {
    struct reconfigure *r;
    struct peer_call *peer; /* NULL once answered. */
    char *host;
    char *ip;
};

/* A reconfiguration waiting for the members' answers. */
struct reconfigure {
    struct api_call *call;
    struct json_object *plan; /* Host UUID -> {"pif", "IP", "old"}. */
    struct member *members;
    size_t n_members;
    size_t pending;
    struct np_error *error; /* The first member's failure. */
};

static struct np_error *plan_hosts(struct json_object *hosts,
                                   struct json_object *pifs,
                                   struct json_object *pool,
                                   const char *network,
                                   struct json_object **planp);
static void member_answered(void *m_, struct json_object *response,
                            const char *failure, const char *fingerprint);
static void finish(struct reconfigure *);
static void abandoned(void *r_, struct api_call *);
static struct np_error *write_plan(struct api *, struct json_object *plan);
static void free_reconfigure(struct reconfigure *);

/* pool.management_reconfigure(network). */
struct np_error *
api_pool_management_reconfigure(struct api_call *call,
                                struct json_object **result, bool *deferred)
{
    struct api *api = call->api;
    struct store *store = api->store;
    const char *network;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_string(call, 0, "network", &network))) {
        return error;
    }
    if (!store_exists(store, "network", network)) {
        return np_error_new(ERR_HANDLE_INVALID, "network", network, NULL);
    }
    struct json_object *hosts = store_get_all(store, "host");
    struct json_object *pifs = store_get_all(store, "PIF");
    const char *pool_uuid;
    struct json_object *pool = api_the_pool(store, &pool_uuid);
    struct json_object *plan = NULL;
    error = plan_hosts(hosts, pifs, pool, network, &plan);
    json_object_put(pifs);
    json_object_put(pool);
    if (error) {
        json_object_put(hosts);
        return error;
    }

    /* Every other member must answer at its new address. */
    struct reconfigure *r = xzalloc(sizeof *r);
    r->call = call;
    r->plan = plan;
    r->members =
        xzalloc((json_object_object_length(plan) + 1) * sizeof *r->members);
    char *cert = xasprintf("%s/pool-cert.pem", api->state_dir);
    char *key = xasprintf("%s/pool-key.pem", api->state_dir);
    json_object_object_foreach (plan, host, step) {
        if (!strcmp(host, api->host_uuid) || r->error) {
            continue;
        }
        const char *ip = record_string(step, "IP");
        struct json_object *params = json_object_new_array();
        json_object_array_add(params, json_object_new_string(""));
        struct json_object *request =
            jsonrpc_make_request("pool.get_status", params, 1);
        struct member *m = &r->members[r->n_members++];
        m->r = r;
        m->host = xstrdup(host);
        m->ip = xstrdup(ip);
        m->peer = peer_call_start(
            api->base, ip, api->https_port ? api->https_port : 443,
            record_string(json_object_object_get(hosts, host), "certificate"),
            cert, key, request, member_answered, m);
        json_object_put(request);
        if (m->peer) {
            r->pending++;
        } else {
            r->error = np_error_new(ERR_MANAGEMENT_ADDRESS_UNREACHABLE, host,
                                    ip, "cannot connect", NULL);
        }
    }
    free(cert);
    free(key);
    json_object_put(hosts);

    if (!r->pending) {
        error = r->error ? r->error : write_plan(api, r->plan);
        r->error = NULL;
        free_reconfigure(r);
        if (!error) {
            *result = json_object_new_null();
        }
        return error;
    }
    log_info("management to network %s: asking %zu members at their new"
             " addresses",
             network, r->pending);
    call->abandoned = abandoned;
    call->owner = r;
    *deferred = true;
    *result = NULL;
    return NULL;
}

/* Helpers. */

/* Decides what each host of 'hosts' moves to (its PIF on 'network' among
 * 'pifs', and that PIF's IP) or refuses the change with a typed error;
 * 'pool' is the pool's record, or NULL. */
static struct np_error *
plan_hosts(struct json_object *hosts, struct json_object *pifs,
           struct json_object *pool, const char *network,
           struct json_object **planp)
{
    struct json_object *plan = json_object_new_object();
    struct np_error *error = NULL;

    if (pool && record_bool(pool, "ha_enabled")) {
        error = np_error_new(ERR_HA_IS_ENABLED, NULL);
    }
    json_object_object_foreach (hosts, host, host_record) {
        if (error) {
            break;
        }
        struct json_object *pending =
            json_object_object_get(host_record, "management_rollback");
        if (pending && json_object_object_length(pending) > 0) {
            error = np_error_new(ERR_OTHER_OPERATION_IN_PROGRESS, "host", host,
                                 NULL);
            break;
        }
        const char *target = NULL, *old = "";
        json_object_object_foreach (pifs, pif, pif_record) {
            if (strcmp(record_string(pif_record, "host"), host)) {
                continue;
            }
            if (record_bool(pif_record, "management")) {
                old = pif;
            }
            if (!strcmp(record_string(pif_record, "network"), network)) {
                target = pif;
            }
        }
        struct json_object *target_record =
            target ? json_object_object_get(pifs, target) : NULL;
        if (!target) {
            error = np_error_new(ERR_PIF_NOT_PRESENT, host, network, NULL);
        } else if (*record_string(target_record, "bond_slave_of")) {
            error = np_error_new(ERR_PIF_IS_ALREADY_BONDED, target, NULL);
        } else if (!strcmp(
                       record_string(target_record, "ip_configuration_mode"),
                       "None")
                   || !*record_string(target_record, "IP")) {
            error = np_error_new(ERR_PIF_HAS_NO_NETWORK_CONFIGURATION, target,
                                 NULL);
        } else {
            struct json_object *step = json_object_new_object();
            json_object_object_add(step, "pif",
                                   json_object_new_string(target));
            json_object_object_add(
                step, "IP",
                json_object_new_string(record_string(target_record, "IP")));
            json_object_object_add(step, "old", json_object_new_string(old));
            json_object_object_add(plan, host, step);
        }
    }
    if (error) {
        json_object_put(plan);
        return error;
    }
    *planp = plan;
    return NULL;
}

/* A member answered at its new address (or did not). */
static void
member_answered(void *m_, struct json_object *response, const char *failure,
                const char *fingerprint)
{
    struct member *m = m_;
    struct reconfigure *r = m->r;
    struct json_object *error_json = NULL;

    (void) fingerprint;
    m->peer = NULL;
    r->pending--;
    if (!failure && response
        && json_object_object_get_ex(response, "error", &error_json)) {
        failure = "the member refused the pool's certificate or the call";
    } else if (!failure && !response) {
        failure = "no answer";
    }
    if (failure) {
        log_warn("management reconfiguration: %s at %s: %s", m->host, m->ip,
                 failure);
        if (!r->error) {
            r->error = np_error_new(ERR_MANAGEMENT_ADDRESS_UNREACHABLE,
                                    m->host, m->ip, failure, NULL);
        }
    }
    if (!r->pending) {
        finish(r);
    }
}

/* Every member answered: write the plan, or refuse with the first
 * failure. */
static void
finish(struct reconfigure *r)
{
    struct api_call *call = r->call;
    struct np_error *error = r->error;

    r->error = NULL;
    call->abandoned = NULL;
    call->owner = NULL;
    if (!error) {
        error = write_plan(call->api, r->plan);
    }
    free_reconfigure(r);
    api_call_finish(call, error ? NULL : json_object_new_null(), error);
    np_error_destroy(error);
}

/* The client went away: the answers no longer matter. */
static void
abandoned(void *r_, struct api_call *call)
{
    struct reconfigure *r = r_;

    (void) call;
    for (size_t i = 0; i < r->n_members; i++) {
        peer_call_cancel(r->members[i].peer);
    }
    np_error_destroy(r->error);
    r->error = NULL;
    free_reconfigure(r);
}

/* Gives every host of 'plan' its new management PIF and address, in one
 * transaction. */
static struct np_error *
write_plan(struct api *api, struct json_object *plan)
{
    struct store *store = api->store;
    int retval = store_begin(store);

    json_object_object_foreach (plan, host, step) {
        const char *pif = record_string(step, "pif");
        const char *old = record_string(step, "old");
        const char *ip = record_string(step, "IP");
        if (retval || !strcmp(pif, old)) {
            continue; /* Already the management PIF. */
        }
        struct json_object *old_record =
            *old ? store_get(store, "PIF", old) : NULL;
        retval = api_management_move(
            store, host, old_record ? old : NULL,
            old_record ? record_string(old_record, "IP") : "", pif, ip, NULL);
        if (!retval) {
            struct json_object *cluster = json_object_new_object();
            json_object_object_add(cluster, "cluster_address",
                                   json_object_new_string(ip));
            retval = store_update(store, "host", host, cluster);
            json_object_put(cluster);
        }
        json_object_put(old_record);
    }
    if (retval) {
        store_rollback(store);
    } else {
        retval = store_commit(store);
    }
    if (retval) {
        struct np_error *error = api_pool_error(api, retval);
        return error ? error : api_store_error(retval, "host", "");
    }
    log_info("management moved on %d hosts", json_object_object_length(plan));
    return NULL;
}

static void
free_reconfigure(struct reconfigure *r)
{
    for (size_t i = 0; i < r->n_members; i++) {
        free(r->members[i].host);
        free(r->members[i].ip);
    }
    free(r->members);
    json_object_put(r->plan);
    np_error_destroy(r->error);
    free(r);
}
