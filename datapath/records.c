/*
 * The reconciler's copy of the store rows the fabric is built from
 * (records.h).  A full load reads through the store's owner index; after
 * that each change of the feed is applied to the copy row by row.  The
 * feed gives a desired change's whole desired part and an observation's
 * whole observed part, so either side of a row is replaced as a whole and
 * the copy ends up equal to what a full load would read.
 */
#include "datapath/records.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/record.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

const char *const dp_records_classes[] = {
    "network", "PIF", "bond", "VLAN", "VIF", "VM", "host", NULL,
};

/* Fields whose change leaves the fabric as it is, per class. */
static const char *const network_quiet[] = {
    "name_label",
    "name_description",
    NULL,
};
/* The VM fields a VIF's port, guest and rules depend on. */
static const char *const vm_loud[] = {
    "resident_on", "affinity", "other_config", "power_state", "domid", NULL,
};
/* Host fields the fabric never reads. */
static const char *const host_quiet[] = {
    "name_label",      "name_description", "software_version",
    "cluster_node_id", "cluster_address",  "pool_certificate",
    "certificate",     "vm_backend",       NULL,
};

static struct json_object *load(struct dp_records *, const char *class,
                                const char *uuid);
static void strip(const struct store_class *, struct json_object *record);
static void put_row(struct dp_records *, const char *class, const char *uuid,
                    struct json_object *record);
static void drop_row(struct dp_records *, const char *class, const char *uuid);
static void index_vif(struct dp_records *, const char *vif,
                      struct json_object *record, bool add);
static void track_vm(struct dp_records *, const char *vm);
static void add_incoming(struct dp_records *, const char *vm);
static bool is_incoming(const struct dp_records *, const char *class,
                        struct json_object *record, const char *uuid);
static void add_other_hosts(struct dp_records *, struct json_object *hosts);
static bool any_field_in(struct json_object *fields, const char *const *set);
static bool any_field_outside(struct json_object *fields,
                              const char *const *set);

void
dp_records_init(struct dp_records *r, struct store *store, const char *host)
{
    memset(r, 0, sizeof *r);
    r->store = store;
    r->host = xstrdup(host);
    r->all = json_object_new_object();
    for (size_t i = 0; dp_records_classes[i]; i++) {
        json_object_object_add(r->all, dp_records_classes[i],
                               json_object_new_object());
    }
    r->vm_vifs = json_object_new_object();
    r->vifs = json_object_new_object();
    r->incoming = json_object_new_object();
}

void
dp_records_destroy(struct dp_records *r)
{
    json_object_put(r->all);
    json_object_put(r->vm_vifs);
    json_object_put(r->vifs);
    json_object_put(r->incoming);
    free(r->host);
}

void
dp_records_reload(struct dp_records *r)
{
    json_object_put(r->all);
    json_object_put(r->vm_vifs);
    r->all = json_object_new_object();
    r->vm_vifs = json_object_new_object();
    for (size_t i = 0; dp_records_classes[i]; i++) {
        const char *name = dp_records_classes[i];
        const struct store_class *class = store_class_find(name, false);
        struct json_object *rows =
            store_get_owned_stored(r->store, name, r->host, true);
        json_object_object_foreach (rows, uuid, record) {
            strip(class, record);
            if (!strcmp(name, "VIF")) {
                index_vif(r, uuid, record, true);
            }
        }
        if (!strcmp(name, "host")) {
            add_other_hosts(r, rows);
        }
        json_object_object_add(r->all, name, rows);
    }
    json_object_object_foreach (r->incoming, vm, value) {
        (void) value;
        if (!json_object_object_get_ex(json_object_object_get(r->all, "VM"),
                                       vm, NULL)) {
            add_incoming(r, vm);
        }
    }
    dp_records_clear_tracked(r);
}

