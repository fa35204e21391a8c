/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_consensus.c - the network-status-consensus-3 parser.
 *
 * The document is copied (or decompressed) once into memory the consensus
 * owns; every line is then visited once, and the parser keeps only offsets
 * of what the writer may edit (the known-flags line, each entry's s line
 * and end, the footer) so an unmodified document re-emits byte for byte.
 * Nothing in the input is trusted: every number is range checked, every
 * identity decoded with a length check, entry order and known-flags order
 * verified, and each error names the line and column.
 *
 * The router entries are nearly all of a document, and their lines are
 * read by parse_entries: each usual line (an r line with single spaces and
 * valid fields, a cached s line, "w Bandwidth=N", a bare m digest, a plain
 * p port list) takes an inlined fast path that accepts only what the
 * general reading would accept, with the same results; everything else,
 * errors included, goes through the general reading, so messages and
 * positions do not depend on which path saw the line.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "exst_consensus_int.h"
#include "exst_decomp_int.h"
#include "exst_int.h"
#include "exst_weights_int.h"

enum section { SEC_PREAMBLE, SEC_AUTH, SEC_ENTRIES, SEC_FOOTER, SEC_SIGS };

typedef struct line {
    const char *start;  /* first byte */
    const char *end;    /* the LF */
    unsigned long no;
    const char *kw;
    size_t kwlen;
    const char *args;   /* first byte after the keyword's separator */
} line;

typedef struct ctx {
    exst_consensus *c;
    const char *base;
    const char *source;
    const exst_parse_opts *opts;
    exst_error *err;
    size_t max_line;
    size_t max_relays;
    size_t relay_cap;
    /* s lines already parsed, by hash: most entries repeat one of a few
     * dozen flag sets, so a repeat costs a hash and a compare instead of a
     * token-by-token lookup (256 entries, two ways a set). */
    struct scache {
        uint32_t off;   /* the line's arguments in the document */
        uint32_t len;   /* 0: empty slot */
        uint64_t flags;
    } scache[256]; /* 128 sets of two */
    /* The last publication time (date, space, time) that parse_date
     * accepted: microdesc consensuses give every entry the same one. */
    char pub[19];
    bool have_pub;
    /* preamble bookkeeping */
    unsigned seen_version, seen_status, seen_method, seen_va, seen_fu,
        seen_vu, seen_flags, seen_params;
    bool method_set;
} ctx;

/* ---- errors ---------------------------------------------------------- */

static int perr(ctx *x, int code, const line *ln, const char *at,
                const char *fmt, ...) EXSTP_PRINTF(5, 6);

static int perr(ctx *x, int code, const line *ln, const char *at,
                const char *fmt, ...)
{
    char kw[32] = "";
    char msg[200];
    va_list ap;
    if (x->err == NULL)
        return code;
    if (ln->kw != NULL) {
        size_t n = ln->kwlen < sizeof kw - 1 ? ln->kwlen : sizeof kw - 1;
        memcpy(kw, ln->kw, n);
        kw[n] = '\0';
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at == NULL)
        at = ln->start;
    return exstp_error_set(x->err, code, x->source, ln->no,
                           (unsigned long)(at - ln->start) + 1,
                           (size_t)(at - x->base), kw, "%s", msg);
}

/* Quote untrusted token text for a message. */
#define QUOTE(buf, p, n) (exstp_escape((buf), sizeof(buf), (p), (n)), (buf))

/* ---- small scanners (move nothing on failure) ------------------------ */

/* The entry loop's usual cases are inlined into it and the rest kept out
 * of line, so the loop saves no registers for code it rarely runs. */
#if defined(__GNUC__)
#define HOT_INLINE static inline __attribute__((always_inline))
#define COLD       static __attribute__((noinline))
#else
#define HOT_INLINE static inline
#define COLD       static
#endif

/* The LF that ends the line at p, which must exist (prescan checked that
 * the document ends with one).  Most lines are short, so memchr's set-up
 * costs more than the search; 32 bytes a step where SSE2 is there. */
HOT_INLINE const char *find_lf(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n');
    while (end - p >= 32) {
        const __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
        const __m128i b =
            _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
        const unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(a, lf)) |
                           (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, lf))
                               << 16;
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 32;
    }
#endif
    return memchr(p, '\n', (size_t)(end - p));
}

static inline bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* First space in [p, end), or end.  Eight bytes at a time where the
 * machine is little-endian: tokens are short but there are hundreds of
 * thousands of them, and this loop was a fifth of the parse. */
static inline const char *find_space(const char *p, const char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    defined(__GNUC__)
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= UINT64_C(0x2020202020202020); /* spaces become zero bytes */
        uint64_t z = (v - UINT64_C(0x0101010101010101)) & ~v &
                     UINT64_C(0x8080808080808080);
        if (z != 0)
            return p + (__builtin_ctzll(z) >> 3);
        p += 8;
    }
#endif
    while (p < end && *p != ' ')
        p++;
    return p;
}

/* Next space-separated token of [*pp, end).  Tor's tokenizer allows runs
 * of spaces; so do we. */
static inline bool next_tok(const char **pp, const char *end, const char **ts,
                            size_t *tl)
{
    const char *p = *pp;
    while (p < end && *p == ' ')
        p++;
    *ts = p;
    *tl = 0;
    if (p >= end)
        return false;
    const char *e = find_space(p, end);
    *tl = (size_t)(e - p);
    *pp = e;
    return true;
}

static bool parse_u32(const char *p, size_t n, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_i32(const char *p, size_t n, int32_t *out)
{
    bool neg = false;
    uint32_t v;
    if (n > 0 && p[0] == '-') {
        neg = true;
        p++;
        n--;
    }
    if (!parse_u32(p, n, neg ? 2147483648u : 2147483647u, &v))
        return false;
    *out = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
    return true;
}

/* "YYYY-MM-DD" and "HH:MM:SS" as two tokens. */
static inline int d2(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* "YYYY-MM-DD" and "HH:MM:SS" as two tokens, checked field by field
 * (February 30 is refused).  out may be NULL when only validity matters
 * (publication times in r lines). */
static bool parse_date(const char *d, size_t dn, const char *t, size_t tn,
                       int64_t *out)
{
    static const unsigned char mdays[13] = {0,  31, 29, 31, 30, 31, 30,
                                            31, 31, 30, 31, 30, 31};
    if (dn != 10 || tn != 8 || d[4] != '-' || d[7] != '-' || t[2] != ':' ||
        t[5] != ':')
        return false;
    if (!(is_digit(d[0]) && is_digit(d[1]) && is_digit(d[2]) &&
          is_digit(d[3]) && is_digit(d[5]) && is_digit(d[6]) &&
          is_digit(d[8]) && is_digit(d[9]) && is_digit(t[0]) &&
          is_digit(t[1]) && is_digit(t[3]) && is_digit(t[4]) &&
          is_digit(t[6]) && is_digit(t[7])))
        return false;
    int y = d2(d) * 100 + d2(d + 2);
    int mo = d2(d + 5), da = d2(d + 8);
    int h = d2(t), mi = d2(t + 3), s = d2(t + 6);
    if (y < 1970 || mo < 1 || mo > 12 || da < 1 || da > mdays[mo] ||
        (mo == 2 && da == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
                                                  y % 400 == 0))) ||
        h > 23 || mi > 59 || s > 60)
        return false;
    if (out != NULL)
        *out = exstp_timegm(y, mo, da, h, mi, s);
    return true;
}

/* Dotted quad: four parts of one to three digits, each at most 255
 * (leading zeros allowed, as tor's inet_aton does). */
static bool parse_ipv4(const char *p, size_t n)
{
    if (n < 7 || n > 15)
        return false;
    const char *e = p + n;
    for (int part = 0;; part++) {
        unsigned v = (unsigned)(unsigned char)*p++ - '0';
        if (v > 9)
            return false;
        for (int k = 0; k < 2 && p < e; k++) {
            const unsigned d = (unsigned)(unsigned char)*p - '0';
            if (d > 9)
                break;
            v = v * 10 + d;
            p++;
        }
        if (v > 255)
            return false;
        if (part == 3)
            return p == e;
        if (e - p < 2 || *p != '.')
            return false;
        p++;
    }
}

/* Base64 alphabet: 0x80 | value (0 to 63) for the 64 characters, plus
 * 0x40 for the 62 that are letters or digits; 0 for every other byte.
 * A run of bytes is checked by ANDing table entries (two instructions a
 * byte, no compare per byte): bit 7 survives if all are base64, bit 6 if
 * all are alphanumeric (nicknames). */
#define B64(v) (0x80 | (v))
#define AN(v)  (0xc0 | (v))
static const unsigned char b64val[256] = {
    ['A'] = AN(0),  ['B'] = AN(1),  ['C'] = AN(2),   ['D'] = AN(3),
    ['E'] = AN(4),  ['F'] = AN(5),  ['G'] = AN(6),   ['H'] = AN(7),
    ['I'] = AN(8),  ['J'] = AN(9),  ['K'] = AN(10),  ['L'] = AN(11),
    ['M'] = AN(12), ['N'] = AN(13), ['O'] = AN(14),  ['P'] = AN(15),
    ['Q'] = AN(16), ['R'] = AN(17), ['S'] = AN(18),  ['T'] = AN(19),
    ['U'] = AN(20), ['V'] = AN(21), ['W'] = AN(22),  ['X'] = AN(23),
    ['Y'] = AN(24), ['Z'] = AN(25), ['a'] = AN(26),  ['b'] = AN(27),
    ['c'] = AN(28), ['d'] = AN(29), ['e'] = AN(30),  ['f'] = AN(31),
    ['g'] = AN(32), ['h'] = AN(33), ['i'] = AN(34),  ['j'] = AN(35),
    ['k'] = AN(36), ['l'] = AN(37), ['m'] = AN(38),  ['n'] = AN(39),
    ['o'] = AN(40), ['p'] = AN(41), ['q'] = AN(42),  ['r'] = AN(43),
    ['s'] = AN(44), ['t'] = AN(45), ['u'] = AN(46),  ['v'] = AN(47),
    ['w'] = AN(48), ['x'] = AN(49), ['y'] = AN(50),  ['z'] = AN(51),
    ['0'] = AN(52), ['1'] = AN(53), ['2'] = AN(54),  ['3'] = AN(55),
    ['4'] = AN(56), ['5'] = AN(57), ['6'] = AN(58),  ['7'] = AN(59),
    ['8'] = AN(60), ['9'] = AN(61), ['+'] = B64(62), ['/'] = B64(63),
};
#undef AN
#undef B64
#define B64_OK        0x80
#define B64_ALNUM     0x40
#define B64_VALUE(ch) (b64val[(unsigned char)(ch)] & 0x3f)

