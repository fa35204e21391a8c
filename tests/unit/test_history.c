/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_history.c - unit tests of the staging-history database and its
 * writer lock: the lifecycle rules of SPEC 3.2 and 3.7 as tables of small
 * made-up hourly histories with exact expected run, absence and event
 * values; byte-level properties (flavour order, repeats, determinism,
 * round trips); the file's integrity checks against every flipped byte and
 * every truncation; atomic saves under injected write errors and SIGKILL;
 * the lock across processes; and out-of-memory sweeps.
 */
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "testutil.h"

#include "exst_history_int.h"
#include "exst_int.h"
#include "exitstage.h"

#define H 3600
/* 2024-05-17 00:00:00 UTC: hour offsets in the tables count from here. */
#define T0 INT64_C(1715904000)
#define AT(hour) (T0 + (int64_t)(hour) * H)

/* Sentinels for expected values in the tables. */
#define X INT_MIN         /* EXST_TIME_NONE */
#define U (INT_MIN + 1)   /* EXST_TIME_UNKNOWN */
#define GONE (INT_MIN + 2) /* no record at all */

#define MAX_RELAYS 10

static void make_id(uint8_t id[20], int n)
{
    /* Ascending in n, and not all zero bytes after the first. */
    for (int i = 0; i < 20; i++)
        id[i] = (uint8_t)(0xA0 + n * 3 + i);
    id[0] = (uint8_t)(0x10 + n);
}

static int64_t hour_time(int v)
{
    if (v == X)
        return EXST_TIME_NONE;
    if (v == U)
        return EXST_TIME_UNKNOWN;
    return AT(v);
}

/* Observe: present is a string of relay digits in ascending order. */
static int observe_ex(exst_history *h, int hour, exst_flavor flavor,
                      const char *present, int w_hours, int ret_hours,
                      int64_t *run_start, uint8_t *event, exst_error *err)
{
    uint8_t ids[MAX_RELAYS][20];
    size_t n = strlen(present);
    assert_true(n <= MAX_RELAYS);
    for (size_t i = 0; i < n; i++)
        make_id(ids[i], present[i] - '0');
    exst_observation obs = {
        .valid_after = AT(hour),
        .flavor = flavor,
        .present = (const uint8_t(*)[20])ids,
        .n_present = n,
        .reset_after_s = (int64_t)w_hours * H,
        .retention_s = (int64_t)ret_hours * H,
    };
    return exst_history_observe(h, &obs, run_start, event, err);
}

static void observe_ok(exst_history *h, int hour, exst_flavor flavor,
                       const char *present, int w_hours, int ret_hours)
{
    exst_error err;
    exst_error_clear(&err);
    int rc = observe_ex(h, hour, flavor, present, w_hours, ret_hours, NULL,
                        NULL, &err);
    if (rc != EXST_OK)
        print_error("observe: %s\n", err.message);
    assert_int_equal(rc, EXST_OK);
}

/* A history with the library's default bootstrap rule ("grandfather"). */
static exst_history *new_history_default(exst_clock clock)
{
    exst_history *h = NULL;
    assert_int_equal(exst_history_new(&h, clock), EXST_OK);
    assert_non_null(h);
    return h;
}

/* Most tables here are about runs (SPEC 3.2), so they use the 0.1 rule
 * (--bootstrap none), where every first sighting starts a run; the
 * bootstrap window has tests of its own. */
static exst_history *new_history(exst_clock clock)
{
    exst_history *h = new_history_default(clock);
    assert_int_equal(exst_history_set_bootstrap(h, EXST_BOOTSTRAP_NONE),
                     EXST_OK);
    return h;
}

static void serialize(const exst_history *h, uint8_t **out, size_t *len)
{
    void *p = NULL;
    assert_int_equal(exst_history_serialize(&p, len, h, NULL), EXST_OK);
    *out = p;
}

