/*
 * Bond properties: the keys a bond's properties map may hold, their
 * values, and their defaults.  Without BFD they are xapi's (REFERENCE.md:
 * miimon 100 ms, downdelay 200 ms, updelay 31000 ms, carrier detection,
 * lacp-time slow, lacp-fallback-ab true, rebalancing every 30 minutes for
 * non-LACP bonds).  With BFD the delays change, because BFD itself says
 * when a member fails and when it forwards again:
 *
 *   - BFD every 25 ms: a member that keeps carrier but passes nothing is
 *     declared down after 3 missed packets (75 ms), and the far end learns
 *     it from the next packet, so a silent failure loses under 100 ms of
 *     traffic (perf/bench-bond-failover.sh).  Shorter intervals lose less
 *     but take a member down whenever ovs-vswitchd stalls longer than
 *     three of them, which a busy 2-core host does.
 *   - downdelay 0: BFD already waited those 75 ms; a further delay only
 *     adds loss.
 *   - updelay 2000 ms, counted from the moment BFD says the member
 *     forwards (OVS enables a member only when carrier, BFD and LACP all
 *     agree), so that a member whose BFD session flaps is not used.
 *
 * Failback.  An active-backup bond names its primary member to OVS
 * (bond-primary), and OVS makes the primary active whenever it is
 * enabled: after it failed, it takes the traffic back once its updelay has
 * run.  That can cost traffic when the member returns, in both shapes
 * perf/bench-bond-failover.sh measures (figures in perf/README.md):
 *
 *   - Facing another active-backup bond (two hosts back to back), both
 *     ends fail back, each when its own updelay ends, and OVS drops what
 *     arrives on a member that is not its active one, so the frames sent
 *     between the two fail-backs are lost.  The updelays start when each
 *     end's BFD session comes up, and left to OVS 3.1 those moments are up
 *     to a second apart: a session that is not up sends once a second
 *     (RFC 5880 6.8.3), and OVS sends nothing extra when its session comes
 *     up, so the end that comes up first announces it only with its next
 *     once-a-second packet (ovs-vswitchd.log of both ends: 0.86 s between
 *     the two "init->up", and between the two fail-backs).  A longer
 *     updelay shifts both fail-backs by the same amount and leaves the
 *     gap.  So netpool makes OVS poll the far end whenever a member's
 *     session leaves down or comes up (bonding.h, bond_ovs_bfd_poll()),
 *     which brings both ends up within a round trip when this end goes
 *     init first, and within netpool's reaction to OVSDB (tens of ms)
 *     when the far end does; the fail-backs follow as close together.
 *   - Facing plain switch ports, the switch keeps sending to the old
 *     port until it has learned the bond's MAC on the primary's port from
 *     the learning packets OVS sends; an OVS switch took 0.5-1.4 s.
 *
 * properties:failback=false leaves bond-primary out, so OVS keeps the
 * active member while it is enabled (Linux's primary_reselect=failure):
 * a returning member becomes a standby and nothing is lost when it
 * returns (rejoin 0 in both shapes).  It is not the default, because the
 * primary is also what makes two active-backup ends agree: when no member
 * is enabled (a new bond, both links down, or ovs-vswitchd stalling past
 * BFD's 75 ms on a busy host), OVS takes the first member whose BFD comes
 * up, and the two ends of a back-to-back link can take different ones;
 * with a primary both go back to it within an updelay, without one each
 * keeps its own and the link carries nothing until a member fails again
 * (measured: 39 s, after a 50-65 ms stall at load 7).
 * Facing switch ports that learn MACs (the usual shape of an xapi
 * active-backup bond), there is no such agreement to keep, and
 * failback=false is the better setting.
 */
#include "bonding/bonding.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

/* xapi's defaults. */
#define DEFAULT_UPDELAY 31000
#define DEFAULT_DOWNDELAY 200
#define DEFAULT_MIIMON 100
#define DEFAULT_SLB_REBALANCE 1800000

