#!/usr/bin/env bash
#
# test-vlan: VLANs, MTU and addresses of non-management PIFs on two hosts
# whose NICs are ports of a jumbo-frame switch (sw0 ports and their veths
# at MTU 9216, trunks for every VLAN, management untagged on the native
# VLAN).
#
# VLAN 10 PIFs on eth1 of h1 and h2, addressed with pif-reconfigure-ip,
# reach each other; h2's VLAN 20 PIF is not reached from VLAN 10; each
# VLAN is an OVS fake bridge on its parent's bridge.  Management keeps
# working untagged.  A storage VLAN on eth2 at MTU 9000 passes
# `ping -M do -s 8972`; with h2's end of it at 1500 it does not, and the
# MTU path check raises one MTU_MISMATCH.  Bad input gets typed errors and
# leaves OVS as it was.  Addresses and fake bridges come back after a
# netpoold restart and a wiped OVS.
#
# On the userspace datapath, OVS writes frames larger than an internal
# interface's MTU to it anyway (and the kernel accepts them), so a smaller
# MTU on the VLAN's fake bridge alone does not drop jumbo frames here; the
# 1500 end is therefore h2's storage VLAN and its NIC, as on a host whose
# NIC was never raised to 9000.
#
# h2 has two addresses in 198.18.30.0/24 (VLAN 10 and 20): arp_ignore=1
# makes it answer ARP only on the interface that holds the address, as a
# host with overlapping subnets must, and its VLAN 10 address comes first
# so that its replies to VLAN 10 leave through VLAN 10.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 48

TOPO_SWITCH_MTU=9216
topo_switch_up
topo_host_up 1
topo_host_up 2

vsctl() { local node=$1; shift; on "$node" ovs-vsctl --timeout=10 "$@"; }
nic_pif() { np "$1" pif-list device="$2" physical=true --minimal; }
nic_net() { np "$1" network-list bridge="$3" --minimal; }
bridge_of() { np "$1" network-param-get uuid="$2" param-name=bridge; }
has_addr() { on "$1" ip -4 -o addr show dev "$2" 2> /dev/null | grep -q " $3/"; }
ping_from() { # NODE DEVICE ADDRESS [ping options]
    local node=$1 dev=$2 addr=$3
    shift 3
    on "$node" ping -n -c 1 -W 2 -I "$dev" "$@" "$addr" > /dev/null 2>&1
}
log_count() { grep -c -- "$2" "$STATE/h$1/netpoold.log" || true; }

# Answers ARP only for addresses of the interface asked (see above).
for n in 1 2; do
    on "$n" sysctl -qw net.ipv4.conf.all.arp_ignore=1
done

# --- VLAN 10 and 20 on eth1 -------------------------------------------------

eth1_1=$(nic_pif 1 eth1)
eth1_2=$(nic_pif 2 eth1)
net10_1=$(np 1 network-create name-label=vlan10)
net10_2=$(np 2 network-create name-label=vlan10)
net20_2=$(np 2 network-create name-label=vlan20)
v10_1=$(np 1 vlan-create pif-uuid="$eth1_1" vlan=10 network-uuid="$net10_1")
v10_2=$(np 2 vlan-create pif-uuid="$eth1_2" vlan=10 network-uuid="$net10_2")
v20_2=$(np 2 vlan-create pif-uuid="$eth1_2" vlan=20 network-uuid="$net20_2")
br10_1=$(bridge_of 1 "$net10_1")
br10_2=$(bridge_of 2 "$net10_2")
br20_2=$(bridge_of 2 "$net20_2")

is "$(np 1 pif-param-get uuid="$v10_1" param-name=VLAN)/$(np 1 \
    pif-param-get uuid="$v10_1" param-name=physical)" "10/false" \
    "vlan-create makes a VLAN PIF with the tag, not physical"
vlan10_1=$(np 1 pif-param-get uuid="$v10_1" param-name=VLAN-master-of)
is "$(np 1 vlan-param-get uuid="$vlan10_1" param-name=tagged-PIF)" "$eth1_1" \
    "its VLAN object names the parent PIF"

wait_until 20 eval 'vsctl 1 br-exists "$br10_1"' || true
is "$(vsctl 1 br-to-parent "$br10_1" 2> /dev/null)/$(vsctl 1 br-to-vlan \
    "$br10_1" 2> /dev/null)" "xenbr1/10" \
    "VLAN 10 is a fake bridge on eth1's bridge with tag 10"
