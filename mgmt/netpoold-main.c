/*
 * netpoold: one per host.  Opens the object store, makes sure the pool,
 * the host, its PIFs and the root user exist, serves the API on a unix
 * socket and HTTPS, and keeps PIF runtime fields in step with the kernel.
 */
#include <malloc.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "ha/ha.h"
#include "lib/error.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"
#include "mgmt/mgmt.h"
#include "mgmt/store.h"
#include "storage/storage.h"
#include "vlan/vlan.h"
#include "vm/vm.h"

#define LOG_MODULE "netpoold"

#ifndef NETPOOL_VERSION
#define NETPOOL_VERSION "0.1.0"
#endif

/* Everything the running daemon holds. */
struct daemon {
    struct config config;          /* Current configuration. */
    struct event_base *base;       /* The loop. */
    struct store *store;           /* Object store. */
    struct api *api;               /* JSON-RPC API. */
    struct http_server *http;      /* Listeners. */
    struct dp_link_monitor *links; /* Netlink link events. */
    struct dp_reconciler *fabric;  /* Converges the host's OVS. */
    struct vlan_mtu_checker *mtu;  /* Checks jumbo-frame paths. */
    struct storage_pbds *pbds;     /* Plugs this host's SRs. */
    struct http_metrics *metrics;  /* Prometheus /metrics listener. */
    struct metrics *exporter;      /* What /metrics shows, kept current. */
    struct snmp_agent *snmp;       /* SNMP AgentX subagent, or NULL. */
    struct dp_ovs_stats *stats;    /* Statistics OVSDB lacks. */
    struct mgmt_watch *management; /* Confirms management changes. */
    struct mgmt_dhcp *dhcp;        /* DHCP client of the management PIF. */
    struct ha_pool *pool;          /* This host's part of its pool. */
    bool ejected;                  /* The pool ejected this host: start
                                    * again standalone. */
    struct vm_controller *vms;     /* Converges the host's domains. */
    struct mgmt_migrate *migrate;  /* Its part of live migrations. */
    struct mgmt_ha *ha;            /* HA monitor (ha/), fencing. */
    double start_time;             /* Seconds since the epoch. */
    struct event *resync;          /* Periodic full resync. */
    struct event *signals[4];      /* SIGTERM, SIGINT, SIGHUP, (end). */
    char host[UUID_LENGTH + 1];    /* This host's UUID. */
    int pidfile_fd;                /* Locked pidfile. */
    int ready_fd;                  /* Tells a --detach parent we are up. */
};

static int start(struct daemon *);
static void stop(struct daemon *);
static int detach(void);
static int lock_pidfile(const char *path);
static int open_log(const struct config *);
static int ensure_dirs(const struct config *);
static int ensure_host(struct daemon *);
static int ensure_root(struct daemon *);
static char *management_address(struct daemon *);
static void sync_links(struct daemon *);
static void links_changed(void *daemon_);
static void on_resync(evutil_socket_t, short, void *daemon_);
static void set_store_sync(struct daemon *);
static char *render_metrics(void *daemon_);
static void release_metrics_page(void *daemon_, char *page);
static struct json_object *observe_ovs(void *daemon_);
static void on_signal(evutil_socket_t, short, void *daemon_);
static char *state_path(const struct daemon *, const char *name);
static void pool_ejected(void *daemon_);
static void start_again_standalone(const char *state_dir, char *argv[]);

