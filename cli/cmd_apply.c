/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_apply.c - `exitstage apply --db FILE [options] [CONSENSUS|-]`: stage
 * one consensus against a history (SPEC 5).  All or nothing (SPEC 4.4
 * "Added in 0.2"): read and validate the input, check it is not dated in
 * the future, take the writer lock, load the history, stage in memory,
 * write every output file to a temporary file, write standard output, and
 * only then rename the files into place and commit the history.  Any
 * failure or signal before the renames changes nothing.  With --certs
 * the consensus's signatures are checked right after it is read, before
 * anything acts on it (SPEC 8); with --sign-key every output file gets
 * OUTPUT.minisig, written with the outputs and renamed with them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_metrics.h"
#include "cli_policy.h"
#include "cli_trust.h"
#include "cli_util.h"
#include "exitstage.h"

enum {
    OPT_DB = OPT_LOCAL,
    OPT_REPORT,
    OPT_STAGED_LIST,
    OPT_DRY_RUN,
    OPT_MAX_FUTURE,
    OPT_NOW,
    OPT_METRICS
};

#define DEFAULT_MAX_FUTURE 3600 /* SPEC 8: one hour */
#define STALE_AFTER 86400       /* a day past valid-until */
#define GAP_WARN 7200           /* SPEC 10: more than two hours */

static void apply_help(void)
{
    fputs("usage: exitstage apply --db FILE [options] [CONSENSUS|-]\n"
          "\n"
          "Stages one consensus: strips Exit from relays still in staging,\n"
          "recomputes the bandwidth weights, writes the annotated consensus\n"
          "and a JSON report, and commits the history.\n"
          "\n"
          "  --db FILE              the history (create it with db init)\n"
          "  -o, --output FILE      annotated consensus (default: stdout)\n"
          "  --report FILE|-        JSON report ('-': stdout, needs -o)\n"
          "  --staged-list FILE     staged relays as approved-routers lines\n"
          "  --metrics FILE         Prometheus textfile-collector metrics,\n"
          "                         written on failure too\n"
          "  --dry-run              compute everything, commit nothing\n"
          "  --max-future DUR|off   refuse a consensus dated more than DUR\n"
          "                         ahead of the system clock (default 1h)\n"
          "  --now TIME             use TIME as the system clock (testing)\n"
          "\n" CLI_POLICY_HELP "\n" CLI_TRUST_HELP, stdout);
}

/* The staged list (SPEC 4.4, 10): a comment line naming the tool and the
 * consensus, then one "!badexit FINGERPRINT" per stripped relay. */
static char *staged_list(size_t *len, const exst_stage_result *r)
{
    const exst_stage_summary *s = exst_stage_get_summary(r);
    size_t n = s->counts.stripped ? exst_stage_in_staging_count(r) : 0;
    char *buf = malloc(n * 50 + 160);
    char va[21], fp[41];
    if (buf == NULL)
        return NULL;
    int k = snprintf(buf, 160,
                     "# exitstage %s: relays in exit staging at valid-after "
                     "%s (%zu)\n",
                     exst_version(), exst_time_iso(va, s->valid_after), n);
    size_t l = (size_t)k;
    for (size_t i = 0; i < n; i++) {
        exst_fingerprint_hex(fp, exst_stage_in_staging_id(r, i));
        memcpy(buf + l, "!badexit ", 9);
        memcpy(buf + l + 9, fp, 40);
        buf[l + 49] = '\n';
        l += 50;
    }
    *len = l;
    return buf;
}

/* The -v line (SPEC 10): one per run; "signatures GOOD/REQUIRED" when
 * they were checked. */
static void summary_line(const exst_stage_result *r, const exst_sigcheck *sig)
{
    const exst_stage_summary *s = exst_stage_get_summary(r);
    char va[21], ex[48] = "", sg[64] = "";
    if (s->counts.exempted > 0)
        snprintf(ex, sizeof ex, ", %zu exempted", s->counts.exempted);
    if (sig != NULL)
        snprintf(sg, sizeof sg, ", signatures %zu/%zu",
                 exst_sigcheck_good(sig), exst_sigcheck_required(sig));
    cli_info("%s %s: %zu exit candidate%s, %zu in staging%s, %zu stripped "
             "(%.4f of exit bandwidth), %s, phase %s%s",
             exst_time_iso(va, s->valid_after),
             s->flavor == EXST_FLAVOR_NS ? "ns" : "microdesc",
             s->counts.exit_candidates,
             s->counts.exit_candidates == 1 ? "" : "s", s->counts.in_staging,
             ex, s->counts.stripped, s->stripped_fraction,
             s->guard_tripped ? "capacity guard tripped"
                              : !s->enabled ? "staging disabled by the "
                                              "consensus"
                                            : "guard not tripped",
             exst_phase_name(s->phase), sg);
}

