/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_consensus.c - the parser and writer on every real document in
 * ../shared/testdata: parse, byte-identical re-emit, the weights
 * self-check, rejection of invalid documents, votes, certificates and
 * diffs with their exact status, line and column (one table row each),
 * the small samples with their relay counts, zstd input equal to plain
 * input, @type annotation lines, and a failing-allocator sweep that must
 * see EXST_ERR_NOMEM at every allocation.  (The project's own hand-made
 * rejection cases live in test_invalid_cases.c.)
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitstage.h"

/* The allocation test hook from lib/exst_int.h (tests link exst_static). */
void exstp_alloc_fail_after(long n);

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

/* ---- rejected documents ------------------------------------------- */

typedef struct reject_row {
    const char *path;     /* relative to ../shared/testdata */
    int status;
    unsigned long line, column;
    const char *message;  /* a part the message must contain */
} reject_row;

/* Every document in invalid/, every vote, certificate and diff in
 * samples/, and the CRLF sample.  The line is the offending line (after
 * any @type line); the column is where the bad token starts. */
static const reject_row rejected[] = {
    {"invalid/arti-invalid-mdconsensus-bad-flags", EXST_ERR_SEMANTIC, 27, 18,
     "\"s\" line: flag 'Muffins' is not in known-flags"},
    {"invalid/arti-invalid-mdconsensus-bad-md-digest", EXST_ERR_SYNTAX, 40, 3,
     "\"m\" line: microdescriptor digest 'PyZmS8i3xBSMI92mxr' is not 43"},
    {"invalid/arti-invalid-mdconsensus-bad-params", EXST_ERR_SYNTAX, 15, 8,
     "\"params\" line: expected KEY=VALUE, found 'FoobarNotAParameter'"},
    {"invalid/arti-invalid-mdconsensus-bad-weight", EXST_ERR_SYNTAX, 67, 141,
     "\"bandwidth-weights\" line: value of 'Wgm' is not a 32-bit integer"},
    {"invalid/arti-invalid-mdconsensus-bad-weights", EXST_ERR_SYNTAX, 51, 13,
     "\"w\" line: Bandwidth 'Fred' is not an unsigned 32-bit integer"},
    {"invalid/arti-invalid-mdconsensus-wrong-order", EXST_ERR_SEMANTIC, 52, 12,
     "router entries not sorted by identity digest (this entry must come "
     "before the one at line 45)"},
    {"invalid/arti-invalid-mdconsensus-wrong-start", EXST_ERR_SEMANTIC, 1, 1,
     "not a consensus: expected \"network-status-version\" as the first "
     "item, found 'vote-status'"},
    {"invalid/arti-invalid-mdconsensus-wrong-version", EXST_ERR_SEMANTIC, 1,
     24, "unsupported network-status-version '10 microdesc' (expected 3)"},
    {"samples/metricslib-vote-2017-07-17-17-00-00-dannenberg-truncated",
     EXST_ERR_SEMANTIC, 3, 13, "not a consensus: vote-status is 'vote'"},
    {"samples/stem-metrics_vote-2012-07-12-00-00-00-truncated",
     EXST_ERR_SEMANTIC, 3, 13, "not a consensus: vote-status is 'vote'"},
    {"samples/stem-vote-2012-07-12-00-00-00-truncated", EXST_ERR_SEMANTIC, 2,
     13, "not a consensus: vote-status is 'vote'"},
    {"samples/vote-2016-09-20-13-00-00-maatuska-collector.zst",
     EXST_ERR_SEMANTIC, 3, 13, "not a consensus: vote-status is 'vote'"},
    {"samples/arti-testnet-authcerts2-2020-08-07", EXST_ERR_SEMANTIC, 1, 1,
     "not a consensus: this is an authority key certificate"},
    {"samples/stem-testnet-cached-certs-2017-05-25", EXST_ERR_SEMANTIC, 1, 1,
     "not a consensus: this is an authority key certificate"},
    {"samples/arti-testnet-consdiff-diff1-consensus1-to-consensus2",
     EXST_ERR_SEMANTIC, 1, 1, "not a consensus: this is a consensus diff"},
    /* These two certificate files have CRLF line ends, and the CR check
     * runs before the first line is looked at. */
    {"samples/authority-certs-2022-11-safe_tor", EXST_ERR_SYNTAX, 1, 30,
     "carriage return (CR) in document"},
    {"samples/authority-certs-2024-05-Tor-VPN", EXST_ERR_SYNTAX, 1, 30,
     "carriage return (CR) in document"},
    {"samples/stem-cached-microdesc-consensus-2015-09-15-18-00-00-crlf-"
     "truncated", EXST_ERR_SYNTAX, 1, 35,
     "carriage return (CR) in document: consensus lines end with LF only"},
};

