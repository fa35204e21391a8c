/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exitstage_gen.c - exitstage-gen, a deterministic synthetic Tor network.
 *
 * Real consensus archives cannot be committed, so tests, benchmarks and the
 * README demo replay a made-up network instead.  This tool simulates one
 * hour by hour and writes a CollecTor-style archive: one file per hour and
 * flavour (YYYY-MM-DD-HH-00-00-consensus, ...-consensus-microdesc), in the
 * exact line order tor emits (research-dirspec.md 1), with a
 * bandwidth-weights line computed by the library from the entries.  All
 * randomness comes from a seeded xoshiro256** stream and a splitmix64 hash,
 * never from rand() or the clock: the same arguments give the same bytes.
 * Nicknames, addresses, keys, digests and signatures are invented; nothing
 * is copied from real documents.
 *
 * THE MODEL (times in hours; "h" is the hour index, 0 = --start)
 *
 * - Population.  The simulation starts BURN_IN_HOURS (7 days) before
 *   --start so the first emitted hour already has young relays, relays in
 *   the middle of a gap and graduated exits.  The initial pool holds
 *   about N / f relays (N = --relays), f being the expected online
 *   fraction worked out from the duration tables below (about 0.92),
 *   including 9 authority relays that never go down.
 * - Behaviour classes, fixed at birth (share of births, mean lifetime L;
 *   up durations; down durations, each a mixture of uniform ranges):
 *     steady 40%, L 4000: up 168-1000 (60%) or 48-167 (40%);
 *                 down 1-2 (70%), 3-12 (15%), 13-30 (10%), 31-96 (5%)
 *     flappy 15%, L 2000: up 3-24 or 25-72 (50/50);
 *                 down 1-3 (45%), 4-20 (35%), 21-30 (15%), 31-60 (5%)
 *     nomad  15%, L 2500: up 48-240; down 1-3 (20%), 4-23 (20%),
 *                 24-48 (30%), 49-120 (30%)  ("leaves for 1-5 days")
 *     short  30%, L 120: up 24-150; down 1-6 (60%), 7-48 (40%)
 *   So gaps both shorter and longer than the 24 h reset window occur,
 *   including many close to it (21-30 h).  Each on/off switch is a
 *   semi-Markov step: the next duration is drawn when the state changes.
 *   The initial pool is drawn from the living population (classes
 *   weighted by share x L, ages uniform in 0..2L, mid-run or mid-gap).
 * - Retirement and birth.  Every hour a relay, up or down, retires for
 *   good with probability 1/L.  Each hour as many relays are born as
 *   retired (about 1% of the pool a day), plus 1/48 of the shortfall of
 *   online relays against N (so the online count stays near N).
 *   10% of births are a "family" of 2-6 relays of one operator (one
 *   address, consecutive ORPorts, numbered nicknames).  A newborn is
 *   listed at once, Unmeasured=1 (Bandwidth=20, sometimes 0) for its first
 *   2-19 hours, and its measured weight ramps up over 4 days.
 * - Exits.  Initial relays are exits with probability 24% (flappy 12%,
 *   short 15%), newborns with 20% (the brand-new exits staging catches).
 *   Every hour an online non-exit switches its policy to an exit one with
 *   probability 0.1%/24, and an exit drops it with 0.25%/24; 60% of drops
 *   are pauses that end after 1-3 h (30%), 4-23 h (40%) or 24-96 h (30%).
 *   1.2% of initial exits carry BadExit; 5% of exits that appear later
 *   get BadExit 12-71 hours after they first exit (caught later).
 *   0.7% of relays are MiddleOnly: consensus method >= 32 rules apply
 *   (no Exit, Guard, HSDir or V2Dir; BadExit added).
 * - Flags per hour.  Running and Valid always.  Fast: weight at or above
 *   the 5th percentile of measured weights.  Stable: not flappy and older
 *   than 36 h, or up for 5 days.  V2Dir: 80% of relays.  HSDir: Fast,
 *   Stable, V2Dir and up for 96 h.  Guard: Fast, Stable, V2Dir, not
 *   flappy, known for 8 days and weight at or above the 40th percentile.
 *   StaleDesc: descriptor older than 18 h (0.5% of relays republish only
 *   every 24 h).  Authority on the 9 authority relays.
 * - Consensus weights (w Bandwidth=) are log-normal (median 9000, sigma
 *   1.5 via Irwin-Hall; exits x2.5), with 8% hourly measurement noise,
 *   rounded to 2 significant digits as bandwidth scanners do.
 * - Descriptors.  A relay publishes when it comes up or changes policy,
 *   then every 18 h; the ns r line carries that time and a digest derived
 *   from it.  The microdescriptor digest changes with the policy and every
 *   28 days (onion-key rotation).  ns p lines: the exit policy summary
 *   (8 made-up summaries, all accepting 80 and 443) while the relay is an
 *   exit, "reject 1-65535" otherwise.  40% of relays have an IPv6
 *   address.  A returning relay upgrades tor 20% of the time; a returning
 *   flappy or nomad relay gets a new IPv4 address 5% of the time.
 * - Archive.  --missing-hours hours (default hours/100) are dropped from
 *   the output in both flavours, never the first or last hour; the
 *   network itself goes on.  Nine fake authorities (names of birds, keys
 *   from a fixed seed, TEST-NET addresses) vote and sign every hour.
 *
 * --stats prints what the run contains (exits, new exits per day, returns
 * after short and long gaps) to stderr.  --check parses every document
 * with libexitstage and verifies its relays and that the recomputed
 * bandwidth weights equal the document's line (the weights self-check).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <sodium.h>
#include <zstd.h>

#include "exitstage.h"

#define PROG "exitstage-gen"
#define NO_HOUR INT32_MAX
#define BURN_IN_HOURS (7 * 24)
#define N_AUTH 9
#define METHOD 35
#define WEIGHT_SCALE 10000
#define MAX_DAYS 3660
#define MAX_RELAYS 200000

/* ------------------------------------------------------------------ */
/* Randomness: xoshiro256** for the simulation, splitmix64 for hashes  */
/* ------------------------------------------------------------------ */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t hash3(uint64_t a, uint64_t b, uint64_t c)
{
    return mix64(mix64(mix64(a) ^ b) ^ c);
}

/* Fill out with n bytes that depend only on the three keys. */
static void hash_bytes(uint8_t *out, size_t n, uint64_t a, uint64_t b,
                       uint64_t c)
{
    uint64_t s = hash3(a, b, c);
    for (size_t i = 0; i < n; i += 8) {
        s = mix64(s);
        for (size_t j = 0; j < 8 && i + j < n; j++)
            out[i + j] = (uint8_t)(s >> (8 * j));
    }
}

