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
# running and managed; a VIF plugged into a running guest is hot-plugged
# and carries traffic, and unplugging takes it out; a guest on a VLAN
# network reaches its VLAN and not another; a template does not start,
# vm-install and vm-clone make VMs with new UUIDs, MACs and copy-on-write
# disks that boot, and one whose disk is gone does not start; with
# pool and VM
# other-config:auto_poweron=true the VM starts when netpoold first starts
# after a boot, and only then.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 76

MIB=1048576
guest_dir=$("$TEST_TOP/tests/guest/build.sh")

topo_switch_up
topo_host_up 1
topo_guest_up 1 1
topo_guest_up 1 2

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
new_vm() { # NAME ADDRESS [PING [ADDRESS1]]
    local vm
    vm=$(np 1 vm-create name-label="$1")
    np 1 vm-param-set uuid="$vm" memory-static-max=$((96 * MIB)) \
        PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
        PV-args="quiet np.ip0=$2/24${3:+ np.ping=$3}${4:+ np.ip1=$4/24}"
    np 1 vif-create vm-uuid="$vm" network-uuid="$net" device=0 > /dev/null
    echo "$vm"
}

host=$(np 1 host-list --minimal)
net=$(np 1 network-create name-label=guests)
bridge=$(np 1 network-param-get uuid="$net" param-name=bridge)
vm1=$(new_vm guest1 198.18.23.1 198.18.23.2 198.18.24.1)
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

# --- hot-plug ----------------------------------------------------------------

net2=$(np 1 network-create name-label=hotplug)
bridge2=$(np 1 network-param-get uuid="$net2" param-name=bridge)
nsvif2=$(np 1 vif-create vm-uuid="$nsvm" network-uuid="$net2" device=1 \
    other-config:netns="${PREFIX}h1g2")
np 1 vif-plug uuid="$nsvif2"
wait_until 20 on h1g2 ip link show eth1 > /dev/null 2>&1 || true
on h1g2 ip addr add 198.18.24.9/24 dev eth1
hvif=$(np 1 vif-create vm-uuid="$vm1" network-uuid="$net2" device=1)
tap1b="vif$(index_of "$vm1").1"
np 1 vif-plug uuid="$hvif"
ok 'wait_until 20 on 1 ip link show "$tap1b" > /dev/null 2>&1 && wait_until 20 has_port "$bridge2" "$tap1b"' \
    "vif-plug on a running VM hot-plugs a NIC: its tap is a port of the bridge"
ok 'wait_until 30 eval "serial $vm1 | grep -q eth1=198.18.24.1"' \
    "the guest sees the new NIC and configures it"
ok 'wait_until 30 eval "on h1g2 ping -c 1 -W 1 198.18.24.1 > /dev/null 2>&1"' \
    "the hot-plugged VIF carries traffic"
np 1 vif-unplug uuid="$hvif"
ok 'wait_until 30 eval "! on 1 ip link show $tap1b > /dev/null 2>&1"' \
    "vif-unplug takes the NIC out of the running guest"
ok 'wait_until 10 eval "! has_port $bridge2 $tap1b" && ! on h1g2 ping -c 1 -W 1 198.18.24.1 > /dev/null 2>&1' \
    "and its port and traffic are gone"

# --- a VIF's locking mode applies to the VM ---------------------------------

vif2=$(np 1 vif-list vm-uuid="$vm2" --minimal)
ok 'wait_until 20 ns_ping 198.18.23.2' "guest2 answers the prober"
np 1 vif-param-set uuid="$vif2" locking-mode=locked ipv4-allowed=198.18.23.77
ok 'wait_until 20 eval "! ns_ping 198.18.23.2"' \
    "its VIF locked to another address: the guest's answers are dropped"
np 1 vif-param-set uuid="$vif2" ipv4-allowed=198.18.23.2
ok 'wait_until 20 ns_ping 198.18.23.2' "allowed its own address, it answers"
np 1 vif-param-set uuid="$vif2" locking-mode=network_default
np 1 vif-param-set uuid="$vif2" qos-algorithm-type=ratelimit \
    qos-algorithm-params:kbps=2000
meter_on() { on 1 ovs-ofctl -O OpenFlow13 dump-meters "$bridge" 2> /dev/null |
    grep -q "rate=2000"; }
wait_until 10 meter_on || true
ok 'meter_on && [ "$(vsctl get Interface "$tap2" ingress_policing_rate)" = 2000 ]' \
    "a rate limit on its VIF polices the VM's tap port (policing and meter)"
np 1 vif-param-set uuid="$vif2" qos-algorithm-type=
is "$(np_error 1 vm-destroy uuid="$vm2")" \
    "VM_BAD_POWER_STATE $vm2, Halted, Running" \
    "a running VM cannot be destroyed"

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

# --- a client that leaves before its answer ---------------------------------

