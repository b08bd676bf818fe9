#!/usr/bin/env bash
#
# test-pool: a pool of namespace hosts formed through the CLI.  h1 is a
# standalone host; h2 and h3 join it with pool-join.  Checks that the pool
# forms (every member sees the same members, one master, one log), that a
# network and a VLAN made on any member reach every member's OVS, that a
# fourth host joining inherits them, and that pool-eject returns a host to
# standalone.
source "$(dirname "$0")/lib.sh"

topo_switch_up
for n in 1 2 3 4; do
    topo_host_up $n
done

# pw, status, field, host_uuid and quorate_with come from lib.sh.
applied() { status "$1" | field applied; }
# Every host in $@ applied the same log sequence, at least $1.
same_log() {
    local least=$1 first seq
    shift
    first=$(applied "$1") || return 1
    [ "$first" -ge "$least" ] || return 1
    for n; do
        seq=$(applied "$n") || return 1
        [ "$seq" = "$first" ] || return 1
    done
}

h1=$(host_uuid 1)
h2=$(host_uuid 2)

# --- forming ----------------------------------------------------------------

sessions() { # N: sessions in host N's store
    sqlite3 "file:$STATE/h$1/netpoold/netpool.db?mode=ro" \
        "SELECT count(*) FROM objects WHERE class = 'session'"
}
sessions_before=$(sessions 1)
np 2 pool-join master-address="$(topo_mgmt_ip 1)" master-username=root \
    master-password="$(pw)"
ok $? "h2 joins h1's pool"
wait_until 10 eval '[ "$(sessions 1)" = "$sessions_before" ]' || true
ok '[[ $sessions_before =~ ^[0-9]+$ ]] && [ "$(sessions 1)" = "$sessions_before" ]' \
    "the join's session on h1 is logged out"
wait_until 30 quorate_with 1 2 || true
ok 'quorate_with 1 2' "h1 sees a quorate pool of two"
ok 'quorate_with 2 2' "h2 too"
is "$(np 2 pool-param-get uuid="$(np 2 pool-list --minimal)" param-name=master)" \
    "$h1" "h2's store names h1 master"
ok '[ "$(np 2 host-list --minimal | tr , "\n" | sort)" = "$(np 1 host-list --minimal | tr , "\n" | sort)" ]' \
    "both list the same hosts"

np 3 pool-join master-address="$(topo_mgmt_ip 2)" master-username=root \
    master-password="$(pw)"
ok $? "h3 joins through h2, a member"
wait_until 30 quorate_with 3 3 || true
ok 'quorate_with 3 3' "a pool of three"
is "$(np 3 host-list --minimal | tr , '\n' | wc -l)" 3 "h3 lists three hosts"
is "$(status 1 | field master)" True "h1 is the acting master"
is "$(status 2 | field master)/$(status 3 | field master)" False/False \
    "and nobody else"
# corosync looks names up at every start and reload; a lookup that waited
# for the machine's resolver (unreachable from a namespace) stalled it for
# 10 s, long enough to split a pool that was admitting a host.
coro=$(cat "$STATE/h2/netpoold/corosync/run/corosync.pid")
is "$(nsenter -t "$coro" -m grep '^hosts:' /etc/nsswitch.conf)/$(nsenter \
    -t "$coro" -m grep -c np-node- /etc/hosts)" "hosts: files/3" \
    "corosync reads names from its own hosts file only, which names every node"

# --- pool-wide objects ------------------------------------------------------

net=$(np 2 network-create name-label=storage MTU=1400)
ok $? "a network made on h2"
eth1=$(np 1 pif-list host-uuid="$h1" device=eth1 --minimal)
vpifs=$(np 2 pool-vlan-create pif-uuid="$eth1" vlan=20 network-uuid="$net")
ok $? "pool-vlan-create puts VLAN 20 on it, from h2"
is "$(echo "$vpifs" | tr , '\n' | wc -l)" 3 "one VLAN PIF per host"
bridge=$(np 1 network-param-get uuid="$net" param-name=bridge)
for n in 1 2 3; do
    wait_until 20 on $n ovs-vsctl br-exists "$bridge" || true
    ok "on $n ovs-vsctl br-exists $bridge" "its bridge is on h$n's OVS"
done
wait_until 10 same_log 1 1 2 3 || true
ok 'same_log 1 1 2 3' "every member applied the same log"
is "$(np 2 pool-homogeneity-report)" "the pool's hosts agree" \
    "the homogeneity report finds nothing odd"
