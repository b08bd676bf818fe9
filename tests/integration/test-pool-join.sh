#!/usr/bin/env bash
#
# test-pool-join: every pre-check of pool-join refuses with its typed error
# and changes nothing on either side.  h3 joins h1 first, so the pool is a
# real one (corosync, two members); h2 is the standalone joiner.  For each
# check the condition is made, h2's pool-join is refused with the exact
# code and parameters, and then both sides are as they were: on each of
# h1, h3 and h2 the same pool membership (h2 standalone), log sequence
# applied, corosync processes in its namespace (none on h2), and pool,
# host, PIF, network, bond, VLAN and VM records; and the condition is
# undone (h2's records are then as before any).  The conditions: a wrong
# password, an address where nobody answers and one where nothing
# listens, the pool at its host limit (pool host-limit), a running VM on
# the joiner (a halted one beside it is not counted), a bond, a
# non-management VLAN, a DHCP management interface, no management
# interface at all, and a joiner that is already in a pool (h1 the master
# and h3 a member, each trying to join h2).  The pool also checks what a
# joiner tells it (pool.admit, asked directly): a member's UUID, a
# different netpool version, network backend or datapath, and a running
# VM are refused there too, force=true skipping none of the network
# backend check.  Last, h2 joins the pool: the undone conditions left a
# joinable host, and its halted VMs come along.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

MIB=1048576
guest_dir=$("$TEST_TOP/tests/guest/build.sh")

topo_switch_up
for n in 1 2 3; do
    topo_host_up $n
done

ip1=$(topo_mgmt_ip 1)
ip2=$(topo_mgmt_ip 2)
pw() { cat "$STATE/h$1/netpoold/root-password"; }
host_uuid() { np "$1" host-list params=uuid --minimal | cut -d, -f1; }
# A small client of the hosts' API sockets, one process for what would
# take a CLI call per class (a second each on a busy machine):
#   quorate N    host N's pool status: "quorate synced MEMBERS";
#   state N...   what a refused join must leave alone on each host N, each
#                line prefixed "hN": its pool membership and log sequence,
#                its records, and how many corosync processes run in its
#                namespace;
#   admit N FORCE SOURCE-N HOST CHANGE
#                asks host N's pool.admit, as a joiner does, with facts
#                made of host HOST's record as SOURCE-N has it, changed by
#                the Python statement CHANGE on 'f'; prints the typed error
#                as "CODE PARAM, PARAM" (or "unexpected success").
cat > "$STATE/api.py" << 'EOF'
import http.client, json, os, socket, sys

state, prefix = sys.argv[1], sys.argv[2]

class Unix(http.client.HTTPConnection):
    def __init__(self, n):
        super().__init__("localhost", timeout=60)
        self.path = "%s/h%s/netpoold.sock" % (state, n)
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)

def call(n, method, *params):
    c = Unix(n)
    c.request("POST", "/jsonrpc", json.dumps({"jsonrpc": "2.0", "id": 1,
              "method": method, "params": [""] + list(params)}),
              {"Content-Type": "application/json"})
    return json.loads(c.getresponse().read())

def corosyncs(n):
    ns = os.stat("/run/netns/%sh%s" % (prefix, n)).st_ino
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() != "corosync":
                    continue
            if os.stat("/proc/%s/ns/net" % pid).st_ino == ns:
                count += 1
        except OSError:
            pass
    return count

FIELDS = {
    "pool": ["master", "host_limit"],
    "host": ["name_label", "cluster_node_id"],
    "PIF": ["host", "device", "VLAN", "network", "management", "IP",
            "ip_configuration_mode", "bond_slave_of"],
    "network": ["bridge", "MTU", "name_label"],
    "bond": ["master", "mode"],
    "VLAN": ["tag", "tagged_PIF"],
    "VM": ["power_state", "resident_on"],
}

if sys.argv[3] == "quorate":
    s = call(sys.argv[4], "pool.get_status")["result"]
    print(s["quorate"], s["synced"], s["members"])
elif sys.argv[3] == "state":
    for n in sys.argv[4:]:
        s = call(n, "pool.get_status")["result"]
        print("h%s in_pool=%s applied=%s corosync=%d"
              % (n, s["in_pool"], s["applied"], corosyncs(n)))
        for cls, keys in FIELDS.items():
            records = call(n, cls + ".get_all_records")["result"]
            for uuid, r in sorted(records.items()):
                print("h%s" % n, cls, uuid,
                      *(json.dumps(r.get(k)) for k in keys))
