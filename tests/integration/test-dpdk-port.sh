#!/usr/bin/env bash
#
# test-dpdk-port: PIFs as DPDK ports.  The host runs the DPDK build of
# ovs-vswitchd (TOPO_DATAPATH=dpdk); host-param-set datapath=dpdk makes
# OVS initialize DPDK (one PMD thread, on core 1) and every NIC a
# type=dpdk port on an AF_PACKET virtual device of its veth
# (dpdk-devargs net_af_packet_DEVICE,iface=DEVICE, --no-pci).  Management
# and a second network reach the switch through those ports; a PIF's
# dpdk-n-rxq reaches options:n_rxq; a bad dpdk-devargs is refused with
# DPDK_DEVARGS_INVALID and OVS keeps the port as it was.  A PIF shows its
# port's MTU limit (mtu-max: 1500 for net_af_packet, whose DPDK driver
# takes no more); a network MTU above it is MTU_EXCEEDS_DEVICE_LIMIT with
# nothing stored and the port still passing traffic; a net_pcap virtual
# device on the same NIC takes MTU 9000 (OVS sizes its mbufs for it) and a
# 9000-byte ping with don't-fragment crosses it; going back to
# net_af_packet at MTU 9000 is refused.  An error OVS puts on a PIF's
# interface shows as its device-error, with one PIF_DEVICE_ERROR message,
# and clears with good devargs.  An LACP bond of two
# DPDK ports negotiates with the switch's port-channel and carries traffic;
# back to netdev the NICs are plain ports again and traffic still flows.
#
# The test reserves hugepages for DPDK and gives /proc/sys/vm/nr_hugepages
# back as it found it, even on failure, after OVS is down.  When hugepages
# cannot be allocated, or the DPDK build of OVS is missing, it says so and
# skips its points by name.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 24

points=(
    "OVS reports DPDK initialized"
    "each NIC is a DPDK port on an AF_PACKET virtual device"
    "no DPDK port reports an error"
    "management reaches the gateway through DPDK ports"
    "a second network reaches the switch through its DPDK port"
    "a PIF's dpdk-n-rxq reaches the port's n_rxq"
    "an unknown DPDK driver is refused with DPDK_DEVARGS_INVALID"
    "a virtual device on a missing NIC is refused too"
    "and OVS keeps the port's devargs"
    "and the port still passes traffic"
    "a PIF shows its DPDK port's MTU limit"
    "a network MTU above it is MTU_EXCEEDS_DEVICE_LIMIT"
    "nothing is stored, OVS keeps the port and traffic passes"
    "a net_pcap port on the same NIC takes MTU 9000"
    "OVS sizes the port's mbufs for 9000-byte frames"
    "a 9000-byte ping with don't-fragment crosses the DPDK port"
    "back to net_af_packet at MTU 9000 is refused"
    "an OVS error on a PIF's interface shows as its device-error"
    "with one PIF_DEVICE_ERROR message"
    "good devargs clear the error and the port comes back"
    "an LACP bond's members are DPDK ports"
    "LACP negotiates with the switch over DPDK ports"
    "traffic crosses the DPDK bond"
    "back to netdev the NICs are plain ports and traffic flows"
)
# The switch takes jumbo frames; the hosts' NICs start at 1500.
export TOPO_SWITCH_MTU=9216
# 256 MiB of socket memory; OVS-DPDK takes about 1 GB in all with four
# ports' buffer pools, so reserve 600 2-MiB pages.
dpdk_require 600 "${points[@]}"

topo_switch_up
topo_host_up 1

vsctl() { on 1 ovs-vsctl --timeout=20 "$@"; }
iface() { vsctl get Interface "$1" "$2" 2> /dev/null | tr -d '"'; }
has_bridge() { vsctl br-exists "$1"; }
dpdk_ready() {
    [ "$(vsctl get Open_vSwitch . dpdk_initialized 2> /dev/null)" = true ] &&
        [ "$(iface eth1 type)" = dpdk ] &&
        [ "$(iface eth1 link_state)" = up ]
}

host=$(np 1 host-list --minimal)
wait_until 20 has_bridge xenbr1 || true
pif1=$(np 1 pif-list device=eth1 --minimal)
net1=$(np 1 pif-param-get uuid="$pif1" param-name=network-uuid)

np 1 host-param-set uuid="$host" other-config:dpdk-socket-mem=256
np 1 host-param-set uuid="$host" datapath=dpdk
wait_until 60 dpdk_ready || true

