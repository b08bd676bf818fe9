/*
 * A domain's disks from its VBD and VDI records.  Reads the file system
 * only to see that each image is there.
 */
#include "vm/vm.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/record.h"
#include "lib/xalloc.h"

static int compare_disks(const void *a, const void *b);

struct np_error *
vm_config_add_disks(struct vm_config *config, struct json_object *vbds,
                    struct json_object *vdis)
{
    size_t n = vbds ? (size_t) json_object_object_length(vbds) : 0;
    struct np_error *error = NULL;

    config->disks = xrealloc(config->disks, (config->n_disks + n + 1)
                                                * sizeof *config->disks);
    if (!vbds) {
        return NULL;
    }
    json_object_object_foreach (vbds, vbd_uuid, vbd) {
        (void) vbd_uuid;
        if (error || strcmp(record_string(vbd, "VM"), config->uuid)) {
            continue;
        }
        const char *vdi_uuid = record_string(vbd, "VDI");
        struct json_object *vdi =
            vdis ? json_object_object_get(vdis, vdi_uuid) : NULL;
        const char *path = record_string(vdi, "location");
        if (!vdi) {
            error = np_error_new(ERR_HANDLE_INVALID, "VDI", vdi_uuid, NULL);
        } else if (strncmp(path, "nfs://", 6) && strncmp(path, "iscsi://", 8)
                   && access(path, R_OK)) {
            /* (An image on an NFS SR or a LUN of an iSCSI SR is a URL that
             * QEMU opens itself.) */
            error = np_error_new(ERR_VDI_MISSING, vdi_uuid, path, NULL);
        } else {
            struct vm_disk *disk = &config->disks[config->n_disks++];
            disk->path = xstrdup(path);
            disk->format = xstrdup(record_string(vdi, "format"));
            disk->device = (int) json_object_get_int64(
                json_object_object_get(vbd, "userdevice"));
            disk->read_only = !strcmp(record_string(vbd, "mode"), "RO");
        }
    }
    if (config->n_disks > 1) {
        qsort(config->disks, config->n_disks, sizeof *config->disks,
              compare_disks);
    }
    return error;
}

static int
compare_disks(const void *a_, const void *b_)
{
    const struct vm_disk *a = a_, *b = b_;
    return a->device < b->device ? -1 : a->device > b->device;
}
