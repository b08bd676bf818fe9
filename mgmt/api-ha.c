/*
 * High availability's verbs: pool.enable_ha, pool.disable_ha,
 * pool.ha_compute_max_host_failures_to_tolerate, and the checks of
 * pool.ha_host_failures_to_tolerate and VM.ha_restart_priority when they
 * are set.  enable_ha checks the heartbeat SRs (shared NFS SRs plugged and
 * connected on every host) and the timeout, each a typed error that
 * changes nothing, then writes the pool's HA fields in one transaction
 * and raises a message for each pre-flight warning.  What HA does once on
 * is ha/'s monitor (ha/README.md, "High availability").
 */
#include "mgmt/api-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "ha/ha.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "ha"

#define MESSAGE_PRIORITY_WARNING 3 /* xapi's priority of a warning. */

static api_method enable_ha, disable_ha, compute_max_failures, ha_clear,
    emergency_ha_disable;

/* The pool's hosts and VMs as the planner sees them. */
struct plan_input {
    struct json_object *hosts_json; /* UUID → host record. */
    struct json_object *vms_json;   /* UUID → VM record. */
    struct ha_host *hosts;          /* Each host, memory_free. */
    size_t n_hosts;                 /* Their number. */
    struct ha_vm *vms;              /* Each VM that is not a template. */
    size_t n_vms;                   /* Their number. */
};

static struct np_error *check_heartbeat_sr(struct api *, const char *sr,
                                           struct json_object *hosts);
static struct np_error *parse_timeout(struct json_object *configuration,
                                      int64_t *timeout);
static struct json_object *preflight_warnings(struct api *,
                                              const char *pool_uuid,
                                              struct json_object *srs);
static void plan_input_load(struct store *, struct plan_input *);
static void plan_input_clear(struct plan_input *);
static bool plan_holds(const struct plan_input *, size_t wanted);

api_method *
api_ha_method(const char *name)
{
    static const struct {
        const char *name;
        api_method *fn;
    } methods[] = {
        {"pool.enable_ha", enable_ha},
        {"pool.disable_ha", disable_ha},
        {"pool.ha_compute_max_host_failures_to_tolerate",
         compute_max_failures},
        {"host.ha_clear", ha_clear},
        {"host.emergency_ha_disable", emergency_ha_disable},
    };
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (!strcmp(name, methods[i].name)) {
            return methods[i].fn;
        }
    }
    return NULL;
}

void
api_set_ha(struct api *api, struct ha_monitor *monitor)
{
    api->ha = monitor;
}

struct np_error *
api_ha_check_set(struct api *api, const struct store_class *class,
                 const struct store_field *field, const char *uuid,
                 struct json_object *value)
{
    if (!strcmp(class->name, "VM")
        && !strcmp(field->name, "ha_restart_priority")) {
        const char *p = json_object_get_string(value);
        return (!strcmp(p, "restart") || !strcmp(p, "best-effort") || !*p)
                   ? NULL
                   : np_error_new(ERR_INVALID_VALUE, "ha_restart_priority", p,
                                  NULL);
    }
    if (!strcmp(class->name, "VM")
        && !strcmp(field->name, "memory_static_max")) {
        struct json_object *vm = store_get(api->store, "VM", uuid);
        struct np_error *error =
            vm ? api_ha_check_change(api, uuid, vm, NULL,
                                     json_object_get_int64(value))
               : NULL;
        json_object_put(vm);
        return error;
    }
    if (!strcmp(class->name, "pool")
        && !strcmp(field->name, "ha_host_failures_to_tolerate")) {
        struct plan_input in;
        plan_input_load(api->store, &in);
        int max = ha_max_host_failures(in.vms, in.n_vms, in.hosts, in.n_hosts);
        plan_input_clear(&in);
        if (json_object_get_int64(value) > max) {
            char wanted[24], most[24];
            snprintf(wanted, sizeof wanted, "%" PRId64,
                     json_object_get_int64(value));
            snprintf(most, sizeof most, "%d", max);
            return np_error_new(ERR_HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN,
                                wanted, most, NULL);
        }
    }
    return NULL;
}

