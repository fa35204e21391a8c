/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_certs.c - authority key certificates (lib/exst_certs.c).
 *
 * The real cached-certs files in ../shared/testdata load whole, with the
 * identities and signing-key digests their consensuses name; the project's
 * generated test network (testdata/trust, tools/mktestnet.py) is the base
 * of a table of broken certificates, each refused with its exact status,
 * line, column and keyword; a certificate whose signatures do not verify
 * is refused; directories load every file; a failed load adds nothing; and
 * every allocation failure is reported as EXST_ERR_NOMEM without a leak.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitstage.h"

void exstp_alloc_fail_after(long n);

static int setup(void **state)
{
    (void)state;
    return exst_init() == EXST_OK ? 0 : -1;
}

static char *read_project(const char *rel, size_t *len)
{
    char *path = tu_path(tu_project_dir(), rel);
    char *buf = NULL;
    assert_int_equal(tu_read_file(path, &buf, len), 0);
    free(path);
    return buf;
}

/* Remove every CR (the two live cached-certs files have CRLF endings). */
static size_t strip_cr(char *buf, size_t len)
{
    size_t m = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] != '\r')
            buf[m++] = buf[i];
    buf[m] = '\0';
    return m;
}

static int add(exst_certs **set, const char *buf, size_t len,
               exst_error *err)
{
    exst_error_clear(err);
    assert_int_equal(exst_certs_new(set, NULL, err), EXST_OK);
    return exst_certs_add(*set, buf, len, "certs", err);
}

/* ---- real certificates ---------------------------------------------- */

static void test_real_files(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    static const struct {
        const char *file;
        size_t count;
        const char *first_id, *first_sk, *last_sk;
        int crlf;
    } files[] = {
        {"samples/authority-certs-2022-11-safe_tor", 9,
         "23D15D965BC35114467363C165C4F724B64B4F66",
         "62EA5595951196DACDCE605C53DF6FE025641864",
         "21FB228258F9A729F88E86D83AB77F88C272C75D", 1},
        {"samples/authority-certs-2024-05-Tor-VPN", 9,
         "23D15D965BC35114467363C165C4F724B64B4F66",
         "FD0EBF205765589B43E96F23A726792FA9C927D2",
         "E98F93A9E9FD31A24A8BB3251793A66A612904CD", 1},
        {"samples/stem-testnet-cached-certs-2017-05-25", 2,
         "BCB380A633592C218757BEE11E630511A485658A",
         "9CA027E05B0CE1500D90DA13FFDA8EDDCD40A734",
         "9FBF54D6A62364320308A615BF4CF6B27B254FAD", 0},
        {"samples/arti-testnet-authcerts2-2020-08-07", 3,
         "5A23BA701776C9C1AB1C06E734E92AB3D5350D64",
         "D08E965CC6DCB6CB6ED776DB43E616E93AF61177",
         "F6ED4AA64D83CAEDE34E19693A7FCF331AAE8A6A", 0},
    };
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char *path = tu_path(tu_shared_dir(), files[f].file);
        char *buf;
        size_t len;
        assert_int_equal(tu_read_file(path, &buf, &len), 0);
        exst_certs *set = NULL;
        exst_error err;
        if (files[f].crlf) {
            /* As published: refused at the first CR. */
            assert_int_equal(add(&set, buf, len, &err), EXST_ERR_SYNTAX);
            assert_int_equal(err.line, 1);
            assert_int_equal(err.column, 30);
            assert_non_null(strstr(err.message, "carriage return"));
            assert_int_equal(exst_certs_count(set), 0);
            exst_certs_free(set);
            len = strip_cr(buf, len);
        }
        assert_int_equal(add(&set, buf, len, &err), EXST_OK);
        assert_int_equal(exst_certs_count(set), files[f].count);
        exst_cert_info first, last;
        char hex[41];
        exst_certs_get(set, 0, &first);
        exst_certs_get(set, files[f].count - 1, &last);
        assert_string_equal(exst_fingerprint_hex(hex, first.identity),
                            files[f].first_id);
        assert_string_equal(exst_fingerprint_hex(hex, first.signing_key),
                            files[f].first_sk);
        assert_string_equal(exst_fingerprint_hex(hex, last.signing_key),
                            files[f].last_sk);
        assert_int_equal(first.identity_bits, 3072);
        assert_true(first.expires > first.published);
        /* Adding the same file again adds nothing. */
        assert_int_equal(exst_certs_add(set, buf, len, "again", &err),
                         EXST_OK);
        assert_int_equal(exst_certs_count(set), files[f].count);
        exst_certs_free(set);
        free(buf);
        free(path);
    }
}

