/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_sigcheck.c - consensus signatures (lib/exst_sigcheck.c).
 *
 * On the project's generated test network (testdata/trust, made by
 * tools/mktestnet.py): both flavours verify; every failure reason comes
 * out where it should (a changed byte, a changed signature, an untrusted
 * authority, no / expired / not-yet-valid certificate, a repeated block,
 * an unknown algorithm) with the exact counts and the verdict; malformed
 * signature blocks are errors with line and column; the digests equal an
 * independent computation (OpenSSL's SHA-1, libsodium's SHA-256), with and
 * without a CollecTor @type line; the JSON and the message are exact;
 * exst_stage_run's report carries the check ("signatures", null without
 * one) and reuses the input digest it is given.
 *
 * On the real documents of ../shared/testdata ("Signature material" in its
 * README): every listed certificate/consensus pair gives the listed number
 * of good signatures, with tor's built-in authorities and with the
 * authorities of the document's own time; and a changed byte, a removed
 * signature, a certificate from another day, an untrusted authority list
 * and a truncated certificate file each fail with the right reason.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "exitstage.h"

void exstp_alloc_fail_after(long n);

static int setup(void **state)
{
    (void)state;
    return exst_init() == EXST_OK ? 0 : -1;
}

/* ---- helpers ----------------------------------------------------------- */

static char *read_project(const char *rel, size_t *len)
{
    char *path = tu_path(tu_project_dir(), rel);
    char *buf = NULL;
    assert_int_equal(tu_read_file(path, &buf, len), 0);
    free(path);
    return buf;
}

static char *read_shared(const char *rel, size_t *len)
{
    char *path = tu_path(tu_shared_dir(), rel);
    char *buf = NULL;
    assert_int_equal(tu_read_doc(path, &buf, len), 0);
    free(path);
    size_t m = 0; /* the live cached-certs files have CRLF endings */
    for (size_t i = 0; i < *len; i++)
        if (buf[i] != '\r')
            buf[m++] = buf[i];
    buf[m] = '\0';
    *len = m;
    return buf;
}

/* A new string: s with the first occurrence of old replaced by new. */
static char *replace(const char *s, const char *old, const char *new)
{
    const char *at = strstr(s, old);
    assert_non_null(at);
    size_t a = (size_t)(at - s), o = strlen(old), n = strlen(new);
    size_t rest = strlen(at + o);
    char *r = malloc(a + n + rest + 1);
    assert_non_null(r);
    memcpy(r, s, a);
    memcpy(r + a, new, n);
    memcpy(r + a + n, at + o, rest + 1);
    return r;
}

/* A new string: s without the directory-signature block that names id. */
static char *remove_sig(const char *s, const char *id)
{
    char needle[64];
    snprintf(needle, sizeof needle, "directory-signature %s", id);
    const char *at = strstr(s, needle);
    if (at == NULL) {
        snprintf(needle, sizeof needle, "directory-signature sha256 %s", id);
        at = strstr(s, needle);
    }
    assert_non_null(at);
    const char *end = strstr(at, "-----END SIGNATURE-----\n");
    assert_non_null(end);
    end += 24;
    size_t a = (size_t)(at - s), rest = strlen(end);
    char *r = malloc(a + rest + 1);
    assert_non_null(r);
    memcpy(r, s, a);
    memcpy(r + a, end, rest + 1);
    return r;
}

static exst_consensus *parse(const char *buf, size_t len)
{
    exst_consensus *c = NULL;
    exst_error err;
    exst_error_clear(&err);
    int rc = exst_consensus_parse(&c, buf, len, "consensus", NULL, &err);
    if (rc != EXST_OK)
        fail_msg("parse: %lu:%lu %s", err.line, err.column, err.message);
    return c;
}

/* A set from project (trust/...) files, NULL-terminated. */
static exst_certs *certs_of(const char *const *files)
{
    exst_certs *set = NULL;
    exst_error err;
    assert_int_equal(exst_certs_new(&set, NULL, &err), EXST_OK);
    for (size_t i = 0; files[i] != NULL; i++) {
        size_t len;
        char *buf = read_project(files[i], &len);
        assert_int_equal(exst_certs_add(set, buf, len, files[i], &err),
                         EXST_OK);
        free(buf);
    }
    return set;
}

static exst_authorities *auth_of(const char *text)
{
    exst_authorities *a = NULL;
    exst_error err;
    exst_error_clear(&err);
    if (exst_authorities_parse(&a, text, strlen(text), "authorities",
                               &err) != EXST_OK)
        fail_msg("authorities: %s", err.message);
    return a;
}

/* The authorities of a consensus's own dir-source lines. */
static exst_authorities *auth_of_doc(const char *doc)
{
    char list[4096] = "";
    size_t n = 0;
    for (const char *p = strstr(doc, "\ndir-source "); p != NULL;
         p = strstr(p + 1, "\ndir-source ")) {
        const char *id = strchr(p + 12, ' ') + 1;
        assert_true(n + 42 < sizeof list);
        memcpy(list + n, id, 40);
        list[n + 40] = '\n';
        n += 41;
        list[n] = '\0';
    }
    return auth_of(list);
}

static exst_sigcheck *check(const exst_consensus *c, const exst_certs *certs,
                            const exst_authorities *auth)
{
    exst_sigcheck *r = NULL;
    exst_error err;
    exst_error_clear(&err);
    int rc = exst_sigcheck_run(&r, c, certs, auth, NULL, &err);
    if (rc != EXST_OK)
        fail_msg("sigcheck: %d %lu:%lu %s", rc, err.line, err.column,
                 err.message);
    return r;
}

