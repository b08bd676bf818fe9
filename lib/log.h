/*
 * log: leveled logging to stderr, a file or syslog.
 *
 * Every netpool program logs through this module.  The sink and the level
 * are process-wide settings chosen by the program's main function (netpoold
 * reads them from its configuration and changes them on SIGHUP); library
 * code only calls the log_*() macros and never configures the sink.
 */
#ifndef NETPOOL_LIB_LOG_H
#define NETPOOL_LIB_LOG_H 1

#include <stdbool.h>

enum log_level {
    LOG_LEVEL_ERROR, /* Something failed; an operator must act. */
    LOG_LEVEL_WARN,  /* Unexpected but handled. */
    LOG_LEVEL_INFO,  /* Normal events worth a line. */
    LOG_LEVEL_DEBUG, /* Detail for developers. */
};

enum log_target {
    LOG_TARGET_STDERR, /* Standard error (the default). */
    LOG_TARGET_FILE,   /* Appended to a file. */
    LOG_TARGET_SYSLOG, /* syslog(3), facility daemon. */
};

/* Parses 'name' ("error", "warn", "info", "debug") into '*level'.  Returns
 * true on success, false if 'name' is not a level. */
bool log_level_from_string(const char *name, enum log_level *level);

/* Directs log output to 'target' with 'program' as the identity.  'path'
 * names the file for LOG_TARGET_FILE and is ignored otherwise.  Returns 0 or
 * a positive errno, in which case output stays on the previous sink.  Calling
 * it again reopens the sink, which is what log rotation needs. */
int log_open(enum log_target target, const char *program, const char *path);

/* Drops messages less severe than 'level'. */
void log_set_level(enum log_level level);

/* Closes the current sink and returns to stderr. */
void log_close(void);

/* Writes one message at 'level'.  Use the macros below instead. */
void log_message(enum log_level level, const char *module, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_message(LOG_LEVEL_ERROR, LOG_MODULE, __VA_ARGS__)
#define log_warn(...) log_message(LOG_LEVEL_WARN, LOG_MODULE, __VA_ARGS__)
#define log_info(...) log_message(LOG_LEVEL_INFO, LOG_MODULE, __VA_ARGS__)
#define log_debug(...) log_message(LOG_LEVEL_DEBUG, LOG_MODULE, __VA_ARGS__)

#endif
