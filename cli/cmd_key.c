/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_key.c - `exitstage key generate --secret FILE --public FILE`: make
 * an Ed25519 key pair in minisign's formats for signing outputs (SPEC 8).
 * The secret key is unencrypted, as `minisign -G -W` makes it, because
 * the hourly job signs without anyone to type a password; it is created
 * with mode 0600 and never replaces a file.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_util.h"
#include "exitstage.h"

enum { OPT_SECRET = 1, OPT_PUBLIC };

static void key_help(void)
{
    fputs("usage: exitstage key generate --secret FILE --public FILE\n"
          "\n"
          "Makes an Ed25519 key pair in minisign's formats: the secret key\n"
          "(unencrypted, mode 0600) for --sign-key, the public key for\n"
          "`exitstage verify -p` and `minisign -V -p`.  Existing files are\n"
          "never replaced.\n"
          "\n"
          "  --secret FILE          where the secret key goes\n"
          "  --public FILE          where the public key goes\n",
          stdout);
}

int cmd_key(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"secret", required_argument, NULL, OPT_SECRET},
        {"public", required_argument, NULL, OPT_PUBLIC},
        {NULL, 0, NULL, 0},
    };
    const char *secret = NULL, *public = NULL;
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            key_help();
            return EXIT_OK;
        case OPT_SECRET:
            secret = optarg;
            break;
        case OPT_PUBLIC:
            public = optarg;
            break;
        default:
            return cli_usage("key: unknown option or missing value in '%s'",
                             argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage("key: expected a subcommand (generate)");
    if (strcmp(argv[optind], "generate") != 0)
        return cli_usage("key: unknown subcommand '%s'", argv[optind]);
    if (argc - optind > 1)
        return cli_usage("key generate: unexpected argument '%s'",
                         argv[optind + 1]);
    if (secret == NULL || public == NULL)
        return cli_usage("key generate: --secret FILE and --public FILE are "
                         "required");
    exst_error err;
    exst_error_clear(&err);
    int st = exst_keypair_generate(secret, public, &err);
    if (st == EXST_ERR_USAGE)
        return cli_usage("key generate: %s", err.message);
    if (st != EXST_OK)
        return cli_report(st, &err);
    exst_verify_key *pk = NULL;
    if ((st = exst_verify_key_load(&pk, public, &err)) != EXST_OK)
        return cli_report(st, &err);
    char id[17];
    printf("key %s: secret key '%s' (mode 0600, keep it private), public "
           "key '%s'\n", exst_verify_key_id(id, pk), secret, public);
    exst_verify_key_free(pk);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
