/*
 * The pool's verbs: pool.join (on the joining host), pool.admit (what the
 * joiner asks of the pool), pool.eject, pool.designate_new_master,
 * pool.emergency_transition_to_master, pool.recover_slaves and
 * pool.get_status.  The pre-checks follow xapi's order, each a typed error
 * that changes nothing on either side; the writes go through the store
 * like any other, so they are replicated; membership itself is ha/'s.
 */
#include "mgmt/api-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/rand.h>

#include "ha/ha.h"
#include "lib/error.h"
#include "lib/jsonrpc.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "pool"

#define JOIN_SYNC_TIMEOUT_MS 60000
#define TRANSITION_TIMEOUT_MS 15000

static api_method pool_join, pool_admit, pool_eject, pool_designate,
    pool_emergency_transition, pool_recover_slaves, pool_get_status,
    pool_request_membership, pool_emergency_reset_master, pool_get_homogeneity;

/* A pool.join in progress on the joining host. */
struct join {
    struct api_call *call;     /* Answered at the end. */
    struct json_object *facts; /* What the joiner tells the pool. */
    char *address;             /* The pool member asked. */
    int port;                  /* Its HTTPS port. */
    bool force;                /* Skip the homogeneity checks. */
    char *session;             /* Our session there. */
    struct peer_call *peer;    /* The call in flight. */
    struct event *poll;        /* Waits for the first sync. */
    long long deadline;        /* Of the wait, monotonic ms. */
};

static struct json_object *joiner_facts(struct api *);
static struct np_error *check_joiner(struct json_object *facts);
static struct np_error *check_admission(struct api *,
                                        struct json_object *facts, bool force);
static struct np_error *admit(struct api_call *, struct json_object *facts,
                              struct json_object **membership);
static void join_logged_in(void *join_, struct json_object *response,
                           const char *failure, const char *fingerprint);
static void join_admitted(void *join_, struct json_object *response,
                          const char *failure, const char *fingerprint);
static void join_poll(evutil_socket_t, short, void *join_);
static void join_wait_sync(struct join *);
static void join_finish(struct join *, struct np_error *);
static void join_abandoned(void *join_, struct api_call *);
static peer_reply_cb logged_out;
static int save_pool_certificate(struct api *, struct json_object *membership);
static struct np_error *remote_error(struct json_object *response,
                                     const char *failure, const char *address,
                                     struct json_object **result);
static struct json_object *membership_base(struct store *,
                                           const char *pool_uuid,
                                           struct json_object *pool);
static struct json_object *hosts_in_configuration(struct api *);
static long long now_ms(void);

api_method *
api_pool_method(const char *name)
{
    static const struct {
        const char *name;
        api_method *fn;
    } methods[] = {
        {"pool.join", pool_join},
        {"pool.admit", pool_admit},
        {"pool.eject", pool_eject},
        {"pool.designate_new_master", pool_designate},
        {"pool.emergency_transition_to_master", pool_emergency_transition},
        {"pool.recover_slaves", pool_recover_slaves},
        {"pool.get_status", pool_get_status},
        {"pool.request_membership", pool_request_membership},
        {"pool.emergency_reset_master", pool_emergency_reset_master},
        {"pool.get_homogeneity", pool_get_homogeneity},
    };
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (!strcmp(name, methods[i].name)) {
            return methods[i].fn;
        }
    }
    return NULL;
}

struct np_error *
api_pool_error(struct api *api, int error)
{
    struct ha_status s;

    if (error == EROFS) {
        char members[24], needed[24];
        ha_pool_status(api->pool, &s);
        snprintf(members, sizeof members, "%zu", s.members);
        snprintf(needed, sizeof needed, "%zu", s.quorum);
        return np_error_new(ERR_POOL_NOT_QUORATE, api->host_uuid, members,
                            needed, NULL);
    } else if (error == EBUSY) {
        return np_error_new(ERR_POOL_WRITE_CONFLICT, NULL);
    } else if (error == ETIMEDOUT) {
        return np_error_new(ERR_POOL_WRITE_TIMEOUT, NULL);
    }
    return NULL;
}

/* Verbs. */

/* pool.join(master_address, master_username, master_password, force):
 * on the joining host.  Checks this host, asks a member of the pool to
 * admit it, enters the pool and answers once the first sync has given it
 * the pool's state. */
static struct np_error *
pool_join(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api *api = call->api;
    const char *address, *user, *password;
    struct json_object *force_json = json_object_array_get_idx(call->args, 3);
    struct np_error *error;

    if ((error = api_arg_string(call, 0, "master_address", &address))
        || (error = api_arg_string(call, 1, "master_username", &user))
        || (error = api_arg_string(call, 2, "master_password", &password))) {
        return error;
    }
    if (force_json && !json_object_is_type(force_json, json_type_boolean)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, "force", NULL);
    }
    if (!*address) {
        return np_error_new(ERR_INVALID_VALUE, "master_address", "", NULL);
    }

    struct json_object *facts = joiner_facts(api);
    error = check_joiner(facts);
    if (error) {
        json_object_put(facts);
        return error;
    }

    struct join *join = xzalloc(sizeof *join);
    join->call = call;
    join->facts = facts;
    join->force = force_json && json_object_get_boolean(force_json);
    join->port = api->https_port ? api->https_port : 443;
    const char *colon = strrchr(address, ':');
    if (colon && !strchr(colon + 1, ']') && strchr(address, ':') == colon) {
        join->address = xasprintf("%.*s", (int) (colon - address), address);
        join->port = atoi(colon + 1);
    } else {
        join->address = xstrdup(address);
    }

    struct json_object *params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(user));
    json_object_array_add(params, json_object_new_string(password));
    struct json_object *request =
        jsonrpc_make_request("session.login_with_password", params, 1);
    join->peer = peer_call_start(api->base, join->address, join->port, NULL,
                                 NULL, NULL, request, join_logged_in, join);
    json_object_put(request);
    if (!join->peer) {
        error = np_error_new(ERR_POOL_JOINING_HOST_CONNECTION_FAILED,
                             join->address, "cannot connect", NULL);
        json_object_put(join->facts);
        free(join->address);
        free(join);
        return error;
    }
    log_info("asking %s:%d to admit this host", join->address, join->port);
    call->abandoned = join_abandoned;
    call->owner = join;
    *deferred = true;
    *result = NULL;
    return NULL;
}

