#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench_apply_trust.sh - SPEC 8: what --certs and --sign-key add to a whole
# `exitstage apply` run (goal: checking adds at most 5 ms on a live
# consensus).  Not a test: it prints figures.
#
# Each configuration runs REPS times by turns with the others (so load on
# the shared machine hits all alike), --dry-run on a fresh empty history
# (nothing committed, so every run does the same work), outputs in
# /dev/shm when it exists; the figure is the best wall time, the median
# beside it.  Documents, decompressed first (the .zst read is not what is
# measured):
#   2022-11-19 10:00 ns   with its certificates (8 good signatures: 8 RSA
#                         verifications, the SHA-1 pass of ns): without,
#                         --certs, --certs --sign-key;
#   2026-06-27 04:00 md   the largest live consensus (9609 relays):
#                         without and --sign-key.  No certificates of 2026
#                         are in the test data, so --certs cannot accept it;
#                         its cost is the 2022 figure's (the same work:
#                         the certificate file, one digest snapshot, one
#                         RSA verification per signature).
#
# usage: bench/bench_apply_trust.sh [--reps N] [--build DIR]
# Environment: EXITSTAGE (default DIR/exitstage), EXST_SHARED (default
# ../shared/testdata beside the source tree).

set -u
reps=21
build=build
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h | --help) sed -n '3,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_apply_trust.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
E=${EXITSTAGE:-$build/exitstage}
SHARED=${EXST_SHARED:-$SRC/../shared/testdata}
[ -x "$E" ] || { echo "bench_apply_trust.sh: '$E' not executable" >&2; exit 2; }
if [ ! -d "$SHARED/live" ] || ! command -v zstd >/dev/null; then
    echo "bench_apply_trust: skipped (no shared test data or zstd)"
    exit 0
fi
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
W=$(mktemp -d "$base/exst-bench-trust.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT

zstd -qdc "$SHARED/live/consensus-ns-2022-11-19-10-00-00.zst" >"$W/ns22"
zstd -qdc "$SHARED/live/consensus-microdesc-2026-06-27-04-00-00.zst" >"$W/md26"
tr -d '\r' <"$SHARED/samples/authority-certs-2022-11-safe_tor" >"$W/certs"
"$E" key generate --secret "$W/sk" --public "$W/pk" >/dev/null || exit 1
"$E" db init --db "$W/h.db" >/dev/null 2>&1 || exit 1

# The configurations: NAME|DOC|EXTRA ARGS.
configs=(
    "ns22 without|ns22|"
    "ns22 --certs|ns22|--certs $W/certs"
    "ns22 --certs --sign-key|ns22|--certs $W/certs --sign-key $W/sk"
    "md26 without|md26|"
    "md26 --sign-key|md26|--sign-key $W/sk"
)
declare -A times
for ((r = 0; r < reps; r++)); do
    for c in "${configs[@]}"; do
        IFS='|' read -r name doc extra <<<"$c"
        # shellcheck disable=SC2086
        t0=$(date +%s%N)
        "$E" apply --db "$W/h.db" --dry-run --max-future off \
            --now 2030-01-01T00:00:00Z -o "$W/out" --report "$W/report.json" \
            --staged-list "$W/staged" $extra "$W/$doc" 2>/dev/null
        st=$?
        t1=$(date +%s%N)
        if [ $st != 0 ]; then
            echo "bench_apply_trust: '$name' failed (status $st)" >&2
            exit 1
        fi
        times[$name]="${times[$name]:-} $(((t1 - t0) / 1000))"
    done
done

# best and median in ms, from microseconds
stats() {
    tr ' ' '\n' <<<"$1" | grep . | sort -n |
        awk '{ v[NR] = $1 } END { printf "%.2f %.2f", v[1] / 1000, v[int((NR + 1) / 2)] / 1000 }'
}
echo "bench_apply_trust: whole apply runs (--dry-run, outputs in $base), best of $reps, ms"
printf '  %-28s %8s %8s\n' configuration best median
declare -A best
for c in "${configs[@]}"; do
    name=${c%%|*}
    read -r b m <<<"$(stats "${times[$name]}")"
    best[$name]=$b
    printf '  %-28s %8s %8s\n' "$name" "$b" "$m"
done
awk -v a="${best[ns22 without]}" -v b="${best[ns22 --certs]}" \
    -v c="${best[ns22 --certs --sign-key]}" -v d="${best[md26 without]}" \
    -v e="${best[md26 --sign-key]}" 'BEGIN {
    printf "  --certs adds (ns22, best):            %+.2f ms (goal: at most 5 ms)\n", b - a
    printf "  --sign-key adds (ns22, 3 signatures): %+.2f ms\n", c - b
    printf "  --sign-key adds (md26, 3 signatures): %+.2f ms\n", e - d
}'