/* The status of the signature by the authority with fingerprint fp. */
static int status_of(const exst_sigcheck *r, const char *fp)
{
    uint8_t id[20];
    assert_int_equal(exst_fingerprint_parse(id, fp), EXST_OK);
    for (size_t i = 0; i < exst_sigcheck_checked(r); i++) {
        exst_sig_info s;
        exst_sigcheck_get(r, i, &s);
        if (memcmp(s.identity, id, 20) == 0)
            return s.status;
    }
    fail_msg("no signature by %s", fp);
    return -1;
}

/* Every signature has this status. */
static void all_are(const exst_sigcheck *r, int status)
{
    for (size_t i = 0; i < exst_sigcheck_checked(r); i++) {
        exst_sig_info s;
        exst_sigcheck_get(r, i, &s);
        if (s.status != status)
            fail_msg("signature %zu: %s, expected %s", i,
                     exst_sig_status_str(s.status),
                     exst_sig_status_str(status));
    }
}

static void counts(const exst_sigcheck *r, size_t checked, size_t good,
                   size_t required, int accepted)
{
    if (exst_sigcheck_checked(r) != checked || exst_sigcheck_good(r) != good ||
        exst_sigcheck_required(r) != required ||
        !exst_sigcheck_accepted(r) != !accepted) {
        char *msg = NULL;
        exst_error err;
        assert_int_equal(exst_sigcheck_message(&msg, r, &err), EXST_OK);
        fail_msg("checked %zu good %zu required %zu accepted %d, expected "
                 "%zu %zu %zu %d: %s",
                 exst_sigcheck_checked(r), exst_sigcheck_good(r),
                 exst_sigcheck_required(r), exst_sigcheck_accepted(r),
                 checked, good, required, accepted, msg);
    }
}

/* The fingerprint of the (single) certificate in a project file. */
static void cert_id(const char *rel, char hex[41])
{
    const char *files[] = {rel, NULL};
    exst_certs *set = certs_of(files);
    exst_cert_info ci;
    exst_certs_get(set, 0, &ci);
    exst_fingerprint_hex(hex, ci.identity);
    exst_certs_free(set);
}

static const char *const all_certs[] = {"trust/certs", NULL};

/* ---- the generated test network --------------------------------------- */

static void test_both_flavours_verify(void **state)
{
    (void)state;
    static const char *docs[] = {"trust/consensus-ns",
                                 "trust/consensus-microdesc"};
    exst_certs *certs = certs_of(all_certs);
    size_t alen;
    char *atext = read_project("trust/authorities", &alen);
    exst_authorities *auth = auth_of(atext);
    assert_int_equal(exst_authorities_count(auth), 4);
    for (int f = 0; f < 2; f++) {
        size_t len;
        char *buf = read_project(docs[f], &len);
        exst_consensus *c = parse(buf, len);
        exst_sigcheck *r = check(c, certs, auth);
        counts(r, 4, 4, 3, 1);
        all_are(r, EXST_SIG_GOOD);
        assert_int_equal(exst_sigcheck_authorities(r), 4);
        for (size_t i = 0; i < 4; i++) {
            exst_sig_info s;
            exst_sigcheck_get(r, i, &s);
            assert_int_equal(s.algorithm, f == 0 ? 1 : 256);
            assert_int_equal(s.line, 58 + 6 * i);
        }
        exst_sigcheck_free(r);
        exst_consensus_free(c);
        free(buf);
    }
    exst_authorities_free(auth);
    free(atext);
    exst_certs_free(certs);
}

/* CollecTor's @type line is not part of the signed portion. */
static void test_type_annotation(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_project("trust/consensus-microdesc", &len);
    char *typed = malloc(len + 64);
    assert_non_null(typed);
    int k = snprintf(typed, 64, "@type network-status-microdesc-consensus-3 "
                                "1.0\n");
    memcpy(typed + k, buf, len + 1);
    exst_consensus *c = parse(typed, len + (size_t)k);
    exst_certs *certs = certs_of(all_certs);
    size_t alen;
    char *atext = read_project("trust/authorities", &alen);
    exst_authorities *auth = auth_of(atext);
    exst_sigcheck *r = check(c, certs, auth);
    counts(r, 4, 4, 3, 1);
    exst_sigcheck_free(r);
    exst_authorities_free(auth);
    free(atext);
    exst_certs_free(certs);
    exst_consensus_free(c);
    free(typed);
    free(buf);
}

/* One changed byte anywhere in the signed part: every signature is a
 * valid RSA signature by its key, over other bytes. */
static void test_changed_byte(void **state)
{
    (void)state;
    static const char *docs[] = {"trust/consensus-ns",
                                 "trust/consensus-microdesc"};
    exst_certs *certs = certs_of(all_certs);
    size_t alen;
    char *atext = read_project("trust/authorities", &alen);
    exst_authorities *auth = auth_of(atext);
    for (int f = 0; f < 2; f++) {
        size_t len;
        char *buf = read_project(docs[f], &len);
        char *bad = replace(buf, "w Bandwidth=8000", "w Bandwidth=8001");
        exst_consensus *c = parse(bad, len);
        exst_sigcheck *r = check(c, certs, auth);
        counts(r, 4, 0, 3, 0);
        all_are(r, EXST_SIG_DIGEST_MISMATCH);
        exst_sigcheck_free(r);
        exst_consensus_free(c);
        free(bad);
        free(buf);
    }
    exst_authorities_free(auth);
    free(atext);
    exst_certs_free(certs);
}

/* A changed signature, removed ones, a repeated one, an unknown
 * algorithm. */
