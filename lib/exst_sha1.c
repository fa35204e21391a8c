/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_sha1.c - SHA-1 as FIPS 180-4 defines it.  Checking an ns-flavour
 * consensus means one SHA-1 over about 3.4 MB, inside a 5 ms budget for
 * the whole signature check, so speed matters: the block function uses
 * the x86 SHA extensions (sha1rnds4 and friends, about 1.5 GB/s) when
 * CPUID reports them, and an unrolled portable version otherwise.  Both
 * are checked against the FIPS vectors and against each other in
 * tests/unit/test_sha1.c.
 */
#include "exst_sha1_int.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define EXSTP_SHA1_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* ---- the portable block function ------------------------------------ */

static inline uint32_t rol(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Round t of 80: the message schedule lives in a 16-word ring, word t
 * being rebuilt from words t-3, t-8, t-14 and t-16 just before use. */
#define W(t) (w[(t) & 15])
#define SCHED(t)                                                           \
    (W(t) = rol(W((t) + 13) ^ W((t) + 8) ^ W((t) + 2) ^ W(t), 1))
#define R(a, b, c, d, e, f, k, wt)                                         \
    do {                                                                   \
        (e) += rol((a), 5) + (f) + (k) + (wt);                             \
        (b) = rol((b), 30);                                                \
    } while (0)
#define F1(b, c, d) (((b) & (c)) | (~(b) & (d)))
#define F2(b, c, d) ((b) ^ (c) ^ (d))
#define F3(b, c, d) (((b) & (c)) | ((b) & (d)) | ((c) & (d)))
#define K1 0x5a827999u
#define K2 0x6ed9eba1u
#define K3 0x8f1bbcdcu
#define K4 0xca62c1d6u
/* Five rounds rotate the roles of a..e back to where they started. */
#define FIVE(t, F, K, WT)                                                  \
    do {                                                                   \
        R(a, b, c, d, e, F(b, c, d), K, WT(t));                            \
        R(e, a, b, c, d, F(a, b, c), K, WT((t) + 1));                      \
        R(d, e, a, b, c, F(e, a, b), K, WT((t) + 2));                      \
        R(c, d, e, a, b, F(d, e, a), K, WT((t) + 3));                      \
        R(b, c, d, e, a, F(c, d, e), K, WT((t) + 4));                      \
    } while (0)
#define WLOAD(t) W(t)
#define WNEXT(t) SCHED(t)

static void blocks_portable(uint32_t h[5], const uint8_t *p, size_t nblocks)
{
    uint32_t w[16];
    while (nblocks-- > 0) {
        for (int i = 0; i < 16; i++)
            w[i] = load_be32(p + 4 * i);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        FIVE(0, F1, K1, WLOAD);
        FIVE(5, F1, K1, WLOAD);
        FIVE(10, F1, K1, WLOAD);
        R(a, b, c, d, e, F1(b, c, d), K1, W(15));
        R(e, a, b, c, d, F1(a, b, c), K1, SCHED(16));
        R(d, e, a, b, c, F1(e, a, b), K1, SCHED(17));
        R(c, d, e, a, b, F1(d, e, a), K1, SCHED(18));
        R(b, c, d, e, a, F1(c, d, e), K1, SCHED(19));
        FIVE(20, F2, K2, WNEXT);
        FIVE(25, F2, K2, WNEXT);
        FIVE(30, F2, K2, WNEXT);
        FIVE(35, F2, K2, WNEXT);
        FIVE(40, F3, K3, WNEXT);
        FIVE(45, F3, K3, WNEXT);
        FIVE(50, F3, K3, WNEXT);
        FIVE(55, F3, K3, WNEXT);
        FIVE(60, F2, K4, WNEXT);
        FIVE(65, F2, K4, WNEXT);
        FIVE(70, F2, K4, WNEXT);
        FIVE(75, F2, K4, WNEXT);
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        p += 64;
    }
}

/* ---- the SHA extensions --------------------------------------------- */

#ifdef EXSTP_SHA1_X86
/*
 * Four rounds per sha1rnds4.  The state is kept as ABCD in one register
 * (A in the top lane) and E folded into the next message group by
 * sha1nexte, which also rotates the A of four rounds earlier by 30.
 * Message group g (words 4g..4g+3, W(4g) in the top lane) is built from
 * groups g-4..g-1 with sha1msg1, a xor and sha1msg2, in a ring of four.
 * The round function index (the immediate of sha1rnds4) changes every
 * five groups.
 */
#define NI_GROUP(g, f)                                                     \
    do {                                                                   \
        if ((g) >= 4)                                                      \
            m[(g) & 3] = _mm_sha1msg2_epu32(                               \
                _mm_xor_si128(_mm_sha1msg1_epu32(m[(g) & 3],               \
                                                 m[((g) + 1) & 3]),        \
                              m[((g) + 2) & 3]),                           \
                m[((g) + 3) & 3]);                                         \
        e = _mm_sha1nexte_epu32(prev, m[(g) & 3]);                         \
        prev = abcd;                                                       \
        abcd = _mm_sha1rnds4_epu32(abcd, e, (f));                          \
    } while (0)

__attribute__((target("sha,sse4.1,ssse3"))) static void
blocks_shani(uint32_t h[5], const uint8_t *p, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0001020304050607LL,
                                         0x08090a0b0c0d0e0fLL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h),
                                     0x1b);
    __m128i e0 = _mm_set_epi32((int)h[4], 0, 0, 0);
    while (nblocks-- > 0) {
        const __m128i abcd_in = abcd, e_in = e0;
        __m128i m[4], e, prev;
        for (int i = 0; i < 4; i++)
            m[i] = _mm_shuffle_epi8(
                _mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
        prev = abcd;
        e = _mm_add_epi32(e0, m[0]);
        abcd = _mm_sha1rnds4_epu32(abcd, e, 0);
        NI_GROUP(1, 0);
        NI_GROUP(2, 0);
        NI_GROUP(3, 0);
        NI_GROUP(4, 0);
        NI_GROUP(5, 1);
        NI_GROUP(6, 1);
        NI_GROUP(7, 1);
        NI_GROUP(8, 1);
        NI_GROUP(9, 1);
        NI_GROUP(10, 2);
        NI_GROUP(11, 2);
        NI_GROUP(12, 2);
        NI_GROUP(13, 2);
        NI_GROUP(14, 2);
        NI_GROUP(15, 3);
        NI_GROUP(16, 3);
        NI_GROUP(17, 3);
        NI_GROUP(18, 3);
        NI_GROUP(19, 3);
        /* E after round 80 is A after round 76, rotated. */
        e0 = _mm_sha1nexte_epu32(prev, e_in);
        abcd = _mm_add_epi32(abcd, abcd_in);
        p += 64;
    }
    _mm_storeu_si128((__m128i *)h, _mm_shuffle_epi32(abcd, 0x1b));
    h[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}

static int cpu_has_sha(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (!(c & (1u << 9)) || !(c & (1u << 19))) /* SSSE3, SSE4.1 */
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 29)) != 0; /* SHA */
}
#endif /* EXSTP_SHA1_X86 */

