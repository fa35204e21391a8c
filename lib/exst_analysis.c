/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_analysis.c - the evidence for choosing a staging length (SPEC 9),
 * accumulated one document at a time.  The definitions are normative and
 * restated where they are computed:
 *
 *  - one document per hour: the first document of a valid-after counts
 *    (ns comes first within an hour); the others only feed timelines;
 *  - per lane, over the steady consensuses (SPEC 3.7): the mean and the
 *    peak (earliest on ties) of the stripped fraction of exit bandwidth,
 *    the mean number of relays stripped, the distinct relays stripped, and
 *    denied_share = sum of stripped relays without BadExit / sum of exit
 *    candidates without BadExit;
 *  - watched relays: per lane, the steady counted consensuses before the
 *    relay was caught (strictly) in which it is an exit candidate without
 *    BadExit, and how many of those stripped it;
 *  - spans of each phase and gaps of W or more in the archive.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exst_analysis_int.h"
#include "exst_idmap_int.h"
#include "exst_int.h"
#include "exst_json_int.h"

#define HOUR 3600

typedef struct gap {
    int64_t from, to;
    uint64_t hours;
} gap;

typedef struct lane {
    int64_t P, W;           /* configured; EXST_TIME_NONE: from the doc */
    int64_t P_seen, W_seen; /* last in effect */
    uint64_t consensuses;
    double sum_frac, peak;
    int64_t peak_at;
    uint64_t sum_stripped;
    exstp_idmap staged;
    uint64_t denied, exit_good;
    uint64_t span_n[3];
    int64_t span_from[3], span_to[3];
    gap *gaps;
    size_t n_gaps, cap_gaps;
    int64_t last_t;
    /* series, one entry per counted document */
    int64_t *s_t;
    float *s_frac;
    uint32_t *s_staging, *s_stripped;
    uint8_t *s_phase;
    size_t s_n, s_cap;
} lane;

typedef struct wrelay {
    uint8_t id[20];
    int64_t caught;
    unsigned sources;  /* 1 watchlist, 2 badexit */
    unsigned caught_by; /* which source gave the caught time */
    char nick[20];
    uint32_t *exit_cons; /* per lane */
    uint32_t *denied;
} wrelay;

#define SRC_LIST 1u
#define SRC_BADEXIT 2u

struct exstp_analysis {
    exstp_analysis_info info;
    lane *lanes;
    size_t n_lanes, cap_lanes;
    int64_t last_counted;
    int64_t cur_t;
    bool cur_counted;
    /* watched relays */
    bool badexit_watch;
    exstp_idmap wmap; /* id -> index into w */
    wrelay *w;
    size_t n_w, cap_w;
    json_t *watched_json; /* report --summary: taken as it is */
};

static int nomem(exst_error *err)
{
    return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
}

int exstp_analysis_new(exstp_analysis **out, const exstp_analysis_info *info,
                       exst_error *err)
{
    exstp_analysis *a = exstp_calloc(1, sizeof *a);
    *out = NULL;
    if (a == NULL)
        return nomem(err);
    a->info = *info;
    a->last_counted = EXST_TIME_NONE;
    a->cur_t = EXST_TIME_NONE;
    exstp_idmap_init(&a->wmap);
    *out = a;
    return EXST_OK;
}

void exstp_analysis_free(exstp_analysis *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_lanes; i++) {
        lane *l = &a->lanes[i];
        exstp_idmap_free(&l->staged);
        exstp_free(l->gaps);
        exstp_free(l->s_t);
        exstp_free(l->s_frac);
        exstp_free(l->s_staging);
        exstp_free(l->s_stripped);
        exstp_free(l->s_phase);
    }
    for (size_t i = 0; i < a->n_w; i++) {
        exstp_free(a->w[i].exit_cons);
        exstp_free(a->w[i].denied);
    }
    exstp_free(a->w);
    exstp_idmap_free(&a->wmap);
    json_decref(a->watched_json);
    exstp_free(a->lanes);
    exstp_free(a);
}

