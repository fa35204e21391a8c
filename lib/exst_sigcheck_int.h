/* SPDX-License-Identifier: BSD-3-Clause */
/* exst_sigcheck_int.h - the consensus signature check as the report
 * writer sees it: the "signatures" object as a jansson value, to be set
 * into a report (SPEC 8). */
#ifndef EXST_SIGCHECK_INT_H
#define EXST_SIGCHECK_INT_H

#include <jansson.h>

#include "exitstage.h"

/* {"checked", "good", "required", "failed": [{"identity", "reason"}]},
 * a new reference; NULL when out of memory. */
json_t *exstp_sigcheck_to_json(const exst_sigcheck *r);

/* Quote untrusted bytes for a message (see exstp_escape). */
#define QUOTE_STR(buf, p, n) (exstp_escape((buf), sizeof(buf), (p), (n)), (buf))

#endif /* EXST_SIGCHECK_INT_H */
