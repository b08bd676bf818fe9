/*
 * The "xen" backend: domains through libxl, built whenever libxl is
 * present (HAVE_LIBXL).  vm_xen_domain_config() is the pure translation of
 * a domain configuration into libxl's (a PVH guest booting PV-kernel, one
 * vif per NIC on its network's Open vSwitch bridge through Xen's
 * vif-openvswitch hotplug script, named as the VIF's port, qdisk disks);
 * the backend creates, pauses, unpauses, shuts down, destroys, suspends and
 * lists domains with it.  It needs the Xen hypervisor: without one
 * vm_xen_backend_create() returns NULL (libxl_ctx_alloc cannot open the
 * libxc handle), and a host cannot choose it (vm_backend_check()).
 *
 * libxl runs each operation synchronously here and the outcome is told
 * from the loop's next turn, as the backend interface wants; libxl's
 * asynchronous mode (ao_how with its event hooks on the loop) is the way
 * to take create, save and restore off the loop when Xen hosts run
 * (nested Xen, FACTS.md).  Live migration and the memory and device
 * queries answer ENOTSUP until then.
 */
#include "vm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

#ifdef HAVE_LIBXL
#include <fcntl.h>
#include <unistd.h>
#include <libxl.h>
#include <libxl_utils.h>
#include <xentoollog.h>

/* The Xen backend: the generic part first. */
struct xen_backend {
    struct vm_backend up;               /* Generic part. */
    libxl_ctx *ctx;                     /* libxl context. */
    xentoollog_logger_stdiostream *log; /* libxl's logger. */
};

static const struct vm_backend_ops xen_ops;

static struct xen_backend *xen_cast(struct vm_backend *);
static int find_domid(struct xen_backend *, const char *uuid, uint32_t *domid);
static int parse_mac(const char *text, libxl_mac *mac);

int
vm_xen_domain_config(const struct vm_config *config,
                     struct libxl_domain_config *d, char *why)
{
    libxl_domain_create_info *c = &d->c_info;
    libxl_domain_build_info *b = &d->b_info;

    libxl_domain_config_init(d);
    c->type = LIBXL_DOMAIN_TYPE_PVH;
    c->name = xasprintf("netpool-%.8s", config->uuid);
    if (libxl_uuid_from_string(&c->uuid, config->uuid)) {
        snprintf(why, VM_WHY_SIZE, "bad VM UUID %s", config->uuid);
        return EINVAL;
    }
    libxl_domain_build_info_init_type(b, LIBXL_DOMAIN_TYPE_PVH);
    b->max_vcpus = config->vcpus;
    b->max_memkb = config->memory.static_max / 1024;
    b->target_memkb = config->memory.dynamic_max / 1024;
    if (*config->kernel) {
        b->kernel = xstrdup(config->kernel);
        b->cmdline = xasprintf("console=hvc0%s%s", *config->args ? " " : "",
                               config->args);
    }
    if (*config->ramdisk) {
        b->ramdisk = xstrdup(config->ramdisk);
    }
    d->on_poweroff = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
    d->on_reboot = LIBXL_ACTION_ON_SHUTDOWN_RESTART;
    d->on_crash = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;

    if (config->n_nics) {
        d->nics = xzalloc(config->n_nics * sizeof *d->nics);
    }
    for (size_t i = 0; i < config->n_nics; i++) {
        const struct vm_nic *nic = &config->nics[i];
        libxl_device_nic *x = &d->nics[d->num_nics++];

        libxl_device_nic_init(x);
        x->devid = nic->device;
        x->nictype = LIBXL_NIC_TYPE_VIF;
        x->bridge = xstrdup(nic->bridge);
        x->ifname = xstrdup(nic->tap);
        x->script = xstrdup("vif-openvswitch");
        if (nic->mtu > 0) {
            x->mtu = nic->mtu;
        }
        if (parse_mac(nic->mac, &x->mac)) {
            snprintf(why, VM_WHY_SIZE, "bad MAC %s", nic->mac);
            return EINVAL;
        }
    }