elif sys.argv[3] == "admit":
    n, force, source, host, change = sys.argv[4:9]
    record = call(source, "host.get_record", host)["result"]
    f = {"host": record, "in_pool": False, "pifs": {}, "network": {},
         "VM": {}, "VIF": {}, "VBD": {}, "VDI": {}, "SR": {}, "bonds": 0,
         "non_management_vlans": 0, "running_vms": 0,
         "management_mode": "Static", "address": "198.18.0.99"}
    exec(change)
    r = call(n, "pool.admit", f, force == "true")
    if "error" in r:
        print(r["error"]["data"][0], ", ".join(r["error"]["data"][1:]))
    else:
        print("unexpected success")
EOF
api() { python3 "$STATE/api.py" "$STATE" "$PREFIX" "$@"; }
quorate_with() { [ "$(api quorate "$1")" = "True True $2" ]; } # N MEMBERS
# The lines of host N in a state.
of() { grep "^h$1 " <<< "$2" || true; }

# refused NAME EXPECTED JOINER TARGET [PASSWORD]: JOINER's pool-join to
# TARGET (a host number or an address) is refused with EXPECTED ("CODE
# PARAM, PARAM") and changes nothing on either side: the pool (h1 and h3)
# or h2, and the joiner.
refused() {
    local name=$1 expected=$2 joiner=$3 target=$4 password=${5:-} address
    local before after others
    if [[ $target =~ ^[0-9]+$ ]]; then
        address=$(topo_mgmt_ip "$target")
    else
        address=$target
    fi
    [ -n "$password" ] || password=$(pw 1)
    before=$(api state 1 2 3)
    is "$(np_error "$joiner" pool-join master-address="$address" \
        master-username=root master-password="$password")" "$expected" \
        "$name: refused with $expected"
    after=$(api state 1 2 3)
    if [ "$joiner" = 2 ]; then
        others="1 3" name="$name: the pool is unchanged"
    else
        others=2 name="$name: h2 is unchanged"
    fi
    # shellcheck disable=SC2086
    is "$(for n in $others; do of $n "$after"; done)" \
        "$(for n in $others; do of $n "$before"; done)" "$name"
    is "$(of "$joiner" "$after")" "$(of "$joiner" "$before")" \
        "${name%%:*}: h$joiner is unchanged"
}

h1=$(host_uuid 1)
h2=$(host_uuid 2)
h3=$(host_uuid 3)
pool=$(np 1 pool-list --minimal)
pif2() { np 2 pif-list host-uuid="$h2" device="$1" physical=true --minimal; }

# --- a pool of two -----------------------------------------------------------

np 3 pool-join master-address="$ip1" master-username=root \
    master-password="$(pw 1)"
ok $? "h3 joins h1: a pool of two"
wait_until 30 quorate_with 1 2 || true
wait_until 30 quorate_with 3 2 || true
ok 'quorate_with 1 2 && quorate_with 3 2' "h1 and h3 see a quorate pool of two"
ok '[[ $(api state 2) == "h2 in_pool=False applied="*" corosync=0"* ]]' \
    "h2 is standalone and runs no corosync"

# --- the pool, its address and its credentials -------------------------------

refused "a wrong password" \
    "SESSION_AUTHENTICATION_FAILED root, Authentication failure" 2 1 wrong
refused "an address where nobody answers" \
    "POOL_JOINING_HOST_CONNECTION_FAILED 198.18.0.99, no answer" 2 198.18.0.99
refused "an address where nothing listens (the switch)" \
    "POOL_JOINING_HOST_CONNECTION_FAILED 198.18.0.1, no answer" 2 198.18.0.1

np 1 pool-param-set uuid="$pool" host-limit=2
refused "a pool at its host limit (2)" "POOL_HOST_LIMIT_REACHED 2" 2 1
np 3 pool-param-set uuid="$pool" host-limit=64

# --- the joiner's own state --------------------------------------------------

net=$(np 2 network-create name-label=guests)
new_vm() {
    local vm
    vm=$(np 2 vm-create name-label="$1")
    np 2 vm-param-set uuid="$vm" memory-static-max=$((96 * MIB)) \
        PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
        PV-args="quiet np.ip0=198.18.40.$2/24"
    np 2 vif-create vm-uuid="$vm" network-uuid="$net" device=0 > /dev/null
    echo "$vm"
}
halted_vm=$(new_vm stays-halted 1)
running_vm=$(new_vm runs 2)
# h2's records, its log sequence aside, before any condition is made.
records() { api state 2 | sed 's/ applied=[0-9]*//'; }
h2_records=$(records)
np 2 vm-start uuid="$running_vm"
refused "a running VM on the joiner (a halted one beside it)" \
    "POOL_JOINING_HOST_CANNOT_HAVE_RUNNING_VMS $h2, 1" 2 1
np 2 vm-shutdown uuid="$running_vm" --force

bond_net=$(np 2 network-create name-label=bond)
bond=$(np 2 bond-create network-uuid="$bond_net" \
    pif-uuids="$(pif2 eth2),$(pif2 eth3)" mode=active-backup)
