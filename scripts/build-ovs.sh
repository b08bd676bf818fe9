#!/usr/bin/env bash
# Build libopenvswitch.a from Debian's openvswitch-source into build/ovs.
# The result is build-local: headers under build/ovs/src, the archive netpool
# links at build/ovs/libopenvswitch-netpool.a.  Idempotent.
#
# NETPOOL_OVS_CACHE=DIR: when build/ovs does not exist yet and DIR holds a
# finished build of the same kind (another checkout's build/ovs), build/ovs
# becomes a symlink to it instead of a second 1-2 minute build.  Tests that
# build a fresh clone use it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/ovs
lib=$out/src/lib/.libs/libopenvswitch.a
# netpoold links json-c as well, and both define json_object_put(): a copy
# of the archive with OVS's renamed keeps each library on its own.
netpool_lib=$out/libopenvswitch-netpool.a

rename_symbols() {
    objcopy --redefine-sym json_object_put=ovs_json_object_put \
        "$lib" "$netpool_lib.tmp"
    mv "$netpool_lib.tmp" "$netpool_lib"
}

# True if folder $1 holds a finished build.
built() {
    [ -f "$1/src/lib/.libs/libopenvswitch.a" ] &&
        [ -f "$1/src/lib/vswitch-idl.h" ] && [ -f "$1/src/config.h" ]
}

cache=${NETPOOL_OVS_CACHE:-}
if [ -n "$cache" ] && [ ! -e "$out" ] && [ ! -L "$out" ] && built "$cache" &&
    [ -f "$cache/libopenvswitch-netpool.a" ]; then
    mkdir -p "$(dirname "$out")"
    ln -s "$(cd "$cache" && pwd)" "$out"
    echo "deps: libopenvswitch from $cache"
    exit 0
fi

if built "$out"; then
    [ -f "$netpool_lib" ] || rename_symbols
    echo "deps: libopenvswitch present ($netpool_lib)"
    exit 0
fi

tarball=$(ls /usr/src/openvswitch/openvswitch*.tar.* /usr/src/openvswitch*.tar.* 2>/dev/null | head -n 1 || true)
if [ -z "$tarball" ]; then
    echo "deps: openvswitch-source tarball missing in /usr/src" >&2
    exit 1
fi

echo "deps: building libopenvswitch from $tarball into $out (1-2 minutes)"
rm -rf "$out"
mkdir -p "$out/src"
tar -xf "$tarball" -C "$out/src" --strip-components=1
cd "$out/src"
# configure and make put their temporary files (make's GmXXXXXX among
# them, which it does not always remove) in the build tree, not in /tmp.
export TMPDIR=$out/tmp
mkdir -p "$TMPDIR"
# A failed step names its log and shows its end.
failed() {
    echo "deps: building libopenvswitch failed; the end of $1:" >&2
    tail -n 20 "$1" >&2
    exit 1
}
./configure --enable-shared=no --with-dpdk=no > "$out/configure.log" 2>&1 ||
    failed "$out/configure.log"
make -j"$(nproc)" ofproto/ipfix-entities.def include/odp-netlink.h \
    include/odp-netlink-macros.h lib/vswitch-idl.c lib/vswitch-idl.h \
    lib/ovsdb-server-idl.c lib/ovsdb-server-idl.h lib/dirs.c \
    lib/ofp-errors.inc lib/ofp-msgs.inc lib/meta-flow.inc lib/nx-match.inc \
    > "$out/make-headers.log" 2>&1 || failed "$out/make-headers.log"
make -j"$(nproc)" lib/libopenvswitch.la > "$out/make-lib.log" 2>&1 ||
    failed "$out/make-lib.log"
rename_symbols
echo "deps: built $netpool_lib"
