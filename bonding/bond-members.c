/*
 * Bond members: which PIFs may be bonded together, and which of them is
 * the primary.  xapi's rules, plus a matching MTU (every member carries
 * the bond's frames, so they must agree on their size).
 */
#include "bonding/bonding.h"

#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"

static const char *field(struct json_object *record, const char *name);
static int64_t int_field(struct json_object *record, const char *name,
                         int64_t dflt);
static bool bool_field(struct json_object *record, const char *name,
                       bool dflt);
static int64_t member_mtu(struct json_object *pif,
                          struct json_object *networks);
static struct np_error *check_member(struct json_object *pif, const char *uuid,
                                     const char *host, const char *bond);

bool
bond_mode_parse(const char *text, enum bond_mode *mode)
{
    static const struct {
        const char *name;
        enum bond_mode mode;
    } modes[] = {
        {"balance-slb", BOND_MODE_BALANCE_SLB},
        {"active-backup", BOND_MODE_ACTIVE_BACKUP},
        {"lacp", BOND_MODE_LACP},
    };

    for (size_t i = 0; text && i < sizeof modes / sizeof *modes; i++) {
        if (!strcmp(text, modes[i].name)) {
            *mode = modes[i].mode;
            return true;
        }
    }
    return false;
}

const char *
bond_mode_name(enum bond_mode mode)
{
    switch (mode) {
    case BOND_MODE_ACTIVE_BACKUP:
        return "active-backup";
    case BOND_MODE_LACP:
        return "lacp";
    case BOND_MODE_BALANCE_SLB:
    default:
        return "balance-slb";
    }
}

struct np_error *
bond_check_members(struct json_object *pifs, struct json_object *networks,
                   struct json_object *members, enum bond_mode mode,
                   const char *host, const char *bond)
{
    size_t n = json_object_array_length(members);
    int64_t mtu = 0;

    for (size_t i = 0; i < n; i++) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(members, i));
        struct json_object *pif = json_object_object_get(pifs, uuid);
        struct np_error *error;

        if (!pif) {
            return np_error_new(ERR_HANDLE_INVALID, "PIF", uuid, NULL);
        }
        for (size_t j = 0; j < i; j++) {
            const char *other =
                json_object_get_string(json_object_array_get_idx(members, j));
            if (!strcmp(other, uuid)) {
                return np_error_new(ERR_INVALID_VALUE, "members", uuid, NULL);
            }
        }
        if ((error = check_member(pif, uuid, host, bond))) {
            return error;
        }
        int64_t pif_mtu = member_mtu(pif, networks);
        if (i == 0) {
            mtu = pif_mtu;
        } else if (pif_mtu != mtu) {
            char have[24], want[24];
            snprintf(have, sizeof have, "%lld", (long long) pif_mtu);
            snprintf(want, sizeof want, "%lld", (long long) mtu);
            return np_error_new(ERR_PIF_BOND_MTU_MISMATCH, uuid, have, want,
                                NULL);
        }
    }

    if (n < BOND_MIN_MEMBERS) {
        char count[24];
        snprintf(count, sizeof count, "%zu", n);
        return np_error_new(ERR_PIF_BOND_NEEDS_MORE_MEMBERS, count, NULL);
    }
    if (mode == BOND_MODE_LACP && n > BOND_LACP_MAX_MEMBERS) {
        char max[24];
        snprintf(max, sizeof max, "%d", BOND_LACP_MAX_MEMBERS);
        return np_error_new(ERR_PIF_BOND_TOO_MANY_MEMBERS,
                            json_object_get_string(json_object_array_get_idx(
                                members, BOND_LACP_MAX_MEMBERS)),
                            max, NULL);
    }
    return NULL;
}

const char *
bond_pick_primary_member(struct json_object *pifs, struct json_object *members)
{
    size_t n = json_object_array_length(members);

    if (!n) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(members, i));
        if (bool_field(json_object_object_get(pifs, uuid), "management",
                       false)) {
            return uuid;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(members, i));
        const char *mode =
            field(json_object_object_get(pifs, uuid), "ip_configuration_mode");
        if (*mode && strcmp(mode, "None")) {
            return uuid;
        }
    }
    return json_object_get_string(json_object_array_get_idx(members, 0));
}

/* Helpers. */

/* One member on its own: everything but the count and the MTU. */
static struct np_error *
check_member(struct json_object *pif, const char *uuid, const char *host,
             const char *bond)
{
    const char *slave_of = field(pif, "bond_slave_of");

    if (int_field(pif, "VLAN", -1) != -1) {
        return np_error_new(ERR_PIF_IS_VLAN, uuid, NULL);
    }
    if (!bool_field(pif, "physical", true)) {
        return np_error_new(ERR_PIF_IS_NOT_PHYSICAL, uuid, NULL);
    }
    if (!bool_field(pif, "managed", true)) {
        return np_error_new(ERR_PIF_UNMANAGED, uuid, NULL);
    }
    if (*slave_of && (!bond || strcmp(slave_of, bond))) {
        return np_error_new(ERR_PIF_IS_ALREADY_BONDED, uuid, NULL);
    }
    if (strcmp(field(pif, "host"), host)) {
        return np_error_new(ERR_PIF_CANNOT_BOND_CROSS_HOST, uuid, NULL);
    }
    return NULL;
}

/* The MTU a member carries: its network's (what the fabric gives its
 * port), else its own. */
static int64_t
member_mtu(struct json_object *pif, struct json_object *networks)
{
    struct json_object *network =
        json_object_object_get(networks, field(pif, "network"));

    return network ? int_field(network, "MTU", 1500)
                   : int_field(pif, "MTU", 1500);
}

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
}

static int64_t
int_field(struct json_object *record, const char *name, int64_t dflt)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_int)
               ? json_object_get_int64(value)
               : dflt;
}

static bool
bool_field(struct json_object *record, const char *name, bool dflt)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_boolean)
               ? json_object_get_boolean(value)
               : dflt;
}
