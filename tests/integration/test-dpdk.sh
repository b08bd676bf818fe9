#!/usr/bin/env bash
#
# test-dpdk: the datapath of a host.  A host reports datapath netdev by
# default; host-param-set datapath=dpdk checks hugepages first (too few:
# HOST_HUGEPAGES_INSUFFICIENT with what is needed and what is free, and the
# host keeps netdev with OVS untouched), refuses bad DPDK CPU masks and
# socket memory naming the key, refuses the system datapath without the
# kernel module; with enough hugepages the host becomes dpdk, netpoold
# writes the DPDK keys of Open_vSwitch:other_config (dpdk-init, socket
# memory, PMD and lcore masks, dpdk-extra with --no-pci and a per-host
# --file-prefix, the PMD tuning keys), bridges stay on the netdev
# datapath and management keeps working; back to netdev removes the keys.
#
# The test borrows one hugepage when none is free and gives back
# /proc/sys/vm/nr_hugepages as it found it, even on failure.  When no
# hugepage can be had at all, the points that need one are skipped by name.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 18

# The test's exit gives nr_hugepages back after the topology is down.
dpdk_keep_hugepages

topo_switch_up
topo_host_up 1

vsctl() { on 1 ovs-vsctl --timeout=10 "$@"; }
ovs_config() {
    vsctl get Open_vSwitch . "other_config:$1" 2> /dev/null | tr -d '"'
}
dpdk_keys() {
    vsctl get Open_vSwitch . other_config 2> /dev/null |
        { grep -oE '(dpdk-[a-z-]+|pmd-[a-z-]+|emc-[a-z-]+|smc-enable|tx-flush-interval)=' ||
            true; } | tr -d '=' |
        sort | paste -sd ' '
}
has_bridge() { vsctl br-exists "$1"; }
free_hugepage_bytes() {
    awk '/^HugePages_Free:/ { n = $2 } /^Hugepagesize:/ { s = $2 }
         END { printf "%.0f\n", n * s * 1024 }' /proc/meminfo
}

host=$(np 1 host-list --minimal)
wait_until 20 has_bridge xenbr1 || true

is "$(np 1 host-param-get uuid="$host" param-name=datapath)" netdev \
    "a host's datapath is netdev by default"

# --- refusals ----------------------------------------------------------------

np 1 host-param-set uuid="$host" other-config:dpdk-socket-mem=1048576
is "$(np_error 1 host-param-set uuid="$host" datapath=dpdk)" \
    "HOST_HUGEPAGES_INSUFFICIENT 1099511627776, $(free_hugepage_bytes)" \
    "too few hugepages: HOST_HUGEPAGES_INSUFFICIENT with needed and free bytes"
is "$(np 1 host-param-get uuid="$host" param-name=datapath)" netdev \
    "and the host keeps its netdev datapath"
is "$(dpdk_keys)" "" "and OVS has no DPDK settings"
ok "on 1 ping -c 1 -W 5 198.18.0.1 > /dev/null" \
    "and management still reaches the gateway"

is "$(np_error 1 host-param-set uuid="$host" \
    other-config:dpdk-socket-mem=lots)" \
    "INVALID_VALUE other_config:dpdk-socket-mem, lots" \
    "socket memory that is no list of MiB is refused, naming the key"
is "$(np_error 1 host-param-set uuid="$host" other-config:pmd-cpu-mask=0xg)" \
    "INVALID_VALUE other_config:pmd-cpu-mask, 0xg" \
    "a PMD mask that is no hex number is refused, naming the key"

if [ -e /sys/module/openvswitch ]; then
    skip "system datapath refused without the kernel module" \
        "the openvswitch module is loaded here"
else
    is "$(np_error 1 host-param-set uuid="$host" datapath=system | cut -d, -f1)" \
        "HOST_DATAPATH_UNAVAILABLE system" \
        "the system datapath is refused without the kernel module"
fi

# --- dpdk mode -----------------------------------------------------------------

# One 2 MiB hugepage is all that dpdk-socket-mem=2 asks for; the plain
# ovs-vswitchd of this topology takes none of it.
np 1 host-param-set uuid="$host" other-config:dpdk-socket-mem=2
if [ "$(free_hugepage_bytes)" -lt 2097152 ]; then
    echo $((_dpdk_hugepages_saved + 1)) > "$_dpdk_hugepages" 2> /dev/null || true
fi
dpdk_points=(
    "a network MTU above its NIC's DPDK port limit refuses dpdk mode"
    "and the host keeps netdev, OVS without DPDK settings"
    "and management still reaches the gateway"
    "with enough hugepages the host becomes dpdk"
    "dpdk-init=true reaches Open_vSwitch"
    "dpdk-socket-mem, pmd-cpu-mask and dpdk-lcore-mask reach it"
    "dpdk-extra has --no-pci and a per-host --file-prefix"
    "bridges stay on the netdev datapath"
    "management still reaches the gateway"
    "back to netdev removes netpool's DPDK keys"
)
if [ "$(free_hugepage_bytes)" -lt 2097152 ]; then
    for point in "${dpdk_points[@]}"; do
        skip "$point" "no hugepage can be allocated on this machine"
    done
else
    # eth1 would become a net_af_packet port, which takes 1500 at most.
    net1=$(np 1 pif-param-get uuid="$(np 1 pif-list device=eth1 --minimal)" \
        param-name=network-uuid)
    np 1 network-param-set uuid="$net1" MTU=9000
    is "$(np_error 1 host-param-set uuid="$host" datapath=dpdk)" \
        "MTU_EXCEEDS_DEVICE_LIMIT datapath, 9000, 1500, eth1" \
        "${dpdk_points[0]}"
    is "$(np 1 host-param-get uuid="$host" param-name=datapath)/$(dpdk_keys)" \
        netdev/ "${dpdk_points[1]}"
    ok "on 1 ping -c 1 -W 5 198.18.0.1 > /dev/null" "${dpdk_points[2]}"
    np 1 network-param-set uuid="$net1" MTU=1500

    np 1 host-param-set uuid="$host" datapath=dpdk
    is "$(np 1 host-param-get uuid="$host" param-name=datapath)" dpdk \
        "${dpdk_points[3]}"
    wait_until 10 eval '[ "$(ovs_config dpdk-init)" = true ]' || true
    is "$(ovs_config dpdk-init)" true "${dpdk_points[4]}"
    is "$(ovs_config dpdk-socket-mem) $(ovs_config pmd-cpu-mask) \
$(ovs_config dpdk-lcore-mask)" "2 0x2 0x1" "${dpdk_points[5]}"
    is "$(ovs_config dpdk-extra)" \
        "--no-pci --huge-dir=$(awk '$3 == "hugetlbfs" { print $2; exit }' \
            /proc/mounts | grep . || echo /dev/hugepages) \
--file-prefix=netpool-${host:0:8}" "${dpdk_points[6]}"
    is "$(vsctl get Bridge xenbr1 datapath_type)" netdev "${dpdk_points[7]}"
    ok "on 1 ping -c 1 -W 5 198.18.0.1 > /dev/null" "${dpdk_points[8]}"
    np 1 host-param-set uuid="$host" datapath=netdev
    wait_until 10 eval '[ -z "$(dpdk_keys)" ]' || true
    is "$(dpdk_keys)" "" "${dpdk_points[9]}"
fi
