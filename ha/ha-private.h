/*
 * What ha's own files share: this host's corosync process and files
 * (corosync.c).  Nothing outside ha/ includes this.
 */
#ifndef NETPOOL_HA_HA_PRIVATE_H
#define NETPOOL_HA_HA_PRIVATE_H 1

#include <stdbool.h>
#include <stddef.h>
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

/* Makes the running corosync read its configuration again.  Returns 0 or
 * a positive errno. */
int ha_corosync_reload(struct ha_corosync *c);

/* Removes the configuration and the authkey. */
void ha_corosync_remove(struct ha_corosync *c);

#endif
