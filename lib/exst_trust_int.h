/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_trust_int.h - what the certificate parser (exst_certs.c) shares
 * with the consensus signature check (exst_sigcheck.c): the parsed
 * certificates, RSA signature checking the way tor does it (OpenSSL's
 * libcrypto, hidden behind void pointers so no other file sees it), and
 * the decoding of a document's base64 objects; and the name of an
 * output's signature, which the replay writer shares with the verifier.
 */
#ifndef EXST_TRUST_INT_H
#define EXST_TRUST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exitstage.h"

typedef struct exstp_cert {
    exst_cert_info info;
    void *signing_key;        /* EVP_PKEY *, owned */
    uint8_t text_digest[20];  /* SHA-1 of the certificate's bytes */
} exstp_cert;

struct exst_certs {
    exstp_cert *v;
    size_t n;
    size_t cap;
    size_t max_file_bytes;
    size_t max_certs;
};

/* What exstp_rsa_check found. */
enum {
    EXSTP_RSA_GOOD = 0,
    EXSTP_RSA_BAD = 1,      /* no valid type-1 padded block under the key */
    EXSTP_RSA_MISMATCH = 2, /* a valid block, but another digest in it */
    EXSTP_RSA_NOMEM = -1
};

/*
 * Check an RSA signature as tor's crypto_pk_public_checksig and its
 * callers do: the public operation with PKCS#1 v1.5 type-1 padding and
 * no DigestInfo; the recovered bytes must be at least dlen long and
 * start with digest.
 */
int exstp_rsa_check(void *pkey, const uint8_t *sig, size_t siglen,
                    const uint8_t *digest, size_t dlen);

/*
 * Look for a certificate of identity id with signing-key digest sk that
 * is valid at t.  Returns it, or NULL with *why set to
 * EXST_SIG_NO_CERTIFICATE, EXST_SIG_CERT_EXPIRED or
 * EXST_SIG_CERT_NOT_YET_VALID (several candidates: the first reason in
 * that order of preference wins: not yet valid, then expired).
 */
const exstp_cert *exstp_certs_find(const exst_certs *set,
                                   const uint8_t id[20], const uint8_t sk[20],
                                   int64_t t, int *why);

/*
 * Decode the base64 body of an object (the bytes between its BEGIN and
 * END lines, LFs included) into out (outsz bytes).  Returns false if the
 * body is not base64 or does not fit.
 */
bool exstp_object_decode(uint8_t *out, size_t outsz, size_t *outlen,
                         const char *body, size_t body_len);

/* Read a whole regular file of at most max bytes into a new buffer
 * (exst_free), NUL-terminated.  Errors name the file.  The _mode form
 * also gives the file's permission bits, from the descriptor it read. */
int exstp_read_file(char **out, size_t *out_len, const char *path,
                    size_t max, exst_error *err);
int exstp_read_file_mode(char **out, size_t *out_len, unsigned *mode,
                         const char *path, size_t max, exst_error *err);

/* PATH.minisig, malloc'd with exstp_malloc (NULL when out of memory). */
char *exstp_minisig_path(const char *path);

#endif /* EXST_TRUST_INT_H */
