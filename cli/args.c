#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static struct np_error *parse_option(int argc, char *argv[], int *ip,
                                     struct cli_args *args, bool *handled);
static struct np_error *add_param(struct cli_args *args, const char *arg);
static void add_param_parts(struct cli_args *args, const char *key,
                            size_t key_length, const char *value);
static struct np_error *parse_port(const char *text, int *port);

struct np_error *
cli_args_parse(int argc, char *argv[], struct cli_args *args)
{
    memset(args, 0, sizeof *args);
    args->ssl_verify = true;
    args->port = CLI_DEFAULT_PORT;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        struct np_error *error;
        bool handled;

        error = parse_option(argc, argv, &i, args, &handled);
        if (error) {
            return error;
        }
        if (handled) {
            continue;
        }
        if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
            /* xe spells boolean parameters as flags: "--force" is
             * "force=true". */
            const char *eq = strchr(arg + 2, '=');
            if (eq) {
                error = add_param(args, arg + 2);
                if (error) {
                    return error;
                }
            } else {
                add_param_parts(args, arg + 2, strlen(arg + 2), "true");
            }
        } else if (strchr(arg, '=')) {
            error = add_param(args, arg);
            if (error) {
                return error;
            }
        } else if (!args->command) {
            args->command = xstrdup(arg);
        } else {
            args->words = xrealloc(args->words,
                                   (args->n_words + 1) * sizeof *args->words);
            args->words[args->n_words++] = xstrdup(arg);
        }
    }
    return NULL;
}

void
cli_args_clear(struct cli_args *args)
{
    if (!args) {
        return;
    }
    for (size_t i = 0; i < args->n_params; i++) {
        free(args->params[i].key);
        free(args->params[i].map_key);
        free(args->params[i].value);
    }
    free(args->params);
    for (size_t i = 0; i < args->n_words; i++) {
        free(args->words[i]);
    }
    free(args->words);
    free(args->command);
    free(args->host);
    free(args->user);
    free(args->password);
    free(args->password_file);
    free(args->cafile);
    memset(args, 0, sizeof *args);
}

const char *
cli_args_get(const struct cli_args *args, const char *key)
{
    for (size_t i = args->n_params; i-- > 0;) {
        const struct cli_param *p = &args->params[i];
        if (!p->map_key && !strcmp(p->key, key)) {
            return p->value;
        }
    }
    return NULL;
}

/* Connection options and output flags. */

/* Options that take a value, and where it goes. */
enum option_slot {
    SLOT_HOST,
    SLOT_PORT,
    SLOT_USER,
    SLOT_PASSWORD,
    SLOT_PASSWORD_FILE,
    SLOT_CAFILE,
};

static const struct {
    const char *name;      /* As typed, e.g. "-pw". */
    enum option_slot slot; /* What it sets. */
} value_options[] = {
    {"-s", SLOT_HOST},
    {"-p", SLOT_PORT},
    {"-u", SLOT_USER},
    {"-pw", SLOT_PASSWORD},
    {"-pwf", SLOT_PASSWORD_FILE},
    {"--cafile", SLOT_CAFILE},
};

/* Handles argv[*ip] if it is an option or flag: sets '*handled' and
 * advances '*ip' past an option's value. */
static struct np_error *
parse_option(int argc, char *argv[], int *ip, struct cli_args *args,
             bool *handled)
{
    const char *arg = argv[*ip];
    const char *value = NULL;
    size_t n_options = sizeof value_options / sizeof *value_options;

    *handled = true;
    if (!strcmp(arg, "--minimal")) {
        args->minimal = true;
        return NULL;
    } else if (!strcmp(arg, "--json")) {
        args->json = true;
        return NULL;
    } else if (!strcmp(arg, "--version")) {
        args->version = true;
        return NULL;
    } else if (!strcmp(arg, "--no-ssl-verify")) {
        args->ssl_verify = false;
        return NULL;
    } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
        if (!args->command) {
            args->command = xstrdup("help");
        }
        return NULL;
    }

    for (size_t i = 0; i < n_options; i++) {
        const char *name = value_options[i].name;
        size_t length = strlen(name);
        char **slot = NULL;

        if (!strncmp(arg, name, length) && arg[length] == '='
            && name[1] == '-') {
            value = arg + length + 1;
        } else if (!strcmp(arg, name)) {
            if (*ip + 1 >= argc) {
                return np_error_new(ERR_MISSING_PARAMETER, name, NULL);
            }
            value = argv[++*ip];
        } else {
            continue;
        }

        switch (value_options[i].slot) {
        case SLOT_PORT:
            return parse_port(value, &args->port);
        case SLOT_HOST:
            slot = &args->host;
            break;
        case SLOT_USER:
            slot = &args->user;
            break;
        case SLOT_PASSWORD:
            slot = &args->password;
            break;
        case SLOT_PASSWORD_FILE:
            slot = &args->password_file;
            break;
        case SLOT_CAFILE:
            slot = &args->cafile;
            break;
        }
        free(*slot);
        *slot = xstrdup(value);
        return NULL;
    }

    *handled = false;
    return NULL;
}

/* Parameters. */

/* Adds "key=value" or "key:map-key=value" from 'arg'. */
static struct np_error *
add_param(struct cli_args *args, const char *arg)
{
    const char *eq = strchr(arg, '=');

    if (eq == arg) {
        return np_error_new(ERR_INVALID_VALUE, "argument", arg, NULL);
    }
    add_param_parts(args, arg, eq - arg, eq + 1);
    return NULL;
}

/* Adds the parameter whose key (with any ":map-key") is the 'key_length'
 * bytes at 'key'. */
static void
add_param_parts(struct cli_args *args, const char *key, size_t key_length,
                const char *value)
{
    struct cli_param *p;
    const char *colon = memchr(key, ':', key_length);

    args->params =
        xrealloc(args->params, (args->n_params + 1) * sizeof *args->params);
    p = &args->params[args->n_params++];
    if (colon) {
        p->key = strndup(key, colon - key);
        p->map_key = strndup(colon + 1, key_length - (colon + 1 - key));
        if (!p->map_key) {
            abort();
        }
    } else {
        p->key = strndup(key, key_length);
        p->map_key = NULL;
    }
    if (!p->key) {
        abort();
    }
    p->value = xstrdup(value);
}

/* Parses a TCP port number. */
static struct np_error *
parse_port(const char *text, int *port)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(text, &end, 10);
    if (errno || end == text || *end || n < 1 || n > 65535) {
        return np_error_new(ERR_INVALID_VALUE, "port", text, NULL);
    }
    *port = (int) n;
    return NULL;
}
