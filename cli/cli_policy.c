/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_policy.c - the staging options `apply` and `replay` share (SPEC 2.3):
 * durations, clock, enforcement, the capacity guard and the output
 * switches, parsed into an exst_stage_opts.
 */
#include "cli_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_exit.h"
#include "cli_util.h"

int cli_policy_option(cli_policy *p, int opt, const char *arg)
{
    switch (opt) {
    case OPT_STAGING_PERIOD:
        p->so.staging_period_set = 1;
        return cli_duration(&p->so.staging_period_s, "--staging-period", arg);
    case OPT_RESET_AFTER:
        p->so.reset_after_set = 1;
        return cli_duration(&p->so.reset_after_s, "--reset-after", arg);
    case OPT_RETENTION:
        if (cli_duration(&p->so.retention_s, "--retention", arg) != EXIT_OK)
            return EXIT_USAGE;
        p->retention_set = 1;
        return EXIT_OK;
    case OPT_CLOCK:
        p->so.clock_set = 1;
        if (strcmp(arg, "exit") == 0)
            p->clock = EXST_CLOCK_EXIT;
        else if (strcmp(arg, "relay") == 0)
            p->clock = EXST_CLOCK_RELAY;
        else
            return cli_usage("--clock: expected 'exit' or 'relay', found '%s'",
                             arg);
        return EXIT_OK;
    case OPT_ENFORCE:
        p->so.enforce_set = 1;
        if (strcmp(arg, "flag") == 0)
            p->so.enforce = EXST_ENFORCE_FLAG;
        else if (strcmp(arg, "badexit") == 0)
            p->so.enforce = EXST_ENFORCE_BADEXIT;
        else
            return cli_usage("--enforce: expected 'flag' or 'badexit', "
                             "found '%s'", arg);
        return EXIT_OK;
    case OPT_NO_REWEIGHT:
        p->so.no_reweight = 1;
        return EXIT_OK;
    case OPT_MAX_STRIP: {
        char *end = NULL;
        double v = strtod(arg, &end);
        if (end == arg || *end != '\0' || !(v >= 0.0 && v <= 1.0))
            return cli_usage("--max-strip-fraction: expected a fraction "
                             "from 0 to 1, found '%s'", arg);
        p->so.guard_set = 1;
        p->so.max_strip_fraction = v;
        return EXIT_OK;
    }
    case OPT_IGNORE_PARAMS:
        p->so.ignore_consensus_params = 1;
        return EXIT_OK;
    case OPT_NO_ANNOTATE:
        p->so.no_annotate = 1;
        return EXIT_OK;
    case OPT_STRIP_SIGS:
        p->so.strip_signatures = 1;
        return EXIT_OK;
    case OPT_ALLOW_REPROCESS:
        p->popts.flags |= EXST_PARSE_ALLOW_REPROCESS;
        return EXIT_OK;
    case OPT_WAIT:
        return cli_wait(&p->wait_s, arg);
    case OPT_ZSTD:
        p->zstd = 1;
        return EXIT_OK;
    case OPT_BOOTSTRAP:
        p->bootstrap_set = 1;
        if (strcmp(arg, "grandfather") == 0)
            p->bootstrap = EXST_BOOTSTRAP_GRANDFATHER;
        else if (strcmp(arg, "none") == 0)
            p->bootstrap = EXST_BOOTSTRAP_NONE;
        else
            return cli_usage("--bootstrap: expected 'grandfather' or "
                             "'none', found '%s'", arg);
        return EXIT_OK;
    case OPT_EXEMPT:
        p->exempt_path = arg;
        return EXIT_OK;
    case 'q':
    case 'v':
        cli_global_option(opt);
        return EXIT_OK;
    default:
        return -1;
    }
}

/* ---- fingerprint lists (--exempt) ---------------------------------- */

#define MAX_LIST_BYTES ((size_t)64 << 20)

/* Untrusted bytes for a message: printable ASCII as is, the rest as
 * \xHH, at most 40 bytes of input ("..." after a cut). */
