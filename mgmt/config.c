/*
 * netpoold's configuration: defaults, then a file of "key = value" lines
 * (the long option names without dashes), then the command line.
 */
#include "mgmt/mgmt.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xalloc.h"

/* Where each option is set from (file or command line). */
enum option_id {
    OPT_CONFIG = 256,
    OPT_STATE_DIR,
    OPT_UNIX_SOCKET,
    OPT_HTTPS_ADDRESS,
    OPT_HTTPS_PORT,
    OPT_PIDFILE,
    OPT_LOG_FILE,
    OPT_SYSLOG,
    OPT_LOG_LEVEL,
    OPT_DETACH,
    OPT_MANAGEMENT_INTERFACE,
    OPT_PIF_MATCH,
    OPT_RESYNC_INTERVAL,
    OPT_OVS_DB,
    OPT_CHANGE_LOG_KEEP,
    OPT_DATAPATH_TYPE,
    OPT_METRICS_ADDRESS,
    OPT_METRICS_PORT,
    OPT_METRICS_TLS,
    OPT_SNMP_AGENTX_SOCKET,
    OPT_STORE_SYNC,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"unix-socket", required_argument, NULL, OPT_UNIX_SOCKET},
    {"https-address", required_argument, NULL, OPT_HTTPS_ADDRESS},
    {"https-port", required_argument, NULL, OPT_HTTPS_PORT},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"syslog", no_argument, NULL, OPT_SYSLOG},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"detach", no_argument, NULL, OPT_DETACH},
    {"management-interface", required_argument, NULL,
     OPT_MANAGEMENT_INTERFACE},
    {"pif-match", required_argument, NULL, OPT_PIF_MATCH},
    {"resync-interval", required_argument, NULL, OPT_RESYNC_INTERVAL},
    {"ovs-db", required_argument, NULL, OPT_OVS_DB},
    {"change-log-keep", required_argument, NULL, OPT_CHANGE_LOG_KEEP},
    {"datapath-type", required_argument, NULL, OPT_DATAPATH_TYPE},
    {"metrics-address", required_argument, NULL, OPT_METRICS_ADDRESS},
    {"metrics-port", required_argument, NULL, OPT_METRICS_PORT},
    {"metrics-tls", no_argument, NULL, OPT_METRICS_TLS},
    {"snmp-agentx-socket", required_argument, NULL, OPT_SNMP_AGENTX_SOCKET},
    {"store-sync", required_argument, NULL, OPT_STORE_SYNC},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static struct np_error *apply(struct config *, int id, const char *name,
                              const char *value);
static struct np_error *read_file(struct config *, const char *path,
                                  const unsigned char *skip);
static void set_string(char **field, const char *value);
static struct np_error *parse_int(const char *name, const char *value,
                                  long min, long max, long *out);

struct np_error *
config_load(struct config *config, int argc, char *argv[])
{
    /* Options seen on the command line; the file must not override
     * them on reload. */
    static unsigned char on_command_line[OPT_HELP + 1];
    struct np_error *error;

    memset(config, 0, sizeof *config);
    set_string(&config->state_dir, "/var/lib/netpool");
    set_string(&config->unix_socket, "/run/netpool/netpoold.sock");
    set_string(&config->https_address, "");
    config->https_port = 443;
    set_string(&config->pidfile, "/run/netpool/netpoold.pid");
    config->log_level = LOG_LEVEL_INFO;
    set_string(&config->pif_match, "eth* en*");
    config->resync_interval = 30;
    set_string(&config->ovs_db, "unix:/var/run/openvswitch/db.sock");
    set_string(&config->datapath_type, "netdev");
    set_string(&config->metrics_address, "");
    config->metrics_port = 9440;
    set_string(&config->snmp_agentx_socket, "");
    config->change_log_keep = 100000;

    memset(on_command_line, 0, sizeof on_command_line);
    optind = 1;
    opterr = 0;
    for (;;) {
        int id = getopt_long(argc, argv, "", long_options, NULL);
        if (id == -1) {
            break;
        }
        if (id == '?' || id == ':') {
            return np_error_new(ERR_INVALID_VALUE, "option", argv[optind - 1],
                                NULL);
        }
        if (id == OPT_HELP) {
            return np_error_new("HELP", NULL);
        }
        const char *name = NULL;
        for (const struct option *o = long_options; o->name; o++) {
            if (o->val == id) {
                name = o->name;
            }
        }
        error = apply(config, id, name, optarg);
        if (error) {
            return error;
        }
        on_command_line[id] = 1;
    }
    if (optind < argc) {
        return np_error_new(ERR_INVALID_VALUE, "argument", argv[optind], NULL);
    }
    if (config->config_file) {
        error = read_file(config, config->config_file, on_command_line);
        if (error) {
            return error;
        }
    }
    /* Remember what the command line set for config_reload(). */
    config->cmdline_mask = on_command_line;
    return NULL;
}