    if (config->n_disks) {
        d->disks = xzalloc(config->n_disks * sizeof *d->disks);
    }
    for (size_t i = 0; i < config->n_disks; i++) {
        const struct vm_disk *disk = &config->disks[i];
        libxl_device_disk *x = &d->disks[d->num_disks++];

        libxl_device_disk_init(x);
        x->pdev_path = xstrdup(disk->path);
        x->vdev = xasprintf("xvd%c", 'a' + (disk->device % 26));
        x->backend = LIBXL_DISK_BACKEND_QDISK;
        x->format = !strcmp(disk->format, "qcow2") ? LIBXL_DISK_FORMAT_QCOW2
                                                   : LIBXL_DISK_FORMAT_RAW;
        x->readwrite = !disk->read_only;
    }
    return 0;
}

struct vm_backend *
vm_xen_backend_create(struct event_base *base, const char *state_dir,
                      char *why)
{
    struct xen_backend *backend = xzalloc(sizeof *backend);

    backend->log = xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    if (libxl_ctx_alloc(&backend->ctx, LIBXL_VERSION, 0,
                        (xentoollog_logger *) backend->log)) {
        if (backend->log) {
            xtl_logger_destroy((xentoollog_logger *) backend->log);
        }
        free(backend);
        snprintf(why, VM_WHY_SIZE,
                 "no Xen hypervisor (libxl cannot open "
                 "its libxc handle)");
        return NULL;
    }
    backend->up.ops = &xen_ops;
    backend->up.state_dir = xstrdup(state_dir);
    backend->up.base = base;
    return &backend->up;
}

/* Operations. */

static enum vm_accel
xen_accel(struct vm_backend *backend)
{
    return VM_ACCEL_KVM; /* Hardware-assisted, as KVM is. */
}

static int
xen_start_sync(struct vm_backend *backend_, const struct vm_config *config,
               bool paused, const char *resume_file, int64_t *domid, char *why)
{
    struct xen_backend *backend = xen_cast(backend_);
    libxl_domain_config d;
    uint32_t id = (uint32_t) INVALID_DOMID;
    int error = vm_xen_domain_config(config, &d, why);
    int fd = -1;

    if (!error && resume_file) {
        libxl_domain_restore_params params;

        fd = open(resume_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            error = errno;
            snprintf(why, VM_WHY_SIZE, "open %s: %s", resume_file,
                     strerror(error));
        } else {
            libxl_domain_restore_params_init(&params);
            /* Version 1 looks for the legacy converter and fails. */
            params.stream_version = 2;
            if (libxl_domain_create_restore(backend->ctx, &d, &id, fd, -1,
                                            &params, NULL, NULL)) {
                snprintf(why, VM_WHY_SIZE, "libxl: restore failed");
                error = EIO;
            }
            libxl_domain_restore_params_dispose(&params);
            close(fd);
        }
    } else if (!error) {
        if (libxl_domain_create_new(backend->ctx, &d, &id, NULL, NULL)) {
            snprintf(why, VM_WHY_SIZE, "libxl: create failed");
            error = EIO;
        }
    }
    /* libxl creates domains paused. */
    if (!error && !paused && libxl_domain_unpause(backend->ctx, id, NULL)) {
        snprintf(why, VM_WHY_SIZE, "libxl: unpause failed");
        error = EIO;
    }
    if (error && id != (uint32_t) INVALID_DOMID) {
        libxl_domain_destroy(backend->ctx, id, NULL);
    }
    libxl_domain_config_dispose(&d);
    if (!error) {
        *domid = id;
    }
    return error;
}

static int
xen_shutdown_sync(struct vm_backend *backend_, const char *uuid, char *why)
{
    struct xen_backend *backend = xen_cast(backend_);
    uint32_t domid;
    int error = find_domid(backend, uuid, &domid);

    if (!error && libxl_domain_shutdown(backend->ctx, domid, NULL)) {
        snprintf(why, VM_WHY_SIZE, "libxl: shutdown failed");
        error = EIO;
    }
    return error;
}

