#!/usr/bin/env bash
#
# test-state-modes: nothing netpoold creates is open to anyone but root.
# After a start and some writes (a network, a user, a remote login with its
# session), every file netpoold made -- the store and its WAL and SHM
# files, the private key, the certificate, the root password, the
# inventory, the DHCP hook, its pidfile, log and socket -- has no group or
# other permission and the state folder is 0700.  Files an earlier version
# left open are closed at the next start, and the log says so.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 9

topo_switch_up
topo_host_up 1
hdir=$STATE/h1
sdir=$hdir/netpoold

np 1 network-create name-label=modes > /dev/null
np 1 user-create username=alice password=alice-secret-1 role=read-only \
    > /dev/null
np_remote switch 1 host-list --minimal > /dev/null

# "MODE PATH" of every file and folder netpoold made, state folder first.
netpoold_files() {
    find "$sdir" -printf '%m %p\n'
    stat -c '%a %n' "$hdir/netpoold.pid" "$hdir/netpoold.log" \
        "$hdir/netpoold.sock"
}
# Those whose mode gives group or others anything.
open_to_others() { netpoold_files | awk '$1 % 100 != 0'; }
mode() { stat -c %a "$sdir/$1"; }

diag "$(netpoold_files)"
ok '[ -e "$sdir/netpool.db-wal" ] && [ -e "$sdir/netpool.db-shm" ] &&
    [ -e "$sdir/host-key.pem" ] && [ -e "$sdir/root-password" ]' \
    "the state folder holds the store with its WAL and SHM, the key, the root password"
is "$(open_to_others)" "" "no file netpoold made is open to group or others"
is "$(mode .)" 700 "the state folder is 0700"
is "$(mode netpool.db) $(mode netpool.db-wal) $(mode netpool.db-shm)" \
    "600 600 600" "the store and its WAL and SHM files are 0600"
is "$(mode host-key.pem) $(mode host-cert.pem) $(mode root-password)" \
    "600 600 600" "the private key, the certificate, the root password are 0600"

# As an earlier version (or a careless copy) left them.
topo_netpoold_stop 1
chmod 755 "$sdir"
chmod 644 "$sdir/netpool.db" "$sdir/root-password" "$sdir/host-key.pem" \
    "$hdir/netpoold.log"
topo_netpoold_start 1
is "$(open_to_others)" "" "a restart closes the files left open"
is "$(mode . ) $(mode netpool.db) $(mode root-password)" "700 600 600" \
    "... folder 0700, files 0600"
ok 'grep -q "netpool.db: mode 0644 was open to others, now 0600" "$hdir/netpoold.log" &&
    grep -q "root-password: mode 0644 was open to others, now 0600" "$hdir/netpoold.log"' \
    "the log names each file it closed"
ok 'np 1 network-list --minimal | grep -q .' "the store still works"
