/*
 * jsonrpc: JSON-RPC 2.0 messages as netpool's API carries them.
 *
 * netpool speaks JSON-RPC 2.0 over HTTP (POST /jsonrpc) on a unix socket and
 * on HTTPS.  Requests carry positional parameters, the session reference
 * first, as in xapi.  A failed call returns an error object whose
 * "message" is the typed error code and whose "data" is the whole typed
 * error as an array: {"code": 1, "message": "HANDLE_INVALID",
 * "data": ["HANDLE_INVALID", "network", "1f0c…"]}.
 * This module builds and parses messages; it does no I/O.
 */
#ifndef NETPOOL_LIB_JSONRPC_H
#define NETPOOL_LIB_JSONRPC_H 1

#include <stddef.h>

struct json_object;
struct np_error;

/* JSON-RPC 2.0 error numbers.  Typed netpool errors use JSONRPC_APP. */
#define JSONRPC_PARSE_ERROR (-32700)
#define JSONRPC_INVALID_REQUEST (-32600)
#define JSONRPC_METHOD_NOT_FOUND (-32601)
#define JSONRPC_INVALID_PARAMS (-32602)
#define JSONRPC_APP 1

/* A parsed request.  Owns its members. */
struct jsonrpc_request {
    char *method;               /* E.g. "network.create". */
    struct json_object *params; /* Array of positional parameters. */
    struct json_object *id;     /* Request id; NULL for a notification. */
};

/* Parses 'size' bytes at 'body' into 'request'.  Returns NULL on success,
 * otherwise a typed error (JSON_PARSE_ERROR for bad JSON,
 * JSONRPC_INVALID_REQUEST for a bad envelope, FIELD_TYPE_ERROR for params
 * that are not an array) that the caller frees; 'request->id' is then set
 * if the envelope had a usable one. */
struct np_error *jsonrpc_parse_request(const char *body, size_t size,
                                       struct jsonrpc_request *request);

/* Frees what 'request' owns.  Accepts NULL. */
void jsonrpc_request_clear(struct jsonrpc_request *request);

/* Returns a new request object.  Takes ownership of 'params'. */
struct json_object *jsonrpc_make_request(const char *method,
                                         struct json_object *params,
                                         long long id);

/* Returns a new response carrying 'result' (ownership taken) for 'id'
 * (borrowed; NULL becomes null). */
struct json_object *jsonrpc_make_result(struct json_object *id,
                                        struct json_object *result);

/* Returns a new error response for 'id' (borrowed) describing 'error'. */
struct json_object *jsonrpc_make_error(struct json_object *id,
                                       const struct np_error *error);

/* Parses a response body.  On success returns 0 and stores either the
 * result (a new reference, possibly NULL for a JSON null) in '*result' or a
 * typed error in '*error'; exactly one of them is set, apart from a null
 * result.  Returns EPROTO if 'body' is not a JSON-RPC 2.0 response. */
int jsonrpc_parse_response(const char *body, size_t size,
                           struct json_object **result,
                           struct np_error **error);

#endif
