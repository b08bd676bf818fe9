/*
 * ha: the pool — membership over corosync, the replicated store and the
 * master role (see ha/README.md for the design and its reasons).
 *
 * It owns this host's corosync process and its CPG and quorum clients.  In
 * a pool it is the store's replicator: every desired write of a pool-wide
 * class is ordered on the pool's CPG group and applied by every member in
 * that order, a write is acknowledged once a majority holds it, and a
 * joining or returning member is brought up to date by the log's tail or a
 * snapshot.  It decides who is master.  It never talks to OVS, QEMU or API
 * clients; mgmt/ calls it for the pool's verbs.
 *
 * The decisions (who leads a sync, what a member is sent, when a write is
 * durable, who is master, what corosync is told) are pure functions below,
 * unit-tested; the I/O is in pool.c, cpg.c and corosync.c.
 */
#ifndef NETPOOL_HA_HA_H
#define NETPOOL_HA_HA_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct json_object;
struct store;

/* corosync's configuration (corosync-conf.c). */

/* The pool's token timeout unless it sets one, milliseconds: corosync 3's
 * own default.  At 1000 ms, pools of namespace hosts on a loaded 2-core
 * machine saw false configuration changes whenever an OVS instance on the
 * management path stalled for a reconfiguration (two test runs of four);
 * at 3000 ms none was seen. */
#define HA_TOKEN_DEFAULT_MS 3000

/* The shortest corosync token netpool derives from an HA timeout,
 * milliseconds (ha/README.md, "Membership under HA"). */
#define HA_TOKEN_MIN_MS 1000

/* Returns the token timeout corosync runs with, milliseconds, for a pool
 * whose token timeout is 'token_timeout_ms' (0 or less: the default) and
 * whose HA is on or off ('ha_enabled') with the timeout 'ha_timeout_s'
 * (0 or less: the default).  HA off: the pool's token.  HA on: a quarter
 * of the HA timeout, at least HA_TOKEN_MIN_MS and at most the pool's
 * token, so that corosync drops a lost member (after its token and
 * consensus, 2.2 x token) well within the survivors' statefile wait.
 * Pure. */
int ha_token_ms(int token_timeout_ms, bool ha_enabled, int ha_timeout_s);

/* ha_token_ms() for pool record 'pool' (NULL: a pool of defaults). */
int ha_pool_token_ms(struct json_object *pool);

/* One member of the pool as corosync knows it. */
struct ha_node {
    uint32_t id;         /* corosync node id, 1 or more. */
    const char *name;    /* The host's UUID. */
    const char *address; /* Its management address. */
};

/* What corosync.conf says. */
struct ha_corosync_settings {
    const char *cluster_name;    /* Pool name for corosync (≤ 31 chars). */
    int token_ms;                /* Token timeout, milliseconds. */
    const struct ha_node *nodes; /* The pool's hosts. */
    size_t n_nodes;              /* Their number. */
    const char *keyfile;         /* Path of the authkey. */
    const char *state_dir;       /* corosync's state directory. */
    const char *log_file;        /* Its log file. */
    bool two_node;               /* votequorum two_node: set only when the
                                  * operator asks for it. */
};

/* Returns corosync.conf for 'settings' (a new string).  Pure. */
char *ha_corosync_conf(const struct ha_corosync_settings *settings);

/* Size of corosync's authkey. */
#define HA_AUTHKEY_SIZE 256

/* Derives corosync's authkey from the pool secret 'secret' (text) into
 * 'key' (HA_AUTHKEY_SIZE bytes): HMAC-SHA256 in counter mode, so every
 * member derives the same key and the secret itself never leaves the
 * store.  Pure. */
void ha_authkey(const char *secret, unsigned char key[HA_AUTHKEY_SIZE]);

/* Returns corosync's name for the pool with UUID 'pool' (a new string,
 * "np-" and the UUID's first eight characters).  Pure. */
char *ha_cluster_name(const char *pool);

