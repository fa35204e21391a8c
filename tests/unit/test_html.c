/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the HTML page of an analysis (lib/exst_html.c, through
 * exst_html_render): every page of testdata/analysis/ is well-formed XML
 * by a strict checker of our own (tags nested and closed, attributes
 * quoted, only the XML entities, valid UTF-8 without control characters)
 * and refers to nothing outside itself; exact cells, legends, hover texts
 * and marks for one lane, twelve lanes, null spans, gaps and hostile
 * strings; a year of twelve lanes stays small with its peak kept;
 * determinism (same bytes, whatever the key order or layout of the
 * document); options, limits and usage errors; and a failing allocator.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"

#include "exitstage.h"
#include "exst_int.h"

static char *read_analysis(const char *name, size_t *len)
{
    char *dir = tu_path(tu_project_dir(), "analysis");
    char *path = tu_path(dir, name);
    char *buf = NULL;
    assert_int_equal(tu_read_file(path, &buf, len), 0);
    free(path);
    free(dir);
    return buf;
}

static char *render_text(const char *text, size_t len,
                         const exst_html_opts *opts, size_t *out_len)
{
    char *out = NULL;
    exst_error err;
    exst_error_clear(&err);
    const int rc = exst_html_render(&out, out_len, text, len, opts, &err);
    if (rc != EXST_OK)
        print_error("render: %d %s\n", rc, err.message);
    assert_int_equal(rc, EXST_OK);
    assert_non_null(out);
    assert_int_equal(strlen(out), *out_len); /* NUL after, none inside */
    return out;
}

static char *render_file(const char *name, size_t *out_len)
{
    size_t len = 0;
    char *doc = read_analysis(name, &len);
    char *out = render_text(doc, len, NULL, out_len);
    free(doc);
    return out;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    const size_t k = strlen(needle);
    for (const char *p = strstr(hay, needle); p != NULL;
         p = strstr(p + k, needle))
        n++;
    return n;
}

static void assert_has(const char *page, const char *needle)
{
    if (strstr(page, needle) == NULL)
        print_error("missing: %s\n", needle);
    assert_non_null(strstr(page, needle));
}

static void assert_count(const char *page, const char *needle, size_t n)
{
    const size_t got = count(page, needle);
    if (got != n)
        print_error("%zu times, expected %zu: %s\n", got, n, needle);
    assert_int_equal(got, n);
}

/* ---- a strict XML well-formedness check ------------------------------ */

static bool name_char(int c)
{
    return isalnum(c) || c == '-' || c == ':' || c == '_' || c == '.';
}

/* An entity or character reference at p (just after '&'); its length up
 * to and including ';', or 0. */
static size_t entity_len(const char *p)
{
    static const char *const named[] = {"amp;", "lt;", "gt;", "quot;", "apos;"};
    for (size_t i = 0; i < 5; i++)
        if (strncmp(p, named[i], strlen(named[i])) == 0)
            return strlen(named[i]);
    size_t k = 0;
    if (p[0] == '#' && p[1] == 'x') {
        for (k = 2; isxdigit((unsigned char)p[k]); k++)
            ;
        return k > 2 && p[k] == ';' ? k + 1 : 0;
    }
    if (p[0] == '#') {
        for (k = 1; isdigit((unsigned char)p[k]); k++)
            ;
        return k > 1 && p[k] == ';' ? k + 1 : 0;
    }
    return 0;
}

/* Valid UTF-8 with no C0 control but tab and line ends, no C1 control,
 * no U+FFFE or U+FFFF. */
static const char *utf8_check(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        const unsigned c = p[i];
        size_t k = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (k == 0 || i + k > n)
            return "bad UTF-8 lead byte";
        unsigned v = k == 1 ? c : c & (0x7Fu >> k);
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return "bad UTF-8 continuation";
            v = v << 6 | (p[i + j] & 0x3Fu);
        }
        static const unsigned mins[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (v < mins[k] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return "overlong or out-of-range UTF-8";
        if ((v < 0x20 && v != '\t' && v != '\n' && v != '\r') || v == 0x7F ||
            (v >= 0x80 && v <= 0x9F) || v == 0xFFFE || v == 0xFFFF)
            return "a control character";
        i += k;
    }
    return NULL;
}

