/*
 * Unit tests of JSON-RPC messages (lib/jsonrpc.h) and typed errors
 * (lib/error.h): request parsing and its errors, the shapes of results
 * and errors with their numeric codes, response parsing, and errors to and
 * from JSON and text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/error.h"
#include "lib/jsonrpc.h"
#include "tests/unit/fixture.h"

/* Parses 'text' (single quotes allowed) as a request into 'request'. */
static struct np_error *
parse(const char *text, struct jsonrpc_request *request)
{
    char *body = xstrdup(text);

    for (char *p = body; *p; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }
    struct np_error *error =
        jsonrpc_parse_request(body, strlen(body), request);
    free(body);
    return error;
}

/* Asserts that 'error' has 'code' and, if 'param' is not NULL, that as its
 * only parameter; then frees it. */
static void
expect_error(struct np_error *error, const char *code, const char *param)
{
    assert_non_null(error);
    assert_string_equal(error->code, code);
    if (param) {
        assert_int_equal(error->n_params, 1);
        assert_string_equal(error->params[0], param);
    }
    np_error_destroy(error);
}

static struct json_object *
member(struct json_object *object, const char *name)
{
    struct json_object *value;

    assert_true(json_object_object_get_ex(object, name, &value));
    return value;
}

/* A valid request yields its method, its params array and its id. */
static void
test_parse_valid(void **state)
{
    (void) state;
    struct jsonrpc_request r;

    assert_null(parse("{'jsonrpc': '2.0', 'id': 7, 'method': 'network."
                      "create', 'params': ['', {'name_label': 'x'}]}",
                      &r));
    assert_string_equal(r.method, "network.create");
    assert_true(json_object_is_type(r.params, json_type_array));
    assert_int_equal(json_object_array_length(r.params), 2);
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(r.params, 0)), "");
    assert_true(json_object_is_type(r.id, json_type_int));
    assert_int_equal(json_object_get_int(r.id), 7);
    jsonrpc_request_clear(&r);
    assert_null(r.method);
    assert_null(r.params);
    jsonrpc_request_clear(&r);
    jsonrpc_request_clear(NULL);

    /* A string id; no params means an empty array; surrounding
     * whitespace is JSON too. */
    assert_null(
        parse(" {'jsonrpc': '2.0', 'id': 'abc', 'method': 'm'}\r\n", &r));
    assert_string_equal(json_object_get_string(r.id), "abc");
    assert_int_equal(json_object_array_length(r.params), 0);
    jsonrpc_request_clear(&r);

    /* A notification has no id; an id of another type is ignored. */
    assert_null(parse("{'jsonrpc': '2.0', 'method': 'm', 'params': []}", &r));
    assert_null(r.id);
    jsonrpc_request_clear(&r);
    assert_null(parse("{'jsonrpc': '2.0', 'method': 'm', 'id': [1]}", &r));
    assert_null(r.id);
    jsonrpc_request_clear(&r);
}

/* Text that is not one JSON value is JSON_PARSE_ERROR, without an id. */
static void
test_parse_bad_json(void **state)
{
    (void) state;
    static const char *const bodies[] = {
        "", "{", "{'jsonrpc': '2.0',", "not json", "{'a' 1}", "]",
    };
    struct jsonrpc_request r;

    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        struct np_error *error = parse(bodies[i], &r);
        assert_non_null(error);
        assert_string_equal(error->code, ERR_JSON_PARSE_ERROR);
        assert_int_equal(error->n_params, 1);
        assert_true(strlen(error->params[0]) > 0);
        assert_null(r.id);
        assert_null(r.method);
        np_error_destroy(error);
    }
    expect_error(parse("{", &r), ERR_JSON_PARSE_ERROR,
                 "unexpected end of input");

    /* A size shorter than the text cuts the request. */
    const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"m\"}";
    expect_error(jsonrpc_parse_request(body, strlen(body) - 1, &r),
                 ERR_JSON_PARSE_ERROR, "unexpected end of input");
}

/* Anything after the request is refused, so that two requests in one
 * body cannot be mistaken for one. */
