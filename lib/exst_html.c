/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_html.c - the analysis document of a replay (SPEC 9) drawn as one
 * self-contained HTML page: inline SVG charts of the stripped
 * exit-bandwidth fraction and of the relays in staging, one line per lane,
 * with the bootstrap and ramp spans and the archive gaps marked; a paired
 * bar chart of denied shares (watched relays against all exit
 * candidates); the lane, phase and watched-relay tables.  The page is
 * well-formed XML (XHTML served as HTML), has no script, refers to nothing
 * outside itself, and the same document always gives the same bytes.
 * Long series are drawn per pixel column (smallest and largest value), so
 * a year of hourly points costs no more than a few weeks.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exst_adoc_int.h"
#include "exst_int.h"

static int nomem(exst_error *err)
{
    return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
}

/* ================================================================== */
/* Writing the page                                                    */
/* ================================================================== */

/* Longest untrusted string shown, in characters (tor's nicknames have
 * 19; the rest is cut with an ellipsis). */
#define SHOWN_MAX 64

static void put(exstp_buf *b, const char *s)
{
    exstp_buf_append(b, s, strlen(s));
}

#define BAD_CP 0xFFFFFFFFu

/* One UTF-8 sequence at p (n > 0 bytes): its length, and the code point
 * or BAD_CP for a malformed, overlong or surrogate sequence (one byte
 * consumed then). */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    const unsigned char c = p[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07u, min = 0x10000;
    } else {
        *cp = BAD_CP;
        return 1;
    }
    if (n < len) {
        *cp = BAD_CP;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *cp = BAD_CP;
            return 1;
        }
        v = v << 6 | (p[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = BAD_CP;
        return 1;
    }
    *cp = v;
    return len;
}

/* Characters XML 1.0 forbids, C1 controls, and the invisible direction
 * overrides that would let a nickname reorder the text around it. */
static bool shown_as_is(uint32_t cp)
{
    return cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp <= 0x9F) &&
           !(cp >= 0x200E && cp <= 0x200F) && !(cp >= 0x202A && cp <= 0x202E) &&
           !(cp >= 0x2066 && cp <= 0x2069) && cp != 0xFFFE && cp != 0xFFFF &&
           cp != BAD_CP;
}

/*
 * Untrusted text (s, n) as XML character data or a quoted attribute value:
 * & < > " ' escaped, tabs and line ends as spaces, anything else a strict
 * XML parser or a careful reader would stumble on (bad UTF-8, controls,
 * direction overrides) as U+FFFD, at most max characters then "...".
 */
static void put_text(exstp_buf *b, const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *const end = p + n;
    for (size_t chars = 0; p < end; chars++) {
        if (chars == max) {
            put(b, "\xe2\x80\xa6");
            return;
        }
        uint32_t cp;
        const size_t k = utf8_next(p, (size_t)(end - p), &cp);
        switch (cp) {
        case '&':
            put(b, "&amp;");
            break;
        case '<':
            put(b, "&lt;");
            break;
        case '>':
            put(b, "&gt;");
            break;
        case '"':
            put(b, "&quot;");
            break;
        case '\'':
            put(b, "&#39;");
            break;
        case '\t':
        case '\n':
        case '\r':
            put(b, " ");
            break;
        default:
            if (shown_as_is(cp))
                exstp_buf_append(b, p, k);
            else
                put(b, "\xef\xbf\xbd");
        }
        p += k;
    }
}

static void put_str(exstp_buf *b, const char *s)
{
    put_text(b, s, strlen(s), SHOWN_MAX);
}

/* ---- numbers and times as shown ------------------------------------ */

/* A fraction as a percentage with three significant digits ("1.23%",
 * "80.0%", "0.0123%"); "0%" for zero. */
static const char *fmt_pct(char *out, size_t sz, double v)
{
    const double a = v * 100.0;
    if (a <= 0.0) {
        snprintf(out, sz, "0%%");
        return out;
    }
    int dec = 2 - (int)floor(log10(a));
    dec = dec < 0 ? 0 : dec > 5 ? 5 : dec;
    snprintf(out, sz, "%.*f%%", dec, a);
    return out;
}

/* A count with thousands separators ("8,760"). */
static const char *fmt_count(char *out, size_t sz, int64_t v)
{
    char tmp[32];
    const int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < sz; i++) {
        if (i > 0 && tmp[i - 1] != '-' && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = '\0';
    return out;
}

/* A number >= 0 with two decimals below 10, one below 1000. */
static const char *fmt_real(char *out, size_t sz, double v)
{
    snprintf(out, sz, "%.*f", v < 10 ? 2 : v < 1000 ? 1 : 0, v);
    return out;
}

/* "2026-01-09 04:00" (UTC, the seconds of consensus times are zero). */
static const char *fmt_time(char out[21], int64_t t)
{
    exst_time_iso(out, t);
    out[10] = ' ';
    out[16] = '\0';
    return out;
}

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};

typedef struct civil {
    int year, month, day, hour;
} civil;

static civil civil_of(int64_t t)
{
    char s[21];
    exst_time_iso(s, t);
#define D2(k) ((s[k] - '0') * 10 + (s[(k) + 1] - '0'))
    const civil c = {D2(0) * 100 + D2(2), D2(5), D2(8), D2(11)};
#undef D2
    return c;
}

/* A figure's table cell: the value as people read it, the JSON value in
 * the hover text, "—" for null. */
static void put_figure_cell(exstp_buf *b, const exstp_figure *f, exstp_kind k,
                            const char *cls)
{
    char v[48], raw[48];
    if (f->null) {
        put(b, "<td class=\"null\" title=\"null\">\xe2\x80\x94</td>");
        return;
    }
    switch (k) {
    case EXSTP_K_COUNT:
        exstp_buf_printf(b, "<td%s>%s</td>", cls, fmt_count(v, sizeof v, f->i));
        return;
    case EXSTP_K_TIME:
        exst_time_iso(raw, f->i);
        fmt_time(v, f->i);
        break;
    case EXSTP_K_FRACTION:
        snprintf(raw, sizeof raw, "%.10g", f->v);
        fmt_pct(v, sizeof v, f->v);
        break;
    default:
        snprintf(raw, sizeof raw, "%.10g", f->v);
        fmt_real(v, sizeof v, f->v);
        break;
    }
    exstp_buf_printf(b, "<td%s title=\"%s\">%s</td>", cls, raw, v);
}

/* ---- chart geometry --------------------------------------------------- */

#define SVG_W          1040
#define PLOT_X0        64.0
#define PLOT_X1        (SVG_W - 24.0)
#define PLOT_H         240.0
#define LEGEND_ROW     20
#define FONT           "DejaVu Sans, Verdana, Arial, sans-serif"
#define INK            "#1d2330"
#define MUTED          "#5b6475"
#define GRID           "#e4e7ec"
#define AXIS           "#8a93a3"
#define BOOTSTRAP_FILL "#fbeccf"
#define RAMP_FILL      "#e3edf9"
#define ALL_FILL       "#94a3b8"
#define WATCHED_FILL   "#c2410c"

/* Lane colours: d3's category10 and two darker hues. */
static const unsigned palette[12] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728,
                                     0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f,
                                     0xbcbd22, 0x17becf, 0x393b79, 0x637939};
static const char *const dashes[4] = {NULL, "7 3", "2 3", "7 3 2 3"};

/* rgb mixed with black (amount < 0) or white (amount > 0). */
static void mix_rgb(char out[8], unsigned rgb, double amount)
{
    unsigned ch[3] = {rgb >> 16 & 255u, rgb >> 8 & 255u, rgb & 255u};
    for (int k = 0; k < 3; k++) {
        const double c = ch[k];
        ch[k] = (unsigned)lround(amount < 0 ? c * (1 + amount)
                                            : c + (255 - c) * amount);
    }
    snprintf(out, 8, "#%02x%02x%02x", ch[0], ch[1], ch[2]);
}

/* Add v to the distinct values vals (n of them, room for max); false when
 * it is new and there is no room. */
static bool add_distinct(int64_t *vals, size_t *n, size_t max, int64_t v)
{
    for (size_t i = 0; i < *n; i++)
        if (vals[i] == v)
            return true;
    if (*n == max)
        return false;
    vals[(*n)++] = v;
    return true;
}

static int rank_of(const int64_t *vals, size_t n, int64_t v)
{
    int r = 0;
    for (size_t i = 0; i < n; i++)
        r += vals[i] < v;
    return r;
}

/*
 * Colours of the lanes.  Lanes are every P with every W (SPEC 9), and
 * hourly lines are too dense for dashes to read, so when there are two to
 * twelve values of P and two to four of W, P picks the hue and W the shade
 * (shorter W darker), both by rank; a legend row then holds one P when the
 * lanes are in P-outer, W-inner order.  Otherwise each lane gets its own
 * hue, repeated with a dash pattern past twelve.
 */
