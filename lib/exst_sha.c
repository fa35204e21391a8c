/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_sha.c - SHA-1 and SHA-256 as FIPS 180-4 defines them.  Checking a
 * consensus means one digest over about 3.4 MB inside a 5 ms budget for
 * the whole signature check, so speed matters: the block functions use
 * the x86 SHA extensions (sha1rnds4, sha256rnds2 and their message
 * helpers, 1.5 GB/s and more) when CPUID reports them, and unrolled
 * portable code otherwise.  Padding and buffering are shared.  Both are
 * checked against the FIPS vectors, each other and libsodium in
 * tests/unit/test_sha.c.
 */
#include "exst_sha_int.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define EXSTP_SHA_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* ---- SHA-1, portable ------------------------------------------------- */

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

static void sha1_portable(uint32_t *h, const uint8_t *p, size_t nblocks)
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

/* ---- SHA-1, SHA extensions ------------------------------------------- */

#ifdef EXSTP_SHA_X86
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
sha1_shani(uint32_t *h, const uint8_t *p, size_t nblocks)
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

#endif /* EXSTP_SHA_X86 */

/* ---- SHA-256, portable ----------------------------------------------- */

static const uint32_t K256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu,
    0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u,
    0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u,
    0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu,
    0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u,
    0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u,
    0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u, 0x1e376c08u,
    0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu,
    0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u};

static inline uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_portable(uint32_t *h, const uint8_t *p, size_t nblocks)
{
    uint32_t w[64];
    while (nblocks-- > 0) {
        for (int i = 0; i < 16; i++)
            w[i] = load_be32(p + 4 * i);
        for (int i = 16; i < 64; i++) {
            const uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^
                                (w[i - 15] >> 3);
            const uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^
                                (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5],
                 g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
            const uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
                                ((e & f) ^ (~e & g)) + K256[i] + w[i];
            const uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
                                ((a & b) ^ (a & c) ^ (b & c));
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
        p += 64;
    }
}

/* ---- SHA-256, SHA extensions ----------------------------------------- */

#ifdef EXSTP_SHA_X86
/*
 * sha256rnds2 takes the state as two registers, ABEF and CDGH (A, C in
 * the top lanes), runs two rounds with W+K from the low half of its third
 * operand and returns the new ABEF; the old ABEF is the new CDGH.  Message
 * group g (words 4g..4g+3, W(4g) in the low lane) comes from groups
 * g-4..g-1: sha256msg1 adds sigma0, an alignr brings in W(t-7), and
 * sha256msg2 adds sigma1, in a ring of four.
 */
#define NI256_GROUP(g)                                                     \
    do {                                                                   \
        if ((g) >= 4)                                                      \
            m[(g) & 3] = _mm_sha256msg2_epu32(                             \
                _mm_add_epi32(_mm_sha256msg1_epu32(m[(g) & 3],             \
                                                   m[((g) + 1) & 3]),      \
                              _mm_alignr_epi8(m[((g) + 3) & 3],            \
                                              m[((g) + 2) & 3], 4)),       \
                m[((g) + 3) & 3]);                                         \
        __m128i wk = _mm_add_epi32(                                        \
            m[(g) & 3], _mm_loadu_si128((const __m128i *)&K256[4 * (g)])); \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);                      \
        abef = _mm_sha256rnds2_epu32(abef, cdgh,                           \
                                     _mm_shuffle_epi32(wk, 0x0e));         \
    } while (0)

__attribute__((target("sha,sse4.1,ssse3"))) static void
sha256_shani(uint32_t *h, const uint8_t *p, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
                                         0x0405060700010203LL);
    /* (a,b,c,d), (e,f,g,h) -> ABEF, CDGH */
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0xb1);
    __m128i cdgh =
        _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(h + 4)), 0x1b);
    __m128i abef = _mm_alignr_epi8(t, cdgh, 8);
    cdgh = _mm_blend_epi16(cdgh, t, 0xf0);
    while (nblocks-- > 0) {
        const __m128i abef_in = abef, cdgh_in = cdgh;
        __m128i m[4];
        for (int i = 0; i < 4; i++)
            m[i] = _mm_shuffle_epi8(
                _mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
        NI256_GROUP(0);
        NI256_GROUP(1);
        NI256_GROUP(2);
        NI256_GROUP(3);
        NI256_GROUP(4);
        NI256_GROUP(5);
        NI256_GROUP(6);
        NI256_GROUP(7);
        NI256_GROUP(8);
        NI256_GROUP(9);
        NI256_GROUP(10);
        NI256_GROUP(11);
        NI256_GROUP(12);
        NI256_GROUP(13);
        NI256_GROUP(14);
        NI256_GROUP(15);
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
        p += 64;
    }
    /* ABEF, CDGH -> (a,b,c,d), (e,f,g,h) */
    t = _mm_shuffle_epi32(abef, 0x1b);
    cdgh = _mm_shuffle_epi32(cdgh, 0xb1);
    _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(t, cdgh, 0xf0));
    _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(cdgh, t, 8));
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
#endif /* EXSTP_SHA_X86 */

