#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# replay_forms.sh - every input form of `exitstage replay` (SPEC 2.2) gives
# the same result.  Two days of synthetic data (both flavours, 2 hours
# missing) are replayed, each into a fresh history with --timeline, as:
#   a  individual files named in shuffled order
#   b  a directory
#   c  a tar (GNU default format), c2 a pax tar, c3 a ustar tar
#   d  a zstd-compressed tar
#   e  a tar on standard input
#   e2 a zstd tar on standard input
#   f  two tars (hours split in two) concatenated on standard input, and
#      f2 the same two tar files named in reverse order
#   g  a directory of .zst single files (exitstage-gen --zstd)
#   h  a mix: the second half as loose files, the first half as a tar
# All timelines must be byte-identical, all final histories byte-identical
# (cmp); the timeline has one record per document, each a JSON object with
# valid_after, flavor, counts and stripped, in valid-after order with ns
# before microdesc.  A single consensus on stdin gives one record, equal to
# the first record of the full replay.
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

EXITSTAGE=${EXITSTAGE:-}
GEN=${EXST_GEN:-}
need_exe EXITSTAGE GEN
need_cmd tar zstd

make_tmp rforms


common=(--days 2 --relays 300 --seed 11 --flavor both --missing-hours 2
        --start '2026-03-01 00:00:00')
