#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xalloc.h"

#define HELP_WIDTH 79 /* Columns of wrapped help text. */

static void print_usage(FILE *out);
static void print_command(FILE *out, const struct cli_command *cmd,
                          const struct cli_class *class);
static void print_all(FILE *out, bool names_only);
static void print_params(FILE *out, const struct cli_command *cmd,
                         const struct cli_class *class);
static char *synopsis(const struct cli_command *cmd, const char *name);
static void add_spec(char **s, const char *spec, bool required);
static const char *placeholder(const char *key);
static void print_wrapped(FILE *out, const char *first, const char *indent,
                          const char *text);
static void write_roff(FILE *out, const char *text);
static char *command_name(const struct cli_command *cmd,
                          const struct cli_class *class);
static char *describe(const struct cli_command *cmd,
                      const struct cli_class *class);

struct np_error *
cli_cmd_help(struct cli_ctx *ctx)
{
    const struct cli_args *args = ctx->args;
    const char *topic = args->n_words ? args->words[0] : NULL;
    const struct cli_command *cmd = NULL;
    const struct cli_class *class = NULL;

    if (topic) {
        cmd = cli_command_find(topic, &class);
        if (!cmd) {
            return np_error_new(ERR_UNKNOWN_COMMAND, topic, NULL);
        }
    }

    if (cli_args_get(args, "roff")) {
        cli_commands_write_roff(ctx->out);
    } else if (cli_args_get(args, "params")) {
        if (!cmd) {
            return np_error_new(ERR_MISSING_PARAMETER, "COMMAND", NULL);
        }
        print_params(ctx->out, cmd, class);
    } else if (cmd) {
        print_command(ctx->out, cmd, class);
    } else if (cli_args_get(args, "list")) {
        print_all(ctx->out, true);
    } else if (cli_args_get(args, "all")) {
        print_all(ctx->out, false);
    } else {
        print_usage(ctx->out);
    }
    return NULL;
}

void
cli_commands_write_roff(FILE *stream)
{
    const struct cli_command *const *cmds = cli_commands();
    const struct cli_class *const *classes = cli_classes();

    fputs(".SS \"Commands for every class\"\n"
          ".PP\n"
          "\\fICLASS\\fR is one of:",
          stream);
    for (size_t i = 0; classes[i]; i++) {
        fprintf(stream, " \\fB%s\\fR%s", classes[i]->cli_name,
                classes[i + 1] ? "," : ".");
    }
    fputs("\nThe object of a command is named by \\fBuuid=\\fIUUID\\fR or "
          "\\fICLASS\\fB=\\fINAME\\-OR\\-UUID\\fR.\n",
          stream);

    for (int pass = 0; pass < 2; pass++) {
        bool generic = pass == 0;
        if (!generic) {
            fputs(".SS \"Other commands\"\n", stream);
        }
        for (size_t i = 0; cmds[i]; i++) {
            if (!(cmds[i]->flags & CLI_CMD_GENERIC) == generic) {
                continue;
            }
            char *name = command_name(cmds[i], NULL);
            char *line = synopsis(cmds[i], name);
            char *description = describe(cmds[i], NULL);
            fputs(".TP\n.B ", stream);
            write_roff(stream, line);
            write_roff(stream, description);
            free(description);
            free(line);
            free(name);
        }
    }
}

