/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exitstage.h - the public interface of libexitstage.
 *
 * libexitstage reads Tor network-status consensus documents (both
 * flavours), keeps a staging history of exit relays, strips the Exit flag
 * from relays that are still in their staging period, recomputes the
 * bandwidth weights exactly as tor's authorities do, and re-emits the
 * document byte for byte apart from those edits.
 *
 * Conventions: every fallible call returns an int holding an exst_status
 * (EXST_OK is 0).  Outputs come first, then inputs, then options, then an
 * optional caller-owned exst_error.  Objects returned through an out
 * parameter are owned by the caller and freed with the matching _free
 * function, which accepts NULL.  The library never prints, never exits and
 * never reads the environment.
 */
#ifndef EXITSTAGE_H
#define EXITSTAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EXST_STATIC_DEFINE) || !defined(__GNUC__)
#define EXST_API
#else
#define EXST_API __attribute__((visibility("default")))
#endif

#if defined(__GNUC__)
#define EXST_NODISCARD __attribute__((warn_unused_result))
#else
#define EXST_NODISCARD
#endif

/* ------------------------------------------------------------------ */
/* Status, errors, library setup                                      */
/* ------------------------------------------------------------------ */

typedef enum exst_status {
    EXST_OK = 0,
    EXST_ERR_NOMEM = 1,    /* an allocation failed */
    EXST_ERR_IO = 2,       /* a system call failed; message has strerror */
    EXST_ERR_SYNTAX = 3,   /* a malformed line */
    EXST_ERR_SEMANTIC = 4, /* well-formed but invalid (order, counts, kind) */
    EXST_ERR_LIMIT = 5,    /* a size, line or count limit was exceeded */
    EXST_ERR_DB = 6,       /* history database corrupt, wrong version */
    EXST_ERR_COMPRESS = 7, /* corrupt or truncated compressed data */
    EXST_ERR_USAGE = 8,    /* an argument or option is invalid */
    EXST_ERR_ORDER = 9,    /* consensus older than the history, or
                              out-of-order archive member */
    EXST_ERR_LOCKED = 10,  /* database is locked by another writer */
    EXST_ERR_REPROCESS = 11, /* document already carries exitstage items */
    EXST_ERR_INTERRUPTED = 12 /* stopped by the caller's interrupt flag */
} exst_status;

/*
 * A caller-allocated error record, filled once where an error is detected.
 * line and column are 1-based (0 when they do not apply); offset is a byte
 * offset into the (decompressed) input.  source is the name the caller
 * passed in (file name, "<stdin>", archive member), possibly truncated.
 */
typedef struct exst_error {
    int code;
    char source[256];
    unsigned long line;
    unsigned long column;
    size_t offset;
    char keyword[32];
    char message[200];
} exst_error;

/* A pointer plus length into memory owned by some other object. */
typedef struct exst_span {
    const char *ptr;
    size_t len;
} exst_span;

/** Initialise the library (libsodium).  Safe to call more than once.
 *  @return EXST_OK, or EXST_ERR_NOMEM if libsodium cannot start. */
EXST_API EXST_NODISCARD int exst_init(void);

/** Return a static, lowercase description of a status value. */
EXST_API const char *exst_status_str(int status);

/** Return the library version string ("1.2.3"). */
EXST_API const char *exst_version(void);

/** Free memory the library returned as an owned buffer or string. */
EXST_API void exst_free(void *p);

/** Clear an error record (code EXST_OK, empty strings).  NULL is allowed. */
EXST_API void exst_error_clear(exst_error *err);

/* Times are seconds since the Unix epoch, UTC.  These mark absent values. */
#define EXST_TIME_NONE INT64_MIN       /* not set */
#define EXST_TIME_UNKNOWN (INT64_MIN + 1) /* grandfathered: "before we knew" */
/* The latest time the tool writes or accepts: 9999-12-31T23:59:59Z. */
#define EXST_TIME_LATEST INT64_C(253402300799)

/** Format a time as ISO-8601 UTC ("2024-05-17T17:00:00Z") into buf, which
 *  must hold at least 21 bytes.  @return buf. */
EXST_API char *exst_time_iso(char buf[21], int64_t t);

/** Parse a time: "2024-05-17T17:00:00Z", "2024-05-17 17:00:00" (UTC) or
 *  seconds since the epoch, from 1970 to 9999.
 *  @return EXST_OK or EXST_ERR_USAGE (err says why). */
EXST_API EXST_NODISCARD int exst_time_parse(int64_t *out, const char *s,
                                            exst_error *err);

/** Parse a duration: "345600", "96h", "4d", "30m", "90s" and sums such as
 *  "1d12h".  Rejects empty strings, unknown units and values over
 *  max_seconds.  @return EXST_OK or EXST_ERR_USAGE (err says why). */
EXST_API EXST_NODISCARD int exst_duration_parse(int64_t *out, const char *s,
                                                int64_t max_seconds,
                                                exst_error *err);

/* ------------------------------------------------------------------ */
/* Consensus documents                                                */
/* ------------------------------------------------------------------ */

typedef struct exst_consensus exst_consensus;

typedef enum exst_flavor {
    EXST_FLAVOR_NS = 0,
    EXST_FLAVOR_MICRODESC = 1
} exst_flavor;

/* Default limits (SPEC 6).  Zero in an options struct means default. */
#define EXST_DEFAULT_MAX_DOC_BYTES ((size_t)64 << 20)   /* 64 MiB */
#define EXST_DEFAULT_MAX_LINE_BYTES ((size_t)128 << 10) /* 128 KiB */
#define EXST_DEFAULT_MAX_RELAYS ((size_t)200000)

/* Parse flags. */
#define EXST_PARSE_ALLOW_REPROCESS 0x1u /* accept exitstage annotations */
/* Use an uncompressed (buf, len) in place instead of copying it: the
 * caller keeps it alive and unchanged until the consensus is freed
 * (replay parses each archive member straight from the reader's buffer).
 * Compressed input is still decompressed into memory the consensus owns. */
#define EXST_PARSE_BORROW 0x2u

typedef void (*exst_warn_fn)(void *ud, const exst_error *warning);

typedef struct exst_parse_opts {
    size_t max_doc_bytes;  /* decompressed size cap (zstd bombs) */
    size_t max_line_bytes; /* longest accepted line, LF excluded */
    size_t max_relays;
    unsigned flags;        /* EXST_PARSE_* */
    exst_warn_fn warn;     /* optional: unknown keywords etc. */
    void *warn_ud;
} exst_parse_opts;

/**
 * Parse one network-status-consensus-3 document (either flavour) from
 * (buf, len).  Compressed input (zstd, xz or gzip, several frames,
 * streams or members back to back allowed) is recognised by its magic
 * bytes and decompressed first; input that starts like another
 * compression (bzip2, lz4, ...) is EXST_ERR_COMPRESS saying so, and a tar
 * archive is EXST_ERR_SEMANTIC ("not a consensus: the input is a tar
 * archive").  The bytes are copied, so the caller may free buf
 * at once, unless opts->flags has EXST_PARSE_BORROW.  source names the
 * input in errors (may be NULL).  On failure *out stays NULL and err (if
 * not NULL) says where and why.
 * @return EXST_OK or an exst_status.
 */
EXST_API EXST_NODISCARD int
exst_consensus_parse(exst_consensus **out, const void *buf, size_t len,
                     const char *source, const exst_parse_opts *opts,
                     exst_error *err);

/** Read the whole stream fp (plain, zstd, xz or gzip) and parse it as
 *  above. */
EXST_API EXST_NODISCARD int
exst_consensus_read(exst_consensus **out, FILE *fp, const char *source,
                    const exst_parse_opts *opts, exst_error *err);

/** Free a parsed consensus.  NULL is allowed. */
EXST_API void exst_consensus_free(exst_consensus *c);

EXST_API exst_flavor exst_consensus_flavor(const exst_consensus *c);
EXST_API int64_t exst_consensus_valid_after(const exst_consensus *c);
EXST_API int64_t exst_consensus_fresh_until(const exst_consensus *c);
EXST_API int64_t exst_consensus_valid_until(const exst_consensus *c);
EXST_API unsigned exst_consensus_method(const exst_consensus *c);
EXST_API size_t exst_consensus_relay_count(const exst_consensus *c);

/** The decompressed document bytes (annotation lines included), borrowed
 *  until c is freed. */
EXST_API exst_span exst_consensus_bytes(const exst_consensus *c);

/** Number of flags in known-flags, and the name of flag i (borrowed). */
EXST_API size_t exst_consensus_flag_count(const exst_consensus *c);
EXST_API exst_span exst_consensus_flag_name(const exst_consensus *c,
                                            size_t i);
/** Index of a flag in known-flags, or -1 if the document does not list it. */
EXST_API int exst_consensus_flag_index(const exst_consensus *c,
                                       const char *name);

/** Look up an integer consensus parameter.  @return 1 and *value if the
 *  params line has key, else 0. */
EXST_API int exst_consensus_param(const exst_consensus *c, const char *key,
                                  int32_t *value);

/** One router status entry, as the document says it.  Spans borrow from
 *  the consensus. */
