/*
 * What the API's own files (api*.c) share: the API and call structures,
 * the method signature and the helpers that check parameters.  Nothing
 * outside api*.c includes this.
 */
#ifndef NETPOOL_MGMT_API_INTERNAL_H
#define NETPOOL_MGMT_API_INTERNAL_H 1

#include <stdbool.h>
#include <stdint.h>

#include "lib/uuid.h"
#include "mgmt/mgmt.h"

struct event;
struct ha_monitor;
struct store_class;
struct store_field;

struct api {
    struct store *store;                /* The object store. */
    struct event_base *base;            /* Loop for deferred work. */
    char host_uuid[UUID_LENGTH + 1];    /* This host. */
    struct api_call *waiters;           /* Deferred calls (event.from). */
    struct store_subscription *changes; /* Wakes event.from. */
    struct ha_pool *pool;               /* This host's pool agent. */
    int https_port;                     /* This host's API port, the default
                                      * of a pool member's. */
    struct api_call *task_waiters;      /* Calls waiting for a task. */
    struct event *task_wake;            /* Answers them (api-task.c). */
    struct json_object *orphan_tasks;   /* Transient tasks whose caller
                                         * left: destroyed when done. */
    struct storage_job *jobs;           /* Storage jobs in flight
                                         * (storage-job.c). */
    struct store_subscription *vm_feed; /* VM changes (vm-outcome.c). */
    struct json_object *vm_due;         /* Task → its VM operation that
                                         * ended elsewhere. */
    struct event *vm_due_wake;          /* Finishes those tasks. */
    char *state_dir;                    /* Where this host's pool
                                         * certificate and key go. */
    struct api_call *applied_waiters;   /* Deferred host.wait_applied
                                         * calls. */
    struct storage_files *files;        /* Renames and removals of images
                                         * on NFS SRs in flight. */
    struct ha_monitor *ha;              /* This host's HA monitor, or NULL
                                         * (api-ha.c). */
};

/* One call, from parse to reply. */
struct api_call {
    struct api *api;               /* Owner. */
    struct json_object *id;        /* JSON-RPC id, or NULL. */
    char *method;                  /* Method without any "Async." prefix. */
    struct json_object *args;      /* Parameters after the session. */
    char session[UUID_LENGTH + 1]; /* Session ref; "" for local root. */
    char peer[UUID_LENGTH + 1];    /* Pool member calling over mutual
                                    * TLS, or "". */
    char user[UUID_LENGTH + 1];    /* Caller's user object. */
    char role[24];                 /* Caller's role. */
    api_reply_cb *reply;           /* Delivers the response. */
    void *aux;                     /* Argument for 'reply'. */
    char task[UUID_LENGTH + 1];    /* Task of an Async call, else "". */

    /* A call that a module answers later: when the client goes away
     * first, api_call_abandon() calls 'abandoned' with 'owner' before it
     * frees the call, and the owner must forget it (never finish it). */
    void (*abandoned)(void *owner, struct api_call *call);
    void *owner;

    /* Calls waiting for a task (api_task_wait()). */
    char waited_task[UUID_LENGTH + 1]; /* The task, or "". */
    bool transient_task;               /* Destroy it once answered. */
    struct api_call *task_next;        /* In api->task_waiters. */

    /* Deferred calls only. */
    struct event *timer;                /* Timeout of a waiting event.from. */
    struct api_call *prev, *next;       /* In api->waiters. */
    uint64_t token;                     /* event.from: changes after this;
                                         * host.wait_applied: the sequence
                                         * waited for. */
    struct api_call *applied_next;      /* In api->applied_waiters. */
    uint64_t wrote;                     /* Log sequence of this host's last own
                                   * write when the call began. */
    bool durable_wait;                  /* Its reply waits for a majority. */
    struct json_object *durable_result; /* The reply's result meanwhile. */
    struct json_object *classes;        /* event.from: classes of interest. */
};

