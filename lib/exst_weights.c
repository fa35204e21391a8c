/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_weights.c - the consensus "bandwidth-weights" computation.  Given
 * the bandwidth totals G, M, E, D and T that tor's directory authorities
 * tally over a consensus, it reproduces the 19 weights they publish
 * (dir-spec "Computing Bandwidth Weights", tor's dirvote.c as checked in
 * research-dirspec.md section 3), including every case in which tor
 * publishes no line at all.  It also names the weights, compares two
 * weight sets and formats the line text.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "exitstage.h"
#include "exst_weights_int.h"

/* Key names in the order tor writes them (the EXST_W_* order). */
static const char *const weight_names[EXST_W_COUNT] = {
    [EXST_W_WBD] = "Wbd", [EXST_W_WBE] = "Wbe", [EXST_W_WBG] = "Wbg",
    [EXST_W_WBM] = "Wbm", [EXST_W_WDB] = "Wdb", [EXST_W_WEB] = "Web",
    [EXST_W_WED] = "Wed", [EXST_W_WEE] = "Wee", [EXST_W_WEG] = "Weg",
    [EXST_W_WEM] = "Wem", [EXST_W_WGB] = "Wgb", [EXST_W_WGD] = "Wgd",
    [EXST_W_WGG] = "Wgg", [EXST_W_WGM] = "Wgm", [EXST_W_WMB] = "Wmb",
    [EXST_W_WMD] = "Wmd", [EXST_W_WME] = "Wme", [EXST_W_WMG] = "Wmg",
    [EXST_W_WMM] = "Wmm",
};

/* The default weight scale when the params line has no bwweightscale. */
#define DEFAULT_SCALE INT64_C(10000)

/* Tolerance of tor's self-check (its "margin" argument, always 10). */
#define CHECK_MARGIN INT64_C(10)

const char *exst_weight_name(int i)
{
    if (i < 0 || i >= EXST_W_COUNT) {
        return NULL;
    }
    return weight_names[i];
}

/*
 * Arithmetic.  Tor computes everything in int64_t with C's truncating
 * division.  For every input a real consensus can produce (totals of a
 * few 10^9 kB/s, scale 10000) no intermediate comes near 2^63, and the
 * plain operators give the same numbers.  Totals and scales read from a
 * hostile document can be far larger, where signed overflow would be
 * undefined behaviour in our code; these helpers wrap modulo 2^64
 * instead (what tor's compiled code does on the usual platforms), so the
 * result is deterministic and sanitizer builds stay clean.
 */
static int64_t from_u64(uint64_t u)
{
    if (u <= (uint64_t)INT64_MAX) {
        return (int64_t)u;
    }
    /* u - 2^64, computed without leaving the int64_t range. */
    return -(int64_t)(UINT64_MAX - u) - 1;
}

static int64_t add(int64_t a, int64_t b)
{
    return from_u64((uint64_t)a + (uint64_t)b);
}

static int64_t sub(int64_t a, int64_t b)
{
    return from_u64((uint64_t)a - (uint64_t)b);
}

static int64_t mul(int64_t a, int64_t b)
{
    return from_u64((uint64_t)a * (uint64_t)b);
}

/* a / b truncating toward zero, as C does.  Every divisor here is a
 * positive total times 1, 2 or 3; after wrapping it can only be -1 (never
 * 0), and INT64_MIN / -1 must not trap. */
static int64_t quo(int64_t a, int64_t b)
{
    if (b == -1) {
        return from_u64((uint64_t)0 - (uint64_t)a);
    }
    if (b == 0) {
        return 0; /* unreachable, see above */
    }
    return a / b;
}

/* |a - b| <= margin, evaluated the way tor's CHECK_EQ macro does. */
static int near(int64_t a, int64_t b, int64_t margin)
{
    const int64_t d = sub(a, b);
    return d >= 0 ? d <= margin : sub(b, a) <= margin;
}

/* The seven weights the cases compute; the other twelve are copies of
 * these or the scale itself. */
typedef struct wset {
    int64_t gg, gd, mg, me, md, ee, ed;
} wset;

/* The input of one computation: totals and scale. */
typedef struct wctx {
    int64_t G, M, E, D, T, S;
} wctx;

