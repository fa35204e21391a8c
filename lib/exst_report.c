/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_report.c - the analysis of saved timelines (`exitstage report`,
 * SPEC 9): NDJSON records of `replay --timeline`, grouped into lanes by
 * their staging period and reset window, fed one document at a time to
 * the same accumulator a replay uses, so the figures and the page are the
 * replay's own.  Watched relays cannot be recounted from timelines (they
 * need every exit candidate of every document); a replay's --summary file
 * supplies them.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exst_analysis_int.h"
#include "exst_int.h"

typedef struct lanekey {
    int64_t P, W;
} lanekey;

typedef struct rec {
    int64_t t;
    int flavor;
    exst_phase phase;
    int64_t P, W;
    bool primary;
    double frac;
    size_t exits, bad_exits, staging, stripped, stripped_bad;
    uint8_t (*ids)[20];
    size_t n_ids;
} rec;

static int io_err(exst_error *err, const char *path, const char *what)
{
    char t[96];
    snprintf(t, sizeof t, "%s", strerror(errno));
    if (t[0] >= 'A' && t[0] <= 'Z')
        t[0] = (char)(t[0] - 'A' + 'a');
    return exstp_error_simple(err, EXST_ERR_IO, path, "%s '%.150s': %s",
                              what, path, t);
}

static int bad_rec(exst_error *err, const char *path, unsigned long line,
                   const char *what)
{
    return exstp_error_set(err, EXST_ERR_SEMANTIC, path, line, 1, 0, NULL,
                           "timeline record: %s", what);
}

static int64_t iso_time(const char *s, bool *ok)
{
    int64_t t = 0;
    exst_error e;
    *ok = s != NULL && exst_time_parse(&t, s, &e) == EXST_OK;
    return t;
}

static size_t count_of(json_t *counts, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(counts, key));
    return v > 0 ? (size_t)v : 0;
}

/* One NDJSON line into r.  ids are allocated (exst_free). */
static int parse_rec(rec *r, const char *line, size_t n, const char *path,
                     unsigned long ln, exst_error *err)
{
    json_error_t je;
    memset(r, 0, sizeof *r);
    json_t *o = json_loadb(line, n, 0, &je);
    if (o == NULL)
        return exstp_error_set(err, EXST_ERR_SYNTAX, path, ln,
                               (unsigned long)je.column, 0, NULL,
                               "timeline record is not JSON: %s", je.text);
    int rc = EXST_OK;
    bool ok;
    json_t *counts = json_object_get(o, "counts");
    const char *fl = json_string_value(json_object_get(o, "flavor"));
    const char *ph = json_string_value(json_object_get(o, "phase"));
    json_t *P = json_object_get(o, "staging_period_s");
    json_t *W = json_object_get(o, "reset_after_s");
    json_t *fr = json_object_get(o, "stripped_fraction");
    json_t *st = json_object_get(o, "stripped");
    r->t = iso_time(json_string_value(json_object_get(o, "valid_after")),
                    &ok);
    if (!ok || fl == NULL || ph == NULL || !json_is_integer(P) ||
        !json_is_integer(W) || !json_is_number(fr) || !json_is_array(st) ||
        !json_is_object(counts)) {
        rc = bad_rec(err, path, ln,
                     "needs valid_after, flavor, phase, staging_period_s, "
                     "reset_after_s, stripped_fraction, counts and "
                     "stripped (written by exitstage 0.2 replay "
                     "--timeline)");
        goto done;
    }
    r->flavor = strcmp(fl, "microdesc") == 0;
    r->phase = strcmp(ph, "bootstrap") == 0 ? EXST_PHASE_BOOTSTRAP
               : strcmp(ph, "ramp") == 0    ? EXST_PHASE_RAMP
                                            : EXST_PHASE_STEADY;
    r->P = json_integer_value(P);
    r->W = json_integer_value(W);
    r->primary = json_is_true(json_object_get(o, "primary"));
    r->frac = json_number_value(fr);
    r->exits = count_of(counts, "exit_candidates");
    r->bad_exits = count_of(counts, "badexit_candidates");
    r->staging = count_of(counts, "in_staging");
    r->stripped = count_of(counts, "stripped");
    r->stripped_bad = count_of(counts, "stripped_badexit");
    r->n_ids = json_array_size(st);
    r->ids = exstp_calloc(r->n_ids + 1, 20);
    if (r->ids == NULL) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < r->n_ids; i++)
        if (exst_fingerprint_parse(
                r->ids[i], json_string_value(json_array_get(st, i)) ? json_string_value(json_array_get(st, i)) : "") !=
            EXST_OK) {
            rc = bad_rec(err, path, ln, "a stripped entry is not a "
                                        "fingerprint");
            break;
        }