int exstp_analysis_add_lane(exstp_analysis *a, int64_t P, int64_t W,
                            exst_error *err)
{
    if (a->n_w > 0)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "analysis: lanes come before relays");
    if (a->n_lanes == a->cap_lanes) {
        size_t cap = a->cap_lanes ? a->cap_lanes * 2 : 4;
        lane *p = exstp_realloc(a->lanes, cap * sizeof *p);
        if (p == NULL)
            return nomem(err);
        a->lanes = p;
        a->cap_lanes = cap;
    }
    lane *l = &a->lanes[a->n_lanes++];
    memset(l, 0, sizeof *l);
    l->P = l->P_seen = P;
    l->W = l->W_seen = W;
    l->peak_at = EXST_TIME_NONE;
    l->last_t = EXST_TIME_NONE;
    for (int k = 0; k < 3; k++)
        l->span_from[k] = l->span_to[k] = EXST_TIME_NONE;
    exstp_idmap_init(&l->staged);
    return EXST_OK;
}

size_t exstp_analysis_lanes(const exstp_analysis *a)
{
    return a->n_lanes;
}

bool exstp_analysis_begin_doc(exstp_analysis *a, int64_t t,
                              exst_flavor flavor)
{
    (void)flavor; /* ns comes first within an hour, so first is counted */
    a->cur_t = t;
    a->cur_counted = a->last_counted == EXST_TIME_NONE || t > a->last_counted;
    if (a->cur_counted)
        a->last_counted = t;
    return a->cur_counted;
}

static bool series_push(lane *l, const exstp_lane_doc *d)
{
    if (l->s_n == l->s_cap) {
        size_t cap = l->s_cap ? l->s_cap * 2 : 256;
        int64_t *t = exstp_realloc(l->s_t, cap * sizeof *t);
        if (t == NULL)
            return false;
        l->s_t = t;
        float *f = exstp_realloc(l->s_frac, cap * sizeof *f);
        if (f == NULL)
            return false;
        l->s_frac = f;
        uint32_t *g = exstp_realloc(l->s_staging, cap * sizeof *g);
        if (g == NULL)
            return false;
        l->s_staging = g;
        uint32_t *st = exstp_realloc(l->s_stripped, cap * sizeof *st);
        if (st == NULL)
            return false;
        l->s_stripped = st;
        uint8_t *ph = exstp_realloc(l->s_phase, cap);
        if (ph == NULL)
            return false;
        l->s_phase = ph;
        l->s_cap = cap;
    }
    l->s_t[l->s_n] = d->t;
    l->s_frac[l->s_n] = (float)d->stripped_fraction;
    l->s_staging[l->s_n] = (uint32_t)d->in_staging;
    l->s_stripped[l->s_n] = (uint32_t)d->stripped;
    l->s_phase[l->s_n] = (uint8_t)d->phase;
    l->s_n++;
    return true;
}

int exstp_analysis_lane_doc(exstp_analysis *a, size_t i, int64_t P,
                            int64_t W, const exstp_lane_doc *d,
                            exst_error *err)
{
    if (!a->cur_counted || i >= a->n_lanes)
        return EXST_OK;
    lane *l = &a->lanes[i];
    l->P_seen = P;
    l->W_seen = W;
    /* A gap of W or more: the missing span between two counted hours. */
    if (l->last_t != EXST_TIME_NONE && d->t - l->last_t > HOUR &&
        d->t - l->last_t - HOUR >= W) {
        if (l->n_gaps == l->cap_gaps) {
            size_t cap = l->cap_gaps ? l->cap_gaps * 2 : 8;
            gap *g = exstp_realloc(l->gaps, cap * sizeof *g);
            if (g == NULL)
                return nomem(err);
            l->gaps = g;
            l->cap_gaps = cap;
        }
        gap *g = &l->gaps[l->n_gaps++];
        g->from = l->last_t + HOUR;
        g->to = d->t - HOUR;
        g->hours = (uint64_t)((d->t - l->last_t) / HOUR - 1);
    }
    l->last_t = d->t;
    const int ph = d->phase <= EXST_PHASE_STEADY ? (int)d->phase : 2;
    if (l->span_n[ph]++ == 0)
        l->span_from[ph] = d->t;
    l->span_to[ph] = d->t;
    if (!series_push(l, d))
        return nomem(err);
    if (d->phase != EXST_PHASE_STEADY)
        return EXST_OK;
    l->consensuses++;
    l->sum_frac += d->stripped_fraction;
    /* The peak, earliest on ties; 0 at the first steady one when all
     * fractions are 0. */
    if (l->consensuses == 1 || d->stripped_fraction > l->peak) {
        l->peak = d->stripped_fraction;
        l->peak_at = d->t;
    }
    l->sum_stripped += d->stripped;
    for (size_t k = 0; k < d->stripped && d->stripped_ids != NULL; k++)
        if (!exstp_idmap_put(&l->staged, d->stripped_ids[k], 0, NULL, NULL))
            return nomem(err);
    l->denied += d->stripped - d->stripped_badexit;
    l->exit_good += d->exit_candidates - d->badexit_candidates;
    return EXST_OK;
}

