#!/usr/bin/env bash
#
# test-netpool-perf: the DPDK traffic tool of the data-plane benchmarks
# (perf/netpool-perf.c).  Over a veth pair (AF_PACKET virtual devices):
# netpool-perf tx delivers exactly the frames it counts to netpool-perf rx,
# with no loss and no sequence gap, at 64 and 9000 bytes, after one
# gratuitous ARP that announces the sender; loop mode sends
# on one port and receives on the other in one process; latency mode gets
# answers from an echo instance and measures their round trips, and from
# a kernel's UDP echo service (netpool-perf answers the kernel's ARP); bad
# sizes and addresses are refused.  Through OVS-DPDK: frames netpool-perf
# sends into the vhost-user socket of one dpdkvhostuserclient port come out
# of the other into a second netpool-perf, each with its latency; with two
# queue pairs per port OVS polls both queues, and loop mode (its window
# keeping the receiver from being overrun) loses nothing.  --mac gives a
# port its MAC, from which it announces its address (a kernel learns it).
#
# Every DPDK process runs with its own --file-prefix; on the veths with
# --no-huge, on vhost-user with --in-memory (hugepages, no hugetlbfs
# files).  The OVS-DPDK points need hugepages (dpdk_require in lib.sh
# reserves them and gives /proc/sys/vm/nr_hugepages back at exit); without
# hugepages or the DPDK build of OVS those points are skipped by name.
# Outcomes only: no point depends on how fast it went.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 16

perf_bin=$NETPOOL_BIN/netpool-perf
points=(
    "tx sends 2000 frames over AF_PACKET and rx receives all 2000"
    "rx counts no loss, no gap, nothing late, and one other frame: the sender's announcement"
    "9000-byte frames arrive whole, none lost"
    "loop sends on one port and receives every frame on the other"
    "echo answers the frames latency mode sends"
    "latency mode measures a round trip for each answer"
    "echo reports the frames it answered"
    "a guest kernel's UDP echo service answers latency mode (netpool-perf answers its ARP)"
    "sizes outside 64-9000, addresses outside 198.18.0.0/15 and a port missing are refused"
    "a port takes the MAC --mac gives it and announces its address from it (gratuitous ARP)"
)
vhost_points=(
    "OVS-DPDK's two dpdkvhostuserclient ports are connected"
    "frames sent into one vhost-user socket reach the other: all received"
    "and none lost or out of sequence"
    "rx measures a one-way latency for each of them"
    "a two-queue virtio-user port: OVS polls both queues"
    "loop over two-queue ports with a window: every frame arrives, none lost"
)

if [ ! -x "$perf_bin" ]; then
    # Built only where pkg-config finds libdpdk (scripts/deps.sh installs it).
    for point in "${points[@]}" "${vhost_points[@]}"; do
        skip "$point" "no $perf_bin: libdpdk-dev is missing"
    done
    exit 0
fi

# One namespace, named like a topology host so that topo_down (and the
# runner, after a timeout) stops everything in it and removes it.
ns=$(topo_ns h1)
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add npp0 mtu 9000 type veth peer name npp1 mtu 9000
for dev in npp0 npp1; do
    ip -n "$ns" link set "$dev" up
    ip netns exec "$ns" ethtool -K "$dev" tx off > /dev/null
done

# perf NAME ARGS...: netpool-perf inside the namespace with its own EAL
# file prefix; its "key value" lines go to $STATE/NAME.out, its messages
# to $STATE/NAME.err.
perf() {
    local name=$1
    shift
    local rc=0
    ip netns exec "$ns" "$perf_bin" "$@" --quiet \
        --file-prefix "${PREFIX}$name" > "$STATE/$name.out" \
        2> "$STATE/$name.err" || rc=$?
    [ "$rc" = 0 ] || diag "netpool-perf $name: exit status $rc:" \
        "$(cat "$STATE/$name.err")"
    return "$rc"
}
# perf_bg NAME ARGS...: the same in the background (its PID in
# bg_pid[NAME]), once it is ready.
declare -A bg_pid
perf_bg() {
    local name=$1
    perf "$@" &
    bg_pid[$name]=$!
    wait_until 30 grep -q "netpool-perf: ready" "$STATE/$name.err" || true
}
key() { awk -v k="$2" '$1 == k { print $2 }' "$STATE/$1.out" 2> /dev/null || true; }
keys() {
    local name=$1 k out=
    shift
    for k in "$@"; do
        out+="$k=$(key "$name" "$k") "
    done
    echo "${out% }"
}