done:
    json_decref(o);
    if (rc != EXST_OK) {
        exstp_free(r->ids);
        r->ids = NULL;
    }
    return rc;
}

typedef int (*rec_fn)(void *ud, const rec *r, const char *path,
                      unsigned long line, exst_error *err);

static int each_record(const char *const *paths, size_t n, rec_fn fn,
                       void *ud, exst_error *err)
{
    int rc = EXST_OK;
    for (size_t k = 0; k < n && rc == EXST_OK; k++) {
        FILE *f = strcmp(paths[k], "-") == 0 ? stdin
                                             : fopen(paths[k], "rb");
        if (f == NULL)
            return io_err(err, paths[k], "cannot open timeline");
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        unsigned long ln = 0;
        while (rc == EXST_OK && (len = getline(&line, &cap, f)) >= 0) {
            ln++;
            while (len > 0 && (line[len - 1] == '\n'))
                len--;
            if (len == 0)
                continue;
            rec r;
            rc = parse_rec(&r, line, (size_t)len, paths[k], ln, err);
            if (rc == EXST_OK)
                rc = fn(ud, &r, paths[k], ln, err);
            exstp_free(r.ids);
        }
        if (rc == EXST_OK && ferror(f))
            rc = io_err(err, paths[k], "cannot read timeline");
        free(line);
        if (f != stdin)
            fclose(f);
    }
    return rc;
}

/* Pass one: the lanes, primary first. */
typedef struct lanes {
    lanekey *k;
    size_t n, cap;
    bool have_primary;
} lanes;

static int find_lane(const lanes *L, int64_t P, int64_t W)
{
    for (size_t i = 0; i < L->n; i++)
        if (L->k[i].P == P && L->k[i].W == W)
            return (int)i;
    return -1;
}

static int collect_lane(void *ud, const rec *r, const char *path,
                        unsigned long line, exst_error *err)
{
    (void)path;
    (void)line;
    lanes *L = ud;
    int i = find_lane(L, r->P, r->W);
    if (i < 0) {
        if (L->n == L->cap) {
            size_t cap = L->cap ? L->cap * 2 : 8;
            lanekey *p = exstp_realloc(L->k, cap * sizeof *p);
            if (p == NULL)
                return exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                          "out of memory");
            L->k = p;
            L->cap = cap;
        }
        L->k[L->n].P = r->P;
        L->k[L->n].W = r->W;
        i = (int)L->n++;
    }
    if (r->primary && !L->have_primary) {
        lanekey k = L->k[i];
        memmove(&L->k[1], &L->k[0], (size_t)i * sizeof k);
        L->k[0] = k;
        L->have_primary = true;
    }
    return EXST_OK;
}

/* Pass two: the documents. */
typedef struct feed {
    exstp_analysis *an;
    const lanes *L;
    int64_t cur_t;
    int cur_flavor;
    bool started;
    exstp_archive_counts k;
} feed;

static int feed_rec(void *ud, const rec *r, const char *path,
                    unsigned long line, exst_error *err)
{
    feed *F = ud;
    if (!F->started || r->t != F->cur_t || r->flavor != F->cur_flavor) {
        if (F->started &&
            (r->t < F->cur_t || (r->t == F->cur_t && r->flavor < F->cur_flavor)))
            return exstp_error_set(err, EXST_ERR_SEMANTIC, path, line, 1, 0,
                                   NULL,
                                   "timeline records out of order (give the "
                                   "timelines oldest first)");
        F->started = true;
        F->cur_t = r->t;
        F->cur_flavor = r->flavor;
        exstp_analysis_begin_doc(F->an, r->t, (exst_flavor)r->flavor);
        if (F->k.documents++ == 0)
            F->k.first = r->t;
        F->k.last = r->t;
        F->k.by_flavor[r->flavor ? 1 : 0]++;
    }
    int i = find_lane(F->L, r->P, r->W);
    exstp_lane_doc d = {
        .t = r->t,
        .flavor = (exst_flavor)r->flavor,
        .phase = r->phase,
        .stripped_fraction = r->frac,
        .exit_candidates = r->exits,
        .badexit_candidates = r->bad_exits,
        .in_staging = r->staging,
        .stripped = r->n_ids,
        .stripped_badexit = r->stripped_bad,
        .stripped_ids = (const uint8_t(*)[20])r->ids,
    };
    return exstp_analysis_lane_doc(F->an, (size_t)i, r->P, r->W, &d, err);
}

/* The summary's watched relays, their lanes put in this analysis's order
 * (missing lanes count nothing). */
