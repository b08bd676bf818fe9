# shellcheck shell=bash
#
# topology.sh — build and tear down netpool test topologies out of network
# namespaces, veth pairs and private Open vSwitch instances.  Sourced (never
# run) by scripts/sandbox.sh and tests/integration/lib.sh.
#
# The layout (N = host number, 1..99):
#
#   ${PREFIX}switch   the "physical switch": its own OVS instance with bridge
#                     sw0 (datapath_type=netdev) and the internal port sw0 at
#                     198.18.0.1/24, the gateway of the management network.
#   ${PREFIX}hN       a "host": its own OVS instance, NICs eth0..eth3 (veth
#                     pairs whose far ends hN-eth0..hN-eth3 are ports of sw0),
#                     eth0 at 198.18.0.(10+N)/24 with a default route via
#                     198.18.0.1, and its own netpoold (which sees the
#                     hostname hN: it runs in its own UTS namespace).
#
# State lives under $STATE:
#
#   $STATE/switch/ovs/        the switch's OVS: conf.db, db.sock, pidfiles,
#                             logs, control sockets (OVS_RUNDIR = OVS_DBDIR =
#                             OVS_LOGDIR = this folder)
#   $STATE/hN/ovs/            host N's OVS, same shape
#   $STATE/hN/netpoold/       netpoold's --state-dir (root-password,
#                             host-cert.pem, the store)
#   $STATE/hN/netpoold.sock   netpoold's unix socket (what the CLI talks to)
#   $STATE/hN/netpoold.pid    netpoold's pidfile
#   $STATE/hN/netpoold.log    netpoold's log
#
# Parameters (shell variables, read when a function runs):
#
#   PREFIX        namespace prefix, e.g. "np-" (required; it must end in "-"
#                 so that no prefix is a prefix of another one)
#   STATE         state folder (required)
#   NETPOOL_BIN   folder holding netpoold and netpool (default: build/bin of
#                 this checkout)
#   TOPO_NETPOOLD_EXTRA_ARGS
#                 extra netpoold arguments, split on blanks (for example
#                 "--resync-interval 3600")
#   TOPO_SWITCH_MTU
#                 if set (e.g. 9216), the switch side of every NIC (the veth
#                 end hN-ethJ and its sw0 port's mtu_request) gets this MTU,
#                 as a jumbo-frame switch has; the host side keeps 1500 until
#                 netpool raises it.  Unset: 1500 everywhere.
#   TOPO_SWITCH=bridge
#                 the switch is a kernel bridge sw0 (forwarding in the
#                 kernel, as a hardware switch forwards in its ASIC) instead
#                 of an OVS instance: for benchmarks of many hosts, where a
#                 userspace switch sharing the cores with every host drops
#                 bursts from its packet sockets.  It forwards tagged
#                 frames as they come (no VLAN filtering) and has no LACP;
#                 tests that need those keep the OVS switch (the default).
#   TOPO_NETPOOLD=0
#                 fabric only: build a host's OVS and NICs but do not start
#                 netpoold
#   TOPO_SANITIZER_DIR
#                 if set, netpoold runs with ASAN_OPTIONS/UBSAN_OPTIONS
#                 log_path=$TOPO_SANITIZER_DIR/hN-netpoold, so each sanitizer
#                 report (an error, or leaks at exit) lands in a file
#                 hN-netpoold.PID there.  That folder should lie outside
#                 $STATE (topo_down deletes $STATE).
#   TOPO_LOG_ARCHIVE
#                 if set, topo_down appends every netpoold and OVS log to
#                 $TOPO_LOG_ARCHIVE/NAME-LOG before it deletes $STATE.
#   TOPO_DATAPATH=dpdk
#                 hosts (not the switch) run the DPDK build of the switch,
#                 $TOPO_OVS_DPDK, instead of ovs-vswitchd; it does nothing
#                 with DPDK until other_config:dpdk-init=true.  Its control
#                 socket is ovs-vswitchd-dpdk.PID.ctl; a link
#                 ovs-vswitchd.PID.ctl to it lets `ovs-appctl -t
#                 ovs-vswitchd` (and netpoold's readers) find it.  Unset:
#                 the plain ovs-vswitchd everywhere.
#
# Functions:
#
#   topo_switch_up          create ${PREFIX}switch
#   topo_host_up N          create ${PREFIX}hN and start its netpoold
#   topo_netpoold_start N   start host N's netpoold again after a stop
#   topo_dhcp_up            serve DHCP on the management network from the
#                           switch (busybox udhcpd on sw0): addresses
#                           198.18.0.150-198.18.0.250, router 198.18.0.1,
#                           leases in $STATE/switch/udhcpd.leases (written
#                           every second; topo_dhcp_leases prints them)
#   topo_dhcp_leases        print "MAC ADDRESS" of each lease given
#   topo_guest_up N G       create ${PREFIX}hNgG, an empty namespace that
#                           plays guest G of host N (a VIF's
#                           other-config:netns); topo_down deletes it
#   topo_netpoold_stop N [SIGNAL]
#                           stop host N's netpoold with SIGNAL (default
#                           TERM) and wait until it is gone
#   topo_host_env N|hN|switch
#                           print "export VAR=value" lines (for eval) that
#                           make netpool talk to host N's netpoold and
#                           ovs-vsctl/ovs-appctl/ovs-ofctl to its OVS
#   topo_on N|hN|hNgG|switch CMD...
#                           run CMD in that node's namespace with the
#                           environment topo_host_env prints
#   topo_ns N|hN|switch     print the namespace name
#   topo_mgmt_ip N          print host N's management address
#   topo_down               stop everything, delete namespaces and $STATE
#
# The *_up functions run in a subshell and stop at the first failing step
# with a message on stderr and status 1; the caller then calls topo_down,
# which cleans up any partial state.  Every process is started by us and is
# stopped by the PID its pidfile names, after checking the process name.

