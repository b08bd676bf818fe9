/*
 * The pool agent: this host's membership in its pool.  It keeps corosync
 * running and configured, talks to it through libcpg and libvotequorum on
 * the event loop, replicates the store (the store's replicator), syncs
 * members on every configuration change, counts acknowledgements, and
 * writes the epoch and the master when a quorate configuration forms.
 * ha/README.md gives the design.
 *
 * Messages on the CPG group are JSON objects; "t" says what they are:
 *   state  a member's log (view, host, node, seq, epoch, hash, fresh)
 *   snap   part of a snapshot for the members in "to"
 *   tail   log entries for member "to"
 *   resync a member that could not apply its tail asks for a snapshot
 *   txn    a transaction (id, origin, base, actor, timestamp, ops)
 *   ack    the log sequence a member has applied durably
 *   obs    a member's observations
 * CPG delivers messages and configuration changes in one total order;
 * both go through one inbox so they are handled in that order.
 */
#include "ha/ha-private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/record.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "pool"

#define GROUP_NAME "netpool"
/* The longest every member's reload of a new token may take, ms. */
#define RELOAD_WINDOW_MS 60000
#define TICK_MS 250                     /* Connection checks and heartbeats. */
#define COMMIT_TIMEOUT_MS 10000         /* A blocking commit gives up. */
#define ACK_SEND_MS 200                 /* An ack waits no longer to go. */
#define SNAPSHOT_PART_SIZE (256 * 1024) /* Bytes of snapshot per message. */
#define TAIL_MAX \
    2000 /* Entries beyond which a snapshot is
                                  * cheaper than a tail. */

enum sync_state {
    SYNC_NONE,      /* No configuration yet. */
    SYNC_STATES,    /* Waiting for every member's state. */
    SYNC_RECEIVING, /* Waiting for the leader's tail or snapshot. */
    SYNC_DONE,      /* Up to date. */
};

/* A member of the current configuration. */
struct member {
    uint32_t node;              /* corosync node id. */
    uint32_t pid;               /* Its netpoold's pid. */
    char host[UUID_LENGTH + 1]; /* Its host, once its state came. */
    struct json_object *state;  /* Its state message, or NULL. */
    uint64_t acked;             /* Last sequence it acknowledged. */
    long long acked_at;         /* When (monotonic ms), 0 never. */
};

/* A caller waiting for a sequence to be held by a majority. */
struct waiter {
    uint64_t seq;         /* The sequence. */
    ha_committed_cb *cb;  /* Called once. */
    void *aux;            /* Its argument. */
    struct event *timer;  /* Gives up. */
    struct ha_pool *pool; /* Owner. */
    struct waiter *next;  /* In pool->waiters. */
};

struct ha_pool {
    struct event_base *base;
    struct store *store;
    char *host;                       /* This host. */
    char *membership_path;            /* STATE/pool.json. */
    struct json_object *membership;   /* Its contents; NULL: standalone. */
    struct ha_corosync *corosync;     /* This host's corosync. */
    struct store_subscription *hosts; /* Host and pool records, for
                                       * corosync's node list. */
    struct event *tick;               /* Every TICK_MS. */
    struct event *reconfigure;        /* Rewrites corosync.conf soon. */
    struct event *epoch_event;        /* Writes the epoch soon. */
    long long corosync_retry_at;      /* When to start corosync again. */
    int token_ms;                     /* Token last written, 0 none. */
    int token_floor_ms;               /* The shorter of the last two... */
    long long token_floor_until;      /* ...until every member reloaded. */
    void (*ejected)(void *aux);       /* Told when the pool ejects it. */
    void *ejected_aux;                /* Its argument. */
    struct event *eject_event;        /* Tells it from the loop. */

    /* Connection to corosync. */
    cpg_handle_t cpg;
    bool cpg_up;
    struct event *cpg_event;
    votequorum_handle_t vq;
    bool vq_up;
    struct event *vq_event;
    uint32_t node; /* This node's id. */

    /* The configuration. */
    struct member *members;
    size_t n_members;
    char *view;                    /* Its identity: "node:pid ...". */
    char waiting_txn[64];          /* The transaction this host's blocked
                                    * commit waits for, or "". */
    uint64_t views;                /* Configurations seen so far. */
    uint64_t master_seq;           /* Log entry that named the master. */
    bool quorate;                  /* votequorum says so. */
    unsigned int expected, quorum; /* Its votes. */

    /* Sync. */
    enum sync_state sync;
    char leader[UUID_LENGTH + 1]; /* The configuration's leader. */
    struct json_object *queue;    /* Transactions waiting for the sync. */
    struct json_object *parts;    /* Snapshot parts received. */
    bool epoch_done;              /* This configuration's epoch is
                                      * written. */

    /* Writes and acknowledgements. */
    uint64_t next_txn;           /* Counter for transaction ids. */
    struct json_object *results; /* Transaction id → errno, for the
                                      * blocking commits waiting. */
    uint64_t committed;          /* What a majority holds. */
    uint64_t ack_sent;           /* Last sequence acknowledged. */
    long long ack_sent_at;       /* When. */
    struct waiter *waiters;      /* Waiting for 'committed'. */

    struct json_object *inbox; /* Delivered, to be handled. */
    bool role_written;         /* pool_role is up to date. */
    char role[16];             /* Last pool_role written. */
    bool quorate_written;      /* Last 'quorate' written. */
    bool fenced;               /* HA fenced this host: corosync stays
                                * stopped. */
};

static const struct store_replicator replicator;

static long long now_ms(void);
static int load_membership(struct ha_pool *);
static int save_membership(struct ha_pool *);
static int configure(struct ha_pool *, bool start);
static void start_corosync(struct ha_pool *);
static void connect_corosync(struct ha_pool *);
static void disconnect(struct ha_pool *);
static void on_tick(evutil_socket_t, short, void *pool_);
static void on_cpg(evutil_socket_t, short, void *pool_);
static void on_vq(evutil_socket_t, short, void *pool_);
static void on_reconfigure(evutil_socket_t, short, void *pool_);
static void on_epoch(evutil_socket_t, short, void *pool_);
static void on_eject(evutil_socket_t, short, void *pool_);
static void hosts_changed(void *pool_, const struct store_change *, size_t n,
                          uint64_t seq);
static void pump(struct ha_pool *);
static bool pump_wait(struct ha_pool *, long long deadline);
static void process_inbox(struct ha_pool *);
static void handle(struct ha_pool *, struct json_object *item);
static void handle_confchg(struct ha_pool *, struct json_object *members);
static void handle_state(struct ha_pool *, struct json_object *msg);
static void decide(struct ha_pool *);
static void handle_snap(struct ha_pool *, struct json_object *msg);
static void handle_tail(struct ha_pool *, struct json_object *msg);
static void handle_resync(struct ha_pool *, struct json_object *msg);
static void handle_txn(struct ha_pool *, struct json_object *msg);
static void handle_ack(struct ha_pool *, struct json_object *msg);
static void handle_obs(struct ha_pool *, struct json_object *msg);
static void synced(struct ha_pool *);
static void send_snapshot(struct ha_pool *, struct json_object *to);
static int send_msg(struct ha_pool *, struct json_object *msg);
static int send_msg_within(struct ha_pool *, struct json_object *msg,
                           long long ms);
