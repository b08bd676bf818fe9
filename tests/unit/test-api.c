/*
 * Unit tests of the JSON-RPC API (mgmt/mgmt.h): api_handle() driven
 * directly, as the listeners drive it, over a store in a scratch directory
 * and a libevent loop that the tests turn by hand.  Covers sessions and
 * roles, argument checks, the generic class methods, secret fields, tasks
 * and event.from with its waiting calls.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>

#include "lib/error.h"
#include "lib/jsonrpc.h"
#include "lib/uuid.h"
#include "mgmt/mgmt.h"
#include "mgmt/store.h"
#include "tests/unit/fixture.h"

/* What a reply callback saw. */
struct capture {
    int n_replies;                /* Calls of the callback. */
    struct json_object *response; /* The last response, owned. */
};

/* One test's API. */
struct fixture {
    char *dir;                               /* Scratch directory. */
    struct store *store;                     /* Store in 'dir'. */
    struct event_base *base;                 /* Loop for deferred work. */
    struct api *api;                         /* The API under test, or NULL. */
    char host[UUID_LENGTH + 1];              /* This host. */
    char root_password[PASSWORD_LENGTH + 1]; /* From api_ensure_root(). */
    struct capture capture;                  /* Replies of rpc(). */
};

static int
setup(void **state)
{
    struct fixture *fx = xzalloc(sizeof *fx);

    assert_int_equal(fixture_store_open(&fx->dir, &fx->store), 0);
    fx->base = event_base_new();
    assert_non_null(fx->base);
    assert_int_equal(uuid_text_random(fx->host), 0);
    fx->api = api_create(fx->store, fx->base, fx->host);
    assert_int_equal(api_ensure_root(fx->api, fx->root_password), 1);
    assert_int_equal(strlen(fx->root_password), PASSWORD_LENGTH);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    /* Run what is left (task work) so that nothing stays allocated. */
    event_base_loop(fx->base, EVLOOP_NONBLOCK);
    api_destroy(fx->api);
    json_object_put(fx->capture.response);
    event_base_free(fx->base);
    fixture_store_close(fx->dir, fx->store);
    free(fx);
    return 0;
}

static void
capture_reply(void *capture_, struct json_object *response)
{
    struct capture *capture = capture_;

    assert_non_null(response);
    capture->n_replies++;
    json_object_put(capture->response);
    capture->response = response;
}

/* Returns a request body for 'method' whose params are the JSON text
 * 'params' (single quotes allowed, printf-style), as a new string. */
static char *
make_body(const char *method, const char *params, va_list args)
{
    char *text;

    if (vasprintf(&text, params, args) < 0) {
        abort();
    }
    struct json_object *json = fixture_json("%s", text);
    free(text);
    assert_non_null(json);
    struct json_object *msg = jsonrpc_make_request(method, json, 1);
    char *body =
        xstrdup(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
    json_object_put(msg);
    return body;
}

/* Calls 'method' with 'params' (see make_body()) on the local listener if
 * 'local', else as over HTTPS, and returns the response, which must come
 * before api_handle() returns.  The response stays owned by 'fx'. */
static struct json_object *rpc(struct fixture *fx, bool local,
                               const char *method, const char *params, ...)
    __attribute__((format(printf, 4, 5)));

static struct json_object *
rpc(struct fixture *fx, bool local, const char *method, const char *params,
    ...)
{
    va_list args;

    va_start(args, params);
    char *body = make_body(method, params, args);
    va_end(args);

    int before = fx->capture.n_replies;
    struct api_call *call = api_handle(fx->api, body, strlen(body), local,
                                       capture_reply, &fx->capture);
    free(body);
    assert_null(call);
    assert_int_equal(fx->capture.n_replies, before + 1);
    return fx->capture.response;
}

/* Starts 'method' like rpc() but for a call that must wait: returns its
 * handle, with no reply yet in 'capture'. */
static struct api_call *
rpc_deferred(struct fixture *fx, struct capture *capture, const char *method,
             const char *params, ...) __attribute__((format(printf, 4, 5)));

static struct api_call *
rpc_deferred(struct fixture *fx, struct capture *capture, const char *method,
             const char *params, ...)
{
    va_list args;

    va_start(args, params);
    char *body = make_body(method, params, args);
    va_end(args);

    struct api_call *call =
        api_handle(fx->api, body, strlen(body), true, capture_reply, capture);
    free(body);
    assert_non_null(call);
    assert_int_equal(capture->n_replies, 0);
    return call;
}

/* Returns the result of 'response' (borrowed), failing if it is an
 * error. */
static struct json_object *
result_of(struct json_object *response)
{
    struct json_object *error, *result;

    if (json_object_object_get_ex(response, "error", &error)) {
        fail_msg("unexpected error %s", json_object_to_json_string(error));
    }
    assert_true(json_object_object_get_ex(response, "result", &result));
    return result;
}

/* Returns the string result of 'response'. */
static const char *
string_result(struct json_object *response)
{
    struct json_object *result = result_of(response);

    assert_true(json_object_is_type(result, json_type_string));
    return json_object_get_string(result);
}

/* Asserts that 'response' is the error 'code' with JSON-RPC number
 * 'number' and the given parameters (a NULL-terminated list; a NULL
 * first parameter checks none). */
static void
expect_error(struct json_object *response, const char *code, int number, ...)
{
    struct json_object *error, *value, *data;
    va_list args;

    if (!json_object_object_get_ex(response, "error", &error)) {
        fail_msg("expected %s, got %s", code,
                 json_object_to_json_string(response));
    }
    assert_false(json_object_object_get_ex(response, "result", NULL));
    assert_true(json_object_object_get_ex(error, "message", &value));
    assert_string_equal(json_object_get_string(value), code);
    assert_true(json_object_object_get_ex(error, "code", &value));
    assert_int_equal(json_object_get_int(value), number);
    assert_true(json_object_object_get_ex(error, "data", &data));
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(data, 0)), code);

    va_start(args, number);
    const char *first = va_arg(args, const char *);
    if (first) {
        size_t n = 1;
        for (const char *p = first; p; p = va_arg(args, const char *)) {
            assert_true(n < json_object_array_length(data));
            assert_string_equal(
                json_object_get_string(json_object_array_get_idx(data, n)), p);
            n++;
        }
        assert_int_equal(json_object_array_length(data), n);
    }
    va_end(args);
}

static struct json_object *
member(struct json_object *object, const char *name)
{
    struct json_object *value;

    if (!json_object_object_get_ex(object, name, &value)) {
        fail_msg("no '%s' in %s", name, json_object_to_json_string(object));
    }
    return value;
}

/* Creates a network named 'label' on the local listener and writes its
 * ref into 'uuid'. */
static void
create_network(struct fixture *fx, const char *label,
               char uuid[UUID_LENGTH + 1])
{
    const char *ref = string_result(
        rpc(fx, true, "network.create", "['', {'name_label': '%s'}]", label));
    assert_true(uuid_text_is_valid(ref));
    snprintf(uuid, UUID_LENGTH + 1, "%s", ref);
}

/* Logs 'user' in over HTTPS and writes the session into 'session'. */
static void
login(struct fixture *fx, const char *user, const char *password,
      char session[UUID_LENGTH + 1])
{
    const char *ref =
        string_result(rpc(fx, false, "session.login_with_password",
                          "['%s', '%s']", user, password));
    assert_true(uuid_text_is_valid(ref));
    snprintf(session, UUID_LENGTH + 1, "%s", ref);
}