int
main(int argc, char *argv[])
{
    struct daemon d = {.pidfile_fd = -1, .ready_fd = -1};

    /* Everything netpoold and its children (QEMU, the DHCP client) create
     * is root's alone: the store holds password hashes and sessions. */
    umask(077);
    struct np_error *error = config_load(&d.config, argc, argv);

    if (error) {
        bool help = !strcmp(error->code, "HELP");
        if (help) {
            config_usage();
        } else {
            char *text = np_error_to_string(error);
            fprintf(stderr, "netpoold: bad configuration: %s\n", text);
            free(text);
        }
        np_error_destroy(error);
        config_clear(&d.config);
        return help ? 0 : 1;
    }
    signal(SIGPIPE, SIG_IGN);

    if (d.config.detach) {
        d.ready_fd = detach();
        if (d.ready_fd < 0) {
            return 1;
        }
    }

    int retval = start(&d);
    if (!retval) {
        if (d.ready_fd >= 0) {
            (void) !write(d.ready_fd, "R", 1);
            close(d.ready_fd);
            d.ready_fd = -1;
        }
        log_info("netpoold %s ready (host %s)", NETPOOL_VERSION, d.host);
        /* Starting reads whole classes of a pool's store (every VM, to
         * recover tasks and domains): give back what that freed, which
         * would otherwise stay resident and fragment the heap. */
        malloc_trim(0);
        event_base_dispatch(d.base);
        log_info("netpoold stopping");
    }
    char *state_dir = d.ejected ? xstrdup(d.config.state_dir) : NULL;
    stop(&d);
    if (state_dir) {
        start_again_standalone(state_dir, argv);
        free(state_dir);
        return 1;
    }
    return retval ? 1 : 0;
}

/* Brings the daemon up.  Returns 0 or a positive errno, having logged why
 * (stderr until the log is open). */
static int
start(struct daemon *d)
{
    const struct config *c = &d->config;
    int error;

    if ((error = ensure_dirs(c))) {
        return error;
    }
    d->pidfile_fd = lock_pidfile(c->pidfile);
    if (d->pidfile_fd < 0) {
        return -d->pidfile_fd;
    }
    if ((error = open_log(c))) {
        return error;
    }
    log_set_level(c->log_level);
    const char *own_files[] = {c->pidfile, c->log_file, c->unix_socket};
    if (mgmt_state_secure(c->state_dir, own_files, 3)) {
        log_warn("%s: took group and other permissions off files an "
                 "earlier start left open",
                 c->state_dir);
    }

    struct timespec started;
    clock_gettime(CLOCK_REALTIME, &started);
    d->start_time = started.tv_sec + started.tv_nsec / 1e9;
    d->base = event_base_new();
    char *db = state_path(d, "netpool.db");
    error = store_open(db, &d->store);
    if (error) {
        log_error("%s: cannot open the object store: %s", db, strerror(error));
        free(db);
        return error;
    }
    free(db);
    set_store_sync(d);

    if ((error = ensure_host(d))) {
        return error;
    }
    d->api = api_create(d->store, d->base, d->host);
    if ((error = ensure_root(d))) {
        return error;
    }
    struct ha_pool_options pool_options = {
        .state_dir = c->state_dir,
        .host = d->host,
        .corosync = getenv("NETPOOL_COROSYNC"),
        .ejected = pool_ejected,
        .ejected_aux = d,
    };
    error = ha_pool_create(d->base, d->store, &pool_options, &d->pool);
    if (error) {
        log_warn("the pool membership could not start (%s); standalone",
                 strerror(error));
    }
    api_set_pool(d->api, d->pool, c->https_port, c->state_dir);
    sync_links(d);

    char *cert = state_path(d, "host-cert.pem");
    char *key = state_path(d, "host-key.pem");
    char *address = management_address(d);
    error = c->https_port ? cert_ensure(cert, key, address) : 0;
    if (error) {
        log_error("cannot make the host certificate: %s", strerror(error));
    } else {
        error = http_server_start(d->base, d->api, c->unix_socket,
                                  c->https_address, c->https_port, cert, key,
                                  &d->http);
    }
    free(address);
    free(cert);
    free(key);
    if (error) {
        return error;
    }

    if (c->metrics_port) {
        d->exporter = metrics_create(d->store, d->host);
        char *cert_path = state_path(d, "host-cert.pem");
        char *key_path = state_path(d, "host-key.pem");
        error =
            c->metrics_tls ? cert_ensure(cert_path, key_path, "netpool") : 0;
        if (!error) {
            error = http_metrics_start(
                d->base, c->metrics_address, c->metrics_port,
                c->metrics_tls ? cert_path : NULL, key_path, render_metrics,
                release_metrics_page, d, &d->metrics);
        }
        free(cert_path);
        free(key_path);
        if (error) {
            return error;
        }
    }

    dp_reconciler_create(d->base, d->store, d->host, c->ovs_db,
                         c->datapath_type, &d->fabric);
    log_info("reconciling the fabric onto %s (%s datapath)", c->ovs_db,
             c->datapath_type);
    vlan_mtu_checker_create(d->base, d->store, d->host, &d->mtu);
    storage_pbds_create(d->base, d->store, d->host, &d->pbds);
    dp_ovs_stats_create(d->base, c->ovs_db, &d->stats);
    d->management = mgmt_watch_create(d->base, d->store, d->host);
    d->dhcp = mgmt_dhcp_create(d->base, d->store, d->host, c->state_dir);
    struct vm_host_hooks hooks;
    mgmt_vm_hooks(d->store, &hooks);
    d->ha = mgmt_ha_create(d->base, d->store, d->api, c->state_dir, d->host,
                           d->pool, &d->vms, &d->migrate, d->fabric);
    if (!mgmt_ha_fenced(d->ha)) {
        d->vms =
            vm_controller_create(d->base, d->store, d->host, NULL, &hooks);
        d->migrate = mgmt_migrate_create(d->base, d->store, d->host, d->vms,
                                         d->fabric, d->pool);
    }

    if (*c->snmp_agentx_socket) {
        snmp_agent_start(d->base, d->store, d->host, c->snmp_agentx_socket,
                         c->state_dir, c->ovs_db, observe_ovs, d, &d->snmp);
    }

    error = dp_link_monitor_start(d->base, c->pif_match, links_changed, d,
                                  &d->links);
    if (error) {
        log_warn("no netlink link events (%s); relying on resync",
                 strerror(error));
    }
    d->resync = event_new(d->base, -1, EV_PERSIST, on_resync, d);
    struct timeval tv = {.tv_sec = c->resync_interval};
    event_add(d->resync, &tv);

    static const int signals[] = {SIGTERM, SIGINT, SIGHUP};
    for (size_t i = 0; i < 3; i++) {
        d->signals[i] = evsignal_new(d->base, signals[i], on_signal, d);
        event_add(d->signals[i], NULL);
    }
    return 0;
}

