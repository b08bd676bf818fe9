/*
 * The API's front door: parse a request, authenticate the caller, check
 * the role, find the method, run it (now, as a task, or deferred), reply.
 */
#include "mgmt/api-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "ha/ha.h"
#include "lib/error.h"
#include "lib/jsonrpc.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"
#include "storage/storage.h"

#define LOG_MODULE "api"

static void store_changed(void *api_, const struct store_change *, size_t n,
                          uint64_t seq);
static void unlink_waiter(struct api_call *);
static void durable(void *call_, int error);
static struct api_call *dispatch(struct api *, const char *body, size_t size,
                                 bool local, const char *peer,
                                 api_reply_cb *reply, void *aux);
static void call_free(struct api_call *, struct json_object *result,
                      const struct np_error *error);

/* How long a write's reply waits for a majority of the pool. */
#define DURABLE_TIMEOUT_MS 10000
static api_method *find_method(const char *name);

struct api *
api_create(struct store *store, struct event_base *base, const char *host_uuid)
{
    struct api *api = xzalloc(sizeof *api);

    api->store = store;
    api->base = base;
    snprintf(api->host_uuid, sizeof api->host_uuid, "%s", host_uuid);
    api->changes =
        store_subscribe(store, NULL, STORE_FEED_ALL, NULL, store_changed, api);
    api->files = storage_files_create(base);
    store_push_actor(store, "system:api");
    api_task_recover(api);
    store_pop_actor(store);
    return api;
}

void
api_set_pool(struct api *api, struct ha_pool *pool, int https_port,
             const char *state_dir)
{
    api->pool = pool;
    api->https_port = https_port;
    free(api->state_dir);
    api->state_dir = xstrdup(state_dir ? state_dir : ".");
}

void
api_destroy(struct api *api)
{
    if (!api) {
        return;
    }
    api_storage_jobs_stop(api);
    storage_files_destroy(api->files);
    api_task_flush(api);
    api_event_flush(api);
    api_applied_flush(api);
    store_unsubscribe(api->changes);
    free(api->state_dir);
    free(api);
}

struct api_call *
api_handle(struct api *api, const char *body, size_t size, bool local,
           api_reply_cb *reply, void *aux)
{
    return dispatch(api, body, size, local, "", reply, aux);
}

struct api_call *
api_handle_peer(struct api *api, const char *body, size_t size,
                const char *peer_cert, api_reply_cb *reply, void *aux)
{
    char peer[UUID_LENGTH + 1] = "";
    struct json_object *pools = store_get_all(api->store, "pool");

    json_object_object_foreach (pools, uuid, pool) {
        const char *ca = json_object_get_string(
            json_object_object_get(pool, "ca_certificate"));
        (void) uuid;
        if (ca && *ca && peer_cert
            && cert_verify_peer(peer_cert, ca, peer, sizeof peer)
            && !store_exists(api->store, "host", peer)) {
            peer[0] = '\0'; /* Not (or no longer) a member. */
        }
    }
    json_object_put(pools);
    return dispatch(api, body, size, false, peer, reply, aux);
}

/* Handles a request or a batch of them (api-batch.c); 'peer' is the pool
 * member calling, or "". */
static struct api_call *
dispatch(struct api *api, const char *body, size_t size, bool local,
         const char *peer, api_reply_cb *reply, void *aux)
{
    size_t i = 0;
    while (i < size && strchr(" \t\r\n", body[i])) {
        i++;
    }
    if (i < size && body[i] == '[' && size <= API_MAX_REQUEST_SIZE) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *requests =
            json_tokener_parse_ex(tok, body, (int) size);
        bool whole = tok->char_offset == (int) size;
        json_tokener_free(tok);
        if (requests && whole
            && json_object_is_type(requests, json_type_array)) {
            struct api_call *call =
                api_batch_handle(api, requests, local, peer, reply, aux);
            json_object_put(requests);
            return call;
        }
        json_object_put(requests); /* handle() says what is wrong. */
    }
    return api_handle_one(api, body, size, local, peer, reply, aux);
}