/* A method: reads call->args, sets '*result' (a new reference) and returns
 * NULL, or returns a typed error.  A method that will answer later sets
 * '*deferred' and answers through api_call_finish(). */
typedef struct np_error *
api_method(struct api_call *call, struct json_object **result, bool *deferred);

/* Runs method 'fn' for 'call' with the store recording the caller as the
 * author of every write it makes. */
struct np_error *api_call_method(struct api_call *call, api_method *fn,
                                 struct json_object **result, bool *deferred);

/* Sends the response for 'call' (the result, ownership taken, or the
 * error, borrowed) and frees the call. */
void api_call_finish(struct api_call *call, struct json_object *result,
                     const struct np_error *error);

/* Argument checks: each returns NULL and stores the value, or a typed
 * error (MESSAGE_PARAMETER_COUNT_MISMATCH, FIELD_TYPE_ERROR naming
 * 'name'). */
struct np_error *api_expect_args(const struct api_call *call, size_t n);
struct np_error *api_arg_string(const struct api_call *call, size_t i,
                                const char *name, const char **value);
struct np_error *api_arg_object(const struct api_call *call, size_t i,
                                const char *name, struct json_object **value);
/* Reads argument 'i' (named 'name') as a reference to an existing object
 * of 'class': stores its UUID and its record (a new reference), or
 * answers HANDLE_INVALID(class, ref). */
struct np_error *api_arg_ref(const struct api_call *call, size_t i,
                             const char *class, const char *name,
                             const char **uuid, struct json_object **record);

/* Returns a copy of 'record' (borrowed) without the SECRET fields of
 * 'class'. */
struct json_object *api_public_record(const struct store_class *class,
                                      struct json_object *record);

/* Turns a store errno into a typed error. */
struct np_error *api_store_error(int error, const char *class,
                                 const char *uuid);

/* Method groups: each returns the method for 'name', or NULL. */
api_method *api_session_method(const char *name);
api_method *api_ha_method(const char *name);
/* Gives 'api' this host's HA monitor (api-ha.c). */
void api_set_ha(struct api *api, struct ha_monitor *monitor);
/* Overcommit protection (api-ha.c): with HA on and
 * pool.ha_host_failures_to_tolerate N > 0, a change to VM 'uuid' (record
 * 'vm') that makes the restart plan cover fewer than N host failures,
 * where it covered N, is refused with
 * HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN(N, most): the VM comes to run on
 * host 'host' (a start, a migration; NULL: it stays where it is) and needs
 * 'memory' bytes (-1: what it needs now; a new need counts for a protected
 * VM only).  Returns NULL or that error. */
struct np_error *api_ha_check_change(struct api *api, const char *uuid,
                                     struct json_object *vm, const char *host,
                                     int64_t memory);
api_method *api_event_method(const char *name);
api_method *api_task_method(const char *name);
api_method *api_pif_method(const char *name);
api_method *api_vif_method(const char *name);
api_method *api_bond_method(const char *name);
api_method *api_vlan_method(const char *name);

/* Gives host 'to_host' a copy of every bond of host 'from_host', made of
 * its untagged PIFs of the same devices, on the same network, with the
 * same mode and properties, as a pool joiner inherits the master's bonds
 * (before its VLANs, which may sit on a bond); inside the caller's
 * transaction.  A bond whose devices 'to_host' lacks is skipped.  Returns
 * NULL or the first bond's typed error (the caller rolls back). */
struct np_error *api_bond_mirror(struct api_call *, const char *from_host,
                                 const char *to_host);

/* Gives host 'to_host' a copy of every VLAN of host 'from_host', on its
 * PIF with the same device and joining the same network, as a pool
 * joiner inherits the master's VLANs; inside the caller's transaction.
 * Returns NULL or the first VLAN's typed error (the caller rolls back). */
struct np_error *api_vlan_mirror(struct store *store, const char *from_host,
                                 const char *to_host);
