#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/jsonrpc.h"
#include "lib/xalloc.h"

#define MAX_PASSWORD_FILE_SIZE 4096

/* Schemas fetched during one command. */
struct cli_schema_cache {
    struct cli_schema **schemas; /* One per class asked about. */
    size_t n;                    /* Entries in 'schemas'. */
};

static struct np_error *rpc(struct cli_session *session, const char *method,
                            struct json_object *params,
                            struct json_object **resultp);
static struct np_error *login(struct cli_session *session,
                              const struct cli_args *args);
static struct np_error *read_password_file(const char *path, char **userp,
                                           char **passwordp);

struct np_error *
cli_session_open(struct cli_session *session, const struct cli_args *args)
{
    const char *cafile;

    memset(session, 0, sizeof *session);
    session->ref = xstrdup("");
    session->next_id = 1;
    session->schemas = xzalloc(sizeof *session->schemas);

    if (!args->host) {
        const char *path = getenv("NETPOOL_SOCKET");
        session->target.socket_path =
            (path && *path ? path : CLI_DEFAULT_SOCKET);
        return NULL;
    }

    cafile = args->cafile ? args->cafile : getenv("NETPOOL_CAFILE");
    session->target.host = args->host;
    session->target.port = args->port;
    session->target.cafile = cafile && *cafile ? cafile : NULL;
    session->target.ssl_verify = args->ssl_verify;
    return login(session, args);
}

void
cli_session_close(struct cli_session *session)
{
    if (!session) {
        return;
    }
    if (session->logged_in) {
        /* A failed logout leaves a session that expires on its own. */
        np_error_destroy(cli_call(session, "session.logout", NULL, NULL));
    }
    if (session->schemas) {
        for (size_t i = 0; i < session->schemas->n; i++) {
            cli_schema_destroy(session->schemas->schemas[i]);
        }
        free(session->schemas->schemas);
        free(session->schemas);
    }
    free(session->ref);
    memset(session, 0, sizeof *session);
}

struct np_error *
cli_call(struct cli_session *session, const char *method,
         struct json_object *params, struct json_object **resultp)
{
    struct json_object *full = json_object_new_array();
    size_t n = params ? json_object_array_length(params) : 0;

    json_object_array_add(full, json_object_new_string(session->ref));
    for (size_t i = 0; i < n; i++) {
        json_object_array_add(
            full, json_object_get(json_object_array_get_idx(params, i)));
    }
    json_object_put(params);
    return rpc(session, method, full, resultp);
}

struct np_error *
cli_callv(struct cli_session *session, struct json_object **resultp,
          const char *method, ...)
{
    struct json_object *params = json_object_new_array();
    struct json_object *param;
    va_list args;

    va_start(args, method);
    while ((param = va_arg(args, struct json_object *)) != NULL) {
        json_object_array_add(params, param);
    }
    va_end(args);
    return cli_call(session, method, params, resultp);
}

struct np_error *
cli_session_schema(struct cli_session *session, const struct cli_class *class,
                   const struct cli_schema **schemap)
{
    struct cli_schema_cache *cache = session->schemas;
    struct json_object *result;
    struct cli_schema *schema;
    struct np_error *error;
    char *method;

    for (size_t i = 0; i < cache->n; i++) {
        if (cache->schemas[i]->class == class) {
            *schemap = cache->schemas[i];
            return NULL;
        }
    }

    *schemap = NULL;
    method = xasprintf("%s.get_schema", class->api_name);
    error = cli_call(session, method, NULL, &result);
    if (!error) {
        schema = cli_schema_from_json(class, result);
        json_object_put(result);
        if (!schema) {
            error = np_error_new(ERR_INTERNAL_ERROR, method,
                                 "the schema is not a list", NULL);
        } else {
            cache->schemas = xrealloc(cache->schemas,
                                      (cache->n + 1) * sizeof *cache->schemas);
            cache->schemas[cache->n++] = schema;
            *schemap = schema;
        }
    }
    free(method);
    return error;
}