/* pool.admit(facts, force): asked of a quorate member by a host that
 * joins.  Runs the pre-checks, writes the joiner into the pool and
 * answers with its membership. */
static struct np_error *
pool_admit(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api *api = call->api;
    struct json_object *facts;
    struct json_object *force_json = json_object_array_get_idx(call->args, 1);
    struct np_error *error;

    if ((error = api_arg_object(call, 0, "facts", &facts))) {
        return error;
    }
    bool force = json_object_is_type(force_json, json_type_boolean)
                 && json_object_get_boolean(force_json);
    if ((error = check_joiner(facts))
        || (error = check_admission(api, facts, force))) {
        return error;
    }
    return admit(call, facts, result);
}

/* pool.eject(host): the host leaves the pool; its records go, and it
 * starts again as a standalone host. */
static struct np_error *
pool_eject(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api *api = call->api;
    struct store *store = api->store;
    const char *host;
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "host", "host", &host, &record))) {
        return error;
    }
    json_object_put(record);
    const char *pool_uuid;
    struct json_object *pool = api_the_pool(store, &pool_uuid);
    bool master = pool && !strcmp(record_string(pool, "master"), host);
    json_object_put(pool);
    if (master) {
        return np_error_new(ERR_CANNOT_EJECT_MASTER, host, NULL);
    }
    struct json_object *vms = store_get_owned(store, "VM", host, false);
    json_object_object_foreach (vms, vm, vm_record) {
        if (strcmp(record_string(vm_record, "power_state"), "Halted")) {
            error = np_error_new(ERR_HOST_HAS_RESIDENT_VMS, host, vm, NULL);
            break;
        }
    }
    json_object_put(vms);
    if (error) {
        return error;
    }

    /* Everything the host owns goes with it, in one transaction. */
    static const char *const classes[] = {"VLAN", "bond", "PIF", "VM"};
    int retval = store_begin(store);
    for (size_t i = 0; !retval && i < sizeof classes / sizeof *classes; i++) {
        struct json_object *owned =
            store_get_owned(store, classes[i], host, false);
        json_object_object_foreach (owned, uuid, r) {
            (void) r;
            if (!strcmp(classes[i], "VM")) {
                /* A halted VM stays in the pool, resident nowhere. */
                struct json_object *changes = json_object_new_object();
                json_object_object_add(changes, "resident_on",
                                       json_object_new_string(""));
                retval = store_update(store, "VM", uuid, changes);
                json_object_put(changes);
            } else {
                retval = store_delete(store, classes[i], uuid);
            }
            if (retval) {
                break;
            }
        }
        json_object_put(owned);
    }
    if (!retval) {
        retval = store_delete(store, "host", host);
    }
    if (retval) {
        store_rollback(store);
        error = api_pool_error(api, retval);
        return error ? error : api_store_error(retval, "host", host);
    }
    retval = store_commit(store);
    if (retval) {
        error = api_pool_error(api, retval);
        return error ? error : api_store_error(retval, "host", host);
    }
    log_info("host %s ejected from the pool", host);
    *result = NULL;
    return NULL;
}

/* pool.designate_new_master(host): a planned change of master, ordered
 * after every write made before it. */
static struct np_error *
pool_designate(struct api_call *call, struct json_object **result,
               bool *deferred)
{
    struct api *api = call->api;
    const char *host;
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_ref(call, 0, "host", "host", &host, &record))) {
        return error;
    }
    json_object_put(record);
    struct json_object *members = hosts_in_configuration(api);
    bool present = json_object_object_get_ex(members, host, NULL);
    json_object_put(members);
    if (!present) {
        return np_error_new(ERR_HOST_OFFLINE, host, NULL);
    }
    const char *pool_uuid;
    struct json_object *pool = api_the_pool(api->store, &pool_uuid);
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "master", json_object_new_string(host));
    int retval =
        pool ? store_update(api->store, "pool", pool_uuid, changes) : ENOENT;
    json_object_put(changes);
    json_object_put(pool);
    if (retval) {
        error = api_pool_error(api, retval);
        return error ? error : api_store_error(retval, "pool", "");
    }
    log_info("host %s designated master", host);
    *result = NULL;
    return NULL;
}

/* A pool.emergency_transition_to_master waiting for its partition to
 * become quorate. */
struct transition {
    struct api_call *call; /* Answered at the end. */
    struct event *poll;    /* Checks again. */
    long long deadline;    /* Gives up, monotonic ms. */
};

static void transition_poll(evutil_socket_t, short, void *transition_);
static void transition_abandoned(void *transition_, struct api_call *);

/* pool.emergency_transition_to_master(): on a host whose partition has no
 * quorum, when the operator knows the rest of the pool is gone. */
static struct np_error *
pool_emergency_transition(struct api_call *call, struct json_object **result,
                          bool *deferred)
{
    struct api *api = call->api;
    struct ha_status s;
    struct np_error *error;

    if ((error = api_expect_args(call, 0))) {
        return error;
    }
    ha_pool_status(api->pool, &s);
    if (!s.in_pool) {
        return np_error_new(ERR_POOL_HOST_IS_STANDALONE, api->host_uuid, NULL);
    }
    if (s.quorate) {
        return np_error_new(ERR_POOL_PARTITION_IS_QUORATE, api->host_uuid,
                            NULL);
    }
    int retval = ha_pool_emergency_master(api->pool);
    if (retval && retval != EALREADY) {
        return np_error_newf(ERR_INTERNAL_ERROR, "corosync", "%s",
                             strerror(retval));
    }
    struct transition *t = xzalloc(sizeof *t);
    t->call = call;
    t->deadline = now_ms() + TRANSITION_TIMEOUT_MS;
    t->poll = event_new(api->base, -1, EV_PERSIST, transition_poll, t);
    struct timeval tv = {0, 100 * 1000};
    event_add(t->poll, &tv);
    call->abandoned = transition_abandoned;
    call->owner = t;
    *deferred = true;
    return NULL;
}