struct np_error *
api_ha_check_change(struct api *api, const char *uuid, struct json_object *vm,
                    const char *host, int64_t memory)
{
    const char *pool_uuid = NULL;
    struct json_object *pool = api_the_pool(api->store, &pool_uuid);
    int64_t wanted = record_int(pool, "ha_host_failures_to_tolerate", 0);
    bool enabled = record_bool(pool, "ha_enabled");
    struct np_error *error = NULL;

    json_object_put(pool);
    /* A VM that comes to run somewhere takes memory from the plan, whatever
     * its priority; a new need counts only for a VM the plan restarts. */
    if (!enabled || wanted <= 0
        || (!host
            && strcmp(record_string(vm, "ha_restart_priority"), "restart"))) {
        return NULL;
    }
    struct plan_input in;
    plan_input_load(api->store, &in);
    struct ha_change change = {.host = -1, .memory = memory};
    bool found = false;
    for (size_t i = 0; i < in.n_vms; i++) {
        if (!strcmp(in.vms[i].uuid, uuid)) {
            change.vm = i;
            found = true;
        }
    }
    for (size_t h = 0; host && h < in.n_hosts; h++) {
        if (!strcmp(in.hosts[h].uuid, host)) {
            change.host = (int) h;
        }
    }
    /* Only a change that breaks a plan that holds is refused: a pool
     * already short of it (overcommitted, as xapi says) is not held to
     * it. */
    if (plan_holds(&in, (size_t) wanted)) {
        if (found && (!host || change.host >= 0)) {
            ha_apply_change(in.vms, in.hosts, &change);
        }
        if (!plan_holds(&in, (size_t) wanted)) {
            char w[24], most[24];
            snprintf(w, sizeof w, "%" PRId64, wanted);
            snprintf(
                most, sizeof most, "%d",
                ha_max_host_failures(in.vms, in.n_vms, in.hosts, in.n_hosts));
            error = np_error_new(ERR_HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN, w,
                                 most, NULL);
        }
    }
    plan_input_clear(&in);
    return error;
}

/* Returns true if the plan of 'in' covers 'wanted' host failures, as
 * ha_max_host_failures(...) >= wanted would say, trying only the sets of
 * at most 'wanted' hosts. */
static bool
plan_holds(const struct plan_input *in, size_t wanted)
{
    for (size_t k = 1; k <= wanted; k++) {
        if (!ha_tolerates_host_failures(in->vms, in->n_vms, in->hosts,
                                        in->n_hosts, k)) {
            return false;
        }
    }
    return true;
}

/* Verbs. */

/* pool.enable_ha(heartbeat_srs, configuration): 'heartbeat_srs' a
 * non-empty array of SR references, 'configuration' an object whose
 * optional "timeout" is a number of seconds (text or integer, 1 to 120).
 * Returns the names of the warnings raised as messages. */
