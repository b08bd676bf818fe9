/*
 * host.wait_applied: a barrier on the fabric.  Every change to the store
 * takes a sequence number; the reconciler of a host reports, in the host's
 * observed field applied_seq, the number up to which everything that
 * concerns the host is in its Open vSwitch (datapath/reconcile.c).  A
 * client waits for "applied_seq >= N" — by default N is the last number
 * given so far, "everything written before this call" — instead of
 * sleeping and hoping.  A waiting call is deferred (nothing blocks) and
 * answered when the host's observation reaches N, or with TIMEOUT.
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

#define MAX_TIMEOUT 60.0 /* Seconds one call may wait, as event.from. */

static api_method wait_applied;
static uint64_t current(struct api *);
static void answer(struct api_call *, uint64_t applied);
static void unlink_call(struct api_call *);
static void timed_out(evutil_socket_t, short, void *call_);
static void abandoned(void *owner, struct api_call *);

api_method *
api_applied_method(const char *name)
{
    return !strcmp(name, "host.wait_applied") ? wait_applied : NULL;
}

void
api_applied_wake(struct api *api, const struct store_change *changes, size_t n)
{
    if (!api->applied_waiters) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct store_change *c = &changes[i];
        struct json_object *value;
        if (!c->observed || strcmp(c->class->name, "host")
            || strcmp(c->uuid, api->host_uuid)
            || !json_object_object_get_ex(c->new, "applied_seq", &value)) {
            continue;
        }
        uint64_t applied = (uint64_t) json_object_get_int64(value);
        struct api_call *call = api->applied_waiters;
        while (call) {
            struct api_call *next = call->applied_next;
            if (applied >= call->token) {
                unlink_call(call);
                answer(call, applied);
            }
            call = next;
        }
    }
}

void
api_applied_flush(struct api *api)
{
    while (api->applied_waiters) {
        struct api_call *call = api->applied_waiters;
        struct np_error *error =
            np_error_new(ERR_TIMEOUT, "host.wait_applied", NULL);
        unlink_call(call);
        api_call_finish(call, NULL, error);
        np_error_destroy(error);
    }
}

/* host.wait_applied(host, seq, timeout): 'host' this host's UUID (or ""),
 * 'seq' a decimal sequence number or "" for the last one given so far,
 * 'timeout' seconds (0 to 60).  Answers {"applied": N, "seq": target}. */
static struct np_error *
wait_applied(struct api_call *call, struct json_object **result,
             bool *deferred)
{
    struct api *api = call->api;
    const char *host, *seq_text;
    struct json_object *timeout_json;
    struct np_error *error;

    if ((error = api_expect_args(call, 3))
        || (error = api_arg_string(call, 0, "host", &host))
        || (error = api_arg_string(call, 1, "seq", &seq_text))) {
        return error;
    }
    if (*host && strcmp(host, api->host_uuid)) {
        /* Another host's observations are that host's own. */
        if (!store_exists(api->store, "host", host)) {
            return np_error_new(ERR_HANDLE_INVALID, "host", host, NULL);
        }
        return np_error_new(ERR_OPERATION_NOT_ALLOWED,
                            "host.wait_applied waits for the host it is "
                            "called on",
                            NULL);
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

    uint64_t target;
    if (!*seq_text) {
        target = store_last_seq(api->store);
    } else {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(seq_text, &end, 10);
        if (errno || *end || *seq_text < '0' || *seq_text > '9') {
            return np_error_new(ERR_INVALID_VALUE, "seq", seq_text, NULL);
        }
        target = n;
    }

    uint64_t applied = current(api);
    if (applied >= target || timeout == 0) {
        if (applied < target) {
            char text[24];
            snprintf(text, sizeof text, "%" PRIu64, target);
            return np_error_new(ERR_TIMEOUT, "host.wait_applied", text, NULL);
        }
        *result = json_object_new_object();
        json_object_object_add(*result, "applied",
                               json_object_new_int64((int64_t) applied));
        json_object_object_add(*result, "seq",
                               json_object_new_int64((int64_t) target));
        return NULL;
    }

    /* Not yet: wait for the observation. */
    struct timeval tv = {
        .tv_sec = (time_t) timeout,
        .tv_usec = (suseconds_t) ((timeout - floor(timeout)) * 1e6),
    };
    call->token = target;
    call->timer = evtimer_new(api->base, timed_out, call);
    evtimer_add(call->timer, &tv);
    call->abandoned = abandoned;
    call->owner = api;
    call->applied_next = api->applied_waiters;
    api->applied_waiters = call;
    *deferred = true;
    return NULL;
}

/* Returns this host's applied_seq now. */
static uint64_t
current(struct api *api)
{
    struct json_object *host = store_get(api->store, "host", api->host_uuid);
    uint64_t applied = (uint64_t) json_object_get_int64(
        json_object_object_get(host, "applied_seq"));

    json_object_put(host);
    return applied;
}

static void
answer(struct api_call *call, uint64_t applied)
{
    struct json_object *result = json_object_new_object();

    json_object_object_add(result, "applied",
                           json_object_new_int64((int64_t) applied));
    json_object_object_add(result, "seq",
                           json_object_new_int64((int64_t) call->token));
    api_call_finish(call, result, NULL);
}

/* Takes 'call' off its API's list of waiting calls. */
static void
unlink_call(struct api_call *call)
{
    struct api *api = call->api;

    for (struct api_call **p = &api->applied_waiters; *p;
         p = &(*p)->applied_next) {
        if (*p == call) {
            *p = call->applied_next;
            break;
        }
    }
    call->applied_next = NULL;
    call->abandoned = NULL;
}

static void
timed_out(evutil_socket_t fd, short what, void *call_)
{
    struct api_call *call = call_;
    char text[24];

    snprintf(text, sizeof text, "%" PRIu64, call->token);
    struct np_error *error =
        np_error_new(ERR_TIMEOUT, "host.wait_applied", text, NULL);
    unlink_call(call);
    api_call_finish(call, NULL, error);
    np_error_destroy(error);
}

static void
abandoned(void *owner, struct api_call *call)
{
    unlink_call(call);
}
