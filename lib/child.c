/*
 * Child processes beside the event loop: fork and exec, output read from a
 * non-blocking pipe as it arrives, the end learnt from a pidfd (a
 * descriptor that becomes readable when the process exits), so that
 * neither a child that keeps its output open through a grandchild nor one
 * that prints nothing ever blocks the loop.
 */
#include "lib/child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/event.h>

#include "lib/xalloc.h"

#define POLL_INTERVAL_MS 50 /* Exit polling where pidfds do not exist. */

struct child {
    pid_t pid;              /* The process, or 0 once reaped. */
    int fd;                 /* Read end of its output, or -1. */
    int pidfd;              /* Readable once it exits, or -1. */
    struct event *output;   /* Readability of 'fd'. */
    struct event *exited;   /* Readability of 'pidfd', or a poll timer. */
    struct event *timeout;  /* Fires at the time limit, or NULL. */
    char *text;             /* What it printed so far, NUL-terminated. */
    size_t length;          /* Characters in 'text'. */
    size_t line_start;      /* Start of the line being printed. */
    int status;             /* waitpid() status once reaped by a poll. */
    child_line_cb *on_line; /* Told each line, or NULL. */
    child_done_cb *cb;      /* Called once, when it ends. */
    void *aux;              /* Argument for the callbacks. */
};

static void on_output(evutil_socket_t, short, void *child_);
static void on_exit_event(evutil_socket_t, short, void *child_);
static void on_timeout(evutil_socket_t, short, void *child_);
static void drain(struct child *);
static void finish(struct child *, bool complete);
static void exec_child(const char *const *argv, const struct child_options *,
                       int out, pid_t parent);

int
child_start(struct event_base *base, const char *const *argv,
            const struct child_options *options, child_done_cb *cb, void *aux,
            struct child **childp)
{
    static const struct child_options defaults;
    int fds[2] = {-1, -1};

    *childp = NULL;
    options = options ? options : &defaults;
    if (!options->output_log && pipe2(fds, O_CLOEXEC)) {
        return errno;
    }

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        if (fds[0] >= 0) {
            close(fds[0]);
            close(fds[1]);
        }
        return error;
    }
    if (!pid) {
        exec_child(argv, options, fds[1], parent);
    }
    if (fds[1] >= 0) {
        close(fds[1]);
    }

    struct child *c = xzalloc(sizeof *c);
    c->pid = pid;
    c->fd = fds[0];
    c->cb = cb;
    c->aux = aux;
    c->on_line = options->on_line;
    c->text = xzalloc(1);
    if (c->fd >= 0) {
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        c->output = event_new(base, c->fd, EV_READ | EV_PERSIST, on_output, c);
        event_add(c->output, NULL);
    }
    c->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (c->pidfd >= 0) {
        fcntl(c->pidfd, F_SETFD, FD_CLOEXEC);
        c->exited = event_new(base, c->pidfd, EV_READ, on_exit_event, c);
        event_add(c->exited, NULL);
    } else {
        struct timeval tv = {0, POLL_INTERVAL_MS * 1000};
        c->exited = event_new(base, -1, EV_PERSIST, on_exit_event, c);
        event_add(c->exited, &tv);
    }
    if (options->timeout_s > 0) {
        struct timeval tv = {options->timeout_s, 0};
        c->timeout = evtimer_new(base, on_timeout, c);
        event_add(c->timeout, &tv);
    }
    *childp = c;
    return 0;
}

int
child_start_script(struct event_base *base, const char *script,
                   const char *const *args, int timeout_s, child_done_cb *cb,
                   void *aux, struct child **childp)
{
    size_t n_args = 0;

    while (args && args[n_args]) {
        n_args++;
    }
    const char **argv = xzalloc((n_args + 5) * sizeof *argv);
    argv[0] = "sh";
    argv[1] = "-c";
    argv[2] = script;
    argv[3] = "sh";
    for (size_t i = 0; i < n_args; i++) {
        argv[4 + i] = args[i];
    }
    struct child_options options = {.timeout_s =
                                        timeout_s > 0 ? timeout_s : 1};
    int error = child_start(base, argv, &options, cb, aux, childp);
    free(argv);
    return error;
}

