/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_trust.c - what checking consensus signatures adds to `apply`
 * (SPEC 8: at most 5 ms on a live consensus), measured in-process on the
 * real documents of ../shared/testdata with their certificates:
 *
 *   report digest   SHA-256 of the whole input, which apply computes for
 *                   the report's consensus.sha256 anyway: with libsodium
 *                   as lib/exst_stage.c does today, and with
 *                   exst_consensus_digests (the SHA extensions);
 *   + signed digest exst_consensus_digests also producing the signed-
 *                   portion digest (a snapshot of the running SHA-256
 *                   state for "sha256" signatures when the document starts
 *                   with network-status-version; a SHA-1 pass for ns);
 *   check           exst_sigcheck_run with those digests: dir-source and
 *                   signature blocks, the RSA verifications;
 *   certificates    reading and verifying the cached-certs file (each run
 *                   of apply loads it once);
 *   added           what apply pays on top of its own digest, if the
 *                   report's consensus.sha256 comes from the same
 *                   exst_consensus_digests call (else: + signed digest
 *                   alone, + check, + certificates).
 *
 * Each figure is the best of at least 20 runs over at least 0.3 s (the
 * machine is shared; the mean is printed too).  Also SHA-1 throughput of
 * both block functions and libsodium's SHA-256 for comparison.  Prints
 * "skipped" and exits 0 without the shared data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "exitstage.h"
#include "exst_sha_int.h"
#include "exst_trust_int.h"

#define MIN_SECONDS 0.3
#define MIN_ITERS 20

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const exst_error *err)
{
    fprintf(stderr, "bench_trust: %s%s%s\n", what, err ? ": " : "",
            err ? err->message : "");
    exit(1);
}

typedef struct timing {
    double best, mean;
} timing;

/* Run a and b by turns (so load on the shared machine hits both alike);
 * best and mean of each in milliseconds. */
static void measure_pair(void (*a)(void *), void *arg_a, timing *ta,
                         void (*b)(void *), void *arg_b, timing *tb)
{
    double start = now(), total_a = 0, total_b = 0;
    long n = 0;
    ta->best = tb->best = 1e30;
    while (n < MIN_ITERS || now() - start < 2 * MIN_SECONDS) {
        double t0 = now();
        a(arg_a);
        double t1 = now();
        b(arg_b);
        double t2 = now();
        double da = (t1 - t0) * 1e3, db = (t2 - t1) * 1e3;
        total_a += da;
        total_b += db;
        if (da < ta->best)
            ta->best = da;
        if (db < tb->best)
            tb->best = db;
        n++;
    }
    ta->mean = total_a / (double)n;
    tb->mean = total_b / (double)n;
}

/* Run fn(arg) repeatedly; best and mean in milliseconds. */
static timing measure(void (*fn)(void *), void *arg)
{
    timing t = {1e30, 0};
    double start = now(), total = 0;
    long n = 0;
    while (n < MIN_ITERS || now() - start < MIN_SECONDS) {
        double t0 = now();
        fn(arg);
        double d = (now() - t0) * 1e3;
        total += d;
        if (d < t.best)
            t.best = d;
        n++;
    }
    t.mean = total / (double)n;
    return t;
}

typedef struct job {
    exst_consensus *c;
    exst_certs *certs;
    exst_digests d;
    unsigned want;
    const char *certs_path;
    const void *buf;
    size_t len;
} job;

static void run_digests(void *arg)
{
    job *j = arg;
    exst_error err;
    if (exst_consensus_digests(&j->d, j->c, j->want, &err) != EXST_OK)
        die("digests", &err);
}

static void run_sodium(void *arg)
{
    job *j = arg;
    exst_span b = exst_consensus_bytes(j->c);
    uint8_t d[32];
    crypto_hash_sha256(d, (const unsigned char *)b.ptr, b.len);
}

static void run_check(void *arg)
{
    job *j = arg;
    exst_sigcheck *r = NULL;
    exst_error err;
    if (exst_sigcheck_run(&r, j->c, j->certs, NULL, &j->d, &err) != EXST_OK)
        die("sigcheck", &err);
    exst_sigcheck_free(r);
}

