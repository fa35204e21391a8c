/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_db.c - `exitstage db init|dump|check|show|rollback`: create a
 * history (optionally from grandfather consensuses), print it as JSON,
 * verify it, print the records of given relays, or put back the history
 * before its last commit (SPEC 3.7, 4.4, 5).
 */
#include <errno.h>
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

#define MAX_GRANDFATHER 1000

static void db_help(void)
{
    fputs("usage: exitstage db init --db FILE [--clock exit|relay] "
          "[--bootstrap grandfather|none]\n"
          "                         [--grandfather CONSENSUS]... "
          "[--wait[=DUR]]\n"
          "       exitstage db dump --db FILE\n"
          "       exitstage db check --db FILE\n"
          "       exitstage db show --db FILE [--staging-period DUR] "
          "[--reset-after DUR]\n"
          "                         FINGERPRINT...\n"
          "       exitstage db rollback --db FILE [--wait[=DUR]]\n"
          "\n"
          "  init      create a new history; with --grandfather (repeatable)\n"
          "            every relay present in those consensuses counts as\n"
          "            graduated\n"
          "  dump      print the whole history as JSON\n"
          "  check     verify the file (magic, version, checksum, order)\n"
          "  show      for each relay: in staging or not, eligible when,\n"
          "            run start, last seen, absence (JSON); P and W are\n"
          "            the history's unless given\n"
          "  rollback  put back the history before its last commit\n"
          "            (FILE.prev), one step\n",
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

typedef struct gf_doc {
    exst_consensus *c;
    const char *path;
} gf_doc;

static int cmp_gf(const void *a, const void *b)
{
    const exst_consensus *x = ((const gf_doc *)a)->c;
    const exst_consensus *y = ((const gf_doc *)b)->c;
    int64_t tx = exst_consensus_valid_after(x);
    int64_t ty = exst_consensus_valid_after(y);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return (int)exst_consensus_flavor(x) - (int)exst_consensus_flavor(y);
}

static int db_init(const char *db_arg, const cli_policy *pol,
                   char **grandfather, size_t n_gf)
{
    gf_doc *docs = calloc(n_gf + 1, sizeof *docs);
    exst_history *h = NULL;
    exst_lock *lock = NULL;
    exst_error err;
    char *db = NULL;
    struct stat st;
    int rc = EXIT_OK;
    exst_error_clear(&err);
    if (docs == NULL) {
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    if ((rc = cli_resolve(&db, db_arg)) != EXIT_OK)
        goto done;
    for (size_t i = 0; i < n_gf; i++) {
        docs[i].path = grandfather[i];
        if ((rc = cli_read_consensus(&docs[i].c, grandfather[i],
                                     &pol->popts)) != EXIT_OK)
            goto done;
    }
    /* Oldest first (SPEC 3.7); ns before microdesc within an hour. */
    qsort(docs, n_gf, sizeof *docs, cmp_gf);
    int s = exst_lock_acquire(&lock, db, pol->wait_s, &cli_interrupted,
                              &err);
    if (s != EXST_OK) {
        rc = s == EXST_ERR_INTERRUPTED ? cli_interrupt_status()
                                       : cli_report(s, &err);
        goto done;
    }
    if (stat(db, &st) == 0) {
        cli_msg("history '%s' already exists; db init does not overwrite "
                "it", db_arg);
        rc = EXIT_FAIL;
        goto done;
    }
    if (exst_history_new(&h, pol->clock) != EXST_OK ||
        exst_history_set_bootstrap(h, pol->bootstrap) != EXST_OK) {
        cli_msg("out of memory");
        rc = EXIT_FAIL;
        goto done;
    }
    for (size_t i = 0; i < n_gf; i++) {
        s = exst_stage_grandfather(h, docs[i].c, &err);
        if (s != EXST_OK) {
            if (err.source[0] == '\0')
                snprintf(err.source, sizeof err.source, "%s",
                         cli_name(docs[i].path));
            rc = cli_report(s, &err);
            goto done;
        }
    }
    if (cli_is_interrupted()) {
        rc = cli_interrupt_status();
        goto done;
    }
    s = exst_history_save(h, db, &err);
    rc = cli_report(s, &err);
    if (rc == EXIT_OK && n_gf > 0)
        cli_info("history '%s' started from %zu grandfather consensus%s: "
                 "%zu relay%s graduated", db_arg, n_gf,
                 n_gf == 1 ? "" : "es", exst_history_count(h),
                 exst_history_count(h) == 1 ? "" : "s");
done:
    for (size_t i = 0; i < n_gf; i++)
        exst_consensus_free(docs[i].c);
    free(docs);
    exst_history_free(h);
    exst_lock_release(lock);
    free(db);
    return rc;
}

static int db_load(exst_history **h, const char *db)
{
    cli_policy pol;
    memset(&pol, 0, sizeof pol);
    return cli_open_history(h, db, false, &pol);
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
    const uint64_t np = exst_history_processed(h);
    printf("%s: ok: %zu relay%s, clock %s, bootstrap %s, %llu consensus%s "
           "processed, observed since %s, newest %s%s\n",
           db, exst_history_count(h), exst_history_count(h) == 1 ? "" : "s",
           exst_history_clock(h) == EXST_CLOCK_RELAY ? "relay" : "exit",
           exst_history_bootstrap(h) == EXST_BOOTSTRAP_NONE ? "none"
                                                             : "grandfather",
           (unsigned long long)np, np == 1 ? "" : "es", a, b,
           exst_history_grandfathered(h) ? ", grandfathered" : "");
    exst_history_free(h);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static int db_dump(const char *db)
{
    exst_history *h = NULL;
    char *json = NULL;
    exst_error err;
    exst_error_clear(&err);
    int rc = db_load(&h, db);
    if (rc == EXIT_OK) {
        int s = exst_history_dump_json(&json, h, NULL, 0, &err);
        rc = s == EXST_OK ? print_json(json) : cli_report(s, &err);
    }
    exst_history_free(h);
    return rc;
}

/* A relay named on the command line: 40 hex digits, as the reports print
 * them, or as tor does ("$" in front, "~nickname" or "=nickname" after,
 * groups of four separated by spaces).  0, or -1 if it is not one. */
static int parse_relay_arg(uint8_t id[20], const char *arg)
{
    char hex[41];
    size_t k = 0;
    const char *p = arg[0] == '$' ? arg + 1 : arg;
    for (; *p != '\0' && *p != '~' && *p != '='; p++) {
        if (*p == ' ')
            continue;
        if (k == 40)
            return -1;
        hex[k++] = *p;
    }
    hex[k] = '\0';
    if (k != 40 || (*p != '\0' && p[1] == '\0'))
        return -1;
    return exst_fingerprint_parse(id, hex) == EXST_OK ? 0 : -1;
}

/* tor's nickname rule: 1 to 19 letters and digits. */
static bool looks_like_nickname(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 19)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* SPEC 10: "is it staged, and until when?", from the history alone. */
static int db_show(const char *db, char **args, int nargs,
                   const cli_policy *pol)
{
    exst_history *h = NULL;
    uint8_t (*ids)[20] = calloc((size_t)nargs + 1, 20);
    char *json = NULL;
    exst_error err;
    int rc = EXIT_OK;
    exst_error_clear(&err);
    if (ids == NULL) {
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    for (int i = 0; i < nargs && rc == EXIT_OK; i++) {
        if (parse_relay_arg(ids[i], args[i]) == 0)
            continue;
        if (looks_like_nickname(args[i]))
            rc = cli_usage("db show: '%s' looks like a nickname; the "
                           "history knows relays by fingerprint only "
                           "(nicknames are not unique, and are not kept): "
                           "give its 40 hex digits, e.g. from the report's "
                           "stripped list or tor's fingerprint file",
                           args[i]);
        else
            rc = cli_usage("db show: '%s' is not a relay fingerprint (40 "
                           "hex digits)", args[i]);
    }
    if (rc == EXIT_OK)
        rc = db_load(&h, db);
    if (rc == EXIT_OK) {
        const int64_t P = pol->so.staging_period_set
                              ? pol->so.staging_period_s
                              : EXST_TIME_NONE;
        const int64_t W = pol->so.reset_after_set ? pol->so.reset_after_s
                                                  : EXST_TIME_NONE;
        int64_t hp;
        exst_history_policy(h, &hp, NULL);
        if (P == EXST_TIME_NONE && hp == EXST_TIME_NONE &&
            exst_history_newest(h) != EXST_TIME_NONE)
            cli_warn("history '%s' does not record its staging period "
                     "(written by exitstage 0.1): assuming the default, "
                     "4d; give --staging-period to override", db);
        int s = exst_history_show_json(&json, h, (const uint8_t(*)[20])ids,
                                       (size_t)nargs, P, W, &err);
        rc = s == EXST_OK ? print_json(json) : cli_report(s, &err);
    }
    exst_history_free(h);
    free(ids);
    return rc;
}

/* SPEC 4.4: put FILE.prev back in place of FILE, one step.  The previous
 * copy is checked first, so a damaged one never replaces a good history. */
static int db_rollback(const char *db_arg, const cli_policy *pol)
{
    exst_lock *lock = NULL;
    exst_history *cur = NULL, *prev = NULL;
    exst_error err;
    char *db = NULL, *prev_path = NULL;
    struct stat st;
    char a[21], b[21];
    int rc;
    exst_error_clear(&err);
    if ((rc = cli_resolve(&db, db_arg)) != EXIT_OK)
        return rc;
    if (stat(db, &st) != 0) {
        rc = cli_open_history(&cur, db, false, pol);
        goto done;
    }
    size_t n = strlen(db);
    prev_path = malloc(n + 6);
    if (prev_path == NULL) {
        cli_msg("out of memory");
        rc = EXIT_FAIL;
        goto done;
    }
    memcpy(prev_path, db, n);
    memcpy(prev_path + n, ".prev", 6);
    int s = exst_lock_acquire(&lock, db, pol->wait_s, &cli_interrupted,
                              &err);
    if (s != EXST_OK) {
        rc = s == EXST_ERR_INTERRUPTED ? cli_interrupt_status()
                                       : cli_report(s, &err);
        goto done;
    }
    s = exst_history_load(&prev, prev_path, &err);
    if (s == EXST_ERR_IO && strstr(err.message, "no such file") != NULL) {
        cli_msg("history '%s' has no previous copy ('%s.prev'): nothing to "
                "roll back to", db_arg, db_arg);
        rc = EXIT_FAIL;
        goto done;
    }
    if (s != EXST_OK) {
        rc = cli_report(s, &err);
        goto done;
    }
    /* The current file may be the damaged one; it is not needed, only
     * named in the message when it loads. */
    if (exst_history_load(&cur, db, NULL) != EXST_OK)
        cur = NULL;
    if (rename(prev_path, db) != 0) {
        cli_msg("cannot replace '%s' with '%s': %s", db, prev_path,
                strerror(errno));
        rc = EXIT_FAIL;
        goto done;
    }
    const int64_t pn = exst_history_newest(prev);
    if (cur != NULL) {
        const int64_t cn = exst_history_newest(cur);
        cli_info("history '%s' rolled back from newest consensus %s to %s",
                 db_arg, cn == EXST_TIME_NONE ? "(none)" : exst_time_iso(a, cn),
                 pn == EXST_TIME_NONE ? "(none)" : exst_time_iso(b, pn));
    } else {
        cli_info("history '%s' (unreadable) replaced by its previous copy, "
                 "newest consensus %s", db_arg,
                 pn == EXST_TIME_NONE ? "(none)" : exst_time_iso(b, pn));
    }
    rc = EXIT_OK;
done:
    exst_history_free(cur);
    exst_history_free(prev);
    exst_lock_release(lock);
    free(prev_path);
    free(db);
    return rc;
}

int cmd_db(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"db", required_argument, NULL, OPT_DB},
        {"grandfather", required_argument, NULL, OPT_GRANDFATHER},
        {"clock", required_argument, NULL, OPT_CLOCK},
        {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
        {"wait", optional_argument, NULL, OPT_WAIT},
        {"staging-period", required_argument, NULL, OPT_STAGING_PERIOD},
        {"reset-after", required_argument, NULL, OPT_RESET_AFTER},
        CLI_GLOBAL_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cli_policy pol;
    const char *db = NULL;
    char **gf = NULL;
    size_t n_gf = 0;
    int ch, rc;
    memset(&pol, 0, sizeof pol);
    if (argc < 2)
        return cli_usage("db: expected init, dump, check, show or rollback");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        db_help();
        return EXIT_OK;
    }
    argc--;
    argv++;
    opterr = 0;
    gf = calloc((size_t)argc + 1, sizeof *gf);
    if (gf == NULL) {
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    rc = EXIT_OK;
    while (rc == EXIT_OK &&
           (ch = getopt_long(argc, argv, "h" CLI_GLOBAL_SHORTOPTS, longopts,
                             NULL)) != -1) {
        switch (ch) {
        case 'h':
            db_help();
            free(gf);
            return EXIT_OK;
        case OPT_DB:
            db = optarg;
            break;
        case OPT_GRANDFATHER:
            if (n_gf == MAX_GRANDFATHER)
                rc = cli_usage("db init: at most %d --grandfather "
                               "consensuses", MAX_GRANDFATHER);
            gf[n_gf++] = optarg;
            break;
        case OPT_STAGING_PERIOD:
        case OPT_RESET_AFTER:
        case OPT_CLOCK:
        case OPT_BOOTSTRAP:
        case OPT_WAIT:
        case 'q':
        case 'v':
            rc = cli_policy_option(&pol, ch, optarg);
            break;
        default:
            rc = cli_usage("db %s: unknown option or missing value in '%s'",
                           sub, argv[optind - 1]);
        }
    }
    if (rc != EXIT_OK)
        goto out;
    if (db == NULL) {
        rc = cli_usage("db %s: --db FILE is required", sub);
        goto out;
    }
    cli_install_signals();
    const bool is_init = strcmp(sub, "init") == 0;
    const bool is_show = strcmp(sub, "show") == 0;
    if (!is_init && (n_gf > 0 || pol.so.clock_set || pol.bootstrap_set)) {
        rc = cli_usage("db %s: --grandfather, --clock and --bootstrap "
                       "belong to db init", sub);
    } else if (!is_show &&
               (pol.so.staging_period_set || pol.so.reset_after_set)) {
        rc = cli_usage("db %s: --staging-period and --reset-after belong "
                       "to db show", sub);
    } else if (is_init) {
        if (optind != argc)
            rc = cli_usage("db init: unexpected argument '%s'", argv[optind]);
        else
            rc = db_init(db, &pol, gf, n_gf);
    } else if (is_show) {
        if (optind == argc)
            rc = cli_usage("db show: expected at least one fingerprint");
        else
            rc = db_show(db, argv + optind, argc - optind, &pol);
    } else if (optind != argc) {
        rc = cli_usage("db %s: unexpected argument '%s'", sub, argv[optind]);
    } else if (strcmp(sub, "dump") == 0) {
        rc = db_dump(db);
    } else if (strcmp(sub, "check") == 0) {
        rc = db_check(db);
    } else if (strcmp(sub, "rollback") == 0) {
        rc = db_rollback(db, &pol);
    } else {
        rc = cli_usage("db: unknown subcommand '%s' (expected init, dump, "
                       "check, show or rollback)", sub);
    }
out:
    free(gf);
    return rc;
}
