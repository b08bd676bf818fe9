#!/usr/bin/env bash
#
# bench-dpdk-ab.sh [SECONDS]
#
# Which of netpool's differences from a hand-made OVS-DPDK costs PMD
# cycles: one setup, one difference at a time, runs interleaved.
#
# It builds what bench-dpdk-vif.sh builds for its two OVS-DPDK rows (a
# netpool host in dpdk mode with two VIFs, other-config:vhost-user=external,
# on a network with MTU 9000; and a hand-made OVS-DPDK with two
# dpdkvhostuserclient ports, the NORMAL flow and OVS's defaults), then, for
# ROUNDS rounds (default 3), runs every variant of VARIANTS (default
# "netpool netpool-nonics hand") at every size of SIZES (default "64 1500
# 9000") for SECONDS each (default 2), with
# netpool-perf loop on core 0 and the PMD on core 1; ORDER=variant runs a
# variant's sizes one after another (default: a size's variants).  A size
# is a frame size in bytes, "f64" (64 bytes over 10000 UDP source ports)
# or "lat" (64 bytes at LATENCY_PPS, default 10000/s, for the one-way
# latency's p99).  A variant is a change made to one of the two switches
# for its run only:
#
#   netpool          netpool's defaults
#   netpool-emc      the host's other-config gives OVS's cache settings
#                    (emc-insert-inv-prob=100, smc-enable=false)
#   netpool-smc      the host's other-config gives the signature match
#                    cache alone (emc-insert-inv-prob=0, smc-enable=true)
#   netpool-both     both caches: OVS's EMC insertion (1 in 100) and the
#                    signature match cache (emc-insert-inv-prob=100,
#                    smc-enable=true)
#   netpool-nonics   the host's NICs (dpdk ports on AF_PACKET, polled by
#                    the same PMD) set down with ovs-ofctl mod-port: the PMD
#                    still visits their queues, with its cycle accounting,
#                    but netdev-dpdk returns at once for a port that is down
#   netpool-rules    locking mode and a rate limit (100 Gbit/s: it polices,
#                    drops nothing) on both VIFs
#   netpool-lock     locking mode only
#   netpool-nudge    mtu_request of both VIF ports written again (8999,
#                    then 9000) once netpool-perf is connected
#   netpool-bn       the same, only for frames above 1500 bytes and only
#                    where OVS did not report MTU 9000 yet: what
#                    bench-dpdk-vif.sh did before its mtu_wait
#   hand             the hand-made switch as it is
#   hand-smc         the hand-made switch with the signature match cache
#                    alone
#   hand-meter       the hand-made switch with an OpenFlow meter (100
#                    Gbit/s) on each port's traffic, as netpool's rate
#                    limit had on a DPDK port
#   hand-police      the hand-made switch with ingress_policing_rate (100
#                    Gbit/s) on each port, as netdev-dpdk polices itself
#   hand-nics        the hand-made switch with as many idle NICs as
#                    netpool's host has (dpdk ports on AF_PACKET, on veths
#                    in its namespace), polled by its PMD as netpool's are
#
# For each run it reads the PMD thread's CPU time per packet (on-CPU time
# from /proc/PID/task/TID/schedstat times the busy share of its cycles from
# dpif-netdev/pmd-stats-show, over the packets it forwarded), the busy
# share and which cache classified the packets, and prints the median and
# spread per variant and size, with the ratio against the hand-made switch
# of the same run.  Nothing fails on a figure.  While netpool-perf sends,
# the measured PMD thread runs SCHED_FIFO (PMD_RT=1, the default; 0 turns
# it off), as a PMD on a core of its own would: on a shared machine
# without it the PMD's cost per packet moves with what else is scheduled
# on its core.  The idle switch's PMD sleeps (pmd-maxsleep) while the
# other one is measured.  PERF_LOG=1 logs netpool's PMD iterations longer
# than 1 ms (pmd-perf-log-set) in its ovs-vswitchd.log; PROFILE=1 has perf
# sample the measured PMD thread through each run and lists, per run, its
# share of time by library and by the functions perf can name; KEEP_OUT=1 keeps
# the runs' files and both switches' logs.  Everything is stopped by PID
# on exit.  Namespaces npab<PID>-*.
# shellcheck disable=SC2016
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"
# shellcheck source=perf/dpdk-lab.sh
source "$TOP/perf/dpdk-lab.sh"

