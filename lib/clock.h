/*
 * clock: wall-clock timestamps as text and a monotonic millisecond clock.
 * Nothing here sleeps or schedules.
 */
#ifndef NETPOOL_LIB_CLOCK_H
#define NETPOOL_LIB_CLOCK_H 1

#include <stdint.h>

#define CLOCK_ISO8601_SIZE 32 /* Bytes for clock_iso8601_now(). */

/* Writes the current UTC time as "2026-11-23T18:26:42.123Z" into 'buf'. */
void clock_iso8601_now(char buf[CLOCK_ISO8601_SIZE]);

/* Returns milliseconds of CLOCK_MONOTONIC. */
uint64_t clock_monotonic_ms(void);

/* Returns milliseconds since the epoch (CLOCK_REALTIME): for deadlines
 * that outlive the process. */
long long clock_realtime_ms(void);

#endif
