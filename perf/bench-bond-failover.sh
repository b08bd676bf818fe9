#!/usr/bin/env bash
#
# bench-bond-failover.sh [TRIALS]
#
# Loss of a bond when the member carrying a flow fails (the failure
# window) and when it comes back (the rejoin window), per bond mode
# (active-backup, balance-slb, lacp), per fault (carrier loss; a silent
# member that keeps carrier but passes nothing, made with an nftables
# egress drop on the sending side) and per direction (in: switch to host;
# out: host to switch), for netpool's bond with its defaults and, in the
# same run, for an OVS bond configured by hand with xapi's defaults (the
# baseline): bond-detect-mode=miimon, bond-miimon-interval=100,
# bond_downdelay=200, bond_updelay=31000, lacp-time slow, no BFD.
#
# Topology (scripts/topology.sh; addresses in 198.18.42.0/24 and
# 198.18.43.0/24): host h1 runs netpoold (release build) with a bond of
# eth1+eth2 made through the CLI with properties:bfd=true and nothing else
# (plus $NETPOOL_BOND_PROPERTIES, e.g. "properties:bfd-min-rx=30
# properties:bfd-min-tx=30", to try other settings); host h2 has no
# netpoold and its OVS bond is made with ovs-vsctl.  The switch bonds
# hN-eth1+hN-eth2 the way the host does (active-backup with bond-primary,
# which it leaves out facing a netpool bond that has none, as
# properties:failback=false makes it; balance-slb; or LACP active
# balance-tcp with lacp-time fast) and
# detects failures the same way: facing netpool its members run BFD with
# the intervals, updelay and downdelay netpool gave its own; facing the
# baseline it uses miimon with xapi's delays.  Both ends run the same
# rules, as two hosts cabled back to back would.
#
# One trial: a sequence-numbered UDP stream (perf/bond-probe.py, 2000
# datagrams a second) runs between the switch and an address on the bond's
# bridge, with 20 pings a second going back (as a real peer's replies,
# they keep the switch's and the host's MAC tables current); once it flows
# the member carrying it on the sending side (the
# one whose tx counter moves) fails; 2 s later the fault clears; the stream
# runs on until both ends have every member enabled again (the updelay has
# run out) and then 0.5 s more.  Datagrams lost before the fault cleared
# make the failure window, those lost after it the rejoin window (lost
# datagrams / rate).  A failure the bond never detects loses the whole
# fault ("not detected"), and then nothing rejoins ("-").  The baseline's
# updelay of 31 s makes a rejoin take half a minute, so its rejoin window
# is measured in the first trial of each row only (BASELINE_REJOIN_TRIALS,
# default 1); its other trials lower the updelay to 0 once the fault has
# cleared, to become whole quickly.
#
# Prints the median, min and max of TRIALS (default 3) per case and the
# ratio of the failure medians, baseline / netpool.  Environment:
# BENCH_BOND_SWITCH=plain (the switch faces active-backup and balance-slb
# with two plain ports, running BFD facing netpool, as a real switch
# has; LACP still faces a bond), BENCH_BOND_MODES (default
# "active-backup balance-slb lacp"),
# BENCH_BOND_FAULTS (default "carrier silent"), BENCH_BOND_BASELINE=0 to
# skip the baseline.
# shellcheck disable=SC2016  # wait_for evaluates its condition later
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"

TRIALS=${1:-3}
PPS=2000
FAULT_SECONDS=2
MODES=${BENCH_BOND_MODES:-active-backup balance-slb lacp}
FAULTS=${BENCH_BOND_FAULTS:-carrier silent}
SWITCH=${BENCH_BOND_SWITCH:-bond}
BASELINE=${BENCH_BOND_BASELINE:-1}
BASELINE_REJOIN_TRIALS=${BASELINE_REJOIN_TRIALS:-1}
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
now() { date +%s.%N; }

