/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_history.c - the staging-history database (SPEC 3.2, 3.7, 4.4): per
 * relay the start of its current run, the start of its current absence
 * and when it was last seen, updated one consensus at a time by a single
 * merge of the sorted present list with the sorted records; a compact,
 * deterministic, checksummed binary file format (layout in
 * exst_history_int.h) that is loaded without trusting a byte of it and
 * saved atomically; and a JSON dump for `exitstage db dump|show`.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "exst_file_int.h"
#include "exst_history_int.h"
#include "exst_int.h"

_Static_assert(sizeof(EXSTP_HISTORY_MAGIC) - 1 == 8, "magic is 8 bytes");
_Static_assert(EXSTP_HISTORY_RECORD_SIZE == 20 + 3 * 8, "record layout");

/* Files larger than this are refused before anything is allocated. */
#define MAX_FILE_BYTES ((size_t)1 << 30)

/* What exst_history_undo restores. */
typedef struct hist_state {
    bool grandfathered;
    int64_t observed_since;
    int64_t newest;
    unsigned newest_flavors;
    uint64_t processed;
    int64_t last_P, last_W;
    exst_record *rec; /* ascending by id */
    size_t n;
} hist_state;

struct exst_history {
    exst_clock clock;
    exst_bootstrap bootstrap;
    bool grandfathered;
    int64_t observed_since;
    int64_t newest;
    unsigned newest_flavors;
    uint64_t processed;
    int64_t last_P, last_W;
    exst_record *rec; /* ascending by id */
    size_t n;
    hist_state undo;  /* before the last observe, when has_undo */
    bool has_undo;
};

/* ---- small helpers -------------------------------------------------- */

static bool time_ok(int64_t t)
{
    return t >= EXSTP_HISTORY_TIME_MIN && t <= EXSTP_HISTORY_TIME_MAX;
}

/* "2024-05-17 16:00:00": the form tor uses in its own messages. */
static char *time_text(char buf[21], int64_t t)
{
    if (!time_ok(t)) {
        snprintf(buf, 21, "%s", t == EXST_TIME_NONE ? "(none)" : "(invalid)");
        return buf;
    }
    exst_time_iso(buf, t);
    buf[10] = ' ';
    buf[19] = '\0';
    return buf;
}

/* strerror text with a lowercase first letter, as house messages are. */
static void errno_text(char *out, size_t outsz, int errnum)
{
    snprintf(out, outsz, "%s", strerror(errnum));
    if (out[0] >= 'A' && out[0] <= 'Z')
        out[0] = (char)(out[0] - 'A' + 'a');
}

static int io_error(exst_error *err, const char *source, int errnum,
                    const char *what)
{
    char text[96];
    errno_text(text, sizeof text, errnum);
    return exstp_error_simple(err, EXST_ERR_IO, source, "%s '%.150s': %s",
                              what, source, text);
}

/* A database error naming the source: "history 'h.db' is truncated". */
static int db_error(exst_error *err, const char *source, const char *fmt,
                    ...) EXSTP_PRINTF(3, 4);

