/*
 * The HA monitor: every cycle (timeout / 5) this host writes its
 * statefile entry on the heartbeat SR and reads every other host's, then
 * applies the survival rule (ha-rules.c) to what corosync and the
 * statefile say.  It fences this host when the rule says it lost or when
 * the timeout passed since it last stayed, keeps the watchdog's deadline
 * moving while it stays, and, on the acting master, restarts the
 * protected VMs of hosts known fenced.  ha/README.md ("High
 * availability") gives the rules and the timing argument.
 *
 * The statefile is one file per host, "ha-<host>.state", in the folder of
 * the pool's first heartbeat SR, reached with libnfs (storage/) from the
 * PIF on the server's subnet.  An entry is JSON padded with spaces to
 * ENTRY_SIZE bytes, written whole at offset 0, so an entry never needs a
 * truncation a reader could see.
 */
#include "ha/ha-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"
#include "storage/storage.h"

#define LOG_MODULE "ha"

#define ENTRY_SIZE 4096          /* Bytes of an entry on the statefile. */
#define IDLE_MS 1000             /* Cycle while HA is off. */
#define TASK_NAME "VM.start"     /* What a restart's task is called. */
#define MESSAGE_PRIORITY_ALERT 2 /* xapi's priority of an HA restart. */

/* Another host of the pool, as this host's reads see it. */
struct peer {
    char host[UUID_LENGTH + 1]; /* Its UUID. */
    struct ha_lease lease;      /* Since when its entry is the same. */
    char *content;              /* Its entry as last read ("" for no
                                 * file), or NULL before any read. */
    struct json_object *entry;  /* 'content' parsed, or NULL. */
    int64_t read_issued;        /* When this cycle's read was sent. */
    bool read_ok;               /* This cycle's read succeeded. */
    bool seen;                  /* Still a host of the pool. */
    struct ha_monitor *monitor; /* Owner (for the read's callback). */
};

/* A restart waiting for its start delay. */
struct due {
    char vm[UUID_LENGTH + 1];   /* The VM. */
    char host[UUID_LENGTH + 1]; /* Where it goes. */
    char lost[UUID_LENGTH + 1]; /* The fenced host it ran on. */
    uint64_t at;                /* When (monotonic ms). */
};

struct ha_monitor {
    struct event_base *base;
    struct store *store;
    struct ha_pool *pool;
    char host[UUID_LENGTH + 1];
    char *mark_path;      /* STATE/ha-fenced. */
    char *local_off_path; /* STATE/ha-disabled-locally. */
    char *domain_marker;  /* What the watchdog kills. */
    void (*fence)(void *aux, struct ha_monitor *, ha_fenced_cb *);
    void (*unfence)(void *aux);
    void *aux;
    struct event *tick;

    /* The pool's HA configuration, read every cycle. */
    bool enabled;
    int timeout_ms;
    char sr[UUID_LENGTH + 1]; /* The heartbeat SR in use, or "". */
    char nfs_key[1200];       /* server:path%interface of the client. */

    /* The statefile client. */
    struct storage_nfs *nfs;
    bool mounted;

    /* The cycle in flight. */
    bool in_cycle;
    uint64_t cycle_start;  /* When it began. */
    size_t pending;        /* Requests not answered yet. */
    uint64_t write_issued; /* When this host's entry was sent. */
    bool write_ok;         /* Confirmed within the write timeout. */
    bool reads_ok;         /* Every entry read. */
    uint64_t counter;      /* Raised at every write. */
    uint64_t generation;   /* Raised at every clear. */
    struct peer **peers;   /* Every other host of the pool. */
    size_t n_peers;
    struct json_object *view; /* This host's configuration, as written. */

    /* Drawn at start and written in every entry: two runs of netpoold
     * never write the same entry, though each counts from 1. */
    char incarnation[UUID_LENGTH + 1]; /* A random UUID. */

    /* Decisions. */
    enum ha_verdict verdict;  /* Of the last cycle. */
    uint64_t last_stay;       /* When this host last stayed (ms). */
    int64_t lost_report;      /* When it last reported the statefile
                               * lost, -1 never. */
    bool fenced;              /* Its domains are ended; out of the pool. */
    bool fencing;             /* Ending them. */
    bool local_off;           /* host.emergency_ha_disable. */
    bool joining;             /* Started or cleared, not yet back in a
                               * configuration with the others: its entry
                               * says so, it cannot win a tie and no
                               * verdict fences it. */
    bool cleared;             /* Runs no domain until back: its fence was
                               * cleared, or it stood down while joining.
                               * The timeout does not fence it. */
    bool written_since_start; /* An entry confirmed since it started
                               * joining. */
    bool emergency_done;      /* Took over as a lone survivor. */
    char state[16];           /* Last ha_state observed. */
    bool lost_written;        /* Last ha_statefile_lost observed. */
    struct due *due;          /* Restarts waiting for a delay. */
    size_t n_due;
    struct json_object *unplaceable; /* VM → true: already said. */
    struct ha_watchdog *watchdog;

    /* Metrics. */
    uint64_t cycles, write_failures, read_failures, restarts, unplaced, fences;
    double write_seconds; /* Latency of the last write. */
};

static void on_tick(evutil_socket_t, short, void *monitor_);
static void read_config(struct ha_monitor *);
static void start_cycle(struct ha_monitor *, uint64_t now);
static void on_mounted(void *monitor_, int status, const char *error,
                       struct json_object *data);
static void write_entry(struct ha_monitor *);
static void on_written(void *monitor_, int status, const char *error,
                       struct json_object *data);
static void on_read(void *peer_, int status, const char *error,
                    struct json_object *data);