TOPO_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOPO_OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
TOPO_OVS_DPDK=${TOPO_OVS_DPDK:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
TOPO_NICS=4        # eth0..eth3 per host
TOPO_MTU=1500

# --- helpers -------------------------------------------------------------

_topo_log() { echo "topology: $*" >&2; }

# Run a command; on failure print it and leave the (subshell) function.
_topo_do() {
    "$@" || { _topo_log "failed ($?): $*"; exit 1; }
}

# Validate PREFIX and STATE before we create or delete anything with them.
_topo_check_params() {
    if [[ ! ${PREFIX:-} =~ ^[A-Za-z0-9]+-$ ]]; then
        _topo_log "PREFIX must be letters/digits followed by '-' (got '${PREFIX:-}')"
        return 1
    fi
    if [ -z "${STATE:-}" ] || [ "${STATE:-}" = / ]; then
        _topo_log "STATE must name a state folder (got '${STATE:-}')"
        return 1
    fi
}

# Absolute form of $STATE (it may not exist yet).
_topo_state() { realpath -m -- "$STATE"; }

# Absolute form of $NETPOOL_BIN.
_topo_bin() { realpath -m -- "${NETPOOL_BIN:-$TOPO_TOP/build/bin}"; }

# Normalise a node name: "1" or "h1" -> "h1", "switch" -> "switch".
_topo_node() {
    case "$1" in
        switch) echo switch ;;
        h[0-9]*) echo "$1" ;;
        [0-9]*) echo "h$1" ;;
        *) _topo_log "bad node name '$1' (want N, hN or switch)"; return 1 ;;
    esac
}

topo_ns() {
    local node
    node=$(_topo_node "$1") || return 1
    echo "${PREFIX}${node}"
}

topo_mgmt_ip() {
    local node
    node=$(_topo_node "$1") || return 1
    echo "198.18.0.$((10 + ${node#h}))"
}

# The OVS environment variables of a node, one "VAR=value" per line.
_topo_ovs_vars() {
    local dir
    dir="$(_topo_state)/$1/ovs"
    echo "OVS_RUNDIR=$dir"
    echo "OVS_DBDIR=$dir"
    echo "OVS_LOGDIR=$dir"
    echo "OVS_SYSCONFDIR=$dir"
}