/* 0: not decided yet, 1: portable, 2: SHA extensions.  Decided once; the
 * answer is a fact about the machine, so racing threads agree on it. */
static int impl_choice;
static int impl_forced;

static int choose(void)
{
    int v = __atomic_load_n(&impl_choice, __ATOMIC_RELAXED);
    if (v != 0)
        return v;
    v = 1;
#ifdef EXSTP_SHA1_X86
    if (!__atomic_load_n(&impl_forced, __ATOMIC_RELAXED) && cpu_has_sha())
        v = 2;
#endif
    __atomic_store_n(&impl_choice, v, __ATOMIC_RELAXED);
    return v;
}

void exstp_sha1_force_portable(int on)
{
    __atomic_store_n(&impl_forced, on != 0, __ATOMIC_RELAXED);
    __atomic_store_n(&impl_choice, 0, __ATOMIC_RELAXED);
}

const char *exstp_sha1_impl(void)
{
    return choose() == 2 ? "sha-ni" : "portable";
}

static void blocks(uint32_t h[5], const uint8_t *p, size_t nblocks)
{
#ifdef EXSTP_SHA1_X86
    if (choose() == 2) {
        blocks_shani(h, p, nblocks);
        return;
    }
#endif
    blocks_portable(h, p, nblocks);
}

/* ---- streaming interface -------------------------------------------- */

void exstp_sha1_init(exstp_sha1_ctx *s)
{
    s->h[0] = 0x67452301u;
    s->h[1] = 0xefcdab89u;
    s->h[2] = 0x98badcfeu;
    s->h[3] = 0x10325476u;
    s->h[4] = 0xc3d2e1f0u;
    s->total = 0;
    s->nbuf = 0;
}

void exstp_sha1_update(exstp_sha1_ctx *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->total += n;
    if (s->nbuf > 0) {
        size_t take = 64 - s->nbuf < n ? 64 - s->nbuf : n;
        memcpy(s->buf + s->nbuf, p, take);
        s->nbuf += take;
        p += take;
        n -= take;
        if (s->nbuf < 64)
            return;
        blocks(s->h, s->buf, 1);
        s->nbuf = 0;
    }
    if (n >= 64) {
        blocks(s->h, p, n / 64);
        p += n & ~(size_t)63;
        n &= 63;
    }
    memcpy(s->buf, p, n);
    s->nbuf = n;
}

void exstp_sha1_final(exstp_sha1_ctx *s, uint8_t out[EXSTP_SHA1_BYTES])
{
    const uint64_t bits = s->total * 8;
    s->buf[s->nbuf++] = 0x80;
    if (s->nbuf > 56) {
        memset(s->buf + s->nbuf, 0, 64 - s->nbuf);
        blocks(s->h, s->buf, 1);
        s->nbuf = 0;
    }
    memset(s->buf + s->nbuf, 0, 56 - s->nbuf);
    store_be32(s->buf + 56, (uint32_t)(bits >> 32));
    store_be32(s->buf + 60, (uint32_t)bits);
    blocks(s->h, s->buf, 1);
    for (int i = 0; i < 5; i++)
        store_be32(out + 4 * i, s->h[i]);
    memset(s, 0, sizeof *s);
}

void exstp_sha1(uint8_t out[EXSTP_SHA1_BYTES], const void *p, size_t n)
{
    exstp_sha1_ctx s;
    exstp_sha1_init(&s);
    exstp_sha1_update(&s, p, n);
    exstp_sha1_final(&s, out);
}
