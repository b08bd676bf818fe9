/*
 * The migration agent of a host: it runs its part of every live migration
 * (VM.pool_migrate, mgmt/api-migrate.c) that names this host, through the
 * pool's replicated store, which is the only channel between the hosts.
 *
 * The API records the intent on the VM in one write: the operation
 * pool_migrate in current_operations and the VM's "migration" map (task,
 * caller, source, destination, state "preparing", options).  Then:
 *
 *   destination  starts the domain paused with -incoming on its address on
 *                the migration network, makes the VIFs' ports (and their
 *                rules) in its switch before anything moves
 *                (dp_reconciler_set_incoming()), and writes state "ready"
 *                with the URI;
 *   source       sets the migration parameters, migrates, writes its
 *                progress every second, and once QEMU reports the
 *                migration completed (its domain stopped) commits in one
 *                write: resident_on = destination, state "committed" with
 *                QEMU's statistics.  Then it ends its own domain; its
 *                switch drops the source ports as the VM leaves the host;
 *   destination  on the commit, continues its domain, has QEMU announce
 *                the guest's MAC (RARP), and writes the outcome: the
 *                migration map and the operation gone, last_operation
 *                success, power_state Running.  The caller's host finishes
 *                its task from last_operation (mgmt/vm-outcome.c).
 *
 * Storage migration: for each disk the map names ("vdi:VDI" = SR,
 * "vdi-new:VDI" = its copy), the destination makes the copy's VDI (record
 * first, then an empty image) in that directory SR, starts its domain on
 * the copies and exports them over NBD beside the memory stream (same TLS
 * credentials), and writes "nbd" with "ready"; the source mirrors each
 * disk into its copy (blockdev-mirror to an NBD client node) while the
 * guest runs, migrates the memory once every mirror is in step with
 * QEMU's pause-before-switchover, and at that pause (the guest stopped)
 * ends each mirror with block-job-cancel, which finishes its copy without
 * moving the source onto it, before the device state goes.  A read-only
 * disk's copy is opened read-only, as the guest sees it, and reopened
 * writable only while the source mirrors into it.  The commit also points
 * the VBDs at the copies; the source removes the VDIs left behind once
 * its domain has ended and the destination has written the outcome, and
 * a rollback removes the copies on the destination (and the mirrors on
 * the source, whose disks were never written).  Each such VDI carries a
 * "migration" mark naming its task and the host that removes it, so that
 * a host finds at its start what a migration that ended while its
 * netpoold was away left (sweep()).
 *
 * The commit is the one point where the VM changes hands, and the
 * destination's domain runs only after it: before it, the source's domain
 * is the VM; after it, the destination's.  So a failure before the commit
 * (the destination cannot start or make the ports, QEMU fails, the caller
 * cancels the task: its host writes "cancel" into the map) leaves the VM
 * running on the source, the destination ending its domain and its ports,
 * and the operation failing with a typed error; after a restart of
 * netpoold on either side, a migration that has not committed is rolled
 * back (a source whose QEMU has completed commits instead), and one that
 * has is completed.  Never are two domains of a VM running.  A write that
 * a pool cannot take yet (a pool of two while the other netpoold is away)
 * is written again each second: the source's rollback and the
 * destination's outcome.
 */
#include "mgmt/mgmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "ha/ha.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"
#include "storage/storage.h"
#include "vm/vm.h"

#define LOG_MODULE "migrate"

#define ACTOR "system:migrate"
#define PORTS_LIMIT_MS 20000    /* The destination's ports appearing. */
#define MIRROR_POLL_MS 200      /* Between queries of the disk mirrors. */
#define UNMIRROR_LIMIT_MS 10000 /* Cancelled mirrors ending. */
#define POLL_MS 10              /* Between queries of a migrating QEMU. */
#define PROGRESS_MS 1000        /* Between progress writes. */
#define STALL_LIMIT_MS 120000   /* A destination waiting for the source. */
#define RESUME_LIMIT_MS 30000   /* The incoming state finishing to load. */
#define PORT_BASE 49152         /* Incoming migrations listen from here. */
#define PORT_RANGE 8192
#define DEFAULT_DOWNTIME_MS 100
#define TLS_ROOT "/run/netpool/migrate-tls" /* QEMU's credentials. */

/* What this host does in one migration. */
enum mig_role {
    ROLE_SOURCE, /* The VM's resident host until the commit. */
    ROLE_DEST,   /* The host it goes to. */
};

enum mig_step {
    /* Destination. */
    D_STARTING,     /* The incoming domain is being started. */
    D_TLS,          /* object-add of its TLS credentials. */
    D_TLS_PARAMS,   /* migrate-set-parameters tls-creds. */
    D_LISTEN,       /* migrate-incoming on its URI. */
    D_NBD_START,    /* Storage: nbd-server-start beside it. */
    D_NBD_WRITABLE, /* Storage: a read-only disk's copy opened writable. */
    D_NBD_EXPORT,   /* Storage: block-export-add of each new disk. */
    D_PORTS,        /* Waiting for the VIFs' ports in the switch. */
    D_READY,        /* Waiting for the source's commit. */
    D_RESUMING,     /* Waiting for the loaded state, then "cont". */
    D_NBD_STOP,     /* Storage: nbd-server-stop before "cont". */
    D_NBD_READONLY, /* Storage: a read-only disk's copy read-only again. */
    D_ANNOUNCE,     /* announce-self. */
    D_OUTCOME,      /* The outcome not written yet: again. */
    /* Source. */
    S_WAITING,          /* Waiting for the destination to be ready. */
    S_TLS,              /* object-add of its TLS credentials. */
    S_MIRROR_ADD,       /* Storage: blockdev-add of a disk's NBD target. */
    S_MIRROR,           /* Storage: blockdev-mirror of the disk into it. */
    S_MIRROR_WAIT,      /* Storage: query-block-jobs until all are ready. */
    S_CAPS,             /* Storage: migrate-set-capabilities. */
    S_PARAMS,           /* migrate-set-parameters. */
    S_STOP,             /* Not live: stop. */
    S_MIGRATE,          /* migrate. */
    S_POLL,             /* query-migrate until it ends. */
    S_SWITCHOVER,       /* Storage: block-job-cancel of each synced mirror. */
    S_SWITCH_WAIT,      /* Storage: query-block-jobs until they are gone. */
    S_DISMISS,          /* Storage: job-dismiss of each concluded mirror. */
    S_CONTINUE,         /* Storage: migrate-continue. */
    S_CANCEL,           /* migrate_cancel. */
    S_UNMIRROR,         /* Storage: block-job-cancel of each mirror. */
    S_UNMIRROR_WAIT,    /* Storage: query-block-jobs until they are gone. */
    S_UNMIRROR_DISMISS, /* Storage: job-dismiss of each. */
    S_UNMIRROR_DEL,     /* Storage: blockdev-del of each NBD target. */
    S_RECOVER,          /* After a restart: what QEMU did meanwhile. */
    S_RESTORE,          /* After a failure: is the domain running? */
    S_ROLLBACK,         /* The rollback not written yet: again. */
    S_UNPAUSE,          /* It continues, then the rollback is written. */
    /* Either. */
    M_ENDING, /* This host's domain is being ended. */
    M_DONE,   /* Nothing left to do. */
};

/* One migration this host takes part in. */
struct mig {
    struct mgmt_migrate *agent; /* Owner. */
    char vm[37];                /* The VM. */
    char task[37];              /* The caller's task. */
    enum mig_role role;         /* This host's part. */
    enum mig_step step;         /* Where it is. */
    uint64_t gen;               /* Bumped to drop an outcome in flight. */
    bool acting;                /* A backend call is in flight. */
    bool cancel_asked;          /* Source: migrate_cancel was sent. */
    struct event *timer;        /* Polls and time limits. */
    uint64_t since_ms;          /* When the step (or the map) changed. */
    uint64_t progress_ms;       /* Last progress written. */
    int64_t domid;              /* Destination: its domain's number. */
    char uri[80];               /* Destination: where it listens. */
    struct np_error *failure;   /* Source: why it is rolled back. */
    struct json_object *disks;  /* The disks that move (storage
                                 * migration): an array of {"vdi", "new",
                                 * "sr", "device"}; empty for none. */
    size_t disk;                /* The disk a per-disk step is at. */
    bool mirrored;              /* Source: the mirrors are ready. */
    double disk_bytes;          /* Source: what the mirrors copy (their
                                 * lengths once in step), for progress. */
    double progress;            /* Source: the last progress written. */
    bool continued;             /* Source: migrate-continue was sent (QEMU
                                 * may still say pre-switchover a while). */
    bool made;                  /* Destination: it made the new VDIs. */
    char nbd[80];               /* Destination: "ADDR:PORT" of its NBD
                                 * server. */
    char command[32];           /* The last QMP command sent. */
    struct mig *next;           /* In agent->migs. */
};

struct mgmt_migrate {
    struct event_base *base;         /* The loop. */
    struct store *store;             /* The store. */
    char host[37];                   /* This host. */
    struct vm_controller *vms;       /* Its domains. */
    struct dp_reconciler *fabric;    /* Its switch. */
    struct store_subscription *feed; /* VMs of the pool, this host's
                                       * tasks. */
    struct mig *migs;                /* Migrations in flight here. */
    struct json_object *cancelled;   /* Tasks of this host cancelled
                                       * while their migration runs. */
    struct json_object *dirty;       /* VMs to examine: UUID → null. */
    struct event *kick;              /* Examines every VM again. */
    char *tls_dir;                   /* Its TLS credentials, or NULL. */
    uint64_t gens;                   /* Generations handed out. */
    struct mig_ticket *tickets;      /* Outcomes still to come. */
    struct storage_files *files;     /* Removals of old images on NFS. */
    bool stopping;                   /* Being destroyed. */
    struct ha_pool *pool;            /* The pool agent, or NULL. */
    bool started;                    /* The replica is in step with the
                                      * pool: migrations are acted on. */
    struct event *start;             /* Polls for that. */
    bool sweep_due;                  /* A migration ended: look for the
                                      * disks it left. */
};

/* An outcome the backend tells later. */
struct mig_ticket {
    struct mgmt_migrate *agent; /* Owner, or NULL once it is gone. */
    struct mig_ticket *next;    /* In agent->tickets. */
    char vm[37];                /* The migration's VM. */
    uint64_t gen;               /* Its generation when asked. */
};

static void on_feed(void *agent_, const struct store_change *, size_t n,
                    uint64_t seq);
static void on_kick(evutil_socket_t, short, void *agent_);
static void on_start(evutil_socket_t, short, void *agent_);
static void on_timer(evutil_socket_t, short, void *mig_);
static void examine(struct mgmt_migrate *, const char *vm, bool at_start);
static void examine_caller(struct mgmt_migrate *, const char *vm,
                           struct json_object *record);
