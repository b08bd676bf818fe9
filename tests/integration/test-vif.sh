#!/usr/bin/env bash
#
# test-vif: VIFs with namespace guests.  Two guests on a private network
# reach each other through OVS; the ports carry the integration guide's
# external_ids; generated MACs are locally administered and unique; bad
# input gets typed errors and leaves OVS as it was; a rate limit cuts a UDP
# flood down; locking mode drops frames from another MAC or address and
# passes the allowed ones; a netpoold restart during a guest-to-guest
# stream loses no packet; unplug and destroy take ports and veths away;
# guests on different VLANs do not reach each other.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 41

UDP_SEQ=$TEST_TOP/perf/udp-seq.py
LIMIT=10000 # kbit/s

topo_switch_up
topo_host_up 1
for g in 1 2 3 4 5; do
    topo_guest_up 1 "$g"
done

vsctl() { on 1 ovs-vsctl --timeout=10 "$@"; }
ofctl() { on 1 ovs-ofctl -O OpenFlow13 "$@"; }
g() { local n=$1; shift; on "h1g$n" "$@"; }
has_port() { [[ " $(vsctl list-ports "$1" 2> /dev/null | tr '\n' ' ') " == *" $2 "* ]]; }
port_gone() { ! vsctl port-to-br "$1" > /dev/null 2>&1; }
ext_id() { vsctl get Interface "$1" "external_ids:$2" 2> /dev/null | tr -d '"'; }
ping_ok() { g "$1" ping -c 1 -W 1 ${3:+-I "$3"} "$2" > /dev/null 2>&1; }
# What OVS holds that a rejected call must not change.
ovs_state() { vsctl show; ofctl dump-flows --no-stats "$net_bridge" | sort; }
# A UDP flood from guest 1 to guest 2 for 3 seconds; prints the kbit/s
# guest 2 received.
flood_kbps() {
    local out=$STATE/flood.json
    g 2 python3 "$UDP_SEQ" recv 5001 --seconds 15 --idle 1 > "$out" \
        2> "$STATE/flood.err" &
    local pid=$!
    wait_until 5 grep -qs ready "$STATE/flood.err" || true
    g 1 python3 "$UDP_SEQ" send 198.18.20.2 5001 --pps 0 --seconds 3 \
        --size 1400 > /dev/null
    wait "$pid" || true
    python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["kbps"]))' "$out"
}

# --- two guests on a private network ---------------------------------------

net=$(np 1 network-create name-label=guests)
net_bridge=$(np 1 network-param-get uuid="$net" param-name=bridge)
vm1=$(np 1 vm-create name-label=guest1)
vm2=$(np 1 vm-create name-label=guest2)
ok '[[ $vm1 =~ ^[0-9a-f-]{36}$ ]]' "vm-create prints the new VM's UUID"
is "$(np 1 vm-param-get uuid="$vm1" param-name=power-state)" Halted \
    "a new VM is Halted"

vif1=$(np 1 vif-create vm-uuid="$vm1" network-uuid="$net" device=0 \
    other-config:netns="${PREFIX}h1g1")
vif2=$(np 1 vif-create vm-uuid="$vm2" network-uuid="$net" device=0 \
    other-config:netns="${PREFIX}h1g2")
mac1=$(np 1 vif-param-get uuid="$vif1" param-name=MAC)
mac2=$(np 1 vif-param-get uuid="$vif2" param-name=MAC)
ok '[[ $vif1 =~ ^[0-9a-f-]{36}$ ]] && [ "$vif1" != "$vif2" ]' \
    "vif-create prints the new VIF's UUID"

# Generated MACs: locally administered unicast (first octet xxxxxx10),
# all different.
vm9=$(np 1 vm-create name-label=macs)
for d in 0 1 2 3 4 5 6 7 8 9; do
    np 1 vif-create vm-uuid="$vm9" network-uuid="$net" device=$d > /dev/null
