/* Bond commands: bond-create, bond-set-mode and bond-param-set
 * (bond-destroy is a plain object call, the other bond-param-* are
 * generic). */
#include "cli/cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static struct np_error *bond_create(struct cli_ctx *, bool pool);

struct np_error *
cli_cmd_bond_create(struct cli_ctx *ctx)
{
    return bond_create(ctx, false);
}

/* pool-bond-create network-uuid= pif-uuids= [mode=] [properties:…]: the
 * bond on every host of the pool, on its PIFs of the same devices as
 * pif-uuids (of one host); prints the bonds, comma-separated. */
struct np_error *
cli_cmd_pool_bond_create(struct cli_ctx *ctx)
{
    return bond_create(ctx, true);
}

static struct np_error *
bond_create(struct cli_ctx *ctx, bool pool)
{
    const struct cli_args *args = ctx->args;
    struct json_object *members = json_object_new_array();
    struct json_object *properties = json_object_new_object();
    struct json_object *ref = NULL;
    struct np_error *error = NULL;
    const char *network, *pifs;

    network = cli_require(ctx, "network-uuid", &error);
    pifs = network ? cli_require(ctx, "pif-uuids", &error) : NULL;
    if (!pifs) {
        json_object_put(members);
        json_object_put(properties);
        return error;
    }
    const char *mac = cli_args_get(args, "MAC");
    const char *mode = cli_args_get(args, "mode");

    /* pif-uuids=a,b,c (xe also accepts ';'). */
    for (const char *p = pifs; *p;) {
        size_t length = strcspn(p, ",;");
        if (length) {
            json_object_array_add(members,
                                  json_object_new_string_len(p, length));
        }
        p += length + (p[length] != '\0');
    }
    for (size_t i = 0; i < args->n_params; i++) {
        const struct cli_param *param = &args->params[i];
        if (param->map_key && !strcmp(param->key, "properties")) {
            json_object_object_add(properties, param->map_key,
                                   json_object_new_string(param->value));
        }
    }

    if (pool) {
        error = cli_callv(ctx->session, &ref, "pool.create_bond",
                          json_object_new_string(network), members,
                          json_object_new_string(mode ? mode : "balance-slb"),
                          properties, NULL);
    } else {
        error = cli_callv(ctx->session, &ref, "bond.create",
                          json_object_new_string(network), members,
                          json_object_new_string(mac ? mac : ""),
                          json_object_new_string(mode ? mode : "balance-slb"),
                          properties, NULL);
    }
    if (!error && pool && !args->json) {
        for (size_t i = 0; i < json_object_array_length(ref); i++) {
            fprintf(ctx->out, "%s%s", i ? "," : "",
                    json_object_get_string(json_object_array_get_idx(ref, i)));
        }
        fprintf(ctx->out, "\n");
    } else if (!error) {
        if (args->json) {
            cli_print_json(ctx->out, ref);
        } else {
            fprintf(ctx->out, "%s\n", json_object_get_string(ref));
        }
    }
    json_object_put(ref);
    return error;
}

struct np_error *
cli_cmd_bond_set_mode(struct cli_ctx *ctx)
{
    struct np_error *error = NULL;
    const char *mode = cli_require(ctx, "mode", &error);
    char *ref;

    if (!mode) {
        return error;
    }
    error = cli_lookup(ctx, false, &ref);
    if (!error) {
        error = cli_callv(ctx->session, NULL, "bond.set_mode",
                          json_object_new_string(ref),
                          json_object_new_string(mode), NULL);
        free(ref);
    }
    return error;
}

/* bond-param-set: as <class>-param-set, except that every properties:k=v
 * goes into one bond.set_properties call, so that the new properties are
 * checked together and a refused value changes nothing (the generic
 * command would remove the old key before adding the new one). */
struct np_error *
cli_cmd_bond_param_set(struct cli_ctx *ctx)
{
    const struct cli_args *args = ctx->args;
    struct cli_args rest = *args;
    struct json_object *changes = json_object_new_object();
    struct np_error *error = NULL;
    bool other_fields = false;

    rest.params = xmalloc(sizeof *rest.params * (args->n_params + 1));
    rest.n_params = 0;
    for (size_t i = 0; i < args->n_params; i++) {
        const struct cli_param *p = &args->params[i];
        if (p->map_key && !strcmp(p->key, "properties")) {
            json_object_object_add(changes, p->map_key,
                                   json_object_new_string(p->value));
            continue;
        }
        rest.params[rest.n_params++] = *p;
        other_fields |=
            p->map_key
            || (strcmp(p->key, "uuid") && strcmp(p->key, "name-label")
                && strcmp(p->key, "bond"));
    }

    if (json_object_object_length(changes)) {
        struct json_object *properties = NULL;
        char *ref = NULL;
        error = cli_lookup(ctx, false, &ref);
        if (!error) {
            error = cli_callv(ctx->session, &properties, "bond.get_properties",
                              json_object_new_string(ref), NULL);
        }
        if (!error) {
            struct json_object *merged = json_object_new_object();
            json_object_object_foreach (properties, key, value) {
                json_object_object_add(merged, key, json_object_get(value));
            }
            json_object_object_foreach (changes, k, v) {
                json_object_object_add(merged, k, json_object_get(v));
            }
            error = cli_callv(ctx->session, NULL, "bond.set_properties",
                              json_object_new_string(ref), merged, NULL);
        }
        json_object_put(properties);
        free(ref);
    }
    if (!error && other_fields) {
        struct cli_ctx sub = *ctx;
        sub.args = &rest;
        error = cli_cmd_param_set(&sub);
    }
    json_object_put(changes);
    free(rest.params);
    return error;
}
