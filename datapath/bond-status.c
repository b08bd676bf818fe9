/*
 * Bond status: what OVS says about this host's bonds, written back as
 * runtime fields — bond.links_up and bond.active_slave, and on each member
 * PIF bond_member_state, lacp_state, lacp_partner and bfd_state — with a
 * BOND_STATUS_CHANGED message ("n/m up") whenever the number of enabled
 * members changes.
 *
 * OVSDB reports a member's link state, whether its LACP is current, its
 * BFD state and the bond's active member, but not whether OVS has the
 * member enabled (updelay, downdelay, LACP and BFD all decide that) nor
 * the LACP partner.  So after every change of the OVSDB replica this reads
 * `ovs-appctl bond/show` and `lacp/show` from ovs-vswitchd, in a child
 * process whose output arrives on the event loop (never blocking it), and
 * lets bonding/ combine both.  While a member's updelay or downdelay runs,
 * it reads again when the delay ends.  Without ovs-appctl, the OVSDB
 * columns alone give an estimate.
 */
#include "datapath/datapath.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "bonding/bonding.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "bond"

/* What separates bond/show from lacp/show in the child's output. */
#define SEPARATOR "\n==netpool-lacp==\n"

/* The longest a read may take before ovs-appctl gives up, in seconds. */
#define APPCTL_TIMEOUT 5

extern char **environ;

struct dp_bond_status {
    struct store *store;          /* Where runtime fields go. */
    struct event_base *base;      /* The loop. */
    char *host;                   /* This host's UUID. */
    char *rundir;                 /* OVS's run folder, or NULL for the
                                   * default. */
    struct dp_ovs *ovs;           /* OVSDB's view of the bonds. */
    struct json_object *links_up; /* Bond UUID → links_up last seen. */
    pid_t child;                  /* Running reader, or 0. */
    int fd;                       /* Its output, or -1. */
    struct event *read_event;     /* Waits for its output. */
    struct event *recheck;        /* Reads again when a delay ends. */
    char *output;                 /* What it printed so far. */
    size_t size;                  /* Bytes in 'output'. */
    bool again;                   /* A read was asked for while one ran. */
};

static bool has_bonds(struct dp_bond_status *);
static void start_read(struct dp_bond_status *);
static void on_output(evutil_socket_t, short, void *status_);
static void on_recheck(evutil_socket_t, short, void *status_);
static void finish_read(struct dp_bond_status *, bool complete);
static void update(struct dp_bond_status *, struct json_object *bond_show,
                   struct json_object *lacp_show);
static int64_t update_bond(struct dp_bond_status *, const char *uuid,
                           struct json_object *bond, struct json_object *pifs,
                           struct json_object *bond_show,
                           struct json_object *lacp_show,
                           struct json_object *observed, bool *changed);
static int compare_devices(const void *a, const void *b);
static const char *field(struct json_object *record, const char *name);
static char *rundir_of(const char *remote);

int
dp_bond_status_create(struct event_base *base, struct store *store,
                      struct dp_ovs *ovs, const char *host, const char *remote,
                      struct dp_bond_status **statusp)
{
    struct dp_bond_status *s = xzalloc(sizeof *s);

    s->store = store;
    s->ovs = ovs;
    s->base = base;
    s->host = xstrdup(host);
    s->rundir = rundir_of(remote);
    s->links_up = json_object_new_object();
    s->fd = -1;
    s->recheck = event_new(base, -1, 0, on_recheck, s);
    *statusp = s;
    return 0;
}

void
dp_bond_status_destroy(struct dp_bond_status *s)
{
    if (!s) {
        return;
    }
    finish_read(s, false);
    event_free(s->recheck);
    json_object_put(s->links_up);
    free(s->rundir);
    free(s->host);
    free(s);
}

void
dp_bond_status_kick(struct dp_bond_status *s)
{
    if (s->child) {
        s->again = true;
    } else if (has_bonds(s)) {
        start_read(s);
    } else if (json_object_object_length(s->links_up)) {
        /* The last bond went: forget what was seen of it. */
        json_object_put(s->links_up);
        s->links_up = json_object_new_object();
    }
}

/* Reading. */

/* Returns true if a bond master PIF of this host exists. */
static bool
has_bonds(struct dp_bond_status *s)
{
    struct json_object *bonds = store_get_all(s->store, "bond");
    bool found = false;

    json_object_object_foreach (bonds, uuid, bond) {
        (void) uuid;
        struct json_object *master =
            store_get(s->store, "PIF", field(bond, "master"));
        found |= master && !strcmp(field(master, "host"), s->host);
        json_object_put(master);
    }
    json_object_put(bonds);
    return found;
}

/* Starts `ovs-appctl bond/show` and `lacp/show` in a child whose output
 * on_output() collects. */
