/*
 * What OVS reports about a bond, turned into the bond's runtime fields:
 * the parsers of `ovs-appctl bond/show` and `lacp/show` (OVSDB has no
 * column for a member's enabled state, its LACP state or its partner), and
 * the decision that combines them with the OVSDB columns (link_state,
 * lacp_current, bfd_status, bond_active_slave).
 */
#include "bonding/bonding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

static struct json_object *section(struct json_object *result,
                                   const char *line);
static struct json_object *member_entry(struct json_object *bond,
                                        const char *name);
static bool starts(const char *line, const char *prefix, const char **rest);
static char *trimmed(const char *text);
static const char *path_string(struct json_object *o, const char *a,
                               const char *b, const char *c, const char *d);
static struct json_object *path(struct json_object *o, const char *a,
                                const char *b, const char *c, const char *d);
static bool estimate_enabled(struct json_object *iface);

struct json_object *
bond_parse_bond_show(const char *text)
{
    struct json_object *result = json_object_new_object();
    struct json_object *bond = NULL, *member = NULL;
    char *copy = xstrdup(text ? text : ""), *save = NULL;

    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        const char *rest;

        if (!strncmp(line, "---- ", 5)) {
            bond = section(result, line);
            member = NULL;
        } else if (bond
                   && (starts(line, "member ", &rest)
                       || starts(line, "slave ", &rest))) {
            const char *colon = strrchr(rest, ':');
            if (!colon) {
                continue;
            }
            char *name = xstrdup(rest);
            name[colon - rest] = '\0';
            member = member_entry(bond, name);
            json_object_object_add(
                member, "enabled",
                json_object_new_boolean(!strcmp(colon + 1, " enabled")));
            free(name);
        } else if (member
                   && (!strcmp(line, "  active member")
                       || !strcmp(line, "  active slave"))) {
            const char *name = NULL;
            json_object_object_foreach (
                json_object_object_get(bond, "members"), key, value) {
                if (value == member) {
                    name = key;
                }
            }
            json_object_object_add(bond, "active",
                                   json_object_new_string(name ? name : ""));
        } else if (member && starts(line, "  may_enable: ", &rest)) {
            json_object_object_add(
                member, "may_enable",
                json_object_new_boolean(!strcmp(rest, "true")));
        } else if (member
                   && (starts(line, "  updelay expires in ", &rest)
                       || starts(line, "  downdelay expires in ", &rest))) {
            json_object_object_add(member, "delay_ms",
                                   json_object_new_int64(atoll(rest)));
        }
    }
    free(copy);
    return result;
}

struct json_object *
bond_parse_lacp_show(const char *text)
{
    struct json_object *result = json_object_new_object();
    struct json_object *bond = NULL, *member = NULL;
    char *copy = xstrdup(text ? text : ""), *save = NULL;

    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        const char *rest;

        if (!strncmp(line, "---- ", 5)) {
            /* "---- bond0 statistics ----" sections follow with
             * lacp/show-stats only; skip them. */
            bond = strstr(line, " statistics ") ? NULL : section(result, line);
            member = NULL;
        } else if (bond && starts(line, "  status: ", &rest)) {
            json_object_object_add(
                bond, "negotiated",
                json_object_new_boolean(strstr(rest, "negotiated") != NULL));
        } else if (bond
                   && (starts(line, "member: ", &rest)
                       || starts(line, "slave: ", &rest))) {
            /* "member: eth1: current attached" */
            const char *colon = strrchr(rest, ':');
            if (!colon) {
                continue;
            }
            char *name = xstrdup(rest);
            name[colon - rest] = '\0';
            member = member_entry(bond, name);
            free(name);

            char *words = trimmed(colon + 1);
            char *space = strchr(words, ' ');
            if (space) {
                *space = '\0';
            }
            json_object_object_add(member, "state",
                                   json_object_new_string(words));
            json_object_object_add(
                member, "attached",
                json_object_new_boolean(space
                                        && !strcmp(space + 1, "attached")));
            free(words);
        } else if (member && starts(line, "  partner sys_id: ", &rest)) {
            char *id = trimmed(rest);
            json_object_object_add(
                member, "partner",
                json_object_new_string(strcmp(id, "00:00:00:00:00:00") ? id
                                                                       : ""));
            free(id);
        }
    }
    free(copy);
    return result;
}

struct json_object *
bond_status_compute(const char *port, struct json_object *members,
                    struct json_object *bond_show,
                    struct json_object *lacp_show,
                    struct json_object *observed)
{
    struct json_object *result = json_object_new_object();
    struct json_object *states = json_object_new_object();
    struct json_object *shown = json_object_object_get(bond_show, port);
    struct json_object *lacp = json_object_object_get(lacp_show, port);
    const char *active_mac =
        path_string(observed, "ports", port, "bond_active_slave", NULL);
    const char *active_device =
        json_object_object_get_ex(shown, "active", NULL)
            ? path_string(shown, "active", NULL, NULL, NULL)
            : NULL;
    const char *active = "";
    int64_t recheck = 0;
    bool settling = false;
    int up = 0;