/* The 2022 file's first certificate, in detail. */
static void test_real_times(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    char *path = tu_path(tu_shared_dir(),
                         "samples/authority-certs-2022-11-safe_tor");
    char *buf;
    size_t len;
    assert_int_equal(tu_read_file(path, &buf, &len), 0);
    len = strip_cr(buf, len);
    exst_certs *set = NULL;
    exst_error err;
    assert_int_equal(add(&set, buf, len, &err), EXST_OK);
    exst_cert_info ci;
    char t[21];
    exst_certs_get(set, 3, &ci); /* tor26: 3072-bit signing key */
    assert_string_equal(exst_time_iso(t, ci.published),
                        "2022-07-01T00:00:00Z");
    assert_string_equal(exst_time_iso(t, ci.expires), "2023-01-01T00:00:00Z");
    assert_int_equal(ci.signing_bits, 3072);
    exst_certs_get(set, 0, &ci);
    assert_int_equal(ci.signing_bits, 2048);
    exst_certs_free(set);
    free(buf);
    free(path);
}

/* ---- the generated test network --------------------------------------- */

static void test_generated(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_project("trust/certs", &len);
    exst_certs *set = NULL;
    exst_error err;
    assert_int_equal(add(&set, buf, len, &err), EXST_OK);
    assert_int_equal(exst_certs_count(set), 4);
    exst_cert_info ci;
    char t[21];
    exst_certs_get(set, 0, &ci);
    assert_string_equal(exst_time_iso(t, ci.published),
                        "2024-01-01T00:00:00Z");
    assert_string_equal(exst_time_iso(t, ci.expires), "2025-01-01T00:00:00Z");
    assert_int_equal(ci.identity_bits, 1024);
    exst_certs_free(set);
    free(buf);
}

/* Blank lines between certificates are allowed (tor skips whitespace). */
static void test_blank_lines_between(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_project("trust/certs", &len);
    char *two = malloc(2 * len + 3);
    assert_non_null(two);
    two[0] = '\n';
    memcpy(two + 1, buf, len);
    two[len + 1] = '\n';
    memcpy(two + len + 2, buf, len);
    exst_certs *set = NULL;
    exst_error err;
    assert_int_equal(add(&set, two, 2 * len + 2, &err), EXST_OK);
    assert_int_equal(exst_certs_count(set), 4); /* duplicates not added */
    exst_certs_free(set);
    free(two);
    free(buf);
}

/* ---- broken certificates: exact status, line, column ----------------- */

/* The first certificate of testdata/trust/certs as an array of lines
 * (29 of them: version, dir-address, fingerprint, published, expires,
 * identity key 6-11, signing key 12-17, crosscert 18-23, certification
 * 24-29). */
typedef struct doc {
    char *lines[64];
    size_t n;
} doc;

static void doc_load(doc *d)
{
    size_t len;
    char *buf = read_project("trust/certs", &len);
    char *p = buf;
    d->n = 0;
    while (d->n < 29) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        d->lines[d->n++] = strndup(p, (size_t)(nl - p));
        p = nl + 1;
    }
    free(buf);
}

static void doc_set(doc *d, size_t line, const char *text)
{
    free(d->lines[line - 1]);
    d->lines[line - 1] = strdup(text);
}

static void doc_delete(doc *d, size_t line, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(d->lines[line - 1 + i]);
    memmove(&d->lines[line - 1], &d->lines[line - 1 + count],
            (d->n - (line - 1 + count)) * sizeof d->lines[0]);
    d->n -= count;
}

