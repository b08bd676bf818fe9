#include "lib/uuid.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/rand.h>

int
uuid_text_random(char out[UUID_LENGTH + 1])
{
    unsigned char b[16];

    if (RAND_bytes(b, sizeof b) != 1) {
        return EIO;
    }
    b[6] = (b[6] & 0x0f) | 0x40; /* Version 4. */
    b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant. */
    snprintf(out, UUID_LENGTH + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

bool
uuid_text_is_valid(const char *s)
{
    if (!s || strlen(s) != UUID_LENGTH) {
        return false;
    }
    for (int i = 0; i < UUID_LENGTH; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char) s[i])) {
            return false;
        }
    }
    return true;
}