static void run_certs(void *arg)
{
    job *j = arg;
    exst_certs *s = NULL;
    exst_error err;
    if (exst_certs_new(&s, NULL, &err) != EXST_OK ||
        exst_certs_add(s, j->buf, j->len, j->certs_path, &err) != EXST_OK)
        die("certs", &err);
    exst_certs_free(s);
}

/* The cached-certs file without its CRs (the shared copies have CRLF). */
static char *read_certs(const char *path, size_t *len)
{
    char *buf = NULL;
    exst_error err;
    if (exstp_read_file(&buf, len, path, (size_t)1 << 20, &err) != EXST_OK)
        die("cannot read certificates", &err);
    size_t m = 0;
    for (size_t i = 0; i < *len; i++)
        if (buf[i] != '\r')
            buf[m++] = buf[i];
    *len = m;
    return buf;
}

static void one_case(const char *shared, const char *doc_rel,
                     const char *certs_rel, int annotate)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", shared, doc_rel);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        printf("  %s: missing, skipped\n", doc_rel);
        return;
    }
    exst_error err;
    exst_consensus *c = NULL;
    if (exst_consensus_read(&c, fp, doc_rel, NULL, &err) != EXST_OK)
        die("read", &err);
    fclose(fp);
    if (annotate) { /* the same document with a CollecTor @type line */
        exst_span b = exst_consensus_bytes(c);
        static const char type[] =
            "@type network-status-microdesc-consensus-3 1.0\n";
        char *t = malloc(b.len + sizeof type);
        memcpy(t, type, sizeof type - 1);
        memcpy(t + sizeof type - 1, b.ptr, b.len);
        exst_consensus *c2 = NULL;
        if (exst_consensus_parse(&c2, t, b.len + sizeof type - 1, doc_rel,
                                 NULL, &err) != EXST_OK)
            die("parse", &err);
        free(t);
        exst_consensus_free(c);
        c = c2;
    }
    job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    snprintf(path, sizeof path, "%s/%s", shared, certs_rel);
    char *cbuf = read_certs(path, &j.len);
    j.buf = cbuf;
    j.certs_path = certs_rel;
    if (exst_certs_new(&j.certs, NULL, &err) != EXST_OK ||
        exst_certs_add(j.certs, cbuf, j.len, certs_rel, &err) != EXST_OK)
        die("certs", &err);

    const int ns = exst_consensus_flavor(c) == EXST_FLAVOR_NS;
    const unsigned sig_bit =
        ns ? EXST_DIGEST_SIGNED_SHA1 : EXST_DIGEST_SIGNED_SHA256;
    job j2 = j;
    j.want = EXST_DIGEST_INPUT_SHA256;
    j2.want = EXST_DIGEST_INPUT_SHA256 | sig_bit;
    timing base, both;
    measure_pair(run_digests, &j, &base, run_digests, &j2, &both);
    j.want = sig_bit;
    timing alone = measure(run_digests, &j);
    timing sodium = measure(run_sodium, &j);
    j.d = j2.d;
    timing chk = measure(run_check, &j);
    timing crt = measure(run_certs, &j);

    exst_sigcheck *r = NULL;
    if (exst_sigcheck_run(&r, c, j.certs, NULL, &j.d, &err) != EXST_OK)
        die("sigcheck", &err);
    const double mb = (double)exst_consensus_bytes(c).len / 1e6;
    /* The signed digest adds what both digests cost over the report's
     * alone; it is never less than zero, whatever the noise says. */
    const double extra = both.best > base.best ? both.best - base.best : 0;
    const double added = extra + chk.best + crt.best;
    printf("  %s%s\n", doc_rel, annotate ? " (with an @type line)" : "");
    printf("    %s, %.2f MB, %zu signatures, %zu good, %zu certificates\n",
           ns ? "ns (SHA-1 signatures)" : "microdesc (SHA-256 signatures)",
           mb, exst_sigcheck_checked(r), exst_sigcheck_good(r),
           exst_certs_count(j.certs));
    printf("    report digest, sodium  %7.2f ms best  %7.2f mean"
           "  (as apply computes it today)\n",
           sodium.best, sodium.mean);
    printf("    report digest          %7.2f ms best  %7.2f mean\n",
           base.best, base.mean);
    printf("    + signed digest        %7.2f ms best  %7.2f mean"
           "  (adds %.2f ms)\n",
           both.best, both.mean, extra);
    printf("    signed digest alone    %7.2f ms best  %7.2f mean\n",
           alone.best, alone.mean);
    printf("    check (RSA, blocks)    %7.2f ms best  %7.2f mean\n",
           chk.best, chk.mean);
    printf("    certificates (load)    %7.2f ms best  %7.2f mean\n",
           crt.best, crt.mean);
    printf("    added to apply         %7.2f ms (budget 5 ms); %.2f ms with "
           "the report digest kept apart\n",
           added, alone.best + chk.best + crt.best);
    exst_sigcheck_free(r);
    exst_certs_free(j.certs);
    exst_free(cbuf);
    exst_consensus_free(c);
}