static void doc_insert(doc *d, size_t line, const char *text)
{
    memmove(&d->lines[line], &d->lines[line - 1],
            (d->n - (line - 1)) * sizeof d->lines[0]);
    d->lines[line - 1] = strdup(text);
    d->n++;
}

static char *doc_text(const doc *d, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        n += strlen(d->lines[i]) + 1;
    char *buf = malloc(n + 1), *p = buf;
    for (size_t i = 0; i < d->n; i++) {
        size_t l = strlen(d->lines[i]);
        memcpy(p, d->lines[i], l);
        p[l] = '\n';
        p += l + 1;
    }
    *p = '\0';
    *len = n;
    return buf;
}

static void doc_free(doc *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->lines[i]);
}

/* Flip one base64 character of line ln at column col (1-based). */
static void doc_flip(doc *d, size_t line, size_t col)
{
    char *c = &d->lines[line - 1][col - 1];
    *c = *c == 'A' ? 'B' : 'A';
}

enum { OP_NONE, OP_SET, OP_DELETE, OP_INSERT, OP_FLIP, OP_TRUNCATE,
       OP_RAW, OP_POKE };

static const struct bad {
    const char *name;
    int op;
    size_t line, count;
    const char *text;
    int code;
    unsigned long eline, ecol;
    const char *keyword;
    const char *msg;
} bad_cases[] = {
    {"first line not the version", OP_DELETE, 1, 1, NULL, EXST_ERR_SEMANTIC,
     1, 1, "dir-address", "expected \"dir-key-certificate-version\""},
    {"version 4", OP_SET, 1, 0, "dir-key-certificate-version 4",
     EXST_ERR_SEMANTIC, 1, 29, "dir-key-certificate-version",
     "unsupported certificate version \"4\""},
    {"version without argument", OP_SET, 1, 0,
     "dir-key-certificate-version", EXST_ERR_SYNTAX, 1, 28,
     "dir-key-certificate-version", "needs at least 1 argument"},
    {"bad dir-address", OP_SET, 2, 0, "dir-address 192.0.2.300:80",
     EXST_ERR_SYNTAX, 2, 13, "dir-address", "expected IPv4ADDRESS:PORT"},
    {"dir-address twice", OP_INSERT, 3, 0, "dir-address 192.0.2.1:80",
     EXST_ERR_SEMANTIC, 3, 1, "dir-address", "appears more than once"},
    {"fingerprint not hex", OP_SET, 3, 0,
     "fingerprint F473B47FD8C2CE23D3668D110971462B11F58AXX",
     EXST_ERR_SYNTAX, 3, 13, "fingerprint", "40 hex digits"},
    {"fingerprint split", OP_SET, 3, 0,
     "fingerprint F473 B47F", EXST_ERR_SYNTAX, 3, 18, "fingerprint",
     "takes 1 argument, found 2"},
    {"published not a time", OP_SET, 4, 0,
     "dir-key-published 2024-13-01 00:00:00", EXST_ERR_SYNTAX, 4, 19,
     "dir-key-published", "expected a time"},
    {"expires without time of day", OP_SET, 5, 0,
     "dir-key-expires 2025-01-01", EXST_ERR_SYNTAX, 5, 27,
     "dir-key-expires", "takes 2 arguments, found 1"},
    {"argument to a key item", OP_SET, 6, 0, "dir-identity-key x",
     EXST_ERR_SYNTAX, 6, 18, "dir-identity-key",
     "takes 0 arguments, found 1"},
    {"identity key missing", OP_DELETE, 6, 6, NULL, EXST_ERR_SEMANTIC, 1, 1,
     "dir-identity-key", "has no \"dir-identity-key\""},
    {"key item without its object", OP_DELETE, 7, 5, NULL, EXST_ERR_SYNTAX,
     6, 17, "dir-identity-key", "needs an object"},
    {"object after dir-address", OP_INSERT, 3, 0,
     "-----BEGIN RSA PUBLIC KEY-----", EXST_ERR_SYNTAX, 2, 25,
     "dir-address", "takes no object"},
    {"empty line inside", OP_INSERT, 4, 0, "", EXST_ERR_SYNTAX, 4, 1, NULL,
     "empty line inside a certificate"},
    {"keyword with underscore", OP_SET, 2, 0, "dir_address 192.0.2.1:80",
     EXST_ERR_SYNTAX, 2, 4, NULL, "unexpected character \"_\" in keyword"},
    {"line starting with a space", OP_SET, 2, 0, " dir-address 1.2.3.4:5",
     EXST_ERR_SYNTAX, 2, 1, NULL, "expected a keyword"},
    {"stray object", OP_DELETE, 12, 1, NULL, EXST_ERR_SYNTAX, 12, 1, NULL,
     "object without a keyword line"},
    {"object END mismatch", OP_SET, 11, 0, "-----END RSA KEY-----",
     EXST_ERR_SYNTAX, 11, 1, NULL, "END line does not match"},
    {"bad base64", OP_SET, 8, 0, "MIGJ*oGBA", EXST_ERR_SYNTAX, 8, 5, NULL,
     "invalid base64"},
    {"wrong object for a key", OP_RAW, 7, 11, NULL, EXST_ERR_SYNTAX, 7, 12,
     "dir-identity-key", "unexpected object \"SIGNATURE\""},
    {"truncated inside an object", OP_TRUNCATE, 27, 0, NULL,
     EXST_ERR_SYNTAX, 25, 1, NULL, "object not closed"},
    {"truncated before the certification", OP_TRUNCATE, 24, 0, NULL,
     EXST_ERR_SEMANTIC, 1, 1, "dir-key-certificate-version",
     "ends without dir-key-certification"},
    {"new certificate inside", OP_INSERT, 12, 0,
     "dir-key-certificate-version 3", EXST_ERR_SEMANTIC, 12, 1,
     "dir-key-certificate-version", "a new certificate starts before"},
    {"fingerprint of another key", OP_FLIP, 3, 13, NULL, EXST_ERR_SEMANTIC,
     3, 13, "fingerprint", "does not match the identity key"},
    {"certification altered", OP_FLIP, 27, 10, NULL, EXST_ERR_SEMANTIC, 24,
     1, "dir-key-certification",
     "the identity key's signature on the certificate does not verify"},
    {"cross-certification inside the signed part", OP_FLIP, 21, 10, NULL,
     EXST_ERR_SEMANTIC, 24, 1, "dir-key-certification",
     "the identity key's signature on the certificate does not verify"},
    {"signed part altered", OP_SET, 2, 0, "dir-address 192.0.2.9:80",
     EXST_ERR_SEMANTIC, 24, 1, "dir-key-certification",
     "does not verify"},
    {"identity key not DER", OP_POKE, 8, 4, "K", EXST_ERR_SEMANTIC, 7, 1,
     "dir-identity-key", "not an RSA public key (PKCS#1 DER)"},
    {"signing key not DER", OP_POKE, 14, 4, "K", EXST_ERR_SEMANTIC, 13, 1,
     "dir-signing-key", "not an RSA public key (PKCS#1 DER)"},
};

