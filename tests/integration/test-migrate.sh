#!/usr/bin/env bash
#
# test-migrate: live migration between the two members of a pool, over a
# migration VLAN.  A TCG guest on VLAN 10 writes a checksummed pattern
# over its memory (tests/guest/mem-pattern.c) while the switch pings it
# every 100 ms; vm-migrate moves it from h1 to h2 over VLAN 30 (the pool's
# migration-network): afterwards it runs on h2 alone, answers, its pattern
# is intact, and the migration's bytes went over the migration VLAN, not
# the management network.  Refusals (memory, a network h2 lacks, the same
# host, a disabled host, a cancelled task) leave it running where it was.
# Then maintenance: host-disable refuses new VMs, host-evacuate refuses a
# plan that does not fit and moves nothing, and empties a host of three
# guests, which all keep answering.  Storage migration: a guest whose disk
# is on h1's directory SR, and a read-only disk beside it, moves with them
# (vdi:<vdi>=<sr>) to h2's, and reads back there the random bytes it wrote
# on h1; each refusal of a disk map, and a cancelled storage migration
# (whose task's progress moves while the disks copy at 1 MiB/s), leave it
# on h1 with its disks; its successful task ends with progress 1.
# Restarts: netpoold killed on the source mid-migration (the VM stays on
# h1, in the same QEMU), and on the destination after the commit (stopped
# first, so that h1 commits without it): at its start it finishes the
# move.  With disks: the destination's netpoold and QEMU killed mid-mirror
# (the VM stays on h1; the copies go once h2 is back), and the source's
# netpoold killed right after its commit (the destination runs the guest
# and writes the outcome once the pool of two can write again; the
# source then removes the VDIs the VM left).
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

MIB=1048576
guest_dir=$("$TEST_TOP/tests/guest/build.sh")

topo_switch_up
for n in 1 2; do
    topo_host_up $n
done

get() { np 1 vm-param-get uuid="$1" param-name="$2"; }
# Async.VM.pool_migrate through host $1's socket: VM $2 to host $3 with
# options $4 (a JSON object's members); prints the task.
migrate_async() {
    echo '{"jsonrpc":"2.0","id":1,"method":"Async.VM.pool_migrate","params":["","'"$2"'","'"$3"'",{'"$4"'}]}' |
        on "$1" curl -s --max-time 10 --unix-socket "$STATE/h$1/netpoold.sock" \
            -H 'Content-Type: application/json' --data-binary @- \
            http://localhost/jsonrpc | sed -n 's/.*"result":"\([0-9a-f-]*\)".*/\1/p'
}
where() { echo "$(get "$1" power-state)/$(get "$1" resident-on)"; }
busy() { [ -n "$(get "$1" current-operations)" ]; }
# The QEMUs of VM $2 whose state folder is host $1's.
qemus_of() { pgrep -f "qemu-system-x86_64.*-uuid $2.*/run/netpool/vm/$1/" || true; }
serial() { cat "/run/netpool/vm/$1/$2/serial.log" 2> /dev/null || true; }
passes() { serial "$1" "$2" | grep -c 'mempattern pass' || true; }
answers() { on switch ping -c 1 -W 1 "$1" > /dev/null 2>&1; }
tx_bytes() { on "$1" cat "/sys/class/net/$2/statistics/tx_bytes"; }

h1=$(host_uuid 1)
h2=$(host_uuid 2)
pool_join 2
wait_until 30 quorate_with 1 2 || true
wait_until 30 quorate_with 2 2 || true
ok 'quorate_with 1 2 && quorate_with 2 2' "h2 joins h1: a quorate pool of two"