static void test_signature_blocks(void **state)
{
    (void)state;
    size_t len, alen;
    char *buf = read_project("trust/consensus-ns", &len);
    char *atext = read_project("trust/authorities", &alen);
    exst_authorities *auth = auth_of(atext);
    exst_certs *certs = certs_of(all_certs);
    /* The first signature's identity and first base64 line. */
    const char *s1 = strstr(buf, "\ndirectory-signature ") + 21;
    char id1[41], id2[41];
    memcpy(id1, s1, 40);
    id1[40] = '\0';
    const char *s2 = strstr(s1, "\ndirectory-signature ") + 21;
    memcpy(id2, s2, 40);
    id2[40] = '\0';
    const char *b64 = strstr(s1, "-----BEGIN SIGNATURE-----\n") + 26;
    char old[9], new[9];
    memcpy(old, b64, 8);
    old[8] = '\0';
    memcpy(new, old, 9);
    new[4] = new[4] == 'A' ? 'B' : 'A';

    char *badsig = replace(buf, old, new);
    exst_consensus *c = parse(badsig, len);
    exst_sigcheck *r = check(c, certs, auth);
    counts(r, 4, 3, 3, 1);
    assert_int_equal(status_of(r, id1), EXST_SIG_BAD_SIGNATURE);
    exst_sigcheck_free(r);
    exst_consensus_free(c);

    char *less = remove_sig(buf, id1);
    c = parse(less, strlen(less));
    r = check(c, certs, auth);
    counts(r, 3, 3, 3, 1);
    exst_sigcheck_free(r);
    exst_consensus_free(c);
    char *fewer = remove_sig(less, id2);
    c = parse(fewer, strlen(fewer));
    r = check(c, certs, auth);
    counts(r, 2, 2, 3, 0);
    exst_sigcheck_free(r);
    exst_consensus_free(c);

    /* The first block again at the end: ignored, as tor ignores it. */
    const char *blk = strstr(buf, "directory-signature ");
    const char *blk_end = strstr(blk, "-----END SIGNATURE-----\n") + 24;
    char *twice = malloc(len + (size_t)(blk_end - blk) + 1);
    memcpy(twice, buf, len);
    memcpy(twice + len, blk, (size_t)(blk_end - blk));
    twice[len + (size_t)(blk_end - blk)] = '\0';
    c = parse(twice, strlen(twice));
    r = check(c, certs, auth);
    counts(r, 5, 4, 3, 1);
    exst_sig_info si;
    exst_sigcheck_get(r, 4, &si);
    assert_int_equal(si.status, EXST_SIG_DUPLICATE);
    assert_int_equal(si.line, 82);
    exst_sigcheck_free(r);
    exst_consensus_free(c);

    /* An algorithm tor does not check for consensuses: skipped. */
    char line[128];
    snprintf(line, sizeof line, "directory-signature %s", id2);
    char line3[128];
    snprintf(line3, sizeof line3, "directory-signature sha3-256 %s", id2);
    char *alg = replace(buf, line, line3);
    c = parse(alg, strlen(alg));
    r = check(c, certs, auth);
    counts(r, 4, 3, 3, 1);
    assert_int_equal(status_of(r, id2), EXST_SIG_UNKNOWN_ALGORITHM);
    exst_sigcheck_get(r, 1, &si);
    assert_int_equal(si.algorithm, 0);
    exst_sigcheck_free(r);
    exst_consensus_free(c);

    free(alg);
    free(twice);
    free(fewer);
    free(less);
    free(badsig);
    exst_certs_free(certs);
    exst_authorities_free(auth);
    free(atext);
    free(buf);
}

/* Trust and certificates: an authority left out of the list, an empty
 * set, certificates expired or not yet valid at valid-after (2024-01-01
 * 12:00), and a valid certificate winning over an expired one. */
static void test_trust_and_certificates(void **state)
{
    (void)state;
    size_t len, alen;
    char *buf = read_project("trust/consensus-ns", &len);
    char *atext = read_project("trust/authorities", &alen);
    exst_consensus *c = parse(buf, len);
    char a1[41], a2[41], a4[41];
    cert_id("trust/certs-expired", a1);       /* testauth1 */
    cert_id("trust/certs-not-yet-valid", a2); /* testauth2 */
    const char *l4 = strstr(atext, "# testauth4");
    assert_non_null(l4);
    memcpy(a4, l4 - 41, 40);
    a4[40] = '\0';

    /* Without testauth4: 3 trusted authorities, 2 required. */
    char *three = replace(atext, a4, "#");
    exst_authorities *auth3 = auth_of(three);
    exst_certs *certs = certs_of(all_certs);
    exst_sigcheck *r = check(c, certs, auth3);
    counts(r, 4, 3, 2, 1);
    assert_int_equal(status_of(r, a4), EXST_SIG_UNKNOWN_AUTHORITY);
    exst_sigcheck_free(r);
    exst_certs_free(certs);

    exst_authorities *auth = auth_of(atext);
    r = check(c, NULL, auth);
    counts(r, 4, 0, 3, 0);
    all_are(r, EXST_SIG_NO_CERTIFICATE);
    exst_sigcheck_free(r);

    static const char *const dated[] = {"trust/certs-expired",
                                        "trust/certs-not-yet-valid", NULL};
    certs = certs_of(dated);
    r = check(c, certs, auth);
    counts(r, 4, 0, 3, 0);
    assert_int_equal(status_of(r, a1), EXST_SIG_CERT_EXPIRED);
    assert_int_equal(status_of(r, a2), EXST_SIG_CERT_NOT_YET_VALID);
    assert_int_equal(status_of(r, a4), EXST_SIG_NO_CERTIFICATE);
    exst_sigcheck_free(r);
    exst_certs_free(certs);

    static const char *const both[] = {"trust/certs-expired", "trust/certs",
                                       NULL};
    certs = certs_of(both);
    assert_int_equal(exst_certs_count(certs), 5);
    r = check(c, certs, auth);
    counts(r, 4, 4, 3, 1);
    exst_sigcheck_free(r);
    exst_certs_free(certs);

    exst_authorities_free(auth);
    exst_authorities_free(auth3);
    free(three);
    exst_consensus_free(c);
    free(atext);
    free(buf);
}

