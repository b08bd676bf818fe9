/*
 * OVS statistics that only ovs-appctl and ovs-ofctl give: the datapaths'
 * lookups, flows and masks (dpctl/show; on the userspace datapath, which
 * does not count its masks, the distinct masks of its megaflows from
 * dpctl/dump-flows -m), LACP (lacp/show, lacp/show-stats), and for every
 * bridge its OpenFlow aggregate, netpool's own rules (DP_VIF_COOKIE) and
 * meters.  A read runs in a child process with a time limit, started when
 * the cached result is asked for and older than STATS_MAX_AGE_MS, so a
 * scrape never waits for OVS and nothing runs while nobody asks.  The read
 * starts STATS_START_DELAY_MS after the request, from the loop: forking
 * netpoold and the dozen ovs-* processes of the script then do not compete
 * with the scrape that asked for the page it is sending.
 */
#include "datapath/datapath.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/child.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "ovs-stats"

#define STATS_MAX_AGE_MS 2000    /* Older results start a new read. */
#define STATS_TIMEOUT_S 20       /* Time limit of one read. */
#define STATS_START_DELAY_MS 100 /* From a request to the read it starts. */

/* The read: every section starts with a line "@@KIND [NAME]". */
static const char script[] =
    "export OVS_RUNDIR=\"$1\"\n"
    "a='ovs-appctl --timeout=5'\n"
    "echo '@@lacp_show'; $a lacp/show\n"
    "echo '@@lacp_stats'; $a lacp/show-stats\n"
    "echo '@@dpctl'; $a dpctl/show\n"
    "for dp in $($a dpctl/show | sed -n 's/^\\([^ ].*\\):$/\\1/p'); do\n"
    "  echo \"@@megaflows $dp\"; $a dpctl/dump-flows -m \"$dp\"\n"
    "done\n"
    "for br in $(ovs-vsctl --timeout=5 --db=\"$2\" --bare --columns=name"
    " list Bridge); do\n"
    "  s=\"unix:$OVS_RUNDIR/$br.mgmt\"\n"
    "  echo \"@@aggregate $br\"; ovs-ofctl --timeout=5 dump-aggregate \"$s\"\n"
    "  echo \"@@rules $br\"\n"
    "  ovs-ofctl --timeout=5 dump-flows \"$s\" \"cookie=$3/-1\"\n"
    "  echo \"@@meters $br\"\n"
    "  ovs-ofctl --timeout=5 -O OpenFlow13 meter-stats \"$s\"\n"
    "done\n";

struct dp_ovs_stats {
    struct event_base *base;  /* The loop. */
    char *remote;             /* OVSDB remote. */
    char *rundir;             /* OVS's control sockets, or NULL. */
    struct child *child;      /* Running read, or NULL. */
    struct event *start;      /* Starts the next read. */
    struct json_object *last; /* dp_ovs_stats_parse() of the last read. */
    uint64_t last_ms;         /* When 'last' was read (0: never). */
};

static void start_read(struct dp_ovs_stats *);
static void on_start(evutil_socket_t, short, void *stats_);
static void read_done(void *stats_, const struct child_exit *);
static uint64_t now_ms(void);
static void parse_dpctl(struct json_object *datapaths, const char *line,
                        char **current);
static void parse_megaflow(struct json_object *masks, const char *line);
static void parse_rule(struct json_object *bridge, const char *line);
static void parse_meter(struct json_object *bridge, const char *line,
                        bool *ours);
static void add_int(struct json_object *o, const char *key, int64_t n);
static char *copy_text(const char *text, size_t length);
static int64_t number_after(const char *line, const char *key);

int
dp_ovs_stats_create(struct event_base *base, const char *remote,
                    struct dp_ovs_stats **statsp)
{
    struct dp_ovs_stats *s = xzalloc(sizeof *s);

    s->base = base;
    s->remote = xstrdup(remote);
    s->rundir = dp_ovs_rundir(remote);
    s->last = json_object_new_object();
    s->start = evtimer_new(base, on_start, s);
    *statsp = s;
    return 0;
}

void
dp_ovs_stats_destroy(struct dp_ovs_stats *s)
{
    if (!s) {
        return;
    }
    child_stop(s->child);
    event_free(s->start);
    json_object_put(s->last);
    free(s->rundir);
    free(s->remote);
    free(s);
}

struct json_object *
dp_ovs_stats_get(struct dp_ovs_stats *s)
{
    if (!s->child && !evtimer_pending(s->start, NULL)
        && now_ms() - s->last_ms >= STATS_MAX_AGE_MS) {
        struct timeval delay = {0, STATS_START_DELAY_MS * 1000};
        evtimer_add(s->start, &delay);
    }
    return json_object_get(s->last);
}

