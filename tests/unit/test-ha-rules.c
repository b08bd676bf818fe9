/*
 * Unit tests of the HA monitor's decisions (ha/ha-rules.c): the survival
 * rule, when a host is known fenced, the restart planner and the number
 * of host failures a pool tolerates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ha/ha.h"

/* A statefile entry as this host read it (neither joining nor silent). */
#define ENTRY(HOST, LIVE, FENCED, VIEW, N_VIEW)                     \
    {                                                               \
        .host = HOST, .live = LIVE, .fenced = FENCED, .view = VIEW, \
        .n_view = N_VIEW                                            \
    }

static const char *const pool3[] = {"a", "b", "c"};
static const char *const pool2[] = {"a", "b"};

static struct ha_survival_input
input(const char *self, const char *const *hosts, size_t n_hosts,
      const char *const *members, size_t n_members,
      const struct ha_entry *entries, size_t n_entries)
{
    return (struct ha_survival_input){
        .self = self,
        .hosts = hosts,
        .n_hosts = n_hosts,
        .members = members,
        .n_members = n_members,
        .statefile_ok = true,
        .entries = entries,
        .n_entries = n_entries,
        .lost_everywhere = false,
    };
}

/* Three hosts, one cut off from everything: the two stay, the one cut
 * off (statefile unreachable) is undecided and fences on the timeout. */
static void
test_survival_majority(void **state)
{
    (void) state;
    static const char *const bc[] = {"b", "c"}, *const a[] = {"a"};
    struct ha_entry entries[] = {
        ENTRY("a", true, false, pool3, 3), /* a's entry not yet stale */
        ENTRY("c", true, false, bc, 2),
    };
    struct ha_survival_input in = input("b", pool3, 3, bc, 2, entries, 2);
    assert_int_equal(ha_survival(&in), HA_STAY);

    /* c's entry is dead too: b alone is no majority, and a's stale view
     * still names b. */
    entries[1].live = false;
    assert_int_equal(ha_survival(&in), HA_UNDECIDED);
    /* Once a's entry is dead as well, b's partition is the only one. */
    entries[0].live = false;
    assert_int_equal(ha_survival(&in), HA_STAY);

    /* a, alone, without the statefile. */
    struct ha_entry b_c[] = {ENTRY("b", true, false, bc, 2),
                             ENTRY("c", true, false, bc, 2)};
    struct ha_survival_input ina = input("a", pool3, 3, a, 1, b_c, 2);
    ina.statefile_ok = false;
    assert_int_equal(ha_survival(&ina), HA_UNDECIDED);
    /* With the statefile, a sees the others' larger partition: fence. */
    ina.statefile_ok = true;
    assert_int_equal(ha_survival(&ina), HA_FENCE);
}

/* Two hosts split, both reaching the statefile: undecided while the
 * other's view still names this host, then the tie goes to the lowest
 * UUID. */
static void
test_survival_tie(void **state)
{
    (void) state;
    static const char *const a[] = {"a"}, *const b[] = {"b"};
    struct ha_entry of_b = ENTRY("b", true, false, pool2, 2);
    struct ha_survival_input in = input("a", pool2, 2, a, 1, &of_b, 1);

    assert_int_equal(ha_survival(&in), HA_UNDECIDED);
    of_b.view = b;
    of_b.n_view = 1;
    assert_int_equal(ha_survival(&in), HA_STAY);

    struct ha_entry of_a = ENTRY("a", true, false, a, 1);
    struct ha_survival_input inb = input("b", pool2, 2, b, 1, &of_a, 1);
    assert_int_equal(ha_survival(&inb), HA_FENCE);
    /* a fenced itself (or its entry is dead): b is alone and stays. */
    of_a.fenced = true;
    assert_int_equal(ha_survival(&inb), HA_STAY);
    of_a.fenced = false;
    of_a.live = false;
    assert_int_equal(ha_survival(&inb), HA_STAY);

    /* The whole pool in one configuration stays. */
    struct ha_entry both = ENTRY("b", true, false, pool2, 2);
    struct ha_survival_input whole = input("a", pool2, 2, pool2, 2, &both, 1);
    assert_int_equal(ha_survival(&whole), HA_STAY);
}

