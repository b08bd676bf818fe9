/*
 * The MTU path check.  Jumbo frames only work when every device on the
 * path agrees; when one does not, small frames pass and large ones vanish
 * without a trace.  For each peer a network names, netpoold sends an ICMP
 * echo request of 84 bytes and, when that is answered, one of the
 * network's full MTU with don't-fragment set, from the host's own address
 * on that network.  A peer that answers the first and not the second sits
 * behind a smaller MTU: MTU_MISMATCH is raised, once, until the path is
 * whole again.
 *
 * The decisions (which probes to run, what their answers mean, when to
 * alert) are pure functions; the checker below does the socket work on the
 * event loop, one raw ICMP socket per probe in flight.
 */
#include "vlan/vlan.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <linux/icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "mtu-check"

#define DEFAULT_INTERVAL 30   /* Seconds between rounds of probes. */
#define MAX_INTERVAL 3600     /* Largest other_config:mtu-check-interval. */
#define PROBE_TIMEOUT_MS 1000 /* How long one probe waits for its reply. */
#define TICK_MS 500           /* How often due rounds are started. */
#define IP_ICMP_HEADERS 28    /* IPv4 header (20) + ICMP echo header (8). */

static const char *field(struct json_object *record, const char *name);
static const char *map_field(struct json_object *record, const char *map,
                             const char *key);

enum vlan_mtu_state
vlan_mtu_next_state(enum vlan_mtu_state old, bool small_reply,
                    bool large_reply)
{
    if (!small_reply) {
        return old;
    }
    return large_reply ? VLAN_MTU_OK : VLAN_MTU_MISMATCH;
}

bool
vlan_mtu_should_alert(enum vlan_mtu_state old, enum vlan_mtu_state new)
{
    return new == VLAN_MTU_MISMATCH &&old != VLAN_MTU_MISMATCH;
}

size_t
vlan_mtu_large_payload(int64_t mtu)
{
    return mtu > IP_ICMP_HEADERS ? (size_t) mtu - IP_ICMP_HEADERS : 0;
}

struct json_object *
vlan_mtu_targets(struct json_object *records, const char *host)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *targets = json_object_new_array();

    if (!networks || !pifs) {
        return targets;
    }
    json_object_object_foreach (networks, net_uuid, network) {
        struct json_object *mtu_value;
        int64_t mtu = json_object_object_get_ex(network, "MTU", &mtu_value)
                          ? json_object_get_int64(mtu_value)
                          : VLAN_MTU_STANDARD;
        const char *peers =
            map_field(network, "other_config", "mtu-check-peers");
        if (mtu <= VLAN_MTU_STANDARD || !*peers) {
            continue;
        }

        /* The host's own address on the network is the probes' source. */
        const char *source = NULL;
        json_object_object_foreach (pifs, pif_uuid, pif) {
            (void) pif_uuid;
            struct json_object *attached;
            struct in_addr addr;
            if (!strcmp(field(pif, "host"), host)
                && !strcmp(field(pif, "network"), net_uuid)
                && json_object_object_get_ex(pif, "currently_attached",
                                             &attached)
                && json_object_get_boolean(attached)
                && !strcmp(field(pif, "ip_configuration_mode"), "Static")
                && inet_pton(AF_INET, field(pif, "IP"), &addr) == 1) {
                source = field(pif, "IP");
            }
        }
        if (!source) {
            continue;
        }

        char *end;
        const char *interval_text =
            map_field(network, "other_config", "mtu-check-interval");
        long interval = strtol(interval_text, &end, 10);
        if (!*interval_text || *end || interval < 1
            || interval > MAX_INTERVAL) {
            interval = DEFAULT_INTERVAL;
        }

        char *list = xstrdup(peers), *save = NULL;
        for (char *peer = strtok_r(list, ", ", &save); peer;
             peer = strtok_r(NULL, ", ", &save)) {
            struct in_addr addr;
            if (inet_pton(AF_INET, peer, &addr) != 1) {
                continue;
            }
            struct json_object *t = json_object_new_object();
            json_object_object_add(t, "network",
                                   json_object_new_string(net_uuid));
            json_object_object_add(
                t, "name",
                json_object_new_string(field(network, "name_label")));
            json_object_object_add(t, "peer", json_object_new_string(peer));
            json_object_object_add(t, "source",
                                   json_object_new_string(source));
            json_object_object_add(t, "mtu", json_object_new_int64(mtu));
            json_object_object_add(t, "interval",
                                   json_object_new_int64(interval));
            json_object_array_add(targets, t);
        }
        free(list);
    }
    return targets;
}

