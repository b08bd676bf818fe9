# shellcheck shell=bash
#
# lib.sh — sourced by every tests/integration/test-*.sh.
#
# It gives each test a private topology namespace prefix and state folder,
# tears the topology down on every exit (pass, failure, error, signal), and
# provides TAP helpers:
#
#   plan N                  print the plan "1..N" (or let the exit trap print
#                           "1..count" when a test never called plan)
#   ok COND NAME            one test point; COND is an exit status (0 passes)
#                           or a shell command string run with eval
#   is GOT EXPECTED NAME    one test point comparing two strings
#   skip NAME REASON        one skipped test point
#   diag MSG...             a TAP comment line
#   bail_out MSG            abort the whole test
#   wait_until TIMEOUT CMD...
#                           run CMD every 0.2 s (TIMEOUT: whole seconds) until it succeeds (status 0)
#                           or TIMEOUT seconds have passed (status 1).  Tests
#                           use it to wait for state, never to assert how
#                           long something took.
#   np HOST ARGS...         the CLI `netpool ARGS` inside host HOST (N or hN)
#                           talking to its netpoold over the unix socket
#   np_error HOST ARGS...   the CLI inside host HOST expecting it to fail:
#                           prints "CODE PARAM, PARAM" of its typed error
#                           (or "unexpected success")
#   np_remote FROM TO ARGS...
#                           the CLI inside node FROM (N, hN or switch) talking
#                           to host TO over HTTPS as root, with TO's
#                           self-signed certificate as the CA file
#   on NODE CMD...          any command inside node NODE with its environment
#                           (ovs-vsctl, ovs-appctl talk to NODE's OVS)
#
# Pools of namespace hosts (hN is host N, named hN in its store):
#   pw [N]                  root's password on host N (default 1)
#   host_uuid N             host N's UUID, as host N knows it
#   pool_join N             host N joins h1's pool
#   status N                host N's pool-status --json (fails if it does
#                           not answer)
#   field KEY               the value of KEY in the JSON object on stdin
#   quorate_with N MEMBERS  host N sees a quorate, synced pool of MEMBERS
#   is_master N             host N acts as the pool's master
#   ha_state N [M]          the ha-state of host M (default N) as N sees it
#   all_stay N...           each host N sees its own ha-state "stay"
#   links N up|down         every NIC of host N, at the switch
#   kill_host N             SIGKILL of host N's netpoold and corosync, as a
#                           power loss
#   storage_hosts_up        the switch with jumbo frames (MTU 9216), hosts 1-3
#                           and the storage server on the switch's VLAN 20
#   storage_pool_up         hosts 1-3 (up already) in h1's pool, VLAN 20 at
#                           MTU 9000 from eth1 to the storage server (up
#                           already) and a shared NFS SR on it, connected
#                           everywhere: three test points; sets $sr (the SR)
#                           and $bridge (the VLAN's bridge)
#
# Variables a test may set before calling topo_host_up:
#   TOPO_NETPOOLD_EXTRA_ARGS   extra netpoold arguments
#
# Environment (set by tests/run-all.sh; defaults for running a test alone):
#   NETPOOL_BIN             binaries (default build/test/bin, the ASan build)
#   NETPOOL_TEST_PREFIX     namespace prefix (default npt$$-)
#   NETPOOL_TEST_STATE      state folder (default a new mktemp folder)
#   NETPOOL_TEST_ARTIFACTS  where logs and sanitizer reports are kept after
#                           the state folder is gone (default
#                           build/test/logs/NAME.d)
#
# Sanitizers: every ASan/UBSan report of netpoold (errors, and leaks found
# when it exits after topo_down's SIGTERM) is written to
# $NETPOOL_TEST_ARTIFACTS/sanitizer/hN-netpoold.PID, and reports of other
# processes (the CLI) to .../sanitizer/proc.PID.  At exit this library
# prints any such report and exits 1; tests/run-all.sh fails the test too.

set -eEuo pipefail

TEST_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/topology.sh
source "$TEST_TOP/scripts/topology.sh"
# shellcheck source=scripts/storage.sh
source "$TEST_TOP/scripts/storage.sh"

TEST_NAME=$(basename "$0" .sh)
PREFIX=${NETPOOL_TEST_PREFIX:-npt$$-}
STATE=${NETPOOL_TEST_STATE:-$(mktemp -d /tmp/netpool-test.XXXXXX)}
NETPOOL_BIN=$(realpath -m -- "${NETPOOL_BIN:-$TEST_TOP/build/test/bin}")
TEST_ARTIFACTS=$(realpath -m -- \
    "${NETPOOL_TEST_ARTIFACTS:-$TEST_TOP/build/test/logs/$TEST_NAME.d}")
