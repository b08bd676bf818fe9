/*
 * The pure part of NFS SRs: checking a device_config, naming files as
 * nfs:// URLs, and choosing the PIF a host reaches the server from.
 */
#include "storage/storage.h"

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/record.h"
#include "lib/xalloc.h"

static bool path_is_clean(const char *path);
static bool on_subnet(const char *ip, const char *netmask, const char *peer);

struct np_error *
storage_nfs_check_config(struct json_object *device_config,
                         struct storage_nfs_config *config)
{
    const char *server = record_string(device_config, "server");
    const char *path = record_string(device_config, "serverpath");
    struct in_addr addr;

    if (!*server || inet_pton(AF_INET, server, &addr) != 1) {
        return np_error_new(ERR_INVALID_VALUE, "device_config:server", server,
                            NULL);
    }
    if (*path != '/' || strlen(path) >= sizeof config->path
        || !path_is_clean(path)) {
        return np_error_new(ERR_INVALID_VALUE, "device_config:serverpath",
                            path, NULL);
    }
    struct json_object *version =
        json_object_object_get(device_config, "nfsversion");
    if (version && strcmp(json_object_get_string(version), "3")) {
        return np_error_new(ERR_INVALID_VALUE, "device_config:nfsversion",
                            json_object_get_string(version), NULL);
    }
    inet_ntop(AF_INET, &addr, config->server, sizeof config->server);
    snprintf(config->path, sizeof config->path, "%s", path);
    /* "/a/b/" and "/a/b" are the same folder. */
    size_t length = strlen(config->path);
    while (length > 1 && config->path[length - 1] == '/') {
        config->path[--length] = '\0';
    }
    return NULL;
}

char *
storage_nfs_url(const struct storage_nfs_config *config, const char *name)
{
    bool root = !strcmp(config->path, "/");
    return xasprintf("nfs://%s%s%s%s", config->server,
                     root ? "" : config->path, *name ? "/" : "", name);
}

bool
storage_pick_path(struct json_object *records, const char *host,
                  const char *server, struct storage_path *path)
{
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *networks = json_object_object_get(records, "network");
    bool found = false, management = false;

    if (!pifs) {
        return false;
    }
    json_object_object_foreach (pifs, uuid, pif) {
        bool is_management = record_bool(pif, "management");
        const char *mode = record_string(pif, "ip_configuration_mode");
        if (strcmp(record_string(pif, "host"), host)
            || !record_bool(pif, "currently_attached")
            || *record_string(pif, "bond_slave_of")
            || (!is_management && strcmp(mode, "Static"))
            || !on_subnet(record_string(pif, "IP"),
                          record_string(pif, "netmask"), server)
            || (found && (is_management || !management))) {
            continue;
        }
        struct json_object *network =
            json_object_object_get(networks, record_string(pif, "network"));
        memset(path, 0, sizeof *path);
        snprintf(path->pif, sizeof path->pif, "%s", uuid);
        snprintf(path->network, sizeof path->network, "%s",
                 record_string(pif, "network"));
        snprintf(path->network_name, sizeof path->network_name, "%s",
                 record_string(network, "name_label"));
        if (!is_management) {
            snprintf(path->interface, sizeof path->interface, "%s",
                     record_string(network, "bridge"));
        }
        snprintf(path->source, sizeof path->source, "%s",
                 record_string(pif, "IP"));
        path->mtu = record_int(network, "MTU", 1500);
        found = true;
        management = is_management;
    }
    return found;
}

/* True unless 'path' has an empty, "." or ".." part inside it. */
static bool
path_is_clean(const char *path)
{
    for (const char *p = path; *p;) {
        p += strspn(p, "/");
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2))) {
            return false;
        }
        p += n;
    }
    return !strstr(path, "//");
}

/* True if 'peer' is on the subnet 'ip'/'netmask' (IPv4 texts). */
static bool
on_subnet(const char *ip, const char *netmask, const char *peer)
{
    struct in_addr a, m, p;

    if (inet_pton(AF_INET, ip, &a) != 1 || inet_pton(AF_INET, netmask, &m) != 1
        || inet_pton(AF_INET, peer, &p) != 1 || !m.s_addr) {
        return false;
    }
    return (a.s_addr & m.s_addr) == (p.s_addr & m.s_addr);
}
