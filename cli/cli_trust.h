/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_trust.h - the trust options (SPEC 8) as commands use them:
 * --certs FILE|DIR and --authorities FILE check a consensus's signatures
 * before anything acts on it, --sign-key FILE signs every output with an
 * OUTPUT.minisig beside it.  A command puts CLI_TRUST_LONGOPTS in its
 * getopt_long table, hands each option to cli_trust_option, calls
 * cli_trust_load once after parsing, then cli_trust_check per consensus
 * and cli_trust_sign_output per output file; cli_trust_free at the end.
 */
#ifndef CLI_TRUST_H
#define CLI_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exitstage.h"

/* Option numbers, clear of cli_policy.h's (1000 and up, OPT_LOCAL). */
enum {
    CLI_OPT_CERTS = 1200,
    CLI_OPT_AUTHORITIES,
    CLI_OPT_SIGN_KEY
};

/* Checking only (inspect). */
#define CLI_TRUST_CHECK_LONGOPTS                                            \
    {"certs", required_argument, NULL, CLI_OPT_CERTS},                      \
    {"authorities", required_argument, NULL, CLI_OPT_AUTHORITIES}

/* Checking and signing (apply, replay). */
#define CLI_TRUST_LONGOPTS                                                  \
    CLI_TRUST_CHECK_LONGOPTS,                                               \
    {"sign-key", required_argument, NULL, CLI_OPT_SIGN_KEY}

#define CLI_TRUST_CHECK_HELP                                                \
    "  --certs FILE|DIR       check the consensus signatures against these\n" \
    "                         authority certificates (tor's cached-certs;\n" \
    "                         a directory: every file in it)\n"          \
    "  --authorities FILE     trusted v3 identities, one a line (default:\n" \
    "                         tor's directory authorities)\n"

#define CLI_TRUST_HELP                                                      \
    "trust:\n" CLI_TRUST_CHECK_HELP                                         \
    "  --sign-key FILE        sign each output file: OUTPUT.minisig beside\n" \
    "                         it (an unencrypted minisign secret key)\n"

typedef struct cli_trust {
    const char *certs_path;     /* --certs: NULL = no checking */
    const char *auth_path;      /* --authorities: NULL = built in */
    const char *key_path;       /* --sign-key: NULL = no signing */
    exst_certs *certs;
    exst_authorities *auth;
    exst_sign_key *key;
} cli_trust;

/* Handle one option; returns EXIT_OK, EXIT_USAGE (given twice), or -1
 * if opt is not a trust option. */
int cli_trust_option(cli_trust *t, int opt, const char *arg);

/* Load what the options name (certificates, authorities, secret key);
 * prints errors.  --authorities without --certs is a usage error.
 * @return an exit status. */
int cli_trust_load(cli_trust *t);

/* Nonzero if consensuses are to be checked (--certs given). */
bool cli_trust_checking(const cli_trust *t);

/*
 * Check c's signatures (only when cli_trust_checking).  digests may be
 * NULL, or come from exst_consensus_digests (the report's digest pass).
 * A rejected consensus prints "exitstage: NAME: consensus rejected: N
 * good signatures ..." and returns EXIT_INPUT; with -v an accepted one
 * prints the same line as "signatures: ...".  *out (may be NULL) gets the
 * check for the report's "signatures" object (exst_sigcheck_free it),
 * NULL when not checking.  @return an exit status.
 */
int cli_trust_check(const cli_trust *t, const exst_consensus *c,
                    const char *name, const exst_digests *digests,
                    exst_sigcheck **out);

/*
 * The trusted comment of an output's signature, one line: "exitstage
 * VERSION valid-after=ISO input-sha256=HEX file=BASENAME", the middle
 * parts left out when valid_after is EXST_TIME_NONE or input_sha256 is
 * NULL.  Bytes of the name that could break the line become '?'.
 */
void cli_trust_comment(char *out, size_t outsz, int64_t valid_after,
                       const uint8_t *input_sha256, const char *output_path);

/* OUTPUT.minisig for an output path (malloc'd; NULL when out of memory). */
char *cli_trust_sig_path(const char *output_path);

/* Usage error unless every output can have a signature beside it (not
 * standard output, not a device): call after parsing when signing. */
int cli_trust_check_outputs(const cli_trust *t, const char *const *outputs,
                            size_t n);

/*
 * The text of output_path's signature (sign buf, len with the comment of
 * cli_trust_comment) into *sig (free()), for callers that write every
 * output through their own temporary files.  @return an exit status.
 */
int cli_trust_sign(const cli_trust *t, char **sig, size_t *sig_len,
                   const void *buf, size_t len, const char *output_path,
                   int64_t valid_after, const uint8_t *input_sha256);

/* Sign and write output_path's OUTPUT.minisig at once (temporary file,
 * fsync, rename).  Does nothing without --sign-key.  @return an exit
 * status. */
int cli_trust_sign_output(const cli_trust *t, const char *output_path,
                          const void *buf, size_t len, int64_t valid_after,
                          const uint8_t *input_sha256);

void cli_trust_free(cli_trust *t);

#endif