/* The checker: event-loop I/O around the decisions above. */

struct vlan_mtu_checker;

/* One peer of one network. */
struct target {
    struct vlan_mtu_checker *checker; /* Owner. */
    char network[40];                 /* Network UUID. */
    char name[128];                   /* Network name_label, for messages. */
    char peer[INET_ADDRSTRLEN];       /* Peer address. */
    char source[INET_ADDRSTRLEN];     /* Host's address on the network. */
    int64_t mtu;                  /* Network MTU: the large probe's size. */
    int interval;                 /* Seconds between rounds. */
    enum vlan_mtu_state state;    /* What the last rounds said. */
    struct timeval due;           /* Monotonic time of the next round. */
    struct vlan_mtu_probe *probe; /* Round in flight, or NULL. */
    bool listed;                  /* In the latest target list. */
};

/* One round of probes (small, then large) to one peer. */
struct vlan_mtu_probe {
    struct event_base *base;      /* The loop. */
    char source[INET_ADDRSTRLEN]; /* Our address. */
    char peer[INET_ADDRSTRLEN];   /* Who is probed. */
    int64_t mtu;                  /* The large probe's IPv4 size. */
    vlan_mtu_probe_cb *done;      /* Told the outcome. */
    void *aux;                    /* Its argument. */
    int fd;                       /* Raw ICMP socket. */
    struct event *readable;       /* Replies. */
    struct event *timer;          /* Deadline of the current stage. */
    uint16_t id;                  /* ICMP echo identifier. */
    int stage;                    /* 0: small probe, 1: large. */
    bool small_reply;             /* The small probe was answered. */
};

struct vlan_mtu_checker {
    struct event_base *base; /* The loop. */
    struct store *store;     /* Targets and messages. */
    char *host;              /* This host's UUID. */
    struct event *refresh;   /* Re-reads targets after store changes. */
    struct event *tick;      /* Starts rounds that are due. */
    struct target **targets; /* Known targets. */
    size_t n_targets;        /* Entries in 'targets'. */
    struct store_subscription *changes; /* What the targets come from. */
};

static void store_changed(void *checker_, const struct store_change *,
                          size_t n, uint64_t seq);
static void on_refresh(evutil_socket_t, short, void *checker_);
static void on_tick(evutil_socket_t, short, void *checker_);
static void target_probe(struct target *);
static void target_probed(void *target_, bool small_reply, bool large_reply);
static void probe_send(struct vlan_mtu_probe *);
static void probe_on_readable(evutil_socket_t, short, void *probe_);
static void probe_on_timeout(evutil_socket_t, short, void *probe_);
static void probe_stage_done(struct vlan_mtu_probe *, bool reply);
static void target_report(struct vlan_mtu_checker *, struct target *,
                          enum vlan_mtu_state old);
static uint16_t icmp_checksum(const void *data, size_t size);
static void monotonic_now(struct timeval *);

int
vlan_mtu_checker_create(struct event_base *base, struct store *store,
                        const char *host, struct vlan_mtu_checker **checkerp)
{
    struct vlan_mtu_checker *c = xzalloc(sizeof *c);

    c->base = base;
    c->store = store;
    c->host = xstrdup(host);
    c->refresh = event_new(base, -1, 0, on_refresh, c);
    c->tick = event_new(base, -1, EV_PERSIST, on_tick, c);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(c->tick, &tv);
    static const char *const classes[] = {"network", "PIF", "VLAN", "bond",
                                          NULL};
    c->changes = store_subscribe(store, classes, STORE_FEED_DESIRED, host,
                                 store_changed, c);
    event_active(c->refresh, EV_TIMEOUT, 0);
    *checkerp = c;
    return 0;
}

void
vlan_mtu_checker_destroy(struct vlan_mtu_checker *c)
{
    if (!c) {
        return;
    }
    store_unsubscribe(c->changes);
    for (size_t i = 0; i < c->n_targets; i++) {
        vlan_mtu_probe_cancel(c->targets[i]->probe);
        free(c->targets[i]);
    }
    free(c->targets);
    event_free(c->refresh);
    event_free(c->tick);
    free(c->host);
    free(c);
}

