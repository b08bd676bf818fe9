/*
 * The decisions of replication, pure: who leads a sync, what each member
 * is sent, how far a majority holds the log, who writes an epoch.
 */
#include "ha/ha.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

static int compare_desc(const void *a, const void *b);

size_t
ha_sync_leader(const struct ha_member_state *states, size_t n)
{
    size_t best = 0;

    for (size_t i = 1; i < n; i++) {
        const struct ha_member_state *a = &states[i], *b = &states[best];
        if (a->epoch != b->epoch ? a->epoch > b->epoch
            : a->seq != b->seq   ? a->seq > b->seq
                                 : a->node < b->node) {
            best = i;
        }
    }
    return best;
}

enum ha_sync_plan
ha_sync_plan(const struct ha_member_state *member, uint64_t leader_seq,
             uint64_t leader_first, const char *member_hash_at_leader)
{
    if (member->seq > leader_seq || !member_hash_at_leader
        || strcmp(member_hash_at_leader, member->hash ? member->hash : "")) {
        /* Entries the leader never had, or a history that differs. */
        return HA_SYNC_SNAPSHOT;
    }
    if (member->seq == leader_seq) {
        return HA_SYNC_NOTHING;
    }
    /* The tail must start right after the member's last entry. */
    if (!leader_first || leader_first > member->seq + 1) {
        return HA_SYNC_SNAPSHOT;
    }
    return HA_SYNC_TAIL;
}

uint64_t
ha_committed_seq(const uint64_t *acked, size_t n, size_t quorum)
{
    if (!quorum || n < quorum) {
        return 0;
    }
    uint64_t *sorted = xmalloc(n * sizeof *sorted);
    memcpy(sorted, acked, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_desc);
    uint64_t committed = sorted[quorum - 1];
    free(sorted);
    return committed;
}

size_t
ha_lowest_node(const uint32_t *nodes, size_t n)
{
    size_t lowest = 0;

    for (size_t i = 1; i < n; i++) {
        if (nodes[i] < nodes[lowest]) {
            lowest = i;
        }
    }
    return lowest;
}

static int
compare_desc(const void *a_, const void *b_)
{
    uint64_t a = *(const uint64_t *) a_, b = *(const uint64_t *) b_;
    return a < b ? 1 : a > b ? -1 : 0;
}
