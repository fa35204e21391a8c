/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_sha.c - the project's SHA-1 and SHA-256 (lib/exst_sha.c) against
 * the FIPS 180 example vectors, in both block functions (the x86 SHA
 * extensions where the machine has them, and the portable code), against
 * each other and (SHA-256) against libsodium on every length from 0 to
 * 300 bytes fed in uneven pieces, so the buffering between updates is
 * covered as well as the rounds; and a copied context gives the digest of
 * the prefix hashed so far (the consensus digests rely on that).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "exst_sha_int.h"

static void hex(char out[41], const uint8_t d[20])
{
    sodium_bin2hex(out, 41, d, 20);
}

static void check_vector256(const char *msg, size_t repeat,
                            const char *want)
{
    exstp_sha256_ctx s;
    uint8_t d[32];
    char h[65];
    exstp_sha256_init(&s);
    for (size_t i = 0; i < repeat; i++)
        exstp_sha256_update(&s, msg, strlen(msg));
    exstp_sha256_final(&s, d);
    sodium_bin2hex(h, sizeof h, d, 32);
    assert_string_equal(h, want);
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
    check_vector256("abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a"
                              "9cb410ff61f20015ad");
    check_vector256("", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
                           "a495991b7852b855");
    check_vector256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                    1, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ec"
                       "edd419db06c1");
    check_vector256("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                    1, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac"
                       "45037afee9d1");
    check_vector256("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    10000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e"
                           "046d39ccc7112cd0");
}

static void test_vectors_default(void **state)
{
    (void)state;
    exstp_sha_force_portable(0);
    print_message("block function: %s\n", exstp_sha_impl());
    fips_vectors();
}

static void test_vectors_portable(void **state)
{
    (void)state;
    exstp_sha_force_portable(1);
    assert_string_equal(exstp_sha_impl(), "portable");
    fips_vectors();
    exstp_sha_force_portable(0);
}

/* Every length 0..300, hashed whole by one implementation and in pieces
 * of 1, 7, 63, 64 and 65 bytes by the other; SHA-256 also against
 * libsodium. */
static void test_implementations_agree(void **state)
{
    (void)state;
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131u + 7u);
    static const size_t pieces[] = {1, 7, 63, 64, 65};
    for (size_t len = 0; len <= sizeof buf; len++) {
        uint8_t whole[20];
        exstp_sha_force_portable(1);
        exstp_sha1(whole, buf, len);
        exstp_sha_force_portable(0);
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
        uint8_t ref[32], w256[32];
        crypto_hash_sha256(ref, buf, len);
        exstp_sha_force_portable(1);
        exstp_sha256(w256, buf, len);
        exstp_sha_force_portable(0);
        assert_memory_equal(w256, ref, 32);
        for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
            exstp_sha256_ctx s;
            uint8_t d[32];
            exstp_sha256_init(&s);
            for (size_t off = 0; off < len; off += pieces[k]) {
                size_t n = len - off < pieces[k] ? len - off : pieces[k];
                exstp_sha256_update(&s, buf + off, n);
            }
            exstp_sha256_final(&s, d);
            assert_memory_equal(d, ref, 32);
        }
    }
}

/* A copy of a context taken mid-stream finishes as the digest of the
 * prefix, and the original goes on unchanged. */
static void test_snapshot(void **state)
{
    (void)state;
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7u);
    exstp_sha256_ctx s;
    exstp_sha256_init(&s);
    exstp_sha256_update(&s, buf, 333);
    exstp_sha256_ctx snap = s;
    exstp_sha256_update(&s, buf + 333, sizeof buf - 333);
    uint8_t prefix[32], whole[32], ref[32];
    exstp_sha256_final(&snap, prefix);
    exstp_sha256_final(&s, whole);
    crypto_hash_sha256(ref, buf, 333);
    assert_memory_equal(prefix, ref, 32);
    crypto_hash_sha256(ref, buf, sizeof buf);
    assert_memory_equal(whole, ref, 32);
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
    uint8_t a[20], b[20], c[32], ref[32];
    exstp_sha1(a, raw + 1, n);
    exstp_sha_force_portable(1);
    exstp_sha1(b, raw + 1, n);
    exstp_sha_force_portable(0);
    assert_memory_equal(a, b, 20);
    exstp_sha256(c, raw + 1, n);
    crypto_hash_sha256(ref, raw + 1, n);
    assert_memory_equal(c, ref, 32);
    free(raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_default),
        cmocka_unit_test(test_vectors_portable),
        cmocka_unit_test(test_implementations_agree),
        cmocka_unit_test(test_unaligned_bulk),
        cmocka_unit_test(test_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
