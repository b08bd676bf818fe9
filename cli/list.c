#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

/* The columns <c>-list shows. */
struct columns {
    char **names;  /* CLI names; NULL when showing all. */
    size_t n;      /* Entries in 'names'. */
    bool explicit; /* Chosen with params=. */
};

static struct np_error *choose_columns(const struct cli_ctx *ctx,
                                       const struct cli_schema *schema,
                                       struct columns *columns);
static void add_column(struct columns *columns, const char *name,
                       size_t length);
static void columns_clear(struct columns *columns);
static void print_minimal(FILE *out, const struct cli_schema *schema,
                          const struct columns *columns,
                          struct json_object *records);

struct np_error *
cli_cmd_list(struct cli_ctx *ctx)
{
    static const char *const skip[] = {"params", NULL};
    struct columns columns = {NULL, 0, false};
    struct json_object *all = NULL, *matches;
    const struct cli_schema *schema;
    struct cli_filter *filters = NULL;
    struct np_error *error;
    size_t n_filters = 0;
    char *method = NULL;

    matches = json_object_new_array();
    error = cli_session_schema(ctx->session, ctx->class, &schema);
    if (!error) {
        error = choose_columns(ctx, schema, &columns);
    }
    if (!error) {
        error = cli_filters_from_args(ctx, schema, skip, &filters, &n_filters);
    }
    if (error) {
        goto out;
    }

    method = xasprintf("%s.get_all_records", ctx->class->api_name);
    error = cli_call(ctx->session, method, NULL, &all);
    if (error) {
        goto out;
    }
    if (json_object_is_type(all, json_type_object)) {
        json_object_object_foreach (all, ref, record) {
            if (!json_object_is_type(record, json_type_object)) {
                continue;
            }
            if (!json_object_object_get_ex(record, "uuid", NULL)) {
                json_object_object_add(record, "uuid",
                                       json_object_new_string(ref));
            }
            if (cli_record_matches(record, filters, n_filters)) {
                cli_record_strip_secrets(record);
                json_object_array_add(matches, json_object_get(record));
            }
        }
    }

    if (ctx->args->json) {
        cli_print_json(ctx->out, matches);
    } else if (ctx->args->minimal) {
        print_minimal(ctx->out, schema, &columns, matches);
    } else {
        size_t n = json_object_array_length(matches);
        for (size_t i = 0; i < n; i++) {
            char *block = cli_format_block(
                schema, json_object_array_get_idx(matches, i),
                (const char *const *) columns.names, columns.n);
            fputs(block, ctx->out);
            free(block);
        }
    }

out:
    free(method);
    free(filters);
    columns_clear(&columns);
    json_object_put(all);
    json_object_put(matches);
    return error;
}

/* Picks the columns from params= (checking each names a field), or the
 * class's defaults that its schema has. */
static struct np_error *
choose_columns(const struct cli_ctx *ctx, const struct cli_schema *schema,
               struct columns *columns)
{
    const char *params = cli_args_get(ctx->args, "params");
    const char *p;

    if (params && !strcmp(params, "all")) {
        columns->explicit = true;
        return NULL;
    }
    if (params) {
        columns->explicit = true;
        for (p = params; *p;) {
            size_t length = strcspn(p, ",");
            if (length) {
                add_column(columns, p, length);
                if (!cli_schema_find(schema, columns->names[columns->n - 1])) {
                    return np_error_new(CLI_ERR_UNKNOWN_FIELD,
                                        ctx->class->cli_name,
                                        columns->names[columns->n - 1], NULL);
                }
            }
            p += length + (p[length] == ',');
        }
        if (!columns->n) {
            return np_error_new(ERR_INVALID_VALUE, "params", params, NULL);
        }
        return NULL;
    }

    for (p = ctx->class->default_params; *p;) {
        size_t length = strcspn(p, " ");
        if (length) {
            add_column(columns, p, length);
            if (!cli_schema_find(schema, columns->names[columns->n - 1])) {
                free(columns->names[--columns->n]);
            }
        }
        p += length + (p[length] == ' ');
    }
    return NULL;
}

/* Appends the 'length' bytes at 'name' to 'columns'. */
static void
add_column(struct columns *columns, const char *name, size_t length)
{
    columns->names =
        xrealloc(columns->names, (columns->n + 1) * sizeof *columns->names);
    columns->names[columns->n++] = xasprintf("%.*s", (int) length, name);
}

/* Frees what 'columns' owns. */
static void
columns_clear(struct columns *columns)
{
    for (size_t i = 0; i < columns->n; i++) {
        free(columns->names[i]);
    }
    free(columns->names);
}

/* Writes the UUIDs of 'records', or the values of the first column chosen
 * with params=, comma-separated on one line. */
static void
print_minimal(FILE *out, const struct cli_schema *schema,
              const struct columns *columns, struct json_object *records)
{
    const struct cli_field *field = schema->fields;
    size_t n = json_object_array_length(records);

    if (columns->explicit && columns->n) {
        field = cli_schema_find(schema, columns->names[0]);
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *value = NULL;
        char *text;

        json_object_object_get_ex(json_object_array_get_idx(records, i),
                                  field->api_name, &value);
        text = cli_value_format(value);
        fprintf(out, "%s%s", i ? "," : "", text);
        free(text);
    }
    fputc('\n', out);
}