/* Creates a user with 'role' through the API; writes its ref into
 * 'uuid'. */
static void
create_user(struct fixture *fx, const char *name, const char *role,
            char uuid[UUID_LENGTH + 1])
{
    const char *ref =
        string_result(rpc(fx, true, "user.create",
                          "['', {'username': '%s', 'password': 'secret-%s',"
                          " 'role': '%s'}]",
                          name, name, role));
    snprintf(uuid, UUID_LENGTH + 1, "%s", ref);
}

/* Returns the current event token as a number. */
static uint64_t
current_token(struct fixture *fx)
{
    struct json_object *r =
        result_of(rpc(fx, true, "event.from", "['', ['*'], '', 0]"));
    assert_int_equal(json_object_array_length(member(r, "events")), 0);
    return strtoull(json_object_get_string(member(r, "token")), NULL, 10);
}

/* The local listener needs no login: an empty session is the local root,
 * a pool administrator. */
static void
test_local_call_without_login(void **state)
{
    struct fixture *fx = *state;
    char net[UUID_LENGTH + 1];

    struct json_object *r =
        result_of(rpc(fx, true, "network.get_all", "['']"));
    assert_true(json_object_is_type(r, json_type_array));
    assert_int_equal(json_object_array_length(r), 0);

    create_network(fx, "local", net);
    r = result_of(rpc(fx, true, "network.get_all", "['']"));
    assert_int_equal(json_object_array_length(r), 1);
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(r, 0)), net);

    /* The id of the request comes back. */
    r = rpc(fx, true, "session.get_this_user", "['']");
    assert_int_equal(json_object_get_int(member(r, "id")), 1);
    const char *root = string_result(r);
    assert_true(uuid_text_is_valid(root));
    r = result_of(rpc(fx, true, "user.get_record", "['', '%s']", root));
    assert_string_equal(fixture_string(r, "username"), "root");
    assert_string_equal(fixture_string(r, "role"), "pool-admin");

    /* A second api_ensure_root() finds root and changes nothing. */
    char password[PASSWORD_LENGTH + 1] = "";
    assert_int_equal(api_ensure_root(fx->api, password), 0);
    assert_string_equal(password, "");
}

/* Over HTTPS every call but the login needs a session that exists. */
static void
test_https_needs_session(void **state)
{
    struct fixture *fx = *state;
    char bogus[UUID_LENGTH + 1];

    expect_error(rpc(fx, false, "network.get_all", "['']"),
                 ERR_SESSION_INVALID, 1, "", NULL);
    assert_int_equal(uuid_text_random(bogus), 0);
    expect_error(rpc(fx, false, "network.get_all", "['%s']", bogus),
                 ERR_SESSION_INVALID, 1, bogus, NULL);
    expect_error(rpc(fx, false, "network.get_all", "[]"), ERR_SESSION_INVALID,
                 1, NULL);
    expect_error(rpc(fx, false, "network.get_all", "[7]"), ERR_SESSION_INVALID,
                 1, NULL);
    expect_error(rpc(fx, false, "network.get_all",
                     "['%s-and-much-more-than-a-uuid']", bogus),
                 ERR_SESSION_INVALID, 1, NULL);

    /* Locally too, a session given must exist. */
    expect_error(rpc(fx, true, "network.get_all", "['%s']", bogus),
                 ERR_SESSION_INVALID, 1, bogus, NULL);
    expect_error(rpc(fx, true, "network.get_all", "[]"), ERR_SESSION_INVALID,
                 1, NULL);
}

/* Login with root's generated password gives a session that works over
 * HTTPS until logout; a wrong password or user does not. */
static void
test_login(void **state)
{
    struct fixture *fx = *state;
    char session[UUID_LENGTH + 1];

    expect_error(rpc(fx, false, "session.login_with_password",
                     "['root', 'wrong-password']"),
                 ERR_SESSION_AUTHENTICATION_FAILED, 1, "root",
                 "Authentication failure", NULL);
    expect_error(rpc(fx, false, "session.login_with_password",
                     "['nobody', '%s']", fx->root_password),
                 ERR_SESSION_AUTHENTICATION_FAILED, 1, "nobody",
                 "Authentication failure", NULL);
    expect_error(rpc(fx, false, "session.login_with_password", "['root']"),
                 ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, -32602, NULL);

    login(fx, "root", fx->root_password, session);
    struct json_object *r =
        result_of(rpc(fx, false, "network.get_all", "['%s']", session));
    assert_true(json_object_is_type(r, json_type_array));
    const char *user = string_result(
        rpc(fx, false, "session.get_this_user", "['%s']", session));
    r = result_of(
        rpc(fx, false, "user.get_record", "['%s', '%s']", session, user));
    assert_string_equal(fixture_string(r, "username"), "root");

    /* Version and originator are optional. */
    char other[UUID_LENGTH + 1];
    snprintf(other, sizeof other, "%s",
             string_result(rpc(fx, false, "session.login_with_password",
                               "['root', '%s', '1.0', 'unit-test']",
                               fx->root_password)));
    assert_string_not_equal(other, session);

    assert_null(
        result_of(rpc(fx, false, "session.logout", "['%s']", session)));
    expect_error(rpc(fx, false, "network.get_all", "['%s']", session),
                 ERR_SESSION_INVALID, 1, session, NULL);
    result_of(rpc(fx, false, "network.get_all", "['%s']", other));
}

/* A read-only user may read but not write, and is told which role a
 * write needs. */
static void
test_read_only_user(void **state)
{
    struct fixture *fx = *state;
    char uuid[UUID_LENGTH + 1], session[UUID_LENGTH + 1];
    char net[UUID_LENGTH + 1];

    create_user(fx, "alice", "read-only", uuid);
    create_network(fx, "visible", net);
    login(fx, "alice", "secret-alice", session);

    expect_error(rpc(fx, false, "network.create",
                     "['%s', {'name_label': 'x'}]", session),
                 ERR_PERMISSION_DENIED, 1, "network.create", "pool-operator",
                 NULL);
    expect_error(rpc(fx, false, "Async.network.create",
                     "['%s', {'name_label': 'x'}]", session),
                 ERR_PERMISSION_DENIED, 1, "network.create", "pool-operator",
                 NULL);
    expect_error(rpc(fx, false, "network.set_name_label",
                     "['%s', '%s', 'renamed']", session, net),
                 ERR_PERMISSION_DENIED, 1, NULL);
    expect_error(rpc(fx, false, "user.create",
                     "['%s', {'username': 'eve', 'password': '12345678'}]",
                     session),
                 ERR_PERMISSION_DENIED, 1, "user.create", "pool-admin", NULL);

    struct json_object *r =
        result_of(rpc(fx, false, "network.get_all", "['%s']", session));
    assert_int_equal(json_object_array_length(r), 1);
    r = result_of(
        rpc(fx, false, "network.get_record", "['%s', '%s']", session, net));
    assert_string_equal(fixture_string(r, "name_label"), "visible");
    assert_string_equal(string_result(rpc(fx, false, "session.get_this_user",
                                          "['%s']", session)),
                        uuid);
    r = result_of(
        rpc(fx, false, "event.from", "['%s', ['*'], '', 0]", session));
    assert_non_null(fixture_string(r, "token"));

    /* Nothing was written. */
    r = result_of(rpc(fx, true, "network.get_all", "['']"));
    assert_int_equal(json_object_array_length(r), 1);
}

