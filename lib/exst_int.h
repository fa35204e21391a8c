/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_int.h - library-internal helpers shared across lib/ modules:
 * allocation (with a test hook that fails the Nth call), error filling,
 * and small time helpers.  Never installed.
 */
#ifndef EXST_INT_H
#define EXST_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exitstage.h"

#if defined(__GNUC__)
#define EXSTP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EXSTP_PRINTF(a, b)
#endif

/* Allocation.  Every allocation in the library goes through these so the
 * out-of-memory tests can fail the Nth call (exstp_alloc_fail_after). */
void *exstp_malloc(size_t n);
void *exstp_calloc(size_t count, size_t size);
void *exstp_realloc(void *p, size_t n);
char *exstp_strndup(const char *s, size_t n);
#define exstp_free exst_free

/* Test hook: after n more successful allocations, every allocation fails
 * until reset with a negative n (the default, never fail). */
void exstp_alloc_fail_after(long n);

/*
 * Fill err (if not NULL) with code, position and a printf-style message.
 * keyword may be NULL.  source may be NULL (kept as already set by the
 * caller).  Returns code so callers can write `return exstp_error_set(...)`.
 */
int exstp_error_set(exst_error *err, int code, const char *source,
                    unsigned long line, unsigned long column, size_t offset,
                    const char *keyword, const char *fmt, ...)
    EXSTP_PRINTF(8, 9);

/* Same, for errors without a position. */
int exstp_error_simple(exst_error *err, int code, const char *source,
                       const char *fmt, ...) EXSTP_PRINTF(4, 5);

/* Write untrusted bytes into out (size outsz) quoted for a message:
 * printable ASCII kept, others as \xNN, at most 40 input bytes, "..."
 * appended when cut.  Always NUL-terminates. */
void exstp_escape(char *out, size_t outsz, const char *p, size_t n);

/* Days-from-civil: UTC broken-down time to Unix seconds, no libc tz. */
int64_t exstp_timegm(int year, int mon, int day, int hour, int min, int sec);

/* Buffer that grows; used by writers.  On allocation failure ok = false
 * and later appends do nothing. */
typedef struct exstp_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} exstp_buf;

bool exstp_buf_reserve(exstp_buf *b, size_t extra);
void exstp_buf_append(exstp_buf *b, const void *p, size_t n);
void exstp_buf_printf(exstp_buf *b, const char *fmt, ...) EXSTP_PRINTF(2, 3);
void exstp_buf_free(exstp_buf *b);

#endif /* EXST_INT_H */
