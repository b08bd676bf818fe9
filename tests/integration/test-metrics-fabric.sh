#!/usr/bin/env bash
#
# test-metrics-fabric: what /metrics says of bonds, the datapath, networks,
# VMs and VIFs.  A LACP bond negotiated with the switch shows its members,
# their LACP state and LACPDUs; the datapath its lookups, flows and masks;
# a VIF that carried a known number of frames shows exactly them through a
# real Prometheus server, with its VM and VIF labels; frames a locked VIF
# sends from another address count as anti-spoofing drops of its network,
# a flood over a VIF's rate limit as rate-limit drops; a VM's power state,
# vCPUs and memory are there; promtool accepts the whole page.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 17

TOPO_NICS=4
topo_switch_up
ip netns exec "${PREFIX}switch" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
topo_host_up 1
on 1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 || true
for g in 1 2; do
    topo_guest_up 1 "$g"
    # No IPv6 chatter: the guest's frames are the test's only.
    ip netns exec "${PREFIX}h1g$g" sysctl -qw \
        net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done

metrics() { on 1 curl -sS --max-time 10 http://127.0.0.1:9440/metrics; }
value() { # SERIES (name{labels} as a regex): its value, or nothing
    local page
    page=$(metrics 2> /dev/null) || return 0
    awk -v re="^$1 " '$0 ~ re {print $NF; exit}' <<< "$page"
}
send_frames() { # NAMESPACE DEVICE COUNT HEX-FRAME [GAP]: raw frames out of
    # DEVICE, GAP seconds apart (none: at once).  Paced frames all reach
    # OVS even on a busy machine, whose AF_PACKET socket drops a burst's
    # excess.
    ip netns exec "$1" python3 - "$2" "$3" "$4" "${5:-0}" << 'PY'
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
frame = bytes.fromhex(sys.argv[3])
gap = float(sys.argv[4])
for _ in range(int(sys.argv[2])):
    s.send(frame)
    if gap:
        time.sleep(gap)
PY
}

# --- a LACP bond with the switch -------------------------------------------

sw() { on switch ovs-vsctl --timeout=10 "$@"; }
sw del-port sw0 h1-eth2 -- del-port sw0 h1-eth3 -- \
    add-bond sw0 po1 h1-eth2 h1-eth3 lacp=active bond_mode=balance-tcp \
    other_config:lacp-time=fast
bnet=$(np 1 network-create name-label=bonded)
p2=$(np 1 pif-list device=eth2 --minimal)
p3=$(np 1 pif-list device=eth3 --minimal)
bond=$(np 1 bond-create network-uuid="$bnet" pif-uuids="$p2,$p3" mode=lacp \
    properties:lacp-time=fast properties:updelay=0)
np 1 event-wait class=bond links-up=2 timeout=30 > /dev/null || true
b="bond=\"$bond\",device=\"bond0\""
wait_until 30 eval '[ "$(value "netpool_bond_active_members\{$b.*")" = 2 ]' ||
    true
is "$(value "netpool_bond_members\{$b.*")/$(value \
    "netpool_bond_active_members\{$b.*")" "2/2" \
    "netpool_bond_members and _active_members: 2 of 2"
current() { # MEMBER: 1 if its LACP state is current
    value "netpool_bond_member_lacp_state\{$b.*member=\"$1\".*state=\"current\"\}"
}
wait_until 30 eval '[ "$(current eth2)$(current eth3)" = 11 ]' || true
is "$(current eth2)$(current eth3)" 11 \
    "netpool_bond_member_lacp_state: both members current"
is "$(value "netpool_bond_member_lacp_state\{$b.*member=\"eth2\".*state=\"expired\"\}")" \
    0 "and not expired"
pdus() { value "netpool_bond_member_lacpdus_$1_total\{$b.*member=\"$2\".*"; }
wait_until 30 eval '[ "$(pdus received eth2)" -gt 0 ] 2> /dev/null' || true
ok '[ "$(pdus received eth2)" -gt 0 ] && [ "$(pdus sent eth2)" -gt 0 ]' \
    "LACPDUs received and sent on eth2 ($(pdus received eth2)/$(pdus sent \
    eth2)) count"
rx_switch=$(on switch ovs-appctl lacp/show-stats po1 |
    awk '/member: h1-eth3/ {m = 1} m && /RX PDUs/ {print $NF; exit}')
ok '[ "$(pdus sent eth3)" -gt 0 ] && [ -n "$rx_switch" ]' \
    "the switch receives what eth3 sends ($rx_switch LACPDUs)"

# --- VIFs: a known number of frames through Prometheus ----------------------

net=$(np 1 network-create name-label=guests)
vm1=$(np 1 vm-create name-label=guest1)
vm2=$(np 1 vm-create name-label=guest2)
np 1 vm-param-set uuid="$vm1" VCPUs-max=2 2> /dev/null || true
vif1=$(np 1 vif-create vm-uuid="$vm1" network-uuid="$net" device=0 \
    other-config:netns="${PREFIX}h1g1")
vif2=$(np 1 vif-create vm-uuid="$vm2" network-uuid="$net" device=0 \
    other-config:netns="${PREFIX}h1g2")
mac1=$(np 1 vif-param-get uuid="$vif1" param-name=MAC)
mac2=$(np 1 vif-param-get uuid="$vif2" param-name=MAC)
np 1 vif-plug uuid="$vif1"
np 1 vif-plug uuid="$vif2"
vifq="netpool_interface_receive_packets_total{vif=\"$vif1\",vm=\"$vm1\"}"
wait_until 30 eval '[ -n "$(value "netpool_interface_receive_packets_total\{.*vif=\"$vif1\".*")" ]' ||
    true

prometheus_up 1
wait_until 60 eval '[ -n "$(promql "$vifq")" ]' || true
before=$(promql "$vifq")
[ -n "$before" ] || diag "$(prometheus_log)"
# 400 frames from guest 1 (its MAC, to nobody), which OVS receives on vif1.0.
send_frames "${PREFIX}h1g1" eth0 400 \
    "02aabbccddee${mac1//:/}88b5$(printf '00%.0s' {1..46})" 0.002
want=$((${before:-0} + 400))
wait_until 30 eval '[ "$(promql "$vifq")" = "$want" ]' || true
is "$(promql "$vifq")" "$want" \
    "PromQL: the VIF's received packets, labelled with its VM, grew by 400"
prometheus_down

# --- VMs -----------------------------------------------------------------

is "$(value "netpool_vm_power_state\{vm=\"$vm1\",state=\"Halted\"\}")/$(value \
    "netpool_vm_power_state\{vm=\"$vm1\",state=\"Running\"\}")" "1/0" \
    "netpool_vm_power_state: guest1 is Halted"
is "$(value "netpool_vm_vcpus\{vm=\"$vm1\"\}")" \
    "$(np 1 vm-param-get uuid="$vm1" param-name=VCPUs-max)" \
    "netpool_vm_vcpus is the VM's VCPUs-max"
is "$(value "netpool_vm_memory_bytes\{vm=\"$vm1\"\}")" \
    "$(np 1 vm-param-get uuid="$vm1" param-name=memory-static-max)" \
    "netpool_vm_memory_bytes is its memory-static-max"

# --- networks: netpool's rules ----------------------------------------------

n="network=\"$net\""
drops() { value "netpool_network_antispoof_drop_packets_total\{$n.*"; }
np 1 vif-param-set uuid="$vif1" locking-mode=locked ipv4-allowed=198.18.41.1
wait_until 30 eval '[ "$(value "netpool_network_netpool_rules\{$n.*")" -gt 0 ] 2> /dev/null' ||
    true
ok '[ "$(value "netpool_network_netpool_rules\{$n.*")" -gt 0 ] &&
    [ "$(value "netpool_network_openflow_flows\{$n.*")" -ge \
    "$(value "netpool_network_netpool_rules\{$n.*")" ]' \
    "locking mode: netpool's rules counted among the bridge's OpenFlow rules"
drops0=$(drops)
# 300 IPv4 frames from guest 1 with a source address it may not use.
ipv4="4500002e0000400040110000c61229 63c6122902$(printf '00%.0s' {1..26})"
send_frames "${PREFIX}h1g1" eth0 300 "ffffffffffff${mac1//:/}0800${ipv4// /}" \
    0.002
wait_until 30 eval '[ "$(drops)" = $((${drops0:-0} + 300)) ]' || true
is "$(drops)" "$((${drops0:-0} + 300))" \
    "300 spoofed frames: netpool_network_antispoof_drop_packets_total +300"

np 1 vif-param-set uuid="$vif2" qos-algorithm-type=ratelimit \
    qos-algorithm-params:kbps=1000
meter_up() { on 1 ovs-ofctl -O OpenFlow13 dump-meters "$(np 1 \
    network-param-get uuid="$net" param-name=bridge)" | grep -q kbps; }
wait_until 30 meter_up || true
# 3000 frames of 1400 bytes at once: far over 1 Mbit/s.
send_frames "${PREFIX}h1g2" eth0 3000 \
    "02aabbccddee${mac2//:/}88b5$(printf '00%.0s' {1..1386})"
rl() { value "netpool_network_ratelimit_drop_packets_total\{$n.*"; }
wait_until 30 eval '[ "$(rl)" -gt 0 ] 2> /dev/null' || true
ok '[ "$(rl)" -gt 0 ]' \
    "a flood over the rate limit: netpool_network_ratelimit_drop_packets_total ($(rl))"

# --- the datapath -------------------------------------------------------------

dp='datapath="netdev@ovs-netdev"'
ok '[ "$(value "netpool_datapath_hits_total\{$dp\}")" -gt 0 ]' \
    "netpool_datapath_hits_total counts ($(value "netpool_datapath_hits_total\{$dp\}"))"
ok '[ -n "$(value "netpool_datapath_misses_total\{$dp\}")" ] &&
    [ -n "$(value "netpool_datapath_lost_total\{$dp\}")" ]' \
    "netpool_datapath_misses_total and _lost_total are there"
ok '[ -n "$(value "netpool_datapath_flows\{$dp\}")" ]' \
    "netpool_datapath_flows is there"
ok '[ "$(value "netpool_datapath_masks\{$dp\}")" -ge 0 ]' \
    "netpool_datapath_masks is there ($(value "netpool_datapath_masks\{$dp\}"))"

page=$(metrics)
lint=$(promtool check metrics <<< "$page" 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] || diag "$lint"
is "$rc" 0 "promtool check metrics accepts the page with all of it"