is "$(vsctl 1 get Port "$br10_1" fake_bridge)/$(vsctl 1 get Interface \
    "$br10_1" type)" "true/internal" \
    "its port is marked fake_bridge with an internal interface"

np 1 pif-reconfigure-ip uuid="$v10_1" mode=static IP=198.18.30.1 \
    netmask=255.255.255.0
np 2 pif-reconfigure-ip uuid="$v10_2" mode=static IP=198.18.30.2 \
    netmask=255.255.255.0
wait_until 20 has_addr 2 "$br10_2" 198.18.30.2 || true
np 2 pif-reconfigure-ip uuid="$v20_2" mode=static IP=198.18.30.3 \
    netmask=255.255.255.0 gateway=198.18.30.254
wait_until 20 has_addr 1 "$br10_1" 198.18.30.1 || true
wait_until 20 has_addr 2 "$br20_2" 198.18.30.3 || true
ok 'has_addr 1 "$br10_1" 198.18.30.1' \
    "pif-reconfigure-ip puts the address on the VLAN's fake bridge"
is "$(np 2 pif-param-get uuid="$v20_2" param-name=ip-configuration-mode)/$(np 2 \
    pif-param-get uuid="$v20_2" param-name=gateway)" "Static/198.18.30.254" \
    "the PIF records mode and gateway"
ok 'wait_until 20 ping_from 1 "$br10_1" 198.18.30.2' \
    "VLAN 10 reaches VLAN 10 on the other host"
rx_packets() { on 2 cat "/sys/class/net/$1/statistics/rx_packets"; }
rx20=$(rx_packets "$br20_2")
ok '! ping_from 1 "$br10_1" 198.18.30.3' \
    "VLAN 10 does not reach h2's VLAN 20 address"
is "$(rx_packets "$br20_2")" "$rx20" \
    "h2's VLAN 20 interface received none of it (not even the ARP broadcasts)"
ok 'ping_from 2 "$br20_2" 198.18.30.3' \
    "(h2's VLAN 20 address is up)"

ok 'on 1 ping -n -c 1 -W 2 198.18.0.1 > /dev/null' \
    "management reaches the gateway untagged on the native VLAN"
ok 'np_remote 2 1 host-list --minimal > /dev/null' \
    "a remote CLI reaches h1 over management"
is "$(vsctl switch get Port h1-eth0 tag)/$(vsctl switch get Port h1-eth0 \
    trunks)" "[]/[]" "(the switch ports carry every VLAN, native untagged)"

# An untagged PIF's address lives on its bridge's own internal port.
eth3_1=$(nic_pif 1 eth3)
np 1 pif-reconfigure-ip uuid="$eth3_1" mode=static IP=198.18.33.1 \
    netmask=255.255.255.0
np 2 pif-reconfigure-ip uuid="$(nic_pif 2 eth3)" mode=static \
    IP=198.18.33.2 netmask=255.255.255.0
ok 'wait_until 20 has_addr 1 xenbr3 198.18.33.1' \
    "an untagged PIF's address goes on its bridge's internal port"
ok 'wait_until 20 ping_from 1 xenbr3 198.18.33.2' \
    "and reaches the other host untagged"
# Someone else's address on the same interface is not netpool's to take.
on 1 ip addr add 198.18.34.1/24 dev xenbr3
np 1 pif-reconfigure-ip uuid="$eth3_1" mode=none
ok 'wait_until 20 eval "! has_addr 1 xenbr3 198.18.33.1"' \
    "mode=none removes netpool's address"
ok 'has_addr 1 xenbr3 198.18.34.1' "and leaves an address it did not put there"

# --- a storage VLAN at MTU 9000 on eth2 -----------------------------------

for n in 1 2; do
    eval "eth2_$n=\$(nic_pif $n eth2)"
    eval "xen2_$n=\$(nic_net $n eth2 xenbr2)"
done
np 1 network-param-set uuid="$xen2_1" MTU=9000
np 2 network-param-set uuid="$xen2_2" MTU=9000
sto_1=$(np 1 network-create name-label=storage MTU=9000)
sto_2=$(np 2 network-create name-label=storage MTU=9000)
vs_1=$(np 1 vlan-create pif-uuid="$eth2_1" vlan=30 network-uuid="$sto_1")
vs_2=$(np 2 vlan-create pif-uuid="$eth2_2" vlan=30 network-uuid="$sto_2")
brs_1=$(bridge_of 1 "$sto_1")
brs_2=$(bridge_of 2 "$sto_2")
np 1 pif-reconfigure-ip uuid="$vs_1" mode=static IP=198.18.32.1 \
    netmask=255.255.255.0
