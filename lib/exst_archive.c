/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_archive.c - the input layer of replay (SPEC 2.2): a sequential
 * reader that turns one file descriptor into a series of documents.  The
 * input may be a plain document, zstd-, xz- or gzip-compressed data (any
 * number of frames, streams or members back to back), a tar stream (ustar
 * or pax, GNU long names, several archives concatenated) or a compressed
 * tar stream; the kind is detected from the bytes, never from a name.  A
 * tar member may itself be compressed.  A single input or a member that
 * holds several documents back to back (`cat a b c`) is split into them.
 * Every document is classified from its first lines (consensus, another
 * @type, not a consensus) so the caller can skip what is not for it.
 *
 * The reader never seeks (pipes work), reads in 1 MiB chunks, decodes
 * straight into the buffer a document is returned from and keeps only one
 * member (or, for a single input, one document and the next chunk) in
 * memory.  Also here: exst_peek_header, which reads just enough of a
 * document to sort inputs by valid-after before a replay, and
 * exst_collect_paths, which expands directories named on the command line
 * into their files.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exst_archive_int.h"
#include "exst_decomp_int.h"
#include "exst_int.h"

#define IN_CHUNK ((size_t)1 << 20)   /* read(2) size */
#define DIRECT_MIN (IN_CHUNK / 4)    /* plain reads this big bypass `in` */
#define STEP ((size_t)512 << 10)     /* single input: bytes per refill */
#define BLOCK 512                    /* tar block */
#define MAX_META ((size_t)1 << 20)   /* pax header or GNU long name */
#define FIRST_CAP ((size_t)1 << 20)  /* single input: first window size */
#define NAME_Q 80                    /* bytes of a name quoted in messages */

enum { MODE_SINGLE, MODE_TAR, MODE_DONE };

/*
 * Documents cut out of one buffer: a member (all of it in memory, eof) or
 * the window of a single input (refilled as it is read).  [pos, fill) is
 * what has not been returned yet; scan is where the search for the next
 * document boundary goes on.  A returned document is NUL-ended in place:
 * the byte after it (the next document's first) is saved in `saved` and
 * put back before anything else happens.
 */
typedef struct split {
    char *buf;
    size_t pos, fill, scan;
    bool eof;
    bool active;           /* a member still has documents to return */
    size_t index;          /* documents returned from this buffer */
    uint64_t base;         /* offset of buf[0] in the member or input */
    size_t cut;            /* where the NUL went, when has_cut */
    char saved;
    bool has_cut;
} split;

struct exst_archive {
    int fd;
    const volatile int *interrupt; /* caller's flag, checked on EINTR */
    size_t peek;           /* nonzero: cut documents to this many bytes */
    char *name;            /* input name (owned) */
    size_t max_doc;
    unsigned format;       /* EXST_ARCHIVE_* */
    int mode;
    int failed;            /* sticky status after an error */

    /* Raw input: `in` holds bytes read but not yet consumed. */
    unsigned char *in;
    size_t in_pos, in_len;
    bool in_eof;
    uint64_t bytes_in;

    /* The stream decoder (NULL for plain input) and one decoder per
     * member format, created on first use (index: exstp_dz_fmt). */
    exstp_dz *dz;
    exstp_dz *mdz[4];

    uint64_t pos;          /* offset in the decompressed stream */

    /* The first block, read at open time to detect the format. */
    unsigned char head[BLOCK];
    size_t head_len;
    bool head_pending;

    /* Documents: the single input's window, or the current member. */
    split sp;

    /* Tar state. */
    uint64_t skip;         /* bytes to discard before the next header */
    char *doc;             /* member buffer / single-input window */
    size_t doc_cap;
    char *zdoc;            /* decompressed member */
    size_t zdoc_cap;
    char *mname;           /* current member's name */
    size_t mname_cap;
    char *pname;           /* pending name from pax path= or GNU 'L' */
    size_t pname_cap;
    bool has_pname;
    uint64_t psize;        /* pending size from pax size= */
    bool has_psize;
    bool have_member;      /* mname holds the previous member's name */
    size_t zero_run;       /* bytes of zero blocks just read */
    uint64_t idle;         /* stream bytes since the last document */
};

/* ------------------------------------------------------------------ */
/* Messages                                                           */
/* ------------------------------------------------------------------ */

/* Quote a name for a message: printable ASCII kept, other bytes as \xNN.
 * When it is long, keep its tail (the file name part is what tells). */
