/*
 * fixture: what the unit tests share — a scratch directory that removes
 * itself with everything in it, and JSON literals written with single
 * quotes so that test data stays readable in C strings.
 *
 * Only tests/unit/test-*.c include this header.  It never touches anything
 * outside the scratch directories it made.
 */
#ifndef NETPOOL_TESTS_UNIT_FIXTURE_H
#define NETPOOL_TESTS_UNIT_FIXTURE_H 1

#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/xalloc.h"
#include "mgmt/store.h"

/* Returns a new directory under $TMPDIR (or /tmp) as a string the caller
 * frees with fixture_dir_remove(), or NULL on failure. */
static inline char *
fixture_dir_create(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir =
        xasprintf("%s/netpool-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

static inline int
fixture_remove_entry(const char *path, const struct stat *st, int type,
                     struct FTW *ftw)
{
    (void) st;
    (void) type;
    (void) ftw;
    return remove(path);
}

/* Removes 'dir' and everything under it, then frees 'dir'.  Accepts
 * NULL. */
static inline void
fixture_dir_remove(char *dir)
{
    if (dir) {
        nftw(dir, fixture_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
    }
}

/* Opens a new store (netpool.db) in a new scratch directory: '*dir' and
 * '*store' for fixture_store_close().  Returns 0, or -1 if either fails
 * (then both are NULL). */
static inline int
fixture_store_open(char **dir, struct store **store)
{
    *store = NULL;
    *dir = fixture_dir_create();
    if (!*dir) {
        return -1;
    }
    char *path = xasprintf("%s/netpool.db", *dir);
    int error = store_open(path, store);
    free(path);
    if (error) {
        fixture_dir_remove(*dir);
        *dir = NULL;
        *store = NULL;
        return -1;
    }
    return 0;
}

/* Closes what fixture_store_open() opened and removes its directory. */
static inline void
fixture_store_close(char *dir, struct store *store)
{
    store_close(store);
    fixture_dir_remove(dir);
}

/* Returns a new JSON value parsed from 'fmt' (printf-style) after every
 * single quote has become a double quote, or NULL if it does not parse.
 * For example fixture_json("{'MTU': %d}", 9000). */
static inline struct json_object *fixture_json(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static inline struct json_object *
fixture_json(const char *fmt, ...)
{
    struct json_object *value;
    va_list args;
    char *text;

    va_start(args, fmt);
    if (vasprintf(&text, fmt, args) < 0) {
        abort();
    }
    va_end(args);
    for (char *p = text; *p; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }
    value = json_tokener_parse(text);
    free(text);
    return value;
}

/* Returns true if the JSON array 'array' holds the string 's'. */
static inline bool
fixture_array_has(struct json_object *array, const char *s)
{
    for (size_t i = 0; i < json_object_array_length(array); i++) {
        const char *item =
            json_object_get_string(json_object_array_get_idx(array, i));
        if (item && !strcmp(item, s)) {
            return true;
        }
    }
    return false;
}

/* Returns the string member 'key' of 'object', or NULL if there is
 * none. */
static inline const char *
fixture_string(struct json_object *object, const char *key)
{
    struct json_object *value;
    return json_object_object_get_ex(object, key, &value)
               ? json_object_get_string(value)
               : NULL;
}

/* Returns the integer field 'name' of 'record', failing the test if it is
 * missing or not an integer. */
static inline int64_t
fixture_int(struct json_object *record, const char *name)
{
    struct json_object *value;

    assert_true(json_object_object_get_ex(record, name, &value));
    assert_true(json_object_is_type(value, json_type_int));
    return json_object_get_int64(value);
}

/* Returns the boolean field 'name' of 'record', failing the test if it is
 * missing or not a boolean. */
static inline bool
fixture_bool(struct json_object *record, const char *name)
{
    struct json_object *value;

    assert_true(json_object_object_get_ex(record, name, &value));
    assert_true(json_object_is_type(value, json_type_boolean));
    return json_object_get_boolean(value);
}

#endif
