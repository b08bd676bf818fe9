#!/usr/bin/env bash
#
# bench-dpdk-vif.sh [SECONDS] [LATENCY_PPS]
#
# VIF-to-VIF throughput and latency, side by side in one run, on four
# paths between two ports:
#   netpool OVS-DPDK   a netpool host in dpdk mode (scripts/topology.sh,
#                      TOPO_DATAPATH=dpdk, one PMD thread on core 1): two
#                      VIFs with other-config:vhost-user=external on a
#                      private network (MTU 9000), whose dpdkvhostuserclient
#                      ports connect to sockets netpool-perf serves.  If
#                      those ports do not appear, two hand-made
#                      dpdkvhostuserclient ports on a bridge of the same
#                      host's OVS-DPDK (the table says which).
#   testpmd io         dpdk-testpmd io-forwarding between two vhost-user
#                      sockets served the same way (forwarding on core 1):
#                      the upper bound of a vhost-user path on this machine.
#   OVS netdev         OVS userspace without DPDK, AF_PACKET ports on veths.
#   Linux bridge       a kernel bridge of veths.
# On every path one netpool-perf process (perf/netpool-perf.c, lcore 0)
# sends on one end and receives on the other ("loop" mode): frames of 64,
# 1500 and 9000 bytes as fast as it can for SECONDS each (default 3),
# counting what arrives (Mpps, Gbit/s of frame bytes, loss), then 64-byte
# frames at LATENCY_PPS (default 10000) for the one-way latency p50/p99
# (both ends in one process read one clock).  Then PMD scaling: the
# netpool path at 64 bytes with one PMD thread (pmd-cpu-mask 0x2) and two
# (0x3), with the machine's core count: with 2 cores the second PMD
# shares core 0 with netpool-perf, and with one receive queue per port
# only one PMD has traffic to poll.
#
# Ratios are against the netpool OVS-DPDK row of the same run.  Addresses
# in 198.18.20.0/24 (the frames only); namespaces npbv<PID>-*; DPDK
# processes with their own --file-prefix, OVS-DPDK with --in-memory pages
# (netpoold's) or none; everything stopped by PID on exit, and
# /proc/sys/vm/nr_hugepages given back as it was.
# shellcheck disable=SC2016
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"

SECONDS_EACH=${1:-3}
LATENCY_PPS=${2:-10000}
SIZES=(64 1500 9000)
PREFIX=npbv$$-
STATE=$(mktemp -d /tmp/netpool-bench-vif.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$TOP/build/bin}
TOPO_DATAPATH=dpdk
export PREFIX STATE NETPOOL_BIN TOPO_DATAPATH
PERF=$NETPOOL_BIN/netpool-perf
TESTPMD=${TESTPMD:-dpdk-testpmd}
LAB=${PREFIX}lab
HUGEPAGES=/proc/sys/vm/nr_hugepages
HUGEPAGES_WANTED=1200

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
    for f in "$STATE"/lab/ovs/ovs-vswitchd.pid "$STATE"/lab/ovs/ovsdb-server.pid; do
        [ -s "$f" ] && kill "$(cat "$f")" 2> /dev/null && sleep 0.5
    done
    topo_down > /dev/null 2>&1
    if ip netns list | grep -qx -- "$LAB"; then
        for pid in $(ip netns pids "$LAB"); do
            kill "$pid" 2> /dev/null
        done
        sleep 0.5
        ip -n "$LAB" link del npbvlb 2> /dev/null
        ip -n "$LAB" link del ovs-netdev 2> /dev/null
        ip -n "$LAB" link del npbvbr 2> /dev/null
        ip netns del "$LAB"
    fi
    [ "$(cat "$HUGEPAGES")" = "$hugepages_saved" ] ||
        echo "$hugepages_saved" > "$HUGEPAGES" 2> /dev/null
    rm -rf "$STATE"
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

# One measurement: netpool-perf loop in namespace NS with ARGS; its
# "key value" lines end up in $STATE/NAME.out.
run=0
perf_loop() {
    local ns=$1 name=$2
    shift 2
    run=$((run + 1))
    ip netns exec "$ns" "$PERF" loop "$@" --lcore 0 --quiet \
        --file-prefix "${PREFIX}p$run" > "$STATE/$name.out" \
        2> "$STATE/$name.err" || say "$name: $(tail -1 "$STATE/$name.err")"
}
# measure ROW NS ARGS...: every size at full speed, then the latency run.
# HOOK, when set, is called with the size after netpool-perf started (it
# waits --delay seconds before sending).
declare -A result
measure() {
    local row=$1 ns=$2 size pid
    shift 2
    for size in "${SIZES[@]}"; do
        perf_loop "$ns" "$row-$size" "$@" --size "$size" \
            --duration "$SECONDS_EACH" &
        pid=$!
        [ -z "${HOOK:-}" ] || "$HOOK" "$size"
        wait "$pid" || true
        local f=$STATE/$row-$size.out
        result[$row-$size]="$(key "$f" rx_mpps) $(key "$f" rx_gbps) $(key "$f" loss_pct)"
    done
    perf_loop "$ns" "$row-lat" "$@" --size 64 --rate "$LATENCY_PPS" \
        --duration "$SECONDS_EACH" &
    pid=$!
    [ -z "${HOOK:-}" ] || "$HOOK" 64
    wait "$pid" || true
    local f=$STATE/$row-lat.out
    result[$row-lat]="$(key "$f" lat_p50_us) $(key "$f" lat_p99_us) $(key "$f" loss_pct)"
}

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