static int db_error(exst_error *err, const char *source, const char *fmt,
                    ...)
{
    char what[120];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (source != NULL)
        return exstp_error_simple(err, EXST_ERR_DB, source,
                                  "history '%.72s' %s", source, what);
    return exstp_error_simple(err, EXST_ERR_DB, NULL, "history %s", what);
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_i64(uint8_t *p, int64_t v)
{
    put_u64(p, (uint64_t)v);
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int64_t get_i64(const uint8_t *p)
{
    uint64_t u = get_u64(p);
    /* Two's complement without implementation-defined conversion. */
    if (u <= (uint64_t)INT64_MAX)
        return (int64_t)u;
    return (int64_t)(u - (uint64_t)INT64_MAX - 1) + INT64_MIN;
}

/* ---- object --------------------------------------------------------- */

int exst_history_new(exst_history **out, exst_clock clock)
{
    if (out == NULL)
        return EXST_ERR_USAGE;
    *out = NULL;
    if (clock != EXST_CLOCK_EXIT && clock != EXST_CLOCK_RELAY)
        return EXST_ERR_USAGE;
    exst_history *h = exstp_calloc(1, sizeof *h);
    if (h == NULL)
        return EXST_ERR_NOMEM;
    h->clock = clock;
    h->bootstrap = EXST_BOOTSTRAP_GRANDFATHER;
    h->observed_since = EXST_TIME_NONE;
    h->newest = EXST_TIME_NONE;
    h->last_P = h->last_W = EXST_TIME_NONE;
    *out = h;
    return EXST_OK;
}

int exst_history_set_bootstrap(exst_history *h, exst_bootstrap b)
{
    if (h == NULL ||
        (b != EXST_BOOTSTRAP_GRANDFATHER && b != EXST_BOOTSTRAP_NONE) ||
        h->newest != EXST_TIME_NONE)
        return EXST_ERR_USAGE;
    h->bootstrap = b;
    return EXST_OK;
}

static void drop_undo(exst_history *h)
{
    if (h->has_undo)
        exstp_free(h->undo.rec);
    h->has_undo = false;
}

void exst_history_free(exst_history *h)
{
    if (h == NULL)
        return;
    drop_undo(h);
    exstp_free(h->rec);
    exstp_free(h);
}

int exst_history_undo(exst_history *h)
{
    if (h == NULL || !h->has_undo)
        return EXST_ERR_USAGE;
    exstp_free(h->rec);
    const hist_state *u = &h->undo;
    h->grandfathered = u->grandfathered;
    h->observed_since = u->observed_since;
    h->newest = u->newest;
    h->newest_flavors = u->newest_flavors;
    h->processed = u->processed;
    h->last_P = u->last_P;
    h->last_W = u->last_W;
    h->rec = u->rec;
    h->n = u->n;
    h->has_undo = false;
    return EXST_OK;
}

const char *exst_phase_name(exst_phase p)
{
    switch (p) {
    case EXST_PHASE_BOOTSTRAP: return "bootstrap";
    case EXST_PHASE_RAMP: return "ramp";
    default: return "steady";
    }
}

exst_bootstrap exst_history_bootstrap(const exst_history *h)
{
    return h != NULL ? h->bootstrap : EXST_BOOTSTRAP_GRANDFATHER;
}

void exst_history_policy(const exst_history *h, int64_t *staging_s,
                         int64_t *reset_s)
{
    if (staging_s != NULL)
        *staging_s = h != NULL ? h->last_P : EXST_TIME_NONE;
    if (reset_s != NULL)
        *reset_s = h != NULL ? h->last_W : EXST_TIME_NONE;
}

exst_phase exst_history_phase(const exst_history *h, int64_t t,
                              int64_t staging_s, int64_t reset_s)
{
    int64_t o = exst_history_observed_since(h);
    if (o == EXST_TIME_NONE || o > t)
        o = t;
    const int64_t age = t - o; /* both within 0 ... year 9999 */
    if (staging_s < 0)
        staging_s = 0;
    if (reset_s < 0)
        reset_s = 0;
    if (exst_history_bootstrap(h) == EXST_BOOTSTRAP_NONE)
        return age < staging_s ? EXST_PHASE_RAMP : EXST_PHASE_STEADY;
    if (age < reset_s)
        return EXST_PHASE_BOOTSTRAP;
    return age < reset_s + staging_s ? EXST_PHASE_RAMP : EXST_PHASE_STEADY;
}

exst_clock exst_history_clock(const exst_history *h)
{
    return h != NULL ? h->clock : EXST_CLOCK_EXIT;
}

int64_t exst_history_observed_since(const exst_history *h)
{
    return h != NULL ? h->observed_since : EXST_TIME_NONE;
}

int64_t exst_history_newest(const exst_history *h)
{
    return h != NULL ? h->newest : EXST_TIME_NONE;
}

unsigned exst_history_newest_flavors(const exst_history *h)
{
    return h != NULL ? h->newest_flavors : 0;
}

int exst_history_grandfathered(const exst_history *h)
{
    return h != NULL && h->grandfathered;
}

uint64_t exst_history_processed(const exst_history *h)
{
    return h != NULL ? h->processed : 0;
}

size_t exst_history_count(const exst_history *h)
{
    return h != NULL ? h->n : 0;
}

void exst_history_record_at(const exst_history *h, size_t i, exst_record *out)
{
    if (out == NULL)
        return;
    if (h == NULL || i >= h->n) {
        memset(out->id, 0, sizeof out->id);
        out->run_start = EXST_TIME_NONE;
        out->absence_start = EXST_TIME_NONE;
        out->last_seen = EXST_TIME_NONE;
        return;
    }
    *out = h->rec[i];
}

/* Binary search; returns the index of id or the index it would go at. */
static size_t lower_bound(const exst_history *h, const uint8_t id[20])
{
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(h->rec[mid].id, id, 20) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int exst_history_find(const exst_history *h, const uint8_t id[20],
                      exst_record *out)
{
    if (h == NULL || id == NULL)
        return 0;
    size_t i = lower_bound(h, id);
    if (i >= h->n || memcmp(h->rec[i].id, id, 20) != 0)
        return 0;
    if (out != NULL)
        *out = h->rec[i];
    return 1;
}

/* ---- the rules ------------------------------------------------------ */

/* Check an observation before anything is touched. */
static int check_observation(const exst_history *h,
                             const exst_observation *obs, exst_error *err)
{
    if (h == NULL || obs == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "history observe: missing argument");
    if (!time_ok(obs->valid_after))
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "history observe: valid-after %lld is out "
                                  "of range",
                                  (long long)obs->valid_after);
    if (obs->flavor != EXST_FLAVOR_NS && obs->flavor != EXST_FLAVOR_MICRODESC)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "history observe: unknown flavour %d",
                                  (int)obs->flavor);
    if (obs->reset_after_s < 0 || obs->retention_s < 0 ||
        obs->staging_period_s < 0)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "history observe: negative reset window "
                                  "or retention");
    if (obs->n_present > 0 && obs->present == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "history observe: no present list");
    for (size_t i = 1; i < obs->n_present; i++) {
        if (memcmp(obs->present[i - 1], obs->present[i], 20) >= 0)
            return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                      "history observe: present relays are "
                                      "not in strictly ascending order at "
                                      "%zu",
                                      i);
    }
    return EXST_OK;
}

