#!/usr/bin/env bash
#
# test-vm: domains on the qemu backend with the test guest
# (tests/guest/build.sh).  Two guests on one network reach each other
# through OVS; every legal power operation works on a real guest (start,
# pause, unpause, suspend, resume, hard and clean reboot, clean and hard
# shutdown, power-state reset) and illegal ones get VM_BAD_POWER_STATE and
# change nothing; a VM busy with an operation refuses another with
# OTHER_OPERATION_IN_PROGRESS; a start that does not fit in memory, an
# invalid memory setting and a missing kernel are refused and leave no
# QEMU, tap or port behind; a QEMU killed by hand gets its VM marked Halted
# with a VM_CRASHED message; a netpoold restart leaves running guests
# running and managed.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 46

MIB=1048576
guest_dir=$("$TEST_TOP/tests/guest/build.sh")

topo_switch_up
topo_host_up 1
topo_guest_up 1 1

vsctl() { on 1 ovs-vsctl --timeout=10 "$@"; }
has_port() { [[ " $(vsctl list-ports "$1" 2> /dev/null | tr '\n' ' ') " == *" $2 "* ]]; }
state() { np 1 vm-param-get uuid="$1" param-name=power-state; }
domid() { np 1 vm-param-get uuid="$1" param-name=domid; }
serial() { cat "/run/netpool/vm/$host/$1/serial.log" 2> /dev/null || true; }
ready_count() { serial "$1" | grep -c 'netpool-guest: ready' || true; }
qemu_of() { pgrep -f "qemu-system-x86_64.*-uuid $1" || true; }
ns_ping() { on h1g1 ping -c 1 -W 1 "$1" > /dev/null 2>&1; }
# Runs a CLI command that must fail; prints its error output.
fails() { if np 1 "$@" 2>&1 > /dev/null; then echo "SUCCEEDED"; fi; }
index_of() {
    np 1 vm-param-get uuid="$1" param-name=other-config param-key=netpool-vif-index
}
new_vm() { # NAME ADDRESS [PING]
    local vm
    vm=$(np 1 vm-create name-label="$1")
    np 1 vm-param-set uuid="$vm" memory-static-max=$((96 * MIB)) \
        PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
        PV-args="quiet np.ip0=$2/24${3:+ np.ping=$3}"
    np 1 vif-create vm-uuid="$vm" network-uuid="$net" device=0 > /dev/null
    echo "$vm"
}

host=$(np 1 host-list --minimal)
net=$(np 1 network-create name-label=guests)
bridge=$(np 1 network-param-get uuid="$net" param-name=bridge)
vm1=$(new_vm guest1 198.18.23.1 198.18.23.2)
vm2=$(new_vm guest2 198.18.23.2)
tap1="vif$(index_of "$vm1").0"
tap2="vif$(index_of "$vm2").0"

# A namespace guest on the same network probes the VMs.
nsvm=$(np 1 vm-create name-label=prober)
nsvif=$(np 1 vif-create vm-uuid="$nsvm" network-uuid="$net" device=0 \
    other-config:netns="${PREFIX}h1g1")
np 1 vif-plug uuid="$nsvif"
wait_until 20 on h1g1 ip link show eth0 > /dev/null 2>&1 || true
on h1g1 ip addr add 198.18.23.9/24 dev eth0
on h1g1 ethtool -K eth0 tx off > /dev/null 2>&1 || true

ok 'wait_until 10 eval "[[ \$(np 1 host-param-get uuid=$host param-name=virtualization) =~ ^(kvm|tcg)$ ]]"' \
    "the host reports its virtualization (kvm or tcg)"
diag "virtualization: $(np 1 host-param-get uuid="$host" param-name=virtualization)"

# --- start: two guests reach each other through OVS ---------------------

np 1 vm-start uuid="$vm1"
np 1 vm-start uuid="$vm2"
is "$(state "$vm1")/$(state "$vm2")" Running/Running "vm-start: both VMs Running"
ok '[ "$(domid "$vm1")" = "$(qemu_of "$vm1")" ] && [ "$(domid "$vm1")" -gt 0 ]' \
    "the VM's domid is its QEMU's PID"
ok 'wait_until 20 has_port "$bridge" "$tap1" && has_port "$bridge" "$tap2"' \
    "each VIF's tap is a port of the network's bridge"
is "$(np 1 vif-param-get uuid="$(np 1 vif-list vm-uuid="$vm1" --minimal)" param-name=currently-attached)" \
    true "the started VM's VIF is attached"