struct api_call *
api_handle_one(struct api *api, const char *body, size_t size, bool local,
               const char *peer, api_reply_cb *reply, void *aux)
{
    struct api_call *call = xzalloc(sizeof *call);
    struct jsonrpc_request request;
    struct np_error *error;
    bool async = false;

    call->api = api;
    call->reply = reply;
    call->aux = aux;
    snprintf(call->peer, sizeof call->peer, "%s", peer);

    if (size > API_MAX_REQUEST_SIZE) {
        char limit[24];
        snprintf(limit, sizeof limit, "%d", API_MAX_REQUEST_SIZE);
        error = np_error_new(ERR_REQUEST_TOO_LARGE, limit, NULL);
        api_call_finish(call, NULL, error);
        np_error_destroy(error);
        return NULL;
    }

    error = jsonrpc_parse_request(body, size, &request);
    call->id = request.id ? json_object_get(request.id) : NULL;
    if (error) {
        goto fail;
    }

    const char *method = request.method;
    if (!strncmp(method, "Async.", 6)) {
        async = true;
        method += 6;
    }
    call->method = xstrdup(method);

    /* Every method takes the session first, except the login. */
    size_t n = json_object_array_length(request.params);
    size_t first_arg = 1;
    if (!strcmp(method, "session.login_with_password")) {
        first_arg = 0;
    } else if (n < 1
               || !json_object_is_type(
                   json_object_array_get_idx(request.params, 0),
                   json_type_string)) {
        error = np_error_new(ERR_SESSION_INVALID, "", NULL);
        goto fail;
    } else {
        const char *session = json_object_get_string(
            json_object_array_get_idx(request.params, 0));
        if ((local || *call->peer) && !*session) {
            call->session[0] = '\0'; /* The local root, or a member. */
        } else if (!*session || strlen(session) > UUID_LENGTH) {
            error = np_error_new(ERR_SESSION_INVALID, session, NULL);
            goto fail;
        } else {
            snprintf(call->session, sizeof call->session, "%s", session);
        }
        error = api_session_check(call);
        if (error) {
            goto fail;
        }
    }
    call->args = json_object_new_array();
    for (size_t i = first_arg; i < n; i++) {
        json_object_array_add(
            call->args,
            json_object_get(json_object_array_get_idx(request.params, i)));
    }

    api_method *fn = find_method(method);
    if (!fn) {
        error = np_error_new(ERR_MESSAGE_METHOD_UNKNOWN, request.method, NULL);
        goto fail;
    }
    if (first_arg && !rbac_allows(call->role, method)) {
        error = np_error_new(ERR_PERMISSION_DENIED, method,
                             rbac_required_role(method), NULL);
        goto fail;
    }
    jsonrpc_request_clear(&request);

    if (async) {
        api_task_start(call, fn);
        return NULL;
    }

    struct json_object *result = NULL;
    bool deferred = false;
    error = api_call_method(call, fn, &result, &deferred);
    if (deferred && !error) {
        return call;
    }
    api_call_finish(call, result, error);
    np_error_destroy(error);
    return NULL;

fail:
    jsonrpc_request_clear(&request);
    api_call_finish(call, NULL, error);
    np_error_destroy(error);
    return NULL;
}

void
api_call_abandon(struct api_call *call)
{
    if (call) {
        if (call->abandoned) {
            call->abandoned(call->owner, call);
        }
        call->reply = NULL;
        if (!call->durable_wait) {
            api_call_finish(call, NULL, NULL);
        }
    }
}

struct json_object *
api_error_response(const struct np_error *error)
{
    return jsonrpc_make_error(NULL, error);
}

/* Internal interface. */