TOPO_SANITIZER_DIR=$TEST_ARTIFACTS/sanitizer
TOPO_LOG_ARCHIVE=$TEST_ARTIFACTS/logs
export NETPOOL_BIN
rm -rf -- "$TEST_ARTIFACTS"
mkdir -p -- "$TOPO_SANITIZER_DIR" "$TOPO_LOG_ARCHIVE"

# Sanitizer reports of every other ASan-built process go to files as well.
export ASAN_OPTIONS="detect_leaks=1:log_path=$TOPO_SANITIZER_DIR/proc"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$TOPO_SANITIZER_DIR/proc"
# Leaks inside libraries that netpool cannot mend (tests/integration/lsan.supp).
export LSAN_OPTIONS="suppressions=$TEST_TOP/tests/integration/lsan.supp:print_suppressions=0"

_test_count=0
_test_failed=0
_test_planned=

if [ "$(id -u)" != 0 ]; then
    echo "Bail out! integration tests need root (network namespaces)"
    exit 1
fi
for _bin in netpoold netpool; do
    if [ ! -x "$NETPOOL_BIN/$_bin" ]; then
        echo "Bail out! $NETPOOL_BIN/$_bin is missing: run make test-build"
        exit 1
    fi
done

# --- TAP -------------------------------------------------------------------

diag() {
    local line
    while IFS= read -r line; do
        echo "# $line"
    done <<< "$*"
}

plan() {
    _test_planned=$1
    echo "1..$1"
}

_test_result() { # PASS(0/1) NAME
    _test_count=$((_test_count + 1))
    if [ "$1" = 1 ]; then
        echo "ok $_test_count - $2"
    else
        echo "not ok $_test_count - $2"
        _test_failed=$((_test_failed + 1))
    fi
}

ok() {
    local cond=$1 name=$2
    if [[ $cond =~ ^[0-9]+$ ]]; then
        if [ "$cond" -eq 0 ]; then _test_result 1 "$name"; else
            _test_result 0 "$name"
            diag "  exit status $cond"
        fi
    else
        # A condition like "cmd | grep -q x" is judged by grep alone: with
        # pipefail, grep leaving at its first match could fail the writer
        # with SIGPIPE, depending on timing.
        local passed=0
        set +o pipefail
        eval "$cond" && passed=1
        set -o pipefail
        if [ "$passed" = 1 ]; then
            _test_result 1 "$name"
        else
            _test_result 0 "$name"
            diag "  failed: $cond"
        fi
    fi
    return 0
}

is() {
    local got=$1 expected=$2 name=$3
    if [ "$got" = "$expected" ]; then
        _test_result 1 "$name"
    else
        _test_result 0 "$name"
        diag "       got: '$got'"
        diag "  expected: '$expected'"
    fi
    return 0
}

skip() {
    _test_count=$((_test_count + 1))
    echo "ok $_test_count - $1 # SKIP ${2:-}"
}

bail_out() {
    echo "Bail out! $*"
    exit 1
}

# --- helpers -----------------------------------------------------------------

