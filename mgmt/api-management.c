/*
 * The management interface: readdressing it (PIF.reconfigure_ip on the
 * management PIF), moving the role to another PIF
 * (host.management_reconfigure) and giving it up
 * (host.management_disable).
 *
 * The address belongs to the role.  Moving the role to a PIF that has an
 * IP configuration takes the old PIF's configuration off it (mode None),
 * as a bond takes its member's; disabling the role does the same.  Every
 * address that leaves the role is listed in host field management_retired,
 * and the kernel side (datapath/bond-kernel.c) takes it off the host's
 * devices.
 *
 * A readdress or a move can cut the host off its pool, so each records the
 * previous configuration in host field management_rollback before it
 * writes the new one; the watcher (management.c) restores that record if
 * the new gateway does not answer in time.  One change at a time: a second
 * one while the first is unconfirmed gets OTHER_OPERATION_IN_PROGRESS.
 * Everything a call writes is one store transaction.
 */
#include "mgmt/api-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/clock.h"
#include "lib/error.h"
#include "lib/record.h"
#include "lib/xalloc.h"
#include "mgmt/mgmt-rollback.h"
#include "mgmt/mgmt.h"
#include "mgmt/store.h"

static api_method host_management_reconfigure;
static api_method host_management_disable;
static bool is_management(struct json_object *pif);
static char *find_management(struct api *);
static struct np_error *check_idle(struct api *);
static struct json_object *rollback_record(struct api *, const char *old_pif,
                                           struct json_object *old_record,
                                           const char *new_pif,
                                           const char *new_ip);
static struct json_object *ip_changes(const char *mode, const char *ip,
                                      const char *netmask, const char *gateway,
                                      const char *dns);

/* The IP configuration fields of a PIF. */
static const char *const ip_fields[] = {
    "ip_configuration_mode", "IP", "netmask", "gateway", "DNS",
};
#define N_IP_FIELDS (sizeof ip_fields / sizeof *ip_fields)

#define MAX_RETIRED 16 /* Addresses kept in host.management_retired. */

api_method *
api_management_method(const char *name)
{
    if (!strcmp(name, "host.management_reconfigure")) {
        return host_management_reconfigure;
    } else if (!strcmp(name, "host.management_disable")) {
        return host_management_disable;
    } else if (!strcmp(name, "pool.management_reconfigure")) {
        return api_pool_management_reconfigure;
    }
    return NULL;
}

struct np_error *
api_management_readdress(struct api *api, const char *pif, const char *mode,
                         const char *ip, const char *netmask,
                         const char *gateway, const char *dns)
{
    struct store *store = api->store;
    struct np_error *error = check_idle(api);

    if (error) {
        return error;
    }
    bool dhcp = !strcmp(mode, "DHCP");
    if (strcmp(mode, "Static") && !dhcp) {
        /* Without an address the host is unreachable: xapi refuses it. */
        return np_error_new(ERR_PIF_IS_MANAGEMENT_INTERFACE, pif, NULL);
    }
    if (dhcp) {
        /* The lease fills these in (dhcp.c). */
        ip = netmask = gateway = dns = "";
    }
    struct json_object *old = store_get(store, "PIF", pif);
    if (!old) {
        return np_error_new(ERR_HANDLE_INVALID, "PIF", pif, NULL);
    }

    struct json_object *rollback = rollback_record(api, pif, old, pif, ip);
    struct json_object *changes = ip_changes(mode, ip, netmask, gateway, dns);
    const char *old_ip = record_string(old, "IP");
    int retval = store_begin(store);
    if (!retval) {
        retval = store_update(store, "PIF", pif, changes);
        if (!retval) {
            retval = mgmt_write_host_management(
                api->store, api->host_uuid, rollback,
                strcmp(old_ip, ip) ? old_ip : NULL, ip);
        }
        if (retval) {
            store_rollback(store);
        } else {
            retval = store_commit(store);
        }
    }
    json_object_put(changes);
    json_object_put(rollback);
    json_object_put(old);
    return retval ? api_store_error(retval, "PIF", pif) : NULL;
}

/* host.management_reconfigure(pif): moves the management role to 'pif', a
 * PIF of this host with an IP configuration. */
