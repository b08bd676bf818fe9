#!/usr/bin/env bash
#
# test-ha: high availability on a pool of three namespace hosts whose
# statefile is on a shared NFS SR reached over VLAN 20 (the storage server
# of scripts/storage.sh).  One topology carries every case:
#   - pool-ha-enable's checks (typed errors that store nothing), its
#     pre-flight warnings as messages, the timeout kept across a disable;
#   - management on a bond of two NICs (pool-bond-create): no warning
#     about it at enable; one member failing fences nobody and leaves
#     corosync's configuration as it was;
#   - overcommit protection: a memory change that would leave a protected
#     VM nowhere to restart is refused;
#   - h1's links cut at the switch: h1 fences itself (its domain ends), its
#     protected VM is restarted on a survivor and answers ping there (and
#     h2's snmpd sends netpoolHaVmRestarted naming it to snmptrapd), and
#     host-ha-clear brings h1 back without a second fence;
#   - the statefile path blinks for less than the timeout: no host fences;
#   - the netpoold of the host running the VM is stopped (SIGSTOP): the
#     watchdog ends its domain, then the VM restarts on another host, and
#     that netpoold fences itself when it runs again;
#   - the VM's QEMU is killed: HA starts it again;
#   - the VM's host hangs past its watchdog but short of the survivors'
#     wait: its own fence ends the domain and HA restarts the VM elsewhere;
#   - two hosts: the link between them cut, the higher UUID fences and
#     comes back without a fence loop; the lowest UUID's netpoold and
#     corosync killed and netpoold started again, alone: neither host
#     fences;
# and all along a sampler looking at every QEMU of the machine never sees
# the VM run twice, and tests/integration/pool-checker.py, sampling every
# host, never sees two masters at once.  tests/soak/test-ha-faults.sh
# (make soak) is the long version: dozens of random cuts, hangs and kills
# on pools of three and two.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

MIB=1048576
VM_ADDR=198.18.0.60
guest_dir=$("$TEST_TOP/tests/guest/build.sh")

# Every netpoold is an AgentX subagent of an snmpd on its namespace's
# loopback; h2 and h3 (the survivors of h1's cut) run one each, which sends
# its notifications to an snmptrapd beside it.
AGENTX_PORT=11705
AGENT_PORT=11161
TRAP_PORT=11162
TOPO_NETPOOLD_EXTRA_ARGS="--snmp-agentx-socket tcp:127.0.0.1:$AGENTX_PORT"
storage_hosts_up

snmp_pids=()
snmp_up() { # N
    local sdir=$STATE/snmp-h$1
    mkdir -p "$sdir/conf" "$sdir/persist" "$sdir/trapd"
    cat > "$sdir/conf/snmpd.conf" << CONF
agentaddress udp:127.0.0.1:$AGENT_PORT
master agentx
agentXSocket tcp:127.0.0.1:$AGENTX_PORT
trap2sink 127.0.0.1:$TRAP_PORT public
CONF
    echo "authCommunity log public" > "$sdir/trapd.conf"
    on "$1" env MIBS= SNMP_PERSISTENT_DIR="$sdir/persist" \
        SNMPCONFPATH="$sdir/conf" \
        snmpd -f -Lf "$sdir/snmpd.log" -I -smux > /dev/null 2>&1 &
    snmp_pids+=($!)
    on "$1" env MIBS= SNMP_PERSISTENT_DIR="$sdir/trapd" snmptrapd -f -On -C \
        -c "$sdir/trapd.conf" -Lf "$sdir/traps.log" \
        "udp:127.0.0.1:$TRAP_PORT" > /dev/null 2>&1 &
    snmp_pids+=($!)
}
snmp_up 2
snmp_up 3
# At exit they stop first, and _test_on_exit still sees the status the
# test ended with.
stop_snmp() {
    local status=$?
    set +e
    trap - ERR
    kill "${snmp_pids[@]}" 2> /dev/null
    wait "${snmp_pids[@]}" 2> /dev/null
    return "$status"
}
trap 'stop_snmp; _test_on_exit' EXIT
traps() { cat "$STATE/snmp-h$1/traps.log" 2> /dev/null; } # N