# Start a private ovsdb-server + ovs-vswitchd inside namespace $1, with its
# files in $2.  Runs inside a *_up subshell.
_topo_ovs_start() {
    local ns=$1 dir=$2
    _topo_do mkdir -p "$dir"
    export OVS_RUNDIR=$dir OVS_DBDIR=$dir OVS_LOGDIR=$dir OVS_SYSCONFDIR=$dir
    if [ ! -e "$dir/conf.db" ]; then
        _topo_do ovsdb-tool create "$dir/conf.db" "$TOPO_OVS_SCHEMA"
    fi
    _topo_do ip netns exec "$ns" ovsdb-server "$dir/conf.db" \
        --remote="punix:$dir/db.sock" \
        --remote=db:Open_vSwitch,Open_vSwitch,manager_options \
        --pidfile="$dir/ovsdb-server.pid" -vconsole:warn \
        --log-file="$dir/ovsdb-server.log" --detach --no-chdir
    _topo_do ovs-vsctl --db="unix:$dir/db.sock" --no-wait init
    local vswitchd=ovs-vswitchd
    if [ "${TOPO_DATAPATH:-}" = dpdk ] && [[ $dir != */switch/ovs ]]; then
        vswitchd=$TOPO_OVS_DPDK
    fi
    _topo_do ip netns exec "$ns" "$vswitchd" "unix:$dir/db.sock" \
        --pidfile="$dir/ovs-vswitchd.pid" -vconsole:warn \
        --log-file="$dir/ovs-vswitchd.log" --detach --no-chdir
    if [ "$vswitchd" != ovs-vswitchd ]; then
        local pid
        pid=$(cat "$dir/ovs-vswitchd.pid")
        _topo_do ln -sf "ovs-vswitchd-dpdk.$pid.ctl" \
            "$dir/ovs-vswitchd.$pid.ctl"
    fi
}

# Bring an interface up inside namespace $1 with checksum offload off.
_topo_nic_up() {
    local ns=$1 ifname=$2
    _topo_do ip -n "$ns" link set "$ifname" up
    # TCP over veth + AF_PACKET (OVS netdev datapath) needs tx checksum
    # offload off; ethtool has no -n, so enter the namespace.
    _topo_do ip netns exec "$ns" ethtool -K "$ifname" tx off >/dev/null
}

# --- bring-up ------------------------------------------------------------

topo_switch_up() (
    set -eu -o pipefail
    _topo_check_params || exit 1
    state=$(_topo_state)
    ns=$(topo_ns switch)
    _topo_do mkdir -p "$state/switch"
    _topo_do ip netns add "$ns"
    _topo_do ip -n "$ns" link set lo up
    if [ "${TOPO_SWITCH:-ovs}" = bridge ]; then
        _topo_do ip -n "$ns" link add sw0 type bridge stp_state 0 \
            forward_delay 0
    else
        _topo_ovs_start "$ns" "$state/switch/ovs"
        # ovs-vsctl (without --no-wait) waits for vswitchd to create the
        # tap.
        _topo_do ovs-vsctl --db="unix:$state/switch/ovs/db.sock" \
            add-br sw0 -- set bridge sw0 datapath_type=netdev
    fi
    _topo_do ip -n "$ns" link set sw0 up
    _topo_do ip -n "$ns" addr add 198.18.0.1/24 dev sw0
)

