/*
 * Tasks: any method called as Async.<method> runs as a task object whose
 * status, progress, result and error_info clients can watch with
 * event.from.  The work runs on the next turn of the event loop, after
 * the caller has its task reference.
 */
#include "mgmt/api-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/clock.h"
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

api_method *
api_task_method(const char *name)
{
    return !strcmp(name, "task.cancel") ? task_cancel : NULL;
}

void
api_task_start(struct api_call *call, api_method *method)
{
    struct api *api = call->api;
    char uuid[UUID_LENGTH + 1], stamp[CLOCK_ISO8601_SIZE];

    uuid_text_random(uuid);
    clock_iso8601_now(stamp);
    struct json_object *record = json_object_new_object();
    json_object_object_add(record, "name_label",
                           json_object_new_string(call->method));
    json_object_object_add(record, "status",
                           json_object_new_string("pending"));
    json_object_object_add(record, "created", json_object_new_string(stamp));
    json_object_object_add(record, "resident_on",
                           json_object_new_string(api->host_uuid));
    json_object_object_add(record, "owner",
                           json_object_new_string(call->user));
    int retval = store_insert(api->store, "task", uuid, record);
    json_object_put(record);
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
    char stamp[CLOCK_ISO8601_SIZE];
    struct json_object *changes = json_object_new_object();

    clock_iso8601_now(stamp);
    json_object_object_add(changes, "finished", json_object_new_string(stamp));
    json_object_object_add(changes, "progress", json_object_new_double(1.0));
    if (error) {
        bool cancelled = !strcmp(error->code, ERR_TASK_CANCELLED);
        json_object_object_add(
            changes, "status",
            json_object_new_string(cancelled ? "cancelled" : "failure"));
        json_object_object_add(changes, "error_info", np_error_to_json(error));
    } else {
        json_object_object_add(changes, "status",
                               json_object_new_string("success"));
        json_object_object_add(
            changes, "result",
            json_object_new_string(result ? json_object_to_json_string_ext(
                                       result, JSON_C_TO_STRING_PLAIN)
                                          : ""));
    }
    int retval = store_update(api->store, "task", task, changes);
    if (retval) {
        log_error("task %s: cannot record its outcome (%d)", task, retval);
    }
    json_object_put(changes);
}

void
api_task_set_progress(struct api *api, const char *task, double progress)
{
    struct json_object *record = store_get(api->store, "task", task);
    struct json_object *status = json_object_object_get(record, "status");
    double now =
        json_object_get_double(json_object_object_get(record, "progress"));

    /* Only a running task moves, and only forward, in steps of 1%. */
    if (record && status && !strcmp(json_object_get_string(status), "pending")
        && progress >= now + 0.01 && progress < 1.0) {
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "progress",
                               json_object_new_double(progress));
        store_update(api->store, "task", task, changes);
        json_object_put(changes);
    }
    json_object_put(record);
}
