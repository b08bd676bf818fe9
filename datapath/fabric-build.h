/*
 * What the fabric builders (datapath/fabric*.c) share: reading store
 * records and making the port and interface objects of the desired
 * fabric's JSON.  Only datapath/fabric*.c include this; everything here is
 * pure.
 */
#ifndef NETPOOL_DATAPATH_FABRIC_BUILD_H
#define NETPOOL_DATAPATH_FABRIC_BUILD_H 1

#include <stdbool.h>
#include <stdint.h>

struct json_object;

/* Returns the integer field 'name' of 'record', 0 when absent. */
int64_t dp_record_int(struct json_object *record, const char *name);

/* Returns the boolean field 'name' of 'record', false when absent. */
bool dp_record_bool(struct json_object *record, const char *name);

/* Returns a new port object with external_ids {'id_key': 'id'}, no bond
 * settings and no interfaces yet. */
struct json_object *dp_fabric_port_new(const char *id_key, const char *id);

/* Returns a new interface object of 'type' ("" for a system port,
 * "internal", …) with mtu_request 'mtu' (none when 'mtu' <= 0). */
struct json_object *dp_fabric_interface_new(const char *type, int64_t mtu);

/* Returns bridge 'name' of 'bridges' (a fabric's "bridges" object),
 * adding it if it is new: 'datapath_type', external_ids
 * {netpool-network: 'network'}, and its own internal port carrying the
 * network's 'mtu'. */
struct json_object *dp_fabric_bridge_ensure(struct json_object *bridges,
                                            const char *name,
                                            const char *datapath_type,
                                            const char *network, int64_t mtu);

#endif
