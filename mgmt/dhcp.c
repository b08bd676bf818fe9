/*
 * DHCP for the management interface.  A DHCP client only negotiates here:
 * it never touches the interface.  netpoold runs busybox's udhcpc (from
 * busybox-static) on the device the management address belongs on, with a
 * hook script (written into the state folder at start) that records each
 * lease in a file; netpoold reads the file, stores the lease in the PIF
 * (IP, netmask, gateway, DNS; ip_configuration_mode stays DHCP) and the
 * host's address, and the reconciler then puts the address and the default
 * route on the device as for a static configuration
 * (datapath/bond-kernel.c).  A lease that is not renewed is kept until
 * another one arrives: the host stays reachable at its last address.
 *
 * One client runs per DHCP-mode management PIF of this host; it stops when
 * the PIF leaves DHCP mode or the role, and a client that dies is started
 * again.
 */
#include "mgmt/mgmt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/record.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "dhcp"

#define POLL_MS 250

/* udhcpc calls this with the event as $1 and the lease in its
 * environment; it writes "key=value" lines for netpoold. */
static const char hook_text[] =
    "#!/bin/sh\n"
    "# Written by netpoold: records a DHCP lease for it and changes\n"
    "# nothing on the interface (netpoold applies the address).\n"
    "case \"$1\" in\n"
    "bound|renew)\n"
    "    printf 'ip=%s\\nsubnet=%s\\nrouter=%s\\ndns=%s\\n' \"$ip\" \\\n"
    "        \"$subnet\" \"${router%% *}\" \"$(echo $dns | tr ' ' ,)\" \\\n"
    "        > \"$NETPOOL_DHCP_LEASE.tmp\" &&\n"
    "        mv \"$NETPOOL_DHCP_LEASE.tmp\" \"$NETPOOL_DHCP_LEASE\"\n"
    "    ;;\n"
    "esac\n"
    "exit 0\n";

struct mgmt_dhcp {
    struct event_base *base;
    struct store *store;
    char *host;
    char *dir;            /* State folder: hook and lease files. */
    char *hook;           /* Path of the hook script. */
    struct event *poll;   /* Checks leases and clients while one runs. */
    char pif[64];         /* PIF the client runs for, or "". */
    char device[64];      /* Its device. */
    pid_t pid;            /* The client, or 0. */
    char *lease;          /* Path of its lease file. */
    struct timespec seen; /* Modification time of the lease last read. */
    struct store_subscription *changes; /* The management PIF's mode. */
};

static void store_changed(void *dhcp_, const struct store_change *, size_t n,
                          uint64_t seq);
static void on_poll(evutil_socket_t, short, void *dhcp_);
static void sync_client(struct mgmt_dhcp *);
static void start_client(struct mgmt_dhcp *, const char *pif,
                         const char *device);
static void stop_client(struct mgmt_dhcp *);
static void stop_stale(const char *pidfile);
static void read_lease(struct mgmt_dhcp *);

struct mgmt_dhcp *
mgmt_dhcp_create(struct event_base *base, struct store *store,
                 const char *host, const char *state_dir)
{
    struct mgmt_dhcp *d = xzalloc(sizeof *d);

    d->base = base;
    d->store = store;
    d->host = xstrdup(host);
    d->dir = xstrdup(state_dir);
    d->hook = xasprintf("%s/udhcpc-hook", state_dir);
    FILE *f = fopen(d->hook, "w");
    if (!f || fputs(hook_text, f) == EOF || fclose(f) == EOF
        || chmod(d->hook, 0700) < 0) {
        log_warn("%s: cannot write the DHCP hook: %s", d->hook,
                 strerror(errno));
    }
    d->poll = event_new(base, -1, EV_PERSIST, on_poll, d);
    static const char *const classes[] = {"PIF", "host", NULL};
    d->changes = store_subscribe(store, classes, STORE_FEED_DESIRED, host,
                                 store_changed, d);
    sync_client(d);
    return d;
}

void
mgmt_dhcp_destroy(struct mgmt_dhcp *d)
{
    if (d) {
        store_unsubscribe(d->changes);
        stop_client(d);
        event_free(d->poll);
        free(d->hook);
        free(d->dir);
        free(d->host);
        free(d);
    }
}

static void
store_changed(void *dhcp_, const struct store_change *changes, size_t n,
              uint64_t seq)
{
    sync_client(dhcp_);
}