/* Methods that do not exist, including any of a secret field and the map
 * methods of fields that are not maps, are MESSAGE_METHOD_UNKNOWN. */
static void
test_unknown_method(void **state)
{
    struct fixture *fx = *state;
    char net[UUID_LENGTH + 1];
    static const char *const methods[] = {
        "network.frobnicate",
        "nosuchclass.get_all",
        "network",
        "session.get_all",
        "session.get_record",
        "user.get_password_hash",
        "user.set_password_hash",
        "network.add_to_name_label",
        "network.remove_from_MTU",
        "network.set_uuid",
        "PIF.create",
        "host.destroy",
        "Async.network.frobnicate",
        "network.get_nonexistent_field",
        "",
    };

    create_network(fx, "n", net);
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        expect_error(rpc(fx, true, methods[i], "['', '%s', 'x']", net),
                     ERR_MESSAGE_METHOD_UNKNOWN, -32601, methods[i], NULL);
    }
}

/* Writes of read-only fields (set_, and add_to_/remove_from_ of
 * read-only maps) are FIELD_READ_ONLY(field) and change nothing. */
static void
test_read_only_fields(void **state)
{
    struct fixture *fx = *state;
    char net[UUID_LENGTH + 1], pif[UUID_LENGTH + 1];

    create_network(fx, "n", net);
    assert_int_equal(uuid_text_random(pif), 0);
    struct json_object *record = fixture_json("{'device': 'eth0'}");
    assert_int_equal(store_insert(fx->store, "PIF", pif, record), 0);
    json_object_put(record);
    uint64_t seq = store_last_seq(fx->store);

    expect_error(rpc(fx, true, "network.set_bridge", "['', '%s', 'br0']", net),
                 ERR_FIELD_READ_ONLY, 1, "bridge", NULL);
    expect_error(
        rpc(fx, true, "network.set_managed", "['', '%s', false]", net),
        ERR_FIELD_READ_ONLY, 1, "managed", NULL);
    expect_error(rpc(fx, true, "network.set_PIFs", "['', '%s', []]", net),
                 ERR_FIELD_READ_ONLY, 1, "PIFs", NULL);
    expect_error(rpc(fx, true, "PIF.set_MTU", "['', '%s', 9000]", pif),
                 ERR_FIELD_READ_ONLY, 1, "MTU", NULL);
    expect_error(rpc(fx, true, "PIF.set_carrier", "['', '%s', true]", pif),
                 ERR_FIELD_READ_ONLY, 1, "carrier", NULL);
    expect_error(rpc(fx, true, "host.add_to_software_version",
                     "['', '%s', 'k', 'v']", fx->host),
                 ERR_FIELD_READ_ONLY, 1, "software_version", NULL);
    const char *root =
        string_result(rpc(fx, true, "session.get_this_user", "['']"));
    expect_error(rpc(fx, true, "user.set_username", "['', '%s', 'x']", root),
                 ERR_FIELD_READ_ONLY, 1, "username", NULL);
    assert_int_equal(store_last_seq(fx->store), seq);

    /* The writable fields of the same objects can be set. */
    assert_null(result_of(rpc(fx, true, "PIF.add_to_other_config",
                              "['', '%s', 'k', 'v']", pif)));
    assert_int_equal(store_last_seq(fx->store), seq + 1);
}

/* Parameters of the wrong JSON type are FIELD_TYPE_ERROR naming the
 * parameter or field; values outside the schema are INVALID_VALUE. */
static void
test_wrong_param_type(void **state)
{
    struct fixture *fx = *state;
    char net[UUID_LENGTH + 1];

    create_network(fx, "n", net);
    expect_error(rpc(fx, true, "network.get_record", "['', 42]"),
                 ERR_FIELD_TYPE_ERROR, -32602, "ref", NULL);
    expect_error(rpc(fx, true, "network.create", "['', 'storage']"),
                 ERR_FIELD_TYPE_ERROR, -32602, "record", NULL);
    expect_error(rpc(fx, true, "network.create", "['', {'name_label': 5}]"),
                 ERR_FIELD_TYPE_ERROR, -32602, "name_label", NULL);
    expect_error(rpc(fx, true, "network.create",
                     "['', {'name_label': 'x', 'MTU': 100}]"),
                 ERR_INVALID_VALUE, 1, "MTU", "100", NULL);
    expect_error(rpc(fx, true, "network.create", "['', {'MTU': 1500}]"),
                 ERR_MISSING_PARAMETER, 1, "name_label", NULL);
    expect_error(rpc(fx, true, "network.create",
                     "['', {'name_label': 'x', 'bridge': 'br0'}]"),
                 ERR_INVALID_VALUE, 1, "bridge",
                 "not a field accepted on create", NULL);
    expect_error(rpc(fx, true, "network.set_MTU", "['', '%s', '9000']", net),
                 ERR_FIELD_TYPE_ERROR, -32602, "MTU", NULL);
    expect_error(rpc(fx, true, "network.set_MTU", "['', '%s', 100000]", net),
                 ERR_INVALID_VALUE, 1, "MTU", "100000", NULL);
    expect_error(rpc(fx, true, "network.add_to_other_config",
                     "['', '%s', 'k', 1]", net),
                 ERR_FIELD_TYPE_ERROR, -32602, "value", NULL);
    expect_error(rpc(fx, true, "event.from", "['', 'network', '', 0]"),
                 ERR_FIELD_TYPE_ERROR, -32602, "classes", NULL);
    expect_error(rpc(fx, true, "event.from", "['', ['*'], '', '1']"),
                 ERR_FIELD_TYPE_ERROR, -32602, "timeout", NULL);
    expect_error(rpc(fx, true, "event.from", "['', ['*'], 5, 0]"),
                 ERR_FIELD_TYPE_ERROR, -32602, "token", NULL);
    expect_error(rpc(fx, true, "event.from", "['', ['*'], '', 61]"),
                 ERR_INVALID_VALUE, 1, "timeout", "61", NULL);
    expect_error(rpc(fx, true, "event.from", "['', ['*'], 'abc', 0]"),
                 ERR_INVALID_VALUE, 1, "token", "abc", NULL);
    expect_error(rpc(fx, true, "user.create",
                     "['', {'username': 'bob', 'password': 'short'}]"),
                 ERR_INVALID_VALUE, 1, "password", "at least 8 characters",
                 NULL);
    expect_error(rpc(fx, true, "user.create",
                     "['', {'username': 'bob', 'password': '12345678',"
                     " 'role': 'king'}]"),
                 ERR_INVALID_VALUE, 1, "role", "king", NULL);

    /* Nothing changed. */
    struct json_object *r =
        result_of(rpc(fx, true, "network.get_record", "['', '%s']", net));
    assert_int_equal(json_object_get_int(member(r, "MTU")), 1500);
}

/* A wrong number of parameters after the session is
 * MESSAGE_PARAMETER_COUNT_MISMATCH(method, expected, received). */
