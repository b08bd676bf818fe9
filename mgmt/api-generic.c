/*
 * The methods every class has: get_all, get_all_records, get_record,
 * get_by_uuid, get_by_name_label, get_schema, get_<field>, set_<field>,
 * add_to_<map>, remove_from_<map>, and create/destroy where a class allows
 * them.  The method name alone says what to do; the schema in store.h says
 * what is allowed.
 */
#include "mgmt/api-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "api"

/* Class-specific create and destroy. */
struct lifecycle {
    const char *class;   /* Class name. */
    api_method *create;  /* <class>.create, or NULL. */
    api_method *destroy; /* <class>.destroy, or NULL. */
};

static api_method generic_call;
static api_method network_create, network_destroy;
static api_method user_create, user_destroy;
static api_method plain_destroy;

/* Rules of other modules that a set_<field> must pass. */
static api_set_check *const set_checks[] = {
    api_vlan_check_set, api_flow_check_set, api_management_check_set,
    api_dpdk_check_set, api_vm_check_set,   api_ha_check_set,
};

static const struct lifecycle lifecycles[] = {
    {"network", network_create, network_destroy},
    {"user", user_create, user_destroy},
    {"message", NULL, plain_destroy},
    {"task", NULL, plain_destroy},
};

static const struct store_class *split_method(const char *method,
                                              const char **verb);
static const struct lifecycle *find_lifecycle(const char *class);
static struct np_error *get_object(struct api_call *,
                                   const struct store_class *, size_t arg,
                                   const char **uuid,
                                   struct json_object **record);
static struct np_error *get_field(struct api_call *,
                                  const struct store_class *,
                                  const struct store_field *,
                                  struct json_object **result);
static struct np_error *set_field(struct api_call *,
                                  const struct store_class *,
                                  const struct store_field *);
static struct np_error *change_map(struct api_call *,
                                   const struct store_class *,
                                   const struct store_field *, bool add);
static struct np_error *check_record(const struct store_class *,
                                     struct json_object *record,
                                     const char *skip);
static struct json_object *schema_of(const struct store_class *);

api_method *
api_generic_method(const char *name)
{
    const char *verb;
    const struct store_class *class = split_method(name, &verb);

    if (!class || class->secret) {
        return NULL;
    }
    if (!strcmp(verb, "get_all") || !strcmp(verb, "get_all_records")
        || !strcmp(verb, "get_record") || !strcmp(verb, "get_by_uuid")
        || !strcmp(verb, "get_schema")) {
        return generic_call;
    }
    if (!strcmp(verb, "get_by_name_label")) {
        return store_class_field(class, "name_label") ? generic_call : NULL;
    }

    const struct lifecycle *lc = find_lifecycle(class->name);
    if (!strcmp(verb, "create")) {
        return lc ? lc->create : NULL;
    } else if (!strcmp(verb, "destroy")) {
        return lc ? lc->destroy : NULL;
    }

    static const char *const prefixes[] = {"get_", "set_", "add_to_",
                                           "remove_from_"};
    for (size_t i = 0; i < 4; i++) {
        size_t len = strlen(prefixes[i]);
        if (strncmp(verb, prefixes[i], len)) {
            continue;
        }
        const struct store_field *f = store_class_field(class, verb + len);
        if (!f || (f->flags & FIELD_SECRET)) {
            return NULL;
        }
        if (i == 0) {
            return generic_call;
        }
        /* Writes: set_ for any field (a read-only one answers
         * FIELD_READ_ONLY), add_to_/remove_from_ for maps. */
        if (i >= 2 && f->type != STORE_MAP) {
            return NULL;
        }
        return generic_call;
    }
    return NULL;
}

/* The generic methods. */

