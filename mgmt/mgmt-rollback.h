/*
 * mgmt-rollback: the pure decision behind rolling back a management change.
 *
 * A change of the management interface (a new address or gateway, a move
 * of the role to another PIF) can cut the host off its pool.  Before such
 * a change netpoold records the previous configuration; afterwards it
 * probes from the management interface: the new gateway (ARP or ICMP
 * echo), or, when the new configuration has no gateway, anything on the
 * subnet.  If nothing answers within a bounded time, the previous
 * configuration is restored in store and kernel, and the message
 * MANAGEMENT_RECONFIGURE_ROLLED_BACK names the PIF and both addresses.
 *
 * This module owns only the decisions: what the time limit is, whether to
 * wait, keep or restore, what the message says.  It never probes, never
 * touches the store or the kernel, and never reads the clock.
 */
#ifndef NETPOOL_MGMT_MGMT_ROLLBACK_H
#define NETPOOL_MGMT_MGMT_ROLLBACK_H 1

#include <stdbool.h>

/* host other_config key that sets the time limit, in seconds. */
#define MGMT_ROLLBACK_TIMEOUT_KEY "management-rollback-timeout"
#define MGMT_ROLLBACK_TIMEOUT_DEFAULT 30 /* Seconds, as xapi waits. */
#define MGMT_ROLLBACK_TIMEOUT_MIN 2
#define MGMT_ROLLBACK_TIMEOUT_MAX 300

/* Name of the message raised when a change is rolled back. */
#define MGMT_ROLLBACK_MESSAGE "MANAGEMENT_RECONFIGURE_ROLLED_BACK"

/* A management change waiting for its confirmation. */
struct mgmt_rollback_change {
    bool has_address;   /* The new configuration has an IPv4 address. */
    bool has_gateway;   /* The new configuration names a gateway. */
    long long start_ms; /* When the change reached the kernel. */
    int timeout_s;      /* Time limit, from mgmt_rollback_timeout(). */
};

/* What the probes from the management interface have seen so far. */
struct mgmt_rollback_probe {
    bool gateway_answered; /* The new gateway answered ARP or echo. */
    bool any_answered;     /* Some host answered on the new subnet. */
};

/* What to do with a pending change. */
enum mgmt_rollback_verdict {
    MGMT_ROLLBACK_WAIT,    /* Within the time limit: probe again. */
    MGMT_ROLLBACK_KEEP,    /* The new configuration is reachable. */
    MGMT_ROLLBACK_RESTORE, /* Time is up unanswered: restore the old. */
};

/* Returns true if 'text' is a valid value of host other_config key
 * MGMT_ROLLBACK_TIMEOUT_KEY: a decimal number of seconds between
 * MGMT_ROLLBACK_TIMEOUT_MIN and MGMT_ROLLBACK_TIMEOUT_MAX. */
bool mgmt_rollback_timeout_valid(const char *text);

/* Returns the time limit in seconds that 'text' (the value of host
 * other_config key MGMT_ROLLBACK_TIMEOUT_KEY, or NULL when absent) sets:
 * MGMT_ROLLBACK_TIMEOUT_DEFAULT when it is absent or not valid. */
int mgmt_rollback_timeout(const char *text);

/* Decides, at time 'now_ms' (same clock as 'change->start_ms'), what to do
 * with 'change' given what 'probe' has seen.  A change that leaves no
 * address (the role was disabled) has nothing to probe and is kept.  A
 * change with a gateway is kept once the gateway answers; one without a
 * gateway once anything answers.  Otherwise it waits until the time limit
 * has passed, then asks for the restore. */
enum mgmt_rollback_verdict
mgmt_rollback_decide(const struct mgmt_rollback_change *change,
                     const struct mgmt_rollback_probe *probe,
                     long long now_ms);

/* Returns the body of message MGMT_ROLLBACK_MESSAGE, for PIF 'pif' whose
 * change to 'new_address' was undone back to 'old_address' (either may be
 * "" for none).  The caller frees it. */
char *mgmt_rollback_message_body(const char *pif, const char *old_address,
                                 const char *new_address);

#endif /* mgmt/mgmt-rollback.h */
