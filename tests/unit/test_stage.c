/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_stage.c - unit tests of exst_stage_run, the staging lifecycle of
 * SPEC 3 (issue 3).  Every test builds tiny consensuses in memory (a few
 * relays, correct bandwidth-weights line), feeds them through fresh
 * histories, and asserts exact counts, stripped sets, run starts and
 * eligible times in the JSON report, and the output bytes: only the s
 * lines of stripped relays, the weights line, known-flags (badexit) and
 * the exitstage items may differ from the input.
 *
 * Times count in hours from T0 (2024-05-17 00:00:00 UTC).  Relays are
 * named by a digit: relay n has identity byte 0 = n, nickname "relayN".
 */
#define _GNU_SOURCE

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "testutil.h"

#include "exst_weights_int.h"
#include "exitstage.h"

#define H 3600
#define T0 INT64_C(1715904000)
#define AT(hour) (T0 + (int64_t)(hour) * H)
#define DAY_P ((int64_t)EXST_DEFAULT_STAGING_PERIOD)

#define FL_EXIT "Exit Fast Guard Running Stable V2Dir Valid"
#define FL_EXIT_NOGUARD "Exit Fast Running Valid"
#define FL_MID "Fast Guard HSDir Running Stable V2Dir Valid"
#define FL_BADEXIT "BadExit Exit Fast Running Valid"
#define KNOWN_DEFAULT                                                      \
    "Authority BadExit Exit Fast Guard HSDir MiddleOnly Running Stable "   \
    "StaleDesc Sybil V2Dir Valid"

/* ------------------------------------------------------------------ */
/* Generating documents                                               */
/* ------------------------------------------------------------------ */

typedef struct trelay {
    int id;            /* 1..9 */
    const char *flags; /* s line flags, in known-flags order */
    unsigned bw;
} trelay;

#define MAX_TRELAYS 10

typedef struct tdoc {
    exst_flavor flavor;
    int hour;
    trelay r[MAX_TRELAYS]; /* ascending id; terminated by id 0 */
    const char *params;    /* NULL: no params line */
    const char *known;     /* NULL: KNOWN_DEFAULT */
} tdoc;

static void make_id(uint8_t id[20], int n)
{
    for (int i = 0; i < 20; i++)
        id[i] = (uint8_t)(0x5A + 7 * i);
    id[0] = (uint8_t)n;
}

static char *fp_of(char out[41], int n)
{
    uint8_t id[20];
    make_id(id, n);
    return exst_fingerprint_hex(out, id);
}