static void test_bad_certificates(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad *b = &bad_cases[i];
        doc d;
        doc_load(&d);
        switch (b->op) {
        case OP_SET:
            doc_set(&d, b->line, b->text);
            break;
        case OP_DELETE:
            doc_delete(&d, b->line, b->count);
            break;
        case OP_INSERT:
            doc_insert(&d, b->line, b->text);
            break;
        case OP_FLIP:
            doc_flip(&d, b->line, b->count);
            break;
        case OP_TRUNCATE:
            while (d.n >= b->line)
                doc_delete(&d, d.n, 1);
            break;
        case OP_POKE:
            d.lines[b->line - 1][b->count - 1] = b->text[0];
            break;
        case OP_RAW: /* a SIGNATURE object in place of a key */
            doc_set(&d, b->line, "-----BEGIN SIGNATURE-----");
            doc_set(&d, b->count, "-----END SIGNATURE-----");
            break;
        }
        size_t len;
        char *text = doc_text(&d, &len);
        exst_certs *set = NULL;
        exst_error err;
        int rc = add(&set, text, len, &err);
        if (rc != b->code || err.line != b->eline || err.column != b->ecol ||
            strstr(err.message, b->msg) == NULL ||
            (b->keyword && strcmp(err.keyword, b->keyword) != 0))
            fail_msg("%s: got %d %lu:%lu [%s] '%s'", b->name, rc, err.line,
                     err.column, err.keyword, err.message);
        assert_string_equal(err.source, "certs");
        assert_int_equal(exst_certs_count(set), 0);
        exst_certs_free(set);
        free(text);
        doc_free(&d);
    }
}