topo_host_up() (
    set -eu -o pipefail
    _topo_check_params || exit 1
    node=$(_topo_node "${1:?usage: topo_host_up N}") || exit 1
    n=${node#h}
    if ! [[ $n =~ ^[1-9][0-9]?$ ]]; then
        _topo_log "host number must be 1..99 (got '$1')"
        exit 1
    fi
    state=$(_topo_state)
    ns=$(topo_ns "$node")
    sw=$(topo_ns switch)
    hdir=$state/$node
    if ! _topo_namespaces | grep -qx -- "$sw"; then
        _topo_log "switch namespace $sw is not up: call topo_switch_up first"
        exit 1
    fi
    _topo_do mkdir -p "$hdir"
    _topo_do ip netns add "$ns"
    _topo_do ip -n "$ns" link set lo up
    _topo_ovs_start "$ns" "$hdir/ovs"

    # NICs: ethJ in the host, hN-ethJ in the switch, an (untagged) port of
    # sw0.  Both ends are created directly inside their namespaces, so no
    # name ever exists in the root namespace.
    for ((j = 0; j < TOPO_NICS; j++)); do
        local_if=eth$j
        peer_if=$node-eth$j
        _topo_do ip -n "$sw" link add "$peer_if" \
            mtu "${TOPO_SWITCH_MTU:-$TOPO_MTU}" type veth \
            peer name "$local_if" netns "$ns" mtu "$TOPO_MTU"
        _topo_nic_up "$sw" "$peer_if"
        _topo_nic_up "$ns" "$local_if"
        mtu_args=()
        if [ -n "${TOPO_SWITCH_MTU:-}" ]; then
            mtu_args=(-- set Interface "$peer_if"
                mtu_request="$TOPO_SWITCH_MTU")
        fi
        if [ "${TOPO_SWITCH:-ovs}" = bridge ]; then
            _topo_do ip -n "$sw" link set "$peer_if" master sw0
        else
            _topo_do ovs-vsctl --db="unix:$state/switch/ovs/db.sock" \
                add-port sw0 "$peer_if" "${mtu_args[@]}"
        fi
    done

    # Management address and default route on eth0.
    _topo_do ip -n "$ns" addr add "$(topo_mgmt_ip "$n")/24" dev eth0
    _topo_do ip -n "$ns" route add default via 198.18.0.1 dev eth0

    if [ "${TOPO_NETPOOLD:-1}" != 0 ]; then
        topo_netpoold_start "$n" || exit 1
    fi
)

# Create namespace guest G of host N: ${PREFIX}hNgG with lo up.  netpoold
# puts the guest end of the VIF's veth into it.
topo_guest_up() (
    set -eu -o pipefail
    _topo_check_params || exit 1
    node=$(_topo_node "${1:?usage: topo_guest_up N G}") || exit 1
    guest=${2:?usage: topo_guest_up N G}
    if ! [[ $guest =~ ^[1-9][0-9]?$ ]]; then
        _topo_log "guest number must be 1..99 (got '$guest')"
        exit 1
    fi
    _topo_do ip netns add "${PREFIX}${node}g$guest"
    _topo_do ip -n "${PREFIX}${node}g$guest" link set lo up
)

topo_dhcp_up() (
    set -eu -o pipefail
    _topo_check_params || exit 1
    dir=$(_topo_state)/switch
    if ! _topo_namespaces | grep -qx -- "$(topo_ns switch)"; then
        _topo_log "switch namespace $(topo_ns switch) is not up"
        exit 1
    fi
    printf '%s\n' "start 198.18.0.150" "end 198.18.0.250" "interface sw0" \
        "lease_file $dir/udhcpd.leases" "pidfile $dir/udhcpd.pid" \
        "auto_time 1" "option subnet 255.255.255.0" \
        "option router 198.18.0.1" "option lease 3600" \
        > "$dir/udhcpd.conf"
    _topo_do touch "$dir/udhcpd.leases"
    # udhcpd goes into the background; topo_down stops it by PID like
    # every process in the switch namespace.
    _topo_do ip netns exec "$(topo_ns switch)" busybox udhcpd \
        "$dir/udhcpd.conf"
)

topo_dhcp_leases() {
    local file
    file="$(_topo_state)/switch/udhcpd.leases"
    [ -s "$file" ] || return 0
    busybox dumpleases -f "$file" -a 2> /dev/null |
        awk 'NR > 1 && $1 ~ /:/ { print $1, $2 }'
}

# Start host N's netpoold (again).  Its state folder persists between
# starts, so a restart finds its store, certificate and root password.
topo_netpoold_start() (
    set -eu -o pipefail
    _topo_check_params || exit 1
    node=$(_topo_node "${1:?usage: topo_netpoold_start N}") || exit 1
    state=$(_topo_state)
    ns=$(topo_ns "$node")
    hdir=$state/$node
    bin=$(_topo_bin)
    if [ ! -x "$bin/netpoold" ]; then
        _topo_log "$bin/netpoold not found: build it first (make / make test-build)"
        exit 1
    fi
    if [ -n "$(_topo_pid_of "$hdir/netpoold.pid" netpoold)" ]; then
        _topo_log "netpoold of $node is already running"
        exit 1
    fi
    # Sanitizer reports go to files (see TOPO_SANITIZER_DIR above).
    san_env=()
    if [ -n "${TOPO_SANITIZER_DIR:-}" ]; then
        _topo_do mkdir -p "$TOPO_SANITIZER_DIR"
        san_log=$(realpath -m -- "$TOPO_SANITIZER_DIR")/$node-netpoold
        san_env=(
            "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$san_log:detect_leaks=1"
            "UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$san_log:print_stacktrace=1"
        )
    fi
    read -ra extra <<< "${TOPO_NETPOOLD_EXTRA_ARGS:-}"
    # netpoold --detach returns once its listeners are ready.  It runs with
    # the host's OVS environment, so any ovs-* tool it runs sees its OVS,
    # and in its own UTS namespace with the hostname hN, so that hosts have
    # distinct names.
    mapfile -t ovs_env < <(_topo_ovs_vars "$node")
    # shellcheck disable=SC2016  # $0 and $@ belong to the inner sh
    _topo_do env "${ovs_env[@]}" "${san_env[@]}" \
        ip netns exec "$ns" unshare --uts \
        sh -c 'hostname "$0" && exec "$@"' "$node" "$bin/netpoold" \
        --state-dir "$hdir/netpoold" \
        --unix-socket "$hdir/netpoold.sock" \
        --pidfile "$hdir/netpoold.pid" \
        --log-file "$hdir/netpoold.log" \
        --log-level debug \
        --management-interface eth0 \
        --ovs-db "unix:$hdir/ovs/db.sock" \
        "${extra[@]}" \
        --detach
    if [ -z "$(_topo_pid_of "$hdir/netpoold.pid" netpoold)" ] ||
        [ ! -S "$hdir/netpoold.sock" ]; then
        _topo_log "netpoold in $ns returned, but is not running with its pidfile and socket"
        exit 1
    fi
)

# Stop host N's netpoold with SIGNAL (default TERM) and wait until it has
# exited; after TERM, SIGKILL it if it is still there after 20 s.  Status 1
# if it was not running.  Its state folder stays for topo_netpoold_start.
topo_netpoold_stop() (
    _topo_check_params || exit 1
    node=$(_topo_node "${1:?usage: topo_netpoold_stop N [SIGNAL]}") || exit 1
    sig=${2:-TERM}
    pid=$(_topo_pid_of "$(_topo_state)/$node/netpoold.pid" netpoold)
    if [ -z "$pid" ]; then
        _topo_log "netpoold of $node is not running"
        exit 1
    fi
    kill -s "$sig" "$pid" || exit 1
    if ! _topo_wait_gone 20 "$pid" > /dev/null; then
        _topo_stop_pids 1 "$pid"
    fi
)

# Print "export VAR=value" lines for eval: the CLI talks to the node's
# netpoold (hosts only), the ovs-* tools to its OVS, and $NETPOOL_BIN comes
# first on PATH.
topo_host_env() (
    _topo_check_params || exit 1
    node=$(_topo_node "${1:?usage: topo_host_env N|hN|switch}") || exit 1
    state=$(_topo_state)
    while IFS= read -r kv; do
        printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
    done < <(_topo_ovs_vars "$node")
    # ovs-vsctl has no environment variable for its database, but it
    # defaults to unix:$OVS_RUNDIR/db.sock; OVS_DB is for other tools.
    printf 'export OVS_DB=%q\n' "unix:$state/$node/ovs/db.sock"
    if [ "$node" != switch ]; then
        printf 'export NETPOOL_SOCKET=%q\n' "$state/$node/netpoold.sock"
    fi
    printf 'export PATH=%q\n' "$(_topo_bin):$PATH"
)

# Run CMD... in node $1's namespace, with topo_host_env's environment.
topo_on() {
    local node=$1
    shift
    (
        eval "$(topo_host_env "$node")"
        exec ip netns exec "$(topo_ns "$node")" "$@"
    )
}

# --- teardown ------------------------------------------------------------

# Print "PID" if pidfile $1 names a live process whose name is $2.
_topo_pid_of() {
    local pidfile=$1 comm=$2 pid
    [ -r "$pidfile" ] || return 0
    pid=$(tr -dc '0-9' < "$pidfile")
    [ -n "$pid" ] || return 0
    # The name check guards against a PID reused since the pidfile was
    # written.
    if _topo_running "$pid" &&
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
        echo "$pid"
    fi
}

# True if PID runs.  A zombie does not: it has exited and only waits for
# its parent (init, for a daemon) to reap it, which may happen at any
# moment: one read of the status file decides.
_topo_running() {
    local state
    state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Wait up to $1 seconds until none of the given PIDs runs any more.  Prints
# the PIDs still running and returns 1 if the time ran out.
_topo_wait_gone() {
    local timeout=$1 pid alive deadline
    shift
    deadline=$((SECONDS + timeout))
    while :; do
        alive=()
        for pid in "$@"; do
            if _topo_running "$pid"; then
                alive+=("$pid")
            fi
        done
        [ ${#alive[@]} -gt 0 ] || return 0
        if [ $SECONDS -ge $deadline ]; then
            echo "${alive[@]}"
            return 1
        fi
        sleep 0.1
    done
}

# SIGTERM the given PIDs, wait up to $1 seconds for all of them, then
# SIGKILL whichever remain.
_topo_stop_pids() {
    local timeout=$1 pid alive desc=()
    shift
    [ $# -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null
    alive=$(_topo_wait_gone "$timeout" "$@") && return 0
    for pid in $alive; do
        desc+=("$pid($(cat "/proc/$pid/comm" 2>/dev/null))")
    done
    _topo_log "still running after ${timeout}s, sending SIGKILL: ${desc[*]}"
    # shellcheck disable=SC2086  # a list of PIDs
    kill -KILL $alive 2>/dev/null
    # shellcheck disable=SC2086
    _topo_wait_gone 5 $alive > /dev/null
    return 0
}

# Our namespaces: ${PREFIX}switch, ${PREFIX}hN, its guests and the storage
# server's (scripts/storage.sh).
_topo_namespaces() {
    ip netns list 2>/dev/null | awk '{print $1}' |
        grep -E "^${PREFIX}(switch|storage|h[0-9]+|h[0-9]+g[0-9]+)\$" || true
}

topo_down() (
    # Best effort: keep going past every failure (set +e), report at the end.
    set +e -u
    trap - ERR
    _topo_check_params || exit 1
    state=$(_topo_state)
    mapfile -t namespaces < <(_topo_namespaces)

    # 1. Processes from pidfiles: netpoold first (it may talk to OVS on its
    #    way out; an ASan build checks for leaks at exit, so give it time),
    #    then ovs-vswitchd, then ovsdb-server.
    pids=()
    for f in "$state"/h*/netpoold.pid; do
        mapfile -t -O "${#pids[@]}" pids < <(_topo_pid_of "$f" netpoold)
    done
    _topo_stop_pids 20 "${pids[@]}"
    for daemon in ovs-vswitchd ovsdb-server; do
        pids=()
        for f in "$state"/*/ovs/"$daemon".pid; do
            mapfile -t -O "${#pids[@]}" pids < <(_topo_pid_of "$f" "$daemon")
        done
        _topo_stop_pids 10 "${pids[@]}"
    done

    # 2. Anything else still running inside our namespaces (a daemon whose
    #    pidfile was never written, a test's background helper) was started
    #    by us too: stop it by PID.
    pids=()
    for ns in "${namespaces[@]}"; do
        mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
    done
    _topo_stop_pids 5 "${pids[@]}"

    # 3. OVS leaves its tap devices (ovs-netdev, one per bridge) behind:
    #    delete every tun/tap device in our namespaces, then the namespaces.
    for ns in "${namespaces[@]}"; do
        while read -r ifname; do
            ip -n "$ns" link del "$ifname" 2>/dev/null || true
        done < <(ip -n "$ns" -o link show type tun 2>/dev/null |
            awk -F': ' '{sub(/@.*/, "", $2); print $2}')
        ip netns del "$ns" 2>/dev/null || true
    done

    # 4. Keep the logs if asked, then delete the state folder.
    if [ -n "${TOPO_LOG_ARCHIVE:-}" ] && [ -d "$state" ]; then
        mkdir -p "$TOPO_LOG_ARCHIVE"
        for f in "$state"/*/netpoold.log "$state"/*/ovs/*.log \
            "$state"/*/netpoold/corosync/corosync.log; do
            [ -f "$f" ] || continue
            rel=${f#"$state"/}
            cat "$f" >> "$TOPO_LOG_ARCHIVE/${rel//\//-}"
        done
    fi
    rm -rf -- "$state"

    left=$(_topo_namespaces)
    if [ -n "$left" ]; then
        _topo_log "namespaces left behind: $left"
        exit 1
    fi
    exit 0
)

# Restart node N's Open vSwitch (ovs-vswitchd and ovsdb-server, stopped by
# PID).  With "wipe", its database is deleted first, so OVS comes back empty
# as after a reinstall.  netpoold keeps running and must reconcile.
topo_ovs_restart() (
    set -eu -o pipefail
    _topo_check_params || exit 1
    node=$(_topo_node "${1:?usage: topo_ovs_restart N [wipe]}") || exit 1
    dir=$(_topo_state)/$node/ovs
    for daemon in ovs-vswitchd ovsdb-server; do
        pid=$(_topo_pid_of "$dir/$daemon.pid" "$daemon")
        if [ -n "$pid" ]; then
            kill -TERM "$pid"
            _topo_wait_gone 20 "$pid" > /dev/null || _topo_stop_pids 1 "$pid"
        fi
    done
    if [ "${2:-}" = wipe ]; then
        rm -f "$dir/conf.db" "$dir/.conf.db.~lock~"
    fi
    _topo_ovs_start "$(topo_ns "$node")" "$dir"
)
