/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_decomp_int.h - one streaming interface over the three decoders the
 * library reads (zstd, xz through liblzma, gzip through zlib), shared by
 * the consensus parser (a whole compressed document in memory) and the
 * archive reader (a compressed stream, and compressed tar members).  The
 * format is recognised by its magic bytes only.  Every input may hold
 * several frames, streams or members back to back, as `cat a.xz b.xz`
 * gives; they decode as one.  Never installed.
 */
#ifndef EXST_DECOMP_INT_H
#define EXST_DECOMP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "exitstage.h"

typedef enum exstp_dz_fmt {
    EXSTP_DZ_NONE = 0,
    EXSTP_DZ_ZSTD = 1,
    EXSTP_DZ_XZ = 2,
    EXSTP_DZ_GZIP = 3
} exstp_dz_fmt;

/* Bytes exstp_dz_detect needs to tell every format (xz's magic is 6). */
#define EXSTP_DZ_MAGIC_MAX 6

/* The largest xz dictionary accepted: xz -9 uses 64 MiB; a header asking
 * for more is refused rather than allocated. */
#define EXSTP_DZ_XZ_MEMLIMIT ((unsigned long long)128 << 20)

/* The format whose magic (p, n) starts with, or EXSTP_DZ_NONE. */
exstp_dz_fmt exstp_dz_detect(const void *p, size_t n);

/* "zstd", "xz", "gzip" (or "plain" for EXSTP_DZ_NONE). */
const char *exstp_dz_name(exstp_dz_fmt f);

/* When (p, n) starts like something the library does not read (bzip2,
 * lz4, lzip, lzma, zip, 7z, compress, or a tar archive), a short phrase
 * naming it ("bzip2-compressed data"), else NULL.  For hints in "not a
 * consensus" messages. */
const char *exstp_dz_foreign(const void *p, size_t n);

/* Results of exstp_dz_run and exstp_dz_decode_all. */
enum {
    EXSTP_DZ_MORE = 0,  /* needs more input or more output room */
    EXSTP_DZ_END,       /* every frame/stream/member ended, all flushed */
    EXSTP_DZ_CORRUPT,   /* exstp_dz_why says how */
    EXSTP_DZ_TRUNCATED, /* the input ended inside a frame/stream/member */
    EXSTP_DZ_NOMEM,
    EXSTP_DZ_LIMIT      /* exstp_dz_decode_all: output over max */
};

typedef struct exstp_dz exstp_dz;

/* A decoder for f (not EXSTP_DZ_NONE); NULL when out of memory.  Its
 * allocations go through exstp_malloc (zstd's through its own). */
exstp_dz *exstp_dz_new(exstp_dz_fmt f);
void exstp_dz_free(exstp_dz *d);
exstp_dz_fmt exstp_dz_format(const exstp_dz *d);

/* Forget everything, ready for an unrelated input.  false: out of
 * memory (the decoder must then be freed). */
bool exstp_dz_reset(exstp_dz *d);

/*
 * Decode from in[*in_pos, in_len) into out[*out_pos, out_len), moving
 * both positions.  last says no input follows in_len.  Returns
 * EXSTP_DZ_MORE when the output is full or (last false) the input is used
 * up; EXSTP_DZ_END once last is set, the input is used up and every
 * frame has ended (and again on every later call); otherwise an error,
 * which is final.  Garbage after the last frame is EXSTP_DZ_CORRUPT.
 */
int exstp_dz_run(exstp_dz *d, const void *in, size_t in_len, size_t *in_pos,
                 void *out, size_t out_len, size_t *out_pos, bool last);

/* What went wrong, for EXSTP_DZ_CORRUPT ("restored data doesn't match
 * checksum", "incorrect header check"); never NULL. */
const char *exstp_dz_why(const exstp_dz *d);

/* A starting size for the output of (in, len), from what the format
 * records (zstd's frame content size, gzip's ISIZE); 0 if unknown.
 * Untrusted: only a first capacity. */
size_t exstp_dz_size_hint(exstp_dz_fmt f, const void *in, size_t len);

/*
 * Decode all of (in, in_len) with d (reset first) into *buf, a buffer of
 * *cap bytes grown with exstp_realloc as needed (one byte past the data
 * stays free for a NUL, which is written).  More than max bytes of output
 * is EXSTP_DZ_LIMIT, found after decoding at most max + 1 bytes.  stop,
 * if not 0, ends decoding quietly (EXSTP_DZ_END) once stop bytes are out:
 * a prefix.  *out_len is the output length, also on failure.
 */
int exstp_dz_decode_all(exstp_dz *d, char **buf, size_t *cap,
                        size_t *out_len, const void *in, size_t in_len,
                        size_t max, size_t stop);

/*
 * The parser's entry: decode (in, in_len) of format f into a new buffer
 * (*out, exstp_free'd by the caller, NUL after the data).  Errors are
 * filled in err with source: EXST_ERR_COMPRESS ("corrupt xz data: ...",
 * "truncated gzip data"), EXST_ERR_LIMIT ("decompressed document is
 * larger than MAX bytes"), EXST_ERR_NOMEM.
 */
int exstp_dz_all(char **out, size_t *out_len, exstp_dz_fmt f, const void *in,
                 size_t in_len, size_t max, const char *source,
                 exst_error *err);

#endif /* EXST_DECOMP_INT_H */
