#!/usr/bin/env bash
#
# test-ha-faults (make soak): random faults on the hosts of an HA pool
# running a protected VM, SOAK_ITERATIONS of them (default 50) on a pool of
# three, then as many on a pool of two (h3 ejected).  A fault picks a host
# and a kind at random and lasts 1-30 s before it heals:
#   cut   every NIC of the host down at the switch (a partition; on two
#         hosts, the link between them);
#   stop  its netpoold stopped (SIGSTOP) then continued (a hang);
#   kill  its netpoold and corosync killed (SIGKILL) and netpoold started
#         again (a crash).
# After each, every host that fenced itself is cleared (host-ha-clear) and
# the pool must be whole again: quorate with every member, every host
# staying, the VM running once and answering ping; and no host but the
# one the fault hit may have fenced (a healthy host fencing is a needless
# outage: a survivor waiting on a dead host's entry, or losing a tie to a
# host that was just started again).  All along
# tests/integration/pool-checker.py samples every host (its pool status and
# the QEMUs in its folder): at no sampled instant may two hosts act as
# master or run the VM (split-brain).  SOAK_SEED replays a run (the seed is
# printed).  tests/integration/test-ha.sh is the short version, in
# make check: one cut, one hang on three hosts, one cut on two.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"

ITERATIONS=${SOAK_ITERATIONS:-50}
SEED=${SOAK_SEED:-$$}
RANDOM=$SEED
MIB=1048576
VM_ADDR=198.18.0.62
CHECKER=$TEST_TOP/tests/integration/pool-checker.py

plan $((14 + 2 * ITERATIONS))
diag "SOAK_ITERATIONS=$ITERATIONS SOAK_SEED=$SEED"

guest_dir=$("$TEST_TOP/tests/guest/build.sh")
storage_hosts_up
storage_pool_up
for n in 1 2 3; do
    host_uuid $n > "$STATE/h$n/uuid"
done

np 1 pool-ha-enable heartbeat-sr-uuids="$sr" ha-config:timeout=10 > /dev/null
ok 'wait_until 60 all_stay 1 2 3' "HA on the pool of three"

# The VM's running QEMUs: daemonized ones (parent 1).
qemus() { pgrep -P 1 -f "qemu-system-x86_64.*-uuid $vm" || true; }
answers() { on switch ping -c 1 -W 1 "$VM_ADDR" > /dev/null 2>&1; }
mgmt_net=$(np 1 pif-param-get uuid="$(np 1 pif-list host-uuid="$(host_uuid 1)" \
    management=true --minimal)" param-name=network)
vm=$(np 1 vm-create name-label=protected memory-static-max=$((96 * MIB)) \
    PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
    PV-args="quiet np.ip0=$VM_ADDR/24 np.gw=198.18.0.1")
np 1 vif-create vm-uuid="$vm" network-uuid="$mgmt_net" device=0 > /dev/null
np 1 vm-param-set uuid="$vm" ha-restart-priority=restart
np 1 vm-start uuid="$vm"
ok 'wait_until 60 answers' "the protected VM answers ping"

# checker_start N...: pool-checker.py samples hosts N... into a new file.
checker_start() {
    local args=() n
    samples=$STATE/samples-$#
    for n; do
        args+=("h$n=$STATE/h$n/netpoold.sock")
    done
    python3 "$CHECKER" sample "$samples" "${args[@]}" &
    checker=$!
}
# checker_stop NAME: stops the checker; one point: it saw no split-brain.
checker_stop() {
    local rc=0 summary
    kill "$checker" 2> /dev/null || true
    wait "$checker" 2> /dev/null || true
    summary=$(python3 "$CHECKER" check "$samples" --domains-only) || rc=$?
    ok "[ $rc = 0 ]" "$1: never two masters, never the VM twice"
    diag "checker: $summary"
}

