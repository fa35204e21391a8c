/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_replay.c - the ordered replay engine (SPEC 2.2, 4.3, 4.4, 7, 9):
 * inputs sorted by the valid-after of their first consensus, documents
 * staged strictly in order in every lane, outputs written, the history
 * committed only up to the last document whose outputs were all written.
 *
 * Reading.  Each input is read by one owner from start to end: a reader
 * thread, or the staging thread itself.  Decompression of later inputs
 * runs ahead on reader threads; what they produce waits in a per-input
 * queue in memory (at most read_ahead bytes in all) or, past that, in a
 * spool file (zstd level 1, unlinked, one per input) so that memory stays
 * a small multiple of the largest document however long the inputs are.
 * While the staging thread has nothing to stage it helps: it takes the
 * next input nobody reads yet and spools it.  Documents reach staging in
 * the same order, with the same errors, whatever the number of threads.
 *
 * Lanes.  Every staging period with every reset window; run starts depend
 * only on W (and the clock), so each distinct W has one history, observed
 * once per document, and each lane evaluates its P on it.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <zstd.h>

#include "exst_analysis_int.h"
#include "exst_archive_int.h"
#include "exst_consensus_int.h"
#include "exst_file_int.h"
#include "exst_idmap_int.h"
#include "exst_int.h"
#include "exst_json_int.h"
#include "exst_stage_int.h"
#include "exst_trust_int.h"

#define DEFAULT_CHECKPOINT 168
#define MIN_READ_AHEAD ((size_t)32 << 20)
#define READ_AHEAD_DOCS 2 /* default budget: this many of the largest */
#define PEEK_BYTES (64u << 10)
#define MAX_BAD_LISTED 20
#define MAX_LANES 256
#define TL_CAP ((size_t)1 << 16)

/* ---- inputs ---------------------------------------------------------- */

typedef struct source {
    char *path;
    bool named;      /* named on the command line (not found in a dir) */
    bool stream;     /* not a regular file: never peeked, read once */
    bool skip;       /* unreadable at the peek, listed (keep_going) */
    int64_t first;   /* valid-after of its first consensus */
    int flavor;
    size_t order;
    uint64_t size;
} source;

enum { IT_DOC, IT_END, IT_ERR };

/* One thing an input yields: a document (in memory or spooled), its end,
 * or an error. */
typedef struct item {
    struct item *next;
    int kind;
    char *name;
    char *data;          /* in memory (owned, NUL-ended), or NULL */
    size_t len;
    uint64_t spool_off;  /* spooled: offset and compressed length */
    size_t spool_clen;
    exst_doc_kind dkind;
    char type[48];
    bool tar;            /* from a tar archive */
    uint64_t bytes_in;
    int status;          /* IT_ERR */
    exst_error err;
} item;

enum { OWN_NONE = 0, OWN_CONSUMER = 1, OWN_READER = 2 };

typedef struct srcrun {
    int owner;
    item *head, *tail;
    size_t mem;          /* bytes of documents queued in memory */
    bool finished;       /* the owner queued its END or ERR */
    int spool_fd;        /* -1 until needed */
    uint64_t spool_end;
    /* The staging thread's own reading of this input, when it owns it. */
    int fd;
    exst_archive *a;
    bool eof;
    item last;           /* the document just read directly (borrowed) */
} srcrun;

/* ---- lanes and histories --------------------------------------------- */

typedef struct group {
    int64_t W;           /* EXST_TIME_NONE: the consensus's */
    exst_history *h;
    exst_stage_opts opts; /* for observe: W set or not */
    exstp_obs ob;
    bool observed;
} group;

typedef struct lane {
    int64_t P, W;
    size_t group;
    exst_stage_opts opts;
    exst_stage_result *res;
} lane;

typedef struct trace_state {
    uint8_t id[20];
    bool seen, badexit_seen;
    int64_t staged_run, graduated_run;
    exst_record pre;
    bool had_pre;
} trace_state;

struct exst_replay {
    exst_replay_opts o;
    /* lanes */
    group *groups;
    size_t n_groups;
    lane *lanes;
    size_t n_lanes;
    bool persist;        /* a history file */
    char *db;
    /* inputs */
    source *src;
    size_t n_src;
    srcrun *run;
    uint64_t bytes_total;
    /* threads */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool sync_init;
    pthread_t *th;
    size_t n_th;
    size_t readers_live; /* reader threads not yet returned */
    size_t cur;          /* the input being staged */
    size_t next_free;    /* inputs below this have an owner */
    size_t mem;          /* queued document bytes in memory */
    size_t inflight;     /* reserved by readers decoding a document */
    size_t max_doc;      /* largest document seen */
    bool stop;
    size_t helper;       /* input the staging thread spools, or SIZE_MAX */
    bool helping;        /* the staging thread is reading helper now */
    ZSTD_CCtx *zc;       /* the staging thread's spool compressor */
    char *zbuf;          /* its scratch buffers */
    size_t zcap;
    char *dbuf;
    size_t dcap;
    /* staging */
    int64_t prev_t;      /* newest valid-after met */
    int64_t src_prev;    /* newest within the current input */
    unsigned resume_flavors;
    unsigned since_commit;
    exst_replay_stats st;
    char *bad[MAX_BAD_LISTED];
    size_t n_bad;
    /* outputs */
    int tl_fd;
    bool tl_own;
    char *tl_buf;
    size_t tl_len, tl_cap;
    bool tl_csv_header;
    int tr_fd;
    bool tr_own;
    trace_state *tr;
    size_t n_tr;
    char **tr_nick;      /* nickname selectors */
    size_t n_tr_nick;
    exstp_analysis *an;
    uint8_t *steady;     /* per lane, this document */
    uint8_t *strip_row;  /* per lane, one relay */
    int64_t last_progress_t;
    int64_t last_counted;
};

static int nomem(exst_error *err)
{
    return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
}

static void say(const exst_replay *r, exst_replay_msg_fn fn, const char *fmt,
                ...) EXSTP_PRINTF(3, 4);

static void say(const exst_replay *r, exst_replay_msg_fn fn, const char *fmt,
                ...)
{
    if (fn == NULL)
        return;
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(r->o.ud, buf);
}

static bool interrupted(const exst_replay *r)
{
    return r->o.interrupt != NULL &&
           __atomic_load_n(r->o.interrupt, __ATOMIC_RELAXED) != 0;
}

static void note_bad(exst_replay *r, const char *name, const exst_error *e)
{
    if (r->n_bad < MAX_BAD_LISTED) {
        char buf[600];
        if (e->line > 0)
            snprintf(buf, sizeof buf, "%s:%lu:%lu: %s", name, e->line,
                     e->column, e->message);
        else
            snprintf(buf, sizeof buf, "%s: %s", name, e->message);
        r->bad[r->n_bad] = exstp_strndup(buf, strlen(buf));
        if (r->bad[r->n_bad] != NULL)
            r->n_bad++;
    }
    r->st.bad++;
}

/* ---- setup ----------------------------------------------------------- */

static bool has_value(const int64_t *v, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static int add_lanes(exst_replay *r, exst_error *err)
{
    int64_t Ps[MAX_LANES], Ws[MAX_LANES];
    size_t nP = 0, nW = 0;
    const exst_replay_opts *o = &r->o;
    if (o->n_periods > MAX_LANES || o->n_resets > MAX_LANES)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "at most %d values per list", MAX_LANES);
    for (size_t i = 0; i < o->n_periods; i++)
        if (!has_value(Ps, nP, o->periods[i]))
            Ps[nP++] = o->periods[i];
    for (size_t i = 0; i < o->n_resets; i++)
        if (!has_value(Ws, nW, o->resets[i]))
            Ws[nW++] = o->resets[i];
    if (nP == 0)
        Ps[nP++] = EXST_TIME_NONE;
    if (nW == 0)
        Ws[nW++] = EXST_TIME_NONE;
    if (nP * nW > MAX_LANES)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "%zu lanes: at most %d", nP * nW,
                                  MAX_LANES);
    r->groups = exstp_calloc(nW, sizeof *r->groups);
    r->lanes = exstp_calloc(nP * nW, sizeof *r->lanes);
    if (r->groups == NULL || r->lanes == NULL)
        return nomem(err);
    for (size_t g = 0; g < nW; g++) {
        group *gr = &r->groups[g];
        gr->W = Ws[g];
        gr->opts = o->stage;
        gr->opts.produce = 0;
        gr->opts.staging_period_set = 0;
        gr->opts.reset_after_set = Ws[g] != EXST_TIME_NONE;
        gr->opts.reset_after_s = Ws[g] != EXST_TIME_NONE ? Ws[g] : 0;
    }
    r->n_groups = nW;
    for (size_t p = 0; p < nP; p++) {
        for (size_t g = 0; g < nW; g++) {
            lane *l = &r->lanes[r->n_lanes++];
            l->P = Ps[p];
            l->W = Ws[g];
            l->group = g;
            l->opts = r->groups[g].opts;
            l->opts.staging_period_set = Ps[p] != EXST_TIME_NONE;
            l->opts.staging_period_s = Ps[p] != EXST_TIME_NONE ? Ps[p] : 0;
        }
    }
    /* The primary lane writes the per-document outputs. */
    lane *pl = &r->lanes[0];
    pl->opts.produce = (o->out_dir ? EXST_STAGE_OUTPUT : 0u) |
                       (o->reports_dir ? EXST_STAGE_REPORT : 0u);
    for (size_t i = 0; i < r->n_lanes; i++) {
        if (o->timeline_path != NULL && !o->timeline_csv)
            r->lanes[i].opts.produce |= EXST_STAGE_TIMELINE;
        if (o->digests && o->timeline_path != NULL)
            r->lanes[i].opts.produce |= EXST_STAGE_DIGESTS;
    }
    if (o->timeline_path != NULL && !o->timeline_csv)
        pl->opts.produce |= EXST_STAGE_HELD;
    return EXST_OK;
}