/* The command line, checked. */
typedef struct apply_args {
    const char *db_arg, *output, *report, *staged, *metrics, *input;
    bool dry_run;
    int64_t max_future; /* < 0: off */
    int64_t now;        /* the system clock, or --now */
    double mono0;       /* cli_monotonic() at the start */
    cli_policy pol;
    cli_trust trust;
} apply_args;

static int apply_run(apply_args *a);

int cmd_apply(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"db", required_argument, NULL, OPT_DB},
        {"output", required_argument, NULL, 'o'},
        {"report", required_argument, NULL, OPT_REPORT},
        {"staged-list", required_argument, NULL, OPT_STAGED_LIST},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"max-future", required_argument, NULL, OPT_MAX_FUTURE},
        {"now", required_argument, NULL, OPT_NOW},
        {"metrics", required_argument, NULL, OPT_METRICS},
        CLI_POLICY_LONGOPTS,
        CLI_TRUST_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cli_policy pol;
    cli_trust trust;
    const char *db_arg = NULL, *output = NULL, *report = NULL;
    const char *staged = NULL, *metrics = NULL;
    bool dry_run = false;
    const double mono0 = cli_monotonic();
    int64_t max_future = DEFAULT_MAX_FUTURE; /* < 0: off */
    int64_t now = (int64_t)time(NULL);
    int ch, rc, li = 0;

    memset(&pol, 0, sizeof pol);
    memset(&trust, 0, sizeof trust);
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "ho:" CLI_GLOBAL_SHORTOPTS,
                             longopts, &li)) != -1) {
        switch (ch) {
        case 'h':
            apply_help();
            return EXIT_OK;
        case OPT_DB:
            db_arg = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case OPT_REPORT:
            report = optarg;
            break;
        case OPT_STAGED_LIST:
            staged = optarg;
            break;
        case OPT_METRICS:
            metrics = optarg;
            break;
        case OPT_DRY_RUN:
            dry_run = true;
            break;
        case OPT_MAX_FUTURE:
            if (strcmp(optarg, "off") == 0)
                max_future = -1;
            else if ((rc = cli_duration(&max_future,
                                        cli_optname(argv, longopts, li),
                                        optarg)) != EXIT_OK)
                return rc;
            break;
        case OPT_NOW:
            if ((rc = cli_time(&now, cli_optname(argv, longopts, li),
                               optarg)) != EXIT_OK)
                return rc;
            break;
        case '?':
            if (optopt != 0 && optopt < OPT_STAGING_PERIOD)
                return cli_usage("apply: option '-%c' is unknown or needs "
                                 "a value", optopt);
            return cli_usage("apply: unknown option or missing value in "
                             "'%s'", argv[optind - 1]);
        default:
            rc = cli_trust_option(&trust, ch, optarg);
            if (rc < 0)
                rc = cli_policy_option(&pol, ch, optarg);
            if (rc != EXIT_OK)
                return rc < 0 ? cli_usage("apply: unexpected option") : rc;
        }
    }
    if (db_arg == NULL)
        return cli_usage("apply: --db FILE is required");
    if (argc - optind > 1)
        return cli_usage("apply: expected at most one consensus");
    const bool out_stdout = output == NULL || strcmp(output, "-") == 0;
    const bool rep_stdout = report != NULL && strcmp(report, "-") == 0;
    const bool list_stdout = staged != NULL && strcmp(staged, "-") == 0;
    if (rep_stdout && out_stdout)
        return cli_usage("apply: --report - needs -o FILE (standard output "
                         "carries one stream)");
    if (list_stdout && (out_stdout || rep_stdout))
        return cli_usage("apply: --staged-list - needs the other outputs "
                         "in files");
    if (metrics != NULL && strcmp(metrics, "-") == 0)
        return cli_usage("apply: --metrics needs a file (the textfile "
                         "collector reads files)");
    const cli_path paths[] = {
        {"--db", db_arg}, {"-o", output}, {"--report", report},
        {"--staged-list", staged}, {"--metrics", metrics},
    };
    if ((rc = cli_check_distinct(paths, 5)) != EXIT_OK)
        return rc;
    /* --sign-key: every output in a regular file (the consensus too: -o
     * is then required). */
    const char *signed_outs[4] = {output};
    size_t n_signed = 1;
    if (report != NULL)
        signed_outs[n_signed++] = report;
    if (staged != NULL)
        signed_outs[n_signed++] = staged;
    if (metrics != NULL)
        signed_outs[n_signed++] = metrics;
    if ((rc = cli_trust_check_outputs(&trust, signed_outs, n_signed)) !=
        EXIT_OK)
        return rc;
    /* From here on every run, failed or not, leaves its metrics. */
    apply_args a = {
        .db_arg = db_arg, .output = output, .report = report,
        .staged = staged, .metrics = metrics,
        .input = optind < argc ? argv[optind] : NULL,
        .dry_run = dry_run, .max_future = max_future, .now = now,
        .mono0 = mono0, .pol = pol, .trust = trust,
    };
    rc = apply_run(&a);
    cli_trust_free(&a.trust);
    return rc;
}