static void quote_name(char *out, size_t outsz, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s), o = 0;
    if (n > NAME_Q) {
        s += n - NAME_Q;
        n = NAME_Q;
        memcpy(out, "...", 3);
        o = 3;
    }
    for (size_t i = 0; i < n && o + 5 < outsz; i++) {
        const unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* Set an error that names the archive (and the member, if any). */
static int arc_error(exst_archive *a, exst_error *err, int code,
                     const char *member, const char *what)
{
    char qa[4 * NAME_Q + 8], qm[4 * NAME_Q + 8];
    quote_name(qa, sizeof qa, a->name);
    a->failed = code;
    if (member != NULL) {
        quote_name(qm, sizeof qm, member);
        return exstp_error_set(err, code, a->name, 0, 0, (size_t)a->pos,
                               NULL, "archive '%s': member '%s' %s", qa, qm,
                               what);
    }
    return exstp_error_set(err, code, a->name, 0, 0, (size_t)a->pos, NULL,
                           "archive '%s': %s", qa, what);
}

static int nomem(exst_archive *a, exst_error *err)
{
    a->failed = EXST_ERR_NOMEM;
    return exstp_error_simple(err, EXST_ERR_NOMEM, a->name, "out of memory");
}

/* A decoder's failure as a status and message ("corrupt xz data: ...",
 * "truncated gzip data"), for the stream (member NULL) or a member. */
static int dz_error(exst_archive *a, exst_error *err, const exstp_dz *d,
                    int r, const char *member)
{
    char what[160];
    const char *has = member != NULL ? "has " : "";
    const char *fmt = exstp_dz_name(exstp_dz_format(d));
    switch (r) {
    case EXSTP_DZ_NOMEM:
        return nomem(a, err);
    case EXSTP_DZ_TRUNCATED:
        snprintf(what, sizeof what, "%struncated %s data", has, fmt);
        break;
    case EXSTP_DZ_LIMIT:
        snprintf(what, sizeof what,
                 "is over the document size limit of %zu bytes", a->max_doc);
        return arc_error(a, err, EXST_ERR_LIMIT, member, what);
    default:
        snprintf(what, sizeof what, "%scorrupt %s data: %s", has, fmt,
                 exstp_dz_why(d));
        break;
    }
    return arc_error(a, err, EXST_ERR_COMPRESS, member, what);
}

/* ------------------------------------------------------------------ */
/* Byte source: raw reads and the decompressed stream                 */
/* ------------------------------------------------------------------ */

static int read_fd(exst_archive *a, void *dst, size_t n, size_t *got,
                   exst_error *err)
{
    ssize_t r;
    *got = 0;
    for (;;) {
        r = read(a->fd, dst, n);
        if (r >= 0 || errno != EINTR)
            break;
        /* The flag is set by a signal handler, maybe on another thread:
         * read it atomically. */
        if (a->interrupt != NULL &&
            __atomic_load_n(a->interrupt, __ATOMIC_RELAXED) != 0) {
            a->failed = EXST_ERR_INTERRUPTED;
            return exstp_error_simple(err, EXST_ERR_INTERRUPTED, a->name,
                                      "interrupted");
        }
    }
    if (r < 0) {
        char qa[4 * NAME_Q + 8];
        const int e = errno;
        quote_name(qa, sizeof qa, a->name);
        a->failed = EXST_ERR_IO;
        return exstp_error_simple(err, EXST_ERR_IO, a->name,
                                  "cannot read '%s': %s", qa, strerror(e));
    }
    if (r == 0)
        a->in_eof = true;
    a->bytes_in += (uint64_t)r;
    *got = (size_t)r;
    return EXST_OK;
}

/* Read more raw bytes into `in`, appending (callers only call this when
 * everything before in_pos is consumed, so the buffer restarts at 0). */
static int fill_in(exst_archive *a, exst_error *err)
{
    if (a->in_pos == a->in_len)
        a->in_pos = a->in_len = 0;
    size_t got;
    const int rc = read_fd(a, a->in + a->in_len, IN_CHUNK - a->in_len,
                           &got, err);
    a->in_len += got;
    return rc;
}

/* Up to n decompressed bytes into dst; fewer only at the end of input. */
static int zsrc_read(exst_archive *a, void *dst, size_t n, size_t *got,
                     exst_error *err)
{
    size_t out = 0;
    int rc = EXST_OK;
    while (out < n) {
        if (a->in_pos == a->in_len && !a->in_eof) {
            rc = fill_in(a, err);
            if (rc != EXST_OK)
                break;
        }
        const int r = exstp_dz_run(a->dz, a->in, a->in_len, &a->in_pos, dst,
                                   n, &out, a->in_eof);
        if (r == EXSTP_DZ_END)
            break;
        if (r != EXSTP_DZ_MORE) {
            a->pos += out;
            return dz_error(a, err, a->dz, r, NULL);
        }
    }
    a->pos += out;
    *got = out;
    return rc;
}

/* Up to n bytes of the (decompressed) stream into dst; fewer only at the
 * end of input.  Plain reads of large spans go straight into dst. */
static int src_read(exst_archive *a, void *dst, size_t n, size_t *got,
                    exst_error *err)
{
    if (a->dz != NULL)
        return zsrc_read(a, dst, n, got, err);
    unsigned char *d = dst;
    size_t done = 0;
    while (done < n) {
        const size_t avail = a->in_len - a->in_pos;
        if (avail > 0) {
            const size_t k = avail < n - done ? avail : n - done;
            memcpy(d + done, a->in + a->in_pos, k);
            a->in_pos += k;
            done += k;
            continue;
        }
        if (a->in_eof)
            break;
        int rc;
        if (n - done >= DIRECT_MIN) {
            size_t k;
            rc = read_fd(a, d + done, n - done, &k, err);
            done += k;
        } else {
            rc = fill_in(a, err);
        }
        if (rc != EXST_OK) {
            a->pos += done;
            return rc;
        }
    }
    a->pos += done;
    *got = done;
    return EXST_OK;
}

/* Discard n bytes of the stream; *got says how many there were. */
static int src_skip(exst_archive *a, uint64_t n, uint64_t *got,
                    exst_error *err)
{
    /* The document buffer is scratch space when there is one (it may
     * have been handed over or trimmed: exstp_archive_take, _trim). */
    char local[16 << 10];
    char *scratch = a->doc_cap >= sizeof local ? a->doc : local;
    const size_t cap = a->doc_cap >= sizeof local ? a->doc_cap : sizeof local;
    uint64_t done = 0;
    while (done < n) {
        const uint64_t left = n - done;
        const size_t k = left < cap ? (size_t)left : cap;
        size_t g;
        const int rc = src_read(a, scratch, k, &g, err);
        if (rc != EXST_OK)
            return rc;
        done += g;
        if (g < k)
            break;
    }
    *got = done;
    return EXST_OK;
}

/* ------------------------------------------------------------------ */
/* Buffers                                                            */
/* ------------------------------------------------------------------ */

/* Make *buf hold at least need bytes, growing by half again at least. */
static bool reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap + *cap / 2;
    if (ncap < need)
        ncap = need;
    char *p = exstp_realloc(*buf, ncap);
    if (p == NULL)
        return false;
    *buf = p;
    *cap = ncap;
    return true;
}

static bool set_str(char **buf, size_t *cap, const char *s, size_t n)
{
    if (!reserve(buf, cap, n + 1))
        return false;
    memcpy(*buf, s, n);
    (*buf)[n] = '\0';
    return true;
}

/* ------------------------------------------------------------------ */
/* Classification and document boundaries                             */
/* ------------------------------------------------------------------ */

#define CLASSIFY_MAX_LINES 24

static bool has_prefix(const char *p, size_t n, const char *lit, size_t ll)
{
    return n >= ll && memcmp(p, lit, ll) == 0;
}

exst_doc_kind exst_doc_classify(exst_span *type, const void *buf, size_t len)
{
    static const char at_type[] = "@type ";
    static const char version[] = "network-status-version";
    const char *p = buf, *end = p + (buf != NULL ? len : 0);
    if (type != NULL) {
        type->ptr = NULL;
        type->len = 0;
    }
    for (int line = 0; p < end && line < CLASSIFY_MAX_LINES; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        const size_t n = (size_t)(le - p);
        if (has_prefix(p, n, at_type, sizeof at_type - 1)) {
            /* The first @type decides: its first word is the type. */
            const char *t = p + sizeof at_type - 1;
            while (t < le && (*t == ' ' || *t == '\t'))
                t++;
            const char *te = t;
            while (te < le && *te != ' ' && *te != '\t' && *te != '\r')
                te++;
            const size_t tl = (size_t)(te - t);
            if (type != NULL) {
                type->ptr = t;
                type->len = tl;
            }
            if ((tl == 26 &&
                 memcmp(t, "network-status-consensus-3", 26) == 0) ||
                (tl == 36 &&
                 memcmp(t, "network-status-microdesc-consensus-3", 36) == 0))
                return EXST_DOC_CONSENSUS;
            return EXST_DOC_OTHER_TYPE;
        }
        if (n > 0 && *p == '@') { /* another annotation */
            p = nl != NULL ? nl + 1 : end;
            continue;
        }
        /* The first line that is not an annotation decides. */
        if (has_prefix(p, n, version, sizeof version - 1) &&
            (n == sizeof version - 1 || p[sizeof version - 1] == ' ' ||
             p[sizeof version - 1] == '\t' || p[sizeof version - 1] == '\r'))
            return EXST_DOC_CONSENSUS;
        return EXST_DOC_NOT_CONSENSUS;
    }
    return EXST_DOC_NOT_CONSENSUS;
}