is "$(vsctl get Open_vSwitch . dpdk_initialized)" true "${points[0]}"
types=""
for dev in eth0 eth1 eth2 eth3; do
    types+="$dev:$(iface "$dev" type):$(iface "$dev" options:dpdk-devargs) "
done
is "$types" "eth0:dpdk:net_af_packet_eth0,iface=eth0 \
eth1:dpdk:net_af_packet_eth1,iface=eth1 \
eth2:dpdk:net_af_packet_eth2,iface=eth2 \
eth3:dpdk:net_af_packet_eth3,iface=eth3 " "${points[1]}"
is "$(vsctl --bare --columns=error find Interface type=dpdk | tr -d '\n')" \
    "" "${points[2]}"
ok "wait_until 20 on 1 ping -c 1 -W 2 198.18.0.1 > /dev/null" "${points[3]}"

# The switch answers on a second subnet, which host 1 reaches through eth1.
on switch ip addr add 198.18.21.1/24 dev sw0
np 1 pif-reconfigure-ip uuid="$pif1" mode=static IP=198.18.21.2 \
    netmask=255.255.255.0
ok "wait_until 20 on 1 ping -c 1 -W 2 198.18.21.1 > /dev/null" "${points[4]}"

np 1 pif-param-set uuid="$pif1" other-config:dpdk-n-rxq=2
wait_until 20 eval '[ "$(iface eth1 options:n_rxq)" = 2 ]' || true
is "$(iface eth1 options:n_rxq)" 2 "${points[5]}"

is "$(np_error 1 pif-param-set uuid="$pif1" \
    other-config:dpdk-devargs=net_bogus0)" \
    "DPDK_DEVARGS_INVALID net_bogus0, neither a PCI address nor a virtual device DPDK knows" \
    "${points[6]}"
is "$(np_error 1 pif-param-set uuid="$pif1" \
    other-config:dpdk-devargs=net_af_packet_x,iface=nope0)" \
    "DPDK_DEVARGS_INVALID net_af_packet_x,iface=nope0, this host has no such iface" \
    "${points[7]}"
is "$(iface eth1 options:dpdk-devargs)" "net_af_packet_eth1,iface=eth1" \
    "${points[8]}"
ok "on 1 ping -c 1 -W 2 198.18.21.1 > /dev/null" "${points[9]}"

# --- MTU limits --------------------------------------------------------------

pifp() { np 1 pif-param-get uuid="$1" param-name="$2"; }
wait_until 20 eval '[ "$(pifp "$pif1" mtu-max)" = 1500 ]' || true
is "$(pifp "$pif1" mtu-max)" 1500 "${points[10]}"
is "$(np_error 1 network-param-set uuid="$net1" MTU=9000)" \
    "MTU_EXCEEDS_DEVICE_LIMIT MTU, 9000, 1500, eth1" "${points[11]}"
ok '[ "$(np 1 network-param-get uuid="$net1" param-name=MTU)" = 1500 ] &&
    [ "$(iface eth1 mtu)/$(iface eth1 error)/$(iface eth1 link_state)" = \
        "1500/[]/up" ] &&
    on 1 ping -c 1 -W 2 198.18.21.1 > /dev/null' "${points[12]}"

# net_pcap sets no MTU of its own: OVS runs it at the mtu_request and
# netpool gives the NIC the same MTU.
np 1 pif-param-set uuid="$pif1" \
    other-config:dpdk-devargs=net_pcap_eth1,iface=eth1
pcap_ready() {
    [ "$(iface eth1 status:driver_name)" = net_pcap ] &&
        [ "$(iface eth1 link_state)" = up ]
}
wait_until 30 pcap_ready || true
wait_until 20 eval '[ "$(pifp "$pif1" mtu-max)" = 9702 ]' || true
np 1 network-param-set uuid="$net1" MTU=9000
wait_until 30 eval '[ "$(iface eth1 mtu)" = 9000 ]' || true
is "$(pifp "$pif1" mtu-max)/$(iface eth1 status:driver_name)/$(iface eth1 \
    mtu)/$(on 1 cat /sys/class/net/eth1/mtu)" 9702/net_pcap/9000/9000 \
    "${points[13]}"
ctl=$(ls "$STATE"/h1/ovs/ovs-vswitchd-dpdk.*.ctl)
elt_size=$(on 1 ovs-appctl -t "$ctl" netdev-dpdk/get-mempool-info eth1 |
    sed -n 's/^ *elt_size=//p' | head -1)
