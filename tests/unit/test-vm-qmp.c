/*
 * Unit tests of the QMP client on the event loop (vm/qmp.c) against a
 * fake QEMU in the same process: greeting and capabilities, replies
 * matched to their commands by id whatever their order, events between
 * replies, QMP errors, a command without a reply timing out (its late
 * reply dropped), the end of the connection, and closing with commands in
 * flight.  Every outcome arrives from the loop.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "tests/unit/fixture.h"
#include "vm/vm.h"

/* The fake QEMU. */
struct fake {
    struct event_base *base;  /* The loop. */
    int listener;             /* Listening socket. */
    int conn;                 /* The client, or -1. */
    struct event *accepted;   /* Accepts. */
    struct event *readable;   /* Reads commands. */
    char buf[4096];           /* Bytes read. */
    size_t used;              /* In 'buf'. */
    int n_caps;               /* qmp_capabilities seen. */
    struct json_object *held; /* Ids of "slow" commands, answered later. */
};

/* What the client side saw. */
struct seen {
    int n_replies;      /* Replies. */
    int errors[8];      /* Their errors, in order. */
    char values[8][64]; /* Their "return" as text, or the why. */
    int n_events;       /* Events. */
    char event[32];     /* The last one's name. */
    int n_closed;       /* Ends of the connection. */
};

/* Sends 'text' and a newline to the client, if it is still there. */
static void
send_line(struct fake *f, const char *text)
{
    char *line = xasprintf("%s\n", text);

    (void) !send(f->conn, line, strlen(line), MSG_NOSIGNAL);
    free(line);
}

/* Answers one command line as the test script says. */
static void
answer(struct fake *f, struct json_object *cmd)
{
    const char *name =
        json_object_get_string(json_object_object_get(cmd, "execute"));
    struct json_object *id = json_object_object_get(cmd, "id");
    char text[512];

    if (!strcmp(name, "qmp_capabilities")) {
        f->n_caps++;
        snprintf(text, sizeof text, "{\"return\": {}, \"id\": %s}",
                 json_object_to_json_string(id));
        send_line(f, text);
    } else if (!strcmp(name, "echo")) {
        snprintf(text, sizeof text,
                 "{\"event\": \"STOP\", \"data\": {}}\n"
                 "{\"return\": %s, \"id\": %s}",
                 json_object_to_json_string(
                     json_object_object_get(cmd, "arguments")),
                 json_object_to_json_string(id));
        send_line(f, text);
    } else if (!strcmp(name, "fail")) {
        snprintf(text, sizeof text,
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"no such thing\"}, \"id\": %s}",
                 json_object_to_json_string(id));
        send_line(f, text);
    } else if (!strcmp(name, "slow")) {
        json_object_array_add(f->held, json_object_get(id));
    } else if (!strcmp(name, "release")) {
        /* Answers the held commands, newest first, then this one. */
        for (size_t i = json_object_array_length(f->held); i-- > 0;) {
            snprintf(text, sizeof text, "{\"return\": \"late\", \"id\": %s}",
                     json_object_to_json_string(
                         json_object_array_get_idx(f->held, i)));
            send_line(f, text);
        }
        json_object_array_del_idx(f->held, 0,
                                  json_object_array_length(f->held));
        snprintf(text, sizeof text, "{\"return\": \"released\", \"id\": %s}",
                 json_object_to_json_string(id));
        send_line(f, text);
    } else if (!strcmp(name, "bye")) {
        close(f->conn);
        f->conn = -1;
        event_free(f->readable);
        f->readable = NULL;
    }
}

static void
fake_read(evutil_socket_t fd, short what, void *f_)
{
    struct fake *f = f_;
    ssize_t n = read(fd, f->buf + f->used, sizeof f->buf - 1 - f->used);

    if (n <= 0) {
        /* The client left. */
        event_free(f->readable);
        f->readable = NULL;
        close(f->conn);
        f->conn = -1;
        return;
    }
    f->used += n;
    f->buf[f->used] = '\0';
    char *newline;
    while (f->conn >= 0 && (newline = strchr(f->buf, '\n'))) {
        *newline = '\0';
        struct json_object *cmd = json_tokener_parse(f->buf);
        memmove(f->buf, newline + 1, f->used - (newline + 1 - f->buf));
        f->used -= newline + 1 - f->buf;
        f->buf[f->used] = '\0';
        answer(f, cmd);
        json_object_put(cmd);
    }
}

static void
fake_accept(evutil_socket_t fd, short what, void *f_)
{
    struct fake *f = f_;

    f->conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(f->conn >= 0);
    send_line(f, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}");
    f->readable =
        event_new(f->base, f->conn, EV_READ | EV_PERSIST, fake_read, f);
    event_add(f->readable, NULL);
}

static void
fake_start(struct fake *f, struct event_base *base, const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    memset(f, 0, sizeof *f);
    f->base = base;
    f->conn = -1;
    f->held = json_object_new_array();
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    f->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(f->listener, (struct sockaddr *) &addr, sizeof addr),
                     0);
    assert_int_equal(listen(f->listener, 4), 0);
    f->accepted =
        event_new(base, f->listener, EV_READ | EV_PERSIST, fake_accept, f);
    event_add(f->accepted, NULL);
}

