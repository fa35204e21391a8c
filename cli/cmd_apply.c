/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_apply.c - `exitstage apply --db FILE [options] [CONSENSUS|-]`: stage
 * one consensus against a history (SPEC 5).  Order matters for safety:
 * read and validate the input, take the writer lock, load the history,
 * stage in memory, write every output (files through temp files), and
 * only then commit the history.  Any failure before the commit leaves the
 * history and every output file as they were.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_policy.h"
#include "cli_util.h"
#include "exitstage.h"

enum { OPT_DB = OPT_LOCAL, OPT_REPORT, OPT_STAGED_LIST, OPT_DRY_RUN };

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
          "  --dry-run              compute everything, commit nothing\n"
          "\n" CLI_POLICY_HELP, stdout);
}

static int write_staged_list(const char *path, const exst_stage_result *r)
{
    const exst_stage_summary *s = exst_stage_get_summary(r);
    size_t n = s->counts.stripped ? exst_stage_in_staging_count(r) : 0;
    char *buf = malloc(n * 50 + 1);
    size_t len = 0;
    char fp[41];
    if (buf == NULL) {
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        exst_fingerprint_hex(fp, exst_stage_in_staging_id(r, i));
        memcpy(buf + len, "!badexit ", 9);
        memcpy(buf + len + 9, fp, 40);
        buf[len + 49] = '\n';
        len += 50;
    }
    int rc = cli_write_file(path, buf, len);
    free(buf);
    return rc;
}

int cmd_apply(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"db", required_argument, NULL, OPT_DB},
        {"output", required_argument, NULL, 'o'},
        {"report", required_argument, NULL, OPT_REPORT},
        {"staged-list", required_argument, NULL, OPT_STAGED_LIST},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        CLI_POLICY_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cli_policy pol;
    const char *db = NULL, *output = NULL, *report = NULL, *staged = NULL;
    bool dry_run = false;
    int ch, rc;

    memset(&pol, 0, sizeof pol);
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            apply_help();
            return EXIT_OK;
        case OPT_DB:
            db = optarg;
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
        case OPT_DRY_RUN:
            dry_run = true;
            break;
        case '?':
            if (optopt != 0 && optopt < OPT_STAGING_PERIOD)
                return cli_usage("apply: option '-%c' is unknown or needs "
                                 "a value", optopt);
            return cli_usage("apply: unknown option or missing value in "
                             "'%s'", argv[optind - 1]);
        default:
            rc = cli_policy_option(&pol, ch, optarg);
            if (rc != EXIT_OK)
                return rc < 0 ? cli_usage("apply: unexpected option") : rc;
        }
    }
    if (db == NULL)
        return cli_usage("apply: --db FILE is required");
    if (argc - optind > 1)
        return cli_usage("apply: expected at most one consensus");
    const bool out_stdout = output == NULL || strcmp(output, "-") == 0;
    if (report != NULL && strcmp(report, "-") == 0 && out_stdout)
        return cli_usage("apply: --report - needs -o FILE (standard output "
                         "carries one stream)");
    if (staged != NULL && strcmp(staged, "-") == 0 &&
        (out_stdout || (report != NULL && strcmp(report, "-") == 0)))
        return cli_usage("apply: --staged-list - needs the other outputs "
                         "in files");
    if ((rc = cli_policy_check(&pol)) != EXIT_OK)
        return rc;

    const char *input = optind < argc ? argv[optind] : NULL;
    exst_consensus *c = NULL;
    exst_history *h = NULL;
    exst_lock *lock = NULL;
    exst_stage_result *res = NULL;
    exst_error err;
    cli_out out = {0};
    void *zbuf = NULL;
    bool out_open = false;

    exst_error_clear(&err);
    if ((rc = cli_read_consensus(&c, input, &pol.popts)) != EXIT_OK)
        goto done;
    if (!dry_run) {
        int st = exst_lock_acquire(&lock, db, pol.wait_s, &err);
        if (st != EXST_OK) {
            rc = cli_report(st, &err);
            goto done;
        }
    }
    if ((rc = cli_open_history(&h, db, false, EXST_CLOCK_EXIT)) != EXIT_OK)
        goto done;
    if ((rc = cli_check_clock(&pol, h, db)) != EXIT_OK)
        goto done;

    pol.so.produce = EXST_STAGE_OUTPUT | (report ? EXST_STAGE_REPORT : 0);
    int st = exst_stage_run(&res, h, c, &pol.so, &err);
    if (st != EXST_OK) {
        if (err.source[0] == '\0' && st == EXST_ERR_ORDER)
            snprintf(err.source, sizeof err.source, "%s", cli_name(input));
        rc = cli_report(st, &err);
        goto done;
    }
    for (size_t i = 0; i < exst_stage_warning_count(res); i++)
        cli_warn("%s: %s", cli_name(input), exst_stage_warning(res, i));

    /* Outputs: files go to temp files; stdout is written last among the
     * consensus bytes so a closed pipe fails before any rename. */
    exst_span doc = exst_stage_output(res);
    const void *bytes = doc.ptr;
    size_t nbytes = doc.len;
    if (pol.zstd) {
        st = exst_zstd_compress(&zbuf, &nbytes, doc.ptr, doc.len, 19, &err);
        if (st != EXST_OK) {
            rc = cli_report(st, &err);
            goto done;
        }
        bytes = zbuf;
    }
    if ((rc = cli_out_open(&out, output)) != EXIT_OK)
        goto done;
    out_open = true;
    if ((rc = cli_out_write(&out, bytes, nbytes)) != EXIT_OK)
        goto done;
    if (report != NULL) {
        exst_span rep = exst_stage_report(res);
        if ((rc = cli_write_file(report, rep.ptr, rep.len)) != EXIT_OK)
            goto done;
    }
    if (staged != NULL && (rc = write_staged_list(staged, res)) != EXIT_OK)
        goto done;
    out_open = false;
    if ((rc = cli_out_commit(&out)) != EXIT_OK)
        goto done;

    if (!dry_run) {
        st = exst_history_save(h, db, &err);
        if (st != EXST_OK) {
            rc = cli_report(st, &err);
            goto done;
        }
    }
    rc = EXIT_OK;
done:
    if (out_open)
        cli_out_abort(&out);
    exst_free(zbuf);
    exst_stage_result_free(res);
    exst_history_free(h);
    exst_lock_release(lock);
    exst_consensus_free(c);
    return rc;
}
