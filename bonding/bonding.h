/*
 * bonding: the bond model and its policy — modes, members, the primary
 * member, properties (hashing, LACP, failure detection, BFD), how a bond
 * maps onto an Open vSwitch bonded port the way xcp-networkd maps it, and
 * how OVS's view of a bond becomes the bond's runtime fields.
 *
 * Everything here is pure: functions take records (JSON objects in the
 * store's form, UUID → record for a class) and text OVS printed, and
 * return decisions, typed errors or JSON.  This module never touches the
 * store, OVS, the kernel or a socket; the API (mgmt/api-bond.c) applies
 * its decisions to the store, the fabric builder (datapath/fabric-bond.c)
 * puts its OVS mapping into the desired fabric, and the bond status
 * reader (datapath/bond-status.c) feeds it what OVS reports.
 *
 * Modes are xapi's: "active-backup" (one member carries traffic, the
 * others stand by), "balance-slb" (every member carries traffic, each
 * source MAC pinned to one member, rebalanced periodically) and "lacp"
 * (802.3ad: balance-tcp when hashing on L4 ports, balance-slb on source
 * MAC).  Properties (all optional; xapi's defaults when absent, except
 * the delays of a bond that runs BFD):
 *
 *   hashing_algorithm   src_mac | tcpudp_ports (lacp only; its default)
 *   lacp-time           fast | slow (default slow)
 *   lacp-fallback-ab    true | false (default true)
 *   rebalance-interval  ms, 0 disables (default 1800000 for balance-slb,
 *                       OVS's 10000 for lacp)
 *   updelay, downdelay  ms (defaults 31000 and 200; with BFD 2000 and 0:
 *                       a recovered member may be used 2 s after BFD says
 *                       it forwards)
 *   failback            true | false (default true): an active-backup
 *                       bond (or a LACP bond fallen back to it) goes back
 *                       to its primary member once that member is up
 *                       again (OVS's bond-primary); false keeps the member
 *                       that carries traffic until it fails, as Linux's
 *                       primary_reselect=failure, for a bond facing switch
 *                       ports (see bond-properties.c for why true stays
 *                       the default)
 *   detect              carrier | miimon (default carrier)
 *   miimon              ms between MII polls (default 100)
 *   bfd                 true | false (default false): BFD on every member,
 *                       which finds a member that keeps carrier but passes
 *                       nothing; the partner must run BFD too
 *   bfd-min-rx, bfd-min-tx   ms (default 25: a silent member is out after
 *                       3 missed packets)
 */
#ifndef NETPOOL_BONDING_BONDING_H
#define NETPOOL_BONDING_BONDING_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct np_error;

/* Members a bond must have, and the most a LACP bond may have (802.3ad
 * aggregators of the switches xapi supports). */
#define BOND_MIN_MEMBERS 2
#define BOND_LACP_MAX_MEMBERS 4

enum bond_mode {
    BOND_MODE_BALANCE_SLB,   /* "balance-slb": source-MAC load sharing. */
    BOND_MODE_ACTIVE_BACKUP, /* "active-backup": one member at a time. */
    BOND_MODE_LACP,          /* "lacp": 802.3ad with LACPDUs. */
};

/* Properties of a bond, parsed and with defaults applied. */
struct bond_properties {
    bool tcpudp_ports;          /* Hash on L3/L4 (balance-tcp), else on
                                 * the source MAC. */
    bool lacp_fast;             /* LACPDUs every second, not every 30. */
    bool lacp_fallback_ab;      /* Fall back to active-backup when the
                                 * partner does not speak LACP. */
    int64_t rebalance_interval; /* ms; -1 leaves OVS's default. */
    int64_t updelay;            /* ms a member stays up before use. */
    int64_t downdelay;          /* ms a member stays down before it is
                                 * dropped. */
    bool miimon;                /* Poll MII instead of carrier events. */
    int64_t miimon_interval;    /* ms between MII polls. */
    bool bfd;                   /* BFD session on every member. */
    int64_t bfd_min_rx;         /* ms, BFD's required min RX interval. */
    int64_t bfd_min_tx;         /* ms, BFD's desired min TX interval. */
    bool failback;              /* Go back to the primary member when it
                                 * returns (active-backup). */
};

/* Modes. */

/* Parses 'text' ("active-backup", "balance-slb", "lacp") into '*mode'.
 * Returns false for anything else. */
bool bond_mode_parse(const char *text, enum bond_mode *mode);

/* Returns the xapi name of 'mode'. */
const char *bond_mode_name(enum bond_mode mode);

