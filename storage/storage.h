/*
 * storage: shared SRs — the NFS backend and the PBDs that plug an SR into
 * each host.
 *
 * An NFS SR (type "nfs") is a folder of an NFS server
 * (device_config:server, an IPv4 address, and device_config:serverpath),
 * each VDI one image file in it.  Every host reaches it in user space, as
 * QEMU does: netpoold through libnfs (probing, space, listing, renaming
 * and removing image files), QEMU and qemu-img through their own nfs://
 * block driver (libnfs too), so no host needs a kernel NFS client.  A host
 * reaches the server from the PIF that has a static address on the
 * server's subnet (the storage VLAN): the sockets are bound to that PIF's
 * interface, and an SR whose server is on no PIF's subnet is refused.
 *
 * A PBD (xapi's physical block device) plugs one SR into one host:
 * currently_attached is what was asked (PBD.plug, PBD.unplug); the PBD
 * controller of its host keeps an NFS mount of the SR while it is asked,
 * checks it every few seconds, and writes what it sees (connected, error,
 * the PIF it goes through) as observations, raising SR_BACKEND_FAILURE
 * (a message on the SR) when a plugged SR is lost.
 *
 * This module owns the NFS client and those decisions.  It never writes
 * desired state: the API (mgmt/api-sr.c) makes SRs and PBDs and plugs
 * them; here they are only converged and observed.
 */
#ifndef NETPOOL_STORAGE_STORAGE_H
#define NETPOOL_STORAGE_STORAGE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct event_base;
struct json_object;
struct np_error;
struct store;

#define STORAGE_MOUNT_TIMEOUT_MS 5000 /* One NFS request, mount included. */
#define STORAGE_CHECK_INTERVAL 5      /* Seconds between checks of a PBD. */

/* An NFS SR's device_config, checked. */
struct storage_nfs_config {
    char server[INET_ADDRSTRLEN]; /* The server's IPv4 address. */
    char path[512];               /* The exported folder, absolute. */
};

/* Checks the device_config of an NFS SR: server (an IPv4 address),
 * serverpath (an absolute path without "." or ".." parts, at most 511
 * bytes) and the optional nfsversion ("3": QEMU's NFS client speaks only
 * NFSv3).  Fills 'config'.  Returns NULL or INVALID_VALUE naming the bad
 * key (device_config:server, ...).  Pure. */
struct np_error *storage_nfs_check_config(struct json_object *device_config,
                                          struct storage_nfs_config *config);

/* Returns the nfs:// URL of file 'name' ("" for the folder itself) of the
 * SR folder 'config' (a new string). */
char *storage_nfs_url(const struct storage_nfs_config *config,
                      const char *name);

/* How a host reaches a storage server. */
struct storage_path {
    char pif[40];                 /* The PIF on the server's subnet. */
    char network[40];             /* Its network. */
    char network_name[128];       /* The network's name_label. */
    char interface[64];           /* The interface holding its address (the
                                   * network's bridge); "" for the
                                   * management PIF (routed by the host). */
    char source[INET_ADDRSTRLEN]; /* Its address. */
    int64_t mtu;                  /* The network's MTU. */
};

/* Finds the PIF of host 'host' that has an address on the subnet of
 * 'server', from 'records' (class name → (UUID → record), with "PIF" and
 * "network"): a plugged PIF with a static address (or the management PIF
 * with any address) whose subnet holds 'server'; a non-management PIF wins
 * over the management one.  Fills 'path' and returns true, or returns
 * false when there is none.  Pure. */
bool storage_pick_path(struct json_object *records, const char *host,
                       const char *server, struct storage_path *path);

/* iSCSI SRs (iscsi-config.c, iscsi.c).  An iSCSI SR is one target
 * (device_config:target, an IPv4 address, [port], targetIQN); each disk
 * LUN the target exports is one VDI of it, raw, whose location is the
 * LUN's iscsi:// URL (as xapi's raw "iscsi" SR: a LUN per VDI).  LUNs are
 * made on the target, so VDI.create, clone, resize and destroy are
 * refused on it; VDI.copy from it works.  device_config:SCSIid, when
 * given, keeps the SR to the one LUN with that SCSI id. */

#define STORAGE_ISCSI_PORT 3260  /* The iSCSI port. */
#define STORAGE_SCSI_ID_SIZE 128 /* Bytes of a SCSI id, NUL included. */

/* An iSCSI SR's device_config, checked. */
struct storage_iscsi_config {
    char target[INET_ADDRSTRLEN];       /* The target's IPv4 address. */
    int port;                           /* Its TCP port. */
    char iqn[224];                      /* The target's iSCSI name. */
    char scsi_id[STORAGE_SCSI_ID_SIZE]; /* The one LUN, or "" for all. */
};

