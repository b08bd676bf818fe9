#!/usr/bin/env bash
#
# test-bond: bonds on one host with five NICs against the switch's OVS.
# Bad input gets typed errors and leaves OVS as it was; a LACP bond of
# eth2+eth3 negotiates with a port-channel on the switch (lacp_state
# current on both members, the switch as partner) and carries traffic with
# either hash algorithm; a member that keeps carrier but stops receiving
# (an nftables egress drop on the switch side) is taken out by LACP fast,
# with a BOND_STATUS_CHANGED message, and traffic goes on; management
# moves from eth0 to an active-backup bond of eth0+eth1 and back while a
# remote CLI (from the switch, over HTTPS) keeps working.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 51

TOPO_NICS=5 # eth0..eth4: a fifth member for LACP to refuse.
topo_switch_up
topo_host_up 1
# The switch's ports are veths, so the switch namespace's own IP stack
# sees their frames and would answer ARP for its addresses through each
# port with the port's MAC, which a real switch never does: keep them
# quiet, so that only sw0 answers.
for j in 0 1 2 3 4; do
    on switch sysctl -qw "net.ipv4.conf.h1-eth$j.arp_ignore=8"
done

vsctl() { on 1 ovs-vsctl --timeout=10 "$@"; }
sw() { on switch ovs-vsctl --timeout=10 "$@"; }
pif() { np 1 pif-list device="$1" physical=true --minimal; }
pif_param() { np 1 pif-param-get uuid="$(pif "$1")" param-name="$2"; }
ovs_state() {
    vsctl show
    vsctl --columns=name,bond_mode,lacp,other_config,interfaces list Port |
        sort
}
np_fail() { np_error 1 "$@"; }

wait_until 20 eval '[ "$(vsctl list-br | wc -l)" = 5 ]' || true
p0=$(pif eth0) p1=$(pif eth1) p2=$(pif eth2) p3=$(pif eth3) p4=$(pif eth4)
net=$(np 1 network-create name-label=lacp-bond)
bridge=$(np 1 network-param-get uuid="$net" param-name=bridge)

# --- bad input: typed errors, nothing stored, OVS unchanged --------------

np 1 host-wait-applied timeout=60 > /dev/null
before=$(ovs_state)
is "$(np_fail bond-create network-uuid="$net" pif-uuids="$p2" mode=lacp)" \
    "PIF_BOND_NEEDS_MORE_MEMBERS 1" "a bond of one PIF is refused"
is "$(np_fail bond-create network-uuid="$net" \
    pif-uuids="$p0,$p1,$p2,$p3,$p4" mode=lacp)" \
    "PIF_BOND_TOO_MANY_MEMBERS $p4, 4" \
    "a fifth LACP member is refused, and named"
is "$(np_fail bond-create network-uuid="$net" pif-uuids="$p2,$p3" \
    mode=lacp properties:lacp-time=medium)" \
    "INVALID_VALUE properties:lacp-time, medium" \
    "a bad property value is refused, naming the key"
is "$(np_fail bond-create network-uuid="$net" pif-uuids="$p2,$p3" \
    mode=balance-slb properties:hashing_algorithm=tcpudp_ports)" \
    "INVALID_VALUE properties:hashing_algorithm, tcpudp_ports" \
    "L4 hashing without LACP is refused"
is "$(np_fail bond-create network-uuid="$net" pif-uuids="$p2,$p3" \
    mode=round-robin)" "INVALID_VALUE mode, round-robin" \
    "an unknown mode is refused"
net0=$(np 1 pif-param-get uuid="$p0" param-name=network-uuid)
is "$(np_fail bond-create network-uuid="$net0" pif-uuids="$p2,$p3")" \
    "NETWORK_ALREADY_CONNECTED $net0, $p0" \
    "a network that already has a PIF here is refused"
