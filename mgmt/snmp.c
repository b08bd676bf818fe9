/*
 * The SNMP subagent: netpoold speaks AgentX to net-snmp's snmpd, which
 * serves its IF-MIB, IEEE8023-LAG-MIB and NETPOOL-MIB objects (see
 * snmp.h) to SNMP managers, and sends its notifications: linkDown/linkUp
 * when a PIF's carrier changes, netpoolBondStatusChanged when a bond's
 * links change (the BOND_STATUS_CHANGED message), netpoolMtuMismatch for
 * an MTU_MISMATCH message, netpoolVmCrashed for VM_CRASHED,
 * netpoolManagementRolledBack for MANAGEMENT_RECONFIGURE_ROLLED_BACK,
 * netpoolHaVmRestarted for HA_VM_RESTARTED and netpoolHaVmUnplaceable for
 * HA_VM_UNPLACEABLE (snmp_message_note() maps them).
 *
 * net-snmp's library runs inside netpoold's libevent loop without ever
 * blocking it: snmp_select_info2() names the descriptors and the next
 * timeout, each becomes a libevent event, and after every read or timeout
 * (snmp_read2(), snmp_timeout(), run_alarms()) they are armed again.
 * net-snmp's alarms, not SIGALRM, drive the AgentX ping, so when snmpd
 * restarts the subagent finds it again within a second and registers
 * anew.
 *
 * Requests are served from a view (snmp-rows.c) built from the store and
 * from what the OVS reconciler observes, at most once a second (sooner
 * after a store change), so a walk of a thousand interfaces costs a few
 * builds, not one per object.  LACP details come from ovs-vswitchd
 * (`ovs-appctl lacp/show`, `lacp/show-stats`) in a child process whose
 * output arrives on the loop.
 */
#include "mgmt/mgmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>
#include <json-c/json.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "datapath/datapath.h"
#include "lib/child.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/snmp.h"
#include "mgmt/store.h"

#define LOG_MODULE "snmp"

#define VIEW_MAX_AGE_MS 1000 /* A view is rebuilt after this long. */
#define VIEW_MIN_AGE_MS \
    50                    /* …and after a store change, not sooner
                                  * than this. */
#define LACP_INTERVAL_S 5 /* Seconds between LACP reads. */
#define LACP_TIMEOUT_S 12 /* Time limit of one read. */
#define REGISTRATION_PRIORITY \
    50 /* Below snmpd's own 127, so netpool's
                                  * IF-MIB rows take precedence. */
#define LACP_SEPARATOR "\n==netpool-lacp-stats==\n"

struct snmp_agent {
    struct event_base *base;  /* The loop. */
    struct store *store;      /* Records. */
    char *host;               /* This host's UUID. */
    char *index_path;         /* Where the index map is saved. */
    char *ovs_rundir;         /* OVS run folder, or NULL. */
    snmp_observe_cb *observe; /* What OVS reports. */
    void *observe_aux;        /* Its argument. */
    struct timespec started;  /* For TimeTicks. */

    /* net-snmp on the loop. */
    struct event **fd_events; /* One per net-snmp descriptor. */
    size_t n_fd_events;       /* Entries in 'fd_events'. */
    struct event *timer;      /* net-snmp's next timeout. */

    /* The view. */
    struct snmp_view view;       /* What requests are answered from. */
    uint64_t view_built_ms;      /* When, in ms since start. */
    bool view_stale;             /* The store changed since. */
    struct json_object *indexes; /* Index map. */
    struct json_object *opers;   /* ifIndex → last ifOperStatus. */
    struct json_object *changes; /* ifIndex → TimeTicks of its change. */
    char *table_signature;       /* Interfaces of the last view. */
    char *stack_signature;       /* Stack of the last view. */
    uint32_t table_changed;      /* TimeTicks. */
    uint32_t stack_changed;      /* TimeTicks. */

    /* Notifications. */
    struct event *changed_event;     /* Reads the change log soon. */
    uint64_t last_seq;               /* Last event looked at. */
    struct store_subscription *feed; /* Wakes the notifications. */
    struct json_object *carriers;    /* PIF UUID → carrier last seen. */

    /* LACP reader. */
    struct json_object *lacp; /* snmp_lacp_parse() of the last read. */
    struct event *lacp_timer; /* Starts reads. */
    struct child *lacp_child; /* Running reader, or NULL. */
};