# Guests on VLAN 10, migrations on VLAN 30 (both on eth1, a trunk on the
# switch); the switch answers on VLAN 10 at 198.18.10.1.
eth1=$(np 1 pif-list host-uuid="$h1" device=eth1 --minimal)
guests=$(np 1 network-create name-label=guests)
np 1 pool-vlan-create pif-uuid="$eth1" vlan=10 network-uuid="$guests" > /dev/null
mig=$(np 1 network-create name-label=migration)
vpifs=$(np 1 pool-vlan-create pif-uuid="$eth1" vlan=30 network-uuid="$mig")
for vpif in ${vpifs//,/ }; do
    n=$(np 1 host-param-get uuid="$(np 1 pif-param-get uuid="$vpif" param-name=host)" param-name=name-label)
    np 1 pif-reconfigure-ip uuid="$vpif" mode=static IP="198.18.30.1${n#h}" \
        netmask=255.255.255.0
done
np 1 pool-param-set uuid="$(np 1 pool-list --minimal)" migration-network="$mig"
ok $? "the pool's migration network is VLAN 30, with an address on each host"
migbr=$(np 1 network-param-get uuid="$mig" param-name=bridge)
on switch ovs-vsctl add-port sw0 swv10 tag=10 -- set interface swv10 type=internal
on switch ip addr add 198.18.10.1/24 dev swv10
on switch ip link set swv10 up
ok 'wait_until 30 on 1 ping -c 1 -W 1 198.18.30.12 > /dev/null' \
    "h1 reaches h2 on the migration VLAN"

# A guest on h1: 128 MiB, 32 MiB of them rewritten and checked all along.
new_vm() { # NAME ADDRESS MIB ARGS
    local vm
    vm=$(np 1 vm-create name-label="$1" memory-static-max=$(($3 * MIB)) \
        PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
        PV-args="quiet np.ip0=$2/24 $4")
    np 1 vm-param-set uuid="$vm" affinity="$h1"
    np 1 vif-create vm-uuid="$vm" network-uuid="$guests" device=0 > /dev/null
    echo "$vm"
}
vm=$(new_vm pattern 198.18.10.50 128 np.mempattern=32)
np 1 vm-start uuid="$vm"

# A guest with a disk on h1's directory SR, started now to boot beside the
# first: it writes 4 MiB of random bytes on it and reads them back every
# 2 s.  h2 has a directory SR on the same file system and a smaller one
# (/dev/shm), which the disk (thin) is 1 GiB too large for.
sr1=$(np 1 sr-create name-label=local-h1 type=dir device-config:location="$STATE/sr-h1")
sr1b=$(np 1 sr-create name-label=other-h1 type=dir device-config:location="$STATE/sr-h1b")
sr2=$(np 2 sr-create name-label=local-h2 type=dir device-config:location="$STATE/sr-h2")
shm_dir=/dev/shm/netpool-test-migrate.$$
sr2small=$(np 2 sr-create name-label=small-h2 type=dir device-config:location="$shm_dir")
disk_size=$((($(np 1 sr-param-get uuid="$sr2small" param-name=physical-size) / MIB + 1024) * MIB))
dvm=$(new_vm disky 198.18.10.53 80 np.disksum=4)
dvdi=$(np 1 vdi-create sr-uuid="$sr1" name-label=data virtual-size="$disk_size")
np 1 vbd-create vm-uuid="$dvm" vdi-uuid="$dvdi" device=0 > /dev/null
# And a read-only disk (a read-only VDI, a VBD of mode RO) holding 8 MiB
# of 0x5a, which moves with it too (at 1 MiB/s its copy takes 8 s).
rovdi=$(np 1 vdi-create sr-uuid="$sr1" name-label=iso virtual-size=$((16 * MIB)) read-only=true)
qemu-io -c "write -P 0x5a 0 8M" "$(np 1 vdi-param-get uuid="$rovdi" param-name=location)" > /dev/null
np 1 vbd-create vm-uuid="$dvm" vdi-uuid="$rovdi" device=1 mode=RO > /dev/null
# Its copy, wherever it is, holds the same bytes.
ro_intact() {
    local ro
    ro=$(np 1 vbd-list vm-uuid="$dvm" userdevice=1 params=vdi-uuid --minimal)
    [ "$(np 1 vbd-list vm-uuid="$dvm" userdevice=1 params=mode --minimal)" = RO ] &&
        qemu-io -r -U -c "read -P 0x5a 0 8M" \
            "$(np 1 vdi-param-get uuid="$ro" param-name=location)" > "$STATE/ro.out" 2>&1 &&
        grep -q '^read 8388608/8388608' "$STATE/ro.out" &&
        ! grep -q 'verification failed' "$STATE/ro.out"
}
spare=$(np 1 vdi-create sr-uuid="$sr1" name-label=spare virtual-size=$MIB)
np 1 vm-start uuid="$dvm"
ok 'wait_until 90 answers 198.18.10.50' "the guest runs on h1 and answers the switch on VLAN 10"
ok 'wait_until 60 eval "[ \$(passes $h1 $vm) -ge 2 ]"' \
    "its memory pattern checks out on h1"

# --- refusals leave it running on h1 ------------------------------------------

running_on_h1() {
    [ "$(where "$vm")" = "Running/$h1" ] && ! busy "$vm" &&
        [ -n "$(qemus_of "$h1" "$vm")" ] && [ -z "$(qemus_of "$h2" "$vm")" ]
}
is "$(np_error 1 vm-migrate uuid="$vm" host="$h1")" \
    "CANNOT_MIGRATE_TO_SAME_HOST $vm, $h1" "to the host it runs on: refused"
np 1 host-disable uuid="$h2"
is "$(np_error 1 vm-migrate uuid="$vm" host=h2)" "HOST_DISABLED $h2" \
    "to a disabled host: refused"
np 1 host-enable uuid="$h2"
np 1 vm-param-set uuid="$vm" memory-static-max=$((1024 * 1024 * MIB))
np 1 vm-param-set uuid="$vm" memory-dynamic-max=$((1024 * 1024 * MIB))
err=$(np_error 1 vm-migrate uuid="$vm" host="$h2")
ok '[[ $err == "HOST_NOT_ENOUGH_FREE_MEMORY "* ]]' \
    "more memory than h2 has: HOST_NOT_ENOUGH_FREE_MEMORY"
np 1 vm-param-set uuid="$vm" memory-dynamic-max=$((128 * MIB))
np 1 vm-param-set uuid="$vm" memory-static-max=$((128 * MIB))
eth2=$(np 1 pif-list host-uuid="$h1" device=eth2 --minimal)
h1only=$(np 1 network-create name-label=h1-only)
np 1 vlan-create pif-uuid="$eth2" vlan=40 network-uuid="$h1only" > /dev/null
vif2=$(np 1 vif-create vm-uuid="$vm" network-uuid="$h1only" device=1)
is "$(np_error 1 vm-migrate uuid="$vm" host="$h2")" \
    "VM_REQUIRES_NETWORK $vm, $h1only" "a VIF on a network h2 lacks: refused"
np 1 vif-destroy uuid="$vif2"
is "$(np_error 1 vm-migrate uuid="$vm" host="$h2" bandwidth=0)" \
    "INVALID_VALUE options:bandwidth, 0" "a bad option: refused"
# Under TCG a live migration can lose the pages a guest writes (QEMU's
# dirty tracking races its vCPUs): refused; the guest moves stopped.
live=true
if [ "$(np 1 host-param-get uuid="$h1" param-name=virtualization)" != kvm ]; then
    live=false
    is "$(np_error 1 vm-migrate uuid="$vm" host="$h2" live=true | cut -d, -f1,2)" \
        "VM_MIGRATE_UNSAFE $vm, tcg" "live under TCG: refused as unsafe"
fi
ok running_on_h1 "after each refusal it still runs on h1 alone"

# (A cancelled migration and a destination whose netpoold restarts before
# the commit: see the storage migration below, which covers both with
# disks.)
migrating() { [ "$(np 1 vm-param-get uuid="$vm" param-name=migration param-key=state 2> /dev/null)" = migrating ]; }

# netpoold of the source killed while the memory moves (asked through h2):
# at its restart it asks QEMU, which has not completed, cancels the
# migration and writes the rollback once the pool is whole; the VM runs on
# h1 in the QEMU it ran in all along.
qemu_before=$(qemus_of "$h1" "$vm")
echo '{"jsonrpc":"2.0","id":1,"method":"Async.VM.pool_migrate","params":["","'"$vm"'","'"$h2"'",{"bandwidth":"1","live":"'"$live"'"}]}' |
    on 2 curl -s --max-time 10 --unix-socket "$STATE/h2/netpoold.sock" \
        -H 'Content-Type: application/json' --data-binary @- \
        http://localhost/jsonrpc > /dev/null
ok 'wait_until 60 migrating' "a slow migration starts"
topo_netpoold_stop 1 KILL
topo_netpoold_start 1
ok 'wait_until 90 running_on_h1' \
    "h1's netpoold killed and restarted mid-migration: the VM runs on h1 alone"
is "$(qemus_of "$h1" "$vm")" "$qemu_before" "in the QEMU it ran in before"
is "$(np 1 vm-param-get uuid="$vm" param-name=last-operation param-key=status)" \
    failure "its last-operation says the migration failed"
ok 'wait_until 30 quorate_with 1 2 && wait_until 30 answers 198.18.10.50' \
    "the pool is whole again and the guest answers"

# --- the live migration ---------------------------------------------------------

ok 'wait_until 60 eval "[ \$(passes $h1 $vm) -ge 4 ]"' \
    "the pattern still checks out on h1"
mig_before=$(tx_bytes 1 "$migbr")
mgmt_before=$(tx_bytes 1 eth0)
: > "$STATE/ping.log"
# ip netns exec becomes ping: $! is ping's PID.
(eval "$(topo_host_env switch)" && exec ip netns exec "$(topo_ns switch)" \
    ping -i 0.1 -W 1 198.18.10.50 > "$STATE/ping.log" 2>&1) &
ping_pid=$!
wait_until 5 eval '[ "$(grep -c "bytes from" "$STATE/ping.log")" -ge 10 ]' || true
np 2 vm-migrate uuid="$vm" host=h2 live=$live
ok $? "vm-migrate (live=$live) through h2 answers success"
wait_until 5 eval '[ "$(grep -c "bytes from" "$STATE/ping.log")" -ge 60 ]' || true
kill -INT "$ping_pid"
wait "$ping_pid" || true
mig_sent=$(($(tx_bytes 1 "$migbr") - mig_before))
mgmt_sent=$(($(tx_bytes 1 eth0) - mgmt_before))
lost=$(awk '/packets transmitted/ { print $1 - $4 }' "$STATE/ping.log")
diag "ping every 100 ms across the migration: $(grep 'packets transmitted' "$STATE/ping.log")"
diag "lost: $lost (live=$live); last-operation: $(get "$vm" last-operation)"
diag "sent by h1: $((mig_sent / MIB)) MiB on the migration VLAN, $((mgmt_sent / 1024)) KiB on management"
is "$(where "$vm")" "Running/$h2" "it runs on h2"
ok '[ -n "$(qemus_of "$h2" "$vm")" ] && [ "$(get "$vm" domid)" = "$(qemus_of "$h2" "$vm")" ]' \
    "one QEMU of h2's, whose PID is its domid"
ok 'wait_until 20 eval "[ -z \"\$(qemus_of $h1 $vm)\" ]"' "and none of h1's"
ok 'answers 198.18.10.50' "it answers the switch from h2"
ok '[ "$mig_sent" -gt $((32 * MIB)) ] && [ "$mgmt_sent" -lt $((mig_sent / 8)) ]' \
    "its memory went over the migration VLAN, not the management network"
n=$(passes "$h2" "$vm")
ok 'wait_until 60 eval "[ \$(passes $h2 $vm) -ge $((n + 2)) ]"' \
    "its memory pattern, rewritten during the migration, checks out on h2"
is "$(serial "$h2" "$vm" | grep -c 'BAD\|Bad page\|BUG' || true)" 0 "no corruption reported"
is "$(np 1 task-list status=pending --minimal)$(np 2 task-list status=pending --minimal)" "" \
    "no task left pending"

# --- storage migration -----------------------------------------------------------

sum_on() { serial "$1" "$dvm" | sed -n 's/.*vda sum \([0-9a-f]*\) .*/\1/p' | tail -n 1; }
ok 'wait_until 90 eval "[ -n \"\$(sum_on $h1)\" ]"' \
    "the disk guest wrote its random bytes on h1 and reads them back"
sum1=$(sum_on "$h1")
disks_of_dvm() { np 1 vbd-list vm-uuid="$dvm" params=vdi-uuid --minimal | tr , '\n' | sort | paste -sd,; }
disk_on_h1() {
    [ "$(where "$dvm")" = "Running/$h1" ] && ! busy "$dvm" &&
        [ "$(disks_of_dvm)" = "$(printf '%s\n' "$dvdi" "$rovdi" | sort | paste -sd,)" ] &&
        [ "$(np 1 vdi-param-get uuid="$dvdi" param-name=sr-uuid)" = "$sr1" ] &&
        [ -z "$(np 1 vdi-list sr-uuid="$sr2" --minimal)" ] &&
        [ -z "$(ls "$STATE/sr-h2")" ] &&
        [ -n "$(qemus_of "$h1" "$dvm")" ] && [ -z "$(qemus_of "$h2" "$dvm")" ]
}
both="\"vdi:$dvdi\":\"$sr2\",\"vdi:$rovdi\":\"$sr2\""
is "$(np_error 1 vm-migrate uuid="$dvm" host="$h2" live=false)" \
    "VM_REQUIRES_SR $dvm, $sr1" "a disk on h1's SR and no map: refused"
nosuch=$(cat /proc/sys/kernel/random/uuid)
is "$(np_error 1 vm-migrate uuid="$dvm" host="$h2" live=false "vdi:$nosuch=$sr2")" \
    "HANDLE_INVALID VDI, $nosuch" "an unknown VDI: refused"
is "$(np_error 1 vm-migrate uuid="$dvm" host="$h2" live=false "vdi:$spare=$sr2")" \
    "VDI_NOT_OF_VM $spare, $dvm" "a VDI of no disk of the VM: refused"
is "$(np_error 1 vm-migrate uuid="$dvm" host="$h2" live=false "vdi:$dvdi=$sr1b")" \
    "VM_REQUIRES_SR $dvm, $sr1b, vdi:$dvdi" "to an SR h2 does not see: refused"
err=$(np_error 1 vm-migrate uuid="$dvm" host="$h2" live=false "vdi:$dvdi=$sr2small" "vdi:$rovdi=$sr2")
ok '[[ $err == "SR_FULL $sr2small, $disk_size, "* ]]' \
    "to an SR without room for it: SR_FULL"
diag "$err"
ok disk_on_h1 "after each refusal it runs on h1 with its disk, nothing on h2's SR"

copy_on_h2() { [ -n "$(np 1 vdi-list sr-uuid="$sr2" --minimal)" ]; }
dstate() { np "$1" vm-param-get uuid="$dvm" param-name=migration param-key=state 2> /dev/null; }
dmigrating() { [ "$(dstate 1)" = migrating ]; }

# The destination's netpoold and QEMU killed (as its host would crash)
# while the disks are mirrored: a pool of two writes nothing until h2's
# netpoold is back, and then either host may write the rollback first (h1
# retries it each second; h2 rolls back what it finds at its start): h2
# removes the copies it made either way, when it rolls back or when it
# finds copies of a migration that is over.
task=$(migrate_async 1 "$dvm" "$h2" '"bandwidth":"1","live":"false",'"$both")
ok 'wait_until 60 copy_on_h2 && wait_until 60 dmigrating' \
    "a storage migration makes the disks' copies on h2's SR and mirrors them"
topo_netpoold_stop 2 KILL
for pid in $(qemus_of "$h2" "$dvm"); do
    kill -9 "$pid"
done
ok 'wait_until 30 answers 198.18.10.53' \
    "h2's netpoold and QEMU killed mid-mirror: the guest keeps running on h1"
topo_netpoold_start 2
ok 'wait_until 90 disk_on_h1' \
    "h2 restarted: the copies are gone (records and images); the VM runs on h1 with its disks"
is "$(get "$dvm" last-operation | grep -o 'status: [a-z]*')" "status: failure" \
    "its last-operation says the migration failed"
ok 'wait_until 30 quorate_with 1 2 && wait_until 30 answers 198.18.10.53' \
    "the pool is whole again and the guest answers"

# Cancelled while its disks are mirrored, at 1 MiB/s: the task's progress
# moves while they are copied (the guest, not live, stops only once they
# are, for its memory).
task=$(migrate_async 1 "$dvm" "$h2" '"bandwidth":"1","live":"false",'"$both")
progress() { np "${2:-1}" task-param-get uuid="$1" param-name=progress; }
moving() { awk -v p="$(progress "$task")" 'BEGIN { exit !(p > 0 && p < 1) }'; }
ok 'wait_until 60 moving && answers 198.18.10.53' \
    "while its disks are copied the task's progress moves"
diag "progress: $(progress "$task")"
ok '[ -n "$(qemus_of "$h2" "$dvm")" ] && [ -n "$(qemus_of "$h1" "$dvm")" ]' \
    "h2 waits for it with a paused domain"
np 1 task-cancel uuid="$task"
ok 'wait_until 60 disk_on_h1' \
    "task-cancel: it runs on h1 with its disks, the copies and h2's domain gone"
is "$(get "$dvm" last-operation | grep -o 'status: [a-z]*')" "status: cancelled" \
    "its last-operation says cancelled"

old_images="$(np 1 vdi-param-get uuid="$dvdi" param-name=location) $(np 1 vdi-param-get uuid="$rovdi" param-name=location)"
task=$(migrate_async 2 "$dvm" "$h2" '"live":"false",'"$both")
finished() { [ "$(np 2 task-param-get uuid="$task" param-name=status)" != pending ]; }
ok 'wait_until 180 finished' "a storage migration to h2's SR, asked through h2, ends"
is "$(np 2 task-param-get uuid="$task" param-name=status)/$(progress "$task" 2 | awk '{ print $1 + 0 }')" \
    success/1 "its task succeeds with progress 1"
diag "last-operation: $(get "$dvm" last-operation)"
is "$(where "$dvm")" "Running/$h2" "it runs on h2"
copies_are_its_disks() { # SR
    local new
    for new in $(np 1 vbd-list vm-uuid="$dvm" params=vdi-uuid --minimal | tr , ' '); do
        [ "$new" != "$dvdi" ] && [ "$new" != "$rovdi" ] &&
            [ "$(np 1 vdi-param-get uuid="$new" param-name=sr-uuid)" = "$1" ] || return 1
    done
}
ok "copies_are_its_disks $sr2" "its disks are now VDIs of h2's SR"
ok ro_intact "its read-only disk's copy holds its bytes and is still plugged read-only"
originals_gone() { # VDI... ; IMAGE...
    local x
    for x in "$@"; do
        if [ -e "$x" ] || [ -n "$(np 1 vdi-list uuid="$x" --minimal)" ]; then
            return 1
        fi
    done
}
ok "wait_until 20 originals_gone $dvdi $rovdi $old_images" \
    "the VDIs it left on h1's SR are gone, with their images"
ok 'wait_until 20 eval "[ -z \"\$(qemus_of $h1 $dvm)\" ]"' "h1 runs no QEMU of it"
ok 'wait_until 30 eval "[ -n \"\$(sum_on $h2)\" ]"' "the guest reads its disk again on h2"
is "$(sum_on "$h2")" "$sum1" "the bytes it wrote on h1 read back intact from h2's disk"
ok 'answers 198.18.10.53' "and it answers from h2"

# Back to h1, h1's netpoold stopped while the disks move, so that h2
# commits without it, and h2's netpoold killed right after its commit:
# h1, continued, runs the guest, but a pool of two cannot write its
# outcome until h2's netpoold is back; h1 writes it then, and h2 removes
# the VDIs the VM left once the outcome is written.
dvdi2=$(np 1 vbd-list vm-uuid="$dvm" userdevice=0 params=vdi-uuid --minimal)
rovdi2=$(np 1 vbd-list vm-uuid="$dvm" userdevice=1 params=vdi-uuid --minimal)
old_images="$(np 1 vdi-param-get uuid="$dvdi2" param-name=location) $(np 1 vdi-param-get uuid="$rovdi2" param-name=location)"
h1pid=$(cat "$STATE/h1/netpoold.pid")
task=$(migrate_async 1 "$dvm" "$h1" '"live":"false","vdi:'"$dvdi2"'":"'"$sr1"'","vdi:'"$rovdi2"'":"'"$sr1"'"')
ok 'wait_until 60 eval "[ \"\$(dstate 1)\" = migrating ]"' "a storage migration back to h1 starts"
kill -STOP "$h1pid"
ok 'wait_until 90 eval "[ \"\$(dstate 2)\" = committed ]"' \
    "h2 commits the move while h1's netpoold is stopped"
topo_netpoold_stop 2 KILL
kill -CONT "$h1pid"
ok 'wait_until 60 answers 198.18.10.53 && [ -n "$(qemus_of "$h1" "$dvm")" ]' \
    "h2's netpoold killed right after its commit, h1's continued: the guest runs on h1"
ok "[ -n \"\$(np 1 vdi-list uuid=$dvdi2 --minimal)\" ]" \
    "the VDIs it left on h2's SR wait for h2's netpoold"
topo_netpoold_start 2
ok 'wait_until 90 eval "[ \"\$(where $dvm)\" = Running/$h1 ] && ! busy $dvm"' \
    "h2 restarted: h1 writes the outcome; it runs on h1"
is "$(np 1 task-param-get uuid="$task" param-name=status)" success "its task succeeds"
ok "copies_are_its_disks $sr1" "on copies in h1's SR"
ok "wait_until 60 originals_gone $dvdi2 $rovdi2 $old_images" \
    "h2 removes the VDIs it left, with their images"
ok 'wait_until 30 eval "[ -z \"\$(qemus_of $h2 $dvm)\" ] && [ -n \"\$(qemus_of $h1 $dvm)\" ]"' \
    "and its QEMU of it is gone; h1 runs it"
ok 'wait_until 30 quorate_with 1 2 && wait_until 30 answers 198.18.10.53' \
    "the pool is whole again and the guest answers from h1"
ok 'wait_until 30 eval "[ -n \"\$(sum_on $h1)\" ]"' "the guest reads its disk again on h1"
is "$(sum_on "$h1")" "$sum1" "the bytes it wrote read back intact after two moves"
ok ro_intact "its read-only disk too"
np 1 vm-shutdown uuid="$dvm" --force
rm -rf "$shm_dir"

# --- maintenance ------------------------------------------------------------------

np 1 host-disable uuid="$h1"
other=$(new_vm other 198.18.10.51 80 "")
is "$(np_error 1 vm-start uuid="$other")" "HOST_DISABLED $h1" \
    "a disabled host starts no VM"
np 1 host-enable uuid="$h1"
np 1 vm-param-set uuid="$other" affinity="$h2"
np 1 vm-start uuid="$other"
third=$(new_vm third 198.18.10.52 80 "")
np 1 vm-param-set uuid="$third" affinity="$h2"
np 1 vm-start uuid="$third"
ok 'wait_until 90 answers 198.18.10.51 && wait_until 90 answers 198.18.10.52' \
    "two more guests run on h2"
np 1 host-disable uuid="$h2"
np 1 vm-param-set uuid="$third" memory-static-max=$((1024 * 1024 * MIB))
np 1 vm-param-set uuid="$third" memory-dynamic-max=$((1024 * 1024 * MIB))
err=$(np_error 1 host-evacuate uuid="$h2")
ok '[[ $err == "HOST_EVACUATE_PLAN_DOES_NOT_FIT $third, "* ]]' \
    "an evacuation that does not fit is refused"
diag "$err"
is "$(np 1 vm-list resident-on="$h2" --minimal | tr , '\n' | sort | paste -sd,)" \
    "$(printf '%s\n' "$vm" "$other" "$third" | sort | paste -sd,)" "and moves nothing"
np 1 vm-param-set uuid="$third" memory-dynamic-max=$((80 * MIB))
np 1 vm-param-set uuid="$third" memory-static-max=$((80 * MIB))
np 1 host-evacuate uuid="$h2" > "$STATE/plan"
ok $? "host-evacuate empties h2"
diag "$(cat "$STATE/plan")"
is "$(np 1 vm-list resident-on="$h2" --minimal)" "" "h2 runs no VM"
for v in "$vm" "$other" "$third"; do
    is "$(where "$v")" "Running/$h1" "$(get "$v" name-label) runs on h1"
done
for a in 50 51 52; do
    ok "wait_until 10 answers 198.18.10.$a" "198.18.10.$a answers from h1"
done
ok 'wait_until 60 eval "[ \$(passes $h1 $vm) -ge 2 ]" && [ "$(serial "$h1" "$vm" | grep -c BAD || true)" = 0 ]' \
    "the pattern guest is intact after its second migration"
np 1 host-enable uuid="$h2"

# netpoold of the destination stopped while a guest's memory moves, so that
# the source commits the move without it, then killed and restarted: at its
# start it finds the move committed and finishes it (continues the guest).
h2pid=$(cat "$STATE/h2/netpoold.pid")
echo '{"jsonrpc":"2.0","id":1,"method":"Async.VM.pool_migrate","params":["","'"$other"'","'"$h2"'",{"live":"'"$live"'"}]}' |
    on 1 curl -s --max-time 10 --unix-socket "$STATE/h1/netpoold.sock" \
        -H 'Content-Type: application/json' --data-binary @- \
        http://localhost/jsonrpc > /dev/null
ostate() { np 1 vm-param-get uuid="$other" param-name=migration param-key=state 2> /dev/null; }
ok 'wait_until 60 eval "[ \"\$(ostate)\" = migrating ]"' "another migration to h2 starts"
kill -STOP "$h2pid"
ok 'wait_until 60 eval "[ \"\$(ostate)\" = committed ]"' \
    "h1 commits the move while h2's netpoold is stopped"
topo_netpoold_stop 2 KILL
topo_netpoold_start 2
moved() {
    [ "$(where "$other")" = "Running/$h2" ] && ! busy "$other" &&
        [ -z "$(qemus_of "$h1" "$other")" ] && [ -n "$(qemus_of "$h2" "$other")" ]
}
ok 'wait_until 90 moved' \
    "h2's netpoold killed after the commit and restarted: it runs on h2 alone"
is "$(np 1 vm-param-get uuid="$other" param-name=last-operation param-key=operation)/$(np 1 vm-param-get uuid="$other" param-name=last-operation param-key=status)" \
    pool_migrate/success "its last-operation says the migration succeeded"
ok 'wait_until 30 quorate_with 1 2 && wait_until 30 answers 198.18.10.51' \
    "the pool is whole again and the guest answers from h2"
for v in "$vm" "$other" "$third"; do
    np 1 vm-shutdown uuid="$v" --force
done
ok '[ -z "$(pgrep -f "qemu-system-x86_64.*/run/netpool/vm/($h1|$h2)/")" ]' \
    "every guest is down"
