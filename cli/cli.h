/*
 * cli: the netpool command, an xe-style client of netpoold's JSON-RPC API.
 *
 * `netpool <class>-<verb> key=value … [--minimal] [--json]` talks to
 * netpoold over its unix socket (as the local root, session "") or over
 * HTTPS (-s HOST -u USER -pw PASS, logging in and out around the command).
 * This module owns the argument parser, the HTTP/1.1 POST transport (unix
 * socket or TLS with certificate and host name checks), the JSON-RPC
 * session, the class schemas it learns at run time through
 * <Class>.get_schema, the command table (the single source for help, bash
 * completion and the man page) and xe-style output.
 *
 * It never links or includes mgmt/: everything it knows about objects comes
 * from the API.  Library code here never exits and never prints errors;
 * commands return typed errors (struct np_error) and only netpool-main.c
 * turns them into output and an exit status.
 */
#ifndef NETPOOL_CLI_CLI_H
#define NETPOOL_CLI_CLI_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct cli_command;
struct json_object;
struct np_error;

#define CLI_VERSION "0.1.0"
#define CLI_DEFAULT_SOCKET "/run/netpool/netpoold.sock"
#define CLI_DEFAULT_PORT 443

/* Typed errors that only the client raises (the others are in
 * lib/error.h). */
#define CLI_ERR_UNKNOWN_FIELD "UNKNOWN_FIELD"         /* (class, field) */
#define CLI_ERR_UNKNOWN_PARAMETER "UNKNOWN_PARAMETER" /* (command, key) */
#define CLI_ERR_HTTP_ERROR "HTTP_ERROR"               /* (status, reason) */

/*
 * Arguments.
 */

/* One "key=value" or "key:map-key=value" argument. */
struct cli_param {
    char *key;     /* CLI name, e.g. "name-label". */
    char *map_key; /* "k" of "other-config:k=v", else NULL. */
    char *value;   /* Text after the first '='. */
};

/* A parsed command line. */
struct cli_args {
    char *command;            /* "network-list", or NULL if none. */
    struct cli_param *params; /* Parameters, in command-line order. */
    size_t n_params;          /* Entries in 'params'. */
    char **words;             /* Bare words after the command ("help
                                 * network-list"). */
    size_t n_words;           /* Entries in 'words'. */
    bool minimal;             /* --minimal: comma-separated values. */
    bool json;                /* --json: results and errors as JSON. */
    bool version;             /* --version. */
    bool ssl_verify;          /* False after --no-ssl-verify. */
    char *host;               /* -s HOST, NULL for the unix socket. */
    int port;                 /* -p PORT, CLI_DEFAULT_PORT if absent. */
    char *user;               /* -u USER. */
    char *password;           /* -pw PASS. */
    char *password_file;      /* -pwf FILE. */
    char *cafile;             /* --cafile FILE. */
};

/* Parses 'argc' words of 'argv' (argv[0] is the program name) into 'args'.
 * Connection options (-s -p -u -pw -pwf --cafile --no-ssl-verify), output
 * flags (--minimal --json) and --version may appear anywhere; any other
 * "--name" becomes the parameter name=true, as xe has it ("--force").
 * Returns NULL on success, else a typed error (MISSING_PARAMETER for an
 * option without its value, INVALID_VALUE for a bad port) for the caller
 * to free; 'args' must then still be cleared with cli_args_clear(). */
struct np_error *cli_args_parse(int argc, char *argv[], struct cli_args *args);

/* Frees what 'args' owns.  Accepts NULL. */
void cli_args_clear(struct cli_args *args);

/* Returns the value of the last parameter 'key' without a map key, or
 * NULL if there is none. */
const char *cli_args_get(const struct cli_args *args, const char *key);

/*
 * Names: classes and fields.
 */

/* A class as the CLI knows it before asking the daemon. */
struct cli_class {
    const char *cli_name;       /* Command prefix: "pif". */
    const char *api_name;       /* API class: "PIF". */
    const char *default_params; /* Space-separated columns of <c>-list. */
};