# The VM's running QEMUs: daemonized ones (parent 1).  While QEMU starts,
# the process netpoold ran waits for its daemon with the same command
# line; it runs no guest, so it is not counted.
qemus() { pgrep -P 1 -f "qemu-system-x86_64.*-uuid $vm" || true; }
# The host (1-3) whose state folder the VM's QEMU uses, or "".
qemu_host() {
    local pid n
    pid=$(qemus | head -1)
    [ -n "$pid" ] || return 0
    for n in 1 2 3; do
        if tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "/run/netpool/vm/$(cat "$STATE/h$n/uuid")/"; then
            echo "$n"
        fi
    done
}
answers() { on switch ping -c 1 -W 1 "$VM_ADDR" > /dev/null 2>&1; }
# The HA cycles host N's monitor has run (netpool_ha_cycles_total).
cycles() { # N
    on "$1" curl -sS --max-time 10 http://127.0.0.1:9440/metrics 2> /dev/null |
        awk '$1 == "netpool_ha_cycles_total" { n = $2 } END { print n + 0 }'
}

# --- the pool, its storage VLAN and the shared SR ----------------------------

storage_pool_up
for n in 1 2 3; do
    host_uuid $n > "$STATE/h$n/uuid"
done

# --- pool-ha-enable's checks -------------------------------------------------

local_sr=$(np 1 sr-create name-label=local type=dir \
    device-config:location="$STATE/h1/local-sr")
is "$(np_error 1 pool-ha-enable heartbeat-sr-uuids="$local_sr")" \
    "HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED $local_sr" \
    "a local SR cannot hold the statefile"
is "$(np_error 1 pool-ha-enable heartbeat-sr-uuids="$sr" ha-config:timeout=0)" \
    "INVALID_VALUE ha-config:timeout, 0" "a timeout of 0 is refused"
is "$(np_error 1 pool-ha-enable heartbeat-sr-uuids="$sr" ha-config:timeout=abc)" \
    "INVALID_VALUE ha-config:timeout, abc" "so is one that is no number"
is "$(np_error 2 pool-ha-disable)" "HA_NOT_ENABLED" "HA is off to begin with"
is "$(np 3 pool-param-get uuid="$(np 3 pool-list --minimal)" param-name=ha-enabled)" \
    false "and none of the refused calls turned it on"

# corosync's token as each host's corosync runs it (its cmap).
token_is() { # MS N...
    local ms=$1 n
    shift
    for n; do
        [ "$(on "$n" corosync-cmapctl -g runtime.config.totem.token \
            2> /dev/null | sed 's/.*= //')" = "$ms" ] || return 1
    done
}
ok 'wait_until 30 token_is 3000 1 2 3' \
    "HA off: every host runs the pool's 3000 ms token"
warnings=$(np 2 pool-ha-enable heartbeat-sr-uuids="$sr" ha-config:timeout=7)
ok $? "pool-ha-enable through h2"
ok 'wait_until 30 token_is 1750 1 2 3' \
    "HA on: every host's corosync reloads a token of a quarter of 7 s"
ok '[[ $warnings == *HA_MANAGEMENT_NOT_BONDED* ]]' \
    "it warns that management is not on a bond"
ok '[ -n "$(np 1 message-list name=HA_MANAGEMENT_NOT_BONDED --minimal)" ]' \
    "as a message"
is "$(np_error 1 pool-ha-enable heartbeat-sr-uuids="$sr")" "HA_IS_ENABLED" \
    "a second enable is refused"
pool=$(np 1 pool-list --minimal)
np 3 pool-ha-disable
np 3 pool-ha-enable heartbeat-sr-uuids="$sr" > /dev/null
is "$(np 1 pool-param-get uuid="$pool" param-name=ha-timeout)" 7 \
    "a disable and an enable without a timeout keep the pool's 7 s"
np 1 pool-ha-disable
ok 'wait_until 30 token_is 3000 1 2 3' \
    "HA off again: every host is back on the pool's token"

# --- management on a bond ----------------------------------------------------
# eth0 and eth3 of every host: the management role, its address and the
# VIFs of the management network move onto the bond.

eth0=$(np 1 pif-list host-uuid="$(host_uuid 1)" device=eth0 --minimal)
eth3=$(np 1 pif-list host-uuid="$(host_uuid 1)" device=eth3 --minimal)
mgmt_net=$(np 1 network-create name-label=management-bond)
np 1 pool-bond-create network-uuid="$mgmt_net" pif-uuids="$eth0,$eth3" \
    mode=active-backup > /dev/null