static void
test_parse_trailing_data(void **state)
{
    (void) state;
    struct jsonrpc_request r;

    expect_error(parse("{'jsonrpc': '2.0', 'method': 'm'} x", &r),
                 ERR_JSON_PARSE_ERROR, "trailing data after the request");
    expect_error(parse("{'jsonrpc': '2.0', 'method': 'm'}"
                       "{'jsonrpc': '2.0', 'method': 'n'}",
                       &r),
                 ERR_JSON_PARSE_ERROR, "trailing data after the request");
    assert_null(r.method);
}

/* A JSON value that is not a JSON-RPC 2.0 request object is
 * JSONRPC_INVALID_REQUEST naming what is wrong; params that are not an
 * array are FIELD_TYPE_ERROR(params).  The id is kept when usable. */
static void
test_parse_bad_envelope(void **state)
{
    (void) state;
    struct jsonrpc_request r;

    expect_error(parse("[1, 2]", &r), ERR_JSONRPC_INVALID_REQUEST,
                 "the request is not a JSON object");
    expect_error(parse("'network.get_all'", &r), ERR_JSONRPC_INVALID_REQUEST,
                 NULL);

    expect_error(parse("{'id': 3, 'method': 'm'}", &r),
                 ERR_JSONRPC_INVALID_REQUEST, "jsonrpc");
    assert_int_equal(json_object_get_int(r.id), 3);
    jsonrpc_request_clear(&r);
    expect_error(parse("{'jsonrpc': '1.0', 'id': 4, 'method': 'm'}", &r),
                 ERR_JSONRPC_INVALID_REQUEST, "jsonrpc");
    assert_int_equal(json_object_get_int(r.id), 4);
    jsonrpc_request_clear(&r);
    expect_error(parse("{'jsonrpc': 2.0, 'method': 'm'}", &r),
                 ERR_JSONRPC_INVALID_REQUEST, "jsonrpc");
    jsonrpc_request_clear(&r);

    expect_error(parse("{'jsonrpc': '2.0', 'id': 5}", &r),
                 ERR_JSONRPC_INVALID_REQUEST, "method");
    assert_int_equal(json_object_get_int(r.id), 5);
    jsonrpc_request_clear(&r);
    expect_error(parse("{'jsonrpc': '2.0', 'method': 5}", &r),
                 ERR_JSONRPC_INVALID_REQUEST, "method");
    jsonrpc_request_clear(&r);

    expect_error(parse("{'jsonrpc': '2.0', 'id': 'p', 'method': 'm',"
                       " 'params': {'a': 1}}",
                       &r),
                 ERR_FIELD_TYPE_ERROR, "params");
    assert_string_equal(json_object_get_string(r.id), "p");
    jsonrpc_request_clear(&r);
    expect_error(parse("{'jsonrpc': '2.0', 'method': 'm', 'params': 'x'}", &r),
                 ERR_FIELD_TYPE_ERROR, "params");
    jsonrpc_request_clear(&r);
}

/* A request built by jsonrpc_make_request() parses back. */
static void
test_make_request(void **state)
{
    (void) state;
    struct json_object *params = fixture_json("['', 'x']");
    struct json_object *msg =
        jsonrpc_make_request("network.get_record", params, 42);
    const char *text = json_object_to_json_string(msg);
    struct jsonrpc_request r;

    assert_null(jsonrpc_parse_request(text, strlen(text), &r));
    assert_string_equal(r.method, "network.get_record");
    assert_int_equal(json_object_get_int64(r.id), 42);
    assert_int_equal(json_object_array_length(r.params), 2);
    jsonrpc_request_clear(&r);
    json_object_put(msg);

    msg = jsonrpc_make_request("m", NULL, 1);
    assert_true(json_object_is_type(member(msg, "params"), json_type_array));
    json_object_put(msg);
}

/* A result response has jsonrpc, result and id (null when none) and no
 * error. */
