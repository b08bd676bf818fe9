/*
 * Sessions and local users: login, logout, password changes, and the
 * check that turns a session reference into a user and a role.
 */
#include "mgmt/api-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/clock.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "session"

static api_method login_with_password, logout, get_this_user, change_password;

static const struct {
    const char *name;
    api_method *fn;
} methods[] = {
    {"session.login_with_password", login_with_password},
    {"session.logout", logout},
    {"session.get_this_user", get_this_user},
    {"session.change_password", change_password},
};

static struct json_object *get_user(struct api *, const char *uuid);

api_method *
api_session_method(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (!strcmp(methods[i].name, name)) {
            return methods[i].fn;
        }
    }
    return NULL;
}

struct np_error *
api_session_check(struct api_call *call)
{
    struct api *api = call->api;

    if (!call->session[0]) {
        /* The local socket: the caller is root. */
        char *root = api_find_user(api, "root");
        snprintf(call->user, sizeof call->user, "%s", root ? root : "");
        snprintf(call->role, sizeof call->role, "pool-admin");
        free(root);
        return NULL;
    }

    struct json_object *session =
        store_get(api->store, "session", call->session);
    struct json_object *value;
    if (!session) {
        return np_error_new(ERR_SESSION_INVALID, call->session, NULL);
    }
    json_object_object_get_ex(session, "this_user", &value);
    struct json_object *user = get_user(api, json_object_get_string(value));
    json_object_put(session);
    if (!user) {
        return np_error_new(ERR_SESSION_INVALID, call->session, NULL);
    }
    snprintf(
        call->user, sizeof call->user, "%s",
        json_object_get_string(value = json_object_object_get(user, "uuid")));
    json_object_object_get_ex(user, "role", &value);
    snprintf(call->role, sizeof call->role, "%s",
             json_object_get_string(value));
    json_object_put(user);
    return NULL;
}

int
api_ensure_root(struct api *api, char *password)
{
    char *root = api_find_user(api, "root");
    if (root) {
        free(root);
        return 0;
    }

    if (password_generate(password, PASSWORD_LENGTH)) {
        return -EIO;
    }
    char *hash = password_hash(password);
    if (!hash) {
        return -EIO;
    }
    struct json_object *record = json_object_new_object();
    json_object_object_add(record, "username", json_object_new_string("root"));
    json_object_object_add(record, "role",
                           json_object_new_string("pool-admin"));
    json_object_object_add(record, "password_hash",
                           json_object_new_string(hash));
    free(hash);

    char uuid[UUID_LENGTH + 1];
    uuid_text_random(uuid);
    int error = store_insert(api->store, "user", uuid, record);
    json_object_put(record);
    return error ? -error : 1;
}

char *
api_find_user(struct api *api, const char *name)
{
    struct json_object *value = json_object_new_string(name);
    struct json_object *uuids =
        store_find(api->store, "user", "username", value);
    char *uuid = NULL;

    if (json_object_array_length(uuids) > 0) {
        uuid = xstrdup(
            json_object_get_string(json_object_array_get_idx(uuids, 0)));
    }
    json_object_put(uuids);
    json_object_put(value);
    return uuid;
}

/* Methods. */

/* session.login_with_password(user, password [, version, originator]). */
static struct np_error *
login_with_password(struct api_call *call, struct json_object **result,
                    bool *deferred)
{
    struct api *api = call->api;
    const char *name, *password, *originator = "";
    struct np_error *error;
    size_t n = json_object_array_length(call->args);

    if (n < 2 || n > 4) {
        return api_expect_args(call, 2);
    }
    if ((error = api_arg_string(call, 0, "uname", &name))
        || (error = api_arg_string(call, 1, "pwd", &password))
        || (n == 4
            && (error = api_arg_string(call, 3, "originator", &originator)))) {
        return error;
    }

    char *uuid = api_find_user(api, name);
    struct json_object *user = uuid ? get_user(api, uuid) : NULL;
    struct json_object *hash;
    if (!user || !json_object_object_get_ex(user, "password_hash", &hash)
        || !password_verify(password, json_object_get_string(hash))) {
        log_warn("failed login for user '%.64s'", name);
        json_object_put(user);
        free(uuid);
        return np_error_new(ERR_SESSION_AUTHENTICATION_FAILED, name,
                            "Authentication failure", NULL);
    }
    json_object_put(user);

    char session[UUID_LENGTH + 1], stamp[CLOCK_ISO8601_SIZE];
    uuid_text_random(session);
    clock_iso8601_now(stamp);
    struct json_object *record = json_object_new_object();
    json_object_object_add(record, "this_host",
                           json_object_new_string(api->host_uuid));
    json_object_object_add(record, "this_user", json_object_new_string(uuid));
    json_object_object_add(record, "originator",
                           json_object_new_string(originator));
    json_object_object_add(record, "last_active",
                           json_object_new_string(stamp));
    int retval = store_insert(api->store, "session", session, record);
    json_object_put(record);
    free(uuid);
    if (retval) {
        return api_store_error(retval, "session", session);
    }
    log_info("user '%.64s' logged in (%s)", name, originator);
    *result = json_object_new_string(session);
    return NULL;
}

static struct np_error *
logout(struct api_call *call, struct json_object **result, bool *deferred)
{
    struct np_error *error = api_expect_args(call, 0);
    if (error || !call->session[0]) {
        return error;
    }
    int retval = store_delete(call->api->store, "session", call->session);
    return retval ? api_store_error(retval, "session", call->session) : NULL;
}

static struct np_error *
get_this_user(struct api_call *call, struct json_object **result,
              bool *deferred)
{
    struct np_error *error = api_expect_args(call, 0);
    if (!error) {
        *result = json_object_new_string(call->user);
    }
    return error;
}

/* session.change_password(old, new): the caller's own password.  The old
 * one must match, except for the local root. */
static struct np_error *
change_password(struct api_call *call, struct json_object **result,
                bool *deferred)
{
    const char *old, *new;
    struct np_error *error;

    if ((error = api_expect_args(call, 2))
        || (error = api_arg_string(call, 0, "old_pwd", &old))
        || (error = api_arg_string(call, 1, "new_pwd", &new))) {
        return error;
    }
    if (strlen(new) < 8) {
        return np_error_new(ERR_INVALID_VALUE, "new_pwd",
                            "at least 8 characters", NULL);
    }
    struct json_object *user = get_user(call->api, call->user);
    struct json_object *hash;
    if (!user) {
        return np_error_new(ERR_SESSION_INVALID, call->session, NULL);
    }
    json_object_object_get_ex(user, "password_hash", &hash);
    bool ok = !call->session[0]
              || password_verify(old, json_object_get_string(hash));
    json_object_put(user);
    if (!ok) {
        return np_error_new(ERR_SESSION_AUTHENTICATION_FAILED, "old_pwd",
                            "Authentication failure", NULL);
    }

    char *new_hash = password_hash(new);
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "password_hash",
                           json_object_new_string(new_hash));
    free(new_hash);
    int retval = store_update(call->api->store, "user", call->user, changes);
    json_object_put(changes);
    return retval ? api_store_error(retval, "user", call->user) : NULL;
}

static struct json_object *
get_user(struct api *api, const char *uuid)
{
    return uuid && *uuid ? store_get(api->store, "user", uuid) : NULL;
}
