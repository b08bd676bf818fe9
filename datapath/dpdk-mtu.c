/*
 * The MTU limits of DPDK ports, and what OVS reports about a PIF's port.
 * Pure: computed from store records and from what OVS reports (the
 * observed view of datapath/ovs.c), never from OVS directly.
 *
 * OVS 3.1 reports a DPDK port's driver in the Interface status
 * (driver_name) but not the largest MTU the driver takes (its max_rx_pktlen
 * is the current frame size, 1518 at MTU 1500).  A DPDK driver that cannot
 * take a port's mtu_request makes OVS drop the whole port ("could not add
 * network device … (Invalid argument)"), so netpool refuses such an MTU
 * before it is stored: the limit of each driver is what DPDK 22.11 reports
 * as its max_rx_pktlen less the Ethernet header and CRC, as measured here
 * with dpdk-testpmd and OVS-DPDK, capped by OVS-DPDK's own bound.
 */
#include "datapath/datapath.h"
#include "datapath/fabric-build.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/record.h"
#include "lib/error.h"

static struct np_error *check_device(struct json_object *records,
                                     struct json_object *pif, int64_t mtu,
                                     const char *name);
static int64_t network_mtu(struct json_object *records, const char *pif_uuid,
                           struct json_object *pif);
static struct json_object *interface_of(struct json_object *observed,
                                        const char *pif_uuid);

int64_t
dp_dpdk_mtu_limit(const char *driver)
{
    static const struct {
        const char *driver;
        int64_t mtu;
    } limits[] = {
        /* max_rx_pktlen 1518 whatever its framesz: MTU 9000 fails. */
        {"net_af_packet", 1500},
        /* max_rx_pktlen 3560 (its UMEM frame less headroom). */
        {"net_af_xdp", 3542},
    };
    size_t length = strcspn(driver, ",");

    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        size_t n = strlen(limits[i].driver);
        if (length >= n && !strncmp(driver, limits[i].driver, n)) {
            return limits[i].mtu;
        }
    }
    /* net_pcap, net_null, net_ring and PCI devices: OVS-DPDK's bound. */
    return DP_DPDK_MTU_MAX;
}

int64_t
dp_dpdk_pif_mtu_limit(struct json_object *records, const char *pif_uuid)
{
    struct json_object *pif = json_object_object_get(
        json_object_object_get(records, "PIF"), pif_uuid);

    if (!pif || !dp_record_bool(pif, "physical")
        || strcmp(dp_host_datapath(records, record_string(pif, "host")),
                  "dpdk")) {
        return 0;
    }
    char *devargs = dp_dpdk_devargs(pif);
    int64_t limit = dp_dpdk_mtu_limit(devargs);
    free(devargs);
    return limit;
}

struct np_error *
dp_dpdk_check_network_mtu(struct json_object *records, const char *network,
                          int64_t mtu, const char *name)
{
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *bonds = json_object_object_get(records, "bond");
    struct np_error *error = NULL;

    json_object_object_foreach (pifs, uuid, pif) {
        if (error || strcmp(record_string(pif, "network"), network)) {
            continue;
        }
        if (dp_record_bool(pif, "physical")) {
            error = check_device(records, pif, mtu, name);
            continue;
        }
        /* A bond's master: its members are the devices. */
        json_object_object_foreach (bonds, bond_uuid, bond) {
            if (strcmp(record_string(bond, "master"), uuid)) {
                continue;
            }
            json_object_object_foreach (pifs, member_uuid, member) {
                if (!error
                    && !strcmp(record_string(member, "bond_slave_of"),
                               bond_uuid)) {
                    error = check_device(records, member, mtu, name);
                }
                (void) member_uuid;
            }
        }
    }
    return error;
}

struct np_error *
dp_dpdk_check_host_mtus(struct json_object *records, const char *host,
                        const char *name)
{
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *hosts = json_object_object_get(records, "host");
    struct json_object *copy = json_tokener_parse(
        json_object_to_json_string(json_object_object_get(hosts, host)));
    struct np_error *error = NULL;

    /* The PIFs as they would be with the host in dpdk mode. */
    if (!copy) {
        copy = json_object_new_object();
    }
    json_object_object_add(copy, "datapath", json_object_new_string("dpdk"));
    struct json_object *view = json_object_new_object();
    struct json_object *view_hosts = json_object_new_object();
    json_object_object_add(view_hosts, host, copy);
    json_object_object_add(view, "host", view_hosts);
    json_object_object_add(view, "PIF", json_object_get(pifs));
    json_object_object_add(
        view, "network",
        json_object_get(json_object_object_get(records, "network")));
    json_object_object_add(
        view, "bond",
        json_object_get(json_object_object_get(records, "bond")));

    json_object_object_foreach (pifs, uuid, pif) {
        if (error || strcmp(record_string(pif, "host"), host)
            || !dp_record_bool(pif, "physical")) {
            continue;
        }
        int64_t mtu = network_mtu(view, uuid, pif);
        if (mtu > 0) {
            error = check_device(view, pif, mtu, name);
        }
    }
    json_object_put(view);
    return error;
}