# tx -> rx, 64 bytes.
perf_bg rx64 rx --af-packet npp1 --count 2000 --wait 60 --lcore 0 --no-huge
perf tx64 tx --af-packet npp0 --count 2000 --rate 5000 --lcore 1 --no-huge ||
    true
wait "${bg_pid[rx64]}" || true
is "$(key tx64 sent)/$(key rx64 received)" 2000/2000 \
    "${points[0]}"
is "$(keys rx64 lost gaps late other)" "lost=0 gaps=0 late=0 other=1" \
    "${points[1]}"

# 9000-byte frames.
perf_bg rx9k rx --af-packet npp1 --size 9000 --count 500 --wait 60 \
    --lcore 0 --no-huge
perf tx9k tx --af-packet npp0 --size 9000 --count 500 --rate 2000 \
    --lcore 1 --no-huge || true
wait "${bg_pid[rx9k]}" || true
is "$(key rx9k received)/$(keys rx9k lost gaps)" "500/lost=0 gaps=0" \
    "${points[2]}"

# loop: one process, both ports.
perf loop loop --af-packet npp0 --af-packet npp1 --count 1000 \
    --rate 5000 --flows 4 --lcore 0 --no-huge || true
is "$(keys loop sent received lost lat_kind)" \
    "sent=1000 received=1000 lost=0 lat_kind=one-way" \
    "${points[3]}"

# latency against echo: echo stops 3 s after the last frame.  Under load
# an AF_PACKET ring may overflow, so the points count answers, not loss.
perf_bg echo echo --af-packet npp1 --idle 3 --wait 60 --lcore 0 --no-huge
perf ping latency --af-packet npp0 --count 1000 --rate 2000 --lcore 1 \
    --no-huge || true
wait "${bg_pid[echo]}" || true
ok '[ "$(key ping sent)" = 1000 ] && [ "$(key ping received)" -gt 0 ]' \
    "${points[4]}"
is "$(key ping lat_kind)/$(key ping lat_samples)" \
    "round-trip/$(key ping received)" \
    "${points[5]}"
ok '[ "$(key echo received)" -ge "$(key ping received)" ]' \
    "${points[6]}"

# A kernel "guest": a UDP echo service on npp1's address answers latency
# mode once netpool-perf has answered the kernel's ARP request.
ip -n "$ns" addr add 198.18.20.2/24 dev npp1
ip netns exec "$ns" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.20.2", 9001))
s.settimeout(60)
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(10000)
    s.sendto(data, peer)
' > "$STATE/udp-echo.out" 2>&1 &
bg_pid[udp-echo]=$!
wait_until 20 grep -q ready "$STATE/udp-echo.out" || true
npp1_mac=$(ip netns exec "$ns" cat /sys/class/net/npp1/address)
perf kping latency --af-packet npp0 --dst-mac "$npp1_mac" \
    --src-ip 198.18.20.1 --dst-ip 198.18.20.2 --count 200 --rate 200 \
    --lcore 1 --no-huge || true
kill "${bg_pid[udp-echo]}" 2> /dev/null || true
ok '[ "$(key kping received)" -gt 0 ] && [ "$(key kping lat_kind)" = round-trip ]' \
    "${points[7]}"

# --mac: the kernel on npp1 (which accepts gratuitous ARPs) learns the
# address netpool-perf announces on npp0 with the MAC it was given.
ip netns exec "$ns" sysctl -qw net.ipv4.conf.npp1.arp_accept=1
perf announce tx --af-packet npp0 --mac 02:4e:50:00:00:aa --count 10 \
    --src-ip 198.18.20.7 --lcore 0 --no-huge || true
ok 'wait_until 10 eval "ip -n $ns neigh show 198.18.20.7 dev npp1 |
    grep -q 02:4e:50:00:00:aa"' "${points[9]}"

