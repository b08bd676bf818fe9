/*
 * The HA monitor's decisions, pure: the survival rule, when another host
 * is known fenced, the restart planner and the number of host failures a
 * plan tolerates.  ha/README.md ("High availability") gives the rules and
 * the timing argument these functions follow.
 */
#include "ha/ha.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

#define MAX_FAILURE_HOSTS 16 /* Hosts ha_max_host_failures() considers. */

static bool contains(const char *const *set, size_t n, const char *host);
static const struct ha_entry *find_entry(const struct ha_survival_input *,
                                         const char *host);
static bool entry_live(const struct ha_survival_input *, const char *host);
static const char *lowest(const char *a, const char *b);
static int compare_vms(const void *a, const void *b);
static int priority_rank(const char *priority);

enum ha_verdict
ha_survival(const struct ha_survival_input *in)
{
    /* Rule 2: the statefile is lost everywhere and every host sees every
     * other. */
    if (in->lost_everywhere && in->n_members >= in->n_hosts) {
        bool all = true;
        for (size_t i = 0; i < in->n_hosts; i++) {
            all = all && contains(in->members, in->n_members, in->hosts[i]);
        }
        if (all) {
            return HA_STAY;
        }
    }
    if (!in->statefile_ok) {
        return HA_UNDECIDED;
    }

    /* Rule 1: this host's partition is its configuration's hosts whose
     * entries are live. */
    size_t own = 1;
    const char *own_lowest = in->self;
    for (size_t i = 0; i < in->n_members; i++) {
        const char *m = in->members[i];
        if (strcmp(m, in->self) && entry_live(in, m)) {
            own++;
            own_lowest = lowest(own_lowest, m);
        }
    }
    if (2 * own > in->n_hosts) {
        return HA_STAY;
    }

    /* Otherwise compare with every partition the live entries outside the
     * configuration describe.  A joining host contends for nothing: its
     * first configuration, alone, says nothing of the others.  Nor does a
     * silent one: its host's writes are not landing (dead, hung, cut off
     * from the statefile), so it cannot stay, and waiting for it to
     * change a view that still names this host could outlast this host's
     * own deadline.  Its lease says when it is known fenced. */
    bool beaten = false;
    for (size_t i = 0; i < in->n_entries; i++) {
        const struct ha_entry *e = &in->entries[i];
        if (!e->live || e->fenced || e->joining || e->silent
            || !strcmp(e->host, in->self)
            || contains(in->members, in->n_members, e->host)) {
            continue;
        }
        if (contains(e->view, e->n_view, in->self)) {
            /* It still says it sees this host: its view is older than
             * this host's configuration change, or the views differ. */
            return HA_UNDECIDED;
        }
        size_t other = 1;
        const char *other_lowest = e->host;
        for (size_t j = 0; j < e->n_view; j++) {
            const char *h = e->view[j];
            if (strcmp(h, e->host) && entry_live(in, h)) {
                other++;
                other_lowest = lowest(other_lowest, h);
            }
        }
        if (other > own
            || (other == own
                && (in->joining || strcmp(other_lowest, own_lowest) < 0))) {
            beaten = true;
        }
    }
    return beaten ? HA_FENCE : HA_STAY;
}

const char *
ha_verdict_name(enum ha_verdict verdict)
{
    return (verdict == HA_STAY        ? "stay"
            : verdict == HA_UNDECIDED ? "undecided"
                                      : "fence");
}

int
ha_cycle_ms(int timeout_ms)
{
    return timeout_ms / 5;
}

int
ha_write_timeout_ms(int timeout_ms)
{
    return timeout_ms / 4;
}

int
ha_kill_ms(int timeout_ms)
{
    return timeout_ms / 10;
}

int
ha_dead_after_ms(int timeout_ms)
{
    return timeout_ms + ha_write_timeout_ms(timeout_ms)
           + ha_kill_ms(timeout_ms) + timeout_ms / 100;
}