static struct mig *mig_find(struct mgmt_migrate *, const char *vm);
static struct mig *mig_new(struct mgmt_migrate *, const char *vm,
                           const char *task, enum mig_role);
static void mig_free(struct mig *);
static void advance(struct mig *, const struct vm_result *);
static void dest_start(struct mig *, struct json_object *record);
static void dest_ports(struct mig *);
static void dest_finish(struct mig *, const struct vm_result *);
static int dest_outcome(struct mig *);
static void source_run(struct mig *, struct json_object *record,
                       const struct vm_result *);
static void send_params(struct mig *);
static void write_progress(struct mig *, double done, double total);
static void end_domain(struct mig *);
static void command(struct mig *, const char *name, struct json_object *args);
static void wait_ms(struct mig *, int ms);
static struct mig_ticket *ticket(struct mig *);
static void on_backend(void *ticket_, const struct vm_result *);
static int rollback(struct mgmt_migrate *, const char *vm, const char *task,
                    const struct np_error *error);
static struct json_object *outcome(const char *task, const char *status,
                                   const struct np_error *error);
static struct json_object *map_of(struct json_object *record);
static struct json_object *map_copy(struct json_object *record);
static size_t map_size(struct json_object *record);
static const char *map_get(struct json_object *record, const char *key);
static int update_vm(struct mgmt_migrate *, const char *vm,
                     struct json_object *changes);
static char *listen_address(struct store *, const char *host);
static const char *tls_dir(struct mgmt_migrate *);
static struct json_object *tls_object(struct mig *, const char *endpoint);
static char *tls_id(const struct mig *);
static struct np_error *failed(const char *vm, const char *why);
static struct np_error *failed_command(const struct mig *,
                                       const struct vm_result *);
static struct json_object *disks_of(struct store *, const char *vm,
                                    struct json_object *record);
static struct np_error *make_disks(struct mig *, struct json_object **mapp);
static void drop_disks(struct mgmt_migrate *, struct json_object *disks,
                       bool new);
static void drop_vdi(struct mgmt_migrate *, const char *vdi, const char *why);
static void sweep(struct mgmt_migrate *);
static struct json_object *mark(const struct mig *, const char *role);
static void disk_command(struct mig *, const char *name);
static void mirrors_state(const struct mig *, struct json_object *jobs,
                          size_t *ready, size_t *concluded, size_t *absent,
                          const char **why);
static void mirrors_copied(const struct mig *, struct json_object *jobs,
                           double *done, double *len);
static char *job_id(const struct mig *, int64_t device);
static const char *status_of(struct json_object *info);

struct mgmt_migrate *
mgmt_migrate_create(struct event_base *base, struct store *store,
                    const char *host, struct vm_controller *vms,
                    struct dp_reconciler *fabric, struct ha_pool *pool)
{
    struct mgmt_migrate *a = xzalloc(sizeof *a);
    static const char *const classes[] = {"VM", "task", NULL};

    a->base = base;
    a->store = store;
    snprintf(a->host, sizeof a->host, "%s", host);
    a->vms = vms;
    a->fabric = fabric;
    a->cancelled = json_object_new_object();
    a->dirty = json_object_new_object();
    a->kick = event_new(base, -1, 0, on_kick, a);
    a->files = storage_files_create(base);
    a->feed =
        store_subscribe(store, classes, STORE_FEED_DESIRED, NULL, on_feed, a);
    a->pool = pool;
    a->start = evtimer_new(base, on_start, a);
    on_start(-1, 0, a);
    return a;
}

void
mgmt_migrate_destroy(struct mgmt_migrate *a)
{
    if (!a) {
        return;
    }
    a->stopping = true;
    store_unsubscribe(a->feed);
    /* Outcomes that come after this (the backend ending its operations)
     * find no agent. */
    for (struct mig_ticket *t = a->tickets; t; t = t->next) {
        t->agent = NULL;
    }
    while (a->migs) {
        mig_free(a->migs);
    }
    event_free(a->kick);
    event_free(a->start);
    storage_files_destroy(a->files);
    json_object_put(a->cancelled);
    json_object_put(a->dirty);
    free(a->tls_dir);
    free(a);
}

/* Events. */

static void
on_feed(void *agent_, const struct store_change *changes, size_t n,
        uint64_t seq)
{
    struct mgmt_migrate *a = agent_;

    for (size_t i = 0; i < n; i++) {
        const struct store_change *c = &changes[i];

        if (!strcmp(c->class->name, "task")) {
            /* A task of this host cancelled: its migration, if it has
             * one, is told to stop. */
            if (c->new
                && !strcmp(record_string(c->new, "status"), "cancelled")) {
                json_object_object_add(a->cancelled, c->uuid, NULL);
                event_active(a->kick, EV_TIMEOUT, 0);
            }
            continue;
        }
        if (map_size(c->old) || map_size(c->new) || mig_find(a, c->uuid)) {
            /* Examined on the loop's next turn, never from within the
             * write that told of it. */
            json_object_object_add(a->dirty, c->uuid, NULL);
            event_active(a->kick, EV_TIMEOUT, 0);
        }
        if (map_size(c->old)
            && strcmp(map_get(c->old, "task"), map_get(c->new, "task"))) {
            /* A migration ended: the disks it made or left that no
             * migration needs any more go. */
            a->sweep_due = true;
        }
    }
}

/* Recovers the migrations a previous run left in flight once the replica
 * is in step with the pool: decided on a replica that missed the pool's
 * last writes (a commit made while this netpoold was stopped), a recovery
 * would roll back a migration that has committed. */
static void
on_start(evutil_socket_t fd, short what, void *agent_)
{
    struct mgmt_migrate *a = agent_;
    struct ha_status status = {.in_pool = false};

    if (a->pool) {
        ha_pool_status(a->pool, &status);
    }
    if (status.in_pool && !status.synced) {
        event_add(a->start, &(struct timeval){0, 200 * 1000});
        return;
    }
    a->started = true;
    store_push_actor(a->store, ACTOR);
    struct json_object *all = store_get_all(a->store, "VM");
    json_object_object_foreach (all, vm, record) {
        if (map_size(record)) {
            json_object_object_del(a->dirty, vm);
            examine(a, vm, true);
        }
    }
    json_object_put(all);
    store_pop_actor(a->store);
    /* What a migration that ended while netpoold was away made or left
     * (its map is gone: nothing above found it). */
    a->sweep_due = true;
    event_active(a->kick, EV_TIMEOUT, 0);
}

static void
on_kick(evutil_socket_t fd, short what, void *agent_)
{
    struct mgmt_migrate *a = agent_;
    struct json_object *dirty = a->dirty;

    if (!a->started) {
        /* on_start() examines every VM once it may. */
        return;
    }

    a->dirty = json_object_new_object();
    if (json_object_object_length(a->cancelled)) {
        /* A cancelled task's VM is found by its map; a task no map names
         * is no migration's (any more). */
        struct json_object *all = store_get_all(a->store, "VM");
        struct json_object *named = json_object_new_object();
        json_object_object_foreach (all, vm, record) {
            const char *task = map_get(record, "task");
            if (json_object_object_get_ex(a->cancelled, task, NULL)) {
                json_object_object_add(named, task, NULL);
                json_object_object_add(dirty, vm, NULL);
            }
        }
        json_object_put(all);
        json_object_put(a->cancelled);
        a->cancelled = named;
    }
    store_push_actor(a->store, ACTOR);
    json_object_object_foreach (dirty, vm, value) {
        (void) value;
        examine(a, vm, false);
    }
    if (a->sweep_due) {
        a->sweep_due = false;
        sweep(a);
    }
    store_pop_actor(a->store);
    json_object_put(dirty);
}

static void
on_timer(evutil_socket_t fd, short what, void *mig_)
{
    struct mig *m = mig_;

    advance(m, NULL);
}

/* Decides this host's part in VM 'vm''s migration from its record: takes
 * one up, moves one on, or ends one that is over.  'at_start': netpoold
 * has just started, and whatever was in flight is recovered. */
static void
examine(struct mgmt_migrate *a, const char *vm, bool at_start)
{
    struct json_object *record = store_get(a->store, "VM", vm);
    struct mig *m = mig_find(a, vm);
    const char *task = map_get(record, "task");
    const char *state = map_get(record, "state");
    const char *resident = record_string(record, "resident_on");
    bool committed = !strcmp(state, "committed");

    if (a->stopping) {
        json_object_put(record);
        return;
    }
    if (m && (!map_size(record) || strcmp(task, m->task))) {
        /* Its migration ended (or another began). */
        if (m->role == ROLE_DEST && strcmp(resident, a->host)) {
            /* Rolled back: the domain here must go, and its ports. */
            log_info("VM %s: migration here rolled back", vm);
            dp_reconciler_set_incoming(a->fabric, vm, false);
            if (m->made) {
                drop_disks(a, m->disks, true);
                m->made = false;
            }
            end_domain(m);
        } else if (m->role == ROLE_SOURCE && !strcmp(resident, a->host)
                   && m->step >= S_TLS && m->step < S_CANCEL) {
            /* The destination gave up: QEMU stops sending. */
            m->failure = failed(vm, "the destination rolled it back");
            m->gen = ++m->agent->gens;
            m->acting = false;
            m->step = S_CANCEL;
            command(m, "migrate_cancel", NULL);
        } else if (m->step != M_ENDING
                   && !(m->step >= S_CANCEL && m->step <= S_UNPAUSE)) {
            /* (A source rolling back finishes making its domain run.) */
            if (m->role == ROLE_DEST) {
                dp_reconciler_set_incoming(a->fabric, vm, false);
            }
            mig_free(m);
        }
        m = NULL;
        if (!map_size(record)) {
            json_object_put(record);
            return;
        }
    }
    examine_caller(a, vm, record);

    if (!strcmp(map_get(record, "destination"), a->host)) {
        if (!m && committed && !strcmp(resident, a->host)) {
            /* Committed: continue the domain here (after a restart too). */
            m = mig_new(a, vm, task, ROLE_DEST);
            m->step = D_RESUMING;
            dp_reconciler_set_incoming(a->fabric, vm, true);
            advance(m, NULL);
        } else if (!m && at_start) {
            /* Not committed when netpoold stopped: rolled back. */
            struct np_error *error =
                failed(vm, "netpoold restarted on the destination");
            struct json_object *disks = disks_of(a->store, vm, record);
            rollback(a, vm, task, error);
            np_error_destroy(error);
            drop_disks(a, disks, true);
            json_object_put(disks);
            struct vm_backend *b = vm_controller_backend(a->vms);
            m = mig_new(a, vm, task, ROLE_DEST);
            m->step = M_ENDING;
            m->acting = true;
            b->ops->destroy(b, vm, on_backend, ticket(m));
        } else if (!m && !strcmp(state, "preparing")) {
            m = mig_new(a, vm, task, ROLE_DEST);
            dest_start(m, record);
        } else if (m && m->step == D_READY && committed) {
            m->step = D_RESUMING;
            m->since_ms = clock_monotonic_ms();
            advance(m, NULL);
        } else if (m && m->step == D_READY) {
            m->since_ms = clock_monotonic_ms();
        }
    } else if (!strcmp(resident, a->host)
               && !strcmp(map_get(record, "source"), a->host)) {
        if (!m) {
            m = mig_new(a, vm, task, ROLE_SOURCE);
            m->step = S_WAITING;
            if (at_start
                && (!strcmp(state, "migrating") || !strcmp(state, "ready"))) {
                /* What did QEMU do while netpoold was away? */
                m->step = S_RECOVER;
                command(m, "query-migrate", NULL);
            }
        }
        if (m->step == S_WAITING && *map_get(record, "cancel")) {
            /* Cancelled before anything moved. */
            struct np_error *error =
                np_error_new(ERR_TASK_CANCELLED, task, NULL);
            rollback(a, vm, task, error);
            np_error_destroy(error);
            mig_free(m);
        } else if (m->step == S_WAITING && !strcmp(state, "ready")) {
            source_run(m, record, NULL);
        } else if (*map_get(record, "cancel") && m->step >= S_TLS
                   && m->step < S_CANCEL && !m->cancel_asked) {
            log_info("VM %s: migration cancelled", vm);
            m->cancel_asked = true;
            m->failure = np_error_new(ERR_TASK_CANCELLED, task, NULL);
            if (!m->acting) {
                m->gen = ++m->agent->gens;
                m->step = S_CANCEL;
                command(m, "migrate_cancel", NULL);
            }
        }
    } else if (committed && !strcmp(map_get(record, "source"), a->host)) {
        /* The source after the commit: its domain must not run here. */
        if (!m) {
            m = mig_new(a, vm, task, ROLE_SOURCE);
            end_domain(m);
        }
    }
    json_object_put(record);
}