static void
stop(struct daemon *d)
{
    http_server_stop(d->http);
    http_metrics_stop(d->metrics);
    metrics_destroy(d->exporter);
    snmp_agent_stop(d->snmp);
    dp_ovs_stats_destroy(d->stats);
    vlan_mtu_checker_destroy(d->mtu);
    storage_pbds_destroy(d->pbds);
    mgmt_watch_destroy(d->management);
    mgmt_dhcp_destroy(d->dhcp);
    mgmt_migrate_destroy(d->migrate);
    dp_reconciler_destroy(d->fabric);
    mgmt_ha_destroy(d->ha);
    vm_controller_destroy(d->vms);
    api_destroy(d->api);
    ha_pool_destroy(d->pool);
    dp_link_monitor_stop(d->links);
    if (d->resync) {
        event_free(d->resync);
    }
    for (size_t i = 0; i < 3; i++) {
        if (d->signals[i]) {
            event_free(d->signals[i]);
        }
    }
    store_close(d->store);
    if (d->base) {
        event_base_free(d->base);
    }
    if (d->pidfile_fd >= 0) {
        unlink(d->config.pidfile);
        close(d->pidfile_fd);
    }
    if (d->ready_fd >= 0) {
        close(d->ready_fd);
    }
    log_close();
    config_clear(&d->config);
}

/* Forks into the background.  The parent waits until the child reports
 * that it is ready (exit 0) or fails (exit 1), so a script that starts
 * netpoold --detach can use the API as soon as it returns.  Returns, in
 * the child, the descriptor to write readiness to; -1 on failure. */
static int
detach(void)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC)) {
        perror("netpoold: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("netpoold: fork");
        return -1;
    }
    if (pid > 0) {
        char byte;
        close(fds[1]);
        _exit(read(fds[0], &byte, 1) == 1 ? 0 : 1);
    }
    close(fds[0]);
    setsid();
    if (chdir("/")) {
        /* Nothing depends on the working directory. */
    }
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    return fds[1];
}

/* Opens and locks the pidfile and writes our pid into it.  Returns the
 * descriptor, or a negative errno (EBUSY if another netpoold holds it). */
