#!/usr/bin/env bash
#
# test-bond-failover: what bonds do when a member fails.  active-backup on
# plain switch ports: one member carries the traffic; pulling its carrier
# moves traffic to the other and the switch learns the bond's MAC on the
# new port (from OVS's learning packets, with no traffic of ours);
# carrier back, it fails back to the primary.  balance-slb: each source
# MAC stays on one member.  BFD (properties:bfd=true, netpool's defaults)
# in every mode, against a switch-side bond of the same mode with BFD
# (plain switch ports with BFD facing balance-slb): a
# member that keeps carrier but passes nothing (an nftables egress drop,
# on the switch's side of the cable, then on the host's) is taken out,
# traffic goes on, BOND_STATUS_CHANGED is raised, and the member rejoins
# when the fault clears; in active-backup both ends then agree on the
# member that carries traffic (both fail back to the primary) and traffic
# flows.  Each time a member's BFD session comes back, netpoold has OVS
# poll the far end at once (so both ends come up together) and then puts
# the configured min_tx back.  properties:failback=false (active-backup
# facing plain switch ports with BFD): OVS gets no primary, the member
# that carried traffic when its partner failed keeps it after the partner
# rejoins, and traffic flows.
#
# shellcheck disable=SC2016,SC2034  # ok evaluates its condition later
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 76

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

# --- BFD: a silent member, per mode, with netpool's defaults -------------

# The switch bonds h1-eth1+h1-eth2 the way the host does (active-backup
# with bond-primary, LACP), its members running BFD with the intervals,
# updelay and downdelay netpool gave its own.  Facing balance-slb, it has
# two plain ports running BFD, as a real switch has: SLB is the host's
# alone (an SLB bond on both sides would each drop the broadcasts the
# other sends on the member it does not take them from, ARP included).
switch_side() {
    local mode=$1 shape=${2:-} rx tx up down args=()
    rx=$(vsctl get Interface eth1 bfd:min_rx | tr -d '"')
    tx=$(vsctl get Interface eth1 bfd:min_tx | tr -d '"')
    up=$(vsctl get Port "$port" bond_updelay)
    down=$(vsctl get Port "$port" bond_downdelay)
    case $mode in
        active-backup)
            args=(bond_mode=active-backup other_config:bond-primary=h1-eth1)
            ;;
        lacp)
            args=(lacp=active bond_mode=balance-tcp other_config:lacp-time=fast)
            ;;
    esac
    if [ "$mode" = balance-slb ] || [ "$shape" = plain ]; then
        sw -- --if-exists del-port sw0 sb1 -- --if-exists del-port sw0 \
            h1-eth1 -- --if-exists del-port sw0 h1-eth2 \
            -- add-port sw0 h1-eth1 -- add-port sw0 h1-eth2
    else
        sw -- --if-exists del-port sw0 sb1 -- --if-exists del-port sw0 \
            h1-eth1 -- --if-exists del-port sw0 h1-eth2 \
            -- add-bond sw0 sb1 h1-eth1 h1-eth2 "${args[@]}" \
            bond_updelay="$up" bond_downdelay="$down"
    fi
    for j in 1 2; do
        sw set Interface "h1-eth$j" bfd:enable=true bfd:min_rx="$rx" \
            bfd:min_tx="$tx"
    done
}

# Drops every frame DEVICE of NODE sends, while its carrier stays up.
silence() {
    on "$1" nft add table netdev npbfd
    on "$1" nft add chain netdev npbfd silent \
        "{ type filter hook egress device $2 priority 0; policy accept; }"
    on "$1" nft add rule netdev npbfd silent drop
}
unsilence() { on "$1" nft delete table netdev npbfd; }

