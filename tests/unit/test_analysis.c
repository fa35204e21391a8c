/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_analysis.c - SPEC 9's definitions, one test each, on hand-built
 * sequences whose figures are worked out in the comments: one document
 * per hour (ns first), steady consensuses only, the mean and peak of the
 * stripped fraction (earliest on ties, 0 at the first when all are 0, null
 * without steady consensuses), mean_stripped and relays_staged counting
 * BadExit relays while the fraction and denied_share leave them out,
 * watched relays (strictly before caught, the earliest time wins, only the
 * counted document of an hour, fully_denied needs an exit consensus),
 * spans and gaps; and the identity map's resistance to crafted
 * identities.
 */
#define _DEFAULT_SOURCE

#include <math.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"

#include "exst_analysis_int.h"
#include "exst_idmap_int.h"
#include "exitstage.h"

#define H 3600
#define T0 INT64_C(1767225600) /* 2026-01-01 00:00:00 */
#define AT(h) (T0 + (int64_t)(h) * H)
#define NS EXST_FLAVOR_NS
#define MD EXST_FLAVOR_MICRODESC
#define ST EXST_PHASE_STEADY
#define RA EXST_PHASE_RAMP
#define BO EXST_PHASE_BOOTSTRAP

static exstp_analysis *new_an(int lanes)
{
    exstp_analysis_info info = {EXST_CLOCK_EXIT, EXST_ENFORCE_FLAG,
                                EXST_BOOTSTRAP_GRANDFATHER, -1};
    exstp_analysis *a = NULL;
    assert_int_equal(exstp_analysis_new(&a, &info, NULL), EXST_OK);
    for (int i = 0; i < lanes; i++)
        assert_int_equal(exstp_analysis_add_lane(a, 86400 * (i + 1), 86400,
                                                 NULL),
                         EXST_OK);
    return a;
}

static void id_of(uint8_t id[20], int n)
{
    memset(id, 0, 20);
    id[0] = (uint8_t)n;
}

/* Feed one lane's view: fraction, exits (bad of them), stripped (bad of
 * them), stripped relays numbered from first_id. */
static void doc(exstp_analysis *a, size_t lane, int hour, exst_flavor fl,
                exst_phase ph, double frac, size_t exits, size_t bad,
                size_t stripped, size_t stripped_bad, int first_id)
{
    uint8_t ids[16][20];
    for (size_t k = 0; k < stripped; k++)
        id_of(ids[k], first_id + (int)k);
    exstp_lane_doc d = {
        .t = AT(hour), .flavor = fl, .phase = ph, .stripped_fraction = frac,
        .exit_candidates = exits, .badexit_candidates = bad,
        .in_staging = stripped, .stripped = stripped,
        .stripped_badexit = stripped_bad,
        .stripped_ids = (const uint8_t(*)[20])ids,
    };
    assert_int_equal(exstp_analysis_lane_doc(a, lane, 86400 * (int64_t)(lane + 1),
                                             86400, &d, NULL),
                     EXST_OK);
}

static void figures(exstp_analysis *a, size_t lane, exst_lane_figures *f)
{
    exstp_analysis_figures(a, lane, f);
}

/* "One document per hour": ns first; a microdesc document of an hour that
 * has an ns one is not counted, one alone is. */
static void test_one_per_hour(void **state)
{
    (void)state;
    exstp_analysis *a = new_an(1);
    assert_true(exstp_analysis_begin_doc(a, AT(0), NS));
    doc(a, 0, 0, NS, ST, 0.10, 10, 0, 1, 0, 1);
    assert_false(exstp_analysis_begin_doc(a, AT(0), MD));
    doc(a, 0, 0, MD, ST, 0.90, 10, 0, 9, 0, 1); /* not counted */
    assert_true(exstp_analysis_begin_doc(a, AT(1), MD)); /* md alone */
    doc(a, 0, 1, MD, ST, 0.30, 10, 0, 3, 0, 1);
    exst_lane_figures f;
    figures(a, 0, &f);
    assert_int_equal(f.consensuses, 2);
    /* (0.10 + 0.30) / 2 */
    assert_true(fabs(f.mean_stripped_fraction - 0.20) < 1e-12);
    assert_true(fabs(f.peak_stripped_fraction - 0.30) < 1e-12);
    assert_true(f.peak_at == AT(1));
    exstp_analysis_free(a);
}

