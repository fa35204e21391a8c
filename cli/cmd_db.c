/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_db.c - `exitstage db init|dump|check|show`: create a history
 * (optionally grandfathering today's relays), print it as JSON, verify
 * it, or print the records of given relays (SPEC 4.4, 5).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_policy.h"
#include "cli_util.h"
#include "exitstage.h"

enum { OPT_DB = OPT_LOCAL, OPT_GRANDFATHER };

static void db_help(void)
{
    fputs("usage: exitstage db init --db FILE [--clock exit|relay] "
          "[--grandfather CONSENSUS] [--wait[=DUR]]\n"
          "       exitstage db dump --db FILE\n"
          "       exitstage db check --db FILE\n"
          "       exitstage db show --db FILE FINGERPRINT...\n"
          "\n"
          "  init   create a new history; with --grandfather every relay\n"
          "         present in CONSENSUS counts as graduated\n"
          "  dump   print the whole history as JSON\n"
          "  check  verify the file (magic, version, checksum, order)\n"
          "  show   print the records of the given relays as JSON\n",
          stdout);
}

static int print_json(char *json)
{
    int rc = EXIT_OK;
    if (fputs(json, stdout) == EOF || fflush(stdout) != 0) {
        cli_msg("cannot write to standard output");
        rc = EXIT_FAIL;
    }
    exst_free(json);
    return rc;
}

static int db_init(const char *db, const cli_policy *pol,
                   const char *grandfather)
{
    exst_consensus *c = NULL;
    exst_history *h = NULL;
    exst_lock *lock = NULL;
    exst_error err;
    struct stat st;
    int rc;
    exst_error_clear(&err);
    if (grandfather != NULL &&
        (rc = cli_read_consensus(&c, grandfather, &pol->popts)) != EXIT_OK)
        return rc;
    int s = exst_lock_acquire(&lock, db, pol->wait_s, &err);
    if (s != EXST_OK) {
        rc = cli_report(s, &err);
        goto done;
    }
    if (stat(db, &st) == 0) {
        cli_msg("history '%s' already exists; db init does not overwrite "
                "it", db);
        rc = EXIT_FAIL;
        goto done;
    }
    if (exst_history_new(&h, pol->clock) != EXST_OK) {
        cli_msg("out of memory");
        rc = EXIT_FAIL;
        goto done;
    }
    if (c != NULL) {
        s = exst_stage_grandfather(h, c, &err);
        if (s != EXST_OK) {
            rc = cli_report(s, &err);
            goto done;
        }
    }
    s = exst_history_save(h, db, &err);
    rc = cli_report(s, &err);
done:
    exst_history_free(h);
    exst_lock_release(lock);
    exst_consensus_free(c);
    return rc;
}

static int db_load(exst_history **h, const char *db)
{
    exst_error err;
    exst_error_clear(&err);
    int s = exst_history_load(h, db, &err);
    return cli_report(s, &err);
}

static int db_check(const char *db)
{
    exst_history *h = NULL;
    int rc = db_load(&h, db);
    if (rc != EXIT_OK)
        return rc;
    char a[21] = "none", b[21] = "none";
    int64_t since = exst_history_observed_since(h);
    int64_t newest = exst_history_newest(h);
    if (since != EXST_TIME_NONE)
        exst_time_iso(a, since);
    if (newest != EXST_TIME_NONE)
        exst_time_iso(b, newest);
    printf("%s: ok: %zu relays, clock %s, %llu consensuses processed, "
           "observed since %s, newest %s%s\n",
           db, exst_history_count(h),
           exst_history_clock(h) == EXST_CLOCK_RELAY ? "relay" : "exit",
           (unsigned long long)exst_history_processed(h), a, b,
           exst_history_grandfathered(h) ? ", grandfathered" : "");
    exst_history_free(h);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static int db_dump(const char *db, char **fps, int nfps)
{
    exst_history *h = NULL;
    uint8_t (*ids)[20] = NULL;
    char *json = NULL;
    exst_error err;
    exst_error_clear(&err);
    if (nfps > 0) {
        ids = calloc((size_t)nfps, 20);
        if (ids == NULL) {
            cli_msg("out of memory");
            return EXIT_FAIL;
        }
        for (int i = 0; i < nfps; i++) {
            const char *f = fps[i][0] == '$' ? fps[i] + 1 : fps[i];
            if (exst_fingerprint_parse(ids[i], f) != EXST_OK) {
                free(ids);
                return cli_usage("db show: '%s' is not a fingerprint (40 "
                                 "hex digits)", fps[i]);
            }
        }
    }
    int rc = db_load(&h, db);
    if (rc == EXIT_OK) {
        int s = exst_history_dump_json(&json, h, (const uint8_t(*)[20])ids,
                                       (size_t)nfps, &err);
        rc = s == EXST_OK ? print_json(json) : cli_report(s, &err);
    }
    exst_history_free(h);
    free(ids);
    return rc;
}

int cmd_db(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"db", required_argument, NULL, OPT_DB},
        {"grandfather", required_argument, NULL, OPT_GRANDFATHER},
        {"clock", required_argument, NULL, OPT_CLOCK},
        {"wait", optional_argument, NULL, OPT_WAIT},
        {NULL, 0, NULL, 0},
    };
    cli_policy pol;
    const char *db = NULL, *grandfather = NULL;
    int ch, rc;
    memset(&pol, 0, sizeof pol);
    if (argc < 2)
        return cli_usage("db: expected init, dump, check or show");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        db_help();
        return EXIT_OK;
    }
    argc--;
    argv++;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            db_help();
            return EXIT_OK;
        case OPT_DB:
            db = optarg;
            break;
        case OPT_GRANDFATHER:
            grandfather = optarg;
            break;
        case OPT_CLOCK:
        case OPT_WAIT:
            if ((rc = cli_policy_option(&pol, ch, optarg)) != EXIT_OK)
                return rc;
            break;
        default:
            return cli_usage("db %s: unknown option or missing value in "
                             "'%s'", sub, argv[optind - 1]);
        }
    }
    if (db == NULL)
        return cli_usage("db %s: --db FILE is required", sub);
    const bool is_init = strcmp(sub, "init") == 0;
    if (!is_init && (grandfather != NULL || pol.so.clock_set))
        return cli_usage("db %s: --grandfather and --clock belong to db "
                         "init", sub);
    if (is_init) {
        if (optind != argc)
            return cli_usage("db init: unexpected argument '%s'",
                             argv[optind]);
        return db_init(db, &pol, grandfather);
    }
    if (strcmp(sub, "show") == 0) {
        if (optind == argc)
            return cli_usage("db show: expected at least one fingerprint");
        return db_dump(db, argv + optind, argc - optind);
    }
    if (optind != argc)
        return cli_usage("db %s: unexpected argument '%s'", sub,
                         argv[optind]);
    if (strcmp(sub, "dump") == 0)
        return db_dump(db, NULL, 0);
    if (strcmp(sub, "check") == 0)
        return db_check(db);
    return cli_usage("db: unknown subcommand '%s' (expected init, dump, "
                     "check or show)", sub);
}
