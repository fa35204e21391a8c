/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the archive reader (lib/exst_archive.c): tar archives
 * built here byte by byte (ustar, pax, GNU long names, concatenated
 * archives), zstd-, xz- and gzip-compressed tar and single documents
 * (several streams, compressed members), documents back to back split
 * apart, classification, pipes, truncation, checksum, limit and
 * corruption errors, the header peek, and a round trip of the 32 real
 * documents of ../shared/testdata/series-2016-2017.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zstd.h>

#include "exst_archive_int.h"
#include "exst_int.h"

/* ------------------------------------------------------------------ */
/* Helpers: a growable byte buffer and a tar writer                   */
/* ------------------------------------------------------------------ */

typedef struct bytes {
    unsigned char *p;
    size_t len, cap;
} bytes;

static void b_put(bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void b_zeros(bytes *b, size_t n)
{
    static const unsigned char z[512];
    while (n > 0) {
        const size_t k = n < sizeof z ? n : sizeof z;
        b_put(b, z, k);
        n -= k;
    }
}

static void b_free(bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Write an octal number into a field of n bytes: n-1 digits and a NUL. */
static void octal(unsigned char *f, size_t n, unsigned long long v)
{
    f[n - 1] = '\0';
    for (size_t i = n - 1; i-- > 0;) {
        f[i] = (unsigned char)('0' + (v & 7));
        v >>= 3;
    }
}

enum { MAGIC_POSIX, MAGIC_GNU };

/* One tar header.  prefix may be NULL. */
static void tar_header(bytes *b, const char *prefix, const char *name,
                       unsigned long long size, char type, int magic)
{
    unsigned char h[512];
    memset(h, 0, sizeof h);
    const size_t nl = strlen(name);
    assert_true(nl <= 100);
    memcpy(h, name, nl);
    octal(h + 100, 8, 0644);
    octal(h + 108, 8, 1000);
    octal(h + 116, 8, 1000);
    octal(h + 124, 12, size);
    octal(h + 136, 12, 1484000000ull);
    h[156] = (unsigned char)type;
    if (magic == MAGIC_POSIX) {
        memcpy(h + 257, "ustar\0" "00", 8);
    } else {
        memcpy(h + 257, "ustar  \0", 8);
    }
    memcpy(h + 265, "user", 4);
    memcpy(h + 297, "group", 5);
    if (prefix != NULL) {
        assert_true(strlen(prefix) <= 155);
        memcpy(h + 345, prefix, strlen(prefix));
    }
    memset(h + 148, ' ', 8);
    unsigned long sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += h[i];
    octal(h + 148, 7, sum); /* six digits, NUL, then the space stays */
    h[155] = ' ';
    b_put(b, h, sizeof h);
}

static void tar_data(bytes *b, const void *data, size_t len)
{
    b_put(b, data, len);
    b_zeros(b, (512 - len % 512) % 512);
}

static void tar_file(bytes *b, const char *name, const void *data,
                     size_t len)
{
    tar_header(b, NULL, name, len, '0', MAGIC_POSIX);
    tar_data(b, data, len);
}

/* A pax 'x' header carrying records (already formatted). */
static void tar_pax(bytes *b, const char *records)
{
    tar_header(b, NULL, "PaxHeaders.0/x", strlen(records), 'x',
               MAGIC_POSIX);
    tar_data(b, records, strlen(records));
}

/* One pax record "LEN key=value\n" (LEN counts itself). */
static char *pax_record(const char *key, const char *value)
{
    const size_t body = 1 + strlen(key) + 1 + strlen(value) + 1;
    size_t len = body + 1;
    while (snprintf(NULL, 0, "%zu", len) + body != len)
        len++;
    char *r = malloc(len + 1);
    assert_non_null(r);
    snprintf(r, len + 1, "%zu %s=%s\n", len, key, value);
    assert_int_equal(strlen(r), len);
    return r;
}

/* A GNU long-name member: 'L' header, name, then the real header. */
static void tar_gnu_long(bytes *b, const char *name, const void *data,
                         size_t len)
{
    const size_t nl = strlen(name) + 1;
    tar_header(b, NULL, "././@LongLink", nl, 'L', MAGIC_GNU);
    tar_data(b, name, nl);
    char cut[101];
    memcpy(cut, name, 100);
    cut[100] = '\0';
    tar_header(b, NULL, cut, len, '0', MAGIC_GNU);
    tar_data(b, data, len);
}

static void tar_end(bytes *b)
{
    b_zeros(b, 1024);
}

/* Pad to a 10240-byte record, as tar(1) does. */
static void tar_record_pad(bytes *b)
{
    b_zeros(b, (10240 - b->len % 10240) % 10240);
}

/* Deterministic text of n bytes ending with a newline. */
static char *make_text(size_t n, unsigned seed)
{
    char *t = malloc(n + 1);
    assert_non_null(t);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        const unsigned v = (x >> 16) % 40;
        t[i] = v < 4 ? ' ' : (char)('a' + v % 26);
        if (i % 71 == 70)
            t[i] = '\n';
    }
    if (n > 0)
        t[n - 1] = '\n';
    t[n] = '\0';
    return t;
}

static void zcompress(bytes *out, const void *p, size_t n, int level,
                      int checksum)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    assert_non_null(cc);
    assert_false(ZSTD_isError(
        ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level)));
    assert_false(ZSTD_isError(
        ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, checksum)));
    const size_t bound = ZSTD_compressBound(n);
    unsigned char *z = malloc(bound);
    assert_non_null(z);
    const size_t zn = ZSTD_compress2(cc, z, bound, p, n);
    assert_false(ZSTD_isError(zn));
    b_put(out, z, zn);
    free(z);
    ZSTD_freeCCtx(cc);
}

/* ------------------------------------------------------------------ */
/* Helpers: temp files and reading everything                         */
/* ------------------------------------------------------------------ */

static char tmpdir[64];
static unsigned tmp_seq;

static char *tmp_write(const void *p, size_t n)
{
    char *path = malloc(128);
    assert_non_null(path);
    snprintf(path, 128, "%s/f%u", tmpdir, tmp_seq++);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (n > 0)
        assert_int_equal(fwrite(p, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
    return path;
}

typedef struct docs {
    size_t n;
    char *name[64];
    char *data[64];
    size_t len[64];
    exst_doc_kind kind[64];
    char type[64][48]; /* the @type name, "" without one */
    size_t index[64];
    uint64_t offset[64];
    int rc;           /* status of the call that stopped the loop */
    exst_error err;
    unsigned format;
    uint64_t bytes_in;
} docs;

static void docs_free(docs *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->name[i]);
        free(d->data[i]);
    }
    d->n = 0;
}

/* Open fd and read every document (copies), stopping at the end or at
 * the first error. */
static size_t peek_opt; /* peek_bytes for read_all, normally 0 */
/* Read as the replay's readers do: take each document's buffer when it is
 * the whole buffer, and trim the archive before every next call. */
static bool take_mode;
static size_t taken; /* documents handed over in take_mode */

static void read_all(docs *d, int fd, const char *name, size_t max_doc)
{
    memset(d, 0, sizeof *d);
    exst_archive_opts o = {.max_doc_bytes = max_doc, .peek_bytes = peek_opt};
    exst_archive *a = NULL;
    exst_error_clear(&d->err);
    d->rc = exst_archive_open(&a, fd, name, &o, &d->err);
    if (d->rc != EXST_OK) {
        assert_null(a);
        return;
    }
    d->format = exst_archive_format(a);
    for (;;) {
        exst_archive_doc doc;
        d->rc = exst_archive_next(a, &doc, &d->err);
        if (d->rc != EXST_OK) {
            assert_null(doc.data);
            /* the error is sticky */
            exst_error e2;
            assert_int_equal(exst_archive_next(a, &doc, &e2), d->rc);
            break;
        }
        if (doc.data == NULL) {
            assert_null(doc.name);
            /* the end is sticky too */
            assert_int_equal(exst_archive_next(a, &doc, NULL), EXST_OK);
            assert_null(doc.data);
            break;
        }
        assert_true(d->n < 64);
        assert_int_equal(doc.data[doc.len], '\0');
        d->name[d->n] = strdup(doc.name);
        d->data[d->n] = malloc(doc.len + 1);
        assert_non_null(d->data[d->n]);
        memcpy(d->data[d->n], doc.data, doc.len + 1);
        char *own = NULL;
        if (take_mode && exstp_archive_take(a, &doc, &own)) {
            /* the same bytes, now the caller's */
            assert_ptr_equal(own, doc.data);
            assert_memory_equal(own, d->data[d->n], doc.len + 1);
            exstp_free(own);
            taken++;
            doc.data = NULL; /* gone with the buffer */
            doc.type.ptr = NULL;
        }
        d->len[d->n] = doc.len;
        d->kind[d->n] = doc.kind;
        d->index[d->n] = doc.index;
        d->offset[d->n] = doc.offset;
        /* the type span lies inside the document */
        assert_true(doc.type.ptr == NULL ||
                    (doc.type.ptr >= doc.data &&
                     doc.type.ptr + doc.type.len <= doc.data + doc.len));
        snprintf(d->type[d->n], sizeof d->type[0], "%.*s",
                 (int)doc.type.len, doc.type.ptr ? doc.type.ptr : "");
        d->n++;
        if (take_mode)
            exstp_archive_trim(a);
    }
    d->bytes_in = exst_archive_bytes_in(a);
    exst_archive_close(a);
}

static void read_buf(docs *d, const void *p, size_t n, const char *name,
                     size_t max_doc)
{
    char *path = tmp_write(p, n);
    const int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    read_all(d, fd, name, max_doc);
    close(fd);
    unlink(path);
    free(path);
}

