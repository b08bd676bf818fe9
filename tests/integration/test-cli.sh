#!/usr/bin/env bash
#
# test-cli: netpool round trips over the unix socket and over HTTPS with a
# login, typed errors with exit status 1, roles, event-wait, and the
# certificate check of a remote connection.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 27

topo_switch_up
topo_host_up 1
ip1=$(topo_mgmt_ip 1)
cert=$STATE/h1/netpoold/host-cert.pem
uuid_re='^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$'

# --- local, over the unix socket ------------------------------------------
net=$(np 1 network-create name-label=storage MTU=9000 other-config:purpose=iscsi)
ok '[[ $net =~ $uuid_re ]]' "network-create prints the new uuid"
ok 'np 1 network-list --minimal | tr , "\n" | grep -qx "$net"' \
    "network-list --minimal lists it"
is "$(np 1 network-param-get uuid="$net" param-name=MTU)" 9000 \
    "param-get reads MTU"
np 1 network-param-set uuid="$net" name-description="iSCSI traffic" \
    other-config:owner=ops
is "$(np 1 network-param-get uuid="$net" param-name=name-description)" \
    "iSCSI traffic" "param-set writes name-description"
is "$(np 1 network-param-get uuid="$net" param-name=other-config param-key=owner)" \
    ops "param-set writes a map key"
np 1 network-param-set uuid="$net" other-config:a=1 other-config:b=2
is "$(np 1 network-param-get uuid="$net" param-name=other-config)" \
    "purpose: iscsi; owner: ops; a: 1; b: 2" \
    "param-set writes several map keys in one command, keeping the others"
ok 'np 1 network-param-list uuid="$net" | grep -Eq "name-label \( RW\) *: storage"' \
    "param-list shows fields xe-style with their mode"
is "$(np 1 network-list name-label=storage --minimal)" "$net" \
    "list filters by field"
ok 'np 1 network-list --json | python3 -c "import json,sys; json.load(sys.stdin)"' \
    "--json prints JSON"

err=$(np 1 network-param-set uuid="$net" MTU=10000 2>&1 >/dev/null) && rc=0 || rc=$?
is "$rc" 1 "a bad MTU exits 1"
ok '[[ $err == *INVALID_VALUE* && $err == *MTU* ]]' \
    "the error names its code and the field"
is "$(np 1 network-param-get uuid="$net" param-name=MTU)" 9000 \
    "the rejected value changed nothing"

np 1 network-destroy uuid="$net"
err=$(np 1 network-param-get uuid="$net" param-name=MTU 2>&1 >/dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *HANDLE_INVALID* ]]' \
    "a destroyed network gives HANDLE_INVALID"
err=$(np 1 no-such-command 2>&1 >/dev/null) && rc=0 || rc=$?
is "$rc" 1 "an unknown command exits 1"

# Objects named by name-label.
np 1 network-create name-label=by-name > /dev/null
np 1 network-param-set network=by-name name-description=named
is "$(np 1 network-list name-label=by-name params=name-description --minimal)" \
    named "objects are found by name-label"

# --- remote, over HTTPS -------------------------------------------------------
rnet=$(np_remote switch 1 network-create name-label=remote-net)
ok '[[ $rnet =~ $uuid_re ]]' "network-create over HTTPS"
is "$(np 1 network-param-get uuid="$rnet" param-name=name-label)" remote-net \
    "the remote write is visible locally"
is "$(np_remote switch 1 network-param-get uuid="$rnet" param-name=name-label)" \
    remote-net "param-get over HTTPS"

err=$(on switch netpool -s "$ip1" -u root -pw wrong-password --cafile "$cert" \
    host-list 2>&1 >/dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *SESSION_AUTHENTICATION_FAILED* ]]' \
    "a wrong password gives SESSION_AUTHENTICATION_FAILED"

pw=$(cat "$STATE/h1/netpoold/root-password")
err=$(on switch env -u NETPOOL_CAFILE netpool -s "$ip1" -u root -pw "$pw" \
    host-list 2>&1 >/dev/null) && rc=0 || rc=$?
is "$rc" 1 "an untrusted certificate is refused"
ok '[[ $err == *SSL* || $err == *certificate* ]]' \
    "the refusal says why"

# --- roles -------------------------------------------------------------------
np 1 user-create username=alice password=alice-secret role=read-only > /dev/null
as_alice() { on switch netpool -s "$ip1" -u alice -pw alice-secret \
    --cafile "$cert" "$@"; }
ok 'as_alice network-list --minimal | grep -q "$rnet"' "read-only user can read"
err=$(as_alice network-create name-label=nope 2>&1 >/dev/null) && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $err == *PERMISSION_DENIED* ]]' \
    "read-only user cannot write"
ok '! np 1 network-list params=name-label --minimal | grep -q nope' \
    "the refused write left nothing"
ok '! np 1 user-list params=all | grep -qi "password-hash"' \
    "user records never show a password hash"

# --- event-wait --------------------------------------------------------------
np 1 event-wait class=network name-label=later timeout=30 > /dev/null &
waiter=$!
sleep 1
np 1 network-create name-label=later > /dev/null
wait "$waiter" && rc=0 || rc=$?
is "$rc" 0 "event-wait returns when the object appears"
np 1 event-wait class=network name-label=never timeout=1 > /dev/null 2>&1 \
    && rc=0 || rc=$?
is "$rc" 1 "event-wait times out with exit 1"
