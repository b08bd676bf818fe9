# shellcheck shell=bash
#
# storage.sh — the storage server of a test topology: a namespace on the
# switch's storage VLAN running a userspace NFS server (nfs-ganesha, with
# rpcbind for NFSv3's mount protocol) and, when asked, a userspace iSCSI
# target (tgt's tgtd).  Sourced (never run) after
# scripts/topology.sh, by tests/integration/lib.sh and scripts/sandbox.sh.
#
#   ${PREFIX}storage  its namespace: NIC storage0 (a veth pair whose far
#                     end st-eth0 is an access port of sw0 in VLAN
#                     $STORAGE_VLAN, both ends at MTU $STORAGE_MTU) with
#                     address $STORAGE_ADDR/24.
#
# State lives under $STATE/storage: the exported folder export/, the
# configuration ganesha.conf, ganesha.log, the iSCSI LUNs' backing files
# iscsi/lunN.img, tgtd.log, the pidfiles, and run/, the private /run that
# rpcbind, ganesha and tgtd share (they run in their own mount namespace,
# so several storage namespaces can exist on one machine and the
# machine's own /run is never touched).
#
# Parameters (shell variables, read when a function runs):
#
#   STORAGE_VLAN   VLAN of the access port (default 20)
#   STORAGE_MTU    MTU of both veth ends and of the switch port (default
#                  9000)
#   STORAGE_ADDR   the server's address (default 198.18.20.1)
#   STORAGE_IQN    the iSCSI target's name (default
#                  iqn.2026-12.org.netpool.test:storage)
#
# Functions:
#
#   storage_up            create the namespace and start the NFS server
#   storage_nfs_start     start rpcbind and ganesha (again)
#   storage_nfs_stop      stop them (by PID), leaving the namespace and
#                         the exported files
#   storage_iscsi_start [N [MIB]]
#                         start tgtd with target $STORAGE_IQN exporting N
#                         disk LUNs (default 2, numbered from 1) of MIB
#                         MiB each (default 64), backed by sparse files
#                         (kept across a restart); it answers any
#                         initiator (the namespace is on the storage
#                         VLAN only)
#   storage_iscsi_stop    kill tgtd (by PID), leaving the backing files
#   storage_iscsi_lun N   print LUN N's backing file
#   storage_mtu MTU       set the server side's MTU (a path that is not
#                         jumbo end to end)
#   storage_export_dir    print the exported folder (as the server sees
#                         it: NFSv3 clients mount this path)
#   storage_down          stop everything and delete the namespace (also
#                         done by topo_down)
#
# Every process is started by us and stopped by the PID its pidfile names,
# after checking the process name.

STORAGE_VLAN=${STORAGE_VLAN:-20}
STORAGE_MTU=${STORAGE_MTU:-9000}
STORAGE_ADDR=${STORAGE_ADDR:-198.18.20.1}
STORAGE_IQN=${STORAGE_IQN:-iqn.2026-12.org.netpool.test:storage}

_storage_dir() { echo "$(_topo_state)/storage"; }
_storage_ns() { echo "${PREFIX}storage"; }

storage_export_dir() { echo "$(_storage_dir)/export"; }

storage_up() (
    set -eu -o pipefail
    _topo_check_params || exit 1
    state=$(_topo_state)
    ns=$(_storage_ns)
    sw=$(topo_ns switch)
    dir=$(_storage_dir)
    if ! _topo_namespaces | grep -qx -- "$sw"; then
        _topo_log "switch namespace $sw is not up: call topo_switch_up first"
        exit 1
    fi
    _topo_do mkdir -p "$dir/export" "$dir/run" "$dir/recovery"
    _topo_do ip netns add "$ns"
    _topo_do ip -n "$ns" link set lo up
    _topo_do ip -n "$sw" link add st-eth0 mtu "$STORAGE_MTU" type veth \
        peer name storage0 netns "$ns" mtu "$STORAGE_MTU"
    _topo_nic_up "$sw" st-eth0
    _topo_nic_up "$ns" storage0
    _topo_do ovs-vsctl --db="unix:$state/switch/ovs/db.sock" \
        add-port sw0 st-eth0 tag="$STORAGE_VLAN" \
        -- set Interface st-eth0 mtu_request="$STORAGE_MTU"
    _topo_do ip -n "$ns" addr add "$STORAGE_ADDR/24" dev storage0
    storage_nfs_start || exit 1
)

storage_nfs_start() (
    set -eu -o pipefail
    _topo_check_params || exit 1
    dir=$(_storage_dir)
    ns=$(_storage_ns)
    if [ -n "$(_topo_pid_of "$dir/ganesha.pid" ganesha.nfsd)" ]; then
        _topo_log "ganesha of $ns is already running"
        exit 1
    fi
    # NFSv3 (what QEMU's and netpoold's libnfs clients speak) and v4 over
    # TCP; root stays root (the hosts write images as root); no grace
    # period, so a restarted server serves at once.
    cat > "$dir/ganesha.conf" << CONF
NFS_CORE_PARAM {
    Bind_addr = $STORAGE_ADDR;
    Protocols = 3, 4;
    Enable_UDP = false;
    Enable_NLM = false;
    Enable_RQUOTA = false;
}
NFSv4 {
    Graceless = true;
    RecoveryRoot = "$dir/recovery";
}
EXPORT {
    Export_Id = 1;
    Path = "$dir/export";
    Pseudo = "/export";
    Protocols = 3, 4;
    Transports = TCP;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    FSAL { Name = VFS; }
}
LOG {
    Default_Log_Level = EVENT;
}
CONF
    # rpcbind and ganesha share a private /run (rpcbind's socket and lock
    # live there).  ganesha daemonizes once its listeners are up.
    # shellcheck disable=SC2016  # $0..$3 belong to the inner sh
    _topo_do ip netns exec "$ns" unshare -m --propagation private sh -c '
        mount --bind "$0/run" /run || exit 1
        if [ ! -S /run/rpcbind.sock ] ||
            ! kill -0 "$(cat "$0/rpcbind.pid" 2>/dev/null)" 2>/dev/null; then
            rm -f /run/rpcbind.sock /run/rpcbind.lock
            rpcbind -f -w < /dev/null > /dev/null 2>&1 &
            echo $! > "$0/rpcbind.pid"
            i=0
            while [ ! -S /run/rpcbind.sock ] && [ $i -lt 50 ]; do
                sleep 0.1
                i=$((i + 1))
            done
        fi
        exec ganesha.nfsd -f "$0/ganesha.conf" -L "$0/ganesha.log" \
            -p "$0/ganesha.pid" -N NIV_EVENT' "$dir"
    # Ready once it listens for NFS.
    for _ in $(seq 100); do
        if ip netns exec "$ns" ss -Htln "sport = :2049" | grep -q .; then
            exit 0
        fi
        sleep 0.1
    done
    _topo_log "ganesha in $ns does not listen on port 2049; see $dir/ganesha.log"
    exit 1
)

