/* Salted PBKDF2-SHA256 password hashes (OpenSSL). */
#include "mgmt/mgmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/xalloc.h"

#define ITERATIONS \
    100000 /* OWASP's floor for PBKDF2-SHA256 is
                                 * higher; raise with care: logins block
                                 * the loop. */
#define SALT_SIZE 16
#define HASH_SIZE 32

static void to_hex(const unsigned char *, size_t, char *);
static bool from_hex(const char *, unsigned char *, size_t);

char *
password_hash(const char *password)
{
    unsigned char salt[SALT_SIZE], hash[HASH_SIZE];
    char salt_hex[2 * SALT_SIZE + 1], hash_hex[2 * HASH_SIZE + 1];

    if (RAND_bytes(salt, sizeof salt) != 1
        || !PKCS5_PBKDF2_HMAC(password, strlen(password), salt, sizeof salt,
                              ITERATIONS, EVP_sha256(), sizeof hash, hash)) {
        return NULL;
    }
    to_hex(salt, sizeof salt, salt_hex);
    to_hex(hash, sizeof hash, hash_hex);
    return xasprintf("pbkdf2-sha256$%d$%s$%s", ITERATIONS, salt_hex, hash_hex);
}

bool
password_verify(const char *password, const char *stored)
{
    unsigned char salt[SALT_SIZE], want[HASH_SIZE], got[HASH_SIZE];
    char salt_hex[2 * SALT_SIZE + 1], hash_hex[2 * HASH_SIZE + 1];
    int iterations;

    if (!stored
        || sscanf(stored, "pbkdf2-sha256$%d$%32[0-9a-f]$%64[0-9a-f]",
                  &iterations, salt_hex, hash_hex)
               != 3
        || iterations < 1000 || iterations > 10000000
        || !from_hex(salt_hex, salt, sizeof salt)
        || !from_hex(hash_hex, want, sizeof want)
        || !PKCS5_PBKDF2_HMAC(password, strlen(password), salt, sizeof salt,
                              iterations, EVP_sha256(), sizeof got, got)) {
        return false;
    }
    return CRYPTO_memcmp(want, got, sizeof got) == 0;
}

int
password_generate(char *out, size_t length)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz"
                                   "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    unsigned char random[64];

    if (length > sizeof random || RAND_bytes(random, length) != 1) {
        return EIO;
    }
    for (size_t i = 0; i < length; i++) {
        /* 56 symbols: the modulo bias is below 1 in 4. */
        out[i] = alphabet[random[i] % (sizeof alphabet - 1)];
    }
    out[length] = '\0';
    return 0;
}

static void
to_hex(const unsigned char *data, size_t size, char *out)
{
    for (size_t i = 0; i < size; i++) {
        sprintf(out + 2 * i, "%02x", data[i]);
    }
}

static bool
from_hex(const char *hex, unsigned char *out, size_t size)
{
    if (strlen(hex) != 2 * size) {
        return false;
    }
    for (size_t i = 0; i < size; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
            return false;
        }
        out[i] = (unsigned char) byte;
    }
    return true;
}
