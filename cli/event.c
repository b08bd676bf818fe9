#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

#define EVENT_WAIT_S \
    60.0                    /* Longest single event.from or
                           * host.wait_applied call. */
#define APPLIED_WAIT_S 60.0 /* host-wait-applied's default timeout. */

/* What event-wait waits for. */
struct wait_spec {
    const struct cli_class *class;   /* Class watched. */
    const struct cli_schema *schema; /* Its schema. */
    struct cli_filter *filters;      /* Conditions, all required. */
    size_t n_filters;                /* Entries in 'filters'. */
};

static struct np_error *parse_timeout(const char *text, double *timeout);
static struct np_error *match_existing(struct cli_ctx *ctx,
                                       const struct wait_spec *spec,
                                       bool *matched);
static bool match_events(const struct wait_spec *spec,
                         struct json_object *result);
static double now(void);

struct np_error *
cli_event_from(struct cli_session *session, const char *api_class,
               const char *token, double timeout, struct json_object **resultp)
{
    struct json_object *classes = json_object_new_array();
    struct np_error *error;

    json_object_array_add(classes, json_object_new_string(api_class));
    error = cli_callv(session, resultp, "event.from", classes,
                      json_object_new_string(token),
                      json_object_new_double(timeout), NULL);
    if (!error && !json_object_is_type(*resultp, json_type_object)) {
        json_object_put(*resultp);
        *resultp = NULL;
        error = np_error_new(ERR_INTERNAL_ERROR, "event.from",
                             "the result is not an object", NULL);
    }
    return error;
}

const char *
cli_event_token(struct json_object *result)
{
    struct json_object *token;

    if (!json_object_object_get_ex(result, "token", &token)
        || json_object_is_type(token, json_type_null)) {
        return "";
    }
    return json_object_get_string(token);
}

struct np_error *
cli_cmd_event_wait(struct cli_ctx *ctx)
{
    static const char *const skip[] = {"class", "timeout", NULL};
    struct wait_spec spec = {NULL, NULL, NULL, 0};
    const char *class_name, *timeout_text;
    struct json_object *result = NULL;
    double timeout = INFINITY, deadline;
    struct np_error *error = NULL;
    bool matched = false;
    char *token = NULL;

    class_name = cli_require(ctx, "class", &error);
    if (!class_name) {
        return error;
    }
    spec.class = cli_class_find(class_name);
    if (!spec.class) {
        return np_error_new(ERR_INVALID_VALUE, "class", class_name, NULL);
    }
    timeout_text = cli_args_get(ctx->args, "timeout");
    if (timeout_text) {
        error = parse_timeout(timeout_text, &timeout);
        if (error) {
            return error;
        }
    }
    deadline = now() + timeout;

    error = cli_session_schema(ctx->session, spec.class, &spec.schema);
    if (!error) {
        error = cli_filters_from_args(ctx, spec.schema, skip, &spec.filters,
                                      &spec.n_filters);
    }

    while (!error && !matched) {
        if (!token) {
            /* Take a token, then look at what exists, so that a change
             * between the two still shows up as an event. */
            error = cli_event_from(ctx->session, spec.class->api_name, "", 0,
                                   &result);
            if (error) {
                break;
            }
            token = xstrdup(cli_event_token(result));
            json_object_put(result);
            result = NULL;
            error = match_existing(ctx, &spec, &matched);
            continue;
        }

        double remaining = deadline - now();
        if (remaining <= 0) {
            error = np_error_new(ERR_TIMEOUT, "event-wait",
                                 timeout_text ? timeout_text : "", NULL);
            break;
        }
        error = cli_event_from(
            ctx->session, spec.class->api_name, token,
            remaining < EVENT_WAIT_S ? remaining : EVENT_WAIT_S, &result);
        if (error && !strcmp(error->code, ERR_EVENTS_LOST)) {
            np_error_destroy(error);
            error = NULL;
            free(token);
            token = NULL;
            continue;
        } else if (error) {
            break;
        }
        matched = match_events(&spec, result);
        free(token);
        token = xstrdup(cli_event_token(result));
        json_object_put(result);
        result = NULL;
    }

    free(token);
    free(spec.filters);
    return error;
}

