#!/usr/bin/env bash
#
# bench-pool.sh [-m MAX_HOSTS] [-r ROUNDS] [-k KILLS] [-t TOKEN_MS] [-i IDLE_S]
#               [-s bridge|ovs]
#
# The pool's figures, on namespace hosts (release build, each host with
# its own OVS, netpoold and, once in the pool, corosync):
#   - write latency (network.create over the local socket, one connection
#     per call) on h1 while it is standalone: the baseline;
#   - pool-join time of h2, h3, ... hMAX (default 8) into the pool of the
#     hosts before it (so into pools of 1 .. MAX-1 hosts);
#   - in the pool of 3: write latency on the master and on a member, with
#     their ratios to the standalone figure; propagation of a network and
#     a pool VLAN made on the master to its bridge on every member's OVS
#     (median and p99 of ROUNDS, default 20); master loss (kill -9 of its netpoold and
#     corosync) until a write through a survivor is accepted, median of
#     KILLS (default 10), the killed host started again between kills;
#   - in the pool of 7 (if MAX reaches it) and of MAX: propagation again;
#   - with -t, the pool's token timeout is set to TOKEN_MS once the pool
#     of 3 has formed; after the kills the pool of 3 idles IDLE_S seconds
#     (default 60) and the configuration changes each host saw meanwhile
#     are counted: any is a false alarm of corosync at that timeout on
#     this machine as loaded as it is.
#   - at the end (or on a failure), what the test switch itself dropped on
#     each host's management port.
# The test switch (-s) is a kernel bridge by default: it forwards in the
# kernel, as a hardware switch forwards in its ASIC, so the figures are the
# pool's.  With -s ovs it is an OVS instance on the userspace datapath, as
# in the integration tests; sharing 2 cores with every host, its
# ovs-vswitchd does not read its packet sockets fast enough and drops
# bursts of corosync fragments (the drop counters of its sockets, ss -0 -m,
# show how many), so a pool of six or more hosts may fail to form there.
# Prints figures only; nothing is compared with a threshold.  Addresses are
# in 198.18.0.0/15; everything it starts it stops by PID.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
max=8
rounds=20
kills=10
token=
idle=60
switch=bridge
while getopts m:r:k:t:i:s: opt; do
    case $opt in
        m) max=$OPTARG ;;
        r) rounds=$OPTARG ;;
        k) kills=$OPTARG ;;
        t) token=$OPTARG ;;
        i) idle=$OPTARG ;;
        s) switch=$OPTARG ;;
        *) echo "usage: $0 [-m MAX_HOSTS] [-r ROUNDS] [-k KILLS] [-t TOKEN_MS] [-i IDLE_S] [-s bridge|ovs]" >&2; exit 2 ;;
    esac
done
[ "$max" -ge 3 ] || { echo "bench-pool: -m must be at least 3" >&2; exit 2; }
case $switch in
    bridge | ovs) ;;
    *) echo "bench-pool: -s must be bridge or ovs" >&2; exit 2 ;;
esac

PREFIX=npbp$$-
STATE=$(mktemp -d /tmp/netpool-bench-pool.XXXXXX)
NETPOOL_BIN=$top/build/bin
TOPO_SWITCH=$switch
export PREFIX STATE NETPOOL_BIN TOPO_SWITCH
# shellcheck source=scripts/topology.sh
source "$top/scripts/topology.sh"
PROBE=$top/perf/pool-probe.py

