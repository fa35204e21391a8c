/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_idmap.c - relay identities to small integers, hashed with a keyed
 * SipHash of all 20 bytes (see exst_idmap_int.h for why), linear probing,
 * load at most one half.
 */
#include <string.h>

#include <sodium.h>

#include "exst_idmap_int.h"
#include "exst_int.h"

_Static_assert(crypto_shorthash_KEYBYTES == 16, "SipHash key size");

void exstp_idmap_init(exstp_idmap *m)
{
    memset(m, 0, sizeof *m);
    randombytes_buf(m->hkey, sizeof m->hkey);
}

void exstp_idmap_free(exstp_idmap *m)
{
    exstp_free(m->keys);
    exstp_free(m->vals);
    exstp_free(m->used);
    m->keys = NULL;
    m->vals = NULL;
    m->used = NULL;
    m->n = m->cap = 0;
}

static size_t slot_of(const exstp_idmap *m, const uint8_t id[20])
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id, 20, m->hkey);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)(v & (m->cap - 1)); /* cap is a power of two */
}

/* The slot holding id, or the empty one where it would go. */
static size_t probe(const exstp_idmap *m, const uint8_t id[20])
{
    size_t i = slot_of(m, id);
    while (m->used[i] && memcmp(m->keys[i], id, 20) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static bool grow(exstp_idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    exstp_idmap t = *m;
    t.keys = exstp_malloc(cap * sizeof *t.keys);
    t.vals = exstp_malloc(cap * sizeof *t.vals);
    t.used = exstp_calloc(cap, 1);
    t.cap = cap;
    t.n = 0;
    if (t.keys == NULL || t.vals == NULL || t.used == NULL) {
        exstp_free(t.keys);
        exstp_free(t.vals);
        exstp_free(t.used);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        size_t j = probe(&t, m->keys[i]);
        memcpy(t.keys[j], m->keys[i], 20);
        t.vals[j] = m->vals[i];
        t.used[j] = 1;
        t.n++;
    }
    exstp_idmap_free(m);
    *m = t;
    return true;
}

bool exstp_idmap_put(exstp_idmap *m, const uint8_t id[20], uint32_t v,
                     bool *found, uint32_t *val)
{
    if (m->cap > 0) {
        size_t i = probe(m, id);
        if (m->used[i]) {
            if (found != NULL)
                *found = true;
            if (val != NULL)
                *val = m->vals[i];
            return true;
        }
    }
    if ((m->n + 1) * 2 > m->cap && !grow(m))
        return false;
    size_t i = probe(m, id);
    memcpy(m->keys[i], id, 20);
    m->vals[i] = v;
    m->used[i] = 1;
    m->n++;
    if (found != NULL)
        *found = false;
    if (val != NULL)
        *val = v;
    return true;
}

bool exstp_idmap_get(const exstp_idmap *m, const uint8_t id[20],
                     uint32_t *val)
{
    if (m->cap == 0)
        return false;
    size_t i = probe(m, id);
    if (!m->used[i])
        return false;
    if (val != NULL)
        *val = m->vals[i];
    return true;
}
