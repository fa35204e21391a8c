/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_replay.c - `exitstage replay [options] PATH...`: replay archived
 * consensuses in valid-after order, in one or several lanes (SPEC 2.2,
 * 4.3, 4.4, 9).  The engine is the library's (exst_replay_*); this file
 * has the options, the progress line, the human summary and the files
 * written at the end (summary, HTML page).  --certs and --sign-key are
 * the engine's (SPEC 8); the files written at the end (timeline, trace,
 * summary, page) are signed here, together, after the replay.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_policy.h"
#include "cli_trust.h"
#include "cli_util.h"
#include "exitstage.h"

enum {
    OPT_DB = OPT_LOCAL,
    OPT_TIMELINE,
    OPT_TIMELINE_FORMAT,
    OPT_OUT_DIR,
    OPT_REPORTS_DIR,
    OPT_KEEP_GOING,
    OPT_DIGESTS,
    OPT_CHECKPOINT,
    OPT_THREADS,
    OPT_READ_AHEAD,
    OPT_SPOOL_DIR,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_SUMMARY,
    OPT_HTML,
    OPT_WATCHLIST,
    OPT_WATCH_BADEXIT,
    OPT_TRACE,
    OPT_TRACE_FILE,
    OPT_TRACE_OUT
};

#define MAX_LIST 64

static void replay_help(void)
{
    fputs("usage: exitstage replay [--db FILE] [options] PATH...\n"
          "\n"
          "Replays consensus files, directories, tar archives and compressed\n"
          "ones (zstd, xz, gzip: CollecTor's monthly tarballs as downloaded)\n"
          "and '-' in valid-after order, in every lane (each staging period\n"
          "with each reset window), and summarises what staging would have\n"
          "done over the steady consensuses.\n"
          "\n"
          "  --db FILE              keep the history in FILE (created if\n"
          "                         missing; resumed); without: in memory\n"
          "  --staging-period LIST  e.g. 1d,2d,4d,7d (first: primary lane)\n"
          "  --reset-after LIST     e.g. 12h,24h,48h\n"
          "  --timeline FILE|-      a record per consensus and lane\n"
          "  --timeline-format ndjson|csv\n"
          "  --digests              sha256 of each input in the timeline\n"
          "  --summary FILE         the summary as JSON\n"
          "  --html FILE            the analysis as one HTML page\n"
          "  --out-dir DIR          annotated consensuses (primary lane)\n"
          "  --reports-dir DIR      one JSON report per consensus\n"
          "  --watchlist FILE       relays to watch (FINGERPRINT [TIME])\n"
          "  --watch-badexit        watch every relay seen with BadExit\n"
          "  --trace FP|NICKNAME    NDJSON events for a relay (repeatable)\n"
          "  --trace-file FILE      relays to trace, one a line\n"
          "  --trace-out FILE|-     where trace events go (default: -)\n"
          "  --since TIME, --until TIME  only consensuses in that span\n"
          "  --checkpoint N         commit every N consensuses (default "
          "168)\n"
          "  --keep-going           skip bad documents, list them at the end\n"
          "  --threads N            inputs read at once (default: the "
          "CPUs)\n"
          "  --read-ahead SIZE      decompressed bytes held ahead (default 2\n"
          "                         largest documents); beyond: --spool-dir\n"
          "  --spool-dir DIR        default $TMPDIR or /tmp\n"
          "\n" CLI_POLICY_HELP "\n" CLI_TRUST_HELP, stdout);
}

/* "1d,2d,4d" into out (at most MAX_LIST), as durations. */
static int duration_list(int64_t *out, size_t *n, const char *opt,
                         const char *arg)
{
    char buf[1024];
    if (strlen(arg) >= sizeof buf)
        return cli_usage("%s: list too long", opt);
    memcpy(buf, arg, strlen(arg) + 1);
    *n = 0;
    for (char *p = buf, *q; p != NULL; p = q) {
        q = strchr(p, ',');
        if (q != NULL)
            *q++ = '\0';
        if (*n == MAX_LIST)
            return cli_usage("%s: at most %d values", opt, MAX_LIST);
        int rc = cli_duration(&out[*n], opt, p);
        if (rc != EXIT_OK)
            return rc;
        (*n)++;
    }
    return EXIT_OK;
}