static int check_order(const exst_history *h, int64_t t, exst_error *err)
{
    if (h->newest == EXST_TIME_NONE || t >= h->newest)
        return EXST_OK;
    char a[21], b[21];
    return exstp_error_simple(err, EXST_ERR_ORDER, NULL,
                              "consensus valid-after %s is older than the "
                              "history's newest, %s",
                              time_text(a, t), time_text(b, h->newest));
}

/* SPEC 3.2/3.7 for a relay present at t that already has a record.
 * grandfather: a grandfather consensus (db init), where every relay
 * present in any of them counts as graduated. */
static uint8_t update_present(exst_record *r, int64_t t, int64_t w,
                              bool grandfather)
{
    uint8_t ev = EXST_RUN_CONTINUED;
    if (r->last_seen == t) {
        /* Already seen present at t (the other flavour, or a repeat). */
        return EXST_RUN_CONTINUED;
    }
    if (grandfather) {
        if (r->run_start != EXST_TIME_UNKNOWN)
            ev = EXST_RUN_GRANDFATHERED;
        r->run_start = EXST_TIME_UNKNOWN;
    } else if (r->run_start == EXST_TIME_NONE) {
        r->run_start = t;
        ev = EXST_RUN_NEW;
    } else if (r->absence_start != EXST_TIME_NONE &&
               r->absence_start != t && t - r->absence_start >= w) {
        /* a == t means only another document of this same hour lacked it:
         * bridged, whatever W, so the flavour order does not matter. */
        r->run_start = t;
        ev = EXST_RUN_RESTARTED;
    }
    r->absence_start = EXST_TIME_NONE;
    r->last_seen = t;
    return ev;
}

