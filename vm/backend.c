/*
 * What every backend shares: outcomes told from the loop, the watcher of
 * domains, the choice of a backend by name.
 */
#include "vm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/xalloc.h"

/* An outcome waiting for the loop's next turn. */
struct vm_backend_reply {
    struct vm_backend *backend;    /* Owner. */
    struct event *event;           /* Fires it. */
    vm_done_cb *cb;                /* Told once. */
    void *aux;                     /* Argument for 'cb'. */
    struct vm_result result;       /* The outcome; 'why' below. */
    char why[VM_WHY_SIZE];         /* Its reason. */
    struct vm_backend_reply *next; /* In backend->replies. */
};

static void fire(evutil_socket_t, short, void *reply_);
static void unlink_reply(struct vm_backend_reply *);

void
vm_backend_watch(struct vm_backend *backend, vm_domain_cb *cb, void *aux)
{
    backend->on_domain = cb;
    backend->domain_aux = aux;
}

void
vm_backend_destroy(struct vm_backend *backend)
{
    if (!backend) {
        return;
    }
    backend->on_domain = NULL;
    while (backend->replies) {
        struct vm_backend_reply *r = backend->replies;
        unlink_reply(r);
        r->result.error = ECANCELED;
        r->result.why = "netpoold is stopping";
        event_free(r->event);
        r->cb(r->aux, &r->result);
        json_object_put(r->result.info);
        free(r);
    }
    backend->ops->destroy_backend(backend);
}

void
vm_backend_reply(struct vm_backend *backend, vm_done_cb *cb, void *aux,
                 const struct vm_result *result)
{
    struct vm_backend_reply *r = xzalloc(sizeof *r);

    r->backend = backend;
    r->cb = cb;
    r->aux = aux;
    r->result = *result;
    snprintf(r->why, sizeof r->why, "%s", result->why ? result->why : "");
    r->result.why = r->why;
    r->result.info = result->info ? json_object_get(result->info) : NULL;
    r->event = evtimer_new(backend->base, fire, r);
    r->next = backend->replies;
    backend->replies = r;
    event_add(r->event, &(struct timeval){0, 0});
}

void
vm_backend_fail(struct vm_backend *backend, vm_done_cb *cb, void *aux,
                int error, const char *why)
{
    struct vm_result result = {.error = error, .why = why};

    vm_backend_reply(backend, cb, aux, &result);
}

void
vm_backend_domain_changed(struct vm_backend *backend, const char *uuid,
                          enum vm_domain_state state)
{
    if (backend->on_domain) {
        backend->on_domain(backend->domain_aux, uuid, state);
    }
}

struct np_error *
vm_backend_check(const char *name)
{
    if (!strcmp(name, "qemu")) {
        return NULL;
    }
    if (!strcmp(name, "xen")) {
        char why[VM_WHY_SIZE] = "";
        struct vm_backend *xen = vm_xen_backend_create(NULL, "/", why);
        if (xen) {
            vm_backend_destroy(xen);
            return NULL;
        }
        return np_error_new(ERR_HOST_VM_BACKEND_UNAVAILABLE, name, why, NULL);
    }
    return np_error_new(ERR_INVALID_VALUE, "vm_backend", name, NULL);
}

static void
fire(evutil_socket_t fd, short what, void *reply_)
{
    struct vm_backend_reply *r = reply_;

    unlink_reply(r);
    event_free(r->event);
    r->cb(r->aux, &r->result);
    json_object_put(r->result.info);
    free(r);
}

static void
unlink_reply(struct vm_backend_reply *r)
{
    for (struct vm_backend_reply **p = &r->backend->replies; *p;
         p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            return;
        }
    }
}
