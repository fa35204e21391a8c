/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_replay.c - `exitstage replay --db FILE [options] PATH...`: replay
 * archived consensuses in valid-after order (SPEC 2.2, 4.3, 4.4, 5).
 *
 * Inputs (files, directories, tar and zstd tar archives, "-") are peeked
 * and sorted by the valid-after of their first document; members inside
 * an archive or stream must already be in order, and one that is not is
 * an error naming it.  The history stays in memory and is committed at
 * checkpoints and at the end, each commit the state after a whole
 * consensus, so an error or SIGINT keeps everything up to the last good
 * document and a second run resumes where the first stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_policy.h"
#include "cli_util.h"
#include "exitstage.h"

enum {
    OPT_DB = OPT_LOCAL,
    OPT_TIMELINE,
    OPT_OUT_DIR,
    OPT_REPORTS_DIR,
    OPT_QUIET,
    OPT_KEEP_GOING,
    OPT_DIGESTS,
    OPT_CHECKPOINT,
    OPT_THREADS
};

#define DEFAULT_CHECKPOINT 168 /* a week of hourly consensuses */
#define MAX_LISTED_SKIPS 20

static void replay_help(void)
{
    fputs("usage: exitstage replay --db FILE [options] PATH...\n"
          "\n"
          "Replays consensus files, directories, tar and zstd tar archives\n"
          "('-': a tar or one consensus on stdin) in valid-after order,\n"
          "keeping the history in memory and committing it at checkpoints\n"
          "and at the end.  Creates the history if it does not exist.\n"
          "\n"
          "  --db FILE              the history\n"
          "  --timeline FILE|-      NDJSON record per consensus\n"
          "  --digests              sha256 of each input in the timeline\n"
          "  --out-dir DIR          annotated consensuses, named as inputs\n"
          "  --reports-dir DIR      one JSON report per consensus\n"
          "  --checkpoint N         commit every N consensuses (default "
          "168)\n"
          "  --keep-going           skip bad documents, list them at the end\n"
          "  --threads 1|2          2: read ahead on a second thread "
          "(default\n"
          "                         when there is more than one CPU)\n"
          "  --quiet                no progress bar\n"
          "\n" CLI_POLICY_HELP, stdout);
}

/* An input after expansion, with the sort key of its first document. */
typedef struct source {
    char *path;
    int64_t first;      /* valid-after of the first document */
    int flavor;         /* its flavour (ns sorts first) */
    size_t order;       /* position on the command line */
    uint64_t size;
} source;

static int cmp_source(const void *a, const void *b)
{
    const source *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    if (x->flavor != y->flavor)
        return x->flavor < y->flavor ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

/* A set of 20-byte identities (open addressing) for "relays ever staged". */
typedef struct idset {
    uint8_t (*v)[20];
    uint8_t *used;
    size_t n, cap;
} idset;

static int idset_add(idset *s, const uint8_t id[20])
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        idset t = {calloc(cap, 20), calloc(cap, 1), 0, cap};
        if (t.v == NULL || t.used == NULL) {
            free(t.v);
            free(t.used);
            return -1;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->used[i])
                idset_add(&t, s->v[i]);
        free(s->v);
        free(s->used);
        *s = t;
    }
    uint64_t hv;
    memcpy(&hv, id, sizeof hv);
    size_t i = (size_t)(hv % s->cap);
    while (s->used[i]) {
        if (memcmp(s->v[i], id, 20) == 0)
            return 0;
        i = (i + 1) % s->cap;
    }
    memcpy(s->v[i], id, 20);
    s->used[i] = 1;
    s->n++;
    return 0;
}

typedef struct stats {
    uint64_t processed, by_flavor[2];
    uint64_t resumed_skips, duplicates, bad;
    char *bad_names[MAX_LISTED_SKIPS];
    int64_t first, last;        /* processed valid-afters */
    int64_t prev_distinct;
    uint64_t gaps, missing_hours;
    double frac_sum, frac_peak;
    double warm_frac_sum;       /* the same, after warming up */
    uint64_t after_warm;
    int64_t frac_peak_at;
    int64_t warm_from, warm_to;
    idset staged;
} stats;

