/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the bandwidth-weights module (lib/exst_weights.c): every
 * case of tor's algorithm (1, 2a, 2b1, 2b2, 2b3, 3a, 3b, each branch)
 * with all 19 values asserted, every way tor ends up with no weights,
 * totals tallied from real consensuses together with the line their
 * authorities published, the weight scale, exst_weights_equal and the
 * exact bytes of the formatted line.  Small vectors use T = G + M + E + D
 * as tor's own unit tests do; a few use a smaller T, which tor's
 * GuardFraction quirk can produce, to reach the checks that otherwise
 * never fail.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "exitstage.h"
#include "exst_weights_int.h"

/* One vector: totals, scale, and the expected 19 values in EXST_W_*
 * order (Wbd Wbe Wbg Wbm Wdb Web Wed Wee Weg Wem Wgb Wgd Wgg Wgm Wmb Wmd
 * Wme Wmg Wmm), or present = 0 for "no bandwidth-weights line". */
typedef struct vec {
    const char *what;
    int64_t G, M, E, D, T;
    int64_t scale;
    int present;
    int64_t w[EXST_W_COUNT];
} vec;

#define S10K 10000

/* Compute v's weights and assert the outcome and all 19 values. */
static void run_vec(const vec *v)
{
    const exst_bw_totals t = {v->G, v->M, v->E, v->D, v->T};
    exst_weights out;
    memset(&out, 0xA5, sizeof(out)); /* everything must be overwritten */
    exst_weights_from_totals(&out, &t, 35, v->scale);
    if (out.present != v->present) {
        print_error("%s: present = %d, expected %d\n", v->what, out.present,
                    v->present);
        fail();
    }
    for (int i = 0; i < EXST_W_COUNT; i++) {
        const int64_t want = v->present ? v->w[i] : 0;
        if (out.w[i] != want) {
            print_error("%s: %s = %" PRId64 ", expected %" PRId64 "\n",
                        v->what, exst_weight_name(i), out.w[i], want);
            fail();
        }
    }
}

static void run_vecs(const vec *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        run_vec(&v[i]);
    }
}

#define RUN(table) run_vecs((table), sizeof(table) / sizeof((table)[0]))

static void test_weight_names(void **state)
{
    (void)state;
    static const char *const names[EXST_W_COUNT] = {
        "Wbd", "Wbe", "Wbg", "Wbm", "Wdb", "Web", "Wed", "Wee", "Weg", "Wem",
        "Wgb", "Wgd", "Wgg", "Wgm", "Wmb", "Wmd", "Wme", "Wmg", "Wmm"};
    for (int i = 0; i < EXST_W_COUNT; i++) {
        assert_non_null(exst_weight_name(i));
        assert_string_equal(exst_weight_name(i), names[i]);
    }
    /* Strictly ascending: tor's line is sorted. */
    for (int i = 1; i < EXST_W_COUNT; i++) {
        assert_true(strcmp(exst_weight_name(i - 1), exst_weight_name(i)) < 0);
    }
    assert_null(exst_weight_name(-1));
    assert_null(exst_weight_name(EXST_W_COUNT));
}

/* Case 1: 3E >= T and 3G >= T.  tor's unit vector (10,1,10,1). */
static void test_case1_neither_scarce(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 1 tor (10,1,10,1)", 10, 1, 10, 1, 22, 0, 1,
         {3333, 3000, 3000, S10K, S10K, S10K, 3333, 7000, 3333, 7000, S10K,
          3333, 7000, 7000, S10K, 3333, 3000, 3000, S10K}},
        {"case 1 (2,1,2,1)", 2, 1, 2, 1, 6, 0, 1,
         {3333, 1667, 1666, S10K, S10K, S10K, 3333, 8333, 3333, 8333, S10K,
          3333, 8334, 8334, S10K, 3333, 1667, 1666, S10K}},
    };
    RUN(v);
}

/* Case 2a: both scarce and R + D < max(E, G): D goes to the rarer class. */
static void test_case2a_exits_rarer(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 2a E<G (20,100,5,5)", 20, 100, 5, 5, 130, 0, 1,
         {0, 0, 0, S10K, S10K, S10K, S10K, S10K, S10K, S10K, S10K, 0, S10K,
          S10K, S10K, 0, 0, 0, S10K}},
    };
    RUN(v);
}

