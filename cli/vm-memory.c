/*
 * vm-memory-limits-set uuid= static-min= static-max= dynamic-min=
 * dynamic-max= and vm-memory-set uuid= memory=: VM.set_memory_limits and
 * VM.set_memory, which check and write the memory settings as one change.
 * Sizes are bytes, or a number with KiB, MiB, GiB or TiB as xe takes them.
 */
#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"

static struct np_error *size_param(const struct cli_ctx *ctx, const char *key,
                                   struct json_object **valuep);

struct np_error *
cli_cmd_vm_memory(struct cli_ctx *ctx)
{
    static const char *const limits[] = {"static-min", "static-max",
                                         "dynamic-min", "dynamic-max"};
    bool all = !strcmp(ctx->command->name, "vm-memory-set");
    struct json_object *values[4] = {NULL, NULL, NULL, NULL};
    size_t n = all ? 1 : 4;
    struct np_error *error = NULL;
    char *ref = NULL;

    for (size_t i = 0; !error && i < n; i++) {
        error = size_param(ctx, all ? "memory" : limits[i], &values[i]);
    }
    if (!error) {
        error = cli_lookup(ctx, true, &ref);
    }
    if (!error && all) {
        error = cli_callv(ctx->session, NULL, "VM.set_memory",
                          json_object_new_string(ref), values[0], NULL);
    } else if (!error) {
        error = cli_callv(ctx->session, NULL, "VM.set_memory_limits",
                          json_object_new_string(ref), values[0], values[1],
                          values[2], values[3], NULL);
    }
    if (!ref) {
        /* cli_callv, which takes the values, was not called. */
        for (size_t i = 0; i < n; i++) {
            json_object_put(values[i]);
        }
    }
    free(ref);
    return error;
}

/* Parameter 'key' of the command line, a size in bytes, as a new JSON
 * integer in '*valuep'.  MISSING_PARAMETER(key) or INVALID_VALUE(key,
 * text). */
static struct np_error *
size_param(const struct cli_ctx *ctx, const char *key,
           struct json_object **valuep)
{
    static const struct {
        const char *suffix;
        int shift;
    } units[] = {{"", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
    struct np_error *error = NULL;
    const char *text = cli_require(ctx, key, &error);
    char *end;

    if (!text) {
        return error;
    }
    errno = 0;
    long long number = strtoll(text, &end, 10);
    if (end == text || number < 0 || errno) {
        return np_error_new(ERR_INVALID_VALUE, key, text, NULL);
    }
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (!strcmp(end, units[i].suffix)
            && number <= (INT64_MAX >> units[i].shift)) {
            *valuep =
                json_object_new_int64((int64_t) number << units[i].shift);
            return NULL;
        }
    }
    return np_error_new(ERR_INVALID_VALUE, key, text, NULL);
}
