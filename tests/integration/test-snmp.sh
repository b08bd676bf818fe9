#!/usr/bin/env bash
#
# test-snmp: netpoold as an AgentX subagent of net-snmp's snmpd, read with
# SNMPv3 (authPriv, SHA/AES).  ifXTable names the PIFs and its 64-bit
# counters match OVS's own statistics for frames injected into a NIC;
# ifStackTable and IEEE8023-LAG-MIB show a LACP bond negotiated with the
# switch; NETPOOL-MIB shows the host (with its HA state), a VM (with its
# ha-restart-priority) and the bond; taking a NIC's carrier down sends
# linkDown (and up, linkUp), a bond losing a member sends
# netpoolBondStatusChanged, an MTU path check that finds a smaller
# MTU sends netpoolMtuMismatch, a rolled-back management change
# netpoolManagementRolledBack, all to snmptrapd; the subagent comes
# back after snmpd and after netpoold restart, with the same ifIndex; an
# object marked netpool-hidden shows neither in SNMP nor in /metrics; and
# doc/NETPOOL-MIB.txt passes smilint and snmptranslate.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 33

export MIBS=
sdir=$STATE/snmp
mkdir -p "$sdir/conf" "$sdir/persist" "$sdir/trapd"
agentx=$sdir/agentx.sock
AGENT_PORT=11161
TRAP_PORT=11162

# --- the MIB file ----------------------------------------------------------

stubs=(-p "$TEST_TOP/tests/integration/mibs/SNMPv2-SMI.txt"
    -p "$TEST_TOP/tests/integration/mibs/SNMPv2-TC.txt"
    -p "$TEST_TOP/tests/integration/mibs/SNMPv2-CONF.txt")
lint=$(smilint -l 6 "${stubs[@]}" "$TEST_TOP/doc/NETPOOL-MIB.txt" 2>&1 |
    grep 'NETPOOL-MIB' || true)
[ -z "$lint" ] || diag "$lint"
ok '[ -z "$lint" ]' "smilint finds nothing to say about NETPOOL-MIB"
is "$(snmptranslate -m NETPOOL-MIB \
    -M "$TEST_TOP/doc:$TEST_TOP/tests/integration/mibs" -On \
    NETPOOL-MIB::netpoolBondStatusChanged 2> /dev/null)" \
    ".1.3.6.1.4.1.99999.0.1" "snmptranslate reads NETPOOL-MIB"
is "$(snmptranslate -m NETPOOL-MIB \
    -M "$TEST_TOP/doc:$TEST_TOP/tests/integration/mibs" -On \
    NETPOOL-MIB::netpoolHaVmRestarted NETPOOL-MIB::netpoolHaVmUnplaceable \
    2> /dev/null | grep . | paste -sd' ')" \
    ".1.3.6.1.4.1.99999.0.5 .1.3.6.1.4.1.99999.0.6" \
    "netpoolHaVmRestarted and netpoolHaVmUnplaceable are notifications 5, 6"

# --- a host whose netpoold is a subagent, before snmpd is there -----------

TOPO_NICS=4
topo_switch_up
TOPO_NETPOOLD_EXTRA_ARGS="--snmp-agentx-socket $agentx" topo_host_up 1
on 1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 || true
ip netns exec "${PREFIX}switch" sysctl -qw \
    net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

cat > "$sdir/conf/snmpd.conf" << CONF
agentaddress udp:127.0.0.1:$AGENT_PORT
master agentx
agentXSocket unix:$agentx
agentXPerms 0600 0700
createUser netpool SHA "netpool-auth-secret" AES "netpool-priv-secret"
rouser netpool authPriv
trap2sink 127.0.0.1:$TRAP_PORT public
CONF
cat > "$sdir/trapd.conf" << CONF
authCommunity log public
CONF

snmpd_pid=
start_snmpd() {
    on 1 env SNMP_PERSISTENT_DIR="$sdir/persist" \
        SNMPCONFPATH="$sdir/conf" snmpd -f -Lf "$sdir/snmpd.log" -I -smux \
        > /dev/null 2>&1 &
    snmpd_pid=$!
}
stop_snmpd() {
    if [ -n "$snmpd_pid" ]; then
        kill "$snmpd_pid" 2> /dev/null || true
        wait "$snmpd_pid" 2> /dev/null || true
        snmpd_pid=
    fi
}
on 1 env SNMP_PERSISTENT_DIR="$sdir/trapd" snmptrapd -f -On -C -c "$sdir/trapd.conf" -Lf "$sdir/traps.log" \
    "udp:127.0.0.1:$TRAP_PORT" > /dev/null 2>&1 &
