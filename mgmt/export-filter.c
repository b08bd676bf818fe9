/*
 * What the exporters may show.  /metrics and SNMP have no login: their
 * reader is whoever reaches the port or the snmpd view, so they show no
 * more than a read-only session could read (never a secret class), only
 * objects of the host that serves them (a pool's other hosts export their
 * own), and nothing an administrator marked other_config:netpool-hidden.
 */
#include "mgmt/mgmt.h"

#include <string.h>
#include <json-c/json.h>

static const char *field(struct json_object *record, const char *name);
static void
keep_if(struct json_object *records, const char *host, const char *class,
        bool (*visible)(struct json_object *records, const char *uuid,
                        struct json_object *record, const char *host));
static bool host_visible(struct json_object *, const char *uuid,
                         struct json_object *, const char *host);
static bool pif_visible(struct json_object *, const char *uuid,
                        struct json_object *, const char *host);
static bool vm_visible(struct json_object *, const char *uuid,
                       struct json_object *, const char *host);
static bool vif_visible(struct json_object *, const char *uuid,
                        struct json_object *, const char *host);
static bool bond_visible(struct json_object *, const char *uuid,
                         struct json_object *, const char *host);
static bool vlan_visible(struct json_object *, const char *uuid,
                         struct json_object *, const char *host);
static bool other_visible(struct json_object *, const char *uuid,
                          struct json_object *, const char *host);

void
export_filter_records(struct json_object *records, const char *host)
{
    /* Order matters: VIFs follow their VM, bonds and VLANs their PIFs. */
    keep_if(records, host, "host", host_visible);
    keep_if(records, host, "PIF", pif_visible);
    keep_if(records, host, "VM", vm_visible);
    keep_if(records, host, "VIF", vif_visible);
    keep_if(records, host, "bond", bond_visible);
    keep_if(records, host, "VLAN", vlan_visible);
    keep_if(records, host, "network", other_visible);
}

/* Removes from the class 'class' of 'records' each record that 'visible'
 * refuses, and each one marked hidden. */
static void
keep_if(struct json_object *records, const char *host, const char *class,
        bool (*visible)(struct json_object *records, const char *uuid,
                        struct json_object *record, const char *host))
{
    struct json_object *objects = json_object_object_get(records, class);
    if (!objects) {
        return;
    }
    struct json_object *gone = json_object_new_array();

    json_object_object_foreach (objects, uuid, record) {
        if (export_hidden(record) || !visible(records, uuid, record, host)) {
            json_object_array_add(gone, json_object_new_string(uuid));
        }
    }
    for (size_t i = 0; i < json_object_array_length(gone); i++) {
        json_object_object_del(
            objects,
            json_object_get_string(json_object_array_get_idx(gone, i)));
    }
    json_object_put(gone);
}

static bool
host_visible(struct json_object *records, const char *uuid,
             struct json_object *record, const char *host)
{
    return !strcmp(uuid, host);
}

static bool
pif_visible(struct json_object *records, const char *uuid,
            struct json_object *record, const char *host)
{
    return !strcmp(field(record, "host"), host);
}

/* A VM resident here; one resident nowhere (halted) belongs to the pool,
 * whose master exports it. */
static bool
vm_visible(struct json_object *records, const char *uuid,
           struct json_object *record, const char *host)
{
    const char *resident = field(record, "resident_on");

    if (*resident) {
        return !strcmp(resident, host);
    }
    struct json_object *pools = json_object_object_get(records, "pool");
    if (!pools) {
        return true;
    }
    json_object_object_foreach (pools, pool_uuid, pool) {
        (void) pool_uuid;
        const char *master = field(pool, "master");
        return !*master || !strcmp(master, host);
    }
    return true;
}

static bool
vif_visible(struct json_object *records, const char *uuid,
            struct json_object *record, const char *host)
{
    return json_object_object_get_ex(json_object_object_get(records, "VM"),
                                     field(record, "VM"), NULL);
}

static bool
bond_visible(struct json_object *records, const char *uuid,
             struct json_object *record, const char *host)
{
    return json_object_object_get_ex(json_object_object_get(records, "PIF"),
                                     field(record, "master"), NULL);
}

static bool
vlan_visible(struct json_object *records, const char *uuid,
             struct json_object *record, const char *host)
{
    return json_object_object_get_ex(json_object_object_get(records, "PIF"),
                                     field(record, "untagged_PIF"), NULL);
}

static bool
other_visible(struct json_object *records, const char *uuid,
              struct json_object *record, const char *host)
{
    return true;
}

bool
export_visible(struct json_object *records, const char *class,
               const char *uuid, struct json_object *record, const char *host)
{
    struct json_object *pifs = json_object_object_get(records, "PIF");
    const char *ref;

    if (export_hidden(record)) {
        return false;
    }
    if (!strcmp(class, "host")) {
        return host_visible(records, uuid, record, host);
    } else if (!strcmp(class, "PIF")) {
        return pif_visible(records, uuid, record, host);
    } else if (!strcmp(class, "VM")) {
        return vm_visible(records, uuid, record, host);
    } else if (!strcmp(class, "VIF")) {
        ref = field(record, "VM");
        struct json_object *vm =
            json_object_object_get(json_object_object_get(records, "VM"), ref);
        return vm && export_visible(records, "VM", ref, vm, host);
    } else if (!strcmp(class, "bond") || !strcmp(class, "VLAN")) {
        ref = field(record, strcmp(class, "bond") ? "untagged_PIF" : "master");
        struct json_object *pif = json_object_object_get(pifs, ref);
        return pif && export_visible(records, "PIF", ref, pif, host);
    }
    return other_visible(records, uuid, record, host);
}

bool
export_hidden(struct json_object *record)
{
    struct json_object *other = json_object_object_get(record, "other_config");
    return !strcmp(field(other, EXPORT_HIDDEN_KEY), "true");
}

static const char *
field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
                   && json_object_is_type(value, json_type_string)
               ? json_object_get_string(value)
               : "";
}
