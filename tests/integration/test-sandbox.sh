#!/usr/bin/env bash
#
# test-sandbox: the sandbox layout (switch + 2 hosts, each with its own OVS
# and netpoold) comes up working -- NICs up, each netpoold answers locally
# and from the other host over HTTPS, each OVS answers, hosts reach each
# other and the gateway through the switch -- and goes down leaving nothing
# behind, twice in a row with the same prefix and state folder.
#
# ok's COND strings are evaluated by ok itself, hence the single quotes.
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

HOSTS=2
CYCLES=2
# Per cycle: 1 + 6 per host while up, 5 after down.
plan $((CYCLES * (1 + 6 * HOSTS + 5)))

# Devices in the root namespace before we start: the check after each
# teardown looks only at devices that were not there before.
root_links() { ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort; }
root_taps() { ip -o link show type tun | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort; }
links_before=$(root_links)
taps_before=$(root_taps)

# New root-namespace devices that look like ours: any tun/tap (OVS makes
# ovs-netdev and one per bridge) or a name we use (sw0, br*, hN-ethJ).
leftover_root_devices() {
    {
        comm -13 <(echo "$taps_before") <(root_taps)
        comm -13 <(echo "$links_before") <(root_links) |
            grep -E '^(ovs-netdev|sw0|br.*|h[0-9]+-eth[0-9]+)$' || true
    } | sort -u
}

# "PID:NAME" of every process our pidfiles name.
pidfile_processes() {
    local f name pid
    for f in "$STATE"/*/ovs/*.pid "$STATE"/h*/netpoold.pid; do
        [ -r "$f" ] || continue
        name=$(basename "$f" .pid)
        pid=$(cat "$f")
        echo "$pid:$name"
    done
}

# Of the given PID:NAME pairs, those still running (zombies do not count:
# they have exited and wait to be reaped by init).  One read of the status
# file gives both name and state: init may reap a zombie between two reads.
alive() {
    local entry pid name comm state
    for entry in "$@"; do
        pid=${entry%%:*}
        name=${entry#*:}
        read -r comm state < <(awk '/^Name:/ {n = $2} /^State:/ {print n, $2}' \
            "/proc/$pid/status" 2>/dev/null) || continue
        if [ "$comm" = "$name" ] && [ "$state" != Z ] && [ "$state" != X ]; then
            echo "$entry"
        fi
    done
}

nics_up() { # NODE: eth0..eth3 exist, are up with carrier, MTU 1500
    local j
    for j in 0 1 2 3; do
        on "$1" ip -o link show "eth$j" | grep -q 'mtu 1500 .*state UP' ||
            return 1
    done
}

pings() { # FROM ADDRESS
    on "$1" ping -c 1 -W 1 "$2" > /dev/null 2>&1
}

for ((cycle = 1; cycle <= CYCLES; cycle++)); do
    diag "cycle $cycle: up"
    topo_switch_up
    for ((n = 1; n <= HOSTS; n++)); do
        topo_host_up "$n"
    done

    mapfile -t procs < <(pidfile_processes)
    is "$(alive "${procs[@]}" | wc -l)" $((2 + 3 * HOSTS)) \
        "cycle $cycle: pidfiles name $((2 + 3 * HOSTS)) running processes"

    for ((n = 1; n <= HOSTS; n++)); do
        other=$((n % HOSTS + 1))
        ok "nics_up $n" "cycle $cycle: h$n has eth0..eth3 up, MTU 1500"
        uuids=$(np "$n" host-list --minimal 2> /dev/null) || uuids=""
        ok '[[ $uuids =~ ^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$ ]]' \
            "cycle $cycle: h$n answers host-list --minimal over its unix socket ($uuids)"
        remote=$(np_remote "$other" "$n" host-list --minimal 2> /dev/null) ||
            remote=""
        is "$remote" "${uuids:-(no local answer)}" \
            "cycle $cycle: h$other reaches h$n's netpoold over HTTPS as root"
        ok "on $n ovs-vsctl show > /dev/null" \
            "cycle $cycle: ovs-vsctl show works in h$n's OVS"
        ok "wait_until 10 pings $n $(topo_mgmt_ip "$other")" \
            "cycle $cycle: h$n pings h$other's management address"
        ok "wait_until 10 pings $n 198.18.0.1" \
            "cycle $cycle: h$n pings the gateway on the switch"
    done

    diag "cycle $cycle: down"
    ok topo_down "cycle $cycle: topo_down succeeds"
    left=$(ip netns list | awk '{print $1}' | grep -F -- "$PREFIX" || true)
    is "$left" "" "cycle $cycle: no namespace named $PREFIX* is left"
    is "$(alive "${procs[@]}")" "" \
        "cycle $cycle: no process from the pidfiles is alive"
    is "$(leftover_root_devices)" "" \
        "cycle $cycle: no OVS tap device left in the root namespace"
    ok '[ ! -e "$STATE" ]' "cycle $cycle: the state folder is gone"
done
