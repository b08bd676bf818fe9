#!/usr/bin/env bash
#
# bench-snmp.sh [-n VIFS] [-s SECONDS]
#
# SNMP and /metrics with many interfaces.  A namespace host runs netpoold
# (release build) as the AgentX subagent of an snmpd, with VIFS namespace
# guest VIFs (default 200) besides its four NICs.  It prints:
#   - a full ifXTable walk (snmpbulkwalk, SNMPv2c) served by netpoold,
#     against a walk of the kernel's own ifXTable served by a second snmpd
#     of the same namespace (which has as many kernel interfaces: each VIF
#     is a veth), in the same run, and the ratio;
#   - /metrics latency (median and max of 20 scrapes) and size;
#   - netpoold's CPU over SECONDS (default 20) idle, scraped (/metrics)
#     every second, and walked (ifXTable) every second, from
#     /proc/PID/stat.
# Addresses are in 198.18.0.0/15; everything it starts it stops by PID.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n_vifs=200
seconds=20
while getopts n:s: opt; do
    case $opt in
        n) n_vifs=$OPTARG ;;
        s) seconds=$OPTARG ;;
        *) echo "usage: $0 [-n VIFS] [-s SECONDS]" >&2; exit 2 ;;
    esac
done

PREFIX=npbs$$-
STATE=$(mktemp -d /tmp/netpool-bench-snmp.XXXXXX)
NETPOOL_BIN=$top/build/bin
export PREFIX STATE NETPOOL_BIN MIBS=
# shellcheck source=scripts/topology.sh
source "$top/scripts/topology.sh"

sdir=$STATE/snmp
guest=${PREFIX}g
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    ip netns del "$guest" 2> /dev/null || true
    topo_down > /dev/null 2>&1 || true
}
trap cleanup EXIT

on() { topo_on 1 "$@"; }

mkdir -p "$sdir/conf" "$sdir/persist" "$sdir/kconf" "$sdir/kpersist"
topo_switch_up
TOPO_NETPOOLD_EXTRA_ARGS="--snmp-agentx-socket $sdir/agentx.sock \
--log-level debug" topo_host_up 1
cat > "$sdir/conf/snmpd.conf" << CONF
agentaddress udp:127.0.0.1:11161
master agentx
agentXSocket unix:$sdir/agentx.sock
rocommunity bench 127.0.0.1
CONF
cat > "$sdir/kconf/snmpd.conf" << CONF
agentaddress udp:127.0.0.1:11171
rocommunity bench 127.0.0.1
CONF
on env SNMP_PERSISTENT_DIR="$sdir/persist" SNMPCONFPATH="$sdir/conf" \
    snmpd -f -Lf "$sdir/snmpd.log" -I -smux > /dev/null 2>&1 &
pids+=($!)
on env SNMP_PERSISTENT_DIR="$sdir/kpersist" SNMPCONFPATH="$sdir/kconf" \
    snmpd -f -Lf "$sdir/ksnmpd.log" -I -smux > /dev/null 2>&1 &
pids+=($!)

# VIFS namespace-guest VIFs of one VM on a private network.
ip netns add "$guest"
net=$(on netpool network-create name-label=bench)
vm=$(on netpool vm-create name-label=bench-guests)
start=$SECONDS
for ((i = 0; i < n_vifs; i++)); do
    vif=$(on netpool vif-create vm-uuid="$vm" network-uuid="$net" \
        device="$i" other-config:netns="$guest")
    on netpool vif-plug uuid="$vif"
done
echo "created $n_vifs VIFs in $((SECONDS - start)) s"

walk() { # PORT: seconds and rows of a bulk walk of ifXTable's ifName…
    local t0 t1 rows
    t0=$(date +%s.%N)
    rows=$(on snmpbulkwalk -v2c -c bench -On -Oq -Cr50 -t 10 \
        "127.0.0.1:$1" .1.3.6.1.2.1.31.1.1 2> /dev/null | wc -l)
    t1=$(date +%s.%N)
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}') $rows"
}
want=$((n_vifs + 4))
deadline=$((SECONDS + 120))
while :; do
    names=$(on snmpbulkwalk -v2c -c bench -On -Oq -t 10 127.0.0.1:11161 \
        .1.3.6.1.2.1.31.1.1.1.1 2> /dev/null | wc -l)
    [ "$names" -ge "$want" ] && break
    if [ $SECONDS -ge $deadline ]; then
        echo "only $names of $want interfaces appeared in ifXTable" >&2
        exit 1
    fi
    sleep 1
