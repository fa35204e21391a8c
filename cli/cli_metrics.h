/* SPDX-License-Identifier: BSD-3-Clause */
/* cli_metrics.h - the Prometheus textfile `apply --metrics FILE` writes
 * (SPEC 10). */
#ifndef CLI_METRICS_H
#define CLI_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exitstage.h"

/* What one apply run has to say. */
typedef struct cli_metrics {
    int exit_status;         /* the run's exit status */
    int64_t started;         /* wall clock (or --now) at the start */
    double duration_s;       /* until the outputs were written */
    int64_t last_success;    /* start of the last successful run;
                                EXST_TIME_NONE: none known */
    bool staged;             /* the fields below are set (success) */
    exst_stage_summary sum;
    size_t relays;           /* relays in the consensus */
    size_t history_relays;   /* records in the history after the run */
    bool sig_checked;        /* --certs: the signatures were checked
                                (accepted, or rejected: a failed run) */
    size_t sig_good;         /* trusted authorities with a good one */
    size_t sig_required;     /* good ones needed */
} cli_metrics;

/* Seconds on a monotonic clock, for durations. */
double cli_monotonic(void);

/* The metrics in the text exposition format (# HELP, # TYPE, samples),
 * in a new buffer (free()); NULL when out of memory.  Without m->staged
 * only the run's own metrics (exit status, times) are written: a failed
 * run leaves no consensus figure that could pass for current. */
char *cli_metrics_format(size_t *len, const cli_metrics *m);

/* The exitstage_last_success_timestamp_seconds value in an existing
 * metrics file at path, or EXST_TIME_NONE (no file, no such line). */
int64_t cli_metrics_last_success(const char *path);

#endif