ok 'wait_until 90 eval "serial $vm2 | grep -q \"ready.*eth0=198.18.23.2/24\""' \
    "guest 2 boots and configures its NIC from PV-args"
ok 'wait_until 60 eval "serial $vm1 | grep -q \"ping 198.18.23.2 ok\""' \
    "guest 1 pings guest 2 through OVS"
ok 'wait_until 20 ns_ping 198.18.23.1 && ns_ping 198.18.23.2' \
    "a namespace guest on the network pings both"

# --- illegal operations: typed errors, nothing changes ---------------------

err=$(fails vm-start uuid="$vm1")
ok '[[ $err == *"VM_BAD_POWER_STATE"* ]] && [[ $err == *"Halted, Running"* ]]' \
    "vm-start of a running VM: VM_BAD_POWER_STATE(vm, Halted, Running)"
err=$(fails vm-unpause uuid="$vm1")
ok '[[ $err == *"VM_BAD_POWER_STATE"* ]] && [[ $err == *"Paused, Running"* ]]' \
    "vm-unpause of a running VM: VM_BAD_POWER_STATE(vm, Paused, Running)"
err=$(fails vm-resume uuid="$vm1")
ok '[[ $err == *"VM_BAD_POWER_STATE"* ]] && [[ $err == *"Suspended, Running"* ]]' \
    "vm-resume of a running VM: VM_BAD_POWER_STATE(vm, Suspended, Running)"
err=$(fails vm-reset-powerstate uuid="$vm1")
ok '[[ $err == *"MISSING_PARAMETER"* ]] && [[ $err == *force* ]]' \
    "vm-reset-powerstate without --force is refused"
is "$(state "$vm1")/$(domid "$vm1")" "Running/$(qemu_of "$vm1")" \
    "the refused calls changed nothing"

# --- pause, unpause ------------------------------------------------------

np 1 vm-pause uuid="$vm1"
is "$(state "$vm1")" Paused "vm-pause: Paused"
ok 'wait_until 10 eval "! ns_ping 198.18.23.1"' "a paused guest does not answer"
err=$(fails vm-pause uuid="$vm1")
ok '[[ $err == *"VM_BAD_POWER_STATE"* ]] && [[ $err == *"Running, Paused"* ]]' \
    "vm-pause of a paused VM: VM_BAD_POWER_STATE(vm, Running, Paused)"
err=$(fails vm-suspend uuid="$vm1")
ok '[[ $err == *"VM_BAD_POWER_STATE"* ]]' "vm-suspend of a paused VM is refused"
np 1 vm-unpause uuid="$vm1"
is "$(state "$vm1")" Running "vm-unpause: Running"
ok 'wait_until 20 ns_ping 198.18.23.1' "the unpaused guest answers again"

# --- suspend, resume ------------------------------------------------------

pid1=$(qemu_of "$vm1")
np 1 vm-suspend uuid="$vm1"
is "$(state "$vm1")/$(domid "$vm1")" Suspended/-1 "vm-suspend: Suspended, no domid"
ok '[ -z "$(qemu_of "$vm1")" ] && ! on 1 ip link show "$tap1" > /dev/null 2>&1' \
    "a suspended VM has no QEMU and no tap"
ok 'wait_until 20 eval "! has_port $bridge $tap1"' \
    "a suspended VM's port leaves the bridge"
np 1 vm-resume uuid="$vm1"
is "$(state "$vm1")" Running "vm-resume: Running"
ok '[ -n "$(qemu_of "$vm1")" ] && [ "$(qemu_of "$vm1")" != "$pid1" ]' \
    "the resumed VM runs in a new QEMU"
ok 'wait_until 30 ns_ping 198.18.23.1' \
    "the resumed guest answers with the address it had (no new boot)"
is "$(ready_count "$vm1")" 0 "the resumed guest did not boot again"

# --- reboots ---------------------------------------------------------------

before=$(ready_count "$vm2")
np 1 vm-reboot uuid="$vm2" --force
is "$(state "$vm2")" Running "vm-reboot --force: Running"
ok 'wait_until 90 eval "[ \$(ready_count $vm2) -gt $before ]"' \
    "after a hard reboot the guest boots again"
before=$(ready_count "$vm2")
np 1 vm-reboot uuid="$vm2"
is "$(state "$vm2")" Running "vm-reboot (clean): Running"
ok 'wait_until 90 eval "[ \$(ready_count $vm2) -gt $before ]" && serial $vm2 | grep -q "shutdown"' \
    "after a clean reboot the guest had shut down and boots again"
ok 'wait_until 30 ns_ping 198.18.23.2' "the rebooted guest answers"