both_up() {
    echo "$(pif_param eth1 bfd-state)/$(pif_param eth2 bfd-state)/$(bond_param \
        links-up)"
}
rejoined() {
    echo "$(pif_param eth1 bfd-state)/$(pif_param eth1 bond-member-state)"
}
# The member OVS has active in bond PORT of NODE ("none" if none).
ovs_active() {
    on "$1" ovs-appctl bond/show "$2" |
        sed -n 's/^active member mac: .*(\(.*\))$/\1/p'
}
# "HOST-ACTIVE/SWITCH-ACTIVE", the switch's named as the host's member.
ends() {
    local a b
    a=$(ovs_active 1 "$port") b=$(ovs_active switch sb1)
    echo "$a/${b#h1-}"
}
# Both members enabled on both ends of the active-backup link.
whole() {
    [ "$(on 1 ovs-appctl bond/show "$port" | grep -c ': enabled$')" = 2 ] &&
        [ "$(on switch ovs-appctl bond/show sb1 | grep -c ': enabled$')" = 2 ]
}

# How many times netpoold had OVS poll the far end of a member's BFD.
bfd_polls() {
    grep -c "a member's BFD session changed" "$STATE/h1/netpoold.log" || true
}

min_tx_desired() {
    [ "$(vsctl get Interface eth1 bfd:min_tx)" = '"25"' ]
}

down_messages() {
    np 1 message-list name=BOND_STATUS_CHANGED params=body |
        grep -c "changed: 1/2 up" || true
}

np 1 bond-destroy uuid="$bond"
for mode in active-backup balance-slb lacp; do
    bond=$(np 1 bond-create network-uuid="$net" pif-uuids="$p1,$p2" \
        mode="$mode" properties:bfd=true)
    port=$(np 1 pif-param-get uuid="$(bond_param master)" param-name=device)
    ovs_mode=$mode
    [ "$mode" != lacp ] || ovs_mode=balance-tcp
    wait_until 20 eval '[ "$(vsctl get Port "$port" bond_mode 2> /dev/null)" \
        = "$ovs_mode" ]' || true
    if [ "$mode" = active-backup ]; then
        is "$(vsctl get Interface eth1 bfd:min_rx)/$(vsctl get Interface \
            eth2 bfd:min_tx)/$(vsctl get Port "$port" bond_updelay)/$(vsctl \
            get Port "$port" bond_downdelay)" '"25"/"25"/2000/0' \
            "properties:bfd=true: BFD every 25 ms, updelay 2000, downdelay 0"
    fi
    switch_side "$mode"
    wait_until 20 eval 'on 1 ip link show "$bridge" > /dev/null 2>&1' || true
    on 1 ip link set "$bridge" up
    on 1 ethtool -K "$bridge" tx off > /dev/null
    on 1 ip addr replace 198.18.41.1/24 dev "$bridge"
    wait_until 40 eval '[ "$(both_up)" = up/up/2 ]' || true
    is "$(both_up)" "up/up/2" "$mode: BFD comes up on both members"
    [ "$(both_up)" = up/up/2 ] || diag "$(on 1 ovs-appctl bond/show "$port")"
    ok 'wait_until 20 reaches 198.18.41.254' "$mode: traffic crosses the bond"

    # The switch's side of eth1 goes silent (in), then the host's (out).
    for where in switch 1; do
        device=h1-eth1
        [ "$where" = switch ] || device=eth1
        before=$(down_messages)
        silence "$where" "$device"
        np 1 event-wait class=pif device=eth1 bond-member-state=disabled \
            timeout=20 > /dev/null || true
        # Down, or init when it still hears the switch say it is down.
        bfd=$(pif_param eth1 bfd-state)
        [ "$bfd" = up ] || bfd=not-up
        is "$(pif_param eth1 bond-member-state)/$(pif_param eth1 \
            carrier)/$bfd" "disabled/true/not-up" \
            "$mode, $device silent: detected (out of the bond, carrier up)"
        ok 'wait_until 10 reaches 198.18.41.254' \
            "$mode, $device silent: traffic flows over the other member"
        ok 'wait_until 10 eval "[ \$(down_messages) -gt $before ]"' \
            "$mode, $device silent: BOND_STATUS_CHANGED says 1/2 up"
        polls=$(bfd_polls)
        unsilence "$where"
        # A busy machine can stall ovs-vswitchd past BFD's 75 ms and take
        # a member out for a moment: wait for the state, then check it.
        wait_until 40 eval '[ "$(rejoined)" = up/enabled ]' || true
        is "$(rejoined)" "up/enabled" "$mode, $device back: the member rejoins"
        [ "$(rejoined)" = up/enabled ] ||
            diag "$(on 1 ovs-appctl bond/show "$port")"
        # When eth1's session left down and came up, netpoold had OVS poll
        # the switch at once (with another min_tx), then put min_tx back.
        ok 'wait_until 10 eval "[ \$(bfd_polls) -gt $polls ]"' \
            "$mode, $device back: netpoold had OVS poll the far end"
        ok 'wait_until 10 min_tx_desired' \
            "$mode, $device back: BFD's min_tx is as configured again"
        ok 'wait_until 10 reaches 198.18.41.254' \
            "$mode, $device back: traffic flows"
        if [ "$mode" = active-backup ]; then
            # Each end fails back to its primary on its own timing (its
            # updelay runs from its own BFD session's coming up): wait
            # until both have, then they must agree.
            wait_until 40 eval 'whole && [ "$(ends)" = eth1/eth1 ]' || true
            is "$(ends)" eth1/eth1 \
                "$mode, $device back: both ends carry traffic on the primary"
            ok 'wait_until 10 reaches 198.18.41.254' \
                "$mode, $device back: traffic flows between the two ends"
        fi
    done
    np 1 bond-destroy uuid="$bond"
