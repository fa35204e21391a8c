/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_show.c - unit tests of exst_history_relay_status and
 * exst_history_show_json (SPEC 10, `exitstage db show`): where a relay
 * stands at the history's newest consensus, from the history alone.
 * Histories are built with exst_history_observe; times count in hours
 * from T0 (2024-05-17 00:00:00 UTC); relay n has identity byte 0 = n.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "testutil.h"

#include "exst_history_int.h"
#include "exitstage.h"

#define H 3600
#define T0 INT64_C(1715904000)
#define AT(hour) (T0 + (int64_t)(hour) * H)
#define P4D ((int64_t)EXST_DEFAULT_STAGING_PERIOD)
#define W24 ((int64_t)EXST_DEFAULT_RESET_AFTER)

static void make_id(uint8_t id[20], int n)
{
    for (int i = 0; i < 20; i++)
        id[i] = (uint8_t)(0x30 + i);
    id[0] = (uint8_t)n;
}

/* Observe the relays named by the digits of present at hour, with P and
 * W recorded; grandfather marks a grandfather consensus. */
static void observe(exst_history *h, int hour, const char *present,
                    int64_t P, int64_t W, int grandfather)
{
    uint8_t v[10][20];
    size_t n = strlen(present);
    for (size_t i = 0; i < n; i++)
        make_id(v[i], present[i] - '0');
    exst_observation obs = {
        .valid_after = AT(hour),
        .flavor = EXST_FLAVOR_NS,
        .present = (const uint8_t(*)[20])v,
        .n_present = n,
        .reset_after_s = W,
        .staging_period_s = P,
        .retention_s = 0,
        .grandfather = grandfather,
    };
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_history_observe(h, &obs, NULL, NULL, &err),
                     EXST_OK);
}

/* Relay 1 present from hour 0; relay 2 present at 0, absent from 1;
 * relay 3 new at hour 2; relay 4 grandfathered at hour -1 and present
 * since.  Newest: hour 2. */
static exst_history *sample(void)
{
    exst_history *h = NULL;
    assert_int_equal(exst_history_new(&h, EXST_CLOCK_EXIT), EXST_OK);
    assert_int_equal(exst_history_set_bootstrap(h, EXST_BOOTSTRAP_NONE),
                     EXST_OK);
    observe(h, -1, "4", P4D, W24, 1);
    observe(h, 0, "124", P4D, W24, 0);
    observe(h, 1, "14", P4D, W24, 0);
    observe(h, 2, "134", P4D, W24, 0);
    return h;
}

static exst_relay_status status_of(const exst_history *h, int n, int64_t P,
                                   int64_t W)
{
    uint8_t id[20];
    exst_relay_status st;
    make_id(id, n);
    memset(&st, 0xA5, sizeof st); /* every field must be written */
    exst_history_relay_status(&st, h, id, P, W);
    return st;
}