static void assign_styles(exstp_adoc *d)
{
    static const double shades[5][4] = {
        {0}, {0}, {0, 0.45}, {-0.35, 0, 0.45}, {-0.35, 0, 0.4, 0.65}};
    int64_t ps[12], ws[4];
    size_t np = 0, nw = 0;
    bool family = true;
    for (size_t i = 0; i < d->n_lanes; i++) {
        family = family && add_distinct(ps, &np, 12, d->lanes[i].period);
        family = family && add_distinct(ws, &nw, 4, d->lanes[i].reset);
    }
    family = family && np >= 2 && nw >= 2;
    bool grid = family && d->n_lanes == np * nw;
    for (size_t i = 0; grid && i < d->n_lanes; i++)
        grid = d->lanes[i].period == d->lanes[i - i % nw].period &&
               d->lanes[i].reset == d->lanes[i % nw].reset;
    for (size_t i = 0; i < d->n_lanes; i++) {
        exstp_adoc_lane *l = &d->lanes[i];
        if (family) {
            mix_rgb(l->colour, palette[rank_of(ps, np, l->period)],
                    shades[nw][rank_of(ws, nw, l->reset)]);
            l->dash = 0;
        } else {
            mix_rgb(l->colour, palette[i % 12], 0);
            l->dash = (int)(i / 12 % 4);
        }
    }
    d->legend_cols = grid ? (int)nw : 0;
}

static void put_lane_stroke(exstp_buf *b, const exstp_adoc *d, size_t i)
{
    const exstp_adoc_lane *l = &d->lanes[i];
    exstp_buf_printf(b, " stroke=\"%s\" stroke-width=\"%s\"", l->colour,
                     i == d->primary ? "2.5" : "1.4");
    if (dashes[l->dash] != NULL)
        exstp_buf_printf(b, " stroke-dasharray=\"%s\"", dashes[l->dash]);
}

/* The time axis shared by both time charts. */
typedef struct tchart {
    int64_t t0, t1;        /* the domain: first to last consensus */
    double y0, y1;         /* plot top and bottom */
    double ymax;           /* value at the top */
    bool empty;            /* no time at all in the document */
    const exstp_adoc_gap *gaps; /* the lanes' gaps, merged */
    size_t n_gaps;
} tchart;

static double tx(const tchart *c, int64_t t)
{
    if (t <= c->t0)
        return PLOT_X0;
    if (t >= c->t1)
        return PLOT_X1;
    return PLOT_X0 +
           (double)(t - c->t0) * (PLOT_X1 - PLOT_X0) / (double)(c->t1 - c->t0);
}

static double vy(const tchart *c, double v)
{
    return c->y1 - v / c->ymax * (c->y1 - c->y0);
}

static int cmp_gap(const void *a, const void *b)
{
    const exstp_adoc_gap *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return x->to < y->to ? -1 : x->to > y->to;
}

/* Hours missing between consensuses at a and b. */
static int64_t hours_between(int64_t a, int64_t b)
{
    return (b - a - 1) / 3600;
}

/*
 * Every lane's gaps (each lane lists the gaps of at least its W), sorted,
 * overlapping ones merged: the archive's spans without a consensus.  With
 * holes, also every pair of neighbouring series entries more than an hour
 * apart (the gaps shorter than any W), so that every break in a line is
 * explained on the chart.
 */
static int merge_gaps(exstp_adoc_gap **out, size_t *n_out, const exstp_adoc *d,
                      bool holes, exst_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_lanes; i++) {
        const exstp_adoc_lane *l = &d->lanes[i];
        n += l->n_gaps;
        for (size_t k = 1; holes && k < l->n; k++)
            n += l->t[k] - l->t[k - 1] > 3600;
    }
    exstp_adoc_gap *g = exstp_calloc(n, sizeof *g);
    if (g == NULL)
        return nomem(err);
    size_t m = 0;
    for (size_t i = 0; i < d->n_lanes; i++) {
        const exstp_adoc_lane *l = &d->lanes[i];
        memcpy(g + m, l->gaps, l->n_gaps * sizeof *g);
        m += l->n_gaps;
        for (size_t k = 1; holes && k < l->n; k++)
            if (l->t[k] - l->t[k - 1] > 3600)
                g[m++] = (exstp_adoc_gap){l->t[k - 1], l->t[k],
                                     hours_between(l->t[k - 1], l->t[k])};
    }
    if (n > 1)
        qsort(g, n, sizeof *g, cmp_gap);
    m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && g[i].from < g[m - 1].to) {
            if (g[i].to > g[m - 1].to)
                g[m - 1].to = g[i].to;
            g[m - 1].missing_hours = hours_between(g[m - 1].from, g[m - 1].to);
        } else if (m > 0 && g[i].from == g[m - 1].from &&
                   g[i].to == g[m - 1].to) {
            continue;
        } else {
            g[m++] = g[i];
        }
    }
    *out = g;
    *n_out = m;
    return EXST_OK;
}

/* The domain: the archive's first and last consensus and every series. */
static void time_domain(tchart *c, const exstp_adoc *d)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    if (d->first != EXST_TIME_NONE)
        lo = d->first;
    if (d->last != EXST_TIME_NONE)
        hi = d->last;
    if (d->first != EXST_TIME_NONE && d->last == EXST_TIME_NONE)
        hi = d->first;
    if (d->last != EXST_TIME_NONE && d->first == EXST_TIME_NONE)
        lo = d->last;
    for (size_t i = 0; i < d->n_lanes; i++) {
        const exstp_adoc_lane *l = &d->lanes[i];
        if (l->n == 0)
            continue;
        lo = l->t[0] < lo ? l->t[0] : lo;
        hi = l->t[l->n - 1] > hi ? l->t[l->n - 1] : hi;
    }
    c->empty = lo > hi;
    if (c->empty) {
        lo = 0;
        hi = 86400;
    } else if (lo == hi) {
        lo -= 1800;
        hi += 1800;
    }
    c->t0 = lo;
    c->t1 = hi;
}

/* a + b for counts (both >= 0), stopping at INT64_MAX. */
static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* A "nice" axis with about target steps: step is 1, 2, 2.5 (not for
 * counts) or 5 times a power of ten, top the first multiple >= maxv. */
static void nice_axis(double maxv, int target, bool integer, double *top,
                      double *step)
{
    const double raw = maxv / target;
    const double mag = pow(10.0, floor(log10(raw)));
    const double r = raw / mag;
    double s = (r <= 1                   ? 1
                : r <= 2                 ? 2
                : (r <= 2.5 && !integer) ? 2.5
                : r <= 5                 ? 5
                                         : 10) *
               mag;
    if (integer && s < 1)
        s = 1;
    *step = s;
    *top = ceil(maxv / s - 1e-9) * s;
}

/* Decimals that show every multiple of step exactly. */
static int step_decimals(double step)
{
    int d = 0;
    for (double s = step; d < 6 && fabs(s - round(s)) > 1e-6 * (s + 1); s *= 10)
        d++;
    return d;
}

typedef struct xtick {
    int64_t t;
    char label[24];
} xtick;

/* Time ticks at round times (hours, midnights, Mondays, firsts of
 * months, years), about one per 90 pixels. */
static size_t x_ticks(xtick *out, size_t max, const tchart *c)
{
    static const struct {
        int64_t secs;
        int months;
    } steps[] = {
        {3600, 0},  {7200, 0},      {10800, 0},     {21600, 0},      {43200, 0},
        {86400, 0}, {2 * 86400, 0}, {7 * 86400, 0}, {14 * 86400, 0}, {0, 1},
        {0, 2},     {0, 3},         {0, 6},         {0, 12},         {0, 24},
        {0, 60},    {0, 120},       {0, 240},       {0, 600},        {0, 1200},
    };
    const size_t n_steps = sizeof steps / sizeof steps[0];
    const double want = (PLOT_X1 - PLOT_X0) / 90.0;
    const double width = (double)(c->t1 - c->t0);
    size_t s = 0;
    for (; s + 1 < n_steps; s++) {
        const double len = steps[s].secs
                               ? (double)steps[s].secs
                               : steps[s].months * 2629746.0; /* mean month */
        if (width / len <= want)
            break;
    }
    size_t n = 0;
    if (steps[s].secs != 0) {
        const int64_t step = steps[s].secs;
        /* Weeks start on Monday; 1970-01-05 was one. */
        const int64_t off = step % (7 * 86400) == 0 ? 4 * 86400 : 0;
        const int64_t rel = c->t0 - off;
        int64_t k = rel / step;
        if (k * step < rel)
            k++;
        for (int64_t t = k * step + off; t <= c->t1 && n < max; t += step) {
            const civil cv = civil_of(t);
            out[n].t = t;
            if (step < 86400 && t % 86400 != 0)
                snprintf(out[n].label, sizeof out[n].label, "%02d:00", cv.hour);
            else
                snprintf(out[n].label, sizeof out[n].label, "%s %d",
                         month_names[cv.month - 1], cv.day);
            n++;
        }
        return n;
    }
    const int m = steps[s].months;
    civil cv = civil_of(c->t0);
    for (int y = cv.year, mo = cv.month; n < max; mo++) {
        if (mo > 12) {
            mo = 1;
            y++;
        }
        const int64_t t = exstp_timegm(y, mo, 1, 0, 0, 0);
        if (t > c->t1 || y > 9999)
            break;
        const bool aligned =
            m < 12 ? (mo - 1) % m == 0 : mo == 1 && y % (m / 12) == 0;
        if (t < c->t0 || !aligned)
            continue;
        out[n].t = t;
        if (m >= 12)
            snprintf(out[n].label, sizeof out[n].label, "%d", y);
        else if (mo == 1 || n == 0)
            snprintf(out[n].label, sizeof out[n].label, "%s %d",
                     month_names[mo - 1], y);
        else
            snprintf(out[n].label, sizeof out[n].label, "%s",
                     month_names[mo - 1]);
        n++;
    }
    return n;
}