static struct np_error *
generic_call(struct api_call *call, struct json_object **result,
             bool *deferred)
{
    struct store *store = call->api->store;
    const char *verb;
    const struct store_class *class = split_method(call->method, &verb);
    struct np_error *error;

    if (!strcmp(verb, "get_all") || !strcmp(verb, "get_all_records")) {
        if ((error = api_expect_args(call, 0))) {
            return error;
        }
        struct json_object *all = store_get_all(store, class->name);
        bool records = !strcmp(verb, "get_all_records");
        *result = records ? json_object_new_object() : json_object_new_array();
        json_object_object_foreach (all, uuid, record) {
            if (records) {
                json_object_object_add(*result, uuid,
                                       api_public_record(class, record));
            } else {
                json_object_array_add(*result, json_object_new_string(uuid));
            }
        }
        json_object_put(all);
        return NULL;
    }
    if (!strcmp(verb, "get_schema")) {
        if ((error = api_expect_args(call, 0))) {
            return error;
        }
        *result = schema_of(class);
        return NULL;
    }
    if (!strcmp(verb, "get_by_name_label")) {
        const char *label;
        if ((error = api_expect_args(call, 1))
            || (error = api_arg_string(call, 0, "label", &label))) {
            return error;
        }
        struct json_object *value = json_object_new_string(label);
        *result = store_find(store, class->name, "name_label", value);
        json_object_put(value);
        return NULL;
    }
    if ((error = api_expect_args(call, !strncmp(verb, "get_", 4)      ? 1
                                       : !strncmp(verb, "set_", 4)    ? 2
                                       : !strncmp(verb, "add_to_", 7) ? 3
                                                                      : 2))) {
        return error;
    }

    const char *field_name = !strncmp(verb, "set_", 4)            ? verb + 4
                             : !strncmp(verb, "add_to_", 7)       ? verb + 7
                             : !strncmp(verb, "remove_from_", 12) ? verb + 12
                                                                  : NULL;
    const struct store_field *field =
        field_name ? store_class_field(class, field_name) : NULL;
    if (field && (field->flags & FIELD_RO)) {
        return np_error_new(ERR_FIELD_READ_ONLY, field->name, NULL);
    }

    const char *uuid;
    struct json_object *record;
    if ((error = get_object(call, class, 0, &uuid, &record))) {
        return error;
    }
    if (!strcmp(verb, "get_record")) {
        *result = api_public_record(class, record);
    } else if (!strcmp(verb, "get_by_uuid")) {
        *result = json_object_new_string(uuid);
    } else if (!strncmp(verb, "get_", 4)) {
        error =
            get_field(call, class, store_class_field(class, verb + 4), result);
    } else if (!strncmp(verb, "set_", 4)) {
        error = set_field(call, class, store_class_field(class, verb + 4));
    } else if (!strncmp(verb, "add_to_", 7)) {
        error =
            change_map(call, class, store_class_field(class, verb + 7), true);
    } else {
        error = change_map(call, class, store_class_field(class, verb + 12),
                           false);
    }
    json_object_put(record);
    return error;
}

static struct np_error *
get_field(struct api_call *call, const struct store_class *class,
          const struct store_field *field, struct json_object **result)
{
    const char *uuid =
        json_object_get_string(json_object_array_get_idx(call->args, 0));
    struct json_object *record =
        store_get(call->api->store, class->name, uuid);
    struct json_object *value;

    if (!record) {
        return np_error_new(ERR_HANDLE_INVALID, class->name, uuid, NULL);
    }
    json_object_object_get_ex(record, field->name, &value);
    *result = json_object_get(value);
    json_object_put(record);
    return NULL;
}

static struct np_error *
set_field(struct api_call *call, const struct store_class *class,
          const struct store_field *field)
{
    const char *uuid =
        json_object_get_string(json_object_array_get_idx(call->args, 0));
    struct json_object *value = json_object_array_get_idx(call->args, 1);
    struct np_error *error = store_check_value(class, field, value);

    if (error) {
        return error;
    }
    for (size_t i = 0; i < sizeof set_checks / sizeof *set_checks; i++) {
        if ((error = set_checks[i](call->api, class, field, uuid, value))) {
            return error;
        }
    }
    if (field->type == STORE_REF && *json_object_get_string(value)
        && !store_exists(call->api->store, field->ref_class,
                         json_object_get_string(value))) {
        return np_error_new(ERR_HANDLE_INVALID, field->ref_class,
                            json_object_get_string(value), NULL);
    }
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, field->name, json_object_get(value));
    int retval = store_update(call->api->store, class->name, uuid, changes);
    json_object_put(changes);
    return retval ? api_store_error(retval, class->name, uuid) : NULL;
}

