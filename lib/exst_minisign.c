/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_minisign.c - Ed25519 signatures in minisign's file formats, made
 * and checked with libsodium only, so `minisign -V` verifies what
 * exitstage signs and exitstage uses keys made by `minisign -G -W`.
 *
 * The formats (minisign's src/minisign.h), each a base64 line under an
 * "untrusted comment: " line:
 *   public key  "Ed" | key id (8) | Ed25519 public key (32)
 *   secret key  "Ed" | KDF ("Sc" scrypt-encrypted, or two zero bytes) |
 *               "B2" | salt (32) | opslimit (8) | memlimit (8) |
 *               key id (8) | Ed25519 secret key (64) | BLAKE2b-256 of
 *               "Ed" | key id | secret key (32; minisign leaves it zero
 *               in unencrypted keys)
 *   signature   "ED" (Ed25519 over BLAKE2b-512 of the file; "Ed" signs
 *               the file itself, the legacy form) | key id (8) |
 *               signature (64); then "trusted comment: TEXT" and a base64
 *               line with the global signature, Ed25519 over signature |
 *               TEXT, which binds the comment to the signature.
 * Key ids are shown as minisign shows them: the 8 bytes read as a
 * little-endian number, in 16 uppercase hex digits.
 *
 * Encrypted secret keys are refused: signing runs unattended, from cron,
 * and must not prompt.  Secret keys must not be readable or writable by
 * group or others, and never appear in a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "exst_int.h"
#include "exst_trust_int.h"

#define KEYNUM 8
#define PK_LEN (2 + KEYNUM + crypto_sign_PUBLICKEYBYTES)       /* 42 */
#define SK_LEN (2 + 2 + 2 + 32 + 8 + 8 + KEYNUM +                \
                crypto_sign_SECRETKEYBYTES + 32)               /* 158 */
#define SIG_LEN (2 + KEYNUM + crypto_sign_BYTES)               /* 74 */
#define MAX_KEY_FILE 4096
#define MAX_COMMENT_LINE 1024 /* minisign's COMMENTMAXBYTES */
#define MAX_TRUSTED_LINE 8192 /* minisign's TRUSTEDCOMMENTMAXBYTES */
#define MAX_SIG_FILE 10240 /* more than the longest lines minisign reads */

static const char untrusted[] = "untrusted comment: ";
static const char trusted[] = "trusted comment: ";