typedef struct replay {
    cli_policy pol;
    const char *db;
    const char *timeline_path, *out_dir, *reports_dir;
    FILE *timeline;
    bool keep_going, quiet, progress;
    unsigned threads;      /* 1: read and stage on one thread; 2: a reader
                              thread decompresses ahead */
    unsigned checkpoint;
    exst_history *h;
    int64_t resume_point;  /* history's newest when the replay began */
    unsigned resume_flavors;
    int64_t prev_t;        /* newest valid-after met in this run */
    unsigned since_commit;
    stats st;
    /* progress */
    uint64_t total_bytes, done_bytes;
    uint64_t n_docs_done;
    size_t n_sources, cur_source;
    struct timespec t0;
    double last_draw;
} replay;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(replay *r, uint64_t source_bytes, bool final)
{
    if (!r->progress)
        return;
    double t = now_s();
    if (!final && t - r->last_draw < 0.2)
        return;
    r->last_draw = t;
    double el = t - ((double)r->t0.tv_sec + (double)r->t0.tv_nsec / 1e9);
    uint64_t done = r->done_bytes + source_bytes;
    double mbs = el > 0 ? (double)done / 1e6 / el : 0;
    double frac = r->total_bytes ? (double)done / (double)r->total_bytes : 0;
    double eta = frac > 0 && frac < 1 ? el / frac - el : 0;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r[%s] %llu docs, input %zu/%zu, %.1f MB/s read, ETA %02d:%02d%s",
            bar, (unsigned long long)r->n_docs_done, r->cur_source,
            r->n_sources, mbs, (int)(eta / 60), (int)eta % 60,
            final ? "\n" : "");
}

static int commit(replay *r)
{
    exst_error err;
    exst_error_clear(&err);
    int s = exst_history_save(r->h, r->db, &err);
    r->since_commit = 0;
    return cli_report(s, &err);
}

/* Base name of a document for --out-dir/--reports-dir, without ".zst". */
static void doc_basename(char *out, size_t outsz, const char *name)
{
    const char *b = strrchr(name, '/');
    b = b ? b + 1 : name;
    size_t n = strlen(b);
    if (n > 4 && strcmp(b + n - 4, ".zst") == 0)
        n -= 4;
    if (n == 0 || (n == 7 && memcmp(b, "<stdin>", 7) == 0)) {
        b = "stdin";
        n = 5;
    }
    snprintf(out, outsz, "%.*s", (int)n, b);
}

static int write_in_dir(const char *dir, const char *base, const char *ext,
                        const void *buf, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s", dir, base, ext);
    return cli_write_file(path, buf, n);
}

static void note_bad(replay *r, const char *name, const exst_error *err)
{
    if (r->st.bad < MAX_LISTED_SKIPS) {
        char buf[600];
        if (err->line > 0)
            snprintf(buf, sizeof buf, "%s:%lu:%lu: %s", name, err->line,
                     err->column, err->message);
        else
            snprintf(buf, sizeof buf, "%s: %s", name, err->message);
        r->st.bad_names[r->st.bad] = strdup(buf);
    }
    r->st.bad++;
}