int
vlan_mtu_probe_start(struct event_base *base, const char *source,
                     const char *peer, int64_t mtu, vlan_mtu_probe_cb *done,
                     void *aux, struct vlan_mtu_probe **probep)
{
    struct sockaddr_in local = {.sin_family = AF_INET};
    struct sockaddr_in remote = {.sin_family = AF_INET};
    int pmtu = IP_PMTUDISC_DO;
    /* Only echo replies and "fragmentation needed" come through. */
    struct icmp_filter filter = {
        ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH))};

    *probep = NULL;
    if (inet_pton(AF_INET, source, &local.sin_addr) != 1
        || inet_pton(AF_INET, peer, &remote.sin_addr) != 1) {
        return EINVAL;
    }
    int fd =
        socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0
        || setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu)
        || setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter)
        || bind(fd, (struct sockaddr *) &local, sizeof local)) {
        int error = errno;
        if (fd >= 0) {
            close(fd);
        }
        return error;
    }

    struct vlan_mtu_probe *p = xzalloc(sizeof *p);
    p->base = base;
    snprintf(p->source, sizeof p->source, "%s", source);
    snprintf(p->peer, sizeof p->peer, "%s", peer);
    p->mtu = mtu;
    p->done = done;
    p->aux = aux;
    p->fd = fd;
    /* Unique among this process's probes in flight, which hold distinct
     * descriptors. */
    p->id = (uint16_t) ((unsigned int) getpid() * 64u + (unsigned int) fd);
    p->readable =
        event_new(base, fd, EV_READ | EV_PERSIST, probe_on_readable, p);
    p->timer = event_new(base, -1, 0, probe_on_timeout, p);
    event_add(p->readable, NULL);
    *probep = p;
    probe_send(p);
    return 0;
}

void
vlan_mtu_probe_cancel(struct vlan_mtu_probe *p)
{
    if (!p) {
        return;
    }
    event_free(p->readable);
    event_free(p->timer);
    close(p->fd);
    free(p);
}

/* Targets. */

static void
store_changed(void *checker_, const struct store_change *changes, size_t n,
              uint64_t seq)
{
    struct vlan_mtu_checker *c = checker_;

    (void) seq;
    if (!event_pending(c->refresh, EV_TIMEOUT, NULL)) {
        event_active(c->refresh, EV_TIMEOUT, 0);
    }
}

/* Re-reads the targets: new ones and changed ones are probed at once,
 * vanished ones are dropped with their round in flight. */
static void
on_refresh(evutil_socket_t fd, short what, void *checker_)
{
    struct vlan_mtu_checker *c = checker_;
    struct json_object *records = json_object_new_object();
    struct timeval now;

    json_object_object_add(records, "network",
                           store_get_all(c->store, "network"));
    json_object_object_add(records, "PIF", store_get_all(c->store, "PIF"));
    struct json_object *list = vlan_mtu_targets(records, c->host);
    json_object_put(records);
    monotonic_now(&now);

    for (size_t i = 0; i < c->n_targets; i++) {
        c->targets[i]->listed = false;
    }
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *t = json_object_array_get_idx(list, i);
        const char *network = field(t, "network");
        const char *peer = field(t, "peer");
        const char *source = field(t, "source");
        int64_t mtu = json_object_get_int64(json_object_object_get(t, "mtu"));
        int interval =
            json_object_get_int(json_object_object_get(t, "interval"));
        struct target *target = NULL;

        for (size_t j = 0; j < c->n_targets && !target; j++) {
            if (!strcmp(c->targets[j]->network, network)
                && !strcmp(c->targets[j]->peer, peer)) {
                target = c->targets[j];
            }
        }
        if (!target) {
            target = xzalloc(sizeof *target);
            target->checker = c;
            snprintf(target->network, sizeof target->network, "%s", network);
            snprintf(target->peer, sizeof target->peer, "%s", peer);
            target->state = VLAN_MTU_UNKNOWN;
            target->due = now;
            c->targets =
                xrealloc(c->targets, sizeof *c->targets * (c->n_targets + 1));
            c->targets[c->n_targets++] = target;
        } else if (strcmp(target->source, source) || target->mtu != mtu
                   || target->interval != interval) {
            target->due = now; /* Changed: probe again now. */
        }
        snprintf(target->name, sizeof target->name, "%s", field(t, "name"));
        snprintf(target->source, sizeof target->source, "%s", source);
        target->mtu = mtu;
        target->interval = interval;
        target->listed = true;
    }
    json_object_put(list);

    size_t kept = 0;
    for (size_t i = 0; i < c->n_targets; i++) {
        if (c->targets[i]->listed) {
            c->targets[kept++] = c->targets[i];
        } else {
            vlan_mtu_probe_cancel(c->targets[i]->probe);
            free(c->targets[i]);
        }
    }
    c->n_targets = kept;
    on_tick(-1, 0, c);
}