static void
fake_stop(struct fake *f)
{
    if (f->readable) {
        event_free(f->readable);
    }
    if (f->conn >= 0) {
        close(f->conn);
    }
    event_free(f->accepted);
    close(f->listener);
    json_object_put(f->held);
}

static void
on_reply(void *seen_, int error, const char *why, struct json_object *ret)
{
    struct seen *seen = seen_;
    int i = seen->n_replies++;

    if (i < 8) {
        seen->errors[i] = error;
        snprintf(seen->values[i], sizeof seen->values[i], "%s",
                 error ? why : json_object_to_json_string(ret));
    }
}

static void
on_event(void *seen_, const char *event, struct json_object *data)
{
    struct seen *seen = seen_;

    seen->n_events++;
    snprintf(seen->event, sizeof seen->event, "%s", event);
}

static void
on_closed(void *seen_, const char *why)
{
    struct seen *seen = seen_;

    seen->n_closed++;
}

/* Turns the loop until 'seen' has 'replies' replies (at most 10 s). */
static void
run_until(struct event_base *base, struct seen *seen, int replies)
{
    time_t start = time(NULL);

    while (seen->n_replies < replies && time(NULL) - start < 10) {
        event_base_loop(base, EVLOOP_ONCE);
    }
}

static void
test_commands_and_events(void **state)
{
    char *dir = fixture_dir_create();
    char *path = xasprintf("%s/qmp", dir);
    struct event_base *base = event_base_new();
    struct fake fake;
    struct seen seen = {0};
    char why[VM_WHY_SIZE];
    (void) state;

    fake_start(&fake, base, path);
    struct vm_qmp *qmp =
        vm_qmp_open(base, path, on_event, on_closed, &seen, why);
    assert_non_null(qmp);
    assert_true(vm_qmp_is_open(qmp));

    /* Sent before the greeting: queued until capabilities are agreed. */
    struct json_object *args = json_object_new_object();
    json_object_object_add(args, "a", json_object_new_int(1));
    vm_qmp_execute(qmp, "echo", args, 5000, on_reply, &seen);
    vm_qmp_execute(qmp, "fail", NULL, 5000, on_reply, &seen);
    json_object_put(args);
    assert_int_equal(seen.n_replies, 0); /* Never from within the call. */
    run_until(base, &seen, 2);
    assert_int_equal(fake.n_caps, 1);
    assert_int_equal(seen.errors[0], 0);
    assert_string_equal(seen.values[0], "{ \"a\": 1 }");
    assert_int_equal(seen.n_events, 1);
    assert_string_equal(seen.event, "STOP");
    assert_int_equal(seen.errors[1], EPROTO);
    assert_non_null(strstr(seen.values[1], "GenericError"));
    assert_non_null(strstr(seen.values[1], "no such thing"));

    /* Two in flight, answered in the other order; one times out first and
     * its late reply is dropped. */
    vm_qmp_execute(qmp, "slow", NULL, 200, on_reply, &seen);
    run_until(base, &seen, 3);
    assert_int_equal(seen.errors[2], ETIMEDOUT);
    vm_qmp_execute(qmp, "slow", NULL, 5000, on_reply, &seen);
    vm_qmp_execute(qmp, "release", NULL, 5000, on_reply, &seen);
    run_until(base, &seen, 5);
    assert_int_equal(seen.n_replies, 5);
    assert_string_equal(seen.values[3], "\"late\"");
    assert_string_equal(seen.values[4], "\"released\"");

    /* QEMU goes: the command in flight fails, the end is told once. */
    vm_qmp_execute(qmp, "slow", NULL, 5000, on_reply, &seen);
    vm_qmp_execute(qmp, "bye", NULL, 5000, on_reply, &seen);
    run_until(base, &seen, 7);
    assert_int_equal(seen.errors[5], ECONNRESET);
    assert_int_equal(seen.errors[6], ECONNRESET);
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_int_equal(seen.n_closed, 1);
    assert_false(vm_qmp_is_open(qmp));
    vm_qmp_execute(qmp, "echo", NULL, 5000, on_reply, &seen);
    run_until(base, &seen, 8);
    assert_int_equal(seen.errors[7], ECONNRESET);
    vm_qmp_close(qmp);

    /* Closing with a command in flight: it hears ECANCELED at once. */
    struct seen again = {0};
    qmp = vm_qmp_open(base, path, on_event, on_closed, &again, why);
    assert_non_null(qmp);
    vm_qmp_execute(qmp, "slow", NULL, 5000, on_reply, &again);
    vm_qmp_close(qmp);
    assert_int_equal(again.n_replies, 1);
    assert_int_equal(again.errors[0], ECANCELED);
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_int_equal(again.n_closed, 0);

    /* Nobody listening. */
    fake_stop(&fake);
    unlink(path);
    assert_null(vm_qmp_open(base, path, on_event, on_closed, &seen, why));
    assert_non_null(strstr(why, "QMP connect"));

    event_base_free(base);
    free(path);
    fixture_dir_remove(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands_and_events),
    };
    return cmocka_run_group_tests_name("vm-qmp", tests, NULL, NULL);
}