/* Checks the device_config of an iSCSI SR: target (an IPv4 address), the
 * optional port (1-65535, default 3260), targetIQN (an iSCSI name:
 * iqn.YYYY-MM.…, eui.… or naa.…) and the optional SCSIid.  Fills
 * 'config'.  Returns NULL or INVALID_VALUE naming the bad key.  Pure. */
struct np_error *
storage_iscsi_check_config(struct json_object *device_config,
                           struct storage_iscsi_config *config);

/* Returns the device_config an SR of 'config' stores (a new object). */
struct json_object *
storage_iscsi_device_config(const struct storage_iscsi_config *config);

/* Returns the iscsi:// URL of LUN 'lun' of 'config''s target (a new
 * string). */
char *storage_iscsi_url(const struct storage_iscsi_config *config, int lun);

/* True if 'location' is an iscsi:// URL (a VDI on an iSCSI SR). */
bool storage_location_is_iscsi(const char *location);

/* One designator of a LUN's device identification VPD page (0x83). */
struct storage_scsi_designator {
    int type;                  /* Designator type: 1 T10, 2 EUI-64, 3 NAA. */
    bool binary;               /* Binary (else ASCII) code set. */
    int length;                /* Bytes of 'data'. */
    const unsigned char *data; /* The identifier. */
};

/* Returns the SCSI id of a LUN with the 'n' logical-unit 'designators',
 * as udev's scsi_id names it (the type's digit, then the NAA or EUI-64 in
 * hex, or the T10 vendor id with blanks as '_'), or "" if it has none; a
 * new string.  Pure. */
char *storage_iscsi_scsi_id(const struct storage_scsi_designator *, size_t n);

struct storage_iscsi_scan;

/* Told the outcome of a scan: 'status' 0 or a positive errno, 'error' the
 * client's text for a failure (or NULL), 'luns' (on success; borrowed) an
 * array of {"LUN", "SCSIid", "size"} for each disk LUN of the target. */
typedef void storage_iscsi_cb(void *aux, int status, const char *error,
                              struct json_object *luns);

/* Logs in to 'config''s target from the loop 'base' as 'initiator' (an
 * iSCSI name), with its socket bound to 'interface' (unless NULL or ""),
 * and lists its disk LUNs (REPORT LUNS; INQUIRY, the device
 * identification page, READ CAPACITY of each), failing after
 * 'timeout_ms'.  'done' runs once from the loop.  Returns 0 and sets
 * '*scanp', or a positive errno. */
int storage_iscsi_scan_start(struct event_base *base,
                             const struct storage_iscsi_config *config,
                             const char *interface, const char *initiator,
                             int timeout_ms, storage_iscsi_cb *done, void *aux,
                             struct storage_iscsi_scan **scanp);

/* Stops 'scan' without calling its callback.  Accepts NULL. */
void storage_iscsi_scan_cancel(struct storage_iscsi_scan *scan);

/* Returns the initiator name of host 'host' (a new string). */
char *storage_iscsi_initiator(const char *host);

/* The NFS client (nfs.c): one mounted export on the event loop. */

struct storage_nfs;

/* Told the outcome of a request: 'status' 0 or a positive errno, 'error'
 * the client's text for a failure (or NULL), 'data' the request's result
 * (see each request) or NULL.  Runs from the loop, never from the call
 * that made the request; the callee may close the client. */
typedef void storage_nfs_cb(void *aux, int status, const char *error,
                            struct json_object *data);

/* Mounts 'config''s folder from the loop 'base', with sockets bound to
 * 'interface' (unless NULL or ""), each request failing after
 * 'timeout_ms'.  Calls 'mounted' once (status 0: the client is ready for
 * requests).  Returns 0 and sets '*nfsp', or a positive errno. */
int storage_nfs_open(struct event_base *base,
                     const struct storage_nfs_config *config,
                     const char *interface, int timeout_ms,
                     storage_nfs_cb *mounted, void *aux,
                     struct storage_nfs **nfsp);

/* Closes 'nfs': requests in flight are dropped without their callbacks.
 * Accepts NULL. */
void storage_nfs_close(struct storage_nfs *nfs);

/* Requests; each returns 0 (then 'cb' runs once) or a positive errno.
 * Names are file names in the SR folder. */

/* The file system's space: data {"size", "free"} in bytes. */
int storage_nfs_space(struct storage_nfs *nfs, storage_nfs_cb *cb, void *aux);

/* Creates file 'name' (0600) and removes it again: the folder is
 * writable.  No data. */
int storage_nfs_write_check(struct storage_nfs *nfs, const char *name,
                            storage_nfs_cb *cb, void *aux);

/* The regular files of the folder: data {name: size in bytes}. */
int storage_nfs_list(struct storage_nfs *nfs, storage_nfs_cb *cb, void *aux);

/* Renames file 'from' to 'to'. */
int storage_nfs_rename(struct storage_nfs *nfs, const char *from,
                       const char *to, storage_nfs_cb *cb, void *aux);