static void test_rejected(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    size_t bad = 0;
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        const reject_row *row = &rejected[i];
        char *path = tu_path(tu_shared_dir(), row->path);
        char *buf;
        size_t len;
        exst_consensus *c = NULL;
        exst_error err;
        assert_non_null(path);
        /* Raw bytes: the .zst vote is decompressed by the parser. */
        assert_int_equal(tu_read_file(path, &buf, &len), 0);
        int rc = exst_consensus_parse(&c, buf, len, row->path, NULL, &err);
        if (rc != row->status || err.code != rc || err.line != row->line ||
            err.column != row->column ||
            strstr(err.message, row->message) == NULL) {
            print_error("%s: expected %d %lu:%lu '%s'\n  got %d %lu:%lu "
                        "'%s'\n", row->path, row->status, row->line,
                        row->column, row->message, rc, err.line,
                        err.column, err.message);
            bad++;
        }
        assert_null(c);
        exst_consensus_free(c);
        free(buf);
        free(path);
    }
    assert_int_equal(bad, 0);
}

/* ---- the small samples ----------------------------------------------- */

typedef struct sample_row {
    const char *name; /* in samples/ */
    size_t relays;
    int weights_match; /* false for truncated/cropped documents */
} sample_row;

static const sample_row samples[] = {
    {"arti-testnet-consdiff-consensus1-2020-12-14", 8, 1},
    {"arti-testnet-consdiff-consensus2-2020-12-16", 3, 1},
    {"arti-testnet-mdconsensus1-2020-08-07", 6, 1},
    {"arti-testnet-nsconsensus1-2021-03-26", 8, 1},
    {"metricslib-consensus-microdesc-2017-07-17-17-00-00-truncated", 3, 0},
    {"metricslib-consensus-ns-2017-07-17-17-00-00-truncated", 5, 0},
    {"sbws-testnet-cached-consensus-2019-03-25", 15, 1},
    {"sbws-testnet-cached-consensus-2019-05-11", 15, 1},
    {"stem-cached-consensus-2012-07-12-10-00-00-truncated", 9, 0},
    {"stem-collector-consensus-ns-2018-06-01-00-00-00-cropped", 208, 0},
    {"stem-collector-consensus-ns-2018-06-01-01-00-00-cropped", 35, 0},
    {"stem-metrics_consensus-2012-07-12-10-00-00-truncated", 7, 0},
    {"stem-testnet-cached-consensus-2017-05-25", 3, 1},
    {"testnet-consensus-ns-2023-05-03-Tor_Circuit", 6, 1},
};

static void test_samples(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    char *dir = tu_path(tu_shared_dir(), "samples");
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        const sample_row *row = &samples[i];
        char *path = tu_path(dir, row->name);
        exst_consensus *c = roundtrip(path);
        /* The table's weights_match follows the name. */
        const int cut = strstr(row->name, "-truncated") != NULL ||
                        strstr(row->name, "-cropped") != NULL;
        assert_int_equal(row->weights_match, !cut);
        if (exst_consensus_relay_count(c) != row->relays ||
            !exst_consensus_weights_match(c) != !row->weights_match)
            print_error("%s: %zu relays, weights_match %d\n", row->name,
                        exst_consensus_relay_count(c),
                        exst_consensus_weights_match(c));
        assert_int_equal(exst_consensus_relay_count(c), row->relays);
        assert_int_equal(!exst_consensus_weights_match(c),
                         !row->weights_match);
        exst_consensus_free(c);
        free(path);
    }
    free(dir);
}

/* Every file in samples/ is in exactly one table, so a new sample cannot
 * go untested. */