wait_until() {
    local timeout=$1 now deadline
    shift
    # EPOCHREALTIME: microseconds, so short timeouts are honoured exactly.
    now=${EPOCHREALTIME/./}
    deadline=$((now + timeout * 1000000))
    while :; do
        if "$@"; then
            return 0
        fi
        now=${EPOCHREALTIME/./}
        [ "$now" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

on() { topo_on "$@"; }

np() {
    local node=$1
    shift
    on "$node" netpool "$@"
}

np_error() {
    local err host=$1
    shift
    if err=$(np "$host" "$@" 2>&1 > /dev/null); then
        echo "unexpected success"
    else
        echo "$err" | sed -n 's/^Error code: //p; s/^Error parameters: //p' |
            paste -sd ' '
    fi
}

np_remote() {
    local from=$1 to pw
    to=$(_topo_node "$2")
    shift 2
    pw=$(cat "$STATE/$to/netpoold/root-password")
    (
        eval "$(topo_host_env "$from")"
        unset NETPOOL_SOCKET
        exec ip netns exec "$(topo_ns "$from")" netpool \
            -s "$(topo_mgmt_ip "$to")" -u root -pw "$pw" \
            --cafile "$STATE/$to/netpoold/host-cert.pem" "$@"
    )
}

# --- pools -------------------------------------------------------------------

pw() { cat "$STATE/h${1:-1}/netpoold/root-password"; }
host_uuid() { np "$1" host-list name-label=h"$1" --minimal; }
pool_join() {
    np "$1" pool-join master-address="$(topo_mgmt_ip 1)" master-username=root \
        master-password="$(pw 1)"
}
status() { np "$1" pool-status --json 2> /dev/null; }
field() {
    python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
quorate_with() { # N MEMBERS
    local s
    s=$(status "$1") || return 1
    [ "$(echo "$s" | field quorate)" = True ] &&
        [ "$(echo "$s" | field synced)" = True ] &&
        [ "$(echo "$s" | field members)" = "$2" ]
}
is_master() { [ "$(status "$1" | field master)" = True ]; }
ha_state() { # N [OF-HOST]
    np "$1" host-param-get uuid="$(host_uuid "${2:-$1}")" param-name=ha-state \
        2> /dev/null
}
all_stay() {
    local n
    for n in "$@"; do
        [ "$(ha_state "$n")" = stay ] || return 1
    done
}
links() { # N up|down
    local i
    for i in 0 1 2 3; do
        on switch ip link set "h$1-eth$i" "$2"
    done
}
kill_host() { # N
    local f pid
    for f in "$STATE/h$1/netpoold.pid" \
        "$STATE/h$1/netpoold/corosync/run/corosync.pid"; do
        pid=$(cat "$f" 2> /dev/null) || continue
        kill -9 "$pid" 2> /dev/null || true
        # shellcheck disable=SC2016  # eval expands it
        wait_until 10 eval '! kill -0 "$pid" 2> /dev/null' || true
    done
}

storage_reaches() { # N
    on "$1" ping -c 1 -W 1 -I "$bridge" "$STORAGE_ADDR" > /dev/null 2>&1
}
storage_sr_connected() {
    local p n=0
    for p in $(np 1 pbd-list SR-uuid="$sr" --minimal | tr , ' '); do
        [ "$(np 1 pbd-param-get uuid="$p" param-name=connected)" = true ] ||
            return 1
        n=$((n + 1))
    done
    [ "$n" = 3 ]
}
storage_hosts_up() {
    local n
    TOPO_SWITCH_MTU=9216
    topo_switch_up
    for n in 1 2 3; do
        topo_host_up $n
    done
    storage_up
}
storage_pool_up() {
    local n eth1 storage_net vpifs vpif host
    for n in 2 3; do
        pool_join $n
    done
    wait_until 60 quorate_with 1 3 || true
    ok 'quorate_with 1 3' "h1, h2 and h3 form a pool"
    eth1=$(np 1 pif-list host-uuid="$(host_uuid 1)" device=eth1 --minimal)
    np 1 network-param-set MTU=9000 \
        uuid="$(np 1 pif-param-get uuid="$eth1" param-name=network)"
    storage_net=$(np 1 network-create name-label=storage MTU=9000)
    vpifs=$(np 1 pool-vlan-create pif-uuid="$eth1" vlan=20 \
        network-uuid="$storage_net")
    for vpif in ${vpifs//,/ }; do
        host=$(np 1 pif-param-get uuid="$vpif" param-name=host)
        n=$(np 1 host-param-get uuid="$host" param-name=name-label)
        np 1 pif-reconfigure-ip uuid="$vpif" mode=static \
            IP="198.18.20.1${n#h}" netmask=255.255.255.0
    done
    bridge=$(np 1 network-param-get uuid="$storage_net" param-name=bridge)
    for n in 1 2 3; do
        wait_until 60 storage_reaches $n ||
            diag "h$n does not reach the storage server"
    done
    sr=$(np 1 sr-create name-label=heartbeat type=nfs shared=true \
        device-config:server="$STORAGE_ADDR" \
        device-config:serverpath="$(storage_export_dir)")
    ok $? "a shared NFS SR on VLAN 20"
    ok 'wait_until 60 storage_sr_connected' "every host has it connected"
}

# --- Prometheus --------------------------------------------------------------

# Starts a Prometheus server in node N that scrapes N's netpoold
# (127.0.0.1:9440) every second and answers queries on 127.0.0.1:9441,
# with its files under $STATE/prometheus; prometheus_down stops it, and so
# does the test's exit.
_prom_pid=
prometheus_up() { # N
    _prom_node=$1
    _prom_dir=$STATE/prometheus
    mkdir -p "$_prom_dir/data"
    cat > "$_prom_dir/prometheus.yml" << CONF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: netpool
    static_configs:
      - targets: ['127.0.0.1:9440']
CONF
    on "$1" prometheus --config.file="$_prom_dir/prometheus.yml" \
        --storage.tsdb.path="$_prom_dir/data" \
        --web.listen-address=127.0.0.1:9441 > "$_prom_dir/log" 2>&1 &
    _prom_pid=$!
}
prometheus_down() {
    [ -n "$_prom_pid" ] || return 0
    kill "$_prom_pid" 2> /dev/null || true
    wait "$_prom_pid" 2> /dev/null || true
    _prom_pid=
}
# The end of Prometheus's log, for a diagnostic.
prometheus_log() { tail -3 "$_prom_dir/log"; }
# Prints the value of the first result of PromQL QUERY, or nothing.
promql() { # QUERY
    on "$_prom_node" curl -sS --max-time 10 --data-urlencode "query=$1" \
        http://127.0.0.1:9441/api/v1/query 2> /dev/null |
        python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2> /dev/null
}

# --- DPDK --------------------------------------------------------------------

# dpdk_require PAGES POINT...: the test runs its hosts on OVS-DPDK
# (TOPO_DATAPATH=dpdk) and needs PAGES free 2 MiB hugepages.  Raises
# /proc/sys/vm/nr_hugepages as far as that takes; the test's exit gives it
# back as it was, after the topology (and whatever held hugepages) is
# down.  Without the DPDK build of ovs-vswitchd, or with too few pages, it
# says so, skips every POINT by name and ends the test.
_dpdk_hugepages=/proc/sys/vm/nr_hugepages
_dpdk_hugepages_saved=
dpdk_require() { # PAGES POINT...
    local wanted=$1 point why=
    shift
    export TOPO_DATAPATH=dpdk
    dpdk_keep_hugepages
    if [ ! -x "$TOPO_OVS_DPDK" ]; then
        why="no DPDK build of ovs-vswitchd ($TOPO_OVS_DPDK)"
    else
        if [ "$(dpdk_free_pages)" -lt "$wanted" ]; then
            echo $((_dpdk_hugepages_saved + wanted - $(dpdk_free_pages))) \
                > "$_dpdk_hugepages" 2> /dev/null || true
        fi
        [ "$(dpdk_free_pages)" -ge "$wanted" ] ||
            why="only $(dpdk_free_pages) of $wanted hugepages could be allocated"
    fi
    if [ -n "$why" ]; then
        for point; do
            skip "$point" "$why"
        done
        exit 0
    fi
}
# The free 2 MiB hugepages now.
dpdk_free_pages() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }
# Remembers nr_hugepages, which the test's exit gives back.
dpdk_keep_hugepages() {
    [ -n "$_dpdk_hugepages_saved" ] ||
        _dpdk_hugepages_saved=$(cat "$_dpdk_hugepages")
}
_dpdk_restore_hugepages() {
    [ -n "$_dpdk_hugepages_saved" ] || return 0
    [ "$(cat "$_dpdk_hugepages")" = "$_dpdk_hugepages_saved" ] ||
        echo "$_dpdk_hugepages_saved" > "$_dpdk_hugepages" 2> /dev/null ||
        true
}

# --- exit handling -----------------------------------------------------------

_test_on_error() {
    echo "# error: '$2' failed with status $3 (line $1 of $TEST_NAME)"
}

_test_on_exit() {
    local rc=$? f
    set +e
    trap - ERR
    prometheus_down
    # Keep the logs of what is still up, then tear it all down.
    if ! topo_down; then
        diag "topo_down reported a problem"
        rc=1
    fi
    _dpdk_restore_hugepages
    # Sanitizer reports (netpoold writes its leak report as it exits).
    for f in "$TOPO_SANITIZER_DIR"/*; do
        [ -s "$f" ] || continue
        diag "sanitizer report $f:"
        diag "$(cat "$f")"
        rc=1
    done
    if [ -z "$_test_planned" ]; then
        echo "1..$_test_count"
    elif [ "$_test_planned" != "$_test_count" ]; then
        diag "planned $_test_planned tests but ran $_test_count"
        rc=1
    fi
    if [ "$_test_failed" -gt 0 ]; then
        diag "failed $_test_failed of $_test_count"
        rc=1
    fi
    exit "$rc"
}

trap '_test_on_error $LINENO "$BASH_COMMAND" $?' ERR
trap _test_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
