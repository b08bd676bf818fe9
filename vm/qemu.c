/*
 * The "qemu" backend: domains as QEMU processes driven over QMP.
 *
 * Each domain has a folder STATE_DIR/<VM UUID> holding its QMP sockets
 * ("control", which netpoold keeps open for the domain's life, and "qmp",
 * free for tools: QEMU serves one client per socket), QEMU's pidfile
 * ("pid"), its serial console ("serial.log") and QEMU's own output
 * ("qemu.log").  QEMU daemonizes, so domains outlive
 * netpoold; a restarted netpoold finds them again by their folders
 * (list()), ends the QEMUs of this backend that no pidfile accounts for,
 * and takes the others under watch again (adopt()).  A domain under watch
 * has a QMP connection open for its life, whose events tell when the guest
 * powers off or something pauses it, and a pidfd that tells when QEMU
 * exits.  QEMU creates each NIC's tap device itself (named as the VIF's
 * OVS port), so a tap lives exactly as long as its domain; the backend
 * brings it up.  Suspend is QEMU's migration into a file through "exec:",
 * resume starts QEMU with -incoming from that file (QEMU 7.2 has no "file:"
 * URI).  The operations themselves are in qemu-ops.c.
 */
#include "vm/qemu-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "qemu"

#define EXIT_POLL_MS 200 /* Without pidfds: how often exits are looked for. */

static struct qemu_backend *qemu_cast(struct vm_backend *);
static void on_exited(evutil_socket_t, short, void *domain_);
static void on_qmp_event(void *domain_, const char *event,
                         struct json_object *data);
static void on_qmp_closed(void *domain_, const char *why);
static void open_qmp(struct qemu_domain *);
static char *read_cmdline(pid_t pid);
static char *uuid_in_cmdline(const char *cmdline, const char *state_dir);

struct vm_backend *
vm_qemu_backend_create(struct event_base *base, const char *state_dir,
                       const char *qemu, const char *accel)
{
    struct qemu_backend *backend = xzalloc(sizeof *backend);

    backend->up.ops = &qemu_backend_ops;
    backend->up.state_dir = xstrdup(state_dir);
    backend->up.base = base;
    backend->qemu = xstrdup(qemu && *qemu ? qemu : "qemu-system-x86_64");
    if (accel && !strcmp(accel, "kvm")) {
        backend->accel = VM_ACCEL_KVM;
    } else if (accel && !strcmp(accel, "tcg")) {
        backend->accel = VM_ACCEL_TCG;
    } else {
        backend->accel = vm_kvm_usable() ? VM_ACCEL_KVM : VM_ACCEL_TCG;
    }
    return &backend->up;
}

bool
vm_kvm_usable(void)
{
    /* /dev/kvm is not enough: in a VM without nested virtualization it
     * exists, but KVM guests abort or crawl (FACTS.md).  Hardware
     * virtualization must show in the CPU flags as well. */
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    bool usable = false;

    if (fd < 0) {
        return false;
    }
    close(fd);

    FILE *cpuinfo = fopen("/proc/cpuinfo", "r");
    char line[4096];
    while (cpuinfo && !usable && fgets(line, sizeof line, cpuinfo)) {
        if (!strncmp(line, "flags", 5)
            && (strstr(line, " vmx") || strstr(line, " svm"))) {
            usable = true;
        }
    }
    if (cpuinfo) {
        fclose(cpuinfo);
    }
    return usable;
}

/* Backend operations that are not state machines. */

enum vm_accel
qemu_accel(struct vm_backend *backend_)
{
    return qemu_cast(backend_)->accel;
}

int
qemu_list(struct vm_backend *backend_, struct vm_domain_info **domainsp,
          size_t *n)
{
    struct qemu_backend *backend = qemu_cast(backend_);
    struct vm_domain_info *domains = NULL;
    size_t allocated = 0;

    *domainsp = NULL;
    *n = 0;

    /* Every QEMU of this state folder: those with a live pidfile are
     * domains, the others were caught between fork and pidfile, or lost
     * their folder, and nobody can manage them. */
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    while (proc && (entry = readdir(proc))) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end || pid <= 0 || pid == getpid()) {
            continue;
        }
        char *cmdline = read_cmdline(pid);
        char *uuid =
            cmdline ? uuid_in_cmdline(cmdline, backend->up.state_dir) : NULL;
        free(cmdline);
        if (!uuid) {
            continue;
        }
        if (qemu_domain_pid(backend, uuid) != pid) {
            if (!qemu_domain_find(backend, uuid)) {
                log_warn("QEMU %ld of VM %s has no pidfile: ending it", pid,
                         uuid);
                kill((pid_t) pid, SIGKILL);
            }
        } else {
            if (*n == allocated) {
                allocated = allocated ? 2 * allocated : 8;
                domains = xrealloc(domains, allocated * sizeof *domains);
            }
            struct vm_domain_info *info = &domains[(*n)++];
            snprintf(info->uuid, sizeof info->uuid, "%s", uuid);
            info->pid = (pid_t) pid;
            info->state = VM_RUNNING;
        }
        free(uuid);
    }
    if (proc) {
        closedir(proc);
    }
    *domainsp = domains;
    return 0;
}