/* Stage one document.  Returns EXIT_OK, or an exit status to stop. */
static int one_doc(replay *r, const exst_archive_doc *d, bool in_stream)
{
    exst_error err;
    exst_consensus *c = NULL;
    exst_stage_result *res = NULL;
    int rc = EXIT_OK;
    exst_error_clear(&err);
    /* The member stays in the reader's buffer until the next one is read,
     * so the parser can work on it in place. */
    exst_parse_opts popts = r->pol.popts;
    popts.flags |= EXST_PARSE_BORROW;
    int s = exst_consensus_parse(&c, d->data, d->len, d->name, &popts, &err);
    if (s != EXST_OK) {
        if (r->keep_going && s != EXST_ERR_NOMEM) {
            cli_warn("skipping %s: %s", d->name, err.message);
            note_bad(r, d->name, &err);
            return EXIT_OK;
        }
        return cli_report(s, &err);
    }
    const int64_t t = exst_consensus_valid_after(c);
    const exst_flavor fl = exst_consensus_flavor(c);
    char ts[21], ps[21];
    if (t < r->prev_t && in_stream) {
        exst_time_iso(ts, t);
        exst_time_iso(ps, r->prev_t);
        cli_msg("%s: out of order: valid-after %s comes after a document "
                "of %s (archive members must be in time order)",
                d->name, ts, ps);
        rc = EXIT_INPUT;
        goto done;
    }
    if (t > r->prev_t)
        r->prev_t = t;
    /* Resume: what the history already holds is skipped and counted. */
    if (t < r->resume_point ||
        (t == r->resume_point && (r->resume_flavors & (1u << fl)))) {
        r->st.resumed_skips++;
        goto done;
    }
    int64_t newest = exst_history_newest(r->h);
    if (t == newest && (exst_history_newest_flavors(r->h) & (1u << fl))) {
        cli_warn("%s: a second %s consensus of %s; skipped", d->name,
                 fl == EXST_FLAVOR_NS ? "ns" : "microdesc",
                 exst_time_iso(ts, t));
        r->st.duplicates++;
        goto done;
    }
    if (t < newest) {
        exst_time_iso(ts, t);
        exst_time_iso(ps, newest);
        cli_msg("%s: out of order: valid-after %s is older than the "
                "history's newest, %s", d->name, ts, ps);
        rc = EXIT_INPUT;
        goto done;
    }
    s = exst_stage_run(&res, r->h, c, &r->pol.so, &err);
    if (s != EXST_OK) {
        if (err.source[0] == '\0')
            snprintf(err.source, sizeof err.source, "%s", d->name);
        rc = cli_report(s, &err);
        goto done;
    }
    for (size_t i = 0; i < exst_stage_warning_count(res); i++)
        cli_warn("%s: %s", d->name, exst_stage_warning(res, i));
    const exst_stage_summary *sum = exst_stage_get_summary(res);
    if (r->timeline) {
        exst_span tl = exst_stage_timeline(res);
        if (fwrite(tl.ptr, 1, tl.len, r->timeline) != tl.len) {
            cli_msg("cannot write timeline '%s': %s", r->timeline_path,
                    strerror(errno));
            rc = EXIT_FAIL;
            goto done;
        }
    }
    if (r->out_dir || r->reports_dir) {
        char base[512];
        doc_basename(base, sizeof base, d->name);
        if (r->out_dir) {
            exst_span o = exst_stage_output(res);
            void *z = NULL;
            size_t zn = 0;
            if (r->pol.zstd) {
                if (exst_zstd_compress(&z, &zn, o.ptr, o.len, 3, &err) !=
                    EXST_OK) {
                    rc = cli_report(EXST_ERR_NOMEM, &err);
                    goto done;
                }
            }
            rc = write_in_dir(r->out_dir, base, r->pol.zstd ? ".zst" : "",
                              z ? z : o.ptr, z ? zn : o.len);
            exst_free(z);
            if (rc != EXIT_OK)
                goto done;
        }
        if (r->reports_dir) {
            exst_span rep = exst_stage_report(res);
            if ((rc = write_in_dir(r->reports_dir, base, ".json", rep.ptr,
                                   rep.len)) != EXIT_OK)
                goto done;
        }
    }
    /* Summary statistics. */
    stats *st = &r->st;
    if (st->processed == 0)
        st->first = t;
    if (st->processed > 0 && t > st->prev_distinct + 3600) {
        st->gaps++;
        st->missing_hours += (uint64_t)((t - st->prev_distinct) / 3600 - 1);
    }
    if (st->processed == 0 || t > st->prev_distinct)
        st->prev_distinct = t;
    st->last = t;
    st->processed++;
    st->by_flavor[fl]++;
    st->frac_sum += sum->stripped_fraction;
    if (sum->stripped_fraction > st->frac_peak || st->processed == 1) {
        st->frac_peak = sum->stripped_fraction;
        st->frac_peak_at = t;
    }
    if (!sum->warming_up) {
        st->warm_frac_sum += sum->stripped_fraction;
        st->after_warm++;
    }
    if (sum->warming_up) {
        if (st->warm_from == EXST_TIME_NONE)
            st->warm_from = t;
        st->warm_to = t;
    }
    for (size_t i = 0; i < exst_stage_in_staging_count(res); i++)
        if (idset_add(&st->staged, exst_stage_in_staging_id(res, i)) != 0) {
            cli_msg("out of memory");
            rc = EXIT_FAIL;
            goto done;
        }
    r->n_docs_done++;
    if (++r->since_commit >= r->checkpoint)
        rc = commit(r);
done:
    exst_stage_result_free(res);
    exst_consensus_free(c);
    return rc;
}

/* Open an input ("-" is standard input); on failure err says why. */
static int open_input(const char *path, int *fd, exst_error *err)
{
    if (strcmp(path, "-") == 0) {
        *fd = STDIN_FILENO;
        return EXST_OK;
    }
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        snprintf(err->message, sizeof err->message, "cannot open '%s': %s",
                 path, strerror(errno));
        return EXST_ERR_IO;
    }
    return EXST_OK;
}

