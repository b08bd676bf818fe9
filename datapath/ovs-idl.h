/*
 * The libopenvswitch headers that datapath/ uses, included so that they
 * can live in the same file as json-c.  Both libraries name things
 * json_object, json_type and json_object_put(); inside this header OVS's
 * names get an ovs_ prefix.  The archive netpoold links has OVS's
 * json_object_put() renamed to match (scripts/build-ovs.sh), and datapath/
 * never calls OVS's JSON functions.  Include this before <json-c/json.h>.
 * Only datapath/ and bonding/ include it.
 */
#ifndef NETPOOL_DATAPATH_OVS_IDL_H
#define NETPOOL_DATAPATH_OVS_IDL_H 1

#ifdef json_object_object_foreach
#error "include datapath/ovs-idl.h before <json-c/json.h>"
#endif

#define json_object ovs_json_object
#define json_object_put ovs_json_object_put
#define json_type ovs_json_type
#define json_array ovs_json_array

#include "daemon.h"
#include "lib/vswitch-idl.h"
#include "openvswitch/vlog.h"
#include "ovsdb-idl.h"
#include "smap.h"
#include "util.h"

/* OpenFlow, for the rules and meters of VIFs (flow-sync.c). */
#include "byte-order.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/list.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-errors.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-meter.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-protocol.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/rconn.h"
#include "openvswitch/vconn.h"
#include "openvswitch/ofp-util.h"
#include "socket-util.h"

#undef json_object
#undef json_object_put
#undef json_type
#undef json_array

#endif
