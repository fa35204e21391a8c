/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_adoc.c - read the analysis document of a replay (SPEC 9,
 * schema_version 1) for the HTML renderer: jansson parses it, and every
 * value the page uses is checked (type, range, time format, equal series
 * lengths, ascending times, one primary lane, a watched relay's entry per
 * lane) before a byte is drawn.  An error names the JSON path of the value
 * at fault ("lanes[2].series.phase[17]: ...").  A year of twelve lanes is
 * half a million series entries, so the path is built for an entry only
 * when it is wrong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "exst_adoc_int.h"
#include "exst_int.h"

const char *const exstp_phase_names[EXSTP_N_PHASES] = {"bootstrap", "ramp",
                                                       "steady"};

const exstp_figure_def exstp_adoc_figures[EXSTP_N_FIGURES] = {
    [EXSTP_F_CONSENSUSES] = {"consensuses", EXSTP_K_COUNT,
                             "Steady consensuses"},
    [EXSTP_F_MEAN_FRACTION] = {"mean_stripped_fraction", EXSTP_K_FRACTION,
                               "Mean stripped fraction"},
    [EXSTP_F_PEAK_FRACTION] = {"peak_stripped_fraction", EXSTP_K_FRACTION,
                               "Peak stripped fraction"},
    [EXSTP_F_PEAK_AT] = {"peak_at", EXSTP_K_TIME, "Peak at (UTC)"},
    [EXSTP_F_MEAN_STRIPPED] = {"mean_stripped", EXSTP_K_REAL,
                               "Mean relays stripped"},
    [EXSTP_F_RELAYS_STAGED] = {"relays_staged", EXSTP_K_COUNT, "Relays staged"},
    [EXSTP_F_DENIED_SHARE] = {"denied_share", EXSTP_K_FRACTION,
                              "Denied share, all exits"},
    [EXSTP_F_WATCHED_DENIED_SHARE] = {"watched_denied_share", EXSTP_K_FRACTION,
                                      "Denied share, watched relays"},
    [EXSTP_F_WATCHED] = {"watched", EXSTP_K_COUNT, "Watched relays"},
    [EXSTP_F_FULLY_DENIED] = {"fully_denied", EXSTP_K_COUNT, "Fully denied"},
};

void exstp_adoc_free(exstp_adoc *d)
{
    for (size_t i = 0; d->lanes != NULL && i < d->n_lanes; i++) {
        exstp_adoc_lane *l = &d->lanes[i];
        exst_free(l->gaps);
        exst_free(l->t);
        exst_free(l->phase);
        exst_free(l->fraction);
        exst_free(l->in_staging);
        exst_free(l->stripped);
    }
    exst_free(d->lanes);
    exst_free(d->watched);
    exst_free(d->wl);
    json_decref(d->root);
    memset(d, 0, sizeof *d);
}

/* ---- JSON paths for error messages ---------------------------------- */

typedef struct jpath {
    char s[192];
    size_t len;
} jpath;

static void jp_advance(jpath *p, int n)
{
    if (n < 0)
        return;
    size_t room = sizeof p->s - p->len - 1;
    p->len += (size_t)n < room ? (size_t)n : room;
}

static size_t jp_key(jpath *p, const char *key)
{
    size_t old = p->len;
    jp_advance(p, snprintf(p->s + p->len, sizeof p->s - p->len, "%s%s",
                           p->len ? "." : "", key));
    return old;
}

static size_t jp_index(jpath *p, size_t i)
{
    size_t old = p->len;
    jp_advance(p, snprintf(p->s + p->len, sizeof p->s - p->len, "[%zu]", i));
    return old;
}

static void jp_pop(jpath *p, size_t old)
{
    p->len = old;
    p->s[old] = '\0';
}

/* A semantic error at path p: "lanes[2].series.phase[17]: message". */
static int bad(exst_error *err, const jpath *p, const char *fmt, ...)
    EXSTP_PRINTF(3, 4);