"$GEN" --out-dir "$TMP/g" "${common[@]}" || {
    echo "FAIL: generation failed"
    exit 1
}
"$GEN" --out-dir "$TMP/z" "${common[@]}" --zstd || {
    echo "FAIL: generation with --zstd failed"
    exit 1
}
mapfile -t names < <(cd "$TMP/g" && ls | LC_ALL=C sort)
n=${#names[@]}
[ "$n" -eq $((2 * 48 - 4)) ] || fail "expected 92 files, got $n"
half=$((n / 2))
# Keep both flavours of one hour in the same half.
[ $((half % 2)) -eq 0 ] || half=$((half + 1))
first=("${names[@]:0:half}")
second=("${names[@]:half}")

(cd "$TMP/g" && tar cf "$TMP/all.tar" "${names[@]}") || fail "tar"
(cd "$TMP/g" && tar --format=pax -cf "$TMP/all-pax.tar" "${names[@]}") ||
    fail "tar pax"
(cd "$TMP/g" && tar --format=ustar -cf "$TMP/all-ustar.tar" "${names[@]}") ||
    fail "tar ustar"
(cd "$TMP/g" && tar cf - "${names[@]}") | zstd -q -o "$TMP/all.tar.zst" ||
    fail "tar | zstd"
(cd "$TMP/g" && tar cf "$TMP/a.tar" "${first[@]}") || fail "tar a"
(cd "$TMP/g" && tar cf "$TMP/b.tar" "${second[@]}") || fail "tar b"
mkdir "$TMP/loose" && (cd "$TMP/g" && cp "${second[@]}" "$TMP/loose/") ||
    fail "cp"

# replay FORM [stdin-file] -- PATH...: a fresh history per form.
replay() {
    local form=$1 in=$2
    shift 3
    "$EXITSTAGE" replay --db "$TMP/$form.db" \
        --timeline "$TMP/$form.ndjson" "$@" <"$in" 2>"$TMP/$form.err"
    local st=$?
    if [ $st -ne 0 ]; then
        fail "form $form: exit status $st"
        sed 's/^/    /' "$TMP/$form.err"
    fi
    forms+=("$form")
}

forms=()
mapfile -t shuffled < <(printf '%s\n' "${names[@]}" | shuf)
[ "${shuffled[*]}" != "${names[*]}" ] ||
    mapfile -t shuffled < <(printf '%s\n' "${names[@]}" | sort -r)
replay a /dev/null -- "${shuffled[@]/#/$TMP/g/}"
replay b /dev/null -- "$TMP/g"
replay c /dev/null -- "$TMP/all.tar"
replay c2 /dev/null -- "$TMP/all-pax.tar"
replay c3 /dev/null -- "$TMP/all-ustar.tar"
replay d /dev/null -- "$TMP/all.tar.zst"
replay e "$TMP/all.tar" -- -
replay e2 "$TMP/all.tar.zst" -- -
cat "$TMP/a.tar" "$TMP/b.tar" >"$TMP/ab.tar"
replay f "$TMP/ab.tar" -- -
replay f2 /dev/null -- "$TMP/b.tar" "$TMP/a.tar"
replay g /dev/null -- "$TMP/z"
replay h /dev/null -- "$TMP/loose" "$TMP/a.tar"

# Timeline shape (form b is the reference).
ref=b
lines=$(wc -l <"$TMP/$ref.ndjson")
[ "$lines" -eq "$n" ] ||
    fail "timeline has $lines records for $n documents"
if command -v jq >/dev/null 2>&1; then
    bad=$(jq -c 'select((type != "object") or
                        (.valid_after | type) != "string" or
                        (.flavor != "ns" and .flavor != "microdesc") or
                        (.counts | type) != "object" or
                        (.counts.stripped | type) != "number" or
                        (.stripped | type) != "array" or
                        (.stripped | length) != .counts.stripped)' \
              "$TMP/$ref.ndjson" 2>&1 | head -3)
    [ -z "$bad" ] || fail "timeline records with a bad shape: $bad"
    # Order and completeness: the file names, sorted, give valid-afters.
    jq -r '"\(.valid_after) \(.flavor)"' "$TMP/$ref.ndjson" >"$TMP/order"
    printf '%s\n' "${names[@]}" |
        sed -E 's/^([0-9]{4}-[0-9]{2}-[0-9]{2})-([0-9]{2})-00-00-consensus(-microdesc)?$/\1T\2:00:00Z \3/;
                s/ $/ ns/; s/ -microdesc$/ microdesc/' >"$TMP/want-order"
    if cmp -s "$TMP/order" "$TMP/want-order"; then
        ok "timeline: one record per document, in valid-after order, ns first"
    else
        fail "timeline order/records differ from the documents"
        diff "$TMP/want-order" "$TMP/order" | head -5
    fi
else
    /usr/bin/python3 - "$TMP/$ref.ndjson" <<'EOF' || fail "timeline shape"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert isinstance(r, dict)
    assert isinstance(r['valid_after'], str)
    assert r['flavor'] in ('ns', 'microdesc')
    assert isinstance(r['counts'], dict)
    assert isinstance(r['stripped'], list)
    assert len(r['stripped']) == r['counts']['stripped']
EOF
fi
grep -q "^  consensuses processed: *$n (ns $((n / 2)), microdesc $((n / 2)))" \
    "$TMP/$ref.err" || fail "summary: processed count"
grep -q '^  gaps in the archive: *2 (2 hours missing)' "$TMP/$ref.err" ||
    fail "summary: 2 gaps, 2 hours missing"

same=1
for f in "${forms[@]}"; do
    [ "$f" = "$ref" ] && continue
    if ! cmp -s "$TMP/$ref.ndjson" "$TMP/$f.ndjson"; then
        fail "form $f: timeline differs from the directory form"
        same=0
    fi
    if ! cmp -s "$TMP/$ref.db" "$TMP/$f.db"; then
        fail "form $f: history differs from the directory form"
        same=0
    fi
done
[ $same -eq 1 ] &&
    ok "timelines and histories byte-identical over ${#forms[@]} forms: ${forms[*]}"
"$EXITSTAGE" db check --db "$TMP/$ref.db" >/dev/null ||
    fail "db check rejects the history"
if command -v jq >/dev/null 2>&1; then
    got=$("$EXITSTAGE" db dump --db "$TMP/$ref.db" |
        jq -r '"\(.observed_since) \(.newest) \(.processed)"')
    [ "$got" = "2026-03-01T00:00:00Z 2026-03-02T23:00:00Z $n" ] ||
        fail "history: observed_since/newest/processed '$got'"
fi

# One consensus on stdin.
"$EXITSTAGE" replay --db "$TMP/one.db" --timeline "$TMP/one.ndjson" \
    - <"$TMP/g/${names[0]}" 2>"$TMP/one.err" || fail "single consensus on stdin"
if [ "$(wc -l <"$TMP/one.ndjson")" -eq 1 ] &&
   [ "$(head -n 1 "$TMP/$ref.ndjson")" = "$(cat "$TMP/one.ndjson")" ]; then
    ok "a single consensus on stdin gives the first record"
else
    fail "single consensus on stdin: unexpected timeline"
fi

finish
