/*
 * The pure part of iSCSI SRs: checking a device_config, naming a LUN as an
 * iscsi:// URL, and the SCSI id of a LUN from its device identification
 * designators.
 */
#include "storage/storage.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/record.h"
#include "lib/xalloc.h"

static bool iqn_is_valid(const char *iqn);
static bool scsi_id_is_valid(const char *id);

struct np_error *
storage_iscsi_check_config(struct json_object *device_config,
                           struct storage_iscsi_config *config)
{
    const char *target = record_string(device_config, "target");
    const char *iqn = record_string(device_config, "targetIQN");
    const char *scsi_id = record_string(device_config, "SCSIid");
    struct json_object *port_value =
        json_object_object_get(device_config, "port");
    struct in_addr addr;
    long port = STORAGE_ISCSI_PORT;

    if (!*target || inet_pton(AF_INET, target, &addr) != 1) {
        return np_error_new(ERR_INVALID_VALUE, "device_config:target", target,
                            NULL);
    }
    if (port_value) {
        const char *text = json_object_get_string(port_value);
        char *end;
        port = strtol(text, &end, 10);
        if (!*text || *end || port < 1 || port > 65535) {
            return np_error_new(ERR_INVALID_VALUE, "device_config:port", text,
                                NULL);
        }
    }
    if (!iqn_is_valid(iqn)) {
        return np_error_new(ERR_INVALID_VALUE, "device_config:targetIQN", iqn,
                            NULL);
    }
    if (*scsi_id && !scsi_id_is_valid(scsi_id)) {
        return np_error_new(ERR_INVALID_VALUE, "device_config:SCSIid", scsi_id,
                            NULL);
    }
    memset(config, 0, sizeof *config);
    inet_ntop(AF_INET, &addr, config->target, sizeof config->target);
    config->port = port;
    snprintf(config->iqn, sizeof config->iqn, "%s", iqn);
    snprintf(config->scsi_id, sizeof config->scsi_id, "%s", scsi_id);
    return NULL;
}

struct json_object *
storage_iscsi_device_config(const struct storage_iscsi_config *config)
{
    struct json_object *json = json_object_new_object();

    json_object_object_add(json, "target",
                           json_object_new_string(config->target));
    json_object_object_add(json, "targetIQN",
                           json_object_new_string(config->iqn));
    if (*config->scsi_id) {
        json_object_object_add(json, "SCSIid",
                               json_object_new_string(config->scsi_id));
    }
    char port[8];
    snprintf(port, sizeof port, "%d", config->port);
    json_object_object_add(json, "port", json_object_new_string(port));
    return json;
}

char *
storage_iscsi_url(const struct storage_iscsi_config *config, int lun)
{
    return xasprintf("iscsi://%s:%d/%s/%d", config->target, config->port,
                     config->iqn, lun);
}

bool
storage_location_is_iscsi(const char *location)
{
    return !strncmp(location, "iscsi://", 8);
}

char *
storage_iscsi_scsi_id(const struct storage_scsi_designator *designators,
                      size_t n)
{
    /* As udev's scsi_id names a disk: the designator type as a digit, then
     * the identifier, NAA first, then EUI-64, then the T10 vendor id. */
    static const int preferred[] = {3, 2, 1};

    for (size_t p = 0; p < sizeof preferred / sizeof *preferred; p++) {
        for (size_t i = 0; i < n; i++) {
            const struct storage_scsi_designator *d = &designators[i];
            if (d->type != preferred[p] || d->length < 1) {
                continue;
            }
            size_t size = 2 + 2 * d->length + 1;
            char *id = xzalloc(size);
            char *out = id;
            out += sprintf(out, "%d", d->type);
            for (int j = 0; j < d->length; j++) {
                unsigned char c = d->data[j];
                if (d->binary) {
                    out += sprintf(out, "%02x", c);
                } else if (isgraph(c)) {
                    *out++ = c;
                } else if (out[-1] != '_') {
                    /* Runs of blanks, as scsi_id --replace-whitespace. */
                    *out++ = '_';
                }
            }
            while (out > id + 1 && out[-1] == '_') {
                *--out = '\0';
            }
            return id;
        }
    }
    return xstrdup("");
}

/* True if 'iqn' is an iSCSI name: "iqn.YYYY-MM.NAME[:...]", "eui." and 16
 * hex digits, or "naa." and 16 or 32 hex digits (RFC 3720), at most 223
 * bytes of lower-case letters, digits, '.', '-' and ':'. */
static bool
iqn_is_valid(const char *iqn)
{
    size_t length = strlen(iqn);

    if (length > 223
        || length
               != strspn(iqn, "abcdefghijklmnopqrstuvwxyz"
                              "0123456789.-:")) {
        return false;
    }
    if (!strncmp(iqn, "iqn.", 4)) {
        return length > 12 && isdigit((unsigned char) iqn[4])
               && isdigit((unsigned char) iqn[5])
               && isdigit((unsigned char) iqn[6])
               && isdigit((unsigned char) iqn[7]) && iqn[8] == '-'
               && isdigit((unsigned char) iqn[9])
               && isdigit((unsigned char) iqn[10]) && iqn[11] == '.';
    }
    if (!strncmp(iqn, "eui.", 4) || !strncmp(iqn, "naa.", 4)) {
        size_t digits = strspn(iqn + 4, "0123456789abcdef");
        return digits == length - 4
               && (digits == 16 || (iqn[0] == 'n' && digits == 32));
    }
    return false;
}

/* True if 'id' looks like a SCSI id: at most 127 printable bytes without
 * blanks, commas or slashes. */
static bool
scsi_id_is_valid(const char *id)
{
    size_t length = strlen(id);

    if (length >= STORAGE_SCSI_ID_SIZE) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        unsigned char c = id[i];
        if (!isgraph(c) || c == ',' || c == '/') {
            return false;
        }
    }
    return true;
}
