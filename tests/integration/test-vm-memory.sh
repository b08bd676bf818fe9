#!/usr/bin/env bash
#
# test-vm-memory: a VM's memory from the CLI.  vm-create takes the VM's
# writable fields at creation (memory, vCPUs, kernel, template flag) and
# refuses memory out of order; vm-memory-limits-set changes the four
# settings as one change (so limits can move past each other's old
# values, which the single setters refuse), and refuses an order that does
# not hold with MEMORY_CONSTRAINT_VIOLATION, changing nothing;
# vm-memory-set sets static-max and both dynamic limits at once.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 10

topo_switch_up
topo_host_up 1

MIB=$((1024 * 1024))
memory() { # VM: "static-min static-max dynamic-min dynamic-max"
    local f out=()
    for f in static-min static-max dynamic-min dynamic-max; do
        out+=("$(np 1 vm-param-get uuid="$1" param-name="memory-$f")")
    done
    echo "${out[*]}"
}

vm=$(np 1 vm-create name-label=sized memory-static-max=$((256 * MIB)) \
    memory-dynamic-max=$((192 * MIB)) VCPUs-max=2 PV-args="quiet" \
    is-a-template=true 2>&1) || true
ok '[[ $vm =~ ^[0-9a-f-]{36}$ ]]' \
    "vm-create takes memory, VCPUs, PV-args and is-a-template at creation ($vm)"
is "$(np 1 vm-param-get uuid="$vm" param-name=VCPUs-max) $(np 1 vm-param-get uuid="$vm" param-name=is-a-template) $(np 1 vm-param-get uuid="$vm" param-name=PV-args)" \
    "2 true quiet" "... and stores them"
is "$(memory "$vm")" "0 $((256 * MIB)) 0 $((192 * MIB))" \
    "... with the memory given"
count=$(np 1 vm-list --minimal | tr ',' '\n' | grep -c . || true)
is "$(np_error 1 vm-create name-label=bad memory-static-max=$((64 * MIB)) \
    memory-dynamic-max=$((128 * MIB)))" \
    "MEMORY_CONSTRAINT_VIOLATION memory-static-max, memory-static-min <= memory-dynamic-min <= memory-dynamic-max <= memory-static-max" \
    "vm-create refuses memory out of order"
is "$(np 1 vm-list --minimal | tr ',' '\n' | grep -c . || true)" "$count" \
    "... and creates nothing"

# Growing: the single setter refuses a dynamic-min above the old
# dynamic-max, the four together do it.
is "$(np_error 1 vm-param-set uuid="$vm" memory-dynamic-min=$((384 * MIB)))" \
    "MEMORY_CONSTRAINT_VIOLATION memory-dynamic-max, memory-static-min <= memory-dynamic-min <= memory-dynamic-max <= memory-static-max" \
    "one setter alone cannot move a limit past another's old value"
np 1 vm-memory-limits-set uuid="$vm" static-min=32MiB static-max=512MiB \
    dynamic-min=384MiB dynamic-max=512MiB
is "$(memory "$vm")" "$((32 * MIB)) $((512 * MIB)) $((384 * MIB)) $((512 * MIB))" \
    "vm-memory-limits-set sets all four as one change"
is "$(np_error 1 vm-memory-limits-set uuid="$vm" static-min=0 \
    static-max=$((128 * MIB)) dynamic-min=$((256 * MIB)) \
    dynamic-max=$((128 * MIB)))" \
    "MEMORY_CONSTRAINT_VIOLATION memory-dynamic-max, memory-static-min <= memory-dynamic-min <= memory-dynamic-max <= memory-static-max" \
    "an order that does not hold is refused with MEMORY_CONSTRAINT_VIOLATION"
is "$(memory "$vm")" "$((32 * MIB)) $((512 * MIB)) $((384 * MIB)) $((512 * MIB))" \
    "... and changes nothing"
np 1 vm-memory-set uuid="$vm" memory=$((96 * MIB))
is "$(memory "$vm")" "$((32 * MIB)) $((96 * MIB)) $((96 * MIB)) $((96 * MIB))" \
    "vm-memory-set sets static-max and both dynamic limits"
