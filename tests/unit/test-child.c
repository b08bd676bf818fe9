/*
 * Unit tests of the child runner (lib/child.h): output, exit status,
 * progress lines, the time limit, a grandchild that keeps the output open,
 * a child that logs to a file, and a child stopped before its end.  Real
 * processes (sh, sleep) on a libevent loop turned by the test.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "lib/child.h"
#include "tests/unit/fixture.h"

/* What the callbacks saw. */
struct seen {
    int n_done;        /* Calls of the done callback. */
    char *output;      /* Its output. */
    bool complete;     /* Its 'complete'. */
    int status;        /* Its 'status'. */
    char lines[8][32]; /* Lines told, first 8. */
    int n_lines;       /* Lines told. */
};

static void
on_done(void *seen_, const struct child_exit *end)
{
    struct seen *seen = seen_;

    seen->n_done++;
    free(seen->output);
    seen->output = xstrdup(end->output);
    seen->complete = end->complete;
    seen->status = end->status;
}

static void
on_line(void *seen_, const char *line)
{
    struct seen *seen = seen_;

    if (seen->n_lines < 8) {
        snprintf(seen->lines[seen->n_lines], sizeof seen->lines[0], "%s",
                 line);
    }
    seen->n_lines++;
}

/* Turns 'base' until 'seen' has its end, for at most 'limit_s' seconds;
 * returns the seconds it took. */
static double
run_until_done(struct event_base *base, struct seen *seen, int limit_s)
{
    struct timespec start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        event_base_loop(base, EVLOOP_ONCE);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (!seen->n_done && now.tv_sec - start.tv_sec < limit_s);
    return (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
}

static void
test_output_and_status(void **state)
{
    struct event_base *base = event_base_new();
    struct seen seen = {0};
    struct child *child;
    const char *args[] = {"world", NULL};
    (void) state;

    assert_int_equal(child_start_script(base, "echo hello $1; exit 3", args,
                                        10, on_done, &seen, &child),
                     0);
    assert_true(child_pid(child) > 0);
    run_until_done(base, &seen, 10);
    assert_int_equal(seen.n_done, 1);
    assert_true(seen.complete);
    assert_int_equal(seen.status, 3);
    assert_string_equal(seen.output, "hello world\n");
    free(seen.output);
    event_base_free(base);
}

static void
test_lines_and_stderr(void **state)
{
    struct event_base *base = event_base_new();
    struct seen seen = {0};
    struct child *child;
    const char *argv[] = {"sh", "-c",
                          "printf '(10/100%%)\\r(50/100%%)\\r'; "
                          "echo oops >&2; printf 'last'",
                          NULL};
    struct child_options options = {.stderr_too = true, .on_line = on_line};
    (void) state;

    assert_int_equal(child_start(base, argv, &options, on_done, &seen, &child),
                     0);
    run_until_done(base, &seen, 10);
    assert_int_equal(seen.n_done, 1);
    assert_int_equal(seen.status, 0);
    assert_int_equal(seen.n_lines, 3);
    assert_string_equal(seen.lines[0], "(10/100%)");
    assert_string_equal(seen.lines[1], "(50/100%)");
    assert_string_equal(seen.lines[2], "oops");
    assert_non_null(strstr(seen.output, "last"));
    free(seen.output);
    event_base_free(base);
}

static void
test_time_limit(void **state)
{
    struct event_base *base = event_base_new();
    struct seen seen = {0};
    struct child *child;
    (void) state;

    assert_int_equal(child_start_script(base, "echo started; sleep 30", NULL,
                                        1, on_done, &seen, &child),
                     0);
    pid_t pid = child_pid(child);
    run_until_done(base, &seen, 20);
    assert_int_equal(seen.n_done, 1);
    assert_false(seen.complete);
    assert_string_equal(seen.output, "started\n");
    assert_int_equal(kill(pid, 0), -1);
    free(seen.output);
    event_base_free(base);
}

static void
test_grandchild_keeps_output(void **state)
{
    struct event_base *base = event_base_new();
    struct seen seen = {0};
    struct child *child;
    (void) state;

    /* The shell exits at once; its background sleep holds stdout. */
    assert_int_equal(child_start_script(base, "sleep 20 & echo done", NULL, 30,
                                        on_done, &seen, &child),
                     0);
    pid_t group = child_pid(child);
    double took = run_until_done(base, &seen, 15);
    assert_int_equal(seen.n_done, 1);
    assert_true(seen.complete);
    assert_true(took < 15);
    kill(-group, SIGKILL);
    free(seen.output);
    event_base_free(base);
}

static void
test_log_and_stop(void **state)
{
    struct event_base *base = event_base_new();
    char *dir = fixture_dir_create();
    char *log = xasprintf("%s/out.log", dir);
    struct seen seen = {0};
    struct child *child;
    const char *argv[] = {"sh", "-c", "echo to-log; echo err >&2", NULL};
    struct child_options options = {.stderr_too = true, .output_log = log};
    (void) state;

    assert_int_equal(child_start(base, argv, &options, on_done, &seen, &child),
                     0);
    run_until_done(base, &seen, 10);
    assert_int_equal(seen.n_done, 1);
    assert_string_equal(seen.output, "");
    char text[64] = "";
    FILE *file = fopen(log, "r");
    assert_non_null(file);
    size_t n = fread(text, 1, sizeof text - 1, file);
    text[n] = '\0';
    fclose(file);
    assert_string_equal(text, "to-log\nerr\n");

    /* A child stopped before its end: no callback, nothing left. */
    seen.n_done = 0;
    assert_int_equal(
        child_start_script(base, "sleep 30", NULL, 60, on_done, &seen, &child),
        0);
    pid_t pid = child_pid(child);
    child_stop(child);
    assert_int_equal(kill(pid, 0), -1);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(seen.n_done, 0);

    /* A program that does not exist exits 127. */
    const char *missing[] = {"/nonexistent/program", NULL};
    assert_int_equal(child_start(base, missing, NULL, on_done, &seen, &child),
                     0);
    run_until_done(base, &seen, 10);
    assert_int_equal(seen.status, 127);

    free(seen.output);
    free(log);
    fixture_dir_remove(dir);
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_and_status),
        cmocka_unit_test(test_lines_and_stderr),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_grandchild_keeps_output),
        cmocka_unit_test(test_log_and_stop),
    };
    return cmocka_run_group_tests_name("child", tests, NULL, NULL);
}
