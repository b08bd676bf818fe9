#!/usr/bin/env bash
#
# test-vm-guest: the guest fixture (tests/guest/build.sh).  It builds (or
# finds in its cache) a kernel from Debian's linux-image-cloud-amd64 and a
# busybox initramfs; booted by hand under QEMU (TCG: KVM does not work on
# these machines) on a tap device that is a port of a netpool network's
# bridge, the guest configures its NIC from the kernel command line,
# answers ping and UDP echo from a namespace guest on the same network,
# and powers off cleanly on QMP system_powerdown.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 7

guest_dir=$("$TEST_TOP/tests/guest/build.sh")
ok '[ -s "$guest_dir/vmlinuz" ] && [ -s "$guest_dir/initrd.img" ]' \
    "the guest fixture builds a kernel and an initramfs"
again=$("$TEST_TOP/tests/guest/build.sh")
is "$(readlink "$again/initrd.img")" "$(readlink "$guest_dir/initrd.img")" \
    "a second build finds the cached guest"

topo_switch_up
topo_host_up 1
topo_guest_up 1 1

vsctl() { on 1 ovs-vsctl --timeout=10 "$@"; }
qmp() {
    # One QMP command after the capabilities handshake; prints the replies.
    printf '%s\n' '{"execute":"qmp_capabilities"}' "$1" |
        on 1 socat -t 2 - "UNIX-CONNECT:$STATE/qmp.sock"
}
qemu_alive() { [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2> /dev/null; }

net=$(np 1 network-create name-label=guests)
bridge=$(np 1 network-param-get uuid="$net" param-name=bridge)
vm=$(np 1 vm-create name-label=nsguest)
vif=$(np 1 vif-create vm-uuid="$vm" network-uuid="$net" device=0 \
    other-config:netns="${PREFIX}h1g1")
np 1 vif-plug uuid="$vif"
wait_until 20 on h1g1 ip link show eth0 > /dev/null 2>&1 || true
on h1g1 ip addr add 198.18.22.1/24 dev eth0
on h1g1 ip link set eth0 up
on h1g1 ethtool -K eth0 tx off > /dev/null 2>&1 || true

# The QEMU guest: a tap in host 1's namespace, added to the bridge by hand.
on 1 ip tuntap add dev vmtap0 mode tap
on 1 ip link set vmtap0 up
vsctl add-port "$bridge" vmtap0
qemu_pid=
on 1 qemu-system-x86_64 -accel tcg -m 96 -nodefaults -no-user-config \
    -display none -kernel "$guest_dir/vmlinuz" \
    -initrd "$guest_dir/initrd.img" \
    -append "console=ttyS0 quiet np.ip0=198.18.22.2/24" \
    -netdev tap,id=n0,ifname=vmtap0,script=no,downscript=no \
    -device virtio-net-pci,netdev=n0,mac=52:54:00:16:00:02,romfile=,csum=off \
    -serial "file:$STATE/serial.log" \
    -qmp "unix:$STATE/qmp.sock,server=on,wait=off" \
    -daemonize -pidfile "$STATE/qemu.pid"
qemu_pid=$(cat "$STATE/qemu.pid")
ok qemu_alive "QEMU runs the guest (TCG)"
ok 'wait_until 90 grep -qs "netpool-guest: ready.*eth0=198.18.22.2/24" "$STATE/serial.log"' \
    "the guest configures eth0 from the kernel command line"
ok 'wait_until 20 on h1g1 ping -c 1 -W 1 198.18.22.2 > /dev/null 2>&1' \
    "a namespace guest pings the QEMU guest through OVS"
echo_reply=$(on h1g1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for _ in range(5):
    s.sendto(b"netpool-echo", ("198.18.22.2", 7))
    try:
        print(s.recvfrom(100)[0].decode())
        break
    except socket.timeout:
        pass
' 2> /dev/null || true)
is "$echo_reply" netpool-echo "the guest answers UDP echo on port 7"
qmp '{"execute":"system_powerdown"}' > /dev/null || true
ok 'wait_until 60 eval "! qemu_alive"' \
    "system_powerdown shuts the guest down and QEMU exits"
