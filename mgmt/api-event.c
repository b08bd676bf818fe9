/*
 * event.from: clients wait for changes to objects without polling.  A call
 * whose token is current waits (a deferred call with a timer) until the
 * store commits a change of a class it asked for, or until its timeout.
 */
#include "mgmt/api-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "event"

#define MAX_EVENTS 1000 /* Changes returned by one call. */
#define MAX_TIMEOUT \
    60.0 /* Seconds one call may wait; below the
                                 * listeners' idle timeout. */

static api_method event_from;
static struct json_object *collect(struct api_call *, uint64_t *token);
static void answer(struct api_call *, struct json_object *events,
                   uint64_t token);
static void timed_out(evutil_socket_t, short, void *call_);

api_method *
api_event_method(const char *name)
{
    return !strcmp(name, "event.from") ? event_from : NULL;
}

void
api_event_wake(struct api *api)
{
    struct api_call *call = api->waiters;

    while (call) {
        struct api_call *next = call->next;
        uint64_t token = call->token;
        struct json_object *events = collect(call, &token);
        if (json_object_array_length(events) > 0) {
            answer(call, events, token);
        } else {
            call->token = token;
            json_object_put(events);
        }
        call = next;
    }
}

void
api_event_flush(struct api *api)
{
    while (api->waiters) {
        struct api_call *call = api->waiters;
        answer(call, json_object_new_array(), call->token);
    }
}

/* event.from(classes, token, timeout). */
static struct np_error *
event_from(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct api *api = call->api;
    struct json_object *classes = json_object_array_get_idx(call->args, 0);
    struct json_object *timeout_json;
    const char *token_text;
    struct np_error *error;

    if ((error = api_expect_args(call, 3))) {
        return error;
    }
    if (!json_object_is_type(classes, json_type_array)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, "classes", NULL);
    }
    for (size_t i = 0; i < json_object_array_length(classes); i++) {
        struct json_object *c = json_object_array_get_idx(classes, i);
        const char *name = json_object_get_string(c);
        const struct store_class *class;
        if (!json_object_is_type(c, json_type_string)) {
            return np_error_new(ERR_FIELD_TYPE_ERROR, "classes", NULL);
        }
        class = store_class_find(name, false);
        if (strcmp(name, "*") && (!class || class->secret)) {
            return np_error_new(ERR_INVALID_VALUE, "classes", name, NULL);
        }
    }
    if ((error = api_arg_string(call, 1, "token", &token_text))) {
        return error;
    }
    timeout_json = json_object_array_get_idx(call->args, 2);
    if (!json_object_is_type(timeout_json, json_type_double)
        && !json_object_is_type(timeout_json, json_type_int)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, "timeout", NULL);
    }
    double timeout = json_object_get_double(timeout_json);
    if (!(timeout >= 0) || timeout > MAX_TIMEOUT) {
        return np_error_newf(ERR_INVALID_VALUE, "timeout", "%g", timeout);
    }

    if (!*token_text) {
        *result = json_object_new_object();
        json_object_object_add(*result, "events", json_object_new_array());
        char text[24];
        snprintf(text, sizeof text, "%" PRIu64, store_event_last(api->store));
        json_object_object_add(*result, "token", json_object_new_string(text));
        return NULL;
    }
    char *end;
    errno = 0;
    unsigned long long token = strtoull(token_text, &end, 10);
    if (errno || *end || end == token_text) {
        return np_error_new(ERR_INVALID_VALUE, "token", token_text, NULL);
    }
    uint64_t first = store_event_first(api->store);
    if (token > store_event_last(api->store)
        || (first > 0 && token + 1 < first)) {
        return np_error_new(ERR_EVENTS_LOST, token_text, NULL);
    }

    call->classes = json_object_get(classes);
    call->token = token;
    struct json_object *events = collect(call, &call->token);
    if (json_object_array_length(events) > 0 || timeout == 0) {
        *result = json_object_new_object();
        json_object_object_add(*result, "events", events);
        char text[24];
        snprintf(text, sizeof text, "%" PRIu64, call->token);
        json_object_object_add(*result, "token", json_object_new_string(text));
        return NULL;
    }
    json_object_put(events);

    /* Nothing yet: wait. */
    struct timeval tv = {
        .tv_sec = (time_t) timeout,
        .tv_usec = (suseconds_t) ((timeout - floor(timeout)) * 1e6),
    };
    call->timer = evtimer_new(api->base, timed_out, call);
    evtimer_add(call->timer, &tv);
    call->next = api->waiters;
    if (api->waiters) {
        api->waiters->prev = call;
    }
    api->waiters = call;
    *deferred = true;
    return NULL;
}

/* Returns the changes after '*token' of the classes 'call' wants, public
 * fields only, and advances '*token' past every change looked at. */
static struct json_object *
collect(struct api_call *call, uint64_t *token)
{
    struct store *store = call->api->store;
    struct json_object *changes =
        store_events_since(store, *token, MAX_EVENTS);
    struct json_object *events = json_object_new_array();
    size_t n = json_object_array_length(changes);

    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(changes, i);
        const char *class_name =
            json_object_get_string(json_object_object_get(c, "class"));
        const struct store_class *class = store_class_find(class_name, false);
        bool wanted = false;

        *token =
            (uint64_t) json_object_get_int64(json_object_object_get(c, "id"));
        if (!class || class->secret) {
            continue;
        }
        for (size_t j = 0; j < json_object_array_length(call->classes); j++) {
            const char *w = json_object_get_string(
                json_object_array_get_idx(call->classes, j));
            if (!strcmp(w, "*") || !strcmp(w, class_name)) {
                wanted = true;
            }
        }
        if (!wanted) {
            continue;
        }
        struct json_object *snapshot;
        if (json_object_object_get_ex(c, "snapshot", &snapshot)) {
            struct json_object *pub = api_public_record(class, snapshot);
            json_object_object_add(
                pub, "uuid",
                json_object_get(json_object_object_get(c, "ref")));
            json_object_object_add(c, "snapshot", pub);
        }
        json_object_array_add(events, json_object_get(c));
    }
    json_object_put(changes);
    return events;
}

static void
answer(struct api_call *call, struct json_object *events, uint64_t token)
{
    struct json_object *result = json_object_new_object();
    char text[24];

    snprintf(text, sizeof text, "%" PRIu64, token);
    json_object_object_add(result, "events", events);
    json_object_object_add(result, "token", json_object_new_string(text));
    api_call_finish(call, result, NULL);
}

static void
timed_out(evutil_socket_t fd, short what, void *call_)
{
    struct api_call *call = call_;
    answer(call, json_object_new_array(), call->token);
}
