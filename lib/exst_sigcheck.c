/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_sigcheck.c - is this consensus signed by enough of the authorities
 * we trust?  The rules are tor's (src/feature/nodelist/networkstatus.c,
 * networkstatus_check_consensus_signature and
 * networkstatus_check_document_signature; src/feature/dirparse/ns_parse.c
 * for the signature block; sigcommon.c for the signed portion):
 *
 *  - the signed portion runs from the first "network-status-version"
 *    (which must start a line, so a CollecTor "@type" line before it is
 *    not signed) through the space after the first "\ndirectory-signature";
 *  - "directory-signature ID SK" signs its SHA-1, "directory-signature
 *    sha256 ID SK" its SHA-256; other algorithm names are skipped;
 *  - each signature object is a SIGNATURE of 128 to 512 bytes, and its ID
 *    must be one of the document's dir-source lines, or the document is
 *    malformed; a second signature of an authority with the same
 *    algorithm is ignored;
 *  - a signature counts when its ID is a trusted authority, a certificate
 *    for that ID and signing-key digest is at hand and valid (tor: not
 *    expired at "now"; here: valid at the consensus's valid-after, so a
 *    replay of old documents is judged by their own time), and the RSA
 *    signature recovers the digest;
 *  - the consensus is accepted when the number of trusted authorities
 *    with a good signature is at least n/2 + 1.
 *
 * This file also holds the built-in authority list, the --authorities
 * file parser, the digests (one SHA-256 pass shared with the report's
 * consensus.sha256 where possible) and the report's "signatures" JSON.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "exst_consensus_int.h"
#include "exst_int.h"
#include "exst_json_int.h"
#include "exst_sha_int.h"
#include "exst_sigcheck_int.h"
#include "exst_trust_int.h"

/* ---- trusted authorities --------------------------------------------- */

/*
 * Tor's default v3 directory authorities: the v3ident values of
 * src/app/config/auth_dirs.inc in torproject/tor (main branch, 2025-2026:
 * moria1 and tor26 with their 2023/2024 identities, faravahar's 2024
 * identity; the bridge authority Serge has no v3ident).  Sorted.
 */
static const struct {
    const char *fp;
    const char *nickname;
} default_authorities[] = {
    {"0232AF901C31A04EE9848595AF9BB7620D4C5B2E", "dannenberg"},
    {"23D15D965BC35114467363C165C4F724B64B4F66", "longclaw"},
    {"27102BC123E7AF1D4741AE047E160C91ADC76B21", "bastet"},
    {"2F3DF9CA0E5D36F2685A2DA67184EB8DCB8CBA8C", "tor26"},
    {"49015F787433103580E3B66A1707A00E60F2D15B", "maatuska"},
    {"70849B868D606BAECFB6128C5E3D782029AA394F", "faravahar"},
    {"E8A9C45EDE6D711294FADF8E7951F4DE6CA56B58", "dizum"},
    {"ED03BB616EB2F60BEC80151114BB25CEF515B226", "gabelmoo"},
    {"F533C81CEF0BC0267857C99B2F471ADF249FA232", "moria1"},
};
#define N_DEFAULT (sizeof default_authorities / sizeof default_authorities[0])

#define MAX_AUTHORITIES 1024
#define MAX_AUTHORITIES_FILE ((size_t)1 << 20)

struct exst_authorities {
    uint8_t (*ids)[20]; /* ascending, unique */
    size_t n;
};

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 20);
}

static bool auth_has(const exst_authorities *a, const uint8_t id[20])
{
    return bsearch(id, a->ids, a->n, 20, cmp_id) != NULL;
}

static int auth_new(exst_authorities **out, size_t cap, exst_error *err)
{
    exst_authorities *a = exstp_calloc(1, sizeof *a);
    if (a != NULL)
        a->ids = exstp_calloc(cap ? cap : 1, 20);
    if (a == NULL || a->ids == NULL) {
        exstp_free(a);
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    }
    *out = a;
    return EXST_OK;
}

int exst_authorities_default(exst_authorities **out, exst_error *err)
{
    exst_authorities *a = NULL;
    *out = NULL;
    int rc = auth_new(&a, N_DEFAULT, err);
    if (rc != EXST_OK)
        return rc;
    for (size_t i = 0; i < N_DEFAULT; i++)
        if (exst_fingerprint_parse(a->ids[a->n++],
                                   default_authorities[i].fp) != EXST_OK)
            abort(); /* the table above is wrong: a build-time mistake */
    *out = a;
    return EXST_OK;
}