/* Steady only; the peak is the earliest on ties; mean_stripped counts
 * BadExit relays; relays_staged are distinct; denied_share leaves BadExit
 * out of both sums. */
static void test_lane_figures(void **state)
{
    (void)state;
    exstp_analysis *a = new_an(1);
    exstp_analysis_begin_doc(a, AT(0), NS);
    doc(a, 0, 0, NS, BO, 0.99, 10, 0, 9, 0, 1); /* bootstrap: ignored */
    exstp_analysis_begin_doc(a, AT(1), NS);
    doc(a, 0, 1, NS, RA, 0.98, 10, 0, 9, 0, 1); /* ramp: ignored */
    exstp_analysis_begin_doc(a, AT(2), NS);
    doc(a, 0, 2, NS, ST, 0.25, 12, 2, 3, 1, 1); /* relays 1,2,3 */
    exstp_analysis_begin_doc(a, AT(3), NS);
    doc(a, 0, 3, NS, ST, 0.50, 12, 2, 2, 0, 3); /* relays 3,4 */
    exstp_analysis_begin_doc(a, AT(4), NS);
    doc(a, 0, 4, NS, ST, 0.50, 12, 0, 1, 0, 5); /* tie: earliest peak */
    exst_lane_figures f;
    figures(a, 0, &f);
    assert_int_equal(f.consensuses, 3);
    assert_true(fabs(f.mean_stripped_fraction - 1.25 / 3) < 1e-12);
    assert_true(fabs(f.peak_stripped_fraction - 0.50) < 1e-12);
    assert_true(f.peak_at == AT(3));
    assert_true(fabs(f.mean_stripped - 2.0) < 1e-12); /* (3+2+1)/3 */
    assert_int_equal(f.relays_staged, 5);             /* 1..5 */
    /* (3-1 + 2-0 + 1-0) / (12-2 + 12-2 + 12-0) = 5 / 32 */
    assert_true(f.has_denied_share);
    assert_true(fabs(f.denied_share - 5.0 / 32) < 1e-12);
    assert_int_equal(f.span_consensuses[BO], 1);
    assert_int_equal(f.span_consensuses[RA], 1);
    assert_int_equal(f.span_consensuses[ST], 3);
    assert_true(f.span_from[ST] == AT(2) && f.span_to[ST] == AT(4));
    exstp_analysis_free(a);
}

/* No steady consensus: means, peak and peak_at null; a zero denominator
 * makes the share null; all fractions 0: the peak is 0 at the earliest;
 * a consensus with no exit bandwidth (fraction 0) still counts. */
static void test_nulls_and_zeros(void **state)
{
    (void)state;
    exstp_analysis *a = new_an(2);
    exstp_analysis_begin_doc(a, AT(0), NS);
    doc(a, 0, 0, NS, RA, 0.5, 10, 0, 5, 0, 1);
    doc(a, 1, 0, NS, ST, 0.0, 0, 0, 0, 0, 1); /* no exits at all */
    exstp_analysis_begin_doc(a, AT(1), NS);
    doc(a, 0, 1, NS, RA, 0.5, 10, 0, 5, 0, 1);
    doc(a, 1, 1, NS, ST, 0.0, 4, 0, 0, 0, 1);
    exst_lane_figures f;
    figures(a, 0, &f);
    assert_false(f.has_steady);
    assert_false(f.has_denied_share);
    assert_int_equal(f.consensuses, 0);
    figures(a, 1, &f);
    assert_int_equal(f.consensuses, 2);
    assert_true(f.has_steady);
    assert_true(f.peak_stripped_fraction == 0.0 && f.peak_at == AT(0));
    assert_true(f.has_denied_share && f.denied_share == 0.0);
    /* The JSON says null where a figure is absent. */
    exstp_archive_counts k = {0};
    k.first = k.last = EXST_TIME_NONE;
    char *js = NULL;
    assert_int_equal(exstp_analysis_json(&js, a, &k, false, NULL), EXST_OK);
    json_t *o = json_loads(js, 0, NULL);
    json_t *l0 = json_array_get(json_object_get(o, "lanes"), 0);
    assert_true(json_is_null(json_object_get(l0, "mean_stripped_fraction")));
    assert_true(json_is_null(json_object_get(l0, "peak_at")));
    assert_true(json_is_null(json_object_get(l0, "denied_share")));
    assert_true(json_is_null(json_object_get(l0, "watched_denied_share")));
    assert_true(json_is_null(
        json_object_get(json_object_get(l0, "spans"), "steady")));
    json_decref(o);
    exst_free(js);
    exstp_analysis_free(a);
}

