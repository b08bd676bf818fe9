/*
 * Tests of the qemu backend (vm/qemu.c, vm/qemu-ops.c) with real QEMUs
 * (TCG, no guest kernel: the firmware finds nothing to boot), on a loop
 * turned by the test: the primitives the migration and HA work stands on.
 * A domain starts paused, answers its state, memory and devices without
 * blocking, pauses and continues; a second backend (another "host") starts
 * the same VM waiting for an incoming migration, the first migrates into
 * it, and the destination runs; ending a domain leaves no QEMU; a domain
 * saved into a file resumes from it; a QEMU killed by hand is reported
 * gone by the watcher; after a "restart" (a new backend on the same
 * folder) list() and adopt() find the domain again.  Skipped where QEMU is
 * missing.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "tests/unit/fixture.h"
#include "vm/vm.h"

#define VM_UUID "5e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b"
#define MIB (1024LL * 1024)

/* One outcome. */
struct outcome {
    bool done;                  /* Told. */
    int error;                  /* Its error. */
    char why[VM_WHY_SIZE];      /* Its reason. */
    int64_t domid;              /* Its domid. */
    enum vm_domain_state state; /* Its state. */
    struct json_object *info;   /* Its info, kept. */
};

/* What the watcher said. */
struct watched {
    int n;                     /* Changes. */
    enum vm_domain_state last; /* The last one. */
};

static void
on_done(void *outcome_, const struct vm_result *r)
{
    struct outcome *o = outcome_;

    o->done = true;
    o->error = r->error;
    snprintf(o->why, sizeof o->why, "%s", r->why);
    o->domid = r->domid;
    o->state = r->state;
    json_object_put(o->info);
    o->info = r->info ? json_object_get(r->info) : NULL;
}

static void
on_domain(void *watched_, const char *uuid, enum vm_domain_state state)
{
    struct watched *w = watched_;

    assert_string_equal(uuid, VM_UUID);
    w->n++;
    w->last = state;
}

/* Turns 'base' until 'o' is told (at most 60 s) and asserts success. */
static void
wait_ok(struct event_base *base, struct outcome *o)
{
    time_t start = time(NULL);

    while (!o->done && time(NULL) - start < 60) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    if (!o->done || o->error) {
        fail_msg("%s: %s", o->done ? "failed" : "no outcome", o->why);
    }
}

/* Runs one operation and waits for its outcome, which it returns. */
#define RUN(BASE, O, CALL)                                        \
    do {                                                          \
        json_object_put((O).info);                                \
        memset(&(O), 0, sizeof(O));                               \
        CALL;                                                     \
        assert_false((O).done); /* Never told within the call. */ \
        wait_ok(BASE, &(O));                                      \
    } while (0)

static enum vm_domain_state
query(struct event_base *base, struct vm_backend *b)
{
    struct outcome o = {0};

    RUN(base, o, b->ops->query(b, VM_UUID, on_done, &o));
    return o.state;
}

static struct vm_config *
small_config(void)
{
    struct vm_config *config = xzalloc(sizeof *config);

    config->uuid = xstrdup(VM_UUID);
    config->name = xstrdup("primitives");
    config->vcpus = 1;
    config->memory.static_max = 64 * MIB;
    vm_memory_complete(&config->memory);
    config->kernel = xstrdup("");
    config->ramdisk = xstrdup("");
    config->args = xstrdup("");
    config->nics = xzalloc(sizeof *config->nics);
    config->disks = xzalloc(sizeof *config->disks);
    return config;
}

