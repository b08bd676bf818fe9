#!/usr/bin/env bash
#
# test-sandbox-pool: `make sandbox HOSTS=2 POOL=1`, that is POOL=1
# scripts/sandbox.sh up 2, with this test's namespace prefix, state folder
# and binaries (SANDBOX_PREFIX, SANDBOX_STATE, SANDBOX_BIN).  The sandbox
# comes up as one pool of two with h1 master, both hosts see both, the pool
# has one template tiny-linux (when the guest fixture can be built) and one
# shared NFS SR on the storage VLAN at MTU 9000, plugged on both hosts, and
# sandbox down leaves nothing behind.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 8

SANDBOX=(env SANDBOX_PREFIX="$PREFIX" SANDBOX_STATE="$STATE/sandbox"
    SANDBOX_BIN="$NETPOOL_BIN" POOL=1
    NETPOOL_GUEST_DIR="${NETPOOL_GUEST_DIR:-$TEST_TOP/build/guest}"
    "$TEST_TOP/scripts/sandbox.sh")
trap '_sbx_rc=$?; "${SANDBOX[@]}" down > /dev/null 2>&1 || true;
      (exit $_sbx_rc); _test_on_exit' EXIT

leftovers() {
    ip netns list | awk '{print $1}' | grep "^$PREFIX" || true
    [ ! -e "$STATE/sandbox" ] || echo "$STATE/sandbox"
}
sbx() { # N CMD...
    local n=$1
    shift
    (
        eval "$(STATE=$STATE/sandbox topo_host_env "$n")"
        ip netns exec "$(topo_ns "$n")" "$@"
    )
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

out=$("${SANDBOX[@]}" up 2 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] || diag "$out"
ok '[ "$rc" = 0 ] && [[ $out == *"one pool of 2 host(s), h1 master"* ]]' \
    "POOL=1: the sandbox comes up as one pool of two"
status=$(sbx 2 netpool pool-status --json)
is "$(echo "$status" | field quorate)/$(echo "$status" | field members)" \
    True/2 "h2 sees a quorate pool of two"
is "$(sbx 1 netpool pool-status --json | field master)" True "h1 is master"
is "$(sbx 2 netpool host-list --minimal | tr , '\n' | wc -l)" 2 \
    "h2 lists both hosts"
if [[ $out == *"no test guest"* ]]; then
    skip "the pool has one template tiny-linux (no guest fixture here)"
else
    is "$(sbx 2 netpool vm-list name-label=tiny-linux is-a-template=true --minimal | tr , '\n' | grep -c .)" \
        1 "the pool has one template tiny-linux"
fi

sr=$(sbx 1 netpool sr-list name-label=shared-nfs type=nfs --minimal)
is "$(sbx 2 netpool pbd-list sr-uuid="$sr" params=currently-attached \
    --minimal)" "true,true" "the shared NFS SR is plugged on both hosts"
is "$(sbx 2 netpool network-list name-label=storage params=MTU --minimal)" \
    9000 "over the storage network, at MTU 9000"

"${SANDBOX[@]}" down > /dev/null
is "$(leftovers)" "" "sandbox down leaves nothing behind"
