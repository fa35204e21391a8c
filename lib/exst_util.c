/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_util.c - the small shared pieces: library setup and status strings,
 * allocation with an out-of-memory test hook, error filling and escaping,
 * UTC time conversion, durations, fingerprints, a growable buffer and zstd
 * compression.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>

#include "exst_int.h"
#include "exst_version.h"

int exst_init(void)
{
    return sodium_init() < 0 ? EXST_ERR_NOMEM : EXST_OK;
}

const char *exst_version(void)
{
    return EXST_VERSION_STRING;
}

const char *exst_status_str(int status)
{
    switch (status) {
    case EXST_OK: return "success";
    case EXST_ERR_NOMEM: return "out of memory";
    case EXST_ERR_IO: return "input/output error";
    case EXST_ERR_SYNTAX: return "syntax error";
    case EXST_ERR_SEMANTIC: return "invalid document";
    case EXST_ERR_LIMIT: return "limit exceeded";
    case EXST_ERR_DB: return "history database error";
    case EXST_ERR_COMPRESS: return "corrupt compressed data";
    case EXST_ERR_USAGE: return "invalid argument";
    case EXST_ERR_ORDER: return "out of order";
    case EXST_ERR_LOCKED: return "database is locked";
    case EXST_ERR_REPROCESS: return "already processed by exitstage";
    case EXST_ERR_INTERRUPTED: return "interrupted";
    default: return "unknown status";
    }
}

/* ---- allocation ---------------------------------------------------- */

static long alloc_budget = -1;

void exstp_alloc_fail_after(long n)
{
    alloc_budget = n;
}

static bool alloc_allowed(void)
{
    if (alloc_budget < 0)
        return true;
    if (alloc_budget == 0)
        return false;
    alloc_budget--;
    return true;
}

void *exstp_malloc(size_t n)
{
    return alloc_allowed() ? malloc(n ? n : 1) : NULL;
}

void *exstp_calloc(size_t count, size_t size)
{
    if (!alloc_allowed())
        return NULL;
    if (count == 0 || size == 0)
        count = size = 1;
    return calloc(count, size);
}

void *exstp_realloc(void *p, size_t n)
{
    return alloc_allowed() ? realloc(p, n ? n : 1) : NULL;
}

char *exstp_strndup(const char *s, size_t n)
{
    char *p = exstp_malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void exst_free(void *p)
{
    free(p);
}

/* ---- errors -------------------------------------------------------- */

void exst_error_clear(exst_error *err)
{
    if (err != NULL)
        memset(err, 0, sizeof *err);
}

static void copy_str(char *dst, size_t dstsz, const char *src)
{
    size_t n = strlen(src);
    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int error_vset(exst_error *err, int code, const char *source,
                      unsigned long line, unsigned long column, size_t offset,
                      const char *keyword, const char *fmt, va_list ap)
    EXSTP_PRINTF(8, 0);

static int error_vset(exst_error *err, int code, const char *source,
                      unsigned long line, unsigned long column, size_t offset,
                      const char *keyword, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    if (source != NULL)
        copy_str(err->source, sizeof err->source, source);
    err->line = line;
    err->column = column;
    err->offset = offset;
    copy_str(err->keyword, sizeof err->keyword, keyword ? keyword : "");
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return code;
}

int exstp_error_set(exst_error *err, int code, const char *source,
                    unsigned long line, unsigned long column, size_t offset,
                    const char *keyword, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, code, source, line, column, offset, keyword, fmt, ap);
    va_end(ap);
    return code;
}

int exstp_error_simple(exst_error *err, int code, const char *source,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, code, source, 0, 0, 0, NULL, fmt, ap);
    va_end(ap);
    return code;
}