static void request_done(struct ha_monitor *);
static void evaluate(struct ha_monitor *);
static void fence(struct ha_monitor *, const char *why);
static void fenced_done(struct ha_monitor *);
static void arm_watchdog(struct ha_monitor *);
static void restart_lost_vms(struct ha_monitor *, uint64_t now);
static void start_vm(struct ha_monitor *, const char *vm, const char *host,
                     const char *lost);
static void observe(struct ha_monitor *, const char *state, bool lost);
static void sync_peers(struct ha_monitor *, struct json_object *hosts);
static struct peer *find_peer(struct ha_monitor *, const char *host);
static void close_nfs(struct ha_monitor *);
static bool peer_fenced(const struct ha_monitor *, const struct peer *,
                        uint64_t now);
static bool is_member(struct ha_monitor *, const char *host);
static char *entry_text(struct ha_monitor *, bool fenced);
static void schedule(struct ha_monitor *, int ms);
static bool has_operations(struct json_object *vm);
static void kill_domains(struct ha_monitor *);
static bool runs_domains(const struct ha_monitor *);
static void stand_down(struct ha_monitor *);
static void stood_down(struct ha_monitor *);

struct ha_monitor *
ha_monitor_create(struct event_base *base, struct store *store,
                  const struct ha_monitor_options *options)
{
    struct ha_monitor *m = xzalloc(sizeof *m);

    m->base = base;
    m->store = store;
    m->pool = options->pool;
    snprintf(m->host, sizeof m->host, "%s", options->host);
    m->mark_path = xasprintf("%s/ha-fenced", options->state_dir);
    m->local_off_path =
        xasprintf("%s/ha-disabled-locally", options->state_dir);
    m->domain_marker =
        xstrdup(options->domain_marker ? options->domain_marker : "");
    m->fence = options->fence;
    m->unfence = options->unfence;
    m->aux = options->aux;
    m->lost_report = -1;
    m->unplaceable = json_object_new_object();
    m->view = json_object_new_array();
    m->fenced = !access(m->mark_path, F_OK);
    m->local_off = !access(m->local_off_path, F_OK);
    /* A netpoold that starts (or restarts after a crash) has not been in
     * a configuration with the others yet. */
    m->joining = !m->fenced;
    if (uuid_text_random(m->incarnation)) {
        snprintf(m->incarnation, sizeof m->incarnation, "%d.%" PRIu64,
                 (int) getpid(), ha_clock_ms());
    }
    m->tick = event_new(base, -1, 0, on_tick, m);
    if (m->fenced) {
        log_warn("this host is fenced (%s): no domain runs and it stays out "
                 "of the pool until host-ha-clear",
                 m->mark_path);
        if (m->pool) {
            ha_pool_set_fenced(m->pool, true);
        }
        /* A fence may have been cut short by a stop: finish it. */
        kill_domains(m);
    }
    m->last_stay = ha_clock_ms();
    schedule(m, 0);
    return m;
}

void
ha_monitor_destroy(struct ha_monitor *m)
{
    if (!m) {
        return;
    }
    event_free(m->tick);
    close_nfs(m);
    if (m->watchdog && m->enabled && !m->local_off && !m->fenced) {
        /* The survivors rely on this host's domains ending by its last
         * deadline whatever netpoold does, a clean stop included: they
         * would restart them elsewhere once its entry is silent. */
        log_warn("netpoold stops with HA on: the watchdog keeps its "
                 "deadline and ends this host's domains at it (disable HA "
                 "or evacuate the host before stopping netpoold)");
        ha_watchdog_release(m->watchdog);
    } else {
        ha_watchdog_stop(m->watchdog);
    }
    for (size_t i = 0; i < m->n_peers; i++) {
        free(m->peers[i]->content);
        json_object_put(m->peers[i]->entry);
        free(m->peers[i]);
    }
    free(m->peers);
    free(m->due);
    json_object_put(m->unplaceable);
    json_object_put(m->view);
    free(m->mark_path);
    free(m->local_off_path);
    free(m->domain_marker);
    free(m);
}

bool
ha_monitor_fenced(const struct ha_monitor *m)
{
    return m->fenced || m->fencing;
}

int
ha_monitor_clear(struct ha_monitor *m)
{
    if (!m->fenced) {
        return EALREADY;
    }
    if (unlink(m->mark_path) && errno != ENOENT) {
        return errno;
    }
    m->fenced = false;
    m->joining = true;
    m->cleared = true;
    m->written_since_start = false;
    m->generation++;
    m->last_stay = ha_clock_ms();
    m->emergency_done = false;
    log_info("fence cleared by the operator: rejoining the pool");
    if (m->pool) {
        ha_pool_set_fenced(m->pool, false);
    }
    return 0;
}

int
ha_monitor_emergency_disable(struct ha_monitor *m)
{
    FILE *f = fopen(m->local_off_path, "w");

    if (!f) {
        return errno;
    }
    fclose(f);
    m->local_off = true;
    if (m->watchdog) {
        ha_watchdog_disarm(m->watchdog);
    }
    log_warn("HA disabled on this host by host-emergency-ha-disable");
    return 0;
}