/* Index of the first byte that is not in the base64 alphabet, or n. */
static size_t b64_span(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && b64val[(unsigned char)p[i]] != 0)
        i++;
    return i;
}

/* AND of the table entries of n bytes (B64_OK and B64_ALNUM survive only
 * if every byte has them). */
static inline unsigned b64_and(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    unsigned acc = B64_OK | B64_ALNUM;
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        acc &= (unsigned)(b64val[u[i]] & b64val[u[i + 1]] & b64val[u[i + 2]] &
                          b64val[u[i + 3]]);
    for (; i < n; i++)
        acc &= b64val[u[i]];
    return acc;
}

#if defined(__SSE2__)
/* The 16 bytes at p all in the base64 alphabet?  Letters are the bytes
 * that OR 0x20 maps into 'a'..'z', digits '0'..'9', and '+' and '/' the
 * two that OR 4 maps to '/'; each range test is one add and one signed
 * compare on bytes biased by 0x80. */
static inline __m128i alnum_16(__m128i x)
{
    const __m128i lc = _mm_or_si128(x, _mm_set1_epi8(0x20));
    const __m128i letter =
        _mm_cmplt_epi8(_mm_add_epi8(lc, _mm_set1_epi8((char)(0x80 - 'a'))),
                       _mm_set1_epi8((char)(-128 + 26)));
    const __m128i digit =
        _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - '0'))),
                       _mm_set1_epi8((char)(-128 + 10)));
    return _mm_or_si128(letter, digit);
}

static inline int b64_16(const char *p)
{
    const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    const __m128i sym =
        _mm_cmpeq_epi8(_mm_or_si128(x, _mm_set1_epi8(4)), _mm_set1_epi8('/'));
    const __m128i ok = _mm_or_si128(alnum_16(x), sym);
    return _mm_movemask_epi8(ok) == 0xffff;
}
#endif

/* All n bytes in the base64 alphabet?  This runs over every identity,
 * digest and microdescriptor hash: sixteen bytes at a time where SSE2 is
 * there (the last block overlapping the one before). */
static inline bool b64_all(const char *p, size_t n)
{
#if defined(__SSE2__)
    if (n >= 16) {
        int ok = 1;
        size_t i = 0;
        for (; i + 16 <= n; i += 16)
            ok &= b64_16(p + i);
        if (i < n)
            ok &= b64_16(p + n - 16);
        return ok != 0;
    }
#endif
    return (b64_and(p, n) & B64_OK) != 0;
}

/*
 * A 27-character unpadded base64 identity.  Parsing only validates it:
 * every character in the alphabet and the two bits past the 20 bytes zero,
 * exactly what libsodium's decoder accepts, so the encoding is canonical
 * and the text orders entries as the decoded bytes do (see id_cmp).  The
 * bytes themselves are decoded with libsodium when someone asks for them:
 * most entries are never needed (only exits, under the default clock), and
 * decoding every one was a fifth of the parse time.
 */
static bool valid_id(const char *p, size_t n)
{
    if (n != 27 || !b64_all(p, n))
        return false;
    return (B64_VALUE(p[26]) & 3) == 0;
}

/* Order of two validated identities, as memcmp on their decoded bytes:
 * base64 keeps the bits in order, so comparing character values (not
 * ASCII codes) character by character is the same comparison. */
static int id_cmp(const char *a, const char *b)
{
    int i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ &&    \
    defined(__GNUC__)
    /* Skip the common prefix a word at a time (sorted neighbours share a
     * few characters); the first differing character decides. */
    for (; i + 8 <= 27; i += 8) {
        uint64_t u, v;
        memcpy(&u, a + i, 8);
        memcpy(&v, b + i, 8);
        if (u != v) {
            i += __builtin_ctzll(u ^ v) >> 3;
            break;
        }
    }
#endif
    for (; i < 27; i++) {
        int d = B64_VALUE(a[i]) - B64_VALUE(b[i]);
        if (d != 0)
            return d;
    }
    return 0;
}