api_method *api_pif_ip_method(const char *name);
api_method *api_management_method(const char *name);
api_method *api_storage_method(const char *name);
api_method *api_pool_method(const char *name);

/* Returns the pool record (a new reference) and sets '*uuid' to its UUID
 * (borrowed from it), or returns NULL when the store has no pool
 * (api-pool.c). */
struct json_object *api_the_pool(struct store *, const char **uuid);

/* Handles one JSON-RPC request as api_handle() does; 'peer' is the pool
 * member calling, or "" (api.c). */
struct api_call *api_handle_one(struct api *, const char *body, size_t size,
                                bool local, const char *peer,
                                api_reply_cb *reply, void *aux);

/* Most requests in one JSON-RPC batch. */
#define API_MAX_BATCH 10000

/* Handles 'requests' (borrowed), a JSON-RPC batch: each request as
 * api_handle_one() would, the answer an array of their responses in the
 * same order once all are known; returns as api_handle() does
 * (api-batch.c). */
struct api_call *api_batch_handle(struct api *, struct json_object *requests,
                                  bool local, const char *peer,
                                  api_reply_cb *reply, void *aux);

/* Inside the caller's transaction, gives host 'host''s management role to
 * its PIF 'new_pif' (address 'new_ip'), taking it and its address from
 * 'old_pif' (address 'old_ip'; NULL and "" when the role was disabled),
 * with 'rollback' as the pending change to confirm (NULL for none).
 * Returns 0 or the store's error (api-management.c). */
int api_management_move(struct store *, const char *host, const char *old_pif,
                        const char *old_ip, const char *new_pif,
                        const char *new_ip, struct json_object *rollback);

/* pool.management_reconfigure(network): every member's management role
 * moves to its PIF on 'network' (api-pool-management.c). */
struct np_error *api_pool_management_reconfigure(struct api_call *,
                                                 struct json_object **result,
                                                 bool *deferred);
api_method *api_sr_method(const char *name);

/* Shared SRs (api-sr.c).  SR.create of any type but "dir" (its arguments
 * unread), and SR.destroy of SR 'sr' (its record 'record', borrowed) of
 * any type but "dir": the SR and its PBDs. */
struct np_error *api_sr_create(struct api_call *call,
                               struct json_object **result, bool *deferred);
struct np_error *api_sr_destroy(struct api_call *call, const char *sr,
                                struct json_object *record);

/* Returns the typed error of a write the pool refused ('error': EROFS
 * without quorum, EBUSY for a conflict, ETIMEDOUT), or NULL for another
 * errno (api-pool.c). */
struct np_error *api_pool_error(struct api *api, int error);

/* Checks 'record' for <class>.create: every key a field accepted on create
 * with a value of its type, every required field present ('skip' is a key
 * the caller checks itself, or NULL).  Returns NULL or the typed error
 * (api-generic.c). */
struct np_error *api_check_record(const struct store_class *class,
                                  struct json_object *record,
                                  const char *skip);

/* Storage jobs (storage-job.c): the images VDI and VM methods make,
 * planned first (every check, no file), then made beside the loop by
 * qemu-img and written to the store in one transaction. */

/* Plans an empty VDI from VDI.create's checked 'input': appends to 'disks'
 * (a JSON array) {"uuid": the new VDI, "path", "record": its VDI record,
 * "argv": the qemu-img command}.  Returns NULL or a typed error
 * (HANDLE_INVALID for the SR, INVALID_VALUE virtual_size). */
struct np_error *api_storage_plan_create(struct store *store,
                                         struct json_object *input,
                                         struct json_object *disks);

/* Plans a new VDI from VDI 'vdi': with 'sr' NULL a copy-on-write qcow2
 * clone in its SR, else a full copy into SR 'sr'; appends it to 'disks'.
 * Returns NULL or a typed error (HANDLE_INVALID, VDI_MISSING). */
struct np_error *api_storage_plan_copy(struct store *store, const char *vdi,
                                       const char *sr,
                                       struct json_object *disks);

