/*
 * records: the reconciler's copy of the store rows the fabric is built
 * from, kept current from the store's change feed (records.c).  Only
 * datapath/reconcile*.c include this.
 *
 * It holds this host's objects and the unowned ones of the classes the
 * fabric reads (network, PIF, bond, VLAN, VIF, VM, host), desired and
 * observed fields merged (derived fields never), in the form the pure
 * builders take (class → (UUID → record)).  Objects of other hosts never
 * enter it, so a pool's other members cost nothing here; the other hosts
 * themselves appear in "host" as empty records, since the placement of a
 * halted VM's namespace guests depends on whether the host is alone
 * (dp_vif_on_host()).  Besides the
 * rows it tracks, until the reconciler has used them, which VIFs may want
 * something else (a VIF changed, or its VM) and whether anything else the
 * fabric reads changed.
 */
#ifndef NETPOOL_DATAPATH_RECORDS_H
#define NETPOOL_DATAPATH_RECORDS_H 1

#include <stdbool.h>
#include <stddef.h>

struct json_object;
struct store;
struct store_change;

struct dp_records {
    struct store *store;          /* Source. */
    char *host;                   /* This host's UUID. */
    struct json_object *all;      /* Class → (UUID → record). */
    struct json_object *vm_vifs;  /* VM UUID → {VIF UUID: null}. */
    struct json_object *vifs;     /* Tracked: VIFs to compute again. */
    bool infra;                   /* Tracked: a change to what the fabric
                                * reads other than VIFs and VMs. */
    struct json_object *incoming; /* VMs migrating to this host: UUID →
                                   * null.  Their rows are here, as if
                                   * resident, before the store says so. */
};

/* The classes the fabric reads, NULL-terminated. */
extern const char *const dp_records_classes[];

/* Initializes 'records' for host 'host' of 'store', empty. */
void dp_records_init(struct dp_records *records, struct store *store,
                     const char *host);

/* Frees what 'records' holds. */
void dp_records_destroy(struct dp_records *records);

/* Loads every row afresh from the store (this host's and unowned ones,
 * through the owner index), forgetting tracked changes. */
void dp_records_reload(struct dp_records *records);

/* Applies 'n' changed rows of the store's feed ('changes', borrowed) and
 * tracks what they touch. */
void dp_records_feed(struct dp_records *records,
                     const struct store_change *changes, size_t n);

/* Applies 'n' changed rows of class host of any owner ('changes',
 * borrowed): a host other than this one coming or going changes where
 * halted VMs' namespace guests live, which is tracked as a change to what
 * the fabric reads; anything else about other hosts is ignored. */
void dp_records_feed_hosts(struct dp_records *records,
                           const struct store_change *changes, size_t n);

/* Makes VM 'vm' one migrating to this host ('incoming' true): its row
 * and its VIFs' are read from the store and kept here with resident_on
 * this host, so their ports are made before the migration commits; or no
 * longer ('incoming' false): unless the store now says it is resident
 * here, its rows go.  Tracks its VIFs either way. */
void dp_records_set_incoming(struct dp_records *records, const char *vm,
                             bool incoming);

/* Returns true if changes are tracked. */
bool dp_records_changed(const struct dp_records *records);

/* Forgets the tracked changes. */
void dp_records_clear_tracked(struct dp_records *records);

/* Returns a new JSON object of class → (UUID → record) that shares every
 * class of 'records' except VIF and VM, which hold only VIF 'vif' and its
 * VM: what the pure builders need to see of one VIF.  NULL if there is no
 * such VIF. */
struct json_object *dp_records_vif_view(const struct dp_records *records,
                                        const char *vif);

#endif