/* ---- legends ---------------------------------------------------------- */

#define CHAR_W 7.0 /* DejaVu Sans at 12px, a generous mean width */

static double text_w(const char *s)
{
    return CHAR_W * (double)strlen(s);
}

/* A legend entry other than a lane: a box (fill, optional stroke) or,
 * with line, a dashed line. */
typedef struct lmark {
    const char *fill, *stroke;
    bool line;
    char text[96];
} lmark;

static void add_mark(lmark *m, size_t *n, const char *fill, const char *stroke,
                     bool line, const char *text)
{
    m[*n].fill = fill;
    m[*n].stroke = stroke;
    m[*n].line = line;
    snprintf(m[*n].text, sizeof m[*n].text, "%s", text);
    (*n)++;
}

/* Lane entries a legend row holds, and the width of each. */
static int lane_cols(const exstp_adoc *d, double *slot)
{
    double widest = 0;
    for (size_t i = 0; i < d->n_lanes; i++) {
        const double w = text_w(d->lanes[i].label);
        widest = w > widest ? w : widest;
    }
    *slot = 30 + widest + 28;
    int fit = (int)((SVG_W - PLOT_X0) / *slot);
    fit = fit < 1 ? 1 : fit;
    return d->legend_cols > 0 && d->legend_cols <= fit ? d->legend_cols : fit;
}

static double mark_w(const lmark *m)
{
    return 30 + text_w(m->text) + 24;
}

static int mark_rows(const lmark *m, size_t n)
{
    int rows = n > 0;
    double x = PLOT_X0;
    for (size_t i = 0; i < n; i++) {
        if (x > PLOT_X0 && x + mark_w(&m[i]) > SVG_W) {
            rows++;
            x = PLOT_X0;
        }
        x += mark_w(&m[i]);
    }
    return rows;
}

static void legend_label(exstp_buf *b, double x, double y, const char *text,
                         bool strong)
{
    exstp_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\"%s>", x + 30,
                     y + 4, INK, strong ? " font-weight=\"bold\"" : "");
    put_str(b, text);
    put(b, "</text>\n");
}

/* The legend of a time chart from y = top: lanes in rows of cols, then
 * the marks, flowed. */
static void put_legend(exstp_buf *b, const exstp_adoc *d, double top,
                       int cols, double slot, const lmark *m, size_t n)
{
    for (size_t i = 0; i < d->n_lanes; i++) {
        const double x = PLOT_X0 + (double)(i % (size_t)cols) * slot;
        const double y = top + (double)(i / (size_t)cols) * LEGEND_ROW;
        exstp_buf_printf(b,
                         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                         "y2=\"%.1f\"",
                         x, y, x + 24, y);
        put_lane_stroke(b, d, i);
        put(b, "/>\n");
        legend_label(b, x, y, d->lanes[i].label, i == d->primary);
    }
    double x = PLOT_X0;
    double y = top + (double)((d->n_lanes + (size_t)cols - 1) / (size_t)cols) *
                         LEGEND_ROW;
    for (size_t i = 0; i < n; i++) {
        if (x > PLOT_X0 && x + mark_w(&m[i]) > SVG_W) {
            x = PLOT_X0;
            y += LEGEND_ROW;
        }
        if (m[i].line) {
            exstp_buf_printf(b,
                             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                             "y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.4\" "
                             "stroke-dasharray=\"4 3\"/>\n",
                             x, y, x + 24, y, m[i].fill);
        } else {
            exstp_buf_printf(b,
                             "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" "
                             "height=\"12\" fill=\"%s\"",
                             x, y - 6, m[i].fill);
            if (m[i].stroke != NULL)
                exstp_buf_printf(b, " stroke=\"%s\"", m[i].stroke);
            put(b, "/>\n");
        }
        legend_label(b, x, y, m[i].text, false);
        x += mark_w(&m[i]);
    }
}

/* ---- time charts --------------------------------------------------------- */

enum chart_kind { CH_FRACTION, CH_STAGING };

/* An svg element that stands alone when cut out of the page: its own
 * size, font and white background. */
static void put_svg_open(exstp_buf *b, int h, const char *title)
{
    exstp_buf_printf(b,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                     "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                     "font-family=\"%s\" font-size=\"12\" role=\"img\">\n"
                     "<title>%s</title>\n<rect width=\"%d\" height=\"%d\" "
                     "fill=\"#fff\"/>\n",
                     SVG_W, h, SVG_W, h, FONT, title, SVG_W, h);
}

/*
 * One series of lane l (dv, or iv when dv is NULL) as SVG path data.  Per
 * pixel column it keeps the smallest and the largest value that fall in
 * it, in the order they occur, so a year of hourly points (about nine a
 * column) keeps every peak and trough while the page stays small.  The
 * line breaks where two points are further apart than 90 minutes and two
 * columns: no line is drawn across missing consensuses.  With base >= 0
 * each piece is closed down to y = base, for an area.
 */
static void put_series_path(exstp_buf *b, const tchart *c, const exstp_adoc_lane *l,
                            const double *dv, const int64_t *iv, double base)
{
    const double secs_per_col = (double)(c->t1 - c->t0) / (PLOT_X1 - PLOT_X0);
    const double brk = fmax(5400.0, 2.0 * secs_per_col);
    const int last_col = (int)(PLOT_X1 - PLOT_X0) - 1;
    int col = -1, pts = 0;
    double lo = 0, hi = 0, last_x = 0;
    size_t ilo = 0, ihi = 0;
    bool open = false;
    for (size_t i = 0; i <= l->n; i++) {
        const bool end = i == l->n;
        bool jump = false;
        int cx = 0;
        double v = 0;
        if (!end) {
            cx = (int)floor(tx(c, l->t[i]) - PLOT_X0);
            cx = cx < 0 ? 0 : cx > last_col ? last_col : cx;
            v = dv != NULL ? dv[i] : (double)iv[i];
            jump = i > 0 && (double)(l->t[i] - l->t[i - 1]) > brk;
        }
        if (col >= 0 && (end || jump || cx != col)) {
            const double x = PLOT_X0 + col + 0.5;
            const double ya = vy(c, ilo <= ihi ? lo : hi);
            const double yb = vy(c, ilo <= ihi ? hi : lo);
            if (!open && base >= 0)
                exstp_buf_printf(b, "M%.1f %.1fL%.1f %.1f", x, base, x, ya);
            else
                exstp_buf_printf(b, "%c%.1f %.1f", open ? 'L' : 'M', x, ya);
            pts = open ? pts + 1 : 1;
            open = true;
            if (fabs(yb - ya) >= 0.05) {
                exstp_buf_printf(b, "V%.1f", yb);
                pts++;
            }
            last_x = x;
            col = -1;
        }
        if (open && (end || jump)) {
            if (base >= 0)
                exstp_buf_printf(b, "L%.1f %.1fZ", last_x, base);
            else if (pts == 1)
                put(b, "h0.01"); /* a lone point: a dot (round caps) */
            open = false;
        }
        if (end)
            break;
        if (col < 0) {
            col = cx;
            lo = hi = v;
            ilo = ihi = i;
        } else if (v < lo) {
            lo = v;
            ilo = i;
        } else if (v > hi) {
            hi = v;
            ihi = i;
        }
    }
}

static void put_gap_pattern(exstp_buf *b, const char *id)
{
    exstp_buf_printf(b,
                     "<defs><pattern id=\"exst-%s-gap\" width=\"6\" "
                     "height=\"6\" patternUnits=\"userSpaceOnUse\" "
                     "patternTransform=\"rotate(45)\"><rect width=\"6\" "
                     "height=\"6\" fill=\"#eef0f3\"/><line x1=\"0\" y1=\"0\" "
                     "x2=\"0\" y2=\"6\" stroke=\"#aab1bd\" "
                     "stroke-width=\"2\"/></pattern></defs>\n",
                     id);
}

/* The primary lane's bootstrap and ramp spans and the archive gaps, under
 * everything else. */