static void
test_parameter_count(void **state)
{
    struct fixture *fx = *state;
    char net[UUID_LENGTH + 1];

    create_network(fx, "n", net);
    expect_error(rpc(fx, true, "network.get_record", "['']"),
                 ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, -32602,
                 "network.get_record", "1", "0", NULL);
    expect_error(rpc(fx, true, "network.get_all", "['', 'extra']"),
                 ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, -32602,
                 "network.get_all", "0", "1", NULL);
    expect_error(rpc(fx, true, "network.set_name_label", "['', '%s']", net),
                 ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, -32602,
                 "network.set_name_label", "2", "1", NULL);
    expect_error(
        rpc(fx, true, "network.add_to_other_config", "['', '%s', 'k']", net),
        ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, -32602,
        "network.add_to_other_config", "3", "2", NULL);
    expect_error(rpc(fx, true, "network.create", "['', {}, {}]"),
                 ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, -32602,
                 "network.create", "1", "2", NULL);
    expect_error(rpc(fx, true, "event.from", "['', ['*'], '']"),
                 ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, -32602, "event.from",
                 "3", "2", NULL);
}

/* A ref that names no object is HANDLE_INVALID(class, ref). */
static void
test_handle_invalid(void **state)
{
    struct fixture *fx = *state;
    char ghost[UUID_LENGTH + 1], net[UUID_LENGTH + 1];

    assert_int_equal(uuid_text_random(ghost), 0);
    create_network(fx, "n", net);
    expect_error(rpc(fx, true, "network.get_record", "['', '%s']", ghost),
                 ERR_HANDLE_INVALID, 1, "network", ghost, NULL);
    expect_error(rpc(fx, true, "network.get_name_label", "['', '%s']", ghost),
                 ERR_HANDLE_INVALID, 1, "network", ghost, NULL);
    expect_error(
        rpc(fx, true, "network.set_name_label", "['', '%s', 'x']", ghost),
        ERR_HANDLE_INVALID, 1, "network", ghost, NULL);
    expect_error(rpc(fx, true, "network.destroy", "['', '%s']", ghost),
                 ERR_HANDLE_INVALID, 1, "network", ghost, NULL);
    expect_error(rpc(fx, true, "network.get_by_uuid", "['', 'nonsense']"),
                 ERR_HANDLE_INVALID, 1, "network", "nonsense", NULL);
    /* A ref of another class does not do. */
    expect_error(rpc(fx, true, "PIF.get_record", "['', '%s']", net),
                 ERR_HANDLE_INVALID, 1, "PIF", net, NULL);
    expect_error(rpc(fx, true, "task.cancel", "['', '%s']", ghost),
                 ERR_HANDLE_INVALID, 1, "task", ghost, NULL);
}

/* Requests larger than API_MAX_REQUEST_SIZE are refused unread with
 * REQUEST_TOO_LARGE; bad JSON and envelopes get their errors with the
 * id when there is one. */
static void
test_bad_requests(void **state)
{
    struct fixture *fx = *state;
    size_t size = API_MAX_REQUEST_SIZE + 1;
    char *body = xmalloc(size);
    char limit[16];

    struct capture big = {0, NULL};

    memset(body, ' ', size);
    snprintf(limit, sizeof limit, "%d", API_MAX_REQUEST_SIZE);
    struct api_call *call =
        api_handle(fx->api, body, size, true, capture_reply, &big);
    struct api_call *at_limit =
        api_handle(fx->api, body, size - 1, true, capture_reply, &fx->capture);
    free(body);
    assert_null(call);
    assert_null(at_limit);
    assert_int_equal(big.n_replies, 1);
    struct json_object *response = big.response;
    big.response = NULL;
    expect_error(response, ERR_REQUEST_TOO_LARGE, -32600, limit, NULL);
    assert_null(member(response, "id"));
    json_object_put(response);

    /* At the limit the body is read (and is not JSON here). */
    assert_int_equal(fx->capture.n_replies, 1);
    expect_error(fx->capture.response, ERR_JSON_PARSE_ERROR, -32700, NULL);

    static const char *const bad = "{\"jsonrpc\": \"2.0\", \"id\":";
    assert_null(api_handle(fx->api, bad, strlen(bad), true, capture_reply,
                           &fx->capture));
    expect_error(fx->capture.response, ERR_JSON_PARSE_ERROR, -32700, NULL);
    assert_null(member(fx->capture.response, "id"));

    static const char *const envelope =
        "{\"jsonrpc\": \"2.0\", \"id\": 17, \"params\": []}";
    assert_null(api_handle(fx->api, envelope, strlen(envelope), true,
                           capture_reply, &fx->capture));
    expect_error(fx->capture.response, ERR_JSONRPC_INVALID_REQUEST, -32600,
                 "method", NULL);
    assert_int_equal(json_object_get_int(member(fx->capture.response, "id")),
                     17);
    assert_int_equal(fx->capture.n_replies, 3);

    struct json_object *e = api_error_response(
        &(struct np_error){.code = (char *) ERR_REQUEST_TOO_LARGE});
    expect_error(e, ERR_REQUEST_TOO_LARGE, -32600, NULL);
    assert_null(member(e, "id"));
    json_object_put(e);
}

/* network.create, the field getters and setters, the map methods and
 * destroy, end to end. */
static void
test_network_round_trip(void **state)
{
    struct fixture *fx = *state;
    char net[UUID_LENGTH + 1];

    snprintf(net, sizeof net, "%s",
             string_result(rpc(fx, true, "network.create",
                               "['', {'name_label': 'storage', 'MTU': 9000,"
                               " 'name_description': 'fast',"
                               " 'other_config': {'a': '1'}}]")));
    struct json_object *r =
        result_of(rpc(fx, true, "network.get_record", "['', '%s']", net));
    assert_string_equal(fixture_string(r, "uuid"), net);
    assert_string_equal(fixture_string(r, "name_label"), "storage");
    assert_string_equal(fixture_string(r, "name_description"), "fast");
    assert_int_equal(json_object_get_int(member(r, "MTU")), 9000);
    assert_string_equal(fixture_string(member(r, "other_config"), "a"), "1");
    assert_int_equal(json_object_array_length(member(r, "PIFs")), 0);
    assert_string_equal(
        string_result(rpc(fx, true, "network.get_by_uuid", "['', '%s']", net)),
        net);

    assert_null(result_of(
        rpc(fx, true, "network.set_name_label", "['', '%s', 'backup']", net)));
    assert_string_equal(string_result(rpc(fx, true, "network.get_name_label",
                                          "['', '%s']", net)),
                        "backup");
    r = result_of(
        rpc(fx, true, "network.get_by_name_label", "['', 'backup']"));
    assert_int_equal(json_object_array_length(r), 1);
    assert_true(fixture_array_has(r, net));
    r = result_of(
        rpc(fx, true, "network.get_by_name_label", "['', 'storage']"));
    assert_int_equal(json_object_array_length(r), 0);
    assert_null(
        result_of(rpc(fx, true, "network.set_MTU", "['', '%s', 1500]", net)));

    assert_null(result_of(rpc(fx, true, "network.add_to_other_config",
                              "['', '%s', 'k', 'v']", net)));
    expect_error(rpc(fx, true, "network.add_to_other_config",
                     "['', '%s', 'k', 'w']", net),
                 ERR_MAP_DUPLICATE_KEY, 1, "network", "other_config", "k",
                 NULL);
    r = result_of(
        rpc(fx, true, "network.get_other_config", "['', '%s']", net));
    assert_int_equal(json_object_object_length(r), 2);
    assert_string_equal(fixture_string(r, "k"), "v");
    assert_null(result_of(rpc(fx, true, "network.remove_from_other_config",
                              "['', '%s', 'a']", net)));
    r = result_of(
        rpc(fx, true, "network.get_other_config", "['', '%s']", net));
    assert_int_equal(json_object_object_length(r), 1);
    assert_null(fixture_string(r, "a"));
    assert_string_equal(fixture_string(r, "k"), "v");

    /* Removing a key that is not there does nothing. */
    uint64_t seq = store_last_seq(fx->store);
    assert_null(result_of(rpc(fx, true, "network.remove_from_other_config",
                              "['', '%s', 'absent']", net)));
    assert_int_equal(store_last_seq(fx->store), seq);

    r = result_of(rpc(fx, true, "network.get_all_records", "['']"));
    assert_int_equal(json_object_object_length(r), 1);
    r = member(r, net);
    assert_string_equal(fixture_string(r, "name_label"), "backup");
    assert_int_equal(json_object_get_int(member(r, "MTU")), 1500);

    r = result_of(rpc(fx, true, "network.get_schema", "['']"));
    bool found = false;
    for (size_t i = 0; i < json_object_array_length(r); i++) {
        struct json_object *f = json_object_array_get_idx(r, i);
        if (!strcmp(fixture_string(f, "name"), "bridge")) {
            assert_string_equal(fixture_string(f, "mode"), "RO");
            found = true;
        } else if (!strcmp(fixture_string(f, "name"), "name_label")) {
            assert_string_equal(fixture_string(f, "mode"), "RW");
        }
    }
    assert_true(found);

    assert_null(
        result_of(rpc(fx, true, "network.destroy", "['', '%s']", net)));
    expect_error(rpc(fx, true, "network.get_record", "['', '%s']", net),
                 ERR_HANDLE_INVALID, 1, "network", net, NULL);
    r = result_of(rpc(fx, true, "network.get_all", "['']"));
    assert_int_equal(json_object_array_length(r), 0);
}

