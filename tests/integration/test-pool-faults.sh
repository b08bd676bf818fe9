#!/usr/bin/env bash
#
# test-pool-faults: a pool of three namespace hosts under faults, with a
# checker sampling every host all along (tests/integration/pool-checker.py)
# and a UDP stream between guests on two members.
#   - kill -9 of the master (netpoold and corosync) while a member writes:
#     the others go on with a new master, every acknowledged write is on
#     every survivor, and the old master comes back and catches up;
#   - the master's links cut at the switch: it refuses writes with
#     POOL_NOT_QUORATE and still reads, the majority elects another master
#     and goes on, and on heal the cut host has the majority's log, no more
#     and no less;
#   - pool-designate-new-master while writes flow: none lost;
# and all the while never two masters at a sampled instant, and the guests'
# traffic keeps flowing.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 27

CHECKER=$TEST_TOP/tests/integration/pool-checker.py
UDP_SEQ=$TEST_TOP/perf/udp-seq.py

topo_switch_up
for n in 1 2 3; do
    topo_host_up $n
    topo_guest_up $n 1
done

applied() { status "$1" | field applied; }
same_log() { # N...
    local first seq
    first=$(applied "$1") || return 1
    for n; do
        seq=$(applied "$n") || return 1
        [ "$seq" = "$first" ] || return 1
    done
}
networks_of() { np "$1" network-list params=name-label --minimal | tr , '\n' | sort; }
# Every name in file $2 is a network on host $1.
has_all() {
    local missing
    missing=$(comm -23 <(sort -u "$2") <(networks_of "$1"))
    [ -z "$missing" ] || { diag "h$1 lacks: $missing"; return 1; }
}
# writer N PREFIX: creates networks PREFIX-1, PREFIX-2, … through host N
# until $STATE/stop-PREFIX exists; the names it was answered for go to
# $STATE/acked-PREFIX, the refusals to $STATE/refused-PREFIX.
writer() {
    local n=$1 prefix=$2 i=0
    while [ ! -e "$STATE/stop-$prefix" ]; do
        i=$((i + 1))
        if np "$n" network-create name-label="$prefix-$i" > /dev/null 2>> "$STATE/refused-$prefix"; then
            echo "$prefix-$i" >> "$STATE/acked-$prefix"
        fi
        sleep 0.05
    done
}
acked() { if [ -e "$STATE/acked-$1" ]; then wc -l < "$STATE/acked-$1"; else echo 0; fi; }

h1=$(host_uuid 1)
h2=$(host_uuid 2)
h3=$(host_uuid 3)
for n in 2 3; do
    pool_join $n || bail_out "h$n cannot join"
done
wait_until 30 quorate_with 1 3 || true
ok 'quorate_with 1 3 && is_master 1' "a pool of three, h1 master"

# Guests on h2 and h3 on the pool's eth1 network, through the switch.
eth1_net=$(np 1 pif-param-get uuid="$(np 1 pif-list host-uuid="$h1" device=eth1 --minimal)" param-name=network)
for n in 2 3; do
    vm=$(np 1 vm-create name-label=guest$n affinity="$(host_uuid $n)")
    vif=$(np 1 vif-create vm-uuid="$vm" network-uuid="$eth1_net" device=0 \
        other-config:netns="${PREFIX}h${n}g1")
    np 1 vif-plug uuid="$vif"
done
for n in 2 3; do
    wait_until 20 on h${n}g1 ip link show eth0 > /dev/null 2>&1 || true
    on h${n}g1 ip addr add 198.18.40.$n/24 dev eth0
    on h${n}g1 ethtool -K eth0 tx off > /dev/null
done
wait_until 20 on h2g1 ping -c 1 -W 1 198.18.40.3 > /dev/null 2>&1 || true
ok 'on h2g1 ping -c 1 -W 1 198.18.40.3 > /dev/null' \
    "a guest on h2 reaches a guest on h3"

# The checker samples every host until the end; the stream runs through
# every fault.
python3 "$CHECKER" sample "$STATE/samples" \
    h1="$STATE/h1/netpoold.sock" h2="$STATE/h2/netpoold.sock" \
    h3="$STATE/h3/netpoold.sock" &
checker=$!
on h3g1 python3 "$UDP_SEQ" recv 5001 --seconds 600 --idle 5 \
    > "$STATE/stream.json" 2> "$STATE/stream.err" &
receiver=$!
wait_until 5 grep -qs ready "$STATE/stream.err" || true
on h2g1 python3 "$UDP_SEQ" send 198.18.40.3 5001 --pps 100 --seconds 600 \
    > /dev/null &
sender=$!

# --- kill -9 of the master mid-stream of writes -----------------------------