static int
free_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_int_equal(bind(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* Returns true if process 'pid' lives (a zombie does not). */
static bool
alive(pid_t pid)
{
    char path[64], text[256] = "";
    FILE *file;

    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    file = fopen(path, "r");
    if (!file) {
        return false;
    }
    size_t n = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[n] = '\0';
    const char *paren = strrchr(text, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static void
test_primitives(void **state)
{
    if (system("command -v qemu-system-x86_64 > /dev/null 2>&1")) {
        skip();
    }
    (void) state;
    char *dir = fixture_dir_create();
    char *dir_a = xasprintf("%s/a", dir);
    char *dir_b = xasprintf("%s/b", dir);
    struct event_base *base = event_base_new();
    struct vm_backend *a = vm_qemu_backend_create(base, dir_a, NULL, "tcg");
    struct vm_backend *b = vm_qemu_backend_create(base, dir_b, NULL, "tcg");
    struct vm_config *config = small_config();
    struct watched watched_a = {0};
    struct outcome o = {0};

    vm_backend_watch(a, on_domain, &watched_a);

    /* Start paused; state, memory and devices. */
    struct vm_start_options paused = {.paused = true};
    RUN(base, o, a->ops->start(a, config, &paused, on_done, &o));
    pid_t pid_a = (pid_t) o.domid;
    assert_true(alive(pid_a));
    assert_int_equal(query(base, a), VM_DOMAIN_PAUSED);
    RUN(base, o, a->ops->query_memory(a, VM_UUID, on_done, &o));
    assert_int_equal(
        json_object_get_int64(json_object_object_get(o.info, "base-memory")),
        64 * MIB);
    RUN(base, o, a->ops->query_devices(a, VM_UUID, on_done, &o));
    assert_true(json_object_array_length(json_object_object_get(o.info, "pci"))
                > 0);
    assert_non_null(json_object_object_get(o.info, "block"));

    /* Continue, pause: the watcher hears QEMU's events too. */
    RUN(base, o, a->ops->unpause(a, VM_UUID, on_done, &o));
    assert_int_equal(query(base, a), VM_DOMAIN_RUNNING);
    RUN(base, o, a->ops->pause(a, VM_UUID, on_done, &o));
    assert_int_equal(query(base, a), VM_DOMAIN_PAUSED);
    assert_true(watched_a.n >= 2);

    /* A second host waits for the domain; the first sends it. */
    char *uri = xasprintf("tcp:127.0.0.1:%d", free_port());
    struct vm_start_options incoming = {.incoming_uri = uri};
    RUN(base, o, b->ops->start(b, config, &incoming, on_done, &o));
    pid_t pid_b = (pid_t) o.domid;
    assert_int_equal(query(base, b), VM_DOMAIN_PAUSED);
    RUN(base, o, a->ops->migrate(a, VM_UUID, uri, on_done, &o));
    assert_string_equal(
        json_object_get_string(json_object_object_get(o.info, "status")),
        "completed");
    RUN(base, o, b->ops->unpause(b, VM_UUID, on_done, &o));
    assert_int_equal(query(base, b), VM_DOMAIN_RUNNING);

    /* Ensure not running: the source ends, nothing of it is left. */
    RUN(base, o, a->ops->destroy(a, VM_UUID, on_done, &o));
    assert_false(alive(pid_a));
    assert_int_equal(query(base, a), VM_DOMAIN_GONE);
    RUN(base, o, a->ops->destroy(a, VM_UUID, on_done, &o)); /* Again. */

    /* A restarted netpoold finds the destination again. */
    vm_backend_destroy(b);
    b = vm_qemu_backend_create(base, dir_b, NULL, "tcg");
    struct vm_domain_info *domains = NULL;
    size_t n = 0;
    assert_int_equal(b->ops->list(b, &domains, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(domains[0].uuid, VM_UUID);
    assert_int_equal(domains[0].pid, pid_b);
    free(domains);
    b->ops->adopt(b, VM_UUID);
    assert_int_equal(query(base, b), VM_DOMAIN_RUNNING);

    /* Saved into a file (never seen half written), resumed from it. */
    char *file = xasprintf("%s/state", dir);
    char *part = xasprintf("%s.part", file);
    RUN(base, o, b->ops->suspend(b, VM_UUID, file, on_done, &o));
    assert_int_equal(access(file, R_OK), 0);
    assert_int_equal(access(part, F_OK), -1);
    assert_false(alive(pid_b));
    struct vm_start_options resume = {.resume_file = file};
    RUN(base, o, b->ops->start(b, config, &resume, on_done, &o));
    pid_b = (pid_t) o.domid;
    assert_int_equal(query(base, b), VM_DOMAIN_RUNNING);

    /* A QEMU killed by hand: the watcher says the domain is gone. */
    struct watched watched_b = {.last = VM_DOMAIN_RUNNING};
    vm_backend_watch(b, on_domain, &watched_b);
    kill(pid_b, SIGKILL);
    time_t start = time(NULL);
    while (watched_b.last != VM_DOMAIN_GONE && time(NULL) - start < 20) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    assert_int_equal(watched_b.last, VM_DOMAIN_GONE);
    assert_int_equal(query(base, b), VM_DOMAIN_GONE);
    RUN(base, o, b->ops->destroy(b, VM_UUID, on_done, &o));

    json_object_put(o.info);
    free(file);
    free(part);
    free(uri);
    vm_config_destroy(config);
    vm_backend_destroy(a);
    vm_backend_destroy(b);
    event_base_free(base);
    free(dir_a);
    free(dir_b);
    fixture_dir_remove(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_primitives),
    };
    return cmocka_run_group_tests_name("vm-qemu", tests, NULL, NULL);
}
