/*
 * Roles: which role a method needs, decided from its name alone.  xapi's
 * six roles, ranked; each role may do what every lower one may.
 */
#include "mgmt/mgmt.h"

#include <string.h>

static const char *const roles[] = {
    "read-only",      "vm-operator",   "vm-admin",
    "vm-power-admin", "pool-operator", "pool-admin",
};

int
rbac_role_rank(const char *name)
{
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++) {
        if (!strcmp(roles[i], name)) {
            return (int) i;
        }
    }
    return -1;
}

const char *
rbac_required_role(const char *method)
{
    const char *dot = strchr(method, '.');
    const char *verb = dot ? dot + 1 : method;

    /* Every caller may manage its own session, read, and wait. */
    if (!strncmp(method, "session.", 8) || !strcmp(method, "event.from")
        || !strncmp(verb, "get_", 4) || !strncmp(verb, "wait_", 5)) {
        return "read-only";
    }
    /* Accounts and roles are the pool administrator's, and so is the
     * membership of the pool. */
    static const char *const membership[] = {
        "pool.join",
        "pool.admit",
        "pool.eject",
        "pool.designate_new_master",
        "pool.emergency_transition_to_master",
        "pool.recover_slaves",
        "pool.request_membership",
        "pool.emergency_reset_master",
        "pool.management_reconfigure",
    };
    if (!strncmp(method, "user.", 5)) {
        return "pool-admin";
    }
    for (size_t i = 0; i < sizeof membership / sizeof *membership; i++) {
        if (!strcmp(method, membership[i])) {
            return "pool-admin";
        }
    }
    if (!strcmp(method, "VM.pool_migrate")) {
        return "vm-power-admin";
    }
    if (!strncmp(method, "VM.", 3) || !strncmp(method, "VIF.", 4)
        || !strncmp(method, "VDI.", 4) || !strncmp(method, "VBD.", 4)) {
        return "vm-admin";
    }
    return "pool-operator";
}

bool
rbac_allows(const char *role, const char *method)
{
    int have = rbac_role_rank(role);
    return have >= 0 && have >= rbac_role_rank(rbac_required_role(method));
}