static struct np_error *
host_management_reconfigure(struct api_call *call, struct json_object **result,
                            bool *deferred)
{
    struct api *api = call->api;
    struct store *store = api->store;
    const char *pif;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_string(call, 0, "pif", &pif))) {
        return error;
    }
    struct json_object *target = store_get(store, "PIF", pif);
    if (!target) {
        return np_error_new(ERR_HANDLE_INVALID, "PIF", pif, NULL);
    }
    if (strcmp(record_string(target, "host"), api->host_uuid)) {
        error = np_error_new(ERR_OPERATION_NOT_ALLOWED,
                             "the PIF belongs to another host; ask that host",
                             pif, NULL);
    } else if (!is_management(target) && (error = check_idle(api))) {
        /* One change at a time. */
    } else if (*record_string(target, "bond_slave_of")) {
        error = np_error_new(ERR_PIF_IS_ALREADY_BONDED, pif, NULL);
    } else if (!strcmp(record_string(target, "ip_configuration_mode"), "None")
               || !*record_string(target, "IP")) {
        error = np_error_new(ERR_PIF_HAS_NO_NETWORK_CONFIGURATION, pif, NULL);
    } else if (is_management(target)) {
        json_object_put(target); /* Nothing to move. */
        *result = json_object_new_null();
        return NULL;
    }
    if (error) {
        json_object_put(target);
        return error;
    }

    char *old_pif = find_management(api);
    struct json_object *old =
        old_pif ? store_get(store, "PIF", old_pif) : NULL;
    const char *new_ip = record_string(target, "IP");
    const char *old_ip = old ? record_string(old, "IP") : "";
    struct json_object *rollback =
        rollback_record(api, old_pif ? old_pif : "", old, pif, new_ip);

    int retval = store_begin(store);
    if (!retval) {
        retval = api_management_move(store, api->host_uuid, old_pif, old_ip,
                                     pif, new_ip, rollback);
        if (retval) {
            store_rollback(store);
        } else {
            retval = store_commit(store);
        }
    }
    json_object_put(rollback);
    json_object_put(old);
    json_object_put(target);
    free(old_pif);
    if (retval) {
        return api_store_error(retval, "PIF", pif);
    }
    *result = json_object_new_null();
    return NULL;
}

int
api_management_move(struct store *store, const char *host, const char *old_pif,
                    const char *old_ip, const char *new_pif,
                    const char *new_ip, struct json_object *rollback)
{
    int retval = 0;

    if (old_pif) {
        struct json_object *lose = ip_changes("None", "", "", "", "");
        json_object_object_add(lose, "management",
                               json_object_new_boolean(false));
        retval = store_update(store, "PIF", old_pif, lose);
        json_object_put(lose);
    }
    if (!retval) {
        struct json_object *gain = json_object_new_object();
        json_object_object_add(gain, "management",
                               json_object_new_boolean(true));
        retval = store_update(store, "PIF", new_pif, gain);
        json_object_put(gain);
    }
    if (!retval) {
        retval = mgmt_write_host_management(
            store, host, rollback,
            *old_ip && strcmp(old_ip, new_ip) ? old_ip : NULL, new_ip);
    }
    return retval;
}

/* host.management_disable(): this host gives up its management role; the
 * management PIF loses its address.  Only the local socket (or a client
 * on another interface) reaches the host afterwards. */
static struct np_error *
host_management_disable(struct api_call *call, struct json_object **result,
                        bool *deferred)
{
    struct api *api = call->api;
    struct store *store = api->store;
    struct np_error *error;

    if ((error = api_expect_args(call, 0)) || (error = check_idle(api))) {
        return error;
    }
    char *pif = find_management(api);
    if (!pif) {
        *result = json_object_new_null();
        return NULL; /* Already disabled. */
    }
    struct json_object *old = store_get(store, "PIF", pif);
    const char *old_ip = record_string(old, "IP");
    struct json_object *lose = ip_changes("None", "", "", "", "");
    json_object_object_add(lose, "management", json_object_new_boolean(false));

    int retval = store_begin(store);
    if (!retval) {
        retval = store_update(store, "PIF", pif, lose);
        if (!retval) {
            retval = mgmt_write_host_management(
                api->store, api->host_uuid, NULL, *old_ip ? old_ip : NULL, "");
        }
        if (retval) {
            store_rollback(store);
        } else {
            retval = store_commit(store);
        }
    }
    json_object_put(lose);
    json_object_put(old);
    if (retval) {
        error = api_store_error(retval, "PIF", pif);
    } else {
        *result = json_object_new_null();
    }
    free(pif);
    return error;
}

/* host other_config:management-rollback-timeout must be a number of
 * seconds within MGMT_ROLLBACK_TIMEOUT_MIN..MAX. */
struct np_error *
api_management_check_set(struct api *api, const struct store_class *class,
                         const struct store_field *field, const char *uuid,
                         struct json_object *value)
{
    struct json_object *limit;

    if (strcmp(class->name, "host") || strcmp(field->name, "other_config")
        || !json_object_object_get_ex(value, MGMT_ROLLBACK_TIMEOUT_KEY, &limit)
        || mgmt_rollback_timeout_valid(json_object_get_string(limit))) {
        return NULL;
    }
    return np_error_new(ERR_INVALID_VALUE,
                        "other_config:" MGMT_ROLLBACK_TIMEOUT_KEY,
                        json_object_get_string(limit), NULL);
}

/* Helpers. */

static bool
is_management(struct json_object *pif)
{
    struct json_object *value;
    return json_object_object_get_ex(pif, "management", &value)
           && json_object_get_boolean(value);
}