/* A certificate whose certification is good but whose cross-
 * certification was made by another authority's signing key. */
static void test_bad_crosscert(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_project("trust/certs-bad-crosscert", &len);
    exst_certs *set = NULL;
    exst_error err;
    assert_int_equal(add(&set, buf, len, &err), EXST_ERR_SEMANTIC);
    assert_int_equal(err.line, 18);
    assert_int_equal(err.column, 1);
    assert_string_equal(err.keyword, "dir-key-crosscert");
    assert_string_equal(err.message,
                        "the signing key's cross-certification does not "
                        "verify");
    exst_certs_free(set);
    free(buf);
}

static void test_whole_input_rules(void **state)
{
    (void)state;
    exst_certs *set = NULL;
    exst_error err;
    /* Empty input, blank lines only. */
    assert_int_equal(add(&set, "", 0, &err), EXST_ERR_SEMANTIC);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 1);
    assert_string_equal(err.message, "no authority certificate in the input");
    exst_certs_free(set);
    assert_int_equal(add(&set, "\n\n", 2, &err), EXST_ERR_SEMANTIC);
    exst_certs_free(set);
    /* NUL, and a missing final newline. */
    assert_int_equal(add(&set, "dir-key-certificate-version 3\n\0\n", 32,
                         &err), EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 1);
    assert_string_equal(err.message, "NUL byte in input");
    exst_certs_free(set);
    assert_int_equal(add(&set, "dir-key-certificate-version 3\nx", 31, &err),
                     EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 2);
    exst_certs_free(set);
}

/* A good certificate followed by a broken one: nothing is added, and the
 * set keeps what it had before. */
static void test_all_or_nothing(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_project("trust/certs", &len);
    exst_certs *set = NULL;
    exst_error err;
    size_t cut = 0;
    for (int lines = 0; lines < 29 * 2 + 5; cut++)
        lines += buf[cut] == '\n';
    assert_int_equal(add(&set, buf, cut, &err), EXST_ERR_SEMANTIC);
    assert_int_equal(err.line, 59);
    assert_int_equal(exst_certs_count(set), 0);
    char *ex = read_project("trust/certs-expired", &len);
    assert_int_equal(exst_certs_add(set, ex, len, "x", &err), EXST_OK);
    assert_int_equal(exst_certs_add(set, buf, cut, "y", &err),
                     EXST_ERR_SEMANTIC);
    assert_int_equal(exst_certs_count(set), 1);
    exst_certs_free(set);
    free(ex);
    free(buf);
}

static void test_limits(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_project("trust/certs", &len);
    exst_certs *set = NULL;
    exst_error err;
    exst_certs_opts o = {.max_certs = 3};
    assert_int_equal(exst_certs_new(&set, &o, &err), EXST_OK);
    assert_int_equal(exst_certs_add(set, buf, len, "certs", &err),
                     EXST_ERR_LIMIT);
    assert_int_equal(err.line, 88); /* the fourth certificate */
    assert_int_equal(exst_certs_count(set), 0);
    exst_certs_free(set);
    exst_certs_opts small = {.max_file_bytes = 100};
    assert_int_equal(exst_certs_new(&set, &small, &err), EXST_OK);
    assert_int_equal(exst_certs_add(set, buf, len, "certs", &err),
                     EXST_ERR_LIMIT);
    exst_certs_free(set);
    free(buf);
}

/* ---- files and directories ------------------------------------------- */

