/*
 * Flow export in the desired fabric: sFlow, IPFIX and NetFlow.
 *
 * Settings live in other_config, on a network (for its bridge) or on the
 * host (for every bridge netpool owns there), as keys "flow-PROTOCOL-…":
 *
 *   flow-sflow-targets       IP:PORT[,IP:PORT…]   (sFlow.targets)
 *   flow-sflow-sampling      1 in N packets       (sFlow.sampling)
 *   flow-sflow-polling       seconds              (sFlow.polling)
 *   flow-sflow-header        bytes of each sample (sFlow.header)
 *   flow-sflow-agent         device or address    (sFlow.agent)
 *   flow-ipfix-targets       IP:PORT[,…]          (IPFIX.targets)
 *   flow-ipfix-sampling      1 in N packets       (IPFIX.sampling)
 *   flow-ipfix-obs-domain-id, flow-ipfix-obs-point-id
 *   flow-ipfix-active-timeout seconds             (cache_active_timeout)
 *   flow-ipfix-max-flows     flows cached         (cache_max_flows)
 *   flow-netflow-targets     IP:PORT[,…]          (NetFlow.targets, v5)
 *   flow-netflow-active-timeout seconds, -1 off   (NetFlow.active_timeout)
 *   flow-netflow-engine-type, flow-netflow-engine-id   0..255
 *
 * A protocol is on for a bridge when its targets are set: the network's
 * settings of that protocol win as a whole over the host's, and a network
 * whose targets are "" turns the host's off for its bridge.  Pure, like
 * fabric.c.
 */
#include "datapath/datapath.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

#define MAX_TARGETS 16 /* Collectors one protocol may name. */

/* One integer setting: its key suffix, range and OVS column. */
struct flow_int_key {
    const char *key;    /* E.g. "flow-sflow-sampling". */
    long long min, max; /* Inclusive range. */
    const char *column; /* Column of the protocol's OVS row. */
};

static const struct flow_int_key int_keys[] = {
    {"flow-sflow-sampling", 1, 1000000000, "sampling"},
    {"flow-sflow-polling", 1, 3600, "polling"},
    {"flow-sflow-header", 64, 1500, "header"},
    {"flow-ipfix-sampling", 1, 4294967295LL, "sampling"},
    {"flow-ipfix-obs-domain-id", 0, 4294967295LL, "obs_domain_id"},
    {"flow-ipfix-obs-point-id", 0, 4294967295LL, "obs_point_id"},
    {"flow-ipfix-active-timeout", 0, 4200, "cache_active_timeout"},
    {"flow-ipfix-max-flows", 0, 4294967295LL, "cache_max_flows"},
    {"flow-netflow-active-timeout", -1, 86400, "active_timeout"},
    {"flow-netflow-engine-type", 0, 255, "engine_type"},
    {"flow-netflow-engine-id", 0, 255, "engine_id"},
};

static const char *const protocols[] = {"sflow", "ipfix", "netflow"};

static struct np_error *bad_value(const char *key, const char *value);
static bool parse_target(const char *text, size_t length);
static const char *field(struct json_object *record, const char *name);
static struct json_object *protocol_row(const char *protocol,
                                        struct json_object *settings,
                                        const char *network);

struct np_error *
dp_flow_export_check(const char *key, const char *value)
{
    if (strncmp(key, DP_FLOW_KEY_PREFIX, strlen(DP_FLOW_KEY_PREFIX))) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof protocols / sizeof *protocols; i++) {
        char targets[32];
        snprintf(targets, sizeof targets, "flow-%s-targets", protocols[i]);
        if (strcmp(key, targets)) {
            continue;
        }
        /* "" turns a host's setting off for one network. */
        size_t n = 0;
        for (const char *p = value; *p; n++) {
            const char *comma = strchr(p, ',');
            size_t length = comma ? (size_t) (comma - p) : strlen(p);
            if (n >= MAX_TARGETS || !parse_target(p, length)) {
                return bad_value(key, value);
            }
            /* The same collector twice would get every record twice. */
            for (const char *q = value; q < p;) {
                const char *c = strchr(q, ',');
                if ((size_t) (c - q) == length && !strncmp(q, p, length)) {
                    return bad_value(key, value);
                }
                q = c + 1;
            }
            p += length + (comma ? 1 : 0);
            if (comma && !*p) {
                return bad_value(key, value);
            }
        }
        return NULL;
    }
    for (size_t i = 0; i < sizeof int_keys / sizeof *int_keys; i++) {
        if (strcmp(key, int_keys[i].key)) {
            continue;
        }
        char *end;
        errno = 0;
        long long n = strtoll(value, &end, 10);
        if (!*value || *end || errno || n < int_keys[i].min
            || n > int_keys[i].max) {
            return bad_value(key, value);
        }
        return NULL;
    }
    if (!strcmp(key, "flow-sflow-agent")) {
        /* A device name or an address. */
        unsigned char bytes[16];
        size_t length = strlen(value);
        bool device = length > 0 && length < IF_NAMESIZE
                      && strspn(value, "abcdefghijklmnopqrstuvwxyz"
                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789._-")
                             == length;
        if (!device && inet_pton(AF_INET, value, bytes) != 1
            && inet_pton(AF_INET6, value, bytes) != 1) {
            return bad_value(key, value);
        }
        return NULL;
    }
    return bad_value(key, value);
}