/* NULL when s is one well-formed element after "<!DOCTYPE html>". */
static const char *xml_check(const char *s, size_t n)
{
    static const char doctype[] = "<!DOCTYPE html>\n";
    char stack[64][32];
    int depth = 0;
    bool root_done = false;
    const char *p = s, *end = s + n;
    const char *bad = utf8_check((const unsigned char *)s, n);
    if (bad != NULL)
        return bad;
    if (strncmp(p, doctype, sizeof doctype - 1) != 0)
        return "no <!DOCTYPE html> first";
    p += sizeof doctype - 1;
    while (p < end) {
        if (*p == '&') {
            const size_t k = entity_len(p + 1);
            if (k == 0)
                return "a bare & or an unknown entity";
            p += 1 + k;
            continue;
        }
        if (*p != '<') {
            if (depth == 0 && !isspace((unsigned char)*p))
                return "text outside the root element";
            p++;
            continue;
        }
        if (p[1] == '!' || p[1] == '?')
            return "a comment, declaration or processing instruction";
        const bool closing = p[1] == '/';
        p += closing ? 2 : 1;
        const char *name = p;
        while (p < end && name_char((unsigned char)*p))
            p++;
        const size_t nl = (size_t)(p - name);
        if (nl == 0 || nl >= sizeof stack[0])
            return "a bad element name";
        if (closing) {
            if (depth == 0 || strncmp(stack[depth - 1], name, nl) != 0 ||
                stack[depth - 1][nl] != '\0')
                return "a closing tag that does not match";
            if (*p++ != '>')
                return "junk in a closing tag";
            if (--depth == 0)
                root_done = true;
            continue;
        }
        if (root_done || (depth == 0 && strncmp(name, "html", 4) != 0))
            return "a second root element";
        /* attributes */
        for (;;) {
            while (p < end && isspace((unsigned char)*p))
                p++;
            if (p >= end)
                return "end of file in a tag";
            if (*p == '>' || (*p == '/' && p[1] == '>'))
                break;
            const char *an = p;
            while (p < end && name_char((unsigned char)*p))
                p++;
            if (p == an || *p != '=' || (p[1] != '"' && p[1] != '\''))
                return "an attribute that is not name=\"value\"";
            const char q = p[1];
            p += 2;
            while (p < end && *p != q) {
                if (*p == '<')
                    return "< in an attribute value";
                if (*p == '&') {
                    const size_t k = entity_len(p + 1);
                    if (k == 0)
                        return "a bare & in an attribute value";
                    p += k;
                }
                p++;
            }
            if (p >= end)
                return "an unterminated attribute value";
            p++;
            if (!isspace((unsigned char)*p) && *p != '>' && *p != '/')
                return "attributes not separated";
        }
        if (*p == '/') {
            p += 2;
            if (depth == 0)
                root_done = true;
            continue;
        }
        p++;
        if (depth == 64)
            return "nesting too deep";
        memcpy(stack[depth], name, nl);
        stack[depth][nl] = '\0';
        depth++;
        /* <style> holds CSS: no < or & inside, checked as text above. */
    }
    if (depth != 0 || !root_done)
        return "unclosed elements at the end";
    return NULL;
}

/* Nothing from outside: no script, no src or href, url() only to #ids,
 * no @import. */
static const char *self_contained(const char *page)
{
    if (strstr(page, "<script") != NULL)
        return "<script";
    if (strstr(page, " src=") != NULL)
        return "src=";
    for (const char *p = strstr(page, "href="); p != NULL;
         p = strstr(p + 1, "href="))
        if (p[5] != '"' || p[6] != '#')
            return "href= not to #fragment";
    for (const char *p = strstr(page, "url("); p != NULL;
         p = strstr(p + 1, "url("))
        if (p[4] != '#')
            return "url( not to #id";
    if (strstr(page, "@import") != NULL)
        return "@import";
    return NULL;
}

static void assert_page_ok(const char *name, const char *page, size_t len)
{
    const char *why = xml_check(page, len);
    if (why != NULL)
        print_error("%s: not well-formed: %s\n", name, why);
    assert_null(why);
    why = self_contained(page);
    if (why != NULL)
        print_error("%s: not self-contained: %s\n", name, why);
    assert_null(why);
}

static void test_xml_checker(void **state)
{
    (void)state;
    static const struct {
        const char *doc;
        bool ok;
    } cases[] = {
        {"<!DOCTYPE html>\n<html a=\"1\"><b>x &amp; &#39; &#x27;</b>"
         "<i/></html>\n",
         true},
        {"<!DOCTYPE html>\n<html><b></i></html>", false},
        {"<!DOCTYPE html>\n<html><b>x & y</b></html>", false},
        {"<!DOCTYPE html>\n<html><b a=1></b></html>", false},
        {"<!DOCTYPE html>\n<html><b a=\"<\"></b></html>", false},
        {"<!DOCTYPE html>\n<html>&nbsp;</html>", false},
        {"<!DOCTYPE html>\n<html></html><html></html>", false},
        {"<!DOCTYPE html>\n<html><br></html>", false},
        {"<!DOCTYPE html>\n<html>\x01</html>", false},
        {"<!DOCTYPE html>\n<html>\xc3</html>", false},
        {"<html></html>", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = xml_check(cases[i].doc, strlen(cases[i].doc));
        if ((why == NULL) != cases[i].ok)
            print_error("case %zu: %s\n", i, why ? why : "accepted");
        assert_true((why == NULL) == cases[i].ok);
    }
}

/* ---- the documents of testdata/analysis ------------------------------ */

static const char *const all_docs[] = {"one-lane.json", "twelve-lanes.json",
                                       "spans-null.json", "gaps.json",
                                       "hostile.json"};

static void test_every_page_well_formed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof all_docs / sizeof all_docs[0]; i++) {
        size_t n = 0;
        char *page = render_file(all_docs[i], &n);
        assert_page_ok(all_docs[i], page, n);
        /* one svg per chart: two time charts, and the share chart when
         * there are watched relays */
        const bool watched = strcmp(all_docs[i], "spans-null.json") != 0 &&
                             strcmp(all_docs[i], "gaps.json") != 0;
        assert_count(page, "<svg xmlns=\"http://www.w3.org/2000/svg\"",
                     watched ? 3 : 2);
        exst_free(page);
    }
}

