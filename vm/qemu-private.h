/*
 * What the qemu backend's files (qemu.c: the backend, its domains and
 * processes; qemu-ops.c: the operations) share.  Nothing outside vm/qemu*.c
 * includes this.
 *
 * An operation is a small state machine: it starts from the loop (a timer
 * at zero), and each step issues one QMP command, one timer or one child
 * process whose end calls qemu_op_advance() with its outcome, until the
 * operation finishes and tells its caller.
 */
#ifndef NETPOOL_VM_QEMU_PRIVATE_H
#define NETPOOL_VM_QEMU_PRIVATE_H 1

#include <stdbool.h>
#include <sys/types.h>

#include "vm/vm.h"

struct child;
struct event;

#define QEMU_QMP_TIMEOUT_MS 5000 /* One QMP command. */
#define QEMU_POLL_MS 100         /* Between polls of a long operation. */

/* A running domain under watch. */
struct qemu_domain {
    struct qemu_backend *backend; /* Owner. */
    char uuid[37];                /* Its VM. */
    pid_t pid;                    /* Its QEMU. */
    int pidfd;                    /* Readable once QEMU exits, or -1. */
    struct event *exited;         /* Watches 'pidfd' (or polls). */
    struct vm_qmp *qmp;           /* Its QMP connection, or NULL. */
    struct qemu_domain *next;     /* In backend->domains. */
};

/* The QEMU backend: the generic part first, so a vm_backend pointer is a
 * qemu_backend pointer. */
struct qemu_backend {
    struct vm_backend up;        /* Generic part. */
    char *qemu;                  /* QEMU binary. */
    enum vm_accel accel;         /* What domains get. */
    struct qemu_domain *domains; /* Domains under watch. */
    struct qemu_op *ops;         /* Operations in flight. */
    bool stopping;               /* Being destroyed: operations end. */
};

enum qemu_op_kind {
    QOP_START,
    QOP_POWERDOWN,
    QOP_QUERY,
    QOP_DESTROY,
    QOP_PAUSE,
    QOP_UNPAUSE,
    QOP_RESET,
    QOP_SUSPEND,
    QOP_MIGRATE,
    QOP_QUERY_MEMORY,
    QOP_QUERY_DEVICES,
    QOP_NIC_PLUG,
    QOP_NIC_UNPLUG,
    QOP_COMMAND,
};

/* An operation in flight. */
struct qemu_op {
    struct qemu_backend *backend; /* Owner. */
    enum qemu_op_kind kind;       /* What it does. */
    char uuid[37];                /* Its domain's VM. */
    int step;                     /* Where it is. */
    vm_done_cb *cb;               /* Told the outcome once. */
    void *aux;                    /* Argument for 'cb'. */
    struct event *timer;          /* Its next poll, or its start. */
    int waited_ms;                /* Polled so far. */
    int limit_ms;                 /* Gives up after this long. */
    int error;                    /* Outcome of a step decided early. */
    char why[VM_WHY_SIZE];        /* Its reason. */
    int final_error;              /* The error a clean-up step reports. */
    char final_why[VM_WHY_SIZE];  /* Its reason. */

    /* What some operations need. */
    char *file;                 /* suspend: the state file. */
    char *uri;                  /* migrate: the destination. */
    char *command;              /* command: the QMP command. */
    struct json_object *args;   /* command: its arguments, or NULL. */
    struct vm_nic nic;          /* nic_plug, nic_unplug. */
    bool paused;                /* start: stays paused. */
    bool resume;                /* start: loads a saved state. */
    bool incoming;              /* start: waits for a migration. */
    char **taps;                /* start: tap NICs to bring up. */
    size_t n_taps;              /* Entries in 'taps'. */
    struct child *launcher;     /* start: QEMU until it daemonizes. */
    pid_t pid;                  /* start: the domain's QEMU. */
    enum vm_domain_state state; /* query: what the domain does. */
    struct json_object *info;   /* What the result carries, or NULL. */
    struct qemu_op *next;       /* In backend->ops. */
};

/* qemu.c: the backend's operations that are not state machines, its
 * domains, its processes. */
enum vm_accel qemu_accel(struct vm_backend *);
int qemu_list(struct vm_backend *, struct vm_domain_info **, size_t *);
void qemu_adopt(struct vm_backend *, const char *uuid);
void qemu_destroy_backend(struct vm_backend *);
struct vm_qmp *qemu_domain_qmp(struct qemu_domain *);
struct qemu_domain *qemu_domain_find(struct qemu_backend *, const char *uuid);
struct qemu_domain *qemu_domain_add(struct qemu_backend *, const char *uuid,
                                    pid_t pid);
void qemu_domain_remove(struct qemu_domain *, bool notify);
char *qemu_domain_path(struct qemu_backend *, const char *uuid,
                       const char *file);
pid_t qemu_domain_pid(struct qemu_backend *, const char *uuid);
int qemu_kill_all(struct qemu_backend *, const char *uuid);
bool qemu_pid_gone(pid_t pid);
void qemu_tap_up(const char *name);
void qemu_tail_of(const char *file, char *why, const char *prefix);

/* qemu-ops.c. */
struct qemu_op *qemu_op_new(struct qemu_backend *, enum qemu_op_kind,
                            const char *uuid, vm_done_cb *, void *aux);
void qemu_op_begin(struct qemu_op *);
void qemu_op_advance(struct qemu_op *, int error, const char *why,
                     struct json_object *ret);
void qemu_op_cancel_all(struct qemu_backend *, const char *uuid,
                        const struct qemu_op *except);
void qemu_op_fail_all(struct qemu_backend *);
extern const struct vm_backend_ops qemu_backend_ops;

#endif
