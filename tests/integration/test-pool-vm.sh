#!/usr/bin/env bash
#
# test-pool-vm: a VM's operation asked through one pool member and run by
# another.  h2 joins h1's pool; a VM made through h2 with affinity h1
# starts on h1 when h2's API is asked, and h2's call answers with the
# outcome h1's controller wrote on the VM (tasks are local to the host
# whose API made them): success with the VM running on h1, h2 reading the
# same power state at once; a start h1 refuses answers h2's caller with the
# typed error and leaves nothing running; an Async shutdown through h2
# ends h2's task.
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

get() { np "$1" vm-param-get uuid="$vm" param-name="$2"; }
outcome() { np "$1" vm-param-get uuid="$vm" param-name=last-operation param-key="$2"; }
# The QEMUs of $vm whose state folder is host $1's.
qemus_of() { pgrep -f "qemu-system-x86_64.*-uuid $vm.*/run/netpool/vm/$1/" || true; }
task_get() { np "$1" task-param-get uuid="$2" param-name="$3" 2> /dev/null || true; }
# Calls METHOD with the VM over host $1's local socket; prints the result
# (a task for Async.*), or the error.
rpc() {
    local n=$1 method=$2 reply
    reply=$(echo '{"jsonrpc":"2.0","id":1,"method":"'"$method"'","params":["","'"$vm"'"]}' |
        on "$n" curl -s --max-time 10 --unix-socket "$STATE/h$n/netpoold.sock" \
            -H 'Content-Type: application/json' --data-binary @- \
            http://localhost/jsonrpc)
    if [[ $reply =~ \"result\":\"([0-9a-f-]{36})\" ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo "$reply"
    fi
}

h1=$(host_uuid 1)
h2=$(host_uuid 2)
pool_join 2
ok $? "h2 joins h1's pool"
wait_until 30 quorate_with 1 2 || true
wait_until 30 quorate_with 2 2 || true
ok 'quorate_with 1 2 && quorate_with 2 2' "a quorate pool of two"

vm=$(np 2 vm-create name-label=guest memory-static-max=$((96 * MIB)) \
    PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
    PV-args="quiet")
np 2 vm-param-set uuid="$vm" affinity="$h1"
ok $? "a VM with affinity h1, made through h2"
wait_until 10 eval '[ "$(get 1 affinity 2> /dev/null)" = "$h1" ]' || true

# --- a start through h2 runs on h1 -------------------------------------------

np 2 vm-start uuid="$vm"
ok $? "vm-start through h2 answers success"
is "$(get 2 power-state)/$(get 2 resident-on)" "Running/$h1" \
    "h2 reads it Running on h1 as soon as the call answers"
is "$(get 1 power-state)/$(get 1 domid)" "Running/$(qemus_of "$h1")" \
    "h1 runs it: one QEMU of h1's, whose PID is its domid"
is "$(qemus_of "$h2")" "" "and h2 runs none"
is "$(outcome 2 status)/$(outcome 2 operation)" success/start \
    "its last-operation says the start succeeded"
is "$(np 2 task-list status=pending --minimal)" "" \
    "h2 has no task left pending"

# --- an Async shutdown through h2 --------------------------------------------

task=$(rpc 2 Async.VM.hard_shutdown)
ok 'wait_until 60 eval "[ \"\$(task_get 2 $task status)\" = success ]"' \
    "Async.VM.hard_shutdown through h2: h2's task succeeds"
is "$(task_get 1 "$task" status)" "" "the task is h2's alone"
is "$(get 2 power-state)/$(get 2 resident-on)/$(qemus_of "$h1")" "Halted//" \
    "the VM is Halted, resident nowhere, and its QEMU is gone"

# --- a start h1 refuses ------------------------------------------------------

np 2 vm-param-set uuid="$vm" memory-static-max=$((1024 * 1024 * MIB))
err=$(np_error 2 vm-start uuid="$vm")
ok '[[ $err == "HOST_NOT_ENOUGH_FREE_MEMORY "* ]]' \
    "a start h1 cannot admit answers h2's caller HOST_NOT_ENOUGH_FREE_MEMORY"
diag "$err"
is "$(get 2 power-state)/$(get 2 desired-power-state)/$(get 2 resident-on)" \
    "Halted/Halted/" "the VM stays Halted, resident nowhere"
is "$(qemus_of "$h1")$(qemus_of "$h2")" "" "and no QEMU runs it"
is "$(outcome 2 status)" failure "its last-operation says the start failed"
is "$(np 2 task-list status=pending --minimal)" "" \
    "h2 has no task left pending"

# --- and again once it fits --------------------------------------------------

np 2 vm-param-set uuid="$vm" memory-static-max=$((96 * MIB))
np 2 vm-start uuid="$vm"
ok $? "it starts through h2 again once it fits"
is "$(get 2 power-state)/$(get 1 domid)" "Running/$(qemus_of "$h1")" \
    "on h1"
np 2 vm-shutdown uuid="$vm" --force
ok $? "vm-shutdown --force through h2 answers success"
is "$(get 2 power-state)/$(qemus_of "$h1")" Halted/ "the VM is Halted"