struct np_error *
dp_flow_export_check_map(struct json_object *other_config)
{
    if (!json_object_is_type(other_config, json_type_object)) {
        return NULL;
    }
    json_object_object_foreach (other_config, key, value) {
        struct np_error *error = dp_flow_export_check(
            key, json_object_is_type(value, json_type_string)
                     ? json_object_get_string(value)
                     : "");
        if (error) {
            return error;
        }
    }
    return NULL;
}

void
dp_fabric_add_flow_exports(struct json_object *bridges,
                           struct json_object *records, const char *host)
{
    struct json_object *networks = json_object_object_get(records, "network");
    struct json_object *hosts = json_object_object_get(records, "host");
    struct json_object *host_oc = json_object_object_get(
        json_object_object_get(hosts, host), "other_config");

    json_object_object_foreach (bridges, name, br) {
        (void) name;
        const char *network = field(json_object_object_get(br, "external_ids"),
                                    "netpool-network");
        struct json_object *net_oc = json_object_object_get(
            json_object_object_get(networks, network), "other_config");
        if (!*network) {
            continue;
        }
        for (size_t i = 0; i < sizeof protocols / sizeof *protocols; i++) {
            char targets[32];
            snprintf(targets, sizeof targets, "flow-%s-targets", protocols[i]);
            struct json_object *settings =
                json_object_object_get_ex(net_oc, targets, NULL) ? net_oc
                                                                 : host_oc;
            /* Settings that do not pass the check (written before it
             * existed, or around the API) export nothing. */
            if (!*field(settings, targets)
                || dp_flow_export_check_map_protocol(settings, protocols[i])) {
                continue;
            }
            json_object_object_add(
                br, protocols[i],
                protocol_row(protocols[i], settings, network));
        }
    }
}

bool
dp_flow_export_check_map_protocol(struct json_object *other_config,
                                  const char *protocol)
{
    char prefix[32];
    size_t length =
        (size_t) snprintf(prefix, sizeof prefix, "flow-%s-", protocol);

    if (!json_object_is_type(other_config, json_type_object)) {
        return false;
    }

    json_object_object_foreach (other_config, key, value) {
        if (!strncmp(key, prefix, length)) {
            struct np_error *error =
                dp_flow_export_check(key, json_object_get_string(value));
            if (error) {
                np_error_destroy(error);
                return true;
            }
        }
    }
    return false;
}

/* Helpers. */

static struct np_error *
bad_value(const char *key, const char *value)
{
    char *name = xasprintf("other_config:%s", key);
    struct np_error *error =
        np_error_new(ERR_INVALID_VALUE, name, value, NULL);
    free(name);
    return error;
}

/* Returns true if the 'length' bytes at 'text' are "IPv4:PORT" or
 * "[IPv6]:PORT" with a port from 1 to 65535. */
static bool
parse_target(const char *text, size_t length)
{
    char buf[64], addr[INET6_ADDRSTRLEN + 1];
    unsigned char bytes[16];

    if (!length || length >= sizeof buf) {
        return false;
    }
    memcpy(buf, text, length);
    buf[length] = '\0';

    char *colon = strrchr(buf, ':');
    if (!colon || colon == buf) {
        return false;
    }
    *colon = '\0';
    const char *port = colon + 1;
    char *end;
    errno = 0;
    long n = strtol(port, &end, 10);
    if (!*port || *end || errno || n < 1 || n > 65535 || *port == '+'
        || *port == '-') {
        return false;
    }
    if (buf[0] == '[') {
        size_t alen = strlen(buf);
        if (alen < 3 || buf[alen - 1] != ']' || alen - 2 > INET6_ADDRSTRLEN) {
            return false;
        }
        memcpy(addr, buf + 1, alen - 2);
        addr[alen - 2] = '\0';
        return inet_pton(AF_INET6, addr, bytes) == 1;
    }
    return inet_pton(AF_INET, buf, bytes) == 1;
}

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
}

/* Returns the OVS row a bridge of 'network' wants for 'protocol' from
 * 'settings' (an other_config map whose settings of 'protocol' passed the
 * check): {"targets": [IP:PORT…], column: int…, "agent"?,
 * "external_ids": {"netpool-network": network}}. */
static struct json_object *
protocol_row(const char *protocol, struct json_object *settings,
             const char *network)
{
    struct json_object *row = json_object_new_object();
    struct json_object *targets = json_object_new_array();
    char key[48];

    snprintf(key, sizeof key, "flow-%s-targets", protocol);
    char *list = xstrdup(field(settings, key));
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        json_object_array_add(targets, json_object_new_string(t));
    }
    free(list);
    json_object_object_add(row, "targets", targets);

    size_t length = strlen(protocol) + 6; /* "flow-" and "-". */
    for (size_t i = 0; i < sizeof int_keys / sizeof *int_keys; i++) {
        const char *k = int_keys[i].key;
        if (strncmp(k + 5, protocol, strlen(protocol))
            || k[length - 1] != '-') {
            continue;
        }
        const char *value = field(settings, k);
        if (*value) {
            json_object_object_add(
                row, int_keys[i].column,
                json_object_new_int64(strtoll(value, NULL, 10)));
        }
    }
    if (!strcmp(protocol, "sflow") && *field(settings, "flow-sflow-agent")) {
        json_object_object_add(
            row, "agent",
            json_object_new_string(field(settings, "flow-sflow-agent")));
    }
    struct json_object *ids = json_object_new_object();
    json_object_object_add(ids, "netpool-network",
                           json_object_new_string(network));
    json_object_object_add(row, "external_ids", ids);
    return row;
}