# VM.clean_shutdown answers when the guest is down; a client that hangs up
# first must not take netpoold with it (the ASan build would catch a call
# answered after it was freed).
before=$(ready_count "$vm2")
np 1 vm-start uuid="$vm2"
wait_until 90 eval '[ "$(ready_count "$vm2")" -gt "$before" ]' || true
echo '{"jsonrpc":"2.0","id":1,"method":"VM.clean_shutdown","params":["","'"$vm2"'"]}' |
    on 1 curl -s --max-time 0.3 --unix-socket "$STATE/h1/netpoold.sock" \
        -H 'Content-Type: application/json' --data-binary @- \
        http://localhost/jsonrpc > /dev/null 2>&1 || true
wait_until 60 eval '[ "$(state "$vm2")" = Halted ]' || true
is "$(state "$vm2")/$(np 1 host-list params=name-label --minimal)" Halted/h1 \
    "a clean shutdown whose client hung up still ends Halted, netpoold alive"

# --- a long operation is a task with progress --------------------------------

# A guest that ignores the power button: an Async clean shutdown waits, and
# its task shows the share of the time limit spent, until it is cancelled.
deaf=$(new_vm deaf 198.18.23.5)
np 1 vm-param-set uuid="$deaf" PV-args="quiet np.ip0=198.18.23.5/24 np.noacpi"
np 1 vm-start uuid="$deaf"
wait_until 90 eval '[ "$(ready_count "$deaf")" -ge 1 ]' || true
task=$(echo '{"jsonrpc":"2.0","id":1,"method":"Async.VM.clean_shutdown","params":["","'"$deaf"'"]}' |
    on 1 curl -s --max-time 10 --unix-socket "$STATE/h1/netpoold.sock" \
        -H 'Content-Type: application/json' --data-binary @- \
        http://localhost/jsonrpc | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])')
progress() { np 1 task-param-get uuid="$task" param-name=progress; }
ok 'wait_until 30 eval "python3 -c \"import sys; sys.exit(not 0 < float(\$(progress)) < 1)\""' \
    "Async.VM.clean_shutdown of a deaf guest: its task's progress moves"
is "$(np 1 task-param-get uuid="$task" param-name=status)/$(state "$deaf")" \
    pending/Running "while it waits, the task is pending and the VM runs"
np 1 vm-reset-powerstate uuid="$deaf" --force
wait_until 20 eval '[ "$(np 1 task-param-get uuid="$task" param-name=status)" != pending ]' || true
is "$(np 1 task-param-get uuid="$task" param-name=status)/$(state "$deaf")/$(qemu_of "$deaf")" \
    cancelled/Halted/ "vm-reset-powerstate cancels it: Halted, QEMU gone"
np 1 vif-destroy uuid="$(np 1 vif-list vm-uuid="$deaf" --minimal)"
np 1 vm-destroy uuid="$deaf"

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

# --- templates and clones -------------------------------------------------------

tmpl=$(new_vm template 198.18.23.5)
sr=$(np 1 sr-create name-label=local type=dir device-config:location="$STATE/sr")
disk0=$(np 1 vdi-create sr-uuid="$sr" name-label=disk0 virtual-size=$((16 * MIB)))
np 1 vbd-create vm-uuid="$tmpl" vdi-uuid="$disk0" device=0 > /dev/null
np 1 vm-param-set uuid="$tmpl" is-a-template=true
err=$(fails vm-start uuid="$tmpl")
ok '[[ $err == *VM_IS_TEMPLATE* ]]' "a template does not start: VM_IS_TEMPLATE"
c1=$(np 1 vm-install template=template new-name-label=clone1)
tvif=$(np 1 vif-list vm-uuid="$tmpl" --minimal)
cvif=$(np 1 vif-list vm-uuid="$c1" --minimal)
ok '[[ $c1 =~ ^[0-9a-f-]{36}$ ]] && [ "$c1" != "$tmpl" ] && [ -n "$cvif" ] && [ "$cvif" != "$tvif" ]' \
    "vm-install makes a VM with a new UUID and a VIF of its own"
is "$(np 1 vm-param-get uuid="$c1" param-name=is-a-template)/$(np 1 vm-param-get uuid="$c1" param-name=memory-static-max)" \
    "false/$((96 * MIB))" "the installed VM is no template and has the template's settings"
ok '[ "$(np 1 vif-param-get uuid="$cvif" param-name=MAC)" != "$(np 1 vif-param-get uuid="$tvif" param-name=MAC)" ]' \
    "its VIF has a new MAC"
cdisk=$(np 1 vbd-list vm-uuid="$c1" params=VDI --minimal)
ok '[ -n "$cdisk" ] && [ "$cdisk" != "$disk0" ] && qemu-img info "$(np 1 vdi-param-get uuid="$cdisk" param-name=location)" | grep -q "backing file: .*$disk0"' \
    "its disk is a copy-on-write clone of the template's"
np 1 vm-start uuid="$c1"
ok 'wait_until 90 ns_ping 198.18.23.5' "the installed VM boots and answers"
ok 'wait_until 30 eval "serial $c1 | grep -q \"disks: vda\""' \
    "the guest sees its disk as a virtio disk"
err=$(fails vm-clone uuid="$c1" new-name-label=clone2)
ok '[[ $err == *VM_BAD_POWER_STATE* ]] && [[ $err == *"Halted, Running"* ]]' \
    "a running VM is not cloned: VM_BAD_POWER_STATE"
np 1 vm-shutdown uuid="$c1" --force
c2=$(np 1 vm-clone uuid="$c1" new-name-label=clone2)
ok '[ "$c2" != "$c1" ] && [ "$(np 1 vif-list vm-uuid="$c2" params=MAC --minimal)" != "$(np 1 vif-list vm-uuid="$c1" params=MAC --minimal)" ]' \
    "vm-clone of a halted VM: new UUID, new MAC"
c2disk=$(np 1 vbd-list vm-uuid="$c2" params=VDI --minimal)
rm -f "$(np 1 vdi-param-get uuid="$c2disk" param-name=location)"
tap_c2="vif$(index_of "$c2").0"
err=$(fails vm-start uuid="$c2")
ok '[[ $err == *VDI_MISSING* ]] && [ "$(state "$c2")" = Halted ] && [ -z "$(qemu_of "$c2")" ] && ! on 1 ip link show "$tap_c2" > /dev/null 2>&1 && ! has_port "$bridge" "$tap_c2"' \
    "a VM whose disk is gone does not start (VDI_MISSING) and leaves nothing behind"

# --- VLANs isolate guests -----------------------------------------------------

topo_guest_up 1 3
topo_guest_up 1 4
eth1=$(np 1 pif-list device=eth1 --minimal)
net10=$(np 1 network-create name-label=vlan10)
net20=$(np 1 network-create name-label=vlan20)
np 1 vlan-create pif-uuid="$eth1" vlan=10 network-uuid="$net10" > /dev/null
np 1 vlan-create pif-uuid="$eth1" vlan=20 network-uuid="$net20" > /dev/null
for g in 3 4; do
    v=$(np 1 vif-create vm-uuid="$nsvm" device=$g \
        network-uuid="$([ $g = 3 ] && echo "$net10" || echo "$net20")" \
        other-config:netns="${PREFIX}h1g$g")
    np 1 vif-plug uuid="$v"
    wait_until 20 on h1g$g ip link show eth$g > /dev/null 2>&1 || true
    on h1g$g ip addr add 198.18.25.$((6 + g))/24 dev eth$g
done
vm10=$(np 1 vm-create name-label=vlan10-guest)
np 1 vm-param-set uuid="$vm10" memory-static-max=$((96 * MIB)) \
    PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
    PV-args="quiet np.ip0=198.18.25.1/24"
np 1 vif-create vm-uuid="$vm10" network-uuid="$net10" device=0 > /dev/null
np 1 vm-start uuid="$vm10"
ok 'wait_until 90 eval "on h1g3 ping -c 1 -W 1 198.18.25.1 > /dev/null 2>&1"' \
    "a guest on a VLAN network reaches the same VLAN"
ok '! on h1g4 ping -c 2 -W 1 198.18.25.1 > /dev/null 2>&1' \
    "and not another VLAN"
np 1 vm-shutdown uuid="$vm10" --force

# --- auto_poweron ------------------------------------------------------------

pool=$(np 1 pool-list --minimal)
np 1 pool-param-set uuid="$pool" other-config:auto_poweron=true
np 1 vm-param-set uuid="$vm1" other-config:auto_poweron=true
topo_netpoold_stop 1 TERM
rm -f "/run/netpool/vm/$host/booted" # as a host boot empties /run
topo_netpoold_start 1
ok 'wait_until 20 eval "[ \"\$(state $vm1)\" = Running ]"' \
    "pool and VM auto_poweron: the VM starts when netpoold starts after a boot"
is "$(state "$vm2")" Halted "a VM without auto_poweron stays halted"
ok 'wait_until 60 ns_ping 198.18.23.1' "the auto-started guest answers"
np 1 vm-shutdown uuid="$vm1" --force
topo_netpoold_stop 1 TERM
topo_netpoold_start 1
# auto_poweron decides while netpoold starts, before its API answers: a
# start it chose would already be the VM's desired power state.
ok '[ "$(np 1 vm-param-get uuid="$vm1" param-name=desired-power-state)" = Halted ] &&
    [ "$(state "$vm1")" = Halted ]' \
    "a netpoold restart without a boot starts nothing"

# The domains' runtime folders (topo_down ends the QEMUs).
rm -rf "/run/netpool/vm/$host"