/* Results of the check, with tor's numbering; the first failure wins. */
enum check_result {
    CHECK_OK = 0,
    CHECK_RANGE = 1,       /* a weight outside [0, S] */
    CHECK_SUM_G = 2,       /* Wmg + Wgg != S */
    CHECK_SUM_E = 3,       /* Wme + Wee != S */
    CHECK_SUM_D = 4,       /* Wed + Wmd + Wgd != S */
    CHECK_BALANCE_MID = 5, /* guard position vs. middle position */
    CHECK_BALANCE_EG = 6   /* guard position vs. exit position */
};

static int in_range(int64_t v, int64_t s)
{
    return v >= 0 && v <= s;
}

/*
 * Tor's consistency check of a candidate weight set: the three sums must
 * equal S within the margin, every weight must lie in [0, S], and the
 * bandwidth each position receives must balance within margin * T / 3.
 */
static enum check_result check(const wset *w, const wctx *c)
{
    if (!near(add(add(w->ed, w->md), w->gd), c->S, CHECK_MARGIN)) {
        return CHECK_SUM_D;
    }
    if (!near(add(w->mg, w->gg), c->S, CHECK_MARGIN)) {
        return CHECK_SUM_G;
    }
    if (!near(add(w->me, w->ee), c->S, CHECK_MARGIN)) {
        return CHECK_SUM_E;
    }
    if (!in_range(w->gg, c->S) || !in_range(w->gd, c->S) ||
        !in_range(w->mg, c->S) || !in_range(w->me, c->S) ||
        !in_range(w->md, c->S) || !in_range(w->ed, c->S) ||
        !in_range(w->ee, c->S)) {
        return CHECK_RANGE;
    }

    const int64_t tolerance = quo(mul(CHECK_MARGIN, c->T), 3);
    const int64_t guard_side = add(mul(w->gg, c->G), mul(w->gd, c->D));
    const int64_t exit_side = add(mul(w->ee, c->E), mul(w->ed, c->D));
    if (!near(guard_side, exit_side, tolerance)) {
        return CHECK_BALANCE_EG;
    }
    const int64_t middle_side =
        add(add(mul(c->M, c->S), mul(w->md, c->D)),
            add(mul(w->me, c->E), mul(w->mg, c->G)));
    if (!near(guard_side, middle_side, tolerance)) {
        return CHECK_BALANCE_MID;
    }
    return CHECK_OK;
}

/* Case 1: neither guards nor exits are scarce (both >= T/3).  The D
 * bandwidth is split evenly over the three positions. */
static int case_neither_scarce(wset *w, const wctx *c)
{
    const int64_t S = c->S;
    w->gd = quo(S, 3);
    w->ed = w->gd;
    w->md = w->gd;
    /* Wee = S(E+G+M) / 3E */
    w->ee = quo(mul(S, add(add(c->E, c->G), c->M)), mul(3, c->E));
    w->me = sub(S, w->ee);
    /* Wmg = S(2G-E-M) / 3G */
    w->mg = quo(mul(S, sub(sub(mul(2, c->G), c->E), c->M)), mul(3, c->G));
    w->gg = sub(S, w->mg);
    return check(w, c) == CHECK_OK;
}