/* net-snmp keeps global state: one agent per process. */
static struct snmp_agent *the_agent;

static int log_callback(int major, int minor, void *server, void *client);
static Netsnmp_Node_Handler handle_request;
static void rearm(struct snmp_agent *);
static void on_fd(evutil_socket_t, short, void *agent_);
static void on_timer(evutil_socket_t, short, void *agent_);
static void store_changed(void *agent_, const struct store_change *, size_t n,
                          uint64_t seq);
static void on_store_changed(evutil_socket_t, short, void *agent_);
static void remember_carriers(struct snmp_agent *);
static void notify_link(struct snmp_agent *, const char *pif,
                        struct json_object *snapshot);
static void notify_bond(struct snmp_agent *, struct json_object *message);
static void notify_message(struct snmp_agent *, struct json_object *message,
                           oid trap, const char *class,
                           const char *name_field);
static const struct snmp_view *current_view(struct snmp_agent *);
static void build_view(struct snmp_agent *);
static struct json_object *read_records(struct store *, const char *host);
static uint32_t ticks(const struct snmp_agent *);
static uint64_t now_ms(const struct snmp_agent *);
static void on_lacp_timer(evutil_socket_t, short, void *agent_);
static void lacp_done(void *agent_, const struct child_exit *);
static bool has_lacp_bonds(struct snmp_agent *);
static const char *field(struct json_object *record, const char *name);

int
snmp_agent_start(struct event_base *base, struct store *store,
                 const char *host, const char *socket_path,
                 const char *state_dir, const char *ovs_db,
                 snmp_observe_cb *observe, void *aux,
                 struct snmp_agent **agentp)
{
    if (the_agent) {
        return EBUSY;
    }
    struct snmp_agent *a = xzalloc(sizeof *a);
    a->base = base;
    a->store = store;
    a->host = xstrdup(host);
    a->index_path = xasprintf("%s/snmp-indexes.json", state_dir);
    a->observe = observe;
    a->observe_aux = aux;
    clock_gettime(CLOCK_MONOTONIC, &a->started);
    if (ovs_db && !strncmp(ovs_db, "unix:", 5) && strrchr(ovs_db, '/')) {
        a->ovs_rundir = xstrdup(ovs_db + 5);
        *strrchr(a->ovs_rundir, '/') = '\0';
    }
    snmp_view_init(&a->view);
    a->view_stale = true;
    a->indexes = snmp_index_load(a->index_path);
    a->opers = json_object_new_object();
    a->changes = json_object_new_object();
    a->carriers = json_object_new_object();
    a->lacp = json_object_new_object();
    the_agent = a;

    /* net-snmp's messages go to netpoold's log. */
    snmp_disable_stderrlog();
    netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG);
    snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING,
                           log_callback, NULL);

    /* A subagent of the master on 'socket_path', pinging it every second
     * so that it reconnects at once after a restart; no configuration or
     * persistent files of its own, no MIB files, no SIGALRM. */
    netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE,
                           1);
    netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET,
                          socket_path);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    if (!getenv("MIBS")) {
        setenv("MIBS", "", 1);
    }
    /* NETPOOL_SNMP_DEBUG=TOKENS turns on net-snmp's debug output for
     * those tokens ("agentx/subagent,snmp_alarm"), into netpoold's log. */
    if (getenv("NETPOOL_SNMP_DEBUG")) {
        debug_register_tokens(getenv("NETPOOL_SNMP_DEBUG"));
        snmp_set_do_debugging(1);
    }
    init_agent("netpoold");

    for (size_t i = 0; snmp_registered_roots[i]; i++) {
        const uint32_t *root = snmp_registered_roots[i];
        oid name[SNMP_MAX_OID];
        for (uint32_t j = 0; j < root[0]; j++) {
            name[j] = root[j + 1];
        }
        char label[32];
        snprintf(label, sizeof label, "netpool-%zu", i);
        netsnmp_handler_registration *reg =
            netsnmp_create_handler_registration(label, handle_request, name,
                                                root[0], HANDLER_CAN_RONLY);
        reg->priority = REGISTRATION_PRIORITY;
        reg->handler->myvoid = a;
        if (netsnmp_register_handler(reg) != MIB_REGISTERED_OK) {
            log_warn("cannot register subtree %zu", i);
        }
    }
    /* After init_agent(), which sets its own default. */
    netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
                       NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, 1);
    init_snmp("netpoold");

    a->timer = event_new(base, -1, 0, on_timer, a);
    a->changed_event = event_new(base, -1, 0, on_store_changed, a);
    a->lacp_timer = event_new(base, -1, EV_PERSIST, on_lacp_timer, a);
    struct timeval lacp_tv = {LACP_INTERVAL_S, 0};
    event_add(a->lacp_timer, &lacp_tv);
    a->last_seq = store_event_last(store);
    remember_carriers(a);
    a->feed =
        store_subscribe(store, NULL, STORE_FEED_ALL, NULL, store_changed, a);
    rearm(a);
    log_info("SNMP subagent of the AgentX master at %s", socket_path);
    *agentp = a;
    return 0;
}

