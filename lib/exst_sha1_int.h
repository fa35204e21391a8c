/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_sha1_int.h - SHA-1 (FIPS 180-4), which tor still uses for the
 * signed digest of ns-flavour consensuses, for authority certificates and
 * for key fingerprints.  libsodium has no SHA-1 and OpenSSL is used for
 * RSA only, so this is the project's own: portable C, plus the x86 SHA
 * extensions when the processor has them (checked once at run time).
 */
#ifndef EXST_SHA1_INT_H
#define EXST_SHA1_INT_H

#include <stddef.h>
#include <stdint.h>

#define EXSTP_SHA1_BYTES 20

typedef struct exstp_sha1_ctx {
    uint32_t h[5];
    uint64_t total;     /* bytes hashed so far */
    uint8_t buf[64];
    size_t nbuf;        /* bytes waiting in buf */
} exstp_sha1_ctx;

void exstp_sha1_init(exstp_sha1_ctx *s);
void exstp_sha1_update(exstp_sha1_ctx *s, const void *p, size_t n);
/* Finish into out; s must be initialised again before reuse. */
void exstp_sha1_final(exstp_sha1_ctx *s, uint8_t out[EXSTP_SHA1_BYTES]);
/* One-shot digest of (p, n). */
void exstp_sha1(uint8_t out[EXSTP_SHA1_BYTES], const void *p, size_t n);

/* Which block function is in use: "sha-ni" or "portable". */
const char *exstp_sha1_impl(void);
/* Test and bench hook: nonzero forces the portable code, zero goes back
 * to choosing by CPU. */
void exstp_sha1_force_portable(int on);

#endif /* EXST_SHA1_INT_H */