/* Plans a copy of every disk of VM 'source' for VM 'target' (each with
 * the VBD to make, at the same userdevice): copy-on-write clones with
 * 'copy_sr' NULL, else full copies into SR 'copy_sr' or, when it is "",
 * into the SR of each disk.  Returns NULL or a typed error. */
struct np_error *api_storage_plan_vm_disks(struct store *store,
                                           const char *source,
                                           const char *target,
                                           const char *copy_sr,
                                           struct json_object *disks);

/* The writes of a job's method, made in the job's transaction before its
 * VDIs and VBDs: returns NULL and sets '*result' (the call's answer), or
 * a typed error that rolls the job back. */
typedef struct np_error *api_job_commit(struct api *, struct json_object *arg,
                                        struct json_object **result);

/* Runs the plan 'disks' (taken) for 'call' as a job with a task named
 * 'label' (the call's own for Async): each image made as PATH.part by
 * qemu-img beside the loop, its progress on the task, then renamed; then
 * one transaction: 'commit' (with 'arg', taken; may be NULL: the answer is
 * the first new VDI), the VDIs and VBDs, the end of operation 'busy_op'
 * that VM 'busy_vm' (or NULL) shows in current_operations while the job
 * runs, and the task's success.  On failure every image goes and the task
 * fails.  The call answers with the task's outcome ('*deferred' set). */
struct np_error *api_storage_job(struct api_call *call, const char *label,
                                 struct json_object *disks,
                                 const char *busy_vm, const char *busy_op,
                                 api_job_commit *commit,
                                 struct json_object *arg, bool *deferred);

/* Stops every job (at shutdown): their tasks stay pending, and the next
 * start rolls them back. */
void api_storage_jobs_stop(struct api *api);

/* Readdresses management PIF 'pif' (api-management.c) with an IP
 * configuration that PIF.reconfigure_ip has checked ('mode' is xapi's
 * "Static", "DHCP" or "None"), recording the previous one for the
 * rollback.  Returns NULL or a typed error, having written nothing. */
struct np_error *api_management_readdress(struct api *api, const char *pif,
                                          const char *mode, const char *ip,
                                          const char *netmask,
                                          const char *gateway,
                                          const char *dns);
api_method *api_generic_method(const char *name);

/* Domains (api-vm.c): VM power operations, recorded as intent for vm/'s
 * controller; VM.clone and VM.copy. */
api_method *api_vm_method(const char *name);
/* VM.pool_migrate, host.disable/enable/evacuate (api-migrate.c). */
api_method *api_migrate_method(const char *name);

/* VM.set_memory_limits and VM.set_memory (api-vm-memory.c). */
api_method *api_vm_memory_method(const char *name);

/* Checks the memory settings a VM.create 'record' gives (any of
 * memory_static_min, memory_static_max, memory_dynamic_min,
 * memory_dynamic_max, completed with their defaults) as VM.start would;
 * NULL when it gives none or they are in order, else
 * MEMORY_CONSTRAINT_VIOLATION. */
struct np_error *api_vm_memory_check_record(struct json_object *record);

/* Cross-object rules of <class>.set_<field>: each returns NULL to allow
 * writing 'value' (already checked against the field's type) to 'field' of
 * object 'uuid' of 'class', or the typed error that refuses it.
 * api-generic.c runs every one of them before the write. */
typedef struct np_error *api_set_check(struct api *,
                                       const struct store_class *,
                                       const struct store_field *,
                                       const char *uuid,
                                       struct json_object *value);
api_set_check api_vlan_check_set; /* network.MTU vs. VLANs (api-vlan.c). */
api_set_check api_flow_check_set; /* Flow-export keys of network and host
                                  * other_config (api-flow.c). */
api_set_check api_dpdk_check_set; /* host.datapath and its DPDK keys of
                                  * other_config: hugepages, kernel
                                  * module (api-dpdk.c). */
