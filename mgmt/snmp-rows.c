/*
 * The SNMP view: IF-MIB, IEEE8023-LAG-MIB and NETPOOL-MIB instances built
 * from the store's records, what OVS reports (link state, MTU, counters)
 * and what ovs-vswitchd says of LACP; and which messages have a
 * NETPOOL-MIB notification.  Pure: the subagent (snmp.c) hands it
 * everything, so unit tests build views from records they make.
 */
#include "mgmt/snmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/xalloc.h"

/* Subtrees, each {length, sub-identifiers…}.  The IF-MIB ones are the
 * very subtrees snmpd registers for the kernel's interfaces: AgentX lets
 * the most specific registration win and priority decide between equal
 * ones, so netpool's rows take their place. */
static const uint32_t if_number_root[] = {8, 1, 3, 6, 1, 2, 1, 2, 1};
static const uint32_t if_table_root[] = {8, 1, 3, 6, 1, 2, 1, 2, 2};
static const uint32_t ifx_table_root[] = {9, 1, 3, 6, 1, 2, 1, 31, 1, 1};
static const uint32_t if_stack_root[] = {9, 1, 3, 6, 1, 2, 1, 31, 1, 2};
static const uint32_t table_change_root[] = {9, 1, 3, 6, 1, 2, 1, 31, 1, 5};
static const uint32_t stack_change_root[] = {9, 1, 3, 6, 1, 2, 1, 31, 1, 6};
static const uint32_t lag_root[] = {7, 1, 2, 840, 10006, 300, 43, 1};
static const uint32_t netpool_root[] = {7, 1, 3, 6,
                                        1, 4, 1, SNMP_NETPOOL_ENTERPRISE};

const uint32_t *const snmp_registered_roots[] = {
    if_number_root, if_table_root,     ifx_table_root,
    if_stack_root,  table_change_root, stack_change_root,
    lag_root,       netpool_root,      NULL,
};

/* Kinds of interface, in the order their first indexes are given. */
static const char *const kinds[] = {"pif", "bond", "vlan", "vif"};

/* An interface found in the records, before it has an index. */
struct candidate {
    int kind;                 /* Index into kinds[]. */
    const char *uuid;         /* PIF or VIF UUID. */
    const char *name;         /* ifName. */
    struct json_object *pif;  /* PIF record (NULL for a VIF). */
    struct json_object *vif;  /* VIF record (NULL for a PIF). */
    struct json_object *bond; /* Bond record of a bond master. */
    struct json_object *vlan; /* VLAN record of a VLAN PIF. */
};

static void add_value(struct snmp_view *, const uint32_t *root, size_t len,
                      const uint32_t *index, size_t n_index,
                      enum snmp_type type, uint64_t number);
static void add_octets(struct snmp_view *, const uint32_t *root, size_t len,
                       const uint32_t *index, size_t n_index,
                       const void *octets, size_t size);
static void add_string(struct snmp_view *, const uint32_t *root, size_t len,
                       const uint32_t *index, size_t n_index,
                       const char *text);
static void interface_objects(struct snmp_view *,
                              const struct snmp_interface *, size_t n,
                              const struct snmp_sources *);
static void stack_objects(struct snmp_view *, const struct snmp_interface *,
                          size_t n, const struct snmp_sources *);
static void lag_objects(struct snmp_view *, const struct snmp_interface *,
                        size_t n, const struct snmp_sources *);
static void netpool_objects(struct snmp_view *, const struct snmp_interface *,
                            size_t n, const struct snmp_sources *);
static const struct snmp_interface *
find_interface(const struct snmp_interface *, size_t n, const char *uuid);
static void fill_stats(struct snmp_interface *, struct json_object *iface);
static const char *field(struct json_object *record, const char *name);
static int64_t int_field(struct json_object *record, const char *name);
static bool bool_field(struct json_object *record, const char *name);
static bool parse_mac(const char *text, uint8_t mac[6]);
static int compare_candidates(const void *a, const void *b);
static int compare_interfaces(const void *a, const void *b);
static struct json_object *class_of(const struct snmp_sources *,
                                    const char *name);
static struct json_object *object_or_empty(struct json_object *object);