/*
 * A new document starts at a line beginning "@type " or
 * "network-status-version " right after a "-----END SIGNATURE-----" line
 * (the end of the previous document's last signature).  Those two can
 * never begin a line inside an object (base64 has no spaces), and the
 * search is one memmem for the END line, a handful of hits per document.
 */
static const char SIG_END[] = "\n-----END SIGNATURE-----\n";
#define SIG_END_LEN (sizeof SIG_END - 1)
static const char START_TYPE[] = "@type ";
static const char START_VERSION[] = "network-status-version ";
#define START_MAX (sizeof START_VERSION - 1)

/* 1: (p, n) starts a document; 0: it does not; -1: too short to say. */
static int starts_doc(const char *p, size_t n, bool eof)
{
    static const char *const starts[2] = {START_TYPE, START_VERSION};
    int maybe = 0;
    for (int i = 0; i < 2; i++) {
        const size_t l = strlen(starts[i]);
        const size_t k = n < l ? n : l;
        if (memcmp(p, starts[i], k) != 0)
            continue;
        if (k == l)
            return 1;
        maybe = 1; /* a prefix of it so far */
    }
    return maybe && !eof ? -1 : 0;
}

/* The offset of the next document boundary in sp->buf[pos, fill), or
 * SIZE_MAX if there is none (yet: more input may tell). */
static size_t find_boundary(split *sp)
{
    const char *b = sp->buf;
    size_t s = sp->scan > sp->pos ? sp->scan : sp->pos;
    for (;;) {
        if (sp->fill - s < SIG_END_LEN)
            break;
        const char *hit = memmem(b + s, sp->fill - s, SIG_END, SIG_END_LEN);
        if (hit == NULL) {
            s = sp->fill - (SIG_END_LEN - 1);
            break;
        }
        const size_t q = (size_t)(hit - b) + SIG_END_LEN;
        const int st = starts_doc(b + q, sp->fill - q, sp->eof);
        if (st < 0) {
            s = (size_t)(hit - b); /* look again with more bytes */
            break;
        }
        if (st > 0) {
            sp->scan = q;
            return q;
        }
        s = q - 1; /* the next END line may begin with this newline */
    }
    sp->scan = s;
    return SIZE_MAX;
}

/* Put back the byte a returned document's NUL replaced. */
static void split_restore(split *sp)
{
    if (sp->has_cut) {
        sp->buf[sp->cut] = sp->saved;
        sp->has_cut = false;
    }
}

/* Return sp->buf[pos, end) as the next document (buf has a byte free at
 * fill for the NUL). */
static void split_yield(exst_archive *a, split *sp, size_t end,
                        const char *name, exst_archive_doc *doc)
{
    if (end < sp->fill) {
        sp->saved = sp->buf[end];
        sp->cut = end;
        sp->has_cut = true;
    }
    sp->buf[end] = '\0';
    doc->name = name;
    doc->data = sp->buf + sp->pos;
    doc->len = end - sp->pos;
    doc->index = sp->index++;
    doc->offset = sp->base + sp->pos;
    doc->kind = exst_doc_classify(&doc->type, doc->data, doc->len);
    sp->pos = end;
    a->idle = 0;
}

/* ------------------------------------------------------------------ */
/* Open, close, accessors                                             */
/* ------------------------------------------------------------------ */

static bool is_zero_block(const unsigned char *h)
{
    for (size_t i = 0; i < BLOCK; i += 8) {
        uint64_t w;
        memcpy(&w, h + i, 8);
        if (w != 0)
            return false;
    }
    return true;
}

static bool has_ustar_magic(const unsigned char *h)
{
    return memcmp(h + 257, "ustar", 5) == 0;
}

int exst_archive_open(exst_archive **out, int fd, const char *name,
                      const exst_archive_opts *opts, exst_error *err)
{
    static const unsigned fmt_bit[4] = {0, EXST_ARCHIVE_ZSTD,
                                        EXST_ARCHIVE_XZ, EXST_ARCHIVE_GZIP};
    if (out == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, name,
                                  "exst_archive_open: out is NULL");
    *out = NULL;
    if (name == NULL)
        name = "<input>";
    exst_archive *a = exstp_calloc(1, sizeof *a);
    if (a == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, name,
                                  "out of memory");
    a->fd = fd;
    a->interrupt = opts != NULL ? opts->interrupt : NULL;
    a->peek = opts != NULL ? opts->peek_bytes : 0;
    a->max_doc = opts != NULL && opts->max_doc_bytes != 0
                     ? opts->max_doc_bytes
                     : EXST_DEFAULT_MAX_DOC_BYTES;
    if (a->max_doc > SIZE_MAX / 4)
        a->max_doc = SIZE_MAX / 4;
    a->name = exstp_strndup(name, strlen(name));
    a->in = exstp_malloc(IN_CHUNK);
    a->doc_cap = 64 << 10;
    a->doc = exstp_malloc(a->doc_cap);
    int rc;
    if (a->name == NULL || a->in == NULL || a->doc == NULL) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, name, "out of memory");
        goto fail;
    }
    while (a->in_len < EXSTP_DZ_MAGIC_MAX && !a->in_eof) {
        rc = fill_in(a, err);
        if (rc != EXST_OK)
            goto fail;
    }
    const exstp_dz_fmt zf = exstp_dz_detect(a->in, a->in_len);
    if (zf != EXSTP_DZ_NONE) {
        a->dz = exstp_dz_new(zf);
        if (a->dz == NULL) {
            rc = exstp_error_simple(err, EXST_ERR_NOMEM, name,
                                    "out of memory");
            goto fail;
        }
        a->format |= fmt_bit[zf];
    }
    rc = src_read(a, a->head, BLOCK, &a->head_len, err);
    if (rc != EXST_OK)
        goto fail;
    if (a->head_len == BLOCK &&
        (is_zero_block(a->head) || has_ustar_magic(a->head))) {
        a->mode = MODE_TAR;
        a->format |= EXST_ARCHIVE_TAR;
    } else {
        a->mode = MODE_SINGLE;
        /* The window starts with the block already read. */
        memcpy(a->doc, a->head, a->head_len);
        a->sp.buf = a->doc;
        a->sp.fill = a->head_len;
        a->sp.eof = a->head_len < BLOCK;
    }
    a->head_pending = true;
    *out = a;
    return EXST_OK;