static bool prunable(const exst_record *r, int64_t t, int64_t retention)
{
    return retention > 0 && r->absence_start != EXST_TIME_NONE &&
           t - r->absence_start > retention;
}

static void note_processed(exst_history *h, int64_t t, exst_flavor flavor)
{
    if (h->observed_since == EXST_TIME_NONE)
        h->observed_since = t;
    if (h->newest == EXST_TIME_NONE || t > h->newest) {
        h->newest = t;
        h->newest_flavors = 0;
    }
    unsigned bit = 1u << (unsigned)flavor;
    /* The same document (time and flavour) again counts once: a repeated
     * run changes nothing, not even the counter. */
    if ((h->newest_flavors & bit) == 0 && h->processed < INT64_MAX)
        h->processed++; /* saturates: never wraps to "nothing processed" */
    h->newest_flavors |= bit;
}

int exst_history_observe(exst_history *h, const exst_observation *obs,
                         int64_t *run_start, uint8_t *event, exst_error *err)
{
    int rc = check_observation(h, obs, err);
    if (rc != EXST_OK)
        return rc;
    const int64_t t = obs->valid_after;
    rc = check_order(h, t, err);
    if (rc != EXST_OK)
        return rc;

    /* SPEC 3.7: a relay first seen before o + W (W of this consensus)
     * may have run, briefly absent, before the history began. */
    const int64_t o =
        h->observed_since != EXST_TIME_NONE ? h->observed_since : t;
    const bool window = h->bootstrap == EXST_BOOTSTRAP_GRANDFATHER &&
                        t - o < obs->reset_after_s;
    const bool gf = obs->grandfather != 0;

    /* The merged array is built aside so that a failed allocation leaves
     * the history untouched; nothing below can fail. */
    size_t cap = h->n + obs->n_present;
    if (cap < h->n || cap > SIZE_MAX / sizeof(exst_record))
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                  "history: too many records");
    exst_record *next = NULL;
    if (cap > 0) {
        next = exstp_malloc(cap * sizeof *next);
        if (next == NULL)
            return exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                      "history: out of memory");
    }

    size_t i = 0, j = 0, k = 0;
    while (i < h->n || j < obs->n_present) {
        int c;
        if (i == h->n)
            c = 1;
        else if (j == obs->n_present)
            c = -1;
        else
            c = memcmp(h->rec[i].id, obs->present[j], 20);
        exst_record r;
        if (c < 0) {
            /* A record not in this document. */
            r = h->rec[i++];
            if (r.absence_start == EXST_TIME_NONE && r.last_seen != t)
                r.absence_start = t;
        } else {
            uint8_t ev;
            if (c == 0) {
                r = h->rec[i++];
                ev = update_present(&r, t, obs->reset_after_s, gf);
            } else {
                memcpy(r.id, obs->present[j], 20);
                r.absence_start = EXST_TIME_NONE;
                r.last_seen = t;
                if (gf || window) {
                    r.run_start = EXST_TIME_UNKNOWN;
                    ev = EXST_RUN_GRANDFATHERED;
                } else {
                    r.run_start = t;
                    ev = EXST_RUN_NEW;
                }
            }
            if (run_start != NULL)
                run_start[j] = r.run_start;
            if (event != NULL)
                event[j] = ev;
            j++;
        }
        if (!prunable(&r, t, obs->retention_s))
            next[k++] = r;
    }

    drop_undo(h);
    h->undo = (hist_state){
        .grandfathered = h->grandfathered,
        .observed_since = h->observed_since,
        .newest = h->newest,
        .newest_flavors = h->newest_flavors,
        .processed = h->processed,
        .last_P = h->last_P,
        .last_W = h->last_W,
        .rec = h->rec,
        .n = h->n,
    };
    h->has_undo = true;
    h->rec = next;
    h->n = k;
    if (gf)
        h->grandfathered = true;
    h->last_P = obs->staging_period_s;
    h->last_W = obs->reset_after_s;
    note_processed(h, t, obs->flavor);
    return EXST_OK;
}

/* ---- serialisation -------------------------------------------------- */