/* Feed (p, n) through a pipe from a child, in odd-sized writes. */
static void read_pipe(docs *d, const void *p, size_t n, const char *name,
                      size_t max_doc)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        const unsigned char *q = p;
        size_t off = 0;
        while (off < n) {
            size_t k = n - off < 7777 ? n - off : 7777;
            const ssize_t w = write(fds[1], q + off, k);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        close(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    read_all(d, fds[0], name, max_doc);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void expect_doc(const docs *d, size_t i, const char *name,
                       const void *data, size_t len)
{
    assert_true(i < d->n);
    assert_string_equal(d->name[i], name);
    assert_int_equal(d->len[i], len);
    assert_memory_equal(d->data[i], data, len);
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                           */
/* ------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/exst-archive-XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(tmpdir);
}

/* ------------------------------------------------------------------ */
/* Tests: tar                                                         */
/* ------------------------------------------------------------------ */

static const char DOC_A[] = "network-status-version 3\nfirst\n";
static const char DOC_B[] = "second document\n";

static void test_tar_basic(void **state)
{
    (void)state;
    bytes t = {0};
    char *big = make_text(3u << 20, 7); /* read past the 1 MiB buffer */
    char *blk = make_text(512, 8);      /* exactly one block */
    tar_header(&t, NULL, "consensuses-2017-01/", 0, '5', MAGIC_POSIX);
    tar_file(&t, "consensuses-2017-01/2017-01-01-00-00-00-consensus", DOC_A,
             strlen(DOC_A));
    tar_file(&t, "empty", "", 0);
    tar_header(&t, NULL, "link", 0, '2', MAGIC_POSIX);
    tar_file(&t, "block", blk, 512);
    tar_header(&t, "a/very/long/prefix/directory", "with-prefix",
               strlen(DOC_B), '0', MAGIC_POSIX);
    tar_data(&t, DOC_B, strlen(DOC_B));
    tar_file(&t, "big", big, 3u << 20);
    tar_end(&t);
    tar_record_pad(&t);

    docs d;
    read_buf(&d, t.p, t.len, "x.tar", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.format, EXST_ARCHIVE_TAR);
    assert_int_equal(d.n, 5);
    expect_doc(&d, 0, "consensuses-2017-01/2017-01-01-00-00-00-consensus",
               DOC_A, strlen(DOC_A));
    expect_doc(&d, 1, "empty", "", 0);
    expect_doc(&d, 2, "block", blk, 512);
    expect_doc(&d, 3, "a/very/long/prefix/directory/with-prefix", DOC_B,
               strlen(DOC_B));
    expect_doc(&d, 4, "big", big, 3u << 20);
    assert_int_equal(d.bytes_in, t.len);
    docs_free(&d);

    /* Same bytes through a pipe. */
    read_pipe(&d, t.p, t.len, "<stdin>", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 5);
    expect_doc(&d, 4, "big", big, 3u << 20);
    docs_free(&d);

    free(big);
    free(blk);
    b_free(&t);
}

static void test_tar_pax_and_gnu(void **state)
{
    (void)state;
    char longname[301];
    memset(longname, 'n', 300);
    memcpy(longname, "collector/recent/", 17);
    longname[300] = '\0';
    char *r1 = pax_record("path", longname);
    char *r2 = pax_record("mtime", "1484000000.5");
    char *r3 = pax_record("size", "16"); /* overrides the header's size */
    char recs[1024];
    snprintf(recs, sizeof recs, "%s%s%s", r2, r1, r3);

    bytes t = {0};
    tar_pax(&t, recs);
    tar_header(&t, NULL, "PaxHeaders-cut-name", 999, '0', MAGIC_POSIX);
    tar_data(&t, DOC_B, 16);
    /* a global header is skipped and does not rename anything */
    char *g = pax_record("comment", "made by a test");
    tar_header(&t, NULL, "pax_global_header", strlen(g), 'g', MAGIC_POSIX);
    tar_data(&t, g, strlen(g));
    tar_file(&t, "after-global", DOC_A, strlen(DOC_A));
    /* GNU long name */
    char gname[201];
    memset(gname, 'g', 200);
    gname[200] = '\0';
    tar_gnu_long(&t, gname, DOC_A, strlen(DOC_A));
    /* pax path on a directory is dropped with it */
    char *r4 = pax_record("path", "some/dir/");
    tar_pax(&t, r4);
    tar_header(&t, NULL, "dir/", 0, '5', MAGIC_POSIX);
    tar_file(&t, "plain", DOC_B, strlen(DOC_B));
    tar_end(&t);

    docs d;
    read_buf(&d, t.p, t.len, "pax.tar", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 4);
    expect_doc(&d, 0, longname, DOC_B, 16);
    expect_doc(&d, 1, "after-global", DOC_A, strlen(DOC_A));
    expect_doc(&d, 2, gname, DOC_A, strlen(DOC_A));
    expect_doc(&d, 3, "plain", DOC_B, strlen(DOC_B));
    docs_free(&d);

    free(r1);
    free(r2);
    free(r3);
    free(r4);
    free(g);
    b_free(&t);
}

static void test_tar_concatenated(void **state)
{
    (void)state;
    bytes t = {0};
    tar_file(&t, "2017-01-01-00-00-00-consensus", DOC_A, strlen(DOC_A));
    tar_end(&t);
    tar_record_pad(&t);
    tar_file(&t, "2017-01-01-01-00-00-consensus", DOC_B, strlen(DOC_B));
    tar_end(&t);
    tar_file(&t, "2017-01-01-02-00-00-consensus", DOC_A, strlen(DOC_A));
    tar_end(&t);
    tar_record_pad(&t);

    docs d;
    read_buf(&d, t.p, t.len, "cat.tar", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 3);
    expect_doc(&d, 0, "2017-01-01-00-00-00-consensus", DOC_A,
               strlen(DOC_A));
    expect_doc(&d, 1, "2017-01-01-01-00-00-consensus", DOC_B,
               strlen(DOC_B));
    expect_doc(&d, 2, "2017-01-01-02-00-00-consensus", DOC_A,
               strlen(DOC_A));
    docs_free(&d);

    /* No end-of-archive blocks at all is accepted too. */
    read_buf(&d, t.p, 512 + 512, "noend.tar", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 1);
    docs_free(&d);

    /* An empty archive has no documents. */
    bytes e = {0};
    tar_record_pad(&e);
    b_zeros(&e, 10240);
    read_buf(&d, e.p, e.len, "empty.tar", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.format, EXST_ARCHIVE_TAR);
    assert_int_equal(d.n, 0);
    b_free(&e);
    b_free(&t);
}

static void test_tar_zstd(void **state)
{
    (void)state;
    bytes t = {0};
    char *big = make_text(5u << 20, 3);
    tar_file(&t, "one", DOC_A, strlen(DOC_A));
    tar_file(&t, "big", big, 5u << 20);
    tar_end(&t);
    tar_file(&t, "two", DOC_B, strlen(DOC_B));
    tar_end(&t);

    /* two frames, split at an arbitrary point */
    bytes z = {0};
    zcompress(&z, t.p, 12345, 3, 0);
    zcompress(&z, t.p + 12345, t.len - 12345, 1, 1);

    docs d;
    read_buf(&d, z.p, z.len, "x.tar.zst", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.format, EXST_ARCHIVE_TAR | EXST_ARCHIVE_ZSTD);
    assert_int_equal(d.n, 3);
    expect_doc(&d, 0, "one", DOC_A, strlen(DOC_A));
    expect_doc(&d, 1, "big", big, 5u << 20);
    expect_doc(&d, 2, "two", DOC_B, strlen(DOC_B));
    assert_int_equal(d.bytes_in, z.len);
    docs_free(&d);

    read_pipe(&d, z.p, z.len, "<stdin>", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 3);
    expect_doc(&d, 1, "big", big, 5u << 20);
    docs_free(&d);

    free(big);
    b_free(&z);
    b_free(&t);
}

static void test_tar_zstd_members(void **state)
{
    (void)state;
    /* tar cf x.tar *.zst: each member is decompressed */
    bytes m = {0};
    zcompress(&m, DOC_A, strlen(DOC_A), 3, 1);
    bytes t = {0};
    tar_file(&t, "a.zst", m.p, m.len);
    tar_file(&t, "b", DOC_B, strlen(DOC_B));
    tar_end(&t);
    docs d;
    read_buf(&d, t.p, t.len, "zmembers.tar", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 2);
    expect_doc(&d, 0, "a.zst", DOC_A, strlen(DOC_A));
    expect_doc(&d, 1, "b", DOC_B, strlen(DOC_B));
    docs_free(&d);
    b_free(&t);

    /* a corrupt one names the member */
    m.p[m.len - 2] ^= 0x55; /* in the checksum */
    tar_file(&t, "bad.zst", m.p, m.len);
    tar_end(&t);
    read_buf(&d, t.p, t.len, "zmembers.tar", 0);
    assert_int_equal(d.rc, EXST_ERR_COMPRESS);
    assert_non_null(strstr(d.err.message, "member 'bad.zst'"));
    b_free(&t);
    b_free(&m);

    /* a bomb as a member: over the limit */
    char *zeros = calloc(1, 4u << 20);
    assert_non_null(zeros);
    zcompress(&m, zeros, 4u << 20, 19, 0);
    tar_file(&t, "bomb.zst", m.p, m.len);
    tar_end(&t);
    read_buf(&d, t.p, t.len, "zmembers.tar", 1u << 20);
    assert_int_equal(d.rc, EXST_ERR_LIMIT);
    assert_non_null(strstr(d.err.message, "member 'bomb.zst'"));
    free(zeros);
    b_free(&t);
    b_free(&m);
}

/* ------------------------------------------------------------------ */
/* Tests: single documents                                            */
/* ------------------------------------------------------------------ */

static void test_single(void **state)
{
    (void)state;
    docs d;
    /* short (under one block) */
    read_buf(&d, DOC_A, strlen(DOC_A), "cached-consensus", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.format, 0);
    assert_int_equal(d.n, 1);
    expect_doc(&d, 0, "cached-consensus", DOC_A, strlen(DOC_A));
    docs_free(&d);

    /* empty input: one empty document, for the parser to reject */
    read_buf(&d, "", 0, "empty", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 1);
    expect_doc(&d, 0, "empty", "", 0);
    docs_free(&d);

    /* long, plain and compressed, file and pipe */
    char *text = make_text((5u << 20) + 123, 11);
    const size_t tl = (5u << 20) + 123;
    read_buf(&d, text, tl, "big", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 1);
    expect_doc(&d, 0, "big", text, tl);
    docs_free(&d);
    read_pipe(&d, text, tl, "<stdin>", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 1);
    expect_doc(&d, 0, "<stdin>", text, tl);
    docs_free(&d);

    bytes z = {0};
    zcompress(&z, text, tl, 3, 1);
    read_buf(&d, z.p, z.len, "big.zst", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.format, EXST_ARCHIVE_ZSTD);
    assert_int_equal(d.n, 1);
    expect_doc(&d, 0, "big.zst", text, tl);
    docs_free(&d);
    read_pipe(&d, z.p, z.len, NULL, 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 1);
    expect_doc(&d, 0, "<input>", text, tl);
    docs_free(&d);

    /* exactly at the limit passes, one byte over fails */
    read_buf(&d, text, tl, "big", tl);
    assert_int_equal(d.rc, EXST_OK);
    docs_free(&d);
    read_buf(&d, text, tl, "big", tl - 1);
    assert_int_equal(d.rc, EXST_ERR_LIMIT);
    assert_string_equal(d.err.source, "big");
    b_free(&z);
    free(text);
}

/* ------------------------------------------------------------------ */
/* Tests: errors                                                      */
/* ------------------------------------------------------------------ */

static void test_truncated(void **state)
{
    (void)state;
    char *body = make_text(3000, 5);
    bytes t = {0};
    tar_file(&t, "2016-12-31-23-00-00-consensus", DOC_A, strlen(DOC_A));
    const size_t second = t.len;
    tar_file(&t, "2017-01-01-00-00-00-consensus", body, 3000);
    tar_end(&t);

    docs d;
    /* cut inside the second member's data */
    read_buf(&d, t.p, second + 512 + 1000, "x.tar", 0);
    assert_int_equal(d.rc, EXST_ERR_SYNTAX);
    assert_int_equal(d.n, 1);
    expect_doc(&d, 0, "2016-12-31-23-00-00-consensus", DOC_A,
               strlen(DOC_A));
    assert_string_equal(d.err.message,
                        "archive 'x.tar': member "
                        "'2017-01-01-00-00-00-consensus' is truncated");
    assert_string_equal(d.err.source, "x.tar");
    docs_free(&d);

    /* cut inside a header */
    read_buf(&d, t.p, second + 100, "x.tar", 0);
    assert_int_equal(d.rc, EXST_ERR_SYNTAX);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.err.message, "truncated tar header"));
    docs_free(&d);

    /* cut in the padding after the last member */
    read_buf(&d, t.p, second + 512 + 3000 + 10, "x.tar", 0);
    assert_int_equal(d.rc, EXST_ERR_SYNTAX);
    assert_int_equal(d.n, 2);
    assert_non_null(strstr(d.err.message,
                           "after member '2017-01-01-00-00-00-consensus'"));
    docs_free(&d);

    /* the same cut inside a zstd stream */
    bytes z = {0};
    zcompress(&z, t.p, second + 512 + 1000, 3, 0);
    read_buf(&d, z.p, z.len, "x.tar.zst", 0);
    assert_int_equal(d.rc, EXST_ERR_SYNTAX);
    assert_non_null(strstr(d.err.message,
                           "'2017-01-01-00-00-00-consensus' is truncated"));
    docs_free(&d);
    b_free(&z);

    free(body);
    b_free(&t);
}

static void test_bad_checksum(void **state)
{
    (void)state;
    bytes t = {0};
    tar_file(&t, "first", DOC_A, strlen(DOC_A));
    const size_t second = t.len;
    tar_file(&t, "second", DOC_B, strlen(DOC_B));
    tar_end(&t);

    docs d;
    t.p[second + 10] ^= 1; /* a byte of the second name */
    read_buf(&d, t.p, t.len, "x.tar", 0);
    assert_int_equal(d.rc, EXST_ERR_SYNTAX);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.err.message, "bad tar header checksum"));
    assert_non_null(strstr(d.err.message, "after member 'first'"));
    docs_free(&d);
    t.p[second + 10] ^= 1;

    t.p[148] = '9'; /* not octal in the first checksum */
    read_buf(&d, t.p, t.len, "x.tar", 0);
    assert_int_equal(d.rc, EXST_ERR_SYNTAX);
    assert_int_equal(d.n, 0);
    assert_non_null(strstr(d.err.message, "checksum"));
    docs_free(&d);

    /* garbage after the end of an archive */
    bytes g = {0};
    tar_file(&g, "first", DOC_A, strlen(DOC_A));
    tar_end(&g);
    b_put(&g, t.p + second + 10, 512);
    read_buf(&d, g.p, g.len, "x.tar", 0);
    assert_int_equal(d.rc, EXST_ERR_SYNTAX);
    assert_int_equal(d.n, 1);
    docs_free(&d);
    b_free(&g);
    b_free(&t);
}