static int bad(exst_error *err, const jpath *p, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return exstp_error_simple(err, EXST_ERR_SEMANTIC, NULL, "%s: %s",
                              p->len ? p->s : "document", msg);
}

/* What was found instead, for messages: the value itself for numbers and
 * (quoted, escaped, cut at 40 bytes) strings, else the type. */
static const char *describe(char *out, size_t outsz, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "null";
    case JSON_INTEGER:
        snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
        return out;
    case JSON_REAL:
        snprintf(out, outsz, "%.10g", json_real_value(v));
        if (strpbrk(out, ".e") == NULL && strlen(out) + 3 <= outsz)
            memcpy(out + strlen(out), ".0", 3); /* 1.0 is not the count 1 */
        return out;
    case JSON_STRING: {
        char q[168];
        exstp_escape(q, sizeof q, json_string_value(v), json_string_length(v));
        snprintf(out, outsz, "\"%s\"", q);
        return out;
    }
    }
    return "an unknown value";
}

static const char *kind_name(exstp_kind k)
{
    switch (k) {
    case EXSTP_K_COUNT:
        return "a count (an integer >= 0)";
    case EXSTP_K_FRACTION:
        return "a fraction (a number from 0 to 1)";
    case EXSTP_K_REAL:
        return "a number >= 0";
    case EXSTP_K_TIME:
        return "a UTC time such as \"2026-01-01T00:00:00Z\"";
    case EXSTP_K_STRING:
        return "a string";
    case EXSTP_K_BOOL:
        return "true or false";
    case EXSTP_K_OBJECT:
        return "an object";
    case EXSTP_K_ARRAY:
        return "an array";
    }
    return "a value";
}

/* "2026-01-01T00:00:00Z" exactly: digits where digits go, and a date and
 * time that exist (the value must print back as it was written). */
static bool parse_time(int64_t *out, const char *s, size_t n)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
    if (n != 20)
        return false;
    for (size_t i = 0; i < 20; i++) {
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
            return false;
    }
#define D2(k) ((s[k] - '0') * 10 + (s[(k) + 1] - '0'))
    const int year = D2(0) * 100 + D2(2);
    const int64_t t = exstp_timegm(year, D2(5), D2(8), D2(11), D2(14), D2(17));
#undef D2
    char back[21];
    exst_time_iso(back, t);
    if (memcmp(back, s, 20) != 0)
        return false;
    *out = t;
    return true;
}

/*
 * Check v (at path p) against kind k and store it in out (typed as enum
 * kind says).  With is_null non-NULL, null is accepted: *is_null is set
 * and out left alone (times get EXST_TIME_NONE).
 */
static int read_value(void *out, bool *is_null, exstp_kind k, json_t *v,
                      const jpath *p, exst_error *err)
{
    char found[200];
    if (is_null != NULL) {
        *is_null = json_is_null(v);
        if (*is_null) {
            if (k == EXSTP_K_TIME)
                *(int64_t *)out = EXST_TIME_NONE;
            return EXST_OK;
        }
    }
    bool ok = false;
    switch (k) {
    case EXSTP_K_COUNT:
        ok = json_is_integer(v) && json_integer_value(v) >= 0;
        if (ok)
            *(int64_t *)out = (int64_t)json_integer_value(v);
        break;
    case EXSTP_K_FRACTION:
    case EXSTP_K_REAL: {
        const double x = json_is_number(v) ? json_number_value(v) : -1.0;
        ok = json_is_number(v) && x >= 0.0 && (k == EXSTP_K_REAL || x <= 1.0);
        if (ok)
            *(double *)out = x;
        break;
    }
    case EXSTP_K_TIME:
        ok = json_is_string(v) &&
             parse_time((int64_t *)out, json_string_value(v),
                        json_string_length(v));
        break;
    case EXSTP_K_STRING:
        ok = json_is_string(v);
        if (ok)
            *(const char **)out = json_string_value(v);
        break;
    case EXSTP_K_BOOL:
        ok = json_is_boolean(v);
        if (ok)
            *(bool *)out = json_is_true(v);
        break;
    case EXSTP_K_OBJECT:
    case EXSTP_K_ARRAY:
        ok = k == EXSTP_K_OBJECT ? json_is_object(v) : json_is_array(v);
        if (ok)
            *(json_t **)out = v;
        break;
    }
    if (ok)
        return EXST_OK;
    return bad(err, p, "expected %s%s, found %s", kind_name(k),
               is_null ? " or null" : "", describe(found, sizeof found, v));
}

