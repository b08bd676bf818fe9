/* Messages (alerts): objects of class "message" raised by netpoold. */
#include "mgmt/store.h"

#include <json-c/json.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/uuid.h"

#define LOG_MODULE "message"

int
store_raise_message(struct store *store, const char *name, int priority,
                    const char *cls, const char *obj_uuid, const char *body)
{
    struct json_object *record = json_object_new_object();
    char uuid[UUID_LENGTH + 1], stamp[CLOCK_ISO8601_SIZE];

    uuid_text_random(uuid);
    clock_iso8601_now(stamp);
    json_object_object_add(record, "name", json_object_new_string(name));
    json_object_object_add(record, "priority", json_object_new_int(priority));
    json_object_object_add(record, "cls", json_object_new_string(cls));
    json_object_object_add(record, "obj_uuid",
                           json_object_new_string(obj_uuid));
    json_object_object_add(record, "timestamp", json_object_new_string(stamp));
    json_object_object_add(record, "body", json_object_new_string(body));
    int error = store_insert(store, "message", uuid, record);
    json_object_put(record);
    if (!error) {
        log_info("message %s (%s %s): %s", name, cls, obj_uuid, body);
    }
    return error;
}