/* Peek at the first document of a file to sort it. */
static int peek_source(source *s, replay *r)
{
    int fd;
    exst_archive *a = NULL;
    exst_archive_doc d;
    exst_error err;
    exst_error_clear(&err);
    if (open_input(s->path, &fd, &err) != EXST_OK)
        return cli_report(EXST_ERR_IO, &err);
    struct stat sb;
    if (fstat(fd, &sb) == 0)
        s->size = (uint64_t)sb.st_size;
    /* Only the header is needed to sort: read a prefix, not the whole
     * document (inputs are read again when they are replayed). */
    exst_archive_opts aopts = {.peek_bytes = 64 << 10};
    int st = exst_archive_open(&a, fd, s->path, &aopts, &err);
    if (st == EXST_OK)
        st = exst_archive_next(a, &d, &err);
    if (st == EXST_OK && d.data == NULL) {
        s->first = INT64_MAX; /* empty archive: harmless, sorts last */
        s->flavor = 2;
    } else if (st == EXST_OK) {
        exst_flavor fl;
        st = exst_peek_header(&s->first, &fl, d.data, d.len, d.name, &err);
        s->flavor = (int)fl;
    }
    exst_archive_close(a);
    close(fd);
    if (st != EXST_OK) {
        if (r->keep_going) {
            cli_warn("skipping %s: %s", s->path, err.message);
            note_bad(r, s->path, &err);
            s->first = INT64_MIN; /* marked: not processed */
            s->flavor = -1;
            return EXIT_OK;
        }
        return cli_report(st, &err);
    }
    return EXIT_OK;
}

/*
 * Reading and staging are split by what they share: a producer walks the
 * sources in order and emits events (a document, a source's end, an
 * error); a consumer handles them in the same order.  Single-threaded, the
 * producer calls the consumer directly.  With --threads 2 the producer runs
 * on its own thread (decompression and tar parsing overlap with parsing
 * and staging) and hands documents over through a small ring of buffers;
 * the history is only ever touched by the consumer, in order.
 */
enum { EV_DOC, EV_END, EV_ERROR };

typedef struct event {
    int kind;
    const source *src;
    exst_archive_doc doc; /* EV_DOC */
    bool stream;          /* the document came from a tar or stdin */
    uint64_t bytes_in;    /* input bytes of this source read so far */
    int status;           /* EV_ERROR */
    exst_error err;
} event;

/* Consume one event; returns EXIT_OK to go on. */
static int handle_event(replay *r, const event *ev)
{
    switch (ev->kind) {
    case EV_DOC: {
        int rc = one_doc(r, &ev->doc, ev->stream);
        progress(r, ev->bytes_in, false);
        return rc;
    }
    case EV_END:
        r->done_bytes += ev->bytes_in;
        return EXIT_OK;
    default:
        break;
    }
    if (ev->status == EXST_ERR_INTERRUPTED)
        return EXIT_INTERRUPT;
    if (r->keep_going && ev->status != EXST_ERR_NOMEM &&
        !(ev->status == EXST_ERR_IO && ev->doc.name != NULL)) {
        const char *what = ev->err.source[0] ? ev->err.source
                                             : ev->src->path;
        cli_warn("skipping %s%s: %s", ev->doc.name ? "the rest of " : "",
                 ev->src->path, ev->err.message);
        note_bad(r, what, &ev->err);
        return EXIT_OK;
    }
    return cli_report(ev->status, &ev->err);
}

typedef struct sink sink;
struct sink {
    /* Deliver an event; false stops the producer. */
    bool (*emit)(sink *k, event *ev);
    replay *r;
    int rc; /* single-threaded: the consumer's verdict */
};

static bool emit_direct(sink *k, event *ev)
{
    k->rc = handle_event(k->r, ev);
    return k->rc == EXIT_OK && !cli_is_interrupted();
}