void exst_authorities_free(exst_authorities *a)
{
    if (a == NULL)
        return;
    exstp_free(a->ids);
    exstp_free(a);
}

size_t exst_authorities_count(const exst_authorities *a)
{
    return a ? a->n : 0;
}

const uint8_t *exst_authorities_id(const exst_authorities *a, size_t i)
{
    return a->ids[i];
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

static bool hex20(uint8_t out[20], const char *p, size_t n)
{
    size_t bl = 0;
    if (n != 40)
        return false;
    for (size_t i = 0; i < 40; i++)
        if (!is_hex(p[i]))
            return false;
    return sodium_hex2bin(out, 20, p, 40, NULL, &bl, NULL) == 0 && bl == 20;
}

int exst_authorities_parse(exst_authorities **out, const void *buf,
                           size_t len, const char *source, exst_error *err)
{
    const char *p = buf, *end = p + len;
    exst_authorities *a = NULL;
    unsigned long no = 1;
    size_t cap = 16;
    int rc;
    char q[64];
    *out = NULL;
    if ((rc = auth_new(&a, cap, err)) != EXST_OK)
        return rc;
    /* Where each fingerprint was, to name a repeated one. */
    unsigned long *lines = exstp_calloc(cap, sizeof *lines);
    if (lines == NULL) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, source, "out of memory");
        goto fail;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p;
        while (s < le && (*s == ' ' || *s == '\t'))
            s++;
        const char *e = s;
        while (e < le && *e != '#' && *e != ' ' && *e != '\t' && *e != '\r')
            e++;
        if (e > s) {
            const char *rest = e;
            while (rest < le && (*rest == ' ' || *rest == '\t' ||
                                 (*rest == '\r' && rest + 1 == le)))
                rest++;
            if (!hex20(a->ids[a->n], s, (size_t)(e - s))) {
                rc = exstp_error_set(err, EXST_ERR_SYNTAX, source, no,
                                     (unsigned long)(s - p) + 1,
                                     (size_t)(s - (const char *)buf), NULL,
                                     "expected a v3 identity fingerprint "
                                     "of 40 hex digits, found \"%s\"",
                                     QUOTE_STR(q, s, (size_t)(e - s)));
                goto fail;
            }
            if (rest < le && *rest != '#') {
                rc = exstp_error_set(err, EXST_ERR_SYNTAX, source, no,
                                     (unsigned long)(rest - p) + 1,
                                     (size_t)(rest - (const char *)buf),
                                     NULL,
                                     "unexpected text after the "
                                     "fingerprint (comments start with #)");
                goto fail;
            }
            for (size_t i = 0; i < a->n; i++)
                if (memcmp(a->ids[i], a->ids[a->n], 20) == 0) {
                    rc = exstp_error_set(err, EXST_ERR_SEMANTIC, source, no,
                                         (unsigned long)(s - p) + 1,
                                         (size_t)(s - (const char *)buf),
                                         NULL,
                                         "authority listed twice (first "
                                         "on line %lu)", lines[i]);
                    goto fail;
                }
            lines[a->n++] = no;
            if (a->n == cap) {
                if (cap >= MAX_AUTHORITIES) {
                    rc = exstp_error_set(err, EXST_ERR_LIMIT, source, no, 1,
                                         (size_t)(p - (const char *)buf),
                                         NULL, "more than %d authorities",
                                         MAX_AUTHORITIES - 1);
                    goto fail;
                }
                uint8_t(*nids)[20] = exstp_realloc(a->ids, cap * 2 * 20);
                unsigned long *nlines =
                    nids ? exstp_realloc(lines, cap * 2 * sizeof *lines)
                         : NULL;
                if (nids != NULL)
                    a->ids = nids;
                if (nlines == NULL) {
                    rc = exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                            "out of memory");
                    goto fail;
                }
                lines = nlines;
                cap *= 2;
            }
        }
        p = nl ? nl + 1 : end;
        no++;
    }
    if (a->n == 0) {
        rc = exstp_error_set(err, EXST_ERR_SEMANTIC, source, 1, 1, 0, NULL,
                             "no authority fingerprint in the list");
        goto fail;
    }
    qsort(a->ids, a->n, 20, cmp_id);
    exstp_free(lines);
    *out = a;
    return EXST_OK;