typedef struct exst_relay {
    uint8_t id[20];         /* RSA identity digest */
    exst_span nickname;
    exst_span address;      /* IPv4 address text */
    uint32_t or_port;
    uint64_t flags;         /* bit i set = known-flags entry i */
    uint32_t bandwidth;     /* w Bandwidth= (0 when has_bandwidth == 0) */
    int has_bandwidth;
    int unmeasured;         /* w Unmeasured=1 */
    int has_guardfraction;  /* w GuardFraction= present */
    uint32_t guardfraction; /* percent, 0..100 */
    unsigned long line;     /* line number of the r line */
} exst_relay;

/** Fill *out with entry i (0 <= i < relay_count).  Entries are in document
 *  order, which is ascending identity order. */
EXST_API void exst_consensus_relay(const exst_consensus *c, size_t i,
                                   exst_relay *out);

/** Nonzero if relay i has the Exit flag (an exit candidate, SPEC 3.1). */
EXST_API int exst_consensus_relay_is_exit(const exst_consensus *c, size_t i);

/** Format a 20-byte identity as 40 uppercase hex digits plus NUL. */
EXST_API char *exst_fingerprint_hex(char out[41], const uint8_t id[20]);

/** Parse 40 hex digits (either case) into an identity.
 *  @return EXST_OK or EXST_ERR_USAGE. */
EXST_API EXST_NODISCARD int exst_fingerprint_parse(uint8_t id[20],
                                                   const char *hex);

/* ------------------------------------------------------------------ */
/* Bandwidth weights (dir-spec "Computing Bandwidth Weights")         */
/* ------------------------------------------------------------------ */

/* The 19 keys of a bandwidth-weights line, in the order tor writes them. */
enum {
    EXST_W_WBD, EXST_W_WBE, EXST_W_WBG, EXST_W_WBM, EXST_W_WDB,
    EXST_W_WEB, EXST_W_WED, EXST_W_WEE, EXST_W_WEG, EXST_W_WEM,
    EXST_W_WGB, EXST_W_WGD, EXST_W_WGG, EXST_W_WGM, EXST_W_WMB,
    EXST_W_WMD, EXST_W_WME, EXST_W_WMG, EXST_W_WMM,
    EXST_W_COUNT
};

typedef struct exst_weights {
    int present;                /* 0: the algorithm yields no weights */
    int64_t w[EXST_W_COUNT];
} exst_weights;

/** The key name of weight i ("Wbd" ...). */
EXST_API const char *exst_weight_name(int i);

/** Bandwidth totals as tor tallies them (research-dirspec 3.1). */
typedef struct exst_bw_totals {
    int64_t G, M, E, D, T;
} exst_bw_totals;

/**
 * Compute weights from totals with tor's algorithm for the given consensus
 * method and weight scale (bwweightscale, 10000 by default).  out->present
 * is 0 when tor would emit no bandwidth-weights line.
 */
EXST_API void exst_weights_from_totals(exst_weights *out,
                                       const exst_bw_totals *totals,
                                       unsigned method, int64_t scale);

/**
 * Tally c's entries as tor does and compute its weights.  strip, if not
 * NULL, has relay_count bytes; a nonzero byte means "count this relay
 * without the Exit flag".  totals may be NULL.
 */
EXST_API void exst_consensus_weights(exst_weights *out,
                                     exst_bw_totals *totals,
                                     const exst_consensus *c,
                                     const uint8_t *strip);

/** The document's own bandwidth-weights line, parsed.  out->present is 0
 *  if it has none. */
EXST_API void exst_consensus_weights_in(exst_weights *out,
                                        const exst_consensus *c);

/**
 * The self-check of SPEC 3.5: nonzero if the weights recomputed from the
 * unmodified document reproduce its own bandwidth-weights line byte for
 * byte (or the document has none and the algorithm yields none).
 */
EXST_API int exst_consensus_weights_match(const exst_consensus *c);

/** Nonzero if a and b are equal (both absent, or all 19 values equal). */
EXST_API int exst_weights_equal(const exst_weights *a, const exst_weights *b);

/**
 * The JSON summary that `exitstage inspect` prints (SPEC 5): flavor,
 * valid_after, consensus_method, relays, flags (name to count),
 * exit_candidates, exit_bandwidth (w Bandwidth of exit candidates without
 * BadExit), weights_match, plus fresh_until, valid_until and
 * has_bandwidth_weights.  Pretty-printed, keys sorted, trailing newline;
 * a new string freed with exst_free.
 */
EXST_API EXST_NODISCARD int exst_consensus_summary_json(char **out,
                                                        const exst_consensus *c,
                                                        exst_error *err);

/* ------------------------------------------------------------------ */
/* Writing                                                            */
/* ------------------------------------------------------------------ */

typedef enum exst_enforce {
    EXST_ENFORCE_FLAG = 0,   /* remove Exit */
    EXST_ENFORCE_BADEXIT = 1 /* remove Exit and add BadExit */
} exst_enforce;

typedef enum exst_clock {
    EXST_CLOCK_EXIT = 0,  /* the run that matters is presence as an exit */
    EXST_CLOCK_RELAY = 1  /* presence in the consensus in any role */
} exst_clock;

/* What the `exitstage` preamble item states (SPEC 4.1). */
typedef struct exst_annotation {
    int64_t staging_period_s;
    int64_t reset_after_s;
    exst_clock clock;
    exst_enforce enforce;
    size_t stripped;
} exst_annotation;

typedef struct exst_write_opts {
    const uint8_t *strip;     /* relay_count bytes, nonzero = strip; or NULL */
    const int64_t *run_start; /* per relay, for exitstage-staged items */
    const int64_t *eligible_at; /* per relay, for exitstage-staged items */
    exst_enforce enforce;
    const exst_weights *weights; /* replace bandwidth-weights with these;
                                    NULL keeps the original line */
    const exst_annotation *annotation; /* NULL: no annotations */
    int strip_signatures;
} exst_write_opts;

/**
 * Write c with the edits in opts into a newly allocated buffer (*out,
 * *out_len; free with exst_free).  With opts NULL or empty the output
 * equals exst_consensus_bytes(c) exactly.
 */
EXST_API EXST_NODISCARD int
exst_consensus_write(char **out, size_t *out_len, const exst_consensus *c,
                     const exst_write_opts *opts, exst_error *err);

/** Compress (buf, len) as one zstd frame into a new buffer (exst_free). */
EXST_API EXST_NODISCARD int exst_zstd_compress(void **out, size_t *out_len,
                                               const void *buf, size_t len,
                                               int level, exst_error *err);

/* ------------------------------------------------------------------ */
/* Trust: authority certificates, consensus signatures (SPEC 8)       */
/* ------------------------------------------------------------------ */

/*
 * A set of directory-authority key certificates, as tor keeps them in
 * its cached-certs file: concatenated "dir-key-certificate-version 3"
 * certificates, each binding an authority's signing key to its v3
 * identity key.  Every certificate added has been checked as tor checks
 * it: the identity key's digest equals the fingerprint line, the
 * identity key signs the certificate, and the signing key signs the
 * identity digest (cross-certification).
 */
typedef struct exst_certs exst_certs;

/* Limits (zero in exst_certs_opts means default). */
#define EXST_DEFAULT_MAX_CERT_FILE_BYTES ((size_t)8 << 20)
#define EXST_DEFAULT_MAX_CERTS ((size_t)4096)

typedef struct exst_certs_opts {
    size_t max_file_bytes; /* one file, or one buffer */
    size_t max_certs;      /* in the whole set */
} exst_certs_opts;

/** Create an empty certificate set in *out (NULL on failure).  opts may
 *  be NULL.  @return EXST_OK or EXST_ERR_NOMEM. */
EXST_API EXST_NODISCARD int exst_certs_new(exst_certs **out,
                                           const exst_certs_opts *opts,
                                           exst_error *err);

/**
 * Parse the certificates in (buf, len) and add them to set.  The text is
 * parsed as strictly as a consensus: LF line endings only (a CR is an
 * error), a final newline, no NUL, every keyword's count and position
 * checked (the first line of a certificate is dir-key-certificate-version
 * 3, the last item dir-key-certification), and each certificate's
 * signatures verified.  Empty lines may separate certificates, as tor
 * allows.  A certificate already in the set (same bytes) is not added
 * twice.  source names the input in errors (may be NULL).  On failure
 * nothing from buf is added and err has the line and column.
 * @return EXST_OK, EXST_ERR_SYNTAX, EXST_ERR_SEMANTIC (a missing,
 * repeated or misplaced item, a signature that does not verify, no
 * certificate at all), EXST_ERR_LIMIT or EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_certs_add(exst_certs *set, const void *buf,
                                           size_t len, const char *source,
                                           exst_error *err);

/**
 * Add the certificates of path: a file, or a directory, meaning every
 * regular file directly in it (names starting with "." left out, read in
 * byte order of their names; not recursive).  A directory without files
 * is an error.  @return as exst_certs_add, or EXST_ERR_IO.
 */
EXST_API EXST_NODISCARD int exst_certs_load(exst_certs *set,
                                            const char *path,
                                            exst_error *err);

/** Free a set.  NULL is allowed. */
EXST_API void exst_certs_free(exst_certs *set);

/** Number of certificates in the set. */
EXST_API size_t exst_certs_count(const exst_certs *set);

/** What one certificate says. */
typedef struct exst_cert_info {
    uint8_t identity[20];    /* v3 identity: SHA-1 of the identity key */
    uint8_t signing_key[20]; /* SHA-1 of the signing key, as named in a
                                directory-signature line */
    int64_t published;       /* dir-key-published */
    int64_t expires;         /* dir-key-expires */
    unsigned identity_bits;  /* RSA modulus sizes */
    unsigned signing_bits;
} exst_cert_info;