static struct np_error *
enable_ha(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api *api = call->api;
    struct json_object *srs = json_object_array_get_idx(call->args, 0);
    struct json_object *configuration = NULL;
    struct np_error *error = NULL;
    const char *pool_uuid = NULL;
    int64_t timeout = 0;

    if (!srs) {
        return np_error_new(ERR_MISSING_PARAMETER, "heartbeat_srs", NULL);
    }
    if (!json_object_is_type(srs, json_type_array)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, "heartbeat_srs", NULL);
    }
    if (!json_object_array_length(srs)) {
        return np_error_new(ERR_INVALID_VALUE, "heartbeat_srs", "", NULL);
    }
    if (json_object_array_get_idx(call->args, 1)
        && (error =
                api_arg_object(call, 1, "configuration", &configuration))) {
        return error;
    }
    if ((error = parse_timeout(configuration, &timeout))) {
        return error;
    }

    struct json_object *pool = api_the_pool(api->store, &pool_uuid);
    if (!pool) {
        return np_error_new(ERR_HANDLE_INVALID, "pool", "", NULL);
    }
    if (record_bool(pool, "ha_enabled")) {
        json_object_put(pool);
        return np_error_new(ERR_HA_IS_ENABLED, NULL);
    }
    struct json_object *hosts = store_get_all(api->store, "host");
    for (size_t i = 0; !error && i < json_object_array_length(srs); i++) {
        struct json_object *sr = json_object_array_get_idx(srs, i);
        if (!json_object_is_type(sr, json_type_string)) {
            error = np_error_new(ERR_FIELD_TYPE_ERROR, "heartbeat_srs", NULL);
        } else {
            error = check_heartbeat_sr(api, json_object_get_string(sr), hosts);
        }
    }
    json_object_put(hosts);
    if (error) {
        json_object_put(pool);
        return error;
    }

    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "ha_enabled",
                           json_object_new_boolean(true));
    json_object_object_add(changes, "ha_heartbeat_srs", json_object_get(srs));
    if (timeout) {
        json_object_object_add(changes, "ha_timeout",
                               json_object_new_int64(timeout));
    }
    store_begin(api->store);
    int retval = store_update(api->store, "pool", pool_uuid, changes);
    struct json_object *warnings =
        retval ? NULL : preflight_warnings(api, pool_uuid, srs);
    retval = retval ? retval : store_commit(api->store);
    if (retval) {
        store_rollback(api->store);
        json_object_put(warnings);
        error = api_pool_error(api, retval);
        if (!error) {
            error = api_store_error(retval, "pool", pool_uuid);
        }
    } else {
        log_info("HA enabled (timeout %" PRId64 " s)",
                 timeout ? timeout : record_int(pool, "ha_timeout", 0));
        *result = warnings;
    }
    json_object_put(changes);
    json_object_put(pool);
    return error;
}

/* pool.disable_ha(): HA off; the timeout stays in the pool. */
static struct np_error *
disable_ha(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api *api = call->api;
    const char *pool_uuid = NULL;
    struct json_object *pool = api_the_pool(api->store, &pool_uuid);
    struct np_error *error = NULL;

    if (!pool) {
        return np_error_new(ERR_HANDLE_INVALID, "pool", "", NULL);
    }
    if (!record_bool(pool, "ha_enabled")) {
        json_object_put(pool);
        return np_error_new(ERR_HA_NOT_ENABLED, NULL);
    }
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "ha_enabled",
                           json_object_new_boolean(false));
    json_object_object_add(changes, "ha_heartbeat_srs",
                           json_object_new_array());
    int retval = store_update(api->store, "pool", pool_uuid, changes);
    if (retval) {
        error = api_pool_error(api, retval);
        if (!error) {
            error = api_store_error(retval, "pool", pool_uuid);
        }
    } else {
        log_info("HA disabled");
    }
    json_object_put(changes);
    json_object_put(pool);
    return error;
}

/* pool.ha_compute_max_host_failures_to_tolerate(): how many hosts may fail
 * with every protected VM still placed on the others. */
static struct np_error *
compute_max_failures(struct api_call *call, struct json_object **result,
                     bool *deferred)
{
    struct plan_input in;

    plan_input_load(call->api->store, &in);
    *result = json_object_new_int(
        ha_max_host_failures(in.vms, in.n_vms, in.hosts, in.n_hosts));
    plan_input_clear(&in);
    return NULL;
}

/* host.ha_clear(): on a fenced host, lifts its fence; it rejoins the
 * pool and its domains may run once it is back. */
static struct np_error *
ha_clear(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api *api = call->api;

    if (!api->ha || !ha_monitor_fenced(api->ha)) {
        return np_error_new(ERR_OPERATION_NOT_ALLOWED,
                            "this host is not fenced", api->host_uuid, NULL);
    }
    int retval = ha_monitor_clear(api->ha);
    if (retval) {
        return np_error_new(ERR_OPERATION_NOT_ALLOWED,
                            "the fence is being applied", api->host_uuid,
                            NULL);
    }
    return NULL;
}

/* host.emergency_ha_disable(force): this host stops applying HA until HA
 * is next enabled on the pool; 'force' must be true (as xe's --force). */