static void test_one_lane(void **state)
{
    (void)state;
    size_t n = 0;
    char *page = render_file("one-lane.json", &n);
    /* title and header */
    assert_has(page, "<title>Exit staging analysis, 2026-01-01</title>");
    assert_has(page, "<h1>Exit staging analysis, 2026-01-01</h1>");
    assert_has(page, "2026-01-01 00:00 to 2026-01-01 11:00 UTC (11 hours)");
    assert_has(page, "<dt>Documents</dt><dd>20<span class=\"sub\">"
                     "microdesc 10 \xc2\xb7 ns 10</span>");
    assert_has(page, "<dt>Skipped</dt><dd>3<span class=\"sub\">bad 0 \xc2\xb7 "
                     "duplicates 2 \xc2\xb7 not_consensus 1 \xc2\xb7 "
                     "resumed 0</span>");
    assert_has(page, "<dt>Capacity guard</dt><dd>20.0%");
    assert_has(page, "<dt>Analysed by</dt><dd>exitstage 0.2.0");
    /* the legends name the lane: both time charts and the share chart */
    assert_count(page, " font-weight=\"bold\">P=4h W=2h</text>", 3);
    /* the lane table: every figure, denied_share next to
     * watched_denied_share */
    assert_has(page, "<td>4</td><td title=\"0.066875\">6.69%</td>"
                     "<td title=\"0.125\">12.5%</td>"
                     "<td title=\"2026-01-01T09:00:00Z\">2026-01-01 09:00</td>"
                     "<td title=\"4\">4.00</td><td>9</td>"
                     "<td class=\"all\" title=\"0.0625\">6.25%</td>"
                     "<td class=\"wat\" title=\"0.75\">75.0%</td>"
                     "<td>2</td><td>1</td></tr>");
    assert_has(page, "<td class=\"l\" title=\"staging_period_s 14400, "
                     "reset_after_s 7200\">");
    assert_has(page, "P=4h W=2h <span class=\"badge\">primary</span>");
    /* each column names its field */
    assert_has(page, "<th class=\"all\">Denied share, all exits<code>denied_"
                     "<wbr/>share</code></th><th class=\"wat\">Denied share, "
                     "watched relays<code>watched_<wbr/>denied_<wbr/>share"
                     "</code></th>");
    /* spans and gaps on both charts, with hover text */
    assert_count(page,
                 "<title>bootstrap of P=4h W=2h: 2026-01-01 00:00 to "
                 "2026-01-01 01:00 UTC, 2 consensuses</title>",
                 2);
    assert_count(page,
                 "<title>ramp of P=4h W=2h: 2026-01-01 02:00 to "
                 "2026-01-01 05:00 UTC, 4 consensuses</title>",
                 2);
    assert_count(page,
                 "<title>archive gap: no consensus between "
                 "2026-01-01 05:00 and 2026-01-01 08:00 UTC (2 hours "
                 "missing)</title>",
                 2);
    assert_count(page, "fill=\"url(#exst-fraction-gap)\"", 2); /* +legend */
    assert_count(page, "fill=\"url(#exst-staging-gap)\"", 2);
    assert_count(page, ">no consensus (archive gap)</text>", 2);
    /* stripped differs from in_staging: its dashed line is drawn */
    assert_count(page, ">relays stripped (primary lane)</text>", 1);
    assert_count(page, "(primary lane): relays stripped</title>", 1);
    /* y axis: 0 to 12.5% in steps of 2.5% */
    assert_has(page, "text-anchor=\"end\">0.0%</text>");
    assert_has(page, "text-anchor=\"end\">12.5%</text>");
    assert_null(strstr(page, ">15.0%</text>"));
    /* hover text of the lines */
    assert_has(page, "<title>P=4h W=2h (primary lane): stripped "
                     "exit-bandwidth fraction; steady mean 6.69%, peak 12.5% "
                     "at 2026-01-01 09:00 UTC</title>");
    assert_has(page, "<title>P=4h W=2h (primary lane): relays in staging, "
                     "at most 7</title>");
    /* the share chart: bars and their ratio (0.75 / 0.0625) */
    assert_has(page, ">6.25%</text>");
    assert_has(page, ">75.0%<tspan fill=\"#5b6475\"> \xc2\xb7 2 watched, 1 "
                     "fully denied</tspan></text>");
    assert_has(page, ">12\xc3\x97<title>P=4h W=2h: watched relays were denied "
                     "12 times as often as exit candidates at large</title>");
    /* watched relays */
    assert_has(page, "<td class=\"l fp\">0123456789ABCDEF0123<wbr/>"
                     "456789ABCDEF01234567</td><td class=\"l\">evil1<span "
                     "class=\"sub\">watchlist</span></td><td class=\"l\" "
                     "title=\"2026-01-01T11:00:00Z\">2026-01-01<span "
                     "class=\"sub\">11:00</span></td><td class=\"cnt full\" "
                     "title=\"P=4h W=2h: denied in 3 of 3 exit consensuses\">"
                     "3/3</td></tr>");
    assert_has(page, "evil2<span class=\"sub\">badexit</span></td><td "
                     "class=\"l null\" title=\"null: never caught\">"
                     "\xe2\x80\x94</td><td class=\"cnt zero\" title=\"P=4h "
                     "W=2h: denied in 0 of 1 exit consensuses\">0/1</td>");
    /* phases table and the listed gap */
    assert_has(page, "<td class=\"l\">2026-01-01 02:00 \xe2\x86\x92 01-01 "
                     "05:00<span class=\"sub\">4 consensuses</span></td>");
    assert_has(page, "<tr><td class=\"l\">2026-01-01 05:00</td><td "
                     "class=\"l\">2026-01-01 08:00</td><td>2</td></tr>");
    /* cards */
    assert_has(page, "<div class=\"big\"><span class=\"watched\">75.0%</span> "
                     "<small>vs</small> 6.25%</div>");
    exst_free(page);
}

