#!/usr/bin/env bash
#
# bench-ha.sh [-r ROUNDS] [-t TIMEOUT_S]
#
# High availability's figures, on a pool of three namespace hosts with
# the statefile on a shared NFS SR over VLAN 20 (release build unless
# NETPOOL_BIN says otherwise):
#   - the guest's own boot: vm-start of the protected VM until it answers
#     ping from the switch (the part netpool does not control), the
#     baseline;
#   - then ROUNDS times (default 10): the links of the host running the VM
#     cut at the switch, and
#       restart command: until the master logs "restarting VM" (the
#       lost host detected, known fenced, the restart decided and the
#       start sent: netpool's own part), from the master's log stamps,
#       detection: until a survivor's store names another host in the
#       VM's resident-on (the master's restart: the lost host known
#       fenced, planned and written), as the CLI polling it sees it,
#       total: until the VM answers ping on that survivor;
#     then the links come back, host-ha-clear, and every host stays again
#     before the next round.
# Also prints the token corosync runs with on each host (read from its
# cmap: with HA on it follows the HA timeout, ha_token_ms()) and every
# fence of a host that was not cut (a false loss, counted, not judged).
# Prints median and p95 of each with their ratio to the boot, and xapi's
# figure as the anchor (its HA timeout alone is 60 s by default).  Nothing
# is compared with a threshold.  Addresses are in 198.18.0.0/15;
# everything it starts it stops by PID.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=10
timeout=10
while getopts r:t: opt; do
    case $opt in
        r) rounds=$OPTARG ;;
        t) timeout=$OPTARG ;;
        *) echo "usage: $0 [-r ROUNDS] [-t TIMEOUT_S]" >&2; exit 2 ;;
    esac
done

PREFIX=npbh$$-
STATE=$(mktemp -d /tmp/netpool-bench-ha.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$top/build/bin}
TOPO_SWITCH_MTU=9216
export PREFIX STATE NETPOOL_BIN TOPO_SWITCH_MTU
# shellcheck source=scripts/topology.sh
source "$top/scripts/topology.sh"
# shellcheck source=scripts/storage.sh
source "$top/scripts/storage.sh"

cleanup() {
    topo_down > /dev/null 2>&1 || true
    rm -rf "$STATE"
}
trap cleanup EXIT

