/*
 * LACP as ovs-vswitchd prints it: `ovs-appctl lacp/show` (actor and
 * partner of every member) and `lacp/show-stats` (LACPDU counts), parsed
 * for IEEE8023-LAG-MIB.  OVSDB carries neither.  Pure.
 */
#include "mgmt/snmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

static void parse_show(struct json_object *result, const char *text);
static void parse_stats(struct json_object *result, const char *text);
static struct json_object *ensure(struct json_object *parent, const char *key);
static char *trim(char *s);
static int state_bits(const char *words);

struct json_object *
snmp_lacp_parse(const char *show, const char *stats)
{
    struct json_object *result = json_object_new_object();

    if (show) {
        parse_show(result, show);
    }
    if (stats) {
        parse_stats(result, stats);
    }
    return result;
}

/* "---- PORT ----" starts a bond, "member: DEV: …" a member; the other
 * lines are "key: value", with "actor " or "partner " before the key in a
 * member's part. */
static void
parse_show(struct json_object *result, const char *text)
{
    char *copy = xstrdup(text);
    char *save = NULL;
    struct json_object *bond = NULL, *member = NULL;

    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        if (sscanf(line, "---- %63s ----", name) == 1) {
            bond = ensure(result, name);
            ensure(bond, "members");
            member = NULL;
            continue;
        }
        if (!bond) {
            continue;
        }
        if (!strncmp(line, "member: ", 8) || !strncmp(line, "slave: ", 7)) {
            char *dev = line + (line[0] == 'm' ? 8 : 7);
            char *colon = strchr(dev, ':');
            if (!colon) {
                continue;
            }
            *colon = '\0';
            member = ensure(json_object_object_get(bond, "members"), dev);
            json_object_object_add(
                member, "attached",
                json_object_new_boolean(strstr(colon + 1, " attached")
                                        != NULL));
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon) {
            continue;
        }
        *colon = '\0';
        char *key = trim(line), *value = trim(colon + 1);
        /* MAC addresses hold colons: the key ends at the first one. */
        if (strchr(value, ':') == NULL && strlen(value) == 0) {
            continue;
        }
        struct json_object *target = member ? member : bond;
        char field[64];
        const char *k = key;
        if (!strncmp(key, "actor ", 6) || !strncmp(key, "partner ", 8)) {
            bool actor = key[0] == 'a';
            snprintf(field, sizeof field, "%s_%s", actor ? "actor" : "partner",
                     key + (actor ? 6 : 8));
            k = field;
        } else if (member) {
            /* The member's own port_id, port_priority, may_enable. */
            continue;
        } else if (!strcmp(key, "aggregation key")) {
            k = "key";
        }
        char normalized[64];
        snprintf(normalized, sizeof normalized, "%s", k);
        for (char *p = normalized; *p; p++) {
            if (*p == ' ') {
                *p = '_';
            }
        }
        if (strstr(normalized, "_state")) {
            json_object_object_add(target, normalized,
                                   json_object_new_int(state_bits(value)));
        } else if (strstr(normalized, "sys_id")
                   || !strcmp(normalized, "status")) {
            json_object_object_add(target, normalized,
                                   json_object_new_string(value));
        } else if (!strcmp(normalized, "lacp_time")) {
            json_object_object_add(target, normalized,
                                   json_object_new_string(value));
        } else {
            json_object_object_add(target, normalized,
                                   json_object_new_int64(atoll(value)));
        }
    }
    free(copy);
}

static void
parse_stats(struct json_object *result, const char *text)
{
    static const struct {
        const char *label; /* As lacp/show-stats prints it. */
        const char *key;   /* Our key. */
    } counters[] = {
        {"TX PDUs", "tx_pdus"},
        {"RX PDUs", "rx_pdus"},
        {"RX Bad PDUs", "rx_bad_pdus"},
        {"RX Marker Request PDUs", "rx_marker_pdus"},
    };
    char *copy = xstrdup(text);
    char *save = NULL;
    struct json_object *bond = NULL, *member = NULL;

    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        if (sscanf(line, "---- %63s statistics ----", name) == 1) {
            bond = ensure(result, name);
            ensure(bond, "members");
            member = NULL;
            continue;
        }
        if (!bond) {
            continue;
        }
        if (!strncmp(line, "member: ", 8) || !strncmp(line, "slave: ", 7)) {
            char *dev = line + (line[0] == 'm' ? 8 : 7);
            char *colon = strchr(dev, ':');
            if (colon) {
                *colon = '\0';
            }
            member =
                ensure(json_object_object_get(bond, "members"), trim(dev));
            continue;
        }
        char *colon = strchr(line, ':');
        if (!member || !colon) {
            continue;
        }
        *colon = '\0';
        char *label = trim(line);
        for (size_t i = 0; i < sizeof counters / sizeof *counters; i++) {
            if (!strcmp(label, counters[i].label)) {
                json_object_object_add(
                    member, counters[i].key,
                    json_object_new_int64(atoll(trim(colon + 1))));
            }
        }
    }
    free(copy);
}

/* Returns the object 'key' of 'parent', adding an empty one if absent. */
static struct json_object *
ensure(struct json_object *parent, const char *key)
{
    struct json_object *child;

    if (!json_object_object_get_ex(parent, key, &child)) {
        child = json_object_new_object();
        json_object_object_add(parent, key, child);
    }
    return child;
}

static char *
trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        s[--n] = '\0';
    }
    return s;
}

/* LacpState bits (bit 0 = lacpActivity … bit 7 = expired) from the words
 * OVS prints for a state. */
static int
state_bits(const char *words)
{
    static const char *const names[] = {
        "activity",   "timeout",      "aggregation", "synchronized",
        "collecting", "distributing", "defaulted",   "expired",
    };
    char *copy = xstrdup(words);
    char *save = NULL;
    int bits = 0;

    for (char *w = strtok_r(copy, " ", &save); w;
         w = strtok_r(NULL, " ", &save)) {
        for (int i = 0; i < 8; i++) {
            if (!strcmp(w, names[i])) {
                bits |= 1 << i;
            }
        }
    }
    free(copy);
    return bits;
}