int exst_history_serialize(void **out, size_t *len, const exst_history *h,
                           exst_error *err)
{
    if (out == NULL || len == NULL || h == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "history serialize: missing argument");
    *out = NULL;
    *len = 0;
    const size_t fixed =
        EXSTP_HISTORY_HEADER_SIZE + EXSTP_HISTORY_CHECKSUM_SIZE;
    if (h->n > (SIZE_MAX - fixed) / EXSTP_HISTORY_RECORD_SIZE)
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                  "history: too many records");
    const size_t total = fixed + h->n * EXSTP_HISTORY_RECORD_SIZE;
    uint8_t *b = exstp_malloc(total);
    if (b == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                  "history: out of memory");

    /* Every byte is written explicitly: no struct images, no padding. */
    memcpy(b, EXSTP_HISTORY_MAGIC, 8);
    put_u32(b + 8, EXSTP_HISTORY_VERSION);
    b[12] = (uint8_t)h->clock;
    b[13] = (uint8_t)((h->grandfathered ? EXSTP_HISTORY_FLAG_GRANDFATHERED
                                        : 0) |
                      (h->bootstrap == EXST_BOOTSTRAP_NONE
                           ? EXSTP_HISTORY_FLAG_BOOTSTRAP_NONE
                           : 0));
    put_u16(b + 14, 0);
    put_i64(b + 16, h->observed_since);
    put_i64(b + 24, h->newest);
    put_u64(b + 32, h->processed);
    put_u64(b + 40, (uint64_t)h->n);
    put_u32(b + 48, h->newest_flavors);
    put_u32(b + 52, EXSTP_HISTORY_RECORD_SIZE);
    put_i64(b + 56, h->last_P);
    put_i64(b + 64, h->last_W);
    uint8_t *p = b + EXSTP_HISTORY_HEADER_SIZE;
    for (size_t i = 0; i < h->n; i++, p += EXSTP_HISTORY_RECORD_SIZE) {
        const exst_record *r = &h->rec[i];
        memcpy(p, r->id, 20);
        put_i64(p + 20, r->run_start);
        put_i64(p + 28, r->absence_start);
        put_i64(p + 36, r->last_seen);
    }
    crypto_generichash(p, EXSTP_HISTORY_CHECKSUM_SIZE, b, total - 32, NULL, 0);
    *out = b;
    *len = total;
    return EXST_OK;
}

/* Value checks on one decoded record against the decoded header. */
static const char *record_problem(const exst_history *h, const exst_record *r)
{
    if (!time_ok(r->last_seen) || r->last_seen > h->newest ||
        r->last_seen < h->observed_since)
        return "last-seen time out of range";
    if (r->run_start == EXST_TIME_UNKNOWN) {
        if (!h->grandfathered && h->bootstrap != EXST_BOOTSTRAP_GRANDFATHER)
            return "unknown run start in a history not grandfathered";
    } else if (!time_ok(r->run_start) || r->run_start > r->last_seen ||
               r->run_start < h->observed_since) {
        return "run start out of range";
    }
    if (r->absence_start != EXST_TIME_NONE &&
        (!time_ok(r->absence_start) || r->absence_start <= r->last_seen ||
         r->absence_start > h->newest))
        return "absence start out of range";
    return NULL;
}