static void test_bomb(void **state)
{
    (void)state;
    /* 64 MiB of zeros compress to a few KiB; the limit stops reading
     * long before it is all decompressed. */
    const size_t n = 64u << 20;
    char *zeros = calloc(1, n);
    assert_non_null(zeros);
    bytes z = {0};
    zcompress(&z, zeros, n, 3, 0);
    free(zeros);
    assert_true(z.len < (64u << 10));
    docs d;
    /* zeros look like tar end-of-archive blocks: the run is bounded */
    read_buf(&d, z.p, z.len, "bomb.zst", 1u << 20);
    assert_int_equal(d.rc, EXST_ERR_LIMIT);
    assert_int_equal(d.n, 0);
    assert_string_equal(d.err.source, "bomb.zst");
    assert_non_null(strstr(d.err.message, "zero blocks"));
    b_free(&z);

    /* text: a single document over the limit */
    char *as = malloc(n);
    assert_non_null(as);
    memset(as, 'A', n);
    zcompress(&z, as, n, 3, 0);
    free(as);
    assert_true(z.len < (64u << 10));
    read_buf(&d, z.p, z.len, "bomb.zst", 1u << 20);
    assert_int_equal(d.rc, EXST_ERR_LIMIT);
    assert_int_equal(d.n, 0);
    assert_string_equal(d.err.source, "bomb.zst");
    assert_string_equal(d.err.message, "input 'bomb.zst' is over the "
                        "document size limit of 1048576 bytes");
    assert_true(d.bytes_in <= z.len);
    read_pipe(&d, z.p, z.len, "<stdin>", 1u << 20);
    assert_int_equal(d.rc, EXST_ERR_LIMIT);
    b_free(&z);

    /* a tar member whose header is over the limit */
    bytes t = {0};
    char *text = make_text(2u << 20, 1);
    tar_file(&t, "ok", DOC_A, strlen(DOC_A));
    tar_file(&t, "huge-member", text, 2u << 20);
    tar_end(&t);
    zcompress(&z, t.p, t.len, 1, 0);
    read_buf(&d, z.p, z.len, "x.tar.zst", 1u << 20);
    assert_int_equal(d.rc, EXST_ERR_LIMIT);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.err.message, "member 'huge-member'"));
    docs_free(&d);
    free(text);
    b_free(&t);
    b_free(&z);
}

static void test_corrupt_zstd(void **state)
{
    (void)state;
    docs d;
    /* a frame header with reserved bits set */
    unsigned char bad[64];
    memset(bad, 0xff, sizeof bad);
    memcpy(bad, "\x28\xb5\x2f\xfd", 4);
    read_buf(&d, bad, sizeof bad, "bad.zst", 0);
    assert_int_equal(d.rc, EXST_ERR_COMPRESS);
    assert_string_equal(d.err.source, "bad.zst");

    /* flipped bytes in the middle of a checksummed frame */
    char *text = make_text(1u << 20, 9);
    bytes z = {0};
    zcompress(&z, text, 1u << 20, 3, 1);
    for (size_t i = z.len / 2; i < z.len / 2 + 16; i++)
        z.p[i] ^= 0xa5;
    read_buf(&d, z.p, z.len, "flip.zst", 0);
    assert_int_equal(d.rc, EXST_ERR_COMPRESS);
    docs_free(&d);
    b_free(&z);

    /* truncated frame */
    zcompress(&z, text, 1u << 20, 3, 1);
    read_buf(&d, z.p, z.len - 100, "cut.zst", 0);
    assert_int_equal(d.rc, EXST_ERR_COMPRESS);
    assert_non_null(strstr(d.err.message, "truncated zstd data"));
    docs_free(&d);

    /* trailing garbage after a frame */
    b_put(&z, "garbage!", 8);
    read_buf(&d, z.p, z.len, "tail.zst", 0);
    assert_int_equal(d.rc, EXST_ERR_COMPRESS);
    docs_free(&d);
    b_free(&z);
    free(text);
}

static void test_io_error(void **state)
{
    (void)state;
    docs d;
    read_all(&d, -1, "closed", 0);
    assert_int_equal(d.rc, EXST_ERR_IO);
    assert_non_null(strstr(d.err.message, "cannot read 'closed'"));
}

/* Fail the Nth allocation for N = 0, 1, ... while reading `in`: every
 * run fails with EXST_ERR_NOMEM until one succeeds with n documents, the
 * i-th being (name, data). */
static void sweep_nomem(const bytes *in, size_t n, size_t i,
                        const char *name, const char *data)
{
    char *path = tmp_write(in->p, in->len);
    bool passed = false;
    for (long k = 0; k < 300 && !passed; k++) {
        const int fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        docs d;
        exstp_alloc_fail_after(k);
        read_all(&d, fd, "x", 0);
        exstp_alloc_fail_after(-1);
        close(fd);
        if (d.rc == EXST_OK) {
            assert_int_equal(d.n, n);
            expect_doc(&d, i, name, data, strlen(data));
            passed = true;
        } else {
            assert_int_equal(d.rc, EXST_ERR_NOMEM);
        }
        docs_free(&d);
    }
    assert_true(passed);
    unlink(path);
    free(path);
}

static void test_nomem(void **state)
{
    (void)state;
    bytes t = {0};
    char *r = pax_record("path", "renamed-by-pax");
    tar_pax(&t, r);
    tar_file(&t, "a", DOC_A, strlen(DOC_A));
    tar_file(&t, "b", DOC_B, strlen(DOC_B));
    tar_end(&t);
    bytes z = {0};
    zcompress(&z, t.p, t.len, 1, 0);
    sweep_nomem(&z, 2, 0, "renamed-by-pax", DOC_A);
    free(r);
    b_free(&z);
    b_free(&t);
}

/* ------------------------------------------------------------------ */
/* Tests: header peek                                                 */
/* ------------------------------------------------------------------ */