static int
xen_query_sync(struct vm_backend *backend_, const char *uuid,
               enum vm_domain_state *state, char *why)
{
    struct xen_backend *backend = xen_cast(backend_);
    libxl_dominfo info;
    uint32_t domid;

    *state = VM_DOMAIN_GONE;
    if (find_domid(backend, uuid, &domid)) {
        return 0;
    }
    libxl_dominfo_init(&info);
    if (!libxl_domain_info(backend->ctx, &info, domid)) {
        *state = info.shutdown || info.dying ? VM_DOMAIN_SHUTDOWN
                 : info.paused               ? VM_DOMAIN_PAUSED
                                             : VM_DOMAIN_RUNNING;
    }
    libxl_dominfo_dispose(&info);
    return 0;
}

static int
xen_destroy_sync(struct vm_backend *backend_, const char *uuid, char *why)
{
    struct xen_backend *backend = xen_cast(backend_);
    uint32_t domid;

    if (find_domid(backend, uuid, &domid)) {
        return 0;
    }
    if (libxl_domain_destroy(backend->ctx, domid, NULL)) {
        snprintf(why, VM_WHY_SIZE, "libxl: destroy failed");
        return EIO;
    }
    return 0;
}

static int
xen_pause_sync(struct vm_backend *backend_, const char *uuid, char *why)
{
    struct xen_backend *backend = xen_cast(backend_);
    uint32_t domid;
    int error = find_domid(backend, uuid, &domid);

    if (!error && libxl_domain_pause(backend->ctx, domid, NULL)) {
        snprintf(why, VM_WHY_SIZE, "libxl: pause failed");
        error = EIO;
    }
    return error;
}

static int
xen_unpause_sync(struct vm_backend *backend_, const char *uuid, char *why)
{
    struct xen_backend *backend = xen_cast(backend_);
    uint32_t domid;
    int error = find_domid(backend, uuid, &domid);

    if (!error && libxl_domain_unpause(backend->ctx, domid, NULL)) {
        snprintf(why, VM_WHY_SIZE, "libxl: unpause failed");
        error = EIO;
    }
    return error;
}

static int
xen_reset_sync(struct vm_backend *backend_, const char *uuid, char *why)
{
    struct xen_backend *backend = xen_cast(backend_);
    uint32_t domid;
    int error = find_domid(backend, uuid, &domid);

    if (!error && libxl_domain_reboot(backend->ctx, domid, NULL)) {
        snprintf(why, VM_WHY_SIZE, "libxl: reboot failed");
        error = EIO;
    }
    return error;
}

static int
xen_suspend_sync(struct vm_backend *backend_, const char *uuid,
                 const char *file, char *why)
{
    struct xen_backend *backend = xen_cast(backend_);
    uint32_t domid;
    int error = find_domid(backend, uuid, &domid);
    int fd;

    if (error) {
        snprintf(why, VM_WHY_SIZE, "no domain");
        return error;
    }
    fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = errno;
        snprintf(why, VM_WHY_SIZE, "open %s: %s", file, strerror(error));
        return error;
    }
    if (libxl_domain_suspend(backend->ctx, domid, fd, 0, NULL)) {
        snprintf(why, VM_WHY_SIZE, "libxl: suspend failed");
        error = EIO;
    }
    close(fd);
    if (error) {
        unlink(file);
    } else {
        libxl_domain_destroy(backend->ctx, domid, NULL);
    }
    return error;
}

static int
xen_nic(struct vm_backend *backend_, const char *uuid,
        const struct vm_nic *nic, bool plug, char *why)
{
    struct xen_backend *backend = xen_cast(backend_);
    libxl_device_nic x;
    uint32_t domid;
    int error = find_domid(backend, uuid, &domid);

    if (error) {
        snprintf(why, VM_WHY_SIZE, "no domain");
        return error;
    }
    libxl_device_nic_init(&x);
    x.devid = nic->device;
    x.nictype = LIBXL_NIC_TYPE_VIF;
    x.bridge = xstrdup(nic->bridge);
    x.ifname = xstrdup(nic->tap);
    x.script = xstrdup("vif-openvswitch");
    parse_mac(nic->mac, &x.mac);
    if (plug ? libxl_device_nic_add(backend->ctx, domid, &x, NULL)
             : libxl_device_nic_remove(backend->ctx, domid, &x, NULL)) {
        snprintf(why, VM_WHY_SIZE, "libxl: vif %s failed",
                 plug ? "add" : "remove");
        error = EIO;
    }
    libxl_device_nic_dispose(&x);
    return error;
}