/* pool.recover_slaves(): gives the pool back the votes of every host, and
 * answers with the hosts now in this configuration. */
static struct np_error *
pool_recover_slaves(struct api_call *call, struct json_object **result,
                    bool *deferred)
{
    struct api *api = call->api;
    struct np_error *error;

    if ((error = api_expect_args(call, 0))) {
        return error;
    }
    int retval = ha_pool_recover(api->pool);
    if (retval == ENOTCONN) {
        return np_error_new(ERR_POOL_HOST_IS_STANDALONE, api->host_uuid, NULL);
    } else if (retval) {
        return np_error_newf(ERR_INTERNAL_ERROR, "corosync", "%s",
                             strerror(retval));
    }
    struct json_object *members = hosts_in_configuration(api);
    *result = json_object_new_array();
    json_object_object_foreach (members, host, value) {
        (void) value;
        json_object_array_add(*result, json_object_new_string(host));
    }
    json_object_put(members);
    return NULL;
}

/* pool.get_status(): this host's view of its pool. */
static struct np_error *
pool_get_status(struct api_call *call, struct json_object **result,
                bool *deferred)
{
    struct ha_status s;

    ha_pool_status(call->api->pool, &s);
    *result = json_object_new_object();
#define ADD_BOOL(NAME) \
    json_object_object_add(*result, #NAME, json_object_new_boolean(s.NAME))
#define ADD_INT(NAME)                      \
    json_object_object_add(*result, #NAME, \
                           json_object_new_int64((int64_t) s.NAME))
    ADD_BOOL(in_pool);
    ADD_BOOL(running);
    ADD_BOOL(quorate);
    ADD_BOOL(synced);
    ADD_BOOL(master);
    ADD_INT(node);
    ADD_INT(members);
    ADD_INT(expected);
    ADD_INT(quorum);
    ADD_INT(committed);
    ADD_INT(applied);
    ADD_INT(epoch);
#undef ADD_BOOL
#undef ADD_INT
    json_object_object_add(*result, "host",
                           json_object_new_string(call->api->host_uuid));
    json_object_object_add(*result, "hosts",
                           hosts_in_configuration(call->api));
    return NULL;
}

/* pool.get_homogeneity(): what differs across the pool's hosts (see
 * ha_homogeneity()): an array of {what, host, value, pool_value}. */
static struct np_error *
pool_get_homogeneity(struct api_call *call, struct json_object **result,
                     bool *deferred)
{
    struct np_error *error;

    if ((error = api_expect_args(call, 0))) {
        return error;
    }
    struct json_object *hosts = store_get_all(call->api->store, "host");
    struct json_object *pifs = store_get_all(call->api->store, "PIF");
    *result = ha_homogeneity(hosts, pifs);
    json_object_put(hosts);
    json_object_put(pifs);
    return NULL;
}

/* pool.request_membership(): asked by a member over mutual TLS (its
 * pool certificate names it): the pool's membership as this host knows
 * it, for that member to enter afresh. */
static struct np_error *
pool_request_membership(struct api_call *call, struct json_object **result,
                        bool *deferred)
{
    struct api *api = call->api;
    struct ha_status s;
    struct np_error *error;

    if ((error = api_expect_args(call, 0))) {
        return error;
    }
    if (!*call->peer) {
        return np_error_new(ERR_PERMISSION_DENIED, "pool.request_membership",
                            "a pool member's certificate", NULL);
    }
    ha_pool_status(api->pool, &s);
    if (!s.in_pool) {
        return np_error_new(ERR_POOL_HOST_IS_STANDALONE, api->host_uuid, NULL);
    }
    if (!s.quorate || !s.synced) {
        char members[24], needed[24];
        snprintf(members, sizeof members, "%zu", s.members);
        snprintf(needed, sizeof needed, "%zu", s.quorum);
        return np_error_new(ERR_POOL_NOT_QUORATE, api->host_uuid, members,
                            needed, NULL);
    }
    const char *pool_uuid;
    struct json_object *pool = api_the_pool(api->store, &pool_uuid);
    struct json_object *host = store_get(api->store, "host", call->peer);
    if (!pool || !host) {
        json_object_put(pool);
        json_object_put(host);
        return np_error_new(ERR_HANDLE_INVALID, "host", call->peer, NULL);
    }
    struct json_object *m = membership_base(api->store, pool_uuid, pool);
    json_object_object_add(
        m, "node",
        json_object_new_int64(record_int(host, "cluster_node_id", 0)));
    json_object_object_add(m, "fresh", json_object_new_boolean(true));
    json_object_put(host);
    json_object_put(pool);
    *result = m;
    return NULL;
}

static void reset_answered(void *join_, struct json_object *response,
                           const char *failure, const char *fingerprint);

/* pool.emergency_reset_master(master_address): on a member whose view of
 * the pool went wrong (it was left out while the pool changed), asks the
 * member at 'master_address' for the pool's membership over mutual TLS
 * (this host presents its pool certificate; that member must present the
 * certificate the pool recorded for it), then enters the pool afresh: its
 * corosync restarts with that membership and its store is replaced by
 * the pool's.  Answers once it has synced. */
static struct np_error *
pool_emergency_reset_master(struct api_call *call, struct json_object **result,
                            bool *deferred)
{
    struct api *api = call->api;
    const char *address;
    struct ha_status s;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_string(call, 0, "master_address", &address))) {
        return error;
    }
    ha_pool_status(api->pool, &s);
    if (!s.in_pool) {
        return np_error_new(ERR_POOL_HOST_IS_STANDALONE, api->host_uuid, NULL);
    }

    /* The member at that address, as this host's replica knows it. */
    struct json_object *hosts = store_get_all(api->store, "host");
    struct json_object *target = NULL;
    json_object_object_foreach (hosts, uuid, host) {
        if (strcmp(uuid, api->host_uuid)
            && (!strcmp(record_string(host, "cluster_address"), address)
                || !strcmp(record_string(host, "address"), address))) {
            target = host;
        }
    }
    if (!target || !*record_string(target, "certificate")) {
        json_object_put(hosts);
        return np_error_new(ERR_INVALID_VALUE, "master_address", address,
                            NULL);
    }
    char *cert = xasprintf("%s/pool-cert.pem", api->state_dir);
    char *key = xasprintf("%s/pool-key.pem", api->state_dir);
    struct json_object *params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(""));
    struct json_object *request =
        jsonrpc_make_request("pool.request_membership", params, 1);
    struct join *join = xzalloc(sizeof *join);
    join->call = call;
    join->address = xstrdup(address);
    join->port = api->https_port ? api->https_port : 443;
    join->peer = peer_call_start(api->base, join->address, join->port,
                                 record_string(target, "certificate"), cert,
                                 key, request, reset_answered, join);
    json_object_put(request);
    json_object_put(hosts);
    free(cert);
    free(key);
    if (!join->peer) {
        free(join->address);
        free(join);
        return np_error_new(ERR_POOL_JOINING_HOST_CONNECTION_FAILED, address,
                            "cannot connect with this host's pool"
                            " certificate",
                            NULL);
    }
    log_warn("emergency: asking %s for the pool's membership", address);
    call->abandoned = join_abandoned;
    call->owner = join;
    *deferred = true;
    *result = NULL;
    return NULL;
}

