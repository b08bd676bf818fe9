/* Messages (alerts): objects of class "message" raised by netpoold. */
#include "mgmt/store.h"

#include <string.h>
#include <json-c/json.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/uuid.h"
#include "lib/xalloc.h"

#define LOG_MODULE "message"

/* What store_raise_message() raised, by name and priority: process-wide,
 * as the counters of an exporter are. */
static struct message_count {
    char *name;     /* The message's name. */
    int priority;   /* Its priority. */
    uint64_t count; /* Messages raised. */
} * raised;
static size_t n_raised; /* Entries in 'raised'. */

static void count_raised(const char *name, int priority);

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
    json_object_object_add(record, "raised_on",
                           json_object_new_string(store_local_host(store)));
    int error = store_insert(store, "message", uuid, record);
    json_object_put(record);
    if (!error) {
        log_info("message %s (%s %s): %s", name, cls, obj_uuid, body);
        count_raised(name, priority);
    }
    return error;
}

struct json_object *
store_messages_raised(void)
{
    struct json_object *result = json_object_new_array();

    for (size_t i = 0; i < n_raised; i++) {
        struct json_object *entry = json_object_new_object();
        json_object_object_add(entry, "name",
                               json_object_new_string(raised[i].name));
        json_object_object_add(entry, "priority",
                               json_object_new_int(raised[i].priority));
        json_object_object_add(
            entry, "count", json_object_new_int64((int64_t) raised[i].count));
        json_object_array_add(result, entry);
    }
    return result;
}

static void
count_raised(const char *name, int priority)
{
    for (size_t i = 0; i < n_raised; i++) {
        if (raised[i].priority == priority && !strcmp(raised[i].name, name)) {
            raised[i].count++;
            return;
        }
    }
    raised = xrealloc(raised, (n_raised + 1) * sizeof *raised);
    raised[n_raised++] = (struct message_count){xstrdup(name), priority, 1};
}
