/*
 * error: typed netpool errors, as xapi has them: a code plus parameters.
 *
 * A typed error is what the API returns to a client and what the CLI prints:
 * for example HANDLE_INVALID(network, 1f0c…) or VLAN_TAG_INVALID(4095).  It
 * is a value that owns its strings; this module never logs or prints.
 * Internal functions return 0 or a positive errno; a typed error is made
 * where a request meets a rule (validation, lookup, permission).
 */
#ifndef NETPOOL_LIB_ERROR_H
#define NETPOOL_LIB_ERROR_H 1

#include <stddef.h>

struct json_object;

/* Error codes.  The names follow xapi where xapi has one. */
#define ERR_HANDLE_INVALID "HANDLE_INVALID"
#define ERR_MISSING_PARAMETER "MISSING_PARAMETER"
#define ERR_INVALID_VALUE "INVALID_VALUE"
#define ERR_FIELD_TYPE_ERROR "FIELD_TYPE_ERROR"
#define ERR_FIELD_READ_ONLY "FIELD_READ_ONLY"
#define ERR_MAP_KEY_MISSING "MAP_KEY_MISSING"
#define ERR_MAP_DUPLICATE_KEY "MAP_DUPLICATE_KEY"
#define ERR_NETWORK_CONTAINS_PIF "NETWORK_CONTAINS_PIF"
#define ERR_PIF_IS_MANAGEMENT_INTERFACE "PIF_IS_MANAGEMENT_INTERFACE"
#define ERR_PIF_HAS_NO_NETWORK_CONFIGURATION "PIF_HAS_NO_NETWORK_CONFIGURATION"
#define ERR_MESSAGE_METHOD_UNKNOWN "MESSAGE_METHOD_UNKNOWN"
#define ERR_MESSAGE_PARAMETER_COUNT_MISMATCH "MESSAGE_PARAMETER_COUNT_MISMATCH"
#define ERR_JSON_PARSE_ERROR "JSON_PARSE_ERROR"
#define ERR_JSONRPC_INVALID_REQUEST "JSONRPC_INVALID_REQUEST"
#define ERR_REQUEST_TOO_LARGE "REQUEST_TOO_LARGE"
#define ERR_SESSION_AUTHENTICATION_FAILED "SESSION_AUTHENTICATION_FAILED"
#define ERR_SESSION_INVALID "SESSION_INVALID"
#define ERR_PERMISSION_DENIED "PERMISSION_DENIED"
#define ERR_USER_ALREADY_EXISTS "USER_ALREADY_EXISTS"
#define ERR_MULTIPLE_MATCHES "MULTIPLE_MATCHES"
#define ERR_OBJECT_NOLONGER_EXISTS "OBJECT_NOLONGER_EXISTS"
#define ERR_OPERATION_NOT_ALLOWED "OPERATION_NOT_ALLOWED"
#define ERR_EVENTS_LOST "EVENTS_LOST"
#define ERR_TASK_CANCELLED "TASK_CANCELLED"
#define ERR_INTERNAL_ERROR "INTERNAL_ERROR"
#define ERR_CONNECTION_FAILED "CONNECTION_FAILED"
#define ERR_SSL_VERIFY_ERROR "SSL_VERIFY_ERROR"
#define ERR_UNKNOWN_COMMAND "UNKNOWN_COMMAND"
#define ERR_TIMEOUT "TIMEOUT"
#define ERR_NETWORK_CONTAINS_VIF "NETWORK_CONTAINS_VIF"
#define ERR_DEVICE_ALREADY_EXISTS "DEVICE_ALREADY_EXISTS"
#define ERR_DEVICE_ALREADY_ATTACHED "DEVICE_ALREADY_ATTACHED"
#define ERR_DEVICE_ALREADY_DETACHED "DEVICE_ALREADY_DETACHED"
#define ERR_MAC_ALREADY_IN_USE "MAC_ALREADY_IN_USE"
#define ERR_VM_BAD_POWER_STATE "VM_BAD_POWER_STATE"
#define ERR_VM_HAS_VIFS "VM_HAS_VIFS"
#define ERR_VLAN_TAG_INVALID "VLAN_TAG_INVALID"
#define ERR_PIF_IS_VLAN "PIF_IS_VLAN"
#define ERR_PIF_VLAN_EXISTS "PIF_VLAN_EXISTS"
#define ERR_PIF_IS_NOT_PHYSICAL "PIF_IS_NOT_PHYSICAL"
#define ERR_CANNOT_ADD_VLAN_TO_BOND_SLAVE "CANNOT_ADD_VLAN_TO_BOND_SLAVE"
#define ERR_NETWORK_ALREADY_CONNECTED "NETWORK_ALREADY_CONNECTED"
#define ERR_VLAN_MTU_EXCEEDS_PARENT "VLAN_MTU_EXCEEDS_PARENT"
#define ERR_PIF_IS_ALREADY_BONDED "PIF_IS_ALREADY_BONDED"
#define ERR_PIF_UNMANAGED "PIF_UNMANAGED"
#define ERR_PIF_CANNOT_BOND_CROSS_HOST "PIF_CANNOT_BOND_CROSS_HOST"
#define ERR_PIF_BOND_MTU_MISMATCH "PIF_BOND_MTU_MISMATCH"
#define ERR_PIF_BOND_NEEDS_MORE_MEMBERS "PIF_BOND_NEEDS_MORE_MEMBERS"
#define ERR_PIF_BOND_TOO_MANY_MEMBERS "PIF_BOND_TOO_MANY_MEMBERS"
#define ERR_OTHER_OPERATION_IN_PROGRESS "OTHER_OPERATION_IN_PROGRESS"
#define ERR_MEMORY_CONSTRAINT_VIOLATION "MEMORY_CONSTRAINT_VIOLATION"
#define ERR_HOST_NOT_ENOUGH_FREE_MEMORY "HOST_NOT_ENOUGH_FREE_MEMORY"
#define ERR_VM_FAILED_START "VM_FAILED_START"
#define ERR_VM_FAILED_SHUTDOWN_ACKNOWLEDGMENT \
    "VM_FAILED_SHUTDOWN_ACKNOWLEDGMENT"