alive() { kill -0 "$(cat "$STATE/h$1/netpoold.pid" 2> /dev/null)" 2> /dev/null; }
# whole N: the pool of hosts 1..N is whole, every host stays, the VM runs
# once and answers.
whole() {
    local n
    for n in $(seq "$1"); do
        quorate_with "$n" "$1" || return 1
    done
    all_stay $(seq "$1") && [ "$(qemus | wc -l)" = 1 ] && answers
}
# recover N: clears every host of 1..N that fenced itself until the pool is
# whole (at most 300 s).
recover() {
    local deadline=$((SECONDS + 300)) n
    while [ $SECONDS -lt $deadline ]; do
        whole "$1" && return 0
        for n in $(seq "$1"); do
            if [ "$(ha_state "$n")" = fenced ]; then
                diag "h$n fenced itself: host-ha-clear"
                fenced_hosts="$fenced_hosts h$n"
                np "$n" host-ha-clear || true
                wait_until 30 eval '[ "$(ha_state '"$n"')" != fenced ]' || true
            fi
        done
        sleep 1
    done
    return 1
}
# fault N: one random fault on a random host of 1..N, healed after 1-30 s.
fault() {
    local hosts=$1 victim kind secs pid
    victim=$((RANDOM % hosts + 1))
    last_victim=h$victim
    kind=$(echo cut stop kill | cut -d' ' -f$((RANDOM % 3 + 1)))
    secs=$((RANDOM % 30 + 1))
    last="$kind h$victim ${secs} s"
    case $kind in
    cut)
        links "$victim" down
        sleep "$secs"
        links "$victim" up
        ;;
    stop)
        pid=$(cat "$STATE/h$victim/netpoold.pid")
        kill -STOP "$pid"
        sleep "$secs"
        kill -CONT "$pid"
        ;;
    kill)
        kill_host "$victim"
        sleep "$secs"
        topo_netpoold_start "$victim"
        ;;
    esac
}

# iterations N: ITERATIONS faults on the pool of hosts 1..N, one point each
# (whole again after it).
iterations() {
    local i others
    for i in $(seq "$ITERATIONS"); do
        fenced_hosts=
        fault "$1"
        if recover "$1"; then
            others=$(echo "$fenced_hosts" | tr ' ' '\n' | grep . |
                grep -vx "$last_victim" | sort -u | paste -sd ' ' || true)
            if [ -z "$others" ]; then
                ok 0 "$1 hosts, fault $i ($last): whole again, the VM once"
                continue
            fi
            ok 1 "$1 hosts, fault $i ($last): whole again, the VM once"
            diag "but $others, not hit by the fault, fenced too"
            continue
        fi
        ok 1 "$1 hosts, fault $i ($last): whole again, the VM once"
        diag "QEMUs: $(qemus | paste -sd ' ');" \
            "the VM: $(np 1 vm-param-get uuid="$vm" param-name=power-state)"
        # A VM left halted would fail every fault after this one: start it.
        np 1 vm-start uuid="$vm" || true
        wait_until 120 answers || true
    done
}

checker_start 1 2 3
iterations 3
checker_stop "three hosts"

# --- the pool of two ---------------------------------------------------------

# (The VM may be halted already if a fault above left it so.)
np 1 vm-shutdown uuid="$vm" --force || true
np 1 pool-ha-disable
ok $? "pool-ha-disable"
is_master 1 || np 2 pool-designate-new-master host-uuid="$(cat "$STATE/h1/uuid")"
ok 'wait_until 60 is_master 1' "h1 is master"
np 1 pool-eject host-uuid="$(cat "$STATE/h3/uuid")"
ok 'wait_until 60 quorate_with 1 2 && wait_until 60 quorate_with 2 2' \
    "h3 leaves: a pool of two"
np 1 pool-ha-enable heartbeat-sr-uuids="$sr" > /dev/null
ok 'wait_until 60 all_stay 1 2' "HA on the two"
np 1 vm-start uuid="$vm"
ok 'wait_until 60 answers' "the protected VM answers ping"

checker_start 1 2
iterations 2
checker_stop "two hosts"

np 1 pool-ha-disable
ok $? "pool-ha-disable"
np 1 vm-shutdown uuid="$vm" --force || true
ok 'wait_until 60 eval "[ -z \"\$(qemus)\" ]"' "the VM ends"
