/*
 * The NFS client: libnfs's asynchronous interface driven by the event
 * loop.  libnfs owns one socket per context (its descriptor can change
 * when it reconnects) and says which events it waits for; after every
 * call into it the socket's event is armed again for those.  A timer calls
 * it twice a second as well, so that requests whose server stays silent
 * time out (libnfs checks its deadlines only when it is called).
 *
 * Callbacks never run inside the call that made a request: libnfs answers
 * from nfs_service(), which only the loop calls.  A client closed from a
 * callback is freed once nfs_service() has returned.
 */
#include "storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw-nfs.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "nfs"

#define SERVICE_MS 500 /* How often libnfs checks its deadlines. */

struct storage_nfs {
    struct event_base *base;  /* The loop. */
    struct nfs_context *nfs;  /* libnfs's client. */
    struct event *io;         /* Its socket, or NULL. */
    int io_fd;                /* The socket 'io' watches, or -1. */
    short io_events;          /* The events 'io' waits for. */
    struct event *tick;       /* Deadlines. */
    struct request *requests; /* In flight. */
    bool in_service;          /* Inside nfs_service(). */
    bool closed;              /* Closed meanwhile: free after it. */
};

/* One request in flight. */
struct request {
    struct storage_nfs *client; /* Owner. */
    storage_nfs_cb *cb;         /* Told its outcome. */
    void *aux;                  /* Its argument. */
    char *name;                 /* A file it works on, or NULL. */
    char *buffer;               /* What a put writes, or NULL. */
    size_t size;                /* Its size, or what a get reads. */
    struct nfsfh *fh;           /* The file a put or get has open. */
    bool written;               /* A put's write was sent on 'fh'. */
    struct json_object *result; /* What a get read, until closed. */
    struct request *next;       /* In client->requests. */
};

static struct request *request_new(struct storage_nfs *, storage_nfs_cb *,
                                   void *aux, const char *name);
static void request_done(struct request *, int status, const char *error,
                         struct json_object *data);
static int queued(struct storage_nfs *, struct request *, int retval);
static char *path_of(const char *name);
static void on_mounted(int status, struct nfs_context *, void *data,
                       void *request_);
static void on_space(int status, struct nfs_context *, void *data,
                     void *request_);
static void on_created(int status, struct nfs_context *, void *data,
                       void *request_);
static void on_check_closed(int status, struct nfs_context *, void *data,
                            void *request_);
static void on_listed(int status, struct nfs_context *, void *data,
                      void *request_);
static void on_simple(int status, struct nfs_context *, void *data,
                      void *request_);
static void on_put_open(int status, struct nfs_context *, void *data,
                        void *request_);
static void on_get_open(int status, struct nfs_context *, void *data,
                        void *request_);
static void on_put_written(int status, struct nfs_context *, void *data,
                           void *request_);
static void on_get_read(int status, struct nfs_context *, void *data,
                        void *request_);
static void on_file_closed(int status, struct nfs_context *, void *data,
                           void *request_);
static void close_file(struct request *, int status, const char *error);
static void service(struct storage_nfs *, int revents);
static void on_io(evutil_socket_t, short, void *client_);
static void on_tick(evutil_socket_t, short, void *client_);
static void arm(struct storage_nfs *);
static void client_free(struct storage_nfs *);

int
storage_nfs_open(struct event_base *base,
                 const struct storage_nfs_config *config,
                 const char *interface, int timeout_ms,
                 storage_nfs_cb *mounted, void *aux, struct storage_nfs **nfsp)
{
    struct nfs_context *nfs = nfs_init_context();

    *nfsp = NULL;
    if (!nfs) {
        return ENOMEM;
    }
    struct storage_nfs *c = xzalloc(sizeof *c);
    c->base = base;
    c->nfs = nfs;
    c->io_fd = -1;
    nfs_set_timeout(nfs, timeout_ms);
    /* A lost server fails requests (the caller reconnects), rather than
     * queueing them for ever. */
    nfs_set_autoreconnect(nfs, 0);
    nfs_set_uid(nfs, 0);
    if (interface && *interface) {
        nfs_set_interface(nfs, interface);
    }
    c->tick = event_new(base, -1, EV_PERSIST, on_tick, c);
    struct timeval tv = {0, SERVICE_MS * 1000};
    event_add(c->tick, &tv);

    struct request *r = request_new(c, mounted, aux, NULL);
    int retval = queued(
        c, r,
        nfs_mount_async(nfs, config->server, config->path, on_mounted, r));
    if (retval) {
        client_free(c);
        return retval;
    }
    *nfsp = c;
    return 0;
}