/* The membership came back (or not): enter the pool afresh with it. */
static void
reset_answered(void *join_, struct json_object *response, const char *failure,
               const char *fingerprint)
{
    struct join *join = join_;
    struct json_object *membership = NULL;
    struct ha_pool *pool = join->call->api->pool;

    join->peer = NULL;
    struct np_error *error =
        remote_error(response, failure, join->address, &membership);
    if (error) {
        join_finish(join, error);
        return;
    }
    int retval = ha_pool_leave(pool);
    if (!retval) {
        retval = ha_pool_enter(pool, membership);
    }
    json_object_put(membership);
    if (retval) {
        join_finish(join, np_error_newf(ERR_INTERNAL_ERROR, "corosync", "%s",
                                        strerror(retval)));
        return;
    }
    log_warn("emergency: entered the pool afresh as %s told it",
             join->address);
    join_wait_sync(join);
}

/* Joining: the joiner's side. */

/* Returns what this host tells the pool it joins: its host record, its
 * PIFs and networks, its halted VMs with their VIFs, disks and SRs, and
 * the counts the pre-checks need. */
static struct json_object *
joiner_facts(struct api *api)
{
    struct store *store = api->store;
    struct json_object *facts = json_object_new_object();
    struct json_object *host = store_get(store, "host", api->host_uuid);
    struct ha_status s;

    ha_pool_status(api->pool, &s);
    json_object_object_add(facts, "host", host);
    json_object_object_add(facts, "in_pool",
                           json_object_new_boolean(s.in_pool));
    json_object_object_add(
        facts, "pifs", store_get_owned(store, "PIF", api->host_uuid, false));
    static const char *const classes[] = {"network", "VM",  "VIF",
                                          "VBD",     "VDI", "SR"};
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        json_object_object_add(facts, classes[i],
                               store_get_all(store, classes[i]));
    }

    int64_t bonds = 0, vlans = 0, running = 0;
    struct json_object *all = store_get_all(store, "bond");
    bonds = json_object_object_length(all);
    json_object_put(all);
    all = store_get_all(store, "VLAN");
    struct json_object *pifs = json_object_object_get(facts, "pifs");
    json_object_object_foreach (all, vlan, record) {
        (void) vlan;
        struct json_object *untagged = json_object_object_get(
            pifs, record_string(record, "untagged_PIF"));
        if (!record_bool(untagged, "management")) {
            vlans++;
        }
    }
    json_object_put(all);
    json_object_object_foreach (json_object_object_get(facts, "VM"), vm,
                                vm_record) {
        (void) vm;
        if (strcmp(record_string(vm_record, "power_state"), "Halted")) {
            running++;
        }
    }
    const char *mode = "None";
    const char *address = "";
    json_object_object_foreach (pifs, pif, pif_record) {
        (void) pif;
        if (record_bool(pif_record, "management")) {
            mode = record_string(pif_record, "ip_configuration_mode");
            address = record_string(pif_record, "IP");
        }
    }
    json_object_object_add(facts, "bonds", json_object_new_int64(bonds));
    json_object_object_add(facts, "non_management_vlans",
                           json_object_new_int64(vlans));
    json_object_object_add(facts, "running_vms",
                           json_object_new_int64(running));
    json_object_object_add(facts, "management_mode",
                           json_object_new_string(mode));
    json_object_object_add(
        facts, "address",
        json_object_new_string(*address ? address
                                        : record_string(host, "address")));
    char *path = xasprintf("%s/host-cert.pem", api->state_dir);
    char *certificate = cert_read_file(path);
    json_object_object_add(
        facts, "certificate",
        json_object_new_string(certificate ? certificate : ""));
    free(certificate);
    free(path);
    return facts;
}

/* The checks of a joiner's own facts, in xapi's order; the joiner runs
 * them before it asks, the pool again when asked. */