void
dp_records_set_incoming(struct dp_records *r, const char *vm, bool incoming)
{
    if (incoming) {
        json_object_object_add(r->incoming, vm, NULL);
        add_incoming(r, vm);
        return;
    }
    if (!json_object_object_get_ex(r->incoming, vm, NULL)) {
        return;
    }
    json_object_object_del(r->incoming, vm);
    char *owner = store_owner(r->store, "VM", vm);
    if (!owner || strcmp(owner, r->host)) {
        /* It stays (or went) elsewhere: its rows leave this host. */
        track_vm(r, vm);
        struct json_object *set = json_object_object_get(r->vm_vifs, vm);
        struct json_object *vifs = json_object_new_array();
        if (set) {
            /* Copied first: dropping a row takes it out of 'set'. */
            json_object_object_foreach (set, vif, value) {
                (void) value;
                json_object_array_add(vifs, json_object_new_string(vif));
            }
        }
        for (size_t i = 0; i < json_object_array_length(vifs); i++) {
            drop_row(
                r, "VIF",
                json_object_get_string(json_object_array_get_idx(vifs, i)));
        }
        json_object_put(vifs);
        drop_row(r, "VM", vm);
    }
    free(owner);
}

void
dp_records_feed_hosts(struct dp_records *r, const struct store_change *changes,
                      size_t n)
{
    struct json_object *hosts = json_object_object_get(r->all, "host");

    for (size_t i = 0; i < n; i++) {
        const struct store_change *c = &changes[i];
        if (strcmp(c->class->name, "host") || !strcmp(c->uuid, r->host)
            || c->observed) {
            continue;
        }
        if (c->op == STORE_OP_DEL) {
            r->infra |= json_object_object_get_ex(hosts, c->uuid, NULL);
            json_object_object_del(hosts, c->uuid);
        } else if (!json_object_object_get_ex(hosts, c->uuid, NULL)) {
            json_object_object_add(hosts, c->uuid, json_object_new_object());
            r->infra = true;
        }
    }
}

void
dp_records_feed(struct dp_records *r, const struct store_change *changes,
                size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct store_change *c = &changes[i];
        const char *name = c->class->name;
        struct json_object *rows = json_object_object_get(r->all, name);
        struct json_object *have = json_object_object_get(rows, c->uuid);
        bool vif = !strcmp(name, "VIF");
        bool vm = !strcmp(name, "VM");
        bool here = c->op != STORE_OP_DEL
                    && (!c->class->owner_field || !*c->new_owner
                        || !strcmp(c->new_owner, r->host));

        if (!rows || (!strcmp(name, "host") && strcmp(c->uuid, r->host))) {
            /* Other hosts are dp_records_feed_hosts()'s. */
            continue;
        }
        if (!here && c->op != STORE_OP_DEL
            && is_incoming(r, name, have, c->uuid)) {
            /* Still another host's, but migrating here: kept as it is
             * until the migration ends (dp_records_set_incoming()). */
            continue;
        }
        if (!here) {
            /* Gone, or now another host's. */
            if (have) {
                drop_row(r, name, c->uuid);
            } else {
                continue;
            }
        } else if (!have || (!c->observed && c->op == STORE_OP_ADD)) {
            struct json_object *record;
            if (c->op == STORE_OP_ADD && !c->observed && c->new) {
                /* New: its desired part, nothing observed yet. */
                record = store_default_record(c->class);
                json_object_object_foreach (c->new, key, value) {
                    struct json_object *copy = NULL;
                    json_object_deep_copy(value, &copy, NULL);
                    json_object_object_add(record, key, copy);
                }
                strip(c->class, record);
            } else {
                /* Come from another host, or first heard of by an
                 * observation: read it whole. */
                record = load(r, name, c->uuid);
            }
            if (!record) {
                continue;
            }
            put_row(r, name, c->uuid, record);
        } else {
            /* One side of the row, replaced whole. */
            json_object_object_foreach (c->new, key, value) {
                if (strcmp(key, "uuid")) {
                    struct json_object *copy = NULL;
                    json_object_deep_copy(value, &copy, NULL);
                    json_object_object_add(have, key, copy);
                }
            }
            strip(c->class, have);
            bool moved = strcmp(c->old_owner, c->new_owner);
            if (vif) {
                json_object_object_add(r->vifs, c->uuid, NULL);
            } else if (vm) {
                if (moved || any_field_in(c->fields, vm_loud)) {
                    track_vm(r, c->uuid);
                }
            } else if (!strcmp(name, "host")) {
                r->infra |= any_field_outside(c->fields, host_quiet);
            } else if (!strcmp(name, "network")) {
                r->infra |= any_field_outside(c->fields, network_quiet);
            } else {
                r->infra |= moved || json_object_array_length(c->fields);
            }
            continue;
        }

        /* A row came or went. */
        if (vif) {
            json_object_object_add(r->vifs, c->uuid, NULL);
        } else if (vm) {
            track_vm(r, c->uuid);
        } else if (strcmp(name, "network") || c->op == STORE_OP_DEL) {
            /* A new network changes nothing until a PIF or VIF uses it,
             * and that change says so. */
            r->infra = true;
        }
    }
}