vlan_net=$(np 3 network-create name-label=vlan30)
vpif=$(np 3 vlan-create pif-uuid="$eth1" vlan=30 network-uuid="$vlan_net")
ok $? "a VLAN on h1's eth1 alone, made from h3"
vbridge=$(np 1 network-param-get uuid="$vlan_net" param-name=bridge)
wait_until 20 on 1 ovs-vsctl br-exists "$vbridge" || true
ok "on 1 ovs-vsctl br-exists $vbridge" "its fake bridge is on h1's OVS"
ok "! on 2 ovs-vsctl br-exists $vbridge" "and only there"

# --- a fourth host inherits them --------------------------------------------

np 4 pool-join master-address="$(topo_mgmt_ip 1)" master-username=root \
    master-password="$(pw)"
ok $? "h4 joins"
wait_until 30 quorate_with 4 4 || true
ok 'quorate_with 4 4' "a pool of four"
is "$(np 4 pif-list network-uuid="$net" --minimal | tr , '\n' | wc -l)" 4 \
    "h4 inherits the pool's VLAN 20: one VLAN PIF per host"
wait_until 20 on 4 ovs-vsctl br-exists "$bridge" || true
ok "on 4 ovs-vsctl br-exists $bridge" "its bridge is on h4's OVS"
is "$(np 4 vlan-list tag=30 params=tag --minimal | tr , '\n' | wc -l)" 2 \
    "and, as xapi's joiners do, the master's VLAN 30 too"
is "$(np 4 network-param-get uuid="$net" param-name=MTU)" 1400 \
    "with its MTU"
h4=$(host_uuid 4)
eth1_net=$(np 1 pif-param-get uuid="$eth1" param-name=network)
is "$(np 4 pif-param-get uuid="$(np 4 pif-list host-uuid="$h4" device=eth1 VLAN=-1 --minimal)" param-name=network)" \
    "$eth1_net" "h4's eth1 joined the pool's eth1 network"

# --- eject ------------------------------------------------------------------

np 1 pool-eject host-uuid="$h4"
ok $? "h4 is ejected"
wait_until 30 quorate_with 1 3 || true
ok 'quorate_with 1 3' "the pool is three again"
standalone() { [ "$(status 4 | field in_pool)" = False ]; }
wait_until 30 standalone || true
ok standalone "h4 is standalone"
is "$(np 4 host-list --minimal)" "$h4" "with its own UUID, alone"
ok '! np 1 host-list --minimal | grep -q "$h4"' "the pool forgot h4"

is "$(np_error 4 pool-emergency-reset-master master-address="$(topo_mgmt_ip 1)")" \
    "POOL_HOST_IS_STANDALONE $h4" "an ejected host cannot reset its master"

# --- emergency reset of a member's view -------------------------------------

is "$(np_error 3 pool-emergency-reset-master master-address=198.19.255.1)" \
    "INVALID_VALUE master_address, 198.19.255.1" \
    "a reset to an address no member has is refused"
np 1 network-create name-label=after-reset > /dev/null
np 3 pool-emergency-reset-master master-address="$(topo_mgmt_ip 1)"
ok $? "h3 fetches the membership from h1 over mutual TLS and enters afresh"
wait_until 30 quorate_with 3 3 || true
ok 'quorate_with 3 3' "the pool is three again"
wait_until 10 same_log 1 1 2 3 || true
ok 'same_log 1 1 2 3' "h3 took the pool's log"
ok '[ -n "$(np 3 network-list name-label=after-reset --minimal)" ]' \
    "with the last write made before the reset"

# --- a bond on every member ------------------------------------------------
# On this flat switch every NIC of every host shares one broadcast domain:
# a NIC without the address must not answer ARP for it, or a peer learns
# the management address at a NIC that a bond later takes over.
is "$(on 4 python3 "$TEST_TOP/tests/integration/arp-who-has.py" eth0 "$(topo_mgmt_ip 1)")" \
    "$(on 1 cat /sys/class/net/eth0/address)" \
    "h1 answers ARP for its management address from eth0 alone"
bnet=$(np 1 network-create name-label=pool-bond)
eth2=$(np 1 pif-list host-uuid="$h1" device=eth2 --minimal)
eth3=$(np 1 pif-list host-uuid="$h1" device=eth3 --minimal)
bonds=$(np 3 pool-bond-create network-uuid="$bnet" pif-uuids="$eth2,$eth3" \
    mode=active-backup)
ok $? "pool-bond-create bonds eth2 and eth3 on every host, from h3"
is "$(echo "$bonds" | tr , '\n' | wc -l)" 3 "one bond per host"
bbridge=$(np 1 network-param-get uuid="$bnet" param-name=bridge)
for n in 1 2 3; do
    wait_until 20 eval "on $n ovs-vsctl list-ports $bbridge | grep -qx bond0" || true
    ok "on $n ovs-vsctl list-ports $bbridge | grep -qx bond0" \
        "h$n's bond0 is a port of the pool bond's bridge"
