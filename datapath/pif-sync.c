/* The PIF objects that mirror the host's NICs. */
#include "datapath/datapath.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/uuid.h"
#include "mgmt/store.h"

#define LOG_MODULE "pif"

static const char *field(struct json_object *record, const char *name);
static bool any_management(struct json_object *pifs, const char *host);
static int create_pif(struct store *, const char *host, const struct dp_link *,
                      bool management);
static int create_network(struct store *, const struct dp_link *,
                          char uuid[UUID_LENGTH + 1]);
static int refresh_pif(struct store *, const char *uuid,
                       struct json_object *record, const struct dp_link *);

const char *
dp_pif_match(struct json_object *pifs, const char *host,
             const struct dp_link *link)
{
    const char *by_name = NULL;

    json_object_object_foreach (pifs, uuid, record) {
        struct json_object *physical;
        if (strcmp(field(record, "host"), host)
            || !json_object_object_get_ex(record, "physical", &physical)
            || !json_object_get_boolean(physical)) {
            continue;
        }
        if (*link->mac && !strcasecmp(field(record, "MAC"), link->mac)) {
            return uuid;
        }
        if (!*field(record, "MAC")
            && !strcmp(field(record, "device"), link->device)) {
            by_name = uuid;
        }
    }
    return by_name;
}

int
dp_pifs_sync(struct store *store, const char *host,
             const struct dp_link *links, size_t n, const char *management)
{
    struct json_object *pifs = store_get_all(store, "PIF");
    bool have_management = any_management(pifs, host);
    store_push_actor(store, "system:pif-discovery");
    int error = store_begin(store);

    for (size_t i = 0; !error && i < n; i++) {
        const char *uuid = dp_pif_match(pifs, host, &links[i]);
        if (uuid) {
            error = refresh_pif(store, uuid,
                                json_object_object_get(pifs, uuid), &links[i]);
            continue;
        }
        bool is_management =
            !have_management
            && (management ? !strcmp(management, links[i].device) : true);
        error = create_pif(store, host, &links[i], is_management);
        have_management |= is_management;
    }

    /* NICs that went away: their PIFs stay, plugged as they were, without
     * carrier.  PIFs that stand
     * for no NIC (VLANs, bonds) belong to the modules that made them. */
    json_object_object_foreach (pifs, uuid, record) {
        struct json_object *physical;
        bool present = false;
        if (error || strcmp(field(record, "host"), host)
            || !json_object_object_get_ex(record, "physical", &physical)
            || !json_object_get_boolean(physical)) {
            continue;
        }
        for (size_t i = 0; i < n && !present; i++) {
            present = dp_pif_match(pifs, host, &links[i])
                      && !strcmp(dp_pif_match(pifs, host, &links[i]), uuid);
        }
        if (!present) {
            struct json_object *changes = json_object_new_object();
            json_object_object_add(changes, "carrier",
                                   json_object_new_boolean(false));
            error = store_update(store, "PIF", uuid, changes);
            json_object_put(changes);
        }
    }
    json_object_put(pifs);

    if (error) {
        store_rollback(store);
    } else {
        error = store_commit(store);
    }
    store_pop_actor(store);
    return error;
}

/* Helpers. */

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
               ? json_object_get_string(value)
               : "";
}

static bool
any_management(struct json_object *pifs, const char *host)
{
    json_object_object_foreach (pifs, uuid, record) {
        (void) uuid;
        struct json_object *m;
        if (!strcmp(field(record, "host"), host)
            && json_object_object_get_ex(record, "management", &m)
            && json_object_get_boolean(m)) {
            return true;
        }
    }
    return false;
}

static void
add_runtime(struct json_object *record, const struct dp_link *link)
{
    json_object_object_add(record, "device",
                           json_object_new_string(link->device));
    json_object_object_add(record, "carrier",
                           json_object_new_boolean(link->carrier));
    json_object_object_add(record, "speed", json_object_new_int(link->speed));
    json_object_object_add(record, "duplex",
                           json_object_new_string(link->duplex));
}

static int
create_pif(struct store *store, const char *host, const struct dp_link *link,
           bool management)
{
    struct json_object *record = json_object_new_object();
    char uuid[UUID_LENGTH + 1];

    uuid_text_random(uuid);
    add_runtime(record, link);
    json_object_object_add(record, "currently_attached",
                           json_object_new_boolean(true));
    char network[UUID_LENGTH + 1];
    int error = create_network(store, link, network);
    if (error) {
        json_object_put(record);
        return error;
    }
    json_object_object_add(record, "network", json_object_new_string(network));
    json_object_object_add(record, "MAC", json_object_new_string(link->mac));
    json_object_object_add(record, "MTU", json_object_new_int(link->mtu));
    json_object_object_add(record, "host", json_object_new_string(host));
    json_object_object_add(record, "management",
                           json_object_new_boolean(management));
    if (management && *link->ip) {
        /* The address the host was installed with. */
        json_object_object_add(record, "ip_configuration_mode",
                               json_object_new_string("Static"));
        json_object_object_add(record, "IP", json_object_new_string(link->ip));
        json_object_object_add(record, "netmask",
                               json_object_new_string(link->netmask));
    }
    error = store_insert(store, "PIF", uuid, record);
    json_object_put(record);
    if (!error) {
        log_info("new PIF %s for %s (%s)%s", uuid, link->device, link->mac,
                 management ? ", management" : "");
    }
    return error;
}

/* Creates the network of a new NIC, as XenServer's installer does: named
 * after the device, on bridge "xenbrN" for device "ethN" (else the first
 * free "xenbrN"), with the NIC's MTU. */
static int
create_network(struct store *store, const struct dp_link *link,
               char uuid[UUID_LENGTH + 1])
{
    struct json_object *record = json_object_new_object();
    char label[64], bridge[IF_NAMESIZE];
    unsigned int n;

    if (sscanf(link->device, "eth%u", &n) != 1 || n > 9999) {
        n = 0;
    }
    for (;; n++) {
        snprintf(bridge, sizeof bridge, "xenbr%u", n);
        struct json_object *name = json_object_new_string(bridge);
        struct json_object *users =
            store_find(store, "network", "bridge", name);
        bool taken = json_object_array_length(users) > 0;
        json_object_put(users);
        json_object_put(name);
        if (!taken) {
            break;
        }
    }
    snprintf(label, sizeof label, "Pool-wide network associated with %s",
             link->device);
    json_object_object_add(record, "name_label",
                           json_object_new_string(label));
    json_object_object_add(record, "bridge", json_object_new_string(bridge));
    json_object_object_add(
        record, "MTU",
        json_object_new_int(link->mtu >= 1280 && link->mtu <= 9216 ? link->mtu
                                                                   : 1500));
    uuid_text_random(uuid);
    int error = store_insert(store, "network", uuid, record);
    json_object_put(record);
    return error;
}

static int
refresh_pif(struct store *store, const char *uuid, struct json_object *record,
            const struct dp_link *link)
{
    struct json_object *changes = json_object_new_object();
    struct json_object *old;
    bool raise_carrier = false;

    add_runtime(changes, link);
    if (json_object_object_get_ex(record, "carrier", &old)
        && json_object_get_boolean(old) != link->carrier) {
        log_info("%s: carrier %s", link->device,
                 link->carrier ? "up" : "down");
        raise_carrier = true;
    }
    int error = store_update(store, "PIF", uuid, changes);
    json_object_put(changes);
    if (!error && raise_carrier) {
        error = dp_pif_raise_carrier(store, uuid, link);
    }
    return error;
}