struct exst_sign_key {
    uint8_t keynum[KEYNUM];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

struct exst_verify_key {
    uint8_t keynum[KEYNUM];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static char *key_id(char out[17], const uint8_t keynum[KEYNUM])
{
    snprintf(out, 17, "%016" PRIX64, le64(keynum));
    return out;
}

char *exst_sign_key_id(char out[17], const exst_sign_key *k)
{
    return key_id(out, k->keynum);
}

char *exst_verify_key_id(char out[17], const exst_verify_key *k)
{
    return key_id(out, k->keynum);
}

/* ---- reading the line-based files ------------------------------------ */

/* The lines of a minisign file: LF endings (a CR before the LF is
 * dropped, as minisign drops it), the last newline optional. */
typedef struct lines {
    const char *p[5];
    size_t len[5];
    size_t n;
} lines;

static int split_lines(lines *l, const char *buf, size_t len, size_t max,
                       const char *source, exst_error *err)
{
    const char *p = buf, *end = buf + len;
    l->n = 0;
    if (memchr(buf, '\0', len) != NULL)
        return exstp_error_simple(err, EXST_ERR_SYNTAX, source,
                                  "NUL byte in '%s'", source);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (l->n == max)
            return exstp_error_set(err, EXST_ERR_SYNTAX, source, max + 1, 1,
                                   (size_t)(p - buf), NULL,
                                   "unexpected line after the end of the "
                                   "file's contents");
        if (le > p && le[-1] == '\r')
            le--;
        l->p[l->n] = p;
        l->len[l->n] = (size_t)(le - p);
        l->n++;
        p = nl ? nl + 1 : end;
    }
    return EXST_OK;
}

/* Decode base64 line i of l, which must be exactly want bytes. */
static int b64_line(uint8_t *out, size_t want, const lines *l, size_t i,
                    const char *what, const char *source, exst_error *err)
{
    size_t bl = 0;
    const char *end = NULL;
    if (i >= l->n)
        return exstp_error_set(err, EXST_ERR_SYNTAX, source, i + 1, 1, 0,
                               NULL, "%s missing (truncated file?)", what);
    if (sodium_base642bin(out, want, l->p[i], l->len[i], NULL, &bl, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != l->p[i] + l->len[i] || bl != want)
        return exstp_error_set(err, EXST_ERR_SYNTAX, source, i + 1, 1, 0,
                               NULL, "%s: expected %zu bytes of base64",
                               what, want);
    return EXST_OK;
}

static int comment_line(const lines *l, size_t i, const char *prefix,
                        const char *source, exst_error *err)
{
    const size_t n = strlen(prefix);
    if (i >= l->n)
        return exstp_error_set(err, EXST_ERR_SYNTAX, source, i + 1, 1, 0,
                               NULL, "\"%.*s\" line missing (truncated "
                               "file?)", (int)(n - 2), prefix);
    if (l->len[i] < n || memcmp(l->p[i], prefix, n) != 0)
        return exstp_error_set(err, EXST_ERR_SYNTAX, source, i + 1, 1, 0,
                               NULL, "expected a line starting with "
                               "\"%.*s\"", (int)(n - 1), prefix);
    return EXST_OK;
}

/* ---- keys -------------------------------------------------------------- */

int exst_verify_key_parse(exst_verify_key **out, const void *buf, size_t len,
                          const char *source, exst_error *err)
{
    lines l;
    uint8_t raw[PK_LEN];
    int rc;
    *out = NULL;
    if ((rc = split_lines(&l, buf, len, 2, source, err)) != EXST_OK ||
        (rc = comment_line(&l, 0, untrusted, source, err)) != EXST_OK ||
        (rc = b64_line(raw, PK_LEN, &l, 1, "public key", source, err)) !=
            EXST_OK)
        return rc;
    if (memcmp(raw, "Ed", 2) != 0)
        return exstp_error_set(err, EXST_ERR_SEMANTIC, source, 2, 1, 0, NULL,
                               "not an Ed25519 minisign public key");
    exst_verify_key *k = exstp_malloc(sizeof *k);
    if (k == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                  "out of memory");
    memcpy(k->keynum, raw + 2, KEYNUM);
    memcpy(k->pk, raw + 2 + KEYNUM, sizeof k->pk);
    *out = k;
    return EXST_OK;
}

void exst_verify_key_free(exst_verify_key *k)
{
    exstp_free(k);
}

int exst_verify_key_load(exst_verify_key **out, const char *path,
                         exst_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = exstp_read_file(&buf, &len, path, MAX_KEY_FILE, err);
    if (rc == EXST_OK)
        rc = exst_verify_key_parse(out, buf, len, path, err);
    exstp_free(buf);
    return rc;
}

static void checksum(uint8_t out[32], const uint8_t keynum[KEYNUM],
                     const uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)"Ed", 2);
    crypto_generichash_update(&st, keynum, KEYNUM);
    crypto_generichash_update(&st, sk, crypto_sign_SECRETKEYBYTES);
    crypto_generichash_final(&st, out, 32);
}

int exst_sign_key_parse(exst_sign_key **out, const void *buf, size_t len,
                        const char *source, exst_error *err)
{
    lines l;
    uint8_t raw[SK_LEN];
    int rc;
    *out = NULL;
    if ((rc = split_lines(&l, buf, len, 2, source, err)) != EXST_OK ||
        (rc = comment_line(&l, 0, untrusted, source, err)) != EXST_OK ||
        (rc = b64_line(raw, SK_LEN, &l, 1, "secret key", source, err)) !=
            EXST_OK)
        goto done;
    const uint8_t *keynum = raw + 54, *sk = raw + 62, *chk = raw + 126;
    if (memcmp(raw, "Ed", 2) != 0 || memcmp(raw + 4, "B2", 2) != 0) {
        rc = exstp_error_set(err, EXST_ERR_SEMANTIC, source, 2, 1, 0, NULL,
                             "not an Ed25519 minisign secret key");
        goto done;
    }
    if (memcmp(raw + 2, "Sc", 2) == 0) {
        rc = exstp_error_simple(err, EXST_ERR_USAGE, source,
                                "secret key '%s' is encrypted with a "
                                "password; unattended signing needs an "
                                "unencrypted key: make one with `minisign "
                                "-G -W` or `exitstage key generate`, or "
                                "remove the password with `minisign -C -W`",
                                source);
        goto done;
    }
    if (raw[2] != 0 || raw[3] != 0) {
        rc = exstp_error_set(err, EXST_ERR_SEMANTIC, source, 2, 1, 0, NULL,
                             "unsupported key derivation in the secret key");
        goto done;
    }
    /* minisign writes no checksum into unencrypted keys (zeros); a key
     * that has one must match it.  Either way the public half of the
     * secret key must follow from its seed. */
    uint8_t want[32], zero[32] = {0}, pk[32], sk2[64];
    checksum(want, keynum, sk);
    crypto_sign_seed_keypair(pk, sk2, sk);
    const bool chk_ok = sodium_memcmp(chk, zero, 32) == 0 ||
                        sodium_memcmp(chk, want, 32) == 0;
    const bool pair_ok = sodium_memcmp(sk2, sk, 64) == 0;
    sodium_memzero(sk2, sizeof sk2);
    sodium_memzero(want, sizeof want);
    if (!chk_ok || !pair_ok) {
        rc = exstp_error_set(err, EXST_ERR_SEMANTIC, source, 2, 1, 0, NULL,
                             "damaged secret key (checksum mismatch)");
        goto done;
    }
    exst_sign_key *k = exstp_malloc(sizeof *k);
    if (k == NULL) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, source, "out of memory");
        goto done;
    }
    memcpy(k->keynum, keynum, KEYNUM);
    memcpy(k->sk, sk, sizeof k->sk);
    *out = k;
