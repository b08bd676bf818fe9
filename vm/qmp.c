/*
 * QMP client on the event loop: one connection per domain to its QEMU's
 * QMP unix socket, kept open for the domain's life.  It reads the
 * greeting, negotiates capabilities, then sends commands as they come,
 * each with an "id" that its reply echoes, so that several may be in
 * flight; a command that has no reply within its time limit fails with
 * ETIMEDOUT and a reply that comes later is dropped.  Asynchronous events
 * (SHUTDOWN, STOP, RESUME, ...) go to the owner as they arrive, and the end
 * of the connection (QEMU exited or closed it) is reported once.  Nothing
 * here blocks: reads and writes are non-blocking, callbacks run from the
 * loop, never from within the call that asked.
 */
#include "vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

#define MAX_LINE (4 * 1024 * 1024) /* Longest reply accepted. */

/* A command waiting for its reply (or to be sent). */
struct qmp_command {
    struct vm_qmp *qmp;       /* Owner. */
    uint64_t id;              /* Its "id". */
    char *text;               /* Its JSON line, until sent. */
    vm_qmp_reply_cb *cb;      /* Told the outcome once. */
    void *aux;                /* Argument for 'cb'. */
    struct event *timer;      /* Its time limit. */
    int error;                /* Outcome decided early (connection gone). */
    char why[VM_WHY_SIZE];    /* Its reason. */
    struct qmp_command *next; /* In qmp->commands. */
};

enum qmp_state {
    QMP_CONNECTING,  /* connect() in progress. */
    QMP_GREETING,    /* Waiting for {"QMP": ...}. */
    QMP_NEGOTIATING, /* qmp_capabilities sent. */
    QMP_READY,       /* Commands flow. */
    QMP_CLOSED,      /* The connection ended. */
};

struct vm_qmp {
    struct event_base *base;      /* The loop. */
    int fd;                       /* The socket, or -1 once closed. */
    enum qmp_state state;         /* Where the handshake is. */
    struct event *readable;       /* Input. */
    struct event *writable;       /* Output blocked, or connecting. */
    char *in;                     /* Bytes read, not yet a line. */
    size_t in_used, in_size;      /* Bytes in 'in', its size. */
    char *out;                    /* Bytes to send. */
    size_t out_used;              /* Bytes in 'out'. */
    uint64_t next_id;             /* Next command's id. */
    struct qmp_command *commands; /* Sent or waiting, oldest last. */
    vm_qmp_event_cb *on_event;    /* Events. */
    vm_qmp_closed_cb *on_closed;  /* The end of the connection. */
    void *aux;                    /* Argument for both. */
    char closed_why[VM_WHY_SIZE]; /* Why it ended. */
    struct event *closed;         /* Tells 'on_closed' from the loop. */
    int dispatching;              /* Depth of on_readable() calls. */
    bool dead;                    /* Closed by its owner while dispatching:
                                  * freed when dispatching ends. */
};

static void on_readable(evutil_socket_t, short, void *qmp_);
static void on_writable(evutil_socket_t, short, void *qmp_);
static void on_command_timer(evutil_socket_t, short, void *command_);
static void on_closed_event(evutil_socket_t, short, void *qmp_);
static void free_qmp(struct vm_qmp *);
static void queue_line(struct vm_qmp *, const char *text);
static void flush_out(struct vm_qmp *);
static void handle_line(struct vm_qmp *, const char *line);
static void send_waiting(struct vm_qmp *);
static void lose_connection(struct vm_qmp *, const char *why);
static struct qmp_command *take_command(struct vm_qmp *, uint64_t id);
static void complete(struct qmp_command *, int error, const char *why,
                     struct json_object *ret);