/* ---- choosing the block functions ------------------------------------ */

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
#ifdef EXSTP_SHA_X86
    if (!__atomic_load_n(&impl_forced, __ATOMIC_RELAXED) && cpu_has_sha())
        v = 2;
#endif
    __atomic_store_n(&impl_choice, v, __ATOMIC_RELAXED);
    return v;
}

void exstp_sha_force_portable(int on)
{
    __atomic_store_n(&impl_forced, on != 0, __ATOMIC_RELAXED);
    __atomic_store_n(&impl_choice, 0, __ATOMIC_RELAXED);
}

const char *exstp_sha_impl(void)
{
    return choose() == 2 ? "sha-ni" : "portable";
}

typedef void (*block_fn)(uint32_t *h, const uint8_t *p, size_t nblocks);

static block_fn sha1_blocks(void)
{
#ifdef EXSTP_SHA_X86
    if (choose() == 2)
        return sha1_shani;
#endif
    return sha1_portable;
}

static block_fn sha256_blocks(void)
{
#ifdef EXSTP_SHA_X86
    if (choose() == 2)
        return sha256_shani;
#endif
    return sha256_portable;
}

/* ---- buffering and padding (the same for both) ----------------------- */

static void md_update(uint32_t *h, uint8_t buf[64], size_t *nbuf,
                      uint64_t *total, block_fn blocks, const void *data,
                      size_t n)
{
    const uint8_t *p = data;
    *total += n;
    if (*nbuf > 0) {
        size_t take = 64 - *nbuf < n ? 64 - *nbuf : n;
        memcpy(buf + *nbuf, p, take);
        *nbuf += take;
        p += take;
        n -= take;
        if (*nbuf < 64)
            return;
        blocks(h, buf, 1);
        *nbuf = 0;
    }
    if (n >= 64) {
        blocks(h, p, n / 64);
        p += n & ~(size_t)63;
        n &= 63;
    }
    if (n > 0)
        memcpy(buf, p, n);
    *nbuf = n;
}

/* 0x80, zeros, the bit length as 64-bit big-endian; then the state words
 * big-endian into out. */
static void md_final(uint32_t *h, size_t words, uint8_t buf[64], size_t nbuf,
                     uint64_t total, block_fn blocks, uint8_t *out)
{
    const uint64_t bits = total * 8;
    buf[nbuf++] = 0x80;
    if (nbuf > 56) {
        memset(buf + nbuf, 0, 64 - nbuf);
        blocks(h, buf, 1);
        nbuf = 0;
    }
    memset(buf + nbuf, 0, 56 - nbuf);
    store_be32(buf + 56, (uint32_t)(bits >> 32));
    store_be32(buf + 60, (uint32_t)bits);
    blocks(h, buf, 1);
    for (size_t i = 0; i < words; i++)
        store_be32(out + 4 * i, h[i]);
}

/* ---- the interfaces ---------------------------------------------------- */

void exstp_sha1_init(exstp_sha1_ctx *s)
{
    static const uint32_t iv[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu,
                                   0x10325476u, 0xc3d2e1f0u};
    memcpy(s->h, iv, sizeof iv);
    s->total = 0;
    s->nbuf = 0;
}

void exstp_sha1_update(exstp_sha1_ctx *s, const void *p, size_t n)
{
    md_update(s->h, s->buf, &s->nbuf, &s->total, sha1_blocks(), p, n);
}

void exstp_sha1_final(exstp_sha1_ctx *s, uint8_t out[EXSTP_SHA1_BYTES])
{
    md_final(s->h, 5, s->buf, s->nbuf, s->total, sha1_blocks(), out);
    memset(s, 0, sizeof *s);
}

void exstp_sha1(uint8_t out[EXSTP_SHA1_BYTES], const void *p, size_t n)
{
    exstp_sha1_ctx s;
    exstp_sha1_init(&s);
    exstp_sha1_update(&s, p, n);
    exstp_sha1_final(&s, out);
}

void exstp_sha256_init(exstp_sha256_ctx *s)
{
    static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u,
                                   0xa54ff53au, 0x510e527fu, 0x9b05688cu,
                                   0x1f83d9abu, 0x5be0cd19u};
    memcpy(s->h, iv, sizeof iv);
    s->total = 0;
    s->nbuf = 0;
}

void exstp_sha256_update(exstp_sha256_ctx *s, const void *p, size_t n)
{
    md_update(s->h, s->buf, &s->nbuf, &s->total, sha256_blocks(), p, n);
}

void exstp_sha256_final(exstp_sha256_ctx *s, uint8_t out[EXSTP_SHA256_BYTES])
{
    md_final(s->h, 8, s->buf, s->nbuf, s->total, sha256_blocks(), out);
    memset(s, 0, sizeof *s);
}

void exstp_sha256(uint8_t out[EXSTP_SHA256_BYTES], const void *p, size_t n)
{
    exstp_sha256_ctx s;
    exstp_sha256_init(&s);
    exstp_sha256_update(&s, p, n);
    exstp_sha256_final(&s, out);
}
