#!/usr/bin/env bash
#
# test-management: the management interface of h1 (two NICs, eth0 and
# eth1, on the switch's management subnet 198.18.0.0/24 whose gateway is
# the switch at 198.18.0.1), with h2 on the same subnet as a peer.
#
# A remote readdress to 198.18.0.21 is kept (the gateway answers): the old
# address is gone, the new one answers h2, and a remote CLI reaches the host
# at it.  A readdress to a dead gateway (198.18.0.254) with a 10 s time limit
# is rolled back: the old address and route come back, the store shows the
# old configuration and MANAGEMENT_RECONFIGURE_ROLLED_BACK is raised; a
# second change while one is pending is refused.  DHCP (busybox udhcpd on
# the switch) gives the management PIF a lease that is kept; without a
# server the switch to DHCP is rolled back.  Management moves onto a VLAN
# PIF (VLAN 30 on eth1, the switch answering on VLAN 30) and back.  The role moves to eth1
# (given 198.18.0.31 first) and back; it is disabled and re-enabled.  Bad
# input gets typed errors and changes neither the store nor the kernel.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 66

TOPO_NICS=2
topo_switch_up
topo_host_up 1
topo_host_up 2
# Only sw0 answers for the switch's address (see test-bond.sh).
for h in 1 2; do
    for j in 0 1; do
        on switch sysctl -qw "net.ipv4.conf.h$h-eth$j.arp_ignore=8"
    done
done

MASK=255.255.255.0
GW=198.18.0.1
pif() { np 1 pif-list device="$1" physical=true --minimal; }
pif_get() { np 1 pif-param-get uuid="$1" param-name="$2"; }
host_get() { np 1 host-param-get uuid="$host" param-name="$1" "${@:2}"; }
# h1's IPv4 addresses outside lo, as "device address/prefix" lines.
addrs() { on 1 ip -4 -o addr show | awk '$2 != "lo" {print $2, $4}' | sort; }
default_route() { on 1 ip route show default | sed 's/ proto static//' | xargs; }
# The CLI inside the switch talking to h1 at address $1 over HTTPS.  The
# certificate names the address h1 had when it was made, so it is not
# verified here.
np_at() {
    local address=$1 pw
    shift
    pw=$(cat "$STATE/h1/netpoold/root-password")
    on switch netpool -s "$address" -u root -pw "$pw" --no-ssl-verify "$@"
}
pings() { on 2 ping -c 1 -W 1 "$1" > /dev/null 2>&1; }
pending() { [ "$(host_get management-rollback)" != "" ]; }
rolled_back() {
    np 1 message-list name=MANAGEMENT_RECONFIGURE_ROLLED_BACK --minimal
}
np_fail() { np_error 1 "$@"; }

host=$(np 1 host-list --minimal)
p0=$(pif eth0) p1=$(pif eth1)
old=$(topo_mgmt_ip 1)
wait_until 20 eval '[ "$(np 1 network-list --minimal | tr , "\n" |
    wc -l)" -ge 2 ]' || true

# --- readdress, kept ------------------------------------------------------

is "$(np_remote switch 1 pif-reconfigure-ip uuid="$p0" mode=static \
    IP=198.18.0.21 netmask=$MASK gateway=$GW 2>&1)" "" \
    "a remote readdress of the management PIF is accepted"
wait_until 20 eval '[ "$(addrs)" = "eth0 198.18.0.21/24" ]' || true
is "$(addrs)" "eth0 198.18.0.21/24" "the new address replaces the old one"
is "$(default_route)" "default via $GW dev eth0" "the default route stays"
wait_until 20 eval '! pending' || true
ok '! pending' "the gateway answers: the change is kept"
is "$(rolled_back)" "" "and nothing was rolled back"
ok 'pings 198.18.0.21' "h2 reaches the new address"
ok '! pings "$old"' "not the old one"
is "$(np_at 198.18.0.21 host-list params=name-label --minimal)" h1 \
    "a remote CLI reaches the host at its new address"
is "$(host_get address)" 198.18.0.21 "the host's address follows"
is "$(pif_get "$p0" IP)/$(pif_get "$p0" gateway)" "198.18.0.21/$GW" \
    "the store has the new configuration"

