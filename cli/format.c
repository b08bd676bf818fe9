#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static char *field_label(const struct cli_field *field);

char *
cli_format_block(const struct cli_schema *schema, struct json_object *record,
                 const char *const *params, size_t n_params)
{
    size_t n = params ? n_params : schema->n_fields;
    const struct cli_field **fields = xmalloc((n + 1) * sizeof *fields);
    char **labels = xmalloc((n + 1) * sizeof *labels);
    size_t n_fields = 0, width = 0;
    char *out = xstrdup("");

    for (size_t i = 0; i < n; i++) {
        const struct cli_field *field =
            (params ? cli_schema_find(schema, params[i]) : &schema->fields[i]);
        if (field) {
            size_t length;
            fields[n_fields] = field;
            labels[n_fields] = field_label(field);
            length = strlen(labels[n_fields]);
            width = length > width ? length : width;
            n_fields++;
        }
    }

    for (size_t i = 0; i < n_fields; i++) {
        struct json_object *value = NULL;
        char *text, *line;

        json_object_object_get_ex(record, fields[i]->api_name, &value);
        text = cli_value_format(value);
        line = xasprintf("%s%*s: %s\n", out, i ? (int) width : -(int) width,
                         labels[i], text);
        free(out);
        free(text);
        free(labels[i]);
        out = line;
    }
    if (n_fields) {
        char *block = xasprintf("%s\n", out);
        free(out);
        out = block;
    }
    free(labels);
    free(fields);
    return out;
}

void
cli_print_error(FILE *stream, const struct np_error *error, bool json)
{
    if (json) {
        struct json_object *object = json_object_new_object();
        json_object_object_add(object, "error", np_error_to_json(error));
        fprintf(stream, "%s\n",
                json_object_to_json_string_ext(
                    object,
                    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(object);
        return;
    }

    fprintf(stream, "Error code: %s\n", error->code);
    if (error->n_params) {
        fputs("Error parameters: ", stream);
        for (size_t i = 0; i < error->n_params; i++) {
            fprintf(stream, "%s%s", i ? ", " : "", error->params[i]);
        }
        fputc('\n', stream);
    }
}

void
cli_print_json(FILE *stream, struct json_object *value)
{
    fprintf(stream, "%s\n",
            json_object_to_json_string_ext(
                value, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                           | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Returns "name ( RO)", "other-config (MRW)", … for 'field'. */
static char *
field_label(const struct cli_field *field)
{
    return xasprintf("%s (%3s)", field->cli_name, cli_field_mode(field));
}