/* The path data of the first <path> whose hover text starts with title,
 * copied into a malloc'd string. */
static char *path_of(const char *page, const char *from, const char *title)
{
    const char *t = strstr(from, title);
    assert_non_null(t);
    const char *d = t;
    while (d > page && strncmp(d, "<path d=\"", 9) != 0)
        d--;
    d += 9;
    const char *e = strchr(d, '"');
    char *s = malloc((size_t)(e - d) + 1);
    assert_non_null(s);
    memcpy(s, d, (size_t)(e - d));
    s[e - d] = '\0';
    return s;
}

static void test_one_lane_line_breaks_at_gap(void **state)
{
    (void)state;
    size_t n = 0;
    char *page = render_file("one-lane.json", &n);
    char *d = path_of(page, page, "<title>P=4h W=2h (primary lane): stripped");
    /* 00:00-05:00 and 08:00-11:00: two pieces, no line across the gap */
    assert_int_equal(count(d, "M"), 2);
    free(d);
    d = path_of(page, page, "<title>P=4h W=2h (primary lane): relays in");
    assert_int_equal(count(d, "M"), 2);
    free(d);
    exst_free(page);
}

static void test_twelve_lanes(void **state)
{
    (void)state;
    static const char *const labels[12] = {
        "P=4d W=24h", "P=4d W=12h", "P=4d W=48h", "P=1d W=24h",
        "P=1d W=12h", "P=1d W=48h", "P=2d W=24h", "P=2d W=12h",
        "P=2d W=48h", "P=7d W=24h", "P=7d W=12h", "P=7d W=48h"};
    size_t n = 0;
    char *page = render_file("twelve-lanes.json", &n);
    char want[128];
    for (size_t i = 0; i < 12; i++) {
        /* in both time legends and the share chart */
        snprintf(want, sizeof want, "%s>%s</text>",
                 i == 0 ? " font-weight=\"bold\"" : "\"", labels[i]);
        assert_count(page, want, 3);
        /* a row in the lane table, the phase table, a column heading */
        snprintf(want, sizeof want, "></span>%s", labels[i]);
        assert_count(page, want, 2);
        snprintf(want, sizeof want, ">%s</th>", labels[i]);
        assert_count(page, want, 1);
    }
    /* Colours: P's hue (ranks 1d 2d 4d 7d), W's shade (12h dark, 24h
     * plain, 48h light). */
    assert_count(page, "style=\"background:#2ca02c\"></span>P=4d W=24h", 2);
    assert_count(page, "style=\"background:#144d75\"></span>P=1d W=12h", 2);
    assert_count(page, "style=\"background:#e88889\"></span>P=7d W=48h", 2);
    /* the legend has a row per P: P=1d W=24h starts the second row */
    assert_has(page, "<line x1=\"64.0\" y1=\"34.0\" x2=\"88.0\" y2=\"34.0\" "
                     "stroke=\"#1f77b4\" stroke-width=\"1.4\"/>\n<text "
                     "x=\"94.0\" y=\"38.0\" fill=\"#1d2330\">P=1d W=24h"
                     "</text>");
    /* 12 lines in each time chart */
    assert_count(page, ": stripped exit-bandwidth fraction; steady", 12);
    assert_count(page, ": relays in staging, at most", 12);
    /* no spans, no gaps */
    assert_count(page, "bootstrap of", 0);
    assert_count(page, "archive gap:", 0);
    /* null watched_denied_share in the table and the chart */
    assert_count(page,
                 "<td class=\"null\" title=\"null\">\xe2\x80\x94</td>"
                 "<td>0</td>",
                 3);
    assert_count(page, "no watched relay was an exit before caught", 3);
    /* ratio 1.0 / 0.002 */
    assert_has(page, ">500\xc3\x97<title>P=4d W=12h:");
    /* watched relay: never an exit in lanes 0, 4, 8 */
    assert_count(page,
                 ": no steady exit consensus before caught\">"
                 "\xe2\x80\x94</td>",
                 3);
    assert_count(page, "<td class=\"cnt full\"", 6);
    assert_count(page, "<td class=\"cnt part\"", 3);
    exst_free(page);
}

