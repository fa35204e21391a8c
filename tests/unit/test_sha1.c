/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_sha1.c - the project's SHA-1 (lib/exst_sha1.c) against the FIPS
 * 180 example vectors, in both block functions (the x86 SHA extensions
 * where the machine has them, and the portable code), and the two against
 * each other on every length from 0 to 300 bytes fed in uneven pieces, so
 * the buffering between updates is covered as well as the rounds.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "exst_sha1_int.h"

static void hex(char out[41], const uint8_t d[20])
{
    sodium_bin2hex(out, 41, d, 20);
}

static void check_vector(const char *msg, size_t repeat, const char *want)
{
    exstp_sha1_ctx s;
    uint8_t d[20];
    char h[41];
    exstp_sha1_init(&s);
    for (size_t i = 0; i < repeat; i++)
        exstp_sha1_update(&s, msg, strlen(msg));
    exstp_sha1_final(&s, d);
    hex(h, d);
    assert_string_equal(h, want);
}

static void fips_vectors(void)
{
    check_vector("abc", 1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    check_vector("", 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    check_vector("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
                 "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    check_vector("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                 "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                 1, "a49b2446a02c645bf419f995b67091253a04a259");
    /* One million 'a', as 10,000 updates of 100. */
    check_vector("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                 10000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void test_vectors_default(void **state)
{
    (void)state;
    exstp_sha1_force_portable(0);
    print_message("block function: %s\n", exstp_sha1_impl());
    fips_vectors();
}

static void test_vectors_portable(void **state)
{
    (void)state;
    exstp_sha1_force_portable(1);
    assert_string_equal(exstp_sha1_impl(), "portable");
    fips_vectors();
    exstp_sha1_force_portable(0);
}

/* Every length 0..300, hashed whole by one implementation and in pieces
 * of 1, 7, 63, 64 and 65 bytes by the other. */
static void test_implementations_agree(void **state)
{
    (void)state;
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131u + 7u);
    static const size_t pieces[] = {1, 7, 63, 64, 65};
    for (size_t len = 0; len <= sizeof buf; len++) {
        uint8_t whole[20];
        exstp_sha1_force_portable(1);
        exstp_sha1(whole, buf, len);
        exstp_sha1_force_portable(0);
        for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
            exstp_sha1_ctx s;
            uint8_t d[20];
            exstp_sha1_init(&s);
            for (size_t off = 0; off < len; off += pieces[k]) {
                size_t n = len - off < pieces[k] ? len - off : pieces[k];
                exstp_sha1_update(&s, buf + off, n);
            }
            exstp_sha1_final(&s, d);
            assert_memory_equal(d, whole, 20);
        }
    }
}

/* A multi-block update straight from an unaligned pointer (the consensus
 * buffer's signed portion starts anywhere). */
static void test_unaligned_bulk(void **state)
{
    (void)state;
    const size_t n = 64 * 1000 + 17;
    uint8_t *raw = malloc(n + 1);
    assert_non_null(raw);
    for (size_t i = 0; i < n + 1; i++)
        raw[i] = (uint8_t)(i ^ (i >> 8));
    uint8_t a[20], b[20];
    exstp_sha1(a, raw + 1, n);
    exstp_sha1_force_portable(1);
    exstp_sha1(b, raw + 1, n);
    exstp_sha1_force_portable(0);
    assert_memory_equal(a, b, 20);
    free(raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_default),
        cmocka_unit_test(test_vectors_portable),
        cmocka_unit_test(test_implementations_agree),
        cmocka_unit_test(test_unaligned_bulk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