/* Members (bond-members.c). */

/* Checks that the PIFs named by 'members' (a JSON array of UUIDs, borrowed)
 * may form one bond of 'mode' on host 'host': 'pifs' and 'networks' (UUID →
 * record, borrowed) hold every PIF and network.  Rules, each failure a typed
 * error naming the bad member: it exists (HANDLE_INVALID), it is listed once
 * (INVALID_VALUE(members, pif)), it is untagged (PIF_IS_VLAN), physical
 * (PIF_IS_NOT_PHYSICAL), managed (PIF_UNMANAGED), not already in a bond
 * (PIF_IS_ALREADY_BONDED), on 'host' (PIF_CANNOT_BOND_CROSS_HOST), with the
 * first member's MTU (its network's MTU, which its port carries;
 * PIF_BOND_MTU_MISMATCH(pif, MTU, expected)); then the count
 * (PIF_BOND_NEEDS_MORE_MEMBERS(count) below BOND_MIN_MEMBERS,
 * PIF_BOND_TOO_MANY_MEMBERS(pif, max) for the first member beyond
 * BOND_LACP_MAX_MEMBERS in lacp mode).  'bond' is the UUID of a bond the
 * members may already belong to (bond.set_mode re-checks a bond's own
 * members), or NULL.  Returns NULL if the members qualify. */
struct np_error *bond_check_members(struct json_object *pifs,
                                    struct json_object *networks,
                                    struct json_object *members,
                                    enum bond_mode mode, const char *host,
                                    const char *bond);

/* Returns the member (a UUID borrowed from 'members') that becomes the
 * primary, as xapi picks it: the management PIF, else the first with an IP
 * configuration (ip_configuration_mode other than None), else the first.
 * 'pifs' is UUID → record.  NULL if 'members' is empty. */
const char *bond_pick_primary_member(struct json_object *pifs,
                                     struct json_object *members);

/* Properties (bond-properties.c). */

/* Checks the properties map 'properties' (string → string, borrowed;
 * NULL for none) of a bond of 'mode'.  Unknown keys and bad values get
 * INVALID_VALUE naming the key ("properties:lacp-time") and the value;
 * hashing_algorithm=tcpudp_ports needs lacp.  On success returns NULL and,
 * if 'normalizedp' is nonnull, stores there a new map: 'properties' with
 * hashing_algorithm set to the mode's default (src_mac, or tcpudp_ports
 * for lacp) when absent. */
struct np_error *bond_properties_check(enum bond_mode mode,
                                       struct json_object *properties,
                                       struct json_object **normalizedp);

/* Returns a new map: 'properties' (borrowed) adjusted for a bond moving to
 * 'mode': a hashing_algorithm the new mode does not support is replaced by
 * the mode's default. */
struct json_object *bond_properties_for_mode(enum bond_mode mode,
                                             struct json_object *properties);

/* Fills 'out' from 'properties' (borrowed; as bond_properties_check()
 * accepted them, or NULL) with xapi's defaults for what is absent.  Values
 * that do not parse take their defaults: stored records were checked when
 * written. */
void bond_properties_read(enum bond_mode mode, struct json_object *properties,
                          struct bond_properties *out);

/* The OVS mapping (bond-ovs.c). */

/* One member as the OVS port lists it. */
struct bond_ovs_member {
    const char *device; /* Interface name, e.g. "eth1". */
    const char *pif;    /* The member PIF's UUID. */
};

/* What a bonded OVS port is made from. */
struct bond_ovs_config {
    enum bond_mode mode;                   /* Bond mode. */
    const struct bond_properties *props;   /* Parsed properties. */
    const char *bond;                      /* The bond's UUID. */
    const char *master;                    /* The bond master PIF's UUID. */
    const char *primary_device;            /* Primary member's device, or
                                            * "" if it is not plugged. */
    const struct bond_ovs_member *members; /* Members, in order. */
    size_t n_members;                      /* Entries in 'members'. */
    int64_t mtu;                           /* Network MTU (mtu_request of
                                            * every member), 0 for none. */
};

/* Returns a new JSON object: the port in the form dp_fabric_build()
 * gives ports (see datapath/fabric.c) — bond_mode, lacp, bond_updelay,
 * bond_downdelay, other_config (lacp-time, lacp-fallback-ab,
 * bond-rebalance-interval, bond-detect-mode, bond-miimon-interval,
 * bond-primary unless failback is off), external_ids (netpool-pif =
 * master, netpool-bond = bond) and one interface per member (mtu_request,
 * external_ids netpool-pif, bfd enable/min_rx/min_tx when BFD is on). */
