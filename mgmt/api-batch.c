/*
 * JSON-RPC 2.0 batches: a request body that is an array of requests.
 *
 * Each request of the batch is a call of its own, exactly as if it had
 * come alone (its own session check, its own store transaction, its own
 * error), handled in array order; the answer is the array of their
 * responses, in the same order, sent once the last one is known (a call
 * that answers later, an Async one or a write waiting for the pool's
 * majority, holds the batch's answer back).  What a batch saves is what
 * surrounds the calls: one connection and one HTTP exchange for all of
 * them, with --store-sync full one flush of the store to the disk for the
 * commits of the calls answered at once (each still commits on its own;
 * none is answered before the flush; by default the store flushes from a
 * timer anyway), and one pass of the fabric's reconciler for the changes
 * they make together instead of one per call.
 *
 * An empty array is refused with JSONRPC_INVALID_REQUEST, as JSON-RPC 2.0
 * says, and so is a batch of more than API_MAX_BATCH requests.
 */
#include "mgmt/api-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/jsonrpc.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "api-batch"

/* A batch waiting for some of its calls. */
struct batch {
    struct api_call *handle; /* What the transport holds, once returned. */
    api_reply_cb *reply;     /* The transport's callback, or NULL once the
                              * client went away. */
    void *aux;
    size_t n;
    size_t pending;                /* Calls not answered yet. */
    bool started;                  /* Every call has been handed over. */
    struct json_object *responses; /* Array, one slot per request. */
    struct slot *slots;
};

/* One call of a batch. */
struct slot {
    struct batch *batch;
    size_t index;
    struct api_call *call; /* While it waits, else NULL. */
};

static void slot_answered(void *slot_, struct json_object *response);
static void batch_abandoned(void *batch_, struct api_call *handle);
static void batch_finish(struct batch *);

struct api_call *
api_batch_handle(struct api *api, struct json_object *requests, bool local,
                 const char *peer, api_reply_cb *reply, void *aux)
{
    size_t n = json_object_array_length(requests);
    struct np_error *error = NULL;

    if (!n) {
        error =
            np_error_new(ERR_JSONRPC_INVALID_REQUEST, "an empty batch", NULL);
    } else if (n > API_MAX_BATCH) {
        char limit[24];
        snprintf(limit, sizeof limit, "%d", API_MAX_BATCH);
        error = np_error_new(ERR_REQUEST_TOO_LARGE, limit, NULL);
    }
    if (error) {
        reply(aux, jsonrpc_make_error(NULL, error));
        np_error_destroy(error);
        return NULL;
    }

    struct batch *b = xzalloc(sizeof *b);
    b->reply = reply;
    b->aux = aux;
    b->n = n;
    b->pending = n;
    b->responses = json_object_new_array_ext((int) n);
    b->slots = xzalloc(n * sizeof *b->slots);
    for (size_t i = 0; i < n; i++) {
        b->slots[i].batch = b;
        b->slots[i].index = i;
        json_object_array_add(b->responses, NULL);
    }
    /* The calls answered now are answered together once the last is in:
     * where each commit is flushed before its answer, they need one flush
     * to the disk between them. */
    store_defer_flush(api->store);
    for (size_t i = 0; i < n; i++) {
        struct json_object *request = json_object_array_get_idx(requests, i);
        if (!json_object_is_type(request, json_type_object)) {
            struct np_error *e =
                np_error_new(ERR_JSONRPC_INVALID_REQUEST,
                             "the request is not a JSON object", NULL);
            slot_answered(&b->slots[i], jsonrpc_make_error(NULL, e));
            np_error_destroy(e);
            continue;
        }
        const char *text =
            json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN);
        b->slots[i].call = api_handle_one(api, text, strlen(text), local, peer,
                                          slot_answered, &b->slots[i]);
    }
    if (store_flush(api->store)) {
        log_error("a batch of %zu calls is answered without knowing that "
                  "its changes reached the disk",
                  n);
    }
    b->started = true;
    if (!b->pending) {
        batch_finish(b);
        return NULL;
    }

    /* Some calls answer later: the transport holds a handle that stands
     * for the batch. */
    struct api_call *handle = xzalloc(sizeof *handle);
    handle->api = api;
    handle->abandoned = batch_abandoned;
    handle->owner = b;
    b->handle = handle;
    return handle;
}

/* Helpers. */

static void
slot_answered(void *slot_, struct json_object *response)
{
    struct slot *slot = slot_;
    struct batch *b = slot->batch;

    slot->call = NULL;
    json_object_array_put_idx(b->responses, slot->index, response);
    if (--b->pending == 0 && b->started) {
        batch_finish(b);
    }
}

/* Every call answered: the array goes to the client. */
static void
batch_finish(struct batch *b)
{
    if (b->reply) {
        b->reply(b->aux, json_object_get(b->responses));
    }
    if (b->handle) {
        /* The transport forgot the handle when it sent the answer. */
        b->handle->abandoned = NULL;
        b->handle->owner = NULL;
        api_call_abandon(b->handle);
    }
    json_object_put(b->responses);
    free(b->slots);
    free(b);
}

/* The client went away: the calls still waiting are abandoned, and their
 * answers, if any come, go nowhere. */
static void
batch_abandoned(void *batch_, struct api_call *handle)
{
    struct batch *b = batch_;

    (void) handle;
    b->reply = NULL;
    b->handle = NULL; /* api_call_abandon() frees it. */
    for (size_t i = 0; i < b->n; i++) {
        struct api_call *call = b->slots[i].call;
        if (call) {
            b->slots[i].call = NULL;
            b->pending--;
            api_call_abandon(call);
        }
    }
    json_object_put(b->responses);
    free(b->slots);
    free(b);
}