fail:
    exstp_free(lines);
    exst_authorities_free(a);
    return rc;
}

int exst_authorities_load(exst_authorities **out, const char *path,
                          exst_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = exstp_read_file(&buf, &len, path, MAX_AUTHORITIES_FILE, err);
    if (rc == EXST_OK)
        rc = exst_authorities_parse(out, buf, len, path, err);
    exstp_free(buf);
    return rc;
}

/* ---- the signed portion and the digests ------------------------------ */

/* tor's router_get_networkstatus_v3_signed_boundaries. */
static bool signed_range(const exst_consensus *c, size_t *start,
                         size_t *end)
{
    static const char first[] = "network-status-version";
    static const char last[] = "\ndirectory-signature";
    const char *doc = c->doc;
    const char *s = memmem(doc, c->len, first, sizeof first - 1);
    if (s == NULL || (s != doc && s[-1] != '\n'))
        return false;
    const char *from = s + sizeof first - 1;
    const char *e = memmem(from, (size_t)(doc + c->len - from), last,
                           sizeof last - 1);
    if (e == NULL)
        return false;
    e += sizeof last - 1;
    e = memchr(e, ' ', (size_t)(doc + c->len - e));
    if (e == NULL)
        return false;
    *start = (size_t)(s - doc);
    *end = (size_t)(e + 1 - doc);
    return true;
}

int exst_consensus_digests(exst_digests *out, const exst_consensus *c,
                           unsigned want, exst_error *err)
{
    size_t s = 0, e = 0;
    memset(out, 0, sizeof *out);
    const bool want_signed =
        (want & (EXST_DIGEST_SIGNED_SHA1 | EXST_DIGEST_SIGNED_SHA256)) != 0;
    if (want_signed && !signed_range(c, &s, &e))
        return exstp_error_simple(err, EXST_ERR_SEMANTIC, NULL,
                                  "cannot find the signed portion of the "
                                  "consensus (network-status-version to "
                                  "directory-signature)");
    const bool whole = (want & EXST_DIGEST_INPUT_SHA256) != 0;
    const bool sig256 = (want & EXST_DIGEST_SIGNED_SHA256) != 0;
    if (whole) {
        exstp_sha256_ctx st;
        exstp_sha256_init(&st);
        if (sig256 && s == 0) {
            /* One pass: the signed portion is a prefix of the input, so
             * its digest is a snapshot of the running state. */
            exstp_sha256_update(&st, c->doc, e);
            exstp_sha256_ctx snap = st;
            exstp_sha256_final(&snap, out->signed_sha256);
            exstp_sha256_update(&st, c->doc + e, c->len - e);
            out->have |= EXST_DIGEST_SIGNED_SHA256;
        } else {
            exstp_sha256_update(&st, c->doc, c->len);
        }
        exstp_sha256_final(&st, out->input_sha256);
        out->have |= EXST_DIGEST_INPUT_SHA256;
    }
    if (sig256 && !(out->have & EXST_DIGEST_SIGNED_SHA256)) {
        exstp_sha256(out->signed_sha256, c->doc + s, e - s);
        out->have |= EXST_DIGEST_SIGNED_SHA256;
    }
    if (want & EXST_DIGEST_SIGNED_SHA1) {
        exstp_sha1(out->signed_sha1, c->doc + s, e - s);
        out->have |= EXST_DIGEST_SIGNED_SHA1;
    }
    return EXST_OK;
}

/* ---- the check ------------------------------------------------------- */

/* A dir-source line of the document. */
typedef struct voter {
    uint8_t id[20];
    char nickname[20];
} voter;

typedef struct sig {
    exst_sig_info info;
    char nickname[20]; /* from the document's dir-source line */
} sig;

struct exst_sigcheck {
    sig *sigs;
    size_t n;
    size_t good;
    size_t required;
    size_t n_auth;
};

typedef struct line {
    const char *start, *end; /* end = the LF */
    unsigned long no;
} line;

