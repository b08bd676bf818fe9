/*
 * bench-ha-watchdog: how late after its deadline the HA watchdog has
 * ended a host's domains (ha/README.md, "Fencing and the watchdog": the
 * timing argument assumes the domains are dead within K = timeout / 10 of
 * the deadline).
 *
 * Each round starts N stand-in domains (processes holding M MiB of touched
 * memory, as a guest's QEMU does, whose command line names a domain folder,
 * as QEMU's does), starts the watchdog with that
 * folder as its marker (ha_watchdog_start(), the code netpoold runs), arms
 * it with their PIDs and a deadline 300 ms ahead on the HA clock
 * (ha_clock_ms()), and reaps them: the lateness is the last reap's time
 * minus the deadline (a reap comes after the death, so it is an upper
 * bound).  The baseline, in the same run: the benchmark kills as many
 * stand-ins itself (SIGKILL at a time it notes) and reaps them.  Prints
 * median, p95 and the largest of each, their ratio, and K for timeouts of
 * 3 and 10 s beside them.  Nothing is compared with a threshold.
 *
 * usage: bench-ha-watchdog [-r ROUNDS] [-n DOMAINS] [-m MIB]
 *   -r ROUNDS   rounds of each kind (default 20)
 *   -n DOMAINS  stand-in domains per round (default 2)
 *   -m MIB      memory each stand-in touches (default 96, bench-ha's
 *               guest)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ha/ha-private.h"
#include "lib/xalloc.h"

#define ARM_AHEAD_MS 300 /* Deadline after arming: the stand-ins settle. */

#define STAND_IN "--stand-in" /* argv[1] of a stand-in domain. */

/* A stand-in domain: touches 'mib' MiB, says so on 'fd', waits to be
 * killed. */
static void __attribute__((noreturn)) stand_in(size_t mib, int fd)
{
    size_t size = mib * 1024 * 1024;
    char *memory = malloc(size ? size : 1);
    for (size_t i = 0; memory && i < size; i += 4096) {
        memory[i] = 1;
    }
    if (write(fd, "", 1) != 1) {
        _exit(1);
    }
    for (;;) {
        pause();
    }
}

/* Starts 'n' stand-in domains of 'mib' MiB whose command line holds
 * 'marker' (their argv[0]), and waits until each has touched its memory;
 * stores their PIDs in 'pids'.  Returns 0 or an errno. */
static int
start_domains(const char *marker, size_t mib, pid_t *pids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int fds[2];
        if (pipe(fds)) {
            return errno;
        }
        pid_t pid = fork();
        if (pid < 0) {
            return errno;
        }
        if (!pid) {
            char *name = xasprintf("%sqemu-%zu", marker, i);
            char *size = xasprintf("%zu", mib);
            char *fd = xasprintf("%d", fds[1]);
            close(fds[0]);
            execl("/proc/self/exe", name, STAND_IN, size, fd, (char *) NULL);
            _exit(127);
        }
        close(fds[1]);
        char ready;
        ssize_t got = read(fds[0], &ready, 1);
        close(fds[0]);
        if (got != 1) {
            return EIO;
        }
        pids[i] = pid;
    }
    return 0;
}

/* Reaps the 'n' stand-ins 'pids'; returns the HA clock's time when the
 * last was reaped. */
static uint64_t
reap_domains(const pid_t *pids, size_t n)
{
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {
            continue;
        }
        last = ha_clock_ms();
    }
    return last;
}

static int
compare_i64(const void *a_, const void *b_)
{
    int64_t a = *(const int64_t *) a_, b = *(const int64_t *) b_;
    return a < b ? -1 : a > b;
}

/* Sorts the 'n' values of 'v' and prints their median, p95 and largest
 * under 'name'. */
static void
report(const char *name, int64_t *v, size_t n, int64_t *median)
{
    qsort(v, n, sizeof *v, compare_i64);
    size_t p95 = (size_t) ((double) n * 0.95 + 0.999);
    *median = v[(n + 1) / 2 - 1];
    printf("%-34s median %5" PRId64 " ms  p95 %5" PRId64 " ms  max %5" PRId64
           " ms  n=%zu\n",
           name, *median, v[(p95 ? p95 : 1) - 1], v[n - 1], n);
}