fail:
    exst_archive_close(a);
    return rc;
}

void exst_archive_close(exst_archive *a)
{
    if (a == NULL)
        return;
    exstp_dz_free(a->dz);
    for (size_t i = 0; i < sizeof a->mdz / sizeof a->mdz[0]; i++)
        exstp_dz_free(a->mdz[i]);
    exstp_free(a->pname);
    exstp_free(a->mname);
    exstp_free(a->zdoc);
    exstp_free(a->doc);
    exstp_free(a->in);
    exstp_free(a->name);
    exstp_free(a);
}

unsigned exst_archive_format(const exst_archive *a)
{
    return a != NULL ? a->format : 0;
}

uint64_t exst_archive_bytes_in(const exst_archive *a)
{
    return a != NULL ? a->bytes_in : 0;
}

/* ------------------------------------------------------------------ */
/* A single input: one document or several back to back               */
/* ------------------------------------------------------------------ */

static int read_single(exst_archive *a, exst_archive_doc *doc,
                       exst_error *err)
{
    split *sp = &a->sp;
    split_restore(sp);
    for (;;) {
        size_t end = find_boundary(sp);
        if (end != SIZE_MAX) {
            if (a->peek != 0 && end - sp->pos > a->peek)
                end = sp->pos + a->peek;
            split_yield(a, sp, end, a->name, doc);
            if (a->peek != 0)
                a->mode = MODE_DONE; /* peeking: the first document only */
            return EXST_OK;
        }
        const size_t have = sp->fill - sp->pos;
        if (sp->eof) {
            /* The rest is the last document (an empty input is one
             * empty document, for the parser to reject). */
            if (have > 0 || sp->index == 0)
                split_yield(a, sp,
                            a->peek != 0 && have > a->peek
                                ? sp->pos + a->peek
                                : sp->fill,
                            a->name, doc);
            a->mode = MODE_DONE;
            return EXST_OK;
        }
        if (a->peek != 0 && sp->index == 0 && have >= a->peek) {
            split_yield(a, sp, sp->pos + a->peek, a->name, doc);
            a->mode = MODE_DONE;
            return EXST_OK;
        }
        if (have > a->max_doc) {
            char what[96], qa[4 * NAME_Q + 8];
            snprintf(what, sizeof what,
                     "is over the document size limit of %zu bytes",
                     a->max_doc);
            quote_name(qa, sizeof qa, a->name);
            a->failed = EXST_ERR_LIMIT;
            return exstp_error_simple(err, EXST_ERR_LIMIT, a->name,
                                      "input '%s' %s", qa, what);
        }
        /* Read on: at most one byte past the limit (that tells a bomb
         * without decoding it) or past the peek, and a STEP at a time,
         * so little is read past a boundary and moved afterwards. */
        size_t want = a->max_doc + 1 - have;
        if (a->peek != 0 && a->peek - have < want)
            want = a->peek - have;
        if (want > STEP)
            want = STEP;
        if (sp->fill + want + 1 > a->doc_cap) {
            if (sp->pos > 0) {
                memmove(a->doc, a->doc + sp->pos, have);
                sp->scan -= sp->pos < sp->scan ? sp->pos : sp->scan;
                sp->base += sp->pos;
                sp->fill = have;
                sp->pos = 0;
            }
            /* Grow by doubling (from 1 MiB): a document is copied by a
             * realloc a few times at most, and only in its first input. */
            size_t need = sp->fill + want + 1;
            if (sp->fill + want + 1 > a->doc_cap) {
                if (need < a->doc_cap * 2)
                    need = a->doc_cap * 2;
                if (need < FIRST_CAP)
                    need = FIRST_CAP;
                /* never more than a whole document and a refill */
                if (need > a->max_doc + STEP + 1)
                    need = a->max_doc + STEP + 1;
                if (need < sp->fill + want + 1)
                    need = sp->fill + want + 1;
                if (!reserve(&a->doc, &a->doc_cap, need))
                    return nomem(a, err);
            }
            sp->buf = a->doc;
        }
        size_t got;
        const int rc = src_read(a, a->doc + sp->fill, want, &got, err);
        if (rc != EXST_OK)
            return rc;
        sp->fill += got;
        if (got < want)
            sp->eof = true;
    }
}

/* ------------------------------------------------------------------ */
/* Tar                                                                */
/* ------------------------------------------------------------------ */

/* A numeric header field: octal (leading spaces allowed, ended by NUL,
 * space or the field's end) or GNU base-256 (high bit of byte 0). */
static bool tar_number(uint64_t *out, const unsigned char *f, size_t n)
{
    uint64_t v = 0;
    if (f[0] & 0x80) {
        if (f[0] != 0x80)
            return false; /* negative */
        for (size_t i = 1; i < n; i++) {
            if (v >> 56)
                return false;
            v = v << 8 | f[i];
        }
        *out = v;
        return true;
    }
    size_t i = 0;
    while (i < n && f[i] == ' ')
        i++;
    const size_t start = i;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 60)
            return false;
        v = v << 3 | (uint64_t)(f[i] - '0');
    }
    if (i == start && !(i < n && f[i] == '\0'))
        return false;
    if (i < n && f[i] != '\0' && f[i] != ' ')
        return false;
    *out = v;
    return true;
}

/* The checksum: unsigned or (historically) signed sum of the header with
 * the checksum field read as spaces. */
static bool tar_checksum_ok(const unsigned char *h)
{
    uint64_t want;
    if (!tar_number(&want, h + 148, 8))
        return false;
    unsigned long su = 0;
    long ss = 0;
    for (size_t i = 0; i < BLOCK; i++) {
        const unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
        su += c;
        ss += (signed char)c;
    }
    return want == su || (ss >= 0 && want == (uint64_t)ss);
}

/* The name from a ustar header: prefix "/" name (POSIX ustar only; GNU's
 * "ustar  " magic uses the prefix bytes for other things). */
static bool tar_header_name(exst_archive *a, const unsigned char *h)
{
    const char *nm = (const char *)h;
    const size_t nl = strnlen(nm, 100);
    size_t pl = 0;
    const char *pf = (const char *)h + 345;
    if (memcmp(h + 257, "ustar\0", 6) == 0)
        pl = strnlen(pf, 155);
    if (!reserve(&a->mname, &a->mname_cap, pl + 1 + nl + 1))
        return false;
    size_t o = 0;
    if (pl > 0) {
        memcpy(a->mname, pf, pl);
        a->mname[pl] = '/';
        o = pl + 1;
    }
    memcpy(a->mname + o, nm, nl);
    a->mname[o + nl] = '\0';
    return true;
}

