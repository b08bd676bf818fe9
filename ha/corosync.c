/*
 * This host's corosync: its files in STATE/corosync (corosync.conf, the
 * authkey, its state directory, its /run) and its process, which runs in a
 * mount namespace of its own where STATE/corosync/run is /run, so that
 * several members of a pool can share a machine.  A corosync left running
 * by a netpoold that died is adopted, not started twice.
 */
#include "ha/ha-private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/child.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "corosync"

static int write_file(const char *path, const void *data, size_t size,
                      mode_t mode);
static pid_t read_pid(const char *path);
static void write_hosts(struct ha_corosync *, const struct ha_node *,
                        size_t n);
static void rewrite_in_place(const char *path, const char *text, size_t size);
static bool is_corosync(pid_t pid);
static void reload_done(void *c_, const struct child_exit *);

/* The longest a reload may take before it is given up, in seconds. */
#define RELOAD_TIMEOUT_S 60

struct ha_corosync *
ha_corosync_create(const char *state_dir, const char *program)
{
    struct ha_corosync *c = xzalloc(sizeof *c);

    c->dir = xasprintf("%s/corosync", state_dir);
    c->conf = xasprintf("%s/corosync.conf", c->dir);
    c->keyfile = xasprintf("%s/authkey", c->dir);
    c->run_dir = xasprintf("%s/run", c->dir);
    c->lib_dir = xasprintf("%s/lib", c->dir);
    c->log_file = xasprintf("%s/corosync.log", c->dir);
    c->program = xstrdup(program ? program : "corosync");
    return c;
}

void
ha_corosync_destroy(struct ha_corosync *c)
{
    if (c) {
        child_stop(c->reloader);
        free(c->dir);
        free(c->conf);
        free(c->keyfile);
        free(c->run_dir);
        free(c->lib_dir);
        free(c->log_file);
        free(c->program);
        free(c);
    }
}

int
ha_corosync_write(struct ha_corosync *c, const char *conf, const char *secret,
                  const struct ha_node *nodes, size_t n_nodes, bool *changed)
{
    unsigned char key[HA_AUTHKEY_SIZE];
    int error = 0;

    *changed = false;
    for (const char *const *dir =
             (const char *const[]){c->dir, c->run_dir, c->lib_dir, NULL};
         *dir; dir++) {
        if (mkdir(*dir, 0700) && errno != EEXIST) {
            log_error("%s: %s", *dir, strerror(errno));
            return errno;
        }
    }

    ha_authkey(secret, key);
    error = write_file(c->keyfile, key, sizeof key, 0400);
    if (error) {
        return error;
    }
    write_hosts(c, nodes, n_nodes);

    /* Only a different configuration is written, so that corosync is
     * reloaded only when the pool changed. */
    FILE *f = fopen(c->conf, "r");
    if (f) {
        char *old = xzalloc(strlen(conf) + 2);
        size_t n = fread(old, 1, strlen(conf) + 1, f);
        fclose(f);
        bool same = n == strlen(conf) && !memcmp(old, conf, n);
        free(old);
        if (same) {
            return 0;
        }
    }
    error = write_file(c->conf, conf, strlen(conf), 0600);
    if (!error) {
        *changed = true;
    }
    return error;
}

int
ha_corosync_start(struct ha_corosync *c)
{
    char *pidfile = xasprintf("%s/corosync.pid", c->run_dir);
    pid_t pid = read_pid(pidfile);
    free(pidfile);

    if (pid > 0 && is_corosync(pid)) {
        log_info("corosync (pid %d) is already running; adopting it",
                 (int) pid);
        c->pid = pid;
        c->adopted = true;
        return 0;
    }

    char *script = xasprintf("mount --bind '%s' /run"
                             " && mount --bind '%s/hosts' /etc/hosts"
                             " && mount --bind '%s/nsswitch.conf'"
                             " /etc/nsswitch.conf"
                             " && exec '%s' -f -c '%s'",
                             c->run_dir, c->dir, c->dir, c->program, c->conf);
    pid = fork();
    if (pid < 0) {
        int error = errno;
        free(script);
        return error;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        setsid();
        execlp("unshare", "unshare", "-m", "--propagation", "private", "sh",
               "-c", script, (char *) NULL);
        _exit(127);
    }
    free(script);
    c->pid = pid;
    c->adopted = false;
    log_info("started corosync (pid %d) with %s", (int) pid, c->conf);
    return 0;
}

bool
ha_corosync_running(struct ha_corosync *c)
{
    if (c->pid <= 0) {
        return false;
    }
    if (!c->adopted) {
        int status;
        pid_t done = waitpid(c->pid, &status, WNOHANG);
        if (done == c->pid) {
            log_warn("corosync (pid %d) exited (status %d)", (int) c->pid,
                     status);
            c->pid = 0;
            return false;
        }
    } else if (kill(c->pid, 0) && errno == ESRCH) {
        log_warn("corosync (pid %d) is gone", (int) c->pid);
        c->pid = 0;
        return false;
    }
    return true;
}