int64_t
ha_lease_expiry_ms(const struct ha_lease *lease, int timeout_ms)
{
    return lease->fenced || lease->first_seen_ms < 0
               ? -1
               : lease->first_seen_ms + ha_dead_after_ms(timeout_ms);
}

bool
ha_lease_expired(const struct ha_lease *lease, int timeout_ms)
{
    return lease->first_seen_ms >= 0 && lease->last_read_ms >= 0
           && lease->last_read_ms - lease->first_seen_ms
                  >= ha_dead_after_ms(timeout_ms);
}

bool
ha_lease_silent(const struct ha_lease *lease, int timeout_ms)
{
    return lease->first_seen_ms >= 0 && lease->last_read_ms >= 0
           && lease->last_read_ms - lease->first_seen_ms
                  >= 2 * ha_cycle_ms(timeout_ms);
}

bool
ha_known_fenced(const struct ha_lease *lease, int timeout_ms, int token_ms,
                int64_t lost_report_ms, int64_t now_ms)
{
    if (lease->fenced) {
        return true;
    }
    if (!ha_lease_expired(lease, timeout_ms)) {
        return false;
    }
    if (lost_report_ms >= 0) {
        int64_t detection = (int64_t) token_ms * 22 / 10;
        return now_ms - lost_report_ms
               >= detection + timeout_ms + ha_kill_ms(timeout_ms);
    }
    return true;
}

size_t
ha_plan_restarts(const struct ha_vm *vms, size_t n_vms,
                 const struct ha_host *hosts, size_t n_hosts,
                 struct ha_placement *plan)
{
    const struct ha_vm **sorted = xmalloc((n_vms + 1) * sizeof *sorted);
    int64_t *free_memory = xmalloc((n_hosts + 1) * sizeof *free_memory);
    size_t n_sorted = 0, n_plan = 0;
    int64_t delay_ms = 0;

    for (size_t i = 0; i < n_vms; i++) {
        if (priority_rank(vms[i].priority) >= 0) {
            sorted[n_sorted++] = &vms[i];
        }
    }
    qsort(sorted, n_sorted, sizeof *sorted, compare_vms);
    for (size_t i = 0; i < n_hosts; i++) {
        free_memory[i] = hosts[i].memory_free;
    }
    for (size_t i = 0; i < n_sorted; i++) {
        const struct ha_vm *vm = sorted[i];
        int best = -1;
        for (size_t h = 0; h < n_hosts; h++) {
            if (free_memory[h] >= vm->memory
                && (best < 0 || free_memory[h] > free_memory[best])) {
                best = (int) h;
            }
        }
        plan[n_plan++] = (struct ha_placement){
            .vm = (size_t) (vm - vms),
            .host = best,
            .delay_ms = best < 0 ? 0 : delay_ms,
        };
        if (best >= 0) {
            free_memory[best] -= vm->memory;
            delay_ms += (vm->start_delay > 0 ? vm->start_delay : 0) * 1000;
        }
    }
    free(sorted);
    free(free_memory);
    return n_plan;
}

bool
ha_tolerates_host_failures(const struct ha_vm *vms, size_t n_vms,
                           const struct ha_host *hosts, size_t n_hosts,
                           size_t k)
{
    size_t n = n_hosts < MAX_FAILURE_HOSTS ? n_hosts : MAX_FAILURE_HOSTS;
    if (k == 0) {
        return true;
    } else if (k >= n) {
        return false;
    }
    struct ha_vm *lost = xmalloc((n_vms + 1) * sizeof *lost);
    struct ha_host *left = xmalloc((n + 1) * sizeof *left);
    struct ha_placement *plan = xmalloc((n_vms + 1) * sizeof *plan);
    bool every = true;

    /* Every set of exactly k hosts, in increasing order of its mask
     * (Gosper's hack: the next larger number with as many bits set). */
    for (unsigned mask = (1u << k) - 1; every && mask < (1u << n);) {
        size_t n_lost = 0, n_left = 0;
        for (size_t i = 0; i < n_vms; i++) {
            int r = vms[i].resident;
            if (r >= 0 && (size_t) r < n && (mask & (1u << r))
                && !strcmp(vms[i].priority, "restart")) {
                lost[n_lost++] = vms[i];
            }
        }
        for (size_t h = 0; h < n; h++) {
            if (!(mask & (1u << h))) {
                left[n_left++] = hosts[h];
            }
        }
        size_t n_plan = ha_plan_restarts(lost, n_lost, left, n_left, plan);
        for (size_t i = 0; i < n_plan; i++) {
            every = every && plan[i].host >= 0;
        }
        unsigned low = mask & -mask;
        unsigned ripple = mask + low;
        mask = (((ripple ^ mask) >> 2) / low) | ripple;
    }
    free(lost);
    free(left);
    free(plan);
    return every;
}