void
snmp_agent_stop(struct snmp_agent *a)
{
    if (!a) {
        return;
    }
    store_unsubscribe(a->feed);
    child_stop(a->lacp_child);
    snmp_shutdown("netpoold");
    for (size_t i = 0; i < a->n_fd_events; i++) {
        event_free(a->fd_events[i]);
    }
    free(a->fd_events);
    event_free(a->timer);
    event_free(a->changed_event);
    event_free(a->lacp_timer);
    snmp_view_clear(&a->view);
    json_object_put(a->indexes);
    json_object_put(a->opers);
    json_object_put(a->changes);
    json_object_put(a->carriers);
    json_object_put(a->lacp);
    free(a->table_signature);
    free(a->stack_signature);
    free(a->ovs_rundir);
    free(a->index_path);
    free(a->host);
    free(a);
    the_agent = NULL;
}

/* net-snmp's log messages, at our levels. */
static int
log_callback(int major, int minor, void *server, void *client)
{
    const struct snmp_log_message *m = server;
    char text[512];
    size_t n;

    snprintf(text, sizeof text, "%s", m && m->msg ? m->msg : "");
    n = strlen(text);
    while (n && text[n - 1] == '\n') {
        text[--n] = '\0';
    }
    if (!n) {
        return 0;
    }
    if (m->priority <= LOG_ERR) {
        log_warn("net-snmp: %s", text);
    } else {
        log_debug("net-snmp: %s", text);
    }
    return 0;
}

/* Requests. */

/* Answers GET and GETNEXT from the view; refuses writes. */
static int
handle_request(netsnmp_mib_handler *handler,
               netsnmp_handler_registration *reginfo,
               netsnmp_agent_request_info *reqinfo,
               netsnmp_request_info *requests)
{
    struct snmp_agent *a = handler->myvoid;
    const struct snmp_view *view = current_view(a);
    uint32_t root[SNMP_MAX_OID], name[SNMP_MAX_OID];
    size_t root_len = reginfo->rootoid_len;

    for (size_t i = 0; i < root_len && i < SNMP_MAX_OID; i++) {
        root[i] = (uint32_t) reginfo->rootoid[i];
    }
    for (netsnmp_request_info *r = requests; r; r = r->next) {
        netsnmp_variable_list *vb = r->requestvb;
        if (r->processed) {
            continue;
        }
        if (reqinfo->mode != MODE_GET && reqinfo->mode != MODE_GETNEXT) {
            netsnmp_set_request_error(reqinfo, r, SNMP_ERR_NOTWRITABLE);
            continue;
        }
        size_t len =
            vb->name_length < SNMP_MAX_OID ? vb->name_length : SNMP_MAX_OID;
        bool fits = true;
        for (size_t i = 0; i < len; i++) {
            fits &= vb->name[i] <= UINT32_MAX;
            name[i] = (uint32_t) vb->name[i];
        }
        const struct snmp_entry *e = NULL;
        if (reqinfo->mode == MODE_GET) {
            e = fits && vb->name_length <= SNMP_MAX_OID
                    ? snmp_view_get(view, name, len)
                    : NULL;
            if (!e) {
                netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHINSTANCE);
                continue;
            }
        } else {
            e = snmp_view_next(view, name, len, root, root_len);
            if (!e) {
                continue; /* Past our subtree: the agent moves on. */
            }
            oid next[SNMP_MAX_OID];
            for (size_t i = 0; i < e->oid_len; i++) {
                next[i] = e->oid[i];
            }
            snmp_set_var_objid(vb, next, e->oid_len);
        }
        switch (e->type) {
        case SNMP_T_INTEGER: {
            long v = (long) (int64_t) e->number;
            snmp_set_var_typed_value(vb, ASN_INTEGER, &v, sizeof v);
            break;
        }
        case SNMP_T_COUNTER32:
        case SNMP_T_GAUGE32:
        case SNMP_T_TIMETICKS: {
            u_long v = (u_long) (e->number & 0xffffffff);
            snmp_set_var_typed_value(vb, (u_char) e->type, &v, sizeof v);
            break;
        }
        case SNMP_T_COUNTER64: {
            struct counter64 v = {
                .high = (u_long) (e->number >> 32),
                .low = (u_long) (e->number & 0xffffffff),
            };
            snmp_set_var_typed_value(vb, ASN_COUNTER64, &v, sizeof v);
            break;
        }
        case SNMP_T_OID: {
            oid value[SNMP_MAX_OID];
            size_t n = SNMP_MAX_OID;
            if (!read_objid(e->octets, value, &n)) {
                value[0] = value[1] = 0;
                n = 2;
            }
            snmp_set_var_typed_value(vb, ASN_OBJECT_ID, value,
                                     n * sizeof *value);
            break;
        }
        default:
            snmp_set_var_typed_value(vb, ASN_OCTET_STR, e->octets,
                                     e->octets_len);
            break;
        }
    }
    return SNMP_ERR_NOERROR;
}

