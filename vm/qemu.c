/*
 * The "qemu" backend: domains as QEMU processes driven over QMP.
 *
 * Each domain has a folder STATE_DIR/<VM UUID> holding its QMP socket
 * ("qmp"), QEMU's pidfile ("pid"), its serial console ("serial.log") and
 * QEMU's own output ("qemu.log").  QEMU daemonizes, so domains outlive
 * netpoold and a restarted netpoold finds them again by their folders.
 * QEMU creates each NIC's tap device itself (named as the VIF's OVS port),
 * so a tap lives exactly as long as its domain; the backend brings it up.
 * Suspend is QEMU's migration into a file through "exec:", resume starts
 * QEMU with -incoming from that file (QEMU 7.2 has no "file:" URI).
 */
#include "vm/vm.h"

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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

#define QMP_TIMEOUT_MS 5000

/* The QEMU backend: the generic part first, so a vm_backend pointer is a
 * qemu_backend pointer. */
struct qemu_backend {
    struct vm_backend up; /* Generic part. */
    char *qemu;           /* QEMU binary. */
    enum vm_accel accel;  /* What domains get. */
};

static const struct vm_backend_ops qemu_ops;

static struct qemu_backend *qemu_cast(struct vm_backend *);
static char *domain_path(struct qemu_backend *, const char *uuid,
                         const char *file);
static pid_t domain_pid(struct qemu_backend *, const char *uuid);
static int qmp(struct qemu_backend *, const char *uuid, const char *command,
               struct json_object *arguments, struct json_object **returnp,
               char *why);
static int qemu_destroy(struct vm_backend *, const char *uuid, char *why);
static int run_qemu(char **argv, const char *log, char *why);
static void tap_up(const char *name);
static int add_vhost_chardev(struct qemu_backend *, const char *uuid,
                             const struct vm_nic *, char *why);
static void remove_vhost_chardev(struct qemu_backend *, const char *uuid,
                                 const struct vm_nic *);
static bool pid_gone(pid_t pid);
static void sleep_ms(int ms);
static void tail_of(const char *file, char *why, const char *prefix);

