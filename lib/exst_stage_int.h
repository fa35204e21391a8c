/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_stage_int.h - staging in two steps, for the replay engine's lanes
 * (SPEC 9): a consensus is observed once per history (the run starts of
 * SPEC 3.2 depend only on W and the clock), then evaluated once per
 * staging period P that shares the history.  exst_stage_run is the two
 * steps together.  Never installed.
 */
#ifndef EXST_STAGE_INT_H
#define EXST_STAGE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exitstage.h"

/* Per relay flags of an observation. */
#define EXSTP_OBS_EXIT 0x1u    /* exit candidate (Exit in the input) */
#define EXSTP_OBS_BADEXIT 0x2u /* BadExit in the input */
#define EXSTP_OBS_PRESENT 0x4u /* present under the history's clock */

/* One consensus observed in one history. */
typedef struct exstp_obs {
    const exst_consensus *c;
    exst_history *h;         /* after the update */
    int64_t W;               /* reset window in effect */
    size_t n;                /* relays in c */
    uint8_t *flags;          /* per relay, EXSTP_OBS_* */
    uint8_t (*ids)[20];      /* per relay; decoded for exit candidates,
                                BadExit and present relays, zero
                                otherwise */
    int64_t *run_start;      /* per relay: after the update; EXST_TIME_NONE
                                when not present */
    uint8_t *event;          /* per relay: EXST_RUN_*, or 0xFF */
    size_t new_runs, restarted_runs, grandfathered;
} exstp_obs;

/* Resolve W (and retention) for c, update h once, and fill ob.  On
 * failure h is unchanged and ob needs no free. */
int exstp_stage_observe(exstp_obs *ob, exst_history *h,
                        const exst_consensus *c, const exst_stage_opts *o,
                        exst_error *err);
void exstp_obs_free(exstp_obs *ob);

/* Decide staging for one staging period (o's, or the consensus's) on an
 * observation, and produce what o->produce asks for.  h is not touched. */
int exstp_stage_evaluate(exst_stage_result **out, const exstp_obs *ob,
                         const exst_stage_opts *o, exst_error *err);

/* Per relay results of an evaluation, borrowed from r: nonzero bytes for
 * relays in staging and for relays stripped, and the eligibility times
 * (EXST_TIME_NONE for relays not in staging). */
const uint8_t *exstp_stage_in_staging(const exst_stage_result *r);
const uint8_t *exstp_stage_strip(const exst_stage_result *r);
const int64_t *exstp_stage_eligible(const exst_stage_result *r);

#endif /* EXST_STAGE_INT_H */