done

# --- active-backup without failback, facing plain switch ports ---------

# BFD every 100 ms here: which member OVS keeps is the point, and on a
# loaded machine an ovs-vswitchd stall past three 25 ms intervals takes
# the active member down and makes the other one active (seen in a
# parallel make check).
bond=$(np 1 bond-create network-uuid="$net" pif-uuids="$p1,$p2" \
    mode=active-backup properties:bfd=true properties:failback=false \
    properties:bfd-min-rx=100 properties:bfd-min-tx=100)
port=$(np 1 pif-param-get uuid="$(bond_param master)" param-name=device)
wait_until 20 eval '[ "$(vsctl get Port "$port" bond_mode 2> /dev/null)" \
    = active-backup ]' || true
ok '! vsctl get Port "$port" other_config:bond-primary > /dev/null 2>&1' \
    "failback=false: OVS has no primary member"
switch_side active-backup plain
wait_until 20 eval 'on 1 ip link show "$bridge" > /dev/null 2>&1' || true
on 1 ip link set "$bridge" up
on 1 ethtool -K "$bridge" tx off > /dev/null
on 1 ip addr replace 198.18.41.1/24 dev "$bridge"
member_state() {
    on 1 ovs-appctl bond/show "$port" | sed -n "s/^member $1: //p"
}
# What OVS does is the point here: read it, not the runtime fields.
wait_until 40 eval '[ "$(member_state eth1)/$(member_state eth2)" \
    = enabled/enabled ]' || true
is "$(member_state eth1)/$(member_state eth2)" enabled/enabled \
    "failback=false: BFD brings both members up"
ok 'wait_until 20 reaches 198.18.41.254' "failback=false: traffic crosses"
# The first member BFD brought up carries traffic: silence that one.
first=$(ovs_active 1 "$port")
other=eth2
[ "$first" != eth2 ] || other=eth1
silence switch "h1-$first"
wait_until 20 eval '[ "$(ovs_active 1 "$port")" = "$other" ]' || true
is "$(ovs_active 1 "$port")" "$other" \
    "failback=false, $first silent: $other carries traffic"
ok 'wait_until 10 reaches 198.18.41.254' \
    "failback=false, $first silent: traffic flows"
unsilence switch
wait_until 40 eval '[ "$(member_state "$first")" = enabled ]' || true
is "$(member_state "$first")/$(ovs_active 1 "$port")" "enabled/$other" \
    "failback=false, $first back: it rejoins, $other keeps the traffic"
ok 'wait_until 10 reaches 198.18.41.254' \
    "failback=false, $first back: traffic flows"
np 1 bond-destroy uuid="$bond"

ok '[ "$old_messages" = no ]' "no message was raised before the first fault"