/* Gaps of W or more between counted hours: W = 1d, hours 0, 1, 26 (24
 * missing: a gap 2..25), 27, 50 (22 missing: no gap). */
static void test_gaps(void **state)
{
    (void)state;
    exstp_analysis *a = new_an(1);
    const int hours[] = {0, 1, 26, 27, 50};
    for (size_t i = 0; i < 5; i++) {
        exstp_analysis_begin_doc(a, AT(hours[i]), NS);
        doc(a, 0, hours[i], NS, ST, 0.0, 1, 0, 0, 0, 1);
    }
    exst_lane_figures f;
    figures(a, 0, &f);
    assert_int_equal(f.gaps, 1);
    int64_t from, to;
    uint64_t n;
    exstp_analysis_gap(a, 0, 0, &from, &to, &n);
    assert_true(from == AT(2) && to == AT(25));
    assert_int_equal(n, 24);
    exstp_analysis_free(a);
}

/* Watched relays over two lanes: lane 0 steady throughout, lane 1 steady
 * from hour 2.  Relay 1 listed, caught at hour 3 (and listed again with
 * hour 5: the earliest wins); relay 2 listed without a time (never
 * caught); relay 3 caught by BadExit at hour 2; relay 4 listed but never
 * an exit (watched stays 0 for it).  Relay 5 is neither: not reported. */
