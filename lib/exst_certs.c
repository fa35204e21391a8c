/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_certs.c - directory-authority key certificates (tor's cached-certs
 * format, dir-spec "Creating key certificates") and the RSA checks they
 * and consensus signatures need.
 *
 * The parser follows tor's authority_cert_parse_from_string: the rule
 * table below is tor's (dir-key-certificate-version, dir-identity-key,
 * dir-key-published, dir-key-expires, dir-signing-key, dir-key-crosscert,
 * dir-key-certification and fingerprint exactly once, dir-address at most
 * once, other keywords passed over), the first line must be the version
 * line and the last item the certification.  The identity key's SHA-1
 * must equal the fingerprint, the identity key must sign the SHA-1 of the
 * certificate up to and including the dir-key-certification line, and the
 * signing key must sign the identity digest (cross-certification).  A
 * certificate that fails any of this is an error for the whole input,
 * with its line and column: the certificates are the operator's trust
 * anchor, so a damaged file is reported, never half used.
 *
 * RSA is OpenSSL's (libsodium has none); the library uses it for nothing
 * else.  Keys must be canonical PKCS#1 DER, 1024 to 8192 bits, with tor's
 * public exponent 65537.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "exst_int.h"
#include "exst_sha_int.h"
#include "exst_trust_int.h"

#define MAX_CERT_BYTES ((size_t)128 << 10) /* tor's MAX_CERT_SIZE */
#define MAX_LINE_BYTES 4096
#define MAX_OBJECT_TEXT 8192 /* base64 text of one object */
#define MAX_OBJECT_BYTES 2048
#define MIN_RSA_BITS 1024
#define MAX_RSA_BITS 8192

/* ---- RSA ------------------------------------------------------------- */

/* Decode a PKCS#1 RSAPublicKey.  0 and *out on success, else a static
 * reason for the message. */
static const char *rsa_from_der(EVP_PKEY **out, unsigned *bits,
                                const uint8_t *der, size_t n)
{
    const unsigned char *p = der;
    unsigned char *re = NULL;
    BIGNUM *e = NULL;
    const char *why = NULL;
    *out = NULL;
    EVP_PKEY *k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)n);
    if (k == NULL) {
        why = "not an RSA public key (PKCS#1 DER)";
        goto done;
    }
    if (p != der + n) {
        why = "bytes after the RSA public key";
        goto done;
    }
    /* tor digests the key as OpenSSL re-encodes it; accepting only the
     * canonical encoding makes that the same as digesting the input. */
    int rl = i2d_PublicKey(k, &re);
    if (rl < 0 || (size_t)rl != n || memcmp(re, der, n) != 0) {
        why = "RSA public key not in canonical DER";
        goto done;
    }
    int b = EVP_PKEY_get_bits(k);
    if (b < MIN_RSA_BITS || b > MAX_RSA_BITS) {
        why = "RSA key size outside 1024 to 8192 bits";
        goto done;
    }
    if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
        !BN_is_word(e, 65537)) {
        why = "RSA public exponent is not 65537";
        goto done;
    }
    *bits = (unsigned)b;
    *out = k;
    k = NULL;
done:
    BN_free(e);
    OPENSSL_free(re);
    EVP_PKEY_free(k);
    ERR_clear_error();
    return why;
}