static void assert_bytes_equal(const exst_history *a, const exst_history *b)
{
    uint8_t *pa, *pb;
    size_t la, lb;
    serialize(a, &pa, &la);
    serialize(b, &pb, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    exst_free(pa);
    exst_free(pb);
}

/* ---- the rules as tables ----------------------------------------------- */

typedef struct step {
    const char *present; /* NULL ends the list */
    int hour;
    exst_flavor flavor;
    const char *events;  /* per present relay: N new, C continued,
                            R restarted, G grandfathered; NULL = not
                            checked */
} step;

typedef struct expect {
    int relay; /* -1 ends the list */
    int s, a, last;
} expect;

typedef struct rule_case {
    const char *name;
    int w;         /* reset window, hours */
    int retention; /* hours, 0 = never prune */
    step steps[40];
    expect recs[MAX_RELAYS];
    int gf;        /* 1: bootstrap rule "grandfather" (SPEC 3.7, the
                      default); 0: "none", the 0.1 rule (3.2 alone) */
} rule_case;

#define NS EXST_FLAVOR_NS
#define MD EXST_FLAVOR_MICRODESC
#define END {NULL, 0, NS, NULL}
#define ENDR {-1, 0, 0, 0}

static const rule_case rule_cases[] = {
    {"first sighting", 24, 0,
     {{"01", 0, NS, "NN"}, {"012", 1, NS, "CCN"}, END},
     {{0, 0, X, 1}, {1, 0, X, 1}, {2, 1, X, 1}, ENDR}, 0},

    /* SPEC 3.2's example: present 10:00, missing from 11:00; back at
     * 10:00 the next day is 23 h of absence, so the run continues. */
    {"absence of W-1h bridged", 24, 0,
     {{"01", 9, NS, "NN"}, {"01", 10, NS, "CC"}, {"1", 11, NS, "C"},
      {"1", 12, NS, "C"}, {"1", 20, NS, "C"}, {"1", 33, NS, "C"},
      {"01", 34, NS, "CC"}, END},
     {{0, 9, X, 34}, {1, 9, X, 34}, ENDR}, 0},

    /* ... and back at 11:00 the next day is exactly W: restart. */
    {"absence of exactly W restarts", 24, 0,
     {{"01", 9, NS, "NN"}, {"01", 10, NS, "CC"}, {"1", 11, NS, "C"},
      {"1", 12, NS, "C"}, {"1", 34, NS, "C"}, {"01", 35, NS, "RC"}, END},
     {{0, 35, X, 35}, {1, 9, X, 35}, ENDR}, 0},

    {"absence recorded while away", 24, 0,
     {{"01", 0, NS, "NN"}, {"1", 1, NS, "C"}, {"1", 2, NS, "C"}, END},
     {{0, 0, 1, 0}, {1, 0, X, 2}, ENDR}, 0},

    /* No consensus between 1:00 and 40:00: nobody was seen absent. */
    {"archive gap is not an absence", 24, 0,
     {{"0", 0, NS, "N"}, {"0", 1, NS, "C"}, {"0", 40, NS, "C"}, END},
     {{0, 0, X, 40}, ENDR}, 0},

    /* Once seen absent, the data gap after a counts. */
    {"gap after an observed absence counts", 24, 0,
     {{"01", 0, NS, "NN"}, {"1", 1, NS, "C"}, {"01", 30, NS, "RC"}, END},
     {{0, 30, X, 30}, {1, 0, X, 30}, ENDR}, 0},

    {"gap after absence shorter than W", 24, 0,
     {{"01", 0, NS, "NN"}, {"1", 1, NS, "C"}, {"01", 20, NS, "CC"}, END},
     {{0, 0, X, 20}, {1, 0, X, 20}, ENDR}, 0},

    {"W = 0 restarts after any absence", 0, 0,
     {{"01", 0, NS, "NN"}, {"1", 1, NS, "C"}, {"01", 2, NS, "RC"},
      {"01", 3, NS, "CC"}, END},
     {{0, 2, X, 3}, {1, 0, X, 3}, ENDR}, 0},

    {"repeated absence keeps its start", 24, 0,
     {{"01", 0, NS, "NN"}, {"1", 5, NS, "C"}, {"1", 6, NS, "C"},
      {"1", 7, NS, "C"}, END},
     {{0, 0, 5, 0}, {1, 0, X, 7}, ENDR}, 0},

    /* The second flavour of an hour lacks relay 1: not an absence. */
    {"same hour, relay missing from md", 24, 0,
     {{"01", 0, NS, "NN"}, {"01", 1, NS, "CC"}, {"0", 1, MD, "C"}, END},
     {{0, 0, X, 1}, {1, 0, X, 1}, ENDR}, 0},

    /* md first marks relay 1 absent at 1:00; ns then shows it: bridged
     * even with W = 0, as in the other order. */
    {"same hour, md first, W = 0", 0, 0,
     {{"01", 0, NS, "NN"}, {"0", 1, MD, "C"}, {"01", 1, NS, "CC"}, END},
     {{0, 0, X, 1}, {1, 0, X, 1}, ENDR}, 0},

    {"same document twice", 24, 0,
     {{"012", 0, NS, "NNN"}, {"01", 1, NS, "CC"}, {"01", 1, NS, "CC"},
      END},
     {{0, 0, X, 1}, {1, 0, X, 1}, {2, 0, 1, 0}, ENDR}, 0},

    {"new relay in the second flavour", 24, 0,
     {{"0", 0, NS, "N"}, {"0", 1, NS, "C"}, {"01", 1, MD, "CN"},
      {"01", 2, NS, "CC"}, END},
     {{0, 0, X, 2}, {1, 1, X, 2}, ENDR}, 0},

    /* Retention 48 h: absent since 1:00, kept at 49:00 (48 h), pruned at
     * 50:00; back at 51:00 it starts a new run. */
    {"pruning and return", 24, 48,
     {{"01", 0, NS, "NN"}, {"1", 1, NS, "C"}, {"1", 49, NS, "C"}, END},
     {{0, 0, 1, 0}, {1, 0, X, 49}, ENDR}, 0},
    {"pruned after retention", 24, 48,
     {{"01", 0, NS, "NN"}, {"1", 1, NS, "C"}, {"1", 50, NS, "C"}, END},
     {{0, GONE, 0, 0}, {1, 0, X, 50}, ENDR}, 0},
    {"return after pruning is a new run", 24, 48,
     {{"01", 0, NS, "NN"}, {"1", 1, NS, "C"}, {"1", 50, NS, "C"},
      {"01", 51, NS, "NC"}, END},
     {{0, 51, X, 51}, {1, 0, X, 51}, ENDR}, 0},

    {"retention 0 never prunes", 24, 0,
     {{"01", 0, NS, "NN"}, {"1", 1, NS, "C"}, {"1", 5000, NS, "C"}, END},
     {{0, 0, 1, 0}, {1, 0, X, 5000}, ENDR}, 0},

    {"restart then bridge", 2, 0,
     {{"0", 0, NS, "N"}, {"", 1, NS, NULL}, {"", 2, NS, NULL},
      {"0", 3, NS, "R"}, {"", 4, NS, NULL}, {"0", 5, NS, "C"}, END},
     {{0, 3, X, 5}, ENDR}, 0},

    /* SPEC 3.7, "Bootstrap (revised in 0.2)", sentence by sentence. */

    /* "A relay that the history first sees at t < o + W ... is
     * grandfathered (run start unknown; graduated, never staged).  From
     * o + W on, a relay seen for the first time starts a run." */
    {"first seen before o + W: grandfathered; from o + W: new", 24, 0,
     {{"01", 0, NS, "GG"}, {"012", 1, NS, "CCG"}, {"0123", 23, NS, "CCCG"},
      {"01234", 24, NS, "CCCCN"}, {"012345", 25, NS, "CCCCCN"}, END},
     {{0, U, X, 25}, {1, U, X, 25}, {2, U, X, 25}, {3, U, X, 25},
      {4, 24, X, 25}, {5, 25, X, 25}, ENDR}, 1},

    /* The window is the history's: o is its first consensus, whatever
     * relay 1 did before it was first seen. */
    {"window measured from observed_since", 6, 0,
     {{"0", 10, NS, "G"}, {"01", 15, NS, "CG"}, {"012", 16, NS, "CCN"},
      END},
     {{0, U, X, 16}, {1, U, X, 16}, {2, 16, X, 16}, ENDR}, 1},

    /* "A grandfathered relay that is later absent for W or more restarts
     * like any other." */
    {"grandfathered relay away for W restarts", 24, 0,
     {{"01", 0, NS, "GG"}, {"1", 1, NS, "C"}, {"01", 25, NS, "RC"}, END},
     {{0, 25, X, 25}, {1, U, X, 25}, ENDR}, 1},
    {"grandfathered relay away for less than W keeps graduating", 24, 0,
     {{"01", 0, NS, "GG"}, {"1", 1, NS, "C"}, {"01", 24, NS, "CC"}, END},
     {{0, U, X, 24}, {1, U, X, 24}, ENDR}, 1},

    /* The other flavour of an hour in the window: a relay only the
     * microdesc document lists is grandfathered too, in either order. */
    {"window, second flavour adds a relay", 24, 0,
     {{"0", 0, NS, "G"}, {"01", 0, MD, "CG"}, {"01", 1, NS, "CC"}, END},
     {{0, U, X, 1}, {1, U, X, 1}, ENDR}, 1},

    /* W = 0: the window is empty, every first sighting is new. */
    {"W = 0: no window", 0, 0,
     {{"01", 0, NS, "NN"}, {"012", 1, NS, "CCN"}, END},
     {{0, 0, X, 1}, {1, 0, X, 1}, {2, 1, X, 1}, ENDR}, 1},

    /* A record pruned and back after o + W starts a new run. */
    {"pruned grandfathered relay comes back new", 24, 30,
     {{"01", 0, NS, "GG"}, {"1", 1, NS, "C"}, {"1", 32, NS, "C"},
      {"01", 33, NS, "NC"}, END},
     {{0, 33, X, 33}, {1, U, X, 33}, ENDR}, 1},
};

static void run_rule_case(const rule_case *c)
{
    print_message("case: %s\n", c->name);
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    assert_int_equal(exst_history_set_bootstrap(
                         h, c->gf ? EXST_BOOTSTRAP_GRANDFATHER
                                  : EXST_BOOTSTRAP_NONE),
                     EXST_OK);
    for (const step *st = c->steps; st->present != NULL; st++) {
        int64_t run_start[MAX_RELAYS];
        uint8_t event[MAX_RELAYS];
        exst_error err;
        exst_error_clear(&err);
        int rc = observe_ex(h, st->hour, st->flavor, st->present, c->w,
                            c->retention, run_start, event, &err);
        if (rc != EXST_OK)
            print_error("%s: %s\n", c->name, err.message);
        assert_int_equal(rc, EXST_OK);
        assert_int_equal(exst_history_newest(h), AT(st->hour));
        const size_t n = strlen(st->present);
        for (size_t j = 0; j < n; j++) {
            uint8_t id[20];
            exst_record r;
            make_id(id, st->present[j] - '0');
            assert_true(exst_history_find(h, id, &r));
            assert_true(r.run_start == run_start[j]);
            assert_true(r.last_seen == AT(st->hour));
            assert_true(r.absence_start == EXST_TIME_NONE);
            if (st->events != NULL) {
                const char want = st->events[j];
                const int ev = want == 'N'   ? EXST_RUN_NEW
                               : want == 'R' ? EXST_RUN_RESTARTED
                               : want == 'G' ? EXST_RUN_GRANDFATHERED
                                             : EXST_RUN_CONTINUED;
                if (event[j] != ev)
                    print_error("%s: hour %d relay %c: event %d, want %c\n",
                                c->name, st->hour, st->present[j],
                                event[j], want);
                assert_int_equal(event[j], ev);
            }
        }
    }
    size_t expected_records = 0;
    for (const expect *e = c->recs; e->relay >= 0; e++) {
        uint8_t id[20];
        exst_record r;
        make_id(id, e->relay);
        const int found = exst_history_find(h, id, &r);
        if (e->s == GONE) {
            assert_false(found);
            continue;
        }
        expected_records++;
        assert_true(found);
        if (r.run_start != hour_time(e->s) ||
            r.absence_start != hour_time(e->a) ||
            r.last_seen != hour_time(e->last))
            print_error("%s: relay %d: s %lld a %lld last %lld\n", c->name,
                        e->relay, (long long)(r.run_start - T0) / H,
                        (long long)(r.absence_start - T0) / H,
                        (long long)(r.last_seen - T0) / H);
        assert_true(r.run_start == hour_time(e->s));
        assert_true(r.absence_start == hour_time(e->a));
        assert_true(r.last_seen == hour_time(e->last));
    }
    assert_int_equal(exst_history_count(h), expected_records);
    assert_int_equal(exst_history_observed_since(h), AT(c->steps[0].hour));
    exst_history_free(h);
}

static void test_rules_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++)
        run_rule_case(&rule_cases[i]);
}

