#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

static void add_field(struct cli_schema *schema, const char *api_name,
                      enum cli_kind kind, bool writable);
static const char *json_string_member(struct json_object *object,
                                      const char *name);
static bool is_secret_name(const char *name);
static const struct cli_field *
find_alias(const struct cli_schema *schema, const char *name,
           int (*cmp)(const char *, const char *));

struct cli_schema *
cli_schema_from_json(const struct cli_class *class, struct json_object *json)
{
    struct cli_schema *schema;
    size_t n;

    if (!json_object_is_type(json, json_type_array)) {
        return NULL;
    }
    schema = xzalloc(sizeof *schema);
    schema->class = class;
    add_field(schema, "uuid", CLI_KIND_STRING, false);

    n = json_object_array_length(json);
    for (size_t i = 0; i < n; i++) {
        struct json_object *entry = json_object_array_get_idx(json, i);
        const char *name = json_string_member(entry, "name");
        const char *type = json_string_member(entry, "type");
        const char *mode = json_string_member(entry, "mode");
        struct json_object *secret;

        if (!name || !strcmp(name, "uuid") || is_secret_name(name)) {
            continue;
        }
        if (json_object_object_get_ex(entry, "secret", &secret)
            && json_object_get_boolean(secret)) {
            continue;
        }
        add_field(schema, name, cli_kind_from_type(type),
                  mode && !strcasecmp(mode, "RW"));
    }
    return schema;
}

void
cli_schema_destroy(struct cli_schema *schema)
{
    if (!schema) {
        return;
    }
    for (size_t i = 0; i < schema->n_fields; i++) {
        free(schema->fields[i].api_name);
        free(schema->fields[i].cli_name);
    }
    free(schema->fields);
    free(schema);
}

const struct cli_field *
cli_schema_find(const struct cli_schema *schema, const char *name)
{
    const struct cli_field *field = find_alias(schema, name, strcmp);

    return field ? field : find_alias(schema, name, strcasecmp);
}

const struct cli_field *
cli_schema_find_api(const struct cli_schema *schema, const char *api_name)
{
    for (size_t i = 0; i < schema->n_fields; i++) {
        if (!strcmp(schema->fields[i].api_name, api_name)) {
            return &schema->fields[i];
        }
    }
    return NULL;
}

const char *
cli_field_mode(const struct cli_field *field)
{
    switch (field->kind) {
    case CLI_KIND_MAP:
        return field->writable ? "MRW" : "MRO";
    case CLI_KIND_SET:
        return field->writable ? "SRW" : "SRO";
    case CLI_KIND_STRING:
    case CLI_KIND_INT:
    case CLI_KIND_BOOL:
    case CLI_KIND_FLOAT:
    default:
        return field->writable ? "RW" : "RO";
    }
}

void
cli_record_strip_secrets(struct json_object *record)
{
    bool again = json_object_is_type(record, json_type_object);

    /* Deleting while iterating is not safe in json-c: restart after each
     * deletion. */
    while (again) {
        again = false;
        json_object_object_foreach (record, key, value) {
            (void) value;
            if (is_secret_name(key)) {
                json_object_object_del(record, key);
                again = true;
                break;
            }
        }
    }
}

/* Appends a field to 'schema'. */
static void
add_field(struct cli_schema *schema, const char *api_name, enum cli_kind kind,
          bool writable)
{
    struct cli_field *field;

    schema->fields =
        xrealloc(schema->fields, (schema->n_fields + 1) * sizeof *field);
    field = &schema->fields[schema->n_fields++];
    field->api_name = xstrdup(api_name);
    field->cli_name = cli_field_cli_name(api_name, kind);
    field->kind = kind;
    field->writable = writable;
}

/* Returns the string member 'name' of JSON object 'object', or NULL. */
static const char *
json_string_member(struct json_object *object, const char *name)
{
    struct json_object *value;

    if (!json_object_object_get_ex(object, name, &value)
        || !json_object_is_type(value, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(value);
}

/* Returns true for fields that hold a password or its hash: the CLI never
 * shows them, whatever the daemon sends. */
static bool
is_secret_name(const char *name)
{
    return strcasestr(name, "password") != NULL;
}

/* Looks 'name' up among the CLI names, the plain hyphenated API names
 * (reached also through a "-uuid"/"-uuids" suffix) and the API names of
 * 'schema', comparing with 'cmp'. */
static const struct cli_field *
find_alias(const struct cli_schema *schema, const char *name,
           int (*cmp)(const char *, const char *))
{
    char *api = cli_name_to_api(name);
    const struct cli_field *found = NULL;
    size_t length = strlen(name);
    char *stripped = NULL;

    if (length > 5 && !cmp(name + length - 5, "-uuid")) {
        stripped = cli_name_to_api(name);
        stripped[length - 5] = '\0';
    } else if (length > 6 && !cmp(name + length - 6, "-uuids")) {
        stripped = xasprintf("%.*ss", (int) (length - 6), name);
        for (char *p = stripped; *p; p++) {
            *p = *p == '-' ? '_' : *p;
        }
    }

    for (size_t i = 0; i < schema->n_fields && !found; i++) {
        if (!cmp(schema->fields[i].cli_name, name)) {
            found = &schema->fields[i];
        }
    }
    for (size_t i = 0; i < schema->n_fields && !found; i++) {
        const struct cli_field *f = &schema->fields[i];
        if (!cmp(f->api_name, api) || !cmp(f->api_name, name)
            || (stripped && !cmp(f->api_name, stripped))) {
            found = f;
        }
    }
    free(api);
    free(stripped);
    return found;
}