writer 2 kill &
writer_pid=$!
wait_until 30 eval '[ "$(acked kill)" -ge 5 ]' || true
kill_host 1
ok '! kill -0 "$(cat "$STATE/h1/netpoold.pid")" 2> /dev/null' \
    "h1's netpoold and corosync are killed"
wait_until 30 quorate_with 2 2 || true
ok 'quorate_with 2 2' "h2 and h3 form a quorate pool of two"
wait_until 30 is_master 2 || true
ok 'is_master 2' "h2, the lowest node left, is master"
before=$(acked kill)
wait_until 30 eval '[ "$(acked kill)" -gt $((before + 3)) ]' || true
ok '[ "$(acked kill)" -gt $((before + 3)) ]' "writes are accepted again"
touch "$STATE/stop-kill"
wait "$writer_pid" 2> /dev/null || true
diag "$(acked kill) writes acknowledged around the kill"
ok 'has_all 2 "$STATE/acked-kill"' "every acknowledged write is on h2"
ok 'has_all 3 "$STATE/acked-kill"' "and on h3"

topo_netpoold_start 1
wait_until 30 quorate_with 1 3 || true
ok 'quorate_with 1 3' "h1 comes back into the pool"
wait_until 20 same_log 1 2 3 || true
ok 'same_log 1 2 3' "with the same log as the others"
ok 'has_all 1 "$STATE/acked-kill"' "including every write it missed"
ok '! is_master 1' "and it is not master"

# --- the master's management link cut at the switch -------------------------

on switch ip link set h2-eth0 down
wait_until 30 eval '[ "$(status 2 | field quorate)" = False ]' || true
is "$(status 2 | field quorate)" False "cut off alone, h2 loses quorum"
is "$(np_error 2 network-create name-label=refused)" \
    "POOL_NOT_QUORATE $h2, 1, 2" "and refuses writes with POOL_NOT_QUORATE"
ok '[ -n "$(np 2 network-list --minimal)" ]' "it still answers reads"
wait_until 30 is_master 1 || true
ok 'is_master 1 && quorate_with 1 2' "the majority's lowest node, h1, is master"
ok '! is_master 2' "h2 no longer acts as master"
writer 3 cut &
writer_pid=$!
wait_until 60 eval '[ "$(acked cut)" -ge 3 ]' || true
touch "$STATE/stop-cut"
wait "$writer_pid" 2> /dev/null || true
diag "$(acked cut) writes acknowledged while h2 was cut off"
ok '[ "$(acked cut)" -ge 3 ] && has_all 1 "$STATE/acked-cut"' \
    "the majority goes on writing"

on switch ip link set h2-eth0 up
wait_until 40 quorate_with 2 3 || true
ok 'quorate_with 2 3' "healed, h2 is back in the pool"
wait_until 20 same_log 1 2 3 || true
ok 'same_log 1 2 3' "with the majority's log"
ok 'has_all 2 "$STATE/acked-cut"' "every write made while it was away"
ok '[ "$(networks_of 2)" = "$(networks_of 1)" ] && ! networks_of 2 | grep -qx refused' \
    "and nothing else: no write it refused, none twice"

# --- designate a new master while writes flow --------------------------------

writer 2 handover &
writer_pid=$!
wait_until 30 eval '[ "$(acked handover)" -ge 3 ]' || true
np 1 pool-designate-new-master host-uuid="$h3"
ok $? "pool-designate-new-master h3, while h2 writes"
wait_until 20 is_master 3 || true
ok 'is_master 3 && ! is_master 1' "h3 is master, h1 is not"
before=$(acked handover)
wait_until 30 eval '[ "$(acked handover)" -gt $((before + 3)) ]' || true
touch "$STATE/stop-handover"
wait "$writer_pid" 2> /dev/null || true
ok 'has_all 1 "$STATE/acked-handover" && has_all 3 "$STATE/acked-handover"' \
    "no write is lost across the handover"

# --- what the checker and the stream saw ------------------------------------

kill "$checker" 2> /dev/null || true
# The sender runs in the guest's namespace under ip netns exec.
kill $(ip netns pids "${PREFIX}h2g1") 2> /dev/null || true
wait "$checker" 2> /dev/null || true
wait "$receiver" 2> /dev/null || true
checked=0
summary=$(python3 "$CHECKER" check "$STATE/samples") || checked=$?
ok "[ $checked = 0 ]" "never two hosts acting as master at once"
diag "checker: $summary"
stream=$(cat "$STATE/stream.json")
diag "stream: $stream"
received=$(echo "$stream" | field received)
highest=$(echo "$stream" | field highest)
ok '[ "$received" -gt 0 ] && [ $((received * 100)) -ge $((highest * 98)) ]' \
    "the guests' traffic kept flowing through every fault"
