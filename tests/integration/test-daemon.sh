#!/usr/bin/env bash
#
# test-daemon: netpoold as a service — configuration file plus flags, a
# pidfile that keeps a second daemon out, a root-only socket, SIGHUP reload
# (a bad file is refused and the daemon keeps its configuration), and a
# clean SIGTERM shutdown.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 13

conf=$STATE/h1/netpoold.conf
mkdir -p "$STATE/h1"
cat > "$conf" <<CONF
# netpoold configuration for the test
log-level = info
resync-interval = 3600
CONF
TOPO_NETPOOLD_EXTRA_ARGS="--config $conf"
topo_switch_up
topo_host_up 1
hdir=$STATE/h1
log=$hdir/netpoold.log
pid=$(cat "$hdir/netpoold.pid")

is "$(stat -c %a "$hdir/netpoold.sock")" 600 "the local socket is mode 0600"
is "$(stat -c %a "$hdir/netpoold/root-password")" 600 \
    "the root password file is mode 0600"
ok 'openssl x509 -in "$hdir/netpoold/host-cert.pem" -noout -subject | grep -q "CN = $(topo_mgmt_ip 1)"' \
    "the certificate's CN is the management address"
ok 'openssl x509 -in "$hdir/netpoold/host-cert.pem" -noout -checkend $((9 * 365 * 86400)) > /dev/null' \
    "the certificate is valid for more than nine years"

out=$(on 1 netpoold --state-dir "$hdir/netpoold" --unix-socket "$hdir/other.sock" \
    --pidfile "$hdir/netpoold.pid" --https-port 0 2>&1) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $out == *"another netpoold"* ]]' \
    "a second netpoold on the same pidfile refuses to start"
out=$(on 1 netpoold --https-port 99999 2>&1) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $out == *https-port* ]]' \
    "a bad option value is refused, naming the option"

# SIGHUP with a valid file: the new log level applies (the command line's
# --log-level debug wins, so switch the file's other values).
lines_before=$(wc -l < "$log")
kill -HUP "$pid"
wait_until 10 grep -q "configuration reloaded" "$log" || true
ok 'grep -q "configuration reloaded" "$log"' "SIGHUP reloads the configuration"

# SIGHUP with a broken file: refused, daemon alive and serving.
echo "no-such-key = 1" >> "$conf"
kill -HUP "$pid"
wait_until 10 grep -q "reload failed" "$log" || true
ok 'grep -q "reload failed.*no-such-key" "$log"' \
    "a bad file on reload is refused, naming the key"
ok "kill -0 $pid" "the daemon survives a bad reload"
ok "np 1 host-list --minimal > /dev/null" "and keeps serving"
ok '[ "$(wc -l < "$log")" -gt "$lines_before" ]' "the log is still written"

topo_netpoold_stop 1 TERM
ok '[ ! -e "$hdir/netpoold.pid" ] && [ ! -e "$hdir/netpoold.sock" ]' \
    "SIGTERM removes the pidfile and the socket"
ok 'grep -q "netpoold stopping" "$log"' "SIGTERM shuts down cleanly"
