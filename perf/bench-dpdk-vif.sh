#!/usr/bin/env bash
#
# bench-dpdk-vif.sh [SECONDS] [LATENCY_PPS]
#
# VIF-to-VIF throughput and latency, side by side in one run, on five
# paths between two ports:
#   netpool OVS-DPDK   a netpool host in dpdk mode (scripts/topology.sh,
#                      TOPO_DATAPATH=dpdk, netpool's defaults, one PMD
#                      thread on core 1): two VIFs with
#                      other-config:vhost-user=external on a private
#                      network (MTU 9000), whose dpdkvhostuserclient ports
#                      connect to sockets netpool-perf serves with the
#                      VIFs' MACs and queue settings, as a guest would.
#   hand OVS-DPDK      what a user would set up instead: OVS-DPDK with two
#                      dpdkvhostuserclient ports on a bridge, the NORMAL
#                      flow and nothing else, OVS's own defaults (one PMD
#                      on core 1, the same socket memory and limit).
#   testpmd io         dpdk-testpmd io-forwarding between two vhost-user
#                      sockets served the same way (forwarding on core 1):
#                      the upper bound of a vhost-user path here.
#   OVS netdev         OVS userspace without DPDK, AF_PACKET ports on veths.
#   Linux bridge       a kernel bridge of veths.
# On every path one netpool-perf process (perf/netpool-perf.c, lcore 0)
# sends on one end and receives on the other ("loop" mode, at most a
# receive ring of frames in flight, after announcing both ports so that a
# learning switch knows them): frames of 64, 1500 and 9000 bytes as fast
# as it can for SECONDS each (default 2), counting what arrives (Mpps,
# Gbit/s of frame bytes, loss), then 64-byte frames at LATENCY_PPS
# (default 10000) for the one-way latency p50/p99.  Every path is measured
# ROUNDS times (default 3; the environment sets it) and the table shows
# the median with the spread (lowest-highest).  The three vhost-user
# paths take turns, round by round, so that the machine's other work
# weighs on them alike: the OVS-DPDK whose turn it is not lets its idle
# PMD sleep (pmd-maxsleep), testpmd runs only for its turn.  Each
# OVS-DPDK may take SOCKET_LIMIT MiB of hugepages (dpdk-socket-limit;
# without it their buffer pools take every free page).
#
# Then, for the two OVS-DPDK paths, where the cycles go (netpool-perf's
# rates depend on what else runs; the PMD's own CPU time per packet much
# less): the PMD thread's CPU time per packet (its on-CPU time from
# /proc, times the busy share of its cycles from pmd-stats-show), which
# cache classified the packets (EMC, SMC, megaflow), the output batch and
# the mempool; the classification with 10000 flows with and without
# netpool's rules (locking mode and a rate limit in force) and with OVS's
# cache defaults; and PMD scaling with two queue pairs per VIF over one
# PMD (pmd-cpu-mask 0x2) and two (0x3), with the queues each PMD polls.
# With 2 cores the second PMD shares core 0 with netpool-perf, which the
# report says.  PROFILE=1 in the environment also samples the PMD thread
# with perf (cpu-clock) in the first round and shows where its time went,
# by library (Debian's ovs-vswitchd-dpdk has no symbols).
#
# Ratios are against the netpool OVS-DPDK row of the same run, and the
# issue's goals are printed with them (numbers only: nothing fails on a
# ratio).  Addresses in 198.18.20.0/24 (the frames only); namespaces
# npbv<PID>-*; DPDK processes with their own --file-prefix, OVS-DPDK with
# --in-memory pages; everything stopped by PID on exit, and
# /proc/sys/vm/nr_hugepages given back as it was.  Nothing busy-polls
# between measurements: each path's forwarder runs only while it is
# measured.
# shellcheck disable=SC2016
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"
# shellcheck source=perf/dpdk-lab.sh
source "$TOP/perf/dpdk-lab.sh"

SECONDS_EACH=${1:-2}
LATENCY_PPS=${2:-10000}
ROUNDS=${ROUNDS:-3}
SIZES=(64 1500 9000)
FLOWS_MANY=10000
PREFIX=npbv$$-
STATE=$(mktemp -d /tmp/netpool-bench-vif.XXXXXX)
# The runs' results, apart from $STATE, which topo_down deletes.
OUT=$(mktemp -d /tmp/netpool-bench-vif-out.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$TOP/build/bin}
TOPO_DATAPATH=dpdk
export PREFIX STATE NETPOOL_BIN TOPO_DATAPATH
PERF=$NETPOOL_BIN/netpool-perf
TESTPMD=${TESTPMD:-dpdk-testpmd}
LAB=${PREFIX}lab
HUGEPAGES=/proc/sys/vm/nr_hugepages
# Each OVS-DPDK instance may take at most SOCKET_LIMIT MiB of hugepages:
# without a limit their buffer pools take every free page (2.6 GB for MTU
# 9000), and netpool-perf (the guests) would find none.
SOCKET_LIMIT=1024
HUGEPAGES_WANTED=1400

