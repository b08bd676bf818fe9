#!/usr/bin/env bash
#
# bench-vm-start.sh [TRIALS]
#
# VM start latency: from `netpool vm-start` to the guest answering ping,
# median (and min, max) of TRIALS (default 5) starts of the test guest
# (tests/guest/build.sh: Debian's cloud kernel and a busybox initramfs,
# 96 MiB, one VIF), each followed by a hard shutdown.  The baseline, in
# the same run, is the same guest started by hand: qemu-system-x86_64 with
# the same command line (netpool's, read from the running QEMU) on a tap
# added to the same bridge with ovs-vsctl, to the same ping.  Prints both
# medians and the ratio netpool / baseline: netpool's cost is the API call,
# the checks, the store and the port it adds on top of QEMU's own boot.
#
# Topology (scripts/topology.sh; addresses in 198.18.44.0/24): host h1 runs
# netpoold (release build); a namespace guest h1g1 on the same network
# pings the VM.
# shellcheck disable=SC2016
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"

TRIALS=${1:-5}
PREFIX=npbv$$-
STATE=$(mktemp -d /tmp/netpool-bench-vm.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$TOP/build/bin}
export PREFIX STATE NETPOOL_BIN

host=
cleanup() {
    topo_down > /dev/null 2>&1 || true
    [ -z "$host" ] || rm -rf "/run/netpool/vm/$host"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

on() { topo_on "$@"; }
np() { on 1 netpool "$@"; }
now_ms() { date +%s%3N; }
# Waits (up to 120 s) until the guest answers ping; prints the time.
wait_ping() {
    local deadline=$(($(now_ms) + 120000))
    while ! on h1g1 ping -c 1 -W 1 -i 0.2 198.18.44.1 > /dev/null 2>&1; do
        [ "$(now_ms)" -lt "$deadline" ] || { echo "no ping" >&2; exit 1; }
    done
    now_ms
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stats() { # prints "median (min–max)" of the numbers on stdin
    sort -n | awk '{a[NR]=$1} END {printf "%d ms (%d-%d)", a[int((NR+1)/2)], a[1], a[NR]}'
}

guest=$("$TOP/tests/guest/build.sh")
topo_switch_up > /dev/null
topo_host_up 1 > /dev/null
topo_guest_up 1 1 > /dev/null
host=$(np host-list --minimal)
net=$(np network-create name-label=bench)
bridge=$(np network-param-get uuid="$net" param-name=bridge)
vm=$(np vm-create name-label=bench)
np vm-param-set uuid="$vm" memory-static-max=$((96 * 1048576)) \
    PV-kernel="$guest/vmlinuz" PV-ramdisk="$guest/initrd.img" \
    PV-args="quiet np.ip0=198.18.44.1/24"
np vif-create vm-uuid="$vm" network-uuid="$net" device=0 > /dev/null
prober=$(np vm-create name-label=prober)
pvif=$(np vif-create vm-uuid="$prober" network-uuid="$net" device=0 \
    other-config:netns="${PREFIX}h1g1")
np vif-plug uuid="$pvif"
for _ in $(seq 50); do
    on h1g1 ip link show eth0 > /dev/null 2>&1 && break
    sleep 0.2
done
on h1g1 ip addr add 198.18.44.9/24 dev eth0

netpool_ms=()
cmdline=
for _ in $(seq "$TRIALS"); do
    t0=$(now_ms)
    np vm-start uuid="$vm"
    t1=$(wait_ping)
    netpool_ms+=($((t1 - t0)))
    if [ -z "$cmdline" ]; then
        pid=$(np vm-param-get uuid="$vm" param-name=domid)
        cmdline=$(tr '\0' '\n' < "/proc/$pid/cmdline")
    fi
    np vm-shutdown uuid="$vm" --force
done

# The baseline: the same QEMU command line by hand, on a tap that is a
# port of the same bridge, in a folder of its own.
dir=$STATE/baseline
mkdir -p "$dir"
tap=$(echo "$cmdline" | sed -n 's/.*ifname=\([^,]*\).*/\1/p' | head -1)
mapfile -t args < <(echo "$cmdline" | sed \
    -e "s|unix:[^,]*/qmp,|unix:$dir/qmp,|" \
    -e "s|^file:.*/serial.log|file:$dir/serial.log|" \
    -e "s|.*/pid$|$dir/pid|" \
    -e "s|ifname=[^,]*,|ifname=bench0,|")
baseline_ms=()
for _ in $(seq "$TRIALS"); do
    t0=$(now_ms)
    on 1 "${args[@]}"
    on 1 ip link set bench0 up
    on 1 ovs-vsctl --timeout=10 -- --may-exist add-port "$bridge" bench0
    t1=$(wait_ping)
    baseline_ms+=($((t1 - t0)))
    kill -KILL "$(cat "$dir/pid")"
    while [ -e "/proc/$(cat "$dir/pid")" ]; do sleep 0.05; done
    on 1 ovs-vsctl --timeout=10 -- --if-exists del-port "$bridge" bench0
done

echo "VM start to first ping, $TRIALS trials, $(np host-param-get uuid="$host" param-name=virtualization):"
echo "  netpool vm-start:        $(printf '%s\n' "${netpool_ms[@]}" | stats)"
echo "  baseline (QEMU by hand): $(printf '%s\n' "${baseline_ms[@]}" | stats)"
n=$(printf '%s\n' "${netpool_ms[@]}" | median)
b=$(printf '%s\n' "${baseline_ms[@]}" | median)
awk -v n="$n" -v b="$b" 'BEGIN {printf "  ratio netpool / baseline: %.2f\n", n / b}'
