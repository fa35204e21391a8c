/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_verify.c - `exitstage verify -p PUBLIC FILE...`: check the
 * minisign signature FILE.minisig beside each FILE (SPEC 8) and print its
 * trusted comment, which says which tool wrote the file, for which
 * consensus (valid-after, input SHA-256) and under which name.  Every
 * FILE is checked; the exit status is 0 when all verify, 3 when a
 * signature is malformed or does not verify, 1 when a file or signature
 * cannot be read (1 wins over 3).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_util.h"
#include "exitstage.h"

static void verify_help(void)
{
    fputs("usage: exitstage verify -p PUBLIC FILE...\n"
          "\n"
          "Checks FILE.minisig beside each FILE with the minisign public key\n"
          "PUBLIC and prints \"FILE: TRUSTED COMMENT\" for each one that\n"
          "verifies.  Exit status 0 if all verify, 3 if a signature does not,\n"
          "1 if a file or signature cannot be read.\n"
          "\n"
          "  -p, --public FILE      the public key (exitstage key generate,\n"
          "                         or minisign -G)\n",
          stdout);
}

int cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"public", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    const char *public = NULL;
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "hp:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            verify_help();
            return EXIT_OK;
        case 'p':
            public = optarg;
            break;
        default:
            return cli_usage("verify: unknown option or missing value in "
                             "'%s'", argv[optind - 1]);
        }
    }
    if (public == NULL)
        return cli_usage("verify: -p PUBLIC is required");
    if (optind >= argc)
        return cli_usage("verify: expected at least one FILE");
    exst_verify_key *pk = NULL;
    exst_error err;
    exst_error_clear(&err);
    int st = exst_verify_key_load(&pk, public, &err);
    if (st != EXST_OK)
        return cli_report(st, &err);
    int rc = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        char *comment = NULL;
        exst_error_clear(&err);
        st = exst_minisign_verify_file(&comment, pk, argv[i], NULL, &err);
        if (st != EXST_OK) {
            int r = cli_report(st, &err);
            if (r == EXIT_FAIL || rc == EXIT_OK)
                rc = r;
            continue;
        }
        printf("%s: %s\n", argv[i], comment);
        exst_free(comment);
    }
    exst_verify_key_free(pk);
    if (fflush(stdout) != 0) {
        cli_msg("cannot write to standard output");
        rc = EXIT_FAIL;
    }
    return rc;
}