static int open_histories(exst_replay *r, exst_error *err)
{
    const exst_replay_opts *o = &r->o;
    if (o->db_path != NULL && r->n_groups > 1)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "--db keeps one history, so every lane "
                                  "must share one reset window; replay "
                                  "several reset windows without --db");
    for (size_t g = 0; g < r->n_groups; g++) {
        exst_history *h = NULL;
        int rc = EXST_OK;
        bool created = true;
        if (o->db_path != NULL) {
            r->persist = true;
            rc = exst_history_load(&h, o->db_path, err);
            if (rc == EXST_ERR_IO && strstr(err->message, "no such file")) {
                rc = EXST_OK;
                exst_error_clear(err);
            } else {
                created = false;
            }
            if (rc != EXST_OK)
                return rc;
        }
        if (h == NULL) {
            if (exst_history_new(&h, o->clock_set ? o->clock
                                                  : EXST_CLOCK_EXIT) !=
                    EXST_OK ||
                exst_history_set_bootstrap(h, o->bootstrap) != EXST_OK) {
                exst_history_free(h);
                return nomem(err);
            }
        }
        r->groups[g].h = h;
        r->st.history_created = created;
        exst_clock hc = exst_history_clock(h);
        if (o->clock_set && o->clock != hc) {
            return exstp_error_simple(
                err, EXST_ERR_USAGE, NULL,
                "history '%.150s' uses --clock %s; it cannot be run with "
                "--clock %s", o->db_path,
                hc == EXST_CLOCK_RELAY ? "relay" : "exit",
                o->clock == EXST_CLOCK_RELAY ? "relay" : "exit");
        }
        exst_bootstrap hb = exst_history_bootstrap(h);
        if (o->bootstrap_set && o->bootstrap != hb)
            return exstp_error_simple(
                err, EXST_ERR_USAGE, NULL,
                "history '%.150s' uses --bootstrap %s; it cannot be run "
                "with --bootstrap %s", o->db_path,
                hb == EXST_BOOTSTRAP_NONE ? "none" : "grandfather",
                o->bootstrap == EXST_BOOTSTRAP_NONE ? "none"
                                                    : "grandfather");
    }
    exst_history *h0 = r->groups[0].h;
    r->st.resume_point = exst_history_newest(h0);
    r->resume_flavors = exst_history_newest_flavors(h0);
    return EXST_OK;
}

/* ---- the watch list -------------------------------------------------- */

static int watch_error(exst_error *err, const char *path, unsigned long line,
                       unsigned long col, const char *fmt, ...)
    EXSTP_PRINTF(5, 6);

static int watch_error(exst_error *err, const char *path, unsigned long line,
                       unsigned long col, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return exstp_error_set(err, EXST_ERR_USAGE, path, line, col, 0, NULL,
                           "%s", msg);
}

/* "FINGERPRINT [TIME]" per line, '#' starts a comment (SPEC 9). */
static int read_watchlist(exst_replay *r, exst_error *err)
{
    const char *path = r->o.watchlist_path;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        char t[96];
        snprintf(t, sizeof t, "%s", strerror(errno));
        if (t[0] >= 'A' && t[0] <= 'Z')
            t[0] = (char)(t[0] - 'A' + 'a');
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "cannot open watch list '%.150s': %s",
                                  path, t);
    }
    char line[512];
    unsigned long ln = 0;
    int rc = EXST_OK;
    while (rc == EXST_OK && fgets(line, sizeof line, f) != NULL) {
        ln++;
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        else if (!feof(f)) {
            rc = watch_error(err, path, ln, 1, "line longer than %zu bytes",
                             sizeof line - 2);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            continue;
        char *fp = p;
        if (*fp == '$')
            fp++;
        char *e = fp;
        while (*e != '\0' && *e != ' ' && *e != '\t')
            e++;
        char saved = *e;
        *e = '\0';
        uint8_t id[20];
        if (exst_fingerprint_parse(id, fp) != EXST_OK) {
            char q[48];
            exstp_escape(q, sizeof q, fp, strlen(fp));
            rc = watch_error(err, path, ln, (unsigned long)(fp - line) + 1,
                             "expected a fingerprint (40 hex digits), found "
                             "'%s'", q);
            break;
        }
        *e = saved;
        char *tp = e;
        while (*tp == ' ' || *tp == '\t')
            tp++;
        char *te = tp + strlen(tp);
        while (te > tp && (te[-1] == ' ' || te[-1] == '\t'))
            *--te = '\0';
        int64_t caught = EXST_TIME_NONE;
        if (*tp != '\0') {
            exst_error terr;
            exst_error_clear(&terr);
            if (exst_time_parse(&caught, tp, &terr) != EXST_OK) {
                rc = watch_error(err, path, ln,
                                 (unsigned long)(tp - line) + 1, "%s",
                                 terr.message);
                break;
            }
        }
        rc = exstp_analysis_watch(r->an, id, caught, "watchlist", err);
    }
    if (rc == EXST_OK && ferror(f))
        rc = exstp_error_simple(err, EXST_ERR_IO, path,
                                "cannot read watch list '%.150s'", path);
    fclose(f);
    return rc;
}

/* ---- timeline -------------------------------------------------------- */

/* Read a record's valid-after and flavour: NDJSON records by their keys,
 * CSV rows by their first two columns.  false when it is not a record. */
static bool record_key(const char *p, size_t n, bool csv, int64_t *t,
                       int *flavor)
{
    char va[21];
    if (csv) {
        /* valid_after,flavor,... */
        if (n < 22 || p[20] != ',')
            return false;
        memcpy(va, p, 20);
        va[20] = '\0';
        const char *f = p + 21;
        size_t fl = n - 21;
        if (fl >= 3 && memcmp(f, "ns,", 3) == 0)
            *flavor = 0;
        else if (fl >= 10 && memcmp(f, "microdesc,", 10) == 0)
            *flavor = 1;
        else
            return false;
    } else {
        json_error_t je;
        json_t *o = json_loadb(p, n, 0, &je);
        const char *v = json_string_value(json_object_get(o, "valid_after"));
        const char *f = json_string_value(json_object_get(o, "flavor"));
        if (v == NULL || f == NULL || strlen(v) != 20) {
            json_decref(o);
            return false;
        }
        memcpy(va, v, 21);
        *flavor = strcmp(f, "ns") == 0 ? 0 : 1;
        json_decref(o);
    }
    va[19] = '\0'; /* drop the Z */
    va[10] = ' ';
    exst_error e;
    return exst_time_parse(t, va, &e) == EXST_OK;
}

/* A resumed replay appends to its timeline: cut it after the last record
 * the history holds (interrupt + resume gives the bytes of a clean run). */
