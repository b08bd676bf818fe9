/*
 * xalloc: allocation that aborts on exhaustion.
 *
 * netpool treats running out of memory as fatal, like Open vSwitch's
 * xmalloc().  Nothing here frees or tracks memory.
 */
#ifndef NETPOOL_LIB_XALLOC_H
#define NETPOOL_LIB_XALLOC_H 1

#include <stddef.h>

/* malloc(), calloc(), realloc() and strdup() that never return NULL. */
void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

/* Returns a new string formatted as by printf(). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
