/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_adoc_int.h - the analysis document of a replay (SPEC 9,
 * schema_version 1), read and validated into plain C arrays for the HTML
 * renderer (lib/exst_html.c).  The reader is lib/exst_adoc.c.
 */
#ifndef EXST_ADOC_INT_H
#define EXST_ADOC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "exitstage.h"

enum { EXSTP_PH_BOOTSTRAP, EXSTP_PH_RAMP, EXSTP_PH_STEADY, EXSTP_N_PHASES };

/* "bootstrap", "ramp", "steady": the spans' keys and the series' phases. */
extern const char *const exstp_phase_names[EXSTP_N_PHASES];

/* What a value of the document must be. */
typedef enum exstp_kind {
    EXSTP_K_COUNT,    /* an integer >= 0 (int64_t) */
    EXSTP_K_FRACTION, /* a number from 0 to 1 (double) */
    EXSTP_K_REAL,     /* a number >= 0 (double) */
    EXSTP_K_TIME,     /* "2026-01-01T00:00:00Z" (int64_t Unix seconds) */
    EXSTP_K_STRING,   /* a string (const char *, borrowed) */
    EXSTP_K_BOOL,     /* true or false (bool) */
    EXSTP_K_OBJECT,   /* an object (json_t *, borrowed) */
    EXSTP_K_ARRAY     /* an array (json_t *, borrowed) */
} exstp_kind;

/* A lane figure: null, or a value (i for counts and times, v for
 * numbers). */
typedef struct exstp_figure {
    bool null;
    int64_t i;
    double v;
} exstp_figure;

/* The per-lane figures of SPEC 9, in the order the lane table shows them:
 * denied_share and watched_denied_share are neighbours on purpose, so the
 * reader compares them. */
enum {
    EXSTP_F_CONSENSUSES,
    EXSTP_F_MEAN_FRACTION,
    EXSTP_F_PEAK_FRACTION,
    EXSTP_F_PEAK_AT,
    EXSTP_F_MEAN_STRIPPED,
    EXSTP_F_RELAYS_STAGED,
    EXSTP_F_DENIED_SHARE,
    EXSTP_F_WATCHED_DENIED_SHARE,
    EXSTP_F_WATCHED,
    EXSTP_F_FULLY_DENIED,
    EXSTP_N_FIGURES
};

/* Each figure's JSON key, kind (all may also be null) and column
 * heading. */
typedef struct exstp_figure_def {
    const char *key;
    exstp_kind kind;
    const char *heading;
} exstp_figure_def;

extern const exstp_figure_def exstp_adoc_figures[EXSTP_N_FIGURES];

/* spans.bootstrap, .ramp, .steady: absent when the document has null. */
typedef struct exstp_phase_span {
    bool present;
    int64_t from, to, consensuses;
} exstp_phase_span;

/* A gap: the consensuses before and after it, and the hours between. */
typedef struct exstp_adoc_gap {
    int64_t from, to, missing_hours;
} exstp_adoc_gap;

typedef struct exstp_adoc_lane {
    int64_t period, reset; /* staging_period_s, reset_after_s */
    bool primary;
    exstp_phase_span spans[EXSTP_N_PHASES];
    exstp_adoc_gap *gaps; /* ascending, not overlapping */
    size_t n_gaps;
    exstp_figure fig[EXSTP_N_FIGURES];
    size_t n;             /* series length */
    int64_t *t;           /* valid_after, strictly ascending */
    unsigned char *phase; /* EXSTP_PH_* */
    double *fraction;     /* stripped_fraction */
    int64_t *in_staging;
    int64_t *stripped;
    char label[80]; /* "P=4d W=24h", as the lane is named everywhere */
    char colour[8]; /* set by the renderer: "#1f77b4" */
    int dash;       /* set by the renderer: a dash pattern's index */
} exstp_adoc_lane;

typedef struct exstp_watched {
    const char *fingerprint; /* 40 uppercase hex digits */
    const char *nickname;    /* NULL when the document has null */
    int64_t caught_at;       /* EXST_TIME_NONE: never caught */
    const char *source;      /* "watchlist" or "badexit" */
    int64_t *exits;          /* per lane: exit_consensuses */
    int64_t *denied;         /* per lane: denied (<= exits) */
} exstp_watched;

/* A validated document.  Strings are borrowed from root, which it owns. */
typedef struct exstp_adoc {
    json_t *root;
    const char *tool_name, *tool_version;
    const char *clock, *enforce, *bootstrap;
    exstp_figure max_strip; /* policy.max_strip_fraction */
    int64_t first, last;    /* EXST_TIME_NONE when null */
    int64_t documents, hours;
    json_t *by_flavor, *skipped; /* objects whose values are counts */
    exstp_adoc_lane *lanes;           /* at least one */
    size_t n_lanes, primary;     /* exactly one lane is primary */
    exstp_watched *watched;
    size_t n_watched;
    int64_t *wl;     /* storage of the watched relays' per-lane counts */
    int legend_cols; /* set by the renderer */
} exstp_adoc;

/*
 * Read and check the analysis document (text, len) into a (which must be
 * zeroed).  Every type, length, order and range the schema sets is
 * checked; unknown members are ignored.  On failure a may hold part of
 * the document: exstp_adoc_free it either way.
 * @return EXST_OK; EXST_ERR_SYNTAX (jansson's line, column and offset),
 * EXST_ERR_SEMANTIC ("PATH: message", PATH such as
 * "lanes[2].series.phase[17]"), EXST_ERR_NOMEM.
 */
int exstp_adoc_read(exstp_adoc *a, const char *text, size_t len,
                        exst_error *err);

/* Free what a holds and zero it. */
void exstp_adoc_free(exstp_adoc *a);

#endif /* EXST_ADOC_INT_H */