static void test_status(void **state)
{
    (void)state;
    exst_history *h = sample();
    exst_relay_status st = status_of(h, 1, P4D, W24);
    assert_true(st.found && st.present && st.in_staging);
    assert_false(st.grandfathered);
    assert_int_equal(st.run_start, AT(0));
    assert_int_equal(st.eligible_at, AT(96));
    assert_int_equal(st.last_seen, AT(2));
    assert_int_equal(st.absence_start, EXST_TIME_NONE);
    assert_int_equal(st.restarts_at, EXST_TIME_NONE);

    /* Absent since hour 1: not in staging now; back before hour 25 its
     * run goes on (eligible at 96), from hour 25 on it restarts. */
    st = status_of(h, 2, P4D, W24);
    assert_true(st.found);
    assert_false(st.present || st.in_staging || st.grandfathered);
    assert_int_equal(st.run_start, AT(0));
    assert_int_equal(st.eligible_at, AT(96));
    assert_int_equal(st.last_seen, AT(0));
    assert_int_equal(st.absence_start, AT(1));
    assert_int_equal(st.restarts_at, AT(25));
    st = status_of(h, 2, P4D, 6 * H);
    assert_int_equal(st.restarts_at, AT(7));

    st = status_of(h, 3, P4D, W24);
    assert_true(st.present && st.in_staging);
    assert_int_equal(st.run_start, AT(2));
    assert_int_equal(st.eligible_at, AT(98));

    st = status_of(h, 4, P4D, W24);
    assert_true(st.found && st.present && st.grandfathered);
    assert_false(st.in_staging);
    assert_int_equal(st.run_start, EXST_TIME_UNKNOWN);
    assert_int_equal(st.eligible_at, EXST_TIME_NONE);
    assert_int_equal(st.last_seen, AT(2));

    st = status_of(h, 9, P4D, W24);
    assert_false(st.found || st.present || st.in_staging || st.grandfathered);
    assert_int_equal(st.run_start, EXST_TIME_NONE);
    assert_int_equal(st.eligible_at, EXST_TIME_NONE);
    assert_int_equal(st.last_seen, EXST_TIME_NONE);
    assert_int_equal(st.absence_start, EXST_TIME_NONE);
    assert_int_equal(st.restarts_at, EXST_TIME_NONE);

    /* P decides: with 2 h, relay 1 (2 h old) has graduated and relay 3
     * (0 h) has not; exactly at s + P counts as graduated (SPEC 3.3). */
    st = status_of(h, 1, 2 * H, W24);
    assert_false(st.in_staging);
    assert_int_equal(st.eligible_at, AT(2));
    st = status_of(h, 3, 2 * H, W24);
    assert_true(st.in_staging);
    /* P = 0 stages nobody. */
    st = status_of(h, 3, 0, W24);
    assert_false(st.in_staging);
    assert_int_equal(st.eligible_at, AT(2));
    exst_history_free(h);
}

static json_t *show(const exst_history *h, const char *digits, int64_t P,
                    int64_t W)
{
    uint8_t ids[10][20];
    size_t n = strlen(digits);
    char *out = NULL;
    exst_error err;
    json_error_t jerr;
    for (size_t i = 0; i < n; i++)
        make_id(ids[i], digits[i] - '0');
    exst_error_clear(&err);
    assert_int_equal(exst_history_show_json(&out, h,
                                            (const uint8_t(*)[20])ids, n, P,
                                            W, &err),
                     EXST_OK);
    assert_non_null(out);
    size_t len = strlen(out);
    assert_true(len > 2 && out[len - 1] == '\n' && out[len - 2] == '}');
    json_t *j = json_loads(out, 0, &jerr);
    assert_non_null(j);
    exst_free(out);
    return j;
}

static const char *sget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static long long iget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return (long long)json_integer_value(v);
}

static void assert_iso(const char *got, int64_t t)
{
    char buf[21];
    assert_string_equal(got, exst_time_iso(buf, t));
}