static int cut_timeline(exst_replay *r, int fd, exst_error *err)
{
    const int64_t newest = r->st.resume_point;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return EXST_OK;
    if (newest == EXST_TIME_NONE || r->st.history_created) {
        if (ftruncate(fd, 0) != 0)
            goto io;
        return EXST_OK;
    }
    size_t len = (size_t)st.st_size;
    char *buf = exstp_malloc(len + 1);
    if (buf == NULL)
        return nomem(err);
    size_t got = 0;
    while (got < len) {
        ssize_t k = pread(fd, buf + got, len - got, (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    size_t keep = 0, p = 0;
    bool header = r->o.timeline_csv;
    while (p < got) {
        const char *nl = memchr(buf + p, '\n', got - p);
        if (nl == NULL)
            break; /* a half-written last line */
        size_t n = (size_t)(nl - (buf + p));
        int64_t t;
        int fl;
        if (header) {
            header = false; /* the CSV header line */
            keep = p + n + 1;
        } else if (record_key(buf + p, n, r->o.timeline_csv, &t, &fl) &&
                   (t < newest ||
                    (t == newest && (r->resume_flavors & (1u << fl))))) {
            keep = p + n + 1;
        } else {
            break;
        }
        p += n + 1;
    }
    exstp_free(buf);
    r->tl_csv_header = keep > 0;
    if (ftruncate(fd, (off_t)keep) != 0)
        goto io;
    return EXST_OK;
io:;
    char t[96];
    snprintf(t, sizeof t, "%s", strerror(errno));
    return exstp_error_simple(err, EXST_ERR_IO, r->o.timeline_path,
                              "cannot cut timeline '%.150s': %s",
                              r->o.timeline_path, t);
}

/* Open an append-only output (timeline, trace): "-" is the given fd; a
 * symbolic link is followed; a device or FIFO is written as it is. */
static int open_append(int *fd, bool *own, const char *path, int dash_fd,
                       exst_error *err)
{
    *own = false;
    if (strcmp(path, "-") == 0) {
        *fd = dash_fd;
        return EXST_OK;
    }
    char *target = NULL;
    int rc = exstp_path_resolve(&target, path, err);
    if (rc != EXST_OK)
        return rc;
    /* A regular file is read back to cut it on resume. */
    struct stat st;
    const int mode = stat(target, &st) != 0 || S_ISREG(st.st_mode) ? O_RDWR
                                                                   : O_WRONLY;
    *fd = open(target, mode | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
               0666);
    int e = errno;
    exstp_free(target);
    if (*fd < 0) {
        char t[96];
        snprintf(t, sizeof t, "%s", strerror(e));
        if (t[0] >= 'A' && t[0] <= 'Z')
            t[0] = (char)(t[0] - 'A' + 'a');
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "cannot open '%.150s': %s", path, t);
    }
    *own = true;
    return EXST_OK;
}

static int write_fd(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int out_error(exst_error *err, const char *what, const char *path,
                     int e)
{
    char t[96];
    snprintf(t, sizeof t, "%s", strerror(e));
    if (t[0] >= 'A' && t[0] <= 'Z')
        t[0] = (char)(t[0] - 'A' + 'a');
    return exstp_error_simple(err, EXST_ERR_IO, path,
                              "cannot write %s '%.150s': %s", what, path, t);
}

/* Flush the timeline buffer; sync makes it durable (before a commit). */
static int tl_flush(exst_replay *r, bool sync, exst_error *err)
{
    if (r->tl_fd < 0)
        return EXST_OK;
    int e = write_fd(r->tl_fd, r->tl_buf, r->tl_len);
    r->tl_len = 0;
    if (e == 0 && sync && r->tl_own && fsync(r->tl_fd) != 0 &&
        errno != EINVAL)
        e = errno;
    return e ? out_error(err, "timeline", r->o.timeline_path, e) : EXST_OK;
}

static int tl_append(exst_replay *r, const char *p, size_t n,
                     exst_error *err)
{
    if (r->tl_len + n > r->tl_cap) {
        size_t cap = r->tl_cap ? r->tl_cap : TL_CAP;
        while (cap < r->tl_len + n)
            cap *= 2;
        char *b = exstp_realloc(r->tl_buf, cap);
        if (b == NULL)
            return nomem(err);
        r->tl_buf = b;
        r->tl_cap = cap;
    }
    memcpy(r->tl_buf + r->tl_len, p, n);
    r->tl_len += n;
    return EXST_OK;
}

static const char CSV_HEADER[] =
    "valid_after,flavor,staging_period_s,reset_after_s,phase,relays,"
    "exit_candidates,in_staging,stripped,graduated,new_runs,restarted_runs,"
    "grandfathered,exit_bandwidth,stripped_bandwidth,stripped_fraction,"
    "stripped_exit_share,enabled,guard_tripped,primary\n";

static int tl_csv_row(exst_replay *r, const lane *l, bool primary,
                      const exst_consensus *c, exst_error *err)
{
    const exst_stage_summary *s = exst_stage_get_summary(l->res);
    char va[21], row[512];
    exst_time_iso(va, s->valid_after);
    int n = snprintf(row, sizeof row,
                     "%s,%s,%lld,%lld,%s,%zu,%zu,%zu,%zu,%zu,%zu,%zu,%zu,"
                     "%llu,%llu,%.6f,%.6f,%d,%d,%d\n",
                     va, s->flavor == EXST_FLAVOR_NS ? "ns" : "microdesc",
                     (long long)s->staging_period_s,
                     (long long)s->reset_after_s, exst_phase_name(s->phase),
                     exst_consensus_relay_count(c), s->counts.exit_candidates,
                     s->counts.in_staging, s->counts.stripped,
                     s->counts.graduated, s->counts.new_runs,
                     s->counts.restarted_runs, s->counts.grandfathered,
                     (unsigned long long)s->exit_bandwidth,
                     (unsigned long long)s->stripped_bandwidth,
                     s->stripped_fraction, s->stripped_exit_share,
                     s->enabled, s->guard_tripped, primary);
    return tl_append(r, row, (size_t)n, err);
}

/* ---- setup, continued ------------------------------------------------ */

int exst_replay_new(exst_replay **out, const exst_replay_opts *opts,
                    exst_error *err)
{
    if (out == NULL || opts == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "replay: missing argument");
    *out = NULL;
    exst_replay *r = exstp_calloc(1, sizeof *r);
    if (r == NULL)
        return nomem(err);
    r->o = *opts;
    r->tl_fd = -1;
    r->tr_fd = -1;
    r->helper = SIZE_MAX;
    r->prev_t = INT64_MIN;
    r->st.first = r->st.last = EXST_TIME_NONE;
    r->st.resume_point = EXST_TIME_NONE;
    if (r->o.checkpoint == 0)
        r->o.checkpoint = DEFAULT_CHECKPOINT;
    if (r->o.threads == 0)
        r->o.threads = 1;
    int rc = add_lanes(r, err);
    if (rc == EXST_OK)
        rc = open_histories(r, err);
    if (rc != EXST_OK)
        goto fail;
    exstp_analysis_info info = {
        .clock = exst_history_clock(r->groups[0].h),
        .enforce = opts->stage.enforce,
        .bootstrap = exst_history_bootstrap(r->groups[0].h),
        .max_strip_fraction =
            opts->stage.guard_set ? opts->stage.max_strip_fraction : -1,
    };
    if ((rc = exstp_analysis_new(&r->an, &info, err)) != EXST_OK)
        goto fail;
    for (size_t i = 0; i < r->n_lanes && rc == EXST_OK; i++)
        rc = exstp_analysis_add_lane(r->an, r->lanes[i].P, r->lanes[i].W,
                                     err);
    if (rc != EXST_OK)
        goto fail;
    exstp_analysis_watch_badexit(r->an, opts->watch_badexit != 0);
    if (opts->watchlist_path != NULL &&
        (rc = read_watchlist(r, err)) != EXST_OK)
        goto fail;
    r->steady = exstp_calloc(r->n_lanes + 1, 1);
    r->strip_row = exstp_calloc(r->n_lanes + 1, 1);
    if (r->steady == NULL || r->strip_row == NULL) {
        rc = nomem(err);
        goto fail;
    }
    /* Traces: fingerprints or nicknames. */
    if (opts->n_trace > 0) {
        r->tr = exstp_calloc(opts->n_trace, sizeof *r->tr);
        r->tr_nick = exstp_calloc(opts->n_trace, sizeof *r->tr_nick);
        if (r->tr == NULL || r->tr_nick == NULL) {
            rc = nomem(err);
            goto fail;
        }
        for (size_t i = 0; i < opts->n_trace; i++) {
            const char *sel = opts->trace[i];
            uint8_t id[20];
            if (exst_fingerprint_parse(id, sel[0] == '$' ? sel + 1 : sel) ==
                EXST_OK) {
                memset(&r->tr[r->n_tr], 0, sizeof r->tr[0]);
                memcpy(r->tr[r->n_tr].id, id, 20);
                r->tr[r->n_tr].staged_run = EXST_TIME_NONE;
                r->tr[r->n_tr].graduated_run = EXST_TIME_NONE;
                r->n_tr++;
            } else {
                r->tr_nick[r->n_tr_nick] = exstp_strndup(sel, strlen(sel));
                if (r->tr_nick[r->n_tr_nick] == NULL) {
                    rc = nomem(err);
                    goto fail;
                }
                r->n_tr_nick++;
            }
        }
    }
    if (opts->trace_path != NULL &&
        (rc = open_append(&r->tr_fd, &r->tr_own, opts->trace_path,
                          opts->trace_fd, err)) != EXST_OK)
        goto fail;
    if (r->tr_own && ftruncate(r->tr_fd, 0) != 0) {
        rc = out_error(err, "trace", opts->trace_path, errno);
        goto fail;
    }
    if (opts->timeline_path != NULL) {
        if ((rc = open_append(&r->tl_fd, &r->tl_own, opts->timeline_path,
                              opts->timeline_fd, err)) != EXST_OK)
            goto fail;
        if (r->tl_own && (rc = cut_timeline(r, r->tl_fd, err)) != EXST_OK)
            goto fail;
        if (opts->timeline_csv && !r->tl_csv_header &&
            (rc = tl_append(r, CSV_HEADER, sizeof CSV_HEADER - 1, err)) !=
                EXST_OK)
            goto fail;
    }
    if (pthread_mutex_init(&r->mu, NULL) != 0 ||
        pthread_cond_init(&r->cv, NULL) != 0) {
        rc = nomem(err);
        goto fail;
    }
    r->sync_init = true;
    *out = r;
    return EXST_OK;
fail:
    exst_replay_free(r);
    return rc;
}

/* ---- inputs: collect and sort ---------------------------------------- */

static int cmp_source(const void *a, const void *b)
{
    const source *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    if (x->flavor != y->flavor)
        return x->flavor < y->flavor ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

static int open_path(const char *path, int *fd, exst_error *err)
{
    if (strcmp(path, "-") == 0) {
        *fd = STDIN_FILENO;
        return EXST_OK;
    }
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0) {
        char t[96];
        snprintf(t, sizeof t, "%s", strerror(errno));
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "cannot open '%.150s': %s", path, t);
    }
    return EXST_OK;
}

/* The valid-after of a regular input's first consensus, from a prefix of
 * each member: members that are not consensuses are passed over (a README
 * first in a tar is no reason to drop the archive). */
static int peek_source(exst_replay *r, source *s, exst_error *err)
{
    int fd;
    int rc = open_path(s->path, &fd, err);
    if (rc != EXST_OK)
        return rc;
    exst_archive *a = NULL;
    exst_archive_opts aopts = {.peek_bytes = PEEK_BYTES,
                               .max_doc_bytes = r->o.parse.max_doc_bytes,
                               .interrupt = r->o.interrupt};
    rc = exst_archive_open(&a, fd, s->path, &aopts, err);
    s->first = INT64_MAX; /* nothing to stage: harmless, sorts last */
    s->flavor = 2;
    while (rc == EXST_OK) {
        exst_archive_doc d;
        rc = exst_archive_next(a, &d, err);
        if (rc != EXST_OK || d.data == NULL)
            break;
        if (d.kind != EXST_DOC_CONSENSUS) {
            /* A named single document that is not a consensus is an
             * error; the parser will say so when it is read. */
            if (s->named && !(exst_archive_format(a) & EXST_ARCHIVE_TAR)) {
                s->first = INT64_MIN + 1;
                break;
            }
            continue;
        }
        exst_flavor fl;
        rc = exst_peek_header(&s->first, &fl, d.data, d.len, d.name, err);
        s->flavor = (int)fl;
        break;
    }
    exst_archive_close(a);
    close(fd);
    return rc;
}

static int add_source(exst_replay *r, const char *path, bool named,
                      size_t *cap, exst_error *err)
{
    if (r->n_src == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        source *p = exstp_realloc(r->src, c * sizeof *p);
        if (p == NULL)
            return nomem(err);
        r->src = p;
        *cap = c;
    }
    source *s = &r->src[r->n_src];
    memset(s, 0, sizeof *s);
    s->path = exstp_strndup(path, strlen(path));
    if (s->path == NULL)
        return nomem(err);
    s->named = named;
    s->order = r->n_src;
    r->n_src++;
    struct stat st;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0 ||
        !S_ISREG(st.st_mode)) {
        /* A pipe, <(...), a device or "-": read once, never peeked. */
        s->stream = true;
        s->first = INT64_MAX;
        return EXST_OK;
    }
    s->size = (uint64_t)st.st_size;
    r->bytes_total += s->size;
    int rc = peek_source(r, s, err);
    if (rc != EXST_OK && r->o.keep_going && rc != EXST_ERR_NOMEM &&
        rc != EXST_ERR_INTERRUPTED) {
        say(r, r->o.warn, "skipping %s: %s", path, err->message);
        note_bad(r, path, err);
        exst_error_clear(err);
        s->skip = true;
        return EXST_OK;
    }
    return rc;
}

int exst_replay_inputs(exst_replay *r, const char *const *paths, size_t n,
                       exst_error *err)
{
    size_t cap = r->n_src;
    int rc = EXST_OK;
    for (size_t i = 0; i < n && rc == EXST_OK; i++) {
        struct stat st;
        if (strcmp(paths[i], "-") != 0 && stat(paths[i], &st) == 0 &&
            S_ISDIR(st.st_mode)) {
            char **list = NULL;
            size_t k = 0;
            rc = exst_collect_paths(&list, &k, &paths[i], 1, err);
            for (size_t j = 0; j < k && rc == EXST_OK; j++)
                rc = add_source(r, list[j], false, &cap, err);
            exst_paths_free(list, k);
        } else if (strcmp(paths[i], "-") != 0 && stat(paths[i], &st) != 0) {
            char t[96];
            snprintf(t, sizeof t, "%s", strerror(errno));
            rc = exstp_error_simple(err, EXST_ERR_IO, paths[i],
                                    "cannot open '%.150s': %s", paths[i], t);
        } else {
            rc = add_source(r, paths[i], true, &cap, err);
        }
    }
    if (rc != EXST_OK)
        return rc;
    /* Sortable inputs by their first consensus; streams after them, in
     * the order named. */
    size_t k = 0;
    source *tmp = exstp_malloc((r->n_src + 1) * sizeof *tmp);
    if (tmp == NULL)
        return nomem(err);
    for (size_t i = 0; i < r->n_src; i++)
        if (!r->src[i].stream)
            tmp[k++] = r->src[i];
    qsort(tmp, k, sizeof *tmp, cmp_source);
    for (size_t i = 0; i < r->n_src; i++)
        if (r->src[i].stream)
            tmp[k++] = r->src[i];
    memcpy(r->src, tmp, r->n_src * sizeof *tmp);
    exstp_free(tmp);
    exstp_free(r->run);
    r->run = exstp_calloc(r->n_src + 1, sizeof *r->run);
    if (r->run == NULL)
        return nomem(err);
    for (size_t i = 0; i < r->n_src; i++) {
        r->run[i].spool_fd = -1;
        r->run[i].fd = -1;
    }
    return EXST_OK;
}

/* ---- reading: items, spool, reader threads ---------------------------- */

static void item_free(item *it)
{
    if (it == NULL)
        return;
    exstp_free(it->name);
    exstp_free(it->data);
    exstp_free(it);
}

static void fill_meta(item *it, const exst_archive_doc *d)
{
    it->dkind = d->kind;
    it->type[0] = '\0';
    if (d->type.ptr != NULL) {
        size_t n = d->type.len < sizeof it->type - 1 ? d->type.len
                                                     : sizeof it->type - 1;
        memcpy(it->type, d->type.ptr, n);
        it->type[n] = '\0';
    }
}

static item *new_item(int kind, const char *name)
{
    item *it = exstp_calloc(1, sizeof *it);
    if (it == NULL)
        return NULL;
    it->kind = kind;
    it->name = exstp_strndup(name ? name : "", name ? strlen(name) : 0);
    if (it->name == NULL) {
        exstp_free(it);
        return NULL;
    }
    return it;
}

/* Append to input j's queue and wake the staging thread (lock held). */
static void enqueue(exst_replay *r, size_t j, item *it)
{
    srcrun *s = &r->run[j];
    it->next = NULL;
    if (s->tail != NULL)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    if (it->kind != IT_DOC)
        s->finished = true;
    pthread_cond_broadcast(&r->cv);
}

static void push_end(exst_replay *r, size_t j, int kind, int status,
                     const exst_error *e, uint64_t bytes_in, const char *nm)
{
    item *it = new_item(kind, nm);
    pthread_mutex_lock(&r->mu);
    if (it == NULL) {
        /* No memory for the marker: stop everything. */
        r->stop = true;
        r->run[j].finished = true;
        pthread_cond_broadcast(&r->cv);
    } else {
        it->status = status;
        if (e != NULL)
            it->err = *e;
        it->bytes_in = bytes_in;
        enqueue(r, j, it);
    }
    pthread_mutex_unlock(&r->mu);
}

/* Write one document to input j's spool (zstd level 1), returning where
 * it went.  Called by the input's owner only. */
static int spool_write(exst_replay *r, size_t j, ZSTD_CCtx *zc, char **zb,
                       size_t *zcap, const char *data, size_t len,
                       uint64_t *off, size_t *clen, exst_error *err)
{
    srcrun *s = &r->run[j];
    if (s->spool_fd < 0) {
        size_t n = strlen(r->o.spool_dir);
        char *t = exstp_malloc(n + 32);
        if (t == NULL)
            return nomem(err);
        memcpy(t, r->o.spool_dir, n);
        memcpy(t + n, "/exitstage-spool.XXXXXX", 24);
        int fd = mkstemp(t);
        int e = errno;
        if (fd >= 0)
            unlink(t); /* gone with the descriptor, whatever happens */
        exstp_free(t);
        if (fd < 0)
            return out_error(err, "spool in", r->o.spool_dir, e);
        s->spool_fd = fd;
    }
    /* Streamed through a fixed buffer: a reader never holds a second,
     * compressed copy of the document. */
    const size_t chunk = ZSTD_CStreamOutSize();
    if (*zcap < chunk) {
        char *p = exstp_realloc(*zb, chunk);
        if (p == NULL)
            return nomem(err);
        *zb = p;
        *zcap = chunk;
    }
    if (ZSTD_isError(ZSTD_CCtx_reset(zc, ZSTD_reset_session_only)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel,
                                            1)) ||
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(zc, len)))
        return nomem(err);
    ZSTD_inBuffer in = {data, len, 0};
    uint64_t at = s->spool_end;
    for (;;) {
        ZSTD_outBuffer out = {*zb, *zcap, 0};
        const size_t more = ZSTD_compressStream2(zc, &out, &in, ZSTD_e_end);
        if (ZSTD_isError(more))
            return nomem(err);
        const char *p = *zb;
        size_t left = out.pos;
        while (left > 0) {
            ssize_t w = pwrite(s->spool_fd, p, left, (off_t)at);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return out_error(err, "spool in", r->o.spool_dir,
                                 w < 0 ? errno : EIO);
            p += w;
            at += (uint64_t)w;
            left -= (size_t)w;
        }
        if (more == 0)
            break;
    }
    *off = s->spool_end;
    *clen = (size_t)(at - s->spool_end);
    s->spool_end = at;
    return EXST_OK;
}

