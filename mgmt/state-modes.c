/*
 * The state folder holds password hashes, session references, the host's
 * private key and the root password: nothing in it is for anyone but
 * root.  netpoold creates its files under umask 077; this pass fixes files
 * left by an earlier version or by hand.
 */
#include "mgmt/mgmt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/xalloc.h"

#define LOG_MODULE "state"

static int secure_tree(const char *path, int depth);
static int secure_path(const char *path, const struct stat *st);

int
mgmt_state_secure(const char *dir, const char *const paths[], size_t n)
{
    int changed = secure_tree(dir, 0);

    for (size_t i = 0; i < n; i++) {
        struct stat st;

        if (paths[i] && !lstat(paths[i], &st)) {
            changed += secure_path(paths[i], &st);
        }
    }
    return changed;
}

/* Secures 'path' and, for a folder, what it holds, to a depth of 16.
 * Returns the number of modes changed. */
static int
secure_tree(const char *path, int depth)
{
    struct stat st;
    int changed = 0;

    if (lstat(path, &st)) {
        return 0;
    }
    changed += secure_path(path, &st);
    if (!S_ISDIR(st.st_mode) || depth >= 16) {
        return changed;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        log_warn("%s: cannot read: %s", path, strerror(errno));
        return changed;
    }
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) {
            continue;
        }
        char *child = xasprintf("%s/%s", path, entry->d_name);
        changed += secure_tree(child, depth + 1);
        free(child);
    }
    closedir(dir);
    return changed;
}

/* Takes the group and other bits off 'path' (of status 'st') unless it is
 * a symbolic link.  Returns 1 if it changed the mode, else 0. */
static int
secure_path(const char *path, const struct stat *st)
{
    mode_t mode = st->st_mode & 07777;

    if (S_ISLNK(st->st_mode) || !(mode & 077)) {
        return 0;
    }
    mode_t secure = mode & 0700;
    if (chmod(path, secure)) {
        log_warn("%s: cannot change mode %04o to %04o: %s", path,
                 (unsigned) mode, (unsigned) secure, strerror(errno));
        return 0;
    }
    log_warn("%s: mode %04o was open to others, now %04o", path,
             (unsigned) mode, (unsigned) secure);
    return 1;
}