# --- readdress to a dead gateway, rolled back -----------------------------

np 1 host-param-set uuid="$host" other-config:management-rollback-timeout=10
np 1 pif-reconfigure-ip uuid="$p0" mode=static IP=198.18.0.22 netmask=$MASK \
    gateway=198.18.0.254
ok 'pending' "a change to a dead gateway waits for its answer"
is "$(np_fail pif-reconfigure-ip uuid="$p0" mode=static IP=198.18.0.23 \
    netmask=$MASK gateway=$GW)" "OTHER_OPERATION_IN_PROGRESS host, $host" \
    "a second change while one is pending is refused"
is "$(np_fail host-management-reconfigure pif-uuid="$p1")" \
    "OTHER_OPERATION_IN_PROGRESS host, $host" "so is a move of the role"
wait_until 10 eval '[ "$(addrs | xargs)" = \
    "eth0 198.18.0.21/24 eth0 198.18.0.22/24" ]' || true
is "$(addrs | xargs)" "eth0 198.18.0.21/24 eth0 198.18.0.22/24" \
    "while it waits, the new address lives beside the old one"
is "$(default_route)" "default via 198.18.0.254 dev eth0" \
    "and the route goes through the new gateway"
wait_until 30 eval '[ -n "$(rolled_back)" ]' || true
msg=$(rolled_back)
ok '[ -n "$msg" ]' "no answer in time: MANAGEMENT_RECONFIGURE_ROLLED_BACK"
body=$(np 1 message-param-get uuid="$msg" param-name=body)
ok '[[ "$body" == *198.18.0.22*198.18.0.21* ]]' \
    "the message names both addresses ($body)"
is "$(np 1 message-param-get uuid="$msg" param-name=obj-uuid)" "$p0" \
    "and the PIF"
is "$(pif_get "$p0" IP)/$(pif_get "$p0" gateway)" "198.18.0.21/$GW" \
    "the store has the old configuration again"
ok '! pending' "nothing is pending any more"
wait_until 20 eval '[ "$(addrs)" = "eth0 198.18.0.21/24" ]' || true
is "$(addrs)" "eth0 198.18.0.21/24" "the old address is back, alone"
is "$(default_route)" "default via $GW dev eth0" "with the old route"
ok 'pings 198.18.0.21' "h2 reaches it again"
is "$(np_at 198.18.0.21 host-list params=name-label --minimal)" h1 \
    "and so does the remote CLI"

# --- the role moves to eth1 and back --------------------------------------

is "$(np_fail host-management-reconfigure pif-uuid="$p1")" \
    "PIF_HAS_NO_NETWORK_CONFIGURATION $p1" \
    "a PIF without an IP configuration cannot take the role"
np 1 pif-reconfigure-ip uuid="$p1" mode=static IP=198.18.0.31 netmask=$MASK \
    gateway=$GW
is "$(np_at 198.18.0.21 host-management-reconfigure pif-uuid="$p1" 2>&1)" \
    "" "a remote move of the role to eth1 is accepted"
is "$(np 1 pif-list management=true --minimal)" "$p1" "eth1 is management"
is "$(pif_get "$p0" ip-configuration-mode)" None "eth0 lost its address"
wait_until 20 eval '[ "$(addrs)" = "eth1 198.18.0.31/24" ]' || true
is "$(addrs)" "eth1 198.18.0.31/24" "the kernel follows"
wait_until 20 eval '[ "$(default_route)" = "default via $GW dev eth1" ]' ||
    true
is "$(default_route)" "default via $GW dev eth1" "and the default route"
wait_until 20 eval '! pending' || true
ok '! pending' "the move is kept"
is "$(np_at 198.18.0.31 host-list params=name-label --minimal)" h1 \
    "the remote CLI reaches the host on eth1"

np_at 198.18.0.31 pif-reconfigure-ip uuid="$p0" mode=static IP="$old" \
    netmask=$MASK gateway=$GW
np_at 198.18.0.31 host-management-reconfigure pif-uuid="$p0"
wait_until 20 eval '[ "$(addrs)" = "eth0 $old/24" ]' || true
is "$(addrs)" "eth0 $old/24" "the role and address move back to eth0"
wait_until 20 eval '! pending' || true
is "$(np_remote switch 1 host-list params=name-label --minimal)" h1 \
    "the remote CLI works at the original address"