int exstp_rsa_check(void *pkey, const uint8_t *sig, size_t siglen,
                    const uint8_t *digest, size_t dlen)
{
    uint8_t buf[MAX_RSA_BITS / 8];
    size_t outlen = sizeof buf;
    int rc = EXSTP_RSA_BAD;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new((EVP_PKEY *)pkey, NULL);
    if (ctx == NULL) {
        ERR_clear_error();
        return EXSTP_RSA_NOMEM;
    }
    if (EVP_PKEY_verify_recover_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) {
        rc = EXSTP_RSA_NOMEM;
        goto done;
    }
    if (EVP_PKEY_verify_recover(ctx, buf, &outlen, sig, siglen) <= 0 ||
        outlen < dlen)
        goto done;
    /* tor compares the first dlen recovered bytes (check_signature_token,
     * networkstatus_check_document_signature). */
    rc = memcmp(buf, digest, dlen) == 0 ? EXSTP_RSA_GOOD : EXSTP_RSA_MISMATCH;
done:
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

/* ---- files ----------------------------------------------------------- */

int exstp_read_file_mode(char **out, size_t *out_len, unsigned *mode,
                         const char *path, size_t max, exst_error *err)
{
    *out = NULL;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "cannot open '%s': %s", path,
                                  strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "cannot read '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "cannot read '%s': %s", path,
                                  S_ISDIR(st.st_mode) ? "is a directory"
                                                      : "not a regular file");
    }
    if (mode != NULL)
        *mode = (unsigned)(st.st_mode & 07777);
    /* Room for the file, a byte that tells it grew since fstat, a NUL. */
    size_t cap = (uint64_t)st.st_size < max ? (size_t)st.st_size + 2
                                            : max + 2;
    size_t n = 0;
    char *buf = exstp_malloc(cap);
    int rc = EXST_OK;
    if (buf == NULL) {
        close(fd);
        return exstp_error_simple(err, EXST_ERR_NOMEM, path, "out of memory");
    }
    for (;;) {
        if (n == cap - 1) { /* grew: read on, up to the limit */
            size_t ncap = cap * 2 < max + 2 ? cap * 2 : max + 2;
            char *nb = ncap > cap ? exstp_realloc(buf, ncap) : NULL;
            if (nb == NULL) {
                rc = ncap > cap ? exstp_error_simple(err, EXST_ERR_NOMEM,
                                                     path, "out of memory")
                                : EXST_ERR_LIMIT;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = exstp_error_simple(err, EXST_ERR_IO, path,
                                    "cannot read '%s': %s", path,
                                    strerror(errno));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (rc == EXST_OK && n > max)
        rc = EXST_ERR_LIMIT;
    if (rc == EXST_ERR_LIMIT)
        exstp_error_simple(err, EXST_ERR_LIMIT, path,
                           "'%s' is larger than %zu bytes", path, max);
    if (rc != EXST_OK) {
        sodium_memzero(buf, cap);
        exstp_free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return EXST_OK;
}

int exstp_read_file(char **out, size_t *out_len, const char *path,
                    size_t max, exst_error *err)
{
    return exstp_read_file_mode(out, out_len, NULL, path, max, err);
}

/* ---- objects --------------------------------------------------------- */

bool exstp_object_decode(uint8_t *out, size_t outsz, size_t *outlen,
                         const char *body, size_t body_len)
{
    const char *end = NULL;
    *outlen = 0;
    if (body_len == 0)
        return false;
    if (sodium_base642bin(out, outsz, body, body_len, "\n", outlen, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    return end == body + body_len;
}

/* ---- the parser ------------------------------------------------------ */

typedef struct line {
    const char *start;  /* first byte */
    const char *end;    /* its LF */
    unsigned long no;
    const char *kw;
    size_t kwlen;
} line;

typedef struct ctx {
    const char *base;
    const char *end;
    const char *source;
    exst_error *err;
} ctx;

static int lerr(const ctx *x, int code, const line *ln, const char *at,
                const char *fmt, ...) EXSTP_PRINTF(5, 6);

static int lerr(const ctx *x, int code, const line *ln, const char *at,
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

#define QUOTE(buf, p, n) (exstp_escape((buf), sizeof(buf), (p), (n)), (buf))

static bool is_kw_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-';
}

static bool is_b64_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The line starting at p (which is before end; the buffer ends in LF). */
static void get_line(line *ln, const char *p, const char *end,
                     unsigned long no)
{
    ln->start = p;
    ln->end = memchr(p, '\n', (size_t)(end - p));
    ln->no = no;
    ln->kw = NULL;
    ln->kwlen = 0;
}

/* Split the keyword off; arguments follow one space.  Tor allows runs of
 * spaces between arguments, and so does tokens(). */
static int split_keyword(const ctx *x, line *ln)
{
    const char *p = ln->start;
    while (p < ln->end && is_kw_char(*p))
        p++;
    if (p == ln->start || ln->start[0] == '-') {
        char q[64];
        return lerr(x, EXST_ERR_SYNTAX, ln, ln->start,
                    "expected a keyword, found \"%s\"",
                    QUOTE(q, ln->start, (size_t)(ln->end - ln->start)));
    }
    if (p < ln->end && *p != ' ') {
        char q[64];
        return lerr(x, EXST_ERR_SYNTAX, ln, p,
                    "unexpected character \"%s\" in keyword",
                    QUOTE(q, p, 1));
    }
    ln->kw = ln->start;
    ln->kwlen = (size_t)(p - ln->start);
    return EXST_OK;
}

static bool kw_is(const line *ln, const char *kw)
{
    size_t n = strlen(kw);
    return ln->kwlen == n && memcmp(ln->kw, kw, n) == 0;
}

/* Up to max argument tokens of ln; *n gets the count (which may exceed
 * max: the extra ones are counted, not stored). */
static void tokens(const line *ln, const char **tok, size_t *tlen, size_t max,
                   size_t *n)
{
    const char *p = ln->kw + ln->kwlen;
    *n = 0;
    for (;;) {
        while (p < ln->end && *p == ' ')
            p++;
        if (p >= ln->end)
            break;
        const char *s = p;
        while (p < ln->end && *p != ' ')
            p++;
        if (*n < max) {
            tok[*n] = s;
            tlen[*n] = (size_t)(p - s);
        }
        (*n)++;
    }
}

enum obj { NO_OBJ, NEED_OBJ, NEED_KEY };

enum {
    K_VERSION, K_ADDRESS, K_FINGERPRINT, K_PUBLISHED, K_EXPIRES,
    K_IDENTITY_KEY, K_SIGNING_KEY, K_CROSSCERT, K_CERTIFICATION, K_COUNT
};

/* tor's dir_key_certificate_table (AUTHCERT_MEMBERS plus fingerprint):
 * min..max arguments, object, how many times. */
static const struct rule {
    const char *kw;
    unsigned min_args, max_args;
    enum obj obj;
    unsigned max_count;
    bool required;
} rules[K_COUNT] = {
    [K_VERSION] = {"dir-key-certificate-version", 1, ~0u, NO_OBJ, 1, true},
    [K_ADDRESS] = {"dir-address", 1, ~0u, NO_OBJ, 1, false},
    [K_FINGERPRINT] = {"fingerprint", 1, 1, NO_OBJ, 1, true},
    [K_PUBLISHED] = {"dir-key-published", 2, 2, NO_OBJ, 1, true},
    [K_EXPIRES] = {"dir-key-expires", 2, 2, NO_OBJ, 1, true},
    [K_IDENTITY_KEY] = {"dir-identity-key", 0, 0, NEED_KEY, 1, true},
    [K_SIGNING_KEY] = {"dir-signing-key", 0, 0, NEED_KEY, 1, true},
    [K_CROSSCERT] = {"dir-key-crosscert", 0, 0, NEED_OBJ, 1, true},
    [K_CERTIFICATION] = {"dir-key-certification", 0, 0, NEED_OBJ, 1, true},
};

static int rule_of(const line *ln)
{
    for (int i = 0; i < K_COUNT; i++)
        if (kw_is(ln, rules[i].kw))
            return i;
    return -1;
}

/* An object: the BEGIN line at *pp, base64 lines, the END line. */
typedef struct object {
    line begin;
    const char *type;
    size_t type_len;
    const char *body;
    size_t body_len;
} object;

static int parse_object(const ctx *x, object *o, const char **pp,
                        unsigned long *no)
{
    line ln;
    get_line(&ln, *pp, x->end, *no);
    o->begin = ln;
    size_t n = (size_t)(ln.end - ln.start);
    if (n < 17 || memcmp(ln.start + n - 5, "-----", 5) != 0)
        return lerr(x, EXST_ERR_SYNTAX, &ln, NULL,
                    "malformed object header (expected -----BEGIN NAME-----)");
    o->type = ln.start + 11;
    o->type_len = n - 16;
    for (size_t i = 0; i < o->type_len; i++) {
        char c = o->type[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' '))
            return lerr(x, EXST_ERR_SYNTAX, &ln, o->type + i,
                        "malformed object name");
    }
    const char *p = ln.end + 1;
    unsigned long lno = *no + 1;
    o->body = p;
    while (p < x->end) {
        get_line(&ln, p, x->end, lno);
        n = (size_t)(ln.end - ln.start);
        if (n >= 9 && memcmp(p, "-----END ", 9) == 0) {
            if (n != o->type_len + 14 ||
                memcmp(p + 9, o->type, o->type_len) != 0 ||
                memcmp(p + n - 5, "-----", 5) != 0)
                return lerr(x, EXST_ERR_SYNTAX, &ln, NULL,
                            "object END line does not match its BEGIN");
            o->body_len = (size_t)(p - o->body);
            if (o->body_len == 0)
                return lerr(x, EXST_ERR_SYNTAX, &ln, NULL, "empty object");
            *pp = ln.end + 1;
            *no = lno + 1;
            return EXST_OK;
        }
        size_t ok = 0;
        while (ok < n && is_b64_char(p[ok]))
            ok++;
        while (ok < n && p[ok] == '=')
            ok++;
        if (ok != n || n == 0 || n > 76)
            return lerr(x, EXST_ERR_SYNTAX, &ln, p + (ok < n ? ok : n),
                        "invalid base64 inside an object");
        if ((size_t)(ln.end + 1 - o->body) > MAX_OBJECT_TEXT)
            return lerr(x, EXST_ERR_LIMIT, &o->begin, NULL,
                        "object longer than %d bytes", MAX_OBJECT_TEXT);
        p = ln.end + 1;
        lno++;
    }
    return lerr(x, EXST_ERR_SYNTAX, &o->begin, NULL,
                "object not closed before the end of the input");
}

static bool type_is(const object *o, const char *t)
{
    size_t n = strlen(t);
    return o->type_len == n && memcmp(o->type, t, n) == 0;
}

/* "YYYY-MM-DD" "HH:MM:SS", checked field by field. */
static bool parse_time(const char *d, size_t dn, const char *t, size_t tn,
                       int64_t *out)
{
    static const unsigned char mdays[13] = {0,  31, 29, 31, 30, 31, 30,
                                            31, 31, 30, 31, 30, 31};
    if (dn != 10 || tn != 8 || d[4] != '-' || d[7] != '-' || t[2] != ':' ||
        t[5] != ':')
        return false;
    static const unsigned char dpos[] = {0, 1, 2, 3, 5, 6, 8, 9};
    static const unsigned char tpos[] = {0, 1, 3, 4, 6, 7};
    for (size_t i = 0; i < sizeof dpos; i++)
        if (!is_digit(d[dpos[i]]))
            return false;
    for (size_t i = 0; i < sizeof tpos; i++)
        if (!is_digit(t[tpos[i]]))
            return false;
#define D2(p) (((p)[0] - '0') * 10 + ((p)[1] - '0'))
    int y = D2(d) * 100 + D2(d + 2), mo = D2(d + 5), da = D2(d + 8);
    int h = D2(t), mi = D2(t + 3), s = D2(t + 6);
#undef D2
    if (y < 1970 || mo < 1 || mo > 12 || da < 1 || da > mdays[mo] ||
        (mo == 2 && da == 29 &&
         !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) ||
        h > 23 || mi > 59 || s > 60)
        return false;
    *out = exstp_timegm(y, mo, da, h, mi, s);
    return true;
}

/* dir-address: IPv4 dotted quad, a colon, a port. */
static bool parse_dir_address(const char *p, size_t n)
{
    const char *end = p + n;
    for (int part = 0; part < 5; part++) {
        unsigned v = 0;
        size_t digits = 0;
        while (p < end && is_digit(*p) && digits < 6) {
            v = v * 10 + (unsigned)(*p++ - '0');
            digits++;
        }
        if (digits == 0 || (part < 4 && (v > 255 || digits > 3)) ||
            (part == 4 && v > 65535))
            return false;
        if (part < 3 && (p >= end || *p++ != '.'))
            return false;
        if (part == 3 && (p >= end || *p++ != ':'))
            return false;
    }
    return p == end;
}

/* One certificate being parsed. */
typedef struct pcert {
    line first;
    const char *start, *end;   /* its bytes */
    unsigned count[K_COUNT];
    line at[K_COUNT];          /* where each item is */
    object obj[K_COUNT];       /* the objects of the keys and signatures */
    const char *arg[K_COUNT][2];
    size_t arg_len[K_COUNT][2];
} pcert;

static int check_args(const ctx *x, pcert *pc, int r, line *ln)
{
    const struct rule *ru = &rules[r];
    const char *tok[3];
    size_t tlen[3], n;
    tokens(ln, tok, tlen, 3, &n);
    if (n < ru->min_args || n > ru->max_args) {
        /* Too few: point past the end; too many: at the first extra. */
        const char *at = n > ru->max_args ? tok[ru->max_args] : ln->end;
        if (ru->min_args == ru->max_args)
            return lerr(x, EXST_ERR_SYNTAX, ln, at,
                        "\"%s\" takes %u argument%s, found %zu", ru->kw,
                        ru->min_args, ru->min_args == 1 ? "" : "s", n);
        return lerr(x, EXST_ERR_SYNTAX, ln, at,
                    "\"%s\" needs at least %u argument%s", ru->kw,
                    ru->min_args, ru->min_args == 1 ? "" : "s");
    }
    for (size_t i = 0; i < n && i < 2; i++) {
        pc->arg[r][i] = tok[i];
        pc->arg_len[r][i] = tlen[i];
    }
    char q[64];
    switch (r) {
    case K_VERSION:
        if (tlen[0] != 1 || tok[0][0] != '3')
            return lerr(x, EXST_ERR_SEMANTIC, ln, tok[0],
                        "unsupported certificate version \"%s\" (expected 3)",
                        QUOTE(q, tok[0], tlen[0]));
        break;
    case K_ADDRESS:
        if (!parse_dir_address(tok[0], tlen[0]))
            return lerr(x, EXST_ERR_SYNTAX, ln, tok[0],
                        "expected IPv4ADDRESS:PORT, found \"%s\"",
                        QUOTE(q, tok[0], tlen[0]));
        break;
    case K_FINGERPRINT: {
        uint8_t id[20];
        size_t bl = 0;
        const char *hend = NULL;
        if (tlen[0] != 40 ||
            sodium_hex2bin(id, sizeof id, tok[0], 40, NULL, &bl, &hend) !=
                0 ||
            bl != 20)
            return lerr(x, EXST_ERR_SYNTAX, ln, tok[0],
                        "expected a fingerprint of 40 hex digits, found "
                        "\"%s\"", QUOTE(q, tok[0], tlen[0]));
        break;
    }
    case K_PUBLISHED:
    case K_EXPIRES: {
        int64_t t;
        if (!parse_time(tok[0], tlen[0], tok[1], tlen[1], &t))
            return lerr(x, EXST_ERR_SYNTAX, ln, tok[0],
                        "expected a time YYYY-MM-DD HH:MM:SS, found \"%s\"",
                        QUOTE(q, tok[0], (size_t)(ln->end - tok[0])));
        break;
    }
    default:
        break;
    }
    return EXST_OK;
}

/* Parse the certificate starting at *pp (a non-empty line). */
static int parse_cert(const ctx *x, pcert *pc, const char **pp,
                      unsigned long *no)
{
    line ln;
    int rc;
    char q[64];
    memset(pc, 0, sizeof *pc);
    get_line(&ln, *pp, x->end, *no);
    if ((rc = split_keyword(x, &ln)) != EXST_OK)
        return rc;
    if (!kw_is(&ln, rules[K_VERSION].kw))
        return lerr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                    "expected \"dir-key-certificate-version\" to start a "
                    "certificate, found \"%s\"",
                    QUOTE(q, ln.kw, ln.kwlen));
    pc->first = ln;
    pc->start = ln.start;
    const char *p = *pp;
    unsigned long lno = *no;
    for (;;) {
        if (p >= x->end)
            return lerr(x, EXST_ERR_SEMANTIC, &pc->first, NULL,
                        "the certificate starting here ends without "
                        "dir-key-certification (truncated?)");
        get_line(&ln, p, x->end, lno);
        if (ln.end == ln.start)
            return lerr(x, EXST_ERR_SYNTAX, &ln, NULL,
                        "empty line inside a certificate");
        if ((size_t)(ln.end - ln.start) > MAX_LINE_BYTES)
            return lerr(x, EXST_ERR_LIMIT, &ln, ln.start + MAX_LINE_BYTES,
                        "line longer than %d bytes", MAX_LINE_BYTES);
        if (ln.end - ln.start >= 5 && memcmp(ln.start, "-----", 5) == 0)
            return lerr(x, EXST_ERR_SYNTAX, &ln, NULL,
                        "object without a keyword line before it");
        if ((rc = split_keyword(x, &ln)) != EXST_OK)
            return rc;
        const int r = rule_of(&ln);
        if (r == K_VERSION && pc->count[K_VERSION] > 0)
            return lerr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                        "a new certificate starts before the one at line "
                        "%lu ended with dir-key-certification (truncated?)",
                        pc->first.no);
        if (r >= 0) {
            if (++pc->count[r] > rules[r].max_count)
                return lerr(x, EXST_ERR_SEMANTIC, &ln, NULL,
                            "\"%s\" appears more than once in a "
                            "certificate", rules[r].kw);
            pc->at[r] = ln;
            if ((rc = check_args(x, pc, r, &ln)) != EXST_OK)
                return rc;
        }
        p = ln.end + 1;
        lno++;
        const bool has_obj = p < x->end && x->end - p >= 11 &&
                             memcmp(p, "-----BEGIN ", 11) == 0;
        object o;
        if (has_obj) {
            if (r >= 0 && rules[r].obj == NO_OBJ)
                return lerr(x, EXST_ERR_SYNTAX, &ln, ln.end,
                            "\"%s\" takes no object", rules[r].kw);
            if ((rc = parse_object(x, &o, &p, &lno)) != EXST_OK)
                return rc;
            /* Later errors about the object name its item. */
            o.begin.kw = ln.kw;
            o.begin.kwlen = ln.kwlen;
        } else if (r >= 0 && rules[r].obj != NO_OBJ) {
            return lerr(x, EXST_ERR_SYNTAX, &ln, ln.end,
                        "\"%s\" needs an object", rules[r].kw);
        }
        if (r >= 0 && has_obj) {
            const bool ok =
                rules[r].obj == NEED_KEY ? type_is(&o, "RSA PUBLIC KEY")
                : r == K_CROSSCERT ? (type_is(&o, "ID SIGNATURE") ||
                                      type_is(&o, "SIGNATURE"))
                                   : type_is(&o, "SIGNATURE");
            if (!ok)
                return lerr(x, EXST_ERR_SYNTAX, &o.begin, o.type,
                            "unexpected object \"%s\" for \"%s\"",
                            QUOTE(q, o.type, o.type_len), rules[r].kw);
            pc->obj[r] = o;
        }
        if (r == K_CERTIFICATION)
            break;
    }
    pc->end = p;
    for (int r = 0; r < K_COUNT; r++)
        if (rules[r].required && pc->count[r] == 0) {
            line at = pc->first;
            at.kw = rules[r].kw;
            at.kwlen = strlen(rules[r].kw);
            return lerr(x, EXST_ERR_SEMANTIC, &at, NULL,
                        "the certificate starting here has no \"%s\"",
                        rules[r].kw);
        }
    if ((size_t)(pc->end - pc->start) > MAX_CERT_BYTES)
        return lerr(x, EXST_ERR_LIMIT, &pc->first, NULL,
                    "certificate longer than %zu bytes", MAX_CERT_BYTES);
    *pp = p;
    *no = lno;
    return EXST_OK;
}

/* Decode the key of item r into *key and its SHA-1 into digest. */
static int cert_key(const ctx *x, const pcert *pc, int r, EVP_PKEY **key,
                    unsigned *bits, uint8_t digest[20])
{
    uint8_t der[MAX_OBJECT_BYTES];
    size_t n;
    const object *o = &pc->obj[r];
    if (!exstp_object_decode(der, sizeof der, &n, o->body, o->body_len))
        return lerr(x, EXST_ERR_SYNTAX, &o->begin, NULL,
                    "\"%s\": object is not valid base64", rules[r].kw);
    const char *why = rsa_from_der(key, bits, der, n);
    if (why != NULL)
        return lerr(x, EXST_ERR_SEMANTIC, &o->begin, NULL, "\"%s\": %s",
                    rules[r].kw, why);
    exstp_sha1(digest, der, n);
    return EXST_OK;
}

/* Check one RSA signature object of item r over digest. */
static int cert_sig(const ctx *x, const pcert *pc, int r, EVP_PKEY *key,
                    const uint8_t *digest, const char *what)
{
    uint8_t sig[MAX_OBJECT_BYTES];
    size_t n;
    const object *o = &pc->obj[r];
    if (!exstp_object_decode(sig, sizeof sig, &n, o->body, o->body_len))
        return lerr(x, EXST_ERR_SYNTAX, &o->begin, NULL,
                    "\"%s\": object is not valid base64", rules[r].kw);
    int v = exstp_rsa_check(key, sig, n, digest, 20);
    if (v == EXSTP_RSA_NOMEM)
        return exstp_error_simple(x->err, EXST_ERR_NOMEM, x->source,
                                  "out of memory");
    if (v != EXSTP_RSA_GOOD) {
        line at = pc->at[r];
        return lerr(x, EXST_ERR_SEMANTIC, &at, NULL, "%s does not verify",
                    what);
    }
    return EXST_OK;
}

/* The checks of tor's authority_cert_parse_from_string, filling *c. */
static int verify_cert(const ctx *x, const pcert *pc, exstp_cert *c)
{
    EVP_PKEY *idkey = NULL, *skey = NULL;
    uint8_t fp[20], digest[20];
    size_t bl = 0;
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = cert_key(x, pc, K_IDENTITY_KEY, &idkey, &c->info.identity_bits,
                       c->info.identity)) != EXST_OK)
        goto done;
    if (sodium_hex2bin(fp, sizeof fp, pc->arg[K_FINGERPRINT][0], 40, NULL,
                       &bl, NULL) != 0 ||
        memcmp(fp, c->info.identity, 20) != 0) {
        char hex[41];
        line at = pc->at[K_FINGERPRINT];
        rc = lerr(x, EXST_ERR_SEMANTIC, &at, pc->arg[K_FINGERPRINT][0],
                  "fingerprint does not match the identity key (whose "
                  "digest is %s)", exst_fingerprint_hex(hex,
                                                        c->info.identity));
        goto done;
    }
    if ((rc = cert_key(x, pc, K_SIGNING_KEY, &skey, &c->info.signing_bits,
                       c->info.signing_key)) != EXST_OK)
        goto done;
    if (!parse_time(pc->arg[K_PUBLISHED][0], pc->arg_len[K_PUBLISHED][0],
                    pc->arg[K_PUBLISHED][1], pc->arg_len[K_PUBLISHED][1],
                    &c->info.published) ||
        !parse_time(pc->arg[K_EXPIRES][0], pc->arg_len[K_EXPIRES][0],
                    pc->arg[K_EXPIRES][1], pc->arg_len[K_EXPIRES][1],
                    &c->info.expires)) {
        rc = exstp_error_simple(x->err, EXST_ERR_SYNTAX, x->source,
                                "certificate time unreadable");
        goto done;
    }
    /* Signed portion: tor's router_get_hash_impl from the version line
     * through the first "\ndir-key-certification" and its newline. */
    static const char marker[] = "\ndir-key-certification";
    const char *m = memmem(pc->start, (size_t)(pc->end - pc->start), marker,
                           sizeof marker - 1);
    const char *nl = m ? memchr(m + sizeof marker - 1, '\n',
                                (size_t)(pc->end - m - (sizeof marker - 1)))
                       : NULL;
    if (nl == NULL) { /* cannot happen: the item was parsed */
        rc = exstp_error_simple(x->err, EXST_ERR_SEMANTIC, x->source,
                                "certificate has no signed portion");
        goto done;
    }
    exstp_sha1(digest, pc->start, (size_t)(nl + 1 - pc->start));
    if ((rc = cert_sig(x, pc, K_CERTIFICATION, idkey, digest,
                       "the identity key's signature on the certificate")) !=
        EXST_OK)
        goto done;
    if ((rc = cert_sig(x, pc, K_CROSSCERT, skey, c->info.identity,
                       "the signing key's cross-certification")) != EXST_OK)
        goto done;
    exstp_sha1(c->text_digest, pc->start, (size_t)(pc->end - pc->start));
    c->signing_key = skey;
    skey = NULL;
done:
    EVP_PKEY_free(idkey);
    EVP_PKEY_free(skey);
    return rc;
}