static void test_spans_null(void **state)
{
    (void)state;
    size_t n = 0;
    char *page = render_file("spans-null.json", &n);
    assert_has(page, "<title>Exit staging analysis</title>");
    assert_has(page, "<p class=\"sub\">1 lane, primary P=4d W=24h \xc2\xb7 0 "
                     "watched relays</p>");
    assert_count(page, ">no counted consensus in this analysis</text>", 2);
    assert_count(page, "bootstrap of", 0);
    assert_count(page, "<title>P=4d W=24h (primary lane):", 0);
    assert_has(page, "This analysis has no watched relays");
    assert_count(page, "Fingerprint", 0);
    /* every null figure is a dash, the counts are numbers */
    assert_has(page, "<td>0</td><td class=\"null\" title=\"null\">"
                     "\xe2\x80\x94</td><td class=\"null\" title=\"null\">"
                     "\xe2\x80\x94</td><td class=\"null\" title=\"null\">"
                     "\xe2\x80\x94</td><td class=\"null\" title=\"null\">"
                     "\xe2\x80\x94</td><td>0</td><td class=\"null\" "
                     "title=\"null\">\xe2\x80\x94</td><td class=\"null\" "
                     "title=\"null\">\xe2\x80\x94</td><td>0</td><td>0</td>");
    assert_count(page, "<td class=\"null l\" title=\"null\">\xe2\x80\x94</td>",
                 3);
    assert_has(page, "<dt>First consensus (UTC)</dt><dd>\xe2\x80\x94");
    assert_has(page, "<dt>Capacity guard</dt><dd>off");
    /* axes still drawn: 0 to 1% */
    assert_has(page, "text-anchor=\"end\">1.0%</text>");
    exst_free(page);
}

static void test_gaps(void **state)
{
    (void)state;
    size_t n = 0;
    char *page = render_file("gaps.json", &n);
    /* the marks: both lanes' gaps (the one they share once) and the
     * one-hour hole neither lists, on each chart */
    assert_count(page,
                 "<title>archive gap: no consensus between "
                 "2026-02-01 09:00 and 2026-02-01 12:00 UTC (2 hours "
                 "missing)</title>",
                 2);
    assert_count(page,
                 "<title>archive gap: no consensus between "
                 "2026-02-01 19:00 and 2026-02-02 04:00 UTC (8 hours "
                 "missing)</title>",
                 2);
    assert_count(page,
                 "<title>archive gap: no consensus between "
                 "2026-02-02 15:00 and 2026-02-02 17:00 UTC (1 hour "
                 "missing)</title>",
                 2);
    assert_count(page, "<title>archive gap:", 6);
    /* the listed gaps, merged: two rows */
    assert_has(page, "<tr><td class=\"l\">2026-02-01 09:00</td><td "
                     "class=\"l\">2026-02-01 12:00</td><td>2</td></tr>\n<tr>"
                     "<td class=\"l\">2026-02-01 19:00</td><td class=\"l\">"
                     "2026-02-02 04:00</td><td>8</td></tr>\n</tbody>");
    /* per lane: gaps and hours missing */
    assert_has(page, "P=1d W=2h <span class=\"badge\">primary</span></td>");
    assert_has(page, "<td>2</td><td>10</td></tr>");
    assert_has(page, "<td>1</td><td>8</td></tr>");
    /* each line in four pieces */
    char *d = path_of(page, page, "<title>P=1d W=2h (primary lane): stripped");
    assert_int_equal(count(d, "M"), 4);
    free(d);
    d = path_of(page, page, "<title>P=1d W=6h: relays in staging");
    assert_int_equal(count(d, "M"), 4);
    free(d);
    exst_free(page);
}