char *
ha_monitor_metrics(const struct ha_monitor *m)
{
    static const char *const states[] = {"disabled", "stay", "undecided",
                                         "fenced"};
    struct ds {
        char *text;
        size_t length;
    } out = {xstrdup(""), 0};
    uint64_t now = ha_clock_ms();

#define ADD(...)                                            \
    do {                                                    \
        char *line_ = xasprintf(__VA_ARGS__);               \
        size_t n_ = strlen(line_);                          \
        out.text = xrealloc(out.text, out.length + n_ + 1); \
        memcpy(out.text + out.length, line_, n_ + 1);       \
        out.length += n_;                                   \
        free(line_);                                        \
    } while (0)
    ADD("# HELP netpool_ha_enabled Whether the pool has HA on.\n"
        "# TYPE netpool_ha_enabled gauge\nnetpool_ha_enabled %d\n",
        m->enabled && !m->local_off);
    ADD("# HELP netpool_ha_state This host's HA state (1 for the current "
        "one).\n# TYPE netpool_ha_state gauge\n");
    for (size_t i = 0; i < 4; i++) {
        ADD("netpool_ha_state{state=\"%s\"} %d\n", states[i],
            !strcmp(m->state, states[i]));
    }
    ADD("# HELP netpool_ha_host_live Whether a host is live on a channel "
        "(corosync membership, statefile lease).\n"
        "# TYPE netpool_ha_host_live gauge\n");
    ADD("netpool_ha_host_live{host=\"%s\",channel=\"corosync\"} 1\n", m->host);
    ADD("netpool_ha_host_live{host=\"%s\",channel=\"statefile\"} %d\n",
        m->host, m->write_ok);
    for (size_t i = 0; i < m->n_peers; i++) {
        const struct peer *p = m->peers[i];
        ADD("netpool_ha_host_live{host=\"%s\",channel=\"corosync\"} %d\n",
            p->host, m->pool && ha_pool_has_member(m->pool, p->host) ? 1 : 0);
        ADD("netpool_ha_host_live{host=\"%s\",channel=\"statefile\"} %d\n",
            p->host,
            !peer_fenced(m, p, now)
                && !ha_lease_expired(&p->lease, m->timeout_ms));
    }
    ADD("# HELP netpool_ha_statefile_write_seconds Latency of the last "
        "statefile write.\n# TYPE netpool_ha_statefile_write_seconds "
        "gauge\nnetpool_ha_statefile_write_seconds %.6f\n",
        m->write_seconds);
#define COUNTER(NAME, HELP, VALUE)                                     \
    ADD("# HELP netpool_ha_" NAME " " HELP "\n# TYPE netpool_ha_" NAME \
        " counter\nnetpool_ha_" NAME " %" PRIu64 "\n",                 \
        (uint64_t) (VALUE))
    COUNTER("cycles_total", "Statefile cycles run.", m->cycles);
    COUNTER("statefile_write_failures_total",
            "Statefile writes not confirmed in time.", m->write_failures);
    COUNTER("statefile_read_failures_total", "Statefile reads that failed.",
            m->read_failures);
    COUNTER("restarts_total", "VMs restarted on this host's plan.",
            m->restarts);
    COUNTER("unplaceable_total", "VMs no host could take.", m->unplaced);
    COUNTER("fences_total", "Times this host fenced itself.", m->fences);
#undef COUNTER
#undef ADD
    return out.text;
}

/* The cycle. */

static void
schedule(struct ha_monitor *m, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(m->tick, &tv);
}

static void
on_tick(evutil_socket_t fd, short what, void *m_)
{
    struct ha_monitor *m = m_;

    read_config(m);
    uint64_t now = ha_clock_ms();
    if (!m->enabled || m->local_off) {
        if (m->watchdog) {
            ha_watchdog_stop(m->watchdog);
            m->watchdog = NULL;
        }
        if (!m->in_cycle) {
            close_nfs(m);
        }
        if (!m->fenced && !m->fencing) {
            observe(m, "disabled", false);
        }
        if (!m->cleared) {
            /* Nothing to contend for: when HA comes on, this host is in
             * whatever configuration it is in. */
            m->joining = false;
        }
        m->last_stay = now;
        schedule(m, IDLE_MS);
        return;
    }
    /* The next cycle, or sooner the moment a peer's lease may expire: a
     * read issued then declares its host fenced (a cycle's wait less). */
    int cycle = ha_cycle_ms(m->timeout_ms);
    int next = cycle;
    for (size_t i = 0; i < m->n_peers; i++) {
        int64_t at = ha_lease_expiry_ms(&m->peers[i]->lease, m->timeout_ms);
        if (at > (int64_t) now && at - (int64_t) now < next) {
            next = (int) (at - (int64_t) now);
        }
    }
    schedule(m, next);
    if (m->in_cycle
        && now - m->cycle_start
               > 2 * (uint64_t) ha_write_timeout_ms(m->timeout_ms)) {
        /* The server stopped answering: give the cycle up as failed and
         * start again on a new connection, rather than wait for every
         * request's own timeout. */
        close_nfs(m);
        m->write_ok = false;
        m->reads_ok = false;
        evaluate(m);
    }

    if (m->fenced || m->fencing) {
        observe(m, "fenced", false);
        if (!m->in_cycle && m->fenced) {
            /* Keep saying so, for survivors that could not read it yet. */
            start_cycle(m, now);
        }
        return;
    }
    if (m->joining && m->written_since_start) {
        struct ha_status s = {.synced = true, .quorate = true};
        if (m->pool) {
            ha_pool_status(m->pool, &s);
        }
        if (s.synced && s.quorate) {
            m->joining = false;
            if (m->cleared) {
                m->cleared = false;
                m->last_stay = now;
                log_info("back in the pool: domains may run");
                if (m->unfence) {
                    m->unfence(m->aux);
                }
            } else {
                log_info("in a configuration with the others: this host "
                         "contends again");
            }
        }
    }
    if (!m->cleared && (int64_t) (now - m->last_stay) > m->timeout_ms) {
        if (m->joining && !runs_domains(m)) {
            stand_down(m);
        } else {
            fence(m, "no stay within the timeout");
            return;
        }
    }
    if (m->watchdog && !ha_watchdog_alive(m->watchdog)) {
        fence(m, "the watchdog fired");
        return;
    }
    for (size_t i = 0; i < m->n_due; i++) {
        if (m->due[i].at <= now) {
            struct due d = m->due[i];
            m->due[i--] = m->due[--m->n_due];
            start_vm(m, d.vm, d.host, d.lost);
        }
    }
    if (!m->in_cycle) {
        start_cycle(m, now);
    }
}

