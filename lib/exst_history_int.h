/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_history_int.h - internals of the history database shared with the
 * unit tests: the on-disk layout constants and a fault-injection hook that
 * makes exst_history_save fail part-way through writing.  Never installed.
 */
#ifndef EXST_HISTORY_INT_H
#define EXST_HISTORY_INT_H

#include <stddef.h>

/*
 * On-disk layout, version 1, all integers little-endian:
 *
 *   offset size
 *        0    8  magic "EXSTHIST"
 *        8    4  format version (1)
 *       12    1  clock (0 exit, 1 relay)
 *       13    1  flags (bit 0: grandfathered; other bits zero)
 *       14    2  reserved, zero
 *       16    8  observed_since (int64, EXST_TIME_NONE when empty)
 *       24    8  newest (int64, EXST_TIME_NONE when empty)
 *       32    8  processed count (uint64)
 *       40    8  record count (uint64)
 *       48    4  flavours processed at newest (bit 1 << flavor)
 *       52    4  record size (44)
 *       56  44n  records in strictly ascending identity order:
 *                  id[20], run_start, absence_start, last_seen (int64 each)
 *   56+44n   32  BLAKE2b-256 (crypto_generichash) of all preceding bytes
 *
 * At 44 bytes a record, 30 days of retention on the live network (some
 * 20,000-40,000 distinct identities) stays under 2 MB whatever the length
 * of the history, well inside SPEC 4.4's 5 MB.
 */
#define EXSTP_HISTORY_MAGIC "EXSTHIST"
#define EXSTP_HISTORY_VERSION 1u
#define EXSTP_HISTORY_HEADER_SIZE 56u
#define EXSTP_HISTORY_RECORD_SIZE 44u
#define EXSTP_HISTORY_CHECKSUM_SIZE 32u

/* Earliest and latest times a history accepts (1970 ... 9999-12-31). */
#define EXSTP_HISTORY_TIME_MIN 0
#define EXSTP_HISTORY_TIME_MAX INT64_C(253402300799)

/*
 * Test hook: make exst_history_save's writes fail with ENOSPC once nbytes
 * more bytes have been written (0 fails the first write).  A negative value
 * (the default) turns the hook off.  The setting persists across calls.
 */
void exstp_history_fail_write_after(long nbytes);

#endif /* EXST_HISTORY_INT_H */
