#!/usr/bin/env bash
#
# bench-vm-clone.sh [COUNT]
#
# Cloning a template COUNT times (default 100) with `netpool vm-clone`:
# total time and time per clone.  The template is a halted VM of the test
# guest's settings with two VIFs; each clone gets new UUIDs and a new MAC
# per VIF in one transaction.  The baseline, in the same run, makes the
# same VMs by hand with the CLI, one call per object (vm-create,
# vm-param-set, two vif-create), as a script without VM.clone would.
# Prints both figures and the ratio clone / baseline.  VMs have no disks
# yet, so no disk is copied.
#
# Topology (scripts/topology.sh): host h1 runs netpoold (release build).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"

COUNT=${1:-100}
PREFIX=npbc$$-
STATE=$(mktemp -d /tmp/netpool-bench-clone.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$TOP/build/bin}
export PREFIX STATE NETPOOL_BIN

cleanup() { topo_down > /dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

np() {
    (
        eval "$(topo_host_env 1)"
        exec ip netns exec "$(topo_ns 1)" netpool "$@"
    )
}
now_ms() { date +%s%3N; }

topo_switch_up > /dev/null
topo_host_up 1 > /dev/null
net=$(np network-create name-label=bench)
tmpl=$(np vm-create name-label=template)
np vm-param-set uuid="$tmpl" memory-static-max=100663296 \
    PV-kernel=/boot/vmlinuz PV-args="quiet" is-a-template=true
np vif-create vm-uuid="$tmpl" network-uuid="$net" device=0 > /dev/null
np vif-create vm-uuid="$tmpl" network-uuid="$net" device=1 > /dev/null

t0=$(now_ms)
for i in $(seq "$COUNT"); do
    np vm-clone uuid="$tmpl" new-name-label="clone$i" > /dev/null
done
clone_ms=$(($(now_ms) - t0))

t0=$(now_ms)
for i in $(seq "$COUNT"); do
    vm=$(np vm-create name-label="byhand$i")
    np vm-param-set uuid="$vm" memory-static-max=100663296 \
        PV-kernel=/boot/vmlinuz PV-args="quiet" is-a-template=true
    np vif-create vm-uuid="$vm" network-uuid="$net" device=0 > /dev/null
    np vif-create vm-uuid="$vm" network-uuid="$net" device=1 > /dev/null
done
hand_ms=$(($(now_ms) - t0))

macs=$(np vif-list params=MAC --minimal | tr ',' '\n')
echo "Clone of a template (2 VIFs), $COUNT times:"
echo "  netpool vm-clone:           total $clone_ms ms, $((clone_ms / COUNT)) ms per clone"
echo "  baseline (4 CLI calls each): total $hand_ms ms, $((hand_ms / COUNT)) ms per VM"
awk -v c="$clone_ms" -v h="$hand_ms" 'BEGIN {printf "  ratio clone / baseline: %.2f\n", c / h}'
echo "  VIFs: $(echo "$macs" | wc -l), distinct MACs: $(echo "$macs" | sort -u | wc -l)"