/* Starts every round that is due. */
static void
on_tick(evutil_socket_t fd, short what, void *checker_)
{
    struct vlan_mtu_checker *c = checker_;
    struct timeval now;

    monotonic_now(&now);
    for (size_t i = 0; i < c->n_targets; i++) {
        struct target *t = c->targets[i];
        if (!t->probe && !timercmp(&now, &t->due, <)) {
            target_probe(t);
        }
    }
}

/* Probes. */

/* Starts a round of probes of 't'. */
static void
target_probe(struct target *t)
{
    struct timeval now;

    monotonic_now(&now);
    struct timeval interval = {t->interval, 0};
    timeradd(&now, &interval, &t->due);
    int error = vlan_mtu_probe_start(t->checker->base, t->source, t->peer,
                                     t->mtu, target_probed, t, &t->probe);
    if (error) {
        log_warn("network %s: cannot probe %s from %s: %s", t->network,
                 t->peer, t->source, strerror(error));
    }
}

/* The round of 't' ended. */
static void
target_probed(void *target_, bool small_reply, bool large_reply)
{
    struct target *t = target_;
    enum vlan_mtu_state old = t->state;

    t->probe = NULL;
    t->state = vlan_mtu_next_state(old, small_reply, large_reply);
    log_debug("network %s: probe round to %s: %d bytes %s, %" PRId64
              " bytes %s",
              t->network, t->peer, VLAN_MTU_SMALL_PAYLOAD + IP_ICMP_HEADERS,
              small_reply ? "answered" : "lost", t->mtu,
              !small_reply  ? "not sent"
              : large_reply ? "answered"
                            : "lost");
    target_report(t->checker, t, old);
}

/* Sends the current stage's echo request and arms its deadline. */
static void
probe_send(struct vlan_mtu_probe *p)
{
    size_t payload =
        p->stage ? vlan_mtu_large_payload(p->mtu) : VLAN_MTU_SMALL_PAYLOAD;
    size_t size = sizeof(struct icmphdr) + payload;
    struct icmphdr *icmp = xzalloc(size);
    struct sockaddr_in peer = {.sin_family = AF_INET};

    icmp->type = ICMP_ECHO;
    icmp->un.echo.id = htons(p->id);
    icmp->un.echo.sequence = htons(p->stage + 1);
    memset(icmp + 1, 0xa5, payload);
    icmp->checksum = icmp_checksum(icmp, size);
    inet_pton(AF_INET, p->peer, &peer.sin_addr);

    ssize_t sent =
        sendto(p->fd, icmp, size, 0, (struct sockaddr *) &peer, sizeof peer);
    int error = sent < 0 ? errno : 0;
    free(icmp);
    if (error) {
        /* EMSGSIZE: the local side is already smaller than the network's
         * MTU; the probe fails like one lost on the path. */
        log_debug("probe of %zu bytes to %s not sent: %s", size + 20, p->peer,
                  strerror(error));
        struct timeval now = {0, 0};
        event_add(p->timer, &now); /* Lost, from the loop. */
        return;
    }
    struct timeval tv = {0, PROBE_TIMEOUT_MS * 1000};
    event_add(p->timer, &tv);
}

