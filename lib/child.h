/*
 * child: processes run beside the event loop, never blocking it.
 *
 * A child is a program (or a shell script) whose output is collected from
 * a libevent loop as it arrives, line by line for a caller that follows
 * its progress, and whose end is reported once with everything it printed
 * and its exit status.  A child past its time limit is killed, with the
 * processes it started (it runs in a process group of its own).  By
 * default a child dies with the process that started it, so that a job
 * never outlives the daemon that would record its outcome; a child that
 * must outlive it (an emulator that daemonizes) asks otherwise.
 *
 * The OVS tools with no library interface worth linking for one read
 * (ovs-appctl, ovs-ofctl), qemu-img and the emulators all run this way.
 * This module owns the processes it starts until their end; it never
 * writes the store.
 */
#ifndef NETPOOL_LIB_CHILD_H
#define NETPOOL_LIB_CHILD_H 1

#include <stdbool.h>
#include <sys/types.h>

struct event_base;
struct child;

/* How a child ended. */
struct child_exit {
    const char *output; /* What it printed (stdout, with stderr when asked),
                         * NUL-terminated; borrowed for the callback. */
    bool complete;      /* It ended by itself; false when it was killed at
                         * its time limit. */
    int status;         /* Its exit code (0-255) when it exited, 128 + the
                         * signal when a signal ended it. */
};

/* Called once when a child ends.  The child is freed after the call, so
 * the callback forgets it and never stops it. */
typedef void child_done_cb(void *aux, const struct child_exit *exit);

/* Called for each line the child prints (ended by '\n' or '\r', without
 * it; borrowed), as it prints it. */
typedef void child_line_cb(void *aux, const char *line);

/* What a child gets besides its command line. */
struct child_options {
    int timeout_s;          /* Killed after this many seconds; 0: never. */
    bool stderr_too;        /* Its stderr joins its stdout, else it goes to
                             * /dev/null. */
    bool outlives_parent;   /* It keeps running when this process dies
                             * (else it is killed with it). */
    const char *output_log; /* Append its output to this file instead of
                             * collecting it (NULL: collect). */
    child_line_cb *on_line; /* Told each line as it comes, or NULL. */
};

/* Runs 'argv' (NULL-terminated; argv[0] found in $PATH) with 'options'
 * (NULL for the defaults: no time limit, stderr discarded) on 'base', in a
 * process group of its own with every descriptor but 0-2 closed and stdin
 * from /dev/null.  Calls 'cb' (with 'aux'; also for 'on_line') when it
 * ends.  Returns 0 and sets '*childp', or a positive errno (and never
 * calls 'cb'). */
int child_start(struct event_base *base, const char *const *argv,
                const struct child_options *options, child_done_cb *cb,
                void *aux, struct child **childp);

/* Runs `sh -c SCRIPT sh ARGS...` ('args' NULL-terminated, may be NULL) as
 * child_start() does, with stdout collected and stderr discarded, killed
 * after 'timeout_s' seconds. */
int child_start_script(struct event_base *base, const char *script,
                       const char *const *args, int timeout_s,
                       child_done_cb *cb, void *aux, struct child **childp);

/* Returns the process ID of 'child'. */
pid_t child_pid(const struct child *child);

/* Kills and reaps 'child' (and its process group) without calling its
 * callback, and frees it.  Accepts NULL. */
void child_stop(struct child *child);

#endif
