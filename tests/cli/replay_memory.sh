#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# replay_memory.sh - SPEC 7: replay memory is bounded by a small multiple of
# the largest single document, not by the length of the replay.  1008 hours
# (42 days) of one flavour at 3000 relays (zstd files, about 1 MB each once
# decompressed) are replayed (a) as a directory of .zst files and (b) as a
# tar of those files on a pipe; the peak RSS of each must stay under
# 8 x the largest decompressed document + 64 MB, and the 1008-hour replay
# may use at most 16 MB more than a 48-hour replay of the same data.  Both
# forms must end with the same history.  The figures are printed (ctest -V).
# Peak RSS comes from /usr/bin/time -f %M, or from getrusage() through
# /usr/bin/python3 when /usr/bin/time is missing; skipped without either.
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

if [ "${EXST_SANITIZED:-0}" = 1 ]; then
    echo "SKIP: sanitizer build (shadow memory makes RSS bounds meaningless)"
    exit 77
fi
EXITSTAGE=${EXITSTAGE:-}
GEN=${EXST_GEN:-}
need_exe EXITSTAGE GEN
need_cmd tar zstd
if [ -x /usr/bin/time ]; then
    # peak OUT CMD...: run CMD (stdin passed on), its peak RSS in KB to OUT.
    peak() {
        local out=$1
        shift
        /usr/bin/time -f %M -o "$out" "$@"
    }
    how="/usr/bin/time -f %M"
elif [ -x /usr/bin/python3 ]; then
    peak() {
        /usr/bin/python3 -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$@"
    }
    how="getrusage(RUSAGE_CHILDREN)"
else
    echo "SKIP: neither /usr/bin/time nor /usr/bin/python3 to measure RSS"
    exit 77
fi

make_tmp rmem


DAYS=42
HOURS=$((DAYS * 24))
"$GEN" --out-dir "$TMP/g" --days $DAYS --relays 3000 --flavor microdesc \
    --missing-hours 0 --seed 4 --zstd || {
    echo "FAIL: generation failed"
    exit 1
}
(cd "$TMP/g" && ls | LC_ALL=C sort) >"$TMP/list"
[ "$(wc -l <"$TMP/list")" -eq $HOURS ] || fail "expected $HOURS files"
# Largest decompressed document (the five largest compressed files).
maxdoc=0
for f in $(cd "$TMP/g" && ls -S | head -n 5); do
    s=$(zstd -qdc "$TMP/g/$f" | wc -c)
    [ "$s" -gt "$maxdoc" ] && maxdoc=$s
done
bound_kb=$(((8 * maxdoc + 64 * 1024 * 1024) / 1024))
mkdir "$TMP/g48" && (cd "$TMP/g" && head -n 48 "$TMP/list" | xargs cp -t "$TMP/g48/")

run() { # NAME [stdin] -- replay args
    local name=$1 in=$2
    shift 3
    peak "$TMP/$name.kb" "$EXITSTAGE" replay --db "$TMP/$name.db" \
        "$@" <"$in" 2>"$TMP/$name.err"
    local st=$?
    [ $st -eq 0 ] || {
        fail "replay $name: status $st"
        cat "$TMP/$name.err"
    }
    tail -n 1 "$TMP/$name.kb"
}

# Flat in the replay length: the same small read-ahead budget for both, so
# what is compared is the state the replay keeps, not how far ahead the
# readers got (the default budget, at least 32 MiB, fills sooner or later
# in a long replay and not in 48 hours).
kb48=$(run short /dev/null -- --read-ahead 4M "$TMP/g48")
t0=$(date +%s.%N)
kbdir=$(run dir /dev/null -- --read-ahead 4M "$TMP/g")
t1=$(date +%s.%N)
kbtar=$(tar cf - -C "$TMP/g" -T "$TMP/list" | run stream /dev/stdin -- -)
t2=$(date +%s.%N)