/* A failed run's metrics: its exit status and times, the last success
 * carried over from the file it replaces (SPEC 10). */
static void failed_metrics(const char *path, int status, int64_t now,
                           double mono0, const cli_trust *t,
                           const exst_sigcheck *sig)
{
    cli_metrics m;
    exst_outset *outs = NULL;
    exst_error err;
    size_t len = 0, sig_len = 0;
    char *sig_text = NULL, *sig_path = NULL;
    memset(&m, 0, sizeof m);
    m.exit_status = status;
    m.started = now;
    m.duration_s = cli_monotonic() - mono0;
    m.last_success = cli_metrics_last_success(path);
    if (sig != NULL) {
        m.sig_checked = true;
        m.sig_good = exst_sigcheck_good(sig);
        m.sig_required = exst_sigcheck_required(sig);
    }
    char *text = cli_metrics_format(&len, &m);
    exst_error_clear(&err);
    if (text == NULL) {
        cli_msg("--metrics: out of memory");
        return;
    }
    /* Signed like any other output, so an old signature never sits
     * beside a new file; no consensus is vouched for in its comment. */
    if (t->key != NULL &&
        ((sig_path = cli_trust_sig_path(path)) == NULL ||
         cli_trust_sign(t, &sig_text, &sig_len, text, len, path,
                        EXST_TIME_NONE, NULL) != EXIT_OK)) {
        if (sig_path == NULL)
            cli_msg("--metrics: out of memory");
        free(sig_path);
        free(text);
        return;
    }
    int s = exst_outset_new(&outs, &err);
    if (s == EXST_OK)
        s = exst_outset_add(outs, path, text, len, &err);
    if (s == EXST_OK && sig_text != NULL)
        s = exst_outset_add(outs, sig_path, sig_text, sig_len, &err);
    if (s == EXST_OK)
        s = exst_outset_commit(outs, &err);
    if (s != EXST_OK)
        (void)cli_report(s, &err);
    exst_outset_free(outs);
    free(sig_text);
    free(sig_path);
    free(text);
}

/* An output and its signature for the outset: the text of
 * OUTPUT.minisig into sigs[*n] (freed by the caller). */
typedef struct signed_out {
    char *path;
    char *text;
    size_t len;
} signed_out;

