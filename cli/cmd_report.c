/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_report.c - `exitstage report --html FILE --analysis ANALYSIS`: draw
 * an analysis document (the JSON a replay's analysis produces, SPEC 9) as
 * one self-contained HTML page.  The page is written atomically; nothing
 * is written for a document the library rejects.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_cmds.h"
#include "cli_exit.h"
#include "cli_util.h"
#include "exitstage.h"

static void report_help(void)
{
    fputs("usage: exitstage report --html FILE --analysis ANALYSIS "
          "[--title TEXT]\n"
          "\n"
          "Draws an analysis document (JSON, schema_version 1) as one\n"
          "self-contained HTML page: the stripped exit-bandwidth fraction\n"
          "and the relays in staging over time per lane, bootstrap, ramp and\n"
          "archive gaps marked, watched relays against all, and the lane\n"
          "and watched-relay tables.\n"
          "\n"
          "  --html FILE        write the page to FILE ('-': standard "
          "output)\n"
          "  --analysis FILE    read the analysis document from FILE ('-':\n"
          "                     standard input)\n"
          "  --title TEXT       the page's title (default: the time span)\n"
          "\n"
          "Exit status 3 if the document is malformed.\n",
          stdout);
}

/* Read all of fp, refusing more than max bytes.  Prints errors. */
static int read_all(char **out, size_t *out_len, FILE *fp, const char *name,
                    size_t max)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    *out = NULL;
    *out_len = 0;
    if (buf == NULL) {
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    for (;;) {
        if (len == cap) {
            char *p = cap <= max ? realloc(buf, cap * 2) : NULL;
            if (p == NULL) {
                free(buf);
                if (cap > max) {
                    cli_msg("%s: analysis document is over the limit of %zu "
                            "bytes",
                            name, max);
                    return EXIT_INPUT;
                }
                cli_msg("out of memory");
                return EXIT_FAIL;
            }
            buf = p;
            cap *= 2;
        }
        const size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0) {
            if (ferror(fp)) {
                cli_msg("cannot read '%s': %s", name, strerror(errno));
                free(buf);
                return EXIT_FAIL;
            }
            break;
        }
    }
    *out = buf;
    *out_len = len;
    return EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"html", required_argument, NULL, 'H'},
        {"analysis", required_argument, NULL, 'A'},
        {"title", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    const char *html = NULL, *analysis = NULL;
    exst_html_opts opts;
    memset(&opts, 0, sizeof opts);
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            report_help();
            return EXIT_OK;
        case 'H':
            html = optarg;
            break;
        case 'A':
            analysis = optarg;
            break;
        case 'T':
            opts.title = optarg;
            break;
        case ':':
            return cli_usage("report: option '%s' needs a value",
                             argv[optind - 1]);
        default:
            return cli_usage("report: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (html == NULL)
        return cli_usage("report: --html FILE is required");
    if (analysis == NULL)
        return cli_usage("report: --analysis FILE is required");
    if (optind < argc)
        return cli_usage("report: unexpected argument '%s' (timelines are "
                         "not read yet: give --analysis FILE)",
                         argv[optind]);

    FILE *fp = stdin;
    if (strcmp(analysis, "-") != 0) {
        fp = fopen(analysis, "rb");
        if (fp == NULL) {
            cli_msg("cannot open '%s': %s", analysis, strerror(errno));
            return EXIT_FAIL;
        }
    }
    char *text = NULL;
    size_t len = 0;
    int rc = read_all(&text, &len, fp, cli_name(analysis),
                      EXST_DEFAULT_MAX_ANALYSIS_BYTES);
    if (fp != stdin)
        fclose(fp);
    if (rc != EXIT_OK)
        return rc;

    exst_error err;
    exst_error_clear(&err);
    snprintf(err.source, sizeof err.source, "%s", cli_name(analysis));
    char *page = NULL;
    size_t page_len = 0;
    const int st = exst_html_render(&page, &page_len, text, len, &opts, &err);
    free(text);
    if (st != EXST_OK)
        return cli_report(st, &err);
    rc = cli_write_file(html, page, page_len);
    exst_free(page);
    return rc;
}