static const char *quoted(char out[200], const char *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < 40; i++) {
        const unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '\'') {
            out[k++] = (char)ch;
        } else {
            snprintf(out + k, 5, "\\x%02x", ch);
            k += 4;
        }
    }
    if (n > 40) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* One line without its newline: 1 and id for a fingerprint, 0 for a
 * blank or comment line, -1 (and *col, the 1-based column of the first
 * byte that does not fit) for anything else. */
static int parse_fp_line(uint8_t id[20], const char *p, size_t n,
                         size_t *col)
{
    size_t i = 0, digits = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i == n || p[i] == '#')
        return 0;
    *col = i + 1;
    if (p[i] == '$')
        i++;
    /* 40 digits; single spaces may separate groups (tor prints
     * "ABCD EF01 ..."), not digits from the "$". */
    while (i < n && digits < 40) {
        const int v = hexval((unsigned char)p[i]);
        if (v >= 0) {
            if (digits % 2 == 0)
                id[digits / 2] = (uint8_t)(v << 4);
            else
                id[digits / 2] |= (uint8_t)v;
            digits++;
            i++;
        } else if (p[i] == ' ' && digits > 0 && i + 1 < n &&
                   hexval((unsigned char)p[i + 1]) >= 0) {
            i++;
        } else {
            break;
        }
    }
    if (digits < 40) {
        *col = i + 1;
        return -1;
    }
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i < n && p[i] != '#') {
        *col = i + 1;
        return -1;
    }
    return 1;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 20);
}

int cli_read_fingerprints(uint8_t (**ids)[20], size_t *n, const char *path,
                          const char *option)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    uint8_t (*v)[20] = NULL;
    size_t len = 0, cap = 0, nv = 0, vcap = 0;
    int rc = EXIT_OK;
    *ids = NULL;
    *n = 0;
    if (fp == NULL) {
        cli_msg("%s: cannot open '%s': %s", option, path, strerror(errno));
        return EXIT_FAIL;
    }
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *nb = ncap > MAX_LIST_BYTES + 1 ? NULL : realloc(buf, ncap);
            if (nb == NULL) {
                if (ncap > MAX_LIST_BYTES + 1) {
                    cli_msg("%s: '%s' is larger than %zu MiB", option, path,
                            MAX_LIST_BYTES >> 20);
                    rc = EXIT_USAGE;
                } else {
                    cli_msg("out of memory");
                    rc = EXIT_FAIL;
                }
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) {
                cli_msg("%s: cannot read '%s': %s", option, path,
                        strerror(errno));
                rc = EXIT_FAIL;
                goto done;
            }
            break;
        }
    }
    unsigned long line = 0;
    for (size_t off = 0; off < len;) {
        const char *p = buf + off;
        const char *nl = memchr(p, '\n', len - off);
        const size_t ll = nl ? (size_t)(nl - p) : len - off;
        uint8_t id[20];
        size_t col = 1;
        char q[200];
        line++;
        off += ll + (nl ? 1 : 0);
        const int r = parse_fp_line(id, p, ll, &col);
        if (r == 0)
            continue;
        if (r < 0) {
            size_t b = 0;
            while (b < ll && (p[b] == ' ' || p[b] == '\t'))
                b++;
            cli_msg("%s:%lu:%zu: %s: expected a relay fingerprint (40 hex "
                    "digits), found '%s'", path, line, col, option,
                    quoted(q, p + b, ll - b));
            fputs("Try 'exitstage --help' for more information.\n", stderr);
            rc = EXIT_USAGE;
            goto done;
        }
        if (nv == vcap) {
            size_t ncap = vcap ? vcap * 2 : 64;
            uint8_t (*nvp)[20] = realloc(v, ncap * sizeof *v);
            if (nvp == NULL) {
                cli_msg("out of memory");
                rc = EXIT_FAIL;
                goto done;
            }
            v = nvp;
            vcap = ncap;
        }
        memcpy(v[nv++], id, 20);
    }
    if (nv > 0) {
        qsort(v, nv, sizeof *v, cmp_id);
        size_t k = 1;
        for (size_t i = 1; i < nv; i++)
            if (memcmp(v[i], v[k - 1], 20) != 0)
                memcpy(v[k++], v[i], 20);
        nv = k;
    }