/* Returns every class, NULL-terminated, in the order help lists them. */
const struct cli_class *const *cli_classes(void);

/* Returns the class whose CLI name or API name is 'name' (either matched
 * case-insensitively), or NULL. */
const struct cli_class *cli_class_find(const char *name);

/* Returns a new string: the API spelling of CLI name 'name', hyphens
 * turned into underscores ("name-label" -> "name_label", "VLAN-master-of"
 * -> "VLAN_master_of"). */
char *cli_name_to_api(const char *name);

/* Returns a new string: the CLI spelling of API name 'name', underscores
 * turned into hyphens. */
char *cli_name_from_api(const char *name);

/*
 * Schemas, learned from <Class>.get_schema.
 */

/* How a field's value looks, from the schema's "type". */
enum cli_kind {
    CLI_KIND_STRING, /* Strings, enums, refs, datetimes. */
    CLI_KIND_INT,    /* JSON integer. */
    CLI_KIND_BOOL,   /* JSON boolean. */
    CLI_KIND_FLOAT,  /* JSON number. */
    CLI_KIND_SET,    /* JSON array of strings. */
    CLI_KIND_MAP,    /* JSON object of strings. */
};

/* One field of a class. */
struct cli_field {
    char *api_name;     /* "name_label", "network". */
    char *cli_name;     /* "name-label", "network-uuid". */
    enum cli_kind kind; /* Value type. */
    bool writable;      /* Schema mode "RW". */
};

/* The fields of one class, in the daemon's order, "uuid" first. */
struct cli_schema {
    const struct cli_class *class; /* The class described. */
    struct cli_field *fields;      /* Fields; fields[0] is "uuid". */
    size_t n_fields;               /* Entries in 'fields'. */
};

/* Returns the kind named by schema type 'type' ("int", "bool", "map",
 * "string set", …); unknown or NULL types are CLI_KIND_STRING. */
enum cli_kind cli_kind_from_type(const char *type);

/* Returns a new string: the CLI name of API field 'api_name' of 'kind'.
 * Underscores become hyphens; a reference named after a class gets
 * "-uuid" ("network" -> "network-uuid", "VM" -> "VM-uuid") and a set of
 * references named after a class in the plural gets "-uuids" ("PIFs" ->
 * "PIF-uuids"), as xe prints them. */
char *cli_field_cli_name(const char *api_name, enum cli_kind kind);

/* Builds the schema of 'class' from 'json' (borrowed), the result of
 * <Class>.get_schema: an array of {name, type, mode}.  Fields that hold
 * passwords are dropped so that they are never shown.  Returns NULL if
 * 'json' is not an array. */
struct cli_schema *cli_schema_from_json(const struct cli_class *class,
                                        struct json_object *json);

/* Frees 'schema'.  Accepts NULL. */
void cli_schema_destroy(struct cli_schema *schema);

/* Returns the field of 'schema' that CLI name 'name' designates: its CLI
 * name, its plain hyphenated API name ("network" for "network-uuid") or
 * its API name, tried in that order and then case-insensitively.  Returns
 * NULL if there is none. */
const struct cli_field *cli_schema_find(const struct cli_schema *schema,
                                        const char *name);

/* Returns the field of 'schema' whose API name is 'api_name', or NULL. */
const struct cli_field *cli_schema_find_api(const struct cli_schema *schema,
                                            const char *api_name);

/* Returns xe's mode marker for 'field': "RO", "RW", "MRO", "MRW" (maps),
 * "SRO" or "SRW" (sets). */
const char *cli_field_mode(const struct cli_field *field);

/* Removes from 'record' (a JSON object) every member that holds a
 * password or its hash, so that no output ever shows one. */
void cli_record_strip_secrets(struct json_object *record);

/*
 * Values.
 */

/* Returns a new string: 'value' (borrowed) as the CLI prints it.  Strings
 * as they are, numbers and booleans in JSON form, sets as "a; b", maps as
 * "k1: v1; k2: v2", null as "". */