/* Two hosts, b the survivor of a's loss (a killed, or cut off from
 * everything): a's last entry still says it sees b.  b is undecided while
 * that entry may be news, but once it has not changed for two cycles its
 * host is not writing, and b, alone and uncontested, stays: waiting for
 * a's lease (T + W + K + T/10 after a's last write) would outlast b's own
 * deadline (T after its last stay, which came before corosync noticed;
 * make soak saw the survivor fence). */
static void
test_survival_silent_view(void **state)
{
    (void) state;
    static const char *const b[] = {"b"};
    struct ha_entry of_a = ENTRY("a", true, false, pool2, 2);
    struct ha_survival_input in = input("b", pool2, 2, b, 1, &of_a, 1);

    assert_int_equal(ha_survival(&in), HA_UNDECIDED);
    of_a.silent = true;
    assert_int_equal(ha_survival(&in), HA_STAY);

    /* Nor does a silent entry that names only its own host contend: its
     * host, whose writes do not land, cannot stay (a wrote its view, then
     * lost the statefile too).  Once a writes again, a, the lowest UUID,
     * wins the tie. */
    static const char *const a[] = {"a"};
    of_a.view = a;
    of_a.n_view = 1;
    assert_int_equal(ha_survival(&in), HA_STAY);
    of_a.silent = false;
    assert_int_equal(ha_survival(&in), HA_FENCE);

    /* Two cycles of the same content make an entry silent. */
    int t = 10000;
    struct ha_lease l = {false, 5000, 5000 + 3999};
    assert_false(ha_lease_silent(&l, t));
    l.last_read_ms++;
    assert_true(ha_lease_silent(&l, t));
    struct ha_lease none = {false, -1, -1};
    assert_false(ha_lease_silent(&none, t));
}

/* Two hosts: a (the lowest UUID) was killed and its netpoold started
 * again while b survived alone.  a's first configuration is alone too.
 * a is joining: it cannot win the tie, and b does not count it, so b
 * stays (before, a won and b fenced at once; make soak saw both a
 * needless fence of the restarted host and of the survivor). */
static void
test_survival_joining(void **state)
{
    (void) state;
    static const char *const a[] = {"a"}, *const b[] = {"b"};

    /* b's side: a's entry is live and names only a. */
    struct ha_entry of_a = ENTRY("a", true, false, a, 1);
    of_a.joining = true;
    struct ha_survival_input inb = input("b", pool2, 2, b, 1, &of_a, 1);
    assert_int_equal(ha_survival(&inb), HA_STAY);
    /* Once a is back and says so, the tie is a's again. */
    of_a.joining = false;
    assert_int_equal(ha_survival(&inb), HA_FENCE);

    /* a's side: joining, it loses the tie it would have won... */
    struct ha_entry of_b = ENTRY("b", true, false, b, 1);
    struct ha_survival_input ina = input("a", pool2, 2, a, 1, &of_b, 1);
    assert_int_equal(ha_survival(&ina), HA_STAY);
    ina.joining = true;
    assert_int_equal(ha_survival(&ina), HA_FENCE);
    /* ...is undecided while b still names it... */
    of_b.view = pool2;
    of_b.n_view = 2;
    assert_int_equal(ha_survival(&ina), HA_UNDECIDED);
    /* ...stays once the two are in one configuration... */
    struct ha_survival_input both = input("a", pool2, 2, pool2, 2, &of_b, 1);
    both.joining = true;
    assert_int_equal(ha_survival(&both), HA_STAY);
    /* ...and, alone with b known fenced, stays (the pool's lone survivor
     * whose own netpoold restarted). */
    of_b.view = b;
    of_b.n_view = 1;
    of_b.fenced = true;
    assert_int_equal(ha_survival(&ina), HA_STAY);

    /* Three hosts: a joining host does not count in a partition.  b and
     * c (joining, not synced yet) against a alone: one each, and a, the
     * lowest UUID, wins; once c is back, b and c are a majority. */
    static const char *const bc[] = {"b", "c"};
    struct ha_entry with_a[] = {ENTRY("a", true, false, a, 1),
                                ENTRY("c", true, false, bc, 2)};
    with_a[1].joining = true;
    struct ha_survival_input in3 = input("b", pool3, 3, bc, 2, with_a, 2);
    assert_int_equal(ha_survival(&in3), HA_FENCE);
    with_a[1].joining = false;
    assert_int_equal(ha_survival(&in3), HA_STAY);
}