/* Decimal digits [p, end) into *out; false if empty or over 2^63. */
static bool parse_dec(uint64_t *out, const char *p, const char *end)
{
    uint64_t v = 0;
    if (p == end)
        return false;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX >> 1) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return true;
}

/* Parse pax extended header records "LEN key=value\n" in (p, n). */
static int pax_parse(exst_archive *a, const char *p, size_t n,
                     exst_error *err)
{
    const char *end = p + n;
    while (p < end) {
        if (*p == '\0')
            break; /* some writers pad with NULs */
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        uint64_t rl;
        if (sp == NULL || !parse_dec(&rl, p, sp) ||
            rl > (uint64_t)(end - p) || rl < (uint64_t)(sp - p) + 3 ||
            p[rl - 1] != '\n')
            return arc_error(a, err, EXST_ERR_SYNTAX, NULL,
                             "malformed pax extended header");
        const char *key = sp + 1, *rend = p + rl - 1;
        const char *eq = memchr(key, '=', (size_t)(rend - key));
        if (eq == NULL)
            return arc_error(a, err, EXST_ERR_SYNTAX, NULL,
                             "malformed pax extended header");
        const size_t kl = (size_t)(eq - key);
        const char *val = eq + 1;
        if (kl == 4 && memcmp(key, "path", 4) == 0) {
            if (!set_str(&a->pname, &a->pname_cap, val,
                         (size_t)(rend - val)))
                return nomem(a, err);
            a->has_pname = true;
        } else if (kl == 4 && memcmp(key, "size", 4) == 0) {
            if (!parse_dec(&a->psize, val, rend))
                return arc_error(a, err, EXST_ERR_SYNTAX, NULL,
                                 "malformed pax size record");
            a->has_psize = true;
        }
        p += rl;
    }
    return EXST_OK;
}

/* Read a pax header or GNU long name (size bytes) into a->doc. */
static int read_meta(exst_archive *a, uint64_t size, exst_error *err)
{
    if (size > MAX_META)
        return arc_error(a, err, EXST_ERR_LIMIT, NULL,
                         "extended header is over 1 MiB");
    if (!reserve(&a->doc, &a->doc_cap, (size_t)size + 1))
        return nomem(a, err);
    size_t got;
    const int rc = src_read(a, a->doc, (size_t)size, &got, err);
    if (rc != EXST_OK)
        return rc;
    if (got < size)
        return arc_error(a, err, EXST_ERR_SYNTAX, NULL,
                         "extended header is truncated");
    a->doc[size] = '\0';
    a->skip = (BLOCK - size % BLOCK) % BLOCK;
    return EXST_OK;
}


/* Decompress a member (a->doc, len) of format f into a->zdoc: at most
 * max_doc bytes, or only the first peek bytes when peeking (a compressed
 * member is read whole, but only its start is decoded). */
static int unzip_member(exst_archive *a, exstp_dz_fmt f, size_t len,
                        size_t *out_len, exst_error *err)
{
    if (a->mdz[f] == NULL && (a->mdz[f] = exstp_dz_new(f)) == NULL)
        return nomem(a, err);
    const int r = exstp_dz_decode_all(a->mdz[f], &a->zdoc, &a->zdoc_cap,
                                      out_len, a->doc, len, a->max_doc,
                                      a->peek);
    if (r != EXSTP_DZ_END)
        return dz_error(a, err, a->mdz[f], r, a->mname);
    return EXST_OK;
}

/* Count stream bytes that yield no document; a tar stream that goes on
 * for more than max_doc bytes without one is a bomb, not an archive. */
static int tar_idle(exst_archive *a, uint64_t n, exst_error *err)
{
    a->idle += n;
    if (a->idle > a->max_doc) {
        char what[128];
        snprintf(what, sizeof what, "has over %zu bytes of tar headers and "
                 "skipped entries without a document", a->max_doc);
        return arc_error(a, err, EXST_ERR_LIMIT, NULL, what);
    }
    return EXST_OK;
}

/* The next document of the current member, if any is left. */
static bool member_next(exst_archive *a, exst_archive_doc *doc)
{
    split *sp = &a->sp;
    split_restore(sp);
    if (!sp->active)
        return false;
    size_t end = SIZE_MAX;
    /* Peeking, a member gives its first document only. */
    if (sp->pos < sp->fill && (a->peek == 0 || sp->index == 0))
        end = find_boundary(sp);
    if (end == SIZE_MAX) {
        if (sp->pos == sp->fill || (a->peek != 0 && sp->index > 0)) {
            sp->active = false;
            return false;
        }
        end = sp->fill;
    }
    split_yield(a, sp, end, a->mname, doc);
    return true;
}