static struct np_error *
change_map(struct api_call *call, const struct store_class *class,
           const struct store_field *field, bool add)
{
    const char *uuid, *key, *value = NULL;
    struct np_error *error;

    if ((error = api_arg_string(call, 0, "ref", &uuid))
        || (error = api_arg_string(call, 1, "key", &key))
        || (add && (error = api_arg_string(call, 2, "value", &value)))) {
        return error;
    }

    struct json_object *record =
        store_get(call->api->store, class->name, uuid);
    struct json_object *map;
    if (!record) {
        return np_error_new(ERR_HANDLE_INVALID, class->name, uuid, NULL);
    }
    json_object_object_get_ex(record, field->name, &map);
    if (add) {
        if (json_object_object_get_ex(map, key, NULL)) {
            json_object_put(record);
            return np_error_new(ERR_MAP_DUPLICATE_KEY, class->name,
                                field->name, key, NULL);
        }
        json_object_object_add(map, key, json_object_new_string(value));
        /* The map with the new key must pass the same rules as a
         * set_<field> of it. */
        for (size_t i = 0; i < sizeof set_checks / sizeof *set_checks; i++) {
            if ((error = set_checks[i](call->api, class, field, uuid, map))) {
                json_object_put(record);
                return error;
            }
        }
    } else {
        json_object_object_del(map, key);
    }

    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, field->name, json_object_get(map));
    int retval = store_update(call->api->store, class->name, uuid, changes);
    json_object_put(changes);
    json_object_put(record);
    return retval ? api_store_error(retval, class->name, uuid) : NULL;
}

/* Class-specific create and destroy. */

static struct np_error *
network_create(struct api_call *call, struct json_object **result,
               bool *deferred)
{
    const struct store_class *class = store_class_find("network", false);
    struct json_object *record;
    struct np_error *error;
    char uuid[UUID_LENGTH + 1];

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_object(call, 0, "record", &record))
        || (error = check_record(class, record, NULL))
        || (error = dp_flow_export_check_map(
                json_object_object_get(record, "other_config")))) {
        return error;
    }
    /* A private network's bridge: the first free "xapiN", kept for the
     * network's life so that its name is stable across restarts. */
    char bridge[16];
    for (unsigned int n = 0;; n++) {
        snprintf(bridge, sizeof bridge, "xapi%u", n);
        struct json_object *name = json_object_new_string(bridge);
        struct json_object *users =
            store_find(call->api->store, "network", "bridge", name);
        bool taken = json_object_array_length(users) > 0;
        json_object_put(users);
        json_object_put(name);
        if (!taken) {
            break;
        }
    }
    struct json_object *stored = json_object_new_object();
    json_object_object_foreach (record, key, value) {
        json_object_object_add(stored, key, json_object_get(value));
    }
    json_object_object_add(stored, "bridge", json_object_new_string(bridge));

    uuid_text_random(uuid);
    int retval = store_insert(call->api->store, "network", uuid, stored);
    json_object_put(stored);
    if (retval) {
        return api_store_error(retval, "network", uuid);
    }
    *result = json_object_new_string(uuid);
    return NULL;
}

static struct np_error *
network_destroy(struct api_call *call, struct json_object **result,
                bool *deferred)
{
    const char *uuid;
    struct json_object *record, *pifs;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = get_object(call, store_class_find("network", false), 0,
                               &uuid, &record))) {
        return error;
    }
    json_object_object_get_ex(record, "PIFs", &pifs);
    if (json_object_array_length(pifs) > 0) {
        error = np_error_new(
            ERR_NETWORK_CONTAINS_PIF,
            json_object_get_string(json_object_array_get_idx(pifs, 0)), NULL);
    }
    /* Its VIFs' ports would be left without a bridge. */
    struct json_object *vifs;
    json_object_object_get_ex(record, "VIFs", &vifs);
    if (!error && json_object_array_length(vifs) > 0) {
        error = np_error_new(
            ERR_NETWORK_CONTAINS_VIF,
            json_object_get_string(json_object_array_get_idx(vifs, 0)), NULL);
    }
    json_object_put(record);
    if (error) {
        return error;
    }
    int retval = store_delete(call->api->store, "network", uuid);
    return retval ? api_store_error(retval, "network", uuid) : NULL;
}

