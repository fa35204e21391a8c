/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_inspect.c - `exitstage inspect [CONSENSUS|-]`: parse and validate a
 * consensus and print its JSON summary (SPEC 5); with --certs, check its
 * signatures too and add the report's "signatures" object (SPEC 8). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_trust.h"
#include "cli_util.h"
#include "exitstage.h"

static void inspect_help(void)
{
    fputs("usage: exitstage inspect [--allow-reprocess] [--certs FILE|DIR\n"
          "                         [--authorities FILE]] [CONSENSUS|-]\n"
          "\n"
          "Parses and validates a consensus (plain or zstd, ns or microdesc)\n"
          "and prints a JSON summary.  Reads standard input without a file\n"
          "or with '-'.  With --certs the summary has \"signatures\" too.\n"
          "Exit status 3 if the document, or its signatures, are rejected.\n"
          "\n" CLI_TRUST_CHECK_HELP, stdout);
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"allow-reprocess", no_argument, NULL, 'R'},
        CLI_TRUST_CHECK_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cli_trust trust = {0};
    exst_parse_opts popts;
    memset(&popts, 0, sizeof popts);
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            inspect_help();
            return EXIT_OK;
        case 'R':
            popts.flags |= EXST_PARSE_ALLOW_REPROCESS;
            break;
        case '?':
            return cli_usage("inspect: unknown option '%s'",
                             argv[optind - 1]);
        default: {
            int r = cli_trust_option(&trust, ch, optarg);
            if (r != EXIT_OK)
                return r < 0 ? cli_usage("inspect: unexpected option") : r;
        }
        }
    }
    if (argc - optind > 1)
        return cli_usage("inspect: expected at most one consensus");
    const char *path = optind < argc ? argv[optind] : NULL;
    exst_consensus *c = NULL;
    exst_sigcheck *sig = NULL;
    char *json = NULL;
    int rc = cli_trust_load(&trust);
    if (rc == EXIT_OK)
        rc = cli_read_consensus(&c, path, &popts);
    /* A rejected consensus is still summarised, signatures and all. */
    int verdict = EXIT_OK;
    if (rc == EXIT_OK) {
        verdict = cli_trust_check(&trust, c, cli_name(path), NULL, &sig);
        if (verdict != EXIT_OK && sig == NULL)
            rc = verdict;
    }
    if (rc == EXIT_OK) {
        exst_error err;
        exst_error_clear(&err);
        int st = exst_consensus_summary_json_sig(&json, c, sig, &err);
        if (st != EXST_OK)
            rc = cli_report(st, &err);
    }
    if (rc == EXIT_OK) {
        if (fputs(json, stdout) == EOF || fflush(stdout) != 0) {
            cli_msg("cannot write to standard output: %s", "write error");
            rc = EXIT_FAIL;
        } else {
            rc = verdict;
        }
    }
    exst_free(json);
    exst_sigcheck_free(sig);
    exst_consensus_free(c);
    cli_trust_free(&trust);
    return rc;
}