done:
    sodium_memzero(raw, sizeof raw);
    return rc;
}

void exst_sign_key_free(exst_sign_key *k)
{
    if (k == NULL)
        return;
    sodium_memzero(k, sizeof *k);
    exstp_free(k);
}

int exst_sign_key_load(exst_sign_key **out, const char *path,
                       exst_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    unsigned mode = 0;
    *out = NULL;
    int rc = exstp_read_file_mode(&buf, &len, &mode, path, MAX_KEY_FILE, err);
    if (rc != EXST_OK)
        return rc;
    /* The mode of the file just read, so no other file can slip in. */
    if ((mode & 077) != 0)
        rc = exstp_error_simple(err, EXST_ERR_USAGE, path,
                                "secret key '%s' is accessible by group "
                                "or others (mode %04o): it must be "
                                "private to its owner (chmod 600 '%s')",
                                path, mode, path);
    else
        rc = exst_sign_key_parse(out, buf, len, path, err);
    sodium_memzero(buf, len);
    exstp_free(buf);
    return rc;
}

/* ---- making a key pair ------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_dir(const char *path)
{
    char *copy = exstp_strndup(path, strlen(path));
    if (copy == NULL)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    exstp_free(copy);
}

/*
 * Create path with text, never replacing a file that exists: the bytes
 * go to a new temporary name first (mode given, less the umask, unless
 * force_mode), are fsynced, then linked to path, which fails if path
 * exists.  A crash leaves the old state or the complete file.
 */