trapd_pid=$!
stop_all() {
    stop_snmpd
    kill "$trapd_pid" 2> /dev/null || true
    wait "$trapd_pid" 2> /dev/null || true
}
trap 'stop_all; _test_on_exit' EXIT
start_snmpd

snmp() { # COMMAND ARGS...: an SNMPv3 authPriv request to h1's snmpd
    local cmd=$1
    shift
    on 1 "$cmd" -v3 -l authPriv -u netpool -a SHA -A netpool-auth-secret \
        -x AES -X netpool-priv-secret -On -Oqv -t 3 -r 1 \
        "127.0.0.1:$AGENT_PORT" "$@" 2> /dev/null
}
snmp_hex() { # OID: an OCTET STRING value in hex
    on 1 snmpget -v3 -l authPriv -u netpool -a SHA -A netpool-auth-secret \
        -x AES -X netpool-priv-secret -On -Oqvx -t 3 -r 1 \
        "127.0.0.1:$AGENT_PORT" "$1" 2> /dev/null
}
walk() { # OID: "OID VALUE" lines
    on 1 snmpbulkwalk -v3 -l authPriv -u netpool -a SHA \
        -A netpool-auth-secret -x AES -X netpool-priv-secret -On -Oq -t 3 \
        -r 1 "127.0.0.1:$AGENT_PORT" "$1" 2> /dev/null
}
IFNAME=.1.3.6.1.2.1.31.1.1.1.1
ifindex() { # DEVICE: its ifIndex, from ifName
    walk "$IFNAME" | awk -v d="\"$1\"" '$2 == d || $2 == substr(d, 2,
        length(d) - 2) { n = split($1, a, "."); print a[n] }'
}

# Until netpoold registers, snmpd answers with the kernel's interfaces.
if_names() { walk "$IFNAME" | awk '{print $2}' | tr -d '"' | tr '\n' ' '; }
wait_until 30 eval '[ "$(if_names)" = "eth0 eth1 eth2 eth3 " ]' || true
names=$(if_names)
is "$names" "eth0 eth1 eth2 eth3 " \
    "ifXTable names the PIFs, once snmpd comes after netpoold"
i1=$(ifindex eth1)
net1=$(np 1 pif-param-get uuid="$(np 1 pif-list device=eth1 --minimal)" \
    param-name=network-uuid)
np 1 network-param-set uuid="$net1" name-label=storage-a
wait_until 10 eval '[ "$(snmp snmpget .1.3.6.1.2.1.31.1.1.1.18.$i1)" = \
    "\"storage-a\"" ]' || true
is "$(snmp snmpget .1.3.6.1.2.1.31.1.1.1.18."$i1")" '"storage-a"' \
    "ifAlias is the network's name-label"
is "$(snmp snmpget .1.3.6.1.2.1.2.2.1.3."$i1") $(snmp snmpget \
    .1.3.6.1.2.1.2.2.1.8."$i1")" "6 1" "eth1 is ethernetCsmacd and up"
ok '[ -n "$(walk .1.3.6.1.2.1.2.2.1.1 | grep -v "\.$i1 ")" ] &&
    ! walk .1.3.6.1.2.1.2.2.1.2 | grep -q "\"lo\""' \
    "ifTable is netpool's, not the kernel's"

# --- counters: 300 frames into eth1 ---------------------------------------

ovs_stat() { on 1 ovs-vsctl get Interface eth1 "statistics:$1" | tr -d '"'; }
before=$(ovs_stat rx_packets)
ip netns exec "${PREFIX}switch" python3 - << 'PY'
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("h1-eth1", 0))
frame = bytes.fromhex("02aabbccddee" "02aabbccdd01" "88b5") + bytes(46)
for _ in range(300):
    s.send(frame)
PY
wait_until 30 eval '[ "$(ovs_stat rx_packets)" -ge $((before + 300)) ]' ||
    true
hc_matches() {
    [ "$(snmp snmpget .1.3.6.1.2.1.31.1.1.1.7."$i1")" = \
        "$(ovs_stat rx_packets)" ] &&
        [ "$(snmp snmpget .1.3.6.1.2.1.31.1.1.1.6."$i1")" = \
            "$(ovs_stat rx_bytes)" ]
}
wait_until 20 hc_matches || true
ok '[ "$(ovs_stat rx_packets)" -ge $((before + 300)) ]' \
    "OVS counted the 300 frames"
