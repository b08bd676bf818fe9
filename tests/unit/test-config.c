/*
 * Unit tests of netpoold's configuration (mgmt/config.c): defaults, the
 * command line, the configuration file, errors that name the bad option,
 * and reloads that keep what the command line set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/error.h"
#include "mgmt/mgmt.h"
#include "tests/unit/fixture.h"

/* One test's scratch directory and configuration. */
struct fixture {
    char *dir;            /* Scratch directory. */
    char *file;           /* Configuration file in 'dir'. */
    struct config config; /* Loaded by load(). */
};

static int
setup(void **state)
{
    struct fixture *fx = xzalloc(sizeof *fx);

    fx->dir = fixture_dir_create();
    assert_non_null(fx->dir);
    fx->file = xasprintf("%s/netpoold.conf", fx->dir);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    config_clear(&fx->config);
    fixture_dir_remove(fx->dir);
    free(fx->file);
    free(fx);
    return 0;
}

/* Writes 'text' as the configuration file of 'fx'. */
static void
write_file(struct fixture *fx, const char *text)
{
    FILE *file = fopen(fx->file, "w");

    assert_non_null(file);
    fputs(text, file);
    assert_int_equal(fclose(file), 0);
}

/* Runs config_load() on "netpoold" and the NULL-terminated arguments
 * that follow, into fx->config (cleared first). */
static struct np_error *
load(struct fixture *fx, ...)
{
    char *argv[32];
    int argc = 0;
    va_list args;

    argv[argc++] = (char *) "netpoold";
    va_start(args, fx);
    for (char *arg; (arg = va_arg(args, char *));) {
        assert_true(argc < 31);
        argv[argc++] = arg;
    }
    va_end(args);
    argv[argc] = NULL;

    config_clear(&fx->config);
    return config_load(&fx->config, argc, argv);
}

/* Asserts that 'error' is INVALID_VALUE with parameters 'name' and
 * 'value' (first two), then frees it. */
static void
expect_invalid(struct np_error *error, const char *name, const char *value)
{
    assert_non_null(error);
    assert_string_equal(error->code, ERR_INVALID_VALUE);
    assert_true(error->n_params >= 2);
    assert_string_equal(error->params[0], name);
    assert_string_equal(error->params[1], value);
    np_error_destroy(error);
}

/* Without options every setting has its documented default. */
static void
test_defaults(void **state)
{
    struct fixture *fx = *state;
    struct config *c = &fx->config;

    assert_null(load(fx, NULL));
    assert_null(c->config_file);
    assert_string_equal(c->state_dir, "/var/lib/netpool");
    assert_string_equal(c->unix_socket, "/run/netpool/netpoold.sock");
    assert_string_equal(c->https_address, "");
    assert_int_equal(c->https_port, 443);
    assert_string_equal(c->pidfile, "/run/netpool/netpoold.pid");
    assert_null(c->log_file);
    assert_false(c->syslog);
    assert_int_equal(c->log_level, LOG_LEVEL_INFO);
    assert_false(c->detach);
    assert_null(c->management_interface);
    assert_string_equal(c->pif_match, "eth* en*");
    assert_int_equal(c->resync_interval, 30);
    assert_string_equal(c->ovs_db, "unix:/var/run/openvswitch/db.sock");
    assert_int_equal(c->change_log_keep, 100000);
    assert_false(c->store_sync_full);
    assert_non_null(c->cmdline_mask);

    /* Reload without a file changes nothing. */
    assert_null(config_reload(c));
    assert_int_equal(c->https_port, 443);
}

/* Every option of the command line lands in its field. */
static void
test_command_line(void **state)
{
    struct fixture *fx = *state;
    struct config *c = &fx->config;

    assert_null(load(
        fx, "--state-dir", "/srv/np", "--unix-socket=/tmp/s",
        "--https-address", "127.0.0.1", "--https-port", "0", "--pidfile",
        "/tmp/p", "--log-file", "/tmp/l", "--syslog", "--log-level", "debug",
        "--detach", "--management-interface", "eth1", "--pif-match", "veth*",
        "--resync-interval", "5", "--ovs-db", "tcp:127.0.0.1:6640",
        "--change-log-keep", "100", "--store-sync", "full", NULL));
    assert_string_equal(c->state_dir, "/srv/np");
    assert_string_equal(c->unix_socket, "/tmp/s");
    assert_string_equal(c->https_address, "127.0.0.1");
    assert_int_equal(c->https_port, 0);
    assert_string_equal(c->pidfile, "/tmp/p");
    assert_string_equal(c->log_file, "/tmp/l");
    assert_true(c->syslog);
    assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
    assert_true(c->detach);
    assert_string_equal(c->management_interface, "eth1");
    assert_string_equal(c->pif_match, "veth*");
    assert_int_equal(c->resync_interval, 5);
    assert_string_equal(c->ovs_db, "tcp:127.0.0.1:6640");
    assert_int_equal(c->change_log_keep, 100);
    assert_true(c->store_sync_full);
    assert_null(load(fx, "--store-sync", "interval", NULL));
    assert_false(c->store_sync_full);

    /* A second load starts again from the defaults. */
    assert_null(load(fx, "--https-port", "8443", NULL));
    assert_int_equal(c->https_port, 8443);
    assert_string_equal(c->state_dir, "/var/lib/netpool");
    assert_false(c->syslog);

    struct np_error *error = load(fx, "--help", NULL);
    assert_non_null(error);
    assert_string_equal(error->code, "HELP");
    np_error_destroy(error);
}

/* Bad values and unknown options are INVALID_VALUE naming the option and
 * the value. */