static struct np_error *
user_create(struct api_call *call, struct json_object **result, bool *deferred)
{
    const struct store_class *class = store_class_find("user", false);
    struct json_object *record, *value;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = api_arg_object(call, 0, "record", &record))) {
        return error;
    }
    if (!json_object_object_get_ex(record, "password", &value)) {
        return np_error_new(ERR_MISSING_PARAMETER, "password", NULL);
    }
    if (!json_object_is_type(value, json_type_string)) {
        return np_error_new(ERR_FIELD_TYPE_ERROR, "password", NULL);
    }
    const char *password = json_object_get_string(value);
    if (strlen(password) < 8) {
        return np_error_new(ERR_INVALID_VALUE, "password",
                            "at least 8 characters", NULL);
    }
    if ((error = check_record(class, record, "password"))) {
        return error;
    }

    json_object_object_get_ex(record, "username", &value);
    const char *name = json_object_get_string(value);
    char *existing = api_find_user(call->api, name);
    if (existing) {
        free(existing);
        return np_error_new(ERR_USER_ALREADY_EXISTS, name, NULL);
    }
    if (!*name || strlen(name) > 64 || strpbrk(name, " :,;\t\n")) {
        return np_error_new(ERR_INVALID_VALUE, "username", name, NULL);
    }

    char *hash = password_hash(password);
    if (!hash) {
        return np_error_new(ERR_INTERNAL_ERROR, "password hash", NULL);
    }
    struct json_object *stored = json_object_new_object();
    json_object_object_foreach (record, key, v) {
        if (strcmp(key, "password")) {
            json_object_object_add(stored, key, json_object_get(v));
        }
    }
    json_object_object_add(stored, "password_hash",
                           json_object_new_string(hash));
    free(hash);

    char uuid[UUID_LENGTH + 1];
    uuid_text_random(uuid);
    int retval = store_insert(call->api->store, "user", uuid, stored);
    json_object_put(stored);
    if (retval) {
        return api_store_error(retval, "user", uuid);
    }
    *result = json_object_new_string(uuid);
    return NULL;
}

static struct np_error *
user_destroy(struct api_call *call, struct json_object **result,
             bool *deferred)
{
    const char *uuid;
    struct json_object *record, *name;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = get_object(call, store_class_find("user", false), 0, &uuid,
                               &record))) {
        return error;
    }
    json_object_object_get_ex(record, "username", &name);
    if (!strcmp(json_object_get_string(name), "root")) {
        json_object_put(record);
        return np_error_new(ERR_OPERATION_NOT_ALLOWED,
                            "the root user cannot be destroyed", NULL);
    }
    json_object_put(record);

    /* The user's sessions go with it, in the same transaction. */
    struct store *store = call->api->store;
    struct json_object *user = json_object_new_string(uuid);
    struct json_object *sessions =
        store_find(store, "session", "this_user", user);
    int retval = store_begin(store);
    for (size_t i = 0; !retval && i < json_object_array_length(sessions);
         i++) {
        retval = store_delete(
            store, "session",
            json_object_get_string(json_object_array_get_idx(sessions, i)));
    }
    if (!retval) {
        retval = store_delete(store, "user", uuid);
    }
    if (retval) {
        store_rollback(store);
    } else {
        retval = store_commit(store);
    }
    json_object_put(sessions);
    json_object_put(user);
    return retval ? api_store_error(retval, "user", uuid) : NULL;
}

