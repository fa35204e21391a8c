/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * consumer.c - a program outside the project that uses an installed
 * libexitstage, built by tests/cli/install.sh through pkg-config and
 * through the CMake package.  It touches every dependency: libsodium
 * (exst_init, identities), libzstd (compress the document, parse it back),
 * jansson (the inspect summary) and libm (staging's report), so a link
 * that lacks one fails.
 *
 *   consumer CONSENSUS   prints "version V", one "relay FINGERPRINT
 *                        exit|-" line per entry, "staged: N exit
 *                        candidates" from a run on an empty history, then
 *                        the summary JSON
 */
#include <exitstage.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, int st, const exst_error *err)
{
    fprintf(stderr, "consumer: %s: %s: %s\n", what, exst_status_str(st),
            err->message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer CONSENSUS\n");
        return 2;
    }
    if (exst_init() != EXST_OK) {
        fprintf(stderr, "consumer: exst_init failed\n");
        return 1;
    }
    printf("version %s\n", exst_version());

    FILE *fp = fopen(argv[1], "rb");
    if (fp == NULL) {
        perror(argv[1]);
        return 1;
    }
    exst_error err;
    exst_error_clear(&err);
    exst_consensus *plain = NULL;
    int st = exst_consensus_read(&plain, fp, argv[1], NULL, &err);
    fclose(fp);
    if (st != EXST_OK)
        return fail("read", st, &err);

    const exst_span bytes = exst_consensus_bytes(plain);
    void *z = NULL;
    size_t zlen = 0;
    st = exst_zstd_compress(&z, &zlen, bytes.ptr, bytes.len, 3, &err);
    exst_consensus_free(plain);
    if (st != EXST_OK)
        return fail("compress", st, &err);
    exst_consensus *c = NULL;
    st = exst_consensus_parse(&c, z, zlen, "compressed", NULL, &err);
    exst_free(z);
    if (st != EXST_OK)
        return fail("parse", st, &err);

    for (size_t i = 0; i < exst_consensus_relay_count(c); i++) {
        exst_relay r;
        char hex[41];
        exst_consensus_relay(c, i, &r);
        printf("relay %s %s\n", exst_fingerprint_hex(hex, r.id),
               exst_consensus_relay_is_exit(c, i) ? "exit" : "-");
    }

    exst_history *h = NULL;
    if (exst_history_new(&h, EXST_CLOCK_EXIT) != EXST_OK) {
        fprintf(stderr, "consumer: out of memory\n");
        return 1;
    }
    exst_stage_opts opts = {0};
    opts.produce = EXST_STAGE_REPORT;
    exst_stage_result *r = NULL;
    st = exst_stage_run(&r, h, c, &opts, &err);
    exst_history_free(h);
    if (st != EXST_OK)
        return fail("stage", st, &err);
    printf("staged: %zu exit candidates\n",
           exst_stage_get_summary(r)->counts.exit_candidates);
    exst_stage_result_free(r);

    char *json = NULL;
    st = exst_consensus_summary_json(&json, c, &err);
    exst_consensus_free(c);
    if (st != EXST_OK)
        return fail("summary", st, &err);
    fputs(json, stdout);
    exst_free(json);
    return fflush(stdout) == 0 ? 0 : 1;
}
