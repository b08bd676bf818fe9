#!/usr/bin/env bash
#
# bench-dpdk.sh [SECONDS]
#
# A host's NIC path on OVS-DPDK against OVS userspace (netdev), side by
# side in one run: the same host, NIC, switch and traffic, first with the
# host's datapath netdev (eth1 an AF_PACKET port of OVS userspace), then
# dpdk (eth1 a type=dpdk port on a net_af_packet virtual device, one PMD
# thread on core 1).  For each it prints the UDP rate from host 1 to the
# switch (perf/udp-seq.py as fast as it sends, 64 and 1400 byte
# payloads, SECONDS each, default 3: received datagrams per second, Mbit/s,
# loss) and the ping round trip (median of 50), then the ratios dpdk /
# netdev.  The machine's core count is printed with them: with 2 cores the
# PMD thread and the sender share the machine, so the ratio says what the
# DPDK path costs or saves here, not what it does on a host with spare
# cores.
#
# Topology (scripts/topology.sh, TOPO_DATAPATH=dpdk; addresses in
# 198.18.23.0/24): host h1 runs netpoold (release build) and
# ovs-vswitchd-dpdk.  Hugepages: 600 2-MiB pages are reserved for the run
# and /proc/sys/vm/nr_hugepages is given back as it was.
# shellcheck disable=SC2016
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"

SECONDS_EACH=${1:-3}
PREFIX=npbd$$-
STATE=$(mktemp -d /tmp/netpool-bench-dpdk.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$TOP/build/bin}
TOPO_DATAPATH=dpdk
export PREFIX STATE NETPOOL_BIN TOPO_DATAPATH

HUGEPAGES=/proc/sys/vm/nr_hugepages
hugepages_saved=$(cat "$HUGEPAGES")
cleanup() {
    topo_down > /dev/null 2>&1 || true
    echo "$hugepages_saved" > "$HUGEPAGES" 2> /dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

on() { topo_on "$@"; }
np() { on 1 netpool "$@"; }
iface() { on 1 ovs-vsctl get Interface "$1" "$2" 2> /dev/null | tr -d '"'; }

# One measurement: prints "pps mbps loss% rtt_ms".
measure() {
    local size=$1 port=$2 out sent
    out=$(mktemp)
    on switch python3 "$TOP/perf/udp-seq.py" recv "$port" --seconds 30 \
        --idle 2 > "$out" 2> /dev/null &
    local recv=$!
    sleep 0.5
    sent=$(on 1 python3 "$TOP/perf/udp-seq.py" send 198.18.23.1 "$port" \
        --pps 0 --seconds "$SECONDS_EACH" --size "$size")
    wait "$recv"
    python3 - "$sent" "$(cat "$out")" "$SECONDS_EACH" << 'PY'
import json, sys
sent, got, secs = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
loss = 100.0 * (sent["sent"] - got["received"]) / max(sent["sent"], 1)
pps = got["received"] / secs
print("%.0f %.1f %.1f" % (pps, got["kbps"] / 1000.0, loss))
PY
    rm -f "$out"
}
rtt() {
    on 1 ping -c 50 -i 0.02 -q 198.18.23.1 |
        sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p'
}

if [ ! -x "$TOPO_OVS_DPDK" ]; then
    echo "bench-dpdk: no $TOPO_OVS_DPDK" >&2
    exit 1
fi
free_pages() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }
if [ "$(free_pages)" -lt 600 ]; then
    echo $((hugepages_saved + 600 - $(free_pages))) > "$HUGEPAGES"
fi
[ "$(free_pages)" -ge 600 ] || {
    echo "bench-dpdk: could not reserve 600 hugepages" >&2
    exit 1
}

topo_switch_up > /dev/null
topo_host_up 1 > /dev/null
on switch ip addr add 198.18.23.1/24 dev sw0
host=$(np host-list --minimal)
pif1=$(np pif-list device=eth1 --minimal)
np pif-reconfigure-ip uuid="$pif1" mode=static IP=198.18.23.2 \
    netmask=255.255.255.0
for _ in $(seq 100); do
    on 1 ping -c 1 -W 1 198.18.23.1 > /dev/null 2>&1 && break
    sleep 0.2
done

declare -A result
run_mode() {
    local mode=$1
    result[$mode-64]=$(measure 64 5001)
    result[$mode-1400]=$(measure 1400 5002)
    result[$mode-rtt]=$(rtt)
}
run_mode netdev
np host-param-set uuid="$host" other-config:dpdk-socket-mem=256
np host-param-set uuid="$host" datapath=dpdk
for _ in $(seq 300); do
    [ "$(iface eth1 type)" = dpdk ] && [ "$(iface eth1 link_state)" = up ] &&
        on 1 ping -c 1 -W 1 198.18.23.1 > /dev/null 2>&1 && break
    sleep 0.2
done
run_mode dpdk

echo "bench-dpdk: host NIC to switch, UDP for ${SECONDS_EACH}s per size, $(nproc) cores"
printf '%-8s %14s %12s %8s %14s %12s %8s %10s\n' datapath "64B pps" "64B Mbit/s" \
    "loss%" "1400B pps" "1400B Mbit/s" "loss%" "rtt ms"
for mode in netdev dpdk; do
    read -r p64 m64 l64 <<< "${result[$mode-64]}"
    read -r p1k m1k l1k <<< "${result[$mode-1400]}"
    printf '%-8s %14s %12s %8s %14s %12s %8s %10s\n' "$mode" "$p64" "$m64" \
        "$l64" "$p1k" "$m1k" "$l1k" "${result[$mode-rtt]}"
done
read -r nd64 _ <<< "${result[netdev-64]}"
read -r dp64 _ <<< "${result[dpdk-64]}"
read -r nd1k _ <<< "${result[netdev-1400]}"
read -r dp1k _ <<< "${result[dpdk-1400]}"
awk -v a="$dp64" -v b="$nd64" -v c="$dp1k" -v d="$nd1k" \
    -v e="${result[dpdk-rtt]}" -v f="${result[netdev-rtt]}" 'BEGIN {
    printf "ratio dpdk/netdev: 64B pps %.2f, 1400B pps %.2f, rtt %.2f\n",
        a / b, c / d, e / f }'
