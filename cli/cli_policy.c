/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_policy.c - the staging options `apply` and `replay` share (SPEC 2.3):
 * durations, clock, enforcement, the capacity guard and the output
 * switches, parsed into an exst_stage_opts.
 */
#include "cli_policy.h"

#include <stdlib.h>
#include <string.h>

#include "cli_exit.h"
#include "cli_util.h"

int cli_policy_option(cli_policy *p, int opt, const char *arg)
{
    switch (opt) {
    case OPT_STAGING_PERIOD:
        p->so.staging_period_set = 1;
        return cli_duration(&p->so.staging_period_s, "--staging-period", arg);
    case OPT_RESET_AFTER:
        p->so.reset_after_set = 1;
        return cli_duration(&p->so.reset_after_s, "--reset-after", arg);
    case OPT_RETENTION:
        if (cli_duration(&p->so.retention_s, "--retention", arg) != EXIT_OK)
            return EXIT_USAGE;
        p->retention_set = 1;
        return EXIT_OK;
    case OPT_CLOCK:
        p->so.clock_set = 1;
        if (strcmp(arg, "exit") == 0)
            p->clock = EXST_CLOCK_EXIT;
        else if (strcmp(arg, "relay") == 0)
            p->clock = EXST_CLOCK_RELAY;
        else
            return cli_usage("--clock: expected 'exit' or 'relay', found '%s'",
                             arg);
        return EXIT_OK;
    case OPT_ENFORCE:
        p->so.enforce_set = 1;
        if (strcmp(arg, "flag") == 0)
            p->so.enforce = EXST_ENFORCE_FLAG;
        else if (strcmp(arg, "badexit") == 0)
            p->so.enforce = EXST_ENFORCE_BADEXIT;
        else
            return cli_usage("--enforce: expected 'flag' or 'badexit', "
                             "found '%s'", arg);
        return EXIT_OK;
    case OPT_NO_REWEIGHT:
        p->so.no_reweight = 1;
        return EXIT_OK;
    case OPT_MAX_STRIP: {
        char *end = NULL;
        double v = strtod(arg, &end);
        if (end == arg || *end != '\0' || !(v >= 0.0 && v <= 1.0))
            return cli_usage("--max-strip-fraction: expected a fraction "
                             "from 0 to 1, found '%s'", arg);
        p->so.guard_set = 1;
        p->so.max_strip_fraction = v;
        return EXIT_OK;
    }
    case OPT_IGNORE_PARAMS:
        p->so.ignore_consensus_params = 1;
        return EXIT_OK;
    case OPT_NO_ANNOTATE:
        p->so.no_annotate = 1;
        return EXIT_OK;
    case OPT_STRIP_SIGS:
        p->so.strip_signatures = 1;
        return EXIT_OK;
    case OPT_ALLOW_REPROCESS:
        p->popts.flags |= EXST_PARSE_ALLOW_REPROCESS;
        return EXIT_OK;
    case OPT_WAIT:
        return cli_wait(&p->wait_s, arg);
    case OPT_ZSTD:
        p->zstd = 1;
        return EXIT_OK;
    case OPT_BOOTSTRAP:
        p->bootstrap_set = 1;
        if (strcmp(arg, "grandfather") == 0)
            p->bootstrap = EXST_BOOTSTRAP_GRANDFATHER;
        else if (strcmp(arg, "none") == 0)
            p->bootstrap = EXST_BOOTSTRAP_NONE;
        else
            return cli_usage("--bootstrap: expected 'grandfather' or "
                             "'none', found '%s'", arg);
        return EXIT_OK;
    case 'q':
    case 'v':
        cli_global_option(opt);
        return EXIT_OK;
    default:
        return -1;
    }
}

int cli_policy_check(const cli_policy *p)
{
    if (p->retention_set && p->so.reset_after_set &&
        p->so.retention_s < p->so.reset_after_s)
        return cli_usage("--retention (%llds) must not be shorter than "
                         "--reset-after (%llds)",
                         (long long)p->so.retention_s,
                         (long long)p->so.reset_after_s);
    return EXIT_OK;
}

int cli_check_history(const cli_policy *p, const exst_history *h,
                      const char *db)
{
    exst_clock hc = exst_history_clock(h);
    if (p->so.clock_set && p->clock != hc)
        return cli_usage("history '%s' uses --clock %s; it cannot be run "
                         "with --clock %s", db,
                         hc == EXST_CLOCK_RELAY ? "relay" : "exit",
                         p->clock == EXST_CLOCK_RELAY ? "relay" : "exit");
    exst_bootstrap hb = exst_history_bootstrap(h);
    if (p->bootstrap_set && p->bootstrap != hb)
        return cli_usage("history '%s' uses --bootstrap %s; it cannot be "
                         "run with --bootstrap %s", db,
                         hb == EXST_BOOTSTRAP_NONE ? "none" : "grandfather",
                         p->bootstrap == EXST_BOOTSTRAP_NONE
                             ? "none"
                             : "grandfather");
    return EXIT_OK;
}

int cli_open_history(exst_history **h, const char *db, bool create,
                     const cli_policy *p)
{
    exst_error err;
    exst_error_clear(&err);
    int rc = exst_history_load(h, db, &err);
    if (rc == EXST_OK)
        return EXIT_OK;
    if (rc == EXST_ERR_IO && strstr(err.message, "no such file") != NULL) {
        if (create) {
            if (exst_history_new(h, p->so.clock_set ? p->clock
                                                    : EXST_CLOCK_EXIT) !=
                    EXST_OK ||
                exst_history_set_bootstrap(*h, p->bootstrap) != EXST_OK) {
                exst_history_free(*h);
                *h = NULL;
                cli_msg("out of memory");
                return EXIT_FAIL;
            }
            return EXIT_OK;
        }
        cli_msg("history '%s' does not exist; create it with 'exitstage db "
                "init --db %s' (add --grandfather CONSENSUS to start from "
                "today's relays)", db, db);
        return EXIT_FAIL;
    }
    int st = cli_report(rc, &err);
    if (rc == EXST_ERR_DB)
        cli_msg("to recover: 'exitstage db rollback --db %s' restores the "
                "history before its last commit (%s.prev), or rebuild it "
                "from archived consensuses with 'exitstage replay --db %s "
                "ARCHIVE...'", db, db, db);
    return st;
}
