#include "cli/cli.h"

#include <stdlib.h>
#include <json-c/json.h>

#include "lib/error.h"

struct np_error *
cli_cmd_user_create(struct cli_ctx *ctx)
{
    static const char *const keys[] = {"username", "password", "role"};
    struct json_object *record = json_object_new_object();
    struct json_object *ref = NULL;
    struct np_error *error = NULL;

    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *value = cli_require(ctx, keys[i], &error);
        if (!value) {
            json_object_put(record);
            return error;
        }
        json_object_object_add(record, keys[i], json_object_new_string(value));
    }
    error = cli_callv(ctx->session, &ref, "user.create", record, NULL);
    if (!error) {
        if (ctx->args->json) {
            cli_print_json(ctx->out, ref);
        } else {
            fprintf(ctx->out, "%s\n", json_object_get_string(ref));
        }
    }
    json_object_put(ref);
    return error;
}

struct np_error *
cli_cmd_user_password_change(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *old, *new;

    old = cli_require(ctx, "old", &error);
    new = old ? cli_require(ctx, "new", &error) : NULL;
    if (!new) {
        return error;
    }
    return cli_callv(ctx->session, NULL, "session.change_password",
                     json_object_new_string(old), json_object_new_string(new),
                     NULL);
}
