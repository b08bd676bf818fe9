/*
 * The iSCSI scan: libiscsi's asynchronous interface driven by the event
 * loop.  A scan connects to the target's portal, logs in to the target,
 * asks for its LUNs and, for each, its peripheral type (standard INQUIRY),
 * its SCSI id (the device identification page) and its size (READ
 * CAPACITY 16), then drops the session.  After every call into libiscsi
 * the socket's event is armed again for the events it waits for.
 *
 * The outcome is told from an event of its own, never from inside
 * iscsi_service() nor from the call that started the scan, so the callee
 * may free whatever it likes.
 */
#include "storage/storage.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "iscsi"

#define MAX_LUNS 256       /* LUNs of one target a scan looks at. */
#define MAX_DESIGNATORS 16 /* Designators of one LUN it reads. */
#define MAX_ATTENTIONS 8   /* UNIT ATTENTIONs one LUN may answer. */

struct storage_iscsi_scan {
    struct event_base *base;            /* The loop. */
    struct iscsi_context *iscsi;        /* libiscsi's client. */
    struct event *io;                   /* Its socket, or NULL. */
    struct event *deadline;             /* Fails the scan after the timeout. */
    struct event *finish;               /* Tells the outcome. */
    uint16_t luns[MAX_LUNS];            /* The target's LUNs. */
    size_t n_luns;                      /* Entries in 'luns'. */
    size_t next;                        /* The LUN being asked about. */
    char scsi_id[STORAGE_SCSI_ID_SIZE]; /* Its SCSI id. */
    int attentions;                     /* UNIT ATTENTIONs it answered. */
    struct json_object *found;          /* Disk LUNs so far. */
    int status;                         /* Outcome: 0 or a positive errno. */
    char *error;                        /* Its text, or NULL. */
    bool done_pending;                  /* 'finish' is armed. */
    storage_iscsi_cb *done;             /* Told the outcome. */
    void *aux;                          /* Its argument. */
};

static void on_connected(struct iscsi_context *, int status, void *data,
                         void *scan_);
static void on_logged_in(struct iscsi_context *, int status, void *data,
                         void *scan_);
static void on_luns(struct iscsi_context *, int status, void *data,
                    void *scan_);
static void ask_next_lun(struct storage_iscsi_scan *);
static void on_standard(struct iscsi_context *, int status, void *data,
                        void *scan_);
static void on_identification(struct iscsi_context *, int status, void *data,
                              void *scan_);
static void on_capacity(struct iscsi_context *, int status, void *data,
                        void *scan_);
static bool task_failed(struct storage_iscsi_scan *, int status,
                        struct scsi_task *, const char *what);
static bool unit_attention(struct storage_iscsi_scan *, int status,
                           struct scsi_task *);
static void fail(struct storage_iscsi_scan *, int status, const char *error);
static void arm(struct storage_iscsi_scan *);
static void on_io(evutil_socket_t, short, void *scan_);
static void on_deadline(evutil_socket_t, short, void *scan_);
static void on_finish(evutil_socket_t, short, void *scan_);

int
storage_iscsi_scan_start(struct event_base *base,
                         const struct storage_iscsi_config *config,
                         const char *interface, const char *initiator,
                         int timeout_ms, storage_iscsi_cb *done, void *aux,
                         struct storage_iscsi_scan **scanp)
{
    struct iscsi_context *iscsi = iscsi_create_context(initiator);

    *scanp = NULL;
    if (!iscsi) {
        return ENOMEM;
    }
    struct storage_iscsi_scan *s = xzalloc(sizeof *s);
    s->base = base;
    s->iscsi = iscsi;
    s->done = done;
    s->aux = aux;
    s->found = json_object_new_array();
    s->finish = event_new(base, -1, 0, on_finish, s);
    s->deadline = event_new(base, -1, 0, on_deadline, s);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    event_add(s->deadline, &tv);

    iscsi_set_targetname(iscsi, config->iqn);
    iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
    /* A lost target fails the scan (the caller scans again later) rather
     * than queueing commands for ever. */
    iscsi_set_noautoreconnect(iscsi, 1);
    if (interface && *interface) {
        char *copy = xstrdup(interface);
        iscsi_set_bind_interfaces(iscsi, copy);
        free(copy);
    }
    char portal[INET_ADDRSTRLEN + 8];
    snprintf(portal, sizeof portal, "%s:%d", config->target, config->port);
    if (iscsi_connect_async(iscsi, portal, on_connected, s)) {
        fail(s, ECONNREFUSED, iscsi_get_error(iscsi));
    } else {
        arm(s);
    }
    *scanp = s;
    return 0;
}