/** Fill *out with certificate i (0 <= i < count), in the order added. */
EXST_API void exst_certs_get(const exst_certs *set, size_t i,
                             exst_cert_info *out);

/*
 * The trusted authorities: v3 identity fingerprints.  A consensus needs
 * good signatures from more than half of them (tor's n/2 + 1).
 */
typedef struct exst_authorities exst_authorities;

/**
 * Tor's current default v3 directory authorities (built in; see
 * lib/exst_sigcheck.c for the list and its source).
 * @return EXST_OK or EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_authorities_default(exst_authorities **out,
                                                     exst_error *err);

/**
 * Parse an authorities list (for test networks): one v3 identity
 * fingerprint (40 hex digits, either case) a line; "#" starts a comment;
 * blank lines are ignored.  A repeated fingerprint, anything else on a
 * line, or a list without any fingerprint is an error with its line and
 * column.  @return EXST_OK, EXST_ERR_SYNTAX, EXST_ERR_SEMANTIC,
 * EXST_ERR_LIMIT or EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_authorities_parse(exst_authorities **out,
                                                   const void *buf,
                                                   size_t len,
                                                   const char *source,
                                                   exst_error *err);

/** Read and parse an authorities file.  @return as above, or
 *  EXST_ERR_IO. */
EXST_API EXST_NODISCARD int exst_authorities_load(exst_authorities **out,
                                                  const char *path,
                                                  exst_error *err);

EXST_API void exst_authorities_free(exst_authorities *a);
EXST_API size_t exst_authorities_count(const exst_authorities *a);
/** Identity i, ascending; borrowed until a is freed. */
EXST_API const uint8_t *exst_authorities_id(const exst_authorities *a,
                                            size_t i);

/*
 * Digests of one consensus.  The report's consensus.sha256 covers the
 * whole (decompressed) input; the signatures cover tor's signed portion
 * (from the first byte of "network-status-version" through the space
 * after the first "directory-signature", so a leading @type line is not
 * part of it): SHA-1 for signatures without an algorithm keyword, SHA-256
 * for "sha256".  Computing them together costs one SHA-256 pass when the
 * document starts with network-status-version (the signed digest is a
 * snapshot of the running state), plus a SHA-1 pass for ns documents.
 * The library's own SHA-1 and SHA-256 use the x86 SHA extensions where
 * the processor has them (about 1.5 GB/s here, against 140 to 370 MB/s
 * for libsodium's portable SHA-256), so input_sha256 is also the cheap
 * way to get the report's consensus.sha256.
 */
#define EXST_DIGEST_INPUT_SHA256 0x1u  /* whole input, SHA-256 */
#define EXST_DIGEST_SIGNED_SHA1 0x2u   /* signed portion, SHA-1 */
#define EXST_DIGEST_SIGNED_SHA256 0x4u /* signed portion, SHA-256 */

typedef struct exst_digests {
    unsigned have;               /* EXST_DIGEST_* bits filled */
    uint8_t input_sha256[32];
    uint8_t signed_sha1[20];
    uint8_t signed_sha256[32];
} exst_digests;

/**
 * Compute the digests of c that want names (EXST_DIGEST_* bits) into
 * *out.  The signed portion is found as tor finds it; a document where
 * it cannot be found fails with EXST_ERR_SEMANTIC if a signed digest was
 * asked for.  @return EXST_OK or EXST_ERR_SEMANTIC.
 */
EXST_API EXST_NODISCARD int exst_consensus_digests(exst_digests *out,
                                                   const exst_consensus *c,
                                                   unsigned want,
                                                   exst_error *err);

/* Why a signature did not count.  Values are frozen once released. */
typedef enum exst_sig_status {
    EXST_SIG_GOOD = 0,
    EXST_SIG_UNKNOWN_AUTHORITY = 1, /* identity is not a trusted authority */
    EXST_SIG_NO_CERTIFICATE = 2,    /* no certificate for this identity and
                                       signing key */
    EXST_SIG_CERT_EXPIRED = 3,      /* expired before valid-after */
    EXST_SIG_CERT_NOT_YET_VALID = 4, /* published after valid-after */
    EXST_SIG_BAD_SIGNATURE = 5,     /* not an RSA signature by the key */
    EXST_SIG_DIGEST_MISMATCH = 6,   /* signed by the key, but over other
                                       bytes than this document's */
    EXST_SIG_UNKNOWN_ALGORITHM = 7, /* not sha1 or sha256 (tor skips it) */
    EXST_SIG_DUPLICATE = 8          /* second one of an authority with the
                                       same algorithm (tor ignores it) */
} exst_sig_status;

/** The stable short name of a status: "good", "unknown-authority",
 *  "no-certificate", "certificate-expired", "certificate-not-yet-valid",
 *  "bad-signature", "digest-mismatch", "unknown-algorithm", "duplicate". */
EXST_API const char *exst_sig_status_str(int status);

/** One directory-signature of a consensus, as checked. */
typedef struct exst_sig_info {
    uint8_t identity[20];
    uint8_t signing_key[20];
    int algorithm;            /* 1 = sha1, 256 = sha256, 0 = other */
    int status;               /* an exst_sig_status */
    unsigned long line;       /* its directory-signature line */
} exst_sig_info;

typedef struct exst_sigcheck exst_sigcheck;

/**
 * Check the signatures of c as tor's networkstatus_check_consensus_
 * signature does: each directory-signature must name a dir-source of the
 * document (otherwise the document is malformed), carry a SIGNATURE object
 * of 128 to 512 bytes, come from a trusted authority (auth; NULL means
 * exst_authorities_default), and verify with the signing key of a
 * certificate in certs for that identity and signing-key digest which is
 * valid at the consensus's valid-after (never the wall clock).  The
 * verdict: accepted when the number of trusted authorities with a good
 * signature is at least count/2 + 1.  digests may be NULL (computed here)
 * or come from exst_consensus_digests; missing ones are computed.
 * Returns EXST_OK when the check could be made, whatever the verdict:
 * see exst_sigcheck_accepted.  *out is owned by the caller.
 * @return EXST_OK, EXST_ERR_SYNTAX or EXST_ERR_SEMANTIC (a malformed
 * signature block, with line and column), EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_sigcheck_run(exst_sigcheck **out,
                                              const exst_consensus *c,
                                              const exst_certs *certs,
                                              const exst_authorities *auth,
                                              const exst_digests *digests,
                                              exst_error *err);

EXST_API void exst_sigcheck_free(exst_sigcheck *r);
/** Nonzero if enough authorities signed. */
EXST_API int exst_sigcheck_accepted(const exst_sigcheck *r);
/** Signatures in the document (every directory-signature block). */
EXST_API size_t exst_sigcheck_checked(const exst_sigcheck *r);
/** Trusted authorities with at least one good signature. */
EXST_API size_t exst_sigcheck_good(const exst_sigcheck *r);
/** Good signatures needed: trusted authorities / 2 + 1. */
EXST_API size_t exst_sigcheck_required(const exst_sigcheck *r);
/** Number of trusted authorities the verdict was made against. */
EXST_API size_t exst_sigcheck_authorities(const exst_sigcheck *r);
/** Signature i (0 <= i < checked), in document order. */
EXST_API void exst_sigcheck_get(const exst_sigcheck *r, size_t i,
                                exst_sig_info *out);

/**
 * The report's "signatures" object (SPEC 8) as pretty JSON with sorted
 * keys and a trailing newline: {"checked", "good", "required", "failed":
 * [{"identity", "reason"}]} with failed in document order.  *out is a new
 * string (exst_free).  @return EXST_OK or EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_sigcheck_json(char **out,
                                               const exst_sigcheck *r,
                                               exst_error *err);

/**
 * One line for people, without a trailing newline, e.g. "3 good
 * signatures of 9 authorities, 5 required: 14C131DF... unknown-authority,
 * 27102BC1... bad-signature" (every signature that did not count, full
 * fingerprints).  *out is a new string (exst_free).
 * @return EXST_OK or EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_sigcheck_message(char **out,
                                                  const exst_sigcheck *r,
                                                  exst_error *err);

/**
 * exst_consensus_summary_json with the "signatures" object of sig added
 * (as in a report); sig NULL gives exactly exst_consensus_summary_json.
 * @return EXST_OK or EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int
exst_consensus_summary_json_sig(char **out, const exst_consensus *c,
                                const exst_sigcheck *sig, exst_error *err);

/* ------------------------------------------------------------------ */
/* Signed outputs: minisign-format Ed25519 signatures (SPEC 8)        */
/* ------------------------------------------------------------------ */

/*
 * Keys and signatures in minisign's formats, made and checked with
 * libsodium only.  Signatures are prehashed ("ED": Ed25519 over the
 * BLAKE2b-512 of the file), with a trusted comment covered by a second
 * "global" signature over signature and comment, so `minisign -V`
 * verifies them.  Legacy "Ed" signatures (Ed25519 over the file itself)
 * are accepted for verification, as minisign accepts them.
 */
typedef struct exst_sign_key exst_sign_key;     /* a secret key */
typedef struct exst_verify_key exst_verify_key; /* a public key */

