#!/usr/bin/env bash
#
# test-reconcile: the incremental reconciler against its full recompute.
# NETPOOL_TEST_OPS random operations (default 200; 1000 in
# tests/soak/test-reconcile-ops.sh, make soak), seeded (the seed is
# printed; NETPOOL_TEST_SEED reproduces a run; reconcile-ops.py
# makes them over the API) create, plug, unplug, change and destroy VIFs
# of namespace guests (some locked, some rate-limited, so they have
# OpenFlow rules and meters), and create and destroy a VLAN and a bond,
# with host-wait-applied, the barrier that says the fabric holds the
# changes, after every few.  After each of those a port whose row did not
# change still has its UUID.  At checkpoints the whole of OVS (bridges,
# ports, interfaces with their UUIDs, every bridge's rules and meters) and
# the guests' veths are dumped, a full recompute is forced (a host
# other_config change, which the fabric reads) and the dump must not
# change.  In the middle an OVS restart, a wiped OVS database and a
# netpoold restart each converge to what was there before (the same UUIDs,
# except after the wipe).  The reconciler's counters show that incremental
# runs did the work, and one VIF's unplug touches its own port only.
# A VIF unplugged in the same pass as another VIF's change that the
# incremental run cannot cope with (it empties a bridge only VIFs bring)
# leaves no rule or meter behind.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 15

SEED=${NETPOOL_TEST_SEED:-$((RANDOM * 32768 + RANDOM))}
OPS=${NETPOOL_TEST_OPS:-200}
# The checkpoints (an OVS restart, a wiped database, a netpoold restart
# come after the first three).
c1=$((OPS * 3 / 10)) c2=$((OPS * 6 / 10)) c3=$((OPS * 85 / 100))
diag "seed $SEED (NETPOOL_TEST_SEED=$SEED reproduces this run)"
RANDOM=$SEED

TOPO_NICS=4
topo_switch_up
topo_host_up 1
for g in 1 2 3 4; do
    topo_guest_up 1 "$g"
done

vsctl() { on 1 ovs-vsctl --timeout=10 "$@"; }
ofctl() { on 1 ovs-ofctl --timeout=10 -O OpenFlow13 "$@"; }
pif() { np 1 pif-list device="$1" physical=true --minimal; }
applied() { np 1 host-wait-applied timeout=60 > /dev/null; }

wait_until 30 eval '[ "$(vsctl list-br | wc -l)" = 4 ]' || true
applied
host=$(np 1 host-list --minimal)
p1=$(pif eth1) p2=$(pif eth2) p3=$(pif eth3)
net=$(np 1 network-create name-label=private)
bnet=$(np 1 network-create name-label=bonded)
declare -A vnet
for tag in 10 20 30; do
    vnet[$tag]=$(np 1 network-create name-label="vlan$tag")
done
vms=()
for i in 0 1; do
    vms+=("$(np 1 vm-create name-label="vm$i")")
done

# What OVS and the guests hold, one line per row, sorted.  With "uuids"
# the rows' UUIDs are part of it.
ovs_dump() {
    local with=${1:-}
    {
        vsctl --format=json --columns=_uuid,name,datapath_type,external_ids,other_config,ports,sflow,ipfix,netflow list Bridge
        echo
        vsctl --format=json --columns=_uuid,name,tag,trunks,bond_mode,lacp,bond_updelay,bond_downdelay,external_ids,other_config,fake_bridge,interfaces list Port
        echo
        vsctl --format=json --columns=_uuid,name,type,mtu_request,ingress_policing_rate,ingress_policing_burst,external_ids,options,other_config,bfd list Interface
        echo
    } | python3 -c '
import json, sys
with_uuids = sys.argv[1] == "uuids"
docs = [json.loads(x) for x in sys.stdin.read().split("\n") if x.strip()]
def value(v, names):
    if isinstance(v, list) and v and v[0] == "uuid":
        return names.get(v[1], v[1])
    if isinstance(v, list) and v and v[0] == "set":
        return sorted(str(value(x, names)) for x in v[1])
    if isinstance(v, list) and v and v[0] == "map":
        return sorted([str(k), str(value(x, names))] for k, x in v[1])
    return v
names = {}
for doc in docs:
    h = doc["headings"]
    for row in doc["data"]:
        names[row[0][1]] = row[h.index("name")]
lines = []
for table, doc in zip(("bridge", "port", "interface"), docs):
    h = doc["headings"]
    for row in doc["data"]:
        fields = {k: value(v, names) for k, v in zip(h, row)
                  if k != "_uuid"}
        if with_uuids:
            fields["_uuid"] = row[0][1]
        lines.append(table + " " + json.dumps(fields, sort_keys=True))
print("\n".join(sorted(lines)))
' "$with"
    # Rules and meters with OpenFlow port numbers (and the meter IDs made
    # from them) as port names: a new database numbers ports anew.
    for br in $(vsctl --bare --columns=name list Bridge | sort); do
        {
            ofctl dump-ports-desc "$br"
            echo "@@"
            ofctl dump-flows --no-stats "$br"
            ofctl dump-meters "$br"
        } | python3 -c '
import re, sys
bridge, base = sys.argv[1], 0x4E500000
names, out, meter, desc = {}, [], None, True
for line in sys.stdin:
    line = line.strip()
    if line == "@@":
        desc = False
        continue
    if desc:
        m = re.match(r"(\d+)\(([^)]*)\):", line)
        if m:
            names[int(m[1])] = m[2]
        continue
    if not line or line.startswith("OFPST"):
        continue
    port = lambda n: names.get(n, "#%d" % n)
    line = re.sub(r"in_port=(\d+)", lambda m: "in_port=" + port(int(m[1])),
                  line)
    line = re.sub(r"meter([:=])(\d+)",
                  lambda m: "meter" + m[1] + port(int(m[2]) - base), line)
    if line.startswith("meter="):
        meter = len(out)
        out.append(line)
    elif meter is not None and line.startswith("type="):
        out[meter] += " " + line
    else:
        out.append(line)
for line in sorted(out):
    print(bridge, line)
' "$br"
    done
    for g in 1 2 3 4; do
        on "h1g$g" ip -o link show | awk -v g="$g" \
            '$2 != "lo:" { print "guest" g, $2, $5, $(NF-2) }' | sort
    done
    on 1 ip -o link show | awk '$2 ~ /^vif/ { print $2 }' | sort
}

