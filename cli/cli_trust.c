/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_trust.c - the trust options of SPEC 8 for the commands: loading the
 * certificates, authorities and signing key they name, checking one
 * consensus and saying why it was rejected, and signing outputs with a
 * trusted comment that ties each signature to one consensus (its
 * valid-after and the input's SHA-256), so a signature cannot be moved
 * to another hour's report.
 */
#include "cli_trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_exit.h"
#include "cli_util.h"

int cli_trust_option(cli_trust *t, int opt, const char *arg)
{
    const char **slot;
    const char *name;
    switch (opt) {
    case CLI_OPT_CERTS:
        slot = &t->certs_path;
        name = "--certs";
        break;
    case CLI_OPT_AUTHORITIES:
        slot = &t->auth_path;
        name = "--authorities";
        break;
    case CLI_OPT_SIGN_KEY:
        slot = &t->key_path;
        name = "--sign-key";
        break;
    default:
        return -1;
    }
    if (*slot != NULL)
        return cli_usage("%s given twice", name);
    if (arg[0] == '\0')
        return cli_usage("%s needs a file name", name);
    *slot = arg;
    return EXIT_OK;
}

int cli_trust_load(cli_trust *t)
{
    exst_error err;
    int st;
    exst_error_clear(&err);
    if (t->auth_path != NULL && t->certs_path == NULL)
        return cli_usage("--authorities needs --certs (the certificates to "
                         "check signatures with)");
    if (t->certs_path != NULL) {
        if ((st = exst_certs_new(&t->certs, NULL, &err)) != EXST_OK ||
            (st = exst_certs_load(t->certs, t->certs_path, &err)) != EXST_OK)
            return cli_report(st, &err);
    }
    if (t->auth_path != NULL &&
        (st = exst_authorities_load(&t->auth, t->auth_path, &err)) !=
            EXST_OK)
        return cli_report(st, &err);
    if (t->key_path != NULL &&
        (st = exst_sign_key_load(&t->key, t->key_path, &err)) != EXST_OK) {
        /* A key that is too open or encrypted is a setup problem the
         * message explains; report it as the usage error it is. */
        if (st == EXST_ERR_USAGE) {
            cli_msg("%s", err.message);
            return EXIT_USAGE;
        }
        return cli_report(st, &err);
    }
    return EXIT_OK;
}

bool cli_trust_checking(const cli_trust *t)
{
    return t->certs != NULL;
}

int cli_trust_check(const cli_trust *t, const exst_consensus *c,
                    const char *name, const exst_digests *digests,
                    exst_sigcheck **out)
{
    exst_sigcheck *r = NULL;
    exst_error err;
    char *msg = NULL;
    if (out != NULL)
        *out = NULL;
    if (!cli_trust_checking(t))
        return EXIT_OK;
    exst_error_clear(&err);
    snprintf(err.source, sizeof err.source, "%s", name);
    int st = exst_sigcheck_run(&r, c, t->certs, t->auth, digests, &err);
    if (st == EXST_OK)
        st = exst_sigcheck_message(&msg, r, &err);
    if (st != EXST_OK) {
        exst_sigcheck_free(r);
        return cli_report(st, &err);
    }
    int rc = EXIT_OK;
    if (!exst_sigcheck_accepted(r)) {
        cli_msg("%s: consensus rejected: %s", name, msg);
        rc = EXIT_INPUT;
    } else if (cli_verbosity > 0) {
        cli_msg("%s: signatures: %s", name, msg);
    }
    exst_free(msg);
    if (out != NULL)
        *out = r;
    else
        exst_sigcheck_free(r);
    return rc;
}

void cli_trust_comment(char *out, size_t outsz, int64_t valid_after,
                       const uint8_t *input_sha256, const char *output_path)
{
    exst_output_comment(out, outsz, valid_after, input_sha256, output_path);
}

char *cli_trust_sig_path(const char *output_path)
{
    size_t n = strlen(output_path);
    char *p = malloc(n + 9);
    if (p != NULL) {
        memcpy(p, output_path, n);
        memcpy(p + n, ".minisig", 9);
    }
    return p;
}

int cli_trust_check_outputs(const cli_trust *t, const char *const *outputs,
                            size_t n)
{
    if (t->key_path == NULL)
        return EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (outputs[i] == NULL || strcmp(outputs[i], "-") == 0)
            return cli_usage("--sign-key needs every output in a file "
                             "(OUTPUT.minisig goes beside it), not on "
                             "standard output");
        if (stat(outputs[i], &st) == 0 && !S_ISREG(st.st_mode))
            return cli_usage("--sign-key cannot sign '%s', which is not a "
                             "regular file", outputs[i]);
    }
    return EXIT_OK;
}

int cli_trust_sign(const cli_trust *t, char **sig, size_t *sig_len,
                   const void *buf, size_t len, const char *output_path,
                   int64_t valid_after, const uint8_t *input_sha256)
{
    char comment[512];
    char *text = NULL;
    exst_error err;
    *sig = NULL;
    *sig_len = 0;
    exst_error_clear(&err);
    cli_trust_comment(comment, sizeof comment, valid_after, input_sha256,
                      output_path);
    int st = exst_minisign_sign(&text, sig_len, t->key, buf, len, comment,
                                &err);
    if (st != EXST_OK)
        return cli_report(st, &err);
    /* Handed over as a plain malloc'd string. */
    *sig = malloc(*sig_len + 1);
    if (*sig == NULL) {
        exst_free(text);
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    memcpy(*sig, text, *sig_len + 1);
    exst_free(text);
    return EXIT_OK;
}

int cli_trust_sign_output(const cli_trust *t, const char *output_path,
                          const void *buf, size_t len, int64_t valid_after,
                          const uint8_t *input_sha256)
{
    if (t->key == NULL)
        return EXIT_OK;
    char *sig = NULL, *path = cli_trust_sig_path(output_path);
    size_t n = 0;
    if (path == NULL) {
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    int rc = cli_trust_sign(t, &sig, &n, buf, len, output_path, valid_after,
                            input_sha256);
    if (rc == EXIT_OK)
        rc = cli_write_file(path, sig, n);
    free(sig);
    free(path);
    return rc;
}

void cli_trust_free(cli_trust *t)
{
    exst_certs_free(t->certs);
    exst_authorities_free(t->auth);
    exst_sign_key_free(t->key);
    t->certs = NULL;
    t->auth = NULL;
    t->key = NULL;
}