struct snmp_interface *
snmp_interfaces_build(const struct snmp_sources *src, size_t *np)
{
    struct json_object *pifs = class_of(src, "PIF");
    struct json_object *bonds = class_of(src, "bond");
    struct json_object *vlans = class_of(src, "VLAN");
    struct json_object *vifs = class_of(src, "VIF");
    struct json_object *networks = class_of(src, "network");
    struct json_object *ifaces =
        object_or_empty(json_object_object_get(src->observed, "interfaces"));
    size_t n_pifs = json_object_object_length(pifs);
    size_t n_vifs = json_object_object_length(vifs);
    struct candidate *cands = xzalloc(sizeof *cands * (n_pifs + n_vifs + 1));
    size_t n = 0;

    json_object_object_foreach (pifs, pif_uuid, pif) {
        if (strcmp(field(pif, "host"), src->host)) {
            continue;
        }
        struct candidate *c = &cands[n];
        c->uuid = pif_uuid;
        c->pif = pif;
        c->name = field(pif, "device");
        json_object_object_foreach (bonds, bond_uuid, bond) {
            (void) bond_uuid;
            if (!strcmp(field(bond, "master"), pif_uuid)) {
                c->bond = bond;
            }
        }
        json_object_object_foreach (vlans, vlan_uuid, vlan) {
            (void) vlan_uuid;
            if (!strcmp(field(vlan, "untagged_PIF"), pif_uuid)) {
                c->vlan = vlan;
            }
        }
        if (c->bond) {
            c->kind = 1;
        } else if (c->vlan || int_field(pif, "VLAN") >= 0) {
            /* A VLAN PIF shares its parent's device; its own interface
             * is the fake bridge, named after its network's bridge. */
            c->kind = 2;
            struct json_object *net =
                json_object_object_get(networks, field(pif, "network"));
            c->name = field(net, "bridge");
        } else if (bool_field(pif, "physical")) {
            c->kind = 0;
        } else {
            continue;
        }
        if (*c->name) {
            n++;
        }
    }
    json_object_object_foreach (ifaces, iface_name, iface) {
        const char *vif_uuid =
            field(json_object_object_get(iface, "external_ids"), "iface-id");
        struct json_object *vif = json_object_object_get(vifs, vif_uuid);
        if (vif && n < n_pifs + n_vifs) {
            cands[n++] = (struct candidate){
                .kind = 3, .uuid = vif_uuid, .name = iface_name, .vif = vif};
        }
    }
    qsort(cands, n, sizeof *cands, compare_candidates);

    struct snmp_interface *rows = xzalloc(sizeof *rows * (n ? n : 1));
    size_t n_rows = 0;
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        struct candidate *c = &cands[i];
        struct snmp_interface *r = &rows[n_rows];
        char key[64];
        snprintf(key, sizeof key, "%s:%s", c->vif ? "vif" : "pif", c->uuid);
        r->index = snmp_index_assign(src->indexes, "if", key, &changed);
        if (!r->index) {
            continue;
        }
        n_rows++;
        r->kind = kinds[c->kind];
        r->uuid = c->uuid;
        snprintf(r->name, sizeof r->name, "%s", c->name);
        struct json_object *record = c->pif ? c->pif : c->vif;
        struct json_object *net =
            json_object_object_get(networks, field(record, "network"));
        r->alias = field(net, "name_label");
        r->has_mac = parse_mac(field(record, "MAC"), r->mac);
        r->mtu = int_field(net, "MTU");
        r->admin = bool_field(record, "currently_attached") || c->vif ? 1 : 2;
        r->oper = 2;
        r->connector = c->kind == 0;
        r->traps = c->kind == 0;
        r->type = c->kind == 1 ? 161 : c->kind == 2 ? 135 : 6;

        struct json_object *iface = json_object_object_get(ifaces, c->name);
        if (iface && c->kind != 1) {
            if (!strcmp(field(iface, "link_state"), "up")) {
                r->oper = 1;
            }
            if (int_field(iface, "mtu") > 0) {
                r->mtu = int_field(iface, "mtu");
            }
            fill_stats(r, iface);
        }
        switch (c->kind) {
        case 0:
            snprintf(r->descr, sizeof r->descr, "%s", c->name);
            r->speed = (uint64_t) int_field(c->pif, "speed");
            break;
        case 1: {
            /* A bond: OVS has a port but no interface for it; its
             * counters are its members'. */
            const char *bond_uuid = NULL;
            json_object_object_foreach (bonds, b_uuid, b) {
                if (b == c->bond) {
                    bond_uuid = b_uuid;
                }
            }
            int up = 0;
            json_object_object_foreach (pifs, m_uuid, m) {
                (void) m_uuid;
                if (!bond_uuid
                    || strcmp(field(m, "bond_slave_of"), bond_uuid)) {
                    continue;
                }
                struct json_object *mi =
                    json_object_object_get(ifaces, field(m, "device"));
                struct snmp_interface member = {0};
                fill_stats(&member, mi);
                for (size_t k = 0; k < 12; k++) {
                    r->stats[k] += member.stats[k];
                }
                if (!strcmp(field(mi, "link_state"), "up")) {
                    up++;
                    r->speed += (uint64_t) int_field(m, "speed");
                }
            }
            int links_up = (int) int_field(c->bond, "links_up");
            r->oper = r->admin == 1 && (links_up > 0 || up > 0) ? 1 : 2;
            snprintf(r->descr, sizeof r->descr, "%s (%s bond)", c->name,
                     field(c->bond, "mode"));
            break;
        }
        case 2: {
            struct json_object *parent =
                json_object_object_get(pifs, field(c->vlan, "tagged_PIF"));
            snprintf(r->descr, sizeof r->descr, "%s.%lld",
                     field(parent, "device"),
                     (long long) int_field(c->pif, "VLAN"));
            r->speed = (uint64_t) int_field(parent, "speed");
            break;
        }
        default:
            snprintf(r->descr, sizeof r->descr, "%s", c->name);
            break;
        }
    }
    free(cands);

    /* A VLAN whose parent is down is down below. */
    for (size_t i = 0; i < n_rows; i++) {
        if (strcmp(rows[i].kind, "vlan")) {
            continue;
        }
        json_object_object_foreach (vlans, vlan_uuid, vlan) {
            (void) vlan_uuid;
            if (strcmp(field(vlan, "untagged_PIF"), rows[i].uuid)) {
                continue;
            }
            const struct snmp_interface *parent =
                find_interface(rows, n_rows, field(vlan, "tagged_PIF"));
            if (parent && parent->oper != 1 && rows[i].admin == 1) {
                rows[i].oper = 7;
            }
        }
    }
    qsort(rows, n_rows, sizeof *rows, compare_interfaces);
    *np = n_rows;
    return rows;
}

