/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the analysis-document reader (lib/exst_adoc.c): the
 * documents of testdata/analysis/ are read with every value where it
 * belongs; every way a document can break the schema is refused with
 * EXST_ERR_SEMANTIC and the exact message, JSON path first (each case is
 * one edit of a valid document); JSON syntax errors keep jansson's line
 * and column; what the schema allows (null, absent watched, unknown
 * members, integral fractions) is accepted; and a failing allocator
 * gives EXST_ERR_NOMEM without leaks at every allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"

#include "exitstage.h"
#include "exst_adoc_int.h"
#include "exst_int.h"

static char *read_analysis(const char *name)
{
    char *dir = tu_path(tu_project_dir(), "analysis");
    char *path = tu_path(dir, name);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(tu_read_file(path, &buf, &len), 0);
    free(path);
    free(dir);
    return buf;
}

/* The document text with one edit: the value at path ("lanes/0/primary",
 * array indexes as numbers) replaced by the JSON text value, or removed
 * when value is NULL.  Returns a malloc'd compact dump. */
static char *edited(const char *doc, const char *path, const char *value)
{
    json_error_t je;
    json_t *root = json_loads(doc, 0, &je);
    assert_non_null(root);
    json_t *cur = root;
    char comp[64];
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        const size_t n = slash ? (size_t)(slash - p) : strlen(p);
        assert_true(n < sizeof comp);
        memcpy(comp, p, n);
        comp[n] = '\0';
        const bool last = slash == NULL;
        const size_t idx = (size_t)strtoul(comp, NULL, 10);
        if (last) {
            json_t *v = value ? json_loads(value, JSON_DECODE_ANY, &je) : NULL;
            if (value != NULL)
                assert_non_null(v);
            if (json_is_array(cur) && v != NULL)
                assert_int_equal(json_array_set_new(cur, idx, v), 0);
            else if (json_is_array(cur))
                assert_int_equal(json_array_remove(cur, idx), 0);
            else if (v != NULL)
                assert_int_equal(json_object_set_new(cur, comp, v), 0);
            else
                assert_int_equal(json_object_del(cur, comp), 0);
            break;
        }
        cur = json_is_array(cur) ? json_array_get(cur, idx)
                                 : json_object_get(cur, comp);
        assert_non_null(cur);
        p = slash + 1;
    }
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    assert_non_null(s);
    return s;
}

static int read_text(exstp_adoc *a, const char *text, exst_error *err)
{
    memset(a, 0, sizeof *a);
    exst_error_clear(err);
    return exstp_adoc_read(a, text, strlen(text), err);
}

/* ---- valid documents ------------------------------------------------ */

