/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_stage.c - staging one consensus: the lifecycle rules of SPEC 3 put
 * together.  The effective policy is resolved (command line over consensus
 * parameters over defaults, each value's source kept), the history is
 * updated, relays whose run is younger than P lose Exit unless stripping
 * is off, the weights are recomputed when the self-check allows it, and
 * the annotated consensus, the report and the timeline record are built.
 * The history update (observe) and the decision for one staging period
 * (evaluate) are separate steps, so that the lanes of a replay that share
 * a reset window share one update (exst_stage_int.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "exst_consensus_int.h"
#include "exst_int.h"
#include "exst_json_int.h"
#include "exst_sha_int.h"
#include "exst_sigcheck_int.h"
#include "exst_stage_int.h"

#define MAX_WARNINGS 8

struct exst_stage_result {
    exst_stage_summary sum;
    char *output;
    size_t output_len;
    char *report;
    char *timeline;
    uint8_t (*staging)[20];
    size_t n_staging;
    uint8_t *in_staging; /* per relay */
    uint8_t *strip;      /* per relay */
    uint8_t *exempted;   /* per relay: in staging but for the exempt set */
    int64_t *eligible;   /* per relay */
    char *warnings[MAX_WARNINGS];
    size_t n_warnings;
};

typedef struct policy {
    int64_t P, W, retention;
    exst_source P_src, W_src, enabled_src, enforce_src, clock_src;
    int enabled;
    exst_enforce enforce;
    exst_clock clock;
} policy;

static const char *source_name(exst_source s)
{
    switch (s) {
    case EXST_SOURCE_CONSENSUS: return "consensus";
    case EXST_SOURCE_COMMAND_LINE: return "command-line";
    case EXST_SOURCE_HISTORY: return "history";
    default: return "default";
    }
}

static void warn(exst_stage_result *r, const char *fmt, ...)
    EXSTP_PRINTF(2, 3);

static void warn(exst_stage_result *r, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    if (r->n_warnings == MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = exstp_strndup(buf, strlen(buf));
    if (s != NULL)
        r->warnings[r->n_warnings++] = s;
}

/* A duration parameter from the consensus, clamped as tor clamps.  r may
 * be NULL (no warnings). */
static void param_duration(exst_stage_result *r, const exst_consensus *c,
                           const char *key, int64_t *val, exst_source *src)
{
    int32_t v;
    if (!exst_consensus_param(c, key, &v))
        return;
    int64_t x = v;
    if (x < 0 || x > EXST_MAX_DURATION) {
        int64_t clamped = x < 0 ? 0 : EXST_MAX_DURATION;
        if (r != NULL)
            warn(r, "consensus parameter %s=%lld is out of range; clamped "
                    "to %lld", key, (long long)x, (long long)clamped);
        x = clamped;
    }
    *val = x;
    *src = EXST_SOURCE_CONSENSUS;
}

static void resolve_policy(policy *p, exst_stage_result *r,
                           const exst_consensus *c, const exst_history *h,
                           const exst_stage_opts *o)
{
    memset(p, 0, sizeof *p);
    p->P = EXST_DEFAULT_STAGING_PERIOD;
    p->W = EXST_DEFAULT_RESET_AFTER;
    p->enabled = 1;
    p->enforce = o->enforce;
    p->enforce_src = o->enforce_set ? EXST_SOURCE_COMMAND_LINE
                                    : EXST_SOURCE_DEFAULT;
    p->clock = exst_history_clock(h);
    p->clock_src = o->clock_set ? EXST_SOURCE_COMMAND_LINE
                                : EXST_SOURCE_HISTORY;
    if (!o->ignore_consensus_params) {
        int32_t v;
        param_duration(r, c, "exit_staging_secs", &p->P, &p->P_src);
        param_duration(r, c, "exit_staging_reset_secs", &p->W, &p->W_src);
        if (exst_consensus_param(c, "exit_staging_enabled", &v)) {
            /* A 0/1 parameter: tor clamps it into range. */
            if ((v < 0 || v > 1) && r != NULL)
                warn(r, "consensus parameter exit_staging_enabled=%ld is "
                        "out of range; clamped to %d",
                     (long)v, v < 0 ? 0 : 1);
            p->enabled = v > 0;
            p->enabled_src = EXST_SOURCE_CONSENSUS;
        }
    }
    if (o->staging_period_set) {
        p->P = o->staging_period_s;
        p->P_src = EXST_SOURCE_COMMAND_LINE;
    }
    if (o->reset_after_set) {
        p->W = o->reset_after_s;
        p->W_src = EXST_SOURCE_COMMAND_LINE;
    }
    p->retention = o->retention_s > 0 ? o->retention_s
                                      : EXST_DEFAULT_RETENTION;
    if (p->retention < p->W)
        p->retention = p->W; /* SPEC 2.3: never less than W */
}

/* The library's SHA-256 (SHA extensions where the processor has them),
 * the same digest as libsodium's at several times the speed. */
static void hex_sha256(char out[65], const void *p, size_t n)
{
    uint8_t d[EXSTP_SHA256_BYTES];
    exstp_sha256(d, p, n);
    sodium_bin2hex(out, 65, d, sizeof d);
}

static json_t *weights_json(const exst_weights *w)
{
    if (!w->present)
        return json_null();
    json_t *o = json_object();
    for (int k = 0; k < EXST_W_COUNT; k++)
        json_object_set_new(o, exst_weight_name(k),
                            json_integer((json_int_t)w->w[k]));
    return o;
}

static json_t *str_n(const char *p, size_t n)
{
    return json_stringn(p, n);
}

static json_t *counts_json(const exst_stage_counts *k)
{
    json_t *o = json_object();
    json_object_set_new(o, "exit_candidates",
                        json_integer((json_int_t)k->exit_candidates));
    json_object_set_new(o, "in_staging",
                        json_integer((json_int_t)k->in_staging));
    json_object_set_new(o, "stripped", json_integer((json_int_t)k->stripped));
    json_object_set_new(o, "graduated",
                        json_integer((json_int_t)k->graduated));
    json_object_set_new(o, "new_runs", json_integer((json_int_t)k->new_runs));
    json_object_set_new(o, "restarted_runs",
                        json_integer((json_int_t)k->restarted_runs));
    json_object_set_new(o, "grandfathered",
                        json_integer((json_int_t)k->grandfathered));
    json_object_set_new(o, "badexit_candidates",
                        json_integer((json_int_t)k->badexit_candidates));
    json_object_set_new(o, "stripped_badexit",
                        json_integer((json_int_t)k->stripped_badexit));
    json_object_set_new(o, "exempted", json_integer((json_int_t)k->exempted));
    return o;
}

/* Round to 6 decimals so reports don't carry float noise. */
static json_t *frac_json(double x)
{
    return json_real(round(x * 1e6) / 1e6);
}

typedef struct work {
    const exst_consensus *c;
    const exst_history *h;
    const exstp_obs *ob;
    const policy *pol;
    const exst_stage_opts *o;
    const uint8_t *in_staging; /* per relay */
    const uint8_t *strip;      /* per relay */
    const uint8_t *exempted;   /* per relay */
    const int64_t *run_start;  /* per relay (exit candidates meaningful) */
    const int64_t *eligible;   /* per relay */
    exst_weights w_in, w_out;
    char sha_in[65];
    char sha_out[65];
} work;

static int build_report(exst_stage_result *r, const work *wk,
                        exst_error *err)
{
    const exst_consensus *c = wk->c;
    const policy *p = wk->pol;
    const exst_stage_summary *s = &r->sum;
    json_t *root = json_object();
    json_t *tool = json_object(), *cons = json_object(), *pol = json_object();
    json_t *hist = json_object(), *bw = json_object(), *guard = json_object();
    json_t *stripped = json_array(), *staging = json_array();
    json_t *exempted = json_array();
    json_t *out = json_object(), *notes = json_array();
    char fp[41];

    json_object_set_new(root, "schema_version", json_integer(1));
    json_object_set_new(tool, "name", json_string("exitstage"));
    json_object_set_new(tool, "version", json_string(exst_version()));
    json_object_set_new(root, "tool", tool);

    json_object_set_new(cons, "flavor",
                        json_string(c->flavor == EXST_FLAVOR_NS ? "ns"
                                                                : "microdesc"));
    json_object_set_new(cons, "valid_after", exstp_json_time(c->valid_after));
    json_object_set_new(cons, "consensus_method", json_integer(c->method));
    json_object_set_new(cons, "relays", json_integer((json_int_t)c->n_relays));
    json_object_set_new(cons, "sha256", json_string(wk->sha_in));
    json_object_set_new(root, "consensus", cons);

    json_object_set_new(pol, "staging_period_s", json_integer(p->P));
    json_object_set_new(pol, "staging_period_s_source",
                        json_string(source_name(p->P_src)));
    json_object_set_new(pol, "reset_after_s", json_integer(p->W));
    json_object_set_new(pol, "reset_after_s_source",
                        json_string(source_name(p->W_src)));
    json_object_set_new(pol, "clock",
                        json_string(p->clock == EXST_CLOCK_RELAY ? "relay"
                                                                 : "exit"));
    json_object_set_new(pol, "clock_source",
                        json_string(source_name(p->clock_src)));
    json_object_set_new(pol, "enforce",
                        json_string(p->enforce == EXST_ENFORCE_BADEXIT
                                        ? "badexit" : "flag"));
    json_object_set_new(pol, "enforce_source",
                        json_string(source_name(p->enforce_src)));
    json_object_set_new(pol, "enabled", json_boolean(p->enabled));
    json_object_set_new(pol, "enabled_source",
                        json_string(source_name(p->enabled_src)));
    json_object_set_new(pol, "retention_s", json_integer(p->retention));
    json_object_set_new(pol, "exempt",
                        json_integer((json_int_t)wk->o->n_exempt));
    json_object_set_new(root, "policy", pol);

    json_object_set_new(hist, "observed_since",
                        exstp_json_time(exst_history_observed_since(wk->h)));
    json_object_set_new(hist, "warming_up", json_boolean(s->warming_up));
    json_object_set_new(hist, "phase", json_string(exst_phase_name(s->phase)));
    json_object_set_new(hist, "bootstrap",
                        json_string(exst_history_bootstrap(wk->h) ==
                                            EXST_BOOTSTRAP_NONE
                                        ? "none"
                                        : "grandfather"));
    json_object_set_new(hist, "grandfathered",
                        json_boolean(exst_history_grandfathered(wk->h)));
    json_object_set_new(hist, "relays",
                        json_integer((json_int_t)exst_history_count(wk->h)));
    json_object_set_new(root, "history", hist);

    json_object_set_new(root, "counts", counts_json(&s->counts));

    json_object_set_new(bw, "exit_candidates",
                        json_integer((json_int_t)s->exit_bandwidth));
    json_object_set_new(bw, "stripped",
                        json_integer((json_int_t)s->stripped_bandwidth));
    json_object_set_new(bw, "stripped_fraction",
                        frac_json(s->stripped_fraction));
    json_object_set_new(bw, "stripped_exit_share",
                        frac_json(s->stripped_exit_share));
    json_object_set_new(bw, "weights_in", weights_json(&wk->w_in));
    json_object_set_new(bw, "weights_out", weights_json(&wk->w_out));
    json_object_set_new(bw, "weights_recomputed",
                        json_boolean(s->weights_recomputed));
    json_object_set_new(root, "bandwidth", bw);

    json_object_set_new(guard, "enabled", json_boolean(wk->o->guard_set));
    json_object_set_new(guard, "max_fraction",
                        wk->o->guard_set ? frac_json(wk->o->max_strip_fraction)
                                         : json_null());
    json_object_set_new(guard, "fraction", frac_json(s->would_strip_fraction));
    json_object_set_new(guard, "tripped", json_boolean(s->guard_tripped));
    json_object_set_new(root, "capacity_guard", guard);

    for (size_t i = 0; i < c->n_relays; i++) {
        const exstp_relay *rl = &c->relays[i];
        if (wk->exempted[i])
            json_array_append_new(exempted,
                                  json_string(exst_fingerprint_hex(
                                      fp, wk->ob->ids[i])));
        if (!wk->in_staging[i])
            continue;
        const uint8_t *id = wk->ob->ids[i];
        json_array_append_new(staging,
                              json_string(exst_fingerprint_hex(fp, id)));
        if (!wk->strip[i])
            continue;
        json_t *e = json_object();
        json_object_set_new(e, "fingerprint",
                            json_string(exst_fingerprint_hex(fp, id)));
        json_object_set_new(e, "nickname",
                            str_n(c->doc + rl->nick_off, rl->nick_len));
        json_object_set_new(e, "address",
                            str_n(c->doc + rl->addr_off, rl->addr_len));
        json_object_set_new(e, "or_port", json_integer(rl->or_port));
        json_object_set_new(e, "bandwidth", json_integer(rl->bandwidth));
        json_object_set_new(e, "run_start", exstp_json_time(wk->run_start[i]));
        json_object_set_new(e, "eligible_at", exstp_json_time(wk->eligible[i]));
        json_object_set_new(e, "remaining_s",
                            json_integer(wk->eligible[i] - c->valid_after));
        json_array_append_new(stripped, e);
    }
    json_object_set_new(root, "stripped", stripped);
    json_object_set_new(root, "in_staging", staging);
    json_object_set_new(root, "exempted", exempted);

    /* SPEC 8: the signature check the consensus passed, null when its
     * signatures were not checked. */
    json_t *sig = wk->o->signatures != NULL
                      ? exstp_sigcheck_to_json(wk->o->signatures)
                      : json_null();
    if (sig == NULL) {
        json_decref(root);
        json_decref(out);
        json_decref(notes);
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                  "out of memory");
    }
    json_object_set_new(root, "signatures", sig);

    json_object_set_new(out, "sha256", (wk->o->produce & EXST_STAGE_OUTPUT)
                                           ? json_string(wk->sha_out)
                                           : json_null());
    json_object_set_new(root, "output", out);

    if (!p->enabled)
        json_array_append_new(notes,
                              json_string("exit_staging_enabled=0 in the "
                                          "consensus parameters: nothing "
                                          "stripped"));
    if (s->guard_tripped)
        json_array_append_new(notes,
                              json_string("capacity guard tripped: the "
                                          "relays in staging carry more "
                                          "exit bandwidth than "
                                          "--max-strip-fraction allows; "
                                          "nothing stripped"));
    if (s->phase == EXST_PHASE_BOOTSTRAP)
        json_array_append_new(notes,
                              json_string("bootstrap: relays the history "
                                          "first sees within the reset "
                                          "window of its first consensus "
                                          "are grandfathered, so the "
                                          "relays in staging are not yet "
                                          "all known"));
    else if (s->phase == EXST_PHASE_RAMP &&
             exst_history_bootstrap(wk->h) == EXST_BOOTSTRAP_NONE)
        json_array_append_new(notes,
                              json_string("warming up: the history is "
                                          "younger than the staging period "
                                          "and was started with --bootstrap "
                                          "none, so every relay looks new"));
    else if (s->phase == EXST_PHASE_RAMP)
        json_array_append_new(notes,
                              json_string("ramp: the history is younger "
                                          "than the reset window plus the "
                                          "staging period, so relays new "
                                          "since it began have not all had "
                                          "time to be counted"));
    for (size_t i = 0; i < r->n_warnings; i++)
        json_array_append_new(notes, json_string(r->warnings[i]));
    json_object_set_new(root, "notes", notes);
    return exstp_json_finish(&r->report, root, false, err);
}

static int build_timeline(exst_stage_result *r, const work *wk,
                          exst_error *err)
{
    const exst_stage_summary *s = &r->sum;
    const exst_consensus *c = wk->c;
    json_t *root = json_object();
    json_t *stripped = json_array();
    char fp[41];
    json_object_set_new(root, "valid_after", exstp_json_time(s->valid_after));
    json_object_set_new(root, "flavor",
                        json_string(s->flavor == EXST_FLAVOR_NS ? "ns"
                                                                : "microdesc"));
    json_object_set_new(root, "relays", json_integer((json_int_t)c->n_relays));
    json_object_set_new(root, "counts", counts_json(&s->counts));
    json_object_set_new(root, "exit_bandwidth",
                        json_integer((json_int_t)s->exit_bandwidth));
    json_object_set_new(root, "stripped_bandwidth",
                        json_integer((json_int_t)s->stripped_bandwidth));
    json_object_set_new(root, "stripped_fraction",
                        frac_json(s->stripped_fraction));
    json_object_set_new(root, "stripped_exit_share",
                        frac_json(s->stripped_exit_share));
    json_object_set_new(root, "warming_up", json_boolean(s->warming_up));
    json_object_set_new(root, "phase", json_string(exst_phase_name(s->phase)));
    json_object_set_new(root, "staging_period_s",
                        json_integer(s->staging_period_s));
    json_object_set_new(root, "reset_after_s", json_integer(s->reset_after_s));
    json_object_set_new(root, "enabled", json_boolean(s->enabled));
    json_object_set_new(root, "guard_tripped", json_boolean(s->guard_tripped));
    json_object_set_new(root, "weights_recomputed",
                        json_boolean(s->weights_recomputed));
    json_t *held = (wk->o->produce & EXST_STAGE_HELD) ? json_array() : NULL;
    for (size_t i = 0; i < c->n_relays; i++) {
        if (!wk->strip[i])
            continue;
        exst_fingerprint_hex(fp, wk->ob->ids[i]);
        json_array_append_new(stripped, json_string(fp));
        if (held == NULL)
            continue;
        const exstp_relay *rl = &c->relays[i];
        json_t *e = json_object();
        json_object_set_new(e, "fingerprint", json_string(fp));
        json_object_set_new(e, "nickname",
                            str_n(c->doc + rl->nick_off, rl->nick_len));
        json_object_set_new(e, "bandwidth", json_integer(rl->bandwidth));
        json_object_set_new(e, "badexit",
                            json_boolean(wk->ob->flags[i] & EXSTP_OBS_BADEXIT));
        json_object_set_new(e, "run_start", exstp_json_time(wk->run_start[i]));
        json_object_set_new(e, "eligible_at", exstp_json_time(wk->eligible[i]));
        json_array_append_new(held, e);
    }
    json_object_set_new(root, "stripped", stripped);
    if (held != NULL)
        json_object_set_new(root, "stripped_relays", held);
    if (wk->o->produce & EXST_STAGE_DIGESTS)
        json_object_set_new(root, "sha256", json_string(wk->sha_in));
    if (wk->o->produce & EXST_STAGE_PRIMARY)
        json_object_set_new(root, "primary", json_true());
    return exstp_json_finish(&r->timeline, root, true, err);
}

/* ---- observe: one history update per consensus -------------------- */

void exstp_obs_free(exstp_obs *ob)
{
    if (ob == NULL)
        return;
    exst_free(ob->flags);
    exst_free(ob->ids);
    exst_free(ob->run_start);
    exst_free(ob->event);
    memset(ob, 0, sizeof *ob);
}

/* Decode identities and note flags: exit candidates, BadExit, and
 * presence under clock (SPEC 3.1).  Returns how many are present, their
 * identities ascending in present[] and indexes in idx[]. */
static size_t scan_relays(exstp_obs *ob, uint8_t (*present)[20], size_t *idx,
                          exst_clock clock)
{
    const exst_consensus *c = ob->c;
    const uint64_t bad = c->flag_badexit >= 0 ? UINT64_C(1) << c->flag_badexit
                                              : 0;
    size_t np = 0;
    for (size_t i = 0; i < c->n_relays; i++) {
        const bool exit = exst_consensus_relay_is_exit(c, i) != 0;
        uint8_t f = 0;
        if (exit)
            f |= EXSTP_OBS_EXIT;
        if (c->relays[i].flags & bad)
            f |= EXSTP_OBS_BADEXIT;
        if (clock == EXST_CLOCK_RELAY || exit)
            f |= EXSTP_OBS_PRESENT;
        ob->flags[i] = f;
        ob->run_start[i] = EXST_TIME_NONE;
        ob->event[i] = 0xFF;
        if (!(f & (EXSTP_OBS_EXIT | EXSTP_OBS_PRESENT | EXSTP_OBS_BADEXIT)))
            continue;
        exstp_relay_id(c, i, ob->ids[i]);
        if (f & EXSTP_OBS_PRESENT) {
            memcpy(present[np], ob->ids[i], 20);
            idx[np++] = i;
        }
    }
    return np;
}

static int observe(exstp_obs *ob, exst_history *h, const exst_consensus *c,
                   const policy *pol, int grandfather, exst_error *err)
{
    const size_t n = c->n_relays;
    uint8_t (*present)[20] = NULL;
    size_t *idx = NULL;
    int64_t *ps_run = NULL;
    uint8_t *ps_event = NULL;
    int rc = EXST_OK;
    memset(ob, 0, sizeof *ob);
    ob->c = c;
    ob->h = h;
    ob->W = pol->W;
    ob->n = n;
    ob->flags = exstp_calloc(n + 1, 1);
    ob->ids = exstp_calloc(n + 1, 20);
    ob->run_start = exstp_calloc(n + 1, sizeof *ob->run_start);
    ob->event = exstp_calloc(n + 1, 1);
    present = exstp_calloc(n + 1, sizeof *present);
    idx = exstp_calloc(n + 1, sizeof *idx);
    ps_run = exstp_calloc(n + 1, sizeof *ps_run);
    ps_event = exstp_calloc(n + 1, 1);
    if (!ob->flags || !ob->ids || !ob->run_start || !ob->event || !present ||
        !idx || !ps_run || !ps_event) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
        goto done;
    }
    const size_t np = scan_relays(ob, present, idx, exst_history_clock(h));
    exst_observation obs = {
        .valid_after = c->valid_after,
        .flavor = c->flavor,
        .present = (const uint8_t(*)[20])present,
        .n_present = np,
        .reset_after_s = pol->W,
        .staging_period_s = pol->P,
        .retention_s = grandfather ? 0 : pol->retention,
        .grandfather = grandfather,
    };
    rc = exst_history_observe(h, &obs, ps_run, ps_event, err);
    if (rc != EXST_OK)
        goto done;
    for (size_t k = 0; k < np; k++) {
        ob->run_start[idx[k]] = ps_run[k];
        ob->event[idx[k]] = ps_event[k];
        if (ps_event[k] == EXST_RUN_NEW)
            ob->new_runs++;
        else if (ps_event[k] == EXST_RUN_RESTARTED)
            ob->restarted_runs++;
        else if (ps_event[k] == EXST_RUN_GRANDFATHERED)
            ob->grandfathered++;
    }
done:
    exst_free(present);
    exst_free(idx);
    exst_free(ps_run);
    exst_free(ps_event);
    if (rc != EXST_OK)
        exstp_obs_free(ob);
    return rc;
}

int exstp_stage_observe(exstp_obs *ob, exst_history *h,
                        const exst_consensus *c, const exst_stage_opts *o,
                        exst_error *err)
{
    policy pol;
    resolve_policy(&pol, NULL, c, h, o);
    /* An eligibility time must be writable (SPEC 4.2: ISO-8601 years of
     * four digits): the last processable valid-after is 9999-12-31
     * 23:59:59 less P. */
    if (c->valid_after > EXST_TIME_LATEST - pol.P) {
        char ts[21];
        memset(ob, 0, sizeof *ob);
        return exstp_error_simple(err, EXST_ERR_LIMIT, NULL,
                                  "valid-after %s is too late: eligibility "
                                  "times (valid-after plus the staging "
                                  "period of %llds) would pass "
                                  "9999-12-31T23:59:59Z",
                                  exst_time_iso(ts, c->valid_after),
                                  (long long)pol.P);
    }
    return observe(ob, h, c, &pol, 0, err);
}

int exst_stage_grandfather(exst_history *h, const exst_consensus *c,
                           exst_error *err)
{
    policy pol;
    exst_stage_opts none;
    memset(&none, 0, sizeof none);
    /* The history records the P an apply without options would use here
     * (the consensus parameter, else the default), so that `db show`
     * right after `db init --grandfather` has one; the window stays the
     * default. */
    resolve_policy(&pol, NULL, c, h, &none);
    pol.W = EXST_DEFAULT_RESET_AFTER;
    exstp_obs ob;
    int rc = observe(&ob, h, c, &pol, 1, err);
    exstp_obs_free(&ob);
    return rc;
}

/* ---- evaluate: one staging period on an observation ---------------- */

/* The exempt set (SPEC 10) is searched once per exit candidate in
 * staging, so it must be sorted; checking that costs one pass. */
static int check_exempt(const exst_stage_opts *o, exst_error *err)
{
    if (o->n_exempt == 0)
        return EXST_OK;
    if (o->exempt == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "exempt set: %zu identit%s announced, "
                                  "none given", o->n_exempt,
                                  o->n_exempt == 1 ? "y" : "ies");
    for (size_t i = 1; i < o->n_exempt; i++)
        if (memcmp(o->exempt[i - 1], o->exempt[i], 20) >= 0)
            return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                      "exempt set: identities must be in "
                                      "ascending order without repeats "
                                      "(entry %zu)", i + 1);
    return EXST_OK;
}