/* net-snmp on the loop. */

/* Arms an event for each descriptor net-snmp waits on and a timer for its
 * next timeout (at most a second away, for the AgentX ping alarm). */
static void
rearm(struct snmp_agent *a)
{
    netsnmp_large_fd_set fds;
    struct timeval tv = {1, 0};
    int n_fds = 0, block = 0;

    for (size_t i = 0; i < a->n_fd_events; i++) {
        event_free(a->fd_events[i]);
    }
    a->n_fd_events = 0;

    netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
    snmp_select_info2(&n_fds, &fds, &tv, &block);
    a->fd_events =
        xrealloc(a->fd_events, sizeof *a->fd_events * (n_fds ? n_fds : 1));
    for (int fd = 0; fd < n_fds; fd++) {
        if (NETSNMP_LARGE_FD_ISSET(fd, &fds)) {
            struct event *e = event_new(a->base, fd, EV_READ, on_fd, a);
            event_add(e, NULL);
            a->fd_events[a->n_fd_events++] = e;
        }
    }
    netsnmp_large_fd_set_cleanup(&fds);
    if (block || tv.tv_sec > 1) {
        tv.tv_sec = 1;
        tv.tv_usec = 0;
    }
    event_add(a->timer, &tv);
}

static void
on_fd(evutil_socket_t fd, short what, void *agent_)
{
    struct snmp_agent *a = agent_;
    netsnmp_large_fd_set fds;

    netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
    NETSNMP_LARGE_FD_SET(fd, &fds);
    snmp_read2(&fds);
    netsnmp_large_fd_set_cleanup(&fds);
    run_alarms();
    netsnmp_check_outstanding_agent_requests();
    rearm(a);
}

static void
on_timer(evutil_socket_t fd, short what, void *agent_)
{
    struct snmp_agent *a = agent_;

    snmp_timeout();
    run_alarms();
    netsnmp_check_outstanding_agent_requests();
    rearm(a);
}

/* Notifications. */

static void
store_changed(void *agent_, const struct store_change *changes, size_t n,
              uint64_t seq)
{
    struct snmp_agent *a = agent_;
    struct timeval now = {0, 0};

    a->view_stale = true;
    if (!event_pending(a->changed_event, EV_TIMEOUT, NULL)) {
        event_add(a->changed_event, &now);
    }
}

/* Reads the events since the last look: a PIF of this host whose
 * carrier changed sends linkDown or linkUp, a BOND_STATUS_CHANGED message
 * netpoolBondStatusChanged, a message snmp_message_note() knows its own
 * notification. */