static int peek(int64_t *t, exst_flavor *f, const char *s, exst_error *e)
{
    return exst_peek_header(t, f, s, strlen(s), "doc", e);
}

static void test_peek(void **state)
{
    (void)state;
    int64_t t = 0;
    exst_flavor f = EXST_FLAVOR_MICRODESC;
    exst_error e;
    assert_int_equal(peek(&t, &f,
                          "network-status-version 3\n"
                          "vote-status consensus\n"
                          "consensus-method 28\n"
                          "valid-after 2019-04-15 14:00:00\n"
                          "fresh-until 2019-04-15 15:00:00\n", &e),
                     EXST_OK);
    assert_int_equal(f, EXST_FLAVOR_NS);
    assert_int_equal(t, exstp_timegm(2019, 4, 15, 14, 0, 0));
    assert_int_equal(t, 1555336800);

    assert_int_equal(peek(&t, &f,
                          "@type network-status-microdesc-consensus-3 1.0\n"
                          "network-status-version 3 microdesc\n"
                          "vote-status consensus\n"
                          "consensus-method 25\n"
                          "valid-after 2016-02-29 23:59:59\n", &e),
                     EXST_OK);
    assert_int_equal(f, EXST_FLAVOR_MICRODESC);
    assert_int_equal(t, exstp_timegm(2016, 2, 29, 23, 59, 59));

    /* a vote */
    assert_int_equal(peek(&t, &f,
                          "network-status-version 3\n"
                          "vote-status vote\n"
                          "valid-after 2019-04-15 14:00:00\n", &e),
                     EXST_ERR_SEMANTIC);
    assert_int_equal(e.line, 2);
    assert_string_equal(e.keyword, "vote-status");
    assert_string_equal(e.source, "doc");
    assert_non_null(strstr(e.message, "not a consensus"));

    /* something else entirely */
    assert_int_equal(peek(&t, &f, "dir-key-certificate-version 3\n", &e),
                     EXST_ERR_SEMANTIC);
    assert_int_equal(e.line, 1);
    assert_non_null(strstr(e.message, "not a consensus"));
    assert_int_equal(peek(&t, &f, "network-status-version 2\n", &e),
                     EXST_ERR_SEMANTIC);
    assert_int_equal(peek(&t, &f, "network-status-version 3 ns\n", &e),
                     EXST_ERR_SEMANTIC);
    assert_int_equal(exst_peek_header(&t, &f, NULL, 0, NULL, &e),
                     EXST_ERR_SEMANTIC);
    assert_int_equal(peek(&t, &f, "@type x\n@other y\n", &e),
                     EXST_ERR_SEMANTIC);

    /* no valid-after in the first lines */
    assert_int_equal(peek(&t, &f,
                          "network-status-version 3\n"
                          "vote-status consensus\n"
                          "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\no\np\n"
                          "q\nr\ns\nt\nu\nv\nw\n"
                          "valid-after 2019-04-15 14:00:00\n", &e),
                     EXST_ERR_SEMANTIC);
    assert_string_equal(e.keyword, "valid-after");

    /* malformed times */
    static const char *const bad[] = {
        "2019-04-15 24:00:00", "2019-13-15 14:00:00", "2019-02-29 14:00:00",
        "2019-04-31 14:00:00", "2019-4-15 14:00:00",  "2019-04-15",
        "2019-04-15 14:00:00 extra", "1969-12-31 23:59:59",
        "2019-04-15T14:00:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[256];
        snprintf(doc, sizeof doc,
                 "network-status-version 3\nvote-status consensus\n"
                 "valid-after %s\n", bad[i]);
        assert_int_equal(peek(&t, &f, doc, &e), EXST_ERR_SYNTAX);
        assert_int_equal(e.line, 3);
        assert_string_equal(e.keyword, "valid-after");
    }

    /* CR line endings */
    assert_int_equal(peek(&t, &f,
                          "network-status-version 3\r\n"
                          "vote-status consensus\r\n", &e),
                     EXST_ERR_SYNTAX);
    assert_int_equal(e.line, 1);
    assert_non_null(strstr(e.message, "CR"));

    /* outputs untouched on failure */
    t = 42;
    f = EXST_FLAVOR_MICRODESC;
    assert_int_equal(peek(&t, &f, "junk\n", NULL), EXST_ERR_SEMANTIC);
    assert_int_equal(t, 42);
    assert_int_equal(f, EXST_FLAVOR_MICRODESC);
}

static const unsigned fmt_bits[4] = {0, EXST_ARCHIVE_ZSTD, EXST_ARCHIVE_XZ,
                                     EXST_ARCHIVE_GZIP};

/* Defined with the xz and gzip tests below. */
static void b_comp(bytes *out, int fmt, const void *p, size_t n);
static void expect_piece(const docs *d, size_t i, const char *name,
                         const void *data, size_t len, size_t index,
                         uint64_t offset, exst_doc_kind kind,
                         const char *type);

/* ------------------------------------------------------------------ */
/* Real documents                                                     */
/* ------------------------------------------------------------------ */

/* "consensus-microdesc-YYYY-MM-DD-HH-MM-SS.zst" to Unix seconds. */
static int64_t time_from_name(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b != NULL ? b + 1 : path;
    const char *p = b + strlen("consensus-microdesc-");
    int v[6];
    for (int i = 0; i < 6; i++) {
        const int w = i == 0 ? 4 : 2;
        v[i] = 0;
        for (int k = 0; k < w; k++)
            v[i] = v[i] * 10 + (p[k] - '0');
        p += w + 1;
    }
    return exstp_timegm(v[0], v[1], v[2], v[3], v[4], v[5]);
}

static void test_series(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    char *dir = tu_path(tu_shared_dir(), "series-2016-2017");
    char **files = tu_list_dir(dir);
    assert_non_null(files);
    size_t n = 0;
    while (files[n] != NULL)
        n++;
    assert_int_equal(n, 32);

    char *text[32];
    size_t len[32];
    bytes t = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tu_read_doc(files[i], &text[i], &len[i]), 0);
        const char *b = strrchr(files[i], '/') + 1;
        char name[128];
        snprintf(name, sizeof name, "series/%.*s", (int)(strlen(b) - 4), b);
        tar_file(&t, name, text[i], len[i]);
    }
    tar_end(&t);
    tar_record_pad(&t);

    /* plain tar on disk, then zstd tar through a pipe */
    bytes z = {0};
    zcompress(&z, t.p, t.len, 3, 0);
    for (int pass = 0; pass < 2; pass++) {
        docs d;
        if (pass == 0)
            read_buf(&d, t.p, t.len, "series.tar", 0);
        else
            read_pipe(&d, z.p, z.len, "<stdin>", 0);
        assert_int_equal(d.rc, EXST_OK);
        assert_int_equal(d.n, 32);
        for (size_t i = 0; i < n; i++) {
            const char *b = strrchr(files[i], '/') + 1;
            char name[128];
            snprintf(name, sizeof name, "series/%.*s", (int)(strlen(b) - 4),
                     b);
            expect_doc(&d, i, name, text[i], len[i]);
            int64_t va;
            exst_flavor fl;
            exst_error e;
            assert_int_equal(exst_peek_header(&va, &fl, d.data[i], d.len[i],
                                              d.name[i], &e),
                             EXST_OK);
            assert_int_equal(fl, EXST_FLAVOR_MICRODESC);
            assert_int_equal(va, time_from_name(files[i]));
        }
        docs_free(&d);
    }

    /* All 32 back to back (as `zstd -dc *.zst` gives), in xz and gzip
     * through a pipe, in two streams: split into the 32 again. */
    bytes cat = {0};
    for (size_t i = 0; i < n; i++)
        b_put(&cat, text[i], len[i]);
    for (int f = TU_XZ; f <= TU_GZIP; f++) {
        bytes zc = {0};
        b_comp(&zc, f, cat.p, cat.len / 3);
        b_comp(&zc, f, cat.p + cat.len / 3, cat.len - cat.len / 3);
        docs d;
        read_pipe(&d, zc.p, zc.len, "<stdin>", 0);
        assert_int_equal(d.rc, EXST_OK);
        assert_int_equal(d.format, fmt_bits[f]);
        assert_int_equal(d.n, 32);
        uint64_t off = 0;
        for (size_t i = 0; i < n; i++) {
            expect_piece(&d, i, "<stdin>", text[i], len[i], i, off,
                         EXST_DOC_CONSENSUS, "");
            off += len[i];
        }
        docs_free(&d);
        b_free(&zc);
    }
    b_free(&cat);

    /* each .zst file read directly is one document */
    const int fd = open(files[0], O_RDONLY);
    assert_true(fd >= 0);
    docs d;
    read_all(&d, fd, files[0], 0);
    close(fd);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 1);
    expect_doc(&d, 0, files[0], text[0], len[0]);
    docs_free(&d);

    for (size_t i = 0; i < n; i++)
        free(text[i]);
    b_free(&z);
    b_free(&t);
    tu_free_list(files);
    free(dir);
}

static void test_live_peek(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    char *dir = tu_path(tu_shared_dir(), "live");
    char **files = tu_list_dir(dir);
    assert_non_null(files);
    for (char **f = files; *f != NULL; f++) {
        const char *b = strrchr(*f, '/') + 1;
        const int fd = open(*f, O_RDONLY);
        assert_true(fd >= 0);
        docs d;
        read_all(&d, fd, *f, 0);
        close(fd);
        assert_int_equal(d.rc, EXST_OK);
        assert_int_equal(d.n, 1);
        int64_t va;
        exst_flavor fl;
        exst_error e;
        assert_int_equal(exst_peek_header(&va, &fl, d.data[0], d.len[0],
                                          b, &e),
                         EXST_OK);
        const bool md = strncmp(b, "consensus-microdesc-", 20) == 0;
        assert_int_equal(fl, md ? EXST_FLAVOR_MICRODESC : EXST_FLAVOR_NS);
        const char *p = b + (md ? 20 : 13);
        int v[6];
        for (int i = 0; i < 6; i++) {
            const int w = i == 0 ? 4 : 2;
            v[i] = 0;
            for (int k = 0; k < w; k++)
                v[i] = v[i] * 10 + (p[k] - '0');
            p += w + 1;
        }
        assert_int_equal(va, exstp_timegm(v[0], v[1], v[2], v[3], v[4],
                                          v[5]));
        docs_free(&d);
    }
    tu_free_list(files);
    free(dir);

    /* the vote sample is not a consensus */
    char *vote = tu_path(tu_shared_dir(),
                         "samples/vote-2016-09-20-13-00-00-maatuska-"
                         "collector.zst");
    char *buf;
    size_t len;
    assert_int_equal(tu_read_doc(vote, &buf, &len), 0);
    int64_t va;
    exst_flavor fl;
    exst_error e;
    assert_int_equal(exst_peek_header(&va, &fl, buf, len, "vote", &e),
                     EXST_ERR_SEMANTIC);
    free(buf);
    free(vote);
}

