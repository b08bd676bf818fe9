/*
 * xalloc: allocation that aborts on exhaustion.
 *
 * netpool treats running out of memory as fatal, like Open vSwitch's
 * xmalloc().  The functions are static inline so that no symbol of ours
 * collides with libopenvswitch's xmalloc() family in netpoold, which links
 * both; a file that includes OVS's util.h uses OVS's instead of this
 * header.  Nothing here frees or tracks memory.
 */
#ifndef NETPOOL_LIB_XALLOC_H
#define NETPOOL_LIB_XALLOC_H 1

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Aborts with a message if 'p' is NULL; returns 'p' otherwise. */
static inline void *
xalloc_check(void *p)
{
    if (!p) {
        fputs("netpool: out of memory\n", stderr);
        abort();
    }
    return p;
}

/* malloc() that never returns NULL (a zero size allocates one byte). */
static inline void *
xmalloc(size_t size)
{
    return xalloc_check(malloc(size ? size : 1));
}

/* calloc() of one zeroed block that never returns NULL. */
static inline void *
xzalloc(size_t size)
{
    return xalloc_check(calloc(1, size ? size : 1));
}

/* realloc() that never returns NULL. */
static inline void *
xrealloc(void *p, size_t size)
{
    return xalloc_check(realloc(p, size ? size : 1));
}

/* strdup() that never returns NULL. */
static inline char *
xstrdup(const char *s)
{
    return xalloc_check(strdup(s));
}

/* Returns a new string formatted as by printf(). */
static inline char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static inline char *
xasprintf(const char *fmt, ...)
{
    va_list args;
    char *s;

    va_start(args, fmt);
    if (vasprintf(&s, fmt, args) < 0) {
        s = NULL;
    }
    va_end(args);
    return xalloc_check(s);
}

#endif