static void
test_bad_values(void **state)
{
    struct fixture *fx = *state;

    expect_invalid(load(fx, "--https-port", "70000", NULL), "https-port",
                   "70000");
    expect_invalid(load(fx, "--https-port", "-1", NULL), "https-port", "-1");
    expect_invalid(load(fx, "--https-port", "44x", NULL), "https-port", "44x");
    expect_invalid(load(fx, "--https-port=", NULL), "https-port", "");
    expect_invalid(load(fx, "--log-level", "loud", NULL), "log-level", "loud");
    expect_invalid(load(fx, "--resync-interval", "0", NULL), "resync-interval",
                   "0");
    expect_invalid(load(fx, "--resync-interval", "86401", NULL),
                   "resync-interval", "86401");
    expect_invalid(load(fx, "--change-log-keep", "99", NULL),
                   "change-log-keep", "99");
    expect_invalid(load(fx, "--store-sync", "normal", NULL), "store-sync",
                   "normal");
    expect_invalid(load(fx, "--bogus", NULL), "option", "--bogus");
    expect_invalid(load(fx, "--https-port", NULL), "option", "--https-port");
    expect_invalid(load(fx, "stray", NULL), "argument", "stray");

    /* A bad option after good ones still fails, and the next load is
     * clean. */
    expect_invalid(load(fx, "--https-port", "8443", "--log-level", "x", NULL),
                   "log-level", "x");
    assert_null(load(fx, NULL));
    assert_int_equal(fx->config.https_port, 443);
}

/* The file sets options by their long names; comments and blank lines
 * are skipped; the command line wins over the file. */
static void
test_file(void **state)
{
    struct fixture *fx = *state;
    struct config *c = &fx->config;

    write_file(fx, "# netpoold configuration\n"
                   "\n"
                   "state-dir = /srv/from-file\n"
                   "   https-port=8443\n"
                   "log-level = warn   \n"
                   "syslog = yes\n"
                   "detach = false\n"
                   "pif-match = eth* veth*\n"
                   "management-interface = eth2\n");
    assert_null(load(fx, "--config", fx->file, "--https-port", "9443", NULL));
    assert_string_equal(c->config_file, fx->file);
    assert_string_equal(c->state_dir, "/srv/from-file");
    assert_int_equal(c->https_port, 9443);
    assert_int_equal(c->log_level, LOG_LEVEL_WARN);
    assert_true(c->syslog);
    assert_false(c->detach);
    assert_string_equal(c->pif_match, "eth* veth*");
    assert_string_equal(c->management_interface, "eth2");
    assert_string_equal(c->unix_socket, "/run/netpool/netpoold.sock");
}

/* Errors in the file name the option (or the line, or the key). */
static void
test_file_errors(void **state)
{
    struct fixture *fx = *state;

    write_file(fx, "https-port = 8443\nresync-interval = often\n");
    expect_invalid(load(fx, "--config", fx->file, NULL), "resync-interval",
                   "often");

    write_file(fx, "state-dir = /x\ncolour = blue\n");
    expect_invalid(load(fx, "--config", fx->file, NULL), "config key",
                   "colour");

    write_file(fx, "config = /etc/other.conf\n");
    expect_invalid(load(fx, "--config", fx->file, NULL), "config key",
                   "config");

    write_file(fx, "# fine\nstate-dir = /x\njust words\n");
    expect_invalid(load(fx, "--config", fx->file, NULL), fx->file, "line 3");

    char *missing = xasprintf("%s/missing.conf", fx->dir);
    expect_invalid(load(fx, "--config", missing, NULL), "config", missing);
    free(missing);

    /* A bad value in the file for an option the command line sets is
     * never looked at. */
    write_file(fx, "https-port = many\n");
    assert_null(load(fx, "--config", fx->file, "--https-port", "1", NULL));
    assert_int_equal(fx->config.https_port, 1);
}

/* A reload re-reads the file but keeps what the command line set; a bad
 * file leaves the configuration as it was. */
static void
test_reload(void **state)
{
    struct fixture *fx = *state;
    struct config *c = &fx->config;

    write_file(fx, "state-dir = /srv/a\nhttps-port = 1000\n"
                   "log-level = info\n");
    assert_null(load(fx, "--config", fx->file, "--https-port", "8443",
                     "--log-file", "/tmp/cmdline.log", NULL));
    assert_string_equal(c->state_dir, "/srv/a");
    assert_int_equal(c->https_port, 8443);

    write_file(fx, "state-dir = /srv/b\nhttps-port = 2000\n"
                   "log-level = debug\nlog-file = /tmp/file.log\n"
                   "resync-interval = 7\n");
    assert_null(config_reload(c));
    assert_string_equal(c->config_file, fx->file);
    assert_string_equal(c->state_dir, "/srv/b");
    assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
    assert_int_equal(c->resync_interval, 7);
    assert_int_equal(c->https_port, 8443);
    assert_string_equal(c->log_file, "/tmp/cmdline.log");

    write_file(fx, "state-dir = /srv/c\nresync-interval = never\n");
    struct np_error *error = config_reload(c);
    expect_invalid(error, "resync-interval", "never");
    assert_string_equal(c->state_dir, "/srv/b");
    assert_int_equal(c->resync_interval, 7);
    assert_int_equal(c->https_port, 8443);

    /* A reload that succeeds after the failed one still keeps the
     * command line. */
    write_file(fx, "https-port = 3000\nstate-dir = /srv/d\n");
    assert_null(config_reload(c));
    assert_string_equal(c->state_dir, "/srv/d");
    assert_int_equal(c->https_port, 8443);
    assert_string_equal(c->log_file, "/tmp/cmdline.log");
}

int
main(void)
{
#define TEST(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_defaults), TEST(test_command_line), TEST(test_bad_values),
        TEST(test_file),     TEST(test_file_errors),  TEST(test_reload),
    };
#undef TEST
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