done
macs=$(np 1 vif-list params=MAC --minimal | tr ',' '\n')
bad_macs=$(echo "$macs" | while read -r m; do
    (((0x${m%%:*} & 3) == 2)) || echo "$m"
done)
is "$bad_macs" "" "generated MACs are locally administered unicast"
is "$(echo "$macs" | sort -u | wc -l)" 12 "generated MACs are unique"

np 1 vif-plug uuid="$vif1"
np 1 vif-plug uuid="$vif2"
wait_until 20 has_port "$net_bridge" vif2.0 || true
ok 'has_port "$net_bridge" vif1.0 && has_port "$net_bridge" vif2.0' \
    "plugged VIFs are ports vif<N>.<device> of the private network's bridge"
is "$(np 1 vif-param-get uuid="$vif1" param-name=currently-attached)" true \
    "currently-attached follows plug"
is "$(ext_id vif1.0 iface-id)/$(ext_id vif1.0 attached-mac)/$(ext_id vif1.0 vm-id)/$(ext_id vif1.0 iface-status)" \
    "$vif1/$mac1/$vm1/active" \
    "the port carries iface-id, attached-mac, vm-id and iface-status"
is "$(g 1 cat /sys/class/net/eth0/address)/$(g 1 cat /sys/class/net/eth0/operstate)" \
    "$mac1/up" "the guest has eth0 with the VIF's MAC, up"

g 1 ip addr add 198.18.20.1/24 dev eth0
g 2 ip addr add 198.18.20.2/24 dev eth0
ok 'wait_until 10 ping_ok 1 198.18.20.2' \
    "the two guests reach each other through OVS"

# --- bad input: typed errors, OVS unchanged --------------------------------

np 1 host-wait-applied timeout=60 > /dev/null
before=$(ovs_state)
n_vifs=$(np 1 vif-list --minimal | tr ',' '\n' | wc -l)
gone=$(np 1 network-create name-label=gone)
np 1 network-destroy uuid="$gone"
err=$(np 1 vif-create vm-uuid="$vm1" network-uuid="$gone" device=1 2>&1 \
    > /dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *HANDLE_INVALID* ]] && [[ $err == *"network, $gone"* ]]' \
    "a VIF on a destroyed network: HANDLE_INVALID(network, …)"
err=$(np 1 vif-create vm-uuid="$vm1" network-uuid="$net" device=1 \
    MAC="${mac2^^}" 2>&1 > /dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *MAC_ALREADY_IN_USE* ]] && [[ $err == *"$mac2, $vif2"* ]]' \
    "a duplicate MAC: MAC_ALREADY_IN_USE(MAC, VIF)"
err=$(np 1 vif-create vm-uuid="$vm1" network-uuid="$net" device=1 \
    MAC=01:00:5e:00:00:01 2>&1 > /dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *INVALID_VALUE* ]] && [[ $err == *"MAC, 01:00:5e"* ]]' \
    "a multicast MAC: INVALID_VALUE(MAC, …)"
err=$(np 1 vif-create vm-uuid="$vm1" network-uuid="$net" device=0 2>&1 \
    > /dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *DEVICE_ALREADY_EXISTS* ]]' \
    "a device the VM has already: DEVICE_ALREADY_EXISTS"
err=$(np 1 network-destroy uuid="$net" 2>&1 > /dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *NETWORK_CONTAINS_VIF* ]]' \
    "a network with VIFs cannot be destroyed: NETWORK_CONTAINS_VIF"
is "$(np 1 vif-list --minimal | tr ',' '\n' | wc -l)" "$n_vifs" \
    "rejected calls create no VIF"
np 1 host-wait-applied timeout=60 > /dev/null
is "$(ovs_state)" "$before" "rejected calls leave OVS unchanged"

# --- rate limiting ------------------------------------------------------------

free_kbps=$(flood_kbps)
diag "unlimited flood: $free_kbps kbit/s"
ok '[ "$free_kbps" -gt $((5 * LIMIT)) ]' \
    "an unlimited flood exceeds 5x the limit to come"
np 1 vif-param-set uuid="$vif1" qos-algorithm-type=ratelimit \
    qos-algorithm-params:kbps=$LIMIT