static int serr(exst_error *err, int code, const line *ln, const char *at,
                const char *base, const char *fmt, ...) EXSTP_PRINTF(6, 7);

static int serr(exst_error *err, int code, const line *ln, const char *at,
                const char *base, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    if (err == NULL)
        return code;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* source stays as the caller set it (the consensus's name). */
    return exstp_error_set(err, code, NULL, ln->no,
                           (unsigned long)(at - ln->start) + 1,
                           (size_t)(at - base), "directory-signature", "%s",
                           msg);
}

/* The line number of the first signature.  Counting every newline of a
 * 3 MB document costs more than the RSA checks, so start from the last
 * router entry, whose line the parser kept. */
static unsigned long sig_line(const exst_consensus *c)
{
    const char *p = c->doc, *at = c->doc + c->sig_off;
    unsigned long n = 1;
    if (c->n_relays > 0) {
        const exstp_relay *r = &c->relays[c->n_relays - 1];
        p = c->doc + r->id_off; /* on the r line, after "r NICK " */
        n = r->line;
    }
    while ((p = memchr(p, '\n', (size_t)(at - p))) != NULL) {
        p++;
        n++;
    }
    return n;
}

/* The dir-source lines, from the authority section (annot_off) to the
 * first router entry. */
static int collect_voters(voter **out, size_t *n_out,
                          const exst_consensus *c, exst_error *err)
{
    const char *p = c->doc + c->annot_off, *end = c->doc + c->len;
    voter *v = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    *n_out = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        if ((nl - p >= 2 && p[0] == 'r' && p[1] == ' ') ||
            (nl - p >= 16 && memcmp(p, "directory-footer", 16) == 0))
            break;
        if (nl - p > 11 && memcmp(p, "dir-source ", 11) == 0) {
            /* dir-source NICKNAME IDENTITY ADDRESS IP DIRPORT ORPORT */
            const char *nick = p + 11;
            const char *ne = memchr(nick, ' ', (size_t)(nl - nick));
            if (ne != NULL && nl - ne > 40) {
                if (n == cap) {
                    size_t ncap = cap ? cap * 2 : 16;
                    voter *nv = exstp_realloc(v, ncap * sizeof *nv);
                    if (nv == NULL) {
                        exstp_free(v);
                        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                                  "out of memory");
                    }
                    v = nv;
                    cap = ncap;
                }
                if (hex20(v[n].id, ne + 1, 40) &&
                    (ne + 41 == nl || ne[41] == ' ')) {
                    size_t k = 0;
                    for (const char *q = nick; q < ne && k < 19; q++)
                        if ((*q >= 'a' && *q <= 'z') ||
                            (*q >= 'A' && *q <= 'Z') ||
                            (*q >= '0' && *q <= '9') || *q == '-')
                            v[n].nickname[k++] = *q;
                    v[n].nickname[k] = '\0';
                    n++;
                }
            }
        }
        p = nl + 1;
    }
    *out = v;
    *n_out = n;
    return EXST_OK;
}

static const voter *find_voter(const voter *v, size_t n, const uint8_t id[20])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(v[i].id, id, 20) == 0)
            return &v[i];
    return NULL;
}

/* Next space-separated token in [*pp, end). */
static bool next_tok(const char **pp, const char *end, const char **ts,
                     size_t *tl)
{
    const char *p = *pp;
    while (p < end && *p == ' ')
        p++;
    if (p >= end)
        return false;
    *ts = p;
    while (p < end && *p != ' ')
        p++;
    *tl = (size_t)(p - *ts);
    *pp = p;
    return true;
}

typedef struct lazy_digests {
    const exst_consensus *c;
    exst_digests d;
} lazy_digests;

static const uint8_t *need_digest(lazy_digests *ld, unsigned bit,
                                  exst_error *err, int *rc)
{
    if (!(ld->d.have & bit)) {
        exst_digests more;
        if ((*rc = exst_consensus_digests(&more, ld->c, bit, err)) !=
            EXST_OK)
            return NULL;
        if (bit == EXST_DIGEST_SIGNED_SHA1)
            memcpy(ld->d.signed_sha1, more.signed_sha1, 20);
        else
            memcpy(ld->d.signed_sha256, more.signed_sha256, 32);
        ld->d.have |= bit;
    }
    return bit == EXST_DIGEST_SIGNED_SHA1 ? ld->d.signed_sha1
                                          : ld->d.signed_sha256;
}

