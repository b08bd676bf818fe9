#!/usr/bin/env bash
#
# test-vm-controller: domains as a controller, and storage off the loop.  A power operation records
# intent (desired-power-state, current-operations with its task) and the
# controller of the host converges the domain; a host's vm-backend is its
# configuration, refused when unknown, unavailable or changed under running
# VMs.  netpoold killed with SIGKILL in the middle of a start, a clean
# shutdown and a suspend comes back to a consistent VM each time: power
# state and desired state agree, a running VM has exactly one QEMU whose
# PID is its domid and a halted or suspended one none, no partial state
# file is left, and the operation's task is finished and says whether it
# completed or was rolled back.  A QEMU that dies while netpoold is down is
# found crashed at its restart.  While a guest suspends and a 1 GB VDI
# copies, 100 host-list calls each answer; a VDI copy cut by SIGKILL
# leaves no image, whole or partial, and its task says it failed.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 34

MIB=1048576
guest_dir=$("$TEST_TOP/tests/guest/build.sh")

topo_switch_up
topo_host_up 1

host=$(np 1 host-list --minimal)
vmdir=/run/netpool/vm/$host
get() { np 1 vm-param-get uuid="$vm" param-name="$1"; }
qemu_pids() { pgrep -f "qemu-system-x86_64.*-uuid $vm" || true; }
ready_count() { grep -c 'netpool-guest: ready' "$vmdir/$vm/serial.log" 2> /dev/null || true; }
# Calls METHOD with the VM (and more JSON parameters) over the local socket;
# prints the result (a task for Async.*), or the error.
rpc() {
    local method=$1 reply
    shift
    local params=\"$vm\"
    [ $# -gt 0 ] && params="$params,$*"
    reply=$(echo '{"jsonrpc":"2.0","id":1,"method":"'"$method"'","params":["",'"$params"']}' |
        on 1 curl -s --max-time 10 --unix-socket "$STATE/h1/netpoold.sock" \
            -H 'Content-Type: application/json' --data-binary @- \
            http://localhost/jsonrpc)
    if [[ $reply =~ \"result\":\"([0-9a-f-]{36})\" ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo "$reply"
    fi
}
# Spins (10 ms steps, at most 20 s) until the command succeeds: tighter
# than wait_until, to stop netpoold in the middle of an operation.
spin_until() {
    local i
    for ((i = 0; i < 2000; i++)); do
        "$@" && return 0
        sleep 0.01
    done
    return 1
}
task_get() { np 1 task-param-get uuid="$1" param-name="$2" 2> /dev/null || true; }
idle() { [ -z "$(get current-operations)" ]; }

# Prints why VM $vm is not consistent, or nothing: power state and desired
# state agree; Running or Paused with one QEMU whose PID is its domid;
# Halted or Suspended with no QEMU and domid -1; no partial state file.
inconsistency() {
    local state desired domid pids
    state=$(get power-state)
    desired=$(get desired-power-state)
    domid=$(get domid)
    pids=$(qemu_pids | tr '\n' ' ')
    pids=${pids% }
    [ "$state" = "$desired" ] || echo "power-state $state, desired $desired"
    case $state in
    Running | Paused)
        [ "$pids" = "$domid" ] || echo "$state with domid $domid, QEMUs '$pids'"
        ;;
    *)
        [ -z "$pids" ] && [ "$domid" = -1 ] ||
            echo "$state with domid $domid, QEMUs '$pids'"
        ;;
    esac
    [ "$state" != Suspended ] || [ -s "$vmdir/$vm.suspend" ] ||
        echo "Suspended without its saved state"
    [ ! -e "$vmdir/$vm.suspend.part" ] || echo "a partial state file is left"
}

# After a restart: waits until the VM is idle, then checks it and the task
# of the interrupted operation ('label' names the case).
check_recovered() {
    local task=$1 label=$2 status recovery why
    wait_until 60 idle || true
    wait_until 20 eval '[ "$(task_get "$task" status)" != pending ]' || true
    why=$(inconsistency)
    status=$(task_get "$task" status)
    recovery=$(task_get "$task" other-config | sed -n 's/.*recovery: \([a-z ]*\).*/\1/p')
    diag "$label: $(get power-state), task $status${recovery:+, $recovery}"
    is "$why" "" "$label: after a SIGKILL the VM is consistent"
    ok '[[ $status == success || $status == failure ]] && { [ $status = success ] || [ "$recovery" = "rolled back" ] || [ -z "$recovery" ]; } && { [ $status = failure ] || [ "$recovery" != "rolled back" ]; }' \
        "$label: its task is finished and says whether it completed or was rolled back"
}

# SIGKILL to netpoold at once, then a new netpoold.
kill_netpoold() {
    local pid
    pid=$(cat "$STATE/h1/netpoold.pid")
    kill -KILL "$pid"
    wait_until 20 eval '! kill -0 '"$pid"' 2> /dev/null' || true
    topo_netpoold_start 1
}

net=$(np 1 network-create name-label=guests)
vm=$(np 1 vm-create name-label=guest)
np 1 vm-param-set uuid="$vm" memory-static-max=$((96 * MIB)) \
    PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
    PV-args="quiet np.ip0=198.18.26.1/24"
np 1 vif-create vm-uuid="$vm" network-uuid="$net" device=0 > /dev/null

# --- the backend is host configuration --------------------------------------

is "$(np 1 host-param-get uuid="$host" param-name=vm-backend)" qemu \
    "a host shows its vm-backend: qemu by default"
is "$(np_error 1 host-param-set uuid="$host" vm-backend=vmware)" \
    "INVALID_VALUE vm_backend, vmware" "an unknown backend is refused, named"
err=$(np_error 1 host-param-set uuid="$host" vm-backend=xen)
ok '[[ $err == "HOST_VM_BACKEND_UNAVAILABLE xen, "* ]]' \
    "xen on a host without the Xen hypervisor: HOST_VM_BACKEND_UNAVAILABLE"
diag "$err"

# --- intent, then convergence ------------------------------------------------

task=$(rpc Async.VM.start)
ok 'wait_until 60 eval "[ \"\$(task_get $task status)\" = success ]"' \
    "Async.VM.start: its task succeeds once the controller started the domain"
is "$(get power-state)/$(get desired-power-state)/$(get current-operations)" \
    Running/Running/ "the VM runs as asked, and no operation is left"
is "$(inconsistency)" "" "one QEMU, whose PID is the VM's domid"
ok 'np 1 host-param-set uuid="$host" vm-backend=qemu' \
    "setting the backend it has is fine"
is "$(np_error 1 host-param-set uuid="$host" vm-backend=xen)" \
    "OPERATION_NOT_ALLOWED the host runs VMs, $vm" \
    "the backend does not change under running VMs"
before=$(np 1 task-list --minimal | tr , '\n' | grep -c . || true)
np 1 vm-pause uuid="$vm"
np 1 vm-unpause uuid="$vm"
is "$(np 1 task-list --minimal | tr , '\n' | grep -c . || true)" "$before" \
    "a synchronous call's task goes once it has answered"

# --- SIGKILL during a clean shutdown -------------------------------------------

wait_until 90 eval '[ "$(ready_count)" -ge 1 ]' || true
task=$(rpc Async.VM.clean_shutdown)
kill_netpoold
check_recovered "$task" "clean shutdown"
ok 'wait_until 60 eval "[ \"\$(get power-state)\" = Halted ]"' \
    "the guest that was asked to shut down ends Halted"

# --- SIGKILL during a start: at once, and once QEMU is there ------------------

task=$(rpc Async.VM.start)
kill_netpoold
check_recovered "$task" "start, killed at once"
[ "$(get power-state)" = Halted ] || np 1 vm-shutdown uuid="$vm" --force

task=$(rpc Async.VM.start)
spin_until eval '[ -n "$(qemu_pids)" ]' || true
kill_netpoold
check_recovered "$task" "start, killed once QEMU runs"

# --- SIGKILL during a suspend --------------------------------------------------

[ "$(get power-state)" = Running ] || np 1 vm-start uuid="$vm"
wait_until 90 eval '[ "$(ready_count)" -ge 1 ]' || true
task=$(rpc Async.VM.suspend)
kill_netpoold
check_recovered "$task" "suspend, killed at once"
[ "$(get power-state)" != Suspended ] || np 1 vm-resume uuid="$vm"
pid=$(get domid)
task=$(rpc Async.VM.suspend)
spin_until test -e "$vmdir/$vm.suspend.part" || true
kill_netpoold
check_recovered "$task" "suspend, killed while saving"
if [ "$(get power-state)" = Running ]; then
    is "$(get domid)" "$pid" "rolled back: the guest runs on in the same QEMU"
    np 1 vm-suspend uuid="$vm"
else
    ok '[ -s "$vmdir/$vm.suspend" ]' "completed: the saved state is whole"
fi
is "$(get power-state)/$(inconsistency)" Suspended/ \
    "the VM suspends afterwards as asked"
np 1 vm-resume uuid="$vm"
is "$(get power-state)/$(inconsistency)" Running/ \
    "and resumes from its saved state"

# --- the API answers while a guest suspends and a 1 GB disk copies ---------------

sr1=$(np 1 sr-create name-label=local type=dir device-config:location="$STATE/sr1")
sr2=$(np 1 sr-create name-label=other type=dir device-config:location="$STATE/sr2")
big=$(np 1 vdi-create sr-uuid="$sr1" name-label=big virtual-size=$((1024 * MIB)) format=raw)
bigpath=$(np 1 vdi-param-get uuid="$big" param-name=location)
head -c "$MIB" /dev/urandom > "$STATE/chunk"
for ((i = 0; i < 1024; i++)); do cat "$STATE/chunk"; done > "$bigpath"
rm -f "$STATE/chunk"
# Calls VDI.copy of the big disk into sr2 as a task; prints the task.
copy_task() {
    local saved=$vm
    vm=$big
    rpc Async.VDI.copy "\"$sr2\""
    vm=$saved
}
sr2_images() { find "$STATE/sr2" -type f | sort | tr '\n' ' '; }
sr2_vdis() {
    local v
    for v in $(np 1 vdi-list sr-uuid="$sr2" --minimal | tr , ' '); do
        np 1 vdi-param-get uuid="$v" param-name=location
    done | sort | tr '\n' ' '
}

suspend=$(rpc Async.VM.suspend)
copy=$(copy_task)
answered=0
for ((i = 0; i < 100; i++)); do
    [ "$(np 1 host-list --minimal)" = "$host" ] && answered=$((answered + 1))
done
busy="suspend $(task_get "$suspend" status), copy $(task_get "$copy" status) $(task_get "$copy" progress)"
is "$answered" 100 "100 host-list calls while a guest suspends and a 1 GB VDI copies: each answers"
diag "after the 100 calls: $busy"
ok 'wait_until 120 eval "[ \"\$(task_get $copy status)\" = success ]"' \
    "the copy's task succeeds"
copied=$(task_get "$copy" result | tr -d '"')
ok 'cmp -s "$bigpath" "$(np 1 vdi-param-get uuid="$copied" param-name=location)"' \
    "and its VDI holds the same bytes"
ok 'wait_until 60 eval "[ \"\$(task_get $suspend status)\" = success ]" && [ "$(get power-state)" = Suspended ]' \
    "the suspend finished meanwhile"
np 1 vm-resume uuid="$vm"
np 1 vdi-destroy uuid="$copied"

# --- SIGKILL during a VDI copy -------------------------------------------------

before=$(sr2_images)
copy=$(copy_task)
spin_until eval '[ -n "$(find "$STATE/sr2" -name "*.part" -size +1M)" ]' || true
kill_netpoold
wait_until 20 eval '[ "$(task_get "$copy" status)" != pending ]' || true
is "$(task_get "$copy" status)/$(task_get "$copy" other-config | sed -n 's/.*recovery: \([a-z ]*\).*/\1/p')" \
    "failure/rolled back" "a VDI copy cut by SIGKILL: its task failed and says it was rolled back"
is "$(sr2_images)" "$before" "no image of it is left, whole or partial"
is "$(sr2_images)" "$(sr2_vdis)" "every image in the SR is a VDI's"
copy=$(copy_task)
ok 'wait_until 120 eval "[ \"\$(task_get $copy status)\" = success ]"' \
    "the copy made again succeeds"

# --- a QEMU that dies while netpoold is down ---------------------------------------

topo_netpoold_stop 1 KILL
kill -KILL "$(qemu_pids)"
topo_netpoold_start 1
ok 'wait_until 30 eval "[ \"\$(get power-state)\" = Halted ]"' \
    "a QEMU gone while netpoold was down: its VM is Halted after the restart"
ok '[[ "$(np 1 message-list name=VM_CRASHED params=obj-uuid --minimal)" == *"$vm"* ]]' \
    "with a VM_CRASHED message"
is "$(inconsistency)" "" "and nothing of it is left"

rm -rf "$vmdir" "$STATE/sr1" "$STATE/sr2"