void
storage_nfs_close(struct storage_nfs *c)
{
    if (!c) {
        return;
    }
    if (c->in_service) {
        c->closed = true;
    } else {
        client_free(c);
    }
}

int
storage_nfs_space(struct storage_nfs *c, storage_nfs_cb *cb, void *aux)
{
    struct request *r = request_new(c, cb, aux, NULL);
    return queued(c, r, nfs_statvfs64_async(c->nfs, "/", on_space, r));
}

int
storage_nfs_write_check(struct storage_nfs *c, const char *name,
                        storage_nfs_cb *cb, void *aux)
{
    struct request *r = request_new(c, cb, aux, name);
    char *path = path_of(name);
    int retval =
        queued(c, r,
               nfs_open2_async(c->nfs, path, O_CREAT | O_WRONLY | O_TRUNC,
                               0600, on_created, r));
    free(path);
    return retval;
}

int
storage_nfs_list(struct storage_nfs *c, storage_nfs_cb *cb, void *aux)
{
    struct request *r = request_new(c, cb, aux, NULL);
    return queued(c, r, nfs_opendir_async(c->nfs, "/", on_listed, r));
}

int
storage_nfs_rename(struct storage_nfs *c, const char *from, const char *to,
                   storage_nfs_cb *cb, void *aux)
{
    struct request *r = request_new(c, cb, aux, NULL);
    char *old = path_of(from), *new = path_of(to);
    int retval =
        queued(c, r, nfs_rename_async(c->nfs, old, new, on_simple, r));
    free(old);
    free(new);
    return retval;
}

int
storage_nfs_unlink(struct storage_nfs *c, const char *name, storage_nfs_cb *cb,
                   void *aux)
{
    struct request *r = request_new(c, cb, aux, NULL);
    char *path = path_of(name);
    int retval = queued(c, r, nfs_unlink_async(c->nfs, path, on_simple, r));
    free(path);
    return retval;
}

int
storage_nfs_put(struct storage_nfs *c, const char *name, const void *data,
                size_t size, storage_nfs_cb *cb, void *aux)
{
    struct request *r = request_new(c, cb, aux, name);
    char *path = path_of(name);

    r->buffer = xmalloc(size + 1);
    memcpy(r->buffer, data, size);
    r->size = size;
    int retval = queued(c, r,
                        nfs_open2_async(c->nfs, path, O_CREAT | O_WRONLY, 0600,
                                        on_put_open, r));
    free(path);
    return retval;
}

int
storage_nfs_get(struct storage_nfs *c, const char *name, size_t max,
                storage_nfs_cb *cb, void *aux)
{
    struct request *r = request_new(c, cb, aux, name);
    char *path = path_of(name);

    r->size = max;
    int retval =
        queued(c, r, nfs_open_async(c->nfs, path, O_RDONLY, on_get_open, r));
    free(path);
    return retval;
}

/* Requests. */

static struct request *
request_new(struct storage_nfs *c, storage_nfs_cb *cb, void *aux,
            const char *name)
{
    struct request *r = xzalloc(sizeof *r);

    r->client = c;
    r->cb = cb;
    r->aux = aux;
    r->name = name ? xstrdup(name) : NULL;
    r->next = c->requests;
    c->requests = r;
    return r;
}

/* 'retval' is libnfs's answer to queueing 'r': 0, or a negative errno (then
 * its callback never runs and 'r' goes).  Returns 0 or a positive errno. */