/* Parse and check the signature block at *pp (a directory-signature line
 * followed by its object).  On success *s is filled and *pp moved on. */
static int check_one(sig *s, const char **pp, unsigned long *no,
                     const exst_consensus *c, const voter *voters,
                     size_t n_voters, const sig *prev, size_t n_prev,
                     const exst_certs *certs, const exst_authorities *auth,
                     lazy_digests *ld, exst_error *err)
{
    const char *base = c->doc, *end = c->doc + c->len;
    line ln = {*pp, memchr(*pp, '\n', (size_t)(end - *pp)), *no};
    const char *tok[4];
    size_t tl[4], nt = 0;
    const char *p = ln.start + 19; /* after "directory-signature" */
    char q[64];
    int rc = EXST_OK;
    memset(s, 0, sizeof *s);
    s->info.line = ln.no;
    while (nt < 4 && next_tok(&p, ln.end, &tok[nt], &tl[nt]))
        nt++;
    if (nt < 2 || nt > 3)
        return serr(err, EXST_ERR_SYNTAX, &ln, ln.end, base,
                    "expected [ALGORITHM] IDENTITY SIGNING-KEY-DIGEST");
    const size_t ai = nt == 3 ? 1 : 0;
    if (nt == 2 || (tl[0] == 4 && memcmp(tok[0], "sha1", 4) == 0))
        s->info.algorithm = 1;
    else if (tl[0] == 6 && memcmp(tok[0], "sha256", 6) == 0)
        s->info.algorithm = 256;

    /* The object: its BEGIN line, body, END line (the consensus parser
     * has checked their shape). */
    const char *ob = ln.end + 1;
    line bl = {ob, memchr(ob, '\n', (size_t)(end - ob)), ln.no + 1};
    if (bl.end == NULL)
        return serr(err, EXST_ERR_SYNTAX, &ln, ln.end, base,
                    "directory-signature without a signature object");
    const char *body = bl.end + 1, *b = body;
    unsigned long lno = bl.no + 1;
    while (end - b >= 9 && memcmp(b, "-----END ", 9) != 0) {
        const char *nl = memchr(b, '\n', (size_t)(end - b));
        if (nl == NULL)
            break;
        b = nl + 1;
        lno++;
    }
    const char *bend = end - b >= 9 ? memchr(b, '\n', (size_t)(end - b))
                                    : NULL;
    if (bend == NULL)
        return serr(err, EXST_ERR_SYNTAX, &bl, bl.start, base,
                    "signature object not closed");
    *pp = bend + 1;
    *no = lno + 1;

    if (s->info.algorithm == 0) {
        /* tor skips an unknown algorithm before looking further. */
        hex20(s->info.identity, tok[ai], tl[ai]);
        s->info.status = EXST_SIG_UNKNOWN_ALGORITHM;
        return EXST_OK;
    }
    uint8_t sigbuf[512];
    size_t siglen = 0;
    if ((size_t)(bl.end - bl.start) != 25 ||
        memcmp(bl.start, "-----BEGIN SIGNATURE-----", 25) != 0 ||
        !exstp_object_decode(sigbuf, sizeof sigbuf, &siglen, body,
                             (size_t)(b - body)) ||
        siglen < 128)
        return serr(err, EXST_ERR_SEMANTIC, &bl, bl.start, base,
                    "directory-signature object must be a SIGNATURE of "
                    "128 to 512 bytes");
    if (!hex20(s->info.identity, tok[ai], tl[ai]))
        return serr(err, EXST_ERR_SYNTAX, &ln, tok[ai], base,
                    "expected an identity of 40 hex digits, found \"%s\"",
                    QUOTE_STR(q, tok[ai], tl[ai]));
    const voter *v = find_voter(voters, n_voters, s->info.identity);
    if (v == NULL)
        return serr(err, EXST_ERR_SEMANTIC, &ln, tok[ai], base,
                    "signature by an authority that is not a dir-source "
                    "of this consensus");
    memcpy(s->nickname, v->nickname, sizeof s->nickname);
    if (!hex20(s->info.signing_key, tok[ai + 1], tl[ai + 1]))
        return serr(err, EXST_ERR_SYNTAX, &ln, tok[ai + 1], base,
                    "expected a signing-key digest of 40 hex digits, found "
                    "\"%s\"", QUOTE_STR(q, tok[ai + 1], tl[ai + 1]));

    for (size_t i = 0; i < n_prev; i++)
        if (prev[i].info.status != EXST_SIG_UNKNOWN_ALGORITHM &&
            prev[i].info.status != EXST_SIG_DUPLICATE &&
            prev[i].info.algorithm == s->info.algorithm &&
            memcmp(prev[i].info.identity, s->info.identity, 20) == 0) {
            s->info.status = EXST_SIG_DUPLICATE;
            return EXST_OK;
        }
    if (!auth_has(auth, s->info.identity)) {
        s->info.status = EXST_SIG_UNKNOWN_AUTHORITY;
        return EXST_OK;
    }
    int why = EXST_SIG_NO_CERTIFICATE;
    const exstp_cert *cert = exstp_certs_find(certs, s->info.identity,
                                              s->info.signing_key,
                                              c->valid_after, &why);
    if (cert == NULL) {
        s->info.status = why;
        return EXST_OK;
    }
    const bool sha1 = s->info.algorithm == 1;
    const uint8_t *digest = need_digest(
        ld, sha1 ? EXST_DIGEST_SIGNED_SHA1 : EXST_DIGEST_SIGNED_SHA256, err,
        &rc);
    if (digest == NULL)
        return rc;
    int v2 = exstp_rsa_check(cert->signing_key, sigbuf, siglen, digest,
                             sha1 ? 20 : 32);
    if (v2 == EXSTP_RSA_NOMEM)
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    s->info.status = v2 == EXSTP_RSA_GOOD       ? EXST_SIG_GOOD
                     : v2 == EXSTP_RSA_MISMATCH ? EXST_SIG_DIGEST_MISMATCH
                                                : EXST_SIG_BAD_SIGNATURE;
    return EXST_OK;
}