void
storage_iscsi_scan_cancel(struct storage_iscsi_scan *s)
{
    if (!s) {
        return;
    }
    /* libiscsi tells the commands in flight that they are cancelled from
     * inside iscsi_destroy_context(): their callbacks then only free their
     * tasks. */
    s->done_pending = true;
    if (s->io) {
        event_free(s->io);
        s->io = NULL;
    }
    iscsi_destroy_context(s->iscsi);
    event_free(s->deadline);
    event_free(s->finish);
    json_object_put(s->found);
    free(s->error);
    free(s);
}

char *
storage_iscsi_initiator(const char *host)
{
    return xasprintf("iqn.2026-12.org.netpool:%s", host);
}

/* Steps. */

static void
on_connected(struct iscsi_context *iscsi, int status, void *data, void *scan_)
{
    struct storage_iscsi_scan *s = scan_;

    if (status != SCSI_STATUS_GOOD) {
        fail(s, ECONNREFUSED, iscsi_get_error(iscsi));
    } else if (iscsi_login_async(iscsi, on_logged_in, s)) {
        fail(s, EIO, iscsi_get_error(iscsi));
    }
}

static void
on_logged_in(struct iscsi_context *iscsi, int status, void *data, void *scan_)
{
    struct storage_iscsi_scan *s = scan_;

    if (status != SCSI_STATUS_GOOD) {
        fail(s, EACCES, iscsi_get_error(iscsi));
    } else if (!iscsi_reportluns_task(iscsi, 0, 16384, on_luns, s)) {
        fail(s, EIO, iscsi_get_error(iscsi));
    }
}

static void
on_luns(struct iscsi_context *iscsi, int status, void *data, void *scan_)
{
    struct storage_iscsi_scan *s = scan_;
    struct scsi_task *task = data;

    if (task_failed(s, status, task, "REPORT LUNS")) {
        return;
    }
    struct scsi_reportluns_list *list = scsi_datain_unmarshall(task);
    if (!list) {
        scsi_free_scsi_task(task);
        fail(s, EPROTO, "cannot read the answer to REPORT LUNS");
        return;
    }
    for (uint32_t i = 0; i < list->num && s->n_luns < MAX_LUNS; i++) {
        s->luns[s->n_luns++] = list->luns[i];
    }
    scsi_free_scsi_task(task);
    ask_next_lun(s);
}

/* Asks about LUN s->next, or ends the scan after the last one. */
static void
ask_next_lun(struct storage_iscsi_scan *s)
{
    if (s->next >= s->n_luns) {
        fail(s, 0, NULL);
        return;
    }
    s->attentions = 0;
    if (!iscsi_inquiry_task(s->iscsi, s->luns[s->next], 0, 0, 255, on_standard,
                            s)) {
        fail(s, EIO, iscsi_get_error(s->iscsi));
    }
}

static void
on_standard(struct iscsi_context *iscsi, int status, void *data, void *scan_)
{
    struct storage_iscsi_scan *s = scan_;
    struct scsi_task *task = data;

    if (task_failed(s, status, task, "INQUIRY")) {
        return;
    }
    struct scsi_inquiry_standard *inquiry = scsi_datain_unmarshall(task);
    bool disk =
        inquiry
        && inquiry->qualifier == SCSI_INQUIRY_PERIPHERAL_QUALIFIER_CONNECTED
        && inquiry->device_type
               == SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS;
    scsi_free_scsi_task(task);
    if (!disk) {
        /* A target's controller LUN (tgt's LUN 0) holds no data. */
        s->next++;
        ask_next_lun(s);
    } else if (!iscsi_inquiry_task(iscsi, s->luns[s->next], 1,
                                   SCSI_INQUIRY_PAGECODE_DEVICE_IDENTIFICATION,
                                   255, on_identification, s)) {
        fail(s, EIO, iscsi_get_error(iscsi));
    }
}

static void
on_identification(struct iscsi_context *iscsi, int status, void *data,
                  void *scan_)
{
    struct storage_iscsi_scan *s = scan_;
    struct scsi_task *task = data;
    struct storage_scsi_designator designators[MAX_DESIGNATORS];
    size_t n = 0;

    if (task_failed(s, status, task, "INQUIRY (device identification)")) {
        return;
    }
    struct scsi_inquiry_device_identification *page =
        scsi_datain_unmarshall(task);
    for (struct scsi_inquiry_device_designator *d = page ? page->designators
                                                         : NULL;
         d && n < MAX_DESIGNATORS; d = d->next) {
        if (d->association == SCSI_ASSOCIATION_LOGICAL_UNIT) {
            designators[n++] = (struct storage_scsi_designator){
                .type = d->designator_type,
                .binary = d->code_set == SCSI_CODESET_BINARY,
                .length = d->designator_length,
                .data = (const unsigned char *) d->designator,
            };
        }
    }
    char *id = storage_iscsi_scsi_id(designators, n);
    snprintf(s->scsi_id, sizeof s->scsi_id, "%s", id);
    free(id);
    scsi_free_scsi_task(task);
    if (!iscsi_readcapacity16_task(iscsi, s->luns[s->next], on_capacity, s)) {
        fail(s, EIO, iscsi_get_error(iscsi));
    }
}

