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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "bonding/bonding.h"
#include "lib/child.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "bond"

/* What separates bond/show from lacp/show in the child's output. */
#define SEPARATOR "\n==netpool-lacp==\n"

/* The longest a read may take before ovs-appctl gives up, in seconds. */
#define APPCTL_TIMEOUT 5

/* While OVS has yet to act on a member, reads again after this many ms,
 * doubled at each read that finds it still so, up to SETTLE_MAX_MS.  A
 * read that gets nothing (ovs-appctl timed out or failed, as it may on a
 * loaded host) is tried again on the same schedule: no OVSDB change may
 * come to ask for another. */
#define SETTLE_FIRST_MS 100
#define SETTLE_MAX_MS 5000

struct dp_bond_status {
    struct store *store;          /* Where runtime fields go. */
    struct event_base *base;      /* The loop. */
    char *host;                   /* This host's UUID. */
    char *rundir;                 /* OVS's run folder, or NULL for the
                                   * default. */
    struct dp_ovs *ovs;           /* OVSDB's view of the bonds. */
    struct json_object *links_up; /* Bond UUID → links_up last seen. */
    struct child *child;          /* Running reader, or NULL. */
    struct event *recheck;        /* Reads again when a delay ends. */
    bool again;                   /* A read was asked for while one ran. */
    int settling;                 /* Reads in a row that found OVS yet to
                                   * act on a member. */
    int failed;                   /* Reads in a row that got nothing. */
};

static bool has_bonds(struct dp_bond_status *);
static void start_read(struct dp_bond_status *);
static void read_done(void *status_, const struct child_exit *);
static void on_recheck(evutil_socket_t, short, void *status_);
static int64_t backoff_ms(int n);
static void update(struct dp_bond_status *, struct json_object *bond_show,
                   struct json_object *lacp_show);
static int64_t update_bond(struct dp_bond_status *, const char *uuid,
                           struct json_object *bond, struct json_object *pifs,
                           struct json_object *bond_show,
                           struct json_object *lacp_show,
                           struct json_object *observed, bool *changed,
                           bool *settling);
static int compare_devices(const void *a, const void *b);
static const char *field(struct json_object *record, const char *name);

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
    s->rundir = dp_ovs_rundir(remote);
    s->links_up = json_object_new_object();
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
    child_stop(s->child);
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
 * read_done() gets; one shell runs both, so one child carries them. */
static void
start_read(struct dp_bond_status *s)
{
    static const char script[] =
        "t=\n"
        "if [ -n \"$1\" ] && [ -r \"$1/ovs-vswitchd.pid\" ]; then\n"
        "  t=\"--target=$1/ovs-vswitchd.$(cat \"$1/ovs-vswitchd.pid\").ctl\"\n"
        "fi\n"
        "ovs-appctl --timeout=$2 $t bond/show; printf '" SEPARATOR "'\n"
        "ovs-appctl --timeout=$2 $t lacp/show\n";
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", APPCTL_TIMEOUT);
    const char *args[] = {s->rundir ? s->rundir : "", timeout, NULL};
    int error =
        child_start_script(s->base, script, args, 2 * APPCTL_TIMEOUT + 1,
                           read_done, s, &s->child);
    if (error) {
        log_warn("cannot run ovs-appctl: %s", strerror(error));
        update(s, NULL, NULL);
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

/* Ends the child's read: if 'complete' hands its output to update(); then
 * starts the read asked for meanwhile. */
static void
read_done(void *status_, const struct child_exit *end)
{
    const char *output = end->output;
    struct dp_bond_status *s = status_;
    bool read = false;

    s->child = NULL;
    if (end->complete) {
        const char *separator = strstr(output, SEPARATOR);
        struct json_object *bond_show = NULL, *lacp_show = NULL;
        if (separator) {
            char *text = xasprintf("%.*s", (int) (separator - output), output);
            bond_show = *text ? bond_parse_bond_show(text) : NULL;
            lacp_show = bond_parse_lacp_show(separator + strlen(SEPARATOR));
            free(text);
        }
        read = bond_show != NULL;
        update(s, bond_show, lacp_show);
        json_object_put(bond_show);
        json_object_put(lacp_show);
    }
    if (s->again) {
        s->again = false;
        if (has_bonds(s)) {
            start_read(s);
        }
    } else if (!read) {
        int64_t ms = backoff_ms(s->failed++);
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        log_debug("no bond/show from ovs-vswitchd (%s); again in %lld ms",
                  end->complete ? "empty" : "timed out", (long long) ms);
        event_add(s->recheck, &tv);
    }
    if (read) {
        s->failed = 0;
    }
}

/* Returns the wait before the next read after 'n' reads in a row that
 * found OVS yet to act or got nothing: SETTLE_FIRST_MS doubled 'n' times,
 * at most SETTLE_MAX_MS. */
static int64_t
backoff_ms(int n)
{
    int64_t ms = SETTLE_FIRST_MS << (n < 6 ? n : 6);
    return ms < SETTLE_MAX_MS ? ms : SETTLE_MAX_MS;
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
    bool changed = false, settling = false;

    store_push_actor(s->store, "system:bond-status");
    store_begin(s->store);
    json_object_object_foreach (bonds, uuid, bond) {
        struct json_object *master =
            json_object_object_get(pifs, field(bond, "master"));
        if (!master || strcmp(field(master, "host"), s->host)) {
            continue;
        }
        int64_t ms = update_bond(s, uuid, bond, pifs, bond_show, lacp_show,
                                 observed, &changed, &settling);
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
    store_pop_actor(s->store);
    json_object_put(s->links_up);
    s->links_up = seen;
    json_object_put(observed);
    json_object_put(pifs);
    json_object_put(bonds);

    if (settling) {
        int64_t ms = backoff_ms(s->settling++);
        if (!recheck || ms < recheck) {
            recheck = ms;
        }
    } else {
        s->settling = 0;
    }
    if (recheck) {
        struct timeval tv = {recheck / 1000, (recheck % 1000) * 1000};
        event_add(s->recheck, &tv);
    }
}

/* Writes the runtime fields of bond 'uuid' and its members, raising
 * BOND_STATUS_CHANGED when links_up moved since the last look; sets
 * '*changed' if it wrote and '*settling' if OVS has yet to act on a
 * member.  Returns the ms after which a running delay ends (0: none). */
static int64_t
update_bond(struct dp_bond_status *s, const char *uuid,
            struct json_object *bond, struct json_object *pifs,
            struct json_object *bond_show, struct json_object *lacp_show,
            struct json_object *observed, bool *changed, bool *settling)
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
    *settling |=
        json_object_get_boolean(json_object_object_get(status, "settling"));
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