static void test_one_lane_values(void **state)
{
    (void)state;
    char *doc = read_analysis("one-lane.json");
    exstp_adoc a;
    exst_error err;
    assert_int_equal(read_text(&a, doc, &err), EXST_OK);
    assert_string_equal(a.tool_name, "exitstage");
    assert_string_equal(a.tool_version, "0.2.0");
    assert_string_equal(a.clock, "exit");
    assert_string_equal(a.enforce, "flag");
    assert_string_equal(a.bootstrap, "grandfather");
    assert_false(a.max_strip.null);
    assert_true(a.max_strip.v == 0.2);
    assert_int_equal(a.first, exstp_timegm(2026, 1, 1, 0, 0, 0));
    assert_int_equal(a.last, exstp_timegm(2026, 1, 1, 11, 0, 0));
    assert_int_equal(a.documents, 20);
    assert_int_equal(a.hours, 10);
    assert_int_equal(json_object_size(a.by_flavor), 2);
    assert_int_equal(json_object_size(a.skipped), 4);
    assert_int_equal(a.n_lanes, 1);
    assert_int_equal(a.primary, 0);

    const exstp_adoc_lane *l = &a.lanes[0];
    assert_int_equal(l->period, 14400);
    assert_int_equal(l->reset, 7200);
    assert_true(l->primary);
    assert_string_equal(l->label, "P=4h W=2h");
    assert_true(l->spans[EXSTP_PH_BOOTSTRAP].present);
    assert_int_equal(l->spans[EXSTP_PH_RAMP].from,
                     exstp_timegm(2026, 1, 1, 2, 0, 0));
    assert_int_equal(l->spans[EXSTP_PH_RAMP].to,
                     exstp_timegm(2026, 1, 1, 5, 0, 0));
    assert_int_equal(l->spans[EXSTP_PH_RAMP].consensuses, 4);
    assert_int_equal(l->spans[EXSTP_PH_STEADY].consensuses, 4);
    assert_int_equal(l->n_gaps, 1);
    assert_int_equal(l->gaps[0].missing_hours, 2);
    assert_int_equal(l->fig[EXSTP_F_CONSENSUSES].i, 4);
    assert_true(l->fig[EXSTP_F_MEAN_FRACTION].v == 0.066875);
    assert_true(l->fig[EXSTP_F_PEAK_FRACTION].v == 0.125);
    assert_int_equal(l->fig[EXSTP_F_PEAK_AT].i,
                     exstp_timegm(2026, 1, 1, 9, 0, 0));
    assert_true(l->fig[EXSTP_F_MEAN_STRIPPED].v == 4.0);
    assert_int_equal(l->fig[EXSTP_F_RELAYS_STAGED].i, 9);
    assert_true(l->fig[EXSTP_F_DENIED_SHARE].v == 0.0625);
    assert_true(l->fig[EXSTP_F_WATCHED_DENIED_SHARE].v == 0.75);
    assert_int_equal(l->fig[EXSTP_F_WATCHED].i, 2);
    assert_int_equal(l->fig[EXSTP_F_FULLY_DENIED].i, 1);
    for (int f = 0; f < EXSTP_N_FIGURES; f++)
        assert_false(l->fig[f].null);

    assert_int_equal(l->n, 10);
    assert_int_equal(l->t[6], exstp_timegm(2026, 1, 1, 8, 0, 0));
    assert_int_equal(l->phase[0], EXSTP_PH_BOOTSTRAP);
    assert_int_equal(l->phase[5], EXSTP_PH_RAMP);
    assert_int_equal(l->phase[9], EXSTP_PH_STEADY);
    assert_true(l->fraction[7] == 0.125);
    assert_int_equal(l->in_staging[7], 7);
    assert_int_equal(l->stripped[7], 6);

    assert_int_equal(a.n_watched, 2);
    assert_string_equal(a.watched[0].fingerprint,
                        "0123456789ABCDEF0123456789ABCDEF01234567");
    assert_string_equal(a.watched[0].nickname, "evil1");
    assert_int_equal(a.watched[0].caught_at,
                     exstp_timegm(2026, 1, 1, 11, 0, 0));
    assert_string_equal(a.watched[0].source, "watchlist");
    assert_int_equal(a.watched[0].exits[0], 3);
    assert_int_equal(a.watched[0].denied[0], 3);
    assert_int_equal(a.watched[1].caught_at, EXST_TIME_NONE);
    assert_string_equal(a.watched[1].source, "badexit");
    assert_int_equal(a.watched[1].exits[0], 1);
    assert_int_equal(a.watched[1].denied[0], 0);
    exstp_adoc_free(&a);
    free(doc);
}

static void test_every_document_reads(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t lanes, watched, primary;
        const char *label0;
    } docs[] = {
        {"one-lane.json", 1, 2, 0, "P=4h W=2h"},
        {"twelve-lanes.json", 12, 1, 0, "P=4d W=24h"},
        {"spans-null.json", 1, 0, 0, "P=4d W=24h"},
        {"gaps.json", 2, 0, 0, "P=1d W=2h"},
        {"hostile.json", 1, 7, 0, "P=1d1h1m1s W=1h1m1s"},
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        char *doc = read_analysis(docs[i].name);
        exstp_adoc a;
        exst_error err;
        const int rc = read_text(&a, doc, &err);
        if (rc != EXST_OK)
            print_error("%s: %s\n", docs[i].name, err.message);
        assert_int_equal(rc, EXST_OK);
        assert_int_equal(a.n_lanes, docs[i].lanes);
        assert_int_equal(a.n_watched, docs[i].watched);
        assert_int_equal(a.primary, docs[i].primary);
        assert_string_equal(a.lanes[0].label, docs[i].label0);
        exstp_adoc_free(&a);
        free(doc);
    }
}

