#!/usr/bin/env bash
#
# test-sr-nfs: a shared NFS SR in a pool of three namespace hosts, reached
# over a storage VLAN with jumbo frames.  The storage server is a
# namespace on the switch's VLAN 20 at MTU 9000 running nfs-ganesha
# (scripts/storage.sh).  The hosts form a pool, put VLAN 20 at MTU 9000 on
# eth1 with an address each, and make one shared NFS SR: every host gets a
# PBD that its netpoold mounts through the VLAN.  VDIs made, cloned,
# copied, resized and destroyed on one member are seen by the others.  Bad device-config is
# refused with typed errors and nothing stored (an unknown server, a wrong
# path, a server on no PIF's subnet, a path that drops jumbo frames); a
# server that stops is seen on every host (PBD error, SR_BACKEND_FAILURE)
# and used again when it returns; pbd-unplug and pbd-plug work from any
# member.  The test guest's root image goes onto the SR by vdi-copy from
# a local SR: the copy's bytes leave h1 by the storage VLAN, not by the
# management network (interface and switch port counters).  A guest on h2
# boots with that VDI as its root filesystem and writes a file that a guest
# on h3 then reads from the same VDI; a guest on a local SR keeps running
# and answering while the NFS server is down.  Then, in the same pool, an iSCSI SR on a tgt target
# of the storage namespace: bad device-config refused (target, IQN,
# SCSIid, MTU), its LUNs as raw VDIs, a guest on h2 writing to one over
# VLAN 20, the target stopping and returning, one LUN by its SCSIid.
source "$(dirname "$0")/lib.sh"

storage_hosts_up
export_dir=$(storage_export_dir)

pbd_of() { np 1 pbd-list host-uuid="$(host_uuid "$1")" SR-uuid="$2" --minimal; }
pbd_field() { np 1 pbd-param-get uuid="$1" param-name="$2"; }
# Every PBD of SR $1, as host N sees it, has connected=$2.
all_connected() { # SR VALUE
    local p n=0
    for p in $(np 1 pbd-list SR-uuid="$1" --minimal | tr , ' '); do
        [ "$(pbd_field "$p" connected)" = "$2" ] || return 1
        n=$((n + 1))
    done
    [ "$n" = 3 ]
}
sr_count() { np 1 sr-list --minimal | tr , '\n' | grep -c . || true; }

# --- the pool and its storage VLAN ------------------------------------------

for n in 2 3; do
    pool_join $n
done
wait_until 60 quorate_with 3 3 || true
ok 'quorate_with 1 3' "h1, h2 and h3 form a pool"

