#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench_instr.sh - SPEC 7 (0.2): the core's instructions per input byte,
# a figure a shared machine cannot blur.  Runs bench_core under valgrind's
# callgrind with 1 and with 3 fixed iterations on the largest live
# document and divides the difference by two documents' bytes, once for a
# parse alone and once for the whole core (parse, reweight, write).  Goal:
# 5 or fewer per byte.  Not a test: it prints figures; it prints a note and
# exits 0 when valgrind or the shared data is missing.
#
# usage: bench/bench_instr.sh [BENCH_CORE]
set -u
core=${1:-build/bench/bench_core}
command -v valgrind >/dev/null || { echo "bench_instr: valgrind missing"; exit 0; }
[ -x "$core" ] || { echo "bench_instr: '$core' not built"; exit 0; }
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT
count() { # ITERS [parse]: total instructions
    local env=(EXST_BENCH_ITERS="$1")
    [ "${2:-}" = parse ] && env+=(EXST_BENCH_PARSE_ONLY=1)
    env "${env[@]}" valgrind --tool=callgrind \
        --callgrind-out-file="$out/cg.$1.${2:-core}" "$core" \
        >"$out/log" 2>"$out/err" || { cat "$out/err"; return 1; }
    grep -q 'skipped' "$out/log" && { echo skipped; return 0; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/err"
}
bytes=$(EXST_BENCH_ITERS=0 "$core" | sed -n 's/.* of \([0-9]*\) bytes.*/\1/p')
[ -n "$bytes" ] || { echo "bench_instr: skipped (no shared data)"; exit 0; }
echo "bench_instr: callgrind, largest live document ($bytes bytes)"
for what in parse core; do
    a=$(count 1 "$what") && b=$(count 3 "$what") || exit 1
    awk -v a="$a" -v b="$b" -v n="$bytes" -v w="$what" 'BEGIN {
        per = (b - a) / 2
        printf "  %-6s %12.0f instructions per document, %.2f per input byte%s\n",
            w, per, per / n, w == "parse" ? "" : " (goal <= 5)" }'
done