static void send_state(struct ha_pool *);
static void send_ack(struct ha_pool *, bool force);
static struct member *find_member(struct ha_pool *, const char *host);
static bool is_fresh(const struct ha_pool *);
static void update_committed(struct ha_pool *);
static void finish_waiters(struct ha_pool *, int error);
static void on_waiter_timer(evutil_socket_t, short, void *waiter_);
static bool lease_held(const struct ha_pool *);
static bool named_master(struct ha_pool *);
static bool handed_over(const struct ha_pool *);
static void write_role(struct ha_pool *);
static int replicate_commit(void *pool_, struct json_object *transaction);
static void replicate_observe(void *pool_, struct json_object *list);

/* Public functions. */

int
ha_pool_create(struct event_base *base, struct store *store,
               const struct ha_pool_options *options, struct ha_pool **poolp)
{
    struct ha_pool *p = xzalloc(sizeof *p);

    p->base = base;
    p->store = store;
    p->host = xstrdup(options->host);
    p->membership_path = xasprintf("%s/pool.json", options->state_dir);
    p->corosync = ha_corosync_create(options->state_dir, options->corosync);
    p->results = json_object_new_object();
    p->inbox = json_object_new_array();
    p->queue = json_object_new_array();
    p->parts = json_object_new_object();
    p->tick = event_new(base, -1, EV_PERSIST, on_tick, p);
    p->reconfigure = event_new(base, -1, 0, on_reconfigure, p);
    p->epoch_event = event_new(base, -1, 0, on_epoch, p);
    p->eject_event = event_new(base, -1, 0, on_eject, p);
    p->ejected = options->ejected;
    p->ejected_aux = options->ejected_aux;
    static const char *const classes[] = {"host", "pool", NULL};
    p->hosts = store_subscribe(store, classes, STORE_FEED_DESIRED, NULL,
                               hosts_changed, p);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(p->tick, &tv);

    int error = load_membership(p);
    if (!error && p->membership) {
        error = configure(p, true);
    }
    write_role(p);
    *poolp = p;
    return error;
}

void
ha_pool_destroy(struct ha_pool *p)
{
    if (!p) {
        return;
    }
    store_unsubscribe(p->hosts);
    store_set_replicator(p->store, NULL, NULL);
    finish_waiters(p, ESHUTDOWN);
    disconnect(p);
    /* corosync stays: the pool keeps this host's place while netpoold
     * restarts, and a new netpoold adopts it. */
    ha_corosync_destroy(p->corosync);
    event_free(p->tick);
    event_free(p->reconfigure);
    event_free(p->epoch_event);
    event_free(p->eject_event);
    for (size_t i = 0; i < p->n_members; i++) {
        json_object_put(p->members[i].state);
    }
    free(p->members);
    free(p->view);
    json_object_put(p->results);
    json_object_put(p->inbox);
    json_object_put(p->queue);
    json_object_put(p->parts);
    json_object_put(p->membership);
    free(p->membership_path);
    free(p->host);
    free(p);
}

void
ha_pool_status(const struct ha_pool *p, struct ha_status *s)
{
    memset(s, 0, sizeof *s);
    s->in_pool = p->membership != NULL;
    s->running = p->cpg_up && p->vq_up;
    s->quorate = !s->in_pool || (s->running && p->quorate);
    s->synced = !s->in_pool || p->sync == SYNC_DONE;
    s->node = (uint32_t) json_object_get_int64(
        json_object_object_get(p->membership, "node"));
    s->members = s->in_pool ? p->n_members : 1;
    s->expected = s->in_pool ? p->expected : 1;
    s->quorum = s->in_pool ? p->quorum : 1;
    s->applied = store_last_seq(p->store);
    s->committed = s->in_pool ? p->committed : s->applied;
    s->epoch = store_log_epoch(p->store, s->applied);
    s->master = named_master((struct ha_pool *) p) && s->quorate && s->synced
                && (!s->in_pool || (lease_held(p) && handed_over(p)));
}

bool
ha_pool_in_pool(const struct ha_pool *p)
{
    return p->membership != NULL;
}

bool
ha_pool_has_member(const struct ha_pool *p, const char *host)
{
    return find_member((struct ha_pool *) p, host) != NULL;
}

void
ha_pool_when_committed(struct ha_pool *p, uint64_t seq, int timeout_ms,
                       ha_committed_cb *cb, void *aux)
{
    struct waiter *w = xzalloc(sizeof *w);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    w->seq = seq;
    w->cb = cb;
    w->aux = aux;
    w->pool = p;
    w->next = p->waiters;
    p->waiters = w;
    /* The timer also answers a waiter that is already satisfied, from the
     * loop rather than from inside the caller. */
    w->timer = evtimer_new(p->base, on_waiter_timer, w);
    if (seq <= p->committed || !p->membership) {
        tv = (struct timeval){0, 0};
    }
    evtimer_add(w->timer, &tv);
}

int
ha_pool_enter(struct ha_pool *p, struct json_object *membership)
{
    json_object_put(p->membership);
    p->membership = json_object_get(membership);
    int error = save_membership(p);
    if (!error) {
        error = configure(p, true);
    }
    write_role(p);
    return error;
}

int
ha_pool_leave(struct ha_pool *p)
{
    if (!p->membership) {
        return 0;
    }
    store_set_replicator(p->store, NULL, NULL);
    disconnect(p);
    ha_corosync_stop(p->corosync);
    ha_corosync_remove(p->corosync);
    json_object_put(p->membership);
    p->membership = NULL;
    p->sync = SYNC_NONE;
    if (unlink(p->membership_path) && errno != ENOENT) {
        return errno;
    }
    log_info("left the pool");
    write_role(p);
    return 0;
}

int
ha_pool_reload(struct ha_pool *p)
{
    return p->membership ? configure(p, false) : 0;
}

int
ha_pool_emergency_master(struct ha_pool *p)
{
    if (!p->membership || !p->vq_up) {
        return ENOTCONN;
    }
    if (p->quorate) {
        return EALREADY;
    }
    cs_error_t rc = votequorum_setexpected(p->vq, (unsigned) p->n_members);
    if (rc != CS_OK) {
        log_warn("votequorum refused expected votes %zu (error %d)",
                 p->n_members, (int) rc);
        return EIO;
    }
    log_warn("emergency: expected votes lowered to %zu; this partition"
             " takes over the pool",
             p->n_members);
    return 0;
}

pid_t
ha_pool_corosync_pid(const struct ha_pool *p)
{
    return p->membership && !p->fenced ? p->corosync->pid : 0;
}

void
ha_pool_set_fenced(struct ha_pool *p, bool fenced)
{
    if (p->fenced == fenced) {
        return;
    }
    p->fenced = fenced;
    if (fenced && p->membership) {
        disconnect(p);
        ha_corosync_stop(p->corosync);
        log_warn("fenced: out of the pool until the fence is cleared");
    } else if (!fenced) {
        log_info("fence cleared: rejoining the pool");
    }
    write_role(p);
}

int
ha_pool_recover(struct ha_pool *p)
{
    if (!p->membership || !p->vq_up) {
        return ENOTCONN;
    }
    struct json_object *nodes = json_object_object_get(p->membership, "nodes");
    unsigned int votes = (unsigned int) json_object_array_length(nodes);
    cs_error_t rc = votequorum_setexpected(p->vq, votes);
    return rc == CS_OK ? 0 : EIO;
}