static void put_time_marks(exstp_buf *b, const exstp_adoc *d,
                           const tchart *c, const char *id)
{
    const exstp_adoc_lane *pl = &d->lanes[d->primary];
    static const char *const fills[2] = {BOOTSTRAP_FILL, RAMP_FILL};
    for (int ph = EXSTP_PH_BOOTSTRAP; ph <= EXSTP_PH_RAMP; ph++) {
        const exstp_phase_span *sp = &pl->spans[ph];
        char a[21], z[21], n[32];
        if (!sp->present)
            continue;
        /* A span covers its consensuses' hours: to the next hour. */
        const double xa = tx(c, sp->from), xb = tx(c, sp->to + 3600);
        exstp_buf_printf(b,
                         "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                         "height=\"%.1f\" fill=\"%s\"><title>%s of %s: %s to "
                         "%s UTC, %s consensuses</title></rect>\n",
                         xa, c->y0, xb - xa, c->y1 - c->y0, fills[ph],
                         exstp_phase_names[ph], pl->label,
                         fmt_time(a, sp->from), fmt_time(z, sp->to),
                         fmt_count(n, sizeof n, sp->consensuses));
        if (xb - xa >= 64)
            exstp_buf_printf(b,
                             "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" "
                             "font-size=\"11\">%s</text>\n",
                             xa + 5, c->y0 + 14, MUTED, exstp_phase_names[ph]);
    }
    for (size_t i = 0; i < c->n_gaps; i++) {
        const exstp_adoc_gap *g = &c->gaps[i];
        char a[21], z[21], n[32];
        double xa = tx(c, g->from), xb = tx(c, g->to);
        if (xb - xa < 2) {
            xa = (xa + xb) / 2 - 1;
            xb = xa + 2;
        }
        exstp_buf_printf(b,
                         "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                         "height=\"%.1f\" fill=\"url(#exst-%s-gap)\"><title>"
                         "archive gap: no consensus between %s and %s UTC "
                         "(%s hour%s missing)</title></rect>\n",
                         xa, c->y0, xb - xa, c->y1 - c->y0, id,
                         fmt_time(a, g->from), fmt_time(z, g->to),
                         fmt_count(n, sizeof n, g->missing_hours),
                         g->missing_hours == 1 ? "" : "s");
    }
}

static void put_axes(exstp_buf *b, const tchart *c, double step,
                     enum chart_kind kind)
{
    const int dec = step_decimals(step * 100);
    put(b, "<g font-size=\"11\" fill=\"" MUTED "\">\n");
    for (int k = 0; k * step <= c->ymax * (1 + 1e-9); k++) {
        const double v = k * step, y = vy(c, v);
        if (k > 0)
            exstp_buf_printf(b,
                             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                             "y2=\"%.1f\" stroke=\"" GRID "\"/>\n",
                             PLOT_X0, y, PLOT_X1, y);
        if (kind == CH_FRACTION)
            exstp_buf_printf(b,
                             "<text x=\"%.1f\" y=\"%.1f\" "
                             "text-anchor=\"end\">%.*f%%</text>\n",
                             PLOT_X0 - 8, y + 4, dec, v * 100);
        else
            exstp_buf_printf(b,
                             "<text x=\"%.1f\" y=\"%.1f\" "
                             "text-anchor=\"end\">%.0f</text>\n",
                             PLOT_X0 - 8, y + 4, v);
    }
    xtick ticks[64];
    const size_t n = c->empty ? 0 : x_ticks(ticks, 64, c);
    for (size_t i = 0; i < n; i++) {
        const double x = tx(c, ticks[i].t);
        const double half = 3.4 * (double)strlen(ticks[i].label);
        exstp_buf_printf(b,
                         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                         "y2=\"%.1f\" stroke=\"" GRID "\"/>\n<line x1=\"%.1f\" "
                         "y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" AXIS
                         "\"/>\n",
                         x, c->y0, x, c->y1, x, c->y1, x, c->y1 + 4);
        if (x - half >= 2 && x + half <= SVG_W - 2)
            exstp_buf_printf(b,
                             "<text x=\"%.1f\" y=\"%.1f\" "
                             "text-anchor=\"middle\">%s</text>\n",
                             x, c->y1 + 18, ticks[i].label);
    }
    put(b, "</g>\n");
    exstp_buf_printf(b,
                     "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" "
                     "stroke=\"" AXIS "\"/>\n",
                     PLOT_X0, c->y0, c->y1, PLOT_X1);
}

static void put_lane_line(exstp_buf *b, const exstp_adoc *d,
                          const tchart *c, size_t i, enum chart_kind kind)
{
    const exstp_adoc_lane *l = &d->lanes[i];
    char m[32], p[32], at[21];
    if (l->n == 0)
        return;
    put(b, "<path d=\"");
    put_series_path(b, c, l, kind == CH_FRACTION ? l->fraction : NULL,
                    l->in_staging, -1);
    put(b, "\"");
    put_lane_stroke(b, d, i);
    exstp_buf_printf(b, "><title>%s%s: ", l->label,
                     i == d->primary ? " (primary lane)" : "");
    if (kind == CH_FRACTION) {
        const exstp_figure *mf = &l->fig[EXSTP_F_MEAN_FRACTION];
        const exstp_figure *pf = &l->fig[EXSTP_F_PEAK_FRACTION];
        const exstp_figure *pa = &l->fig[EXSTP_F_PEAK_AT];
        exstp_buf_printf(b,
                         "stripped exit-bandwidth fraction; steady mean "
                         "%s, peak %s",
                         mf->null ? "null" : fmt_pct(m, sizeof m, mf->v),
                         pf->null ? "null" : fmt_pct(p, sizeof p, pf->v));
        if (!pa->null)
            exstp_buf_printf(b, " at %s UTC", fmt_time(at, pa->i));
    } else {
        int64_t most = 0;
        for (size_t k = 0; k < l->n; k++)
            most = l->in_staging[k] > most ? l->in_staging[k] : most;
        exstp_buf_printf(b, "relays in staging, at most %s",
                         fmt_count(m, sizeof m, most));
    }
    put(b, "</title></path>\n");
}

static void put_time_chart(exstp_buf *b, const exstp_adoc *d,
                           const tchart *c0, enum chart_kind kind)
{
    tchart c = *c0;
    const exstp_adoc_lane *pl = &d->lanes[d->primary];
    const char *id = kind == CH_FRACTION ? "fraction" : "staging";
    double maxv = 0;
    bool show_stripped = false, any = false;
    for (size_t i = 0; i < d->n_lanes; i++) {
        const exstp_adoc_lane *l = &d->lanes[i];
        any = any || l->n > 0;
        for (size_t k = 0; k < l->n; k++) {
            const double v =
                kind == CH_FRACTION ? l->fraction[k] : (double)l->in_staging[k];
            maxv = v > maxv ? v : maxv;
        }
    }
    for (size_t k = 0; kind == CH_STAGING && k < pl->n; k++) {
        show_stripped = show_stripped || pl->stripped[k] != pl->in_staging[k];
        maxv = (double)pl->stripped[k] > maxv ? (double)pl->stripped[k] : maxv;
    }
    if (maxv <= 0)
        maxv = kind == CH_FRACTION ? 0.01 : 5;
    double step = 1;
    nice_axis(maxv, 5, kind == CH_STAGING, &c.ymax, &step);

    lmark marks[4];
    size_t nm = 0;
    char fill[48];
    snprintf(fill, sizeof fill, "url(#exst-%s-gap)", id);
    if (pl->spans[EXSTP_PH_BOOTSTRAP].present)
        add_mark(marks, &nm, BOOTSTRAP_FILL, NULL, false, "bootstrap");
    if (pl->spans[EXSTP_PH_RAMP].present) {
        char t[96];
        snprintf(t, sizeof t, d->n_lanes > 1 ? "ramp (%s)" : "ramp", pl->label);
        add_mark(marks, &nm, RAMP_FILL, NULL, false, t);
    }
    if (c.n_gaps > 0)
        add_mark(marks, &nm, fill, "#aab1bd", false,
                 "no consensus (archive gap)");
    if (show_stripped)
        add_mark(marks, &nm, INK, NULL, true, "relays stripped (primary lane)");
    double slot = 0;
    const int cols = lane_cols(d, &slot);
    const int lane_rows = (int)((d->n_lanes + (size_t)cols - 1) / (size_t)cols);
    c.y0 = 18 + (lane_rows + mark_rows(marks, nm)) * LEGEND_ROW;
    c.y1 = c.y0 + PLOT_H;
    put_svg_open(b, (int)c.y1 + 30,
                 kind == CH_FRACTION
                     ? "Stripped exit-bandwidth fraction over time, one line "
                       "per lane"
                     : "Relays in staging over time, one line per lane");
    put_gap_pattern(b, id);
    put_legend(b, d, 14, cols, slot, marks, nm);

    put_time_marks(b, d, &c, id);
    put_axes(b, &c, step, kind);

    put(b, "<g fill=\"none\" stroke-linejoin=\"round\" "
           "stroke-linecap=\"round\">\n");
    if (kind == CH_STAGING && pl->n > 0) {
        put(b, "<path d=\"");
        put_series_path(b, &c, pl, NULL, pl->in_staging, c.y1);
        exstp_buf_printf(b,
                         "\" fill=\"%s\" fill-opacity=\"0.12\" "
                         "stroke=\"none\"/>\n",
                         pl->colour);
    }
    for (size_t i = 0; i < d->n_lanes; i++)
        if (i != d->primary)
            put_lane_line(b, d, &c, i, kind);
    put_lane_line(b, d, &c, d->primary, kind);
    if (show_stripped) {
        put(b, "<path d=\"");
        put_series_path(b, &c, pl, NULL, pl->stripped, -1);
        exstp_buf_printf(b,
                         "\" stroke=\"" INK "\" stroke-width=\"1.4\" "
                         "stroke-dasharray=\"4 3\"><title>%s (primary lane): "
                         "relays stripped</title></path>\n",
                         pl->label);
    }
    put(b, "</g>\n");
    if (!any)
        exstp_buf_printf(b,
                         "<text x=\"%.1f\" y=\"%.1f\" "
                         "text-anchor=\"middle\" fill=\"" MUTED "\">no "
                         "counted consensus in this analysis</text>\n",
                         (PLOT_X0 + PLOT_X1) / 2, (c.y0 + c.y1) / 2);
    put(b, "</svg>\n");
}