done
is "$(np_error 2 pool-bond-create network-uuid="$bnet" pif-uuids="$eth2,$eth3" | cut -d' ' -f1)" \
    PIF_IS_ALREADY_BONDED "a second pool bond of the same NICs is refused"
is "$(np 1 bond-list --minimal | tr , '\n' | wc -l)" 3 "and nothing was added"

# --- a joiner inherits the master's bond -----------------------------------

np 4 pool-join master-address="$(topo_mgmt_ip 1)" master-username=root \
    master-password="$(pw)"
ok $? "h4, standalone since its eject, joins again"
wait_until 30 quorate_with 4 4 || true
ok 'quorate_with 4 4' "a pool of four"
h4bond=$(np 4 pif-list host-uuid="$h4" device=bond0 --minimal)
ok '[ -n "$h4bond" ]' "h4 inherits the master's bond, as xapi's joiners do"
is "$(np 4 pif-param-get uuid="$h4bond" param-name=network)" "$bnet" \
    "on the pool bond's network"
is "$(np 4 bond-list master="$h4bond" params=mode --minimal)" active-backup \
    "in the master bond's mode"
is "$(np 4 pif-list host-uuid="$h4" bond-slave-of="$(np 4 bond-list master="$h4bond" --minimal)" params=device --minimal | tr , '\n' | sort | tr '\n' ' ')" \
    "eth2 eth3 " "of its own eth2 and eth3"
wait_until 20 eval "on 4 ovs-vsctl list-ports $bbridge | grep -qx bond0" || true
ok "on 4 ovs-vsctl list-ports $bbridge | grep -qx bond0" \
    "h4's bond0 is a port of the pool bond's bridge"
is "$(on 4 ovs-vsctl get port bond0 bond_mode)" active-backup \
    "an active-backup bond in h4's OVS"

# --- the pool's management moves to another network ------------------------

h3=$(host_uuid 3)
eth1_pif() { np 1 pif-list host-uuid="$1" device=eth1 VLAN=-1 --minimal; }
mgmt_device() { # HOST
    np 2 pif-list host-uuid="$1" management=true params=device --minimal
}
scratch=$(np 1 network-create name-label=no-pifs)
is "$(np_error 1 pool-management-reconfigure network-uuid="$scratch" | cut -d' ' -f1)" \
    PIF_NOT_PRESENT "a network some member has no PIF on is refused"
err=$(np_error 2 pool-management-reconfigure network-uuid="$eth1_net")
is "${err%% *}" PIF_HAS_NO_NETWORK_CONFIGURATION \
    "so is one whose PIFs have no address"
is "$(np 1 pif-param-get uuid="${err#* }" param-name=device)" eth1 \
    "naming a member's eth1"
n=0 failed=0
for h in "$h1" "$h2" "$h3" "$h4"; do
    n=$((n + 1))
    np 1 pif-reconfigure-ip uuid="$(eth1_pif "$h")" mode=static \
        IP=198.18.7.$((10 + n)) netmask=255.255.255.0 || failed=1
done
is $failed 0 "each member's eth1 gets an address on 198.18.7.0/24"
on switch ip link set h3-eth1 down
is "$(np_error 1 pool-management-reconfigure network-uuid="$eth1_net" | cut -d' ' -f1-3)" \
    "MANAGEMENT_ADDRESS_UNREACHABLE $h3, 198.18.7.13," \
    "with h3's eth1 cut at the switch, the move is refused naming h3"
is "$(for h in "$h1" "$h2" "$h3" "$h4"; do mgmt_device "$h"; done | sort -u)" \
    eth0 "and every member keeps its management on eth0"
on switch ip link set h3-eth1 up
np 2 pool-management-reconfigure network-uuid="$eth1_net"
ok $? "pool-management-reconfigure moves the pool to eth1, from h2"
is "$(for h in "$h1" "$h2" "$h3" "$h4"; do mgmt_device "$h"; done | sort -u)" \
    eth1 "every member's management PIF is its eth1"
is "$(np 2 host-param-get uuid="$h4" param-name=address)" 198.18.7.14 \
    "a member's address is its new one"
wait_until 30 quorate_with 1 4 || true
ok 'quorate_with 1 4' "the pool of four forms again on the new addresses"
for n in 1 2 3 4; do
    on switch ip link set "h$n-eth0" down
done
np 1 network-create name-label=after-move > /dev/null
ok $? "with every eth0 cut at the switch, the pool still takes writes"
wait_until 30 same_log 1 1 2 3 4 || true
ok 'same_log 1 1 2 3 4' "and every member has them: the pool talks over eth1"
ok '[ -n "$(np 4 network-list name-label=after-move --minimal)" ]' \
    "h4 sees the write made on h1"