static void rng_seed(rng *r, uint64_t seed)
{
    uint64_t z = seed;
    for (int i = 0; i < 4; i++) {
        z += 0x9e3779b97f4a7c15u;
        r->s[i] = mix64(z);
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n); the modulo bias is irrelevant for these sizes. */
static uint32_t rng_below(rng *r, uint32_t n)
{
    return n == 0 ? 0 : (uint32_t)(rng_next(r) % n);
}

static double unit_from(uint64_t x)
{
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_unit(rng *r)
{
    return unit_from(rng_next(r));
}

static bool rng_chance(rng *r, double p)
{
    return rng_unit(r) < p;
}

/* Approximately standard normal (Irwin-Hall, 12 terms): no libm needed. */
static double rng_normal(rng *r)
{
    double s = 0;
    for (int i = 0; i < 12; i++)
        s += rng_unit(r);
    return s - 6.0;
}

static double hash_normal(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t s = hash3(a, b, c);
    double sum = 0;
    for (int i = 0; i < 12; i++) {
        s = mix64(s);
        sum += unit_from(s);
    }
    return sum - 6.0;
}

/* exp(x) for |x| < 30 by range reduction and a Taylor series; the tool
 * links no libm and needs only a few digits. */
static double exp_approx(double x)
{
    const double ln2 = 0.69314718055994530942;
    int k = (int)(x / ln2 + (x >= 0 ? 0.5 : -0.5));
    double rr = x - k * ln2, term = 1, sum = 1;
    for (int i = 1; i < 14; i++) {
        term *= rr / i;
        sum += term;
    }
    for (; k > 0; k--)
        sum *= 2;
    for (; k < 0; k++)
        sum /= 2;
    return sum;
}

/* ------------------------------------------------------------------ */
/* Model tables                                                        */
/* ------------------------------------------------------------------ */

typedef struct bucket {
    unsigned weight;
    int32_t lo, hi; /* hours, inclusive */
} bucket;

typedef struct bucket_tab {
    const bucket *b;
    size_t n;
} bucket_tab;

enum { CLS_STEADY, CLS_FLAPPY, CLS_NOMAD, CLS_SHORT, CLS_AUTH, CLS_COUNT };

static const char *const class_names[CLS_COUNT] = {
    "steady", "flappy", "nomad", "short", "authority"};

static const bucket up_steady[] = {{60, 168, 1000}, {40, 48, 167}};
static const bucket up_flappy[] = {{50, 3, 24}, {50, 25, 72}};
static const bucket up_nomad[] = {{100, 48, 240}};
static const bucket up_short[] = {{100, 24, 150}};
static const bucket down_steady[] = {
    {70, 1, 2}, {15, 3, 12}, {10, 13, 30}, {5, 31, 96}};
static const bucket down_flappy[] = {
    {45, 1, 3}, {35, 4, 20}, {15, 21, 30}, {5, 31, 60}};
static const bucket down_nomad[] = {
    {20, 1, 3}, {20, 4, 23}, {30, 24, 48}, {30, 49, 120}};
static const bucket down_short[] = {{60, 1, 6}, {40, 7, 48}};
static const bucket exit_pause[] = {{30, 1, 3}, {40, 4, 23}, {30, 24, 96}};

#define TAB(a) {a, sizeof(a) / sizeof((a)[0])}
static const bucket_tab up_tab[CLS_SHORT + 1] = {
    TAB(up_steady), TAB(up_flappy), TAB(up_nomad), TAB(up_short)};
static const bucket_tab down_tab[CLS_SHORT + 1] = {
    TAB(down_steady), TAB(down_flappy), TAB(down_nomad), TAB(down_short)};
static const bucket_tab pause_tab = TAB(exit_pause);

/* Share of births, and mean lifetime in hours (retirement hazard 1/L). */
static const unsigned class_weight[CLS_SHORT + 1] = {40, 15, 15, 30};
static const unsigned lifetime_h[CLS_SHORT + 1] = {4000, 2000, 2500, 120};
static const double exit_p_initial[CLS_SHORT + 1] = {0.24, 0.12, 0.24, 0.15};

#define EXIT_P_NEWBORN 0.20
#define CONVERT_P_HOUR (0.001 / 24)
#define DROP_P_HOUR (0.0025 / 24)
#define PAUSE_P 0.60
#define BADEXIT_P_INITIAL 0.012
#define BADEXIT_P_LATER 0.05
#define MIDDLEONLY_P 0.007
#define V2DIR_P 0.80
#define IPV6_P 0.40
#define STALE_PUB_P 0.005
#define FAMILY_P 0.10
#define BW_MEDIAN 9000.0
#define BW_SIGMA 1.5
#define BW_EXIT_FACTOR 2.5
#define BW_NOISE 0.08
#define FAST_PCT 5
#define GUARD_PCT 40
#define DESC_INTERVAL (18 * 3600)
#define STALE_INTERVAL (24 * 3600)
#define MD_ROTATION (28 * 86400)

static int32_t draw_hours(rng *r, const bucket_tab *t)
{
    unsigned total = 0;
    for (size_t i = 0; i < t->n; i++)
        total += t->b[i].weight;
    uint32_t x = rng_below(r, total);
    size_t i = 0;
    while (x >= t->b[i].weight) {
        x -= t->b[i].weight;
        i++;
    }
    return t->b[i].lo +
           (int32_t)rng_below(r, (uint32_t)(t->b[i].hi - t->b[i].lo + 1));
}

static double mean_hours(const bucket_tab *t)
{
    double total = 0, sum = 0;
    for (size_t i = 0; i < t->n; i++) {
        total += t->b[i].weight;
        sum += t->b[i].weight * ((double)t->b[i].lo + t->b[i].hi) / 2.0;
    }
    return sum / total;
}

/* Summaries of exit policies (p lines) and how often each occurs. */
typedef struct exit_policy {
    unsigned weight;
    const char *summary;
} exit_policy;

static const exit_policy exit_policies[] = {
    {30, "reject 25,119,135-139,445,563,1214,4661-4666,6346-6429,6699,"
         "6881-6999"},
    {22, "accept 20-23,43,53,79-81,88,110,143,194,220,389,443,464-465,531,"
         "543-544,554,563,587,636,706,749,853,873,902-904,981,989-995,1194,"
         "1220,1293,1500,1533,1677,1723,1755,1863,2082-2083,2086-2087,"
         "2095-2096,2102-2104,3128,3389,3690,4321,4643,5050,5190,5222-5223,"
         "5228,5900,6660-6669,6679,6697,8000,8008,8074,8080,8082,8087-8088,"
         "8232-8233,8332-8333,8443,8888,9418,9999-10000,11371,19294,19638,"
         "50002,64738"},
    {12, "reject 22,25"},
    {10, "accept 80,443"},
    {8, "accept 53,80,443,853"},
    {8, "accept 21-22,53,80,110,143,443,465,587,993,995,5222,8080,8443"},
    {5, "reject 25,465,587"},
    {5, "accept 1-65535"},
};
#define N_POLICIES (sizeof(exit_policies) / sizeof(exit_policies[0]))
static const char no_exit_policy[] = "reject 1-65535";

typedef struct tor_version {
    unsigned weight;
    const char *name;
    int pr; /* index into protocols[] */
} tor_version;

static const char *const protocols[] = {
    "Conflux=1 Cons=1-2 Desc=1-4 DirCache=2 FlowCtrl=1-2 HSDir=2 "
    "HSIntro=4-5 HSRend=1-2 Link=3-5 LinkAuth=3 Microdesc=1-3 Padding=2 "
    "Relay=2-6",
    "Conflux=1 Cons=1-2 Desc=1-2 DirCache=2 FlowCtrl=1-2 HSDir=2 "
    "HSIntro=4-5 HSRend=1-2 Link=1-5 LinkAuth=1,3 Microdesc=1-2 Padding=2 "
    "Relay=1-4",
};

static const tor_version versions[] = {
    {3, "0.4.8.16", 1}, {8, "0.4.8.17", 1}, {7, "0.4.8.18", 1},
    {2, "0.4.9.2-alpha", 0}, {17, "0.4.9.3", 0}, {30, "0.4.9.4", 0},
    {31, "0.4.9.5", 0}, {2, "0.5.0.1-alpha-dev", 0},
};
#define N_VERSIONS (sizeof(versions) / sizeof(versions[0]))
#define NEWEST_VERSION 6 /* "0.4.9.5" */

static const char client_versions[] =
    "0.4.8.17,0.4.8.18,0.4.9.3,0.4.9.4,0.4.9.5";
static const char server_versions[] =
    "0.4.8.16,0.4.8.17,0.4.8.18,0.4.9.3,0.4.9.4,0.4.9.5";

static const char *const proto_lines[] = {
    "recommended-client-protocols Cons=2 Desc=2 DirCache=2 FlowCtrl=1-2 "
    "HSDir=2 HSIntro=4 HSRend=2 Link=4-5 Microdesc=2 Relay=2-4\n",
    "recommended-relay-protocols Cons=2 Desc=2 DirCache=2 FlowCtrl=1-2 "
    "HSDir=2 HSIntro=4-5 HSRend=2 Link=4-5 LinkAuth=3 Microdesc=2 "
    "Relay=2-4\n",
    "required-client-protocols Cons=2 Desc=2 FlowCtrl=1 Link=4 Microdesc=2 "
    "Relay=2\n",
    "required-relay-protocols Cons=2 Desc=2 DirCache=2 FlowCtrl=1-2 HSDir=2 "
    "HSIntro=4-5 HSRend=2 Link=4-5 LinkAuth=3 Microdesc=2 Relay=2-4\n",
};

/* Consensus parameters; sorted with strcmp at start-up with any --param. */
static const char *const default_params[] = {
    "AuthDirMaxServersPerAddr=8", "CircuitPriorityHalflifeMsec=30000",
    "DoSCircuitCreationEnabled=1", "DoSConnectionEnabled=1",
    "DoSRefuseSingleHopClientRendezvous=1", "ExtendByEd25519ID=1",
    "KISTSchedRunInterval=3", "UseOptimisticData=1", "bwauthpid=1",
    "cbttestfreq=10", "cc_alg=2", "cfx_low_exit_threshold=5000",
    "guard-n-primary-guards-to-use=2", "hsdir_spread_store=4",
    "sendme_accept_min_version=1",
};
#define N_DEFAULT_PARAMS (sizeof(default_params) / sizeof(default_params[0]))

/* known-flags, strictly ascending by strcmp; bit i = flag i. */
enum {
    F_AUTHORITY, F_BADEXIT, F_EXIT, F_FAST, F_GUARD, F_HSDIR, F_MIDDLEONLY,
    F_NOEDCONSENSUS, F_RUNNING, F_STABLE, F_STALEDESC, F_SYBIL, F_V2DIR,
    F_VALID, F_COUNT
};
static const char *const flag_names[F_COUNT] = {
    "Authority", "BadExit", "Exit", "Fast", "Guard", "HSDir", "MiddleOnly",
    "NoEdConsensus", "Running", "Stable", "StaleDesc", "Sybil", "V2Dir",
    "Valid"};
static size_t flag_len[F_COUNT];

/* The fake directory authorities: names, and where they "live". */
static const struct {
    const char *name;
    const char *ip;
    unsigned dirport, orport;
} auth_info[N_AUTH] = {
    {"kestrel", "192.0.2.11", 80, 443},
    {"plover", "192.0.2.47", 80, 443},
    {"avocet", "198.51.100.5", 443, 80},
    {"dunlin", "198.51.100.62", 80, 443},
    {"merlin", "198.51.100.130", 80, 443},
    {"ousel", "203.0.113.9", 9030, 9001},
    {"redpoll", "203.0.113.77", 80, 443},
    {"shrike", "203.0.113.140", 80, 443},
    {"whimbrel", "192.0.2.200", 80, 443},
};

typedef struct authority {
    int info;           /* index into auth_info */
    uint8_t id[20];     /* v3 identity digest */
    char id_hex[41];
    char sk_hex[41];    /* signing-key digest */
    uint64_t key;       /* hash key: first 8 identity bytes */
} authority;

/* Syllables for made-up nicknames. */
static const char *const syl[] = {
    "ka", "ro", "mi", "tan", "vel", "qua", "zor", "ni", "bel", "tor",
    "lin", "dra", "fen", "gal", "hex", "jo", "kel", "mor", "nyx", "pax",
    "ril", "sol", "tu", "ux", "vor", "wyn", "xi", "yel", "zen", "ar",
    "bri", "cor", "dun", "el", "fir", "gno", "hal", "is", "jun", "kor"};
#define N_SYL (sizeof(syl) / sizeof(syl[0]))
static const char *const nick_suffix[] = {
    "", "", "", "", "Relay", "Exit", "Node", "Tor", "Onion", "Box"};
#define N_SUFFIX (sizeof(nick_suffix) / sizeof(nick_suffix[0]))

/* ------------------------------------------------------------------ */
/* Relays                                                              */
/* ------------------------------------------------------------------ */

typedef struct relay {
    uint8_t id[20];
    char id_b64[28];
    char nick[20];
    char addr[16];
    char a_line[64];     /* "a [v6]:port\n" or "" */
    uint16_t or_port, dir_port;
    uint8_t cls, policy, version;
    bool online, retired, exit, v2dir, middleonly, stale_pub, authority;
    bool ever_exit, newborn;
    int32_t born, next_change, exit_resume, badexit_at, unmeasured_h;
    int32_t last_listed, last_exit;
    int32_t birth_day_counted; /* day index whose "new exit" counter it hit */
    int64_t run_start, pub_base;
    uint32_t md_epoch, bw_base, addr_v4;
    uint64_t key; /* hash key: first 8 identity bytes */
    int64_t cached_pub;
    uint32_t cached_md;
    int64_t cached_md_rot;
    char desc_b64[28];
    char md_b64[44];
    uint8_t md_raw[32];  /* the microdescriptor digest md_b64 encodes */
} relay;

typedef struct entry {
    uint32_t idx;
    uint32_t flags;
    uint32_t bw;
    bool unmeasured;
    int64_t pub;
} entry;

typedef struct day_stats {
    unsigned births, new_exits_born, new_exits_converted, converted,
        dropped, paused, retired, ret_lt24, ret_ge24, exit_ret_lt24,
        exit_ret_ge24;
} day_stats;

typedef struct sim {
    /* options */
    const char *out_dir;
    int days;
    int64_t start;
    uint32_t target;
    uint64_t seed;
    bool want_ns, want_md, zstd, stats, annotate, check, collector;
    long missing;
    char **params;
    size_t n_params;
    /* state */
    rng r;
    relay *pool;
    size_t n_pool, cap_pool;
    uint32_t *order; /* pool indices sorted by identity */
    size_t n_order;
    authority auth[N_AUTH];
    entry *entries;
    uint32_t *bw_sorted;
    int32_t hours;
    bool *skip_hour;
    char params_line[4096];
    size_t params_len;
    /* output */
    char *doc;
    size_t doc_len, doc_cap;
    ZSTD_CCtx *cctx;
    void *zbuf;
    size_t zcap;
    unsigned long files, micro_files;
    unsigned long long bytes;
    /* --layout collector: the directory made last, and the digests of
     * the microdescriptors already written for the current month */
    char made_dir[4096];
    char md_month[8];
    uint8_t (*md_seen)[32];
    size_t md_seen_cap, md_seen_n;
    /* stats */
    day_stats *ds;
    uint64_t sum_listed, sum_exit, sum_guard, sum_badexit, sum_middle,
        sum_unmeasured, sum_fast, sum_stable, sum_hsdir, sum_v2dir,
        sum_stale;
    uint32_t min_listed, max_listed, min_exit, max_exit;
    unsigned weights_absent;
    uint32_t online_now;
} sim;

static void die_nomem(void)
{
    fprintf(stderr, PROG ": out of memory\n");
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        die_nomem();
    return q;
}

static void b64_nopad(char *out, size_t outsz, const uint8_t *bin, size_t n)
{
    sodium_bin2base64(out, outsz, bin, n,
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

static void make_nick(sim *s, char out[20], bool numbered_family)
{
    size_t len = 0;
    unsigned nsyl = 2 + rng_below(&s->r, 2);
    for (unsigned i = 0; i < nsyl; i++) {
        const char *p = syl[rng_below(&s->r, N_SYL)];
        size_t l = strlen(p);
        memcpy(out + len, p, l);
        len += l;
    }
    out[0] = (char)(out[0] - 'a' + 'A');
    if (!numbered_family) {
        const char *suf = nick_suffix[rng_below(&s->r, N_SUFFIX)];
        size_t l = strlen(suf);
        memcpy(out + len, suf, l);
        len += l;
        if (rng_chance(&s->r, 0.3)) {
            unsigned d = rng_below(&s->r, 100);
            out[len++] = (char)('0' + d / 10);
            out[len++] = (char)('0' + d % 10);
        }
    }
    out[len] = '\0'; /* at most 3*3 + 5 + 2 = 16 characters */
    if (rng_chance(&s->r, 0.008) && !numbered_family)
        memcpy(out, "Unnamed", 8);
}

static uint32_t draw_ipv4(rng *r)
{
    for (;;) {
        uint32_t a = 1 + rng_below(r, 223);
        /* Stay out of private, shared, loopback, link-local and the
         * documentation ranges (the authorities live in TEST-NETs). */
        if (a == 10 || a == 100 || a == 127 || a == 169 || a == 172 ||
            a == 192 || a == 198 || a == 203)
            continue;
        return (a << 24) | (rng_below(r, 256) << 16) |
               (rng_below(r, 256) << 8) | (1 + rng_below(r, 254));
    }
}

static void set_addr(relay *x, uint32_t v4)
{
    x->addr_v4 = v4;
    snprintf(x->addr, sizeof(x->addr), "%u.%u.%u.%u", v4 >> 24,
             (v4 >> 16) & 255, (v4 >> 8) & 255, v4 & 255);
}

static void set_v6(sim *s, relay *x)
{
    snprintf(x->a_line, sizeof(x->a_line), "a [2a0%x:%x:%x:%x::%x]:%u\n",
             1 + rng_below(&s->r, 14), rng_below(&s->r, 0x10000),
             rng_below(&s->r, 0x10000), rng_below(&s->r, 0x10000),
             1 + rng_below(&s->r, 0xff), x->or_port);
}

static uint32_t draw_bw(sim *s, bool exit_relay)
{
    double v = BW_MEDIAN * exp_approx(BW_SIGMA * rng_normal(&s->r));
    if (exit_relay)
        v *= BW_EXIT_FACTOR;
    if (v < 5)
        v = 5;
    if (v > 400000)
        v = 400000;
    return (uint32_t)v;
}

static unsigned draw_weighted(rng *r, const unsigned *w, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    uint32_t x = rng_below(r, total);
    size_t i = 0;
    while (x >= w[i])
        x -= w[i++];
    return (unsigned)i;
}

static uint8_t draw_policy(rng *r)
{
    unsigned w[N_POLICIES];
    for (size_t i = 0; i < N_POLICIES; i++)
        w[i] = exit_policies[i].weight;
    return (uint8_t)draw_weighted(r, w, N_POLICIES);
}

static uint8_t draw_version(rng *r)
{
    unsigned w[N_VERSIONS];
    for (size_t i = 0; i < N_VERSIONS; i++)
        w[i] = versions[i].weight;
    return (uint8_t)draw_weighted(r, w, N_VERSIONS);
}

/* Insert pool index i into the identity-sorted order. */
static void order_insert(sim *s, uint32_t i)
{
    size_t lo = 0, hi = s->n_order;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (memcmp(s->pool[s->order[mid]].id, s->pool[i].id, 20) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(s->order + lo + 1, s->order + lo,
            (s->n_order - lo) * sizeof(*s->order));
    s->order[lo] = i;
    s->n_order++;
}

static relay *new_relay(sim *s)
{
    if (s->n_pool == s->cap_pool) {
        s->cap_pool = s->cap_pool ? s->cap_pool * 2 : 1024;
        s->pool = xrealloc(s->pool, s->cap_pool * sizeof(*s->pool));
        s->order = xrealloc(s->order, s->cap_pool * sizeof(*s->order));
    }
    relay *x = &s->pool[s->n_pool++];
    memset(x, 0, sizeof(*x));
    for (int i = 0; i < 20; i++)
        x->id[i] = (uint8_t)rng_next(&s->r);
    b64_nopad(x->id_b64, sizeof(x->id_b64), x->id, 20);
    for (int i = 0; i < 8; i++)
        x->key = (x->key << 8) | x->id[i];
    x->next_change = NO_HOUR;
    x->exit_resume = NO_HOUR;
    x->badexit_at = NO_HOUR;
    x->last_listed = NO_HOUR;
    x->last_exit = NO_HOUR;
    x->birth_day_counted = -1;
    x->cached_pub = INT64_MIN;
    x->cached_md_rot = INT64_MIN;
    return x;
}

/* Bring relay x up at hour h (time t): it restarts and publishes. */
static void come_up(sim *s, relay *x, int32_t h, int64_t t)
{
    x->online = true;
    x->run_start = t - 900 - rng_below(&s->r, 2700);
    x->pub_base = x->run_start + 60 + rng_below(&s->r, 240);
    x->next_change = h + draw_hours(&s->r, &up_tab[x->cls]);
}

static void republish(sim *s, relay *x, int64_t t)
{
    x->pub_base = t - 600 - rng_below(&s->r, 3000);
    if (x->pub_base < x->run_start)
        x->pub_base = x->run_start;
    x->md_epoch++;
}

/*
 * Create a relay (or a family of them) born at hour h.  initial: part of
 * the starting pool (old, possibly down, possibly mid-run).  Returns the
 * number of relays created.
 */
static unsigned spawn(sim *s, int32_t h, int64_t t, bool initial)
{
    rng *r = &s->r;
    unsigned famsize = rng_chance(r, FAMILY_P) ? 2 + rng_below(r, 5) : 1;
    unsigned cls;
    if (initial) {
        /* The living population: births weighted by how long they live. */
        unsigned w[CLS_SHORT + 1];
        for (int k = 0; k <= CLS_SHORT; k++)
            w[k] = class_weight[k] * lifetime_h[k] / 10;
        cls = draw_weighted(r, w, CLS_SHORT + 1);
    } else {
        cls = draw_weighted(r, class_weight, CLS_SHORT + 1);
    }
    bool exit_relay = initial ? rng_chance(r, exit_p_initial[cls])
                              : rng_chance(r, EXIT_P_NEWBORN);
    uint8_t pol = draw_policy(r);
    uint32_t v4 = draw_ipv4(r);
    char base[20];
    make_nick(s, base, famsize > 1);
    uint16_t port0 = famsize > 1 ? 9001 : 0;
    uint32_t age = initial ? rng_below(r, 2 * lifetime_h[cls]) : 0;
    bool v6 = rng_chance(r, IPV6_P);

    for (unsigned k = 0; k < famsize; k++) {
        relay *x = new_relay(s);
        x->cls = (uint8_t)cls;
        x->newborn = !initial;
        x->born = h - (int32_t)age;
        x->exit = exit_relay;
        x->policy = pol;
        x->middleonly = rng_chance(r, MIDDLEONLY_P);
        x->v2dir = rng_chance(r, V2DIR_P);
        x->stale_pub = rng_chance(r, STALE_PUB_P);
        x->version = draw_version(r);
        x->bw_base = draw_bw(s, exit_relay);
        x->unmeasured_h = 2 + (int32_t)rng_below(r, 18);
        x->md_epoch = rng_below(r, 1000);
        if (famsize > 1) {
            snprintf(x->nick, sizeof(x->nick), "%s%02u", base, k + 1);
            x->or_port = (uint16_t)(port0 + k);
        } else {
            memcpy(x->nick, base, sizeof(base));
            uint32_t p = rng_below(r, 100);
            x->or_port = p < 45 ? 9001 : p < 75 ? 443 : p < 80 ? 9000
                       : (uint16_t)(1025 + rng_below(r, 64000));
        }
        x->dir_port = 0;
        set_addr(x, v4);
        if (v6)
            set_v6(s, x);
        if (exit_relay) {
            if (initial && rng_chance(r, BADEXIT_P_INITIAL))
                x->badexit_at = INT32_MIN;
            else if (!initial && rng_chance(r, BADEXIT_P_LATER))
                x->badexit_at = h + 12 + (int32_t)rng_below(r, 60);
        }
        if (initial) {
            double up = mean_hours(&up_tab[cls]);
            double down = mean_hours(&down_tab[cls]);
            if (rng_chance(r, up / (up + down))) {
                int32_t d = draw_hours(r, &up_tab[cls]);
                int32_t done = (int32_t)rng_below(r, (uint32_t)d);
                if (done > (int32_t)age)
                    done = (int32_t)age;
                x->online = true;
                x->run_start = t - (int64_t)done * 3600 - 900 -
                               rng_below(r, 2700);
                x->pub_base = x->run_start + 60 + rng_below(r, 240);
                x->next_change = h + d - done;
            } else {
                int32_t d = draw_hours(r, &down_tab[cls]);
                x->next_change = h + 1 + (int32_t)rng_below(r, (uint32_t)d);
            }
        } else {
            come_up(s, x, h, t);
        }
        order_insert(s, (uint32_t)(x - s->pool));
    }
    return famsize;
}

static void make_authorities(sim *s, int64_t t)
{
    /* A fixed seed: the same 9 authorities whatever --seed says. */
    rng ar;
    rng_seed(&ar, 0x6578737461757468u); /* "exstauth" */
    for (int i = 0; i < N_AUTH; i++) {
        authority *a = &s->auth[i];
        uint8_t sk[20];
        a->info = i;
        for (int j = 0; j < 20; j++)
            a->id[j] = (uint8_t)rng_next(&ar);
        for (int j = 0; j < 20; j++)
            sk[j] = (uint8_t)rng_next(&ar);
        for (int j = 0; j < 8; j++)
            a->key = (a->key << 8) | a->id[j];
        sodium_bin2hex(a->id_hex, sizeof(a->id_hex), a->id, 20);
        sodium_bin2hex(a->sk_hex, sizeof(a->sk_hex), sk, 20);
        for (int j = 0; j < 40; j++) {
            if (a->id_hex[j] >= 'a')
                a->id_hex[j] = (char)(a->id_hex[j] - 'a' + 'A');
            if (a->sk_hex[j] >= 'a')
                a->sk_hex[j] = (char)(a->sk_hex[j] - 'a' + 'A');
        }
    }
    /* dir-source groups and signatures are sorted by identity digest. */
    for (int i = 1; i < N_AUTH; i++)
        for (int j = i; j > 0 && memcmp(s->auth[j - 1].id, s->auth[j].id,
                                        20) > 0; j--) {
            authority tmp = s->auth[j];
            s->auth[j] = s->auth[j - 1];
            s->auth[j - 1] = tmp;
        }

    /* Each authority also runs a relay (other keys, same address). */
    for (int i = 0; i < N_AUTH; i++) {
        relay *x = new_relay(s);
        x->cls = CLS_AUTH;
        x->authority = true;
        x->v2dir = true;
        x->born = -BURN_IN_HOURS - 3000 * 24;
        x->version = NEWEST_VERSION;
        x->bw_base = 20 + rng_below(&s->r, 80);
        x->md_epoch = rng_below(&s->r, 1000);
        memcpy(x->nick, auth_info[i].name, strlen(auth_info[i].name) + 1);
        x->or_port = (uint16_t)auth_info[i].orport;
        x->dir_port = (uint16_t)auth_info[i].dirport;
        memcpy(x->addr, auth_info[i].ip, strlen(auth_info[i].ip) + 1);
        x->online = true;
        x->run_start = t - 86400 * (int64_t)(10 + rng_below(&s->r, 50));
        x->pub_base = x->run_start + 120;
        order_insert(s, (uint32_t)(x - s->pool));
    }
}

static int32_t day_of(int32_t h)
{
    return h / 24;
}

/* One hour of network dynamics. */
static void step(sim *s, int32_t h, int64_t t)
{
    rng *r = &s->r;
    size_t retired = 0;
    uint32_t online = 0;
    day_stats *ds = h >= 0 ? &s->ds[day_of(h)] : NULL;

    for (size_t i = 0; i < s->n_pool; i++) {
        relay *x = &s->pool[i];
        if (x->retired || x->authority) {
            online += x->online;
            continue;
        }
        if (rng_chance(r, 1.0 / lifetime_h[x->cls])) {
            /* Gone for good, whether it was up or in a gap. */
            x->retired = true;
            x->online = false;
            retired++;
            if (ds)
                ds->retired++;
            continue;
        }
        if (h >= x->next_change) {
            if (x->online) {
                x->online = false;
                x->next_change = h + draw_hours(r, &down_tab[x->cls]);
            } else {
                come_up(s, x, h, t);
                if (x->cls == CLS_FLAPPY || x->cls == CLS_NOMAD) {
                    if (rng_chance(r, 0.05))
                        set_addr(x, draw_ipv4(r));
                }
                if (rng_chance(r, 0.2))
                    x->version = NEWEST_VERSION;
            }
        }
        if (!x->online)
            continue;
        online++;
        /* Policy changes need a descriptor, so only running relays. */
        if (x->exit_resume != NO_HOUR) {
            if (h >= x->exit_resume) {
                x->exit = true;
                x->exit_resume = NO_HOUR;
                republish(s, x, t);
            }
        } else if (x->exit) {
            if (rng_chance(r, DROP_P_HOUR)) {
                x->exit = false;
                republish(s, x, t);
                if (rng_chance(r, PAUSE_P)) {
                    x->exit_resume = h + draw_hours(r, &pause_tab);
                    if (ds)
                        ds->paused++;
                } else if (ds) {
                    ds->dropped++;
                }
            }
        } else if (!x->middleonly && rng_chance(r, CONVERT_P_HOUR)) {
            x->exit = true;
            x->policy = draw_policy(r);
            if (x->badexit_at == NO_HOUR && rng_chance(r, BADEXIT_P_LATER))
                x->badexit_at = h + 12 + (int32_t)rng_below(r, 60);
            republish(s, x, t);
            if (ds)
                ds->converted++;
        }
    }

    /* Births: replace the retired, and close part of the shortfall. */
    long births = (long)retired;
    long deficit = (long)s->target - (long)online;
    if (deficit > 0)
        births += deficit / 48 + (rng_below(r, 48) < (uint32_t)(deficit % 48));
    else if (deficit < 0)
        births -= (-deficit) / 48;
    while (births > 0) {
        unsigned n = spawn(s, h, t, false);
        births -= (long)n;
        online += n;
        if (ds)
            ds->births += n;
    }
    s->online_now = online;
}

/* ------------------------------------------------------------------ */
/* Text output                                                         */
/* ------------------------------------------------------------------ */

static void doc_reserve(sim *s, size_t extra)
{
    if (s->doc_len + extra <= s->doc_cap)
        return;
    size_t cap = s->doc_cap ? s->doc_cap : 1 << 20;
    while (cap < s->doc_len + extra)
        cap *= 2;
    s->doc = xrealloc(s->doc, cap);
    s->doc_cap = cap;
}

static void put(sim *s, const char *p, size_t n)
{
    doc_reserve(s, n);
    memcpy(s->doc + s->doc_len, p, n);
    s->doc_len += n;
}

static void puts_(sim *s, const char *p)
{
    put(s, p, strlen(p));
}

static void putc_(sim *s, char c)
{
    put(s, &c, 1);
}

static void put_u64(sim *s, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(s, tmp + sizeof(tmp) - n, n);
}

static void put_i64(sim *s, int64_t v)
{
    if (v < 0) {
        putc_(s, '-');
        put_u64(s, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(s, (uint64_t)v);
    }
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* "YYYY-MM-DD HH:MM:SS" (19 characters, no NUL) into out. */
static void fmt_time(char out[19], int64_t t)
{
    int64_t z = (t >= 0 ? t : t - 86399) / 86400;
    int64_t sec = t - z * 86400;
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe =
        (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
    unsigned v[6] = {(unsigned)y, m, d, (unsigned)(sec / 3600),
                     (unsigned)(sec / 60 % 60), (unsigned)(sec % 60)};
    out[0] = (char)('0' + v[0] / 1000 % 10);
    out[1] = (char)('0' + v[0] / 100 % 10);
    out[2] = (char)('0' + v[0] / 10 % 10);
    out[3] = (char)('0' + v[0] % 10);
    static const char sep[5] = {'-', '-', ' ', ':', ':'};
    for (int i = 1; i < 6; i++) {
        out[1 + 3 * i] = sep[i - 1];
        out[2 + 3 * i] = (char)('0' + v[i] / 10);
        out[3 + 3 * i] = (char)('0' + v[i] % 10);
    }
}

static void put_time(sim *s, int64_t t)
{
    char buf[19];
    fmt_time(buf, t);
    put(s, buf, 19);
}

/* Round to two significant digits, as the bandwidth scanners report. */
static uint32_t round2(uint32_t v)
{
    uint32_t p = 1;
    while (v / p >= 100)
        p *= 10;
    if (p == 1)
        return v;
    uint64_t q = ((uint64_t)v + p / 2) / p * p;
    return q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
}

static int cmp_u32(const void *a, const void *b)
{
    const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int64_t pub_time(const relay *x, int64_t t)
{
    const int64_t iv = x->stale_pub ? STALE_INTERVAL : DESC_INTERVAL;
    const int64_t vote = t - 600;
    if (vote <= x->pub_base)
        return x->pub_base;
    return x->pub_base + (vote - x->pub_base) / iv * iv;
}

/* Compute the entries listed at hour h; returns how many. */
static size_t list_hour(sim *s, int32_t h, int64_t t)
{
    size_t n = 0, nm = 0;
    for (size_t k = 0; k < s->n_order; k++) {
        const uint32_t i = s->order[k];
        relay *x = &s->pool[i];
        if (!x->online)
            continue;
        entry *e = &s->entries[n++];
        e->idx = i;
        e->pub = pub_time(x, t);
        const int32_t age = h - x->born;
        e->unmeasured = x->newborn && age < x->unmeasured_h;
        if (e->unmeasured) {
            e->bw = (hash3(s->seed, x->key, 1) % 20) ? 20 : 0;
        } else {
            double ramp = x->newborn ? 0.15 + age / 96.0 : 1.0;
            if (ramp > 1)
                ramp = 1;
            double v = x->bw_base * ramp *
                       exp_approx(BW_NOISE * hash_normal(s->seed, x->key,
                                                         (uint64_t)h));
            e->bw = round2(v < 1 ? 1 : (uint32_t)v);
            s->bw_sorted[nm++] = e->bw;
        }
    }
    qsort(s->bw_sorted, nm, sizeof(*s->bw_sorted), cmp_u32);
    const uint32_t fast_thr = nm ? s->bw_sorted[nm * FAST_PCT / 100] : 0;
    const uint32_t guard_thr = nm ? s->bw_sorted[nm * GUARD_PCT / 100] : 0;

    for (size_t k = 0; k < n; k++) {
        entry *e = &s->entries[k];
        const relay *x = &s->pool[e->idx];
        const int64_t up = t - x->run_start;
        const int32_t age = h - x->born;
        uint32_t f = (1u << F_RUNNING) | (1u << F_VALID);
        const bool fast = !e->unmeasured && e->bw >= fast_thr;
        const bool stable = (x->cls != CLS_FLAPPY && age >= 36) ||
                            up >= 5 * 86400;
        if (x->authority)
            f |= 1u << F_AUTHORITY;
        if (fast)
            f |= 1u << F_FAST;
        if (stable)
            f |= 1u << F_STABLE;
        if (x->middleonly) {
            f |= (1u << F_MIDDLEONLY) | (1u << F_BADEXIT);
        } else {
            if (x->v2dir)
                f |= 1u << F_V2DIR;
            if (x->exit)
                f |= 1u << F_EXIT;
            if (h >= x->badexit_at)
                f |= 1u << F_BADEXIT;
            if (fast && stable && x->v2dir && up >= 96 * 3600)
                f |= 1u << F_HSDIR;
            if (fast && stable && x->v2dir && !x->authority &&
                x->cls != CLS_FLAPPY && age >= 8 * 24 && e->bw >= guard_thr)
                f |= 1u << F_GUARD;
        }
        if (t - e->pub > 18 * 3600)
            f |= 1u << F_STALEDESC;
        e->flags = f;
    }
    return n;
}

static void put_flags(sim *s, uint32_t f)
{
    putc_(s, 's');
    for (int i = 0; i < F_COUNT; i++)
        if (f & (1u << i)) {
            putc_(s, ' ');
            put(s, flag_names[i], flag_len[i]);
        }
    putc_(s, '\n');
}

static void put_header(sim *s, exst_flavor fl, int64_t t, int32_t h)
{
    if (s->annotate)
        puts_(s, fl == EXST_FLAVOR_NS
                     ? "@type network-status-consensus-3 1.0\n"
                     : "@type network-status-microdesc-consensus-3 1.0\n");
    puts_(s, fl == EXST_FLAVOR_NS ? "network-status-version 3\n"
                                  : "network-status-version 3 microdesc\n");
    puts_(s, "vote-status consensus\nconsensus-method ");
    put_u64(s, METHOD);
    puts_(s, "\nvalid-after ");
    put_time(s, t);
    puts_(s, "\nfresh-until ");
    put_time(s, t + 3600);
    puts_(s, "\nvalid-until ");
    put_time(s, t + 3 * 3600);
    puts_(s, "\nvoting-delay 300 300\nclient-versions ");
    puts_(s, client_versions);
    puts_(s, "\nserver-versions ");
    puts_(s, server_versions);
    puts_(s, "\nknown-flags");
    for (int i = 0; i < F_COUNT; i++) {
        putc_(s, ' ');
        put(s, flag_names[i], flag_len[i]);
    }
    putc_(s, '\n');
    for (size_t i = 0; i < 4; i++)
        puts_(s, proto_lines[i]);
    put(s, s->params_line, s->params_len);

    /* The shared random value changes at midnight UTC. */
    const int64_t day = (t >= 0 ? t : t - 86399) / 86400;
    for (int k = 0; k < 2; k++) {
        uint8_t srv[32];
        char b64[sodium_base64_ENCODED_LEN(32,
                                           sodium_base64_VARIANT_ORIGINAL)];
        hash_bytes(srv, sizeof(srv), s->seed, 0x737276u,
                   (uint64_t)(day - 1 + k));
        sodium_bin2base64(b64, sizeof(b64), srv, sizeof(srv),
                          sodium_base64_VARIANT_ORIGINAL);
        puts_(s, k == 0 ? "shared-rand-previous-value "
                        : "shared-rand-current-value ");
        put_u64(s, N_AUTH);
        putc_(s, ' ');
        puts_(s, b64);
        putc_(s, '\n');
    }

    for (int i = 0; i < N_AUTH; i++) {
        const authority *a = &s->auth[i];
        uint8_t vd[20];
        char vhex[41];
        puts_(s, "dir-source ");
        puts_(s, auth_info[a->info].name);
        putc_(s, ' ');
        put(s, a->id_hex, 40);
        putc_(s, ' ');
        puts_(s, auth_info[a->info].ip);
        putc_(s, ' ');
        puts_(s, auth_info[a->info].ip);
        putc_(s, ' ');
        put_u64(s, auth_info[a->info].dirport);
        putc_(s, ' ');
        put_u64(s, auth_info[a->info].orport);
        puts_(s, "\ncontact ");
        puts_(s, auth_info[a->info].name);
        puts_(s, " operators <");
        puts_(s, auth_info[a->info].name);
        puts_(s, " at dirauth dot invalid>\nvote-digest ");
        /* One vote per authority and hour, shared by both flavours. */
        hash_bytes(vd, sizeof(vd), s->seed, a->key,
                   (uint64_t)h);
        sodium_bin2hex(vhex, sizeof(vhex), vd, sizeof(vd));
        for (int j = 0; j < 40; j++)
            if (vhex[j] >= 'a')
                vhex[j] = (char)(vhex[j] - 'a' + 'A');
        put(s, vhex, 40);
        putc_(s, '\n');
    }
}

static void refresh_digests(sim *s, relay *x, int64_t pub, int64_t t)
{
    if (x->cached_pub != pub) {
        uint8_t d[20];
        hash_bytes(d, sizeof(d), s->seed ^ 0x646573630000u, x->key,
                   (uint64_t)pub);
        b64_nopad(x->desc_b64, sizeof(x->desc_b64), d, sizeof(d));
        x->cached_pub = pub;
    }
    const int64_t rot = (t + (int64_t)(x->key % MD_ROTATION)) / MD_ROTATION;
    if (x->cached_md != x->md_epoch || x->cached_md_rot != rot) {
        uint8_t d[32];
        hash_bytes(d, sizeof(d), s->seed ^ 0x6d6400000000u, x->key,
                   ((uint64_t)x->md_epoch << 32) ^ (uint64_t)rot);
        b64_nopad(x->md_b64, sizeof(x->md_b64), d, sizeof(d));
        memcpy(x->md_raw, d, sizeof(d));
        x->cached_md = x->md_epoch;
        x->cached_md_rot = rot;
    }
}

static void put_entries(sim *s, exst_flavor fl, size_t n, int64_t t)
{
    static const char md_pub[] = "2038-01-01 00:00:00";
    for (size_t k = 0; k < n; k++) {
        const entry *e = &s->entries[k];
        relay *x = &s->pool[e->idx];
        refresh_digests(s, x, e->pub, t);
        doc_reserve(s, 2048);
        puts_(s, "r ");
        puts_(s, x->nick);
        putc_(s, ' ');
        put(s, x->id_b64, 27);
        putc_(s, ' ');
        if (fl == EXST_FLAVOR_NS) {
            put(s, x->desc_b64, 27);
            putc_(s, ' ');
            put_time(s, e->pub);
        } else {
            put(s, md_pub, sizeof(md_pub) - 1);
        }
        putc_(s, ' ');
        puts_(s, x->addr);
        putc_(s, ' ');
        put_u64(s, x->or_port);
        putc_(s, ' ');
        put_u64(s, x->dir_port);
        putc_(s, '\n');
        puts_(s, x->a_line);
        if (fl == EXST_FLAVOR_MICRODESC) {
            puts_(s, "m ");
            put(s, x->md_b64, 43);
            putc_(s, '\n');
        }
        put_flags(s, e->flags);
        puts_(s, "v Tor ");
        puts_(s, versions[x->version].name);
        puts_(s, "\npr ");
        puts_(s, protocols[versions[x->version].pr]);
        puts_(s, "\nw Bandwidth=");
        put_u64(s, e->bw);
        if (e->unmeasured)
            puts_(s, " Unmeasured=1");
        putc_(s, '\n');
        if (fl == EXST_FLAVOR_NS) {
            puts_(s, "p ");
            /* A MiddleOnly relay keeps its exit policy; only the
             * authorities' flags change. */
            puts_(s, x->exit ? exit_policies[x->policy].summary
                             : no_exit_policy);
            putc_(s, '\n');
        }
    }
}

static void put_footer(sim *s, exst_flavor fl, const exst_weights *w,
                       int32_t h)
{
    puts_(s, "directory-footer\n");
    if (w->present) {
        puts_(s, "bandwidth-weights");
        for (int i = 0; i < EXST_W_COUNT; i++) {
            putc_(s, ' ');
            puts_(s, exst_weight_name(i));
            putc_(s, '=');
            put_i64(s, w->w[i]);
        }
        putc_(s, '\n');
    }
    for (int i = 0; i < N_AUTH; i++) {
        const authority *a = &s->auth[i];
        uint8_t sig[256];
        char b64[sodium_base64_ENCODED_LEN(256,
                                           sodium_base64_VARIANT_ORIGINAL)];
        puts_(s, fl == EXST_FLAVOR_NS ? "directory-signature "
                                      : "directory-signature sha256 ");
        put(s, a->id_hex, 40);
        putc_(s, ' ');
        put(s, a->sk_hex, 40);
        puts_(s, "\n-----BEGIN SIGNATURE-----\n");
        hash_bytes(sig, sizeof(sig), s->seed ^ ((uint64_t)fl << 48),
                   a->key, (uint64_t)h);
        sig[0] &= 0x7f; /* below the modulus, as a real one would be */
        sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
                          sodium_base64_VARIANT_ORIGINAL);
        const size_t len = strlen(b64);
        for (size_t off = 0; off < len; off += 64) {
            put(s, b64 + off, len - off < 64 ? len - off : 64);
            putc_(s, '\n');
        }
        puts_(s, "-----END SIGNATURE-----\n");
    }
}

static void tally(exst_bw_totals *tot, const entry *e, size_t n)
{
    /* research-dirspec 3.1, consensus method >= 26. */
    tot->G = tot->M = tot->E = tot->D = 1;
    tot->T = 4;
    for (size_t k = 0; k < n; k++) {
        const int64_t bw = e[k].bw;
        const bool ex = (e[k].flags & (1u << F_EXIT)) &&
                        !(e[k].flags & (1u << F_BADEXIT));
        const bool gd = (e[k].flags & (1u << F_GUARD)) != 0;
        tot->T += bw;
        if (ex && gd)
            tot->D += bw;
        else if (ex)
            tot->E += bw;
        else if (gd)
            tot->G += bw;
        else
            tot->M += bw;
    }
}

/* Make out_dir/rel and its parents (rel is a directory path). */
static int make_dirs(sim *s, const char *rel)
{
    char path[4096];
    const int n = snprintf(path, sizeof(path), "%s/%s", s->out_dir, rel);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        fprintf(stderr, PROG ": output path too long\n");
        return 1;
    }
    if (strcmp(path, s->made_dir) == 0)
        return 0;
    for (char *p = path + strlen(s->out_dir) + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        const char c = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, PROG ": cannot create '%s': %s\n", path,
                    strerror(errno));
            return 1;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    memcpy(s->made_dir, path, (size_t)n + 1);
    return 0;
}

static int write_file(sim *s, const char *name)
{
    char path[4096];
    const void *data = s->doc;
    size_t len = s->doc_len;
    int n = snprintf(path, sizeof(path), "%s/%s%s", s->out_dir, name,
                     s->zstd ? ".zst" : "");
    if (n < 0 || (size_t)n >= sizeof(path)) {
        fprintf(stderr, PROG ": output path too long\n");
        return 1;
    }
    if (s->zstd) {
        const size_t bound = ZSTD_compressBound(len);
        if (bound > s->zcap) {
            s->zbuf = xrealloc(s->zbuf, bound);
            s->zcap = bound;
        }
        const size_t z = ZSTD_compressCCtx(s->cctx, s->zbuf, s->zcap, data,
                                           len, 1);
        if (ZSTD_isError(z)) {
            fprintf(stderr, PROG ": zstd: %s\n", ZSTD_getErrorName(z));
            return 1;
        }
        data = s->zbuf;
        len = z;
    }
    FILE *fp = fopen(path, "wb");
    if (fp == NULL) {
        fprintf(stderr, PROG ": cannot open '%s': %s\n", path,
                strerror(errno));
        return 1;
    }
    const size_t w = fwrite(data, 1, len, fp);
    const int werr = ferror(fp);
    if (fclose(fp) != 0 || w != len || werr) {
        fprintf(stderr, PROG ": cannot write '%s': %s\n", path,
                strerror(errno));
        return 1;
    }
    s->files++;
    s->bytes += len;
    return 0;
}

/*
 * --check: parse the document just built with the library and verify what
 * the tests rely on: flavour, valid-after, method, the relay list (same
 * identities, same order, same Exit flags) and that recomputing the
 * bandwidth weights from the entries reproduces the document's own line.
 */
static int check_doc(const sim *s, exst_flavor fl, int64_t t, size_t n,
                     const exst_weights *w, const char *name)
{
    exst_consensus *c = NULL;
    exst_error err;
    exst_error_clear(&err);
    int st = exst_consensus_parse(&c, s->doc, s->doc_len, name, NULL, &err);
    if (st != EXST_OK) {
        fprintf(stderr, PROG ": check: %s:%lu:%lu: %s\n", name, err.line,
                err.column, err.message);
        return 1;
    }
    const char *why = NULL;
    exst_weights calc, in;
    exst_consensus_weights(&calc, NULL, c, NULL);
    exst_consensus_weights_in(&in, c);
    if (exst_consensus_flavor(c) != fl)
        why = "flavour differs";
    else if (exst_consensus_valid_after(c) != t)
        why = "valid-after differs";
    else if (exst_consensus_method(c) != METHOD)
        why = "consensus method differs";
    else if (exst_consensus_relay_count(c) != n)
        why = "relay count differs";
    else if (!exst_weights_equal(&calc, &in))
        why = "recomputed bandwidth-weights differ from the document's";
    else if (!exst_weights_equal(&in, w))
        why = "bandwidth-weights differ from the generator's";
    for (size_t k = 0; k < n && why == NULL; k++) {
        exst_relay rl;
        exst_consensus_relay(c, k, &rl);
        const entry *e = &s->entries[k];
        if (memcmp(rl.id, s->pool[e->idx].id, 20) != 0)
            why = "relay identities differ";
        else if (!exst_consensus_relay_is_exit(c, k) !=
                 !(e->flags & (1u << F_EXIT)))
            why = "Exit flags differ";
        else if (rl.bandwidth != e->bw)
            why = "bandwidths differ";
    }
    exst_consensus_free(c);
    if (why != NULL) {
        fprintf(stderr, PROG ": check: %s: %s\n", name, why);
        return 1;
    }
    return 0;
}

static void file_name(char out[64], int64_t t, exst_flavor fl)
{
    char ts[19];
    fmt_time(ts, t);
    /* "YYYY-MM-DD HH:MM:SS" -> "YYYY-MM-DD-HH-MM-SS" */
    ts[10] = '-';
    ts[13] = '-';
    ts[16] = '-';
    memcpy(out, ts, 19);
    const char *suf = fl == EXST_FLAVOR_NS ? "-consensus"
                                           : "-consensus-microdesc";
    memcpy(out + 19, suf, strlen(suf) + 1);
}

/*
 * --layout collector: the paths CollecTor's monthly tarballs hold, so
 * that `tar cf consensuses-2026-01.tar consensuses-2026-01` in the output
 * directory gives what analysts download (before xz):
 *   consensuses-YYYY-MM/DD/YYYY-MM-DD-HH-MM-SS-consensus
 *   microdescs-YYYY-MM/consensus-microdesc/DD/...-consensus-microdesc
 *   microdescs-YYYY-MM/micro/H/H/<64 hex digits of the digest>
 * (the last two by the digest's first and second hex digits).  A
 * microdescriptor is written once in each month whose consensuses
 * reference it, as CollecTor does.
 */
static void collector_dir(char *out, size_t outsz, int64_t t,
                          exst_flavor fl)
{
    char ts[19];
    fmt_time(ts, t);
    if (fl == EXST_FLAVOR_NS)
        snprintf(out, outsz, "consensuses-%.7s/%.2s", ts, ts + 8);
    else
        snprintf(out, outsz, "microdescs-%.7s/consensus-microdesc/%.2s", ts,
                 ts + 8);
}

/* A microdescriptor for relay x as of now: invented keys from the
 * digest, the relay's policy summary, and its ed25519 id. */
static void put_microdesc(sim *s, const relay *x)
{
    uint8_t rsa[140], ntor[32], ed[32];
    char b64[sodium_base64_ENCODED_LEN(140, sodium_base64_VARIANT_ORIGINAL)];
    hash_bytes(rsa, sizeof(rsa), s->seed ^ 0x6f6e696f6eu, x->key,
               ((uint64_t)x->md_raw[0] << 8) | x->md_raw[1]);
    rsa[0] = 0x30; /* a DER SEQUENCE, as an RSA public key starts */
    hash_bytes(ntor, sizeof(ntor), s->seed ^ 0x6e746f72u, x->key,
               ((uint64_t)x->md_raw[2] << 8) | x->md_raw[3]);
    hash_bytes(ed, sizeof(ed), s->seed ^ 0x6564u, x->key, 0);
    s->doc_len = 0;
    if (s->annotate)
        puts_(s, "@type microdescriptor 1.0\n");
    puts_(s, "onion-key\n-----BEGIN RSA PUBLIC KEY-----\n");
    sodium_bin2base64(b64, sizeof(b64), rsa, sizeof(rsa),
                      sodium_base64_VARIANT_ORIGINAL);
    const size_t len = strlen(b64);
    for (size_t off = 0; off < len; off += 64) {
        put(s, b64 + off, len - off < 64 ? len - off : 64);
        putc_(s, '\n');
    }
    puts_(s, "-----END RSA PUBLIC KEY-----\nntor-onion-key ");
    char k[48];
    b64_nopad(k, sizeof(k), ntor, sizeof(ntor));
    puts_(s, k);
    puts_(s, "\np ");
    puts_(s, x->exit ? exit_policies[x->policy].summary : no_exit_policy);
    puts_(s, "\nid ed25519 ");
    b64_nopad(k, sizeof(k), ed, sizeof(ed));
    puts_(s, k);
    putc_(s, '\n');
}

/* Write the microdescriptors of the n entries just listed that this
 * month's tarball does not hold yet. */
static int write_micro(sim *s, size_t n, int64_t t)
{
    char ts[19];
    fmt_time(ts, t);
    if (memcmp(s->md_month, ts, 7) != 0) {
        memcpy(s->md_month, ts, 7);
        s->md_seen_n = 0;
    }
    for (size_t k = 0; k < n; k++) {
        const relay *x = &s->pool[s->entries[k].idx];
        /* open addressing on the digest's first bytes */
        if (s->md_seen_n * 2 >= s->md_seen_cap) {
            const size_t ncap = s->md_seen_cap ? s->md_seen_cap * 2 : 1024;
            uint8_t (*nt)[32] = calloc(ncap, sizeof(*nt));
            if (nt == NULL)
                die_nomem();
            for (size_t i = 0; i < s->md_seen_cap; i++) {
                if (memcmp(s->md_seen[i], (const uint8_t[32]){0}, 32) == 0)
                    continue;
                uint64_t h;
                memcpy(&h, s->md_seen[i], 8);
                size_t j = (size_t)(h & (ncap - 1));
                while (memcmp(nt[j], (const uint8_t[32]){0}, 32) != 0)
                    j = (j + 1) & (ncap - 1);
                memcpy(nt[j], s->md_seen[i], 32);
            }
            free(s->md_seen);
            s->md_seen = nt;
            s->md_seen_cap = ncap;
        }
        if (s->md_seen_n == 0)
            memset(s->md_seen, 0, s->md_seen_cap * sizeof(*s->md_seen));
        uint64_t h;
        memcpy(&h, x->md_raw, 8);
        size_t j = (size_t)(h & (s->md_seen_cap - 1));
        bool seen = false;
        while (memcmp(s->md_seen[j], (const uint8_t[32]){0}, 32) != 0) {
            if (memcmp(s->md_seen[j], x->md_raw, 32) == 0) {
                seen = true;
                break;
            }
            j = (j + 1) & (s->md_seen_cap - 1);
        }
        if (seen)
            continue;
        memcpy(s->md_seen[j], x->md_raw, 32);
        s->md_seen_n++;
        char hex[65], rel[4096];
        sodium_bin2hex(hex, sizeof(hex), x->md_raw, 32);
        snprintf(rel, sizeof(rel), "microdescs-%.7s/micro/%c/%c", ts, hex[0],
                 hex[1]);
        if (make_dirs(s, rel) != 0)
            return 1;
        snprintf(rel + strlen(rel), sizeof(rel) - strlen(rel), "/%s", hex);
        put_microdesc(s, x);
        if (write_file(s, rel) != 0)
            return 1;
        s->micro_files++;
    }
    return 0;
}

/* Update the per-relay presence records and the counters for hour h. */
static void note_hour(sim *s, size_t n, int32_t h)
{
    day_stats *ds = &s->ds[day_of(h)];
    uint32_t exits = 0;
    for (size_t k = 0; k < n; k++) {
        const entry *e = &s->entries[k];
        relay *x = &s->pool[e->idx];
        const uint32_t f = e->flags;
        const bool ex = (f & (1u << F_EXIT)) != 0;
        if (x->last_listed != NO_HOUR && x->last_listed < h - 1) {
            /* absent from last_listed + 1 to h - 1: t - a hours */
            if (h - x->last_listed - 1 < 24)
                ds->ret_lt24++;
            else
                ds->ret_ge24++;
        }
        x->last_listed = h;
        if (ex) {
            exits++;
            if (x->last_exit != NO_HOUR && x->last_exit < h - 1) {
                if (h - x->last_exit - 1 < 24)
                    ds->exit_ret_lt24++;
                else
                    ds->exit_ret_ge24++;
            }
            if (!x->ever_exit) {
                x->ever_exit = true;
                if (x->newborn && x->born == h)
                    ds->new_exits_born++;
                else
                    ds->new_exits_converted++;
            }
            x->last_exit = h;
        }
        s->sum_guard += (f >> F_GUARD) & 1;
        s->sum_badexit += (f >> F_BADEXIT) & 1;
        s->sum_middle += (f >> F_MIDDLEONLY) & 1;
        s->sum_fast += (f >> F_FAST) & 1;
        s->sum_stable += (f >> F_STABLE) & 1;
        s->sum_hsdir += (f >> F_HSDIR) & 1;
        s->sum_v2dir += (f >> F_V2DIR) & 1;
        s->sum_stale += (f >> F_STALEDESC) & 1;
        s->sum_unmeasured += e->unmeasured;
    }
    s->sum_listed += n;
    s->sum_exit += exits;
    if (h == 0 || n < s->min_listed)
        s->min_listed = (uint32_t)n;
    if (h == 0 || n > s->max_listed)
        s->max_listed = (uint32_t)n;
    if (h == 0 || exits < s->min_exit)
        s->min_exit = exits;
    if (h == 0 || exits > s->max_exit)
        s->max_exit = exits;
}

/* Burn-in hours only keep presence records, so the first emitted hours
 * neither count old relays as new exits nor miss their returns. */
static void note_burn_in(sim *s, size_t n, int32_t h)
{
    for (size_t k = 0; k < n; k++) {
        relay *x = &s->pool[s->entries[k].idx];
        x->last_listed = h;
        if (s->entries[k].flags & (1u << F_EXIT)) {
            x->ever_exit = true;
            x->last_exit = h;
        }
    }
}

static void print_stats(const sim *s, double secs)
{
    const double hrs = (double)s->hours;
    unsigned missing = 0;
    for (int32_t h = 0; h < s->hours; h++)
        missing += s->skip_hour[h];
    fprintf(stderr, PROG ": seed %llu, %d day%s, %ld target relay%s, "
                    "%u missing hour%s, %lu file%s, %.1f MB in %.2f s\n",
            (unsigned long long)s->seed, s->days, s->days == 1 ? "" : "s",
            (long)s->target, s->target == 1 ? "" : "s", missing,
            missing == 1 ? "" : "s", s->files, s->files == 1 ? "" : "s",
            (double)s->bytes / 1e6, secs);
    if (missing) {
        fprintf(stderr, "missing hours:");
        for (int32_t h = 0; h < s->hours; h++)
            if (s->skip_hour[h]) {
                char ts[20];
                fmt_time(ts, s->start + (int64_t)h * 3600);
                ts[19] = '\0';
                fprintf(stderr, " [%s]", ts);
            }
        fprintf(stderr, "\n");
    }
    fprintf(stderr,
            "relays listed per hour: avg %.0f (min %u, max %u); pool %zu "
            "(ever created)\n",
            (double)s->sum_listed / hrs, s->min_listed, s->max_listed,
            s->n_pool);
    const double L = (double)s->sum_listed;
    fprintf(stderr,
            "Exit per hour: avg %.0f (%.1f%%, min %u, max %u); Guard %.1f%%; "
            "Fast %.1f%%; Stable %.1f%%; HSDir %.1f%%; V2Dir %.1f%%\n",
            (double)s->sum_exit / hrs, 100.0 * (double)s->sum_exit / L,
            s->min_exit, s->max_exit, 100.0 * (double)s->sum_guard / L,
            100.0 * (double)s->sum_fast / L,
            100.0 * (double)s->sum_stable / L,
            100.0 * (double)s->sum_hsdir / L,
            100.0 * (double)s->sum_v2dir / L);
    fprintf(stderr,
            "per hour: BadExit %.1f, MiddleOnly %.1f, Unmeasured %.1f, "
            "StaleDesc %.1f; hours without bandwidth-weights: %u\n",
            (double)s->sum_badexit / hrs, (double)s->sum_middle / hrs,
            (double)s->sum_unmeasured / hrs, (double)s->sum_stale / hrs,
            s->weights_absent);
    fprintf(stderr,
            "day        births new-exits(born+switched) exit-drops(perm+"
            "pause) retired returns(<24h,>=24h) exit-returns(<24h,>=24h)\n");
    day_stats tot = {0};
    for (int d = 0; d < s->days; d++) {
        const day_stats *x = &s->ds[d];
        char ts[19];
        fmt_time(ts, s->start + (int64_t)d * 86400);
        fprintf(stderr,
                "%.10s %6u %6u (%u+%u) %8u (%u+%u) %12u %8u %5u %8u %5u\n",
                ts, x->births, x->new_exits_born + x->new_exits_converted,
                x->new_exits_born, x->new_exits_converted,
                x->dropped + x->paused, x->dropped, x->paused, x->retired,
                x->ret_lt24, x->ret_ge24, x->exit_ret_lt24,
                x->exit_ret_ge24);
        tot.births += x->births;
        tot.new_exits_born += x->new_exits_born;
        tot.new_exits_converted += x->new_exits_converted;
        tot.dropped += x->dropped;
        tot.paused += x->paused;
        tot.retired += x->retired;
        tot.ret_lt24 += x->ret_lt24;
        tot.ret_ge24 += x->ret_ge24;
        tot.exit_ret_lt24 += x->exit_ret_lt24;
        tot.exit_ret_ge24 += x->exit_ret_ge24;
    }
    fprintf(stderr,
            "total      %6u %6u (%u+%u) %8u (%u+%u) %12u %8u %5u %8u %5u\n",
            tot.births, tot.new_exits_born + tot.new_exits_converted,
            tot.new_exits_born, tot.new_exits_converted,
            tot.dropped + tot.paused, tot.dropped, tot.paused, tot.retired,
            tot.ret_lt24, tot.ret_ge24, tot.exit_ret_lt24,
            tot.exit_ret_ge24);
    size_t cls[CLS_COUNT] = {0};
    for (size_t i = 0; i < s->n_pool; i++)
        if (!s->pool[i].retired)
            cls[s->pool[i].cls]++;
    fprintf(stderr, "live pool by class at the end:");
    for (int c = 0; c < CLS_COUNT; c++)
        fprintf(stderr, " %s %zu", class_names[c], cls[c]);
    fprintf(stderr, "\n");
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
    exit(2);
}

static void print_help(void)
{
    printf(
        "Usage: " PROG " --out-dir DIR [options]\n"
        "\n"
        "Write a deterministic synthetic Tor consensus archive: one file per\n"
        "hour and flavour, named as CollecTor names them\n"
        "(YYYY-MM-DD-HH-00-00-consensus, ...-consensus-microdesc).  The same\n"
        "arguments always give byte-identical files.\n"
        "\n"
        "Options:\n"
        "  -o, --out-dir DIR       directory to write (created if missing)\n"
        "  -d, --days N            days to generate (default 14)\n"
        "      --start TIME        first valid-after, 'YYYY-MM-DD HH:00:00' or\n"
        "                          'YYYY-MM-DD' (default 2026-01-01 00:00:00)\n"
        "  -n, --relays N          relays online per hour, about (default 7000)\n"
        "  -s, --seed S            random seed, an unsigned integer (default 1)\n"
        "      --flavor F          ns, microdesc or both (default both)\n"
        "      --missing-hours N   hours left out of the archive (default:\n"
        "                          1%% of the hours, never the first or last)\n"
        "      --param K=V         add a consensus parameter (repeatable)\n"
        "      --no-annotation     omit the CollecTor '@type' first line\n"
        "      --layout L          flat (one directory, the default) or\n"
        "                          collector: the trees of CollecTor's monthly\n"
        "                          tarballs, consensuses-YYYY-MM/DD/... and\n"
        "                          microdescs-YYYY-MM/{consensus-microdesc/DD,\n"
        "                          micro/H/H}/... with the microdescriptors\n"
        "  -z, --zstd              compress each file (zstd, '.zst' appended)\n"
        "      --stats             print what the network contains to stderr\n"
        "      --check             parse every document with libexitstage and\n"
        "                          verify relays and bandwidth-weights\n"
        "  -h, --help              show this help and exit\n"
        "\n"
        "Exit status: 0 success, 1 write or --check failure, 2 usage error.\n");
}

static uint64_t parse_uint(const char *s, uint64_t max, const char *what)
{
    uint64_t v = 0;
    if (*s == '\0')
        usage_error("%s: expected a number", what);
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            usage_error("%s: expected a number", what);
        const uint64_t d = (uint64_t)(*p - '0');
        if (v > (max - d) / 10)
            usage_error("%s: value too large", what);
        v = v * 10 + d;
    }
    return v;
}

static bool digits(const char *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return true;
}

static int64_t parse_start(const char *s)
{
    unsigned y, m, d, hh = 0, mm = 0, ss = 0;
    const size_t len = strlen(s);
    if (!(len == 10 || len == 19) || s[4] != '-' || s[7] != '-' ||
        !digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
        usage_error("--start: expected 'YYYY-MM-DD HH:00:00', got '%s'", s);
    if (len == 19 && (s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
                      !digits(s + 11, 2, &hh) || !digits(s + 14, 2, &mm) ||
                      !digits(s + 17, 2, &ss)))
        usage_error("--start: expected 'YYYY-MM-DD HH:00:00', got '%s'", s);
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
        (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
        usage_error("--start: no such date '%s'", s);
    if (hh > 23 || mm != 0 || ss != 0)
        usage_error("--start: must be on the hour, got '%s'", s);
    return days_from_civil(y, m, d) * 86400 + (int64_t)hh * 3600;
}

static bool valid_param(const char *p)
{
    const char *eq = strchr(p, '=');
    if (eq == NULL || eq == p)
        return false;
    for (const char *q = p; q < eq; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
              (*q >= '0' && *q <= '9') || *q == '_' || *q == '-'))
            return false;
    const char *v = eq + 1;
    if (*v == '-')
        v++;
    if (*v == '\0' || strlen(v) > 10)
        return false;
    uint64_t n = 0;
    for (const char *q = v; *q; q++) {
        if (*q < '0' || *q > '9')
            return false;
        n = n * 10 + (uint64_t)(*q - '0');
    }
    return n <= (eq[1] == '-' ? 2147483648u : 2147483647u);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t key_len(const char *p)
{
    return (size_t)(strchr(p, '=') - p);
}

/* Build the sorted params line from the defaults and --param values; a
 * --param with a default's key replaces it. */
static void build_params(sim *s)
{
    const char *all[N_DEFAULT_PARAMS + 256];
    size_t n = 0;
    for (size_t i = 0; i < N_DEFAULT_PARAMS; i++) {
        bool overridden = false;
        for (size_t j = 0; j < s->n_params; j++)
            if (key_len(s->params[j]) == key_len(default_params[i]) &&
                memcmp(s->params[j], default_params[i],
                       key_len(default_params[i])) == 0)
                overridden = true;
        if (!overridden)
            all[n++] = default_params[i];
    }
    for (size_t j = 0; j < s->n_params; j++) {
        for (size_t k = 0; k < j; k++)
            if (key_len(s->params[j]) == key_len(s->params[k]) &&
                memcmp(s->params[j], s->params[k], key_len(s->params[k])) ==
                    0)
                usage_error("--param: key given twice: '%s'", s->params[j]);
        all[n++] = s->params[j];
    }
    qsort(all, n, sizeof(all[0]), cmp_str);
    size_t len = 0;
    memcpy(s->params_line, "params", 6);
    len = 6;
    for (size_t i = 0; i < n; i++) {
        const size_t l = strlen(all[i]);
        if (len + l + 3 > sizeof(s->params_line))
            usage_error("%s", "--param: params line too long");
        s->params_line[len++] = ' ';
        memcpy(s->params_line + len, all[i], l);
        len += l;
    }
    s->params_line[len++] = '\n';
    s->params_len = len;
}

static void choose_missing(sim *s)
{
    s->skip_hour = calloc((size_t)s->hours, sizeof(*s->skip_hour));
    if (s->skip_hour == NULL)
        die_nomem();
    long want = s->missing >= 0 ? s->missing : s->hours / 100;
    if (want == 0)
        return;
    if (s->hours < 3 || want > s->hours - 2)
        usage_error("%s", "--missing-hours: more hours than the archive "
                          "has (the first and last are always kept)");
    rng mr;
    rng_seed(&mr, hash3(s->seed, 0x6d697373u, 0));
    while (want > 0) {
        const int32_t h = 1 + (int32_t)rng_below(&mr, (uint32_t)s->hours - 2);
        if (!s->skip_hour[h]) {
            s->skip_hour[h] = true;
            want--;
        }
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out-dir", required_argument, NULL, 'o'},
        {"days", required_argument, NULL, 'd'},
        {"start", required_argument, NULL, 'S'},
        {"relays", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"flavor", required_argument, NULL, 'f'},
        {"flavour", required_argument, NULL, 'f'},
        {"missing-hours", required_argument, NULL, 'm'},
        {"param", required_argument, NULL, 'p'},
        {"no-annotation", no_argument, NULL, 'A'},
        {"layout", required_argument, NULL, 'L'},
        {"zstd", no_argument, NULL, 'z'},
        {"stats", no_argument, NULL, 'T'},
        {"check", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static sim S;
    sim *s = &S;
    s->days = 14;
    s->start = days_from_civil(2026, 1, 1) * 86400;
    s->target = 7000;
    s->seed = 1;
    s->want_ns = s->want_md = true;
    s->annotate = true;
    s->missing = -1;
    s->params = calloc((size_t)argc + 1, sizeof(char *));
    if (s->params == NULL)
        die_nomem();

    int c;
    while ((c = getopt_long(argc, argv, "o:d:n:s:zh", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 'o':
            s->out_dir = optarg;
            break;
        case 'd':
            s->days = (int)parse_uint(optarg, MAX_DAYS, "--days");
            if (s->days < 1)
                usage_error("%s", "--days: must be at least 1");
            break;
        case 'S':
            s->start = parse_start(optarg);
            break;
        case 'n':
            s->target = (uint32_t)parse_uint(optarg, MAX_RELAYS, "--relays");
            if (s->target < 20)
                usage_error("%s", "--relays: must be at least 20");
            break;
        case 's':
            s->seed = parse_uint(optarg, UINT64_MAX, "--seed");
            break;
        case 'f':
            if (strcmp(optarg, "ns") == 0) {
                s->want_ns = true;
                s->want_md = false;
            } else if (strcmp(optarg, "microdesc") == 0) {
                s->want_ns = false;
                s->want_md = true;
            } else if (strcmp(optarg, "both") == 0) {
                s->want_ns = s->want_md = true;
            } else {
                usage_error("--flavor: expected ns, microdesc or both, "
                            "got '%s'", optarg);
            }
            break;
        case 'm':
            s->missing = (long)parse_uint(optarg, 24L * MAX_DAYS,
                                          "--missing-hours");
            break;
        case 'p':
            if (!valid_param(optarg))
                usage_error("--param: expected KEY=INT32, got '%s'", optarg);
            if (s->n_params >= 256)
                usage_error("%s", "--param: too many");
            s->params[s->n_params++] = optarg;
            break;
        case 'A':
            s->annotate = false;
            break;
        case 'L':
            if (strcmp(optarg, "collector") == 0)
                s->collector = true;
            else if (strcmp(optarg, "flat") == 0)
                s->collector = false;
            else
                usage_error("--layout: expected flat or collector, got '%s'",
                            optarg);
            break;
        case 'z':
            s->zstd = true;
            break;
        case 'T':
            s->stats = true;
            break;
        case 'C':
            s->check = true;
            break;
        case 'h':
            print_help();
            return 0;
        default:
            fprintf(stderr, "Try '" PROG " --help' for more information.\n");
            return 2;
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (s->out_dir == NULL)
        usage_error("%s", "--out-dir is required");
    if (exst_init() != EXST_OK || sodium_init() < 0) {
        fprintf(stderr, PROG ": cannot initialise libsodium\n");
        return 1;
    }
    s->hours = (int32_t)s->days * 24;
    build_params(s);
    choose_missing(s);
    for (int i = 0; i < F_COUNT; i++)
        flag_len[i] = strlen(flag_names[i]);

    if (mkdir(s->out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, PROG ": cannot create '%s': %s\n", s->out_dir,
                strerror(errno));
        return 1;
    }
    if (s->zstd && (s->cctx = ZSTD_createCCtx()) == NULL)
        die_nomem();
    s->ds = calloc((size_t)s->days, sizeof(*s->ds));
    if (s->ds == NULL)
        die_nomem();

    const clock_t c0 = clock();
    rng_seed(&s->r, s->seed);
    const int32_t h0 = -BURN_IN_HOURS;
    const int64_t t0 = s->start + (int64_t)h0 * 3600;
    make_authorities(s, t0);
    {
        double f = 0, wsum = 0;
        for (int k = 0; k <= CLS_SHORT; k++) {
            const double up = mean_hours(&up_tab[k]);
            const double down = mean_hours(&down_tab[k]);
            const double alive = (double)class_weight[k] * lifetime_h[k];
            f += alive * up / (up + down);
            wsum += alive;
        }
        const double pool = s->target / (f / wsum);
        while (s->n_pool < (size_t)pool)
            spawn(s, h0, t0, true);
    }

    int rc = 0;
    for (int32_t h = h0; h < s->hours && rc == 0; h++) {
        const int64_t t = s->start + (int64_t)h * 3600;
        step(s, h, t);
        s->entries = xrealloc(s->entries, s->n_pool * sizeof(*s->entries));
        s->bw_sorted =
            xrealloc(s->bw_sorted, s->n_pool * sizeof(*s->bw_sorted));
        const size_t n = list_hour(s, h, t);
        if (h < 0) {
            note_burn_in(s, n, h);
            continue;
        }
        note_hour(s, n, h);
        exst_bw_totals tot;
        exst_weights w;
        tally(&tot, s->entries, n);
        exst_weights_from_totals(&w, &tot, METHOD, WEIGHT_SCALE);
        if (!w.present)
            s->weights_absent++;
        if (s->skip_hour[h])
            continue;
        for (int fl = 0; fl < 2 && rc == 0; fl++) {
            if ((fl == EXST_FLAVOR_NS && !s->want_ns) ||
                (fl == EXST_FLAVOR_MICRODESC && !s->want_md))
                continue;
            char name[64];
            s->doc_len = 0;
            put_header(s, (exst_flavor)fl, t, h);
            put_entries(s, (exst_flavor)fl, n, t);
            put_footer(s, (exst_flavor)fl, &w, h);
            file_name(name, t, (exst_flavor)fl);
            if (s->check)
                rc = check_doc(s, (exst_flavor)fl, t, n, &w, name);
            if (rc == 0 && s->collector) {
                char rel[4096];
                collector_dir(rel, sizeof(rel), t, (exst_flavor)fl);
                rc = make_dirs(s, rel);
                snprintf(rel + strlen(rel), sizeof(rel) - strlen(rel),
                         "/%s", name);
                if (rc == 0)
                    rc = write_file(s, rel);
                if (rc == 0 && fl == EXST_FLAVOR_MICRODESC)
                    rc = write_micro(s, n, t);
            } else if (rc == 0) {
                rc = write_file(s, name);
            }
        }
    }
    if (s->stats && rc == 0)
        print_stats(s, (double)(clock() - c0) / CLOCKS_PER_SEC);

    ZSTD_freeCCtx(s->cctx);
    free(s->zbuf);
    free(s->doc);
    free(s->entries);
    free(s->bw_sorted);
    free(s->pool);
    free(s->order);
    free(s->skip_hour);
    free(s->ds);
    free(s->params);
    free(s->md_seen);
    return rc;
}