void
snmp_view_build(struct snmp_view *view, const struct snmp_sources *src)
{
    size_t n;
    struct snmp_interface *rows = snmp_interfaces_build(src, &n);

    interface_objects(view, rows, n, src);
    stack_objects(view, rows, n, src);
    lag_objects(view, rows, n, src);
    netpool_objects(view, rows, n, src);
    snmp_view_finish(view);
    free(rows);
}

const struct snmp_message_note *
snmp_message_note(const char *name)
{
    static const struct snmp_message_note notes[] = {
        {"MTU_MISMATCH", 2, "network", "name_label"},
        {"VM_CRASHED", 3, "VM", "name_label"},
        {"MANAGEMENT_RECONFIGURE_ROLLED_BACK", 4, "PIF", "device"},
        {"HA_VM_RESTARTED", 5, "VM", "name_label"},
        {"HA_VM_UNPLACEABLE", 6, "VM", "name_label"},
    };

    for (size_t i = 0; i < sizeof notes / sizeof *notes; i++) {
        if (!strcmp(name, notes[i].message)) {
            return &notes[i];
        }
    }
    return NULL;
}

bool
snmp_message_is_ours(struct json_object *message, const char *host)
{
    struct json_object *raised_on;

    if (!json_object_object_get_ex(message, "raised_on", &raised_on)
        || !json_object_is_type(raised_on, json_type_string)
        || !json_object_get_string_len(raised_on)) {
        return true;
    }
    return !strcmp(json_object_get_string(raised_on), host);
}

/* IF-MIB: ifNumber, ifTable, ifXTable, ifTableLastChange. */
static void
interface_objects(struct snmp_view *view, const struct snmp_interface *rows,
                  size_t n, const struct snmp_sources *src)
{
    static const uint32_t if_number[] = {1, 3, 6, 1, 2, 1, 2, 1, 0};
    static const uint32_t if_entry[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 0};
    static const uint32_t ifx_entry[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 0};
    static const uint32_t table_change[] = {1, 3, 6, 1, 2, 1, 31, 1, 5, 0};
    uint32_t col[16];

    add_value(view, if_number, 9, NULL, 0, SNMP_T_INTEGER, n);
    add_value(view, table_change, 10, NULL, 0, SNMP_T_TIMETICKS,
              src->table_changed);
    for (size_t i = 0; i < n; i++) {
        const struct snmp_interface *r = &rows[i];
        const uint64_t *s = r->stats;
        uint32_t idx = r->index;
        char key[16];
        snprintf(key, sizeof key, "%u", (unsigned int) idx);
        uint64_t last_change =
            json_object_get_int64(json_object_object_get(src->changes, key));
        uint64_t speed_bps = r->speed * 1000000;

        memcpy(col, if_entry, sizeof if_entry);
#define IF(C, TYPE, VALUE) \
    (col[9] = (C), add_value(view, col, 10, &idx, 1, TYPE, VALUE))
        IF(1, SNMP_T_INTEGER, idx);
        col[9] = 2;
        add_string(view, col, 10, &idx, 1, r->descr);
        IF(3, SNMP_T_INTEGER, r->type);
        IF(4, SNMP_T_INTEGER, r->mtu);
        IF(5, SNMP_T_GAUGE32,
           speed_bps > 4294967295ULL ? 4294967295ULL : speed_bps);
        col[9] = 6;
        add_octets(view, col, 10, &idx, 1, r->mac, r->has_mac ? 6 : 0);
        IF(7, SNMP_T_INTEGER, r->admin);
        IF(8, SNMP_T_INTEGER, r->oper);
        IF(9, SNMP_T_TIMETICKS, last_change);
        IF(10, SNMP_T_COUNTER32, s[SNMP_STAT_IN_OCTETS] & 0xffffffff);
        IF(11, SNMP_T_COUNTER32, s[SNMP_STAT_IN_UCAST] & 0xffffffff);
        IF(12, SNMP_T_COUNTER32,
           (s[SNMP_STAT_IN_MCAST] + s[SNMP_STAT_IN_BCAST]) & 0xffffffff);
        IF(13, SNMP_T_COUNTER32, s[SNMP_STAT_IN_DISCARDS] & 0xffffffff);
        IF(14, SNMP_T_COUNTER32, s[SNMP_STAT_IN_ERRORS] & 0xffffffff);
        IF(15, SNMP_T_COUNTER32, 0);
        IF(16, SNMP_T_COUNTER32, s[SNMP_STAT_OUT_OCTETS] & 0xffffffff);
        IF(17, SNMP_T_COUNTER32, s[SNMP_STAT_OUT_UCAST] & 0xffffffff);
        IF(18, SNMP_T_COUNTER32,
           (s[SNMP_STAT_OUT_MCAST] + s[SNMP_STAT_OUT_BCAST]) & 0xffffffff);
        IF(19, SNMP_T_COUNTER32, s[SNMP_STAT_OUT_DISCARDS] & 0xffffffff);
        IF(20, SNMP_T_COUNTER32, s[SNMP_STAT_OUT_ERRORS] & 0xffffffff);
        IF(21, SNMP_T_GAUGE32, 0);
        col[9] = 22;
        snmp_view_add(view, col, 10, &idx, 1, SNMP_T_OID, 0, "0.0", 3);
#undef IF

        memcpy(col, ifx_entry, sizeof ifx_entry);
#define IFX(C, TYPE, VALUE) \
    (col[10] = (C), add_value(view, col, 11, &idx, 1, TYPE, VALUE))
        col[10] = 1;
        add_string(view, col, 11, &idx, 1, r->name);
        IFX(2, SNMP_T_COUNTER32, s[SNMP_STAT_IN_MCAST] & 0xffffffff);
        IFX(3, SNMP_T_COUNTER32, s[SNMP_STAT_IN_BCAST] & 0xffffffff);
        IFX(4, SNMP_T_COUNTER32, s[SNMP_STAT_OUT_MCAST] & 0xffffffff);
        IFX(5, SNMP_T_COUNTER32, s[SNMP_STAT_OUT_BCAST] & 0xffffffff);
        IFX(6, SNMP_T_COUNTER64, s[SNMP_STAT_IN_OCTETS]);
        IFX(7, SNMP_T_COUNTER64, s[SNMP_STAT_IN_UCAST]);
        IFX(8, SNMP_T_COUNTER64, s[SNMP_STAT_IN_MCAST]);
        IFX(9, SNMP_T_COUNTER64, s[SNMP_STAT_IN_BCAST]);
        IFX(10, SNMP_T_COUNTER64, s[SNMP_STAT_OUT_OCTETS]);
        IFX(11, SNMP_T_COUNTER64, s[SNMP_STAT_OUT_UCAST]);
        IFX(12, SNMP_T_COUNTER64, s[SNMP_STAT_OUT_MCAST]);
        IFX(13, SNMP_T_COUNTER64, s[SNMP_STAT_OUT_BCAST]);
        IFX(14, SNMP_T_INTEGER, r->traps ? 1 : 2);
        IFX(15, SNMP_T_GAUGE32, r->speed);
        IFX(16, SNMP_T_INTEGER, 2);
        IFX(17, SNMP_T_INTEGER, r->connector ? 1 : 2);
        col[10] = 18;
        add_string(view, col, 11, &idx, 1, r->alias ? r->alias : "");
        IFX(19, SNMP_T_TIMETICKS, 0);
#undef IFX
    }
}