hugepages_saved=$(cat "$HUGEPAGES")
bg_pids=()
cleanup() {
    local pid f
    set +e
    for pid in "${bg_pids[@]}"; do
        kill "$pid" 2> /dev/null
    done
    for pid in "${bg_pids[@]}"; do
        wait "$pid" 2> /dev/null
    done
    lab_ovs_down
    topo_down > /dev/null 2>&1
    if ip netns list | grep -qx -- "$LAB"; then
        for pid in $(ip netns pids "$LAB"); do
            kill "$pid" 2> /dev/null
        done
        sleep 0.5
        for f in npbvlb npbvbr npbvdp ovs-netdev; do
            ip -n "$LAB" link del "$f" 2> /dev/null
        done
        ip netns del "$LAB"
    fi
    [ "$(cat "$HUGEPAGES")" = "$hugepages_saved" ] ||
        echo "$hugepages_saved" > "$HUGEPAGES" 2> /dev/null
    rm -rf "$STATE" "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench-dpdk-vif: $*" >&2; }
on() { topo_on "$@"; }
np() { on 1 netpool "$@"; }
hvsctl() { on 1 ovs-vsctl --timeout=30 "$@"; }
key() { awk -v k="$2" '$1 == k { print $2 }' "$1" 2> /dev/null || true; }
wait_for() { # SECONDS CMD...: poll CMD every 0.2 s
    local n=$(($1 * 5))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}
# What else the machine does: its load and the busiest processes that are
# not this run's.
machine() {
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg);" \
        "busiest other processes:" \
        "$(ps -eo pid,pcpu,comm --sort=-pcpu --no-headers |
            awk -v pp="$$" '$1 != pp && $2 > 5 { printf "%s %s%%, ", $3, $2 }' |
            head -c 300)"
}

for tool in "$PERF" "$TOPO_OVS_DPDK"; do
    [ -x "$tool" ] || {
        say "no $tool (make all builds netpool-perf when libdpdk is there)"
        exit 1
    }
done
command -v "$TESTPMD" > /dev/null || {
    say "no $TESTPMD"
    exit 1
}
free_pages() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }
if [ "$(free_pages)" -lt "$HUGEPAGES_WANTED" ]; then
    echo $((hugepages_saved + HUGEPAGES_WANTED - $(free_pages))) \
        > "$HUGEPAGES" 2> /dev/null || true
fi
[ "$(free_pages)" -ge "$HUGEPAGES_WANTED" ] || {
    say "could not reserve $HUGEPAGES_WANTED hugepages"
    exit 1
}
machine_start=$(machine)

# --- measuring ----------------------------------------------------------

# One run: netpool-perf loop in namespace NS with ARGS; its "key value"
# lines end up in $OUT/NAME.out.  PRE (when set) is called with NAME
# once netpool-perf is ready to send, POST after it ended.
run=0
perf_loop() {
    local ns=$1 name=$2 pid
    shift 2
    run=$((run + 1))
    rm -f "$OUT/$name.out" "$OUT/$name.err"
    # A switch that never connects would keep netpool-perf waiting in
    # DPDK's setup for ever.
    timeout -k 5 $((SECONDS_EACH * 3 + 90)) ip netns exec "$ns" "$PERF" \
        loop "$@" --lcore 0 --file-prefix "${PREFIX}p$run" \
        > "$OUT/$name.out" 2> "$OUT/$name.err" &
    pid=$!
    [ -z "${PRE:-}" ] || "$PRE" "$name"
    wait "$pid" || say "$name: $(grep -v ready "$OUT/$name.err" | tail -1)"
    [ -z "${POST:-}" ] || "$POST" "$name"
}
ready() { grep -q "netpool-perf: ready" "$OUT/$1.err" 2> /dev/null; }