SECONDS_EACH=${1:-2}
ROUNDS=${ROUNDS:-3}
read -r -a SIZES <<< "${SIZES:-64 1500 9000}"
read -r -a VARIANTS <<< "${VARIANTS:-netpool netpool-nonics hand}"
PREFIX=npab$$-
STATE=$(mktemp -d /tmp/netpool-bench-ab.XXXXXX)
OUT=$(mktemp -d /tmp/netpool-bench-ab-out.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$TOP/build/bin}
TOPO_DATAPATH=dpdk
export PREFIX STATE NETPOOL_BIN TOPO_DATAPATH
PERF=$NETPOOL_BIN/netpool-perf
LAB=${PREFIX}lab
HUGEPAGES=/proc/sys/vm/nr_hugepages
SOCKET_LIMIT=1024
HUGEPAGES_WANTED=1400
RATE_KBPS=100000000
LATENCY_PPS=${LATENCY_PPS:-10000}
PMD_RT=${PMD_RT:-1}
FLOWS_MANY=10000

hugepages_saved=$(cat "$HUGEPAGES")
odir=$STATE/lab/ovs
cleanup() {
    set +e
    if [ -n "${KEEP_OUT:-}" ]; then
        cp "$odir/ovs-vswitchd.log" "$OUT/hand-vswitchd.log" 2> /dev/null
        cp "$STATE/h1/ovs/ovs-vswitchd.log" "$OUT/netpool-vswitchd.log" \
            2> /dev/null
    fi
    lab_ovs_down
    topo_down > /dev/null 2>&1
    if ip netns list | grep -qx -- "$LAB"; then
        for pid in $(ip netns pids "$LAB"); do
            kill "$pid" 2> /dev/null
        done
        ip netns del "$LAB"
    fi
    [ "$(cat "$HUGEPAGES")" = "$hugepages_saved" ] ||
        echo "$hugepages_saved" > "$HUGEPAGES" 2> /dev/null
    [ -n "${KEEP_OUT:-}" ] || rm -rf "$OUT"
    rm -rf "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench-dpdk-ab: $*" >&2; }
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
load() { cut -d' ' -f1-3 /proc/loadavg; }

if ! [ -x "$PERF" ] || ! [ -x "$TOPO_OVS_DPDK" ]; then
    say "needs $PERF and $TOPO_OVS_DPDK"
    exit 1
fi
free_pages() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }
if [ "$(free_pages)" -lt "$HUGEPAGES_WANTED" ]; then
    echo $((hugepages_saved + HUGEPAGES_WANTED - $(free_pages))) \
        > "$HUGEPAGES" 2> /dev/null || true
fi
[ "$(free_pages)" -ge "$HUGEPAGES_WANTED" ] || {
    say "could not reserve $HUGEPAGES_WANTED hugepages"
    exit 1
}
load_start=$(load)

# --- the hand-made OVS-DPDK ---------------------------------------------
ip netns add "$LAB"
ip -n "$LAB" link set lo up
mkdir -p "$odir"
lab_env ovsdb-tool create "$odir/conf.db" "$TOPO_OVS_SCHEMA"
lab_env ip netns exec "$LAB" ovsdb-server "$odir/conf.db" \
    --remote="punix:$odir/db.sock" --pidfile="$odir/ovsdb-server.pid" \
    -vconsole:off --log-file="$odir/ovsdb-server.log" --detach --no-chdir
lab_vsctl --no-wait init
lab_vsctl --no-wait set Open_vSwitch . \
    other_config:dpdk-init=true other_config:dpdk-socket-mem=256 \
    other_config:dpdk-socket-limit="$SOCKET_LIMIT" \
    other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
    "other_config:dpdk-extra=--no-pci --in-memory --file-prefix=${PREFIX}hand"
lab_env ip netns exec "$LAB" "$TOPO_OVS_DPDK" "unix:$odir/db.sock" \
    --pidfile="$odir/ovs-vswitchd.pid" -vconsole:off \
    --log-file="$odir/ovs-vswitchd.log" --detach --no-chdir