static void b64(char *out, size_t outsz, const uint8_t *bin, size_t n)
{
    sodium_bin2base64(out, outsz, bin, n,
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

static void tor_time(char out[20], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char SIGNATURE[] =
    "directory-signature sha256 6C8E5FC33509BB5A47E84CF74C0493DA26C9758E "
    "1F88B7A9D1E82483780A5A1FD1615C8AD1EF9116\n"
    "-----BEGIN SIGNATURE-----\n"
    "mhnCvUph7fytvx47vSY4Jir5QK39jQ6B1QixCyWbOcIO8jICMj4gl/Wi3guoU1p+\n"
    "6X1zzHwawmrm4IFW3WEzGJoZwr1KYe38rb8eO70mOCYq+UCt/Y0OgdUIsQslmznC\n"
    "DvIyAjI+IJf1ot4LqFNaful9c8x8GsJq5uCBVt1hMxiaGcK9SmHt/K2/Hju9Jjgm\n"
    "KvlArf2NDoHVCLELJZs5wg7yMgIyPiCX9aLeC6hTWn7pfXPMfBrCaubggVbdYTMY\n"
    "mhnCvUph7fytvx47vSY4Jir5QK39jQ6B1QixCyWbOcIO8jICMj4gl/Wi3guoU1p+\n"
    "6X1zzHwawmrm4IFW3WEzGA==\n"
    "-----END SIGNATURE-----\n";

/* The document text; bwline (without newline) is put after
 * directory-footer when not NULL. */
static char *gen_text(const tdoc *d, const char *bwline)
{
    char *buf = NULL;
    size_t len = 0;
    char va[20], fu[20], vu[20], pub[20];
    const int64_t t = AT(d->hour);
    const int md = d->flavor == EXST_FLAVOR_MICRODESC;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    tor_time(va, t);
    tor_time(fu, t + H);
    tor_time(vu, t + 3 * H);
    tor_time(pub, t - H);
    fprintf(f,
            "network-status-version 3%s\n"
            "vote-status consensus\n"
            "consensus-method 33\n"
            "valid-after %s\n"
            "fresh-until %s\n"
            "valid-until %s\n"
            "voting-delay 300 300\n"
            "client-versions 0.4.8.9,0.4.8.10\n"
            "server-versions 0.4.8.9,0.4.8.10\n"
            "known-flags %s\n"
            "recommended-client-protocols Cons=2 Desc=2 Link=4 Microdesc=2 "
            "Relay=2\n"
            "recommended-relay-protocols Cons=2 Desc=2 Link=4 Microdesc=2 "
            "Relay=2\n"
            "required-client-protocols Cons=2 Desc=2 Link=4 Microdesc=2 "
            "Relay=2\n"
            "required-relay-protocols Cons=2 Desc=2 Link=4 Microdesc=2 "
            "Relay=2\n",
            md ? " microdesc" : "", va, fu, vu,
            d->known ? d->known : KNOWN_DEFAULT);
    if (d->params != NULL)
        fprintf(f, "params %s\n", d->params);
    fputs("dir-source testauth1 6C8E5FC33509BB5A47E84CF74C0493DA26C9758E "
          "192.0.2.1 192.0.2.1 80 443\n"
          "contact test operator 1 <nobody@example.invalid>\n"
          "vote-digest 2B3468857B809E00A7C6CFB7D98C69DDBE8ABCDB\n",
          f);
    for (size_t i = 0; i < MAX_TRELAYS && d->r[i].id != 0; i++) {
        const trelay *r = &d->r[i];
        uint8_t id[20], dig[32];
        char idb[40], digb[60];
        make_id(id, r->id);
        memset(dig, 0x11 * r->id, sizeof dig);
        b64(idb, sizeof idb, id, 20);
        if (md) {
            b64(digb, sizeof digb, dig, 32);
            fprintf(f, "r relay%d %s %s 198.51.100.%d 9001 0\n", r->id, idb,
                    pub, r->id);
            fprintf(f, "m %s\n", digb);
        } else {
            b64(digb, sizeof digb, dig, 20);
            fprintf(f, "r relay%d %s %s %s 198.51.100.%d 9001 0\n", r->id, idb,
                    digb, pub, r->id);
        }
        fprintf(f, "s %s\n", r->flags);
        fputs("v Tor 0.4.8.10\n", f);
        fprintf(f, "w Bandwidth=%u\n", r->bw);
        if (!md)
            fprintf(f, "p %s\n", strstr(r->flags, "Exit") ? "accept 1-65535"
                                                           : "reject 1-65535");
    }
    fputs("directory-footer\n", f);
    if (bwline != NULL)
        fprintf(f, "%s\n", bwline);
    fputs(SIGNATURE, f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static exst_consensus *parse_text(const char *text, unsigned flags)
{
    exst_consensus *c = NULL;
    exst_error err;
    exst_parse_opts po;
    memset(&po, 0, sizeof po);
    po.flags = flags;
    exst_error_clear(&err);
    int rc = exst_consensus_parse(&c, text, strlen(text), "gen", &po, &err);
    if (rc != EXST_OK)
        print_error("parse: %s:%lu:%lu: %s\n%s\n", err.source, err.line,
                    err.column, err.message, text);
    assert_int_equal(rc, EXST_OK);
    return c;
}

/* A valid document: generated without the weights line, weights computed
 * from it, regenerated with the line (or without when tor gives none).
 * *text_out (optional) receives the final text. */
static exst_consensus *make_doc(const tdoc *d, char **text_out)
{
    char *t0 = gen_text(d, NULL);
    exst_consensus *c = parse_text(t0, 0);
    exst_weights w;
    char line[EXSTP_WEIGHTS_LINE_MAX + 1];
    exst_consensus_weights(&w, NULL, c, NULL);
    exst_consensus_free(c);
    free(t0);
    const char *bw = NULL;
    if (w.present) {
        assert_true(exstp_weights_format(line, sizeof line, &w) > 0);
        bw = line;
    }
    char *text = gen_text(d, bw);
    c = parse_text(text, 0);
    assert_true(exst_consensus_weights_match(c));
    if (text_out != NULL)
        *text_out = text;
    else
        free(text);
    return c;
}

/* ------------------------------------------------------------------ */
/* Reports                                                            */
/* ------------------------------------------------------------------ */

/* Dotted path into a JSON object ("counts.stripped"). */
static json_t *jget(json_t *root, const char *path)
{
    json_t *cur = root;
    const char *p = path;
    while (cur != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[64];
        assert_true(n < sizeof key);
        memcpy(key, p, n);
        key[n] = '\0';
        cur = json_object_get(cur, key);
        p += n + (dot ? 1 : 0);
    }
    if (cur == NULL)
        print_error("report has no %s\n", path);
    assert_non_null(cur);
    return cur;
}

static long long jint(json_t *root, const char *path)
{
    json_t *v = jget(root, path);
    assert_true(json_is_integer(v));
    return (long long)json_integer_value(v);
}

static const char *jstr(json_t *root, const char *path)
{
    json_t *v = jget(root, path);
    if (!json_is_string(v))
        print_error("%s is not a string\n", path);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static int jbool(json_t *root, const char *path)
{
    json_t *v = jget(root, path);
    assert_true(json_is_boolean(v));
    return json_is_true(v);
}

static double jreal(json_t *root, const char *path)
{
    json_t *v = jget(root, path);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static void assert_iso(const char *got, int64_t t)
{
    char buf[21];
    assert_string_equal(got, exst_time_iso(buf, t));
}

/* True if some note contains needle. */
static int has_note(json_t *rep, const char *needle)
{
    json_t *notes = jget(rep, "notes"), *v;
    size_t i;
    json_array_foreach(notes, i, v) {
        if (json_is_string(v) && strstr(json_string_value(v), needle))
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* One staging step and its output checks                             */
/* ------------------------------------------------------------------ */

typedef struct step {
    char *text;           /* input */
    exst_consensus *c;
    exst_stage_result *r;
    json_t *rep;
} step;

static void step_free(step *s)
{
    json_decref(s->rep);
    exst_stage_result_free(s->r);
    exst_consensus_free(s->c);
    free(s->text);
    memset(s, 0, sizeof *s);
}

static int line_starts(const char *p, const char *end, const char *kw)
{
    size_t n = strlen(kw);
    return (size_t)(end - p) >= n && memcmp(p, kw, n) == 0;
}

/* Remove the token tok (with its leading space) from an s line copy. */
static size_t drop_token(char *s, size_t n, const char *tok)
{
    size_t k = strlen(tok);
    for (size_t i = 0; i + k + 1 <= n; i++) {
        if (s[i] == ' ' && memcmp(s + i + 1, tok, k) == 0 &&
            (i + 1 + k == n || s[i + 1 + k] == ' ')) {
            memmove(s + i, s + i + 1 + k, n - i - 1 - k);
            return n - 1 - k;
        }
    }
    return n;
}

/* Is the relay named in this r line (nickname relayN) in the stripped
 * list of the report?  Returns the stripped object or NULL. */
static json_t *stripped_obj(json_t *rep, int n)
{
    char fp[41];
    json_t *arr = jget(rep, "stripped"), *v;
    size_t i;
    fp_of(fp, n);
    json_array_foreach(arr, i, v) {
        if (strcmp(json_string_value(json_object_get(v, "fingerprint")), fp) ==
            0)
            return v;
    }
    return NULL;
}

/*
 * Compare the output with the input line by line: the output may only
 * add exitstage / exitstage-staged lines, change s lines of stripped
 * relays (" Exit" removed; with badexit also " BadExit" added), change
 * the bandwidth-weights line, and (badexit) known-flags.  Checks the
 * placement of the annotation items and their values.
 */
static void check_output(const step *s, const exst_stage_opts *o)
{
    exst_span out = exst_stage_output(s->r);
    const char *ip = s->text, *iend = s->text + strlen(s->text);
    const char *op = out.ptr, *oend = out.ptr + out.len;
    const int badexit = o->enforce == EXST_ENFORCE_BADEXIT;
    const int annotate = !o->no_annotate;
    size_t n_exitstage = 0, n_staged = 0, n_changed_s = 0;
    int cur = 0;           /* relay digit of the current entry */
    int cur_stripped = 0;  /* its s line was changed */
    int pending_staged = 0; /* an exitstage-staged line must end it */
    char want[128];

    while (op < oend || ip < iend) {
        const char *oe = op < oend ? memchr(op, '\n', (size_t)(oend - op))
                                   : NULL;
        const char *ie = ip < iend ? memchr(ip, '\n', (size_t)(iend - ip))
                                   : NULL;
        if (op < oend)
            assert_non_null(oe);
        if (ip < iend)
            assert_non_null(ie);
        if (op < oend && line_starts(op, oe, "exitstage ")) {
            assert_true(annotate);
            n_exitstage++;
            /* Last in the preamble: the next line is the first dir-source,
             * and the input has that dir-source here too. */
            assert_true(line_starts(oe + 1, oend, "dir-source "));
            assert_true(line_starts(ip, ie, "dir-source "));
            snprintf(want, sizeof want, " stripped=%lld ",
                     jint(s->rep, "counts.stripped"));
            assert_non_null(memmem(op, (size_t)(oe - op), want, strlen(want)));
            op = oe + 1;
            continue;
        }
        if (op < oend && line_starts(op, oe, "exitstage-staged ")) {
            assert_true(annotate);
            assert_true(pending_staged);
            json_t *so = stripped_obj(s->rep, cur);
            assert_non_null(so);
            snprintf(want, sizeof want,
                     "exitstage-staged run-start=%s eligible-at=%s",
                     json_string_value(json_object_get(so, "run_start")),
                     json_string_value(json_object_get(so, "eligible_at")));
            assert_int_equal((size_t)(oe - op), strlen(want));
            assert_memory_equal(op, want, strlen(want));
            /* It ends the entry. */
            assert_true(oe + 1 == oend || line_starts(oe + 1, oend, "r ") ||
                        line_starts(oe + 1, oend, "directory-footer"));
            pending_staged = 0;
            n_staged++;
            op = oe + 1;
            continue;
        }
        if (op < oend && line_starts(op, oe, "bandwidth-weights ") &&
            !(ip < iend && line_starts(ip, ie, "bandwidth-weights "))) {
            op = oe + 1; /* weights appeared */
            continue;
        }
        if (ip < iend && line_starts(ip, ie, "bandwidth-weights ") &&
            !(op < oend && line_starts(op, oe, "bandwidth-weights "))) {
            ip = ie + 1; /* weights vanished */
            continue;
        }
        assert_true(op < oend && ip < iend);
        size_t ol = (size_t)(oe - op), il = (size_t)(ie - ip);
        if (line_starts(ip, ie, "r ") || line_starts(ip, ie, "directory-footer")) {
            assert_false(pending_staged); /* staged item missing */
            cur = line_starts(ip, ie, "r relay") ? ip[7] - '0' : 0;
            cur_stripped = 0;
        }
        if (line_starts(ip, ie, "s ") && (ol != il || memcmp(op, ip, il))) {
            char a[256], b[256];
            assert_true(il < sizeof a && ol < sizeof b);
            memcpy(a, ip, il);
            memcpy(b, op, ol);
            size_t al = drop_token(a, il, "Exit");
            assert_true(al != il); /* the input had Exit */
            assert_true(drop_token(b, ol, "Exit") == ol); /* output has not */
            if (badexit) {
                assert_true(memmem(b, ol, " BadExit", 8) != NULL);
                al = drop_token(a, al, "BadExit");
                ol = drop_token(b, ol, "BadExit");
            }
            assert_int_equal(al, ol);
            assert_memory_equal(a, b, al);
            assert_non_null(stripped_obj(s->rep, cur));
            cur_stripped = 1;
            pending_staged = annotate;
            n_changed_s++;
        } else if (line_starts(ip, ie, "s ")) {
            assert_null(stripped_obj(s->rep, cur));
        } else if (line_starts(ip, ie, "bandwidth-weights ")) {
            /* may differ */
        } else if (badexit && line_starts(ip, ie, "known-flags ")) {
            /* BadExit may have been added, sorted */
        } else {
            assert_int_equal(ol, il);
            assert_memory_equal(op, ip, il);
        }
        (void)cur_stripped;
        op = oe + 1;
        ip = ie + 1;
    }
    assert_false(pending_staged);
    assert_int_equal(n_exitstage, annotate ? 1 : 0);
    assert_int_equal(n_staged, annotate ? n_changed_s : 0);
    assert_int_equal((long long)n_changed_s, jint(s->rep, "counts.stripped"));

    /* The output parses, and its weights line is what tor computes from
     * the output's own flags (when recomputed). */
    char *copy = malloc(out.len + 1);
    assert_non_null(copy);
    memcpy(copy, out.ptr, out.len);
    copy[out.len] = '\0';
    exst_consensus *oc = parse_text(copy, EXST_PARSE_ALLOW_REPROCESS);
    if (jbool(s->rep, "bandwidth.weights_recomputed"))
        assert_true(exst_consensus_weights_match(oc));
    assert_int_equal(exst_consensus_relay_count(oc),
                     exst_consensus_relay_count(s->c));
    exst_consensus_free(oc);
    free(copy);
}

static const exst_stage_opts *default_opts(exst_stage_opts *o)
{
    memset(o, 0, sizeof *o);
    o->produce = EXST_STAGE_OUTPUT | EXST_STAGE_REPORT;
    return o;
}

/* Stage d against h with o (NULL: defaults), check the output. */
static void step_run(step *s, exst_history *h, const tdoc *d,
                     const exst_stage_opts *o)
{
    exst_stage_opts def;
    exst_error err;
    json_error_t jerr;
    if (o == NULL)
        o = default_opts(&def);
    memset(s, 0, sizeof *s);
    s->c = make_doc(d, &s->text);
    exst_error_clear(&err);
    int rc = exst_stage_run(&s->r, h, s->c, o, &err);
    if (rc != EXST_OK)
        print_error("stage_run: %d %s\n", rc, err.message);
    assert_int_equal(rc, EXST_OK);
    exst_span rep = exst_stage_report(s->r);
    s->rep = json_loadb(rep.ptr, rep.len, 0, &jerr);
    assert_non_null(s->rep);
    check_output(s, o);
}

/* A history with the default bootstrap rule (SPEC 3.7, "grandfather"). */
static exst_history *new_history_default(exst_clock clock)
{
    exst_history *h = NULL;
    assert_int_equal(exst_history_new(&h, clock), EXST_OK);
    return h;
}

/* The tables of 3.2-3.6 state the rules for relays the history knows from
 * their first sighting: --bootstrap none, where every first sighting
 * starts a run.  The bootstrap window has its own table below. */
static exst_history *new_history(exst_clock clock)
{
    exst_history *h = new_history_default(clock);
    assert_int_equal(exst_history_set_bootstrap(h, EXST_BOOTSTRAP_NONE),
                     EXST_OK);
    return h;
}

static void history_bytes(const exst_history *h, void **buf, size_t *len)
{
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_history_serialize(buf, len, h, &err), EXST_OK);
}

/* Fill a tdoc: exits and others are digit strings (ascending together). */
static void doc_of(tdoc *d, exst_flavor fl, int hour, const char *exits,
                   const char *others, const char *params)
{
    memset(d, 0, sizeof *d);
    d->flavor = fl;
    d->hour = hour;
    d->params = params;
    size_t k = 0;
    for (int id = 1; id <= 9; id++) {
        const char *fl_s = NULL;
        if (strchr(exits, '0' + id) != NULL)
            fl_s = FL_EXIT;
        else if (strchr(others, '0' + id) != NULL)
            fl_s = FL_MID;
        if (fl_s == NULL)
            continue;
        d->r[k].id = id;
        d->r[k].flags = fl_s;
        d->r[k].bw = (unsigned)(1000 * id);
        k++;
    }
}

/* The fingerprints of the report's stripped list, as digits. */
static void stripped_digits(json_t *rep, char *out, size_t outsz)
{
    json_t *arr = jget(rep, "stripped"), *v;
    size_t i, k = 0;
    json_array_foreach(arr, i, v) {
        const char *fp = json_string_value(json_object_get(v, "fingerprint"));
        int n = (fp[0] - '0') * 16 + (fp[1] >= 'A' ? fp[1] - 'A' + 10
                                                  : fp[1] - '0');
        assert_true(k + 1 < outsz);
        out[k++] = (char)('0' + n);
    }
    out[k] = '\0';
}

static void in_staging_digits(json_t *rep, char *out, size_t outsz)
{
    json_t *arr = jget(rep, "in_staging"), *v;
    size_t i, k = 0;
    json_array_foreach(arr, i, v) {
        const char *fp = json_string_value(v);
        int n = (fp[0] - '0') * 16 + (fp[1] >= 'A' ? fp[1] - 'A' + 10
                                                  : fp[1] - '0');
        assert_true(k + 1 < outsz);
        out[k++] = (char)('0' + n);
    }
    out[k] = '\0';
}

/* ------------------------------------------------------------------ */
/* SPEC 3.2 / 3.3: the rules as a table                               */
/* ------------------------------------------------------------------ */

typedef struct tstep {
    int hour;
    const char *exits;  /* relays listed with Exit */
    const char *others; /* relays listed without Exit */
} tstep;

#define END {-1, NULL, NULL}

typedef struct rule_case {
    const char *name;
    exst_clock clock;
    tstep steps[8];
    /* expectations at the last step */
    const char *stripped; /* digits */
    int run_start[4];     /* hours, per stripped relay in order */
    size_t exit_candidates, in_staging, graduated, new_runs, restarted;
} rule_case;

static const rule_case RULES[] = {
    {"first sighting: s = t, stripped, eligible at t + P",
     EXST_CLOCK_EXIT, {{0, "1", "2"}, END}, "1", {0}, 1, 1, 0, 1, 0},
    {"absence of 23 h (< W) is bridged",
     EXST_CLOCK_EXIT, {{0, "1", "2"}, {1, "", "2"}, {24, "1", "2"}, END},
     "1", {0}, 1, 1, 0, 0, 0},
    {"absence of exactly W restarts the run",
     EXST_CLOCK_EXIT, {{0, "1", "2"}, {1, "", "2"}, {25, "1", "2"}, END},
     "1", {25}, 1, 1, 0, 0, 1},
    {"exit clock: listed without Exit counts as absent",
     EXST_CLOCK_EXIT, {{0, "1", "2"}, {1, "", "12"}, {25, "1", "2"}, END},
     "1", {25}, 1, 1, 0, 0, 1},
    {"relay clock: listed without Exit is present, run continues",
     EXST_CLOCK_RELAY, {{0, "1", "2"}, {1, "", "12"}, {25, "1", "2"}, END},
     "1", {0}, 1, 1, 0, 0, 0},
    {"archive gap of 40 h is not an absence",
     EXST_CLOCK_EXIT, {{0, "1", "2"}, {40, "1", "2"}, END},
     "1", {0}, 1, 1, 0, 0, 0},
    {"once absent, later data gaps count (29 h)",
     EXST_CLOCK_EXIT, {{0, "1", "2"}, {1, "", "2"}, {30, "1", "2"}, END},
     "1", {30}, 1, 1, 0, 0, 1},
    {"in staging at s + P - 1h",
     EXST_CLOCK_EXIT, {{0, "1", "2"}, {95, "1", "2"}, END},
     "1", {0}, 1, 1, 0, 0, 0},
    {"graduated exactly at s + P",
     EXST_CLOCK_EXIT, {{0, "1", "2"}, {96, "1", "2"}, END},
     "", {0}, 1, 0, 1, 0, 0},
    {"relay clock: non-exit for days, then exit: graduated at once",
     EXST_CLOCK_RELAY, {{0, "", "12"}, {48, "", "12"}, {100, "1", "2"}, END},
     "", {0}, 1, 0, 1, 0, 0},
    {"exit clock: non-exit for days, then exit: staged from its first "
     "exit consensus",
     EXST_CLOCK_EXIT, {{0, "", "12"}, {48, "", "12"}, {100, "1", "2"}, END},
     "1", {100}, 1, 1, 0, 1, 0},
    {"mixed: graduated, restarted, and new-at-30h",
     EXST_CLOCK_EXIT, {{0, "12", "34"}, {30, "13", "4"}, {96, "123", "4"},
                       END},
     "23", {96, 30}, 3, 2, 1, 0, 1},
};

static void test_rules_table(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof RULES / sizeof RULES[0]; k++) {
        const rule_case *rc = &RULES[k];
        exst_history *h = new_history(rc->clock);
        step s;
        size_t last = 0;
        print_message("rule: %s\n", rc->name);
        for (size_t i = 0; rc->steps[i].hour >= 0; i++) {
            tdoc d;
            if (i > 0)
                step_free(&s);
            doc_of(&d, EXST_FLAVOR_NS, rc->steps[i].hour, rc->steps[i].exits,
                   rc->steps[i].others, NULL);
            step_run(&s, h, &d, NULL);
            last = i;
        }
        const int64_t t = AT(rc->steps[last].hour);
        char got[16];
        stripped_digits(s.rep, got, sizeof got);
        assert_string_equal(got, rc->stripped);
        in_staging_digits(s.rep, got, sizeof got);
        assert_string_equal(got, rc->stripped);
        assert_int_equal(jint(s.rep, "counts.exit_candidates"),
                         rc->exit_candidates);
        assert_int_equal(jint(s.rep, "counts.in_staging"), rc->in_staging);
        assert_int_equal(jint(s.rep, "counts.stripped"), rc->in_staging);
        assert_int_equal(jint(s.rep, "counts.graduated"), rc->graduated);
        assert_int_equal(jint(s.rep, "counts.new_runs"), rc->new_runs);
        assert_int_equal(jint(s.rep, "counts.restarted_runs"), rc->restarted);
        for (size_t j = 0; rc->stripped[j] != '\0'; j++) {
            int n = rc->stripped[j] - '0';
            json_t *so = stripped_obj(s.rep, n);
            int64_t rs = AT(rc->run_start[j]);
            uint8_t id[20];
            exst_record rec;
            assert_non_null(so);
            assert_iso(jstr(so, "run_start"), rs);
            assert_iso(jstr(so, "eligible_at"), rs + DAY_P);
            assert_int_equal(jint(so, "remaining_s"), rs + DAY_P - t);
            assert_int_equal(jint(so, "bandwidth"), 1000 * n);
            assert_int_equal(jint(so, "or_port"), 9001);
            make_id(id, n);
            assert_true(exst_history_find(h, id, &rec));
            assert_int_equal(rec.run_start, rs);
            assert_int_equal(rec.absence_start, EXST_TIME_NONE);
            assert_int_equal(rec.last_seen, t);
        }
        /* Bandwidth figures: exits without BadExit. */
        long long exit_bw = 0, strip_bw = 0;
        for (size_t i = 0; rc->steps[last].exits[i] != '\0'; i++)
            exit_bw += 1000 * (rc->steps[last].exits[i] - '0');
        for (size_t i = 0; rc->stripped[i] != '\0'; i++)
            strip_bw += 1000 * (rc->stripped[i] - '0');
        assert_int_equal(jint(s.rep, "bandwidth.exit_candidates"), exit_bw);
        assert_int_equal(jint(s.rep, "bandwidth.stripped"), strip_bw);
        assert_true(fabs(jreal(s.rep, "bandwidth.stripped_fraction") -
                         (double)strip_bw / (double)exit_bw) < 1e-6);
        assert_iso(jstr(s.rep, "history.observed_since"),
                   AT(rc->steps[0].hour));
        assert_string_equal(jstr(s.rep, "policy.clock"),
                            rc->clock == EXST_CLOCK_RELAY ? "relay" : "exit");
        assert_int_equal(jint(s.rep, "policy.staging_period_s"), DAY_P);
        assert_int_equal(jint(s.rep, "policy.reset_after_s"),
                         EXST_DEFAULT_RESET_AFTER);
        assert_true(jbool(s.rep, "bandwidth.weights_recomputed"));
        assert_false(jbool(s.rep, "capacity_guard.tripped"));
        step_free(&s);
        exst_history_free(h);
    }
}

/* ------------------------------------------------------------------ */
/* SPEC 3.7                                                           */
/* ------------------------------------------------------------------ */

static void both_orders_run(int md_first, void **bytes, size_t *len,
                            char ns_strip[16], char md_strip[16])
{
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    tdoc d0, dns, dmd;
    step s0, sa, sb;
    /* 0: relays 1, 2, 5 exits.  Hour 1: ns lists 1 2 3 (2 only in ns:
     * the microdesc flavour lacks it), 5 is gone; md lists 1 3. */
    doc_of(&d0, EXST_FLAVOR_NS, 0, "125", "4", NULL);
    doc_of(&dns, EXST_FLAVOR_NS, 1, "123", "4", NULL);
    doc_of(&dmd, EXST_FLAVOR_MICRODESC, 1, "13", "4", NULL);
    step_run(&s0, h, &d0, NULL);
    step_run(&sa, h, md_first ? &dmd : &dns, NULL);
    step_run(&sb, h, md_first ? &dns : &dmd, NULL);
    stripped_digits(md_first ? sb.rep : sa.rep, ns_strip, 16);
    stripped_digits(md_first ? sa.rep : sb.rep, md_strip, 16);
    history_bytes(h, bytes, len);
    /* A repeated run changes nothing. */
    void *again;
    size_t again_len;
    step sc;
    step_run(&sc, h, &dns, NULL);
    history_bytes(h, &again, &again_len);
    assert_int_equal(again_len, *len);
    assert_memory_equal(again, *bytes, *len);
    stripped_digits(sc.rep, ns_strip + 8, 8);
    assert_string_equal(ns_strip + 8, ns_strip);
    ns_strip[8] = '\0';
    exst_free(again);
    step_free(&s0);
    step_free(&sa);
    step_free(&sb);
    step_free(&sc);
    exst_history_free(h);
}

static void test_flavour_order(void **state)
{
    void *b1, *b2;
    size_t l1, l2;
    char ns1[16], md1[16], ns2[16], md2[16];
    (void)state;
    both_orders_run(0, &b1, &l1, ns1, md1);
    both_orders_run(1, &b2, &l2, ns2, md2);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    assert_string_equal(ns1, ns2);
    assert_string_equal(md1, md2);
    assert_string_equal(ns1, "123");
    assert_string_equal(md1, "13");
    /* Relay 2, missing from the microdesc flavour, was not marked absent;
     * relay 5, missing from both, was. */
    exst_history *h = NULL;
    exst_error err;
    exst_record rec;
    uint8_t id[20];
    exst_error_clear(&err);
    assert_int_equal(exst_history_deserialize(&h, b1, l1, "b1", &err),
                     EXST_OK);
    make_id(id, 2);
    assert_true(exst_history_find(h, id, &rec));
    assert_int_equal(rec.absence_start, EXST_TIME_NONE);
    assert_int_equal(rec.run_start, AT(0));
    make_id(id, 5);
    assert_true(exst_history_find(h, id, &rec));
    assert_int_equal(rec.absence_start, AT(1));
    assert_int_equal(exst_history_newest_flavors(h), 3u);
    exst_history_free(h);
    exst_free(b1);
    exst_free(b2);
}

static void test_older_refused(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    tdoc d;
    step s;
    doc_of(&d, EXST_FLAVOR_NS, 5, "12", "3", NULL);
    step_run(&s, h, &d, NULL);
    step_free(&s);
    void *before, *after;
    size_t lb, la;
    history_bytes(h, &before, &lb);
    for (int fl = 0; fl < 2; fl++) {
        doc_of(&d, (exst_flavor)fl, 4, "123", "", NULL);
        exst_consensus *c = make_doc(&d, NULL);
        exst_stage_result *r = (exst_stage_result *)(void *)&d; /* reset? */
        exst_stage_opts o;
        exst_error err;
        exst_error_clear(&err);
        int rc = exst_stage_run(&r, h, c, default_opts(&o), &err);
        assert_int_equal(rc, EXST_ERR_ORDER);
        assert_null(r);
        assert_int_equal(err.code, EXST_ERR_ORDER);
        assert_true(err.message[0] != '\0');
        print_message("older: %s\n", err.message);
        history_bytes(h, &after, &la);
        assert_int_equal(la, lb);
        assert_memory_equal(after, before, lb);
        exst_free(after);
        exst_consensus_free(c);
    }
    exst_free(before);
    exst_history_free(h);
}

static void test_warming_up(void **state)
{
    (void)state;
    static const struct {
        int hour;
        int warming;
    } seq[] = {{10, 1}, {11, 1}, {105, 1}, {106, 0}, {300, 0}};
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        tdoc d;
        step s;
        doc_of(&d, EXST_FLAVOR_NS, seq[i].hour, "1", "2", NULL);
        step_run(&s, h, &d, NULL);
        assert_int_equal(jbool(s.rep, "history.warming_up"), seq[i].warming);
        assert_int_equal(exst_stage_get_summary(s.r)->warming_up,
                         seq[i].warming);
        assert_iso(jstr(s.rep, "history.observed_since"), AT(10));
        assert_int_equal(has_note(s.rep, "warming up"), seq[i].warming);
        assert_false(jbool(s.rep, "history.grandfathered"));
        step_free(&s);
    }
    exst_history_free(h);
}

static void grandfather(exst_history *h, int hour, const char *ids)
{
    uint8_t v[10][20];
    size_t n = strlen(ids);
    for (size_t i = 0; i < n; i++)
        make_id(v[i], ids[i] - '0');
    exst_observation obs = {
        .valid_after = AT(hour),
        .flavor = EXST_FLAVOR_NS,
        .present = (const uint8_t(*)[20])v,
        .n_present = n,
        .reset_after_s = EXST_DEFAULT_RESET_AFTER,
        .retention_s = 0,
    };
    exst_error err;
    exst_error_clear(&err);
    obs.grandfather = 1;
    assert_int_equal(exst_history_observe(h, &obs, NULL, NULL, &err),
                     EXST_OK);
}

static void test_grandfathering(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    tdoc d;
    step s;
    grandfather(h, 0, "12");
    assert_int_equal(exst_history_processed(h), 1);
    /* An hour later relay 3 is new; 1 and 2 are graduated. */
    doc_of(&d, EXST_FLAVOR_NS, 1, "123", "4", NULL);
    step_run(&s, h, &d, NULL);
    char got[16];
    stripped_digits(s.rep, got, sizeof got);
    assert_string_equal(got, "3");
    assert_int_equal(jint(s.rep, "counts.graduated"), 2);
    assert_int_equal(jint(s.rep, "counts.in_staging"), 1);
    assert_int_equal(jint(s.rep, "counts.new_runs"), 1);
    /* SPEC 3.7: warming up is t - o < P with --bootstrap none, whether
     * or not the history began with grandfather consensuses. */
    assert_true(jbool(s.rep, "history.warming_up"));
    assert_string_equal(jstr(s.rep, "history.phase"), "ramp");
    assert_true(jbool(s.rep, "history.grandfathered"));
    assert_iso(jstr(s.rep, "history.observed_since"), AT(0));
    json_t *so = stripped_obj(s.rep, 3);
    assert_iso(jstr(so, "run_start"), AT(1));
    assert_iso(jstr(so, "eligible_at"), AT(1) + DAY_P);
    uint8_t id[20];
    exst_record rec;
    make_id(id, 1);
    assert_true(exst_history_find(h, id, &rec));
    assert_int_equal(rec.run_start, EXST_TIME_UNKNOWN);
    step_free(&s);
    /* A grandfathered relay that goes away for a day and comes back
     * starts a real run. */
    doc_of(&d, EXST_FLAVOR_NS, 2, "23", "4", NULL);
    step_run(&s, h, &d, NULL);
    step_free(&s);
    doc_of(&d, EXST_FLAVOR_NS, 26, "123", "4", NULL);
    step_run(&s, h, &d, NULL);
    stripped_digits(s.rep, got, sizeof got);
    assert_string_equal(got, "13");
    assert_int_equal(jint(s.rep, "counts.restarted_runs"), 1);
    assert_iso(jstr(stripped_obj(s.rep, 1), "run_start"), AT(26));
    step_free(&s);
    exst_history_free(h);
}

/* ------------------------------------------------------------------ */
/* SPEC 3.7 "Bootstrap (revised in 0.2)": one case per sentence         */
/* ------------------------------------------------------------------ */

typedef struct bstep {
    int hour;
    const char *exits, *others;
    const char *stripped;     /* digits */
    int grandfathered;        /* counts.grandfathered */
    const char *phase;
} bstep;

typedef struct boot_case {
    const char *sentence;
    exst_bootstrap mode;
    const char *grandfather;  /* relays of a grandfather consensus at
                                 hour 0 (db init), or NULL */
    bstep steps[8];
} boot_case;

#define BEND {-1, NULL, NULL, NULL, 0, NULL}

static const boot_case BOOT[] = {
    {"a relay first seen at t < o + W is grandfathered: graduated, never "
     "staged; so a fresh history never strips every exit at once",
     EXST_BOOTSTRAP_GRANDFATHER, NULL,
     {{0, "12", "3", "", 2, "bootstrap"},
      {23, "124", "3", "", 1, "bootstrap"},
      {100, "124", "3", "", 0, "ramp"},
      BEND}},
    {"from o + W on, a relay seen for the first time starts a run and is "
     "staged",
     EXST_BOOTSTRAP_GRANDFATHER, NULL,
     {{0, "1", "", "", 1, "bootstrap"},
      {24, "15", "", "5", 0, "ramp"},
      {119, "15", "", "5", 0, "ramp"},
      {120, "15", "", "", 0, "steady"},
      BEND}},
    {"under the exit clock, a relay listed before o + W but first an exit "
     "after it is staged",
     EXST_BOOTSTRAP_GRANDFATHER, NULL,
     {{0, "1", "2", "", 1, "bootstrap"},
      {30, "12", "", "2", 0, "ramp"},
      BEND}},
    {"a grandfathered relay that is later absent for W or more restarts "
     "like any other",
     EXST_BOOTSTRAP_GRANDFATHER, NULL,
     {{0, "12", "", "", 2, "bootstrap"},
      {1, "2", "1", "", 0, "bootstrap"},
      {25, "12", "", "1", 0, "ramp"},
      BEND}},
    {"--bootstrap none keeps the 0.1 rule: every relay first seen is new, "
     "so at the start every exit is staged",
     EXST_BOOTSTRAP_NONE, NULL,
     {{0, "12", "3", "12", 0, "ramp"},
      {96, "12", "3", "", 0, "steady"},
      BEND}},
    {"db init --grandfather: every relay present in a grandfather "
     "consensus is graduated; o is its valid-after, so the window runs "
     "from it",
     EXST_BOOTSTRAP_GRANDFATHER, "12",
     {{5, "123", "", "", 1, "bootstrap"},
      {24, "1234", "", "4", 0, "ramp"},
      BEND}},
    {"db init --grandfather with --bootstrap none: relays of the "
     "grandfather consensus graduated, all others new",
     EXST_BOOTSTRAP_NONE, "12",
     {{5, "123", "", "3", 0, "ramp"},
      BEND}},
};

static void test_bootstrap_rule(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof BOOT / sizeof BOOT[0]; k++) {
        const boot_case *bc = &BOOT[k];
        exst_history *h = new_history_default(EXST_CLOCK_EXIT);
        print_message("3.7: %s\n", bc->sentence);
        assert_int_equal(exst_history_set_bootstrap(h, bc->mode), EXST_OK);
        if (bc->grandfather != NULL)
            grandfather(h, 0, bc->grandfather);
        for (size_t i = 0; bc->steps[i].hour >= 0; i++) {
            const bstep *b = &bc->steps[i];
            tdoc d;
            step s;
            char got[16];
            doc_of(&d, EXST_FLAVOR_NS, b->hour, b->exits, b->others, NULL);
            step_run(&s, h, &d, NULL);
            stripped_digits(s.rep, got, sizeof got);
            if (strcmp(got, b->stripped) != 0)
                print_error("hour %d: stripped '%s', want '%s'\n", b->hour,
                            got, b->stripped);
            assert_string_equal(got, b->stripped);
            assert_int_equal(jint(s.rep, "counts.grandfathered"),
                             b->grandfathered);
            assert_string_equal(jstr(s.rep, "history.phase"), b->phase);
            const exst_stage_summary *sum = exst_stage_get_summary(s.r);
            assert_string_equal(exst_phase_name(sum->phase), b->phase);
            assert_int_equal(sum->warming_up, strcmp(b->phase, "steady") != 0);
            assert_int_equal(jbool(s.rep, "history.warming_up"),
                             strcmp(b->phase, "steady") != 0);
            assert_string_equal(jstr(s.rep, "history.bootstrap"),
                                bc->mode == EXST_BOOTSTRAP_NONE
                                    ? "none"
                                    : "grandfather");
            /* A grandfathered relay is graduated, with run_start null in
             * the history (and in db dump). */
            if (b->grandfathered > 0)
                assert_int_equal(jint(s.rep, "counts.in_staging"),
                                 (json_int_t)strlen(b->stripped));
            step_free(&s);
        }
        exst_history_free(h);
    }
}

/* The report notes say why a consensus is not steady, per phase. */
static void test_phase_notes(void **state)
{
    (void)state;
    exst_history *h = new_history_default(EXST_CLOCK_EXIT);
    tdoc d;
    step s;
    doc_of(&d, EXST_FLAVOR_NS, 0, "1", "", NULL);
    step_run(&s, h, &d, NULL);
    assert_true(has_note(s.rep, "bootstrap: relays the history first sees"));
    step_free(&s);
    doc_of(&d, EXST_FLAVOR_NS, 30, "1", "", NULL);
    step_run(&s, h, &d, NULL);
    assert_true(has_note(s.rep, "ramp: the history is younger than the "
                                "reset window plus the staging period"));
    step_free(&s);
    doc_of(&d, EXST_FLAVOR_NS, 120, "1", "", NULL);
    step_run(&s, h, &d, NULL);
    assert_false(has_note(s.rep, "ramp"));
    assert_false(has_note(s.rep, "bootstrap"));
    step_free(&s);
    exst_history_free(h);
}

/* --enforce badexit on a document whose known-flags already lists 64
 * flags and no BadExit: adding BadExit would make 65, which tor (and the
 * parser) refuse.  Refused, history untouched; fine when nobody is staged. */
static void test_badexit_no_room(void **state)
{
    (void)state;
    char known[1024];
    int n = snprintf(known, sizeof known,
                     "Authority Exit Fast Guard HSDir MiddleOnly Running "
                     "Stable StaleDesc Sybil V2Dir Valid");
    for (int i = 0; i < 52; i++) /* 12 + 52 = 64, sorted after "Valid" */
        n += snprintf(known + n, sizeof known - (size_t)n, " Z%02d", i);
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    tdoc d;
    doc_of(&d, EXST_FLAVOR_NS, 0, "1", "2", NULL);
    d.known = known;
    exst_consensus *c = make_doc(&d, NULL);
    assert_int_equal(exst_consensus_flag_count(c), 64);
    exst_stage_opts o;
    default_opts(&o);
    o.enforce = EXST_ENFORCE_BADEXIT;
    o.enforce_set = 1;
    void *before, *after;
    size_t lb, la;
    history_bytes(h, &before, &lb);
    exst_stage_result *r = NULL;
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_stage_run(&r, h, c, &o, &err), EXST_ERR_LIMIT);
    assert_null(r);
    assert_string_equal(err.message,
                        "--enforce badexit would add BadExit to known-flags, "
                        "which already lists 64 flags (the most tor reads); "
                        "nothing written");
    history_bytes(h, &after, &la);
    assert_int_equal(la, lb);
    assert_memory_equal(before, after, la);
    assert_int_equal(exst_history_processed(h), 0);
    exst_free(after);
    exst_consensus_free(c);
    /* Nobody in staging (the same relay 96 h later): nothing to add. */
    o.enforce = EXST_ENFORCE_FLAG;
    doc_of(&d, EXST_FLAVOR_NS, 0, "1", "2", NULL);
    d.known = known;
    c = make_doc(&d, NULL);
    assert_int_equal(exst_stage_run(&r, h, c, &o, &err), EXST_OK);
    exst_stage_result_free(r);
    exst_consensus_free(c);
    o.enforce = EXST_ENFORCE_BADEXIT;
    doc_of(&d, EXST_FLAVOR_NS, 96, "1", "2", NULL);
    d.known = known;
    c = make_doc(&d, NULL);
    assert_int_equal(exst_stage_run(&r, h, c, &o, &err), EXST_OK);
    assert_int_equal(exst_stage_get_summary(r)->counts.stripped, 0);
    exst_stage_result_free(r);
    exst_consensus_free(c);
    exst_free(before);
    exst_history_free(h);
}

/* Eligibility times must be writable: a valid-after whose t + P passes
 * 9999-12-31T23:59:59Z is refused (0.1 printed 0000-00-00T00:00:00Z). */
static void test_eligible_time_writable(void **state)
{
    (void)state;
    /* Hours from AT(0) (2024-05-17) to 9999-12-27 23:00 and 12-28 00:00. */
    const int64_t last_ok = (INT64_C(253401955200) - 3600 - AT(0)) / H;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    tdoc d;
    step s;
    doc_of(&d, EXST_FLAVOR_NS, (int)last_ok, "1", "2", NULL);
    step_run(&s, h, &d, NULL);
    assert_string_equal(jstr(stripped_obj(s.rep, 1), "eligible_at"),
                        "9999-12-31T23:00:00Z");
    step_free(&s);
    doc_of(&d, EXST_FLAVOR_NS, (int)last_ok + 1, "1", "2", NULL);
    exst_consensus *c = make_doc(&d, NULL);
    exst_stage_opts o;
    exst_stage_result *r = NULL;
    exst_error err;
    exst_error_clear(&err);
    const uint64_t processed = exst_history_processed(h);
    assert_int_equal(exst_stage_run(&r, h, c, default_opts(&o), &err),
                     EXST_ERR_LIMIT);
    assert_null(r);
    assert_string_equal(err.message,
                        "valid-after 9999-12-28T00:00:00Z is too late: "
                        "eligibility times (valid-after plus the staging "
                        "period of 345600s) would pass 9999-12-31T23:59:59Z");
    assert_int_equal(exst_history_processed(h), processed);
    exst_consensus_free(c);
    exst_history_free(h);
}

/* ------------------------------------------------------------------ */
/* SPEC 2.3: parameters                                               */
/* ------------------------------------------------------------------ */

#define PARAMS_BOTH "exit_staging_reset_secs=7200 exit_staging_secs=3600"

typedef struct param_case {
    const char *params;
    int p_set;
    int64_t p;
    int w_set;
    int64_t w;
    int ignore;
    int64_t want_p;
    const char *p_src;
    int64_t want_w;
    const char *w_src;
    int enabled;
    const char *en_src;
    int warns;
} param_case;

#define CL "command-line"
#define CO "consensus"
#define DF "default"
#define DP DAY_P
#define DW ((int64_t)EXST_DEFAULT_RESET_AFTER)
#define MAXD ((int64_t)EXST_MAX_DURATION)

static const param_case PARAMS[] = {
    {NULL, 0, 0, 0, 0, 0, DP, DF, DW, DF, 1, DF, 0},
    {PARAMS_BOTH, 0, 0, 0, 0, 0, 3600, CO, 7200, CO, 1, DF, 0},
    {PARAMS_BOTH, 1, 10800, 0, 0, 0, 10800, CL, 7200, CO, 1, DF, 0},
    {PARAMS_BOTH, 0, 0, 1, 1800, 0, 3600, CO, 1800, CL, 1, DF, 0},
    {PARAMS_BOTH, 1, 0, 1, 0, 0, 0, CL, 0, CL, 1, DF, 0},
    {PARAMS_BOTH, 0, 0, 0, 0, 1, DP, DF, DW, DF, 1, DF, 0},
    {PARAMS_BOTH, 1, 10800, 0, 0, 1, 10800, CL, DW, DF, 1, DF, 0},
    {NULL, 1, 10800, 1, 1800, 0, 10800, CL, 1800, CL, 1, DF, 0},
    {"exit_staging_enabled=0", 0, 0, 0, 0, 0, DP, DF, DW, DF, 0, CO, 0},
    {"exit_staging_enabled=0", 0, 0, 0, 0, 1, DP, DF, DW, DF, 1, DF, 0},
    {"exit_staging_enabled=1", 0, 0, 0, 0, 0, DP, DF, DW, DF, 1, CO, 0},
    /* A 0/1 parameter, clamped as tor clamps it, with a warning:
     * -1 means 0 (defect: 0.1 took any nonzero value as enabled). */
    {"exit_staging_enabled=7", 0, 0, 0, 0, 0, DP, DF, DW, DF, 1, CO, 1},
    {"exit_staging_enabled=-1", 0, 0, 0, 0, 0, DP, DF, DW, DF, 0, CO, 1},
    {"exit_staging_enabled=0 " PARAMS_BOTH, 0, 0, 0, 0, 0, 3600, CO, 7200,
     CO, 0, CO, 0},
    /* clamping, as tor clamps, with a warning */
    {"exit_staging_secs=2592000", 0, 0, 0, 0, 0, MAXD, CO, DW, DF, 1, DF, 0},
    {"exit_staging_secs=2592001", 0, 0, 0, 0, 0, MAXD, CO, DW, DF, 1, DF, 1},
    {"exit_staging_secs=-1", 0, 0, 0, 0, 0, 0, CO, DW, DF, 1, DF, 1},
    {"exit_staging_reset_secs=2147483647", 0, 0, 0, 0, 0, DP, DF, MAXD, CO,
     1, DF, 1},
    {"exit_staging_reset_secs=-2147483648 exit_staging_secs=99999999", 0, 0,
     0, 0, 0, MAXD, CO, 0, CO, 1, DF, 2},
    /* an out-of-range parameter overridden on the command line */
    {"exit_staging_secs=99999999", 1, 7200, 0, 0, 0, 7200, CL, DW, DF, 1, DF,
     -1},
};

static void test_params_precedence(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof PARAMS / sizeof PARAMS[0]; k++) {
        const param_case *pc = &PARAMS[k];
        exst_stage_opts o;
        tdoc d;
        step s;
        exst_history *h = new_history(EXST_CLOCK_EXIT);
        print_message("params: '%s' P%s W%s%s\n", pc->params ? pc->params : "",
                      pc->p_set ? " set" : "", pc->w_set ? " set" : "",
                      pc->ignore ? " ignore" : "");
        default_opts(&o);
        o.staging_period_set = pc->p_set;
        o.staging_period_s = pc->p;
        o.reset_after_set = pc->w_set;
        o.reset_after_s = pc->w;
        o.ignore_consensus_params = pc->ignore;
        doc_of(&d, EXST_FLAVOR_NS, 0, "1", "2", pc->params);
        step_run(&s, h, &d, &o);
        assert_int_equal(jint(s.rep, "policy.staging_period_s"), pc->want_p);
        assert_string_equal(jstr(s.rep, "policy.staging_period_s_source"),
                            pc->p_src);
        assert_int_equal(jint(s.rep, "policy.reset_after_s"), pc->want_w);
        assert_string_equal(jstr(s.rep, "policy.reset_after_s_source"),
                            pc->w_src);
        assert_int_equal(jbool(s.rep, "policy.enabled"), pc->enabled);
        assert_string_equal(jstr(s.rep, "policy.enabled_source"), pc->en_src);
        assert_string_equal(jstr(s.rep, "policy.enforce_source"), DF);
        const exst_stage_summary *sum = exst_stage_get_summary(s.r);
        assert_int_equal(sum->staging_period_s, pc->want_p);
        assert_int_equal(sum->reset_after_s, pc->want_w);
        assert_int_equal(sum->enabled, pc->enabled);
        if (pc->warns >= 0) {
            size_t nw = exst_stage_warning_count(s.r);
            assert_int_equal(nw, (size_t)pc->warns);
            for (size_t i = 0; i < nw; i++) {
                const char *w = exst_stage_warning(s.r, i);
                print_message("  warning: %s\n", w);
                assert_non_null(strstr(w, "clamped"));
                assert_true(has_note(s.rep, w));
            }
        }
        /* The annotation states the values used. */
        exst_span out = exst_stage_output(s.r);
        char want[96];
        snprintf(want, sizeof want, " staging-period=%lld reset-after=%lld ",
                 (long long)pc->want_p, (long long)pc->want_w);
        assert_non_null(memmem(out.ptr, out.len, want, strlen(want)));
        /* P = 0 stages nobody; otherwise the new relay is staged (if
         * enabled) or listed in staging (if not). */
        assert_int_equal(jint(s.rep, "counts.in_staging"), pc->want_p > 0);
        assert_int_equal(jint(s.rep, "counts.stripped"),
                         pc->want_p > 0 && pc->enabled);
        assert_int_equal(jint(s.rep, "counts.graduated"), pc->want_p == 0);
        step_free(&s);
        exst_history_free(h);
    }
}

/* Each consensus is evaluated with its own P and W from its params. */
static void test_params_effect(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    tdoc d;
    step s;
    char got[16];
    /* P = 2 h from the consensus: staged at 0 and 1, graduated at 2. */
    doc_of(&d, EXST_FLAVOR_NS, 0, "1", "2", "exit_staging_secs=7200");
    step_run(&s, h, &d, NULL);
    assert_int_equal(jint(stripped_obj(s.rep, 1), "remaining_s"), 7200);
    assert_iso(jstr(stripped_obj(s.rep, 1), "eligible_at"), AT(2));
    step_free(&s);
    doc_of(&d, EXST_FLAVOR_NS, 1, "1", "2", "exit_staging_secs=7200");
    step_run(&s, h, &d, NULL);
    assert_int_equal(jint(stripped_obj(s.rep, 1), "remaining_s"), 3600);
    step_free(&s);
    doc_of(&d, EXST_FLAVOR_NS, 2, "1", "2", "exit_staging_secs=7200");
    step_run(&s, h, &d, NULL);
    stripped_digits(s.rep, got, sizeof got);
    assert_string_equal(got, "");
    assert_int_equal(jint(s.rep, "counts.graduated"), 1);
    assert_false(jbool(s.rep, "history.warming_up"));
    step_free(&s);
    /* Without the parameter the default P applies again. */
    doc_of(&d, EXST_FLAVOR_NS, 3, "1", "2", NULL);
    step_run(&s, h, &d, NULL);
    stripped_digits(s.rep, got, sizeof got);
    assert_string_equal(got, "1");
    assert_iso(jstr(stripped_obj(s.rep, 1), "eligible_at"), AT(0) + DAY_P);
    step_free(&s);
    /* W = 1 h from the consensus: a one-hour absence restarts. */
    doc_of(&d, EXST_FLAVOR_NS, 4, "", "12", NULL);
    step_run(&s, h, &d, NULL);
    step_free(&s);
    doc_of(&d, EXST_FLAVOR_NS, 5, "1", "2", "exit_staging_reset_secs=3600");
    step_run(&s, h, &d, NULL);
    assert_int_equal(jint(s.rep, "counts.restarted_runs"), 1);
    assert_iso(jstr(stripped_obj(s.rep, 1), "run_start"), AT(5));
    step_free(&s);
    /* The same absence with the command line W = 2 h is bridged. */
    exst_history_free(h);
    h = new_history(EXST_CLOCK_EXIT);
    exst_stage_opts o;
    default_opts(&o);
    o.reset_after_set = 1;
    o.reset_after_s = 7200;
    doc_of(&d, EXST_FLAVOR_NS, 0, "1", "2", NULL);
    step_run(&s, h, &d, &o);
    step_free(&s);
    doc_of(&d, EXST_FLAVOR_NS, 1, "", "12", NULL);
    step_run(&s, h, &d, &o);
    step_free(&s);
    doc_of(&d, EXST_FLAVOR_NS, 2, "1", "2", "exit_staging_reset_secs=3600");
    step_run(&s, h, &d, &o);
    assert_int_equal(jint(s.rep, "counts.restarted_runs"), 0);
    assert_iso(jstr(stripped_obj(s.rep, 1), "run_start"), AT(0));
    step_free(&s);
    exst_history_free(h);
}

/* ------------------------------------------------------------------ */
/* SPEC 3.3, 3.6: stripping off                                       */
/* ------------------------------------------------------------------ */

/* Input with the exitstage item inserted before the first dir-source. */
static char *input_plus_annotation(const char *text, const char *out,
                                   size_t out_len)
{
    const char *ds = strstr(text, "\ndir-source ") + 1;
    const char *ann = (const char *)memmem(out, out_len, "\nexitstage ", 11) + 1;
    const char *ann_end = strchr(ann, '\n') + 1;
    size_t n = strlen(text), k = (size_t)(ann_end - ann);
    char *r = malloc(n + k + 1);
    assert_non_null(r);
    memcpy(r, text, (size_t)(ds - text));
    memcpy(r + (ds - text), ann, k);
    memcpy(r + (ds - text) + k, ds, n - (size_t)(ds - text) + 1);
    return r;
}

static void test_disabled_by_params(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    tdoc d;
    step s;
    char got[16];
    doc_of(&d, EXST_FLAVOR_NS, 0, "13", "2", "exit_staging_enabled=0");
    step_run(&s, h, &d, NULL);
    assert_false(jbool(s.rep, "policy.enabled"));
    assert_int_equal(jint(s.rep, "counts.stripped"), 0);
    assert_int_equal(jint(s.rep, "counts.in_staging"), 2);
    assert_int_equal(jint(s.rep, "counts.new_runs"), 2);
    in_staging_digits(s.rep, got, sizeof got);
    assert_string_equal(got, "13");
    assert_int_equal(json_array_size(jget(s.rep, "stripped")), 0);
    assert_true(has_note(s.rep, "exit_staging_enabled=0"));
    assert_int_equal(jint(s.rep, "bandwidth.stripped"), 0);
    assert_true(json_equal(jget(s.rep, "bandwidth.weights_in"),
                           jget(s.rep, "bandwidth.weights_out")));
    assert_int_equal(exst_stage_in_staging_count(s.r), 2);
    /* Output = input plus the annotation. */
    exst_span out = exst_stage_output(s.r);
    char *want = input_plus_annotation(s.text, out.ptr, out.len);
    assert_int_equal(strlen(want), out.len);
    assert_memory_equal(want, out.ptr, out.len);
    assert_non_null(memmem(out.ptr, out.len, " stripped=0 ", 12));
    free(want);
    /* The history was still updated. */
    uint8_t id[20];
    exst_record rec;
    make_id(id, 3);
    assert_true(exst_history_find(h, id, &rec));
    assert_int_equal(rec.run_start, AT(0));
    step_free(&s);
    /* Enabled again an hour later: the run kept its start. */
    doc_of(&d, EXST_FLAVOR_NS, 1, "13", "2", NULL);
    step_run(&s, h, &d, NULL);
    assert_iso(jstr(stripped_obj(s.rep, 3), "run_start"), AT(0));
    assert_int_equal(jint(s.rep, "counts.stripped"), 2);
    step_free(&s);
    exst_history_free(h);
}

static void test_capacity_guard(void **state)
{
    (void)state;
    /* Relay 2 (bw 3000) is grandfathered; relay 1 (bw 1000) is new;
     * relay 4 is a new BadExit exit with a big bandwidth, which counts
     * neither way.  Fraction = 1000 / 4000 = 0.25. */
    static const struct {
        double max;
        int tripped;
    } cases[] = {{0.2, 1}, {0.249999, 1}, {0.25, 0}, {0.3, 0}, {0.0, 1},
                 {1.0, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        exst_history *h = new_history(EXST_CLOCK_EXIT);
        exst_stage_opts o;
        tdoc d;
        step s;
        char got[16];
        grandfather(h, 0, "2");
        memset(&d, 0, sizeof d);
        d.flavor = EXST_FLAVOR_NS;
        d.hour = 1;
        d.r[0] = (trelay){1, FL_EXIT_NOGUARD, 1000};
        d.r[1] = (trelay){2, FL_EXIT, 3000};
        d.r[2] = (trelay){3, FL_MID, 5000};
        d.r[3] = (trelay){4, FL_BADEXIT, 90000};
        default_opts(&o);
        o.guard_set = 1;
        o.max_strip_fraction = cases[k].max;
        print_message("guard: max %g\n", cases[k].max);
        step_run(&s, h, &d, &o);
        assert_true(jbool(s.rep, "capacity_guard.enabled"));
        assert_true(fabs(jreal(s.rep, "capacity_guard.max_fraction") -
                         cases[k].max) < 1e-6);
        assert_true(fabs(jreal(s.rep, "capacity_guard.fraction") - 0.25) <
                    1e-9);
        assert_int_equal(jbool(s.rep, "capacity_guard.tripped"),
                         cases[k].tripped);
        assert_int_equal(jint(s.rep, "counts.in_staging"), 2);
        in_staging_digits(s.rep, got, sizeof got);
        assert_string_equal(got, "14");
        assert_int_equal(jint(s.rep, "bandwidth.exit_candidates"), 4000);
        stripped_digits(s.rep, got, sizeof got);
        if (cases[k].tripped) {
            assert_string_equal(got, "");
            assert_int_equal(jint(s.rep, "counts.stripped"), 0);
            assert_int_equal(jint(s.rep, "bandwidth.stripped"), 0);
            assert_true(has_note(s.rep, "capacity guard tripped"));
            assert_true(exst_stage_warning_count(s.r) >= 1);
            assert_true(exst_stage_get_summary(s.r)->guard_tripped);
        } else {
            assert_string_equal(got, "14");
            assert_int_equal(jint(s.rep, "counts.stripped"), 2);
            assert_int_equal(jint(s.rep, "bandwidth.stripped"), 1000);
            assert_true(fabs(jreal(s.rep, "bandwidth.stripped_fraction") -
                             0.25) < 1e-9);
            assert_false(has_note(s.rep, "capacity guard"));
        }
        /* History updated either way. */
        uint8_t id[20];
        exst_record rec;
        make_id(id, 1);
        assert_true(exst_history_find(h, id, &rec));
        assert_int_equal(rec.run_start, AT(1));
        step_free(&s);
        exst_history_free(h);
    }
    /* Guard off: max_fraction null. */
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    tdoc d;
    step s;
    doc_of(&d, EXST_FLAVOR_NS, 0, "1", "2", NULL);
    step_run(&s, h, &d, NULL);
    assert_false(jbool(s.rep, "capacity_guard.enabled"));
    assert_true(json_is_null(jget(s.rep, "capacity_guard.max_fraction")));
    assert_true(fabs(jreal(s.rep, "capacity_guard.fraction") - 1.0) < 1e-9);
    step_free(&s);
    exst_history_free(h);
}

static void test_period_zero(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    exst_stage_opts o;
    tdoc d;
    step s;
    default_opts(&o);
    o.staging_period_set = 1;
    o.staging_period_s = 0;
    doc_of(&d, EXST_FLAVOR_NS, 0, "135", "2", NULL);
    step_run(&s, h, &d, &o);
    assert_int_equal(jint(s.rep, "counts.in_staging"), 0);
    assert_int_equal(jint(s.rep, "counts.stripped"), 0);
    assert_int_equal(jint(s.rep, "counts.graduated"), 3);
    assert_int_equal(jint(s.rep, "counts.new_runs"), 3);
    assert_false(jbool(s.rep, "history.warming_up"));
    assert_int_equal(json_array_size(jget(s.rep, "in_staging")), 0);
    exst_span out = exst_stage_output(s.r);
    char *want = input_plus_annotation(s.text, out.ptr, out.len);
    assert_int_equal(strlen(want), out.len);
    assert_memory_equal(want, out.ptr, out.len);
    free(want);
    step_free(&s);
    exst_history_free(h);
}

/* ------------------------------------------------------------------ */
/* SPEC 3.4: --enforce badexit                                        */
/* ------------------------------------------------------------------ */

static void test_enforce_badexit(void **state)
{
    (void)state;
    static const char *knowns[] = {
        "Exit Fast Guard HSDir Running Stable V2Dir Valid", /* no BadExit */
        KNOWN_DEFAULT,
    };
    for (size_t k = 0; k < 2; k++) {
        step sf, sb;
        exst_stage_opts of, ob;
        tdoc d;
        exst_history *hf = new_history(EXST_CLOCK_EXIT);
        exst_history *hb = new_history(EXST_CLOCK_EXIT);
        grandfather(hf, 0, "3");
        grandfather(hb, 0, "3");
        memset(&d, 0, sizeof d);
        d.flavor = k == 0 ? EXST_FLAVOR_NS : EXST_FLAVOR_MICRODESC;
        d.hour = 1;
        d.known = knowns[k];
        d.r[0] = (trelay){1, "Exit Fast Running Valid", 4000};
        d.r[1] = (trelay){2, FL_EXIT, 7000};
        d.r[2] = (trelay){3, FL_EXIT, 9000};
        d.r[3] = (trelay){4, FL_MID, 20000};
        d.r[4] = (trelay){5, "Fast Running Valid", 3000};
        default_opts(&of);
        default_opts(&ob);
        ob.enforce = EXST_ENFORCE_BADEXIT;
        ob.enforce_set = 1;
        step_run(&sf, hf, &d, &of);
        step_run(&sb, hb, &d, &ob);
        assert_string_equal(jstr(sb.rep, "policy.enforce"), "badexit");
        assert_string_equal(jstr(sb.rep, "policy.enforce_source"), CL);
        assert_string_equal(jstr(sf.rep, "policy.enforce"), "flag");
        assert_int_equal(jint(sb.rep, "counts.stripped"), 2);
        /* Weights equal those of flag enforcement. */
        assert_true(json_equal(jget(sf.rep, "bandwidth.weights_out"),
                               jget(sb.rep, "bandwidth.weights_out")));
        assert_false(json_equal(jget(sf.rep, "bandwidth.weights_in"),
                                jget(sf.rep, "bandwidth.weights_out")));
        exst_span of_out = exst_stage_output(sf.r);
        exst_span ob_out = exst_stage_output(sb.r);
        const char *wf = memmem(of_out.ptr, of_out.len, "\nbandwidth-weights ",
                                19);
        const char *wb = memmem(ob_out.ptr, ob_out.len, "\nbandwidth-weights ",
                                19);
        assert_non_null(wf);
        assert_non_null(wb);
        size_t lf = (size_t)(strchr(wf + 1, '\n') - wf);
        size_t lb = (size_t)(strchr(wb + 1, '\n') - wb);
        assert_int_equal(lf, lb);
        assert_memory_equal(wf, wb, lf);
        /* The s lines: BadExit in known-flags order, Exit gone. */
        assert_non_null(memmem(ob_out.ptr, ob_out.len,
                               "\ns BadExit Fast Running Valid\n", 30));
        assert_non_null(memmem(ob_out.ptr, ob_out.len,
                               "\ns BadExit Fast Guard Running Stable V2Dir "
                               "Valid\n", 49));
        /* known-flags gains BadExit, sorted; or stays as it was. */
        if (k == 1)
            assert_non_null(memmem(ob_out.ptr, ob_out.len,
                                   "\nknown-flags " KNOWN_DEFAULT "\n",
                                   14 + strlen(KNOWN_DEFAULT)));
        else
            assert_non_null(memmem(ob_out.ptr, ob_out.len,
                                   "\nknown-flags BadExit Exit Fast Guard "
                                   "HSDir Running Stable V2Dir Valid\n",
                                   69));
        assert_non_null(memmem(ob_out.ptr, ob_out.len, " enforce=badexit ",
                               17));
        /* The output reparses; BadExit relays are not exit candidates'
         * bandwidth. */
        char *copy = strndup(ob_out.ptr, ob_out.len);
        exst_consensus *oc = parse_text(copy, EXST_PARSE_ALLOW_REPROCESS);
        assert_true(exst_consensus_flag_index(oc, "BadExit") >= 0);
        assert_true(exst_consensus_weights_match(oc));
        exst_consensus_free(oc);
        free(copy);
        step_free(&sf);
        step_free(&sb);
        exst_history_free(hf);
        exst_history_free(hb);
    }
}

/* --no-annotate: only s lines and weights change. */
static void test_no_annotate(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    exst_stage_opts o;
    tdoc d;
    step s;
    default_opts(&o);
    o.no_annotate = 1;
    doc_of(&d, EXST_FLAVOR_MICRODESC, 0, "13", "2", NULL);
    step_run(&s, h, &d, &o);
    exst_span out = exst_stage_output(s.r);
    assert_null(memmem(out.ptr, out.len, "exitstage", 9));
    assert_int_equal(jint(s.rep, "counts.stripped"), 2);
    step_free(&s);
    exst_history_free(h);
}

/* ------------------------------------------------------------------ */
/* SPEC 10: --exempt                                                  */
/* ------------------------------------------------------------------ */

/* The fingerprints of the report's exempted list, as digits. */
static void exempted_digits(json_t *rep, char *out, size_t outsz)
{
    json_t *arr = jget(rep, "exempted"), *v;
    size_t i, k = 0;
    json_array_foreach(arr, i, v) {
        const char *fp = json_string_value(v);
        int n = (fp[0] - '0') * 16 + (fp[1] >= 'A' ? fp[1] - 'A' + 10
                                                  : fp[1] - '0');
        assert_true(k + 1 < outsz);
        out[k++] = (char)('0' + n);
    }
    out[k] = '\0';
}

/* An exit candidate in the exempt set is not in staging: not stripped,
 * not counted as graduated, listed under "exempted", and out of the
 * guard's fraction; its run is kept, so it is staged again once it is
 * no longer exempt.  Exempt relays that graduated anyway, or that are
 * not in the consensus, change nothing. */
static void test_exempt(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    exst_stage_opts o;
    uint8_t ex[3][20];
    tdoc d;
    step s;
    char got[16];
    /* Relay 2 graduated; 1, 3 and 5 are new.  Exempt: 2, 3, 9. */
    grandfather(h, 0, "2");
    make_id(ex[0], 2);
    make_id(ex[1], 3);
    make_id(ex[2], 9);
    default_opts(&o);
    o.exempt = (const uint8_t(*)[20])ex;
    o.n_exempt = 3;
    o.guard_set = 1;
    o.max_strip_fraction = 1.0;
    doc_of(&d, EXST_FLAVOR_NS, 1, "1235", "4", NULL);
    step_run(&s, h, &d, &o);
    assert_int_equal(jint(s.rep, "counts.exit_candidates"), 4);
    assert_int_equal(jint(s.rep, "counts.in_staging"), 2);
    assert_int_equal(jint(s.rep, "counts.stripped"), 2);
    assert_int_equal(jint(s.rep, "counts.graduated"), 1);
    assert_int_equal(jint(s.rep, "counts.exempted"), 1);
    assert_int_equal(jint(s.rep, "policy.exempt"), 3);
    assert_int_equal(exst_stage_get_summary(s.r)->counts.exempted, 1);
    in_staging_digits(s.rep, got, sizeof got);
    assert_string_equal(got, "15");
    stripped_digits(s.rep, got, sizeof got);
    assert_string_equal(got, "15");
    exempted_digits(s.rep, got, sizeof got);
    assert_string_equal(got, "3");
    /* Guard fraction: (1000 + 5000) / (1000 + 2000 + 3000 + 5000). */
    assert_true(fabs(jreal(s.rep, "capacity_guard.fraction") - 6.0 / 11) <
                1e-6);
    assert_int_equal(jint(s.rep, "bandwidth.stripped"), 6000);
    assert_int_equal(exst_stage_in_staging_count(s.r), 2);
    /* The history keeps relay 3's run. */
    uint8_t id[20];
    exst_record rec;
    make_id(id, 3);
    assert_true(exst_history_find(h, id, &rec));
    assert_int_equal(rec.run_start, AT(1));
    step_free(&s);

    /* Without the exemption an hour later, relay 3 is staged on its own
     * run: eligible at hour 1 + 96. */
    doc_of(&d, EXST_FLAVOR_NS, 2, "1235", "4", NULL);
    step_run(&s, h, &d, NULL);
    stripped_digits(s.rep, got, sizeof got);
    assert_string_equal(got, "135");
    assert_int_equal(jint(s.rep, "counts.exempted"), 0);
    assert_int_equal(jint(s.rep, "policy.exempt"), 0);
    assert_int_equal(json_array_size(jget(s.rep, "exempted")), 0);
    assert_iso(jstr(stripped_obj(s.rep, 3), "eligible_at"), AT(1 + 96));
    step_free(&s);

    /* The timeline record counts them too. */
    exst_stage_result *r = NULL;
    exst_consensus *c = NULL;
    exst_error err;
    json_error_t jerr;
    doc_of(&d, EXST_FLAVOR_NS, 3, "1235", "4", NULL);
    c = make_doc(&d, NULL);
    default_opts(&o);
    o.produce = EXST_STAGE_TIMELINE;
    o.exempt = (const uint8_t(*)[20])ex;
    o.n_exempt = 3;
    exst_error_clear(&err);
    assert_int_equal(exst_stage_run(&r, h, c, &o, &err), EXST_OK);
    exst_span tl = exst_stage_timeline(r);
    json_t *rec_j = json_loadb(tl.ptr, tl.len, 0, &jerr);
    assert_non_null(rec_j);
    assert_int_equal(jint(rec_j, "counts.exempted"), 1);
    assert_int_equal(jint(rec_j, "counts.stripped"), 2);
    json_decref(rec_j);
    exst_stage_result_free(r);
    exst_consensus_free(c);
    exst_history_free(h);
}

/* A set out of order, with a repeat, or announced but missing is a usage
 * error, and the history is as it was. */
static void test_exempt_bad_set(void **state)
{
    (void)state;
    uint8_t ex[2][20];
    static const struct {
        int a, b;
        size_t n;
        int null_set;
    } cases[] = {{5, 3, 2, 0}, {3, 3, 2, 0}, {0, 0, 1, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        exst_history *h = new_history(EXST_CLOCK_EXIT);
        exst_stage_opts o;
        exst_stage_result *r = NULL;
        exst_error err;
        tdoc d;
        void *before, *after;
        size_t nb, na;
        doc_of(&d, EXST_FLAVOR_NS, 0, "135", "2", NULL);
        exst_consensus *c = make_doc(&d, NULL);
        grandfather(h, 0, "2");
        history_bytes(h, &before, &nb);
        make_id(ex[0], cases[k].a);
        make_id(ex[1], cases[k].b);
        default_opts(&o);
        o.exempt = cases[k].null_set ? NULL : (const uint8_t(*)[20])ex;
        o.n_exempt = cases[k].n;
        exst_error_clear(&err);
        assert_int_equal(exst_stage_run(&r, h, c, &o, &err), EXST_ERR_USAGE);
        assert_null(r);
        assert_non_null(strstr(err.message, "exempt set"));
        history_bytes(h, &after, &na);
        assert_int_equal(na, nb);
        assert_memory_equal(after, before, nb);
        exst_free(before);
        exst_free(after);
        exst_consensus_free(c);
        exst_history_free(h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_table),
        cmocka_unit_test(test_flavour_order),
        cmocka_unit_test(test_older_refused),
        cmocka_unit_test(test_warming_up),
        cmocka_unit_test(test_grandfathering),
        cmocka_unit_test(test_bootstrap_rule),
        cmocka_unit_test(test_phase_notes),
        cmocka_unit_test(test_badexit_no_room),
        cmocka_unit_test(test_eligible_time_writable),
        cmocka_unit_test(test_params_precedence),
        cmocka_unit_test(test_params_effect),
        cmocka_unit_test(test_disabled_by_params),
        cmocka_unit_test(test_capacity_guard),
        cmocka_unit_test(test_period_zero),
        cmocka_unit_test(test_enforce_badexit),
        cmocka_unit_test(test_no_annotate),
        cmocka_unit_test(test_exempt),
        cmocka_unit_test(test_exempt_bad_set),
    };
    if (exst_init() != EXST_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