static bool is_exempt(const exst_stage_opts *o, const uint8_t id[20])
{
    size_t lo = 0, hi = o->n_exempt;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = memcmp(o->exempt[mid], id, 20);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

const uint8_t *exstp_stage_in_staging(const exst_stage_result *r)
{
    return r->in_staging;
}

const uint8_t *exstp_stage_strip(const exst_stage_result *r)
{
    return r->strip;
}

const int64_t *exstp_stage_eligible(const exst_stage_result *r)
{
    return r->eligible;
}

int exstp_stage_evaluate(exst_stage_result **out, const exstp_obs *ob,
                         const exst_stage_opts *o, exst_error *err)
{
    const exst_consensus *c = ob->c;
    exst_stage_result *r = exstp_calloc(1, sizeof *r);
    work wk;
    policy pol;
    int rc = EXST_OK;
    const int64_t t = c->valid_after;
    const size_t n = c->n_relays;

    *out = NULL;
    memset(&wk, 0, sizeof wk);
    if (r == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    if ((rc = check_exempt(o, err)) != EXST_OK) {
        exst_stage_result_free(r);
        return rc;
    }
    resolve_policy(&pol, r, c, ob->h, o);
    pol.W = ob->W; /* the window the history was updated with */
    r->in_staging = exstp_calloc(n + 1, 1);
    r->strip = exstp_calloc(n + 1, 1);
    r->eligible = exstp_calloc(n + 1, sizeof *r->eligible);
    r->exempted = exstp_calloc(n + 1, 1);
    if (!r->in_staging || !r->strip || !r->eligible || !r->exempted) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
        goto done;
    }
    wk.c = c;
    wk.h = ob->h;
    wk.ob = ob;
    wk.pol = &pol;
    wk.o = o;
    wk.in_staging = r->in_staging;
    wk.strip = r->strip;
    wk.exempted = r->exempted;
    wk.run_start = ob->run_start;
    wk.eligible = r->eligible;

    exst_stage_summary *s = &r->sum;
    s->valid_after = t;
    s->flavor = c->flavor;
    s->staging_period_s = pol.P;
    s->reset_after_s = pol.W;
    s->enabled = pol.enabled;
    s->phase = exst_history_phase(ob->h, t, pol.P, pol.W);
    s->warming_up = s->phase != EXST_PHASE_STEADY;
    s->counts.new_runs = ob->new_runs;
    s->counts.restarted_runs = ob->restarted_runs;
    s->counts.grandfathered = ob->grandfathered;

    /* Staging (3.3) and the guard's fraction (3.6). */
    const uint64_t guard = c->flag_guard >= 0 ? UINT64_C(1) << c->flag_guard
                                              : 0;
    uint64_t staging_bw = 0;
    for (size_t i = 0; i < n; i++) {
        r->eligible[i] = EXST_TIME_NONE;
        if (!(ob->flags[i] & EXSTP_OBS_EXIT))
            continue;
        const exstp_relay *rl = &c->relays[i];
        const bool is_bad = (ob->flags[i] & EXSTP_OBS_BADEXIT) != 0;
        s->counts.exit_candidates++;
        if (is_bad)
            s->counts.badexit_candidates++;
        else
            s->exit_bandwidth += rl->bandwidth;
        int64_t rs = ob->run_start[i];
        if (rs != EXST_TIME_UNKNOWN && rs != EXST_TIME_NONE && pol.P > 0 &&
            t - rs < pol.P && o->n_exempt > 0 && is_exempt(o, ob->ids[i])) {
            /* Vouched for: neither staged nor graduated, and out of the
             * guard's fraction. */
            r->exempted[i] = 1;
            s->counts.exempted++;
        } else if (rs != EXST_TIME_UNKNOWN && rs != EXST_TIME_NONE &&
                   pol.P > 0 && t - rs < pol.P) {
            r->in_staging[i] = 1;
            r->eligible[i] = rs + pol.P;
            s->counts.in_staging++;
            if (!is_bad)
                staging_bw += rl->bandwidth;
        } else {
            s->counts.graduated++;
        }
    }
    s->would_strip_fraction =
        s->exit_bandwidth ? (double)staging_bw / (double)s->exit_bandwidth : 0;
    if (o->guard_set && s->would_strip_fraction > o->max_strip_fraction) {
        s->guard_tripped = 1;
        warn(r, "capacity guard tripped: %.4f of exit bandwidth is in "
                "staging, above --max-strip-fraction %.4f; nothing stripped",
             s->would_strip_fraction, o->max_strip_fraction);
    }
    const bool stripping = pol.enabled && !s->guard_tripped;
    /* BadExit joins known-flags when it is added to a relay; tor reads
     * at most 64 known flags, and so does the parser. */
    if (stripping && s->counts.in_staging > 0 &&
        pol.enforce == EXST_ENFORCE_BADEXIT && c->flag_badexit < 0 &&
        c->n_flags >= EXSTP_MAX_FLAGS) {
        rc = exstp_error_simple(err, EXST_ERR_LIMIT, NULL,
                                "--enforce badexit would add BadExit to "
                                "known-flags, which already lists %zu "
                                "flags (the most tor reads); nothing "
                                "written",
                                c->n_flags);
        goto done;
    }
    r->staging = exstp_calloc(s->counts.in_staging + 1, 20);
    if (r->staging == NULL) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
        goto done;
    }
    /* Exit-position weights of the input (Wed for Exit+Guard, Wee). */
    exst_consensus_weights_in(&wk.w_in, c);
    double wed = 10000, wee = 10000, share_all = 0, share_strip = 0;
    if (wk.w_in.present) {
        wed = (double)wk.w_in.w[EXST_W_WED];
        wee = (double)wk.w_in.w[EXST_W_WEE];
    }
    for (size_t i = 0; i < n; i++) {
        if (!(ob->flags[i] & EXSTP_OBS_EXIT))
            continue;
        const exstp_relay *rl = &c->relays[i];
        const bool is_bad = (ob->flags[i] & EXSTP_OBS_BADEXIT) != 0;
        double pos = (double)rl->bandwidth * ((rl->flags & guard) ? wed : wee);
        if (!is_bad)
            share_all += pos;
        if (!r->in_staging[i])
            continue;
        memcpy(r->staging[r->n_staging++], ob->ids[i], 20);
        if (stripping) {
            r->strip[i] = 1;
            s->counts.stripped++;
            if (is_bad) {
                s->counts.stripped_badexit++;
            } else {
                s->stripped_bandwidth += rl->bandwidth;
                share_strip += pos;
            }
        }
    }
    s->stripped_fraction = s->exit_bandwidth ? (double)s->stripped_bandwidth /
                                                   (double)s->exit_bandwidth
                                             : 0;
    s->stripped_exit_share = share_all > 0 ? share_strip / share_all : 0;

    /* Weights (3.5): recomputed from the output flags only where they are
     * written (the output or the report); a lane that only counts needs
     * to know whether they would be. */
    wk.w_out = wk.w_in;
    if (!o->no_reweight) {
        if (exstp_consensus_weights_match_cached(c)) {
            if (o->produce & (EXST_STAGE_OUTPUT | EXST_STAGE_REPORT))
                exst_consensus_weights(&wk.w_out, NULL, c, r->strip);
            s->weights_recomputed = 1;
        } else {
            char ts[21];
            warn(r, "bandwidth-weights self-check failed for the consensus "
                    "of %s (recomputing from the unmodified input does not "
                    "reproduce its line): the original line is kept",
                 exst_time_iso(ts, t));
        }
    }

    if (o->produce & EXST_STAGE_OUTPUT) {
        exst_annotation ann = {
            .staging_period_s = pol.P,
            .reset_after_s = pol.W,
            .clock = pol.clock,
            .enforce = pol.enforce,
            .stripped = s->counts.stripped,
        };
        exst_write_opts wo = {
            .strip = r->strip,
            .run_start = ob->run_start,
            .eligible_at = r->eligible,
            .enforce = pol.enforce,
            .weights = s->weights_recomputed && s->counts.stripped > 0
                           ? &wk.w_out : NULL,
            .annotation = o->no_annotate ? NULL : &ann,
            .strip_signatures = o->strip_signatures,
        };
        rc = exst_consensus_write(&r->output, &r->output_len, c, &wo, err);
        if (rc != EXST_OK)
            goto done;
    }
    /* The input is hashed once per run: a caller that checked the
     * signatures already has its SHA-256 (exst_consensus_digests). */
    if ((o->produce & (EXST_STAGE_REPORT | EXST_STAGE_DIGESTS)) &&
        o->digests != NULL && (o->digests->have & EXST_DIGEST_INPUT_SHA256))
        sodium_bin2hex(wk.sha_in, sizeof wk.sha_in, o->digests->input_sha256,
                       sizeof o->digests->input_sha256);
    else if (o->produce & (EXST_STAGE_REPORT | EXST_STAGE_DIGESTS))
        hex_sha256(wk.sha_in, c->doc, c->len);
    if ((o->produce & EXST_STAGE_REPORT) && (o->produce & EXST_STAGE_OUTPUT))
        hex_sha256(wk.sha_out, r->output, r->output_len);
    if (o->produce & EXST_STAGE_REPORT) {
        if ((rc = build_report(r, &wk, err)) != EXST_OK)
            goto done;
    }
    if (o->produce & EXST_STAGE_TIMELINE) {
        if ((rc = build_timeline(r, &wk, err)) != EXST_OK)
            goto done;
    }
done:
    if (rc != EXST_OK) {
        exst_stage_result_free(r);
        return rc;
    }
    *out = r;
    return EXST_OK;
}

