#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static bool in_list(const char *key, const char *const *list);

struct np_error *
cli_filters_from_args(const struct cli_ctx *ctx,
                      const struct cli_schema *schema, const char *const *skip,
                      struct cli_filter **filtersp, size_t *np)
{
    const struct cli_args *args = ctx->args;
    struct cli_filter *filters =
        xmalloc((args->n_params + 1) * sizeof *filters);
    size_t n = 0;

    for (size_t i = 0; i < args->n_params; i++) {
        const struct cli_param *p = &args->params[i];
        const struct cli_field *field;
        struct cli_filter *f;

        if (!p->map_key && in_list(p->key, skip)) {
            continue;
        }
        field = cli_schema_find(schema, p->key);
        if (!field) {
            free(filters);
            *filtersp = NULL;
            *np = 0;
            return np_error_new(CLI_ERR_UNKNOWN_FIELD, schema->class->cli_name,
                                p->key, NULL);
        }
        f = &filters[n++];
        f->field = field;
        f->map_key = p->map_key;
        f->negate = !strncmp(p->value, "/=", 2);
        f->value = f->negate ? p->value + 2 : p->value;
    }
    *filtersp = filters;
    *np = n;
    return NULL;
}

/* Returns true if 'key' is one of the NULL-terminated 'list'. */
static bool
in_list(const char *key, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++) {
        if (!strcmp(key, list[i])) {
            return true;
        }
    }
    return false;
}
