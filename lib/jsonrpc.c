#include "lib/jsonrpc.h"

#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static int error_number(const char *code);

struct np_error *
jsonrpc_parse_request(const char *body, size_t size,
                      struct jsonrpc_request *request)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *root, *value;
    struct np_error *error = NULL;

    memset(request, 0, sizeof *request);
    root = json_tokener_parse_ex(tok, body, (int) size);
    if (!root || tok->char_offset != (int) size) {
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        json_tokener_free(tok);
        json_object_put(root);
        return np_error_new(
            ERR_JSON_PARSE_ERROR,
            jerr == json_tokener_success    ? "trailing data after the request"
            : jerr == json_tokener_continue ? "unexpected end of input"
                                            : json_tokener_error_desc(jerr),
            NULL);
    }
    json_tokener_free(tok);

    if (!json_object_is_type(root, json_type_object)) {
        error = np_error_new(ERR_JSONRPC_INVALID_REQUEST,
                             "the request is not a JSON object", NULL);
        goto out;
    }
    if (json_object_object_get_ex(root, "id", &value)
        && (json_object_is_type(value, json_type_int)
            || json_object_is_type(value, json_type_string))) {
        request->id = json_object_get(value);
    }
    if (!json_object_object_get_ex(root, "jsonrpc", &value)
        || !json_object_is_type(value, json_type_string)
        || strcmp(json_object_get_string(value), "2.0")) {
        error = np_error_new(ERR_JSONRPC_INVALID_REQUEST, "jsonrpc", NULL);
        goto out;
    }
    if (!json_object_object_get_ex(root, "method", &value)
        || !json_object_is_type(value, json_type_string)) {
        error = np_error_new(ERR_JSONRPC_INVALID_REQUEST, "method", NULL);
        goto out;
    }
    request->method = xstrdup(json_object_get_string(value));
    if (!json_object_object_get_ex(root, "params", &value)) {
        request->params = json_object_new_array();
    } else if (json_object_is_type(value, json_type_array)) {
        request->params = json_object_get(value);
    } else {
        error = np_error_new(ERR_FIELD_TYPE_ERROR, "params", NULL);
    }

out:
    json_object_put(root);
    return error;
}

void
jsonrpc_request_clear(struct jsonrpc_request *request)
{
    if (!request) {
        return;
    }
    free(request->method);
    json_object_put(request->params);
    json_object_put(request->id);
    memset(request, 0, sizeof *request);
}

struct json_object *
jsonrpc_make_request(const char *method, struct json_object *params,
                     long long id)
{
    struct json_object *msg = json_object_new_object();

    json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(msg, "method", json_object_new_string(method));
    json_object_object_add(msg, "params",
                           params ? params : json_object_new_array());
    json_object_object_add(msg, "id", json_object_new_int64(id));
    return msg;
}

struct json_object *
jsonrpc_make_result(struct json_object *id, struct json_object *result)
{
    struct json_object *msg = json_object_new_object();

    json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(msg, "result", result);
    json_object_object_add(msg, "id", json_object_get(id));
    return msg;
}

struct json_object *
jsonrpc_make_error(struct json_object *id, const struct np_error *error)
{
    struct json_object *msg = json_object_new_object();
    struct json_object *e = json_object_new_object();

    json_object_object_add(e, "code",
                           json_object_new_int(error_number(error->code)));
    json_object_object_add(e, "message", json_object_new_string(error->code));
    json_object_object_add(e, "data", np_error_to_json(error));
    json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(msg, "error", e);
    json_object_object_add(msg, "id", json_object_get(id));
    return msg;
}

int
jsonrpc_parse_response(const char *body, size_t size,
                       struct json_object **result, struct np_error **error)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *root = json_tokener_parse_ex(tok, body, (int) size);
    struct json_object *value;
    int retval = EPROTO;

    json_tokener_free(tok);
    *result = NULL;
    *error = NULL;
    if (!json_object_is_type(root, json_type_object)) {
        goto out;
    }
    if (json_object_object_get_ex(root, "error", &value)
        && json_object_is_type(value, json_type_object)) {
        struct json_object *data, *message;
        if (json_object_object_get_ex(value, "data", &data)) {
            *error = np_error_from_json(data);
        }
        if (!*error) {
            json_object_object_get_ex(value, "message", &message);
            *error = np_error_new(message ? json_object_get_string(message)
                                          : ERR_INTERNAL_ERROR,
                                  NULL);
        }
        retval = 0;
    } else if (json_object_object_get_ex(root, "result", &value)) {
        *result = json_object_get(value);
        retval = 0;
    }

out:
    json_object_put(root);
    return retval;
}

/* Maps a typed error code onto the JSON-RPC 2.0 error numbers, so generic
 * JSON-RPC clients see the standard ones for protocol faults. */
static int
error_number(const char *code)
{
    if (!strcmp(code, ERR_JSON_PARSE_ERROR)) {
        return JSONRPC_PARSE_ERROR;
    } else if (!strcmp(code, ERR_JSONRPC_INVALID_REQUEST)
               || !strcmp(code, ERR_REQUEST_TOO_LARGE)) {
        return JSONRPC_INVALID_REQUEST;
    } else if (!strcmp(code, ERR_MESSAGE_METHOD_UNKNOWN)) {
        return JSONRPC_METHOD_NOT_FOUND;
    } else if (!strcmp(code, ERR_FIELD_TYPE_ERROR)
               || !strcmp(code, ERR_MESSAGE_PARAMETER_COUNT_MISMATCH)) {
        return JSONRPC_INVALID_PARAMS;
    }
    return JSONRPC_APP;
}
