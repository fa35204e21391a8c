/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_minisign.c - minisign-format keys and signatures
 * (lib/exst_minisign.c).  Key generation writes minisign's formats with
 * the right modes and never replaces a file; signatures made here verify,
 * and a changed byte, another key, a swapped trusted comment and a
 * truncated signature file are each refused with their own status and
 * line; a legacy ("Ed") signature and an unencrypted key as minisign 0.11
 * writes it (no checksum), both built here byte by byte from the format,
 * are accepted; encrypted, damaged and group-readable secret keys are
 * refused; files verify in pieces; allocation failures are reported.
 * (tests/cli/minisign.sh checks the same against the real minisign.)
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "exitstage.h"

void exstp_alloc_fail_after(long n);

static char dir[64];

static int setup(void **state)
{
    (void)state;
    if (exst_init() != EXST_OK)
        return -1;
    snprintf(dir, sizeof dir, "/tmp/exst-minisign.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    umask(022);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *path_in(const char *name)
{
    return tu_path(dir, name);
}

static void write_file(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Not inlined: GCC 12 then mistakes the result for a pointer to a local
 * (-Wdangling-pointer). */
static __attribute__((noinline)) char *slurp(const char *path,
                                             size_t *len)
{
    char *buf = NULL;
    if (tu_read_file(path, &buf, len) != 0)
        fail_msg("cannot read %s", path);
    return buf;
}

/* A fresh key pair in dir: NAME.key and NAME.pub. */
static void keypair(const char *name, exst_sign_key **sk,
                    exst_verify_key **pk)
{
    char s[64], p[64];
    snprintf(s, sizeof s, "%s.key", name);
    snprintf(p, sizeof p, "%s.pub", name);
    char *sp = path_in(s), *pp = path_in(p);
    exst_error err;
    exst_error_clear(&err);
    unlink(sp);
    unlink(pp);
    assert_int_equal(exst_keypair_generate(sp, pp, &err), EXST_OK);
    if (sk != NULL)
        assert_int_equal(exst_sign_key_load(sk, sp, &err), EXST_OK);
    if (pk != NULL)
        assert_int_equal(exst_verify_key_load(pk, pp, &err), EXST_OK);
    free(sp);
    free(pp);
}

static char *sign(const exst_sign_key *k, const char *data, const char *tc,
                  size_t *len)
{
    char *sig = NULL;
    exst_error err;
    assert_int_equal(exst_minisign_sign(&sig, len, k, data, strlen(data), tc,
                                        &err), EXST_OK);
    assert_int_equal(strlen(sig), *len);
    return sig;
}

static int verify(const exst_verify_key *k, const char *data,
                  const char *sig, exst_error *err)
{
    char *tc = NULL;
    exst_error_clear(err);
    int rc = exst_minisign_verify(&tc, k, data, strlen(data), sig,
                                  strlen(sig), "x.minisig", err);
    if (rc == EXST_OK)
        assert_non_null(tc);
    else
        assert_null(tc);
    exst_free(tc);
    return rc;
}

/* ---- keys -------------------------------------------------------------- */

static void test_generate(void **state)
{
    (void)state;
    char *sp = path_in("gen.key"), *pp = path_in("gen.pub");
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_keypair_generate(sp, pp, &err), EXST_OK);
    struct stat st;
    assert_int_equal(stat(sp, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(pp, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);

    exst_sign_key *sk = NULL;
    exst_verify_key *pk = NULL;
    assert_int_equal(exst_sign_key_load(&sk, sp, &err), EXST_OK);
    assert_int_equal(exst_verify_key_load(&pk, pp, &err), EXST_OK);
    char a[17], b[17];
    assert_string_equal(exst_sign_key_id(a, sk), exst_verify_key_id(b, pk));

    /* The formats: comment line, one base64 line each. */
    size_t len;
    char *pub = slurp(pp, &len);
    char want[80];
    snprintf(want, sizeof want, "untrusted comment: minisign public key %s\n",
             a);
    assert_memory_equal(pub, want, strlen(want));
    assert_int_equal(len, strlen(want) + 56 + 1);
    assert_memory_equal(pub + strlen(want), "RW", 2); /* "Ed" */
    free(pub);
    char *sec = slurp(sp, &len);
    assert_non_null(strstr(sec, "untrusted comment: exitstage secret key "));
    assert_non_null(strstr(sec, "\nRWQAAEIy")); /* "Ed", 0 0, "B2" */
    assert_int_equal(len, strlen(strchr(sec, '\n') + 1) +
                              (size_t)(strchr(sec, '\n') + 1 - sec));
    assert_int_equal(strlen(strchr(sec, '\n') + 1), 212 + 1);
    free(sec);

    /* Never replaced: both files stay as they were. */
    assert_int_equal(exst_keypair_generate(sp, pp, &err), EXST_ERR_IO);
    assert_non_null(strstr(err.message, "already exists"));
    char *other = path_in("other.pub");
    assert_int_equal(exst_keypair_generate(sp, other, &err), EXST_ERR_IO);
    assert_int_equal(access(other, F_OK), -1);
    exst_verify_key *pk2 = NULL;
    assert_int_equal(exst_verify_key_load(&pk2, pp, &err), EXST_OK);
    assert_string_equal(exst_verify_key_id(b, pk2), a);
    /* The public key already existing leaves no secret key behind. */
    char *lone = path_in("lone.key");
    assert_int_equal(exst_keypair_generate(lone, pp, &err), EXST_ERR_IO);
    assert_int_equal(access(lone, F_OK), -1);
    assert_int_equal(exst_keypair_generate(lone, lone, &err),
                     EXST_ERR_USAGE);

    exst_verify_key_free(pk2);
    exst_verify_key_free(pk);
    exst_sign_key_free(sk);
    free(lone);
    free(other);
    free(sp);
    free(pp);
}

/* Decode the base64 line of a key file, let edit change the bytes, write
 * it back as a new file (mode 0600). */
static void rewrite_key(const char *from, const char *to,
                        void (*edit)(uint8_t *raw, size_t n),
                        const char *comment)
{
    size_t len, n = 0;
    char *text = slurp(from, &len);
    char *line = strchr(text, '\n') + 1;
    *strchr(line, '\n') = '\0';
    uint8_t raw[200];
    assert_int_equal(sodium_base642bin(raw, sizeof raw, line, strlen(line),
                                       NULL, &n, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    edit(raw, n);
    char b64[300];
    sodium_bin2base64(b64, sizeof b64, raw, n,
                      sodium_base64_VARIANT_ORIGINAL);
    char out[512];
    int k = snprintf(out, sizeof out, "untrusted comment: %s\n%s\n", comment,
                     b64);
    unlink(to);
    write_file(to, out, (size_t)k);
    chmod(to, 0600);
    free(text);
}

static void make_encrypted(uint8_t *raw, size_t n)
{
    (void)n;
    memcpy(raw + 2, "Sc", 2);
}

static void zero_checksum(uint8_t *raw, size_t n)
{
    memset(raw + n - 32, 0, 32);
}

static void damage(uint8_t *raw, size_t n)
{
    (void)n;
    raw[70] ^= 1; /* inside the Ed25519 secret key */
}

static void test_secret_key_checks(void **state)
{
    (void)state;
    keypair("chk", NULL, NULL);
    char *sp = path_in("chk.key"), *tp = path_in("edited.key");
    exst_sign_key *sk = NULL;
    exst_error err;

    /* Mode 0644 (or any group/other bit) refused, 0600 and 0400 fine. */
    assert_int_equal(chmod(sp, 0644), 0);
    assert_int_equal(exst_sign_key_load(&sk, sp, &err), EXST_ERR_USAGE);
    assert_null(sk);
    char want[300];
    snprintf(want, sizeof want, "secret key '%s' is accessible by group or "
             "others (mode 0644): it must be private to its owner (chmod "
             "600 '%s')", sp, sp);
    assert_string_equal(err.message, want);
    assert_int_equal(chmod(sp, 0620), 0);
    assert_int_equal(exst_sign_key_load(&sk, sp, &err), EXST_ERR_USAGE);
    assert_int_equal(chmod(sp, 0400), 0);
    assert_int_equal(exst_sign_key_load(&sk, sp, &err), EXST_OK);
    exst_sign_key_free(sk);
    sk = NULL;
    assert_int_equal(chmod(sp, 0600), 0);

    /* Encrypted with a password: refused, saying what to use. */
    rewrite_key(sp, tp, make_encrypted, "minisign encrypted secret key");
    assert_int_equal(exst_sign_key_load(&sk, tp, &err), EXST_ERR_USAGE);
    assert_non_null(strstr(err.message, "is encrypted with a password"));
    assert_non_null(strstr(err.message, "minisign -G -W"));
    assert_null(sk);

    /* No checksum, as minisign -G -W writes it: accepted. */
    rewrite_key(sp, tp, zero_checksum, "minisign encrypted secret key");
    assert_int_equal(exst_sign_key_load(&sk, tp, &err), EXST_OK);
    exst_sign_key_free(sk);
    sk = NULL;

    /* A changed byte in the key: refused, without the key in the text. */
    rewrite_key(sp, tp, damage, "x");
    assert_int_equal(exst_sign_key_load(&sk, tp, &err), EXST_ERR_SEMANTIC);
    assert_string_equal(err.message,
                        "damaged secret key (checksum mismatch)");

    /* Not a key at all; the public key where the secret one goes. */
    write_file(tp, "untrusted comment: x\nAAAA\n", 26);
    assert_int_equal(exst_sign_key_load(&sk, tp, &err), EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.message, "secret key: expected 158 bytes"));
    char *pp = path_in("chk.pub");
    size_t len;
    char *pub = slurp(pp, &len);
    assert_int_equal(exst_sign_key_parse(&sk, pub, len, "p", &err),
                     EXST_ERR_SYNTAX);
    exst_verify_key *vk = NULL;
    assert_int_equal(exst_verify_key_parse(&vk, "comment\n", 8, "p", &err),
                     EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 1);
    assert_null(vk);
    assert_null(sk);
    free(pub);
    free(pp);
    free(tp);
    free(sp);
}

/* ---- signatures ---------------------------------------------------------- */

static void test_sign_verify(void **state)
{
    (void)state;
    exst_sign_key *sk = NULL;
    exst_verify_key *pk = NULL;
    keypair("sv", &sk, &pk);
    const char *data = "{\n  \"schema_version\": 2\n}\n";
    const char *tc = "exitstage 0.2.0 valid-after=2026-06-27T04:00:00Z "
                     "input-sha256=00 file=report.json";
    size_t len;
    char *sig = sign(sk, data, tc, &len);
    /* Four lines; prehashed ("ED": base64 "RU..."). */
    assert_memory_equal(sig, "untrusted comment: signature from exitstage "
                             "secret key\nRU", 57);
    char want3[200];
    snprintf(want3, sizeof want3, "\ntrusted comment: %s\n", tc);
    assert_non_null(strstr(sig, want3));
    assert_int_equal(sig[len - 1], '\n');

    char *got = NULL;
    exst_error err;
    assert_int_equal(exst_minisign_verify(&got, pk, data, strlen(data), sig,
                                          len, "x.minisig", &err), EXST_OK);
    assert_string_equal(got, tc);
    exst_free(got);
    /* A CRLF copy of the signature verifies too, as with minisign. */
    char crlf[1024];
    size_t m = 0;
    for (size_t i = 0; i < len; i++) {
        if (sig[i] == '\n')
            crlf[m++] = '\r';
        crlf[m++] = sig[i];
    }
    crlf[m] = '\0';
    assert_int_equal(verify(pk, data, crlf, &err), EXST_OK);

    /* One changed byte in the file. */
    char *changed = strdup(data);
    changed[20] = '3';
    assert_int_equal(verify(pk, changed, sig, &err), EXST_ERR_SEMANTIC);
    assert_string_equal(err.message, "signature does not match the file");
    assert_string_equal(err.source, "x.minisig");

    /* Another key. */
    exst_verify_key *other = NULL;
    keypair("other", NULL, &other);
    assert_int_equal(verify(other, data, sig, &err), EXST_ERR_SEMANTIC);
    char a[17], b[17];
    char wantmsg[120];
    snprintf(wantmsg, sizeof wantmsg,
             "signed with key %s, not with the public key's %s",
             exst_sign_key_id(a, sk), exst_verify_key_id(b, other));
    assert_string_equal(err.message, wantmsg);

    /* A trusted comment moved from another hour's signature. */
    char *other_sig = sign(sk, data, "exitstage 0.2.0 valid-after="
                                     "2026-06-27T05:00:00Z", &len);
    char *tc_line = strstr(other_sig, "\ntrusted comment: ") + 1;
    char *swapped = malloc(strlen(sig) + 200);
    const char *own_tc = strstr(sig, "\ntrusted comment: ") + 1;
    size_t head = (size_t)(own_tc - sig);
    memcpy(swapped, sig, head);
    size_t tcl = (size_t)(strchr(tc_line, '\n') + 1 - tc_line);
    memcpy(swapped + head, tc_line, tcl);
    const char *rest = strchr(own_tc, '\n') + 1;
    memcpy(swapped + head + tcl, rest, strlen(rest) + 1);
    assert_int_equal(verify(pk, data, swapped, &err), EXST_ERR_SEMANTIC);
    assert_int_equal(err.line, 3);
    assert_string_equal(err.message, "the trusted comment does not match "
                                     "its signature (changed?)");

    /* Truncated: the last line missing, or cut inside. */
    char *cut = strdup(sig);
    *(strrchr(cut, '\n') - 20) = '\0';
    assert_int_equal(verify(pk, data, cut, &err), EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 4);
    assert_non_null(strstr(err.message, "global signature: expected 64 "
                                        "bytes of base64"));
    *(strchr(cut, '\n') + 1 + 100 + 1) = '\0'; /* two lines left */
    assert_int_equal(verify(pk, data, cut, &err), EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 3);
    assert_non_null(strstr(err.message, "\"trusted comment\" line missing"));
    assert_int_equal(verify(pk, data, "", &err), EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 1);
    /* The final newline alone may be missing, as minisign allows. */
    char *nonl = strdup(sig);
    nonl[strlen(nonl) - 1] = '\0';
    assert_int_equal(verify(pk, data, nonl, &err), EXST_OK);
    /* Anything after the four lines is refused. */
    char *extra = malloc(strlen(sig) + 8);
    memcpy(extra, sig, strlen(sig));
    memcpy(extra + strlen(sig), "more\n", 6);
    assert_int_equal(verify(pk, data, extra, &err), EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 5);

    /* A comment that is not one line. */
    char *bad = NULL;
    assert_int_equal(exst_minisign_sign(&bad, &len, sk, data, 1, "a\nb",
                                        &err), EXST_ERR_USAGE);
    assert_null(bad);

    free(extra);
    free(nonl);
    free(cut);
    free(swapped);
    exst_free(other_sig);
    exst_verify_key_free(other);
    free(changed);
    exst_free(sig);
    exst_verify_key_free(pk);
    exst_sign_key_free(sk);
}

/* A legacy ("Ed": the file itself signed) signature, built here from the
 * format with libsodium alone. */
static void test_legacy_signature(void **state)
{
    (void)state;
    uint8_t pkb[32], skb[64], keynum[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    crypto_sign_keypair(pkb, skb);
    uint8_t pub[42];
    memcpy(pub, "Ed", 2);
    memcpy(pub + 2, keynum, 8);
    memcpy(pub + 10, pkb, 32);
    char b64[200], text[400];
    sodium_bin2base64(b64, sizeof b64, pub, sizeof pub,
                      sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(text, sizeof text,
                     "untrusted comment: minisign public key "
                     "0807060504030201\n%s\n", b64);
    exst_verify_key *pk = NULL;
    exst_error err;
    assert_int_equal(exst_verify_key_parse(&pk, text, (size_t)n, "pub", &err),
                     EXST_OK);
    char id[17];
    assert_string_equal(exst_verify_key_id(id, pk), "0807060504030201");

    const char *data = "legacy data\n";
    const char *tc = "timestamp:1\tfile:data";
    uint8_t sig[74], global[64], st[64 + 64];
    memcpy(sig, "Ed", 2);
    memcpy(sig + 2, keynum, 8);
    crypto_sign_detached(sig + 10, NULL, (const uint8_t *)data, strlen(data),
                         skb);
    memcpy(st, sig + 10, 64);
    memcpy(st + 64, tc, strlen(tc));
    crypto_sign_detached(global, NULL, st, 64 + strlen(tc), skb);
    char sb[120], gb[100];
    sodium_bin2base64(sb, sizeof sb, sig, sizeof sig,
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(gb, sizeof gb, global, sizeof global,
                      sodium_base64_VARIANT_ORIGINAL);
    char sigtext[600];
    snprintf(sigtext, sizeof sigtext,
             "untrusted comment: signature from minisign secret key\n%s\n"
             "trusted comment: %s\n%s\n", sb, tc, gb);
    assert_int_equal(verify(pk, data, sigtext, &err), EXST_OK);
    assert_int_equal(verify(pk, "legacy dat4\n", sigtext, &err),
                     EXST_ERR_SEMANTIC);
    /* An unknown algorithm. */
    sigtext[strlen("untrusted comment: signature from minisign secret key\n")
            + 1] = 'X';
    assert_int_equal(verify(pk, data, sigtext, &err), EXST_ERR_SEMANTIC);
    assert_int_equal(err.line, 2);
    assert_string_equal(err.message, "unsupported signature algorithm");
    exst_verify_key_free(pk);
}

/* Files: read in pieces, the .minisig beside them by default. */
static void test_verify_file(void **state)
{
    (void)state;
    exst_sign_key *sk = NULL;
    exst_verify_key *pk = NULL;
    keypair("file", &sk, &pk);
    size_t n = 300000;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    char *fp = path_in("big.json"), *sp = path_in("big.json.minisig");
    write_file(fp, data, n);
    char *sig = NULL;
    size_t len;
    exst_error err;
    assert_int_equal(exst_minisign_sign(&sig, &len, sk, data, n, "big", &err),
                     EXST_OK);
    write_file(sp, sig, len);
    char *tc = NULL;
    assert_int_equal(exst_minisign_verify_file(&tc, pk, fp, NULL, &err),
                     EXST_OK);
    assert_string_equal(tc, "big");
    exst_free(tc);
    assert_int_equal(exst_minisign_verify_file(NULL, pk, fp, sp, &err),
                     EXST_OK);
    data[n - 1] = '!';
    write_file(fp, data, n);
    assert_int_equal(exst_minisign_verify_file(&tc, pk, fp, NULL, &err),
                     EXST_ERR_SEMANTIC);
    assert_string_equal(err.source, sp);
    assert_null(tc);
    unlink(sp);
    assert_int_equal(exst_minisign_verify_file(&tc, pk, fp, NULL, &err),
                     EXST_ERR_IO);
    assert_non_null(strstr(err.message, "big.json.minisig"));
    exst_free(sig);
    free(sp);
    free(fp);
    free(data);
    exst_verify_key_free(pk);
    exst_sign_key_free(sk);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    exst_sign_key *sk = NULL;
    exst_verify_key *pk = NULL;
    keypair("oom", &sk, &pk);
    char *kp = path_in("oom.key");
    long n;
    for (n = 0; n < 100; n++) {
        exst_sign_key *k2 = NULL;
        char *sig = NULL, *tc = NULL;
        size_t len = 0;
        exst_error err;
        exst_error_clear(&err);
        exstp_alloc_fail_after(n);
        int rc = exst_sign_key_load(&k2, kp, &err);
        if (rc == EXST_OK)
            rc = exst_minisign_sign(&sig, &len, k2, "data", 4, "c", &err);
        if (rc == EXST_OK)
            rc = exst_minisign_verify(&tc, pk, "data", 4, sig, len, "s",
                                      &err);
        exstp_alloc_fail_after(-1);
        exst_free(tc);
        exst_free(sig);
        exst_sign_key_free(k2);
        if (rc == EXST_OK)
            break;
        assert_int_equal(rc, EXST_ERR_NOMEM);
        assert_int_equal(err.code, EXST_ERR_NOMEM);
    }
    assert_true(n > 2 && n < 100);
    free(kp);
    exst_verify_key_free(pk);
    exst_sign_key_free(sk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_secret_key_checks),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_legacy_signature),
        cmocka_unit_test(test_verify_file),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
