/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_show.c - "is it staged, and until when?" (SPEC 10, `exitstage db
 * show`): where a relay stands at the history's newest consensus,
 * computed from its record alone with the staging period and reset
 * window in effect there (or given), and the same as JSON.  Only the
 * public history interface is used: this is a reader of histories, not
 * part of their rules.
 */
#include <string.h>

#include <jansson.h>

#include "exst_int.h"
#include "exst_json_int.h"

void exst_history_relay_status(exst_relay_status *out, const exst_history *h,
                               const uint8_t id[20], int64_t staging_s,
                               int64_t reset_s)
{
    exst_record rec;
    memset(out, 0, sizeof *out);
    out->run_start = EXST_TIME_NONE;
    out->eligible_at = EXST_TIME_NONE;
    out->last_seen = EXST_TIME_NONE;
    out->absence_start = EXST_TIME_NONE;
    out->restarts_at = EXST_TIME_NONE;
    if (h == NULL || id == NULL || !exst_history_find(h, id, &rec))
        return;
    const int64_t t = exst_history_newest(h);
    out->found = 1;
    out->run_start = rec.run_start;
    out->last_seen = rec.last_seen;
    out->absence_start = rec.absence_start;
    out->grandfathered = rec.run_start == EXST_TIME_UNKNOWN;
    out->present = rec.absence_start == EXST_TIME_NONE && rec.last_seen == t;
    const int known = rec.run_start != EXST_TIME_UNKNOWN &&
                      rec.run_start != EXST_TIME_NONE;
    if (known && staging_s >= 0)
        out->eligible_at = rec.run_start + staging_s;
    out->in_staging = out->present && known && staging_s > 0 &&
                      t - rec.run_start < staging_s;
    if (rec.absence_start != EXST_TIME_NONE && reset_s >= 0)
        out->restarts_at = rec.absence_start + reset_s;
}

static int put(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

static const char *state_name(const exst_relay_status *st)
{
    if (!st->found)
        return "unknown";
    if (!st->present)
        return "absent";
    if (st->in_staging)
        return "in_staging";
    return st->grandfathered ? "grandfathered" : "graduated";
}

static json_t *relay_json(const exst_history *h, const uint8_t id[20],
                          int64_t P, int64_t W)
{
    exst_relay_status st;
    char fp[41];
    const int64_t t = exst_history_newest(h);
    exst_history_relay_status(&st, h, id, P, W);
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    const int absent = st.found && st.absence_start != EXST_TIME_NONE;
    const int ok =
        put(o, "fingerprint", json_string(exst_fingerprint_hex(fp, id))) &&
        put(o, "found", json_boolean(st.found)) &&
        put(o, "state", json_string(state_name(&st))) &&
        put(o, "present", json_boolean(st.present)) &&
        put(o, "in_staging", json_boolean(st.in_staging)) &&
        put(o, "grandfathered", json_boolean(st.grandfathered)) &&
        put(o, "run_start", exstp_json_time(st.run_start)) &&
        put(o, "eligible_at", exstp_json_time(st.eligible_at)) &&
        put(o, "remaining_s",
            st.in_staging ? json_integer((json_int_t)(st.eligible_at - t))
                          : json_null()) &&
        put(o, "last_seen", exstp_json_time(st.last_seen)) &&
        put(o, "absent_since", exstp_json_time(st.absence_start)) &&
        put(o, "absent_s",
            absent ? json_integer((json_int_t)(t - st.absence_start))
                   : json_null()) &&
        put(o, "restarts_at", exstp_json_time(st.restarts_at));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int exst_history_show_json(char **out, const exst_history *h,
                           const uint8_t (*ids)[20], size_t n_ids,
                           int64_t staging_s, int64_t reset_s,
                           exst_error *err)
{
    if (out == NULL || h == NULL || (ids == NULL && n_ids > 0))
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "history show: missing argument");
    *out = NULL;
    const int64_t given[2] = {staging_s, reset_s};
    for (int k = 0; k < 2; k++)
        if (given[k] != EXST_TIME_NONE &&
            (given[k] < 0 || given[k] > EXST_MAX_DURATION))
            return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                      "history show: %s %lld is out of "
                                      "range",
                                      k == 0 ? "staging period"
                                             : "reset window",
                                      (long long)given[k]);
    int64_t hp, hw;
    exst_history_policy(h, &hp, &hw);
    const char *p_src = "command-line", *w_src = "command-line";
    int64_t P = staging_s, W = reset_s;
    if (P == EXST_TIME_NONE) {
        P = hp != EXST_TIME_NONE ? hp : EXST_DEFAULT_STAGING_PERIOD;
        p_src = hp != EXST_TIME_NONE ? "history" : "default";
    }
    if (W == EXST_TIME_NONE) {
        W = hw != EXST_TIME_NONE ? hw : EXST_DEFAULT_RESET_AFTER;
        w_src = hw != EXST_TIME_NONE ? "history" : "default";
    }
    const int64_t t = exst_history_newest(h);

    json_t *root = json_object(), *pol = json_object();
    json_t *relays = json_array(), *notes = json_array();
    int ok = root && pol && relays && notes;
    ok = ok && put(pol, "staging_period_s", json_integer((json_int_t)P)) &&
         put(pol, "staging_period_s_source", json_string(p_src)) &&
         put(pol, "reset_after_s", json_integer((json_int_t)W)) &&
         put(pol, "reset_after_s_source", json_string(w_src));
    if (ok) {
        ok = json_object_set_new(root, "policy", pol) == 0;
        pol = NULL;
    }
    ok = ok && put(root, "schema_version", json_integer(1)) &&
         put(root, "as_of", exstp_json_time(t)) &&
         put(root, "observed_since",
             exstp_json_time(exst_history_observed_since(h))) &&
         put(root, "clock",
             json_string(exst_history_clock(h) == EXST_CLOCK_RELAY
                             ? "relay"
                             : "exit")) &&
         put(root, "phase",
             t == EXST_TIME_NONE
                 ? json_null()
                 : json_string(exst_phase_name(
                       exst_history_phase(h, t, P, W))));
    for (size_t i = 0; ok && i < n_ids; i++) {
        json_t *r = relay_json(h, ids[i], P, W);
        ok = r != NULL && json_array_append_new(relays, r) == 0;
    }
    if (ok && t == EXST_TIME_NONE)
        ok = json_array_append_new(
                 notes, json_string("the history has processed no "
                                    "consensus yet")) == 0;
    if (ok && (!strcmp(p_src, "default") || !strcmp(w_src, "default")))
        ok = json_array_append_new(
                 notes,
                 json_string("the history does not record the staging "
                             "period and reset window in effect (written "
                             "by exitstage 0.1, or empty): the defaults "
                             "are assumed; give --staging-period and "
                             "--reset-after to override")) == 0;
    if (ok && exst_history_clock(h) == EXST_CLOCK_RELAY)
        ok = json_array_append_new(
                 notes,
                 json_string("clock relay: in_staging means in staging if "
                             "the relay is an exit candidate; the history "
                             "does not record which relays are")) == 0;
    if (ok) {
        ok = json_object_set_new(root, "relays", relays) == 0;
        relays = NULL;
    }
    if (ok) {
        ok = json_object_set_new(root, "notes", notes) == 0;
        notes = NULL;
    }
    json_decref(pol);
    json_decref(relays);
    json_decref(notes);
    if (!ok) {
        json_decref(root);
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                  "history show: out of memory");
    }
    return exstp_json_finish(out, root, false, err);
}
