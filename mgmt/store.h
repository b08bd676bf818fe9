/*
 * store: netpool's object store — desired state, runtime fields and the
 * ordered change log, in SQLite (WAL mode, synchronous=FULL).
 *
 * Every object (pool, host, PIF, network, bond, VLAN, VIF, VM, task,
 * message, user, session) is a record: a JSON object of xapi-named fields
 * keyed by its UUID.  The class schemas below say which fields exist, their
 * types, defaults, and who may write them.  Each committed write appends to
 * the change log with a monotonic sequence number; a pool master will ship
 * that log to members, and event.from serves it to clients.  A write call
 * returns only after SQLite has made the transaction durable.
 *
 * The store has one writer: the netpoold process, single-threaded.  It
 * validates field values against the schema only on request
 * (store_check_value()); rules that span fields and objects belong to the
 * API layer and the modules that own the objects.  It never talks to OVS,
 * the kernel or clients.
 */
#ifndef NETPOOL_MGMT_STORE_H
#define NETPOOL_MGMT_STORE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct np_error;
struct store;

/* Current schema version; store_open() migrates older databases to it. */
#define STORE_SCHEMA_VERSION 2

enum store_type {
    STORE_STRING,   /* JSON string. */
    STORE_INT,      /* JSON integer within [min, max]. */
    STORE_BOOL,     /* JSON boolean. */
    STORE_FLOAT,    /* JSON number. */
    STORE_ENUM,     /* JSON string from 'enum_values'. */
    STORE_REF,      /* UUID string of a 'ref_class' object, or
                                 * "" for none. */
    STORE_SET,      /* JSON array of strings (refs when
                                 * 'ref_class' is set). */
    STORE_MAP,      /* JSON object of string values. */
    STORE_DATETIME, /* ISO 8601 UTC string, "" for never. */
};

/* Field flags. */
#define FIELD_RO (1u << 0)       /* Clients may not change it after create. */
#define FIELD_RUNTIME (1u << 1)  /* Observed state written by netpoold. */
#define FIELD_SECRET (1u << 2)   /* Never returned by the API. */
#define FIELD_CREATE (1u << 3)   /* Accepted by <class>.create. */
#define FIELD_REQUIRED (1u << 4) /* Required by <class>.create. */
#define FIELD_DERIVED \
    (1u << 5) /* Computed from other objects on read;
                                  * never stored. */

/* One field of a class. */
struct store_field {
    const char *name;               /* xapi API name, e.g. "name_label". */
    enum store_type type;           /* Value type. */
    unsigned int flags;             /* FIELD_* bits. */
    const char *default_json;       /* Default as JSON text; NULL for the
                                     * type's zero value. */
    const char *ref_class;          /* Class referred to by REF and SET. */
    const char *const *enum_values; /* NULL-terminated, for ENUM. */
    long long min, max;             /* Inclusive range for INT when
                                     * min < max. */
    const char *inverse;            /* For DERIVED: "CLASS.field", the
                                     * objects of CLASS whose 'field' refers
                                     * to this object. */
};

/* A class of objects. */
struct store_class {
    const char *name;                 /* API class name: "PIF", "network". */
    const char *cli_name;             /* CLI prefix: "pif", "network". */
    const struct store_field *fields; /* Fields, 'uuid' excluded. */
    size_t n_fields;                  /* Entries in 'fields'. */
    const char *owner_field;          /* Field holding the owning host's UUID,
                                     * "uuid" for host itself, NULL for
                                     * pool-wide objects. */
    bool secret;                      /* Objects never listed by the API. */
};

/* Calls back after each committed write with the new sequence number. */
typedef void store_change_cb(void *aux, uint64_t seq);

/* Schema. */

/* Returns the class named 'name' (API name, or CLI name when 'cli' is
 * true; CLI names match case-insensitively), or NULL. */
const struct store_class *store_class_find(const char *name, bool cli);

/* Returns every class, NULL-terminated. */
const struct store_class *const *store_classes(void);

/* Returns the field of 'class' named 'name', or NULL. */
const struct store_field *store_class_field(const struct store_class *class,
                                            const char *name);

/* Checks 'value' (borrowed) against the type of 'field' of 'class'.
 * Returns NULL if it fits, otherwise FIELD_TYPE_ERROR(field) or
 * INVALID_VALUE(field, value) for the caller to free.  Does not look at
 * other objects: whether a REF names an existing object is the caller's
 * question (store_exists()). */