/* ------------------------------------------------------------------ */
/* Directory walk                                                     */
/* ------------------------------------------------------------------ */

static void touch(const char *dir, const char *rel)
{
    char *p = tu_path(dir, rel);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("x\n", fp);
    fclose(fp);
    free(p);
}

static void mkdir_in(const char *dir, const char *rel)
{
    char *p = tu_path(dir, rel);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
}

static void test_collect_paths(void **state)
{
    (void)state;
    char *root = tu_path(tmpdir, "walk");
    assert_int_equal(mkdir(root, 0755), 0);
    mkdir_in(root, "d");
    mkdir_in(root, "d/sub");
    mkdir_in(root, "d/empty");
    touch(root, "d/b");
    touch(root, "d/a");
    touch(root, "d/.hidden");
    touch(root, "d/sub/c");
    touch(root, "single");
    char *fifo = tu_path(root, "d/fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char *loop = tu_path(root, "d/sub/loop");
    char *ddir = tu_path(root, "d");
    assert_int_equal(symlink(ddir, loop), 0);
    char *single = tu_path(root, "single");
    char *dslash = tu_path(root, "d/");

    const char *inputs[] = {single, dslash, "-"};
    char **paths = NULL;
    size_t n = 99;
    exst_error e;
    assert_int_equal(exst_collect_paths(&paths, &n, inputs, 3, &e), EXST_OK);
    assert_int_equal(n, 5);
    const char *want[] = {"single", "d/a", "d/b", "d/sub/c", NULL};
    for (size_t i = 0; i < 4; i++) {
        char *w = tu_path(root, want[i]);
        assert_string_equal(paths[i], w);
        free(w);
    }
    assert_string_equal(paths[4], "-");
    exst_paths_free(paths, n);

    /* a missing input */
    char *missing = tu_path(root, "nope");
    const char *bad[] = {single, missing};
    paths = (char **)1;
    assert_int_equal(exst_collect_paths(&paths, &n, bad, 2, &e),
                     EXST_ERR_IO);
    assert_null(paths);
    assert_int_equal(n, 0);
    assert_non_null(strstr(e.message, "cannot open '"));
    assert_non_null(strstr(e.message, "nope': No such file"));

    /* nothing in, nothing out */
    assert_int_equal(exst_collect_paths(&paths, &n, NULL, 0, &e), EXST_OK);
    assert_int_equal(n, 0);
    exst_paths_free(paths, n);
    exst_paths_free(NULL, 0);

    /* out of memory anywhere fails cleanly */
    bool passed = false;
    for (long k = 0; k < 200 && !passed; k++) {
        exstp_alloc_fail_after(k);
        const int rc = exst_collect_paths(&paths, &n, inputs, 3, &e);
        exstp_alloc_fail_after(-1);
        if (rc == EXST_OK) {
            assert_int_equal(n, 5);
            exst_paths_free(paths, n);
            passed = true;
        } else {
            assert_int_equal(rc, EXST_ERR_NOMEM);
            assert_null(paths);
        }
    }
    assert_true(passed);

    unlink(loop);
    unlink(fifo);
    static const char *const files[] = {"d/b", "d/a", "d/.hidden",
                                        "d/sub/c", "single"};
    for (size_t i = 0; i < 5; i++) {
        char *p = tu_path(root, files[i]);
        unlink(p);
        free(p);
    }
    static const char *const dirs[] = {"d/sub", "d/empty", "d"};
    for (size_t i = 0; i < 3; i++) {
        char *p = tu_path(root, dirs[i]);
        assert_int_equal(rmdir(p), 0);
        free(p);
    }
    assert_int_equal(rmdir(root), 0);
    free(missing);
    free(dslash);
    free(single);
    free(ddir);
    free(loop);
    free(fifo);
    free(root);
}

/* peek_bytes cuts documents to a prefix (for sorting inputs) yet keeps the
 * stream in step: the member after a cut one comes back whole, and a zstd
 * member is never cut (a frame's prefix does not decompress). */
static void peek_first(const void *p, size_t n, size_t peek, const char **name,
                       size_t *len, char *first, size_t firstsz)
{
    char *path = tmp_write(p, n);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    exst_archive *a = NULL;
    exst_archive_opts o = {.peek_bytes = peek};
    exst_error err;
    exst_archive_doc d;
    assert_int_equal(exst_archive_open(&a, fd, "in", &o, &err), EXST_OK);
    assert_int_equal(exst_archive_next(a, &d, &err), EXST_OK);
    assert_non_null(d.data);
    *len = d.len;
    snprintf(first, firstsz, "%s", d.name);
    *name = NULL;
    /* the next member, whole */
    assert_int_equal(exst_archive_next(a, &d, &err), EXST_OK);
    if (d.data != NULL) {
        *name = "second";
        assert_string_equal(d.name, "b");
        assert_int_equal(d.len, sizeof DOC_B - 1);
        assert_memory_equal(d.data, DOC_B, d.len);
    }
    exst_archive_close(a);
    close(fd);
    unlink(path);
    free(path);
}

static void test_peek_bytes(void **state)
{
    (void)state;
    char *big = make_text(100000, 7);
    bytes t = {0}, z = {0}, zt = {0};
    const char *second;
    size_t len;
    char first[64];
    tar_file(&t, "a", big, 100000);
    tar_file(&t, "b", DOC_B, sizeof DOC_B - 1);
    tar_end(&t);
    peek_first(t.p, t.len, 4096, &second, &len, first, sizeof first);
    assert_int_equal(len, 4096);
    assert_string_equal(first, "a");
    assert_non_null(second);
    /* a single plain document: its prefix */
    peek_first(big, 100000, 4096, &second, &len, first, sizeof first);
    assert_int_equal(len, 4096);
    assert_null(second);
    /* a single zstd document: a prefix of the decompressed text */
    zcompress(&z, big, 100000, 3, 0);
    peek_first(z.p, z.len, 4096, &second, &len, first, sizeof first);
    assert_int_equal(len, 4096);
    /* a zstd member is read whole, and only its start decoded */
    tar_file(&zt, "a", z.p, z.len);
    tar_file(&zt, "b", DOC_B, sizeof DOC_B - 1);
    tar_end(&zt);
    peek_first(zt.p, zt.len, 64, &second, &len, first, sizeof first);
    assert_int_equal(len, 64);
    assert_non_null(second);
    b_free(&t);
    b_free(&z);
    b_free(&zt);
    free(big);
}

/* ------------------------------------------------------------------ */
/* xz, gzip, concatenated documents, classification                   */
/* ------------------------------------------------------------------ */

static const char *const fmt_ext[4] = {"", ".zst", ".xz", ".gz"};

/* (p, n) compressed in format fmt (0: a copy), appended to *out. */
static void b_comp(bytes *out, int fmt, const void *p, size_t n)
{
    if (fmt == 0) {
        b_put(out, p, n);
        return;
    }
    unsigned char *z = NULL;
    size_t zn = 0;
    tu_compress(fmt, &z, &zn, p, n);
    b_put(out, z, zn);
    free(z);
}

/* A document shaped like a consensus at both ends: its first lines
 * (first, then "network-status-version 3"), filler text up to about
 * body bytes, and a footer with two signature objects. */
static char *mini_doc(const char *first, size_t body, unsigned seed,
                      size_t *len)
{
    static const char foot[] =
        "directory-footer\n"
        "directory-signature 0123 4567\n"
        "-----BEGIN SIGNATURE-----\nQUJD\n-----END SIGNATURE-----\n"
        "directory-signature 89AB CDEF\n"
        "-----BEGIN SIGNATURE-----\nREVG\n-----END SIGNATURE-----\n";
    char *text = make_text(body, seed);
    const size_t fl = strlen(first);
    static const char ver[] = "network-status-version 3\n";
    *len = fl + sizeof ver - 1 + body + sizeof foot - 1;
    char *d = malloc(*len + 1);
    assert_non_null(d);
    memcpy(d, first, fl);
    memcpy(d + fl, ver, sizeof ver - 1);
    memcpy(d + fl + sizeof ver - 1, text, body);
    memcpy(d + fl + sizeof ver - 1 + body, foot, sizeof foot);
    free(text);
    return d;
}

static void expect_piece(const docs *d, size_t i, const char *name,
                         const void *data, size_t len, size_t index,
                         uint64_t offset, exst_doc_kind kind,
                         const char *type)
{
    expect_doc(d, i, name, data, len);
    assert_int_equal(d->index[i], index);
    assert_int_equal(d->offset[i], offset);
    assert_int_equal(d->kind[i], kind);
    assert_string_equal(d->type[i], type);
}

static const char AT_NS[] = "@type network-status-consensus-3 1.0\n";
static const char AT_MD[] =
    "@type network-status-microdesc-consensus-3 1.0\n";

/* Every format x {one document, documents back to back, several streams,
 * a tar archive (with members of each format and a member holding two
 * documents), the tar in two streams}, from a file and through a pipe. */
static void test_formats(void **state)
{
    (void)state;
    size_t la, lb, lc;
    char *A = mini_doc(AT_NS, 700000, 1, &la); /* crosses a refill */
    char *B = mini_doc("", 3000, 2, &lb);
    char *C = mini_doc(AT_MD, 5000, 3, &lc);
    bytes cat = {0};
    b_put(&cat, A, la);
    b_put(&cat, B, lb);
    b_put(&cat, C, lc);
    const char *nsT = "network-status-consensus-3";
    const char *mdT = "network-status-microdesc-consensus-3";

    /* The tar: a, b (B then C back to back), then B as a member in each
     * compression. */
    bytes t = {0};
    tar_file(&t, "a", A, la);
    tar_file(&t, "b", cat.p + la, lb + lc);
    for (int mf = 1; mf <= 3; mf++) {
        bytes m = {0};
        b_comp(&m, mf, B, lb);
        char nm[16];
        snprintf(nm, sizeof nm, "m%s", fmt_ext[mf]);
        tar_file(&t, nm, m.p, m.len);
        b_free(&m);
    }
    tar_end(&t);
    tar_record_pad(&t);

    for (int f = 0; f <= 3; f++) {
        docs d;
        bytes in = {0};
        char name[32];
        /* one document */
        b_comp(&in, f, A, la);
        snprintf(name, sizeof name, "one%s", fmt_ext[f]);
        read_buf(&d, in.p, in.len, name, 0);
        assert_int_equal(d.rc, EXST_OK);
        assert_int_equal(d.format, fmt_bits[f]);
        assert_int_equal(d.n, 1);
        expect_piece(&d, 0, name, A, la, 0, 0, EXST_DOC_CONSENSUS, nsT);
        assert_int_equal(d.bytes_in, in.len);
        docs_free(&d);
        b_free(&in);

        /* three documents back to back, file and pipe */
        b_comp(&in, f, cat.p, cat.len);
        snprintf(name, sizeof name, "cat%s", fmt_ext[f]);
        for (int pipe_ = 0; pipe_ < 2; pipe_++) {
            if (pipe_)
                read_pipe(&d, in.p, in.len, name, 0);
            else
                read_buf(&d, in.p, in.len, name, 0);
            assert_int_equal(d.rc, EXST_OK);
            assert_int_equal(d.format, fmt_bits[f]);
            assert_int_equal(d.n, 3);
            expect_piece(&d, 0, name, A, la, 0, 0, EXST_DOC_CONSENSUS, nsT);
            expect_piece(&d, 1, name, B, lb, 1, la, EXST_DOC_CONSENSUS, "");
            expect_piece(&d, 2, name, C, lc, 2, la + lb,
                         EXST_DOC_CONSENSUS, mdT);
            docs_free(&d);
        }
        b_free(&in);

        /* several streams, cut at odd places (one inside A) */
        if (f != 0) {
            b_comp(&in, f, cat.p, 4321);
            b_comp(&in, f, cat.p + 4321, la + 10 - 4321);
            b_comp(&in, f, cat.p + la + 10, cat.len - la - 10);
            read_buf(&d, in.p, in.len, "multi", 0);
            assert_int_equal(d.rc, EXST_OK);
            assert_int_equal(d.n, 3);
            expect_piece(&d, 0, "multi", A, la, 0, 0, EXST_DOC_CONSENSUS,
                         nsT);
            expect_piece(&d, 2, "multi", C, lc, 2, la + lb,
                         EXST_DOC_CONSENSUS, mdT);
            docs_free(&d);
            b_free(&in);
        }

        /* the tar, in one stream and in two */
        for (int streams = 1; streams <= (f != 0 ? 2 : 1); streams++) {
            if (streams == 1) {
                b_comp(&in, f, t.p, t.len);
            } else {
                b_comp(&in, f, t.p, 1000);
                b_comp(&in, f, t.p + 1000, t.len - 1000);
            }
            snprintf(name, sizeof name, "x.tar%s", fmt_ext[f]);
            for (int pipe_ = 0; pipe_ < 2; pipe_++) {
                if (pipe_)
                    read_pipe(&d, in.p, in.len, name, 0);
                else
                    read_buf(&d, in.p, in.len, name, 0);
                assert_int_equal(d.rc, EXST_OK);
                assert_int_equal(d.format, fmt_bits[f] | EXST_ARCHIVE_TAR);
                assert_int_equal(d.n, 6);
                expect_piece(&d, 0, "a", A, la, 0, 0, EXST_DOC_CONSENSUS,
                             nsT);
                expect_piece(&d, 1, "b", B, lb, 0, 0, EXST_DOC_CONSENSUS,
                             "");
                expect_piece(&d, 2, "b", C, lc, 1, lb, EXST_DOC_CONSENSUS,
                             mdT);
                expect_piece(&d, 3, "m.zst", B, lb, 0, 0,
                             EXST_DOC_CONSENSUS, "");
                expect_piece(&d, 4, "m.xz", B, lb, 0, 0, EXST_DOC_CONSENSUS,
                             "");
                expect_piece(&d, 5, "m.gz", B, lb, 0, 0, EXST_DOC_CONSENSUS,
                             "");
                docs_free(&d);
            }
            b_free(&in);
        }
    }
    b_free(&t);
    b_free(&cat);
    free(A);
    free(B);
    free(C);
}

/* Where one document ends and the next starts: only a line starting
 * "@type " or "network-status-version " right after an END SIGNATURE
 * line, wherever it falls in the reader's refills. */
static void test_split(void **state)
{
    (void)state;
    size_t lb;
    char *B = mini_doc("", 200, 9, &lb);
    /* First documents of many lengths around the 512-byte head, the
     * 512 KiB refill and the 64 KiB first buffer. */
    static const size_t lens[] = {300,          511,          512,
                                  513,          1000,         65535,
                                  65536,        65537,        524288 - 200,
                                  524288 - 120, 524288 - 110, 524288 - 100,
                                  524288,       524288 + 1,   524288 + 25,
                                  1048576 + 3};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t la;
        char *A = mini_doc(AT_NS, 0, 1, &la);
        const size_t fill = lens[i] > la ? lens[i] - la : 0;
        free(A);
        A = mini_doc(AT_NS, fill, (unsigned)i, &la);
        for (int f = 0; f <= 2; f += 2) {
            bytes in = {0}, cat = {0};
            b_put(&cat, A, la);
            b_put(&cat, B, lb);
            b_put(&cat, A, la);
            b_comp(&in, f, cat.p, cat.len);
            docs d;
            read_buf(&d, in.p, in.len, "s", 0);
            assert_int_equal(d.rc, EXST_OK);
            assert_int_equal(d.n, 3);
            expect_piece(&d, 0, "s", A, la, 0, 0, EXST_DOC_CONSENSUS,
                         "network-status-consensus-3");
            expect_piece(&d, 1, "s", B, lb, 1, la, EXST_DOC_CONSENSUS, "");
            expect_piece(&d, 2, "s", A, la, 2, la + lb, EXST_DOC_CONSENSUS,
                         "network-status-consensus-3");
            docs_free(&d);
            b_free(&in);
            b_free(&cat);
        }
        free(A);
    }

    /* No split without a signature before, nor after an END line that
     * another signature or anything else follows. */
    static const char *const whole[] = {
        "network-status-version 3\nx\nnetwork-status-version 3\ny\n",
        "network-status-version 3\n-----END SIGNATURE-----\n"
        "directory-signature a b\n-----BEGIN SIGNATURE-----\nQQ\n"
        "-----END SIGNATURE-----\n",
        "network-status-version 3\n-----END SIGNATURE-----\n@typo x\n",
        "network-status-version 3\n-----END SIGNATURE-----\n"
        "network-status-version\n",
        "network-status-version 3\n-----END SIGNATURE-----\n"
        "network-status",
        "network-status-version 3\n-----END SIGNATURE-----\n @type x\n",
        "network-status-version 3\n-----END SIGNATURE-----\r\n@type x\n",
    };
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
        docs d;
        read_buf(&d, whole[i], strlen(whole[i]), "w", 0);
        assert_int_equal(d.rc, EXST_OK);
        assert_int_equal(d.n, 1);
        expect_doc(&d, 0, "w", whole[i], strlen(whole[i]));
        docs_free(&d);
    }
    /* The shortest pieces: "@type " alone after the END line. */
    static const char two[] = "x\n-----END SIGNATURE-----\n@type ";
    docs d;
    read_buf(&d, two, strlen(two), "two", 0);
    assert_int_equal(d.n, 2);
    expect_piece(&d, 1, "two", "@type ", 6, 1, strlen(two) - 6,
                 EXST_DOC_OTHER_TYPE, "");
    docs_free(&d);
    free(B);
}