int exst_history_deserialize(exst_history **out, const void *buf, size_t len,
                             const char *source, exst_error *err)
{
    if (out == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, source,
                                  "history deserialize: missing argument");
    *out = NULL;
    if (buf == NULL && len > 0)
        return exstp_error_simple(err, EXST_ERR_USAGE, source,
                                  "history deserialize: missing buffer");
    const uint8_t *b = buf;
    size_t fixed = EXSTP_HISTORY_HEADER_SIZE + EXSTP_HISTORY_CHECKSUM_SIZE;

    if (len == 0)
        return db_error(err, source, "is empty");
    if (len < 8) {
        if (memcmp(b, EXSTP_HISTORY_MAGIC, len) == 0)
            return db_error(err, source, "is truncated (%zu byte%s)", len,
                            len == 1 ? "" : "s");
        return db_error(err, source, "is not an exitstage history "
                                     "(bad magic)");
    }
    if (memcmp(b, EXSTP_HISTORY_MAGIC, 8) != 0)
        return db_error(err, source, "is not an exitstage history "
                                     "(bad magic)");
    if (len < 12)
        return db_error(err, source, "is truncated (%zu bytes)", len);
    const uint32_t version = get_u32(b + 8);
    if (version != 1 && version != EXSTP_HISTORY_VERSION)
        return db_error(err, source,
                        "has format version %lu; this build reads "
                        "versions 1 to %u",
                        (unsigned long)version, EXSTP_HISTORY_VERSION);
    /* Version 1 (0.1): no policy fields, no bootstrap flag. */
    const size_t header = version == 1 ? EXSTP_HISTORY_V1_HEADER_SIZE
                                       : EXSTP_HISTORY_HEADER_SIZE;
    fixed = header + EXSTP_HISTORY_CHECKSUM_SIZE;
    if (len < fixed)
        return db_error(err, source, "is truncated (%zu bytes)", len);
    const uint64_t count = get_u64(b + 40);
    const size_t room = (len - fixed) / EXSTP_HISTORY_RECORD_SIZE;
    if (count > room)
        return db_error(err, source,
                        "is truncated (%zu bytes for %llu record%s)", len,
                        (unsigned long long)count, count == 1 ? "" : "s");
    const size_t expect = fixed + (size_t)count * EXSTP_HISTORY_RECORD_SIZE;
    if (len != expect)
        return db_error(err, source,
                        "is corrupt: %zu byte%s after the checksum",
                        len - expect, len - expect == 1 ? "" : "s");

    uint8_t sum[EXSTP_HISTORY_CHECKSUM_SIZE];
    crypto_generichash(sum, sizeof sum, b, len - sizeof sum, NULL, 0);
    if (sodium_memcmp(sum, b + len - sizeof sum, sizeof sum) != 0)
        return db_error(err, source, "is corrupt: checksum mismatch");

    /* The checksum only proves the bytes are as written; the values are
     * still checked, since anyone can compute a checksum. */
    exst_history tmp = {0};
    const uint8_t clock = b[12], flags = b[13];
    if (clock > EXST_CLOCK_RELAY)
        return db_error(err, source, "is corrupt: unknown clock %u",
                        (unsigned)clock);
    const unsigned known =
        version == 1 ? EXSTP_HISTORY_FLAG_GRANDFATHERED
                     : EXSTP_HISTORY_FLAG_GRANDFATHERED |
                           EXSTP_HISTORY_FLAG_BOOTSTRAP_NONE;
    if ((flags & ~known) != 0 || get_u16(b + 14) != 0)
        return db_error(err, source, "is corrupt: unknown flags");
    tmp.clock = (exst_clock)clock;
    tmp.grandfathered = (flags & EXSTP_HISTORY_FLAG_GRANDFATHERED) != 0;
    tmp.bootstrap = (flags & EXSTP_HISTORY_FLAG_BOOTSTRAP_NONE)
                        ? EXST_BOOTSTRAP_NONE
                        : EXST_BOOTSTRAP_GRANDFATHER;
    tmp.last_P = tmp.last_W = EXST_TIME_NONE;
    if (version >= 2) {
        tmp.last_P = get_i64(b + 56);
        tmp.last_W = get_i64(b + 64);
    }
    tmp.observed_since = get_i64(b + 16);
    tmp.newest = get_i64(b + 24);
    tmp.processed = get_u64(b + 32);
    tmp.newest_flavors = get_u32(b + 48);
    if (get_u32(b + 52) != EXSTP_HISTORY_RECORD_SIZE)
        return db_error(err, source, "is corrupt: record size %lu",
                        (unsigned long)get_u32(b + 52));
    for (int k = 0; k < 2; k++) {
        const int64_t v = k == 0 ? tmp.last_P : tmp.last_W;
        if (v != EXST_TIME_NONE &&
            (v < 0 || v > EXST_MAX_DURATION || tmp.newest == EXST_TIME_NONE))
            return db_error(err, source, "is corrupt: %s out of range",
                            k == 0 ? "staging period" : "reset window");
    }
    if (tmp.newest == EXST_TIME_NONE) {
        if (tmp.observed_since != EXST_TIME_NONE || tmp.processed != 0 ||
            tmp.newest_flavors != 0 || count != 0 || tmp.grandfathered)
            return db_error(err, source, "is corrupt: inconsistent header "
                                         "of an empty history");
    } else if (!time_ok(tmp.newest) || !time_ok(tmp.observed_since) ||
               tmp.observed_since > tmp.newest || tmp.processed == 0 ||
               tmp.processed > (uint64_t)INT64_MAX ||
               tmp.newest_flavors == 0 || (tmp.newest_flavors & ~3u) != 0) {
        return db_error(err, source, "is corrupt: inconsistent header");
    }

    exst_history *h = exstp_calloc(1, sizeof *h);
    if (h == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                  "history: out of memory");
    *h = tmp;
    if (count > 0) {
        h->rec = exstp_malloc((size_t)count * sizeof *h->rec);
        if (h->rec == NULL) {
            exst_history_free(h);
            return exstp_error_simple(err, EXST_ERR_NOMEM, source,
                                      "history: out of memory");
        }
    }
    const uint8_t *p = b + header;
    for (size_t i = 0; i < count; i++, p += EXSTP_HISTORY_RECORD_SIZE) {
        exst_record *r = &h->rec[i];
        memcpy(r->id, p, 20);
        r->run_start = get_i64(p + 20);
        r->absence_start = get_i64(p + 28);
        r->last_seen = get_i64(p + 36);
        const char *problem = record_problem(h, r);
        if (problem == NULL && i > 0 && memcmp(r[-1].id, r->id, 20) >= 0)
            problem = "records out of order";
        if (problem != NULL) {
            exst_history_free(h);
            return db_error(err, source, "is corrupt: record %zu: %s", i,
                            problem);
        }
        h->n = i + 1;
    }
    *out = h;
    return EXST_OK;
}