static void test_twelve_lanes_labels(void **state)
{
    (void)state;
    static const char *const labels[12] = {
        "P=4d W=24h", "P=4d W=12h", "P=4d W=48h", "P=1d W=24h",
        "P=1d W=12h", "P=1d W=48h", "P=2d W=24h", "P=2d W=12h",
        "P=2d W=48h", "P=7d W=24h", "P=7d W=12h", "P=7d W=48h"};
    char *doc = read_analysis("twelve-lanes.json");
    exstp_adoc a;
    exst_error err;
    assert_int_equal(read_text(&a, doc, &err), EXST_OK);
    for (size_t i = 0; i < 12; i++)
        assert_string_equal(a.lanes[i].label, labels[i]);
    /* null figures are null, not zero */
    assert_true(a.lanes[0].fig[EXSTP_F_WATCHED_DENIED_SHARE].null);
    assert_false(a.lanes[1].fig[EXSTP_F_WATCHED_DENIED_SHARE].null);
    assert_int_equal(a.watched[0].exits[0], 0);
    assert_int_equal(a.watched[0].denied[1], 4);
    exstp_adoc_free(&a);
    free(doc);
}

static void test_spans_null_values(void **state)
{
    (void)state;
    char *doc = read_analysis("spans-null.json");
    exstp_adoc a;
    exst_error err;
    assert_int_equal(read_text(&a, doc, &err), EXST_OK);
    assert_int_equal(a.first, EXST_TIME_NONE);
    assert_int_equal(a.last, EXST_TIME_NONE);
    assert_true(a.max_strip.null);
    for (int ph = 0; ph < EXSTP_N_PHASES; ph++)
        assert_false(a.lanes[0].spans[ph].present);
    assert_int_equal(a.lanes[0].n, 0);
    assert_int_equal(a.lanes[0].n_gaps, 0);
    assert_true(a.lanes[0].fig[EXSTP_F_PEAK_AT].null);
    assert_true(a.lanes[0].fig[EXSTP_F_MEAN_STRIPPED].null);
    assert_false(a.lanes[0].fig[EXSTP_F_RELAYS_STAGED].null);
    assert_null(a.watched);
    exstp_adoc_free(&a);
    free(doc);
}

/* Durations as lanes are named: days for P, hours and below for W. */
static void test_lane_labels(void **state)
{
    (void)state;
    static const struct {
        const char *p, *w, *label;
    } cases[] = {
        {"345600", "86400", "P=4d W=24h"},
        {"86400", "43200", "P=1d W=12h"},
        {"129600", "172800", "P=1d12h W=48h"},
        {"3600", "1800", "P=1h W=30m"},
        {"0", "59", "P=0s W=59s"},
        {"604800", "90", "P=7d W=1m30s"},
    };
    char *doc = read_analysis("one-lane.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e1 = edited(doc, "lanes/0/staging_period_s", cases[i].p);
        char *e2 = edited(e1, "lanes/0/reset_after_s", cases[i].w);
        exstp_adoc a;
        exst_error err;
        assert_int_equal(read_text(&a, e2, &err), EXST_OK);
        assert_string_equal(a.lanes[0].label, cases[i].label);
        exstp_adoc_free(&a);
        free(e1);
        free(e2);
    }
    free(doc);
}

