#!/usr/bin/env bash
#
# test-carrier: a PIF's carrier follows the link.  Taking the switch-side
# peer of h1's eth0 down makes eth0 lose carrier; netpoold must see that
# from netlink events (its periodic resync is set to an hour, so it cannot
# explain the update) and report carrier=false, then true again.
#
# ok's COND strings are evaluated by ok itself, hence the single quotes.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 7

TOPO_NETPOOLD_EXTRA_ARGS="--resync-interval 3600"
topo_switch_up
topo_host_up 1

pif=$(np 1 pif-list device=eth0 --minimal) || pif=""
ok '[[ $pif =~ ^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$ ]]' \
    "eth0 has a PIF ($pif)"

carrier() { np 1 pif-param-get uuid="$pif" param-name=carrier 2>&1; }
carrier_is() { [ "$(carrier)" = "$1" ]; }
kernel_carrier() { # the kernel's view of h1's eth0: 1 or 0
    on 1 cat /sys/class/net/eth0/carrier 2>/dev/null
}
kernel_carrier_is() { [ "$(kernel_carrier)" = "$1" ]; }

wait_until 10 carrier_is true || true
is "$(carrier)" true "carrier is true while the switch port is up"

ip -n "${PREFIX}switch" link set h1-eth0 down
wait_until 10 kernel_carrier_is 0 || true
is "$(kernel_carrier)" 0 "eth0 lost carrier in the kernel"
wait_until 10 carrier_is false || true
is "$(carrier)" false "carrier becomes false after h1-eth0 goes down"

ip -n "${PREFIX}switch" link set h1-eth0 up
wait_until 10 kernel_carrier_is 1 || true
is "$(kernel_carrier)" 1 "eth0 has carrier again in the kernel"
wait_until 10 carrier_is true || true
is "$(carrier)" true "carrier becomes true after h1-eth0 comes back up"

# netpoold is still alive and answering.
ok "np 1 host-list --minimal > /dev/null" "netpoold still answers"