static struct np_error *
check_joiner(struct json_object *facts)
{
    struct json_object *host = json_object_object_get(facts, "host");
    const char *uuid = record_string(host, "uuid");
    char count[24];

    if (record_bool(facts, "in_pool")) {
        return np_error_new(ERR_JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS,
                            uuid, NULL);
    }
    int64_t running =
        json_object_get_int64(json_object_object_get(facts, "running_vms"));
    if (running) {
        snprintf(count, sizeof count, "%" PRId64, running);
        return np_error_new(ERR_POOL_JOINING_HOST_CANNOT_HAVE_RUNNING_VMS,
                            uuid, count, NULL);
    }
    int64_t bonds =
        json_object_get_int64(json_object_object_get(facts, "bonds"));
    if (bonds) {
        snprintf(count, sizeof count, "%" PRId64, bonds);
        return np_error_new(ERR_POOL_JOINING_HOST_HAS_BONDS, uuid, count,
                            NULL);
    }
    int64_t vlans = json_object_get_int64(
        json_object_object_get(facts, "non_management_vlans"));
    if (vlans) {
        snprintf(count, sizeof count, "%" PRId64, vlans);
        return np_error_new(ERR_POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS,
                            uuid, count, NULL);
    }
    const char *mode = record_string(facts, "management_mode");
    if (strcmp(mode, "Static") || !*record_string(facts, "address")) {
        return np_error_new(ERR_POOL_JOINING_HOST_MANAGEMENT_NOT_STATIC, uuid,
                            mode, NULL);
    }
    return NULL;
}

static void
join_logged_in(void *join_, struct json_object *response, const char *failure,
               const char *fingerprint)
{
    struct join *join = join_;
    struct json_object *session = NULL;

    join->peer = NULL;
    struct np_error *error =
        remote_error(response, failure, join->address, &session);
    if (error) {
        join_finish(join, error);
        return;
    }
    log_info("logged in to %s (certificate SHA-256 %s)", join->address,
             fingerprint);
    join->session = xstrdup(json_object_get_string(session));
    json_object_put(session);

    struct json_object *params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(join->session));
    json_object_array_add(params, json_object_get(join->facts));
    json_object_array_add(params, json_object_new_boolean(join->force));
    struct json_object *request =
        jsonrpc_make_request("pool.admit", params, 2);
    join->peer =
        peer_call_start(join->call->api->base, join->address, join->port, NULL,
                        NULL, NULL, request, join_admitted, join);
    json_object_put(request);
    if (!join->peer) {
        join_finish(join, np_error_new(ERR_POOL_JOINING_HOST_CONNECTION_FAILED,
                                       join->address, "cannot connect", NULL));
    }
}

static void
join_admitted(void *join_, struct json_object *response, const char *failure,
              const char *fingerprint)
{
    struct join *join = join_;
    struct json_object *membership = NULL;

    join->peer = NULL;
    struct np_error *error =
        remote_error(response, failure, join->address, &membership);
    if (error) {
        join_finish(join, error);
        return;
    }
    int retval = save_pool_certificate(join->call->api, membership);
    if (!retval) {
        retval = ha_pool_enter(join->call->api->pool, membership);
    }
    json_object_put(membership);
    if (retval) {
        join_finish(join, np_error_newf(ERR_INTERNAL_ERROR, "corosync", "%s",
                                        strerror(retval)));
        return;
    }
    log_info("admitted to the pool by %s; waiting for the first sync",
             join->address);
    join_wait_sync(join);
}

/* This host entered the pool: the join answers once its first sync is
 * done (join_poll()). */
static void
join_wait_sync(struct join *join)
{
    join->deadline = now_ms() + JOIN_SYNC_TIMEOUT_MS;
    join->poll =
        event_new(join->call->api->base, -1, EV_PERSIST, join_poll, join);
    struct timeval tv = {0, 100 * 1000};
    event_add(join->poll, &tv);
}

static void
join_poll(evutil_socket_t fd, short what, void *join_)
{
    struct join *join = join_;
    struct ha_status s;

    ha_pool_status(join->call->api->pool, &s);
    if (s.in_pool && s.synced && s.applied > 0) {
        log_info("joined the pool at sequence %" PRIu64, s.applied);
        join_finish(join, NULL);
    } else if (now_ms() > join->deadline) {
        join_finish(join, np_error_new(ERR_POOL_JOIN_SYNC_TIMEOUT,
                                       join->address, NULL));
    }
}

static void
join_finish(struct join *join, struct np_error *error)
{
    struct api_call *call = join->call;

    call->abandoned = NULL;
    call->owner = NULL;
    join_abandoned(join, call);
    api_call_finish(call, NULL, error);
    np_error_destroy(error);
}

/* Frees the join (the client went away, or it finished). */
static void
join_abandoned(void *join_, struct api_call *call)
{
    struct join *join = join_;

    peer_call_cancel(join->peer);
    if (join->poll) {
        event_free(join->poll);
    }
    if (join->session) {
        /* The member keeps no session of a join that is over. */
        struct json_object *params = json_object_new_array();
        json_object_array_add(params, json_object_new_string(join->session));
        struct json_object *request =
            jsonrpc_make_request("session.logout", params, 3);
        peer_call_start(call->api->base, join->address, join->port, NULL, NULL,
                        NULL, request, logged_out, NULL);
        json_object_put(request);
    }
    json_object_put(join->facts);
    free(join->address);
    free(join->session);
    free(join);
}

/* A join's session at the member it asked is over (or the member is
 * gone, and the session with it): nothing to do either way. */
static void
logged_out(void *aux, struct json_object *response, const char *failure,
           const char *fingerprint)
{
    if (failure) {
        log_debug("logging out of the member: %s", failure);
    }
}

/* Writes this host's pool certificate and key, which 'membership' carries
 * as "certificate" and "key", into the state folder (pool-cert.pem,
 * pool-key.pem, mode 0600), and takes them out of 'membership'.  Returns
 * 0 or a positive errno. */
static int
save_pool_certificate(struct api *api, struct json_object *membership)
{
    static const char *const names[][2] = {
        {"certificate", "pool-cert.pem"},
        {"key", "pool-key.pem"},
    };
    int error = 0;

    for (size_t i = 0; i < 2 && !error; i++) {
        const char *text = record_string(membership, names[i][0]);
        char *path = xasprintf("%s/%s", api->state_dir, names[i][1]);
        char *tmp = xasprintf("%s.tmp", path);
        FILE *file = fopen(tmp, "w");
        if (!*text || !file || fputs(text, file) == EOF || fflush(file)
            || fsync(fileno(file)) || fclose(file) || rename(tmp, path)) {
            error = errno ? errno : EINVAL;
            log_error("%s: cannot write the pool certificate: %s", path,
                      strerror(error));
            file = NULL;
        }
        free(tmp);
        free(path);
    }
    json_object_object_del(membership, "certificate");
    json_object_object_del(membership, "key");
    return error;
}