/* "128M", "1G", "65536" into bytes. */
static int size_arg(size_t *out, const char *opt, const char *arg)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    unsigned long long mul = 1;
    if (end != arg && *end != '\0' && end[1] == '\0') {
        switch (*end) {
        case 'k': case 'K': mul = 1ull << 10; end++; break;
        case 'm': case 'M': mul = 1ull << 20; end++; break;
        case 'g': case 'G': mul = 1ull << 30; end++; break;
        default: break;
        }
    }
    if (end == arg || *end != '\0' || errno != 0 || v == 0 ||
        v > (1ull << 44) / mul)
        return cli_usage("%s: expected a size such as 64M or 1G, found '%s'",
                         opt, arg);
    *out = (size_t)(v * mul);
    return EXIT_OK;
}

/* Read one selector a line ('#' comments) from path, for --trace-file. */
static int read_lines(char ***list, size_t *n, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        cli_msg("cannot open '%s': %s", path, strerror(errno));
        return EXIT_FAIL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = EXIT_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        char *h = strchr(line, '#');
        if (h != NULL)
            *h = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t k = strcspn(p, " \t\r\n");
        if (k == 0)
            continue;
        char **l = realloc(*list, (*n + 1) * sizeof *l);
        char *s = malloc(k + 1);
        if (l == NULL || s == NULL) {
            free(s);
            if (l != NULL)
                *list = l;
            cli_msg("out of memory");
            rc = EXIT_FAIL;
            break;
        }
        *list = l;
        memcpy(s, p, k);
        s[k] = '\0';
        (*list)[(*n)++] = s;
    }
    free(line);
    fclose(f);
    return rc;
}

/* A whole file into a new buffer (free()), for signing the append-only
 * outputs (timeline, trace) once the replay is over. */
