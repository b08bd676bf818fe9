#include "cli/cli.h"

#include <stdlib.h>
#include <json-c/json.h>

#include "lib/error.h"

struct np_error *
cli_cmd_message_destroy(struct cli_ctx *ctx)
{
    struct np_error *error;
    char *ref;

    error = cli_lookup(ctx, false, &ref);
    if (!error) {
        error = cli_callv(ctx->session, NULL, "message.destroy",
                          json_object_new_string(ref), NULL);
        free(ref);
    }
    return error;
}