static void
start_read(struct dp_bond_status *s)
{
    char *target = NULL;
    int fds[2];

    if (s->rundir) {
        char *pidfile = xasprintf("%s/ovs-vswitchd.pid", s->rundir);
        FILE *f = fopen(pidfile, "r");
        long pid;
        if (f && fscanf(f, "%ld", &pid) == 1) {
            target = xasprintf("%s/ovs-vswitchd.%ld.ctl", s->rundir, pid);
        }
        if (f) {
            fclose(f);
        }
        free(pidfile);
    }
    if (pipe2(fds, O_CLOEXEC)) {
        update(s, NULL, NULL);
        free(target);
        return;
    }

    /* One shell runs both, so one child and one pipe carry them. */
    char timeout[32];
    snprintf(timeout, sizeof timeout, "--timeout=%d", APPCTL_TIMEOUT);
    char *const argv[] = {
        "sh",
        "-c",
        "ovs-appctl $1 $2 bond/show; printf '" SEPARATOR "';"
        " ovs-appctl $1 $2 lacp/show",
        "sh",
        timeout,
        target ? xasprintf("--target=%s", target) : NULL,
        NULL,
    };
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    pid_t pid;
    int error = posix_spawnp(&pid, "sh", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    free(argv[5]);
    free(target);
    close(fds[1]);
    if (error) {
        log_warn("cannot run ovs-appctl: %s", strerror(error));
        close(fds[0]);
        update(s, NULL, NULL);
        return;
    }
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    s->child = pid;
    s->fd = fds[0];
    s->read_event =
        event_new(s->base, s->fd, EV_READ | EV_PERSIST, on_output, s);
    event_add(s->read_event, NULL);
}

static void
on_output(evutil_socket_t fd, short what, void *status_)
{
    struct dp_bond_status *s = status_;
    char buf[4096];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            s->output = xrealloc(s->output, s->size + n + 1);
            memcpy(s->output + s->size, buf, n);
            s->size += n;
            s->output[s->size] = '\0';
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        } else {
            finish_read(s, true);
            return;
        }
    }
}

static void
on_recheck(evutil_socket_t fd, short what, void *status_)
{
    struct dp_bond_status *s = status_;

    if (s->child) {
        s->again = true;
    } else if (has_bonds(s)) {
        start_read(s);
    }
}

/* Ends the child's read: reaps it, and if 'complete' hands its output to
 * update(); then starts the read asked for meanwhile. */
static void
finish_read(struct dp_bond_status *s, bool complete)
{
    if (s->read_event) {
        event_free(s->read_event);
        s->read_event = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->child) {
        int wstatus = 0;
        if (!complete) {
            kill(s->child, SIGTERM);
        }
        /* Its output is closed, so it has exited or is about to. */
        while (waitpid(s->child, &wstatus, 0) < 0 && errno == EINTR) {
            continue;
        }
        s->child = 0;
    }
    if (complete) {
        char *text = s->output ? s->output : "";
        char *separator = strstr(text, SEPARATOR);
        struct json_object *bond_show, *lacp_show;
        if (separator) {
            *separator = '\0';
            bond_show = *text ? bond_parse_bond_show(text) : NULL;
            lacp_show = bond_parse_lacp_show(separator + strlen(SEPARATOR));
        } else {
            bond_show = lacp_show = NULL;
        }
        update(s, bond_show, lacp_show);
        json_object_put(bond_show);
        json_object_put(lacp_show);
    }
    free(s->output);
    s->output = NULL;
    s->size = 0;
    if (complete && s->again) {
        s->again = false;
        if (has_bonds(s)) {
            start_read(s);
        }
    }
}

/* Writing. */

/* Writes the runtime fields of every bond of this host from what was
 * read ('bond_show' and 'lacp_show' may be NULL) and the latest OVSDB
 * view. */
static void
update(struct dp_bond_status *s, struct json_object *bond_show,
       struct json_object *lacp_show)
{
    struct json_object *bonds = store_get_all(s->store, "bond");
    struct json_object *pifs = store_get_all(s->store, "PIF");
    struct json_object *seen = json_object_new_object();
    struct json_object *observed = dp_ovs_observe(s->ovs);
    int64_t recheck = 0;
    bool changed = false;

    store_begin(s->store);
    json_object_object_foreach (bonds, uuid, bond) {
        struct json_object *master =
            json_object_object_get(pifs, field(bond, "master"));
        if (!master || strcmp(field(master, "host"), s->host)) {
            continue;
        }
        int64_t ms = update_bond(s, uuid, bond, pifs, bond_show, lacp_show,
                                 observed, &changed);
        if (ms && (!recheck || ms < recheck)) {
            recheck = ms;
        }
        struct json_object *up;
        if (json_object_object_get_ex(s->links_up, uuid, &up)) {
            json_object_object_add(seen, uuid, json_object_get(up));
        }
    }
    if (!changed || store_commit(s->store)) {
        store_rollback(s->store);
    }
    json_object_put(s->links_up);
    s->links_up = seen;
    json_object_put(observed);
    json_object_put(pifs);
    json_object_put(bonds);