/* Membership. */

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int
load_membership(struct ha_pool *p)
{
    if (access(p->membership_path, F_OK)) {
        return 0;
    }
    p->membership = json_object_from_file(p->membership_path);
    if (!json_object_is_type(p->membership, json_type_object)) {
        log_error("%s: not a pool membership; staying standalone",
                  p->membership_path);
        json_object_put(p->membership);
        p->membership = NULL;
        return EINVAL;
    }
    return 0;
}

static int
save_membership(struct ha_pool *p)
{
    char *tmp = xasprintf("%s.tmp", p->membership_path);
    int error = 0;

    if (json_object_to_file_ext(tmp, p->membership, JSON_C_TO_STRING_PRETTY)
        || chmod(tmp, 0600) || rename(tmp, p->membership_path)) {
        error = errno ? errno : EIO;
        log_error("%s: %s", p->membership_path, strerror(error));
    }
    free(tmp);
    return error;
}

/* Writes corosync's configuration from the store's hosts (or, before the
 * first sync, the membership's) and starts or reloads corosync. */
static int
configure(struct ha_pool *p, bool start)
{
    struct json_object *hosts = store_get_all(p->store, "host");
    struct json_object *pools = store_get_all(p->store, "pool");
    struct json_object *pool = NULL;
    json_object_object_foreach (pools, uuid, record) {
        (void) uuid;
        pool = record;
    }

    /* The store knows the pool once this host has synced; until then the
     * membership it was given at join says who is in it. */
    struct json_object *nodes = json_object_new_array();
    if (!is_fresh(p)) {
        json_object_object_foreach (hosts, uuid, host) {
            int64_t id = json_object_get_int64(
                json_object_object_get(host, "cluster_node_id"));
            if (id > 0 && *record_string(host, "cluster_address")) {
                struct json_object *n = json_object_new_object();
                json_object_object_add(n, "id", json_object_new_int64(id));
                json_object_object_add(n, "name",
                                       json_object_new_string(uuid));
                json_object_object_add(n, "address",
                                       json_object_new_string(record_string(
                                           host, "cluster_address")));
                json_object_array_add(nodes, n);
            }
        }
    }
    bool readdressed = false;
    if (!json_object_array_length(nodes)) {
        json_object_put(nodes);
        nodes =
            json_object_get(json_object_object_get(p->membership, "nodes"));
    } else if (!json_object_equal(
                   nodes, json_object_object_get(p->membership, "nodes"))) {
        readdressed = ha_nodes_readdressed(
            json_object_object_get(p->membership, "nodes"), nodes);
        json_object_object_add(p->membership, "nodes", json_object_get(nodes));
        save_membership(p);
    }

    size_t n = json_object_array_length(nodes);
    struct ha_node *list = xzalloc((n + 1) * sizeof *list);
    for (size_t i = 0; i < n; i++) {
        struct json_object *node = json_object_array_get_idx(nodes, i);
        list[i].id = (uint32_t) json_object_get_int64(
            json_object_object_get(node, "id"));
        list[i].name = record_string(node, "name");
        list[i].address = record_string(node, "address");
    }
    char *name = ha_cluster_name(record_string(p->membership, "pool"));
    /* With HA on the token follows the HA timeout (ha_token_ms()). */
    int token = pool ? ha_pool_token_ms(pool) : 0;
    if (token <= 0) {
        token = (int) json_object_get_int64(
            json_object_object_get(p->membership, "token_ms"));
    }
    token = token > 0 ? token : HA_TOKEN_DEFAULT_MS;
    if (p->token_ms && token != p->token_ms) {
        /* Until every member has reloaded, some still run the old token:
         * the master's lease keeps to the shorter of the two (lease_held),
         * for twice the longer token past the longest a reload takes. */
        log_info("corosync token %d ms -> %d ms", p->token_ms, token);
        p->token_floor_ms = token < p->token_ms ? token : p->token_ms;
        p->token_floor_until =
            now_ms() + RELOAD_WINDOW_MS
            + 2LL * (token > p->token_ms ? token : p->token_ms);
    }
    p->token_ms = token;
    struct ha_corosync_settings settings = {
        .cluster_name = name,
        .token_ms = token,
        .nodes = list,
        .n_nodes = n,
        .keyfile = p->corosync->keyfile,
        .state_dir = p->corosync->lib_dir,
        .log_file = p->corosync->log_file,
    };
    char *conf = ha_corosync_conf(&settings);
    bool changed = false;
    int error = ha_corosync_write(p->corosync, conf,
                                  record_string(p->membership, "secret"), list,
                                  n, &changed);
    free(conf);
    free(name);
    free(list);
    json_object_put(nodes);
    json_object_put(hosts);
    json_object_put(pools);
    if (error) {
        return error;
    }

    store_set_replicator(p->store, &replicator, p);
    if (start && !ha_corosync_running(p->corosync)) {
        start_corosync(p);
    } else if (readdressed && ha_corosync_running(p->corosync)) {
        /* knet takes new links on a reload but never a new address for a
         * link it has: corosync starts again on the new addresses (every
         * member does, on the same replicated change). */
        log_warn("the pool's addresses changed: restarting corosync");
        disconnect(p);
        ha_corosync_stop(p->corosync);
        p->corosync_retry_at = 0;
        start_corosync(p);
    } else if (changed && ha_corosync_running(p->corosync)) {
        ha_corosync_reload(p->corosync, p->base);
    }
    connect_corosync(p);
    return 0;
}

static void
start_corosync(struct ha_pool *p)
{
    if (now_ms() < p->corosync_retry_at) {
        return;
    }
    p->corosync_retry_at = now_ms() + 2000;
    int error = ha_corosync_start(p->corosync);
    if (error) {
        log_error("cannot start corosync: %s", strerror(error));
    }
}

static void
hosts_changed(void *p_, const struct store_change *changes, size_t n,
              uint64_t seq)
{
    struct ha_pool *p = p_;

    for (size_t i = 0; i < n; i++) {
        if (!strcmp(changes[i].class->name, "pool") && changes[i].seq) {
            for (size_t j = 0; j < json_object_array_length(changes[i].fields);
                 j++) {
                if (!strcmp(json_object_get_string(json_object_array_get_idx(
                                changes[i].fields, j)),
                            "master")) {
                    p->master_seq = changes[i].seq;
                }
            }
        }
        if (changes[i].op == STORE_OP_DEL
            && !strcmp(changes[i].class->name, "host")
            && !strcmp(changes[i].uuid, p->host) && p->membership
            && p->ejected) {
            log_warn("this host was ejected from the pool");
            struct timeval now = {0, 0};
            event_add(p->eject_event, &now);
        }
    }
    if (p->membership) {
        struct timeval now = {0, 0};
        event_add(p->reconfigure, &now);
    }
}

static void
on_eject(evutil_socket_t fd, short what, void *p_)
{
    struct ha_pool *p = p_;
    ha_pool_leave(p);
    p->ejected(p->ejected_aux);
}