grep -Eq "^  consensuses processed: +$HOURS " "$TMP/dir.err" ||
    fail "directory replay did not process $HOURS documents"
cmp -s "$TMP/dir.db" "$TMP/stream.db" ||
    fail "directory and tar-stream replays end with different histories"

printf 'peak RSS (%s): %s KB for 48 hours, %s KB for %d hours (directory, %.1f s), %s KB (tar of .zst on a pipe, %.1f s)\n' \
    "$how" "$kb48" "$kbdir" $HOURS "$(awk "BEGIN{print $t1 - $t0}")" "$kbtar" \
    "$(awk "BEGIN{print $t2 - $t1}")"
printf 'largest document %d bytes; bound 8 x that + 64 MB = %d KB\n' \
    "$maxdoc" "$bound_kb"
for v in "$kbdir" "$kbtar"; do
    [[ "$v" =~ ^[0-9]+$ ]] || {
        fail "no RSS figure ('$v')"
        continue
    }
    [ "$v" -lt "$bound_kb" ] || fail "peak RSS $v KB >= $bound_kb KB"
done
if [[ "$kb48" =~ ^[0-9]+$ ]] && [[ "$kbdir" =~ ^[0-9]+$ ]]; then
    [ "$kbdir" -le $((kb48 + 16 * 1024)) ] ||
        fail "memory grows with the replay: $kb48 KB for 48 h, $kbdir KB for $HOURS h"
fi

# Memory against --threads (readers decode at most the read-ahead budget
# beside the staged input, whatever their number).
"$GEN" --out-dir "$TMP/big" --days 1 --relays 40000 --flavor ns \
    --missing-hours 0 --seed 7 --zstd >/dev/null || fail "generator (40000 relays)"
(cd "$TMP/big" && ls | LC_ALL=C sort | head -n 12) >"$TMP/blist"
mkdir "$TMP/tars"
for k in 0 1 2 3 4 5; do
    sed -n "$((2 * k + 1)),$((2 * k + 2))p" "$TMP/blist" >"$TMP/bl$k"
    tar cf "$TMP/tars/t$k.tar" -C "$TMP/big" -T "$TMP/bl$k"
done
bigdoc=0
while read -r f; do
    s=$(zstd -qdc "$TMP/big/$f" | wc -c)
    [ "$s" -gt "$bigdoc" ] && bigdoc=$s
done <"$TMP/blist"
ra=$((2 * bigdoc))
[ $ra -ge $((32 << 20)) ] || ra=$((32 << 20))
declare -A kbt
for t in 1 2 4 8 16; do
    kbt[$t]=$(run "t$t" /dev/null -- --threads $t --timeline "$TMP/t$t.tl" \
        "$TMP"/tars/t*.tar)
    [[ "${kbt[$t]}" =~ ^[0-9]+$ ]] || fail "no RSS figure for $t threads"
    [ $t -eq 1 ] || cmp -s "$TMP/t1.tl" "$TMP/t$t.tl" ||
        fail "$t threads: a different timeline from 1 thread"
done
printf 'largest document %d bytes, read-ahead %d; peak RSS with 1, 2, 4, 8, 16 threads: %s %s %s %s %s KB\n' \
    "$bigdoc" "$ra" "${kbt[1]}" "${kbt[2]}" "${kbt[4]}" "${kbt[8]}" "${kbt[16]}"
tbound=$((kbt[1] + (ra + 3 * bigdoc) / 1024))
for t in 2 4 8 16; do
    [ "${kbt[$t]:-0}" -le $tbound ] ||
        fail "$t threads: peak RSS ${kbt[$t]} KB > $tbound KB (1 thread + read-ahead + 3 documents)"
done
[ "${kbt[16]:-0}" -le $((kbt[2] + 2 * bigdoc / 1024)) ] ||
    fail "memory grows with --threads: ${kbt[2]} KB with 2, ${kbt[16]} KB with 16"

[ $fails -eq 0 ] && ok "peak RSS under the bound, flat in the replay length and in --threads"

finish