/* Member key of obj (path p), read as read_value does; missing is an
 * error. */
static int read_field(void *out, bool *is_null, exstp_kind k, json_t *obj,
                      const char *key, jpath *p, exst_error *err)
{
    json_t *v = json_object_get(obj, key);
    const size_t old = jp_key(p, key);
    const int rc = v != NULL ? read_value(out, is_null, k, v, p, err)
                             : bad(err, p, "missing");
    jp_pop(p, old);
    return rc;
}

/* The same for a figure (counts and times in i, numbers in v). */
static int read_figure(exstp_figure *f, exstp_kind k, json_t *obj,
                       const char *key, jpath *p, exst_error *err)
{
    memset(f, 0, sizeof *f);
    void *out = (k == EXSTP_K_COUNT || k == EXSTP_K_TIME) ? (void *)&f->i
                                                          : (void *)&f->v;
    return read_field(out, &f->null, k, obj, key, p, err);
}

/* Every member of obj must be a count (archive.by_flavor, .skipped). */
static int read_counts_object(json_t **out, json_t *parent, const char *key,
                              jpath *p, exst_error *err)
{
    int rc = read_field(out, NULL, EXSTP_K_OBJECT, parent, key, p, err);
    if (rc != EXST_OK)
        return rc;
    const size_t old = jp_key(p, key);
    const char *k;
    json_t *v;
    json_object_foreach(*out, k, v)
    {
        int64_t n;
        const size_t o2 = jp_key(p, k);
        rc = read_value(&n, NULL, EXSTP_K_COUNT, v, p, err);
        jp_pop(p, o2);
        if (rc != EXST_OK)
            break;
    }
    jp_pop(p, old);
    return rc;
}

/* from <= to, both times, at path p (an object with "from" and "to"). */
static int read_from_to(int64_t *from, int64_t *to, json_t *obj, jpath *p,
                        exst_error *err)
{
    int rc = read_field(from, NULL, EXSTP_K_TIME, obj, "from", p, err);
    if (rc == EXST_OK)
        rc = read_field(to, NULL, EXSTP_K_TIME, obj, "to", p, err);
    if (rc == EXST_OK && *to < *from) {
        char a[21], b[21];
        const size_t old = jp_key(p, "to");
        rc = bad(err, p, "%s is before from (%s)", exst_time_iso(a, *to),
                 exst_time_iso(b, *from));
        jp_pop(p, old);
    }
    return rc;
}

static int nomem(exst_error *err)
{
    return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
}

/* A duration as P and W are written on the command line: "4d", "1d12h",
 * "24h" (with days false, hours are the largest unit). */