ok $? "pool-bond-create puts every host's management on eth0+eth3"
mbridge=$(np 1 network-param-get uuid="$mgmt_net" param-name=bridge)
managed_on_bond() { # N
    on "$1" ip -4 -o addr show dev "$mbridge" 2> /dev/null |
        grep -q " $(topo_mgmt_ip "$1")/"
}
ok 'wait_until 60 eval "managed_on_bond 1 && managed_on_bond 2 && managed_on_bond 3"' \
    "each host's management address is on the bond's bridge"
ok 'wait_until 90 eval "quorate_with 1 3 && quorate_with 2 3 && quorate_with 3 3"' \
    "and the pool is whole over it"
h1bond=$(np 1 pif-param-get uuid="$eth0" param-name=bond-slave-of)
warnings=$(np 1 pool-ha-enable heartbeat-sr-uuids="$sr" ha-config:timeout=10)
ok $? "pool-ha-enable with a timeout"
ok '[[ $warnings != *HA_MANAGEMENT_NOT_BONDED* ]]' \
    "management on a bond: no warning about it"
is "$(np 2 pool-param-get uuid="$pool" param-name=ha-timeout)" 10 \
    "an enable with a timeout sets it"
ok 'wait_until 60 all_stay 1 2 3' "every host's HA monitor stays"

# --- a protected VM on h1 ----------------------------------------------------

vm=$(np 1 vm-create name-label=protected memory-static-max=$((96 * MIB)) \
    PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
    PV-args="quiet np.ip0=$VM_ADDR/24 np.gw=198.18.0.1")
np 1 vif-create vm-uuid="$vm" network-uuid="$mgmt_net" device=0 > /dev/null
np 1 vm-param-set uuid="$vm" affinity="$(host_uuid 1)"
np 1 vm-param-set uuid="$vm" ha-restart-priority=restart
is "$(np_error 1 vm-param-set uuid="$vm" ha-restart-priority=always)" \
    "INVALID_VALUE ha_restart_priority, always" \
    "an unknown ha-restart-priority is refused"
np 2 vm-start uuid="$vm"
ok $? "the protected VM starts"
is "$(qemu_host)" 1 "on h1, its affinity"
ok 'wait_until 60 answers' "it answers ping from the switch"
is "$(np 2 pool-ha-compute-max-host-failures-to-tolerate)" 2 \
    "any two hosts may fail: the VM fits on the third"
is "$(np_error 1 pool-param-set uuid="$pool" ha-host-failures-to-tolerate=3)" \
    "HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN 3, 2" \
    "a plan for three failures of three hosts is refused"
np 1 pool-param-set uuid="$pool" ha-host-failures-to-tolerate=2
is "$(np 3 pool-param-get uuid="$pool" param-name=ha-host-failures-to-tolerate)" 2 \
    "one for two failures is kept"
# Overcommit protection: a protected VM that would need more memory than
# any host has could not be restarted anywhere.
huge=$((1024 * 1024 * MIB))
is "$(np_error 2 vm-param-set uuid="$vm" memory-static-max=$huge)" \
    "HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN 2, 0" \
    "a memory-static-max no host could restart the VM with is refused"
is "$(np_error 1 vm-memory-set uuid="$vm" memory=$huge)" \
    "HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN 2, 0" \
    "so is a vm-memory-set"
is "$(np 3 vm-param-get uuid="$vm" param-name=memory-static-max)" \
    $((96 * MIB)) "and the VM's memory is unchanged"

# The checker samples every host (its role, the QEMUs in its folder) until
# h3 leaves the pool.
python3 "$TEST_TOP/tests/integration/pool-checker.py" sample "$STATE/pool-samples" \
    h1="$STATE/h1/netpoold.sock" h2="$STATE/h2/netpoold.sock" \
    h3="$STATE/h3/netpoold.sock" &