/* Case 2: both guards and exits are scarce (both < T/3). */
static int case_both_scarce(wset *w, const wctx *c)
{
    const int64_t S = c->S;
    const int64_t rarer = c->E < c->G ? c->E : c->G;
    const int64_t commoner = c->E < c->G ? c->G : c->E;

    if (add(rarer, c->D) < commoner) {
        /* 2a: even all of D cannot lift the rarer class to the other one;
         * give D entirely to the rarer class.  Tor runs no check here. */
        w->gg = S;
        w->ee = S;
        w->mg = 0;
        w->me = 0;
        w->md = 0;
        if (c->E < c->G) {
            w->ed = S;
            w->gd = 0;
        } else {
            w->ed = 0;
            w->gd = S;
        }
        return 1;
    }

    /* 2b1: Wgg = S, Wmd = Wgd. */
    const int64_t threeD = mul(3, c->D);
    /* Wee = S(E-G+M) / E */
    w->ee = quo(mul(S, add(sub(c->E, c->G), c->M)), c->E);
    /* Wed = S(D-2E+4G-2M) / 3D */
    w->ed = quo(mul(S, sub(add(sub(c->D, mul(2, c->E)), mul(4, c->G)),
                           mul(2, c->M))),
                threeD);
    /* Wme = S(G-M) / E */
    w->me = quo(mul(S, sub(c->G, c->M)), c->E);
    w->mg = 0;
    w->gg = S;
    w->md = quo(sub(S, w->ed), 2);
    w->gd = w->md;

    enum check_result r = check(w, c);
    if (r != CHECK_OK) {
        /* 2b2: Wgg = Wee = S, recomputed from scratch (any error of 2b1,
         * the middle-balance one included, leads here). */
        w->gg = S;
        w->ee = S;
        /* Wed = S(D-2E+G+M) / 3D */
        w->ed = quo(mul(S, add(add(sub(c->D, mul(2, c->E)), c->G), c->M)),
                    threeD);
        /* Wmd = S(D-2M+G+E) / 3D */
        w->md = quo(mul(S, add(add(sub(c->D, mul(2, c->M)), c->G), c->E)),
                    threeD);
        w->me = 0;
        w->mg = 0;
        if (w->md < 0) {
            /* 2b3: too much middle bandwidth (M > T/3). */
            w->md = 0;
        }
        w->gd = sub(sub(S, w->ed), w->md);
        r = check(w, c);
    }
    /* Tor tolerates an unbalanced middle position here, nothing else. */
    return r == CHECK_OK || r == CHECK_BALANCE_MID;
}

/* Case 3: exactly one of guards and exits is scarce (< T/3). */
static int case_one_scarce(wset *w, const wctx *c)
{
    const int64_t S = c->S;
    const int64_t rarer = c->E < c->G ? c->E : c->G;

    if (mul(3, add(rarer, c->D)) < c->T) {
        /* 3a: even with all of D the scarce class stays under T/3: it
         * keeps all of its own bandwidth and all of D.  No check. */
        if (c->G < c->E) {
            /* guards scarce */
            w->gg = S;
            w->gd = S;
            w->md = 0;
            w->ed = 0;
            w->mg = 0;
            /* Wme = S(E-M) / 2E, unless exits are rarer than middles. */
            w->me = c->E < c->M
                        ? 0
                        : quo(mul(S, sub(c->E, c->M)), mul(2, c->E));
            w->ee = sub(S, w->me);
        } else {
            /* exits scarce */
            w->ee = S;
            w->ed = S;
            w->md = 0;
            w->gd = 0;
            w->me = 0;
            /* Wmg = S(G-M) / 2G, unless guards are rarer than middles. */
            w->mg = c->G < c->M
                        ? 0
                        : quo(mul(S, sub(c->G, c->M)), mul(2, c->G));
            w->gg = sub(S, w->mg);
        }
        return 1;
    }

    /* 3b: D can lift the scarce class to T/3. */
    const int64_t threeD = mul(3, c->D);
    if (c->G < c->E) {
        /* guards scarce: Wgg = S, Wmd = Wed */
        w->gg = S;
        /* Wgd = S(D-2G+E+M) / 3D */
        w->gd = quo(mul(S, add(add(sub(c->D, mul(2, c->G)), c->E), c->M)),
                    threeD);
        w->mg = 0;
        /* Wee = S(E+M) / 2E */
        w->ee = quo(mul(S, add(c->E, c->M)), mul(2, c->E));
        w->me = sub(S, w->ee);
        w->md = quo(sub(S, w->gd), 2);
        w->ed = w->md;
    } else {
        /* exits scarce: Wee = S, Wmd = Wgd */
        w->ee = S;
        /* Wed = S(D-2E+G+M) / 3D */
        w->ed = quo(mul(S, add(add(sub(c->D, mul(2, c->E)), c->G), c->M)),
                    threeD);
        w->me = 0;
        /* Wgg = S(G+M) / 2G */
        w->gg = quo(mul(S, add(c->G, c->M)), mul(2, c->G));
        w->mg = sub(S, w->gg);
        w->md = quo(sub(S, w->ed), 2);
        w->gd = w->md;
    }
    return check(w, c) == CHECK_OK;
}

