/*
 * The HA watchdog: a child process that kills this host's domains when
 * netpoold stops moving its deadline (ha/README.md, "Fencing and the
 * watchdog").  netpoold writes fixed-size messages (a deadline and the
 * domains' PIDs) into a pipe; the child polls it with the time left as
 * its timeout.  After fork() the child only makes system calls, so it
 * cannot hang on a lock the parent held.
 */
#include "ha/ha-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "ha-watchdog"

/* The longest the child sleeps at a time: poll()'s timeout runs on
 * CLOCK_MONOTONIC, which NTP may slew, so the child wakes often enough to
 * see the deadline on ha_clock_ms() pass within a step of it. */
#define STEP_MS 50

/* One message on the pipe. */
struct message {
    uint64_t deadline_ms;               /* 0: disarmed. */
    uint32_t n_pids;                    /* Entries used in 'pids'. */
    int32_t pids[HA_WATCHDOG_MAX_PIDS]; /* Domains to kill. */
};

struct ha_watchdog {
    pid_t pid; /* The child, 0 once reaped. */
    int fd;    /* netpoold's end of the pipe. */
};

/* What the child matches in command lines, copied before the fork. */
static char marker[512];

static void child_main(int fd) __attribute__((noreturn));
static void kill_marked(void);
static int send_message(struct ha_watchdog *, const struct message *);

uint64_t
ha_clock_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC_RAW, &now);
    return (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
}

struct ha_watchdog *
ha_watchdog_start(const char *domain_marker)
{
    int fds[2];

    snprintf(marker, sizeof marker, "%s", domain_marker ? domain_marker : "");

    if (pipe2(fds, O_CLOEXEC)) {
        return NULL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        close(fds[0]);
        close(fds[1]);
        errno = error;
        return NULL;
    }
    if (!pid) {
        child_main(fds[0]);
    }
    close(fds[0]);
    struct ha_watchdog *wd = xzalloc(sizeof *wd);
    wd->pid = pid;
    wd->fd = fds[1];
    log_info("watchdog started (pid %d)", (int) pid);
    return wd;
}

int
ha_watchdog_arm(struct ha_watchdog *wd, uint64_t deadline_ms,
                const pid_t *pids, size_t n)
{
    struct message m;

    memset(&m, 0, sizeof m);
    m.deadline_ms = deadline_ms ? deadline_ms : 1;
    m.n_pids =
        (uint32_t) (n < HA_WATCHDOG_MAX_PIDS ? n : HA_WATCHDOG_MAX_PIDS);
    for (size_t i = 0; i < m.n_pids; i++) {
        m.pids[i] = (int32_t) pids[i];
    }
    return send_message(wd, &m);
}

int
ha_watchdog_disarm(struct ha_watchdog *wd)
{
    struct message m;

    memset(&m, 0, sizeof m);
    return send_message(wd, &m);
}

bool
ha_watchdog_alive(struct ha_watchdog *wd)
{
    if (wd->pid > 0 && waitpid(wd->pid, NULL, WNOHANG) == wd->pid) {
        wd->pid = 0;
    }
    return wd->pid > 0;
}

void
ha_watchdog_stop(struct ha_watchdog *wd)
{
    if (!wd) {
        return;
    }
    ha_watchdog_disarm(wd);
    close(wd->fd);
    if (wd->pid > 0) {
        /* Disarmed with the pipe closed, it exits at once. */
        waitpid(wd->pid, NULL, 0);
    }
    free(wd);
}

void
ha_watchdog_release(struct ha_watchdog *wd)
{
    if (!wd) {
        return;
    }
    /* With the pipe closed the child keeps what it was last told. */
    close(wd->fd);
    free(wd);
}

static int
send_message(struct ha_watchdog *wd, const struct message *m)
{
    /* Below PIPE_BUF, so the write is whole or nothing. */
    ssize_t n = write(wd->fd, m, sizeof *m);
    return n == (ssize_t) sizeof *m ? 0 : n < 0 ? errno : EIO;
}

/* The child: waits for messages, kills when the deadline passes while
 * armed, exits when disarmed and the pipe is closed. */
static void
child_main(int fd)
{
    struct message armed;
    bool open = true;

    prctl(PR_SET_NAME, "np-ha-watchdog");
    prctl(PR_SET_PDEATHSIG, 0);
    for (int other = 3; other < 4096; other++) {
        if (other != fd) {
            close(other);
        }
    }
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    memset(&armed, 0, sizeof armed);
    for (;;) {
        int timeout = -1;
        if (armed.deadline_ms) {
            uint64_t now = ha_clock_ms();
            timeout = now >= armed.deadline_ms ? 0
                      : armed.deadline_ms - now > STEP_MS
                          ? STEP_MS
                          : (int) (armed.deadline_ms - now);
        }
        if (armed.deadline_ms && !timeout) {
            for (uint32_t i = 0; i < armed.n_pids; i++) {
                if (armed.pids[i] > 1) {
                    kill(armed.pids[i], SIGKILL);
                }
            }
            kill_marked();
            _exit(0);
        }
        if (!open && !armed.deadline_ms) {
            _exit(0);
        }
        struct pollfd p = {.fd = open ? fd : -1, .events = POLLIN};
        int n = poll(&p, 1, timeout);
        if (n > 0 && open) {
            struct message m;
            ssize_t got = read(fd, &m, sizeof m);
            if (got == (ssize_t) sizeof m) {
                armed = m;
            } else if (got == 0 || (got < 0 && errno != EINTR)) {
                open = false;
            }
        }
    }
}

/* Kills every process whose command line holds 'marker' (this host's
 * domains), found in /proc with system calls only: the list netpoold sent
 * may miss a domain that started since. */
static void
kill_marked(void)
{
    static char entries[8192], cmdline[65536];
    char path[64];

    if (!marker[0]) {
        return;
    }
    int dir = open("/proc", O_RDONLY | O_DIRECTORY);
    if (dir < 0) {
        return;
    }
    for (;;) {
        long n = syscall(SYS_getdents64, dir, entries, sizeof entries);
        if (n <= 0) {
            break;
        }
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *) (entries + off);
            off += d->d_reclen;
            long pid = 0;
            const char *c = d->d_name;
            for (; *c >= '0' && *c <= '9'; c++) {
                pid = pid * 10 + (*c - '0');
            }
            if (*c || pid <= 1) {
                continue;
            }
            /* "/proc/" PID "/cmdline", without a formatting call. */
            char digits[24];
            int k = 0;
            for (long v = pid; v; v /= 10) {
                digits[k++] = (char) ('0' + v % 10);
            }
            size_t len = 0;
            memcpy(path, "/proc/", 6);
            len = 6;
            while (k) {
                path[len++] = digits[--k];
            }
            memcpy(path + len, "/cmdline", 9);
            int fd = open(path, O_RDONLY);
            if (fd < 0) {
                continue;
            }
            ssize_t got = read(fd, cmdline, sizeof cmdline - 1);
            close(fd);
            if (got <= 0) {
                continue;
            }
            for (ssize_t i = 0; i < got; i++) {
                if (!cmdline[i]) {
                    cmdline[i] = ' ';
                }
            }
            cmdline[got] = '\0';
            if (strstr(cmdline, marker)) {
                kill((pid_t) pid, SIGKILL);
            }
        }
    }
    close(dir);
}