net4=$(np 1 pif-param-get uuid="$p4" param-name=network-uuid)
np 1 network-param-set uuid="$net4" MTU=9000
wait_until 10 eval '[ "$(vsctl get Interface eth4 mtu_request)" = 9000 ]' ||
    true
np 1 host-wait-applied timeout=60 > /dev/null
before_mtu=$(ovs_state)
is "$(np_fail bond-create network-uuid="$net" pif-uuids="$p3,$p4")" \
    "PIF_BOND_MTU_MISMATCH $p4, 9000, 1500" \
    "members of different MTU are refused, naming the member"
np 1 host-wait-applied timeout=60 > /dev/null
is "$(ovs_state)" "$before_mtu" "OVS is unchanged after the MTU refusal"
np 1 network-param-set uuid="$net4" MTU=1500
if np 1 help vlan-create > /dev/null 2>&1; then
    vnet=$(np 1 network-create name-label=vlan10)
    vpif=$(np 1 vlan-create pif-uuid="$p4" vlan=10 network-uuid="$vnet")
    is "$(np_fail bond-create network-uuid="$net" pif-uuids="$p3,$vpif")" \
        "PIF_IS_VLAN $vpif" "bonding a VLAN PIF is refused"
    np 1 vlan-destroy uuid="$vpif"
    np 1 network-destroy uuid="$vnet"
else
    skip "bonding a VLAN PIF is refused" "no VLAN API in this build"
fi
wait_until 10 eval '[ "$(ovs_state)" = "$before" ]' || true
is "$(ovs_state)" "$before" "OVS is unchanged after the refused calls"
is "$(np 1 bond-list --minimal)/$(np 1 pif-list physical=false --minimal)" \
    "/" "no bond and no bond PIF were stored"

# --- LACP against the switch's port-channel ------------------------------

# What the members carry moves to the bond: a VLAN on eth3, a VIF (of a
# namespace guest, unplugged) on eth2's network.
vm=$(np 1 vm-create name-label=guest)
net2=$(np 1 pif-param-get uuid="$p2" param-name=network-uuid)
vif=$(np 1 vif-create vm-uuid="$vm" network-uuid="$net2" device=0 \
    other-config:netns="$(topo_ns h9)")
vnet=$(np 1 network-create name-label=vlan20)
vpif=$(np 1 vlan-create pif-uuid="$p3" vlan=20 network-uuid="$vnet")
vlan=$(np 1 vlan-list --minimal)

sw del-port sw0 h1-eth2 -- del-port sw0 h1-eth3 -- \
    add-bond sw0 po1 h1-eth2 h1-eth3 lacp=active bond_mode=balance-tcp \
    other_config:lacp-time=fast
bond=$(np 1 bond-create network-uuid="$net" pif-uuids="$p2,$p3" mode=lacp \
    properties:lacp-time=fast properties:updelay=0)
ok '[ -n "$bond" ]' "bond-create mode=lacp prints the bond"
is "$(np 1 bond-param-get uuid="$bond" param-name=properties \
    param-key=hashing_algorithm)" tcpudp_ports \
    "LACP bonds hash on L4 ports by default"
master=$(np 1 bond-param-get uuid="$bond" param-name=master)
is "$(np 1 pif-param-get uuid="$master" param-name=device)/$(np 1 \
    pif-param-get uuid="$master" param-name=physical)" "bond0/false" \
    "the master PIF is bond0, not physical"
is "$(np 1 pif-param-get uuid="$master" param-name=MAC)" \
    "$(np 1 pif-param-get uuid="$p2" param-name=MAC)" \
    "the bond takes its primary member's MAC"
is "$(pif_param eth2 bond-slave-of)/$(pif_param eth3 bond-slave-of)" \
    "$bond/$bond" "the members name their bond"
is "$(np 1 vlan-param-get uuid="$vlan" param-name=tagged-PIF)" "$master" \
    "a member's VLAN moves onto the bond"
is "$(np 1 vif-param-get uuid="$vif" param-name=network-uuid)" "$net" \
    "a VIF on a member's network moves to the bond's network"