static void decode_id(uint8_t out[20], const char *p)
{
    size_t bin_len = 0;
    if (sodium_base642bin(out, 20, p, 27, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
        bin_len != 20)
        memset(out, 0, 20); /* unreachable: validated by valid_id */
}

void exstp_relay_id(const exst_consensus *c, size_t i, uint8_t out[20])
{
    decode_id(out, c->doc + c->relays[i].id_off);
}

/* ---- line reading ---------------------------------------------------- */

static int skip_object(ctx *x, const char **pp, const char *end,
                       unsigned long *lineno);

/* Split the line at [s, e) into keyword and arguments. */
static void split_line(line *ln, const char *s, const char *e,
                       unsigned long no)
{
    ln->start = s;
    ln->end = e;
    ln->no = no;
    ln->kw = s;
    const char *p = s;
    while (p < e && *p != ' ')
        p++;
    ln->kwlen = (size_t)(p - s);
    while (p < e && *p == ' ')
        p++;
    ln->args = p;
}

static inline bool kw_is(const line *ln, const char *kw, size_t n)
{
    return ln->kwlen == n && memcmp(ln->kw, kw, n) == 0;
}
#define KW(ln, lit) kw_is((ln), (lit), sizeof(lit) - 1)

static bool valid_keyword(const line *ln)
{
    if (ln->kwlen == 1) /* the entry lines r s w m a p v: one letter */
        return (ln->kw[0] >= 'a' && ln->kw[0] <= 'z') ||
               (ln->kw[0] >= 'A' && ln->kw[0] <= 'Z') || is_digit(ln->kw[0]);
    if (ln->kwlen == 0 || ln->kw[0] == '-')
        return false;
    for (size_t i = 0; i < ln->kwlen; i++) {
        char ch = ln->kw[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              is_digit(ch) || ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

static size_t count_args(const line *ln)
{
    const char *p = ln->args, *ts;
    size_t tl, n = 0;
    while (next_tok(&p, ln->end, &ts, &tl))
        n++;
    return n;
}

/* ---- preamble items -------------------------------------------------- */

static int need_args(ctx *x, const line *ln, size_t min, size_t max)
{
    size_t n = count_args(ln);
    if (n < min || n > max) {
        char kw[40];
        QUOTE(kw, ln->kw, ln->kwlen);
        if (min == max)
            return perr(x, EXST_ERR_SYNTAX, ln, ln->args,
                        "\"%s\" line: expected %zu argument%s, found %zu",
                        kw, min, min == 1 ? "" : "s", n);
        if (n < min)
            return perr(x, EXST_ERR_SYNTAX, ln, ln->args,
                        "\"%s\" line: expected at least %zu arguments, "
                        "found %zu", kw, min, n);
        return perr(x, EXST_ERR_SYNTAX, ln, ln->args,
                    "\"%s\" line: expected at most %zu arguments, found %zu",
                    kw, max, n);
    }
    return EXST_OK;
}

static int once(ctx *x, const line *ln, unsigned *seen)
{
    char kw[40];
    if (++*seen > 1)
        return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                    "\"%s\" appears more than once",
                    QUOTE(kw, ln->kw, ln->kwlen));
    return EXST_OK;
}

static int parse_time_item(ctx *x, const line *ln, unsigned *seen,
                           int64_t *out)
{
    const char *p = ln->args, *d = NULL, *t = NULL;
    size_t dn = 0, tn = 0;
    int rc = once(x, ln, seen);
    if (rc != EXST_OK)
        return rc;
    if ((rc = need_args(x, ln, 2, 2)) != EXST_OK)
        return rc;
    next_tok(&p, ln->end, &d, &dn);
    next_tok(&p, ln->end, &t, &tn);
    if (!parse_date(d, dn, t, tn, out))
        return perr(x, EXST_ERR_SYNTAX, ln, d,
                    "\"%.*s\" line: expected a time as YYYY-MM-DD HH:MM:SS",
                    (int)ln->kwlen, ln->kw);
    return EXST_OK;
}

static int parse_known_flags(ctx *x, const line *ln)
{
    exst_consensus *c = x->c;
    const char *p = ln->args, *ts;
    size_t tl;
    char q[64], q2[64];
    int rc = once(x, ln, &x->seen_flags);
    if (rc != EXST_OK)
        return rc;
    c->known_flags_off = (size_t)(ln->start - x->base);
    c->known_flags_end = (size_t)(ln->end - x->base);
    while (next_tok(&p, ln->end, &ts, &tl)) {
        if (c->n_flags == EXSTP_MAX_FLAGS)
            return perr(x, EXST_ERR_LIMIT, ln, ts,
                        "\"known-flags\" line: more than %d flags",
                        EXSTP_MAX_FLAGS);
        for (size_t i = 0; i < tl; i++) {
            char ch = ts[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  is_digit(ch) || ch == '-' || ch == '_'))
                return perr(x, EXST_ERR_SYNTAX, ln, ts + i,
                            "\"known-flags\" line: invalid flag name '%s'",
                            QUOTE(q, ts, tl));
        }
        if (c->n_flags > 0) {
            const exst_span *prev = &c->flags[c->n_flags - 1];
            size_t m = prev->len < tl ? prev->len : tl;
            int cmp = memcmp(prev->ptr, ts, m);
            if (cmp == 0)
                cmp = prev->len < tl ? -1 : (prev->len > tl ? 1 : 0);
            if (cmp == 0)
                return perr(x, EXST_ERR_SEMANTIC, ln, ts,
                            "\"known-flags\" line: duplicate flag '%s'",
                            QUOTE(q, ts, tl));
            if (cmp > 0)
                return perr(x, EXST_ERR_SEMANTIC, ln, ts,
                            "\"known-flags\" line: flags not sorted: '%s' "
                            "must come before '%s'",
                            QUOTE(q, ts, tl),
                            QUOTE(q2, prev->ptr, prev->len));
        }
        c->flags[c->n_flags].ptr = ts;
        c->flags[c->n_flags].len = tl;
        c->n_flags++;
    }
    return EXST_OK;
}

/* params: K=V tokens, V an int32, strictly ascending by strcmp on the whole
 * token (tor's rule), keys unique. */
static int parse_params(ctx *x, const line *ln)
{
    const char *p = ln->args, *ts, *pts = NULL;
    size_t tl, ptl = 0;
    char q[64], q2[64];
    int rc = once(x, ln, &x->seen_params);
    if (rc != EXST_OK)
        return rc;
    x->c->params_off = (size_t)(ln->args - x->base);
    x->c->params_end = (size_t)(ln->end - x->base);
    while (next_tok(&p, ln->end, &ts, &tl)) {
        const char *eq = memchr(ts, '=', tl);
        int32_t v;
        if (eq == NULL || eq == ts)
            return perr(x, EXST_ERR_SYNTAX, ln, ts,
                        "\"params\" line: expected KEY=VALUE, found '%s'",
                        QUOTE(q, ts, tl));
        if (!parse_i32(eq + 1, (size_t)(ts + tl - eq - 1), &v))
            return perr(x, EXST_ERR_SYNTAX, ln, eq + 1,
                        "\"params\" line: value of '%s' is not a 32-bit "
                        "integer", QUOTE(q, ts, (size_t)(eq - ts)));
        if (pts != NULL) {
            size_t m = ptl < tl ? ptl : tl;
            int cmp = memcmp(pts, ts, m);
            if (cmp == 0)
                cmp = ptl < tl ? -1 : (ptl > tl ? 1 : 0);
            const char *peq = memchr(pts, '=', ptl);
            if ((size_t)(peq - pts) == (size_t)(eq - ts) &&
                memcmp(pts, ts, (size_t)(eq - ts)) == 0)
                return perr(x, EXST_ERR_SEMANTIC, ln, ts,
                            "\"params\" line: duplicate parameter '%s'",
                            QUOTE(q, ts, (size_t)(eq - ts)));
            if (cmp >= 0)
                return perr(x, EXST_ERR_SEMANTIC, ln, ts,
                            "\"params\" line: parameters not sorted: '%s' "
                            "must come before '%s'",
                            QUOTE(q, ts, tl), QUOTE(q2, pts, ptl));
        }
        pts = ts;
        ptl = tl;
    }
    return EXST_OK;
}

static int parse_preamble_line(ctx *x, const line *ln)
{
    exst_consensus *c = x->c;
    const char *p = ln->args, *ts;
    size_t tl;
    char q[64];
    int rc;

    if (KW(ln, "vote-status")) {
        if ((rc = once(x, ln, &x->seen_status)) != EXST_OK)
            return rc;
        if ((rc = need_args(x, ln, 1, 1)) != EXST_OK)
            return rc;
        next_tok(&p, ln->end, &ts, &tl);
        if (tl != 9 || memcmp(ts, "consensus", 9) != 0)
            return perr(x, EXST_ERR_SEMANTIC, ln, ts,
                        "not a consensus: vote-status is '%s'",
                        QUOTE(q, ts, tl));
        return EXST_OK;
    }
    if (x->seen_status == 0)
        return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                    "not a consensus: expected \"vote-status consensus\" "
                    "after network-status-version, found '%s'",
                    QUOTE(q, ln->kw, ln->kwlen));
    if (KW(ln, "consensus-method")) {
        uint32_t m;
        if ((rc = once(x, ln, &x->seen_method)) != EXST_OK)
            return rc;
        if ((rc = need_args(x, ln, 1, 1)) != EXST_OK)
            return rc;
        next_tok(&p, ln->end, &ts, &tl);
        if (!parse_u32(ts, tl, 1000, &m) || m < 1)
            return perr(x, EXST_ERR_SYNTAX, ln, ts,
                        "\"consensus-method\" line: expected a method "
                        "number, found '%s'", QUOTE(q, ts, tl));
        c->method = m;
        return EXST_OK;
    }
    if (KW(ln, "valid-after") || KW(ln, "fresh-until") ||
        KW(ln, "valid-until")) {
        const char k = ln->kw[6]; /* valid-[a]fter, fresh-[u]ntil, ... */
        unsigned *seen = ln->kw[0] == 'f' ? &x->seen_fu
                         : k == 'a'       ? &x->seen_va
                                          : &x->seen_vu;
        int64_t *t = ln->kw[0] == 'f' ? &c->fresh_until
                     : k == 'a'       ? &c->valid_after
                                      : &c->valid_until;
        if ((rc = parse_time_item(x, ln, seen, t)) != EXST_OK)
            return rc;
        /* valid-after <= fresh-until <= valid-until, checked as soon as
         * two of them are known, at the line that breaks the order. */
        if ((x->seen_va && x->seen_fu && c->fresh_until < c->valid_after) ||
            (x->seen_fu && x->seen_vu && c->valid_until < c->fresh_until) ||
            (x->seen_va && x->seen_vu && c->valid_until < c->valid_after))
            return perr(x, EXST_ERR_SEMANTIC, ln, ln->args,
                        "preamble times out of order (valid-after <= "
                        "fresh-until <= valid-until)");
        return EXST_OK;
    }
    if (KW(ln, "known-flags"))
        return parse_known_flags(x, ln);
    if (KW(ln, "params"))
        return parse_params(x, ln);
    if (KW(ln, "consensus-methods") || KW(ln, "published") ||
        KW(ln, "flag-thresholds") || KW(ln, "dir-key-certificate-version"))
        return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                    "not a consensus: \"%s\" is a vote item",
                    QUOTE(q, ln->kw, ln->kwlen));
    if (KW(ln, "exitstage")) {
        if (x->opts->flags & EXST_PARSE_ALLOW_REPROCESS)
            return EXST_OK;
        return perr(x, EXST_ERR_REPROCESS, ln, NULL,
                    "document was already processed by exitstage; staging "
                    "it twice would compound (use --allow-reprocess to "
                    "override)");
    }
    /* voting-delay, client-/server-versions, package, protocol lines,
     * shared-rand values and future items pass through untouched. */
    return EXST_OK;
}

/* ---- router status entries ------------------------------------------- */

COLD int grow_relays_slow(ctx *x, const line *ln)
{
    exst_consensus *c = x->c;
    if (c->n_relays >= x->max_relays)
        return perr(x, EXST_ERR_LIMIT, ln, NULL,
                    "more than %zu router entries", x->max_relays);
    /* First guess from the document size (a live entry is ~350 bytes), so
     * a whole consensus needs one allocation and no copying. */
    size_t guess = x->c->len / 300 + 16;
    size_t cap = x->relay_cap ? x->relay_cap * 2
                              : (guess < x->max_relays ? guess : x->max_relays);
    exstp_relay *r = exstp_realloc(c->relays, cap * sizeof *r);
    if (r == NULL)
        return perr(x, EXST_ERR_NOMEM, ln, NULL, "out of memory");
    c->relays = r;
    x->relay_cap = cap;
    return EXST_OK;
}

HOT_INLINE int grow_relays(ctx *x, const line *ln)
{
    if (x->c->n_relays < x->relay_cap)
        return EXST_OK;
    return grow_relays_slow(x, ln);
}

/* The fast path of parse_r reads fields up to the first byte that cannot
 * continue them and lets the caller check what follows; the LF that ends
 * every line stops each run, so nothing reads past the line. */

/* A dotted quad of one to three digits a part, each part at most 255. */
HOT_INLINE const char *scan_ipv4(const char *p)
{
    for (int part = 0;; part++) {
        unsigned v = (unsigned)(unsigned char)p[0] - '0';
        if (v > 9)
            return NULL;
        unsigned d = (unsigned)(unsigned char)p[1] - '0';
        if (d > 9) {
            p += 1;
        } else {
            v = v * 10 + d;
            d = (unsigned)(unsigned char)p[2] - '0';
            if (d > 9) {
                p += 2;
            } else {
                if (v * 10 + d > 255)
                    return NULL;
                p += 3;
            }
        }
        if (part == 3)
            return p;
        if (*p != '.')
            return NULL;
        p++;
    }
}

/* One to five digits, at most 65535. */
HOT_INLINE const char *scan_port(const char *p, uint32_t *out)
{
    const char *s = p;
    uint32_t v = 0;
    unsigned d;
    while ((d = (unsigned)(unsigned char)*p - '0') <= 9) {
        v = v * 10 + d; /* may wrap past five digits: refused below */
        p++;
    }
    if (p == s || p - s > 5 || v > 65535)
        return NULL;
    *out = v;
    return p;
}

/*
 * The r line as documents write it: single spaces, no extra arguments and
 * every field valid.  Fills r and returns true only when the general
 * reading below would accept the line and find the same fields; on false
 * the general reading runs and reports whatever is wrong.  It takes a
 * quarter of the instructions, and r lines are a third of the parse.
 */
HOT_INLINE bool parse_r_fast(ctx *x, const line *ln, exstp_relay *r)
{
    const bool md = x->c->flavor == EXST_FLAVOR_MICRODESC;
    const char *p = ln->args, *end = ln->end;
    const char *nick = p;
#if defined(__SSE2__)
    if (end - p >= 16) { /* the run of letters and digits, 16 at a time */
        const unsigned m = (unsigned)_mm_movemask_epi8(
            alnum_16(_mm_loadu_si128((const __m128i *)(const void *)p)));
        p += __builtin_ctz(~m); /* 16 when all are: the loop goes on */
    }
#endif
    while (b64val[(unsigned char)*p] & B64_ALNUM)
        p++;
    const size_t nick_len = (size_t)(p - nick);
    /* " ID[ DIGEST] DATE TIME " up to the address */
    const size_t fixed = md ? 1 + 28 + 11 + 9 : 1 + 28 + 28 + 11 + 9;
    if (nick_len < 1 || nick_len > 19 || *p != ' ' || (size_t)(end - p) < fixed)
        return false;
    const char *id = p + 1;
    if (id[27] != ' ' || !valid_id(id, 27))
        return false;
    const char *d = id + 28;
    if (!md) {
        if (d[27] != ' ' || !b64_all(d, 27))
            return false;
        d += 28;
    }
    if (d[10] != ' ' || d[19] != ' ')
        return false;
    if (!(x->have_pub && memcmp(d, x->pub, 19) == 0)) {
        if (!parse_date(d, 10, d + 11, 8, NULL))
            return false;
        memcpy(x->pub, d, 19);
        x->have_pub = true;
    }
    const char *addr = d + 20, *addr_end = scan_ipv4(addr);
    uint32_t orport, dirport;
    if (addr_end == NULL || *addr_end != ' ' ||
        (p = scan_port(addr_end + 1, &orport)) == NULL || *p != ' ' ||
        (p = scan_port(p + 1, &dirport)) == NULL || p != end)
        return false;
    r->or_port = orport;
    r->id_off = (uint32_t)(id - x->base);
    r->nick_off = (uint32_t)(nick - x->base);
    r->nick_len = (uint8_t)nick_len;
    r->addr_off = (uint32_t)(addr - x->base);
    r->addr_len = (uint8_t)(addr_end - addr);
    r->line = (uint32_t)ln->no;
    return true;
}