/* Rule 2: the statefile lost everywhere, every host seeing every other:
 * stay.  Lost everywhere but one host missing, or lost here only: not. */
static void
test_survival_statefile_lost(void **state)
{
    (void) state;
    static const char *const ab[] = {"a", "b"};
    struct ha_survival_input in = input("a", pool3, 3, pool3, 3, NULL, 0);

    in.statefile_ok = false;
    in.lost_everywhere = true;
    assert_int_equal(ha_survival(&in), HA_STAY);
    in.members = ab;
    in.n_members = 2;
    assert_int_equal(ha_survival(&in), HA_UNDECIDED);
    in.members = pool3;
    in.n_members = 3;
    in.lost_everywhere = false;
    assert_int_equal(ha_survival(&in), HA_UNDECIDED);
}

/* A lease expires only after T + W + K + T/100 of the same content,
 * measured from a read's completion to a later read's issue. */
static void
test_lease(void **state)
{
    (void) state;
    int t = 5000;
    struct ha_lease l = {false, -1, -1};

    assert_int_equal(ha_cycle_ms(t), 1000);
    assert_int_equal(ha_write_timeout_ms(t), 1250);
    assert_int_equal(ha_kill_ms(t), 500);
    assert_int_equal(ha_dead_after_ms(t), 6800);
    assert_false(ha_lease_expired(&l, t));
    assert_int_equal(ha_lease_expiry_ms(&l, t), -1);
    l.first_seen_ms = 1000;
    assert_int_equal(ha_lease_expiry_ms(&l, t), 1000 + 6800);
    l.last_read_ms = 1000 + 6799;
    assert_false(ha_lease_expired(&l, t));
    assert_false(ha_known_fenced(&l, t, 3000, -1, 9000));
    l.last_read_ms++;
    assert_true(ha_lease_expired(&l, t));
    assert_true(ha_known_fenced(&l, t, 3000, -1, 9000));

    /* This host reported the statefile lost at 5000: it also waits
     * 2.2 x token + T + K = 6600 + 5000 + 500 after it. */
    assert_false(ha_known_fenced(&l, t, 3000, 5000, 5000 + 12099));
    assert_true(ha_known_fenced(&l, t, 3000, 5000, 5000 + 12100));

    /* A fenced entry is proof at once. */
    struct ha_lease f = {true, -1, -1};
    assert_true(ha_known_fenced(&f, t, 3000, 5000, 5000));
    f.first_seen_ms = 1000;
    assert_int_equal(ha_lease_expiry_ms(&f, t), -1); /* Nothing to wait. */
}

#define MIB (1024LL * 1024)

/* Protected VMs first by order, then best-effort; the most free memory
 * wins; start delays add up; a VM that fits nowhere is said so. */
static void
test_plan(void **state)
{
    (void) state;
    struct ha_vm vms[] = {
        {"v1", "best-effort", 0, 0, 100 * MIB, 0},
        {"v2", "restart", 2, 0, 300 * MIB, 0},
        {"v3", "restart", 1, 5, 200 * MIB, 0},
        {"v4", "", 0, 0, 10 * MIB, 0},
        {"v5", "restart", 2, 0, 900 * MIB, 0},
    };
    struct ha_host hosts[] = {{"h2", 400 * MIB}, {"h3", 450 * MIB}};
    struct ha_placement plan[5];

    size_t n = ha_plan_restarts(vms, 5, hosts, 2, plan);
    assert_int_equal(n, 4);
    /* v3 (order 1) on h3 (450), then v2 on h2 (400 > 250) 5 s later, then
     * v5 fits nowhere, then best-effort v1 on h3 (250 > 100). */
    assert_int_equal(plan[0].vm, 2);
    assert_int_equal(plan[0].host, 1);
    assert_int_equal(plan[0].delay_ms, 0);
    assert_int_equal(plan[1].vm, 1);
    assert_int_equal(plan[1].host, 0);
    assert_int_equal(plan[1].delay_ms, 5000);
    assert_int_equal(plan[2].vm, 4);
    assert_int_equal(plan[2].host, -1);
    assert_int_equal(plan[3].vm, 0);
    assert_int_equal(plan[3].host, 1);
    assert_int_equal(plan[3].delay_ms, 5000);
}