char *cli_value_format(struct json_object *value);

/* Parses CLI text 'text' for 'field' into a new JSON value in '*valuep'.
 * Integers, floats and booleans ("true"/"false") must be well formed; sets
 * are separated by ',' or ';'; maps are written "k1: v1; k2: v2" (or
 * "k1=v1,k2=v2").  Returns NULL on success, else INVALID_VALUE(field,
 * text) for the caller to free. */
struct np_error *cli_value_parse(const struct cli_field *field,
                                 const char *text,
                                 struct json_object **valuep);

/* A condition on a record: "field=value", "map:key=value" or, with
 * 'negate', "field=/=value". */
struct cli_filter {
    const struct cli_field *field; /* Field compared. */
    const char *map_key;           /* Key within a map field, or NULL. */
    const char *value;             /* CLI-formatted value expected. */
    bool negate;                   /* True for "/=": must differ. */
};

/* Returns true if 'record' (borrowed) satisfies every one of the 'n'
 * 'filters'.  Values are compared as cli_value_format() prints them; a
 * missing map key compares as "". */
bool cli_record_matches(struct json_object *record,
                        const struct cli_filter *filters, size_t n);

/*
 * xe-style output.
 */

/* Returns a new string: 'record' (borrowed) as an xe block, one line per
 * field named in 'params' (CLI names, in that order; all fields of
 * 'schema' when NULL), "uuid ( RO)" left-aligned and the other names
 * right-aligned so that the colons line up, a blank line after.  Fields
 * that 'schema' lacks are skipped. */
char *cli_format_block(const struct cli_schema *schema,
                       struct json_object *record, const char *const *params,
                       size_t n_params);

/* Writes 'error' to 'stream' as xe does ("Error code: CODE" and, when it
 * has parameters, "Error parameters: p1, p2"), or with 'json' as
 * {"error": ["CODE", "p1", …]}. */
void cli_print_error(FILE *stream, const struct np_error *error, bool json);

/* Writes 'value' (borrowed) to 'stream' as indented JSON and a newline. */
void cli_print_json(FILE *stream, struct json_object *value);

/*
 * HTTP.
 */

/* A parsed HTTP response. */
struct cli_http_response {
    int status;       /* E.g. 200, 413. */
    char *reason;     /* Reason phrase, e.g. "OK". */
    char *body;       /* Body, NUL-terminated (chunked decoded). */
    size_t body_size; /* Bytes in 'body', without the NUL. */
};

/* Returns a new HTTP/1.1 request "POST 'path'" to 'host' with 'size' bytes
 * of JSON 'body' and "Connection: close"; stores its length in
 * '*request_size'. */
char *cli_http_format_request(const char *host, const char *path,
                              const char *body, size_t size,
                              size_t *request_size);

/* Parses the 'size' bytes of a response received so far at 'buf'; 'eof'
 * says whether the peer has closed.  The body ends per Content-Length,
 * chunked encoding, or at close.  Returns 0 and fills 'response' when the
 * response is complete, EAGAIN if more bytes are needed, EPROTO if it is
 * malformed or truncated.  Clear 'response' with
 * cli_http_response_clear() after a 0 return. */
int cli_http_parse_response(const char *buf, size_t size, bool eof,
                            struct cli_http_response *response);

/* Frees what 'response' owns.  Accepts NULL. */
void cli_http_response_clear(struct cli_http_response *response);

/* Returns the typed error for HTTP status 'status' with 'reason': NULL for
 * 2xx, REQUEST_TOO_LARGE for 413, SESSION_AUTHENTICATION_FAILED for 401,
 * else HTTP_ERROR(status, reason). */
struct np_error *cli_http_status_error(int status, const char *reason);

/*
 * Transport: one HTTP request per connection, unix socket or TLS.
 */