static void test_header_fields(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_RELAY);
    assert_int_equal(exst_history_clock(h), EXST_CLOCK_RELAY);
    assert_true(exst_history_observed_since(h) == EXST_TIME_NONE);
    assert_true(exst_history_newest(h) == EXST_TIME_NONE);
    assert_int_equal(exst_history_newest_flavors(h), 0);
    assert_int_equal(exst_history_processed(h), 0);
    assert_int_equal(exst_history_grandfathered(h), 0);
    assert_int_equal(exst_history_count(h), 0);

    observe_ok(h, 0, NS, "01", 24, 0);
    assert_int_equal(exst_history_newest_flavors(h), 1u << NS);
    observe_ok(h, 0, MD, "01", 24, 0);
    assert_int_equal(exst_history_newest_flavors(h), 3u);
    assert_int_equal(exst_history_processed(h), 2);
    observe_ok(h, 0, MD, "01", 24, 0); /* a repeat counts once */
    assert_int_equal(exst_history_processed(h), 2);
    observe_ok(h, 1, MD, "01", 24, 0);
    assert_int_equal(exst_history_newest_flavors(h), 1u << MD);
    assert_int_equal(exst_history_processed(h), 3);
    assert_int_equal(exst_history_observed_since(h), AT(0));
    assert_int_equal(exst_history_newest(h), AT(1));
    exst_history_free(h);
}

static void test_observe_bad_arguments(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    uint8_t ids[2][20];
    make_id(ids[0], 2);
    make_id(ids[1], 1);
    exst_observation obs = {.valid_after = AT(0),
                            .present = (const uint8_t(*)[20])ids,
                            .n_present = 2};
    assert_int_equal(exst_history_observe(h, &obs, NULL, NULL, NULL),
                     EXST_ERR_USAGE); /* descending */
    make_id(ids[1], 2);
    assert_int_equal(exst_history_observe(h, &obs, NULL, NULL, NULL),
                     EXST_ERR_USAGE); /* duplicate */
    obs.n_present = 1;
    obs.flavor = (exst_flavor)7;
    assert_int_equal(exst_history_observe(h, &obs, NULL, NULL, NULL),
                     EXST_ERR_USAGE);
    obs.flavor = NS;
    obs.valid_after = EXST_TIME_NONE;
    assert_int_equal(exst_history_observe(h, &obs, NULL, NULL, NULL),
                     EXST_ERR_USAGE);
    obs.valid_after = AT(0);
    obs.reset_after_s = -1;
    assert_int_equal(exst_history_observe(h, &obs, NULL, NULL, NULL),
                     EXST_ERR_USAGE);
    assert_int_equal(exst_history_processed(h), 0);
    assert_int_equal(exst_history_count(h), 0);
    assert_int_equal(exst_history_observe(NULL, &obs, NULL, NULL, NULL),
                     EXST_ERR_USAGE);
    exst_history_free(h);
}

/* ---- byte-level properties --------------------------------------------- */

/* Both flavours of hour 5 in either order give the same bytes.  ns lists
 * relays 0-4, md lacks 2 and adds 5; relay 3 was absent since hour 2 and
 * relay 6 leaves at hour 5 in both documents. */
static void flavour_orders(int w)
{
    exst_history *a = new_history(EXST_CLOCK_EXIT);
    exst_history *b = new_history(EXST_CLOCK_EXIT);
    exst_history *hs[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        observe_ok(hs[i], 0, NS, "012346", w, 0);
        observe_ok(hs[i], 1, NS, "012346", w, 0);
        observe_ok(hs[i], 2, NS, "01246", w, 0);
        observe_ok(hs[i], 3, NS, "01246", w, 0);
        observe_ok(hs[i], 4, NS, "01246", w, 0);
    }
    observe_ok(a, 5, MD, "01345", w, 0);
    observe_ok(a, 5, NS, "01234", w, 0);
    observe_ok(b, 5, NS, "01234", w, 0);
    observe_ok(b, 5, MD, "01345", w, 0);
    assert_bytes_equal(a, b);

    exst_record r;
    uint8_t id[20];
    make_id(id, 2);
    assert_true(exst_history_find(a, id, &r));
    assert_true(r.absence_start == EXST_TIME_NONE);
    assert_true(r.last_seen == AT(5));
    make_id(id, 3);
    assert_true(exst_history_find(a, id, &r));
    assert_true(r.run_start == (w <= 3 ? AT(5) : AT(0)));
    make_id(id, 6);
    assert_true(exst_history_find(a, id, &r));
    assert_true(r.absence_start == AT(5));
    make_id(id, 5);
    assert_true(exst_history_find(a, id, &r));
    assert_true(r.run_start == AT(5));

    /* The next hour with only one flavour, in both: still equal. */
    observe_ok(a, 6, NS, "0", w, 0);
    observe_ok(b, 6, NS, "0", w, 0);
    assert_bytes_equal(a, b);
    exst_history_free(a);
    exst_history_free(b);
}

static void test_flavour_order(void **state)
{
    (void)state;
    flavour_orders(24);
    flavour_orders(3);
    flavour_orders(0);
}

static void test_repeat_changes_nothing(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    observe_ok(h, 0, NS, "0123", 24, 48);
    observe_ok(h, 1, NS, "013", 24, 48);
    observe_ok(h, 1, MD, "01", 24, 48);
    uint8_t *before, *after;
    size_t lb, la;
    serialize(h, &before, &lb);
    for (int i = 0; i < 3; i++) {
        observe_ok(h, 1, NS, "013", 24, 48);
        observe_ok(h, 1, MD, "01", 24, 48);
    }
    serialize(h, &after, &la);
    assert_int_equal(la, lb);
    assert_memory_equal(before, after, la);
    exst_free(before);
    exst_free(after);
    exst_history_free(h);
}

static void test_older_refused(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    observe_ok(h, 16, NS, "01", 24, 0);
    observe_ok(h, 17, NS, "0", 24, 0);
    uint8_t *before, *after;
    size_t lb, la;
    serialize(h, &before, &lb);
    int64_t rs[4] = {7, 7, 7, 7};
    uint8_t ev[4] = {9, 9, 9, 9};
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(observe_ex(h, 16, MD, "012", 24, 0, rs, ev, &err),
                     EXST_ERR_ORDER);
    assert_int_equal(err.code, EXST_ERR_ORDER);
    assert_string_equal(err.message,
                        "consensus valid-after 2024-05-17 16:00:00 is older "
                        "than the history's newest, 2024-05-17 17:00:00");
    assert_true(rs[0] == 7 && ev[0] == 9); /* outputs untouched */
    serialize(h, &after, &la);
    assert_int_equal(la, lb);
    assert_memory_equal(before, after, la);
    exst_free(before);
    exst_free(after);
    exst_history_free(h);
}

/* A grandfather consensus (db init --grandfather): observe with
 * .grandfather set. */
static int grandfather_ex(exst_history *h, int hour, exst_flavor flavor,
                          const char *present, exst_error *err)
{
    uint8_t ids[MAX_RELAYS][20];
    size_t n = strlen(present);
    for (size_t i = 0; i < n; i++)
        make_id(ids[i], present[i] - '0');
    exst_observation obs = {.valid_after = AT(hour),
                            .flavor = flavor,
                            .present = (const uint8_t(*)[20])ids,
                            .n_present = n,
                            .reset_after_s = 24 * H,
                            .grandfather = 1};
    return exst_history_observe(h, &obs, NULL, NULL, err);
}

