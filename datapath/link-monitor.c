/*
 * Link events: a netlink socket subscribed to link and IPv4 address
 * changes, read from the event loop.  Each readable batch becomes one
 * callback; the caller re-reads the NICs, which is cheap and never misses
 * a change the way applying single messages could after an overrun.
 */
#include "datapath/datapath.h"

#include <errno.h>
#include <fnmatch.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "link"

struct dp_link_monitor {
    struct nl_sock *sock;   /* Subscribed netlink socket. */
    struct event *event;    /* Readability of 'sock'. */
    dp_link_changed_cb *cb; /* Called after each batch. */
    void *aux;              /* Argument for 'cb'. */
    bool changed;           /* The current batch had a message. */
    char *globs;            /* NIC names; other links' changes (VIF
                             * veths, taps) are not reported. */
};

static int on_message(struct nl_msg *, void *monitor_);
static void on_readable(evutil_socket_t, short, void *monitor_);
static bool name_matches(const char *globs, const char *name);

int
dp_link_monitor_start(struct event_base *base, const char *globs,
                      dp_link_changed_cb *cb, void *aux,
                      struct dp_link_monitor **monitorp)
{
    struct dp_link_monitor *m = xzalloc(sizeof *m);

    m->globs = xstrdup(globs);
    m->cb = cb;
    m->aux = aux;
    m->sock = nl_socket_alloc();
    *monitorp = NULL;
    if (!m->sock) {
        free(m);
        return ENOMEM;
    }
    nl_socket_disable_seq_check(m->sock);
    nl_socket_modify_cb(m->sock, NL_CB_VALID, NL_CB_CUSTOM, on_message, m);
    if (nl_connect(m->sock, NETLINK_ROUTE) < 0
        || nl_socket_add_memberships(m->sock, RTNLGRP_LINK,
                                     RTNLGRP_IPV4_IFADDR, 0)
               < 0
        || nl_socket_set_nonblocking(m->sock) < 0) {
        dp_link_monitor_stop(m);
        return EIO;
    }
    nl_socket_set_buffer_size(m->sock, 1024 * 1024, 0);
    m->event = event_new(base, nl_socket_get_fd(m->sock), EV_READ | EV_PERSIST,
                         on_readable, m);
    event_add(m->event, NULL);
    *monitorp = m;
    return 0;
}

void
dp_link_monitor_stop(struct dp_link_monitor *m)
{
    if (!m) {
        return;
    }
    if (m->event) {
        event_free(m->event);
    }
    nl_socket_free(m->sock);
    free(m->globs);
    free(m);
}

static int
on_message(struct nl_msg *msg, void *monitor_)
{
    struct dp_link_monitor *m = monitor_;
    struct nlmsghdr *nlh = nlmsg_hdr(msg);
    struct nlattr *attrs[IFLA_MAX + 1];

    /* A link that is not a NIC (a VIF's veth, a tap) changes nothing the
     * callback looks at; with many VIFs, re-reading every link for each of
     * their changes would cost more than everything else. */
    if ((nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK)
        && !nlmsg_parse(nlh, sizeof(struct ifinfomsg), attrs, IFLA_MAX, NULL)
        && attrs[IFLA_IFNAME]
        && !name_matches(m->globs, nla_get_string(attrs[IFLA_IFNAME]))) {
        return NL_OK;
    }
    m->changed = true;
    return NL_OK;
}

/* Returns true if 'name' matches one of the space-separated shell globs
 * in 'globs'. */
static bool
name_matches(const char *globs, const char *name)
{
    char *copy = xstrdup(globs), *save = NULL;
    bool match = false;

    for (char *g = strtok_r(copy, " \t,", &save); g && !match;
         g = strtok_r(NULL, " \t,", &save)) {
        match = !fnmatch(g, name, 0);
    }
    free(copy);
    return match;
}

static void
on_readable(evutil_socket_t fd, short what, void *monitor_)
{
    struct dp_link_monitor *m = monitor_;
    int retval;

    m->changed = false;
    do {
        retval = nl_recvmsgs_default(m->sock);
    } while (retval >= 0);
    if (retval != -NLE_AGAIN) {
        /* Overrun or another fault: a resync covers whatever was lost. */
        log_debug("netlink receive: %s", nl_geterror(retval));
        m->changed = true;
    }
    if (m->changed) {
        m->cb(m->aux);
    }
}
