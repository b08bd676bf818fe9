#!/usr/bin/env bash
#
# test-dpdk-vif: VIFs as vhost-user ports on a host whose datapath is dpdk.
# The host runs the DPDK build of ovs-vswitchd (TOPO_DATAPATH=dpdk); two
# test guests (tests/guest/build.sh) on a network with MTU 9000 get
# virtio-net NICs on vhost-user sockets that their QEMU serves, with guest
# memory in shared hugepages, and OVS holds dpdkvhostuserclient ports on
# those sockets.  The guests ping each other, one of them with 8972 bytes
# of data (a 9000-byte IP packet with DF set, which nothing may split); a
# namespace guest pings both with `ping -M do -s 8972`; a VIF's locking
# mode and rate limit apply to a vhost-user port (its policing drops show
# in /metrics); a VIF plugged into a
# running guest is hot-plugged as a vhost-user NIC and carries traffic, and
# unplugging removes NIC, port and socket; a VM whose memory does not fit
# in the free hugepages is refused with HOST_HUGEPAGES_INSUFFICIENT and
# leaves no QEMU behind; a halted VM's ports are gone.
#
# The test reserves hugepages and gives /proc/sys/vm/nr_hugepages back as
# it found it, even on failure, after OVS is down.  When hugepages cannot
# be allocated, or the DPDK build of OVS is missing, it says so and skips
# its points by name.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 21

points=(
    "OVS reports DPDK initialized"
    "both VMs Running"
    "each VIF is a dpdkvhostuserclient port on its socket"
    "QEMU serves the socket with its memory in shared hugepages"
    "the vhost-user ports come up once the guests boot"
    "guest 2 pings guest 1 through the DPDK path"
    "guest 1 pings guest 2 with 8972 bytes of data (MTU 9000, DF)"
    "a namespace guest reaches both with ping -M do -s 8972"
    "its VIF locked to another address: the guest's answers are dropped"
    "allowed its own address again, it answers"
    "a rate limit polices the vhost-user port (OVS-DPDK's policing, no OpenFlow meter or rule)"
    "answers over the rate limit are dropped and counted: netpool_interface_receive_policing_drops_total"
    "vif-plug on a running VM hot-plugs a vhost-user NIC"
    "the hot-plugged NIC carries traffic"
    "vif-unplug takes NIC, port and socket away"
    "the guest runs on and answers on its first NIC"
    "a VM beyond the free hugepages: HOST_HUGEPAGES_INSUFFICIENT, no QEMU"
    "vm-suspend with vhost-user NICs: VM_LACKS_FEATURE_SUSPEND, it runs on"
    "a VIF with other-config:vhost-user=external has its port, no VM running"
    "other-config:vhost-user other than external: INVALID_VALUE, nothing stored"
    "a halted VM's vhost-user ports are gone"
)
# OVS-DPDK takes about 1 GB with jumbo buffer pools, each guest 96 MiB.
dpdk_require 800 "${points[@]}"

MIB=1048576
guest_dir=$("$TEST_TOP/tests/guest/build.sh")

topo_switch_up
topo_host_up 1
topo_guest_up 1 1
topo_guest_up 1 2

vsctl() { on 1 ovs-vsctl --timeout=20 "$@"; }
iface() { vsctl get Interface "$1" "$2" 2> /dev/null | tr -d '"'; }
has_port() { [[ " $(vsctl list-ports "$1" 2> /dev/null | tr '\n' ' ') " == *" $2 "* ]]; }
state() { np 1 vm-param-get uuid="$1" param-name=power-state; }
serial() { cat "/run/netpool/vm/$host/$1/serial.log" 2> /dev/null || true; }
qemu_of() { pgrep -f "qemu-system-x86_64.*-uuid $1" || true; }
ns_ping() { on h1g1 ping -c 1 -W 1 "$@" > /dev/null 2>&1; }
index_of() {
    np 1 vm-param-get uuid="$1" param-name=other-config param-key=netpool-vif-index
}
new_vm() { # NAME ADDRESS PING-ARGS...
    local vm name=$1 address=$2
    shift 2
    vm=$(np 1 vm-create name-label="$name")
    np 1 vm-param-set uuid="$vm" memory-static-max=$((96 * MIB)) \
        PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
        PV-args="quiet np.mtu=9000 np.ip0=$address/24 $*"
    np 1 vif-create vm-uuid="$vm" network-uuid="$net" device=0 > /dev/null
    echo "$vm"
}
dpdk_ready() {
    [ "$(vsctl get Open_vSwitch . dpdk_initialized 2> /dev/null)" = true ]
}

host=$(np 1 host-list --minimal)
np 1 host-param-set uuid="$host" other-config:dpdk-socket-mem=256
np 1 host-param-set uuid="$host" datapath=dpdk
wait_until 60 dpdk_ready || true
is "$(vsctl get Open_vSwitch . dpdk_initialized)" true "${points[0]}"