/* Sends one request: 'params' (ownership taken) is the whole parameter
 * list. */
static struct np_error *
rpc(struct cli_session *session, const char *method,
    struct json_object *params, struct json_object **resultp)
{
    struct json_object *request, *result = NULL;
    struct np_error *error;
    size_t reply_size;
    const char *body;
    char *reply;

    request = jsonrpc_make_request(method, params, session->next_id++);
    body = json_object_to_json_string_ext(
        request, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    error = cli_transport_post(&session->target, body, strlen(body), &reply,
                               &reply_size);
    json_object_put(request);
    if (error) {
        goto out;
    }

    if (jsonrpc_parse_response(reply, reply_size, &result, &error)) {
        error = np_error_new(ERR_JSON_PARSE_ERROR, method,
                             "the reply is not a JSON-RPC 2.0 response", NULL);
    }
    free(reply);

out:
    if (resultp && !error) {
        *resultp = result;
    } else {
        json_object_put(result);
        if (resultp) {
            *resultp = NULL;
        }
    }
    return error;
}

/* Logs in over HTTPS with the credentials of 'args'. */
static struct np_error *
login(struct cli_session *session, const struct cli_args *args)
{
    char *file_user = NULL, *file_password = NULL;
    const char *user, *password;
    struct json_object *params, *result = NULL;
    struct np_error *error = NULL;

    if (args->password_file) {
        error = read_password_file(args->password_file, &file_user,
                                   &file_password);
        if (error) {
            goto out;
        }
    }
    user = args->user ? args->user : file_user;
    password = args->password ? args->password : file_password;
    if (!user) {
        error = np_error_new(ERR_MISSING_PARAMETER, "-u", NULL);
        goto out;
    } else if (!password) {
        error = np_error_new(ERR_MISSING_PARAMETER, "-pw", NULL);
        goto out;
    }

    params = json_object_new_array();
    json_object_array_add(params, json_object_new_string(user));
    json_object_array_add(params, json_object_new_string(password));
    error = rpc(session, "session.login_with_password", params, &result);
    if (error) {
        goto out;
    }
    if (!json_object_is_type(result, json_type_string)) {
        error = np_error_new(ERR_INTERNAL_ERROR, "session.login_with_password",
                             "the result is not a session reference", NULL);
        goto out;
    }
    free(session->ref);
    session->ref = xstrdup(json_object_get_string(result));
    session->logged_in = true;

out:
    json_object_put(result);
    free(file_user);
    if (file_password) {
        explicit_bzero(file_password, strlen(file_password));
        free(file_password);
    }
    return error;
}

/* Reads -pwf 'path': one line holds the password, two lines the user and
 * the password, as xe's password files do. */
static struct np_error *
read_password_file(const char *path, char **userp, char **passwordp)
{
    char buf[MAX_PASSWORD_FILE_SIZE + 1];
    char *lines[2] = {NULL, NULL};
    size_t n_lines = 0, size;
    FILE *file = fopen(path, "r");
    char *save = NULL;

    *userp = *passwordp = NULL;
    if (!file) {
        return np_error_new(ERR_INVALID_VALUE, "-pwf", path, NULL);
    }
    size = fread(buf, 1, MAX_PASSWORD_FILE_SIZE, file);
    fclose(file);
    buf[size] = '\0';

    for (char *line = strtok_r(buf, "\r\n", &save); line && n_lines < 2;
         line = strtok_r(NULL, "\r\n", &save)) {
        lines[n_lines++] = line;
    }
    if (n_lines == 1) {
        *passwordp = xstrdup(lines[0]);
    } else if (n_lines == 2) {
        *userp = xstrdup(lines[0]);
        *passwordp = xstrdup(lines[1]);
    }
    explicit_bzero(buf, sizeof buf);
    if (!*passwordp) {
        return np_error_new(ERR_INVALID_VALUE, "-pwf", path, NULL);
    }
    return NULL;
}