static void test_hostile(void **state)
{
    (void)state;
    size_t n = 0;
    char *page = render_file("hostile.json", &n);
    assert_page_ok("hostile.json", page, n);
    assert_null(strstr(page, "<script"));
    assert_null(strstr(page, "<b>"));
    assert_null(strstr(page, "\xe2\x80\xae")); /* U+202E */
    assert_null(strstr(page, "\xe2\x81\xa6")); /* U+2066 */
    /* nicknames */
    assert_has(page, ">&lt;&amp;&quot;&#39;<span class=\"sub\">badexit");
    assert_has(page, ">]]&gt;&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;/svg&gt;"
                     "&lt;script&gt;x()&lt;/script&gt;<span");
    assert_has(page, ">\xef\xbf\xbd"
                     "evil\xef\xbf\xbd<span");
    assert_has(page, ">\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                     "bell<span");
    char want[128];
    memset(want, 'A', 64);
    snprintf(want + 64, sizeof want - 64, "\xe2\x80\xa6<span");
    assert_has(page, want);
    assert_null(strstr(page,
                       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                       "AAAAAAAAAAAAAAA"));
    assert_has(page, ">tab here new<span");
    assert_has(page, ">\xc3\x9c"
                     "n\xc3\xaf"
                     "c\xc3\xb8"
                     "d\xc3\xa9\xf0\x9f\x98\x80<span");
    /* the tool, the policy and the archive's keys */
    assert_has(page, "<dd>exit&lt;stage&gt;&amp;&quot;&#39; 0.2.0&lt;/title"
                     "&gt;&lt;script&gt;alert(1)&lt;<code>");
    assert_has(page, "of exit&lt;stage&gt;&amp;&quot;&#39; 0.2.0&lt;/title&gt;"
                     "&lt;script&gt;alert(1)&lt;/script&gt;. Times");
    assert_has(page, "<dd>&lt;b&gt;exit&lt;/b&gt;<code>policy.clock");
    assert_has(page, "<dd>flag&amp;amp;<code>");
    assert_has(page, "<dd>\xef\xbf\xbdgrandfather<code>");
    assert_has(page, "&lt;ns&gt;&amp; 3</span>");
    assert_has(page, "a&quot;b 0</span>");
    /* odd durations name the lane in full */
    assert_has(page, ">P=1d1h1m1s W=1h1m1s</text>");
    exst_free(page);
}

static void test_title_option(void **state)
{
    (void)state;
    size_t len = 0, n = 0;
    char *doc = read_analysis("one-lane.json", &len);
    exst_html_opts opts = {.title = "A <b>&amp;</b> \xff \x01title"};
    char *page = render_text(doc, len, &opts, &n);
    assert_page_ok("title", page, n);
    assert_has(page, "<title>A &lt;b&gt;&amp;amp;&lt;/b&gt; \xef\xbf\xbd "
                     "\xef\xbf\xbdtitle</title>");
    assert_has(page, "<h1>A &lt;b&gt;&amp;amp;&lt;/b&gt; \xef\xbf\xbd "
                     "\xef\xbf\xbdtitle</h1>");
    exst_free(page);
    /* at most 200 characters */
    char long_title[400];
    memset(long_title, 'x', sizeof long_title - 1);
    long_title[sizeof long_title - 1] = '\0';
    opts.title = long_title;
    page = render_text(doc, len, &opts, &n);
    char want[220];
    memset(want, 'x', 200);
    snprintf(want + 200, sizeof want - 200, "\xe2\x80\xa6</title>");
    assert_has(page, want);
    exst_free(page);
    free(doc);
}

/* ---- a year of twelve lanes ------------------------------------------- */

#define YEAR_HOURS 8760
#define SPIKE_HOUR 4321

/* A deterministic document: 12 lanes (P 4d,1d,2d,7d x W 24h,12h,48h),
 * hourly for a year, fractions below 10% but 90% once in the primary
 * lane. */
static char *year_document(size_t *len)
{
    exstp_buf b = {0};
    uint32_t seed = 12345;
    char t[21];
    const int64_t start = exstp_timegm(2026, 1, 1, 0, 0, 0);
    exstp_buf_printf(&b,
                     "{\"schema_version\":1,\"tool\":{\"name\":"
                     "\"exitstage\",\"version\":\"0.2.0\"},\"policy\":{"
                     "\"clock\":\"exit\",\"enforce\":\"flag\","
                     "\"bootstrap\":\"grandfather\","
                     "\"max_strip_fraction\":null},\"archive\":{\"first\":"
                     "\"%s\",",
                     exst_time_iso(t, start));
    exstp_buf_printf(&b,
                     "\"last\":\"%s\",\"documents\":%d,\"hours\":%d,"
                     "\"by_flavor\":{\"ns\":%d},\"skipped\":{}},"
                     "\"lanes\":[",
                     exst_time_iso(t, start + (YEAR_HOURS - 1) * 3600),
                     YEAR_HOURS, YEAR_HOURS, YEAR_HOURS);
    static const int ps[4] = {4, 1, 2, 7}, ws[3] = {24, 12, 48};
    for (int l = 0; l < 12; l++) {
        exstp_buf_printf(&b,
                         "%s{\"staging_period_s\":%d,\"reset_after_s\":%d,"
                         "\"primary\":%s,\"spans\":{\"bootstrap\":null,"
                         "\"ramp\":null,\"steady\":null},\"gaps\":[],"
                         "\"consensuses\":%d,\"mean_stripped_fraction\":"
                         "0.05,\"peak_stripped_fraction\":0.9,\"peak_at\":"
                         "\"%s\",\"mean_stripped\":50,\"relays_staged\":"
                         "500,\"denied_share\":0.05,\"watched\":0,"
                         "\"fully_denied\":0,\"watched_denied_share\":null,"
                         "\"series\":{\"valid_after\":[",
                         l ? "," : "", ps[l / 3] * 86400, ws[l % 3] * 3600,
                         l ? "false" : "true", YEAR_HOURS,
                         exst_time_iso(t, start + SPIKE_HOUR * 3600));
        for (int h = 0; h < YEAR_HOURS; h++)
            exstp_buf_printf(&b, "%s\"%s\"", h ? "," : "",
                             exst_time_iso(t, start + (int64_t)h * 3600));
        exstp_buf_printf(&b, "],\"phase\":[");
        for (int h = 0; h < YEAR_HOURS; h++)
            exstp_buf_printf(&b, "%s\"steady\"", h ? "," : "");
        exstp_buf_printf(&b, "],\"stripped_fraction\":[");
        for (int h = 0; h < YEAR_HOURS; h++) {
            seed = seed * 1103515245u + 12345u;
            const double f = l == 0 && h == SPIKE_HOUR
                                 ? 0.9
                                 : (double)(seed >> 16 & 0x3FF) / 10240.0;
            exstp_buf_printf(&b, "%s%.6f", h ? "," : "", f);
        }
        exstp_buf_printf(&b, "],\"in_staging\":[");
        for (int h = 0; h < YEAR_HOURS; h++)
            exstp_buf_printf(&b, "%s%d", h ? "," : "", 40 + (h * 7 + l) % 23);
        exstp_buf_printf(&b, "],\"stripped\":[");
        for (int h = 0; h < YEAR_HOURS; h++)
            exstp_buf_printf(&b, "%s%d", h ? "," : "", 40 + (h * 7 + l) % 23);
        exstp_buf_printf(&b, "]}}");
    }
    exstp_buf_printf(&b, "]}");
    assert_false(b.failed);
    *len = b.len;
    exstp_buf_append(&b, "", 1);
    return b.data;
}

/* Path commands (M, L, V, h) in path data d. */
static size_t commands(const char *d)
{
    size_t n = 0;
    for (; *d != '\0'; d++)
        n += *d == 'M' || *d == 'L' || *d == 'V' || *d == 'h';
    return n;
}

static void test_year_of_twelve_lanes(void **state)
{
    (void)state;
    size_t len = 0, n = 0, n2 = 0;
    char *doc = year_document(&len);
    char *page = render_text(doc, len, NULL, &n);
    assert_page_ok("year", page, n);
    /* small: the series are drawn per pixel column */
    print_message("a year of 12 lanes: document %zu bytes, page %zu bytes\n",
                  len, n);
    assert_true(len > 4000000);
    assert_true(n < 700000);
    /* at most two points per pixel column (952 of them) per line */
    const char *p = page;
    for (int i = 0; i < 24; i++) {
        char *d = path_of(page, p, "<title>P=");
        assert_true(commands(d) <= 2 * 952);
        assert_true(commands(d) > 952);
        free(d);
        p = strstr(p, "<title>P=") + 1;
    }
    /* the one 90% hour is still there: the y axis goes to 100% and the
     * primary lane's line reaches 0.9 of the plot's height */
    assert_has(page, "text-anchor=\"end\">100%</text>");
    const char *ax = strstr(page, "<path d=\"M64.0 ");
    assert_non_null(ax);
    char *end = NULL;
    const double y0 = strtod(ax + strlen("<path d=\"M64.0 "), &end);
    assert_true(*end == 'V');
    const double y1 = strtod(end + 1, &end);
    assert_true(*end == 'H' && y1 > y0);
    char spike[32];
    snprintf(spike, sizeof spike, " %.1f", y1 - 0.9 * (y1 - y0));
    char *d = path_of(page, page, "<title>P=4d W=24h (primary lane): stripped");
    char vspike[32];
    snprintf(vspike, sizeof vspike, "V%.1f", y1 - 0.9 * (y1 - y0));
    assert_true(strstr(d, spike) != NULL || strstr(d, vspike) != NULL);
    free(d);
    /* and deterministic */
    char *again = render_text(doc, len, NULL, &n2);
    assert_int_equal(n, n2);
    assert_memory_equal(page, again, n);
    exst_free(again);
    exst_free(page);
    exst_free(doc);
}

/* ---- determinism, options, errors ------------------------------------- */

/* The same document, however its keys are ordered or its whitespace laid
 * out, gives the same page. */
static void test_same_document_same_page(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof all_docs / sizeof all_docs[0]; i++) {
        size_t len = 0, n1 = 0, n2 = 0, n3 = 0;
        char *doc = read_analysis(all_docs[i], &len);
        json_t *root = json_loadb(doc, len, 0, NULL);
        assert_non_null(root);
        char *sorted = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(root);
        assert_non_null(sorted);
        char *a = render_text(doc, len, NULL, &n1);
        char *b = render_text(doc, len, NULL, &n2);
        char *c = render_text(sorted, strlen(sorted), NULL, &n3);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, n1);
        if (n1 != n3 || memcmp(a, c, n1) != 0)
            print_error("%s: key order changes the page\n", all_docs[i]);
        assert_int_equal(n1, n3);
        assert_memory_equal(a, c, n1);
        exst_free(a);
        exst_free(b);
        exst_free(c);
        free(sorted);
        free(doc);
    }
}