wait_until 20 vsctl br-exists "$bridge" || true
is "$(vsctl list-ports "$bridge" | tr '\n' ' ')" "bond0 " \
    "the bond is the one port of its network's bridge"
is "$(vsctl get Port bond0 bond_mode)/$(vsctl get Port bond0 lacp)" \
    "balance-tcp/active" "OVS runs it as balance-tcp with active LACP"
is "$(vsctl get Port bond0 other_config:lacp-time)" fast \
    "lacp-time reaches OVS"
ok '! vsctl list-ports xenbr2 2> /dev/null | grep -q eth2' \
    "members have no port of their own"

np 1 event-wait class=pif device=eth2 lacp-state=current timeout=30 ||
    true
np 1 event-wait class=pif device=eth3 lacp-state=current timeout=30 ||
    true
is "$(pif_param eth2 lacp-state)/$(pif_param eth3 lacp-state)" \
    "current/current" "LACP is current on both members"
partner=$(on switch ovs-appctl lacp/show po1 | sed -n 's/^  sys_id: //p')
is "$(pif_param eth2 lacp-partner)" "$partner" \
    "the partner is the switch's LACP system"
np 1 event-wait class=bond links-up=2 timeout=20 || true
is "$(np 1 bond-param-get uuid="$bond" param-name=links-up)" 2 \
    "both links are up"
is "$(on switch ovs-appctl bond/show po1 | sed -n 's/^lacp_status: //p')" \
    negotiated "the switch has negotiated LACP too"

on 1 ip link set "$bridge" up
on 1 ethtool -K "$bridge" tx off > /dev/null
on 1 ip addr add 198.18.40.1/24 dev "$bridge"
on switch ip addr add 198.18.40.254/24 dev sw0
ok 'wait_until 20 on 1 ping -c 1 -W 1 198.18.40.254 > /dev/null' \
    "traffic crosses the LACP bond (tcpudp_ports)"

np 1 bond-param-set uuid="$bond" properties:hashing_algorithm=src_mac
wait_until 10 eval '[ "$(vsctl get Port bond0 bond_mode)" = balance-slb ]' ||
    true
is "$(vsctl get Port bond0 bond_mode)/$(vsctl get Port bond0 lacp)" \
    "balance-slb/active" "src_mac hashing is LACP over balance-slb"
ok 'wait_until 20 on 1 ping -c 1 -W 1 198.18.40.254 > /dev/null' \
    "traffic crosses the LACP bond (src_mac)"
is "$(np_fail bond-param-set uuid="$bond" properties:lacp-time=never)" \
    "INVALID_VALUE properties:lacp-time, never" \
    "a bad property change is refused"
np 1 bond-param-set uuid="$bond" properties:hashing_algorithm=tcpudp_ports

# A silent member: carrier stays, the switch stops delivering to it.
on switch nft add table netdev npbond
on switch nft add chain netdev npbond silent \
    '{ type filter hook egress device h1-eth2 priority 0; policy accept; }'
on switch nft add rule netdev npbond silent drop
np 1 event-wait class=bond links-up=1 timeout=20 || true
is "$(np 1 bond-param-get uuid="$bond" param-name=links-up)" 1 \
    "LACP fast takes the silent member out"
if [ "$(np 1 bond-param-get uuid="$bond" param-name=links-up)" != 1 ]; then
    diag "$(on 1 ovs-appctl bond/show; on 1 ovs-appctl lacp/show)"
    diag "$(on switch ovs-appctl lacp/show; on switch nft list ruleset)"
fi
is "$(pif_param eth2 bond-member-state)/$(pif_param eth2 carrier)" \
    "disabled/true" "the silent member is disabled though it has carrier"
ok '[ "$(pif_param eth2 lacp-state)" != current ]' \
    "its LACP state is no longer current"
