#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench_replay.sh - SPEC 7: replay throughput from a zstd-compressed archive
# against `zstd -dc` alone on the same archive, and the replay's peak RSS.
# Not a test: it prints figures.
#
# Builds a synthetic CollecTor-style archive with exitstage-gen (default 14
# days x 7000 relays, both flavours: about 1.7 GB of consensus text), as a
# tar of the hourly files in time order compressed with zstd (level 3),
# then, REPS times each, alternating:
#   zstd -dc ARCHIVE >/dev/null
#   exitstage replay --quiet --db FRESH ARCHIVE         (one core)
#   exitstage replay --quiet --db FRESH --timeline /dev/null ARCHIVE
# and prints MB/s of decompressed data (best and median of the runs), the
# replay/zstd time ratio (goal: at most 2), the same from CPU time (less
# sensitive to a busy machine) and the replay's peak RSS.
#
# usage: bench/bench_replay.sh [--days N] [--relays N] [--reps N]
#                              [--build DIR] [--keep DIR]
# Environment: EXITSTAGE, EXST_GEN (default: DIR/exitstage and
# DIR/exitstage-gen, DIR = --build, default ./build); TMPDIR for the
# archive (needs about 2 GB free while it is built, ~0.5 GB after).
# --keep DIR keeps (and on a later run reuses) the archive in DIR.

set -u

days=14
relays=7000
reps=3
build=build
keep=
while [ $# -gt 0 ]; do
    case $1 in
    --days) days=$2; shift 2 ;;
    --relays) relays=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h | --help) sed -n '3,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_replay.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
EXITSTAGE=${EXITSTAGE:-$build/exitstage}
GEN=${EXST_GEN:-$build/exitstage-gen}
for x in "$EXITSTAGE" "$GEN"; do
    [ -x "$x" ] || { echo "bench_replay.sh: '$x' not executable" >&2; exit 2; }
done
command -v zstd >/dev/null || { echo "bench_replay.sh: zstd missing" >&2; exit 2; }
TIME=
[ -x /usr/bin/time ] && TIME=/usr/bin/time

