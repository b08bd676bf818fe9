#!/usr/bin/env bash
#
# test-bond-failover: what bonds do when a member fails.  active-backup on
# plain switch ports: one member carries the traffic; pulling its carrier
# moves traffic to the other and the switch learns the bond's MAC on the
# new port (from OVS's learning packets, with no traffic of ours);
# carrier back, it fails back to the primary.  balance-slb: each source
# MAC stays on one member.  BFD (properties:bfd=true) against a switch-side
# bond with BFD: a member that keeps carrier but stops receiving (an
# nftables egress drop on the switch side) is taken out, traffic goes on,
# BOND_STATUS_CHANGED is raised, and the member rejoins when the fault
# clears.
#
# shellcheck disable=SC2016,SC2034  # ok evaluates its condition later
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 26

topo_switch_up
topo_host_up 1
# The switch namespace's own IP stack sees the frames of its veth ports;
# keep it from answering ARP through them (a real switch never does), so
# that only sw0 answers.
for j in 0 1 2 3; do
    on switch sysctl -qw "net.ipv4.conf.h1-eth$j.arp_ignore=8"
done

vsctl() { on 1 ovs-vsctl --timeout=10 "$@"; }
sw() { on switch ovs-vsctl --timeout=10 "$@"; }
pif() { np 1 pif-list device="$1" --minimal; }
pif_param() { np 1 pif-param-get uuid="$(pif "$1")" param-name="$2"; }
bond_param() { np 1 bond-param-get uuid="$bond" param-name="$1"; }
ofport() { sw get Interface "$1" ofport; }
# The sw0 port on which the switch has learned MAC $1.
fdb_port() {
    on switch ovs-appctl fdb/show sw0 | awk -v mac="$1" '$3 == mac {print $1}'
}
reaches() { on "${2:-1}" ping -c 1 -W 1 "$1" > /dev/null; }

wait_until 20 eval '[ "$(vsctl list-br | wc -l)" = 4 ]' || true
p1=$(pif eth1) p2=$(pif eth2)
net=$(np 1 network-create name-label=failover)
bridge=$(np 1 network-param-get uuid="$net" param-name=bridge)

# --- active-backup on plain switch ports ---------------------------------

bond=$(np 1 bond-create network-uuid="$net" pif-uuids="$p1,$p2" \
    mode=active-backup properties:updelay=0)
wait_until 20 eval 'on 1 ip link show "$bridge" > /dev/null 2>&1' || true
on 1 ip link set "$bridge" up
on 1 ethtool -K "$bridge" tx off > /dev/null
on 1 ip addr add 198.18.41.1/24 dev "$bridge"
on switch ip addr add 198.18.41.254/24 dev sw0
ok 'wait_until 20 reaches 198.18.41.254' "traffic crosses the bond"
np 1 event-wait class=bond links-up=2 timeout=20 > /dev/null || true
is "$(bond_param active-slave)" "$p1" "the primary member is active"
is "$(vsctl get Port bond0 other_config:bond-primary)" eth1 \
    "OVS knows the primary"
mac=$(np 1 pif-param-get uuid="$(bond_param master)" param-name=MAC)
is "$(fdb_port "$mac")" "$(ofport h1-eth1)" \
    "the switch learned the bond's MAC on the active member's port"

np 1 message-list name=BOND_STATUS_CHANGED --minimal | tr ',' '\n' |
    grep . > /dev/null && old_messages=yes || old_messages=no
on switch ip link set h1-eth1 down
np 1 event-wait class=bond active-slave="$p2" timeout=20 > /dev/null || true
is "$(bond_param active-slave)" "$p2" \
    "pulling the active member's carrier makes the other active"
is "$(bond_param links-up)/$(pif_param eth1 carrier)" "1/false" \
    "one link is up; the pulled member has no carrier"
wait_until 10 eval '[ "$(fdb_port "$mac")" = "$(ofport h1-eth2)" ]' || true
is "$(fdb_port "$mac")" "$(ofport h1-eth2)" \
    "the switch learns the MAC on the new port (gratuitous learning packets)"
ok 'wait_until 10 reaches 198.18.41.254' "traffic goes on over the backup"
ok 'np 1 message-list name=BOND_STATUS_CHANGED params=body |
        grep -q "eth1+eth2 bond changed: 1/2 up"' \
    "BOND_STATUS_CHANGED says 1/2 up"

on switch ip link set h1-eth1 up
np 1 event-wait class=bond active-slave="$p1" links-up=2 timeout=20 \
    > /dev/null || true
is "$(bond_param active-slave)/$(bond_param links-up)" "$p1/2" \
    "carrier back, it fails back to the primary"
ok 'wait_until 10 reaches 198.18.41.254' "and traffic flows"

# --- balance-slb: each source MAC stays on one member --------------------

np 1 bond-set-mode uuid="$bond" mode=balance-slb
wait_until 10 eval '[ "$(vsctl get Port bond0 bond_mode)" = balance-slb ]' ||
    true
is "$(vsctl get Port bond0 bond_mode)/$(vsctl get Port bond0 \
    other_config:bond-rebalance-interval)" 'balance-slb/"1800000"' \
    "bond-set-mode makes it balance-slb, rebalanced every 30 minutes"

