/*
 * uuid: random (version 4) UUIDs in their 36-character text form.  The
 * uuid_text_ prefix keeps these apart from libopenvswitch's binary
 * uuid_*() functions, which netpoold also links.
 *
 * Every netpool object is named by one.  This module only makes and checks
 * text; it never looks objects up.
 */
#ifndef NETPOOL_LIB_UUID_H
#define NETPOOL_LIB_UUID_H 1

#include <stdbool.h>

#define UUID_LENGTH 36 /* Characters, without the terminator. */

/* Writes a new random UUID, lower case, NUL-terminated, into 'out'.
 * Returns 0, or a positive errno if no randomness was available. */
int uuid_text_random(char out[UUID_LENGTH + 1]);

/* Returns true if 's' is a UUID in 8-4-4-4-12 hexadecimal form (either
 * case). */
bool uuid_text_is_valid(const char *s);

#endif
