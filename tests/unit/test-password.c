/*
 * Unit tests of password hashing (mgmt/password.c): salted PBKDF2-SHA256
 * hashes that verify the right password only, and generated passwords.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "mgmt/mgmt.h"

/* A hash has the documented form with a 16-byte salt and a 32-byte hash
 * in lower-case hexadecimal, and verifies its password. */
static void
test_round_trip(void **state)
{
    (void) state;
    char *hash = password_hash("correct horse");
    unsigned int iterations;
    char salt[64], digest[128];

    assert_non_null(hash);
    assert_int_equal(sscanf(hash, "pbkdf2-sha256$%u$%63[^$]$%127s",
                            &iterations, salt, digest),
                     3);
    assert_true(iterations >= 100000);
    assert_int_equal(strlen(salt), 32);
    assert_int_equal(strlen(digest), 64);
    assert_int_equal(strspn(salt, "0123456789abcdef"), 32);
    assert_int_equal(strspn(digest, "0123456789abcdef"), 64);
    assert_true(password_verify("correct horse", hash));
    free(hash);

    /* The empty password and long ones work too. */
    hash = password_hash("");
    assert_true(password_verify("", hash));
    assert_false(password_verify(" ", hash));
    free(hash);
    char long_password[1001];
    memset(long_password, 'p', sizeof long_password - 1);
    long_password[sizeof long_password - 1] = '\0';
    hash = password_hash(long_password);
    assert_true(password_verify(long_password, hash));
    long_password[999] = 'q';
    assert_false(password_verify(long_password, hash));
    free(hash);
}

/* Other passwords, even close ones, do not verify. */
static void
test_wrong_password(void **state)
{
    (void) state;
    char *hash = password_hash("s3cret-pass");
    static const char *const wrong[] = {
        "s3cret-pasS", "s3cret-pas",   "s3cret-pass ", "",
        "S3CRET-PASS", "s3cret-passs",
    };

    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        assert_false(password_verify(wrong[i], hash));
    }
    assert_true(password_verify("s3cret-pass", hash));
    free(hash);
}

/* Changing any part of a stored hash, or a malformed one, fails. */
static void
test_tampered_hash(void **state)
{
    (void) state;
    char *hash = password_hash("tamper-me");
    size_t length = strlen(hash);
    char *copy = xstrdup(hash);

    /* The first and last digits of the salt and of the hash, and one in
     * the middle of the hash, changed one at a time (each check costs a
     * full PBKDF2 run, so not every digit). */
    size_t salt = strchr(strchr(hash, '$') + 1, '$') - hash + 1;
    size_t digest = strrchr(hash, '$') - hash + 1;
    size_t positions[] = {
        salt, digest - 2, digest, digest + 32, length - 1,
    };
    for (size_t i = 0; i < sizeof positions / sizeof *positions; i++) {
        size_t at = positions[i];
        assert_true(isxdigit((unsigned char) hash[at]));
        copy[at] = hash[at] == '0' ? '1' : '0';
        if (password_verify("tamper-me", copy)) {
            fail_msg("verified with byte %zu changed: %s", at, copy);
        }
        copy[at] = hash[at];
    }
    assert_true(password_verify("tamper-me", copy));
    free(copy);

    /* Another iteration count computes another hash. */
    const char *rest = strchr(strchr(hash, '$') + 1, '$');
    copy = xasprintf("pbkdf2-sha256$100001%s", rest);
    assert_false(password_verify("tamper-me", copy));
    free(copy);

    static const char *const malformed[] = {
        "",
        "plain",
        "pbkdf2-sha256$",
        "pbkdf2-sha256$100000$$",
        "pbkdf2-sha1$100000$00$00",
        "pbkdf2-sha256$10$abcd$abcd",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        assert_false(password_verify("tamper-me", malformed[i]));
    }
    assert_false(password_verify("tamper-me", NULL));

    /* A truncated hash or salt. */
    copy = xstrdup(hash);
    copy[length - 1] = '\0';
    assert_false(password_verify("tamper-me", copy));
    free(copy);
    free(hash);
}

/* Two hashes of one password differ (each has its own salt) and both
 * verify. */
static void
test_salted(void **state)
{
    (void) state;
    char *a = password_hash("same password");
    char *b = password_hash("same password");

    assert_string_not_equal(a, b);
    char *salt_a = strrchr(a, '$'), *salt_b = strrchr(b, '$');
    assert_int_equal(salt_a - a, salt_b - b);
    assert_memory_not_equal(strchr(strchr(a, '$') + 1, '$'),
                            strchr(strchr(b, '$') + 1, '$'), 33);
    assert_true(password_verify("same password", a));
    assert_true(password_verify("same password", b));
    free(a);
    free(b);
}

/* Generated passwords have the asked length, unambiguous letters and
 * digits only, and differ. */
static void
test_generate(void **state)
{
    (void) state;
    char a[PASSWORD_LENGTH + 1], b[PASSWORD_LENGTH + 1];

    assert_int_equal(password_generate(a, PASSWORD_LENGTH), 0);
    assert_int_equal(password_generate(b, PASSWORD_LENGTH), 0);
    assert_int_equal(strlen(a), PASSWORD_LENGTH);
    assert_string_not_equal(a, b);
    for (size_t i = 0; i < PASSWORD_LENGTH; i++) {
        assert_true(isalnum((unsigned char) a[i]));
        assert_null(strchr("01lIoO", a[i]));
    }

    char small[5];
    assert_int_equal(password_generate(small, 4), 0);
    assert_int_equal(strlen(small), 4);
    char big[100];
    assert_int_equal(password_generate(big, 99), EIO);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_tampered_hash),
        cmocka_unit_test(test_salted),
        cmocka_unit_test(test_generate),
    };
    return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
