/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_write.c - re-emit a parsed consensus with edits.
 *
 * The writer is a list of edits (offset, bytes removed, bytes inserted)
 * applied while copying the original document, as tor's consdiff does:
 * every line the caller did not ask to change is copied from the parsed
 * bytes, so an unedited document comes out identical to its input.  The
 * edits are the s lines of stripped relays, the known-flags line (only
 * when --enforce badexit adds BadExit), the bandwidth-weights line, the
 * exitstage annotation items (SPEC 4.1), and optionally the signatures.
 */
#include <stdlib.h>
#include <string.h>

#include "exst_consensus_int.h"
#include "exst_int.h"
#include "exst_weights_int.h"

typedef struct edit {
    size_t off;   /* where in the original */
    size_t del;   /* original bytes replaced */
    size_t ins;   /* offset of the inserted text in the scratch buffer */
    size_t ins_len;
    size_t seq;   /* tie-breaker: keep insertion order */
} edit;

typedef struct edits {
    edit *v;
    size_t n, cap;
    exstp_buf text;
    bool failed;
} edits;

static edit *add_edit(edits *e, size_t off, size_t del)
{
    if (e->failed)
        return NULL;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        edit *v = exstp_realloc(e->v, cap * sizeof *v);
        if (v == NULL) {
            e->failed = true;
            return NULL;
        }
        e->v = v;
        e->cap = cap;
    }
    edit *d = &e->v[e->n];
    d->off = off;
    d->del = del;
    d->ins = e->text.len;
    d->ins_len = 0;
    d->seq = e->n++;
    return d;
}

/* Close an edit: its inserted text is what was appended since add_edit. */
static void end_edit(edits *e, edit *d)
{
    if (d != NULL)
        d->ins_len = e->text.len - d->ins;
}

static int cmp_edit(const void *a, const void *b)
{
    const edit *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static bool tok_eq(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n == m && memcmp(p, lit, m) == 0;
}

static int tok_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = memcmp(a, b, m);
    if (c != 0)
        return c;
    return an < bn ? -1 : (an > bn);
}

/* Append the flag tokens of [p, end) without Exit, and with BadExit added
 * (if add_bad) before the first token that sorts after it. */
static void append_flags(exstp_buf *b, const char *p, const char *end,
                         bool drop_exit, bool add_bad)
{
    bool need_bad = add_bad;
    if (add_bad) { /* already there? */
        const char *q = p;
        while (q < end) {
            const char *s = q;
            while (q < end && *q != ' ')
                q++;
            if (tok_eq(s, (size_t)(q - s), "BadExit"))
                need_bad = false;
            while (q < end && *q == ' ')
                q++;
        }
    }
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        const char *s = p;
        while (p < end && *p != ' ')
            p++;
        size_t n = (size_t)(p - s);
        if (need_bad && tok_cmp(s, n, "BadExit", 7) > 0) {
            exstp_buf_append(b, " BadExit", 8);
            need_bad = false;
        }
        if (drop_exit && tok_eq(s, n, "Exit"))
            continue;
        exstp_buf_append(b, " ", 1);
        exstp_buf_append(b, s, n);
    }
    if (need_bad)
        exstp_buf_append(b, " BadExit", 8);
}

static const char *clock_name(exst_clock c)
{
    return c == EXST_CLOCK_RELAY ? "relay" : "exit";
}

static const char *enforce_name(exst_enforce e)
{
    return e == EXST_ENFORCE_BADEXIT ? "badexit" : "flag";
}