static void
on_store_changed(evutil_socket_t fd, short what, void *agent_)
{
    struct snmp_agent *a = agent_;

    if (a->last_seq < store_event_first(a->store) - 1
        && store_event_first(a->store)) {
        /* The log moved on without us: start again from now. */
        a->last_seq = store_event_last(a->store);
        remember_carriers(a);
        return;
    }
    for (;;) {
        struct json_object *changes =
            store_events_since(a->store, a->last_seq, 256);
        size_t n = json_object_array_length(changes);
        for (size_t i = 0; i < n; i++) {
            struct json_object *c = json_object_array_get_idx(changes, i);
            const char *class = field(c, "class");
            const char *op = field(c, "operation");
            struct json_object *snapshot =
                json_object_object_get(c, "snapshot");
            a->last_seq = (uint64_t) json_object_get_int64(
                json_object_object_get(c, "id"));
            if (!strcmp(class, "PIF") && strcmp(op, "del")) {
                notify_link(a, field(c, "ref"), snapshot);
            } else if (!strcmp(class, "PIF")) {
                json_object_object_del(a->carriers, field(c, "ref"));
            } else if (!strcmp(class, "message") && !strcmp(op, "add")
                       && !strcmp(field(snapshot, "name"),
                                  "BOND_STATUS_CHANGED")) {
                notify_bond(a, snapshot);
            } else if (!strcmp(class, "message") && !strcmp(op, "add")) {
                /* Messages with a notification of their own, sent by the
                 * agent of the host that raised them: every member holds
                 * a copy. */
                const struct snmp_message_note *note =
                    snmp_message_note(field(snapshot, "name"));
                if (note && snmp_message_is_ours(snapshot, a->host)) {
                    notify_message(a, snapshot, note->trap, note->class,
                                   note->name_field);
                }
            }
        }
        json_object_put(changes);
        if (n < 256) {
            break;
        }
    }
}

/* Notes the carrier of every PIF of this host. */
static void
remember_carriers(struct snmp_agent *a)
{
    struct json_object *pifs = store_get_all(a->store, "PIF");

    json_object_put(a->carriers);
    a->carriers = json_object_new_object();
    json_object_object_foreach (pifs, uuid, pif) {
        if (!strcmp(field(pif, "host"), a->host)) {
            json_object_object_add(
                a->carriers, uuid,
                json_object_new_boolean(json_object_get_boolean(
                    json_object_object_get(pif, "carrier"))));
        }
    }
    json_object_put(pifs);
}

/* Sends linkUp or linkDown (RFC 2863: ifIndex, ifAdminStatus,
 * ifOperStatus, and ifName for the reader) if PIF 'pif' of this host,
 * now 'snapshot', has another carrier than last seen. */
static void
notify_link(struct snmp_agent *a, const char *pif,
            struct json_object *snapshot)
{
    static const oid trap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
    static const oid if_entry[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 0, 0};
    static const oid if_name[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1, 0};
    struct json_object *last;

    if (strcmp(field(snapshot, "host"), a->host)) {
        return;
    }
    bool carrier =
        json_object_get_boolean(json_object_object_get(snapshot, "carrier"));
    bool known = json_object_object_get_ex(a->carriers, pif, &last);
    bool was = known && json_object_get_boolean(last);
    json_object_object_add(a->carriers, pif, json_object_new_boolean(carrier));
    if (!known || was == carrier) {
        return;
    }
    /* Only NICs: a bond's or VLAN's PIF has no carrier of its own. */
    if (!json_object_get_boolean(json_object_object_get(snapshot, "physical"))
        || export_hidden(snapshot)) {
        return;
    }
    char key[64];
    bool changed = false;
    snprintf(key, sizeof key, "pif:%s", pif);
    uint32_t index = snmp_index_assign(a->indexes, "if", key, &changed);
    if (changed) {
        snmp_index_save(a->index_path, a->indexes);
    }
    oid link_trap[] = {1, 3, 6, 1, 6, 3, 1, 1, 5, carrier ? 4 : 3};
    long admin = json_object_get_boolean(
                     json_object_object_get(snapshot, "currently_attached"))
                     ? 1
                     : 2;
    long oper = carrier ? 1 : 2;
    long idx = index;
    const char *device = field(snapshot, "device");
    netsnmp_variable_list *vars = NULL;
    oid name[12];

