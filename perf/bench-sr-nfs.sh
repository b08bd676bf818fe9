#!/usr/bin/env bash
#
# bench-sr-nfs.sh [MIB]
#
# A shared NFS SR over a storage VLAN: sequential write and read of MIB
# MiB (default 64) of a VDI's image through QEMU's NFS client (qemu-io,
# the block layer a guest's disk goes through, from the host's namespace),
# with the storage network at MTU 9000 and then 1500 in the same run, and
# the time of vdi-create, vdi-clone (a qcow2 overlay) and vdi-copy (a full
# copy) of that VDI through the API.  The baseline is the same qemu-io
# write and read of a file on the host's own disk.  Prints each figure and
# the ratio against the baseline.
#
# Topology (scripts/topology.sh, scripts/storage.sh): the switch (ports at
# MTU 9216), the storage server on VLAN 20 at MTU 9000 (nfs-ganesha), host
# h1 (netpoold, release build) with VLAN 20 on eth1.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TOP/scripts/topology.sh"
# shellcheck source=scripts/storage.sh
source "$TOP/scripts/storage.sh"

MIB=${1:-64}
PREFIX=npbn$$-
STATE=$(mktemp -d /tmp/netpool-bench-nfs.XXXXXX)
NETPOOL_BIN=${NETPOOL_BIN:-$TOP/build/bin}
TOPO_SWITCH_MTU=9216
export PREFIX STATE NETPOOL_BIN TOPO_SWITCH_MTU

cleanup() { topo_down > /dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

np() { topo_on 1 netpool "$@"; }
now() { date +%s.%N; }
# Seconds of "$@", printed.
timed() {
    local t0 t1
    t0=$(now)
    "$@" > /dev/null
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}
mbps() { echo "scale=1; $MIB / $1" | bc -l; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }

topo_switch_up > /dev/null
topo_host_up 1 > /dev/null
storage_up > /dev/null
host=$(np host-list --minimal)
eth1=$(np pif-list host-uuid="$host" device=eth1 --minimal)
eth1_net=$(np pif-param-get uuid="$eth1" param-name=network)
np network-param-set uuid="$eth1_net" MTU=9000
net=$(np network-create name-label=storage MTU=9000)
vpif=$(np vlan-create pif-uuid="$eth1" vlan=20 network-uuid="$net")
np pif-reconfigure-ip uuid="$vpif" mode=static IP=198.18.20.11 \
    netmask=255.255.255.0
bridge=$(np network-param-get uuid="$net" param-name=bridge)
for _ in $(seq 100); do
    topo_on 1 ping -c 1 -W 1 -M do -s 8972 -I "$bridge" "$STORAGE_ADDR" \
        > /dev/null 2>&1 && break
    sleep 0.2
done
sr=$(np sr-create name-label=bench type=nfs shared=true \
    device-config:server="$STORAGE_ADDR" \
    device-config:serverpath="$(storage_export_dir)")

# Write then read MIB MiB sequentially, 1 MiB at a time, at image $1.
io() { # IMAGE
    local w r
    w=$(timed topo_on 1 qemu-io -f raw -c "write -P 0x5a 0 ${MIB}M" "$1")
    r=$(timed topo_on 1 qemu-io -f raw -c "read -P 0x5a 0 ${MIB}M" "$1")
    echo "$w $r"
}

local_img=$STATE/local.raw
truncate -s "${MIB}M" "$local_img"
read -r base_w base_r <<< "$(io "$local_img")"
printf 'baseline (host disk)     write %6.1f MiB/s  read %6.1f MiB/s\n' \
    "$(mbps "$base_w")" "$(mbps "$base_r")"

vdi=$(np vdi-create sr-uuid="$sr" name-label=bench format=raw \
    virtual-size=$((MIB * 1048576)))
url=$(np vdi-param-get uuid="$vdi" param-name=location)
for mtu in 9000 1500; do
    np network-param-set uuid="$net" MTU=$mtu
    sleep 2 # the bridge's MTU follows the store
    read -r w r <<< "$(io "$url")"
    printf 'NFS SR, MTU %-4s         write %6.1f MiB/s  read %6.1f MiB/s' \
        "$mtu" "$(mbps "$w")" "$(mbps "$r")"
    printf '  (x%s, x%s of the baseline)\n' "$(ratio "$base_w" "$w")" \
        "$(ratio "$base_r" "$r")"
done
np network-param-set uuid="$net" MTU=9000

t=$(timed np vdi-create sr-uuid="$sr" name-label=q virtual-size=$((MIB * 1048576)))
printf 'vdi-create (qcow2)       %.3f s\n' "$t"
t=$(timed np vdi-clone uuid="$vdi")
printf 'vdi-clone (overlay)      %.3f s\n' "$t"
t=$(timed np vdi-copy uuid="$vdi" sr-uuid="$sr")
printf 'vdi-copy (%s MiB)        %.3f s  (%.1f MiB/s)\n' "$MIB" "$t" \
    "$(mbps "$t")"