meter_on() { ofctl dump-meters "$net_bridge" 2> /dev/null | grep -q "rate=$LIMIT"; }
wait_until 10 meter_on || true
is "$(vsctl get Interface vif1.0 ingress_policing_rate)" $LIMIT \
    "the rate limit is the interface's ingress_policing_rate"
ok 'meter_on' "and, on the userspace datapath, an OpenFlow meter"
limited_kbps=$(flood_kbps)
diag "flood limited to $LIMIT kbit/s: $limited_kbps kbit/s"
ok '[ "$limited_kbps" -lt $((3 * LIMIT)) ] && [ "$limited_kbps" -gt $((LIMIT / 3)) ]' \
    "a limited flood arrives at about the limit (within 3x)"
err=$(np 1 vif-param-set uuid="$vif1" qos-algorithm-params:kbps=fast 2>&1 \
    > /dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *"qos_algorithm_params:kbps, fast"* ]]' \
    "a bad rate: INVALID_VALUE(qos_algorithm_params:kbps, …)"
np 1 vif-param-set uuid="$vif1" qos-algorithm-type=
wait_until 10 eval '! meter_on' || true
ok '! meter_on && [ "$(vsctl get Interface vif1.0 ingress_policing_rate)" = 0 ]' \
    "removing the limit removes the meter and the policing"

# --- locking mode -------------------------------------------------------------

g 1 ip addr add 198.18.20.9/24 dev eth0
ok 'ping_ok 1 198.18.20.2 198.18.20.9' \
    "unlocked, a second address of the guest passes"
np 1 vif-param-set uuid="$vif1" locking-mode=locked ipv4-allowed=198.18.20.1
n_rules() { ofctl dump-flows --no-stats "$net_bridge" cookie=0x4e50564946000000/-1 2> /dev/null | grep -c cookie || true; }
wait_until 10 eval '[ "$(n_rules)" = 3 ]' || true
is "$(n_rules)" 3 "locked: netpool's rules (its cookie) are on the bridge"
g 2 ip neigh flush dev eth0
ok 'wait_until 10 ping_ok 1 198.18.20.2 198.18.20.1' \
    "locked: traffic from the allowed address and MAC passes"
ok '! ping_ok 1 198.18.20.2 198.18.20.9 && ! ping_ok 1 198.18.20.2 198.18.20.9' \
    "locked: traffic from an address not allowed is dropped"
g 1 ip link set eth0 address 02:00:00:00:be:ef
g 1 ip neigh flush dev eth0
g 2 ip neigh flush dev eth0
ok '! ping_ok 1 198.18.20.2 198.18.20.1 && ! ping_ok 1 198.18.20.2 198.18.20.1' \
    "locked: traffic from another MAC is dropped"
g 1 ip link set eth0 address "$mac1"
g 1 ip neigh flush dev eth0
ok 'wait_until 10 ping_ok 1 198.18.20.2 198.18.20.1' \
    "locked: back on its own MAC, the guest passes again"
ok 'ofctl dump-flows --no-stats "$net_bridge" | grep -q "priority=0 actions=NORMAL"' \
    "the bridge keeps its default NORMAL flow"
np 1 vif-param-set uuid="$vif1" locking-mode=unlocked
wait_until 10 eval '[ "$(n_rules)" = 0 ]' || true
ok 'wait_until 10 ping_ok 1 198.18.20.2 198.18.20.9' \
    "unlocked again: the rules go and every address passes"

# --- a netpoold restart loses no packet ------------------------------------

np 1 vif-param-set uuid="$vif1" locking-mode=locked \
    ipv4-allowed=198.18.20.1,198.18.20.9
wait_until 10 eval '[ "$(n_rules)" = 5 ]' || true
ids() {
    echo "$(on 1 cat /sys/class/net/vif1.0/ifindex)" \
        "$(g 1 cat /sys/class/net/eth0/ifindex)" \
        "$(vsctl get Interface vif1.0 _uuid)"
    ofctl dump-flows "$net_bridge" cookie=0x4e50564946000000/-1 |
        grep -o 'priority=[^ ]* actions=.*' | sort
}
ids_before=$(ids)
g 2 python3 "$UDP_SEQ" recv 5002 --seconds 60 --idle 3 \
    > "$STATE/stream.json" 2> "$STATE/stream.err" &
