#!/usr/bin/env bash
#
# test-persistence: objects survive a restart, PIFs keep their UUIDs, and
# no acknowledged write is lost when netpoold is killed with SIGKILL: right
# after a network and a VIF were created (before the store's flush timer,
# --store-sync interval, can have run; and again with --store-sync full),
# and in the middle of a stream of network and VIF creations,
# NETPOOL_TEST_KILLS times over (default 3; tests/soak/
# test-persistence-kills.sh, in make soak, kills it 50 times).
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 13
KILLS=${NETPOOL_TEST_KILLS:-3}

topo_switch_up
topo_host_up 1
hdir=$STATE/h1

pifs_before=$(np 1 pif-list params=uuid --minimal | tr , '\n' | sort | tr '\n' ,)
net=$(np 1 network-create name-label=storage MTU=9000 other-config:purpose=iscsi)
host_before=$(np 1 host-list --minimal)

topo_netpoold_stop 1 TERM
topo_netpoold_start 1

is "$(np 1 network-param-get uuid="$net" param-name=MTU)" 9000 \
    "a network's MTU survives a restart"
is "$(np 1 network-param-get uuid="$net" param-name=other-config param-key=purpose)" \
    iscsi "other-config survives a restart"
is "$(np 1 host-list --minimal)" "$host_before" "the host keeps its UUID"
pifs_after=$(np 1 pif-list params=uuid --minimal | tr , '\n' | sort | tr '\n' ,)
is "$pifs_after" "$pifs_before" "PIFs keep their UUIDs across a restart"

# Killed right after acknowledged creations: the answer came from a
# commit in the store's log, which the process's death does not take.
vm=$(np 1 vm-create name-label=persist)
device=0
for sync in interval full; do
    if [ "$sync" = full ]; then
        topo_netpoold_stop 1 TERM
        TOPO_NETPOOLD_EXTRA_ARGS="${TOPO_NETPOOLD_EXTRA_ARGS:-} --store-sync full" \
            topo_netpoold_start 1
        ok "grep -q 'store-sync full' $hdir/netpoold.log" \
            "netpoold says it flushes each change before its answer"
    fi
    quick_net=$(np 1 network-create name-label="quick-$sync")
    quick_vif=$(np 1 vif-create vm-uuid="$vm" network-uuid="$quick_net" \
        device=$device)
    device=$((device + 1))
    topo_netpoold_stop 1 KILL
    topo_netpoold_start 1
    is "$(np 1 vif-param-get uuid="$quick_vif" param-name=network-uuid)" \
        "$quick_net" \
        "--store-sync $sync: a VIF and its network acknowledged just before a SIGKILL are there"
done

# The write stream: each acknowledged network-create or vif-create appends
# its class and UUID (the VIFs on a VM of the writer's own, each on the
# network just made).
acked=$STATE/acked
: > "$acked"
writer() {
    local i=0 uuid writer_vm
    writer_vm=$(np 1 vm-create name-label="w-$BASHPID" 2> /dev/null) ||
        return 0
    while [ ! -e "$STATE/stop-writer" ]; do
        i=$((i + 1))
        if uuid=$(np 1 network-create name-label="w-$BASHPID-$i" 2> /dev/null) \
                && [ -n "$uuid" ]; then
            echo "network $uuid" >> "$acked"
            if uuid=$(np 1 vif-create vm-uuid="$writer_vm" \
                    network-uuid="$uuid" device="$i" 2> /dev/null) &&
                [ -n "$uuid" ]; then
                echo "vif $uuid" >> "$acked"
            fi
        fi
    done
}

kills=0
for round in $(seq 1 "$KILLS"); do
    rm -f "$STATE/stop-writer"
    writer &
    writer_pid=$!
    # Let some writes through, then kill in the middle of the stream.
    wait_until 30 test "$(wc -l < "$acked")" -ge "$((round * 2))" || true
    sleep "0.$((RANDOM % 3))"
    topo_netpoold_stop 1 KILL && kills=$((kills + 1))
    touch "$STATE/stop-writer"
    wait "$writer_pid" || true
    topo_netpoold_start 1
done
is "$kills" "$KILLS" "netpoold was killed with SIGKILL $KILLS times"

n_acked=$(wc -l < "$acked")
ok '[ "$n_acked" -ge $((KILLS * 2)) ]' "the stream acknowledged $n_acked writes"
ok 'grep -q "^vif " "$acked"' "VIF creations were among them"
for class in network vif; do
    present=$(np 1 "$class-list" params=uuid --minimal | tr , '\n' | sort)
    missing=$(awk -v c="$class" '$1 == c {print $2}' "$acked" | sort |
        comm -23 - <(echo "$present"))
    is "$missing" "" "every acknowledged $class creation is present after the kills"
done
ok "np 1 network-param-get uuid=$net param-name=name-label | grep -qx storage" \
    "objects from before the kills are intact"