struct vm_backend *
vm_qemu_backend_create(const char *state_dir, const char *qemu,
                       const char *accel)
{
    struct qemu_backend *backend = xzalloc(sizeof *backend);

    backend->up.ops = &qemu_ops;
    backend->up.state_dir = xstrdup(state_dir);
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

void
vm_backend_destroy(struct vm_backend *backend)
{
    if (backend) {
        backend->ops->destroy_backend(backend);
    }
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

/* Operations. */

static enum vm_accel
qemu_accel(struct vm_backend *backend_)
{
    return qemu_cast(backend_)->accel;
}

static int
qemu_start(struct vm_backend *backend_, const struct vm_config *config,
           bool paused, const char *resume_file, int64_t *domid, char *why)
{
    struct qemu_backend *backend = qemu_cast(backend_);
    char *dir = domain_path(backend, config->uuid, NULL);
    char *qmp_path = domain_path(backend, config->uuid, "qmp");
    char *pidfile = domain_path(backend, config->uuid, "pid");
    char *serial = domain_path(backend, config->uuid, "serial.log");
    char *log = domain_path(backend, config->uuid, "qemu.log");
    char *incoming = NULL;
    int error = 0;

    if (mkdir(backend->up.state_dir, 0700) < 0 && errno != EEXIST) {
        error = errno;
        snprintf(why, VM_WHY_SIZE, "mkdir %s: %s", backend->up.state_dir,
                 strerror(error));
        goto out;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        error = errno;
        snprintf(why, VM_WHY_SIZE, "mkdir %s: %s", dir, strerror(error));
        goto out;
    }
    unlink(qmp_path);
    unlink(pidfile);
    if (resume_file) {
        incoming = xasprintf("exec:cat '%s'", resume_file);
    }

    /* A vhost-user NIC is plugged once the domain runs, when its socket
     * does not exist: none may be left from an earlier run. */
    for (size_t i = 0; i < config->n_nics; i++) {
        if (*config->nics[i].vhost) {
            unlink(config->nics[i].vhost);
        }
    }
    struct vm_qemu_paths paths = {.qmp = qmp_path,
                                  .serial = serial,
                                  .pidfile = pidfile,
                                  .incoming = incoming};
    char **argv = vm_qemu_argv(config, backend->accel, &paths, paused);
    free(argv[0]);
    argv[0] = xstrdup(backend->qemu);
    error = run_qemu(argv, log, why);
    vm_argv_free(argv);
    if (!error) {
        *domid = domain_pid(backend, config->uuid);
        if (*domid <= 0) {
            tail_of(log, why, "QEMU is gone");
            error = ESRCH;
        }
    }
    if (error) {
        char ignored[VM_WHY_SIZE];
        qemu_destroy(backend_, config->uuid, ignored);
        goto out;
    }
    for (size_t i = 0; i < config->n_nics; i++) {
        if (!*config->nics[i].vhost) {
            tap_up(config->nics[i].tap);
        }
    }

out:
    free(incoming);
    free(log);
    free(serial);
    free(pidfile);
    free(qmp_path);
    free(dir);
    return error;
}

static int
qemu_shutdown(struct vm_backend *backend_, const char *uuid, char *why)
{
    return qmp(qemu_cast(backend_), uuid, "system_powerdown", NULL, NULL, why);
}

static int
qemu_query(struct vm_backend *backend_, const char *uuid,
           enum vm_domain_state *state, char *why)
{
    struct qemu_backend *backend = qemu_cast(backend_);
    struct json_object *status = NULL;
    pid_t pid = domain_pid(backend, uuid);
    int error;

    *state = VM_DOMAIN_GONE;
    if (pid <= 0 || pid_gone(pid)) {
        return 0;
    }
    error = qmp(backend, uuid, "query-status", NULL, &status, why);
    if (error) {
        /* Alive but not answering: say it runs; the caller retries. */
        *state = VM_DOMAIN_RUNNING;
        return error;
    }
    const char *text =
        json_object_get_string(json_object_object_get(status, "status"));
    if (!text || !strcmp(text, "running")) {
        *state = VM_DOMAIN_RUNNING;
    } else if (!strcmp(text, "shutdown") || !strcmp(text, "guest-panicked")
               || !strcmp(text, "internal-error")) {
        *state = VM_DOMAIN_SHUTDOWN;
    } else {
        *state = VM_DOMAIN_PAUSED;
    }
    json_object_put(status);
    return 0;
}

static int
qemu_destroy(struct vm_backend *backend_, const char *uuid, char *why)
{
    struct qemu_backend *backend = qemu_cast(backend_);
    pid_t pid = domain_pid(backend, uuid);
    char *file;

    if (pid > 0) {
        kill(pid, SIGKILL);
        for (int i = 0; i < 100 && !pid_gone(pid); i++) {
            sleep_ms(20);
        }
        if (!pid_gone(pid)) {
            snprintf(why, VM_WHY_SIZE, "QEMU %d survives SIGKILL", (int) pid);
            return EBUSY;
        }
    }
    file = domain_path(backend, uuid, "qmp");
    unlink(file);
    free(file);
    file = domain_path(backend, uuid, "pid");
    unlink(file);
    free(file);
    return 0;
}

static int
qemu_pause(struct vm_backend *backend_, const char *uuid, char *why)
{
    return qmp(qemu_cast(backend_), uuid, "stop", NULL, NULL, why);
}

static int
qemu_unpause(struct vm_backend *backend_, const char *uuid, char *why)
{
    return qmp(qemu_cast(backend_), uuid, "cont", NULL, NULL, why);
}

static int
qemu_reset(struct vm_backend *backend_, const char *uuid, char *why)
{
    return qmp(qemu_cast(backend_), uuid, "system_reset", NULL, NULL, why);
}

static int
qemu_suspend(struct vm_backend *backend_, const char *uuid, const char *file,
             char *why)
{
    struct qemu_backend *backend = qemu_cast(backend_);
    struct json_object *args, *status = NULL;
    int error;

    error = qmp(backend, uuid, "stop", NULL, NULL, why);
    if (error) {
        return error;
    }
    args = json_object_new_object();
    char *uri = xasprintf("exec:cat > '%s'", file);
    json_object_object_add(args, "uri", json_object_new_string(uri));
    free(uri);
    error = qmp(backend, uuid, "migrate", args, NULL, why);
    json_object_put(args);
    /* Migration runs in QEMU's background: poll until it is done. */
    for (int waited = 0; !error; waited += 100) {
        const char *state;

        error = qmp(backend, uuid, "query-migrate", NULL, &status, why);
        if (error) {
            break;
        }
        state =
            json_object_get_string(json_object_object_get(status, "status"));
        if (state && !strcmp(state, "completed")) {
            json_object_put(status);
            break;
        }
        if (state
            && (!strcmp(state, "failed") || !strcmp(state, "cancelled"))) {
            snprintf(why, VM_WHY_SIZE, "suspend: migration %s", state);
            error = EIO;
        } else if (waited > 120000) {
            snprintf(why, VM_WHY_SIZE, "suspend: migration takes too long");
            error = ETIMEDOUT;
        }
        json_object_put(status);
        status = NULL;
        sleep_ms(100);
    }
    if (error) {
        char ignored[VM_WHY_SIZE];
        qmp(backend, uuid, "cont", NULL, NULL, ignored);
        unlink(file);
        return error;
    }
    qmp(backend, uuid, "quit", NULL, NULL, why);
    return qemu_destroy(backend_, uuid, why);
}

static int
qemu_nic_plug(struct vm_backend *backend_, const char *uuid,
              const struct vm_nic *nic, char *why)
{
    struct qemu_backend *backend = qemu_cast(backend_);
    int error;

    if (*nic->vhost) {
        error = add_vhost_chardev(backend, uuid, nic, why);
        if (error) {
            return error;
        }
    }
    struct json_object *args = vm_qemu_netdev_args(nic);
    error = qmp(backend, uuid, "netdev_add", args, NULL, why);
    json_object_put(args);
    if (error) {
        remove_vhost_chardev(backend, uuid, nic);
        return error;
    }
    if (!*nic->vhost) {
        tap_up(nic->tap);
    }

    args = vm_qemu_device_args(nic, backend->accel);
    error = qmp(backend, uuid, "device_add", args, NULL, why);
    json_object_put(args);
    if (error) {
        char ignored[VM_WHY_SIZE];
        char id[32];
        snprintf(id, sizeof id, "net%d", nic->device);
        args = json_object_new_object();
        json_object_object_add(args, "id", json_object_new_string(id));
        qmp(backend, uuid, "netdev_del", args, NULL, ignored);
        json_object_put(args);
        remove_vhost_chardev(backend, uuid, nic);
    }
    return error;
}

static int
qemu_nic_unplug(struct vm_backend *backend_, const char *uuid,
                const struct vm_nic *nic, char *why)
{
    struct qemu_backend *backend = qemu_cast(backend_);
    struct json_object *args = json_object_new_object();
    char id[32];
    int error;

    snprintf(id, sizeof id, "nic%d", nic->device);
    json_object_object_add(args, "id", json_object_new_string(id));
    error = qmp(backend, uuid, "device_del", args, NULL, why);
    json_object_put(args);
    if (error) {
        return error;
    }
    /* The guest lets go of the device asynchronously; the netdev goes
     * with it once it did (a vhost-user netdev taken from under its
     * device aborts QEMU when the guest next touches the device). */
    char path[64];
    snprintf(path, sizeof path, "/machine/peripheral/%s", id);
    args = json_object_new_object();
    json_object_object_add(args, "path", json_object_new_string(path));
    for (int i = 0; i < 50; i++) {
        char ignored[VM_WHY_SIZE];
        if (qmp(backend, uuid, "qom-list", args, NULL, ignored)) {
            break;
        }
        sleep_ms(100);
    }
    json_object_put(args);
    args = json_object_new_object();
    snprintf(id, sizeof id, "net%d", nic->device);
    json_object_object_add(args, "id", json_object_new_string(id));
    for (int i = 0; i < 50; i++) {
        char ignored[VM_WHY_SIZE];
        if (!qmp(backend, uuid, "netdev_del", args, NULL, ignored)) {
            break;
        }
        sleep_ms(100);
    }
    json_object_put(args);
    remove_vhost_chardev(backend, uuid, nic);
    return 0;
}

/* Adds the socket chardev "chr<device>" serving 'nic''s vhost-user
 * socket to domain 'uuid'. */
static int
add_vhost_chardev(struct qemu_backend *backend, const char *uuid,
                  const struct vm_nic *nic, char *why)
{
    struct json_object *path = json_object_new_object();
    struct json_object *addr = json_object_new_object();
    struct json_object *data = json_object_new_object();
    struct json_object *chardev = json_object_new_object();
    struct json_object *args = json_object_new_object();
    char id[32];

    snprintf(id, sizeof id, "chr%d", nic->device);
    json_object_object_add(path, "path", json_object_new_string(nic->vhost));
    json_object_object_add(addr, "type", json_object_new_string("unix"));
    json_object_object_add(addr, "data", path);
    json_object_object_add(data, "addr", addr);
    json_object_object_add(data, "server", json_object_new_boolean(true));
    json_object_object_add(data, "wait", json_object_new_boolean(false));
    json_object_object_add(chardev, "type", json_object_new_string("socket"));
    json_object_object_add(chardev, "data", data);
    json_object_object_add(args, "id", json_object_new_string(id));
    json_object_object_add(args, "backend", chardev);
    int error = qmp(backend, uuid, "chardev-add", args, NULL, why);
    json_object_put(args);
    return error;
}

/* Removes 'nic''s vhost-user chardev from domain 'uuid', and its socket,
 * if it has one. */
static void
remove_vhost_chardev(struct qemu_backend *backend, const char *uuid,
                     const struct vm_nic *nic)
{
    char ignored[VM_WHY_SIZE];
    char id[32];

    if (!*nic->vhost) {
        return;
    }
    snprintf(id, sizeof id, "chr%d", nic->device);
    struct json_object *args = json_object_new_object();
    json_object_object_add(args, "id", json_object_new_string(id));
    qmp(backend, uuid, "chardev-remove", args, NULL, ignored);
    json_object_put(args);
    unlink(nic->vhost);
}

static int
qemu_list(struct vm_backend *backend_, struct vm_domain_info **domainsp,
          size_t *n)
{
    struct qemu_backend *backend = qemu_cast(backend_);
    DIR *dir = opendir(backend->up.state_dir);
    struct vm_domain_info *domains = NULL;
    size_t allocated = 0;
    struct dirent *entry;

    *domainsp = NULL;
    *n = 0;
    if (!dir) {
        return errno == ENOENT ? 0 : errno;
    }
    while ((entry = readdir(dir))) {
        pid_t pid;

        if (strlen(entry->d_name) != 36) {
            continue;
        }
        pid = domain_pid(backend, entry->d_name);
        if (pid <= 0) {
            continue;
        }
        if (*n == allocated) {
            allocated = allocated ? 2 * allocated : 8;
            domains = xrealloc(domains, allocated * sizeof *domains);
        }
        struct vm_domain_info *info = &domains[(*n)++];
        memcpy(info->uuid, entry->d_name, 36);
        info->uuid[36] = '\0';
        info->pid = pid;
        info->state = VM_RUNNING;

        enum vm_domain_state state;
        char why[VM_WHY_SIZE];
        if (!qemu_query(backend_, info->uuid, &state, why)
            && state == VM_DOMAIN_PAUSED) {
            info->state = VM_PAUSED;
        }
    }
    closedir(dir);
    *domainsp = domains;
    return 0;
}

static void
qemu_destroy_backend(struct vm_backend *backend_)
{
    struct qemu_backend *backend = qemu_cast(backend_);

    free(backend->up.state_dir);
    free(backend->qemu);
    free(backend);
}

static const struct vm_backend_ops qemu_ops = {
    .name = "qemu",
    .accel = qemu_accel,
    .start = qemu_start,
    .shutdown = qemu_shutdown,
    .query = qemu_query,
    .destroy = qemu_destroy,
    .pause = qemu_pause,
    .unpause = qemu_unpause,
    .reset = qemu_reset,
    .suspend = qemu_suspend,
    .nic_plug = qemu_nic_plug,
    .nic_unplug = qemu_nic_unplug,
    .list = qemu_list,
    .destroy_backend = qemu_destroy_backend,
};

/* Helpers. */

static struct qemu_backend *
qemu_cast(struct vm_backend *backend)
{
    return (struct qemu_backend *) backend;
}

/* Returns STATE_DIR/UUID[/FILE], a new string. */
static char *
domain_path(struct qemu_backend *backend, const char *uuid, const char *file)
{
    return file ? xasprintf("%s/%s/%s", backend->up.state_dir, uuid, file)
                : xasprintf("%s/%s", backend->up.state_dir, uuid);
}

/* Returns the PID of the QEMU running domain 'uuid', or 0: the pidfile's
 * process, if it is alive and a QEMU of this VM (its command line names
 * the UUID), so that a reused PID is never taken for the domain. */
static pid_t
domain_pid(struct qemu_backend *backend, const char *uuid)
{
    char *pidfile = domain_path(backend, uuid, "pid");
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

    char path[64], cmdline[8192];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
    close(fd);
    if (n <= 0) {
        return 0; /* Gone, or a zombie. */
    }
    for (ssize_t i = 0; i < n; i++) {
        if (!cmdline[i]) {
            cmdline[i] = ' ';
        }
    }
    cmdline[n] = '\0';
    return strstr(cmdline, uuid) ? (pid_t) pid : 0;
}

static int
qmp(struct qemu_backend *backend, const char *uuid, const char *command,
    struct json_object *arguments, struct json_object **returnp, char *why)
{
    char *path = domain_path(backend, uuid, "qmp");
    int error =
        vm_qmp_execute(path, command, arguments, QMP_TIMEOUT_MS, returnp, why);

    free(path);
    return error;
}

/* Runs QEMU with 'argv' (-daemonize): waits for the parent to exit, which
 * it does once the domain is set up.  Its output goes to 'log'. */
static int
run_qemu(char **argv, const char *log, char *why)
{
    int status;
    pid_t pid = fork();

    if (pid < 0) {
        int error = errno;
        snprintf(why, VM_WHY_SIZE, "fork: %s", strerror(error));
        return error;
    }
    if (!pid) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
        }
        setsid();
        execvp(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            int error = errno;
            snprintf(why, VM_WHY_SIZE, "waitpid: %s", strerror(error));
            return error;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return 0;
    }
    tail_of(log, why, "QEMU failed");
    return EIO;
}

/* Brings network device 'name' up (QEMU leaves its taps down). */
static void
tap_up(const char *name)
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

static bool
pid_gone(pid_t pid)
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

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        continue;
    }
}

/* Writes into 'why' 'prefix' and the last line of 'file'. */
static void
tail_of(const char *file, char *why, const char *prefix)
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