static int create_new(const char *path, const char *text, size_t n,
                      mode_t mode, bool force_mode, exst_error *err)
{
    const size_t pl = strlen(path);
    char *tmp = exstp_malloc(pl + 24);
    if (tmp == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, path, "out of memory");
    snprintf(tmp, pl + 24, "%s.tmp.%08" PRIx32, path, randombytes_random());
    int rc = EXST_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  mode);
    if (fd < 0) {
        rc = exstp_error_simple(err, EXST_ERR_IO, path, "cannot create '%s': "
                                "%s", path, strerror(errno));
        goto done;
    }
    if ((force_mode && fchmod(fd, mode) != 0) || write_all(fd, text, n) != 0 ||
        fsync(fd) != 0) {
        rc = exstp_error_simple(err, EXST_ERR_IO, path, "cannot write '%s': "
                                "%s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        goto done;
    }
    if (close(fd) != 0) {
        rc = exstp_error_simple(err, EXST_ERR_IO, path, "cannot write '%s': "
                                "%s", path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (link(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        rc = exstp_error_simple(err, EXST_ERR_IO, path,
                                e == EEXIST ? "'%s' already exists; "
                                              "nothing was written"
                                            : "cannot create '%s': %s",
                                path, strerror(e));
        goto done;
    }
    unlink(tmp);
    fsync_dir(path);
done:
    exstp_free(tmp);
    return rc;
}

static int exists(const char *path, exst_error *err)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "'%s' already exists; nothing was "
                                  "written", path);
    return EXST_OK;
}

int exst_keypair_generate(const char *secret_path, const char *public_path,
                          exst_error *err)
{
    uint8_t sraw[SK_LEN], praw[PK_LEN];
    char sb64[sodium_base64_ENCODED_LEN(SK_LEN,
                                        sodium_base64_VARIANT_ORIGINAL)];
    char pb64[sodium_base64_ENCODED_LEN(PK_LEN,
                                        sodium_base64_VARIANT_ORIGINAL)];
    char text[512], id[17];
    int rc;
    if (strcmp(secret_path, public_path) == 0)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "the secret and the public key need two "
                                  "different files");
    if ((rc = exists(secret_path, err)) != EXST_OK ||
        (rc = exists(public_path, err)) != EXST_OK)
        return rc;
    memset(sraw, 0, sizeof sraw);
    uint8_t *keynum = sraw + 54, *sk = sraw + 62;
    memcpy(sraw, "Ed", 2); /* KDF: two zero bytes, unencrypted */
    memcpy(sraw + 4, "B2", 2);
    randombytes_buf(keynum, KEYNUM);
    memcpy(praw, "Ed", 2);
    memcpy(praw + 2, keynum, KEYNUM);
    crypto_sign_keypair(praw + 2 + KEYNUM, sk);
    checksum(sraw + 126, keynum, sk);
    sodium_bin2base64(sb64, sizeof sb64, sraw, SK_LEN,
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(pb64, sizeof pb64, praw, PK_LEN,
                      sodium_base64_VARIANT_ORIGINAL);
    key_id(id, keynum);
    int n = snprintf(text, sizeof text, "%sexitstage secret key %s, "
                     "unencrypted\n%s\n", untrusted, id, sb64);
    rc = create_new(secret_path, text, (size_t)n, 0600, true, err);
    sodium_memzero(text, sizeof text);
    sodium_memzero(sraw, sizeof sraw);
    sodium_memzero(sb64, sizeof sb64);
    if (rc != EXST_OK)
        return rc;
    n = snprintf(text, sizeof text, "%sminisign public key %s\n%s\n",
                 untrusted, id, pb64);
    rc = create_new(public_path, text, (size_t)n, 0644, false, err);
    if (rc != EXST_OK)
        unlink(secret_path);
    return rc;
}

/* ---- signing and verifying ---------------------------------------------- */

void exst_output_comment(char *out, size_t outsz, int64_t valid_after,
                         const uint8_t *input_sha256, const char *output_path)
{
    if (out == NULL || outsz == 0)
        return;
    size_t n = (size_t)snprintf(out, outsz, "exitstage %s", exst_version());
    if (valid_after != EXST_TIME_NONE && n < outsz) {
        char iso[21];
        n += (size_t)snprintf(out + n, outsz - n, " valid-after=%s",
                              exst_time_iso(iso, valid_after));
    }
    if (input_sha256 != NULL && n < outsz) {
        n += (size_t)snprintf(out + n, outsz - n, " input-sha256=");
        for (int i = 0; i < 32 && n + 2 < outsz; i++)
            n += (size_t)snprintf(out + n, outsz - n, "%02x",
                                  input_sha256[i]);
    }
    if (output_path != NULL && n < outsz) {
        const char *base = strrchr(output_path, '/');
        base = base ? base + 1 : output_path;
        size_t start = n;
        n += (size_t)snprintf(out + n, outsz - n, " file=%s", base);
        for (size_t i = start; i < n && i < outsz - 1; i++)
            if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
                out[i] = '?';
    }
}

int exst_minisign_sign(char **out, size_t *out_len, const exst_sign_key *k,
                       const void *buf, size_t len,
                       const char *trusted_comment, exst_error *err)
{
    *out = NULL;
    *out_len = 0;
    const size_t tl = strlen(trusted_comment);
    if (tl > EXST_TRUSTED_COMMENT_MAX ||
        strpbrk(trusted_comment, "\r\n") != NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "a trusted comment is one line of at most "
                                  "%d bytes", EXST_TRUSTED_COMMENT_MAX);
    uint8_t hash[crypto_generichash_BYTES_MAX];
    uint8_t sig[SIG_LEN], global[crypto_sign_BYTES];
    crypto_generichash(hash, sizeof hash, buf, len, NULL, 0);
    memcpy(sig, "ED", 2);
    memcpy(sig + 2, k->keynum, KEYNUM);
    crypto_sign_detached(sig + 2 + KEYNUM, NULL, hash, sizeof hash, k->sk);
    uint8_t *st = exstp_malloc(crypto_sign_BYTES + tl + 1);
    if (st == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    memcpy(st, sig + 2 + KEYNUM, crypto_sign_BYTES);
    memcpy(st + crypto_sign_BYTES, trusted_comment, tl);
    crypto_sign_detached(global, NULL, st, crypto_sign_BYTES + tl, k->sk);
    exstp_free(st);

    char sb64[sodium_base64_ENCODED_LEN(SIG_LEN,
                                        sodium_base64_VARIANT_ORIGINAL)];
    char gb64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES,
                                        sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(sb64, sizeof sb64, sig, SIG_LEN,
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(gb64, sizeof gb64, global, sizeof global,
                      sodium_base64_VARIANT_ORIGINAL);
    exstp_buf b = {0};
    exstp_buf_printf(&b, "%ssignature from exitstage secret key\n%s\n%s",
                     untrusted, sb64, trusted);
    exstp_buf_append(&b, trusted_comment, tl);
    exstp_buf_printf(&b, "\n%s\n", gb64);
    if (b.failed) {
        exstp_buf_free(&b);
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    }
    *out_len = b.len;
    exstp_buf_append(&b, "", 1); /* a NUL after the text, not counted */
    if (b.failed) {
        exstp_buf_free(&b);
        *out_len = 0;
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    }
    *out = b.data;
    return EXST_OK;
}

/* A parsed .minisig file; tc points into the text. */
typedef struct parsed_sig {
    uint8_t sig[SIG_LEN];
    uint8_t global[crypto_sign_BYTES];
    const char *tc;
    size_t tl;
    bool prehashed;
} parsed_sig;

static int parse_sig(parsed_sig *ps, const exst_verify_key *k,
                     const void *sigtext, size_t sig_len, const char *source,
                     exst_error *err)
{
    lines l;
    int rc;
    if (sig_len > MAX_SIG_FILE)
        return exstp_error_simple(err, EXST_ERR_LIMIT, source,
                                  "signature file larger than %d bytes",
                                  MAX_SIG_FILE);
    if ((rc = split_lines(&l, sigtext, sig_len, 4, source, err)) != EXST_OK ||
        (rc = comment_line(&l, 0, untrusted, source, err)) != EXST_OK)
        return rc;
    if (l.len[0] + 1 > MAX_COMMENT_LINE)
        return exstp_error_set(err, EXST_ERR_SYNTAX, source, 1, 1, 0, NULL,
                               "untrusted comment longer than %d bytes",
                               MAX_COMMENT_LINE - 1);
    if ((rc = b64_line(ps->sig, SIG_LEN, &l, 1, "signature", source, err)) !=
            EXST_OK ||
        (rc = comment_line(&l, 2, trusted, source, err)) != EXST_OK ||
        (rc = b64_line(ps->global, sizeof ps->global, &l, 3,
                       "global signature", source, err)) != EXST_OK)
        return rc;
    if (l.len[2] + 1 >= MAX_TRUSTED_LINE)
        return exstp_error_set(err, EXST_ERR_SYNTAX, source, 3, 1, 0, NULL,
                               "trusted comment longer than minisign "
                               "reads");
    ps->tc = l.p[2] + sizeof trusted - 1;
    ps->tl = l.len[2] - (sizeof trusted - 1);
    ps->prehashed = memcmp(ps->sig, "ED", 2) == 0;
    if (!ps->prehashed && memcmp(ps->sig, "Ed", 2) != 0)
        return exstp_error_set(err, EXST_ERR_SEMANTIC, source, 2, 1, 0, NULL,
                               "unsupported signature algorithm");
    if (memcmp(ps->sig + 2, k->keynum, KEYNUM) != 0) {
        char a[17], b[17];
        return exstp_error_simple(err, EXST_ERR_SEMANTIC, source,
                                  "signed with key %s, not with the public "
                                  "key's %s", key_id(a, ps->sig + 2),
                                  key_id(b, k->keynum));
    }
    return EXST_OK;
}

/* msg is the BLAKE2b-512 of the file for prehashed signatures, else the
 * file itself. */
static int finish_verify(char **trusted_comment, const parsed_sig *ps,
                         const exst_verify_key *k, const uint8_t *msg,
                         size_t msg_len, const char *source, exst_error *err)
{
    if (crypto_sign_verify_detached(ps->sig + 2 + KEYNUM, msg, msg_len,
                                    k->pk) != 0)
        return exstp_error_simple(err, EXST_ERR_SEMANTIC, source,
                                  "signature does not match the file");
    uint8_t *st = exstp_malloc(crypto_sign_BYTES + ps->tl + 1);
    if (st == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                  "out of memory");
    memcpy(st, ps->sig + 2 + KEYNUM, crypto_sign_BYTES);
    memcpy(st + crypto_sign_BYTES, ps->tc, ps->tl);
    int bad = crypto_sign_verify_detached(ps->global, st,
                                          crypto_sign_BYTES + ps->tl, k->pk);
    exstp_free(st);
    if (bad)
        return exstp_error_set(err, EXST_ERR_SEMANTIC, source, 3, 1, 0, NULL,
                               "the trusted comment does not match its "
                               "signature (changed?)");
    if (trusted_comment != NULL) {
        *trusted_comment = exstp_strndup(ps->tc, ps->tl);
        if (*trusted_comment == NULL)
            return exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                      "out of memory");
    }
    return EXST_OK;
}

int exst_minisign_verify(char **trusted_comment, const exst_verify_key *k,
                         const void *buf, size_t len, const void *sigtext,
                         size_t sig_len, const char *source, exst_error *err)
{
    parsed_sig ps;
    if (trusted_comment != NULL)
        *trusted_comment = NULL;
    int rc = parse_sig(&ps, k, sigtext, sig_len, source, err);
    if (rc != EXST_OK)
        return rc;
    if (!ps.prehashed)
        return finish_verify(trusted_comment, &ps, k, buf, len, source, err);
    uint8_t hash[crypto_generichash_BYTES_MAX];
    crypto_generichash(hash, sizeof hash, buf, len, NULL, 0);
    return finish_verify(trusted_comment, &ps, k, hash, sizeof hash, source,
                         err);
}

/* BLAKE2b-512 of a file, read in pieces. */
static int hash_file(uint8_t out[crypto_generichash_BYTES_MAX],
                     const char *path, exst_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "cannot open '%s': %s", path,
                                  strerror(errno));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES_MAX);
    uint8_t *chunk = exstp_malloc(1 << 16);
    if (chunk == NULL) {
        close(fd);
        return exstp_error_simple(err, EXST_ERR_NOMEM, path, "out of memory");
    }
    int rc = EXST_OK;
    for (;;) {
        ssize_t r = read(fd, chunk, 1 << 16);
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
        crypto_generichash_update(&st, chunk, (size_t)r);
    }
    close(fd);
    exstp_free(chunk);
    if (rc == EXST_OK)
        crypto_generichash_final(&st, out, crypto_generichash_BYTES_MAX);
    return rc;
}