static struct np_error *
plain_destroy(struct api_call *call, struct json_object **result,
              bool *deferred)
{
    const char *verb;
    const struct store_class *class = split_method(call->method, &verb);
    const char *uuid;
    struct json_object *record;
    struct np_error *error;

    if ((error = api_expect_args(call, 1))
        || (error = get_object(call, class, 0, &uuid, &record))) {
        return error;
    }
    json_object_put(record);
    int retval = store_delete(call->api->store, class->name, uuid);
    return retval ? api_store_error(retval, class->name, uuid) : NULL;
}

/* Helpers. */

/* Splits "network.get_record" into its class and '*verb'. */
static const struct store_class *
split_method(const char *method, const char **verb)
{
    const char *dot = strchr(method, '.');
    char name[32];

    if (!dot || dot - method >= (int) sizeof name) {
        return NULL;
    }
    memcpy(name, method, dot - method);
    name[dot - method] = '\0';
    *verb = dot + 1;
    return store_class_find(name, false);
}

static const struct lifecycle *
find_lifecycle(const char *class)
{
    for (size_t i = 0; i < sizeof lifecycles / sizeof *lifecycles; i++) {
        if (!strcmp(lifecycles[i].class, class)) {
            return &lifecycles[i];
        }
    }
    return NULL;
}

/* Reads argument 'arg' as a reference to an existing object of 'class'. */
static struct np_error *
get_object(struct api_call *call, const struct store_class *class, size_t arg,
           const char **uuid, struct json_object **record)
{
    return api_arg_ref(call, arg, class->name, "ref", uuid, record);
}

/* Checks a record given to <class>.create: only FIELD_CREATE fields (and
 * 'skip'), every FIELD_REQUIRED one present, every value of its type. */
static struct np_error *
check_record(const struct store_class *class, struct json_object *record,
             const char *skip)
{
    json_object_object_foreach (record, key, value) {
        if (skip && !strcmp(key, skip)) {
            continue;
        }
        const struct store_field *f = store_class_field(class, key);
        if (!f || !(f->flags & FIELD_CREATE)) {
            return np_error_new(ERR_INVALID_VALUE, key,
                                "not a field accepted on create", NULL);
        }
        struct np_error *error = store_check_value(class, f, value);
        if (error) {
            return error;
        }
    }
    for (size_t i = 0; i < class->n_fields; i++) {
        const struct store_field *f = &class->fields[i];
        if ((f->flags & FIELD_REQUIRED)
            && !json_object_object_get_ex(record, f->name, NULL)) {
            return np_error_new(ERR_MISSING_PARAMETER, f->name, NULL);
        }
    }
    return NULL;
}

struct np_error *
api_check_record(const struct store_class *class, struct json_object *record,
                 const char *skip)
{
    return check_record(class, record, skip);
}

static struct json_object *
schema_of(const struct store_class *class)
{
    static const char *const types[] = {
        [STORE_STRING] = "string",     [STORE_INT] = "int",
        [STORE_BOOL] = "bool",         [STORE_FLOAT] = "float",
        [STORE_ENUM] = "enum",         [STORE_REF] = "ref",
        [STORE_SET] = "set",           [STORE_MAP] = "map",
        [STORE_DATETIME] = "datetime",
    };
    struct json_object *fields = json_object_new_array();

    for (size_t i = 0; i < class->n_fields; i++) {
        const struct store_field *f = &class->fields[i];
        if (f->flags & FIELD_SECRET) {
            continue;
        }
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(f->name));
        json_object_object_add(o, "type",
                               json_object_new_string(types[f->type]));
        json_object_object_add(
            o, "mode",
            json_object_new_string(f->flags & FIELD_RO ? "RO" : "RW"));
        json_object_object_add(
            o, "create", json_object_new_boolean(f->flags & FIELD_CREATE));
        json_object_object_add(
            o, "required", json_object_new_boolean(f->flags & FIELD_REQUIRED));
        if (f->ref_class) {
            json_object_object_add(o, "class",
                                   json_object_new_string(f->ref_class));
        }
        if (f->enum_values) {
            struct json_object *values = json_object_new_array();
            for (const char *const *e = f->enum_values; *e; e++) {
                json_object_array_add(values, json_object_new_string(*e));
            }
            json_object_object_add(o, "values", values);
        }
        json_object_array_add(fields, o);
    }
    return fields;
}
