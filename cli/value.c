#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

/* A growing string. */
struct text {
    char *s;       /* NUL-terminated contents. */
    size_t length; /* Characters in 's'. */
};

static void text_add(struct text *text, const char *s, size_t length);
static void text_add_value(struct text *text, struct json_object *value);
static char *trim(const char *s, size_t length);
static struct json_object *parse_set(const char *text);
static struct json_object *parse_map(const char *text);

char *
cli_value_format(struct json_object *value)
{
    struct text text = {xstrdup(""), 0};

    text_add_value(&text, value);
    return text.s;
}

struct np_error *
cli_value_parse(const struct cli_field *field, const char *text,
                struct json_object **valuep)
{
    char *end;

    *valuep = NULL;
    switch (field->kind) {
    case CLI_KIND_STRING:
        *valuep = json_object_new_string(text);
        break;
    case CLI_KIND_INT: {
        long long n;
        errno = 0;
        n = strtoll(text, &end, 10);
        if (!errno && end != text && !*end) {
            *valuep = json_object_new_int64(n);
        }
        break;
    }
    case CLI_KIND_BOOL:
        if (!strcasecmp(text, "true")) {
            *valuep = json_object_new_boolean(1);
        } else if (!strcasecmp(text, "false")) {
            *valuep = json_object_new_boolean(0);
        }
        break;
    case CLI_KIND_FLOAT: {
        double d;
        errno = 0;
        d = strtod(text, &end);
        if (!errno && end != text && !*end && isfinite(d)) {
            *valuep = json_object_new_double(d);
        }
        break;
    }
    case CLI_KIND_SET:
        *valuep = parse_set(text);
        break;
    case CLI_KIND_MAP:
        *valuep = parse_map(text);
        break;
    }
    return (*valuep ? NULL
                    : np_error_new(ERR_INVALID_VALUE, field->cli_name, text,
                                   NULL));
}

bool
cli_record_matches(struct json_object *record,
                   const struct cli_filter *filters, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct cli_filter *f = &filters[i];
        struct json_object *value = NULL;
        bool equal;
        char *s;

        json_object_object_get_ex(record, f->field->api_name, &value);
        if (f->map_key) {
            struct json_object *map = value;
            value = NULL;
            if (json_object_is_type(map, json_type_object)) {
                json_object_object_get_ex(map, f->map_key, &value);
            }
        }
        s = cli_value_format(value);
        equal = !strcmp(s, f->value);
        free(s);
        if (equal == f->negate) {
            return false;
        }
    }
    return true;
}

/* Appends the 'length' bytes at 's' to 'text'. */
static void
text_add(struct text *text, const char *s, size_t length)
{
    text->s = xrealloc(text->s, text->length + length + 1);
    memcpy(text->s + text->length, s, length);
    text->length += length;
    text->s[text->length] = '\0';
}

/* Appends 'value' as cli_value_format() writes it. */
static void
text_add_value(struct text *text, struct json_object *value)
{
    char buf[64];

    switch (json_object_get_type(value)) {
    case json_type_null:
        break;
    case json_type_boolean:
        text_add(text, json_object_get_boolean(value) ? "true" : "false",
                 json_object_get_boolean(value) ? 4 : 5);
        break;
    case json_type_int:
        snprintf(buf, sizeof buf, "%lld",
                 (long long) json_object_get_int64(value));
        text_add(text, buf, strlen(buf));
        break;
    case json_type_double:
        snprintf(buf, sizeof buf, "%.15g", json_object_get_double(value));
        text_add(text, buf, strlen(buf));
        break;
    case json_type_string:
        text_add(text, json_object_get_string(value),
                 json_object_get_string_len(value));
        break;
    case json_type_array: {
        size_t n = json_object_array_length(value);
        for (size_t i = 0; i < n; i++) {
            if (i) {
                text_add(text, "; ", 2);
            }
            text_add_value(text, json_object_array_get_idx(value, i));
        }
        break;
    }
    case json_type_object: {
        bool first = true;
        json_object_object_foreach (value, key, member) {
            if (!first) {
                text_add(text, "; ", 2);
            }
            first = false;
            text_add(text, key, strlen(key));
            text_add(text, ": ", 2);
            text_add_value(text, member);
        }
        break;
    }
    }
}

/* Returns a copy of the 'length' bytes at 's' without surrounding
 * spaces. */
static char *
trim(const char *s, size_t length)
{
    while (length && (*s == ' ' || *s == '\t')) {
        s++;
        length--;
    }
    while (length && (s[length - 1] == ' ' || s[length - 1] == '\t')) {
        length--;
    }
    return xasprintf("%.*s", (int) length, s);
}

/* Parses "a, b" or "a; b" into a JSON array of strings. */
static struct json_object *
parse_set(const char *text)
{
    struct json_object *set = json_object_new_array();
    const char *sep = strchr(text, ';') ? ";" : ",";
    const char *p = text;

    while (*p) {
        size_t length = strcspn(p, sep);
        char *item = trim(p, length);
        if (*item) {
            json_object_array_add(set, json_object_new_string(item));
        }
        free(item);
        p += length;
        if (*p) {
            p++;
        }
    }
    return set;
}

/* Parses "k1: v1; k2: v2" or "k1=v1,k2=v2" into a JSON object of strings.
 * Returns NULL if an item has no separator between key and value. */
static struct json_object *
parse_map(const char *text)
{
    struct json_object *map = json_object_new_object();
    const char *sep = strchr(text, ';') || !strchr(text, '=') ? ";" : ",";
    const char *p = text;

    while (*p) {
        size_t length = strcspn(p, sep);
        char *item = trim(p, length);
        if (*item) {
            char *kv = strpbrk(item, *sep == ';' ? ":=" : "=");
            char *key, *value;
            if (!kv || kv == item) {
                free(item);
                json_object_put(map);
                return NULL;
            }
            key = trim(item, kv - item);
            value = trim(kv + 1, strlen(kv + 1));
            json_object_object_add(map, key, json_object_new_string(value));
            free(key);
            free(value);
        }
        free(item);
        p += length;
        if (*p) {
            p++;
        }
    }
    return map;
}