struct json_object *
dp_ovs_stats_parse(const char *output)
{
    struct json_object *result = json_object_new_object();
    struct json_object *datapaths = json_object_new_object();
    struct json_object *bridges = json_object_new_object();
    struct json_object *masks = NULL; /* Signatures of one datapath. */
    char *lacp_show = xstrdup(""), *lacp_stats = xstrdup("");
    char *section = xstrdup(""), *name = xstrdup(""), *dp = NULL;
    bool ours = false;
    const char *p = output ? output : "";

    json_object_object_add(result, "datapaths", datapaths);
    json_object_object_add(result, "bridges", bridges);
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t length = end ? (size_t) (end - p) : strlen(p);
        char *line = copy_text(p, length);
        p += length + (end ? 1 : 0);

        if (!strncmp(line, "@@", 2)) {
            if (masks) {
                add_int(json_object_object_get(datapaths, name), "masks",
                        json_object_object_length(masks));
                json_object_put(masks);
                masks = NULL;
            }
            char *space = strchr(line, ' ');
            free(section);
            free(name);
            section = copy_text(line + 2, space ? (size_t) (space - line - 2)
                                                : strlen(line + 2));
            name = xstrdup(space ? space + 1 : "");
            if (!strcmp(section, "megaflows")) {
                struct json_object *d =
                    json_object_object_get(datapaths, name);
                /* A datapath that counts its masks says so itself. */
                if (d && !json_object_object_get_ex(d, "masks", NULL)) {
                    masks = json_object_new_object();
                }
            } else if (strcmp(section, "dpctl") && strcmp(section, "lacp_show")
                       && strcmp(section, "lacp_stats")
                       && !json_object_object_get(bridges, name)) {
                struct json_object *b = json_object_new_object();
                static const char *const keys[] = {
                    "flows",
                    "packets",
                    "bytes",
                    "rules",
                    "rule_packets",
                    "rule_bytes",
                    "drop_packets",
                    "drop_bytes",
                    "meter_drop_packets",
                    "meter_drop_bytes",
                };
                for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
                    add_int(b, keys[i], 0);
                }
                json_object_object_add(bridges, name, b);
            }
        } else if (!strcmp(section, "lacp_show")
                   || !strcmp(section, "lacp_stats")) {
            char **text =
                !strcmp(section, "lacp_show") ? &lacp_show : &lacp_stats;
            char *joined = xasprintf("%s%s\n", *text, line);
            free(*text);
            *text = joined;
        } else if (!strcmp(section, "dpctl")) {
            parse_dpctl(datapaths, line, &dp);
        } else if (masks) {
            parse_megaflow(masks, line);
        } else if (!strcmp(section, "aggregate")
                   && strstr(line, "flow_count=")) {
            struct json_object *b = json_object_object_get(bridges, name);
            add_int(b, "flows", number_after(line, "flow_count="));
            add_int(b, "packets", number_after(line, "packet_count="));
            add_int(b, "bytes", number_after(line, "byte_count="));
        } else if (!strcmp(section, "rules")) {
            parse_rule(json_object_object_get(bridges, name), line);
        } else if (!strcmp(section, "meters")) {
            parse_meter(json_object_object_get(bridges, name), line, &ours);
        }
        free(line);
    }
    if (masks) {
        add_int(json_object_object_get(datapaths, name), "masks",
                json_object_object_length(masks));
        json_object_put(masks);
    }
    json_object_object_add(result, "lacp_show",
                           json_object_new_string(lacp_show));
    json_object_object_add(result, "lacp_stats",
                           json_object_new_string(lacp_stats));
    free(lacp_show);
    free(lacp_stats);
    free(section);
    free(name);
    free(dp);
    return result;
}

/* Reading. */

static void
start_read(struct dp_ovs_stats *s)
{
    char cookie[32];
    snprintf(cookie, sizeof cookie, "%#llx",
             (unsigned long long) DP_VIF_COOKIE);
    const char *args[] = {s->rundir ? s->rundir : "", s->remote, cookie, NULL};
    int error = child_start_script(s->base, script, args, STATS_TIMEOUT_S,
                                   read_done, s, &s->child);
    if (error) {
        log_warn("cannot read OVS statistics: %s", strerror(error));
        s->last_ms = now_ms();
    }
}

static void
on_start(evutil_socket_t fd, short what, void *stats_)
{
    struct dp_ovs_stats *s = stats_;

    if (!s->child) {
        start_read(s);
    }
}

static void
read_done(void *stats_, const struct child_exit *end)
{
    struct dp_ovs_stats *s = stats_;

    s->child = NULL;
    s->last_ms = now_ms();
    if (!end->complete) {
        log_warn("OVS statistics took longer than %d s; keeping the last",
                 STATS_TIMEOUT_S);
        return;
    }
    json_object_put(s->last);
    s->last = dp_ovs_stats_parse(end->output);
}

static uint64_t
now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Parsing. */

/* One line of `dpctl/show`: "DP:" starts a datapath; "  lookups: hit:H
 * missed:M lost:L", "  flows: F", "  masks: hit:H total:T hit/pkt:R"
 * describe it. */