void
api_call_finish(struct api_call *call, struct json_object *result,
                const struct np_error *error)
{
    struct api *api = call->api;

    /* In a pool a write is answered once a majority holds it.  (Only
     * whether there is a pool: the whole status reads the store.) */
    if (!error && call->reply && api->pool
        && store_last_local_seq(api->store) > call->wrote) {
        if (ha_pool_in_pool(api->pool)) {
            log_debug("%s: waiting for a majority to hold %" PRIu64,
                      call->method, store_last_local_seq(api->store));
            /* Answered: an event.from waiting is no longer one, or the
             * next change or its timeout would answer it again. */
            unlink_waiter(call);
            call->durable_result = result;
            call->durable_wait = true;
            ha_pool_when_committed(api->pool, store_last_local_seq(api->store),
                                   DURABLE_TIMEOUT_MS, durable, call);
            return;
        }
    }
    if (error && !strcmp(error->code, ERR_POOL_NOT_QUORATE) && !error->n_params
        && api->pool) {
        struct np_error *full = api_pool_error(api, EROFS);
        call_free(call, result, full);
        np_error_destroy(full);
        return;
    }
    call_free(call, result, error);
}

/* A write's majority is known: answer it (or say it is not). */
static void
durable(void *call_, int error)
{
    struct api_call *call = call_;
    struct json_object *result = call->durable_result;

    call->durable_wait = false;
    call->durable_result = NULL;
    if (error) {
        struct np_error *e = np_error_new(ERR_POOL_WRITE_TIMEOUT, NULL);
        json_object_put(result);
        call_free(call, NULL, e);
        np_error_destroy(e);
    } else {
        call_free(call, result, NULL);
    }
}

/* Takes 'call' out of the event.from waiters, with its timeout. */
static void
unlink_waiter(struct api_call *call)
{
    if (call->prev || call->next || call->api->waiters == call) {
        if (call->prev) {
            call->prev->next = call->next;
        } else {
            call->api->waiters = call->next;
        }
        if (call->next) {
            call->next->prev = call->prev;
        }
        call->prev = call->next = NULL;
    }
    if (call->timer) {
        event_free(call->timer);
        call->timer = NULL;
    }
}

/* Sends the response of 'call', if anyone waits for it, and frees it. */
static void
call_free(struct api_call *call, struct json_object *result,
          const struct np_error *error)
{
    if (error && call->method) {
        char *text = np_error_to_string(error);
        log_debug("%s: %s", call->method, text);
        free(text);
    }
    unlink_waiter(call);
    if (call->reply) {
        call->reply(call->aux, error ? jsonrpc_make_error(call->id, error)
                                     : jsonrpc_make_result(call->id, result));
        if (error) {
            json_object_put(result);
        }
    } else {
        json_object_put(result);
    }
    json_object_put(call->id);
    json_object_put(call->args);
    json_object_put(call->classes);
    free(call->method);
    free(call);
}

struct np_error *
api_expect_args(const struct api_call *call, size_t n)
{
    size_t got = json_object_array_length(call->args);
    if (got != n) {
        struct np_error *error = np_error_new(
            ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, call->method, NULL);
        char text[24];
        snprintf(text, sizeof text, "%zu", n);
        error->params[error->n_params++] = xstrdup(text);
        snprintf(text, sizeof text, "%zu", got);
        error->params[error->n_params++] = xstrdup(text);
        return error;
    }
    return NULL;
}

struct np_error *
api_arg_string(const struct api_call *call, size_t i, const char *name,
               const char **value)
{
    struct json_object *arg = json_object_array_get_idx(call->args, i);
    if (!arg) {
        return np_error_new(ERR_MISSING_PARAMETER, name, NULL);
    }
    if (!json_object_is_type(arg, json_type_string)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, name, NULL);
    }
    *value = json_object_get_string(arg);
    return NULL;
}

struct np_error *
api_arg_ref(const struct api_call *call, size_t i, const char *class,
            const char *name, const char **uuid, struct json_object **record)
{
    struct np_error *error = api_arg_string(call, i, name, uuid);
    if (error) {
        return error;
    }
    *record = store_get(call->api->store, class, *uuid);
    return *record ? NULL
                   : np_error_new(ERR_HANDLE_INVALID, class, *uuid, NULL);
}