static void
on_reconfigure(evutil_socket_t fd, short what, void *p_)
{
    struct ha_pool *p = p_;
    if (p->membership && !is_fresh(p)) {
        configure(p, false);
    }
}

/* Connection to corosync. */

static void
deliver_cb(cpg_handle_t handle, const struct cpg_name *group, uint32_t node,
           uint32_t pid, void *msg, size_t size)
{
    struct ha_pool *p;
    if (cpg_context_get(handle, (void **) &p) != CS_OK) {
        return;
    }
    struct json_object *item = json_object_new_object();
    json_object_object_add(item, "node", json_object_new_int64(node));
    json_object_object_add(item, "pid", json_object_new_int64(pid));
    json_object_object_add(item, "msg",
                           json_object_new_string_len(msg, (int) size));
    json_object_array_add(p->inbox, item);
}

static void
confchg_cb(cpg_handle_t handle, const struct cpg_name *group,
           const struct cpg_address *members, size_t n_members,
           const struct cpg_address *left, size_t n_left,
           const struct cpg_address *joined, size_t n_joined)
{
    struct ha_pool *p;
    if (cpg_context_get(handle, (void **) &p) != CS_OK) {
        return;
    }
    struct json_object *list = json_object_new_array();
    for (size_t i = 0; i < n_members; i++) {
        struct json_object *m = json_object_new_array();
        json_object_array_add(m, json_object_new_int64(members[i].nodeid));
        json_object_array_add(m, json_object_new_int64(members[i].pid));
        json_object_array_add(list, m);
    }
    struct json_object *item = json_object_new_object();
    json_object_object_add(item, "confchg", list);
    json_object_array_add(p->inbox, item);
}

static void
quorum_cb(votequorum_handle_t handle, uint64_t context, uint32_t quorate,
          uint32_t n_nodes, votequorum_node_t nodes[])
{
    struct ha_pool *p = (struct ha_pool *) (uintptr_t) context;
    struct votequorum_info info;

    if (votequorum_getinfo(handle, p->node, &info) == CS_OK) {
        p->expected = info.node_expected_votes;
        p->quorum = info.quorum;
    }
    if (p->quorate != (quorate != 0)) {
        log_info("partition %s quorum (%u nodes, %u expected, %u needed)",
                 quorate ? "has" : "lost", n_nodes, p->expected, p->quorum);
    }
    p->quorate = quorate != 0;
    if (p->quorate) {
        struct timeval now = {0, 0};
        event_add(p->epoch_event, &now);
    }
}

static void
expected_cb(votequorum_handle_t handle, uint64_t context, uint32_t expected)
{
    struct ha_pool *p = (struct ha_pool *) (uintptr_t) context;
    struct votequorum_info info;

    p->expected = expected;
    if (votequorum_getinfo(handle, p->node, &info) == CS_OK) {
        p->quorum = info.quorum;
    }
}

static void
connect_corosync(struct ha_pool *p)
{
    if (!p->membership || (p->cpg_up && p->vq_up)) {
        return;
    }
    disconnect(p);

    cpg_model_v1_data_t model = {
        .model = CPG_MODEL_V1,
        .cpg_deliver_fn = deliver_cb,
        .cpg_confchg_fn = confchg_cb,
    };
    if (cpg_model_initialize(&p->cpg, CPG_MODEL_V1,
                             (cpg_model_data_t *) &model, p)
        != CS_OK) {
        return;
    }
    cpg_context_set(p->cpg, p);
    struct cpg_name group;
    group.length = strlen(GROUP_NAME);
    memcpy(group.value, GROUP_NAME, group.length);
    int fd;
    unsigned int node;
    if (cpg_local_get(p->cpg, &node) != CS_OK
        || cpg_join(p->cpg, &group) != CS_OK
        || cpg_fd_get(p->cpg, &fd) != CS_OK) {
        cpg_finalize(p->cpg);
        return;
    }
    p->node = node;
    p->cpg_event = event_new(p->base, fd, EV_READ | EV_PERSIST, on_cpg, p);
    event_add(p->cpg_event, NULL);
    p->cpg_up = true;

    votequorum_callbacks_t callbacks = {
        .votequorum_quorum_notify_fn = quorum_cb,
        .votequorum_expectedvotes_notify_fn = expected_cb,
    };
    if (votequorum_initialize(&p->vq, &callbacks) != CS_OK) {
        disconnect(p);
        return;
    }
    struct votequorum_info info;
    if (votequorum_getinfo(p->vq, p->node, &info) == CS_OK) {
        p->expected = info.node_expected_votes;
        p->quorum = info.quorum;
        p->quorate = (info.flags & VOTEQUORUM_INFO_QUORATE) != 0;
    }
    if (votequorum_trackstart(p->vq, (uint64_t) (uintptr_t) p,
                              CS_TRACK_CHANGES)
            != CS_OK
        || votequorum_fd_get(p->vq, &fd) != CS_OK) {
        disconnect(p);
        return;
    }
    p->vq_event = event_new(p->base, fd, EV_READ | EV_PERSIST, on_vq, p);
    event_add(p->vq_event, NULL);
    p->vq_up = true;
    log_info("joined the pool's group as node %u", p->node);
}

static void
disconnect(struct ha_pool *p)
{
    if (p->cpg_event) {
        event_free(p->cpg_event);
        p->cpg_event = NULL;
    }
    if (p->vq_event) {
        event_free(p->vq_event);
        p->vq_event = NULL;
    }
    if (p->cpg_up) {
        cpg_finalize(p->cpg);
        p->cpg_up = false;
    }
    if (p->vq_up) {
        votequorum_finalize(p->vq);
        p->vq_up = false;
    }
    p->quorate = false;
    p->sync = SYNC_NONE;
    json_object_put(p->inbox);
    p->inbox = json_object_new_array();
}

static void
on_tick(evutil_socket_t fd, short what, void *p_)
{
    struct ha_pool *p = p_;

    if (p->membership && !p->fenced) {
        if (!ha_corosync_running(p->corosync)) {
            if (p->cpg_up || p->vq_up) {
                log_warn("corosync went away");
                disconnect(p);
            }
            start_corosync(p);
        }
        connect_corosync(p);
        if (p->cpg_up) {
            pump(p);
            send_ack(p, false);
        }
    }
    write_role(p);
}

static void
on_cpg(evutil_socket_t fd, short what, void *p_)
{
    pump(p_);
}

static void
on_vq(evutil_socket_t fd, short what, void *p_)
{
    struct ha_pool *p = p_;
    if (p->vq_up && votequorum_dispatch(p->vq, CS_DISPATCH_ALL) != CS_OK) {
        log_warn("lost the quorum service");
        disconnect(p);
    }
}

/* Reads what corosync delivered and handles it. */
static void
pump(struct ha_pool *p)
{
    if (p->cpg_up && cpg_dispatch(p->cpg, CS_DISPATCH_ALL) != CS_OK) {
        log_warn("lost the CPG service");
        disconnect(p);
        return;
    }
    if (p->vq_up && votequorum_dispatch(p->vq, CS_DISPATCH_ALL) != CS_OK) {
        disconnect(p);
        return;
    }
    process_inbox(p);
    send_ack(p, false);
}

/* Waits for corosync until 'deadline' (monotonic ms) and handles what
 * came.  Returns false at the deadline or when the connection is gone. */