COLD int parse_r_general(ctx *x, const line *ln, exstp_relay *r)
{
    exst_consensus *c = x->c;
    const bool md = c->flavor == EXST_FLAVOR_MICRODESC;
    const size_t want = md ? 7 : 8;
    const char *p = ln->args, *t[8];
    size_t n[8], k = 0;
    char q[64];

    /* Identity, digest, date and time have fixed widths: take them
     * without scanning when a separator sits where it should (the field
     * checks below still see every byte). */
    static const unsigned char width_md[8] = {0, 27, 10, 8, 0, 0, 0, 0};
    static const unsigned char width_ns[8] = {0, 27, 27, 10, 8, 0, 0, 0};
    const unsigned char *width = md ? width_md : width_ns;
    const char *end = ln->end;
    memset(r, 0, sizeof *r);
    while (k < 8) {
        size_t w = width[k];
        if (w != 0 && p < end && *p == ' ')
            p++;
        if (w != 0 && (size_t)(end - p) >= w && *p != ' ' &&
            (p + w == end || p[w] == ' ')) {
            t[k] = p;
            n[k++] = w;
            p += w;
            continue;
        }
        if (!next_tok(&p, end, &t[k], &n[k]))
            break;
        k++;
    }
    if (k < want) {
        if (k == 7 && !md)
            return perr(x, EXST_ERR_SYNTAX, ln, ln->args,
                        "\"r\" line: expected 8 arguments, found 7 (a "
                        "microdesc entry in an ns consensus?)");
        return perr(x, EXST_ERR_SYNTAX, ln, ln->args,
                    "\"r\" line: expected %zu arguments, found %zu", want, k);
    }
    /* Extra arguments are allowed by the grammar; ignore them. */
    if (n[0] < 1 || n[0] > 19)
        return perr(x, EXST_ERR_SYNTAX, ln, t[0],
                    "\"r\" line: nickname must be 1 to 19 characters");
    if (!(b64_and(t[0], n[0]) & B64_ALNUM)) {
        size_t i = 0;
        while (b64val[(unsigned char)t[0][i]] & B64_ALNUM)
            i++;
        return perr(x, EXST_ERR_SYNTAX, ln, t[0] + i,
                    "\"r\" line: invalid nickname '%s'", QUOTE(q, t[0], n[0]));
    }
    if (!valid_id(t[1], n[1]))
        return perr(x, EXST_ERR_SYNTAX, ln, t[1],
                    "\"r\" line: identity '%s' is not 27 characters of "
                    "base64 (20 bytes)", QUOTE(q, t[1], n[1]));
    size_t i = 2;
    if (!md) {
        if (n[2] != 27 || !b64_all(t[2], n[2]))
            return perr(x, EXST_ERR_SYNTAX, ln, t[2],
                        "\"r\" line: descriptor digest '%s' is not 27 "
                        "characters of base64", QUOTE(q, t[2], n[2]));
        i = 3;
    }
    const bool pub_run = n[i] == 10 && n[i + 1] == 8 && t[i + 1] == t[i] + 11;
    if (!(pub_run && x->have_pub && memcmp(t[i], x->pub, 19) == 0)) {
        if (!parse_date(t[i], n[i], t[i + 1], n[i + 1], NULL))
            return perr(x, EXST_ERR_SYNTAX, ln, t[i],
                        "\"r\" line: expected a publication time as "
                        "YYYY-MM-DD HH:MM:SS");
        if (pub_run) {
            memcpy(x->pub, t[i], 19);
            x->have_pub = true;
        }
    }
    if (!parse_ipv4(t[i + 2], n[i + 2]))
        return perr(x, EXST_ERR_SYNTAX, ln, t[i + 2],
                    "\"r\" line: invalid IPv4 address '%s'",
                    QUOTE(q, t[i + 2], n[i + 2]));
    uint32_t orport, dirport;
    if (!parse_u32(t[i + 3], n[i + 3], 65535, &orport))
        return perr(x, EXST_ERR_SYNTAX, ln, t[i + 3],
                    "\"r\" line: invalid ORPort '%s'",
                    QUOTE(q, t[i + 3], n[i + 3]));
    if (!parse_u32(t[i + 4], n[i + 4], 65535, &dirport))
        return perr(x, EXST_ERR_SYNTAX, ln, t[i + 4],
                    "\"r\" line: invalid DirPort '%s'",
                    QUOTE(q, t[i + 4], n[i + 4]));
    r->or_port = orport;
    r->id_off = (uint32_t)(t[1] - x->base);
    r->nick_off = (uint32_t)(t[0] - x->base);
    r->nick_len = (uint8_t)n[0];
    r->addr_off = (uint32_t)(t[i + 2] - x->base);
    r->addr_len = (uint8_t)n[i + 2];
    r->line = (uint32_t)ln->no;
    return EXST_OK;
}

HOT_INLINE int parse_r(ctx *x, const line *ln, exstp_relay *r)
{
    memset(r, 0, sizeof *r);
    if (parse_r_fast(x, ln, r))
        return EXST_OK;
    return parse_r_general(x, ln, r);
}

/* Short equal-length compare (flag names): cheaper inline than a call. */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* A cache slot for an s line's arguments.  From eight bytes on, three
 * words (first, middle, last) and the length tell the usual flag sets
 * apart; a collision only costs a token-by-token read. */
static inline uint32_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = n * UINT64_C(0x9E3779B97F4A7C15);
    if (n >= 8) {
        h ^= load64(p) * UINT64_C(0xFF51AFD7ED558CCD);
        h ^= load64(p + (n - 8) / 2) * UINT64_C(0xC4CEB9FE1A85EC53);
        h ^= load64(p + n - 8) * UINT64_C(0x100000001B3);
        h *= UINT64_C(0x9E3779B97F4A7C15);
        h ^= h >> 29;
        return (uint32_t)((h * UINT64_C(0xBF58476D1CE4E5B9)) >> 40);
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * UINT64_C(0x100000001B3);
    return (uint32_t)(h >> 40);
}

/* Equal n bytes?  Words at a time, the last one overlapping. */
static inline bool same_line(const char *a, const char *b, size_t n)
{
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i])
                return false;
        return true;
    }
    for (size_t i = 0; i + 8 < n; i += 8)
        if (load64(a + i) != load64(b + i))
            return false;
    return load64(a + n - 8) == load64(b + n - 8);
}

/* An s line not in the cache: flag by flag, then cached in set. */
COLD int parse_s_tokens(ctx *x, const line *ln, exstp_relay *r,
                        struct scache *set)
{
    const exst_consensus *c = x->c;
    const char *p = ln->args, *ts;
    size_t tl, hint = 0;
    char q[64];
    const size_t alen = (size_t)(ln->end - ln->args);
    while (next_tok(&p, ln->end, &ts, &tl)) {
        size_t k = hint, tried = 0;
        /* Flags are usually in known-flags order: search from the last. */
        for (; tried < c->n_flags; tried++) {
            if (c->flags[k].len == tl && same_bytes(c->flags[k].ptr, ts, tl))
                break;
            if (++k == c->n_flags)
                k = 0;
        }
        if (tried == c->n_flags)
            return perr(x, EXST_ERR_SEMANTIC, ln, ts,
                        "\"s\" line: flag '%s' is not in known-flags",
                        QUOTE(q, ts, tl));
        if (r->flags & (UINT64_C(1) << k))
            return perr(x, EXST_ERR_SEMANTIC, ln, ts,
                        "\"s\" line: flag '%s' appears twice",
                        QUOTE(q, ts, tl));
        r->flags |= UINT64_C(1) << k;
        hint = k + 1 < c->n_flags ? k + 1 : 0;
    }
    set[1] = set[0]; /* the newest first */
    set[0].off = (uint32_t)(ln->args - x->base);
    set[0].len = (uint32_t)alen;
    set[0].flags = r->flags;
    return EXST_OK;
}

HOT_INLINE int parse_s(ctx *x, const line *ln, exstp_relay *r)
{
    const size_t alen = (size_t)(ln->end - ln->args);
    /* Two ways a set: two common flag sets that hash alike would
     * otherwise evict each other all through the document. */
    struct scache *set = &x->scache[(hash_bytes(ln->args, alen) & 127) * 2];
    r->s_off = (uint32_t)(ln->start - x->base);
    r->s_end = (uint32_t)(ln->end - x->base);
    for (int w = 0; w < 2; w++)
        if (set[w].len == alen && alen > 0 &&
            same_line(x->base + set[w].off, ln->args, alen)) {
            r->flags = set[w].flags;
            return EXST_OK;
        }
    return parse_s_tokens(x, ln, r, set);
}