int exst_consensus_write(char **out, size_t *out_len, const exst_consensus *c,
                         const exst_write_opts *opts, exst_error *err)
{
    static const exst_write_opts none = {0};
    edits e = {0};
    exstp_buf o = {0};
    int rc = EXST_OK;
    char t1[21], t2[21];

    *out = NULL;
    *out_len = 0;
    if (opts == NULL)
        opts = &none;
    const bool badexit = opts->enforce == EXST_ENFORCE_BADEXIT;
    size_t n_strip = 0;
    if (opts->strip != NULL)
        for (size_t i = 0; i < c->n_relays; i++)
            n_strip += opts->strip[i] != 0;

    /* Old annotations are dropped (only present with allow-reprocess). */
    for (size_t i = 0; i < c->n_cuts; i++)
        end_edit(&e, add_edit(&e, c->cuts[i].off, c->cuts[i].len));

    /* known-flags gains BadExit when it is added to some relay. */
    if (badexit && n_strip > 0 && c->flag_badexit < 0) {
        const char *kf = c->doc + c->known_flags_off;
        edit *d = add_edit(&e, c->known_flags_off,
                           c->known_flags_end - c->known_flags_off);
        exstp_buf_append(&e.text, "known-flags", 11);
        append_flags(&e.text, kf + 11, c->doc + c->known_flags_end, false,
                     true);
        end_edit(&e, d);
    }

    if (opts->annotation != NULL) {
        const exst_annotation *a = opts->annotation;
        edit *d = add_edit(&e, c->annot_off, 0);
        exstp_buf_printf(&e.text,
                         "exitstage version=%s staging-period=%lld "
                         "reset-after=%lld clock=%s enforce=%s stripped=%zu "
                         "signatures=%s\n",
                         exst_version(), (long long)a->staging_period_s,
                         (long long)a->reset_after_s, clock_name(a->clock),
                         enforce_name(a->enforce), a->stripped,
                         opts->strip_signatures ? "removed"
                                                : "cover-original-document");
        end_edit(&e, d);
    }

    for (size_t i = 0; opts->strip != NULL && i < c->n_relays; i++) {
        if (!opts->strip[i])
            continue;
        const exstp_relay *r = &c->relays[i];
        edit *d = add_edit(&e, r->s_off, r->s_end - r->s_off);
        exstp_buf_append(&e.text, "s", 1);
        append_flags(&e.text, c->doc + r->s_off + 1, c->doc + r->s_end, true,
                     badexit);
        end_edit(&e, d);
        if (opts->annotation != NULL) {
            d = add_edit(&e, r->entry_end, 0);
            const char *rs = "unknown";
            if (opts->run_start != NULL &&
                opts->run_start[i] != EXST_TIME_UNKNOWN &&
                opts->run_start[i] != EXST_TIME_NONE)
                rs = exst_time_iso(t1, opts->run_start[i]);
            const char *el = "unknown";
            if (opts->eligible_at != NULL &&
                opts->eligible_at[i] != EXST_TIME_UNKNOWN &&
                opts->eligible_at[i] != EXST_TIME_NONE)
                el = exst_time_iso(t2, opts->eligible_at[i]);
            /* Appended piece by piece: a printf per stripped relay cost
             * more than the rest of its edit. */
            exstp_buf_append(&e.text, "exitstage-staged run-start=", 27);
            exstp_buf_append(&e.text, rs, strlen(rs));
            exstp_buf_append(&e.text, " eligible-at=", 13);
            exstp_buf_append(&e.text, el, strlen(el));
            exstp_buf_append(&e.text, "\n", 1);
            end_edit(&e, d);
        }
    }

    if (opts->weights != NULL) {
        char wl[EXSTP_WEIGHTS_LINE_MAX + 2];
        size_t n = 0;
        if (opts->weights->present) {
            n = exstp_weights_format(wl, sizeof wl - 1, opts->weights);
            if (n == 0) {
                rc = exstp_error_simple(err, EXST_ERR_LIMIT, NULL,
                                        "bandwidth-weights line too long");
                goto done;
            }
            wl[n++] = '\n';
        }
        edit *d = c->has_bw_line ? add_edit(&e, c->bw_off,
                                            c->bw_end - c->bw_off)
                                 : add_edit(&e, c->footer_end, 0);
        exstp_buf_append(&e.text, wl, n);
        end_edit(&e, d);
    }

    if (opts->strip_signatures && c->sig_off > 0)
        end_edit(&e, add_edit(&e, c->sig_off, c->len - c->sig_off));

    if (e.failed || e.text.failed) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
        goto done;
    }
    if (e.n > 1)
        qsort(e.v, e.n, sizeof *e.v, cmp_edit);

    if (!exstp_buf_reserve(&o, c->len + e.text.len + 1)) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
        goto done;
    }
    size_t pos = 0;
    for (size_t i = 0; i < e.n; i++) {
        const edit *d = &e.v[i];
        if (d->off > pos)
            exstp_buf_append(&o, c->doc + pos, d->off - pos);
        if (d->ins_len > 0)
            exstp_buf_append(&o, e.text.data + d->ins, d->ins_len);
        if (d->off + d->del > pos)
            pos = d->off + d->del;
    }
    if (pos < c->len)
        exstp_buf_append(&o, c->doc + pos, c->len - pos);
    if (o.failed) {
        rc = exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
        goto done;
    }
    *out = o.data;
    *out_len = o.len;
    o.data = NULL;
done:
    exstp_buf_free(&o);
    exstp_buf_free(&e.text);
    exst_free(e.v);
    return rc;
}