/* Reads the pool's HA fields. */
static void
read_config(struct ha_monitor *m)
{
    struct json_object *pools = store_get_all(m->store, "pool");
    bool was = m->enabled;

    m->enabled = false;
    json_object_object_foreach (pools, uuid, pool) {
        m->enabled = record_bool(pool, "ha_enabled");
        m->timeout_ms =
            (int) record_int(pool, "ha_timeout", HA_TIMEOUT_DEFAULT_S) * 1000;
        struct json_object *srs =
            json_object_object_get(pool, "ha_heartbeat_srs");
        const char *sr =
            json_object_is_type(srs, json_type_array)
                ? json_object_get_string(json_object_array_get_idx(srs, 0))
                : NULL;
        snprintf(m->sr, sizeof m->sr, "%s", sr ? sr : "");
        (void) uuid;
    }
    json_object_put(pools);
    if (m->enabled && !was) {
        /* Enabled now (or at start): counting starts here. */
        m->last_stay = ha_clock_ms();
        if (m->local_off) {
            unlink(m->local_off_path);
            m->local_off = false;
        }
    }
}

static void
start_cycle(struct ha_monitor *m, uint64_t now)
{
    struct json_object *sr = store_get(m->store, "SR", m->sr);
    struct storage_nfs_config config;
    struct np_error *error = storage_nfs_check_config(
        json_object_object_get(sr, "device_config"), &config);
    struct json_object *hosts = store_get_all(m->store, "host");

    json_object_put(sr);
    sync_peers(m, hosts);
    json_object_put(hosts);
    m->in_cycle = true;
    m->cycle_start = now;
    m->cycles++;
    m->write_ok = false;
    m->reads_ok = false;
    m->pending = 0;
    if (error) {
        np_error_destroy(error);
        evaluate(m);
        return;
    }

    struct json_object *records = json_object_new_object();
    json_object_object_add(records, "PIF", store_get_all(m->store, "PIF"));
    json_object_object_add(records, "network",
                           store_get_all(m->store, "network"));
    struct storage_path path;
    bool reachable = storage_pick_path(records, m->host, config.server, &path);
    json_object_put(records);
    if (!reachable) {
        evaluate(m);
        return;
    }
    char key[sizeof m->nfs_key];
    snprintf(key, sizeof key, "%s:%s%%%s", config.server, config.path,
             path.interface);
    if (m->nfs && strcmp(key, m->nfs_key)) {
        close_nfs(m);
    }
    if (m->nfs) {
        write_entry(m);
        return;
    }
    snprintf(m->nfs_key, sizeof m->nfs_key, "%s", key);
    m->pending = 1;
    int retval = storage_nfs_open(m->base, &config, path.interface,
                                  ha_write_timeout_ms(m->timeout_ms),
                                  on_mounted, m, &m->nfs);
    if (retval) {
        m->nfs = NULL;
        m->pending = 0;
        evaluate(m);
    }
}

static void
on_mounted(void *m_, int status, const char *error, struct json_object *data)
{
    struct ha_monitor *m = m_;

    m->pending = 0;
    if (status) {
        log_debug("statefile mount failed: %s", error ? error : "");
        close_nfs(m);
        evaluate(m);
        return;
    }
    m->mounted = true;
    write_entry(m);
}

/* Writes this host's entry, then reads the others'. */
static void
write_entry(struct ha_monitor *m)
{
    char *text = entry_text(m, m->fenced);
    char name[64];

    snprintf(name, sizeof name, "ha-%s.state", m->host);
    m->write_issued = ha_clock_ms();
    m->pending = 1;
    if (storage_nfs_put(m->nfs, name, text, ENTRY_SIZE, on_written, m)) {
        m->pending = 0;
        m->write_failures++;
        close_nfs(m);
        evaluate(m);
    }
    free(text);
}

static void
on_written(void *m_, int status, const char *error, struct json_object *data)
{
    struct ha_monitor *m = m_;
    uint64_t now = ha_clock_ms();

    m->pending = 0;
    m->write_seconds = (double) (now - m->write_issued) / 1000.0;
    m->write_ok = !status
                  && now - m->write_issued
                         <= (uint64_t) ha_write_timeout_ms(m->timeout_ms);
    if (!m->write_ok) {
        m->write_failures++;
        if (status) {
            log_debug("statefile write failed: %s", error ? error : "");
        }
    } else if (m->joining) {
        m->written_since_start = true;
    }
    if (status || !m->nfs) {
        close_nfs(m);
        evaluate(m);
        return;
    }
    m->reads_ok = true;
    for (size_t i = 0; i < m->n_peers; i++) {
        struct peer *p = m->peers[i];
        char name[64];
        snprintf(name, sizeof name, "ha-%s.state", p->host);
        p->read_ok = false;
        p->read_issued = (int64_t) ha_clock_ms();
        if (storage_nfs_get(m->nfs, name, ENTRY_SIZE, on_read, p)) {
            m->reads_ok = false;
        } else {
            m->pending++;
        }
    }
    if (!m->pending) {
        evaluate(m);
    }
}

