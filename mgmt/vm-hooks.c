/*
 * What the fabric decides about a host's domains, handed to vm/'s
 * controller: the index in a VM's port names, and on a host whose
 * datapath is dpdk each NIC's vhost-user socket (the one OVS's
 * dpdkvhostuserclient port of the VIF connects to) and guest memory in
 * shared hugepages, checked against what the host has free.
 */
#include "mgmt/mgmt.h"

#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "lib/error.h"
#include "lib/record.h"
#include "mgmt/store.h"
#include "vm/vm.h"

static int64_t
vif_index(void *store_, struct json_object *vm)
{
    const char *text = record_string(
        json_object_object_get(vm, "other_config"), DP_VIF_INDEX_KEY);
    return *text ? strtoll(text, NULL, 10) : 0;
}

/* Returns the shared hugepage memory a domain with vhost-user NICs gets
 * (vm_config's shared_memory), a new string: the hugetlbfs mount if there
 * is one, else "" for an anonymous hugepage memfd. */
static char *
shared_memory(void)
{
    char *dir = dp_hugepages_dir();
    struct statfs fs;

    if (statfs(dir, &fs) || fs.f_type != HUGETLBFS_MAGIC) {
        dir[0] = '\0';
    }
    return dir;
}

static struct np_error *
prepare(void *store_, const char *host, struct vm_config *config,
        bool starting)
{
    struct store *store = store_;
    struct json_object *record = store_get(store, "host", host);
    bool dpdk = !strcmp(record_string(record, "datapath"), "dpdk");

    json_object_put(record);
    if (!dpdk) {
        return NULL;
    }
    for (size_t i = 0; i < config->n_nics; i++) {
        struct vm_nic *nic = &config->nics[i];
        char *socket = dp_vif_vhost_socket(host, nic->tap);
        snprintf(nic->vhost, sizeof nic->vhost, "%s", socket);
        free(socket);
    }
    if (!starting) {
        return NULL;
    }
    config->shared_memory = shared_memory();
    /* Its memory comes from hugepages, in whole 2 MiB pages. */
    int64_t page = 2 * 1024 * 1024;
    return dp_hugepages_check((config->memory.dynamic_max + page - 1) / page
                                  * page,
                              dp_hugepages_free());
}

void
mgmt_vm_hooks(struct store *store, struct vm_host_hooks *hooks)
{
    hooks->vif_index = vif_index;
    hooks->prepare = prepare;
    hooks->aux = store;
}