/* Signature blocks tor refuses outright: errors with line and column. */
static void test_malformed_blocks(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_project("trust/consensus-ns", &len);
    exst_certs *certs = certs_of(all_certs);
    const char *s1 = strstr(buf, "\ndirectory-signature ") + 21;
    char id1[41];
    memcpy(id1, s1, 40);
    id1[40] = '\0';
    char from[128], to[128];
    /* An identity that is not a dir-source. */
    snprintf(from, sizeof from, "directory-signature %s", id1);
    snprintf(to, sizeof to, "directory-signature %s",
             "0123456789ABCDEF0123456789ABCDEF01234567");
    char *d1 = replace(buf, from, to);
    exst_consensus *c = parse(d1, strlen(d1));
    exst_sigcheck *r = NULL;
    exst_error err;
    exst_error_clear(&err);
    snprintf(err.source, sizeof err.source, "consensus");
    assert_int_equal(exst_sigcheck_run(&r, c, certs, NULL, NULL, &err),
                     EXST_ERR_SEMANTIC);
    assert_null(r);
    assert_int_equal(err.line, 58);
    assert_int_equal(err.column, 21);
    assert_string_equal(err.source, "consensus");
    assert_string_equal(err.keyword, "directory-signature");
    assert_string_equal(err.message, "signature by an authority that is not "
                                     "a dir-source of this consensus");
    exst_consensus_free(c);
    free(d1);

    /* A signing-key digest that is not hex. */
    const char *sk = s1 + 41;
    char skold[41];
    memcpy(skold, sk, 40);
    skold[40] = '\0';
    char *d2 = replace(buf, skold, "XYZ");
    c = parse(d2, strlen(d2));
    exst_error_clear(&err);
    assert_int_equal(exst_sigcheck_run(&r, c, certs, NULL, NULL, &err),
                     EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 58);
    assert_int_equal(err.column, 62);
    assert_non_null(strstr(err.message, "signing-key digest"));
    exst_consensus_free(c);
    free(d2);

    /* A signature of 96 bytes (tor wants 128 to 512). */
    const char *body = strstr(s1, "-----BEGIN SIGNATURE-----\n") + 26;
    const char *bend = strstr(body, "-----END");
    char oldbody[400];
    memcpy(oldbody, body, (size_t)(bend - body));
    oldbody[bend - body] = '\0';
    char *d3 = replace(buf, oldbody,
                       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                       "AAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                       "AAAAAAAAAAAAAAAAAA\n");
    c = parse(d3, strlen(d3));
    exst_error_clear(&err);
    assert_int_equal(exst_sigcheck_run(&r, c, certs, NULL, NULL, &err),
                     EXST_ERR_SEMANTIC);
    assert_int_equal(err.line, 59);
    assert_int_equal(err.column, 1);
    assert_non_null(strstr(err.message, "128 to 512 bytes"));
    exst_consensus_free(c);
    free(d3);

    exst_certs_free(certs);
    free(buf);
}

/* ---- digests ------------------------------------------------------------ */

static void sha1_ossl(uint8_t out[20], const void *p, size_t n)
{
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha1(), NULL), 1);
    assert_int_equal(len, 20);
}

static void test_digests(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_project("trust/consensus-ns", &len);
    for (int typed = 0; typed < 2; typed++) {
        static const char type[] = "@type network-status-consensus-3 1.0\n";
        const size_t tl = typed ? sizeof type - 1 : 0;
        char *doc = malloc(len + tl + 1);
        memcpy(doc, type, tl);
        memcpy(doc + tl, buf, len + 1);
        exst_consensus *c = parse(doc, len + tl);
        const char *start = doc + tl;
        const char *end = strchr(strstr(doc, "\ndirectory-signature") + 1,
                                 ' ') + 1;
        uint8_t sha1[20], sha256[32], whole[32];
        sha1_ossl(sha1, start, (size_t)(end - start));
        crypto_hash_sha256(sha256, (const unsigned char *)start,
                           (size_t)(end - start));
        crypto_hash_sha256(whole, (const unsigned char *)doc, len + tl);
        exst_digests d;
        exst_error err;
        assert_int_equal(exst_consensus_digests(&d, c,
                                                EXST_DIGEST_INPUT_SHA256 |
                                                    EXST_DIGEST_SIGNED_SHA1 |
                                                    EXST_DIGEST_SIGNED_SHA256,
                                                &err),
                         EXST_OK);
        assert_int_equal(d.have, 7);
        assert_memory_equal(d.signed_sha1, sha1, 20);
        assert_memory_equal(d.signed_sha256, sha256, 32);
        assert_memory_equal(d.input_sha256, whole, 32);
        /* Each on its own gives the same. */
        assert_int_equal(exst_consensus_digests(&d, c,
                                                EXST_DIGEST_SIGNED_SHA256,
                                                &err), EXST_OK);
        assert_int_equal(d.have, EXST_DIGEST_SIGNED_SHA256);
        assert_memory_equal(d.signed_sha256, sha256, 32);
        assert_int_equal(exst_consensus_digests(&d, c,
                                                EXST_DIGEST_INPUT_SHA256,
                                                &err), EXST_OK);
        assert_int_equal(d.have, EXST_DIGEST_INPUT_SHA256);
        assert_memory_equal(d.input_sha256, whole, 32);
        exst_consensus_free(c);
        free(doc);
    }
    free(buf);
}

/* Digests handed in are used, not recomputed: wrong ones make every
 * signature a digest mismatch. */
