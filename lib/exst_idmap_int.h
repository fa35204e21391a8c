/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_idmap_int.h - a map from 20-byte relay identities to small
 * integers (or a plain set), open addressing with a keyed hash of all 20
 * bytes (libsodium's crypto_shorthash, SipHash-2-4, with a random key per
 * map): identities are chosen by relay operators, so an unkeyed hash of a
 * few bytes lets anyone make the table quadratic.  Memory grows with the
 * identities held, never with the number of insertions.  Never installed.
 */
#ifndef EXST_IDMAP_INT_H
#define EXST_IDMAP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct exstp_idmap {
    uint8_t (*keys)[20];
    uint32_t *vals;
    uint8_t *used;
    size_t n, cap;
    unsigned char hkey[16];
} exstp_idmap;

/* An empty map (no allocation until the first insertion). */
void exstp_idmap_init(exstp_idmap *m);
void exstp_idmap_free(exstp_idmap *m);
/* Insert id with value v if absent.  *found (may be NULL) says whether it
 * was there; *val (may be NULL) receives the stored value.  Returns false
 * when out of memory (the map is unchanged). */
bool exstp_idmap_put(exstp_idmap *m, const uint8_t id[20], uint32_t v,
                     bool *found, uint32_t *val);
/* Look up id: true and *val (may be NULL) when present. */
bool exstp_idmap_get(const exstp_idmap *m, const uint8_t id[20],
                     uint32_t *val);

#endif /* EXST_IDMAP_INT_H */