/* Returns true if a node of 'old' (an array of {"id", "name", "address"})
 * has another address in 'new': a change corosync cannot take by a
 * reload.  Nodes only added or removed do not count.  Pure. */
bool ha_nodes_readdressed(struct json_object *old, struct json_object *new);

/* Replication decisions (replica.c). */

/* What a member says of its log when a configuration forms. */
struct ha_member_state {
    uint32_t node;    /* corosync node id. */
    const char *host; /* Host UUID. */
    uint64_t seq;     /* Last log sequence. */
    uint64_t epoch;   /* Epoch of that entry. */
    const char *hash; /* Chain hash at 'seq'. */
};

/* Returns the index in 'states' ('n' > 0) of the member that leads the
 * sync: the greatest (epoch, sequence), ties to the lowest node id.
 * Pure. */
size_t ha_sync_leader(const struct ha_member_state *states, size_t n);

/* How the leader brings a member up to date. */
enum ha_sync_plan {
    HA_SYNC_NOTHING,  /* Same log as the leader's. */
    HA_SYNC_TAIL,     /* The leader's entries after the member's last. */
    HA_SYNC_SNAPSHOT, /* The whole state. */
};

/* Returns what the leader, whose log ends at 'leader_seq' and keeps
 * entries from 'leader_first' (0: none kept), sends 'member'.
 * 'member_hash_at_leader' is the leader's chain hash at the member's last
 * sequence, or NULL if the leader does not have that entry.  Pure. */
enum ha_sync_plan ha_sync_plan(const struct ha_member_state *member,
                               uint64_t leader_seq, uint64_t leader_first,
                               const char *member_hash_at_leader);

/* Returns the highest sequence that at least 'quorum' of the 'n' sequences
 * in 'acked' (each member's last acknowledged one) reach: what a majority
 * holds.  0 when fewer than 'quorum' members answered.  Pure. */
uint64_t ha_committed_seq(const uint64_t *acked, size_t n, size_t quorum);

/* Returns the index in 'nodes' ('n' > 0 node ids) of the lowest node id,
 * the member that writes a quorate configuration's epoch.  Pure. */
size_t ha_lowest_node(const uint32_t *nodes, size_t n);

/* Homogeneity (homogeneity.c). */

/* Returns what differs across the pool's hosts ('hosts': UUID → host
 * record; 'pifs': UUID → PIF record): a new array of {"what", "host",
 * "value", "pool_value"}, one per host whose software version, network
 * backend, datapath, VM backend, MTU on a pool network, or NIC on a pool
 * network ("yes"/"no") is not what most hosts have (a tie goes to the
 * value of the lowest host UUID).  Empty when all agree.  Pure. */
struct json_object *ha_homogeneity(struct json_object *hosts,
                                   struct json_object *pifs);

/* High availability: decisions of the HA monitor (ha-rules.c).  See
 * ha/README.md, "High availability", for the rules and the timing
 * argument. */

/* The HA timeout unless the pool sets one (pool.ha_timeout), seconds. */
#define HA_TIMEOUT_DEFAULT_S 10

/* What this host knows of another host's statefile entry. */
struct ha_entry {
    const char *host;        /* Host UUID. */
    bool live;               /* Not proven dead: its content changed within
                              * the lease (ha_lease_expired() false). */
    bool fenced;             /* The entry says it fenced itself. */
    const char *const *view; /* The hosts its configuration held, as it
                              * last wrote them. */
    size_t n_view;           /* Their number. */
    bool joining;            /* It says it is joining: just (re)started or
                              * cleared, not yet back in a configuration
                              * with the others.  It contends for
                              * nothing. */
    bool silent;             /* Its content has not changed for two cycles
                              * (ha_lease_silent()): its host's writes are
                              * not landing, so it cannot stay, and it
                              * contends for nothing. */
};