struct vm_qmp *
vm_qmp_open(struct event_base *base, const char *path,
            vm_qmp_event_cb *on_event, vm_qmp_closed_cb *on_closed, void *aux,
            char *why)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    if (strlen(path) >= sizeof addr.sun_path) {
        snprintf(why, VM_WHY_SIZE, "QMP socket path too long: %s", path);
        return NULL;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(why, VM_WHY_SIZE, "socket: %s", strerror(errno));
        return NULL;
    }
    bool pending = false;
    if (connect(fd, (struct sockaddr *) &addr, sizeof addr) < 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            snprintf(why, VM_WHY_SIZE, "QMP connect %s: %s", path,
                     strerror(errno));
            close(fd);
            return NULL;
        }
        pending = true;
    }

    struct vm_qmp *qmp = xzalloc(sizeof *qmp);
    qmp->base = base;
    qmp->fd = fd;
    qmp->state = pending ? QMP_CONNECTING : QMP_GREETING;
    qmp->on_event = on_event;
    qmp->on_closed = on_closed;
    qmp->aux = aux;
    qmp->next_id = 1;
    qmp->in_size = 4096;
    qmp->in = xmalloc(qmp->in_size);
    qmp->readable =
        event_new(base, fd, EV_READ | EV_PERSIST, on_readable, qmp);
    qmp->writable = event_new(base, fd, EV_WRITE, on_writable, qmp);
    qmp->closed = evtimer_new(base, on_closed_event, qmp);
    event_add(qmp->readable, NULL);
    if (pending) {
        event_add(qmp->writable, NULL);
    }
    return qmp;
}

void
vm_qmp_execute(struct vm_qmp *qmp, const char *command,
               struct json_object *arguments, int timeout_ms,
               vm_qmp_reply_cb *cb, void *aux)
{
    struct qmp_command *c = xzalloc(sizeof *c);
    struct json_object *request = json_object_new_object();

    c->qmp = qmp;
    c->id = qmp->next_id++;
    c->cb = cb;
    c->aux = aux;
    json_object_object_add(request, "execute",
                           json_object_new_string(command));
    if (arguments) {
        json_object_object_add(request, "arguments",
                               json_object_get(arguments));
    }
    json_object_object_add(request, "id", json_object_new_int64(c->id));
    c->text = xstrdup(
        json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN));
    json_object_put(request);
    c->timer = evtimer_new(qmp->base, on_command_timer, c);
    c->next = qmp->commands;
    qmp->commands = c;

    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (qmp->state == QMP_CLOSED) {
        /* Answered from the loop, as every outcome is. */
        c->error = ECONNRESET;
        snprintf(c->why, sizeof c->why, "%s", qmp->closed_why);
        tv = (struct timeval){0, 0};
    }
    event_add(c->timer, &tv);
    if (qmp->state == QMP_READY) {
        send_waiting(qmp);
    }
}

void
vm_qmp_forget(struct vm_qmp *qmp, void *aux)
{
    for (struct qmp_command *c = qmp->commands; c; c = c->next) {
        if (c->aux == aux) {
            c->cb = NULL;
        }
    }
}

bool
vm_qmp_is_open(const struct vm_qmp *qmp)
{
    return qmp && qmp->state != QMP_CLOSED;
}

void
vm_qmp_close(struct vm_qmp *qmp)
{
    if (!qmp) {
        return;
    }
    qmp->on_closed = NULL;
    qmp->on_event = NULL;
    while (qmp->commands) {
        struct qmp_command *c = qmp->commands;
        qmp->commands = c->next;
        c->next = NULL;
        complete(c, ECANCELED, "QMP connection closed", NULL);
    }
    if (qmp->fd >= 0) {
        close(qmp->fd);
        qmp->fd = -1;
    }
    qmp->state = QMP_CLOSED;
    event_del(qmp->readable);
    event_del(qmp->writable);
    event_del(qmp->closed);
    if (qmp->dispatching) {
        qmp->dead = true;
    } else {
        free_qmp(qmp);
    }
}

static void
free_qmp(struct vm_qmp *qmp)
{
    event_free(qmp->readable);
    event_free(qmp->writable);
    event_free(qmp->closed);
    free(qmp->in);
    free(qmp->out);
    free(qmp);
}

/* I/O. */