    snmp_varlist_add_variable(&vars, trap_oid, OID_LENGTH(trap_oid),
                              ASN_OBJECT_ID, link_trap, sizeof link_trap);
    memcpy(name, if_entry, sizeof if_entry);
    name[10] = index;
    name[9] = 1;
    snmp_varlist_add_variable(&vars, name, 11, ASN_INTEGER, &idx, sizeof idx);
    name[9] = 7;
    snmp_varlist_add_variable(&vars, name, 11, ASN_INTEGER, &admin,
                              sizeof admin);
    name[9] = 8;
    snmp_varlist_add_variable(&vars, name, 11, ASN_INTEGER, &oper,
                              sizeof oper);
    memcpy(name, if_name, sizeof if_name);
    name[11] = index;
    snmp_varlist_add_variable(&vars, name, 12, ASN_OCTET_STR, device,
                              strlen(device));
    send_v2trap(vars);
    snmp_free_varbind(vars);
    a->view_stale = true;
    log_info("SNMP %s for %s (ifIndex %u)", carrier ? "linkUp" : "linkDown",
             device, (unsigned int) index);
}

/* Sends netpoolBondStatusChanged for the bond whose master PIF the
 * BOND_STATUS_CHANGED 'message' is about. */
static void
notify_bond(struct snmp_agent *a, struct json_object *message)
{
    static const oid trap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
    static const oid bond_trap[] = {1, 3, 6, 1, 4, 1, SNMP_NETPOOL_ENTERPRISE,
                                    0, 1};
    static const oid bond_entry[] = {1, 3, 6, 1, 4, 1, SNMP_NETPOOL_ENTERPRISE,
                                     1, 3, 1, 0, 0};
    const char *master = field(message, "obj_uuid");
    struct json_object *pif = store_get(a->store, "PIF", master);
    struct json_object *bonds = store_get_all(a->store, "bond");
    struct json_object *pifs = store_get_all(a->store, "PIF");
    const char *bond_uuid = NULL;
    struct json_object *bond = NULL;

    json_object_object_foreach (bonds, uuid, b) {
        if (!strcmp(field(b, "master"), master)) {
            bond_uuid = uuid;
            bond = b;
        }
    }
    if (!pif || !bond || strcmp(field(pif, "host"), a->host)) {
        goto out;
    }
    long total = 0;
    json_object_object_foreach (pifs, m_uuid, m) {
        (void) m_uuid;
        total += !strcmp(field(m, "bond_slave_of"), bond_uuid);
    }
    long up = json_object_get_int(json_object_object_get(bond, "links_up"));
    long status = up <= 0 ? 3 : up < total ? 2 : 1;
    char key[64];
    bool changed = false;
    snprintf(key, sizeof key, "pif:%s", master);
    uint32_t index = snmp_index_assign(a->indexes, "if", key, &changed);
    if (changed) {
        snmp_index_save(a->index_path, a->indexes);
    }
    const char *device = field(pif, "device");
    netsnmp_variable_list *vars = NULL;
    oid name[12];

    snmp_varlist_add_variable(&vars, trap_oid, OID_LENGTH(trap_oid),
                              ASN_OBJECT_ID, bond_trap, sizeof bond_trap);
    memcpy(name, bond_entry, sizeof bond_entry);
    name[11] = index;
    name[10] = 3;
    snmp_varlist_add_variable(&vars, name, 12, ASN_OCTET_STR, device,
                              strlen(device));
    name[10] = 5;
    u_long up_value = up < 0 ? 0 : (u_long) up;
    snmp_varlist_add_variable(&vars, name, 12, ASN_GAUGE, &up_value,
                              sizeof up_value);
    name[10] = 6;
    u_long total_value = (u_long) total;
    snmp_varlist_add_variable(&vars, name, 12, ASN_GAUGE, &total_value,
                              sizeof total_value);
    name[10] = 8;
    snmp_varlist_add_variable(&vars, name, 12, ASN_INTEGER, &status,
                              sizeof status);
    send_v2trap(vars);
    snmp_free_varbind(vars);
    log_info("SNMP netpoolBondStatusChanged for %s: %ld/%ld up", device, up,
             total);

out:
    json_object_put(pifs);
    json_object_put(bonds);
    json_object_put(pif);
}

/* Sends notification netpoolNotifications.'trap' for 'message', whose
 * object is of 'class' and named by its field 'name_field':
 * netpoolMtuMismatch (a network), netpoolVmCrashed, netpoolHaVmRestarted
 * and netpoolHaVmUnplaceable (a VM), netpoolManagementRolledBack (the PIF
 * that has the role again). */