static void test_show_json(void **state)
{
    (void)state;
    exst_history *h = sample();
    char fp[41];
    uint8_t id[20];
    json_t *j = show(h, "21349", EXST_TIME_NONE, EXST_TIME_NONE);
    json_t *pol = json_object_get(j, "policy");
    assert_int_equal(iget(j, "schema_version"), 1);
    assert_iso(sget(j, "as_of"), AT(2));
    assert_iso(sget(j, "observed_since"), AT(-1));
    assert_string_equal(sget(j, "clock"), "exit");
    assert_string_equal(sget(j, "phase"), "ramp");
    assert_int_equal(iget(pol, "staging_period_s"), P4D);
    assert_string_equal(sget(pol, "staging_period_s_source"), "history");
    assert_int_equal(iget(pol, "reset_after_s"), W24);
    assert_string_equal(sget(pol, "reset_after_s_source"), "history");
    assert_int_equal(json_array_size(json_object_get(j, "notes")), 0);

    /* In the order asked for. */
    json_t *rel = json_object_get(j, "relays");
    assert_int_equal(json_array_size(rel), 5);
    static const struct {
        int n;
        const char *state;
    } want[] = {{2, "absent"}, {1, "in_staging"}, {3, "in_staging"},
                {4, "grandfathered"}, {9, "unknown"}};
    for (size_t i = 0; i < 5; i++) {
        json_t *r = json_array_get(rel, i);
        make_id(id, want[i].n);
        assert_string_equal(sget(r, "fingerprint"),
                            exst_fingerprint_hex(fp, id));
        assert_string_equal(sget(r, "state"), want[i].state);
        assert_int_equal(json_object_size(r), 13);
    }
    json_t *r2 = json_array_get(rel, 0), *r1 = json_array_get(rel, 1);
    json_t *r4 = json_array_get(rel, 3), *r9 = json_array_get(rel, 4);
    assert_true(json_is_true(json_object_get(r1, "in_staging")));
    assert_iso(sget(r1, "run_start"), AT(0));
    assert_iso(sget(r1, "eligible_at"), AT(96));
    assert_int_equal(iget(r1, "remaining_s"), 94 * H);
    assert_iso(sget(r1, "last_seen"), AT(2));
    assert_true(json_is_null(json_object_get(r1, "absent_since")));
    assert_true(json_is_null(json_object_get(r1, "absent_s")));
    assert_true(json_is_null(json_object_get(r1, "restarts_at")));
    assert_true(json_is_false(json_object_get(r2, "present")));
    assert_true(json_is_false(json_object_get(r2, "in_staging")));
    assert_true(json_is_null(json_object_get(r2, "remaining_s")));
    assert_iso(sget(r2, "absent_since"), AT(1));
    assert_int_equal(iget(r2, "absent_s"), H);
    assert_iso(sget(r2, "restarts_at"), AT(25));
    assert_true(json_is_true(json_object_get(r4, "grandfathered")));
    assert_true(json_is_null(json_object_get(r4, "run_start")));
    assert_true(json_is_null(json_object_get(r4, "eligible_at")));
    assert_true(json_is_false(json_object_get(r9, "found")));
    assert_true(json_is_null(json_object_get(r9, "last_seen")));
    json_decref(j);

    /* Overrides: the command line's P and W. */
    j = show(h, "1", 3600, 7200);
    pol = json_object_get(j, "policy");
    assert_string_equal(sget(pol, "staging_period_s_source"), "command-line");
    assert_string_equal(sget(pol, "reset_after_s_source"), "command-line");
    assert_int_equal(iget(pol, "staging_period_s"), 3600);
    assert_string_equal(sget(json_array_get(json_object_get(j, "relays"), 0),
                             "state"),
                        "graduated");
    json_decref(j);

    /* Out of range, missing arguments. */
    char *out = NULL;
    exst_error err;
    exst_error_clear(&err);
    make_id(id, 1);
    assert_int_equal(exst_history_show_json(&out, h,
                                            (const uint8_t(*)[20])id, 1,
                                            EXST_MAX_DURATION + 1,
                                            EXST_TIME_NONE, &err),
                     EXST_ERR_USAGE);
    assert_null(out);
    assert_int_equal(exst_history_show_json(&out, h, NULL, 1, EXST_TIME_NONE,
                                            EXST_TIME_NONE, NULL),
                     EXST_ERR_USAGE);
    assert_int_equal(exst_history_show_json(&out, NULL, NULL, 0,
                                            EXST_TIME_NONE, EXST_TIME_NONE,
                                            NULL),
                     EXST_ERR_USAGE);
    exst_history_free(h);
}

/* A history that does not record P and W: an empty one, and one written
 * by 0.1 (format version 1, made here from a version 2 file). */
