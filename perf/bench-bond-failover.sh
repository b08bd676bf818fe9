#!/usr/bin/env bash
#
# bench-bond-failover.sh [TRIALS]
#
# Loss window of a bond when the member carrying a flow fails, per bond
# mode (active-backup, balance-slb, lacp), per fault (carrier loss; a
# silent member that keeps carrier but passes nothing, made with an
# nftables egress drop on the sending side) and per direction (in: switch
# to host; out: host to switch), for netpool's bond and, in the same run,
# for an OVS bond configured by hand with xapi's defaults (the baseline):
# bond-detect-mode=miimon, bond-miimon-interval=100, bond_downdelay=200,
# bond_updelay=31000, lacp-time slow, no BFD.
#
# Topology (scripts/topology.sh; addresses in 198.18.42.0/24 and
# 198.18.43.0/24): a switch namespace whose OVS bonds hN-eth1+hN-eth2 the
# same way as the host side (active-backup with bond-primary, balance-slb,
# or LACP active balance-tcp with lacp-time fast); host h1 runs netpoold
# (release build) with a bond of eth1+eth2 made through the CLI with
# properties updelay=0 downdelay=0 bfd=true bfd-min-rx=100 bfd-min-tx=100
# (and lacp-time=fast for lacp), the switch running BFD on h1's ports;
# host h2 has no netpoold and its OVS bond is made with ovs-vsctl.  A
# sequence-numbered UDP stream (perf/bond-probe.py, 2000 datagrams a
# second) runs between the switch and an address on the bond's bridge;
# after a second the member carrying it on the sending side (the one whose
# tx counter moves) fails.  The loss window is lost datagrams / rate; a
# failure the bond never detects loses the rest of the stream ("not
# detected").  Between trials the fault clears and the bond becomes whole
# again (the baseline's updelay is lowered while it does, then restored).
# Prints the median, min and max of TRIALS (default 3) per case and the
# ratio of the medians, baseline / netpool.
# shellcheck disable=SC2016  # wait_for evaluates its condition later
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"

TRIALS=${1:-3}
PPS=2000
CARRIER_SECONDS=2
SILENT_SECONDS=4
PREFIX=npbf$$-
STATE=$(mktemp -d /tmp/netpool-bench-bond.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$TOP/build/bin}
PROBE=$TOP/perf/bond-probe.py
export PREFIX STATE NETPOOL_BIN

cleanup() { topo_down > /dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

on() { topo_on "$@"; }
np() { on 1 netpool "$@"; }
sw() { on switch ovs-vsctl --timeout=20 "$@"; }
log() { echo "# $*" >&2; }

# Runs CMD every 0.2 s until it succeeds or TIMEOUT seconds pass.
wait_for() {
    local timeout=$1 deadline
    shift
    deadline=$((SECONDS + timeout))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

# True when bond PORT of NODE has COUNT enabled members.
bond_enabled() {
    local node=$1 port=$2 count=$3
    [ "$(on "$node" ovs-appctl bond/show "$port" 2> /dev/null |
        grep -c '^member .*: enabled')" = "$count" ]
}

# Configures the switch side of host N for MODE, with BFD on its members
# when the third argument is "bfd".
switch_bond() {
    local n=$1 mode=$2 bfd=${3:-} args=()
    sw -- --if-exists del-port sw0 "sb$n" \
        -- --if-exists del-port sw0 "h$n-eth1" \
        -- --if-exists del-port sw0 "h$n-eth2"
    case $mode in
        active-backup)
            args=(bond_mode=active-backup "other_config:bond-primary=h$n-eth1")
            ;;
        balance-slb) args=(bond_mode=balance-slb) ;;
        lacp)
            args=(lacp=active bond_mode=balance-tcp other_config:lacp-time=fast)
            ;;
    esac
    sw add-bond sw0 "sb$n" "h$n-eth1" "h$n-eth2" "${args[@]}" bond_updelay=0
    if [ "$bfd" = bfd ]; then
        for j in 1 2; do
            sw set Interface "h$n-eth$j" bfd:enable=true bfd:min_rx=100 \
                bfd:min_tx=100
        done
    fi
}