static int prescan(const ctx *x)
{
    const char *base = x->base;
    const size_t len = (size_t)(x->end - base);
    const char *nul = memchr(base, '\0', len);
    const char *cr = memchr(base, '\r', len);
    const char *bad = nul != NULL && (cr == NULL || nul < cr) ? nul : cr;
    line ln = {0};
    if (bad != NULL || (len > 0 && base[len - 1] != '\n')) {
        const char *at = bad != NULL ? bad : base + len;
        unsigned long no = 1;
        const char *ls = base;
        for (const char *p = base; p < at; p++)
            if (*p == '\n') {
                no++;
                ls = p + 1;
            }
        ln.start = ls;
        ln.no = no;
        if (bad == nul && nul != NULL)
            return lerr(x, EXST_ERR_SYNTAX, &ln, at, "NUL byte in input");
        if (bad != NULL)
            return lerr(x, EXST_ERR_SYNTAX, &ln, at,
                        "carriage return (CR) in input: certificate lines "
                        "end with LF only (dos2unix converts the file)");
        return lerr(x, EXST_ERR_SYNTAX, &ln, at,
                    "no newline at the end of the input (truncated?)");
    }
    return EXST_OK;
}

static void cert_clear(exstp_cert *c)
{
    EVP_PKEY_free(c->signing_key);
    c->signing_key = NULL;
}

