/*
 * ovs-vswitchd's threads once DPDK has started in it at run time.  netpool
 * turns DPDK on by writing dpdk-init=true to a running ovs-vswitchd; DPDK
 * then pins the main thread to dpdk-lcore-mask, and every thread made
 * afterwards inherits that, but the handler, revalidator, urcu and
 * conntrack threads made before keep the affinity they were born with
 * (every core), and take the PMD's core for their time slices.  An OVS
 * started with DPDK on has them on the lcore core; this moves them there.
 */
#include "datapath/datapath.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "dpdk"

static void read_comm(int pid, int tid, char *name, size_t size);

bool
dp_dpdk_thread_to_move(const char *name, const cpu_set_t *cpus,
                       const cpu_set_t *main_cpus)
{
    cpu_set_t both;

    /* OVS pins its PMD threads ("pmd-c01/id:7") itself. */
    if (!strncmp(name, "pmd", 3)) {
        return false;
    }
    /* Born before DPDK: every core the main thread had, and more. */
    CPU_AND(&both, cpus, main_cpus);
    return CPU_EQUAL(&both, main_cpus) && !CPU_EQUAL(cpus, main_cpus);
}

int
dp_dpdk_threads_pin(const char *rundir, int *pidp, int *moved)
{
    cpu_set_t main_cpus;

    *moved = 0;
    int error = dp_ovs_vswitchd_pid(rundir, pidp);
    if (error) {
        return error;
    }
    int pid = *pidp;
    if (sched_getaffinity(pid, sizeof main_cpus, &main_cpus)) {
        return errno;
    }

    char *tasks = xasprintf("/proc/%d/task", pid);
    DIR *dir = opendir(tasks);
    free(tasks);
    if (!dir) {
        return errno;
    }
    struct dirent *de;
    while ((de = readdir(dir))) {
        int tid = atoi(de->d_name);
        cpu_set_t cpus;
        char name[32];

        if (tid <= 0 || tid == pid
            || sched_getaffinity(tid, sizeof cpus, &cpus)) {
            continue; /* Not a thread, the main one, or gone. */
        }
        read_comm(pid, tid, name, sizeof name);
        if (!dp_dpdk_thread_to_move(name, &cpus, &main_cpus)) {
            continue;
        }
        if (sched_setaffinity(tid, sizeof main_cpus, &main_cpus)) {
            error = errno;
            log_warn("ovs-vswitchd thread %d (%s) stays where it is: %s", tid,
                     name, strerror(error));
            continue;
        }
        log_debug("ovs-vswitchd thread %d (%s) moved to the lcore core", tid,
                  name);
        (*moved)++;
    }
    closedir(dir);
    return error;
}

/* Reads thread 'tid' of process 'pid''s name into 'name' ("" if gone). */
static void
read_comm(int pid, int tid, char *name, size_t size)
{
    char *path = xasprintf("/proc/%d/task/%d/comm", pid, tid);
    FILE *f = fopen(path, "r");

    free(path);
    name[0] = '\0';
    if (f) {
        if (fgets(name, (int) size, f)) {
            name[strcspn(name, "\n")] = '\0';
        }
        fclose(f);
    }
}