bool
dp_records_changed(const struct dp_records *r)
{
    return r->infra || json_object_object_length(r->vifs);
}

void
dp_records_clear_tracked(struct dp_records *r)
{
    json_object_put(r->vifs);
    r->vifs = json_object_new_object();
    r->infra = false;
}

struct json_object *
dp_records_vif_view(const struct dp_records *r, const char *vif)
{
    struct json_object *vifs = json_object_object_get(r->all, "VIF");
    struct json_object *record = json_object_object_get(vifs, vif);

    if (!record) {
        return NULL;
    }
    struct json_object *view = json_object_new_object();
    json_object_object_foreach (r->all, class, rows) {
        if (strcmp(class, "VIF") && strcmp(class, "VM")) {
            json_object_object_add(view, class, json_object_get(rows));
        }
    }
    struct json_object *one = json_object_new_object();
    json_object_object_add(one, vif, json_object_get(record));
    json_object_object_add(view, "VIF", one);

    const char *vm = record_string(record, "VM");
    struct json_object *vm_record =
        json_object_object_get(json_object_object_get(r->all, "VM"), vm);
    struct json_object *vms = json_object_new_object();
    if (vm_record) {
        json_object_object_add(vms, vm, json_object_get(vm_record));
    }
    json_object_object_add(view, "VM", vms);
    return view;
}

/* Helpers. */

/* Reads object 'uuid' of 'class' whole, or NULL. */
static struct json_object *
load(struct dp_records *r, const char *class, const char *uuid)
{
    struct json_object *record = store_get(r->store, class, uuid);

    if (record) {
        strip(store_class_find(class, false), record);
    }
    return record;
}

/* Takes the fields a full load and the feed do not both have (derived
 * fields, "uuid") off 'record'. */
static void
strip(const struct store_class *class, struct json_object *record)
{
    json_object_object_del(record, "uuid");
    for (size_t i = 0; class && i < class->n_fields; i++) {
        if (class->fields[i].flags & FIELD_DERIVED) {
            json_object_object_del(record, class->fields[i].name);
        }
    }
}

/* Stores 'record' (taken) as object 'uuid' of 'class'. */
static void
put_row(struct dp_records *r, const char *class, const char *uuid,
        struct json_object *record)
{
    struct json_object *rows = json_object_object_get(r->all, class);

    if (!strcmp(class, "VIF")) {
        index_vif(r, uuid, json_object_object_get(rows, uuid), false);
        index_vif(r, uuid, record, true);
    }
    json_object_object_add(rows, uuid, record);
}

static void
drop_row(struct dp_records *r, const char *class, const char *uuid)
{
    struct json_object *rows = json_object_object_get(r->all, class);

    if (!strcmp(class, "VIF")) {
        index_vif(r, uuid, json_object_object_get(rows, uuid), false);
    }
    json_object_object_del(rows, uuid);
}

/* Adds VIF 'vif' (record 'record') to its VM's entry of 'r->vm_vifs', or
 * takes it off ('add' false). */