    for (size_t i = 0; i < json_object_array_length(members); i++) {
        struct json_object *m = json_object_array_get_idx(members, i);
        const char *pif = path_string(m, "pif", NULL, NULL, NULL);
        const char *device = path_string(m, "device", NULL, NULL, NULL);
        const char *mac = path_string(m, "MAC", NULL, NULL, NULL);
        struct json_object *iface =
            path(observed, "interfaces", device, NULL, NULL);
        struct json_object *show = path(shown, "members", device, NULL, NULL);
        struct json_object *lacp_member =
            path(lacp, "members", device, NULL, NULL);
        struct json_object *state = json_object_new_object();
        struct json_object *value;
        bool enabled;

        if (json_object_object_get_ex(show, "enabled", &value)) {
            enabled = json_object_get_boolean(value);
            /* OVS has yet to act on what it knows: the member may be
             * enabled and is not (or the other way round) with no delay
             * running, or its link, LACP and BFD all say up while it is
             * disabled and no updelay has started.  No OVSDB change will
             * say when it does. */
            struct json_object *may;
            bool can = json_object_object_get_ex(show, "may_enable", &may)
                           ? json_object_get_boolean(may)
                           : enabled;
            settling |=
                !json_object_object_get_ex(show, "delay_ms", NULL)
                && (can != enabled || (!enabled && estimate_enabled(iface)));
        } else {
            enabled = estimate_enabled(iface);
        }
        up += enabled;
        if (json_object_object_get_ex(show, "delay_ms", &value)) {
            int64_t ms = json_object_get_int64(value);
            ms = ms < 0 ? 0 : ms;
            if (!recheck || ms + 1 < recheck) {
                recheck = ms + 1;
            }
        }
        if (active_device ? !strcmp(active_device, device)
                          : *mac && !strcasecmp(mac, active_mac)) {
            active = pif;
        }

        const char *lacp_state =
            path_string(lacp_member, "state", NULL, NULL, NULL);
        const char *current =
            path_string(iface, "lacp_current", NULL, NULL, NULL);
        if (!*lacp_state && *current) {
            lacp_state = !strcmp(current, "true") ? "current" : "expired";
        }
        json_object_object_add(
            state, "bond_member_state",
            json_object_new_string(enabled ? "enabled" : "disabled"));
        json_object_object_add(state, "lacp_state",
                               json_object_new_string(lacp_state));
        json_object_object_add(state, "lacp_partner",
                               json_object_new_string(path_string(
                                   lacp_member, "partner", NULL, NULL, NULL)));
        json_object_object_add(state, "bfd_state",
                               json_object_new_string(path_string(
                                   iface, "bfd_status", "state", NULL, NULL)));
        json_object_object_add(states, pif, state);
    }
    json_object_object_add(result, "links_up", json_object_new_int(up));
    json_object_object_add(result, "active_slave",
                           json_object_new_string(active));
    json_object_object_add(result, "recheck_ms",
                           json_object_new_int64(recheck));
    json_object_object_add(result, "settling",
                           json_object_new_boolean(settling));
    json_object_object_add(result, "members", states);
    return result;
}

char *
bond_status_message(const char *devices, int up, int total)
{
    return xasprintf("The status of the %s bond changed: %d/%d up", devices,
                     up, total);
}

/* Helpers. */

/* Starts the section of "---- NAME ----" in 'result' and returns it. */
static struct json_object *
section(struct json_object *result, const char *line)
{
    char *name = xstrdup(line + 5);
    char *end = strstr(name, " ----");
    struct json_object *bond = json_object_new_object();

    if (end) {
        *end = '\0';
    }
    json_object_object_add(bond, "members", json_object_new_object());
    json_object_object_add(result, name, bond);
    free(name);
    return bond;
}

static struct json_object *
member_entry(struct json_object *bond, const char *name)
{
    struct json_object *member = json_object_new_object();

    json_object_object_add(json_object_object_get(bond, "members"), name,
                           member);
    return member;
}

static bool
starts(const char *line, const char *prefix, const char **rest)
{
    size_t length = strlen(prefix);

    if (strncmp(line, prefix, length)) {
        return false;
    }
    *rest = line + length;
    return true;
}

/* Returns a copy of 'text' without leading and trailing blanks. */
static char *
trimmed(const char *text)
{
    while (*text == ' ' || *text == '\t') {
        text++;
    }
    char *copy = xstrdup(text);
    size_t length = strlen(copy);
    while (length
           && (copy[length - 1] == ' ' || copy[length - 1] == '\t'
               || copy[length - 1] == '\r')) {
        copy[--length] = '\0';
    }
    return copy;
}

/* Follows keys a, b, c, d (stopping at the first NULL) and returns the
 * string there, or "" when any step is missing or not a string. */
static const char *
path_string(struct json_object *o, const char *a, const char *b, const char *c,
            const char *d)
{
    o = path(o, a, b, c, d);
    return o && json_object_is_type(o, json_type_string)
               ? json_object_get_string(o)
               : "";
}

static struct json_object *
path(struct json_object *o, const char *a, const char *b, const char *c,
     const char *d)
{
    const char *keys[] = {a, b, c, d};

    for (size_t i = 0; i < 4 && keys[i] && o; i++) {
        if (!json_object_is_type(o, json_type_object)) {
            return NULL;
        }
        o = json_object_object_get(o, keys[i]);
    }
    return o;
}

/* Without bond/show: a member is taken as enabled when its link is up,
 * LACP (if it runs) is current and BFD (if it runs) forwards. */
static bool
estimate_enabled(struct json_object *iface)
{
    const char *link = path_string(iface, "link_state", NULL, NULL, NULL);
    const char *current = path_string(iface, "lacp_current", NULL, NULL, NULL);
    const char *forwarding =
        path_string(iface, "bfd_status", "forwarding", NULL, NULL);

    return !strcmp(link, "up") && strcmp(current, "false")
           && strcmp(forwarding, "false");
}
