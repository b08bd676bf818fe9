/* Unit tests for the netpool CLI's argument parser (cli/args.c) and
 * command lookup (cli/commands.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "lib/error.h"

/* Parses the NULL-terminated words after "netpool" into 'args'. */
static struct np_error *
parse(struct cli_args *args, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;
    char *word;

    argv[argc++] = "netpool";
    va_start(ap, args);
    while ((word = va_arg(ap, char *)) != NULL && argc < 63) {
        argv[argc++] = word;
    }
    va_end(ap);
    argv[argc] = NULL;
    return cli_args_parse(argc, argv, args);
}

static void
test_key_value(void **state)
{
    struct cli_args args;

    (void) state;
    assert_null(parse(&args, "network-list", "name-label=a=b", "MTU=9000",
                      "empty=", NULL));
    assert_string_equal(args.command, "network-list");
    assert_int_equal(args.n_params, 3);
    assert_string_equal(args.params[0].key, "name-label");
    assert_null(args.params[0].map_key);
    assert_string_equal(args.params[0].value, "a=b");
    assert_string_equal(cli_args_get(&args, "MTU"), "9000");
    assert_string_equal(cli_args_get(&args, "empty"), "");
    assert_null(cli_args_get(&args, "missing"));
    assert_false(args.minimal);
    assert_false(args.json);
    assert_true(args.ssl_verify);
    assert_null(args.host);
    assert_int_equal(args.port, CLI_DEFAULT_PORT);
    cli_args_clear(&args);
}

static void
test_map_keys(void **state)
{
    struct cli_args args;

    (void) state;
    assert_null(parse(&args, "network-param-set", "uuid=u",
                      "other-config:auto_poweron=true",
                      "other-config:url=http://x:80/", NULL));
    assert_int_equal(args.n_params, 3);
    assert_string_equal(args.params[1].key, "other-config");
    assert_string_equal(args.params[1].map_key, "auto_poweron");
    assert_string_equal(args.params[1].value, "true");
    assert_string_equal(args.params[2].map_key, "url");
    assert_string_equal(args.params[2].value, "http://x:80/");
    /* Map keys are not plain parameters. */
    assert_null(cli_args_get(&args, "other-config"));
    cli_args_clear(&args);
}

static void
test_last_wins(void **state)
{
    struct cli_args args;

    (void) state;
    assert_null(parse(&args, "pif-list", "device=eth0", "device=eth1", NULL));
    assert_string_equal(cli_args_get(&args, "device"), "eth1");
    cli_args_clear(&args);
}

static void
test_flags(void **state)
{
    struct cli_args args;

    (void) state;
    assert_null(parse(&args, "--minimal", "pif-list", "--json", "--force",
                      "--no-ssl-verify", "--version", NULL));
    assert_true(args.minimal);
    assert_true(args.json);
    assert_true(args.version);
    assert_false(args.ssl_verify);
    assert_string_equal(args.command, "pif-list");
    /* xe: "--force" is "force=true". */
    assert_string_equal(cli_args_get(&args, "force"), "true");
    cli_args_clear(&args);
}

static void
test_connection(void **state)
{
    struct cli_args args;

    (void) state;
    assert_null(parse(&args, "-s", "198.18.0.11", "-p", "8443", "-u", "root",
                      "-pw", "secret", "host-list", "--cafile=/ca.pem", "-pwf",
                      "/pw", NULL));
    assert_string_equal(args.host, "198.18.0.11");
    assert_int_equal(args.port, 8443);
    assert_string_equal(args.user, "root");
    assert_string_equal(args.password, "secret");
    assert_string_equal(args.password_file, "/pw");
    assert_string_equal(args.cafile, "/ca.pem");
    assert_string_equal(args.command, "host-list");
    assert_int_equal(args.n_params, 0);
    cli_args_clear(&args);

    assert_null(parse(&args, "--cafile", "/other.pem", NULL));
    assert_string_equal(args.cafile, "/other.pem");
    assert_null(args.command);
    cli_args_clear(&args);
}

static void
test_bad_options(void **state)
{
    struct cli_args args;
    struct np_error *error;

    (void) state;
    error = parse(&args, "host-list", "-s", NULL);
    assert_non_null(error);
    assert_string_equal(error->code, ERR_MISSING_PARAMETER);
    assert_string_equal(error->params[0], "-s");
    np_error_destroy(error);
    cli_args_clear(&args);

    error = parse(&args, "-p", "0", NULL);
    assert_non_null(error);
    assert_string_equal(error->code, ERR_INVALID_VALUE);
    np_error_destroy(error);
    cli_args_clear(&args);

    error = parse(&args, "-p", "443x", NULL);
    assert_non_null(error);
    np_error_destroy(error);
    cli_args_clear(&args);

    error = parse(&args, "=value", NULL);
    assert_non_null(error);
    assert_string_equal(error->code, ERR_INVALID_VALUE);
    np_error_destroy(error);
    cli_args_clear(&args);
}

static void
test_words(void **state)
{
    struct cli_args args;

    (void) state;
    assert_null(parse(&args, "help", "network-create", "--all", NULL));
    assert_string_equal(args.command, "help");
    assert_int_equal(args.n_words, 1);
    assert_string_equal(args.words[0], "network-create");
    assert_string_equal(cli_args_get(&args, "all"), "true");
    cli_args_clear(&args);

    assert_null(parse(&args, "--help", NULL));
    assert_string_equal(args.command, "help");
    cli_args_clear(&args);
}

static void
test_command_find(void **state)
{
    const struct cli_class *class;
    const struct cli_command *cmd;

    (void) state;
    cmd = cli_command_find("pif-param-list", &class);
    assert_non_null(cmd);
    assert_string_equal(cmd->name, "param-list");
    assert_non_null(class);
    assert_string_equal(class->api_name, "PIF");

    cmd = cli_command_find("network-create", &class);
    assert_non_null(cmd);
    assert_null(class);
    assert_string_equal(cmd->name, "network-create");

    cmd = cli_command_find("vlan-list", &class);
    assert_non_null(cmd);
    assert_string_equal(class->api_name, "VLAN");

    assert_null(cli_command_find("frob-list", &class));
    assert_null(cli_command_find("network-frob", &class));
    assert_null(cli_command_find("list", &class));
    assert_null(cli_command_find("-list", &class));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_value),  cmocka_unit_test(test_map_keys),
        cmocka_unit_test(test_last_wins),  cmocka_unit_test(test_flags),
        cmocka_unit_test(test_connection), cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_words),      cmocka_unit_test(test_command_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