static void test_grandfather(void **state)
{
    (void)state;
    exst_history *h = new_history_default(EXST_CLOCK_EXIT);
    assert_int_equal(grandfather_ex(h, 0, MD, "01", NULL), EXST_OK);
    assert_true(exst_history_grandfathered(h));
    assert_int_equal(exst_history_processed(h), 1);
    assert_int_equal(exst_history_observed_since(h), AT(0));
    assert_int_equal(exst_history_newest(h), AT(0));
    assert_int_equal(exst_history_newest_flavors(h), 1u << MD);
    assert_int_equal(exst_history_count(h), 2);
    for (size_t i = 0; i < 2; i++) {
        exst_record r;
        uint8_t id[20];
        make_id(id, (int)i);
        exst_history_record_at(h, i, &r);
        assert_memory_equal(r.id, id, 20);
        assert_true(r.run_start == EXST_TIME_UNKNOWN);
        assert_true(r.absence_start == EXST_TIME_NONE);
        assert_true(r.last_seen == AT(0));
    }
    /* "db init --grandfather takes one or more consensuses, processes
     * them oldest first ... and grandfathers every relay present in any
     * of them": relay 2 joins 30 h later, relay 0 leaves, and both count
     * as graduated even though 30 h > W. */
    assert_int_equal(grandfather_ex(h, 30, MD, "12", NULL), EXST_OK);
    assert_int_equal(exst_history_processed(h), 2);
    exst_record r;
    uint8_t id[20];
    make_id(id, 2);
    assert_true(exst_history_find(h, id, &r));
    assert_true(r.run_start == EXST_TIME_UNKNOWN);
    make_id(id, 0);
    assert_true(exst_history_find(h, id, &r));
    assert_true(r.absence_start == AT(30));
    /* A relay back in a later grandfather consensus after W: still
     * graduated (no restart inside the grandfather set). */
    assert_int_equal(grandfather_ex(h, 60, MD, "012", NULL), EXST_OK);
    assert_true(exst_history_find(h, id, &r));
    assert_true(r.run_start == EXST_TIME_UNKNOWN);
    assert_true(r.absence_start == EXST_TIME_NONE);
    /* Older than the newest: refused like any consensus. */
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(grandfather_ex(h, 59, MD, "0", &err), EXST_ERR_ORDER);

    /* After the grandfather consensuses, o is the oldest of them (hour
     * 0): at hour 61 the window (o + 24 h) has passed, so a newcomer is
     * new; grandfathered relays keep the unknown start; a grandfathered
     * relay away for W restarts like any other. */
    int64_t rs[3];
    uint8_t ev[3];
    assert_int_equal(observe_ex(h, 61, NS, "023", 24, 0, rs, ev, NULL),
                     EXST_OK);
    assert_true(rs[0] == EXST_TIME_UNKNOWN);
    assert_int_equal(ev[0], EXST_RUN_CONTINUED);
    assert_true(rs[2] == AT(61));
    assert_int_equal(ev[2], EXST_RUN_NEW);
    assert_int_equal(observe_ex(h, 86, NS, "1", 24, 0, rs, ev, NULL),
                     EXST_OK);
    assert_true(rs[0] == AT(86));
    assert_int_equal(ev[0], EXST_RUN_RESTARTED);

    /* It survives a round trip. */
    uint8_t *buf;
    size_t len;
    serialize(h, &buf, &len);
    exst_history *back = NULL;
    assert_int_equal(exst_history_deserialize(&back, buf, len, "g", NULL),
                     EXST_OK);
    assert_true(exst_history_grandfathered(back));
    assert_bytes_equal(h, back);
    exst_free(buf);
    exst_history_free(back);
    exst_history_free(h);

    /* "--bootstrap none" with grandfather consensuses: the consensuses'
     * relays are graduated, anyone first seen afterwards is new, even
     * within W of o. */
    h = new_history(EXST_CLOCK_EXIT);
    assert_int_equal(exst_history_set_bootstrap(h, EXST_BOOTSTRAP_NONE),
                     EXST_OK);
    assert_int_equal(grandfather_ex(h, 0, NS, "0", NULL), EXST_OK);
    assert_int_equal(observe_ex(h, 1, NS, "01", 24, 0, rs, ev, NULL),
                     EXST_OK);
    assert_true(rs[0] == EXST_TIME_UNKNOWN);
    assert_true(rs[1] == AT(1));
    assert_int_equal(ev[1], EXST_RUN_NEW);
    /* The rule cannot change once a consensus was processed. */
    assert_int_equal(exst_history_set_bootstrap(h, EXST_BOOTSTRAP_GRANDFATHER),
                     EXST_ERR_USAGE);
    exst_history_free(h);
}

/* SPEC 3.7: the window uses the W in effect for each consensus. */
static void test_window_uses_each_consensus_w(void **state)
{
    (void)state;
    exst_history *h = new_history_default(EXST_CLOCK_EXIT);
    int64_t rs[3];
    uint8_t ev[3];
    observe_ok(h, 0, NS, "0", 24, 0);
    /* Hour 10, W 6 h for this consensus: 10 >= 0 + 6, relay 1 is new. */
    assert_int_equal(observe_ex(h, 10, NS, "01", 6, 0, rs, ev, NULL),
                     EXST_OK);
    assert_int_equal(ev[1], EXST_RUN_NEW);
    /* Hour 11, W 12 h again: 11 < 12, relay 2 is grandfathered. */
    assert_int_equal(observe_ex(h, 11, NS, "012", 12, 0, rs, ev, NULL),
                     EXST_OK);
    assert_int_equal(ev[2], EXST_RUN_GRANDFATHERED);
    assert_true(rs[2] == EXST_TIME_UNKNOWN);
    exst_history_free(h);
}

/* SPEC 3.7 phases and warming up, for both bootstrap rules. */
static void test_phases(void **state)
{
    (void)state;
    const int64_t P = 4 * 24 * H, W = 24 * H;
    exst_history *h = new_history_default(EXST_CLOCK_EXIT);
    /* Nothing processed: t counts as o. */
    assert_int_equal(exst_history_phase(h, AT(5), P, W), EXST_PHASE_BOOTSTRAP);
    observe_ok(h, 0, NS, "0", 24, 0);
    assert_int_equal(exst_history_phase(h, AT(0), P, W), EXST_PHASE_BOOTSTRAP);
    assert_int_equal(exst_history_phase(h, AT(23), P, W),
                     EXST_PHASE_BOOTSTRAP);
    assert_int_equal(exst_history_phase(h, AT(24), P, W), EXST_PHASE_RAMP);
    assert_int_equal(exst_history_phase(h, AT(119), P, W), EXST_PHASE_RAMP);
    assert_int_equal(exst_history_phase(h, AT(120), P, W), EXST_PHASE_STEADY);
    assert_int_equal(exst_history_phase(h, AT(120), P, 0), EXST_PHASE_STEADY);
    assert_int_equal(exst_history_phase(h, AT(0), 0, 0), EXST_PHASE_STEADY);
    assert_string_equal(exst_phase_name(EXST_PHASE_BOOTSTRAP), "bootstrap");
    assert_string_equal(exst_phase_name(EXST_PHASE_RAMP), "ramp");
    assert_string_equal(exst_phase_name(EXST_PHASE_STEADY), "steady");
    exst_history_free(h);

    h = new_history(EXST_CLOCK_EXIT);
    assert_int_equal(exst_history_set_bootstrap(h, EXST_BOOTSTRAP_NONE),
                     EXST_OK);
    observe_ok(h, 0, NS, "0", 24, 0);
    assert_int_equal(exst_history_phase(h, AT(0), P, W), EXST_PHASE_RAMP);
    assert_int_equal(exst_history_phase(h, AT(95), P, W), EXST_PHASE_RAMP);
    assert_int_equal(exst_history_phase(h, AT(96), P, W), EXST_PHASE_STEADY);
    exst_history_free(h);
}

/* exst_history_undo takes back exactly one observe. */
static void test_undo(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    assert_int_equal(exst_history_undo(h), EXST_ERR_USAGE);
    observe_ok(h, 0, NS, "01", 24, 48);
    uint8_t *before, *after;
    size_t lb, la;
    serialize(h, &before, &lb);
    observe_ok(h, 1, NS, "12", 24, 48);
    assert_int_equal(exst_history_undo(h), EXST_OK);
    serialize(h, &after, &la);
    assert_int_equal(la, lb);
    assert_memory_equal(before, after, la);
    assert_int_equal(exst_history_undo(h), EXST_ERR_USAGE); /* one step */
    /* The undone document can be processed again, with the same result as
     * a history that never saw the undo. */
    observe_ok(h, 1, NS, "12", 24, 48);
    exst_history *g = new_history(EXST_CLOCK_EXIT);
    observe_ok(g, 0, NS, "01", 24, 48);
    observe_ok(g, 1, NS, "12", 24, 48);
    assert_bytes_equal(h, g);
    exst_free(before);
    exst_free(after);
    exst_history_free(g);
    exst_history_free(h);
}

/* A small deterministic generator, so runs are reproducible. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Feed a pseudo-random sequence; check every state round-trips. */
static void random_sequence(exst_history *h, uint32_t seed, int hours,
                            bool check)
{
    uint32_t s = seed;
    int hour = 0;
    for (int i = 0; i < hours; i++) {
        hour += 1 + (lcg(&s) % 7 == 0 ? (int)(lcg(&s) % 30) : 0);
        char present[MAX_RELAYS + 1];
        size_t n = 0;
        for (int r = 0; r < MAX_RELAYS; r++)
            if (lcg(&s) % 3 != 0)
                present[n++] = (char)('0' + r);
        present[n] = '\0';
        const int w = (int)(lcg(&s) % 12);
        const int ret = lcg(&s) % 4 == 0 ? 0 : w + (int)(lcg(&s) % 30);
        const int both = lcg(&s) % 2;
        observe_ok(h, hour, NS, present, w, ret);
        if (both) {
            if (n > 0)
                memmove(present + lcg(&s) % n, present + n - 1, 2);
            observe_ok(h, hour, MD, present, w, ret);
        }
        if (check) {
            uint8_t *buf, *again;
            size_t len, len2;
            serialize(h, &buf, &len);
            exst_history *back = NULL;
            exst_error err;
            exst_error_clear(&err);
            int rc = exst_history_deserialize(&back, buf, len, "r", &err);
            if (rc != EXST_OK)
                print_error("step %d: %s\n", i, err.message);
            assert_int_equal(rc, EXST_OK);
            serialize(back, &again, &len2);
            assert_int_equal(len, len2);
            assert_memory_equal(buf, again, len);
            exst_free(buf);
            exst_free(again);
            exst_history_free(back);
        }
    }
}