static struct np_error *
emergency_ha_disable(struct api_call *call, struct json_object **result,
                     bool *deferred)
{
    struct api *api = call->api;
    struct json_object *force = json_object_array_get_idx(call->args, 0);

    if (!force || !json_object_get_boolean(force)) {
        return np_error_new(ERR_INVALID_VALUE, "force",
                            force ? json_object_get_string(force) : "", NULL);
    }
    if (!api->ha) {
        return np_error_new(ERR_HA_NOT_ENABLED, NULL);
    }
    int retval = ha_monitor_emergency_disable(api->ha);
    return retval ? api_store_error(retval, "host", api->host_uuid) : NULL;
}

/* Helpers. */

/* A heartbeat SR is a shared NFS SR that every host of the pool ('hosts':
 * UUID → record) has plugged and connected. */
static struct np_error *
check_heartbeat_sr(struct api *api, const char *uuid,
                   struct json_object *hosts)
{
    struct json_object *sr = store_get(api->store, "SR", uuid);
    struct np_error *error = NULL;

    if (!sr) {
        return np_error_new(ERR_HANDLE_INVALID, "SR", uuid, NULL);
    }
    if (!record_bool(sr, "shared")
        || strcmp(record_string(sr, "type"), "nfs")) {
        json_object_put(sr);
        return np_error_new(ERR_HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED, uuid,
                            NULL);
    }
    struct json_object *key = json_object_new_string(uuid);
    struct json_object *pbds = store_find(api->store, "PBD", "SR", key);
    json_object_put(key);
    json_object_object_foreach (hosts, host, record) {
        bool connected = false;
        for (size_t i = 0; i < json_object_array_length(pbds); i++) {
            struct json_object *pbd = store_get(
                api->store, "PBD",
                json_object_get_string(json_object_array_get_idx(pbds, i)));
            if (!strcmp(record_string(pbd, "host"), host)
                && record_bool(pbd, "currently_attached")
                && record_bool(pbd, "connected")) {
                connected = true;
            }
            json_object_put(pbd);
        }
        if (!connected) {
            error = np_error_new(ERR_HA_HOST_CANNOT_ACCESS_STATEFILE, host,
                                 uuid, NULL);
            break;
        }
        (void) record;
    }
    json_object_put(pbds);
    json_object_put(sr);
    return error;
}

/* Reads configuration's "timeout" (seconds, 1 to 120, a number or its
 * text) into '*timeout', 0 when absent. */
static struct np_error *
parse_timeout(struct json_object *configuration, int64_t *timeout)
{
    struct json_object *value =
        json_object_object_get(configuration, "timeout");
    *timeout = 0;
    if (!value) {
        return NULL;
    }
    const char *text = json_object_get_string(value);
    char *end;
    errno = 0;
    long long t = strtoll(text, &end, 10);
    if (!*text || *end || errno || t < 1 || t > 120) {
        return np_error_new(ERR_INVALID_VALUE, "ha-config:timeout", text,
                            NULL);
    }
    *timeout = t;
    return NULL;
}

/* Raises, on the pool, a message for each pre-flight warning: fewer than
 * three hosts (two hosts split evenly and a tie decides), a host whose
 * management is not on a bond (one NIC's failure cuts it off), an
 * heartbeat SR served from an address of a pool host (the server fails
 * with the host).  Returns their names (a new array). */
static struct json_object *
preflight_warnings(struct api *api, const char *pool_uuid,
                   struct json_object *srs)
{
    struct json_object *names = json_object_new_array();
    struct json_object *hosts = store_get_all(api->store, "host");
    struct json_object *pifs = store_get_all(api->store, "PIF");
    size_t n_hosts = json_object_object_length(hosts);
    char body[512];

    if (n_hosts < 3) {
        snprintf(body, sizeof body,
                 "the pool has %zu host(s): with fewer than 3, a split "
                 "into equal halves is decided by the lowest host UUID",
                 n_hosts);
        store_raise_message(api->store, "HA_POOL_TOO_SMALL",
                            MESSAGE_PRIORITY_WARNING, "pool", pool_uuid, body);
        json_object_array_add(names,
                              json_object_new_string("HA_POOL_TOO_SMALL"));
    }

