/*
 * What OVS reports about a host's DPDK ports, written back to its PIFs:
 * mtu_max (the largest MTU the port's driver takes) and device_error (the
 * error OVS puts on the PIF's interface, for any datapath), with a
 * PIF_DEVICE_ERROR message when a PIF gets a new error.  And the kernel
 * MTU of the NICs under DPDK virtual devices, which some drivers leave
 * alone.
 */
#include "datapath/datapath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/record.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "mgmt/store.h"

#define LOG_MODULE "dpdk"

static void set_link_mtu(int fd, const char *devargs, int64_t mtu);

void
dp_dpdk_status_sync(struct store *store, const char *host,
                    struct json_object *observed)
{
    /* Only PIFs and hosts: this runs at every change OVS reports. */
    struct json_object *records = json_object_new_object();
    json_object_object_add(records, "PIF", store_get_all(store, "PIF"));
    json_object_object_add(records, "host", store_get_all(store, "host"));
    struct json_object *pifs = json_object_object_get(records, "PIF");
    struct json_object *status = dp_dpdk_pif_status(records, host, observed);
    bool changed = false;

    store_push_actor(store, "system:dpdk-status");
    store_begin(store);
    json_object_object_foreach (status, uuid, want) {
        struct json_object *pif = json_object_object_get(pifs, uuid);
        struct json_object *diff = json_object_new_object();
        struct json_object *value;
        int64_t mtu_max =
            json_object_get_int64(json_object_object_get(want, "mtu_max"));
        const char *error = record_string(want, "device_error");
        const char *had = record_string(pif, "device_error");

        if ((json_object_object_get_ex(pif, "mtu_max", &value)
                 ? json_object_get_int64(value)
                 : 0)
            != mtu_max) {
            json_object_object_add(diff, "mtu_max",
                                   json_object_new_int64(mtu_max));
        }
        if (strcmp(had, error)) {
            json_object_object_add(diff, "device_error",
                                   json_object_new_string(error));
        }
        if (json_object_object_length(diff)
            && !store_update(store, "PIF", uuid, diff)) {
            changed = true;
            if (*error) {
                char *body = xasprintf("Open vSwitch reports an error on %s: "
                                       "%s",
                                       record_string(pif, "device"), error);
                log_warn("%s", body);
                store_raise_message(store, "PIF_DEVICE_ERROR", 2, "PIF", uuid,
                                    body);
                free(body);
            } else if (*had) {
                log_info("%s: Open vSwitch reports no error any more",
                         record_string(pif, "device"));
            }
        }
        json_object_put(diff);
    }
    if (!changed || store_commit(store)) {
        store_rollback(store);
    }
    store_pop_actor(store);
    json_object_put(status);
    json_object_put(records);
}

void
dp_dpdk_link_mtus(struct json_object *fabric)
{
    int fd = -1;

    json_object_object_foreach (json_object_object_get(fabric, "bridges"),
                                bridge, br) {
        json_object_object_foreach (json_object_object_get(br, "ports"),
                                    port_name, port) {
            json_object_object_foreach (
                json_object_object_get(port, "interfaces"), name, iface) {
                struct json_object *mtu;
                const char *devargs = record_string(
                    json_object_object_get(iface, "options"), "dpdk-devargs");
                if (strcmp(record_string(iface, "type"), "dpdk")
                    || !strstr(devargs, ",iface=")
                    || !json_object_object_get_ex(iface, "mtu_request",
                                                  &mtu)) {
                    continue;
                }
                if (fd < 0) {
                    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                    if (fd < 0) {
                        return;
                    }
                }
                set_link_mtu(fd, devargs, json_object_get_int64(mtu));
                (void) name;
            }
            (void) port_name;
        }
        (void) bridge;
    }
    if (fd >= 0) {
        close(fd);
    }
}

/* Helpers. */

/* Gives the NIC that 'devargs' opens (iface=NIC) MTU 'mtu' if it has
 * another one. */
static void
set_link_mtu(int fd, const char *devargs, int64_t mtu)
{
    const char *iface = strstr(devargs, ",iface=") + strlen(",iface=");
    size_t length = strcspn(iface, ",");
    struct ifreq ifr;

    if (mtu <= 0 || length == 0 || length >= sizeof ifr.ifr_name) {
        return;
    }
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, iface, length);
    if (ioctl(fd, SIOCGIFMTU, &ifr) || ifr.ifr_mtu == mtu) {
        return;
    }
    ifr.ifr_mtu = (int) mtu;
    if (ioctl(fd, SIOCSIFMTU, &ifr)) {
        log_warn("cannot set the MTU of %s to %d: %s", ifr.ifr_name,
                 ifr.ifr_mtu, strerror(errno));
    } else {
        log_info("%s: MTU %d for its DPDK port", ifr.ifr_name, ifr.ifr_mtu);
    }
}