static int read_tar(exst_archive *a, exst_archive_doc *doc, exst_error *err)
{
    unsigned char hbuf[BLOCK];
    if (member_next(a, doc))
        return EXST_OK;
    for (;;) {
        if (a->skip > 0) {
            uint64_t got;
            const uint64_t want = a->skip;
            a->skip = 0;
            const int rc = src_skip(a, want, &got, err);
            if (rc != EXST_OK)
                return rc;
            if (got < want) {
                char what[4 * NAME_Q + 40], qm[4 * NAME_Q + 8];
                quote_name(qm, sizeof qm, a->have_member ? a->mname : "");
                snprintf(what, sizeof what, "is truncated%s%s%s",
                         a->have_member ? " after member '" : "", qm,
                         a->have_member ? "'" : "");
                return arc_error(a, err, EXST_ERR_SYNTAX, NULL, what);
            }
        }
        const unsigned char *h = hbuf;
        if (a->head_pending) {
            h = a->head;
            a->head_pending = false;
        } else {
            size_t got;
            const int rc = src_read(a, hbuf, BLOCK, &got, err);
            if (rc != EXST_OK)
                return rc;
            if (got < BLOCK) {
                /* A short tail of zeros is end-of-archive padding cut by
                 * a writer; anything else is a truncated header. */
                memset(hbuf + got, 0, BLOCK - got);
                if (!is_zero_block(hbuf))
                    return arc_error(a, err, EXST_ERR_SYNTAX, NULL,
                                     "has a truncated tar header");
                if (a->has_pname || a->has_psize)
                    return arc_error(a, err, EXST_ERR_SYNTAX, NULL,
                                     "ends after an extended header");
                a->mode = MODE_DONE;
                return EXST_OK;
            }
        }
        if (is_zero_block(h)) {
            /* End-of-archive blocks; another archive may follow.  A run
             * longer than any document is a bomb, not padding. */
            a->zero_run += BLOCK;
            if (a->zero_run > a->max_doc) {
                char what[96];
                snprintf(what, sizeof what, "has over %zu bytes of zero "
                         "blocks in a row", a->max_doc);
                return arc_error(a, err, EXST_ERR_LIMIT, NULL, what);
            }
            const int rc = tar_idle(a, BLOCK, err);
            if (rc != EXST_OK)
                return rc;
            continue;
        }
        a->zero_run = 0;
        if (!has_ustar_magic(h) || !tar_checksum_ok(h)) {
            char what[4 * NAME_Q + 80];
            char qm[4 * NAME_Q + 8];
            const char *kind = has_ustar_magic(h)
                                   ? "bad tar header checksum"
                                   : "not a ustar header";
            if (a->have_member) {
                quote_name(qm, sizeof qm, a->mname);
                snprintf(what, sizeof what, "%s at offset %llu (after "
                         "member '%s')", kind,
                         (unsigned long long)(a->pos - BLOCK), qm);
            } else {
                snprintf(what, sizeof what, "%s at offset %llu", kind,
                         (unsigned long long)(a->pos - BLOCK));
            }
            return arc_error(a, err, EXST_ERR_SYNTAX, NULL, what);
        }
        const char type = (char)h[156];
        uint64_t size;
        if (!tar_number(&size, h + 124, 12))
            return arc_error(a, err, EXST_ERR_SYNTAX, NULL,
                             "bad size field in a tar header");
        if (a->has_psize) {
            size = a->psize;
            a->has_psize = false;
        }
        const uint64_t pad = (BLOCK - size % BLOCK) % BLOCK;
        const bool regular = type == '0' || type == '\0' || type == '7';
        int rc;
        if (!regular && (rc = tar_idle(a, BLOCK + size + pad, err)) !=
                            EXST_OK)
            return rc;
        switch (type) {
        case 'x': /* pax extended header for the next member */
            rc = read_meta(a, size, err);
            if (rc == EXST_OK)
                rc = pax_parse(a, a->doc, (size_t)size, err);
            if (rc != EXST_OK)
                return rc;
            continue;
        case 'L': /* GNU long name for the next member */
            rc = read_meta(a, size, err);
            if (rc != EXST_OK)
                return rc;
            if (!set_str(&a->pname, &a->pname_cap, a->doc,
                         strnlen(a->doc, (size_t)size)))
                return nomem(a, err);
            a->has_pname = true;
            continue;
        case '0':
        case '\0':
        case '7':
            break; /* a regular file */
        case 'S':
            return arc_error(a, err, EXST_ERR_SYNTAX, NULL,
                             "has a GNU sparse member (unsupported)");
        case '1': case '2': case '3': case '4': case '5': case '6':
            /* links, devices, directories, FIFOs: no data */
            a->has_pname = false;
            continue;
        case 'g': /* pax global header */
        case 'K': /* GNU long link target */
            a->skip = size + pad;
            continue;
        default: /* unknown kinds: skip their data */
            a->has_pname = false;
            a->skip = size + pad;
            continue;
        }

        if (a->has_pname) {
            char *t = a->mname;
            const size_t tc = a->mname_cap;
            a->mname = a->pname;
            a->mname_cap = a->pname_cap;
            a->pname = t;
            a->pname_cap = tc;
            a->has_pname = false;
        } else if (!tar_header_name(a, h)) {
            return nomem(a, err);
        }
        a->have_member = true;
        if (size > a->max_doc) {
            char what[96];
            snprintf(what, sizeof what,
                     "is over the document size limit of %zu bytes",
                     a->max_doc);
            return arc_error(a, err, EXST_ERR_LIMIT, a->mname, what);
        }
        /* Peeking reads a prefix and skips the rest, unless the member is
         * compressed: then it is read whole and the start decoded. */
        uint64_t want = size;
        if (a->peek != 0 && size > a->peek)
            want = a->peek;
        if (want < EXSTP_DZ_MAGIC_MAX)
            want = size < EXSTP_DZ_MAGIC_MAX ? size : EXSTP_DZ_MAGIC_MAX;
        if (!reserve(&a->doc, &a->doc_cap, (size_t)size + 1))
            return nomem(a, err);
        size_t got;
        rc = src_read(a, a->doc, (size_t)want, &got, err);
        if (rc != EXST_OK)
            return rc;
        const exstp_dz_fmt zf =
            exstp_dz_detect(a->doc, got);
        if (want < size && got == want && zf != EXSTP_DZ_NONE) {
            size_t more;
            rc = src_read(a, a->doc + want, (size_t)(size - want), &more,
                          err);
            if (rc != EXST_OK)
                return rc;
            got += more;
            want = size;
        }
        if (got < want)
            return arc_error(a, err, EXST_ERR_SYNTAX, a->mname,
                             "is truncated");
        a->skip = (size - want) + pad;
        size = want;
        a->doc[size] = '\0';
        split *sp = &a->sp;
        memset(sp, 0, sizeof *sp);
        sp->buf = a->doc;
        sp->fill = (size_t)size;
        if (zf != EXSTP_DZ_NONE) {
            rc = unzip_member(a, zf, (size_t)size, &sp->fill, err);
            if (rc != EXST_OK)
                return rc;
            sp->buf = a->zdoc;
        }
        if (a->peek != 0 && sp->fill > a->peek)
            sp->fill = a->peek;
        sp->eof = true;
        sp->active = true;
        /* An empty member is one empty document (the caller counts it
         * as not a consensus). */
        if (sp->fill == 0) {
            split_yield(a, sp, 0, a->mname, doc);
            sp->active = false;
            return EXST_OK;
        }
        if (member_next(a, doc))
            return EXST_OK;
    }
}

int exst_archive_next(exst_archive *a, exst_archive_doc *doc,
                      exst_error *err)
{
    if (doc != NULL)
        memset(doc, 0, sizeof *doc);
    if (a == NULL || doc == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "exst_archive_next: NULL argument");
    if (a->failed != EXST_OK) {
        char qa[4 * NAME_Q + 8];
        quote_name(qa, sizeof qa, a->name);
        return exstp_error_simple(err, a->failed, a->name,
                                  "archive '%s': cannot go on after an "
                                  "error", qa);
    }
    int rc = EXST_OK;
    switch (a->mode) {
    case MODE_SINGLE:
        rc = read_single(a, doc, err);
        break;
    case MODE_TAR:
        rc = read_tar(a, doc, err);
        break;
    default:
        split_restore(&a->sp);
        break;
    }
    if (rc != EXST_OK) {
        a->failed = rc;
        memset(doc, 0, sizeof *doc);
    }
    return rc;
}