/* IF-MIB ifStackTable: bond → member, VLAN → parent, and the rows with 0
 * for the top and bottom of each stack (RFC 2863); ifStackLastChange. */
static void
stack_objects(struct snmp_view *view, const struct snmp_interface *rows,
              size_t n, const struct snmp_sources *src)
{
    static const uint32_t status[] = {1, 3, 6, 1, 2, 1, 31, 1, 2, 1, 3};
    static const uint32_t last_change[] = {1, 3, 6, 1, 2, 1, 31, 1, 6, 0};
    struct json_object *pifs = class_of(src, "PIF");
    struct json_object *bonds = class_of(src, "bond");
    struct json_object *vlans = class_of(src, "VLAN");
    bool *has_upper = xzalloc(sizeof *has_upper * (n ? n : 1));
    bool *has_lower = xzalloc(sizeof *has_lower * (n ? n : 1));

    add_value(view, last_change, 10, NULL, 0, SNMP_T_TIMETICKS,
              src->stack_changed);
    for (size_t i = 0; i < n; i++) {
        const struct snmp_interface *upper = &rows[i];
        if (!strcmp(upper->kind, "bond")) {
            const char *bond_uuid = "";
            json_object_object_foreach (bonds, b_uuid, b) {
                if (!strcmp(field(b, "master"), upper->uuid)) {
                    bond_uuid = b_uuid;
                }
            }
            json_object_object_foreach (pifs, m_uuid, m) {
                if (!*bond_uuid
                    || strcmp(field(m, "bond_slave_of"), bond_uuid)) {
                    continue;
                }
                const struct snmp_interface *lower =
                    find_interface(rows, n, m_uuid);
                if (lower) {
                    uint32_t index[2] = {upper->index, lower->index};
                    add_value(view, status, 11, index, 2, SNMP_T_INTEGER, 1);
                    has_lower[i] = true;
                    has_upper[lower - rows] = true;
                }
            }
        } else if (!strcmp(upper->kind, "vlan")) {
            json_object_object_foreach (vlans, v_uuid, v) {
                (void) v_uuid;
                if (strcmp(field(v, "untagged_PIF"), upper->uuid)) {
                    continue;
                }
                const struct snmp_interface *lower =
                    find_interface(rows, n, field(v, "tagged_PIF"));
                if (lower) {
                    uint32_t index[2] = {upper->index, lower->index};
                    add_value(view, status, 11, index, 2, SNMP_T_INTEGER, 1);
                    has_lower[i] = true;
                    has_upper[lower - rows] = true;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!has_upper[i]) {
            uint32_t index[2] = {0, rows[i].index};
            add_value(view, status, 11, index, 2, SNMP_T_INTEGER, 1);
        }
        if (!has_lower[i]) {
            uint32_t index[2] = {rows[i].index, 0};
            add_value(view, status, 11, index, 2, SNMP_T_INTEGER, 1);
        }
    }
    free(has_upper);
    free(has_lower);
}

/* IEEE8023-LAG-MIB for LACP bonds: dot3adAggTable, dot3adAggPortTable,
 * dot3adAggPortStatsTable, dot3adTablesLastChanged.  Actor and partner
 * come from lacp/show; without it, the members' lacp_partner field
 * stands in for the partner and the rest reads 0. */
static void
lag_objects(struct snmp_view *view, const struct snmp_interface *rows,
            size_t n, const struct snmp_sources *src)
{
    static const uint32_t agg[] = {1, 2, 840, 10006, 300, 43, 1, 1, 1, 1, 0};
    static const uint32_t port[] = {1, 2, 840, 10006, 300, 43, 1, 2, 1, 1, 0};
    static const uint32_t stats[] = {1, 2, 840, 10006, 300, 43, 1, 2, 2, 1, 0};
    static const uint32_t last[] = {1, 2, 840, 10006, 300, 43, 1, 4, 0};
    struct json_object *pifs = class_of(src, "PIF");
    struct json_object *bonds = class_of(src, "bond");
    uint32_t col[12];
    uint8_t zero[6] = {0};

    add_value(view, last, 9, NULL, 0, SNMP_T_TIMETICKS, src->stack_changed);
    for (size_t i = 0; i < n; i++) {
        const struct snmp_interface *b = &rows[i];
        if (strcmp(b->kind, "bond")) {
            continue;
        }
        const char *bond_uuid = "";
        struct json_object *bond = NULL;
        json_object_object_foreach (bonds, b_uuid, brec) {
            if (!strcmp(field(brec, "master"), b->uuid)) {
                bond_uuid = b_uuid;
                bond = brec;
            }
        }
        if (!bond || strcmp(field(bond, "mode"), "lacp")) {
            continue;
        }
        struct json_object *lacp = json_object_object_get(src->lacp, b->name);
        struct json_object *members =
            object_or_empty(json_object_object_get(lacp, "members"));
        uint32_t idx = b->index;
        uint8_t sys_id[6], partner_id[6];
        bool fast = !strcmp(field(lacp, "lacp_time"), "fast");
        if (!parse_mac(field(lacp, "sys_id"), sys_id)) {
            memcpy(sys_id, zero, 6);
        }
        /* The aggregate's partner: that of its first attached member. */
        struct json_object *partner = NULL;
        json_object_object_foreach (members, dev, m) {
            (void) dev;
            if (!partner && bool_field(m, "attached")) {
                partner = m;
            }
        }
        if (!parse_mac(field(partner, "partner_sys_id"), partner_id)) {
            /* Without lacp/show, the partner a current member reports. */
            memcpy(partner_id, zero, 6);
            json_object_object_foreach (pifs, p_uuid, p) {
                (void) p_uuid;
                if (!strcmp(field(p, "bond_slave_of"), bond_uuid)
                    && !strcmp(field(p, "lacp_state"), "current")
                    && parse_mac(field(p, "lacp_partner"), partner_id)) {
                    break;
                }
            }
        }

        memcpy(col, agg, sizeof agg);
#define AGG(C, TYPE, VALUE) \
    (col[10] = (C), add_value(view, col, 11, &idx, 1, TYPE, VALUE))
        col[10] = 2;
        add_octets(view, col, 11, &idx, 1, b->mac, b->has_mac ? 6 : 0);
        AGG(3, SNMP_T_INTEGER, int_field(lacp, "sys_priority"));
        col[10] = 4;
        add_octets(view, col, 11, &idx, 1, sys_id, 6);
        AGG(5, SNMP_T_INTEGER, 1);
        AGG(6, SNMP_T_INTEGER, int_field(lacp, "key"));
        AGG(7, SNMP_T_INTEGER, int_field(lacp, "key"));
        col[10] = 8;
        add_octets(view, col, 11, &idx, 1, partner_id, 6);
        AGG(9, SNMP_T_INTEGER, int_field(partner, "partner_sys_priority"));
        AGG(10, SNMP_T_INTEGER, int_field(partner, "partner_key"));
        AGG(11, SNMP_T_INTEGER, 0);
#undef AGG

        json_object_object_foreach (pifs, m_uuid, mrec) {
            if (strcmp(field(mrec, "bond_slave_of"), bond_uuid)) {
                continue;
            }
            const struct snmp_interface *m = find_interface(rows, n, m_uuid);
            if (!m) {
                continue;
            }
            struct json_object *ml =
                json_object_object_get(members, field(mrec, "device"));
            uint32_t midx = m->index;
            uint8_t actor_sys[6], partner_sys[6];
            if (!parse_mac(field(ml, "actor_sys_id"), actor_sys)) {
                memcpy(actor_sys, sys_id, 6);
            }
            if (!parse_mac(field(ml, "partner_sys_id"), partner_sys)
                && !parse_mac(field(mrec, "lacp_partner"), partner_sys)) {
                memcpy(partner_sys, zero, 6);
            }
            uint32_t attached =
                bool_field(ml, "attached")
                        || !strcmp(field(mrec, "lacp_state"), "current")
                    ? idx
                    : 0;
            /* Configured actor state: active LACP, aggregatable, and the
             * short timeout when lacp-time is fast. */
            int admin_state = 1 | 4 | (fast ? 2 : 0);
            /* LacpState is BITS: bit 0 is the first octet's high bit. */
            uint8_t states[4];
            int raw[4] = {admin_state, (int) int_field(ml, "actor_state"), 0,
                          (int) int_field(ml, "partner_state")};
            for (int s = 0; s < 4; s++) {
                states[s] = 0;
                for (int bit = 0; bit < 8; bit++) {
                    if (raw[s] & (1 << bit)) {
                        states[s] |= 0x80 >> bit;
                    }
                }
            }

            memcpy(col, port, sizeof port);
#define PORT(C, TYPE, VALUE) \
    (col[10] = (C), add_value(view, col, 11, &midx, 1, TYPE, VALUE))
#define PORT_OCTETS(C, DATA, SIZE) \
    (col[10] = (C), add_octets(view, col, 11, &midx, 1, DATA, SIZE))
            PORT(2, SNMP_T_INTEGER, int_field(ml, "actor_sys_priority"));
            PORT_OCTETS(3, actor_sys, 6);
            PORT(4, SNMP_T_INTEGER, int_field(ml, "actor_key"));
            PORT(5, SNMP_T_INTEGER, int_field(ml, "actor_key"));
            PORT(6, SNMP_T_INTEGER, 0);
            PORT(7, SNMP_T_INTEGER, int_field(ml, "partner_sys_priority"));
            PORT_OCTETS(8, zero, 6);
            PORT_OCTETS(9, partner_sys, 6);
            PORT(10, SNMP_T_INTEGER, 0);
            PORT(11, SNMP_T_INTEGER, int_field(ml, "partner_key"));
            PORT(12, SNMP_T_INTEGER, attached);
            PORT(13, SNMP_T_INTEGER, attached);
            PORT(14, SNMP_T_INTEGER, int_field(ml, "actor_port_id"));
            PORT(15, SNMP_T_INTEGER, int_field(ml, "actor_port_priority"));
            PORT(16, SNMP_T_INTEGER, 0);
            PORT(17, SNMP_T_INTEGER, int_field(ml, "partner_port_id"));
            PORT(18, SNMP_T_INTEGER, 0);
            PORT(19, SNMP_T_INTEGER, int_field(ml, "partner_port_priority"));
            PORT_OCTETS(20, &states[0], 1);
            PORT_OCTETS(21, &states[1], 1);
            PORT_OCTETS(22, &states[2], 1);
            PORT_OCTETS(23, &states[3], 1);
            PORT(24, SNMP_T_INTEGER, 1);
#undef PORT
#undef PORT_OCTETS

            memcpy(col, stats, sizeof stats);
#define STAT(C, VALUE)                                                   \
    (col[10] = (C), add_value(view, col, 11, &midx, 1, SNMP_T_COUNTER32, \
                              (uint64_t) (VALUE) &0xffffffff))
            STAT(1, int_field(ml, "rx_pdus"));
            STAT(2, int_field(ml, "rx_marker_pdus"));
            STAT(3, 0);
            STAT(4, 0);
            STAT(5, int_field(ml, "rx_bad_pdus"));
            STAT(6, int_field(ml, "tx_pdus"));
            STAT(7, 0);
            STAT(8, 0);
#undef STAT
        }
    }
}

/* NETPOOL-MIB: the host, VM and bond tables. */
static void
netpool_objects(struct snmp_view *view, const struct snmp_interface *rows,
                size_t n, const struct snmp_sources *src)
{
    static const uint32_t host_entry[] = {
        1, 3, 6, 1, 4, 1, SNMP_NETPOOL_ENTERPRISE, 1, 1, 1, 0};
    static const uint32_t vm_entry[] = {
        1, 3, 6, 1, 4, 1, SNMP_NETPOOL_ENTERPRISE, 1, 2, 1, 0};
    static const uint32_t bond_entry[] = {
        1, 3, 6, 1, 4, 1, SNMP_NETPOOL_ENTERPRISE, 1, 3, 1, 0};
    static const char *const power_states[] = {"Halted", "Paused", "Running",
                                               "Suspended"};
    static const char *const modes[] = {"balance-slb", "active-backup",
                                        "lacp"};
    struct json_object *pifs = class_of(src, "PIF");
    struct json_object *bonds = class_of(src, "bond");
    struct json_object *keep = json_object_new_object();
    uint32_t col[12];
    bool changed = false;

    json_object_object_foreach (class_of(src, "host"), h_uuid, host) {
        char key[64];
        snprintf(key, sizeof key, "host:%s", h_uuid);
        json_object_object_add(keep, key, json_object_new_boolean(true));
        uint32_t idx = snmp_index_assign(src->indexes, "host", key, &changed);
        if (!idx) {
            continue;
        }
        memcpy(col, host_entry, sizeof host_entry);
#define HOST_STR(C, TEXT) \
    (col[10] = (C), add_string(view, col, 11, &idx, 1, TEXT))
        HOST_STR(2, h_uuid);
        HOST_STR(3, field(host, "name_label"));
        HOST_STR(4, field(host, "hostname"));
        HOST_STR(5, field(host, "address"));
        col[10] = 6;
        add_value(view, col, 11, &idx, 1, SNMP_T_INTEGER,
                  bool_field(host, "enabled") ? 1 : 2);
        HOST_STR(7, field(json_object_object_get(host, "software_version"),
                          "product_version"));
        col[10] = 8;
        add_value(view, col, 11, &idx, 1, SNMP_T_INTEGER,
                  !strcmp(h_uuid, src->host) ? 1 : 2);
        HOST_STR(9, field(host, "ha_state"));
#undef HOST_STR
    }

    json_object_object_foreach (class_of(src, "VM"), vm_uuid, vm) {
        char key[64];
        snprintf(key, sizeof key, "vm:%s", vm_uuid);
        json_object_object_add(keep, key, json_object_new_boolean(true));
        if (bool_field(vm, "is_a_template")) {
            continue;
        }
        uint32_t idx = snmp_index_assign(src->indexes, "vm", key, &changed);
        if (!idx) {
            continue;
        }
        int state = 0;
        for (int s = 0; s < 4; s++) {
            if (!strcmp(field(vm, "power_state"), power_states[s])) {
                state = s + 1;
            }
        }
        memcpy(col, vm_entry, sizeof vm_entry);
        col[10] = 2;
        add_string(view, col, 11, &idx, 1, vm_uuid);
        col[10] = 3;
        add_string(view, col, 11, &idx, 1, field(vm, "name_label"));
        col[10] = 4;
        add_value(view, col, 11, &idx, 1, SNMP_T_INTEGER, state ? state : 1);
        col[10] = 5;
        add_value(view, col, 11, &idx, 1, SNMP_T_INTEGER,
                  int_field(vm, "VCPUs_max"));
        col[10] = 6;
        add_value(view, col, 11, &idx, 1, SNMP_T_GAUGE32,
                  (uint64_t) int_field(vm, "memory_static_max") >> 20);
        col[10] = 7;
        add_string(view, col, 11, &idx, 1, field(vm, "resident_on"));
        col[10] = 8;
        add_string(view, col, 11, &idx, 1, field(vm, "ha_restart_priority"));
    }

    for (size_t i = 0; i < n; i++) {
        const struct snmp_interface *b = &rows[i];
        if (strcmp(b->kind, "bond")) {
            continue;
        }
        json_object_object_foreach (bonds, b_uuid, bond) {
            if (strcmp(field(bond, "master"), b->uuid)) {
                continue;
            }
            int total = 0;
            json_object_object_foreach (pifs, m_uuid, m) {
                (void) m_uuid;
                total += !strcmp(field(m, "bond_slave_of"), b_uuid);
            }
            int up = (int) int_field(bond, "links_up");
            int mode = 0;
            for (int k = 0; k < 3; k++) {
                if (!strcmp(field(bond, "mode"), modes[k])) {
                    mode = k + 1;
                }
            }
            const struct snmp_interface *active =
                find_interface(rows, n, field(bond, "active_slave"));
            uint32_t idx = b->index;
            memcpy(col, bond_entry, sizeof bond_entry);
            col[10] = 2;
            add_string(view, col, 11, &idx, 1, b_uuid);
            col[10] = 3;
            add_string(view, col, 11, &idx, 1, b->name);
            col[10] = 4;
            add_value(view, col, 11, &idx, 1, SNMP_T_INTEGER, mode ? mode : 1);
            col[10] = 5;
            add_value(view, col, 11, &idx, 1, SNMP_T_GAUGE32, up);
            col[10] = 6;
            add_value(view, col, 11, &idx, 1, SNMP_T_GAUGE32, total);
            col[10] = 7;
            add_value(view, col, 11, &idx, 1, SNMP_T_INTEGER,
                      active ? active->index : 0);
            col[10] = 8;
            add_value(view, col, 11, &idx, 1, SNMP_T_INTEGER,
                      up <= 0      ? 3
                      : up < total ? 2
                                   : 1);
        }
    }

    /* Interfaces keep their indexes while their objects exist. */
    json_object_object_foreach (class_of(src, "PIF"), p_uuid, p) {
        (void) p;
        char key[64];
        snprintf(key, sizeof key, "pif:%s", p_uuid);
        json_object_object_add(keep, key, json_object_new_boolean(true));
    }
    json_object_object_foreach (class_of(src, "VIF"), v_uuid, v) {
        (void) v;
        char key[64];
        snprintf(key, sizeof key, "vif:%s", v_uuid);
        json_object_object_add(keep, key, json_object_new_boolean(true));
    }
    snmp_index_prune(src->indexes, "if", keep);
    snmp_index_prune(src->indexes, "host", keep);
    snmp_index_prune(src->indexes, "vm", keep);
    json_object_put(keep);
}

/* Helpers. */

static void
add_value(struct snmp_view *view, const uint32_t *root, size_t len,
          const uint32_t *index, size_t n_index, enum snmp_type type,
          uint64_t number)
{
    snmp_view_add(view, root, len, index, n_index, type, number, NULL, 0);
}

static void
add_octets(struct snmp_view *view, const uint32_t *root, size_t len,
           const uint32_t *index, size_t n_index, const void *octets,
           size_t size)
{
    snmp_view_add(view, root, len, index, n_index, SNMP_T_OCTETS, 0, octets,
                  size);
}

static void
add_string(struct snmp_view *view, const uint32_t *root, size_t len,
           const uint32_t *index, size_t n_index, const char *text)
{
    /* DisplayString is at most 255 characters. */
    size_t length = strlen(text);
    add_octets(view, root, len, index, n_index, text,
               length > 255 ? 255 : length);
}

static const struct snmp_interface *
find_interface(const struct snmp_interface *rows, size_t n, const char *uuid)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(rows[i].uuid, uuid)) {
            return &rows[i];
        }
    }
    return NULL;
}