# measure_round ROW ROUND NS ARGS...: every size at full speed, then the
# latency run; results in $OUT/ROW-SIZE-ROUND.out and ROW-lat-ROUND.out.
measure_round() {
    local row=$1 round=$2 ns=$3 size
    shift 3
    for size in "${SIZES[@]}"; do
        SIZE=$size perf_loop "$ns" "$row-$size-$round" "$@" \
            --size "$size" --duration "$SECONDS_EACH"
    done
    SIZE=64 perf_loop "$ns" "$row-lat-$round" "$@" --size 64 \
        --rate "$LATENCY_PPS" --duration "$SECONDS_EACH"
}
# measure ROW NS ARGS...: ROUNDS rounds of measure_round.
measure() {
    local row=$1 ns=$2 round
    shift 2
    for ((round = 1; round <= ROUNDS; round++)); do
        measure_round "$row" "$round" "$ns" "$@"
    done
}

# stat ROW-WHAT KEY: "median lowest highest" of KEY over the rounds.
stat() {
    local round
    for ((round = 1; round <= ROUNDS; round++)); do
        key "$OUT/$1-$round.out" "$2"
    done | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- - -"; exit }
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%g %g %g\n", m, v[1], v[NR] }'
}
median() { read -r m _ <<< "$(stat "$@")" && echo "$m"; }
spread() { # ROW-WHAT KEY [DECIMALS]: "median [lowest-highest]"
    local m lo hi d=${3:-3}
    read -r m lo hi <<< "$(stat "$1" "$2")"
    [ "$m" = - ] && echo "-" ||
        printf "%.${d}f [%.${d}f-%.${d}f]" "$m" "$lo" "$hi"
}
ratio() { # A B: A / B, or "-"
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}

# --- the PMD's side, on the OVS-DPDK paths ------------------------------

# APPCTL and VSWITCHD_PID name the OVS-DPDK being measured.  pmd_pre
# notes its PMD thread's counters (pmd-stats-show) and CPU time as
# netpool-perf starts (it sends only after its --delay), pmd_post again
# once it ended, and appends what the PMD did in between to
# $OUT/NAME.out: its CPU time per packet forwarded while busy
# ("pmd_ns_per_packet": on-CPU time from /proc times the busy share of
# its cycles), the busy share, and which cache classified the packets.
pmd_tid() {
    ps -T -p "$VSWITCHD_PID" -o spid=,comm= |
        awk '$2 ~ /^pmd/ { print $1; exit }'
}
pmd_snapshot() { # FILE
    local tid
    tid=$(pmd_tid)
    {
        "${APPCTL[@]}" dpif-netdev/pmd-stats-show 2> /dev/null || true
        echo "cpu_ns $(awk '{ print $1 }' \
            "/proc/$VSWITCHD_PID/task/$tid/schedstat" 2> /dev/null)"
    } > "$1"
}
pmd_pre() {
    pmd_snapshot "$OUT/$1.pmd0"
    [ -z "${MTU_WAIT:-}" ] || "$MTU_WAIT"
    # PROFILE=1: perf samples the PMD thread while the first round sends.
    if [ "${PROFILE:-0}" = 1 ] && [[ $1 == *-1 ]] &&
        command -v perf > /dev/null && wait_for 60 ready "$1"; then
        pmd_profile_record "$(pmd_tid)" "$OUT/$1.perf" "$SECONDS_EACH"
    fi
}
pmd_post() {
    if [ -n "${profile_pid:-}" ]; then
        wait "$profile_pid" 2> /dev/null || true
        profile_pid=
        pmd_profile_libraries "$OUT/$1.perf" > "$OUT/$1.profile" || true
    fi
    pmd_snapshot "$OUT/$1.pmd1"
    awk '
        FNR == 1 { f++ }
        /^pmd thread/ { pmd = 1 } /^main thread/ { pmd = 0 }
        pmd && /packets received:/ { p[f] = $3 }
        pmd && /emc hits:/ { emc[f] = $3 } pmd && /smc hits:/ { smc[f] = $3 }
        pmd && /megaflow hits:/ { mf[f] = $3 }
        pmd && /miss with success upcall:/ { up[f] = $5 }
        pmd && /idle cycles:/ { idle[f] = $3 }
        pmd && /processing cycles:/ { busy[f] = $3 }
        /^cpu_ns / { t[f] = $2 }
        END {
            n = p[2] - p[1]; b = busy[2] - busy[1]; i = idle[2] - idle[1]
            if (n <= 0 || b + i <= 0) exit
            share = b / (b + i)
            printf "pmd_ns_per_packet %.1f\n", (t[2] - t[1]) * share / n
            printf "pmd_busy_pct %.1f\n", 100 * share
            printf "emc_pct %.1f\nsmc_pct %.1f\nmegaflow_pct %.1f\n",
                100 * (emc[2] - emc[1]) / n, 100 * (smc[2] - smc[1]) / n,
                100 * (mf[2] - mf[1]) / n
            printf "upcalls %d\n", up[2] - up[1]
        }' "$OUT/$1.pmd0" "$OUT/$1.pmd1" >> "$OUT/$1.out"
}