wait_for 60 eval '[ "$(lab_vsctl get Open_vSwitch . dpdk_initialized)" = true ]' ||
    say "the hand-made OVS-DPDK did not initialize"
lab_vsctl add-br npabdp -- set bridge npabdp datapath_type=netdev
for p in hand0 hand1; do
    lab_vsctl add-port npabdp "$p" -- set Interface "$p" \
        type=dpdkvhostuserclient mtu_request=9000 \
        "options:vhost-server-path=$STATE/$p.sock"
done
hand_pid=$(cat "$odir/ovs-vswitchd.pid")
hand_appctl() { ovs-appctl -t "$odir/ovs-vswitchd-dpdk.$hand_pid.ctl" "$@"; }
lab_vsctl set Open_vSwitch . other_config:pmd-maxsleep=10000

# --- netpool's host -----------------------------------------------------
netpool_dpdk_vifs npab || exit 1
netpool_other() { # KEY=VALUE...: the host's other-config, read back in OVS
    local kv
    for kv in "$@"; do
        if [ -z "${kv#*=}" ]; then
            np host-param-remove uuid="$host" param-name=other-config \
                param-key="${kv%%=*}" > /dev/null 2>&1 || true
        else
            np host-param-set uuid="$host" other-config:"$kv"
        fi
    done
    for kv in "$@"; do
        [ -n "${kv#*=}" ] || continue
        wait_for 20 eval '[ "$(hvsctl get Open_vSwitch . other_config:${kv%%=*} | tr -d "\"")" = "${kv#*=}" ]' ||
            say "other_config:$kv did not reach OVS"
    done
}
netpool_other pmd-maxsleep=10000
nics=$(hvsctl --bare --columns=name find Interface type=dpdk | sed '/^$/d' |
    sort | paste -sd ' ')

# What each switch is, for the record.
{
    echo "== netpool Open_vSwitch other_config"
    hvsctl get Open_vSwitch . other_config
    echo "== netpool bridges"
    hvsctl --columns=name,datapath_type,fail_mode,other_config,protocols,mcast_snooping_enable,stp_enable,rstp_enable list Bridge
    echo "== netpool interfaces"
    hvsctl --columns=name,type,mtu_request,mtu,options,other_config,ingress_policing_rate list Interface
    echo "== netpool rules on $bridge"
    on 1 ovs-ofctl dump-flows "$bridge"
    echo "== hand Open_vSwitch other_config"
    lab_vsctl get Open_vSwitch . other_config
    echo "== hand interfaces"
    lab_vsctl --columns=name,type,mtu_request,mtu,options,other_config list Interface
} > "$OUT/config.txt" 2>&1