/* ---- watched relays ------------------------------------------------ */

bool exstp_analysis_watching(const exstp_analysis *a)
{
    return a->badexit_watch || a->n_w > 0;
}

void exstp_analysis_watch_badexit(exstp_analysis *a, bool on)
{
    a->badexit_watch = on;
}

/* The watched record of id, created when create is set. */
static wrelay *wfind(exstp_analysis *a, const uint8_t id[20], bool create,
                     int *rc)
{
    uint32_t v;
    *rc = EXST_OK;
    if (exstp_idmap_get(&a->wmap, id, &v))
        return &a->w[v];
    if (!create)
        return NULL;
    if (a->n_w == a->cap_w) {
        size_t cap = a->cap_w ? a->cap_w * 2 : 64;
        wrelay *p = exstp_realloc(a->w, cap * sizeof *p);
        if (p == NULL) {
            *rc = EXST_ERR_NOMEM;
            return NULL;
        }
        a->w = p;
        a->cap_w = cap;
    }
    wrelay *w = &a->w[a->n_w];
    memset(w, 0, sizeof *w);
    memcpy(w->id, id, 20);
    w->caught = EXST_TIME_NONE;
    w->exit_cons = exstp_calloc(a->n_lanes + 1, sizeof *w->exit_cons);
    w->denied = exstp_calloc(a->n_lanes + 1, sizeof *w->denied);
    if (w->exit_cons == NULL || w->denied == NULL ||
        !exstp_idmap_put(&a->wmap, id, (uint32_t)a->n_w, NULL, NULL)) {
        exstp_free(w->exit_cons);
        exstp_free(w->denied);
        *rc = EXST_ERR_NOMEM;
        return NULL;
    }
    a->n_w++;
    return w;
}

static void catch_at(wrelay *w, int64_t t, unsigned source)
{
    w->sources |= source;
    if (t == EXST_TIME_NONE)
        return;
    /* "A relay listed twice, or both listed and seen with BadExit, takes
     * the earliest time." */
    if (w->caught == EXST_TIME_NONE || t < w->caught) {
        w->caught = t;
        w->caught_by = source;
    }
}

int exstp_analysis_watch(exstp_analysis *a, const uint8_t id[20],
                         int64_t caught, const char *source,
                         exst_error *err)
{
    int rc;
    wrelay *w = wfind(a, id, true, &rc);
    if (w == NULL)
        return nomem(err);
    catch_at(w, caught,
             source != NULL && strcmp(source, "badexit") == 0 ? SRC_BADEXIT
                                                               : SRC_LIST);
    return EXST_OK;
}

int exstp_analysis_relay(exstp_analysis *a, const uint8_t id[20],
                         const char *nick, size_t nick_len, bool badexit,
                         const uint8_t *strip, const uint8_t *steady,
                         exst_error *err)
{
    int rc;
    wrelay *w = wfind(a, id, a->badexit_watch, &rc);
    if (w == NULL)
        return rc == EXST_OK ? EXST_OK : nomem(err);
    if (nick_len >= sizeof w->nick)
        nick_len = sizeof w->nick - 1;
    memcpy(w->nick, nick, nick_len);
    w->nick[nick_len] = '\0';
    if (badexit && a->badexit_watch)
        catch_at(w, a->cur_t, SRC_BADEXIT); /* its first such consensus */
    /* Counted only where this document is the one counted for its hour,
     * as an exit candidate without BadExit, strictly before it was
     * caught, in a steady consensus of the lane. */
    if (!a->cur_counted || badexit ||
        (w->caught != EXST_TIME_NONE && a->cur_t >= w->caught))
        return EXST_OK;
    for (size_t i = 0; i < a->n_lanes; i++) {
        if (!steady[i])
            continue;
        w->exit_cons[i]++;
        if (strip[i])
            w->denied[i]++;
    }
    return EXST_OK;
}