static int read_all(char **out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    *len = 0;
    if (f == NULL) {
        cli_msg("cannot open '%s': %s", path, strerror(errno));
        return EXIT_FAIL;
    }
    for (;;) {
        if (cap - n < 65536) {
            char *b = realloc(buf, cap ? cap * 2 : 1 << 20);
            if (b == NULL) {
                free(buf);
                fclose(f);
                cli_msg("out of memory");
                return EXIT_FAIL;
            }
            buf = b;
            cap = cap ? cap * 2 : 1 << 20;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        cli_msg("cannot read '%s'", path);
        return EXIT_FAIL;
    }
    *out = buf;
    *len = n;
    return EXIT_OK;
}

/* ---- progress and summary -------------------------------------------- */

typedef struct view {
    bool progress;
    struct timespec t0;
    double last;
    uint64_t docs0;
} view;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_warn(void *ud, const char *msg)
{
    (void)ud;
    cli_warn("%s", msg);
}

static void on_info(void *ud, const char *msg)
{
    (void)ud;
    cli_info("%s", msg);
}

/* One line, redrawn at most five times a second: the valid-after
 * reached and documents per second always (a pipe has no total); a bar
 * and an ETA when every input's size is known. */
static void on_progress(void *ud, const exst_replay_progress *p)
{
    view *v = ud;
    if (!v->progress)
        return;
    double t = now_s();
    if (t - v->last < 0.2)
        return;
    v->last = t;
    double el = t - ((double)v->t0.tv_sec + (double)v->t0.tv_nsec / 1e9);
    char va[21] = "-";
    if (p->valid_after != EXST_TIME_NONE)
        exst_time_iso(va, p->valid_after);
    double dps = el > 0 ? (double)p->documents / el : 0;
    double mbs = el > 0 ? (double)p->bytes_in / 1e6 / el : 0;
    if (p->bytes_total > 0 && p->bytes_in <= p->bytes_total) {
        double frac = (double)p->bytes_in / (double)p->bytes_total;
        double eta = frac > 0 && frac < 1 ? el / frac - el : 0;
        char bar[21];
        int fill = (int)(frac * 20);
        for (int i = 0; i < 20; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[20] = '\0';
        fprintf(stderr,
                "\r[%s] %s, %llu docs, %.1f docs/s, %.1f MB/s in, "
                "input %zu/%zu, ETA %02d:%02d ",
                bar, va, (unsigned long long)p->documents, dps, mbs,
                p->source, p->sources, (int)(eta / 60), (int)eta % 60);
    } else {
        fprintf(stderr, "\r%s, %llu docs, %.1f docs/s, %.1f MB/s in, "
                        "input %zu/%zu ",
                va, (unsigned long long)p->documents, dps, mbs, p->source,
                p->sources);
    }
}

static const char *dur(char *buf, size_t n, int64_t s)
{
    if (s == EXST_TIME_NONE)
        snprintf(buf, n, "param");
    else if (s % 86400 == 0 && s > 0)
        snprintf(buf, n, "%lldd", (long long)(s / 86400));
    else if (s % 3600 == 0)
        snprintf(buf, n, "%lldh", (long long)(s / 3600));
    else
        snprintf(buf, n, "%llds", (long long)s);
    return buf;
}

static void print_fig(const char *label, const char *field, int has,
                      double v)
{
    if (has)
        fprintf(stderr, "    %-34s %.4f   [%s]\n", label, v, field);
    else
        fprintf(stderr, "    %-34s null     [%s]\n", label, field);
}

static void print_lane(const exst_replay *r, size_t i)
{
    exst_lane_figures f;
    char a[21], b[21], p[32], w[32];
    static const char *const phase[3] = {"bootstrap", "ramp", "steady"};
    exst_replay_lane(r, i, &f);
    fprintf(stderr, "  lane P=%s W=%s%s:\n", dur(p, sizeof p, f.staging_period_s),
            dur(w, sizeof w, f.reset_after_s), f.primary ? " (primary)" : "");
    for (int k = 0; k < 3; k++) {
        if (f.span_consensuses[k] == 0)
            fprintf(stderr, "    %-34s none   [spans.%s]\n", phase[k],
                    phase[k]);
        else
            fprintf(stderr, "    %-34s %s .. %s, %llu consensus%s   "
                            "[spans.%s]\n",
                    phase[k], exst_time_iso(a, f.span_from[k]),
                    exst_time_iso(b, f.span_to[k]),
                    (unsigned long long)f.span_consensuses[k],
                    f.span_consensuses[k] == 1 ? "" : "es", phase[k]);
    }
    fprintf(stderr, "    %-34s %llu   [consensuses]\n",
            "steady consensuses counted", (unsigned long long)f.consensuses);
    print_fig("mean stripped exit bandwidth", "mean_stripped_fraction",
              f.has_steady, f.mean_stripped_fraction);
    if (f.has_steady)
        fprintf(stderr, "    %-34s %.4f at %s   [peak_stripped_fraction, "
                        "peak_at]\n",
                "peak stripped exit bandwidth", f.peak_stripped_fraction,
                exst_time_iso(a, f.peak_at));
    else
        fprintf(stderr, "    %-34s null   [peak_stripped_fraction]\n",
                "peak stripped exit bandwidth");
    print_fig("mean relays stripped", "mean_stripped", f.has_steady,
              f.mean_stripped);
    fprintf(stderr, "    %-34s %llu   [relays_staged]\n",
            "distinct relays stripped", (unsigned long long)f.relays_staged);
    print_fig("share of exit consensuses denied", "denied_share",
              f.has_denied_share, f.denied_share);
    if (f.watched > 0 || f.has_watched_share) {
        print_fig("... of watched relays", "watched_denied_share",
                  f.has_watched_share, f.watched_denied_share);
        fprintf(stderr, "    %-34s %llu, %llu denied every time   [watched, "
                        "fully_denied]\n",
                "watched relays that were exits",
                (unsigned long long)f.watched,
                (unsigned long long)f.fully_denied);
    }
    fprintf(stderr, "    %-34s %zu   [gaps]\n", "archive gaps of W or more",
            f.gaps);
    for (size_t g = 0; g < f.gaps && g < 5; g++) {
        int64_t from, to;
        uint64_t h;
        exst_replay_gap(r, i, g, &from, &to, &h);
        fprintf(stderr, "      %s .. %s (%llu hour%s missing)\n",
                exst_time_iso(a, from), exst_time_iso(b, to),
                (unsigned long long)h, h == 1 ? "" : "s");
    }
    if (f.gaps > 5)
        fprintf(stderr, "      ... and %zu more (see --summary)\n",
                f.gaps - 5);
}

static void print_table(const exst_replay *r)
{
    fprintf(stderr, "  lanes (steady consensuses only):\n"
                    "    %-5s %-5s %7s %10s %10s %9s %8s %8s %8s\n",
            "P", "W", "steady", "mean_frac", "peak_frac", "mean_strp",
            "staged", "denied", "w_denied");
    for (size_t i = 0; i < exst_replay_lane_count(r); i++) {
        exst_lane_figures f;
        char p[32], w[32], c[4][16];
        exst_replay_lane(r, i, &f);
        snprintf(c[0], 16, f.has_steady ? "%.4f" : "null",
                 f.mean_stripped_fraction);
        snprintf(c[1], 16, f.has_steady ? "%.4f" : "null",
                 f.peak_stripped_fraction);
        snprintf(c[2], 16, f.has_denied_share ? "%.4f" : "null",
                 f.denied_share);
        snprintf(c[3], 16, f.has_watched_share ? "%.4f" : "null",
                 f.watched_denied_share);
        fprintf(stderr, "    %-5s %-5s %7llu %10s %10s %9.2f %8llu %8s %8s%s\n",
                dur(p, sizeof p, f.staging_period_s),
                dur(w, sizeof w, f.reset_after_s),
                (unsigned long long)f.consensuses, c[0], c[1],
                f.has_steady ? f.mean_stripped : 0.0,
                (unsigned long long)f.relays_staged, c[2], c[3],
                f.primary ? "  primary" : "");
    }
    fprintf(stderr, "    (fields: consensuses, mean_stripped_fraction, "
                    "peak_stripped_fraction, mean_stripped, relays_staged, "
                    "denied_share, watched_denied_share)\n");
}

static void print_summary(const exst_replay *r, int rc, bool committed_db)
{
    const exst_replay_stats *st = exst_replay_get_stats(r);
    char a[21], b[21];
    if (cli_verbosity < 0 && rc == EXIT_OK)
        return;
    const char *note = "";
    if (rc != EXIT_OK && committed_db)
        note = st->commit_failed
                   ? " (stopped early; the history could NOT be committed)"
                   : " (stopped early; history committed up to the last "
                     "good consensus)";
    else if (rc != EXIT_OK)
        note = " (stopped early)";
    fprintf(stderr, "exitstage: replay summary%s\n", note);
    if (st->processed == 0 && st->resumed > 0) {
        fprintf(stderr, "  nothing new: all %llu consensus%s were already in "
                        "the history, so nothing was analysed\n",
                (unsigned long long)st->resumed,
                st->resumed == 1 ? "" : "es");
        return;
    }
    fprintf(stderr, "  consensuses processed:   %llu (ns %llu, microdesc "
                    "%llu)   [archive.documents, archive.by_flavor]\n",
            (unsigned long long)st->processed,
            (unsigned long long)st->by_flavor[0],
            (unsigned long long)st->by_flavor[1]);
    if (st->processed > 0)
        fprintf(stderr, "  time span:               %s .. %s   "
                        "[archive.first, archive.last]\n",
                exst_time_iso(a, st->first), exst_time_iso(b, st->last));
    fprintf(stderr, "  hours counted:           %llu, one consensus each   "
                    "[archive.hours]\n",
            (unsigned long long)st->hours);
    fprintf(stderr, "  gaps in the archive:     %llu (%llu hour%s missing)\n",
            (unsigned long long)st->gaps,
            (unsigned long long)st->missing_hours,
            st->missing_hours == 1 ? "" : "s");
    fprintf(stderr, "  already in the history:  %llu skipped   "
                    "[archive.skipped.resumed]\n",
            (unsigned long long)st->resumed);
    if (st->duplicates)
        fprintf(stderr, "  duplicates skipped:      %llu   "
                        "[archive.skipped.duplicates]\n",
                (unsigned long long)st->duplicates);
    if (st->not_consensus)
        fprintf(stderr, "  not consensuses:         %llu skipped   "
                        "[archive.skipped.not_consensus]\n",
                (unsigned long long)st->not_consensus);
    if (st->outside)
        fprintf(stderr, "  outside --since/--until: %llu skipped   "
                        "[archive.skipped.outside_since_until]\n",
                (unsigned long long)st->outside);
    if (st->bad) {
        fprintf(stderr, "  bad documents skipped:   %llu   "
                        "[archive.skipped.bad]\n",
                (unsigned long long)st->bad);
        for (size_t i = 0; i < exst_replay_bad_count(r); i++)
            fprintf(stderr, "    %s\n", exst_replay_bad(r, i));
    }
    for (size_t i = 0; i < exst_replay_lane_count(r) && i < 1; i++)
        print_lane(r, i);
    if (exst_replay_lane_count(r) > 1)
        print_table(r);
}

/* ---- the command ------------------------------------------------------ */

int cmd_replay(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"db", required_argument, NULL, OPT_DB},
        {"timeline", required_argument, NULL, OPT_TIMELINE},
        {"timeline-format", required_argument, NULL, OPT_TIMELINE_FORMAT},
        {"out-dir", required_argument, NULL, OPT_OUT_DIR},
        {"reports-dir", required_argument, NULL, OPT_REPORTS_DIR},
        {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
        {"digests", no_argument, NULL, OPT_DIGESTS},
        {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"read-ahead", required_argument, NULL, OPT_READ_AHEAD},
        {"spool-dir", required_argument, NULL, OPT_SPOOL_DIR},
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"summary", required_argument, NULL, OPT_SUMMARY},
        {"html", required_argument, NULL, OPT_HTML},
        {"watchlist", required_argument, NULL, OPT_WATCHLIST},
        {"watch-badexit", no_argument, NULL, OPT_WATCH_BADEXIT},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"trace-file", required_argument, NULL, OPT_TRACE_FILE},
        {"trace-out", required_argument, NULL, OPT_TRACE_OUT},
        CLI_POLICY_LONGOPTS,
        CLI_TRUST_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cli_policy pol;
    cli_trust trust;
    exst_replay_opts o;
    int64_t periods[MAX_LIST], resets[MAX_LIST];
    char **trace = NULL;
    size_t n_trace = 0;
    const char *db_arg = NULL, *summary = NULL, *html = NULL;
    const char *trace_file = NULL;
    char *db = NULL, *spool = NULL;
    int ch, rc = EXIT_OK, li = 0;
    exst_replay *r = NULL;
    exst_lock *lock = NULL;
    exst_error err;
    view v;

    memset(&pol, 0, sizeof pol);
    memset(&trust, 0, sizeof trust);
    memset(&o, 0, sizeof o);
    memset(&v, 0, sizeof v);
    exst_error_clear(&err);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = ncpu > 1 ? (unsigned)(ncpu > 64 ? 64 : ncpu) : 1;
    o.timeline_fd = STDOUT_FILENO;
    o.trace_fd = STDOUT_FILENO;
    opterr = 0;
    while (rc == EXIT_OK &&
           (ch = getopt_long(argc, argv, "h" CLI_GLOBAL_SHORTOPTS, longopts,
                             &li)) != -1) {
        const char *name = ch >= OPT_STAGING_PERIOD
                               ? cli_optname(argv, longopts, li)
                               : "";
        switch (ch) {
        case 'h':
            replay_help();
            goto out;
        case OPT_DB:
            db_arg = optarg;
            break;
        case OPT_STAGING_PERIOD:
            rc = duration_list(periods, &o.n_periods, name, optarg);
            o.periods = periods;
            break;
        case OPT_RESET_AFTER:
            rc = duration_list(resets, &o.n_resets, name, optarg);
            o.resets = resets;
            break;
        case OPT_TIMELINE:
            o.timeline_path = optarg;
            break;
        case OPT_TIMELINE_FORMAT:
            if (strcmp(optarg, "csv") == 0)
                o.timeline_csv = 1;
            else if (strcmp(optarg, "ndjson") != 0)
                rc = cli_usage("%s: expected 'ndjson' or 'csv', found '%s'",
                               name, optarg);
            break;
        case OPT_OUT_DIR:
        case OPT_REPORTS_DIR:
        case OPT_SPOOL_DIR:
            if (strcmp(optarg, "-") == 0) {
                rc = cli_usage("%s: '-' is not a directory", name);
                break;
            }
            if (ch == OPT_OUT_DIR)
                o.out_dir = optarg;
            else if (ch == OPT_REPORTS_DIR)
                o.reports_dir = optarg;
            else
                o.spool_dir = optarg;
            break;
        case OPT_KEEP_GOING:
            o.keep_going = 1;
            break;
        case OPT_DIGESTS:
            o.digests = 1;
            break;
        case OPT_CHECKPOINT: {
            char *end = NULL;
            unsigned long x = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || x == 0 || x > 1000000)
                rc = cli_usage("%s: expected a number of consensuses from 1 "
                               "to 1000000", name);
            o.checkpoint = (unsigned)x;
            break;
        }
        case OPT_THREADS: {
            char *end = NULL;
            unsigned long x = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || x == 0 || x > 64)
                rc = cli_usage("%s: expected a number from 1 to 64", name);
            o.threads = (unsigned)x;
            break;
        }
        case OPT_READ_AHEAD:
            rc = size_arg(&o.read_ahead, name, optarg);
            break;
        case OPT_SINCE:
            rc = cli_time(&o.since, name, optarg);
            o.since_set = 1;
            break;
        case OPT_UNTIL:
            rc = cli_time(&o.until, name, optarg);
            o.until_set = 1;
            break;
        case OPT_SUMMARY:
            summary = optarg;
            break;
        case OPT_HTML:
            html = optarg;
            break;
        case OPT_WATCHLIST:
            o.watchlist_path = optarg;
            break;
        case OPT_WATCH_BADEXIT:
            o.watch_badexit = 1;
            break;
        case OPT_TRACE: {
            char **l = realloc(trace, (n_trace + 1) * sizeof *l);
            if (l == NULL) {
                cli_msg("out of memory");
                rc = EXIT_FAIL;
                break;
            }
            trace = l;
            trace[n_trace] = malloc(strlen(optarg) + 1);
            if (trace[n_trace] == NULL) {
                cli_msg("out of memory");
                rc = EXIT_FAIL;
                break;
            }
            memcpy(trace[n_trace++], optarg, strlen(optarg) + 1);
            break;
        }
        case OPT_TRACE_FILE:
            trace_file = optarg;
            break;
        case OPT_TRACE_OUT:
            o.trace_path = optarg;
            break;
        case '?':
            rc = cli_usage("replay: unknown option or missing value in '%s'",
                           argv[optind - 1]);
            break;
        default:
            rc = cli_trust_option(&trust, ch, optarg);
            if (rc < 0)
                rc = cli_policy_option(&pol, ch, optarg);
            if (rc < 0)
                rc = cli_usage("replay: unexpected option");
        }
    }
    if (rc != EXIT_OK)
        goto out;
    if (optind == argc) {
        rc = cli_usage("replay: expected at least one PATH ('-' for "
                       "standard input)");
        goto out;
    }
    if ((rc = cli_policy_check(&pol)) != EXIT_OK)
        goto out;
    if (o.digests && o.timeline_path == NULL) {
        rc = cli_usage("replay: --digests needs --timeline");
        goto out;
    }
    if (o.digests && o.timeline_csv) {
        rc = cli_usage("replay: --digests needs the ndjson timeline");
        goto out;
    }
    if (trace_file != NULL &&
        (rc = read_lines(&trace, &n_trace, trace_file)) != EXIT_OK)
        goto out;
    if (n_trace > 0 && o.trace_path == NULL)
        o.trace_path = "-";
    if (o.trace_path != NULL && n_trace == 0) {
        rc = cli_usage("replay: --trace-out needs --trace or --trace-file");
        goto out;
    }
    int n_stdin = 0, n_stdout = 0;
    for (int i = optind; i < argc; i++)
        n_stdin += strcmp(argv[i], "-") == 0;
    n_stdout += o.timeline_path && strcmp(o.timeline_path, "-") == 0;
    n_stdout += o.trace_path && strcmp(o.trace_path, "-") == 0;
    n_stdout += summary && strcmp(summary, "-") == 0;
    n_stdout += html && strcmp(html, "-") == 0;
    if (n_stdin > 1) {
        rc = cli_usage("replay: '-' may be given once");
        goto out;
    }
    if (n_stdout > 1) {
        rc = cli_usage("replay: only one of --timeline, --trace-out, "
                       "--summary and --html may be '-' (standard output "
                       "carries one stream)");
        goto out;
    }
    const cli_path paths[] = {
        {"--db", db_arg},           {"--timeline", o.timeline_path},
        {"--summary", summary},     {"--html", html},
        {"--trace-out", o.trace_path},
    };
    if ((rc = cli_check_distinct(paths, 5)) != EXIT_OK)
        goto out;
    /* --sign-key: the files written at the end must be regular files
     * (the per-document ones are, inside --out-dir and --reports-dir). */
    const char *signed_outs[4];
    size_t n_signed = 0;
    if (o.timeline_path != NULL)
        signed_outs[n_signed++] = o.timeline_path;
    if (o.trace_path != NULL)
        signed_outs[n_signed++] = o.trace_path;
    if (summary != NULL)
        signed_outs[n_signed++] = summary;
    if (html != NULL)
        signed_outs[n_signed++] = html;
    if ((rc = cli_trust_check_outputs(&trust, signed_outs, n_signed)) !=
            EXIT_OK ||
        (rc = cli_trust_load(&trust)) != EXIT_OK)
        goto out;
    if (o.out_dir && mkdir(o.out_dir, 0777) != 0 && errno != EEXIST) {
        cli_msg("cannot create '%s': %s", o.out_dir, strerror(errno));
        rc = EXIT_FAIL;
        goto out;
    }
    if (o.reports_dir && mkdir(o.reports_dir, 0777) != 0 && errno != EEXIST) {
        cli_msg("cannot create '%s': %s", o.reports_dir, strerror(errno));
        rc = EXIT_FAIL;
        goto out;
    }
    if (o.spool_dir == NULL) {
        const char *t = getenv("TMPDIR");
        o.spool_dir = t != NULL && t[0] != '\0' ? t : "/tmp";
    }
    (void)spool;

    o.stage = pol.so;
    o.parse = pol.popts;
    o.clock = pol.clock;
    o.clock_set = pol.so.clock_set;
    o.bootstrap = pol.bootstrap;
    o.bootstrap_set = pol.bootstrap_set;
    o.trace = (const char *const *)trace;
    o.n_trace = n_trace;
    o.warn = on_warn;
    o.info = on_info;
    o.progress = on_progress;
    o.ud = &v;
    o.interrupt = &cli_interrupted;
    o.certs = trust.certs;
    o.authorities = trust.auth;
    o.sign_key = trust.key;
    v.progress = cli_verbosity >= 0 && isatty(STDERR_FILENO);

    cli_install_signals();
    if (db_arg != NULL) {
        if ((rc = cli_resolve(&db, db_arg)) != EXIT_OK)
            goto out;
        o.db_path = db;
        int s = exst_lock_acquire(&lock, db, pol.wait_s, &cli_interrupted,
                                  &err);
        if (s != EXST_OK) {
            rc = s == EXST_ERR_INTERRUPTED ? cli_interrupt_status()
                                           : cli_report(s, &err);
            goto out;
        }
    }
    int s = exst_replay_new(&r, &o, &err);
    if (s != EXST_OK) {
        rc = cli_report(s, &err);
        if (s == EXST_ERR_DB)
            cli_msg("to recover: 'exitstage db rollback --db %s', or replay "
                    "into a new history", db_arg);
        goto out;
    }
    s = exst_replay_inputs(r, (const char *const *)(argv + optind),
                           (size_t)(argc - optind), &err);
    if (s == EXST_OK) {
        clock_gettime(CLOCK_MONOTONIC, &v.t0);
        s = exst_replay_run(r, &err);
    }
    if (v.progress && v.last > 0)
        fputc('\n', stderr);
    if (s == EXST_ERR_INTERRUPTED || (s != EXST_OK && cli_is_interrupted())) {
        rc = cli_interrupt_status();
        cli_msg("interrupted; history committed up to the last complete "
                "consensus");
    } else if (s != EXST_OK) {
        rc = cli_report(s, &err);
    }
    /* The summary and the page, all or nothing, whatever stopped it. */
    exst_outset *outs = NULL;
    char *sum_json = NULL, *adoc = NULL, *page = NULL;
    size_t page_len = 0;
    exst_error e2;
    exst_error_clear(&e2);
    int s2 = EXST_OK;
    if (summary != NULL)
        s2 = exst_replay_summary_json(&sum_json, r, 0, &e2);
    if (s2 == EXST_OK && html != NULL) {
        s2 = exst_replay_summary_json(&adoc, r, 1, &e2);
        if (s2 == EXST_OK)
            s2 = exst_html_render(&page, &page_len, adoc, strlen(adoc), NULL,
                                  &e2);
    }
    /* Signatures (SPEC 8) of everything written at the end: no
     * consensus of its own, so no valid-after or input digest in the
     * trusted comments.  The timeline and trace as they now stand (what
     * the history holds), read back. */
    const char *at_end[4] = {summary, html, o.timeline_path, o.trace_path};
    const void *at_end_buf[4] = {sum_json, page, NULL, NULL};
    size_t at_end_len[4] = {sum_json ? strlen(sum_json) : 0, page_len, 0, 0};
    char *readback[2] = {NULL, NULL};
    char *sig_text[4] = {NULL, NULL, NULL, NULL};
    char *sig_path[4] = {NULL, NULL, NULL, NULL};
    size_t sig_len[4] = {0, 0, 0, 0};
    bool signing = trust.key != NULL && r != NULL;
    for (size_t i = 0; signing && s2 == EXST_OK && i < 4; i++) {
        if (at_end[i] == NULL)
            continue;
        if (i >= 2) {
            if (read_all(&readback[i - 2], &at_end_len[i], at_end[i]) !=
                EXIT_OK) {
                s2 = EXST_ERR_IO;
                break;
            }
            at_end_buf[i] = readback[i - 2];
        }
        if ((sig_path[i] = cli_trust_sig_path(at_end[i])) == NULL ||
            cli_trust_sign(&trust, &sig_text[i], &sig_len[i], at_end_buf[i],
                           at_end_len[i], at_end[i], EXST_TIME_NONE,
                           NULL) != EXIT_OK) {
            if (sig_path[i] == NULL)
                cli_msg("out of memory");
            s2 = EXST_ERR_IO;
        }
    }
    if (s2 == EXST_OK && (summary != NULL || html != NULL || signing)) {
        s2 = exst_outset_new(&outs, &e2);
        bool sum_out = summary && strcmp(summary, "-") == 0;
        bool html_out = html && strcmp(html, "-") == 0;
        if (s2 == EXST_OK && summary && !sum_out)
            s2 = exst_outset_add(outs, summary, sum_json, strlen(sum_json),
                                 &e2);
        if (s2 == EXST_OK && html && !html_out)
            s2 = exst_outset_add(outs, html, page, page_len, &e2);
        for (size_t i = 0; s2 == EXST_OK && i < 4; i++)
            if (sig_text[i] != NULL)
                s2 = exst_outset_add(outs, sig_path[i], sig_text[i],
                                     sig_len[i], &e2);
        if (s2 == EXST_OK && sum_out &&
            cli_write_stdout(sum_json, strlen(sum_json)) != EXIT_OK)
            s2 = EXST_ERR_IO;
        if (s2 == EXST_OK && html_out &&
            cli_write_stdout(page, page_len) != EXIT_OK)
            s2 = EXST_ERR_IO;
        if (s2 == EXST_OK)
            s2 = exst_outset_commit(outs, &e2);
    }
    for (size_t i = 0; i < 4; i++) {
        free(sig_text[i]);
        free(sig_path[i]);
    }
    free(readback[0]);
    free(readback[1]);
    if (s2 != EXST_OK) {
        if (e2.message[0] != '\0')
            cli_report(s2, &e2);
        if (rc == EXIT_OK)
            rc = cli_exit_status(s2);
    }
    exst_outset_free(outs);
    exst_free(sum_json);
    exst_free(adoc);
    exst_free(page);
    print_summary(r, rc, db_arg != NULL);
out:
    exst_replay_free(r);
    cli_trust_free(&trust);
    exst_lock_release(lock);
    free(db);
    for (size_t i = 0; i < n_trace; i++)
        free(trace[i]);
    free(trace);
    return rc;
}