/* Where to send requests. */
struct cli_target {
    const char *socket_path; /* Unix socket, used when 'host' is NULL. */
    const char *host;        /* Remote name or IP address, or NULL. */
    int port;                /* Remote TCP port. */
    const char *cafile;      /* CA bundle, NULL for the system store. */
    bool ssl_verify;         /* Verify certificate and host name. */
};

/* POSTs 'size' bytes of 'body' to "/jsonrpc" at 'target' and reads the
 * whole response.  On success returns NULL and stores the response body
 * (NUL-terminated, for the caller to free) in '*replyp' and its size in
 * '*reply_sizep'.  Returns CONNECTION_FAILED, SSL_VERIFY_ERROR or an error
 * from cli_http_status_error() otherwise; a non-2xx response that carries
 * a JSON-RPC error body is returned as the body instead, so the caller
 * sees the daemon's typed error. */
struct np_error *cli_transport_post(const struct cli_target *target,
                                    const char *body, size_t size,
                                    char **replyp, size_t *reply_sizep);

/*
 * Session: JSON-RPC calls.
 */

struct cli_schema_cache;

/* A connection to one daemon for the life of a command. */
struct cli_session {
    struct cli_target target;         /* Where requests go. */
    char *ref;                        /* Session reference; "" locally. */
    bool logged_in;                   /* True if 'ref' came from a login. */
    long long next_id;                /* Next JSON-RPC request id. */
    struct cli_schema_cache *schemas; /* Schemas fetched so far. */
};

/* Connects 'session' as 'args' ask: the unix socket ($NETPOOL_SOCKET or
 * CLI_DEFAULT_SOCKET) with session "", or, with args->host, HTTPS with a
 * login by session.login_with_password (the password from -pw, or -pwf
 * FILE, whose first line is the password, or whose two lines are the user
 * and the password).  The CA file is args->cafile or $NETPOOL_CAFILE.
 * Returns NULL or a typed error; either way close 'session' with
 * cli_session_close() afterwards.  'args' must outlive 'session'. */
struct np_error *cli_session_open(struct cli_session *session,
                                  const struct cli_args *args);

/* Logs out if 'session' logged in and frees what it owns.  Accepts
 * NULL. */
void cli_session_close(struct cli_session *session);

/* Calls 'method' with the session reference followed by the elements of
 * 'params' (a JSON array, ownership taken; NULL for none).  On success
 * returns NULL and stores the result (a new reference, NULL for a JSON
 * null) in '*resultp' if 'resultp' is nonnull; otherwise returns the typed
 * error. */
struct np_error *cli_call(struct cli_session *session, const char *method,
                          struct json_object *params,
                          struct json_object **resultp);

/* Like cli_call() with the parameters given as a NULL-terminated list of
 * JSON values whose ownership is taken. */
struct np_error *cli_callv(struct cli_session *session,
                           struct json_object **resultp, const char *method,
                           ...);

/* Stores in '*schemap' the schema of 'class', asking the daemon the first
 * time (<Class>.get_schema) and caching it in 'session'.  Returns NULL or
 * the typed error of the call. */
struct np_error *cli_session_schema(struct cli_session *session,
                                    const struct cli_class *class,
                                    const struct cli_schema **schemap);

/* Calls event.from for API class 'api_class' with 'token' ("" for now)
 * and 'timeout' seconds.  On success returns NULL and stores the result,
 * {"events": […], "token": …}, in '*resultp'. */
struct np_error *cli_event_from(struct cli_session *session,
                                const char *api_class, const char *token,
                                double timeout, struct json_object **resultp);

/* Returns the token of event.from result 'result' (borrowed) as a string
 * that lives as long as 'result', or "" if it has none. */
const char *cli_event_token(struct json_object *result);

/* Waits, with event.from on class task and without polling, until task
 * 'task_ref' is no longer pending.  On "success" returns NULL and stores
 * the task's result (parsed from its JSON text; NULL for null) in
 * '*resultp' if nonnull; on "failure" returns the task's typed error, on
 * "cancelled" TASK_CANCELLED(task).  Destroys the task once it has
 * finished. */