# On a failure the hosts' netpoold and corosync logs are kept (in
# /tmp/netpool-bench-pool-logs.*) before the state goes.
cleanup() {
    local rc=$? logs
    if [ "$rc" != 0 ]; then
        print_switch_drops >&2
        logs=$(mktemp -d /tmp/netpool-bench-pool-logs.XXXXXX)
        (cd "$STATE" && find . \( -name netpoold.log -o -name corosync.log \) \
            -exec cp --parents {} "$logs" \;) || true
        echo "bench-pool: failed; the hosts' logs are in $logs" >&2
    fi
    topo_down > /dev/null 2>&1 || true
    rm -rf "$STATE"
}
trap cleanup EXIT
# The test switch's own losses on each host's management port: with OVS,
# what the packet socket of that port in its ovs-vswitchd dropped (ss's
# skmem d); with the kernel bridge, the port's rx and tx drop counters.
print_switch_drops() {
    local drops
    if [ "$switch" = ovs ]; then
        drops=$(topo_on switch ss -0 -m -p 2> /dev/null | awk '
            $1 == "p_raw" { port = $4; sub(/^\*:/, "", port) }
            port ~ /-eth0$/ && match($0, /,d[0-9]+\)/) {
                printf "%s %s  ", port, substr($0, RSTART + 2, RLENGTH - 3)
                port = ""
            }') || true
        printf '%-44s %s\n' "switch packet-socket drops (ss -0 -m)" "$drops"
    else
        drops=$(ip -n "$(topo_ns switch)" -s -j link show 2> /dev/null |
            python3 -c '
import json, sys
for link in json.load(sys.stdin):
    if link["ifname"].endswith("-eth0"):
        s = link["stats64"]
        print("%s %d" % (link["ifname"],
                         s["rx"]["dropped"] + s["tx"]["dropped"]), end="  ")
') || true
        printf '%-44s %s\n' "switch port drops (kernel bridge, rx+tx)" "$drops"
    fi
}

np() { local n=$1; shift; topo_on "$n" netpool "$@"; }
sock() { echo "$STATE/h$1/netpoold.sock"; }
db() { echo "$STATE/h$1/ovs/db.sock"; }
status() { np "$1" pool-status --json 2> /dev/null; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
ms() { date +%s%3N; }
# quorate_with N MEMBERS: host N sees a quorate, synced pool of MEMBERS.
quorate_with() {
    local s
    s=$(status "$1") || return 1
    [ "$(echo "$s" | field quorate)" = True ] &&
        [ "$(echo "$s" | field synced)" = True ] &&
        [ "$(echo "$s" | field members)" = "$2" ]
}
wait_for() { # SECONDS CMD...
    local deadline=$(($(ms) + $1 * 1000))
    shift
    until "$@"; do
        [ "$(ms)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
master_of() { # N...: the host among them that acts as master
    local n
    for n; do
        if [ "$(status "$n" | field master 2> /dev/null)" = True ]; then
            echo "$n"
            return 0
        fi
    done
    return 1
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
p99() { sort -n | awk '{ v[NR] = $1 } END { i = int(NR * 0.99 + 0.99); if (i < 1) i = 1; if (NR) print v[i]; else print "-" }'; }

echo "bench-pool: up to $max hosts, $rounds propagation rounds, $kills master kills"
topo_switch_up > /dev/null
for ((n = 1; n <= max; n++)); do
    topo_host_up "$n" > /dev/null
done
pw=$(cat "$STATE/h1/netpoold/root-password")
h1=$(np 1 host-list params=uuid --minimal)
eth1=$(np 1 pif-list host-uuid="$h1" device=eth1 --minimal)
tag=100

read -r s50 s99 smax < <(python3 "$PROBE" writes "$(sock 1)" 100 standalone)
printf '%-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n' \
    "write, standalone host (baseline)" "$s50" "$s99" "$smax"

propagation() { # POOL_SIZE
    local size=$1 i n dbs=() t
    for ((n = 1; n <= size; n++)); do dbs+=("$(db "$n")"); done
    : > "$STATE/prop-$size"
    for ((i = 1; i <= rounds; i++)); do
        tag=$((tag + 1))
        t=$(python3 "$PROBE" propagate "$(sock 1)" "prop-$size-$i" "$eth1" \
            "$tag" "${dbs[@]}")
        echo "$t" >> "$STATE/prop-$size"
    done
    printf '%-44s median %7s ms  p99 %7s ms  (%d rounds)\n' \
        "pool VLAN made -> its bridge on all $size OVS" \
        "$(grep -v timeout "$STATE/prop-$size" | median)" \
        "$(grep -v timeout "$STATE/prop-$size" | p99)" "$rounds"
}

join() { # N: host N joins the pool of hosts 1..N-1
    local n=$1 t0 t1
    t0=$(ms)
    np "$n" pool-join master-address="$(topo_mgmt_ip 1)" \
        master-username=root master-password="$pw" > /dev/null
    t1=$(ms)
    wait_for 60 quorate_with 1 "$n"
    printf '%-44s %7d ms (pool-join returned), %7d ms (all see %d)\n' \
        "pool-join into a pool of $((n - 1))" $((t1 - t0)) $(($(ms) - t0)) "$n"
}

join 2
join 3
if [ -n "$token" ]; then
    np 1 pool-param-set uuid="$(np 1 pool-list --minimal)" token-timeout="$token"
    sleep 3 # every member reloads corosync
    wait_for 60 quorate_with 1 3
fi

read -r m50 m99 mmax < <(python3 "$PROBE" writes "$(sock 1)" 100 on-master)
read -r b50 b99 bmax < <(python3 "$PROBE" writes "$(sock 2)" 100 on-member)
printf '%-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n' \
    "write on the master, pool of 3" "$m50" "$m99" "$mmax"
printf '%-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n' \
    "write on a member, pool of 3" "$b50" "$b99" "$bmax"
awk -v s="$s50" -v m="$m50" -v b="$b50" 'BEGIN {
    printf "%-44s master %.2fx  member %.2fx (p50)\n", "ratio to standalone", m / s, b / s }'
propagation 3

: > "$STATE/loss"
for ((k = 1; k <= kills; k++)); do
    victim=$(master_of 1 2 3) || { echo "no master before kill $k" >&2; break; }
    survivors=()
    for n in 1 2 3; do [ "$n" = "$victim" ] || survivors+=("$(sock "$n")"); done
    for f in "$STATE/h$victim/netpoold.pid" \
        "$STATE/h$victim/netpoold/corosync/run/corosync.pid"; do
        pid=$(cat "$f" 2> /dev/null) || continue
        kill -9 "$pid" 2> /dev/null || true
    done
    t=$(python3 "$PROBE" write-until-ok "${survivors[@]}" --deadline 60)
    echo "$t" >> "$STATE/loss"
    wait_for 10 eval '! kill -0 "$(cat "$STATE/h$victim/netpoold.pid")" 2> /dev/null' || true
    topo_netpoold_start "$victim" > /dev/null
    wait_for 60 quorate_with "$victim" 3 || echo "h$victim did not come back" >&2
done
printf '%-44s median %7s ms  max %7s ms  (%d kills: %s)\n' \
    "master kill -9 -> a write accepted again" \
    "$(grep -v timeout "$STATE/loss" | median)" \
    "$(grep -v timeout "$STATE/loss" | sort -n | tail -1)" "$kills" \
    "$(paste -sd ' ' "$STATE/loss")"

changes() { grep -c 'pool configuration:' "$STATE/h$1/netpoold.log" || true; }
for n in 1 2 3; do wait_for 60 quorate_with "$n" 3 || true; done
before=$(for n in 1 2 3; do changes "$n"; done | paste -sd ' ')
sleep "$idle"
after=$(for n in 1 2 3; do changes "$n"; done | paste -sd ' ')
printf '%-44s %s (configuration changes per host in %d s idle; load %s)\n' \
    "false alarms, pool of 3" \
    "$(awk -v a="$after" -v b="$before" 'BEGIN { n = split(a, x); split(b, y); for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? " " : ""), x[i] - y[i] }')" \
    "$idle" "$(cut -d' ' -f1 /proc/loadavg)"

for ((n = 4; n <= max; n++)); do
    join "$n"
    if [ "$n" = 7 ] && [ "$max" != 7 ]; then
        propagation 7
    fi
done
propagation "$max"
print_switch_drops
echo "switch: $switch; token timeout: $(np 1 pool-param-get uuid="$(np 1 pool-list --minimal)" param-name=token-timeout 2> /dev/null || echo '?') ms; load: $(cut -d' ' -f1-3 /proc/loadavg)"