storage_nfs_stop() (
    _topo_check_params || exit 1
    dir=$(_storage_dir)
    pid=$(_topo_pid_of "$dir/ganesha.pid" ganesha.nfsd)
    [ -z "$pid" ] || _topo_stop_pids 10 "$pid"
)

storage_iscsi_lun() { echo "$(_storage_dir)/iscsi/lun${1:?usage: storage_iscsi_lun N}.img"; }

# Runs a command in the storage namespace with the private /run.
_storage_run() {
    # shellcheck disable=SC2016  # $0 belongs to the inner sh
    ip netns exec "$(_storage_ns)" unshare -m --propagation private sh -c '
        mount --bind "$0/run" /run || exit 1
        exec "$@"' "$(_storage_dir)" "$@"
}

storage_iscsi_start() (
    set -eu -o pipefail
    _topo_check_params || exit 1
    dir=$(_storage_dir)
    luns=${1:-2}
    mib=${2:-64}
    if [ -n "$(_topo_pid_of "$dir/tgtd.pid" tgtd)" ]; then
        _topo_log "tgtd of $(_storage_ns) is already running"
        exit 1
    fi
    _topo_do mkdir -p "$dir/iscsi" "$dir/run/tgtd"
    # A killed tgtd leaves its control socket behind.
    rm -f "$dir"/run/tgtd/socket.*
    # tgtd stays in the foreground (its PID is the one we started) and
    # listens on the storage address only.
    # ip netns exec, unshare and sh each exec the next: $! is tgtd's PID.
    # shellcheck disable=SC2016  # $0 belongs to the inner sh
    ip netns exec "$(_storage_ns)" unshare -m --propagation private sh -c '
        mount --bind "$0/run" /run || exit 1
        exec tgtd -f --iscsi "portal=$1:3260"' "$dir" "$STORAGE_ADDR" \
        < /dev/null > "$dir/tgtd.log" 2>&1 &
    echo $! > "$dir/tgtd.pid"
    for _ in $(seq 100); do
        if _storage_run tgtadm --lld iscsi --op show --mode target \
            > /dev/null 2>&1; then
            break
        fi
        sleep 0.1
    done
    adm() { _topo_do _storage_run tgtadm --lld iscsi "$@"; }
    adm --op new --mode target --tid 1 --targetname "$STORAGE_IQN"
    for n in $(seq "$luns"); do
        file=$dir/iscsi/lun$n.img
        [ -e "$file" ] || _topo_do truncate -s "${mib}M" "$file"
        adm --op new --mode logicalunit --tid 1 --lun "$n" --backing-store "$file"
    done
    adm --op bind --mode target --tid 1 --initiator-address ALL
    for _ in $(seq 100); do
        if ip netns exec "$(_storage_ns)" ss -Htln "sport = :3260" | grep -q .; then
            exit 0
        fi
        sleep 0.1
    done
    _topo_log "tgtd in $(_storage_ns) does not listen on port 3260; see $dir/tgtd.log"
    exit 1
)

# tgtd does not end on SIGTERM while it has targets: it is killed, as a
# target that fails is (the backing files are written through, nothing is
# lost).
storage_iscsi_stop() (
    _topo_check_params || exit 1
    pid=$(_topo_pid_of "$(_storage_dir)/tgtd.pid" tgtd)
    [ -z "$pid" ] || { kill -KILL "$pid"; _topo_wait_gone 10 "$pid" > /dev/null; }
    exit 0
)

storage_mtu() (
    set -eu -o pipefail
    _topo_check_params || exit 1
    _topo_do ip -n "$(_storage_ns)" link set storage0 mtu "${1:?usage: storage_mtu MTU}"
)

storage_down() (
    set +e -u
    _topo_check_params || exit 1
    dir=$(_storage_dir)
    ns=$(_storage_ns)
    pids=()
    mapfile -t -O 0 pids < <(_topo_pid_of "$dir/ganesha.pid" ganesha.nfsd)
    mapfile -t -O "${#pids[@]}" pids < <(_topo_pid_of "$dir/rpcbind.pid" rpcbind)
    _topo_stop_pids 10 "${pids[@]}"
    storage_iscsi_stop
    if ip netns list | awk '{print $1}' | grep -qx -- "$ns"; then
        mapfile -t pids < <(ip netns pids "$ns" 2> /dev/null)
        _topo_stop_pids 5 "${pids[@]}"
        ip netns del "$ns"
    fi
    exit 0
)
