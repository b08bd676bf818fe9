#include "lib/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *
check(void *p)
{
    if (!p) {
        fputs("netpool: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *
xmalloc(size_t size)
{
    return check(malloc(size ? size : 1));
}

void *
xzalloc(size_t size)
{
    return check(calloc(1, size ? size : 1));
}

void *
xrealloc(void *p, size_t size)
{
    return check(realloc(p, size ? size : 1));
}

char *
xstrdup(const char *s)
{
    return check(strdup(s));
}

char *
xasprintf(const char *fmt, ...)
{
    va_list args;
    char *s;

    va_start(args, fmt);
    if (vasprintf(&s, fmt, args) < 0) {
        s = NULL;
    }
    va_end(args);
    return check(s);
}