static void test_policy_unknown(void **state)
{
    (void)state;
    exst_history *h = NULL;
    assert_int_equal(exst_history_new(&h, EXST_CLOCK_RELAY), EXST_OK);
    json_t *j = show(h, "1", EXST_TIME_NONE, EXST_TIME_NONE);
    json_t *pol = json_object_get(j, "policy");
    assert_string_equal(sget(pol, "staging_period_s_source"), "default");
    assert_int_equal(iget(pol, "staging_period_s"), P4D);
    assert_string_equal(sget(pol, "reset_after_s_source"), "default");
    assert_true(json_is_null(json_object_get(j, "as_of")));
    assert_true(json_is_null(json_object_get(j, "phase")));
    /* No consensus yet, defaults assumed, clock relay. */
    assert_int_equal(json_array_size(json_object_get(j, "notes")), 3);
    json_decref(j);
    exst_history_free(h);

    /* Version 1: the v2 header's first 56 bytes (no P, W, bootstrap
     * flag), the records, a new checksum. */
    assert_int_equal(exst_history_new(&h, EXST_CLOCK_EXIT), EXST_OK);
    observe(h, 0, "3", P4D, W24, 0);
    observe(h, 30, "1", 2 * 86400, W24, 0); /* after o + W: a new run */
    observe(h, 60, "1", 2 * 86400, W24, 0);
    void *v2 = NULL;
    size_t n2 = 0;
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_history_serialize(&v2, &n2, h, &err), EXST_OK);
    exst_history_free(h);
    const size_t recs = n2 - EXSTP_HISTORY_HEADER_SIZE -
                        EXSTP_HISTORY_CHECKSUM_SIZE;
    const size_t n1 = EXSTP_HISTORY_V1_HEADER_SIZE + recs +
                      EXSTP_HISTORY_CHECKSUM_SIZE;
    uint8_t *v1 = malloc(n1);
    assert_non_null(v1);
    memcpy(v1, v2, EXSTP_HISTORY_V1_HEADER_SIZE);
    memcpy(v1 + EXSTP_HISTORY_V1_HEADER_SIZE,
           (uint8_t *)v2 + EXSTP_HISTORY_HEADER_SIZE, recs);
    /* The version field (after the 8-byte magic) holds 2 in one byte. */
    for (int k = 8; k < 12; k++)
        if (v1[k] == 2)
            v1[k] = 1;
    crypto_generichash(v1 + n1 - EXSTP_HISTORY_CHECKSUM_SIZE,
                       EXSTP_HISTORY_CHECKSUM_SIZE, v1,
                       n1 - EXSTP_HISTORY_CHECKSUM_SIZE, NULL, 0);
    exst_free(v2);
    assert_int_equal(exst_history_deserialize(&h, v1, n1, "v1", &err),
                     EXST_OK);
    free(v1);
    int64_t P = 0, W = 0;
    exst_history_policy(h, &P, &W);
    assert_int_equal(P, EXST_TIME_NONE);
    assert_int_equal(W, EXST_TIME_NONE);
    j = show(h, "13", EXST_TIME_NONE, EXST_TIME_NONE);
    pol = json_object_get(j, "policy");
    assert_string_equal(sget(pol, "staging_period_s_source"), "default");
    assert_int_equal(json_array_size(json_object_get(j, "notes")), 1);
    json_t *rel = json_object_get(j, "relays");
    /* Relay 1: run from hour 30, 30 h old, P = 4d by default. */
    assert_string_equal(sget(json_array_get(rel, 0), "state"), "in_staging");
    assert_string_equal(sget(json_array_get(rel, 1), "state"), "absent");
    json_decref(j);
    /* With --staging-period 1d it has graduated. */
    j = show(h, "1", 86400, EXST_TIME_NONE);
    assert_string_equal(
        sget(json_array_get(json_object_get(j, "relays"), 0), "state"),
        "graduated");
    assert_int_equal(json_array_size(json_object_get(j, "notes")), 1);
    json_decref(j);
    exst_history_free(h);
}

/* db init --grandfather records the P an apply without options would
 * use, so db show has one at once. */
static void test_grandfather_records_policy(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    char *path = tu_path(tu_project_dir(), "consensus/valid/minimal-ns");
    assert_int_equal(tu_read_file(path, &text, &len), 0);
    free(path);
    exst_consensus *c = NULL;
    exst_history *h = NULL;
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_consensus_parse(&c, text, len, "minimal-ns", NULL,
                                          &err),
                     EXST_OK);
    assert_int_equal(exst_history_new(&h, EXST_CLOCK_EXIT), EXST_OK);
    assert_int_equal(exst_stage_grandfather(h, c, &err), EXST_OK);
    int64_t P = 0, W = 0;
    exst_history_policy(h, &P, &W);
    int32_t v;
    assert_int_equal(P, exst_consensus_param(c, "exit_staging_secs", &v)
                            ? (int64_t)v
                            : P4D);
    assert_int_equal(W, W24);
    exst_history_free(h);
    exst_consensus_free(c);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_show_json),
        cmocka_unit_test(test_policy_unknown),
        cmocka_unit_test(test_grandfather_records_policy),
    };
    if (exst_init() != EXST_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