is "$(snmp snmpget .1.3.6.1.2.1.31.1.1.1.7."$i1")/$(snmp snmpget \
    .1.3.6.1.2.1.31.1.1.1.6."$i1")" "$(ovs_stat rx_packets)/$(ovs_stat \
    rx_bytes)" "ifHCInUcastPkts and ifHCInOctets match OVS's statistics"
is "$(snmp snmpget .1.3.6.1.2.1.31.1.1.1.10."$i1")" "$(ovs_stat tx_bytes)" \
    "ifHCOutOctets matches OVS's tx_bytes"

# --- a LACP bond: ifStackTable, IEEE8023-LAG-MIB, NETPOOL-MIB --------------

if np 1 help --list | tr ' ' '\n' | grep -qx bond-create; then
    sw() { on switch ovs-vsctl --timeout=10 "$@"; }
    sw del-port sw0 h1-eth2 -- del-port sw0 h1-eth3 -- \
        add-bond sw0 po1 h1-eth2 h1-eth3 lacp=active \
        bond_mode=balance-tcp other_config:lacp-time=fast
    bnet=$(np 1 network-create name-label=bonded)
    p2=$(np 1 pif-list device=eth2 --minimal)
    p3=$(np 1 pif-list device=eth3 --minimal)
    bond=$(np 1 bond-create network-uuid="$bnet" pif-uuids="$p2,$p3" \
        mode=lacp properties:lacp-time=fast properties:updelay=0)
    np 1 event-wait class=bond links-up=2 timeout=30 > /dev/null || true
    wait_until 20 eval '[ -n "$(ifindex bond0)" ]' || true
    ib=$(ifindex bond0) i2=$(ifindex eth2) i3=$(ifindex eth3)
    is "$(snmp snmpget .1.3.6.1.2.1.2.2.1.3."$ib")" 161 \
        "bond0 is in ifTable as ieee8023adLag"
    is "$(snmp snmpget .1.3.6.1.2.1.31.1.2.1.3."$ib"."$i2") $(snmp snmpget \
        .1.3.6.1.2.1.31.1.2.1.3."$ib"."$i3")" "1 1" \
        "ifStackTable stacks bond0 on eth2 and eth3"
    attached() {
        [ "$(snmp snmpget .1.2.840.10006.300.43.1.2.1.1.13."$i2")" = "$ib" ] &&
            [ "$(snmp snmpget .1.2.840.10006.300.43.1.2.1.1.13."$i3")" = "$ib" ]
    }
    wait_until 30 attached || true
    ok attached "dot3adAggPortAttachedAggID: both members attached to bond0"
    rx_pdus() { snmp snmpget .1.2.840.10006.300.43.1.2.2.1.1."$i2"; }
    wait_until 20 eval '[ "$(rx_pdus)" -gt 0 ]' || true
    ok '[ "$(rx_pdus)" -gt 0 ]' \
        "dot3adAggPortStatsLACPDUsRx counts LACPDUs ($(rx_pdus))"
    partner=$(on switch ovs-appctl lacp/show po1 |
        sed -n 's/^  sys_id: //p' | tr -d ':' | tr a-f A-F)
    got=$(snmp_hex .1.2.840.10006.300.43.1.1.1.1.8."$ib" | tr -d ' "' |
        tr a-f A-F)
    is "$got" "$partner" "dot3adAggPartnerSystemID is the switch's LACP system"
    is "$(snmp snmpget .1.3.6.1.4.1.99999.1.3.1.4."$ib") $(snmp snmpget \
        .1.3.6.1.4.1.99999.1.3.1.5."$ib") $(snmp snmpget \
        .1.3.6.1.4.1.99999.1.3.1.6."$ib")" "3 2 2" \
        "netpoolBondTable: lacp, 2 of 2 links up"
else
    for name in "bond0 in ifTable" "ifStackTable" "LAG attached" \
        "LAG partner" "LAG LACPDUs" "netpoolBondTable"; do
        skip "$name" "no bond-create in this build"
    done
fi

# --- NETPOOL-MIB hosts and VMs ---------------------------------------------

is "$(snmp snmpget .1.3.6.1.4.1.99999.1.1.1.3.1)" '"h1"' \
    "netpoolHostTable names the host"
ha=$(np 1 host-param-get uuid="$(np 1 host-list --minimal)" \
    param-name=ha-state)
is "$(snmp snmpget .1.3.6.1.4.1.99999.1.1.1.9.1) $ha" '"disabled" disabled' \
    "netpoolHostHaState is the host's ha-state: disabled, HA being off"
