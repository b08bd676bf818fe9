#!/usr/bin/env bash
#
# bench-metrics.sh [-n VIFS] [-s SECONDS] [-b BASELINE_BIN]
#
# /metrics with many VIFs.  A namespace host runs netpoold (release build)
# with namespace-guest VIFs on a private network: first 10 (the baseline,
# measured in the same run), then VIFS (default 1000) in all.  For each it
# prints the /metrics latency (median and max of 20 scrapes), its size and
# samples, and the ratio of the medians; then netpoold's CPU over SECONDS
# (default 20) idle and scraped every second, its own and that of the
# children it reaps (the ovs-appctl/ovs-ofctl reads behind the bond,
# datapath and network families), from /proc/PID/stat.
# With -b, the folder BASELINE_BIN holds another netpoold (an older build,
# say): at VIFS VIFs, netpoold is restarted with this build's and with the
# baseline's in turn, 3 rounds of 20 scrapes each, and the medians of both
# and their ratio are printed, measured in the same run on the same VIFs.
# Addresses are in 198.18.0.0/15; everything it starts it stops by PID.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n_vifs=1000
seconds=20
baseline_bin=
while getopts n:s:b: opt; do
    case $opt in
        n) n_vifs=$OPTARG ;;
        s) seconds=$OPTARG ;;
        b) baseline_bin=$(cd "$OPTARG" && pwd) ;;
        *)
            echo "usage: $0 [-n VIFS] [-s SECONDS] [-b BASELINE_BIN]" >&2
            exit 2
            ;;
    esac
done
if [ -n "$baseline_bin" ] && [ ! -x "$baseline_bin/netpoold" ]; then
    echo "$baseline_bin/netpoold not found" >&2
    exit 2
fi

PREFIX=npbm$$-
STATE=$(mktemp -d /tmp/netpool-bench-metrics.XXXXXX)
NETPOOL_BIN=$top/build/bin
export PREFIX STATE NETPOOL_BIN
# shellcheck source=scripts/topology.sh
source "$top/scripts/topology.sh"

guest=${PREFIX}g
cleanup() {
    ip netns del "$guest" 2> /dev/null || true
    topo_down > /dev/null 2>&1 || true
    rm -rf "$STATE"
}
trap cleanup EXIT

on() { topo_on 1 "$@"; }

topo_switch_up
topo_host_up 1
ip netns add "$guest"
net=$(on netpool network-create name-label=bench)
vm=$(on netpool vm-create name-label=bench-guests)
made=0
make_vifs() { # N: plug VIFs until there are N
    local vif
    while [ "$made" -lt "$1" ]; do
        vif=$(on netpool vif-create vm-uuid="$vm" network-uuid="$net" \
            device="$made" other-config:netns="$guest")
        on netpool vif-plug uuid="$vif"
        made=$((made + 1))
    done
}
wait_vifs() { # N: until /metrics shows N VIF interfaces
    local deadline=$((SECONDS + 300)) n
    while :; do
        n=$(on curl -s http://127.0.0.1:9440/metrics |
            grep -c '^netpool_interface_up{kind="vif"' || true)
        [ "$n" -ge "$1" ] && return 0
        if [ $SECONDS -ge $deadline ]; then
            echo "only $n of $1 VIFs appeared in /metrics" >&2
            return 1
        fi
        sleep 1
    done
}
scrape() { # LABEL: prints "LABEL median max bytes samples"; sets MEDIAN
    local times=() t s size=0 sorted
    # One scrape first, not counted: the first after a start makes what
    # the exporter keeps between scrapes.
    on curl -s -o /dev/null http://127.0.0.1:9440/metrics
    for _ in $(seq 20); do
        read -r t s <<< "$(on curl -s -o /dev/null \
            -w '%{time_total} %{size_download}' \
            http://127.0.0.1:9440/metrics)"
        times+=("$t")
        size=$s
    done
    sorted=$(printf '%s\n' "${times[@]}" | sort -g)
    MEDIAN=$(echo "$sorted" | sed -n 10p)
    printf '%-24s %10.4f %10.4f %10d %8d\n' "$1" "$MEDIAN" \
        "$(echo "$sorted" | tail -1)" "$size" "$(on curl -s \
        http://127.0.0.1:9440/metrics | grep -c '^netpool_')"
}

printf '%-24s %10s %10s %10s %8s\n' "/metrics" "median s" "max s" bytes \
    samples
make_vifs 10
wait_vifs 10
scrape "10 VIFs (baseline)"
base=$MEDIAN
start=$SECONDS
make_vifs "$n_vifs"
wait_vifs "$n_vifs"
scrape "$n_vifs VIFs"
echo "created $((n_vifs - 10)) more VIFs in $((SECONDS - start)) s; \
latency ratio $(awk -v a="$MEDIAN" -v b="$base" \
    'BEGIN {printf "%.1f", a / b}') ($n_vifs / 10 VIFs)"

# The same VIFs scraped with this build's netpoold and the baseline's in
# turn.
restart_with() { # BIN: netpoold from folder BIN, until it shows every VIF
    topo_netpoold_stop 1
    NETPOOL_BIN=$1 topo_netpoold_start 1
    wait_vifs "$n_vifs"
}
if [ -n "$baseline_bin" ]; then
    ours=() theirs=()
    for round in 1 2 3; do
        restart_with "$top/build/bin"
        scrape "round $round, this build"
        ours+=("$MEDIAN")
        restart_with "$baseline_bin"
        scrape "round $round, baseline"
        theirs+=("$MEDIAN")
    done
    restart_with "$top/build/bin"
    a=$(printf '%s\n' "${ours[@]}" | sort -g | sed -n 2p)
    b=$(printf '%s\n' "${theirs[@]}" | sort -g | sed -n 2p)
    echo "median of the round medians at $n_vifs VIFs: this build $a s," \
        "baseline ($baseline_bin) $b s; ratio $(awk -v a="$a" -v b="$b" \
            'BEGIN {printf "%.2f", a / b}') (this build / baseline)"
fi

# CPU of netpoold and of the children it reaps: idle, then scraped every
# second.
pid=$(cat "$STATE/h1/netpoold.pid")
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15, $16 + $17}' "/proc/$pid/stat"; }
measure() { # LABEL COMMAND...: CPU share while COMMAND runs every second
    local label=$1 own0 kids0 own1 kids1 t0 t1
    shift
    read -r own0 kids0 <<< "$(cpu)"
    t0=$(date +%s.%N)
    for _ in $(seq "$seconds"); do
        "$@" > /dev/null 2>&1 || true
        sleep 1
    done
    read -r own1 kids1 <<< "$(cpu)"
    t1=$(date +%s.%N)
    printf 'CPU %-26s netpoold %6.2f %%, its children %6.2f %%\n' "$label" \
        "$(awk -v a="$own0" -v b="$own1" -v hz="$hz" -v t0="$t0" \
        -v t1="$t1" 'BEGIN {print 100 * (b - a) / hz / (t1 - t0)}')" \
        "$(awk -v a="$kids0" -v b="$kids1" -v hz="$hz" -v t0="$t0" \
        -v t1="$t1" 'BEGIN {print 100 * (b - a) / hz / (t1 - t0)}')"
}
measure "idle, $n_vifs VIFs" true
measure "scraped every second" on curl -s http://127.0.0.1:9440/metrics