/* Returns NULL and the result of a peer's answer, or the typed error it
 * carries or that its failure is. */
static struct np_error *
remote_error(struct json_object *response, const char *failure,
             const char *address, struct json_object **result)
{
    if (failure || !response) {
        return np_error_new(ERR_POOL_JOINING_HOST_CONNECTION_FAILED, address,
                            failure ? failure : "no answer", NULL);
    }
    const char *text =
        json_object_to_json_string_ext(response, JSON_C_TO_STRING_PLAIN);
    struct np_error *error = NULL;
    if (jsonrpc_parse_response(text, strlen(text), result, &error)) {
        return np_error_new(ERR_POOL_JOINING_HOST_CONNECTION_FAILED, address,
                            "not a JSON-RPC answer", NULL);
    }
    return error;
}

/* Joining: the pool's side. */

/* The checks the pool makes of a joiner against itself. */
static struct np_error *
check_admission(struct api *api, struct json_object *facts, bool force)
{
    struct store *store = api->store;
    struct json_object *joiner = json_object_object_get(facts, "host");
    const char *uuid = record_string(joiner, "uuid");
    struct json_object *hosts = store_get_all(store, "host");
    struct json_object *self = json_object_object_get(hosts, api->host_uuid);
    struct np_error *error = NULL;
    const char *pool_uuid;
    struct json_object *pool = api_the_pool(store, &pool_uuid);

    if (json_object_object_get_ex(hosts, uuid, NULL)) {
        error = np_error_new(ERR_POOL_JOINING_HOST_IS_A_MEMBER, uuid, NULL);
    } else if (!force
               && strcmp(record_string(json_object_object_get(
                                           joiner, "software_version"),
                                       "product_version"),
                         record_string(
                             json_object_object_get(self, "software_version"),
                             "product_version"))) {
        error = np_error_new(
            ERR_POOL_HOSTS_NOT_HOMOGENEOUS, "software_version",
            record_string(json_object_object_get(joiner, "software_version"),
                          "product_version"),
            NULL);
    } else if (strcmp(record_string(joiner, "network_backend"),
                      record_string(self, "network_backend"))) {
        error = np_error_new(ERR_POOL_HOSTS_NOT_HOMOGENEOUS, "network_backend",
                             record_string(joiner, "network_backend"), NULL);
    } else if (!force
               && strcmp(record_string(joiner, "datapath"),
                         record_string(self, "datapath"))) {
        error = np_error_new(ERR_POOL_HOSTS_NOT_HOMOGENEOUS, "datapath",
                             record_string(joiner, "datapath"), NULL);
    } else if (pool
               && json_object_object_length(hosts) >= json_object_get_int64(
                      json_object_object_get(pool, "host_limit"))) {
        char limit[24];
        snprintf(
            limit, sizeof limit, "%" PRId64,
            json_object_get_int64(json_object_object_get(pool, "host_limit")));
        error = np_error_new(ERR_POOL_HOST_LIMIT_REACHED, limit, NULL);
    }
    json_object_put(pool);
    json_object_put(hosts);
    return error;
}

/* Returns the network of this pool that 'device' joins: the one whose
 * physical PIFs carry that device, or NULL. */
static const char *
network_for_device(struct json_object *pifs, const char *device)
{
    json_object_object_foreach (pifs, uuid, pif) {
        (void) uuid;
        if (record_bool(pif, "physical") && record_int(pif, "VLAN", -1) < 0
            && !strcmp(record_string(pif, "device"), device)
            && *record_string(pif, "network")) {
            return record_string(pif, "network");
        }
    }
    return NULL;
}

/* Copies the desired, stored fields of 'record' of 'class' (no uuid, no
 * derived or observed fields). */
static struct json_object *
stored_fields(const char *class_name, struct json_object *record)
{
    const struct store_class *class = store_class_find(class_name, false);
    struct json_object *copy = json_object_new_object();

    json_object_object_foreach (record, key, value) {
        const struct store_field *f = store_class_field(class, key);
        if (f && !(f->flags & FIELD_DERIVED) && !store_field_is_observed(f)) {
            json_object_object_add(copy, key, json_object_get(value));
        }
    }
    return copy;
}

/* Writes the joiner (and, the first time, this host) into the pool and
 * returns the joiner's membership. */
static struct np_error *
admit(struct api_call *call, struct json_object *facts,
      struct json_object **membership)
{
    struct api *api = call->api;
    struct store *store = api->store;
    struct json_object *joiner = json_object_object_get(facts, "host");
    const char *joiner_uuid = record_string(joiner, "uuid");
    const char *pool_uuid;
    struct json_object *pool = api_the_pool(store, &pool_uuid);
    struct ha_status status;
    int retval;

    ha_pool_status(api->pool, &status);
    bool first = !status.in_pool;
    if (!pool) {
        return np_error_new(ERR_INTERNAL_ERROR, "pool", "no pool record",
                            NULL);
    }

    /* Node ids: one more than the largest. */
    struct json_object *hosts = store_get_all(store, "host");
    int64_t next = 1;
    json_object_object_foreach (hosts, h, host_record) {
        (void) h;
        int64_t id = record_int(host_record, "cluster_node_id", 0);
        next = id >= next ? id + 1 : next;
    }
    struct json_object *self = json_object_object_get(hosts, api->host_uuid);
    int64_t self_id = record_int(self, "cluster_node_id", 0);
    if (!self_id) {
        self_id = next++;
    }
    int64_t joiner_id = next;

