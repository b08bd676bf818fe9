/*
 * QMP client: one command per connection to a QEMU's QMP unix socket, with
 * json-c.  Reads the greeting, negotiates capabilities, sends the command
 * and returns its "return" value, skipping the asynchronous events QEMU
 * interleaves.  Blocking, with a deadline: QEMU answers these commands in
 * milliseconds, and a QEMU that does not is reported, not waited for.
 */
#include "vm/vm.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

/* One connection being read line by line. */
struct qmp_conn {
    int fd;           /* The socket. */
    char buf[65536];  /* Bytes read, not yet consumed. */
    size_t used;      /* Bytes in 'buf'. */
    int64_t deadline; /* Monotonic ms after which reads fail. */
};

static int64_t now_ms(void);
static int qmp_send(struct qmp_conn *, const char *command,
                    struct json_object *arguments, char *why);
static int qmp_read_reply(struct qmp_conn *, struct json_object **returnp,
                          char *why);
static int qmp_read_line(struct qmp_conn *, struct json_object **linep,
                         char *why);

int
vm_qmp_execute(const char *path, const char *command,
               struct json_object *arguments, int timeout_ms,
               struct json_object **returnp, char *why)
{
    struct qmp_conn conn = {.fd = -1};
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct json_object *line = NULL;
    int error;

    if (returnp) {
        *returnp = NULL;
    }
    if (strlen(path) >= sizeof addr.sun_path) {
        snprintf(why, VM_WHY_SIZE, "QMP socket path too long: %s", path);
        return ENAMETOOLONG;
    }
    strcpy(addr.sun_path, path);
    conn.deadline = now_ms() + timeout_ms;
    conn.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (conn.fd < 0) {
        error = errno;
        snprintf(why, VM_WHY_SIZE, "socket: %s", strerror(error));
        return error;
    }
    if (connect(conn.fd, (struct sockaddr *) &addr, sizeof addr) < 0) {
        error = errno;
        snprintf(why, VM_WHY_SIZE, "QMP connect %s: %s", path,
                 strerror(error));
        goto out;
    }
    /* The greeting: {"QMP": {...}}. */
    error = qmp_read_line(&conn, &line, why);
    if (error) {
        goto out;
    }
    if (!json_object_object_get(line, "QMP")) {
        snprintf(why, VM_WHY_SIZE, "QMP: unexpected greeting");
        error = EPROTO;
        goto out;
    }
    error = qmp_send(&conn, "qmp_capabilities", NULL, why);
    if (!error) {
        error = qmp_read_reply(&conn, NULL, why);
    }
    if (!error) {
        error = qmp_send(&conn, command, arguments, why);
    }
    if (!error) {
        error = qmp_read_reply(&conn, returnp, why);
    }

out:
    json_object_put(line);
    close(conn.fd);
    return error;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Sends {"execute": command, "arguments": arguments}. */
static int
qmp_send(struct qmp_conn *conn, const char *command,
         struct json_object *arguments, char *why)
{
    struct json_object *request = json_object_new_object();
    const char *text;
    size_t length, sent = 0;
    int error = 0;

    json_object_object_add(request, "execute",
                           json_object_new_string(command));
    if (arguments) {
        json_object_object_add(request, "arguments",
                               json_object_get(arguments));
    }
    text = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN);
    length = strlen(text);
    while (sent < length) {
        ssize_t n = send(conn->fd, text + sent, length - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            error = errno;
            snprintf(why, VM_WHY_SIZE, "QMP send: %s", strerror(error));
            break;
        }
        sent += n;
    }
    if (!error && send(conn->fd, "\n", 1, MSG_NOSIGNAL) != 1) {
        error = errno ? errno : EIO;
        snprintf(why, VM_WHY_SIZE, "QMP send: %s", strerror(error));
    }
    json_object_put(request);
    return error;
}

/* Reads lines until the reply of the command sent last: its "return" into
 * '*returnp' (when not NULL), or its "error" as EPROTO with the error's
 * class and description in 'why'. */
static int
qmp_read_reply(struct qmp_conn *conn, struct json_object **returnp, char *why)
{
    for (;;) {
        struct json_object *line, *value;
        int error = qmp_read_line(conn, &line, why);

        if (error) {
            return error;
        }
        if (json_object_object_get_ex(line, "return", &value)) {
            if (returnp) {
                *returnp = json_object_get(value);
            }
            json_object_put(line);
            return 0;
        }
        if (json_object_object_get_ex(line, "error", &value)) {
            snprintf(
                why, VM_WHY_SIZE, "QMP error %s: %s",
                json_object_get_string(json_object_object_get(value, "class")),
                json_object_get_string(json_object_object_get(value, "desc")));
            json_object_put(line);
            return EPROTO;
        }
        /* An event: not ours. */
        json_object_put(line);
    }
}

/* Reads one line and parses it as a JSON object. */
static int
qmp_read_line(struct qmp_conn *conn, struct json_object **linep, char *why)
{
    *linep = NULL;
    for (;;) {
        char *newline = memchr(conn->buf, '\n', conn->used);

        if (newline) {
            *newline = '\0';
            struct json_object *line = json_tokener_parse(conn->buf);
            size_t consumed = newline - conn->buf + 1;
            memmove(conn->buf, newline + 1, conn->used - consumed);
            conn->used -= consumed;
            if (!line || !json_object_is_type(line, json_type_object)) {
                json_object_put(line);
                snprintf(why, VM_WHY_SIZE, "QMP: unparsable reply");
                return EPROTO;
            }
            *linep = line;
            return 0;
        }
        if (conn->used >= sizeof conn->buf - 1) {
            snprintf(why, VM_WHY_SIZE, "QMP: reply too long");
            return EMSGSIZE;
        }

        int64_t left = conn->deadline - now_ms();
        struct pollfd pfd = {.fd = conn->fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, left) == 0) {
            snprintf(why, VM_WHY_SIZE, "QMP: no answer in time");
            return ETIMEDOUT;
        }
        ssize_t n = read(conn->fd, conn->buf + conn->used,
                         sizeof conn->buf - 1 - conn->used);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            snprintf(why, VM_WHY_SIZE, "QMP: connection closed");
            return n < 0 ? errno : ECONNRESET;
        }
        conn->used += n;
    }
}