/* The longest trusted comment (minisign's limit, less its prefix). */
#define EXST_TRUSTED_COMMENT_MAX 8000

/**
 * Make a new key pair and write it in minisign's formats: the secret key
 * unencrypted (as `minisign -G -W` makes it) to secret_path, created with
 * mode 0600, and the public key to public_path (mode 0644 less the
 * umask).  Neither file may exist already; nothing is left behind on
 * failure.  The secret key never appears in a message.
 * @return EXST_OK, EXST_ERR_IO (including "already exists") or
 * EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_keypair_generate(const char *secret_path,
                                                  const char *public_path,
                                                  exst_error *err);

/**
 * Load a secret key for unattended signing.  The file must not be
 * readable or writable by group or others (mode 0600 or stricter), must
 * be a minisign secret key with the Ed25519 algorithm and must be
 * unencrypted: an encrypted key is refused with a message saying to use
 * one made with `minisign -G -W`.  @return EXST_OK, EXST_ERR_IO,
 * EXST_ERR_USAGE (permissions too open, encrypted), EXST_ERR_SYNTAX or
 * EXST_ERR_SEMANTIC (not a minisign secret key, bad checksum).
 */
EXST_API EXST_NODISCARD int exst_sign_key_load(exst_sign_key **out,
                                               const char *path,
                                               exst_error *err);

/** Parse a secret key file's contents (no permission check). */
EXST_API EXST_NODISCARD int exst_sign_key_parse(exst_sign_key **out,
                                                const void *buf, size_t len,
                                                const char *source,
                                                exst_error *err);

/** Free a secret key (wiped first).  NULL is allowed. */
EXST_API void exst_sign_key_free(exst_sign_key *k);

/** Load or parse a minisign public key file. */
EXST_API EXST_NODISCARD int exst_verify_key_load(exst_verify_key **out,
                                                 const char *path,
                                                 exst_error *err);
EXST_API EXST_NODISCARD int exst_verify_key_parse(exst_verify_key **out,
                                                  const void *buf,
                                                  size_t len,
                                                  const char *source,
                                                  exst_error *err);
EXST_API void exst_verify_key_free(exst_verify_key *k);

/** The key id as minisign prints it (16 uppercase hex digits) into out,
 *  which must hold 17 bytes.  @return out. */
EXST_API char *exst_sign_key_id(char out[17], const exst_sign_key *k);
EXST_API char *exst_verify_key_id(char out[17], const exst_verify_key *k);

/**
 * Sign (buf, len): *out (*out_len bytes, exst_free) receives the text of
 * a .minisig file, a prehashed signature whose trusted comment is
 * trusted_comment (one line: no CR or LF, at most
 * EXST_TRUSTED_COMMENT_MAX bytes).
 * @return EXST_OK, EXST_ERR_USAGE (a bad comment) or EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_minisign_sign(char **out, size_t *out_len,
                                               const exst_sign_key *k,
                                               const void *buf, size_t len,
                                               const char *trusted_comment,
                                               exst_error *err);

/**
 * The trusted comment exitstage gives an output's signature, one line:
 * "exitstage VERSION valid-after=ISO input-sha256=HEX file=BASENAME", the
 * valid-after left out when it is EXST_TIME_NONE, the digest when
 * input_sha256 is NULL and the file when output_path is NULL.  It ties a
 * signature to one consensus, so it cannot be moved to another hour's
 * output.  Bytes of the name that could break the line become '?'; out
 * (outsz bytes, 512 are plenty for names under 400 bytes) is always
 * NUL-terminated, the name cut if it does not fit.
 */
EXST_API void exst_output_comment(char *out, size_t outsz,
                                  int64_t valid_after,
                                  const uint8_t *input_sha256,
                                  const char *output_path);

/**
 * Verify (buf, len) against the .minisig text (sig, sig_len) with key k.
 * On success *trusted_comment (if not NULL) receives the verified trusted
 * comment (exst_free).  source names the signature in errors.
 * @return EXST_OK; EXST_ERR_SYNTAX for a malformed or truncated signature
 * file (with its line); EXST_ERR_SEMANTIC when it was made by another key,
 * does not match the data, or its trusted comment was changed;
 * EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_minisign_verify(char **trusted_comment,
                                                 const exst_verify_key *k,
                                                 const void *buf, size_t len,
                                                 const void *sig,
                                                 size_t sig_len,
                                                 const char *source,
                                                 exst_error *err);

/**
 * Verify the file at path against its signature file sig_path (NULL
 * means path + ".minisig"), reading the file in pieces (prehashed
 * signatures) or whole (legacy ones, up to 1 GiB, as minisign does).
 * Errors name the signature file, or the file that cannot be read.
 * @return as exst_minisign_verify, or EXST_ERR_IO (a file is missing or
 * unreadable) or EXST_ERR_LIMIT (a signature file over 10 KiB).
 */
EXST_API EXST_NODISCARD int exst_minisign_verify_file(char **trusted_comment,
                                                      const exst_verify_key
                                                          *k,
                                                      const char *path,
                                                      const char *sig_path,
                                                      exst_error *err);

/* ------------------------------------------------------------------ */
/* History database (SPEC 3.2, 3.7, 4.4)                              */
/* ------------------------------------------------------------------ */

typedef struct exst_history exst_history;

/** One relay's record. */
typedef struct exst_record {
    uint8_t id[20];
    int64_t run_start;     /* EXST_TIME_UNKNOWN if grandfathered,
                              EXST_TIME_NONE if no run */
    int64_t absence_start; /* EXST_TIME_NONE while present */
    int64_t last_seen;     /* valid-after of the last consensus where the
                              relay was present */
} exst_record;

/* How a history treats the relays it sees in its first W (SPEC 3.7). */
typedef enum exst_bootstrap {
    EXST_BOOTSTRAP_GRANDFATHER = 0, /* first seen before o + W: graduated */
    EXST_BOOTSTRAP_NONE = 1         /* every relay first seen is new (0.1) */
} exst_bootstrap;

/* Where a consensus stands in a history's life (SPEC 3.7). */
typedef enum exst_phase {
    EXST_PHASE_BOOTSTRAP = 0, /* t < o + W (grandfathering window) */
    EXST_PHASE_RAMP = 1,      /* warming up after the window */
    EXST_PHASE_STEADY = 2     /* the set in staging is complete */
} exst_phase;

/** The name of a phase: "bootstrap", "ramp" or "steady". */
EXST_API const char *exst_phase_name(exst_phase p);

/** Create an empty in-memory history using clock, with the bootstrap rule
 *  EXST_BOOTSTRAP_GRANDFATHER (change it with exst_history_set_bootstrap
 *  before the first consensus).  @return EXST_OK or EXST_ERR_NOMEM. */
EXST_API EXST_NODISCARD int exst_history_new(exst_history **out,
                                             exst_clock clock);

/** Set the bootstrap rule of a history that has processed nothing yet.
 *  @return EXST_OK, or EXST_ERR_USAGE once a consensus was processed. */
EXST_API EXST_NODISCARD int exst_history_set_bootstrap(exst_history *h,
                                                       exst_bootstrap b);

/** Free a history.  NULL is allowed. */
EXST_API void exst_history_free(exst_history *h);

/**
 * Load a history file.  The file is integrity-checked (magic, version,
 * checksum, record order and values); a corrupt, truncated or empty file
 * is refused with EXST_ERR_DB and a message naming it, and is never
 * modified.  A missing file gives EXST_ERR_IO with errno ENOENT's text in
 * the message ("no such file").  Files written by exitstage 0.1 (format
 * version 1) load with the bootstrap rule EXST_BOOTSTRAP_GRANDFATHER and
 * are written back as version 2.
 */
EXST_API EXST_NODISCARD int exst_history_load(exst_history **out,
                                              const char *path,
                                              exst_error *err);

/**
 * Write h to path atomically: a temporary file beside it (created 0600
 * less the umask; a replaced history keeps its mode, owner and group),
 * written, fsynced, renamed over path, and the directory fsynced.  The
 * file path held before becomes "PATH.prev" (one step back, for
 * `exitstage db rollback`).  A symbolic link at path is written through
 * to its target.  On any failure the old file is left as it was and the
 * temporary file removed.
 */
EXST_API EXST_NODISCARD int exst_history_save(const exst_history *h,
                                              const char *path,
                                              exst_error *err);

/** Serialise h into a new buffer (exst_free): the exact bytes that
 *  exst_history_save writes.  Equal histories give equal bytes. */
EXST_API EXST_NODISCARD int exst_history_serialize(void **out, size_t *len,
                                                   const exst_history *h,
                                                   exst_error *err);

/** Parse bytes made by exst_history_serialize (or by 0.1), checking
 *  integrity.  source names them in errors. */
EXST_API EXST_NODISCARD int
exst_history_deserialize(exst_history **out, const void *buf, size_t len,
                         const char *source, exst_error *err);

EXST_API exst_clock exst_history_clock(const exst_history *h);
EXST_API exst_bootstrap exst_history_bootstrap(const exst_history *h);
/** valid-after of the first consensus processed, or EXST_TIME_NONE. */
EXST_API int64_t exst_history_observed_since(const exst_history *h);
/** valid-after of the newest consensus processed, or EXST_TIME_NONE. */
EXST_API int64_t exst_history_newest(const exst_history *h);
/** Bit (1 << flavor) set for each flavour processed at the newest time. */
EXST_API unsigned exst_history_newest_flavors(const exst_history *h);
/** Nonzero if the history was started from grandfather consensuses
 *  (`db init --grandfather`). */