static void
on_capacity(struct iscsi_context *iscsi, int status, void *data, void *scan_)
{
    struct storage_iscsi_scan *s = scan_;
    struct scsi_task *task = data;

    if (unit_attention(s, status, task)) {
        /* The LUN's first command after a login reports its reset: asked
         * again, it answers. */
        if (!iscsi_readcapacity16_task(iscsi, s->luns[s->next], on_capacity,
                                       s)) {
            fail(s, EIO, iscsi_get_error(iscsi));
        }
        return;
    }
    if (task_failed(s, status, task, "READ CAPACITY")) {
        return;
    }
    struct scsi_readcapacity16 *capacity = scsi_datain_unmarshall(task);
    if (capacity) {
        struct json_object *lun = json_object_new_object();
        json_object_object_add(lun, "LUN",
                               json_object_new_int(s->luns[s->next]));
        json_object_object_add(lun, "SCSIid",
                               json_object_new_string(s->scsi_id));
        json_object_object_add(
            lun, "size",
            json_object_new_int64((int64_t) (capacity->returned_lba + 1)
                                  * capacity->block_length));
        json_object_array_add(s->found, lun);
    }
    scsi_free_scsi_task(task);
    s->next++;
    ask_next_lun(s);
}

/* If 'task' ended in a UNIT ATTENTION that may be retried, frees it and
 * returns true. */
static bool
unit_attention(struct storage_iscsi_scan *s, int status,
               struct scsi_task *task)
{
    if (status != SCSI_STATUS_CHECK_CONDITION || !task
        || task->sense.key != SCSI_SENSE_UNIT_ATTENTION
        || s->attentions >= MAX_ATTENTIONS) {
        return false;
    }
    s->attentions++;
    scsi_free_scsi_task(task);
    return true;
}

/* If 'task' failed, frees it, fails 's' and returns true. */
static bool
task_failed(struct storage_iscsi_scan *s, int status, struct scsi_task *task,
            const char *what)
{
    if (status == SCSI_STATUS_GOOD && task) {
        return false;
    }
    char *error = xasprintf("%s of LUN %d failed: %s", what,
                            s->next < s->n_luns ? s->luns[s->next] : 0,
                            iscsi_get_error(s->iscsi));
    if (task) {
        scsi_free_scsi_task(task);
    }
    fail(s, EIO, error);
    free(error);
    return true;
}

/* Ends 's' with 'status' (0: success) and 'error', told from the loop. */
static void
fail(struct storage_iscsi_scan *s, int status, const char *error)
{
    if (s->done_pending) {
        return;
    }
    s->done_pending = true;
    s->status = status;
    s->error = error && *error ? xstrdup(error) : NULL;
    if (s->io) {
        event_free(s->io);
        s->io = NULL;
    }
    event_del(s->deadline);
    event_active(s->finish, EV_TIMEOUT, 0);
}

/* The loop. */

static void
arm(struct storage_iscsi_scan *s)
{
    if (s->io) {
        event_free(s->io);
        s->io = NULL;
    }
    if (s->done_pending) {
        return;
    }
    int fd = iscsi_get_fd(s->iscsi);
    int which = iscsi_which_events(s->iscsi);
    short events =
        (which & POLLIN ? EV_READ : 0) | (which & POLLOUT ? EV_WRITE : 0);
    if (fd < 0) {
        fail(s, ENOTCONN, "no connection to the target");
        return;
    }
    s->io = event_new(s->base, fd, events ? events : EV_READ, on_io, s);
    event_add(s->io, NULL);
}

static void
on_io(evutil_socket_t fd, short what, void *scan_)
{
    struct storage_iscsi_scan *s = scan_;
    int revents =
        (what & EV_READ ? POLLIN : 0) | (what & EV_WRITE ? POLLOUT : 0);

    if (iscsi_service(s->iscsi, revents) < 0) {
        fail(s, EIO, iscsi_get_error(s->iscsi));
    }
    arm(s);
}

static void
on_deadline(evutil_socket_t fd, short what, void *scan_)
{
    struct storage_iscsi_scan *s = scan_;

    fail(s, ETIMEDOUT,
         s->n_luns ? "timed out reading the LUNs"
                   : "timed out connecting and logging in");
}

static void
on_finish(evutil_socket_t fd, short what, void *scan_)
{
    struct storage_iscsi_scan *s = scan_;
    storage_iscsi_cb *done = s->done;
    void *aux = s->aux;
    int status = s->status;
    char *error = s->error ? xstrdup(s->error) : NULL;
    struct json_object *found = json_object_get(s->found);

    storage_iscsi_scan_cancel(s);
    done(aux, status, error, status ? NULL : found);
    json_object_put(found);
    free(error);
}
