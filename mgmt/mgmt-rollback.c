/*
 * The pure decision behind rolling back a management change; see
 * mgmt/mgmt-rollback.h.
 */
#include "mgmt/mgmt-rollback.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "lib/xalloc.h"

bool
mgmt_rollback_timeout_valid(const char *text)
{
    if (!text || !isdigit((unsigned char) *text)) {
        return false;
    }
    char *end;
    errno = 0;
    long seconds = strtol(text, &end, 10);
    return !errno && !*end && seconds >= MGMT_ROLLBACK_TIMEOUT_MIN
           && seconds <= MGMT_ROLLBACK_TIMEOUT_MAX;
}

int
mgmt_rollback_timeout(const char *text)
{
    return mgmt_rollback_timeout_valid(text) ? atoi(text)
                                             : MGMT_ROLLBACK_TIMEOUT_DEFAULT;
}

enum mgmt_rollback_verdict
mgmt_rollback_decide(const struct mgmt_rollback_change *change,
                     const struct mgmt_rollback_probe *probe, long long now_ms)
{
    if (!change->has_address) {
        return MGMT_ROLLBACK_KEEP;
    }
    if (change->has_gateway ? probe->gateway_answered : probe->any_answered) {
        return MGMT_ROLLBACK_KEEP;
    }
    long long deadline_ms = change->start_ms + change->timeout_s * 1000LL;
    return now_ms >= deadline_ms ? MGMT_ROLLBACK_RESTORE : MGMT_ROLLBACK_WAIT;
}

char *
mgmt_rollback_message_body(const char *pif, const char *old_address,
                           const char *new_address)
{
    return xasprintf("The management interface change of PIF %s to address "
                     "%s got no answer in time; it was rolled back to "
                     "address %s.",
                     pif, *new_address ? new_address : "(none)",
                     *old_address ? old_address : "(none)");
}