WORK=$(mktemp -d "${TMPDIR:-/tmp}/exst-bench.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
if [ -n "$keep" ]; then
    mkdir -p "$keep" || exit 1
    archive=$keep/replay-${days}d-${relays}r.tar.zst
else
    archive=$WORK/replay.tar.zst
fi

now() { date +%s.%N; }
if [ ! -s "$archive" ] || [ ! -s "$archive.size" ]; then
    echo "generating $days days x $relays relays (both flavours) ..."
    t0=$(now)
    "$GEN" --out-dir "$WORK/g" --days "$days" --relays "$relays" \
        --flavor both --seed 1 >/dev/null || exit 1
    (cd "$WORK/g" && ls | LC_ALL=C sort) >"$WORK/list"
    tar cf "$WORK/replay.tar" -C "$WORK/g" -T "$WORK/list" || exit 1
    rm -rf "$WORK/g"
    wc -c <"$WORK/replay.tar" >"$archive.size"
    zstd -q -3 -T0 "$WORK/replay.tar" -o "$archive.tmp" && \
        mv "$archive.tmp" "$archive" || exit 1
    rm -f "$WORK/replay.tar"
    echo "  built in $(awk "BEGIN{printf \"%.1f\", $(now) - $t0}") s"
fi
raw=$(cat "$archive.size")
comp=$(wc -c <"$archive")
printf 'archive: %s\n  %.1f MB decompressed, %.1f MB zstd\n' \
    "$archive" "$(awk "BEGIN{print $raw / 1e6}")" \
    "$(awk "BEGIN{print $comp / 1e6}")"
cat "$archive" >/dev/null # warm the page cache

# timed LABEL CMD...: wall seconds to $WORK/LABEL.t, peak KB to LABEL.kb
timed() {
    local label=$1
    shift
    local t0 t1
    t0=$(now)
    if [ -n "$TIME" ]; then
        $TIME -f '%M %U %S' -o "$WORK/$label.kb1" "$@" || return 1
        awk '{print $1}' "$WORK/$label.kb1" >>"$WORK/$label.kb"
        awk '{print $2 + $3}' "$WORK/$label.kb1" >>"$WORK/$label.cpu"
    else
        "$@" || return 1
    fi
    t1=$(now)
    awk "BEGIN{print $t1 - $t0}" >>"$WORK/$label.t"
}

for r in $(seq 1 "$reps"); do
    timed zstd sh -c 'zstd -qdc "$1" >/dev/null' sh "$archive" ||
        { echo "zstd -dc failed" >&2; exit 1; }
    rm -f "$WORK/h.db" "$WORK/h.db.lock"
    timed replay "$EXITSTAGE" replay --threads 1 --quiet --db "$WORK/h.db" \
        "$archive" 2>"$WORK/replay.err" || { cat "$WORK/replay.err"; exit 1; }
    rm -f "$WORK/h.db" "$WORK/h.db.lock"
    timed timeline "$EXITSTAGE" replay --threads 1 --quiet --db "$WORK/h.db" \
        --timeline /dev/null "$archive" 2>"$WORK/tl.err" ||
        { cat "$WORK/tl.err"; exit 1; }
    rm -f "$WORK/h.db" "$WORK/h.db.lock"
    timed threaded "$EXITSTAGE" replay --quiet --db "$WORK/h.db" \
        "$archive" 2>"$WORK/th.err" || { cat "$WORK/th.err"; exit 1; }
    timed lanes12 "$EXITSTAGE" replay --quiet \
        --staging-period 1d,2d,4d,7d --reset-after 12h,24h,48h \
        --summary /dev/null "$archive" 2>"$WORK/l12.err" ||
        { cat "$WORK/l12.err"; exit 1; }
    timed lanes1 "$EXITSTAGE" replay --quiet --summary /dev/null \
        "$archive" 2>"$WORK/l1.err" || { cat "$WORK/l1.err"; exit 1; }
    echo "  run $r: zstd -dc $(tail -n 1 "$WORK/zstd.t") s," \
        "replay $(tail -n 1 "$WORK/replay.t") s," \
        "replay --timeline $(tail -n 1 "$WORK/timeline.t") s," \
        "replay (default threads) $(tail -n 1 "$WORK/threaded.t") s," \
        "1 lane $(tail -n 1 "$WORK/lanes1.t") s," \
        "12 lanes $(tail -n 1 "$WORK/lanes12.t") s"
done
"$EXITSTAGE" replay --db "$WORK/h2.db" "$archive" 2>&1 |
    grep -E 'consensuses processed'

stat_line() { # LABEL NAME
    sort -g "$WORK/$1.t" | awk -v raw="$raw" -v name="$2" '
        { t[NR] = $1 }
        END {
            best = t[1]; med = t[int((NR + 1) / 2)]
            printf "%-28s best %7.3f s %8.1f MB/s   median %7.3f s %8.1f MB/s\n",
                name, best, raw / best / 1e6, med, raw / med / 1e6
        }'
}
echo
stat_line zstd "zstd -dc >/dev/null"
stat_line replay "replay (one thread)"
stat_line timeline "replay --timeline (one thr.)"
stat_line threaded "replay (default threads)"
stat_line lanes1 "replay, 1 lane, --summary"
stat_line lanes12 "replay, 12 lanes, --summary"
zb=$(sort -g "$WORK/zstd.t" | head -n 1)
rb=$(sort -g "$WORK/replay.t" | head -n 1)
tb=$(sort -g "$WORK/timeline.t" | head -n 1)
hb=$(sort -g "$WORK/threaded.t" | head -n 1)
awk -v z="$zb" -v r="$rb" -v t="$tb" -v h="$hb" 'BEGIN {
    printf "ratio replay / zstd -dc (best times): one thread %.2f (goal <= 2), with --timeline %.2f; default threads %.2f (goal <= 1.15)\n",
        r / z, t / z, h / z }'
