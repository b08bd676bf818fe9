/*
 * record: reading fields of a store record (a JSON object from
 * mgmt/store.h, or one the reconcilers build) without caring whether the
 * record or the field is there.
 *
 * Static inline, like xalloc.h, so that any module may use it without a
 * link dependency.
 */
#ifndef NETPOOL_LIB_RECORD_H
#define NETPOOL_LIB_RECORD_H 1

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

/* Returns the string field 'name' of 'record' (borrowed), or "" when
 * 'record' is NULL or the field is missing or not a string. */
static inline const char *
record_string(struct json_object *record, const char *name)
{
    struct json_object *value;
    return record && json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
}

/* Returns the boolean field 'name' of 'record': false when 'record' is
 * NULL or the field is missing. */
static inline bool
record_bool(struct json_object *record, const char *name)
{
    struct json_object *value;
    return record && json_object_object_get_ex(record, name, &value)
           && json_object_get_boolean(value);
}

/* Returns the integer field 'name' of 'record', or 'fallback' when
 * 'record' is NULL or the field is missing or not an integer. */
static inline int64_t
record_int(struct json_object *record, const char *name, int64_t fallback)
{
    struct json_object *value;
    return record && json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_int)
               ? json_object_get_int64(value)
               : fallback;
}

#endif /* lib/record.h */