static int
xen_nic_plug_sync(struct vm_backend *backend, const char *uuid,
                  const struct vm_nic *nic, char *why)
{
    return xen_nic(backend, uuid, nic, true, why);
}

static int
xen_nic_unplug_sync(struct vm_backend *backend, const char *uuid,
                    const struct vm_nic *nic, char *why)
{
    return xen_nic(backend, uuid, nic, false, why);
}

static int
xen_list(struct vm_backend *backend_, struct vm_domain_info **domainsp,
         size_t *n)
{
    struct xen_backend *backend = xen_cast(backend_);
    int count = 0;
    libxl_dominfo *list = libxl_list_domain(backend->ctx, &count);

    *domainsp = NULL;
    *n = 0;
    if (!list) {
        return EIO;
    }
    *domainsp = xzalloc((count ? count : 1) * sizeof **domainsp);
    for (int i = 0; i < count; i++) {
        struct vm_domain_info *info;

        if (!list[i].domid) {
            continue; /* dom0 */
        }
        info = &(*domainsp)[(*n)++];
        snprintf(info->uuid, sizeof info->uuid, LIBXL_UUID_FMT,
                 LIBXL_UUID_BYTES(list[i].uuid));
        info->pid = 0;
        info->state = list[i].paused ? VM_PAUSED : VM_RUNNING;
    }
    libxl_dominfo_list_free(list, count);
    return 0;
}

static void
xen_destroy_backend(struct vm_backend *backend_)
{
    struct xen_backend *backend = xen_cast(backend_);

    libxl_ctx_free(backend->ctx);
    if (backend->log) {
        xtl_logger_destroy((xentoollog_logger *) backend->log);
    }
    free(backend->up.state_dir);
    free(backend);
}

/* The asynchronous interface over the synchronous calls above. */

/* Reports the outcome 'error' of a call that set 'why'. */
static void
reply(struct vm_backend *backend, vm_done_cb *cb, void *aux, int error,
      const char *why)
{
    vm_backend_fail(backend, cb, aux, error, error ? why : "");
}

static void
xen_start(struct vm_backend *backend, const struct vm_config *config,
          const struct vm_start_options *options, vm_done_cb *cb, void *aux)
{
    char why[VM_WHY_SIZE] = "";
    int64_t domid = 0;
    int error;

    if (options->incoming_uri) {
        error = ENOTSUP;
        snprintf(why, sizeof why, "xen: no live migration yet");
    } else {
        error = xen_start_sync(backend, config, options->paused,
                               options->resume_file, &domid, why);
    }
    struct vm_result result = {.error = error, .why = why, .domid = domid};
    vm_backend_reply(backend, cb, aux, &result);
}

static void
xen_query(struct vm_backend *backend, const char *uuid, vm_done_cb *cb,
          void *aux)
{
    char why[VM_WHY_SIZE] = "";
    enum vm_domain_state state = VM_DOMAIN_GONE;
    int error = xen_query_sync(backend, uuid, &state, why);
    struct vm_result result = {.error = error, .why = why, .state = state};

    vm_backend_reply(backend, cb, aux, &result);
}

#define XEN_CALL(NAME)                                             \
    static void NAME(struct vm_backend *backend, const char *uuid, \
                     vm_done_cb *cb, void *aux)                    \
    {                                                              \
        char why[VM_WHY_SIZE] = "";                                \
        int error = NAME##_sync(backend, uuid, why);               \
        reply(backend, cb, aux, error, why);                       \
    }
XEN_CALL(xen_shutdown)
XEN_CALL(xen_destroy)
XEN_CALL(xen_pause)
XEN_CALL(xen_unpause)
XEN_CALL(xen_reset)