static void test_case2a_guards_rarer(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 2a E>=G (5,100,20,5)", 5, 100, 20, 5, 130, 0, 1,
         {0, 0, 0, S10K, S10K, S10K, 0, S10K, 0, S10K, S10K, S10K, S10K, S10K,
          S10K, 0, 0, 0, S10K}},
    };
    RUN(v);
}

/* Case 2b1 passes tor's check and is published as is. */
static void test_case2b1_accepted(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 2b1 (10,10,30,100)", 10, 10, 30, 100, 150, 0, 1,
         {4000, 0, 0, S10K, S10K, S10K, 2000, S10K, 2000, S10K, S10K, 4000,
          S10K, S10K, S10K, 4000, 0, 0, S10K}},
        {"case 2b1 (1,1,1,1)", 1, 1, 1, 1, 4, 0, 1,
         {3333, 0, 0, S10K, S10K, S10K, 3333, S10K, 3333, S10K, S10K, 3333,
          S10K, S10K, S10K, 3333, 0, 0, S10K}},
    };
    RUN(v);
}

/* 2b1 fails its check (range), 2b2 passes. */
static void test_case2b2_accepted(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 2b2 (10,60,30,100)", 10, 60, 30, 100, 200, 0, 1,
         {666, 0, 0, S10K, S10K, S10K, 3666, S10K, 3666, S10K, S10K, 5668,
          S10K, S10K, S10K, 666, 0, 0, S10K}},
        {"case 2b2 (1,2,1,2)", 1, 2, 1, 2, 6, 0, 1,
         {0, 0, 0, S10K, S10K, S10K, 5000, S10K, 5000, S10K, S10K, 5000, S10K,
          S10K, S10K, 0, 0, 0, S10K}},
    };
    RUN(v);
}

/* 2b2 (or 2b3) leaves only the middle-balance error: tor accepts it. */
static void test_case2b_middle_imbalance_accepted(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 2b2 mid error (1,2,1,7 T=5)", 1, 2, 1, 7, 5, 0, 1,
         {2380, 0, 0, S10K, S10K, S10K, 3809, S10K, 3809, S10K, S10K, 3811,
          S10K, S10K, S10K, 2380, 0, 0, S10K}},
        {"case 2b3 mid error (92,301,28,481)", 92, 301, 28, 481, 902, 0, 1,
         {0, 0, 0, S10K, S10K, S10K, 5668, S10K, 5668, S10K, S10K, 4332, S10K,
          S10K, S10K, 0, 0, 0, S10K}},
    };
    RUN(v);
}

/* 2b3: Wmd came out negative and is raised to 0; the check passes. */
static void test_case2b3_accepted(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 2b3 (145,624,484,618)", 145, 624, 484, 618, 1871, 0, 1,
         {0, 0, 0, S10K, S10K, S10K, 2259, S10K, 2259, S10K, S10K, 7741, S10K,
          S10K, S10K, 0, 0, 0, S10K}},
    };
    RUN(v);
}

/* Case 2b ending in an error other than the middle balance: no line. */
static void test_case2b_failed_check(void **state)
{
    (void)state;
    static const vec v[] = {
        /* tor's unit vector: 2b3, then the exit/guard balance fails. */
        {"case 2b3 fails tor (30,80,30,30)", 30, 80, 30, 30, 170, 0, 0, {0}},
        {"case 2b3 fails range (2,3,1,1)", 2, 3, 1, 1, 7, 0, 0, {0}},
        {"case 2b2 fails balance (1,2,2,9 T=7)", 1, 2, 2, 9, 7, 0, 0, {0}},
    };
    RUN(v);
}

/* Case 3a, guards scarce: Wme = S(E-M)/2E, or 0 when E < M. */
static void test_case3a_guards_scarce(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 3a G, E>=M (5,10,30,5)", 5, 10, 30, 5, 50, 0, 1,
         {0, 3333, 0, S10K, S10K, S10K, 0, 6667, 0, 6667, S10K, S10K, S10K,
          S10K, S10K, 0, 3333, 0, S10K}},
        {"case 3a G, E<M (5,40,30,5)", 5, 40, 30, 5, 80, 0, 1,
         {0, 0, 0, S10K, S10K, S10K, 0, S10K, 0, S10K, S10K, S10K, S10K, S10K,
          S10K, 0, 0, 0, S10K}},
    };
    RUN(v);
}

