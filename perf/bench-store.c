/*
 * bench-store: what a durable API write costs next to the bare database.
 *
 * Runs N network.create calls through api_handle() as the local listener
 * does (durable store in a scratch directory), then N single-row INSERTs
 * straight into SQLite with the store's settings (journal_mode=WAL,
 * synchronous=FULL, one INSERT per transaction), and prints both totals,
 * the cost of one operation and the ratio api/sqlite.  The difference is
 * netpool's own overhead: request parsing, session and role checks,
 * validation, the change log and the response.
 *
 * usage: bench-store [-n N] [-d DIR]
 *   -n N    operations of each kind (default 2000)
 *   -d DIR  where to make the scratch directory (default $TMPDIR or /tmp);
 *           it should be on the file system netpoold's state lives on
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "lib/uuid.h"
#include "lib/xalloc.h"
#include "mgmt/mgmt.h"
#include "mgmt/store.h"

#define TMPFS_MAGIC_NUMBER 0x01021994 /* statfs() f_type of tmpfs. */

/* What the reply callback counts. */
struct replies {
    size_t n_ok;     /* Responses with a result. */
    size_t n_failed; /* Responses with an error. */
    size_t size;     /* Bytes of response text, as sent. */
};

static double now_seconds(void);
static int bench_api(const char *dir, size_t n, double *seconds);
static void count_reply(void *replies_, struct json_object *response);
static int bench_sqlite(const char *dir, size_t n, const char *synchronous,
                        double *seconds);
static int sql(sqlite3 *, const char *statement);
static int remove_entry(const char *path, const struct stat *, int type,
                        struct FTW *);
static void print_row(const char *name, size_t n, double seconds);

int
main(int argc, char *argv[])
{
    const char *parent = getenv("TMPDIR");
    size_t n = 2000;
    int option;

    if (!parent || !*parent) {
        parent = "/tmp";
    }
    while ((option = getopt(argc, argv, "n:d:h")) != -1) {
        char *end;
        switch (option) {
        case 'n':
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno || *end || !n) {
                fprintf(stderr, "bench-store: -n wants a positive count\n");
                return 2;
            }
            break;
        case 'd':
            parent = optarg;
            break;
        default:
            fprintf(stderr, "usage: bench-store [-n N] [-d DIR]\n");
            return option == 'h' ? 0 : 2;
        }
    }

    char *dir = xasprintf("%s/netpool-bench-XXXXXX", parent);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench-store: %s: %s\n", dir, strerror(errno));
        free(dir);
        return 1;
    }

    /* The store logs migrations at info level; keep the output to the
     * results. */
    log_set_level(LOG_LEVEL_WARN);

    struct statfs fs;
    bool tmpfs = !statfs(dir, &fs) && fs.f_type == TMPFS_MAGIC_NUMBER;
    printf("bench-store: %zu network creations, durable writes "
           "(journal_mode=WAL, synchronous=FULL)\n",
           n);
    printf("  scratch directory %s%s\n", dir,
           tmpfs ? " (tmpfs: fsync costs nothing there)" : "");

    double api_seconds = 0, sqlite_seconds = 0;
    int error = bench_api(dir, n, &api_seconds);
    if (!error) {
        error = bench_sqlite(dir, n, "FULL", &sqlite_seconds);
    }
    if (!error) {
        print_row("api    network.create", n, api_seconds);
        print_row("sqlite INSERT", n, sqlite_seconds);
        printf("  ratio api/sqlite: %.2f\n",
               sqlite_seconds > 0 ? api_seconds / sqlite_seconds : 0.0);
    }

    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return error ? 1 : 0;
}

static double
now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Creates 'n' networks through the API over a store in 'dir', the way
 * netpoold's local listener hands it requests.  Stores the time taken in
 * '*seconds'.  Returns 0, or 1 after printing why. */
