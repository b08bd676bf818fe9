#!/usr/bin/env bash
#
# test-dpdk-fastpath: the fast-path defaults netpool chose for a dpdk host
# (perf/README.md, "Where the cycles go") are what OVS and QEMU run with,
# and traffic passes through them at 64, 1500 and 9000 bytes with locking
# mode and rate limits in force.
#
# On a host in dpdk mode: the Open_vSwitch row has the PMD settings
# (emc-insert-inv-prob=0, smc-enable=true, tx-flush-interval=0,
# pmd-maxsleep=0) and the host's dpdk-socket-limit; ovs-vswitchd's threads
# from before DPDK started at run time are moved to the lcore core, so
# that the PMD's core is its own; host settings replace
# the defaults (OVS's own caches) and removing them brings the defaults
# back, a bad one is refused naming the key.  A VM with two
# vCPUs gets a vhost-user NIC that QEMU reports (QMP qom-get) with
# 1024-entry rings, mergeable receive buffers, multiqueue and the
# network's MTU, and OVS polls its two queues once the guest is up.  A
# VIF's vhost-tx-retries and dpdk-pmd-rxq-affinity reach its port; its
# vhost-* keys out of range are refused naming the key, nothing stored.
# Two VIFs with other-config:vhost-user=external, locked to their
# addresses and rate-limited (ingress policing, no OpenFlow meter: OVS-DPDK
# polices its own ports), carry netpool-perf's frames (its ports with
# the VIFs' MACs, as a guest's NICs) at 64, 1500 and 9000 bytes below the
# rate: every frame arrives.  Frames from an address the VIF is not
# allowed do not; a burst at full speed is policed.  Outcomes only: no
# point depends on how fast anything went.
#
# Hugepages are reserved by dpdk_require (lib.sh) and given back at exit;
# without them, without the DPDK build of OVS or without netpool-perf the
# points are skipped by name.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 16

points=(
    "OVS runs a dpdk host with netpool's PMD settings (no EMC, SMC on, no flush delay, no PMD sleep)"
    "the host's dpdk-socket-limit reaches OVS"
    "ovs-vswitchd's threads from before DPDK started run on the lcore core (0), its PMD alone on core 1"
    "host settings replace the defaults (OVS's caches) and their removal restores them"
    "a PMD setting out of range is refused naming the key, nothing stored"
    "QEMU has the VM's vhost-user NIC with 1024-entry rings, mergeable buffers, multiqueue and MTU 9000"
    "OVS polls both queues of the two-vCPU guest's NIC"
    "a VIF's vhost-tx-retries and dpdk-pmd-rxq-affinity reach its port"
    "VIF vhost settings out of range are refused naming the key, nothing stored"
    "two external VIFs are locked to their addresses and rate-limited (policing, no meter)"
    "64-byte frames: every one arrives, locking mode and rate limit in force"
    "1500-byte frames: every one arrives"
    "9000-byte frames: every one arrives"
    "the vhost-user ports run with MTU 9000"
    "frames from an address the VIF is not allowed do not arrive"
    "a burst at full speed is policed: not every frame of it arrives"
)
perf_bin=$NETPOOL_BIN/netpool-perf
if [ ! -x "$perf_bin" ]; then
    for point in "${points[@]}"; do
        skip "$point" "no $perf_bin: libdpdk-dev is missing"
    done
    exit 0
fi
# OVS-DPDK at most 1 GB (its limit), the guest 96 MiB, netpool-perf's
# buffers about 100 MB.
dpdk_require 700 "${points[@]}"

MIB=1048576
guest_dir=$("$TEST_TOP/tests/guest/build.sh")

topo_switch_up
topo_host_up 1

vsctl() { on 1 ovs-vsctl --timeout=20 "$@"; }
ovs_config() {
    vsctl get Open_vSwitch . "other_config:$1" 2> /dev/null | tr -d '"'
}
iface() { vsctl get Interface "$1" "$2" 2> /dev/null | tr -d '"'; }
index_of() {
    np 1 vm-param-get uuid="$1" param-name=other-config param-key=netpool-vif-index
}
dpdk_ready() {
    [ "$(vsctl get Open_vSwitch . dpdk_initialized 2> /dev/null)" = true ]
}

host=$(np 1 host-list --minimal)
np 1 host-param-set uuid="$host" other-config:dpdk-socket-mem=256 \
    other-config:dpdk-socket-limit=1024
np 1 host-param-set uuid="$host" datapath=dpdk
wait_until 60 dpdk_ready || true

# --- the host's PMD settings --------------------------------------------

pmd_settings() {
    echo "$(ovs_config emc-insert-inv-prob) $(ovs_config smc-enable)" \
        "$(ovs_config tx-flush-interval) $(ovs_config pmd-maxsleep)"
}
is "$(pmd_settings)" "0 true 0 0" "${points[0]}"
is "$(ovs_config dpdk-socket-limit)" 1024 "${points[1]}"