static void test_digests_passed_in(void **state)
{
    (void)state;
    size_t len, alen;
    char *buf = read_project("trust/consensus-ns", &len);
    char *atext = read_project("trust/authorities", &alen);
    exst_consensus *c = parse(buf, len);
    exst_certs *certs = certs_of(all_certs);
    exst_authorities *auth = auth_of(atext);
    exst_digests d;
    exst_error err;
    assert_int_equal(exst_consensus_digests(&d, c, EXST_DIGEST_SIGNED_SHA1,
                                            &err), EXST_OK);
    exst_sigcheck *r = NULL;
    assert_int_equal(exst_sigcheck_run(&r, c, certs, auth, &d, &err),
                     EXST_OK);
    counts(r, 4, 4, 3, 1);
    exst_sigcheck_free(r);
    d.signed_sha1[0] ^= 1;
    assert_int_equal(exst_sigcheck_run(&r, c, certs, auth, &d, &err),
                     EXST_OK);
    counts(r, 4, 0, 3, 0);
    all_are(r, EXST_SIG_DIGEST_MISMATCH);
    exst_sigcheck_free(r);
    exst_authorities_free(auth);
    exst_certs_free(certs);
    exst_consensus_free(c);
    free(atext);
    free(buf);
}

/* ---- renderings ------------------------------------------------------- */

/* The report of exst_stage_run carries the check (SPEC 8) and takes the
 * input's SHA-256 from the digests it is given instead of hashing again. */
static void test_stage_report(void **state)
{
    (void)state;
    exst_certs *certs = certs_of(all_certs);
    size_t alen, len;
    char *atext = read_project("trust/authorities", &alen);
    exst_authorities *auth = auth_of(atext);
    char *buf = read_project("trust/consensus-microdesc", &len);
    exst_consensus *c = parse(buf, len);
    exst_digests d;
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_consensus_digests(&d, c,
                                            EXST_DIGEST_INPUT_SHA256 |
                                                EXST_DIGEST_SIGNED_SHA256,
                                            &err),
                     EXST_OK);
    exst_sigcheck *r = NULL;
    assert_int_equal(exst_sigcheck_run(&r, c, certs, auth, &d, &err),
                     EXST_OK);
    char *sig_json = NULL;
    assert_int_equal(exst_sigcheck_json(&sig_json, r, &err), EXST_OK);
    char hex[65], want[128];
    sodium_bin2hex(hex, sizeof hex, d.input_sha256, 32);

    for (int pass = 0; pass < 3; pass++) {
        exst_history *h = NULL;
        assert_int_equal(exst_history_new(&h, EXST_CLOCK_EXIT), EXST_OK);
        exst_stage_opts o;
        memset(&o, 0, sizeof o);
        o.produce = EXST_STAGE_REPORT;
        exst_digests fake = d;
        memset(fake.input_sha256, 0xab, 32);
        if (pass == 1) {
            o.signatures = r;
            o.digests = &d;
        } else if (pass == 2) {
            o.digests = &fake; /* proves the digest is taken, not made */
        }
        exst_stage_result *res = NULL;
        assert_int_equal(exst_stage_run(&res, h, c, &o, &err), EXST_OK);
        exst_span rep = exst_stage_report(res);
        char *text = malloc(rep.len + 1);
        assert_non_null(text);
        memcpy(text, rep.ptr, rep.len);
        text[rep.len] = '\0';
        snprintf(want, sizeof want, "\"sha256\": \"%s\"",
                 pass == 2 ? "abababababababababababababababababababababababab"
                             "abababababababab"
                           : hex);
        assert_non_null(strstr(text, want));
        if (pass == 1) {
            /* The object exst_sigcheck_json gives, indented one level. */
            assert_non_null(strstr(text, "\"signatures\": {\n"
                                         "    \"checked\": 4,\n"
                                         "    \"failed\": [],\n"
                                         "    \"good\": 4,\n"
                                         "    \"required\": 3\n"
                                         "  },"));
            assert_non_null(strstr(sig_json, "\"good\": 4"));
        } else {
            assert_non_null(strstr(text, "\"signatures\": null,"));
        }
        free(text);
        exst_stage_result_free(res);
        exst_history_free(h);
    }
    exst_free(sig_json);
    exst_sigcheck_free(r);
    exst_consensus_free(c);
    free(buf);
    exst_authorities_free(auth);
    free(atext);
    exst_certs_free(certs);
}