/* ---- denied shares: watched relays against all ------------------------- */

#define SHARE_TOP 44.0
#define SHARE_ROW 46.0
#define SHARE_X0  190.0
#define SHARE_W   480.0

static void put_share_bar(exstp_buf *b, double y, const exstp_figure *f,
                          const char *fill, const char *lane_label,
                          const char *what, const char *extra,
                          const char *if_null)
{
    char v[32];
    if (f->null) {
        exstp_buf_printf(b,
                         "<text x=\"%.1f\" y=\"%.1f\" fill=\"" MUTED
                         "\" font-size=\"11\">\xe2\x80\x94 %s</text>\n",
                         SHARE_X0 + 6, y + 10.5, if_null);
        return;
    }
    double w = f->v * SHARE_W;
    if (w > 0 && w < 1)
        w = 1;
    exstp_buf_printf(b,
                     "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                     "height=\"13\" fill=\"%s\"><title>%s: %s %s (%.10g)"
                     "</title></rect>\n",
                     SHARE_X0, y, w, fill, lane_label, what,
                     fmt_pct(v, sizeof v, f->v), f->v);
    exstp_buf_printf(b,
                     "<text x=\"%.1f\" y=\"%.1f\" fill=\"" INK "\" "
                     "font-size=\"11\">%s",
                     SHARE_X0 + w + 6, y + 10.5, v);
    if (extra != NULL)
        exstp_buf_printf(b, "<tspan fill=\"" MUTED "\"> \xc2\xb7 %s</tspan>",
                         extra);
    put(b, "</text>\n");
}

static void put_share_chart(exstp_buf *b, const exstp_adoc *d)
{
    const int h = (int)(SHARE_TOP + SHARE_ROW * (double)d->n_lanes + 30);
    put_svg_open(b, h,
                 "Denied share per lane: watched relays against all "
                 "exit candidates");
    exstp_buf_printf(b,
                     "<rect x=\"%.1f\" y=\"10\" width=\"14\" height=\"12\" "
                     "fill=\"" ALL_FILL "\"/>\n<text x=\"%.1f\" y=\"20\" "
                     "fill=\"" INK "\">all exit candidates "
                     "(denied_share)</text>\n<rect x=\"%.1f\" y=\"10\" "
                     "width=\"14\" height=\"12\" fill=\"" WATCHED_FILL
                     "\"/>\n<text x=\"%.1f\" y=\"20\" fill=\"" INK "\">"
                     "watched relays (watched_denied_share)</text>\n"
                     "<text x=\"%d\" y=\"20\" fill=\"" MUTED "\" "
                     "text-anchor=\"end\">watched \xc3\xb7 all</text>\n",
                     SHARE_X0, SHARE_X0 + 20, SHARE_X0 + 280, SHARE_X0 + 300,
                     SVG_W - 8);
    const double bottom = SHARE_TOP + SHARE_ROW * (double)d->n_lanes;
    for (size_t i = 0; i < d->n_lanes; i++) {
        if (i != d->primary)
            continue;
        exstp_buf_printf(b,
                         "<rect x=\"4\" y=\"%.1f\" width=\"%d\" "
                         "height=\"%.1f\" rx=\"4\" fill=\"#eef3fb\"/>\n",
                         SHARE_TOP + SHARE_ROW * (double)i - 4, SVG_W - 8,
                         SHARE_ROW - 4);
    }
    put(b, "<g font-size=\"11\" fill=\"" MUTED "\">\n");
    for (int p = 0; p <= 100; p += 20) {
        const double x = SHARE_X0 + SHARE_W * p / 100;
        exstp_buf_printf(b,
                         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                         "y2=\"%.1f\" stroke=\"%s\"/>\n<text x=\"%.1f\" "
                         "y=\"%.1f\" text-anchor=\"middle\">%d%%</text>\n",
                         x, SHARE_TOP - 8, x, bottom, p ? GRID : AXIS, x,
                         bottom + 16, p);
    }
    put(b, "</g>\n");
    for (size_t i = 0; i < d->n_lanes; i++) {
        const exstp_adoc_lane *l = &d->lanes[i];
        const double y = SHARE_TOP + SHARE_ROW * (double)i;
        const exstp_figure *ds = &l->fig[EXSTP_F_DENIED_SHARE];
        const exstp_figure *ws = &l->fig[EXSTP_F_WATCHED_DENIED_SHARE];
        const exstp_figure *nw = &l->fig[EXSTP_F_WATCHED],
                           *fd = &l->fig[EXSTP_F_FULLY_DENIED];
        char extra[96], a[32], z[32];
        exstp_buf_printf(b,
                         "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                         "fill=\"" INK "\"%s>%s</text>\n",
                         SHARE_X0 - 14, y + 15,
                         i == d->primary ? " font-weight=\"bold\"" : "",
                         l->label);
        if (i == d->primary)
            exstp_buf_printf(b,
                             "<text x=\"%.1f\" y=\"%.1f\" "
                             "text-anchor=\"end\" fill=\"" MUTED "\" "
                             "font-size=\"11\">primary lane</text>\n",
                             SHARE_X0 - 14, y + 30);
        put_share_bar(b, y, ds, ALL_FILL, l->label,
                      "share of exit candidates denied", NULL,
                      "no exit candidate in a steady consensus");
        snprintf(extra, sizeof extra, "%s watched, %s fully denied",
                 nw->null ? "\xe2\x80\x94" : fmt_count(a, sizeof a, nw->i),
                 fd->null ? "\xe2\x80\x94" : fmt_count(z, sizeof z, fd->i));
        put_share_bar(b, y + 16, ws, WATCHED_FILL, l->label,
                      "share of watched relays' exit consensuses denied", extra,
                      "no watched relay was an exit before caught");
        if (!ds->null && !ws->null && ds->v > 0) {
            const double r = ws->v / ds->v;
            exstp_buf_printf(b,
                             "<text x=\"%d\" y=\"%.1f\" "
                             "text-anchor=\"end\" font-size=\"15\" "
                             "font-weight=\"bold\" fill=\"%s\">%.*f\xc3\x97"
                             "<title>%s: watched relays were denied %.3g "
                             "times as often as exit candidates at large"
                             "</title></text>\n",
                             SVG_W - 8, y + 24, r > 1 ? WATCHED_FILL : INK,
                             r < 10 ? 1 : 0, r, l->label, r);
        } else {
            exstp_buf_printf(b,
                             "<text x=\"%d\" y=\"%.1f\" "
                             "text-anchor=\"end\" fill=\"" MUTED "\">"
                             "\xe2\x80\x94</text>\n",
                             SVG_W - 8, y + 24);
        }
    }
    put(b, "</svg>\n");
}

/* ---- tables ------------------------------------------------------------ */

/* A column heading: the heading, then the JSON field the column shows,
 * with break opportunities after "_" and "." for narrow columns. */
static void put_th(exstp_buf *b, const char *attrs, const char *heading,
                   const char *field)
{
    exstp_buf_printf(b, "<th%s>%s", attrs, heading);
    if (field != NULL) {
        put(b, "<code>");
        for (const char *p = field; *p != '\0'; p++) {
            exstp_buf_append(b, p, 1);
            if ((*p == '_' || *p == '.') && p[1] != '\0')
                put(b, "<wbr/>");
        }
        put(b, "</code>");
    }
    put(b, "</th>");
}

/* The lane's name; P, W in seconds as the hover text. */
static void put_lane_name_cell(exstp_buf *b, const exstp_adoc *d, size_t i)
{
    const exstp_adoc_lane *l = &d->lanes[i];
    exstp_buf_printf(b,
                     "<td class=\"l\" title=\"staging_period_s %lld, "
                     "reset_after_s %lld\"><span class=\"sw\" "
                     "style=\"background:%s\"></span>%s",
                     (long long)l->period, (long long)l->reset, l->colour,
                     l->label);
    if (i == d->primary)
        put(b, " <span class=\"badge\">primary</span>");
    put(b, "</td>");
}