static void test_determinism_and_round_trip(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 5; seed++) {
        exst_history *a = new_history(EXST_CLOCK_EXIT);
        exst_history *b = new_history(EXST_CLOCK_EXIT);
        random_sequence(a, seed, 300, true);
        random_sequence(b, seed, 300, false);
        assert_bytes_equal(a, b);
        exst_history_free(a);
        exst_history_free(b);
    }
}

static void test_empty_round_trip(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_RELAY);
    uint8_t *buf;
    size_t len;
    serialize(h, &buf, &len);
    assert_int_equal(len, EXSTP_HISTORY_HEADER_SIZE +
                              EXSTP_HISTORY_CHECKSUM_SIZE);
    assert_memory_equal(buf, EXSTP_HISTORY_MAGIC, 8);
    exst_history *back = NULL;
    assert_int_equal(exst_history_deserialize(&back, buf, len, "e", NULL),
                     EXST_OK);
    assert_int_equal(exst_history_clock(back), EXST_CLOCK_RELAY);
    assert_true(exst_history_newest(back) == EXST_TIME_NONE);
    exst_free(buf);
    exst_history_free(back);
    exst_history_free(h);
}

static void test_record_size(void **state)
{
    (void)state;
    /* The size claim of SPEC 4.4: 40,000 records (30 days of churn on
     * the live network) in well under 5 MB. */
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    observe_ok(h, 0, NS, "0123", 24, 0);
    uint8_t *buf;
    size_t len;
    serialize(h, &buf, &len);
    assert_int_equal(len, 72 + 4 * 44 + 32);
    assert_true(72 + (size_t)40000 * EXSTP_HISTORY_RECORD_SIZE + 32 <
                (size_t)5 << 20);
    exst_free(buf);
    exst_history_free(h);
}

/* ---- integrity --------------------------------------------------------- */

static exst_history *sample_history(void)
{
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    observe_ok(h, 0, NS, "0123", 24, 0);
    observe_ok(h, 1, NS, "013", 24, 0);
    observe_ok(h, 1, MD, "01", 24, 0);
    return h;
}

static void test_every_flipped_byte(void **state)
{
    (void)state;
    exst_history *h = sample_history();
    uint8_t *buf;
    size_t len;
    serialize(h, &buf, &len);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            exst_history *back = (exst_history *)&back; /* must be reset */
            exst_error err;
            exst_error_clear(&err);
            int rc = exst_history_deserialize(&back, buf, len, "h.db", &err);
            if (rc != EXST_ERR_DB)
                print_error("byte %zu bit %d: rc %d\n", i, bit, rc);
            assert_int_equal(rc, EXST_ERR_DB);
            assert_null(back);
            assert_int_equal(err.code, EXST_ERR_DB);
            assert_non_null(strstr(err.message, "history 'h.db' "));
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* A flip in the body (not magic, version or sizes) is a checksum
     * mismatch, said so. */
    buf[EXSTP_HISTORY_HEADER_SIZE + 3] ^= 1;
    exst_history *back = NULL;
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_history_deserialize(&back, buf, len, "h.db", &err),
                     EXST_ERR_DB);
    assert_string_equal(err.message,
                        "history 'h.db' is corrupt: checksum mismatch");
    buf[0] ^= 1;
    assert_int_equal(exst_history_deserialize(&back, buf, len, "h.db", &err),
                     EXST_ERR_DB);
    assert_string_equal(err.message,
                        "history 'h.db' is not an exitstage history "
                        "(bad magic)");
    exst_free(buf);
    exst_history_free(h);
}

static void test_every_truncation(void **state)
{
    (void)state;
    exst_history *h = sample_history();
    uint8_t *buf;
    size_t len;
    serialize(h, &buf, &len);
    for (size_t n = 0; n < len; n++) {
        /* A fresh copy of exactly n bytes, so ASan sees any over-read. */
        uint8_t *cut = malloc(n ? n : 1);
        assert_non_null(cut);
        memcpy(cut, buf, n);
        exst_history *back = NULL;
        exst_error err;
        exst_error_clear(&err);
        assert_int_equal(exst_history_deserialize(&back, cut, n, "h.db",
                                                  &err),
                         EXST_ERR_DB);
        assert_null(back);
        if (n == 0)
            assert_string_equal(err.message, "history 'h.db' is empty");
        else if (n < len - 32)
            assert_non_null(strstr(err.message, "is truncated"));
        free(cut);
    }
    /* Trailing garbage is refused as well. */
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    longer[len] = 0;
    exst_history *back = NULL;
    assert_int_equal(exst_history_deserialize(&back, longer, len + 1, "h.db",
                                              NULL),
                     EXST_ERR_DB);
    free(longer);
    exst_free(buf);
    exst_history_free(h);
}

/* Rewrite the checksum after tampering, as an attacker (or a bug) could. */
static void reseal(uint8_t *buf, size_t len)
{
    crypto_generichash(buf + len - 32, 32, buf, len - 32, NULL, 0);
}

static void expect_db(const uint8_t *buf, size_t len, const char *needle)
{
    exst_history *back = NULL;
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_history_deserialize(&back, buf, len, "x", &err),
                     EXST_ERR_DB);
    assert_null(back);
    if (strstr(err.message, needle) == NULL)
        print_error("message '%s' lacks '%s'\n", err.message, needle);
    assert_non_null(strstr(err.message, needle));
}

static void test_values_checked_behind_checksum(void **state)
{
    (void)state;
    exst_history *h = sample_history();
    uint8_t *buf;
    size_t len;
    serialize(h, &buf, &len);
    uint8_t *t = malloc(len);
    assert_non_null(t);
    const size_t r0 = EXSTP_HISTORY_HEADER_SIZE, rsz = 44;

    /* Records swapped: out of order. */
    memcpy(t, buf, len);
    memcpy(t + r0, buf + r0 + rsz, rsz);
    memcpy(t + r0 + rsz, buf + r0, rsz);
    reseal(t, len);
    expect_db(t, len, "out of order");

    /* A duplicate record. */
    memcpy(t, buf, len);
    memcpy(t + r0 + rsz, buf + r0, rsz);
    reseal(t, len);
    expect_db(t, len, "out of order");

    /* Unknown clock, unknown flag bits, other version. */
    memcpy(t, buf, len);
    t[12] = 2;
    reseal(t, len);
    expect_db(t, len, "unknown clock");
    memcpy(t, buf, len);
    t[13] = 0x80;
    reseal(t, len);
    expect_db(t, len, "unknown flags");
    memcpy(t, buf, len);
    t[8] = 3;
    reseal(t, len);
    expect_db(t, len, "format version 3; this build reads versions 1 to 2");

    /* The policy fields: beyond 30 days, or negative. */
    memcpy(t, buf, len);
    for (int i = 0; i < 8; i++)
        t[56 + i] = (uint8_t)((INT64_C(30) * 86400 + 1) >> (8 * i));
    reseal(t, len);
    expect_db(t, len, "staging period out of range");
    memcpy(t, buf, len);
    t[64 + 7] = 0x80;
    t[64] = 5;
    reseal(t, len);
    expect_db(t, len, "reset window out of range");

    /* A run start after last seen, an unknown start without
     * grandfathering, a last-seen after the newest. */
    memcpy(t, buf, len);
    t[r0 + 20 + 1] ^= 0x40; /* run_start += 16384 s */
    reseal(t, len);
    expect_db(t, len, "run start out of range");
    memcpy(t, buf, len);
    for (int i = 0; i < 8; i++)
        t[r0 + 20 + i] = i == 0 ? 1 : i == 7 ? 0x80 : 0;
    reseal(t, len);
    expect_db(t, len, "not grandfathered");
    memcpy(t, buf, len);
    t[r0 + 36 + 2] ^= 0x10;
    reseal(t, len);
    expect_db(t, len, "last-seen");

    /* newest before observed_since. */
    memcpy(t, buf, len);
    memcpy(t + 24, buf + 16, 8);
    memcpy(t + 16, buf + 24, 8);
    reseal(t, len);
    expect_db(t, len, "inconsistent header");

    /* Record count lying upward and downward. */
    memcpy(t, buf, len);
    t[40] = (uint8_t)(t[40] + 1);
    reseal(t, len);
    expect_db(t, len, "truncated");
    memcpy(t, buf, len);
    t[47] = 0xFF;
    reseal(t, len);
    expect_db(t, len, "truncated");
    memcpy(t, buf, len);
    t[40] = (uint8_t)(t[40] - 1);
    reseal(t, len);
    expect_db(t, len, "corrupt");

    free(t);
    exst_free(buf);
    exst_history_free(h);
}