static void test_json_and_message(void **state)
{
    (void)state;
    size_t len, alen;
    char *buf = read_project("trust/consensus-ns", &len);
    char *atext = read_project("trust/authorities", &alen);
    exst_consensus *c = parse(buf, len);
    static const char *const dated[] = {"trust/certs-expired", NULL};
    exst_certs *certs = certs_of(dated);
    exst_authorities *auth = auth_of(atext);
    exst_sigcheck *r = check(c, certs, auth);
    counts(r, 4, 0, 3, 0);

    /* Expected texts, built from the document's own signature order. */
    char want_json[2048], want_msg[1024];
    size_t jn = (size_t)snprintf(want_json, sizeof want_json,
                                 "{\n  \"checked\": 4,\n  \"failed\": [\n");
    size_t mn = (size_t)snprintf(want_msg, sizeof want_msg,
                                 "0 good signatures from 4 trusted "
                                 "authorities, 3 required");
    for (size_t i = 0; i < 4; i++) {
        exst_sig_info s;
        char hex[41];
        exst_sigcheck_get(r, i, &s);
        exst_fingerprint_hex(hex, s.identity);
        const char *nick = strstr(buf, hex) - 10; /* "testauthN " */
        jn += (size_t)snprintf(want_json + jn, sizeof want_json - jn,
                               "    {\n      \"identity\": \"%s\",\n"
                               "      \"reason\": \"%s\"\n    }%s\n",
                               hex, exst_sig_status_str(s.status),
                               i < 3 ? "," : "");
        mn += (size_t)snprintf(want_msg + mn, sizeof want_msg - mn,
                               "%s%.9s %s %s", i ? ", " : ": ", nick, hex,
                               exst_sig_status_str(s.status));
    }
    snprintf(want_json + jn, sizeof want_json - jn,
             "  ],\n  \"good\": 0,\n  \"required\": 3\n}\n");
    char *json = NULL, *msg = NULL;
    exst_error err;
    assert_int_equal(exst_sigcheck_json(&json, r, &err), EXST_OK);
    assert_string_equal(json, want_json);
    assert_int_equal(exst_sigcheck_message(&msg, r, &err), EXST_OK);
    assert_string_equal(msg, want_msg);
    assert_non_null(strstr(msg, "certificate-expired"));
    exst_free(json);
    exst_free(msg);
    exst_sigcheck_free(r);

    /* All good: an empty failed list, a message without a colon. */
    exst_certs_free(certs);
    certs = certs_of(all_certs);
    r = check(c, certs, auth);
    assert_int_equal(exst_sigcheck_json(&json, r, &err), EXST_OK);
    assert_string_equal(json, "{\n  \"checked\": 4,\n  \"failed\": [],\n"
                              "  \"good\": 4,\n  \"required\": 3\n}\n");
    assert_int_equal(exst_sigcheck_message(&msg, r, &err), EXST_OK);
    assert_string_equal(msg, "4 good signatures from 4 trusted authorities, "
                             "3 required");
    exst_free(json);
    exst_free(msg);
    exst_sigcheck_free(r);

    exst_authorities_free(auth);
    exst_certs_free(certs);
    exst_consensus_free(c);
    free(atext);
    free(buf);
}

static void test_status_names(void **state)
{
    (void)state;
    static const char *names[] = {
        "good", "unknown-authority", "no-certificate", "certificate-expired",
        "certificate-not-yet-valid", "bad-signature", "digest-mismatch",
        "unknown-algorithm", "duplicate"};
    for (int i = 0; i < 9; i++)
        assert_string_equal(exst_sig_status_str(i), names[i]);
    assert_string_equal(exst_sig_status_str(99), "unknown");
}

/* ---- authority lists ---------------------------------------------------- */

static void test_default_authorities(void **state)
{
    (void)state;
    exst_authorities *a = NULL;
    exst_error err;
    char hex[41];
    assert_int_equal(exst_authorities_default(&a, &err), EXST_OK);
    assert_int_equal(exst_authorities_count(a), 9);
    assert_string_equal(exst_fingerprint_hex(hex, exst_authorities_id(a, 0)),
                        "0232AF901C31A04EE9848595AF9BB7620D4C5B2E");
    assert_string_equal(exst_fingerprint_hex(hex, exst_authorities_id(a, 8)),
                        "F533C81CEF0BC0267857C99B2F471ADF249FA232");
    exst_authorities_free(a);
}