/* Reported: listed, or caught by BadExit. */
static bool reported(const wrelay *w)
{
    return (w->sources & SRC_LIST) != 0 || w->caught_by == SRC_BADEXIT;
}

int exstp_analysis_set_watched_json(exstp_analysis *a, json_t *watched,
                                    exst_error *err)
{
    (void)err;
    json_decref(a->watched_json);
    a->watched_json = json_incref(watched);
    return EXST_OK;
}

/* ---- results ------------------------------------------------------- */

void exstp_analysis_figures(const exstp_analysis *a, size_t i,
                            exst_lane_figures *f)
{
    const lane *l = &a->lanes[i];
    memset(f, 0, sizeof *f);
    f->staging_period_s = l->P_seen;
    f->reset_after_s = l->W_seen;
    f->primary = i == 0;
    f->consensuses = l->consensuses;
    f->has_steady = l->consensuses > 0;
    if (f->has_steady) {
        f->mean_stripped_fraction = l->sum_frac / (double)l->consensuses;
        f->peak_stripped_fraction = l->peak;
        f->mean_stripped = (double)l->sum_stripped / (double)l->consensuses;
    }
    f->peak_at = l->peak_at;
    f->relays_staged = l->staged.n;
    f->has_denied_share = l->exit_good > 0;
    if (f->has_denied_share)
        f->denied_share = (double)l->denied / (double)l->exit_good;
    uint64_t sum_exit = 0, sum_denied = 0;
    if (a->watched_json != NULL) {
        /* From a summary: the lanes of its watched entries are parallel
         * to this analysis's lanes (report matched them). */
        size_t k;
        json_t *e;
        json_array_foreach(a->watched_json, k, e) {
            json_t *ln = json_array_get(json_object_get(e, "lanes"), i);
            json_int_t x = json_integer_value(
                json_object_get(ln, "exit_consensuses"));
            json_int_t d = json_integer_value(json_object_get(ln, "denied"));
            if (x <= 0)
                continue;
            f->watched++;
            f->fully_denied += d == x;
            sum_exit += (uint64_t)x;
            sum_denied += (uint64_t)d;
        }
    } else {
        for (size_t k = 0; k < a->n_w; k++) {
            const wrelay *w = &a->w[k];
            if (!reported(w) || w->exit_cons[i] == 0)
                continue;
            f->watched++;
            f->fully_denied += w->denied[i] == w->exit_cons[i];
            sum_exit += w->exit_cons[i];
            sum_denied += w->denied[i];
        }
    }
    f->has_watched_share = sum_exit > 0;
    if (f->has_watched_share)
        f->watched_denied_share = (double)sum_denied / (double)sum_exit;
    for (int k = 0; k < 3; k++) {
        f->span_consensuses[k] = l->span_n[k];
        f->span_from[k] = l->span_from[k];
        f->span_to[k] = l->span_to[k];
    }
    f->gaps = l->n_gaps;
}

void exstp_analysis_gap(const exstp_analysis *a, size_t i, size_t g,
                        int64_t *from, int64_t *to, uint64_t *hours)
{
    const gap *p = &a->lanes[i].gaps[g];
    *from = p->from;
    *to = p->to;
    *hours = p->hours;
}

/* Round to 6 decimals so figures don't carry float noise. */
static json_t *frac(double x)
{
    return json_real(round(x * 1e6) / 1e6);
}

static json_t *frac_or_null(bool has, double x)
{
    return has ? frac(x) : json_null();
}

static const char *clock_name(exst_clock c)
{
    return c == EXST_CLOCK_RELAY ? "relay" : "exit";
}

static json_t *span_json(const exst_lane_figures *f, int k)
{
    if (f->span_consensuses[k] == 0)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "from", exstp_json_time(f->span_from[k]));
    json_object_set_new(o, "to", exstp_json_time(f->span_to[k]));
    json_object_set_new(o, "consensuses",
                        json_integer((json_int_t)f->span_consensuses[k]));
    return o;
}