/* Defaults of a bond that runs BFD (see above). */
#define DEFAULT_BFD_INTERVAL 25
#define DEFAULT_BFD_UPDELAY 2000
#define DEFAULT_BFD_DOWNDELAY 0

/* What a key's value must look like. */
enum value_kind {
    VALUE_WORD, /* One of 'words'. */
    VALUE_MS,   /* Milliseconds within [min, max]. */
};

/* One key a properties map may hold. */
struct property {
    const char *key;          /* Key in the map. */
    enum value_kind kind;     /* What its value is. */
    const char *const *words; /* VALUE_WORD: accepted values. */
    long long min, max;       /* VALUE_MS: inclusive range. */
};

static const char *const hashes[] = {"src_mac", "tcpudp_ports", NULL};
static const char *const speeds[] = {"fast", "slow", NULL};
static const char *const booleans[] = {"true", "false", NULL};
static const char *const detects[] = {"carrier", "miimon", NULL};

static const struct property properties[] = {
    {"hashing_algorithm", VALUE_WORD, hashes, 0, 0},
    {"lacp-time", VALUE_WORD, speeds, 0, 0},
    {"lacp-fallback-ab", VALUE_WORD, booleans, 0, 0},
    {"rebalance-interval", VALUE_MS, NULL, 0, 2147483647},
    {"updelay", VALUE_MS, NULL, 0, 3600000},
    {"downdelay", VALUE_MS, NULL, 0, 3600000},
    {"detect", VALUE_WORD, detects, 0, 0},
    {"miimon", VALUE_MS, NULL, 1, 3600000},
    {"bfd", VALUE_WORD, booleans, 0, 0},
    {"bfd-min-rx", VALUE_MS, NULL, 1, 60000},
    {"bfd-min-tx", VALUE_MS, NULL, 1, 60000},
    {"failback", VALUE_WORD, booleans, 0, 0},
};

static struct np_error *check_keys(struct json_object *properties);
static const struct property *find_property(const char *key);
static bool parse_ms(const char *text, long long min, long long max,
                     long long *value);
static const char *default_hash(enum bond_mode mode);
static const char *get(struct json_object *properties, const char *key);
static int64_t get_ms(struct json_object *properties, const char *key,
                      int64_t dflt);
static struct np_error *bad_value(const char *key, const char *value);

struct np_error *
bond_properties_check(enum bond_mode mode, struct json_object *properties,
                      struct json_object **normalizedp)
{
    struct json_object *empty = json_object_new_object();
    struct np_error *error = check_keys(properties ? properties : empty);

    json_object_put(empty);
    if (error) {
        return error;
    }
    const char *hash = get(properties, "hashing_algorithm");
    if (hash && !strcmp(hash, "tcpudp_ports") && mode != BOND_MODE_LACP) {
        return bad_value("hashing_algorithm", hash);
    }
    if (normalizedp) {
        struct json_object *normalized = json_object_new_object();
        if (properties) {
            json_object_object_foreach (properties, k, v) {
                json_object_object_add(normalized, k, json_object_get(v));
            }
        }
        if (!hash) {
            json_object_object_add(normalized, "hashing_algorithm",
                                   json_object_new_string(default_hash(mode)));
        }
        *normalizedp = normalized;
    }
    return NULL;
}

struct json_object *
bond_properties_for_mode(enum bond_mode mode, struct json_object *properties)
{
    struct json_object *adjusted = json_object_new_object();

    if (properties) {
        json_object_object_foreach (properties, key, value) {
            json_object_object_add(adjusted, key, json_object_get(value));
        }
    }
    const char *hash = get(adjusted, "hashing_algorithm");
    if (!hash || (!strcmp(hash, "tcpudp_ports") && mode != BOND_MODE_LACP)) {
        json_object_object_add(adjusted, "hashing_algorithm",
                               json_object_new_string(default_hash(mode)));
    }
    return adjusted;
}

