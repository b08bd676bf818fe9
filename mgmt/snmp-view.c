/*
 * SNMP views: every object instance the subagent serves, as one array
 * sorted by OID, so that a GET is a binary search and a GETNEXT the entry
 * after it.  Pure.
 */
#include "mgmt/snmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

static int compare_oids(const uint32_t *a, size_t a_len, const uint32_t *b,
                        size_t b_len);
static int compare_entries(const void *a, const void *b);
static size_t lower_bound(const struct snmp_view *, const uint32_t *oid,
                          size_t len);

void
snmp_view_init(struct snmp_view *view)
{
    memset(view, 0, sizeof *view);
}

void
snmp_view_clear(struct snmp_view *view)
{
    if (!view) {
        return;
    }
    for (size_t i = 0; i < view->n; i++) {
        free(view->entries[i].octets);
    }
    free(view->entries);
    snmp_view_init(view);
}

struct snmp_entry *
snmp_view_add(struct snmp_view *view, const uint32_t *prefix,
              size_t prefix_len, const uint32_t *index, size_t n_index,
              enum snmp_type type, uint64_t number, const void *octets,
              size_t octets_len)
{
    if (view->n == view->allocated) {
        view->allocated = view->allocated ? 2 * view->allocated : 256;
        view->entries =
            xrealloc(view->entries, view->allocated * sizeof *view->entries);
    }
    struct snmp_entry *e = &view->entries[view->n++];
    memset(e, 0, sizeof *e);
    for (size_t i = 0; i < prefix_len && e->oid_len < SNMP_MAX_OID; i++) {
        e->oid[e->oid_len++] = prefix[i];
    }
    for (size_t i = 0; i < n_index && e->oid_len < SNMP_MAX_OID; i++) {
        e->oid[e->oid_len++] = index[i];
    }
    e->type = type;
    e->number = number;
    if (type == SNMP_T_OCTETS || type == SNMP_T_OID) {
        e->octets = xmalloc(octets_len + 1);
        memcpy(e->octets, octets, octets_len);
        e->octets[octets_len] = '\0';
        e->octets_len = octets_len;
    }
    return e;
}

void
snmp_view_finish(struct snmp_view *view)
{
    if (view->n) {
        qsort(view->entries, view->n, sizeof *view->entries, compare_entries);
    }
}

const struct snmp_entry *
snmp_view_get(const struct snmp_view *view, const uint32_t *oid, size_t len)
{
    size_t i = lower_bound(view, oid, len);

    if (i < view->n
        && !compare_oids(view->entries[i].oid, view->entries[i].oid_len, oid,
                         len)) {
        return &view->entries[i];
    }
    return NULL;
}

const struct snmp_entry *
snmp_view_next(const struct snmp_view *view, const uint32_t *oid, size_t len,
               const uint32_t *root, size_t root_len)
{
    size_t i = lower_bound(view, oid, len);

    if (i < view->n
        && !compare_oids(view->entries[i].oid, view->entries[i].oid_len, oid,
                         len)) {
        i++;
    }
    if (i >= view->n) {
        return NULL;
    }
    const struct snmp_entry *e = &view->entries[i];
    if (e->oid_len < root_len
        || memcmp(e->oid, root, root_len * sizeof *root)) {
        return NULL;
    }
    return e;
}

void
snmp_oid_format(const uint32_t *oid, size_t len, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < len && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%u", i ? "." : "",
                         (unsigned int) oid[i]);
        if (n < 0) {
            break;
        }
        used += n;
    }
}

/* Helpers. */

static int
compare_oids(const uint32_t *a, size_t a_len, const uint32_t *b, size_t b_len)
{
    size_t n = a_len < b_len ? a_len : b_len;

    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
    }
    return a_len < b_len ? -1 : a_len > b_len;
}

static int
compare_entries(const void *a_, const void *b_)
{
    const struct snmp_entry *a = a_, *b = b_;
    return compare_oids(a->oid, a->oid_len, b->oid, b->oid_len);
}

/* Returns the position of the first entry not less than 'oid'. */
static size_t
lower_bound(const struct snmp_view *view, const uint32_t *oid, size_t len)
{
    size_t lo = 0, hi = view->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (compare_oids(view->entries[mid].oid, view->entries[mid].oid_len,
                         oid, len)
            < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}