char *exstp_minisig_path(const char *path)
{
    const size_t n = strlen(path);
    char *p = exstp_malloc(n + sizeof ".minisig");
    if (p != NULL) {
        memcpy(p, path, n);
        memcpy(p + n, ".minisig", sizeof ".minisig");
    }
    return p;
}

int exst_minisign_verify_file(char **trusted_comment,
                              const exst_verify_key *k, const char *path,
                              const char *sig_path, exst_error *err)
{
    char *own = NULL, *sigtext = NULL, *data = NULL;
    size_t sig_len = 0, len = 0;
    parsed_sig ps;
    int rc;
    if (trusted_comment != NULL)
        *trusted_comment = NULL;
    if (sig_path == NULL) {
        if ((own = exstp_minisig_path(path)) == NULL)
            return exstp_error_simple(err, EXST_ERR_NOMEM, path,
                                      "out of memory");
        sig_path = own;
    }
    if ((rc = exstp_read_file(&sigtext, &sig_len, sig_path, MAX_SIG_FILE,
                              err)) != EXST_OK ||
        (rc = parse_sig(&ps, k, sigtext, sig_len, sig_path, err)) != EXST_OK)
        goto done;
    if (ps.prehashed) {
        uint8_t hash[crypto_generichash_BYTES_MAX];
        if ((rc = hash_file(hash, path, err)) == EXST_OK)
            rc = finish_verify(trusted_comment, &ps, k, hash, sizeof hash,
                               sig_path, err);
    } else { /* legacy: the whole file, as minisign reads it (1 GiB) */
        if ((rc = exstp_read_file(&data, &len, path, (size_t)1 << 30,
                                  err)) == EXST_OK)
            rc = finish_verify(trusted_comment, &ps, k, (uint8_t *)data,
                               len, sig_path, err);
    }
done:
    exstp_free(data);
    exstp_free(sigtext);
    exstp_free(own);
    return rc;
}