static void
on_read(void *p_, int status, const char *error, struct json_object *data)
{
    struct peer *p = p_;
    struct ha_monitor *m = p->monitor;
    int64_t now = (int64_t) ha_clock_ms();
    const char *content = NULL;

    if (!status) {
        content = json_object_get_string(data);
    } else if (status == ENOENT) {
        content = "";
    }
    struct json_object *entry =
        content && *content ? json_tokener_parse(content) : NULL;
    if (!content || (*content && !entry)) {
        /* Failed, or caught half-written: neither new nor the same. */
        m->reads_ok = false;
        m->read_failures++;
        log_debug("statefile read of %s failed: %s", p->host,
                  error ? error : "unparsable");
        json_object_put(entry);
    } else {
        if (!p->content || strcmp(p->content, content)) {
            free(p->content);
            p->content = xstrdup(content);
            json_object_put(p->entry);
            p->entry = entry;
            p->lease.first_seen_ms = now;
        } else {
            json_object_put(entry);
        }
        p->lease.last_read_ms = p->read_issued;
        p->lease.fenced = record_bool(p->entry, "fenced");
        p->read_ok = true;
    }
    request_done(m);
}

static void
request_done(struct ha_monitor *m)
{
    if (m->pending && !--m->pending) {
        evaluate(m);
    }
}

/* The end of a cycle: the survival rule, then what follows from it. */
static void
evaluate(struct ha_monitor *m)
{
    uint64_t now = ha_clock_ms();
    bool statefile_ok = m->write_ok && m->reads_ok;

    m->in_cycle = false;
    if (!statefile_ok) {
        close_nfs(m);
    }
    if (m->fenced || m->fencing || !m->enabled || m->local_off) {
        return;
    }

    struct json_object *hosts = store_get_all(m->store, "host");
    size_t n_hosts = json_object_object_length(hosts);
    const char **all = xmalloc((n_hosts + 1) * sizeof *all);
    const char **members = xmalloc((n_hosts + 1) * sizeof *members);
    size_t n_all = 0, n_members = 0;
    bool lost_everywhere = !statefile_ok;

    json_object_object_foreach (hosts, uuid, record) {
        all[n_all++] = uuid;
        if (!strcmp(uuid, m->host) || is_member(m, uuid)) {
            members[n_members++] = uuid;
        }
        if (strcmp(uuid, m->host)) {
            lost_everywhere =
                lost_everywhere && record_bool(record, "ha_statefile_lost");
        }
    }
    if (!statefile_ok) {
        m->lost_report = (int64_t) now;
    }
    observe(m, m->state[0] ? m->state : "undecided", !statefile_ok);

    struct ha_entry *entries = xmalloc((m->n_peers + 1) * sizeof *entries);
    const char ***views = xmalloc((m->n_peers + 1) * sizeof *views);
    for (size_t i = 0; i < m->n_peers; i++) {
        struct peer *p = m->peers[i];
        struct json_object *view = json_object_object_get(p->entry, "view");
        size_t n_view = json_object_is_type(view, json_type_array)
                            ? json_object_array_length(view)
                            : 0;
        views[i] = xmalloc((n_view + 1) * sizeof **views);
        for (size_t j = 0; j < n_view; j++) {
            const char *h =
                json_object_get_string(json_object_array_get_idx(view, j));
            views[i][j] = h ? h : "";
        }
        entries[i] = (struct ha_entry){
            .host = p->host,
            .live = !ha_lease_expired(&p->lease, m->timeout_ms),
            .fenced = p->lease.fenced,
            .view = views[i],
            .n_view = n_view,
            .joining = record_bool(p->entry, "joining"),
            .silent = ha_lease_silent(&p->lease, m->timeout_ms),
        };
    }
    struct ha_survival_input in = {
        .self = m->host,
        .hosts = all,
        .n_hosts = n_all,
        .members = members,
        .n_members = n_members,
        .statefile_ok = statefile_ok,
        .entries = entries,
        .n_entries = m->n_peers,
        .lost_everywhere =
            lost_everywhere && (!m->cleared || m->written_since_start),
        .joining = m->joining,
    };
    enum ha_verdict verdict = ha_survival(&in);
    if (verdict != m->verdict) {
        log_info("HA verdict: %s (statefile %s, %zu of %zu hosts in the "
                 "configuration%s)",
                 ha_verdict_name(verdict), statefile_ok ? "ok" : "lost",
                 n_members, n_all,
                 m->joining ? "; joining: no verdict fences it" : "");
    }
    m->verdict = verdict;

    /* This host's view, for its next entry. */
    json_object_put(m->view);
    m->view = json_object_new_array();
    for (size_t i = 0; i < n_members; i++) {
        json_object_array_add(m->view, json_object_new_string(members[i]));
    }

    if (verdict == HA_STAY) {
        m->last_stay = statefile_ok ? m->write_issued : now;
        if (!m->cleared) {
            /* A cleared host runs no domain until it is back; armed, the
             * watchdog would kill its corosync, while it merges, the
             * moment a stay of its first, lone configuration ran out (a
             * fence loop at short timeouts). */
            arm_watchdog(m);
        }
        observe(m, "stay", !statefile_ok);
    } else if (verdict == HA_FENCE && !m->joining) {
        /* A host that (re)started or is back from a fence contends for
         * nothing until it is in a configuration with the others: its
         * first configurations (alone, before it merges) must not fence
         * it. */
        fence(m, "the survival rule says this partition lost");
    } else {
        observe(m, "undecided", !statefile_ok);
    }

    if (verdict == HA_STAY && m->pool && !m->cleared) {
        struct ha_status s;
        ha_pool_status(m->pool, &s);
        if (s.in_pool && !s.quorate && s.running && !m->emergency_done) {
            /* A lone survivor of an even split: once every other host
             * is known fenced, its partition takes the pool's votes. */
            bool others_fenced = true;
            for (size_t i = 0; i < m->n_peers; i++) {
                others_fenced = others_fenced
                                && (is_member(m, m->peers[i]->host)
                                    || peer_fenced(m, m->peers[i], now));
            }
            if (others_fenced && !ha_pool_emergency_master(m->pool)) {
                m->emergency_done = true;
                log_warn("every other host is fenced: this partition "
                         "takes over the pool");
            }
        }
        if (m->emergency_done && n_members == n_all) {
            /* Every host is back: the pool's votes are its size again. */
            if (!ha_pool_recover(m->pool)) {
                m->emergency_done = false;
                log_info("every host is back: expected votes restored");
            }
        }
        if (s.master) {
            restart_lost_vms(m, now);
        }
    }

    for (size_t i = 0; i < m->n_peers; i++) {
        free(views[i]);
    }
    free(views);
    free(entries);
    free(all);
    free(members);
    json_object_put(hosts);
}

