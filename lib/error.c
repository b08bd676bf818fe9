#include "lib/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

struct np_error *
np_error_new(const char *code, ...)
{
    struct np_error *error = xzalloc(sizeof *error);
    va_list args;
    const char *param;

    error->code = xstrdup(code);
    va_start(args, code);
    while ((param = va_arg(args, const char *)) != NULL
           && error->n_params < ERROR_MAX_PARAMS) {
        error->params[error->n_params++] = xstrdup(param);
    }
    va_end(args);
    return error;
}

struct np_error *
np_error_newf(const char *code, const char *first, const char *fmt, ...)
{
    struct np_error *error = np_error_new(code, first, NULL);
    va_list args;
    char *text;

    va_start(args, fmt);
    if (vasprintf(&text, fmt, args) < 0) {
        abort();
    }
    va_end(args);
    error->params[error->n_params++] = text;
    return error;
}

void
np_error_destroy(struct np_error *error)
{
    if (!error) {
        return;
    }
    for (size_t i = 0; i < error->n_params; i++) {
        free(error->params[i]);
    }
    free(error->code);
    free(error);
}

struct json_object *
np_error_to_json(const struct np_error *error)
{
    struct json_object *array = json_object_new_array();

    json_object_array_add(array, json_object_new_string(error->code));
    for (size_t i = 0; i < error->n_params; i++) {
        json_object_array_add(array, json_object_new_string(error->params[i]));
    }
    return array;
}

struct np_error *
np_error_from_json(struct json_object *json)
{
    if (!json_object_is_type(json, json_type_array)
        || json_object_array_length(json) < 1) {
        return NULL;
    }
    struct json_object *code = json_object_array_get_idx(json, 0);
    if (!json_object_is_type(code, json_type_string)) {
        return NULL;
    }
    struct np_error *error = np_error_new(json_object_get_string(code), NULL);
    size_t n = json_object_array_length(json);
    for (size_t i = 1; i < n && error->n_params < ERROR_MAX_PARAMS; i++) {
        struct json_object *p = json_object_array_get_idx(json, i);
        error->params[error->n_params++] =
            xstrdup(json_object_is_type(p, json_type_string)
                        ? json_object_get_string(p)
                        : json_object_to_json_string(p));
    }
    return error;
}

char *
np_error_to_string(const struct np_error *error)
{
    size_t size = strlen(error->code) + 3;
    for (size_t i = 0; i < error->n_params; i++) {
        size += strlen(error->params[i]) + 2;
    }

    char *s = xmalloc(size);
    char *p = s + sprintf(s, "%s", error->code);
    if (error->n_params) {
        *p++ = '(';
        for (size_t i = 0; i < error->n_params; i++) {
            p += sprintf(p, "%s%s", i ? ", " : "", error->params[i]);
        }
        *p++ = ')';
    }
    *p = '\0';
    return s;
}