static void
parse_dpctl(struct json_object *datapaths, const char *line, char **current)
{
    size_t length = strlen(line);

    if (length > 1 && line[0] != ' ' && line[length - 1] == ':') {
        free(*current);
        *current = copy_text(line, length - 1);
        json_object_object_add(datapaths, *current, json_object_new_object());
        return;
    }
    struct json_object *d =
        *current ? json_object_object_get(datapaths, *current) : NULL;
    if (!d) {
        return;
    }
    if (strstr(line, "  lookups:") == line) {
        add_int(d, "hits", number_after(line, "hit:"));
        add_int(d, "missed", number_after(line, "missed:"));
        add_int(d, "lost", number_after(line, "lost:"));
    } else if (strstr(line, "  flows:") == line) {
        add_int(d, "flows", number_after(line, "flows:"));
    } else if (strstr(line, "  masks:") == line) {
        add_int(d, "masks", number_after(line, "total:"));
    }
}

/* Adds the mask signature of one `dpctl/dump-flows -m` line to 'masks':
 * its match with every value dropped and every mask kept, so that flows
 * that differ only in the values they match count once. */
static void
parse_megaflow(struct json_object *masks, const char *line)
{
    const char *start = strstr(line, ", ");
    const char *end = strstr(line, ", packets:");

    if (strncmp(line, "ufid:", 5) || !start || !end || end < start) {
        return;
    }
    start += 2;
    char *signature = xmalloc(end - start + 1);
    size_t n = 0;
    const char *token = start;
    for (const char *q = start; q <= end; q++) {
        if (q < end && *q != '(' && *q != ')' && *q != ',') {
            continue;
        }
        /* 'token'..'q' is a field name (before '(') or a value, a
         * "key=value" or either with "/mask". */
        const char *equals = memchr(token, '=', q - token);
        const char *slash = memchr(token, '/', q - token);
        if (q < end && *q == '(') {
            memcpy(signature + n, token, q - token);
            n += q - token;
        } else {
            if (equals) {
                memcpy(signature + n, token, equals + 1 - token);
                n += equals + 1 - token;
            }
            if (slash) {
                memcpy(signature + n, slash, q - slash);
                n += q - slash;
            }
        }
        if (q < end) {
            signature[n++] = *q;
        }
        token = q + 1;
    }
    signature[n] = '\0';
    json_object_object_add(masks, signature, NULL);
    free(signature);
}

/* One rule of `dump-flows` filtered on netpool's cookie. */
static void
parse_rule(struct json_object *bridge, const char *line)
{
    if (!bridge || !strstr(line, "n_packets=")) {
        return;
    }
    int64_t packets = number_after(line, "n_packets=");
    int64_t bytes = number_after(line, "n_bytes=");
    const char *actions = strstr(line, "actions=");
    struct json_object *v;

    add_int(bridge, "rules",
            json_object_get_int64(json_object_object_get(bridge, "rules"))
                + 1);
#define ADD(KEY, N)                          \
    v = json_object_object_get(bridge, KEY); \
    add_int(bridge, KEY, json_object_get_int64(v) + (N))
    ADD("rule_packets", packets);
    ADD("rule_bytes", bytes);
    if (actions && !strcmp(actions, "actions=drop")) {
        ADD("drop_packets", packets);
        ADD("drop_bytes", bytes);
    }
}

/* One line of `meter-stats`: "meter:ID …" starts a meter (netpool's when
 * ID is DP_VIF_METER_BASE or more); "N: packet_count:P byte_count:B" is a
 * band, whose packets are those the band dropped. */
static void
parse_meter(struct json_object *bridge, const char *line, bool *ours)
{
    struct json_object *v;

    if (!bridge) {
        return;
    }
    if (!strncmp(line, "meter:", 6)) {
        *ours = strtoull(line + 6, NULL, 10) >= DP_VIF_METER_BASE;
    } else if (*ours && strstr(line, "packet_count:")) {
        ADD("meter_drop_packets", number_after(line, "packet_count:"));
        ADD("meter_drop_bytes", number_after(line, "byte_count:"));
    }
#undef ADD
}

static void
add_int(struct json_object *o, const char *key, int64_t n)
{
    if (o) {
        json_object_object_add(o, key, json_object_new_int64(n));
    }
}

/* Returns the decimal number that follows 'key' in 'line', 0 if none. */
static int64_t
number_after(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

/* Returns a new string of the 'length' characters at 'text'. */
static char *
copy_text(const char *text, size_t length)
{
    char *copy = xmalloc(length + 1);
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

char *
dp_ovs_rundir(const char *remote)
{
    const char *env = getenv("OVS_RUNDIR");

    if (remote && !strncmp(remote, "unix:", 5)) {
        char *dir = xstrdup(remote + 5);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            return dir;
        }
        free(dir);
    }
    return env && *env ? xstrdup(env) : NULL;
}
