/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_decomp.c - zstd, xz and gzip behind one streaming call (see
 * exst_decomp_int.h).  Each decoder takes as much input and gives as much
 * output as the caller's buffers allow, so the callers decide the chunk
 * sizes (large ones: no per-byte work here).  Several frames, streams or
 * members back to back decode as one stream, the way zstd -dc, xz -dc and
 * gzip -dc treat them; bytes after the last one that start no new one are
 * corrupt data, never silently dropped.
 */
#include <limits.h>
#include <string.h>

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "exst_decomp_int.h"
#include "exst_int.h"

struct exstp_dz {
    exstp_dz_fmt fmt;
    int state;          /* EXSTP_DZ_MORE until the end or an error */
    const char *why;
    /* zstd */
    ZSTD_DStream *zs;
    bool zopen;         /* a frame has started and not ended */
    /* xz */
    lzma_stream xs;
    lzma_allocator xalloc;
    bool xinit;
    /* gzip */
    z_stream gs;
    bool ginit;
    bool gmember;       /* inside a member */
    unsigned long gmembers;
};

/* ------------------------------------------------------------------ */
/* Detection                                                          */
/* ------------------------------------------------------------------ */

exstp_dz_fmt exstp_dz_detect(const void *buf, size_t n)
{
    const unsigned char *p = buf;
    if (p == NULL)
        return EXSTP_DZ_NONE;
    if (n >= 4) {
        const uint32_t m = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                           (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (m == ZSTD_MAGICNUMBER ||
            (m & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START)
            return EXSTP_DZ_ZSTD;
    }
    if (n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0)
        return EXSTP_DZ_XZ;
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return EXSTP_DZ_GZIP;
    return EXSTP_DZ_NONE;
}

const char *exstp_dz_name(exstp_dz_fmt f)
{
    switch (f) {
    case EXSTP_DZ_ZSTD:
        return "zstd";
    case EXSTP_DZ_XZ:
        return "xz";
    case EXSTP_DZ_GZIP:
        return "gzip";
    default:
        return "plain";
    }
}

const char *exstp_dz_foreign(const void *buf, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *what;
    } tab[] = {
        {"BZh", 3, "bzip2-compressed data"},
        {"\x04\x22\x4d\x18", 4, "lz4-compressed data"},
        {"LZIP", 4, "lzip-compressed data"},
        {"\x89LZO\0", 5, "lzop-compressed data"},
        {"\x5d\0\0", 3, "lzma-compressed data"},
        {"PK\x03\x04", 4, "a zip archive"},
        {"7z\xbc\xaf\x27\x1c", 6, "a 7-zip archive"},
        {"\x1f\x9d", 2, "compress(1) data"},
    };
    const unsigned char *p = buf;
    if (p == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (n >= tab[i].len && memcmp(p, tab[i].magic, tab[i].len) == 0)
            return tab[i].what;
    /* A ustar header: the magic, and an octal mode field. */
    if (n >= 263 && memcmp(p + 257, "ustar", 5) == 0) {
        size_t i = 100;
        while (i < 107 && (p[i] == ' ' || (p[i] >= '0' && p[i] <= '7')))
            i++;
        if (i == 107 && (p[107] == '\0' || p[107] == ' '))
            return "a tar archive";
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Allocation hooks: liblzma and zlib allocate through exstp_malloc    */
/* ------------------------------------------------------------------ */

static void *xz_alloc(void *opaque, size_t nmemb, size_t size)
{
    (void)opaque;
    if (size != 0 && nmemb > SIZE_MAX / size)
        return NULL;
    return exstp_malloc(nmemb * size);
}

static void xz_free(void *opaque, void *ptr)
{
    (void)opaque;
    exstp_free(ptr);
}

static voidpf gz_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return exstp_malloc((size_t)items * size);
}

static void gz_free(voidpf opaque, voidpf ptr)
{
    (void)opaque;
    exstp_free(ptr);
}

/* ------------------------------------------------------------------ */
/* Create, reset, free                                                */
/* ------------------------------------------------------------------ */

static bool xz_start(exstp_dz *d)
{
    const lzma_stream init = LZMA_STREAM_INIT;
    if (d->xinit)
        lzma_end(&d->xs);
    d->xs = init;
    d->xs.allocator = &d->xalloc;
    d->xinit = lzma_stream_decoder(&d->xs, EXSTP_DZ_XZ_MEMLIMIT,
                                   LZMA_CONCATENATED) == LZMA_OK;
    return d->xinit;
}

exstp_dz *exstp_dz_new(exstp_dz_fmt f)
{
    exstp_dz *d = exstp_calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->fmt = f;
    d->why = "";
    bool ok = false;
    switch (f) {
    case EXSTP_DZ_ZSTD:
        d->zs = ZSTD_createDStream();
        ok = d->zs != NULL;
        break;
    case EXSTP_DZ_XZ:
        d->xalloc.alloc = xz_alloc;
        d->xalloc.free = xz_free;
        ok = xz_start(d);
        break;
    case EXSTP_DZ_GZIP:
        d->gs.zalloc = gz_alloc;
        d->gs.zfree = gz_free;
        /* 16 + 15: a gzip wrapper, the largest window. */
        d->ginit = inflateInit2(&d->gs, 16 + MAX_WBITS) == Z_OK;
        ok = d->ginit;
        break;
    default:
        break;
    }
    if (!ok) {
        exstp_dz_free(d);
        return NULL;
    }
    return d;
}

void exstp_dz_free(exstp_dz *d)
{
    if (d == NULL)
        return;
    ZSTD_freeDStream(d->zs);
    if (d->xinit)
        lzma_end(&d->xs);
    if (d->ginit)
        inflateEnd(&d->gs);
    exstp_free(d);
}

exstp_dz_fmt exstp_dz_format(const exstp_dz *d)
{
    return d->fmt;
}

const char *exstp_dz_why(const exstp_dz *d)
{
    return d->why;
}

bool exstp_dz_reset(exstp_dz *d)
{
    d->state = EXSTP_DZ_MORE;
    d->why = "";
    switch (d->fmt) {
    case EXSTP_DZ_ZSTD:
        d->zopen = false;
        return !ZSTD_isError(
            ZSTD_DCtx_reset(d->zs, ZSTD_reset_session_only));
    case EXSTP_DZ_XZ:
        return xz_start(d);
    case EXSTP_DZ_GZIP:
        d->gmember = false;
        d->gmembers = 0;
        return inflateReset(&d->gs) == Z_OK;
    default:
        return false;
    }
}

/* ------------------------------------------------------------------ */
/* Decoding                                                           */
/* ------------------------------------------------------------------ */

static int fail(exstp_dz *d, int state, const char *why)
{
    d->state = state;
    d->why = why != NULL ? why : "corrupt data";
    return state;
}

static int run_zstd(exstp_dz *d, const void *in, size_t in_len,
                    size_t *in_pos, void *out, size_t out_len,
                    size_t *out_pos, bool last)
{
    ZSTD_inBuffer ib = {in, in_len, *in_pos};
    ZSTD_outBuffer ob = {out, out_len, *out_pos};
    int rc;
    for (;;) {
        const size_t i0 = ib.pos, o0 = ob.pos;
        const size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
        if (ZSTD_isError(r)) {
            rc = fail(d, EXSTP_DZ_CORRUPT, ZSTD_getErrorName(r));
            break;
        }
        const bool progress = ib.pos != i0 || ob.pos != o0;
        /* A call that moves nothing (the output was full when a frame
         * ended) reports the next frame's needs: keep the last word. */
        if (progress)
            d->zopen = r != 0;
        if (ob.pos == ob.size) {
            rc = EXSTP_DZ_MORE;
            break;
        }
        if (ib.pos == ib.size) {
            /* Everything decodable is out (the output has room). */
            if (!last)
                rc = EXSTP_DZ_MORE;
            else if (d->zopen)
                rc = fail(d, EXSTP_DZ_TRUNCATED, "truncated");
            else
                rc = d->state = EXSTP_DZ_END;
            break;
        }
        if (!progress) {
            rc = fail(d, EXSTP_DZ_CORRUPT, "decoder made no progress");
            break;
        }
    }
    *in_pos = ib.pos;
    *out_pos = ob.pos;
    return rc;
}

static const char *xz_why(lzma_ret r)
{
    switch (r) {
    case LZMA_FORMAT_ERROR:
        return "not in the xz format";
    case LZMA_OPTIONS_ERROR:
        return "unsupported options";
    case LZMA_DATA_ERROR:
        return "compressed data is corrupt";
    case LZMA_MEMLIMIT_ERROR:
        return "the dictionary is over 128 MiB";
    default:
        return "decoder error";
    }
}

static int run_xz(exstp_dz *d, const void *in, size_t in_len,
                  size_t *in_pos, void *out, size_t out_len,
                  size_t *out_pos, bool last)
{
    lzma_stream *s = &d->xs;
    int rc;
    for (;;) {
        s->next_in = (const uint8_t *)in + *in_pos;
        s->avail_in = in_len - *in_pos;
        s->next_out = (uint8_t *)out + *out_pos;
        s->avail_out = out_len - *out_pos;
        const lzma_ret r = lzma_code(s, last ? LZMA_FINISH : LZMA_RUN);
        const bool progress = s->avail_in != in_len - *in_pos ||
                              s->avail_out != out_len - *out_pos;
        *in_pos = in_len - s->avail_in;
        *out_pos = out_len - s->avail_out;
        if (r == LZMA_STREAM_END) {
            /* With LZMA_CONCATENATED only LZMA_FINISH ends the stream,
             * after all input: nothing is left behind. */
            rc = d->state = EXSTP_DZ_END;
            break;
        }
        if (r == LZMA_MEM_ERROR) {
            rc = fail(d, EXSTP_DZ_NOMEM, "out of memory");
            break;
        }
        if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
            rc = fail(d, EXSTP_DZ_CORRUPT, xz_why(r));
            break;
        }
        if (*out_pos == out_len) {
            rc = EXSTP_DZ_MORE;
            break;
        }
        if (*in_pos == in_len && !last) {
            rc = EXSTP_DZ_MORE;
            break;
        }
        if (!progress) {
            /* Output room, no input left, and the stream not ended. */
            rc = last && *in_pos == in_len
                     ? fail(d, EXSTP_DZ_TRUNCATED, "truncated")
                     : fail(d, EXSTP_DZ_CORRUPT, "decoder made no progress");
            break;
        }
    }
    return rc;
}

static int run_gzip(exstp_dz *d, const void *in, size_t in_len,
                    size_t *in_pos, void *out, size_t out_len,
                    size_t *out_pos, bool last)
{
    z_stream *s = &d->gs;
    for (;;) {
        if (!d->gmember) {
            /* Between members: the end, or the next member's header. */
            if (*in_pos == in_len) {
                if (!last)
                    return EXSTP_DZ_MORE;
                if (d->gmembers == 0)
                    return fail(d, EXSTP_DZ_TRUNCATED, "truncated");
                return d->state = EXSTP_DZ_END;
            }
            if (d->gmembers > 0) {
                if (((const unsigned char *)in)[*in_pos] != 0x1f)
                    return fail(d, EXSTP_DZ_CORRUPT,
                                "trailing garbage after the gzip data");
                if (inflateReset(s) != Z_OK)
                    return fail(d, EXSTP_DZ_CORRUPT, "decoder error");
            }
            d->gmember = true;
        }
        const size_t ia = in_len - *in_pos, oa = out_len - *out_pos;
        s->next_in = (Bytef *)(uintptr_t)((const unsigned char *)in + *in_pos);
        s->avail_in = ia > UINT_MAX ? UINT_MAX : (uInt)ia;
        s->next_out = (Bytef *)out + *out_pos;
        s->avail_out = oa > UINT_MAX ? UINT_MAX : (uInt)oa;
        const uInt ai0 = s->avail_in, ao0 = s->avail_out;
        const int r = inflate(s, Z_NO_FLUSH);
        *in_pos += ai0 - s->avail_in;
        *out_pos += ao0 - s->avail_out;
        switch (r) {
        case Z_STREAM_END:
            d->gmember = false;
            d->gmembers++;
            continue;
        case Z_OK:
        case Z_BUF_ERROR:
            break;
        case Z_MEM_ERROR:
            return fail(d, EXSTP_DZ_NOMEM, "out of memory");
        case Z_NEED_DICT:
            return fail(d, EXSTP_DZ_CORRUPT, "needs a preset dictionary");
        default:
            return fail(d, EXSTP_DZ_CORRUPT,
                        s->msg != NULL ? s->msg : "decoder error");
        }
        if (*out_pos == out_len)
            return EXSTP_DZ_MORE;
        if (*in_pos == in_len)
            return last ? fail(d, EXSTP_DZ_TRUNCATED, "truncated")
                        : EXSTP_DZ_MORE;
        if (ai0 == s->avail_in && ao0 == s->avail_out)
            return fail(d, EXSTP_DZ_CORRUPT, "decoder made no progress");
    }
}

int exstp_dz_run(exstp_dz *d, const void *in, size_t in_len, size_t *in_pos,
                 void *out, size_t out_len, size_t *out_pos, bool last)
{
    if (d->state != EXSTP_DZ_MORE)
        return d->state;
    switch (d->fmt) {
    case EXSTP_DZ_ZSTD:
        return run_zstd(d, in, in_len, in_pos, out, out_len, out_pos, last);
    case EXSTP_DZ_XZ:
        return run_xz(d, in, in_len, in_pos, out, out_len, out_pos, last);
    case EXSTP_DZ_GZIP:
        return run_gzip(d, in, in_len, in_pos, out, out_len, out_pos, last);
    default:
        return fail(d, EXSTP_DZ_CORRUPT, "unknown format");
    }
}

/* ------------------------------------------------------------------ */
/* Whole buffers                                                      */
/* ------------------------------------------------------------------ */

size_t exstp_dz_size_hint(exstp_dz_fmt f, const void *in, size_t len)
{
    const unsigned char *p = in;
    if (f == EXSTP_DZ_ZSTD) {
        const unsigned long long fcs = ZSTD_getFrameContentSize(in, len);
        if (fcs != ZSTD_CONTENTSIZE_UNKNOWN &&
            fcs != ZSTD_CONTENTSIZE_ERROR && fcs < SIZE_MAX / 2)
            return (size_t)fcs;
    } else if (f == EXSTP_DZ_GZIP && len >= 18) {
        /* ISIZE: the last member's size mod 2^32 (one member: exact). */
        return (size_t)((uint32_t)p[len - 4] | (uint32_t)p[len - 3] << 8 |
                        (uint32_t)p[len - 2] << 16 |
                        (uint32_t)p[len - 1] << 24);
    }
    return 0;
}

int exstp_dz_decode_all(exstp_dz *d, char **buf, size_t *cap,
                        size_t *out_len, const void *in, size_t in_len,
                        size_t max, size_t stop)
{
    size_t n = 0, in_pos = 0;
    *out_len = 0;
    if (!exstp_dz_reset(d))
        return EXSTP_DZ_NOMEM;
    /* Never decode past max + 1 (over the limit) or stop (a prefix). */
    const size_t limit = stop != 0 && stop <= max ? stop : max + 1;
    size_t want = exstp_dz_size_hint(d->fmt, in, in_len);
    if (want == 0)
        want = in_len < SIZE_MAX / 8 ? in_len * 6 + 4096 : limit;
    if (want > limit)
        want = limit;
    if (want + 1 > *cap) {
        char *p = exstp_realloc(*buf, want + 1);
        if (p == NULL)
            return EXSTP_DZ_NOMEM;
        *buf = p;
        *cap = want + 1;
    }
    for (;;) {
        if (n == *cap - 1) {
            /* Full: grow by half again, within the limit. */
            size_t ncap = *cap + *cap / 2;
            if (ncap > limit + 1)
                ncap = limit + 1;
            char *p = exstp_realloc(*buf, ncap);
            if (p == NULL)
                return EXSTP_DZ_NOMEM;
            *buf = p;
            *cap = ncap;
        }
        size_t room = *cap - 1;
        if (room > limit)
            room = limit;
        const int r = exstp_dz_run(d, in, in_len, &in_pos, *buf, room, &n,
                                   true);
        *out_len = n;
        if (r == EXSTP_DZ_END) {
            if (n > max)
                return EXSTP_DZ_LIMIT; /* ended at max + 1 exactly */
            break;
        }
        if (r != EXSTP_DZ_MORE)
            return r;
        if (n == limit) {
            if (stop != 0 && limit == stop)
                break; /* the prefix asked for */
            return EXSTP_DZ_LIMIT;
        }
    }
    (*buf)[n] = '\0';
    return EXSTP_DZ_END;
}

int exstp_dz_all(char **out, size_t *out_len, exstp_dz_fmt f, const void *in,
                 size_t in_len, size_t max, const char *source,
                 exst_error *err)
{
    *out = NULL;
    *out_len = 0;
    exstp_dz *d = exstp_dz_new(f);
    if (d == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                  "out of memory");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    const int r = exstp_dz_decode_all(d, &buf, &cap, &n, in, in_len, max, 0);
    int rc = EXST_OK;
    switch (r) {
    case EXSTP_DZ_END:
        *out = buf;
        *out_len = n;
        buf = NULL;
        break;
    case EXSTP_DZ_LIMIT:
        rc = exstp_error_simple(err, EXST_ERR_LIMIT, source,
                                "decompressed document is larger than %zu "
                                "bytes", max);
        break;
    case EXSTP_DZ_TRUNCATED:
        rc = exstp_error_simple(err, EXST_ERR_COMPRESS, source,
                                "truncated %s data", exstp_dz_name(f));
        break;
    case EXSTP_DZ_CORRUPT:
        rc = exstp_error_simple(err, EXST_ERR_COMPRESS, source,
                                "corrupt %s data: %s", exstp_dz_name(f),
                                exstp_dz_why(d));
        break;
    default:
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                "out of memory");
        break;
    }
    exstp_free(buf);
    exstp_dz_free(d);
    return rc;
}