typedef struct hjob {
    const uint8_t *p;
    size_t n;
} hjob;

static void run_sha1(void *arg)
{
    hjob *h = arg;
    uint8_t d[20];
    exstp_sha1(d, h->p, h->n);
}

static void run_sha256(void *arg)
{
    hjob *h = arg;
    uint8_t d[32];
    exstp_sha256(d, h->p, h->n);
}

static void run_sodium256(void *arg)
{
    hjob *h = arg;
    uint8_t d[32];
    crypto_hash_sha256(d, h->p, h->n);
}

static void hashes(void)
{
    const size_t n = (size_t)4 << 20;
    uint8_t *buf = malloc(n);
    if (buf == NULL)
        die("out of memory", NULL);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 13);
    hjob h = {buf, n};
    printf("hash throughput (4 MiB):\n");
    for (int portable = 0; portable < 2; portable++) {
        exstp_sha_force_portable(portable);
        timing t = measure(run_sha1, &h);
        timing t2 = measure(run_sha256, &h);
        printf("  SHA-1 %-9s %7.0f MB/s   SHA-256 %-9s %7.0f MB/s\n",
               exstp_sha_impl(), (double)n / 1e3 / t.best, exstp_sha_impl(),
               (double)n / 1e3 / t2.best);
    }
    exstp_sha_force_portable(0);
    timing t = measure(run_sodium256, &h);
    printf("  SHA-256 libsodium %7.0f MB/s\n", (double)n / 1e3 / t.best);
    free(buf);
}

int main(void)
{
    const char *shared = EXST_SHARED_TESTDATA_DIR;
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/samples", shared);
    FILE *fp = fopen(probe, "r");
    if (exst_init() != EXST_OK)
        die("cannot initialise", NULL);
    if (fp == NULL) {
        printf("bench_trust: %s absent, skipped\n", shared);
        return 0;
    }
    fclose(fp);
    printf("bench_trust: consensus signature checking (SPEC 8)\n");
    hashes();
    printf("per consensus:\n");
    one_case(shared, "live/consensus-ns-2022-11-19-10-00-00.zst",
             "samples/authority-certs-2022-11-safe_tor", 0);
    one_case(shared, "live/consensus-microdesc-2022-11-19-10-00-00.zst",
             "samples/authority-certs-2022-11-safe_tor", 0);
    one_case(shared, "live/consensus-microdesc-2024-05-17-17-00-00.zst",
             "samples/authority-certs-2024-05-Tor-VPN", 0);
    one_case(shared, "live/consensus-microdesc-2024-05-17-17-00-00.zst",
             "samples/authority-certs-2024-05-Tor-VPN", 1);
    /* The largest live document (3.4 MB, no certificates of its time:
     * the hashing and block parsing are measured, not the RSA). */
    one_case(shared, "live/consensus-microdesc-2026-06-27-04-00-00.zst",
             "samples/authority-certs-2024-05-Tor-VPN", 0);
    return 0;
}
