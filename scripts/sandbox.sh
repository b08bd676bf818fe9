#!/usr/bin/env bash
#
# sandbox.sh — a private netpool playground on this machine.
#
#   scripts/sandbox.sh up [HOSTS]   switch + HOSTS hosts (default 1), each
#                                   host with its own OVS and netpoold
#   scripts/sandbox.sh down         stop everything, delete namespaces/state
#   scripts/sandbox.sh status       show what is up
#   scripts/sandbox.sh leases       "MAC ADDRESS" of each guest that took
#                                   an address from the switch's DHCP
#
# The switch serves DHCP on the management network (198.18.0.150-250,
# scripts/topology.sh topo_dhcp_up), and each host gets a template
# "tiny-linux": the test guest (tests/guest/build.sh, cached in
# build/guest or NETPOOL_GUEST_DIR) with 128 MiB, one vCPU and a VIF on
# the management network, which takes its address by DHCP.  So a VM is two
# commands away:
#
#   sandbox/run h1 netpool vm-install template=tiny-linux new-name-label=web
#   sandbox/run h1 netpool vm-start uuid=<web>
#
# Namespaces are np-switch and np-h1..np-hN; state is in sandbox/state of
# this checkout; binaries come from build/bin (`make sandbox` builds them).
# Use sandbox/run HOST CMD... to run a command inside a host.  See
# scripts/topology.sh for the layout.
#
# POOL=1 (`make sandbox HOSTS=3 POOL=1`) makes one pool of the hosts: h2..hN
# join h1's pool with pool-join (h1 master), and the one template
# tiny-linux, made on h1 before, belongs to the pool.  The pool also gets
# shared storage: the storage server's namespace np-storage on the switch's
# VLAN 20 at MTU 9000 (nfs-ganesha, scripts/storage.sh, address
# 198.18.20.1), a network "storage" at MTU 9000 on VLAN 20 of every host's
# eth1 (eth1's network at MTU 9000, the switch's ports at 9216), host N's
# address 198.18.20.(10+N) on it, and a shared NFS SR "shared-nfs" on the
# folder sandbox/state/storage/export.
#
# DATAPATH=dpdk (`make sandbox DATAPATH=dpdk`) puts the hosts on OVS-DPDK:
# each host runs the DPDK build of ovs-vswitchd, and once it is up the
# sandbox sets its datapath through the CLI (host-param-set
# other-config:dpdk-socket-mem=256, then datapath=dpdk), which makes every
# NIC a DPDK port.  Free 2 MiB hugepages are checked first,
# SANDBOX_DPDK_PAGES (default 600) per host; with too few the sandbox says
# how many it needs and exits 1 before it makes anything.
#
# For tests: SANDBOX_PREFIX, SANDBOX_STATE and SANDBOX_BIN replace the
# namespace prefix, the state folder and the binaries' folder.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$top/scripts/topology.sh"
# shellcheck source=scripts/storage.sh
source "$top/scripts/storage.sh"

PREFIX=${SANDBOX_PREFIX:-np-}
STATE=${SANDBOX_STATE:-$top/sandbox/state}
NETPOOL_BIN=${SANDBOX_BIN:-$top/build/bin}
DATAPATH=${DATAPATH:-netdev}
POOL=${POOL:-0}
SANDBOX_DPDK_PAGES=${SANDBOX_DPDK_PAGES:-600}
SANDBOX_DPDK_SOCKET_MEM=256 # MiB; OVS-DPDK takes about 1 GB in all.
GUEST_DIR=${NETPOOL_GUEST_DIR:-$top/build/guest}
TEMPLATE=tiny-linux

usage() {
    echo "usage: $0 up [HOSTS] | down | status | leases" >&2
    exit 2
}

# True if any part of a sandbox exists (namespaces or state folder).
sandbox_exists() {
    [ -e "$STATE" ] || [ -n "$(_topo_namespaces)" ]
}

