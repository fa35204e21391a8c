#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# replay_series.sh - `exitstage replay` on the real series in
# ../shared/testdata/series-2016-2017: 32 microdesc consensuses, 3 hours to
# 19 days apart, zstd-compressed.  Asserts:
# - the summary: 32 processed (ns 0, microdesc 32), the time span, 31 gaps
#   with 2118 hours missing, nothing skipped; the --summary JSON: the
#   first document is the bootstrap span and every other one steady (the
#   next comes 6 days later, after W + P = 5d), and relays_staged equals
#   the distinct fingerprints the timeline strips in steady consensuses;
# - rules worked out by hand: the first document grandfathers every exit
#   (SPEC 3.7: nothing stripped); in the second, 6 days later, a data gap
#   is not an absence
#   (SPEC 3.2), so no run restarts, the relays of the first document are
#   graduated, and exactly the newcomers are staged; in the third, relays
#   missing from the second are back 46 h after their absence began, so
#   runs restart; documents 5 hours apart restart nothing;
# - every record equals the independent model (replay_model.py, the files
#   decompressed with zstd -dc), which must also see restarts, bridged
#   absences and pruned records (retention 30d across the 19-day gap);
# - resuming: the same replay on the same history skips all 32 ("already
#   in the history:  32 skipped"), writes no record and leaves the history
#   byte-identical (cmp); a replay of the first 16 files followed by all 32
#   skips 16 and ends with the same history and the same records.
#
# Environment (set by ctest): EXITSTAGE, EXST_SHARED, EXST_SRC.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

EXITSTAGE=${EXITSTAGE:-}
SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SERIES=${EXST_SHARED:-$SRC/../shared/testdata}/series-2016-2017
PY=/usr/bin/python3
if [ -z "$EXITSTAGE" ] || [ ! -x "$EXITSTAGE" ]; then
    echo "SKIP: EXITSTAGE not set or not executable"
    exit 77
fi
if [ ! -d "$SERIES" ]; then
    echo "SKIP: $SERIES not present"
    exit 77
fi
for t in jq zstd; do
    command -v $t >/dev/null 2>&1 || {
        echo "SKIP: $t not installed"
        exit 77
    }
done

make_tmp rseries