/* What the schema allows, one edit at a time. */
static void test_allowed(void **state)
{
    (void)state;
    static const struct {
        const char *path, *value;
    } cases[] = {
        {"watched", NULL},
        {"watched", "null"},
        {"watched", "[]"},
        {"extra", "{\"future\": [1, 2]}"},
        {"lanes/0/extra", "true"},
        {"lanes/0/series/stripped_fraction/0", "1"},
        {"lanes/0/series/stripped_fraction/1", "1.0"},
        {"lanes/0/mean_stripped_fraction", "0"},
        {"lanes/0/mean_stripped", "1e3"},
        {"lanes/0/spans/ramp", "null"},
        {"lanes/0/gaps", "[]"},
        {"lanes/0/consensuses", "null"},
        {"watched/0/nickname", "null"},
        {"watched/0/caught_at", "null"},
        {"watched/0/lanes/0", "{\"exit_consensuses\": 0, \"denied\": 0}"},
        {"archive/first", "null"},
        {"archive/by_flavor", "{}"},
        {"policy/max_strip_fraction", "null"},
        {"archive/first", "\"2024-02-29T23:59:59Z\""},
    };
    char *doc = read_analysis("one-lane.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = edited(doc, cases[i].path, cases[i].value);
        exstp_adoc a;
        exst_error err;
        const int rc = read_text(&a, e, &err);
        if (rc != EXST_OK)
            print_error("%s = %s: %s\n", cases[i].path,
                        cases[i].value ? cases[i].value : "(removed)",
                        err.message);
        assert_int_equal(rc, EXST_OK);
        exstp_adoc_free(&a);
        free(e);
    }
    free(doc);
}

/* ---- broken documents ------------------------------------------------- */

typedef struct bad_case {
    const char *doc;   /* which document is edited */
    const char *path;  /* what is edited */
    const char *value; /* the new value (JSON), NULL: removed */
    const char *message;
} bad_case;

#define ONE    "one-lane.json"
#define TWELVE "twelve-lanes.json"

