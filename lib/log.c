#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* The process-wide sink.  Only a program's main function changes it. */
static struct {
    enum log_target target; /* Where messages go. */
    enum log_level level;   /* Least severe level written. */
    FILE *file;             /* Open file for LOG_TARGET_FILE. */
    char program[32];       /* Identity for syslog and line prefix. */
} sink = {LOG_TARGET_STDERR, LOG_LEVEL_INFO, NULL, "netpool"};

static const char *const level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

bool
log_level_from_string(const char *name, enum log_level *level)
{
    for (size_t i = 0; i < sizeof level_names / sizeof *level_names; i++) {
        if (!strcmp(name, level_names[i])) {
            *level = (enum log_level) i;
            return true;
        }
    }
    return false;
}

int
log_open(enum log_target target, const char *program, const char *path)
{
    FILE *file = NULL;

    if (target == LOG_TARGET_FILE) {
        file = fopen(path, "a");
        if (!file) {
            return errno;
        }
        setvbuf(file, NULL, _IOLBF, 0);
    }
    log_close();
    snprintf(sink.program, sizeof sink.program, "%s", program);
    sink.target = target;
    sink.file = file;
    if (target == LOG_TARGET_SYSLOG) {
        openlog(sink.program, LOG_PID, LOG_DAEMON);
    }
    return 0;
}

void
log_set_level(enum log_level level)
{
    sink.level = level;
}

void
log_close(void)
{
    if (sink.file) {
        fclose(sink.file);
        sink.file = NULL;
    }
    if (sink.target == LOG_TARGET_SYSLOG) {
        closelog();
    }
    sink.target = LOG_TARGET_STDERR;
}

void
log_message(enum log_level level, const char *module, const char *fmt, ...)
{
    static const int syslog_priorities[] = {
        [LOG_LEVEL_ERROR] = LOG_ERR,
        [LOG_LEVEL_WARN] = LOG_WARNING,
        [LOG_LEVEL_INFO] = LOG_INFO,
        [LOG_LEVEL_DEBUG] = LOG_DEBUG,
    };
    char text[1024];
    va_list args;

    if (level > sink.level) {
        return;
    }
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);

    if (sink.target == LOG_TARGET_SYSLOG) {
        syslog(syslog_priorities[level], "%s|%s", module, text);
        return;
    }

    char stamp[40];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    FILE *out = sink.target == LOG_TARGET_FILE ? sink.file : stderr;
    fprintf(out, "%s.%03dZ|%s|%d|%s|%s|%s\n", stamp,
            (int) (now.tv_nsec / 1000000), sink.program, (int) getpid(),
            level_names[level], module, text);
}
