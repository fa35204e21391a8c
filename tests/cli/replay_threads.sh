#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# replay --threads 1, 2 and 4 (reader threads decompressing later inputs
# ahead, the staging thread helping, read-ahead past the budget spooled)
# must be indistinguishable: the same timeline, summary and history bytes
# over one input and over six (CollecTor-style monthly pieces in xz, zstd
# and gzip, named out of order), also with a one-byte read-ahead budget
# that spools everything ahead; the same error for a corrupt member, in
# the first input and in a later one that a reader meets first (status 3,
# history up to the member before); two inputs with two threads (a reader
# taking over the input the staging thread began to spool), with the same
# bytes and errors; and a prompt status 130 for SIGINT
# while the staging thread is blocked on a stalled pipe.
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
# Six inputs of 16 hours each, mixed compressions, named out of order.
mapfile -t all < <(echo "$names")
mkdir "$work/m"
for i in 0 1 2 3 4 5; do
    part=("${all[@]:$((i * 16)):16}")
    [ ${#part[@]} -gt 0 ] || continue
    tar cf "$work/m/p$i.tar" -C "$work/g" "${part[@]}"
    case $((i % 3)) in
    0) xz -0 -q "$work/m/p$i.tar" ;;
    1) zstd -q --rm "$work/m/p$i.tar" ;;
    2) gzip -q "$work/m/p$i.tar" ;;
    esac
done
inputs=$(ls "$work"/m/* | sort -r)
# shellcheck disable=SC2086
for cfg in "1" "2" "4" "2 --read-ahead 1" "4 --read-ahead 1"; do
    tag=$(echo "$cfg" | tr -d ' -')
    "$E" replay --threads $cfg --staging-period 1d,4d --reset-after 12h,1d \
        --timeline "$work/mt$tag.nd" --summary "$work/ms$tag.json" \
        --watch-badexit $inputs 2>"$work/m$tag.err" ||
        fail "six inputs, --threads $cfg: $(head -1 "$work/m$tag.err")"
    [ "$(wc -l <"$work/mt$tag.nd")" -eq $((n * 4)) ] ||
        fail "six inputs, --threads $cfg: $(wc -l <"$work/mt$tag.nd") records"
    cmp -s "$work/mt1.nd" "$work/mt$tag.nd" ||
        fail "six inputs: the timeline of --threads $cfg differs"
    cmp -s "$work/ms1.json" "$work/ms$tag.json" ||
        fail "six inputs: the summary of --threads $cfg differs"
done
# A corrupt member in the fifth piece: with threads a reader meets it
# while the staging thread is still on the first.
mkdir "$work/mb"
cp "$work"/m/* "$work/mb/"
bad5=${all[$((4 * 16 + 3))]}
mkdir "$work/c5" && cp "$work"/g/* "$work/c5/"
printf 'network-status-version 3\ngarbage\n' >"$work/c5/$bad5"
rm "$work"/mb/p4.*
tar cf "$work/mb/p4.tar" -C "$work/c5" "${all[@]:64:16}"
# shellcheck disable=SC2086
for t in 1 2 4; do
    "$E" replay --threads $t --db "$work/mb$t.db" \
        --timeline "$work/mb$t.nd" $(ls "$work"/mb/*) 2>"$work/mb$t.err"
    st=$?
    [ $st -eq 3 ] || fail "corrupt member in a later input, --threads $t: status $st"
    head -1 "$work/mb$t.err" >"$work/mb$t.first"
    cmp -s "$work/mb1.first" "$work/mb$t.first" ||
        fail "corrupt later member: --threads $t says '$(cat "$work/mb$t.first")'"
    cmp -s "$work/mb1.db" "$work/mb$t.db" ||
        fail "corrupt later member: the history of --threads $t differs"
    cmp -s "$work/mb1.nd" "$work/mb$t.nd" ||
        fail "corrupt later member: the timeline of --threads $t differs"
done
grep -q "$bad5" "$work/mb1.first" || fail "the later corrupt member is not named"

# Two inputs, two threads: the reader reads the first, the staging thread
# starts spooling the second, and the reader takes the second over when
# the first is done (between two of the staging thread's documents).  The
# same bytes, and the same error for a corrupt member late in the second.
half=$((n / 2))
mkdir "$work/two" "$work/twobad"
tar cf "$work/two/a.tar" -C "$work/g" "${all[@]:0:$half}"
tar cf "$work/two/b.tar" -C "$work/g" "${all[@]:$half}"
cp "$work/two/a.tar" "$work/twobad/a.tar"
tar cf "$work/twobad/b.tar" -C "$work/c5" "${all[@]:$half}"
xz -0 -q "$work"/two/*.tar "$work"/twobad/*.tar
for cfg in "1" "2" "2 --read-ahead 1" "3"; do
    tag=$(echo "$cfg" | tr -d ' -')
    # shellcheck disable=SC2086
    "$E" replay --threads $cfg --quiet --db "$work/two$tag.db" \
        --timeline "$work/two$tag.nd" "$work"/two/*.tar.xz 2>/dev/null ||
        fail "two inputs, --threads $cfg"
    cmp -s "$work/two1.nd" "$work/two$tag.nd" ||
        fail "two inputs: the timeline of --threads $cfg differs"
    cmp -s "$work/two1.db" "$work/two$tag.db" ||
        fail "two inputs: the history of --threads $cfg differs"
    # shellcheck disable=SC2086
    "$E" replay --threads $cfg --db "$work/tb$tag.db" \
        --timeline "$work/tb$tag.nd" "$work"/twobad/*.tar.xz 2>"$work/tb$tag.err"
    st=$?
    [ $st -eq 3 ] || fail "two inputs, corrupt member, --threads $cfg: status $st"
    head -1 "$work/tb$tag.err" >"$work/tb$tag.first"
    cmp -s "$work/tb1.first" "$work/tb$tag.first" ||
        fail "two inputs, corrupt member: --threads $cfg says '$(cat "$work/tb$tag.first")'"
    cmp -s "$work/tb1.db" "$work/tb$tag.db" ||
        fail "two inputs, corrupt member: the history of --threads $cfg differs"
done
[ "$(wc -l <"$work/two1.nd")" -eq "$n" ] || fail "two inputs: not $n records"
grep -q "$bad5" "$work/tb1.first" || fail "two inputs: the corrupt member is not named"

echo "replay_threads: ok ($n documents; one input, six and two)"