done
kernel_ifs=$(on snmpbulkwalk -v2c -c bench -On -Oq -t 10 127.0.0.1:11171 \
    .1.3.6.1.2.1.31.1.1.1.1 2> /dev/null | wc -l)

printf '%-34s %10s %8s\n' "ifXTable walk (snmpbulkwalk)" seconds objects
best_np=999 best_k=999
for trial in 1 2 3; do
    read -r t_np rows_np <<< "$(walk 11161)"
    read -r t_k rows_k <<< "$(walk 11171)"
    printf '%-34s %10.3f %8d\n' "netpool, $want interfaces (#$trial)" \
        "$t_np" "$rows_np"
    printf '%-34s %10.3f %8d\n' "kernel, $kernel_ifs interfaces (#$trial)" \
        "$t_k" "$rows_k"
    best_np=$(awk -v a="$t_np" -v b="$best_np" 'BEGIN {print a < b ? a : b}')
    best_k=$(awk -v a="$t_k" -v b="$best_k" 'BEGIN {print a < b ? a : b}')
done
echo "best walk: netpool $best_np s, kernel $best_k s, ratio $(awk \
    -v a="$best_np" -v b="$best_k" 'BEGIN {printf "%.2f", a / b}') \
(netpool / kernel)"

# What netpoold logs of its view builds (the walks' main cost).
builds=$(grep -o 'view of [0-9]* objects built in [0-9]* ms' \
    "$STATE/h1/netpoold.log" | awk '{print $(NF - 1), $3}' | sort -n)
if [ -n "$builds" ]; then
    n=$(echo "$builds" | wc -l)
    echo "view builds so far: $n, $(echo "$builds" | tail -1 |
        cut -d' ' -f2) objects, median $(echo "$builds" |
        sed -n "$(((n + 1) / 2))p" | cut -d' ' -f1) ms, max $(echo \
        "$builds" | tail -1 | cut -d' ' -f1) ms"
fi

# /metrics latency and size.
times=()
size=0
for _ in $(seq 20); do
    read -r t s <<< "$(on curl -s -o /dev/null -w '%{time_total} %{size_download}' \
        http://127.0.0.1:9440/metrics)"
    times+=("$t")
    size=$s
done
sorted=$(printf '%s\n' "${times[@]}" | sort -g)
echo "/metrics: median $(echo "$sorted" | sed -n 10p) s, max \
$(echo "$sorted" | tail -1) s, $size bytes, $(on curl -s \
    http://127.0.0.1:9440/metrics | grep -c '^netpool_') samples"

# CPU of netpoold: idle, then scraped every second, then walked every
# second.
pid=$(cat "$STATE/h1/netpoold.pid")
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
measure() { # LABEL COMMAND...: CPU share while COMMAND runs every second
    local label=$1 c0 c1 t0 t1
    shift
    c0=$(cpu)
    t0=$(date +%s.%N)
    for _ in $(seq "$seconds"); do
        "$@" > /dev/null 2>&1 || true
        sleep 1
    done
    c1=$(cpu)
    t1=$(date +%s.%N)
    printf 'netpoold CPU %-28s %6.2f %%\n' "$label" "$(awk -v c0="$c0" \
        -v c1="$c1" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
        'BEGIN {print 100 * (c1 - c0) / hz / (t1 - t0)}')"
}
measure "idle" true
measure "/metrics every second" on curl -s http://127.0.0.1:9440/metrics
measure "ifXTable walk every second" on snmpbulkwalk -v2c -c bench -On -Oq \
    -Cr50 127.0.0.1:11161 .1.3.6.1.2.1.31.1.1