int exst_sigcheck_run(exst_sigcheck **out, const exst_consensus *c,
                      const exst_certs *certs, const exst_authorities *auth,
                      const exst_digests *digests, exst_error *err)
{
    exst_authorities *own_auth = NULL;
    exst_sigcheck *r = NULL;
    voter *voters = NULL;
    size_t n_voters = 0;
    lazy_digests ld;
    int rc;
    *out = NULL;
    memset(&ld, 0, sizeof ld);
    ld.c = c;
    if (digests != NULL)
        ld.d = *digests;
    if (auth == NULL) {
        if ((rc = exst_authorities_default(&own_auth, err)) != EXST_OK)
            return rc;
        auth = own_auth;
    }
    if ((rc = collect_voters(&voters, &n_voters, c, err)) != EXST_OK)
        goto fail;
    r = exstp_calloc(1, sizeof *r);
    if (r == NULL) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
        goto fail;
    }
    r->n_auth = auth->n;
    r->required = auth->n / 2 + 1;
    const char *p = c->doc + c->sig_off, *end = c->doc + c->len;
    unsigned long no = sig_line(c);
    size_t cap = 0;
    while (p < end) {
        if (r->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            sig *ns = exstp_realloc(r->sigs, ncap * sizeof *ns);
            if (ns == NULL) {
                rc = exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                        "out of memory");
                goto fail;
            }
            r->sigs = ns;
            cap = ncap;
        }
        if ((rc = check_one(&r->sigs[r->n], &p, &no, c, voters, n_voters,
                            r->sigs, r->n, certs, auth, &ld, err)) !=
            EXST_OK)
            goto fail;
        r->n++;
    }
    /* Good authorities, each counted once. */
    for (size_t i = 0; i < r->n; i++) {
        if (r->sigs[i].info.status != EXST_SIG_GOOD)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = r->sigs[j].info.status == EXST_SIG_GOOD &&
                   memcmp(r->sigs[j].info.identity, r->sigs[i].info.identity,
                          20) == 0;
        r->good += !seen;
    }
    exstp_free(voters);
    exst_authorities_free(own_auth);
    *out = r;
    return EXST_OK;
fail:
    exst_sigcheck_free(r);
    exstp_free(voters);
    exst_authorities_free(own_auth);
    return rc;
}