static bool already_have(const exst_certs *set, size_t upto,
                         const exstp_cert *c)
{
    for (size_t i = 0; i < upto; i++)
        if (memcmp(set->v[i].text_digest, c->text_digest, 20) == 0)
            return true;
    return false;
}

static void truncate_set(exst_certs *set, size_t n)
{
    while (set->n > n)
        cert_clear(&set->v[--set->n]);
}

int exst_certs_add(exst_certs *set, const void *buf, size_t len,
                   const char *source, exst_error *err)
{
    ctx x = {buf, (const char *)buf + len, source, err};
    const size_t before = set->n;
    int rc;
    if (len > set->max_file_bytes)
        return exstp_error_simple(err, EXST_ERR_LIMIT, source,
                                  "certificates larger than %zu bytes",
                                  set->max_file_bytes);
    if ((rc = prescan(&x)) != EXST_OK)
        return rc;
    const char *p = buf;
    unsigned long no = 1;
    size_t found = 0;
    while (p < x.end) {
        if (*p == '\n') { /* tor skips whitespace between certificates */
            p++;
            no++;
            continue;
        }
        pcert pc;
        exstp_cert c;
        if ((rc = parse_cert(&x, &pc, &p, &no)) != EXST_OK ||
            (rc = verify_cert(&x, &pc, &c)) != EXST_OK)
            goto fail;
        found++;
        if (already_have(set, set->n, &c)) {
            cert_clear(&c);
            continue;
        }
        if (set->n >= set->max_certs) {
            cert_clear(&c);
            rc = lerr(&x, EXST_ERR_LIMIT, &pc.first, NULL,
                      "more than %zu certificates", set->max_certs);
            goto fail;
        }
        if (set->n == set->cap) {
            size_t ncap = set->cap ? set->cap * 2 : 16;
            exstp_cert *nv = exstp_realloc(set->v, ncap * sizeof *nv);
            if (nv == NULL) {
                cert_clear(&c);
                rc = exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                        "out of memory");
                goto fail;
            }
            set->v = nv;
            set->cap = ncap;
        }
        set->v[set->n++] = c;
    }
    if (found == 0) {
        line ln = {.start = buf, .end = buf, .no = 1};
        rc = lerr(&x, EXST_ERR_SEMANTIC, &ln, NULL,
                  "no authority certificate in the input");
        goto fail;
    }
    return EXST_OK;
