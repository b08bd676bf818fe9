#!/usr/bin/env bash
#
# test-dpdk-sandbox: `make sandbox DATAPATH=dpdk`, that is
# DATAPATH=dpdk scripts/sandbox.sh up, with this test's namespace prefix,
# state folder and binaries (SANDBOX_PREFIX, SANDBOX_STATE, SANDBOX_BIN).
# Asked for more free hugepages than the machine has (SANDBOX_DPDK_PAGES),
# it says how many it needs, exits 1 and leaves nothing behind.  With
# enough, the sandbox comes up with its host on the dpdk datapath, set
# through the CLI: OVS has initialized DPDK, eth0 is a DPDK port and
# management reaches the gateway through it; sandbox down leaves nothing
# behind.
#
# When the DPDK build of OVS is missing or 600 hugepages cannot be had, the
# points are skipped by name.  /proc/sys/vm/nr_hugepages is given back as
# it was found.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 7

points=(
    "too few hugepages: sandbox up says what it needs and exits 1"
    "and leaves nothing behind"
    "DATAPATH=dpdk: the sandbox comes up"
    "its host reports datapath dpdk"
    "OVS initialized DPDK and eth0 is a DPDK port"
    "management reaches the gateway through it"
    "sandbox down leaves nothing behind"
)
SANDBOX=(env SANDBOX_PREFIX="$PREFIX" SANDBOX_STATE="$STATE/sandbox"
    SANDBOX_BIN="$NETPOOL_BIN" DATAPATH=dpdk "$TEST_TOP/scripts/sandbox.sh")
# The sandbox goes down before the test's exit gives the hugepages back.
trap '_dpdk_rc=$?; "${SANDBOX[@]}" down > /dev/null 2>&1 || true;
      (exit $_dpdk_rc); _test_on_exit' EXIT
dpdk_require 600 "${points[@]}"

leftovers() {
    ip netns list | awk '{print $1}' | grep "^$PREFIX" || true
    [ ! -e "$STATE/sandbox" ] || echo "$STATE/sandbox"
}

out=$(SANDBOX_DPDK_PAGES=100000000 "${SANDBOX[@]}" up 1 2>&1) && rc=0 ||
    rc=$?
diag "$out"
ok '[ "$rc" = 1 ] && [[ $out == *"needs 100000000 free 2 MiB hugepages"* ]]' \
    "${points[0]}"
is "$(leftovers)" "" "${points[1]}"

out=$(SANDBOX_DPDK_PAGES=600 "${SANDBOX[@]}" up 1 2>&1) &&
    rc=0 || rc=$?
is "$rc/$(echo "$out" | grep '^sandbox up:')" \
    "0/sandbox up: switch namespace ${PREFIX}switch (sw0, gateway 198.18.0.1/24), 1 host(s), datapath dpdk" \
    "${points[2]}"
[ "$rc" = 0 ] || diag "$out"
sbx() {
    (
        eval "$(STATE=$STATE/sandbox topo_host_env 1)"
        ip netns exec "$(topo_ns 1)" "$@"
    )
}
host=$(sbx netpool host-list --minimal)
is "$(sbx netpool host-param-get uuid="$host" param-name=datapath)" dpdk \
    "${points[3]}"
is "$(sbx ovs-vsctl get Open_vSwitch . dpdk_initialized)/$(sbx ovs-vsctl \
    get Interface eth0 type)/$(sbx ovs-vsctl get Interface eth0 \
    options:dpdk-devargs | tr -d '"')" \
    "true/dpdk/net_af_packet_eth0,iface=eth0" "${points[4]}"
ok 'wait_until 20 sbx ping -c 1 -W 2 198.18.0.1 > /dev/null' "${points[5]}"

"${SANDBOX[@]}" down > /dev/null
is "$(leftovers)" "" "${points[6]}"