static void put_lane_table(exstp_buf *b, const exstp_adoc *d)
{
    put(b, "<div class=\"wrap\"><table class=\"data\">\n<thead><tr>");
    put_th(b, " class=\"l\"", "Lane: staging period P, reset after W",
           "staging_period_s, reset_after_s, primary");
    for (int f = 0; f < EXSTP_N_FIGURES; f++)
        put_th(b,
               f == EXSTP_F_WATCHED_DENIED_SHARE ? " class=\"wat\""
               : f == EXSTP_F_DENIED_SHARE       ? " class=\"all\""
                                                 : "",
               exstp_adoc_figures[f].heading, exstp_adoc_figures[f].key);
    put(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < d->n_lanes; i++) {
        const exstp_adoc_lane *l = &d->lanes[i];
        exstp_buf_printf(b, "<tr%s>",
                         i == d->primary ? " class=\"primary\"" : "");
        put_lane_name_cell(b, d, i);
        for (int f = 0; f < EXSTP_N_FIGURES; f++)
            put_figure_cell(b, &l->fig[f], exstp_adoc_figures[f].kind,
                            f == EXSTP_F_WATCHED_DENIED_SHARE ? " class=\"wat\""
                            : f == EXSTP_F_DENIED_SHARE       ? " class=\"all\""
                                                              : "");
        put(b, "</tr>\n");
    }
    put(b, "</tbody></table></div>\n");
}

static void put_span_cell(exstp_buf *b, const exstp_phase_span *sp)
{
    char a[21], z[21], n[32];
    if (!sp->present) {
        put(b, "<td class=\"null l\" title=\"null\">\xe2\x80\x94</td>");
        return;
    }
    fmt_time(a, sp->from);
    fmt_time(z, sp->to);
    /* The year once when both ends share it. */
    const bool same_year = memcmp(a, z, 5) == 0;
    exstp_buf_printf(b,
                     "<td class=\"l\">%s \xe2\x86\x92 %s<span class=\"sub\">"
                     "%s consensuses</span></td>",
                     a, same_year ? z + 5 : z,
                     fmt_count(n, sizeof n, sp->consensuses));
}

static void put_phase_table(exstp_buf *b, const exstp_adoc *d)
{
    put(b, "<div class=\"wrap\"><table class=\"data\">\n<thead><tr>");
    put_th(b, " class=\"l\"", "Lane", NULL);
    put_th(b, " class=\"l\"", "Bootstrap (UTC)", "spans.bootstrap");
    put_th(b, " class=\"l\"", "Ramp (UTC)", "spans.ramp");
    put_th(b, " class=\"l\"", "Steady (UTC)", "spans.steady");
    put_th(b, "", "Gaps of W or more", "gaps");
    put_th(b, "", "Hours missing", "gaps[].missing_hours");
    put(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < d->n_lanes; i++) {
        const exstp_adoc_lane *l = &d->lanes[i];
        char n[32];
        int64_t missing = 0;
        for (size_t g = 0; g < l->n_gaps; g++)
            missing = add_sat(missing, l->gaps[g].missing_hours);
        exstp_buf_printf(b, "<tr%s>",
                         i == d->primary ? " class=\"primary\"" : "");
        put_lane_name_cell(b, d, i);
        for (int ph = 0; ph < EXSTP_N_PHASES; ph++)
            put_span_cell(b, &l->spans[ph]);
        exstp_buf_printf(b, "<td>%s</td>",
                         fmt_count(n, sizeof n, (int64_t)l->n_gaps));
        exstp_buf_printf(b, "<td>%s</td></tr>\n",
                         fmt_count(n, sizeof n, missing));
    }
    put(b, "</tbody></table></div>\n");
}

/* The merged gaps, at most this many rows. */
#define GAP_ROWS 100

static void put_gap_table(exstp_buf *b, const exstp_adoc_gap *gaps, size_t n)
{
    char a[21], z[21], h[32];
    put(b, "<div class=\"wrap\"><table class=\"data narrow\">\n<thead><tr>");
    put_th(b, " class=\"l\"", "Last consensus before (UTC)", "gaps[].from");
    put_th(b, " class=\"l\"", "First consensus after (UTC)", "gaps[].to");
    put_th(b, "", "Hours missing", "gaps[].missing_hours");
    put(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n && i < GAP_ROWS; i++) {
        const exstp_adoc_gap *g = &gaps[i];
        exstp_buf_printf(b,
                         "<tr><td class=\"l\">%s</td><td class=\"l\">%s"
                         "</td><td>%s</td></tr>\n",
                         fmt_time(a, g->from), fmt_time(z, g->to),
                         fmt_count(h, sizeof h, g->missing_hours));
    }
    if (n > GAP_ROWS)
        exstp_buf_printf(b,
                         "<tr><td class=\"l null\" colspan=\"3\">and %s "
                         "more</td></tr>\n",
                         fmt_count(h, sizeof h, (int64_t)(n - GAP_ROWS)));
    put(b, "</tbody></table></div>\n");
}

static void put_watched_table(exstp_buf *b, const exstp_adoc *d)
{
    put(b, "<div class=\"wrap\"><table class=\"data\">\n<thead><tr>");
    put_th(b, " class=\"l\" rowspan=\"2\"", "Fingerprint", "fingerprint");
    put_th(b, " class=\"l\" rowspan=\"2\"", "Nickname, source",
           "nickname, source");
    put_th(b, " class=\"l\" rowspan=\"2\"", "Caught (UTC)", "caught_at");
    exstp_buf_printf(b,
                     "<th class=\"group\" colspan=\"%zu\">Steady exit "
                     "consensuses before caught: denied / all<code>lanes[]."
                     "denied / lanes[].exit_consensuses</code></th></tr>\n"
                     "<tr>",
                     d->n_lanes);
    for (size_t i = 0; i < d->n_lanes; i++)
        put_th(b, i == d->primary ? " class=\"ln hl\"" : " class=\"ln\"",
               d->lanes[i].label, NULL);
    put(b, "</tr></thead>\n<tbody>\n");
    for (size_t k = 0; k < d->n_watched; k++) {
        const exstp_watched *w = &d->watched[k];
        char t[21], a[32], z[32];
        /* Two halves that may wrap when there are many lanes. */
        exstp_buf_printf(b,
                         "<tr><td class=\"l fp\">%.20s<wbr/>%s</td>"
                         "<td class=\"l\">",
                         w->fingerprint, w->fingerprint + 20);
        if (w->nickname != NULL)
            put_str(b, w->nickname);
        else
            put(b, "<span class=\"null\" title=\"null\">\xe2\x80\x94</span>");
        exstp_buf_printf(b, "<span class=\"sub\">%s</span></td>", w->source);
        if (w->caught_at == EXST_TIME_NONE)
            put(b, "<td class=\"l null\" title=\"null: never caught\">"
                   "\xe2\x80\x94</td>");
        else
            exstp_buf_printf(b,
                             "<td class=\"l\" title=\"%s\">%.10s<span "
                             "class=\"sub\">%s</span></td>",
                             exst_time_iso(t, w->caught_at),
                             fmt_time(a, w->caught_at), a + 11);
        for (size_t i = 0; i < d->n_lanes; i++) {
            const int64_t e = w->exits[i], n = w->denied[i];
            const char *cls = e == 0   ? "null"
                              : n == e ? "full"
                              : n > 0  ? "part"
                                       : "zero";
            if (e == 0)
                exstp_buf_printf(b,
                                 "<td class=\"cnt %s\" title=\"%s: no steady "
                                 "exit consensus before caught\">"
                                 "\xe2\x80\x94</td>",
                                 cls, d->lanes[i].label);
            else
                exstp_buf_printf(b,
                                 "<td class=\"cnt %s\" title=\"%s: denied "
                                 "in %s of %s exit consensuses\">%s/%s</td>",
                                 cls, d->lanes[i].label,
                                 fmt_count(a, sizeof a, n),
                                 fmt_count(z, sizeof z, e), a, z);
        }
        put(b, "</tr>\n");
    }
    put(b, "</tbody></table></div>\n");
}

/* ---- the page ------------------------------------------------------------ */