static void
xen_suspend(struct vm_backend *backend, const char *uuid, const char *file,
            vm_done_cb *cb, void *aux)
{
    char why[VM_WHY_SIZE] = "";
    char *part = xasprintf("%s.part", file);
    int error = xen_suspend_sync(backend, uuid, part, why);

    if (!error && rename(part, file)) {
        error = errno;
        snprintf(why, sizeof why, "rename: %s", strerror(error));
    }
    free(part);
    reply(backend, cb, aux, error, why);
}

static void
xen_nic_plug(struct vm_backend *backend, const char *uuid,
             const struct vm_nic *nic, vm_done_cb *cb, void *aux)
{
    char why[VM_WHY_SIZE] = "";
    int error = xen_nic_plug_sync(backend, uuid, nic, why);

    reply(backend, cb, aux, error, why);
}

static void
xen_nic_unplug(struct vm_backend *backend, const char *uuid,
               const struct vm_nic *nic, vm_done_cb *cb, void *aux)
{
    char why[VM_WHY_SIZE] = "";
    int error = xen_nic_unplug_sync(backend, uuid, nic, why);

    reply(backend, cb, aux, error, why);
}

static void
xen_migrate(struct vm_backend *backend, const char *uuid, const char *uri,
            vm_done_cb *cb, void *aux)
{
    reply(backend, cb, aux, ENOTSUP, "xen: no live migration yet");
}

static void
xen_not_yet(struct vm_backend *backend, const char *uuid, vm_done_cb *cb,
            void *aux)
{
    reply(backend, cb, aux, ENOTSUP, "xen: no such query yet");
}

static void
xen_adopt(struct vm_backend *backend, const char *uuid)
{
    /* libxl finds its domains by UUID whenever asked. */
}

static const struct vm_backend_ops xen_ops = {
    .name = "xen",
    .accel = xen_accel,
    .list = xen_list,
    .adopt = xen_adopt,
    .start = xen_start,
    .shutdown = xen_shutdown,
    .query = xen_query,
    .destroy = xen_destroy,
    .pause = xen_pause,
    .unpause = xen_unpause,
    .reset = xen_reset,
    .suspend = xen_suspend,
    .migrate = xen_migrate,
    .query_memory = xen_not_yet,
    .query_devices = xen_not_yet,
    .nic_plug = xen_nic_plug,
    .nic_unplug = xen_nic_unplug,
    .destroy_backend = xen_destroy_backend,
};

static struct xen_backend *
xen_cast(struct vm_backend *backend)
{
    return (struct xen_backend *) backend;
}

/* Finds the domain whose UUID is 'uuid'.  Returns 0 or ENOENT. */
static int
find_domid(struct xen_backend *backend, const char *uuid, uint32_t *domid)
{
    libxl_uuid want;
    int count = 0, error = ENOENT;
    libxl_dominfo *list;

    if (libxl_uuid_from_string(&want, uuid)) {
        return ENOENT;
    }
    list = libxl_list_domain(backend->ctx, &count);
    for (int i = 0; list && i < count; i++) {
        if (list[i].domid && libxl_uuid_compare(&list[i].uuid, &want) == 0) {
            *domid = list[i].domid;
            error = 0;
            break;
        }
    }
    if (list) {
        libxl_dominfo_list_free(list, count);
    }
    return error;
}

/* Parses "aa:bb:cc:dd:ee:ff" into 'mac'.  Returns 0 or EINVAL. */
static int
parse_mac(const char *text, libxl_mac *mac)
{
    unsigned int b[6];
    char extra;

    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
               &b[4], &b[5], &extra)
        != 6) {
        return EINVAL;
    }
    for (int i = 0; i < 6; i++) {
        (*mac)[i] = b[i];
    }
    return 0;
}

#else /* !HAVE_LIBXL */

struct vm_backend *
vm_xen_backend_create(struct event_base *base, const char *state_dir,
                      char *why)
{
    snprintf(why, VM_WHY_SIZE, "netpool was built without libxl");
    return NULL;
}

#endif