np 2 pif-reconfigure-ip uuid="$vs_2" mode=static IP=198.18.32.2 \
    netmask=255.255.255.0

wait_until 20 has_addr 1 "$brs_1" 198.18.32.1 || true
is "$(vsctl 1 get Interface eth2 mtu_request)/$(vsctl 1 get Interface \
    "$brs_1" mtu_request)" "9000/9000" \
    "the NIC and the storage VLAN's port have mtu_request 9000"
ok 'wait_until 20 ping_from 1 "$brs_1" 198.18.32.2 -M do -s 8972' \
    "ping -M do -s 8972 passes end to end on the storage VLAN"

# The path check: probes every 2 s; a whole path raises nothing.
np 1 network-param-set uuid="$sto_1" other-config:mtu-check-peers=198.18.32.2 \
    other-config:mtu-check-interval=2
round='probe round to 198.18.32.2: 84 bytes answered'
ok 'wait_until 30 eval "[ \$(log_count 1 \"\$round, 9000 bytes answered\") -ge 1 ]"' \
    "the MTU check's full-size probe passes on a whole path"
is "$(np 1 message-list name=MTU_MISMATCH --minimal)" "" \
    "and raises no MTU_MISMATCH"

# h2's end at 1500: the VLAN network first (the parent may not go below
# it), then its NIC's network.
err=$(np 2 network-param-set uuid="$xen2_2" MTU=1500 2>&1 > /dev/null) \
    && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *VLAN_MTU_EXCEEDS_PARENT* ]]' \
    "a parent network cannot go below its VLAN network's MTU"
np 2 network-param-set uuid="$sto_2" MTU=1500
np 2 network-param-set uuid="$xen2_2" MTU=1500
wait_until 20 eval '[ "$(vsctl 2 get Interface eth2 mtu_request)" = 1500 ]' \
    || true
ok '! ping_from 1 "$brs_1" 198.18.32.2 -M do -s 8972' \
    "with h2's end at 1500, ping -M do -s 8972 fails"
ok 'ping_from 1 "$brs_1" 198.18.32.2' "while small frames still pass"
ok 'wait_until 30 eval "[ -n \"\$(np 1 message-list name=MTU_MISMATCH --minimal)\" ]"' \
    "the MTU check raises MTU_MISMATCH"
msg=$(np 1 message-list name=MTU_MISMATCH --minimal)
body=$(np 1 message-param-get uuid="$msg" param-name=body 2> /dev/null || true)
ok '[ "$(np 1 message-param-get uuid="$msg" param-name=obj-uuid)" = "$sto_1" ] &&
    [[ $body == *198.18.32.2* && $body == *9000* && $body == *84* ]]' \
    "the message names the network, the peer and the sizes"
lost="$round, 9000 bytes lost"
seen=$(log_count 1 "$lost")
ok 'wait_until 30 eval "[ \$(log_count 1 \"\$lost\") -ge \$((seen + 2)) ]"' \
    "(two more probe rounds still find the mismatch)"
is "$(np 1 message-list name=MTU_MISMATCH --minimal | tr ',' '\n' | wc -l)" 1 \
    "a lasting mismatch raises one message, not one per probe"

np 2 network-param-set uuid="$xen2_2" MTU=9000
np 2 network-param-set uuid="$sto_2" MTU=9000
ok 'wait_until 20 ping_from 1 "$brs_1" 198.18.32.2 -M do -s 8972' \
    "raising h2's end again mends the path"

# --- bad input: typed errors, OVS and the store unchanged ------------------