static int take_watched(exstp_analysis *an, const lanes *L,
                        const char *path, exstp_analysis_info *info,
                        exst_error *err)
{
    json_error_t je;
    json_t *s = json_load_file(path, 0, &je);
    if (s == NULL)
        return exstp_error_set(err, EXST_ERR_SYNTAX, path,
                               (unsigned long)je.line,
                               (unsigned long)je.column, 0, NULL,
                               "summary: %s", je.text);
    json_t *slanes = json_object_get(s, "lanes");
    json_t *w = json_object_get(s, "watched");
    json_t *pol = json_object_get(s, "policy");
    const char *clk = json_string_value(json_object_get(pol, "clock"));
    const char *enf = json_string_value(json_object_get(pol, "enforce"));
    const char *bs = json_string_value(json_object_get(pol, "bootstrap"));
    if (clk != NULL)
        info->clock = strcmp(clk, "relay") == 0 ? EXST_CLOCK_RELAY
                                                : EXST_CLOCK_EXIT;
    if (enf != NULL)
        info->enforce = strcmp(enf, "badexit") == 0 ? EXST_ENFORCE_BADEXIT
                                                    : EXST_ENFORCE_FLAG;
    if (bs != NULL)
        info->bootstrap = strcmp(bs, "none") == 0 ? EXST_BOOTSTRAP_NONE
                                                  : EXST_BOOTSTRAP_GRANDFATHER;
    int rc = EXST_OK;
    if (!json_is_array(w)) {
        json_decref(s);
        return EXST_OK; /* no watched relays in that replay */
    }
    json_t *out = json_array();
    size_t k;
    json_t *e;
    json_array_foreach(w, k, e) {
        json_t *copy = json_deep_copy(e);
        json_t *nl = json_array();
        json_t *old = json_object_get(e, "lanes");
        for (size_t i = 0; i < L->n; i++) {
            json_t *pick = NULL;
            for (size_t j = 0; j < json_array_size(slanes); j++) {
                json_t *sl = json_array_get(slanes, j);
                if (json_integer_value(json_object_get(
                        sl, "staging_period_s")) == L->k[i].P &&
                    json_integer_value(json_object_get(
                        sl, "reset_after_s")) == L->k[i].W)
                    pick = json_array_get(old, j);
            }
            json_t *v = json_object();
            json_object_set_new(v, "exit_consensuses",
                                json_integer(json_integer_value(json_object_get(
                                    pick, "exit_consensuses"))));
            json_object_set_new(v, "denied",
                                json_integer(json_integer_value(
                                    json_object_get(pick, "denied"))));
            json_array_append_new(nl, v);
        }
        json_object_set_new(copy, "lanes", nl);
        json_array_append_new(out, copy);
    }
    rc = exstp_analysis_set_watched_json(an, out, err);
    json_decref(out);
    json_decref(s);
    return rc;
}

int exst_timelines_analysis(char **out, const char *const *paths, size_t n,
                            const char *summary_path, int series,
                            exst_error *err)
{
    if (out == NULL || (paths == NULL && n > 0))
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "timelines analysis: missing argument");
    *out = NULL;
    size_t n_stdin = 0;
    for (size_t i = 0; i < n; i++)
        n_stdin += strcmp(paths[i], "-") == 0;
    if (n_stdin > 0)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "timelines are read twice: name files, "
                                  "not '-'");
    lanes L = {0};
    exstp_analysis *an = NULL;
    int rc = each_record(paths, n, collect_lane, &L, err);
    if (rc == EXST_OK && L.n == 0)
        rc = exstp_error_simple(err, EXST_ERR_SEMANTIC, NULL,
                                "the timelines hold no records");
    exstp_analysis_info info = {.clock = EXST_CLOCK_EXIT,
                                .enforce = EXST_ENFORCE_FLAG,
                                .bootstrap = EXST_BOOTSTRAP_GRANDFATHER,
                                .max_strip_fraction = -1};
    if (rc == EXST_OK)
        rc = exstp_analysis_new(&an, &info, err);
    for (size_t i = 0; i < L.n && rc == EXST_OK; i++)
        rc = exstp_analysis_add_lane(an, L.k[i].P, L.k[i].W, err);
    if (rc == EXST_OK && summary_path != NULL) {
        rc = take_watched(an, &L, summary_path, &info, err);
        exstp_analysis_set_info(an, &info);
    }
    feed F = {.an = an, .L = &L};
    F.k.first = F.k.last = EXST_TIME_NONE;
    if (rc == EXST_OK)
        rc = each_record(paths, n, feed_rec, &F, err);
    if (rc == EXST_OK)
        rc = exstp_analysis_json(out, an, &F.k, series != 0, err);
    exstp_analysis_free(an);
    exstp_free(L.k);
    return rc;
}