struct np_error *
config_reload(struct config *config)
{
    if (!config->config_file) {
        return NULL;
    }

    struct config copy = *config;
    copy.config_file = xstrdup(config->config_file);
    copy.state_dir = xstrdup(config->state_dir);
    copy.unix_socket = xstrdup(config->unix_socket);
    copy.https_address = xstrdup(config->https_address);
    copy.pidfile = xstrdup(config->pidfile);
    copy.log_file = config->log_file ? xstrdup(config->log_file) : NULL;
    copy.management_interface = config->management_interface
                                    ? xstrdup(config->management_interface)
                                    : NULL;
    copy.pif_match = xstrdup(config->pif_match);
    copy.ovs_db = xstrdup(config->ovs_db);
    copy.datapath_type = xstrdup(config->datapath_type);
    copy.metrics_address = xstrdup(config->metrics_address);
    copy.snmp_agentx_socket = xstrdup(config->snmp_agentx_socket);

    struct np_error *error =
        read_file(&copy, config->config_file, config->cmdline_mask);
    if (error) {
        config_clear(&copy);
        return error;
    }
    config_clear(config);
    *config = copy;
    return NULL;
}

void
config_clear(struct config *config)
{
    free(config->config_file);
    free(config->state_dir);
    free(config->unix_socket);
    free(config->https_address);
    free(config->pidfile);
    free(config->log_file);
    free(config->management_interface);
    free(config->pif_match);
    free(config->ovs_db);
    free(config->datapath_type);
    free(config->metrics_address);
    free(config->snmp_agentx_socket);
    const unsigned char *mask = config->cmdline_mask;
    memset(config, 0, sizeof *config);
    config->cmdline_mask = mask;
}

void
config_usage(void)
{
    printf("usage: netpoold [OPTION]...\n"
           "  --config FILE              configuration file (key = value)\n"
           "  --state-dir DIR            database, certificate, root "
           "password\n"
           "                             (default /var/lib/netpool)\n"
           "  --unix-socket PATH         local API socket\n"
           "                             (default "
           "/run/netpool/netpoold.sock)\n"
           "  --https-address ADDR       HTTPS bind address (default any)\n"
           "  --https-port N             HTTPS port, 0 to disable "
           "(default 443)\n"
           "  --pidfile PATH             pidfile "
           "(default /run/netpool/netpoold.pid)\n"
           "  --log-file PATH            log to PATH instead of stderr\n"
           "  --syslog                   log to syslog\n"
           "  --log-level LEVEL          error, warn, info (default), "
           "debug\n"
           "  --detach                   run in the background once "
           "ready\n"
           "  --management-interface DEV device of the management PIF\n"
           "  --pif-match GLOBS          NIC names that become PIFs "
           "(default \"eth* en*\")\n"
           "  --resync-interval SECONDS  full resync period (default 30)\n"
           "  --ovs-db REMOTE            OVSDB of this host's Open "
           "vSwitch\n"
           "  --change-log-keep N        changes kept for event.from "
           "(default 100000)\n"
           "  --datapath-type TYPE       netdev (userspace, default) or "
           "system\n"
           "  --metrics-address ADDR     Prometheus /metrics bind address "
           "(default any)\n"
           "  --metrics-port N           Prometheus /metrics port, 0 to "
           "disable (default 9440)\n"
           "  --metrics-tls              serve /metrics over TLS with the "
           "host certificate\n"
           "  --snmp-agentx-socket PATH  be an SNMP AgentX subagent of the "
           "snmpd\n"
           "                             listening there (default \"\": "
           "off)\n"
           "  --store-sync MODE          when a change reaches the disk: "
           "interval\n"
           "                             (at most 100 ms after the answer, "
           "default) or\n"
           "                             full (before the answer)\n");
}

/* Helpers. */