static const bad_case bad_cases[] = {
    {ONE, "schema_version", "2",
     "schema_version: expected 1, found 2 (this version reads "
     "schema_version 1)"},
    {ONE, "schema_version", NULL, "schema_version: missing"},
    {ONE, "schema_version", "\"1\"",
     "schema_version: expected a count (an integer >= 0), found \"1\""},
    {ONE, "schema_version", "1.0",
     "schema_version: expected a count (an integer >= 0), found 1.0"},
    {ONE, "tool", "[]", "tool: expected an object, found an array"},
    {ONE, "tool/name", "3", "tool.name: expected a string, found 3"},
    {ONE, "tool/version", NULL, "tool.version: missing"},
    {ONE, "policy/clock", "null",
     "policy.clock: expected a string, found null"},
    {ONE, "policy/max_strip_fraction", "1.5",
     "policy.max_strip_fraction: expected a fraction (a number from 0 to 1) "
     "or null, found 1.5"},
    {ONE, "archive/first", "\"2026-01-01 00:00:00\"",
     "archive.first: expected a UTC time such as \"2026-01-01T00:00:00Z\" or "
     "null, found \"2026-01-01 00:00:00\""},
    {ONE, "archive/first", "\"2026-02-30T00:00:00Z\"",
     "archive.first: expected a UTC time such as \"2026-01-01T00:00:00Z\" or "
     "null, found \"2026-02-30T00:00:00Z\""},
    {ONE, "archive/first", "\"2026-01-01T24:00:00Z\"",
     "archive.first: expected a UTC time such as \"2026-01-01T00:00:00Z\" or "
     "null, found \"2026-01-01T24:00:00Z\""},
    {ONE, "archive/last", "\"2025-12-31T23:00:00Z\"",
     "archive.last: 2025-12-31T23:00:00Z is before first "
     "(2026-01-01T00:00:00Z)"},
    {ONE, "archive/documents", "true",
     "archive.documents: expected a count (an integer >= 0), found true"},
    {ONE, "archive/by_flavor/ns", "-1",
     "archive.by_flavor.ns: expected a count (an integer >= 0), found -1"},
    {ONE, "archive/skipped", "3",
     "archive.skipped: expected an object, found 3"},
    {ONE, "lanes", "[]", "lanes: expected at least one lane, found none"},
    {ONE, "lanes", "{}", "lanes: expected an array, found an object"},
    {ONE, "lanes/0", "7", "lanes[0]: expected an object, found 7"},
    {ONE, "lanes/0/primary", "false", "lanes: no lane has \"primary\": true"},
    {ONE, "lanes/0/primary", "1",
     "lanes[0].primary: expected true or false, found 1"},
    {TWELVE, "lanes/5/primary", "true",
     "lanes[5].primary: a second primary lane (lanes[0] is primary)"},
    {ONE, "lanes/0/staging_period_s", "-1",
     "lanes[0].staging_period_s: expected a count (an integer >= 0), found "
     "-1"},
    {ONE, "lanes/0/spans", NULL, "lanes[0].spans: missing"},
    {ONE, "lanes/0/spans/bootstrap", NULL, "lanes[0].spans.bootstrap: missing"},
    {ONE, "lanes/0/spans/ramp", "3",
     "lanes[0].spans.ramp: expected an object or null, found 3"},
    {ONE, "lanes/0/spans/ramp/consensuses", NULL,
     "lanes[0].spans.ramp.consensuses: missing"},
    {ONE, "lanes/0/spans/steady/to", "\"2026-01-01T07:00:00Z\"",
     "lanes[0].spans.steady.to: 2026-01-01T07:00:00Z is before from "
     "(2026-01-01T08:00:00Z)"},
    {ONE, "lanes/0/gaps", "null",
     "lanes[0].gaps: expected an array, found null"},
    {ONE, "lanes/0/gaps/0/missing_hours", "\"2\"",
     "lanes[0].gaps[0].missing_hours: expected a count (an integer >= 0), "
     "found \"2\""},
    {ONE, "lanes/0/gaps/0/from", "\"2026-01-01T09:00:00Z\"",
     "lanes[0].gaps[0].to: 2026-01-01T08:00:00Z is before from "
     "(2026-01-01T09:00:00Z)"},
    {ONE, "lanes/0/gaps",
     "[{\"from\": \"2026-01-01T05:00:00Z\", \"to\": \"2026-01-01T08:00:00Z\", "
     "\"missing_hours\": 2}, {\"from\": \"2026-01-01T06:00:00Z\", \"to\": "
     "\"2026-01-01T09:00:00Z\", \"missing_hours\": 2}]",
     "lanes[0].gaps[1].from: 2026-01-01T06:00:00Z is before the end of the "
     "previous gap (2026-01-01T08:00:00Z)"},
    {ONE, "lanes/0/consensuses", "1.5",
     "lanes[0].consensuses: expected a count (an integer >= 0) or null, "
     "found 1.5"},
    {ONE, "lanes/0/mean_stripped_fraction", "-0.5",
     "lanes[0].mean_stripped_fraction: expected a fraction (a number from 0 "
     "to 1) or null, found -0.5"},
    {ONE, "lanes/0/peak_at", "5",
     "lanes[0].peak_at: expected a UTC time such as "
     "\"2026-01-01T00:00:00Z\" or null, found 5"},
    {ONE, "lanes/0/mean_stripped", "true",
     "lanes[0].mean_stripped: expected a number >= 0 or null, found true"},
    {ONE, "lanes/0/relays_staged", NULL, "lanes[0].relays_staged: missing"},
    {ONE, "lanes/0/watched_denied_share", "\"80%\"",
     "lanes[0].watched_denied_share: expected a fraction (a number from 0 "
     "to 1) or null, found \"80%\""},
    {ONE, "lanes/0/series", NULL, "lanes[0].series: missing"},
    {ONE, "lanes/0/series/valid_after", "{}",
     "lanes[0].series.valid_after: expected an array, found an object"},
    {ONE, "lanes/0/series/in_staging", NULL,
     "lanes[0].series.in_staging: missing"},
    {ONE, "lanes/0/series/stripped", "[0]",
     "lanes[0].series.stripped: expected 10 entries, as valid_after has, "
     "found 1"},
    {ONE, "lanes/0/series/phase/7", "\"warm\"",
     "lanes[0].series.phase[7]: expected \"bootstrap\", \"ramp\" or "
     "\"steady\", found \"warm\""},
    {ONE, "lanes/0/series/phase/3", "3",
     "lanes[0].series.phase[3]: expected a string, found 3"},
    {ONE, "lanes/0/series/stripped_fraction/9", "1.25",
     "lanes[0].series.stripped_fraction[9]: expected a fraction (a number "
     "from 0 to 1), found 1.25"},
    {ONE, "lanes/0/series/in_staging/0", "null",
     "lanes[0].series.in_staging[0]: expected a count (an integer >= 0), "
     "found null"},
    {ONE, "lanes/0/series/stripped/2", "-2",
     "lanes[0].series.stripped[2]: expected a count (an integer >= 0), "
     "found -2"},
    {ONE, "lanes/0/series/valid_after/4", "\"2026-01-01T03:00:00Z\"",
     "lanes[0].series.valid_after[4]: 2026-01-01T03:00:00Z is not after the "
     "entry before it (2026-01-01T03:00:00Z)"},
    {ONE, "lanes/0/series/valid_after/9", "\"2026-01-01T02:00:00Z\"",
     "lanes[0].series.valid_after[9]: 2026-01-01T02:00:00Z is not after the "
     "entry before it (2026-01-01T10:00:00Z)"},
    {ONE, "lanes/0/series/valid_after/4", "\"2026-01-01T04:00:00+00:00\"",
     "lanes[0].series.valid_after[4]: expected a UTC time such as "
     "\"2026-01-01T00:00:00Z\", found \"2026-01-01T04:00:00+00:00\""},
    {TWELVE, "lanes/11/series/phase/5", "\"Steady\"",
     "lanes[11].series.phase[5]: expected \"bootstrap\", \"ramp\" or "
     "\"steady\", found \"Steady\""},
    {ONE, "watched", "{}", "watched: expected an array, found an object"},
    {ONE, "watched/1", "\"x\"", "watched[1]: expected an object, found \"x\""},
    {ONE, "watched/1/fingerprint",
     "\"89abcdef0123456789abcdef0123456789abcdef\"",
     "watched[1].fingerprint: expected 40 uppercase hexadecimal digits, "
     "found \"89abcdef0123456789abcdef0123456789abcdef\""},
    {ONE, "watched/0/fingerprint",
     "\"$0123456789ABCDEF0123456789ABCDEF01234567\"",
     "watched[0].fingerprint: expected 40 uppercase hexadecimal digits, "
     "found \"$0123456789ABCDEF0123456789ABCDEF0123456...\""},
    {ONE, "watched/0/nickname", "5",
     "watched[0].nickname: expected a string or null, found 5"},
    {ONE, "watched/1/caught_at", "\"yesterday\"",
     "watched[1].caught_at: expected a UTC time such as "
     "\"2026-01-01T00:00:00Z\" or null, found \"yesterday\""},
    {ONE, "watched/0/source", "\"listed\"",
     "watched[0].source: expected \"watchlist\" or \"badexit\", found "
     "\"listed\""},
    {ONE, "watched/0/lanes", "[]",
     "watched[0].lanes: expected one entry per lane (1), found 0"},
    {TWELVE, "watched/0/lanes/11", NULL,
     "watched[0].lanes: expected one entry per lane (12), found 11"},
    {ONE, "watched/0/lanes/0", "[]",
     "watched[0].lanes[0]: expected an object, found an array"},
    {ONE, "watched/0/lanes/0/exit_consensuses", NULL,
     "watched[0].lanes[0].exit_consensuses: missing"},
    {ONE, "watched/0/lanes/0/denied", "4",
     "watched[0].lanes[0].denied: 4 is more than exit_consensuses (3)"},
};