/* A network that holds a PIF cannot be destroyed. */
static void
test_network_destroy_with_pif(void **state)
{
    struct fixture *fx = *state;
    char net[UUID_LENGTH + 1], pif[UUID_LENGTH + 1];

    create_network(fx, "n", net);
    assert_int_equal(uuid_text_random(pif), 0);
    struct json_object *record = fixture_json("{'network': '%s'}", net);
    assert_int_equal(store_insert(fx->store, "PIF", pif, record), 0);
    json_object_put(record);
    expect_error(rpc(fx, true, "network.destroy", "['', '%s']", net),
                 ERR_NETWORK_CONTAINS_PIF, 1, pif, NULL);
    assert_true(store_exists(fx->store, "network", net));
}

/* Asserts that no record in 'records' (ref → record) has a
 * password_hash. */
static void
expect_no_hash(struct json_object *records)
{
    json_object_object_foreach (records, uuid, record) {
        (void) uuid;
        assert_false(json_object_object_get_ex(record, "password_hash", NULL));
        assert_non_null(fixture_string(record, "username"));
    }
}

/* User records never show password_hash: not in get_record,
 * get_all_records, get_schema nor event snapshots. */
static void
test_user_secret_fields(void **state)
{
    struct fixture *fx = *state;
    char user[UUID_LENGTH + 1], session[UUID_LENGTH + 1];

    uint64_t token = current_token(fx);
    create_user(fx, "bob", "pool-operator", user);

    struct json_object *r =
        result_of(rpc(fx, true, "user.get_record", "['', '%s']", user));
    assert_string_equal(fixture_string(r, "username"), "bob");
    assert_string_equal(fixture_string(r, "role"), "pool-operator");
    assert_false(json_object_object_get_ex(r, "password_hash", NULL));
    assert_false(json_object_object_get_ex(r, "password", NULL));

    r = result_of(rpc(fx, true, "user.get_all_records", "['']"));
    assert_int_equal(json_object_object_length(r), 2);
    expect_no_hash(r);

    r = result_of(rpc(fx, true, "user.get_schema", "['']"));
    for (size_t i = 0; i < json_object_array_length(r); i++) {
        assert_string_not_equal(
            fixture_string(json_object_array_get_idx(r, i), "name"),
            "password_hash");
    }

    /* The user's own password change makes a "mod" event. */
    login(fx, "bob", "secret-bob", session);
    assert_null(result_of(rpc(fx, false, "session.change_password",
                              "['%s', 'secret-bob', 'new-secret']", session)));
    login(fx, "bob", "new-secret", session);

    r = result_of(rpc(fx, true, "event.from", "['', ['user'], '%llu', 0]",
                      (unsigned long long) token));
    struct json_object *events = member(r, "events");
    size_t n = json_object_array_length(events);
    assert_true(n >= 2);
    bool mod = false;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(events, i);
        struct json_object *snapshot = member(e, "snapshot");
        assert_string_equal(fixture_string(e, "class"), "user");
        assert_false(
            json_object_object_get_ex(snapshot, "password_hash", NULL));
        assert_string_equal(fixture_string(snapshot, "username"), "bob");
        mod |= !strcmp(fixture_string(e, "operation"), "mod");
    }
    assert_true(mod);

    /* Sessions are never events. */
    r = result_of(rpc(fx, true, "event.from", "['', ['*'], '%llu', 0]",
                      (unsigned long long) token));
    events = member(r, "events");
    for (size_t i = 0; i < json_object_array_length(events); i++) {
        assert_string_not_equal(
            fixture_string(json_object_array_get_idx(events, i), "class"),
            "session");
    }
    expect_error(rpc(fx, true, "event.from", "['', ['session'], '', 0]"),
                 ERR_INVALID_VALUE, 1, "classes", "session", NULL);
}

/* Returns the record of task 'task'. */
static struct json_object *
task_record(struct fixture *fx, const char *task)
{
    return result_of(rpc(fx, true, "task.get_record", "['', '%s']", task));
}

/* Async.network.create answers with a pending task at once; the network
 * is made on the next turn of the loop and the task then holds its ref. */
