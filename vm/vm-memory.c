/*
 * Memory of a VM: the defaults and order of its four settings, the host
 * memory a running domain costs beyond its guest memory, and admission
 * against the host's free memory.  Pure.
 */
#include "vm/vm.h"

#include <inttypes.h>
#include <stdio.h>

#include "lib/error.h"

#define MIB (1024 * 1024)

/* The order the four settings must satisfy, as the error states it. */
#define MEMORY_RULE                                                     \
    "memory-static-min <= memory-dynamic-min <= memory-dynamic-max <= " \
    "memory-static-max"

void
vm_memory_complete(struct vm_memory *memory)
{
    if (!memory->dynamic_max) {
        memory->dynamic_max = memory->static_max;
    }
    if (!memory->dynamic_min) {
        memory->dynamic_min = memory->static_max / 4;
        if (memory->dynamic_min < memory->static_min) {
            memory->dynamic_min = memory->static_min;
        }
        if (memory->dynamic_min > memory->dynamic_max) {
            memory->dynamic_min = memory->dynamic_max;
        }
    }
}

struct np_error *
vm_memory_check(const struct vm_memory *memory)
{
    const char *field = NULL;

    if (memory->static_min < 0) {
        field = "memory-static-min";
    } else if (memory->dynamic_min < memory->static_min) {
        field = "memory-dynamic-min";
    } else if (memory->dynamic_max < memory->dynamic_min) {
        field = "memory-dynamic-max";
    } else if (memory->static_max < memory->dynamic_max
               || memory->static_max <= 0) {
        field = "memory-static-max";
    }
    return field ? np_error_new(ERR_MEMORY_CONSTRAINT_VIOLATION, field,
                                MEMORY_RULE, NULL)
                 : NULL;
}

int64_t
vm_memory_overhead(const struct vm_memory *memory, int64_t vcpus)
{
    /* QEMU's own RSS (about 64 MiB under TCG, including the translation
     * cache), 2 MiB per vCPU, and 1/16 of the guest for page tables and
     * the translation of its memory map. */
    return 64LL * MIB + vcpus * 2LL * MIB + memory->dynamic_max / 16;
}

struct np_error *
vm_check_admission(int64_t needed, int64_t host_free)
{
    char a[32], b[32];

    if (needed <= host_free) {
        return NULL;
    }
    snprintf(a, sizeof a, "%" PRId64, needed);
    snprintf(b, sizeof b, "%" PRId64, host_free < 0 ? 0 : host_free);
    return np_error_new(ERR_HOST_NOT_ENOUGH_FREE_MEMORY, a, b, NULL);
}