ok 'wait_until 10 on 1 ping -c 1 -W 1 198.18.40.254 > /dev/null' \
    "traffic goes on over the other member"
ok 'np 1 message-list name=BOND_STATUS_CHANGED params=body |
        grep -q "eth2+eth3 bond changed: 1/2 up"' \
    "BOND_STATUS_CHANGED says 1/2 up"
on switch nft delete table netdev npbond
np 1 event-wait class=bond links-up=2 timeout=60 || true
is "$(np 1 bond-param-get uuid="$bond" param-name=links-up)" 2 \
    "the member rejoins when the fault clears"
ok 'np 1 message-list name=BOND_STATUS_CHANGED params=body |
        grep -q "changed: 2/2 up"' "and BOND_STATUS_CHANGED says 2/2 up"

np 1 bond-destroy uuid="$bond"
wait_until 10 eval '! vsctl br-exists "$bridge"' || true
ok '! vsctl br-exists "$bridge"' "bond-destroy takes the bond's bridge away"
wait_until 10 eval 'vsctl list-ports xenbr2 2> /dev/null | grep -qx eth2' ||
    true
is "$(vsctl list-ports xenbr2)/$(pif_param eth2 bond-slave-of)" "eth2/" \
    "the members are ordinary PIFs again"
is "$(np 1 vlan-param-get uuid="$vlan" param-name=tagged-PIF)" "$p2" \
    "the VLAN moves back, onto the primary member"
is "$(np 1 vif-param-get uuid="$vif" param-name=network-uuid)" "$net2" \
    "and so does the VIF"
np 1 vlan-destroy uuid="$vpif"
np 1 vif-destroy uuid="$vif"
np 1 vm-destroy uuid="$vm"

# --- management onto a bond and back, with a remote CLI ------------------

is "$(np_remote switch 1 host-list params=name-label --minimal)" h1 \
    "the remote CLI works before"
mnet=$(np_remote switch 1 network-create name-label=management-bond)
mbridge=$(np 1 network-param-get uuid="$mnet" param-name=bridge)
mbond=$(np_remote switch 1 bond-create network-uuid="$mnet" \
    pif-uuids="$p0,$p1" mode=active-backup)
ok '[ -n "$mbond" ]' "a remote bond-create of eth0+eth1 succeeds"
mmaster=$(np 1 bond-param-get uuid="$mbond" param-name=master)
is "$(np 1 pif-list management=true --minimal)" "$mmaster" \
    "the management role moves to the bond"
is "$(np 1 pif-param-get uuid="$mmaster" param-name=IP)/$(pif_param eth0 IP)" \
    "$(topo_mgmt_ip 1)/" "and so does the IP configuration"
wait_until 20 eval 'on 1 ip -4 -o addr show dev "$mbridge" 2> /dev/null |
    grep -q "$(topo_mgmt_ip 1)/24"' || true
is "$(on 1 ip -4 -o addr show | awk '$2 != "lo" {print $2, $4}')" \
    "$mbridge $(topo_mgmt_ip 1)/24" \
    "the address now lives on the bond's bridge only"
is "$(on 1 ip route show default | xargs)" "default via 198.18.0.1 dev $mbridge" \
    "the default route follows it"
is "$(np_remote switch 1 host-list params=name-label --minimal)" h1 \
    "the remote CLI keeps working over the bond"

np_remote switch 1 bond-destroy uuid="$mbond"
is "$(np 1 pif-list management=true --minimal)" "$p0" \
    "bond-destroy gives management back to eth0"
wait_until 20 eval '[ "$(on 1 ip route show default | xargs)" = \
    "default via 198.18.0.1 dev eth0" ]' || true
is "$(on 1 ip -4 -o addr show | awk '$2 != "lo" {print $2, $4}')" \
    "eth0 $(topo_mgmt_ip 1)/24" "with its address"
is "$(np_remote switch 1 host-list params=name-label --minimal)" h1 \
    "the remote CLI works after"