/* Three hosts of 1 GiB free, a protected 600 MiB VM on each: any one
 * host's VM fits on another, two hosts' VMs do not fit on the third. */
static void
test_max_failures(void **state)
{
    (void) state;
    struct ha_vm vms[] = {
        {"v1", "restart", 0, 0, 600 * MIB, 0},
        {"v2", "restart", 0, 0, 600 * MIB, 1},
        {"v3", "restart", 0, 0, 600 * MIB, 2},
        {"v4", "best-effort", 0, 0, 4000 * MIB, 2},
    };
    struct ha_host hosts[] = {
        {"h1", 1024 * MIB}, {"h2", 1024 * MIB}, {"h3", 1024 * MIB}};

    assert_int_equal(ha_max_host_failures(vms, 4, hosts, 3), 1);
    for (size_t i = 0; i < 3; i++) {
        hosts[i].memory_free = 1300 * MIB;
    }
    assert_int_equal(ha_max_host_failures(vms, 4, hosts, 3), 2);
    vms[0].memory = 2000 * MIB;
    assert_int_equal(ha_max_host_failures(vms, 4, hosts, 3), 0);
    /* Nothing protected: every host but one may fail. */
    assert_int_equal(ha_max_host_failures(vms + 3, 1, hosts, 3), 2);
}

/* Reference: whether every set of exactly 'k' failed hosts, found by
 * trying each of the 2^n subsets, leaves every protected VM a place. */
static bool
every_set_of(const struct ha_vm *vms, size_t n_vms,
             const struct ha_host *hosts, size_t n, size_t k)
{
    struct ha_vm lost[16];
    struct ha_host left[8];
    struct ha_placement plan[16];
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        if ((size_t) __builtin_popcount(mask) != k) {
            continue;
        }
        size_t n_lost = 0, n_left = 0;
        for (size_t i = 0; i < n_vms; i++) {
            if (vms[i].resident >= 0 && (mask & (1u << vms[i].resident))
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
            if (plan[i].host < 0) {
                return false;
            }
        }
    }
    return true;
}

/* ha_tolerates_host_failures(k), which walks only the sets of k hosts,
 * says what trying every subset says, on random pools; and
 * ha_max_host_failures() is the largest k for which it and every smaller
 * k hold. */
static void
test_tolerates_failures(void **state)
{
    (void) state;
    unsigned seed = 20261205;
    for (int round = 0; round < 300; round++) {
        struct ha_host hosts[6];
        struct ha_vm vms[12];
        char names[12][24], host_names[6][24];
        size_t n_hosts = 1 + rand_r(&seed) % 6;
        size_t n_vms = rand_r(&seed) % 12;
        for (size_t h = 0; h < n_hosts; h++) {
            snprintf(host_names[h], sizeof host_names[h], "h%zu", h);
            hosts[h] = (struct ha_host){
                host_names[h], (int64_t) (rand_r(&seed) % 8) * 256 * MIB};
        }
        for (size_t i = 0; i < n_vms; i++) {
            snprintf(names[i], sizeof names[i], "v%zu", i);
            vms[i] =
                (struct ha_vm){names[i],
                               rand_r(&seed) % 3 ? "restart" : "best-effort",
                               0,
                               0,
                               (int64_t) (1 + rand_r(&seed) % 4) * 256 * MIB,
                               (int) (rand_r(&seed) % (n_hosts + 1)) - 1};
        }
        int expect = 0;
        bool held = true;
        for (size_t k = 1; k < n_hosts; k++) {
            bool every = every_set_of(vms, n_vms, hosts, n_hosts, k);
            assert_int_equal(
                ha_tolerates_host_failures(vms, n_vms, hosts, n_hosts, k),
                every);
            held = held && every;
            expect += held;
        }
        int max = ha_max_host_failures(vms, n_vms, hosts, n_hosts);
        assert_int_equal(max, expect);
        assert_true(max < (int) n_hosts || n_hosts == 0);
        assert_true(ha_tolerates_host_failures(vms, n_vms, hosts, n_hosts, 0));
        assert_false(
            ha_tolerates_host_failures(vms, n_vms, hosts, n_hosts, n_hosts));
    }
}