COLD int parse_w_tokens(ctx *x, const line *ln, exstp_relay *r)
{
    const char *p = ln->args, *ts;
    size_t tl;
    char q[64];
    while (next_tok(&p, ln->end, &ts, &tl)) {
        const char *eq = memchr(ts, '=', tl);
        if (eq == NULL)
            return perr(x, EXST_ERR_SYNTAX, ln, ts,
                        "\"w\" line: expected KEY=VALUE, found '%s'",
                        QUOTE(q, ts, tl));
        size_t kl = (size_t)(eq - ts), vl = tl - kl - 1;
        if (kl == 9 && memcmp(ts, "Bandwidth", 9) == 0) {
            if (r->has_bandwidth)
                return perr(x, EXST_ERR_SEMANTIC, ln, ts,
                            "\"w\" line: Bandwidth given twice");
            if (!parse_u32(eq + 1, vl, UINT32_MAX, &r->bandwidth))
                return perr(x, EXST_ERR_SYNTAX, ln, eq + 1,
                            "\"w\" line: Bandwidth '%s' is not an unsigned "
                            "32-bit integer", QUOTE(q, eq + 1, vl));
            r->has_bandwidth = 1;
        } else if (kl == 10 && memcmp(ts, "Unmeasured", 10) == 0) {
            uint32_t v;
            if (!parse_u32(eq + 1, vl, UINT32_MAX, &v))
                return perr(x, EXST_ERR_SYNTAX, ln, eq + 1,
                            "\"w\" line: Unmeasured '%s' is not a number",
                            QUOTE(q, eq + 1, vl));
            r->unmeasured = v != 0;
        } else if (kl == 13 && memcmp(ts, "GuardFraction", 13) == 0) {
            if (!parse_u32(eq + 1, vl, 100, &r->guardfraction))
                return perr(x, EXST_ERR_SYNTAX, ln, eq + 1,
                            "\"w\" line: GuardFraction '%s' is not a "
                            "percentage", QUOTE(q, eq + 1, vl));
            r->has_guardfraction = 1;
        }
        /* Other keys (Measured= in votes, future ones) are ignored. */
    }
    return EXST_OK;
}

HOT_INLINE int parse_w(ctx *x, const line *ln, exstp_relay *r)
{
    const char *p = ln->args;
    /* The usual line, "w Bandwidth=N" alone (this is the entry's only w
     * line, so no Bandwidth was seen before). */
    if (ln->end - p > 10 && memcmp(p, "Bandwidth=", 10) == 0) {
        const char *s = p + 10, *e = s;
        uint64_t v = 0;
        unsigned d;
        while ((d = (unsigned)(unsigned char)*e - '0') <= 9) {
            v = v * 10 + d; /* may wrap past ten digits: refused below */
            e++;
        }
        if (e == ln->end && e > s && e - s <= 10 && v <= UINT32_MAX) {
            r->bandwidth = (uint32_t)v;
            r->has_bandwidth = 1;
            return EXST_OK;
        }
    }
    return parse_w_tokens(x, ln, r);
}

/* "p accept|reject PORTLIST" as documents write it: one space, no extra
 * argument, every item N or N-M with 1 <= N <= M <= 65535 in at most
 * five digits.  True only when parse_p's general reading would accept the
 * line; anything else is left to it.  Reads up to the line's LF. */
HOT_INLINE bool parse_p_fast(const line *ln)
{
    const char *p = ln->args;
    if (ln->end - p < 8 || p[6] != ' ' ||
        !(memcmp(p, "accept", 6) == 0 || memcmp(p, "reject", 6) == 0))
        return false;
    p += 7;
    for (;;) {
        uint32_t lo, hi;
        const char *e = scan_port(p, &lo);
        if (e == NULL || lo == 0)
            return false;
        if (*e == '-') {
            e = scan_port(e + 1, &hi);
            if (e == NULL || hi < lo)
                return false;
        }
        if (e == ln->end)
            return true;
        if (*e != ',')
            return false;
        p = e + 1;
    }
}

/* p accept|reject PORTLIST: ranges of 1..65535. */
COLD int parse_p_tokens(ctx *x, const line *ln);

HOT_INLINE int parse_p(ctx *x, const line *ln)
{
    if (x->c->flavor != EXST_FLAVOR_MICRODESC && parse_p_fast(ln))
        return EXST_OK;
    return parse_p_tokens(x, ln);
}

COLD int parse_p_tokens(ctx *x, const line *ln)
{
    const char *p = ln->args, *ts = NULL, *pl = NULL;
    size_t tl = 0, pn = 0;
    char q[64];
    int rc;
    if (x->c->flavor == EXST_FLAVOR_MICRODESC)
        return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                    "\"p\" line in a microdesc consensus (policies live in "
                    "microdescriptors)");
    if ((rc = need_args(x, ln, 2, 2)) != EXST_OK)
        return rc;
    next_tok(&p, ln->end, &ts, &tl);
    next_tok(&p, ln->end, &pl, &pn);
    if (!((tl == 6 && memcmp(ts, "accept", 6) == 0) ||
          (tl == 6 && memcmp(ts, "reject", 6) == 0)))
        return perr(x, EXST_ERR_SYNTAX, ln, ts,
                    "\"p\" line: expected accept or reject, found '%s'",
                    QUOTE(q, ts, tl));
    const char *s = pl, *e = pl + pn;
    while (s < e) {
        const char *comma = memchr(s, ',', (size_t)(e - s));
        const char *ie = comma ? comma : e;
        const char *dash = memchr(s, '-', (size_t)(ie - s));
        uint32_t lo, hi;
        if (!parse_u32(s, (size_t)((dash ? dash : ie) - s), 65535, &lo) ||
            lo == 0 ||
            (dash && (!parse_u32(dash + 1, (size_t)(ie - dash - 1), 65535,
                                 &hi) || hi < lo)))
            return perr(x, EXST_ERR_SYNTAX, ln, s,
                        "\"p\" line: invalid port range '%s'",
                        QUOTE(q, s, (size_t)(ie - s)));
        s = comma ? comma + 1 : e;
        if (comma && s == e)
            return perr(x, EXST_ERR_SYNTAX, ln, comma,
                        "\"p\" line: trailing comma");
    }
    return EXST_OK;
}

COLD int parse_m_tokens(ctx *x, const line *ln)
{
    const char *p = ln->args, *ts;
    size_t tl;
    char q[64];
    if (!next_tok(&p, ln->end, &ts, &tl) || tl != 43 ||
        !b64_all(ts, tl))
        return perr(x, EXST_ERR_SYNTAX, ln, ln->args,
                    "\"m\" line: microdescriptor digest '%s' is not 43 "
                    "characters of base64 (SHA-256)",
                    QUOTE(q, ln->args, (size_t)(ln->end - ln->args)));
    return EXST_OK;
}

HOT_INLINE int parse_m(ctx *x, const line *ln)
{
    if (x->c->flavor != EXST_FLAVOR_MICRODESC)
        return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                    "\"m\" line in an ns consensus");
    /* The usual line: the digest and nothing else. */
    if (ln->end - ln->args == 43 && b64_all(ln->args, 43))
        return EXST_OK;
    return parse_m_tokens(x, ln);
}

/* State of the entry being read. */
typedef struct entry_state {
    exstp_relay *r;
    unsigned n_s, n_m, n_w, n_p, n_v, n_pr;
    line r_line;
} entry_state;

HOT_INLINE int finish_entry(ctx *x, entry_state *es, const char *end_ptr)
{
    exst_consensus *c = x->c;
    if (es->r == NULL)
        return EXST_OK;
    if (es->n_s == 0)
        return perr(x, EXST_ERR_SEMANTIC, &es->r_line, NULL,
                    "router entry has no \"s\" line");
    if (c->flavor == EXST_FLAVOR_MICRODESC && es->n_m == 0)
        return perr(x, EXST_ERR_SEMANTIC, &es->r_line, NULL,
                    "microdesc router entry has no \"m\" line");
    es->r->entry_end = (uint32_t)(end_ptr - x->base);
    if (c->n_relays > 0) {
        const exstp_relay *prev = &c->relays[c->n_relays - 1];
        int cmp = id_cmp(x->base + prev->id_off, x->base + es->r->id_off);
        if (cmp >= 0)
            return perr(x, EXST_ERR_SEMANTIC, &es->r_line,
                        x->base + es->r->id_off,
                        cmp == 0 ? "duplicate router entry (identity "
                                   "listed twice)"
                                 : "router entries not sorted by identity "
                                   "digest (this entry must come before "
                                   "the one at line %lu)",
                        (unsigned long)prev->line);
    }
    c->n_relays++;
    es->r = NULL;
    return EXST_OK;
}

static int entry_once(ctx *x, const line *ln, unsigned *n)
{
    char kw[40];
    if (++*n > 1)
        return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                    "router entry has more than one \"%s\" line",
                    QUOTE(kw, ln->kw, ln->kwlen));
    return EXST_OK;
}

HOT_INLINE int parse_entry_line(ctx *x, entry_state *es, const line *ln)
{
    int rc;
    if (KW(ln, "r")) {
        if ((rc = finish_entry(x, es, ln->start)) != EXST_OK)
            return rc;
        if ((rc = grow_relays(x, ln)) != EXST_OK)
            return rc;
        es->r = &x->c->relays[x->c->n_relays];
        es->n_s = es->n_m = es->n_w = es->n_p = es->n_v = es->n_pr = 0;
        es->r_line = *ln;
        return parse_r(x, ln, es->r);
    }
    if (es->r == NULL)
        return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                    "unexpected item outside a router entry");
    switch (ln->kwlen == 1 ? ln->kw[0] : 0) {
    case 's':
        if ((rc = entry_once(x, ln, &es->n_s)) != EXST_OK)
            return rc;
        return parse_s(x, ln, es->r);
    case 'w':
        if ((rc = entry_once(x, ln, &es->n_w)) != EXST_OK)
            return rc;
        return parse_w(x, ln, es->r);
    case 'm':
        if ((rc = entry_once(x, ln, &es->n_m)) != EXST_OK)
            return rc;
        return parse_m(x, ln);
    case 'p':
        if ((rc = entry_once(x, ln, &es->n_p)) != EXST_OK)
            return rc;
        return parse_p(x, ln);
    case 'v':
        return entry_once(x, ln, &es->n_v);
    case 'a':
        return EXST_OK;
    default:
        break;
    }
    if (KW(ln, "pr"))
        return entry_once(x, ln, &es->n_pr);
    if (KW(ln, "exitstage-staged")) {
        if (!(x->opts->flags & EXST_PARSE_ALLOW_REPROCESS))
            return perr(x, EXST_ERR_REPROCESS, ln, NULL,
                        "document was already processed by exitstage; "
                        "staging it twice would compound (use "
                        "--allow-reprocess to override)");
    }
    return EXST_OK; /* unknown entry items pass through */
}