static void test_watched(void **state)
{
    (void)state;
    exstp_analysis *a = new_an(2);
    uint8_t id[6][20];
    for (int i = 1; i <= 5; i++)
        id_of(id[i], i);
    exstp_analysis_watch_badexit(a, true);
    assert_int_equal(exstp_analysis_watch(a, id[1], AT(5), "watchlist", NULL),
                     EXST_OK);
    assert_int_equal(exstp_analysis_watch(a, id[1], AT(3), "watchlist", NULL),
                     EXST_OK);
    assert_int_equal(exstp_analysis_watch(a, id[2], EXST_TIME_NONE,
                                          "watchlist", NULL),
                     EXST_OK);
    assert_int_equal(exstp_analysis_watch(a, id[4], EXST_TIME_NONE,
                                          "watchlist", NULL),
                     EXST_OK);
    for (int h = 0; h < 5; h++) {
        const uint8_t steady[2] = {1, h >= 2};
        for (int fl = 0; fl < 2; fl++) {
            exstp_analysis_begin_doc(a, AT(h), (exst_flavor)fl);
            doc(a, 0, h, (exst_flavor)fl, ST, 0, 4, 0, 0, 0, 1);
            doc(a, 1, h, (exst_flavor)fl, h >= 2 ? ST : RA, 0, 4, 0, 0, 0, 1);
            /* The microdesc document strips relay 2 in lane 0: not the
             * counted one of its hour, so it changes nothing. */
            const uint8_t s1[2] = {1, 0}, s2[2] = {(uint8_t)(fl == 1), 0};
            const uint8_t s3[2] = {1, 1}, none[2] = {0, 0};
            exstp_analysis_relay(a, id[1], "one", 3, true, false, s1, steady,
                                 NULL);
            exstp_analysis_relay(a, id[2], "two", 3, true, false, s2, steady,
                                 NULL);
            exstp_analysis_relay(a, id[3], "three", 5, true, h >= 2, s3,
                                 steady, NULL);
            exstp_analysis_relay(a, id[5], "five", 4, true, false, none,
                                 steady, NULL);
        }
    }
    /* Lane 0: relay 1 exit in hours 0,1,2 (before 3), stripped in each:
     * 3/3.  Relay 2: 5 hours, never stripped in the counted document:
     * 0/5.  Relay 3: hours 0,1 before its BadExit at 2: 2/2.
     * watched 3, fully_denied 2 (relays 1 and 3), share 5/10.
     * Lane 1: steady from hour 2: relay 1 hour 2 only, not stripped (s1
     * lane 1 = 0): 0/1; relay 2: 0/3; relay 3: none before hour 2: 0/0.
     * watched 2, fully_denied 0, share 0/4. */
    exst_lane_figures f;
    figures(a, 0, &f);
    assert_int_equal(f.watched, 3);
    assert_int_equal(f.fully_denied, 2);
    assert_true(f.has_watched_share && fabs(f.watched_denied_share - 0.5) <
                                           1e-12);
    figures(a, 1, &f);
    assert_int_equal(f.watched, 2);
    assert_int_equal(f.fully_denied, 0);
    assert_true(f.has_watched_share && f.watched_denied_share == 0.0);

    exstp_archive_counts k = {0};
    k.first = k.last = EXST_TIME_NONE;
    char *js = NULL;
    assert_int_equal(exstp_analysis_json(&js, a, &k, false, NULL), EXST_OK);
    json_t *o = json_loads(js, 0, NULL);
    json_t *w = json_object_get(o, "watched");
    assert_int_equal(json_array_size(w), 4); /* 1, 2, 3, 4; not 5 */
    json_t *w1 = json_array_get(w, 0), *w3 = json_array_get(w, 2);
    assert_string_equal(json_string_value(json_object_get(w1, "caught_at")),
                        "2026-01-01T03:00:00Z");
    assert_string_equal(json_string_value(json_object_get(w1, "source")),
                        "watchlist");
    assert_string_equal(json_string_value(json_object_get(w3, "source")),
                        "badexit");
    assert_string_equal(json_string_value(json_object_get(w3, "caught_at")),
                        "2026-01-01T02:00:00Z");
    assert_true(json_is_null(
        json_object_get(json_array_get(w, 3), "nickname"))); /* never seen */
    json_decref(o);
    exst_free(js);
    exstp_analysis_free(a);
}

/* Defect of 0.1: its set of staged relays hashed 8 identity bytes, so
 * identities sharing them made it quadratic.  200,000 identities equal in
 * their first 16 bytes must still spread: the longest probe sequence stays
 * short (with one unkeyed 8-byte hash it would be ~200,000). */
static void test_idmap_crafted(void **state)
{
    (void)state;
    exstp_idmap m;
    exstp_idmap_init(&m);
    uint8_t id[20];
    memset(id, 0xAB, 20);
    for (uint32_t i = 0; i < 200000; i++) {
        memcpy(id + 16, &i, 4);
        bool found = true;
        assert_true(exstp_idmap_put(&m, id, i, &found, NULL));
        assert_false(found);
    }
    assert_int_equal(m.n, 200000);
    /* Memory follows the identities held: a power of two >= 2n. */
    assert_true(m.cap >= 400000 && m.cap <= 1048576);
    size_t worst = exstp_idmap_max_probe(&m);
    print_message("longest probe: %zu slots\n", worst);
    assert_true(worst < 200);
    uint32_t v;
    uint32_t probe = 123456;
    memcpy(id + 16, &probe, 4);
    assert_true(exstp_idmap_get(&m, id, &v) && v == 123456);
    exstp_idmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_per_hour),
        cmocka_unit_test(test_lane_figures),
        cmocka_unit_test(test_nulls_and_zeros),
        cmocka_unit_test(test_gaps),
        cmocka_unit_test(test_watched),
        cmocka_unit_test(test_idmap_crafted),
    };
    return cmocka_run_group_tests_name("analysis", tests, NULL, NULL);
}