/* What a start, a move and a memory change do to the plan's view. */
static void
test_apply_change(void **state)
{
    (void) state;
    struct ha_vm vms[] = {
        {"v1", "restart", 0, 0, 600 * MIB, -1},
        {"v2", "restart", 0, 0, 600 * MIB, 1},
    };
    struct ha_host hosts[] = {
        {"h1", 1024 * MIB}, {"h2", 1024 * MIB}, {"h3", 1024 * MIB}};

    /* A start takes its memory on its host. */
    ha_apply_change(vms, hosts, &(struct ha_change){0, 0, -1});
    assert_int_equal(vms[0].resident, 0);
    assert_int_equal(hosts[0].memory_free, 424 * MIB);

    /* A move gives it back where it ran and takes it where it goes. */
    ha_apply_change(vms, hosts, &(struct ha_change){1, 2, -1});
    assert_int_equal(vms[1].resident, 2);
    assert_int_equal(hosts[1].memory_free, 1624 * MIB);
    assert_int_equal(hosts[2].memory_free, 424 * MIB);

    /* A memory change where it runs: the domain keeps its memory, a
     * restart would need the new figure. */
    ha_apply_change(vms, hosts, &(struct ha_change){1, -1, 2000 * MIB});
    assert_int_equal(vms[1].resident, 2);
    assert_int_equal(vms[1].memory, 2000 * MIB);
    assert_int_equal(hosts[2].memory_free, 424 * MIB);
    /* Which no host could take: one failure already loses it. */
    assert_int_equal(ha_max_host_failures(vms, 2, hosts, 3), 0);
}

/* Which VMs the acting master restarts: protected or best-effort VMs that
 * should run and that no host runs. */
static void
test_vm_lost(void **state)
{
    struct ha_vm_state fenced_host = {
        .priority = "restart",
        .power_state = "Running",
        .desired = "Running",
        .resident_on = "h1",
        .resident_fenced = true,
    };
    assert_true(ha_vm_lost(&fenced_host));
    struct ha_vm_state vm = fenced_host;
    vm.resident_fenced = false;
    assert_false(ha_vm_lost(&vm)); /* Its host is alive. */
    vm = fenced_host;
    vm.busy = true;
    assert_false(ha_vm_lost(&vm)); /* Already being started. */
    vm = fenced_host;
    vm.is_template = true;
    assert_false(ha_vm_lost(&vm));
    vm = fenced_host;
    vm.priority = "";
    assert_false(ha_vm_lost(&vm)); /* Not protected. */
    vm.priority = "best-effort";
    assert_true(ha_vm_lost(&vm));

    /* Halted by a crash or its host's fence, no host: restart it; halted
     * because it was asked to (desired Halted): leave it. */
    struct ha_vm_state ended = {
        .priority = "restart",
        .power_state = "Halted",
        .desired = "Running",
        .resident_on = "",
    };
    assert_true(ha_vm_lost(&ended));
    vm = ended;
    vm.desired = "Halted";
    assert_false(ha_vm_lost(&vm));
    vm = ended;
    vm.power_state = "Suspended";
    assert_false(ha_vm_lost(&vm));

    /* What a VM whose domain ended keeps desiring. */
    assert_true(ha_keeps_running(true, true, "restart"));
    assert_true(ha_keeps_running(true, true, "best-effort"));
    assert_false(ha_keeps_running(true, true, ""));
    assert_false(ha_keeps_running(true, false, "restart"));
    assert_false(ha_keeps_running(false, true, "restart"));
    (void) state;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_survival_majority),
        cmocka_unit_test(test_survival_tie),
        cmocka_unit_test(test_survival_silent_view),
        cmocka_unit_test(test_survival_joining),
        cmocka_unit_test(test_survival_statefile_lost),
        cmocka_unit_test(test_lease),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_max_failures),
        cmocka_unit_test(test_tolerates_failures),
        cmocka_unit_test(test_apply_change),
        cmocka_unit_test(test_vm_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