/* The caller's part: its task's progress from the map, and a
 * cancellation of its task written into the map. */
static void
examine_caller(struct mgmt_migrate *a, const char *vm,
               struct json_object *record)
{
    const char *task = map_get(record, "task");

    if (strcmp(map_get(record, "caller"), a->host)) {
        return;
    }
    if (json_object_object_get_ex(a->cancelled, task, NULL)) {
        if (!*map_get(record, "cancel")
            && strcmp(map_get(record, "state"), "committed")) {
            struct json_object *map = map_copy(record);
            json_object_object_add(map, "cancel",
                                   json_object_new_string("true"));
            struct json_object *changes = json_object_new_object();
            json_object_object_add(changes, "migration", map);
            update_vm(a, vm, changes);
            json_object_put(changes);
        }
        return;
    }
    const char *progress = map_get(record, "progress");
    if (*progress && store_task_pending(a->store, task)) {
        store_push_actor(a->store, ACTOR);
        store_task_set_progress(a->store, task, strtod(progress, NULL));
        store_pop_actor(a->store);
    }
}

/* The destination. */

/* Starts the incoming domain of VM 'record' here, listening on this
 * host's address on the migration network. */
static void
dest_start(struct mig *m, struct json_object *record)
{
    struct mgmt_migrate *a = m->agent;
    struct vm_config *config = NULL;
    struct json_object *vdi_map = NULL;
    struct np_error *error = make_disks(m, &vdi_map);
    if (!error) {
        error = vm_controller_config(a->vms, record, vdi_map, &config);
    }
    json_object_put(vdi_map);
    char *address = error ? NULL : listen_address(a->store, a->host);

    if (!error && !address) {
        error = failed(m->vm, "the destination has no address to listen on");
    }
    if (error) {
        rollback(a, m->vm, m->task, error);
        np_error_destroy(error);
        vm_config_destroy(config);
        if (m->made) {
            drop_disks(a, m->disks, true);
        }
        mig_free(m);
        return;
    }
    char task_prefix[9];
    snprintf(task_prefix, sizeof task_prefix, "%.8s", m->task);
    unsigned int port =
        PORT_BASE
        + (unsigned int) (strtoul(task_prefix, NULL, 16) % PORT_RANGE);
    snprintf(m->uri, sizeof m->uri, "tcp:%s:%u", address, port);
    /* The disks' NBD server listens on the next port. */
    snprintf(m->nbd, sizeof m->nbd, "%s:%u", address, port + 1);
    /* With TLS, QEMU listens once it has its credentials. */
    struct vm_start_options options = {
        .paused = true, .incoming_uri = tls_dir(a) ? "defer" : m->uri};
    struct vm_backend *b = vm_controller_backend(a->vms);

    log_info("VM %s: waiting for its migration on %s", m->vm, m->uri);
    m->step = D_STARTING;
    m->acting = true;
    b->ops->start(b, config, &options, on_backend, ticket(m));
    free(address);
    vm_config_destroy(config);
}

/* The incoming domain runs: makes its ports, then says it is ready. */
static void
dest_ports(struct mig *m)
{
    struct mgmt_migrate *a = m->agent;

    if (!dp_reconciler_vm_ready(a->fabric, m->vm)) {
        if (clock_monotonic_ms() - m->since_ms > PORTS_LIMIT_MS) {
            struct np_error *error =
                failed(m->vm, "the destination's switch did not make the "
                              "VIFs' ports");
            rollback(a, m->vm, m->task, error);
            np_error_destroy(error);
            return; /* The feed ends the domain. */
        }
        wait_ms(m, 20);
        return;
    }
    struct json_object *record = store_get(a->store, "VM", m->vm);
    if (strcmp(map_get(record, "task"), m->task)) {
        json_object_put(record);
        return;
    }
    struct json_object *map = map_copy(record);
    json_object_object_add(map, "state", json_object_new_string("ready"));
    json_object_object_add(map, "uri", json_object_new_string(m->uri));
    if (json_object_array_length(m->disks)) {
        json_object_object_add(map, "nbd", json_object_new_string(m->nbd));
    }
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "migration", map);
    m->step = D_READY;
    m->since_ms = clock_monotonic_ms();
    int retval = update_vm(a, m->vm, changes);
    json_object_put(changes);
    json_object_put(record);
    if (retval) {
        log_warn("VM %s: cannot say the destination is ready: %s", m->vm,
                 strerror(retval));
    }
    wait_ms(m, 1000);
}

/* After the commit: the incoming state loaded, the domain continues, its
 * location is announced, and the outcome written. */
static void
dest_finish(struct mig *m, const struct vm_result *result)
{
    switch (m->step) {
    case D_RESUMING:
        if (!result) {
            command(m, "query-status", NULL);
            return;
        }
        if (!result->error && !strcmp(status_of(result->info), "inmigrate")) {
            if (clock_monotonic_ms() - m->since_ms > RESUME_LIMIT_MS) {
                log_warn("VM %s: the incoming state does not arrive", m->vm);
            } else {
                wait_ms(m, 2);
                return;
            }
        }
        if (json_object_array_length(m->disks)) {
            /* The disks' copies are whole: their server goes. */
            m->step = D_NBD_STOP;
            command(m, "nbd-server-stop", NULL);
            return;
        }
        /* Fall through. */
    case D_NBD_STOP:
    case D_NBD_READONLY:
        if (m->step == D_NBD_STOP || m->step == D_NBD_READONLY) {
            if (result && result->error) {
                log_warn("VM %s: %s: %s", m->vm,
                         m->step == D_NBD_STOP ? "nbd-server-stop"
                                               : "blockdev-reopen",
                         result->why);
            }
            /* The copies of read-only disks are read-only again. */
            size_t n = json_object_array_length(m->disks);
            size_t next = m->step == D_NBD_STOP ? 0 : m->disk + 1;
            while (next < n
                   && !record_bool(json_object_array_get_idx(m->disks, next),
                                   "read_only")) {
                next++;
            }
            if (next < n) {
                m->disk = next;
                m->step = D_NBD_READONLY;
                disk_command(m, "blockdev-reopen");
                return;
            }
        }
        m->step = D_ANNOUNCE;
        command(m, "cont", NULL);
        return;
    case D_ANNOUNCE:
        if (result && result->error) {
            log_warn("VM %s: cont after the migration: %s", m->vm,
                     result->why);
        }
        if (result) {
            struct json_object *args = json_object_new_object();
            json_object_object_add(args, "initial", json_object_new_int(50));
            json_object_object_add(args, "max", json_object_new_int(550));
            json_object_object_add(args, "rounds", json_object_new_int(5));
            json_object_object_add(args, "step", json_object_new_int(100));
            m->step = D_OUTCOME;
            command(m, "announce-self", args);
            json_object_put(args);
            /* The outcome, written while QEMU announces. */
            if (!dest_outcome(m)) {
                m->step = M_DONE;
            }
        }
        return;
    case D_OUTCOME:
        /* Not written (a pool of two cannot write while the source's
         * netpoold is away, as when it stopped right after its commit):
         * again each second until it is, else the VM would stay
         * migrating, its task pending. */
        if (result) {
            wait_ms(m, 1000); /* announce-self answered. */
        } else if (dest_outcome(m)) {
            wait_ms(m, 1000);
        } else {
            mig_free(m);
        }
        return;
    default:
        return;
    }
}

/* Writes the outcome of 'm''s committed migration here: the map and the
 * operation gone, last_operation success with QEMU's statistics, the VM
 * running with this host's domain.  Returns 0 (also when the map no
 * longer names it: nothing to write) or a positive errno. */
static int
dest_outcome(struct mig *m)
{
    struct mgmt_migrate *a = m->agent;
    struct json_object *record = store_get(a->store, "VM", m->vm);

    if (strcmp(map_get(record, "task"), m->task)
        || strcmp(map_get(record, "state"), "committed")) {
        json_object_put(record);
        dp_reconciler_set_incoming(a->fabric, m->vm, false);
        return 0;
    }
    struct json_object *last = outcome(m->task, "success", NULL);
    struct json_object *map = map_copy(record);
    json_object_object_foreach (map, key, value) {
        if (!strcmp(key, "downtime") || !strcmp(key, "total_time")
            || !strcmp(key, "transferred")) {
            json_object_object_add(last, key, json_object_get(value));
        }
    }
    json_object_put(map);
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "migration", json_object_new_object());
    json_object_object_add(changes, "current_operations",
                           json_object_new_object());
    json_object_object_add(changes, "last_operation", last);
    json_object_object_add(changes, "power_state",
                           json_object_new_string("Running"));
    if (m->domid > 0) {
        /* Its QEMU's PID, as a start writes it (after a restart the
         * controller finds it again). */
        json_object_object_add(changes, "domid",
                               json_object_new_int64(m->domid));
    }
    int retval = update_vm(a, m->vm, changes);
    json_object_put(changes);
    json_object_put(record);
    if (retval) {
        log_warn("VM %s: cannot record its migration yet: %s", m->vm,
                 strerror(retval));
    } else {
        log_info("VM %s: migrated here", m->vm);
        dp_reconciler_set_incoming(a->fabric, m->vm, false);
    }
    return retval;
}