EXST_API int exst_history_grandfathered(const exst_history *h);
/** Number of consensuses processed over the history's life. */
EXST_API uint64_t exst_history_processed(const exst_history *h);
/** P and W in effect for the newest consensus (EXST_TIME_NONE each when
 *  unknown: an empty history, or one written by 0.1).  Either output may
 *  be NULL. */
EXST_API void exst_history_policy(const exst_history *h, int64_t *staging_s,
                                  int64_t *reset_s);

/**
 * The phase of a consensus at t in this history with staging period P and
 * reset window W (SPEC 3.7), o being the history's observed_since (t when
 * it has none).  With EXST_BOOTSTRAP_GRANDFATHER: bootstrap while
 * t < o + W, ramp while t < o + W + P, then steady.  With
 * EXST_BOOTSTRAP_NONE there is no bootstrap window: ramp while t < o + P,
 * then steady.  A consensus is "warming up" unless steady.
 */
EXST_API exst_phase exst_history_phase(const exst_history *h, int64_t t,
                                       int64_t staging_s, int64_t reset_s);

/** Number of relay records, and record i in ascending identity order. */
EXST_API size_t exst_history_count(const exst_history *h);
EXST_API void exst_history_record_at(const exst_history *h, size_t i,
                                     exst_record *out);
/** Find a relay's record.  @return 1 if found (and *out filled), else 0. */
EXST_API int exst_history_find(const exst_history *h, const uint8_t id[20],
                               exst_record *out);

/* What happened to a present relay's run in exst_history_observe. */
enum {
    EXST_RUN_CONTINUED = 0,     /* run goes on (or already seen at t) */
    EXST_RUN_NEW = 1,           /* first seen, or no run before: s = t */
    EXST_RUN_RESTARTED = 2,     /* absence of at least W: s = t */
    EXST_RUN_GRANDFATHERED = 3  /* first seen in the bootstrap window or
                                   in a grandfather consensus: graduated */
};

/** One consensus as the history sees it. */
typedef struct exst_observation {
    int64_t valid_after;
    exst_flavor flavor;
    const uint8_t (*present)[20]; /* present relays, ascending, unique */
    size_t n_present;
    int64_t reset_after_s;        /* W, effective for this consensus */
    int64_t staging_period_s;     /* P, effective (recorded for db show) */
    int64_t retention_s;          /* prune records absent longer than this;
                                     0 = never prune */
    int grandfather;              /* nonzero: a grandfather consensus (db
                                     init): every present relay graduated */
} exst_observation;

/**
 * Apply SPEC 3.2 and 3.7 for one consensus.  For each present relay i,
 * run_start[i] receives its run start after the update (EXST_TIME_UNKNOWN
 * when grandfathered) and event[i] an EXST_RUN_* value (either array may
 * be NULL).  A consensus older than the newest processed one is refused
 * with EXST_ERR_ORDER and changes nothing.  Records absent for longer than
 * retention_s are then pruned.  The state before the call is kept until
 * the next one, so exst_history_undo can take it back.
 */
EXST_API EXST_NODISCARD int
exst_history_observe(exst_history *h, const exst_observation *obs,
                     int64_t *run_start, uint8_t *event, exst_error *err);

/**
 * Take back the last exst_history_observe (one step): the history is as it
 * was before it.  Used when a document's outputs could not be written, so
 * the history is never committed with it.
 * @return EXST_OK, or EXST_ERR_USAGE when there is nothing to take back.
 */
EXST_API EXST_NODISCARD int exst_history_undo(exst_history *h);

/**
 * The history as pretty JSON (keys sorted, trailing newline) into a new
 * string (exst_free).  ids, if not NULL, restricts the records to those
 * n_ids identities (unknown ones are listed with "found": false).
 */
EXST_API EXST_NODISCARD int exst_history_dump_json(char **out,
                                                   const exst_history *h,
                                                   const uint8_t (*ids)[20],
                                                   size_t n_ids,
                                                   exst_error *err);

/* Where one relay stands in a history at its newest consensus (SPEC 10,
 * `exitstage db show`), from the history alone. */
typedef struct exst_relay_status {
    int found;             /* the history has a record */
    int present;           /* present (SPEC 3.1) in the newest consensus */
    int grandfathered;     /* run start unknown: graduated (SPEC 3.7) */
    int in_staging;        /* present, and newest - run_start < P */
    int64_t run_start;     /* EXST_TIME_UNKNOWN (grandfathered) or
                              EXST_TIME_NONE (no record) */
    int64_t eligible_at;   /* run_start + P; EXST_TIME_NONE when
                              grandfathered or not found */
    int64_t last_seen;     /* EXST_TIME_NONE when not found */
    int64_t absence_start; /* EXST_TIME_NONE while present */
    int64_t restarts_at;   /* absent: absence_start + W, from when a return
                              restarts the run; else EXST_TIME_NONE */
} exst_relay_status;

/**
 * Fill *out with where relay id stands at h's newest consensus, with
 * staging period staging_s and reset window reset_s (callers usually take
 * them from exst_history_policy).  Under EXST_CLOCK_RELAY, in_staging
 * means "in staging if it is an exit candidate": the history does not
 * record who is one.  h may be empty; an unknown relay gives found 0.
 */
EXST_API void exst_history_relay_status(exst_relay_status *out,
                                        const exst_history *h,
                                        const uint8_t id[20],
                                        int64_t staging_s, int64_t reset_s);

/**
 * What `exitstage db show` prints: for each of the n_ids identities (in
 * the order given) its exst_relay_status as pretty JSON (keys sorted,
 * trailing newline), with the policy used and the history's newest time,
 * into a new string (exst_free).  staging_s and reset_s override the P
 * and W in effect at the newest consensus (exst_history_policy); pass
 * EXST_TIME_NONE to use those, or the defaults when the history does not
 * record them (one written by 0.1, or an empty one), which the output
 * notes.  @return EXST_OK, EXST_ERR_USAGE (a value outside 0 ...
 * EXST_MAX_DURATION, or NULL arguments) or EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_history_show_json(char **out,
                                                   const exst_history *h,
                                                   const uint8_t (*ids)[20],
                                                   size_t n_ids,
                                                   int64_t staging_s,
                                                   int64_t reset_s,
                                                   exst_error *err);

/* ------------------------------------------------------------------ */
/* Output files (SPEC 4.4 "Added in 0.2")                             */
/* ------------------------------------------------------------------ */

/*
 * A set of output files written all or nothing, as `apply` writes its
 * consensus, report and staged list.  Each file goes to a temporary file
 * beside its target, written and fsynced when it is added; commit renames
 * them all into place.  A symbolic link is written through to its target;
 * a device or FIFO is written in place at commit, before any rename.  New
 * files get 0666 less the umask; a replaced file keeps its mode, owner and
 * group (where the process may set them).  Freeing a set that was not
 * committed removes every temporary file and changes nothing.
 */
typedef struct exst_outset exst_outset;

/** Create an empty set.  @return EXST_OK or EXST_ERR_NOMEM. */
EXST_API EXST_NODISCARD int exst_outset_new(exst_outset **out,
                                            exst_error *err);

/** Prepare the output path with len bytes at buf (copied or written at
 *  once).  A directory at path is EXST_ERR_IO.  On failure the set is
 *  unchanged but for temporary files that exst_outset_free removes.
 *  @return EXST_OK, EXST_ERR_IO (err names the file) or EXST_ERR_NOMEM. */
EXST_API EXST_NODISCARD int exst_outset_add(exst_outset *s, const char *path,
                                            const void *buf, size_t len,
                                            exst_error *err);

/** Prepare the history h to be saved at path as exst_history_save would
 *  (serialised now, written to a temporary file and fsynced): a full disk
 *  under the history fails here, before any output is renamed.  At commit
 *  it is renamed last, after every other output.  @return EXST_OK,
 *  EXST_ERR_IO or EXST_ERR_NOMEM. */
EXST_API EXST_NODISCARD int exst_outset_add_history(exst_outset *s,
                                                    const exst_history *h,
                                                    const char *path,
                                                    exst_error *err);

/** Write the in-place outputs, then rename every prepared file into place
 *  (a history last) and fsync their directories.  A failure part-way
 *  leaves each output either as it was or complete, and the history as it
 *  was unless every output is in place.  @return EXST_OK or EXST_ERR_IO. */
EXST_API EXST_NODISCARD int exst_outset_commit(exst_outset *s,
                                               exst_error *err);

/** Free a set, removing the temporary files of uncommitted outputs.  NULL
 *  is allowed. */
EXST_API void exst_outset_free(exst_outset *s);

/**
 * The file path names once symbolic links are followed, as a new string
 * (exst_free): the canonical path of an existing regular file or
 * directory, the eventual target of a dangling link (its directory made
 * canonical), or path itself for an existing device or FIFO.  Two paths
 * naming the same file resolve to the same string (where both exist,
 * compare device and inode too).
 * @return EXST_OK, EXST_ERR_IO (err says why) or EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_path_resolve(char **out, const char *path,
                                              exst_error *err);

/* ------------------------------------------------------------------ */
/* Single-writer lock on a history file                               */
/* ------------------------------------------------------------------ */

typedef struct exst_lock exst_lock;

