/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the cmocka unit tests: locating test data, reading
 * (and zstd-decompressing) files, listing directories. */
#ifndef EXST_TESTUTIL_H
#define EXST_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* ../shared/testdata, or NULL when it is absent (tests then skip). */
const char *tu_shared_dir(void);
/* The project's own testdata/ directory. */
const char *tu_project_dir(void);

/* Skip the current test (reported by cmocka) when shared data is absent. */
#define TU_REQUIRE_SHARED()                                                \
    do {                                                                   \
        if (tu_shared_dir() == NULL) {                                     \
            print_message("SKIPPED: ../shared/testdata is absent\n");      \
            skip();                                                        \
        }                                                                  \
    } while (0)

/* Read a whole file; returns 0 on success.  *buf is malloc'd and
 * NUL-terminated (the NUL is not counted in *len). */
int tu_read_file(const char *path, char **buf, size_t *len);
/* Same, decompressing a zstd file. */
int tu_read_doc(const char *path, char **buf, size_t *len);

/* Sorted list of regular files directly in dir (full paths), NULL-
 * terminated; free with tu_free_list.  Returns NULL if dir is missing. */
char **tu_list_dir(const char *dir);
/* The same for the subdirectories of dir. */
char **tu_list_subdirs(const char *dir);
void tu_free_list(char **list);

/* Compressors for building test inputs: append one zstd frame, one xz
 * stream or one gzip member holding (p, n) to *out (*out_len bytes,
 * realloc'd; start from NULL and 0).  Failures fail the test. */
enum { TU_ZSTD = 1, TU_XZ = 2, TU_GZIP = 3 };
void tu_compress(int fmt, unsigned char **out, size_t *out_len,
                 const void *p, size_t n);

/* Join two path parts into a static-per-call malloc'd string (free it). */
char *tu_path(const char *a, const char *b);

#endif