# --- Linux bridge ---------------------------------------------------------
say "Linux bridge"
veth lb0 lb1
veth lb2 lb3
ip -n "$LAB" link add npbvlb mtu 9000 type bridge
ip -n "$LAB" link set npbvlb up
ip -n "$LAB" link set lb0 master npbvlb
ip -n "$LAB" link set lb2 master npbvlb
measure bridge "$LAB" --af-packet lb1 --af-packet lb3 --no-huge --delay 1

# --- OVS userspace (netdev), AF_PACKET ports -----------------------------
say "OVS netdev"
veth ov0 ov1
veth ov2 ov3
odir=$STATE/lab/ovs
mkdir -p "$odir"
(
    export OVS_RUNDIR=$odir OVS_DBDIR=$odir OVS_LOGDIR=$odir OVS_SYSCONFDIR=$odir
    ovsdb-tool create "$odir/conf.db" "$TOPO_OVS_SCHEMA"
    ip netns exec "$LAB" ovsdb-server "$odir/conf.db" \
        --remote="punix:$odir/db.sock" --pidfile="$odir/ovsdb-server.pid" \
        -vconsole:off --log-file="$odir/ovsdb-server.log" --detach --no-chdir
    ovs-vsctl --db="unix:$odir/db.sock" --no-wait init
    ip netns exec "$LAB" ovs-vswitchd "unix:$odir/db.sock" \
        --pidfile="$odir/ovs-vswitchd.pid" -vconsole:off \
        --log-file="$odir/ovs-vswitchd.log" --detach --no-chdir
    ovs-vsctl --db="unix:$odir/db.sock" --timeout=30 add-br npbvbr -- \
        set bridge npbvbr datapath_type=netdev -- \
        add-port npbvbr ov0 -- set Interface ov0 mtu_request=9000 -- \
        add-port npbvbr ov2 -- set Interface ov2 mtu_request=9000
)
measure ovs-netdev "$LAB" --af-packet ov1 --af-packet ov3 --no-huge \
    --delay 1
for f in "$odir"/ovs-vswitchd.pid "$odir"/ovsdb-server.pid; do
    kill "$(cat "$f")" 2> /dev/null || true
done

# --- testpmd io-forwarding between two vhost-user sockets ----------------
say "testpmd"
tp0=$STATE/tp0.sock
tp1=$STATE/tp1.sock
# testpmd is the vhost-user client (as OVS is), reconnecting whenever a
# netpool-perf serving the sockets comes up; forwarding on core 1.
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
measure testpmd "$LAB" --vhost "$tp0" --vhost "$tp1" --in-memory \
    --delay 2
kill "$tp_pid" 2> /dev/null || true
wait "$tp_pid" 2> /dev/null || true

# --- netpool OVS-DPDK -----------------------------------------------------
say "netpool OVS-DPDK"
topo_switch_up > /dev/null
topo_host_up 1 > /dev/null
host=$(np host-list --minimal)
np host-param-set uuid="$host" other-config:dpdk-socket-mem=256
np host-param-set uuid="$host" datapath=dpdk
wait_for 60 eval '[ "$(hvsctl get Open_vSwitch . dpdk_initialized)" = true ]' ||
    {
        say "OVS-DPDK did not initialize"
        exit 1
    }
net=$(np network-create name-label=npbv MTU=9000)
vm=$(np vm-create name-label=npbv-perf)
sock=()
ports=()
for dev in 0 1; do
    vif=$(np vif-create vm-uuid="$vm" network-uuid="$net" device=$dev \
        other-config:vhost-user=external)
    np vif-plug uuid="$vif" > /dev/null 2>&1 || true
done
vif_ports() {
    mapfile -t ports < <(hvsctl --bare --columns=name find Interface \
        type=dpdkvhostuserclient | sed '/^$/d' | sort)
    [ "${#ports[@]}" -ge 2 ]
}
ports_kind=VIFs
if wait_for 30 vif_ports; then
    for p in "${ports[@]:0:2}"; do
        sock+=("$(hvsctl get Interface "$p" options:vhost-server-path |
            tr -d '"')")
    done
