/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_identity.c - relay identities: the parser checks entry order on the
 * base64 text (by character value, not ASCII) and decodes identities with
 * libsodium only on demand.  These tests pin both halves: decoded
 * identities come out strictly ascending as bytes, match an independent
 * decode, and a non-canonical encoding (bits set past the 20 bytes) is
 * refused at the identity's column.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "exitstage.h"

static char *load_minimal(size_t *len)
{
    char *path = tu_path(tu_project_dir(), "consensus/valid/minimal-ns");
    char *buf = NULL;
    assert_int_equal(tu_read_file(path, &buf, len), 0);
    free(path);
    return buf;
}

/* Decoded identities ascend as bytes although their base64 text does not
 * ascend as ASCII ("P0dE..." < "brp4..." < "eq/l..." < "3k1v..."). */
static void test_decoded_order(void **state)
{
    (void)state;
    size_t len;
    char *buf = load_minimal(&len);
    exst_consensus *c = NULL;
    exst_error err;
    assert_int_equal(exst_consensus_parse(&c, buf, len, "minimal-ns", NULL,
                                          &err), EXST_OK);
    static const char *b64[] = {"P0dEjnC4vaM3ObbNpc3RF0S8bMw",
                                "brp4ACeU+dW00VqkVrKZe5TphkM",
                                "eq/lw7lGoocARxXqWfO2bg5mOWw",
                                "3k1vntCIkCKzvs4deJrlIX5+t6s"};
    assert_int_equal(exst_consensus_relay_count(c), 4);
    uint8_t prev[20] = {0};
    for (size_t i = 0; i < 4; i++) {
        exst_relay r;
        uint8_t want[20];
        size_t n = 0;
        exst_consensus_relay(c, i, &r);
        assert_int_equal(sodium_base642bin(
                             want, sizeof want, b64[i], 27, NULL, &n, NULL,
                             sodium_base64_VARIANT_ORIGINAL_NO_PADDING),
                         0);
        assert_int_equal(n, 20);
        assert_memory_equal(r.id, want, 20);
        if (i > 0)
            assert_true(memcmp(prev, r.id, 20) < 0);
        memcpy(prev, r.id, 20);
    }
    char hex[41];
    exst_relay r0;
    exst_consensus_relay(c, 0, &r0);
    assert_string_equal(exst_fingerprint_hex(hex, r0.id),
                        "3F47448E70B8BDA33739B6CDA5CDD11744BC6CCC");
    exst_consensus_free(c);
    free(buf);
}

/* "...bMw" -> "...bMx": the last character now carries a bit past the 20
 * bytes; libsodium refuses that encoding and so does the parser. */
static void test_noncanonical_identity(void **state)
{
    (void)state;
    size_t len;
    char *buf = load_minimal(&len);
    char *at = strstr(buf, "P0dEjnC4vaM3ObbNpc3RF0S8bMw");
    assert_non_null(at);
    at[26] = 'x';
    exst_consensus *c = NULL;
    exst_error err;
    assert_int_equal(exst_consensus_parse(&c, buf, len, "minimal-ns", NULL,
                                          &err), EXST_ERR_SYNTAX);
    assert_null(c);
    assert_int_equal(err.line, 25);
    assert_int_equal(err.column, 11);
    assert_non_null(strstr(err.message, "identity"));
    free(buf);
}

/* Swapping two entries is refused at the second entry's identity. */
static void test_swapped_entries(void **state)
{
    (void)state;
    size_t len;
    char *buf = load_minimal(&len);
    char *a = strstr(buf, "P0dEjnC4vaM3ObbNpc3RF0S8bMw");
    char *b = strstr(buf, "brp4ACeU+dW00VqkVrKZe5TphkM");
    char tmp[27];
    memcpy(tmp, a, 27);
    memcpy(a, b, 27);
    memcpy(b, tmp, 27);
    exst_consensus *c = NULL;
    exst_error err;
    assert_int_equal(exst_consensus_parse(&c, buf, len, "minimal-ns", NULL,
                                          &err), EXST_ERR_SEMANTIC);
    assert_int_equal(err.line, 32);
    assert_int_equal(err.column, 9);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoded_order),
        cmocka_unit_test(test_noncanonical_identity),
        cmocka_unit_test(test_swapped_entries),
    };
    if (exst_init() != EXST_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