/* What ha_survival() decides from. */
struct ha_survival_input {
    const char *self;               /* This host's UUID. */
    const char *const *hosts;       /* The pool's hosts, this one too. */
    size_t n_hosts;                 /* Their number. */
    const char *const *members;     /* This host's corosync configuration,
                                      * itself included. */
    size_t n_members;               /* Their number. */
    bool statefile_ok;              /* This cycle's write was confirmed
                                      * within the write timeout and every
                                      * entry was read. */
    const struct ha_entry *entries; /* The other hosts' entries. */
    size_t n_entries;               /* Their number. */
    bool lost_everywhere;           /* Every host of the pool reports that
                                      * it cannot reach the statefile. */
    bool joining;                   /* This host is joining (just
                                      * (re)started or cleared, not yet back
                                      * in a configuration with the
                                      * others): it cannot win a tie. */
};

/* The survival rule's answer for one cycle. */
enum ha_verdict {
    HA_STAY,      /* Keep running: the host wins or rule 2 holds. */
    HA_UNDECIDED, /* Not known yet: fence once the timeout passes since
                   * the last HA_STAY. */
    HA_FENCE,     /* Lost: fence now. */
};

/* Returns the survival rule's verdict for 'in' (README, "The survival
 * rule").  Pure. */
enum ha_verdict ha_survival(const struct ha_survival_input *in);

/* Returns the name of 'verdict' ("stay", "undecided", "fence"). */
const char *ha_verdict_name(enum ha_verdict verdict);

/* Timing of the HA monitor, milliseconds, for the timeout 'timeout_ms':
 * how often a host writes its entry, how long a write may take to count
 * as confirmed, the bound on killing the domains, and how long a
 * survivor must see an entry unchanged before its host is known fenced
 * (T + W + K + T/100).  Pure. */
int ha_cycle_ms(int timeout_ms);
int ha_write_timeout_ms(int timeout_ms);
int ha_kill_ms(int timeout_ms);
int ha_dead_after_ms(int timeout_ms);

/* What a survivor saw of one host's statefile entry, on its own monotonic
 * clock (milliseconds). */
struct ha_lease {
    bool fenced;           /* The entry says its host fenced itself. */
    int64_t first_seen_ms; /* When the first read that returned the entry's
                            * present content completed; -1 before any. */
    int64_t last_read_ms;  /* When the latest read that returned that same
                            * content was issued; -1 before any. */
};

/* Returns true if the entry's content has stayed the same long enough
 * that its host's last confirmed write is older than its fence deadline
 * ('timeout_ms' the HA timeout).  Pure. */
bool ha_lease_expired(const struct ha_lease *lease, int timeout_ms);

/* Returns the time from which a read that returns the entry's present
 * content expires its lease (if no read has seen it change by then), or
 * -1 when there is none to wait for (no content yet, or it says fenced).
 * Pure. */
int64_t ha_lease_expiry_ms(const struct ha_lease *lease, int timeout_ms);

/* Returns true if the entry's content has stayed the same for two cycles
 * of 'timeout_ms': a host whose writes land changes its entry every
 * cycle, so this one is dead, hung or cut off from the statefile, and
 * the view it holds is no news.  Pure. */
bool ha_lease_silent(const struct ha_lease *lease, int timeout_ms);

/* Returns true if the host of 'lease' is known fenced at 'now_ms': its
 * entry says so, or its lease expired and, if this host itself reported
 * the statefile lost (last at 'lost_report_ms', -1 never), corosync's
 * detection ('token_ms' token: 2.2 x token) plus the timeout and the kill
 * bound have passed since.  Pure. */
bool ha_known_fenced(const struct ha_lease *lease, int timeout_ms,
                     int token_ms, int64_t lost_report_ms, int64_t now_ms);

/* A VM the restart planner considers. */
struct ha_vm {
    const char *uuid;     /* VM UUID. */
    const char *priority; /* ha_restart_priority: "restart", "best-effort"
                           * or "" (not restarted). */
    int64_t order;        /* Lower first. */
    int64_t start_delay;  /* Seconds to wait after starting it. */
    int64_t memory;       /* Bytes it needs on a host. */
    int resident;         /* Index in the hosts it runs on, -1 none. */
};