static void
index_vif(struct dp_records *r, const char *vif, struct json_object *record,
          bool add)
{
    const char *vm = record_string(record, "VM");
    struct json_object *set;

    if (!record || !*vm) {
        return;
    }
    set = json_object_object_get(r->vm_vifs, vm);
    if (add) {
        if (!set) {
            set = json_object_new_object();
            json_object_object_add(r->vm_vifs, vm, set);
        }
        json_object_object_add(set, vif, NULL);
    } else if (set) {
        json_object_object_del(set, vif);
        if (!json_object_object_length(set)) {
            json_object_object_del(r->vm_vifs, vm);
        }
    }
}

/* Tracks every VIF of VM 'vm'. */
static void
track_vm(struct dp_records *r, const char *vm)
{
    struct json_object *vifs = json_object_object_get(r->vm_vifs, vm);

    if (vifs) {
        json_object_object_foreach (vifs, vif, value) {
            (void) value;
            json_object_object_add(r->vifs, vif, NULL);
        }
    }
}

/* Reads VM 'vm' and its VIFs from the store into 'r' as if 'vm' were
 * resident on this host, and tracks its VIFs. */
static void
add_incoming(struct dp_records *r, const char *vm)
{
    struct json_object *record = load(r, "VM", vm);

    if (!record) {
        return;
    }
    json_object_object_add(record, "resident_on",
                           json_object_new_string(r->host));
    put_row(r, "VM", vm, record);

    struct json_object *key = json_object_new_string(vm);
    struct json_object *vifs = store_find(r->store, "VIF", "VM", key);
    json_object_put(key);
    for (size_t i = 0; i < json_object_array_length(vifs); i++) {
        const char *vif =
            json_object_get_string(json_object_array_get_idx(vifs, i));
        struct json_object *vif_record = load(r, "VIF", vif);
        if (vif_record) {
            put_row(r, "VIF", vif, vif_record);
        }
    }
    json_object_put(vifs);
    track_vm(r, vm);
}

/* Returns true if row 'uuid' of 'class' (its copy here 'record') is an
 * incoming VM or one of its VIFs. */
static bool
is_incoming(const struct dp_records *r, const char *class,
            struct json_object *record, const char *uuid)
{
    if (!strcmp(class, "VM")) {
        return json_object_object_get_ex(r->incoming, uuid, NULL);
    }
    return !strcmp(class, "VIF") && record
           && json_object_object_get_ex(r->incoming,
                                        record_string(record, "VM"), NULL);
}

/* Adds to 'hosts' (this host's rows) every other host of the store as an
 * empty record. */
static void
add_other_hosts(struct dp_records *r, struct json_object *hosts)
{
    struct json_object *all = store_get_all(r->store, "host");

    json_object_object_foreach (all, uuid, record) {
        (void) record;
        if (!json_object_object_get_ex(hosts, uuid, NULL)) {
            json_object_object_add(hosts, uuid, json_object_new_object());
        }
    }
    json_object_put(all);
}

/* Returns true if the array of field names 'fields' holds one of 'set'. */
static bool
any_field_in(struct json_object *fields, const char *const *set)
{
    for (size_t i = 0; i < json_object_array_length(fields); i++) {
        const char *f =
            json_object_get_string(json_object_array_get_idx(fields, i));
        for (size_t j = 0; set[j]; j++) {
            if (!strcmp(f, set[j])) {
                return true;
            }
        }
    }
    return false;
}

/* Returns true if 'fields' holds a name that is not in 'set'. */
static bool
any_field_outside(struct json_object *fields, const char *const *set)
{
    for (size_t i = 0; i < json_object_array_length(fields); i++) {
        const char *f =
            json_object_get_string(json_object_array_get_idx(fields, i));
        bool found = false;
        for (size_t j = 0; set[j] && !found; j++) {
            found = !strcmp(f, set[j]);
        }
        if (!found) {
            return true;
        }
    }
    return false;
}
