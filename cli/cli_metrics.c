/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_metrics.c - `apply --metrics FILE` (SPEC 10): one Prometheus
 * textfile-collector file per run, in the text exposition format
 * (version 0.0.4: "# HELP" and "# TYPE" before each metric's samples,
 * names prefixed exitstage_, units in the names).  Every value is a
 * gauge: each run replaces the file whole, so there is nothing to count
 * across runs.  The run's own metrics (exit status, start, duration, last
 * success) are always written; the consensus figures only when the run
 * succeeded, so that a failed run never leaves figures that look current.
 */
#include "cli_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double cli_monotonic(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void head(FILE *f, const char *name, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void gauge_i(FILE *f, const char *name, const char *help, long long v)
{
    head(f, name, help);
    fprintf(f, "%s %lld\n", name, v);
}

static void gauge_d(FILE *f, const char *name, const char *help, double v)
{
    head(f, name, help);
    fprintf(f, "%s %.9g\n", name, v);
}

/* SPEC 8, 10: the signature check result.  Without --certs only
 * exitstage_signatures_checked 0, so an alert can tell "not checked" from
 * "checked and short". */
static void signatures(FILE *f, const cli_metrics *m)
{
    gauge_i(f, "exitstage_signatures_checked",
            "1 if the consensus's authority signatures were checked "
            "(--certs) before staging, 0 if they were not checked.",
            m->sig_checked ? 1 : 0);
    if (!m->sig_checked)
        return;
    gauge_i(f, "exitstage_signatures_good",
            "Trusted authorities with a good signature on the consensus.",
            (long long)m->sig_good);
    gauge_i(f, "exitstage_signatures_required",
            "Good signatures needed to accept the consensus (more than "
            "half of the trusted authorities).",
            (long long)m->sig_required);
}

char *cli_metrics_format(size_t *len, const cli_metrics *m)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (f == NULL)
        return NULL;

    gauge_i(f, "exitstage_exit_status",
            "Exit status of the last apply run: 0 success, 1 operational "
            "failure, 2 usage error, 3 input rejected, 128+N signal N.",
            m->exit_status);
    gauge_i(f, "exitstage_run_timestamp_seconds",
            "When the last apply run started, in seconds since the epoch.",
            (long long)m->started);
    gauge_d(f, "exitstage_run_duration_seconds",
            "How long the last apply run took until its outputs were "
            "written.", m->duration_s);
    gauge_i(f, "exitstage_last_success_timestamp_seconds",
            "When the last successful apply run started, in seconds since "
            "the epoch (0: none recorded).",
            m->last_success == EXST_TIME_NONE ? 0
                                              : (long long)m->last_success);
    if (!m->staged) {
        /* A rejected consensus (--certs) says how far it fell short. */
        if (m->sig_checked)
            signatures(f, m);
        goto done;
    }

    const exst_stage_summary *s = &m->sum;
    gauge_i(f, "exitstage_consensus_valid_after_seconds",
            "valid-after of the consensus the last run staged, in seconds "
            "since the epoch.", (long long)s->valid_after);
    gauge_i(f, "exitstage_consensus_relays",
            "Relays listed in the consensus.", (long long)m->relays);
    gauge_i(f, "exitstage_exit_candidates",
            "Relays with the Exit flag in the input consensus.",
            (long long)s->counts.exit_candidates);
    gauge_i(f, "exitstage_relays_in_staging",
            "Exit candidates still in their staging period, stripped or "
            "not.", (long long)s->counts.in_staging);
    gauge_i(f, "exitstage_relays_stripped",
            "Relays whose Exit flag was removed.",
            (long long)s->counts.stripped);
    gauge_i(f, "exitstage_relays_graduated",
            "Exit candidates past their staging period (grandfathered "
            "included).", (long long)s->counts.graduated);
    gauge_i(f, "exitstage_relays_exempted",
            "Exit candidates in staging but for --exempt.",
            (long long)s->counts.exempted);
    gauge_d(f, "exitstage_stripped_exit_bandwidth_ratio",
            "Share of exit-candidate bandwidth (BadExit left out) that was "
            "stripped.", s->stripped_fraction);
    gauge_d(f, "exitstage_staging_exit_bandwidth_ratio",
            "Share of exit-candidate bandwidth (BadExit left out) in "
            "staging: what the capacity guard compares with "
            "--max-strip-fraction.", s->would_strip_fraction);
    gauge_i(f, "exitstage_capacity_guard_tripped",
            "1 if the capacity guard tripped and nothing was stripped.",
            s->guard_tripped ? 1 : 0);
    gauge_i(f, "exitstage_staging_enabled",
            "0 if the consensus parameter exit_staging_enabled turned "
            "stripping off.", s->enabled ? 1 : 0);
    gauge_i(f, "exitstage_staging_period_seconds",
            "Staging period P in effect.", (long long)s->staging_period_s);
    gauge_i(f, "exitstage_reset_after_seconds",
            "Reset window W in effect.", (long long)s->reset_after_s);
    gauge_i(f, "exitstage_weights_recomputed",
            "1 if the bandwidth-weights line was recomputed, 0 if the "
            "original was kept (--no-reweight or a failed self-check).",
            s->weights_recomputed ? 1 : 0);
    head(f, "exitstage_history_phase",
         "The history's phase at this consensus: 1 for the current one of "
         "bootstrap, ramp and steady.");
    static const exst_phase phases[] = {EXST_PHASE_BOOTSTRAP, EXST_PHASE_RAMP,
                                        EXST_PHASE_STEADY};
    for (size_t i = 0; i < 3; i++)
        fprintf(f, "exitstage_history_phase{phase=\"%s\"} %d\n",
                exst_phase_name(phases[i]), s->phase == phases[i] ? 1 : 0);
    gauge_i(f, "exitstage_history_relays",
            "Relay records in the history after the run.",
            (long long)m->history_relays);
    signatures(f, m);
done:
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int64_t cli_metrics_last_success(const char *path)
{
    static const char key[] = "exitstage_last_success_timestamp_seconds ";
    FILE *f = fopen(path, "r");
    char line[256];
    int64_t v = EXST_TIME_NONE;
    if (f == NULL)
        return v;
    for (int i = 0; i < 200 && fgets(line, sizeof line, f) != NULL; i++) {
        if (strncmp(line, key, sizeof key - 1) != 0)
            continue;
        char *p = line + sizeof key - 1;
        p[strcspn(p, "\n")] = '\0';
        int64_t x;
        if (exst_time_parse(&x, p, NULL) == EXST_OK && x > 0)
            v = x;
        break;
    }
    fclose(f);
    return v;
}