struct np_error *cli_wait_task(struct cli_session *session,
                               const char *task_ref,
                               struct json_object **resultp);

/*
 * Commands.
 */

/* Everything a command runs with. */
struct cli_ctx {
    const struct cli_args *args;       /* The command line. */
    struct cli_session *session;       /* Open session, NULL for local
                                         * commands. */
    const struct cli_class *class;     /* Class of a generic command. */
    const struct cli_command *command; /* The command being run. */
    FILE *out;                         /* Where results go. */
};

typedef struct np_error *cli_command_fn(struct cli_ctx *ctx);

/* Command flags. */
#define CLI_CMD_GENERIC \
    (1u << 0) /* Exists for every class as
                                     * "<class>-<name>". */
#define CLI_CMD_ANY_PARAM \
    (1u << 1) /* Takes field=value parameters besides
                                     * the listed ones. */
#define CLI_CMD_LOOKUP \
    (1u << 2)                     /* Names its object by uuid=,
                                     * <class>= or name-label=. */
#define CLI_CMD_OFFLINE (1u << 3) /* Needs no connection. */

/* One entry of the command table. */
struct cli_command {
    const char *name;        /* "network-create"; the verb ("list") of
                                 * a generic command. */
    const char *required;    /* Space-separated required parameters;
                                 * "k:" stands for "k:KEY=VALUE". */
    const char *optional;    /* Space-separated optional parameters. */
    const char *description; /* One line for help. */
    cli_command_fn *run;     /* Runs it. */
    unsigned int flags;      /* CLI_CMD_* bits. */
    const char *rest;        /* Synopsis of what else it takes, e.g.
                                 * "[FIELD=VALUE ...]", or NULL. */
};

/* Returns the command table, NULL-terminated (generic commands once, by
 * verb). */
const struct cli_command *const *cli_commands(void);

/* Finds the command named 'name' ("pif-param-list", "network-create").
 * Returns it and sets '*classp' to the class of a generic command (NULL
 * for others), or returns NULL. */
const struct cli_command *cli_command_find(const char *name,
                                           const struct cli_class **classp);

/* Runs the command of 'args': help and --version offline, others over a
 * session opened as 'args' ask, writing results to 'out'.  Checks
 * parameter names against the table first.  Returns NULL on success, else
 * the typed error for the caller to print and free. */
struct np_error *cli_run(const struct cli_args *args, FILE *out);

/* Writes the man page section listing every command, as roff, to
 * 'stream'. */
void cli_commands_write_roff(FILE *stream);

/* Returns the value of required parameter 'key' of 'ctx''s command line,
 * or NULL after storing MISSING_PARAMETER(key) in '*errorp'. */
const char *cli_require(const struct cli_ctx *ctx, const char *key,
                        struct np_error **errorp);

/* Finds the object of 'ctx->class' the command line names (uuid=,
 * <class>=NAME-OR-UUID, or with 'by_label' also name-label=) and stores its
 * reference, a new string, in '*refp'.  Returns NULL, or MISSING_PARAMETER
 * (uuid), HANDLE_INVALID(class, name) when nothing matches,
 * MULTIPLE_MATCHES(class, name) when a name matches several objects. */
struct np_error *cli_lookup(struct cli_ctx *ctx, bool by_label, char **refp);

/* Builds filters (see cli_record_matches()) from the parameters of
 * 'ctx''s command line whose keys are not in 'skip' (NULL-terminated),
 * resolving each key as a field of 'schema'.  A value "/=v" asks for a
 * value other than "v".  On success returns NULL and stores a new array
 * (free() it; its strings point into the command line) in '*filtersp' and
 * its length in '*np'.  Returns UNKNOWN_FIELD(class, key) for a key that
 * names no field. */
struct np_error *cli_filters_from_args(const struct cli_ctx *ctx,
                                       const struct cli_schema *schema,
                                       const char *const *skip,
                                       struct cli_filter **filtersp,
                                       size_t *np);