static void
notify_message(struct snmp_agent *a, struct json_object *message, oid trap,
               const char *class, const char *name_field)
{
    static const oid trap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
    oid message_trap[] = {1, 3, 6, 1, 4, 1, SNMP_NETPOOL_ENTERPRISE, 0, trap};
    oid object[] = {1, 3, 6, 1, 4, 1, SNMP_NETPOOL_ENTERPRISE, 1, 4, 0, 0};
    const char *uuid = field(message, "obj_uuid");
    struct json_object *subject = store_get(a->store, class, uuid);
    const char *name = field(subject, name_field);
    const char *body = field(message, "body");
    size_t body_length = strlen(body);
    netsnmp_variable_list *vars = NULL;

    snmp_varlist_add_variable(&vars, trap_oid, OID_LENGTH(trap_oid),
                              ASN_OBJECT_ID, message_trap,
                              sizeof message_trap);
    object[9] = 1;
    snmp_varlist_add_variable(&vars, object, OID_LENGTH(object), ASN_OCTET_STR,
                              uuid, strlen(uuid));
    object[9] = 2;
    snmp_varlist_add_variable(&vars, object, OID_LENGTH(object), ASN_OCTET_STR,
                              name, strlen(name));
    object[9] = 3;
    snmp_varlist_add_variable(&vars, object, OID_LENGTH(object), ASN_OCTET_STR,
                              body, body_length > 255 ? 255 : body_length);
    send_v2trap(vars);
    snmp_free_varbind(vars);
    log_info("SNMP notification %u for %s %s", (unsigned int) trap, class,
             uuid);
    json_object_put(subject);
}

/* The view. */

static const struct snmp_view *
current_view(struct snmp_agent *a)
{
    uint64_t age = now_ms(a) - a->view_built_ms;

    if (!a->view.n || age >= VIEW_MAX_AGE_MS
        || (a->view_stale && age >= VIEW_MIN_AGE_MS)) {
        build_view(a);
    }
    return &a->view;
}

/* Rebuilds the view, noting when interfaces changed state and when the
 * interface set or stack changed, and saves new indexes. */
static void
build_view(struct snmp_agent *a)
{
    static const uint32_t stack_prefix[] = {1, 3, 6, 1, 2, 1, 31, 1, 2};
    struct json_object *records = read_records(a->store, a->host);
    struct json_object *observed =
        a->observe ? a->observe(a->observe_aux) : json_object_new_object();
    char *before = xstrdup(
        json_object_to_json_string_ext(a->indexes, JSON_C_TO_STRING_PLAIN));
    struct snmp_sources src = {
        .records = records,
        .observed = observed,
        .lacp = a->lacp,
        .host = a->host,
        .indexes = a->indexes,
        .changes = a->changes,
    };
    uint32_t now = ticks(a);
    uint64_t started_ms = now_ms(a);
    bool first = !a->table_signature;

    /* ifLastChange: when each interface last changed its ifOperStatus
     * (0 for those already there when netpoold started). */
    size_t n;
    struct snmp_interface *rows = snmp_interfaces_build(&src, &n);
    struct json_object *opers = json_object_new_object();
    size_t sig_size = 16 * n + 1, used = 0;
    char *signature = xzalloc(sig_size);
    for (size_t i = 0; i < n; i++) {
        char key[16];
        struct json_object *last;
        snprintf(key, sizeof key, "%u", (unsigned int) rows[i].index);
        if (!json_object_object_get_ex(a->opers, key, &last)
            || json_object_get_int(last) != rows[i].oper) {
            json_object_object_add(a->changes, key,
                                   json_object_new_int64(first ? 0 : now));
        }
        json_object_object_add(opers, key, json_object_new_int(rows[i].oper));
        used += snprintf(signature + used, sig_size - used, "%u,",
                         (unsigned int) rows[i].index);
    }
    free(rows);
    json_object_put(a->opers);
    a->opers = opers;
    if (!first && strcmp(signature, a->table_signature)) {
        a->table_changed = now;
    }
    free(a->table_signature);
    a->table_signature = signature;

    src.table_changed = a->table_changed;
    src.stack_changed = a->stack_changed;
    snmp_view_clear(&a->view);
    snmp_view_build(&a->view, &src);

    /* ifStackLastChange and dot3adTablesLastChanged follow the stack. */
    size_t stack_size = 1, stack_used = 0;
    char *stack = xzalloc(stack_size);
    for (size_t i = 0; i < a->view.n; i++) {
        const struct snmp_entry *e = &a->view.entries[i];
        if (e->oid_len == 13
            && !memcmp(e->oid, stack_prefix, sizeof stack_prefix)) {
            char item[32];
            int len =
                snprintf(item, sizeof item, "%u.%u,",
                         (unsigned int) e->oid[11], (unsigned int) e->oid[12]);
            stack = xrealloc(stack, stack_size + len);
            memcpy(stack + stack_used, item, len + 1);
            stack_used += len;
            stack_size += len;
        }
    }
    if (a->stack_signature && strcmp(stack, a->stack_signature)) {
        a->stack_changed = now;
        for (size_t i = 0; i < a->view.n; i++) {
            struct snmp_entry *e = &a->view.entries[i];
            bool if_stack =
                e->oid_len == 10 && e->oid[6] == 31 && e->oid[8] == 6;
            bool lag = e->oid_len == 9 && e->oid[1] == 2 && e->oid[7] == 4;
            if (if_stack || lag) {
                e->number = now;
            }
        }
    }
    free(a->stack_signature);
    a->stack_signature = stack;

    if (strcmp(before, json_object_to_json_string_ext(
                           a->indexes, JSON_C_TO_STRING_PLAIN))) {
        int error = snmp_index_save(a->index_path, a->indexes);
        if (error) {
            log_warn("%s: %s", a->index_path, strerror(error));
        }
    }
    free(before);
    json_object_put(observed);
    json_object_put(records);
    uint64_t built = now_ms(a);
    log_debug("view of %zu objects built in %llu ms", a->view.n,
              (unsigned long long) (built - started_ms));
    a->view_built_ms = built;
    a->view_stale = false;
}