eth1=$(np 1 pif-list host-uuid="$(host_uuid 1)" device=eth1 --minimal)
np 1 network-param-set uuid="$(np 1 pif-param-get uuid="$eth1" param-name=network)" MTU=9000
storage_net=$(np 1 network-create name-label=storage MTU=9000)
vpifs=$(np 1 pool-vlan-create pif-uuid="$eth1" vlan=20 network-uuid="$storage_net")
for vpif in ${vpifs//,/ }; do
    host=$(np 1 pif-param-get uuid="$vpif" param-name=host)
    n=$(np 1 host-param-get uuid="$host" param-name=name-label)
    n=${n#h}
    eval "vpif_$n=$vpif"
    np 1 pif-reconfigure-ip uuid="$vpif" mode=static IP=198.18.20.1$n \
        netmask=255.255.255.0
done
bridge=$(np 1 network-param-get uuid="$storage_net" param-name=bridge)
jumbo() { on "$1" ping -c 1 -W 1 -M do -s 8972 -I "$bridge" "$STORAGE_ADDR" > /dev/null 2>&1; }
for n in 1 2 3; do
    ok "wait_until 30 jumbo $n" "h$n reaches the storage server with 9000-byte frames on VLAN 20"
done

# --- bad device-config: typed errors, nothing stored ------------------------

srs_before=$(sr_count)
is "$(np_error 1 sr-create name-label=x type=nfs shared=true \
    device-config:server=nfs.example device-config:serverpath=/x)" \
    "INVALID_VALUE device_config:server, nfs.example" \
    "a server that is not an IPv4 address is refused"
is "$(np_error 1 sr-create name-label=x type=nfs \
    device-config:server="$STORAGE_ADDR" device-config:serverpath=relative)" \
    "INVALID_VALUE device_config:serverpath, relative" \
    "a relative serverpath is refused"
is "$(np_error 1 sr-create name-label=x type=nfs device-config:nfsversion=4 \
    device-config:server="$STORAGE_ADDR" device-config:serverpath=/x)" \
    "INVALID_VALUE device_config:nfsversion, 4" \
    "NFSv4 is refused (QEMU's NFS client speaks NFSv3)"
err=$(np_error 1 sr-create name-label=x type=nfs \
    device-config:server=198.19.7.7 device-config:serverpath=/x)
ok '[[ $err == "SR_BACKEND_FAILURE 198.19.7.7, no PIF of this host has an address on the server"* ]]' \
    "a server on no PIF's subnet is refused, never reached through management"
diag "$err"
err=$(np_error 1 sr-create name-label=x type=nfs \
    device-config:server=198.18.20.99 device-config:serverpath=/x)
ok '[[ $err == "SR_BACKEND_FAILURE 198.18.20.99, cannot mount 198.18.20.99:/x from 198.18.20.11"* ]]' \
    "an unknown server is refused with the server and the reason"
diag "$err"
err=$(np_error 1 sr-create name-label=x type=nfs \
    device-config:server="$STORAGE_ADDR" device-config:serverpath=/no/such/export)
ok '[[ $err == "SR_BACKEND_FAILURE $STORAGE_ADDR, cannot mount $STORAGE_ADDR:/no/such/export"* ]]' \
    "a wrong path is refused with the server and the reason"
diag "$err"
storage_mtu 1500
is "$(np_error 1 sr-create name-label=x type=nfs \
    device-config:server="$STORAGE_ADDR" device-config:serverpath="$export_dir")" \
    "MTU_MISMATCH storage, $STORAGE_ADDR, 9000" \
    "a server behind a 1500-byte link on a jumbo SR network is refused"
storage_mtu "$STORAGE_MTU"
is "$(sr_count)" "$srs_before" "none of them stored an SR"
is "$(np 1 pbd-list --minimal)" "" "nor a PBD"

# --- one shared SR, plugged on every host over the VLAN ---------------------

sr=$(np 2 sr-create name-label=shared type=nfs shared=true \
    device-config:server="$STORAGE_ADDR" device-config:serverpath="$export_dir")
ok $? "sr-create type=nfs shared=true on h2"
is "$(np 3 sr-param-get uuid="$sr" param-name=type)/$(np 3 sr-param-get uuid="$sr" param-name=shared)" \
    "nfs/true" "h3 sees the shared NFS SR"
is "$(np 1 pbd-list SR-uuid="$sr" --minimal | tr , '\n' | wc -l)" 3 \
    "with one PBD per host"
wait_until 30 all_connected "$sr" true || true
ok 'all_connected "$sr" true' "every host's PBD is connected"
for n in 1 2 3; do
    is "$(pbd_field "$(pbd_of $n "$sr")" PIF)" "$(eval echo "\$vpif_$n")" \
        "h$n reaches the SR through its VLAN 20 PIF"
done
ok '[ "$(np 1 sr-param-get uuid="$sr" param-name=physical-size)" -gt 0 ]' \
    "the SR's size comes from the server"
is "$(np_error 3 sr-create name-label=again type=nfs \
    device-config:server="$STORAGE_ADDR" device-config:serverpath="$export_dir" \
    | cut -d, -f1)" "SR_DEVICE_IN_USE nfs://$STORAGE_ADDR$export_dir" \
    "a second SR on the same folder is refused"

# Each host's NFS connection leaves from its storage address, its socket
# bound to the VLAN's interface (ss shows ADDRESS%DEVICE).
for n in 1 2 3; do
    ok "on $n ss -Htn dst $STORAGE_ADDR | grep -q '198.18.20.1$n%$bridge:'" \
        "h$n's connection to the server leaves from its VLAN 20 address and interface"
done
rx_before=$(on switch ovs-vsctl get Interface h2-eth1 statistics:rx_bytes)
ok "wait_until 30 eval '[ \$(on switch ovs-vsctl get Interface h2-eth1 statistics:rx_bytes) -gt $rx_before ]'" \
    "h2's checks reach the switch on eth1, the storage VLAN's NIC"

# --- VDIs on it, seen by every member ---------------------------------------

MIB=1048576
img_info() { qemu-img info --output=json "$export_dir/$1.qcow2" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$2"; }
vdi=$(np 1 vdi-create sr-uuid="$sr" name-label=root virtual-size=$((64 * MIB)))
ok $? "vdi-create on h1 makes a VDI on the NFS SR"
is "$(np 1 vdi-param-get uuid="$vdi" param-name=location)" \
    "nfs://$STORAGE_ADDR$export_dir/$vdi.qcow2" \
    "its location is its image's nfs:// URL"
is "$(img_info "$vdi" virtual-size)" $((64 * MIB)) \
    "the image is in the server's folder, at its size"
is "$(np 2 vdi-param-get uuid="$vdi" param-name=SR-uuid)/$(np 3 vdi-param-get uuid="$vdi" param-name=SR-uuid)" \
    "$sr/$sr" "h2 and h3 see it"
clone=$(np 2 vdi-clone uuid="$vdi")
is "$(img_info "$clone" backing-filename)" \
    "nfs://$STORAGE_ADDR$export_dir/$vdi.qcow2" \
    "vdi-clone on h2 makes a qcow2 overlay whose backing file is the original's URL"
copy=$(np 3 vdi-copy uuid="$vdi" sr-uuid="$sr")
is "$(img_info "$copy" virtual-size)/$(img_info "$copy" backing-filename)" \
    "$((64 * MIB))/" "vdi-copy on h3 makes a full, independent copy on the SR"
np 1 vdi-resize uuid="$copy" disk-size=$((96 * MIB))
is "$(np 2 vdi-param-get uuid="$copy" param-name=virtual-size)/$(img_info "$copy" virtual-size)" \
    "$((96 * MIB))/$((96 * MIB))" "vdi-resize grows the image and its record"
is "$(np_error 1 vdi-resize uuid="$copy" disk-size=$MIB)" \
    "INVALID_VALUE size, $MIB" "a smaller size is refused"
np 2 vdi-destroy uuid="$copy"
np 3 vdi-destroy uuid="$clone"
ok "wait_until 20 eval '[ ! -e $export_dir/$copy.qcow2 ] && [ ! -e $export_dir/$clone.qcow2 ]'" \
    "vdi-destroy removes the images from the server"
is "$(ls "$export_dir" | grep -c part || true)" 0 "no partial image is left"

# --- the guests' root disk, copied onto the SR over the storage VLAN --------

# The test guest's root filesystem image (tests/guest/build.sh: root.img,
# ext4) with a payload of random data in it, as a raw VDI of a local SR on
# h1; vdi-copy on h1 writes it to the NFS SR.  While it copies, h1's VLAN 20
# interface and its switch port (eth1, the VLAN's trunk) carry at least the
# payload; h1's management interface and port carry far less (corosync and
# the API never stop, so the check is against the payload, not zero).
guest_dir=$("$TEST_TOP/tests/guest/build.sh")
payload=$((24 * MIB))
local_sr=$(np 1 sr-create name-label=local type=dir \
    device-config:location="$STATE/h1-local-sr")
image_vdi=$(np 1 vdi-create sr-uuid="$local_sr" name-label=guest-root \
    format=raw virtual-size="$(stat -c %s "$guest_dir/root.img")")
image=$STATE/h1-local-sr/$image_vdi.raw
cp --sparse=always "$guest_dir/root.img" "$image"
head -c "$payload" /dev/urandom > "$STATE/payload"
debugfs -w -R "write $STATE/payload /payload" "$image" > /dev/null 2>&1
ok 'debugfs -R "stat /payload" "$image" 2>/dev/null | grep -q "Size: $payload"' \
    "the guest's root image holds a $payload-byte payload"
mgmt_dev=$(on 1 ip -o -4 addr show | awk -v a="$(topo_mgmt_ip 1)/" \
    'index($4, a) == 1 { print $2 }')
bytes() { on "$1" cat "/sys/class/net/$2/statistics/$3_bytes"; } # NODE DEV rx|tx
counters() {
    echo "$(bytes 1 "$bridge" tx) $(bytes 1 "$mgmt_dev" tx)" \
        "$(bytes switch h1-eth1 rx) $(bytes switch h1-eth0 rx)"
}
read -r vlan0 mgmt0 trunk0 port0 <<< "$(counters)"
root_vdi=$(np 1 vdi-copy uuid="$image_vdi" sr-uuid="$sr")
ok $? "vdi-copy on h1 copies it onto the NFS SR"
read -r vlan1 mgmt1 trunk1 port1 <<< "$(counters)"
diag "bytes sent during the copy: VLAN 20 $((vlan1 - vlan0)), management" \
    "($mgmt_dev) $((mgmt1 - mgmt0)); into the switch: h1-eth1" \
    "$((trunk1 - trunk0)), h1-eth0 $((port1 - port0))"
ok '[ $((vlan1 - vlan0)) -ge $payload ]' \
    "h1 sends the copy from its VLAN 20 interface (at least the payload)"
ok '[ $((trunk1 - trunk0)) -ge $payload ]' \
    "and it reaches the switch by eth1, the storage VLAN's port"
ok '[ $((mgmt1 - mgmt0)) -lt $((payload / 8)) ]' \
    "h1's management interface sends far less than the payload meanwhile"
ok '[ $((port1 - port0)) -lt $((payload / 8)) ]' \
    "and so does its management port on the switch"
root_image=$(np 1 vdi-param-get uuid="$root_vdi" param-name=location)
root_image=$export_dir/${root_image##*/}
ok 'cmp -s "$image" "$root_image"' \
    "the VDI on the server is the guest's root image, byte for byte"

# --- a guest on h2 boots from it and writes, a guest on h3 reads -------------

# The guests boot the test kernel and initramfs, whose /init mounts the
# first disk (the VDI) as the root filesystem and runs its init
# (np.root=vda).  Each waits on its serial console for the guest's own
# line.  h1 runs a third guest whose disk is on a local SR and whose NIC is
# on the storage VLAN: it must not notice the NFS server going away below.
token=t$RANDOM$RANDOM
serial() { echo "/run/netpool/vm/$(host_uuid "$1")/$2/serial.log"; }
power() { np 1 vm-param-get uuid="$1" param-name=power-state; }
guest() { # N NAME VDI PV-ARGS
    local vm
    vm=$(np "$1" vm-create name-label="$2" memory-static-max=$((96 * MIB)) \
        PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
        PV-args="quiet $4")
    np "$1" vbd-create vm-uuid="$vm" vdi-uuid="$3" device=0 bootable=true \
        > /dev/null
    echo "$vm"
}
halted() { [ "$(power "$1")" = Halted ]; }
stop_guest() { # N VM
    np "$1" vm-shutdown uuid="$2" --force
    wait_until 60 halted "$2" || true
}

local_vdi=$(np 1 vdi-create sr-uuid="$local_sr" name-label=local \
    virtual-size="$MIB")
bystander=$(guest 1 bystander "$local_vdi" np.ip0=198.18.20.51/24)
np 1 vif-create vm-uuid="$bystander" network-uuid="$storage_net" device=0 \
    > /dev/null
np 1 vm-start uuid="$bystander"
writer=$(guest 2 writer "$root_vdi" "np.root=vda np.filewrite=$token")
np 2 vm-start uuid="$writer"
ok "wait_until 240 grep -qs 'netpool-guest: wrote /netpool-file' $(serial 2 "$writer")" \
    "a guest on h2 boots from the VDI on the SR and writes a file on it"
ok "grep -qs 'netpool-guest: root /dev/vda' $(serial 2 "$writer")" \
    "its root filesystem is the VDI (/dev/vda)"
# (QEMU names its process netpool-VM.)
ok "on 2 ss -Htnp dst $STORAGE_ADDR | grep 'netpool-${writer:0:7}' | grep -q '198.18.20.12:'" \
    "its QEMU reaches the server from h2's VLAN 20 address"
pbd2=$(pbd_of 2 "$sr")
is "$(np_error 1 pbd-unplug uuid="$pbd2")" "PBD_IN_USE $pbd2, $writer" \
    "h2's PBD cannot be unplugged while the guest runs there"
stop_guest 2 "$writer"
is "$(power "$writer")" Halted "the writer stops"
np 2 vm-destroy uuid="$writer"
reader=$(guest 3 reader "$root_vdi" "np.root=vda np.fileread")
np 3 vm-start uuid="$reader"
ok "wait_until 240 grep -qs 'netpool-guest: /netpool-file says' $(serial 3 "$reader")" \
    "a guest on h3 boots from the same VDI and reads the file"
is "$(grep -a -m 1 -o '/netpool-file says.*' "$(serial 3 "$reader")" | tr -d '\r')" \
    "/netpool-file says netpool-file: $token" \
    "and finds what h2's guest wrote"
stop_guest 3 "$reader"
np 3 vm-destroy uuid="$reader"
np 1 vdi-destroy uuid="$vdi"
np 1 vdi-destroy uuid="$root_vdi"
ok "wait_until 20 eval '[ ! -e $export_dir/$vdi.qcow2 ] && [ ! -e $root_image ]'" \
    "the last VDIs go"

answers() { on 1 ping -c 1 -W 1 -I "$bridge" 198.18.20.51 > /dev/null 2>&1; }
ok "wait_until 240 answers" "h1's guest on a local SR answers on the storage VLAN"
bystander_domid=$(np 1 vm-param-get uuid="$bystander" param-name=domid)

# --- the server stops, then returns -----------------------------------------

storage_nfs_stop
wait_until 30 all_connected "$sr" false || true
ok 'all_connected "$sr" false' "with the server stopped, every PBD says it is not connected"
err=$(pbd_field "$(pbd_of 3 "$sr")" error)
ok '[[ $err == *"$STORAGE_ADDR:$export_dir"* ]]' "h3's PBD says why"
diag "$err"
ok 'wait_until 10 eval "[ -n \"\$(np 1 message-list name=SR_BACKEND_FAILURE obj-uuid=$sr --minimal)\" ]"' \
    "SR_BACKEND_FAILURE is raised on the SR"
count=$(np 1 message-list name=SR_BACKEND_FAILURE obj-uuid="$sr" --minimal | tr , '\n' | wc -l)
ok '[ "$count" -le 3 ]' "once per host, not once per check ($count)"
ok answers "h1's guest on a local SR still answers"
is "$(power "$bystander")/$(np 1 vm-param-get uuid="$bystander" param-name=domid)" \
    "Running/$bystander_domid" "and still runs in the same QEMU"
np 2 pbd-unplug uuid="$pbd2"
err=$(np_error 2 pbd-plug uuid="$pbd2")
ok '[[ $err == "SR_BACKEND_FAILURE $STORAGE_ADDR, cannot mount"* ]]' \
    "pbd-plug while the server is down fails with a typed error"
is "$(pbd_field "$pbd2" currently-attached)" false "and leaves the PBD unplugged"

storage_nfs_start
np 2 pbd-plug uuid="$pbd2"
ok $? "with the server back, pbd-plug works"
wait_until 30 all_connected "$sr" true || true
ok 'all_connected "$sr" true' "and every host is connected again"

ok answers "h1's guest still answers with the server back"
stop_guest 1 "$bystander"
np 1 vif-destroy uuid="$(np 1 vif-list vm-uuid="$bystander" --minimal)"
np 1 vm-destroy uuid="$bystander"
np 1 vdi-destroy uuid="$local_vdi"
np 1 vdi-destroy uuid="$image_vdi"
np 1 sr-destroy uuid="$local_sr"

# Another host's PBD, from h1: h3's controller acts and reports.
pbd3=$(pbd_of 3 "$sr")
np 1 pbd-unplug uuid="$pbd3"
wait_until 20 eval '[ "$(pbd_field "$pbd3" connected)" = false ]' || true
is "$(pbd_field "$pbd3" connected)/$(pbd_field "$pbd3" PIF)" "false/" \
    "pbd-unplug from h1 unplugs h3's PBD"
np 1 pbd-plug uuid="$pbd3"
wait_until 20 eval '[ "$(pbd_field "$pbd3" connected)" = true ]' || true
is "$(pbd_field "$pbd3" connected)" true "and pbd-plug from h1 plugs it again"

# --- forgetting it ------------------------------------------------------------

is "$(np_error 1 sr-destroy uuid="$sr" | cut -d, -f1)" \
    "SR_HAS_PBD_PLUGGED $sr" "sr-destroy refuses an SR with plugged PBDs"
for p in $(np 1 pbd-list SR-uuid="$sr" --minimal | tr , ' '); do
    np 1 pbd-unplug uuid="$p"
done
np 1 sr-destroy uuid="$sr"
ok $? "once unplugged everywhere, sr-destroy forgets it"
is "$(np 3 pbd-list --minimal)" "" "and its PBDs"

# --- an iSCSI SR on the same storage VLAN ------------------------------------

# tgtd in the storage namespace exports two 64 MiB LUNs; each disk LUN of
# the target is one raw VDI of the SR.
storage_iscsi_start 2 64
iqn=$STORAGE_IQN
portal="$STORAGE_ADDR:3260"
srs_before=$(sr_count)
is "$(np_error 1 sr-create name-label=x type=iscsi \
    device-config:target="$STORAGE_ADDR" device-config:targetIQN=storage)" \
    "INVALID_VALUE device_config:targetIQN, storage" \
    "a targetIQN that is not an iSCSI name is refused"
err=$(np_error 1 sr-create name-label=x type=iscsi \
    device-config:target=198.18.20.99 device-config:targetIQN="$iqn")
ok '[[ $err == "SR_BACKEND_FAILURE 198.18.20.99, cannot scan iSCSI target 198.18.20.99:3260 $iqn from 198.18.20.11: "* ]]' \
    "an unknown target is refused with the target and the reason"
diag "$err"
err=$(np_error 1 sr-create name-label=x type=iscsi \
    device-config:target="$STORAGE_ADDR" device-config:targetIQN="$iqn-none")
ok '[[ $err == "SR_BACKEND_FAILURE $STORAGE_ADDR, cannot scan iSCSI target $portal $iqn-none from 198.18.20.11: "* ]]' \
    "a wrong targetIQN is refused with the target and the reason"
diag "$err"
is "$(np_error 1 sr-create name-label=x type=iscsi \
    device-config:target="$STORAGE_ADDR" device-config:targetIQN="$iqn" \
    device-config:SCSIid=1nosuchlun)" \
    "SR_BACKEND_FAILURE $STORAGE_ADDR, iSCSI target $portal $iqn has no LUN with SCSIid 1nosuchlun" \
    "an unknown SCSIid is refused"
storage_mtu 1500
is "$(np_error 1 sr-create name-label=x type=iscsi \
    device-config:target="$STORAGE_ADDR" device-config:targetIQN="$iqn")" \
    "MTU_MISMATCH storage, $STORAGE_ADDR, 9000" \
    "a target behind a 1500-byte link on a jumbo SR network is refused"
storage_mtu "$STORAGE_MTU"
is "$(sr_count)/$(np 1 pbd-list --minimal)/$(np 1 vdi-list --minimal)" \
    "$srs_before//" "none of them stored an SR, a PBD or a VDI"

isr=$(np 2 sr-create name-label=luns type=iscsi shared=true \
    device-config:target="$STORAGE_ADDR" device-config:targetIQN="$iqn")
ok $? "sr-create type=iscsi shared=true on h2"
wait_until 30 all_connected "$isr" true || true
ok 'all_connected "$isr" true' "every host's PBD of the iSCSI SR is connected"
for n in 1 2 3; do
    is "$(pbd_field "$(pbd_of $n "$isr")" PIF)" "$(eval echo "\$vpif_$n")" \
        "h$n reaches the target through its VLAN 20 PIF"
done
lun_vdi() { # N: the VDI of LUN N, as h3 sees it
    local v
    for v in $(np 3 vdi-list sr-uuid="$isr" --minimal | tr , ' '); do
        if [ "$(np 3 vdi-param-get uuid="$v" param-name=location)" = \
            "iscsi://$portal/$iqn/$1" ]; then
            echo "$v"
        fi
    done
}
lun1=$(lun_vdi 1)
lun2=$(lun_vdi 2)
is "$(np 3 vdi-list sr-uuid="$isr" --minimal | tr , '\n' | grep -c .)" 2 \
    "its VDIs are the target's two disk LUNs (not its controller LUN 0)"
is "$(np 1 vdi-param-get uuid="$lun1" param-name=virtual-size)/$(np 1 vdi-param-get uuid="$lun1" param-name=format)" \
    "$((64 * MIB))/raw" "each a raw VDI of the LUN's size"
is "$(np 1 sr-param-get uuid="$isr" param-name=physical-size)" \
    "$((128 * MIB))" "the SR's size is its LUNs'"
is "$(np_error 1 vdi-create sr-uuid="$isr" name-label=x virtual-size="$MIB")" \
    "SR_OPERATION_NOT_SUPPORTED $isr" "vdi-create on it is refused (LUNs are made on the target)"
is "$(np_error 1 vdi-clone uuid="$lun1")" "SR_OPERATION_NOT_SUPPORTED $isr" \
    "and vdi-clone"
is "$(np_error 1 vdi-destroy uuid="$lun1")" "SR_OPERATION_NOT_SUPPORTED $isr" \
    "and vdi-destroy"

# A guest on h2 boots with LUN 1 as its disk and writes to it; the line is
# in the LUN's backing file on the server.
itoken=i$RANDOM$RANDOM
iwriter=$(guest 2 iwriter "$lun1" "np.diskwrite=$itoken")
np 2 vm-start uuid="$iwriter"
ok "wait_until 240 grep -qs 'netpool-guest: wrote vda' $(serial 2 "$iwriter")" \
    "a guest on h2 with a LUN of the iSCSI SR as its disk writes to it"
ok "on 2 ss -Htnp dst $portal | grep 'netpool-${iwriter:0:7}' | grep -q '198.18.20.12:'" \
    "its QEMU logs in to the target from h2's VLAN 20 address"
is "$(head -c 512 "$(storage_iscsi_lun 1)" | head -n 1 | tr -d '\0')" \
    "netpool-disk: $itoken" "what it wrote is in the LUN on the server"
stop_guest 2 "$iwriter"
np 2 vm-destroy uuid="$iwriter"
copy_sr=$(np 1 sr-create name-label=copies type=dir \
    device-config:location="$STATE/h1-copies")
lun_copy=$(np 1 vdi-copy uuid="$lun1" sr-uuid="$copy_sr")
is "$(head -c 512 "$STATE/h1-copies/$lun_copy.raw" | head -n 1 | tr -d '\0')" \
    "netpool-disk: $itoken" "vdi-copy copies a LUN to another SR (qemu-img over iSCSI)"
np 1 vdi-destroy uuid="$lun_copy"
np 1 sr-destroy uuid="$copy_sr"

# The target stops, then returns.
storage_iscsi_stop
wait_until 30 all_connected "$isr" false || true
ok 'all_connected "$isr" false' "with the target stopped, every PBD of the iSCSI SR says it is not connected"
err=$(pbd_field "$(pbd_of 3 "$isr")" error)
ok '[[ $err == *"iSCSI target $portal $iqn"* ]]' "h3's PBD says why"
diag "$err"
storage_iscsi_start 2 64
wait_until 30 all_connected "$isr" true || true
ok 'all_connected "$isr" true' "with the target back, every host is connected again"

# One LUN by its SCSIid.
id2=$(np 1 vdi-param-get uuid="$lun2" param-name=other-config param-key=SCSIid)
ok '[ -n "$id2" ]' "LUN 2 has a SCSI id ($id2)"
is "$(np_error 1 sr-create name-label=x type=iscsi \
    device-config:target="$STORAGE_ADDR" device-config:targetIQN="$iqn" \
    device-config:SCSIid="$id2" | cut -d, -f1)" \
    "SR_DEVICE_IN_USE iscsi://$portal/$iqn" \
    "a second SR on a target whose LUNs are all in an SR is refused"
for p in $(np 1 pbd-list SR-uuid="$isr" --minimal | tr , ' '); do
    np 1 pbd-unplug uuid="$p"
done
np 1 sr-destroy uuid="$isr"
is "$(np 3 sr-list uuid="$isr" --minimal)/$(np 3 vdi-list --minimal)" "/" \
    "sr-destroy forgets the iSCSI SR and its LUNs' VDIs"
isr=$(np 3 sr-create name-label=lun2 type=iscsi shared=true \
    device-config:target="$STORAGE_ADDR" device-config:targetIQN="$iqn" \
    device-config:SCSIid="$id2")
is "$(np 1 vdi-param-get uuid="$(np 1 vdi-list sr-uuid="$isr" --minimal)" param-name=location)" \
    "iscsi://$portal/$iqn/2" "device-config:SCSIid keeps the SR to that LUN"
for p in $(np 1 pbd-list SR-uuid="$isr" --minimal | tr , ' '); do
    np 1 pbd-unplug uuid="$p"
done
np 1 sr-destroy uuid="$isr"
ok $? "and it is forgotten in turn"
storage_iscsi_stop