diag "eth1's mempool: elt_size=$elt_size"
ok '[ "${elt_size:-0}" -ge 9018 ]' "${points[14]}"
on switch ovs-vsctl --timeout=10 set Interface sw0 mtu_request=9000
wait_until 20 eval '[ "$(on switch cat /sys/class/net/sw0/mtu)" = 9000 ]' ||
    true
ok "wait_until 20 on 1 ping -c 1 -W 2 -M do -s 8972 198.18.21.1 > /dev/null" \
    "${points[15]}"
is "$(np_error 1 pif-param-set uuid="$pif1" \
    other-config:dpdk-devargs=net_af_packet_eth1,iface=eth1)" \
    "MTU_EXCEEDS_DEVICE_LIMIT other_config:dpdk-devargs, 9000, 1500, eth1" \
    "${points[16]}"

# --- errors OVS reports ----------------------------------------------------------

# The driver refuses an argument it does not know: OVS cannot add the port.
pif3=$(np 1 pif-list device=eth3 physical=true --minimal)
np 1 pif-param-set uuid="$pif3" \
    other-config:dpdk-devargs=net_pcap_eth3,iface=eth3,bogus=1
wait_until 30 eval '[ -n "$(pifp "$pif3" device-error)" ]' || true
diag "eth3: $(pifp "$pif3" device-error)"
is "$(pifp "$pif3" device-error)" "$(iface eth3 error)" "${points[17]}"
sleep 6 # OVS reports its interfaces again (statistics, every 5 s).
is "$(np 1 message-list name=PIF_DEVICE_ERROR --minimal | tr ',' '\n' |
    grep -c .)" 1 "${points[18]}"
np 1 pif-param-remove uuid="$pif3" param-name=other-config \
    param-key=dpdk-devargs
wait_until 30 eval '[ -z "$(pifp "$pif3" device-error)" ] &&
    [ "$(iface eth3 link_state)" = up ]' || true
is "$(pifp "$pif3" device-error)/$(iface eth3 link_state)" /up \
    "${points[19]}"

# An LACP bond of eth2 and eth3 against a port-channel of the switch.
sw() { on switch ovs-vsctl --timeout=10 "$@"; }
pif() { np 1 pif-list device="$1" physical=true --minimal; }
for j in 2 3; do
    on switch sysctl -qw "net.ipv4.conf.h1-eth$j.arp_ignore=8"
done
sw del-port sw0 h1-eth2 -- del-port sw0 h1-eth3 -- \
    add-bond sw0 po1 h1-eth2 h1-eth3 lacp=active bond_mode=balance-tcp \
    other_config:lacp-time=fast
net=$(np 1 network-create name-label=dpdk-bond)
bond=$(np 1 bond-create network-uuid="$net" pif-uuids="$(pif eth2),$(pif eth3)" \
    mode=lacp properties:lacp-time=fast properties:updelay=0)
master=$(np 1 bond-param-get uuid="$bond" param-name=master)
members_dpdk() {
    [ "$(iface eth2 type)/$(iface eth3 type)" = dpdk/dpdk ]
}
wait_until 20 members_dpdk || true
is "$(iface eth2 type)/$(iface eth3 type)" dpdk/dpdk "${points[20]}"
np 1 event-wait class=pif device=eth2 lacp-state=current timeout=30 ||
    true
np 1 event-wait class=pif device=eth3 lacp-state=current timeout=30 ||
    true
wait_until 20 eval '[ "$(on switch ovs-appctl bond/show po1 |
    sed -n "s/^lacp_status: //p")" = negotiated ]' || true
is "$(np 1 pif-param-get uuid="$(pif eth2)" param-name=lacp-state)/$(np 1 \
    pif-param-get uuid="$(pif eth3)" param-name=lacp-state)/$(on switch \
    ovs-appctl bond/show po1 | sed -n 's/^lacp_status: //p')" \
    current/current/negotiated "${points[21]}"
on switch ip addr add 198.18.22.1/24 dev sw0
np 1 pif-reconfigure-ip uuid="$master" mode=static IP=198.18.22.2 \
    netmask=255.255.255.0
ok "wait_until 20 on 1 ping -c 1 -W 2 198.18.22.1 > /dev/null" \
    "${points[22]}"

np 1 host-param-set uuid="$host" datapath=netdev
wait_until 20 eval '[ -z "$(iface eth1 type)" ]' || true
ok '[ -z "$(iface eth1 type)" ] &&
    wait_until 20 on 1 ping -c 1 -W 2 198.18.21.1 > /dev/null' "${points[23]}"