# "NAME CPUS" of each thread of the host's ovs-vswitchd, and those of them
# other than its PMD and DPDK's control threads (which DPDK places itself,
# and which sleep) that are not on the lcore core alone.
vswitchd_threads() {
    local pid task name cpus
    pid=$(cat "$STATE/h1/ovs/ovs-vswitchd.pid")
    for task in /proc/"$pid"/task/*; do
        # A thread may end between the listing and the reads.
        name=$(cat "$task/comm" 2> /dev/null) || continue
        cpus=$(taskset -pc "${task##*/}" 2> /dev/null) || continue
        echo "$name ${cpus##*: }"
    done
}
off_lcore() {
    vswitchd_threads |
        awk '$1 !~ /^(pmd|eal-intr-thread|rte_mp_handle|telemetry)/ && $NF != "0"'
}
diag "ovs-vswitchd's threads: $(vswitchd_threads | sort | tr '\n' ';')"
ok 'wait_until 10 eval "[ -z \"\$(off_lcore)\" ]" &&
    vswitchd_threads | grep -q "^pmd.* 1$" &&
    grep -q "DPDK started in ovs-vswitchd (pid [0-9]*): [1-9][0-9]* of its threads moved" \
        "$STATE/h1/netpoold.log"' "${points[2]}"
np 1 host-param-set uuid="$host" other-config:emc-insert-inv-prob=100 \
    other-config:smc-enable=false
wait_until 10 eval '[ "$(pmd_settings)" = "100 false 0 0" ]' || true
ovs_caches=$(pmd_settings)
for k in emc-insert-inv-prob smc-enable; do
    np 1 host-param-remove uuid="$host" param-name=other-config param-key=$k
done
wait_until 10 eval '[ "$(pmd_settings)" = "0 true 0 0" ]' || true
is "$ovs_caches, then $(pmd_settings)" "100 false 0 0, then 0 true 0 0" \
    "${points[3]}"
out=$(np_error 1 host-param-set uuid="$host" other-config:smc-enable=maybe)
out2=$(np_error 1 host-param-set uuid="$host" other-config:pmd-maxsleep=20000)
ok '[ "$out" = "INVALID_VALUE other_config:smc-enable, maybe" ] &&
    [ "$out2" = "INVALID_VALUE other_config:pmd-maxsleep, 20000" ] &&
    [ -z "$(np 1 host-param-get uuid="$host" param-name=other-config \
        param-key=pmd-maxsleep 2> /dev/null)" ] &&
    [ "$(ovs_config smc-enable)/$(ovs_config pmd-maxsleep)" = true/0 ]' \
    "${points[4]}"

# --- a VM's vhost-user NIC in QEMU and OVS ------------------------------

net=$(np 1 network-create name-label=fast MTU=9000)
bridge=$(np 1 network-param-get uuid="$net" param-name=bridge)
vm=$(np 1 vm-create name-label=guest)
np 1 vm-param-set uuid="$vm" memory-static-max=$((96 * MIB)) VCPUs-max=2 \
    PV-kernel="$guest_dir/vmlinuz" PV-ramdisk="$guest_dir/initrd.img" \
    PV-args="quiet np.mtu=9000 np.ip0=198.18.28.1/24"
vmvif=$(np 1 vif-create vm-uuid="$vm" network-uuid="$net" device=0)
np 1 vm-start uuid="$vm"
vmport="vif$(index_of "$vm").0"
qmp_sock=/run/netpool/vm/$host/$vm/qmp
qom() { # PROPERTY: the value QEMU reports for the NIC's property
    printf '%s\n' '{"execute":"qmp_capabilities"}' \
        "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/nic0\",\"property\":\"$1\"}}" |
        socat -t 2 - "UNIX-CONNECT:$qmp_sock" 2> /dev/null |
        sed -n 's/.*"return": *\([^,}]*\).*/\1/p' | tail -1 | tr -d '"'
}
nic_settings() {
    echo "$(qom rx_queue_size) $(qom tx_queue_size) $(qom mrg_rxbuf)" \
        "$(qom mq) $(qom host_mtu)"
}
wait_until 60 eval '[ "$(nic_settings)" = "1024 1024 true true 9000" ]' ||
    true
is "$(nic_settings)" "1024 1024 true true 9000" "${points[5]}"
queues_polled() {
    on 1 ovs-appctl dpif-netdev/pmd-rxq-show 2> /dev/null |
        grep -c "port: $vmport *queue-id: *[01] (enabled)"
}
ok 'wait_until 120 eval "[ \"\$(queues_polled)\" = 2 ]"' "${points[6]}"
diag "$(on 1 ovs-appctl dpif-netdev/pmd-rxq-show 2> /dev/null | grep "$vmport")"

np 1 vif-param-set uuid="$vmvif" other-config:vhost-tx-retries=2 \
    other-config:dpdk-pmd-rxq-affinity=0:1
port_settings() {
    echo "$(iface "$vmport" options:tx-retries-max)" \
        "$(iface "$vmport" other_config:pmd-rxq-affinity)"
}
wait_until 20 eval '[ "$(port_settings)" = "2 0:1" ]' || true
is "$(port_settings)" "2 0:1" "${points[7]}"
refusals=
for bad in vhost-queues=0 vhost-queues=17 vhost-queue-size=300 \
    vhost-mrg-rxbuf=maybe vhost-tx-retries=33 dpdk-pmd-rxq-affinity=0:1,; do
    refusals+="$(np_error 1 vif-param-set uuid="$vmvif" \
        "other-config:$bad"); "
