/*
 * Tasks: any method called as Async.<method> runs as a task object whose
 * status, progress, result and error_info clients can watch with
 * event.from.  The work runs on the next turn of the event loop, after
 * the caller has its task reference.
 *
 * A method whose work another part of netpoold finishes (vm/'s controller,
 * a storage job) makes its call wait for a task (api_task_wait()): a
 * synchronous call answers with the task's outcome once it finishes, and
 * an Async call ends there, its task being its answer.
 */
#include "mgmt/api-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/record.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "task"

/* A task waiting for its turn. */
struct pending_task {
    struct api_call *call; /* The call to run, reply unset. */
    api_method *method;    /* Its method. */
};

static api_method task_cancel;
static void run_task(evutil_socket_t, short, void *pending_);
static void finish_task(struct api *, const char *task,
                        struct json_object *result,
                        const struct np_error *error);
static void task_reply(void *aux, struct json_object *response);
static void wake_task_waiters(evutil_socket_t, short, void *api_);
static void answer_from_task(struct api_call *, struct json_object *task);
static void task_wait_abandoned(void *call_, struct api_call *);

api_method *
api_task_method(const char *name)
{
    return !strcmp(name, "task.cancel") ? task_cancel : NULL;
}

void
api_task_start(struct api_call *call, api_method *method)
{
    struct api *api = call->api;
    char uuid[UUID_LENGTH + 1];

    int retval = store_task_create(api->store, call->method, api->host_uuid,
                                   call->user, uuid);
    if (retval) {
        struct np_error *error = api_store_error(retval, "task", uuid);
        api_call_finish(call, NULL, error);
        np_error_destroy(error);
        return;
    }

    /* The caller gets the task now; the work runs from a copy of the call
     * whose reply lands in the task. */
    struct api_call *work = xzalloc(sizeof *work);
    work->api = api;
    work->method = xstrdup(call->method);
    work->args = json_object_get(call->args);
    memcpy(work->session, call->session, sizeof work->session);
    memcpy(work->user, call->user, sizeof work->user);
    memcpy(work->role, call->role, sizeof work->role);
    memcpy(work->task, uuid, sizeof work->task);
    work->reply = task_reply;
    work->aux = work;

    struct pending_task *pending = xmalloc(sizeof *pending);
    pending->call = work;
    pending->method = method;
    event_base_once(api->base, -1, EV_TIMEOUT, run_task, pending, NULL);

    api_call_finish(call, json_object_new_string(uuid), NULL);
}

/* task.cancel(task): a pending task that has not started is cancelled;
 * one that finished cannot be. */
static struct np_error *
task_cancel(struct api_call *call, struct json_object **result, bool *deferred)
{
    const char *uuid;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_string(call, 0, "task", &uuid))) {
        return error;
    }
    struct json_object *task = store_get(call->api->store, "task", uuid);
    if (!task) {
        return np_error_new(ERR_HANDLE_INVALID, "task", uuid, NULL);
    }
    const char *status =
        json_object_get_string(json_object_object_get(task, "status"));
    if (strcmp(status, "pending")) {
        error = np_error_new(ERR_OPERATION_NOT_ALLOWED, "task is not pending",
                             status, NULL);
    } else {
        struct np_error *cancelled =
            np_error_new(ERR_TASK_CANCELLED, uuid, NULL);
        finish_task(call->api, uuid, NULL, cancelled);
        np_error_destroy(cancelled);
    }
    json_object_put(task);
    return error;
}

static void
run_task(evutil_socket_t fd, short what, void *pending_)
{
    struct pending_task *pending = pending_;
    struct api_call *call = pending->call;
    struct json_object *task = store_get(call->api->store, "task", call->task);
    bool runnable = task
                    && !strcmp(json_object_get_string(
                                   json_object_object_get(task, "status")),
                               "pending");
    json_object_put(task);

    if (!runnable) {
        call->reply = NULL;
        api_call_finish(call, NULL, NULL);
    } else {
        struct json_object *result = NULL;
        bool deferred = false;
        struct np_error *error =
            api_call_method(call, pending->method, &result, &deferred);
        if (deferred && !error) {
            /* The method answers later through api_call_finish(). */
        } else {
            api_call_finish(call, result, error);
        }
        np_error_destroy(error);
    }
    free(pending);
}

/* The reply of a task's call: records the outcome in the task. */
static void
task_reply(void *aux, struct json_object *response)
{
    struct api_call *call = aux;
    struct json_object *result = NULL, *error_json = NULL;
    struct np_error *error = NULL;

    if (json_object_object_get_ex(response, "error", &error_json)) {
        error = np_error_from_json(json_object_object_get(error_json, "data"));
    } else {
        json_object_object_get_ex(response, "result", &result);
    }
    finish_task(call->api, call->task, result, error);
    np_error_destroy(error);
    json_object_put(response);
}

static void
finish_task(struct api *api, const char *task, struct json_object *result,
            const struct np_error *error)
{
    int retval = store_task_finish(api->store, task, result, error);
    if (retval && retval != EALREADY) {
        log_error("task %s: cannot record its outcome (%s)", task,
                  strerror(retval));
    }
}

