#!/usr/bin/env bash
#
# test-first-run: what a new user meets first, in a fresh clone of HEAD.
#
#   - `make -j2` as the first command builds the binaries: the objects that
#     include libopenvswitch's headers wait for the rule that makes them
#     (build/ovs comes from that rule: a symlink to this checkout's finished
#     build through NETPOOL_OVS_CACHE, so the test does not spend two
#     minutes rebuilding it);
#   - without a Debian package, a plain `make` says in one line that
#     `make deps` is needed and builds nothing;
#   - scripts/deps.sh installs from recent package lists without an update,
#     bounds a stalled update in time, and fails loudly;
#   - `make sandbox` comes up without an update step, with a template from
#     which two commands (vm-install, vm-start) boot a guest that takes an
#     address from the switch's DHCP server and answers ping.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 15

mkdir -p "$STATE"
clone=$STATE/clone
git clone -q "$TEST_TOP" "$clone"
export NETPOOL_OVS_CACHE
NETPOOL_OVS_CACHE=$(realpath "$TEST_TOP/build/ovs")

# make in the clone, its output in $STATE/NAME.log; its status.
# (Without the flags of a make this test may run under: it is a first
# command of its own.)
make_in() { # NAME ARGS...
    local name=$1
    shift
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        nice make -C "$clone" --no-print-directory "$@" \
        > "$STATE/$name.log" 2>&1
}

rc=0
NETPOOL_DEPS_EXTRA=netpool-no-such-package make_in missing -j2 || rc=$?
lines=$(cat "$STATE/missing.log")
ok '[ "$rc" != 0 ] && [ "$(wc -l <<< "$lines")" = 1 ] &&
    [[ $lines == *"missing (netpool-no-such-package): run '"'make deps'"'"* ]]' \
    "without a package, make says in one line that make deps is needed"
diag "$lines"
ok '[ ! -e "$clone/build/obj" ] && [ ! -e "$clone/build/ovs" ]' \
    "... and builds nothing"

rc=0
make_in first -j2 || rc=$?
is "$rc" 0 "make -j2 is a working first command in a fresh clone"
[ "$rc" = 0 ] || diag "$(tail -n 20 "$STATE/first.log")"
ok '"$clone/build/bin/netpool" help --list | grep -qx vm-start' \
    "it built netpool"
ok '"$clone/build/bin/netpoold" --help 2>&1 | grep -q -- --state-dir' \
    "it built netpoold"

# scripts/deps.sh's steps, with apt-get replaced on PATH by a stand-in for
# the archive that logs its calls: it can stall in update (as a stalled
# download does) and it installs nothing, so the package stays missing.
fakebin=$STATE/fakebin
mkdir -p "$fakebin"
cat > "$fakebin/apt-get" <<'SH'
#!/bin/sh
echo "$1" >> "$APT_CALLS"
case "$1" in
    update) [ "$APT_UPDATE" = stall ] && exec sleep 600 ;;
    install) [ "$APT_INSTALL" = fail ] && exit 100 ;;
esac
exit 0
SH
chmod 755 "$fakebin/apt-get"
deps() { # NAME ENV...: run the clone's deps.sh, output in $STATE/NAME.log
    local name=$1
    shift
    : > "$STATE/$name.calls"
    env PATH="$fakebin:$PATH" APT_CALLS="$STATE/$name.calls" \
        NETPOOL_DEPS_EXTRA=netpool-no-such-package "$@" \
        timeout 120 "$clone/scripts/deps.sh" > "$STATE/$name.log" 2>&1
}
calls() { paste -sd ' ' "$STATE/$1.calls"; }

rc=0
deps recent NETPOOL_APT_LISTS_MAX_AGE=$((10 * 365 * 86400)) || rc=$?
is "$(calls recent)" install \
    "deps.sh installs from recent package lists without apt-get update"
ok '[ "$rc" = 1 ] && grep -q "^deps: installing 1 package" "$STATE/recent.log" &&
    grep -q "^deps: FAILED: still not installed: netpool-no-such-package" \
        "$STATE/recent.log"' \
    "it says what it installs, and fails loudly when the package did not come"
diag "$(cat "$STATE/recent.log")"

rc=0
deps stall NETPOOL_APT_LISTS_MAX_AGE=0 NETPOOL_APT_UPDATE_TIMEOUT=2 \
    APT_UPDATE=stall APT_INSTALL=fail || rc=$?
is "$(calls stall)" "update update install" \
    "a stalled apt-get update is ended after its time bound and tried once more"
ok '[ "$rc" = 1 ] &&
    [ "$(grep -c "did not finish within 2 s" "$STATE/stall.log")" = 2 ] &&
    grep -q "^deps: installing from the package lists as they are" \
        "$STATE/stall.log" &&
    grep -q "^deps: FAILED: apt-get install could not install" \
        "$STATE/stall.log"' \
    "it says so at each step, then the failed install ends it loudly"
diag "$(cat "$STATE/stall.log")"

# make sandbox in the clone, as the README has it, with apt-get watched (a
# wrapper that logs each call and runs the real one): with the package
# lists present, no update step.  The sandbox gets this test's prefix and
# a folder of its state; the guest comes from this checkout's cache.
spybin=$STATE/spybin
mkdir -p "$spybin"
printf '%s\n' '#!/bin/sh' 'echo "$1" >> "$APT_CALLS"' \
    'exec /usr/bin/apt-get "$@"' > "$spybin/apt-get"
chmod 755 "$spybin/apt-get"
export SANDBOX_PREFIX=$PREFIX SANDBOX_STATE=$STATE/sandbox
export NETPOOL_GUEST_DIR=$TEST_TOP/build/guest
: > "$STATE/sandbox.calls"
rc=0
PATH="$spybin:$PATH" APT_CALLS=$STATE/sandbox.calls make_in sandbox sandbox ||
    rc=$?
ok '[ "$rc" = 0 ] && ! grep -qx update "$STATE/sandbox.calls" &&
    ! grep -q "updating the package lists" "$STATE/sandbox.log"' \
    "make sandbox in a fresh clone comes up with no apt-get update"
diag "$(grep -E '^(deps|sandbox|guest):' "$STATE/sandbox.log")"
[ "$rc" = 0 ] || diag "$(tail -n 30 "$STATE/sandbox.log")"

# The two commands of the README, then the guest's address from the
# switch's DHCP server, and a ping from the switch.
run() { "$clone/sandbox/run" "$@"; }
ok '[ -n "$(run h1 netpool vm-list name-label=tiny-linux is-a-template=true --minimal)" ]' \
    "the sandbox has the template tiny-linux"
web=$(run h1 netpool vm-install template=tiny-linux new-name-label=web) ||
    web=""
ok 'run h1 netpool vm-start uuid="$web"' \
    "vm-install template=tiny-linux, then vm-start, starts the VM"
mac=$(run h1 netpool vif-list vm-uuid="$web" params=MAC --minimal) || mac=""
address() { "$clone/scripts/sandbox.sh" leases | awk -v m="$mac" '$1 == m { print $2 }'; }
ok 'wait_until 120 eval "[ -n \"\$(address)\" ]"' \
    "the guest takes an address from the switch's DHCP server"
diag "the guest's lease: $mac $(address)"
ok 'wait_until 30 run switch ping -c 1 -W 1 "$(address)" > /dev/null' \
    "the guest answers ping from the switch"
run h1 netpool vm-shutdown uuid="$web" --force || true
ok 'make_in stop sandbox-stop && [ ! -e "$SANDBOX_STATE" ] &&
    [ -z "$(ip netns list | grep -F -- "$PREFIX")" ]' \
    "make sandbox-stop removes it"