/* A host the planner may start VMs on. */
struct ha_host {
    const char *uuid;    /* Host UUID. */
    int64_t memory_free; /* Bytes it can give. */
};

/* Where one VM goes. */
struct ha_placement {
    size_t vm;        /* Index in the planner's VMs. */
    int host;         /* Index in its hosts, or -1: no host can take it. */
    int64_t delay_ms; /* When to start it, from the start of the plan. */
};

/* Plans the restart of 'vms' ('n_vms') on 'hosts' ('n_hosts'): protected
 * VMs ("restart") by order then UUID, then best-effort ones likewise, each
 * on the host with the most free memory that fits it (which then has that
 * much less), each after the start delays of the VMs placed before it.
 * VMs with priority "" are left out.  Fills 'plan' (room for 'n_vms') and
 * returns the number of placements written.  Pure. */
size_t ha_plan_restarts(const struct ha_vm *vms, size_t n_vms,
                        const struct ha_host *hosts, size_t n_hosts,
                        struct ha_placement *plan);

/* What the acting master knows of a VM when it looks for the ones to
 * restart. */
struct ha_vm_state {
    const char *priority;    /* Its ha_restart_priority. */
    const char *power_state; /* Its power_state. */
    const char *desired;     /* Its desired_power_state. */
    const char *resident_on; /* The host that runs it, or "". */
    bool resident_fenced;    /* 'resident_on' is a host known fenced. */
    bool is_template;        /* It is a template. */
    bool busy;               /* An operation runs on it, or a restart of it
                              * is already planned. */
};

/* Returns true if HA must restart the VM 'vm' describes: a protected
 * ("restart") or best-effort VM that should run (desired Running) and that
 * no host runs, either because the host it ran on is known fenced, or
 * because it is halted with no host (its domain ended by a crash, or by
 * its host's own fence, which leave it desired Running under HA).
 * Pure. */
bool ha_vm_lost(const struct ha_vm_state *vm);

/* Returns true if a VM whose domain ended without being asked ('crashed')
 * stays desired Running for HA to restart it: HA is on ('ha_enabled') and
 * the VM is protected or best-effort ('priority').  Pure. */
bool ha_keeps_running(bool crashed, bool ha_enabled, const char *priority);

/* A change that HA's overcommit protection weighs: VM 'vm' (an index in
 * the planner's VMs) comes to run on host 'host' (an index in its hosts;
 * -1: it stays where it is, running or not) and needs 'memory' bytes (-1:
 * what it needs now). */
struct ha_change {
    size_t vm;      /* The VM. */
    int host;       /* Where it runs after the change, or -1. */
    int64_t memory; /* What it needs after the change, or -1. */
};

/* Makes 'vms' and 'hosts' what the planner will see once 'change' is
 * done: a VM that starts or moves takes its memory on its new host and
 * gives back what it had on its old one; a VM whose memory changes where
 * it runs keeps its domain's memory there (a running domain keeps it
 * until its next start) and needs the new figure wherever it restarts.
 * Pure. */
void ha_apply_change(struct ha_vm *vms, struct ha_host *hosts,
                     const struct ha_change *change);

/* Returns true if, whichever 'k' of 'hosts' fail, the planner places every
 * protected VM of 'vms' that ran on them on the other hosts (with their
 * 'memory_free' as it is now): always for k = 0, never for k >= n_hosts.
 * Tries the C(n_hosts, k) sets of exactly k hosts, not every set.  Pure;
 * of a pool of more than 16 hosts the first 16 are considered. */
bool ha_tolerates_host_failures(const struct ha_vm *vms, size_t n_vms,
                                const struct ha_host *hosts, size_t n_hosts,
                                size_t k);