print_host() {
    local n=$1 ns ip pw_file pw
    ns=$(topo_ns "$n")
    ip=$(topo_mgmt_ip "$n")
    pw_file=$STATE/h$n/netpoold/root-password
    pw=$(cat "$pw_file" 2>/dev/null || echo "(missing: $pw_file)")
    cat <<EOF
h$n: namespace $ns, management address $ip (eth0), NICs eth0..eth3
    root password: $pw
    sandbox/run h$n netpool host-list
    sandbox/run h$n netpool pif-list
    sandbox/run h$n ovs-vsctl show
    # remote, over HTTPS from the switch namespace (or any other host):
    sandbox/run switch netpool -s $ip -u root -pw '$pw' --cafile $STATE/h$n/netpoold/host-cert.pem host-list
EOF
}

cmd_up() {
    local hosts=${1:-1} n
    if ! [[ $hosts =~ ^[1-9][0-9]?$ ]]; then
        echo "sandbox: HOSTS must be a number from 1 to 99 (got '$hosts')" >&2
        exit 2
    fi
    if sandbox_exists; then
        echo "sandbox: already up (or left over): run '$0 down' first" >&2
        cmd_status >&2
        exit 1
    fi
    if [ ! -x "$NETPOOL_BIN/netpoold" ] || [ ! -x "$NETPOOL_BIN/netpool" ]; then
        echo "sandbox: $NETPOOL_BIN/netpoold or netpool missing: run 'make'" >&2
        exit 1
    fi
    case "$POOL" in
        0 | 1) ;;
        *)
            echo "sandbox: POOL must be 0 or 1 (got '$POOL')" >&2
            exit 2
            ;;
    esac
    case "$DATAPATH" in
        netdev) ;;
        dpdk) check_dpdk "$hosts" ;;
        *)
            echo "sandbox: DATAPATH must be netdev or dpdk (got '$DATAPATH')" >&2
            exit 2
            ;;
    esac

    # On any failure: show the daemon logs, then undo what was made.
    mkdir -p "$STATE"
    if ! up_all "$hosts"; then
        on_up_failure
    fi

    echo "sandbox up: switch namespace ${PREFIX}switch (sw0, gateway 198.18.0.1/24), $hosts host(s), datapath $DATAPATH"
    if [ "$POOL" = 1 ]; then
        echo "one pool of $hosts host(s), h1 master (sandbox/run h1 netpool pool-status)"
        echo "shared NFS SR shared-nfs on $STORAGE_ADDR (VLAN 20, MTU 9000):" \
            "sandbox/run h1 netpool pbd-list params=host-uuid,connected,PIF"
    fi
    echo "state in $STATE"
    echo
    for ((n = 1; n <= hosts; n++)); do
        print_host "$n"
        echo
    done
    echo "a VM from the template $TEMPLATE (its address: $0 leases):"
    echo "    sandbox/run h1 netpool vm-install template=$TEMPLATE new-name-label=web"
    echo "    sandbox/run h1 netpool vm-start uuid=<web>"
    echo "    sandbox/run switch ping <its address>"
    echo
    echo "sandbox/run switch ovs-vsctl show     # the switch's OVS"
    echo "sandbox/run h1                        # a shell inside h1"
    echo "make sandbox-stop                     # tear it all down"
}

up_all() {
    local n
    if [ "$DATAPATH" = dpdk ]; then
        export TOPO_DATAPATH=dpdk
    fi
    if [ "$POOL" = 1 ]; then
        export TOPO_SWITCH_MTU=9216 # The storage VLAN's jumbo frames.
    fi
    topo_switch_up || return 1
    topo_dhcp_up || return 1
    for ((n = 1; n <= $1; n++)); do
        topo_host_up "$n" || return 1
        if [ "$DATAPATH" = dpdk ]; then
            host_dpdk "$n" || return 1
        fi
    done
    if [ "$POOL" = 1 ]; then
        templates 1 && form_pool "$1" && shared_storage "$1"
    else
        templates "$1"
    fi
}

