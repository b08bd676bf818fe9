#!/usr/bin/env bash
#
# test-flows: sFlow, IPFIX and NetFlow export configured through the API
# (other_config keys of a network and of the host) and applied through
# OVSDB.  Bad settings get typed errors naming the key and change neither
# the store nor OVS; a collector on the host's loopback receives sFlow v5,
# IPFIX and NetFlow v5 datagrams for frames that cross a PIF; removing the
# settings removes the rows, and a row netpool does not own is left alone.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 15

topo_switch_up
topo_host_up 1
for ns in "${PREFIX}switch" "${PREFIX}h1"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
done

vsctl() { on 1 ovs-vsctl --timeout=10 "$@"; }
np_fail() { np_error 1 "$@"; }
flow_rows() {
    for t in sFlow IPFIX NetFlow; do
        vsctl --columns=targets,sampling,external_ids list "$t" 2> /dev/null
    done
    for br in $(vsctl list-br); do
        echo "$br $(vsctl get Bridge "$br" sflow ipfix netflow | paste -sd ' ')"
    done
}

wait_until 20 eval '[ "$(vsctl list-br | wc -l)" = 4 ]' || true
host=$(np 1 host-list --minimal)
p2=$(np 1 pif-list device=eth2 --minimal)
net2=$(np 1 pif-param-get uuid="$p2" param-name=network-uuid)
bridge2=$(np 1 network-param-get uuid="$net2" param-name=bridge)

# --- bad settings ----------------------------------------------------------

np 1 host-wait-applied timeout=60 > /dev/null
before=$(flow_rows)
is "$(np_fail network-param-set uuid="$net2" \
    other-config:flow-sflow-targets=collector:6343)" \
    "INVALID_VALUE other_config:flow-sflow-targets, collector:6343" \
    "a target that is no IP:PORT is refused, naming the key"
is "$(np_fail host-param-set uuid="$host" \
    other-config:flow-ipfix-sampling=0)" \
    "INVALID_VALUE other_config:flow-ipfix-sampling, 0" \
    "a sampling rate of 0 is refused"
is "$(np_fail network-param-set uuid="$net2" \
    other-config:flow-sflow-pollin=10)" \
    "INVALID_VALUE other_config:flow-sflow-pollin, 10" \
    "a misspelt flow key is refused"
is "$(np_fail network-create name-label=x \
    other-config:flow-netflow-targets=127.0.0.1:99999)" \
    "INVALID_VALUE other_config:flow-netflow-targets, 127.0.0.1:99999" \
    "network-create checks the settings too"
ok '! np 1 network-param-get uuid="$net2" param-name=other-config \
    param-key=flow-sflow-targets > /dev/null 2>&1 &&
    [ -z "$(np 1 network-list name-label=x --minimal)" ]' \
    "nothing was stored"
np 1 host-wait-applied timeout=60 > /dev/null
is "$(flow_rows)" "$before" "OVS is unchanged"

# --- collectors on h1's loopback -------------------------------------------

cdir=$STATE/collector
mkdir -p "$cdir"
on 1 python3 - "$cdir/seen" > "$cdir/log" 2>&1 << 'PY' &
import select, socket, sys, time
# sFlow v5: version 5 in the first 4 bytes; IPFIX: version 10 in the
# first 2; NetFlow v5: version 5 in the first 2.
ports = {6343: "sflow", 4739: "ipfix", 2055: "netflow"}
socks = {}
for port, name in ports.items():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    socks[s] = name
deadline = time.time() + 170
with open(sys.argv[1], "a", buffering=1) as out:
    while time.time() < deadline:
        ready, _, _ = select.select(list(socks), [], [], 1)
        for s in ready:
            data = s.recv(65535)
            name = socks[s]
            if name == "sflow":
                version = int.from_bytes(data[0:4], "big")
            else:
                version = int.from_bytes(data[0:2], "big")
            out.write("%s %d\n" % (name, version))
PY
collector=$!
stop_collector() {
    kill "$collector" 2> /dev/null || true
    wait "$collector" 2> /dev/null || true
}
trap 'stop_collector; _test_on_exit' EXIT