/* Writes the summary that "netpool help" shows. */
static void
print_usage(FILE *out)
{
    const struct cli_command *const *cmds = cli_commands();
    const struct cli_class *const *classes = cli_classes();
    char *list = xstrdup(""), *s;

    fputs("Usage: netpool COMMAND [KEY=VALUE ...] [--minimal] [--json]\n"
          "       netpool help [COMMAND | --all | --list]\n"
          "       netpool --version\n"
          "\n"
          "Connection: by default the unix socket $NETPOOL_SOCKET, else\n"
          "  " CLI_DEFAULT_SOCKET ", as the local root.\n"
          "  -s HOST [-p PORT]   HTTPS to HOST (port 443), TLS 1.2 or newer\n"
          "  -u USER -pw PASS    log in; -pwf FILE reads the password (or\n"
          "                      a user line and a password line) from FILE\n"
          "  --cafile FILE       CA bundle that signs the host certificate\n"
          "                      (or $NETPOOL_CAFILE; default: system store)\n"
          "  --no-ssl-verify     do not verify the host certificate\n"
          "\n"
          "Output: xe-style records; --minimal prints comma-separated\n"
          "UUIDs, --json prints JSON.  Exit status 0 on success, 1 on\n"
          "error, with the error on stderr.\n\n",
          out);

    for (size_t i = 0; classes[i]; i++) {
        s = xasprintf("%s%s%s", list, i ? " " : "", classes[i]->cli_name);
        free(list);
        list = s;
    }
    s = xasprintf("Commands for every CLASS (%s):", list);
    print_wrapped(out, "", "", s);
    free(s);
    free(list);

    list = xstrdup("");
    for (size_t i = 0; cmds[i]; i++) {
        if (cmds[i]->flags & CLI_CMD_GENERIC) {
            s = xasprintf("%s CLASS-%s", list, cmds[i]->name);
            free(list);
            list = s;
        }
    }
    print_wrapped(out, "  ", "  ", list + 1);
    free(list);

    list = xstrdup("");
    for (size_t i = 0; cmds[i]; i++) {
        if (!(cmds[i]->flags & CLI_CMD_GENERIC)) {
            s = xasprintf("%s %s", list, cmds[i]->name);
            free(list);
            list = s;
        }
    }
    fputs("\nOther commands:\n", out);
    print_wrapped(out, "  ", "  ", list + 1);
    free(list);
    fputs("\n\"netpool help COMMAND\" describes one command.\n", out);
}

/* Writes the help of one command, laid out like xe's. */
static void
print_command(FILE *out, const struct cli_command *cmd,
              const struct cli_class *class)
{
    char *name = command_name(cmd, class);
    char *usage = synopsis(cmd, name);
    char *description = describe(cmd, class);

    fprintf(out, "command name            : %s\n", name);
    print_wrapped(out,
                  "        usage           : ", "                          ",
                  usage);
    if (cmd->flags & CLI_CMD_LOOKUP) {
        char *object = xstrdup(name);
        char *dash = strchr(object, '-');
        char *text;

        if (dash) {
            *dash = '\0';
        }
        text = xasprintf("uuid=UUID or %s=NAME-OR-UUID", object);
        print_wrapped(out, "        object          : ",
                      "                          ", text);
        free(text);
        free(object);
    }
    print_wrapped(out,
                  "        description     : ", "                          ",
                  description);
    free(name);
    free(usage);
    free(description);
}

/* Writes every command, expanded for each class: names only, or the help
 * of each. */
static void
print_all(FILE *out, bool names_only)
{
    const struct cli_command *const *cmds = cli_commands();
    const struct cli_class *const *classes = cli_classes();

    for (size_t c = 0; classes[c]; c++) {
        for (size_t i = 0; cmds[i]; i++) {
            if (!(cmds[i]->flags & CLI_CMD_GENERIC)) {
                continue;
            }
            if (names_only) {
                fprintf(out, "%s-%s\n", classes[c]->cli_name, cmds[i]->name);
            } else {
                print_command(out, cmds[i], classes[c]);
                fputc('\n', out);
            }
        }
    }
    for (size_t i = 0; cmds[i]; i++) {
        if (cmds[i]->flags & CLI_CMD_GENERIC) {
            continue;
        }
        if (names_only) {
            fprintf(out, "%s\n", cmds[i]->name);
        } else {
            print_command(out, cmds[i], NULL);
            fputc('\n', out);
        }
    }
}

/* Writes the parameter names 'cmd' takes, one per line, for completion:
 * "key=" or "map:". */
static void
print_params(FILE *out, const struct cli_command *cmd,
             const struct cli_class *class)
{
    const char *specs[] = {cmd->required, cmd->optional};

    for (size_t i = 0; i < 2; i++) {
        for (const char *s = specs[i]; *s;) {
            size_t length = strcspn(s, " ");
            if (length) {
                fprintf(out, "%.*s%s\n", (int) length, s,
                        s[length - 1] == ':' ? "" : "=");
            }
            s += length + (s[length] == ' ');
        }
    }
    if (cmd->flags & CLI_CMD_LOOKUP) {
        char *name = command_name(cmd, class);
        char *dash = strchr(name, '-');
        if (dash) {
            *dash = '\0';
            fprintf(out, "%s=\n", name);
        }
        free(name);
    }
}

