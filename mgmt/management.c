/*
 * The management rollback watcher: confirms or undoes a management change
 * that api-management.c recorded in host field management_rollback.
 *
 * While a change is pending, every PROBE_INTERVAL_MS the watcher sends an
 * ICMP echo from the new address to the new gateway (a raw socket bound
 * to the new address, so nothing answers before the reconciler has put
 * the address on its device) and reads the replies.  mgmt-rollback.c
 * decides: keep once the gateway answers, restore when the time limit
 * (recorded with the change, wall clock, so a restart of netpoold keeps
 * it) passes unanswered.  A configuration without a gateway has nothing to
 * probe and is kept; a DHCP configuration waits for its lease, then for
 * the gateway the lease names.
 *
 * Restoring writes the recorded configuration back in one transaction —
 * the role to its old PIF with its old address, the new address retired —
 * and raises MANAGEMENT_RECONFIGURE_ROLLED_BACK; the reconciler then puts
 * the kernel back the same way it applied the change.
 */
#include "mgmt/mgmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"
#include "mgmt/mgmt-rollback.h"
#include "mgmt/store.h"

#define LOG_MODULE "management"

#define PROBE_INTERVAL_MS 250

struct mgmt_watch {
    struct event_base *base;
    struct store *store;
    char *host;
    struct event *tick; /* Persistent while a change is pending. */
    bool ticking;
    int fd;                       /* Raw ICMP socket, or -1. */
    char source[INET_ADDRSTRLEN]; /* Address 'fd' is bound to. */
    uint16_t ident, seq;          /* Echo identifier and sequence. */
    bool answered;                /* The gateway answered since 'fd' opened. */
    struct store_subscription *changes; /* The host's pending change. */
};

static void store_changed(void *watch_, const struct store_change *, size_t n,
                          uint64_t seq);
static void on_tick(evutil_socket_t, short, void *watch_);
static void check(struct mgmt_watch *);
static void stop_probing(struct mgmt_watch *);
static void probe(struct mgmt_watch *, const char *source, const char *target);
static uint16_t checksum(const void *data, size_t len);
static void confirm(struct mgmt_watch *);
static void restore(struct mgmt_watch *, struct json_object *rollback);

struct mgmt_watch *
mgmt_watch_create(struct event_base *base, struct store *store,
                  const char *host)
{
    struct mgmt_watch *w = xzalloc(sizeof *w);

    w->base = base;
    w->store = store;
    w->host = xstrdup(host);
    w->fd = -1;
    w->ident = (uint16_t) (getpid() ^ 0x6e70);
    w->tick = event_new(base, -1, EV_PERSIST, on_tick, w);
    static const char *const classes[] = {"host", NULL};
    w->changes = store_subscribe(store, classes, STORE_FEED_DESIRED, host,
                                 store_changed, w);
    check(w); /* A change may have been pending when netpoold stopped. */
    return w;
}

void
mgmt_watch_destroy(struct mgmt_watch *w)
{
    if (w) {
        store_unsubscribe(w->changes);
        stop_probing(w);
        event_free(w->tick);
        free(w->host);
        free(w);
    }
}

static void
store_changed(void *watch_, const struct store_change *changes, size_t n,
              uint64_t seq)
{
    check(watch_);
}

/* Starts or stops the probing as the host's pending change says. */
static void
check(struct mgmt_watch *w)
{
    struct json_object *host = store_get(w->store, "host", w->host);
    struct json_object *pending =
        json_object_object_get(host, "management_rollback");
    bool busy = pending && json_object_object_length(pending) > 0;

    json_object_put(host);
    if (busy && !w->ticking) {
        struct timeval tv = {0, PROBE_INTERVAL_MS * 1000};
        event_add(w->tick, &tv);
        w->ticking = true;
        w->answered = false;
    } else if (!busy && w->ticking) {
        stop_probing(w);
    }
}

static void
stop_probing(struct mgmt_watch *w)
{
    if (w->ticking) {
        event_del(w->tick);
        w->ticking = false;
    }
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    w->source[0] = '\0';
    w->answered = false;
}

static void
on_tick(evutil_socket_t fd, short what, void *watch_)
{
    struct mgmt_watch *w = watch_;
    struct json_object *host = store_get(w->store, "host", w->host);
    struct json_object *rollback =
        json_object_object_get(host, "management_rollback");

    if (!rollback || !json_object_object_length(rollback)) {
        json_object_put(host);
        stop_probing(w);
        return;
    }
    struct json_object *pif =
        store_get(w->store, "PIF", record_string(rollback, "new_pif"));
    const char *ip = record_string(pif, "IP");
    const char *gateway = record_string(pif, "gateway");
    /* A DHCP configuration has no address until its lease comes: it
     * waits for one like for an answer. */
    bool leasing =
        !strcmp(record_string(pif, "ip_configuration_mode"), "DHCP") && !*ip;
    struct mgmt_rollback_change change = {
        .has_address = (*ip && *gateway) || leasing,
        .has_gateway = true,
        .start_ms = atoll(record_string(rollback, "started")),
        .timeout_s = atoi(record_string(rollback, "timeout")),
    };
    if (*ip && *gateway) {
        probe(w, ip, gateway);
    }
    struct mgmt_rollback_probe seen = {.gateway_answered = w->answered};

    switch (mgmt_rollback_decide(&change, &seen, clock_realtime_ms())) {
    case MGMT_ROLLBACK_WAIT:
        break;
    case MGMT_ROLLBACK_KEEP:
        log_info("management change to %s%s%s kept", *ip ? ip : "(none)",
                 *gateway ? ": gateway " : "", gateway);
        stop_probing(w);
        confirm(w);
        break;
    case MGMT_ROLLBACK_RESTORE:
        stop_probing(w);
        restore(w, rollback);
        break;
    }
    json_object_put(pif);
    json_object_put(host);
}