static json_t *lane_json(const exstp_analysis *a, size_t i, bool series)
{
    exst_lane_figures f;
    exstp_analysis_figures(a, i, &f);
    const lane *l = &a->lanes[i];
    json_t *o = json_object();
    json_object_set_new(o, "staging_period_s",
                        f.staging_period_s == EXST_TIME_NONE
                            ? json_null()
                            : json_integer(f.staging_period_s));
    json_object_set_new(o, "reset_after_s",
                        f.reset_after_s == EXST_TIME_NONE
                            ? json_null()
                            : json_integer(f.reset_after_s));
    json_object_set_new(o, "primary", json_boolean(f.primary));
    json_t *spans = json_object();
    json_object_set_new(spans, "bootstrap", span_json(&f, 0));
    json_object_set_new(spans, "ramp", span_json(&f, 1));
    json_object_set_new(spans, "steady", span_json(&f, 2));
    json_object_set_new(o, "spans", spans);
    json_t *gaps = json_array();
    for (size_t g = 0; g < l->n_gaps; g++) {
        json_t *e = json_object();
        json_object_set_new(e, "from", exstp_json_time(l->gaps[g].from));
        json_object_set_new(e, "to", exstp_json_time(l->gaps[g].to));
        json_object_set_new(e, "missing_hours",
                            json_integer((json_int_t)l->gaps[g].hours));
        json_array_append_new(gaps, e);
    }
    json_object_set_new(o, "gaps", gaps);
    json_object_set_new(o, "consensuses",
                        json_integer((json_int_t)f.consensuses));
    json_object_set_new(o, "mean_stripped_fraction",
                        frac_or_null(f.has_steady, f.mean_stripped_fraction));
    json_object_set_new(o, "peak_stripped_fraction",
                        frac_or_null(f.has_steady, f.peak_stripped_fraction));
    json_object_set_new(o, "peak_at", f.has_steady ? exstp_json_time(f.peak_at)
                                                   : json_null());
    json_object_set_new(o, "mean_stripped",
                        frac_or_null(f.has_steady, f.mean_stripped));
    json_object_set_new(o, "relays_staged",
                        json_integer((json_int_t)f.relays_staged));
    json_object_set_new(o, "denied_share",
                        frac_or_null(f.has_denied_share, f.denied_share));
    json_object_set_new(o, "watched", json_integer((json_int_t)f.watched));
    json_object_set_new(o, "fully_denied",
                        json_integer((json_int_t)f.fully_denied));
    json_object_set_new(o, "watched_denied_share",
                        frac_or_null(f.has_watched_share,
                                     f.watched_denied_share));
    if (series) {
        json_t *s = json_object(), *va = json_array(), *ph = json_array();
        json_t *fr = json_array(), *st = json_array(), *sp = json_array();
        for (size_t k = 0; k < l->s_n; k++) {
            json_array_append_new(va, exstp_json_time(l->s_t[k]));
            json_array_append_new(ph, json_string(exst_phase_name(
                                          (exst_phase)l->s_phase[k])));
            json_array_append_new(fr, frac((double)l->s_frac[k]));
            json_array_append_new(st, json_integer(l->s_staging[k]));
            json_array_append_new(sp, json_integer(l->s_stripped[k]));
        }
        json_object_set_new(s, "valid_after", va);
        json_object_set_new(s, "phase", ph);
        json_object_set_new(s, "stripped_fraction", fr);
        json_object_set_new(s, "in_staging", st);
        json_object_set_new(s, "stripped", sp);
        json_object_set_new(o, "series", s);
    }
    return o;
}

static int cmp_wrelay(const void *x, const void *y)
{
    return memcmp(((const wrelay *)x)->id, ((const wrelay *)y)->id, 20);
}

