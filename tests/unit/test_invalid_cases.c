/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_invalid_cases.c - the project's own rejection cases.  Every
 * directory testdata/consensus/invalid/<case>/ holds an "input" document
 * and an "expected" file whose first line is "STATUS LINE COL" (STATUS the
 * numeric exst_status) and whose second line is the exact error message.
 * Each directory becomes its own cmocka test, built at run time from a
 * directory listing, so adding a case needs no code.  The one case that
 * would need a huge file (a line over the 128 KiB default limit) is built
 * in memory here instead.  With EXST_UPDATE_GOLDEN=1 in the environment
 * the expected files are rewritten from the parser's current answers
 * (review the diff before committing).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitstage.h"

static int setup(void **state)
{
    (void)state;
    return exst_init() == EXST_OK ? 0 : -1;
}

/* Parse the expected file: "STATUS LINE COL\nmessage\n". */
static int read_expected(const char *path, int *status, unsigned long *line,
                         unsigned long *col, char *msg, size_t msgsz)
{
    char *buf;
    size_t len;
    if (tu_read_file(path, &buf, &len) != 0)
        return -1;
    char *nl = memchr(buf, '\n', len);
    if (nl == NULL) {
        free(buf);
        return -1;
    }
    *nl = '\0';
    char *p = buf, *end;
    long s = strtol(p, &end, 10);
    unsigned long l = end != p ? strtoul(end, &p, 10) : 0;
    unsigned long c = p != end ? strtoul(p, &end, 10) : 0;
    int ok = end != p && *end == '\0';
    const char *m = nl + 1;
    size_t ml = len - (size_t)(m - buf);
    if (ml > 0 && m[ml - 1] == '\n')
        ml--;
    if (!ok || ml >= msgsz || memchr(m, '\n', ml) != NULL) {
        free(buf);
        return -1;
    }
    *status = (int)s;
    *line = l;
    *col = c;
    memcpy(msg, m, ml);
    msg[ml] = '\0';
    free(buf);
    return 0;
}

static void write_expected(const char *path, const exst_error *err, int rc)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%d %lu %lu\n%s\n", rc, err->line, err->column,
            err->message);
    assert_int_equal(fclose(fp), 0);
}

/* One case: *state is the case directory (owned by the test table). */
static void test_case(void **state)
{
    const char *dir = *state;
    char *in_path = tu_path(dir, "input");
    char *exp_path = tu_path(dir, "expected");
    char *buf;
    size_t len;
    exst_consensus *c = NULL;
    exst_error err;

    assert_non_null(in_path);
    assert_non_null(exp_path);
    assert_int_equal(tu_read_file(in_path, &buf, &len), 0);
    int rc = exst_consensus_parse(&c, buf, len, in_path, NULL, &err);
    if (rc == EXST_OK) {
        exst_consensus_free(c);
        fail_msg("%s: accepted, but it must be rejected", in_path);
    }
    assert_null(c);
    const char *upd = getenv("EXST_UPDATE_GOLDEN");
    if (upd != NULL && strcmp(upd, "1") == 0)
        write_expected(exp_path, &err, rc);

    int status = -1;
    unsigned long line = 0, col = 0;
    char msg[sizeof err.message + 2];
    if (read_expected(exp_path, &status, &line, &col, msg, sizeof msg) != 0)
        fail_msg("%s: missing or malformed (want \"STATUS LINE COL\\n"
                 "message\\n\")", exp_path);
    int bad = 0;
    if (rc != status || err.code != rc || err.line != line ||
        err.column != col) {
        print_error("%s: expected %d %lu %lu, got %d %lu %lu (code %d)\n",
                    in_path, status, line, col, rc, err.line, err.column,
                    err.code);
        bad = 1;
    }
    if (strcmp(err.message, msg) != 0) {
        print_error("%s: expected message\n  %s\ngot\n  %s\n", in_path, msg,
                    err.message);
        bad = 1;
    }
    /* The error names its source, as the CLI prints it. */
    if (strcmp(err.source, in_path) != 0) {
        print_error("%s: error source is '%s'\n", in_path, err.source);
        bad = 1;
    }
    free(buf);
    free(in_path);
    free(exp_path);
    if (bad)
        fail();
}

/* A line one byte over the default 128 KiB limit, inside an otherwise
 * valid document: rejected with EXST_ERR_LIMIT at the first byte past the
 * limit.  A line of exactly the limit is accepted. */
