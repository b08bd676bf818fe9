/*
 * The end of a VM operation that another host's controller ran.  Tasks
 * are local: the API that records a VM's operation (api-vm.c) makes its
 * task on its own host, while the controller of the host in the VM's
 * resident_on runs it (in a pool a start goes to the VM's affinity).  That
 * controller writes how the operation ended on the VM itself, in
 * last_operation (task, operation, status, power_state, error_info,
 * recovery), in the same transaction that takes the operation out of
 * current_operations, and the pool replicates both.
 *
 * This module watches VM changes and finishes each pending task of this
 * host whose operation left current_operations: as last_operation says
 * when it names the task, else as cancelled (power_state_reset replaced
 * the operation, or the VM is gone).  It waits for the observed
 * power_state the outcome names too, which travels apart from the log, for
 * at most OBSERVATION_GRACE_MS, so that the caller then reads the state it
 * was answered about on this host as well.
 *
 * A task of this host's own controller is finished by the controller, in
 * the transaction that records the outcome; in a pool that part is applied
 * just after the pool has applied the VM's change, so the check runs on
 * the loop's next turn, when such a task is no longer pending.
 */
#include "mgmt/api-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/clock.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/record.h"
#include "mgmt/store.h"
#include "vm/vm.h"

#define LOG_MODULE "task"

/* How long a finished operation waits for the observation of its power
 * state from the host that ran it. */
#define OBSERVATION_GRACE_MS 5000

static void vm_changed(void *api_, const struct store_change *, size_t n,
                       uint64_t seq);
static void check_due(evutil_socket_t, short, void *api_);
static void add_due(struct api *, const char *task, const char *vm,
                    const char *operation);
static void finish(struct api *, const char *task,
                   struct json_object *outcome);

void
api_vm_outcomes_start(struct api *api)
{
    static const char *const classes[] = {"VM", NULL};

    if (api->vm_feed) {
        return;
    }
    api->vm_due = json_object_new_object();
    api->vm_due_wake = event_new(api->base, -1, 0, check_due, api);
    api->vm_feed = store_subscribe(api->store, classes, STORE_FEED_ALL, NULL,
                                   vm_changed, api);
}

void
api_vm_outcomes_stop(struct api *api)
{
    store_unsubscribe(api->vm_feed);
    api->vm_feed = NULL;
    if (api->vm_due_wake) {
        event_free(api->vm_due_wake);
        api->vm_due_wake = NULL;
    }
    json_object_put(api->vm_due);
    api->vm_due = NULL;
}

bool
api_vm_outcome_known(struct api *api, const char *task)
{
    struct json_object *vms = store_get_all(api->store, "VM");
    bool known = false;

    json_object_object_foreach (vms, vm, record) {
        struct json_object *outcome =
            json_object_object_get(record, "last_operation");
        if (!known && !strcmp(record_string(outcome, "task"), task)) {
            add_due(api, task, vm, record_string(outcome, "operation"));
            known = true;
        }
    }
    json_object_put(vms);
    return known;
}

/* The feed: an operation that left a VM's current_operations, or an
 * observation of a VM whose operation waits for it. */
static void
vm_changed(void *api_, const struct store_change *changes, size_t n,
           uint64_t seq)
{
    struct api *api = api_;
    bool wake = false;

    for (size_t i = 0; i < n; i++) {
        const struct store_change *c = &changes[i];
        if (c->observed) {
            json_object_object_foreach (api->vm_due, task, due) {
                (void) task;
                wake |= !strcmp(record_string(due, "vm"), c->uuid);
            }
            continue;
        }
        struct json_object *old_ops =
            c->old ? json_object_object_get(c->old, "current_operations")
                   : NULL;
        struct json_object *new_ops =
            c->new ? json_object_object_get(c->new, "current_operations")
                   : NULL;
        if (!json_object_is_type(old_ops, json_type_object)) {
            continue;
        }
        json_object_object_foreach (old_ops, task, op) {
            enum vm_operation vm_op;
            /* A clone or copy is a storage job of this host's. */
            if (vm_operation_parse(json_object_get_string(op), &vm_op)
                && !json_object_object_get_ex(new_ops, task, NULL)
                && store_task_pending(api->store, task)) {
                add_due(api, task, c->uuid, json_object_get_string(op));
                wake = true;
            }
        }
    }
    if (wake && api->vm_due_wake) {
        event_active(api->vm_due_wake, EV_TIMEOUT, 0);
    }
}