/* ---- files ---------------------------------------------------------- */

int exst_history_load(exst_history **out, const char *path, exst_error *err)
{
    if (out == NULL || path == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, path,
                                  "history load: missing argument");
    *out = NULL;
    /* O_NONBLOCK: a FIFO in its place must not hang the open; it is
     * refused below like anything that is not a regular file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return io_error(err, path, errno, "cannot open history");
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return io_error(err, path, e, "cannot read history");
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "history '%.150s' is a directory", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "history '%.150s' is not a regular file",
                                  path);
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > MAX_FILE_BYTES) {
        close(fd);
        return db_error(err, path, "is too large (%lld bytes)",
                        (long long)st.st_size);
    }
    size_t cap = (size_t)st.st_size, len = 0;
    uint8_t *buf = exstp_malloc(cap);
    if (buf == NULL) {
        close(fd);
        return exstp_error_simple(err, EXST_ERR_NOMEM, path,
                                  "history: out of memory");
    }
    while (len < cap) {
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            exstp_free(buf);
            close(fd);
            return io_error(err, path, e, "cannot read history");
        }
        if (got == 0)
            break; /* shrank under us: the checks below say truncated */
        len += (size_t)got;
    }
    close(fd);
    int rc = exst_history_deserialize(out, buf, len, path, err);
    exstp_free(buf);
    return rc;
}

void exstp_history_fail_write_after(long nbytes)
{
    exstp_file_fail_write_after(nbytes);
}