static void
on_writable(evutil_socket_t fd, short what, void *qmp_)
{
    struct vm_qmp *qmp = qmp_;

    if (qmp->state == QMP_CONNECTING) {
        int error = 0;
        socklen_t len = sizeof error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error) {
            char why[VM_WHY_SIZE];
            snprintf(why, sizeof why, "QMP connect: %s", strerror(error));
            lose_connection(qmp, why);
            return;
        }
        qmp->state = QMP_GREETING;
    }
    flush_out(qmp);
}

static void
on_readable(evutil_socket_t fd, short what, void *qmp_)
{
    struct vm_qmp *qmp = qmp_;

    qmp->dispatching++;
    for (;;) {
        if (qmp->in_used + 1 >= qmp->in_size) {
            if (qmp->in_size >= MAX_LINE) {
                lose_connection(qmp, "QMP: reply too long");
                return;
            }
            qmp->in_size *= 2;
            qmp->in = xrealloc(qmp->in, qmp->in_size);
        }
        ssize_t n =
            read(fd, qmp->in + qmp->in_used, qmp->in_size - 1 - qmp->in_used);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        if (n <= 0) {
            lose_connection(qmp, n < 0 ? strerror(errno)
                                       : "QMP: connection closed");
            break;
        }
        qmp->in_used += n;
        qmp->in[qmp->in_used] = '\0';

        /* Every complete line, in order.  A callback may close 'qmp':
         * then it is freed once this returns. */
        char *start = qmp->in;
        char *newline;
        while (qmp->state != QMP_CLOSED
               && (newline = memchr(start, '\n',
                                    qmp->in_used - (start - qmp->in)))) {
            *newline = '\0';
            char *line = xstrdup(start);
            start = newline + 1;
            size_t left = qmp->in_used - (start - qmp->in);
            memmove(qmp->in, start, left);
            qmp->in_used = left;
            qmp->in[left] = '\0';
            start = qmp->in;
            handle_line(qmp, line);
            free(line);
        }
        if (qmp->state == QMP_CLOSED) {
            break;
        }
    }
    if (!--qmp->dispatching && qmp->dead) {
        free_qmp(qmp);
    }
}

/* Appends 'text' and a newline to the output and sends what it can. */
static void
queue_line(struct vm_qmp *qmp, const char *text)
{
    size_t length = strlen(text);

    qmp->out = xrealloc(qmp->out, qmp->out_used + length + 1);
    memcpy(qmp->out + qmp->out_used, text, length);
    qmp->out[qmp->out_used + length] = '\n';
    qmp->out_used += length + 1;
    flush_out(qmp);
}

static void
flush_out(struct vm_qmp *qmp)
{
    while (qmp->out_used && qmp->state != QMP_CONNECTING
           && qmp->state != QMP_CLOSED) {
        ssize_t n = send(qmp->fd, qmp->out, qmp->out_used, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            event_add(qmp->writable, NULL);
            return;
        }
        if (n < 0) {
            char why[VM_WHY_SIZE];
            snprintf(why, sizeof why, "QMP send: %s", strerror(errno));
            lose_connection(qmp, why);
            return;
        }
        memmove(qmp->out, qmp->out + n, qmp->out_used - n);
        qmp->out_used -= n;
    }
}

/* One line from QEMU: the greeting, a reply or an event. */
static void
handle_line(struct vm_qmp *qmp, const char *text)
{
    struct json_object *line = json_tokener_parse(text);
    struct json_object *value;

    if (!json_object_is_type(line, json_type_object)) {
        json_object_put(line);
        lose_connection(qmp, "QMP: unparsable line");
        return;
    }
    if (qmp->state == QMP_GREETING) {
        if (!json_object_object_get(line, "QMP")) {
            json_object_put(line);
            lose_connection(qmp, "QMP: unexpected greeting");
            return;
        }
        qmp->state = QMP_NEGOTIATING;
        queue_line(qmp, "{\"execute\":\"qmp_capabilities\",\"id\":0}");
    } else if (json_object_object_get_ex(line, "event", &value)) {
        if (qmp->on_event) {
            qmp->on_event(qmp->aux, json_object_get_string(value),
                          json_object_object_get(line, "data"));
        }
    } else {
        uint64_t id = (uint64_t) json_object_get_int64(
            json_object_object_get(line, "id"));
        bool ok = json_object_object_get_ex(line, "return", &value);
        if (qmp->state == QMP_NEGOTIATING && id == 0) {
            if (!ok) {
                json_object_put(line);
                lose_connection(qmp, "QMP: capabilities refused");
                return;
            }
            qmp->state = QMP_READY;
            send_waiting(qmp);
        } else {
            struct qmp_command *c = take_command(qmp, id);
            if (!c) {
                /* The reply of a command that timed out. */
            } else if (ok) {
                complete(c, 0, "", value);
            } else {
                struct json_object *e = json_object_object_get(line, "error");
                char why[VM_WHY_SIZE];
                snprintf(
                    why, sizeof why, "QMP error %s: %s",
                    json_object_get_string(json_object_object_get(e, "class")),
                    json_object_get_string(json_object_object_get(e, "desc")));
                complete(c, EPROTO, why, NULL);
            }
        }
    }
    json_object_put(line);
}