int
ha_max_host_failures(const struct ha_vm *vms, size_t n_vms,
                     const struct ha_host *hosts, size_t n_hosts)
{
    int best = 0;

    while (ha_tolerates_host_failures(vms, n_vms, hosts, n_hosts,
                                      (size_t) best + 1)) {
        best++;
    }
    return best;
}

/* Helpers. */

static bool
contains(const char *const *set, size_t n, const char *host)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(set[i], host)) {
            return true;
        }
    }
    return false;
}

static const struct ha_entry *
find_entry(const struct ha_survival_input *in, const char *host)
{
    for (size_t i = 0; i < in->n_entries; i++) {
        if (!strcmp(in->entries[i].host, host)) {
            return &in->entries[i];
        }
    }
    return NULL;
}

/* True if 'host' (not this one) has a live entry that does not say it
 * fenced or is joining. */
static bool
entry_live(const struct ha_survival_input *in, const char *host)
{
    if (!strcmp(host, in->self)) {
        return true;
    }
    const struct ha_entry *e = find_entry(in, host);
    return e && e->live && !e->fenced && !e->joining;
}

static const char *
lowest(const char *a, const char *b)
{
    return strcmp(a, b) <= 0 ? a : b;
}

/* Protected before best-effort, then by order, then by UUID. */
static int
compare_vms(const void *a_, const void *b_)
{
    const struct ha_vm *a = *(const struct ha_vm *const *) a_;
    const struct ha_vm *b = *(const struct ha_vm *const *) b_;
    int ra = priority_rank(a->priority), rb = priority_rank(b->priority);

    if (ra != rb) {
        return ra - rb;
    }
    if (a->order != b->order) {
        return a->order < b->order ? -1 : 1;
    }
    return strcmp(a->uuid, b->uuid);
}

/* 0 for "restart", 1 for "best-effort", -1 for a VM not restarted. */
static int
priority_rank(const char *priority)
{
    return (!priority                          ? -1
            : !strcmp(priority, "restart")     ? 0
            : !strcmp(priority, "best-effort") ? 1
                                               : -1);
}

bool
ha_vm_lost(const struct ha_vm_state *vm)
{
    if (vm->is_template || vm->busy || strcmp(vm->desired, "Running")
        || priority_rank(vm->priority) < 0) {
        return false;
    }
    return *vm->resident_on ? vm->resident_fenced
                            : !strcmp(vm->power_state, "Halted");
}

bool
ha_keeps_running(bool crashed, bool ha_enabled, const char *priority)
{
    return crashed && ha_enabled && priority_rank(priority) >= 0;
}

void
ha_apply_change(struct ha_vm *vms, struct ha_host *hosts,
                const struct ha_change *change)
{
    struct ha_vm *vm = &vms[change->vm];
    int64_t memory = change->memory >= 0 ? change->memory : vm->memory;

    if (change->host >= 0 && change->host != vm->resident) {
        if (vm->resident >= 0) {
            hosts[vm->resident].memory_free += vm->memory;
        }
        hosts[change->host].memory_free -= memory;
        vm->resident = change->host;
    }
    vm->memory = memory;
}