# --- variants -----------------------------------------------------------
meter_on() {
    on 1 ovs-ofctl -O OpenFlow13 dump-meters "$bridge" 2> /dev/null |
        grep -q rate=
}
rules_on() { # LOCKING-MODE QOS
    local i
    for i in 0 1; do
        np vif-param-set uuid="${vifs[$i]}" locking-mode="$1" \
            ipv4-allowed="198.18.20.$((i + 1))" qos-algorithm-type="$2" \
            qos-algorithm-params:kbps="$RATE_KBPS"
    done
}
nics_state() { # up|down
    local n
    for n in $nics; do
        on 1 ovs-ofctl mod-port "$(hvsctl iface-to-br "$n")" "$n" "$1" ||
            say "mod-port $n $1 failed"
    done
}
hand_cache() { # INV-PROB SMC
    lab_vsctl set Open_vSwitch . other_config:emc-insert-inv-prob="$1" \
        other_config:smc-enable="$2"
}
hand_meter() { # on|off
    if [ "$1" = on ]; then
        ovs-ofctl -O OpenFlow13 add-meter "unix:$odir/npabdp.mgmt" \
            "meter=1,kbps,burst,band=type=drop,rate=$RATE_KBPS,burst_size=$((RATE_KBPS / 10))"
        ovs-ofctl -O OpenFlow13 add-flow "unix:$odir/npabdp.mgmt" \
            "cookie=0xab,priority=2000,in_port=hand0,actions=meter:1,NORMAL"
        ovs-ofctl -O OpenFlow13 add-flow "unix:$odir/npabdp.mgmt" \
            "cookie=0xab,priority=2000,in_port=hand1,actions=meter:1,NORMAL"
    else
        ovs-ofctl -O OpenFlow13 del-flows "unix:$odir/npabdp.mgmt" \
            "cookie=0xab/-1"
        ovs-ofctl -O OpenFlow13 del-meter "unix:$odir/npabdp.mgmt" meter=1
    fi
}
lab_link_up() { [ "$(lab_vsctl get Interface "$1" link_state)" = up ]; }
hand_nics() { # on|off: netpool's number of NICs on the hand-made switch
    local _ n=0
    for _ in $nics; do
        if [ "$1" = on ]; then
            ip -n "$LAB" link add "hnic$n" type veth peer name "hpeer$n"
            ip -n "$LAB" link set "hnic$n" up
            ip -n "$LAB" link set "hpeer$n" up
            lab_vsctl add-port npabdp "hnic$n" -- set Interface "hnic$n" \
                type=dpdk "options:dpdk-devargs=net_af_packet_hnic$n,iface=hnic$n"
        else
            lab_vsctl --if-exists del-port npabdp "hnic$n"
            ip -n "$LAB" link del "hnic$n" 2> /dev/null || true
        fi
        n=$((n + 1))
    done
    [ "$1" = off ] || [ "$n" = 0 ] ||
        wait_for 30 lab_link_up "hnic$((n - 1))" ||
        say "the hand-made switch's NICs did not come up"
}
hand_police() { # RATE
    local p
    for p in hand0 hand1; do
        lab_vsctl set Interface "$p" ingress_policing_rate="$1" \
            ingress_policing_burst=$(($1 / 10))
    done
}

# What bench-dpdk-vif.sh did to the vhost-user ports once netpool-perf
# was up: mtu_request written again when OVS had not applied it.
mtu_nudge() { # [if]: always, or (if) only where OVS has not applied it
    local p mtu
    wait_for 30 eval '[ "$(hvsctl get Interface "${np_ports[0]}" link_state)/$(hvsctl get Interface "${np_ports[1]}" link_state)" = up/up ]' ||
        true
    for p in "${np_ports[@]:0:2}"; do
        mtu=$(hvsctl get Interface "$p" mtu)
        [ "${1:-}" != if ] || [ "$mtu" != 9000 ] || continue
        echo "nudge $p (mtu $mtu)" >> "$OUT/log"
        hvsctl set Interface "$p" mtu_request=8999
        hvsctl set Interface "$p" mtu_request=9000
    done
}

# variant_on/variant_off NAME: make the change of NAME / undo it.
variant_on() {
    case $1 in
    netpool-emc) netpool_other emc-insert-inv-prob=100 smc-enable=false ;;
    netpool-smc) netpool_other emc-insert-inv-prob=0 smc-enable=true ;;
    netpool-both) netpool_other emc-insert-inv-prob=100 smc-enable=true ;;
    netpool-nonics) nics_state down ;;
    netpool-rules)
        rules_on locked ratelimit
        wait_for 20 meter_on || say "no meter"
        ;;
    netpool-lock) rules_on locked "" ;;
    hand-smc) hand_cache 0 true ;;
    hand-meter) hand_meter on ;;
    hand-police) hand_police "$RATE_KBPS" ;;
    hand-nics) hand_nics on ;;
    esac
}
variant_off() {
    case $1 in
    netpool-emc | netpool-smc | netpool-both)
        netpool_other emc-insert-inv-prob= smc-enable=
        ;;
    netpool-nonics) nics_state up ;;
    netpool-rules | netpool-lock) rules_on network_default "" ;;
    hand-smc) hand_cache 100 false ;;
    hand-meter) hand_meter off ;;
    hand-police) hand_police 0 ;;
    hand-nics) hand_nics off ;;
    esac
}