static bool
pump_wait(struct ha_pool *p, long long deadline)
{
    long long left = deadline - now_ms();
    int cpg_fd = -1, vq_fd = -1;

    if (left <= 0 || !p->cpg_up) {
        return false;
    }
    cpg_fd_get(p->cpg, &cpg_fd);
    if (p->vq_up) {
        votequorum_fd_get(p->vq, &vq_fd);
    }
    struct pollfd fds[2] = {{cpg_fd, POLLIN, 0}, {vq_fd, POLLIN, 0}};
    int n = poll(fds, vq_fd >= 0 ? 2 : 1, (int) (left > 100 ? 100 : left));
    if (n > 0) {
        pump(p);
    }
    return p->cpg_up;
}

/* The protocol. */

static void
process_inbox(struct ha_pool *p)
{
    /* Subscribers hear of what the pool applied once it is all applied,
     * never in the middle of a message. */
    store_hold_feed(p->store);
    while (json_object_array_length(p->inbox)) {
        struct json_object *item =
            json_object_get(json_object_array_get_idx(p->inbox, 0));
        json_object_array_del_idx(p->inbox, 0, 1);
        handle(p, item);
        json_object_put(item);
    }
    /* What is applied is durable: say so before the subscribers (the
     * reconciler, the VM controller) do their work on it, so a writer
     * elsewhere waits for the pool's disks, not for this host's OVS. */
    send_ack(p, false);
    store_release_feed(p->store);
}

static void
handle(struct ha_pool *p, struct json_object *item)
{
    struct json_object *list;

    if (json_object_object_get_ex(item, "confchg", &list)) {
        handle_confchg(p, list);
        return;
    }
    struct json_object *msg = json_tokener_parse(record_string(item, "msg"));
    const char *type = record_string(msg, "t");
    if (!strcmp(type, "state")) {
        handle_state(p, msg);
    } else if (!strcmp(type, "snap")) {
        handle_snap(p, msg);
    } else if (!strcmp(type, "tail")) {
        handle_tail(p, msg);
    } else if (!strcmp(type, "resync")) {
        handle_resync(p, msg);
    } else if (!strcmp(type, "txn")) {
        handle_txn(p, msg);
    } else if (!strcmp(type, "ack")) {
        handle_ack(p, msg);
    } else if (!strcmp(type, "obs")) {
        handle_obs(p, msg);
    } else {
        log_warn("unknown message from node %" PRId64 " ignored",
                 json_object_get_int64(json_object_object_get(item, "node")));
    }
    json_object_put(msg);
}

static void
handle_confchg(struct ha_pool *p, struct json_object *list)
{
    size_t n = json_object_array_length(list);
    struct member *members = xzalloc((n + 1) * sizeof *members);
    char *view = xstrdup("");

    for (size_t i = 0; i < n; i++) {
        struct json_object *m = json_object_array_get_idx(list, i);
        members[i].node =
            (uint32_t) json_object_get_int64(json_object_array_get_idx(m, 0));
        members[i].pid =
            (uint32_t) json_object_get_int64(json_object_array_get_idx(m, 1));
        /* A member that stays keeps its acknowledgement. */
        for (size_t j = 0; j < p->n_members; j++) {
            if (p->members[j].node == members[i].node
                && p->members[j].pid == members[i].pid) {
                members[i].acked = p->members[j].acked;
                members[i].acked_at = p->members[j].acked_at;
                memcpy(members[i].host, p->members[j].host,
                       sizeof members[i].host);
            }
        }
        char *next = xasprintf("%s%s%u:%u", view, i ? " " : "",
                               members[i].node, members[i].pid);
        free(view);
        view = next;
    }
    for (size_t j = 0; j < p->n_members; j++) {
        json_object_put(p->members[j].state);
    }
    free(p->members);
    free(p->view);
    p->members = members;
    p->n_members = n;
    p->view = view;
    log_info("pool configuration: %s", view);
    p->views++;

    /* A new configuration syncs from scratch. */
    p->sync = SYNC_STATES;
    p->leader[0] = '\0';
    p->epoch_done = false;
    json_object_put(p->queue);
    p->queue = json_object_new_array();
    json_object_put(p->parts);
    p->parts = json_object_new_object();
    send_state(p);
    update_committed(p);
}

static void
send_state(struct ha_pool *p)
{
    struct json_object *msg = json_object_new_object();
    bool fresh = is_fresh(p);
    uint64_t seq = fresh ? 0 : store_last_seq(p->store);
    char hash[STORE_HASH_LENGTH + 1] = "";

    if (!fresh) {
        store_log_hash(p->store, seq, hash);
    }
    json_object_object_add(msg, "t", json_object_new_string("state"));
    json_object_object_add(msg, "view", json_object_new_string(p->view));
    json_object_object_add(msg, "host", json_object_new_string(p->host));
    json_object_object_add(msg, "node", json_object_new_int64(p->node));
    json_object_object_add(msg, "seq", json_object_new_int64((int64_t) seq));
    json_object_object_add(
        msg, "epoch",
        json_object_new_int64(
            fresh ? 0 : (int64_t) store_log_epoch(p->store, seq)));
    json_object_object_add(msg, "hash", json_object_new_string(hash));
    json_object_object_add(msg, "fresh", json_object_new_boolean(fresh));
    send_msg(p, msg);
    json_object_put(msg);
}

static void
handle_state(struct ha_pool *p, struct json_object *msg)
{
    if (!p->view || strcmp(record_string(msg, "view"), p->view)
        || p->sync != SYNC_STATES) {
        return;
    }
    uint32_t node =
        (uint32_t) json_object_get_int64(json_object_object_get(msg, "node"));
    for (size_t i = 0; i < p->n_members; i++) {
        if (p->members[i].node == node) {
            json_object_put(p->members[i].state);
            p->members[i].state = json_object_get(msg);
            snprintf(p->members[i].host, sizeof p->members[i].host, "%s",
                     record_string(msg, "host"));
        }
    }
    for (size_t i = 0; i < p->n_members; i++) {
        if (!p->members[i].state) {
            return;
        }
    }
    decide(p);
}

/* Every member's state is in: choose the leader, and as the leader send
 * each member what it lacks. */