static int add_signed(exst_outset *outs, const cli_trust *t, signed_out *so,
                      const char *path, const void *buf, size_t len,
                      int64_t va, const exst_digests *dg, exst_error *err,
                      int *st)
{
    *st = exst_outset_add(outs, path, buf, len, err);
    if (*st != EXST_OK || t->key == NULL)
        return EXIT_OK;
    if ((so->path = cli_trust_sig_path(path)) == NULL) {
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    int rc = cli_trust_sign(t, &so->text, &so->len, buf, len, path, va,
                            dg->input_sha256);
    if (rc != EXIT_OK)
        return rc;
    *st = exst_outset_add(outs, so->path, so->text, so->len, err);
    return EXIT_OK;
}

static int apply_run(apply_args *a)
{
    cli_policy pol = a->pol;
    const char *db_arg = a->db_arg, *output = a->output;
    const char *report = a->report, *staged = a->staged;
    const char *metrics = a->metrics, *input = a->input;
    const bool dry_run = a->dry_run;
    const int64_t max_future = a->max_future, now = a->now;
    const double mono0 = a->mono0;
    const bool out_stdout = output == NULL || strcmp(output, "-") == 0;
    const bool rep_stdout = report != NULL && strcmp(report, "-") == 0;
    const bool list_stdout = staged != NULL && strcmp(staged, "-") == 0;
    int rc = EXIT_OK;
    exst_consensus *c = NULL;
    exst_history *h = NULL;
    exst_lock *lock = NULL;
    exst_stage_result *res = NULL;
    exst_outset *outs = NULL;
    exst_error err;
    char *db = NULL;
    void *zbuf = NULL;
    char *list = NULL, *mtext = NULL;
    size_t mlen = 0;
    char ts[21], ts2[21];
    const cli_trust *t = &a->trust;
    exst_sigcheck *sig = NULL;
    exst_digests dg;
    signed_out sigs[4];

    memset(&dg, 0, sizeof dg);
    memset(sigs, 0, sizeof sigs);
    cli_install_signals();
    exst_error_clear(&err);
    /* The --exempt file is read here, so a bad one is recorded in the
     * metrics like any failed run. */
    if ((rc = cli_policy_check(&pol)) != EXIT_OK)
        goto done;
    if ((rc = cli_trust_load(&a->trust)) != EXIT_OK)
        goto done;
    /* The history is resolved once: the lock and the commit act on the
     * file a symbolic link names, never on the link. */
    if ((rc = cli_resolve(&db, db_arg)) != EXIT_OK)
        goto done;
    if ((rc = cli_read_consensus(&c, input, &pol.popts)) != EXIT_OK)
        goto done;

    /* One digest pass for everything (SPEC 7): the report's
     * consensus.sha256, the signatures' signed digest (a snapshot of the
     * same SHA-256 state) and the signatures' trusted comments. */
    const unsigned want = EXST_DIGEST_INPUT_SHA256 |
                          (cli_trust_checking(t) ? EXST_DIGEST_SIGNED_SHA256
                                                 : 0u);
    int sd = exst_consensus_digests(&dg, c, want, &err);
    if (sd != EXST_OK) {
        snprintf(err.source, sizeof err.source, "%s", cli_name(input));
        rc = cli_report(sd, &err);
        goto done;
    }
    /* SPEC 8: the signatures, before anything acts on the consensus. */
    if ((rc = cli_trust_check(t, c, cli_name(input), &dg, &sig)) !=
        EXIT_OK)
        goto done;

    /* Clock sanity (SPEC 8): a document from the future must not age
     * every staged relay; a stale one is processed with a warning. */
    const int64_t va = exst_consensus_valid_after(c);
    if (max_future >= 0 && va > now + max_future) {
        cli_msg("%s: valid-after %s is %lld s ahead of the system clock "
                "(%s); refusing it (--max-future %llds)",
                cli_name(input), exst_time_iso(ts, va),
                (long long)(va - now), exst_time_iso(ts2, now),
                (long long)max_future);
        rc = EXIT_INPUT;
        goto done;
    }
    if (now > exst_consensus_valid_until(c) + STALE_AFTER)
        cli_warn("%s: stale consensus: valid until %s, more than a day "
                 "before the system clock (%s); tor has stopped using it",
                 cli_name(input),
                 exst_time_iso(ts, exst_consensus_valid_until(c)),
                 exst_time_iso(ts2, now));

    /* No lock file beside a history that does not exist. */
    struct stat st;
    if (stat(db, &st) != 0) {
        rc = cli_open_history(&h, db, false, &pol);
        goto done;
    }
    if (!dry_run) {
        int s = exst_lock_acquire(&lock, db, pol.wait_s, &cli_interrupted,
                                  &err);
        if (s != EXST_OK) {
            rc = s == EXST_ERR_INTERRUPTED ? cli_interrupt_status()
                                           : cli_report(s, &err);
            goto done;
        }
    }
    if ((rc = cli_open_history(&h, db, false, &pol)) != EXIT_OK)
        goto done;
    if ((rc = cli_check_history(&pol, h, db)) != EXIT_OK)
        goto done;
    const int64_t newest = exst_history_newest(h);
    if (newest != EXST_TIME_NONE && va - newest > GAP_WARN)
        cli_warn("%s: the history's newest consensus, %s, is %lld hours "
                 "older than this one: consensuses were missed",
                 cli_name(input), exst_time_iso(ts, newest),
                 (long long)((va - newest) / 3600));

    pol.so.produce = EXST_STAGE_OUTPUT | (report ? EXST_STAGE_REPORT : 0);
    pol.so.digests = &dg;
    pol.so.signatures = sig;
    int st2 = exst_stage_run(&res, h, c, &pol.so, &err);
    if (st2 != EXST_OK) {
        if (err.source[0] == '\0')
            snprintf(err.source, sizeof err.source, "%s", cli_name(input));
        rc = cli_report(st2, &err);
        goto done;
    }
    for (size_t i = 0; i < exst_stage_warning_count(res); i++)
        cli_warn("%s: %s", cli_name(input), exst_stage_warning(res, i));

    /* Every file output to a temporary file first. */
    exst_span doc = exst_stage_output(res);
    const void *bytes = doc.ptr;
    size_t nbytes = doc.len;
    if (pol.zstd) {
        st2 = exst_zstd_compress(&zbuf, &nbytes, doc.ptr, doc.len, 19, &err);
        if (st2 != EXST_OK) {
            rc = cli_report(st2, &err);
            goto done;
        }
        bytes = zbuf;
    }
    exst_span rep = exst_stage_report(res);
    size_t list_len = 0;
    if (staged != NULL && (list = staged_list(&list_len, res)) == NULL) {
        cli_msg("out of memory");
        rc = EXIT_FAIL;
        goto done;
    }
    if (metrics != NULL) {
        cli_metrics m;
        memset(&m, 0, sizeof m);
        m.exit_status = EXIT_OK;
        m.started = now;
        m.last_success = now;
        m.staged = true;
        m.sum = *exst_stage_get_summary(res);
        m.relays = exst_consensus_relay_count(c);
        m.history_relays = exst_history_count(h);
        m.sig_checked = sig != NULL;
        m.sig_good = sig != NULL ? exst_sigcheck_good(sig) : 0;
        m.sig_required = sig != NULL ? exst_sigcheck_required(sig) : 0;
        m.duration_s = cli_monotonic() - mono0;
        if ((mtext = cli_metrics_format(&mlen, &m)) == NULL) {
            cli_msg("out of memory");
            rc = EXIT_FAIL;
            goto done;
        }
    }
    /* The history too, unless this is a dry run: a full disk under it
     * fails here, before anything is renamed.  Each file's signature goes
     * into the same set, so a signing failure renames nothing. */
    if ((st2 = exst_outset_new(&outs, &err)) != EXST_OK ||
        (!dry_run &&
         (st2 = exst_outset_add_history(outs, h, db, &err)) != EXST_OK)) {
        rc = cli_report(st2, &err);
        goto done;
    }
    {
        const struct {
            bool want;
            const char *path;
            const void *buf;
            size_t len;
        } files[4] = {
            {!out_stdout, output, bytes, nbytes},
            {report != NULL && !rep_stdout, report, rep.ptr, rep.len},
            {staged != NULL && !list_stdout, staged, list, list_len},
            {mtext != NULL, metrics, mtext, mlen},
        };
        for (size_t i = 0; i < 4; i++) {
            if (!files[i].want)
                continue;
            if ((rc = add_signed(outs, t, &sigs[i], files[i].path,
                                 files[i].buf, files[i].len, va, &dg, &err,
                                 &st2)) != EXIT_OK)
                goto done;
            if (st2 != EXST_OK) {
                rc = cli_report(st2, &err);
                goto done;
            }
        }
    }
    /* Standard output next: a closed pipe fails before any rename. */
    if (out_stdout)
        rc = cli_write_stdout(bytes, nbytes);
    else if (rep_stdout)
        rc = cli_write_stdout(rep.ptr, rep.len);
    else if (list_stdout)
        rc = cli_write_stdout(list, list_len);
    if (rc != EXIT_OK)
        goto done;
    if (cli_is_interrupted()) {
        rc = cli_interrupt_status();
        cli_msg("interrupted; nothing changed");
        goto done;
    }
    /* Then the files, and the history last. */
    if ((st2 = exst_outset_commit(outs, &err)) != EXST_OK) {
        rc = cli_report(st2, &err);
        goto done;
    }
    summary_line(res, sig);
    rc = EXIT_OK;
done:
    exst_outset_free(outs); /* removes uncommitted temporary files */
    if (rc != EXIT_OK && metrics != NULL)
        failed_metrics(metrics, rc, now, mono0, t, sig);
    for (size_t i = 0; i < 4; i++) {
        free(sigs[i].path);
        free(sigs[i].text);
    }
    exst_sigcheck_free(sig);
    free(mtext);
    free(list);
    exst_free(zbuf);
    free(db);
    exst_stage_result_free(res);
    exst_history_free(h);
    exst_lock_release(lock);
    exst_consensus_free(c);
    return rc;
}
