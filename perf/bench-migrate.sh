#!/usr/bin/env bash
#
# bench-migrate.sh [SIZES] [MODES]
#
# Live migration between the two members of a pool over a migration VLAN
# (VLAN 30 on eth1), for each guest size in SIZES (MiB, default
# "128"; the issue's full run is "128 256 512") and each mode in MODES
# (default "idle dirty": the guest idle, or rewriting a quarter of its
# memory all along with tests/guest/mem-pattern.c).  A 1000 pps UDP echo
# stream from the switch to the guest (perf/echo-probe.py) runs across each
# migration.  Prints, per run: QEMU's total time and downtime, the
# stream's longest silence (the traffic blackout) and the cutover overhead
# = blackout - downtime, which is what netpool adds (the pool's write of
# the move, the destination's continue and announce-self, the switch
# learning the new port); and the migration's throughput against iperf3
# between the same two hosts on the same VLAN, measured in the same run
# (the baseline).
#
# Under TCG (no KVM here) netpool refuses live migrations
# (VM_MIGRATE_UNSAFE: TCG loses pages a guest writes during one), so every
# run is live=false and its blackout is the whole copy.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"

SIZES=${1:-128}
MODES=${2:-idle dirty}
PREFIX=npbm$$-
STATE=$(mktemp -d /tmp/netpool-bench-migrate.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$TOP/build/bin}
export PREFIX STATE NETPOOL_BIN
MIB=1048576

cleanup() { topo_down > /dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

np() { topo_on 1 netpool "$@"; }
wait_for() { # TIMEOUT CMD...
    local i
    for ((i = 0; i < $1 * 5; i++)); do
        "${@:2}" && return 0
        sleep 0.2
    done
    return 1
}
answers() { topo_on switch ping -c 1 -W 1 "$1" > /dev/null 2>&1; }
quorate() { np pool-status --json | grep -q '"members": 2'; }

guest_dir=$("$TOP/tests/guest/build.sh")
topo_switch_up > /dev/null
topo_host_up 1 > /dev/null
topo_host_up 2 > /dev/null
topo_on 2 netpool pool-join master-address="$(topo_mgmt_ip 1)" \
    master-username=root \
    master-password="$(cat "$STATE/h1/netpoold/root-password")"
wait_for 60 quorate
h1=$(np host-list name-label=h1 --minimal)
h2=$(np host-list name-label=h2 --minimal)

eth1=$(np pif-list host-uuid="$h1" device=eth1 --minimal)
guests=$(np network-create name-label=guests)
np pool-vlan-create pif-uuid="$eth1" vlan=10 network-uuid="$guests" > /dev/null
mig=$(np network-create name-label=migration)
vpifs=$(np pool-vlan-create pif-uuid="$eth1" vlan=30 network-uuid="$mig")
for vpif in ${vpifs//,/ }; do
    n=$(np host-param-get uuid="$(np pif-param-get uuid="$vpif" param-name=host)" param-name=name-label)
    np pif-reconfigure-ip uuid="$vpif" mode=static IP="198.18.30.1${n#h}" \
        netmask=255.255.255.0
done
np pool-param-set uuid="$(np pool-list --minimal)" migration-network="$mig"
topo_on switch ovs-vsctl add-port sw0 swv10 tag=10 -- set interface swv10 type=internal
topo_on switch ip addr add 198.18.10.1/24 dev swv10
topo_on switch ip link set swv10 up
wait_for 30 topo_on 1 ping -c 1 -W 1 198.18.30.12 > /dev/null

# The baseline: TCP between the two hosts on the migration VLAN.
topo_on 2 iperf3 -s -1 -B 198.18.30.12 > /dev/null 2>&1 &
sleep 0.5
iperf_mbps=$(topo_on 1 iperf3 -c 198.18.30.12 -t 3 -J |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8e6))')
printf 'iperf3 h1 -> h2 on the migration VLAN: %s MB/s (the baseline)\n' \
    "$iperf_mbps"
printf '%-6s %-6s %-5s %9s %9s %9s %9s %7s %9s\n' size mode live total_ms \
    down_ms black_ms cutover lost MB/s

here=$h1 there=$h2
for size in $SIZES; do
    for mode in $MODES; do
        args="quiet np.ip0=198.18.10.50/24"
        [ "$mode" = dirty ] && args="$args np.mempattern=$((size / 4))"
        live=true
        [ "$(np host-param-get uuid="$h1" param-name=virtualization)" = kvm ] ||
            live=false
        vm=$(np vm-create name-label="b$size$mode" \
            memory-static-max=$((size * MIB)) PV-kernel="$guest_dir/vmlinuz" \
            PV-ramdisk="$guest_dir/initrd.img" PV-args="$args")
        np vm-param-set uuid="$vm" affinity="$here"
        np vif-create vm-uuid="$vm" network-uuid="$guests" device=0 > /dev/null
        np vm-start uuid="$vm"
        wait_for 90 answers 198.18.10.50
        sleep 3 # the guest settles (and the pattern is written)
        rm -f "$STATE/done"
        topo_on switch python3 "$TOP/perf/echo-probe.py" 198.18.10.50 \
            --until "$STATE/done" --seconds 120 > "$STATE/probe" &
        probe=$!
        sleep 1
        np vm-migrate uuid="$vm" host="$there" live=$live
        touch "$STATE/done"
        wait "$probe"
        python3 - "$STATE/probe" "$size" "$mode" "$live" \
            "$(np vm-param-get uuid="$vm" param-name=last-operation)" << 'EOF'
import json, re, sys
probe = json.load(open(sys.argv[1]))
size, mode, live, last = sys.argv[2:6]
fields = dict(re.findall(r"(\w+): ([^;]*)", last))
total = float(fields.get("total_time", 0))
down = float(fields.get("downtime", 0))
moved = float(fields.get("transferred", 0))
black = probe["blackout_ms"]
print("%-6s %-6s %-5s %9.0f %9.0f %9.1f %9.1f %7d %9.0f" % (
    size, mode, live, total, down, black, black - down, probe["lost"],
    moved / 1e6 / (total / 1000) if total else 0))
EOF
        np vm-shutdown uuid="$vm" --force
        topo_on switch ip neigh flush dev swv10
        tmp=$here here=$there there=$tmp
    done
done
echo "MB/s: bytes QEMU sent over its total time; compare with iperf3 above."