fail:
    truncate_set(set, before);
    return rc;
}

/* ---- the set --------------------------------------------------------- */

int exst_certs_new(exst_certs **out, const exst_certs_opts *opts,
                   exst_error *err)
{
    *out = NULL;
    exst_certs *s = exstp_calloc(1, sizeof *s);
    if (s == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    s->max_file_bytes = opts && opts->max_file_bytes
                            ? opts->max_file_bytes
                            : EXST_DEFAULT_MAX_CERT_FILE_BYTES;
    s->max_certs = opts && opts->max_certs ? opts->max_certs
                                           : EXST_DEFAULT_MAX_CERTS;
    *out = s;
    return EXST_OK;
}

void exst_certs_free(exst_certs *set)
{
    if (set == NULL)
        return;
    truncate_set(set, 0);
    exstp_free(set->v);
    exstp_free(set);
}

size_t exst_certs_count(const exst_certs *set)
{
    return set ? set->n : 0;
}

void exst_certs_get(const exst_certs *set, size_t i, exst_cert_info *out)
{
    *out = set->v[i].info;
}

const exstp_cert *exstp_certs_find(const exst_certs *set,
                                   const uint8_t id[20], const uint8_t sk[20],
                                   int64_t t, int *why)
{
    bool expired = false, early = false;
    for (size_t i = 0; set != NULL && i < set->n; i++) {
        const exstp_cert *c = &set->v[i];
        if (memcmp(c->info.identity, id, 20) != 0 ||
            memcmp(c->info.signing_key, sk, 20) != 0)
            continue;
        /* tor: a certificate is expired when expires < now; here "now"
         * is the consensus's valid-after. */
        if (c->info.expires < t)
            expired = true;
        else if (c->info.published > t)
            early = true;
        else
            return c;
    }
    *why = expired ? EXST_SIG_CERT_EXPIRED
           : early ? EXST_SIG_CERT_NOT_YET_VALID
                   : EXST_SIG_NO_CERTIFICATE;
    return NULL;
}

/* ---- loading files and directories ------------------------------------ */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_file(exst_certs *set, const char *path, exst_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = exstp_read_file(&buf, &len, path, set->max_file_bytes, err);
    if (rc == EXST_OK)
        rc = exst_certs_add(set, buf, len, path, err);
    exstp_free(buf);
    return rc;
}

int exst_certs_load(exst_certs *set, const char *path, exst_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "cannot open '%s': %s", path,
                                  strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return add_file(set, path, err);

    DIR *d = opendir(path);
    if (d == NULL)
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "cannot open '%s': %s", path,
                                  strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = EXST_OK;
    const size_t before = set->n;
    const size_t plen = strlen(path);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = exstp_realloc(names, ncap * sizeof *nn);
            if (nn == NULL) {
                rc = exstp_error_simple(err, EXST_ERR_NOMEM, path,
                                        "out of memory");
                break;
            }
            names = nn;
            cap = ncap;
        }
        size_t nl = strlen(de->d_name);
        char *full = exstp_malloc(plen + nl + 2);
        if (full == NULL) {
            rc = exstp_error_simple(err, EXST_ERR_NOMEM, path,
                                    "out of memory");
            break;
        }
        memcpy(full, path, plen);
        full[plen] = '/';
        memcpy(full + plen + 1, de->d_name, nl + 1);
        struct stat fst;
        if (stat(full, &fst) != 0 || !S_ISREG(fst.st_mode)) {
            exstp_free(full);
            continue;
        }
        names[n++] = full;
    }
    closedir(d);
    if (rc == EXST_OK && n == 0)
        rc = exstp_error_simple(err, EXST_ERR_IO, path,
                                "no certificate files in '%s'", path);
    if (rc == EXST_OK) {
        qsort(names, n, sizeof *names, cmp_names);
        for (size_t i = 0; i < n && rc == EXST_OK; i++)
            rc = add_file(set, names[i], err);
        if (rc != EXST_OK)
            truncate_set(set, before);
    }
    for (size_t i = 0; i < n; i++)
        exstp_free(names[i]);
    exstp_free(names);
    return rc;
}