struct np_error *
dp_dpdk_check_devargs_mtu(struct json_object *records, const char *pif_uuid,
                          const char *devargs, const char *name)
{
    struct json_object *pif = json_object_object_get(
        json_object_object_get(records, "PIF"), pif_uuid);
    int64_t mtu = network_mtu(records, pif_uuid, pif);

    if (!pif || mtu <= 0 || !dp_record_bool(pif, "physical")
        || strcmp(dp_host_datapath(records, record_string(pif, "host")),
                  "dpdk")) {
        return NULL;
    }
    int64_t limit = dp_dpdk_mtu_limit(devargs);
    if (mtu <= limit) {
        return NULL;
    }
    return dp_dpdk_mtu_error(name, mtu, limit, record_string(pif, "device"));
}

struct json_object *
dp_dpdk_pif_status(struct json_object *records, const char *host,
                   struct json_object *observed)
{
    struct json_object *result = json_object_new_object();
    bool dpdk = !strcmp(dp_host_datapath(records, host), "dpdk");

    json_object_object_foreach (json_object_object_get(records, "PIF"), uuid,
                                pif) {
        if (strcmp(record_string(pif, "host"), host)) {
            continue;
        }
        struct json_object *iface = interface_of(observed, uuid);
        struct json_object *status = json_object_new_object();
        int64_t mtu_max = 0;
        if (dpdk && dp_record_bool(pif, "physical")) {
            /* The driver OVS runs the port with, else the one its
             * devargs name; never below the MTU OVS runs it at. */
            const char *driver = record_string(
                json_object_object_get(iface, "status"), "driver_name");
            char *devargs = dp_dpdk_devargs(pif);
            mtu_max = dp_dpdk_mtu_limit(*driver ? driver : devargs);
            free(devargs);
            if (*driver && dp_record_int(iface, "mtu") > mtu_max) {
                mtu_max = dp_record_int(iface, "mtu");
            }
        }
        json_object_object_add(status, "mtu_max",
                               json_object_new_int64(mtu_max));
        json_object_object_add(
            status, "device_error",
            json_object_new_string(record_string(iface, "error")));
        json_object_object_add(result, uuid, status);
    }
    return result;
}

struct np_error *
dp_dpdk_mtu_error(const char *name, int64_t mtu, int64_t limit,
                  const char *device)
{
    char requested[24], most[24];

    snprintf(requested, sizeof requested, "%" PRId64, mtu);
    snprintf(most, sizeof most, "%" PRId64, limit);
    return np_error_new(ERR_MTU_EXCEEDS_DEVICE_LIMIT, name, requested, most,
                        device, NULL);
}

/* Helpers. */

/* Returns MTU_EXCEEDS_DEVICE_LIMIT(name, mtu, limit, device) if physical
 * PIF 'pif' is a DPDK port whose driver cannot take 'mtu', else NULL. */
static struct np_error *
check_device(struct json_object *records, struct json_object *pif, int64_t mtu,
             const char *name)
{
    if (!dp_record_bool(pif, "physical")
        || strcmp(dp_host_datapath(records, record_string(pif, "host")),
                  "dpdk")) {
        return NULL;
    }
    char *devargs = dp_dpdk_devargs(pif);
    int64_t limit = dp_dpdk_mtu_limit(devargs);
    free(devargs);
    if (mtu <= limit) {
        return NULL;
    }
    return dp_dpdk_mtu_error(name, mtu, limit, record_string(pif, "device"));
}

/* The MTU of the network physical PIF 'pif' ('pif_uuid') carries: its own
 * network's, or as a bond member its bond's; 0 if none. */
static int64_t
network_mtu(struct json_object *records, const char *pif_uuid,
            struct json_object *pif)
{
    struct json_object *networks = json_object_object_get(records, "network");
    const char *network = record_string(pif, "network");
    const char *bond = record_string(pif, "bond_slave_of");

    (void) pif_uuid;
    if (*bond) {
        struct json_object *b = json_object_object_get(
            json_object_object_get(records, "bond"), bond);
        struct json_object *master =
            json_object_object_get(json_object_object_get(records, "PIF"),
                                   record_string(b, "master"));
        network = record_string(master, "network");
    }
    struct json_object *net = json_object_object_get(networks, network);
    if (!net) {
        return 0;
    }
    int64_t mtu = dp_record_int(net, "MTU");
    return mtu > 0 ? mtu : 1500;
}

/* The interface OVS reports for PIF 'pif_uuid' (external_ids
 * netpool-pif), or NULL. */
static struct json_object *
interface_of(struct json_object *observed, const char *pif_uuid)
{
    json_object_object_foreach (json_object_object_get(observed, "interfaces"),
                                name, iface) {
        (void) name;
        if (!strcmp(
                record_string(json_object_object_get(iface, "external_ids"),
                              "netpool-pif"),
                pif_uuid)) {
            return iface;
        }
    }
    return NULL;
}