# Namespace guests on the bond's bridge, each with its own MAC (named like
# hosts, h91…, so that the topology's teardown removes them).
guests=(91 92 93 94)
for g in "${guests[@]}"; do
    ns=$(topo_ns "h$g")
    ip netns add "$ns"
    ip -n "$(topo_ns 1)" link add "g$g" type veth peer name eth0 netns "$ns"
    ip -n "$(topo_ns 1)" link set "g$g" up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" addr add "198.18.41.$g/24" dev eth0
    ip netns exec "$ns" ethtool -K eth0 tx off > /dev/null
    vsctl add-port "$bridge" "g$g"
done
for g in "${guests[@]}"; do
    wait_until 10 ip netns exec "$(topo_ns "h$g")" \
        ping -c 1 -W 1 198.18.41.254 > /dev/null || true
done
guest_macs=()
for g in "${guests[@]}"; do
    guest_macs+=("$(ip -n "$(topo_ns "h$g")" -br link show eth0 |
        awk '{print $3}')")
done
ports_of_guests() {
    local m
    for m in "${guest_macs[@]}"; do
        printf '%s ' "$(fdb_port "$m")"
    done
}
first=$(ports_of_guests)
member_ports=" $(ofport h1-eth1) $(ofport h1-eth2) "
spread=yes
for p in $first; do
    [[ $member_ports == *" $p "* ]] || spread=no
done
is "$spread/$(echo "$first" | wc -w)" "yes/4" \
    "the switch learned every guest MAC on a member's port"
for g in "${guests[@]}"; do
    ip netns exec "$(topo_ns "h$g")" ping -q -i 0.05 -c 60 -W 1 \
        198.18.41.254 > /dev/null 2>&1 &
done
same=yes
for _ in 1 2 3 4 5 6; do
    sleep 0.5
    [ "$(ports_of_guests)" = "$first" ] || same=no
done
wait
is "$same" yes "each source MAC stays on its member while traffic flows"
slb=$(on 1 ovs-appctl bond/show bond0)
ok '[[ $slb == *"member eth1: enabled"* && $slb == *"member eth2: enabled"* ]]' \
    "both members are enabled in balance-slb"

# --- BFD: a silent member against a switch-side bond ---------------------

sw del-port sw0 h1-eth1 -- del-port sw0 h1-eth2 -- \
    add-bond sw0 ab1 h1-eth1 h1-eth2 bond_mode=active-backup \
    other_config:bond-primary=h1-eth1 bond_updelay=0 -- \
    set Interface h1-eth1 bfd:enable=true bfd:min_rx=100 bfd:min_tx=100 -- \
    set Interface h1-eth2 bfd:enable=true bfd:min_rx=100 bfd:min_tx=100
np 1 bond-set-mode uuid="$bond" mode=active-backup
np 1 bond-param-set uuid="$bond" properties:bfd=true \
    properties:bfd-min-rx=100 properties:bfd-min-tx=100
is "$(vsctl get Interface eth1 bfd:enable)/$(vsctl get Interface eth2 \
    bfd:min_rx)" '"true"/"100"' "BFD runs on every member"
np 1 event-wait class=pif device=eth1 bfd-state=up timeout=20 > /dev/null ||
    true
np 1 event-wait class=pif device=eth2 bfd-state=up timeout=20 > /dev/null ||
    true
is "$(pif_param eth1 bfd-state)/$(pif_param eth2 bfd-state)" "up/up" \
    "BFD comes up on both members"
ok 'wait_until 20 reaches 198.18.41.254' "traffic crosses the BFD bond"

down_messages() {
    np 1 message-list name=BOND_STATUS_CHANGED params=body |
        grep -c "changed: 1/2 up" || true
}
before=$(down_messages)
on switch nft add table netdev npbfd
on switch nft add chain netdev npbfd silent \
    '{ type filter hook egress device h1-eth1 priority 0; policy accept; }'
on switch nft add rule netdev npbfd silent drop
np 1 event-wait class=pif device=eth1 bond-member-state=disabled timeout=20 \
    > /dev/null || true
is "$(pif_param eth1 bond-member-state)/$(pif_param eth1 carrier)" \
    "disabled/true" "BFD takes the silent member out though it has carrier"
is "$(pif_param eth1 bfd-state)/$(bond_param active-slave)" "down/$p2" \
    "its BFD is down and the other member is active"
ok 'wait_until 10 reaches 198.18.41.254' "traffic goes on"
ok 'wait_until 10 eval "[ \$(down_messages) -gt $before ]"' \
    "BOND_STATUS_CHANGED says 1/2 up again"

on switch nft delete table netdev npbfd
np 1 event-wait class=pif device=eth1 bond-member-state=enabled timeout=30 \
    > /dev/null || true
is "$(pif_param eth1 bfd-state)/$(pif_param eth1 bond-member-state)" \
    "up/enabled" "the member rejoins when the fault clears"
np 1 event-wait class=bond links-up=2 timeout=10 > /dev/null || true
is "$(bond_param links-up)" 2 "both links are up again"
ok 'wait_until 10 reaches 198.18.41.254' "and traffic flows"
ok '[ "$old_messages" = no ]' "no message was raised before the first fault"