/* Returns the UUID of this host's management PIF (the caller frees it), or
 * NULL when the role is disabled. */
static char *
find_management(struct api *api)
{
    struct json_object *yes = json_object_new_boolean(true);
    struct json_object *pifs =
        store_find(api->store, "PIF", "management", yes);
    char *found = NULL;

    for (size_t i = 0; !found && i < json_object_array_length(pifs); i++) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(pifs, i));
        struct json_object *pif = store_get(api->store, "PIF", uuid);
        if (!strcmp(record_string(pif, "host"), api->host_uuid)) {
            found = xstrdup(uuid);
        }
        json_object_put(pif);
    }
    json_object_put(pifs);
    json_object_put(yes);
    return found;
}

/* Returns OTHER_OPERATION_IN_PROGRESS while a management change of this
 * host waits for its confirmation, else NULL. */
static struct np_error *
check_idle(struct api *api)
{
    struct json_object *host = store_get(api->store, "host", api->host_uuid);
    struct json_object *pending =
        json_object_object_get(host, "management_rollback");
    bool busy = pending && json_object_object_length(pending) > 0;

    json_object_put(host);
    return busy ? np_error_new(ERR_OTHER_OPERATION_IN_PROGRESS, "host",
                               api->host_uuid, NULL)
                : NULL;
}

/* Returns the value of host field management_rollback for a change that
 * gives the role to PIF 'new_pif' with address 'new_ip', where PIF
 * 'old_pif' (record 'old_record'; "" and NULL when the role was disabled)
 * had it before. */
static struct json_object *
rollback_record(struct api *api, const char *old_pif,
                struct json_object *old_record, const char *new_pif,
                const char *new_ip)
{
    struct json_object *host = store_get(api->store, "host", api->host_uuid);
    struct json_object *other = json_object_object_get(host, "other_config");
    struct json_object *limit =
        json_object_object_get(other, MGMT_ROLLBACK_TIMEOUT_KEY);
    struct json_object *record = json_object_new_object();
    char text[32];

    json_object_object_add(record, "pif", json_object_new_string(old_pif));
    for (size_t i = 0; i < N_IP_FIELDS; i++) {
        const char *value = record_string(old_record, ip_fields[i]);
        if (!strcmp(ip_fields[i], "ip_configuration_mode") && !*value) {
            value = "None";
        }
        json_object_object_add(record, ip_fields[i],
                               json_object_new_string(value));
    }
    json_object_object_add(record, "new_pif", json_object_new_string(new_pif));
    json_object_object_add(record, "new_IP", json_object_new_string(new_ip));
    snprintf(text, sizeof text, "%lld", clock_realtime_ms());
    json_object_object_add(record, "started", json_object_new_string(text));
    snprintf(
        text, sizeof text, "%d",
        mgmt_rollback_timeout(limit ? json_object_get_string(limit) : NULL));
    json_object_object_add(record, "timeout", json_object_new_string(text));
    json_object_put(host);
    return record;
}

int
mgmt_write_host_management(struct store *store, const char *host_uuid,
                           struct json_object *rollback, const char *retire,
                           const char *address)
{
    struct json_object *host = store_get(store, "host", host_uuid);
    struct json_object *old =
        json_object_object_get(host, "management_retired");
    struct json_object *retired = json_object_new_array();
    struct json_object *changes = json_object_new_object();

    /* The newest MAX_RETIRED are enough: older ones are long gone. */
    size_t n = json_object_array_length(old);
    for (size_t i = n > MAX_RETIRED ? n - MAX_RETIRED : 0; i < n; i++) {
        const char *ip =
            json_object_get_string(json_object_array_get_idx(old, i));
        if (ip && strcmp(ip, address) && (!retire || strcmp(ip, retire))) {
            json_object_array_add(retired, json_object_new_string(ip));
        }
    }
    if (retire) {
        json_object_array_add(retired, json_object_new_string(retire));
    }
    json_object_object_add(changes, "management_retired", retired);
    json_object_object_add(changes, "management_rollback",
                           rollback ? json_object_get(rollback)
                                    : json_object_new_object());
    json_object_object_add(changes, "address",
                           json_object_new_string(address));
    int retval = store_update(store, "host", host_uuid, changes);
    json_object_put(changes);
    json_object_put(host);
    return retval;
}

/* Returns the PIF fields of an IP configuration. */
static struct json_object *
ip_changes(const char *mode, const char *ip, const char *netmask,
           const char *gateway, const char *dns)
{
    const char *values[N_IP_FIELDS] = {mode, ip, netmask, gateway, dns};
    struct json_object *changes = json_object_new_object();

    for (size_t i = 0; i < N_IP_FIELDS; i++) {
        json_object_object_add(changes, ip_fields[i],
                               json_object_new_string(values[i]));
    }
    return changes;
}