/* Read one source and emit its documents; false if told to stop. */
static bool produce_source(sink *k, const source *s)
{
    event ev;
    exst_archive *a = NULL;
    int fd = STDIN_FILENO;
    memset(&ev, 0, sizeof ev);
    ev.src = s;
    ev.kind = EV_ERROR;
    if ((ev.status = open_input(s->path, &fd, &ev.err)) != EXST_OK)
        return k->emit(k, &ev);
    exst_archive_opts aopts = {.interrupt = &cli_interrupted};
    ev.status = exst_archive_open(&a, fd, cli_name(s->path), &aopts, &ev.err);
    bool go_on;
    if (ev.status != EXST_OK) {
        go_on = k->emit(k, &ev);
    } else {
        ev.stream = (exst_archive_format(a) & EXST_ARCHIVE_TAR) ||
                    strcmp(s->path, "-") == 0;
        for (;;) {
            if (cli_is_interrupted()) {
                ev.kind = EV_ERROR;
                ev.status = EXST_ERR_INTERRUPTED;
                go_on = k->emit(k, &ev);
                break;
            }
            exst_error_clear(&ev.err);
            ev.status = exst_archive_next(a, &ev.doc, &ev.err);
            ev.bytes_in = exst_archive_bytes_in(a);
            if (ev.status != EXST_OK) {
                ev.kind = EV_ERROR;
                ev.doc.name = "";  /* marks "after the start" */
                go_on = k->emit(k, &ev);
                break;
            }
            if (ev.doc.data == NULL) {
                ev.kind = EV_END;
                go_on = k->emit(k, &ev);
                break;
            }
            ev.kind = EV_DOC;
            if (!(go_on = k->emit(k, &ev)))
                break;
        }
    }
    exst_archive_close(a);
    if (fd != STDIN_FILENO)
        close(fd);
    return go_on;
}

/* ---- the threaded hand-over --------------------------------------- */

#define RING 4

typedef struct slot {
    event ev;
    char *buf, *name;
    size_t cap, name_cap;
} slot;

typedef struct ring {
    sink k;                  /* first: the producer's sink */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot slots[RING];
    size_t head, count;      /* next slot to consume, slots filled */
    bool stop;               /* consumer says: no more */
    bool done;               /* producer finished every source */
    const source *srcs;
    size_t n_src;
} ring;

static bool grow(char **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return true;
    size_t c = *cap ? *cap : 1 << 16;
    while (c < need)
        c *= 2;
    char *p = realloc(*buf, c);
    if (p == NULL)
        return false;
    *buf = p;
    *cap = c;
    return true;
}

static bool emit_ring(sink *k, event *ev)
{
    ring *g = (ring *)k; /* the sink is the ring's first member */
    pthread_mutex_lock(&g->mu);
    while (g->count == RING && !g->stop)
        pthread_cond_wait(&g->cv, &g->mu);
    if (g->stop) {
        pthread_mutex_unlock(&g->mu);
        return false;
    }
    slot *sl = &g->slots[(g->head + g->count) % RING];
    pthread_mutex_unlock(&g->mu);
    /* The slot is the producer's until it is counted in. */
    sl->ev = *ev;
    if (ev->kind == EV_DOC || ev->doc.name != NULL) {
        const char *nm = ev->doc.name ? ev->doc.name : "";
        size_t nl = strlen(nm) + 1;
        size_t dl = ev->kind == EV_DOC ? ev->doc.len : 0;
        if (!grow(&sl->name, &sl->name_cap, nl) ||
            !grow(&sl->buf, &sl->cap, dl + 1)) {
            sl->ev.kind = EV_ERROR;
            sl->ev.status = EXST_ERR_NOMEM;
            snprintf(sl->ev.err.message, sizeof sl->ev.err.message,
                     "out of memory");
        } else {
            memcpy(sl->name, nm, nl);
            sl->ev.doc.name = sl->name;
            if (ev->kind == EV_DOC) {
                memcpy(sl->buf, ev->doc.data, dl);
                sl->buf[dl] = '\0';
                sl->ev.doc.data = sl->buf;
            }
        }
    }
    pthread_mutex_lock(&g->mu);
    g->count++;
    pthread_cond_broadcast(&g->cv);
    bool go_on = !g->stop;
    pthread_mutex_unlock(&g->mu);
    return go_on && sl->ev.status != EXST_ERR_NOMEM;
}