/* The router entries' usual lines, one after another, without the checks
 * parse_doc makes for keywords out of place: a line whose keyword is one
 * letter or digit, or "pr", followed by one space (or by its LF) can only
 * be an entry item.  The first other line (the footer, a longer keyword,
 * a blank or overlong line, a second space) is left at *pp for parse_doc,
 * which reads it, errors included, as it always has. */
static int parse_entries(ctx *x, entry_state *es, const char **pp,
                         const char *end, unsigned long *no)
{
    const char *p = *pp;
    unsigned long n = *no;
    int rc;
    while (p < end) {
        const char *nl = find_lf(p, end);
        const size_t len = (size_t)(nl - p);
        line ln;
        if (len < 2 || len > x->max_line)
            break;
        if (p[1] == ' ' && (b64val[(unsigned char)p[0]] & B64_ALNUM) &&
            p[2] != ' ') {
            ln.kwlen = 1;
            ln.args = p + 2;
        } else if (p[0] == 'p' && p[1] == 'r' &&
                   (len == 2 || (p[2] == ' ' && p[3] != ' '))) {
            ln.kwlen = 2;
            ln.args = len == 2 ? nl : p + 3;
        } else {
            break;
        }
        ln.start = p;
        ln.end = nl;
        ln.no = n;
        ln.kw = p;
        if ((rc = parse_entry_line(x, es, &ln)) != EXST_OK)
            return rc;
        p = nl + 1;
        n++;
        if (p < end && *p == '-' && end - p > 11 &&
            memcmp(p, "-----BEGIN ", 11) == 0) {
            if ((rc = skip_object(x, &p, end, &n)) != EXST_OK)
                return rc;
        }
    }
    *pp = p;
    *no = n;
    return EXST_OK;
}

/* ---- footer ---------------------------------------------------------- */

static int parse_bw_weights(ctx *x, const line *ln)
{
    const char *p = ln->args, *ts;
    size_t tl;
    char q[64];
    while (next_tok(&p, ln->end, &ts, &tl)) {
        const char *eq = memchr(ts, '=', tl);
        int32_t v;
        if (eq == NULL || eq == ts)
            return perr(x, EXST_ERR_SYNTAX, ln, ts,
                        "\"bandwidth-weights\" line: expected KEY=VALUE, "
                        "found '%s'", QUOTE(q, ts, tl));
        if (!parse_i32(eq + 1, (size_t)(ts + tl - eq - 1), &v))
            return perr(x, EXST_ERR_SYNTAX, ln, eq + 1,
                        "\"bandwidth-weights\" line: value of '%s' is not "
                        "a 32-bit integer",
                        QUOTE(q, ts, (size_t)(eq - ts)));
    }
    return EXST_OK;
}

/* ---- objects --------------------------------------------------------- */

/* At *pp a "-----BEGIN NAME-----" line: consume through "-----END NAME-----".
 * Lines inside must be base64. */
static int skip_object(ctx *x, const char **pp, const char *end,
                       unsigned long *lineno)
{
    const char *p = *pp;
    line ln;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    split_line(&ln, p, nl, *lineno);
    ln.kw = NULL;
    ln.kwlen = 0;
    size_t bl = (size_t)(nl - p);
    if (bl < 16 || memcmp(p + bl - 5, "-----", 5) != 0)
        return perr(x, EXST_ERR_SYNTAX, &ln, NULL,
                    "malformed object header (expected -----BEGIN NAME-----)");
    const char *name = p + 11;
    size_t name_len = bl - 16;
    const unsigned long begin_no = *lineno;
    p = nl + 1;
    (*lineno)++;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        split_line(&ln, p, nl, *lineno);
        ln.kw = NULL;
        ln.kwlen = 0;
        size_t n = (size_t)(nl - p);
        if (n >= 9 && memcmp(p, "-----END ", 9) == 0) {
            if (n != name_len + 14 || memcmp(p + 9, name, name_len) != 0 ||
                memcmp(p + n - 5, "-----", 5) != 0)
                return perr(x, EXST_ERR_SYNTAX, &ln, NULL,
                            "object END line does not match its BEGIN");
            *pp = nl + 1;
            (*lineno)++;
            return EXST_OK;
        }
        size_t ok = b64_span(p, n);
        while (ok < n && p[ok] == '=')
            ok++;
        if (ok != n || n > 76)
            return perr(x, EXST_ERR_SYNTAX, &ln, p + ok,
                        "invalid base64 inside an object");
        p = nl + 1;
        (*lineno)++;
    }
    /* Point at the BEGIN line: that is where the reader can look. */
    split_line(&ln, *pp, memchr(*pp, '\n', (size_t)(end - *pp)), begin_no);
    ln.kw = NULL;
    return perr(x, EXST_ERR_SYNTAX, &ln, NULL,
                "object not closed before the end of the document");
}

static int parse_signature(ctx *x, const line *lnp, const char *nl,
                           const char *end, unsigned *n_sigs)
{
    line ln = *lnp;
    unsigned long no = ln.no;
    char q[64];
    int rc;
    if (!KW(&ln, "directory-signature"))
        return perr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                    "unexpected \"%s\" among the signatures",
                    QUOTE(q, ln.kw, ln.kwlen));
    if ((rc = need_args(x, &ln, 2, 3)) != EXST_OK)
        return rc;
    if (end - (nl + 1) < 11 || memcmp(nl + 1, "-----BEGIN ", 11) != 0) {
        line nx;
        const char *ne = nl + 1 < end ?
            memchr(nl + 1, '\n', (size_t)(end - nl - 1)) : end;
        split_line(&nx, nl + 1 < end ? nl + 1 : end,
                   ne ? ne : end, no + 1);
        nx.kw = NULL;
        return perr(x, EXST_ERR_SYNTAX, &nx, NULL,
                    "directory-signature without a signature "
                    "object");
    }
    (*n_sigs)++;
    return EXST_OK;
}

/* ---- the document ---------------------------------------------------- */

static void locate(const char *base, const char *at, unsigned long *lineno,
                   const char **line_start)
{
    unsigned long n = 1;
    const char *ls = base;
    for (const char *p = base; p < at; p++)
        if (*p == '\n') {
            n++;
            ls = p + 1;
        }
    *lineno = n;
    *line_start = ls;
}

static int prescan(ctx *x, const char *doc, size_t len)
{
    const char *bad = memchr(doc, '\0', len);
    const char *cr = memchr(doc, '\r', len);
    line ln = {0};
    if (bad != NULL && (cr == NULL || bad < cr)) {
        locate(doc, bad, &ln.no, &ln.start);
        return perr(x, EXST_ERR_SYNTAX, &ln, bad, "NUL byte in document");
    }
    if (cr != NULL) {
        locate(doc, cr, &ln.no, &ln.start);
        return perr(x, EXST_ERR_SYNTAX, &ln, cr,
                    "carriage return (CR) in document: consensus lines end "
                    "with LF only (dos2unix converts the file)");
    }
    if (len == 0) {
        ln.no = 1;
        ln.start = doc;
        return perr(x, EXST_ERR_SEMANTIC, &ln, doc,
                    "not a consensus: the document is empty");
    }
    if (doc[len - 1] != '\n') {
        const char *ls = doc + len;
        while (ls > doc && ls[-1] != '\n')
            ls--;
        locate(doc, ls, &ln.no, &ln.start);
        return perr(x, EXST_ERR_SYNTAX, &ln, doc + len,
                    "the document does not end with a newline (truncated?)");
    }
    return EXST_OK;
}

static int parse_version(ctx *x, const line *ln)
{
    const char *p = ln->args, *ts;
    size_t tl;
    char q[64];
    exst_consensus *c = x->c;
    if (!KW(ln, "network-status-version")) {
        if (kw_is(ln, "network-status-diff-version", 27))
            return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                        "not a consensus: this is a consensus diff");
        if (KW(ln, "dir-key-certificate-version"))
            return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                        "not a consensus: this is an authority key "
                        "certificate");
        return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                    "not a consensus: expected \"network-status-version\" "
                    "as the first item, found '%s'",
                    QUOTE(q, ln->kw, ln->kwlen));
    }
    x->seen_version = 1;
    if (!next_tok(&p, ln->end, &ts, &tl) || tl != 1 || ts[0] != '3')
        return perr(x, EXST_ERR_SEMANTIC, ln, ln->args,
                    "unsupported network-status-version '%s' (expected 3)",
                    QUOTE(q, ln->args, (size_t)(ln->end - ln->args)));
    c->flavor = EXST_FLAVOR_NS;
    if (next_tok(&p, ln->end, &ts, &tl)) {
        if (tl == 9 && memcmp(ts, "microdesc", 9) == 0)
            c->flavor = EXST_FLAVOR_MICRODESC;
        else if (!(tl == 2 && memcmp(ts, "ns", 2) == 0))
            return perr(x, EXST_ERR_SEMANTIC, ln, ts,
                        "unsupported consensus flavour '%s' (expected ns or "
                        "microdesc)", QUOTE(q, ts, tl));
    }
    return EXST_OK;
}

static int check_preamble_done(ctx *x, const line *ln)
{
    exst_consensus *c = x->c;
    static const char *names[] = {"consensus-method", "valid-after",
                                  "fresh-until", "valid-until",
                                  "known-flags"};
    unsigned seen[] = {x->seen_method, x->seen_va, x->seen_fu, x->seen_vu,
                       x->seen_flags};
    for (size_t i = 0; i < sizeof seen / sizeof seen[0]; i++)
        if (seen[i] == 0)
            return perr(x, EXST_ERR_SEMANTIC, ln, NULL,
                        "preamble has no \"%s\" line", names[i]);
    c->flag_exit = exst_consensus_flag_index(c, "Exit");
    c->flag_badexit = exst_consensus_flag_index(c, "BadExit");
    c->flag_guard = exst_consensus_flag_index(c, "Guard");
    return EXST_OK;
}

