/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_history.c - the history file reader never trusts its input: any
 * bytes either are refused with EXST_ERR_DB (or NOMEM) or load into a
 * history that serialises back to exactly the same bytes (the format is
 * canonical: one state, one encoding; a version 1 file from 0.1 comes
 * back as the version 2 encoding of the same state, 16 bytes longer, and
 * that one is canonical), whose JSON dump works, and which
 * can observe one more consensus without breaking its invariants.  (The
 * file's checksum is BLAKE2b-256 over everything before it, 32 bytes at
 * the end: see lib/exst_history.c.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "exitstage.h"

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond))                                                       \
            abort();                                                       \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one_input(const uint8_t *data, size_t size);

/*
 * Each input is tried twice: as it is, and with its last 32 bytes replaced
 * by the right checksum of the rest, so the mutations also reach the
 * checks behind the checksum (order, counts, times, flags).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one_input(data, size);
    if (size >= crypto_generichash_BYTES) {
        uint8_t *fixed = malloc(size);
        CHECK(fixed != NULL);
        const size_t body = size - crypto_generichash_BYTES;
        memcpy(fixed, data, body);
        CHECK(crypto_generichash(fixed + body, crypto_generichash_BYTES,
                                 fixed, body, NULL, 0) == 0);
        one_input(fixed, size);
        free(fixed);
    }
    return 0;
}

static int one_input(const uint8_t *data, size_t size)
{
    exst_history *h = NULL;
    exst_error err;
    int rc = exst_history_deserialize(&h, data, size, "fuzz", &err);
    if (rc != EXST_OK) {
        CHECK(h == NULL);
        CHECK(rc == EXST_ERR_DB || rc == EXST_ERR_NOMEM);
        return 0;
    }
    void *out = NULL;
    size_t out_len = 0;
    CHECK(exst_history_serialize(&out, &out_len, h, &err) == EXST_OK);
    if (size >= 12 && data[8] == 1) {
        /* Migrated: the same state in version 2, itself canonical. */
        CHECK(out_len == size + 16);
        exst_history *v2 = NULL;
        void *out2 = NULL;
        size_t out2_len = 0;
        CHECK(exst_history_deserialize(&v2, out, out_len, "v2", &err) ==
              EXST_OK);
        CHECK(exst_history_serialize(&out2, &out2_len, v2, &err) == EXST_OK);
        CHECK(out2_len == out_len && memcmp(out2, out, out_len) == 0);
        exst_free(out2);
        exst_history_free(v2);
    } else {
        CHECK(out_len == size && memcmp(out, data, size) == 0);
    }
    exst_free(out);

    char *json = NULL;
    CHECK(exst_history_dump_json(&json, h, NULL, 0, &err) == EXST_OK);
    exst_free(json);

    /* One more consensus, an hour after the newest: the present set is
     * every other known relay plus one new identity. */
    size_t n = exst_history_count(h);
    uint8_t (*present)[20] = calloc(n + 2, 20);
    CHECK(present != NULL);
    size_t np = 0;
    for (size_t i = 0; i < n; i += 2) {
        exst_record r;
        exst_history_record_at(h, i, &r);
        memcpy(present[np++], r.id, 20);
    }
    int64_t t = exst_history_newest(h);
    t = t == EXST_TIME_NONE ? 1700000000 : t + 3600;
    exst_observation obs = {
        .valid_after = t,
        .flavor = EXST_FLAVOR_NS,
        .present = (const uint8_t(*)[20])present,
        .n_present = np,
        .reset_after_s = 86400,
        .staging_period_s = 4 * 86400,
        .retention_s = 30 * 86400,
    };
    rc = exst_history_observe(h, &obs, NULL, NULL, &err);
    CHECK(rc == EXST_OK || rc == EXST_ERR_NOMEM || rc == EXST_ERR_USAGE ||
          rc == EXST_ERR_ORDER);
    if (rc == EXST_OK) {
        void *again = NULL;
        size_t again_len = 0;
        exst_history *h2 = NULL;
        CHECK(exst_history_serialize(&again, &again_len, h, &err) ==
              EXST_OK);
        CHECK(exst_history_deserialize(&h2, again, again_len, "again",
                                       &err) == EXST_OK);
        exst_history_free(h2);
        exst_free(again);
    }
    free(present);
    exst_history_free(h);
    return 0;
}