/* Returns the largest number k (0 to n_hosts - 1) such that, whichever k
 * of 'hosts' fail, the planner places every protected VM of 'vms' that
 * ran on them on the other hosts (with their 'memory_free' as it is now);
 * 0 when one failure can already leave a protected VM without a host.
 * Pure; of a pool of more than 16 hosts the first 16 are considered. */
int ha_max_host_failures(const struct ha_vm *vms, size_t n_vms,
                         const struct ha_host *hosts, size_t n_hosts);

/* The pool agent (pool.c). */

struct ha_pool;

/* Where and how this host runs its part of the pool. */
struct ha_pool_options {
    const char *state_dir;      /* netpoold's state folder: corosync's files go
                            * in STATE/corosync, the pool membership in
                            * STATE/pool.json. */
    const char *host;           /* This host's UUID. */
    const char *corosync;       /* corosync's program ("corosync"). */
    void (*ejected)(void *aux); /* Called (from the loop) when the pool
                                 * ejected this host and it left; the
                                 * caller resets the store.  May be
                                 * NULL. */
    void *ejected_aux;          /* Its argument. */
};

/* What this host sees of its pool. */
struct ha_status {
    bool in_pool;       /* A member of a pool (of more than one). */
    bool running;       /* corosync runs and netpoold is connected. */
    bool quorate;       /* In the quorate partition. */
    bool synced;        /* Up to date with the configuration's leader. */
    bool master;        /* Acting master: named, quorate, leased. */
    uint32_t node;      /* Its node id, 0 while standalone. */
    size_t members;     /* Members in its configuration. */
    size_t expected;    /* Votes the pool expects (its hosts). */
    size_t quorum;      /* Votes needed. */
    uint64_t committed; /* Log sequence a majority holds. */
    uint64_t applied;   /* Log sequence this host applied. */
    uint64_t epoch;     /* Pool epoch. */
};

/* Starts the pool agent of 'store' on 'base'.  If the state folder says
 * this host is in a pool, it starts corosync and joins.  Returns 0 and
 * sets '*poolp', or a positive errno. */
int ha_pool_create(struct event_base *base, struct store *store,
                   const struct ha_pool_options *options,
                   struct ha_pool **poolp);

/* Leaves the CPG group, stops corosync (the pool goes on without this
 * host, which keeps its membership for the next start) and frees 'pool'.
 * Accepts NULL. */
void ha_pool_destroy(struct ha_pool *pool);

/* Fills 'status'. */
void ha_pool_status(const struct ha_pool *pool, struct ha_status *status);

/* Returns true if this host is in a pool (ha_pool_status()'s in_pool),
 * without reading the store: cheap enough for every API write. */
bool ha_pool_in_pool(const struct ha_pool *pool);

/* Returns true if host 'host' is in this host's current configuration
 * (its netpoold is in the pool's group). */
bool ha_pool_has_member(const struct ha_pool *pool, const char *host);

/* Calls 'cb' (with 'aux'), from the loop, once a majority holds log entry
 * 'seq' (at once for a standalone host or when it already does) with 0, or
 * with ETIMEDOUT after 'timeout_ms', or ESHUTDOWN if the agent goes
 * first. */
typedef void ha_committed_cb(void *aux, int error);
void ha_pool_when_committed(struct ha_pool *pool, uint64_t seq, int timeout_ms,
                            ha_committed_cb *cb, void *aux);

/* Makes this host a member of a pool: writes the membership ('membership',
 * borrowed: {"pool", "node", "secret", "token_ms", "nodes": [{"id",
 * "name", "address"}]}) into the state folder, starts corosync and joins.
 * The first sync replaces the pool-wide part of the store.  Returns 0 or
 * a positive errno. */
int ha_pool_enter(struct ha_pool *pool, struct json_object *membership);

/* Leaves the pool for good: stops corosync, forgets the membership.  The
 * caller then resets the store.  Returns 0 or a positive errno. */
int ha_pool_leave(struct ha_pool *pool);