mapfile -t files < <(find "$SERIES" -type f -name '*.zst' | LC_ALL=C sort)
[ ${#files[@]} -eq 32 ] || {
    echo "FAIL: expected 32 files in $SERIES, found ${#files[@]}"
    exit 1
}

"$EXITSTAGE" replay --db "$TMP/h.db" --timeline "$TMP/tl.ndjson" \
    --summary "$TMP/sum.json" "$SERIES" 2>"$TMP/err"
st=$?
[ $st -eq 0 ] || fail "replay exited $st"
sed 's/^/    /' "$TMP/err"

expect_line() { # PATTERN WHAT
    grep -Eq "$1" "$TMP/err" || fail "summary: $2"
}
expect_line '^  consensuses processed: +32 \(ns 0, microdesc 32\) ' \
    "32 processed"
expect_line '^  time span: +2016-12-10T21:00:00Z \.\. 2017-03-10T10:00:00Z ' \
    "time span"
expect_line '^  gaps in the archive: +31 \(2118 hours missing\)$' \
    "31 gaps, 2118 hours missing"
expect_line '^  already in the history: +0 skipped ' "nothing skipped"
expect_line '^    bootstrap +2016-12-10T21:00:00Z \.\. 2016-12-10T21:00:00Z, 1 consensus ' \
    "bootstrap span: the first document"
expect_line '^    ramp +none ' "no ramp span"
staged=$(jq -r 'select(.phase == "steady") | .stripped[]' "$TMP/tl.ndjson" |
    sort -u | wc -l)
[ "$(jq '.lanes[0].relays_staged' "$TMP/sum.json")" = "$staged" ] ||
    fail "summary: relays_staged is not the $staged distinct fingerprints stripped in steady consensuses"
[ "$(jq -c '[.lanes[0].consensuses, .lanes[0].spans.bootstrap.consensuses,
             .lanes[0].spans.ramp, .archive.hours, .archive.documents]' \
      "$TMP/sum.json")" = '[31,1,null,32,32]' ] ||
    fail "summary JSON: 31 steady, 1 bootstrap, no ramp, 32 hours"
"$EXITSTAGE" db check --db "$TMP/h.db" >/dev/null ||
    fail "db check rejects the history"

[ "$(wc -l <"$TMP/tl.ndjson")" -eq 32 ] || fail "timeline: not 32 records"
[ "$(jq -s '[.[] | select(.warming_up)] | length' "$TMP/tl.ndjson")" -eq 1 ] ||
    fail "timeline: warming_up on other than the first record"

# Hand-derived facts, on the decompressed documents.
mkdir "$TMP/plain"
for f in "${files[@]}"; do
    b=$(basename "$f" .zst)
    zstd -qdc "$f" >"$TMP/plain/$b" || fail "zstd -dc $f"
done
exits() { # FILE -> sorted fingerprints of exit candidates (base64 ids)
    awk '/^r /{id=$3} /^s /{for(i=2;i<=NF;i++) if($i=="Exit") print id}' \
        "$1" | LC_ALL=C sort
}
mapfile -t plain < <(ls "$TMP/plain" | LC_ALL=C sort)
exits "$TMP/plain/${plain[0]}" >"$TMP/e0"
exits "$TMP/plain/${plain[1]}" >"$TMP/e1"
n0=$(wc -l <"$TMP/e0")
n1=$(wc -l <"$TMP/e1")
both=$(LC_ALL=C comm -12 "$TMP/e0" "$TMP/e1" | wc -l)
newc=$((n1 - both))
rec() { sed -n "$1p" "$TMP/tl.ndjson"; }
r1=$(rec 1 | jq -c '.counts | del(.badexit_candidates, .stripped_badexit, .exempted)')
r2=$(rec 2 | jq -c '.counts | del(.badexit_candidates, .stripped_badexit, .exempted)')
[ "$r1" = "{\"exit_candidates\":$n0,\"graduated\":$n0,\"grandfathered\":$n0,\"in_staging\":0,\"new_runs\":0,\"restarted_runs\":0,\"stripped\":0}" ] ||
    fail "first document: expected all $n0 exits grandfathered (SPEC 3.7), got $r1"
[ "$(rec 1 | jq -r .phase)" = bootstrap ] || fail "first document: phase"
[ "$r2" = "{\"exit_candidates\":$n1,\"graduated\":$both,\"grandfathered\":0,\"in_staging\":$newc,\"new_runs\":$newc,\"restarted_runs\":0,\"stripped\":$newc}" ] ||
    fail "second document (6 days later): expected $both graduated across the data gap, $newc newcomers staged, no restart; got $r2"
[ "$(rec 3 | jq '.counts.restarted_runs')" -gt 0 ] ||
    fail "third document: relays absent from the second must restart (46 h >= W)"
# 2016-12-31T03 is 5 h after 2016-12-30T22: bridged, no restart.
[ "$(jq 'select(.valid_after == "2016-12-31T03:00:00Z") |
          .counts.restarted_runs' "$TMP/tl.ndjson")" = 0 ] ||
    fail "2016-12-31T03: documents 5 h apart must not restart runs"
[ "$(jq -s 'map(.counts.restarted_runs) | add' "$TMP/tl.ndjson")" -gt 0 ] ||
    fail "no restarts in the series"
ok "hand-derived counts: first document grandfathered, data gap, restart after 46 h, bridge after 5 h"

if [ -x "$PY" ]; then
    if "$PY" "$SRC/tests/cli/replay_model.py" "$TMP/plain" \
        --periods 345600 --resets 86400 --timeline "$TMP/tl.ndjson" \
        --summary "$TMP/sum.json" --stats "$TMP/stats.json" \
        --expect-restarts --expect-bridges &&
        [ "$(jq .prunes "$TMP/stats.json")" -gt 0 ]; then
        ok "every record and the summary equal the independent model (restarts, bridges, prunes)"
    else
        fail "timeline differs from the model"
    fi
else
    echo "note: $PY missing; model comparison skipped"
fi

# Resume: the same replay again changes nothing.
cp "$TMP/h.db" "$TMP/h0.db"
"$EXITSTAGE" replay --db "$TMP/h.db" --timeline "$TMP/tl2.ndjson" \
    "$SERIES" 2>"$TMP/err2"
st=$?
[ $st -eq 0 ] || fail "second replay exited $st"
grep -Eq '^  nothing new: all 32 consensuses were already in the history, so nothing was analysed$' "$TMP/err2" ||
    fail "second replay: expected 'nothing new: all 32 consensuses ...'"
[ ! -s "$TMP/tl2.ndjson" ] || fail "second replay wrote timeline records"
cmp -s "$TMP/h0.db" "$TMP/h.db" || fail "second replay changed the history"
ok "a second replay skips all 32 and leaves the history unchanged"

# Resume from the middle: 16 files, then all 32.
"$EXITSTAGE" replay --db "$TMP/p.db" --timeline "$TMP/p1.ndjson" \
    "${files[@]:0:16}" 2>/dev/null || fail "partial replay"
"$EXITSTAGE" replay --db "$TMP/p.db" --timeline "$TMP/p2.ndjson" \
    "$SERIES" 2>"$TMP/perr" || fail "resumed replay"
grep -Eq '^  already in the history: +16 skipped ' "$TMP/perr" ||
    fail "resumed replay: expected 16 skipped"
cat "$TMP/p1.ndjson" "$TMP/p2.ndjson" | cmp -s - "$TMP/tl.ndjson" ||
    fail "16 + 16 records differ from the one-go timeline"
cmp -s "$TMP/p.db" "$TMP/h0.db" ||
    fail "history after 16 + resume differs from the one-go history"
ok "replaying 16 then all 32 resumes and equals the one-go replay"

finish