# netpool's bond on h1 for MODE, through the CLI.
netpool_bond() {
    local mode=$1 old props=(properties:updelay=0 properties:downdelay=0
        properties:bfd=true properties:bfd-min-rx=100
        properties:bfd-min-tx=100)
    old=$(np bond-list --minimal)
    [ -z "$old" ] || np bond-destroy uuid="$old"
    [ "$mode" != lacp ] || props+=(properties:lacp-time=fast)
    np bond-create network-uuid="$NET" pif-uuids="$P1,$P2" mode="$mode" \
        "${props[@]}" > /dev/null
    wait_for 20 on 1 ip link show "$BRIDGE" > /dev/null 2>&1
    on 1 ip link set "$BRIDGE" up
    on 1 ethtool -K "$BRIDGE" tx off > /dev/null
    on 1 ip addr replace 198.18.42.1/24 dev "$BRIDGE"
}

# The hand-made OVS bond on h2 for MODE, with xapi's defaults (its updelay
# stays 0 until the bond is whole: see bond_ready).
hand_bond() {
    local mode=$1 args=()
    case $mode in
        active-backup)
            args=(bond_mode=active-backup other_config:bond-primary=eth1) ;;
        balance-slb) args=(bond_mode=balance-slb) ;;
        lacp)
            args=(lacp=active bond_mode=balance-tcp other_config:lacp-time=slow
                other_config:lacp-fallback-ab=true)
            ;;
    esac
    on 2 ovs-vsctl --timeout=20 -- --if-exists del-br brb -- add-br brb \
        -- set Bridge brb datapath_type=netdev
    on 2 ovs-vsctl --timeout=20 add-bond brb bond0 eth1 eth2 "${args[@]}" \
        other_config:bond-detect-mode=miimon \
        other_config:bond-miimon-interval=100 bond_downdelay=200 \
        bond_updelay=0
    wait_for 20 on 2 ip link show brb > /dev/null 2>&1
    on 2 ip link set brb up
    on 2 ethtool -K brb tx off > /dev/null
    on 2 ip addr replace 198.18.43.1/24 dev brb
}

# Waits until both ends of host N's bond have both members enabled; the
# baseline then gets xapi's updelay back.
bond_ready() {
    local n=$1
    wait_for 90 bond_enabled "$n" bond0 2 || log "h$n: bond not whole"
    wait_for 30 bond_enabled switch "sb$n" 2 || log "switch: sb$n not whole"
    if [ "$n" = 2 ]; then
        on 2 ovs-vsctl set Port bond0 bond_updelay=31000
    fi
}

tx_packets() { on "$1" cat "/sys/class/net/$2/statistics/tx_packets"; }