static void write_file(const char *path, const char *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void test_load_paths(void **state)
{
    (void)state;
    char dir[] = "/tmp/exst-certs.XXXXXX";
    assert_non_null(mkdtemp(dir));
    size_t len, elen;
    char *buf = read_project("trust/certs", &len);
    char *ex = read_project("trust/certs-expired", &elen);
    char *a = tu_path(dir, "b-certs"), *b = tu_path(dir, "a-expired");
    char *hidden = tu_path(dir, ".swap"), *sub = tu_path(dir, "sub");
    write_file(a, buf, len);
    write_file(b, ex, elen);
    write_file(hidden, "not a certificate\n", 18);
    assert_int_equal(mkdir(sub, 0700), 0);

    exst_certs *set = NULL;
    exst_error err;
    char want[200];
    exst_error_clear(&err);
    assert_int_equal(exst_certs_new(&set, NULL, &err), EXST_OK);
    assert_int_equal(exst_certs_load(set, dir, &err), EXST_OK);
    assert_int_equal(exst_certs_count(set), 5);
    /* Files in name order: a-expired first. */
    exst_cert_info ci;
    char t[21];
    exst_certs_get(set, 0, &ci);
    assert_string_equal(exst_time_iso(t, ci.expires), "2023-12-31T00:00:00Z");
    exst_certs_free(set);

    /* One bad file in the directory: an error naming it, nothing kept. */
    write_file(a, buf, len - 10);
    assert_int_equal(exst_certs_new(&set, NULL, &err), EXST_OK);
    assert_int_equal(exst_certs_load(set, dir, &err), EXST_ERR_SYNTAX);
    assert_string_equal(err.source, a);
    assert_int_equal(exst_certs_count(set), 0);
    exst_certs_free(set);

    /* A file over the limit. */
    exst_certs_opts small = {.max_file_bytes = 1000};
    assert_int_equal(exst_certs_new(&set, &small, &err), EXST_OK);
    assert_int_equal(exst_certs_load(set, b, &err), EXST_ERR_LIMIT);
    snprintf(want, sizeof want, "'%s' is larger than 1000 bytes", b);
    assert_string_equal(err.message, want);
    exst_certs_free(set);

    /* A missing path, an empty directory. */
    assert_int_equal(exst_certs_new(&set, NULL, &err), EXST_OK);
    assert_int_equal(exst_certs_load(set, "/nonexistent/certs", &err),
                     EXST_ERR_IO);
    assert_non_null(strstr(err.message, "cannot open '/nonexistent/certs'"));
    assert_int_equal(exst_certs_load(set, sub, &err), EXST_ERR_IO);
    assert_non_null(strstr(err.message, "no certificate files"));
    exst_certs_free(set);

    unlink(a);
    unlink(b);
    unlink(hidden);
    rmdir(sub);
    rmdir(dir);
    free(a);
    free(b);
    free(hidden);
    free(sub);
    free(ex);
    free(buf);
}

/* ---- out of memory ---------------------------------------------------- */

static void test_alloc_failures(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_project("trust/certs", &len);
    long n;
    for (n = 0; n < 1000; n++) {
        exst_certs *set = NULL;
        exst_error err;
        exst_error_clear(&err);
        exstp_alloc_fail_after(n);
        int rc = exst_certs_new(&set, NULL, &err);
        if (rc == EXST_OK)
            rc = exst_certs_add(set, buf, len, "sweep", &err);
        exstp_alloc_fail_after(-1);
        if (rc == EXST_OK) {
            assert_int_equal(exst_certs_count(set), 4);
            exst_certs_free(set);
            print_message("certs: %ld allocations failed one by one\n", n);
            break;
        }
        assert_int_equal(rc, EXST_ERR_NOMEM);
        assert_int_equal(err.code, EXST_ERR_NOMEM);
        assert_int_equal(exst_certs_count(set), 0);
        exst_certs_free(set);
    }
    assert_true(n > 0 && n < 1000);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_files),
        cmocka_unit_test(test_real_times),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_blank_lines_between),
        cmocka_unit_test(test_bad_certificates),
        cmocka_unit_test(test_bad_crosscert),
        cmocka_unit_test(test_whole_input_rules),
        cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_load_paths),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