static const char page_css[] =
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#f3f4f7;color:" INK ";"
    "font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "\"DejaVu Sans\",Arial,sans-serif}\n"
    "main{max-width:1100px;margin:0 auto;padding:22px 20px 36px}\n"
    "h1{font-size:24px;margin:0 0 2px;letter-spacing:-0.01em}\n"
    "h2{font-size:17px;margin:0 0 2px}\n"
    "h3{font-size:14px;margin:14px 0 4px}\n"
    "p{margin:0 0 8px}\n"
    ".sub{color:" MUTED "}\n"
    "header .sub{margin:0 0 14px}\n"
    "section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;"
    "padding:16px 18px;margin:14px 0}\n"
    ".note{color:" MUTED ";font-size:13px;margin:0 0 10px;max-width:80em}\n"
    "code{font:11px \"DejaVu Sans Mono\",Menlo,Consolas,monospace;"
    "color:#6b7385}\n"
    "dl.facts{display:grid;grid-template-columns:repeat(6,1fr);"
    "gap:10px 16px;margin:0}\n"
    "dl.facts div{background:#fff;border:1px solid #e1e4ea;"
    "border-radius:6px;padding:8px 10px}\n"
    "dt{color:" MUTED ";font-size:12px}\n"
    "dd{margin:0;font-weight:600;white-space:nowrap}\n"
    "dd code,dd .sub{display:block;font-weight:400;font-size:11px;"
    "white-space:normal}\n"
    ".cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px}\n"
    ".card{border:1px solid #e1e4ea;border-radius:6px;padding:10px 12px}\n"
    ".card .big{font-size:26px;font-weight:700;line-height:1.2}\n"
    ".card .big small{font-size:15px;font-weight:600}\n"
    ".card .what{font-size:12px;color:" MUTED "}\n"
    ".watched{color:" WATCHED_FILL "}\n"
    "svg{display:block;max-width:100%;height:auto;margin:6px 0 0}\n"
    ".wrap{overflow-x:auto}\n"
    "table.data{border-collapse:collapse;width:100%;"
    "font-variant-numeric:tabular-nums;font-size:13px}\n"
    "table.narrow{width:auto}\n"
    "th{text-align:right;vertical-align:bottom;font-weight:600;"
    "font-size:12px;padding:6px;border-bottom:2px solid #d3d8e0}\n"
    "th code{display:block;font-weight:400;font-size:10px;"
    "overflow-wrap:anywhere}\n"
    "th.group{text-align:center;border-bottom:1px solid #d3d8e0}\n"
    "th.hl,.wat{color:" WATCHED_FILL "}\n"
    ".wat,.all{font-weight:600}\n"
    "td.cnt{font-size:12px;padding:5px 4px}\n"
    "th.ln{font-size:11px;padding:6px 4px}\n"
    "td{padding:5px 6px;border-bottom:1px solid #eceef2;text-align:right;"
    "white-space:nowrap}\n"
    ".l{text-align:left}\n"
    "td .sub{display:block;font-size:11px}\n"
    "tr.primary td{background:#eef3fb}\n"
    "td.null,span.null{color:#9aa1ad}\n"
    ".full{background:#f6c9b4}\n"
    ".part{background:#fbe6dc}\n"
    ".key{padding:0 6px;border-radius:3px;border:1px solid #e1e4ea}\n"
    "td.fp{font:11px \"DejaVu Sans Mono\",Menlo,Consolas,monospace;"
    "white-space:normal}\n"
    ".sw{display:inline-block;width:10px;height:10px;border-radius:2px;"
    "margin-right:6px}\n"
    ".badge{font-size:10px;font-weight:600;color:#fff;background:#1f4e8c;"
    "border-radius:8px;padding:1px 6px;margin-left:4px;"
    "vertical-align:1px}\n"
    "footer{color:" MUTED ";font-size:12px;margin-top:18px}\n"
    "@media (max-width:900px){dl.facts,.cards{"
    "grid-template-columns:repeat(2,1fr)}}\n";

static void put_fact(exstp_buf *b, const char *label, const char *value,
                     const char *detail, const char *field)
{
    exstp_buf_printf(b, "<div><dt>%s</dt><dd>", label);
    put_str(b, value);
    if (detail != NULL && detail[0] != '\0') {
        put(b, "<span class=\"sub\">");
        put_text(b, detail, strlen(detail), 4 * SHOWN_MAX);
        put(b, "</span>");
    }
    exstp_buf_printf(b, "<code>%s</code></dd></div>\n", field);
}

/* "microdesc 340 · ns 332" from an object of counts, keys in byte order
 * (so the page does not depend on the order the document lists them in),
 * cut with "..." when out is full; *sum is the total of all. */
static void counts_line(char *out, size_t sz, const json_t *obj, int64_t *sum)
{
    size_t o = 0;
    const char *k, *prev = NULL;
    json_t *v;
    char n[32];
    *sum = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)obj, k, v) *sum =
        add_sat(*sum, (int64_t)json_integer_value(v));
    for (;;) {
        const char *best = NULL;
        json_t *bv = NULL;
        json_object_foreach((json_t *)obj, k, v)
        {
            if ((prev == NULL || strcmp(k, prev) > 0) &&
                (best == NULL || strcmp(k, best) < 0)) {
                best = k;
                bv = v;
            }
        }
        if (best == NULL)
            return;
        const int w =
            snprintf(out + o, sz - o, "%s%.40s %s", o ? " \xc2\xb7 " : "", best,
                     fmt_count(n, sizeof n, (int64_t)json_integer_value(bv)));
        if (w < 0 || (size_t)w >= sz - o) {
            if (o + 4 < sz)
                memcpy(out + o, "...", 4);
            return;
        }
        o += (size_t)w;
        prev = best;
    }
}

static void put_header(exstp_buf *b, const exstp_adoc *d, const char *title)
{
    char a[21], z[21], n[32], m[32], det[256], v[96];
    put(b, "<header>\n<h1>");
    put_text(b, title, strlen(title), 200);
    put(b, "</h1>\n<p class=\"sub\">");
    if (d->first != EXST_TIME_NONE && d->last != EXST_TIME_NONE) {
        const long long days = (d->last - d->first) / 86400;
        const long long hours = (d->last - d->first) % 86400 / 3600;
        exstp_buf_printf(b, "%s to %s UTC (", fmt_time(a, d->first),
                         fmt_time(z, d->last));
        if (days > 0)
            exstp_buf_printf(b, "%lld day%s%s", days, days == 1 ? "" : "s",
                             hours > 0 ? " " : "");
        if (hours > 0 || days == 0)
            exstp_buf_printf(b, "%lld hour%s", hours, hours == 1 ? "" : "s");
        put(b, ") \xc2\xb7 ");
    }
    exstp_buf_printf(b,
                     "%zu lane%s, primary %s \xc2\xb7 %zu watched "
                     "relay%s</p>\n<dl class=\"facts\">\n",
                     d->n_lanes, d->n_lanes == 1 ? "" : "s",
                     d->lanes[d->primary].label, d->n_watched,
                     d->n_watched == 1 ? "" : "s");
    put_fact(b, "First consensus (UTC)",
             d->first == EXST_TIME_NONE ? "\xe2\x80\x94"
                                        : fmt_time(a, d->first),
             NULL, "archive.first");
    put_fact(b, "Last consensus (UTC)",
             d->last == EXST_TIME_NONE ? "\xe2\x80\x94" : fmt_time(z, d->last),
             NULL, "archive.last");
    int64_t sum = 0;
    counts_line(det, sizeof det, d->by_flavor, &sum);
    put_fact(b, "Documents", fmt_count(n, sizeof n, d->documents), det,
             "archive.documents, .by_flavor");
    put_fact(b, "Hours counted", fmt_count(n, sizeof n, d->hours), NULL,
             "archive.hours");
    counts_line(det, sizeof det, d->skipped, &sum);
    put_fact(b, "Skipped", fmt_count(m, sizeof m, sum), det, "archive.skipped");
    put_fact(b, "Clock", d->clock, NULL, "policy.clock");
    put_fact(b, "Enforcement", d->enforce, NULL, "policy.enforce");
    put_fact(b, "Bootstrap", d->bootstrap, NULL, "policy.bootstrap");
    if (d->max_strip.null)
        snprintf(v, sizeof v, "off");
    else
        fmt_pct(v, sizeof v, d->max_strip.v);
    put_fact(b, "Capacity guard", v,
             d->max_strip.null ? "no maximum" : "most exit bandwidth stripped",
             "policy.max_strip_fraction");
    snprintf(det, sizeof det, "%.60s %.30s", d->tool_name, d->tool_version);
    put_fact(b, "Analysed by", det, NULL, "tool.name, tool.version");
    snprintf(v, sizeof v, "%zu", d->n_lanes);
    put_fact(b, "Lanes", v, d->lanes[d->primary].label, "lanes");
    snprintf(v, sizeof v, "%zu", d->n_watched);
    put_fact(b, "Watched relays", v, NULL, "watched");
    put(b, "</dl>\n</header>\n");
}

static void put_card(exstp_buf *b, const char *big, const char *what,
                     const char *field, const char *detail)
{
    exstp_buf_printf(b,
                     "<div class=\"card\"><div class=\"what\">%s</div>"
                     "<div class=\"big\">%s</div><div class=\"what\">%s"
                     "<code> %s</code></div></div>\n",
                     what, big, detail, field);
}