done:
    fclose(fp);
    free(buf);
    if (rc != EXIT_OK || nv == 0) {
        free(v);
        return rc;
    }
    *ids = v;
    *n = nv;
    return EXIT_OK;
}

/* The exempt set outlives the command's cli_policy (replay keeps the
 * options in its own state); it is freed at exit. */
static uint8_t (*exempt_ids)[20];

static void free_exempt(void)
{
    free(exempt_ids);
    exempt_ids = NULL;
}

int cli_policy_check(cli_policy *p)
{
    if (p->retention_set && p->so.reset_after_set &&
        p->so.retention_s < p->so.reset_after_s)
        return cli_usage("--retention (%llds) must not be shorter than "
                         "--reset-after (%llds)",
                         (long long)p->so.retention_s,
                         (long long)p->so.reset_after_s);
    if (p->exempt_path != NULL) {
        uint8_t (*ids)[20] = NULL;
        size_t n = 0;
        int rc = cli_read_fingerprints(&ids, &n, p->exempt_path, "--exempt");
        if (rc != EXIT_OK)
            return rc;
        if (exempt_ids == NULL && ids != NULL)
            atexit(free_exempt);
        free(exempt_ids);
        exempt_ids = ids;
        p->so.exempt = (const uint8_t(*)[20])ids;
        p->so.n_exempt = n;
    }
    return EXIT_OK;
}

int cli_check_history(const cli_policy *p, const exst_history *h,
                      const char *db)
{
    exst_clock hc = exst_history_clock(h);
    if (p->so.clock_set && p->clock != hc)
        return cli_usage("history '%s' uses --clock %s; it cannot be run "
                         "with --clock %s", db,
                         hc == EXST_CLOCK_RELAY ? "relay" : "exit",
                         p->clock == EXST_CLOCK_RELAY ? "relay" : "exit");
    exst_bootstrap hb = exst_history_bootstrap(h);
    if (p->bootstrap_set && p->bootstrap != hb)
        return cli_usage("history '%s' uses --bootstrap %s; it cannot be "
                         "run with --bootstrap %s", db,
                         hb == EXST_BOOTSTRAP_NONE ? "none" : "grandfather",
                         p->bootstrap == EXST_BOOTSTRAP_NONE
                             ? "none"
                             : "grandfather");
    return EXIT_OK;
}

int cli_open_history(exst_history **h, const char *db, bool create,
                     const cli_policy *p)
{
    exst_error err;
    exst_error_clear(&err);
    int rc = exst_history_load(h, db, &err);
    if (rc == EXST_OK)
        return EXIT_OK;
    if (rc == EXST_ERR_IO && strstr(err.message, "no such file") != NULL) {
        if (create) {
            if (exst_history_new(h, p->so.clock_set ? p->clock
                                                    : EXST_CLOCK_EXIT) !=
                    EXST_OK ||
                exst_history_set_bootstrap(*h, p->bootstrap) != EXST_OK) {
                exst_history_free(*h);
                *h = NULL;
                cli_msg("out of memory");
                return EXIT_FAIL;
            }
            return EXIT_OK;
        }
        cli_msg("history '%s' does not exist; create it with 'exitstage db "
                "init --db %s' (add --grandfather CONSENSUS to start from "
                "today's relays)", db, db);
        return EXIT_FAIL;
    }
    int st = cli_report(rc, &err);
    if (rc == EXST_ERR_DB)
        cli_msg("to recover: 'exitstage db rollback --db %s' restores the "
                "history before its last commit (%s.prev), or rebuild it "
                "from archived consensuses with 'exitstage replay --db %s "
                "ARCHIVE...'", db, db, db);
    return st;
}