static void test_samples_all_listed(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    char *dir = tu_path(tu_shared_dir(), "samples");
    char **files = tu_list_dir(dir);
    size_t n = 0;
    assert_non_null(files);
    for (char **f = files; *f != NULL; f++, n++) {
        const char *name = strrchr(*f, '/') + 1;
        int hits = 0;
        for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
            hits += strcmp(samples[i].name, name) == 0;
        for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++)
            hits += strncmp(rejected[i].path, "samples/", 8) == 0 &&
                    strcmp(rejected[i].path + 8, name) == 0;
        if (hits != 1)
            print_error("samples/%s is listed %d times\n", name, hits);
        assert_int_equal(hits, 1);
        /* Every vote is rejected, never parsed. */
        if (strstr(name, "vote") != NULL)
            for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
                assert_string_not_equal(samples[i].name, name);
    }
    assert_true(n >= 24);
    tu_free_list(files);
    free(dir);
}

/* ---- zstd and plain input, @type lines ------------------------------ */

static void assert_same(const exst_consensus *a, const exst_consensus *b)
{
    assert_int_equal(exst_consensus_flavor(a), exst_consensus_flavor(b));
    assert_int_equal(exst_consensus_valid_after(a),
                     exst_consensus_valid_after(b));
    assert_int_equal(exst_consensus_method(a), exst_consensus_method(b));
    assert_int_equal(exst_consensus_relay_count(a),
                     exst_consensus_relay_count(b));
    exst_span sa = exst_consensus_bytes(a), sb = exst_consensus_bytes(b);
    assert_int_equal(sa.len, sb.len);
    assert_memory_equal(sa.ptr, sb.ptr, sa.len);
    exst_weights wa, wb;
    exst_consensus_weights(&wa, NULL, a, NULL);
    exst_consensus_weights(&wb, NULL, b, NULL);
    assert_true(exst_weights_equal(&wa, &wb));
    for (size_t i = 0; i < exst_consensus_relay_count(a); i++) {
        exst_relay ra, rb;
        exst_consensus_relay(a, i, &ra);
        exst_consensus_relay(b, i, &rb);
        assert_memory_equal(ra.id, rb.id, 20);
        assert_int_equal(ra.flags, rb.flags);
        assert_int_equal(ra.bandwidth, rb.bandwidth);
        assert_int_equal(ra.line, rb.line);
    }
}

/* Each live .zst parsed as it is (buffer and stream) equals the same
 * document decompressed first. */
static void test_live_zstd_equals_plain(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    char *dir = tu_path(tu_shared_dir(), "live");
    char **files = tu_list_dir(dir);
    size_t n = 0;
    assert_non_null(files);
    for (char **f = files; *f != NULL; f++) {
        char *raw, *plain;
        size_t raw_len, plain_len;
        exst_consensus *cz = NULL, *cp = NULL, *cs = NULL;
        exst_error err;
        assert_int_equal(tu_read_file(*f, &raw, &raw_len), 0);
        if (raw_len < 4 || memcmp(raw, "\x28\xb5\x2f\xfd", 4) != 0) {
            free(raw);
            continue;
        }
        n++;
        assert_int_equal(tu_read_doc(*f, &plain, &plain_len), 0);
        assert_true(plain_len > raw_len);
        assert_int_equal(exst_consensus_parse(&cz, raw, raw_len, *f, NULL,
                                              &err), EXST_OK);
        assert_int_equal(exst_consensus_parse(&cp, plain, plain_len, *f,
                                              NULL, &err), EXST_OK);
        FILE *fp = fopen(*f, "rb");
        assert_non_null(fp);
        assert_int_equal(exst_consensus_read(&cs, fp, *f, NULL, &err),
                         EXST_OK);
        fclose(fp);
        assert_same(cz, cp);
        assert_same(cs, cp);
        exst_consensus_free(cz);
        exst_consensus_free(cp);
        exst_consensus_free(cs);
        free(raw);
        free(plain);
    }
    assert_true(n >= 38);
    tu_free_list(files);
    free(dir);
}

/* CollecTor's documents start with an @type line and round trip byte for
 * byte; adding such a line to a document without one changes nothing but
 * the line numbers, and an edited output keeps it first. */