else
    # netpoold makes no vhost-user port for an external VIF yet: two
    # hand-made ones on a bridge of the host's OVS-DPDK.
    ports_kind="hand-made ports"
    ports=(npbv0 npbv1)
    hvsctl add-br npbvdp -- set bridge npbvdp datapath_type=netdev
    for p in "${ports[@]}"; do
        hvsctl add-port npbvdp "$p" -- set Interface "$p" \
            type=dpdkvhostuserclient mtu_request=9000 \
            "options:vhost-server-path=$STATE/$p.sock"
        sock+=("$STATE/$p.sock")
    done
fi
say "netpool OVS-DPDK with $ports_kind: ${ports[*]:0:2}"
# OVS applies a vhost-user port's MTU only while a device is connected:
# once netpool-perf is (it sleeps --delay before sending), nudge it.
iface() { hvsctl get Interface "$1" "$2" 2> /dev/null | tr -d '"'; }
mtu_hook() {
    local p
    wait_for 30 eval '[ "$(iface "${ports[0]}" link_state)/$(iface "${ports[1]}" link_state)" = up/up ]' ||
        true
    [ "$1" -gt 1500 ] || return 0
    for p in "${ports[@]:0:2}"; do
        if [ "$(iface "$p" mtu)" != 9000 ]; then
            hvsctl set Interface "$p" mtu_request=8999
            hvsctl set Interface "$p" mtu_request=9000
        fi
    done
}
HOOK=mtu_hook measure netpool "$(topo_ns h1)" --vhost "${sock[0]}" \
    --vhost "${sock[1]}" --in-memory --delay 4

# PMD scaling, 64 bytes.
pmd_run() {
    local mask=$1
    np host-param-set uuid="$host" other-config:pmd-cpu-mask="$mask"
    wait_for 30 eval '[ "$(hvsctl get Open_vSwitch . other_config:pmd-cpu-mask | tr -d "\"")" = "$mask" ]' ||
        true
    sleep 2
    perf_loop "$(topo_ns h1)" "pmd-$mask" --vhost "${sock[0]}" \
        --vhost "${sock[1]}" --in-memory --delay 4 --size 64 \
        --duration "$SECONDS_EACH" &
    local pid=$!
    mtu_hook 64
    wait "$pid" || true
    result[pmd-$mask]="$(key "$STATE/pmd-$mask.out" rx_mpps)"
}
pmd_run 0x2
if [ "$(nproc)" -ge 2 ]; then
    pmd_run 0x3
else
    result[pmd-0x3]="-"
fi

# --- report -----------------------------------------------------------------
echo "bench-dpdk-vif: VIF to VIF, netpool-perf loop (one process on core 0;" \
    "OVS PMD thread or testpmd forwarding on core 1), ${SECONDS_EACH}s per" \
    "size, $(nproc) cores; Gbit/s of frame bytes"
printf '%-36s' path
for size in "${SIZES[@]}"; do
    printf ' %9s %8s %7s' "${size}B Mpps" "Gbit/s" "loss%"
done
printf ' %9s %9s\n' "p50 us" "p99 us"
rows=(netpool testpmd ovs-netdev bridge)
declare -A label=(
    [netpool]="netpool OVS-DPDK ($ports_kind)"
    [testpmd]="testpmd io (vhost-user)"
    [ovs-netdev]="OVS netdev (AF_PACKET)"
    [bridge]="Linux bridge (veth)"
)
for row in "${rows[@]}"; do
    printf '%-36s' "${label[$row]}"
    for size in "${SIZES[@]}"; do
        read -r mpps gbps loss <<< "${result[$row-$size]:-- - -}"
        printf ' %9s %8s %7s' "${mpps:--}" "${gbps:--}" "${loss:--}"
    done
    read -r p50 p99 _ <<< "${result[$row-lat]:-- -}"
    printf ' %9s %9s\n' "${p50:--}" "${p99:--}"
done
echo "latency: one way, 64-byte frames at $LATENCY_PPS frames/s"
for row in testpmd ovs-netdev bridge; do
    printf 'ratio %s / netpool OVS-DPDK:' "$row"
    for size in "${SIZES[@]}"; do
        read -r a _ <<< "${result[$row-$size]:--}"
        read -r b _ <<< "${result[netpool-$size]:--}"
        awk -v a="$a" -v b="$b" -v s="$size" 'BEGIN {
            if (a + 0 > 0 && b + 0 > 0) printf " %sB %.2f", s, a / b
            else printf " %sB -", s }'
    done
    read -r a _ <<< "${result[$row-lat]:--}"
    read -r b _ <<< "${result[netpool-lat]:--}"
    awk -v a="$a" -v b="$b" 'BEGIN {
        if (a + 0 > 0 && b + 0 > 0) printf ", p50 latency %.2f\n", a / b
        else printf ", p50 latency -\n" }'
done
echo "PMD scaling (netpool OVS-DPDK, 64 B, $(nproc) cores):" \
    "1 PMD (pmd-cpu-mask 0x2) ${result[pmd-0x2]:--} Mpps," \
    "2 PMDs (0x3) ${result[pmd-0x3]:--} Mpps"