static void
on_poll(evutil_socket_t fd, short what, void *dhcp_)
{
    struct mgmt_dhcp *d = dhcp_;

    if (d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == d->pid) {
        log_warn("udhcpc on %s exited; starting it again", d->device);
        d->pid = 0;
        char pif[64], device[64];
        snprintf(pif, sizeof pif, "%s", d->pif);
        snprintf(device, sizeof device, "%s", d->device);
        start_client(d, pif, device);
    }
    read_lease(d);
}

/* Runs a client for this host's management PIF if it is in DHCP mode, and
 * none otherwise. */
static void
sync_client(struct mgmt_dhcp *d)
{
    struct json_object *yes = json_object_new_boolean(true);
    struct json_object *pifs = store_find(d->store, "PIF", "management", yes);
    char pif_uuid[64] = "", device[64] = "";

    for (size_t i = 0; i < json_object_array_length(pifs); i++) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(pifs, i));
        struct json_object *pif = store_get(d->store, "PIF", uuid);
        if (!strcmp(record_string(pif, "host"), d->host)
            && !strcmp(record_string(pif, "ip_configuration_mode"), "DHCP")) {
            /* The device the address belongs on: the NIC of a physical
             * PIF, else its network's bridge. */
            struct json_object *physical =
                json_object_object_get(pif, "physical");
            if (json_object_get_boolean(physical)) {
                snprintf(device, sizeof device, "%s",
                         record_string(pif, "device"));
            } else {
                struct json_object *net = store_get(
                    d->store, "network", record_string(pif, "network"));
                snprintf(device, sizeof device, "%s",
                         record_string(net, "bridge"));
                json_object_put(net);
            }
            snprintf(pif_uuid, sizeof pif_uuid, "%s", uuid);
        }
        json_object_put(pif);
    }
    json_object_put(pifs);
    json_object_put(yes);

    if (d->pid && (strcmp(pif_uuid, d->pif) || strcmp(device, d->device))) {
        stop_client(d);
    }
    if (*pif_uuid && *device && !d->pid) {
        start_client(d, pif_uuid, device);
    }
}

static void
start_client(struct mgmt_dhcp *d, const char *pif, const char *device)
{
    snprintf(d->pif, sizeof d->pif, "%s", pif);
    snprintf(d->device, sizeof d->device, "%s", device);
    free(d->lease);
    d->lease = xasprintf("%s/dhcp-%s.lease", d->dir, device);
    unlink(d->lease);
    d->seen = (struct timespec){0, 0};
    char *pidfile = xasprintf("%s/dhcp-%s.pid", d->dir, device);
    stop_stale(pidfile);

    pid_t pid = fork();
    if (pid < 0) {
        log_warn("cannot start udhcpc: %s", strerror(errno));
        return;
    }
    if (!pid) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        setenv("NETPOOL_DHCP_LEASE", d->lease, 1);
        /* Foreground, retries every few seconds until a lease comes,
         * releases the lease on exit. */
        execlp("busybox", "busybox", "udhcpc", "-f", "-R", "-i", device, "-s",
               d->hook, "-p", pidfile, "-t", "3", "-T", "1", "-A", "2",
               (char *) NULL);
        _exit(127);
    }
    free(pidfile);
    d->pid = pid;
    log_info("udhcpc (pid %d) asks for a lease on %s", (int) pid, device);
    struct timeval tv = {0, POLL_MS * 1000};
    event_add(d->poll, &tv);
}

static void
stop_client(struct mgmt_dhcp *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
            if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
                d->pid = 0;
                break;
            }
            usleep(20 * 1000);
        }
        if (d->pid) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
        }
        log_info("udhcpc on %s stopped", d->device);
    }
    d->pid = 0;
    d->pif[0] = d->device[0] = '\0';
    if (d->lease) {
        unlink(d->lease);
        free(d->lease);
        d->lease = NULL;
    }
    event_del(d->poll);
}

/* Stops the udhcpc that 'pidfile' names, left by a netpoold that did not
 * stop cleanly. */
static void
stop_stale(const char *pidfile)
{
    FILE *f = fopen(pidfile, "r");
    int pid = 0;

    if (f) {
        if (fscanf(f, "%d", &pid) != 1) {
            pid = 0;
        }
        fclose(f);
    }
    if (pid > 1) {
        char *path = xasprintf("/proc/%d/cmdline", pid);
        char cmd[256] = "";
        FILE *c = fopen(path, "r");
        size_t n = c ? fread(cmd, 1, sizeof cmd - 1, c) : 0;
        if (c) {
            fclose(c);
        }
        /* argv[0] "busybox", argv[1] "udhcpc". */
        if (n > 8 && strstr(cmd, "busybox") && !strcmp(cmd + 8, "udhcpc")) {
            log_info("stopping a stale udhcpc (pid %d)", pid);
            kill(pid, SIGTERM);
        }
        free(path);
    }
    unlink(pidfile);
}

