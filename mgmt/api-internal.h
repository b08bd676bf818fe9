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
struct store_class;
struct store_field;

struct api {
    struct store *store;                /* The object store. */
    struct event_base *base;            /* Loop for deferred work. */
    char host_uuid[UUID_LENGTH + 1];    /* This host. */
    struct api_call *waiters;           /* Deferred calls (event.from). */
    struct api_vm *vm;                  /* Domain controller (api-vm.c). */
    struct store_subscription *changes; /* Wakes event.from. */
    struct ha_pool *pool;               /* This host's pool agent. */
    int https_port;                     /* This host's API port, the default
                                      * of a pool member's. */
};

/* One call, from parse to reply. */
struct api_call {
    struct api *api;               /* Owner. */
    struct json_object *id;        /* JSON-RPC id, or NULL. */
    char *method;                  /* Method without any "Async." prefix. */
    struct json_object *args;      /* Parameters after the session. */
    char session[UUID_LENGTH + 1]; /* Session ref; "" for local root. */
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

    /* Deferred calls only. */
    struct event *timer;                /* Timeout of a waiting event.from. */
    struct api_call *prev, *next;       /* In api->waiters. */
    uint64_t token;                     /* event.from: changes after this. */
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
api_method *api_event_method(const char *name);
api_method *api_task_method(const char *name);
api_method *api_pif_method(const char *name);
api_method *api_vif_method(const char *name);
api_method *api_bond_method(const char *name);
api_method *api_vlan_method(const char *name);
api_method *api_pif_ip_method(const char *name);
api_method *api_management_method(const char *name);
api_method *api_storage_method(const char *name);
api_method *api_pool_method(const char *name);

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

/* Storage (api-storage.c). */
struct vm_config;

/* Makes a new VDI from VDI 'vdi': with 'sr' NULL a copy-on-write qcow2
 * clone in the same SR, else a full copy into SR 'sr'.  Sets '*uuidp' to
 * the new VDI's UUID (the caller frees it).  Returns NULL or a typed error
 * (HANDLE_INVALID, VDI_MISSING, SR_BACKEND_FAILURE), having made
 * nothing. */
struct np_error *api_storage_clone_vdi(struct store *store, const char *vdi,
                                       const char *sr, char **uuidp);

/* Fills 'config''s disks from VM 'vm''s VBDs (userdevice, mode) and their
 * VDIs (image, format).  Returns NULL, or HANDLE_INVALID("VDI", …) for a
 * VBD whose VDI is gone, VDI_MISSING(VDI, path) for one whose image is
 * gone. */
struct np_error *api_storage_attach_disks(struct store *store, const char *vm,
                                          struct vm_config *config);

/* Gives VM 'target' a copy of every disk of VM 'source': new VDIs, new
 * VBDs at the same userdevices.  With 'copy_sr' NULL each is a
 * copy-on-write clone in its SR; otherwise a full copy into SR 'copy_sr',
 * or, when it is "", into the SR of the disk it copies.  Returns NULL or
 * a typed error. */
struct np_error *api_storage_clone_disks(struct store *store,
                                         const char *source,
                                         const char *target,
                                         const char *copy_sr);

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

/* Domains (api-vm.c): VM power operations and the domain watcher.
 * api_create() calls api_vm_init(), api_destroy() api_vm_fini() (domains
 * keep running). */
api_method *api_vm_method(const char *name);

/* VM.set_memory_limits and VM.set_memory (api-vm-memory.c). */
api_method *api_vm_memory_method(const char *name);

/* Checks the memory settings a VM.create 'record' gives (any of
 * memory_static_min, memory_static_max, memory_dynamic_min,
 * memory_dynamic_max, completed with their defaults) as VM.start would;
 * NULL when it gives none or they are in order, else
 * MEMORY_CONSTRAINT_VIOLATION. */
struct np_error *api_vm_memory_check_record(struct json_object *record);
void api_vm_init(struct api *api);
void api_vm_fini(struct api *api);

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
api_set_check api_management_check_set; /* host other_config's management
                                         * rollback time limit
                                         * (api-management.c). */

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

/* Events (api-event.c). */

/* Wakes every waiting event.from that has something to return now. */
void api_event_wake(struct api *api);

/* Answers every waiting event.from (used at shutdown). */
void api_event_flush(struct api *api);

#endif
