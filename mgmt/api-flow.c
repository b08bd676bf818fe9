/*
 * Flow export settings through the API: the sFlow, IPFIX and NetFlow keys
 * of a network's or a host's other_config ("flow-…", see
 * datapath/fabric-flow.c) are checked on every write of other_config, so
 * a bad one is refused with a typed error naming the key and nothing is
 * stored; the fabric applies the stored ones through OVSDB.
 */
#include "mgmt/api-internal.h"

#include <string.h>
#include <json-c/json.h>

#include "datapath/datapath.h"
#include "lib/error.h"
#include "mgmt/store.h"

struct np_error *
api_flow_check_set(struct api *api, const struct store_class *class,
                   const struct store_field *field, const char *uuid,
                   struct json_object *value)
{
    if ((strcmp(class->name, "network") && strcmp(class->name, "host"))
        || strcmp(field->name, "other_config")) {
        return NULL;
    }
    return dp_flow_export_check_map(value);
}
