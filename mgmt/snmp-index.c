/*
 * Stable SNMP indexes: ifIndex of interfaces and the indexes of the
 * NETPOOL-MIB host and VM tables.  An object gets the next number of its
 * family the first time it is seen and keeps it for its life; numbers of
 * objects that are gone are not reused, as RFC 2863 asks of ifIndex.  The
 * map is saved in netpoold's state folder.
 */
#include "mgmt/snmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

#define INDEX_MAX 2147483647u /* InterfaceIndex's upper bound. */

static const char *family_of(const char *key);

uint32_t
snmp_index_assign(struct json_object *map, const char *family, const char *key,
                  bool *changed)
{
    struct json_object *value;

    if (json_object_object_get_ex(map, key, &value)) {
        return (uint32_t) json_object_get_int64(value);
    }
    char next_key[32];
    snprintf(next_key, sizeof next_key, "next:%s", family);
    int64_t next =
        json_object_get_int64(json_object_object_get(map, next_key));
    if (next < 1) {
        next = 1;
    }
    if ((uint64_t) next > INDEX_MAX) {
        return 0;
    }
    json_object_object_add(map, key, json_object_new_int64(next));
    json_object_object_add(map, next_key, json_object_new_int64(next + 1));
    *changed = true;
    return (uint32_t) next;
}

bool
snmp_index_prune(struct json_object *map, const char *family,
                 struct json_object *keep)
{
    struct json_object *gone = json_object_new_array();
    bool removed = false;

    json_object_object_foreach (map, key, value) {
        (void) value;
        const char *f = family_of(key);
        if (f && !strcmp(f, family)
            && !json_object_object_get_ex(keep, key, NULL)) {
            json_object_array_add(gone, json_object_new_string(key));
        }
    }
    for (size_t i = 0; i < json_object_array_length(gone); i++) {
        json_object_object_del(
            map, json_object_get_string(json_object_array_get_idx(gone, i)));
        removed = true;
    }
    json_object_put(gone);
    return removed;
}

struct json_object *
snmp_index_load(const char *path)
{
    struct json_object *map = json_object_from_file(path);

    if (!map || !json_object_is_type(map, json_type_object)) {
        json_object_put(map);
        return json_object_new_object();
    }
    return map;
}

int
snmp_index_save(const char *path, struct json_object *map)
{
    char *tmp = xasprintf("%s.tmp", path);
    const char *text =
        json_object_to_json_string_ext(map, JSON_C_TO_STRING_PLAIN);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int error = 0;
    size_t size = strlen(text);

    if (fd < 0 || write(fd, text, size) != (ssize_t) size || fsync(fd)) {
        error = errno ? errno : EIO;
    }
    if (fd >= 0 && close(fd) && !error) {
        error = errno;
    }
    if (!error && rename(tmp, path)) {
        error = errno;
    }
    if (error) {
        unlink(tmp);
    }
    free(tmp);
    return error;
}

/* Returns the family of map key 'key' ("pif:…" → "if"), or NULL for the
 * "next:" keys. */
static const char *
family_of(const char *key)
{
    static const struct {
        const char *prefix; /* Key prefix. */
        const char *family; /* Its family. */
    } kinds[] = {
        {"pif:", "if"},
        {"vif:", "if"},
        {"host:", "host"},
        {"vm:", "vm"},
    };

    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        if (!strncmp(key, kinds[i].prefix, strlen(kinds[i].prefix))) {
            return kinds[i].family;
        }
    }
    return NULL;
}