static void test_authorities_parse(void **state)
{
    (void)state;
    exst_authorities *a = auth_of(
        "# comment\n"
        "\n"
        "  f533c81cef0bc0267857c99b2f471adf249fa232   # moria1\n"
        "0232AF901C31A04EE9848595AF9BB7620D4C5B2E#dannenberg\n"
        "23D15D965BC35114467363C165C4F724B64B4F66");
    char hex[41];
    assert_int_equal(exst_authorities_count(a), 3);
    assert_string_equal(exst_fingerprint_hex(hex, exst_authorities_id(a, 2)),
                        "F533C81CEF0BC0267857C99B2F471ADF249FA232");
    exst_authorities_free(a);

    static const struct {
        const char *text;
        int code;
        unsigned long line, col;
        const char *msg;
    } bad[] = {
        {"", EXST_ERR_SEMANTIC, 1, 1, "no authority fingerprint"},
        {"# only a comment\n\n", EXST_ERR_SEMANTIC, 1, 1,
         "no authority fingerprint"},
        {"0232AF901C31A04EE9848595AF9BB7620D4C5B2\n", EXST_ERR_SYNTAX, 1, 1,
         "expected a v3 identity fingerprint of 40 hex digits"},
        {"#\n 0232AF901C31A04EE9848595AF9BB7620D4C5B2X\n", EXST_ERR_SYNTAX,
         2, 2, "found \"0232AF901C31A04EE9848595AF9BB7620D4C5B2X\""},
        {"0232AF901C31A04EE9848595AF9BB7620D4C5B2E moria1\n",
         EXST_ERR_SYNTAX, 1, 42, "unexpected text after the fingerprint"},
        {"0232AF901C31A04EE9848595AF9BB7620D4C5B2E\n\n"
         "0232af901c31a04ee9848595af9bb7620d4c5b2e\n",
         EXST_ERR_SEMANTIC, 3, 1, "authority listed twice (first on line 1)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        exst_error err;
        exst_error_clear(&err);
        a = NULL;
        int rc = exst_authorities_parse(&a, bad[i].text, strlen(bad[i].text),
                                        "list", &err);
        if (rc != bad[i].code || err.line != bad[i].line ||
            err.column != bad[i].col || !strstr(err.message, bad[i].msg))
            fail_msg("case %zu: %d %lu:%lu %s", i, rc, err.line, err.column,
                     err.message);
        assert_null(a);
        assert_string_equal(err.source, "list");
    }
    exst_error err;
    assert_int_equal(exst_authorities_load(&a, "/nonexistent/list", &err),
                     EXST_ERR_IO);
    assert_null(a);
}

/* ---- real documents ---------------------------------------------------- */

#define CERTS_2022 "samples/authority-certs-2022-11-safe_tor"
#define CERTS_2024 "samples/authority-certs-2024-05-Tor-VPN"
#define NS_2022 "live/consensus-ns-2022-11-19-10-00-00.zst"

static exst_certs *real_certs(const char *rel)
{
    size_t len;
    char *buf = read_shared(rel, &len);
    exst_certs *set = NULL;
    exst_error err;
    assert_int_equal(exst_certs_new(&set, NULL, &err), EXST_OK);
    assert_int_equal(exst_certs_add(set, buf, len, rel, &err), EXST_OK);
    free(buf);
    return set;
}

/* README "Signature material", pair by pair. */
static void test_real_pairs(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    static const struct {
        const char *certs, *doc;
        /* with the document's own dir-sources as the authorities */
        size_t checked, good, required;
        int accepted;
        /* with tor's built-in authorities (live network only) */
        int builtin;
        size_t b_good;
        int b_accepted;
    } pairs[] = {
        {CERTS_2022, NS_2022, 8, 8, 5, 1, 1, 5, 1},
        {CERTS_2022, "live/consensus-microdesc-2022-11-19-10-00-00.zst", 8, 8,
         5, 1, 1, 5, 1},
        {CERTS_2022,
         "live/consensus-microdesc-2022-11-18-15-00-00-unverified.zst", 8, 8,
         5, 1, 1, 5, 1},
        {CERTS_2024, "live/consensus-microdesc-2024-05-17-17-00-00.zst", 8, 6,
         5, 1, 1, 6, 1},
        {"samples/stem-testnet-cached-certs-2017-05-25",
         "samples/stem-testnet-cached-consensus-2017-05-25", 2, 2, 2, 1, 0, 0,
         0},
        {"samples/arti-testnet-authcerts2-2020-08-07",
         "samples/arti-testnet-mdconsensus1-2020-08-07", 3, 3, 2, 1, 0, 0, 0},
        {"samples/arti-testnet-authcerts2-2020-08-07",
         "samples/arti-testnet-nsconsensus1-2021-03-26", 3, 0, 2, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        exst_certs *certs = real_certs(pairs[i].certs);
        size_t len;
        char *buf = read_shared(pairs[i].doc, &len);
        exst_consensus *c = parse(buf, len);
        exst_authorities *own = auth_of_doc(buf);
        exst_sigcheck *r = check(c, certs, own);
        print_message("%s: %zu good of %zu\n", pairs[i].doc,
                      exst_sigcheck_good(r), exst_sigcheck_checked(r));
        counts(r, pairs[i].checked, pairs[i].good, pairs[i].required,
               pairs[i].accepted);
        exst_sigcheck_free(r);
        if (pairs[i].builtin) {
            r = check(c, certs, NULL);
            counts(r, pairs[i].checked, pairs[i].b_good, 5,
                   pairs[i].b_accepted);
            exst_sigcheck_free(r);
        }
        exst_authorities_free(own);
        exst_consensus_free(c);
        free(buf);
        exst_certs_free(certs);
    }
}

/* The 2022 ns document against today's authorities: the three that have
 * since changed identity are unknown; the 2024 one lacks certificates
 * for the two new identities. */
static void test_real_reasons(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    exst_certs *certs = real_certs(CERTS_2022);
    size_t len;
    char *buf = read_shared(NS_2022, &len);
    exst_consensus *c = parse(buf, len);
    exst_sigcheck *r = check(c, certs, NULL);
    assert_int_equal(status_of(r, "14C131DFC5C6F93646BE72FA1401C02A8DF2E8B4"),
                     EXST_SIG_UNKNOWN_AUTHORITY); /* tor26 before 2024 */
    assert_int_equal(status_of(r, "D586D18309DED4CD6D57C18FDB97EFA96D330566"),
                     EXST_SIG_UNKNOWN_AUTHORITY); /* moria1 before 2023 */
    assert_int_equal(status_of(r, "EFCBE720AB3A82B99F9E953CD5BF50F7EEFC7B97"),
                     EXST_SIG_UNKNOWN_AUTHORITY); /* Faravahar before 2024 */
    assert_int_equal(status_of(r, "23D15D965BC35114467363C165C4F724B64B4F66"),
                     EXST_SIG_GOOD);
    exst_sigcheck_free(r);
    exst_consensus_free(c);
    free(buf);
    exst_certs_free(certs);

    certs = real_certs(CERTS_2024);
    buf = read_shared("live/consensus-microdesc-2024-05-17-17-00-00.zst",
                      &len);
    c = parse(buf, len);
    r = check(c, certs, NULL);
    assert_int_equal(status_of(r, "2F3DF9CA0E5D36F2685A2DA67184EB8DCB8CBA8C"),
                     EXST_SIG_NO_CERTIFICATE); /* tor26 */
    assert_int_equal(status_of(r, "F533C81CEF0BC0267857C99B2F471ADF249FA232"),
                     EXST_SIG_NO_CERTIFICATE); /* moria1 */
    exst_sigcheck_free(r);
    exst_consensus_free(c);
    free(buf);
    exst_certs_free(certs);
}

static void test_real_failures(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    exst_certs *certs = real_certs(CERTS_2022);
    size_t len;
    char *buf = read_shared(NS_2022, &len);
    exst_authorities *own = auth_of_doc(buf);

    /* One changed byte in the signed part. */
    char *w = strstr(buf, "\nw Bandwidth=") + 13;
    char saved = *w;
    *w = *w == '9' ? '8' : (char)(*w + 1);
    exst_consensus *c = parse(buf, len);
    exst_sigcheck *r = check(c, certs, own);
    counts(r, 8, 0, 5, 0);
    all_are(r, EXST_SIG_DIGEST_MISMATCH);
    exst_sigcheck_free(r);
    exst_consensus_free(c);
    *w = saved;

    /* A removed signature: with today's authorities only five of the
     * 2022 signers count, exactly the five required; one fewer fails. */
    char *less = remove_sig(buf, "23D15D965BC35114467363C165C4F724B64B4F66");
    c = parse(less, strlen(less));
    r = check(c, certs, NULL);
    counts(r, 7, 4, 5, 0);
    exst_sigcheck_free(r);
    exst_consensus_free(c);
    free(less);

    /* An untrusted authority list: the arti test network's. */
    exst_authorities *arti = auth_of("5696AB38CB3852AFA476A5C07B2D4788963D5567\n"
                                     "5A23BA701776C9C1AB1C06E734E92AB3D5350D64\n"
                                     "7C47DCB4A90E2C2B7C7AD27BD641D038CF5D7EBE\n");
    c = parse(buf, len);
    r = check(c, certs, arti);
    counts(r, 8, 0, 2, 0);
    all_are(r, EXST_SIG_UNKNOWN_AUTHORITY);
    exst_sigcheck_free(r);
    exst_consensus_free(c);
    exst_authorities_free(arti);
    exst_authorities_free(own);
    free(buf);

    /* Certificates from another day: Faravahar's 2021 signing key,
     * re-certified in February 2022, was not yet certified by the 2022
     * certificate at the 2021-08-29 consensus. */
    buf = read_shared("live/consensus-ns-2021-08-29-19-00-00.zst", &len);
    own = auth_of_doc(buf);
    c = parse(buf, len);
    r = check(c, certs, own);
    assert_int_equal(exst_sigcheck_good(r), 0);
    assert_false(exst_sigcheck_accepted(r));
    for (size_t i = 0; i < exst_sigcheck_checked(r); i++) {
        exst_sig_info s;
        char hex[41];
        exst_sigcheck_get(r, i, &s);
        exst_fingerprint_hex(hex, s.identity);
        assert_int_equal(s.status,
                         strcmp(hex, "EFCBE720AB3A82B99F9E953CD5BF50F7EEFC7B97")
                                 == 0
                             ? EXST_SIG_CERT_NOT_YET_VALID
                             : EXST_SIG_NO_CERTIFICATE);
    }
    exst_sigcheck_free(r);
    exst_consensus_free(c);
    exst_authorities_free(own);
    free(buf);
    exst_certs_free(certs);

    /* A truncated certificate file: refused where it stops. */
    buf = read_shared(CERTS_2022, &len);
    size_t cut = 0;
    for (int lines = 0; lines < 100; cut++)
        lines += buf[cut] == '\n';
    exst_certs *set = NULL;
    exst_error err;
    assert_int_equal(exst_certs_new(&set, NULL, &err), EXST_OK);
    assert_int_equal(exst_certs_add(set, buf, cut, "cut", &err),
                     EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 96);
    assert_int_equal(err.column, 1);
    assert_string_equal(err.keyword, "");
    assert_string_equal(err.message,
                        "object not closed before the end of the input");
    assert_int_equal(exst_certs_count(set), 0);
    exst_certs_free(set);
    free(buf);
}

/* ---- out of memory ------------------------------------------------------ */

static void test_alloc_failures(void **state)
{
    (void)state;
    size_t len, alen;
    char *buf = read_project("trust/consensus-microdesc", &len);
    char *atext = read_project("trust/authorities", &alen);
    exst_consensus *c = parse(buf, len);
    static const char *const dated[] = {"trust/certs-expired", NULL};
    exst_certs *certs = certs_of(dated);
    long n;
    for (n = 0; n < 1000; n++) {
        exst_authorities *a = NULL;
        exst_sigcheck *r = NULL;
        char *json = NULL, *msg = NULL;
        exst_error err;
        exst_error_clear(&err);
        exstp_alloc_fail_after(n);
        int rc = exst_authorities_parse(&a, atext, alen, "a", &err);
        if (rc == EXST_OK)
            rc = exst_sigcheck_run(&r, c, certs, a, NULL, &err);
        if (rc == EXST_OK)
            rc = exst_sigcheck_json(&json, r, &err);
        if (rc == EXST_OK)
            rc = exst_sigcheck_message(&msg, r, &err);
        exstp_alloc_fail_after(-1);
        exst_free(json);
        exst_free(msg);
        exst_sigcheck_free(r);
        exst_authorities_free(a);
        if (rc == EXST_OK) {
            print_message("sigcheck: %ld allocations failed one by one\n", n);
            break;
        }
        assert_int_equal(rc, EXST_ERR_NOMEM);
        assert_int_equal(err.code, EXST_ERR_NOMEM);
    }
    assert_true(n > 5 && n < 1000);
    /* The built-in list, when none is given. */
    for (n = 0; n < 100; n++) {
        exst_sigcheck *r = NULL;
        exst_error err;
        exstp_alloc_fail_after(n);
        int rc = exst_sigcheck_run(&r, c, certs, NULL, NULL, &err);
        exstp_alloc_fail_after(-1);
        exst_sigcheck_free(r);
        if (rc == EXST_OK)
            break;
        assert_int_equal(rc, EXST_ERR_NOMEM);
    }
    assert_true(n > 0 && n < 100);
    exst_certs_free(certs);
    exst_consensus_free(c);
    free(atext);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_flavours_verify),
        cmocka_unit_test(test_type_annotation),
        cmocka_unit_test(test_changed_byte),
        cmocka_unit_test(test_signature_blocks),
        cmocka_unit_test(test_trust_and_certificates),
        cmocka_unit_test(test_malformed_blocks),
        cmocka_unit_test(test_digests),
        cmocka_unit_test(test_digests_passed_in),
        cmocka_unit_test(test_stage_report),
        cmocka_unit_test(test_json_and_message),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_default_authorities),
        cmocka_unit_test(test_authorities_parse),
        cmocka_unit_test(test_real_pairs),
        cmocka_unit_test(test_real_reasons),
        cmocka_unit_test(test_real_failures),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