static void
probe_on_readable(evutil_socket_t fd, short what, void *probe_)
{
    struct vlan_mtu_probe *p = probe_;
    uint16_t seq = p->stage + 1;
    static unsigned char buf[65536];

    for (;;) {
        struct sockaddr_in from;
        socklen_t from_size = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *) &from,
                             &from_size);
        if (n < 0) {
            return; /* EAGAIN: wait for more. */
        }
        const struct iphdr *ip = (const struct iphdr *) buf;
        size_t ihl = (size_t) ip->ihl * 4;
        if ((size_t) n < ihl + sizeof(struct icmphdr)) {
            continue;
        }
        const struct icmphdr *icmp = (const struct icmphdr *) (buf + ihl);
        char from_text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &from.sin_addr, from_text, sizeof from_text);

        if (icmp->type == ICMP_ECHOREPLY && ntohs(icmp->un.echo.id) == p->id
            && ntohs(icmp->un.echo.sequence) == seq
            && !strcmp(from_text, p->peer)) {
            probe_stage_done(p, true);
            return;
        }
        if (icmp->type == ICMP_DEST_UNREACH && icmp->code == ICMP_FRAG_NEEDED
            && p->stage == 1) {
            /* A router says the large probe does not fit: check that the
             * quoted request is ours. */
            size_t quoted = ihl + sizeof(struct icmphdr);
            const struct iphdr *inner = (const struct iphdr *) (buf + quoted);
            if ((size_t) n >= quoted + sizeof *inner) {
                size_t inner_ihl = (size_t) inner->ihl * 4;
                const struct icmphdr *echo =
                    (const struct icmphdr *) (buf + quoted + inner_ihl);
                if ((size_t) n >= quoted + inner_ihl + sizeof *echo
                    && ntohs(echo->un.echo.id) == p->id) {
                    probe_stage_done(p, false);
                    return;
                }
            }
        }
    }
}

static void
probe_on_timeout(evutil_socket_t fd, short what, void *probe_)
{
    probe_stage_done(probe_, false);
}

/* The current stage ended with or without a 'reply': go on to the large
 * probe after an answered small one, else finish the round. */
static void
probe_stage_done(struct vlan_mtu_probe *p, bool reply)
{
    event_del(p->timer);
    if (p->stage == 0) {
        p->small_reply = reply;
        if (reply) {
            p->stage = 1;
            probe_send(p);
            return;
        }
        reply = false;
    }
    vlan_mtu_probe_cb *done = p->done;
    void *aux = p->aux;
    bool small_reply = p->small_reply;
    vlan_mtu_probe_cancel(p);
    done(aux, small_reply, reply);
}

/* Logs a change of 't''s state from 'old' and raises MTU_MISMATCH when
 * the rules say so. */
static void
target_report(struct vlan_mtu_checker *c, struct target *t,
              enum vlan_mtu_state old)
{
    if (vlan_mtu_should_alert(old, t->state)) {
        char *body = xasprintf(
            "MTU mismatch on network %s (%s): peer %s answers %d-byte "
            "probes but not %" PRId64 "-byte probes with don't-fragment set "
            "from %s; a device on the path has an MTU below %" PRId64,
            t->name, t->network, t->peer,
            VLAN_MTU_SMALL_PAYLOAD + IP_ICMP_HEADERS, t->mtu, t->source,
            t->mtu);
        int error = store_raise_message(c->store, "MTU_MISMATCH", 2, "Network",
                                        t->network, body);
        if (error) {
            log_warn("cannot raise MTU_MISMATCH: %s", strerror(error));
        }
        free(body);
    } else if (old == VLAN_MTU_MISMATCH && t->state == VLAN_MTU_OK) {
        log_info("network %s (%s): %" PRId64 "-byte frames reach %s again",
                 t->name, t->network, t->mtu, t->peer);
    } else if (old == VLAN_MTU_UNKNOWN && t->state == VLAN_MTU_OK) {
        log_debug("network %s: %" PRId64 "-byte path to %s is whole",
                  t->network, t->mtu, t->peer);
    }
}

/* Helpers. */

static uint16_t
icmp_checksum(const void *data, size_t size)
{
    const unsigned char *p = data;
    uint32_t sum = 0;

    for (; size > 1; p += 2, size -= 2) {
        sum += (uint32_t) p[0] << 8 | p[1];
    }
    if (size) {
        sum += (uint32_t) p[0] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return htons((uint16_t) ~sum);
}

static void
monotonic_now(struct timeval *tv)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
}

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_get_string(value)
               ? json_object_get_string(value)
               : "";
}

static const char *
map_field(struct json_object *record, const char *map, const char *key)
{
    struct json_object *m, *value;
    return json_object_object_get_ex(record, map, &m)
                   && json_object_object_get_ex(m, key, &value)
               ? json_object_get_string(value)
               : "";
}