static void test_bad_documents(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        char *doc = read_analysis(c->doc);
        char *e = edited(doc, c->path, c->value);
        exstp_adoc a;
        exst_error err;
        const int rc = read_text(&a, e, &err);
        if (rc != EXST_ERR_SEMANTIC || strcmp(err.message, c->message) != 0)
            print_error("%s %s = %s:\n  got %d \"%s\"\n  want \"%s\"\n", c->doc,
                        c->path, c->value ? c->value : "(removed)", rc,
                        err.message, c->message);
        assert_int_equal(rc, EXST_ERR_SEMANTIC);
        assert_string_equal(err.message, c->message);
        assert_int_equal(err.code, EXST_ERR_SEMANTIC);
        assert_int_equal(err.line, 0);
        exstp_adoc_free(&a);
        free(e);
        free(doc);
    }
}

static void test_not_an_object(void **state)
{
    (void)state;
    static const struct {
        const char *text, *message;
    } cases[] = {
        {"[1]", "document: expected an object, found an array"},
        {"[]", "document: expected an object, found an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        exstp_adoc a;
        exst_error err;
        assert_int_equal(read_text(&a, cases[i].text, &err), EXST_ERR_SEMANTIC);
        assert_string_equal(err.message, cases[i].message);
        exstp_adoc_free(&a);
    }
}

/* JSON syntax errors: jansson's line, column (of the last character it
 * read) and byte offset, and its message. */
static void test_syntax_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len;
        unsigned long line, column;
        size_t offset;
        const char *message;
    } cases[] = {
        {"", 0, 1, 1, 0, "'[' or '{' expected near end of file"},
        {"{", 1, 1, 1, 0, "string or '}' expected near end of file"},
        {"{\n  \"a\": 1,\n  \"a\": 2\n}", 22, 3, 5, 16,
         "duplicate object key near '\"a\"'"},
        {"{\"a\": 1} x", 10, 1, 10, 9, "end of file expected near 'x'"},
        {"{\"a\":\n\n   nul}", 14, 3, 6, 12, "invalid token near 'nul'"},
        {"{\"a\": \"x\xffy\"}", 12, 1, 8, 7,
         "unable to decode byte 0xff near '\"x'"},
        {"{\"a\":\"x\0y\"}", 11, 1, 7, 6, "control character 0x0 near '\"x'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        exstp_adoc a;
        exst_error err;
        memset(&a, 0, sizeof a);
        exst_error_clear(&err);
        const int rc =
            exstp_adoc_read(&a, cases[i].text, cases[i].len, &err);
        if (rc != EXST_ERR_SYNTAX || err.line != cases[i].line ||
            err.column != cases[i].column || err.offset != cases[i].offset)
            print_error("case %zu: %d %lu:%lu @%zu %s\n", i, rc, err.line,
                        err.column, err.offset, err.message);
        assert_int_equal(rc, EXST_ERR_SYNTAX);
        assert_int_equal(err.line, cases[i].line);
        assert_int_equal(err.column, cases[i].column);
        assert_int_equal(err.offset, cases[i].offset);
        assert_string_equal(err.message, cases[i].message);
        exstp_adoc_free(&a);
    }
}