void
qemu_adopt(struct vm_backend *backend_, const char *uuid)
{
    struct qemu_backend *backend = qemu_cast(backend_);
    pid_t pid = qemu_domain_pid(backend, uuid);

    if (pid > 0 && !qemu_domain_find(backend, uuid)) {
        qemu_domain_add(backend, uuid, pid);
    }
}

void
qemu_destroy_backend(struct vm_backend *backend_)
{
    struct qemu_backend *backend = qemu_cast(backend_);

    backend->stopping = true;
    while (backend->domains) {
        qemu_domain_remove(backend->domains, false);
    }
    qemu_op_fail_all(backend);
    free(backend->up.state_dir);
    free(backend->qemu);
    free(backend);
}

/* Domains. */

struct qemu_domain *
qemu_domain_find(struct qemu_backend *backend, const char *uuid)
{
    for (struct qemu_domain *d = backend->domains; d; d = d->next) {
        if (!strcmp(d->uuid, uuid)) {
            return d;
        }
    }
    return NULL;
}

/* Puts domain 'uuid' (QEMU 'pid') under watch: its exit and its QMP
 * events. */
struct qemu_domain *
qemu_domain_add(struct qemu_backend *backend, const char *uuid, pid_t pid)
{
    struct qemu_domain *d = xzalloc(sizeof *d);

    d->backend = backend;
    snprintf(d->uuid, sizeof d->uuid, "%s", uuid);
    d->pid = pid;
    d->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (d->pidfd >= 0) {
        fcntl(d->pidfd, F_SETFD, FD_CLOEXEC);
        d->exited =
            event_new(backend->up.base, d->pidfd, EV_READ, on_exited, d);
        event_add(d->exited, NULL);
    } else {
        d->exited = event_new(backend->up.base, -1, EV_PERSIST, on_exited, d);
        event_add(d->exited, &(struct timeval){0, EXIT_POLL_MS * 1000});
    }
    d->next = backend->domains;
    backend->domains = d;
    open_qmp(d);
    return d;
}

/* Stops watching 'd' and frees it, telling the watcher the domain is gone
 * if 'notify'. */
void
qemu_domain_remove(struct qemu_domain *d, bool notify)
{
    struct qemu_backend *backend = d->backend;
    char uuid[37];

    for (struct qemu_domain **p = &backend->domains; *p; p = &(*p)->next) {
        if (*p == d) {
            *p = d->next;
            break;
        }
    }
    snprintf(uuid, sizeof uuid, "%s", d->uuid);
    event_free(d->exited);
    if (d->pidfd >= 0) {
        close(d->pidfd);
    }
    struct vm_qmp *qmp = d->qmp;
    free(d);
    vm_qmp_close(qmp);
    if (notify) {
        vm_backend_domain_changed(&backend->up, uuid, VM_DOMAIN_GONE);
    }
}

/* Returns STATE_DIR/UUID[/FILE], a new string. */
char *
qemu_domain_path(struct qemu_backend *backend, const char *uuid,
                 const char *file)
{
    return file ? xasprintf("%s/%s/%s", backend->up.state_dir, uuid, file)
                : xasprintf("%s/%s", backend->up.state_dir, uuid);
}

/* Returns the PID of the QEMU running domain 'uuid', or 0: the pidfile's
 * process, if it is alive and a QEMU of this VM (its command line names
 * the UUID), so that a reused PID is never taken for the domain. */
pid_t
qemu_domain_pid(struct qemu_backend *backend, const char *uuid)
{
    char *pidfile = qemu_domain_path(backend, uuid, "pid");
    FILE *file = fopen(pidfile, "r");
    long pid = 0;

    free(pidfile);
    if (!file) {
        return 0;
    }
    if (fscanf(file, "%ld", &pid) != 1 || pid <= 0 || pid > INT_MAX) {
        pid = 0;
    }
    fclose(file);
    if (!pid) {
        return 0;
    }
    char *cmdline = read_cmdline((pid_t) pid);
    bool ours = cmdline && strstr(cmdline, uuid);
    free(cmdline);
    return ours ? (pid_t) pid : 0;
}

/* Sends SIGKILL to every QEMU of domain 'uuid' (its pidfile's and any
 * other whose command line names its folder).  Returns how many it
 * signalled. */
int
qemu_kill_all(struct qemu_backend *backend, const char *uuid)
{
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    int n = 0;

    while (proc && (entry = readdir(proc))) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end || pid <= 0 || pid == getpid()) {
            continue;
        }
        char *cmdline = read_cmdline(pid);
        char *found =
            cmdline ? uuid_in_cmdline(cmdline, backend->up.state_dir) : NULL;
        if (found && !strcmp(found, uuid) && !qemu_pid_gone(pid)) {
            kill((pid_t) pid, SIGKILL);
            n++;
        }
        free(found);
        free(cmdline);
    }
    if (proc) {
        closedir(proc);
    }
    return n;
}

