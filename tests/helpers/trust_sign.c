/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * trust_sign.c - a test driver for the signing half of cli/cli_trust.c,
 * the code apply and replay call for --sign-key: it loads the key as they
 * do (cli_trust_load: permission and encryption checks, their messages
 * and exit statuses) and writes FILE.minisig beside each FILE with
 * cli_trust_sign_output and the same trusted comment.  tests/cli/
 * minisign.sh runs it against the real minisign.
 *
 *   exst-trust-sign --sign-key KEY [--valid-after "YYYY-MM-DD HH:MM:SS"]
 *                   [--sha256 HEX] FILE...
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli_exit.h"
#include "cli_trust.h"
#include "cli_util.h"
#include "exitstage.h"
#include "exst_trust_int.h" /* exstp_read_file */

enum { OPT_VALID_AFTER = 1, OPT_SHA256 };

/* "YYYY-MM-DD HH:MM:SS" as a consensus says it. */
static int parse_time(int64_t *out, const char *s)
{
    int v[6], k = 0;
    const char *p = s;
    for (; k < 6; k++) {
        int n = 0, digits = 0;
        while (*p >= '0' && *p <= '9') {
            n = n * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0)
            return -1;
        v[k] = n;
        if (k < 5 && *p != "-- ::"[k])
            return -1;
        if (k < 5)
            p++;
    }
    if (*p != '\0')
        return -1;
    /* Days from civil (proleptic Gregorian). */
    int y = v[0] - (v[1] <= 2), m = v[1];
    int era = y / 400, yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + v[2] - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    *out = days * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_TRUST_LONGOPTS,
        {"valid-after", required_argument, NULL, OPT_VALID_AFTER},
        {"sha256", required_argument, NULL, OPT_SHA256},
        {NULL, 0, NULL, 0},
    };
    cli_trust t = {0};
    int64_t va = EXST_TIME_NONE;
    uint8_t sha[32];
    const uint8_t *shap = NULL;
    int ch, rc;
    if (exst_init() != EXST_OK)
        return EXIT_FAIL;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_VALID_AFTER:
            if (parse_time(&va, optarg) != 0)
                return cli_usage("bad --valid-after '%s'", optarg);
            break;
        case OPT_SHA256: {
            size_t bl = 0;
            if (sodium_hex2bin(sha, sizeof sha, optarg, strlen(optarg), NULL,
                               &bl, NULL) != 0 || bl != 32)
                return cli_usage("bad --sha256");
            shap = sha;
            break;
        }
        default:
            if ((rc = cli_trust_option(&t, ch, optarg)) != EXIT_OK)
                return rc < 0 ? cli_usage("unknown option") : rc;
        }
    }
    if (t.key_path == NULL || optind >= argc)
        return cli_usage("usage: exst-trust-sign --sign-key KEY FILE...");
    if ((rc = cli_trust_check_outputs(&t, (const char *const *)argv + optind,
                                      (size_t)(argc - optind))) != EXIT_OK ||
        (rc = cli_trust_load(&t)) != EXIT_OK)
        return rc;
    for (int i = optind; i < argc && rc == EXIT_OK; i++) {
        size_t len = 0;
        char *buf = NULL;
        exst_error err;
        int st = exstp_read_file(&buf, &len, argv[i], (size_t)1 << 30, &err);
        if (st != EXST_OK) {
            rc = cli_report(st, &err);
            break;
        }
        rc = cli_trust_sign_output(&t, argv[i], buf, len, va, shap);
        exst_free(buf);
    }
    cli_trust_free(&t);
    return rc;
}