# --- Linux bridge ---------------------------------------------------------
ip netns add "$LAB"
ip -n "$LAB" link set lo up
ip netns exec "$LAB" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
veth() { # A B: a veth pair in the lab, MTU 9000, checksum offload off
    ip -n "$LAB" link add "$1" mtu 9000 type veth peer name "$2" mtu 9000
    local dev
    for dev in "$1" "$2"; do
        ip -n "$LAB" link set "$dev" up
        ip netns exec "$LAB" ethtool -K "$dev" tx off > /dev/null
    done
}

say "Linux bridge"
veth lb0 lb1
veth lb2 lb3
ip -n "$LAB" link add npbvlb mtu 9000 type bridge
ip -n "$LAB" link set npbvlb up
ip -n "$LAB" link set lb0 master npbvlb
ip -n "$LAB" link set lb2 master npbvlb
measure bridge "$LAB" --af-packet lb1 --af-packet lb3 --no-huge --delay 1

# --- OVS instances of the lab (netdev, then the hand-made OVS-DPDK) ------
odir=$STATE/lab/ovs
lab_ovs_up() { # VSWITCHD: a fresh database and switch
    mkdir -p "$odir"
    rm -f "$odir"/conf.db "$odir"/*.ctl
    lab_env ovsdb-tool create "$odir/conf.db" "$TOPO_OVS_SCHEMA"
    lab_env ip netns exec "$LAB" ovsdb-server "$odir/conf.db" \
        --remote="punix:$odir/db.sock" --pidfile="$odir/ovsdb-server.pid" \
        -vconsole:off --log-file="$odir/ovsdb-server.log" --detach \
        --no-chdir
    lab_vsctl --no-wait init
    if [ "$1" != ovs-vswitchd ]; then
        lab_vsctl --no-wait set Open_vSwitch . \
            other_config:dpdk-init=true other_config:dpdk-socket-mem=256 \
            other_config:dpdk-socket-limit="$SOCKET_LIMIT" \
            other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
            "other_config:dpdk-extra=--no-pci --in-memory --file-prefix=${PREFIX}hand"
    fi
    lab_env ip netns exec "$LAB" "$1" "unix:$odir/db.sock" \
        --pidfile="$odir/ovs-vswitchd.pid" -vconsole:off \
        --log-file="$odir/ovs-vswitchd.log" --detach --no-chdir
}

# --- OVS userspace (netdev), AF_PACKET ports -----------------------------
say "OVS netdev"
veth ov0 ov1
veth ov2 ov3
lab_ovs_up ovs-vswitchd
lab_vsctl add-br npbvbr -- set bridge npbvbr datapath_type=netdev -- \
    add-port npbvbr ov0 -- set Interface ov0 mtu_request=9000 -- \
    add-port npbvbr ov2 -- set Interface ov2 mtu_request=9000
measure ovs-netdev "$LAB" --af-packet ov1 --af-packet ov3 --no-huge \
    --delay 1
lab_ovs_down
ip -n "$LAB" link del npbvbr 2> /dev/null || true
ip -n "$LAB" link del ovs-netdev 2> /dev/null || true

# --- the vhost-user paths: testpmd, OVS-DPDK by hand, netpool ----------
# The three are measured in turns, round by round, so that what else the
# machine does weighs on each alike.  The OVS-DPDK not being measured lets
# its idle PMD sleep (pmd-maxsleep), and testpmd runs only for its turn.

# The vhost-user ports once netpool-perf is connected (it sleeps --delay
# before sending): OVS applies a port's mtu_request when a device
# connects; this waits for both links and, for jumbo frames, for MTU 9000,
# and writes nothing.  (It used to write mtu_request again when the MTU
# had not been applied yet, behind netpool's back: each write
# reconfigures the port, and OVS makes a buffer pool for every MTU it is
# asked for.)
mtu_wait() {
    wait_for 30 eval '[ "$(mtu_of "${PORTS[0]}" link_state)/$(mtu_of "${PORTS[1]}" link_state)" = up/up ]' ||
        true
    [ "${SIZE:-64}" -gt 1500 ] || return 0
    wait_for 30 eval '[ "$(mtu_of "${PORTS[0]}" mtu)/$(mtu_of "${PORTS[1]}" mtu)" = 9000/9000 ]' ||
        say "${PORTS[*]:0:2}: MTU $(mtu_of "${PORTS[0]}" mtu)/$(mtu_of "${PORTS[1]}" mtu), not 9000"
}
mtu_of() { "${VSCTL[@]}" get Interface "$1" "$2" 2> /dev/null | tr -d '"'; }
# The packet buffer pools of the OVS-DPDK being measured, once its ports
# have them: "N x SIZE B" each.  (Asking for one port's pool before the
# port has one makes OVS 3.1 crash, so this asks for all of them.)
mempools() {
    "${APPCTL[@]}" netdev-dpdk/get-mempool-info 2> /dev/null |
        awk '/^  size=/ { split($1, a, "="); n = a[2] }
             /total_obj_size=/ { split($1, a, "=");
                 printf "%s%s x %s B", sep, n, a[2]; sep = ", " }' || true
}

# OVS-DPDK by hand: two vhost-user ports, NORMAL, OVS's defaults.
say "hand-made OVS-DPDK"
lab_ovs_up "$TOPO_OVS_DPDK"
wait_for 60 eval '[ "$(lab_vsctl get Open_vSwitch . dpdk_initialized)" = true ]' ||
    say "the hand-made OVS-DPDK did not initialize"
lab_vsctl add-br npbvdp -- set bridge npbvdp datapath_type=netdev
for p in hand0 hand1; do
    lab_vsctl add-port npbvdp "$p" -- set Interface "$p" \
        type=dpdkvhostuserclient mtu_request=9000 \
        "options:vhost-server-path=$STATE/$p.sock"
done
hand_pid=$(cat "$odir/ovs-vswitchd.pid")
hand_args=(--vhost "$STATE/hand0.sock" --vhost "$STATE/hand1.sock"
    --in-memory --delay 3)
use_hand() {
    VSCTL=(lab_vsctl)
    PORTS=(hand0 hand1)
    VSWITCHD_PID=$hand_pid
    APPCTL=(ovs-appctl -t "$odir/ovs-vswitchd-dpdk.$hand_pid.ctl")
}
hand_sleep() { # MICROSECONDS: pmd-maxsleep of the hand-made OVS-DPDK
    lab_vsctl set Open_vSwitch . other_config:pmd-maxsleep="$1"
}
hand_sleep 10000

# netpool's OVS-DPDK: a host in dpdk mode, two external VIFs.
say "netpool OVS-DPDK"
netpool_dpdk_vifs npbv || exit 1
say "netpool OVS-DPDK with VIFs ${np_ports[*]:0:2}"
use_netpool() {
    VSCTL=(hvsctl)
    PORTS=("${np_ports[@]:0:2}")
    VSWITCHD_PID=$np_pid
    APPCTL=(on 1 ovs-appctl)
}
netpool_sleep() { # MICROSECONDS: pmd-maxsleep, through netpool's own knob
    np host-param-set uuid="$host" other-config:pmd-maxsleep="$1"
    wait_for 20 eval '[ "$(hvsctl get Open_vSwitch . other_config:pmd-maxsleep | tr -d "\"")" = "$1" ]' ||
        true
}
netpool_config=$(hvsctl get Open_vSwitch . other_config |
    tr -d '{}"' | tr ',' '\n' |
    grep -E 'emc-|smc-|tx-flush|pmd-maxsleep|pmd-cpu-mask' | tr -d ' ' |
    paste -sd ' ')
netpool_sleep 10000
# The VIFs as a guest's NICs: their MACs and queue settings.
vif_args() { # QUEUES
    echo --vhost "${sock[0]}" --mac "${macs[0]}" --vhost "${sock[1]}" \
        --mac "${macs[1]}" --queues "$1" --in-memory --delay 3
}

# testpmd io-forwarding between two vhost-user sockets, as the vhost-user
# client (as OVS is), reconnecting whenever a netpool-perf serving the
# sockets comes up; forwarding on core 1.
tp0=$STATE/tp0.sock
tp1=$STATE/tp1.sock
testpmd_round() { # ROUND
    ip netns exec "$LAB" "$TESTPMD" -l 0,1 --no-pci --in-memory \
        --file-prefix "${PREFIX}testpmd" --log-level=lib.eal:error \
        --vdev "net_vhost0,iface=$tp0,client=1,queues=1" \
        --vdev "net_vhost1,iface=$tp1,client=1,queues=1" -- \
        --forward-mode=io --auto-start --stats-period=3600 --nb-cores=1 \
        --rxq=1 --txq=1 --mbuf-size=10240 --max-pkt-len=9018 \
        --total-num-mbufs=16384 > "$STATE/testpmd.log" 2>&1 < /dev/null &
    tp_pid=$!
    bg_pids+=("$tp_pid")
    wait_for 30 grep -q "Start automatic packet forwarding\|forwarding packets" \
        "$STATE/testpmd.log" || true
    measure_round testpmd "$1" "$LAB" --vhost "$tp0" --vhost "$tp1" \
        --in-memory --delay 2
    kill "$tp_pid" 2> /dev/null || true
    wait "$tp_pid" 2> /dev/null || true
}

for ((round = 1; round <= ROUNDS; round++)); do
    say "vhost-user paths, round $round of $ROUNDS"
    testpmd_round "$round"
    use_hand
    hand_sleep 0
    MTU_WAIT=mtu_wait PRE=pmd_pre POST=pmd_post \
        measure_round hand "$round" "$LAB" "${hand_args[@]}"
    # Classification with many flows, OVS's defaults.
    MTU_WAIT=mtu_wait PRE=pmd_pre POST=pmd_post SIZE=64 \
        perf_loop "$LAB" "hand-flows-$round" "${hand_args[@]}" --size 64 \
        --flows "$FLOWS_MANY" --duration "$SECONDS_EACH"
    hand_sleep 10000
    use_netpool
    netpool_sleep 0
    # shellcheck disable=SC2046
    MTU_WAIT=mtu_wait PRE=pmd_pre POST=pmd_post \
        measure_round netpool "$round" "$(topo_ns h1)" $(vif_args 1)
    # shellcheck disable=SC2046
    MTU_WAIT=mtu_wait PRE=pmd_pre POST=pmd_post SIZE=64 \
        perf_loop "$(topo_ns h1)" "netpool-flows-$round" $(vif_args 1) \
        --size 64 --flows "$FLOWS_MANY" --duration "$SECONDS_EACH"
    netpool_sleep 10000
done
use_hand
hand_mempool=$(mempools)
lab_ovs_down
use_netpool
netpool_mempool=$(mempools)
netpool_sleep 0

# Classification, 64 bytes: with locking mode and a rate limit (100
# Gbit/s: it polices, drops nothing) in force; and with OVS's cache
# defaults.
flows_run() { # NAME [ARGS...]
    local name=$1 round
    shift
    for ((round = 1; round <= ROUNDS; round++)); do
        # shellcheck disable=SC2046
        MTU_WAIT=mtu_wait PRE=pmd_pre POST=pmd_post SIZE=64 \
            perf_loop "$(topo_ns h1)" "$name-$round" $(vif_args 1) \
            --size 64 --duration "$SECONDS_EACH" "$@"
    done
}
for i in 0 1; do
    np vif-param-set uuid="${vifs[$i]}" locking-mode=locked \
        ipv4-allowed="198.18.20.$((i + 1))" qos-algorithm-type=ratelimit \
        qos-algorithm-params:kbps=100000000
done
# The VIFs' ports police their traffic themselves (OVS-DPDK's ingress
# policing); netpool adds no meter on a DPDK port.
policed() {
    [ "$(hvsctl get Interface "${np_ports[0]}" ingress_policing_rate)" != 0 ] &&
        on 1 ovs-ofctl dump-flows "$bridge" 2> /dev/null | grep -q nw_src=
}
wait_for 20 policed || say "the rate limit's policing or the rules did not appear"
netpool_rules=$(on 1 ovs-ofctl -O OpenFlow13 dump-flows "$bridge" \
    2> /dev/null | grep -c cookie=0x4e5056 || true)
flows_run netpool-rules1
flows_run netpool-rules --flows "$FLOWS_MANY"
for i in 0 1; do
    np vif-param-set uuid="${vifs[$i]}" locking-mode=network_default \
        qos-algorithm-type=
done
np host-param-set uuid="$host" other-config:emc-insert-inv-prob=100 \
    other-config:smc-enable=false
flows_run netpool-ovscache1
flows_run netpool-ovscache --flows "$FLOWS_MANY"
# Both caches: the exact-match cache filled as OVS does by default, the
# signature cache behind it for what the EMC cannot hold.
np host-param-set uuid="$host" other-config:smc-enable=true
flows_run netpool-emcsmc1
flows_run netpool-emcsmc --flows "$FLOWS_MANY"
np host-param-remove uuid="$host" param-name=other-config \
    param-key=emc-insert-inv-prob > /dev/null 2>&1 || true
np host-param-remove uuid="$host" param-name=other-config \
    param-key=smc-enable > /dev/null 2>&1 || true

# Multiqueue: two queue pairs per VIF over one PMD, then two.
for vif in "${vifs[@]}"; do
    np vif-param-set uuid="$vif" other-config:vhost-queues=2
done
scaling_run() { # MASK
    local mask=$1 round
    np host-param-set uuid="$host" other-config:pmd-cpu-mask="$mask"
    wait_for 30 eval '[ "$(hvsctl get Open_vSwitch . other_config:pmd-cpu-mask | tr -d "\"")" = "$mask" ]' ||
        true
    for ((round = 1; round <= ROUNDS; round++)); do
        # shellcheck disable=SC2046
        MTU_WAIT=mtu_wait SIZE=64 PRE=rxq_pre \
            perf_loop "$(topo_ns h1)" "pmd-$mask-$round" $(vif_args 2) \
            --size 64 --duration "$SECONDS_EACH"
    done
}
rxq_pre() {
    wait_for 60 ready "$1" || return 0
    "${APPCTL[@]}" dpif-netdev/pmd-rxq-show 2> /dev/null |
        awk '/^pmd thread/ { core = $NF }
             /port: vif/ && /enabled/ { sub(":", "", core);
                 printf "%s q%s on core %s; ", $2, $4, core }' \
        > "$OUT/rxq-$mask.txt"
}
mask=0x2
scaling_run 0x2
mask=0x3
if [ "$(nproc)" -ge 2 ]; then
    scaling_run 0x3
fi
topo_down > /dev/null 2>&1 || true
machine_end=$(machine)

# --- report -----------------------------------------------------------------
echo "bench-dpdk-vif: VIF to VIF, netpool-perf loop (one process on core 0;" \
    "OVS PMD thread or testpmd forwarding on core 1), ${SECONDS_EACH}s per" \
    "size, $ROUNDS rounds, median [lowest-highest]; $(nproc) cores;" \
    "Gbit/s of frame bytes"
echo "machine at the start: $machine_start"
echo "machine at the end:   $machine_end"
rows=(netpool hand testpmd ovs-netdev bridge)
declare -A label=(
    [netpool]="netpool OVS-DPDK (VIFs)"
    [hand]="hand-made OVS-DPDK (NORMAL)"
    [testpmd]="testpmd io (vhost-user)"
    [ovs-netdev]="OVS netdev (AF_PACKET)"
    [bridge]="Linux bridge (veth)"
)
printf '%-29s' path
for size in "${SIZES[@]}"; do
    printf ' %-26s %7s' "${size}B Mpps" "Gbit/s"
done
printf ' %7s\n' "loss%"
for row in "${rows[@]}"; do
    printf '%-29s' "${label[$row]}"
    worst=0
    for size in "${SIZES[@]}"; do
        printf ' %-26s %7s' "$(spread "$row-$size" rx_mpps)" \
            "$(median "$row-$size" rx_gbps)"
        read -r _ _ hi <<< "$(stat "$row-$size" loss_pct)"
        worst=$(awk -v a="$worst" -v b="$hi" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
    done
    printf ' %7s\n' "$worst"
done
echo "loss%: the highest of any size and round (frames the path dropped;" \
    "at most one receive ring in flight)"
printf '%-29s %-26s %-26s\n' "latency, one way, 64 B at $LATENCY_PPS/s" \
    "p50 us" "p99 us"
for row in "${rows[@]}"; do
    printf '%-29s %-26s %-26s\n' "${label[$row]}" \
        "$(spread "$row-lat" lat_p50_us)" "$(spread "$row-lat" lat_p99_us)"
done
for row in hand testpmd ovs-netdev bridge; do
    printf 'ratio %s / netpool OVS-DPDK:' "$row"
    for size in "${SIZES[@]}"; do
        printf ' %sB %s' "$size" "$(ratio "$(median "$row-$size" rx_mpps)" \
            "$(median "netpool-$size" rx_mpps)")"
    done
    printf ', p99 latency %s\n' "$(ratio "$(median "$row-lat" lat_p99_us)" \
        "$(median netpool-lat lat_p99_us)")"
done

goal() { # TEXT VALUE OP LIMIT
    local verdict
    verdict=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN {
        if (v == "-" || v == "") { print "not measured"; exit }
        ok = op == ">=" ? v + 0 >= l + 0 : v + 0 <= l + 0
        print ok ? "met" : "not met" }')
    printf 'goal %-52s %6s (%s %s): %s\n' "$1" "$2" "$3" "$4" "$verdict"
}
echo "goals (issue 18), from the medians of this run:"
for size in "${SIZES[@]}"; do
    goal "netpool / testpmd, ${size} B (Mpps)" \
        "$(ratio "$(median "netpool-$size" rx_mpps)" \
            "$(median "testpmd-$size" rx_mpps)")" ">=" 0.60
done
goal "netpool / Linux bridge, 9000 B (Gbit/s)" \
    "$(ratio "$(median netpool-9000 rx_gbps)" "$(median bridge-9000 rx_gbps)")" \
    ">=" 1.5
for size in "${SIZES[@]}"; do
    goal "netpool / hand-made OVS-DPDK, ${size} B (Mpps)" \
        "$(ratio "$(median "netpool-$size" rx_mpps)" \
            "$(median "hand-$size" rx_mpps)")" ">=" 0.90
done
worst=0
for size in "${SIZES[@]}"; do
    read -r _ _ hi <<< "$(stat "netpool-$size" loss_pct)"
    worst=$(awk -v a="$worst" -v b="$hi" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
done
goal "netpool loss %, highest of all runs" "$worst" "<=" 0.1
goal "netpool p99 / testpmd p99 at $LATENCY_PPS/s" \
    "$(ratio "$(median netpool-lat lat_p99_us)" \
        "$(median testpmd-lat lat_p99_us)")" "<=" 2

echo "where the cycles go (PMD thread, medians; ns per packet = its CPU" \
    "time on core 1 while busy, over the packets it forwarded):"
printf '%-40s %-22s %6s %6s %6s %9s %7s\n' "OVS-DPDK run" \
    "ns/packet" "busy%" "EMC%" "SMC%" "megaflow%" "upcalls"
pmd_row() { # LABEL NAME
    printf '%-40s %-22s %6s %6s %6s %9s %7s\n' "$1" \
        "$(spread "$2" pmd_ns_per_packet 1)" "$(median "$2" pmd_busy_pct)" \
        "$(median "$2" emc_pct)" "$(median "$2" smc_pct)" \
        "$(median "$2" megaflow_pct)" "$(median "$2" upcalls)"
}
for size in "${SIZES[@]}"; do
    pmd_row "netpool, ${size} B" "netpool-$size"
    pmd_row "hand-made, ${size} B" "hand-$size"
done
pmd_row "netpool, 64 B, $FLOWS_MANY flows" netpool-flows
pmd_row "netpool + rules, 64 B, 1 flow" netpool-rules1
pmd_row "netpool + rules, 64 B, $FLOWS_MANY flows" netpool-rules
pmd_row "netpool, OVS cache defaults, 1 flow" netpool-ovscache1
pmd_row "netpool, OVS cache defaults, $FLOWS_MANY" netpool-ovscache
pmd_row "netpool, EMC and SMC, 1 flow" netpool-emcsmc1
pmd_row "netpool, EMC and SMC, $FLOWS_MANY" netpool-emcsmc
pmd_row "hand-made, 64 B, $FLOWS_MANY flows" hand-flows
for name in netpool-flows netpool-rules1 netpool-rules netpool-ovscache1 \
    netpool-ovscache netpool-emcsmc1 netpool-emcsmc hand-flows; do
    printf '  %-34s %s Mpps\n' "$name" "$(spread "$name" rx_mpps)"
done
if [ "${PROFILE:-0}" = 1 ]; then
    echo "PMD thread profile (perf, cpu-clock, round 1, share of its time" \
        "by library; it polls while idle, so an idle PMD shows its loop):"
    for size in "${SIZES[@]}"; do
        for row in netpool hand; do
            printf '  %-18s %s\n' "$row ${size} B" \
                "$(cat "$OUT/$row-$size-1.profile" 2> /dev/null)"
        done
    done
fi
echo "netpool's PMD settings: $netpool_config; rules: $netpool_rules" \
    "netpool rules on the bridge with locking mode and rate limits"
echo "packet buffer pools (mbufs x bytes each): netpool" \
    "${netpool_mempool:--}; hand-made ${hand_mempool:--}"
echo "PMD scaling (netpool OVS-DPDK, two queue pairs per VIF, 64 B," \
    "$(nproc) cores): 1 PMD (pmd-cpu-mask 0x2) $(spread pmd-0x2 rx_mpps) Mpps" \
    "[$(cat "$OUT/rxq-0x2.txt" 2> /dev/null)]"
if [ "$(nproc)" -ge 2 ]; then
    echo "  2 PMDs (0x3) $(spread pmd-0x3 rx_mpps) Mpps" \
        "[$(cat "$OUT/rxq-0x3.txt" 2> /dev/null)]"
fi
if [ "$(nproc)" -le 2 ]; then
    echo "  with $(nproc) cores a second PMD shares core 0 with netpool-perf" \
        "(and everything else), so scaling past one PMD cannot be shown here"
fi
