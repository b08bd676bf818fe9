/*
 * High availability glue: starts this host's HA monitor (ha/) and gives it
 * what fencing means here: end every domain through the VM controller,
 * then stop the controller so that nothing starts a domain again until
 * the operator clears the fence, when a new controller starts.
 */
#include "mgmt/mgmt.h"

#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "ha/ha.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/api-internal.h"
#include "vm/vm.h"

#define LOG_MODULE "ha"

struct mgmt_ha {
    struct event_base *base;       /* The loop. */
    struct store *store;           /* The store. */
    char *host;                    /* This host. */
    struct ha_monitor *monitor;    /* The monitor. */
    struct vm_controller **vms;    /* netpoold's VM controller. */
    struct mgmt_migrate **migrate; /* Its migration agent. */
    struct dp_reconciler *fabric;  /* The fabric it works with. */
    struct ha_pool *pool;          /* The pool agent, or NULL. */
    ha_fenced_cb *done;            /* Told when the fence is done. */
    struct event *finish;          /* Ends the controller from the loop. */
};

static void fence(void *ha_, struct ha_monitor *, ha_fenced_cb *done);
static void domains_ended(void *ha_, const struct vm_result *);
static void on_finish(evutil_socket_t, short, void *ha_);
static void unfence(void *ha_);

struct mgmt_ha *
mgmt_ha_create(struct event_base *base, struct store *store, struct api *api,
               const char *state_dir, const char *host, struct ha_pool *pool,
               struct vm_controller **vms, struct mgmt_migrate **migrate,
               struct dp_reconciler *fabric)
{
    struct mgmt_ha *ha = xzalloc(sizeof *ha);
    char *marker = xasprintf("%s/%s/", VM_STATE_ROOT, host);
    struct ha_monitor_options options = {
        .state_dir = state_dir,
        .host = host,
        .pool = pool,
        .domain_marker = marker,
        .fence = fence,
        .unfence = unfence,
        .aux = ha,
    };

    ha->base = base;
    ha->store = store;
    ha->host = xstrdup(host);
    ha->vms = vms;
    ha->migrate = migrate;
    ha->fabric = fabric;
    ha->pool = pool;
    ha->finish = event_new(base, -1, 0, on_finish, ha);
    ha->monitor = ha_monitor_create(base, store, &options);
    free(marker);
    api_set_ha(api, ha->monitor);
    return ha;
}

bool
mgmt_ha_fenced(const struct mgmt_ha *ha)
{
    return ha_monitor_fenced(ha->monitor);
}

char *
mgmt_ha_metrics(const struct mgmt_ha *ha)
{
    return ha_monitor_metrics(ha->monitor);
}

void
mgmt_ha_destroy(struct mgmt_ha *ha)
{
    if (!ha) {
        return;
    }
    ha_monitor_destroy(ha->monitor);
    event_free(ha->finish);
    free(ha->host);
    free(ha);
}

/* The monitor's fence: every domain ends, then the controller stops. */
static void
fence(void *ha_, struct ha_monitor *monitor, ha_fenced_cb *done)
{
    struct mgmt_ha *ha = ha_;

    ha->done = done;
    if (*ha->vms) {
        vm_controller_ensure_none_running(*ha->vms, domains_ended, ha);
    } else {
        event_active(ha->finish, 0, 0);
    }
}

static void
domains_ended(void *ha_, const struct vm_result *result)
{
    struct mgmt_ha *ha = ha_;

    /* Not from inside the controller's own callback. */
    event_active(ha->finish, 0, 0);
}

static void
on_finish(evutil_socket_t fd, short what, void *ha_)
{
    struct mgmt_ha *ha = ha_;

    mgmt_migrate_destroy(*ha->migrate);
    *ha->migrate = NULL;
    vm_controller_destroy(*ha->vms);
    *ha->vms = NULL;
    if (ha->done) {
        ha->done(ha->monitor);
        ha->done = NULL;
    }
}

/* The fence is cleared and the host is back in its pool: domains may run
 * again. */
static void
unfence(void *ha_)
{
    struct mgmt_ha *ha = ha_;
    struct vm_host_hooks hooks;

    if (!*ha->vms) {
        mgmt_vm_hooks(ha->store, &hooks);
        *ha->vms =
            vm_controller_create(ha->base, ha->store, ha->host, NULL, &hooks);
    }
    if (!*ha->migrate) {
        *ha->migrate = mgmt_migrate_create(ha->base, ha->store, ha->host,
                                           *ha->vms, ha->fabric, ha->pool);
    }
}
