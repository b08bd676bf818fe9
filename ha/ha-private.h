/*
 * What ha's own files share: this host's corosync process and files
 * (corosync.c).  Nothing outside ha/ includes this.
 */
#ifndef NETPOOL_HA_HA_PRIVATE_H
#define NETPOOL_HA_HA_PRIVATE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ha/ha.h"

/* This host's corosync. */
struct ha_corosync {
    char *dir;      /* STATE/corosync. */
    char *conf;     /* Its corosync.conf. */
    char *keyfile;  /* Its authkey. */
    char *run_dir;  /* What corosync sees as /run. */
    char *lib_dir;  /* corosync's state directory. */
    char *log_file; /* corosync's log. */
    char *program;  /* corosync's program. */
    pid_t pid;      /* The running corosync, or 0. */
    bool adopted;   /* Started by an earlier netpoold: not our child. */
    struct child *reloader; /* A running `corosync-cfgtool -R`, or NULL. */
    struct event_base *reload_base; /* Where it runs. */
    bool reload_again;              /* A reload was asked for while it ran. */
};

/* Returns the corosync of the host whose state folder is 'state_dir',
 * run as 'program' (NULL: "corosync"). */
struct ha_corosync *ha_corosync_create(const char *state_dir,
                                       const char *program);

/* Frees 'c' (corosync keeps running).  Accepts NULL. */
void ha_corosync_destroy(struct ha_corosync *c);

/* Writes the authkey derived from 'secret', the hosts file that names the
 * 'n_nodes' nodes, and, if it differs from the file's, 'conf' as
 * corosync.conf ('*changed' says whether it did).  Returns 0 or a
 * positive errno. */
int ha_corosync_write(struct ha_corosync *c, const char *conf,
                      const char *secret, const struct ha_node *nodes,
                      size_t n_nodes, bool *changed);

/* Starts corosync on the written configuration, or adopts the one already
 * running.  Returns 0 or a positive errno. */
int ha_corosync_start(struct ha_corosync *c);

/* Returns true while corosync runs (and reaps it when it ended). */
bool ha_corosync_running(struct ha_corosync *c);

/* Stops corosync (SIGTERM, then SIGKILL after 5 s). */
void ha_corosync_stop(struct ha_corosync *c);

/* Makes the running corosync read its configuration again, on every node
 * of the cluster (`corosync-cfgtool -R`), from a child process on 'base':
 * the reload returns only once every node has reloaded, which can take
 * seconds that the loop must not wait.  A reload asked for while one runs
 * runs again after it. */
void ha_corosync_reload(struct ha_corosync *c, struct event_base *base);

/* Removes the configuration and the authkey. */
void ha_corosync_remove(struct ha_corosync *c);

/* The clock every HA duration is measured on (CLOCK_MONOTONIC_RAW),
 * milliseconds.  NTP does not slew it: chrony, by default, slews
 * CLOCK_MONOTONIC by up to 1/12 while it corrects an offset, which two
 * hosts comparing durations cannot afford (ha/README.md, the timing
 * argument).  Safe in the watchdog's child (a system call). */
uint64_t ha_clock_ms(void);

/* The HA watchdog (ha-watchdog.c): a supervising process forked from
 * netpoold, since this kernel has no softdog.  While armed it kills the
 * listed domains (SIGKILL) once the deadline passes unless netpoold moved
 * it; it outlives a dead or hung netpoold, and exits when disarmed and
 * netpoold's end of the pipe closes. */

#define HA_WATCHDOG_MAX_PIDS 64 /* Domains one deadline covers. */

struct ha_watchdog;

/* Forks the watchdog, disarmed.  When it fires it also kills every
 * process whose command line holds 'domain_marker' (NULL or "": none).
 * Returns it, or NULL (errno set). */
struct ha_watchdog *ha_watchdog_start(const char *domain_marker);

/* Arms 'wd': kill the 'n' processes 'pids' (at most HA_WATCHDOG_MAX_PIDS)
 * at time 'deadline_ms' (ha_clock_ms()) unless armed again or disarmed
 * first.  Returns 0 or a positive errno. */
int ha_watchdog_arm(struct ha_watchdog *wd, uint64_t deadline_ms,
                    const pid_t *pids, size_t n);

/* Disarms 'wd'.  Returns 0 or a positive errno. */
int ha_watchdog_disarm(struct ha_watchdog *wd);

/* Returns true while the watchdog process lives (it exits after it
 * killed). */
bool ha_watchdog_alive(struct ha_watchdog *wd);

/* Disarms the watchdog, lets it exit and frees 'wd'.  Accepts NULL. */
void ha_watchdog_stop(struct ha_watchdog *wd);

/* Lets go of 'wd' as it is and frees it: armed, the watchdog keeps its
 * deadline and kills at it, as after a crash of its parent (nothing can
 * extend it any more); disarmed, it exits.  Accepts NULL. */
void ha_watchdog_release(struct ha_watchdog *wd);

#endif
