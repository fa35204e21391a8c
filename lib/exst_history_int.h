/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_history_int.h - internals of the history database shared with the
 * unit tests: the on-disk layout constants and a fault-injection hook that
 * makes exst_history_save fail part-way through writing.  Never installed.
 */
#ifndef EXST_HISTORY_INT_H
#define EXST_HISTORY_INT_H

#include <stddef.h>

#include "exitstage.h"

/*
 * On-disk layout, version 2, all integers little-endian:
 *
 *   offset size
 *        0    8  magic "EXSTHIST"
 *        8    4  format version (2)
 *       12    1  clock (0 exit, 1 relay)
 *       13    1  flags: bit 0 grandfathered (db init --grandfather),
 *                bit 1 bootstrap none; other bits zero
 *       14    2  reserved, zero
 *       16    8  observed_since (int64, EXST_TIME_NONE when empty)
 *       24    8  newest (int64, EXST_TIME_NONE when empty)
 *       32    8  processed count (uint64)
 *       40    8  record count (uint64)
 *       48    4  flavours processed at newest (bit 1 << flavor)
 *       52    4  record size (44)
 *       56    8  P in effect at newest (int64 seconds, EXST_TIME_NONE
 *                when unknown)
 *       64    8  W in effect at newest (likewise)
 *       72  44n  records in strictly ascending identity order:
 *                  id[20], run_start, absence_start, last_seen (int64 each)
 *   72+44n   32  BLAKE2b-256 (crypto_generichash) of all preceding bytes
 *
 * Version 1 (exitstage 0.1) is the same without the two policy fields
 * (header 56 bytes) and without the bootstrap flag; it is read and
 * migrated (bootstrap rule "grandfather", policy unknown).
 *
 * At 44 bytes a record, 30 days of retention on the live network (some
 * 20,000-40,000 distinct identities) stays under 2 MB whatever the length
 * of the history, well inside SPEC 4.4's 5 MB.
 */
#define EXSTP_HISTORY_MAGIC "EXSTHIST"
#define EXSTP_HISTORY_VERSION 2u
#define EXSTP_HISTORY_HEADER_SIZE 72u
#define EXSTP_HISTORY_V1_HEADER_SIZE 56u
#define EXSTP_HISTORY_RECORD_SIZE 44u
#define EXSTP_HISTORY_CHECKSUM_SIZE 32u

#define EXSTP_HISTORY_FLAG_GRANDFATHERED 0x1u
#define EXSTP_HISTORY_FLAG_BOOTSTRAP_NONE 0x2u

/* Earliest and latest times a history accepts (1970 ... 9999-12-31). */
#define EXSTP_HISTORY_TIME_MIN 0
#define EXSTP_HISTORY_TIME_MAX EXST_TIME_LATEST

/*
 * Test hook: make exst_history_save's writes fail with ENOSPC once nbytes
 * more bytes have been written (0 fails the first write).  A negative value
 * (the default) turns the hook off.  The setting persists across calls.
 * (The same hook as exstp_file_fail_write_after: every output's writes.)
 */
void exstp_history_fail_write_after(long nbytes);

#endif /* EXST_HISTORY_INT_H */