void
api_task_recover(struct api *api)
{
    struct json_object *tasks =
        store_get_owned(api->store, "task", api->host_uuid, false);
    struct json_object *vms = NULL; /* Read once a task needs them. */
    struct np_error *error = np_error_new(
        ERR_INTERNAL_ERROR, "netpoold stopped before the task finished", NULL);

    api_vm_outcomes_start(api);
    json_object_object_foreach (tasks, uuid, task) {
        if (strcmp(record_string(task, "status"), "pending")) {
            continue;
        }
        /* A VM's operation: its controller finishes it. */
        bool owned = false;
        if (!vms) {
            vms = store_get_all(api->store, "VM");
        }
        json_object_object_foreach (vms, vm_uuid, vm) {
            (void) vm_uuid;
            owned |= json_object_object_get_ex(
                json_object_object_get(vm, "current_operations"), uuid, NULL);
        }
        if (!owned && !api_vm_outcome_known(api, uuid)
            && !api_storage_recover_task(api, uuid, task)) {
            log_warn("task %s (%s) was pending when netpoold stopped: failed",
                     uuid, record_string(task, "name_label"));
            store_task_note(api->store, uuid, "recovery", "rolled back");
            finish_task(api, uuid, NULL, error);
        }
    }
    np_error_destroy(error);
    json_object_put(vms);
    json_object_put(tasks);
}

void
api_task_set_progress(struct api *api, const char *task, double progress)
{
    store_task_set_progress(api->store, task, progress);
}

void
api_task_wait(struct api_call *call, const char *task, bool transient,
              bool *deferred)
{
    struct api *api = call->api;

    snprintf(call->waited_task, sizeof call->waited_task, "%s", task);
    call->transient_task = transient;
    call->task_next = api->task_waiters;
    api->task_waiters = call;
    call->abandoned = task_wait_abandoned;
    call->owner = call;
    *deferred = true;
    if (!api->task_wake) {
        api->task_wake = event_new(api->base, -1, 0, wake_task_waiters, api);
    }
    /* The task may have finished already. */
    event_active(api->task_wake, EV_TIMEOUT, 0);
}

void
api_task_changed(struct api *api, const char *task)
{
    bool waited = false;

    for (struct api_call *c = api->task_waiters; c && !waited;
         c = c->task_next) {
        waited = !strcmp(c->waited_task, task);
    }
    struct json_object *orphans = api->orphan_tasks;
    for (size_t i = 0;
         orphans && !waited && i < json_object_array_length(orphans); i++) {
        waited = !strcmp(
            json_object_get_string(json_object_array_get_idx(orphans, i)),
            task);
    }
    if (waited && api->task_wake) {
        event_active(api->task_wake, EV_TIMEOUT, 0);
    }
}

void
api_task_flush(struct api *api)
{
    while (api->task_waiters) {
        struct api_call *call = api->task_waiters;
        struct np_error *error =
            np_error_new(ERR_INTERNAL_ERROR, "netpoold is stopping", NULL);
        api->task_waiters = call->task_next;
        if (!strcmp(call->task, call->waited_task)) {
            call->reply = NULL; /* The task will say. */
        }
        api_call_finish(call, NULL, error);
        np_error_destroy(error);
    }
    if (api->task_wake) {
        event_free(api->task_wake);
        api->task_wake = NULL;
    }
    json_object_put(api->orphan_tasks);
    api->orphan_tasks = NULL;
    api_vm_outcomes_stop(api);
}

/* Answers every waiting call whose task has finished. */
static void
wake_task_waiters(evutil_socket_t fd, short what, void *api_)
{
    struct api *api = api_;

    for (struct api_call **p = &api->task_waiters; *p;) {
        struct api_call *call = *p;
        struct json_object *task =
            store_get(api->store, "task", call->waited_task);
        const char *status = record_string(task, "status");
        if (task && !strcmp(status, "pending")) {
            json_object_put(task);
            p = &call->task_next;
            continue;
        }
        *p = call->task_next;
        answer_from_task(call, task);
        json_object_put(task);
    }

    struct json_object *orphans = api->orphan_tasks;
    for (size_t i = 0; orphans && i < json_object_array_length(orphans);) {
        const char *uuid =
            json_object_get_string(json_object_array_get_idx(orphans, i));
        if (store_task_pending(api->store, uuid)) {
            i++;
        } else {
            store_delete(api->store, "task", uuid);
            json_object_array_del_idx(orphans, i, 1);
        }
    }
}

/* Answers 'call' with the outcome of 'task' (its record; NULL if it is
 * gone) and destroys a transient task. */
static void
answer_from_task(struct api_call *call, struct json_object *task)
{
    struct api *api = call->api;
    struct np_error *error = NULL;
    struct json_object *result = NULL;
    char waited[UUID_LENGTH + 1];

    memcpy(waited, call->waited_task, sizeof waited);
    bool transient = call->transient_task;
    if (!strcmp(call->task, waited)) {
        /* An Async call: its task is its answer. */
        call->reply = NULL;
    } else if (!task) {
        error = np_error_new(ERR_OBJECT_NOLONGER_EXISTS, "task", waited, NULL);
    } else if (!strcmp(record_string(task, "status"), "success")) {
        const char *text = record_string(task, "result");
        result = *text ? json_tokener_parse(text) : NULL;
    } else {
        error = np_error_from_json(json_object_object_get(task, "error_info"));
        if (!error) {
            error = np_error_new(ERR_INTERNAL_ERROR,
                                 record_string(task, "status"), NULL);
        }
    }
    api_call_finish(call, result, error);
    np_error_destroy(error);
    if (transient && task) {
        store_delete(api->store, "task", waited);
    }
}

/* The client of a call waiting for a task went away: the work goes on and
 * its task keeps the outcome. */
static void
task_wait_abandoned(void *call_, struct api_call *call)
{
    struct api *api = call->api;

    for (struct api_call **p = &api->task_waiters; *p; p = &(*p)->task_next) {
        if (*p == call) {
            *p = call->task_next;
            break;
        }
    }
    if (call->transient_task) {
        /* Nobody reads it: it goes once it has finished. */
        if (!api->orphan_tasks) {
            api->orphan_tasks = json_object_new_array();
        }
        json_object_array_add(api->orphan_tasks,
                              json_object_new_string(call->waited_task));
    }
}