# --- settings that apply -----------------------------------------------------

np 1 network-param-set uuid="$net2" \
    other-config:flow-sflow-targets=127.0.0.1:6343 \
    other-config:flow-sflow-sampling=1 other-config:flow-sflow-polling=1 \
    other-config:flow-netflow-targets=127.0.0.1:2055 \
    other-config:flow-netflow-active-timeout=1
np 1 host-param-set uuid="$host" \
    other-config:flow-ipfix-targets=127.0.0.1:4739 \
    other-config:flow-ipfix-sampling=1 \
    other-config:flow-ipfix-active-timeout=1
wait_until 20 eval '[ "$(vsctl get Bridge "$bridge2" sflow)" != "[]" ]' ||
    true
is "$(vsctl get sFlow "$(vsctl get Bridge "$bridge2" sflow)" targets \
    sampling polling | paste -sd ' ')" '["127.0.0.1:6343"] 1 1' \
    "the network's sFlow settings reach its bridge"
wait_until 20 eval '[ "$(vsctl get Bridge xenbr0 ipfix)" != "[]" ]' || true
n_ipfix=0
for br in $(vsctl list-br); do
    [ "$(vsctl get Bridge "$br" ipfix)" = "[]" ] ||
        n_ipfix=$((n_ipfix + 1))
done
is "$n_ipfix" 4 "the host's IPFIX settings reach every bridge"
is "$(vsctl get Bridge xenbr0 sflow)" "[]" \
    "other bridges get no sFlow of that network"

# Frames through eth2: IPv4/UDP broadcasts from the switch side.
inject() {
    ip netns exec "${PREFIX}switch" python3 - << 'PY'
import socket, struct, time
def csum(b):
    s = sum(struct.unpack("!10H", b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("h1-eth2", 0))
for i in range(200):
    payload = bytes(32)
    udp = struct.pack("!HHHH", 40000 + i % 4, 9, 8 + len(payload), 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(payload),
                     i, 0, 64, 17, 0, bytes([198, 18, 20, 2]),
                     bytes([198, 18, 20, 255]))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.send(bytes.fromhex("ffffffffffff" "02aabbccdd02" "0800") + ip + udp
           + payload)
    time.sleep(0.005)
PY
}
seen() { grep -qx "$1" "$cdir/seen" 2> /dev/null; }
got_all() { seen "sflow 5" && seen "ipfix 10" && seen "netflow 5"; }
for _ in 1 2 3 4 5 6; do
    inject
    wait_until 10 got_all && break
done
ok 'seen "sflow 5"' "the collector receives sFlow v5 datagrams"
ok 'seen "ipfix 10"' "the collector receives IPFIX datagrams"
ok 'seen "netflow 5"' "the collector receives NetFlow v5 datagrams"

# --- ownership and removal ---------------------------------------------------

vsctl -- --id=@s create sFlow targets='"127.0.0.1:6399"' \
    -- set Bridge xenbr1 sflow=@s > /dev/null
np 1 network-param-remove uuid="$net2" param-name=other-config \
    param-key=flow-sflow-targets
np 1 network-param-remove uuid="$net2" param-name=other-config \
    param-key=flow-netflow-targets
wait_until 20 eval '[ "$(vsctl get Bridge "$bridge2" sflow)" = "[]" ]' ||
    true
is "$(vsctl get Bridge "$bridge2" sflow)/$(vsctl get Bridge "$bridge2" \
    netflow)" "[]/[]" "removing the targets removes the bridge's rows"
is "$(vsctl get sFlow "$(vsctl get Bridge xenbr1 sflow)" targets)" \
    '["127.0.0.1:6399"]' "an sFlow row netpool does not own stays"
np 1 host-param-remove uuid="$host" param-name=other-config \
    param-key=flow-ipfix-targets
wait_until 20 eval '[ -z "$(vsctl --columns=_uuid list IPFIX)" ]' || true
is "$(vsctl --columns=_uuid list IPFIX | wc -l)" 0 \
    "removing the host's IPFIX targets removes every IPFIX row"