/* Case 3a, exits scarce: Wmg = S(G-M)/2G, or 0 when G < M. */
static void test_case3a_exits_scarce(void **state)
{
    (void)state;
    static const vec v[] = {
        /* tor's unit vector from a 2016 consensus. */
        {"case 3a E tor (29322240,4721546,1522058,9273571)", 29322240,
         4721546, 1522058, 9273571, 44839415, 0, 1,
         {0, 0, 4194, S10K, S10K, S10K, S10K, S10K, S10K, S10K, S10K, 0, 5806,
          5806, S10K, 0, 0, 4194, S10K}},
        {"case 3a E, G>=M (30,5,5,5)", 30, 5, 5, 5, 45, 0, 1,
         {0, 0, 4166, S10K, S10K, S10K, S10K, S10K, S10K, S10K, S10K, 0, 5834,
          5834, S10K, 0, 0, 4166, S10K}},
        {"case 3a E, G<M (30,50,5,5)", 30, 50, 5, 5, 90, 0, 1,
         {0, 0, 0, S10K, S10K, S10K, S10K, S10K, S10K, S10K, S10K, 0, S10K,
          S10K, S10K, 0, 0, 0, S10K}},
    };
    RUN(v);
}

static void test_case3b_guards_scarce(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 3b G (10,10,30,10)", 10, 10, 30, 10, 60, 0, 1,
         {0, 3334, 0, S10K, S10K, S10K, 0, 6666, 0, 6666, S10K, S10K, S10K,
          S10K, S10K, 0, 3334, 0, S10K}},
        {"case 3b G (1,1,2,1)", 1, 1, 2, 1, 5, 0, 1,
         {1667, 2500, 0, S10K, S10K, S10K, 1667, 7500, 1667, 7500, S10K, 6666,
          S10K, S10K, S10K, 1667, 2500, 0, S10K}},
    };
    RUN(v);
}

static void test_case3b_exits_scarce(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 3b E (30,10,10,10)", 30, 10, 10, 10, 60, 0, 1,
         {0, 0, 3334, S10K, S10K, S10K, S10K, S10K, S10K, S10K, S10K, 0, 6666,
          6666, S10K, 0, 0, 3334, S10K}},
        {"case 3b E (2,1,1,1)", 2, 1, 1, 1, 5, 0, 1,
         {1667, 0, 2500, S10K, S10K, S10K, 6666, S10K, 6666, S10K, S10K, 1667,
          7500, 7500, S10K, 1667, 0, 2500, S10K}},
    };
    RUN(v);
}

/* Cases 1 and 3b run the check too; a failure means no line.  With
 * T = G + M + E + D they always pass, so these use a smaller T. */
static void test_case1_and_3b_failed_check(void **state)
{
    (void)state;
    static const vec v[] = {
        {"case 1 fails range (1,2,1,1 T=3)", 1, 2, 1, 1, 3, 0, 0, {0}},
        {"case 3b E fails range (4,1,1,1 T=5)", 4, 1, 1, 1, 5, 0, 0, {0}},
        {"case 3b G fails range (1,1,4,1 T=6)", 1, 1, 4, 1, 6, 0, 0, {0}},
    };
    RUN(v);
}

/* The check's margin is exactly 10: the balance tolerance is 10*T/3.
 * The first vector passes only with a margin of at least 10, the second
 * fails unless the margin is at least 11. */
static void test_check_margin_boundary(void **state)
{
    (void)state;
    static const vec v[] = {
        {"2b2 passes at margin 10 (1,2,2,9 T=8)", 1, 2, 2, 9, 8, 0, 1,
         {2962, 0, 0, S10K, S10K, S10K, 2962, S10K, 2962, S10K, S10K, 4076,
          S10K, S10K, S10K, 2962, 0, 0, S10K}},
        {"2b2 fails at margin 10 (2,3,3,19 T=15)", 2, 3, 3, 19, 15, 0, 0,
         {0}},
    };
    RUN(v);
}

/* Any of G, M, E, D <= 0: tor emits no weights (an empty class). */
static void test_empty_class_no_weights(void **state)
{
    (void)state;
    static const vec v[] = {
        {"all zero (tor)", 0, 0, 0, 0, 0, 0, 0, {0}},
        {"G zero", 0, 10, 10, 10, 30, 0, 0, {0}},
        {"M zero", 10, 0, 10, 10, 30, 0, 0, {0}},
        {"E zero", 10, 10, 0, 10, 30, 0, 0, {0}},
        {"D zero", 10, 10, 10, 0, 30, 0, 0, {0}},
        {"E negative", 10, 10, -1, 10, 29, 0, 0, {0}},
        /* Every exit stripped in a method < 26 document (all totals start
         * at 0 there): E = D = 0. */
        {"no exits, old method", 5000, 7000, 0, 0, 12000, 0, 0, {0}},
    };
    RUN(v);
}

