/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_consensus_int.h - the parsed consensus as the library sees it: the
 * owned document bytes plus offsets of every line the writer may edit.
 * Shared by the parser (exst_consensus.c), the writer (exst_write.c), the
 * weights tally and the staging engine.
 */
#ifndef EXST_CONSENSUS_INT_H
#define EXST_CONSENSUS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exitstage.h"

#define EXSTP_MAX_FLAGS 64

/* One router status entry.  Offsets index exst_consensus.doc. */
typedef struct exstp_relay {
    uint64_t flags;        /* bit i = known-flags[i] */
    uint32_t bandwidth;
    uint32_t or_port;
    uint32_t guardfraction;
    uint32_t line;         /* line number of the r line */
    uint32_t id_off;       /* the r line's 27-character base64 identity,
                              validated; decoded on demand (exstp_relay_id) */
    uint32_t nick_off;
    uint32_t addr_off;
    uint32_t s_off;        /* start of the s line ("s") */
    uint32_t s_end;        /* offset of the s line's LF */
    uint32_t entry_end;    /* offset just past the entry's last line */
    uint8_t nick_len;
    uint8_t addr_len;
    uint8_t has_bandwidth;
    uint8_t unmeasured;
    uint8_t has_guardfraction;
} exstp_relay;

/* A span of bytes the writer drops (old exitstage annotations when the
 * caller allowed reprocessing). */
typedef struct exstp_cut {
    size_t off;
    size_t len;
} exstp_cut;

struct exst_consensus {
    char *doc;                 /* decompressed; never written through */
    size_t len;
    bool doc_owned;            /* false with EXST_PARSE_BORROW */
    exst_flavor flavor;
    unsigned method;
    int64_t valid_after;
    int64_t fresh_until;
    int64_t valid_until;

    size_t n_flags;
    exst_span flags[EXSTP_MAX_FLAGS];
    int flag_exit;             /* known-flags index or -1 */
    int flag_badexit;
    int flag_guard;

    size_t params_off;         /* params line: offset of first K=V, 0 none */
    size_t params_end;

    size_t known_flags_off;    /* start of the known-flags line */
    size_t known_flags_end;    /* offset of its LF */
    size_t annot_off;          /* where the exitstage item goes */
    size_t footer_off;         /* start of directory-footer line */
    size_t footer_end;         /* just past its LF */
    bool has_bw_line;
    size_t bw_off;             /* bandwidth-weights line start */
    size_t bw_end;             /* just past its LF */
    size_t sig_off;            /* first directory-signature line */

    size_t n_relays;
    exstp_relay *relays;

    size_t n_cuts;
    exstp_cut *cuts;

    int weights_match; /* exstp_consensus_weights_match_cached: 0 not yet
                          known, 1 no, 2 yes */
};

/* exst_consensus_weights_match, computed once per document (lanes ask
 * for every document many times). */
bool exstp_consensus_weights_match_cached(const exst_consensus *c);

/* Decode relay i's identity (libsodium base64) into out. */
void exstp_relay_id(const exst_consensus *c, size_t i, uint8_t out[20]);

#endif /* EXST_CONSENSUS_INT_H */