    bool unbonded = false;
    json_object_object_foreach (hosts, host, hrec) {
        bool bonded = false, managed = false;
        json_object_object_foreach (pifs, pif, prec) {
            if (!strcmp(record_string(prec, "host"), host)
                && record_bool(prec, "management")) {
                managed = true;
                struct json_object *masters =
                    json_object_object_get(prec, "bond_master_of");
                bonded = bonded
                         || (json_object_is_type(masters, json_type_array)
                             && json_object_array_length(masters) > 0);
            }
            (void) pif;
        }
        if (managed && !bonded) {
            snprintf(body, sizeof body,
                     "the management interface of host %s is not on a "
                     "bond: one NIC's failure cuts it off",
                     host);
            store_raise_message(api->store, "HA_MANAGEMENT_NOT_BONDED",
                                MESSAGE_PRIORITY_WARNING, "host", host, body);
            unbonded = true;
        }
        (void) hrec;
    }
    if (unbonded) {
        json_object_array_add(
            names, json_object_new_string("HA_MANAGEMENT_NOT_BONDED"));
    }

    bool inside = false;
    for (size_t i = 0; i < json_object_array_length(srs); i++) {
        const char *sr_uuid =
            json_object_get_string(json_object_array_get_idx(srs, i));
        struct json_object *sr = store_get(api->store, "SR", sr_uuid);
        const char *server = record_string(
            json_object_object_get(sr, "device_config"), "server");
        json_object_object_foreach (pifs, pif, prec) {
            if (*server && !strcmp(record_string(prec, "IP"), server)) {
                snprintf(body, sizeof body,
                         "heartbeat SR %s is served by %s, an address of "
                         "pool host %s: the statefile fails with that host",
                         sr_uuid, server, record_string(prec, "host"));
                store_raise_message(api->store, "HA_HEARTBEAT_SR_IN_POOL",
                                    MESSAGE_PRIORITY_WARNING, "SR", sr_uuid,
                                    body);
                inside = true;
            }
            (void) pif;
        }
        json_object_put(sr);
    }
    if (inside) {
        json_object_array_add(
            names, json_object_new_string("HA_HEARTBEAT_SR_IN_POOL"));
    }
    json_object_put(hosts);
    json_object_put(pifs);
    return names;
}

/* Loads the pool's hosts (their memory_free) and VMs (protected or not,
 * with the memory they need and the host they run on) into 'in'. */
static void
plan_input_load(struct store *store, struct plan_input *in)
{
    memset(in, 0, sizeof *in);
    in->hosts_json = store_get_all(store, "host");
    in->vms_json = store_get_all(store, "VM");
    in->hosts = xmalloc((json_object_object_length(in->hosts_json) + 1)
                        * sizeof *in->hosts);
    in->vms = xmalloc((json_object_object_length(in->vms_json) + 1)
                      * sizeof *in->vms);
    json_object_object_foreach (in->hosts_json, host, hrec) {
        in->hosts[in->n_hosts++] = (struct ha_host){
            .uuid = host,
            .memory_free = record_int(hrec, "memory_free", 0),
        };
    }
    json_object_object_foreach (in->vms_json, vm, vrec) {
        if (record_bool(vrec, "is_a_template")) {
            continue;
        }
        int resident = -1;
        const char *on = record_string(vrec, "resident_on");
        for (size_t i = 0; i < in->n_hosts; i++) {
            if (!strcmp(in->hosts[i].uuid, on)) {
                resident = (int) i;
            }
        }
        if (strcmp(record_string(vrec, "power_state"), "Running")) {
            resident = -1;
        }
        in->vms[in->n_vms++] = (struct ha_vm){
            .uuid = vm,
            .priority = record_string(vrec, "ha_restart_priority"),
            .order = record_int(vrec, "order", 0),
            .start_delay = record_int(vrec, "start_delay", 0),
            .memory = record_int(vrec, "memory_static_max", 0),
            .resident = resident,
        };
    }
}

static void
plan_input_clear(struct plan_input *in)
{
    json_object_put(in->hosts_json);
    json_object_put(in->vms_json);
    free(in->hosts);
    free(in->vms);
}