static struct json_object *
read_records(struct store *store, const char *host)
{
    static const char *const classes[] = {"pool", "host", "PIF", "network",
                                          "bond", "VLAN", "VIF", "VM"};
    struct json_object *records = json_object_new_object();

    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        json_object_object_add(records, classes[i],
                               store_get_all(store, classes[i]));
    }
    export_filter_records(records, host);
    return records;
}

static uint64_t
now_ms(const struct snmp_agent *a)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t) (now.tv_sec - a->started.tv_sec) * 1000
           + (now.tv_nsec - a->started.tv_nsec) / 1000000;
}

/* Centiseconds since the subagent started. */
static uint32_t
ticks(const struct snmp_agent *a)
{
    return (uint32_t) (now_ms(a) / 10);
}

/* LACP from ovs-vswitchd. */

static void
on_lacp_timer(evutil_socket_t fd, short what, void *agent_)
{
    struct snmp_agent *a = agent_;
    char *target = NULL;

    if (a->lacp_child || !has_lacp_bonds(a)) {
        return;
    }
    int pid;
    if (!dp_ovs_vswitchd_pid(a->ovs_rundir, &pid)) {
        target =
            xasprintf("--target=%s/ovs-vswitchd.%d.ctl", a->ovs_rundir, pid);
    }
    const char *args[] = {target, NULL};
    child_start_script(
        a->base,
        "ovs-appctl --timeout=5 $1 lacp/show; printf '" LACP_SEPARATOR
        "'; ovs-appctl --timeout=5 $1 lacp/show-stats",
        args, LACP_TIMEOUT_S, lacp_done, a, &a->lacp_child);
    free(target);
}

/* Keeps what a complete read said. */
static void
lacp_done(void *agent_, const struct child_exit *end)
{
    struct snmp_agent *a = agent_;

    a->lacp_child = NULL;
    if (!end->complete) {
        return;
    }
    char *show = xstrdup(end->output);
    char *stats = strstr(show, LACP_SEPARATOR);
    if (stats) {
        *stats = '\0';
        stats += strlen(LACP_SEPARATOR);
    }
    json_object_put(a->lacp);
    a->lacp = snmp_lacp_parse(show, stats);
    a->view_stale = true;
    free(show);
}

/* Returns true if a LACP bond has its master PIF on this host. */
static bool
has_lacp_bonds(struct snmp_agent *a)
{
    struct json_object *bonds = store_get_all(a->store, "bond");
    bool found = false;

    json_object_object_foreach (bonds, uuid, bond) {
        (void) uuid;
        if (found || strcmp(field(bond, "mode"), "lacp")) {
            continue;
        }
        struct json_object *master =
            store_get(a->store, "PIF", field(bond, "master"));
        found = master && !strcmp(field(master, "host"), a->host);
        json_object_put(master);
    }
    json_object_put(bonds);
    return found;
}

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
}