    char secret[65];
    snprintf(secret, sizeof secret, "%s", record_string(pool, "secret"));
    if (!*secret) {
        unsigned char bytes[32];
        RAND_bytes(bytes, sizeof bytes);
        for (size_t i = 0; i < sizeof bytes; i++) {
            snprintf(&secret[2 * i], 3, "%02x", bytes[i]);
        }
    }

    /* The pool's CA, made with the pool; it signs each member's client
     * certificate for host-to-host calls. */
    char *ca_cert = xstrdup(record_string(pool, "ca_certificate"));
    char *ca_key = xstrdup(record_string(pool, "ca_key"));
    if (!*ca_cert || !*ca_key) {
        free(ca_cert);
        free(ca_key);
        char *name = xasprintf("netpool pool %s", pool_uuid);
        retval = cert_make_ca(name, &ca_cert, &ca_key);
        free(name);
        if (retval) {
            json_object_put(hosts);
            json_object_put(pool);
            return np_error_new(ERR_INTERNAL_ERROR, "certificate",
                                "cannot make the pool's CA", NULL);
        }
    }
    char *joiner_cert = NULL, *joiner_key = NULL;
    char *own_cert = NULL, *own_key = NULL;
    retval =
        cert_issue(ca_cert, ca_key, joiner_uuid, &joiner_cert, &joiner_key);
    if (!retval && first) {
        retval =
            cert_issue(ca_cert, ca_key, api->host_uuid, &own_cert, &own_key);
    }
    char *path = xasprintf("%s/host-cert.pem", api->state_dir);
    char *host_cert = cert_read_file(path);
    free(path);

    store_push_actor(store, "system:pool-join");
    if (!retval) {
        retval = store_begin(store);
    }
    if (!retval) {
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "secret",
                               json_object_new_string(secret));
        json_object_object_add(changes, "ca_certificate",
                               json_object_new_string(ca_cert));
        json_object_object_add(changes, "ca_key",
                               json_object_new_string(ca_key));
        retval = store_update(store, "pool", pool_uuid, changes);
        json_object_put(changes);
    }
    if (!retval && host_cert && !*record_string(self, "certificate")) {
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "certificate",
                               json_object_new_string(host_cert));
        retval = store_update(store, "host", api->host_uuid, changes);
        json_object_put(changes);
    }
    free(host_cert);
    free(ca_cert);
    free(ca_key);
    if (!retval && !record_int(self, "cluster_node_id", 0)) {
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "cluster_node_id",
                               json_object_new_int64(self_id));
        json_object_object_add(
            changes, "cluster_address",
            json_object_new_string(*record_string(self, "cluster_address")
                                       ? record_string(self, "cluster_address")
                                       : record_string(self, "address")));
        retval = store_update(store, "host", api->host_uuid, changes);
        json_object_put(changes);
    }
    if (!retval) {
        struct json_object *record = stored_fields("host", joiner);
        json_object_object_add(record, "cluster_node_id",
                               json_object_new_int64(joiner_id));
        json_object_object_add(
            record, "certificate",
            json_object_new_string(record_string(facts, "certificate")));
        json_object_object_add(
            record, "cluster_address",
            json_object_new_string(record_string(facts, "address")));
        retval = store_insert(store, "host", joiner_uuid, record);
        json_object_put(record);
    }

    /* Networks merge by device: the joiner's eth1 joins the pool's
     * network for eth1; a network the pool lacks comes with the joiner. */
    struct json_object *pool_pifs = store_get_all(store, "PIF");
    struct json_object *networks = json_object_object_get(facts, "network");
    struct json_object *map = json_object_new_object();
    json_object_object_foreach (json_object_object_get(facts, "pifs"), pif,
                                pif_record) {
        const char *old = record_string(pif_record, "network");
        const char *new =
            network_for_device(pool_pifs, record_string(pif_record, "device"));
        if (!retval && !new &&*old
            && !json_object_object_get_ex(map, old, NULL)) {
            struct json_object *net_record = stored_fields(
                "network", json_object_object_get(networks, old));
            retval = store_exists(store, "network", old)
                         ? 0
                         : store_insert(store, "network", old, net_record);
            json_object_put(net_record);
            new = old;
        }
        if (*old && new) {
            json_object_object_add(map, old, json_object_new_string(new));
        }
        if (!retval) {
            struct json_object *record = stored_fields("PIF", pif_record);
            json_object_object_add(record, "network",
                                   json_object_new_string(new ? new : ""));
            retval = store_insert(store, "PIF", pif, record);
            json_object_put(record);
        }
    }

    /* Halted VMs come along with their disks, VIFs on the merged
     * networks. */
    static const char *const classes[] = {"SR", "VDI", "VM", "VBD", "VIF"};
    for (size_t i = 0; !retval && i < sizeof classes / sizeof *classes; i++) {
        json_object_object_foreach (json_object_object_get(facts, classes[i]),
                                    uuid, record) {
            if (store_exists(store, classes[i], uuid)) {
                continue;
            }
            struct json_object *copy = stored_fields(classes[i], record);
            if (!strcmp(classes[i], "VIF")) {
                const char *net =
                    record_string(map, record_string(record, "network"));
                if (*net) {
                    json_object_object_add(copy, "network",
                                           json_object_new_string(net));
                }
            } else if (!strcmp(classes[i], "VM")) {
                json_object_object_add(copy, "resident_on",
                                       json_object_new_string(""));
            }
            retval = store_insert(store, classes[i], uuid, copy);
            json_object_put(copy);
            if (retval) {
                break;
            }
        }
    }
    json_object_put(map);
    json_object_put(pool_pifs);

    /* The joiner inherits the master's bonds and then its VLANs (which
     * may sit on a bond), on its PIFs of the same devices. */
    struct np_error *vlan_error = NULL;
    if (!retval) {
        const char *master = record_string(pool, "master");
        vlan_error = api_bond_mirror(call, *master ? master : api->host_uuid,
                                     joiner_uuid);
        if (!vlan_error) {
            vlan_error = api_vlan_mirror(
                store, *master ? master : api->host_uuid, joiner_uuid);
        }
    }
    if (retval || vlan_error) {
        store_rollback(store);
    } else {
        retval = store_commit(store);
    }
    store_pop_actor(store);

    if (retval || vlan_error) {
        json_object_put(hosts);
        json_object_put(pool);
        free(joiner_cert);
        free(joiner_key);
        free(own_cert);
        free(own_key);
        if (vlan_error) {
            return vlan_error;
        }
        struct np_error *error = api_pool_error(api, retval);
        return error ? error : api_store_error(retval, "host", joiner_uuid);
    }

    /* The nodes, from the store as it is now. */
    json_object_put(hosts);
    hosts = store_get_all(store, "host");
    struct json_object *m = membership_base(store, pool_uuid, pool);
    json_object_object_add(m, "secret", json_object_new_string(secret));

    /* A standalone host becomes the pool's first member.  What it wrote
     * so far it wrote alone: the answer waits for no majority. */
    if (first) {
        call->wrote = store_last_local_seq(store);
        struct json_object *own = NULL;
        json_object_deep_copy(m, &own, NULL);
        json_object_object_add(own, "node", json_object_new_int64(self_id));
        json_object_object_add(own, "fresh", json_object_new_boolean(false));
        json_object_object_add(own, "certificate",
                               json_object_new_string(own_cert));
        json_object_object_add(own, "key", json_object_new_string(own_key));
        retval = save_pool_certificate(api, own);
        if (!retval) {
            retval = ha_pool_enter(api->pool, own);
        }
        json_object_put(own);
        if (retval) {
            log_error("cannot start the pool: %s", strerror(retval));
        }
    }
    json_object_object_add(m, "node", json_object_new_int64(joiner_id));
    json_object_object_add(m, "fresh", json_object_new_boolean(true));
    json_object_object_add(m, "certificate",
                           json_object_new_string(joiner_cert));
    json_object_object_add(m, "key", json_object_new_string(joiner_key));
    free(joiner_cert);
    free(joiner_key);
    free(own_cert);
    free(own_key);
    json_object_put(hosts);
    json_object_put(pool);
    log_info("admitted host %s as node %" PRId64, joiner_uuid, joiner_id);
    *membership = m;
    return NULL;
}