/* A broken document gives its error through the public call, and no
 * page. */
static void test_errors_through_render(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int code;
        unsigned long line, column;
        const char *message;
    } cases[] = {
        {"{\"schema_version\": 1,\n \"tool\": }", EXST_ERR_SYNTAX, 2, 10,
         "unexpected token near '}'"},
        {"{\"schema_version\": 1}", EXST_ERR_SEMANTIC, 0, 0, "tool: missing"},
        {"[]", EXST_ERR_SEMANTIC, 0, 0,
         "document: expected an object, found an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = (char *)1;
        size_t n = 99;
        exst_error err;
        exst_error_clear(&err);
        memcpy(err.source, "a.json", 7);
        assert_int_equal(exst_html_render(&out, &n, cases[i].text,
                                          strlen(cases[i].text), NULL, &err),
                         cases[i].code);
        assert_null(out);
        assert_int_equal(n, 0);
        assert_int_equal(err.code, cases[i].code);
        assert_int_equal(err.line, cases[i].line);
        assert_int_equal(err.column, cases[i].column);
        assert_string_equal(err.message, cases[i].message);
        assert_string_equal(err.source, "a.json"); /* the caller's name */
        /* err may be NULL */
        assert_int_equal(exst_html_render(&out, &n, cases[i].text,
                                          strlen(cases[i].text), NULL, NULL),
                         cases[i].code);
    }
}