int exst_stage_run(exst_stage_result **out, exst_history *h,
                   const exst_consensus *c, const exst_stage_opts *o,
                   exst_error *err)
{
    exstp_obs ob;
    *out = NULL;
    int rc = exstp_stage_observe(&ob, h, c, o, err);
    if (rc != EXST_OK)
        return rc;
    rc = exstp_stage_evaluate(out, &ob, o, err);
    if (rc != EXST_OK) {
        /* The observe above left one step to take back. */
        int undone = exst_history_undo(h);
        (void)undone;
    }
    exstp_obs_free(&ob);
    return rc;
}

void exst_stage_result_free(exst_stage_result *r)
{
    if (r == NULL)
        return;
    exst_free(r->output);
    exst_free(r->report);
    exst_free(r->timeline);
    exst_free(r->staging);
    exst_free(r->in_staging);
    exst_free(r->strip);
    exst_free(r->eligible);
    exst_free(r->exempted);
    for (size_t i = 0; i < r->n_warnings; i++)
        exst_free(r->warnings[i]);
    exst_free(r);
}

static exst_span span_of(const char *p, size_t n)
{
    exst_span s = {p ? p : "", p ? n : 0};
    return s;
}

exst_span exst_stage_output(const exst_stage_result *r)
{
    return span_of(r->output, r->output_len);
}

exst_span exst_stage_report(const exst_stage_result *r)
{
    return span_of(r->report, r->report ? strlen(r->report) : 0);
}

exst_span exst_stage_timeline(const exst_stage_result *r)
{
    return span_of(r->timeline, r->timeline ? strlen(r->timeline) : 0);
}

const exst_stage_summary *exst_stage_get_summary(const exst_stage_result *r)
{
    return &r->sum;
}

size_t exst_stage_in_staging_count(const exst_stage_result *r)
{
    return r->n_staging;
}

const uint8_t *exst_stage_in_staging_id(const exst_stage_result *r, size_t i)
{
    return r->staging[i];
}

size_t exst_stage_warning_count(const exst_stage_result *r)
{
    return r->n_warnings;
}

const char *exst_stage_warning(const exst_stage_result *r, size_t i)
{
    return i < r->n_warnings ? r->warnings[i] : "";
}
