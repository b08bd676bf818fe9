#!/usr/bin/env bash
#
# tests/guest/build.sh [OUTDIR]
#
# Builds the test guest from Debian packages only and caches it:
#   - the kernel of linux-image-cloud-amd64 (downloaded with apt-get
#     download and unpacked with dpkg-deb -x into a temporary folder; it is
#     never installed on this machine),
#   - an initramfs (packed by busybox cpio) around busybox-static (busybox
#     init, /etc/rc) with the kernel's virtio, evdev and ACPI button
#     modules and a static UDP echo (tests/guest/udp-echo.c).
# The guest configures its virtio NICs from the kernel command line
# (np.ip0=198.18.X.Y/24 np.ip1=... np.gw=... np.mtu=..., or np.dhcp for a
# DHCP lease on eth0), answers ping and
# UDP echo on port 7, checks a memory pattern (np.mempattern=, for
# migration tests), powers off on the ACPI power button and prints
# "netpool-guest: ready" on its serial console.
#
# With np.root=vda the initramfs's /init (tests/guest/init) mounts the
# guest's first disk as its root instead and runs the disk's init: OUTDIR
# also gets root.img, the same tree as a sparse 64 MiB ext4 image (mke2fs
# -d, no mount), to make such a disk from.
#
# OUTDIR (default build/guest) gets vmlinuz, initrd.img and root.img, symlinks into a
# folder keyed on the kernel and busybox versions and on the fixture's own
# sources, so a second run is a no-op.  Prints OUTDIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-$top/build/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)

exec 9>"$out/.lock"
flock 9
# shellcheck source=scripts/apt-lists.sh
source "$top/scripts/apt-lists.sh"

meta=linux-image-cloud-amd64
kpkg=$(apt-cache depends "$meta" 2>/dev/null \
       | awk '/Depends: linux-image-/ {print $2; exit}')
if [ -z "$kpkg" ]; then
    apt_update_bounded guest >&2 || true
    kpkg=$(apt-cache depends "$meta" \
           | awk '/Depends: linux-image-/ {print $2; exit}')
fi
[ -n "$kpkg" ] || { echo "guest: no kernel package behind $meta" >&2; exit 1; }
kver=$(apt-cache policy "$kpkg" | awk '/Candidate:/ {print $2}')
bver=$(dpkg-query -W -f='${Version}' busybox-static)
srcsum=$(cat "$here/build.sh" "$here/init" "$here/rc" "$here/inittab" \
         "$here/power-button" "$here/udp-echo.c" "$here/udhcpc-script" \
         "$here/mem-pattern.c" |
         sha256sum | cut -c1-12)
key=$(printf '%s' "$kpkg-$kver-$bver-$srcsum" | tr -c 'A-Za-z0-9.+-' '_')
dest=$out/$key

ROOT_IMG_MIB=64
if [ ! -s "$dest/vmlinuz" ] || [ ! -s "$dest/initrd.img" ] ||
    [ ! -s "$dest/root.img" ]; then
    tmp=$(mktemp -d "$out/.build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    # apt-get download drops privileges to _apt when it can write the
    # folder; a private folder of root's makes it warn, so let it own one.
    mkdir -p "$tmp/deb" && chmod 777 "$tmp/deb"
    echo "guest: downloading $kpkg ($kver) to build the test guest" >&2
    (cd "$tmp/deb" && apt-get download -q "${APT_STALL_OPTIONS[@]}" \
        "$kpkg" >/dev/null 2>&1) || {
        apt_update_bounded guest >&2 || true
        (cd "$tmp/deb" && apt-get download -q "${APT_STALL_OPTIONS[@]}" \
            "$kpkg" >/dev/null)
    }
    dpkg-deb -x "$tmp"/deb/*.deb "$tmp/kernel"
    moddir=$(echo "$tmp"/kernel/lib/modules/*)

    root=$tmp/root
    mkdir -p "$root"/{bin,sbin,etc/acpi/PWRF,etc/acpi/PWRB,proc,sys,dev} \
             "$root"/{lib/modules,tmp,var/log,var/run,root}
    # Applet links first, the binary last: busybox --list names busybox
    # itself, and a link made over the binary would make it a self-link.
    for applet in $(busybox --list); do
        ln -sf /bin/busybox "$root/bin/$applet"
    done
    for s in init poweroff reboot halt; do
        ln -sf /bin/busybox "$root/sbin/$s"
    done
    rm -f "$root/bin/busybox"
    cp /bin/busybox "$root/bin/busybox"
    mkdir -p "$root/newroot"
    install -m 755 "$here/init" "$root/init"
    for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
             virtio_pci failover net_failover virtio_net virtio_blk \
             virtio_balloon evdev button; do
        f=$(find "$moddir" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
        [ -n "$f" ] || { echo "guest: module $m missing" >&2; exit 1; }
        case "$f" in
            *.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
            *) cp "$f" "$root/lib/modules/$m.ko" ;;
        esac
    done
    install -m 755 "$here/rc" "$root/etc/rc"
    install -m 755 "$here/udhcpc-script" "$root/etc/udhcpc.script"
    install -m 644 "$here/inittab" "$root/etc/inittab"
    install -m 755 "$here/power-button" "$root/etc/acpi/PWRF/00000080"
    install -m 755 "$here/power-button" "$root/etc/acpi/PWRB/00000080"
    cc -static -Os -s -o "$root/bin/udp-echo" "$here/udp-echo.c"
    cc -static -O2 -s -o "$root/bin/mem-pattern" "$here/mem-pattern.c"

    mkdir -p "$tmp/out"
    cp "$(echo "$tmp"/kernel/boot/vmlinuz-*)" "$tmp/out/vmlinuz"
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 \
        > "$tmp/out/initrd.img"
    # The same tree as an ext4 image, for a guest whose root is a disk
    # (np.root=vda): sparse, written without mounting (mke2fs -d).
    mke2fs -q -t ext4 -L netpool-root -d "$root" "$tmp/out/root.img" \
        "$ROOT_IMG_MIB"M >&2
    rm -rf "$dest"
    mv "$tmp/out" "$dest"
fi
ln -sfn "$key/vmlinuz" "$out/vmlinuz"
ln -sfn "$key/initrd.img" "$out/initrd.img"
ln -sfn "$key/root.img" "$out/root.img"
echo "$out"
