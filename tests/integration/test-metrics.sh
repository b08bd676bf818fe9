#!/usr/bin/env bash
#
# test-metrics: netpoold's Prometheus exporter.  promtool accepts /metrics;
# a real Prometheus server on loopback scrapes netpoold, and a PromQL query
# sees exactly the frames injected into a PIF and counts the messages a
# carrier change raises; /metrics over TLS works with
# the host certificate; secrets never appear.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 12

topo_switch_up
# No IPv6 chatter in the test's namespaces, so injected frames are the only
# traffic on eth2 (the machine's own settings are not touched).
for ns in "${PREFIX}switch"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
done
topo_host_up 1
on 1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 || true

metrics() { on 1 curl -sS --max-time 10 http://127.0.0.1:9440/metrics; }
wait_until 20 eval 'metrics | grep -q "netpool_interface_up{.*device=\"eth2\""' \
    || true

page=$(metrics)
ok '[ -n "$page" ]' "netpoold serves /metrics"
ok 'promtool check metrics <<< "$page"' "promtool check metrics accepts it"
ok '[[ $page != *password* && $page != *session* ]]' \
    "no secret appears in /metrics"

# A Prometheus server in h1, scraping every second.
prometheus_up 1
q='netpool_interface_receive_packets_total{device="eth2"}'
wait_until 60 eval '[ -n "$(promql "$q")" ]' || true
before=$(promql "$q")
[ -n "$before" ] || diag "$(prometheus_log)"
ok '[ -n "$before" ]' "Prometheus scrapes netpoold ($q = $before)"

# 500 frames into h1's eth2 from the switch side of its wire.
ip netns exec "${PREFIX}switch" python3 - <<'PY'
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("h1-eth2", 0))
frame = bytes.fromhex("02aabbccddee" "02aabbccdd01" "88b5") + bytes(46)
for _ in range(500):
    s.send(frame)
PY
want=$((before + 500))
wait_until 30 eval '[ "$(promql "$q")" = "$want" ]' || true
is "$(promql "$q")" "$want" \
    "a PromQL query sees exactly the 500 frames eth2 received"
ok '[ -n "$(promql "netpool_interface_up{device=\"eth0\"} == 1")" ]' \
    "netpool_interface_up reports eth0 up"
ok '[ -n "$(promql "netpool_build_info")" ]' "netpool_build_info is there"

# eth1 loses carrier: PIF_CARRIER_DOWN is raised about its PIF and counted.
raised() { # NAME: netpool_messages_raised_total of NAME, 0 when absent
    local v
    v=$(promql "sum(netpool_messages_raised_total{name=\"$1\"})")
    echo "${v:-0}"
}
down0=$(raised PIF_CARRIER_DOWN)
up0=$(raised PIF_CARRIER_UP)
ip -n "${PREFIX}switch" link set h1-eth1 down
wait_until 30 eval '[ "$(raised PIF_CARRIER_DOWN)" = $((down0 + 1)) ]' || true
is "$(raised PIF_CARRIER_DOWN)" "$((down0 + 1))" \
    "carrier lost on eth1: netpool_messages_raised_total counts PIF_CARRIER_DOWN"
eth1_pif=$(np 1 pif-list device=eth1 --minimal)
msg=$(np 1 message-list name=PIF_CARRIER_DOWN --minimal | tr ',' '\n' |
    tail -1)
is "$(np 1 message-param-get uuid="$msg" param-name=obj-uuid)" "$eth1_pif" \
    "the PIF_CARRIER_DOWN message is about eth1's PIF"
ip -n "${PREFIX}switch" link set h1-eth1 up
wait_until 30 eval '[ "$(raised PIF_CARRIER_UP)" = $((up0 + 1)) ]' || true
is "$(raised PIF_CARRIER_UP)" "$((up0 + 1))" \
    "carrier back: PIF_CARRIER_UP counted"
prometheus_down

# /metrics over TLS with the host certificate.
topo_netpoold_stop 1 TERM
TOPO_NETPOOLD_EXTRA_ARGS="--metrics-tls" topo_netpoold_start 1
cert=$STATE/h1/netpoold/host-cert.pem
ip1=$(topo_mgmt_ip 1)
tls_page=$(on switch curl -sS --max-time 10 --cacert "$cert" \
    "https://$ip1:9440/metrics" 2>&1 || true)
[[ $tls_page == *netpool_build_info* ]] || diag "$tls_page"
ok '[[ $tls_page == *netpool_build_info* ]]' "/metrics over TLS"
plain=$(on switch curl -sS --max-time 10 "http://$ip1:9440/metrics" 2>&1 \
    || true)
ok '[[ $plain != *netpool_build_info* ]]' "plain HTTP is refused when TLS is on"