struct json_object *bond_ovs_port(const struct bond_ovs_config *config);

/* Both ends of a bond member coming up together.  A BFD session that is
 * not up sends once a second (RFC 5880 6.8.3), and OVS 3.1 sends nothing
 * extra when its session changes state, so the two ends of a returning
 * member come up as much as a second apart, and an active-backup bond's
 * two ends fail back to their primary as far apart (the traffic between
 * is lost).  OVS sends at once, and the far end answers at once, when a
 * session that is not down gets a new min_tx (a BFD Poll, which also
 * carries that min_tx).  So netpool writes a member's min_tx anew when
 * its session changes, and back to the configured value once ovs-vswitchd
 * has taken it:
 *
 *   - leaving down (init: the far end said it is down): a second, or the
 *     configured value + 1 ms if that is longer.  The far end comes up on
 *     this packet and answers at once, which brings this end up too, an
 *     RTT later.  A second because the far end, once up, expects packets
 *     at the interval this one names, and this end, having come up on the
 *     answer, sends its next only on the once-a-second schedule of a
 *     session that was not up; a shorter value would let the far end time
 *     out and go down again;
 *   - coming up: the configured value + 1 ms, so that this end sends at
 *     once at its real interval (and the far end, if it was waiting in
 *     init, comes up now and not at this end's next packet).
 *
 * Either end doing so is enough; both doing so is harmless. */

/* Returns true if a member whose BFD state was 'before' and is now 'now'
 * (bfd_status:state: "admin_down", "down", "init", "up"; "" or NULL for
 * none) is to poll: it left down (now "init", before not "init" or
 * "up"), or it came up (now "up", before anything else). */
bool bond_bfd_poll_due(const char *before, const char *now);

/* Returns a new copy of 'port' (bond_ovs_port()'s form, borrowed) whose
 * member interface 'iface' has the bfd min_tx for a poll in state 'now'
 * ("init" or "up", see above), or NULL if 'port' has no such member, it
 * does not run BFD, or 'now' is neither. */
struct json_object *bond_ovs_bfd_poll(struct json_object *port,
                                      const char *iface, const char *now);

/* Observed state (bond-observe.c). */

/* Parses the text of `ovs-appctl bond/show` into a new JSON object: bond
 * name → {"active": member name or "", "members": {name: {"enabled":
 * bool, "may_enable": bool, "delay_ms": int (only while an updelay or
 * downdelay runs)}}}.  Unparseable lines are skipped. */
struct json_object *bond_parse_bond_show(const char *text);

/* Parses the text of `ovs-appctl lacp/show` into a new JSON object: port
 * name → {"negotiated": bool, "members": {name: {"state": "current" |
 * "expired" | "defaulted", "attached": bool, "partner": system id}}}. */
struct json_object *bond_parse_lacp_show(const char *text);

/* Returns a new JSON object with the runtime state of the bond whose OVS
 * port is 'port' and whose members are 'members' (a JSON array of
 * {"pif", "device", "MAC"}, borrowed):
 *
 *   {"links_up": int, "active_slave": PIF UUID or "",
 *    "recheck_ms": int (0, or when a running delay ends),
 *    "settling": bool (OVS has yet to enable or disable a member that it
 *        may, or whose link, LACP and BFD are up, with no delay running:
 *        look again soon, as no OVSDB change will tell),
 *    "members": {PIF UUID: {"bond_member_state": "enabled" | "disabled",
 *        "lacp_state", "lacp_partner", "bfd_state"}}}
 *
 * from 'bond_show' and 'lacp_show' (as the parsers above return them; NULL
 * when unavailable) and 'observed' (dp_ovs_observe()'s form: "interfaces"
 * name → {link_state, lacp_current, bfd_status}, "ports" name →
 * {bond_active_slave}).  Without bond/show a member counts as enabled when
 * OVS reports its link up, LACP current (if LACP runs) and BFD forwarding
 * (if BFD runs). */
struct json_object *bond_status_compute(const char *port,
                                        struct json_object *members,
                                        struct json_object *bond_show,
                                        struct json_object *lacp_show,
                                        struct json_object *observed);

/* Returns the body of a BOND_STATUS_CHANGED message (a new string): "The
 * status of the eth0+eth1 bond changed: 1/2 up" for 'devices' "eth0+eth1",
 * 'up' 1, 'total' 2. */
char *bond_status_message(const char *devices, int up, int total);

#endif