static int
queued(struct storage_nfs *c, struct request *r, int retval)
{
    if (retval < 0) {
        log_debug("request not queued: %s", nfs_get_error(c->nfs));
        r->cb = NULL; /* Nobody is told. */
        request_done(r, 0, NULL, NULL);
        return EIO;
    }
    arm(c);
    return 0;
}

/* Unlinks and frees 'r', then tells its owner the outcome (unless the
 * client was closed). */
static void
request_done(struct request *r, int status, const char *error,
             struct json_object *data)
{
    struct storage_nfs *c = r->client;
    storage_nfs_cb *cb = r->cb;
    void *aux = r->aux;
    bool tell = !c->closed;

    for (struct request **p = &c->requests; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    struct json_object *result = r->result;
    free(r->name);
    free(r->buffer);
    free(r);
    if (!data && result && !status) {
        data = result;
    } else {
        json_object_put(result);
    }
    if (tell && cb) {
        cb(aux, status, error, data);
    }
    json_object_put(data);
}

static char *
path_of(const char *name)
{
    return xasprintf("/%s", name);
}

/* libnfs's answers.  'status' is 0 or a negative errno; on failure 'data'
 * is the error text. */

static void
on_mounted(int status, struct nfs_context *nfs, void *data, void *request_)
{
    request_done(request_, -status, status ? data : NULL, NULL);
}

static void
on_space(int status, struct nfs_context *nfs, void *data, void *request_)
{
    struct json_object *space = NULL;

    if (!status) {
        const struct nfs_statvfs_64 *st = data;
        uint64_t unit = st->f_frsize ? st->f_frsize : st->f_bsize;
        space = json_object_new_object();
        json_object_object_add(
            space, "size",
            json_object_new_int64((int64_t) (st->f_blocks * unit)));
        json_object_object_add(
            space, "free",
            json_object_new_int64((int64_t) (st->f_bavail * unit)));
    }
    request_done(request_, -status, status ? data : NULL, space);
}

static void
on_created(int status, struct nfs_context *nfs, void *data, void *request_)
{
    struct request *r = request_;

    if (status) {
        request_done(r, -status, data, NULL);
        return;
    }
    if (nfs_close_async(nfs, data, on_check_closed, r) < 0) {
        request_done(r, EIO, nfs_get_error(nfs), NULL);
    }
}

static void
on_check_closed(int status, struct nfs_context *nfs, void *data,
                void *request_)
{
    struct request *r = request_;
    char *path = path_of(r->name);

    if (status || nfs_unlink_async(nfs, path, on_simple, r) < 0) {
        request_done(r, status ? -status : EIO,
                     status ? data : nfs_get_error(nfs), NULL);
    }
    free(path);
}

static void
on_listed(int status, struct nfs_context *nfs, void *data, void *request_)
{
    struct json_object *files = NULL;

    if (!status) {
        struct nfsdir *dir = data;
        struct nfsdirent *entry;
        files = json_object_new_object();
        while ((entry = nfs_readdir(nfs, dir))) {
            if (entry->type == NF3REG) {
                json_object_object_add(
                    files, entry->name,
                    json_object_new_int64((int64_t) entry->size));
            }
        }
        nfs_closedir(nfs, dir);
    }
    request_done(request_, -status, status ? data : NULL, files);
}

static void
on_simple(int status, struct nfs_context *nfs, void *data, void *request_)
{
    request_done(request_, -status, status ? data : NULL, NULL);
}

static void
on_put_open(int status, struct nfs_context *nfs, void *data, void *request_)
{
    struct request *r = request_;

    if (status) {
        request_done(r, -status, data, NULL);
        return;
    }
    r->fh = data;
    r->written = true;
    if (nfs_pwrite_async(nfs, r->fh, 0, r->size, r->buffer, on_put_written, r)
        < 0) {
        close_file(r, EIO, nfs_get_error(nfs));
    }
}

static void
on_put_written(int status, struct nfs_context *nfs, void *data, void *request_)
{
    struct request *r = request_;

    if (status < 0) {
        close_file(r, -status, data);
    } else if ((size_t) status != r->size) {
        close_file(r, EIO, "short write");
    } else {
        close_file(r, 0, NULL);
    }
}

static void
on_get_open(int status, struct nfs_context *nfs, void *data, void *request_)
{
    struct request *r = request_;

    if (status) {
        request_done(r, -status, data, NULL);
        return;
    }
    r->fh = data;
    if (nfs_pread_async(nfs, r->fh, 0, r->size, on_get_read, r) < 0) {
        close_file(r, EIO, nfs_get_error(nfs));
    }
}

static void
on_get_read(int status, struct nfs_context *nfs, void *data, void *request_)
{
    struct request *r = request_;

    if (status < 0) {
        close_file(r, -status, data);
        return;
    }
    r->result = json_object_new_string_len(data, status);
    close_file(r, 0, NULL);
}

/* Closes the file of a put or get, then finishes it with 'status' (the
 * close's failure when 'status' is 0). */
static void
close_file(struct request *r, int status, const char *error)
{
    struct storage_nfs *c = r->client;

    if (status) {
        /* The request failed already: close without waiting.  Not when
         * the client is being freed with a write in flight (cancelled by
         * nfs_destroy_context()): the close of a written file sends a
         * COMMIT, and libnfs aborts on a request queued while it destroys
         * the context (an assertion in rpc_purge_all_pdus; the HA monitor
         * giving up a cycle hit it).  The file handle is lost then. */
        json_object_put(r->result);
        r->result = NULL;
        if (!(c->closed && r->written)) {
            nfs_close_async(c->nfs, r->fh, on_file_closed, NULL);
        }
        request_done(r, status, error, NULL);
        return;
    }
    if (nfs_close_async(c->nfs, r->fh, on_file_closed, r) < 0) {
        request_done(r, EIO, nfs_get_error(c->nfs), NULL);
    }
}

static void
on_file_closed(int status, struct nfs_context *nfs, void *data, void *request_)
{
    if (request_) {
        request_done(request_, -status, status ? data : NULL, NULL);
    }
}

/* The loop. */

/* Lets libnfs work on 'revents' (poll bits), then re-arms its socket. */
static void
service(struct storage_nfs *c, int revents)
{
    c->in_service = true;
    if (nfs_service(c->nfs, revents) < 0) {
        /* The connection broke: the requests it carried failed (libnfs
         * answered them) and the next ones reconnect, or fail. */
        log_debug("nfs_service: %s", nfs_get_error(c->nfs));
    }
    c->in_service = false;
    if (c->closed) {
        client_free(c);
        return;
    }
    arm(c);
}

static void
on_io(evutil_socket_t fd, short what, void *client_)
{
    int revents =
        (what & EV_READ ? POLLIN : 0) | (what & EV_WRITE ? POLLOUT : 0);
    service(client_, revents);
}

static void
on_tick(evutil_socket_t fd, short what, void *client_)
{
    struct storage_nfs *c = client_;

    if (c->requests) {
        service(c, 0);
    }
}

/* Watches libnfs's socket for what it waits for now. */
static void
arm(struct storage_nfs *c)
{
    int fd = nfs_get_fd(c->nfs);
    int wanted = nfs_which_events(c->nfs);
    short events = (short) ((wanted & POLLIN ? EV_READ : 0)
                            | (wanted & POLLOUT ? EV_WRITE : 0));

    if (fd == c->io_fd && events == c->io_events && c->io) {
        return;
    }
    if (c->io) {
        event_free(c->io);
        c->io = NULL;
    }
    c->io_fd = fd;
    c->io_events = events;
    if (fd >= 0 && events) {
        c->io = event_new(c->base, fd, events | EV_PERSIST, on_io, c);
        event_add(c->io, NULL);
    }
}

static void
client_free(struct storage_nfs *c)
{
    c->closed = true;
    if (c->io) {
        event_free(c->io);
    }
    event_free(c->tick);
    /* Destroying the context answers what it still holds (cancelled):
     * those answers find the client closed and tell nobody. */
    nfs_destroy_context(c->nfs);
    while (c->requests) {
        struct request *r = c->requests;
        c->requests = r->next;
        json_object_put(r->result);
        free(r->name);
        free(r->buffer);
        free(r);
    }
    free(c);
}