static void
test_async_task(void **state)
{
    struct fixture *fx = *state;
    char task[UUID_LENGTH + 1];

    snprintf(task, sizeof task, "%s",
             string_result(rpc(fx, true, "Async.network.create",
                               "['', {'name_label': 'async'}]")));
    assert_true(uuid_text_is_valid(task));
    struct json_object *r = task_record(fx, task);
    assert_string_equal(fixture_string(r, "status"), "pending");
    assert_string_equal(fixture_string(r, "name_label"), "network.create");
    assert_string_equal(fixture_string(r, "resident_on"), fx->host);
    r = result_of(rpc(fx, true, "network.get_all", "['']"));
    assert_int_equal(json_object_array_length(r), 0);

    event_base_loop(fx->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);

    r = task_record(fx, task);
    assert_string_equal(fixture_string(r, "status"), "success");
    assert_true(json_object_get_double(member(r, "progress")) == 1.0);
    assert_string_not_equal(fixture_string(r, "finished"), "");
    struct json_object *result =
        json_tokener_parse(fixture_string(r, "result"));
    assert_true(json_object_is_type(result, json_type_string));
    char net[UUID_LENGTH + 1];
    snprintf(net, sizeof net, "%s", json_object_get_string(result));
    json_object_put(result);
    r = result_of(rpc(fx, true, "network.get_record", "['', '%s']", net));
    assert_string_equal(fixture_string(r, "name_label"), "async");

    /* A failing call fails its task with the typed error. */
    snprintf(task, sizeof task, "%s",
             string_result(rpc(fx, true, "Async.network.create", "['', {}]")));
    event_base_loop(fx->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    r = task_record(fx, task);
    assert_string_equal(fixture_string(r, "status"), "failure");
    struct json_object *info = member(r, "error_info");
    assert_int_equal(json_object_array_length(info), 2);
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(info, 0)),
        ERR_MISSING_PARAMETER);
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(info, 1)),
        "name_label");

    /* A task cancelled before its turn never runs. */
    snprintf(task, sizeof task, "%s",
             string_result(rpc(fx, true, "Async.network.create",
                               "['', {'name_label': 'never'}]")));
    assert_null(result_of(rpc(fx, true, "task.cancel", "['', '%s']", task)));
    event_base_loop(fx->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    r = task_record(fx, task);
    assert_string_equal(fixture_string(r, "status"), "cancelled");
    r = result_of(rpc(fx, true, "network.get_by_name_label", "['', 'never']"));
    assert_int_equal(json_object_array_length(r), 0);
    expect_error(rpc(fx, true, "task.cancel", "['', '%s']", task),
                 ERR_OPERATION_NOT_ALLOWED, 1, NULL);

    assert_null(result_of(rpc(fx, true, "task.destroy", "['', '%s']", task)));
    expect_error(rpc(fx, true, "task.get_record", "['', '%s']", task),
                 ERR_HANDLE_INVALID, 1, "task", task, NULL);
}

/* Writes VM 'vm''s fields 'changes' (JSON text, printf-style, see
 * fixture_json()) as the controller of another host would, and turns the
 * loop. */
static void write_vm(struct fixture *fx, const char *vm, const char *changes,
                     ...) __attribute__((format(printf, 3, 4)));

static void
write_vm(struct fixture *fx, const char *vm, const char *changes, ...)
{
    va_list args;
    char *text;

    va_start(args, changes);
    if (vasprintf(&text, changes, args) < 0) {
        abort();
    }
    va_end(args);
    struct json_object *json = fixture_json("%s", text);
    free(text);
    assert_non_null(json);
    assert_int_equal(store_update(fx->store, "VM", vm, json), 0);
    json_object_put(json);
    for (int i = 0; i < 3; i++) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    }
}

/* Starts VM.start of 'vm', which waits; writes its task into 'task'. */
static struct api_call *
start_vm(struct fixture *fx, struct capture *capture, const char *vm,
         char task[UUID_LENGTH + 1])
{
    struct api_call *call =
        rpc_deferred(fx, capture, "VM.start", "['', '%s', false, false]", vm);
    struct json_object *r =
        result_of(rpc(fx, true, "VM.get_record", "['', '%s']", vm));
    json_object_object_foreach (member(r, "current_operations"), key, op) {
        assert_string_equal(json_object_get_string(op), "start");
        snprintf(task, UUID_LENGTH + 1, "%s", key);
    }
    assert_true(uuid_text_is_valid(task));
    return call;
}

/* VM.pool_migrate is admitted before anything is written: each refusal is
 * typed and the VM keeps its operations and host; a disabled host starts
 * no VM. */
static void
test_vm_pool_migrate_refusals(void **state)
{
    struct fixture *fx = *state;
    char vm[UUID_LENGTH + 1], other[UUID_LENGTH + 1];

    struct json_object *host = fixture_json("{'name_label': 'h'}");
    assert_int_equal(uuid_text_random(other), 0);
    assert_int_equal(store_insert(fx->store, "host", fx->host, host), 0);
    assert_int_equal(store_insert(fx->store, "host", other, host), 0);
    json_object_put(host);
    snprintf(vm, sizeof vm, "%s",
             string_result(
                 rpc(fx, true, "VM.create", "['', {'name_label': 'g'}]")));

    expect_error(
        rpc(fx, true, "VM.pool_migrate", "['', '%s', '%s', {}]", vm, other),
        ERR_VM_BAD_POWER_STATE, 1, vm, "Running", "Halted", NULL);
    write_vm(fx, vm, "{'desired_power_state': 'Running', 'resident_on': '%s'}",
             fx->host);
    expect_error(
        rpc(fx, true, "VM.pool_migrate", "['', '%s', '%s', {}]", vm, fx->host),
        ERR_CANNOT_MIGRATE_TO_SAME_HOST, 1, vm, fx->host, NULL);
    expect_error(rpc(fx, true, "VM.pool_migrate",
                     "['', '%s', '%s', {'bandwidth': 'x'}]", vm, other),
                 ERR_INVALID_VALUE, 1, "options:bandwidth", "x", NULL);
    expect_error(rpc(fx, true, "VM.pool_migrate",
                     "['', '%s', '%s', {'speed': '1'}]", vm, other),
                 ERR_INVALID_VALUE, 1, "options", "speed", NULL);
    /* Standalone: no other host is in this host's pool. */
    expect_error(
        rpc(fx, true, "VM.pool_migrate", "['', '%s', '%s']", vm, other),
        ERR_HOST_OFFLINE, 1, other, NULL);
    struct json_object *r =
        result_of(rpc(fx, true, "VM.get_record", "['', '%s']", vm));
    assert_int_equal(
        json_object_object_length(member(r, "current_operations")), 0);
    assert_int_equal(json_object_object_length(member(r, "migration")), 0);
    assert_string_equal(json_object_get_string(member(r, "resident_on")),
                        fx->host);

    /* Maintenance: a disabled host takes no VM; evacuating needs it
     * disabled first. */
    expect_error(rpc(fx, true, "host.evacuate", "['', '%s']", fx->host),
                 ERR_HOST_NOT_DISABLED, 1, fx->host, NULL);
    result_of(rpc(fx, true, "host.disable", "['', '%s']", fx->host));
    char halted[UUID_LENGTH + 1];
    snprintf(halted, sizeof halted, "%s",
             string_result(
                 rpc(fx, true, "VM.create", "['', {'name_label': 'h'}]")));
    expect_error(rpc(fx, true, "VM.start", "['', '%s', false, false]", halted),
                 ERR_HOST_DISABLED, 1, fx->host, NULL);
    result_of(rpc(fx, true, "host.enable", "['', '%s']", fx->host));
    r = result_of(rpc(fx, true, "host.get_record", "['', '%s']", fx->host));
    assert_true(json_object_get_boolean(member(r, "enabled")));
}

/* A VM operation that another host's controller ran (no controller runs
 * here): the call that made it answers from the VM's last_operation once
 * the operation left current_operations and the observed power state has
 * come; an operation replaced by another ends its task cancelled. */
