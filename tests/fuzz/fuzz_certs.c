/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_certs.c - libFuzzer target for the authority certificate parser
 * (and the --authorities list parser, which reads the same kind of
 * operator-supplied text).  Any input is either refused with a status, a
 * message and (for parse errors) a line, leaving the set empty, or it
 * loads: at least one certificate, each with sane key sizes and times,
 * and loading the same bytes again adds nothing.  An authorities list
 * that parses is sorted and without repeats.  Any violation aborts.  The
 * replay driver runs testdata/fuzz-corpus/certs/ as a ctest; the seeds
 * are certificates of the generated test network (tools/mktestnet.py)
 * and hand-broken copies of them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitstage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_certs.c:%d: failed: %s\n", __LINE__,     \
                    #cond);                                                \
            abort();                                                       \
        }                                                                  \
    } while (0)

static void certificates(const uint8_t *data, size_t size)
{
    exst_certs *set = NULL;
    exst_error err;
    exst_error_clear(&err);
    exst_certs_opts o = {.max_certs = 64};
    check(exst_certs_new(&set, &o, &err) == EXST_OK);
    int rc = exst_certs_add(set, data, size, "fuzz", &err);
    if (rc != EXST_OK) {
        check(err.code == rc);
        check(err.message[0] != '\0');
        check(exst_certs_count(set) == 0);
        if (rc == EXST_ERR_SYNTAX || rc == EXST_ERR_SEMANTIC)
            check(err.line >= 1 && err.column >= 1 && err.offset <= size);
        exst_certs_free(set);
        return;
    }
    const size_t n = exst_certs_count(set);
    check(n >= 1);
    for (size_t i = 0; i < n; i++) {
        exst_cert_info ci;
        exst_certs_get(set, i, &ci);
        check(ci.identity_bits >= 1024 && ci.identity_bits <= 8192);
        check(ci.signing_bits >= 1024 && ci.signing_bits <= 8192);
        check(ci.published != EXST_TIME_NONE && ci.expires != EXST_TIME_NONE);
    }
    check(exst_certs_add(set, data, size, "again", &err) == EXST_OK);
    check(exst_certs_count(set) == n);
    exst_certs_free(set);
}

static void authorities(const uint8_t *data, size_t size)
{
    exst_authorities *a = NULL;
    exst_error err;
    exst_error_clear(&err);
    int rc = exst_authorities_parse(&a, data, size, "fuzz", &err);
    if (rc != EXST_OK) {
        check(a == NULL && err.code == rc && err.message[0] != '\0');
        return;
    }
    const size_t n = exst_authorities_count(a);
    check(n >= 1);
    for (size_t i = 1; i < n; i++)
        check(memcmp(exst_authorities_id(a, i - 1), exst_authorities_id(a, i),
                     20) < 0);
    exst_authorities_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        check(exst_init() == EXST_OK);
        ready = 1;
    }
    certificates(data, size);
    authorities(data, size);
    return 0;
}
