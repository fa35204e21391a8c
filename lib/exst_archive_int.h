/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_archive_int.h - what the replay engine's reader threads need of an
 * archive beyond the public API: to keep a document's bytes without a
 * copy, and to give back the working buffers of an input they pause in,
 * so that memory follows the documents in flight, not the number of
 * readers.  Never installed.
 */
#ifndef EXST_ARCHIVE_INT_H
#define EXST_ARCHIVE_INT_H

#include <stdbool.h>

#include "exitstage.h"

/* When d (just returned by exst_archive_next on a) is the whole of the
 * archive's current buffer, hand that buffer to the caller: *buf holds
 * d->len bytes and a NUL, the caller frees it with exstp_free, and d->data
 * is *buf.  Otherwise (a document cut out of a larger buffer) return false
 * and leave everything as it was. */
bool exstp_archive_take(exst_archive *a, const exst_archive_doc *d,
                        char **buf);

/* Free the document buffers when no returned document still points into
 * them and nothing read is pending in them; they are allocated again by
 * the next exst_archive_next.  A no-op otherwise. */
void exstp_archive_trim(exst_archive *a);

#endif
