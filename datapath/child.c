/*
 * Child processes: a shell script whose output is collected from the
 * event loop, never blocking it, and which is killed when it runs past its
 * time limit.  The OVS tools that have no library interface worth linking
 * for one read (ovs-appctl, ovs-ofctl) run this way.
 */
#include "datapath/datapath.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/event.h>

#include "lib/xalloc.h"

extern char **environ;

struct dp_child {
    pid_t pid;             /* The shell, or 0 once reaped. */
    int fd;                /* Read end of its stdout, or -1. */
    struct event *output;  /* Readability of 'fd'. */
    struct event *timeout; /* Fires at the time limit. */
    char *text;            /* What it printed so far, NUL-terminated. */
    size_t length;         /* Characters in 'text'. */
    dp_child_done_cb *cb;  /* Called once, when it ends. */
    void *aux;             /* Argument for 'cb'. */
};

static void on_output(evutil_socket_t, short, void *child_);
static void on_timeout(evutil_socket_t, short, void *child_);
static void finish(struct dp_child *, bool complete);

int
dp_child_start(struct event_base *base, const char *script,
               const char *const *args, int timeout_s, dp_child_done_cb *cb,
               void *aux, struct dp_child **childp)
{
    size_t n_args = 0;
    int fds[2];

    *childp = NULL;
    while (args && args[n_args]) {
        n_args++;
    }
    if (pipe2(fds, O_CLOEXEC)) {
        return errno;
    }

    const char **argv = xzalloc((n_args + 5) * sizeof *argv);
    argv[0] = "sh";
    argv[1] = "-c";
    argv[2] = script;
    argv[3] = "sh";
    for (size_t i = 0; i < n_args; i++) {
        argv[4 + i] = args[i];
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    /* Its own process group, so that a kill reaches the tools it runs. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid;
    int error =
        posix_spawnp(&pid, "sh", &actions, &attr, (char **) argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    free(argv);
    close(fds[1]);
    if (error) {
        close(fds[0]);
        return error;
    }

    struct dp_child *c = xzalloc(sizeof *c);
    c->pid = pid;
    c->fd = fds[0];
    c->cb = cb;
    c->aux = aux;
    c->text = xzalloc(1);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->output = event_new(base, c->fd, EV_READ | EV_PERSIST, on_output, c);
    event_add(c->output, NULL);
    c->timeout = evtimer_new(base, on_timeout, c);
    struct timeval tv = {timeout_s > 0 ? timeout_s : 1, 0};
    event_add(c->timeout, &tv);
    *childp = c;
    return 0;
}

void
dp_child_stop(struct dp_child *c)
{
    if (!c) {
        return;
    }
    c->cb = NULL;
    finish(c, false);
}

char *
dp_ovs_rundir(const char *remote)
{
    const char *env = getenv("OVS_RUNDIR");

    if (remote && !strncmp(remote, "unix:", 5)) {
        char *dir = xstrdup(remote + 5);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            return dir;
        }
        free(dir);
    }
    return env && *env ? xstrdup(env) : NULL;
}

static void
on_output(evutil_socket_t fd, short what, void *child_)
{
    struct dp_child *c = child_;
    char buf[4096];

    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            c->text = xrealloc(c->text, c->length + n + 1);
            memcpy(c->text + c->length, buf, n);
            c->length += n;
            c->text[c->length] = '\0';
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        } else {
            finish(c, true);
            return;
        }
    }
}

static void
on_timeout(evutil_socket_t fd, short what, void *child_)
{
    finish(child_, false);
}

/* Reaps the child (killing it first unless 'complete'), calls back with
 * what it printed, and frees 'c'. */
static void
finish(struct dp_child *c, bool complete)
{
    event_free(c->output);
    event_free(c->timeout);
    close(c->fd);
    if (!complete) {
        kill(-c->pid, SIGKILL);
    }
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
        continue;
    }
    if (c->cb) {
        c->cb(c->aux, c->text, complete);
    }
    free(c->text);
    free(c);
}
