#!/usr/bin/env bash
#
# bench-sr-nfs.sh [MIB]
#
# A shared NFS SR over a storage VLAN, with the storage network at MTU 9000
# and then 1500 in the same run: sequential write and read of MIB MiB
# (default 64) of a raw VDI on the SR
#   - by a guest (tests/guest, np.ddbench=): dd in the guest on its first
#     disk, 1 MiB blocks, O_DIRECT, the write flushed, timed by the guest's
#     own clock;
#   - and, the baseline, over the same path from the host's namespace:
#     qemu-io writing and reading the same VDI's nfs:// URL with QEMU's NFS
#     client, the one the guest's disk goes through (hosts here have no
#     kernel NFS client, so there is no mount to dd through).
# For reference, the same two on the host's own disk: qemu-io on a file and
# the guest's dd on a raw VDI of a local SR (what the guest's emulation
# costs without NFS; under TCG it dominates).  Then the time of vdi-create,
# vdi-clone (a qcow2 overlay) and vdi-copy (a full copy) of the VDI through
# the API.  Prints each figure and the ratio of the guest's against the
# host's baseline over the same path, measured in the same run.
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
# MiB/s of "SECONDS", or "-" when there is no figure.
rate() { if [ -n "$1" ]; then printf '%6.1f' "$(mbps "$1")"; else printf '%6s' -; fi; }
xratio() { if [ -n "$2" ]; then ratio "$1" "$2"; else printf -- -; fi; }

guest_dir=$("$TOP/tests/guest/build.sh")
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

# Write then read MIB MiB sequentially, 1 MiB per request as the guest's
# dd does, at image $1 with qemu-io (the write flushed as qemu-io exits).
# Prints each one's seconds less those of a qemu-io that only opens the
# image and reads 512 bytes (process start, NFS mount), as the guest's
# figures leave out its boot.
io() { # IMAGE
    local open w r i
    local -a writes=() reads=()
    for ((i = 0; i < MIB; i++)); do
        writes+=(-c "write -P 0x5a ${i}M 1M")
        reads+=(-c "read -P 0x5a ${i}M 1M")
    done
    open=$(timed topo_on 1 qemu-io -f raw -c "read 0 512" "$1")
    w=$(timed topo_on 1 qemu-io -f raw "${writes[@]}" "$1")
    r=$(timed topo_on 1 qemu-io -f raw "${reads[@]}" "$1")
    echo "$(net "$w" "$open") $(net "$r" "$open")"
}
# $1 - $2 seconds, at least 1 ms.
net() { echo "x = $1 - $2; if (x < 0.001) x = 0.001; x" | bc -l; }

# A guest whose first disk is VDI $1 writes then reads MIB MiB of it with
# dd: prints the write's and the read's seconds, or nothing if the guest
# gave no figure within 5 minutes.
guest_dd() { # VDI
    local vm log line
    vm=$(np vm-create name-label=dd memory-static-max=$((96 * 1048576)) \
        PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
        PV-args="quiet np.ddbench=$MIB")
    np vbd-create vm-uuid="$vm" vdi-uuid="$1" device=0 > /dev/null
    np vm-start uuid="$vm"
    log=/run/netpool/vm/$host/$vm/serial.log
    for _ in $(seq 1500); do
        grep -qs 'netpool-guest: ddbench' "$log" && break
        sleep 0.2
    done
    line=$(grep -a -m 1 -o 'ddbench [0-9. ]*' "$log" || true)
    np vm-shutdown uuid="$vm" --force
    for _ in $(seq 300); do
        [ "$(np vm-param-get uuid="$vm" param-name=power-state)" = Halted ] &&
            break
        sleep 0.2
    done
    np vm-destroy uuid="$vm"
    # shellcheck disable=SC2086
    set -- $line
    [ $# = 5 ] && echo "$(echo "$4 - $3" | bc -l) $(echo "$5 - $4" | bc -l)"
    return 0
}
# One line: what, write and read seconds, and the ratio against a
# baseline's seconds if any.
row() { # WHAT W R [BASE_W BASE_R BASE]
    printf '%-34s write %s MiB/s  read %s MiB/s' "$1" "$(rate "$2")" \
        "$(rate "$3")"
    if [ -n "${4:-}" ]; then
        printf '  (x%s, x%s of %s)' "$(xratio "$4" "$2")" \
            "$(xratio "$5" "$3")" "$6"
    fi
    echo
}

local_sr=$(np sr-create name-label=local type=dir \
    device-config:location="$STATE/local-sr")
local_vdi=$(np vdi-create sr-uuid="$local_sr" name-label=local format=raw \
    virtual-size=$((MIB * 1048576)))
local_img=$(np vdi-param-get uuid="$local_vdi" param-name=location)
read -r base_w base_r <<< "$(io "$local_img")"
row "host disk, qemu-io (host)" "$base_w" "$base_r"
read -r w r <<< "$(guest_dd "$local_vdi")"
row "host disk, guest dd" "$w" "$r" "$base_w" "$base_r" "the host's"

vdi=$(np vdi-create sr-uuid="$sr" name-label=bench format=raw \
    virtual-size=$((MIB * 1048576)))
url=$(np vdi-param-get uuid="$vdi" param-name=location)
for mtu in 9000 1500; do
    np network-param-set uuid="$net" MTU=$mtu
    sleep 2 # the bridge's MTU follows the store
    read -r nfs_w nfs_r <<< "$(io "$url")"
    row "NFS SR, MTU $mtu, qemu-io (host)" "$nfs_w" "$nfs_r" "$base_w" \
        "$base_r" "host disk"
    read -r w r <<< "$(guest_dd "$vdi")"
    row "NFS SR, MTU $mtu, guest dd" "$w" "$r" "$nfs_w" "$nfs_r" "the host's"
done
np network-param-set uuid="$net" MTU=9000

t=$(timed np vdi-create sr-uuid="$sr" name-label=q virtual-size=$((MIB * 1048576)))
printf '%-34s %.3f s\n' "vdi-create (qcow2)" "$t"
t=$(timed np vdi-clone uuid="$vdi")
printf '%-34s %.3f s\n' "vdi-clone (overlay)" "$t"
t=$(timed np vdi-copy uuid="$vdi" sr-uuid="$sr")
printf '%-34s %.3f s  (%.1f MiB/s)\n' "vdi-copy ($MIB MiB)" "$t" \
    "$(mbps "$t")"
