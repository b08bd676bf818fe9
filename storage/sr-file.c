/*
 * Image files of NFS SRs.  A VDI on an NFS SR has the nfs:// URL of its
 * image as its location: QEMU and qemu-img open it as it is.  The rest of
 * an image's life (the rename that makes a finished copy visible, the
 * removal of a destroyed VDI or of a failed copy) happens here, through a
 * client of the image's folder that lives for one operation.  The host's
 * routes take it out of the interface on the server's subnet.
 */
#include "storage/storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "sr-file"

struct storage_files {
    struct event_base *base;     /* The loop. */
    struct storage_file_op *ops; /* In flight. */
};

struct storage_file_op {
    struct storage_files *files;  /* Owner. */
    struct storage_nfs *nfs;      /* The folder's client. */
    char *from;                   /* File name in the folder. */
    char *to;                     /* New name, or NULL to remove. */
    char *url;                    /* 'from' as a URL, for the log. */
    storage_file_cb *done;        /* Told the outcome, or NULL. */
    void *aux;                    /* Its argument. */
    struct storage_file_op *next; /* In files->ops. */
};

static bool split_url(const char *url, struct storage_nfs_config *,
                      char **name);
static void on_mounted(void *op_, int status, const char *error,
                       struct json_object *data);
static void on_done(void *op_, int status, const char *error,
                    struct json_object *data);
static void op_finish(struct storage_file_op *, int status, const char *error);

bool
storage_location_is_nfs(const char *location)
{
    return !strncmp(location, "nfs://", 6);
}

struct storage_files *
storage_files_create(struct event_base *base)
{
    struct storage_files *files = xzalloc(sizeof *files);

    files->base = base;
    return files;
}

void
storage_files_destroy(struct storage_files *files)
{
    if (!files) {
        return;
    }
    while (files->ops) {
        storage_file_cancel(files->ops);
    }
    free(files);
}

struct storage_file_op *
storage_file_start(struct storage_files *files, const char *from,
                   const char *to, storage_file_cb *done, void *aux,
                   int *errorp)
{
    struct storage_nfs_config config, to_config;
    char *name = NULL, *new_name = NULL;

    *errorp = 0;
    if (!split_url(from, &config, &name)
        || (to
            && (!split_url(to, &to_config, &new_name)
                || strcmp(config.server, to_config.server)
                || strcmp(config.path, to_config.path)))) {
        free(name);
        free(new_name);
        *errorp = EINVAL;
        return NULL;
    }
    struct storage_file_op *op = xzalloc(sizeof *op);
    op->files = files;
    op->from = name;
    op->to = new_name;
    op->url = xstrdup(from);
    op->done = done;
    op->aux = aux;
    int retval =
        storage_nfs_open(files->base, &config, NULL, STORAGE_MOUNT_TIMEOUT_MS,
                         on_mounted, op, &op->nfs);
    if (retval) {
        free(op->from);
        free(op->to);
        free(op->url);
        free(op);
        *errorp = retval;
        return NULL;
    }
    op->next = files->ops;
    files->ops = op;
    return op;
}

void
storage_file_cancel(struct storage_file_op *op)
{
    if (!op) {
        return;
    }
    for (struct storage_file_op **p = &op->files->ops; *p; p = &(*p)->next) {
        if (*p == op) {
            *p = op->next;
            break;
        }
    }
    storage_nfs_close(op->nfs);
    free(op->from);
    free(op->to);
    free(op->url);
    free(op);
}

/* Splits "nfs://SERVER/FOLDER/NAME" into the folder's config and NAME (a
 * new string).  Returns false if 'url' is not of that form. */
static bool
split_url(const char *url, struct storage_nfs_config *config, char **name)
{
    if (!storage_location_is_nfs(url)) {
        return false;
    }
    const char *host = url + 6;
    const char *slash = strchr(host, '/');
    const char *last = strrchr(host, '/');
    size_t host_length = slash ? (size_t) (slash - host) : 0;
    if (!slash || !last[1] || host_length >= sizeof config->server) {
        return false;
    }
    memset(config, 0, sizeof *config);
    memcpy(config->server, host, host_length);
    size_t path_length = last > slash ? (size_t) (last - slash) : 1;
    if (path_length >= sizeof config->path) {
        return false;
    }
    memcpy(config->path, slash, path_length);
    *name = xstrdup(last + 1);
    return true;
}

static void
on_mounted(void *op_, int status, const char *error, struct json_object *data)
{
    struct storage_file_op *op = op_;

    if (status) {
        op_finish(op, status, error);
        return;
    }
    int retval =
        op->to ? storage_nfs_rename(op->nfs, op->from, op->to, on_done, op)
               : storage_nfs_unlink(op->nfs, op->from, on_done, op);
    if (retval) {
        op_finish(op, retval, NULL);
    }
}

static void
on_done(void *op_, int status, const char *error, struct json_object *data)
{
    op_finish(op_, status, error);
}

/* Ends 'op': it goes, then its owner is told. */
static void
op_finish(struct storage_file_op *op, int status, const char *error)
{
    storage_file_cb *done = op->done;
    void *aux = op->aux;
    char *text = error ? xstrdup(error) : NULL;

    if (status && (status != ENOENT || op->to)) {
        log_warn("%s %s: %s", op->to ? "cannot rename" : "cannot remove",
                 op->url, text ? text : strerror(status));
    }
    storage_file_cancel(op);
    if (done) {
        done(aux, status, text);
    }
    free(text);
}
