/* SPDX-License-Identifier: BSD-3-Clause */
/* cli_policy.h - staging options shared by apply and replay. */
#ifndef CLI_POLICY_H
#define CLI_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli_util.h"
#include "exitstage.h"

enum {
    OPT_STAGING_PERIOD = 1000,
    OPT_RESET_AFTER,
    OPT_RETENTION,
    OPT_CLOCK,
    OPT_ENFORCE,
    OPT_NO_REWEIGHT,
    OPT_MAX_STRIP,
    OPT_IGNORE_PARAMS,
    OPT_NO_ANNOTATE,
    OPT_STRIP_SIGS,
    OPT_ALLOW_REPROCESS,
    OPT_WAIT,
    OPT_ZSTD,
    OPT_BOOTSTRAP,
    OPT_EXEMPT,
    OPT_LOCAL /* first option number a command may use for its own */
};

#define CLI_POLICY_LONGOPTS                                                 \
    {"staging-period", required_argument, NULL, OPT_STAGING_PERIOD},        \
    {"reset-after", required_argument, NULL, OPT_RESET_AFTER},              \
    {"retention", required_argument, NULL, OPT_RETENTION},                  \
    {"clock", required_argument, NULL, OPT_CLOCK},                          \
    {"enforce", required_argument, NULL, OPT_ENFORCE},                      \
    {"no-reweight", no_argument, NULL, OPT_NO_REWEIGHT},                    \
    {"max-strip-fraction", required_argument, NULL, OPT_MAX_STRIP},         \
    {"ignore-consensus-params", no_argument, NULL, OPT_IGNORE_PARAMS},      \
    {"no-annotate", no_argument, NULL, OPT_NO_ANNOTATE},                    \
    {"strip-signatures", no_argument, NULL, OPT_STRIP_SIGS},                \
    {"allow-reprocess", no_argument, NULL, OPT_ALLOW_REPROCESS},            \
    {"wait", optional_argument, NULL, OPT_WAIT},                            \
    {"zstd", no_argument, NULL, OPT_ZSTD},                                  \
    {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},                  \
    {"exempt", required_argument, NULL, OPT_EXEMPT},                        \
    CLI_GLOBAL_LONGOPTS

#define CLI_POLICY_HELP                                                     \
    "staging policy:\n"                                                     \
    "  --staging-period DUR   staging period P (default 4d)\n"              \
    "  --reset-after DUR      absence that restarts staging (default 24h)\n" \
    "  --clock exit|relay     what counts as present (history's choice)\n"  \
    "  --bootstrap grandfather|none  a new history grandfathers relays\n" \
    "                         first seen within W of its start, or not\n" \
    "  --enforce flag|badexit remove Exit, or also add BadExit\n"           \
    "  --max-strip-fraction F strip nothing if more than F of exit\n"       \
    "                         bandwidth would be stripped\n"                \
    "  --ignore-consensus-params  ignore exit_staging_* params\n"           \
    "  --retention DUR        prune relays absent longer (default 30d)\n"   \
    "  --exempt FILE          fingerprints never staged, one a line\n"      \
    "  --no-reweight          keep the bandwidth-weights line\n"            \
    "  --no-annotate          no exitstage items in the output\n"           \
    "  --strip-signatures     remove the authority signatures\n"            \
    "  --zstd                 compress consensus output with zstd\n"        \
    "  --allow-reprocess      accept documents exitstage already processed\n" \
    "  --wait[=DUR]           wait for another writer's lock\n"             \
    "  -q, --quiet / -v, --verbose  as before the command name\n"        \
    "durations: 345600, 96h, 4d, 30m, 90s, 1d12h (0 to 30 days)\n"

typedef struct cli_policy {
    exst_stage_opts so;
    exst_parse_opts popts;
    exst_clock clock;
    exst_bootstrap bootstrap;
    int bootstrap_set;
    int retention_set;
    int zstd;
    double wait_s;
    const char *exempt_path; /* --exempt FILE, read by cli_policy_check */
} cli_policy;

/* Handle one shared option; returns EXIT_OK, EXIT_USAGE, or -1 if opt is
 * not a shared option. */
int cli_policy_option(cli_policy *p, int opt, const char *arg);
/* Cross-option checks after parsing, and the --exempt file read into
 * p->so.exempt (sorted, repeats dropped; the set lives until exit).  A
 * line that is not a fingerprint is a usage error naming the file, line
 * and column. */
int cli_policy_check(cli_policy *p);

/* Read a list of relay fingerprints: one a line, 40 hex digits (either
 * case, optionally after "$", optionally in groups separated by spaces
 * as tor prints them); blank lines and "#" comments (whole lines or after
 * a fingerprint) are ignored.  *ids gets the distinct identities in
 * ascending order (*n of them; free() it), or NULL when there are none.
 * option names the option in messages.  Prints errors; returns EXIT_OK,
 * EXIT_USAGE (a bad line: "FILE:LINE:COL: ...") or EXIT_FAIL (the file
 * cannot be read). */
int cli_read_fingerprints(uint8_t (**ids)[20], size_t *n, const char *path,
                          const char *option);
/* Usage error if --clock or --bootstrap disagrees with the history's
 * (both are fixed when a history is created, SPEC 3.1, 3.7). */
int cli_check_history(const cli_policy *p, const exst_history *h,
                      const char *db);
/* Load the history at db; a missing file is created in memory if create
 * (replay), with p's clock and bootstrap rule, else an error saying how
 * to create it (apply).  A corrupt history's message says how to recover. */
int cli_open_history(exst_history **h, const char *db, bool create,
                     const cli_policy *p);

#endif