/*
 * Totals tallied from real consensuses in ../shared/testdata (research-
 * dirspec 3.1 rules, start values by method) and the bandwidth-weights
 * line their authorities published.
 */
static void test_real_consensus_totals(void **state)
{
    (void)state;
    static const vec v[] = {
        /* live/consensus-ns-2012-10-20-16-00-00, method 14: case 2b2. */
        {"2012-10-20 ns (2b2)", 3688831, 901683, 1495650, 5385989, 11472153,
         0, 1,
         {5425, 0, 0, S10K, S10K, S10K, 4323, S10K, 4323, S10K, S10K, 252,
          S10K, S10K, S10K, 5425, 0, 0, S10K}},
        /* live/consensus-ns-2014-12-08-16-00-00-collector, method 18: 3b. */
        {"2014-12-08 ns (3b E)", 16081676, 3700591, 1119516, 9337240,
         30239023, 0, 1,
         {202, 0, 3850, S10K, S10K, S10K, 9596, S10K, 9596, S10K, S10K, 202,
          6150, 6150, S10K, 202, 0, 3850, S10K}},
        /* live/consensus-ns-2022-11-19-10-00-00, method 32: 3a. */
        {"2022-11-19 ns (3a E)", 34447991, 31761797, 7302141, 20603231,
         94115160, 0, 1,
         {0, 0, 389, S10K, S10K, S10K, S10K, S10K, S10K, S10K, S10K, 0, 9611,
          9611, S10K, 0, 0, 389, S10K}},
        /* live/consensus-microdesc-2026-06-27-04-00-00, method 35: 3b. */
        {"2026-06-27 md (3b E)", 123624511, 16594714, 41620119, 30581661,
         212421005, 0, 1,
         {228, 0, 4329, S10K, S10K, S10K, 9543, S10K, 9543, S10K, S10K, 228,
          5671, 5671, S10K, 228, 0, 4329, S10K}},
    };
    RUN(v);
}

static void test_scale(void **state)
{
    (void)state;
    static const vec v[] = {
        {"scale 0 = 10000", 10, 1, 10, 1, 22, 0, 1,
         {3333, 3000, 3000, S10K, S10K, S10K, 3333, 7000, 3333, 7000, S10K,
          3333, 7000, 7000, S10K, 3333, 3000, 3000, S10K}},
        {"scale -5 = 10000", 10, 1, 10, 1, 22, -5, 1,
         {3333, 3000, 3000, S10K, S10K, S10K, 3333, 7000, 3333, 7000, S10K,
          3333, 7000, 7000, S10K, 3333, 3000, 3000, S10K}},
        {"scale 10000", 10, 1, 10, 1, 22, 10000, 1,
         {3333, 3000, 3000, S10K, S10K, S10K, 3333, 7000, 3333, 7000, S10K,
          3333, 7000, 7000, S10K, 3333, 3000, 3000, S10K}},
        {"scale 1", 10, 1, 10, 1, 22, 1, 1,
         {0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1}},
        {"scale 20000", 10, 1, 10, 1, 22, 20000, 1,
         {6666, 6000, 6000, 20000, 20000, 20000, 6666, 14000, 6666, 14000,
          20000, 6666, 14000, 14000, 20000, 6666, 6000, 6000, 20000}},
        {"scale INT32_MAX", 10, 1, 10, 1, 22, INT32_MAX, 1,
         {715827882, 644245095, 644245094, INT32_MAX, INT32_MAX, INT32_MAX,
          715827882, 1503238552, 715827882, 1503238552, INT32_MAX, 715827882,
          1503238553, 1503238553, INT32_MAX, 715827882, 644245095, 644245094,
          INT32_MAX}},
        /* Beyond int32 (impossible in a params line): cut to INT32_MAX. */
        {"scale 2^40", 10, 1, 10, 1, 22, INT64_C(1) << 40, 1,
         {715827882, 644245095, 644245094, INT32_MAX, INT32_MAX, INT32_MAX,
          715827882, 1503238552, 715827882, 1503238552, INT32_MAX, 715827882,
          1503238553, 1503238553, INT32_MAX, 715827882, 644245095, 644245094,
          INT32_MAX}},
    };
    RUN(v);
}