net=$(np 1 network-create name-label=fast MTU=9000)
bridge=$(np 1 network-param-get uuid="$net" param-name=bridge)
vm1=$(new_vm guest1 198.18.26.1 np.ping=198.18.26.2 np.pingsize=8972 \
    np.ip1=198.18.27.1/24)
vm2=$(new_vm guest2 198.18.26.2 np.ping=198.18.26.1)
port1="vif$(index_of "$vm1").0"
port2="vif$(index_of "$vm2").0"
socket1=/run/netpool/vhost/$host/$port1.sock
socket2=/run/netpool/vhost/$host/$port2.sock

# A namespace guest (a veth port) on the same network probes the VMs.
nsvm=$(np 1 vm-create name-label=prober)
nsvif=$(np 1 vif-create vm-uuid="$nsvm" network-uuid="$net" device=0 \
    other-config:netns="${PREFIX}h1g1")
np 1 vif-plug uuid="$nsvif"
wait_until 20 on h1g1 ip link show eth0 > /dev/null 2>&1 || true
on h1g1 ip addr add 198.18.26.9/24 dev eth0
on h1g1 ethtool -K eth0 tx off > /dev/null 2>&1 || true

np 1 vm-start uuid="$vm1"
np 1 vm-start uuid="$vm2"
is "$(state "$vm1")/$(state "$vm2")" Running/Running "${points[1]}"
ports_ok() {
    [ "$(iface "$port1" type)" = dpdkvhostuserclient ] &&
        [ "$(iface "$port1" options:vhost-server-path)" = "$socket1" ] &&
        [ "$(iface "$port2" type)" = dpdkvhostuserclient ] &&
        [ "$(iface "$port2" options:vhost-server-path)" = "$socket2" ] &&
        has_port "$bridge" "$port1" && has_port "$bridge" "$port2"
}
ok 'wait_until 20 ports_ok' "${points[2]}"
cmdline=$(tr '\0' ' ' < "/proc/$(qemu_of "$vm1")/cmdline")
ok 'wait_until 20 eval "[ -S $socket1 ] && [ -S $socket2 ]" &&
    [[ $cmdline == *"share=on"* ]] && [[ $cmdline == *"memory-backend=mem"* ]]' \
    "${points[3]}"
ports_up() {
    [ "$(iface "$port1" link_state)" = up ] &&
        [ "$(iface "$port2" link_state)" = up ]
}
ok 'wait_until 90 ports_up' "${points[4]}"
ok 'wait_until 90 eval "serial $vm2 | grep -q \"ping 198.18.26.1 ok\""' \
    "${points[5]}"
ok 'wait_until 60 eval "serial $vm1 | grep -q \"ping 198.18.26.2 ok\""' \
    "${points[6]}"
ok 'wait_until 20 ns_ping -M do -s 8972 198.18.26.1 &&
    ns_ping -M do -s 8972 198.18.26.2' "${points[7]}"
diag "vhost-user MTU: $(iface "$port1" mtu); statistics: $(iface "$port1" statistics | cut -c1-200)"

# --- locking mode and rate limit on a vhost-user port -------------------

vif2=$(np 1 vif-list vm-uuid="$vm2" --minimal)
np 1 vif-param-set uuid="$vif2" locking-mode=locked ipv4-allowed=198.18.26.77
ok 'wait_until 20 eval "! ns_ping 198.18.26.2"' "${points[8]}"
np 1 vif-param-set uuid="$vif2" ipv4-allowed=198.18.26.2
ok 'wait_until 20 ns_ping 198.18.26.2' "${points[9]}"
np 1 vif-param-set uuid="$vif2" locking-mode=network_default
np 1 vif-param-set uuid="$vif2" qos-algorithm-type=ratelimit \
    qos-algorithm-params:kbps=2000
policed() { [ "$(vsctl get Interface "$port2" ingress_policing_rate)" = 2000 ]; }
wait_until 10 policed || true
ok 'policed && [ "$(iface "$port2" type)" = dpdkvhostuserclient ] &&
    ! on 1 ovs-ofctl -O OpenFlow13 dump-meters "$bridge" 2> /dev/null |
    grep -q "rate=" &&
    ! on 1 ovs-ofctl dump-flows "$bridge" 2> /dev/null | grep -q "priority=2000"' \
    "${points[10]}"