static double
load_average(void)
{
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1) {
            load = -1;
        }
        fclose(f);
    }
    return load;
}

int
main(int argc, char *argv[])
{
    size_t rounds = 20, n = 2, mib = 96;
    int opt;

    if (argc == 4 && !strcmp(argv[1], STAND_IN)) {
        stand_in(strtoul(argv[2], NULL, 10), atoi(argv[3]));
    }
    while ((opt = getopt(argc, argv, "r:n:m:d:")) != -1) {
        switch (opt) {
        case 'r':
            rounds = strtoul(optarg, NULL, 10);
            break;
        case 'n':
            n = strtoul(optarg, NULL, 10);
            break;
        case 'm':
            mib = strtoul(optarg, NULL, 10);
            break;
        case 'd':
            /* run-all.sh hands every benchmark the same arguments. */
            break;
        default:
            fprintf(stderr, "usage: %s [-r ROUNDS] [-n DOMAINS] [-m MIB]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!rounds || !n || n > HA_WATCHDOG_MAX_PIDS) {
        fprintf(stderr, "%s: ROUNDS must be 1 or more and DOMAINS 1 to %d\n",
                argv[0], HA_WATCHDOG_MAX_PIDS);
        return 2;
    }

    /* The watchdog exits once it killed: its pipe is closed. */
    signal(SIGPIPE, SIG_IGN);
    pid_t *pids = xzalloc(n * sizeof *pids);
    int64_t *late = xzalloc(rounds * sizeof *late);
    int64_t *direct = xzalloc(rounds * sizeof *direct);
    double load_start = load_average();

    for (size_t r = 0; r < rounds; r++) {
        char *marker =
            xasprintf("/run/np-bench-wd-%d-%zu/", (int) getpid(), r);
        int error = start_domains(marker, mib, pids, n);
        if (error) {
            fprintf(stderr, "cannot start stand-ins: %s\n", strerror(error));
            return 1;
        }
        struct ha_watchdog *wd = ha_watchdog_start(marker);
        if (!wd) {
            fprintf(stderr, "cannot start the watchdog: %s\n",
                    strerror(errno));
            return 1;
        }
        uint64_t deadline = ha_clock_ms() + ARM_AHEAD_MS;
        error = ha_watchdog_arm(wd, deadline, pids, n);
        if (error) {
            fprintf(stderr, "cannot arm the watchdog: %s\n", strerror(error));
            return 1;
        }
        late[r] = (int64_t) (reap_domains(pids, n) - deadline);
        ha_watchdog_stop(wd);

        /* Baseline: the same kill and reap, from here. */
        error = start_domains(marker, mib, pids, n);
        if (error) {
            fprintf(stderr, "cannot start stand-ins: %s\n", strerror(error));
            return 1;
        }
        struct timespec settle = {0, ARM_AHEAD_MS * 1000000L};
        nanosleep(&settle, NULL);
        uint64_t start = ha_clock_ms();
        for (size_t i = 0; i < n; i++) {
            kill(pids[i], SIGKILL);
        }
        direct[r] = (int64_t) (reap_domains(pids, n) - start);
        free(marker);
    }

    int64_t late_median, direct_median;
    printf("HA watchdog: %zu stand-in domains of %zu MiB, %zu rounds, "
           "load %.2f-%.2f\n",
           n, mib, rounds, load_start, load_average());
    report("deadline to domains reaped", late, rounds, &late_median);
    report("baseline: kill and reap directly", direct, rounds, &direct_median);
    printf("ratio of the medians %.2f; K = timeout / 10: 300 ms at 3 s, "
           "1000 ms at 10 s\n",
           direct_median > 0 ? (double) late_median / (double) direct_median
                             : 0.0);
    free(pids);
    free(late);
    free(direct);
    return 0;
}