int exst_history_save(const exst_history *h, const char *path,
                      exst_error *err)
{
    if (h == NULL || path == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, path,
                                  "history save: missing argument");
    void *bytes = NULL;
    size_t len = 0;
    int rc = exst_history_serialize(&bytes, &len, h, err);
    if (rc != EXST_OK)
        return rc;
    exstp_out o;
    rc = exstp_out_open(&o, path, EXSTP_OUT_PRIVATE | EXSTP_OUT_KEEP_PREV,
                        err);
    if (rc == EXST_OK && o.in_place) {
        exstp_out_abort(&o);
        rc = exstp_error_simple(err, EXST_ERR_IO, path,
                                "history '%.150s' is not a regular file",
                                path);
    } else if (rc == EXST_OK) {
        rc = exstp_out_write(&o, bytes, len, err);
        if (rc == EXST_OK)
            rc = exstp_out_sync(&o, err);
        if (rc == EXST_OK)
            rc = exstp_out_rename(&o, err);
        else
            exstp_out_abort(&o);
    }
    const char *q = err != NULL ? strchr(err->message, '\'') : NULL;
    if (rc == EXST_ERR_IO && q != NULL &&
        strncmp(err->message, "cannot ", 7) == 0) {
        /* "cannot write history 'h.db': ..." names what failed. */
        char m[sizeof err->message];
        snprintf(m, sizeof m, "%s", err->message);
        snprintf(err->message, sizeof err->message, "%.*shistory %s",
                 (int)(q - err->message), m, m + (q - err->message));
    }
    exstp_free(bytes);
    return rc;
}

/* ---- JSON ----------------------------------------------------------- */

static json_t *time_json(int64_t t)
{
    if (!time_ok(t))
        return json_null();
    char buf[21];
    return json_string(exst_time_iso(buf, t));
}

/* Set key to v (stolen); false if v or the insertion failed. */
static bool put(json_t *obj, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(obj, key, v) == 0;
}

static json_t *record_json(const uint8_t id[20], const exst_record *r,
                           int found)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    char hex[41];
    bool ok = put(o, "fingerprint", json_string(exst_fingerprint_hex(hex, id)));
    if (found >= 0)
        ok = ok && put(o, "found", json_boolean(found));
    if (r != NULL) {
        ok = ok && put(o, "run_start", time_json(r->run_start)) &&
             put(o, "absence_start", time_json(r->absence_start)) &&
             put(o, "last_seen", time_json(r->last_seen));
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int exst_history_dump_json(char **out, const exst_history *h,
                           const uint8_t (*ids)[20], size_t n_ids,
                           exst_error *err)
{
    if (out == NULL || h == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "history dump: missing argument");
    *out = NULL;
    json_t *root = json_object();
    json_t *relays = json_array();
    bool ok = root != NULL && relays != NULL;
    ok = ok && put(root, "schema_version", json_integer(1)) &&
         put(root, "clock", json_string(h->clock == EXST_CLOCK_RELAY
                                            ? "relay"
                                            : "exit")) &&
         put(root, "observed_since", time_json(h->observed_since)) &&
         put(root, "newest", time_json(h->newest)) &&
         put(root, "grandfathered", json_boolean(h->grandfathered)) &&
         put(root, "processed", json_integer((json_int_t)h->processed));
    if (ids == NULL) {
        for (size_t i = 0; ok && i < h->n; i++)
            ok = json_array_append_new(
                     relays, record_json(h->rec[i].id, &h->rec[i], -1)) == 0;
    } else {
        /* In the order asked for, as `db show A B` lists them. */
        for (size_t i = 0; ok && i < n_ids; i++) {
            exst_record r;
            const int found = exst_history_find(h, ids[i], &r);
            ok = json_array_append_new(
                     relays, record_json(ids[i], found ? &r : NULL,
                                         found)) == 0;
        }
    }
    if (ok) {
        ok = json_object_set_new(root, "relays", relays) == 0;
        relays = NULL;
    }
    /* Dumped into our own allocation: the caller frees with exst_free,
     * whatever allocator jansson was given. */
    const size_t flags = JSON_INDENT(2) | JSON_SORT_KEYS;
    const size_t n = ok ? json_dumpb(root, NULL, 0, flags) : 0;
    char *s = n > 0 ? exstp_malloc(n + 2) : NULL;
    if (s != NULL && json_dumpb(root, s, n, flags) != n) {
        exstp_free(s);
        s = NULL;
    }
    json_decref(relays);
    json_decref(root);
    if (s == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                  "history dump: out of memory");
    s[n] = '\n';
    s[n + 1] = '\0';
    *out = s;
    return EXST_OK;
}