#define ERR_VM_SHUTDOWN_TIMEOUT "VM_SHUTDOWN_TIMEOUT"
#define ERR_VM_IS_TEMPLATE "VM_IS_TEMPLATE"
#define ERR_VM_LACKS_FEATURE_SUSPEND "VM_LACKS_FEATURE_SUSPEND"
#define ERR_SR_UNKNOWN_DRIVER "SR_UNKNOWN_DRIVER"
#define ERR_SR_DEVICE_IN_USE "SR_DEVICE_IN_USE"
#define ERR_SR_BACKEND_FAILURE "SR_BACKEND_FAILURE"
#define ERR_SR_NOT_EMPTY "SR_NOT_EMPTY"
#define ERR_VDI_IN_USE "VDI_IN_USE"
#define ERR_VDI_MISSING "VDI_MISSING"
#define ERR_VDI_READONLY "VDI_READONLY"

/* Host datapath (datapath/dpdk.c, mgmt/api-dpdk.c). */
#define ERR_HOST_HUGEPAGES_INSUFFICIENT "HOST_HUGEPAGES_INSUFFICIENT"
#define ERR_HOST_DATAPATH_UNAVAILABLE "HOST_DATAPATH_UNAVAILABLE"
#define ERR_DPDK_DEVARGS_INVALID "DPDK_DEVARGS_INVALID"
#define ERR_MTU_EXCEEDS_DEVICE_LIMIT "MTU_EXCEEDS_DEVICE_LIMIT"
/* The pool (ha/, mgmt/api-pool.c). */
#define ERR_POOL_NOT_QUORATE "POOL_NOT_QUORATE"
#define ERR_POOL_WRITE_CONFLICT "POOL_WRITE_CONFLICT"
#define ERR_POOL_WRITE_TIMEOUT "POOL_WRITE_TIMEOUT"
#define ERR_POOL_HOST_IS_STANDALONE "POOL_HOST_IS_STANDALONE"
#define ERR_POOL_PARTITION_IS_QUORATE "POOL_PARTITION_IS_QUORATE"
#define ERR_POOL_JOINING_HOST_CONNECTION_FAILED \
    "POOL_JOINING_HOST_CONNECTION_FAILED"
#define ERR_POOL_JOINING_HOST_IS_A_MEMBER "POOL_JOINING_HOST_IS_A_MEMBER"
#define ERR_JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS \
    "JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS"
#define ERR_POOL_JOINING_HOST_CANNOT_HAVE_RUNNING_VMS \
    "POOL_JOINING_HOST_CANNOT_HAVE_RUNNING_VMS"
#define ERR_POOL_JOINING_HOST_HAS_BONDS "POOL_JOINING_HOST_HAS_BONDS"
#define ERR_POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS \
    "POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS"
#define ERR_POOL_JOINING_HOST_MANAGEMENT_NOT_STATIC \
    "POOL_JOINING_HOST_MANAGEMENT_NOT_STATIC"
#define ERR_POOL_HOSTS_NOT_HOMOGENEOUS "POOL_HOSTS_NOT_HOMOGENEOUS"
#define ERR_POOL_HOST_LIMIT_REACHED "POOL_HOST_LIMIT_REACHED"
#define ERR_POOL_JOIN_SYNC_TIMEOUT "POOL_JOIN_SYNC_TIMEOUT"
#define ERR_CANNOT_EJECT_MASTER "CANNOT_EJECT_MASTER"
#define ERR_HOST_HAS_RESIDENT_VMS "HOST_HAS_RESIDENT_VMS"
#define ERR_HOST_OFFLINE "HOST_OFFLINE"

#define ERROR_MAX_PARAMS 8 /* Parameters one error can carry. */

/* A typed error.  Owns 'code' and every parameter. */
struct np_error {
    char *code;                     /* E.g. "HANDLE_INVALID". */
    size_t n_params;                /* Entries used in 'params'. */
    char *params[ERROR_MAX_PARAMS]; /* Parameters, in xapi order. */
};

/* Returns a new error with 'code' and the parameters that follow it, a
 * NULL-terminated list of strings (NULL entries before the end are not
 * possible; pass "" instead).  Never returns NULL: allocation failure
 * aborts, as everywhere in netpool. */
struct np_error *np_error_new(const char *code, ...);

/* Like np_error_new() with printf-style formatting of a single parameter
 * after 'first'.  Handy for numbers: np_error_newf(ERR_INVALID_VALUE,
 * "MTU", "%d", mtu). */
struct np_error *np_error_newf(const char *code, const char *first,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Frees 'error'.  Accepts NULL. */
void np_error_destroy(struct np_error *error);

/* Returns a JSON array [code, param…] (a new reference). */
struct json_object *np_error_to_json(const struct np_error *error);

/* Parses a JSON array [code, param…] as np_error_to_json() makes it.
 * Returns NULL if 'json' has another shape. */
struct np_error *np_error_from_json(struct json_object *json);

/* Formats 'error' as "CODE(param, param)" into a new string the caller
 * frees. */
char *np_error_to_string(const struct np_error *error);

#endif