/* Rewrites corosync's node list from the store's hosts and reloads it
 * (after a host joined or left).  Returns 0 or a positive errno. */
int ha_pool_reload(struct ha_pool *pool);

/* pool-emergency-transition-to-master: on a partition without quorum,
 * lowers the expected votes to the partition's size and names this host
 * master.  Returns 0, EALREADY when the partition is quorate, or a
 * positive errno. */
int ha_pool_emergency_master(struct ha_pool *pool);

/* pool-recover-slaves: gives back the expected votes of every host of the
 * pool.  Returns 0 or a positive errno. */
int ha_pool_recover(struct ha_pool *pool);

/* Returns the PID of this host's corosync, or 0 when it runs none (the
 * HA watchdog ends it with the domains, so that a host whose netpoold
 * hangs leaves the pool's configuration). */
pid_t ha_pool_corosync_pid(const struct ha_pool *pool);

/* Keeps this host out of the pool while 'fenced' (an HA fence): stops
 * corosync and does not start it again until called with false, when it
 * starts corosync and rejoins (the sync brings its store up to date). */
void ha_pool_set_fenced(struct ha_pool *pool, bool fenced);

/* The HA monitor (ha-monitor.c, ha-statefile.c, ha-watchdog.c): while the
 * pool has HA on, it writes this host's statefile entry and reads the
 * others' every cycle, applies the survival rule, fences this host when
 * it loses (through 'fence'), arms the watchdog while it stays, and, on
 * the acting master, restarts the protected VMs of hosts known fenced. */

struct ha_monitor;

/* Told that fencing is done (every domain of the host ended). */
typedef void ha_fenced_cb(struct ha_monitor *monitor);

/* What the monitor needs from netpoold. */
struct ha_monitor_options {
    const char *state_dir;     /* netpoold's state folder: the fence mark
                            * STATE/ha-fenced lives there. */
    const char *host;          /* This host's UUID. */
    struct ha_pool *pool;      /* Its pool agent. */
    const char *domain_marker; /* Text in the command line of every
                                * domain process of this host, which the
                                * watchdog kills. */
    /* Ends every domain of the host and keeps them ended (the VM
     * controller stops), then calls 'done' with 'monitor'. */
    void (*fence)(void *aux, struct ha_monitor *monitor, ha_fenced_cb *done);
    /* Lets domains run again after an operator cleared the fence (the VM
     * controller starts again). */
    void (*unfence)(void *aux);
    void *aux; /* Argument of both. */
};

/* Starts the HA monitor of 'store' on 'base'.  A host whose state folder
 * holds the fence mark starts fenced.  Returns the monitor. */
struct ha_monitor *ha_monitor_create(struct event_base *base,
                                     struct store *store,
                                     const struct ha_monitor_options *options);

/* Stops the monitor.  With HA on (and this host not fenced) the watchdog
 * stays armed with its last deadline and ends the host's domains at it, as
 * after a crash: the survivors restart them once the host's statefile
 * entry is silent, so they must not outlive netpoold.  With HA off it is
 * disarmed.  Accepts NULL. */
void ha_monitor_destroy(struct ha_monitor *monitor);

/* Returns true if this host is fenced (its mark is set). */
bool ha_monitor_fenced(const struct ha_monitor *monitor);

/* host.ha_clear: lifts this host's fence: removes the mark, rejoins the
 * pool and lets domains run once its statefile entry says it is back.
 * Returns 0, or EALREADY when it is not fenced. */
int ha_monitor_clear(struct ha_monitor *monitor);

/* host.emergency_ha_disable: this host stops applying HA (no fence, no
 * watchdog) until HA is next enabled on the pool.  Returns 0. */
int ha_monitor_emergency_disable(struct ha_monitor *monitor);

/* Returns the monitor's Prometheus lines (a new string): HA state,
 * liveness of each host per channel, statefile latency, restarts and
 * fences. */
char *ha_monitor_metrics(const struct ha_monitor *monitor);

#endif