/* Removes file 'name' (ENOENT if it is not there). */
int storage_nfs_unlink(struct storage_nfs *nfs, const char *name,
                       storage_nfs_cb *cb, void *aux);

/* Writes 'size' bytes of 'data' at the start of file 'name', creating it
 * (0600) if needed; bytes after them stay.  One open, one write, one
 * close.  No data. */
int storage_nfs_put(struct storage_nfs *nfs, const char *name,
                    const void *data, size_t size, storage_nfs_cb *cb,
                    void *aux);

/* Reads up to 'max' bytes from the start of file 'name': data, a JSON
 * string of what was read (ENOENT if there is no such file). */
int storage_nfs_get(struct storage_nfs *nfs, const char *name, size_t max,
                    storage_nfs_cb *cb, void *aux);

/* Image files of NFS SRs (sr-file.c): a VDI's location is the nfs:// URL
 * of its image, which QEMU and qemu-img open as they are; renaming and
 * removing one go through a short-lived client of its folder. */

/* True if 'location' is an nfs:// URL (a VDI on an NFS SR). */
bool storage_location_is_nfs(const char *location);

/* Operations on image files in flight, dropped together at shutdown. */
struct storage_files;
struct storage_file_op;

/* Told the outcome of a file operation: 'status' 0 or a positive errno,
 * 'error' the client's text or NULL. */
typedef void storage_file_cb(void *aux, int status, const char *error);

/* Returns a new, empty set of file operations on the loop 'base'. */
struct storage_files *storage_files_create(struct event_base *base);

/* Drops every operation in flight, without its callback, and frees
 * 'files'.  Accepts NULL. */
void storage_files_destroy(struct storage_files *files);

/* Renames the image at nfs:// URL 'from' to URL 'to' (the same folder),
 * or removes the image at 'from' when 'to' is NULL (ENOENT if it is not
 * there); 'done' (unless NULL) is told the outcome from the loop.  Returns
 * the operation, which storage_file_cancel() can drop until 'done' runs,
 * or NULL with '*errorp' set to a positive errno (EINVAL for a URL that is
 * not an NFS image). */
struct storage_file_op *storage_file_start(struct storage_files *files,
                                           const char *from, const char *to,
                                           storage_file_cb *done, void *aux,
                                           int *errorp);

/* Drops 'op' without its callback.  Accepts NULL. */
void storage_file_cancel(struct storage_file_op *op);

/* The SR probe (probe.c): can this host use an SR? */

struct storage_probe;

/* Told the outcome of a probe: NULL and the result {"PIF", "interface",
 * "physical_size", "physical_utilisation"} (taken), or a typed error
 * (taken) and NULL. */
typedef void storage_probe_cb(void *aux, struct np_error *error,
                              struct json_object *result);

/* Checks that host 'host' of 'store' can use an SR of 'type' ("nfs" or
 * "iscsi") with 'device_config', from the loop 'base': the config
 * (INVALID_VALUE), a PIF on the server's subnet (SR_BACKEND_FAILURE(server,
 * reason)), on a network above MTU 1500 that the server answers full-size
 * frames with don't-fragment set (MTU_MISMATCH(network, server, MTU) when
 * small ones pass and large ones do not), then an NFS mount, a file made
 * and removed and the space, or an iSCSI login and a scan of the target's
 * disk LUNs, at least one and SCSIid's if it is given
 * (SR_BACKEND_FAILURE(server, reason)).  The result of an iSCSI probe
 * also has "LUNs" (see storage_iscsi_cb).  Returns NULL and
 * sets '*probep' ('done' runs once from the loop), or a typed error at
 * once without calling 'done'. */
struct np_error *storage_probe_start(struct event_base *base,
                                     struct store *store, const char *host,
                                     const char *type,
                                     struct json_object *device_config,
                                     storage_probe_cb *done, void *aux,
                                     struct storage_probe **probep);

/* Stops 'probe' without calling its callback.  Accepts NULL. */
void storage_probe_cancel(struct storage_probe *probe);

/* The PBD controller (pbd.c). */

struct storage_pbds;

/* Starts the PBD controller of host 'host' of 'store' on 'base': it keeps
 * an NFS mount of each of the host's PBDs that is asked to be attached,
 * checks it every STORAGE_CHECK_INTERVAL seconds (and reconnects a lost
 * one), and writes each PBD's connected, error and PIF, and its SR's
 * physical_size and physical_utilisation.  A host of the pool without a
 * PBD for a shared SR gets one, plugged.  Returns 0 and sets '*pbdsp'. */
int storage_pbds_create(struct event_base *base, struct store *store,
                        const char *host, struct storage_pbds **pbdsp);

/* Stops the controller; the SRs stay as they are.  Accepts NULL. */
void storage_pbds_destroy(struct storage_pbds *pbds);

#endif
