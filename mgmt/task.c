/* Tasks: objects of class "task" that follow long operations. */
#include "mgmt/store.h"

#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/clock.h"
#include "lib/error.h"
#include "lib/record.h"
#include "lib/uuid.h"

int
store_task_create(struct store *store, const char *name, const char *host,
                  const char *owner, char *uuid)
{
    char stamp[CLOCK_ISO8601_SIZE];
    struct json_object *record = json_object_new_object();

    uuid_text_random(uuid);
    clock_iso8601_now(stamp);
    json_object_object_add(record, "name_label", json_object_new_string(name));
    json_object_object_add(record, "status",
                           json_object_new_string("pending"));
    json_object_object_add(record, "created", json_object_new_string(stamp));
    json_object_object_add(record, "resident_on",
                           json_object_new_string(host));
    json_object_object_add(record, "owner", json_object_new_string(owner));
    int error = store_insert(store, "task", uuid, record);
    json_object_put(record);
    return error;
}

bool
store_task_pending(struct store *store, const char *task)
{
    struct json_object *record = store_get(store, "task", task);
    bool pending = !strcmp(record_string(record, "status"), "pending");

    json_object_put(record);
    return pending;
}

int
store_task_set_progress(struct store *store, const char *task, double progress)
{
    struct json_object *record = store_get(store, "task", task);
    int error = 0;

    if (!record) {
        return ENOENT;
    }
    double now =
        json_object_get_double(json_object_object_get(record, "progress"));
    if (!strcmp(record_string(record, "status"), "pending")
        && progress >= now + 0.01 && progress < 1.0) {
        struct json_object *changes = json_object_new_object();
        json_object_object_add(changes, "progress",
                               json_object_new_double(progress));
        error = store_update(store, "task", task, changes);
        json_object_put(changes);
    }
    json_object_put(record);
    return error;
}

int
store_task_note(struct store *store, const char *task, const char *key,
                const char *value)
{
    struct json_object *record = store_get(store, "task", task);

    if (!record) {
        return ENOENT;
    }
    struct json_object *config = NULL;
    json_object_deep_copy(json_object_object_get(record, "other_config"),
                          &config, NULL);
    if (!json_object_is_type(config, json_type_object)) {
        json_object_put(config);
        config = json_object_new_object();
    }
    json_object_object_add(config, key, json_object_new_string(value));
    struct json_object *changes = json_object_new_object();
    json_object_object_add(changes, "other_config", config);
    int error = store_update(store, "task", task, changes);
    json_object_put(changes);
    json_object_put(record);
    return error;
}

int
store_task_finish(struct store *store, const char *task,
                  struct json_object *result, const struct np_error *error)
{
    struct json_object *record = store_get(store, "task", task);

    if (!record) {
        return ENOENT;
    }
    bool pending = !strcmp(record_string(record, "status"), "pending");
    json_object_put(record);
    if (!pending) {
        return EALREADY;
    }

    char stamp[CLOCK_ISO8601_SIZE];
    struct json_object *changes = json_object_new_object();
    clock_iso8601_now(stamp);
    json_object_object_add(changes, "finished", json_object_new_string(stamp));
    json_object_object_add(changes, "progress", json_object_new_double(1.0));
    if (error) {
        bool cancelled = !strcmp(error->code, ERR_TASK_CANCELLED);
        json_object_object_add(
            changes, "status",
            json_object_new_string(cancelled ? "cancelled" : "failure"));
        json_object_object_add(changes, "error_info", np_error_to_json(error));
    } else {
        json_object_object_add(changes, "status",
                               json_object_new_string("success"));
        json_object_object_add(
            changes, "result",
            json_object_new_string(result ? json_object_to_json_string_ext(
                                       result, JSON_C_TO_STRING_PLAIN)
                                          : ""));
    }
    int retval = store_update(store, "task", task, changes);
    json_object_put(changes);
    return retval;
}