static int
bench_api(const char *dir, size_t n, double *seconds)
{
    char *path = xasprintf("%s/netpool.db", dir);
    struct store *store;
    int error = store_open(path, &store);

    free(path);
    if (error) {
        fprintf(stderr, "bench-store: cannot open the store: %s\n",
                strerror(error));
        return 1;
    }

    /* As in netpoold: a host, an API on an event loop, a root user. */
    struct event_base *base = event_base_new();
    char host[UUID_LENGTH + 1], password[PASSWORD_LENGTH + 1];
    uuid_text_random(host);
    struct api *api = api_create(store, base, host);
    if (api_ensure_root(api, password) < 0) {
        fprintf(stderr, "bench-store: cannot create the root user\n");
        error = 1;
        goto out;
    }

    struct replies replies = {0, 0, 0};
    double start = now_seconds();
    for (size_t i = 0; i < n; i++) {
        char body[256];
        int size = snprintf(body, sizeof body,
                            "{\"jsonrpc\":\"2.0\",\"id\":%zu,"
                            "\"method\":\"network.create\",\"params\":[\"\","
                            "{\"name_label\":\"bench-%zu\",\"MTU\":9000,"
                            "\"other_config\":{\"bench\":\"true\"}}]}",
                            i, i);
        if (api_handle(api, body, size, true, count_reply, &replies)) {
            fprintf(stderr, "bench-store: network.create was deferred\n");
            error = 1;
            goto out;
        }
    }
    *seconds = now_seconds() - start;

    if (replies.n_ok != n || replies.n_failed) {
        fprintf(stderr, "bench-store: %zu of %zu calls failed\n",
                n - replies.n_ok, n);
        error = 1;
    }
    struct json_object *all = store_get_all(store, "network");
    if (!error && (size_t) json_object_object_length(all) != n) {
        fprintf(stderr, "bench-store: %d networks stored, not %zu\n",
                json_object_object_length(all), n);
        error = 1;
    }
    json_object_put(all);

out:
    api_destroy(api);
    event_base_free(base);
    store_close(store);
    return error;
}

/* The API's reply: serialised as the listener would send it, then
 * counted. */
static void
count_reply(void *replies_, struct json_object *response)
{
    struct replies *replies = replies_;
    const char *text =
        json_object_to_json_string_ext(response, JSON_C_TO_STRING_PLAIN);

    replies->size += strlen(text);
    if (json_object_object_get_ex(response, "result", NULL)) {
        replies->n_ok++;
    } else {
        if (!replies->n_failed++) {
            fprintf(stderr, "bench-store: %s\n", text);
        }
    }
    json_object_put(response);
}

/* Inserts 'n' rows, one per transaction, into a plain table of a new
 * database in 'dir' with journal_mode=WAL and 'synchronous'.  Stores the
 * time taken in '*seconds'.  Returns 0, or 1 after printing why. */
static int
bench_sqlite(const char *dir, size_t n, const char *synchronous,
             double *seconds)
{
    char *path = xasprintf("%s/plain-%s.db", dir, synchronous);
    sqlite3 *db = NULL;
    sqlite3_stmt *insert = NULL;
    int error = 1;

    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "bench-store: %s: %s\n", path, sqlite3_errmsg(db));
        goto out;
    }
    char *pragmas = xasprintf("PRAGMA journal_mode=WAL;"
                              "PRAGMA synchronous=%s;",
                              synchronous);
    error = sql(db, pragmas);
    free(pragmas);
    if (error
        || (error = sql(db, "CREATE TABLE networks(uuid TEXT PRIMARY KEY,"
                            " record TEXT NOT NULL)"))) {
        goto out;
    }
    if (sqlite3_prepare_v2(db, "INSERT INTO networks VALUES(?, ?)", -1,
                           &insert, NULL)
        != SQLITE_OK) {
        fprintf(stderr, "bench-store: %s\n", sqlite3_errmsg(db));
        error = 1;
        goto out;
    }

    double start = now_seconds();
    for (size_t i = 0; i < n && !error; i++) {
        char uuid[UUID_LENGTH + 1], record[160];
        uuid_text_random(uuid);
        snprintf(record, sizeof record,
                 "{\"name_label\":\"bench-%zu\",\"MTU\":9000,"
                 "\"other_config\":{\"bench\":\"true\"}}",
                 i);
        error = sql(db, "BEGIN IMMEDIATE");
        if (error) {
            break;
        }
        sqlite3_bind_text(insert, 1, uuid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 2, record, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(insert) != SQLITE_DONE) {
            fprintf(stderr, "bench-store: %s\n", sqlite3_errmsg(db));
            error = 1;
        }
        sqlite3_reset(insert);
        error = error ? error : sql(db, "COMMIT");
    }
    *seconds = now_seconds() - start;

out:
    sqlite3_finalize(insert);
    sqlite3_close(db);
    free(path);
    return error;
}

/* Runs 'statement' on 'db'.  Returns 0, or 1 after printing why. */
static int
sql(sqlite3 *db, const char *statement)
{
    char *msg = NULL;

    if (sqlite3_exec(db, statement, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench-store: %s: %s\n", statement, msg ? msg : "?");
        sqlite3_free(msg);
        return 1;
    }
    return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int type,
             struct FTW *ftw)
{
    return remove(path);
}

static void
print_row(const char *name, size_t n, double seconds)
{
    printf("  %-22s total %9.3f s  %10.1f us/op\n", name, seconds,
           seconds * 1e6 / n);
}