static void
test_make_result(void **state)
{
    (void) state;
    struct json_object *id = json_object_new_int(9);
    struct json_object *msg =
        jsonrpc_make_result(id, json_object_new_string("r"));

    assert_string_equal(json_object_get_string(member(msg, "jsonrpc")), "2.0");
    assert_string_equal(json_object_get_string(member(msg, "result")), "r");
    assert_int_equal(json_object_get_int(member(msg, "id")), 9);
    assert_false(json_object_object_get_ex(msg, "error", NULL));
    json_object_put(msg);
    json_object_put(id);

    /* A null result and a null id are both present, as null. */
    msg = jsonrpc_make_result(NULL, NULL);
    assert_true(json_object_object_get_ex(msg, "result", NULL));
    assert_null(member(msg, "result"));
    assert_true(json_object_object_get_ex(msg, "id", NULL));
    assert_null(member(msg, "id"));
    json_object_put(msg);
}

/* An error response carries the number for the code, the code as message
 * and the whole error as data. */
static void
test_make_error(void **state)
{
    (void) state;
    static const struct {
        const char *code;
        int number;
    } cases[] = {
        {ERR_JSON_PARSE_ERROR, -32700},
        {ERR_JSONRPC_INVALID_REQUEST, -32600},
        {ERR_REQUEST_TOO_LARGE, -32600},
        {ERR_MESSAGE_METHOD_UNKNOWN, -32601},
        {ERR_FIELD_TYPE_ERROR, -32602},
        {ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, -32602},
        {ERR_HANDLE_INVALID, 1},
        {ERR_SESSION_INVALID, 1},
        {ERR_PERMISSION_DENIED, 1},
        {ERR_INVALID_VALUE, 1},
        {"SOMETHING_NEW", 1},
    };
    struct json_object *id = json_object_new_string("req-1");

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct np_error *error = np_error_new(cases[i].code, "a", "b", NULL);
        struct json_object *msg = jsonrpc_make_error(id, error);
        struct json_object *e = member(msg, "error");

        assert_string_equal(json_object_get_string(member(msg, "jsonrpc")),
                            "2.0");
        assert_string_equal(json_object_get_string(member(msg, "id")),
                            "req-1");
        assert_false(json_object_object_get_ex(msg, "result", NULL));
        assert_int_equal(json_object_get_int(member(e, "code")),
                         cases[i].number);
        assert_string_equal(json_object_get_string(member(e, "message")),
                            cases[i].code);
        struct json_object *data = member(e, "data");
        assert_int_equal(json_object_array_length(data), 3);
        assert_string_equal(
            json_object_get_string(json_object_array_get_idx(data, 0)),
            cases[i].code);
        assert_string_equal(
            json_object_get_string(json_object_array_get_idx(data, 2)), "b");
        json_object_put(msg);
        np_error_destroy(error);
    }
    json_object_put(id);
}

/* Responses parse into a result or a typed error; anything else is
 * EPROTO. */
static void
test_parse_response(void **state)
{
    (void) state;
    struct json_object *result;
    struct np_error *error;
    const char *body;

    body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":[1,2]}}";
    assert_int_equal(
        jsonrpc_parse_response(body, strlen(body), &result, &error), 0);
    assert_null(error);
    assert_int_equal(json_object_array_length(member(result, "a")), 2);
    json_object_put(result);

    body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}";
    assert_int_equal(
        jsonrpc_parse_response(body, strlen(body), &result, &error), 0);
    assert_null(result);
    assert_null(error);

    body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,"
           "\"message\":\"HANDLE_INVALID\","
           "\"data\":[\"HANDLE_INVALID\",\"network\",\"x\"]}}";
    assert_int_equal(
        jsonrpc_parse_response(body, strlen(body), &result, &error), 0);
    assert_null(result);
    assert_non_null(error);
    assert_string_equal(error->code, ERR_HANDLE_INVALID);
    assert_int_equal(error->n_params, 2);
    assert_string_equal(error->params[0], "network");
    assert_string_equal(error->params[1], "x");
    np_error_destroy(error);

    /* A generic JSON-RPC error without our data: the message is the
     * code. */
    body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,"
           "\"message\":\"Method not found\"}}";
    assert_int_equal(
        jsonrpc_parse_response(body, strlen(body), &result, &error), 0);
    assert_string_equal(error->code, "Method not found");
    assert_int_equal(error->n_params, 0);
    np_error_destroy(error);

    static const char *const bad[] = {
        "", "garbage", "[1]", "{\"jsonrpc\":\"2.0\",\"id\":1}", "\"x\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        result = (struct json_object *) 1;
        error = (struct np_error *) 1;
        assert_int_equal(
            jsonrpc_parse_response(bad[i], strlen(bad[i]), &result, &error),
            EPROTO);
        assert_null(result);
        assert_null(error);
    }

    /* What jsonrpc_make_error() makes parses back to the same error. */
    struct np_error *sent = np_error_new(
        ERR_PERMISSION_DENIED, "network.create", "pool-operator", NULL);
    struct json_object *msg = jsonrpc_make_error(NULL, sent);
    body = json_object_to_json_string(msg);
    assert_int_equal(
        jsonrpc_parse_response(body, strlen(body), &result, &error), 0);
    char *a = np_error_to_string(sent), *b = np_error_to_string(error);
    assert_string_equal(a, b);
    free(a);
    free(b);
    np_error_destroy(error);
    np_error_destroy(sent);
    json_object_put(msg);
}