/* Reads the replies that arrived on the probe socket, then sends one echo
 * request from 'source' to 'target'. */
static void
probe(struct mgmt_watch *w, const char *source, const char *target)
{
    struct sockaddr_in src = {.sin_family = AF_INET};
    struct sockaddr_in dst = {.sin_family = AF_INET};

    if (inet_pton(AF_INET, source, &src.sin_addr) != 1
        || inet_pton(AF_INET, target, &dst.sin_addr) != 1) {
        return;
    }
    if (w->fd >= 0 && strcmp(w->source, source)) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->fd < 0) {
        w->fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       IPPROTO_ICMP);
        if (w->fd < 0) {
            log_warn("cannot open an ICMP socket: %s", strerror(errno));
            return;
        }
        if (bind(w->fd, (struct sockaddr *) &src, sizeof src) < 0) {
            /* The reconciler has not put the address on yet. */
            close(w->fd);
            w->fd = -1;
            return;
        }
        snprintf(w->source, sizeof w->source, "%s", source);
    }

    unsigned char buf[1500];
    for (;;) {
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(w->fd, buf, sizeof buf, 0,
                             (struct sockaddr *) &from, &len);
        if (n < 0) {
            break;
        }
        const struct iphdr *iph = (const struct iphdr *) buf;
        size_t hlen = (size_t) iph->ihl * 4;
        if ((size_t) n < hlen + sizeof(struct icmphdr)) {
            continue;
        }
        const struct icmphdr *reply = (const struct icmphdr *) (buf + hlen);
        if (reply->type == ICMP_ECHOREPLY
            && ntohs(reply->un.echo.id) == w->ident
            && from.sin_addr.s_addr == dst.sin_addr.s_addr) {
            w->answered = true;
        }
    }

    struct {
        struct icmphdr h;
        char payload[8];
    } request = {
        .h.type = ICMP_ECHO,
        .h.un.echo.id = htons(w->ident),
        .h.un.echo.sequence = htons(++w->seq),
        .payload = "netpool",
    };
    request.h.checksum = checksum(&request, sizeof request);
    if (sendto(w->fd, &request, sizeof request, 0, (struct sockaddr *) &dst,
               sizeof dst)
        < 0) {
        log_debug("echo to %s: %s", target, strerror(errno));
    }
}

/* The Internet checksum of 'len' bytes at 'data'. */
static uint16_t
checksum(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t) (p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t) p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return htons((uint16_t) ~sum);
}

/* The pending change is confirmed: forget it.  The reconciler then takes
 * the retired addresses off. */
static void
confirm(struct mgmt_watch *w)
{
    struct json_object *changes = json_object_new_object();

    json_object_object_add(changes, "management_rollback",
                           json_object_new_object());
    store_push_actor(w->store, "system:management");
    int retval = store_update(w->store, "host", w->host, changes);
    store_pop_actor(w->store);
    if (retval) {
        log_warn("cannot record the confirmed management change: %s",
                 strerror(retval));
    }
    json_object_put(changes);
}

/* Writes back the configuration recorded in 'rollback' (borrowed) and
 * raises the message. */
static void
restore(struct mgmt_watch *w, struct json_object *rollback)
{
    static const char *const ip_fields[] = {
        "ip_configuration_mode", "IP", "netmask", "gateway", "DNS",
    };
    char *old_pif = xstrdup(record_string(rollback, "pif"));
    char *new_pif = xstrdup(record_string(rollback, "new_pif"));
    char *old_ip = xstrdup(record_string(rollback, "IP"));
    char *new_ip = xstrdup(record_string(rollback, "new_IP"));
    struct json_object *old = json_object_new_object();
    int retval;

    json_object_object_add(old, "management", json_object_new_boolean(true));
    for (size_t i = 0; i < sizeof ip_fields / sizeof *ip_fields; i++) {
        json_object_object_add(
            old, ip_fields[i],
            json_object_new_string(record_string(rollback, ip_fields[i])));
    }

    store_push_actor(w->store, "system:management");
    retval = store_begin(w->store);
    if (!retval && *new_pif && strcmp(new_pif, old_pif)) {
        struct json_object *lose = json_object_new_object();
        json_object_object_add(lose, "management",
                               json_object_new_boolean(false));
        retval = store_update(w->store, "PIF", new_pif, lose);
        json_object_put(lose);
    }
    if (!retval && *old_pif) {
        retval = store_update(w->store, "PIF", old_pif, old);
    }
    if (!retval) {
        retval = mgmt_write_host_management(
            w->store, w->host, NULL,
            *new_ip && strcmp(new_ip, old_ip) ? new_ip : NULL, old_ip);
    }
    if (retval) {
        store_rollback(w->store);
    } else {
        retval = store_commit(w->store);
    }
    store_pop_actor(w->store);

    if (retval) {
        log_error("cannot roll the management change back: %s",
                  strerror(retval));
    } else {
        const char *subject = *old_pif ? old_pif : new_pif;
        char *body = mgmt_rollback_message_body(subject, old_ip, new_ip);
        log_warn("%s", body);
        store_raise_message(w->store, MGMT_ROLLBACK_MESSAGE, 2, "PIF", subject,
                            body);
        free(body);
    }
    json_object_put(old);
    free(old_pif);
    free(new_pif);
    free(old_ip);
    free(new_ip);
}