/* Sends every command not sent yet, oldest first. */
static void
send_waiting(struct vm_qmp *qmp)
{
    struct qmp_command *unsent[64];
    size_t n = 0;

    for (;;) {
        n = 0;
        for (struct qmp_command *c = qmp->commands; c; c = c->next) {
            if (c->text && !c->error && n < 64) {
                unsent[n++] = c;
            }
        }
        if (!n) {
            return;
        }
        /* The list is newest first. */
        for (size_t i = n; i-- > 0;) {
            queue_line(qmp, unsent[i]->text);
            free(unsent[i]->text);
            unsent[i]->text = NULL;
            if (qmp->state == QMP_CLOSED) {
                return;
            }
        }
    }
}

/* The connection ended: every command fails from the loop, then the owner
 * hears of it. */
static void
lose_connection(struct vm_qmp *qmp, const char *why)
{
    if (qmp->state == QMP_CLOSED) {
        return;
    }
    qmp->state = QMP_CLOSED;
    snprintf(qmp->closed_why, sizeof qmp->closed_why, "%s", why);
    event_del(qmp->readable);
    event_del(qmp->writable);
    close(qmp->fd);
    qmp->fd = -1;
    qmp->out_used = 0;
    for (struct qmp_command *c = qmp->commands; c; c = c->next) {
        struct timeval now = {0, 0};
        c->error = ECONNRESET;
        snprintf(c->why, sizeof c->why, "%s", why);
        event_add(c->timer, &now);
    }
    event_add(qmp->closed, &(struct timeval){0, 0});
}

static void
on_closed_event(evutil_socket_t fd, short what, void *qmp_)
{
    struct vm_qmp *qmp = qmp_;
    vm_qmp_closed_cb *cb = qmp->on_closed;

    qmp->on_closed = NULL;
    if (cb) {
        cb(qmp->aux, qmp->closed_why);
    }
}

static void
on_command_timer(evutil_socket_t fd, short what, void *command_)
{
    struct qmp_command *c = command_;
    struct vm_qmp *qmp = c->qmp;

    take_command(qmp, c->id);
    if (c->error) {
        complete(c, c->error, c->why, NULL);
    } else {
        complete(c, ETIMEDOUT, "QMP: no answer in time", NULL);
    }
}

/* Unlinks command 'id' from 'qmp''s list and returns it, or NULL. */
static struct qmp_command *
take_command(struct vm_qmp *qmp, uint64_t id)
{
    for (struct qmp_command **p = &qmp->commands; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            struct qmp_command *c = *p;
            *p = c->next;
            c->next = NULL;
            return c;
        }
    }
    return NULL;
}

/* Tells 'c''s owner its outcome and frees it (already unlinked). */
static void
complete(struct qmp_command *c, int error, const char *why,
         struct json_object *ret)
{
    vm_qmp_reply_cb *cb = c->cb;
    void *aux = c->aux;
    char reason[VM_WHY_SIZE];

    snprintf(reason, sizeof reason, "%s", why ? why : "");
    event_free(c->timer);
    free(c->text);
    free(c);
    if (cb) {
        cb(aux, error, reason, ret);
    }
}