bool
qemu_pid_gone(pid_t pid)
{
    char path[64];
    char state = 0;
    FILE *file;

    if (kill(pid, 0) < 0 && errno == ESRCH) {
        return true;
    }
    /* A zombie (its parent has not reaped it yet) is gone too. */
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    file = fopen(path, "r");
    if (!file) {
        return true;
    }
    if (fscanf(file, "%*d %*s %c", &state) != 1) {
        state = 0;
    }
    fclose(file);
    return state == 'Z' || state == 'X';
}

/* Brings network device 'name' up (QEMU leaves its taps down). */
void
qemu_tap_up(const char *name)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return;
    }
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
        ifr.ifr_flags |= IFF_UP;
        ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
}

/* Writes into 'why' 'prefix' and the last line of 'file'. */
void
qemu_tail_of(const char *file, char *why, const char *prefix)
{
    char line[512], last[512] = "";
    FILE *f = fopen(file, "r");

    while (f && fgets(line, sizeof line, f)) {
        if (line[0] != '\n') {
            snprintf(last, sizeof last, "%s", line);
        }
    }
    if (f) {
        fclose(f);
    }
    last[strcspn(last, "\n")] = '\0';
    snprintf(why, VM_WHY_SIZE, "%s: %.160s", prefix,
             *last ? last : "no output");
}

/* Watching. */

static void
on_exited(evutil_socket_t fd, short what, void *domain_)
{
    struct qemu_domain *d = domain_;

    if (d->pidfd < 0 && !qemu_pid_gone(d->pid)) {
        return;
    }
    log_info("QEMU %d of VM %s exited", (int) d->pid, d->uuid);
    qemu_domain_remove(d, true);
}

static void
on_qmp_event(void *domain_, const char *event, struct json_object *data)
{
    struct qemu_domain *d = domain_;
    struct qemu_backend *backend = d->backend;
    const char *reason =
        json_object_get_string(json_object_object_get(data, "reason"));

    if (!strcmp(event, "SHUTDOWN")) {
        /* With -no-shutdown QEMU stays after the guest powers off; a
         * "quit" or a signal is followed by its exit. */
        if (reason && !strncmp(reason, "guest-", 6)) {
            vm_backend_domain_changed(&backend->up, d->uuid,
                                      VM_DOMAIN_SHUTDOWN);
        }
    } else if (!strcmp(event, "STOP")) {
        vm_backend_domain_changed(&backend->up, d->uuid, VM_DOMAIN_PAUSED);
    } else if (!strcmp(event, "RESUME")) {
        vm_backend_domain_changed(&backend->up, d->uuid, VM_DOMAIN_RUNNING);
    }
}

static void
on_qmp_closed(void *domain_, const char *why)
{
    struct qemu_domain *d = domain_;

    /* QEMU exiting closes it; the pidfd says so.  Otherwise the next
     * command opens it again. */
    log_debug("QMP of VM %s closed: %s", d->uuid, why);
}

/* Opens 'd''s QMP connection, if it has none. */
static void
open_qmp(struct qemu_domain *d)
{
    char why[VM_WHY_SIZE];

    if (vm_qmp_is_open(d->qmp)) {
        return;
    }
    vm_qmp_close(d->qmp);
    /* A domain started before "control" existed has only "qmp". */
    char *path = qemu_domain_path(d->backend, d->uuid, "control");
    if (access(path, F_OK)) {
        free(path);
        path = qemu_domain_path(d->backend, d->uuid, "qmp");
    }
    d->qmp = vm_qmp_open(d->backend->up.base, path, on_qmp_event,
                         on_qmp_closed, d, why);
    if (!d->qmp) {
        log_warn("VM %s: %s", d->uuid, why);
    }
    free(path);
}

/* Returns 'd''s QMP connection, opening it again if it ended while QEMU
 * lives; NULL if it cannot. */
struct vm_qmp *
qemu_domain_qmp(struct qemu_domain *d)
{
    open_qmp(d);
    return d->qmp;
}

/* Helpers. */

static struct qemu_backend *
qemu_cast(struct vm_backend *backend)
{
    return (struct qemu_backend *) backend;
}

/* Returns the command line of process 'pid' with its arguments separated
 * by spaces (a new string), or NULL if it is gone. */
static char *
read_cmdline(pid_t pid)
{
    char path[64], buf[8192];

    snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return NULL; /* Gone, or a zombie. */
    }
    for (ssize_t i = 0; i < n; i++) {
        if (!buf[i]) {
            buf[i] = ' ';
        }
    }
    buf[n] = '\0';
    return xstrdup(buf);
}

/* If 'cmdline' is a QEMU of 'state_dir' (its pidfile is
 * STATE_DIR/UUID/pid), returns the UUID (a new string), else NULL. */
static char *
uuid_in_cmdline(const char *cmdline, const char *state_dir)
{
    char *needle = xasprintf(" -pidfile %s/", state_dir);
    const char *at = strstr(cmdline, needle);
    char *uuid = NULL;

    if (at) {
        at += strlen(needle);
        if (strlen(at) > 36 && !strncmp(at + 36, "/pid", 4)) {
            uuid = xasprintf("%.36s", at);
        }
    }
    free(needle);
    return uuid;
}