static void test_type_annotation(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    char *dir = tu_path(tu_shared_dir(), "live");
    char **files = tu_list_dir(dir);
    size_t n_collector = 0;
    assert_non_null(files);
    for (char **f = files; *f != NULL; f++) {
        if (strstr(*f, "-collector") == NULL)
            continue;
        char *buf;
        size_t len;
        assert_int_equal(tu_read_doc(*f, &buf, &len), 0);
        assert_memory_equal(buf, "@type network-status-", 21);
        free(buf);
        exst_consensus_free(roundtrip(*f));
        n_collector++;
    }
    assert_true(n_collector >= 10);
    tu_free_list(files);

    static const char type_md[] =
        "@type network-status-microdesc-consensus-3 1.0\n";
    char *path = tu_path(dir, "consensus-microdesc-2024-05-17-17-00-00.zst");
    char *plain, *typed;
    size_t plain_len;
    exst_consensus *a = NULL, *b = NULL;
    exst_error err;
    assert_int_equal(tu_read_doc(path, &plain, &plain_len), 0);
    assert_true(plain[0] != '@');
    const size_t tl = sizeof type_md - 1, typed_len = plain_len + tl;
    typed = malloc(typed_len);
    assert_non_null(typed);
    memcpy(typed, type_md, tl);
    memcpy(typed + tl, plain, plain_len);
    assert_int_equal(exst_consensus_parse(&a, plain, plain_len, "plain", NULL,
                                          &err), EXST_OK);
    assert_int_equal(exst_consensus_parse(&b, typed, typed_len, "typed", NULL,
                                          &err), EXST_OK);
    assert_int_equal(exst_consensus_relay_count(a),
                     exst_consensus_relay_count(b));
    assert_int_equal(exst_consensus_valid_after(a),
                     exst_consensus_valid_after(b));
    assert_true(exst_consensus_weights_match(b));
    exst_relay ra, rb;
    exst_consensus_relay(a, 0, &ra);
    exst_consensus_relay(b, 0, &rb);
    assert_int_equal(rb.line, ra.line + 1);

    char *out;
    size_t out_len;
    assert_int_equal(exst_consensus_write(&out, &out_len, b, NULL, &err),
                     EXST_OK);
    assert_int_equal(out_len, typed_len);
    assert_memory_equal(out, typed, typed_len);
    exst_free(out);

    /* Strip the first exit, with annotation: @type is still line 1. */
    const size_t n = exst_consensus_relay_count(b);
    uint8_t *strip = calloc(n, 1);
    assert_non_null(strip);
    for (size_t i = 0; i < n; i++)
        if (exst_consensus_relay_is_exit(b, i)) {
            strip[i] = 1;
            break;
        }
    exst_annotation ann = {345600, 86400, EXST_CLOCK_EXIT, EXST_ENFORCE_FLAG,
                           1};
    exst_write_opts wo = {0};
    wo.strip = strip;
    wo.annotation = &ann;
    assert_int_equal(exst_consensus_write(&out, &out_len, b, &wo, &err),
                     EXST_OK);
    assert_true(out_len > tl);
    assert_memory_equal(out, type_md, tl);
    exst_consensus *c = NULL;
    exst_parse_opts po = {0};
    po.flags = EXST_PARSE_ALLOW_REPROCESS;
    assert_int_equal(exst_consensus_parse(&c, out, out_len, "out", NULL,
                                          &err), EXST_ERR_REPROCESS);
    assert_int_equal(exst_consensus_parse(&c, out, out_len, "out", &po,
                                          &err), EXST_OK);
    assert_int_equal(exst_consensus_relay_count(c), n);
    exst_consensus_free(c);
    exst_free(out);
    free(strip);
    exst_consensus_free(a);
    exst_consensus_free(b);
    free(typed);
    free(plain);
    free(path);
    free(dir);
}

/* ---- out of memory ---------------------------------------------------- */

/* Fail allocation 0, 1, 2, ... of a parse until it succeeds: every failed
 * parse reports EXST_ERR_NOMEM and returns nothing.  Returns how many
 * allocations a successful parse made. */