# --- a busy VM -------------------------------------------------------------

np 1 vm-shutdown uuid="$vm2" > "$STATE/shutdown.out" 2>&1 &
shutdown_pid=$!
# vm-start of a running VM fails either way: VM_BAD_POWER_STATE until the
# shutdown has begun, OTHER_OPERATION_IN_PROGRESS while it runs.
wait_until 10 eval '[ "$(np 1 vm-start uuid=$vm2 2>&1 | grep -c OTHER_OPERATION_IN_PROGRESS)" = 1 ]' &&
    busy=1 || busy=0
is "$busy" 1 "an operation on a VM busy shutting down: OTHER_OPERATION_IN_PROGRESS"
wait "$shutdown_pid" && rc=0 || rc=$?
is "$rc/$(state "$vm2")" 0/Halted "vm-shutdown (clean) waits for the guest: Halted"
ok '[ -z "$(qemu_of "$vm2")" ] && ! has_port "$bridge" "$tap2"' \
    "a halted VM has no QEMU and no port"

# --- refused starts leave nothing behind ---------------------------------

vm3=$(new_vm big 198.18.23.3)
np 1 vm-param-set uuid="$vm3" memory-static-max=$((1024 * 1024 * MIB))
err=$(fails vm-start uuid="$vm3")
ok '[[ $err == *HOST_NOT_ENOUGH_FREE_MEMORY* ]]' \
    "a VM larger than the host's free memory: HOST_NOT_ENOUGH_FREE_MEMORY"
err=$(fails vm-param-set uuid="$vm3" memory-dynamic-max=$((2048 * 1024 * MIB)))
ok '[[ $err == *MEMORY_CONSTRAINT_VIOLATION* ]] && [[ $err == *memory-static-max* ]]' \
    "dynamic-max above static-max: MEMORY_CONSTRAINT_VIOLATION"
np 1 vm-param-set uuid="$vm3" memory-static-max=$((96 * MIB)) \
    PV-kernel=/nonexistent/vmlinuz
err=$(fails vm-start uuid="$vm3")
ok '[[ $err == *INVALID_VALUE* ]] && [[ $err == *PV_kernel* ]]' \
    "a missing kernel: INVALID_VALUE(PV_kernel, …)"
tap3="vif$(index_of "$vm3").0"
ok '[ "$(state "$vm3")" = Halted ] && [ -z "$(qemu_of "$vm3")" ] && ! on 1 ip link show "$tap3" > /dev/null 2>&1 && ! has_port "$bridge" "$tap3"' \
    "the refused VM is Halted with no QEMU, tap or port"

# --- netpoold restart: guests keep running and stay managed -----------------

pid1=$(qemu_of "$vm1")
topo_netpoold_stop 1 TERM
topo_netpoold_start 1
ok '[ "$(qemu_of "$vm1")" = "$pid1" ] && [ "$(state "$vm1")" = Running ]' \
    "after a netpoold restart the guest runs on in the same QEMU"
ok 'ns_ping 198.18.23.1' "the guest answers across the restart"
np 1 vm-pause uuid="$vm1"
np 1 vm-unpause uuid="$vm1"
is "$(state "$vm1")" Running "the adopted VM is still managed (pause, unpause)"

# --- a QEMU killed by hand ---------------------------------------------------

kill -KILL "$(qemu_of "$vm1")"
ok 'wait_until 20 eval "[ \"\$(state $vm1)\" = Halted ]"' \
    "a VM whose QEMU was killed is marked Halted"
ok '[[ "$(np 1 message-list name=VM_CRASHED params=obj-uuid --minimal)" == *"$vm1"* ]]' \
    "and a VM_CRASHED message is raised about it"
ok 'wait_until 20 eval "! has_port $bridge $tap1"' "its port leaves the bridge"

# --- hard shutdown, power-state reset ----------------------------------------

np 1 vm-start uuid="$vm1"
np 1 vm-pause uuid="$vm1"
np 1 vm-shutdown uuid="$vm1" --force
is "$(state "$vm1")/$(qemu_of "$vm1")" Halted/ \
    "vm-shutdown --force of a paused VM: Halted, QEMU gone"
np 1 vm-start uuid="$vm1"
np 1 vm-reset-powerstate uuid="$vm1" --force
is "$(state "$vm1")/$(qemu_of "$vm1")" Halted/ \
    "vm-reset-powerstate --force: Halted, no QEMU left"

# The domains' runtime folders (topo_down ends the QEMUs).
rm -rf "/run/netpool/vm/$host"