VM_ADDR=198.18.0.61
MIB=1048576
np() { local n=$1; shift; topo_on "$n" netpool "$@"; }
now() { echo "${EPOCHREALTIME/./}"; }
wait_for() { # SECONDS COMMAND...
    local deadline=$(($(now) + $1 * 1000000))
    shift
    until "$@"; do
        [ "$(now)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
quorate_with() {
    local s
    s=$(np "$1" pool-status --json 2> /dev/null) || return 1
    [ "$(echo "$s" | field quorate)" = True ] &&
        [ "$(echo "$s" | field synced)" = True ] &&
        [ "$(echo "$s" | field members)" = "$2" ]
}
all_stay() {
    local n
    for n in 1 2 3; do
        [ "$(np "$n" host-param-get uuid="$(cat "$STATE/h$n/uuid")" \
            param-name=ha-state 2> /dev/null)" = stay ] || return 1
    done
}
answers() { topo_on switch ping -c 1 -W 1 "$VM_ADDR" > /dev/null 2>&1; }
resident_n() { # on host N: the number of the host the VM is resident on
    local h n
    h=$(np "$1" vm-param-get uuid="$vm" param-name=resident-on 2> /dev/null) || return 0
    for n in 1 2 3; do
        [ "$h" = "$(cat "$STATE/h$n/uuid")" ] && echo "$n"
    done
    return 0
}
links() { # all four links of host N in one command, so they go together
    local i
    for i in 0 1 2 3; do
        echo "link set h$1-eth$i $2"
    done | topo_on switch ip -batch -
}
restart_logged() { # the first "restarting VM" stamp (epoch ms) after $1 us
    local line ms first=
    while read -r line; do
        ms=$(date -d "${line%%|*}" +%s%3N)
        if [ "$ms" -ge $(($1 / 1000)) ] && { [ -z "$first" ] || [ "$ms" -lt "$first" ]; }; then
            first=$ms
        fi
    done < <(cat "$STATE"/h[123]/netpoold.log | grep "restarting VM $vm on")
    echo "$first"
}
stats() { # NAME BASE_MS < values (ms): median, p95, ratios to BASE_MS
    sort -n | awk -v name="$1" -v base="$2" '
        { v[NR] = $1 }
        END {
            if (!NR) { printf "%-22s no samples\n", name; exit }
            med = v[int((NR + 1) / 2)]; p95 = v[int(NR * 0.95 + 0.999)]
            printf "%-22s median %6d ms  p95 %6d ms  (x%.2f, x%.2f of the boot)  n=%d\n",
                name, med, p95, med / base, p95 / base, NR
        }'
}

guest_dir=$("$top/tests/guest/build.sh")
topo_switch_up > /dev/null
for n in 1 2 3; do
    topo_host_up $n > /dev/null
done
storage_up > /dev/null
pw=$(cat "$STATE/h1/netpoold/root-password")
for n in 2 3; do
    np $n pool-join master-address="$(topo_mgmt_ip 1)" master-username=root \
        master-password="$pw"
done
wait_for 120 quorate_with 1 3
for n in 1 2 3; do
    np $n host-list name-label=h$n --minimal > "$STATE/h$n/uuid"
done
h1=$(cat "$STATE/h1/uuid")
eth1=$(np 1 pif-list host-uuid="$h1" device=eth1 --minimal)
np 1 network-param-set uuid="$(np 1 pif-param-get uuid="$eth1" param-name=network)" MTU=9000
storage_net=$(np 1 network-create name-label=storage MTU=9000)
vpifs=$(np 1 pool-vlan-create pif-uuid="$eth1" vlan=20 network-uuid="$storage_net")
for vpif in ${vpifs//,/ }; do
    host=$(np 1 pif-param-get uuid="$vpif" param-name=host)
    n=$(np 1 host-param-get uuid="$host" param-name=name-label)
    np 1 pif-reconfigure-ip uuid="$vpif" mode=static IP=198.18.20.1${n#h} \
        netmask=255.255.255.0
done
bridge=$(np 1 network-param-get uuid="$storage_net" param-name=bridge)
reaches() { topo_on "$1" ping -c 1 -W 1 -I "$bridge" "$STORAGE_ADDR" > /dev/null 2>&1; }
for n in 1 2 3; do
    wait_for 60 reaches $n
done
sr=$(np 1 sr-create name-label=heartbeat type=nfs shared=true \
    device-config:server="$STORAGE_ADDR" \
    device-config:serverpath="$(storage_export_dir)")
connected() {
    local p
    for p in $(np 1 pbd-list SR-uuid="$sr" --minimal | tr , ' '); do
        [ "$(np 1 pbd-param-get uuid="$p" param-name=connected)" = true ] || return 1
    done
}
wait_for 60 connected
np 1 pool-ha-enable heartbeat-sr-uuids="$sr" ha-config:timeout="$timeout" > /dev/null
wait_for 60 all_stay
runtime_token() {
    topo_on "$1" corosync-cmapctl -g runtime.config.totem.token 2> /dev/null |
        sed -n 's/.* = //p'
}
tokens() {
    local n
    for n in 1 2 3; do
        echo "h$n $(runtime_token $n) ms"
    done | paste -sd ' '
}
# The reload reaches every member within seconds of the pool record.
want=$(runtime_token 1)
tokens_agree() {
    local n
    for n in 2 3; do
        [ "$(runtime_token $n)" = "$want" ] || return 1
    done
}
wait_for 30 tokens_agree || true
echo "corosync token (runtime.config.totem.token): $(tokens)"
fences() { grep -c 'fencing this host' "$STATE/h$1/netpoold.log" || true; }

mgmt_net=$(np 1 pif-param-get uuid="$(np 1 pif-list host-uuid="$h1" \
    management=true --minimal)" param-name=network)
vm=$(np 1 vm-create name-label=protected memory-static-max=$((96 * MIB)) \
    PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
    PV-args="quiet np.ip0=$VM_ADDR/24 np.gw=198.18.0.1")
np 1 vif-create vm-uuid="$vm" network-uuid="$mgmt_net" device=0 > /dev/null
np 1 vm-param-set uuid="$vm" affinity="$h1"
np 1 vm-param-set uuid="$vm" ha-restart-priority=restart

t0=$(now)
np 1 vm-start uuid="$vm"
wait_for 120 answers
boot=$((($(now) - t0) / 1000))
echo "guest boot (vm-start to ping): $boot ms"

: > "$STATE/detect" && : > "$STATE/total" && : > "$STATE/command"
false_fences=0
for ((r = 1; r <= rounds; r++)); do
    lost=$(resident_n 1)
    [ -n "$lost" ] || lost=$(resident_n 2)
    other=$(((lost % 3) + 1))
    for n in 1 2 3; do
        fenced_before[n]=$(fences $n)
    done
    t0=$(now)
    links "$lost" down
    if wait_for 120 eval '[ -n "$(resident_n $other)" ] && [ "$(resident_n $other)" != "$lost" ]'; then
        echo $((($(now) - t0) / 1000)) >> "$STATE/detect"
        if wait_for 120 answers; then
            echo $((($(now) - t0) / 1000)) >> "$STATE/total"
        fi
        logged=$(restart_logged "$t0")
        [ -z "$logged" ] || echo $((logged - t0 / 1000)) >> "$STATE/command"
    fi
    echo "round $r: h$lost lost, restart command after $(tail -1 "$STATE/command") ms," \
        "VM on h$(resident_n "$other") after $(tail -1 "$STATE/detect") ms," \
        "answering after $(tail -1 "$STATE/total") ms"
    links "$lost" up
    np "$lost" host-ha-clear > /dev/null 2>&1 || true
    wait_for 120 quorate_with "$lost" 3 || echo "round $r: h$lost did not rejoin" >&2
    wait_for 120 all_stay || echo "round $r: not every host stays" >&2
    for n in 1 2 3; do
        if [ "$n" != "$lost" ] && [ "$(fences $n)" != "${fenced_before[n]}" ]; then
            echo "round $r: h$n fenced too, not cut (a false loss)" >&2
            false_fences=$((false_fences + 1))
        fi
    done
done

echo "HA timeout ${timeout} s; corosync token: $(tokens);" \
    "false fences: $false_fences in $rounds rounds;" \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
stats "guest boot" "$boot" <<< "$boot"
stats "restart command" "$boot" < "$STATE/command"
stats "detection" "$boot" < "$STATE/detect"
stats "loss to ping" "$boot" < "$STATE/total"
echo "anchor: xapi restarts protected VMs about 120 s after a host dies" \
    "(HA timeout 60 s, ~18 s settling, <= 20 s liveset poll, then the boot)"