/* Command implementations, for the table in commands.c.  Each runs the
 * command of 'ctx' (whose parameter names cli_run() has checked), writes
 * its result to ctx->out, and returns NULL or the typed error. */

/* <c>-list [params=a,b|all] [field=value…]: get_all_records, filtered on
 * the printed values, as xe blocks, --minimal UUIDs or --json records. */
cli_command_fn cli_cmd_list;

/* <c>-param-list: every field of one object (get_record). */
cli_command_fn cli_cmd_param_list;

/* <c>-param-get param-name= [param-key=]: one field, or one map key, as
 * its bare value. */
cli_command_fn cli_cmd_param_get;

/* <c>-param-set field=value… map:key=value…: set_<field> for each field;
 * remove_from_<map> (when present) and add_to_<map> for each map key. */
cli_command_fn cli_cmd_param_set;

/* <c>-param-add param-name= key=value…: add_to_<map> for each pair (for a
 * set, param-key= is added by set_<field>). */
cli_command_fn cli_cmd_param_add;

/* <c>-param-remove param-name= param-key=: remove_from_<map> (for a set,
 * the member is removed by set_<field>). */
cli_command_fn cli_cmd_param_remove;

/* <c>-param-clear param-name=: removes every key of a map, empties a
 * set. */
cli_command_fn cli_cmd_param_clear;

/* network-create: Async.network.create, waits for the task, prints the
 * new network's UUID. */
cli_command_fn cli_cmd_network_create;

/* user-create username= password= role=: user.create, prints the UUID. */
cli_command_fn cli_cmd_user_create;

/* user-password-change old= new=: session.change_password. */
cli_command_fn cli_cmd_user_password_change;

/* <class>-<verb> uuid=: <Class>.<verb>(ref) on the named object
 * (network-destroy, user-destroy, message-destroy, task-cancel, pif-plug,
 * pif-unplug). */
cli_command_fn cli_cmd_object_call;

/* bond-create network-uuid= pif-uuids= [mode=] [MAC=] [properties:k=v…]:
 * bond.create, prints the new bond's UUID (cli/bond.c). */
cli_command_fn cli_cmd_bond_create;

/* bond-set-mode uuid= mode=: bond.set_mode. */
cli_command_fn cli_cmd_bond_set_mode;

/* bond-param-set uuid= …: <class>-param-set, with every properties:k=v
 * written at once by bond.set_properties. */
cli_command_fn cli_cmd_bond_param_set;

/* vlan-create pif-uuid= vlan= network-uuid=: VLAN.create, prints the new
 * VLAN PIF's UUID (cli/vlan.c). */
cli_command_fn cli_cmd_vlan_create;

/* vlan-destroy uuid=: VLAN.destroy of a VLAN named by its UUID or by its
 * VLAN PIF's. */
cli_command_fn cli_cmd_vlan_destroy;

/* pif-reconfigure-ip uuid= mode= [IP= netmask= gateway= DNS=]:
 * PIF.reconfigure_ip. */
cli_command_fn cli_cmd_pif_reconfigure_ip;

/* host-management-reconfigure pif-uuid=: host.management_reconfigure
 * (cli/management.c). */
cli_command_fn cli_cmd_host_management_reconfigure;

/* host-management-disable: host.management_disable. */
cli_command_fn cli_cmd_host_management_disable;

/* Pool commands (cli/pool.c): pool-join master-address= master-username=
 * master-password= [force=], pool-eject host-uuid=,
 * pool-designate-new-master host-uuid=,
 * pool-emergency-transition-to-master, pool-recover-slaves, pool-status. */
