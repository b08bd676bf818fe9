/*
 * vlan: VLAN networks and MTU policy.
 *
 * It owns the rules for 802.1Q VLANs on a host, as xapi has them: which
 * tags are valid (1–4094), which PIFs may carry a VLAN (a physical or bond
 * PIF that is not itself a VLAN PIF and not a bond member, with each tag
 * once), which networks may take the new VLAN PIF, and the MTU rules
 * (network MTU 1280–9216; a VLAN network's MTU never above the MTU of the
 * network its parent PIF is on).  Those rules are pure functions of store
 * records that return typed errors; the API calls them before it writes.
 *
 * It also owns the MTU path check: for a network with MTU above 1500 whose
 * other_config:mtu-check-peers names peers, netpoold sends them ICMP echo
 * requests with don't-fragment set, a small one and one of the network's
 * full MTU, from the host's address on that network.  When small probes
 * pass and large ones fail, a frame-size mismatch sits somewhere on the
 * path, and an MTU_MISMATCH message (alert) is raised once per transition
 * into that state.
 *
 * It never talks to Open vSwitch or writes kernel configuration: the
 * fabric (datapath/) turns VLAN PIFs into OVS fake bridges and puts their
 * addresses on them.  The only I/O here is the prober's raw ICMP socket and
 * the messages it raises.
 */
#ifndef NETPOOL_VLAN_VLAN_H
#define NETPOOL_VLAN_VLAN_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct json_object;
struct np_error;
struct store;

#define VLAN_TAG_MIN 1         /* 0 means "priority tag only". */
#define VLAN_TAG_MAX 4094      /* 4095 is reserved by 802.1Q. */
#define VLAN_MTU_MIN 1280      /* Smallest network MTU (IPv6's minimum). */
#define VLAN_MTU_MAX 9216      /* Largest network MTU (jumbo frames). */
#define VLAN_MTU_STANDARD 1500 /* Above this, a network is "jumbo". */

/* Policy (policy.c).  Every function is pure: it reads the records it is
 * given (borrowed; records as store_get()/store_get_all() return them) and
 * returns NULL when the rule holds, else a new typed error for the caller
 * to free. */

/* Checks a VLAN tag: VLAN_TAG_INVALID(tag) outside 1–4094. */
struct np_error *vlan_check_tag(int64_t tag);

/* Checks that PIF 'pif_uuid' with record 'pif' may carry a VLAN with 'tag',
 * given 'vlans', every VLAN object (UUID → record).  Errors: PIF_IS_VLAN
 * (PIF) for a VLAN PIF, CANNOT_ADD_VLAN_TO_BOND_SLAVE(PIF) for a bond
 * member, PIF_IS_NOT_PHYSICAL(PIF) for another PIF that is neither
 * physical nor a bond master, PIF_VLAN_EXISTS(device) when the PIF already
 * carries 'tag'. */
struct np_error *vlan_check_parent(const char *pif_uuid,
                                   struct json_object *pif,
                                   struct json_object *vlans, int64_t tag);

/* Checks that network 'network_uuid' may take a new PIF on host 'host':
 * NETWORK_ALREADY_CONNECTED(network, PIF) if one of 'pifs' (UUID → record)
 * of that host is on it already. */
struct np_error *vlan_check_network(const char *network_uuid, const char *host,
                                    struct json_object *pifs);

/* Checks a network MTU: INVALID_VALUE(MTU, mtu) outside 1280–9216. */
struct np_error *vlan_check_mtu(int64_t mtu);

/* Checks that a VLAN network ('vlan_network', at 'mtu') fits in the
 * network of its parent PIF ('parent_network', at 'parent_mtu'):
 * VLAN_MTU_EXCEEDS_PARENT(MTU, vlan network, MTU, parent network, parent
 * MTU) if 'mtu' is larger. */
struct np_error *vlan_check_mtu_parent(const char *vlan_network, int64_t mtu,
                                       const char *parent_network,
                                       int64_t parent_mtu);