static void test_overlong_line(void **state)
{
    (void)state;
    char *base = tu_path(tu_project_dir(), "consensus/valid/minimal-ns");
    char *doc;
    size_t len;
    assert_int_equal(tu_read_file(base, &doc, &len), 0);
    /* Insert an unknown preamble item after line 7 (voting-delay). */
    const char *at = doc;
    for (int i = 0; i < 7; i++)
        at = strchr(at, '\n') + 1;
    size_t head = (size_t)(at - doc);
    for (size_t extra = 0; extra <= 1; extra++) {
        const size_t line_len = EXST_DEFAULT_MAX_LINE_BYTES + extra;
        char *big = malloc(len + line_len + 1);
        assert_non_null(big);
        memcpy(big, doc, head);
        memcpy(big + head, "x-padding ", 10);
        memset(big + head + 10, 'a', line_len - 10);
        big[head + line_len] = '\n';
        memcpy(big + head + line_len + 1, doc + head, len - head);
        exst_consensus *c = NULL;
        exst_error err;
        int rc = exst_consensus_parse(&c, big, len + line_len + 1, "big",
                                      NULL, &err);
        if (extra == 0) {
            assert_int_equal(rc, EXST_OK);
            assert_int_equal(exst_consensus_relay_count(c), 4);
            exst_consensus_free(c);
        } else {
            assert_int_equal(rc, EXST_ERR_LIMIT);
            assert_null(c);
            assert_int_equal(err.line, 8);
            assert_int_equal(err.column, EXST_DEFAULT_MAX_LINE_BYTES + 1);
            assert_string_equal(err.message, "line longer than 131072 bytes");
        }
        free(big);
    }
    /* A caller's smaller limit applies the same way. */
    exst_parse_opts opts = {0};
    opts.max_line_bytes = 100;
    exst_consensus *c = NULL;
    exst_error err;
    assert_int_equal(exst_consensus_parse(&c, doc, len, "small", &opts, &err),
                     EXST_ERR_LIMIT);
    assert_null(c);
    assert_int_equal(err.line, 10); /* known-flags, the first long line */
    assert_int_equal(err.column, 101);
    /* And a document limit. */
    opts.max_line_bytes = 0;
    opts.max_doc_bytes = len - 1;
    assert_int_equal(exst_consensus_parse(&c, doc, len, "small", &opts, &err),
                     EXST_ERR_LIMIT);
    assert_null(c);
    free(doc);
    free(base);
}

/* max_relays: a document with more entries than the caller allows is
 * refused with EXST_ERR_LIMIT at the first entry over the limit. */
static void test_max_relays(void **state)
{
    (void)state;
    char *base = tu_path(tu_project_dir(), "consensus/valid/minimal-ns");
    char *doc;
    size_t len;
    assert_int_equal(tu_read_file(base, &doc, &len), 0);
    exst_parse_opts opts = {0};
    exst_consensus *c = NULL;
    exst_error err;
    opts.max_relays = 4;
    assert_int_equal(exst_consensus_parse(&c, doc, len, "small", &opts, &err),
                     EXST_OK);
    exst_consensus_free(c);
    c = NULL;
    opts.max_relays = 3;
    int rc = exst_consensus_parse(&c, doc, len, "small", &opts, &err);
    free(doc);
    free(base);
    assert_int_equal(rc, EXST_ERR_LIMIT);
    assert_null(c);
    assert_int_equal(err.line, 46); /* the fourth r line */
}

int main(void)
{
    char *root = tu_path(tu_project_dir(), "consensus/invalid");
    char **dirs = tu_list_subdirs(root);
    size_t n = 0;
    if (root == NULL || dirs == NULL) {
        fprintf(stderr, "test_invalid_cases: cannot list %s\n",
                root ? root : "?");
        return 1;
    }
    while (dirs[n] != NULL)
        n++;
    struct CMUnitTest *tests = calloc(n + 2, sizeof *tests);
    if (tests == NULL)
        return 1;
    for (size_t i = 0; i < n; i++) {
        const char *slash = strrchr(dirs[i], '/');
        tests[i].name = slash ? slash + 1 : dirs[i];
        tests[i].test_func = test_case;
        tests[i].initial_state = dirs[i];
    }
    tests[n].name = "overlong_line";
    tests[n].test_func = test_overlong_line;
    tests[n + 1].name = "max_relays";
    tests[n + 1].test_func = test_max_relays;
    int rc = _cmocka_run_group_tests("invalid_cases", tests, n + 2, setup,
                                     NULL);
    /* Fewer cases than the project ships means the glob went wrong. */
    if (n < 40) {
        fprintf(stderr, "test_invalid_cases: only %zu cases in %s\n", n,
                root);
        rc = 1;
    }
    free(tests);
    tu_free_list(dirs);
    free(root);
    return rc;
}