static void *producer_main(void *arg)
{
    ring *g = arg;
    for (size_t i = 0; i < g->n_src; i++) {
        if (g->srcs[i].flavor < 0)
            continue; /* unreadable, listed as skipped */
        if (!produce_source(&g->k, &g->srcs[i]))
            break;
    }
    pthread_mutex_lock(&g->mu);
    g->done = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static int run_threaded(replay *r, const source *srcs, size_t n_src)
{
    ring *g = calloc(1, sizeof *g);
    pthread_t th;
    int rc = EXIT_OK;
    if (g == NULL) {
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    g->k.emit = emit_ring;
    g->k.r = r;
    g->srcs = srcs;
    g->n_src = n_src;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    if (pthread_create(&th, NULL, producer_main, g) != 0) {
        cli_msg("cannot start the reader thread");
        free(g);
        return EXIT_FAIL;
    }
    bool signalled = false;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while (g->count == 0 && !g->done) {
            if (cli_is_interrupted() && !signalled) {
                /* Wake a reader blocked in read(2): its EINTR ends it. */
                signalled = true;
                pthread_kill(th, SIGINT);
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        }
        if (g->count == 0) { /* done */
            pthread_mutex_unlock(&g->mu);
            break;
        }
        slot *sl = &g->slots[g->head];
        pthread_mutex_unlock(&g->mu);
        r->cur_source = (size_t)(sl->ev.src - srcs) + 1;
        rc = handle_event(r, &sl->ev);
        if (rc == EXIT_OK && cli_is_interrupted())
            rc = EXIT_INTERRUPT;
        pthread_mutex_lock(&g->mu);
        g->head = (g->head + 1) % RING;
        g->count--;
        if (rc != EXIT_OK)
            g->stop = true;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (rc != EXIT_OK)
            break;
    }
    pthread_mutex_lock(&g->mu);
    const bool reader_done = g->done;
    pthread_mutex_unlock(&g->mu);
    if (rc != EXIT_OK && !reader_done)
        pthread_kill(th, SIGINT); /* a reader blocked in read(2) */
    pthread_join(th, NULL);
    for (size_t i = 0; i < RING; i++) {
        free(g->slots[i].buf);
        free(g->slots[i].name);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
    return rc;
}

static int run_sources(replay *r, const source *srcs, size_t n_src)
{
    if (r->threads > 1)
        return run_threaded(r, srcs, n_src);
    sink k = {.emit = emit_direct, .r = r, .rc = EXIT_OK};
    for (size_t i = 0; i < n_src; i++) {
        if (srcs[i].flavor < 0)
            continue; /* unreadable, listed as skipped */
        r->cur_source = i + 1;
        if (!produce_source(&k, &srcs[i]))
            break;
    }
    if (k.rc == EXIT_OK && cli_is_interrupted())
        return EXIT_INTERRUPT;
    return k.rc;
}

static void print_summary(const replay *r, int rc)
{
    const stats *st = &r->st;
    char a[21], b[21];
    if (cli_verbosity < 0 && rc == EXIT_OK)
        return;
    fprintf(stderr, "exitstage: replay summary%s\n",
            rc == EXIT_OK ? "" : " (stopped early; history committed up to "
                                 "the last good consensus)");
    fprintf(stderr, "  consensuses processed:   %llu (ns %llu, microdesc "
                    "%llu)\n",
            (unsigned long long)st->processed,
            (unsigned long long)st->by_flavor[0],
            (unsigned long long)st->by_flavor[1]);
    if (st->processed > 0)
        fprintf(stderr, "  time span:               %s .. %s\n",
                exst_time_iso(a, st->first), exst_time_iso(b, st->last));
    fprintf(stderr, "  gaps in the archive:     %llu (%llu hour%s missing)\n",
            (unsigned long long)st->gaps,
            (unsigned long long)st->missing_hours,
            st->missing_hours == 1 ? "" : "s");
    fprintf(stderr, "  already in the history:  %llu skipped\n",
            (unsigned long long)st->resumed_skips);
    if (st->duplicates)
        fprintf(stderr, "  duplicates skipped:      %llu\n",
                (unsigned long long)st->duplicates);
    fprintf(stderr, "  relays ever staged:      %zu\n", st->staged.n);
    if (st->processed > 0)
        fprintf(stderr, "  stripped exit bandwidth: mean %.4f, peak %.4f "
                        "at %s\n",
                st->frac_sum / (double)st->processed, st->frac_peak,
                exst_time_iso(a, st->frac_peak_at));
    if (st->after_warm > 0)
        fprintf(stderr, "  after warming up:        mean %.4f over %llu "
                        "consensuses\n",
                st->warm_frac_sum / (double)st->after_warm,
                (unsigned long long)st->after_warm);
    if (st->warm_from != EXST_TIME_NONE)
        fprintf(stderr, "  warming up:              %s .. %s (every relay "
                        "looks new)\n",
                exst_time_iso(a, st->warm_from),
                exst_time_iso(b, st->warm_to));
    else
        fprintf(stderr, "  warming up:              no\n");
    if (st->bad > 0) {
        fprintf(stderr, "  bad documents skipped:   %llu\n",
                (unsigned long long)st->bad);
        for (uint64_t i = 0; i < st->bad && i < MAX_LISTED_SKIPS; i++)
            if (st->bad_names[i])
                fprintf(stderr, "    %s\n", st->bad_names[i]);
    }
}

int cmd_replay(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"db", required_argument, NULL, OPT_DB},
        {"timeline", required_argument, NULL, OPT_TIMELINE},
        {"out-dir", required_argument, NULL, OPT_OUT_DIR},
        {"reports-dir", required_argument, NULL, OPT_REPORTS_DIR},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
        {"digests", no_argument, NULL, OPT_DIGESTS},
        {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
        {"threads", required_argument, NULL, OPT_THREADS},
        CLI_POLICY_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    replay r;
    int ch, rc;
    bool digests = false;
    cli_out tl_out = {.fd = -1};
    bool tl_open = false;
    memset(&r, 0, sizeof r);
    r.checkpoint = DEFAULT_CHECKPOINT;
    r.threads = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
    r.st.warm_from = EXST_TIME_NONE;
    r.prev_t = INT64_MIN;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            replay_help();
            return EXIT_OK;
        case OPT_DB:
            r.db = optarg;
            break;
        case OPT_TIMELINE:
            r.timeline_path = optarg;
            break;
        case OPT_OUT_DIR:
            r.out_dir = optarg;
            break;
        case OPT_REPORTS_DIR:
            r.reports_dir = optarg;
            break;
        case OPT_QUIET:
            r.quiet = true;
            break;
        case OPT_KEEP_GOING:
            r.keep_going = true;
            break;
        case OPT_DIGESTS:
            digests = true;
            break;
        case OPT_CHECKPOINT: {
            char *end = NULL;
            unsigned long v = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v == 0 || v > 1000000)
                return cli_usage("--checkpoint: expected a number of "
                                 "consensuses from 1 to 1000000");
            r.checkpoint = (unsigned)v;
            break;
        }
        case OPT_THREADS:
            if (strcmp(optarg, "1") == 0)
                r.threads = 1;
            else if (strcmp(optarg, "2") == 0)
                r.threads = 2;
            else
                return cli_usage("--threads: expected 1 or 2");
            break;
        case '?':
            return cli_usage("replay: unknown option or missing value in "
                             "'%s'", argv[optind - 1]);
        default:
            rc = cli_policy_option(&r.pol, ch, optarg);
            if (rc != EXIT_OK)
                return rc < 0 ? cli_usage("replay: unexpected option") : rc;
        }
    }
    if (r.db == NULL)
        return cli_usage("replay: --db FILE is required");
    if (optind == argc)
        return cli_usage("replay: expected at least one PATH ('-' for "
                         "standard input)");
    if ((rc = cli_policy_check(&r.pol)) != EXIT_OK)
        return rc;
    int n_stdin = 0;
    for (int i = optind; i < argc; i++)
        n_stdin += strcmp(argv[i], "-") == 0;
    if (n_stdin > 1)
        return cli_usage("replay: '-' may be given once");
    if (digests && r.timeline_path == NULL)
        return cli_usage("replay: --digests needs --timeline");
    if (digests)
        r.pol.so.produce |= EXST_STAGE_DIGESTS;
    r.progress = !r.quiet && cli_verbosity >= 0 && isatty(STDERR_FILENO);

    /* Expand and sort the inputs. */
    char **paths = NULL;
    size_t n_paths = 0;
    exst_error err;
    exst_error_clear(&err);
    int s = exst_collect_paths(&paths, &n_paths,
                               (const char *const *)(argv + optind),
                               (size_t)(argc - optind), &err);
    if (s != EXST_OK)
        return cli_report(s, &err);
    source *srcs = calloc(n_paths + 1, sizeof *srcs);
    exst_lock *lock = NULL;
    if (srcs == NULL) {
        exst_paths_free(paths, n_paths);
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    size_t n_src = 0;
    source stdin_src = {0};
    bool has_stdin = false;
    rc = EXIT_OK;
    for (size_t i = 0; i < n_paths && rc == EXIT_OK; i++) {
        if (strcmp(paths[i], "-") == 0) {
            stdin_src.path = paths[i];
            has_stdin = true;
            continue;
        }
        srcs[n_src].path = paths[i];
        srcs[n_src].order = i;
        rc = peek_source(&srcs[n_src], &r);
        r.total_bytes += srcs[n_src].size;
        n_src++;
    }
    if (rc != EXIT_OK)
        goto out;
    qsort(srcs, n_src, sizeof *srcs, cmp_source);
    if (has_stdin)
        srcs[n_src++] = stdin_src; /* a stream cannot be peeked: last */
    r.n_sources = n_src;

    if (r.out_dir && mkdir(r.out_dir, 0755) != 0 && errno != EEXIST) {
        cli_msg("cannot create '%s': %s", r.out_dir, strerror(errno));
        rc = EXIT_FAIL;
        goto out;
    }
    if (r.reports_dir && mkdir(r.reports_dir, 0755) != 0 && errno != EEXIST) {
        cli_msg("cannot create '%s': %s", r.reports_dir, strerror(errno));
        rc = EXIT_FAIL;
        goto out;
    }
    s = exst_lock_acquire(&lock, r.db, r.pol.wait_s, &cli_interrupted, &err);
    if (s != EXST_OK) {
        rc = cli_report(s, &err);
        goto out;
    }
    rc = cli_open_history(&r.h, r.db, true, &r.pol);
    if (rc != EXIT_OK)
        goto out;
    if ((rc = cli_check_history(&r.pol, r.h, r.db)) != EXIT_OK)
        goto out;
    r.resume_point = exst_history_newest(r.h);
    r.resume_flavors = exst_history_newest_flavors(r.h);
    if (r.timeline_path) {
        if (strcmp(r.timeline_path, "-") == 0) {
            r.timeline = stdout;
        } else {
            /* Written to a temporary file and renamed at the end, so a
             * crash never leaves a half-written timeline behind. */
            int fd2;
            if ((rc = cli_out_open(&tl_out, r.timeline_path)) != EXIT_OK)
                goto out;
            tl_open = true;
            if ((fd2 = dup(tl_out.fd)) < 0 ||
                (r.timeline = fdopen(fd2, "w")) == NULL) {
                cli_msg("cannot create '%s': %s", r.timeline_path,
                        strerror(errno));
                rc = EXIT_FAIL;
                goto out;
            }
        }
    }
    r.pol.so.produce |= (r.timeline ? EXST_STAGE_TIMELINE : 0u) |
                        (r.out_dir ? EXST_STAGE_OUTPUT : 0u) |
                        (r.reports_dir ? EXST_STAGE_REPORT : 0u);
    cli_install_signals();
    clock_gettime(CLOCK_MONOTONIC, &r.t0);
    rc = run_sources(&r, srcs, n_src);
    if (cli_is_interrupted() && (rc == EXIT_OK || rc == EXIT_INTERRUPT))
        rc = EXIT_INTERRUPT; /* a SIGINT during the last document counts */
    progress(&r, 0, true);
    if (r.timeline) {
        bool bad = fflush(r.timeline) != 0;
        if (r.timeline != stdout) {
            bad |= fclose(r.timeline) != 0;
            r.timeline = NULL;
        }
        if (bad && rc == EXIT_OK) {
            cli_msg("cannot write timeline '%s': %s", r.timeline_path,
                    strerror(errno));
            rc = EXIT_FAIL;
        }
        /* The records written match the history committed below, also
         * when the replay stopped early. */
        if (tl_open && !bad) {
            tl_open = false;
            int trc = cli_out_commit(&tl_out);
            if (rc == EXIT_OK)
                rc = trc;
        }
    }
    /* Commit the state after the last good consensus (SPEC 4.4). */
    if (r.since_commit > 0 || (rc == EXIT_OK && access(r.db, F_OK) != 0)) {
        int crc = commit(&r);
        if (rc == EXIT_OK)
            rc = crc;
    }
    if (rc == EXIT_INTERRUPT)
        cli_msg("interrupted; history committed up to the last complete "
                "consensus");
    print_summary(&r, rc);
out:
    if (r.timeline != NULL && r.timeline != stdout)
        fclose(r.timeline);
    if (tl_open)
        cli_out_abort(&tl_out);
    for (uint64_t i = 0; i < r.st.bad && i < MAX_LISTED_SKIPS; i++)
        free(r.st.bad_names[i]);
    free(r.st.staged.v);
    free(r.st.staged.used);
    exst_history_free(r.h);
    exst_lock_release(lock);
    free(srcs);
    exst_paths_free(paths, n_paths);
    return rc;
}