struct np_error *store_check_value(const struct store_class *class,
                                   const struct store_field *field,
                                   struct json_object *value);

/* Returns a new record holding every stored field of 'class' at its
 * default, without "uuid". */
struct json_object *store_default_record(const struct store_class *class);

/* Lifecycle. */

/* Opens or creates the store at 'path', migrating an older schema.
 * Returns 0 and sets '*storep', or a positive errno. */
int store_open(const char *path, struct store **storep);

/* Closes 'store'.  Accepts NULL. */
void store_close(struct store *store);

/* Returns the schema version of the open database. */
int store_schema_version(struct store *store);

/* Registers 'cb' (with 'aux') to run after each committed write.  Up to
 * STORE_MAX_CHANGE_CBS callbacks run, in the order they were added.
 * Returns 0, or ENOSPC when all are taken. */
#define STORE_MAX_CHANGE_CBS 8
int store_add_change_cb(struct store *store, store_change_cb *cb, void *aux);

/* Unregisters the callback registered with the same 'cb' and 'aux'. */
void store_remove_change_cb(struct store *store, store_change_cb *cb,
                            void *aux);

/* Writes.  Each returns 0 or a positive errno (ENOENT for a missing
 * object, EEXIST for a duplicate UUID, EIO for a database failure).  Outside
 * a transaction each is its own durable transaction. */

/* Inserts an object of 'class' ("PIF") with 'uuid' and the fields of
 * 'record' (borrowed; missing fields take their defaults; DERIVED fields
 * and "uuid" are ignored). */
int store_insert(struct store *store, const char *class, const char *uuid,
                 struct json_object *record);

/* Sets the fields in 'changes' (borrowed) on an existing object; other
 * fields keep their values.  A write that changes nothing logs nothing. */
int store_update(struct store *store, const char *class, const char *uuid,
                 struct json_object *changes);

/* Deletes an object. */
int store_delete(struct store *store, const char *class, const char *uuid);

/* Starts a transaction grouping several writes; nested calls nest. */
int store_begin(struct store *store);

/* Commits the outermost transaction durably.  On failure the whole
 * transaction is rolled back. */
int store_commit(struct store *store);

/* Abandons the outermost transaction and everything written in it. */
void store_rollback(struct store *store);

/* Reads. */

/* Returns true if an object of 'class' with 'uuid' exists. */
bool store_exists(struct store *store, const char *class, const char *uuid);

/* Returns the record (a new reference, with "uuid" and DERIVED fields) of
 * the object, or NULL if there is none. */
struct json_object *store_get(struct store *store, const char *class,
                              const char *uuid);

/* Returns a new JSON object mapping UUID to record for every object of
 * 'class'. */
struct json_object *store_get_all(struct store *store, const char *class);

/* Returns a new JSON array of the UUIDs of objects of 'class' whose
 * stored field 'field' equals 'value' (borrowed). */
struct json_object *store_find(struct store *store, const char *class,
                               const char *field, struct json_object *value);

/* Messages. */

/* Raises a message (an alert, xapi's class "message"): 'name' is its kind
 * ("BOND_STATUS_CHANGED"), 'priority' 1 (highest) to 5, 'cls' the class of
 * the object it is about ("PIF", "Host", "VM", "Pool"), 'obj_uuid' that
 * object, 'body' the text.  Returns 0 or a positive errno. */
int store_raise_message(struct store *store, const char *name, int priority,
                        const char *cls, const char *obj_uuid,
                        const char *body);

/* Returns a new JSON array of {"name", "priority", "count"}: how many
 * messages of each name and priority store_raise_message() raised in this
 * process (destroying a message does not lower its count), for counters
 * that only go up. */
struct json_object *store_messages_raised(void);

/* Change log. */

/* Returns the sequence number of the last committed change (0 when
 * none). */
uint64_t store_last_seq(struct store *store);

/* Returns the oldest sequence number still in the log, or 0 if the log is
 * empty. */
uint64_t store_first_seq(struct store *store);

/* Returns a new JSON array of at most 'max' changes after 'seq', oldest
 * first, each {"id": seq, "class", "operation": "add"|"mod"|"del", "ref":
 * uuid, "timestamp", "snapshot": record (absent for "del")}. */
struct json_object *store_changes_since(struct store *store, uint64_t seq,
                                        size_t max);

/* Drops all but the newest 'keep' changes.  Returns 0 or EIO. */
int store_prune_changes(struct store *store, size_t keep);

#endif