static int
lock_pidfile(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        int error = errno;
        fprintf(stderr, "netpoold: %s: %s\n", path, strerror(error));
        return -error;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        fprintf(stderr, "netpoold: %s: another netpoold is running\n", path);
        close(fd);
        return -EBUSY;
    }
    char text[24];
    int len = snprintf(text, sizeof text, "%d\n", (int) getpid());
    if (ftruncate(fd, 0) || pwrite(fd, text, len, 0) != len) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

static int
open_log(const struct config *c)
{
    int error = 0;

    if (c->syslog) {
        error = log_open(LOG_TARGET_SYSLOG, "netpoold", NULL);
    } else if (c->log_file) {
        error = log_open(LOG_TARGET_FILE, "netpoold", c->log_file);
    }
    if (error) {
        fprintf(stderr, "netpoold: %s: %s\n", c->log_file, strerror(error));
    }
    if (!error && c->detach) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDERR_FILENO);
            close(null);
        }
    }
    return error;
}

/* Creates the state folder and the folders of the socket and the pidfile
 * (0700: only root talks to netpoold over its socket). */
static int
ensure_dirs(const struct config *c)
{
    const char *paths[] = {c->unix_socket, c->pidfile};

    if (mkdir(c->state_dir, 0700) && errno != EEXIST) {
        int error = errno;
        fprintf(stderr, "netpoold: %s: %s\n", c->state_dir, strerror(error));
        return error;
    }
    for (size_t i = 0; i < 2; i++) {
        char *dir = xstrdup(paths[i]);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            if (mkdir(dir, 0700) && errno != EEXIST) {
                int error = errno;
                fprintf(stderr, "netpoold: %s: %s\n", dir, strerror(error));
                free(dir);
                return error;
            }
        }
        free(dir);
    }
    return 0;
}

/* Reads this host's UUID from the inventory file in the state folder,
 * creating it (and the host and pool objects) at first start. */
static int
ensure_host(struct daemon *d)
{
    char *path = state_path(d, "inventory");
    FILE *file = fopen(path, "r");
    int error = 0;

    d->host[0] = '\0';
    if (file) {
        char line[128];
        while (fgets(line, sizeof line, file)) {
            char uuid[UUID_LENGTH + 1];
            if (sscanf(line, "INSTALLATION_UUID=%36s", uuid) == 1
                && uuid_text_is_valid(uuid)) {
                memcpy(d->host, uuid, sizeof d->host);
            }
        }
        fclose(file);
    }
    if (!d->host[0]) {
        uuid_text_random(d->host);
        char *tmp = xasprintf("%s.tmp", path);
        file = fopen(tmp, "w");
        if (!file || fprintf(file, "INSTALLATION_UUID=%s\n", d->host) < 0
            || fflush(file) || fsync(fileno(file)) || fclose(file)
            || rename(tmp, path)) {
            error = errno ? errno : EIO;
            log_error("%s: cannot write: %s", path, strerror(error));
        }
        free(tmp);
    }
    free(path);
    if (error) {
        return error;
    }

    char hostname[256] = "";
    gethostname(hostname, sizeof hostname - 1);
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "hostname",
                           json_object_new_string(hostname));
    struct json_object *version = json_object_new_object();
    json_object_object_add(version, "product_version",
                           json_object_new_string(NETPOOL_VERSION));
    json_object_object_add(version, "product_brand",
                           json_object_new_string("netpool"));
    json_object_object_add(changes, "software_version", version);

    store_set_local_host(d->store, d->host);
    store_push_actor(d->store, "system:host");
    store_begin(d->store);
    if (store_exists(d->store, "host", d->host)) {
        error = store_update(d->store, "host", d->host, changes);
    } else {
        json_object_object_add(changes, "name_label",
                               json_object_new_string(hostname));
        error = store_insert(d->store, "host", d->host, changes);
        log_info("created host %s", d->host);
    }
    json_object_put(changes);

    struct json_object *pools = store_get_all(d->store, "pool");
    if (!error && json_object_object_length(pools) == 0) {
        /* A standalone host is the master of a pool of one. */
        char pool[UUID_LENGTH + 1];
        struct json_object *record = json_object_new_object();
        uuid_text_random(pool);
        json_object_object_add(record, "master",
                               json_object_new_string(d->host));
        error = store_insert(d->store, "pool", pool, record);
        json_object_put(record);
    }
    json_object_put(pools);
    if (error) {
        store_rollback(d->store);
    } else {
        error = store_commit(d->store);
    }
    store_pop_actor(d->store);
    return error;
}