if np 1 help --list | tr ' ' '\n' | grep -qx vm-create; then
    np 1 vm-create name-label=web > /dev/null
    wait_until 10 eval 'walk .1.3.6.1.4.1.99999.1.2.1.3 | grep -q web' ||
        true
    vm_oid=$(walk .1.3.6.1.4.1.99999.1.2.1.3 | awk '$2 == "\"web\"" {print $1}')
    is "$(snmp snmpget "${vm_oid/.1.2.1.3./.1.2.1.4.}")" 1 \
        "netpoolVmTable shows the VM halted"
    prio_oid=${vm_oid/.1.2.1.3./.1.2.1.8.}
    is "$(snmp snmpget "$prio_oid")" '""' \
        "netpoolVmHaRestartPriority is empty for a VM HA does not protect"
    np 1 vm-param-set uuid="$(np 1 vm-list name-label=web --minimal)" \
        ha-restart-priority=restart
    wait_until 10 eval '[ "$(snmp snmpget "$prio_oid")" = "\"restart\"" ]' ||
        true
    is "$(snmp snmpget "$prio_oid")" '"restart"' \
        "and reads back the ha-restart-priority set with vm-param-set"
else
    for name in "netpoolVmTable" "netpoolVmHaRestartPriority empty" \
        "netpoolVmHaRestartPriority restart"; do
        skip "$name" "no vm-create in this build"
    done
fi

# --- what the exporters may not show ----------------------------------------

# A VM marked other_config:netpool-hidden=true, with a plugged VIF: neither
# snmpwalk nor /metrics shows the VM, the VIF or its port; once unmarked,
# both do.
if np 1 help --list | tr ' ' '\n' | grep -qx vif-create; then
    topo_guest_up 1 1
    topo_guest_up 1 2
    hid=$(np 1 vm-create name-label=hidden-vm)
    np 1 vm-param-set uuid="$hid" other-config:netpool-hidden=true
    hvif=$(np 1 vif-create vm-uuid="$hid" network-uuid="$net1" device=0 \
        other-config:netns="${PREFIX}h1g1")
    # A VM like it, not hidden, plugged after it: once its port shows, the
    # hidden one's would have.
    shown=$(np 1 vm-create name-label=shown-vm)
    svif=$(np 1 vif-create vm-uuid="$shown" network-uuid="$net1" device=0 \
        other-config:netns="${PREFIX}h1g2")
    np 1 vif-plug uuid="$hvif"
    np 1 vif-plug uuid="$svif"
    port_of() { on 1 ovs-vsctl --timeout=10 --bare --columns=name find \
        Interface "external_ids:iface-id=$1"; }
    wait_until 30 eval '[ -n "$(port_of "$svif")" ]' || true
    hport=$(port_of "$hvif")
    sport=$(port_of "$svif")
    metrics() { on 1 curl -sS --max-time 10 http://127.0.0.1:9440/metrics; }
    wait_until 30 eval 'walk "$IFNAME" | grep -q "\"$sport\"" &&
        metrics | grep -q "vif=\"$svif\""' || true
    ok '[ -n "$hport" ] && walk "$IFNAME" | grep -q "\"$sport\"" &&
        ! walk "$IFNAME" | grep -q "\"$hport\"" &&
        ! walk .1.3.6.1.4.1.99999.1.2.1.3 | grep -q hidden-vm' \
        "a hidden VM and its VIF's port ($hport) are not in SNMP"
    page=$(metrics)
    ok '[[ $page == *"vif=\"$svif\""* && $page != *"$hid"* &&
        $page != *"$hvif"* && $page != *"device=\"$hport\""* ]]' \
        "nor in /metrics"
    np 1 vm-param-remove uuid="$hid" param-name=other-config \
        param-key=netpool-hidden
    wait_until 20 eval 'walk "$IFNAME" | grep -q "\"$hport\""' || true
    wait_until 20 eval 'metrics | grep -q "vif=\"$hvif\""' || true
    ok 'walk "$IFNAME" | grep -q "\"$hport\"" &&
        walk .1.3.6.1.4.1.99999.1.2.1.3 | grep -q hidden-vm &&
        metrics | grep -q "vif=\"$hvif\""' \
        "unmarked, the VM and its VIF's port show in both"
    np 1 vif-unplug uuid="$hvif"
    np 1 vif-unplug uuid="$svif"
else
    for name in "hidden in SNMP" "hidden in /metrics" "unhidden"; do
        skip "$name" "no vif-create in this build"
    done
fi

# --- notifications ---------------------------------------------------------

