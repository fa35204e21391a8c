/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_weights_int.h - library-internal helpers of the bandwidth-weights
 * module (exst_weights.c): formatting a computed exst_weights as the text
 * of a consensus "bandwidth-weights" line.  Never installed.
 */
#ifndef EXST_WEIGHTS_INT_H
#define EXST_WEIGHTS_INT_H

#include <stddef.h>

#include "exitstage.h"

/*
 * Longest line exstp_weights_format can write, NUL excluded: the keyword,
 * then 19 items of " Wxx=" and at most 20 characters of signed decimal.
 */
#define EXSTP_WEIGHTS_LINE_MAX (17 + EXST_W_COUNT * (5 + 20))

/*
 * Write the line text "bandwidth-weights Wbd=N Wbe=N ... Wmm=N" for w into
 * buf (bufsz bytes): the 19 keys in tor's order, one space between items,
 * signed decimal values, no trailing newline, NUL-terminated.  A buffer of
 * EXSTP_WEIGHTS_LINE_MAX + 1 bytes always suffices.
 *
 * @return the length written (NUL excluded), or 0 if buf or w is NULL,
 *         w->present is 0 (tor emits no line then), or the text did not
 *         fit; in the last case buf holds an empty string when bufsz > 0.
 */
size_t exstp_weights_format(char *buf, size_t bufsz, const exst_weights *w);

#endif /* EXST_WEIGHTS_INT_H */