/**
 * Take the writer lock of the history at db_path (an flock on the side
 * file "<db_path>.lock", created if missing, 0666 less the umask, never
 * through a symbolic link; it records the holder's process id).  Pass
 * the resolved path of the history (exst_path_resolve), so writers
 * through a link and through its target share one lock.  wait_s < 0
 * waits forever, 0 does not wait.  interrupt (may be NULL) is polled
 * while waiting: nonzero stops with EXST_ERR_INTERRUPTED.  A lock held by
 * another process after the wait gives EXST_ERR_LOCKED, naming the lock
 * file and the holder's process id.
 */
EXST_API EXST_NODISCARD int exst_lock_acquire(exst_lock **out,
                                              const char *db_path,
                                              double wait_s,
                                              const volatile int *interrupt,
                                              exst_error *err);

/** Release and free a lock.  NULL is allowed. */
EXST_API void exst_lock_release(exst_lock *l);

/* ------------------------------------------------------------------ */
/* Staging one consensus (SPEC 2.3, 3, 4.1, 4.2)                      */
/* ------------------------------------------------------------------ */

/* Where a policy value came from. */
typedef enum exst_source {
    EXST_SOURCE_DEFAULT = 0,
    EXST_SOURCE_CONSENSUS = 1,
    EXST_SOURCE_COMMAND_LINE = 2,
    EXST_SOURCE_HISTORY = 3 /* the clock, fixed when the history began */
} exst_source;

#define EXST_DEFAULT_STAGING_PERIOD (4 * 86400)
#define EXST_DEFAULT_RESET_AFTER (24 * 3600)
#define EXST_DEFAULT_RETENTION (30 * 86400)
#define EXST_MAX_DURATION (30 * 86400)

/* What exst_stage_run produces besides the history update. */
#define EXST_STAGE_OUTPUT 0x1u   /* the annotated consensus */
#define EXST_STAGE_REPORT 0x2u   /* the JSON report (SPEC 4.2) */
#define EXST_STAGE_TIMELINE 0x4u /* one NDJSON timeline record (4.3) */
#define EXST_STAGE_DIGESTS 0x8u  /* sha256 in the timeline record */
#define EXST_STAGE_HELD 0x10u    /* the timeline record lists the stripped
                                    relays with nickname, bandwidth, run
                                    start and eligibility */