/* Sets the counters of 'r' from OVS interface 'iface' (NULL: zeros).
 * Unicast counts are all packets less multicast and broadcast, when OVS
 * counts those. */
static void
fill_stats(struct snmp_interface *r, struct json_object *iface)
{
    struct json_object *st = json_object_object_get(iface, "statistics");
    uint64_t rx = (uint64_t) int_field(st, "rx_packets");
    uint64_t tx = (uint64_t) int_field(st, "tx_packets");
    uint64_t rx_mcast = (uint64_t) int_field(st, "rx_multicast");
    uint64_t rx_bcast = (uint64_t) int_field(st, "rx_broadcast_packets");
    uint64_t tx_mcast = (uint64_t) int_field(st, "tx_multicast_packets");
    uint64_t tx_bcast = (uint64_t) int_field(st, "tx_broadcast_packets");

    r->stats[SNMP_STAT_IN_OCTETS] = (uint64_t) int_field(st, "rx_bytes");
    r->stats[SNMP_STAT_IN_MCAST] = rx_mcast;
    r->stats[SNMP_STAT_IN_BCAST] = rx_bcast;
    r->stats[SNMP_STAT_IN_UCAST] =
        rx > rx_mcast + rx_bcast ? rx - rx_mcast - rx_bcast : 0;
    r->stats[SNMP_STAT_IN_DISCARDS] = (uint64_t) int_field(st, "rx_dropped");
    r->stats[SNMP_STAT_IN_ERRORS] = (uint64_t) int_field(st, "rx_errors");
    r->stats[SNMP_STAT_OUT_OCTETS] = (uint64_t) int_field(st, "tx_bytes");
    r->stats[SNMP_STAT_OUT_MCAST] = tx_mcast;
    r->stats[SNMP_STAT_OUT_BCAST] = tx_bcast;
    r->stats[SNMP_STAT_OUT_UCAST] =
        tx > tx_mcast + tx_bcast ? tx - tx_mcast - tx_bcast : 0;
    r->stats[SNMP_STAT_OUT_DISCARDS] = (uint64_t) int_field(st, "tx_dropped");
    r->stats[SNMP_STAT_OUT_ERRORS] = (uint64_t) int_field(st, "tx_errors");
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

static int64_t
int_field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
               ? json_object_get_int64(value)
               : 0;
}

