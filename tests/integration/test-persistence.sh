#!/usr/bin/env bash
#
# test-persistence: objects survive a restart, PIFs keep their UUIDs, and
# no acknowledged write is lost when netpoold is killed with SIGKILL in the
# middle of a stream of writes, NETPOOL_TEST_KILLS times over (default 3;
# tests/soak/test-persistence-kills.sh, in make soak, kills it 50 times).
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 8
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

# The write stream: each acknowledged network-create appends its UUID.
acked=$STATE/acked
: > "$acked"
writer() {
    local i=0 uuid
    while [ ! -e "$STATE/stop-writer" ]; do
        i=$((i + 1))
        if uuid=$(np 1 network-create name-label="w-$BASHPID-$i" 2> /dev/null) \
                && [ -n "$uuid" ]; then
            echo "$uuid" >> "$acked"
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
present=$(np 1 network-list params=uuid --minimal | tr , '\n' | sort)
missing=$(sort "$acked" | comm -23 - <(echo "$present"))
is "$missing" "" "every acknowledged write is present after the kills"
ok "np 1 network-param-get uuid=$net param-name=name-label | grep -qx storage" \
    "objects from before the kills are intact"
