#!/usr/bin/env bash
# Runs the release netpoold under valgrind memcheck in a private namespace
# with one veth NIC, drives it over the unix socket and HTTPS (writes, an
# event wait woken by a carrier change, a failed login), stops it with
# SIGTERM, and fails unless valgrind reports no errors and no leaks.
# Usage: tests/valgrind.sh   (make valgrind)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/bin
ns=npvg$$
dir=$(mktemp -d /tmp/netpool-valgrind.XXXXXX)
vg_pid=

cleanup() {
    if [ -n "$vg_pid" ] && kill -0 "$vg_pid" 2> /dev/null; then
        kill -TERM "$vg_pid" 2> /dev/null || true
        wait "$vg_pid" 2> /dev/null || true
    fi
    ip netns del "$ns" 2> /dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link add eth0 type veth peer name peer0
for dev in lo eth0 peer0; do ip -n "$ns" link set "$dev" up; done
ip -n "$ns" addr add 198.18.9.2/24 dev eth0

ip netns exec "$ns" valgrind --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --error-exitcode=9 \
    --log-file="$dir/valgrind.log" "$bin/netpoold" --state-dir "$dir/st" \
    --unix-socket "$dir/s.sock" --pidfile "$dir/pid" --log-file "$dir/log" \
    --resync-interval 3600 &
vg_pid=$!
for _ in $(seq 1 120); do [ -S "$dir/s.sock" ] && break; sleep 0.5; done

export NETPOOL_SOCKET=$dir/s.sock
remote=(-s 198.18.9.2 -u root -pw "$(cat "$dir/st/root-password")"
        --cafile "$dir/st/host-cert.pem")
net=$("$bin/netpool" network-create name-label=vg MTU=9000)
"$bin/netpool" network-param-set uuid="$net" other-config:k=v
"$bin/netpool" pif-list params=device,carrier > /dev/null
"$bin/netpool" event-wait class=pif device=eth0 carrier=false timeout=30 &
waiter=$!
sleep 1
ip -n "$ns" link set peer0 down
wait "$waiter"
ip netns exec "$ns" "$bin/netpool" "${remote[@]}" host-list > /dev/null
ip netns exec "$ns" "$bin/netpool" -s 198.18.9.2 -u root -pw wrong \
    --cafile "$dir/st/host-cert.pem" host-list 2> /dev/null && exit 1
"$bin/netpool" network-destroy uuid="$net"

kill -TERM "$(cat "$dir/pid")"
rc=0
wait "$vg_pid" || rc=$?
vg_pid=
grep -E "ERROR SUMMARY|in use at exit|definitely lost" "$dir/valgrind.log"
if [ "$rc" != 0 ]; then
    cat "$dir/valgrind.log"
    echo "valgrind: netpoold exited $rc"
    exit 1
fi
echo "valgrind: clean"
