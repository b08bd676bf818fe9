#!/usr/bin/env bash
#
# test-api: the API's typed errors over the wire, and a daemon that keeps
# serving.  Malformed JSON, an unknown method, a wrong parameter type, a
# wrong parameter count, an oversized request and an unknown uuid each get
# their typed error; a client that stalls half-way through a request does
# not stop others; HTTPS without a login reads nothing.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 21

topo_switch_up
topo_host_up 1
sock=$STATE/h1/netpoold.sock
cert=$STATE/h1/netpoold/host-cert.pem
ip1=$(topo_mgmt_ip 1)

# POST a body (from stdin) to the local socket; print the response body.
post() { curl -sS --max-time 30 --unix-socket "$sock" \
    -H 'Content-Type: application/json' --data-binary @- \
    http://localhost/jsonrpc; }
# The typed error code of a response on stdin, or "ok" for a result.
code() { python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["error"]["data"][0] if "error" in r else "ok")'; }
# The codes of a batch's responses, in order.
codes() { python3 -c '
import json, sys
print(" ".join(r["error"]["data"][0] if "error" in r else "ok"
               for r in json.load(sys.stdin)))'; }
alive() { [ "$(echo '{"jsonrpc":"2.0","id":9,"method":"host.get_all",
    "params":[""]}' | post | code)" = ok ]; }

networks_before=$(np 1 network-list params=uuid --minimal)

is "$(printf '{"jsonrpc":"2.0","id":1,"method":' | post | code)" \
    JSON_PARSE_ERROR "truncated JSON gets JSON_PARSE_ERROR"
is "$(printf 'not json at all' | post | code)" JSON_PARSE_ERROR \
    "garbage gets JSON_PARSE_ERROR"
is "$(printf '[1,2]' | post | codes)" \
    "JSONRPC_INVALID_REQUEST JSONRPC_INVALID_REQUEST" \
    "a batch of two non-requests gets an invalid request for each"
is "$(printf '[]' | post | code)" JSONRPC_INVALID_REQUEST \
    "an empty batch is an invalid request"
is "$(printf '[{"jsonrpc":"2.0","id":1,"method":"host.get_all","params":[""]},{"jsonrpc":"2.0","id":2,"method":"host.frobnicate","params":[""]}]' \
    | post | codes)" "ok MESSAGE_METHOD_UNKNOWN" \
    "a batch answers each request in order"
is "$(printf '{"jsonrpc":"2.0","id":1,"method":"host.frobnicate","params":[""]}' \
    | post | code)" MESSAGE_METHOD_UNKNOWN "unknown method"
is "$(printf '{"jsonrpc":"2.0","id":1,"method":"network.create","params":["",{"name_label":7}]}' \
    | post | code)" FIELD_TYPE_ERROR "wrong parameter type"
is "$(printf '{"jsonrpc":"2.0","id":1,"method":"network.get_record","params":["","a","b"]}' \
    | post | code)" MESSAGE_PARAMETER_COUNT_MISMATCH "wrong parameter count"
is "$(printf '{"jsonrpc":"2.0","id":1,"method":"network.get_record","params":["","%s"]}' \
    "$(cat /proc/sys/kernel/random/uuid)" | post | code)" HANDLE_INVALID \
    "unknown uuid gets HANDLE_INVALID"
is "$(printf '{"jsonrpc":"2.0","id":1,"method":"network.create","params":["",{"name_label":"x","MTU":10000}]}' \
    | post | code)" INVALID_VALUE "MTU 10000 gets INVALID_VALUE"

# 1.5 MiB: above the API's limit, below the transport's.
big=$(python3 -c 'print("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"network.create\",\"params\":[\"\",{\"name_label\":\"" + "x" * (1536 * 1024) + "\"}]}")')
is "$(echo "$big" | post | code)" REQUEST_TOO_LARGE \
    "a 1.5 MiB request gets REQUEST_TOO_LARGE"
# 3 MiB: refused by the transport with HTTP 413.
status=$(python3 -c 'print("x" * (3 * 1024 * 1024))' | curl -s -o /dev/null \
    -w '%{http_code}' --unix-socket "$sock" --data-binary @- \
    http://localhost/jsonrpc || true)
is "$status" 413 "a 3 MiB request gets HTTP 413"
ok alive "the daemon still serves after every bad request"

names=$(np 1 network-list params=uuid --minimal 2>&1 || true)
is "$names" "$networks_before" "no rejected request left a network behind"

# A client that stops half-way through its request holds one connection,
# not the daemon.
stall_fifo=$STATE/stall.fifo
mkfifo "$stall_fifo"
socat -u "PIPE:$stall_fifo" "UNIX-CONNECT:$sock" &
stall_pid=$!
exec 7> "$stall_fifo"
printf 'POST /jsonrpc HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"js' >&7
sleep 0.5
ok alive "another client is served while one stalls mid-request"
uuid=$(np 1 network-create name-label=during-stall)
ok '[ -n "$uuid" ]' "a write succeeds while one client stalls"
exec 7>&-
kill "$stall_pid" 2> /dev/null || true
wait "$stall_pid" 2> /dev/null || true

# HTTPS: no login reads nothing; a wrong password is refused.
https() { on switch curl -sS --max-time 30 --cacert "$cert" \
    --data-binary @- "https://$ip1/jsonrpc"; }
resp=$(printf '{"jsonrpc":"2.0","id":1,"method":"network.get_all_records","params":[""]}' | https)
is "$(echo "$resp" | code)" SESSION_INVALID "HTTPS without a session: SESSION_INVALID"
ok '! echo "$resp" | grep -q during-stall' "HTTPS without a session reads nothing"
resp=$(printf '{"jsonrpc":"2.0","id":1,"method":"network.get_all","params":["%s"]}' \
    "$(cat /proc/sys/kernel/random/uuid)" | https)
is "$(echo "$resp" | code)" SESSION_INVALID "HTTPS with a made-up session: SESSION_INVALID"
resp=$(printf '{"jsonrpc":"2.0","id":1,"method":"session.login_with_password","params":["root","wrong-password"]}' | https)
is "$(echo "$resp" | code)" SESSION_AUTHENTICATION_FAILED \
    "a wrong password gets SESSION_AUTHENTICATION_FAILED"
tls=$(on switch curl -sS -o /dev/null --max-time 10 --cacert "$cert" \
    --tls-max 1.1 "https://$ip1/jsonrpc" 2>&1 || true)
ok '[ -n "$tls" ]' "TLS 1.1 is refused"
