/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_json.c - JSON documents the library produces about one consensus:
 * the `inspect` summary, with the signature check's "signatures" object
 * when one was made.  Built with jansson's _new setters and dumped
 * pretty-printed with sorted keys, so output is stable for golden tests.
 */
#include <string.h>

#include <jansson.h>

#include "exst_consensus_int.h"
#include "exst_int.h"
#include "exst_json_int.h"
#include "exst_sigcheck_int.h"

json_t *exstp_json_time(int64_t t)
{
    char buf[21];
    if (t == EXST_TIME_NONE || t == EXST_TIME_UNKNOWN)
        return json_null();
    return json_string(exst_time_iso(buf, t));
}

int exstp_json_finish(char **out, json_t *root, bool compact,
                      exst_error *err)
{
    *out = NULL;
    if (root == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    /* Fractions are rounded to 6 decimals; 10 significant digits print
     * them without binary noise (0.00225, not 0.0022499999999999998). */
    size_t flags = JSON_SORT_KEYS | JSON_REAL_PRECISION(10) |
                   (compact ? JSON_COMPACT : JSON_INDENT(2));
    char *s = json_dumps(root, flags);
    json_decref(root);
    if (s == NULL)
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    size_t n = strlen(s);
    char *r = exstp_malloc(n + 2);
    if (r == NULL) {
        free(s);
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    }
    memcpy(r, s, n);
    r[n] = '\n';
    r[n + 1] = '\0';
    free(s);
    *out = r;
    return EXST_OK;
}

int exst_consensus_summary_json(char **out, const exst_consensus *c,
                                exst_error *err)
{
    return exst_consensus_summary_json_sig(out, c, NULL, err);
}

int exst_consensus_summary_json_sig(char **out, const exst_consensus *c,
                                    const exst_sigcheck *sig,
                                    exst_error *err)
{
    json_t *root = json_object();
    json_t *flags = json_object();
    uint64_t counts[EXSTP_MAX_FLAGS] = {0};
    uint64_t exits = 0, exit_bw = 0;
    const uint64_t bad = c->flag_badexit >= 0 ? UINT64_C(1) << c->flag_badexit
                                              : 0;
    *out = NULL;
    for (size_t i = 0; i < c->n_relays; i++) {
        const exstp_relay *r = &c->relays[i];
        for (size_t f = 0; f < c->n_flags; f++)
            counts[f] += (r->flags >> f) & 1;
        if (exst_consensus_relay_is_exit(c, i)) {
            exits++;
            if (!(r->flags & bad))
                exit_bw += r->bandwidth;
        }
    }
    if (root == NULL || flags == NULL) {
        json_decref(root);
        json_decref(flags);
        return exstp_error_simple(err, EXST_ERR_NOMEM, NULL, "out of memory");
    }
    for (size_t f = 0; f < c->n_flags; f++) {
        char name[64];
        size_t n = c->flags[f].len < 63 ? c->flags[f].len : 63;
        memcpy(name, c->flags[f].ptr, n);
        name[n] = '\0';
        json_object_set_new(flags, name, json_integer((json_int_t)counts[f]));
    }
    json_object_set_new(root, "flavor",
                        json_string(c->flavor == EXST_FLAVOR_NS ? "ns"
                                                                : "microdesc"));
    json_object_set_new(root, "valid_after", exstp_json_time(c->valid_after));
    json_object_set_new(root, "fresh_until", exstp_json_time(c->fresh_until));
    json_object_set_new(root, "valid_until", exstp_json_time(c->valid_until));
    json_object_set_new(root, "consensus_method", json_integer(c->method));
    json_object_set_new(root, "relays", json_integer((json_int_t)c->n_relays));
    json_object_set_new(root, "flags", flags);
    json_object_set_new(root, "exit_candidates",
                        json_integer((json_int_t)exits));
    json_object_set_new(root, "exit_bandwidth",
                        json_integer((json_int_t)exit_bw));
    json_object_set_new(root, "has_bandwidth_weights",
                        json_boolean(c->has_bw_line));
    json_object_set_new(root, "weights_match",
                        json_boolean(exst_consensus_weights_match(c)));
    if (sig != NULL) {
        json_t *s = exstp_sigcheck_to_json(sig);
        if (s == NULL || json_object_set_new(root, "signatures", s) != 0) {
            json_decref(root);
            return exstp_error_simple(err, EXST_ERR_NOMEM, NULL,
                                      "out of memory");
        }
    }
    return exstp_json_finish(out, root, false, err);
}
