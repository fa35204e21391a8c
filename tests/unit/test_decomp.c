/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the shared decompression helper (lib/exst_decomp.c) and
 * the consensus parser's use of it: detection by magic, streaming with
 * one-byte buffers in every format and over several frames, streams and
 * members, the output limit and prefix stop, and exst_consensus_parse /
 * exst_consensus_read on a real document compressed with zstd, xz and
 * gzip, with exact errors for truncated, corrupt and unsupported inputs.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exst_decomp_int.h"
#include "exst_int.h"

static const char TEXT[] =
    "network-status-version 3\nthe same words again and again and again "
    "and again, then other words, then the same words again\n";

static void test_detect(void **state)
{
    (void)state;
    static const struct {
        const char *p;
        size_t n;
        exstp_dz_fmt f;
    } cases[] = {
        {"\x28\xb5\x2f\xfd", 4, EXSTP_DZ_ZSTD},
        {"\x50\x2a\x4d\x18", 4, EXSTP_DZ_ZSTD}, /* skippable frame */
        {"\x5f\x2a\x4d\x18", 4, EXSTP_DZ_ZSTD},
        {"\xfd" "7zXZ\0", 6, EXSTP_DZ_XZ},
        {"\xfd" "7zXZ", 5, EXSTP_DZ_NONE},
        {"\x1f\x8b", 2, EXSTP_DZ_GZIP},
        {"\x1f", 1, EXSTP_DZ_NONE},
        {"\x28\xb5\x2f", 3, EXSTP_DZ_NONE},
        {"network-status-version 3\n", 25, EXSTP_DZ_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(exstp_dz_detect(cases[i].p, cases[i].n),
                         cases[i].f);
    assert_int_equal(exstp_dz_detect(NULL, 0), EXSTP_DZ_NONE);
    assert_string_equal(exstp_dz_name(EXSTP_DZ_XZ), "xz");
    assert_string_equal(exstp_dz_name(EXSTP_DZ_GZIP), "gzip");
    assert_string_equal(exstp_dz_name(EXSTP_DZ_ZSTD), "zstd");
    assert_string_equal(exstp_dz_name(EXSTP_DZ_NONE), "plain");

    assert_string_equal(exstp_dz_foreign("BZh91AY", 7),
                        "bzip2-compressed data");
    assert_string_equal(exstp_dz_foreign("\x04\x22\x4d\x18", 4),
                        "lz4-compressed data");
    assert_string_equal(exstp_dz_foreign("PK\x03\x04", 4), "a zip archive");
    assert_null(exstp_dz_foreign(TEXT, sizeof TEXT - 1));
    assert_null(exstp_dz_foreign(NULL, 0));
    unsigned char tar[512];
    memset(tar, 0, sizeof tar);
    memcpy(tar, "name", 4);
    memcpy(tar + 100, "0000644", 8);
    memcpy(tar + 257, "ustar", 6);
    assert_string_equal(exstp_dz_foreign(tar, sizeof tar), "a tar archive");
    tar[101] = 'x'; /* not a mode: not a tar header */
    assert_null(exstp_dz_foreign(tar, sizeof tar));
}

/* Decode with one-byte input and output buffers: every state boundary
 * of every decoder is crossed.  Three frames/streams/members. */
static void test_stream_bytewise(void **state)
{
    (void)state;
    for (int f = TU_ZSTD; f <= TU_GZIP; f++) {
        unsigned char *z = NULL;
        size_t zn = 0;
        for (int k = 0; k < 3; k++)
            tu_compress(f, &z, &zn, TEXT, sizeof TEXT - 1);
        exstp_dz *d = exstp_dz_new((exstp_dz_fmt)f);
        assert_non_null(d);
        assert_int_equal(exstp_dz_format(d), f);
        char out[3 * sizeof TEXT];
        size_t in_pos = 0, out_pos = 0;
        int r = EXSTP_DZ_MORE;
        for (int guard = 0; r == EXSTP_DZ_MORE && guard < 100000; guard++) {
            const size_t in_len = in_pos < zn ? in_pos + 1 : zn;
            const size_t out_len = out_pos < sizeof out ? out_pos + 1
                                                        : sizeof out;
            r = exstp_dz_run(d, z, in_len, &in_pos, out, out_len, &out_pos,
                             in_len == zn);
        }
        assert_int_equal(r, EXSTP_DZ_END);
        assert_int_equal(out_pos, 3 * (sizeof TEXT - 1));
        for (int k = 0; k < 3; k++)
            assert_memory_equal(out + k * (sizeof TEXT - 1), TEXT,
                                sizeof TEXT - 1);
        /* the end is sticky */
        assert_int_equal(exstp_dz_run(d, z, zn, &in_pos, out, sizeof out,
                                      &out_pos, true),
                         EXSTP_DZ_END);
        /* reset: the same input again, whole, and cut short */
        assert_true(exstp_dz_reset(d));
        in_pos = out_pos = 0;
        assert_int_equal(exstp_dz_run(d, z, zn, &in_pos, out, sizeof out,
                                      &out_pos, true),
                         EXSTP_DZ_END);
        assert_true(exstp_dz_reset(d));
        in_pos = out_pos = 0;
        assert_int_equal(exstp_dz_run(d, z, zn - 1, &in_pos, out,
                                      sizeof out, &out_pos, true),
                         EXSTP_DZ_TRUNCATED);
        assert_string_equal(exstp_dz_why(d), "truncated");
        exstp_dz_free(d);
        free(z);
    }
    exstp_dz_free(NULL);
}

static void test_decode_all(void **state)
{
    (void)state;
    for (int f = TU_ZSTD; f <= TU_GZIP; f++) {
        unsigned char *z = NULL;
        size_t zn = 0;
        tu_compress(f, &z, &zn, TEXT, sizeof TEXT - 1);
        exstp_dz *d = exstp_dz_new((exstp_dz_fmt)f);
        assert_non_null(d);
        char *buf = NULL;
        size_t cap = 0, n = 0;
        const size_t tl = sizeof TEXT - 1;
        /* exactly at the limit, then one byte under it */
        assert_int_equal(exstp_dz_decode_all(d, &buf, &cap, &n, z, zn, tl,
                                             0),
                         EXSTP_DZ_END);
        assert_int_equal(n, tl);
        assert_memory_equal(buf, TEXT, tl + 1); /* with the NUL */
        assert_int_equal(exstp_dz_decode_all(d, &buf, &cap, &n, z, zn,
                                             tl - 1, 0),
                         EXSTP_DZ_LIMIT);
        assert_int_equal(n, tl);
        /* a prefix */
        assert_int_equal(exstp_dz_decode_all(d, &buf, &cap, &n, z, zn, tl,
                                             10),
                         EXSTP_DZ_END);
        assert_int_equal(n, 10);
        assert_memory_equal(buf, TEXT, 10);
        assert_int_equal(buf[10], '\0');
        free(buf);
        exstp_dz_free(d);
        free(z);
    }
}

/* The parser takes every format, several streams included, and gives
 * the same document as the plain text. */
static void test_parse_formats(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    char *path = tu_path(tu_shared_dir(),
                         "live/consensus-ns-2019-04-15-14-00-00.zst");
    char *text;
    size_t len;
    assert_int_equal(tu_read_doc(path, &text, &len), 0);
    exst_consensus *c = NULL;
    exst_error e;
    assert_int_equal(exst_consensus_parse(&c, text, len, "plain", NULL, &e),
                     EXST_OK);
    const size_t relays = exst_consensus_relay_count(c);
    assert_int_equal(relays, 6717);
    exst_consensus_free(c);
    for (int f = TU_ZSTD; f <= TU_GZIP; f++) {
        unsigned char *z = NULL;
        size_t zn = 0;
        tu_compress(f, &z, &zn, text, 100000);
        tu_compress(f, &z, &zn, text + 100000, len - 100000);
        assert_int_equal(exst_consensus_parse(&c, z, zn, "z", NULL, &e),
                         EXST_OK);
        assert_int_equal(exst_consensus_relay_count(c), relays);
        const exst_span b = exst_consensus_bytes(c);
        assert_int_equal(b.len, len);
        assert_memory_equal(b.ptr, text, len);
        exst_consensus_free(c);

        /* the same through a stream */
        FILE *fp = tmpfile();
        assert_non_null(fp);
        assert_int_equal(fwrite(z, 1, zn, fp), zn);
        rewind(fp);
        assert_int_equal(exst_consensus_read(&c, fp, "<stdin>", NULL, &e),
                         EXST_OK);
        assert_int_equal(exst_consensus_relay_count(c), relays);
        exst_consensus_free(c);
        fclose(fp);

        /* truncated, corrupt, over the limit */
        static const char *const names[] = {"", "zstd", "xz", "gzip"};
        char want[160];
        assert_int_equal(exst_consensus_parse(&c, z, zn - 5, "cut", NULL,
                                              &e),
                         EXST_ERR_COMPRESS);
        assert_null(c);
        snprintf(want, sizeof want, "truncated %s data", names[f]);
        assert_string_equal(e.message, want);
        assert_string_equal(e.source, "cut");
        z[zn - 6] ^= 0x10; /* in the last checksum or size */
        assert_int_equal(exst_consensus_parse(&c, z, zn, "bad", NULL, &e),
                         EXST_ERR_COMPRESS);
        snprintf(want, sizeof want, "corrupt %s data: ", names[f]);
        assert_memory_equal(e.message, want, strlen(want));
        z[zn - 6] ^= 0x10;
        exst_parse_opts po = {.max_doc_bytes = len - 1};
        assert_int_equal(exst_consensus_parse(&c, z, zn, "big", &po, &e),
                         EXST_ERR_LIMIT);
        snprintf(want, sizeof want, "decompressed document is larger than "
                 "%zu bytes", len - 1);
        assert_string_equal(e.message, want);

        /* out of memory anywhere: EXST_ERR_NOMEM and nothing else */
        bool passed = false;
        for (long k = 0; k < 100 && !passed; k++) {
            exstp_alloc_fail_after(k);
            const int rc = exst_consensus_parse(&c, z, zn, "z", NULL, &e);
            exstp_alloc_fail_after(-1);
            if (rc == EXST_OK) {
                exst_consensus_free(c);
                passed = true;
            } else {
                assert_int_equal(rc, EXST_ERR_NOMEM);
            }
        }
        assert_true(passed);
        free(z);
    }
    free(text);
    free(path);
}

/* Unsupported compressions and tar archives are named, not quoted. */
static void test_parse_foreign(void **state)
{
    (void)state;
    exst_consensus *c = NULL;
    exst_error e;
    static const char bz[] = "BZh91AY&SY junk";
    assert_int_equal(exst_consensus_parse(&c, bz, sizeof bz - 1, "x.bz2",
                                          NULL, &e),
                     EXST_ERR_COMPRESS);
    assert_string_equal(e.message, "not a consensus: the input is "
                                   "bzip2-compressed data, which is not "
                                   "read (zstd, xz and gzip are; "
                                   "decompress it first)");
    FILE *fp = tmpfile();
    assert_non_null(fp);
    fputs("\x04\x22\x4d\x18 junk", fp);
    rewind(fp);
    assert_int_equal(exst_consensus_read(&c, fp, "<stdin>", NULL, &e),
                     EXST_ERR_COMPRESS);
    assert_string_equal(e.message, "not a consensus: the input is "
                                   "lz4-compressed data, which is not read "
                                   "(zstd, xz and gzip are; decompress it "
                                   "first)");
    fclose(fp);
    unsigned char tar[1024];
    memset(tar, 0, sizeof tar);
    memcpy(tar, "2026-01-01-00-00-00-consensus", 29);
    memcpy(tar + 100, "0000644", 8);
    memcpy(tar + 257, "ustar", 6);
    assert_int_equal(exst_consensus_parse(&c, tar, sizeof tar, "x.tar",
                                          NULL, &e),
                     EXST_ERR_SEMANTIC);
    assert_int_equal(e.line, 1);
    assert_int_equal(e.column, 1);
    assert_string_equal(e.message, "not a consensus: the input is a tar "
                                   "archive (replay reads archives)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_stream_bytewise),
        cmocka_unit_test(test_decode_all),
        cmocka_unit_test(test_parse_formats),
        cmocka_unit_test(test_parse_foreign),
    };
    if (exst_init() != EXST_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