static void test_classify(void **state)
{
    (void)state;
    static const struct {
        const char *doc;
        exst_doc_kind kind;
        const char *type;
    } cases[] = {
        {"@type network-status-consensus-3 1.0\nnetwork-status-version 3\n",
         EXST_DOC_CONSENSUS, "network-status-consensus-3"},
        {"@type network-status-microdesc-consensus-3 1.0\n",
         EXST_DOC_CONSENSUS, "network-status-microdesc-consensus-3"},
        {"@type microdescriptor 1.0\nonion-key\n", EXST_DOC_OTHER_TYPE,
         "microdescriptor"},
        {"@type network-status-vote-3 1.0\nnetwork-status-version 3\n",
         EXST_DOC_OTHER_TYPE, "network-status-vote-3"},
        {"@type  network-status-consensus-3\tx\n", EXST_DOC_CONSENSUS,
         "network-status-consensus-3"},
        {"@type network-status-consensus-33 1.0\n", EXST_DOC_OTHER_TYPE,
         "network-status-consensus-33"},
        {"@type \n", EXST_DOC_OTHER_TYPE, ""},
        {"@downloaded-at 2026-01-01\n@type microdescriptor 1.0\n",
         EXST_DOC_OTHER_TYPE, "microdescriptor"},
        {"network-status-version 3\n", EXST_DOC_CONSENSUS, ""},
        {"network-status-version 3 microdesc\n", EXST_DOC_CONSENSUS, ""},
        {"network-status-version 2\n", EXST_DOC_CONSENSUS, ""},
        {"network-status-version", EXST_DOC_CONSENSUS, ""},
        {"network-status-version 3\r\n", EXST_DOC_CONSENSUS, ""},
        {"@source x\nnetwork-status-version 3\n", EXST_DOC_CONSENSUS, ""},
        {"network-status-versions 3\n", EXST_DOC_NOT_CONSENSUS, ""},
        {"@typex y\nREADME\n", EXST_DOC_NOT_CONSENSUS, ""},
        {"This directory holds consensuses.\n", EXST_DOC_NOT_CONSENSUS, ""},
        {"0123abcd  2026-01-01-00-00-00-consensus\n",
         EXST_DOC_NOT_CONSENSUS, ""},
        {"", EXST_DOC_NOT_CONSENSUS, ""},
        {"\nnetwork-status-version 3\n", EXST_DOC_NOT_CONSENSUS, ""},
        {"@a\n@b\n", EXST_DOC_NOT_CONSENSUS, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        exst_span ty = {"junk", 4};
        const char *s = cases[i].doc;
        assert_int_equal(exst_doc_classify(&ty, s, strlen(s)),
                         cases[i].kind);
        char got[64];
        snprintf(got, sizeof got, "%.*s", (int)ty.len,
                 ty.ptr != NULL ? ty.ptr : "");
        assert_string_equal(got, cases[i].type);
        assert_int_equal(exst_doc_classify(NULL, s, strlen(s)),
                         cases[i].kind);
    }
    assert_int_equal(exst_doc_classify(NULL, NULL, 0),
                     EXST_DOC_NOT_CONSENSUS);
    /* only the first 24 lines are looked at */
    char many[24 * 3 + 32];
    size_t o = 0;
    for (int i = 0; i < 24; i++)
        o += (size_t)snprintf(many + o, sizeof many - o, "@%c\n", 'a' + i);
    snprintf(many + o, sizeof many - o, "network-status-version 3\n");
    assert_int_equal(exst_doc_classify(NULL, many, strlen(many)),
                     EXST_DOC_NOT_CONSENSUS);
    assert_int_equal(exst_doc_classify(NULL, many + 3, strlen(many + 3)),
                     EXST_DOC_CONSENSUS);

    /* A microdescs-style tarball: consensus, microdescriptors, a README,
     * an empty file, and a vote; every member comes back, classified. */
    size_t lc;
    char *C = mini_doc(AT_MD, 100, 4, &lc);
    static const char md[] = "@type microdescriptor 1.0\nonion-key\n"
                             "ntor-onion-key AAAA\nid ed25519 BBBB\n";
    static const char readme[] = "Consensuses of January.\n";
    bytes t = {0};
    tar_header(&t, NULL, "microdescs-2026-01/", 0, '5', MAGIC_POSIX);
    tar_file(&t, "microdescs-2026-01/consensus-microdesc/01/"
                 "2026-01-01-00-00-00-consensus-microdesc", C, lc);
    tar_file(&t, "microdescs-2026-01/micro/0/1/01ab", md, strlen(md));
    tar_file(&t, "microdescs-2026-01/README", readme, strlen(readme));
    tar_file(&t, "microdescs-2026-01/empty", "", 0);
    tar_end(&t);
    bytes z = {0};
    b_comp(&z, TU_XZ, t.p, t.len);
    docs d;
    read_buf(&d, z.p, z.len, "microdescs-2026-01.tar.xz", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.format, EXST_ARCHIVE_TAR | EXST_ARCHIVE_XZ);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.kind[0], EXST_DOC_CONSENSUS);
    assert_string_equal(d.type[0], "network-status-microdesc-consensus-3");
    expect_piece(&d, 1, "microdescs-2026-01/micro/0/1/01ab", md, strlen(md),
                 0, 0, EXST_DOC_OTHER_TYPE, "microdescriptor");
    expect_piece(&d, 2, "microdescs-2026-01/README", readme, strlen(readme),
                 0, 0, EXST_DOC_NOT_CONSENSUS, "");
    expect_piece(&d, 3, "microdescs-2026-01/empty", "", 0, 0, 0,
                 EXST_DOC_NOT_CONSENSUS, "");
    docs_free(&d);
    b_free(&z);
    b_free(&t);
    free(C);

    /* exst_peek_header agrees: another @type is not a consensus, at its
     * line; a consensus @type goes on to the header. */
    int64_t va;
    exst_flavor fl;
    exst_error e;
    static const char vote[] = "@source x\n@type network-status-vote-3 1.0\n"
                               "network-status-version 3\n"
                               "vote-status consensus\n"
                               "valid-after 2026-01-01 00:00:00\n";
    assert_int_equal(exst_peek_header(&va, &fl, vote, strlen(vote), "v", &e),
                     EXST_ERR_SEMANTIC);
    assert_int_equal(e.line, 2);
    assert_int_equal(e.column, 1);
    assert_string_equal(e.keyword, "@type");
    assert_string_equal(e.message, "not a consensus: the document's @type "
                                   "is \"network-status-vote-3\"");
    assert_int_equal(exst_peek_header(&va, &fl, vote + 10 + 32,
                                      strlen(vote) - 42, "v", &e),
                     EXST_OK);
}