/* The buffer the split reads from: a->doc or a->zdoc. */
static char **split_owner(exst_archive *a, size_t **cap)
{
    if (a->sp.buf != NULL && a->sp.buf == a->zdoc) {
        *cap = &a->zdoc_cap;
        return &a->zdoc;
    }
    *cap = &a->doc_cap;
    return &a->doc;
}

/* Nothing of the split's buffer is pending: its last document has been
 * returned and no NUL of ours stands in it. */
static bool split_done(const split *sp)
{
    return sp->eof && !sp->has_cut && sp->pos == sp->fill;
}

/* Forget the split's buffer (handed over or about to be freed). */
static void split_drop(split *sp)
{
    sp->buf = NULL;
    sp->pos = sp->fill = sp->scan = 0;
}

bool exstp_archive_take(exst_archive *a, const exst_archive_doc *d,
                        char **buf)
{
    split *sp = a != NULL ? &a->sp : NULL;
    if (sp == NULL || d == NULL || d->data == NULL || sp->buf == NULL ||
        d->data != sp->buf || d->len != sp->fill || !split_done(sp))
        return false;
    size_t *cap;
    char **own = split_owner(a, &cap);
    if (*own != sp->buf)
        return false;
    *buf = *own;
    *own = NULL;
    *cap = 0;
    split_drop(sp);
    return true;
}

void exstp_archive_trim(exst_archive *a)
{
    if (a == NULL || a->failed != EXST_OK || !split_done(&a->sp))
        return;
    split_drop(&a->sp);
    exstp_free(a->doc);
    a->doc = NULL;
    a->doc_cap = 0;
    exstp_free(a->zdoc);
    a->zdoc = NULL;
    a->zdoc_cap = 0;
}

/* ------------------------------------------------------------------ */
/* Header peek                                                        */
/* ------------------------------------------------------------------ */

#define PEEK_MAX_LINES 24

/* Split a line into up to 4 space- or tab-separated words; returns the
 * number of words (5 means "more than 4"). */
static size_t split_words(exst_span w[4], const char *p, const char *end)
{
    size_t n = 0;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            return n;
        if (n == 4)
            return 5;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        w[n].ptr = s;
        w[n].len = (size_t)(p - s);
        n++;
    }
}

static bool span_is(exst_span s, const char *lit)
{
    const size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

/* n decimal digits at p, all digits. */
static bool digits(int *out, const char *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* "YYYY-MM-DD" "HH:MM:SS" to Unix seconds. */
static bool peek_time(int64_t *t, exst_span d, exst_span c)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    int y, mo, dd, hh, mi, ss;
    if (d.len != 10 || c.len != 8 || d.ptr[4] != '-' || d.ptr[7] != '-' ||
        c.ptr[2] != ':' || c.ptr[5] != ':')
        return false;
    if (!digits(&y, d.ptr, 4) || !digits(&mo, d.ptr + 5, 2) ||
        !digits(&dd, d.ptr + 8, 2) || !digits(&hh, c.ptr, 2) ||
        !digits(&mi, c.ptr + 3, 2) || !digits(&ss, c.ptr + 6, 2))
        return false;
    if (y < 1970 || mo < 1 || mo > 12 || dd < 1 || dd > mdays[mo - 1] ||
        hh > 23 || mi > 59 || ss > 60)
        return false;
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && dd == 29 && !leap)
        return false;
    *t = exstp_timegm(y, mo, dd, hh, mi, ss);
    return true;
}

int exst_peek_header(int64_t *valid_after, exst_flavor *flavor,
                     const void *buf, size_t len, const char *source,
                     exst_error *err)
{
    const char *p = buf, *end = p + (buf != NULL ? len : 0);
    unsigned long line_no = 0;
    bool have_version = false, have_status = false;
    exst_flavor fl = EXST_FLAVOR_NS;
    char q[176];
    /* The same verdict as the reader's: an @type of another kind is not
     * a consensus, whatever follows it. */
    exst_span type;
    if (exst_doc_classify(&type, buf, len) == EXST_DOC_OTHER_TYPE) {
        const char *b = buf;
        unsigned long tl = 1;
        for (const char *c = b; c < type.ptr; c++)
            tl += *c == '\n';
        exstp_escape(q, sizeof q, type.ptr, type.len);
        return exstp_error_set(err, EXST_ERR_SEMANTIC, source, tl, 1,
                               (size_t)(type.ptr - b), "@type",
                               "not a consensus: the document's @type is "
                               "\"%s\"", q);
    }
    while (p < end && line_no < PEEK_MAX_LINES) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        const char *ls = p;
        p = nl != NULL ? nl + 1 : end;
        line_no++;
        const size_t off = (size_t)(ls - (const char *)buf);
        if (le > ls && le[-1] == '\r')
            return exstp_error_set(err, EXST_ERR_SYNTAX, source, line_no,
                                   (unsigned long)(le - ls), off, NULL,
                                   "line ends with CR: CR-LF line endings "
                                   "are not accepted (dos2unix fixes it)");
        if (!have_version && le > ls && *ls == '@')
            continue; /* annotation, e.g. CollecTor's @type */
        exst_span w[4];
        const size_t nw = split_words(w, ls, le);
        if (!have_version) {
            if (nw >= 2 && nw <= 3 && span_is(w[0], "network-status-version")
                && span_is(w[1], "3") &&
                (nw == 2 || span_is(w[2], "microdesc"))) {
                fl = nw == 3 ? EXST_FLAVOR_MICRODESC : EXST_FLAVOR_NS;
                have_version = true;
                continue;
            }
            /* Bytes that name their format get a hint, not a quote. */
            const exstp_dz_fmt zf =
                exstp_dz_detect(ls, (size_t)(end - ls));
            const char *what = exstp_dz_foreign(ls, (size_t)(end - ls));
            if (zf != EXSTP_DZ_NONE)
                return exstp_error_set(err, EXST_ERR_SEMANTIC, source,
                                       line_no, 1, off,
                                       "network-status-version",
                                       "not a consensus: %s-compressed "
                                       "data inside the input (compressed "
                                       "twice?)", exstp_dz_name(zf));
            if (what != NULL)
                return exstp_error_set(err, EXST_ERR_SEMANTIC, source,
                                       line_no, 1, off,
                                       "network-status-version",
                                       "not a consensus: %s, which is not "
                                       "read%s", what,
                                       strcmp(what, "a tar archive") == 0
                                           ? " inside another input"
                                           : " (decompress it first)");
            exstp_escape(q, sizeof q, ls, (size_t)(le - ls));
            return exstp_error_set(err, EXST_ERR_SEMANTIC, source, line_no,
                                   1, off, "network-status-version",
                                   "not a consensus: expected "
                                   "\"network-status-version 3\", "
                                   "found \"%s\"", q);
        }
        if (nw >= 1 && span_is(w[0], "vote-status")) {
            if (nw != 2 || !span_is(w[1], "consensus")) {
                exstp_escape(q, sizeof q, ls, (size_t)(le - ls));
                return exstp_error_set(err, EXST_ERR_SEMANTIC, source,
                                       line_no, 1, off, "vote-status",
                                       "not a consensus: found \"%s\"", q);
            }
            have_status = true;
        } else if (nw >= 1 && span_is(w[0], "valid-after")) {
            int64_t t;
            if (nw != 3 || !peek_time(&t, w[1], w[2])) {
                exstp_escape(q, sizeof q, ls, (size_t)(le - ls));
                return exstp_error_set(err, EXST_ERR_SYNTAX, source,
                                       line_no, 1, off, "valid-after",
                                       "\"valid-after\" line: expected "
                                       "\"YYYY-MM-DD HH:MM:SS\", found "
                                       "\"%s\"", q);
            }
            if (!have_status)
                return exstp_error_set(err, EXST_ERR_SEMANTIC, source,
                                       line_no, 1, off, "vote-status",
                                       "not a consensus: no \"vote-status "
                                       "consensus\" line before "
                                       "valid-after");
            *valid_after = t;
            *flavor = fl;
            return EXST_OK;
        }
    }
    if (!have_version)
        return exstp_error_set(err, EXST_ERR_SEMANTIC, source, line_no, 0,
                               0, "network-status-version",
                               "not a consensus: no "
                               "\"network-status-version 3\" line");
    return exstp_error_set(err, EXST_ERR_SEMANTIC, source, line_no, 0, 0,
                           "valid-after",
                           "not a consensus: no \"valid-after\" line in the "
                           "first %d lines", PEEK_MAX_LINES);
}

