#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# replay_model.sh - `exitstage replay` against an independent model of the
# lifecycle rules (SPEC 3.2 runs, 3.3 staging, 3.7 same-hour flavours and
# warming up).  A week of synthetic hourly data (both flavours, hours
# missing) is replayed with --timeline; replay_model.py parses every
# generated document with its own code, applies the rules and must give,
# for every record, the same valid_after, flavour, warming_up, counts
# (exit_candidates, in_staging, stripped, graduated, new_runs,
# restarted_runs) and stripped fingerprint list.  Done for the defaults
# (P=4d, W=24h, clock exit), for --staging-period 1d --reset-after 6h and
# for --clock relay.  The data must exercise restarts and bridged absences
# (also close to W), and the model must disagree with a timeline made with
# other parameters (it is not vacuous).
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN, EXST_SRC.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

EXITSTAGE=${EXITSTAGE:-}
GEN=${EXST_GEN:-}
SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
MODEL="$SRC/tests/cli/replay_model.py"
need_exe EXITSTAGE GEN
if [ ! -x "$PY" ]; then
    echo "SKIP: $PY not found"
    exit 77
fi

make_tmp rmodel


DAYS=7
HOURS_MISSING=4
"$GEN" --out-dir "$TMP/g" --days "$DAYS" --relays 1500 --seed 3 \
    --flavor both --missing-hours "$HOURS_MISSING" || {
    echo "FAIL: generation failed"
    exit 1
}
nfiles=$(find "$TMP/g" -type f | wc -l)
want=$((2 * (24 * DAYS - HOURS_MISSING)))
[ "$nfiles" -eq "$want" ] || fail "generated $nfiles files, expected $want"

# run NAME [replay options...]: replay into a fresh history.
run() {
    local name=$1
    shift
    "$EXITSTAGE" replay --quiet --db "$TMP/$name.db" \
        --timeline "$TMP/$name.ndjson" "$@" "$TMP/g" 2>"$TMP/$name.err"
    local st=$?
    if [ $st -ne 0 ]; then
        fail "replay $name ($*) exited $st"
        cat "$TMP/$name.err"
        return 1
    fi
    local n
    n=$(wc -l <"$TMP/$name.ndjson")
    [ "$n" -eq "$nfiles" ] ||
        fail "replay $name: $n timeline records for $nfiles documents"
    if ! "$EXITSTAGE" db check --db "$TMP/$name.db" >/dev/null 2>&1; then
        fail "replay $name: db check rejects the history"
    fi
    return 0
}

run def
run short --staging-period 1d --reset-after 6h
run relay --clock relay

# Defaults: P=4d W=24h retention 30d.  The data must exercise the rules.
if "$PY" "$MODEL" "$TMP/g" \
    --run 345600 86400 2592000 exit "$TMP/def.ndjson" \
    --run 86400 21600 2592000 exit "$TMP/short.ndjson" \
    --run 345600 86400 2592000 relay "$TMP/relay.ndjson" \
    --expect-restarts --expect-bridges --summary "$TMP/sum.json"; then
    ok "timelines equal the model hour by hour (defaults, 1d/6h, clock relay)"
else
    fail "a timeline differs from the model"
fi

# What the data covers (from the model's own counting and the timeline).
if [ -s "$TMP/sum.json" ]; then
    "$PY" - "$TMP/sum.json" "$TMP/def.ndjson" "$TMP/short.ndjson" <<'EOF' ||
import json, sys
s = json.load(open(sys.argv[1]))
d = s[0]
assert d['restarted_runs'] > 0, 'no restarts with W=24h'
assert d['bridges'] > 0, 'no bridged absence with W=24h'
assert d['near_w_bridges'] > 0, 'no bridged absence of 21..23 h'
assert s[1]['restarted_runs'] > d['restarted_runs'], \
    'W=6h should restart more runs than W=24h'
for path in sys.argv[2:]:
    recs = [json.loads(l) for l in open(path)]
    assert any(r['counts']['restarted_runs'] > 0 for r in recs), path
    # After warming up, both staged and graduated exits exist.
    late = [r for r in recs if not r['warming_up']]
    assert late, path + ': never leaves warming up'
    assert all(r['counts']['graduated'] > 0 for r in late), path
    assert any(r['counts']['stripped'] > 0 for r in late), path
    assert all(r['counts']['stripped'] == len(r['stripped']) for r in recs)
print('coverage: restarts %d, bridges %d (%d within 3 h of W), '
      'W=6h restarts %d' % (d['restarted_runs'], d['bridges'],
                            d['near_w_bridges'], s[1]['restarted_runs']))
EOF
    fail "coverage assertions"
    ok "the data exercises restarts, bridging near W, staged and graduated exits"
fi

# Not vacuous: the model with other parameters must disagree.
if "$PY" "$MODEL" "$TMP/g" --run 86400 21600 2592000 exit \
    "$TMP/def.ndjson" >"$TMP/neg.out" 2>&1; then
    fail "model with P=1d W=6h agrees with the default timeline (vacuous?)"
else
    ok "the model detects a timeline made with other parameters"
fi

# The defaults' summary: warming up spans exactly the first 4 days.
grep -q '^  warming up: *2026-01-01T00:00:00Z \.\. 2026-01-04T23:00:00Z' \
    "$TMP/def.err" || {
    fail "warming-up span in the summary"
    cat "$TMP/def.err"
}
grep -q "^  consensuses processed: *$nfiles (ns $((nfiles / 2)), microdesc $((nfiles / 2)))" \
    "$TMP/def.err" || fail "processed count in the summary"

finish
