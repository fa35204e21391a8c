/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_archive.c - the archive reader (tar, pax, zstd, xz, gzip, single
 * documents, documents back to back) never trusts its input: for any
 * bytes it yields documents no larger than its limit and then ends or
 * fails with a status, both with whole documents and with peek_bytes
 * prefixes.  Every document is NUL-ended, classified as
 * exst_doc_classify says, its @type span inside it, numbered 0, 1, ...
 * within its member, and can be peeked at and parsed without harm.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exitstage.h"

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond))                                                       \
            abort();                                                       \
    } while (0)

#define MAX_DOC ((size_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(int fd, size_t peek)
{
    exst_archive *a = NULL;
    exst_archive_opts o = {.max_doc_bytes = MAX_DOC, .peek_bytes = peek};
    exst_error err;
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    if (exst_archive_open(&a, fd, "fuzz", &o, &err) != EXST_OK) {
        CHECK(a == NULL);
        return;
    }
    size_t prev_index = 0;
    for (int n = 0; n < 64; n++) {
        exst_archive_doc d;
        int rc = exst_archive_next(a, &d, &err);
        if (rc != EXST_OK) {
            CHECK(d.data == NULL);
            /* after an error the reader only repeats it */
            CHECK(exst_archive_next(a, &d, &err) == rc);
            break;
        }
        if (d.data == NULL)
            break;
        CHECK(d.name != NULL);
        CHECK(d.len <= MAX_DOC);
        CHECK(peek == 0 || d.len <= peek);
        CHECK(d.data[d.len] == '\0');
        exst_span ty;
        CHECK(exst_doc_classify(&ty, d.data, d.len) == d.kind);
        CHECK(ty.ptr == d.type.ptr && ty.len == d.type.len);
        CHECK(ty.ptr == NULL ||
              (ty.ptr >= d.data && ty.ptr + ty.len <= d.data + d.len));
        /* pieces of one member are numbered from 0, and a piece after
         * the first starts a document */
        CHECK(d.index == 0 || d.index == prev_index + 1);
        CHECK(d.index == 0 || d.offset > 0);
        CHECK(d.index == 0 ||
              (d.len >= 6 && (memcmp(d.data, "@type ", 6) == 0 ||
                              memcmp(d.data, "network-status-version ",
                                     d.len < 23 ? d.len : 23) == 0)));
        prev_index = d.index;
        int64_t t;
        exst_flavor fl;
        if (exst_peek_header(&t, &fl, d.data, d.len, d.name, &err) ==
            EXST_OK)
            CHECK(fl == EXST_FLAVOR_NS || fl == EXST_FLAVOR_MICRODESC);
        exst_parse_opts po = {.max_doc_bytes = MAX_DOC,
                              .flags = EXST_PARSE_BORROW};
        exst_consensus *c = NULL;
        if (exst_consensus_parse(&c, d.data, d.len, d.name, &po, &err) ==
            EXST_OK)
            exst_consensus_free(c);
    }
    exst_archive_close(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("fuzz_archive", 0);
        CHECK(fd >= 0);
    }
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        CHECK(w > 0);
        done += (size_t)w;
    }
    read_all(fd, 0);
    read_all(fd, 600);
    return 0;
}
