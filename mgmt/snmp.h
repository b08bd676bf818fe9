/*
 * snmp: what the SNMP subagent's files (snmp*.c) and their unit tests
 * share.  The subagent (snmp.c) speaks AgentX to net-snmp's snmpd; every
 * value it serves comes from a "view" that the pure functions here build
 * from the object store's records and what OVS reports:
 *
 *   IF-MIB        ifNumber, ifTable, ifXTable (64-bit counters),
 *                 ifStackTable (bond → member, VLAN → parent),
 *                 ifTableLastChange, ifStackLastChange
 *   IEEE8023-LAG-MIB  dot3adAggTable, dot3adAggPortTable,
 *                 dot3adAggPortStatsTable for LACP bonds
 *   NETPOOL-MIB   hosts, VMs and bonds (doc/NETPOOL-MIB.txt), with
 *                 what HA sees of them
 *
 * Interfaces are every PIF of this host (physical, bond master, VLAN) and
 * every VIF with a port in this host's OVS.  Their ifIndex comes from an
 * index map kept in the state folder, so an interface keeps its index
 * across restarts of netpoold, snmpd and OVS.  Nothing here includes
 * net-snmp, so the unit tests call it directly.
 */
#ifndef NETPOOL_MGMT_SNMP_H
#define NETPOOL_MGMT_SNMP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Where NETPOOL-MIB lives: a provisional private enterprise number (see
 * doc/NETPOOL-MIB.txt). */
#define SNMP_NETPOOL_ENTERPRISE 99999

#define SNMP_MAX_OID 32 /* Sub-identifiers an OID may have here. */

/* ASN.1 types of values, as net-snmp numbers them. */
enum snmp_type {
    SNMP_T_INTEGER = 0x02,   /* INTEGER, Integer32, enumerations. */
    SNMP_T_OCTETS = 0x04,    /* OCTET STRING, DisplayString, BITS. */
    SNMP_T_OID = 0x06,       /* OBJECT IDENTIFIER. */
    SNMP_T_COUNTER32 = 0x41, /* Counter32. */
    SNMP_T_GAUGE32 = 0x42,   /* Gauge32, Unsigned32. */
    SNMP_T_TIMETICKS = 0x43, /* TimeTicks. */
    SNMP_T_COUNTER64 = 0x46, /* Counter64. */
};

/* One object instance: its OID and value. */
struct snmp_entry {
    uint32_t oid[SNMP_MAX_OID]; /* Sub-identifiers. */
    size_t oid_len;             /* Sub-identifiers used. */
    enum snmp_type type;        /* Value type. */
    uint64_t number;            /* Numeric value (INTEGER as int64). */
    char *octets;               /* OCTETS value, or an OID's text; owned. */
    size_t octets_len;          /* Bytes in 'octets'. */
};

/* Every object instance served, sorted by OID. */
struct snmp_view {
    struct snmp_entry *entries; /* Sorted once snmp_view_finish() ran. */
    size_t n;                   /* Entries used. */
    size_t allocated;           /* Entries allocated. */
};

/* Views (snmp-view.c). */

/* Initializes an empty 'view'. */
void snmp_view_init(struct snmp_view *view);

/* Frees what 'view' owns and empties it.  Accepts NULL. */
void snmp_view_clear(struct snmp_view *view);

/* Adds an instance: the OID 'prefix' ('prefix_len' sub-identifiers)
 * followed by the 'n_index' sub-identifiers of 'index'.  The value is
 * 'number' for numeric types, or the 'octets_len' bytes at 'octets'
 * (copied) for SNMP_T_OCTETS, or the OID 'octets' spells in dotted text
 * for SNMP_T_OID.  Returns the new entry. */
struct snmp_entry *snmp_view_add(struct snmp_view *view,
                                 const uint32_t *prefix, size_t prefix_len,
                                 const uint32_t *index, size_t n_index,
                                 enum snmp_type type, uint64_t number,
                                 const void *octets, size_t octets_len);

/* Sorts 'view' by OID; call after the last snmp_view_add(). */
void snmp_view_finish(struct snmp_view *view);

/* Returns the entry whose OID is exactly 'oid' ('len' sub-identifiers),
 * or NULL. */
const struct snmp_entry *snmp_view_get(const struct snmp_view *view,
                                       const uint32_t *oid, size_t len);

/* Returns the first entry whose OID follows 'oid' lexicographically and
 * begins with 'root' ('root_len' sub-identifiers), or NULL. */
const struct snmp_entry *snmp_view_next(const struct snmp_view *view,
                                        const uint32_t *oid, size_t len,
                                        const uint32_t *root, size_t root_len);

/* Writes 'oid' as dotted text into 'buf' of 'size' bytes. */
void snmp_oid_format(const uint32_t *oid, size_t len, char *buf, size_t size);

/* Index maps (snmp-index.c).  A map is a JSON object "KIND:UUID" → index
 * plus "next:FAMILY" → the next free index of a family ("if" for
 * interfaces, "host", "vm"); numbers are never reused. */

/* Returns the index of 'key' ("pif:UUID", "vif:UUID", "host:UUID",
 * "vm:UUID") in 'map' from 'family', giving it the family's next number
 * (from 1) if it has none; sets '*changed' then.  Returns 0 if the family
 * is exhausted. */
uint32_t snmp_index_assign(struct json_object *map, const char *family,
                           const char *key, bool *changed);

/* Removes from 'map' every key of 'family' ("if", "host", "vm") that
 * 'keep' (a JSON object of keys) lacks, keeping the family's next number.
 * Returns true if it removed any. */
bool snmp_index_prune(struct json_object *map, const char *family,
                      struct json_object *keep);