# One trial of FAULT on host N's bond with the stream going DIRECTION
# ("in" or "out"); the member that fails is the one carrying the stream on
# the sending side.  Prints the loss window in ms, or "-" when the stream
# never came back.
trial() {
    local n=$1 fault=$2 direction=$3 port=$4 seconds sender receiver dst
    local where a b a1 a2 b1 b2 member cable
    seconds=$CARRIER_SECONDS
    [ "$fault" = carrier ] || seconds=$SILENT_SECONDS
    if [ "$direction" = in ]; then
        sender=switch receiver=$n dst=198.18.4$((n + 1)).1
        where=switch a=h$n-eth1 b=h$n-eth2
    else
        sender=$n receiver=switch dst=198.18.4$((n + 1)).254
        where=$n a=eth1 b=eth2
    fi
    on "$receiver" python3 "$PROBE" recv "$port" "$((seconds + 1))" \
        > "$STATE/recv.json" 2> /dev/null &
    local recv_pid=$!
    sleep 0.3
    on "$sender" python3 "$PROBE" send "$dst" "$port" "$PPS" "$seconds" \
        > "$STATE/send.json" &
    local send_pid=$!
    sleep 0.7
    a1=$(tx_packets "$where" "$a") b1=$(tx_packets "$where" "$b")
    sleep 0.3
    a2=$(tx_packets "$where" "$a") b2=$(tx_packets "$where" "$b")
    member=$a
    [ $((a2 - a1)) -ge $((b2 - b1)) ] || member=$b
    cable=h$n-eth${member##*eth} # The switch-side end of its cable.
    if [ "$fault" = carrier ]; then
        ip -n "$(topo_ns switch)" link set "$cable" down
    else
        on "$where" nft add table netdev npbench
        on "$where" nft add chain netdev npbench silent \
            "{ type filter hook egress device $member priority 0; }"
        on "$where" nft add rule netdev npbench silent drop
    fi
    wait "$send_pid" "$recv_pid" || true
    if [ "$fault" = carrier ]; then
        ip -n "$(topo_ns switch)" link set "$cable" up
    else
        on "$where" nft delete table netdev npbench
    fi
    if [ "$n" = 2 ]; then
        on 2 ovs-vsctl set Port bond0 bond_updelay=0
    fi
    python3 - "$STATE/send.json" "$STATE/recv.json" "$PPS" << 'PY'
import json, sys
sent = json.load(open(sys.argv[1]))["sent"]
recv = json.load(open(sys.argv[2]))
pps = int(sys.argv[3])
# The tail never came back: the failure was not detected.
if recv["highest"] < sent - pps // 5:
    print("-")
else:
    print("%.1f" % ((sent - recv["received"]) * 1000.0 / pps))
PY
}

# Median, min and max of the values given ("-": not detected).
summary() {
    python3 - "$@" << 'PY'
import statistics, sys
values = sys.argv[1:]
numbers = sorted(float(v) for v in values if v != "-")
if len(numbers) < len(values):
    print("not detected (%d/%d)" % (len(values) - len(numbers), len(values)))
else:
    print("%.1f [%.1f-%.1f]" % (statistics.median(numbers), numbers[0],
                                numbers[-1]))
PY
}

# baseline / netpool of two summaries.
ratio() {
    python3 - "$1" "$2" << 'PY'
import sys
def median(s):
    return None if s.startswith("not") else float(s.split()[0])
netpool, baseline = median(sys.argv[1]), median(sys.argv[2])
if netpool is None:
    print("-")
elif baseline is None:
    print("inf (never detected)")
elif netpool == 0:
    print("inf" if baseline > 0 else "1.0")
else:
    print("%.1f" % (baseline / netpool))
PY
}

log "building the topology (netpoold from $NETPOOL_BIN)"
topo_switch_up
topo_host_up 1
TOPO_NETPOOLD=0 topo_host_up 2
for n in 1 2; do
    # A switch never answers ARP through its ports (see test-bond.sh).
    for j in 0 1 2 3; do
        on switch sysctl -qw "net.ipv4.conf.h$n-eth$j.arp_ignore=8"
    done
done
# What netpool does for its members, done by hand for the baseline.
for j in 1 2; do
    on 2 sysctl -qw "net.ipv4.conf.eth$j.arp_ignore=1" \
        "net.ipv4.conf.eth$j.rp_filter=1"
done
on switch ip addr add 198.18.42.254/24 dev sw0
on switch ip addr add 198.18.43.254/24 dev sw0
wait_for 30 eval '[ -n "$(np pif-list device=eth2 --minimal 2> /dev/null)" ]'
P1=$(np pif-list device=eth1 --minimal)
P2=$(np pif-list device=eth2 --minimal)
NET=$(np network-create name-label=bench-bond)
BRIDGE=$(np network-param-get uuid="$NET" param-name=bridge)

declare -A results
port=20000
for mode in active-backup balance-slb lacp; do
    log "mode $mode"
    switch_bond 1 "$mode" bfd
    switch_bond 2 "$mode"
    netpool_bond "$mode"
    hand_bond "$mode"
    for fault in carrier silent; do
        for direction in in out; do
            for n in 1 2; do
                values=()
                for ((t = 0; t < TRIALS; t++)); do
                    bond_ready "$n"
                    wait_for 20 on switch ping -c 1 -W 1 \
                        "198.18.4$((n + 1)).1" > /dev/null ||
                        log "h$n not reachable"
                    port=$((port + 1))
                    values+=("$(trial "$n" "$fault" "$direction" "$port")")
                done
                results[$mode/$fault/$direction/$n]=$(summary "${values[@]}")
                log "$mode $fault $direction h$n: ${values[*]}"
            done
        done
    done
done

echo "Bond failover loss window (ms; median [min-max] of $TRIALS trials," \
    "UDP at $PPS pps; in: switch to host, out: host to switch)"
echo "netpool: carrier detection, downdelay 0, updelay 0, BFD 100 ms" \
    "(both ends), lacp-time fast"
echo "baseline: OVS bond by hand, xapi defaults: miimon 100, downdelay 200," \
    "updelay 31000, lacp-time slow, no BFD"
printf '%-14s %-8s %-4s %-24s %-24s %s\n' mode fault dir netpool baseline \
    "baseline/netpool"
for mode in active-backup balance-slb lacp; do
    for fault in carrier silent; do
        for direction in in out; do
            a=${results[$mode/$fault/$direction/1]}
            b=${results[$mode/$fault/$direction/2]}
            printf '%-14s %-8s %-4s %-24s %-24s %s\n' "$mode" "$fault" \
                "$direction" "$a" "$b" "$(ratio "$a" "$b")"
        done
    done
done