/* Typed errors: construction, JSON in both directions and text. */
static void
test_np_error(void **state)
{
    (void) state;
    struct np_error *error =
        np_error_new(ERR_HANDLE_INVALID, "network", "abc", NULL);

    assert_string_equal(error->code, ERR_HANDLE_INVALID);
    assert_int_equal(error->n_params, 2);
    char *text = np_error_to_string(error);
    assert_string_equal(text, "HANDLE_INVALID(network, abc)");
    free(text);

    struct json_object *json = np_error_to_json(error);
    assert_string_equal(
        json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN),
        "[\"HANDLE_INVALID\",\"network\",\"abc\"]");
    struct np_error *back = np_error_from_json(json);
    assert_non_null(back);
    assert_string_equal(back->code, error->code);
    assert_int_equal(back->n_params, 2);
    assert_string_equal(back->params[1], "abc");
    np_error_destroy(back);
    json_object_put(json);
    np_error_destroy(error);

    error = np_error_new(ERR_TIMEOUT, NULL);
    assert_int_equal(error->n_params, 0);
    text = np_error_to_string(error);
    assert_string_equal(text, "TIMEOUT");
    free(text);
    np_error_destroy(error);

    error = np_error_newf(ERR_INVALID_VALUE, "MTU", "%d", 70000);
    assert_int_equal(error->n_params, 2);
    assert_string_equal(error->params[0], "MTU");
    assert_string_equal(error->params[1], "70000");
    text = np_error_to_string(error);
    assert_string_equal(text, "INVALID_VALUE(MTU, 70000)");
    free(text);
    np_error_destroy(error);

    /* Empty parameters survive; at most ERROR_MAX_PARAMS are kept. */
    error = np_error_new("E", "", "x", NULL);
    text = np_error_to_string(error);
    assert_string_equal(text, "E(, x)");
    free(text);
    np_error_destroy(error);
    error =
        np_error_new("E", "1", "2", "3", "4", "5", "6", "7", "8", "9", NULL);
    assert_int_equal(error->n_params, ERROR_MAX_PARAMS);
    assert_string_equal(error->params[ERROR_MAX_PARAMS - 1], "8");
    np_error_destroy(error);
    np_error_destroy(NULL);

    /* Parameters that are not strings come back as their JSON text. */
    json = fixture_json("['INVALID_VALUE', 'MTU', 7, {'a': 1}]");
    error = np_error_from_json(json);
    assert_int_equal(error->n_params, 3);
    assert_string_equal(error->params[1], "7");
    assert_non_null(strstr(error->params[2], "\"a\""));
    np_error_destroy(error);
    json_object_put(json);

    static const char *const bad[] = {
        "[]", "[7, 'x']", "{'code': 'E'}", "'E'", "null",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json = fixture_json("%s", bad[i]);
        assert_null(np_error_from_json(json));
        json_object_put(json);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_bad_json),
        cmocka_unit_test(test_parse_trailing_data),
        cmocka_unit_test(test_parse_bad_envelope),
        cmocka_unit_test(test_make_request),
        cmocka_unit_test(test_make_result),
        cmocka_unit_test(test_make_error),
        cmocka_unit_test(test_parse_response),
        cmocka_unit_test(test_np_error),
    };
    return cmocka_run_group_tests_name("jsonrpc", tests, NULL, NULL);
}
