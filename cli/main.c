/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main.c - exitstage's entry point: global options (--help, --version,
 * -q, -v), then dispatch to a subcommand through a static table.  Only
 * main returns an exit status to the system.
 */
#include <signal.h>
#include <stdio.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <zstd.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_util.h"
#include "exitstage.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"inspect", cmd_inspect, "validate a consensus, summarize it as JSON"},
    {"apply", cmd_apply, "stage one consensus against a history"},
    {"replay", cmd_replay, "replay archives in time order"},
    {"db", cmd_db, "create, dump, check or query a history"},
    {"report", cmd_report, "draw an analysis as one HTML page"},
    {"key", cmd_key, "make a key pair for signing outputs"},
    {"verify", cmd_verify, "check the minisign signatures of outputs"},
};

static void usage(FILE *fp)
{
    fputs("usage: exitstage [-q|-v] <command> [options] [arguments]\n"
          "\n"
          "Strips the Exit flag from Tor relays still in their exit staging\n"
          "period, recomputes the bandwidth weights, and reports why.\n"
          "\n"
          "  exitstage inspect [CONSENSUS|-]\n"
          "  exitstage apply  --db FILE [options] [CONSENSUS|-]\n"
          "  exitstage replay --db FILE [options] PATH...\n"
          "  exitstage db init --db FILE [--clock exit|relay] "
          "[--grandfather CONSENSUS]\n"
          "  exitstage db dump|check --db FILE\n"
          "  exitstage db show --db FILE FINGERPRINT...\n"
          "  exitstage report --html FILE --analysis ANALYSIS\n"
          "  exitstage key generate --secret FILE --public FILE\n"
          "  exitstage verify -p PUBLIC FILE...\n"
          "\n"
          "commands:\n", fp);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "global options:\n"
          "  -h, --help       show this help and exit\n"
          "  -V, --version    show versions and exit\n"
          "  -q, --quiet      no warnings or progress\n"
          "  -v, --verbose    more detail on stderr\n"
          "\n"
          "'exitstage <command> --help' lists a command's options; "
          "exitstage(1) has them all.\n"
          "Exit status: 0 success, 1 failure, 2 usage, 3 input rejected, "
          "130 interrupted.\n", fp);
}

static void version(void)
{
    printf("exitstage %s\n", exst_version());
    printf("libexitstage %s\n", exst_version());
    printf("libsodium %s\n", sodium_version_string());
    printf("jansson %s\n", jansson_version_str());
    printf("zstd %s\n", ZSTD_versionString());
}

int main(int argc, char **argv)
{
    int i = 1;
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is an EPIPE write error */
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_ARENA_MAX)
    /* Reader threads allocate documents that the staging thread frees.
     * glibc would keep them in per-thread arenas (memory growing with
     * --threads), or, past its mmap threshold, map fresh pages for every
     * document (a page fault per 4 KiB, a third of the replay's time).
     * One arena recycles the buffers of ordinary documents whichever
     * thread frees them; documents of 8 MiB and more are mapped and
     * given back when freed. */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
#endif
    if (exst_init() != EXST_OK) {
        cli_msg("cannot initialise libsodium");
        return EXIT_FAIL;
    }
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            version();
            return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli_verbosity = -1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            cli_verbosity = 1;
        } else {
            return cli_usage("unknown option '%s'", a);
        }
    }
    if (i == argc)
        return cli_usage("no command given");
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(argv[i], commands[k].name) == 0)
            return commands[k].run(argc - i, argv + i);
    return cli_usage("unknown command '%s'", argv[i]);
}