/* The read-ahead budget in bytes: as given, or a small multiple of the
 * largest document seen (lock held). */
static size_t budget_of(const exst_replay *r)
{
    if (r->o.read_ahead > 0)
        return r->o.read_ahead;
    size_t b = r->max_doc * READ_AHEAD_DOCS;
    return b > MIN_READ_AHEAD ? b : MIN_READ_AHEAD;
}

/* Queue one document read from input j by its owner: in memory within the
 * read-ahead budget, else spooled, else wait.  false: stop reading. */
static bool push_doc(exst_replay *r, size_t j, exst_archive *a,
                     const exst_archive_doc *d, bool tar, uint64_t bytes_in,
                     ZSTD_CCtx *zc, char **zb, size_t *zcap, bool may_wait)
{
    const size_t len = d->len;
    bool in_mem = false;
    pthread_mutex_lock(&r->mu);
    if (len > r->max_doc)
        r->max_doc = len;
    for (;;) {
        if (r->stop) {
            pthread_mutex_unlock(&r->mu);
            return false;
        }
        const bool is_cur = j == r->cur;
        const size_t budget = is_cur ? budget_of(r) : budget_of(r) / 2;
        if ((is_cur && r->run[j].head == NULL) || r->mem + len <= budget) {
            in_mem = true;
            r->mem += len; /* reserved now, so two readers cannot both */
            break;
        }
        if (!is_cur && r->o.spool_dir != NULL)
            break;
        if (!may_wait) {
            pthread_mutex_unlock(&r->mu);
            return true; /* the caller will retry */
        }
        pthread_cond_wait(&r->cv, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);

    exst_error err;
    exst_error_clear(&err);
    item *it = new_item(IT_DOC, d->name);
    int rc = it ? EXST_OK : nomem(&err);
    if (rc == EXST_OK) {
        it->len = len;
        it->tar = tar;
        it->bytes_in = bytes_in;
        fill_meta(it, d);
        if (in_mem && exstp_archive_take(a, d, &it->data)) {
            /* the archive's own buffer: no copy */
        } else if (in_mem) {
            it->data = exstp_malloc(len + 1);
            if (it->data == NULL) {
                rc = nomem(&err);
            } else {
                memcpy(it->data, d->data, len);
                it->data[len] = '\0';
            }
        } else {
            rc = spool_write(r, j, zc, zb, zcap, d->data, len,
                             &it->spool_off, &it->spool_clen, &err);
        }
    }
    pthread_mutex_lock(&r->mu);
    if (rc != EXST_OK) {
        if (in_mem)
            r->mem -= len;
        item_free(it);
        it = new_item(IT_ERR, d->name);
        if (it != NULL) {
            it->status = rc;
            it->err = err;
            enqueue(r, j, it);
        } else {
            r->stop = true;
            r->run[j].finished = true;
            pthread_cond_broadcast(&r->cv);
        }
        pthread_mutex_unlock(&r->mu);
        return false;
    }
    enqueue(r, j, it);
    pthread_mutex_unlock(&r->mu);
    return true;
}

/*
 * Before a reader decodes the next document of input j: room in the
 * read-ahead budget for one more document in flight beside those queued
 * in memory, or j is the input being staged (that one always goes on).
 * A document in flight is counted as the largest seen; until one has
 * been seen, only one decodes at a time beside the staged input's.  So
 * memory follows the budget, not the number of readers.  A reader that
 * must wait first gives its archive's buffers back.  *est: what was
 * reserved, for gate_leave.  false: stop, or (may_wait false) no room.
 */
static bool gate_enter(exst_replay *r, size_t j, exst_archive *a,
                       bool may_wait, size_t *est)
{
    bool trimmed = false;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        if (r->stop)
            break;
        const size_t budget = budget_of(r);
        const size_t e = r->max_doc > 0 ? r->max_doc : budget;
        if (j <= r->cur || r->mem + r->inflight + e <= budget) {
            r->inflight += e;
            *est = e;
            pthread_mutex_unlock(&r->mu);
            return true;
        }
        if (!trimmed) {
            pthread_mutex_unlock(&r->mu);
            exstp_archive_trim(a);
            trimmed = true;
            pthread_mutex_lock(&r->mu);
            continue;
        }
        if (!may_wait)
            break;
        pthread_cond_wait(&r->cv, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return false;
}

static void gate_leave(exst_replay *r, size_t est)
{
    pthread_mutex_lock(&r->mu);
    r->inflight -= est;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static int open_archive(exst_replay *r, size_t j, int *fd, exst_archive **a,
                        exst_error *err)
{
    int rc = open_path(r->src[j].path, fd, err);
    if (rc != EXST_OK)
        return rc;
    exst_archive_opts aopts = {.max_doc_bytes = r->o.parse.max_doc_bytes,
                               .interrupt = r->o.interrupt};
    const char *nm = strcmp(r->src[j].path, "-") == 0 ? "<stdin>"
                                                      : r->src[j].path;
    rc = exst_archive_open(a, *fd, nm, &aopts, err);
    if (rc != EXST_OK) {
        if (*fd != STDIN_FILENO)
            close(*fd);
        *fd = -1;
    }
    return rc;
}

/* A reader thread: take the next input nobody reads, read it whole into
 * its queue, repeat.  Only regular files: a pipe is read by the staging
 * thread, so a signal always finds the read it must interrupt. */
static void *reader_main(void *arg)
{
    exst_replay *r = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    ZSTD_CCtx *zc = ZSTD_createCCtx();
    char *zb = NULL;
    size_t zcap = 0;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->next_free < r->n_src &&
               (r->src[r->next_free].skip ||
                r->run[r->next_free].owner != OWN_NONE))
            r->next_free++;
        if (r->stop || zc == NULL)
            break;
        int fd = -1;
        exst_archive *a = NULL;
        size_t j;
        if (r->next_free >= r->n_src || r->src[r->next_free].stream) {
            /* Nothing left to open: take over the input the staging
             * thread is spooling (between two of its documents), so the
             * last inputs are not decompressed by one thread alone. */
            if (r->helper == SIZE_MAX)
                break;
            if (r->helping) {
                pthread_cond_wait(&r->cv, &r->mu);
                continue;
            }
            j = r->helper;
            r->helper = SIZE_MAX;
            r->run[j].owner = OWN_READER;
            a = r->run[j].a;
            fd = r->run[j].fd;
            r->run[j].a = NULL;
            r->run[j].fd = -1;
            pthread_mutex_unlock(&r->mu);
            goto read;
        }
        /* Far ahead with no room and nowhere to spool: wait. */
        if (r->next_free > r->cur && r->o.spool_dir == NULL &&
            r->mem >= budget_of(r) / 2) {
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        j = r->next_free++;
        r->run[j].owner = OWN_READER;
        pthread_mutex_unlock(&r->mu);
    read:;
        exst_error err;
        exst_error_clear(&err);
        int rc = a != NULL ? EXST_OK : open_archive(r, j, &fd, &a, &err);
        const bool tar = rc == EXST_OK &&
                         (exst_archive_format(a) & EXST_ARCHIVE_TAR);
        while (rc == EXST_OK) {
            exst_archive_doc d;
            size_t est;
            if (!gate_enter(r, j, a, true, &est))
                break;
            exst_error_clear(&err);
            rc = exst_archive_next(a, &d, &err);
            if (rc != EXST_OK || d.data == NULL)
                gate_leave(r, est);
            if (rc != EXST_OK)
                break;
            if (d.data == NULL) {
                push_end(r, j, IT_END, EXST_OK, NULL,
                         exst_archive_bytes_in(a), NULL);
                break;
            }
            const bool go = push_doc(r, j, a, &d, tar,
                                     exst_archive_bytes_in(a), zc, &zb,
                                     &zcap, true);
            gate_leave(r, est);
            if (!go)
                break;
        }
        if (rc != EXST_OK)
            push_end(r, j, IT_ERR, rc, &err,
                     a ? exst_archive_bytes_in(a) : 0, "");
        exst_archive_close(a);
        if (fd >= 0)
            close(fd);
        pthread_mutex_lock(&r->mu);
    }
    r->readers_live--;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    ZSTD_freeCCtx(zc);
    exstp_free(zb);
    return NULL;
}

static void help_done(exst_replay *r)
{
    pthread_mutex_lock(&r->mu);
    r->helping = false;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* The staging thread, with nothing to stage yet, reads one document of
 * another input into its spool.  Returns false when there is nothing to
 * help with. */
static bool help_one(exst_replay *r)
{
    pthread_mutex_lock(&r->mu);
    if (r->helper == SIZE_MAX) {
        while (r->next_free < r->n_src &&
               (r->src[r->next_free].skip ||
                r->run[r->next_free].owner != OWN_NONE))
            r->next_free++;
        if (r->next_free >= r->n_src || r->src[r->next_free].stream ||
            r->o.spool_dir == NULL || r->next_free <= r->cur) {
            /* (the staged input itself is left to the reader that is
             * about to take it) */
            pthread_mutex_unlock(&r->mu);
            return false;
        }
        r->helper = r->next_free++;
        r->run[r->helper].owner = OWN_CONSUMER;
    }
    const size_t j = r->helper;
    r->helping = true; /* no reader takes it over until this one is in */
    pthread_mutex_unlock(&r->mu);

    srcrun *s = &r->run[j];
    exst_error err;
    exst_error_clear(&err);
    int rc = EXST_OK;
    if (s->a == NULL && !s->eof)
        rc = open_archive(r, j, &s->fd, &s->a, &err);
    exst_archive_doc d;
    size_t est = 0;
    if (rc == EXST_OK && !gate_enter(r, j, s->a, false, &est)) {
        help_done(r);
        return false; /* no room: wait for the staged input instead */
    }
    if (rc == EXST_OK)
        rc = exst_archive_next(s->a, &d, &err);
    if (rc == EXST_OK && d.data == NULL) {
        s->eof = true;
        push_end(r, j, IT_END, EXST_OK, NULL, exst_archive_bytes_in(s->a),
                 NULL);
    } else if (rc == EXST_OK) {
        const bool tar = (exst_archive_format(s->a) & EXST_ARCHIVE_TAR) != 0;
        if (r->zc == NULL)
            r->zc = ZSTD_createCCtx();
        if (r->zc == NULL)
            rc = EXST_ERR_NOMEM;
        else
            push_doc(r, j, s->a, &d, tar, exst_archive_bytes_in(s->a),
                     r->zc, &r->zbuf, &r->zcap, true);
    }
    if (est > 0)
        gate_leave(r, est);
    if (rc != EXST_OK) {
        s->eof = true;
        push_end(r, j, IT_ERR, rc, &err,
                 s->a ? exst_archive_bytes_in(s->a) : 0, "");
    }
    if (s->eof) {
        pthread_mutex_lock(&r->mu);
        r->helper = SIZE_MAX;
        pthread_mutex_unlock(&r->mu);
    }
    help_done(r);
    return true;
}

/* ---- staging --------------------------------------------------------- */

typedef struct docview {
    const char *name;
    const char *data;
    size_t len;
    exst_doc_kind kind;
    const char *type;
    bool tar;
} docview;

/* The state after the last good document, made durable: the timeline
 * first (so it always holds what the history holds), then the history. */
static int commit(exst_replay *r, exst_error *err)
{
    int rc = tl_flush(r, true, err);
    if (rc == EXST_OK && r->persist)
        rc = exst_history_save(r->groups[0].h, r->o.db_path, err);
    r->since_commit = 0;
    r->st.commit_failed = rc != EXST_OK;
    if (rc == EXST_OK && r->persist)
        r->st.commits++;
    return rc;
}

static void undo_groups(exst_replay *r, size_t n)
{
    for (size_t g = 0; g < n; g++) {
        int u = exst_history_undo(r->groups[g].h);
        (void)u; /* each was observed once: one step to take back */
    }
}

static void free_doc_state(exst_replay *r)
{
    for (size_t i = 0; i < r->n_lanes; i++) {
        exst_stage_result_free(r->lanes[i].res);
        r->lanes[i].res = NULL;
    }
    for (size_t g = 0; g < r->n_groups; g++)
        if (r->groups[g].observed) {
            exstp_obs_free(&r->groups[g].ob);
            r->groups[g].observed = false;
        }
}

/* CollecTor's name for a document: 2024-05-17-17-00-00-consensus or
 * ...-consensus-microdesc (SPEC 4.4 0.2), so two inputs with the same
 * base name can never overwrite each other. */
static void collector_name(char out[48], int64_t t, exst_flavor fl)
{
    char va[21];
    exst_time_iso(va, t);
    snprintf(out, 48, "%.4s-%.2s-%.2s-%.2s-%.2s-%.2s-consensus%s", va,
             va + 5, va + 8, va + 11, va + 14, va + 17,
             fl == EXST_FLAVOR_MICRODESC ? "-microdesc" : "");
}

/* Write dir/base+ext; with a signing key also its .minisig (SPEC 8),
 * both to temporary files first and renamed only when both are written. */
static int write_in_dir(const exst_replay *r, const char *dir,
                        const char *base, const char *ext, const void *buf,
                        size_t n, int64_t va, const uint8_t *sha256,
                        exst_error *err)
{
    size_t dn = strlen(dir), bn = strlen(base), en = strlen(ext);
    char *path = exstp_malloc(dn + bn + en + 2);
    char *sig = NULL;
    size_t sig_n = 0;
    if (path == NULL)
        return nomem(err);
    memcpy(path, dir, dn);
    path[dn] = '/';
    memcpy(path + dn + 1, base, bn);
    memcpy(path + dn + 1 + bn, ext, en + 1);
    int rc = EXST_OK;
    if (r->o.sign_key != NULL) {
        char comment[512];
        exst_output_comment(comment, sizeof comment, va, sha256, path);
        rc = exst_minisign_sign(&sig, &sig_n, r->o.sign_key, buf, n,
                                comment, err);
    }
    exstp_out o, so;
    bool o_open = false, so_open = false;
    if (rc == EXST_OK && (rc = exstp_out_open(&o, path, 0, err)) == EXST_OK)
        o_open = true;
    if (rc == EXST_OK)
        rc = exstp_out_write(&o, buf, n, err);
    if (rc == EXST_OK)
        rc = exstp_out_sync(&o, err);
    if (rc == EXST_OK && sig != NULL) {
        char *sp = exstp_minisig_path(path);
        if (sp == NULL) {
            rc = nomem(err);
        } else {
            if ((rc = exstp_out_open(&so, sp, 0, err)) == EXST_OK)
                so_open = true;
            exstp_free(sp);
        }
        if (rc == EXST_OK)
            rc = exstp_out_write(&so, sig, sig_n, err);
        if (rc == EXST_OK)
            rc = exstp_out_sync(&so, err);
    }
    if (rc == EXST_OK) {
        o_open = false;
        rc = exstp_out_rename(&o, err);
    }
    if (rc == EXST_OK && so_open) {
        so_open = false;
        rc = exstp_out_rename(&so, err);
    }
    if (o_open)
        exstp_out_abort(&o);
    if (so_open)
        exstp_out_abort(&so);
    exst_free(sig);
    exstp_free(path);
    return rc;
}

/* The per-document outputs of every lane.  A failure here takes the
 * document back out of the history. */
static int write_outputs(exst_replay *r, const exst_consensus *c,
                         const exst_digests *dg, exst_error *err)
{
    int rc = EXST_OK;
    const exst_stage_result *res = r->lanes[0].res;
    const int64_t va = exst_consensus_valid_after(c);
    const uint8_t *sha = (dg->have & EXST_DIGEST_INPUT_SHA256)
                             ? dg->input_sha256 : NULL;
    char base[48];
    collector_name(base, va, exst_consensus_flavor(c));
    if (r->o.out_dir != NULL) {
        exst_span o = exst_stage_output(res);
        void *z = NULL;
        size_t zn = 0;
        if (r->o.out_zstd &&
            (rc = exst_zstd_compress(&z, &zn, o.ptr, o.len, 3, err)) !=
                EXST_OK)
            return rc;
        rc = write_in_dir(r, r->o.out_dir, base,
                          r->o.out_zstd ? ".zst" : "", z ? z : o.ptr,
                          z ? zn : o.len, va, sha, err);
        exst_free(z);
    }
    if (rc == EXST_OK && r->o.reports_dir != NULL) {
        exst_span rep = exst_stage_report(res);
        rc = write_in_dir(r, r->o.reports_dir, base, ".json", rep.ptr,
                          rep.len, va, sha, err);
    }
    /* The timeline last, written now rather than buffered across
     * documents: it then holds exactly the documents the history may be
     * committed with (a file written above for a document that is taken
     * back is written again, the same bytes, when it is replayed). */
    for (size_t i = 0; r->tl_fd >= 0 && i < r->n_lanes && rc == EXST_OK;
         i++) {
        if (r->o.timeline_csv) {
            rc = tl_csv_row(r, &r->lanes[i], i == 0, c, err);
        } else {
            exst_span tl = exst_stage_timeline(r->lanes[i].res);
            rc = tl_append(r, tl.ptr, tl.len, err);
        }
    }
    if (rc == EXST_OK && r->tl_len > 0)
        rc = tl_flush(r, false, err);
    r->tl_len = 0;
    return rc;
}

/* ---- trust (SPEC 8) ------------------------------------------------- */

/* The input's digests (when signing or checking, so the report reuses
 * them) and the signature check, on the staging thread in document order
 * (so any thread count gives the same bytes).  A rejected consensus is
 * EXST_ERR_SEMANTIC with *sc set; other errors as exst_sigcheck_run. */
static int trust_check(exst_replay *r, const exst_consensus *c,
                       const char *name, exst_digests *dg,
                       exst_sigcheck **sc, exst_error *err)
{
    *sc = NULL;
    memset(dg, 0, sizeof *dg);
    const bool signing = r->o.sign_key != NULL &&
                         (r->o.out_dir != NULL || r->o.reports_dir != NULL);
    if (r->o.certs == NULL && !signing)
        return EXST_OK;
    const unsigned want = EXST_DIGEST_INPUT_SHA256 |
                          (r->o.certs != NULL ? EXST_DIGEST_SIGNED_SHA256
                                              : 0u);
    int rc = exst_consensus_digests(dg, c, want, err);
    if (rc != EXST_OK || r->o.certs == NULL)
        return rc;
    if ((rc = exst_sigcheck_run(sc, c, r->o.certs, r->o.authorities, dg,
                                err)) != EXST_OK)
        return rc;
    if (exst_sigcheck_accepted(*sc))
        return EXST_OK;
    /* Every signature and its reason as a warning (the error's message is
     * too short for nine fingerprints), then the error: the counts and
     * how many signatures failed for each reason. */
    char *msg = NULL;
    if ((rc = exst_sigcheck_message(&msg, *sc, err)) != EXST_OK)
        return rc;
    if (r->o.warn != NULL) {
        /* Longer than say()'s buffer: nine fingerprints and reasons. */
        const size_t ln = strlen(name) + strlen(msg) + 32;
        char *line = exstp_malloc(ln);
        if (line != NULL) {
            snprintf(line, ln, "%s: consensus rejected: %s", name, msg);
            r->o.warn(r->o.ud, line);
            exstp_free(line);
        }
    }
    exst_free(msg);
    size_t per[9] = {0};
    for (size_t i = 0; i < exst_sigcheck_checked(*sc); i++) {
        exst_sig_info si;
        exst_sigcheck_get(*sc, i, &si);
        if (si.status > 0 && si.status < 9)
            per[si.status]++;
    }
    char why[120] = "";
    size_t wn = 0;
    for (int k = 1; k < 9 && wn < sizeof why; k++)
        if (per[k] > 0)
            wn += (size_t)snprintf(why + wn, sizeof why - wn, "%s%zu %s",
                                   wn ? ", " : ": ", per[k],
                                   exst_sig_status_str(k));
    const size_t good = exst_sigcheck_good(*sc);
    return exstp_error_simple(err, EXST_ERR_SEMANTIC, name,
                              "consensus rejected: %zu good signature%s, "
                              "%zu required%s", good, good == 1 ? "" : "s",
                              exst_sigcheck_required(*sc), why);
}

/* ---- traces (SPEC 9), primary lane ---------------------------------- */

static trace_state *trace_add(exst_replay *r, const uint8_t id[20])
{
    for (size_t k = 0; k < r->n_tr; k++)
        if (memcmp(r->tr[k].id, id, 20) == 0)
            return &r->tr[k];
    trace_state *p = exstp_realloc(r->tr, (r->n_tr + 1) * sizeof *p);
    if (p == NULL)
        return NULL;
    r->tr = p;
    trace_state *t = &r->tr[r->n_tr++];
    memset(t, 0, sizeof *t);
    memcpy(t->id, id, 20);
    t->staged_run = t->graduated_run = EXST_TIME_NONE;
    return t;
}

static int cmp_trace(const void *a, const void *b)
{
    return memcmp(((const trace_state *)a)->id, ((const trace_state *)b)->id,
                  20);
}

/* Before the history update: nickname selectors name relays of this
 * document; every traced relay's record as it was. */
static int trace_before(exst_replay *r, const exst_consensus *c,
                        exst_error *err)
{
    if (r->n_tr_nick > 0) {
        for (size_t i = 0; i < exst_consensus_relay_count(c); i++) {
            exst_relay rl;
            exst_consensus_relay(c, i, &rl);
            for (size_t k = 0; k < r->n_tr_nick; k++)
                if (strlen(r->tr_nick[k]) == rl.nickname.len &&
                    memcmp(r->tr_nick[k], rl.nickname.ptr, rl.nickname.len) ==
                        0 &&
                    trace_add(r, rl.id) == NULL)
                    return nomem(err);
        }
    }
    /* Events come out in fingerprint order within a document. */
    qsort(r->tr, r->n_tr, sizeof *r->tr, cmp_trace);
    for (size_t k = 0; k < r->n_tr; k++)
        r->tr[k].had_pre =
            exst_history_find(r->groups[0].h, r->tr[k].id, &r->tr[k].pre);
    return EXST_OK;
}

static int trace_event(exst_replay *r, int64_t t, const trace_state *ts,
                       const char *nick, size_t nick_len, const char *event,
                       const char *k1, json_t *v1, exst_error *err)
{
    char fp[41];
    json_t *o = json_object();
    json_object_set_new(o, "valid_after", exstp_json_time(t));
    json_object_set_new(o, "fingerprint",
                        json_string(exst_fingerprint_hex(fp, ts->id)));
    json_object_set_new(o, "nickname", nick ? json_stringn(nick, nick_len)
                                            : json_null());
    json_object_set_new(o, "event", json_string(event));
    if (k1 != NULL)
        json_object_set_new(o, k1, v1);
    char *line = NULL;
    int rc = exstp_json_finish(&line, o, true, err);
    if (rc != EXST_OK)
        return rc;
    int e = write_fd(r->tr_fd, line, strlen(line));
    exst_free(line);
    return e ? out_error(err, "trace", r->o.trace_path, e) : EXST_OK;
}

static int trace_after(exst_replay *r, const exst_consensus *c,
                       exst_error *err)
{
    const exstp_obs *ob = &r->groups[0].ob;
    const exst_stage_result *res = r->lanes[0].res;
    const uint8_t *staging = exstp_stage_in_staging(res);
    const int64_t *eligible = exstp_stage_eligible(res);
    const int64_t t = exst_consensus_valid_after(c);
    const size_t n = exst_consensus_relay_count(c);
    int rc = EXST_OK;
    for (size_t k = 0; k < r->n_tr && rc == EXST_OK; k++) {
        trace_state *ts = &r->tr[k];
        size_t i = n;
        exst_relay rl;
        for (size_t j = 0; j < n; j++) {
            exst_consensus_relay(c, j, &rl);
            if (memcmp(rl.id, ts->id, 20) == 0) {
                i = j;
                break;
            }
        }
        const char *nick = i < n ? rl.nickname.ptr : NULL;
        const size_t nl = i < n ? rl.nickname.len : 0;
        exst_record post;
        const bool has_post = exst_history_find(r->groups[0].h, ts->id, &post);
        if (i < n && !ts->seen) {
            ts->seen = true;
            rc = trace_event(r, t, ts, nick, nl, "first_seen", NULL, NULL,
                             err);
        }
        const uint8_t ev = i < n ? ob->event[i] : 0xFF;
        if (rc == EXST_OK && ev == EXST_RUN_GRANDFATHERED)
            rc = trace_event(r, t, ts, nick, nl, "grandfathered", NULL, NULL,
                             err);
        if (rc == EXST_OK && ts->had_pre && has_post &&
            ts->pre.absence_start == EXST_TIME_NONE &&
            post.absence_start != EXST_TIME_NONE)
            rc = trace_event(r, t, ts, nick, nl, "absent", NULL, NULL, err);
        if (rc == EXST_OK && ts->had_pre && has_post &&
            ts->pre.absence_start != EXST_TIME_NONE &&
            post.absence_start == EXST_TIME_NONE && post.last_seen == t)
            rc = trace_event(r, t, ts, nick, nl, "returned", "absent_s",
                             json_integer(t - ts->pre.absence_start), err);
        if (rc == EXST_OK && ev == EXST_RUN_RESTARTED)
            rc = trace_event(r, t, ts, nick, nl, "restart", NULL, NULL, err);
        if (rc == EXST_OK &&
            (ev == EXST_RUN_NEW || ev == EXST_RUN_RESTARTED))
            rc = trace_event(r, t, ts, nick, nl, "run_start", "run_start",
                             exstp_json_time(t), err);
        if (i >= n || rc != EXST_OK)
            continue;
        const uint8_t f = ob->flags[i];
        if ((f & EXSTP_OBS_BADEXIT) && !ts->badexit_seen) {
            ts->badexit_seen = true;
            rc = trace_event(r, t, ts, nick, nl, "badexit", NULL, NULL, err);
        }
        const int64_t rs = ob->run_start[i];
        if (rc == EXST_OK && staging[i] && ts->staged_run != rs) {
            ts->staged_run = rs;
            rc = trace_event(r, t, ts, nick, nl, "staged", "eligible_at",
                             exstp_json_time(eligible[i]), err);
        } else if (rc == EXST_OK && (f & EXSTP_OBS_EXIT) && !staging[i] &&
                   rs != EXST_TIME_NONE && rs != EXST_TIME_UNKNOWN &&
                   ts->staged_run == rs && ts->graduated_run != rs) {
            ts->graduated_run = rs;
            rc = trace_event(r, t, ts, nick, nl, "graduated", NULL, NULL,
                             err);
        }
    }
    return rc;
}

/* ---- the analysis of one document ----------------------------------- */

static int analyse(exst_replay *r, const exst_consensus *c, exst_error *err)
{
    const int64_t t = exst_consensus_valid_after(c);
    const bool counted =
        exstp_analysis_begin_doc(r->an, t, exst_consensus_flavor(c));
    if (counted) {
        if (r->st.hours > 0 && t - r->last_counted > 3600) {
            r->st.gaps++;
            r->st.missing_hours += (uint64_t)((t - r->last_counted) / 3600 - 1);
        }
        r->st.hours++;
        r->last_counted = t;
    }
    int rc = EXST_OK;
    for (size_t i = 0; i < r->n_lanes && rc == EXST_OK; i++) {
        const exst_stage_result *res = r->lanes[i].res;
        const exst_stage_summary *s = exst_stage_get_summary(res);
        const size_t ns = s->counts.stripped;
        exstp_lane_doc d = {
            .t = t,
            .flavor = s->flavor,
            .phase = s->phase,
            .stripped_fraction = s->stripped_fraction,
            .exit_candidates = s->counts.exit_candidates,
            .badexit_candidates = s->counts.badexit_candidates,
            .in_staging = s->counts.in_staging,
            .stripped = ns,
            .stripped_badexit = s->counts.stripped_badexit,
            .stripped_ids = ns > 0 ? (const uint8_t(*)[20])
                                         exst_stage_in_staging_id(res, 0)
                                   : NULL,
        };
        r->steady[i] = s->phase == EXST_PHASE_STEADY;
        rc = exstp_analysis_lane_doc(r->an, i, s->staging_period_s,
                                     s->reset_after_s, &d, err);
    }
    if (rc != EXST_OK || !exstp_analysis_watching(r->an))
        return rc;
    const exstp_obs *ob = &r->groups[0].ob;
    for (size_t j = 0; j < ob->n && rc == EXST_OK; j++) {
        /* Exit candidates count; a BadExit relay without Exit is still
         * caught (SPEC 9: "carries BadExit in some consensus"). */
        if (!(ob->flags[j] & (EXSTP_OBS_EXIT | EXSTP_OBS_BADEXIT)))
            continue;
        for (size_t i = 0; i < r->n_lanes; i++)
            r->strip_row[i] = exstp_stage_strip(r->lanes[i].res)[j];
        const exstp_relay *rl = &c->relays[j];
        rc = exstp_analysis_relay(r->an, ob->ids[j], c->doc + rl->nick_off,
                                  rl->nick_len,
                                  (ob->flags[j] & EXSTP_OBS_EXIT) != 0,
                                  (ob->flags[j] & EXSTP_OBS_BADEXIT) != 0,
                                  r->strip_row, r->steady, err);
    }
    return rc;
}

/* Stage one document in every lane.  EXST_OK to go on. */
static int stage_doc(exst_replay *r, const source *src, const docview *v,
                     size_t index, exst_error *err)
{
    char ts[21], ps[21];
    /* SPEC 2.2 0.2: members and files that are not consensuses are
     * skipped and counted; a file named on the command line that is not
     * one is still an error (the parser says why). */
    if (v->kind != EXST_DOC_CONSENSUS &&
        !(src->named && !v->tar && index == 0)) {
        r->st.not_consensus++;
        if (v->type != NULL && v->type[0] != '\0')
            say(r, r->o.info, "skipped %s: @type %s", v->name, v->type);
        else
            say(r, r->o.info, "skipped %s: not a consensus", v->name);
        return EXST_OK;
    }
    exst_consensus *c = NULL;
    exst_parse_opts popts = r->o.parse;
    popts.flags |= EXST_PARSE_BORROW;
    int rc = exst_consensus_parse(&c, v->data, v->len, v->name, &popts, err);
    if (rc != EXST_OK) {
        if (r->o.keep_going && rc != EXST_ERR_NOMEM) {
            say(r, r->o.warn, "skipping %s: %s", v->name, err->message);
            note_bad(r, v->name, err);
            exst_error_clear(err);
            return EXST_OK;
        }
        return rc;
    }
    const int64_t t = exst_consensus_valid_after(c);
    const exst_flavor fl = exst_consensus_flavor(c);
    exst_history *h0 = r->groups[0].h;
    exst_sigcheck *sc = NULL;
    exst_digests dg;
    memset(&dg, 0, sizeof dg);
    if (r->src_prev != INT64_MIN && t < r->src_prev) {
        rc = exstp_error_simple(err, EXST_ERR_ORDER, v->name,
                                "out of order: valid-after %s comes after a "
                                "document of %s (the documents of an "
                                "archive or stream must be in time order)",
                                exst_time_iso(ts, t),
                                exst_time_iso(ps, r->src_prev));
        goto done;
    }
    r->src_prev = t;
    if ((r->o.since_set && t < r->o.since) ||
        (r->o.until_set && t > r->o.until)) {
        r->st.outside++;
        goto done;
    }
    /* Resume: what the history already holds is skipped and counted. */
    const int64_t rp = r->st.resume_point;
    if (rp != EXST_TIME_NONE &&
        (t < rp || (t == rp && (r->resume_flavors & (1u << fl))))) {
        r->st.resumed++;
        goto done;
    }
    const int64_t newest = exst_history_newest(h0);
    if (t == newest && (exst_history_newest_flavors(h0) & (1u << fl))) {
        say(r, r->o.warn, "%s: a second %s consensus of %s; skipped",
            v->name, fl == EXST_FLAVOR_NS ? "ns" : "microdesc",
            exst_time_iso(ts, t));
        r->st.duplicates++;
        goto done;
    }
    if (newest != EXST_TIME_NONE && t < newest) {
        rc = exstp_error_simple(err, EXST_ERR_ORDER, v->name,
                                "out of order: valid-after %s is older than "
                                "the history's newest, %s",
                                exst_time_iso(ts, t),
                                exst_time_iso(ps, newest));
        goto done;
    }
    /* SPEC 8: checked before anything acts on it. */
    if ((rc = trust_check(r, c, v->name, &dg, &sc, err)) != EXST_OK) {
        if (r->o.keep_going && rc != EXST_ERR_NOMEM) {
            say(r, r->o.warn, "skipping %s: %s", v->name, err->message);
            note_bad(r, v->name, err);
            exst_error_clear(err);
            rc = EXST_OK;
            goto done;
        }
        goto fail;
    }
    if (r->n_tr > 0 || r->n_tr_nick > 0) {
        if ((rc = trace_before(r, c, err)) != EXST_OK)
            goto done;
    }
    size_t g = 0;
    for (; g < r->n_groups; g++) {
        rc = exstp_stage_observe(&r->groups[g].ob, r->groups[g].h, c,
                                 &r->groups[g].opts, err);
        if (rc != EXST_OK)
            break;
        r->groups[g].observed = true;
    }
    if (rc != EXST_OK) {
        undo_groups(r, g);
        goto fail;
    }
    for (size_t i = 0; i < r->n_lanes && rc == EXST_OK; i++) {
        exst_stage_opts lo = r->lanes[i].opts;
        if (i == 0)
            lo.produce |= EXST_STAGE_PRIMARY;
        lo.digests = &dg;
        lo.signatures = sc;
        rc = exstp_stage_evaluate(&r->lanes[i].res,
                                  &r->groups[r->lanes[i].group].ob, &lo, err);
    }
    /* The outputs, before anything counts: a document whose outputs
     * cannot all be written is taken back out of the history. */
    if (rc == EXST_OK)
        rc = write_outputs(r, c, &dg, err);
    if (rc != EXST_OK) {
        undo_groups(r, r->n_groups);
        goto fail;
    }
    if (r->tr_fd >= 0 && (r->n_tr > 0 || r->n_tr_nick > 0) &&
        (rc = trace_after(r, c, err)) != EXST_OK) {
        undo_groups(r, r->n_groups);
        goto fail;
    }
    for (size_t k = 0; k < exst_stage_warning_count(r->lanes[0].res); k++)
        say(r, r->o.warn, "%s: %s", v->name,
            exst_stage_warning(r->lanes[0].res, k));
    if ((rc = analyse(r, c, err)) != EXST_OK)
        goto done; /* out of memory: the document is staged, stop */
    if (r->st.processed++ == 0)
        r->st.first = t;
    r->st.last = t;
    r->st.by_flavor[fl]++;
    if (t > r->prev_t)
        r->prev_t = t;
    if (++r->since_commit >= r->o.checkpoint)
        rc = commit(r, err);
    goto done;
fail:
    if (err->source[0] == '\0')
        snprintf(err->source, sizeof err->source, "%s", v->name);
done:
    free_doc_state(r);
    exst_sigcheck_free(sc);
    exst_consensus_free(c);
    return rc;
}

/* ---- the run --------------------------------------------------------- */

/* The next thing input cur yields.  *it is a queued item (owned) or the
 * input's own borrowed read (owned false). */
static int next_item(exst_replay *r, item **it, bool *owned,
                     exst_error *err)
{
    const size_t cur = r->cur;
    srcrun *s = &r->run[cur];
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (s->head != NULL) {
            item *x = s->head;
            s->head = x->next;
            if (s->head == NULL)
                s->tail = NULL;
            if (x->kind == IT_DOC && x->data != NULL)
                r->mem -= x->len;
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
            *it = x;
            *owned = true;
            if (x->kind != IT_DOC || x->data != NULL)
                return EXST_OK;
            /* Spooled: read it back. */
            if (x->spool_clen > r->zcap) {
                char *p = exstp_realloc(r->zbuf, x->spool_clen);
                if (p == NULL)
                    return nomem(err);
                r->zbuf = p;
                r->zcap = x->spool_clen;
            }
            size_t got = 0;
            while (got < x->spool_clen) {
                ssize_t k = pread(s->spool_fd, r->zbuf + got,
                                  x->spool_clen - got,
                                  (off_t)(x->spool_off + got));
                if (k < 0 && errno == EINTR)
                    continue;
                if (k <= 0)
                    return out_error(err, "spool in", r->o.spool_dir,
                                     k < 0 ? errno : EIO);
                got += (size_t)k;
            }
            x->data = exstp_malloc(x->len + 1);
            if (x->data == NULL)
                return nomem(err);
            size_t dn = ZSTD_decompress(x->data, x->len, r->zbuf,
                                        x->spool_clen);
            if (ZSTD_isError(dn) || dn != x->len)
                return exstp_error_simple(err, EXST_ERR_IO, r->o.spool_dir,
                                          "spooled document damaged");
            x->data[x->len] = '\0';
            return EXST_OK;
        }
        /* A regular file nobody reads yet: a reader will take it (they
         * take inputs in order, so it is next), and decompression then
         * runs beside staging even with one input.  Read it here only
         * when there are no readers. */
        if (s->owner == OWN_NONE &&
            (r->readers_live == 0 || r->src[cur].stream))
            s->owner = OWN_CONSUMER;
        if (r->helper == cur)
            r->helper = SIZE_MAX; /* read it directly from now on */
        const int owner = s->owner;
        const bool finished = s->finished;
        pthread_mutex_unlock(&r->mu);
        if (owner == OWN_CONSUMER && !finished) {
            /* Read it here, in place (the parser borrows the bytes). */
            item *x = &s->last;
            memset(x, 0, sizeof *x);
            int rc = EXST_OK;
            if (s->a == NULL)
                rc = open_archive(r, cur, &s->fd, &s->a, &x->err);
            exst_archive_doc d;
            if (rc == EXST_OK)
                rc = exst_archive_next(s->a, &d, &x->err);
            x->bytes_in = s->a ? exst_archive_bytes_in(s->a) : 0;
            if (rc != EXST_OK) {
                x->kind = IT_ERR;
                x->status = rc;
                x->name = (char *)"";
            } else if (d.data == NULL) {
                x->kind = IT_END;
            } else {
                x->kind = IT_DOC;
                x->name = (char *)d.name;
                x->data = (char *)d.data;
                x->len = d.len;
                x->tar = (exst_archive_format(s->a) & EXST_ARCHIVE_TAR) != 0;
                fill_meta(x, &d);
            }
            *it = x;
            *owned = false;
            return EXST_OK;
        }
        if (interrupted(r))
            return exstp_error_simple(err, EXST_ERR_INTERRUPTED, NULL,
                                      "interrupted");
        /* Its reader is behind: help with a later input, or wait. */
        if (r->n_th > 0 && help_one(r))
            continue;
        pthread_mutex_lock(&r->mu);
        if (s->head == NULL && !(s->finished && s->head == NULL)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        }
        pthread_mutex_unlock(&r->mu);
    }
}

static void close_source(exst_replay *r, size_t j)
{
    srcrun *s = &r->run[j];
    exst_archive_close(s->a);
    s->a = NULL;
    if (s->fd >= 0 && s->fd != STDIN_FILENO)
        close(s->fd);
    s->fd = -1;
    if (s->spool_fd >= 0)
        close(s->spool_fd);
    s->spool_fd = -1;
    pthread_mutex_lock(&r->mu);
    for (item *x = s->head; x != NULL;) {
        item *n = x->next;
        if (x->kind == IT_DOC && x->data != NULL)
            r->mem -= x->len;
        item_free(x);
        x = n;
    }
    s->head = s->tail = NULL;
    pthread_mutex_unlock(&r->mu);
}

static void progress(exst_replay *r, uint64_t done_bytes, uint64_t in_src)
{
    if (r->o.progress == NULL)
        return;
    exst_replay_progress p = {
        .documents = r->st.processed,
        .valid_after = r->prev_t == INT64_MIN ? EXST_TIME_NONE : r->prev_t,
        .bytes_in = done_bytes + in_src,
        .bytes_total = r->bytes_total,
        .source = r->cur + 1,
        .sources = r->n_src,
    };
    r->o.progress(r->o.ud, &p);
}

static void stop_threads(exst_replay *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < r->n_th; i++)
        pthread_join(r->th[i], NULL);
    r->n_th = 0;
}

int exst_replay_run(exst_replay *r, exst_error *err)
{
    if (r == NULL || r->run == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "replay: no inputs");
    int rc = EXST_OK;
    uint64_t done_bytes = 0;
    /* Readers for the regular inputs; the staging thread reads too. */
    size_t want = r->o.threads > 1 ? r->o.threads - 1 : 0;
    r->cur = 0; /* before any reader looks at it */
    if (want > 0) {
        r->th = exstp_calloc(want, sizeof *r->th);
        if (r->th == NULL)
            return nomem(err);
        for (size_t i = 0; i < want; i++) {
            pthread_mutex_lock(&r->mu);
            r->readers_live++;
            pthread_mutex_unlock(&r->mu);
            if (pthread_create(&r->th[i], NULL, reader_main, r) != 0) {
                pthread_mutex_lock(&r->mu);
                r->readers_live--;
                pthread_mutex_unlock(&r->mu);
                break;
            }
            r->n_th++;
        }
    }
    while (r->cur < r->n_src && rc == EXST_OK) {
        const source *src = &r->src[r->cur];
        if (src->skip) {
            pthread_mutex_lock(&r->mu);
            r->cur++;
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
            continue;
        }
        r->src_prev = INT64_MIN;
        bool end = false;
        size_t index = 0;
        const char *prev_name = NULL;
        char *prev_copy = NULL;
        while (!end && rc == EXST_OK) {
            item *it = NULL;
            bool owned = false;
            rc = next_item(r, &it, &owned, err);
            if (rc != EXST_OK) {
                if (owned)
                    item_free(it);
                break;
            }
            if (it->kind == IT_DOC) {
                /* Documents back to back in one member: their index. */
                index = prev_name != NULL && strcmp(prev_name, it->name) == 0
                            ? index + 1
                            : 0;
                exstp_free(prev_copy);
                prev_copy = exstp_strndup(it->name, strlen(it->name));
                prev_name = prev_copy;
                docview v = {it->name, it->data, it->len, it->dkind,
                             it->type, it->tar};
                rc = stage_doc(r, src, &v, index, err);
                progress(r, done_bytes, it->bytes_in);
                if (rc == EXST_OK && interrupted(r))
                    rc = exstp_error_simple(err, EXST_ERR_INTERRUPTED, NULL,
                                            "interrupted");
            } else if (it->kind == IT_END) {
                done_bytes += src->stream ? it->bytes_in : src->size;
                end = true;
            } else {
                const int st = it->status;
                if (r->o.keep_going && st != EXST_ERR_NOMEM &&
                    st != EXST_ERR_INTERRUPTED) {
                    say(r, r->o.warn, "skipping %s%s: %s",
                        index > 0 || prev_name ? "the rest of " : "",
                        src->path, it->err.message);
                    note_bad(r, it->err.source[0] ? it->err.source
                                                  : src->path,
                             &it->err);
                    done_bytes += src->size;
                    end = true;
                } else {
                    *err = it->err;
                    rc = st;
                }
            }
            if (owned)
                item_free(it);
        }
        exstp_free(prev_copy);
        close_source(r, r->cur);
        if (rc == EXST_OK) {
            pthread_mutex_lock(&r->mu);
            r->cur++;
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
        }
    }
    stop_threads(r);
    for (size_t j = 0; j < r->n_src; j++)
        close_source(r, j);
    /* Commit the state after the last good document (SPEC 4.4). */
    bool need = r->since_commit > 0 || r->tl_len > 0 ||
                (r->persist && r->st.history_created &&
                 r->st.commits == 0 && rc == EXST_OK);
    if (need) {
        exst_error cerr;
        exst_error_clear(&cerr);
        int crc = commit(r, rc == EXST_OK ? err : &cerr);
        if (rc == EXST_OK)
            rc = crc;
    }
    return rc;
}

/* ---- results --------------------------------------------------------- */

const exst_replay_stats *exst_replay_get_stats(const exst_replay *r)
{
    return &r->st;
}

size_t exst_replay_bad_count(const exst_replay *r)
{
    return r->n_bad;
}

const char *exst_replay_bad(const exst_replay *r, size_t i)
{
    return i < r->n_bad ? r->bad[i] : "";
}

size_t exst_replay_lane_count(const exst_replay *r)
{
    return r->n_lanes;
}

void exst_replay_lane(const exst_replay *r, size_t i, exst_lane_figures *out)
{
    exstp_analysis_figures(r->an, i, out);
}

void exst_replay_gap(const exst_replay *r, size_t ln, size_t g,
                     int64_t *from, int64_t *to, uint64_t *hours)
{
    exstp_analysis_gap(r->an, ln, g, from, to, hours);
}

int exst_replay_summary_json(char **out, const exst_replay *r, int series,
                             exst_error *err)
{
    exstp_archive_counts k = {
        .documents = r->st.processed,
        .by_flavor = {r->st.by_flavor[0], r->st.by_flavor[1]},
        .not_consensus = r->st.not_consensus,
        .duplicates = r->st.duplicates,
        .bad = r->st.bad,
        .resumed = r->st.resumed,
        .outside = r->st.outside,
        .first = r->st.first,
        .last = r->st.last,
    };
    return exstp_analysis_json(out, r->an, &k, series != 0, err);
}

void exst_replay_free(exst_replay *r)
{
    if (r == NULL)
        return;
    if (r->sync_init)
        stop_threads(r);
    for (size_t j = 0; r->run != NULL && j < r->n_src; j++)
        close_source(r, j);
    free_doc_state(r);
    if (r->tl_fd >= 0) {
        exst_error e;
        (void)tl_flush(r, false, &e);
        if (r->tl_own)
            close(r->tl_fd);
    }
    if (r->tr_own && r->tr_fd >= 0)
        close(r->tr_fd);
    for (size_t g = 0; r->groups != NULL && g < r->n_groups; g++)
        exst_history_free(r->groups[g].h);
    for (size_t j = 0; j < r->n_src; j++)
        exstp_free(r->src[j].path);
    for (size_t i = 0; i < r->n_bad; i++)
        exstp_free(r->bad[i]);
    for (size_t i = 0; i < r->n_tr_nick; i++)
        exstp_free(r->tr_nick[i]);
    if (r->sync_init) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
    }
    ZSTD_freeCCtx(r->zc);
    exstp_free(r->tr_nick);
    exstp_free(r->tr);
    exstp_free(r->th);
    exstp_free(r->run);
    exstp_free(r->src);
    exstp_free(r->groups);
    exstp_free(r->lanes);
    exstp_free(r->steady);
    exstp_free(r->strip_row);
    exstp_free(r->tl_buf);
    exstp_free(r->zbuf);
    exstp_free(r->dbuf);
    exstp_free(r->db);
    exstp_analysis_free(r->an);
    exstp_free(r);
}