/* ---- files ------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup_dir(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    const char *tmp = "/tmp";
    snprintf(f->dir, sizeof f->dir, "%s/exst-hist-XXXXXX", tmp);
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/h.db", f->dir);
    *state = f;
    return 0;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char *sub = tu_path(path, de->d_name);
            if (sub != NULL)
                remove_tree(sub);
            free(sub);
        }
        if (d != NULL)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int teardown_dir(void **state)
{
    fixture *f = *state;
    exstp_history_fail_write_after(-1);
    exstp_alloc_fail_after(-1);
    remove_tree(f->dir);
    free(f);
    return 0;
}

/* Number of entries in dir other than . and .., and whether any is a
 * temporary file of ours. */
static size_t count_entries(const char *dir, bool *has_tmp)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    *has_tmp = false;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        n++;
        if (strstr(de->d_name, ".tmp.") != NULL)
            *has_tmp = true;
    }
    closedir(d);
    return n;
}

static void save_ok(const exst_history *h, const char *path)
{
    exst_error err;
    exst_error_clear(&err);
    int rc = exst_history_save(h, path, &err);
    if (rc != EXST_OK)
        print_error("save: %s\n", err.message);
    assert_int_equal(rc, EXST_OK);
}

static void assert_file_is(const char *path, const exst_history *h)
{
    char *disk;
    size_t dlen;
    uint8_t *mem;
    size_t mlen;
    assert_int_equal(tu_read_file(path, &disk, &dlen), 0);
    serialize(h, &mem, &mlen);
    assert_int_equal(dlen, mlen);
    assert_memory_equal(disk, mem, mlen);
    free(disk);
    exst_free(mem);
}

static void test_save_load(void **state)
{
    fixture *f = *state;
    exst_history *h = sample_history();
    save_ok(h, f->path);
    assert_file_is(f->path, h);
    exst_history *back = NULL;
    assert_int_equal(exst_history_load(&back, f->path, NULL), EXST_OK);
    assert_bytes_equal(h, back);
    exst_history_free(back);

    /* Saving again replaces the file, keeps the one it replaced as
     * PATH.prev (SPEC 4.4 0.2), and leaves nothing else behind. */
    exst_history *first = sample_history();
    observe_ok(h, 2, NS, "2", 24, 0);
    save_ok(h, f->path);
    assert_file_is(f->path, h);
    char *prev = tu_path(f->dir, "h.db.prev");
    assert_file_is(prev, first);
    bool has_tmp;
    assert_int_equal(count_entries(f->dir, &has_tmp), 2);
    assert_false(has_tmp);
    /* One step only: the next save moves .prev along. */
    exst_history *second = sample_history();
    observe_ok(second, 2, NS, "2", 24, 0);
    observe_ok(h, 3, NS, "2", 24, 0);
    save_ok(h, f->path);
    assert_file_is(prev, second);
    assert_int_equal(count_entries(f->dir, &has_tmp), 2);
    free(prev);
    exst_history_free(first);
    exst_history_free(second);

    /* A relative path (no directory part) works too. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    save_ok(h, "rel.db");
    assert_int_equal(exst_history_load(&back, "rel.db", NULL), EXST_OK);
    exst_history_free(back);
    assert_int_equal(chdir(cwd), 0);
    exst_history_free(h);
}

static void test_load_errors(void **state)
{
    fixture *f = *state;
    exst_history *h = (exst_history *)f; /* must be reset to NULL */
    exst_error err;
    exst_error_clear(&err);

    /* Missing. */
    assert_int_equal(exst_history_load(&h, f->path, &err), EXST_ERR_IO);
    assert_null(h);
    assert_int_equal(err.code, EXST_ERR_IO);
    assert_non_null(strstr(err.message, "no such file"));
    assert_non_null(strstr(err.message, f->path));

    /* A directory in its place: load and save both refuse. */
    assert_int_equal(mkdir(f->path, 0755), 0);
    exst_error_clear(&err);
    int rc = exst_history_load(&h, f->path, &err);
    assert_true(rc == EXST_ERR_IO || rc == EXST_ERR_DB);
    assert_non_null(strstr(err.message, "is a directory"));
    exst_history *s = sample_history();
    exst_error_clear(&err);
    assert_int_equal(exst_history_save(s, f->path, &err), EXST_ERR_IO);
    assert_non_null(strstr(err.message, "directory"));
    bool has_tmp;
    assert_int_equal(count_entries(f->dir, &has_tmp), 1);
    assert_false(has_tmp);
    assert_int_equal(rmdir(f->path), 0);

    /* A FIFO in its place is refused at once, not waited on. */
    assert_int_equal(mkfifo(f->path, 0600), 0);
    exst_error_clear(&err);
    assert_int_equal(exst_history_load(&h, f->path, &err), EXST_ERR_IO);
    assert_non_null(strstr(err.message, "not a regular file"));
    assert_int_equal(unlink(f->path), 0);

    /* Empty file. */
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    fclose(fp);
    exst_error_clear(&err);
    assert_int_equal(exst_history_load(&h, f->path, &err), EXST_ERR_DB);
    assert_null(h);
    char want[256];
    snprintf(want, sizeof want, "history '%s' is empty", f->path);
    assert_string_equal(err.message, want);
    assert_string_equal(err.source, f->path);

    /* Not ours. */
    fp = fopen(f->path, "wb");
    assert_non_null(fp);
    fputs("network-status-version 3\n", fp);
    fclose(fp);
    assert_int_equal(exst_history_load(&h, f->path, &err), EXST_ERR_DB);
    assert_non_null(strstr(err.message, "bad magic"));
    exst_history_free(s);
}

/* Loading never writes: bytes and mtime are as before, for a good file
 * and for a corrupt one. */
static void test_load_never_modifies(void **state)
{
    fixture *f = *state;
    exst_history *h = sample_history();
    for (int corrupt = 0; corrupt < 2; corrupt++) {
        save_ok(h, f->path);
        if (corrupt) {
            FILE *fp = fopen(f->path, "r+b");
            assert_non_null(fp);
            assert_int_equal(fseek(fp, 60, SEEK_SET), 0);
            fputc('!', fp);
            fclose(fp);
        }
        /* Back-date the file so a write would surely show. */
        struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
        assert_int_equal(utimensat(AT_FDCWD, f->path, times, 0), 0);
        struct stat before, after;
        char *b1, *b2;
        size_t l1, l2;
        assert_int_equal(stat(f->path, &before), 0);
        assert_int_equal(tu_read_file(f->path, &b1, &l1), 0);
        exst_history *back = NULL;
        int rc = exst_history_load(&back, f->path, NULL);
        assert_int_equal(rc, corrupt ? EXST_ERR_DB : EXST_OK);
        exst_history_free(back);
        assert_int_equal(stat(f->path, &after), 0);
        assert_int_equal(tu_read_file(f->path, &b2, &l2), 0);
        assert_int_equal(l1, l2);
        assert_memory_equal(b1, b2, l1);
        assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec);
        assert_true(before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
        assert_true(before.st_ino == after.st_ino);
        free(b1);
        free(b2);
    }
    exst_history_free(h);
}

static void test_save_write_failure(void **state)
{
    fixture *f = *state;
    exst_history *old = sample_history();
    exst_history *next = sample_history();
    observe_ok(next, 2, NS, "0123", 24, 0);
    save_ok(old, f->path);
    uint8_t *nb;
    size_t nlen;
    serialize(next, &nb, &nlen);
    exst_free(nb);

    const long points[] = {0, 1, 8, 55, 56, 100, (long)nlen - 32,
                           (long)nlen - 1};
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        exstp_history_fail_write_after(points[i]);
        exst_error err;
        exst_error_clear(&err);
        int rc = exst_history_save(next, f->path, &err);
        exstp_history_fail_write_after(-1);
        assert_int_equal(rc, EXST_ERR_IO);
        assert_int_equal(err.code, EXST_ERR_IO);
        assert_non_null(strstr(err.message, "no space left on device"));
        assert_non_null(strstr(err.message, f->path));
        assert_file_is(f->path, old);
        bool has_tmp;
        assert_int_equal(count_entries(f->dir, &has_tmp), 1);
        assert_false(has_tmp);
    }
    /* With the hook off the same save succeeds. */
    save_ok(next, f->path);
    assert_file_is(f->path, next);

    /* A save into a missing directory fails cleanly. */
    char bad[200];
    snprintf(bad, sizeof bad, "%s/nodir/h.db", f->dir);
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_history_save(next, bad, &err), EXST_ERR_IO);
    assert_non_null(strstr(err.message, "no such file"));
    exst_history_free(old);
    exst_history_free(next);
}

/* A child saves two histories in turn until it is killed; whatever the
 * moment, the file is one of them, whole. */