static void
decide(struct ha_pool *p)
{
    struct ha_member_state *states = xzalloc(p->n_members * sizeof *states);

    for (size_t i = 0; i < p->n_members; i++) {
        struct json_object *s = p->members[i].state;
        states[i].node = p->members[i].node;
        states[i].host = p->members[i].host;
        states[i].seq =
            (uint64_t) json_object_get_int64(json_object_object_get(s, "seq"));
        states[i].epoch = (uint64_t) json_object_get_int64(
            json_object_object_get(s, "epoch"));
        states[i].hash = record_string(s, "hash");
    }
    size_t leader = ha_sync_leader(states, p->n_members);
    snprintf(p->leader, sizeof p->leader, "%s", states[leader].host);
    if (record_bool(p->members[leader].state, "fresh")) {
        /* Nobody here has the pool's state yet: wait for a member that
         * does. */
        free(states);
        p->sync = SYNC_RECEIVING;
        log_info("sync: no member of this configuration has the pool's"
                 " state yet");
        return;
    }
    log_info("sync: %s leads at %" PRIu64 " (epoch %" PRIu64 ")", p->leader,
             states[leader].seq, states[leader].epoch);

    if (!strcmp(p->leader, p->host)) {
        struct json_object *snapshot_to = json_object_new_array();
        uint64_t last = store_last_seq(p->store);
        uint64_t first = store_first_seq(p->store);
        for (size_t i = 0; i < p->n_members; i++) {
            if (i == leader) {
                continue;
            }
            char hash[STORE_HASH_LENGTH + 1];
            bool have = store_log_hash(p->store, states[i].seq, hash);
            enum ha_sync_plan plan =
                record_bool(p->members[i].state, "fresh")
                    ? HA_SYNC_SNAPSHOT
                    : ha_sync_plan(&states[i], last, first,
                                   have ? hash : NULL);
            if (plan == HA_SYNC_TAIL && last - states[i].seq > TAIL_MAX) {
                plan = HA_SYNC_SNAPSHOT;
            }
            if (plan == HA_SYNC_SNAPSHOT) {
                json_object_array_add(snapshot_to,
                                      json_object_new_string(states[i].host));
            } else if (plan == HA_SYNC_TAIL) {
                struct json_object *msg = json_object_new_object();
                json_object_object_add(msg, "t",
                                       json_object_new_string("tail"));
                json_object_object_add(msg, "view",
                                       json_object_new_string(p->view));
                json_object_object_add(msg, "to",
                                       json_object_new_string(states[i].host));
                json_object_object_add(
                    msg, "entries",
                    store_changes_since(p->store, states[i].seq, TAIL_MAX));
                send_msg(p, msg);
                json_object_put(msg);
            }
        }
        if (json_object_array_length(snapshot_to)) {
            send_snapshot(p, snapshot_to);
        }
        json_object_put(snapshot_to);
        free(states);
        synced(p);
        return;
    }

    /* Same log as the leader's: nothing to wait for. */
    struct member *me = find_member(p, p->host);
    bool same =
        me && !record_bool(me->state, "fresh")
        && states[leader].seq
               == (uint64_t) json_object_get_int64(
                   json_object_object_get(me->state, "seq"))
        && !strcmp(states[leader].hash, record_string(me->state, "hash"));
    free(states);
    if (same) {
        synced(p);
    } else {
        p->sync = SYNC_RECEIVING;
        log_info("sync: waiting for %s's state", p->leader);
    }
}

static void
send_snapshot(struct ha_pool *p, struct json_object *to)
{
    struct json_object *snapshot = store_snapshot(p->store);
    const char *text =
        json_object_to_json_string_ext(snapshot, JSON_C_TO_STRING_PLAIN);
    size_t size = strlen(text);
    size_t parts = size / SNAPSHOT_PART_SIZE + 1;

    log_info("sync: sending a snapshot of %zu bytes in %zu parts", size,
             parts);
    for (size_t i = 0; i < parts; i++) {
        size_t offset = i * SNAPSHOT_PART_SIZE;
        size_t length = size - offset < SNAPSHOT_PART_SIZE
                            ? size - offset
                            : SNAPSHOT_PART_SIZE;
        struct json_object *msg = json_object_new_object();
        json_object_object_add(msg, "t", json_object_new_string("snap"));
        json_object_object_add(msg, "view", json_object_new_string(p->view));
        json_object_object_add(msg, "to", json_object_get(to));
        json_object_object_add(msg, "part", json_object_new_int64(i));
        json_object_object_add(msg, "parts", json_object_new_int64(parts));
        json_object_object_add(
            msg, "data",
            json_object_new_string_len(text + offset, (int) length));
        send_msg(p, msg);
        json_object_put(msg);
    }
    json_object_put(snapshot);
}

/* Returns true if 'list' (an array of host UUIDs) names this host. */
static bool
addressed_to_me(const struct ha_pool *p, struct json_object *list)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        if (!strcmp(json_object_get_string(json_object_array_get_idx(list, i)),
                    p->host)) {
            return true;
        }
    }
    return false;
}

static void
handle_snap(struct ha_pool *p, struct json_object *msg)
{
    if (!p->view || strcmp(record_string(msg, "view"), p->view)
        || p->sync != SYNC_RECEIVING
        || !addressed_to_me(p, json_object_object_get(msg, "to"))) {
        return;
    }
    char key[24];
    snprintf(key, sizeof key, "%" PRId64,
             json_object_get_int64(json_object_object_get(msg, "part")));
    json_object_object_add(
        p->parts, key, json_object_get(json_object_object_get(msg, "data")));
    int64_t parts =
        json_object_get_int64(json_object_object_get(msg, "parts"));
    if (json_object_object_length(p->parts) < parts) {
        return;
    }

    size_t size = 0;
    for (int64_t i = 0; i < parts; i++) {
        snprintf(key, sizeof key, "%" PRId64, i);
        size += strlen(record_string(p->parts, key));
    }
    char *text = xmalloc(size + 1);
    size_t n = 0;
    for (int64_t i = 0; i < parts; i++) {
        snprintf(key, sizeof key, "%" PRId64, i);
        const char *part = record_string(p->parts, key);
        memcpy(text + n, part, strlen(part));
        n += strlen(part);
    }
    text[n] = '\0';
    json_object_put(p->parts);
    p->parts = json_object_new_object();

    struct json_object *snapshot = json_tokener_parse(text);
    free(text);
    int error = store_load_snapshot(p->store, snapshot);
    json_object_put(snapshot);
    if (error) {
        log_error("sync: cannot load the snapshot: %s", strerror(error));
        return;
    }
    log_info("sync: loaded %s's snapshot at %" PRIu64, p->leader,
             store_last_seq(p->store));
    if (is_fresh(p)) {
        json_object_object_add(p->membership, "fresh",
                               json_object_new_boolean(false));
        save_membership(p);
    }
    synced(p);
}

static void
handle_tail(struct ha_pool *p, struct json_object *msg)
{
    if (!p->view || strcmp(record_string(msg, "view"), p->view)
        || p->sync != SYNC_RECEIVING
        || strcmp(record_string(msg, "to"), p->host)) {
        return;
    }
    int error =
        store_apply_changes(p->store, json_object_object_get(msg, "entries"));
    if (error) {
        /* A history that differs after all: ask for the whole state. */
        log_warn("sync: cannot apply %s's tail (%s); asking for a snapshot",
                 p->leader, strerror(error));
        struct json_object *resync = json_object_new_object();
        json_object_object_add(resync, "t", json_object_new_string("resync"));
        json_object_object_add(resync, "view",
                               json_object_new_string(p->view));
        json_object_object_add(resync, "host",
                               json_object_new_string(p->host));
        send_msg(p, resync);
        json_object_put(resync);
        return;
    }
    log_info("sync: applied %s's tail up to %" PRIu64, p->leader,
             store_last_seq(p->store));
    synced(p);
}

static void
handle_resync(struct ha_pool *p, struct json_object *msg)
{
    if (p->view && !strcmp(record_string(msg, "view"), p->view)
        && !strcmp(p->leader, p->host)) {
        struct json_object *to = json_object_new_array();
        json_object_array_add(
            to, json_object_new_string(record_string(msg, "host")));
        send_snapshot(p, to);
        json_object_put(to);
    }
}

