#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# replay --threads 1 and --threads 2 (a reader thread decompressing ahead)
# must be indistinguishable: the same timeline and history bytes, the same
# error for a corrupt member (status 3, history up to the member before),
# and a prompt status 130 for SIGINT while the reader is blocked on a
# stalled pipe.
set -u
E=${EXITSTAGE:?}
G=${EXST_GEN:?}
work=$(mktemp -d)
bg=
cleanup() { [ -n "$bg" ] && kill "$bg" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$G" --out-dir "$work/g" --days 2 --relays 800 --seed 5 >/dev/null 2>&1 ||
    fail "generator"
names=$(cd "$work/g" && ls | sort)
# shellcheck disable=SC2086
tar cf "$work/all.tar" -C "$work/g" $names
zstd -q "$work/all.tar" -o "$work/all.tar.zst"
n=$(echo "$names" | wc -l)

for t in 1 2; do
    "$E" replay --threads $t --quiet --db "$work/h$t.db" \
        --timeline "$work/t$t.ndjson" "$work/all.tar.zst" 2>/dev/null ||
        fail "replay --threads $t"
    [ "$(wc -l < "$work/t$t.ndjson")" -eq "$n" ] ||
        fail "--threads $t: $(wc -l < "$work/t$t.ndjson") records, expected $n"
done
cmp -s "$work/t1.ndjson" "$work/t2.ndjson" || fail "timelines differ"
cmp -s "$work/h1.db" "$work/h2.db" || fail "histories differ"

# A corrupt member in the middle: same status, message and history.
bad=$(echo "$names" | sed -n 20p)
before=$(echo "$names" | sed -n 19p)
mkdir "$work/c"
cp "$work"/g/* "$work/c/"
printf 'network-status-version 3\ngarbage\n' > "$work/c/$bad"
# shellcheck disable=SC2086
tar cf "$work/bad.tar" -C "$work/c" $names
for t in 1 2; do
    "$E" replay --threads $t --quiet --db "$work/b$t.db" "$work/bad.tar" \
        2>"$work/b$t.err"
    st=$?
    [ $st -eq 3 ] || fail "corrupt member, --threads $t: status $st"
    grep -q "$bad" "$work/b$t.err" ||
        fail "corrupt member, --threads $t: not named: $(head -1 "$work/b$t.err")"
    "$E" db check --db "$work/b$t.db" >/dev/null || fail "db check $t"
done
cmp -s "$work/b1.db" "$work/b2.db" || fail "histories after the error differ"
want=$(echo "$before" | sed -E 's/^([0-9]{4}-[0-9]{2}-[0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2}).*/\1T\2:\3:\4Z/')
"$E" db dump --db "$work/b2.db" | grep -q "\"newest\": \"$want\"" ||
    fail "history should end at $want"

# SIGINT while the reader is blocked on a stalled pipe.
for t in 1 2; do
    { cat "$work/all.tar"; sleep 8; } 2>/dev/null |
        "$E" replay --threads $t --quiet --db "$work/i$t.db" - \
        2>"$work/i$t.err" &
    bg=$!
    sleep 1.5
    s0=$(date +%s)
    kill -INT "$bg"
    while kill -0 "$bg" 2>/dev/null && [ $(($(date +%s) - s0)) -lt 6 ]; do
        sleep 0.1
    done
    el=$(($(date +%s) - s0))
    wait "$bg"
    st=$?
    bg=
    [ $st -eq 130 ] || fail "SIGINT, --threads $t: status $st"
    [ $el -lt 4 ] || fail "SIGINT, --threads $t: took ${el}s"
    "$E" db check --db "$work/i$t.db" >/dev/null || fail "db check after SIGINT $t"
done
echo "replay_threads: ok ($n documents)"