recv_pid=$!
wait_until 5 grep -qs ready "$STATE/stream.err" || true
g 1 python3 "$UDP_SEQ" send 198.18.20.2 5002 --pps 1000 --seconds 8 \
    > "$STATE/sent.json" &
send_pid=$!
sleep 2
topo_netpoold_stop 1 TERM
topo_netpoold_start 1
wait "$send_pid" || true
wait "$recv_pid" || true
sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$STATE/sent.json")
got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["received"], d["missing"], int(d["max_gap_ms"]))' "$STATE/stream.json")
diag "stream of $sent packets at 1000 pps across a restart: received, missing, longest gap (ms): $got"
is "${got%% *}" "$sent" "a netpoold restart during a 1000 pps stream loses no packet"
np 1 host-wait-applied timeout=60 > /dev/null
is "$(ids)" "$ids_before" \
    "the restart leaves the veth, the port and the rules as they were"

# --- unplug and destroy ---------------------------------------------------------

np 1 vif-unplug uuid="$vif1"
wait_until 10 port_gone vif1.0 || true
ok 'port_gone vif1.0 && ! on 1 test -e /sys/class/net/vif1.0 && ! g 1 test -e /sys/class/net/eth0' \
    "vif-unplug takes the port and the veth away"
is "$(n_rules)" 0 "and its rules"
np 1 vif-plug uuid="$vif1"
wait_until 10 has_port "$net_bridge" vif1.0 || true
g 1 ip addr add 198.18.20.1/24 dev eth0 2> /dev/null || true
ok 'wait_until 10 ping_ok 1 198.18.20.2 198.18.20.1' \
    "vif-plug brings it back, rules and all"
err=$(np 1 vm-destroy uuid="$vm2" 2>&1 > /dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *VM_HAS_VIFS* ]]' \
    "a VM with VIFs cannot be destroyed: VM_HAS_VIFS"
np 1 vif-destroy uuid="$vif2"
wait_until 10 port_gone vif2.0 || true
ok 'port_gone vif2.0 && ! on 1 test -e /sys/class/net/vif2.0' \
    "destroying a plugged VIF takes its port and veth away"
np 1 vm-destroy uuid="$vm2"
is "$(np 1 vm-list uuid="$vm2" --minimal)" "" "then its VM can go"

# --- VLANs isolate ---------------------------------------------------------------

if ! np 1 help vlan-create > /dev/null 2>&1; then
    skip "guests on VLAN 10 reach each other" "no vlan-create yet"
    skip "guests on VLAN 10 and VLAN 20 do not" "no vlan-create yet"
else
    eth1=$(np 1 pif-list device=eth1 --minimal)
    net10=$(np 1 network-create name-label=vlan10)
    net20=$(np 1 network-create name-label=vlan20)
    np 1 vlan-create pif-uuid="$eth1" vlan=10 network-uuid="$net10" > /dev/null
    np 1 vlan-create pif-uuid="$eth1" vlan=20 network-uuid="$net20" > /dev/null
    for n in 3 4 5; do
        vm=$(np 1 vm-create name-label=guest$n)
        vnet=$([ $n = 5 ] && echo "$net20" || echo "$net10")
        v=$(np 1 vif-create vm-uuid="$vm" network-uuid="$vnet" device=0 \
            other-config:netns="${PREFIX}h1g$n")
        np 1 vif-plug uuid="$v"
    done
    guest_up() { g "$1" test -e /sys/class/net/eth0; }
    wait_until 20 guest_up 5 || true
    for n in 3 4 5; do
        g $n ip addr add 198.18.21.$n/24 dev eth0
    done
    ok 'wait_until 10 ping_ok 3 198.18.21.4' \
        "guests on VLAN 10 reach each other"
    ok '! ping_ok 3 198.18.21.5 && ! ping_ok 5 198.18.21.4' \
        "guests on VLAN 10 and VLAN 20 do not"
fi