/* This host is up to date: apply what waited, tell the others what it
 * holds and sees, and see whether it owes the configuration its epoch. */
static void
synced(struct ha_pool *p)
{
    p->sync = SYNC_DONE;
    struct json_object *queue = p->queue;
    p->queue = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(queue); i++) {
        handle_txn(p, json_object_array_get_idx(queue, i));
    }
    json_object_put(queue);

    send_ack(p, true);
    struct json_object *list = store_own_observations(p->store, p->host);
    if (json_object_array_length(list)) {
        replicate_observe(p, list);
    }
    json_object_put(list);
    struct timeval now = {0, 0};
    event_add(p->epoch_event, &now);
    event_add(p->reconfigure, &now);
}

static void
handle_txn(struct ha_pool *p, struct json_object *msg)
{
    if (p->sync != SYNC_DONE) {
        json_object_array_add(p->queue, json_object_get(msg));
        return;
    }
    /* A transaction counts only in the configuration it was sent in: one
     * that corosync carries over into the next is refused by every member
     * alike (each delivers it after the same configuration change), and
     * its writer, which gave up when the configuration changed, told its
     * caller so. */
    int error = strcmp(record_string(msg, "view"), p->view ? p->view : "")
                    ? ESTALE
                : p->n_members < p->quorum
                    /* A configuration too small for quorum, whatever
                     * votequorum has told this host so far. */
                    ? EROFS
                    : store_apply_transaction(p->store, msg);
    if (error == ESTALE) {
        log_info("transaction %s was sent in another configuration: not"
                 " applied",
                 record_string(msg, "id"));
    } else if (!strcmp(record_string(msg, "origin"), p->host)
               && !strcmp(record_string(msg, "id"), p->waiting_txn)) {
        json_object_object_add(p->results, record_string(msg, "id"),
                               json_object_new_int(error));
    }
    if (error && error != EBUSY && error != ESTALE) {
        log_error("cannot apply transaction %s: %s", record_string(msg, "id"),
                  strerror(error));
    }
}

static void
handle_ack(struct ha_pool *p, struct json_object *msg)
{
    struct member *m = find_member(p, record_string(msg, "host"));
    if (m) {
        uint64_t seq = (uint64_t) json_object_get_int64(
            json_object_object_get(msg, "seq"));
        m->acked = seq > m->acked ? seq : m->acked;
        m->acked_at = now_ms();
        update_committed(p);
    }
}

static void
handle_obs(struct ha_pool *p, struct json_object *msg)
{
    if (strcmp(record_string(msg, "host"), p->host)) {
        store_apply_observations(p->store,
                                 json_object_object_get(msg, "list"));
    }
}

/* Sends 'msg' to the group, waiting up to COMMIT_TIMEOUT_MS while
 * corosync asks to try again.  Returns 0 or a positive errno. */
static int
send_msg(struct ha_pool *p, struct json_object *msg)
{
    return send_msg_within(p, msg, COMMIT_TIMEOUT_MS);
}

/* Sends 'msg' to the group, waiting up to 'ms' while corosync asks to try
 * again (flow control, or a configuration being formed), during which the
 * loop serves nothing else.  Returns 0 or a positive errno. */
static int
send_msg_within(struct ha_pool *p, struct json_object *msg, long long ms)
{
    if (!p->cpg_up) {
        return ENOTCONN;
    }
    const char *text =
        json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    struct iovec iov = {(void *) text, strlen(text)};
    long long deadline = now_ms() + ms;

    for (;;) {
        cs_error_t rc = cpg_mcast_joined(p->cpg, CPG_TYPE_AGREED, &iov, 1);
        if (rc == CS_OK) {
            return 0;
        } else if (rc != CS_ERR_TRY_AGAIN || now_ms() > deadline) {
            if (ms >= COMMIT_TIMEOUT_MS) {
                log_warn("cannot send to the pool (error %d)", (int) rc);
            } else {
                log_debug("cannot send to the pool now (error %d)", (int) rc);
            }
            return EIO;
        }
        /* Flow control: let corosync drain. */
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
        cpg_dispatch(p->cpg, CS_DISPATCH_ALL);
    }
}

static void
send_ack(struct ha_pool *p, bool force)
{
    uint64_t applied = store_last_seq(p->store);
    long long now = now_ms();

    if (!p->cpg_up || p->sync != SYNC_DONE) {
        return;
    }
    if (!force && applied == p->ack_sent && now - p->ack_sent_at < TICK_MS) {
        return;
    }
    struct json_object *msg = json_object_new_object();
    json_object_object_add(msg, "t", json_object_new_string("ack"));
    json_object_object_add(msg, "host", json_object_new_string(p->host));
    json_object_object_add(msg, "seq",
                           json_object_new_int64((int64_t) applied));
    /* An ack that corosync cannot take now goes at the next tick: waiting
     * for it would keep the loop from serving anything else. */
    if (!send_msg_within(p, msg, ACK_SEND_MS)) {
        p->ack_sent = applied;
        p->ack_sent_at = now;
    }
    json_object_put(msg);
}

static struct member *
find_member(struct ha_pool *p, const char *host)
{
    for (size_t i = 0; i < p->n_members; i++) {
        if (!strcmp(p->members[i].host, host)) {
            return &p->members[i];
        }
    }
    return NULL;
}

/* Returns true until this host has synced with the pool once since it
 * joined: its store then still holds its standalone state. */
static bool
is_fresh(const struct ha_pool *p)
{
    return p->membership && record_bool(p->membership, "fresh");
}

/* Recomputes what a majority holds and answers the waiters it
 * satisfies. */
static void
update_committed(struct ha_pool *p)
{
    if (p->membership) {
        uint64_t *acked = xzalloc((p->n_members + 1) * sizeof *acked);
        for (size_t i = 0; i < p->n_members; i++) {
            acked[i] = p->members[i].acked;
        }
        uint64_t committed = ha_committed_seq(acked, p->n_members, p->quorum);
        free(acked);
        if (committed > p->committed) {
            p->committed = committed;
        }
    } else {
        p->committed = store_last_seq(p->store);
    }

    struct waiter **w = &p->waiters;
    while (*w) {
        struct waiter *done = *w;
        if (done->seq <= p->committed) {
            *w = done->next;
            event_free(done->timer);
            done->cb(done->aux, 0);
            free(done);
        } else {
            w = &(*w)->next;
        }
    }
}

/* A waiter's time is up, or it was satisfied when it came. */
static void
on_waiter_timer(evutil_socket_t fd, short what, void *waiter_)
{
    struct waiter *w = waiter_;
    struct ha_pool *p = w->pool;

    for (struct waiter **pw = &p->waiters; *pw; pw = &(*pw)->next) {
        if (*pw == w) {
            *pw = w->next;
            break;
        }
    }
    event_free(w->timer);
    bool held = w->seq <= p->committed || !p->membership;
    w->cb(w->aux, held ? 0 : ETIMEDOUT);
    free(w);
}

static void
finish_waiters(struct ha_pool *p, int error)
{
    while (p->waiters) {
        struct waiter *w = p->waiters;
        p->waiters = w->next;
        event_free(w->timer);
        w->cb(w->aux, error);
        free(w);
    }
}

/* Returns true if a majority of the pool acknowledged within half a token
 * timeout: a master cut off in a minority stops acting before a majority
 * can choose another. */