pid_t
child_pid(const struct child *c)
{
    return c->pid;
}

void
child_stop(struct child *c)
{
    if (!c) {
        return;
    }
    c->cb = NULL;
    finish(c, false);
}

/* Events. */

static void
on_output(evutil_socket_t fd, short what, void *child_)
{
    drain(child_);
}

static void
on_exit_event(evutil_socket_t fd, short what, void *child_)
{
    struct child *c = child_;

    if (c->pidfd < 0) {
        /* No pidfd: a poll. */
        int status;
        pid_t pid = waitpid(c->pid, &status, WNOHANG);
        if (pid == 0 || (pid < 0 && errno == EINTR)) {
            return; /* Still running. */
        }
        c->pid = 0;
        c->status = pid < 0 ? 127 << 8 : status;
    }
    finish(c, true);
}

static void
on_timeout(evutil_socket_t fd, short what, void *child_)
{
    finish(child_, false);
}

/* Reads what the child printed so far, telling 'on_line' each complete
 * line; closes the pipe at its end. */
static void
drain(struct child *c)
{
    char buf[4096];

    while (c->fd >= 0) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n > 0) {
            c->text = xrealloc(c->text, c->length + n + 1);
            memcpy(c->text + c->length, buf, n);
            c->length += n;
            c->text[c->length] = '\0';
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            if (n == 0 || errno != EAGAIN) {
                event_free(c->output);
                c->output = NULL;
                close(c->fd);
                c->fd = -1;
            }
            break;
        }
    }
    while (c->on_line && c->line_start < c->length) {
        char *start = c->text + c->line_start;
        size_t span = strcspn(start, "\r\n");
        if (start[span] == '\0') {
            break;
        }
        char *line = xasprintf("%.*s", (int) span, start);
        c->line_start += span + 1;
        c->on_line(c->aux, line);
        free(line);
    }
}

/* Reaps the child (killing its process group first unless 'complete'),
 * calls back with what it printed unless stopped, and frees 'c'. */
static void
finish(struct child *c, bool complete)
{
    int status = c->status;

    if (c->pid > 0) {
        if (!complete) {
            kill(-c->pid, SIGKILL);
            kill(c->pid, SIGKILL);
        }
        while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {
            continue;
        }
        c->pid = 0;
    }
    if (complete) {
        drain(c);
    }
    if (c->output) {
        event_free(c->output);
    }
    if (c->exited) {
        event_free(c->exited);
    }
    if (c->timeout) {
        event_free(c->timeout);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    if (c->pidfd >= 0) {
        close(c->pidfd);
    }
    if (c->cb) {
        struct child_exit end = {
            .output = c->text,
            .complete = complete,
            .status = WIFEXITED(status)     ? WEXITSTATUS(status)
                      : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                            : 127,
        };
        c->cb(c->aux, &end);
    }
    free(c->text);
    free(c);
}

/* In the child: sets up its session, descriptors and signals and runs
 * 'argv'.  Never returns. */
static void
exec_child(const char *const *argv, const struct child_options *options,
           int out, pid_t parent)
{
    int null = open("/dev/null", O_RDWR);

    setsid();
    if (!options->outlives_parent) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127); /* The parent died before the request took. */
        }
    }
    if (options->output_log) {
        out = open(options->output_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    }
    dup2(null, STDIN_FILENO);
    dup2(out >= 0 ? out : null, STDOUT_FILENO);
    dup2(options->stderr_too && out >= 0 ? out : null, STDERR_FILENO);
    close_range(3, ~0U, 0);

    /* The daemon's dispositions are not the child's. */
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);

    execvp(argv[0], (char *const *) argv);
    _exit(127);
}