# A full recompute: a host other_config key the fabric reads (the flow
# export settings live there) changes, which no handler copes with.
full_recompute() {
    np 1 host-param-set uuid="$host" other-config:np-test-resync="$RANDOM"
    applied
}

# --- the random operations --------------------------------------------------

OPS_STATE=$STATE/ops.json
python3 - "$OPS_STATE" << PY
import json, sys
json.dump({
    "socket": "$STATE/h1/netpoold.sock",
    "db": "$STATE/h1/ovs/db.sock",
    "seed": "$SEED",
    "net": "$net", "bnet": "$bnet",
    "vnets": {"10": "${vnet[10]}", "20": "${vnet[20]}", "30": "${vnet[30]}"},
    "vms": ["${vms[0]}", "${vms[1]}"],
    "pifs": ["$p1", "$p2", "$p3"],
    "guests": ["${PREFIX}h1g1", "${PREFIX}h1g2", "${PREFIX}h1g3",
               "${PREFIX}h1g4"],
    "slots": {}, "vlan": None, "vlan_tag": None, "bond": None,
    "ops": 0, "refused": 0, "failed_waits": 0, "recreated": [],
}, open(sys.argv[1], "w"))
PY
run_ops() { # FIRST LAST
    python3 "$TEST_TOP/tests/integration/reconcile-ops.py" "$OPS_STATE" "$1" "$2"
}
ops_field() { # KEY
    python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]
print("\n".join(v) if isinstance(v, list) else v)' "$OPS_STATE" "$1"
}

# Dumps, forces a full recompute, dumps again: the two must be equal.
checkpoint() { # NAME
    local a b
    a=$(ovs_dump uuids)
    full_recompute
    b=$(ovs_dump uuids)
    if [ "$a" = "$b" ]; then
        ok 0 "$1: OVS rows (with UUIDs), rules, meters and veths equal a full recompute's"
    else
        ok 1 "$1: OVS rows (with UUIDs), rules, meters and veths equal a full recompute's"
        diag "$(diff <(echo "$a") <(echo "$b") | head -20)"
    fi
}

applied
ok 'np 1 host-param-get uuid="$host" param-name=applied-seq | grep -qx "[1-9][0-9]*"' \
    "the host reports the store sequence its fabric holds (applied-seq)"

run_ops 1 $c1
checkpoint "after $c1 operations"

# An OVS restart (its database kept): everything as it was, same UUIDs.
before=$(ovs_dump uuids)
topo_ovs_restart 1
wait_until 30 eval '[ "$(ovs_dump uuids)" = "$before" ]' || true
applied
is "$(ovs_dump uuids)" "$before" "an OVS restart converges to the same rows, UUIDs, rules and veths"
run_ops $((c1 + 1)) $c2
checkpoint "after $c2 operations and an OVS restart"

# A wiped OVS database: everything again, new UUIDs.
before=$(ovs_dump)
topo_ovs_restart 1 wipe
wait_until 30 eval '[ "$(ovs_dump)" = "$before" ]' || true
applied
is "$(ovs_dump)" "$before" "a wiped OVS database converges to the same rows, rules and veths"
run_ops $((c2 + 1)) $c3
checkpoint "after $c3 operations and a wiped OVS database"

# A netpoold restart: its start is a full recompute, which finds nothing
# to change.
before=$(ovs_dump uuids)
topo_netpoold_stop 1 TERM
topo_netpoold_start 1
applied
is "$(ovs_dump uuids)" "$before" "a netpoold restart leaves every row, UUID, rule and veth as it was"
run_ops $((c3 + 1)) "$OPS"
checkpoint "after $OPS operations and a netpoold restart"

