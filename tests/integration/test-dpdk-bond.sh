#!/usr/bin/env bash
#
# test-dpdk-bond: bonds of two DPDK ports (net_af_packet virtual devices
# on the veths eth2 and eth3, TOPO_DATAPATH=dpdk) in all three modes, and
# what each does when a member fails.  DPDK's net_af_packet driver reports
# its link up whatever the veth's carrier, so a bond over such ports finds
# a failed member by LACP or BFD, not by carrier.  active-backup and
# balance-slb with BFD (properties:bfd=true) against plain switch ports
# running BFD: traffic crosses the bond; taking the switch side of a member
# down takes it out (its BFD state goes down, one link is up) and traffic
# goes on over the other; back up, both are up again.
# lacp against a port-channel of the switch (balance-tcp, LACP fast):
# LACP negotiates; the switch side of one member down takes that member
# out (its lacp-state is no longer current, 1/2 up), the switch's
# port-channel goes on over the other and traffic goes on; back up, both
# members are current again and both ends use both.
#
# The test reserves hugepages for DPDK and gives /proc/sys/vm/nr_hugepages
# back as it found it, even on failure, after OVS is down.  When hugepages
# cannot be allocated, or the DPDK build of OVS is missing, it says so and
# skips its points by name.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 18

points=(
    "active-backup: the members are DPDK ports"
    "active-backup: traffic crosses the bond"
    "active-backup: the active member's switch port down, the other is active"
    "active-backup: traffic goes on over it"
    "active-backup: port back up, both are up"
    "balance-slb: traffic crosses the bond"
    "balance-slb: one member's switch port down, one link is up"
    "balance-slb: traffic goes on over the other"
    "balance-slb: port back up, both are up and traffic flows"
    "lacp: the members are DPDK ports"
    "lacp: LACP negotiates with the switch over DPDK ports"
    "lacp: traffic crosses the bond"
    "lacp: one member's switch port down takes it out of the bond"
    "lacp: the switch's port-channel goes on over the other"
    "lacp: traffic goes on"
    "lacp: port back up, both members are current again"
    "lacp: the switch uses both again"
    "lacp: and traffic flows"
)
# 256 MiB of socket memory; OVS-DPDK takes about 1 GB in all with four
# ports' buffer pools, so reserve 600 2-MiB pages.
dpdk_require 600 "${points[@]}"

topo_switch_up
topo_host_up 1
# Only sw0 answers ARP in the switch namespace (a real switch's ports do
# not).
for j in 0 1 2 3; do
    on switch sysctl -qw "net.ipv4.conf.h1-eth$j.arp_ignore=8"
done

vsctl() { on 1 ovs-vsctl --timeout=20 "$@"; }
sw() { on switch ovs-vsctl --timeout=10 "$@"; }
iface() { vsctl get Interface "$1" "$2" 2> /dev/null | tr -d '"'; }
pif() { np 1 pif-list device="$1" physical=true --minimal; }
pif_param() { np 1 pif-param-get uuid="$(pif "$1")" param-name="$2"; }
bond_param() { np 1 bond-param-get uuid="$bond" param-name="$1"; }
reaches() { on 1 ping -c 1 -W 1 198.18.23.1 > /dev/null; }
dpdk_ready() {
    [ "$(vsctl get Open_vSwitch . dpdk_initialized 2> /dev/null)" = true ] &&
        [ "$(iface eth2 type)/$(iface eth3 type)" = dpdk/dpdk ] &&
        [ "$(iface eth2 link_state)/$(iface eth3 link_state)" = up/up ]
}
members_dpdk() {
    [ "$(iface eth2 type)/$(iface eth3 type)" = dpdk/dpdk ] &&
        [ "$(iface eth2 options:dpdk-devargs)" = \
            net_af_packet_eth2,iface=eth2 ]
}
# The master PIF's bridge gets an address on the switch's test subnet.
address_bond() {
    np 1 pif-reconfigure-ip uuid="$(bond_param master)" mode=static \
        IP=198.18.23.2 netmask=255.255.255.0
}

host=$(np 1 host-list --minimal)
wait_until 20 eval 'vsctl br-exists xenbr3' || true
np 1 host-param-set uuid="$host" other-config:dpdk-socket-mem=256
np 1 host-param-set uuid="$host" datapath=dpdk
wait_until 60 dpdk_ready || true
on switch ip addr add 198.18.23.1/24 dev sw0
net=$(np 1 network-create name-label=dpdk-bond)

# --- active-backup ----------------------------------------------------------

# BFD on the switch's ports of both members, and on the bond's members.
sw set Interface h1-eth2 bfd:enable=true bfd:min_rx=100 bfd:min_tx=100 -- \
    set Interface h1-eth3 bfd:enable=true bfd:min_rx=100 bfd:min_tx=100
bond=$(np 1 bond-create network-uuid="$net" \
    pif-uuids="$(pif eth2),$(pif eth3)" mode=active-backup \
    properties:updelay=0 properties:bfd=true properties:bfd-min-rx=100 \
    properties:bfd-min-tx=100)