struct np_error *
api_arg_object(const struct api_call *call, size_t i, const char *name,
               struct json_object **value)
{
    struct json_object *arg = json_object_array_get_idx(call->args, i);
    if (!arg) {
        return np_error_new(ERR_MISSING_PARAMETER, name, NULL);
    }
    if (!json_object_is_type(arg, json_type_object)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, name, NULL);
    }
    *value = arg;
    return NULL;
}

struct json_object *
api_public_record(const struct store_class *class, struct json_object *record)
{
    struct json_object *copy = json_object_new_object();

    json_object_object_foreach (record, key, value) {
        const struct store_field *f = store_class_field(class, key);
        if (!f || !(f->flags & FIELD_SECRET)) {
            json_object_object_add(copy, key, json_object_get(value));
        }
    }
    return copy;
}

struct np_error *
api_store_error(int error, const char *class, const char *uuid)
{
    if (error == ENOENT) {
        return np_error_new(ERR_HANDLE_INVALID, class, uuid, NULL);
    } else if (error == EROFS) {
        return np_error_new(ERR_POOL_NOT_QUORATE, NULL);
    } else if (error == EBUSY) {
        return np_error_new(ERR_POOL_WRITE_CONFLICT, NULL);
    } else if (error == ETIMEDOUT) {
        return np_error_new(ERR_POOL_WRITE_TIMEOUT, NULL);
    }
    return np_error_newf(ERR_INTERNAL_ERROR, "store", "%s", strerror(error));
}

struct np_error *
api_call_method(struct api_call *call, api_method *fn,
                struct json_object **result, bool *deferred)
{
    /* Every write the method makes is recorded as the caller's. */
    call->wrote = store_last_local_seq(call->api->store);
    char peer_actor[UUID_LENGTH + 8];
    snprintf(peer_actor, sizeof peer_actor, "host:%s", call->peer);
    store_push_actor(call->api->store, *call->peer   ? peer_actor
                                       : *call->user ? call->user
                                                     : "root");
    struct np_error *error = fn(call, result, deferred);
    store_pop_actor(call->api->store);
    return error;
}

/* Helpers. */

static void
store_changed(void *api_, const struct store_change *changes, size_t n,
              uint64_t seq)
{
    struct api *api = api_;

    for (size_t i = 0; i < n; i++) {
        if (!strcmp(changes[i].class->name, "task")) {
            api_task_changed(api, changes[i].uuid);
        }
    }
    api_event_wake(api);
    api_applied_wake(api, changes, n);
}

static api_method *
find_method(const char *name)
{
    api_method *fn = api_session_method(name);
    if (!fn) {
        fn = api_event_method(name);
    }
    if (!fn) {
        fn = api_applied_method(name);
    }
    if (!fn) {
        fn = api_task_method(name);
    }
    if (!fn) {
        fn = api_pif_method(name);
    }
    if (!fn) {
        fn = api_vif_method(name);
    }
    if (!fn) {
        fn = api_bond_method(name);
    }
    if (!fn) {
        fn = api_vlan_method(name);
    }
    if (!fn) {
        fn = api_pif_ip_method(name);
    }
    if (!fn) {
        fn = api_vm_method(name);
    }
    if (!fn) {
        fn = api_vm_memory_method(name);
    }
    if (!fn) {
        fn = api_migrate_method(name);
    }
    if (!fn) {
        fn = api_management_method(name);
    }
    if (!fn) {
        fn = api_storage_method(name);
    }
    if (!fn) {
        fn = api_pool_method(name);
    }
    if (!fn) {
        fn = api_sr_method(name);
    }
    if (!fn) {
        fn = api_ha_method(name);
    }
    if (!fn) {
        fn = api_generic_method(name);
    }
    return fn;
}