refused "a bond on the joiner" "POOL_JOINING_HOST_HAS_BONDS $h2, 1" 2 1
np 2 bond-destroy uuid="$bond"
np 2 network-destroy uuid="$bond_net"

vlan_net=$(np 2 network-create name-label=vlan30)
vlan_pif=$(np 2 vlan-create pif-uuid="$(pif2 eth1)" vlan=30 \
    network-uuid="$vlan_net")
refused "a non-management VLAN on the joiner" \
    "POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS $h2, 1" 2 1
np 2 vlan-destroy uuid="$vlan_pif"
np 2 network-destroy uuid="$vlan_net"

# The management interface on DHCP: a lease from the switch, then back.
mgmt=$(pif2 eth0)
pif_get() { np 2 pif-param-get uuid="$mgmt" param-name="$1"; }
pending() {
    [ -n "$(np 2 host-param-get uuid="$h2" param-name=management-rollback)" ]
}
leased() {
    local ip
    ip=$(pif_get IP)
    [ -n "$ip" ] && [ "$ip" != "$ip2" ]
}
topo_dhcp_up
np 2 pif-reconfigure-ip uuid="$mgmt" mode=dhcp
wait_until 60 eval 'leased && ! pending' || true
ok 'leased && ! pending' \
    "h2's management interface keeps a lease ($(pif_get IP))"
refused "a DHCP management interface" \
    "POOL_JOINING_HOST_MANAGEMENT_NOT_STATIC $h2, DHCP" 2 1
np 2 pif-reconfigure-ip uuid="$mgmt" mode=static IP="$ip2" \
    netmask=255.255.255.0 gateway=198.18.0.1
wait_until 30 eval '! pending' || true

np 2 host-management-disable
refused "no management interface" \
    "POOL_JOINING_HOST_MANAGEMENT_NOT_STATIC $h2, None" 2 1
np 2 pif-reconfigure-ip uuid="$mgmt" mode=static IP="$ip2" \
    netmask=255.255.255.0 gateway=198.18.0.1
np 2 host-management-reconfigure pif-uuid="$mgmt"
wait_until 30 eval '! pending' || true
is "$(pif_get ip-configuration-mode)/$(pif_get IP)/$(pif_get management)" \
    "Static/$ip2/true" "h2's management is static at its address again"
is "$(records)" "$h2_records" \
    "every condition undone, h2's records are as before"

# --- a joiner already in a pool ----------------------------------------------

refused "the pool's master joining another host" \
    "JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS $h1" 1 2
refused "a pool member joining another host" \
    "JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS $h3" 3 2

# --- the pool's own checks of what a joiner tells it -------------------------

# admitted NAME EXPECTED FORCE SOURCE-N HOST CHANGE: pool.admit asked of h1
# over its socket, as a joiner asks it, with HOST's facts changed by CHANGE,
# is refused with EXPECTED and leaves the pool as it was.
admitted() {
    local before
    before=$(api state 1 3)
    is "$(api admit 1 "$3" "$4" "$5" "$6")" "$2" \
        "pool.admit of $1: refused with $2"
    is "$(api state 1 3)" "$before" "pool.admit of $1: the pool is unchanged"
}
admitted "a member (h3)" "POOL_JOINING_HOST_IS_A_MEMBER $h3" false 3 "$h3" ""
admitted "another netpool version" \
    "POOL_HOSTS_NOT_HOMOGENEOUS software_version, 0.0.0-other" false 2 "$h2" \
    'f["host"]["software_version"]["product_version"] = "0.0.0-other"'
admitted "another network backend, even with force" \
    "POOL_HOSTS_NOT_HOMOGENEOUS network_backend, bridge" true 2 "$h2" \
    'f["host"]["network_backend"] = "bridge"'
admitted "another datapath" \
    "POOL_HOSTS_NOT_HOMOGENEOUS datapath, dpdk" false 2 "$h2" \
    'f["host"]["datapath"] = "dpdk"'
admitted "a joiner that says it runs a VM" \
    "POOL_JOINING_HOST_CANNOT_HAVE_RUNNING_VMS $h2, 1" true 2 "$h2" \
    'f["running_vms"] = 1'

# --- and then it joins -------------------------------------------------------

np 2 pool-join master-address="$ip1" master-username=root \
    master-password="$(pw 1)"
ok $? "h2, every condition undone, joins the pool"
wait_until 30 quorate_with 1 3 || true
wait_until 30 quorate_with 2 3 || true
ok 'quorate_with 1 3 && quorate_with 2 3' "a quorate pool of three"
is "$(np 1 host-list --minimal | tr , '\n' | grep -c "$h2")" 1 \
    "h1 lists h2, which kept its UUID"
power() { np 1 vm-param-get uuid="$1" param-name=power-state; }
is "$(power "$halted_vm")/$(power "$running_vm")" Halted/Halted \
    "h2's halted VMs came along"