# Runs CMD every 0.1 s until it succeeds or TIMEOUT seconds pass.
wait_for() {
    local timeout=$1 deadline
    shift
    deadline=$((SECONDS + timeout))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

# True when bond PORT of NODE has COUNT enabled members (a node without
# that bond, the switch with plain ports, counts as whole).
bond_enabled() {
    local node=$1 port=$2 count=$3 show
    show=$(on "$node" ovs-appctl bond/show "$port" 2> /dev/null) || return 0
    [ "$(grep -c '^member .*: enabled' <<< "$show")" = "$count" ]
}

# Prints the value of KEY in column COLUMN of interface IFACE of node N
# (quotes stripped), e.g. iface_get 1 eth1 bfd min_rx.
iface_get() {
    on "$1" ovs-vsctl get Interface "$2" "$3:$4" 2> /dev/null | tr -d '"'
}

# Configures the switch side of host N for MODE: a bond like the host's,
# with the same failure detection: "bfd" (its members run BFD with the
# intervals, and the bond the updelay and downdelay, of host 1's netpool
# bond) or "xapi" (miimon, downdelay 200, and the updelay bond_ready and
# trial give host 2's bond).
switch_bond() {
    local n=$1 mode=$2 detect=$3 args=() rx tx up=0 down=200
    sw -- --if-exists del-port sw0 "sb$n" \
        -- --if-exists del-port sw0 "h$n-eth1" \
        -- --if-exists del-port sw0 "h$n-eth2"
    if [ "$detect" = bfd ]; then
        up=$(on 1 ovs-vsctl get Port bond0 bond_updelay)
        down=$(on 1 ovs-vsctl get Port bond0 bond_downdelay)
    else
        args=(other_config:bond-detect-mode=miimon
            other_config:bond-miimon-interval=100)
    fi
    case $mode in
        active-backup)
            args+=(bond_mode=active-backup)
            # The primary, if the host's bond has one (properties:failback
            # =false has none): eth1 of a bond made of eth1+eth2.
            if [ "$detect" != bfd ] || on 1 ovs-vsctl get Port bond0 \
                other_config:bond-primary > /dev/null 2>&1; then
                args+=("other_config:bond-primary=h$n-eth1")
            fi
            ;;
        balance-slb) args+=(bond_mode=balance-slb) ;;
        lacp)
            args+=(lacp=active bond_mode=balance-tcp other_config:lacp-time=fast)
            ;;
    esac
    if [ "$SWITCH" = plain ] && [ "$mode" != lacp ]; then
        sw add-port sw0 "h$n-eth1" -- add-port sw0 "h$n-eth2"
    else
        sw add-bond sw0 "sb$n" "h$n-eth1" "h$n-eth2" "${args[@]}" \
            bond_updelay="$up" bond_downdelay="$down"
    fi
    if [ "$detect" = bfd ]; then
        rx=$(iface_get 1 eth1 bfd min_rx) tx=$(iface_get 1 eth1 bfd min_tx)
        for j in 1 2; do
            sw set Interface "h$n-eth$j" bfd:enable=true bfd:min_rx="$rx" \
                bfd:min_tx="$tx"
        done
    fi
}