/* Fencing. */

static void
fence(struct ha_monitor *m, const char *why)
{
    if (m->fenced || m->fencing) {
        return;
    }
    FILE *f = fopen(m->mark_path, "w");
    if (f) {
        fprintf(f, "%s\n", why);
        fclose(f);
    }
    m->fencing = true;
    m->fences++;
    log_warn("fencing this host: %s", why);
    observe(m, "fenced", m->lost_written);
    if (m->fence) {
        m->fence(m->aux, m, fenced_done);
    } else {
        fenced_done(m);
    }
}

static void
fenced_done(struct ha_monitor *m)
{
    m->fencing = false;
    m->fenced = true;
    m->n_due = 0;
    /* Disarmed and gone (or gone already if it fired): a clear starts a
     * new one. */
    ha_watchdog_stop(m->watchdog);
    m->watchdog = NULL;
    if (m->pool) {
        ha_pool_set_fenced(m->pool, true);
    }
    log_warn("fenced: every domain ended; host-ha-clear lets this host "
             "back");
}

/* Moves the watchdog's deadline to the last stay + the timeout, with the
 * PIDs of this host's domains and of its corosync (a host whose netpoold
 * hangs leaves the pool's configuration too, so the others elect a master
 * if it was one). */
static void
arm_watchdog(struct ha_monitor *m)
{
    if (!m->watchdog) {
        m->watchdog = ha_watchdog_start(m->domain_marker);
        if (!m->watchdog) {
            log_warn("cannot start the watchdog: %s", strerror(errno));
            return;
        }
    }
    struct json_object *vms = store_get_owned(m->store, "VM", m->host, false);
    pid_t pids[HA_WATCHDOG_MAX_PIDS];
    size_t n = 0;
    json_object_object_foreach (vms, uuid, vm) {
        int64_t domid = record_int(vm, "domid", -1);
        if (domid > 1 && n < HA_WATCHDOG_MAX_PIDS) {
            pids[n++] = (pid_t) domid;
        }
        (void) uuid;
    }
    json_object_put(vms);
    pid_t corosync = m->pool ? ha_pool_corosync_pid(m->pool) : 0;
    if (corosync > 1 && n < HA_WATCHDOG_MAX_PIDS) {
        pids[n++] = corosync;
    }
    ha_watchdog_arm(m->watchdog, m->last_stay + (uint64_t) m->timeout_ms, pids,
                    n);
}

/* Restarts. */

/* On the acting master: the VMs that ran on hosts known fenced, planned
 * onto the hosts of this configuration that are not fenced. */