    if (recheck) {
        struct timeval tv = {recheck / 1000, (recheck % 1000) * 1000};
        event_add(s->recheck, &tv);
    }
}

/* Writes the runtime fields of bond 'uuid' and its members, raising
 * BOND_STATUS_CHANGED when links_up moved since the last look; sets
 * '*changed' if it wrote.  Returns the ms after which to look again (0:
 * no need). */
static int64_t
update_bond(struct dp_bond_status *s, const char *uuid,
            struct json_object *bond, struct json_object *pifs,
            struct json_object *bond_show, struct json_object *lacp_show,
            struct json_object *observed, bool *changed)
{
    const char *master_uuid = field(bond, "master");
    struct json_object *master = json_object_object_get(pifs, master_uuid);
    const char *port = field(master, "device");
    struct json_object *members = json_object_new_array();
    char *devices = xstrdup("");

    /* Members by device, as OVS lists them. */
    json_object_object_foreach (pifs, pif_uuid, pif) {
        if (strcmp(field(pif, "bond_slave_of"), uuid)) {
            continue;
        }
        struct json_object *m = json_object_new_object();
        json_object_object_add(m, "pif", json_object_new_string(pif_uuid));
        json_object_object_add(m, "device",
                               json_object_new_string(field(pif, "device")));
        json_object_object_add(m, "MAC",
                               json_object_new_string(field(pif, "MAC")));
        json_object_array_add(members, m);
    }
    json_object_array_sort(members, compare_devices);
    for (size_t i = 0; i < json_object_array_length(members); i++) {
        char *joined =
            xasprintf("%s%s%s", devices, i ? "+" : "",
                      field(json_object_array_get_idx(members, i), "device"));
        free(devices);
        devices = joined;
    }

    struct json_object *status =
        bond_status_compute(port, members, bond_show, lacp_show, observed);
    int up = json_object_get_int(json_object_object_get(status, "links_up"));
    int total = (int) json_object_array_length(members);

    /* The bond itself. */
    struct json_object *changes = json_object_new_object();
    struct json_object *active =
        json_object_object_get(status, "active_slave");
    if (json_object_get_int(json_object_object_get(bond, "links_up")) != up) {
        json_object_object_add(changes, "links_up", json_object_new_int(up));
    }
    if (strcmp(field(bond, "active_slave"), json_object_get_string(active))) {
        json_object_object_add(changes, "active_slave",
                               json_object_get(active));
    }
    if (json_object_object_length(changes)) {
        *changed |= !store_update(s->store, "bond", uuid, changes);
    }
    json_object_put(changes);

    /* Its members. */
    json_object_object_foreach (json_object_object_get(status, "members"),
                                member_uuid, state) {
        struct json_object *pif = json_object_object_get(pifs, member_uuid);
        struct json_object *diff = json_object_new_object();
        json_object_object_foreach (state, key, value) {
            if (strcmp(field(pif, key), json_object_get_string(value))) {
                json_object_object_add(diff, key, json_object_get(value));
            }
        }
        if (json_object_object_length(diff)) {
            *changed |= !store_update(s->store, "PIF", member_uuid, diff);
        }
        json_object_put(diff);
    }

    /* The message, once OVS has shown the bond: its first appearance is
     * not a change. */
    bool shown =
        bond_show ? json_object_object_get_ex(bond_show, port, NULL)
                  : json_object_object_get_ex(
                      json_object_object_get(observed, "ports"), port, NULL);
    struct json_object *last;
    if (shown) {
        if (json_object_object_get_ex(s->links_up, uuid, &last)
            && json_object_get_int(last) != up) {
            char *body = bond_status_message(devices, up, total);
            if (!store_raise_message(s->store, "BOND_STATUS_CHANGED", 3, "PIF",
                                     master_uuid, body)) {
                *changed = true;
            }
            free(body);
        }
        json_object_object_add(s->links_up, uuid, json_object_new_int(up));
    }

    int64_t recheck =
        json_object_get_int64(json_object_object_get(status, "recheck_ms"));
    json_object_put(status);
    json_object_put(members);
    free(devices);
    return recheck;
}

/* Helpers. */

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
}

/* Orders members by device, for json_object_array_sort(). */
static int
compare_devices(const void *a_, const void *b_)
{
    struct json_object *const *a = a_, *const *b = b_;
    return strcmp(field(*a, "device"), field(*b, "device"));
}

/* OVS keeps its database socket and its control sockets in one folder:
 * the folder of a "unix:DIR/db.sock" remote.  NULL for other remotes. */
static char *
rundir_of(const char *remote)
{
    if (!remote || strncmp(remote, "unix:", 5)) {
        return NULL;
    }
    char *dir = xstrdup(remote + 5);
    char *slash = strrchr(dir, '/');
    if (!slash) {
        free(dir);
        return NULL;
    }
    *slash = '\0';
    return dir;
}