# netpool's bond on h1 for MODE, through the CLI, with its defaults.
netpool_bond() {
    local mode=$1 old props=(properties:bfd=true)
    # shellcheck disable=SC2206  # extra properties are words on purpose
    props+=(${NETPOOL_BOND_PROPERTIES:-})
    old=$(np bond-list --minimal)
    [ -z "$old" ] || np bond-destroy uuid="$old"
    np bond-create network-uuid="$NET" pif-uuids="$P1,$P2" mode="$mode" \
        "${props[@]}" > /dev/null
    wait_for 20 on 1 ip link show "$BRIDGE" > /dev/null 2>&1
    wait_for 20 on 1 ovs-vsctl get Interface eth1 bfd:min_rx > /dev/null 2>&1
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

# True when both ends of host N's bond have both members enabled.
whole() {
    bond_enabled "$1" bond0 2 && bond_enabled switch "sb$1" 2
}

# Sets the updelay of host 2's bond and of the switch's side of it.
baseline_updelay() {
    on 2 ovs-vsctl set Port bond0 bond_updelay="$1"
    sw --if-exists set Port sb2 bond_updelay="$1" # No bond: plain ports.
}

# Waits until host N's bond is whole; the baseline then gets xapi's
# updelay back.
bond_ready() {
    local n=$1
    wait_for 90 whole "$n" || log "h$n: bond not whole"
    if [ "$n" = 2 ]; then
        baseline_updelay 31000
    fi
}

# Prints the tx packet counters of devices A and B of NODE, then again
# half a second later, on one line.
tx_packets() {
    on "$1" sh -c 'for i in 1 2; do
            [ $i = 1 ] || sleep 0.5
            cat "/sys/class/net/$0/statistics/tx_packets" \
                "/sys/class/net/$1/statistics/tx_packets"
        done' "$2" "$3" | paste -sd' '
}

# One trial of FAULT on host N's bond with the stream going DIRECTION
# ("in" or "out") to PORT; REJOIN is "yes" when the rejoin is measured
# with the bond's own updelay.  The member that fails is the one carrying
# the stream on the sending side.  Prints "FAILURE REJOIN" in ms, "-" for
# a failure never detected or a rejoin not measured.
trial() {
    local n=$1 fault=$2 direction=$3 port=$4 rejoin=$5 sender receiver dst
    local where a b a1 a2 b1 b2 member cable cleared recv_pid send_pid
    local back ping_pid try
    if [ "$direction" = in ]; then
        sender=switch receiver=$n dst=198.18.4$((n + 1)).1
        back=198.18.4$((n + 1)).254 where=switch a=h$n-eth1 b=h$n-eth2
    else
        sender=$n receiver=switch dst=198.18.4$((n + 1)).254
        back=198.18.4$((n + 1)).1 where=$n a=eth1 b=eth2
    fi
    # Some traffic back, 20 pings a second, as a real peer's replies and
    # acknowledgements: the switch learns where the host's address is
    # from it, and the host's bridge knows its own MAC, so that a failover
    # or failback sends learning packets for it.
    ip netns exec "$(topo_ns "$receiver")" ping -q -i 0.05 -W 1 "$back" \
        > /dev/null 2>&1 &
    ping_pid=$!
    # ip netns exec runs the probe itself, so that its PID is ours to
    # signal (it prints its figures when it gets SIGTERM).
    ip netns exec "$(topo_ns "$receiver")" python3 "$PROBE" recv "$port" 0 \
        > "$STATE/recv.json" 2> /dev/null &
    recv_pid=$!
    sleep 0.3
    ip netns exec "$(topo_ns "$sender")" python3 "$PROBE" send "$dst" \
        "$port" "$PPS" 0 > "$STATE/send.json" &
    send_pid=$!
    # A busy machine can take a second to start Python: fail nothing
    # before the stream flows (half its rate over half a second).
    for ((try = 0; try < 20; try++)); do
        read -r a1 b1 a2 b2 <<< "$(tx_packets "$where" "$a" "$b")"
        [ $((a2 - a1 + b2 - b1)) -lt $((PPS / 4)) ] || break
    done
    [ "$try" -lt 20 ] || log "h$n $direction: the stream does not flow"
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
    sleep "$FAULT_SECONDS"
    cleared=$(now)
    if [ "$fault" = carrier ]; then
        ip -n "$(topo_ns switch)" link set "$cable" up
    else
        on "$where" nft delete table netdev npbench
    fi
    if [ "$n" = 2 ] && [ "$rejoin" != yes ]; then
        baseline_updelay 0
    fi
    wait_for 90 whole "$n" || log "h$n: bond not whole after the fault"
    sleep 0.5
    kill -TERM "$send_pid"
    wait "$send_pid" || true
    sleep 0.3
    kill -TERM "$recv_pid" "$ping_pid"
    wait "$recv_pid" "$ping_pid" || true
    python3 - "$STATE/send.json" "$STATE/recv.json" "$PPS" "$cleared" \
        "$FAULT_SECONDS" "$rejoin" << 'PY'
import json, sys
sent = json.load(open(sys.argv[1]))
recv = json.load(open(sys.argv[2]))
pps, cleared = int(sys.argv[3]), float(sys.argv[4])
fault, rejoin = float(sys.argv[5]), sys.argv[6] == "yes"
lost_failure = lost_rejoin = 0
for first, end in recv["missing_ranges"] + [[recv["highest"], sent["sent"]]]:
    for seq in range(first, end):
        # Datagram seq left at start + seq / pps; a few ms of slack for
        # the time the fault took to clear.
        if sent["start"] + seq / pps < cleared + 0.005:
            lost_failure += 1
        else:
            lost_rejoin += 1
failure = lost_failure * 1000.0 / pps
if failure >= (fault - 0.2) * 1000:
    print("- -")    # Lost for the whole fault: never detected.
else:
    print("%.1f %s" % (failure,
                       "%.1f" % (lost_rejoin * 1000.0 / pps) if rejoin
                       else "-"))
PY
}

# Median, min and max of the values given ("-": not detected or not
# measured; "n/a" when no value was measured at all).
summary() {
    python3 - "$@" << 'PY'
import statistics, sys
values = sys.argv[1:]
numbers = sorted(float(v) for v in values if v != "-")
if not values:
    print("n/a")
elif not numbers:
    print("-")
elif len(numbers) < len(values):
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
    try:
        return float(s.split()[0])
    except ValueError:
        return None
netpool, baseline = median(sys.argv[1]), median(sys.argv[2])
if netpool is None:
    print("-")
elif baseline is None:
    print("inf (never detected)" if sys.argv[2].startswith("not") else "-")
elif netpool == 0:
    print("inf" if baseline > 0 else "1.0")
else:
    print("%.1f" % (baseline / netpool))
PY
}

# Runs TRIALS trials of FAULT/DIRECTION on host N and stores the failure
# and rejoin summaries under KEY.
run_case() {
    local key=$1 n=$2 fault=$3 direction=$4 failures=() rejoins=() t out
    local rejoin
    for ((t = 0; t < TRIALS; t++)); do
        bond_ready "$n"
        wait_for 20 on switch ping -c 1 -W 1 "198.18.4$((n + 1)).1" \
            > /dev/null || log "h$n not reachable"
        port=$((port + 1))
        rejoin=yes
        if [ "$n" = 2 ] && [ "$t" -ge "$BASELINE_REJOIN_TRIALS" ]; then
            rejoin=no
        fi
        out=$(trial "$n" "$fault" "$direction" "$port" "$rejoin")
        failures+=("${out% *}")
        [ "$rejoin" = no ] || rejoins+=("${out#* }")
    done
    failure[$key]=$(summary "${failures[@]}")
    if [ "${failure[$key]}" = - ]; then
        failure[$key]="not detected (${#failures[@]}/${#failures[@]})"
    fi
    rejoin_of[$key]=$(summary "${rejoins[@]}")
    log "$key: failure ${failures[*]}; rejoin ${rejoins[*]}"
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
    # Nor may a host answer for its bond's address through eth0, which
    # shares the switch with the bond: the stream would bypass the bond.
    on "$n" sysctl -qw net.ipv4.conf.eth0.arp_ignore=1
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

declare -A failure rejoin_of
port=20000
for mode in $MODES; do
    log "mode $mode"
    netpool_bond "$mode"
    switch_bond 1 "$mode" bfd
    if [ "$BASELINE" != 0 ]; then
        hand_bond "$mode"
        switch_bond 2 "$mode" xapi
    fi
    for fault in $FAULTS; do
        for direction in in out; do
            for n in 1 2; do
                [ "$n" = 1 ] || [ "$BASELINE" != 0 ] || continue
                run_case "$mode/$fault/$direction/$n" "$n" "$fault" \
                    "$direction"
            done
        done
    done
done

defaults=$(on 1 ovs-vsctl get Port bond0 bond_updelay bond_downdelay |
    paste -sd/)
echo "Bond failover: loss when the member carrying a flow fails (failure)" \
    "and when it comes back (rejoin)"
echo "(ms; median [min-max] of $TRIALS trials, UDP at $PPS pps; in: switch" \
    "to host, out: host to switch; fault held ${FAULT_SECONDS} s)"
echo "netpool: bond-create ... properties:bfd=true" \
    "${NETPOOL_BOND_PROPERTIES:-} (BFD min_rx/min_tx" \
    "$(iface_get 1 eth1 bfd min_rx)/$(iface_get 1 eth1 bfd min_tx) ms," \
    "updelay/downdelay $defaults ms, the switch alike)"
echo "baseline: OVS bond by hand, xapi defaults: miimon 100, downdelay 200," \
    "updelay 31000, lacp-time slow, no BFD (rejoin: first trial only)"
if [ "$SWITCH" = plain ]; then
    echo "switch: two plain ports facing active-backup and balance-slb" \
        "(BFD as netpool's facing h1), an LACP bond (lacp-time fast)"
else
    echo "switch: a bond of the same mode (active-backup with bond-primary" \
        "if netpool's has one, lacp-time fast), running what netpool runs" \
        "facing h1"
fi
printf '%-14s %-8s %-4s %-22s %-22s %-9s %-22s %s\n' mode fault dir \
    "netpool failure" "baseline failure" "base/np" "netpool rejoin" \
    "baseline rejoin"
for mode in $MODES; do
    for fault in carrier silent; do
        for direction in in out; do
            key=$mode/$fault/$direction
            [ -n "${failure[$key/1]:-}" ] || continue
            a=${failure[$key/1]} b=${failure[$key/2]:-n/a}
            printf '%-14s %-8s %-4s %-22s %-22s %-9s %-22s %s\n' "$mode" \
                "$fault" "$direction" "$a" "$b" "$(ratio "$a" "$b")" \
                "${rejoin_of[$key/1]}" "${rejoin_of[$key/2]:-n/a}"
        done
    done
done