/* err may be NULL; a failed read leaves nothing allocated behind (the
 * sanitizer build checks) and a freed analysis is zeroed. */
static void test_null_err_and_free(void **state)
{
    (void)state;
    char *doc = read_analysis("twelve-lanes.json");
    char *e = edited(doc, "watched/0/lanes/11/denied", "5");
    exstp_adoc a;
    memset(&a, 0, sizeof a);
    assert_int_equal(exstp_adoc_read(&a, e, strlen(e), NULL),
                     EXST_ERR_SEMANTIC);
    exstp_adoc_free(&a);
    exstp_adoc zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&a, &zero, sizeof a);
    exstp_adoc_free(&a); /* twice is harmless */
    free(e);
    free(doc);
}

static void test_oom(void **state)
{
    (void)state;
    static const char *const names[] = {"one-lane.json", "twelve-lanes.json",
                                        "gaps.json", "hostile.json"};
    for (size_t d = 0; d < sizeof names / sizeof names[0]; d++) {
        char *doc = read_analysis(names[d]);
        long n = 0;
        for (;; n++) {
            exstp_adoc a;
            exst_error err;
            memset(&a, 0, sizeof a);
            exst_error_clear(&err);
            exstp_alloc_fail_after(n);
            const int rc = exstp_adoc_read(&a, doc, strlen(doc), &err);
            exstp_alloc_fail_after(-1);
            exstp_adoc_free(&a);
            if (rc == EXST_OK)
                break;
            assert_int_equal(rc, EXST_ERR_NOMEM);
            assert_string_equal(err.message, "out of memory");
            assert_true(n < 10000);
        }
        assert_true(n > 0);
        free(doc);
    }
}

int main(void)
{
    if (exst_init() != EXST_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_lane_values),
        cmocka_unit_test(test_every_document_reads),
        cmocka_unit_test(test_twelve_lanes_labels),
        cmocka_unit_test(test_spans_null_values),
        cmocka_unit_test(test_lane_labels),
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_null_err_and_free),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