/* Bombs: an xz and a gzip document over max_doc_bytes stop after one
 * byte more than the limit, alone and as tar members; documents back to
 * back are limited one by one; a tar stream of entries without a
 * document stops at the limit. */
static void test_bombs_xz_gzip(void **state)
{
    (void)state;
    const size_t n = 16u << 20;
    char *as = malloc(n);
    assert_non_null(as);
    memset(as, 'A', n);
    for (int f = TU_XZ; f <= TU_GZIP; f++) {
        bytes z = {0};
        b_comp(&z, f, as, n);
        assert_true(z.len < n / 500);
        docs d;
        char name[32];
        snprintf(name, sizeof name, "bomb%s", fmt_ext[f]);
        read_buf(&d, z.p, z.len, name, 1u << 20);
        assert_int_equal(d.rc, EXST_ERR_LIMIT);
        assert_int_equal(d.n, 0);
        char want[128];
        snprintf(want, sizeof want, "input '%s' is over the document size "
                 "limit of 1048576 bytes", name);
        assert_string_equal(d.err.message, want);
        docs_free(&d);
        /* as a member */
        bytes t = {0};
        tar_file(&t, "ok", DOC_A, strlen(DOC_A));
        snprintf(name, sizeof name, "m%s", fmt_ext[f]);
        tar_file(&t, name, z.p, z.len);
        tar_end(&t);
        read_buf(&d, t.p, t.len, "x.tar", 1u << 20);
        assert_int_equal(d.rc, EXST_ERR_LIMIT);
        assert_int_equal(d.n, 1);
        snprintf(want, sizeof want, "archive 'x.tar': member '%s' is over "
                 "the document size limit of 1048576 bytes", name);
        assert_string_equal(d.err.message, want);
        docs_free(&d);
        b_free(&t);
        b_free(&z);
    }
    free(as);

    /* 40 documents of 100 KiB back to back in one xz stream: each is
     * under a 1 MiB limit, the stream is not. */
    size_t la;
    char *A = mini_doc(AT_NS, 100000, 5, &la);
    bytes cat = {0}, z = {0};
    for (int i = 0; i < 40; i++)
        b_put(&cat, A, la);
    b_comp(&z, TU_XZ, cat.p, cat.len);
    docs d;
    read_buf(&d, z.p, z.len, "cat.xz", 1u << 20);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 40);
    expect_piece(&d, 39, "cat.xz", A, la, 39, 39 * (uint64_t)la,
                 EXST_DOC_CONSENSUS, "network-status-consensus-3");
    docs_free(&d);
    b_free(&z);
    b_free(&cat);
    free(A);

    /* A tar stream of directory entries and no document. */
    bytes t = {0};
    for (int i = 0; i < 3000; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "d%d/", i);
        tar_header(&t, NULL, nm, 0, '5', MAGIC_POSIX);
    }
    tar_file(&t, "late", DOC_A, strlen(DOC_A));
    tar_end(&t);
    b_comp(&z, TU_GZIP, t.p, t.len);
    read_buf(&d, z.p, z.len, "dirs.tar.gz", 1u << 20);
    assert_int_equal(d.rc, EXST_ERR_LIMIT);
    assert_int_equal(d.n, 0);
    assert_string_equal(d.err.message,
                        "archive 'dirs.tar.gz': has over 1048576 bytes of "
                        "tar headers and skipped entries without a "
                        "document");
    /* under a larger limit it is an archive like any other */
    read_buf(&d, z.p, z.len, "dirs.tar.gz", 2u << 20);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.n, 1);
    docs_free(&d);
    b_free(&z);
    b_free(&t);
}

/* Truncated, corrupt and wrong-magic xz and gzip data, as whole inputs
 * and as members: exact statuses and messages. */