/* Returns "name key=VALUE [key=VALUE] … rest" for 'cmd'. */
static char *
synopsis(const struct cli_command *cmd, const char *name)
{
    char *s = xstrdup(name);

    add_spec(&s, cmd->required, true);
    add_spec(&s, cmd->optional, false);
    if (cmd->rest) {
        char *t = xasprintf("%s %s", s, cmd->rest);
        free(s);
        s = t;
    }
    return s;
}

/* Appends to '*s' the parameters of the space-separated 'spec'. */
static void
add_spec(char **s, const char *spec, bool required)
{
    for (const char *p = spec; *p;) {
        size_t length = strcspn(p, " ");
        bool is_map = length && p[length - 1] == ':';
        char *key = xasprintf("%.*s", (int) (is_map ? length - 1 : length), p);
        char *t;

        p += length + (p[length] == ' ');
        if (!*key) {
            free(key);
            continue;
        }
        t = xasprintf("%s %s%s%s%s%s", *s, required ? "" : "[", key,
                      is_map ? ":KEY=" : "=",
                      is_map ? "VALUE ..." : placeholder(key),
                      required ? "" : "]");
        free(*s);
        *s = t;
        free(key);
    }
}

/* Returns what to write after "key=" in a synopsis. */
static const char *
placeholder(const char *key)
{
    static const char *const names[][2] = {
        {"uuid", "UUID"},
        {"params", "FIELD,...|all"},
        {"param-name", "FIELD"},
        {"param-key", "KEY"},
        {"timeout", "SECONDS"},
        {"class", "CLASS"},
        {"password", "PASSWORD"},
        {"old", "PASSWORD"},
        {"new", "PASSWORD"},
        {"role", "ROLE"},
        {"username", "NAME"},
        {"name-label", "NAME"},
        {"name-description", "TEXT"},
        {"MTU", "BYTES"},
    };

    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (!strcmp(key, names[i][0])) {
            return names[i][1];
        }
    }
    return "VALUE";
}

/* Writes 'text' wrapped at HELP_WIDTH columns, the first line after
 * 'first' and the others after 'indent'. */
static void
print_wrapped(FILE *out, const char *first, const char *indent,
              const char *text)
{
    size_t column = strlen(first);
    bool line_empty = true;

    fputs(first, out);
    while (*text) {
        size_t length = strcspn(text, " ");
        if (length) {
            if (!line_empty && column + 1 + length > HELP_WIDTH) {
                fprintf(out, "\n%s", indent);
                column = strlen(indent);
                line_empty = true;
            }
            if (!line_empty) {
                fputc(' ', out);
                column++;
            }
            fprintf(out, "%.*s", (int) length, text);
            column += length;
            line_empty = false;
        }
        text += length + (text[length] == ' ');
    }
    fputc('\n', out);
}

/* Writes 'text' escaped for roff, and a newline. */
static void
write_roff(FILE *out, const char *text)
{
    if (*text == '.' || *text == '\'') {
        fputs("\\&", out);
    }
    for (const char *p = text; *p; p++) {
        if (*p == '-') {
            fputs("\\-", out);
        } else if (*p == '\\') {
            fputs("\\e", out);
        } else {
            fputc(*p, out);
        }
    }
    fputc('\n', out);
}

/* Returns the full name of 'cmd' for 'class' ("pif-list"), with "CLASS"
 * for a generic command without a class. */
static char *
command_name(const struct cli_command *cmd, const struct cli_class *class)
{
    if (cmd->flags & CLI_CMD_GENERIC) {
        return xasprintf("%s-%s", class ? class->cli_name : "CLASS",
                         cmd->name);
    }
    return xstrdup(cmd->name);
}

/* Returns the description of 'cmd' with "<class>" replaced by the API name
 * of 'class' ("CLASS" without one). */
static char *
describe(const struct cli_command *cmd, const struct cli_class *class)
{
    const char *mark = strstr(cmd->description, "<class>");

    if (!mark) {
        return xstrdup(cmd->description);
    }
    return xasprintf("%.*s%s%s", (int) (mark - cmd->description),
                     cmd->description, class ? class->api_name : "CLASS",
                     mark + strlen("<class>"));
}