bool
mgmt_dhcp_parse_lease(const char *text, struct mgmt_dhcp_lease *lease)
{
    struct in_addr addr;

    memset(lease, 0, sizeof *lease);
    while (*text) {
        size_t len = strcspn(text, "\n");
        const char *eq = memchr(text, '=', len);
        if (eq) {
            size_t key = (size_t) (eq - text), vlen = len - key - 1;
            char *dst = NULL;
            size_t size = 0;
            if (key == 2 && !strncmp(text, "ip", 2)) {
                dst = lease->ip, size = sizeof lease->ip;
            } else if (key == 6 && !strncmp(text, "subnet", 6)) {
                dst = lease->subnet, size = sizeof lease->subnet;
            } else if (key == 6 && !strncmp(text, "router", 6)) {
                dst = lease->router, size = sizeof lease->router;
            } else if (key == 3 && !strncmp(text, "dns", 3)) {
                dst = lease->dns, size = sizeof lease->dns;
            }
            if (dst && vlen < size) {
                memcpy(dst, eq + 1, vlen);
                dst[vlen] = '\0';
            }
        }
        text += len + (text[len] == '\n');
    }
    if (*lease->router && inet_pton(AF_INET, lease->router, &addr) != 1) {
        lease->router[0] = '\0'; /* A gateway we cannot use is none. */
    }
    return inet_pton(AF_INET, lease->ip, &addr) == 1
           && inet_pton(AF_INET, lease->subnet, &addr) == 1;
}

/* Stores a new lease, if the client wrote one since the last look. */
static void
read_lease(struct mgmt_dhcp *d)
{
    struct stat st;

    if (!d->lease || stat(d->lease, &st) < 0
        || (st.st_mtim.tv_sec == d->seen.tv_sec
            && st.st_mtim.tv_nsec == d->seen.tv_nsec)) {
        return;
    }
    d->seen = st.st_mtim;

    FILE *f = fopen(d->lease, "r");
    char text[1024];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) {
        fclose(f);
    }
    text[n] = '\0';
    struct mgmt_dhcp_lease lease;
    if (!mgmt_dhcp_parse_lease(text, &lease)) {
        return;
    }
    const char *ip = lease.ip, *subnet = lease.subnet;
    const char *router = lease.router, *dns = lease.dns;

    struct json_object *pif = store_get(d->store, "PIF", d->pif);
    bool same = pif && !strcmp(record_string(pif, "IP"), ip)
                && !strcmp(record_string(pif, "netmask"), subnet)
                && !strcmp(record_string(pif, "gateway"), router)
                && !strcmp(record_string(pif, "DNS"), dns);
    const char *old_ip = pif ? record_string(pif, "IP") : "";
    char *retire = *old_ip && strcmp(old_ip, ip) ? xstrdup(old_ip) : NULL;
    json_object_put(pif);
    if (same) {
        free(retire);
        return;
    }

    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "IP", json_object_new_string(ip));
    json_object_object_add(changes, "netmask", json_object_new_string(subnet));
    json_object_object_add(changes, "gateway", json_object_new_string(router));
    json_object_object_add(changes, "DNS", json_object_new_string(dns));
    struct json_object *host = store_get(d->store, "host", d->host);
    struct json_object *pending =
        json_object_get(json_object_object_get(host, "management_rollback"));
    json_object_put(host);

    store_push_actor(d->store, "system:dhcp");
    int retval = store_begin(d->store);
    if (!retval) {
        retval = store_update(d->store, "PIF", d->pif, changes);
        if (!retval) {
            /* A pending change learns its new address. */
            if (pending && json_object_object_length(pending)) {
                json_object_object_add(pending, "new_IP",
                                       json_object_new_string(ip));
            }
            retval = mgmt_write_host_management(
                d->store, d->host,
                pending && json_object_object_length(pending) ? pending : NULL,
                retire, ip);
        }
        if (retval) {
            store_rollback(d->store);
        } else {
            retval = store_commit(d->store);
        }
    }
    store_pop_actor(d->store);
    if (retval) {
        log_warn("cannot store the DHCP lease %s: %s", ip, strerror(retval));
    } else {
        log_info("DHCP lease %s/%s gateway %s on %s", ip, subnet,
                 *router ? router : "(none)", d->device);
    }
    json_object_put(pending);
    json_object_put(changes);
    free(retire);
}