void
bond_properties_read(enum bond_mode mode, struct json_object *properties,
                     struct bond_properties *out)
{
    const char *hash = get(properties, "hashing_algorithm");
    const char *time = get(properties, "lacp-time");
    const char *fallback = get(properties, "lacp-fallback-ab");
    const char *detect = get(properties, "detect");
    const char *bfd = get(properties, "bfd");
    const char *failback = get(properties, "failback");

    memset(out, 0, sizeof *out);
    out->tcpudp_ports = mode == BOND_MODE_LACP
                        && strcmp(hash ? hash : default_hash(mode), "src_mac");
    out->lacp_fast = time && !strcmp(time, "fast");
    out->lacp_fallback_ab = !fallback || strcmp(fallback, "false");
    out->rebalance_interval =
        get_ms(properties, "rebalance-interval",
               mode == BOND_MODE_BALANCE_SLB ? DEFAULT_SLB_REBALANCE : -1);
    out->bfd = bfd && !strcmp(bfd, "true");
    out->updelay = get_ms(properties, "updelay",
                          out->bfd ? DEFAULT_BFD_UPDELAY : DEFAULT_UPDELAY);
    out->downdelay =
        get_ms(properties, "downdelay",
               out->bfd ? DEFAULT_BFD_DOWNDELAY : DEFAULT_DOWNDELAY);
    out->miimon = detect && !strcmp(detect, "miimon");
    out->miimon_interval = get_ms(properties, "miimon", DEFAULT_MIIMON);
    out->bfd_min_rx = get_ms(properties, "bfd-min-rx", DEFAULT_BFD_INTERVAL);
    out->bfd_min_tx = get_ms(properties, "bfd-min-tx", DEFAULT_BFD_INTERVAL);
    out->failback = !failback || strcmp(failback, "false");
}

/* Helpers. */

/* Checks every key and value of the map 'properties'. */
static struct np_error *
check_keys(struct json_object *properties)
{
    if (!json_object_is_type(properties, json_type_object)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, "properties", NULL);
    }
    json_object_object_foreach (properties, key, value) {
        const struct property *p = find_property(key);
        const char *text = json_object_get_string(value);
        bool good = false;

        if (!p || !json_object_is_type(value, json_type_string)) {
            return bad_value(key, text ? text : "");
        }
        if (p->kind == VALUE_WORD) {
            for (size_t i = 0; p->words[i] && !good; i++) {
                good = !strcmp(p->words[i], text);
            }
        } else {
            long long ms;
            good = parse_ms(text, p->min, p->max, &ms);
        }
        if (!good) {
            return bad_value(key, text);
        }
    }
    return NULL;
}

static const struct property *
find_property(const char *key)
{
    for (size_t i = 0; i < sizeof properties / sizeof *properties; i++) {
        if (!strcmp(properties[i].key, key)) {
            return &properties[i];
        }
    }
    return NULL;
}

/* Parses a whole decimal number of milliseconds within [min, max]. */
static bool
parse_ms(const char *text, long long min, long long max, long long *value)
{
    char *end;

    if (!*text || *text == '-' || *text == '+' || *text == ' ') {
        return false;
    }
    errno = 0;
    *value = strtoll(text, &end, 10);
    return !errno && !*end && *value >= min && *value <= max;
}

static const char *
default_hash(enum bond_mode mode)
{
    return mode == BOND_MODE_LACP ? "tcpudp_ports" : "src_mac";
}

static const char *
get(struct json_object *properties, const char *key)
{
    struct json_object *value;
    return json_object_object_get_ex(properties, key, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : NULL;
}

static int64_t
get_ms(struct json_object *properties, const char *key, int64_t dflt)
{
    const struct property *p = find_property(key);
    const char *text = get(properties, key);
    long long ms;

    return text && p && parse_ms(text, p->min, p->max, &ms) ? ms : dflt;
}

/* INVALID_VALUE naming the key as the CLI writes it. */
static struct np_error *
bad_value(const char *key, const char *value)
{
    char *name = xasprintf("properties:%s", key);
    struct np_error *error =
        np_error_new(ERR_INVALID_VALUE, name, value, NULL);
    free(name);
    return error;
}