static void fmt_duration(char *out, size_t sz, int64_t s, bool days)
{
    static const struct {
        int64_t unit;
        char name;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    size_t o = 0;
    out[0] = '\0';
    if (s == 0) {
        snprintf(out, sz, "0s");
        return;
    }
    for (size_t u = days ? 0 : 1; u < sizeof units / sizeof units[0]; u++) {
        const int64_t q = s / units[u].unit;
        if (q == 0)
            continue;
        s -= q * units[u].unit;
        const int n =
            snprintf(out + o, sz - o, "%lld%c", (long long)q, units[u].name);
        if (n < 0 || (size_t)n >= sz - o)
            return;
        o += (size_t)n;
    }
}

static int read_span(exstp_phase_span *sp, json_t *spans, int ph, jpath *p,
                     exst_error *err)
{
    json_t *v = NULL;
    bool null = false;
    int rc = read_field(&v, &null, EXSTP_K_OBJECT, spans, exstp_phase_names[ph],
                        p, err);
    if (rc != EXST_OK || null)
        return rc;
    const size_t old = jp_key(p, exstp_phase_names[ph]);
    sp->present = true;
    rc = read_from_to(&sp->from, &sp->to, v, p, err);
    if (rc == EXST_OK)
        rc = read_field(&sp->consensuses, NULL, EXSTP_K_COUNT, v, "consensuses",
                        p, err);
    jp_pop(p, old);
    return rc;
}

static int read_gaps(exstp_adoc_lane *l, json_t *lobj, jpath *p, exst_error *err)
{
    json_t *arr = NULL;
    int rc = read_field(&arr, NULL, EXSTP_K_ARRAY, lobj, "gaps", p, err);
    if (rc != EXST_OK)
        return rc;
    const size_t n = json_array_size(arr);
    l->gaps = exstp_calloc(n, sizeof *l->gaps);
    if (l->gaps == NULL)
        return nomem(err);
    l->n_gaps = n;
    const size_t old = jp_key(p, "gaps");
    for (size_t i = 0; i < n && rc == EXST_OK; i++) {
        const size_t o2 = jp_index(p, i);
        exstp_adoc_gap *g = &l->gaps[i];
        json_t *obj = NULL;
        rc = read_value(&obj, NULL, EXSTP_K_OBJECT, json_array_get(arr, i), p,
                        err);
        if (rc == EXST_OK)
            rc = read_from_to(&g->from, &g->to, obj, p, err);
        if (rc == EXST_OK)
            rc = read_field(&g->missing_hours, NULL, EXSTP_K_COUNT, obj,
                            "missing_hours", p, err);
        if (rc == EXST_OK && i > 0 && g->from < l->gaps[i - 1].to) {
            char a[21], b[21];
            jp_key(p, "from");
            rc = bad(err, p, "%s is before the end of the previous gap (%s)",
                     exst_time_iso(a, g->from),
                     exst_time_iso(b, l->gaps[i - 1].to));
        }
        jp_pop(p, o2);
    }
    jp_pop(p, old);
    return rc;
}

enum { S_VALID_AFTER, S_PHASE, S_FRACTION, S_IN_STAGING, S_STRIPPED, N_SERIES };
static const char *const series_keys[N_SERIES] = {
    "valid_after", "phase", "stripped_fraction", "in_staging", "stripped"};

/* One series entry, checked; the path gets the index only on failure (a
 * year of twelve lanes is half a million entries). */
static int read_entry(exstp_adoc_lane *l, int k, json_t *v, size_t i, jpath *p,
                      exst_error *err)
{
    char found[200];
    const char *ph = NULL;
    int rc = EXST_OK;
    switch (k) {
    case S_VALID_AFTER:
        rc = read_value(&l->t[i], NULL, EXSTP_K_TIME, v, p, NULL);
        if (rc == EXST_OK && i > 0 && l->t[i] <= l->t[i - 1]) {
            char a[21], b[21];
            const size_t old = jp_index(p, i);
            rc = bad(err, p, "%s is not after the entry before it (%s)",
                     exst_time_iso(a, l->t[i]), exst_time_iso(b, l->t[i - 1]));
            jp_pop(p, old);
            return rc;
        }
        break;
    case S_PHASE:
        rc = read_value(&ph, NULL, EXSTP_K_STRING, v, p, NULL);
        if (rc == EXST_OK) {
            int m = 0;
            while (m < EXSTP_N_PHASES && strcmp(ph, exstp_phase_names[m]) != 0)
                m++;
            if (m == EXSTP_N_PHASES) {
                const size_t old = jp_index(p, i);
                rc = bad(err, p,
                         "expected \"bootstrap\", \"ramp\" or \"steady\", "
                         "found %s",
                         describe(found, sizeof found, v));
                jp_pop(p, old);
                return rc;
            }
            l->phase[i] = (unsigned char)m;
        }
        break;
    case S_FRACTION:
        rc = read_value(&l->fraction[i], NULL, EXSTP_K_FRACTION, v, p, NULL);
        break;
    case S_IN_STAGING:
        rc = read_value(&l->in_staging[i], NULL, EXSTP_K_COUNT, v, p, NULL);
        break;
    default:
        rc = read_value(&l->stripped[i], NULL, EXSTP_K_COUNT, v, p, NULL);
        break;
    }
    if (rc != EXST_OK) {
        /* Again, with the index in the path and the error filled. */
        static const exstp_kind kinds[N_SERIES] = {
            EXSTP_K_TIME, EXSTP_K_STRING, EXSTP_K_FRACTION, EXSTP_K_COUNT,
            EXSTP_K_COUNT};
        union {
            int64_t i;
            double v;
            const char *s;
        } scratch;
        const size_t old = jp_index(p, i);
        rc = read_value(&scratch, NULL, kinds[k], v, p, err);
        jp_pop(p, old);
    }
    return rc;
}

static int read_series(exstp_adoc_lane *l, json_t *lobj, jpath *p, exst_error *err)
{
    json_t *s = NULL, *arr[N_SERIES] = {NULL};
    int rc = read_field(&s, NULL, EXSTP_K_OBJECT, lobj, "series", p, err);
    if (rc != EXST_OK)
        return rc;
    const size_t old = jp_key(p, "series");
    for (int k = 0; k < N_SERIES && rc == EXST_OK; k++)
        rc =
            read_field(&arr[k], NULL, EXSTP_K_ARRAY, s, series_keys[k], p, err);
    const size_t n = rc == EXST_OK ? json_array_size(arr[0]) : 0;
    for (int k = 1; k < N_SERIES && rc == EXST_OK; k++) {
        if (json_array_size(arr[k]) != n) {
            const size_t o2 = jp_key(p, series_keys[k]);
            rc = bad(err, p,
                     "expected %zu entries, as valid_after has, "
                     "found %zu",
                     n, json_array_size(arr[k]));
            jp_pop(p, o2);
        }
    }
    if (rc == EXST_OK) {
        l->t = exstp_calloc(n, sizeof *l->t);
        l->phase = exstp_calloc(n, sizeof *l->phase);
        l->fraction = exstp_calloc(n, sizeof *l->fraction);
        l->in_staging = exstp_calloc(n, sizeof *l->in_staging);
        l->stripped = exstp_calloc(n, sizeof *l->stripped);
        if (l->t == NULL || l->phase == NULL || l->fraction == NULL ||
            l->in_staging == NULL || l->stripped == NULL)
            rc = nomem(err);
        else
            l->n = n;
    }
    for (int k = 0; k < N_SERIES && rc == EXST_OK; k++) {
        const size_t o2 = jp_key(p, series_keys[k]);
        for (size_t i = 0; i < n && rc == EXST_OK; i++)
            rc = read_entry(l, k, json_array_get(arr[k], i), i, p, err);
        jp_pop(p, o2);
    }
    jp_pop(p, old);
    return rc;
}

static int read_lane(exstp_adoc_lane *l, json_t *lobj, jpath *p, exst_error *err)
{
    json_t *spans = NULL;
    int rc = read_field(&l->period, NULL, EXSTP_K_COUNT, lobj,
                        "staging_period_s", p, err);
    if (rc == EXST_OK)
        rc = read_field(&l->reset, NULL, EXSTP_K_COUNT, lobj, "reset_after_s",
                        p, err);
    if (rc == EXST_OK)
        rc = read_field(&l->primary, NULL, EXSTP_K_BOOL, lobj, "primary", p,
                        err);
    if (rc == EXST_OK)
        rc = read_field(&spans, NULL, EXSTP_K_OBJECT, lobj, "spans", p, err);
    if (rc == EXST_OK) {
        const size_t old = jp_key(p, "spans");
        for (int ph = 0; ph < EXSTP_N_PHASES && rc == EXST_OK; ph++)
            rc = read_span(&l->spans[ph], spans, ph, p, err);
        jp_pop(p, old);
    }
    if (rc == EXST_OK)
        rc = read_gaps(l, lobj, p, err);
    for (int f = 0; f < EXSTP_N_FIGURES && rc == EXST_OK; f++)
        rc = read_figure(&l->fig[f], exstp_adoc_figures[f].kind, lobj,
                         exstp_adoc_figures[f].key, p, err);
    if (rc == EXST_OK)
        rc = read_series(l, lobj, p, err);
    if (rc == EXST_OK) {
        char pp[32], ww[32];
        fmt_duration(pp, sizeof pp, l->period, true);
        fmt_duration(ww, sizeof ww, l->reset, false);
        snprintf(l->label, sizeof l->label, "P=%s W=%s", pp, ww);
    }
    return rc;
}

static bool is_fingerprint(const char *s)
{
    size_t i = 0;
    for (; s[i] != '\0'; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return i == 40;
}

static int read_watched_relay(exstp_adoc *d, size_t i, json_t *obj,
                              jpath *p, exst_error *err)
{
    exstp_watched *w = &d->watched[i];
    char found[200];
    json_t *lanes = NULL;
    bool null = false;
    int rc = read_field(&w->fingerprint, NULL, EXSTP_K_STRING, obj,
                        "fingerprint", p, err);
    if (rc == EXST_OK && !is_fingerprint(w->fingerprint)) {
        const size_t old = jp_key(p, "fingerprint");
        rc = bad(
            err, p, "expected 40 uppercase hexadecimal digits, found %s",
            describe(found, sizeof found, json_object_get(obj, "fingerprint")));
        jp_pop(p, old);
    }
    if (rc == EXST_OK)
        rc = read_field(&w->nickname, &null, EXSTP_K_STRING, obj, "nickname", p,
                        err);
    if (rc == EXST_OK && null)
        w->nickname = NULL;
    if (rc == EXST_OK)
        rc = read_field(&w->caught_at, &null, EXSTP_K_TIME, obj, "caught_at", p,
                        err);
    if (rc == EXST_OK)
        rc =
            read_field(&w->source, NULL, EXSTP_K_STRING, obj, "source", p, err);
    if (rc == EXST_OK && strcmp(w->source, "watchlist") != 0 &&
        strcmp(w->source, "badexit") != 0) {
        const size_t old = jp_key(p, "source");
        rc = bad(err, p, "expected \"watchlist\" or \"badexit\", found %s",
                 describe(found, sizeof found, json_object_get(obj, "source")));
        jp_pop(p, old);
    }
    if (rc == EXST_OK)
        rc = read_field(&lanes, NULL, EXSTP_K_ARRAY, obj, "lanes", p, err);
    if (rc != EXST_OK)
        return rc;
    const size_t old = jp_key(p, "lanes");
    if (json_array_size(lanes) != d->n_lanes)
        rc = bad(err, p, "expected one entry per lane (%zu), found %zu",
                 d->n_lanes, json_array_size(lanes));
    w->exits = d->wl + 2 * i * d->n_lanes;
    w->denied = w->exits + d->n_lanes;
    for (size_t j = 0; j < d->n_lanes && rc == EXST_OK; j++) {
        json_t *wl = NULL;
        const size_t o2 = jp_index(p, j);
        rc = read_value(&wl, NULL, EXSTP_K_OBJECT, json_array_get(lanes, j), p,
                        err);
        if (rc == EXST_OK)
            rc = read_field(&w->exits[j], NULL, EXSTP_K_COUNT, wl,
                            "exit_consensuses", p, err);
        if (rc == EXST_OK)
            rc = read_field(&w->denied[j], NULL, EXSTP_K_COUNT, wl, "denied", p,
                            err);
        if (rc == EXST_OK && w->denied[j] > w->exits[j]) {
            jp_key(p, "denied");
            rc = bad(err, p, "%lld is more than exit_consensuses (%lld)",
                     (long long)w->denied[j], (long long)w->exits[j]);
        }
        jp_pop(p, o2);
    }
    jp_pop(p, old);
    return rc;
}

static int read_watched(exstp_adoc *d, jpath *p, exst_error *err)
{
    json_t *arr = json_object_get(d->root, "watched");
    if (arr == NULL || json_is_null(arr))
        return EXST_OK;
    int rc = read_field(&arr, NULL, EXSTP_K_ARRAY, d->root, "watched", p, err);
    if (rc != EXST_OK)
        return rc;
    const size_t n = json_array_size(arr);
    if (d->n_lanes > SIZE_MAX / 2 / (n ? n : 1))
        return nomem(err);
    d->watched = exstp_calloc(n, sizeof *d->watched);
    d->wl = exstp_calloc(2 * n * d->n_lanes, sizeof *d->wl);
    if (d->watched == NULL || d->wl == NULL)
        return nomem(err);
    d->n_watched = n;
    const size_t old = jp_key(p, "watched");
    for (size_t i = 0; i < n && rc == EXST_OK; i++) {
        json_t *obj = NULL;
        const size_t o2 = jp_index(p, i);
        rc = read_value(&obj, NULL, EXSTP_K_OBJECT, json_array_get(arr, i), p,
                        err);
        if (rc == EXST_OK)
            rc = read_watched_relay(d, i, obj, p, err);
        jp_pop(p, o2);
    }
    jp_pop(p, old);
    return rc;
}

static int read_lanes(exstp_adoc *d, jpath *p, exst_error *err)
{
    json_t *arr = NULL;
    int rc = read_field(&arr, NULL, EXSTP_K_ARRAY, d->root, "lanes", p, err);
    if (rc != EXST_OK)
        return rc;
    const size_t n = json_array_size(arr);
    const size_t old = jp_key(p, "lanes");
    if (n == 0) {
        rc = bad(err, p, "expected at least one lane, found none");
        jp_pop(p, old);
        return rc;
    }
    d->lanes = exstp_calloc(n, sizeof *d->lanes);
    if (d->lanes == NULL) {
        jp_pop(p, old);
        return nomem(err);
    }
    d->n_lanes = n;
    size_t primaries = 0;
    for (size_t i = 0; i < n && rc == EXST_OK; i++) {
        json_t *obj = NULL;
        const size_t o2 = jp_index(p, i);
        rc = read_value(&obj, NULL, EXSTP_K_OBJECT, json_array_get(arr, i), p,
                        err);
        if (rc == EXST_OK)
            rc = read_lane(&d->lanes[i], obj, p, err);
        if (rc == EXST_OK && d->lanes[i].primary && primaries++ > 0) {
            jp_key(p, "primary");
            rc = bad(err, p, "a second primary lane (lanes[%zu] is primary)",
                     d->primary);
        }
        if (rc == EXST_OK && d->lanes[i].primary)
            d->primary = i;
        jp_pop(p, o2);
    }
    if (rc == EXST_OK && primaries == 0)
        rc = bad(err, p, "no lane has \"primary\": true");
    jp_pop(p, old);
    return rc;
}

/* The document's objects other than lanes and watched, and their plain
 * members (policy.max_strip_fraction, a figure, and the archive's objects
 * of counts are read after these). */
enum { S_TOOL, S_POLICY, S_ARCHIVE };
static const char *const sections[] = {"tool", "policy", "archive"};

static const struct {
    size_t section;
    const char *key;
    exstp_kind kind;
    bool nullable;
    size_t offset;
} doc_fields[] = {
    {S_TOOL, "name", EXSTP_K_STRING, false,
     offsetof(exstp_adoc, tool_name)},
    {S_TOOL, "version", EXSTP_K_STRING, false,
     offsetof(exstp_adoc, tool_version)},
    {S_POLICY, "clock", EXSTP_K_STRING, false, offsetof(exstp_adoc, clock)},
    {S_POLICY, "enforce", EXSTP_K_STRING, false,
     offsetof(exstp_adoc, enforce)},
    {S_POLICY, "bootstrap", EXSTP_K_STRING, false,
     offsetof(exstp_adoc, bootstrap)},
    {S_ARCHIVE, "first", EXSTP_K_TIME, true, offsetof(exstp_adoc, first)},
    {S_ARCHIVE, "last", EXSTP_K_TIME, true, offsetof(exstp_adoc, last)},
    {S_ARCHIVE, "documents", EXSTP_K_COUNT, false,
     offsetof(exstp_adoc, documents)},
    {S_ARCHIVE, "hours", EXSTP_K_COUNT, false, offsetof(exstp_adoc, hours)},
};

int exstp_adoc_read(exstp_adoc *d, const char *text, size_t len,
                        exst_error *err)
{
    json_error_t je;
    d->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (d->root == NULL) {
        if (json_error_code(&je) == json_error_out_of_memory)
            return nomem(err);
        /* jansson's column is that of the last character read (its
         * position counts the bytes read, one more), 0 at the end of an
         * empty line: column 1 there. */
        return exstp_error_set(err, EXST_ERR_SYNTAX, NULL,
                               je.line > 0 ? (unsigned long)je.line : 1,
                               je.column > 0 ? (unsigned long)je.column : 1,
                               je.position > 0 ? (size_t)je.position - 1 : 0,
                               NULL, "%s", je.text);
    }
    jpath path = {.len = 0};
    jpath *p = &path;
    char found[200];
    if (!json_is_object(d->root))
        return bad(err, p, "expected an object, found %s",
                   describe(found, sizeof found, d->root));
    int64_t version = 0;
    int rc = read_field(&version, NULL, EXSTP_K_COUNT, d->root,
                        "schema_version", p, err);
    if (rc == EXST_OK && version != 1) {
        jp_key(p, "schema_version");
        return bad(err, p,
                   "expected 1, found %lld (this version reads "
                   "schema_version 1)",
                   (long long)version);
    }
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        json_t *obj = NULL;
        if (rc == EXST_OK)
            rc = read_field(&obj, NULL, EXSTP_K_OBJECT, d->root, sections[s], p,
                            err);
        if (rc != EXST_OK)
            return rc;
        const size_t old = jp_key(p, sections[s]);
        for (size_t f = 0; f < sizeof doc_fields / sizeof doc_fields[0]; f++) {
            bool null = false;
            if (rc == EXST_OK && doc_fields[f].section == s)
                rc = read_field((char *)d + doc_fields[f].offset,
                                doc_fields[f].nullable ? &null : NULL,
                                doc_fields[f].kind, obj, doc_fields[f].key, p,
                                err);
        }
        if (rc == EXST_OK && s == S_POLICY)
            rc = read_figure(&d->max_strip, EXSTP_K_FRACTION, obj,
                             "max_strip_fraction", p, err);
        if (rc == EXST_OK && s == S_ARCHIVE && d->first != EXST_TIME_NONE &&
            d->last != EXST_TIME_NONE && d->last < d->first) {
            char a[21], b[21];
            jp_key(p, "last");
            rc = bad(err, p, "%s is before first (%s)",
                     exst_time_iso(a, d->last), exst_time_iso(b, d->first));
        }
        if (rc == EXST_OK && s == S_ARCHIVE)
            rc = read_counts_object(&d->by_flavor, obj, "by_flavor", p, err);
        if (rc == EXST_OK && s == S_ARCHIVE)
            rc = read_counts_object(&d->skipped, obj, "skipped", p, err);
        jp_pop(p, old);
    }
    if (rc == EXST_OK)
        rc = read_lanes(d, p, err);
    if (rc == EXST_OK)
        rc = read_watched(d, p, err);
    return rc;
}