void exstp_escape(char *out, size_t outsz, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t lim = n > 40 ? 40 : n;
    if (outsz == 0)
        return;
    for (size_t i = 0; i < lim; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"') {
            if (o + 1 >= outsz)
                break;
            out[o++] = (char)ch;
        } else {
            if (o + 4 >= outsz)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    if (n > lim && o + 3 < outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* ---- time ---------------------------------------------------------- */

int64_t exstp_timegm(int year, int mon, int day, int hour, int min, int sec)
{
    /* Howard Hinnant's days_from_civil. */
    int64_t y = (int64_t)year - (mon <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (mon + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + hour * 3600 + min * 60 + sec;
}

static bool digits_at(int *out, const char *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

int exst_time_parse(int64_t *out, const char *s, exst_error *err)
{
    if (out == NULL || s == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "time: missing argument");
    const size_t n = strlen(s);
    char q[48];
    exstp_escape(q, sizeof q, s, n);
    /* Seconds since the epoch. */
    if (n > 0 && n <= 12 && strspn(s, "0123456789") == n) {
        int64_t v = 0;
        for (size_t i = 0; i < n; i++)
            v = v * 10 + (s[i] - '0');
        if (v > EXST_TIME_LATEST)
            return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                      "time '%s' is after year 9999", q);
        *out = v;
        return EXST_OK;
    }
    /* "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM:SS", optional "Z". */
    int y, mo, d, h, mi, se;
    const bool shape = (n == 19 || (n == 20 && s[19] == 'Z')) &&
                       s[4] == '-' && s[7] == '-' &&
                       (s[10] == ' ' || s[10] == 'T') && s[13] == ':' &&
                       s[16] == ':';
    if (!shape || !digits_at(&y, s, 4) || !digits_at(&mo, s + 5, 2) ||
        !digits_at(&d, s + 8, 2) || !digits_at(&h, s + 11, 2) ||
        !digits_at(&mi, s + 14, 2) || !digits_at(&se, s + 17, 2))
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "expected a time such as "
                                  "2024-05-17T17:00:00Z, found '%s'", q);
    static const int mdays[12] = {31, 29, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "time '%s' is out of range", q);
    *out = exstp_timegm(y, mo, d, h, mi, se);
    return EXST_OK;
}

char *exst_time_iso(char buf[21], int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    if (y < 0 || y > 9999) {
        memcpy(buf, "0000-00-00T00:00:00Z", 21);
        return buf;
    }
    const unsigned f[7] = {(unsigned)y / 100,
                           (unsigned)y % 100,
                           (unsigned)m,
                           (unsigned)d,
                           (unsigned)(secs / 3600),
                           (unsigned)(secs / 60 % 60),
                           (unsigned)(secs % 60)};
    /* Two digits a field, at fixed places: "YYYY-MM-DDThh:mm:ssZ". */
    static const unsigned char at[7] = {0, 2, 5, 8, 11, 14, 17};
    for (int i = 0; i < 7; i++) {
        buf[at[i]] = (char)('0' + f[i] / 10);
        buf[at[i] + 1] = (char)('0' + f[i] % 10);
    }
    buf[4] = buf[7] = '-';
    buf[10] = 'T';
    buf[13] = buf[16] = ':';
    buf[19] = 'Z';
    buf[20] = '\0';
    return buf;
}

int exst_duration_parse(int64_t *out, const char *s, int64_t max_seconds,
                        exst_error *err)
{
    char q[64];
    if (s == NULL || *s == '\0')
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "empty duration");
    exstp_escape(q, sizeof q, s, strlen(s));
    int64_t total = 0;
    const char *p = s;
    bool bare = true;
    while (*p != '\0') {
        if (*p < '0' || *p > '9')
            return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                      "invalid duration '%s': expected a "
                                      "number such as 96h, 4d or 1d12h", q);
        int64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            if (v > INT64_C(1) << 40)
                return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                          "duration '%s' is too large", q);
            p++;
        }
        int64_t unit = 1;
        switch (*p) {
        case 'd': unit = 86400; p++; break;
        case 'h': unit = 3600; p++; break;
        case 'm': unit = 60; p++; break;
        case 's': unit = 1; p++; break;
        case '\0':
            if (!bare)
                return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                          "invalid duration '%s': a unit "
                                          "(d, h, m, s) is missing at the "
                                          "end", q);
            break;
        default:
            return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                      "invalid duration '%s': unknown unit "
                                      "'%c' (use d, h, m or s)", q, *p);
        }
        bare = false;
        total += v * unit;
        if (total > INT64_C(1) << 40)
            return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                      "duration '%s' is too large", q);
    }
    if (total > max_seconds)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "duration '%s' is out of range (0 to %lld "
                                  "seconds)", q, (long long)max_seconds);
    *out = total;
    return EXST_OK;
}

/* ---- fingerprints -------------------------------------------------- */

char *exst_fingerprint_hex(char out[41], const uint8_t id[20])
{
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[40] = '\0';
    return out;
}

int exst_fingerprint_parse(uint8_t id[20], const char *hex)
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (hex == NULL || strlen(hex) != 40)
        return EXST_ERR_USAGE;
    if (sodium_hex2bin(id, 20, hex, 40, NULL, &bin_len, &end) != 0 ||
        bin_len != 20 || end != hex + 40)
        return EXST_ERR_USAGE;
    return EXST_OK;
}

/* ---- growable buffer ----------------------------------------------- */

bool exstp_buf_reserve(exstp_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->cap - b->len >= extra)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = exstp_realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void exstp_buf_append(exstp_buf *b, const void *p, size_t n)
{
    if (n == 0 || !exstp_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void exstp_buf_printf(exstp_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        exstp_buf_append(b, tmp, (size_t)n);
        return;
    }
    if (!exstp_buf_reserve(b, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void exstp_buf_free(exstp_buf *b)
{
    exst_free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- zstd ---------------------------------------------------------- */

int exst_zstd_compress(void **out, size_t *out_len, const void *buf,
                       size_t len, int level, exst_error *err)
{
    *out = NULL;
    *out_len = 0;
    size_t bound = ZSTD_compressBound(len);
    void *dst = exstp_malloc(bound);
    if (dst == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    size_t n = ZSTD_compress(dst, bound, buf, len, level ? level : 3);
    if (ZSTD_isError(n)) {
        exst_free(dst);
        return exstp_error_simple(err, EXST_ERR_COMPRESS, NULL,
                                  "zstd compression failed: %s",
                                  ZSTD_getErrorName(n));
    }
    *out = dst;
    *out_len = n;
    return EXST_OK;
}