/* Creates the root user at first start and leaves its password, readable
 * by root only, in the state folder. */
static int
ensure_root(struct daemon *d)
{
    char password[PASSWORD_LENGTH + 1];
    int retval = api_ensure_root(d->api, password);

    if (retval < 0) {
        log_error("cannot create the root user: %s", strerror(-retval));
        return -retval;
    }
    if (retval == 0) {
        return 0;
    }

    char *path = state_path(d, "root-password");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int error = 0;
    if (fd < 0 || write(fd, password, strlen(password)) < 0
        || write(fd, "\n", 1) != 1 || fsync(fd)) {
        error = errno ? errno : EIO;
        log_error("%s: cannot write: %s", path, strerror(error));
    } else {
        log_info("created user root; its password is in %s", path);
    }
    if (fd >= 0) {
        close(fd);
    }
    free(path);
    return error;
}

/* Returns the management PIF's address, or the hostname if it has none. */
static char *
management_address(struct daemon *d)
{
    struct json_object *host = store_get(d->store, "host", d->host);
    struct json_object *address = json_object_object_get(host, "address");
    const char *text = json_object_get_string(address);
    char *result;

    if (text && *text) {
        result = xstrdup(text);
    } else {
        result = xstrdup(
            json_object_get_string(json_object_object_get(host, "hostname")));
    }
    json_object_put(host);
    return result;
}

/* Mirrors the kernel's NICs into PIFs and the management address into the
 * host object (the management PIF's configured address, or the one the
 * kernel shows on its NIC). */
static void
sync_links(struct daemon *d)
{
    struct dp_link *links;
    size_t n;
    int error = dp_links_read(d->config.pif_match, &links, &n);

    if (error) {
        log_warn("cannot read links: %s", strerror(error));
        return;
    }
    error = dp_pifs_sync(d->store, d->host, links, n,
                         d->config.management_interface);
    if (error) {
        log_warn("cannot update PIFs: %s", strerror(error));
    }

    struct json_object *yes = json_object_new_boolean(true);
    struct json_object *pifs = store_find(d->store, "PIF", "management", yes);
    for (size_t i = 0; i < json_object_array_length(pifs); i++) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(pifs, i));
        struct json_object *pif = store_get(d->store, "PIF", uuid);
        const char *device =
            json_object_get_string(json_object_object_get(pif, "device"));
        if (!strcmp(
                json_object_get_string(json_object_object_get(pif, "host")),
                d->host)) {
            /* The configured address, else what the kernel shows. */
            const char *ip =
                json_object_get_string(json_object_object_get(pif, "IP"));
            for (size_t j = 0; j < n; j++) {
                if (!strcmp(links[j].device, device)) {
                    struct json_object *changes = json_object_new_object();
                    json_object_object_add(
                        changes, "address",
                        json_object_new_string(ip && *ip ? ip : links[j].ip));
                    store_push_actor(d->store, "system:host");
                    store_update(d->store, "host", d->host, changes);
                    store_pop_actor(d->store);
                    json_object_put(changes);
                }
            }
        }
        json_object_put(pif);
    }
    json_object_put(pifs);
    json_object_put(yes);
    free(links);
}

static void
links_changed(void *daemon_)
{
    sync_links(daemon_);
}

static void
on_resync(evutil_socket_t fd, short what, void *daemon_)
{
    struct daemon *d = daemon_;

    sync_links(d);
    dp_reconciler_resync(d->fabric);
    store_prune_changes(d->store, d->config.change_log_keep);
}

/* Gives the store the durability --store-sync asks for: each change on
 * the disk before its answer (full), or flushed from the loop at most
 * STORE_SYNC_INTERVAL_MS after it (interval), as OVSDB does for the
 * transactions that do not ask to be durable. */
static void
set_store_sync(struct daemon *d)
{
    bool full = d->config.store_sync_full;

    store_set_sync(d->store, full ? STORE_SYNC_FULL : STORE_SYNC_INTERVAL,
                   d->base);
    log_info("store: changes reach the disk %s (--store-sync %s)",
             full ? "before their answer" : "at most 100 ms after it",
             full ? "full" : "interval");
}