address_bond
wait_until 20 members_dpdk || true
ok members_dpdk "${points[0]}"
ok 'wait_until 20 reaches' "${points[1]}"
np 1 event-wait class=pif device=eth2 bfd-state=up timeout=30 > /dev/null ||
    true
np 1 event-wait class=pif device=eth3 bfd-state=up timeout=30 > /dev/null ||
    true
np 1 event-wait class=bond links-up=2 timeout=20 > /dev/null || true
active=$(bond_param active-slave)
active_dev=$(np 1 pif-param-get uuid="$active" param-name=device)
other_dev=eth2
[ "$active_dev" != eth2 ] || other_dev=eth3
diag "active member: $active_dev"
on switch ip link set "h1-$active_dev" down
np 1 event-wait class=bond active-slave="$(pif "$other_dev")" timeout=30 \
    > /dev/null || true
is "$(bond_param active-slave)/$(bond_param links-up)/$(pif_param \
    "$active_dev" bfd-state)" "$(pif "$other_dev")/1/down" "${points[2]}"
ok 'wait_until 20 reaches' "${points[3]}"
on switch ip link set "h1-$active_dev" up
np 1 event-wait class=bond links-up=2 timeout=30 > /dev/null || true
is "$(bond_param links-up)" 2 "${points[4]}"

# --- balance-slb --------------------------------------------------------------

np 1 bond-set-mode uuid="$bond" mode=balance-slb
wait_until 20 eval '[ "$(vsctl get Port bond0 bond_mode)" = balance-slb ]' ||
    true
ok 'wait_until 20 reaches' "${points[5]}"
on switch ip link set h1-eth2 down
np 1 event-wait class=bond links-up=1 timeout=30 > /dev/null || true
is "$(bond_param links-up)/$(pif_param eth2 bond-member-state)" 1/disabled \
    "${points[6]}"
ok 'wait_until 20 reaches' "${points[7]}"
on switch ip link set h1-eth2 up
np 1 event-wait class=bond links-up=2 timeout=30 > /dev/null || true
ok '[ "$(bond_param links-up)" = 2 ] && wait_until 20 reaches' "${points[8]}"
np 1 bond-destroy uuid="$bond"
sw remove Interface h1-eth2 bfd enable -- remove Interface h1-eth3 bfd enable
wait_until 20 eval '! vsctl port-to-br bond0 > /dev/null 2>&1' || true

# --- lacp against the switch's port-channel -------------------------------------

sw del-port sw0 h1-eth2 -- del-port sw0 h1-eth3 -- \
    add-bond sw0 po1 h1-eth2 h1-eth3 lacp=active bond_mode=balance-tcp \
    other_config:lacp-time=fast
bond=$(np 1 bond-create network-uuid="$net" \
    pif-uuids="$(pif eth2),$(pif eth3)" mode=lacp \
    properties:lacp-time=fast properties:updelay=0)
address_bond
wait_until 20 members_dpdk || true
ok members_dpdk "${points[9]}"
lacp_status() {
    on switch ovs-appctl bond/show po1 | sed -n 's/^lacp_status: //p'
}
# "h1-eth2 enabled" lines of the switch's bond/show.
sw_enabled() {
    on switch ovs-appctl bond/show po1 |
        awk '/^member h1-eth[23]: enabled/ { sub(":", "", $2); print $2 }' |
        sort | paste -sd ' '
}
lacp_states() {
    echo "$(pif_param eth2 lacp-state)/$(pif_param eth3 lacp-state)"
}
np 1 event-wait class=pif device=eth2 lacp-state=current timeout=30 \
    > /dev/null || true
np 1 event-wait class=pif device=eth3 lacp-state=current timeout=30 \
    > /dev/null || true
wait_until 20 eval '[ "$(lacp_status)" = negotiated ]' || true
is "$(lacp_states)/$(lacp_status)" current/current/negotiated "${points[10]}"
ok 'wait_until 20 reaches' "${points[11]}"

on switch ip link set h1-eth3 down
np 1 event-wait class=bond links-up=1 timeout=30 > /dev/null || true
is "$(bond_param links-up)/$(pif_param eth3 bond-member-state)/$(pif_param \
    eth2 lacp-state)" 1/disabled/current "${points[12]}"
diag "eth3 lacp-state: $(pif_param eth3 lacp-state)"
wait_until 20 eval '[ "$(sw_enabled)" = h1-eth2 ]' || true
is "$(sw_enabled)/$(lacp_status)" h1-eth2/negotiated "${points[13]}"
ok 'wait_until 20 reaches' "${points[14]}"

on switch ip link set h1-eth3 up
np 1 event-wait class=pif device=eth3 lacp-state=current timeout=30 \
    > /dev/null || true
np 1 event-wait class=bond links-up=2 timeout=30 > /dev/null || true
is "$(lacp_states)/$(bond_param links-up)" current/current/2 "${points[15]}"
wait_until 20 eval '[ "$(sw_enabled)" = "h1-eth2 h1-eth3" ]' || true
is "$(sw_enabled)" "h1-eth2 h1-eth3" "${points[16]}"
ok 'wait_until 20 reaches' "${points[17]}"