struct np_error *
cli_cmd_host_wait_applied(struct cli_ctx *ctx)
{
    const char *host = cli_args_get(ctx->args, "uuid");
    const char *seq = cli_args_get(ctx->args, "seq");
    const char *timeout_text = cli_args_get(ctx->args, "timeout");
    double timeout = APPLIED_WAIT_S;
    struct json_object *result = NULL;
    struct np_error *error = NULL;
    char *target = xstrdup(seq ? seq : "");

    if (timeout_text && (error = parse_timeout(timeout_text, &timeout))) {
        free(target);
        return error;
    }
    double deadline = now() + timeout;

    for (;;) {
        double remaining = deadline - now();
        if (remaining < 0) {
            remaining = 0;
        }
        error =
            cli_callv(ctx->session, &result, "host.wait_applied",
                      json_object_new_string(host ? host : ""),
                      json_object_new_string(target),
                      json_object_new_double(
                          remaining < EVENT_WAIT_S ? remaining : EVENT_WAIT_S),
                      NULL);
        if (!error || strcmp(error->code, ERR_TIMEOUT) || remaining <= 0) {
            break;
        }
        /* The daemon's TIMEOUT names the sequence waited for: keep
         * waiting for that one, not for a later "everything so far". */
        if (!*target && error->n_params > 1) {
            free(target);
            target = xstrdup(error->params[1]);
        }
        np_error_destroy(error);
        error = NULL;
    }
    if (error && !strcmp(error->code, ERR_TIMEOUT)) {
        np_error_destroy(error);
        error = np_error_new(ERR_TIMEOUT, "host-wait-applied",
                             timeout_text ? timeout_text : "60", NULL);
    }
    if (!error) {
        fprintf(ctx->out, "%lld\n",
                (long long) json_object_get_int64(
                    json_object_object_get(result, "applied")));
    }
    json_object_put(result);
    free(target);
    return error;
}

/* Parses timeout=SECONDS. */
static struct np_error *
parse_timeout(const char *text, double *timeout)
{
    char *end;
    double d;

    errno = 0;
    d = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(d) || d < 0) {
        return np_error_new(ERR_INVALID_VALUE, "timeout", text, NULL);
    }
    *timeout = d;
    return NULL;
}

/* Sets '*matched' if an existing object satisfies 'spec'. */
static struct np_error *
match_existing(struct cli_ctx *ctx, const struct wait_spec *spec,
               bool *matched)
{
    char *method = xasprintf("%s.get_all_records", spec->class->api_name);
    struct json_object *all;
    struct np_error *error;

    error = cli_call(ctx->session, method, NULL, &all);
    free(method);
    if (error) {
        return error;
    }
    if (json_object_is_type(all, json_type_object)) {
        json_object_object_foreach (all, ref, record) {
            if (!json_object_object_get_ex(record, "uuid", NULL)) {
                json_object_object_add(record, "uuid",
                                       json_object_new_string(ref));
            }
            if (cli_record_matches(record, spec->filters, spec->n_filters)) {
                *matched = true;
                break;
            }
        }
    }
    json_object_put(all);
    return NULL;
}

/* Returns true if an event in event.from 'result' leaves an object that
 * satisfies 'spec'. */
static bool
match_events(const struct wait_spec *spec, struct json_object *result)
{
    struct json_object *events;
    size_t n;

    if (!json_object_object_get_ex(result, "events", &events)
        || !json_object_is_type(events, json_type_array)) {
        return false;
    }
    n = json_object_array_length(events);
    for (size_t i = 0; i < n; i++) {
        struct json_object *event = json_object_array_get_idx(events, i);
        struct json_object *class, *op, *ref, *snapshot;

        if (!json_object_object_get_ex(event, "class", &class)
            || strcasecmp(json_object_get_string(class), spec->class->api_name)
            || (json_object_object_get_ex(event, "operation", &op)
                && !strcmp(json_object_get_string(op), "del"))
            || !json_object_object_get_ex(event, "snapshot", &snapshot)
            || !json_object_is_type(snapshot, json_type_object)) {
            continue;
        }
        if (!json_object_object_get_ex(snapshot, "uuid", NULL)
            && json_object_object_get_ex(event, "ref", &ref)) {
            json_object_object_add(snapshot, "uuid", json_object_get(ref));
        }
        if (cli_record_matches(snapshot, spec->filters, spec->n_filters)) {
            return true;
        }
    }
    return false;
}

/* Returns the monotonic time in seconds. */
static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
