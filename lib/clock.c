#include "lib/clock.h"

#include <stdio.h>
#include <time.h>

void
clock_iso8601_now(char buf[CLOCK_ISO8601_SIZE])
{
    struct timespec now;
    struct tm tm;
    char stamp[24];

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, CLOCK_ISO8601_SIZE, "%.24s.%03dZ", stamp,
             (int) (now.tv_nsec / 1000000));
}

uint64_t
clock_monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
}

long long
clock_realtime_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (long long) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}