static void
restart_lost_vms(struct ha_monitor *m, uint64_t now)
{
    struct json_object *vms = store_get_all(m->store, "VM");
    struct json_object *hosts = store_get_all(m->store, "host");
    size_t n_vms = json_object_object_length(vms);
    size_t n_hosts = json_object_object_length(hosts);
    struct ha_vm *lost = xmalloc((n_vms + 1) * sizeof *lost);
    const char **lost_on = xmalloc((n_vms + 1) * sizeof *lost_on);
    struct ha_host *targets = xmalloc((n_hosts + 1) * sizeof *targets);
    struct ha_placement *plan = xmalloc((n_vms + 1) * sizeof *plan);
    size_t n_lost = 0, n_targets = 0;

    json_object_object_foreach (hosts, uuid, host) {
        struct peer *p = find_peer(m, uuid);
        if (!strcmp(uuid, m->host)
            || (is_member(m, uuid) && p && !p->lease.fenced
                && !ha_lease_expired(&p->lease, m->timeout_ms))) {
            targets[n_targets++] = (struct ha_host){
                .uuid = uuid,
                .memory_free = record_int(host, "memory_free", 0),
            };
        }
    }
    json_object_object_foreach (vms, vm_uuid, vm) {
        const char *on = record_string(vm, "resident_on");
        struct peer *p = find_peer(m, on);
        const char *priority = record_string(vm, "ha_restart_priority");
        bool queued = false;
        for (size_t i = 0; i < m->n_due; i++) {
            queued = queued || !strcmp(m->due[i].vm, vm_uuid);
        }
        struct ha_vm_state state = {
            .priority = priority,
            .power_state = record_string(vm, "power_state"),
            .desired = record_string(vm, "desired_power_state"),
            .resident_on = on,
            .resident_fenced = p && peer_fenced(m, p, now),
            .is_template = record_bool(vm, "is_a_template"),
            .busy = queued || has_operations(vm),
        };
        /* A VM resident on a host this one does not know of is not its
         * to judge. */
        if ((*on && !p) || !ha_vm_lost(&state)) {
            continue;
        }
        lost_on[n_lost] = on;
        lost[n_lost++] = (struct ha_vm){
            .uuid = vm_uuid,
            .priority = priority,
            .order = record_int(vm, "order", 0),
            .start_delay = record_int(vm, "start_delay", 0),
            .memory = record_int(vm, "memory_static_max", 0),
            .resident = -1,
        };
    }
    size_t n_plan = ha_plan_restarts(lost, n_lost, targets, n_targets, plan);
    for (size_t i = 0; i < n_plan; i++) {
        const struct ha_vm *vm = &lost[plan[i].vm];
        if (plan[i].host < 0) {
            if (!json_object_object_get(m->unplaceable, vm->uuid)) {
                char *body =
                    *lost_on[plan[i].vm]
                        ? xasprintf("VM %s of fenced host %s fits on no host "
                                    "of the pool (%" PRId64 " bytes)",
                                    vm->uuid, lost_on[plan[i].vm], vm->memory)
                        : xasprintf("VM %s, whose domain ended, fits on no "
                                    "host of the pool (%" PRId64 " bytes)",
                                    vm->uuid, vm->memory);
                store_raise_message(m->store, "HA_VM_UNPLACEABLE",
                                    MESSAGE_PRIORITY_ALERT, "VM", vm->uuid,
                                    body);
                free(body);
                m->unplaced++;
                json_object_object_add(m->unplaceable, vm->uuid,
                                       json_object_new_boolean(true));
            }
            continue;
        }
        const char *target = targets[plan[i].host].uuid;
        if (!plan[i].delay_ms) {
            start_vm(m, vm->uuid, target, lost_on[plan[i].vm]);
            continue;
        }
        m->due = xrealloc(m->due, (m->n_due + 1) * sizeof *m->due);
        struct due *d = &m->due[m->n_due++];
        snprintf(d->vm, sizeof d->vm, "%s", vm->uuid);
        snprintf(d->host, sizeof d->host, "%s", target);
        snprintf(d->lost, sizeof d->lost, "%s", lost_on[plan[i].vm]);
        d->at = now + (uint64_t) plan[i].delay_ms;
    }
    free(lost);
    free(lost_on);
    free(targets);
    free(plan);
    json_object_put(vms);
    json_object_put(hosts);
}

/* Starts 'vm' on 'host' as VM.start would, in one transaction: a task,
 * the start operation, desired Running and resident_on. */
static void
start_vm(struct ha_monitor *m, const char *vm, const char *host,
         const char *lost)
{
    char task[UUID_LENGTH + 1];

    store_push_actor(m->store, "ha");
    int error = store_task_create(m->store, TASK_NAME, m->host, "", task);
    if (!error) {
        struct json_object *changes = json_object_new_object();
        struct json_object *ops = json_object_new_object();
        json_object_object_add(ops, task, json_object_new_string("start"));
        json_object_object_add(changes, "current_operations", ops);
        json_object_object_add(changes, "desired_power_state",
                               json_object_new_string("Running"));
        json_object_object_add(changes, "resident_on",
                               json_object_new_string(host));
        error = store_update(m->store, "VM", vm, changes);
        json_object_put(changes);
    }
    store_pop_actor(m->store);
    if (error) {
        log_warn("cannot restart VM %s on %s: %s", vm, host, strerror(error));
        return;
    }
    char *body =
        *lost ? xasprintf("VM %s restarted on host %s: host %s was fenced", vm,
                          host, lost)
              : xasprintf("VM %s restarted on host %s: its domain had ended",
                          vm, host);
    store_raise_message(m->store, "HA_VM_RESTARTED", MESSAGE_PRIORITY_ALERT,
                        "VM", vm, body);
    free(body);
    m->restarts++;
    log_info("restarting VM %s on %s (%s%s)", vm, host,
             *lost ? "fenced host " : "its domain ended", lost);
}

/* Helpers. */

/* Writes this host's ha_state and ha_statefile_lost when they change. */
static void
observe(struct ha_monitor *m, const char *state, bool lost)
{
    if (!strcmp(m->state, state) && lost == m->lost_written) {
        return;
    }
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "ha_state", json_object_new_string(state));
    json_object_object_add(changes, "ha_statefile_lost",
                           json_object_new_boolean(lost));
    if (!store_update(m->store, "host", m->host, changes)) {
        snprintf(m->state, sizeof m->state, "%s", state);
        m->lost_written = lost;
    }
    json_object_put(changes);
}

/* Keeps one peer per other host of 'hosts'. */
static void
sync_peers(struct ha_monitor *m, struct json_object *hosts)
{
    for (size_t i = 0; i < m->n_peers; i++) {
        m->peers[i]->seen = false;
    }
    json_object_object_foreach (hosts, uuid, record) {
        if (!strcmp(uuid, m->host)) {
            continue;
        }
        struct peer *p = find_peer(m, uuid);
        if (!p) {
            p = xzalloc(sizeof *p);
            snprintf(p->host, sizeof p->host, "%s", uuid);
            p->lease = (struct ha_lease){false, -1, -1};
            p->monitor = m;
            m->peers = xrealloc(m->peers, (m->n_peers + 1) * sizeof *m->peers);
            m->peers[m->n_peers++] = p;
        }
        p->seen = true;
        (void) record;
    }
    if (m->in_cycle) {
        return; /* Reads in flight point at peers. */
    }
    for (size_t i = 0; i < m->n_peers; i++) {
        if (!m->peers[i]->seen) {
            free(m->peers[i]->content);
            json_object_put(m->peers[i]->entry);
            free(m->peers[i]);
            m->peers[i--] = m->peers[--m->n_peers];
        }
    }
}