static struct np_error *
apply(struct config *config, int id, const char *name, const char *value)
{
    struct np_error *error = NULL;
    long n;

    switch (id) {
    case OPT_CONFIG:
        set_string(&config->config_file, value);
        break;
    case OPT_STATE_DIR:
        set_string(&config->state_dir, value);
        break;
    case OPT_UNIX_SOCKET:
        set_string(&config->unix_socket, value);
        break;
    case OPT_HTTPS_ADDRESS:
        set_string(&config->https_address, value);
        break;
    case OPT_HTTPS_PORT:
        error = parse_int(name, value, 0, 65535, &n);
        config->https_port = (int) n;
        break;
    case OPT_PIDFILE:
        set_string(&config->pidfile, value);
        break;
    case OPT_LOG_FILE:
        set_string(&config->log_file, value);
        break;
    case OPT_SYSLOG:
        config->syslog =
            !value || !strcmp(value, "true") || !strcmp(value, "yes");
        break;
    case OPT_LOG_LEVEL:
        if (!log_level_from_string(value, &config->log_level)) {
            error = np_error_new(ERR_INVALID_VALUE, name, value, NULL);
        }
        break;
    case OPT_DETACH:
        config->detach =
            !value || !strcmp(value, "true") || !strcmp(value, "yes");
        break;
    case OPT_MANAGEMENT_INTERFACE:
        set_string(&config->management_interface, value);
        break;
    case OPT_PIF_MATCH:
        set_string(&config->pif_match, value);
        break;
    case OPT_RESYNC_INTERVAL:
        error = parse_int(name, value, 1, 86400, &n);
        config->resync_interval = (int) n;
        break;
    case OPT_OVS_DB:
        set_string(&config->ovs_db, value);
        break;
    case OPT_METRICS_ADDRESS:
        set_string(&config->metrics_address, value);
        break;
    case OPT_METRICS_PORT:
        error = parse_int(name, value, 0, 65535, &n);
        config->metrics_port = (int) n;
        break;
    case OPT_METRICS_TLS:
        config->metrics_tls =
            !value || !strcmp(value, "true") || !strcmp(value, "yes");
        break;
    case OPT_SNMP_AGENTX_SOCKET:
        set_string(&config->snmp_agentx_socket, value);
        break;
    case OPT_DATAPATH_TYPE:
        if (strcmp(value, "netdev") && strcmp(value, "system")) {
            error = np_error_new(ERR_INVALID_VALUE, name, value, NULL);
        } else {
            set_string(&config->datapath_type, value);
        }
        break;
    case OPT_STORE_SYNC:
        if (!strcmp(value, "full") || !strcmp(value, "interval")) {
            config->store_sync_full = !strcmp(value, "full");
        } else {
            error = np_error_new(ERR_INVALID_VALUE, name, value, NULL);
        }
        break;
    case OPT_CHANGE_LOG_KEEP:
        error = parse_int(name, value, 100, 100000000, &n);
        config->change_log_keep = (size_t) n;
        break;
    }
    return error;
}

static struct np_error *
read_file(struct config *config, const char *path, const unsigned char *skip)
{
    FILE *file = fopen(path, "r");
    struct np_error *error = NULL;
    char line[1024];
    int number = 0;

    if (!file) {
        return np_error_new(ERR_INVALID_VALUE, "config", path, strerror(errno),
                            NULL);
    }
    while (!error && fgets(line, sizeof line, file)) {
        char key[64], value[900] = "";
        number++;
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || !*p) {
            continue;
        }
        int fields = sscanf(p, "%63[^= \t] = %899[^\n]", key, value);
        if (fields < 1 || (fields == 1 && !strchr(p, '='))) {
            char where[32];
            snprintf(where, sizeof where, "line %d", number);
            error = np_error_new(ERR_INVALID_VALUE, path, where, NULL);
            break;
        }
        for (char *e = value + strlen(value);
             e > value && (e[-1] == ' ' || e[-1] == '\t'); e--) {
            e[-1] = '\0';
        }

        const struct option *o;
        for (o = long_options; o->name; o++) {
            if (!strcmp(o->name, key)) {
                break;
            }
        }
        if (!o->name || o->val == OPT_CONFIG || o->val == OPT_HELP) {
            error = np_error_new(ERR_INVALID_VALUE, "config key", key, NULL);
        } else if (!skip || !skip[o->val]) {
            error = apply(config, o->val, o->name, value);
        }
    }
    fclose(file);
    return error;
}

static void
set_string(char **field, const char *value)
{
    free(*field);
    *field = value ? xstrdup(value) : NULL;
}

static struct np_error *
parse_int(const char *name, const char *value, long min, long max, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(value, &end, 10);
    if (errno || *end || end == value || *out < min || *out > max) {
        *out = min;
        return np_error_new(ERR_INVALID_VALUE, name, value, NULL);
    }
    return NULL;
}