void
ha_corosync_stop(struct ha_corosync *c)
{
    if (c->pid <= 0) {
        return;
    }
    kill(c->pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (c->adopted ? kill(c->pid, 0) && errno == ESRCH
                       : waitpid(c->pid, NULL, WNOHANG) == c->pid) {
            c->pid = 0;
            return;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    log_warn("corosync (pid %d) ignored SIGTERM; killing it", (int) c->pid);
    kill(c->pid, SIGKILL);
    if (!c->adopted) {
        waitpid(c->pid, NULL, 0);
    }
    c->pid = 0;
}

void
ha_corosync_reload(struct ha_corosync *c, struct event_base *base)
{
    if (c->reloader) {
        c->reload_again = true;
        return;
    }
    static const char *const argv[] = {"corosync-cfgtool", "-R", NULL};
    const struct child_options options = {
        .timeout_s = RELOAD_TIMEOUT_S,
        .stderr_too = true,
    };
    c->reload_base = base;
    c->reload_again = false;
    int error =
        child_start(base, argv, &options, reload_done, c, &c->reloader);
    if (error) {
        log_warn("cannot run corosync-cfgtool: %s", strerror(error));
    }
}

void
ha_corosync_remove(struct ha_corosync *c)
{
    unlink(c->conf);
    unlink(c->keyfile);
}

/* Helpers. */

static void
reload_done(void *c_, const struct child_exit *end)
{
    struct ha_corosync *c = c_;

    c->reloader = NULL;
    if (end->complete && !end->status) {
        log_info("corosync reloaded %s", c->conf);
    } else {
        log_warn("corosync did not reload %s (status %d): %s", c->conf,
                 end->status, end->output);
    }
    if (c->reload_again) {
        ha_corosync_reload(c, c->reload_base);
    }
}

/* Writes 'size' bytes of 'data' to 'path' with 'mode', atomically. */
static int
write_file(const char *path, const void *data, size_t size, mode_t mode)
{
    char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int error = 0;

    if (fd < 0 || write(fd, data, size) != (ssize_t) size || fsync(fd)
        || fchmod(fd, mode)) {
        error = errno ? errno : EIO;
    }
    if (fd >= 0) {
        close(fd);
    }
    if (!error && rename(tmp, path)) {
        error = errno;
    }
    if (error) {
        log_error("%s: %s", path, strerror(error));
        unlink(tmp);
    }
    free(tmp);
    return error;
}

/* corosync looks up its host's name and every node's address (reverse) at
 * start and at each reload.  Its mount namespace has an /etc/hosts that
 * names them all and an /etc/nsswitch.conf that reads hosts from files
 * only, so no lookup ever waits for a resolver (a host without DNS, or a
 * test namespace that cannot reach the machine's, would stall corosync for
 * the resolver's timeout, 10 s, long enough for the pool to split).  Both
 * are bind-mounted, so they are rewritten in place (a rename would leave
 * the mount on the old file), and only when they change; the new text is
 * written over the old before the file is cut to length, so a reader never
 * finds it empty. */
static void
write_hosts(struct ha_corosync *c, const struct ha_node *nodes, size_t n)
{
    char name[256] = "localhost";
    char line[512];
    char *hosts = NULL, *nsswitch = NULL;
    size_t hosts_len = 0, nsswitch_len = 0;

    FILE *out = open_memstream(&hosts, &hosts_len);
    FILE *in = fopen("/etc/hosts", "r");
    while (in && fgets(line, sizeof line, in)) {
        fputs(line, out);
    }
    if (in) {
        fclose(in);
    }
    gethostname(name, sizeof name - 1);
    fprintf(out, "127.0.1.1 %s\n", name);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s np-node-%u\n", nodes[i].address, nodes[i].id);
    }
    fclose(out);

    out = open_memstream(&nsswitch, &nsswitch_len);
    in = fopen("/etc/nsswitch.conf", "r");
    while (in && fgets(line, sizeof line, in)) {
        if (strncmp(line, "hosts:", 6)) {
            fputs(line, out);
        }
    }
    if (in) {
        fclose(in);
    }
    fputs("hosts: files\n", out);
    fclose(out);

    char *path = xasprintf("%s/hosts", c->dir);
    rewrite_in_place(path, hosts, hosts_len);
    free(path);
    path = xasprintf("%s/nsswitch.conf", c->dir);
    rewrite_in_place(path, nsswitch, nsswitch_len);
    free(path);
    free(hosts);
    free(nsswitch);
}

/* Makes the file at 'path' hold the 'size' bytes of 'text', keeping its
 * inode: written over the old text, then cut to length, and only if it
 * differs. */
static void
rewrite_in_place(const char *path, const char *text, size_t size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_warn("%s: %s", path, strerror(errno));
        return;
    }
    struct stat st;
    bool same = false;
    if (!fstat(fd, &st) && (size_t) st.st_size == size) {
        char *old = xmalloc(size + 1);
        same = pread(fd, old, size, 0) == (ssize_t) size
               && !memcmp(old, text, size);
        free(old);
    }
    if (!same
        && (pwrite(fd, text, size, 0) != (ssize_t) size
            || ftruncate(fd, (off_t) size))) {
        log_warn("%s: %s", path, strerror(errno));
    }
    close(fd);
}

static pid_t
read_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    int pid = 0;

    if (f) {
        if (fscanf(f, "%d", &pid) != 1) {
            pid = 0;
        }
        fclose(f);
    }
    return pid;
}

/* Returns true if process 'pid' runs corosync. */
static bool
is_corosync(pid_t pid)
{
    char path[64], name[64] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int) pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(name, sizeof name, f)) {
            name[0] = '\0';
        }
        fclose(f);
    }
    return !strncmp(name, "corosync", 8);
}