done
ok '[ "$refusals" = "INVALID_VALUE other_config:vhost-queues, 0; INVALID_VALUE other_config:vhost-queues, 17; INVALID_VALUE other_config:vhost-queue-size, 300; INVALID_VALUE other_config:vhost-mrg-rxbuf, maybe; INVALID_VALUE other_config:vhost-tx-retries, 33; INVALID_VALUE other_config:dpdk-pmd-rxq-affinity, 0:1,; " ] &&
    [ -z "$(np 1 vif-param-get uuid="$vmvif" param-name=other-config \
        param-key=vhost-queues 2> /dev/null)" ] &&
    [ "$(port_settings)" = "2 0:1" ]' "${points[8]}"
diag "$refusals"
np 1 vm-shutdown uuid="$vm" --force

# --- traffic through locked, rate-limited VIFs --------------------------

pvm=$(np 1 vm-create name-label=perf)
pvifs=()
macs=()
socks=()
for dev in 0 1; do
    vif=$(np 1 vif-create vm-uuid="$pvm" network-uuid="$net" device=$dev \
        other-config:vhost-user=external)
    np 1 vif-param-set uuid="$vif" locking-mode=locked \
        ipv4-allowed="198.18.20.$((dev + 1))" qos-algorithm-type=ratelimit \
        qos-algorithm-params:kbps=200000
    np 1 vif-plug uuid="$vif"
    pvifs+=("$vif")
    macs+=("$(np 1 vif-param-get uuid="$vif" param-name=MAC)")
    socks+=("/run/netpool/vhost/$host/vif$(index_of "$pvm").$dev.sock")
done
pports=("vif$(index_of "$pvm").0" "vif$(index_of "$pvm").1")
locked() {
    local of
    of=$(on 1 ovs-ofctl -O OpenFlow13 dump-flows "$bridge" 2> /dev/null)
    [[ $of == *"dl_src=${macs[0]},nw_src=198.18.20.1"* ]] &&
        [[ $of == *"dl_src=${macs[1]},nw_src=198.18.20.2"* ]] &&
        [[ $of != *meter* ]] &&
        ! on 1 ovs-ofctl -O OpenFlow13 dump-meters "$bridge" 2> /dev/null |
        grep -q "rate=" &&
        [ "$(vsctl get Interface "${pports[0]}" ingress_policing_rate)" = 200000 ] &&
        [ "$(vsctl get Interface "${pports[1]}" ingress_policing_rate)" = 200000 ]
}
ok 'wait_until 30 locked' "${points[9]}"

# perf NAME ARGS...: netpool-perf loop between the two VIFs' sockets, with
# the VIFs' MACs; its "key value" lines in $STATE/NAME.out.
perf() {
    local name=$1 rc=0
    shift
    ip netns exec "$(topo_ns h1)" "$perf_bin" loop --vhost "${socks[0]}" \
        --mac "${macs[0]}" --vhost "${socks[1]}" --mac "${macs[1]}" \
        --in-memory --delay 2 --wait 60 --lcore 0 --quiet \
        --file-prefix "${PREFIX}$name" "$@" > "$STATE/$name.out" \
        2> "$STATE/$name.err" || rc=$?
    [ "$rc" = 0 ] || diag "netpool-perf $name: exit status $rc:" \
        "$(tail -3 "$STATE/$name.err")"
}
key() { awk -v k="$2" '$1 == k { print $2 }' "$STATE/$1.out" 2> /dev/null || true; }
got() { echo "sent=$(key "$1" sent) received=$(key "$1" received) lost=$(key "$1" lost)"; }

# Below the rate limit (200 Mbit/s): 10, 60 and 72 Mbit/s.
perf f64 --size 64 --count 5000 --rate 20000
is "$(got f64)" "sent=5000 received=5000 lost=0" "${points[10]}"
perf f1500 --size 1500 --count 2000 --rate 5000
is "$(got f1500)" "sent=2000 received=2000 lost=0" "${points[11]}"
perf f9000 --size 9000 --count 1000 --rate 1000
is "$(got f9000)" "sent=1000 received=1000 lost=0" "${points[12]}"
is "$(iface "${pports[0]}" mtu)/$(iface "${pports[1]}" mtu)" 9000/9000 \
    "${points[13]}"

perf spoof --size 64 --count 1000 --rate 10000 --src-ip 198.18.20.77 \
    --idle 2
is "$(key spoof sent)/$(key spoof received)" 1000/0 "${points[14]}"
perf burst --size 9000 --duration 1
ok '[ "$(key burst sent)" -gt 0 ] && [ "$(key burst received)" -gt 0 ] &&
    [ "$(key burst received)" -lt "$(key burst sent)" ]' "${points[15]}"
diag "full-speed burst through the rate limit: $(got burst)"