static bool
bool_field(struct json_object *record, const char *name)
{
    struct json_object *value;
    return json_object_object_get_ex(record, name, &value)
           && json_object_get_boolean(value);
}

static bool
parse_mac(const char *text, uint8_t mac[6])
{
    unsigned int b[6];
    char end;

    if (sscanf(text, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
               &b[5], &end)
        != 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        if (b[i] > 255) {
            return false;
        }
        mac[i] = (uint8_t) b[i];
    }
    return true;
}

/* Orders candidates by kind, then name, so that a new host numbers eth0,
 * eth1, … first. */
static int
compare_candidates(const void *a_, const void *b_)
{
    const struct candidate *a = a_, *b = b_;
    if (a->kind != b->kind) {
        return a->kind < b->kind ? -1 : 1;
    }
    return strcmp(a->name, b->name);
}

static int
compare_interfaces(const void *a_, const void *b_)
{
    const struct snmp_interface *a = a_, *b = b_;
    return a->index < b->index ? -1 : a->index > b->index;
}

static struct json_object *
class_of(const struct snmp_sources *src, const char *name)
{
    return object_or_empty(json_object_object_get(src->records, name));
}

/* Returns 'object', or an empty object (never freed) if it is NULL, so
 * that loops over members of absent objects simply do nothing. */
static struct json_object *
object_or_empty(struct json_object *object)
{
    static struct json_object *empty;

    if (object) {
        return object;
    }
    if (!empty) {
        empty = json_object_new_object();
    }
    return empty;
}