static struct peer *
find_peer(struct ha_monitor *m, const char *host)
{
    for (size_t i = 0; i < m->n_peers; i++) {
        if (!strcmp(m->peers[i]->host, host)) {
            return m->peers[i];
        }
    }
    return NULL;
}

static void
close_nfs(struct ha_monitor *m)
{
    storage_nfs_close(m->nfs);
    m->nfs = NULL;
    m->mounted = false;
    m->nfs_key[0] = '\0';
    m->pending = 0;
}

/* True if 'p''s host is known fenced now (README, the timing argument):
 * its entry says so and it is not back in this host's configuration (a
 * cleared host says otherwise once it writes again), or its lease
 * expired. */
static bool
peer_fenced(const struct ha_monitor *m, const struct peer *p, uint64_t now)
{
    int token = HA_TOKEN_DEFAULT_MS;

    if (p->lease.fenced && !is_member((struct ha_monitor *) m, p->host)) {
        return true;
    }
    struct ha_lease lease = p->lease;
    lease.fenced = false;
    /* The pool's token, not the shorter one HA gives corosync
     * (ha_token_ms()): a bound on corosync's detection whatever token a
     * member still runs while the HA timeout changes. */
    struct json_object *pools = store_get_all(m->store, "pool");
    json_object_object_foreach (pools, uuid, pool) {
        token = (int) record_int(pool, "token_timeout", HA_TOKEN_DEFAULT_MS);
        (void) uuid;
    }
    json_object_put(pools);
    return ha_known_fenced(&lease, m->timeout_ms, token, m->lost_report,
                           (int64_t) now);
}

static bool
is_member(struct ha_monitor *m, const char *host)
{
    return m->pool && ha_pool_has_member(m->pool, host);
}

/* True if VM record 'vm' has an operation in flight. */
static bool
has_operations(struct json_object *vm)
{
    struct json_object *ops = json_object_object_get(vm, "current_operations");
    return json_object_is_type(ops, json_type_object)
           && json_object_object_length(ops) > 0;
}

/* Kills every domain the store says runs on this host (its QEMU's PID,
 * domid), without the VM controller, which a fenced host does not run. */
static void
kill_domains(struct ha_monitor *m)
{
    struct json_object *vms = store_get_owned(m->store, "VM", m->host, false);

    json_object_object_foreach (vms, uuid, vm) {
        int64_t domid = record_int(vm, "domid", -1);
        if (domid > 1 && !kill((pid_t) domid, SIGKILL)) {
            log_warn("fenced: killed the domain of VM %s (pid %" PRId64 ")",
                     uuid, domid);
        }
    }
    json_object_put(vms);
}

/* True if a process whose command line names this host's domain folder
 * runs (what the watchdog would kill): a domain, whatever the store
 * says. */
static bool
runs_domains(const struct ha_monitor *m)
{
    DIR *dir = m->domain_marker[0] ? opendir("/proc") : NULL;
    bool found = false;

    if (!dir) {
        return false;
    }
    for (struct dirent *d; !found && (d = readdir(dir));) {
        char path[64], cmdline[4096];
        char *end;
        long pid = strtol(d->d_name, &end, 10);
        if (*end || pid <= 1) {
            continue;
        }
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i++) {
            cmdline[i] = cmdline[i] ? cmdline[i] : ' ';
        }
        cmdline[n > 0 ? n : 0] = '\0';
        found = strstr(cmdline, m->domain_marker) != NULL;
    }
    closedir(dir);
    return found;
}

/* A joining host that has not stayed within the timeout and runs no
 * domain: instead of a fence (which would keep it out of the pool until
 * an operator clears it, for nothing to end), it keeps joining but starts
 * no domain until it is back, as a cleared host does. */
static void
stand_down(struct ha_monitor *m)
{
    m->cleared = true;
    ha_watchdog_stop(m->watchdog);
    m->watchdog = NULL;
    log_warn("no stay within the timeout since this host started joining; "
             "it runs no domain: no fence, and no domain starts until it "
             "is back in the pool");
    if (m->fence) {
        /* Stops the VM controller, which ends any domain that started
         * since the check. */
        m->fence(m->aux, m, stood_down);
    }
}

static void
stood_down(struct ha_monitor *m)
{
    log_info("stood down: no domain runs until this host is back in the "
             "pool");
}

/* This host's entry: JSON padded with spaces to ENTRY_SIZE (a new
 * string of ENTRY_SIZE bytes and a terminator). */
static char *
entry_text(struct ha_monitor *m, bool fenced)
{
    struct json_object *e = json_object_new_object();
    char *text = xmalloc(ENTRY_SIZE + 1);

    json_object_object_add(e, "host", json_object_new_string(m->host));
    json_object_object_add(e, "counter",
                           json_object_new_int64((int64_t) ++m->counter));
    json_object_object_add(e, "generation",
                           json_object_new_int64((int64_t) m->generation));
    json_object_object_add(e, "fenced", json_object_new_boolean(fenced));
    json_object_object_add(e, "joining", json_object_new_boolean(m->joining));
    json_object_object_add(e, "incarnation",
                           json_object_new_string(m->incarnation));
    json_object_object_add(e, "view", json_object_get(m->view));
    const char *json =
        json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);
    size_t n = strlen(json);
    if (n > ENTRY_SIZE - 1) {
        n = ENTRY_SIZE - 1; /* Unparsable: read as a failure. */
    }
    memcpy(text, json, n);
    memset(text + n, ' ', ENTRY_SIZE - n);
    text[ENTRY_SIZE] = '\0';
    json_object_put(e);
    return text;
}