/* The totals carry the method-dependent start values; the formulas are
 * the same for every method the project reads. */
static void test_method_does_not_change_formulas(void **state)
{
    (void)state;
    const exst_bw_totals t = {16081676, 3700591, 1119516, 9337240, 30239023};
    exst_weights ref;
    exst_weights_from_totals(&ref, &t, 35, 0);
    assert_int_equal(ref.present, 1);
    static const unsigned methods[] = {0, 12, 14, 18, 25, 26, 30, 31, 32, 35,
                                       99};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        exst_weights w;
        exst_weights_from_totals(&w, &t, methods[i], 0);
        assert_true(exst_weights_equal(&w, &ref));
    }
}

/* Hostile totals must not crash or trip the sanitizers (arithmetic
 * wraps); whatever comes out is internally consistent. */
static void test_extreme_totals(void **state)
{
    (void)state;
    static const exst_bw_totals t[] = {
        {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX},
        {INT64_C(6148914691236517205), 1, INT64_C(6148914691236517205), 1,
         INT64_MAX},
        {1, INT64_MAX, 1, 1, INT64_MIN},
        {INT64_MAX, 1, 3, 5, 0},
        {1, 1, 1, 1, INT64_MIN},
        {1, 1, 1, 1, -1},
    };
    static const int64_t scales[] = {0, 1, 10000, INT32_MAX, INT64_MAX};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        for (size_t j = 0; j < sizeof(scales) / sizeof(scales[0]); j++) {
            exst_weights w;
            exst_weights_from_totals(&w, &t[i], 35, scales[j]);
            assert_true(w.present == 0 || w.present == 1);
            if (w.present) {
                assert_int_equal(w.w[EXST_W_WBD], w.w[EXST_W_WMD]);
                assert_int_equal(w.w[EXST_W_WEG], w.w[EXST_W_WED]);
                assert_int_equal(w.w[EXST_W_WGM], w.w[EXST_W_WGG]);
                assert_true(w.w[EXST_W_WMM] >= 1 &&
                            w.w[EXST_W_WMM] <= INT32_MAX);
            }
        }
    }
}

static void test_null_arguments(void **state)
{
    (void)state;
    const exst_bw_totals t = {10, 1, 10, 1, 22};
    exst_weights_from_totals(NULL, &t, 35, 0); /* must not crash */
    exst_weights w;
    memset(&w, 0xA5, sizeof(w));
    exst_weights_from_totals(&w, NULL, 35, 0);
    assert_int_equal(w.present, 0);
    for (int i = 0; i < EXST_W_COUNT; i++) {
        assert_int_equal(w.w[i], 0);
    }
}

static void test_weights_equal(void **state)
{
    (void)state;
    const exst_bw_totals t = {10, 1, 10, 1, 22};
    exst_weights a, b;
    exst_weights_from_totals(&a, &t, 35, 0);
    exst_weights_from_totals(&b, &t, 35, 0);
    assert_true(exst_weights_equal(&a, &b));
    assert_true(exst_weights_equal(&a, &a));

    /* One differing value, at every position. */
    for (int i = 0; i < EXST_W_COUNT; i++) {
        exst_weights c = a;
        c.w[i] += 1;
        assert_false(exst_weights_equal(&a, &c));
        assert_false(exst_weights_equal(&c, &a));
    }

    /* Present against absent. */
    exst_weights none;
    memset(&none, 0, sizeof(none));
    assert_false(exst_weights_equal(&a, &none));
    assert_false(exst_weights_equal(&none, &a));

    /* Two absent sets are equal whatever their stale values; NULL counts
     * as absent. */
    exst_weights junk = a;
    junk.present = 0;
    assert_true(exst_weights_equal(&none, &junk));
    assert_true(exst_weights_equal(&none, NULL));
    assert_true(exst_weights_equal(NULL, &junk));
    assert_true(exst_weights_equal(NULL, NULL));
    assert_false(exst_weights_equal(&a, NULL));
    assert_false(exst_weights_equal(NULL, &a));
}

