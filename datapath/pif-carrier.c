/*
 * Carrier messages: PIF_CARRIER_DOWN and PIF_CARRIER_UP, raised when the
 * link monitor's resync (pif-sync.c) sees a NIC of this host lose or
 * regain carrier.  Bond masters and VLAN PIFs have no carrier of their
 * own, so only physical PIFs raise them.
 */
#include "datapath/datapath.h"

#include <stdio.h>
#include <json-c/json.h>

#include "mgmt/store.h"

int
dp_pif_raise_carrier(struct store *store, const char *pif,
                     const struct dp_link *link)
{
    char body[128];

    snprintf(body, sizeof body, "%s on %s",
             link->carrier ? "Carrier came back" : "Carrier was lost",
             link->device);
    return store_raise_message(
        store, link->carrier ? DP_PIF_CARRIER_UP : DP_PIF_CARRIER_DOWN,
        link->carrier ? 5 : 3, "PIF", pif, body);
}
