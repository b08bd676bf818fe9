#!/usr/bin/env bash
#
# test-fabric: the OVS reconciler.  Every NIC gets a network on bridge
# xenbrN with the NIC as a port; MTU changes reach mtu_request; pif-unplug
# and pif-plug move the port; what netpool does not own is left alone; a
# netpoold restart touches no port that is already right; a bridge deleted
# by hand and a wiped OVS database are both rebuilt; management keeps
# working throughout.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 21

topo_switch_up
topo_host_up 1

vsctl() { on 1 ovs-vsctl --timeout=10 "$@"; }
bridges() { vsctl list-br 2> /dev/null | tr '\n' ' '; }
ports() { vsctl list-ports "$1" 2> /dev/null | tr '\n' ' '; }
has_bridge() { vsctl br-exists "$1"; }
ports_are() { [ "$(ports "$1")" = "$2" ]; }
mtu_is() { [ "$(vsctl get Interface "$1" mtu_request 2> /dev/null)" = "$2" ]; }

wait_until 20 has_bridge xenbr3 || true
is "$(bridges)" "xenbr0 xenbr1 xenbr2 xenbr3 " \
    "each NIC's network has its bridge xenbrN"
is "$(ports xenbr1)" "eth1 " "the NIC is a port of its bridge"
is "$(vsctl get Bridge xenbr1 datapath_type)" netdev \
    "bridges use the userspace datapath"
net1=$(np 1 network-list bridge=xenbr1 --minimal)
pif1=$(np 1 pif-list device=eth1 --minimal)
is "$(vsctl get Bridge xenbr1 external_ids:netpool-network)" "\"$net1\"" \
    "the bridge names its network in external_ids"
is "$(vsctl get Port eth1 external_ids:netpool-pif)" "\"$pif1\"" \
    "the port names its PIF in external_ids"
ok "on 1 ping -c 1 -W 5 198.18.0.1 > /dev/null" \
    "management still reaches the gateway"

np 1 network-param-set uuid="$net1" MTU=9000
wait_until 10 mtu_is eth1 9000 || true
is "$(vsctl get Interface eth1 mtu_request)" 9000 \
    "a network MTU change reaches the PIF's mtu_request"
is "$(vsctl get Interface xenbr1 mtu_request)" 9000 \
    "and the bridge's internal port"

np 1 pif-unplug uuid="$pif1"
wait_until 10 eval '! has_bridge xenbr1' || true
ok '! has_bridge xenbr1' "pif-unplug takes the PIF's bridge down"
np 1 pif-plug uuid="$pif1"
wait_until 10 ports_are xenbr1 "eth1 " || true
is "$(ports xenbr1)" "eth1 " "pif-plug brings it back"
is "$(np 1 pif-param-get uuid="$pif1" param-name=currently-attached)" true \
    "currently-attached follows plug"

pif0=$(np 1 pif-list device=eth0 --minimal)
err=$(np 1 pif-unplug uuid="$pif0" 2>&1 > /dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *PIF_IS_MANAGEMENT_INTERFACE* ]]' \
    "the management PIF cannot be unplugged"

# Foreign configuration: a bridge and a port netpool does not own.
vsctl add-br mine -- set Bridge mine datapath_type=netdev
vsctl add-port xenbr2 extra -- set Interface extra type=internal
port_uuid=$(vsctl get Port eth2 _uuid)
iface_uuid=$(vsctl get Interface eth2 _uuid)

topo_netpoold_stop 1 TERM
topo_netpoold_start 1
# The barrier: the new netpoold's full run has converged OVS.
ok 'np 1 host-wait-applied timeout=60 > /dev/null' \
    "the restarted netpoold reports its fabric applied"
ok 'has_bridge mine' "a bridge netpool does not own survives a restart"
ok '[[ " $(ports xenbr2)" == *" extra "* ]]' \
    "a port netpool does not own survives on its bridge"
is "$(vsctl get Port eth2 _uuid)/$(vsctl get Interface eth2 _uuid)" \
    "$port_uuid/$iface_uuid" "a netpoold restart leaves right ports untouched"

vsctl del-br xenbr2
wait_until 10 has_bridge xenbr2 || true
ok 'has_bridge xenbr2' "a bridge deleted by hand is rebuilt"

topo_ovs_restart 1
wait_until 20 eval '[ "$(ports xenbr1)" = "eth1 " ]' || true
is "$(ports xenbr1)" "eth1 " "an OVS restart is recovered"

topo_ovs_restart 1 wipe
wait_until 20 has_bridge xenbr3 || true
is "$(bridges)" "xenbr0 xenbr1 xenbr2 xenbr3 " \
    "a wiped OVS database is rebuilt"
wait_until 10 mtu_is eth1 9000 || true
is "$(vsctl get Interface eth1 mtu_request)" 9000 \
    "with the MTU from the store"
ok "wait_until 20 on 1 ping -c 1 -W 2 198.18.0.1 > /dev/null" \
    "management reaches the gateway after all of it"
