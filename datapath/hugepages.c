/*
 * Hugepages for OVS-DPDK: how much memory a dpdk-socket-mem setting asks
 * for, how much the machine has free, and the check between the two that
 * runs before netpool asks OVS for DPDK, so that too few hugepages are a
 * typed error at the API instead of an ovs-vswitchd that fails later.
 * The parsers are pure; dp_hugepages_free() and dp_hugepages_dir() read
 * sysfs and procfs.
 */
#include "datapath/datapath.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xalloc.h"

#define MIB (1024 * 1024)
#define SYSFS_HUGEPAGES "/sys/kernel/mm/hugepages"

static int64_t meminfo_value(const char *meminfo, const char *key);
static char *read_text(const char *path);

int64_t
dp_hugepages_needed(const char *text)
{
    int64_t total = 0;
    const char *p = text;

    if (!text || !*text) {
        return -1;
    }
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9') {
            return -1;
        }
        errno = 0;
        unsigned long long mib = strtoull(p, &end, 10);
        if (errno || end == p || mib > INT64_MAX / MIB - total / MIB) {
            return -1;
        }
        total += (int64_t) mib * MIB;
        if (!*end) {
            return total;
        }
        if (*end != ',') {
            return -1;
        }
        p = end + 1;
    }
}

int64_t
dp_hugepages_free_meminfo(const char *meminfo)
{
    int64_t pages = meminfo_value(meminfo, "HugePages_Free:");
    int64_t kib = meminfo_value(meminfo, "Hugepagesize:");

    return pages > 0 && kib > 0 ? pages * kib * 1024 : 0;
}

char *
dp_hugepages_mount(const char *mounts)
{
    const char *line = mounts;

    while (line && *line) {
        char dev[256], dir[1024], type[64];
        if (sscanf(line, "%255s %1023s %63s", dev, dir, type) == 3
            && !strcmp(type, "hugetlbfs")) {
            return xstrdup(dir);
        }
        line = strchr(line, '\n');
        if (line) {
            line++;
        }
    }
    return NULL;
}

struct np_error *
dp_hugepages_check(int64_t needed, int64_t free_size)
{
    if (needed <= free_size) {
        return NULL;
    }
    char needed_text[24], free_text[24];
    snprintf(needed_text, sizeof needed_text, "%" PRId64, needed);
    snprintf(free_text, sizeof free_text, "%" PRId64,
             free_size > 0 ? free_size : 0);
    return np_error_new(ERR_HOST_HUGEPAGES_INSUFFICIENT, needed_text,
                        free_text, NULL);
}

int64_t
dp_hugepages_free(void)
{
    DIR *dir = opendir(SYSFS_HUGEPAGES);
    int64_t total = 0;
    bool found = false;

    if (dir) {
        struct dirent *de;
        while ((de = readdir(dir))) {
            unsigned long kib;
            if (sscanf(de->d_name, "hugepages-%lukB", &kib) != 1) {
                continue;
            }
            char *path =
                xasprintf("%s/%s/free_hugepages", SYSFS_HUGEPAGES, de->d_name);
            char *text = read_text(path);
            free(path);
            if (text) {
                found = true;
                total += strtoll(text, NULL, 10) * (int64_t) kib * 1024;
                free(text);
            }
        }
        closedir(dir);
    }
    if (!found) {
        char *meminfo = read_text("/proc/meminfo");
        total = meminfo ? dp_hugepages_free_meminfo(meminfo) : 0;
        free(meminfo);
    }
    return total;
}

char *
dp_hugepages_dir(void)
{
    char *mounts = read_text("/proc/mounts");
    char *dir = mounts ? dp_hugepages_mount(mounts) : NULL;

    free(mounts);
    return dir ? dir : xstrdup("/dev/hugepages");
}

/* Helpers. */

/* Returns the number after 'key' at the start of a line of 'meminfo', or
 * -1. */
static int64_t
meminfo_value(const char *meminfo, const char *key)
{
    size_t length = strlen(key);
    const char *line = meminfo;

    while (line && *line) {
        if (!strncmp(line, key, length)) {
            return strtoll(line + length, NULL, 10);
        }
        line = strchr(line, '\n');
        if (line) {
            line++;
        }
    }
    return -1;
}

/* Returns the contents of the small file 'path' (a new string), or NULL. */
static char *
read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return NULL;
    }
    size_t size = 0, capacity = 4096;
    char *text = xmalloc(capacity);
    size_t n;
    while ((n = fread(text + size, 1, capacity - size - 1, f)) > 0) {
        size += n;
        if (capacity - size < 2) {
            capacity *= 2;
            text = xrealloc(text, capacity);
        }
    }
    fclose(f);
    text[size] = '\0';
    return text;
}