cli_command_fn cli_cmd_pool_join;
cli_command_fn cli_cmd_pool_eject;
cli_command_fn cli_cmd_pool_designate_new_master;
cli_command_fn cli_cmd_pool_management_reconfigure;
cli_command_fn cli_cmd_pool_emergency_transition_to_master;
cli_command_fn cli_cmd_pool_recover_slaves;
cli_command_fn cli_cmd_pool_emergency_reset_master;
cli_command_fn cli_cmd_pool_homogeneity_report;
cli_command_fn cli_cmd_pool_bond_create;
cli_command_fn cli_cmd_pool_status;
cli_command_fn cli_cmd_pool_vlan_create;
cli_command_fn cli_cmd_pool_ha_enable;
cli_command_fn cli_cmd_pool_ha_disable;
cli_command_fn cli_cmd_pool_ha_compute_max_host_failures_to_tolerate;
cli_command_fn cli_cmd_host_ha_clear;
cli_command_fn cli_cmd_host_emergency_ha_disable;

/* vm-create name-label= [name-description=] [other-config:k=v…]:
 * VM.create of a minimal VM, prints its UUID (cli/vif.c). */
cli_command_fn cli_cmd_vm_create;

/* Adds to 'record' every parameter of the command line not in 'skip'
 * (NULL-terminated, or NULL) as a field of 'schema', typed by it;
 * "map:key=value" parameters become keys of the map field (cli/vif.c). */
struct np_error *cli_add_record_params(const struct cli_ctx *ctx,
                                       const struct cli_schema *schema,
                                       const char *const *skip,
                                       struct json_object *record);

/* Calls 'method' (a <Class>.create) with 'record' (ownership taken) and
 * prints the new object's reference (cli/vif.c). */
struct np_error *cli_create_object(struct cli_ctx *ctx, const char *method,
                                   struct json_object *record);

/* sr-create name-label= type=dir device-config:location=DIR, vdi-create
 * sr-uuid= virtual-size= [name-label= format= read-only=], vbd-create
 * vm-uuid= vdi-uuid= [device= bootable= mode= type=]: <Class>.create,
 * printing the new UUID; vdi-clone uuid=, vdi-copy uuid= sr-uuid=
 * (cli/storage.c). */
cli_command_fn cli_cmd_sr_create;
cli_command_fn cli_cmd_vdi_create;
cli_command_fn cli_cmd_vbd_create;
cli_command_fn cli_cmd_vdi_clone;
cli_command_fn cli_cmd_vdi_copy;
cli_command_fn cli_cmd_vdi_resize;

/* vif-create vm-uuid= network-uuid= device= [MAC=] [other-config:k=v…]:
 * VIF.create, prints the new VIF's UUID (cli/vif.c). */
cli_command_fn cli_cmd_vif_create;

/* vm-start, vm-shutdown [--force], vm-reboot [--force], vm-pause,
 * vm-unpause, vm-suspend, vm-resume, vm-reset-powerstate --force: the VM
 * power method each maps to (cli/vm.c). */
cli_command_fn cli_cmd_vm_power;
cli_command_fn cli_cmd_vm_migrate;
cli_command_fn cli_cmd_host_maintenance;

/* vm-clone uuid= new-name-label=: VM.clone, prints the new VM's UUID;
 * vm-install template= new-name-label=: a clone of a template that is
 * not a template (cli/vm.c). */
cli_command_fn cli_cmd_vm_clone;

/* vm-memory-limits-set uuid= static-min= static-max= dynamic-min=
 * dynamic-max= and vm-memory-set uuid= memory=: VM.set_memory_limits and
 * VM.set_memory (cli/vm-memory.c). */
cli_command_fn cli_cmd_vm_memory;

/* event-wait class= [timeout=] field=value…: returns once an object of
 * the class matches, waiting with event.from; TIMEOUT otherwise. */
cli_command_fn cli_cmd_event_wait;

/* host-wait-applied [uuid=] [seq=] [timeout=]: returns once this host's
 * fabric holds every change up to sequence number seq (default: every
 * change written before the call), printing the applied sequence;
 * TIMEOUT otherwise (host.wait_applied, cli/event.c). */
cli_command_fn cli_cmd_host_wait_applied;

/* help [COMMAND] [--all|--list|--params|--roff]: help from the command
 * table; needs no connection. */
cli_command_fn cli_cmd_help;

#endif