/* Helpers. */

/* Returns the membership every member shares (pool, secret, token
 * timeout, nodes from the store as it is now), without "node" and
 * "fresh". */
static struct json_object *
membership_base(struct store *store, const char *pool_uuid,
                struct json_object *pool)
{
    struct json_object *hosts = store_get_all(store, "host");
    struct json_object *nodes = json_object_new_array();

    json_object_object_foreach (hosts, uuid, host) {
        int64_t id = record_int(host, "cluster_node_id", 0);
        if (id > 0) {
            struct json_object *n = json_object_new_object();
            json_object_object_add(n, "id", json_object_new_int64(id));
            json_object_object_add(n, "name", json_object_new_string(uuid));
            json_object_object_add(n, "address",
                                   json_object_new_string(record_string(
                                       host, "cluster_address")));
            json_object_array_add(nodes, n);
        }
    }
    json_object_put(hosts);
    struct json_object *m = json_object_new_object();
    json_object_object_add(m, "pool", json_object_new_string(pool_uuid));
    json_object_object_add(
        m, "secret", json_object_new_string(record_string(pool, "secret")));
    json_object_object_add(m, "token_ms",
                           json_object_new_int64(ha_pool_token_ms(pool)));
    json_object_object_add(m, "nodes", nodes);
    return m;
}

static void
transition_poll(evutil_socket_t fd, short what, void *t_)
{
    struct transition *t = t_;
    struct api *api = t->call->api;
    struct ha_status s;
    struct np_error *error = NULL;

    ha_pool_status(api->pool, &s);
    if (!(s.quorate && s.synced)) {
        if (now_ms() < t->deadline) {
            return;
        }
        error = np_error_new(ERR_POOL_NOT_QUORATE, api->host_uuid, NULL);
    } else {
        const char *pool_uuid;
        struct json_object *pool = api_the_pool(api->store, &pool_uuid);
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "master",
                               json_object_new_string(api->host_uuid));
        int retval = store_update(api->store, "pool", pool_uuid, changes);
        json_object_put(changes);
        json_object_put(pool);
        if (retval) {
            error = api_pool_error(api, retval);
            if (!error) {
                error = api_store_error(retval, "pool", pool_uuid);
            }
        } else {
            log_warn("emergency: this host is the pool's master");
        }
    }
    struct api_call *call = t->call;
    call->abandoned = NULL;
    transition_abandoned(t, call);
    api_call_finish(call, NULL, error);
    np_error_destroy(error);
}

static void
transition_abandoned(void *t_, struct api_call *call)
{
    struct transition *t = t_;
    event_free(t->poll);
    free(t);
}

struct json_object *
api_the_pool(struct store *store, const char **uuid)
{
    struct json_object *pools = store_get_all(store, "pool");
    struct json_object *pool = NULL;

    json_object_object_foreach (pools, key, record) {
        pool = json_object_get(record);
        *uuid = record_string(record, "uuid");
        (void) key;
    }
    json_object_put(pools);
    return pool;
}

/* Returns a new JSON object whose keys are the hosts of this host's
 * current configuration (this host alone when standalone). */
static struct json_object *
hosts_in_configuration(struct api *api)
{
    struct json_object *hosts = json_object_new_object();
    struct json_object *all = store_get_all(api->store, "host");
    struct ha_status s;

    ha_pool_status(api->pool, &s);
    json_object_object_foreach (all, uuid, record) {
        /* Every member's own observation says whether it is in a quorate
         * partition; this host's says what it sees. */
        if (!strcmp(uuid, api->host_uuid)
            || (s.in_pool && ha_pool_has_member(api->pool, uuid))) {
            json_object_object_add(
                hosts, uuid,
                json_object_new_string(record_string(record, "pool_role")));
        }
    }
    json_object_put(all);
    return hosts;
}

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}