/* ------------------------------------------------------------------ */
/* Directory walk                                                     */
/* ------------------------------------------------------------------ */

#define WALK_MAX_DEPTH 64

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

/* Append s (owned) to l; frees s on failure. */
static bool list_add(path_list *l, char *s)
{
    if (l->n == l->cap) {
        const size_t cap = l->cap != 0 ? l->cap * 2 : 16;
        char **v = exstp_realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            exstp_free(s);
            return false;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return true;
}

static char *join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    const size_t nl = strlen(name);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    char *p = exstp_malloc(dl + 1 + nl + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, dl);
    size_t o = dl;
    if (dl == 0 || dir[dl - 1] != '/')
        p[o++] = '/';
    memcpy(p + o, name, nl + 1);
    return p;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static int io_fail(exst_error *err, const char *path, int e)
{
    char q[4 * NAME_Q + 8];
    quote_name(q, sizeof q, path);
    return exstp_error_simple(err, EXST_ERR_IO, path,
                              "cannot open '%s': %s", q, strerror(e));
}

/* The directories on the current path, to skip symbolic-link loops. */
typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

static int walk(path_list *out, const char *dir, dir_id *stack, size_t depth,
                exst_error *err)
{
    if (depth >= WALK_MAX_DEPTH) {
        char q[4 * NAME_Q + 8];
        quote_name(q, sizeof q, dir);
        return exstp_error_simple(err, EXST_ERR_IO, dir,
                                  "directories nest deeper than %d levels "
                                  "at '%s'", WALK_MAX_DEPTH, q);
    }
    DIR *d = opendir(dir);
    if (d == NULL)
        return io_fail(err, dir, errno);
    path_list names = {0};
    int rc = EXST_OK;
    for (;;) {
        errno = 0;
        const struct dirent *de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                rc = io_fail(err, dir, errno);
            break;
        }
        if (de->d_name[0] == '.')
            continue;
        char *full = join_path(dir, de->d_name);
        if (full == NULL || !list_add(&names, full)) {
            rc = exstp_error_simple(err, EXST_ERR_NOMEM, dir,
                                    "out of memory");
            break;
        }
    }
    closedir(d);
    if (names.n > 1)
        qsort(names.v, names.n, sizeof *names.v, cmp_str);
    size_t i = 0;
    for (; rc == EXST_OK && i < names.n; i++) {
        char *full = names.v[i];
        names.v[i] = NULL;
        struct stat st;
        if (stat(full, &st) != 0) {
            rc = io_fail(err, full, errno);
            exstp_free(full);
        } else if (S_ISDIR(st.st_mode)) {
            bool loop = false;
            for (size_t k = 0; k < depth; k++)
                loop |= stack[k].dev == st.st_dev && stack[k].ino == st.st_ino;
            if (!loop) {
                stack[depth].dev = st.st_dev;
                stack[depth].ino = st.st_ino;
                rc = walk(out, full, stack, depth + 1, err);
            }
            exstp_free(full);
        } else if (S_ISREG(st.st_mode)) {
            if (!list_add(out, full))
                rc = exstp_error_simple(err, EXST_ERR_NOMEM, dir,
                                        "out of memory");
        } else {
            exstp_free(full); /* FIFOs, sockets, devices inside a tree */
        }
    }
    for (; i < names.n; i++)
        exstp_free(names.v[i]);
    exstp_free(names.v);
    return rc;
}

int exst_collect_paths(char ***paths, size_t *n, const char *const *inputs,
                       size_t n_inputs, exst_error *err)
{
    if (paths == NULL || n == NULL || (inputs == NULL && n_inputs > 0))
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "exst_collect_paths: NULL argument");
    *paths = NULL;
    *n = 0;
    path_list out = {0};
    dir_id stack[WALK_MAX_DEPTH];
    int rc = EXST_OK;
    for (size_t i = 0; i < n_inputs && rc == EXST_OK; i++) {
        const char *in = inputs[i];
        struct stat st;
        if (strcmp(in, "-") != 0 && stat(in, &st) != 0) {
            rc = io_fail(err, in, errno);
        } else if (strcmp(in, "-") != 0 && S_ISDIR(st.st_mode)) {
            stack[0].dev = st.st_dev;
            stack[0].ino = st.st_ino;
            rc = walk(&out, in, stack, 1, err);
        } else {
            /* "-", files, and pipes such as /dev/fd/63 from <(...) */
            char *p = exstp_strndup(in, strlen(in));
            if (p == NULL || !list_add(&out, p))
                rc = exstp_error_simple(err, EXST_ERR_NOMEM, in,
                                        "out of memory");
        }
    }
    if (rc != EXST_OK) {
        exst_paths_free(out.v, out.n);
        return rc;
    }
    *paths = out.v;
    *n = out.n;
    return EXST_OK;
}

void exst_paths_free(char **paths, size_t n)
{
    if (paths == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        exstp_free(paths[i]);
    exstp_free(paths);
}