static int add_cut(ctx *x, const line *ln)
{
    exst_consensus *c = x->c;
    exstp_cut *cuts = exstp_realloc(c->cuts, (c->n_cuts + 1) * sizeof *cuts);
    if (cuts == NULL)
        return perr(x, EXST_ERR_NOMEM, ln, NULL, "out of memory");
    c->cuts = cuts;
    cuts[c->n_cuts].off = (size_t)(ln->start - x->base);
    cuts[c->n_cuts].len = (size_t)(ln->end - ln->start) + 1;
    c->n_cuts++;
    return EXST_OK;
}

static int parse_doc(ctx *x)
{
    exst_consensus *c = x->c;
    const char *p = c->doc, *end = c->doc + c->len;
    unsigned long no = 1;
    enum section sec = SEC_PREAMBLE;
    entry_state es = {0};
    line ln;
    int rc;
    char q[64];
    bool first = true;
    unsigned n_sigs = 0;

    if ((rc = prescan(x, c->doc, c->len)) != EXST_OK)
        return rc;
    while (p < end) {
        if (sec == SEC_ENTRIES) {
            if ((rc = parse_entries(x, &es, &p, end, &no)) != EXST_OK)
                return rc;
            if (p >= end)
                break;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        split_line(&ln, p, nl, no);
        if ((size_t)(nl - p) > x->max_line)
            return perr(x, EXST_ERR_LIMIT, &ln, p + x->max_line,
                        "line longer than %zu bytes", x->max_line);
        if (p == nl) { /* tor's tokenizer skips blank lines; so do we */
            p = nl + 1;
            no++;
            continue;
        }
        if (first && p[0] == '@') { /* CollecTor's annotation lines */
            p = nl + 1;
            no++;
            continue;
        }
        if (!valid_keyword(&ln)) {
            if (ln.kwlen == 0)
                return perr(x, EXST_ERR_SYNTAX, &ln, NULL,
                            "line starts with a space");
            if (p[0] == '-')
                return perr(x, EXST_ERR_SYNTAX, &ln, NULL,
                            "object without an item before it");
            return perr(x, EXST_ERR_SYNTAX, &ln, NULL,
                        "invalid keyword '%s'", QUOTE(q, ln.kw, ln.kwlen));
        }
        if (first) {
            first = false;
            if ((rc = parse_version(x, &ln)) != EXST_OK)
                return rc;
            goto next;
        }
        if (sec == SEC_PREAMBLE && (KW(&ln, "dir-source") || KW(&ln, "r") ||
                                    KW(&ln, "directory-footer"))) {
            if ((rc = check_preamble_done(x, &ln)) != EXST_OK)
                return rc;
            c->annot_off = (size_t)(ln.start - x->base);
            sec = SEC_AUTH;
        }
        if (sec == SEC_AUTH && (KW(&ln, "r") || KW(&ln, "directory-footer")))
            sec = SEC_ENTRIES;
        rc = EXST_OK;
        switch (sec) {
        case SEC_PREAMBLE:
            if (KW(&ln, "network-status-version"))
                return perr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                            "\"network-status-version\" appears more than "
                            "once");
            rc = parse_preamble_line(x, &ln);
            if (rc == EXST_OK && KW(&ln, "exitstage"))
                rc = add_cut(x, &ln);
            break;
        case SEC_AUTH:
            if (KW(&ln, "dir-source"))
                rc = need_args(x, &ln, 6, 6);
            else if (KW(&ln, "vote-digest"))
                rc = need_args(x, &ln, 1, 1);
            else if (KW(&ln, "known-flags") || KW(&ln, "params") ||
                     KW(&ln, "valid-after") || KW(&ln, "consensus-method"))
                rc = perr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                          "preamble item after the authority section");
            else if (KW(&ln, "exitstage"))
                rc = perr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                          "\"exitstage\" item outside the preamble");
            break;
        case SEC_ENTRIES:
            if (KW(&ln, "directory-footer")) {
                if ((rc = finish_entry(x, &es, ln.start)) != EXST_OK)
                    return rc;
                if ((rc = need_args(x, &ln, 0, 0)) != EXST_OK)
                    return rc;
                c->footer_off = (size_t)(ln.start - x->base);
                c->footer_end = (size_t)(nl + 1 - x->base);
                sec = SEC_FOOTER;
                break;
            }
            if (KW(&ln, "dir-source") || KW(&ln, "known-flags") ||
                KW(&ln, "bandwidth-weights") ||
                KW(&ln, "directory-signature"))
                return perr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                            "\"%s\" among the router entries (is "
                            "directory-footer missing?)",
                            QUOTE(q, ln.kw, ln.kwlen));
            rc = parse_entry_line(x, &es, &ln);
            if (rc == EXST_OK && KW(&ln, "exitstage-staged"))
                rc = add_cut(x, &ln);
            break;
        case SEC_FOOTER:
            if (KW(&ln, "bandwidth-weights")) {
                if (c->has_bw_line)
                    return perr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                                "\"bandwidth-weights\" appears more than "
                                "once");
                if ((rc = parse_bw_weights(x, &ln)) != EXST_OK)
                    return rc;
                c->has_bw_line = true;
                c->bw_off = (size_t)(ln.start - x->base);
                c->bw_end = (size_t)(nl + 1 - x->base);
                break;
            }
            if (!KW(&ln, "directory-signature"))
                break; /* unknown footer items pass through */
            c->sig_off = (size_t)(ln.start - x->base);
            sec = SEC_SIGS;
            rc = parse_signature(x, &ln, nl, end, &n_sigs);
            break;
        case SEC_SIGS:
            rc = parse_signature(x, &ln, nl, end, &n_sigs);
            break;
        }
        if (rc != EXST_OK)
            return rc;
    next:
        p = nl + 1;
        no++;
        if (p < end && *p == '-' && end - p > 11 &&
            memcmp(p, "-----BEGIN ", 11) == 0) {
            if ((rc = skip_object(x, &p, end, &no)) != EXST_OK)
                return rc;
        }
    }
    split_line(&ln, end, end, no);
    ln.kw = NULL;
    if (!x->seen_version)
        return perr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                    "not a consensus: no network-status-version line");
    if (sec < SEC_FOOTER) {
        if (sec == SEC_PREAMBLE)
            return perr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                        "document ends inside the preamble (truncated?)");
        return perr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                    "missing \"directory-footer\": the document ends "
                    "without a footer (truncated?)");
    }
    if (n_sigs == 0)
        return perr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                    "the document has no directory-signature");
    return EXST_OK;
}

/* ---- decompression --------------------------------------------------- */

/* Compressed input (zstd, xz or gzip, by magic) is decoded by the shared
 * helper (exst_decomp.c).  Input that starts like a format the library
 * does not read gets a message that says so, not "not a consensus:
 * found \"BZh91AY...\"". */
static int decompress(char **out, size_t *out_len, exstp_dz_fmt f,
                      const void *buf, size_t len, size_t max,
                      const char *source, exst_error *err)
{
    return exstp_dz_all(out, out_len, f, buf, len, max, source, err);
}

static int foreign(const void *buf, size_t len, const char *source,
                   exst_error *err)
{
    const char *what = exstp_dz_foreign(buf, len);
    if (what == NULL)
        return EXST_OK;
    if (strcmp(what, "a tar archive") == 0)
        return exstp_error_set(err, EXST_ERR_SEMANTIC, source, 1, 1, 0,
                               "network-status-version",
                               "not a consensus: the input is a tar "
                               "archive (replay reads archives)");
    return exstp_error_simple(err, EXST_ERR_COMPRESS, source,
                              "not a consensus: the input is %s, which is "
                              "not read (zstd, xz and gzip are; "
                              "decompress it first)", what);
}

/* ---- public ---------------------------------------------------------- */

static int parse_owned(exst_consensus **out, char *doc, size_t len,
                       bool owned, const char *source,
                       const exst_parse_opts *opts, exst_error *err)
{
    static const exst_parse_opts defaults = {0};
    exst_consensus *c = exstp_calloc(1, sizeof *c);
    if (c == NULL) {
        if (owned)
            exst_free(doc);
        return exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                  "out of memory");
    }
    c->doc = doc;
    c->doc_owned = owned;
    c->len = len;
    c->flag_exit = c->flag_badexit = c->flag_guard = -1;
    ctx x = {0};
    x.c = c;
    x.base = doc;
    x.source = source;
    x.opts = opts ? opts : &defaults;
    x.err = err;
    x.max_line = x.opts->max_line_bytes ? x.opts->max_line_bytes
                                        : EXST_DEFAULT_MAX_LINE_BYTES;
    x.max_relays = x.opts->max_relays ? x.opts->max_relays
                                      : EXST_DEFAULT_MAX_RELAYS;
    if (len > UINT32_MAX) {
        exst_consensus_free(c);
        return exstp_error_simple(err, EXST_ERR_LIMIT, source,
                                  "document larger than 4 GiB");
    }
    int rc = parse_doc(&x);
    if (rc != EXST_OK) {
        exst_consensus_free(c);
        return rc;
    }
    *out = c;
    return EXST_OK;
}

int exst_consensus_parse(exst_consensus **out, const void *buf, size_t len,
                         const char *source, const exst_parse_opts *opts,
                         exst_error *err)
{
    size_t max = opts && opts->max_doc_bytes ? opts->max_doc_bytes
                                             : EXST_DEFAULT_MAX_DOC_BYTES;
    char *doc = NULL;
    size_t dlen = 0;
    int rc;
    *out = NULL;
    if (source == NULL)
        source = "<input>";
    if (err != NULL) {
        exst_error_clear(err);
        exstp_error_simple(err, EXST_OK, source, "%s", "");
    }
    if (buf == NULL && len != 0)
        return exstp_error_simple(err, EXST_ERR_USAGE, source,
                                  "no input buffer");
    const exstp_dz_fmt zf = exstp_dz_detect(buf, len);
    if (zf != EXSTP_DZ_NONE) {
        rc = decompress(&doc, &dlen, zf, buf, len, max, source, err);
        if (rc != EXST_OK)
            return rc;
    } else {
        if ((rc = foreign(buf, len, source, err)) != EXST_OK)
            return rc;
        if (len > max)
            return exstp_error_simple(err, EXST_ERR_LIMIT, source,
                                      "document is larger than %zu bytes",
                                      max);
        if (opts != NULL && (opts->flags & EXST_PARSE_BORROW)) {
            /* The caller keeps buf alive and unchanged (see the flag). */
            char *borrowed;
            memcpy(&borrowed, &buf, sizeof borrowed);
            return parse_owned(out, borrowed, len, false, source, opts, err);
        }
        doc = exstp_malloc(len + 1);
        if (doc == NULL)
            return exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                      "out of memory");
        if (len)
            memcpy(doc, buf, len);
        dlen = len;
    }
    return parse_owned(out, doc, dlen, true, source, opts, err);
}

