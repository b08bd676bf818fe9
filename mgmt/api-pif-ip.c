/*
 * PIF.reconfigure_ip(self, mode, IP, netmask, gateway, DNS).  For a PIF
 * other than the management interface (a storage NIC or a storage VLAN)
 * it stores the configuration (ip_configuration_mode, IP, netmask,
 * gateway, DNS) in one write; the fabric reconciler puts the address on
 * the PIF's bridge interface.  The gateway is kept as xapi keeps it, but
 * only the management interface's gateway makes the default route, so it
 * installs no route here.  The management PIF's configuration, once
 * checked here, goes through api-management.c, which records the old one
 * for the rollback.
 */
#include "mgmt/api-internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

static api_method pif_reconfigure_ip;
static bool is_ipv4(const char *text);
static bool is_netmask(const char *text);
static bool is_ipv4_list(const char *text);

api_method *
api_pif_ip_method(const char *name)
{
    return !strcmp(name, "PIF.reconfigure_ip") ? pif_reconfigure_ip : NULL;
}

static struct np_error *
pif_reconfigure_ip(struct api_call *call, struct json_object **result,
                   bool *deferred)
{
    static const char *const names[] = {"self",    "mode",    "IP",
                                        "netmask", "gateway", "DNS"};
    const char *args[6];
    struct np_error *error;

    if ((error = api_expect_args(call, 6))) {
        return error;
    }
    for (size_t i = 0; i < 6; i++) {
        if ((error = api_arg_string(call, i, names[i], &args[i]))) {
            return error;
        }
    }
    const char *uuid = args[0], *mode_arg = args[1], *ip = args[2];
    const char *netmask = args[3], *gateway = args[4], *dns = args[5];

    struct json_object *pif = store_get(call->api->store, "PIF", uuid);
    if (!pif) {
        return np_error_new(ERR_HANDLE_INVALID, "PIF", uuid, NULL);
    }
    bool management =
        json_object_get_boolean(json_object_object_get(pif, "management"));
    json_object_put(pif);

    /* xapi's values are "None", "DHCP", "Static"; the CLI's are lower
     * case. */
    const char *mode;
    if (!strcasecmp(mode_arg, "none")) {
        mode = "None";
    } else if (!strcasecmp(mode_arg, "static")) {
        mode = "Static";
    } else if (!strcasecmp(mode_arg, "dhcp") && management) {
        mode = "DHCP";
    } else if (!strcasecmp(mode_arg, "dhcp")) {
        return np_error_new(ERR_OPERATION_NOT_ALLOWED,
                            "mode DHCP is only offered for the management "
                            "interface",
                            NULL);
    } else {
        return np_error_new(ERR_INVALID_VALUE, "mode", mode_arg, NULL);
    }

    bool is_static = !strcmp(mode, "Static");
    if (is_static) {
        if (!is_ipv4(ip)) {
            return np_error_new(ERR_INVALID_VALUE, "IP", ip, NULL);
        }
        if (!is_netmask(netmask)) {
            return np_error_new(ERR_INVALID_VALUE, "netmask", netmask, NULL);
        }
        if (*gateway && !is_ipv4(gateway)) {
            return np_error_new(ERR_INVALID_VALUE, "gateway", gateway, NULL);
        }
        if (*dns && !is_ipv4_list(dns)) {
            return np_error_new(ERR_INVALID_VALUE, "DNS", dns, NULL);
        }
    }

    if (management) {
        return api_management_readdress(call->api, uuid, mode, ip, netmask,
                                        gateway, dns);
    }
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "ip_configuration_mode",
                           json_object_new_string(mode));
    json_object_object_add(changes, "IP",
                           json_object_new_string(is_static ? ip : ""));
    json_object_object_add(changes, "netmask",
                           json_object_new_string(is_static ? netmask : ""));
    json_object_object_add(changes, "gateway",
                           json_object_new_string(is_static ? gateway : ""));
    json_object_object_add(changes, "DNS",
                           json_object_new_string(is_static ? dns : ""));
    int retval = store_update(call->api->store, "PIF", uuid, changes);
    json_object_put(changes);
    return retval ? api_store_error(retval, "PIF", uuid) : NULL;
}

/* Helpers. */

static bool
is_ipv4(const char *text)
{
    struct in_addr addr;
    return inet_pton(AF_INET, text, &addr) == 1;
}

/* True for a dotted-quad netmask whose ones are contiguous (0.0.0.0 and
 * 255.255.255.255 excluded: neither names a subnet to live on). */
static bool
is_netmask(const char *text)
{
    struct in_addr addr;

    if (inet_pton(AF_INET, text, &addr) != 1) {
        return false;
    }
    uint32_t mask = ntohl(addr.s_addr);
    uint32_t hosts = ~mask;
    return mask && hosts && !(hosts & (hosts + 1));
}

/* True for a comma-separated list of IPv4 addresses. */
static bool
is_ipv4_list(const char *text)
{
    char *copy = xstrdup(text), *save = NULL;
    bool valid = true, any = false;

    for (char *a = strtok_r(copy, ",", &save); a && valid;
         a = strtok_r(NULL, ",", &save)) {
        valid = is_ipv4(a);
        any = true;
    }
    free(copy);
    return valid && any;
}
