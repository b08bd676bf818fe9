#!/usr/bin/env bash
#
# bench-vm-api.sh [CALLS]
#
# API latency under domain and storage work: host.get_all_records (what
# `netpool host-list` calls) over netpoold's local socket, one call after
# the other, each on a new connection (perf/api-latency.py), CALLS times
# (default 200) on an idle netpoold (three guests running, nothing asked),
# then as many and for as long as three guests suspend and a 1 GB VDI
# copies into another SR, all asked at once (Async.VM.suspend x3,
# Async.VDI.copy).  Prints p50, p99 and max of each phase and the ratios
# busy / idle.  The work runs beside netpoold's event loop (QMP commands,
# qemu-img as a child), so the calls should answer about as fast as when
# idle; what is left is the machine's cores shared with three TCG guests
# saving their memory and qemu-img copying.
#
# Topology (scripts/topology.sh): host h1 runs netpoold (release build);
# the guests (tests/guest/build.sh, 96 MiB) need no network.
# shellcheck disable=SC2016
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"

CALLS=${1:-200}
PREFIX=npba$$-
STATE=$(mktemp -d /tmp/netpool-bench-api.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$TOP/build/bin}
export PREFIX STATE NETPOOL_BIN
MIB=1048576

host=
vms=()
cleanup() {
    for v in "${vms[@]}"; do
        np vm-shutdown uuid="$v" --force > /dev/null 2>&1 || true
    done
    topo_down > /dev/null 2>&1 || true
    [ -z "$host" ] || rm -rf "/run/netpool/vm/$host"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

on() { topo_on "$@"; }
np() { on 1 netpool "$@"; }
sock=$STATE/h1/netpoold.sock
# Async METHOD ARGS...: starts it, prints its task.
async() {
    local method=$1
    shift
    local params="" a
    for a in "$@"; do params+=",\"$a\""; done
    echo '{"jsonrpc":"2.0","id":1,"method":"Async.'"$method"'","params":[""'"$params"']}' |
        on 1 curl -s --unix-socket "$sock" -H 'Content-Type: application/json' \
            --data-binary @- http://localhost/jsonrpc |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])'
}
latency() { on 1 python3 "$TOP/perf/api-latency.py" "$sock" "$@"; }
field() { sed -n "s/.* $1 \([0-9.]*\).*/\1/p"; }

guest=$("$TOP/tests/guest/build.sh")
topo_switch_up > /dev/null
topo_host_up 1 > /dev/null
host=$(np host-list --minimal)
net=$(np network-create name-label=bench)
for i in 1 2 3; do
    v=$(np vm-create name-label="guest$i")
    np vm-param-set uuid="$v" memory-static-max=$((96 * MIB)) \
        PV-kernel="$guest/vmlinuz" PV-ramdisk="$guest/initrd.img" \
        PV-args="quiet"
    np vif-create vm-uuid="$v" network-uuid="$net" device=0 > /dev/null
    vms+=("$v")
done
sr1=$(np sr-create name-label=src type=dir device-config:location="$STATE/sr1")
sr2=$(np sr-create name-label=dst type=dir device-config:location="$STATE/sr2")
big=$(np vdi-create sr-uuid="$sr1" name-label=big virtual-size=$((1024 * MIB)) format=raw)
bigpath=$(np vdi-param-get uuid="$big" param-name=location)
head -c "$MIB" /dev/urandom > "$STATE/chunk"
for ((i = 0; i < 1024; i++)); do cat "$STATE/chunk"; done > "$bigpath"
rm -f "$STATE/chunk"
for v in "${vms[@]}"; do np vm-start uuid="$v"; done
# Let the guests boot before measuring: booting under TCG takes the CPU.
for v in "${vms[@]}"; do
    for _ in $(seq 150); do
        grep -qs 'netpool-guest: ready' "/run/netpool/vm/$host/$v/serial.log" && break
        sleep 0.2
    done
done

latency 50 > /dev/null # warm-up: connections, caches
idle=$(latency "$CALLS")
tasks=()
for v in "${vms[@]}"; do tasks+=("$(async VM.suspend "$v")"); done
tasks+=("$(async VDI.copy "$big" "$sr2")")
busy=$(latency "$CALLS" "${tasks[@]}")

echo "API latency, host.get_all_records over the local socket:"
echo "  idle (3 guests running):              $(head -1 <<< "$idle")"
echo "  3 guests suspending + 1 GB VDI copy:  $(head -1 <<< "$busy")"
tail -n +2 <<< "$busy" | sed 's/^/    /'
for p in p50_ms p99_ms; do
    a=$(head -1 <<< "$idle" | field "$p")
    b=$(head -1 <<< "$busy" | field "$p")
    awk -v a="$a" -v b="$b" -v p="$p" \
        'BEGIN { printf "  ratio busy/idle %s: %.2f\n", p, (a > 0 ? b / a : 0) }'
done
