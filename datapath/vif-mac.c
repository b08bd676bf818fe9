/*
 * VIF MAC addresses: parsing what a client gives, and generating new ones
 * as XenServer does — random, locally administered, unicast.  Pure apart
 * from the random bytes.
 */
#include "datapath/datapath.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

static void format_mac(char out[DP_MAC_LENGTH + 1], unsigned char a,
                       unsigned char b, unsigned char c, unsigned char d,
                       unsigned char e, unsigned char f);

bool
dp_vif_mac_parse(const char *text, char out[DP_MAC_LENGTH + 1])
{
    unsigned int octets[6];
    char end;

    if (!text || strlen(text) != DP_MAC_LENGTH) {
        return false;
    }
    for (size_t i = 0; i < DP_MAC_LENGTH; i++) {
        bool colon = i % 3 == 2;
        if (colon ? text[i] != ':' : !isxdigit((unsigned char) text[i])) {
            return false;
        }
    }
    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &octets[0], &octets[1],
               &octets[2], &octets[3], &octets[4], &octets[5], &end)
        != 6) {
        return false;
    }
    /* Multicast (and broadcast) addresses cannot name one interface; the
     * all-zero address names none. */
    if ((octets[0] & 0x01)
        || !(octets[0] | octets[1] | octets[2] | octets[3] | octets[4]
             | octets[5])) {
        return false;
    }
    format_mac(out, octets[0], octets[1], octets[2], octets[3], octets[4],
               octets[5]);
    return true;
}

void
dp_vif_mac_generate(char out[DP_MAC_LENGTH + 1])
{
    unsigned char octets[6] = {0};
    size_t have = 0;

    while (have < sizeof octets) {
        ssize_t n = getrandom(octets + have, sizeof octets - have, 0);
        if (n > 0) {
            have += n;
        } else if (errno != EINTR) {
            abort(); /* No randomness: as fatal as no memory. */
        }
    }
    /* Locally administered (bit 1 set), unicast (bit 0 clear). */
    octets[0] = (octets[0] | 0x02) & ~0x01;
    format_mac(out, octets[0], octets[1], octets[2], octets[3], octets[4],
               octets[5]);
}

static void
format_mac(char out[DP_MAC_LENGTH + 1], unsigned char a, unsigned char b,
           unsigned char c, unsigned char d, unsigned char e, unsigned char f)
{
    snprintf(out, DP_MAC_LENGTH + 1, "%02x:%02x:%02x:%02x:%02x:%02x", a, b, c,
             d, e, f);
}