# --- disabled and re-enabled ----------------------------------------------

np 1 host-management-disable
is "$(np 1 pif-list management=true --minimal)" "" "the role is disabled"
wait_until 20 eval '[ "$(addrs)" = "" ]' || true
is "$(addrs)" "" "and the address is gone"
is "$(host_get address)" "" "the host has no address"
ok '! pings "$old"' "h2 no longer reaches it"
is "$(np 1 host-list params=name-label --minimal)" h1 \
    "the local socket still reaches netpoold"
np 1 pif-reconfigure-ip uuid="$p0" mode=static IP="$old" netmask=$MASK \
    gateway=$GW
np 1 host-management-reconfigure pif-uuid="$p0"
is "$(np 1 pif-list management=true --minimal)" "$p0" "the role is back"
wait_until 20 eval '[ "$(addrs)" = "eth0 $old/24" ]' || true
is "$(addrs)" "eth0 $old/24" "on eth0, at its address"
wait_until 20 eval '! pending' || true
is "$(np_remote switch 1 host-list params=name-label --minimal)" h1 \
    "the remote CLI works again"

# --- DHCP from a server on the switch ---------------------------------------

cat > "$STATE/udhcpd.conf" << EOF
start 198.18.0.100
end 198.18.0.109
interface sw0
lease_file $STATE/udhcpd.leases
pidfile $STATE/udhcpd.pid
option subnet 255.255.255.0
option router $GW
option dns $GW
EOF
touch "$STATE/udhcpd.leases"
on switch busybox udhcpd -f "$STATE/udhcpd.conf" > /dev/null 2>&1 &
# udhcpd writes its PID (the background job is the wrapper around it).
wait_until 10 test -s "$STATE/udhcpd.pid" || true
udhcpd_pid=$(cat "$STATE/udhcpd.pid")
trap 'kill "$udhcpd_pid" 2> /dev/null || true; _test_on_exit' EXIT
# The client netpoold runs for h1 (its hook lives in h1's state folder).
client() { pgrep -f "udhcpc .*$STATE/h1/netpoold/udhcpc-hook" || true; }

is "$(np_remote switch 1 pif-reconfigure-ip uuid="$p0" mode=dhcp 2>&1)" "" \
    "a remote switch of management to DHCP is accepted"
wait_until 30 eval '[[ "$(pif_get "$p0" IP)" == 198.18.0.10? ]]' || true
leased=$(pif_get "$p0" IP)
ok '[[ "$leased" == 198.18.0.10? ]]' "a lease from the switch's pool ($leased)"
is "$(pif_get "$p0" ip-configuration-mode)/$(pif_get "$p0" gateway)" \
    "DHCP/$GW" "the PIF stays in DHCP mode with the lease's gateway"
wait_until 20 eval '! pending' || true
ok '! pending' "the gateway answers: the change is kept"
wait_until 20 eval '[ "$(addrs)" = "eth0 $leased/24" ]' || true
is "$(addrs)" "eth0 $leased/24" "the leased address replaces the old one"
is "$(np_at "$leased" host-list params=name-label --minimal)" h1 \
    "a remote CLI reaches the host at its leased address"
np_at "$leased" pif-reconfigure-ip uuid="$p0" mode=static IP="$old" \
    netmask=$MASK gateway=$GW
wait_until 20 eval '[ "$(addrs)" = "eth0 $old/24" ] && ! pending' || true
is "$(addrs)" "eth0 $old/24" "back to a static address"
wait_until 10 eval '[ -z "$(client)" ]' || true
is "$(client)" "" "and the DHCP client is gone"

kill "$udhcpd_pid"
wait_until 10 eval '! kill -0 "$udhcpd_pid" 2> /dev/null' || true
np 1 pif-reconfigure-ip uuid="$p0" mode=dhcp
wait_until 30 eval '[ "$(rolled_back | tr , "\n" | wc -l)" = 2 ]' || true
is "$(rolled_back | tr , "\n" | wc -l)" 2 \
    "without a DHCP server no lease comes, and the change is rolled back"