static void put_cards(exstp_buf *b, const exstp_adoc *d)
{
    const exstp_adoc_lane *l = &d->lanes[d->primary];
    const exstp_figure *f = l->fig;
    char big[128], det[128], x[32], y[32], t[21];
    exstp_buf_printf(b,
                     "<section>\n<h2>Primary lane, %s</h2>\n<p class="
                     "\"note\">Figures over the steady consensuses (after "
                     "bootstrap and ramp), as the lane table gives them.</p>\n"
                     "<div class=\"cards\">\n",
                     l->label);
    snprintf(big, sizeof big, "%s",
             f[EXSTP_F_MEAN_FRACTION].null
                 ? "\xe2\x80\x94"
                 : fmt_pct(x, sizeof x, f[EXSTP_F_MEAN_FRACTION].v));
    snprintf(det, sizeof det, "over %s steady consensuses",
             f[EXSTP_F_CONSENSUSES].null
                 ? "\xe2\x80\x94"
                 : fmt_count(y, sizeof y, f[EXSTP_F_CONSENSUSES].i));
    put_card(b, big, "Mean exit bandwidth stripped", "mean_stripped_fraction",
             det);
    snprintf(big, sizeof big, "%s",
             f[EXSTP_F_PEAK_FRACTION].null
                 ? "\xe2\x80\x94"
                 : fmt_pct(x, sizeof x, f[EXSTP_F_PEAK_FRACTION].v));
    if (f[EXSTP_F_PEAK_AT].null)
        snprintf(det, sizeof det, "no steady consensus");
    else
        snprintf(det, sizeof det, "at %s UTC",
                 fmt_time(t, f[EXSTP_F_PEAK_AT].i));
    put_card(b, big, "Peak exit bandwidth stripped", "peak_stripped_fraction",
             det);
    snprintf(big, sizeof big, "%s",
             f[EXSTP_F_RELAYS_STAGED].null
                 ? "\xe2\x80\x94"
                 : fmt_count(x, sizeof x, f[EXSTP_F_RELAYS_STAGED].i));
    if (f[EXSTP_F_MEAN_STRIPPED].null)
        snprintf(det, sizeof det, "none stripped in a steady consensus");
    else
        snprintf(det, sizeof det, "%s stripped per consensus on average",
                 fmt_real(y, sizeof y, f[EXSTP_F_MEAN_STRIPPED].v));
    put_card(b, big, "Relays staged", "relays_staged", det);
    snprintf(big, sizeof big,
             "<span class=\"watched\">%s</span> <small>vs"
             "</small> %s",
             f[EXSTP_F_WATCHED_DENIED_SHARE].null
                 ? "\xe2\x80\x94"
                 : fmt_pct(x, sizeof x, f[EXSTP_F_WATCHED_DENIED_SHARE].v),
             f[EXSTP_F_DENIED_SHARE].null
                 ? "\xe2\x80\x94"
                 : fmt_pct(y, sizeof y, f[EXSTP_F_DENIED_SHARE].v));
    put_card(b, big, "Denied: watched relays vs all exits",
             "watched_denied_share, denied_share",
             "share of exit consensuses in which staging stripped them");
    put(b, "</div>\n</section>\n");
}

static void put_page(exstp_buf *b, const exstp_adoc *d, const tchart *c,
                     const exstp_adoc_gap *listed, size_t n_listed,
                     const char *title)
{
    const exstp_adoc_lane *pl = &d->lanes[d->primary];
    put(b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" "
           "lang=\"en\" xml:lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
           "<meta name=\"viewport\" content=\"width=device-width, "
           "initial-scale=1\"/>\n");
    exstp_buf_printf(b,
                     "<meta name=\"generator\" content=\"libexitstage "
                     "%s\"/>\n<title>",
                     exst_version());
    put_text(b, title, strlen(title), 200);
    exstp_buf_printf(b,
                     "</title>\n<style>\n%s</style>\n</head>\n<body>\n"
                     "<main>\n",
                     page_css);
    put_header(b, d, title);
    put_cards(b, d);

    put(b, "<section id=\"fraction\">\n<h2>Exit bandwidth stripped</h2>\n"
           "<p class=\"note\">Per consensus, the share of exit-candidate "
           "bandwidth (BadExit left out) whose Exit flag staging stripped "
           "(<code>series.stripped_fraction</code>), one line per lane. "
           "Shading: the primary lane's bootstrap and ramp; hatching: hours "
           "with no consensus in the archive.</p>\n");
    put_time_chart(b, d, c, CH_FRACTION);
    put(b, "</section>\n<section id=\"staging\">\n<h2>Relays in staging</h2>"
           "\n<p class=\"note\">Per consensus, the relays in their staging "
           "period, stripped or not (<code>series.in_staging</code>), one "
           "line per lane; the primary lane's area is filled.</p>\n");
    put_time_chart(b, d, c, CH_STAGING);
    put(b, "</section>\n");

    put(b, "<section id=\"watched\">\n<h2>Does staging hit watched relays "
           "harder?</h2>\n");
    if (d->n_watched > 0) {
        put(b, "<p class=\"note\">Of the steady consensuses in which a "
               "watched relay (a listed or BadExit relay, before it was "
               "caught) was an exit candidate, the share in which staging "
               "stripped it, against the same share for every exit "
               "candidate. A long orange bar beside a short grey one is the "
               "evidence that staging holds back short-lived throwaway "
               "exits.</p>\n");
        put_share_chart(b, d);
        put(b, "<h3>Watched relays</h3>\n<p class=\"note\">Per lane, in "
               "how many of the steady consensuses in which the relay was an "
               "exit candidate before it was caught staging stripped it: "
               "<span class=\"key full\">all</span> <span class=\"key "
               "part\">some</span> <span class=\"key zero\">none</span>; "
               "\xe2\x80\x94 when it never was one.</p>\n");
        put_watched_table(b, d);
    } else {
        put(b, "<p class=\"note\">This analysis has no watched relays (no "
               "watch list, no BadExit relays watched).</p>\n");
    }
    put(b, "</section>\n");

    put(b, "<section id=\"lanes\">\n<h2>Lanes</h2>\n<p class=\"note\">Every "
           "lane's figures over its steady consensuses; each column names "
           "its field in the analysis document. Hover a cell for the "
           "exact value; \xe2\x80\x94 is null.</p>\n");
    put_lane_table(b, d);
    put(b, "<h3>Phases and gaps</h3>\n");
    put_phase_table(b, d);
    if (n_listed > 0) {
        put(b, "<h3>Archive gaps of W or more</h3>\n");
        put_gap_table(b, listed, n_listed);
    }
    put(b, "</section>\n");

    exstp_buf_printf(b,
                     "<footer>\n<p>Drawn by libexitstage %s from an "
                     "analysis document (schema_version 1) of ",
                     exst_version());
    put_str(b, d->tool_name);
    put(b, " ");
    put_str(b, d->tool_version);
    exstp_buf_printf(b,
                     ". Times are UTC. The charts draw, per pixel column, "
                     "the smallest and largest value of the consensuses that "
                     "fall in it, so no peak is lost however long the "
                     "archive; a line breaks where consensuses are missing. "
                     "Primary lane: %s.</p>\n</footer>\n</main>\n</body>\n"
                     "</html>\n",
                     pl->label);
}

int exst_html_render(char **out, size_t *out_len, const char *analysis,
                     size_t len, const exst_html_opts *opts, exst_error *err)
{
    if (out == NULL || out_len == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "no output buffer given");
    *out = NULL;
    *out_len = 0;
    if (analysis == NULL && len > 0)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "no analysis document given");
    const size_t max = opts != NULL && opts->max_doc_bytes
                           ? opts->max_doc_bytes
                           : EXST_DEFAULT_MAX_ANALYSIS_BYTES;
    if (len > max)
        return exstp_error_simple(err, EXST_ERR_LIMIT, NULL,
                                  "analysis document of %zu bytes is over "
                                  "the limit of %zu",
                                  len, max);
    exstp_adoc d;
    memset(&d, 0, sizeof d);
    tchart c;
    memset(&c, 0, sizeof c);
    exstp_adoc_gap *gaps = NULL, *listed = NULL;
    size_t n_listed = 0;
    exstp_buf b = {0};
    int rc = exstp_adoc_read(&d, analysis ? analysis : "", len, err);
    if (rc == EXST_OK)
        rc = merge_gaps(&gaps, &c.n_gaps, &d, true, err);
    if (rc == EXST_OK)
        rc = merge_gaps(&listed, &n_listed, &d, false, err);
    if (rc != EXST_OK)
        goto done;
    c.gaps = gaps;
    time_domain(&c, &d);
    assign_styles(&d);

    char made[96];
    const char *title = made;
    if (opts != NULL && opts->title != NULL) {
        title = opts->title;
    } else if (d.first != EXST_TIME_NONE && d.last != EXST_TIME_NONE) {
        char a[21], z[21];
        exst_time_iso(a, d.first);
        exst_time_iso(z, d.last);
        if (memcmp(a, z, 10) == 0)
            snprintf(made, sizeof made, "Exit staging analysis, %.10s", a);
        else
            snprintf(made, sizeof made,
                     "Exit staging analysis, %.10s to "
                     "%.10s",
                     a, z);
    } else {
        snprintf(made, sizeof made, "Exit staging analysis");
    }
    put_page(&b, &d, &c, listed, n_listed, title);
    exstp_buf_append(&b, "", 1); /* a NUL after the page, not counted */
    if (b.failed) {
        rc = nomem(err);
        goto done;
    }
    *out = b.data;
    *out_len = b.len - 1;
    b.data = NULL;
done:
    exstp_buf_free(&b);
    exst_free(listed);
    exst_free(gaps);
    exstp_adoc_free(&d);
    return rc;
}