ovs_dump() {
    vsctl 1 --format=csv --data=bare --no-headings \
        --columns=name,tag,trunks,fake_bridge,external_ids list Port | sort
    vsctl 1 --format=csv --data=bare --no-headings \
        --columns=name,type,mtu_request list Interface | sort
    vsctl 1 show
}
store_dump() {
    np 1 pif-list params=uuid,VLAN,IP,network-uuid --minimal
    np 1 vlan-list --minimal
    np 1 network-list params=uuid,MTU
}
np 1 host-wait-applied timeout=60 > /dev/null
before_ovs=$(ovs_dump)
before_store=$(store_dump)
refused() { # CODE DESCRIPTION COMMAND...
    local code=$1 what=$2 err rc
    shift 2
    err=$("$@" 2>&1 > /dev/null) && rc=0 || rc=$?
    # The barrier: everything written so far is in OVS.
    np 1 host-wait-applied timeout=60 > /dev/null
    if [ "$rc" = 1 ] && [[ $err == *"$code"* ]] &&
        [ "$(ovs_dump)" = "$before_ovs" ] &&
        [ "$(store_dump)" = "$before_store" ]; then
        ok 0 "$what: $code, OVS and store unchanged"
    else
        ok 1 "$what: $code, OVS and store unchanged"
        diag "exit $rc: $err"
    fi
}
net30_1=$(np 1 network-create name-label=spare)
before_store=$(store_dump)
refused VLAN_TAG_INVALID "VLAN 4095" \
    np 1 vlan-create pif-uuid="$eth1_1" vlan=4095 network-uuid="$net30_1"
refused VLAN_TAG_INVALID "VLAN 0" \
    np 1 vlan-create pif-uuid="$eth1_1" vlan=0 network-uuid="$net30_1"
refused INVALID_VALUE "MTU 10000 on a network" \
    np 1 network-param-set uuid="$net10_1" MTU=10000
refused INVALID_VALUE "network-create with MTU 10000" \
    np 1 network-create name-label=huge MTU=10000
refused PIF_IS_VLAN "a VLAN on a VLAN PIF" \
    np 1 vlan-create pif-uuid="$v10_1" vlan=11 network-uuid="$net30_1"
refused PIF_VLAN_EXISTS "the same tag twice on one PIF" \
    np 1 vlan-create pif-uuid="$eth1_1" vlan=10 network-uuid="$net30_1"
refused VLAN_MTU_EXCEEDS_PARENT "a VLAN network's MTU above its parent's" \
    np 1 network-param-set uuid="$net10_1" MTU=9000
np 1 network-param-set uuid="$net30_1" MTU=9000
before_store=$(store_dump)
refused VLAN_MTU_EXCEEDS_PARENT "a VLAN on a parent with a smaller MTU" \
    np 1 vlan-create pif-uuid="$eth1_1" vlan=40 network-uuid="$net30_1"
refused PIF_IS_MANAGEMENT_INTERFACE "pif-reconfigure-ip of management" \
    np 1 pif-reconfigure-ip uuid="$(nic_pif 1 eth0)" mode=none
refused INVALID_VALUE "a bad address" \
    np 1 pif-reconfigure-ip uuid="$v10_1" mode=static IP=198.18.30.300 \
    netmask=255.255.255.0

# --- restarts -----------------------------------------------------------------

port_uuid=$(vsctl 1 get Port "$br10_1" _uuid)
topo_netpoold_stop 1
topo_netpoold_start 1
ok 'wait_until 20 ping_from 1 "$br10_1" 198.18.30.2' \
    "after a netpoold restart VLAN 10 still works"
is "$(vsctl 1 get Port "$br10_1" _uuid)" "$port_uuid" \
    "and its fake bridge was not touched"

topo_ovs_restart 1 wipe
ok 'wait_until 30 has_addr 1 "$br10_1" 198.18.30.1' \
    "a wiped OVS gets the fake bridge back, with its address"
ok 'wait_until 20 ping_from 1 "$brs_1" 198.18.32.2 -M do -s 8972' \
    "and the storage VLAN at MTU 9000"

# --- mode none, vlan-destroy ---------------------------------------------

np 2 pif-reconfigure-ip uuid="$v20_2" mode=none
ok 'wait_until 20 eval "! has_addr 2 \"\$br20_2\" 198.18.30.3"' \
    "mode=none takes the address away"
np 2 vlan-destroy uuid="$v20_2"
ok 'wait_until 20 eval "! vsctl 2 br-exists \"\$br20_2\""' \
    "vlan-destroy (by the VLAN PIF) removes the fake bridge"
is "$(np 2 vlan-list tag=20 --minimal)$(np 2 pif-list VLAN=20 --minimal)" "" \
    "and the VLAN and its PIF"
vlan10_2=$(np 2 pif-param-get uuid="$v10_2" param-name=VLAN-master-of)
np 2 vlan-destroy uuid="$vlan10_2"
ok 'wait_until 20 eval "! vsctl 2 br-exists \"\$br10_2\""' \
    "vlan-destroy by the VLAN's own UUID too"
ok '! ping_from 1 "$br10_1" 198.18.30.2' "VLAN 10 on h2 is gone"