# Bad command lines: exit status 2 before DPDK starts.
status() {
    local rc=0
    "$perf_bin" "$@" > /dev/null 2>&1 || rc=$?
    echo "$rc"
}
is "$(status tx --af-packet npp0 --size 63)/$(status tx --af-packet npp0 \
    --size 9001)/$(status tx --af-packet npp0 --dst-ip 10.0.0.1)/$(status \
    loop --af-packet npp0)" 2/2/2/2 \
    "${points[8]}"

# OVS-DPDK with two dpdkvhostuserclient ports; netpool-perf serves their
# sockets.  300 hugepages (lib.sh gives nr_hugepages back at exit).
dpdk_require 300 "${vhost_points[@]}"

dir=$STATE/h1/ovs
mkdir -p "$dir"
export OVS_RUNDIR=$dir OVS_DBDIR=$dir OVS_LOGDIR=$dir OVS_SYSCONFDIR=$dir
ovsdb-tool create "$dir/conf.db" "$TOPO_OVS_SCHEMA"
ip netns exec "$ns" ovsdb-server "$dir/conf.db" \
    --remote="punix:$dir/db.sock" --pidfile="$dir/ovsdb-server.pid" \
    -vconsole:off --log-file="$dir/ovsdb-server.log" --detach --no-chdir
vsctl() { ovs-vsctl --db="unix:$dir/db.sock" --timeout=30 "$@"; }
vsctl --no-wait init
# DPDK with 128 MiB preallocated, buffers per port (the shared pool would
# take about 1 GB), one PMD thread on core 1.
vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    other_config:dpdk-socket-mem=128 other_config:per-port-memory=true \
    other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
    "other_config:dpdk-extra=--no-pci --in-memory --file-prefix=${PREFIX}ovs"
ip netns exec "$ns" "$TOPO_OVS_DPDK" "unix:$dir/db.sock" \
    --pidfile="$dir/ovs-vswitchd.pid" -vconsole:off \
    --log-file="$dir/ovs-vswitchd.log" --detach --no-chdir
vsctl add-br npbr0 -- set bridge npbr0 datapath_type=netdev
for j in 0 1; do
    vsctl add-port npbr0 vhu$j -- set Interface vhu$j \
        type=dpdkvhostuserclient "options:vhost-server-path=$STATE/vhu$j.sock"
done
iface() { vsctl get Interface "$1" "$2" 2> /dev/null | tr -d '"'; }
connected() {
    [ "$(iface vhu0 link_state)/$(iface vhu1 link_state)" = up/up ]
}

perf_bg vrx rx --vhost "$STATE/vhu1.sock" --count 2000 --wait 90 --lcore 0 \
    --in-memory
perf vtx tx --vhost "$STATE/vhu0.sock" --count 2000 --rate 5000 \
    --wait 60 --delay 2 --lcore 0 --in-memory &
pid_vtx=$!
wait_until 60 connected || true
is "$(iface vhu0 link_state)/$(iface vhu1 link_state)" up/up \
    "${vhost_points[0]}"
wait "$pid_vtx" || true
wait "${bg_pid[vrx]}" || true
is "$(key vtx sent)/$(key vrx received)" 2000/2000 "${vhost_points[1]}"
is "$(keys vrx lost gaps late)" "lost=0 gaps=0 late=0" "${vhost_points[2]}"
is "$(key vrx lat_samples)/$(key vrx lat_kind)" 2000/one-way \
    "${vhost_points[3]}"

# Two queue pairs per port, as a two-vCPU guest with a multiqueue VIF;
# the loop keeps at most what the receiving rings hold in flight.
perf vmq loop --vhost "$STATE/vhu0.sock" --vhost "$STATE/vhu1.sock" \
    --queues 2 --count 20000 --delay 3 --wait 60 --lcore 0 --in-memory &
pid_vmq=$!
rxqs() {
    ovs-appctl -t "$dir/ovs-vswitchd-dpdk.$(cat "$dir/ovs-vswitchd.pid").ctl" \
        dpif-netdev/pmd-rxq-show |
        grep -c "port: vhu0 *queue-id: *[01] (enabled)"
}
wait_until 60 eval '[ "$(rxqs)" = 2 ]' || true
is "$(rxqs)" 2 "${vhost_points[4]}"
wait "$pid_vmq" || true
is "$(keys vmq sent received lost)" "sent=20000 received=20000 lost=0" \
    "${vhost_points[5]}"
