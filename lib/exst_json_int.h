/* SPDX-License-Identifier: BSD-3-Clause */
/* exst_json_int.h - jansson helpers shared by the report writers. */
#ifndef EXST_JSON_INT_H
#define EXST_JSON_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "exitstage.h"

/* An ISO-8601 UTC string, or null for EXST_TIME_NONE/UNKNOWN. */
json_t *exstp_json_time(int64_t t);

/* Dump root (consumed) with sorted keys, pretty or compact, plus a
 * trailing newline, into a new exst_free'd string. */
int exstp_json_finish(char **out, json_t *root, bool compact,
                      exst_error *err);

#endif