/* Checks setting the MTU of network 'network' to 'mtu', given 'records'
 * (class name → (UUID → record), with at least "network", "PIF" and
 * "VLAN"): the range, then every VLAN whose VLAN PIF is on 'network' (its
 * parent's network must be at least 'mtu') and every VLAN whose parent PIF
 * is on 'network' (its VLAN network must be at most 'mtu'). */
struct np_error *vlan_check_network_mtu(struct json_object *records,
                                        const char *network, int64_t mtu);

/* The MTU path check (mtu-check.c). */

/* What the probes last said of one peer. */
enum vlan_mtu_state {
    VLAN_MTU_UNKNOWN,  /* Not probed yet, or never answered. */
    VLAN_MTU_OK,       /* Full-size probes pass. */
    VLAN_MTU_MISMATCH, /* Small probes pass, full-size ones do not. */
};

/* Returns the state after a round of probes of a peer in state 'old':
 * 'small_reply' and 'large_reply' say which probes were answered.  A peer
 * that does not answer small probes either tells nothing about the MTU, so
 * its state stays.  Pure. */
enum vlan_mtu_state vlan_mtu_next_state(enum vlan_mtu_state old,
                                        bool small_reply, bool large_reply);

/* Returns true if going from 'old' to 'new' raises MTU_MISMATCH: only on
 * entering VLAN_MTU_MISMATCH, so a lasting mismatch raises one message.
 * Pure. */
bool vlan_mtu_should_alert(enum vlan_mtu_state old, enum vlan_mtu_state new);

/* ICMP payload sizes of the two probes of a network at 'mtu': the small
 * one, and the large one that fills an IPv4 packet of exactly 'mtu' bytes
 * (mtu - 28). */
#define VLAN_MTU_SMALL_PAYLOAD 56
size_t vlan_mtu_large_payload(int64_t mtu);

/* Returns the probes host 'host' should run, from 'records' (class name →
 * (UUID → record), with at least "network" and "PIF"): a new JSON array of
 * {"network", "name", "peer", "source", "mtu", "interval"}, one per peer of
 * every network with MTU above 1500 and other_config:mtu-check-peers (a
 * comma-separated list of IPv4 addresses; others are skipped) on which
 * 'host' has an attached PIF with a static address ("source").
 * "interval" is other_config:mtu-check-interval in seconds (1–3600,
 * default 30).  Pure. */
struct json_object *vlan_mtu_targets(struct json_object *records,
                                     const char *host);

/* One round of probes of one peer, outside the checker (an SR's server
 * before the SR is made). */
struct vlan_mtu_probe;

/* Told the outcome of a round: which probes were answered.  The probe is
 * gone by then. */
typedef void vlan_mtu_probe_cb(void *aux, bool small_reply, bool large_reply);

/* Sends 'peer' a small echo request from local address 'source', then, if
 * it is answered, one filling an IPv4 packet of 'mtu' bytes with
 * don't-fragment set, each waited for up to a second, and calls 'done'
 * with 'aux' from the loop 'base' at the end.  Returns 0 and sets
 * '*probep' (valid until 'done' runs or vlan_mtu_probe_cancel()), or a
 * positive errno (EINVAL for a bad address) without calling 'done'. */
int vlan_mtu_probe_start(struct event_base *base, const char *source,
                         const char *peer, int64_t mtu,
                         vlan_mtu_probe_cb *done, void *aux,
                         struct vlan_mtu_probe **probep);

/* Stops 'probe' without calling its callback.  Accepts NULL. */
void vlan_mtu_probe_cancel(struct vlan_mtu_probe *probe);

struct vlan_mtu_checker;

/* Starts the MTU path check of host 'host' of 'store' on 'base': targets
 * are re-read when the store changes and probed at once when they change,
 * then every interval.  Messages go to 'store'.  Returns 0 and sets
 * '*checkerp'. */
int vlan_mtu_checker_create(struct event_base *base, struct store *store,
                            const char *host,
                            struct vlan_mtu_checker **checkerp);

/* Stops and frees 'checker'.  Accepts NULL. */
void vlan_mtu_checker_destroy(struct vlan_mtu_checker *checker);

#endif