# --- measuring ----------------------------------------------------------
pmd_tid() { # PID: the PMD thread of ovs-vswitchd PID
    ps -T -p "$1" -o spid=,comm= | awk '$2 ~ /^pmd/ { print $1; exit }'
}
pmd_snapshot() { # FILE PID APPCTL...
    local file=$1 pid=$2 tid
    shift 2
    tid=$(pmd_tid "$pid")
    {
        "$@" dpif-netdev/pmd-stats-show 2> /dev/null || true
        echo "cpu_ns $(awk '{ print $1 }' "/proc/$pid/task/$tid/schedstat" \
            2> /dev/null)"
    } > "$file"
}
pmd_figures() { # BEFORE AFTER
    awk '
        FNR == 1 { f++ }
        /^pmd thread/ { pmd = 1 } /^main thread/ { pmd = 0 }
        pmd && /packets received:/ { p[f] = $3 }
        pmd && /emc hits:/ { emc[f] = $3 } pmd && /smc hits:/ { smc[f] = $3 }
        pmd && /idle cycles:/ { idle[f] = $3 }
        pmd && /processing cycles:/ { busy[f] = $3 }
        /^cpu_ns / { t[f] = $2 }
        END {
            n = p[2] - p[1]; b = busy[2] - busy[1]; i = idle[2] - idle[1]
            if (n <= 0 || b + i <= 0) exit
            share = b / (b + i)
            printf "pmd_ns_per_packet %.1f\n", (t[2] - t[1]) * share / n
            printf "pmd_busy_pct %.1f\n", 100 * share
            printf "emc_pct %.1f\nsmc_pct %.1f\n",
                100 * (emc[2] - emc[1]) / n, 100 * (smc[2] - smc[1]) / n
        }' "$1" "$2"
}
run=0
# one NAME SIZE: one run of variant NAME at SIZE bytes.
one() {
    local name=$1 size=$2 out ns pid appctl args
    run=$((run + 1))
    out=$OUT/$name-$size-$run
    if [[ $name == hand* ]]; then
        ns=$LAB
        pid=$hand_pid
        appctl=(hand_appctl)
        args=(--vhost "$STATE/hand0.sock" --vhost "$STATE/hand1.sock")
        lab_vsctl set Open_vSwitch . other_config:pmd-maxsleep=0
    else
        ns=$(topo_ns h1)
        pid=$np_pid
        appctl=(on 1 ovs-appctl)
        args=(--vhost "${sock[0]}" --mac "${macs[0]}" --vhost "${sock[1]}"
            --mac "${macs[1]}")
        netpool_other pmd-maxsleep=0
    fi
    variant_on "$name"
    # A run that failed may have left its sockets behind.
    rm -f "$STATE/hand0.sock" "$STATE/hand1.sock" "${sock[@]}"
    if [ "$size" = lat ]; then
        args+=(--size 64 --rate "$LATENCY_PPS")
    elif [ "$size" = f64 ]; then
        args+=(--size 64 --flows "$FLOWS_MANY")
    else
        args+=(--size "$size")
    fi
    timeout -k 5 $((SECONDS_EACH * 3 + 90)) ip netns exec "$ns" "$PERF" \
        loop "${args[@]}" --in-memory --delay 3 --lcore 0 \
        --file-prefix "${PREFIX}p$run" --duration "$SECONDS_EACH" \
        > "$out.out" 2> "$out.err" &
    local perf_pid=$! tid
    # Before it sends: it prints "ready" as it starts sending.
    pmd_snapshot "$out.pmd0" "$pid" "${appctl[@]}"
    case $name in
    netpool-nudge) mtu_nudge ;;
    netpool-bn) [ "$size" = lat ] || [ "$size" -le 1500 ] || mtu_nudge if ;;
    esac
    tid=$(pmd_tid "$pid")
    local sending=0 profile_pid=
    if wait_for 60 eval 'grep -q "netpool-perf: ready" "$out.err" || ! kill -0 $perf_pid 2> /dev/null' &&
        kill -0 "$perf_pid" 2> /dev/null; then
        sending=1
    fi
    [ "$sending" = 0 ] || [ "$PMD_RT" != 1 ] || chrt -f -p 1 "$tid" || true
    if [ "$sending" = 1 ] && [ "${PROFILE:-0}" = 1 ] &&
        command -v perf > /dev/null; then
        pmd_profile_record "$tid" "$out.perf" "$SECONDS_EACH"
    fi
    wait "$perf_pid" || say "$name $size: $(tail -1 "$out.err")"
    if [ -n "$profile_pid" ]; then
        wait "$profile_pid" 2> /dev/null || true
        {
            printf '  by library: %s' "$(pmd_profile_libraries "$out.perf")"
            printf '\n  by function: '
            perf report -i "$out.perf" --no-children --sort dso,sym \
                --stdio 2> /dev/null | awk '/%/ && !/^#/ && n++ < 12 {
                    printf "%s:%s %s, ", $2, $NF, $1 }'
            echo
        } > "$out.profile"
        [ -n "${KEEP_OUT:-}" ] || rm -f "$out.perf"
    fi
    [ "$PMD_RT" != 1 ] || chrt -o -p 0 "$tid" 2> /dev/null || true
    pmd_snapshot "$out.pmd1" "$pid" "${appctl[@]}"
    pmd_figures "$out.pmd0" "$out.pmd1" >> "$out.out"
    variant_off "$name"
    if [[ $name == hand* ]]; then
        lab_vsctl set Open_vSwitch . other_config:pmd-maxsleep=10000
    else
        netpool_other pmd-maxsleep=10000
    fi
    echo "$name $size $(key "$out.out" pmd_ns_per_packet)" \
        "$(key "$out.out" rx_mpps) p99 $(key "$out.out" lat_p99_us)" \
        "load $(load)" >> "$OUT/log"
    [ ! -s "$out.profile" ] || cat "$out.profile" >> "$OUT/log"
}

