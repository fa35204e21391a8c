/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_sha_int.h - SHA-1 and SHA-256 (FIPS 180-4) for consensus and
 * certificate signatures.  tor still signs ns-flavour consensuses,
 * certificates and key fingerprints with SHA-1, which libsodium does not
 * have; SHA-256 is here too because the x86 SHA extensions make it ten
 * times faster than libsodium's portable code, which decides whether
 * checking a consensus fits its budget (SPEC 8).  Both use the SHA
 * extensions when CPUID reports them (checked once) and portable code
 * otherwise; tests/unit/test_sha.c holds them to the FIPS vectors, to each
 * other and to libsodium.
 */
#ifndef EXST_SHA_INT_H
#define EXST_SHA_INT_H

#include <stddef.h>
#include <stdint.h>

#define EXSTP_SHA1_BYTES 20
#define EXSTP_SHA256_BYTES 32

typedef struct exstp_sha1_ctx {
    uint32_t h[5];
    uint64_t total;     /* bytes hashed so far */
    uint8_t buf[64];
    size_t nbuf;        /* bytes waiting in buf */
} exstp_sha1_ctx;

typedef struct exstp_sha256_ctx {
    uint32_t h[8];
    uint64_t total;
    uint8_t buf[64];
    size_t nbuf;
} exstp_sha256_ctx;

/* Streaming interfaces.  A context may be copied by assignment to take a
 * snapshot (the digest of a prefix, with hashing going on). */
void exstp_sha1_init(exstp_sha1_ctx *s);
void exstp_sha1_update(exstp_sha1_ctx *s, const void *p, size_t n);
/* Finish into out; s must be initialised again before reuse. */
void exstp_sha1_final(exstp_sha1_ctx *s, uint8_t out[EXSTP_SHA1_BYTES]);
void exstp_sha1(uint8_t out[EXSTP_SHA1_BYTES], const void *p, size_t n);

void exstp_sha256_init(exstp_sha256_ctx *s);
void exstp_sha256_update(exstp_sha256_ctx *s, const void *p, size_t n);
void exstp_sha256_final(exstp_sha256_ctx *s,
                        uint8_t out[EXSTP_SHA256_BYTES]);
void exstp_sha256(uint8_t out[EXSTP_SHA256_BYTES], const void *p, size_t n);

/* Which block functions are in use: "sha-ni" or "portable". */
const char *exstp_sha_impl(void);
/* Test and bench hook: nonzero forces the portable code, zero goes back
 * to choosing by CPU. */
void exstp_sha_force_portable(int on);

#endif /* EXST_SHA_INT_H */