/* Bond.create over DPDK ports: MTU_EXCEEDS_DEVICE_LIMIT if the network's
 * MTU is above a member's driver limit (api-dpdk.c). */
struct np_error *api_dpdk_check_bond(struct api *, const char *network,
                                     struct json_object *members);
api_set_check api_vm_check_set;         /* host.vm_backend: a backend this host
                                 * has, changed only without VMs
                                 * (api-vm.c). */
api_set_check api_management_check_set; /* host other_config's management
                                         * rollback time limit
                                         * (api-management.c). */
api_set_check api_ha_check_set;         /* VM.ha_restart_priority,
                                 * VM.memory_static_max (overcommit
                                 * protection) and
                                 * pool.ha_host_failures_to_tolerate
                                 * (api-ha.c). */

/* Session handling (api-session.c). */

/* Resolves call->session into call->user and call->role.  Returns NULL or
 * SESSION_INVALID. */
struct np_error *api_session_check(struct api_call *call);

/* Returns the UUID of user 'name' (a new string) or NULL. */
char *api_find_user(struct api *api, const char *name);

/* Tasks (api-task.c). */

/* Starts 'call' (its method resolved to 'method') as a task; answers the
 * call with the task ref at once. */
void api_task_start(struct api_call *call, api_method *method);

/* Moves task 'task''s progress forward to 'progress' (below 1.0, which
 * only the end of the task sets), while the task is pending. */
void api_task_set_progress(struct api *api, const char *task, double progress);

/* Makes 'call' answer once task 'task' has finished (vm/'s controller or a
 * storage job finishes it), and sets '*deferred': a synchronous call
 * answers with the task's result or error, an Async call whose own task
 * it is just ends.  With 'transient' the task is destroyed once the call
 * has its answer (a synchronous call's task, as xapi's); if the caller
 * leaves first, once the task has finished. */
void api_task_wait(struct api_call *call, const char *task, bool transient,
                   bool *deferred);

/* At start: finishes every task that a previous run left pending and
 * nothing else will finish (not a VM's operation, which vm/'s controller
 * finishes, or vm-outcome.c from what the controller of another host
 * wrote; a storage job is rolled back by api-storage.c) as failed,
 * other_config:recovery "rolled back". */
void api_task_recover(struct api *api);

/* Storage jobs (api-storage.c): if pending task 'task' (record 'record')
 * was a storage job, rolls it back (removes its partial images, fails the
 * task) and returns true; else false. */
bool api_storage_recover_task(struct api *api, const char *task,
                              struct json_object *record);

/* Tells the waiting calls that task 'task' changed (api.c's feed). */
void api_task_changed(struct api *api, const char *task);

/* Answers every call waiting for a task with an error (at shutdown). */
void api_task_flush(struct api *api);

/* VM operations run by another host's controller (vm-outcome.c). */

/* Starts finishing this host's tasks of VM operations from the outcome
 * (VM field last_operation) that the controller which ran them writes. */
void api_vm_outcomes_start(struct api *api);

/* Stops it. */
void api_vm_outcomes_stop(struct api *api);

/* Returns true if a VM's last_operation names pending task 'task', which
 * is then finished from it on the loop's next turn. */
bool api_vm_outcome_known(struct api *api, const char *task);

/* Events (api-event.c). */

/* Wakes every waiting event.from that has something to return now. */
void api_event_wake(struct api *api);

/* Answers every waiting event.from (used at shutdown). */
void api_event_flush(struct api *api);

/* The fabric barrier (api-applied.c). */
struct store_change;
api_method *api_applied_method(const char *name);

/* Answers the waiting host.wait_applied calls that the 'n' committed
 * 'changes' satisfy. */
void api_applied_wake(struct api *api, const struct store_change *changes,
                      size_t n);

/* Answers every waiting host.wait_applied with TIMEOUT (at shutdown). */
void api_applied_flush(struct api *api);

#endif
