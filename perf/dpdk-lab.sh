# shellcheck shell=bash disable=SC2034,SC2154
# Shared by the OVS-DPDK benchmarks (bench-dpdk-vif.sh, bench-dpdk-ab.sh),
# sourced after scripts/topology.sh.
#
# The lab switch: a hand-made OVS-DPDK in namespace $LAB with its files in
# $odir.  netpool's switch: host 1 of the topology in dpdk mode with two
# VIFs whose vhost-user sockets an outside forwarder serves.

lab_vsctl() { ovs-vsctl --db="unix:$odir/db.sock" --timeout=30 "$@"; }
lab_env() { # CMD...: CMD with the lab OVS's folders
    env OVS_RUNDIR="$odir" OVS_DBDIR="$odir" OVS_LOGDIR="$odir" \
        OVS_SYSCONFDIR="$odir" "$@"
}
lab_ovs_down() { # stops the lab's ovs-vswitchd and ovsdb-server by PID
    local f pid
    for f in "$odir"/ovs-vswitchd.pid "$odir"/ovsdb-server.pid; do
        [ -s "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2> /dev/null || continue
        wait_for 10 eval "! kill -0 $pid 2> /dev/null" || true
        rm -f "$f"
    done
}

# NAME: brings up the switch and host 1 in dpdk mode (hugepages at most
# $SOCKET_LIMIT MiB), a network NAME with MTU 9000 and a VM NAME-perf with
# two VIFs (other-config:vhost-user=external), plugged.  Sets host, net,
# bridge, vm, vifs, macs, np_ports (the VIFs' OVS ports, sorted), sock
# (their vhost-user socket paths) and np_pid (the host's ovs-vswitchd).
# Returns 1 after saying why when OVS-DPDK or the ports do not come.
netpool_dpdk_vifs() {
    local name=$1 dev vif p
    topo_switch_up > /dev/null
    topo_host_up 1 > /dev/null
    host=$(np host-list --minimal)
    np host-param-set uuid="$host" other-config:dpdk-socket-mem=256 \
        other-config:dpdk-socket-limit="$SOCKET_LIMIT"
    np host-param-set uuid="$host" datapath=dpdk
    # shellcheck disable=SC2016
    wait_for 60 eval '[ "$(hvsctl get Open_vSwitch . dpdk_initialized)" = true ]' ||
        {
            say "OVS-DPDK did not initialize"
            return 1
        }
    net=$(np network-create name-label="$name" MTU=9000)
    bridge=$(np network-param-get uuid="$net" param-name=bridge)
    vm=$(np vm-create name-label="$name-perf")
    vifs=()
    macs=()
    for dev in 0 1; do
        vif=$(np vif-create vm-uuid="$vm" network-uuid="$net" device=$dev \
            other-config:vhost-user=external)
        np vif-plug uuid="$vif" > /dev/null
        vifs+=("$vif")
        macs+=("$(np vif-param-get uuid="$vif" param-name=MAC)")
    done
    wait_for 30 netpool_dpdk_ports || {
        say "no vhost-user ports for the VIFs"
        return 1
    }
    sock=()
    for p in "${np_ports[@]:0:2}"; do
        sock+=("$(hvsctl get Interface "$p" options:vhost-server-path |
            tr -d '"')")
    done
    np_pid=$(cat "$STATE/h1/ovs/ovs-vswitchd.pid")
}
netpool_dpdk_ports() { # true once host 1 has two vhost-user ports
    mapfile -t np_ports < <(hvsctl --bare --columns=name find Interface \
        type=dpdkvhostuserclient | sed '/^$/d' | sort)
    [ "${#np_ports[@]}" -ge 2 ]
}

# perf on a PMD thread: pmd_profile_record TID FILE SECONDS samples thread
# TID into FILE in the background (sets profile_pid); pmd_profile_libraries
# FILE prints its time by library, "LIBRARY SHARE, " each.
pmd_profile_record() {
    perf record -q -e cpu-clock -F 1999 -t "$1" -o "$2" -- sleep "$3" \
        > /dev/null 2>&1 &
    profile_pid=$!
}
pmd_profile_libraries() {
    perf report -i "$1" --no-children --sort dso --stdio 2> /dev/null |
        awk '/%/ && !/^#/ { printf "%s %s, ", $2, $1 }'
}