static json_t *watched_json(const exstp_analysis *a)
{
    if (a->watched_json != NULL)
        return json_incref(a->watched_json);
    wrelay *v = exstp_malloc((a->n_w + 1) * sizeof *v);
    json_t *arr = json_array();
    if (v == NULL || arr == NULL) {
        exstp_free(v);
        json_decref(arr);
        return NULL;
    }
    size_t n = 0;
    for (size_t k = 0; k < a->n_w; k++)
        if (reported(&a->w[k]))
            v[n++] = a->w[k];
    qsort(v, n, sizeof *v, cmp_wrelay);
    for (size_t k = 0; k < n; k++) {
        char fp[41];
        json_t *e = json_object(), *lanes = json_array();
        json_object_set_new(e, "fingerprint",
                            json_string(exst_fingerprint_hex(fp, v[k].id)));
        json_object_set_new(e, "nickname", v[k].nick[0]
                                               ? json_string(v[k].nick)
                                               : json_null());
        json_object_set_new(e, "caught_at", exstp_json_time(v[k].caught));
        json_object_set_new(e, "source",
                            json_string(v[k].caught_by == SRC_BADEXIT
                                            ? "badexit"
                                            : "watchlist"));
        for (size_t i = 0; i < a->n_lanes; i++) {
            json_t *ln = json_object();
            json_object_set_new(ln, "exit_consensuses",
                                json_integer(v[k].exit_cons[i]));
            json_object_set_new(ln, "denied", json_integer(v[k].denied[i]));
            json_array_append_new(lanes, ln);
        }
        json_object_set_new(e, "lanes", lanes);
        json_array_append_new(arr, e);
    }
    exstp_free(v);
    return arr;
}

int exstp_analysis_json(char **out, const exstp_analysis *a,
                        const exstp_archive_counts *k, bool series,
                        exst_error *err)
{
    json_t *root = json_object();
    json_t *tool = json_object(), *pol = json_object(), *arc = json_object();
    json_t *fl = json_object(), *sk = json_object(), *lanes = json_array();
    *out = NULL;
    if (root == NULL || tool == NULL || pol == NULL || arc == NULL ||
        fl == NULL || sk == NULL || lanes == NULL) {
        json_decref(root);
        json_decref(tool);
        json_decref(pol);
        json_decref(arc);
        json_decref(fl);
        json_decref(sk);
        json_decref(lanes);
        return nomem(err);
    }
    json_object_set_new(root, "schema_version", json_integer(1));
    json_object_set_new(tool, "name", json_string("exitstage"));
    json_object_set_new(tool, "version", json_string(exst_version()));
    json_object_set_new(root, "tool", tool);
    json_object_set_new(pol, "clock", json_string(clock_name(a->info.clock)));
    json_object_set_new(pol, "enforce",
                        json_string(a->info.enforce == EXST_ENFORCE_BADEXIT
                                        ? "badexit"
                                        : "flag"));
    json_object_set_new(pol, "bootstrap",
                        json_string(a->info.bootstrap == EXST_BOOTSTRAP_NONE
                                        ? "none"
                                        : "grandfather"));
    json_object_set_new(pol, "max_strip_fraction",
                        a->info.max_strip_fraction < 0
                            ? json_null()
                            : frac(a->info.max_strip_fraction));
    json_object_set_new(root, "policy", pol);

    uint64_t hours = a->n_lanes > 0 ? a->lanes[0].s_n : 0;
    json_object_set_new(arc, "first", exstp_json_time(k->first));
    json_object_set_new(arc, "last", exstp_json_time(k->last));
    json_object_set_new(arc, "documents",
                        json_integer((json_int_t)k->documents));
    json_object_set_new(arc, "hours", json_integer((json_int_t)hours));
    json_object_set_new(fl, "ns", json_integer((json_int_t)k->by_flavor[0]));
    json_object_set_new(fl, "microdesc",
                        json_integer((json_int_t)k->by_flavor[1]));
    json_object_set_new(arc, "by_flavor", fl);
    json_object_set_new(sk, "not_consensus",
                        json_integer((json_int_t)k->not_consensus));
    json_object_set_new(sk, "duplicates",
                        json_integer((json_int_t)k->duplicates));
    json_object_set_new(sk, "bad", json_integer((json_int_t)k->bad));
    json_object_set_new(sk, "resumed", json_integer((json_int_t)k->resumed));
    json_object_set_new(sk, "outside_since_until",
                        json_integer((json_int_t)k->outside));
    json_object_set_new(arc, "skipped", sk);
    json_object_set_new(root, "archive", arc);
    for (size_t i = 0; i < a->n_lanes; i++)
        json_array_append_new(lanes, lane_json(a, i, series));
    json_object_set_new(root, "lanes", lanes);
    if (exstp_analysis_watching(a) || a->watched_json != NULL) {
        json_t *w = watched_json(a);
        if (w == NULL) {
            json_decref(root);
            return nomem(err);
        }
        json_object_set_new(root, "watched", w);
    }
    return exstp_json_finish(out, root, false, err);
}