is "$(ops_field ops)" "$OPS" "$OPS random operations ran"
diag "$(ops_field refused) call(s) refused by the API (e.g. a VLAN on a bonded NIC)"
is "$(ops_field failed_waits)" 0 "host-wait-applied returned after every batch of operations"
is "$(ops_field recreated)" "" "no operation recreated a port whose row did not change"

# --- the work was incremental -------------------------------------------------

metrics=$(on 1 curl -s http://127.0.0.1:9440/metrics)
incremental=$(echo "$metrics" |
    awk '/^netpool_reconciler_runs_total\{kind="incremental"\}/ { print $2 }')
full=$(echo "$metrics" |
    awk '/^netpool_reconciler_runs_total\{kind="full"\}/ { print $2 }')
diag "since the netpoold restart: $incremental incremental run(s), $full full"
ok '[ "${incremental:-0}" -gt "${full:-0}" ]' \
    "most runs since the restart were incremental"

# --- one VIF change touches one port -----------------------------------------

vif=$(np 1 vif-create vm-uuid="${vms[0]}" network-uuid="$net" device=50 \
    other-config:netns="${PREFIX}h1g1")
np 1 vif-plug uuid="$vif"
applied
txns0=$(on 1 curl -s http://127.0.0.1:9440/metrics |
    awk '/^netpool_reconciler_ovsdb_transactions_total / { print $2 }')
port=$(vsctl --bare --columns=name find Interface "external_ids:iface-id=$vif")
rows0=$(vsctl --format=csv --no-headings --columns=name,_uuid list Port | sort)
np 1 vif-param-set uuid="$vif" locking-mode=locked ipv4-allowed=198.18.40.50
np 1 vif-unplug uuid="$vif"
applied
txns1=$(on 1 curl -s http://127.0.0.1:9440/metrics |
    awk '/^netpool_reconciler_ovsdb_transactions_total / { print $2 }')
gone=$( (diff <(echo "$rows0") \
    <(vsctl --format=csv --no-headings --columns=name,_uuid list Port | sort) ||
    true) | awk '/^[<>]/' | cut -d, -f1)
is "$gone" "< $port" "a VIF's unplug takes its own port away and touches no other"
ok '[ "$((txns1 - txns0))" -le 2 ]' \
    "and takes at most two OVSDB transactions ($((txns1 - txns0)))"

# --- a VIF gone in a pass that falls back to a full recompute ----------------

# Two VIFs on one network (its bridge stays), one of them rate-limited
# (a rule and a meter), and one VIF alone on another network.  Both
# unplugs in one JSON-RPC batch reach the reconciler in one pass: the
# first is handled incrementally, the second empties its bridge, which
# only a full recompute does; the first VIF's rule and meter must go too.
# (One Python process makes the calls: CLI starts would be most of it.)
rpc() { # STEP: prints the bridge of the first network
    python3 - "$TEST_TOP" "$STATE/h1/netpoold.sock" "$1" \
        "${vms[0]}" "${vms[1]}" "${PREFIX}h1g" "$STATE/gone.json" << 'PY'
import json, os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "scripts"))
import netpool_rpc
sock, step, vm0, vm1, guest, path = sys.argv[2:]
def batch(*calls):
    return netpool_rpc.call_batch(sock, [(m, [""] + p) for m, p in calls])
if step == "make":
    neta, netb = batch(("network.create", [{"name_label": "keep"}]),
                       ("network.create", [{"name_label": "solo"}]))
    vifs = batch(*[("VIF.create", [{"VM": vm, "network": net,
                                    "device": str(dev),
                                    "other_config": {"netns": guest + g}}])
                   for vm, net, dev, g in ((vm0, neta, 51, "2"),
                                           (vm0, neta, 52, "3"),
                                           (vm1, netb, 53, "4"))])
    batch(("VIF.set_qos_algorithm_type", [vifs[0], "ratelimit"]),
          ("VIF.set_qos_algorithm_params", [vifs[0], {"kbps": "4000"}]),
          *[("VIF.plug", [v]) for v in vifs])
    netpool_rpc.call(sock, "host.wait_applied", ["", "", "", 60])
    json.dump(vifs, open(path, "w"))
    print(batch(("network.get_bridge", [neta]))[0])
else:
    vifs = json.load(open(path))
    batch(("VIF.unplug", [vifs[0]]), ("VIF.unplug", [vifs[2]]))
PY
}
vif_rules() {
    ofctl dump-flows --no-stats "$bra" "cookie=0x4e50564946000000/-1" |
        awk '/cookie=/ { n++ } END { print n + 0 }'
    ofctl dump-meters "$bra" | awk '/^meter=/ { n++ } END { print n + 0 }'
}
bra=$(rpc make)
diag "$bra before the unplugs: $(vif_rules | paste -sd' ') rule(s), meter(s)"
rpc unplug
applied
is "$(vif_rules | paste -sd' ')" "0 0" \
    "a VIF unplugged in a pass that falls back to a full recompute\
 leaves no rule or meter"