is "$(pif_get "$p0" ip-configuration-mode)/$(pif_get "$p0" IP)" \
    "Static/$old" "to the static address"
wait_until 10 eval '[ -z "$(client)" ]' || true
is "$(client)" "" "and its DHCP client stops"
is "$(np_remote switch 1 host-list params=name-label --minimal)" h1 \
    "the remote CLI works at the static address"

# --- management on a VLAN ---------------------------------------------------

# The switch answers on VLAN 30 at 198.18.30.1 (its ports trunk every VLAN).
on switch ovs-vsctl --timeout=10 add-port sw0 npsw30 tag=30 \
    -- set interface npsw30 type=internal
on switch ip addr add 198.18.30.1/24 dev npsw30
on switch ip link set npsw30 up
vnet=$(np 1 network-create name-label=management-vlan30)
vpif=$(np 1 vlan-create pif-uuid="$p1" vlan=30 network-uuid="$vnet")
vbridge=$(np 1 network-param-get uuid="$vnet" param-name=bridge)
np 1 pif-reconfigure-ip uuid="$vpif" mode=static IP=198.18.30.5 \
    netmask=$MASK gateway=198.18.30.1
np 1 host-management-reconfigure pif-uuid="$vpif"
wait_until 20 eval '[ "$(addrs)" = "$vbridge 198.18.30.5/24" ] && ! pending' ||
    true
is "$(addrs)" "$vbridge 198.18.30.5/24" \
    "management on VLAN 30: the address lives on the VLAN's bridge"
is "$(default_route)" "default via 198.18.30.1 dev $vbridge" \
    "the default route goes through the VLAN's gateway"
ok '! pending' "the gateway answers over the VLAN: the move is kept"
is "$(np_at 198.18.30.5 host-list params=name-label --minimal)" h1 \
    "a remote CLI reaches the host over the VLAN"
np 1 pif-reconfigure-ip uuid="$p0" mode=static IP="$old" netmask=$MASK \
    gateway=$GW
np 1 host-management-reconfigure pif-uuid="$p0"
wait_until 20 eval '[ "$(addrs)" = "eth0 $old/24" ] && ! pending' || true
is "$(addrs)" "eth0 $old/24" "and back to eth0"
np 1 vlan-destroy uuid="$vpif"

# --- bad input: typed errors, nothing changed ------------------------------

# (The host's free memory is an observation that moves by itself.)
before="$(np 1 pif-param-list uuid="$p0")$(np 1 host-param-list \
    uuid="$host" | grep -v memory-free)$(addrs)$(default_route)"
is "$(np_fail pif-reconfigure-ip uuid="$p0" mode=static IP=198.18.0.40 \
    netmask=255.0.255.0)" "INVALID_VALUE netmask, 255.0.255.0" \
    "a bad netmask is refused, and named"
is "$(np_fail pif-reconfigure-ip uuid="$p0" mode=static IP=198.18.0.300 \
    netmask=$MASK)" "INVALID_VALUE IP, 198.18.0.300" "so is a bad address"
is "$(np_fail pif-reconfigure-ip uuid="$p1" mode=dhcp)" \
    "OPERATION_NOT_ALLOWED mode DHCP is only offered for the management interface" \
    "DHCP is for the management interface only"
is "$(np_fail pif-reconfigure-ip uuid="$p0" mode=none)" \
    "PIF_IS_MANAGEMENT_INTERFACE $p0" \
    "the management PIF cannot lose its address"
is "$(np_fail host-param-set uuid="$host" \
    other-config:management-rollback-timeout=1)" \
    "INVALID_VALUE other_config:management-rollback-timeout, 1" \
    "a rollback time limit under 2 s is refused"
p2=$(np 2 pif-list device=eth0 --minimal)
is "$(np_fail host-management-reconfigure pif-uuid="$p2")" \
    "HANDLE_INVALID PIF, $p2" "a PIF this host does not know is refused"
is "$(np 1 pif-param-list uuid="$p0")$(np 1 host-param-list \
    uuid="$host" | grep -v memory-free)$(addrs)$(default_route)" "$before" \
    "the store and the kernel are unchanged"
