/* netpool: the command-line client of netpoold.  See cli/cli.h. */
#include "cli/cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/error.h"

int
main(int argc, char *argv[])
{
    struct cli_args args;
    struct np_error *error;
    int status;

    /* A daemon that closes a TLS connection early must not kill us. */
    signal(SIGPIPE, SIG_IGN);

    error = cli_args_parse(argc, argv, &args);
    if (!error) {
        error = cli_run(&args, stdout);
    }
    if (fflush(stdout) && !error) {
        error =
            np_error_new(ERR_INTERNAL_ERROR, "cannot write the output", NULL);
    }
    status = error ? EXIT_FAILURE : EXIT_SUCCESS;
    if (error) {
        cli_print_error(stderr, error, args.json);
        np_error_destroy(error);
    }
    cli_args_clear(&args);
    return status;
}