static void test_kill_during_save(void **state)
{
    fixture *f = *state;
    exst_history *a = sample_history();
    exst_history *b = new_history(EXST_CLOCK_EXIT);
    random_sequence(b, 42, 200, false);
    uint8_t *ab, *bb;
    size_t al, bl;
    serialize(a, &ab, &al);
    serialize(b, &bb, &bl);
    save_ok(a, f->path);
    uint32_t s = 12345;
    int saw_a = 0, saw_b = 0;
    for (int iter = 0; iter < 50; iter++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (unsigned long k = 0;; k++)
                if (exst_history_save(k % 2 ? a : b, f->path, NULL) !=
                    EXST_OK)
                    _exit(3);
        }
        usleep(lcg(&s) % 20000);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));

        char *disk;
        size_t dlen;
        assert_int_equal(tu_read_file(f->path, &disk, &dlen), 0);
        if (dlen == al && memcmp(disk, ab, al) == 0)
            saw_a++;
        else if (dlen == bl && memcmp(disk, bb, bl) == 0)
            saw_b++;
        else
            fail_msg("iteration %d: the file is neither version", iter);
        free(disk);
        exst_history *back = NULL;
        assert_int_equal(exst_history_load(&back, f->path, NULL), EXST_OK);
        exst_history_free(back);

        /* A killed writer may leave its temporary file: remove it, as an
         * operator (or the next run's housekeeping) would. */
        DIR *d = opendir(f->dir);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strstr(de->d_name, ".tmp.") != NULL) {
                char *p = tu_path(f->dir, de->d_name);
                unlink(p);
                free(p);
            }
        }
        closedir(d);
    }
    print_message("kill test: %d times version a, %d times version b\n",
                  saw_a, saw_b);
    exst_free(ab);
    exst_free(bb);
    exst_history_free(a);
    exst_history_free(b);
}

/* ---- JSON -------------------------------------------------------------- */

static void test_dump_json(void **state)
{
    (void)state;
    exst_history *h = new_history(EXST_CLOCK_EXIT);
    char *json = NULL;
    assert_int_equal(exst_history_dump_json(&json, h, NULL, 0, NULL),
                     EXST_OK);
    assert_string_equal(json, "{\n"
                              "  \"clock\": \"exit\",\n"
                              "  \"grandfathered\": false,\n"
                              "  \"newest\": null,\n"
                              "  \"observed_since\": null,\n"
                              "  \"processed\": 0,\n"
                              "  \"relays\": [],\n"
                              "  \"schema_version\": 1\n"
                              "}\n");
    exst_free(json);

    observe_ok(h, 17, NS, "01", 24, 0);
    observe_ok(h, 18, NS, "1", 24, 0);
    assert_int_equal(exst_history_dump_json(&json, h, NULL, 0, NULL),
                     EXST_OK);
    assert_string_equal(
        json, "{\n"
              "  \"clock\": \"exit\",\n"
              "  \"grandfathered\": false,\n"
              "  \"newest\": \"2024-05-17T18:00:00Z\",\n"
              "  \"observed_since\": \"2024-05-17T17:00:00Z\",\n"
              "  \"processed\": 2,\n"
              "  \"relays\": [\n"
              "    {\n"
              "      \"absence_start\": \"2024-05-17T18:00:00Z\",\n"
              "      \"fingerprint\": "
              "\"10A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3\",\n"
              "      \"last_seen\": \"2024-05-17T17:00:00Z\",\n"
              "      \"run_start\": \"2024-05-17T17:00:00Z\"\n"
              "    },\n"
              "    {\n"
              "      \"absence_start\": null,\n"
              "      \"fingerprint\": "
              "\"11A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6\",\n"
              "      \"last_seen\": \"2024-05-17T18:00:00Z\",\n"
              "      \"run_start\": \"2024-05-17T17:00:00Z\"\n"
              "    }\n"
              "  ],\n"
              "  \"schema_version\": 1\n"
              "}\n");
    exst_free(json);

    /* Selected identities, in the order asked, unknown ones flagged. */
    uint8_t ids[2][20];
    make_id(ids[0], 5);
    make_id(ids[1], 1);
    assert_int_equal(exst_history_dump_json(
                         &json, h, (const uint8_t(*)[20])ids, 2, NULL),
                     EXST_OK);
    assert_non_null(strstr(
        json, "  \"relays\": [\n"
              "    {\n"
              "      \"fingerprint\": "
              "\"15B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1C2\",\n"
              "      \"found\": false\n"
              "    },\n"
              "    {\n"
              "      \"absence_start\": null,\n"
              "      \"fingerprint\": "
              "\"11A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6\",\n"
              "      \"found\": true,\n"));
    exst_free(json);
    exst_history_free(h);

    /* Grandfathered: run_start null, clock relay. */
    h = new_history(EXST_CLOCK_RELAY);
    uint8_t one[1][20];
    make_id(one[0], 0);
    exst_observation obs = {.valid_after = AT(0),
                            .present = (const uint8_t(*)[20])one,
                            .n_present = 1};
    assert_int_equal((obs.grandfather = 1, exst_history_observe(h, &obs, NULL, NULL, NULL)), EXST_OK);
    assert_int_equal(exst_history_dump_json(&json, h, NULL, 0, NULL),
                     EXST_OK);
    assert_non_null(strstr(json, "\"clock\": \"relay\""));
    assert_non_null(strstr(json, "\"grandfathered\": true"));
    assert_non_null(strstr(json, "\"run_start\": null"));
    exst_free(json);
    exst_history_free(h);
}

/* ---- lock -------------------------------------------------------------- */

/* In a child: try the lock with wait_s; exit 0 if rc is want. */
static pid_t try_lock_in_child(const char *path, double wait_s, int want)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        exst_lock *l = NULL;
        exst_error err;
        exst_error_clear(&err);
        int rc = exst_lock_acquire(&l, path, wait_s, NULL, &err);
        if (rc != want)
            _exit(10 + rc);
        if (rc == EXST_ERR_LOCKED) {
            char msg[300];
            snprintf(msg, sizeof msg,
                     "database '%s' is locked by another exitstage process "
                     "(pid %ld, lock file '%s.lock')",
                     path, (long)getppid(), path);
            if (strcmp(err.message, msg) != 0 || l != NULL)
                _exit(2);
        }
        exst_lock_release(l);
        _exit(0);
    }
    return pid;
}

static int child_status(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_lock(void **state)
{
    fixture *f = *state;
    exst_lock *l = NULL;
    assert_int_equal(exst_lock_acquire(&l, f->path, 0, NULL, NULL), EXST_OK);
    assert_non_null(l);

    /* Another process, no wait: locked. */
    assert_int_equal(child_status(try_lock_in_child(f->path, 0,
                                                    EXST_ERR_LOCKED)),
                     0);
    /* The same process a second time is a second writer too. */
    exst_lock *l2 = (exst_lock *)f;
    assert_int_equal(exst_lock_acquire(&l2, f->path, 0, NULL, NULL),
                     EXST_ERR_LOCKED);
    assert_null(l2);

    /* A bounded wait that runs out. */
    double t0 = mono_now();
    assert_int_equal(child_status(try_lock_in_child(f->path, 0.3,
                                                    EXST_ERR_LOCKED)),
                     0);
    assert_true(mono_now() - t0 >= 0.29);

    exst_lock_release(l);
    l = NULL;

    /* A wait that succeeds once the holder lets go, bounded and not.  The
     * holder is a child: a child forked while this process held the lock
     * would share its open file, and with it the flock. */
    for (int forever = 0; forever < 2; forever++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            exst_lock *held = NULL;
            if (exst_lock_acquire(&held, f->path, 0, NULL, NULL) != EXST_OK)
                _exit(1);
            if (write(fds[1], "x", 1) != 1)
                _exit(2);
            usleep(300000);
            exst_lock_release(held);
            _exit(0);
        }
        char c;
        assert_int_equal(read(fds[0], &c, 1), 1);
        close(fds[0]);
        close(fds[1]);
        t0 = mono_now();
        exst_error err;
        exst_error_clear(&err);
        int rc = exst_lock_acquire(&l, f->path, forever ? -1.0 : 10.0, NULL, &err);
        if (rc != EXST_OK)
            print_error("lock: %s\n", err.message);
        assert_int_equal(rc, EXST_OK);
        assert_true(mono_now() - t0 >= 0.1);
        assert_int_equal(child_status(pid), 0);
        exst_lock_release(l);
        l = NULL;
    }
    exst_lock_release(NULL);
    /* Released: free for anyone, and the database file was not made. */
    assert_int_equal(child_status(try_lock_in_child(f->path, 0, EXST_OK)),
                     0);
    struct stat st;
    assert_int_equal(stat(f->path, &st), -1);

    /* A lock in a missing directory is an I/O error. */
    char bad[200];
    snprintf(bad, sizeof bad, "%s/nodir/h.db", f->dir);
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_lock_acquire(&l, bad, 0, NULL, &err), EXST_ERR_IO);
    assert_non_null(strstr(err.message, "no such file"));
    assert_non_null(strstr(err.message, "nodir/h.db.lock"));
}