# Makes hosts h2..h$1 join h1's pool, one after the other, and waits until
# h1 sees a quorate, synced pool of $1.
form_pool() {
    local hosts=$1 n pw status
    pw=$(cat "$STATE/h1/netpoold/root-password") || return 1
    for ((n = 2; n <= hosts; n++)); do
        echo "sandbox: h$n joins h1's pool"
        (
            eval "$(topo_host_env "$n")"
            ip netns exec "$(topo_ns "$n")" netpool pool-join \
                master-address="$(topo_mgmt_ip 1)" master-username=root \
                master-password="$pw"
        ) || {
            echo "sandbox: h$n could not join h1's pool" >&2
            return 1
        }
    done
    for _ in $(seq 300); do
        status=$(
            eval "$(topo_host_env 1)"
            ip netns exec "$(topo_ns 1)" netpool pool-status --json
        ) || true
        if echo "$status" | python3 -c 'import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["quorate"] and s["synced"] and s["master"]
         and s["members"] == int(sys.argv[1]) else 1)' "$hosts" 2> /dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "sandbox: the pool of $hosts did not form" >&2
    return 1
}

# The pool's shared storage: the storage server on VLAN 20, the storage
# network on every host's eth1, an address per host, one shared NFS SR.
shared_storage() (
    local hosts=$1 n eth1 net vpif host
    eval "$(topo_host_env 1)"
    run() { ip netns exec "$(topo_ns 1)" netpool "$@"; }
    echo "sandbox: the storage server (nfs-ganesha on VLAN 20, $STORAGE_ADDR)"
    storage_up || exit 1
    host=$(run host-list name-label=h1 --minimal) &&
        eth1=$(run pif-list host-uuid="$host" device=eth1 --minimal) &&
        run network-param-set MTU=9000 \
            uuid="$(run pif-param-get uuid="$eth1" param-name=network)" &&
        net=$(run network-create name-label=storage MTU=9000) &&
        vpifs=$(run pool-vlan-create pif-uuid="$eth1" vlan=20 \
            network-uuid="$net") || exit 1
    for vpif in ${vpifs//,/ }; do
        host=$(run pif-param-get uuid="$vpif" param-name=host) &&
            n=$(run host-param-get uuid="$host" param-name=name-label) &&
            run pif-reconfigure-ip uuid="$vpif" mode=static \
                IP="198.18.20.$((10 + ${n#h}))" netmask=255.255.255.0 ||
            exit 1
    done
    bridge=$(run network-param-get uuid="$net" param-name=bridge)
    for ((n = 1; n <= hosts; n++)); do
        for _ in $(seq 100); do
            ip netns exec "$(topo_ns "$n")" ping -c 1 -W 1 -M do -s 8972 \
                -I "$bridge" "$STORAGE_ADDR" > /dev/null 2>&1 && break
            sleep 0.2
        done
    done
    run sr-create name-label=shared-nfs type=nfs shared=true \
        device-config:server="$STORAGE_ADDR" \
        device-config:serverpath="$(storage_export_dir)" || {
        echo "sandbox: cannot make the shared NFS SR" >&2
        exit 1
    }
)

# Builds (or finds cached) the test guest and makes the template
# "tiny-linux" on each of the $1 hosts.  Without a guest (no kernel package
# to be had), the sandbox comes up without templates and says why.
templates() {
    local guest n
    echo "sandbox: the test guest (tests/guest/build.sh, cached in $GUEST_DIR)"
    if ! guest=$("$top/tests/guest/build.sh" "$GUEST_DIR"); then
        echo "sandbox: no test guest, so no template $TEMPLATE" >&2
        return 0
    fi
    for ((n = 1; n <= $1; n++)); do
        host_template "$n" "$guest" || return 1
    done
}

# Makes the template on host $1 from the guest in folder $2.
host_template() (
    local n=$1 guest=$2 host pif net vm
    eval "$(topo_host_env "$n")"
    run() { ip netns exec "$(topo_ns "$n")" netpool "$@"; }
    host=$(run host-list --minimal) &&
        pif=$(run pif-list host-uuid="$host" management=true --minimal) &&
        net=$(run pif-param-get uuid="$pif" param-name=network) &&
        vm=$(run vm-create name-label="$TEMPLATE" \
            name-description="the test guest: busybox, DHCP on eth0" \
            VCPUs-max=1 memory-static-max=$((128 * 1024 * 1024)) \
            PV-kernel="$guest/vmlinuz" PV-ramdisk="$guest/initrd.img" \
            PV-args="quiet np.dhcp") &&
        run vif-create vm-uuid="$vm" network-uuid="$net" device=0 \
            > /dev/null &&
        run vm-param-set uuid="$vm" is-a-template=true || {
        echo "sandbox: h$n: cannot make the template $TEMPLATE" >&2
        exit 1
    }
)

# Free 2 MiB hugepages, and what DATAPATH=dpdk needs for $1 hosts: exits 1
# saying so if they are too few, or if there is no DPDK build of OVS.
check_dpdk() {
    local hosts=$1 free needed
    if [ ! -x "$TOPO_OVS_DPDK" ]; then
        echo "sandbox: DATAPATH=dpdk needs the DPDK build of Open vSwitch" \
            "($TOPO_OVS_DPDK, Debian package openvswitch-switch-dpdk)" >&2
        exit 1
    fi
    free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
    needed=$((SANDBOX_DPDK_PAGES * hosts))
    if [ "${free:-0}" -lt "$needed" ]; then
        echo "sandbox: DATAPATH=dpdk needs $needed free 2 MiB hugepages" \
            "($SANDBOX_DPDK_PAGES per host, $hosts host(s)); this machine" \
            "has ${free:-0} free.  Reserve more, for example:" \
            "echo $(($(cat /proc/sys/vm/nr_hugepages) + needed - ${free:-0}))" \
            "> /proc/sys/vm/nr_hugepages" >&2
        exit 1
    fi
}

# Puts host $1 on the DPDK datapath through its CLI and waits until OVS
# has initialized DPDK and its management NIC is a DPDK port that is up.
host_dpdk() {
    local n=$1 uuid i
    (
        eval "$(topo_host_env "$n")"
        run() { ip netns exec "$(topo_ns "$n")" "$@"; }
        uuid=$(run netpool host-list --minimal) &&
            run netpool host-param-set uuid="$uuid" \
                other-config:dpdk-socket-mem="$SANDBOX_DPDK_SOCKET_MEM" &&
            run netpool host-param-set uuid="$uuid" datapath=dpdk || exit 1
        for ((i = 0; i < 300; i++)); do
            if [ "$(run ovs-vsctl --timeout=5 get Open_vSwitch . \
                dpdk_initialized 2> /dev/null)" = true ] &&
                [ "$(run ovs-vsctl --timeout=5 get Interface eth0 type \
                    2> /dev/null)" = dpdk ] &&
                [ "$(run ovs-vsctl --timeout=5 get Interface eth0 \
                    link_state 2> /dev/null)" = up ]; then
                exit 0
            fi
            sleep 0.2
        done
        echo "sandbox: h$n: OVS did not bring up DPDK within 60 s" >&2
        exit 1
    )
}

on_up_failure() {
    local f
    echo "sandbox: bring-up failed; last lines of the logs:" >&2
    for f in "$STATE"/*/netpoold.log "$STATE"/*/ovs/ovs-vswitchd.log; do
        [ -f "$f" ] || continue
        echo "--- $f" >&2
        tail -n 20 "$f" >&2
    done
    echo "sandbox: tearing down" >&2
    topo_down || true
    exit 1
}

cmd_down() {
    if ! sandbox_exists; then
        echo "sandbox: nothing to stop"
        return 0
    fi
    topo_down
    echo "sandbox: down"
}

cmd_status() {
    local ns
    if ! sandbox_exists; then
        echo "sandbox: down"
        return 0
    fi
    echo "state: $STATE"
    for ns in $(_topo_namespaces); do
        echo "namespace $ns: $(ip netns pids "$ns" | wc -l) process(es)"
    done
}

case "${1:-}" in
    leases) topo_dhcp_leases ;;
    up) shift; [ $# -le 1 ] || usage; cmd_up "$@" ;;
    down) [ $# -eq 1 ] || usage; cmd_down ;;
    status) cmd_status ;;
    *) usage ;;
esac