/* Reads the map saved at 'path'; a missing or unreadable file gives an
 * empty map.  Returns a new JSON object. */
struct json_object *snmp_index_load(const char *path);

/* Saves 'map' to 'path' durably (write, fsync, rename).  Returns 0 or a
 * positive errno. */
int snmp_index_save(const char *path, struct json_object *map);

/* LACP as ovs-vswitchd reports it (snmp-lacp.c). */

/* Parses the texts of `ovs-appctl lacp/show` ('show') and `ovs-appctl
 * lacp/show-stats` ('stats'; either may be NULL) into a new JSON object:
 * bond port name → {"sys_id", "sys_priority", "key", "status",
 * "members": {device → {"actor_sys_id", "actor_sys_priority",
 * "actor_port_id", "actor_port_priority", "actor_key", "actor_state",
 * "partner_sys_id", "partner_sys_priority", "partner_port_id",
 * "partner_port_priority", "partner_key", "partner_state" (LacpState bits
 * as an int, bit 0 = lacpActivity … bit 7 = expired), "attached",
 * "rx_pdus", "tx_pdus", "rx_bad_pdus", "rx_marker_pdus"}}}.  Lines it
 * does not know are skipped. */
struct json_object *snmp_lacp_parse(const char *show, const char *stats);

/* Row building (snmp-rows.c). */

/* What the view is built from. */
struct snmp_sources {
    struct json_object *records;  /* Class → (UUID → record): host, PIF,
                                   * network, bond, VLAN, VIF, VM. */
    struct json_object *observed; /* dp_ovs_observe()'s form; may be
                                   * empty. */
    struct json_object *lacp;     /* snmp_lacp_parse()'s form, or NULL. */
    const char *host;             /* This host's UUID. */
    struct json_object *indexes;  /* Index map, updated in place. */
    struct json_object *changes;  /* ifIndex (text) → TimeTicks of the
                                   * last change of ifOperStatus; read
                                   * only. */
    uint32_t stack_changed;       /* TimeTicks of the last stack change. */
    uint32_t table_changed;       /* TimeTicks of the last ifTable
                                   * change. */
};

/* One interface as the view shows it. */
struct snmp_interface {
    uint32_t index;     /* ifIndex. */
    const char *kind;   /* "pif", "bond", "vlan", "vif". */
    const char *uuid;   /* The PIF's or VIF's UUID. */
    char name[64];      /* ifName: the OVS interface or port. */
    char descr[96];     /* ifDescr. */
    const char *alias;  /* ifAlias: the network's name_label. */
    int type;           /* ifType: 6, 161 (LAG), 135 (l2vlan). */
    int64_t mtu;        /* ifMtu. */
    uint64_t speed;     /* Mbit/s, 0 when unknown. */
    uint8_t mac[6];     /* ifPhysAddress. */
    bool has_mac;       /* 'mac' is set. */
    int admin;          /* ifAdminStatus: 1 up, 2 down. */
    int oper;           /* ifOperStatus: 1 up, 2 down, 7 lowerLayerDown. */
    bool connector;     /* ifConnectorPresent. */
    bool traps;         /* ifLinkUpDownTrapEnable. */
    uint64_t stats[12]; /* SNMP_STAT_* counters. */
};

/* Counters of an interface, from OVS's statistics. */
enum {
    SNMP_STAT_IN_OCTETS,
    SNMP_STAT_IN_UCAST,
    SNMP_STAT_IN_MCAST,
    SNMP_STAT_IN_BCAST,
    SNMP_STAT_IN_DISCARDS,
    SNMP_STAT_IN_ERRORS,
    SNMP_STAT_OUT_OCTETS,
    SNMP_STAT_OUT_UCAST,
    SNMP_STAT_OUT_MCAST,
    SNMP_STAT_OUT_BCAST,
    SNMP_STAT_OUT_DISCARDS,
    SNMP_STAT_OUT_ERRORS,
};

/* Returns a new array of the interfaces 'src' describes, sorted by
 * ifIndex, and their number in '*n'; assigns indexes (src->indexes) to
 * interfaces that have none.  The strings the entries point to live in
 * src->records. */
struct snmp_interface *snmp_interfaces_build(const struct snmp_sources *src,
                                             size_t *n);

/* Fills 'view' (initialized, empty) with every object the subagent serves
 * from 'src', and finishes it.  Assigns indexes to new interfaces, hosts
 * and VMs. */
void snmp_view_build(struct snmp_view *view, const struct snmp_sources *src);

/* OIDs of the subtrees the subagent registers, NULL-terminated, each
 * {length, sub-identifiers…}. */
extern const uint32_t *const snmp_registered_roots[];

/* A message with a NETPOOL-MIB notification of its own, which carries
 * netpoolNotifyObjectUuid, netpoolNotifyObjectName and
 * netpoolNotifyMessageBody. */
struct snmp_message_note {
    const char *message;    /* The message's name, e.g. "VM_CRASHED". */
    uint32_t trap;          /* Its notification: netpoolNotifications.N. */
    const char *class;      /* Class of the object the message is about. */
    const char *name_field; /* That object's field that names it. */
};

/* Returns the notification that message 'name' ("HA_VM_RESTARTED") is
 * sent as, or NULL if it has none of this form (BOND_STATUS_CHANGED has
 * one that carries the bond's row instead: snmp.c). */
const struct snmp_message_note *snmp_message_note(const char *name);

/* Returns true if the agent of host 'host' sends the notification for
 * 'message' (a message record): every pool member holds a copy of it, and
 * only the host that raised it ("raised_on") notifies; a message that
 * names no host (raised before its host knew its UUID) is every host's. */
bool snmp_message_is_ours(struct json_object *message, const char *host);

#endif