#define EXST_STAGE_PRIMARY 0x20u /* the timeline record says "primary":
                                    true (a replay's primary lane) */

typedef struct exst_stage_opts {
    unsigned produce;            /* EXST_STAGE_* */
    int64_t staging_period_s;    /* used if staging_period_set */
    int staging_period_set;
    int64_t reset_after_s;       /* used if reset_after_set */
    int reset_after_set;
    exst_enforce enforce;
    int enforce_set;
    int clock_set;               /* --clock given (for the report) */
    int no_reweight;
    double max_strip_fraction;   /* capacity guard, used if guard_set */
    int guard_set;
    int ignore_consensus_params;
    int64_t retention_s;         /* 0: default; raised to W if smaller */
    int no_annotate;
    int strip_signatures;
    /* Relays the operators vouch for (--exempt, SPEC 10): an exit
     * candidate listed here is never in staging, whatever its run; its
     * run is still kept in the history.  n_exempt identities in strictly
     * ascending byte order (exst_stage_run refuses anything else with
     * EXST_ERR_USAGE); NULL and 0: nobody is exempt. */
    const uint8_t (*exempt)[20];
    size_t n_exempt;
    /* Trust (SPEC 8), both borrowed for the call and may be NULL.
     * digests: the input's digests from exst_consensus_digests; when it
     * has EXST_DIGEST_INPUT_SHA256 the report's consensus.sha256 (and a
     * timeline's sha256) is taken from it instead of hashing the input
     * again.  signatures: the check the consensus passed, written as the
     * report's "signatures" object; NULL writes "signatures": null (not
     * checked). */
    const exst_digests *digests;
    const exst_sigcheck *signatures;
} exst_stage_opts;

typedef struct exst_stage_counts {
    size_t exit_candidates;
    size_t in_staging;
    size_t stripped;
    size_t graduated;
    size_t new_runs;
    size_t restarted_runs;
    size_t grandfathered;   /* first seen now and grandfathered (3.7) */
    size_t badexit_candidates; /* exit candidates with BadExit */
    size_t stripped_badexit;   /* stripped relays with BadExit */
    size_t exempted;        /* exit candidates whose run would have them
                               in staging but for opts->exempt; counted
                               in neither in_staging nor graduated */
} exst_stage_counts;

/* A summary of one staged consensus, for replays and callers. */
typedef struct exst_stage_summary {
    int64_t valid_after;
    exst_flavor flavor;
    exst_stage_counts counts;
    int64_t staging_period_s;
    int64_t reset_after_s;
    int enabled;
    int warming_up;              /* phase != EXST_PHASE_STEADY */
    exst_phase phase;
    int guard_tripped;
    int weights_recomputed;
    uint64_t exit_bandwidth;     /* exit candidates without BadExit */
    uint64_t stripped_bandwidth; /* stripped relays without BadExit */
    double stripped_fraction;    /* stripped_bandwidth / exit_bandwidth */
    double would_strip_fraction; /* in-staging share (the guard's test) */
    double stripped_exit_share;  /* share of exit-position weight */
} exst_stage_summary;

typedef struct exst_stage_result exst_stage_result;

/**
 * Stage one consensus: work out the effective policy (command line over
 * consensus params over defaults), update the history h (SPEC 3.2, 3.7),
 * decide who is in staging (3.3), apply the capacity guard (3.6), strip,
 * recompute the weights (3.5), and produce what opts->produce asks for.
 * On failure h is as it was: EXST_ERR_ORDER for a consensus older than
 * the history's newest, EXST_ERR_LIMIT for a valid-after too late to
 * write its eligibility times or a BadExit that known-flags has no room
 * for, EXST_ERR_NOMEM.  On success the update can still be taken back
 * with exst_history_undo (when the caller could not write the outputs).
 */
EXST_API EXST_NODISCARD int exst_stage_run(exst_stage_result **out,
                                           exst_history *h,
                                           const exst_consensus *c,
                                           const exst_stage_opts *opts,
                                           exst_error *err);

/**
 * Process c as a grandfather consensus (db init --grandfather, SPEC 3.7):
 * every relay present in c under h's clock counts as graduated (run start
 * EXST_TIME_UNKNOWN), c counts as processed, and h is marked
 * grandfathered.  Call it for each grandfather consensus, oldest first,
 * on a new history.  @return EXST_OK or a status (EXST_ERR_ORDER for a
 * consensus older than one already processed).
 */
EXST_API EXST_NODISCARD int exst_stage_grandfather(exst_history *h,
                                                   const exst_consensus *c,
                                                   exst_error *err);

EXST_API void exst_stage_result_free(exst_stage_result *r);

/** The annotated consensus (EXST_STAGE_OUTPUT), borrowed. */
EXST_API exst_span exst_stage_output(const exst_stage_result *r);
/** The pretty JSON report with trailing newline (EXST_STAGE_REPORT). */
EXST_API exst_span exst_stage_report(const exst_stage_result *r);
/** One compact JSON line with trailing newline (EXST_STAGE_TIMELINE). */
EXST_API exst_span exst_stage_timeline(const exst_stage_result *r);
EXST_API const exst_stage_summary *
exst_stage_get_summary(const exst_stage_result *r);
/** Relays in staging (stripped or not), ascending identity. */
EXST_API size_t exst_stage_in_staging_count(const exst_stage_result *r);
EXST_API const uint8_t *exst_stage_in_staging_id(const exst_stage_result *r,
                                                 size_t i);
/** Warnings (clamped parameters, failed weights self-check, guard). */
EXST_API size_t exst_stage_warning_count(const exst_stage_result *r);
EXST_API const char *exst_stage_warning(const exst_stage_result *r,
                                        size_t i);

/* --- Archives (SPEC 2.2) --- */

/*
 * A sequential reader of the documents in one input: a plain document, a
 * zstd-, xz- or gzip-compressed document, a tar archive (ustar or pax,
 * several archives concatenated on one stream allowed) or a compressed
 * tar archive (CollecTor's consensuses-YYYY-MM.tar.xz as downloaded).
 * Compressed inputs may hold several frames, streams or members back to
 * back (cat a.xz b.xz), and a tar member may itself be compressed.  The
 * kind is detected by content, never by name.  A single input or a tar
 * member holding several documents back to back (cat a b c) yields each
 * of them.  The input is read with read(2) in large chunks and never
 * seeked, so a pipe works; only one member (or, for a single input, one
 * document and the next chunk) is held in memory at a time.
 */
typedef struct exst_archive exst_archive;

typedef struct exst_archive_opts {
    size_t max_doc_bytes; /* largest document or member after
                             decompression (bombs), and the most tar
                             stream bytes read in a row without a
                             document; 0 = EXST_DEFAULT_MAX_DOC_BYTES */
    size_t peek_bytes;    /* 0: whole documents.  Otherwise only the
                             first document of each member (or of a
                             single input) is returned, cut to at most
                             its first peek_bytes bytes (enough for
                             exst_peek_header): a cheap way to sort
                             inputs without reading them whole */
    const volatile int *interrupt; /* optional: when a read is interrupted
                                      by a signal and *interrupt is
                                      nonzero, reading stops with
                                      EXST_ERR_INTERRUPTED */
} exst_archive_opts;

/* What exst_archive_format reports (bits). */
#define EXST_ARCHIVE_ZSTD 0x1u /* the input is zstd-compressed */
#define EXST_ARCHIVE_TAR 0x2u  /* the (decompressed) input is a tar stream */
#define EXST_ARCHIVE_XZ 0x4u   /* the input is xz-compressed */
#define EXST_ARCHIVE_GZIP 0x8u /* the input is gzip-compressed */

/* What a document is, from its first lines (exst_doc_classify). */
typedef enum exst_doc_kind {
    EXST_DOC_CONSENSUS = 0,     /* "@type network-status-consensus-3" or
                                   "...-microdesc-consensus-3", or no
                                   @type and a first line starting with
                                   "network-status-version" (malformed or
                                   not, the parser decides) */
    EXST_DOC_OTHER_TYPE = 1,    /* an @type naming another type, such as
                                   "microdescriptor" or a vote */
    EXST_DOC_NOT_CONSENSUS = 2  /* neither (a README, a checksum list, an
                                   empty file) */
} exst_doc_kind;

/* One document.  Pointers are borrowed from the reader until the next
 * exst_archive_next or exst_archive_close call. */
typedef struct exst_archive_doc {
    const char *name;   /* tar member name, or the input's name;
                           NUL-ended */
    const char *data;   /* the decompressed document; data[len] is NUL.
                           NULL at the end of the input */
    size_t len;
    exst_doc_kind kind;
    exst_span type;     /* the @type name ("microdescriptor"), pointing
                           into data; {NULL, 0} without an @type line */
    size_t index;       /* 0 for the first document of a member or single
                           input, 1 for the next one back to back, ... */
    uint64_t offset;    /* where data starts in the decompressed member
                           or single input */
} exst_archive_doc;

/**
 * Classify a decompressed document (buf, len) from its first lines: the
 * first "@type NAME ..." line decides by NAME; without one, the first line
 * that is not an "@" annotation must start with "network-status-version"
 * for a consensus.  At most the first 24 lines are looked at.  *type (if
 * type is not NULL) gets the @type name, pointing into buf, or {NULL, 0}.
 * buf may be NULL when len is 0.
 * @return the kind.
 */
EXST_API exst_doc_kind exst_doc_classify(exst_span *type, const void *buf,
                                         size_t len);

/**
 * Start reading documents from fd (a file, a pipe or stdin; it is never
 * seeked and not closed by the reader).  name names the input in errors
 * and in single-document results (NULL: "<input>").  opts may be NULL.
 * The first bytes are read here to detect the format.  On failure *out
 * stays NULL.
 * @return EXST_OK, EXST_ERR_NOMEM, EXST_ERR_IO (read failed) or
 * EXST_ERR_COMPRESS (corrupt compressed data at the start).
 */
EXST_API EXST_NODISCARD int exst_archive_open(exst_archive **out, int fd,
                                              const char *name,
                                              const exst_archive_opts *opts,
                                              exst_error *err);

/**
 * Read the next document into *doc.  Returns EXST_OK with doc->data not
 * NULL for a document, and EXST_OK with doc->data NULL (and doc->name
 * NULL) at the end of the input; further calls keep returning the end.
 * Tar members that are not regular files are skipped; a regular member
 * that is itself compressed (zstd, xz, gzip) is decompressed.  Every
 * document is returned, whatever its kind (doc->kind says it; an empty
 * member is an empty document): skipping is the caller's choice.  A new
 * document starts at a line beginning "@type " or
 * "network-status-version " right after a "-----END SIGNATURE-----" line.
 * Errors name the input and the member: EXST_ERR_SYNTAX (truncated member
 * or header, bad header checksum, malformed pax record), EXST_ERR_COMPRESS
 * ("corrupt xz data: ...", "truncated gzip data"), EXST_ERR_LIMIT (a
 * document over max_doc_bytes, or that many tar bytes without one),
 * EXST_ERR_IO, EXST_ERR_NOMEM.  After an error the reader only repeats
 * it.
 * @return EXST_OK or an exst_status.
 */
EXST_API EXST_NODISCARD int exst_archive_next(exst_archive *a,
                                              exst_archive_doc *doc,
                                              exst_error *err);

/** The EXST_ARCHIVE_* bits detected when a was opened. */
EXST_API unsigned exst_archive_format(const exst_archive *a);

/** Bytes read from the input so far (compressed bytes, for progress). */
EXST_API uint64_t exst_archive_bytes_in(const exst_archive *a);

/** Free a reader (the file descriptor stays open).  NULL is allowed. */
EXST_API void exst_archive_close(exst_archive *a);

/**
 * Read the first lines of a decompressed document (buf, len) and report
 * its flavour and valid-after time without parsing the whole document:
 * optional leading "@" lines, then "network-status-version 3" (ns) or
 * "network-status-version 3 microdesc", then "vote-status consensus" and
 * "valid-after YYYY-MM-DD HH:MM:SS" within the first 24 lines.  A
 * document exst_doc_classify does not call a consensus is refused (an
 * @type naming another type, at its line).  source names the document in
 * errors (may be NULL).  Outputs are untouched on failure.
 * @return EXST_OK; EXST_ERR_SEMANTIC ("not a consensus") for anything
 * else, EXST_ERR_SYNTAX for a malformed valid-after line or CR line
 * endings.
 */
EXST_API EXST_NODISCARD int exst_peek_header(int64_t *valid_after,
                                             exst_flavor *flavor,
                                             const void *buf, size_t len,
                                             const char *source,
                                             exst_error *err);

/**
 * Expand replay inputs into a list of files: "-" and files are kept as
 * given; a directory is replaced by every regular file below it
 * (recursively, following symbolic links but not loops, names starting
 * with "." left out, each directory's entries in byte order; FIFOs and
 * devices inside a directory are left out).  Inputs keep their order;
 * sorting by valid-after is the caller's (exst_peek_header).  *paths
 * (n entries) is owned by the caller and freed with exst_paths_free; on
 * failure it stays NULL and *n 0.
 * @return EXST_OK, EXST_ERR_IO (an input is missing or unreadable, or
 * directories nest deeper than 64 levels) or EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_collect_paths(char ***paths, size_t *n,
                                               const char *const *inputs,
                                               size_t n_inputs,
                                               exst_error *err);

/** Free a list from exst_collect_paths.  NULL is allowed. */
EXST_API void exst_paths_free(char **paths, size_t n);

/* --- end Archives --- */

/* ------------------------------------------------------------------ */
/* Replay: archives in time order, lanes, analysis (SPEC 2.2, 4.3, 9)   */
/* ------------------------------------------------------------------ */

/* The figures of one lane over its steady consensuses, one per hour
 * (SPEC 9).  Values flagged absent by has_* are null in JSON. */
typedef struct exst_lane_figures {
    int64_t staging_period_s;     /* P (as last in effect) */
    int64_t reset_after_s;        /* W (as last in effect) */
    int primary;                  /* the first lane */
    uint64_t consensuses;         /* steady, counted */
    int has_steady;               /* consensuses > 0: means, peak exist */
    double mean_stripped_fraction;
    double peak_stripped_fraction;
    int64_t peak_at;              /* earliest on ties */
    double mean_stripped;         /* relays per consensus */
    uint64_t relays_staged;       /* distinct relays stripped */
    int has_denied_share;
    double denied_share;          /* sum stripped / sum exit candidates,
                                     BadExit left out of both */
    uint64_t watched, fully_denied;
    int has_watched_share;
    double watched_denied_share;
    uint64_t span_consensuses[3]; /* counted documents per exst_phase */
    int64_t span_from[3], span_to[3]; /* EXST_TIME_NONE when none */
    size_t gaps;                  /* archive gaps of W or more */
} exst_lane_figures;

/* Where a replay stands, for a progress display. */
typedef struct exst_replay_progress {
    uint64_t documents;   /* processed in this run */
    int64_t valid_after;  /* the newest reached, or EXST_TIME_NONE */
    uint64_t bytes_in;    /* input bytes read so far (compressed) */
    uint64_t bytes_total; /* sum of the regular inputs' sizes; 0 when
                             unknown (only pipes) */
    size_t source;        /* the input being staged, 1-based */
    size_t sources;
} exst_replay_progress;

typedef void (*exst_replay_msg_fn)(void *ud, const char *message);
typedef void (*exst_replay_progress_fn)(void *ud,
                                        const exst_replay_progress *p);

/*
 * A replay's settings; zero means default throughout.  The staging policy
 * common to all lanes comes from stage (its staging_period_s/reset_after_s
 * and their *_set flags, and its produce field, are ignored: lanes come
 * from periods and resets).
 */
typedef struct exst_replay_opts {
    exst_stage_opts stage;
    exst_parse_opts parse;
    /* Lanes (SPEC 9): every staging period with every reset window, P
     * outer, W inner, repeats dropped; the first is the primary lane.  An
     * empty list means "the consensus parameter, else the default". */
    const int64_t *periods;
    size_t n_periods;
    const int64_t *resets;
    size_t n_resets;
    exst_clock clock;     /* for a history this replay creates */
    int clock_set;        /* a different clock than the history's: usage */
    exst_bootstrap bootstrap;
    int bootstrap_set;
    /* The history: NULL keeps it in memory only.  With a file, the lanes
     * must share one reset window (one history). */
    const char *db_path;
    unsigned checkpoint;  /* commit every N consensuses (default 168) */
    unsigned threads;     /* inputs read at once (default 1); the caller's
                             thread stages and helps decompress */
    size_t read_ahead;    /* bytes of decompressed documents held in
                             memory ahead of staging (default: twice
                             the largest document seen, at least 4 MiB) */
    const char *spool_dir;/* read-ahead beyond read_ahead is spooled to
                             an unlinked temporary file here (zstd); NULL:
                             readers wait instead */
    int keep_going;       /* skip bad documents and inputs, listed */
    int64_t since, until; /* only valid-afters in [since, until]; 0 when
                             not set */
    int since_set, until_set;
    /* Outputs.  A timeline is appended to (a resumed replay continues it:
     * records beyond the history's newest are cut first); "-" writes to
     * timeline_fd.  out_dir and reports_dir take the primary lane's
     * consensus and report per document, named by valid-after and flavour
     * as CollecTor names them. */
    const char *timeline_path;
    int timeline_fd;
    int timeline_csv;
    int digests;
    const char *out_dir;
    int out_zstd;
    const char *reports_dir;
    /* Watched relays and traces (SPEC 9). */
    const char *watchlist_path;
    int watch_badexit;
    const char *const *trace; /* fingerprints or nicknames */
    size_t n_trace;
    const char *trace_path;   /* NDJSON events; "-": trace_fd */
    int trace_fd;
    /* Callbacks (may be NULL): warnings, details (skipped members), and
     * progress after each document. */
    exst_replay_msg_fn warn;
    exst_replay_msg_fn info;
    exst_replay_progress_fn progress;
    void *ud;
    const volatile int *interrupt; /* nonzero stops the replay cleanly */
    /* Trust (SPEC 8), borrowed for the replay's life; NULL: off.  certs:
     * each consensus's signatures are checked (against authorities;
     * NULL: tor's) on the staging thread, in document order, before it
     * is staged; a rejected one is bad input (EXST_ERR_SEMANTIC
     * "consensus rejected: ..."; skipped and listed with keep_going) and
     * the primary lane's reports carry the check.  sign_key: each file
     * written to out_dir and reports_dir gets FILE.minisig beside it
     * (exst_output_comment with the document's valid-after and input
     * SHA-256), both renamed into place after both are written. */
    const exst_certs *certs;
    const exst_authorities *authorities;
    const exst_sign_key *sign_key;
} exst_replay_opts;

typedef struct exst_replay exst_replay;

/* What a replay did. */
typedef struct exst_replay_stats {
    uint64_t processed, by_flavor[2];
    uint64_t hours;          /* documents counted, one per valid-after */
    uint64_t resumed;        /* already in the history: skipped */
    uint64_t duplicates;     /* a second document of a time and flavour */
    uint64_t not_consensus;  /* members and files that are not consensuses */
    uint64_t outside;        /* outside --since/--until */
    uint64_t bad;            /* skipped with keep_going */
    int64_t first, last;     /* processed valid-afters (EXST_TIME_NONE) */
    uint64_t gaps;           /* holes of more than an hour between the
                                hours counted */
    uint64_t missing_hours;  /* hours in them */
    int64_t resume_point;    /* the history's newest when it began */
    uint64_t commits;        /* history commits made */
    int commit_failed;       /* the last commit failed */
    int history_created;     /* the history did not exist before */
} exst_replay_stats;

/**
 * Set up a replay: load the history at opts->db_path (or create it in
 * memory if missing, with opts' clock and bootstrap rule), check the
 * options, read the watch list, and open the timeline (cut to what the
 * history holds).  The caller holds the history's lock.  On failure *out
 * stays NULL: EXST_ERR_USAGE (conflicting options, a clock or bootstrap
 * rule other than the history's, a bad watch list line, with its
 * position), EXST_ERR_DB, EXST_ERR_IO, EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_replay_new(exst_replay **out,
                                            const exst_replay_opts *opts,
                                            exst_error *err);

/**
 * Name the inputs (files, directories, "-"), before exst_replay_run.
 * Regular files are sorted by the valid-after of their first consensus
 * (read from a prefix, non-consensus members passed over); other inputs
 * (pipes, devices, "-") are never peeked and follow in the order named.
 * @return EXST_OK or an error naming the input.
 */
EXST_API EXST_NODISCARD int exst_replay_inputs(exst_replay *r,
                                               const char *const *paths,
                                               size_t n, exst_error *err);

/**
 * Replay the inputs in valid-after order, staging every document in every
 * lane, writing the outputs, and committing the history at checkpoints and
 * at the end: each commit is the state after the last document whose
 * outputs were all written.  A bad document, an output that cannot be
 * written or the interrupt flag stops the replay after that commit:
 * EXST_ERR_INTERRUPTED, or the error (naming the input, member, line and
 * column).  A failed commit is an error too (stats say so).
 */
EXST_API EXST_NODISCARD int exst_replay_run(exst_replay *r, exst_error *err);

EXST_API const exst_replay_stats *exst_replay_get_stats(const exst_replay *r);
/** Inputs skipped with keep_going, as "NAME: message" lines (borrowed). */
EXST_API size_t exst_replay_bad_count(const exst_replay *r);
EXST_API const char *exst_replay_bad(const exst_replay *r, size_t i);
/** Lanes and their figures so far. */
EXST_API size_t exst_replay_lane_count(const exst_replay *r);
EXST_API void exst_replay_lane(const exst_replay *r, size_t i,
                               exst_lane_figures *out);
/** Archive gap g of lane i: first and last missing hour, and how many. */
EXST_API void exst_replay_gap(const exst_replay *r, size_t lane, size_t g,
                              int64_t *from, int64_t *to, uint64_t *hours);

/**
 * The summary (series 0: lanes, watched relays, archive counts; SPEC 9)
 * or the analysis document for exst_html_render (series 1), pretty JSON
 * with sorted keys and a trailing newline, into a new string (exst_free).
 */
EXST_API EXST_NODISCARD int exst_replay_summary_json(char **out,
                                                     const exst_replay *r,
                                                     int series,
                                                     exst_error *err);

/** Free a replay (its history included).  NULL is allowed. */
EXST_API void exst_replay_free(exst_replay *r);

/**
 * The analysis document of saved timelines (`exitstage report`): records
 * grouped into lanes by their staging_period_s and reset_after_s (the
 * lane of records marked primary first), one document per hour as in a
 * replay.  summary_path (may be NULL) is a replay's --summary file whose
 * watched relays are taken over.  series as in exst_replay_summary_json.
 * @return EXST_OK, EXST_ERR_SYNTAX (a record that is not JSON, with file
 * and line), EXST_ERR_SEMANTIC (a record without the fields, out of
 * order), EXST_ERR_IO, EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_timelines_analysis(char **out,
                                                    const char *const *paths,
                                                    size_t n,
                                                    const char *summary_path,
                                                    int series,
                                                    exst_error *err);



/* ------------------------------------------------------------------ */
/* The HTML page of a staging analysis (SPEC 9 "Pictures")           */
/* ------------------------------------------------------------------ */

/* Largest analysis document exst_html_render reads by default. */
#define EXST_DEFAULT_MAX_ANALYSIS_BYTES ((size_t)256 << 20) /* 256 MiB */

/* Options of exst_html_render; zero (or a NULL pointer) means default. */
typedef struct exst_html_opts {
    const char *title;    /* page title and heading (UTF-8, at most 200
                             characters shown); NULL: "Exit staging
                             analysis, FIRST to LAST" */
    size_t max_doc_bytes; /* 0: EXST_DEFAULT_MAX_ANALYSIS_BYTES */
} exst_html_opts;

/**
 * Render the analysis document (analysis, len: JSON text, schema_version
 * 1, see exitstage(1) "ANALYSIS DOCUMENT") as one self-contained HTML page:
 * inline SVG charts of the stripped exit-bandwidth fraction and of the
 * relays in staging over time (one line per lane, bootstrap and ramp spans
 * shaded, archive gaps hatched), a chart of denied shares of watched
 * relays against all exit candidates, and the lane, phase and
 * watched-relay tables.  The page is well-formed XML (XHTML served as
 * HTML), has no script and refers to no other file; every string of the
 * document is escaped.  The same document and options give the same bytes.
 * The whole document is checked first; nothing is written for an invalid
 * one.  On success *out is a new NUL-terminated buffer of *out_len bytes
 * (the NUL not counted), freed with exst_free; on failure it is NULL and
 * *out_len 0.  opts may be NULL; err may be NULL.
 * @return EXST_OK; EXST_ERR_SYNTAX for malformed JSON (err has jansson's
 * line, column and byte offset); EXST_ERR_SEMANTIC for a document that
 * breaks the schema (the message starts with the JSON path of the value
 * at fault, such as "lanes[2].series.phase[17]: "); EXST_ERR_LIMIT for a
 * document over max_doc_bytes; EXST_ERR_USAGE for NULL outputs;
 * EXST_ERR_NOMEM.
 */
EXST_API EXST_NODISCARD int exst_html_render(char **out, size_t *out_len,
                                             const char *analysis, size_t len,
                                             const exst_html_opts *opts,
                                             exst_error *err);

/* --- end HTML --- */

#ifdef __cplusplus
}
#endif

#endif /* EXITSTAGE_H */
