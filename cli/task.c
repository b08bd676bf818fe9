#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

#define TASK_WAIT_S 60.0 /* Seconds per event.from while waiting. */

static struct np_error *task_status(struct cli_session *session,
                                    const char *task_ref,
                                    struct json_object **recordp);
static bool is_pending(struct json_object *record);
static struct np_error *task_outcome(const char *task_ref,
                                     struct json_object *record,
                                     struct json_object **resultp);
static struct json_object *parse_whole(const char *text);

struct np_error *
cli_wait_task(struct cli_session *session, const char *task_ref,
              struct json_object **resultp)
{
    struct json_object *record = NULL, *events = NULL;
    struct np_error *error;
    char *token = NULL;

    if (resultp) {
        *resultp = NULL;
    }
    for (;;) {
        /* (Re)synchronise: take a token first, then read the task, so
         * that no change between the two is missed. */
        error = cli_event_from(session, "task", "", 0, &events);
        if (error) {
            goto out;
        }
        free(token);
        token = xstrdup(cli_event_token(events));
        json_object_put(events);
        events = NULL;

        json_object_put(record);
        error = task_status(session, task_ref, &record);
        if (error) {
            goto out;
        }

        while (is_pending(record)) {
            size_t n;
            struct json_object *list;

            error =
                cli_event_from(session, "task", token, TASK_WAIT_S, &events);
            if (error) {
                break;
            }
            free(token);
            token = xstrdup(cli_event_token(events));
            if (!json_object_object_get_ex(events, "events", &list)
                || !json_object_is_type(list, json_type_array)) {
                list = NULL;
            }
            n = list ? json_object_array_length(list) : 0;
            for (size_t i = 0; i < n; i++) {
                struct json_object *event = json_object_array_get_idx(list, i);
                struct json_object *ref, *op, *snapshot;
                if (!json_object_object_get_ex(event, "ref", &ref)
                    || strcmp(json_object_get_string(ref), task_ref)) {
                    continue;
                }
                if (json_object_object_get_ex(event, "operation", &op)
                    && !strcmp(json_object_get_string(op), "del")) {
                    error = np_error_new(ERR_OBJECT_NOLONGER_EXISTS, "task",
                                         task_ref, NULL);
                    break;
                }
                if (json_object_object_get_ex(event, "snapshot", &snapshot)
                    && json_object_is_type(snapshot, json_type_object)) {
                    json_object_put(record);
                    record = json_object_get(snapshot);
                }
            }
            json_object_put(events);
            events = NULL;
            if (error) {
                break;
            }
        }
        if (error && !strcmp(error->code, ERR_EVENTS_LOST)) {
            np_error_destroy(error);
            continue;
        }
        break;
    }
    if (!error) {
        error = task_outcome(task_ref, record, resultp);
        /* The task has told what it had to; do not leave it behind. */
        np_error_destroy(cli_callv(session, NULL, "task.destroy",
                                   json_object_new_string(task_ref), NULL));
    }

out:
    free(token);
    json_object_put(events);
    json_object_put(record);
    return error;
}

/* Reads the record of task 'task_ref'. */
static struct np_error *
task_status(struct cli_session *session, const char *task_ref,
            struct json_object **recordp)
{
    return cli_callv(session, recordp, "task.get_record",
                     json_object_new_string(task_ref), NULL);
}

/* Returns true while the task of 'record' has not finished. */
static bool
is_pending(struct json_object *record)
{
    struct json_object *status;
    const char *s;

    if (!json_object_object_get_ex(record, "status", &status)) {
        return true;
    }
    s = json_object_get_string(status);
    return !strcmp(s, "pending") || !strcmp(s, "cancelling");
}

/* Turns the finished task 'record' into its result or its error. */
static struct np_error *
task_outcome(const char *task_ref, struct json_object *record,
             struct json_object **resultp)
{
    struct json_object *status, *value;
    const char *s;

    json_object_object_get_ex(record, "status", &status);
    s = json_object_get_string(status);
    if (!s) {
        s = "";
    }
    if (!strcmp(s, "success")) {
        if (resultp && json_object_object_get_ex(record, "result", &value)) {
            /* The result is JSON text; a daemon that sends the value
             * itself is understood too. */
            struct json_object *parsed = NULL;
            if (json_object_is_type(value, json_type_string)) {
                parsed = parse_whole(json_object_get_string(value));
            }
            *resultp = parsed ? parsed : json_object_get(value);
        }
        return NULL;
    } else if (!strcmp(s, "cancelled")) {
        return np_error_new(ERR_TASK_CANCELLED, task_ref, NULL);
    } else if (!strcmp(s, "failure")) {
        struct np_error *error = NULL;
        if (json_object_object_get_ex(record, "error_info", &value)) {
            error = np_error_from_json(value);
        }
        return (
            error ? error
                  : np_error_new(ERR_INTERNAL_ERROR, "task", task_ref, NULL));
    }
    return np_error_new(ERR_INTERNAL_ERROR, "task", task_ref, s, NULL);
}

/* Returns the JSON value that is the whole of 'text' (surrounding white
 * space aside), or NULL if 'text' is not one: a bare UUID must not pass for
 * the number its first digits make. */
static struct json_object *
parse_whole(const char *text)
{
    struct json_tokener *tok = json_tokener_new();
    size_t length = strlen(text);
    struct json_object *value;
    size_t end;

    value = json_tokener_parse_ex(tok, text, (int) length + 1);
    if (value) {
        for (end = tok->char_offset; end < length; end++) {
            if (!strchr(" \t\r\n", text[end])) {
                json_object_put(value);
                value = NULL;
                break;
            }
        }
    }
    json_tokener_free(tok);
    return value;
}