traps() { cat "$sdir/traps.log" 2> /dev/null; }
ip -n "${PREFIX}switch" link set h1-eth1 down
wait_until 20 eval 'traps | grep -q "6.3.1.1.5.3.*2.2.1.1.$i1 = INTEGER: $i1"' ||
    true
ok 'traps | grep -q "6.3.1.1.5.3.*2.2.1.1.$i1 = INTEGER: $i1"' \
    "carrier down on eth1: linkDown with its ifIndex at the trap receiver"
ip -n "${PREFIX}switch" link set h1-eth1 up
wait_until 20 eval 'traps | grep -q "6.3.1.1.5.4.*2.2.1.1.$i1 = INTEGER: $i1"' ||
    true
ok 'traps | grep -q "6.3.1.1.5.4.*2.2.1.1.$i1 = INTEGER: $i1"' \
    "carrier back: linkUp"
if [ -n "${bond:-}" ]; then
    ip -n "${PREFIX}switch" link set h1-eth3 down
    wait_until 30 eval 'traps | grep -q "99999.0.1"' || true
    ok 'traps | grep "99999.0.1" | grep -q "99999.1.3.1.5.$ib = Gauge32: 1"' \
        "a bond member lost: netpoolBondStatusChanged, 1 link up"
    ip -n "${PREFIX}switch" link set h1-eth3 up
else
    skip "netpoolBondStatusChanged" "no bond-create in this build"
fi

# --- MTU_MISMATCH: netpoolMtuMismatch --------------------------------------

# eth1's network goes to MTU 9000 with an address; the switch answers on
# sw0's own port, but its end of h1's wire (h1-eth1) stays at 1500, so
# the MTU check's full-size probes vanish while small ones pass.
p1=$(np 1 pif-list device=eth1 --minimal)
np 1 network-param-set uuid="$net1" MTU=9000
np 1 pif-reconfigure-ip uuid="$p1" mode=static IP=198.18.40.1 \
    netmask=255.255.255.0
ip -n "${PREFIX}switch" addr add 198.18.40.2/24 dev sw0
ip -n "${PREFIX}switch" link set sw0 up
np 1 network-param-set uuid="$net1" other-config:mtu-check-peers=198.18.40.2 \
    other-config:mtu-check-interval=2
wait_until 60 eval 'traps | grep -q "99999.0.2"' || true
[ -n "$(np 1 message-list name=MTU_MISMATCH --minimal)" ] ||
    diag "no MTU_MISMATCH: $(grep -i "probe\|mtu" "$STATE/h1/netpoold.log" |
        tail -3)"
ok 'traps | grep "99999.0.2" | grep -q "99999.1.4.1.0 = STRING: \"$net1\""' \
    "MTU_MISMATCH on eth1's network: netpoolMtuMismatch names it"
ok 'traps | grep "99999.0.2" | grep -q "99999.1.4.2.0 = STRING: \"storage-a\""' \
    "and carries the network's name-label"

# --- MANAGEMENT_RECONFIGURE_ROLLED_BACK: netpoolManagementRolledBack -------

p0=$(np 1 pif-list device=eth0 --minimal)
host=$(np 1 host-list --minimal)
np 1 host-param-set uuid="$host" other-config:management-rollback-timeout=2
np 1 pif-reconfigure-ip uuid="$p0" mode=static IP=198.18.0.27 \
    netmask=255.255.255.0 gateway=198.18.0.254
wait_until 30 eval 'traps | grep -q "99999.0.4"' || true
ok 'traps | grep "99999.0.4" | grep -q "99999.1.4.1.0 = STRING: \"$p0\""' \
    "a rolled-back management change: netpoolManagementRolledBack names the PIF"
ok 'traps | grep "99999.0.4" | grep -q "99999.1.4.2.0 = STRING: \"eth0\""' \
    "and its device"
wait_until 20 eval '[ "$(np 1 host-param-get uuid="$host" \
    param-name=management-rollback)" = "" ]' || true

# --- restarts ------------------------------------------------------------

stop_snmpd
start_snmpd
wait_until 20 eval '[ "$(ifindex eth1)" = "$i1" ] && ! if_names | grep -qw lo' ||
    true
is "$(ifindex eth1)" "$i1" "after snmpd restarts, the subagent serves again"
topo_netpoold_stop 1
TOPO_NETPOOLD_EXTRA_ARGS="--snmp-agentx-socket $agentx" topo_netpoold_start 1
ours() { [ -n "$(ifindex eth1)" ] && ! if_names | grep -qw lo; }
wait_until 20 ours || true
is "$(ifindex eth1)" "$i1" \
    "after netpoold restarts, it serves again with the same ifIndex"