static void test_limits_and_usage(void **state)
{
    (void)state;
    size_t len = 0, n = 0;
    char *doc = read_analysis("one-lane.json", &len);
    char *out = NULL;
    exst_error err;
    /* over the limit */
    exst_html_opts opts = {.max_doc_bytes = len - 1};
    exst_error_clear(&err);
    assert_int_equal(exst_html_render(&out, &n, doc, len, &opts, &err),
                     EXST_ERR_LIMIT);
    assert_null(out);
    char want[128];
    snprintf(want, sizeof want,
             "analysis document of %zu bytes is over the "
             "limit of %zu",
             len, len - 1);
    assert_string_equal(err.message, want);
    /* at the limit */
    opts.max_doc_bytes = len;
    assert_int_equal(exst_html_render(&out, &n, doc, len, &opts, &err),
                     EXST_OK);
    exst_free(out);
    /* no outputs, no input */
    assert_int_equal(exst_html_render(NULL, &n, doc, len, NULL, &err),
                     EXST_ERR_USAGE);
    assert_int_equal(exst_html_render(&out, NULL, doc, len, NULL, &err),
                     EXST_ERR_USAGE);
    assert_int_equal(exst_html_render(&out, &n, NULL, 5, NULL, &err),
                     EXST_ERR_USAGE);
    assert_null(out);
    /* an empty document is a syntax error, not a crash */
    exst_error_clear(&err);
    assert_int_equal(exst_html_render(&out, &n, NULL, 0, NULL, &err),
                     EXST_ERR_SYNTAX);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 1);
    free(doc);
}

/* Every allocation of the library fails in turn: EXST_ERR_NOMEM, no page,
 * nothing leaked (the sanitizer build checks), until the page is made. */
static void test_oom(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof all_docs / sizeof all_docs[0]; i++) {
        size_t len = 0;
        char *doc = read_analysis(all_docs[i], &len);
        long k = 0;
        for (;; k++) {
            char *out = (char *)1;
            size_t n = 99;
            exst_error err;
            exst_error_clear(&err);
            exstp_alloc_fail_after(k);
            const int rc = exst_html_render(&out, &n, doc, len, NULL, &err);
            exstp_alloc_fail_after(-1);
            if (rc == EXST_OK) {
                assert_non_null(out);
                exst_free(out);
                break;
            }
            assert_int_equal(rc, EXST_ERR_NOMEM);
            assert_null(out);
            assert_int_equal(n, 0);
            assert_string_equal(err.message, "out of memory");
            assert_true(k < 100000);
        }
        assert_true(k > 5);
        free(doc);
    }
}

int main(void)
{
    if (exst_init() != EXST_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_checker),
        cmocka_unit_test(test_every_page_well_formed),
        cmocka_unit_test(test_one_lane),
        cmocka_unit_test(test_one_lane_line_breaks_at_gap),
        cmocka_unit_test(test_twelve_lanes),
        cmocka_unit_test(test_spans_null),
        cmocka_unit_test(test_gaps),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_title_option),
        cmocka_unit_test(test_year_of_twelve_lanes),
        cmocka_unit_test(test_same_document_same_page),
        cmocka_unit_test(test_errors_through_render),
        cmocka_unit_test(test_limits_and_usage),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