/* A full line as published (research-dirspec 3.4, a 2026 consensus). */
static const char real_line[] =
    "bandwidth-weights Wbd=817 Wbe=0 Wbg=4040 Wbm=10000 Wdb=10000 "
    "Web=10000 Wed=8366 Wee=10000 Weg=8366 Wem=10000 Wgb=10000 Wgd=817 "
    "Wgg=5960 Wgm=5960 Wmb=10000 Wmd=817 Wme=0 Wmg=4040 Wmm=10000";

static exst_weights real_weights(void)
{
    exst_weights w = {
        1,
        {817, 0, 4040, 10000, 10000, 10000, 8366, 10000, 8366, 10000, 10000,
         817, 5960, 5960, 10000, 817, 0, 4040, 10000}};
    return w;
}

static void test_format_real_line(void **state)
{
    (void)state;
    const exst_weights w = real_weights();
    char buf[EXSTP_WEIGHTS_LINE_MAX + 1];
    const size_t n = exstp_weights_format(buf, sizeof(buf), &w);
    assert_int_equal(n, strlen(real_line));
    assert_int_equal(n, strlen(buf));
    assert_memory_equal(buf, real_line, sizeof(real_line));
}

/* The computed weights of a real consensus format to its published
 * line, byte for byte. */
static void test_format_computed_line(void **state)
{
    (void)state;
    const exst_bw_totals t = {3688831, 901683, 1495650, 5385989, 11472153};
    exst_weights w;
    exst_weights_from_totals(&w, &t, 14, 0);
    char buf[EXSTP_WEIGHTS_LINE_MAX + 1];
    const size_t n = exstp_weights_format(buf, sizeof(buf), &w);
    static const char want[] =
        "bandwidth-weights Wbd=5425 Wbe=0 Wbg=0 Wbm=10000 Wdb=10000 "
        "Web=10000 Wed=4323 Wee=10000 Weg=4323 Wem=10000 Wgb=10000 Wgd=252 "
        "Wgg=10000 Wgm=10000 Wmb=10000 Wmd=5425 Wme=0 Wmg=0 Wmm=10000";
    assert_int_equal(n, sizeof(want) - 1);
    assert_string_equal(buf, want);
}

static void test_format_limits(void **state)
{
    (void)state;
    const exst_weights w = real_weights();
    const size_t len = sizeof(real_line) - 1;
    char buf[EXSTP_WEIGHTS_LINE_MAX + 8];

    /* Exactly enough room, including the NUL. */
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(exstp_weights_format(buf, len + 1, &w), len);
    assert_string_equal(buf, real_line);

    /* One byte short, and much too short: 0 and an empty string. */
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(exstp_weights_format(buf, len, &w), 0);
    assert_int_equal(buf[0], '\0');
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(exstp_weights_format(buf, 10, &w), 0);
    assert_int_equal(buf[0], '\0');
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(exstp_weights_format(buf, 1, &w), 0);
    assert_int_equal(buf[0], '\0');

    /* Nothing to write into, nothing to write. */
    assert_int_equal(exstp_weights_format(NULL, sizeof(buf), &w), 0);
    assert_int_equal(exstp_weights_format(buf, 0, &w), 0);
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(exstp_weights_format(buf, sizeof(buf), NULL), 0);
    assert_int_equal(buf[0], '\0');
    exst_weights absent = w;
    absent.present = 0;
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(exstp_weights_format(buf, sizeof(buf), &absent), 0);
    assert_int_equal(buf[0], '\0');

    /* The longest possible line fits EXSTP_WEIGHTS_LINE_MAX exactly. */
    exst_weights big;
    big.present = 1;
    for (int i = 0; i < EXST_W_COUNT; i++) {
        big.w[i] = INT64_MIN;
    }
    char bigbuf[EXSTP_WEIGHTS_LINE_MAX + 1];
    assert_int_equal(exstp_weights_format(bigbuf, sizeof(bigbuf), &big),
                     EXSTP_WEIGHTS_LINE_MAX);
    assert_memory_equal(bigbuf, "bandwidth-weights Wbd=-9223372036854775808 ",
                        43);

    /* Negative values are written with a minus sign. */
    exst_weights neg = w;
    neg.w[EXST_W_WBD] = -5;
    assert_true(exstp_weights_format(buf, sizeof(buf), &neg) > 0);
    assert_memory_equal(buf, "bandwidth-weights Wbd=-5 Wbe=0 ", 31);
}

