#!/usr/bin/env bash
#
# test-storage: local SRs (directories), VDIs (qcow2 and raw images made by
# qemu-img), copy-on-write clones and full copies, VBDs plugging VDIs into
# VMs, and VM copies with full copies of their disks.  Each image is checked with `qemu-img info`; bad input gets typed
# errors and leaves neither a record nor a file behind; objects survive a
# restart of netpoold.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 38

topo_switch_up
topo_host_up 1

np_fail() { np_error 1 "$@"; }
info() { qemu-img info --output=json "$1" | python3 -c "
import json, sys
i = json.load(sys.stdin)
print(i['format'], i['virtual-size'], i.get('backing-filename', '-'))"; }
files() { find "$STATE/sr1" "$STATE/sr2" -type f 2> /dev/null | sort; }
vdi_get() { np 1 vdi-param-get uuid="$1" param-name="$2"; }
MiB=1048576

# --- SRs -------------------------------------------------------------------

sr1=$(np 1 sr-create name-label=local type=dir \
    device-config:location="$STATE/sr1")
ok '[ -d "$STATE/sr1" ]' "sr-create makes the SR's directory"
is "$(np 1 sr-param-get uuid="$sr1" param-name=type)" dir "of type dir"
ok '[ "$(np 1 sr-param-get uuid="$sr1" param-name=physical-size)" -gt 0 ]' \
    "with the size of its file system"
is "$(np_fail sr-create name-label=x type=lvm \
    device-config:location="$STATE/x")" "SR_UNKNOWN_DRIVER lvm" \
    "an unknown SR type is refused"
is "$(np_fail sr-create name-label=x type=dir device-config:location=rel/x)" \
    "INVALID_VALUE device_config:location, rel/x" \
    "a relative location is refused, and named"
is "$(np_fail sr-create name-label=x type=dir \
    device-config:location="$STATE/sr1")" \
    "SR_DEVICE_IN_USE $STATE/sr1, $sr1" "so is a location already in use"
sr2=$(np 1 sr-create name-label=other type=dir \
    device-config:location="$STATE/sr2")

# --- VDIs -------------------------------------------------------------------

d0=$(np 1 vdi-create sr-uuid="$sr1" name-label=disk0 \
    virtual-size=$((16 * MiB)))
path0=$(vdi_get "$d0" location)
is "$path0" "$STATE/sr1/$d0.qcow2" "a VDI is an image in its SR"
is "$(info "$path0")" "qcow2 $((16 * MiB)) -" "qcow2 of the asked size"
raw=$(np 1 vdi-create sr-uuid="$sr1" name-label=raw format=raw \
    virtual-size=$((4 * MiB)))
is "$(info "$(vdi_get "$raw" location)")" "raw $((4 * MiB)) -" \
    "format=raw makes a raw image"
before=$(files)
is "$(np_fail vdi-create sr-uuid="$sr1" virtual-size=0)" \
    "INVALID_VALUE virtual_size, 0" "an empty disk is refused"
is "$(np_fail vdi-create sr-uuid="$sr1" virtual-size=$MiB format=vmdk)" \
    "INVALID_VALUE format, vmdk" "so is an unknown format"
is "$(np_fail vdi-create sr-uuid="$d0" virtual-size=$MiB)" \
    "HANDLE_INVALID SR, $d0" "and an SR that is not one"
is "$(files)" "$before" "refused calls leave no file behind"

clone=$(np 1 vdi-clone uuid="$d0")
cpath=$(vdi_get "$clone" location)
is "$(info "$cpath")" "qcow2 $((16 * MiB)) $path0" \
    "vdi-clone makes a copy-on-write overlay on the source"
is "$(vdi_get "$clone" parent)" "$d0" "whose parent is the source"
is "$(np_fail vdi-destroy uuid="$d0")" "VDI_IN_USE $d0, $clone" \
    "a VDI a clone is based on cannot be destroyed"
copy=$(np 1 vdi-copy uuid="$raw" sr-uuid="$sr2")
is "$(info "$(vdi_get "$copy" location)")" "raw $((4 * MiB)) -" \
    "vdi-copy makes a full, independent copy in another SR"
is "$(vdi_get "$copy" SR-uuid)" "$sr2" "which belongs to that SR"

# --- VBDs -------------------------------------------------------------------

vm=$(np 1 vm-create name-label=diskful)
vbd=$(np 1 vbd-create vm-uuid="$vm" vdi-uuid="$d0" device=0 bootable=true)
is "$(np 1 vbd-param-get uuid="$vbd" param-name=userdevice)" 0 \
    "vbd-create plugs a VDI into a VM at its device"
is "$(np 1 vm-param-get uuid="$vm" param-name=VBDs)" "$vbd" \
    "the VM lists it"
is "$(np_fail vbd-create vm-uuid="$vm" vdi-uuid="$raw" device=0)" \
    "DEVICE_ALREADY_EXISTS userdevice, 0" "one disk per device"
is "$(np_fail vbd-create vm-uuid="$vm" vdi-uuid="$raw" device=16)" \
    "INVALID_VALUE userdevice, 16" "devices go up to 15"
ro=$(np 1 vdi-create sr-uuid="$sr1" virtual-size=$MiB read-only=true)
is "$(np_fail vbd-create vm-uuid="$vm" vdi-uuid="$ro" device=2)" \
    "VDI_READONLY $ro" "a read-only VDI cannot be plugged read-write"
ok 'np 1 vbd-create vm-uuid="$vm" vdi-uuid="$ro" device=2 mode=RO > /dev/null' \
    "but read-only it can"
is "$(np_fail vdi-destroy uuid="$clone")$(np_fail vdi-destroy uuid="$d0")" \
    "unexpected successVDI_IN_USE $d0, $vbd" \
    "a clone goes; a VDI a VBD uses does not"
ok '[ ! -e "$cpath" ]' "and the clone's image is gone with it"
is "$(np_fail sr-destroy uuid="$sr2")" "SR_NOT_EMPTY $sr2" \
    "an SR with VDIs cannot be destroyed"

# --- VM copy and clone ------------------------------------------------------

vcopy=$(np 1 vm-copy uuid="$vm" new-name-label=copied sr-uuid="$sr2")
cvbd=$(np 1 vbd-list vm-uuid="$vcopy" userdevice=0 --minimal)
cvdi=$(np 1 vbd-param-get uuid="$cvbd" param-name=VDI-uuid)
is "$(vdi_get "$cvdi" SR-uuid)/$(vdi_get "$cvdi" parent)" "$sr2/" \
    "vm-copy gives the copy full disks in the SR asked for"
is "$(info "$(vdi_get "$cvdi" location)")" "qcow2 $((16 * MiB)) -" \
    "independent of the source's images"
is "$(np 1 vbd-list vm-uuid="$vcopy" --minimal | tr , '\n' | wc -l)" 2 \
    "every disk is copied"
is "$(np_fail vm-copy uuid="$vm" new-name-label=x sr-uuid="$vm")" \
    "HANDLE_INVALID SR, $vm" "a copy into an SR that is not one is refused"
for b in $(np 1 vbd-list vm-uuid="$vcopy" --minimal | tr , ' '); do
    d=$(np 1 vbd-param-get uuid="$b" param-name=VDI-uuid)
    np 1 vbd-destroy uuid="$b"
    np 1 vdi-destroy uuid="$d"
done

# --- persistence ------------------------------------------------------------

topo_netpoold_stop 1 TERM
topo_netpoold_start 1
is "$(np 1 vbd-list vm-uuid="$vm" userdevice=0 --minimal)" "$vbd" \
    "VBDs survive a restart"
is "$(vdi_get "$d0" location)" "$path0" "and so do VDIs"

is "$(np 1 vm-destroy uuid="$vm" 2>&1)$(np 1 vbd-list vm-uuid="$vm" --minimal)" \
    "" "vm-destroy takes the VM's VBDs with it"
np 1 vdi-destroy uuid="$d0"
ok '[ ! -e "$path0" ]' "and then its VDIs and their images can go"
np 1 vdi-destroy uuid="$copy"
is "$(np 1 sr-destroy uuid="$sr2" 2>&1)" "" "an empty SR can be destroyed"
ok '[ -d "$STATE/sr2" ]' "its directory stays"
is "$(np 1 sr-list --minimal)" "$sr1" "one SR is left"