static void test_corrupt_xz_gzip(void **state)
{
    (void)state;
    char *text = make_text(200000, 12);
    docs d;
    for (int f = TU_XZ; f <= TU_GZIP; f++) {
        const char *fn = f == TU_XZ ? "xz" : "gzip";
        char name[32], want[200];
        bytes z = {0};
        b_comp(&z, f, text, 200000);

        /* truncated, at several places */
        const size_t cuts[] = {z.len - 1, z.len - 7, z.len / 2, 10};
        for (size_t i = 0; i < 4; i++) {
            snprintf(name, sizeof name, "cut%s", fmt_ext[f]);
            read_buf(&d, z.p, cuts[i], name, 0);
            assert_int_equal(d.rc, EXST_ERR_COMPRESS);
            assert_int_equal(d.n, 0);
            snprintf(want, sizeof want, "archive '%s': truncated %s data",
                     name, fn);
            assert_string_equal(d.err.message, want);
            assert_string_equal(d.err.source, name);
            docs_free(&d);
        }

        /* a flipped byte in the checksum at the end */
        z.p[z.len - (f == TU_XZ ? 20 : 6)] ^= 0x40;
        snprintf(name, sizeof name, "flip%s", fmt_ext[f]);
        read_buf(&d, z.p, z.len, name, 0);
        assert_int_equal(d.rc, EXST_ERR_COMPRESS);
        snprintf(want, sizeof want, "archive '%s': corrupt %s data: %s",
                 name, fn, f == TU_XZ ? "compressed data is corrupt"
                                      : "incorrect data check");
        assert_string_equal(d.err.message, want);
        docs_free(&d);
        z.p[z.len - (f == TU_XZ ? 20 : 6)] ^= 0x40;

        /* the magic, then garbage */
        unsigned char bad[64];
        memset(bad, 0x5a, sizeof bad);
        memcpy(bad, z.p, f == TU_XZ ? 6 : 2);
        snprintf(name, sizeof name, "magic%s", fmt_ext[f]);
        read_buf(&d, bad, sizeof bad, name, 0);
        assert_int_equal(d.rc, EXST_ERR_COMPRESS);
        snprintf(want, sizeof want, "archive '%s': corrupt %s data: %s",
                 name, fn, f == TU_XZ ? "compressed data is corrupt"
                                      : "unknown compression method");
        assert_string_equal(d.err.message, want);
        docs_free(&d);

        /* garbage after the last stream or member */
        bytes g = {0};
        b_put(&g, z.p, z.len);
        b_put(&g, "garbage! garbage", 16);
        snprintf(name, sizeof name, "tail%s", fmt_ext[f]);
        read_buf(&d, g.p, g.len, name, 0);
        assert_int_equal(d.rc, EXST_ERR_COMPRESS);
        snprintf(want, sizeof want, "archive '%s': corrupt %s data: %s",
                 name, fn, f == TU_XZ ? "compressed data is corrupt"
                                      : "trailing garbage after the gzip "
                                        "data");
        assert_string_equal(d.err.message, want);
        docs_free(&d);
        b_free(&g);

        /* as members: truncated, corrupt */
        bytes t = {0};
        snprintf(name, sizeof name, "a%s", fmt_ext[f]);
        tar_file(&t, name, z.p, z.len - 3);
        tar_end(&t);
        read_buf(&d, t.p, t.len, "m.tar", 0);
        assert_int_equal(d.rc, EXST_ERR_COMPRESS);
        snprintf(want, sizeof want, "archive 'm.tar': member '%s' has "
                 "truncated %s data", name, fn);
        assert_string_equal(d.err.message, want);
        docs_free(&d);
        b_free(&t);
        z.p[z.len / 2] ^= 0xff;
        z.p[z.len / 2 + 1] ^= 0xff;
        tar_file(&t, name, z.p, z.len);
        tar_end(&t);
        read_buf(&d, t.p, t.len, "m.tar", 0);
        assert_int_equal(d.rc, EXST_ERR_COMPRESS);
        snprintf(want, sizeof want, "archive 'm.tar': member '%s' has "
                 "corrupt %s data: ", name, fn);
        assert_memory_equal(d.err.message, want, strlen(want));
        docs_free(&d);
        b_free(&t);
        b_free(&z);
    }
    free(text);

    /* Not a recognised compression: the reader returns it as it is, and
     * exst_peek_header names it instead of quoting its bytes. */
    static const char bz[] = "BZh91AY&SY\x01\x02\x03 junk";
    read_buf(&d, bz, sizeof bz - 1, "x.bz2", 0);
    assert_int_equal(d.rc, EXST_OK);
    assert_int_equal(d.format, 0);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.kind[0], EXST_DOC_NOT_CONSENSUS);
    int64_t va;
    exst_flavor fl;
    exst_error e;
    assert_int_equal(exst_peek_header(&va, &fl, d.data[0], d.len[0], "x.bz2",
                                      &e),
                     EXST_ERR_SEMANTIC);
    assert_string_equal(e.message, "not a consensus: bzip2-compressed data, "
                                   "which is not read (decompress it "
                                   "first)");
    docs_free(&d);
    bytes nested = {0};
    b_comp(&nested, TU_GZIP, DOC_A, strlen(DOC_A));
    assert_int_equal(exst_peek_header(&va, &fl, nested.p, nested.len, "n",
                                      &e),
                     EXST_ERR_SEMANTIC);
    assert_string_equal(e.message, "not a consensus: gzip-compressed data "
                                   "inside the input (compressed twice?)");
    b_free(&nested);
}

/* peek_bytes on every format: a prefix of the first document, of the
 * first member (compressed or not), and only the first of documents back
 * to back. */
static void test_peek_formats(void **state)
{
    (void)state;
    size_t la, lb;
    char *A = mini_doc(AT_NS, 300000, 6, &la);
    char *B = mini_doc("", 100, 7, &lb);
    bytes cat = {0};
    b_put(&cat, B, lb);
    b_put(&cat, A, la);
    peek_opt = 4096;
    for (int f = 0; f <= 3; f++) {
        docs d;
        bytes in = {0};
        b_comp(&in, f, A, la);
        read_buf(&d, in.p, in.len, "one", 0);
        assert_int_equal(d.rc, EXST_OK);
        assert_int_equal(d.n, 1);
        expect_piece(&d, 0, "one", A, 4096, 0, 0, EXST_DOC_CONSENSUS,
                     "network-status-consensus-3");
        docs_free(&d);
        b_free(&in);

        /* back to back: the first (shorter than the peek) only */
        b_comp(&in, f, cat.p, cat.len);
        read_pipe(&d, in.p, in.len, "cat", 0);
        assert_int_equal(d.rc, EXST_OK);
        assert_int_equal(d.n, 1);
        expect_piece(&d, 0, "cat", B, lb, 0, 0, EXST_DOC_CONSENSUS, "");
        docs_free(&d);
        b_free(&in);

        /* a tar with a member in this format, the tar compressed too */
        bytes m = {0}, t = {0};
        b_comp(&m, f, cat.p, cat.len);
        tar_file(&t, "m", m.p, m.len);
        tar_file(&t, "a", A, la);
        tar_end(&t);
        b_comp(&in, f, t.p, t.len);
        read_buf(&d, in.p, in.len, "t", 0);
        assert_int_equal(d.rc, EXST_OK);
        assert_int_equal(d.n, 2);
        expect_piece(&d, 0, "m", B, lb, 0, 0, EXST_DOC_CONSENSUS, "");
        expect_piece(&d, 1, "a", A, 4096, 0, 0, EXST_DOC_CONSENSUS,
                     "network-status-consensus-3");
        docs_free(&d);
        b_free(&in);
        b_free(&m);
        b_free(&t);
    }
    peek_opt = 0;
    b_free(&cat);
    free(A);
    free(B);
}

/* Out of memory anywhere in xz and gzip reading (liblzma's and zlib's
 * allocations included) is EXST_ERR_NOMEM and nothing else. */
static void test_nomem_xz_gzip(void **state)
{
    (void)state;
    for (int f = TU_XZ; f <= TU_GZIP; f++) {
        bytes m = {0}, t = {0}, z = {0};
        b_comp(&m, f, DOC_B, strlen(DOC_B));
        tar_file(&t, "a", DOC_A, strlen(DOC_A));
        tar_file(&t, "m", m.p, m.len);
        tar_end(&t);
        b_comp(&z, f, t.p, t.len);
        sweep_nomem(&z, 2, 1, "m", DOC_B);
        b_free(&m);
        b_free(&t);
        b_free(&z);
    }
}

/* exstp_archive_take and _trim (the replay's readers): the same documents,
 * names and offsets as a plain read, whatever was handed over or freed
 * between documents; the skip of member padding and of non-file members
 * still works with no buffer left (it once spun on a zero-sized one). */
static void test_take_trim(void **state)
{
    (void)state;
    char *big = make_text(3u << 20, 7);
    bytes zm = {0};
    zcompress(&zm, DOC_A, strlen(DOC_A), 3, 1);
    bytes t = {0};
    tar_header(&t, NULL, "consensuses-2017-01/", 0, '5', MAGIC_POSIX);
    tar_file(&t, "a.zst", zm.p, zm.len);
    tar_header(&t, NULL, "link", 0, '2', MAGIC_POSIX);
    tar_file(&t, "big", big, 3u << 20);
    tar_file(&t, "b", DOC_B, strlen(DOC_B));
    tar_end(&t);
    size_t la, lb;
    char *A = mini_doc(AT_NS, 100000, 1, &la);
    char *B = mini_doc("", 200, 9, &lb);
    bytes two = {0}; /* documents back to back in one zstd stream */
    b_put(&two, A, la);
    b_put(&two, B, lb);
    b_put(&two, A, la);
    bytes ztwo = {0};
    zcompress(&ztwo, two.p, two.len, 3, 1);
    bytes zt = {0}; /* the whole tar compressed */
    zcompress(&zt, t.p, t.len, 3, 1);
    const struct {
        const bytes *in;
        const char *name;
        size_t n, taken;
    } cases[] = {
        {&t, "x.tar", 3, 3},      /* a member is a buffer of its own */
        {&zt, "x.tar.zst", 3, 3}, /* and in a compressed tar */
        {&ztwo, "cat.zst", 3, 0}, /* cut out of one buffer: copied */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        docs plain, took;
        take_mode = false;
        read_buf(&plain, cases[k].in->p, cases[k].in->len, cases[k].name, 0);
        take_mode = true;
        taken = 0;
        read_buf(&took, cases[k].in->p, cases[k].in->len, cases[k].name, 0);
        take_mode = false;
        assert_int_equal(plain.rc, EXST_OK);
        assert_int_equal(took.rc, EXST_OK);
        assert_int_equal(plain.n, cases[k].n);
        assert_int_equal(took.n, plain.n);
        for (size_t i = 0; i < plain.n; i++) {
            assert_string_equal(took.name[i], plain.name[i]);
            assert_int_equal(took.len[i], plain.len[i]);
            assert_memory_equal(took.data[i], plain.data[i], plain.len[i]);
            assert_int_equal(took.offset[i], plain.offset[i]);
            assert_int_equal(took.kind[i], plain.kind[i]);
        }
        assert_int_equal(took.bytes_in, plain.bytes_in);
        assert_int_equal(taken, cases[k].taken);
        docs_free(&plain);
        docs_free(&took);
    }
    b_free(&t);
    b_free(&zt);
    b_free(&two);
    b_free(&ztwo);
    b_free(&zm);
    free(big);
    free(A);
    free(B);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tar_basic),
        cmocka_unit_test(test_peek_bytes),
        cmocka_unit_test(test_tar_pax_and_gnu),
        cmocka_unit_test(test_tar_concatenated),
        cmocka_unit_test(test_tar_zstd),
        cmocka_unit_test(test_tar_zstd_members),
        cmocka_unit_test(test_single),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_corrupt_zstd),
        cmocka_unit_test(test_io_error),
        cmocka_unit_test(test_nomem),
        cmocka_unit_test(test_peek),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_live_peek),
        cmocka_unit_test(test_collect_paths),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_bombs_xz_gzip),
        cmocka_unit_test(test_corrupt_xz_gzip),
        cmocka_unit_test(test_peek_formats),
        cmocka_unit_test(test_nomem_xz_gzip),
        cmocka_unit_test(test_take_trim),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