/* bwweightscale as tor reads it, per consensus method, on the project's
 * minimal document (whose weights line was computed with scale 10000):
 * before method 31 a value that is not a number from 1 up, or that is not
 * the last params token, means 10000 (tor_parse_long with a minimum of
 * 1); from 31 on, an explicit value below 1 is raised to 1. */
static void test_scale_from_params(void **state)
{
    (void)state;
    static const struct {
        const char *method;
        const char *params;
        int match; /* recomputed weights equal the 10000-scale line */
    } cases[] = {
        {"30", "CircuitPriorityHalflifeMsec=30000 bwweightscale=0", 1},
        {"30", "CircuitPriorityHalflifeMsec=30000 bwweightscale=-7", 1},
        {"30", "bwweightscale=0 cbttestfreq=10", 1},
        {"30", "bwweightscale=20000 cbttestfreq=10", 1},
        {"30", "CircuitPriorityHalflifeMsec=30000 bwweightscale=20000", 0},
        {"30", "CircuitPriorityHalflifeMsec=30000 bwweightscale=10000", 1},
        {"33", "CircuitPriorityHalflifeMsec=30000 bwweightscale=0", 0},
        {"33", "bwweightscale=20000 cbttestfreq=10", 0},
        {"33", "bwweightscale=10000 cbttestfreq=10", 1},
    };
    char *path = tu_path(tu_project_dir(), "consensus/valid/minimal-ns");
    char *base;
    size_t blen;
    assert_int_equal(tu_read_file(path, &base, &blen), 0);
    free(path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Swap in the method and the params line. */
        const char *m = strstr(base, "consensus-method 33\n");
        const char *pl = strstr(base, "params ");
        const char *pe = strchr(pl, '\n');
        assert_non_null(m);
        char *doc = NULL;
        size_t dlen = 0;
        FILE *f = open_memstream(&doc, &dlen);
        assert_non_null(f);
        fwrite(base, 1, (size_t)(m - base), f);
        fprintf(f, "consensus-method %s\n", cases[i].method);
        const char *after_m = m + strlen("consensus-method 33\n");
        fwrite(after_m, 1, (size_t)(pl - after_m), f);
        fprintf(f, "params %s", cases[i].params);
        fwrite(pe, 1, blen - (size_t)(pe - base), f);
        assert_int_equal(fclose(f), 0);
        exst_consensus *c = NULL;
        exst_error err;
        exst_error_clear(&err);
        int rc = exst_consensus_parse(&c, doc, dlen, "scale", NULL, &err);
        if (rc != EXST_OK)
            print_error("%s:%lu:%lu: %s\n", err.source, err.line, err.column,
                        err.message);
        assert_int_equal(rc, EXST_OK);
        print_message("method %s, params '%s': match %d\n", cases[i].method,
                      cases[i].params, exst_consensus_weights_match(c));
        assert_int_equal(exst_consensus_weights_match(c), cases[i].match);
        exst_consensus_free(c);
        free(doc);
    }
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weight_names),
        cmocka_unit_test(test_case1_neither_scarce),
        cmocka_unit_test(test_case2a_exits_rarer),
        cmocka_unit_test(test_case2a_guards_rarer),
        cmocka_unit_test(test_case2b1_accepted),
        cmocka_unit_test(test_case2b2_accepted),
        cmocka_unit_test(test_case2b_middle_imbalance_accepted),
        cmocka_unit_test(test_case2b3_accepted),
        cmocka_unit_test(test_case2b_failed_check),
        cmocka_unit_test(test_case3a_guards_scarce),
        cmocka_unit_test(test_case3a_exits_scarce),
        cmocka_unit_test(test_case3b_guards_scarce),
        cmocka_unit_test(test_case3b_exits_scarce),
        cmocka_unit_test(test_case1_and_3b_failed_check),
        cmocka_unit_test(test_check_margin_boundary),
        cmocka_unit_test(test_empty_class_no_weights),
        cmocka_unit_test(test_real_consensus_totals),
        cmocka_unit_test(test_scale),
        cmocka_unit_test(test_scale_from_params),
        cmocka_unit_test(test_method_does_not_change_formulas),
        cmocka_unit_test(test_extreme_totals),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_weights_equal),
        cmocka_unit_test(test_format_real_line),
        cmocka_unit_test(test_format_computed_line),
        cmocka_unit_test(test_format_limits),
    };
    return cmocka_run_group_tests_name("weights", tests, NULL, NULL);
}