void exst_sigcheck_free(exst_sigcheck *r)
{
    if (r == NULL)
        return;
    exstp_free(r->sigs);
    exstp_free(r);
}

int exst_sigcheck_accepted(const exst_sigcheck *r)
{
    return r->good >= r->required;
}

size_t exst_sigcheck_checked(const exst_sigcheck *r)
{
    return r->n;
}

size_t exst_sigcheck_good(const exst_sigcheck *r)
{
    return r->good;
}

size_t exst_sigcheck_required(const exst_sigcheck *r)
{
    return r->required;
}

size_t exst_sigcheck_authorities(const exst_sigcheck *r)
{
    return r->n_auth;
}

void exst_sigcheck_get(const exst_sigcheck *r, size_t i, exst_sig_info *out)
{
    *out = r->sigs[i].info;
}

const char *exst_sig_status_str(int status)
{
    switch (status) {
    case EXST_SIG_GOOD: return "good";
    case EXST_SIG_UNKNOWN_AUTHORITY: return "unknown-authority";
    case EXST_SIG_NO_CERTIFICATE: return "no-certificate";
    case EXST_SIG_CERT_EXPIRED: return "certificate-expired";
    case EXST_SIG_CERT_NOT_YET_VALID: return "certificate-not-yet-valid";
    case EXST_SIG_BAD_SIGNATURE: return "bad-signature";
    case EXST_SIG_DIGEST_MISMATCH: return "digest-mismatch";
    case EXST_SIG_UNKNOWN_ALGORITHM: return "unknown-algorithm";
    case EXST_SIG_DUPLICATE: return "duplicate";
    default: return "unknown";
    }
}

/* ---- renderings ------------------------------------------------------ */

json_t *exstp_sigcheck_to_json(const exst_sigcheck *r)
{
    json_t *root = json_object();
    json_t *failed = json_array();
    if (root == NULL || failed == NULL) {
        json_decref(root);
        json_decref(failed);
        return NULL;
    }
    for (size_t i = 0; i < r->n; i++) {
        const exst_sig_info *s = &r->sigs[i].info;
        if (s->status == EXST_SIG_GOOD)
            continue;
        char hex[41];
        json_t *o = json_object();
        if (o == NULL ||
            json_object_set_new(o, "identity",
                                json_string(exst_fingerprint_hex(
                                    hex, s->identity))) != 0 ||
            json_object_set_new(o, "reason",
                                json_string(exst_sig_status_str(
                                    s->status))) != 0 ||
            json_array_append_new(failed, o) != 0) {
            json_decref(root);
            json_decref(failed);
            return NULL;
        }
    }
    if (json_object_set_new(root, "checked", json_integer((json_int_t)r->n)) ||
        json_object_set_new(root, "good", json_integer((json_int_t)r->good)) ||
        json_object_set_new(root, "required",
                            json_integer((json_int_t)r->required)) ||
        json_object_set_new(root, "failed", failed)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int exst_sigcheck_json(char **out, const exst_sigcheck *r, exst_error *err)
{
    *out = NULL;
    return exstp_json_finish(out, exstp_sigcheck_to_json(r), false, err);
}

int exst_sigcheck_message(char **out, const exst_sigcheck *r,
                          exst_error *err)
{
    exstp_buf b = {0};
    *out = NULL;
    exstp_buf_printf(&b, "%zu good signature%s from %zu trusted "
                     "authorit%s, %zu required",
                     r->good, r->good == 1 ? "" : "s", r->n_auth,
                     r->n_auth == 1 ? "y" : "ies", r->required);
    const char *sep = ": ";
    for (size_t i = 0; i < r->n; i++) {
        const sig *s = &r->sigs[i];
        if (s->info.status == EXST_SIG_GOOD)
            continue;
        char hex[41];
        exstp_buf_printf(&b, "%s%s%s%s %s", sep, s->nickname,
                         s->nickname[0] ? " " : "",
                         exst_fingerprint_hex(hex, s->info.identity),
                         exst_sig_status_str(s->info.status));
        sep = ", ";
    }
    exstp_buf_append(&b, "", 1);
    if (b.failed) {
        exstp_buf_free(&b);
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    }
    *out = b.data;
    return EXST_OK;
}
