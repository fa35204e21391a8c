/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the cmocka unit tests (see testutil.h). */
#include "testutil.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

const char *tu_shared_dir(void)
{
    static int checked;
    static const char *dir;
    if (!checked) {
        struct stat st;
        checked = 1;
        if (stat(EXST_SHARED_TESTDATA_DIR, &st) == 0 && S_ISDIR(st.st_mode))
            dir = EXST_SHARED_TESTDATA_DIR;
    }
    return dir;
}

const char *tu_project_dir(void)
{
    return EXST_TESTDATA_DIR;
}

char *tu_path(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (p == NULL)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

int tu_read_file(const char *path, char **buf, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return -1;
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap + 1);
    for (;;) {
        if (p == NULL) {
            fclose(fp);
            return -1;
        }
        size_t got = fread(p + n, 1, cap - n, fp);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        char *q = realloc(p, cap + 1);
        if (q == NULL)
            free(p);
        p = q;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(p);
        return -1;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}

int tu_read_doc(const char *path, char **buf, size_t *len)
{
    char *raw;
    size_t rawlen;
    if (tu_read_file(path, &raw, &rawlen) != 0)
        return -1;
    if (rawlen < 4 || memcmp(raw, "\x28\xb5\x2f\xfd", 4) != 0) {
        *buf = raw;
        *len = rawlen;
        return 0;
    }
    size_t cap = rawlen * 8 + 1024, n = 0;
    char *out = malloc(cap + 1);
    ZSTD_DStream *ds = ZSTD_createDStream();
    ZSTD_inBuffer in = {raw, rawlen, 0};
    int rc = -1;
    if (out == NULL || ds == NULL)
        goto done;
    for (;;) {
        ZSTD_outBuffer ob = {out, cap, n};
        size_t r = ZSTD_decompressStream(ds, &ob, &in);
        if (ZSTD_isError(r))
            goto done;
        n = ob.pos;
        if (r == 0 && in.pos == in.size)
            break;
        if (n == cap) {
            cap *= 2;
            char *q = realloc(out, cap + 1);
            if (q == NULL)
                goto done;
            out = q;
        } else if (in.pos == in.size && r != 0) {
            goto done; /* truncated */
        }
    }
    out[n] = '\0';
    *buf = out;
    *len = n;
    out = NULL;
    rc = 0;
done:
    free(out);
    free(raw);
    ZSTD_freeDStream(ds);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **list_entries(const char *dir, bool want_dirs)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return NULL;
    size_t n = 0, cap = 16;
    char **list = malloc(cap * sizeof *list);
    struct dirent *de;
    while (list != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *full = tu_path(dir, de->d_name);
        struct stat st;
        if (full == NULL || stat(full, &st) != 0 ||
            !(want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode))) {
            free(full);
            continue;
        }
        if (n + 1 >= cap) {
            cap *= 2;
            char **q = realloc(list, cap * sizeof *list);
            if (q == NULL) {
                free(full);
                break;
            }
            list = q;
        }
        list[n++] = full;
    }
    closedir(d);
    if (list == NULL)
        return NULL;
    list[n] = NULL;
    qsort(list, n, sizeof *list, cmp_str);
    return list;
}

char **tu_list_dir(const char *dir)
{
    return list_entries(dir, false);
}

char **tu_list_subdirs(const char *dir)
{
    return list_entries(dir, true);
}

void tu_free_list(char **list)
{
    if (list == NULL)
        return;
    for (char **p = list; *p != NULL; p++)
        free(*p);
    free(list);
}

void tu_compress(int fmt, unsigned char **out, size_t *out_len,
                 const void *p, size_t n)
{
    size_t bound = n + n / 2 + (64u << 10), zn = 0;
    unsigned char *z = malloc(bound);
    assert_non_null(z);
    if (fmt == TU_ZSTD) {
        zn = ZSTD_compress(z, bound, p, n, 3);
        assert_false(ZSTD_isError(zn));
    } else if (fmt == TU_XZ) {
        size_t pos = 0;
        assert_int_equal(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL,
                                                 p, n, z, &pos, bound),
                         LZMA_OK);
        zn = pos;
    } else {
        z_stream s;
        memset(&s, 0, sizeof s);
        assert_int_equal(deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                      Z_DEFAULT_STRATEGY),
                         Z_OK);
        s.next_in = (Bytef *)(uintptr_t)p;
        s.avail_in = (uInt)n;
        s.next_out = z;
        s.avail_out = (uInt)bound;
        assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
        zn = s.total_out;
        deflateEnd(&s);
    }
    unsigned char *o = realloc(*out, *out_len + zn + 1);
    assert_non_null(o);
    memcpy(o + *out_len, z, zn);
    *out = o;
    *out_len += zn;
    free(z);
}