/* The pool ejected this host: it leaves the loop, and main() starts it
 * again as a standalone host. */
static void
pool_ejected(void *daemon_)
{
    struct daemon *d = daemon_;

    d->ejected = true;
    event_base_loopexit(d->base, NULL);
}

/* Puts the pool's store in 'state_dir' aside and runs netpoold again,
 * same process, same arguments: it starts as a standalone host with a
 * fresh store, the host's UUID and its NICs' addresses kept.  Returns only
 * if it cannot. */
static void
start_again_standalone(const char *state_dir, char *argv[])
{
    static const char *const files[] = {
        "netpool.db",       "netpool.db-wal",       "netpool.db-shm",
        "netpool.db-local", "netpool.db-local-wal", "netpool.db-local-shm",
        "pool-cert.pem",    "pool-key.pem",
    };

    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *path = xasprintf("%s/%s", state_dir, files[i]);
        char *aside = xasprintf("%s.ejected", path);
        if (rename(path, aside) && errno != ENOENT) {
            fprintf(stderr, "netpoold: %s: %s\n", path, strerror(errno));
        }
        free(path);
        free(aside);
    }
    execv("/proc/self/exe", argv);
    fprintf(stderr, "netpoold: cannot start again: %s\n", strerror(errno));
}

static void
on_signal(evutil_socket_t signo, short what, void *daemon_)
{
    struct daemon *d = daemon_;

    if (signo != SIGHUP) {
        log_info("signal %d: shutting down", (int) signo);
        event_base_loopexit(d->base, NULL);
        return;
    }
    struct np_error *error = config_reload(&d->config);
    if (error) {
        char *text = np_error_to_string(error);
        log_error("reload failed, keeping the old configuration: %s", text);
        free(text);
        np_error_destroy(error);
        return;
    }
    int retval = open_log(&d->config);
    log_set_level(d->config.log_level);
    set_store_sync(d);
    log_info("configuration reloaded%s", retval ? " (log unchanged)" : "");
    /* A reload is also a full resync of the fabric. */
    dp_reconciler_resync(d->fabric);
}

/* Renders /metrics from the store, what OVS reports, and /proc. */
static char *
render_metrics(void *daemon_)
{
    struct daemon *d = daemon_;
    struct metrics_info info = {
        .version = NETPOOL_VERSION,
        .host = d->host,
        .start_time = d->start_time,
    };
    struct timespec now;
    char line[128];

    clock_gettime(CLOCK_REALTIME, &now);
    info.now = now.tv_sec + now.tv_nsec / 1e9;
    FILE *meminfo = fopen("/proc/meminfo", "r");
    while (meminfo && fgets(line, sizeof line, meminfo)) {
        unsigned long long kb;
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
            info.memory_total = kb * 1024;
        } else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
            info.memory_free = kb * 1024;
        }
    }
    if (meminfo) {
        fclose(meminfo);
    }
    struct dp_reconciler_stats stats;
    struct json_object *ovs_stats =
        d->stats ? dp_ovs_stats_get(d->stats) : NULL;
    if (d->fabric) {
        dp_reconciler_get_stats(d->fabric, &stats);
        info.reconciler = &stats;
        info.counters = dp_reconciler_counters(d->fabric);
    }
    info.ovs_stats = ovs_stats;
    /* The HA lines go into the page as it is written: joining them to it
     * afterwards copied the whole page (2 MB at 1000 VIFs). */
    char *ha = d->ha ? mgmt_ha_metrics(d->ha) : NULL;
    info.tail = ha;
    char *text = metrics_render(d->exporter, &info);
    json_object_put(ovs_stats);
    free(ha);
    return text;
}

/* Takes back a sent /metrics page. */
static void
release_metrics_page(void *daemon_, char *page)
{
    struct daemon *d = daemon_;
    metrics_release_page(d->exporter, page);
}

/* What the host's OVS reports, for the SNMP subagent. */
static struct json_object *
observe_ovs(void *daemon_)
{
    struct daemon *d = daemon_;
    return d->fabric ? dp_reconciler_observe(d->fabric)
                     : json_object_new_object();
}

static char *
state_path(const struct daemon *d, const char *name)
{
    return xasprintf("%s/%s", d->config.state_dir, name);
}