/* The lock error names the lock file and the holder's process id; the
 * lock file is never opened through a symbolic link; a wait ends when
 * the caller's interrupt flag is set. */
static void test_lock_details(void **state)
{
    fixture *f = *state;
    int fds[2], back[2]; /* child to parent, parent to child */
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(pipe(back), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        exst_lock *held = NULL;
        if (exst_lock_acquire(&held, f->path, 0, NULL, NULL) != EXST_OK)
            _exit(1);
        if (write(fds[1], "x", 1) != 1)
            _exit(2);
        char c;
        (void)!read(back[0], &c, 1); /* until the parent is done */
        _exit(0);
    }
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1);
    exst_lock *l = NULL;
    exst_error err;
    exst_error_clear(&err);
    assert_int_equal(exst_lock_acquire(&l, f->path, 0, NULL, &err),
                     EXST_ERR_LOCKED);
    char want[512];
    snprintf(want, sizeof want,
             "database '%s' is locked by another exitstage process (pid "
             "%ld, lock file '%s.lock')",
             f->path, (long)pid, f->path);
    assert_string_equal(err.message, want);
    /* Interrupted while waiting (forever). */
    volatile int flag = 1;
    exst_error_clear(&err);
    assert_int_equal(exst_lock_acquire(&l, f->path, -1, &flag, &err),
                     EXST_ERR_INTERRUPTED);
    assert_null(l);
    assert_int_equal(write(back[1], "y", 1), 1);
    assert_int_equal(child_status(pid), 0);
    close(fds[0]);
    close(fds[1]);
    close(back[0]);
    close(back[1]);

    /* A symbolic link planted as the lock file: refused, and its target
     * is not created. */
    char db2[300], lk[310], target[300];
    snprintf(db2, sizeof db2, "%s/s.db", f->dir);
    snprintf(lk, sizeof lk, "%s/s.db.lock", f->dir);
    snprintf(target, sizeof target, "%s/victim", f->dir);
    assert_int_equal(symlink(target, lk), 0);
    exst_error_clear(&err);
    assert_int_equal(exst_lock_acquire(&l, db2, 0, NULL, &err), EXST_ERR_IO);
    assert_non_null(strstr(err.message, "is a symbolic link"));
    struct stat st;
    assert_int_equal(lstat(target, &st), -1);
    unlink(lk);
}

/* ---- out of memory ----------------------------------------------------- */

static void test_oom_observe(void **state)
{
    (void)state;
    exst_history *h = sample_history();
    uint8_t *before;
    size_t lb;
    serialize(h, &before, &lb);
    int failures = 0;
    for (long n = 0;; n++) {
        exstp_alloc_fail_after(n);
        int rc = observe_ex(h, 2, NS, "0245", 24, 0, NULL, NULL, NULL);
        exstp_alloc_fail_after(-1);
        if (rc == EXST_OK)
            break;
        assert_int_equal(rc, EXST_ERR_NOMEM);
        failures++;
        uint8_t *now;
        size_t ln;
        serialize(h, &now, &ln); /* unchanged by the failure */
        assert_int_equal(ln, lb);
        assert_memory_equal(now, before, lb);
        exst_free(now);
    }
    assert_true(failures > 0);
    exst_free(before);
    exst_history_free(h);

    /* new and grandfather. */
    for (long n = 0;; n++) {
        exstp_alloc_fail_after(n);
        exst_history *g = NULL;
        int rc = exst_history_new(&g, EXST_CLOCK_EXIT);
        if (rc == EXST_OK) {
            uint8_t ids[1][20];
            make_id(ids[0], 0);
            exst_observation obs = {.valid_after = AT(0),
                                    .present = (const uint8_t(*)[20])ids,
                                    .n_present = 1};
            obs.grandfather = 1;
            rc = exst_history_observe(g, &obs, NULL, NULL, NULL);
            if (rc != EXST_OK)
                assert_int_equal(exst_history_count(g), 0);
        } else {
            assert_null(g);
        }
        exstp_alloc_fail_after(-1);
        exst_history_free(g);
        if (rc == EXST_OK)
            break;
        assert_int_equal(rc, EXST_ERR_NOMEM);
    }
}

static void test_oom_serialize_deserialize(void **state)
{
    (void)state;
    exst_history *h = sample_history();
    uint8_t *buf;
    size_t len;
    serialize(h, &buf, &len);
    for (long n = 0;; n++) {
        void *out = NULL;
        size_t olen = 0;
        exstp_alloc_fail_after(n);
        int rc = exst_history_serialize(&out, &olen, h, NULL);
        exstp_alloc_fail_after(-1);
        exst_free(out);
        if (rc == EXST_OK)
            break;
        assert_int_equal(rc, EXST_ERR_NOMEM);
        assert_null(out);
    }
    int failures = 0;
    for (long n = 0;; n++) {
        exst_history *back = NULL;
        exst_error err;
        exst_error_clear(&err);
        exstp_alloc_fail_after(n);
        int rc = exst_history_deserialize(&back, buf, len, "m", &err);
        exstp_alloc_fail_after(-1);
        if (rc == EXST_OK) {
            assert_bytes_equal(h, back);
            exst_history_free(back);
            break;
        }
        failures++;
        assert_int_equal(rc, EXST_ERR_NOMEM);
        assert_int_equal(err.code, EXST_ERR_NOMEM);
        assert_null(back);
    }
    assert_true(failures >= 2);
    for (long n = 0;; n++) {
        char *json = NULL;
        exstp_alloc_fail_after(n);
        int rc = exst_history_dump_json(&json, h, NULL, 0, NULL);
        exstp_alloc_fail_after(-1);
        exst_free(json);
        if (rc == EXST_OK)
            break;
        assert_int_equal(rc, EXST_ERR_NOMEM);
    }
    exst_free(buf);
    exst_history_free(h);
}

static void test_oom_files(void **state)
{
    fixture *f = *state;
    exst_history *old = sample_history();
    exst_history *next = sample_history();
    observe_ok(next, 2, NS, "0", 24, 0);
    save_ok(old, f->path);
    for (long n = 0;; n++) {
        exstp_alloc_fail_after(n);
        int rc = exst_history_save(next, f->path, NULL);
        exstp_alloc_fail_after(-1);
        if (rc == EXST_OK)
            break;
        assert_int_equal(rc, EXST_ERR_NOMEM);
        assert_file_is(f->path, old);
        bool has_tmp;
        assert_int_equal(count_entries(f->dir, &has_tmp), 1);
        assert_false(has_tmp);
    }
    assert_file_is(f->path, next);
    for (long n = 0;; n++) {
        exst_history *back = NULL;
        exstp_alloc_fail_after(n);
        int rc = exst_history_load(&back, f->path, NULL);
        exstp_alloc_fail_after(-1);
        exst_history_free(back);
        if (rc == EXST_OK)
            break;
        assert_int_equal(rc, EXST_ERR_NOMEM);
    }
    for (long n = 0;; n++) {
        exst_lock *l = NULL;
        exstp_alloc_fail_after(n);
        int rc = exst_lock_acquire(&l, f->path, 0, NULL, NULL);
        exstp_alloc_fail_after(-1);
        exst_lock_release(l);
        if (rc == EXST_OK)
            break;
        assert_int_equal(rc, EXST_ERR_NOMEM);
    }
    exst_history_free(old);
    exst_history_free(next);
}

int main(void)
{
    if (exst_init() != EXST_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_table),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_observe_bad_arguments),
        cmocka_unit_test(test_flavour_order),
        cmocka_unit_test(test_repeat_changes_nothing),
        cmocka_unit_test(test_older_refused),
        cmocka_unit_test(test_grandfather),
        cmocka_unit_test(test_window_uses_each_consensus_w),
        cmocka_unit_test(test_phases),
        cmocka_unit_test(test_undo),
        cmocka_unit_test(test_determinism_and_round_trip),
        cmocka_unit_test(test_empty_round_trip),
        cmocka_unit_test(test_record_size),
        cmocka_unit_test(test_every_flipped_byte),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_values_checked_behind_checksum),
        cmocka_unit_test(test_dump_json),
        cmocka_unit_test(test_oom_observe),
        cmocka_unit_test(test_oom_serialize_deserialize),
        cmocka_unit_test_setup_teardown(test_save_load, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_load_errors, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_load_never_modifies, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_save_write_failure, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_kill_during_save, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_lock, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_lock_details, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_oom_files, setup_dir,
                                        teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