int exst_consensus_read(exst_consensus **out, FILE *fp, const char *source,
                        const exst_parse_opts *opts, exst_error *err)
{
    size_t max = opts && opts->max_doc_bytes ? opts->max_doc_bytes
                                             : EXST_DEFAULT_MAX_DOC_BYTES;
    exstp_buf b = {0};
    *out = NULL;
    if (source == NULL)
        source = "<stdin>";
    /* Stop reading at the limit (with room for a compressed stream of a
     * document just under it: zstd expands incompressible data by well
     * under 1/64), not after reading a multiple of it. */
    const size_t max_raw = max + (max >> 6) + (64u << 10);
    for (;;) {
        if (!exstp_buf_reserve(&b, 1 << 20))
            return exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                      "out of memory");
        size_t want = b.cap - b.len;
        if (want > max_raw + 1 - b.len)
            want = max_raw + 1 - b.len;
        size_t got = fread(b.data + b.len, 1, want, fp);
        b.len += got;
        if (b.len > max_raw) {
            exstp_buf_free(&b);
            return exstp_error_simple(err, EXST_ERR_LIMIT, source,
                                      "input is larger than %zu bytes", max);
        }
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        exstp_buf_free(&b);
        return exstp_error_simple(err, EXST_ERR_IO, source,
                                  "read error on '%s'", source);
    }
    int rc;
    if (exstp_dz_detect(b.data, b.len) != EXSTP_DZ_NONE) {
        rc = exst_consensus_parse(out, b.data, b.len, source, opts, err);
        exstp_buf_free(&b);
        return rc;
    }
    if (b.len > max) {
        exstp_buf_free(&b);
        return exstp_error_simple(err, EXST_ERR_LIMIT, source,
                                  "document is larger than %zu bytes", max);
    }
    if (err != NULL) {
        exst_error_clear(err);
        exstp_error_simple(err, EXST_OK, source, "%s", "");
    }
    if ((rc = foreign(b.data, b.len, source, err)) != EXST_OK) {
        exstp_buf_free(&b);
        return rc;
    }
    return parse_owned(out, b.data, b.len, true, source, opts, err);
}

void exst_consensus_free(exst_consensus *c)
{
    if (c == NULL)
        return;
    if (c->doc_owned)
        exst_free(c->doc);
    exst_free(c->relays);
    exst_free(c->cuts);
    exst_free(c);
}

exst_flavor exst_consensus_flavor(const exst_consensus *c)
{
    return c->flavor;
}

int64_t exst_consensus_valid_after(const exst_consensus *c)
{
    return c->valid_after;
}

int64_t exst_consensus_fresh_until(const exst_consensus *c)
{
    return c->fresh_until;
}

int64_t exst_consensus_valid_until(const exst_consensus *c)
{
    return c->valid_until;
}

unsigned exst_consensus_method(const exst_consensus *c)
{
    return c->method;
}

size_t exst_consensus_relay_count(const exst_consensus *c)
{
    return c->n_relays;
}

exst_span exst_consensus_bytes(const exst_consensus *c)
{
    exst_span s = {c->doc, c->len};
    return s;
}

size_t exst_consensus_flag_count(const exst_consensus *c)
{
    return c->n_flags;
}

exst_span exst_consensus_flag_name(const exst_consensus *c, size_t i)
{
    exst_span none = {"", 0};
    return i < c->n_flags ? c->flags[i] : none;
}

int exst_consensus_flag_index(const exst_consensus *c, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < c->n_flags; i++)
        if (c->flags[i].len == n && memcmp(c->flags[i].ptr, name, n) == 0)
            return (int)i;
    return -1;
}

int exst_consensus_param(const exst_consensus *c, const char *key,
                         int32_t *value)
{
    const char *p = c->doc + c->params_off, *end = c->doc + c->params_end;
    const char *ts;
    size_t tl, kl = strlen(key);
    if (c->params_off == 0)
        return 0;
    while (next_tok(&p, end, &ts, &tl)) {
        if (tl > kl && ts[kl] == '=' && memcmp(ts, key, kl) == 0)
            return parse_i32(ts + kl + 1, tl - kl - 1, value) ? 1 : 0;
    }
    return 0;
}

void exst_consensus_relay(const exst_consensus *c, size_t i, exst_relay *out)
{
    const exstp_relay *r = &c->relays[i];
    decode_id(out->id, c->doc + r->id_off);
    out->nickname.ptr = c->doc + r->nick_off;
    out->nickname.len = r->nick_len;
    out->address.ptr = c->doc + r->addr_off;
    out->address.len = r->addr_len;
    out->or_port = r->or_port;
    out->flags = r->flags;
    out->bandwidth = r->bandwidth;
    out->has_bandwidth = r->has_bandwidth;
    out->unmeasured = r->unmeasured;
    out->has_guardfraction = r->has_guardfraction;
    out->guardfraction = r->guardfraction;
    out->line = r->line;
}

int exst_consensus_relay_is_exit(const exst_consensus *c, size_t i)
{
    return c->flag_exit >= 0 &&
           (c->relays[i].flags >> c->flag_exit & 1) != 0;
}

/* ---- weights from the document ------------------------------------- */

/* bwweightscale as tor reads it for this method (research-dirspec 3.1,
 * 3.6).  Before method 31 tor parses the text after "bwweightscale=" with
 * tor_parse_long(..., 1, INT32_MAX) and no end pointer: the value counts
 * only when it is the last params token and at least 1, and anything else
 * means the default 10000.  From method 31 on a value below 1 is raised
 * to 1. */
static int64_t weight_scale(const exst_consensus *c)
{
    int32_t v;
    if (!exst_consensus_param(c, "bwweightscale", &v))
        return 10000;
    if (c->method < 31) {
        const char *end = c->doc + c->params_end, *p = end;
        while (p > c->doc + c->params_off && p[-1] != ' ')
            p--;
        if ((size_t)(end - p) < 14 || memcmp(p, "bwweightscale=", 14) != 0)
            return 10000;
        return v < 1 ? 10000 : v;
    }
    return v < 1 ? 1 : v;
}

void exst_consensus_weights(exst_weights *out, exst_bw_totals *totals,
                            const exst_consensus *c, const uint8_t *strip)
{
    exst_bw_totals t;
    const int64_t start = c->method >= 26 ? 1 : 0;
    t.G = t.M = t.E = t.D = start;
    t.T = c->method >= 26 ? 4 : 0;
    const uint64_t exit_bit =
        c->flag_exit >= 0 ? UINT64_C(1) << c->flag_exit : 0;
    const uint64_t bad_bit =
        c->flag_badexit >= 0 ? UINT64_C(1) << c->flag_badexit : 0;
    const uint64_t guard_bit =
        c->flag_guard >= 0 ? UINT64_C(1) << c->flag_guard : 0;
    for (size_t i = 0; i < c->n_relays; i++) {
        const exstp_relay *r = &c->relays[i];
        if (!r->has_bandwidth)
            continue;
        int64_t bw = r->bandwidth;
        bool ex = (r->flags & exit_bit) && !(r->flags & bad_bit) &&
                  !(strip && strip[i]);
        bool gd = (r->flags & guard_bit) != 0;
        if (r->has_guardfraction) {
            int64_t g = (int64_t)((double)bw * r->guardfraction / 100.0 +
                                  0.5);
            int64_t n = bw - g;
            t.T += g;
            if (ex) {
                t.D += g;
                t.E += n;
            } else {
                t.G += g;
                t.M += n;
            }
            continue;
        }
        t.T += bw;
        if (ex && gd)
            t.D += bw;
        else if (ex)
            t.E += bw;
        else if (gd)
            t.G += bw;
        else
            t.M += bw;
    }
    if (totals != NULL)
        *totals = t;
    exst_weights_from_totals(out, &t, c->method, weight_scale(c));
}

void exst_consensus_weights_in(exst_weights *out, const exst_consensus *c)
{
    memset(out, 0, sizeof *out);
    if (!c->has_bw_line)
        return;
    /* After "bandwidth-weights" (17 bytes), up to the LF. */
    const char *p = c->doc + c->bw_off + 17, *end = c->doc + c->bw_end - 1;
    const char *ts;
    size_t tl;
    while (next_tok(&p, end, &ts, &tl)) {
        const char *eq = memchr(ts, '=', tl);
        int32_t v;
        if (eq == NULL || !parse_i32(eq + 1, (size_t)(ts + tl - eq - 1), &v))
            continue;
        for (int k = 0; k < EXST_W_COUNT; k++) {
            const char *name = exst_weight_name(k);
            if ((size_t)(eq - ts) == 3 && memcmp(ts, name, 3) == 0) {
                out->w[k] = v;
                break;
            }
        }
    }
    out->present = 1;
}

bool exstp_consensus_weights_match_cached(const exst_consensus *c)
{
    /* A cache in a const object: the document never changes, and one
     * thread at a time works on it. */
    exst_consensus *m = (exst_consensus *)(uintptr_t)c;
    if (m->weights_match == 0)
        m->weights_match = exst_consensus_weights_match(c) ? 2 : 1;
    return m->weights_match == 2;
}

int exst_consensus_weights_match(const exst_consensus *c)
{
    exst_weights w;
    char wl[EXSTP_WEIGHTS_LINE_MAX + 1];
    exst_consensus_weights(&w, NULL, c, NULL);
    if (!w.present)
        return !c->has_bw_line;
    if (!c->has_bw_line)
        return 0;
    size_t n = exstp_weights_format(wl, sizeof wl, &w);
    return n > 0 && n == c->bw_end - c->bw_off - 1 &&
           memcmp(wl, c->doc + c->bw_off, n) == 0;
}