# A first connection to a switch's ports is sometimes reset while OVS
# sets the ports up; one short run on each switch first.
for v in hand netpool; do
    one "$v" 64
done
rm -f "$OUT"/*-64-[12].out
: > "$OUT/log"
if [ "${PERF_LOG:-0}" = 1 ]; then
    # Iterations of netpool's PMD longer than 1 ms go to its log.
    hvsctl set Open_vSwitch . other_config:pmd-perf-metrics=true
    on 1 ovs-appctl dpif-netdev/pmd-perf-log-set on -us 1000 > /dev/null
fi

for ((round = 1; round <= ROUNDS; round++)); do
    say "round $round of $ROUNDS (load $(load))"
    if [ "${ORDER:-size}" = variant ]; then
        for v in "${VARIANTS[@]}"; do
            for size in "${SIZES[@]}"; do
                one "$v" "$size"
            done
        done
    else
        for size in "${SIZES[@]}"; do
            for v in "${VARIANTS[@]}"; do
                one "$v" "$size"
            done
        done
    fi
done
load_end=$(load)

# --- report ---------------------------------------------------------------
stat() { # NAME SIZE KEY: median lowest highest
    cat "$OUT/$1-$2-"*.out 2> /dev/null | awk -v k="$3" '$1 == k { print $2 }' |
        sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- - -"; exit }
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%g %g %g\n", m, v[1], v[NR] }'
}
echo "bench-dpdk-ab: ${SECONDS_EACH}s per run, $ROUNDS rounds interleaved," \
    "load $load_start at the start, $load_end at the end; PMD ns per" \
    "packet, median [lowest-highest]"
cat "$OUT/config.txt"
printf '%-16s %6s %-24s %6s %6s %6s %8s %8s %s\n' variant size ns/packet \
    busy% EMC% SMC% Mpps p99us "/hand"
for size in "${SIZES[@]}"; do
    read -r hm _ <<< "$(stat hand "$size" pmd_ns_per_packet)"
    for v in "${VARIANTS[@]}"; do
        read -r m lo hi <<< "$(stat "$v" "$size" pmd_ns_per_packet)"
        read -r b _ <<< "$(stat "$v" "$size" pmd_busy_pct)"
        read -r e _ <<< "$(stat "$v" "$size" emc_pct)"
        read -r s _ <<< "$(stat "$v" "$size" smc_pct)"
        read -r r _ <<< "$(stat "$v" "$size" rx_mpps)"
        read -r l _ <<< "$(stat "$v" "$size" lat_p99_us)"
        printf '%-16s %6s %-24s %6s %6s %6s %8s %8s %s\n' "$v" "$size" \
            "$m [$lo-$hi]" "$b" "$e" "$s" "$r" "$l" \
            "$(awk -v a="$m" -v b="${hm:--}" 'BEGIN {
                if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')"
    done
done
echo "runs in order (variant size ns/packet Mpps load):"
cat "$OUT/log"
