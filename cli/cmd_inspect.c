/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_inspect.c - `exitstage inspect [CONSENSUS|-]`: parse and validate a
 * consensus and print its JSON summary (SPEC 5). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_util.h"
#include "exitstage.h"

static void inspect_help(void)
{
    fputs("usage: exitstage inspect [--allow-reprocess] [CONSENSUS|-]\n"
          "\n"
          "Parses and validates a consensus (plain or zstd, ns or microdesc)\n"
          "and prints a JSON summary.  Reads standard input without a file\n"
          "or with '-'.  Exit status 3 if the document is rejected.\n", stdout);
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"allow-reprocess", no_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
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
        default:
            return cli_usage("inspect: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return cli_usage("inspect: expected at most one consensus");
    const char *path = optind < argc ? argv[optind] : NULL;
    exst_consensus *c = NULL;
    int rc = cli_read_consensus(&c, path, &popts);
    if (rc != EXIT_OK)
        return rc;
    char *json = NULL;
    exst_error err;
    exst_error_clear(&err);
    int st = exst_consensus_summary_json(&json, c, &err);
    exst_consensus_free(c);
    if (st != EXST_OK)
        return cli_report(st, &err);
    rc = EXIT_OK;
    if (fputs(json, stdout) == EOF || fflush(stdout) != 0) {
        cli_msg("cannot write to standard output: %s", "write error");
        rc = EXIT_FAIL;
    }
    exst_free(json);
    return rc;
}