checker=$!
# The sampler: how many QEMUs run the VM, every 100 ms, until told to stop.
(
    while [ ! -e "$STATE/stop-sampler" ]; do
        pids=$(qemus)
        n=$(echo "$pids" | grep -c . || true)
        echo "$n" >> "$STATE/samples"
        if [ "$n" -gt 1 ]; then
            # shellcheck disable=SC2086
            ps -o pid,ppid,lstart,args -p ${pids//$'\n'/,} | cut -c1-220 >> "$STATE/twice"
        fi
        sleep 0.1
    done
) &
sampler=$!

# --- one member of h1's management bond fails --------------------------------
# h1 holds the VM and the master role.  The bond moves to its other member;
# corosync keeps its configuration and no host fences.  The hosts are
# sampled until each has run four HA cycles (8 s at the 10 s timeout):
# corosync would have dropped a host that lost its management link within
# its token and consensus (6.6 s), and a changed configuration is what
# would make a host fence.

configurations() {
    for n in 1 2 3; do
        grep -c 'pool configuration:' "$STATE/h$n/netpoold.log" || true
    done | paste -sd ' '
}
configs_before=$(configurations)
qemu_before=$(qemus)
np 1 event-wait class=bond uuid="$h1bond" links-up=2 timeout=30 > /dev/null || true
active=$(np 1 bond-param-get uuid="$h1bond" param-name=active-slave)
if [ "$active" = "$eth0" ]; then standby=$eth3; else standby=$eth0; fi
adev=$(np 1 pif-param-get uuid="$active" param-name=device)
on switch ip link set "h1-$adev" down
np 1 event-wait class=bond uuid="$h1bond" active-slave="$standby" timeout=20 \
    > /dev/null || true
is "$(np 1 bond-param-get uuid="$h1bond" param-name=active-slave)" "$standby" \
    "h1's $adev fails: its management bond moves to the other member"
cycles_before=$(for n in 1 2 3; do cycles $n; done | paste -sd ' ')
cycled() { # every host ran four HA cycles since cycles_before
    local n before
    # shellcheck disable=SC2086
    set -- $cycles_before
    for n in 1 2 3; do
        before=$1
        shift
        [ "$(cycles $n)" -ge $((before + 4)) ] || return 1
    done
}
stays=0 samples=0
while ! cycled; do
    samples=$((samples + 1))
    if all_stay 1 2 3; then stays=$((stays + 1)); fi
    sleep 0.5
done
is "$stays/$samples" "$samples/$samples" \
    "every host stays at every sample for four HA cycles"
is "$(configurations)" "$configs_before" \
    "corosync's configuration never changed on any host"
ok '! ls "$STATE"/h*/netpoold/ha-fenced > /dev/null 2>&1' "no host is fenced"
is "$(qemus)" "$qemu_before" "the VM's QEMU is the same process"
ok 'wait_until 20 answers' "and it answers ping over the bond"
on switch ip link set "h1-$adev" up
# It takes traffic again after the bond's updelay (31 s, xapi's default).
np 1 event-wait class=pif uuid="$active" carrier=true timeout=20 > /dev/null || true
is "$(np 1 pif-param-get uuid="$active" param-name=carrier)" true \
    "h1's $adev has its carrier back"

# --- h1's links cut at the switch --------------------------------------------

links 1 down
ok 'wait_until 60 eval "[ \"\$(ha_state 1)\" = fenced ]"' \
    "h1, cut off, fences itself"
ok 'wait_until 120 eval "[ \"\$(qemu_host)\" = 2 ] || [ \"\$(qemu_host)\" = 3 ]"' \
    "its protected VM runs on a survivor"
diag "the VM runs on h$(qemu_host)"
ok 'wait_until 60 answers' "and answers ping there"
ok '[ -n "$(np 2 message-list name=HA_VM_RESTARTED --minimal)" ]' \
    "an HA_VM_RESTARTED message says so"
restarted() { # N: host N's snmptrapd has the trap naming the VM
    traps "$1" | grep "99999.0.5" | grep "99999.1.4.1.0 = STRING: \"$vm\"" |
        grep -c "99999.1.4.2.0 = STRING: \"protected\"" || true
}
# The message was raised by the acting master; its agent alone sends it.
raiser=$(np 2 message-list name=HA_VM_RESTARTED params=raised-on --minimal |
    cut -d, -f1)
rn=0
for n in 2 3; do
    [ "$(host_uuid $n)" = "$raiser" ] && rn=$n
done
ok '[ "$rn" != 0 ]' "the message names h$rn, a survivor, as the host that raised it"
wait_until 20 eval '[ "$(restarted $rn)" -ge 1 ]' ||
    diag "traps: $(traps $rn | tail -5)"
is "$(restarted $rn)" 1 "h$rn's snmpd sends netpoolHaVmRestarted naming the VM"
# A linkDown from each agent, caused after the message: its agent has seen
# the message by then (it reads the host's events in order).
linkdowns() { traps "$1" | grep -c "1.3.6.1.6.3.1.1.5.3" || true; }
down2=$(linkdowns 2) down3=$(linkdowns 3)
for n in 2 3; do
    on switch ip link set "h$n-eth2" down
done
ok 'wait_until 30 eval "[ \$(linkdowns 2) -gt $down2 ] && [ \$(linkdowns 3) -gt $down3 ]"' \
    "h2's and h3's agents send linkDown for their eth2, later"
is "$(($(restarted 2) + $(restarted 3)))" 1 \
    "and the other host's agent sent no copy of the HA trap"
for n in 2 3; do
    on switch ip link set "h$n-eth2" up
done
ok 'test -e "$STATE/h1/netpoold/ha-fenced"' \
    "h1 keeps its fence mark while cut off"

links 1 up
np 1 host-ha-clear
ok $? "host-ha-clear on h1"
ok 'wait_until 90 quorate_with 1 3' "h1 rejoins the pool"
ok 'wait_until 60 all_stay 1 2 3' "and stays: no second fence"
is "$(qemus | wc -l)" 1 "the VM still runs once"
diag "$(ps -o pid,ppid,args -p "$(qemus | paste -sd,)" | cut -c1-200)"

# --- the statefile path blinks for less than the timeout ---------------------

before=$(qemus)
on switch ip link set st-eth0 down
sleep 3 # The blink itself: 3 s of a 10 s timeout.
on switch ip link set st-eth0 up
ok 'wait_until 30 all_stay 1 2 3' "a 3 s statefile blink fences no host"
is "$(qemus)" "$before" "the VM's QEMU is the same process"

# --- the netpoold of the VM's host hangs -------------------------------------

victim=$(qemu_host)
victim_pid=$(cat "$STATE/h$victim/netpoold.pid")
kill -STOP "$victim_pid"
ok 'wait_until 60 eval "[ -z \"\$(qemus)\" ] || [ \"\$(qemu_host)\" != $victim ]"' \
    "with h$victim's netpoold stopped, its watchdog ends the VM's domain"
ok 'wait_until 120 eval "[ -n \"\$(qemu_host)\" ] && [ \"\$(qemu_host)\" != $victim ]"' \
    "then the VM restarts on another host"
kill -CONT "$victim_pid"
ok 'wait_until 60 eval "[ \"\$(ha_state $victim)\" = fenced ]"' \
    "h$victim's netpoold, running again, fences itself"
np "$victim" host-ha-clear
ok 'wait_until 90 all_stay 1 2 3' "and once cleared it stays"
ok 'wait_until 60 answers' "the VM answers ping"

# --- the protected VM's domain dies by itself --------------------------------
# Under HA it stays desired Running with no host, and the master restarts
# it (as a domain that a host's own fence ended).
crashed=$(qemus)
kill -9 $crashed
ok 'wait_until 120 eval "[ -n \"\$(qemus)\" ] && [ \"\$(qemus)\" != \"$crashed\" ]"' \
    "a protected VM whose QEMU dies is started again by HA"
ok 'np 1 message-list name=HA_VM_RESTARTED params=body |
        grep -q "its domain had ended"' "HA_VM_RESTARTED says why"
ok 'wait_until 90 answers' "and it answers ping"

# --- the VM's host hangs past its watchdog, short of the survivors' wait ------
# 11 s: past the watchdog's deadline (at most the 10 s timeout after the
# host's last write), before a survivor may call the host fenced from its
# silent statefile entry (timeout + write timeout + kill bound + a
# hundredth, 13.6 s after a read that may come up to a cycle, 2 s, before
# the hang).  The host's own fence ends the VM's domain; nobody saw the
# host lost, and the acting master still restarts the VM, once.
victim=$(qemu_host)
victim_pid=$(cat "$STATE/h$victim/netpoold.pid")
kill -STOP "$victim_pid"
sleep 11 # The hang itself.
kill -CONT "$victim_pid"
ok 'wait_until 60 eval "[ \"\$(ha_state $victim)\" = fenced ]"' \
    "h$victim's netpoold, stopped 11 s, fences itself"
ok 'wait_until 120 eval "[ -n \"\$(qemu_host)\" ] && [ \"\$(qemu_host)\" != $victim ]"' \
    "and the VM runs on another host"
np "$victim" host-ha-clear
ok 'wait_until 90 all_stay 1 2 3' "h$victim, cleared, stays"
ok 'wait_until 60 answers' "the VM answers ping"

touch "$STATE/stop-sampler"
wait "$sampler"
ok '[ "$(sort -n "$STATE/samples" | tail -1)" = 1 ]' \
    "no sampled instant saw the VM run twice ($(wc -l < "$STATE/samples") samples)"
[ ! -s "$STATE/twice" ] || diag "$(head -20 "$STATE/twice")"
kill "$checker"
wait "$checker" || true
checked=0
summary=$(python3 "$TEST_TOP/tests/integration/pool-checker.py" check \
    "$STATE/pool-samples" --domains-only) || checked=$?
ok "[ $checked = 0 ]" "pool-checker: never two masters, never the VM on two hosts"
diag "checker: $summary"
np 1 vm-shutdown uuid="$vm" --force

# --- two hosts, the management links between them cut ----------------------

np 1 pool-ha-disable
ok $? "pool-ha-disable"
is_master 1 || np 2 pool-designate-new-master host-uuid="$(cat "$STATE/h1/uuid")"
ok 'wait_until 60 is_master 1' "h1 is master"
np 1 pool-eject host-uuid="$(cat "$STATE/h3/uuid")"
ok 'wait_until 60 quorate_with 1 2' "h3 leaves: a pool of two"
np 1 pool-ha-enable heartbeat-sr-uuids="$sr" > /dev/null
ok 'wait_until 60 all_stay 1 2' "HA on the two"
h1=$(cat "$STATE/h1/uuid")
h2=$(cat "$STATE/h2/uuid")
if [[ $h1 < $h2 ]]; then winner=1 loser=2; else winner=2 loser=1; fi
on switch ip link set "h$loser-eth0" down
on switch ip link set "h$loser-eth3" down
ok 'wait_until 90 eval "[ \"\$(ha_state $loser)\" = fenced ]"' \
    "split in two, h$loser (the higher UUID) fences itself"
ok 'wait_until 60 quorate_with $winner 1' \
    "h$winner, the lowest UUID, takes the pool's votes"
is "$(ha_state $winner)" stay "and stays"
on switch ip link set "h$loser-eth0" up
on switch ip link set "h$loser-eth3" up
np $loser host-ha-clear
ok 'wait_until 90 quorate_with 1 2 && quorate_with 2 2' \
    "once the link is back and the fence cleared, h$loser rejoins"
ok 'wait_until 60 all_stay 1 2' "and neither fences again"

# --- two hosts, the lowest UUID killed and started again ---------------------
# h$winner's netpoold and corosync are killed (a crash) and netpoold starts
# again at once, with h$winner's management links cut so that its first
# configuration is alone until h$loser has read its entry.  Neither host
# may fence: not h$loser while its configuration drops h$winner and
# h$winner's last entry, no longer changing, still names it, nor when
# h$winner, alone and the lowest UUID, writes its entry (joining, it wins
# no tie); and not h$winner either (make soak saw a survivor fence, and a
# restarted host that lost the tie).
joining() { # UUID: what the host's statefile entry says
    python3 -c 'import json, sys; print(json.load(sys.stdin)["joining"])' \
        < "$(storage_export_dir)/ha-$1.state" 2> /dev/null
}
members() { status "$1" | field members; }
kill_host $winner
on switch ip link set "h$winner-eth0" down
on switch ip link set "h$winner-eth3" down
topo_netpoold_start $winner
wuuid=$(cat "$STATE/h$winner/uuid")
ok 'wait_until 60 eval "[ \"\$(joining $wuuid)\" = True ]"' \
    "h$winner, killed and started again alone, says it is joining"
wait_until 60 eval '[ "$(members '"$loser"')" = 1 ]' || true
is "$(members $loser)" 1 "h$loser's configuration has dropped h$winner"
seen=$(cycles $loser)
ok 'wait_until 30 eval "[ \$(cycles $loser) -ge $((seen + 2)) ]"' \
    "h$loser has read h$winner's entry since"
ok '! test -e "$STATE/h$loser/netpoold/ha-fenced"' \
    "h$loser, alone, does not fence"
ok '! test -e "$STATE/h$winner/netpoold/ha-fenced"' "nor does h$winner"
on switch ip link set "h$winner-eth0" up
on switch ip link set "h$winner-eth3" up
ok 'wait_until 90 quorate_with 1 2 && quorate_with 2 2' \
    "once its links are back, h$winner rejoins"
ok 'wait_until 60 all_stay 1 2' "and both stay"
ok '! ls "$STATE"/h*/netpoold/ha-fenced > /dev/null 2>&1' "no host fenced"
np 1 pool-ha-disable
ok $? "pool-ha-disable"
