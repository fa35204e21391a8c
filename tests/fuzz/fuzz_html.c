/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_html.c - libFuzzer target for the analysis reader and the HTML
 * page.  Any input is either refused with a syntax, schema or limit error
 * (and no page), or drawn as a page that is NUL-terminated at its length,
 * valid UTF-8 without control characters, one <html> element after the
 * doctype with as many </svg> and </table> as it opens, free of any
 * <script, and the same bytes when drawn again.  Any violation aborts.
 * The replay driver runs testdata/fuzz-corpus/html/ as an ordinary ctest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitstage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_html.c:%d: failed: %s\n", __LINE__, #cond);  \
            abort();                                                           \
        }                                                                      \
    } while (0)

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL;
         p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Valid UTF-8, no C0 control but tab and line end, no C1 control. */
static int clean_utf8(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        const unsigned c = p[i];
        const size_t k = c < 0x80             ? 1
                         : (c & 0xE0) == 0xC0 ? 2
                         : (c & 0xF0) == 0xE0 ? 3
                         : (c & 0xF8) == 0xF0 ? 4
                                              : 0;
        if (k == 0 || i + k > n)
            return 0;
        unsigned v = k == 1 ? c : c & (0x7Fu >> k);
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return 0;
            v = v << 6 | (p[i + j] & 0x3Fu);
        }
        if ((v < 0x20 && v != '\n' && v != '\t') || v == 0x7F ||
            (v >= 0x80 && v <= 0x9F) || (v >= 0xD800 && v <= 0xDFFF))
            return 0;
        i += k;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *page = NULL;
    size_t len = 0;
    exst_error err;
    exst_html_opts opts = {.max_doc_bytes = 1 << 20};
    exst_error_clear(&err);
    const int rc =
        exst_html_render(&page, &len, (const char *)data, size, &opts, &err);
    if (rc != EXST_OK) {
        check(page == NULL && len == 0);
        check(rc == EXST_ERR_SYNTAX || rc == EXST_ERR_SEMANTIC ||
              rc == EXST_ERR_LIMIT || rc == EXST_ERR_NOMEM);
        check(err.code == rc && err.message[0] != '\0');
        return 0;
    }
    check(page != NULL && strlen(page) == len);
    check(clean_utf8((const unsigned char *)page, len));
    check(strncmp(page, "<!DOCTYPE html>\n<html ", 22) == 0);
    check(len > 8 && strcmp(page + len - 8, "</html>\n") == 0);
    check(count(page, "<html") == 1);
    check(count(page, "<svg ") == count(page, "</svg>"));
    check(count(page, "<table") == count(page, "</table>"));
    check(count(page, "<tr") == count(page, "</tr>"));
    check(strstr(page, "<script") == NULL);
    char *again = NULL;
    size_t len2 = 0;
    if (exst_html_render(&again, &len2, (const char *)data, size, &opts,
                         NULL) == EXST_OK) {
        check(len2 == len && memcmp(page, again, len) == 0);
        exst_free(again);
    }
    exst_free(page);
    return 0;
}