l1=$(sort -g "$WORK/lanes1.t" | head -n 1)
l12=$(sort -g "$WORK/lanes12.t" | head -n 1)
awk -v a="$l1" -v b="$l12" 'BEGIN { printf "lanes: 12 lanes / 1 lane %.2f (goal <= 1.5)\n", b / a }'
if [ -n "$TIME" ]; then
    zc=$(sort -g "$WORK/zstd.cpu" | head -n 1)
    rc=$(sort -g "$WORK/replay.cpu" | head -n 1)
    awk -v z="$zc" -v r="$rc" -v raw="$raw" 'BEGIN {
        printf "CPU time (user+sys, best): zstd -dc %.2f s (%.1f MB/s), replay %.2f s (%.1f MB/s), ratio %.2f\n",
            z, raw / z / 1e6, r, raw / r / 1e6, r / z }'
    echo "peak RSS: replay $(sort -n "$WORK/replay.kb" | tail -n 1) KB," \
        "replay --timeline $(sort -n "$WORK/timeline.kb" | tail -n 1) KB," \
        "zstd -dc $(sort -n "$WORK/zstd.kb" | tail -n 1) KB"
fi

# ---- .tar.xz pieces, as CollecTor's monthly tarballs are downloaded -----
# The same documents split into EXST_BENCH_PIECES (default 4) tar.xz
# pieces: replay them as downloaded, one thread and the default, against
# `xz -dc` of the pieces one after the other (goal, SPEC 7: at most 0.6x
# on 2 cores).
if command -v xz >/dev/null; then
    pieces=${EXST_BENCH_PIECES:-4}
    echo
    # Kept beside the archive with --keep (xz -6 takes minutes).
    xdir=$WORK/xz
    [ -n "$keep" ] && xdir=$keep/xz-${days}d-${relays}r-${pieces}p
    if [ ! -e "$xdir/complete" ]; then
        echo "splitting the archive into $pieces .tar.xz pieces (xz -6) ..."
        rm -rf "$xdir" && mkdir -p "$xdir" "$WORK/x" || exit 1
        zstd -qdc "$archive" | tar xf - -C "$WORK/x" || exit 1
        (cd "$WORK/x" && ls | LC_ALL=C sort) >"$WORK/xlist"
        total=$(wc -l <"$WORK/xlist")
        per=$(((total + pieces - 1) / pieces))
        split -l "$per" -d "$WORK/xlist" "$xdir/xpart."
        for part in "$xdir"/xpart.??; do
            tar cf "$part.tar" -C "$WORK/x" -T "$part" || exit 1
            xz -6 -T0 -q "$part.tar" || exit 1
            rm -f "$part"
        done
        rm -rf "$WORK/x"
        touch "$xdir/complete"
    fi
    xs=("$xdir"/xpart.??.tar.xz)
    xcomp=$(cat "${xs[@]}" | wc -c)
    printf '  %d pieces, %.1f MB xz\n' "${#xs[@]}" \
        "$(awk "BEGIN{print $xcomp / 1e6}")"
    for r in $(seq 1 "$reps"); do
        timed xzdc sh -c 'for f; do xz -dc "$f"; done >/dev/null' sh \
            "${xs[@]}" || { echo "xz -dc failed" >&2; exit 1; }
        timed xz1 "$EXITSTAGE" replay --threads 1 --quiet "${xs[@]}" \
            2>"$WORK/x1.err" || { cat "$WORK/x1.err"; exit 1; }
        timed xzN "$EXITSTAGE" replay --quiet "${xs[@]}" \
            2>"$WORK/xn.err" || { cat "$WORK/xn.err"; exit 1; }
        echo "  run $r: xz -dc one after the other $(tail -n 1 "$WORK/xzdc.t") s," \
            "replay --threads 1 $(tail -n 1 "$WORK/xz1.t") s," \
            "replay (default: $(nproc) threads) $(tail -n 1 "$WORK/xzN.t") s"
    done
    stat_line xzdc "xz -dc, one after the other"
    stat_line xz1 "replay .tar.xz, one thread"
    stat_line xzN "replay .tar.xz, default thr."
    a=$(sort -g "$WORK/xzdc.t" | head -n 1)
    b=$(sort -g "$WORK/xz1.t" | head -n 1)
    c=$(sort -g "$WORK/xzN.t" | head -n 1)
    awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {
        printf "ratio replay / sequential xz -dc (best): one thread %.2f; default threads %.2f (goal <= 0.6 on 2 cores)\n", b / a, c / a }'
    if [ -n "$TIME" ]; then
        echo "peak RSS: replay .tar.xz, one thread $(sort -n "$WORK/xz1.kb" | tail -n 1) KB," \
            "default threads $(sort -n "$WORK/xzN.kb" | tail -n 1) KB"
    fi
fi