/* Remembers that task 'task' of 'vm''s 'operation' is to be finished. */
static void
add_due(struct api *api, const char *task, const char *vm,
        const char *operation)
{
    struct json_object *due = json_object_new_object();

    json_object_object_add(due, "vm", json_object_new_string(vm));
    json_object_object_add(due, "operation",
                           json_object_new_string(operation));
    json_object_object_add(
        due, "deadline",
        json_object_new_int64(
            (int64_t) (clock_monotonic_ms() + OBSERVATION_GRACE_MS)));
    json_object_object_add(api->vm_due, task, due);
    if (api->vm_due_wake) {
        event_active(api->vm_due_wake, EV_TIMEOUT, 0);
    }
}

/* Finishes every due task whose outcome is complete here; waits again for
 * the others until the first deadline. */
static void
check_due(evutil_socket_t fd, short what, void *api_)
{
    struct api *api = api_;
    struct json_object *done = json_object_new_array();
    int64_t now = (int64_t) clock_monotonic_ms();
    int64_t next = 0;

    store_push_actor(api->store, "system:api");
    json_object_object_foreach (api->vm_due, task, due) {
        const char *uuid = record_string(due, "vm");
        struct json_object *vm = store_get(api->store, "VM", uuid);
        struct json_object *outcome =
            json_object_object_get(vm, "last_operation");
        int64_t deadline =
            json_object_get_int64(json_object_object_get(due, "deadline"));

        if (!store_task_pending(api->store, task)
            || json_object_object_get_ex(
                json_object_object_get(vm, "current_operations"), task,
                NULL)) {
            /* Finished here, or (again) in flight. */
        } else if (!strcmp(record_string(outcome, "task"), task)) {
            if (strcmp(record_string(vm, "power_state"),
                       record_string(outcome, "power_state"))
                && now < deadline) {
                next = next && next < deadline ? next : deadline;
                json_object_put(vm);
                continue;
            }
            finish(api, task, outcome);
        } else {
            /* Replaced, or its VM destroyed: as the controller of its host
             * would have ended it. */
            struct np_error *cancelled =
                np_error_new(ERR_TASK_CANCELLED,
                             record_string(due, "operation"), uuid, NULL);
            store_task_finish(api->store, task, NULL, cancelled);
            np_error_destroy(cancelled);
        }
        json_object_array_add(done, json_object_new_string(task));
        json_object_put(vm);
    }
    store_pop_actor(api->store);
    for (size_t i = 0; i < json_object_array_length(done); i++) {
        json_object_object_del(
            api->vm_due,
            json_object_get_string(json_object_array_get_idx(done, i)));
    }
    json_object_put(done);
    if (next) {
        int64_t ms = next > now ? next - now : 0;
        event_add(api->vm_due_wake,
                  &(struct timeval){ms / 1000, (ms % 1000) * 1000});
    }
}

/* Finishes pending task 'task' as VM record field last_operation
 * 'outcome' says. */
static void
finish(struct api *api, const char *task, struct json_object *outcome)
{
    struct np_error *error = NULL;

    if (strcmp(record_string(outcome, "status"), "success")) {
        struct json_object *info =
            json_tokener_parse(record_string(outcome, "error_info"));
        error = np_error_from_json(info);
        json_object_put(info);
        if (!error) {
            error = np_error_new(ERR_INTERNAL_ERROR,
                                 record_string(outcome, "status"),
                                 record_string(outcome, "operation"), NULL);
        }
    }
    const char *recovery = record_string(outcome, "recovery");
    if (*recovery) {
        store_task_note(api->store, task, "recovery", recovery);
    }
    int retval = store_task_finish(api->store, task, NULL, error);
    if (retval && retval != EALREADY) {
        log_error("task %s: cannot record its outcome (%s)", task,
                  strerror(retval));
    }
    np_error_destroy(error);
}