/* The source. */

/* Runs the source's steps: parameters, migrate, polls until QEMU is done,
 * then the commit or the rollback.  'record' is the VM's when the
 * destination has just become ready, else NULL; 'result' the outcome of
 * the last QMP command, or NULL. */
static void
source_run(struct mig *m, struct json_object *record,
           const struct vm_result *result)
{
    struct mgmt_migrate *a = m->agent;

    switch (m->step) {
    case S_WAITING: {
        record = store_get(a->store, "VM", m->vm);
        struct json_object *map = map_copy(record);
        json_object_object_add(map, "state",
                               json_object_new_string("migrating"));
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "migration", map);
        update_vm(a, m->vm, changes);
        json_object_put(changes);
        json_object_put(record);
        m->progress_ms = clock_monotonic_ms();
        if (tls_dir(a)) {
            struct json_object *object = tls_object(m, "client");
            m->step = S_TLS;
            command(m, "object-add", object);
            json_object_put(object);
            return;
        }
    }
        /* Fall through. */
    case S_TLS:
        if (m->step == S_TLS && result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        if (json_object_array_length(m->disks)) {
            /* The disks first: each mirrored into its copy on the
             * destination, while the guest runs, until all are in step. */
            m->disk = 0;
            m->step = S_MIRROR_ADD;
            disk_command(m, "blockdev-add");
            return;
        }
        send_params(m);
        return;
    case S_MIRROR_ADD:
    case S_MIRROR:
        if (result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        if (m->step == S_MIRROR_ADD) {
            m->step = S_MIRROR;
            disk_command(m, "blockdev-mirror");
        } else if (++m->disk < json_object_array_length(m->disks)) {
            m->step = S_MIRROR_ADD;
            disk_command(m, "blockdev-add");
        } else {
            m->step = S_MIRROR_WAIT;
            command(m, "query-block-jobs", NULL);
        }
        return;
    case S_MIRROR_WAIT: {
        size_t ready, concluded, absent;
        const char *why = NULL;
        if (result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        mirrors_state(m, result->info, &ready, &concluded, &absent, &why);
        if (concluded || absent) {
            char *text = xasprintf("a disk mirror ended: %s",
                                   why ? why : "no reason given");
            m->failure = failed(m->vm, text);
            free(text);
            break;
        }
        /* Progress: what the mirrors copied of what they copy and of the
         * memory still to move (its size until QEMU says more). */
        double copied, len;
        mirrors_copied(m, result->info, &copied, &len);
        m->disk_bytes = len;
        struct json_object *vm = store_get(a->store, "VM", m->vm);
        double memory = (double) json_object_get_int64(
            json_object_object_get(vm, "memory_static_max"));
        json_object_put(vm);
        write_progress(m, copied, len + memory);
        if (ready < json_object_array_length(m->disks)) {
            wait_ms(m, MIRROR_POLL_MS);
            return;
        }
        /* In step: the memory moves, and the migration pauses before
         * the switchover, when the guest no longer writes, to let the
         * mirrors finish. */
        log_info("VM %s: its disks are mirrored", m->vm);
        m->mirrored = true;
        struct json_object *caps = json_object_new_array();
        struct json_object *cap = json_object_new_object();
        json_object_object_add(
            cap, "capability",
            json_object_new_string("pause-before-switchover"));
        json_object_object_add(cap, "state", json_object_new_boolean(true));
        json_object_array_add(caps, cap);
        struct json_object *args = json_object_new_object();
        json_object_object_add(args, "capabilities", caps);
        m->step = S_CAPS;
        command(m, "migrate-set-capabilities", args);
        json_object_put(args);
        return;
    }
    case S_CAPS:
        if (result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        send_params(m);
        return;
    case S_PARAMS:
        if (result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        record = store_get(a->store, "VM", m->vm);
        if (!strcmp(map_get(record, "live"), "false")) {
            /* Not live: the guest stops while its memory moves. */
            json_object_put(record);
            m->step = S_STOP;
            command(m, "stop", NULL);
            return;
        }
        json_object_put(record);
        /* Fall through. */
    case S_STOP: {
        if (m->step == S_STOP && result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        struct json_object *current = store_get(a->store, "VM", m->vm);
        struct json_object *args = json_object_new_object();
        json_object_object_add(
            args, "uri", json_object_new_string(map_get(current, "uri")));
        m->step = S_MIGRATE;
        command(m, "migrate", args);
        json_object_put(args);
        json_object_put(current);
        return;
    }
    case S_MIGRATE:
        if (result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        m->step = S_POLL;
        command(m, "query-migrate", NULL);
        return;
    case S_POLL:
    case S_RECOVER: {
        const char *status = result->error ? "" : status_of(result->info);
        if (m->step == S_POLL && !m->continued
            && !strcmp(status, "pre-switchover")) {
            /* The guest is stopped and its memory sent: the mirrors
             * finish (a cancelled mirror in step stops once its copy is
             * whole, and the source keeps its own disk), then the
             * migration goes on. */
            m->disk = 0;
            m->step = S_SWITCHOVER;
            disk_command(m, "block-job-cancel");
            return;
        }
        if (!strcmp(status, "completed")) {
            /* The destination holds the whole state and ours is
             * stopped: the VM changes hands here. */
            struct json_object *current = store_get(a->store, "VM", m->vm);
            struct json_object *map = map_copy(current);
            struct json_object *info = result->info;
            struct json_object *ram = json_object_object_get(info, "ram");
            json_object_object_add(map, "state",
                                   json_object_new_string("committed"));
            json_object_object_add(
                map, "downtime",
                json_object_new_string(json_object_get_string(
                    json_object_object_get(info, "downtime"))));
            json_object_object_add(
                map, "total_time",
                json_object_new_string(json_object_get_string(
                    json_object_object_get(info, "total-time"))));
            json_object_object_add(
                map, "transferred",
                json_object_new_string(json_object_get_string(
                    json_object_object_get(ram, "transferred"))));
            json_object_object_del(map, "progress");
            struct json_object *changes = json_object_new_object();
            json_object_object_add(changes, "migration", map);
            json_object_object_add(
                changes, "resident_on",
                json_object_new_string(map_get(current, "destination")));
            /* In the same write, its disks become their copies. */
            store_begin(a->store);
            int retval = update_vm(a, m->vm, changes);
            struct json_object *key = json_object_new_string(m->vm);
            struct json_object *vbds = store_find(a->store, "VBD", "VM", key);
            json_object_put(key);
            for (size_t i = 0; !retval && i < json_object_array_length(vbds);
                 i++) {
                const char *vbd =
                    json_object_get_string(json_object_array_get_idx(vbds, i));
                struct json_object *vbd_rec = store_get(a->store, "VBD", vbd);
                for (size_t j = 0; j < json_object_array_length(m->disks);
                     j++) {
                    struct json_object *disk =
                        json_object_array_get_idx(m->disks, j);
                    if (!strcmp(record_string(vbd_rec, "VDI"),
                                record_string(disk, "vdi"))) {
                        struct json_object *set = json_object_new_object();
                        json_object_object_add(
                            set, "VDI",
                            json_object_new_string(
                                record_string(disk, "new")));
                        store_push_actor(a->store, ACTOR);
                        retval = store_update(a->store, "VBD", vbd, set);
                        store_pop_actor(a->store);
                        json_object_put(set);
                    }
                }
                json_object_put(vbd_rec);
            }
            json_object_put(vbds);
            /* The copies are the VM's disks now; the originals are left
             * for this host to remove (sweep()), even if it restarts
             * before it has. */
            for (size_t j = 0;
                 !retval && j < json_object_array_length(m->disks); j++) {
                struct json_object *disk =
                    json_object_array_get_idx(m->disks, j);
                struct json_object *copy = json_object_new_object();
                struct json_object *left = json_object_new_object();
                json_object_object_add(copy, "migration",
                                       json_object_new_object());
                json_object_object_add(left, "migration", mark(m, "original"));
                store_push_actor(a->store, ACTOR);
                retval = store_update(a->store, "VDI",
                                      record_string(disk, "new"), copy);
                if (!retval) {
                    retval = store_update(a->store, "VDI",
                                          record_string(disk, "vdi"), left);
                }
                store_pop_actor(a->store);
                json_object_put(copy);
                json_object_put(left);
            }
            if (retval) {
                store_rollback(a->store);
            } else {
                retval = store_commit(a->store);
            }
            json_object_put(changes);
            json_object_put(current);
            if (retval) {
                m->failure = failed(m->vm, "the commit was not written");
                break;
            }
            log_info("VM %s: migration committed (downtime %s ms)", m->vm,
                     json_object_get_string(
                         json_object_object_get(info, "downtime")));
            end_domain(m);
            return;
        }
        if (m->step == S_RECOVER || result->error || !strcmp(status, "failed")
            || !strcmp(status, "cancelled")) {
            if (!m->failure) {
                const char *why =
                    result->error ? result->why
                                  : record_string(result->info, "error-desc");
                m->failure =
                    failed(m->vm, m->step == S_RECOVER
                                      ? "netpoold restarted on the source"
                                  : *why ? why
                                         : status);
            }
            if (m->step == S_RECOVER && !result->error
                && strcmp(status, "failed") && strcmp(status, "cancelled")
                && strcmp(status, "none")) {
                m->step = S_CANCEL;
                command(m, "migrate_cancel", NULL);
                return;
            }
            break;
        }
        /* The disks are copied (their mirrors only follow the guest's
         * writes now): progress is the memory's. */
        struct json_object *ram = json_object_object_get(result->info, "ram");
        write_progress(m,
                       m->disk_bytes
                           + (double) json_object_get_int64(
                               json_object_object_get(ram, "transferred")),
                       m->disk_bytes
                           + (double) json_object_get_int64(
                               json_object_object_get(ram, "total")));
        wait_ms(m, POLL_MS);
        return;
    }
    case S_SWITCHOVER:
        if (result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        if (++m->disk < json_object_array_length(m->disks)) {
            disk_command(m, "block-job-cancel");
            return;
        }
        m->step = S_SWITCH_WAIT;
        m->since_ms = clock_monotonic_ms();
        command(m, "query-block-jobs", NULL);
        return;
    case S_SWITCH_WAIT: {
        size_t ready, concluded, absent;
        const char *why = NULL;
        if (result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        mirrors_state(m, result->info, &ready, &concluded, &absent, &why);
        if (why || absent) {
            char *text = xasprintf("a disk mirror failed: %s",
                                   why ? why : "it vanished");
            m->failure = failed(m->vm, text);
            free(text);
            break;
        }
        if (concluded < json_object_array_length(m->disks)) {
            wait_ms(m, MIRROR_POLL_MS / 10);
            return;
        }
        m->disk = 0;
        m->step = S_DISMISS;
        disk_command(m, "job-dismiss");
        return;
    }
    case S_DISMISS:
        if (result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        if (++m->disk < json_object_array_length(m->disks)) {
            disk_command(m, "job-dismiss");
            return;
        }
        /* The copies are whole: the device state goes. */
        struct json_object *args = json_object_new_object();
        json_object_object_add(args, "state",
                               json_object_new_string("pre-switchover"));
        m->step = S_CONTINUE;
        m->continued = true;
        command(m, "migrate-continue", args);
        json_object_put(args);
        return;
    case S_CONTINUE:
        if (result->error) {
            m->failure = failed_command(m, result);
            break;
        }
        m->step = S_POLL;
        command(m, "query-migrate", NULL);
        return;
    case S_CANCEL:
        if (json_object_array_length(m->disks)) {
            /* The mirrors go (whatever they copied is dropped with the
             * destination's VDIs); the source's disks were never
             * touched. */
            m->disk = 0;
            m->step = S_UNMIRROR;
            disk_command(m, "block-job-cancel");
            return;
        }
        /* Fall through. */
    case S_UNMIRROR_DEL:
        if (m->step == S_UNMIRROR_DEL
            && ++m->disk < json_object_array_length(m->disks)) {
            disk_command(m, "blockdev-del");
            return;
        }
        /* Then what QEMU says the migration came to. */
        m->step = S_RESTORE;
        command(m, "query-status", NULL);
        return;
    case S_UNMIRROR:
        if (++m->disk < json_object_array_length(m->disks)) {
            disk_command(m, "block-job-cancel");
            return;
        }
        m->step = S_UNMIRROR_WAIT;
        m->since_ms = clock_monotonic_ms();
        command(m, "query-block-jobs", NULL);
        return;
    case S_UNMIRROR_WAIT: {
        size_t ready = 0, concluded = 0, absent = 0;
        const char *why = NULL;
        if (!result->error) {
            mirrors_state(m, result->info, &ready, &concluded, &absent, &why);
        }
        if (!result->error
            && concluded + absent < json_object_array_length(m->disks)
            && clock_monotonic_ms() - m->since_ms < UNMIRROR_LIMIT_MS) {
            wait_ms(m, MIRROR_POLL_MS);
            return;
        }
        m->disk = 0;
        m->step = S_UNMIRROR_DISMISS;
        disk_command(m, "job-dismiss");
        return;
    }
    case S_UNMIRROR_DISMISS:
        if (++m->disk < json_object_array_length(m->disks)) {
            disk_command(m, "job-dismiss");
            return;
        }
        m->disk = 0;
        m->step = S_UNMIRROR_DEL;
        disk_command(m, "blockdev-del");
        return;
    case S_RESTORE:
        if (!result->error && strcmp(status_of(result->info), "running")) {
            /* Stopped by a completed or failed migration: it continues
             * before the rollback says it runs here. */
            struct vm_backend *b = vm_controller_backend(a->vms);
            m->step = S_UNPAUSE;
            m->acting = true;
            b->ops->unpause(b, m->vm, on_backend, ticket(m));
            return;
        }
        /* Fall through. */
    case S_UNPAUSE:
        if (result->error) {
            log_warn("VM %s: after the migration: %s", m->vm, result->why);
        }
        if (rollback(a, m->vm, m->task, m->failure)) {
            /* Not written (after a restart the pool may not be whole
             * yet): again each second, while its map says it migrates. */
            m->step = S_ROLLBACK;
            wait_ms(m, 1000);
            return;
        }
        mig_free(m);
        return;
    default:
        return;
    }

    /* A failure before the commit: QEMU stops migrating and the domain
     * continues here. */
    char *text = np_error_to_string(m->failure);
    log_warn("VM %s: migration failed: %s", m->vm, text);
    free(text);
    m->gen = ++m->agent->gens;
    m->step = S_CANCEL;
    command(m, "migrate_cancel", NULL);
}

/* Steps. */

/* Moves 'm' on after its timer or a backend outcome ('result', or NULL
 * for the timer). */
static void
advance(struct mig *m, const struct vm_result *result)
{
    struct mgmt_migrate *a = m->agent;

    switch (m->step) {
    case D_STARTING:
        if (result->error) {
            struct np_error *error = failed_command(m, result);
            rollback(a, m->vm, m->task, error);
            np_error_destroy(error);
            if (m->made) {
                drop_disks(a, m->disks, true);
            }
            mig_free(m);
            return;
        }
        m->domid = result->domid;
        if (tls_dir(a)) {
            struct json_object *object = tls_object(m, "server");
            m->step = D_TLS;
            command(m, "object-add", object);
            json_object_put(object);
            return;
        }
        /* Fall through. */
    case D_LISTEN:
        if (m->step == D_LISTEN && result->error) {
            struct np_error *error = failed_command(m, result);
            rollback(a, m->vm, m->task, error);
            np_error_destroy(error);
            return; /* The feed ends the domain. */
        }
        if (json_object_array_length(m->disks)) {
            /* The disks' copies are written over NBD from the source. */
            struct json_object *args = json_object_new_object();
            struct json_object *addr = json_object_new_object();
            struct json_object *data = json_object_new_object();
            const char *colon = strrchr(m->nbd, ':');
            json_object_object_add(
                data, "host",
                json_object_new_string_len(m->nbd, (int) (colon - m->nbd)));
            json_object_object_add(data, "port",
                                   json_object_new_string(colon + 1));
            json_object_object_add(addr, "type",
                                   json_object_new_string("inet"));
            json_object_object_add(addr, "data", data);
            json_object_object_add(args, "addr", addr);
            if (tls_dir(a)) {
                char *id = tls_id(m);
                json_object_object_add(args, "tls-creds",
                                       json_object_new_string(id));
                free(id);
            }
            m->step = D_NBD_START;
            command(m, "nbd-server-start", args);
            json_object_put(args);
            return;
        }
        /* Fall through. */
    case D_NBD_START:
    case D_NBD_WRITABLE:
    case D_NBD_EXPORT:
        if (m->step != D_LISTEN && m->step != D_STARTING) {
            if (result->error) {
                struct np_error *error = failed_command(m, result);
                rollback(a, m->vm, m->task, error);
                np_error_destroy(error);
                return; /* The feed ends the domain. */
            }
            if (m->step == D_NBD_WRITABLE) {
                m->step = D_NBD_EXPORT;
                disk_command(m, "block-export-add");
                return;
            }
            m->disk = m->step == D_NBD_START ? 0 : m->disk + 1;
            if (m->disk < json_object_array_length(m->disks)) {
                /* A read-only disk's copy is opened read-only, as the
                 * guest sees it; the source writes it through the export
                 * first. */
                bool read_only = record_bool(
                    json_object_array_get_idx(m->disks, m->disk), "read_only");
                m->step = read_only ? D_NBD_WRITABLE : D_NBD_EXPORT;
                disk_command(m, read_only ? "blockdev-reopen"
                                          : "block-export-add");
                return;
            }
        }
        m->step = D_PORTS;
        m->since_ms = clock_monotonic_ms();
        dp_reconciler_set_incoming(a->fabric, m->vm, true);
        dest_ports(m);
        return;
    case D_TLS:
    case D_TLS_PARAMS: {
        if (result->error) {
            struct np_error *error = failed_command(m, result);
            rollback(a, m->vm, m->task, error);
            np_error_destroy(error);
            return; /* The feed ends the domain. */
        }
        struct json_object *args = json_object_new_object();
        if (m->step == D_TLS) {
            char *id = tls_id(m);
            json_object_object_add(args, "tls-creds",
                                   json_object_new_string(id));
            free(id);
            m->step = D_TLS_PARAMS;
            command(m, "migrate-set-parameters", args);
        } else {
            json_object_object_add(args, "uri",
                                   json_object_new_string(m->uri));
            m->step = D_LISTEN;
            command(m, "migrate-incoming", args);
        }
        json_object_put(args);
        return;
    }
    case D_PORTS:
        dest_ports(m);
        return;
    case D_READY:
        if (clock_monotonic_ms() - m->since_ms > STALL_LIMIT_MS) {
            struct np_error *error =
                failed(m->vm, "the source never started sending");
            rollback(a, m->vm, m->task, error);
            np_error_destroy(error);
            return;
        }
        wait_ms(m, 1000);
        return;
    case D_RESUMING:
    case D_NBD_STOP:
    case D_NBD_READONLY:
    case D_ANNOUNCE:
    case D_OUTCOME:
        dest_finish(m, result);
        return;
    case S_TLS:
    case S_MIRROR_ADD:
    case S_MIRROR:
    case S_MIRROR_WAIT:
    case S_CAPS:
    case S_PARAMS:
    case S_STOP:
    case S_MIGRATE:
    case S_POLL:
    case S_SWITCHOVER:
    case S_SWITCH_WAIT:
    case S_DISMISS:
    case S_CONTINUE:
    case S_RECOVER:
    case S_CANCEL:
    case S_UNMIRROR:
    case S_UNMIRROR_WAIT:
    case S_UNMIRROR_DISMISS:
    case S_UNMIRROR_DEL:
    case S_RESTORE:
    case S_UNPAUSE:
        if (!result) {
            /* A poll is due. */
            bool jobs = m->step == S_MIRROR_WAIT || m->step == S_SWITCH_WAIT
                        || m->step == S_UNMIRROR_WAIT;
            command(m, jobs ? "query-block-jobs" : "query-migrate", NULL);
            return;
        }
        if (m->cancel_asked && m->step < S_CANCEL) {
            m->step = S_CANCEL;
            command(m, "migrate_cancel", NULL);
            return;
        }
        source_run(m, NULL, result);
        return;
    case S_ROLLBACK:
        if (rollback(a, m->vm, m->task, m->failure)) {
            wait_ms(m, 1000);
            return;
        }
        mig_free(m);
        return;
    case M_ENDING:
    case M_DONE:
        if (result && result->error) {
            log_warn("VM %s: %s", m->vm, result->why);
        }
        if (m->role == ROLE_SOURCE && m->step == M_ENDING) {
            /* After the commit: the disks it left go once the
             * destination has written the outcome (sweep()). */
            a->sweep_due = true;
            event_active(a->kick, EV_TIMEOUT, 0);
        }
        mig_free(m);
        return;
    case S_WAITING:
        return;
    }
}

/* Sends the source's migration parameters: its TLS credentials, the
 * bandwidth and the downtime limit. */
static void
send_params(struct mig *m)
{
    struct mgmt_migrate *a = m->agent;
    struct json_object *record = store_get(a->store, "VM", m->vm);
    struct json_object *params = json_object_new_object();

    if (tls_dir(a)) {
        char *id = tls_id(m);
        json_object_object_add(params, "tls-creds",
                               json_object_new_string(id));
        json_object_object_add(
            params, "tls-hostname",
            json_object_new_string(map_get(record, "destination")));
        free(id);
    }
    const char *bandwidth = map_get(record, "bandwidth");
    const char *downtime = map_get(record, "downtime");
    int64_t mib = *bandwidth ? strtoll(bandwidth, NULL, 10) : 0;
    int64_t ms = *downtime ? strtoll(downtime, NULL, 10) : DEFAULT_DOWNTIME_MS;
    json_object_object_add(
        params, "max-bandwidth",
        json_object_new_int64(mib > 0 ? mib * 1048576 : INT64_C(1) << 34));
    json_object_object_add(params, "downtime-limit",
                           json_object_new_int64(ms));
    m->step = S_PARAMS;
    m->since_ms = clock_monotonic_ms();
    command(m, "migrate-set-parameters", params);
    json_object_put(params);
    json_object_put(record);
}

/* Writes the source's progress, 'done' bytes of 'total' (at most 0.95:
 * the rest is the switchover), into the VM's map at most each
 * PROGRESS_MS, and never less than it wrote before; the caller's host
 * copies it into the task. */
static void
write_progress(struct mig *m, double done, double total)
{
    struct mgmt_migrate *a = m->agent;
    uint64_t now = clock_monotonic_ms();
    double progress = total > 0 ? done / total : 0;

    progress = progress > 0.95 ? 0.95 : progress;
    if (now - m->progress_ms < PROGRESS_MS || progress < m->progress + 0.01) {
        return;
    }
    m->progress_ms = now;
    m->progress = progress;

    char text[16];
    snprintf(text, sizeof text, "%.2f", progress);
    struct json_object *current = store_get(a->store, "VM", m->vm);
    if (!strcmp(map_get(current, "task"), m->task)) {
        struct json_object *map = map_copy(current);
        json_object_object_add(map, "progress", json_object_new_string(text));
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "migration", map);
        update_vm(a, m->vm, changes);
        json_object_put(changes);
    }
    json_object_put(current);
}

/* Ends this host's domain of the migration's VM; 'm' goes once it is. */
static void
end_domain(struct mig *m)
{
    struct vm_backend *b = vm_controller_backend(m->agent->vms);

    m->gen = ++m->agent->gens;
    m->step = M_ENDING;
    m->acting = true;
    b->ops->destroy(b, m->vm, on_backend, ticket(m));
}

/* Sends QMP command 'name' with 'args' (borrowed, or NULL) to the VM's
 * domain here. */
static void
command(struct mig *m, const char *name, struct json_object *args)
{
    struct vm_backend *b = vm_controller_backend(m->agent->vms);

    event_del(m->timer);
    m->acting = true;
    snprintf(m->command, sizeof m->command, "%s", name);
    if (!b->ops->command) {
        struct vm_result result = {.error = ENOTSUP,
                                   .why = "the backend has no QMP"};
        m->acting = false;
        advance(m, &result);
        return;
    }
    b->ops->command(b, m->vm, name, args, on_backend, ticket(m));
}

static void
wait_ms(struct mig *m, int ms)
{
    event_add(m->timer, &(struct timeval){ms / 1000, (ms % 1000) * 1000});
}

static struct mig_ticket *
ticket(struct mig *m)
{
    struct mig_ticket *t = xzalloc(sizeof *t);

    t->agent = m->agent;
    snprintf(t->vm, sizeof t->vm, "%s", m->vm);
    t->gen = m->gen;
    t->next = m->agent->tickets;
    m->agent->tickets = t;
    return t;
}

static void
on_backend(void *ticket_, const struct vm_result *result)
{
    struct mig_ticket *t = ticket_;
    struct mgmt_migrate *a = t->agent;

    if (!a) {
        free(t);
        return;
    }
    for (struct mig_ticket **p = &a->tickets; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    struct mig *m = a->stopping ? NULL : mig_find(a, t->vm);

    if (m && m->gen == t->gen) {
        m->acting = false;
        store_push_actor(a->store, ACTOR);
        advance(m, result);
        store_pop_actor(a->store);
    }
    free(t);
}

/* Writes the end of a migration that did not commit on VM 'vm' (if its
 * map still names 'task'): the map and the operation gone, last_operation
 * the failure 'error' (cancelled for TASK_CANCELLED), the VM running on
 * its source.  Returns 0 or a positive errno. */
static int
rollback(struct mgmt_migrate *a, const char *vm, const char *task,
         const struct np_error *error)
{
    struct json_object *record = store_get(a->store, "VM", vm);
    int retval = 0;

    if (record && !strcmp(map_get(record, "task"), task)
        && strcmp(map_get(record, "state"), "committed")) {
        bool cancelled = error && !strcmp(error->code, ERR_TASK_CANCELLED);
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "migration", json_object_new_object());
        json_object_object_add(changes, "current_operations",
                               json_object_new_object());
        json_object_object_add(
            changes, "last_operation",
            outcome(task, cancelled ? "cancelled" : "failure", error));
        retval = update_vm(a, vm, changes);
        json_object_put(changes);
    }
    json_object_put(record);
    return retval;
}

/* Returns a new last_operation map for the migration of task 'task'. */
static struct json_object *
outcome(const char *task, const char *status, const struct np_error *error)
{
    struct json_object *map = json_object_new_object();

    json_object_object_add(map, "task", json_object_new_string(task));
    json_object_object_add(
        map, "operation",
        json_object_new_string(vm_operation_name(VM_OP_POOL_MIGRATE)));
    json_object_object_add(map, "status", json_object_new_string(status));
    json_object_object_add(map, "power_state",
                           json_object_new_string("Running"));
    if (error) {
        struct json_object *info = np_error_to_json(error);
        json_object_object_add(
            map, "error_info",
            json_object_new_string(
                json_object_to_json_string_ext(info, JSON_C_TO_STRING_PLAIN)));
        json_object_put(info);
    }
    return map;
}

/* Helpers. */

static struct mig *
mig_find(struct mgmt_migrate *a, const char *vm)
{
    for (struct mig *m = a->migs; m; m = m->next) {
        if (!strcmp(m->vm, vm)) {
            return m;
        }
    }
    return NULL;
}

static struct mig *
mig_new(struct mgmt_migrate *a, const char *vm, const char *task,
        enum mig_role role)
{
    struct mig *m = xzalloc(sizeof *m);

    m->agent = a;
    snprintf(m->vm, sizeof m->vm, "%s", vm);
    snprintf(m->task, sizeof m->task, "%s", task);
    m->role = role;
    m->gen = ++a->gens;
    m->since_ms = clock_monotonic_ms();
    m->timer = evtimer_new(a->base, on_timer, m);
    struct json_object *record = store_get(a->store, "VM", vm);
    m->disks = disks_of(a->store, vm, record);
    json_object_put(record);
    m->next = a->migs;
    a->migs = m;
    return m;
}

static void
mig_free(struct mig *m)
{
    struct mgmt_migrate *a = m->agent;

    for (struct mig **p = &a->migs; *p; p = &(*p)->next) {
        if (*p == m) {
            *p = m->next;
            break;
        }
    }
    json_object_object_del(a->cancelled, m->task);
    event_free(m->timer);
    np_error_destroy(m->failure);
    json_object_put(m->disks);
    free(m);
}

/* Returns the "migration" map of VM record 'record' (borrowed; NULL for
 * none). */
static struct json_object *
map_of(struct json_object *record)
{
    struct json_object *map = json_object_object_get(record, "migration");

    return json_object_is_type(map, json_type_object) ? map : NULL;
}

/* Returns how many members the "migration" map of 'record' (NULL for
 * none) has: 0 when no migration is in flight. */
static size_t
map_size(struct json_object *record)
{
    struct json_object *map = record ? map_of(record) : NULL;

    return map ? (size_t) json_object_object_length(map) : 0;
}

/* Returns a new copy of the "migration" map of 'record'. */
static struct json_object *
map_copy(struct json_object *record)
{
    struct json_object *copy = json_object_new_object();
    struct json_object *map = map_of(record);

    if (map) {
        json_object_object_foreach (map, key, value) {
            json_object_object_add(copy, key, json_object_get(value));
        }
    }
    return copy;
}

/* Returns member 'key' of the "migration" map of 'record', or "". */
static const char *
map_get(struct json_object *record, const char *key)
{
    return record_string(map_of(record), key);
}

static int
update_vm(struct mgmt_migrate *a, const char *vm, struct json_object *changes)
{
    store_push_actor(a->store, ACTOR);
    int retval = store_update(a->store, "VM", vm, changes);
    store_pop_actor(a->store);
    if (retval) {
        log_warn("VM %s: cannot write its migration: %s", vm,
                 strerror(retval));
    }
    return retval;
}

/* Returns the address host 'host' takes incoming migrations on (a new
 * string), or NULL if it has none: its PIF's on the pool's migration
 * network, else its management PIF's, else its pool address. */
static char *
listen_address(struct store *store, const char *host)
{
    return mgmt_migration_address(store, host);
}

/* Returns the folder of this host's TLS credentials for QEMU, issued by
 * the pool's CA on first use, or NULL when there is no pool CA (the
 * stream is then plain TCP). */
static const char *
tls_dir(struct mgmt_migrate *a)
{
    if (a->tls_dir) {
        return a->tls_dir;
    }
    struct json_object *pools = store_get_all(a->store, "pool");
    const char *ca = "", *ca_key = "";
    json_object_object_foreach (pools, uuid, pool) {
        (void) uuid;
        ca = record_string(pool, "ca_certificate");
        ca_key = record_string(pool, "ca_key");
    }
    char *cert = NULL, *key = NULL;
    if (*ca && *ca_key && !cert_issue_tls(ca, ca_key, a->host, &cert, &key)) {
        char *dir = xasprintf("%s/%s", TLS_ROOT, a->host);
        static const char *const names[] = {
            "ca-cert.pem", "server-cert.pem", "server-key.pem",
            "client-cert.pem", "client-key.pem"};
        const char *contents[] = {ca, cert, key, cert, key};
        bool written = true;
        mkdir("/run/netpool", 0755);
        mkdir(TLS_ROOT, 0700);
        mkdir(dir, 0700);
        for (size_t i = 0; i < 5; i++) {
            char *path = xasprintf("%s/%s", dir, names[i]);
            FILE *file = fopen(path, "w");
            written &= file && fputs(contents[i], file) >= 0;
            written &= file && !fclose(file);
            free(path);
        }
        if (written) {
            a->tls_dir = dir;
        } else {
            log_warn("cannot write the migration credentials in %s", dir);
            free(dir);
        }
    }
    free(cert);
    free(key);
    json_object_put(pools);
    return a->tls_dir;
}

/* Returns the arguments of QMP object-add that gives QEMU this host's TLS
 * credentials for 'm' as 'endpoint' ("server" or "client"). */
static struct json_object *
tls_object(struct mig *m, const char *endpoint)
{
    struct json_object *args = json_object_new_object();
    char *id = tls_id(m);

    json_object_object_add(args, "qom-type",
                           json_object_new_string("tls-creds-x509"));
    json_object_object_add(args, "id", json_object_new_string(id));
    json_object_object_add(args, "dir",
                           json_object_new_string(m->agent->tls_dir));
    json_object_object_add(args, "endpoint", json_object_new_string(endpoint));
    json_object_object_add(args, "verify-peer", json_object_new_boolean(true));
    free(id);
    return args;
}

/* Returns the QOM id of 'm''s credentials (a new string). */
static char *
tls_id(const struct mig *m)
{
    return xasprintf("netpool-tls-%.8s", m->task);
}

static struct np_error *
failed(const char *vm, const char *why)
{
    return np_error_new(ERR_VM_MIGRATE_FAILED, vm, why, NULL);
}

/* Returns VM_MIGRATE_FAILED for the failed outcome 'result' of the last
 * command 'm' sent to QEMU (or of a backend operation), naming it. */
static struct np_error *
failed_command(const struct mig *m, const struct vm_result *result)
{
    char *why = *m->command ? xasprintf("%s: %s", m->command, result->why)
                            : xstrdup(result->why);
    struct np_error *error = failed(m->vm, why);

    free(why);
    return error;
}

/* Returns the "status" of a QMP reply 'info', or "". */
static const char *
status_of(struct json_object *info)
{
    return record_string(info, "status");
}

/* Storage migration. */

/* Returns the disks that move with VM 'vm' (record 'record', or NULL) in
 * its migration map, a new array of {"vdi", "new", "sr", "device",
 * "format", "size", "name", "parent"}: each "vdi-new:VDI" = NEW of the map, with the
 * userdevice of the VM's VBD that has VDI (or, after the commit, NEW). */
static struct json_object *
disks_of(struct store *store, const char *vm, struct json_object *record)
{
    struct json_object *disks = json_object_new_array();
    struct json_object *map = map_of(record);

    if (!map) {
        return disks;
    }
    struct json_object *key = json_object_new_string(vm);
    struct json_object *vbds = store_find(store, "VBD", "VM", key);
    json_object_put(key);
    json_object_object_foreach (map, name, value) {
        if (strncmp(name, "vdi-new:", 8)) {
            continue;
        }
        const char *vdi = name + 8;
        const char *new = json_object_get_string(value);
        char sr_key[64];
        snprintf(sr_key, sizeof sr_key, "vdi:%s", vdi);
        int64_t device = -1;
        bool read_only = false;
        for (size_t i = 0; i < json_object_array_length(vbds); i++) {
            struct json_object *vbd = store_get(
                store, "VBD",
                json_object_get_string(json_object_array_get_idx(vbds, i)));
            const char *has = record_string(vbd, "VDI");
            if (!strcmp(has, vdi) || !strcmp(has, new)) {
                device = json_object_get_int64(
                    json_object_object_get(vbd, "userdevice"));
                read_only = !strcmp(record_string(vbd, "mode"), "RO");
            }
            json_object_put(vbd);
        }
        struct json_object *old = store_get(store, "VDI", vdi);
        struct json_object *disk = json_object_new_object();
        json_object_object_add(disk, "vdi", json_object_new_string(vdi));
        json_object_object_add(disk, "new", json_object_new_string(new));
        json_object_object_add(
            disk, "sr", json_object_new_string(map_get(record, sr_key)));
        json_object_object_add(disk, "device", json_object_new_int64(device));
        json_object_object_add(
            disk, "format",
            json_object_new_string(*record_string(old, "format")
                                       ? record_string(old, "format")
                                       : "qcow2"));
        json_object_object_add(
            disk, "size",
            json_object_new_int64(json_object_get_int64(
                json_object_object_get(old, "virtual_size"))));
        json_object_object_add(
            disk, "name",
            json_object_new_string(record_string(old, "name_label")));
        json_object_object_add(
            disk, "parent",
            json_object_new_string(record_string(old, "parent")));
        json_object_object_add(disk, "read_only",
                               json_object_new_boolean(read_only));
        json_object_object_add(
            disk, "vdi_read_only",
            json_object_new_boolean(record_bool(old, "read_only")));
        struct json_object *copy = store_get(store, "VDI", new);
        json_object_object_add(
            disk, "path",
            json_object_new_string(record_string(copy, "location")));
        json_object_put(copy);
        json_object_array_add(disks, disk);
        json_object_put(old);
    }
    json_object_put(vbds);
    return disks;
}

/* Destination: makes the VDIs the disks of 'm' move to, each an empty
 * image of its disk's virtual size and format in its directory SR: the
 * records first (so that a restart finds them to remove), then the images
 * (qemu-img create).  Stores in '*mapp' {VDI: its copy} (NULL for no
 * disk).  Returns NULL, or SR_FULL(sr, needed, available) when the SR's
 * file system has no room for the virtual sizes, or VM_MIGRATE_FAILED. */
static struct np_error *
make_disks(struct mig *m, struct json_object **mapp)
{
    struct mgmt_migrate *a = m->agent;
    size_t n = json_object_array_length(m->disks);
    struct json_object *needed = json_object_new_object();
    struct np_error *error = NULL;

    *mapp = NULL;
    if (!n) {
        json_object_put(needed);
        return NULL;
    }
    /* Where each goes, and room for them. */
    for (size_t i = 0; i < n; i++) {
        struct json_object *disk = json_object_array_get_idx(m->disks, i);
        const char *sr = record_string(disk, "sr");
        struct json_object *sr_rec = store_get(a->store, "SR", sr);
        const char *location = record_string(
            json_object_object_get(sr_rec, "device_config"), "location");
        int64_t size =
            json_object_get_int64(json_object_object_get(disk, "size"));
        struct json_object *have;
        if (!json_object_object_get_ex(needed, sr, &have)) {
            have = json_object_new_int64(0);
            json_object_object_add(needed, sr, have);
        }
        json_object_set_int64(have, json_object_get_int64(have) + size);
        struct statvfs vfs;
        if (!error
            && (strcmp(record_string(sr_rec, "type"), "dir")
                || *location != '/' || statvfs(location, &vfs))) {
            error = failed(m->vm, "the destination SR is not a directory "
                                  "of this host");
        } else if (!error) {
            long long available =
                (long long) vfs.f_bavail * (long long) vfs.f_frsize;
            if (json_object_get_int64(have) > available) {
                char need_text[32], have_text[32];
                snprintf(need_text, sizeof need_text, "%lld",
                         (long long) json_object_get_int64(have));
                snprintf(have_text, sizeof have_text, "%lld", available);
                error =
                    np_error_new(ERR_SR_FULL, sr, need_text, have_text, NULL);
            }
        }
        char *path =
            xasprintf("%s/%s.%s", location, record_string(disk, "new"),
                      record_string(disk, "format"));
        json_object_object_add(disk, "path", json_object_new_string(path));
        free(path);
        json_object_put(sr_rec);
    }
    json_object_put(needed);
    if (error) {
        return error;
    }

    /* Their records, in one write. */
    store_begin(a->store);
    store_push_actor(a->store, ACTOR);
    int retval = 0;
    for (size_t i = 0; !retval && i < n; i++) {
        struct json_object *disk = json_object_array_get_idx(m->disks, i);
        struct json_object *vdi = json_object_new_object();
        json_object_object_add(
            vdi, "name_label",
            json_object_new_string(record_string(disk, "name")));
        json_object_object_add(
            vdi, "SR", json_object_new_string(record_string(disk, "sr")));
        json_object_object_add(
            vdi, "virtual_size",
            json_object_get(json_object_object_get(disk, "size")));
        json_object_object_add(
            vdi, "format",
            json_object_new_string(record_string(disk, "format")));
        json_object_object_add(
            vdi, "location",
            json_object_new_string(record_string(disk, "path")));
        json_object_object_add(
            vdi, "read_only",
            json_object_new_boolean(record_bool(disk, "vdi_read_only")));
        /* Removed by this host if the migration ends without its commit,
         * even across a restart (sweep()). */
        json_object_object_add(vdi, "migration", mark(m, "copy"));
        retval =
            store_insert(a->store, "VDI", record_string(disk, "new"), vdi);
        json_object_put(vdi);
    }
    store_pop_actor(a->store);
    if (retval) {
        store_rollback(a->store);
        return failed(m->vm, "the destination's VDIs were not written");
    }
    if ((retval = store_commit(a->store))) {
        return failed(m->vm, "the destination's VDIs were not written");
    }
    m->made = true;

    /* Their images. */
    *mapp = json_object_new_object();
    for (size_t i = 0; !error && i < n; i++) {
        struct json_object *disk = json_object_array_get_idx(m->disks, i);
        char size[32];
        snprintf(size, sizeof size, "%lld",
                 (long long) json_object_get_int64(
                     json_object_object_get(disk, "size")));
        char *const argv[] = {"qemu-img",
                              "create",
                              "-q",
                              "-f",
                              (char *) record_string(disk, "format"),
                              (char *) record_string(disk, "path"),
                              size,
                              NULL};
        pid_t pid;
        int status = -1;
        if (!posix_spawnp(&pid, "qemu-img", NULL, NULL, argv, environ)) {
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
                continue;
            }
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status)) {
            error = failed(m->vm, "qemu-img could not make a disk's copy");
        }
        json_object_object_add(
            *mapp, record_string(disk, "vdi"),
            json_object_new_string(record_string(disk, "new")));
    }
    if (error) {
        json_object_put(*mapp);
        *mapp = NULL;
    }
    return error;
}

/* Removes the VDIs of 'disks' (see disks_of()), their records and images:
 * the copies ('new': a migration rolled back on its destination) or the
 * originals (after the commit, on the source), each only if no VBD has it
 * any more. */
static void
drop_disks(struct mgmt_migrate *a, struct json_object *disks, bool new)
{
    for (size_t i = 0; i < json_object_array_length(disks); i++) {
        struct json_object *disk = json_object_array_get_idx(disks, i);
        drop_vdi(a, record_string(disk, new ? "new" : "vdi"),
                 new ? "the copy" : "the original");
    }
}

/* Removes VDI 'vdi' ('why' says what it was to a migration), its record
 * and its image, unless a VBD has it. */
static void
drop_vdi(struct mgmt_migrate *a, const char *vdi, const char *why)
{
    struct json_object *record = store_get(a->store, "VDI", vdi);
    const char *location = record_string(record, "location");

    if (!record
        || json_object_array_length(json_object_object_get(record, "VBDs"))) {
        json_object_put(record);
        return;
    }
    store_push_actor(a->store, ACTOR);
    int retval = store_delete(a->store, "VDI", vdi);
    store_pop_actor(a->store);
    if (retval) {
        log_warn("VDI %s: cannot remove it: %s", vdi, strerror(retval));
    } else {
        if (storage_location_is_nfs(location)) {
            int ignored;
            storage_file_start(a->files, location, NULL, NULL, NULL, &ignored);
        } else if (*location == '/' && unlink(location) && errno != ENOENT) {
            log_warn("%s: cannot remove: %s", location, strerror(errno));
        }
        log_info("VDI %s: removed (%s of a migration)", vdi, why);
    }
    json_object_put(record);
}

/* Removes the VDIs that storage migrations made or left for this host to
 * remove (their "migration" mark names it) once no VM's migration map
 * names their task and no migration of their VM runs here: the copies of
 * a migration that did not commit, and the originals of one that did.
 * The migrations remove them as they end; this finds those a restart,
 * or a rollback written while this host's netpoold was away, left. */
static void
sweep(struct mgmt_migrate *a)
{
    struct json_object *vdis = store_get_all(a->store, "VDI");
    struct json_object *tasks = json_object_new_object();
    struct json_object *vms = store_get_all(a->store, "VM");

    json_object_object_foreach (vms, vm, vm_record) {
        (void) vm;
        if (map_size(vm_record)) {
            json_object_object_add(tasks, map_get(vm_record, "task"), NULL);
        }
    }
    json_object_object_foreach (vdis, vdi, record) {
        struct json_object *mark = json_object_object_get(record, "migration");
        const char *task = record_string(mark, "task");
        if (!*task || strcmp(record_string(mark, "host"), a->host)
            || json_object_object_get_ex(tasks, task, NULL)
            || mig_find(a, record_string(mark, "vm"))) {
            continue;
        }
        drop_vdi(a, vdi,
                 !strcmp(record_string(mark, "role"), "copy")
                     ? "the copy"
                     : "the original");
    }
    json_object_put(vms);
    json_object_put(tasks);
    json_object_put(vdis);
}

/* Returns a new "migration" mark of a VDI that migration 'm' makes
 * (role "copy") or leaves ("original") for this host to remove. */
static struct json_object *
mark(const struct mig *m, const char *role)
{
    struct json_object *mark = json_object_new_object();

    json_object_object_add(mark, "task", json_object_new_string(m->task));
    json_object_object_add(mark, "vm", json_object_new_string(m->vm));
    json_object_object_add(mark, "role", json_object_new_string(role));
    json_object_object_add(mark, "host",
                           json_object_new_string(m->agent->host));
    return mark;
}

/* Sends QMP command 'name' for the disk 'm->disk' of 'm': the NBD export
 * of its copy (destination), or its mirror's steps (source). */
static void
disk_command(struct mig *m, const char *name)
{
    struct json_object *disk = json_object_array_get_idx(m->disks, m->disk);
    int64_t device =
        json_object_get_int64(json_object_object_get(disk, "device"));
    struct json_object *args = json_object_new_object();
    char *job = job_id(m, device);
    char *drive = xasprintf("disk%lld", (long long) device);

    if (!strcmp(name, "block-export-add")) {
        char *id = xasprintf("np-export%lld", (long long) device);
        char *node = xasprintf("np-disk%lld", (long long) device);
        json_object_object_add(args, "type", json_object_new_string("nbd"));
        json_object_object_add(args, "id", json_object_new_string(id));
        json_object_object_add(args, "node-name",
                               json_object_new_string(node));
        json_object_object_add(args, "writable",
                               json_object_new_boolean(true));
        json_object_object_add(args, "name", json_object_new_string(drive));
        free(id);
        free(node);
    } else if (!strcmp(name, "blockdev-add")) {
        struct json_object *record = store_get(m->agent->store, "VM", m->vm);
        const char *nbd = map_get(record, "nbd");
        const char *colon = strrchr(nbd, ':');
        struct json_object *server = json_object_new_object();
        json_object_object_add(server, "type", json_object_new_string("inet"));
        json_object_object_add(
            server, "host",
            json_object_new_string_len(nbd, colon ? (int) (colon - nbd) : 0));
        json_object_object_add(server, "port",
                               json_object_new_string(colon ? colon + 1 : ""));
        json_object_object_add(args, "driver", json_object_new_string("nbd"));
        json_object_object_add(args, "node-name", json_object_new_string(job));
        json_object_object_add(args, "server", server);
        json_object_object_add(args, "export", json_object_new_string(drive));
        if (tls_dir(m->agent)) {
            char *id = tls_id(m);
            json_object_object_add(args, "tls-creds",
                                   json_object_new_string(id));
            json_object_object_add(
                args, "tls-hostname",
                json_object_new_string(map_get(record, "destination")));
            free(id);
        }
        json_object_put(record);
    } else if (!strcmp(name, "blockdev-mirror")) {
        json_object_object_add(args, "job-id", json_object_new_string(job));
        json_object_object_add(args, "device", json_object_new_string(drive));
        json_object_object_add(args, "target", json_object_new_string(job));
        /* The copy reads as zeros where it was not written: a disk of
         * its own needs only what it holds (top), a clone its backing
         * chain's too (full, which writes zeros over the whole copy
         * first). */
        json_object_object_add(
            args, "sync",
            json_object_new_string(*record_string(disk, "parent") ? "full"
                                                                  : "top"));
        /* A mirror that ends stays listed with its outcome until it is
         * dismissed. */
        json_object_object_add(args, "auto-dismiss",
                               json_object_new_boolean(false));
        /* The migration's bandwidth limits each disk's copy too. */
        struct json_object *record = store_get(m->agent->store, "VM", m->vm);
        long long mib = strtoll(map_get(record, "bandwidth"), NULL, 10);
        if (mib > 0) {
            json_object_object_add(args, "speed",
                                   json_object_new_int64(mib * 1048576));
        }
        json_object_put(record);
    } else if (!strcmp(name, "block-job-cancel")) {
        json_object_object_add(args, "device", json_object_new_string(job));
        /* At the switchover a mirror in step finishes its copy; on a
         * rollback it stops at once. */
        json_object_object_add(
            args, "force", json_object_new_boolean(m->step != S_SWITCHOVER));
    } else if (!strcmp(name, "job-dismiss")) {
        json_object_object_add(args, "id", json_object_new_string(job));
    } else if (!strcmp(name, "blockdev-del")) {
        json_object_object_add(args, "node-name", json_object_new_string(job));
    } else if (!strcmp(name, "blockdev-reopen")) {
        /* The copy's nodes (vm/qemu-argv.c names both) with what the
         * drive opened them with, writable or not. */
        bool read_only = m->step != D_NBD_WRITABLE;
        char *node = xasprintf("np-disk%lld", (long long) device);
        char *file_node = xasprintf("np-file%lld", (long long) device);
        struct json_object *file = json_object_new_object();
        struct json_object *format = json_object_new_object();
        struct json_object *list = json_object_new_array();
        json_object_object_add(file, "driver", json_object_new_string("file"));
        json_object_object_add(file, "node-name",
                               json_object_new_string(file_node));
        json_object_object_add(
            file, "filename",
            json_object_new_string(record_string(disk, "path")));
        json_object_object_add(file, "read-only",
                               json_object_new_boolean(read_only));
        json_object_object_add(
            format, "driver",
            json_object_new_string(record_string(disk, "format")));
        json_object_object_add(format, "node-name",
                               json_object_new_string(node));
        json_object_object_add(format, "file",
                               json_object_new_string(file_node));
        json_object_object_add(format, "read-only",
                               json_object_new_boolean(read_only));
        json_object_array_add(list, file);
        json_object_array_add(list, format);
        json_object_object_add(args, "options", list);
        free(node);
        free(file_node);
    }
    command(m, name, args);
    json_object_put(args);
    free(job);
    free(drive);
}

/* Counts what QMP query-block-jobs 'jobs' says of the mirrors of 'm': how
 * many are ready, how many concluded (ended, not dismissed yet), how many
 * absent, and the first error a concluded one reports in '*why' (else
 * left as it is). */
static void
mirrors_state(const struct mig *m, struct json_object *jobs, size_t *ready,
              size_t *concluded, size_t *absent, const char **why)
{
    *ready = *concluded = *absent = 0;
    for (size_t i = 0; i < json_object_array_length(m->disks); i++) {
        struct json_object *disk = json_object_array_get_idx(m->disks, i);
        char *job = job_id(
            m, json_object_get_int64(json_object_object_get(disk, "device")));
        struct json_object *found = NULL;
        for (size_t j = 0; j < json_object_array_length(jobs); j++) {
            struct json_object *info = json_object_array_get_idx(jobs, j);
            if (!strcmp(record_string(info, "device"), job)) {
                found = info;
            }
        }
        if (!found) {
            (*absent)++;
        } else if (!strcmp(record_string(found, "status"), "concluded")) {
            (*concluded)++;
            if (*record_string(found, "error") && !*why) {
                *why = record_string(found, "error");
            }
        } else if (record_bool(found, "ready")) {
            (*ready)++;
        }
        free(job);
    }
}

/* Sums in '*done' and '*len' what QMP query-block-jobs 'jobs' says the
 * mirrors of 'm' copied and have to copy (both grow while the guest
 * writes). */
static void
mirrors_copied(const struct mig *m, struct json_object *jobs, double *done,
               double *len)
{
    *done = *len = 0;
    for (size_t i = 0; i < json_object_array_length(m->disks); i++) {
        struct json_object *disk = json_object_array_get_idx(m->disks, i);
        char *job = job_id(
            m, json_object_get_int64(json_object_object_get(disk, "device")));
        for (size_t j = 0; j < json_object_array_length(jobs); j++) {
            struct json_object *info = json_object_array_get_idx(jobs, j);
            if (!strcmp(record_string(info, "device"), job)) {
                *done += (double) json_object_get_int64(
                    json_object_object_get(info, "offset"));
                *len += (double) json_object_get_int64(
                    json_object_object_get(info, "len"));
            }
        }
        free(job);
    }
}

/* Returns the id of the mirror job (and its NBD target node) of disk
 * 'device' in 'm' (a new string). */
static char *
job_id(const struct mig *m, int64_t device)
{
    return xasprintf("np-mirror-%.8s-%lld", m->task, (long long) device);
}