# Pings of 8000 bytes every 2 ms for 2 s (32 Mbit/s; 6.4 Mbit/s even if a
# busy machine sends only a fifth of them): the guest's answers go over
# its 2000 kbit/s and its port's policing drops the excess.
policing_drops() { # the counter of $port2 in /metrics, or nothing
    local page
    page=$(on 1 curl -sS --max-time 10 http://127.0.0.1:9440/metrics) ||
        return 0
    awk -v re="^netpool_interface_receive_policing_drops_total[{].*device=\"$port2\"" \
        '$0 ~ re {print $NF; exit}' <<< "$page"
}
before=$(policing_drops)
start=$SECONDS
sent=$(on h1g1 ping -q -i 0.002 -s 8000 -c 1000 -W 1 198.18.26.2 2>&1 |
    sed -n 's/.* \([0-9]*\) received.*/\1/p' || true)
policed_more() { [ "$(policing_drops)" -gt "${before:-0}" ] 2> /dev/null; }
took=$((SECONDS - start))
ok 'wait_until 15 policed_more && [ "${sent:-0}" -gt 0 ] && [ "$sent" -lt 1000 ]' \
    "${points[11]}"
diag "policing drops ${before:-none} -> $(policing_drops); $sent of 1000 answers in $took s"

# --- hot-plug -----------------------------------------------------------

net2=$(np 1 network-create name-label=hotplug)
bridge2=$(np 1 network-param-get uuid="$net2" param-name=bridge)
nsvif2=$(np 1 vif-create vm-uuid="$nsvm" network-uuid="$net2" device=1 \
    other-config:netns="${PREFIX}h1g2")
np 1 vif-plug uuid="$nsvif2"
wait_until 20 on h1g2 ip link show eth1 > /dev/null 2>&1 || true
on h1g2 ip addr add 198.18.27.9/24 dev eth1
on h1g2 ethtool -K eth1 tx off > /dev/null 2>&1 || true
hvif=$(np 1 vif-create vm-uuid="$vm1" network-uuid="$net2" device=1)
port1b="vif$(index_of "$vm1").1"
socket1b=/run/netpool/vhost/$host/$port1b.sock
np 1 vif-plug uuid="$hvif"
ok 'wait_until 20 eval "[ -S $socket1b ] && has_port $bridge2 $port1b" &&
    [ "$(iface "$port1b" type)" = dpdkvhostuserclient ]' "${points[12]}"
ok 'wait_until 60 eval "on h1g2 ping -c 1 -W 1 198.18.27.1 > /dev/null 2>&1"' \
    "${points[13]}"
np 1 vif-unplug uuid="$hvif"
ok 'wait_until 30 eval "! has_port $bridge2 $port1b && [ ! -e $socket1b ]" &&
    ! on h1g2 ping -c 1 -W 1 198.18.27.1 > /dev/null 2>&1' "${points[14]}"
ok '[ "$(state "$vm1")" = Running ] && wait_until 20 ns_ping 198.18.26.1' \
    "${points[15]}"

# --- hugepages for guest memory -----------------------------------------

big=$(np 1 vm-create name-label=big)
free_mib=$(($(dpdk_free_pages) * 2))
np 1 vm-param-set uuid="$big" memory-static-max=$(((free_mib + 512) * MIB)) \
    PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img"
np 1 vif-create vm-uuid="$big" network-uuid="$net" device=0 > /dev/null
out=$(np 1 vm-start uuid="$big" 2>&1 || true)
diag "$out"
ok '[[ $out == *HOST_HUGEPAGES_INSUFFICIENT* ]] && [ -z "$(qemu_of "$big")" ] &&
    [ "$(state "$big")" = Halted ]' "${points[16]}"

# --- suspend, and a vhost-user port for a process of one's own ----------

out=$(np 1 vm-suspend uuid="$vm1" 2>&1 || true)
ok '[[ $out == *VM_LACKS_FEATURE_SUSPEND* ]] && [ "$(state "$vm1")" = Running ] &&
    ns_ping 198.18.26.1' "${points[17]}"
probe=$(np 1 vm-create name-label=probe)
pvif=$(np 1 vif-create vm-uuid="$probe" network-uuid="$net" device=0 \
    other-config:vhost-user=external)
np 1 vif-plug uuid="$pvif"
pport="vif$(index_of "$probe").0"
ok 'wait_until 20 eval "has_port $bridge $pport" &&
    [ "$(iface "$pport" type)" = dpdkvhostuserclient ] &&
    [ "$(iface "$pport" options:vhost-server-path)" = "/run/netpool/vhost/$host/$pport.sock" ] &&
    [ "$(state "$probe")" = Halted ]' "${points[18]}"
out=$(np 1 vif-param-set uuid="$pvif" other-config:vhost-user=server 2>&1 || true)
ok '[[ $out == *INVALID_VALUE* ]] && [[ $out == *other_config:vhost-user* ]] &&
    [ "$(np 1 vif-param-get uuid="$pvif" param-name=other-config param-key=vhost-user)" = external ]' \
    "${points[19]}"

# --- halt ---------------------------------------------------------------

np 1 vm-shutdown uuid="$vm2" --force
ok 'wait_until 20 eval "! has_port $bridge $port2" && [ "$(state "$vm2")" = Halted ]' \
    "${points[20]}"
np 1 vm-shutdown uuid="$vm1" --force