/*
 * The caller tallies the totals, including their method-dependent start
 * values (G = M = E = D = 1 and T = 4 from consensus method 26 on, all 0
 * before: research-dirspec 3.1 and 3.6); nothing is added here.  The
 * case formulas have been the same for every method since 10, so method
 * changes nothing below; method 9's older variant is not implemented
 * (the project reads methods 12 and later).
 *
 * scale: the bwweightscale value.  scale <= 0 stands for "none given" and
 * means 10000, which is also what tor uses before method 31 when the
 * value is not a number >= 1.  From method 31 on tor raises an explicit
 * value below 1 to 1; a caller that sees such a value passes 1.  Values
 * above INT32_MAX cannot come from a params line (int32) and are cut to
 * INT32_MAX, keeping every weight within tor's int range.
 */
void exst_weights_from_totals(exst_weights *out, const exst_bw_totals *totals,
                              unsigned method, int64_t scale)
{
    (void)method;
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof(*out));
    if (totals == NULL) {
        return;
    }

    wctx c = {
        .G = totals->G,
        .M = totals->M,
        .E = totals->E,
        .D = totals->D,
        .T = totals->T,
        .S = scale <= 0 ? DEFAULT_SCALE : scale,
    };
    if (c.S > INT32_MAX) {
        c.S = INT32_MAX;
    }
    /* An empty class: tor emits no weights. */
    if (c.G <= 0 || c.M <= 0 || c.E <= 0 || c.D <= 0) {
        return;
    }

    wset w = {0, 0, 0, 0, 0, 0, 0};
    const int exits_scarce = mul(3, c.E) < c.T;
    const int guards_scarce = mul(3, c.G) < c.T;
    int ok;
    if (!exits_scarce && !guards_scarce) {
        ok = case_neither_scarce(&w, &c);
    } else if (exits_scarce && guards_scarce) {
        ok = case_both_scarce(&w, &c);
    } else {
        ok = case_one_scarce(&w, &c);
    }
    if (!ok) {
        return;
    }

    int64_t *const v = out->w;
    v[EXST_W_WBD] = w.md;
    v[EXST_W_WBE] = w.me;
    v[EXST_W_WBG] = w.mg;
    v[EXST_W_WBM] = c.S;
    v[EXST_W_WDB] = c.S;
    v[EXST_W_WEB] = c.S;
    v[EXST_W_WED] = w.ed;
    v[EXST_W_WEE] = w.ee;
    v[EXST_W_WEG] = w.ed;
    v[EXST_W_WEM] = w.ee;
    v[EXST_W_WGB] = c.S;
    v[EXST_W_WGD] = w.gd;
    v[EXST_W_WGG] = w.gg;
    v[EXST_W_WGM] = w.gg;
    v[EXST_W_WMB] = c.S;
    v[EXST_W_WMD] = w.md;
    v[EXST_W_WME] = w.me;
    v[EXST_W_WMG] = w.mg;
    v[EXST_W_WMM] = c.S;
    out->present = 1;
}

/* NULL counts as "no weights". */
int exst_weights_equal(const exst_weights *a, const exst_weights *b)
{
    const int pa = a != NULL && a->present;
    const int pb = b != NULL && b->present;
    if (!pa || !pb) {
        return pa == pb;
    }
    for (int i = 0; i < EXST_W_COUNT; i++) {
        if (a->w[i] != b->w[i]) {
            return 0;
        }
    }
    return 1;
}

size_t exstp_weights_format(char *buf, size_t bufsz, const exst_weights *w)
{
    if (buf == NULL || bufsz == 0) {
        return 0;
    }
    buf[0] = '\0';
    if (w == NULL || !w->present) {
        return 0;
    }

    static const char keyword[] = "bandwidth-weights";
    const size_t kwlen = sizeof(keyword) - 1;
    if (kwlen >= bufsz) {
        return 0;
    }
    memcpy(buf, keyword, kwlen + 1);
    size_t len = kwlen;
    for (int i = 0; i < EXST_W_COUNT; i++) {
        const int n = snprintf(buf + len, bufsz - len, " %s=%" PRId64,
                               weight_names[i], w->w[i]);
        if (n < 0 || (size_t)n >= bufsz - len) {
            buf[0] = '\0';
            return 0;
        }
        len += (size_t)n;
    }
    return len;
}