static long sweep_parse(const void *buf, size_t len)
{
    long n;
    for (n = 0; n < 100000; n++) {
        exst_consensus *c = NULL;
        exst_error err;
        exstp_alloc_fail_after(n);
        int rc = exst_consensus_parse(&c, buf, len, "sweep", NULL, &err);
        exstp_alloc_fail_after(-1);
        if (rc == EXST_OK) {
            assert_non_null(c);
            assert_true(exst_consensus_relay_count(c) > 0);
            exst_consensus_free(c);
            print_message("parse: %ld allocations failed one by one\n", n);
            return n;
        }
        if (rc != EXST_ERR_NOMEM)
            print_error("allocation %ld failed: got %d '%s'\n", n, rc,
                        err.message);
        assert_int_equal(rc, EXST_ERR_NOMEM);
        assert_int_equal(err.code, EXST_ERR_NOMEM);
        assert_null(c);
    }
    fail_msg("parse never succeeded");
    return n;
}

/* The same for a write with every edit kind. */
static long sweep_write(const exst_consensus *c)
{
    const size_t nr = exst_consensus_relay_count(c);
    uint8_t *strip = calloc(nr, 1);
    int64_t *rs = calloc(nr, sizeof *rs), *el = calloc(nr, sizeof *el);
    assert_non_null(strip);
    assert_non_null(rs);
    assert_non_null(el);
    for (size_t i = 0; i < nr; i++) {
        strip[i] = (uint8_t)exst_consensus_relay_is_exit(c, i);
        rs[i] = exst_consensus_valid_after(c) - 3600;
        el[i] = rs[i] + 345600;
    }
    exst_weights w;
    exst_consensus_weights(&w, NULL, c, strip);
    exst_annotation ann = {345600, 86400, EXST_CLOCK_EXIT,
                           EXST_ENFORCE_BADEXIT, 1};
    exst_write_opts wo = {0};
    wo.strip = strip;
    wo.run_start = rs;
    wo.eligible_at = el;
    wo.enforce = EXST_ENFORCE_BADEXIT;
    wo.weights = &w;
    wo.annotation = &ann;
    long n;
    for (n = 0; n < 100000; n++) {
        char *out = NULL;
        size_t out_len = 0;
        exst_error err;
        exstp_alloc_fail_after(n);
        int rc = exst_consensus_write(&out, &out_len, c, &wo, &err);
        exstp_alloc_fail_after(-1);
        if (rc == EXST_OK) {
            assert_non_null(out);
            exst_free(out);
            print_message("write: %ld allocations failed one by one\n", n);
            break;
        }
        assert_int_equal(rc, EXST_ERR_NOMEM);
        assert_null(out);
    }
    free(strip);
    free(rs);
    free(el);
    return n;
}

static void test_alloc_failures_own(void **state)
{
    (void)state;
    static const char *const docs[] = {"consensus/valid/minimal-ns",
                                       "consensus/valid/minimal-microdesc"};
    for (size_t d = 0; d < 2; d++) {
        char *path = tu_path(tu_project_dir(), docs[d]);
        char *buf;
        size_t len;
        exst_error err;
        assert_int_equal(tu_read_file(path, &buf, &len), 0);
        assert_true(sweep_parse(buf, len) >= 2);
        /* Compressed input goes through the decompression buffer too. */
        void *z;
        size_t zlen;
        assert_int_equal(exst_zstd_compress(&z, &zlen, buf, len, 3, &err),
                         EXST_OK);
        assert_true(sweep_parse(z, zlen) >= 2);
        exst_free(z);
        exst_consensus *c = NULL;
        assert_int_equal(exst_consensus_parse(&c, buf, len, path, NULL,
                                              &err), EXST_OK);
        assert_true(sweep_write(c) >= 2);
        exst_consensus_free(c);
        free(buf);
        free(path);
    }
}

static void test_alloc_failures_sample(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    char *path = tu_path(tu_shared_dir(),
                         "samples/stem-collector-consensus-ns-2018-06-01-"
                         "01-00-00-cropped");
    char *buf;
    size_t len;
    assert_int_equal(tu_read_file(path, &buf, &len), 0);
    assert_true(sweep_parse(buf, len) >= 2);
    free(buf);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_samples_all_listed),
        cmocka_unit_test(test_live_zstd_equals_plain),
        cmocka_unit_test(test_type_annotation),
        cmocka_unit_test(test_alloc_failures_own),
        cmocka_unit_test(test_alloc_failures_sample),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
