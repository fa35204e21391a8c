/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_analysis_int.h - the figures of SPEC 9, accumulated one document
 * at a time per lane: the replay engine feeds them from live staging
 * decisions, `exitstage report` from saved timeline records, and both
 * print the same summary and analysis document.  Never installed.
 */
#ifndef EXST_ANALYSIS_INT_H
#define EXST_ANALYSIS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "exitstage.h"

typedef struct exstp_analysis exstp_analysis;

/* One lane's view of one document. */
typedef struct exstp_lane_doc {
    int64_t t;
    exst_flavor flavor;
    exst_phase phase;
    double stripped_fraction;
    size_t exit_candidates, badexit_candidates;
    size_t in_staging, stripped, stripped_badexit;
    const uint8_t (*stripped_ids)[20]; /* n = stripped */
} exstp_lane_doc;

/* What the analysis says at the top (the policy common to all lanes). */
typedef struct exstp_analysis_info {
    exst_clock clock;
    exst_enforce enforce;
    exst_bootstrap bootstrap;
    double max_strip_fraction; /* < 0: guard off */
} exstp_analysis_info;

int exstp_analysis_new(exstp_analysis **out, const exstp_analysis_info *info,
                       exst_error *err);
void exstp_analysis_free(exstp_analysis *a);

/* Lanes, in order (P outer, W inner; the first is primary).  P or W of
 * EXST_TIME_NONE means "the consensus parameter, else the default": the
 * lane's figures then show the values seen last. */
int exstp_analysis_add_lane(exstp_analysis *a, int64_t P, int64_t W,
                            exst_error *err);
size_t exstp_analysis_lanes(const exstp_analysis *a);

/* A document is about to be fed (every lane's view of it follows).
 * Returns true when it is the document counted for its hour (SPEC 9: the
 * first of its valid-after, ns before microdesc); the watched relays'
 * figures use that answer. */
bool exstp_analysis_begin_doc(exstp_analysis *a, int64_t t,
                              exst_flavor flavor);
/* Lane i's view of the current document (P and W as in effect). */
int exstp_analysis_lane_doc(exstp_analysis *a, size_t lane, int64_t P,
                            int64_t W, const exstp_lane_doc *d,
                            exst_error *err);

/* Skipped documents and other archive counts, for the summary. */
typedef struct exstp_archive_counts {
    uint64_t documents;       /* processed */
    uint64_t by_flavor[2];
    uint64_t not_consensus, duplicates, bad, resumed, outside;
    int64_t first, last;      /* processed valid-afters */
} exstp_archive_counts;

/* ---- watched relays (SPEC 9) ---- */

/* Watch a relay, caught at `caught` (EXST_TIME_NONE: never caught), from
 * source "watchlist" or "badexit".  Repeats keep the earliest time. */
int exstp_analysis_watch(exstp_analysis *a, const uint8_t id[20],
                         int64_t caught, const char *source,
                         exst_error *err);
/* --watch-badexit: every relay seen with BadExit is watched, caught at its
 * first such consensus. */
void exstp_analysis_watch_badexit(exstp_analysis *a, bool on);
/* One relay of the current counted-or-not document: is it an exit
 * candidate, does it carry BadExit, its nickname; and per lane whether it
 * was stripped (strip[lane], n_lanes entries) and whether the document is
 * steady for the lane (steady[lane]).  Call for every exit candidate of
 * every document (only watched or possibly watched relays are kept). */
int exstp_analysis_relay(exstp_analysis *a, const uint8_t id[20],
                         const char *nick, size_t nick_len, bool badexit,
                         const uint8_t *strip, const uint8_t *steady,
                         exst_error *err);
/* Whether relay figures are wanted at all (a watch list or
 * --watch-badexit). */
bool exstp_analysis_watching(const exstp_analysis *a);
/* Lay down a watched table read from a summary (report --summary):
 * watched (the "watched" array) is kept and printed as it is. */
int exstp_analysis_set_watched_json(exstp_analysis *a, json_t *watched,
                                    exst_error *err);

/* ---- results ---- */

void exstp_analysis_figures(const exstp_analysis *a, size_t lane,
                            exst_lane_figures *out);
/* Gap g of lane i: missing span [from, to] (first and last missing hour)
 * and how many hours. */
void exstp_analysis_gap(const exstp_analysis *a, size_t lane, size_t g,
                        int64_t *from, int64_t *to, uint64_t *hours);

/* The summary (series false) or the analysis document for the HTML page
 * (series true), schema_version 1, as JSON text (exst_free). */
int exstp_analysis_json(char **out, const exstp_analysis *a,
                        const exstp_archive_counts *counts, bool series,
                        exst_error *err);

#endif /* EXST_ANALYSIS_INT_H */