static void
test_vm_outcome_from_another_host(void **state)
{
    struct fixture *fx = *state;
    struct capture capture = {0};
    char vm[UUID_LENGTH + 1], task[UUID_LENGTH + 1];

    snprintf(vm, sizeof vm, "%s",
             string_result(
                 rpc(fx, true, "VM.create", "['', {'name_label': 'guest'}]")));

    /* Refused there: the typed error it wrote. */
    start_vm(fx, &capture, vm, task);
    write_vm(fx, vm,
             "{'current_operations': {}, 'desired_power_state': 'Halted',"
             " 'last_operation': {'task': '%s', 'operation': 'start',"
             " 'status': 'failure', 'power_state': 'Halted', 'error_info':"
             " '[\\'HOST_NOT_ENOUGH_FREE_MEMORY\\', \\'2\\', \\'1\\']'}}",
             task);
    assert_int_equal(capture.n_replies, 1);
    expect_error(capture.response, ERR_HOST_NOT_ENOUGH_FREE_MEMORY, 1, "2",
                 "1", NULL);

    /* Started there: the answer waits for the observed power state. */
    struct capture started = {0};
    start_vm(fx, &started, vm, task);
    write_vm(fx, vm,
             "{'current_operations': {}, 'desired_power_state': 'Running',"
             " 'last_operation': {'task': '%s', 'operation': 'start',"
             " 'status': 'success', 'power_state': 'Running'}}",
             task);
    assert_int_equal(started.n_replies, 0);
    write_vm(fx, vm, "{'power_state': 'Running'}");
    assert_int_equal(started.n_replies, 1);
    assert_null(result_of(started.response));

    /* Replaced by power_state_reset: cancelled. */
    write_vm(fx, vm,
             "{'power_state': 'Halted', 'desired_power_state':"
             " 'Halted'}");
    struct capture replaced = {0};
    start_vm(fx, &replaced, vm, task);
    write_vm(fx, vm, "{'current_operations': {'%s': 'power_state_reset'}}",
             "00000000-0000-4000-8000-000000000001");
    assert_int_equal(replaced.n_replies, 1);
    expect_error(replaced.response, ERR_TASK_CANCELLED, 1, "start", vm, NULL);

    json_object_put(capture.response);
    json_object_put(started.response);
    json_object_put(replaced.response);
}

/* event.from with token "" returns no events and the current token; with
 * that token and timeout 0 nothing; after a write, that write. */
static void
test_event_from_tokens(void **state)
{
    struct fixture *fx = *state;
    char net[UUID_LENGTH + 1];

    struct json_object *r =
        result_of(rpc(fx, true, "event.from", "['', ['*'], '', 0]"));
    assert_int_equal(json_object_array_length(member(r, "events")), 0);
    char token[24];
    snprintf(token, sizeof token, "%s", fixture_string(r, "token"));
    assert_int_equal(strtoull(token, NULL, 10), store_event_last(fx->store));
    assert_true(store_last_seq(fx->store) > 0); /* Root's creation. */

    r = result_of(rpc(fx, true, "event.from", "['', ['*'], '%s', 0]", token));
    assert_int_equal(json_object_array_length(member(r, "events")), 0);
    assert_string_equal(fixture_string(r, "token"), token);

    create_network(fx, "evented", net);
    r = result_of(
        rpc(fx, true, "event.from", "['', ['network'], '%s', 0]", token));
    struct json_object *events = member(r, "events");
    assert_int_equal(json_object_array_length(events), 1);
    struct json_object *e = json_object_array_get_idx(events, 0);
    assert_string_equal(fixture_string(e, "class"), "network");
    assert_string_equal(fixture_string(e, "operation"), "add");
    assert_string_equal(fixture_string(e, "ref"), net);
    assert_non_null(fixture_string(e, "timestamp"));
    assert_string_equal(fixture_string(member(e, "snapshot"), "name_label"),
                        "evented");
    assert_string_equal(fixture_string(member(e, "snapshot"), "uuid"), net);
    char next[24];
    snprintf(next, sizeof next, "%s", fixture_string(r, "token"));
    assert_int_equal(strtoull(next, NULL, 10), strtoull(token, NULL, 10) + 1);

    /* Classes not asked for are skipped, but the token moves past them. */
    r = result_of(rpc(fx, true, "event.from",
                      "['', ['PIF', 'host'], '%s',"
                      " 0]",
                      token));
    assert_int_equal(json_object_array_length(member(r, "events")), 0);
    assert_string_equal(fixture_string(r, "token"), next);

    assert_null(
        result_of(rpc(fx, true, "network.destroy", "['', '%s']", net)));
    r = result_of(rpc(fx, true, "event.from", "['', ['*'], '%s', 0]", next));
    events = member(r, "events");
    assert_int_equal(json_object_array_length(events), 1);
    e = json_object_array_get_idx(events, 0);
    assert_string_equal(fixture_string(e, "operation"), "del");
    assert_false(json_object_object_get_ex(e, "snapshot", NULL));

    expect_error(rpc(fx, true, "event.from", "['', ['bogus'], '', 0]"),
                 ERR_INVALID_VALUE, 1, "classes", "bogus", NULL);
}

/* Sends the raw body 'body' on the local listener; returns the call
 * handle (NULL when answered at once). */
static struct api_call *
send_body(struct fixture *fx, struct capture *capture, const char *body)
{
    return api_handle(fx->api, body, strlen(body), true, capture_reply,
                      capture);
}

/* A JSON-RPC batch: each request answered as if alone, in order, in one
 * array; an empty batch is an invalid request. */
static void
test_batch(void **state)
{
    struct fixture *fx = *state;
    struct capture capture = {0, NULL};

    assert_null(send_body(
        fx, &capture,
        " [{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"network.create\","
        "   \"params\": [\"\", {\"name_label\": \"b1\"}]},"
        "  {\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"network.destroy\","
        "   \"params\": [\"\", \"nope\"]},"
        "  {\"jsonrpc\": \"1.0\", \"id\": 3, \"method\": \"network.create\"},"
        "  {\"jsonrpc\": \"2.0\", \"id\": \"x\", \"method\": "
        "\"network.create\","
        "   \"params\": [\"\", {\"name_label\": \"b2\"}]}]"));
    assert_int_equal(capture.n_replies, 1);
    struct json_object *answers = capture.response;
    assert_true(json_object_is_type(answers, json_type_array));
    assert_int_equal(json_object_array_length(answers), 4);

    struct json_object *first = json_object_array_get_idx(answers, 0);
    assert_int_equal(json_object_get_int(member(first, "id")), 1);
    const char *b1 = string_result(first);
    assert_true(uuid_text_is_valid(b1));
    expect_error(json_object_array_get_idx(answers, 1), ERR_HANDLE_INVALID, 1,
                 "network", "nope", NULL);
    expect_error(json_object_array_get_idx(answers, 2),
                 ERR_JSONRPC_INVALID_REQUEST, -32600, NULL);
    struct json_object *last = json_object_array_get_idx(answers, 3);
    assert_string_equal(json_object_get_string(member(last, "id")), "x");
    const char *b2 = string_result(last);
    assert_string_not_equal(b1, b2);
    assert_true(store_exists(fx->store, "network", b1));
    assert_true(store_exists(fx->store, "network", b2));
    json_object_put(capture.response);
    capture.response = NULL;

    assert_null(send_body(fx, &capture, "[]"));
    assert_int_equal(capture.n_replies, 2);
    expect_error(capture.response, ERR_JSONRPC_INVALID_REQUEST, -32600, NULL);
    json_object_put(capture.response);
}

/* A batch with a call that waits answers once that call does; a batch
 * whose client went away answers nothing and frees everything. */
