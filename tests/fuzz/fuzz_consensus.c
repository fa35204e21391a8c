/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_consensus.c - libFuzzer target for the consensus parser and writer.
 * Parse the input with small limits; a document that parses must
 * (1) re-emit unmodified byte for byte, and (2) when every other relay is
 * stripped, the weights recomputed and the annotation added, re-parse
 * (annotations allowed) with the same number of relays and the same
 * identities, and re-emitting it gives the same edits without the
 * annotation items.  Any violation aborts.  The same file is built into a
 * replay driver (replay_main.c) that runs testdata/fuzz-corpus/consensus/
 * as an ordinary ctest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitstage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort, naming the property that failed. */
#define check(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_consensus.c:%d: failed: %s\n", __LINE__, \
                    #cond);                                                \
            abort();                                                       \
        }                                                                  \
    } while (0)

static void edited_roundtrip(const exst_consensus *c)
{
    const size_t n = exst_consensus_relay_count(c);
    uint8_t *strip = calloc(n ? n : 1, 1);
    int64_t *rs = calloc(n ? n : 1, sizeof *rs);
    int64_t *el = calloc(n ? n : 1, sizeof *el);
    char *out = NULL;
    if (strip == NULL || rs == NULL || el == NULL)
        goto done;
    size_t stripped = 0;
    for (size_t i = 0; i < n; i += 2) {
        strip[i] = 1;
        rs[i] = exst_consensus_valid_after(c) - 7200;
        el[i] = rs[i] + 345600;
        stripped++;
    }
    exst_weights w;
    exst_consensus_weights(&w, NULL, c, strip);
    exst_annotation ann = {345600, 86400, EXST_CLOCK_EXIT,
                           (n & 1) ? EXST_ENFORCE_BADEXIT : EXST_ENFORCE_FLAG,
                           stripped};
    exst_write_opts wo = {0};
    wo.strip = strip;
    wo.run_start = rs;
    wo.eligible_at = el;
    wo.enforce = ann.enforce;
    wo.weights = &w;
    wo.annotation = &ann;
    size_t out_len = 0;
    exst_error err;
    int rc = exst_consensus_write(&out, &out_len, c, &wo, &err);
    if (rc == EXST_ERR_LIMIT) /* a weights value too wide to format */
        goto done;
    check(rc == EXST_OK);

    exst_parse_opts po = {0};
    po.max_line_bytes = 4096;
    po.max_relays = 4096;
    po.flags = EXST_PARSE_ALLOW_REPROCESS;
    exst_consensus *c2 = NULL;
    rc = exst_consensus_parse(&c2, out, out_len, "edited", &po, &err);
    check(rc == EXST_OK);
    check(exst_consensus_relay_count(c2) == n);
    for (size_t i = 0; i < n; i++) {
        exst_relay a, b;
        exst_consensus_relay(c, i, &a);
        exst_consensus_relay(c2, i, &b);
        check(memcmp(a.id, b.id, 20) == 0);
        check(a.bandwidth == b.bandwidth);
        if (strip[i])
            check(!exst_consensus_relay_is_exit(c2, i));
    }
    /* Re-emitting the edited document drops its exitstage items (the
     * writer always cuts old annotations) and nothing else: it equals the
     * same edits written without annotation. */
    char *out2 = NULL, *plain = NULL;
    size_t out2_len = 0, plain_len = 0;
    check(exst_consensus_write(&out2, &out2_len, c2, NULL, &err) == EXST_OK);
    wo.annotation = NULL;
    check(exst_consensus_write(&plain, &plain_len, c, &wo, &err) == EXST_OK);
    check(out2_len == plain_len && memcmp(out2, plain, plain_len) == 0);
    exst_free(plain);
    exst_free(out2);
    exst_consensus_free(c2);
done:
    exst_free(out);
    free(strip);
    free(rs);
    free(el);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        check(exst_init() == EXST_OK);
        inited = 1;
    }
    exst_parse_opts opts = {0};
    opts.max_doc_bytes = 1u << 20;
    opts.max_line_bytes = 4096;
    opts.max_relays = 4096;
    exst_consensus *c = NULL;
    exst_error err;
    int rc = exst_consensus_parse(&c, data, size, "fuzz", &opts, &err);
    if (rc != EXST_OK) {
        check(c == NULL && err.code == rc);
        check(memchr(err.message, '\0', sizeof err.message) != NULL);
        return 0;
    }
    check(c != NULL);
    /* Unmodified: the same bytes as the (decompressed) input. */
    exst_span doc = exst_consensus_bytes(c);
    char *out = NULL;
    size_t out_len = 0;
    check(exst_consensus_write(&out, &out_len, c, NULL, &err) == EXST_OK);
    check(out_len == doc.len && memcmp(out, doc.ptr, doc.len) == 0);
    if (size < 4 || memcmp(data, "\x28\xb5\x2f\xfd", 4) != 0)
        check(out_len == size && memcmp(out, data, size) == 0);
    exst_free(out);
    /* The accessors must not crash or hang on any accepted document. */
    char *json = NULL;
    if (exst_consensus_summary_json(&json, c, &err) == EXST_OK)
        exst_free(json);
    (void)exst_consensus_weights_match(c);
    exst_weights win;
    exst_consensus_weights_in(&win, c);
    int32_t pv;
    (void)exst_consensus_param(c, "bwweightscale", &pv);
    for (size_t i = 0; i < exst_consensus_flag_count(c); i++)
        check(exst_consensus_flag_name(c, i).len > 0);
    edited_roundtrip(c);
    exst_consensus_free(c);
    return 0;
}
