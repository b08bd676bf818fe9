/*
 * ovs-flow: the Bridge.sflow, Bridge.ipfix and Bridge.netflow rows of the
 * OVS reconciler.  Only ovs.c includes this (after datapath/ovs-idl.h).
 */
#ifndef NETPOOL_DATAPATH_OVS_FLOW_H
#define NETPOOL_DATAPATH_OVS_FLOW_H 1

struct json_object;
struct ovsrec_bridge;

/* Within the transaction 'br' is part of, makes the flow-export rows of
 * bridge 'br' match the "sflow", "ipfix" and "netflow" objects of 'want'
 * (a bridge of the desired fabric, see fabric-flow.c): a row netpool owns
 * (external_ids netpool-*) that is no longer wanted is dropped, a wanted
 * one is created (taking the place of a row netpool does not own) or has
 * its differing columns written.  A row netpool does not own stays while
 * nothing is wanted. */
void dp_ovs_apply_flow_exports(const struct ovsrec_bridge *br,
                               struct json_object *want);

#endif