static bool
lease_held(const struct ha_pool *p)
{
    long long now = now_ms();
    struct json_object *pools = store_get_all(p->store, "pool");
    int64_t token = HA_TOKEN_DEFAULT_MS;
    json_object_object_foreach (pools, uuid, pool) {
        (void) uuid;
        token = ha_pool_token_ms(pool);
    }
    json_object_put(pools);
    /* The token corosync runs with: the store's may be newer than the
     * configuration written, and members reload one after another. */
    if (p->token_ms && p->token_ms < token) {
        token = p->token_ms;
    }
    if (now < p->token_floor_until && p->token_floor_ms < token) {
        token = p->token_floor_ms;
    }

    size_t fresh = 0;
    for (size_t i = 0; i < p->n_members; i++) {
        if (!strcmp(p->members[i].host, p->host)
            || now - p->members[i].acked_at < token / 2) {
            fresh++;
        }
    }
    return fresh >= p->quorum && p->quorum > 0;
}

/* Returns true if every other member of the configuration has applied
 * the log entry that named the master: a master named by a handover acts
 * only once the one before has heard it is not master any more. */
static bool
handed_over(const struct ha_pool *p)
{
    for (size_t i = 0; i < p->n_members; i++) {
        if (strcmp(p->members[i].host, p->host)
            && p->members[i].acked < p->master_seq) {
            return false;
        }
    }
    return true;
}

/* Returns true if the store names this host master. */
static bool
named_master(struct ha_pool *p)
{
    struct json_object *pools = store_get_all(p->store, "pool");
    bool master = false;

    json_object_object_foreach (pools, uuid, pool) {
        (void) uuid;
        master = !strcmp(record_string(pool, "master"), p->host);
    }
    json_object_put(pools);
    return master;
}

/* Writes the epoch of a quorate configuration that has synced, and names
 * a master if the one named is not in it, as its lowest node. */
static void
on_epoch(evutil_socket_t fd, short what, void *p_)
{
    struct ha_pool *p = p_;

    if (!p->membership || p->epoch_done || p->sync != SYNC_DONE || !p->quorate
        || !p->n_members) {
        return;
    }
    uint32_t *nodes = xmalloc(p->n_members * sizeof *nodes);
    for (size_t i = 0; i < p->n_members; i++) {
        nodes[i] = p->members[i].node;
    }
    size_t lowest = ha_lowest_node(nodes, p->n_members);
    free(nodes);
    if (p->members[lowest].node != p->node) {
        return;
    }

    struct json_object *pools = store_get_all(p->store, "pool");
    json_object_object_foreach (pools, uuid, pool) {
        struct json_object *changes = json_object_new_object();
        int64_t epoch =
            json_object_get_int64(json_object_object_get(pool, "epoch"));
        json_object_object_add(changes, "epoch",
                               json_object_new_int64(epoch + 1));
        if (!find_member(p, record_string(pool, "master"))) {
            log_warn("the master %s is not in this partition; %s takes"
                     " over",
                     record_string(pool, "master"), p->host);
            json_object_object_add(changes, "master",
                                   json_object_new_string(p->host));
        }
        store_push_actor(p->store, "system:pool");
        int error = store_update(p->store, "pool", uuid, changes);
        store_pop_actor(p->store);
        json_object_put(changes);
        if (!error) {
            p->epoch_done = true;
            log_info("pool epoch %" PRId64 " begins", epoch + 1);
        } else {
            log_warn("cannot write the pool's epoch: %s", strerror(error));
        }
    }
    json_object_put(pools);
}

/* Records this host's view of the pool in its observed fields. */
static void
write_role(struct ha_pool *p)
{
    struct ha_status s;
    ha_pool_status(p, &s);
    const char *role = !s.in_pool ? "standalone"
                       : s.master ? "master"
                                  : "member";

    if (p->role_written && !strcmp(role, p->role)
        && p->quorate_written == s.quorate) {
        return;
    }
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "pool_role", json_object_new_string(role));
    json_object_object_add(changes, "quorate",
                           json_object_new_boolean(s.quorate));
    store_push_actor(p->store, "system:pool");
    if (!store_update(p->store, "host", p->host, changes)) {
        snprintf(p->role, sizeof p->role, "%s", role);
        p->quorate_written = s.quorate;
        p->role_written = true;
    }
    store_pop_actor(p->store);
    json_object_put(changes);
}

/* The replicator. */

static int
replicate_commit(void *p_, struct json_object *transaction)
{
    struct ha_pool *p = p_;
    long long deadline = now_ms() + COMMIT_TIMEOUT_MS;

    if (!p->cpg_up || !p->quorate) {
        return EROFS;
    }
    while (p->sync != SYNC_DONE) {
        if (!pump_wait(p, deadline)) {
            return ETIMEDOUT;
        }
        if (!p->quorate) {
            return EROFS;
        }
    }

    char id[64];
    snprintf(id, sizeof id, "%s:%" PRIu64, p->host, ++p->next_txn);
    struct json_object *msg = NULL;
    json_object_deep_copy(transaction, &msg, NULL);
    json_object_object_add(msg, "t", json_object_new_string("txn"));
    json_object_object_add(msg, "id", json_object_new_string(id));
    json_object_object_add(msg, "origin", json_object_new_string(p->host));
    json_object_object_add(msg, "view", json_object_new_string(p->view));
    snprintf(p->waiting_txn, sizeof p->waiting_txn, "%s", id);
    uint64_t views = p->views;
    log_debug("transaction %s: sent (base %" PRId64 ")", id,
              json_object_get_int64(json_object_object_get(msg, "base")));
    int error = send_msg(p, msg);
    json_object_put(msg);
    if (error) {
        return EROFS;
    }

    /* What the pool applies while this waits reaches subscribers after
     * this commit returns, as a standalone commit's would. */
    store_hold_feed(p->store);
    struct json_object *result;
    /* Applied only in the configuration it was sent in (handle_txn()):
     * once the configuration changed without it, it never will be. */
    while (!json_object_object_get_ex(p->results, id, &result)
           && p->views == views) {
        if (!pump_wait(p, deadline)) {
            break;
        }
    }
    error = json_object_object_get_ex(p->results, id, &result)
                ? json_object_get_int(result)
            : !p->cpg_up || !p->quorate ? EROFS
                                        : ETIMEDOUT;
    json_object_object_del(p->results, id);
    p->waiting_txn[0] = '\0';
    store_release_feed(p->store);
    if (error) {
        log_debug("transaction %s: %s", id, strerror(error));
    }
    return error;
}

static void
replicate_observe(void *p_, struct json_object *list)
{
    struct ha_pool *p = p_;

    if (!p->cpg_up || p->sync != SYNC_DONE) {
        /* Sent again, whole, once this host has synced. */
        return;
    }
    struct json_object *msg = json_object_new_object();
    json_object_object_add(msg, "t", json_object_new_string("obs"));
    json_object_object_add(msg, "host", json_object_new_string(p->host));
    json_object_object_add(msg, "list", json_object_get(list));
    send_msg(p, msg);
    json_object_put(msg);
}

static const struct store_replicator replicator = {
    .commit = replicate_commit,
    .observe = replicate_observe,
};