static void
test_batch_deferred(void **state)
{
    struct fixture *fx = *state;
    struct capture capture = {0, NULL};
    char net[UUID_LENGTH + 1];
    char body[512];

    snprintf(
        body, sizeof body,
        "[{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"event.from\","
        "  \"params\": [\"\", [\"network\"], \"%llu\", 5]},"
        " {\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"network.create\","
        "  \"params\": [\"\", {\"name_label\": \"d1\"}]}]",
        (unsigned long long) current_token(fx));
    /* The create in the batch is itself a change of a network: it
     * answers the wait before the batch returns. */
    assert_null(send_body(fx, &capture, body));
    assert_int_equal(capture.n_replies, 1);
    assert_int_equal(json_object_array_length(capture.response), 2);
    struct json_object *events = member(
        result_of(json_object_array_get_idx(capture.response, 0)), "events");
    assert_int_equal(json_object_array_length(events), 1);
    assert_string_equal(
        fixture_string(json_object_array_get_idx(events, 0), "ref"),
        string_result(json_object_array_get_idx(capture.response, 1)));
    json_object_put(capture.response);
    capture.response = NULL;

    /* Abandoned while its event.from waits. */
    snprintf(body, sizeof body,
             "[{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"event.from\","
             "  \"params\": [\"\", [\"network\"], \"%llu\", 5]},"
             " {\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"pool.get_all\","
             "  \"params\": [\"\"]}]",
             (unsigned long long) current_token(fx));
    struct api_call *handle = send_body(fx, &capture, body);
    assert_non_null(handle);
    assert_int_equal(capture.n_replies, 1);
    api_call_abandon(handle);
    create_network(fx, "after", net);
    event_base_loop(fx->base, EVLOOP_NONBLOCK);
    assert_int_equal(capture.n_replies, 1);
}

/* A call with a current token waits, and is answered from the store's
 * change callback by the next write of a class it asked for. */
static void
test_event_from_wakes_on_write(void **state)
{
    struct fixture *fx = *state;
    struct capture waiter = {0, NULL};
    char net[UUID_LENGTH + 1], pif[UUID_LENGTH + 1];
    uint64_t token = current_token(fx);

    rpc_deferred(fx, &waiter, "event.from", "['', ['network'], '%llu', 5]",
                 (unsigned long long) token);

    /* A write of another class does not answer it. */
    assert_int_equal(uuid_text_random(pif), 0);
    struct json_object *record = fixture_json("{'device': 'eth0'}");
    assert_int_equal(store_insert(fx->store, "PIF", pif, record), 0);
    json_object_put(record);
    assert_int_equal(waiter.n_replies, 0);

    create_network(fx, "wake", net);
    assert_int_equal(waiter.n_replies, 1);
    struct json_object *r = result_of(waiter.response);
    struct json_object *events = member(r, "events");
    assert_int_equal(json_object_array_length(events), 1);
    assert_string_equal(
        fixture_string(json_object_array_get_idx(events, 0), "ref"), net);
    assert_int_equal(strtoull(fixture_string(r, "token"), NULL, 10),
                     store_last_seq(fx->store));
    json_object_put(waiter.response);

    /* Answered once: later writes and its timer do nothing more. */
    create_network(fx, "again", net);
    event_base_loop(fx->base, EVLOOP_NONBLOCK);
    assert_int_equal(waiter.n_replies, 1);
}

/* A waiting call with nothing to report is answered empty, with its
 * token, when its timeout expires. */
static void
test_event_from_timeout(void **state)
{
    struct fixture *fx = *state;
    struct capture waiter = {0, NULL};
    uint64_t token = current_token(fx);

    rpc_deferred(fx, &waiter, "event.from", "['', ['network'], '%llu', 0.05]",
                 (unsigned long long) token);
    event_base_loop(fx->base, EVLOOP_NONBLOCK);
    assert_int_equal(waiter.n_replies, 0);

    for (int i = 0; i < 100 && !waiter.n_replies; i++) {
        event_base_loop(fx->base, EVLOOP_ONCE);
    }
    assert_int_equal(waiter.n_replies, 1);
    struct json_object *r = result_of(waiter.response);
    assert_int_equal(json_object_array_length(member(r, "events")), 0);
    assert_int_equal(strtoull(fixture_string(r, "token"), NULL, 10), token);
    json_object_put(waiter.response);
}

/* A call abandoned by its client is never answered; api_destroy()
 * answers the calls still waiting. */
static void
test_event_from_abandon_and_destroy(void **state)
{
    struct fixture *fx = *state;
    struct capture gone = {0, NULL}, left = {0, NULL};
    char net[UUID_LENGTH + 1];
    uint64_t token = current_token(fx);

    struct api_call *call =
        rpc_deferred(fx, &gone, "event.from", "['', ['*'], '%llu', 5]",
                     (unsigned long long) token);
    rpc_deferred(fx, &left, "event.from", "['', ['PIF'], '%llu', 5]",
                 (unsigned long long) token);
    api_call_abandon(call);
    create_network(fx, "n", net);
    assert_int_equal(gone.n_replies, 0);
    assert_int_equal(left.n_replies, 0);

    api_destroy(fx->api);
    fx->api = NULL;
    assert_int_equal(gone.n_replies, 0);
    assert_int_equal(left.n_replies, 1);
    struct json_object *r = result_of(left.response);
    assert_int_equal(json_object_array_length(member(r, "events")), 0);
    json_object_put(left.response);
}

/* A token older than the retained change log, or newer than the last
 * change, is EVENTS_LOST. */
static void
test_events_lost(void **state)
{
    struct fixture *fx = *state;
    char net[UUID_LENGTH + 1];
    uint64_t token = current_token(fx);

    for (int i = 0; i < 5; i++) {
        create_network(fx, "n", net);
    }
    uint64_t last = store_last_seq(fx->store);
    assert_int_equal(store_prune_changes(fx->store, 2), 0);

    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long) token);
    expect_error(rpc(fx, true, "event.from", "['', ['*'], '%s', 0]", text),
                 ERR_EVENTS_LOST, 1, text, NULL);
    expect_error(rpc(fx, true, "event.from", "['', ['*'], '0', 0]"),
                 ERR_EVENTS_LOST, 1, "0", NULL);
    snprintf(text, sizeof text, "%llu", (unsigned long long) last + 1);
    expect_error(rpc(fx, true, "event.from", "['', ['*'], '%s', 0]", text),
                 ERR_EVENTS_LOST, 1, text, NULL);

    /* The oldest token still covered works and returns what is left. */
    struct json_object *r =
        result_of(rpc(fx, true, "event.from", "['', ['*'], '%llu', 0]",
                      (unsigned long long) last - 2));
    assert_int_equal(json_object_array_length(member(r, "events")), 2);
}

int
main(void)
{
#define TEST(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_local_call_without_login),
        TEST(test_https_needs_session),
        TEST(test_login),
        TEST(test_read_only_user),
        TEST(test_unknown_method),
        TEST(test_read_only_fields),
        TEST(test_wrong_param_type),
        TEST(test_parameter_count),
        TEST(test_handle_invalid),
        TEST(test_bad_requests),
        TEST(test_network_round_trip),
        TEST(test_network_destroy_with_pif),
        TEST(test_user_secret_fields),
        TEST(test_async_task),
        TEST(test_vm_outcome_from_another_host),
        TEST(test_vm_pool_migrate_refusals),
        TEST(test_event_from_tokens),
        TEST(test_batch),
        TEST(test_batch_deferred),
        TEST(test_event_from_wakes_on_write),
        TEST(test_event_from_timeout),
        TEST(test_event_from_abandon_and_destroy),
        TEST(test_events_lost),
    };
#undef TEST
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
