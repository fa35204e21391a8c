#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# replay_integrity.sh - `exitstage replay` keeps SPEC 4.4 "Added in 0.2":
# the history is committed only up to the last document whose outputs were
# all written, a resumed replay continues its timeline to the bytes of a
# clean run, and inputs that cannot be peeked are never peeked.  Each part
# names the defect of 0.1 it pins:
#   (1) an --out-dir file that cannot be written (a directory in its
#       place): status 1, the history ends with the document before, the
#       rerun (fixed) completes to the bytes of a clean run; the same for a
#       full file system under --reports-dir (root: a small tmpfs) and for
#       --timeline - to a closed pipe;
#   (2) a failed commit (the history's file system full) is an error,
#       status 1, and the summary says the history could not be committed;
#   (3) SIGINT, then the same command: the timeline, history and out-dir
#       files are the bytes of one clean run (0.1 truncated the timeline
#       to the resumed part); then 100 SIGKILLs at random points, each
#       followed by the same command, converge to the same bytes (a
#       SIGKILL may leave a temporary file, never a partial output); 30
#       SIGINTs and SIGTERMs at random points leave no temporary file
#       (0.1 left *.tmp.* after 14 of 33) and a history db check accepts;
#   (4) a FIFO, <(...) and a FIFO whose first member is exactly 64 KiB are
#       read whole (0.1's peek consumed them);
#   (5) --out-dir/--reports-dir files are named by valid-after and
#       flavour, so two inputs with one base name never collide;
#   (6) '-' for a directory option, and an abbreviated option named in
#       full in the usage error (0.1 took --report - as --reports-dir -);
#   (7) without --db the history is in memory: no file, the same figures;
#       a replay that finds everything already in the history says so;
#       --since/--until limit the documents.
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN.
# Exit status: 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/common.bash"
E=${EXITSTAGE:-}
GEN=${EXST_GEN:-}
need_exe E GEN
need_cmd tar jq
make_tmp rinteg
mnt=""
bg=""
cleanup2() {
    [ -n "$bg" ] && kill "$bg" 2>/dev/null
    [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup2 EXIT

"$GEN" --out-dir "$TMP/g" --days 2 --relays 300 --seed 11 --flavor both \
    --missing-hours 0 >/dev/null || { echo "FAIL: generator"; exit 1; }
mapfile -t names < <(cd "$TMP/g" && ls | LC_ALL=C sort)
n=${#names[@]}
tar cf "$TMP/all.tar" -C "$TMP/g" "${names[@]}"
va_of() {
    sed -E 's/^([0-9]{4}-[0-9]{2}-[0-9]{2})-([0-9]{2})-00-00-consensus.*/\1T\2:00:00Z/' <<<"$1"
}
newest() { "$E" db dump --db "$1" | jq -r .newest; }
R=(--checkpoint 7 --staging-period 1d,2d)

# The clean run.
"$E" -q replay "${R[@]}" --db "$TMP/ref.db" --timeline "$TMP/ref.nd" \
    --out-dir "$TMP/ref.out" --reports-dir "$TMP/ref.rep" "$TMP/all.tar" ||
    fail "clean replay"
same_as_ref() { # DB TIMELINE OUTDIR
    cmp -s "$1" "$TMP/ref.db" && cmp -s "$2" "$TMP/ref.nd" &&
        { [ -z "${3:-}" ] || diff -r -q "$3" "$TMP/ref.out" >/dev/null; }
}

# ---- (1) an output that cannot be written ------------------------------
k=30
blocked=${names[k]}
mkdir -p "$TMP/1/out/$blocked"
"$E" -q replay "${R[@]}" --db "$TMP/1/h.db" --timeline "$TMP/1/t.nd" \
    --out-dir "$TMP/1/out" "$TMP/all.tar" 2>"$TMP/1/err"
st=$?
[ $st -eq 1 ] || fail "(1) out-dir blocked: status $st, want 1"
grep -q "is a directory" "$TMP/1/err" || fail "(1) message: $(head -1 "$TMP/1/err")"
[ "$(newest "$TMP/1/h.db")" = "$(va_of "${names[k - 1]}")" ] ||
    fail "(1) history newest $(newest "$TMP/1/h.db"), want the document before ${blocked}"
[ "$(wc -l <"$TMP/1/t.nd")" -eq $((2 * k)) ] ||
    fail "(1) $(wc -l <"$TMP/1/t.nd") timeline records, want $((2 * k))"
rmdir "$TMP/1/out/$blocked"
"$E" -q replay "${R[@]}" --db "$TMP/1/h.db" --timeline "$TMP/1/t.nd" \
    --out-dir "$TMP/1/out" "$TMP/all.tar" || fail "(1) rerun"
same_as_ref "$TMP/1/h.db" "$TMP/1/t.nd" "$TMP/1/out" ||
    fail "(1) the rerun does not give the clean run's bytes"
ok "(1) a blocked --out-dir file: status 1, history up to the document before, rerun converges"

# Timeline to a closed pipe.
"$E" -q replay "${R[@]}" --db "$TMP/1/p.db" --timeline - "$TMP/all.tar" \
    2>"$TMP/1/perr" | head -c 3000 >/dev/null
st=${PIPESTATUS[0]}
[ $st -eq 1 ] || fail "(1) timeline to a closed pipe: status $st"
got=$(newest "$TMP/1/p.db")
[ "$got" != null ] && [[ "$got" < "$(va_of "${names[n - 1]}")" ]] ||
    fail "(1) closed pipe: the history holds documents whose records were not written ($got)"
if [ "$(id -u)" -eq 0 ] && mkdir "$TMP/fs" &&
    mount -t tmpfs -o size=256k tmpfs "$TMP/fs" 2>/dev/null; then
    mnt="$TMP/fs"
    "$E" -q replay "${R[@]}" --db "$TMP/1/f.db" --timeline "$TMP/1/f.nd" \
        --reports-dir "$mnt/rep" "$TMP/all.tar" 2>"$TMP/1/ferr"
    st=$?
    [ $st -eq 1 ] && grep -qi "no space left" "$TMP/1/ferr" ||
        fail "(1) full --reports-dir: status $st, $(head -1 "$TMP/1/ferr")"
    nrep=$(ls "$mnt/rep" | grep -c '\.json$')
    [ "$(jq -r .processed < <("$E" db dump --db "$TMP/1/f.db"))" -eq "$nrep" ] ||
        fail "(1) full --reports-dir: the history holds a document without its report"
    ls "$mnt/rep" | grep -q '\.tmp\.' && fail "(1) temporary report left"
    rm -rf "$mnt/rep"
    ok "(1) a full file system under --reports-dir: status 1, every committed document has its report"

    # ---- (2) a failed commit is an error ---------------------------------
    dd if=/dev/zero of="$mnt/fill" bs=1k count=250 2>/dev/null
    "$E" replay "${R[@]}" --db "$mnt/h.db" "$TMP/all.tar" 2>"$TMP/2.err"
    st=$?
    [ $st -eq 1 ] || fail "(2) full disk under the history: status $st, want 1"
    grep -qi "cannot .*history.*no space left" "$TMP/2.err" ||
        fail "(2) message: $(grep -i history "$TMP/2.err" | head -1)"
    grep -q "the history could NOT be committed" "$TMP/2.err" ||
        fail "(2) the summary does not say the commit failed"
    grep -q "history committed up to" "$TMP/2.err" &&
        fail "(2) the summary claims a commit"
    ok "(2) a failed commit: status 1, reported as not committed"
    umount "$mnt" && mnt=""
else
    ok "(1, 2) full file system cases skipped: not root or no tmpfs"
fi

# ---- (3) interrupt and resume: the bytes of one clean run ----------------
"$GEN" --out-dir "$TMP/big" --days 4 --relays 2000 --seed 4 \
    --missing-hours 0 >/dev/null || fail "generator (big)"
mapfile -t bnames < <(cd "$TMP/big" && ls | LC_ALL=C sort)
tar cf "$TMP/big.tar" -C "$TMP/big" "${bnames[@]}"
"$E" -q replay "${R[@]}" --db "$TMP/bref.db" --timeline "$TMP/bref.nd" \
    --out-dir "$TMP/bref.out" "$TMP/big.tar" || fail "clean replay (big)"
t0=$(date +%s%N)
"$E" -q replay "${R[@]}" --db "$TMP/bt.db" --timeline "$TMP/bt.nd" \
    "$TMP/big.tar"
span_ms=$((($(date +%s%N) - t0) / 1000000 + 20))
rm -f "$TMP/bt.db" "$TMP/bt.nd"
caught=0
for d in 0.3 0.5 0.2 0.8 0.1; do
    rm -rf "$TMP/3" && mkdir "$TMP/3"
    "$E" -q replay "${R[@]}" --db "$TMP/3/h.db" --timeline "$TMP/3/t.nd" \
        --out-dir "$TMP/3/out" "$TMP/big.tar" 2>/dev/null &
    bg=$!
    sleep $d
    kill -INT $bg 2>/dev/null
    wait $bg
    st=$?
    bg=
    [ $st -eq 130 ] || continue
    caught=1
    "$E" -q replay "${R[@]}" --db "$TMP/3/h.db" --timeline "$TMP/3/t.nd" \
        --out-dir "$TMP/3/out" "$TMP/big.tar" || fail "(3) resume after SIGINT"
    cmp -s "$TMP/3/t.nd" "$TMP/bref.nd" ||
        fail "(3) interrupt + resume: the timeline is not the clean run's bytes"
    cmp -s "$TMP/3/h.db" "$TMP/bref.db" || fail "(3) interrupt + resume: history"
    diff -r -q "$TMP/3/out" "$TMP/bref.out" >/dev/null ||
        fail "(3) interrupt + resume: out-dir"
    break
done
[ $caught -eq 1 ] || fail "(3) could not interrupt a replay in 5 tries"
n_kill=0 bad=0
for i in $(seq 1 100); do
    ms=$((RANDOM % span_ms + 1))
    delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    (timeout --foreground -s KILL "$delay" "$E" -q replay "${R[@]}" --db "$TMP/3/k.db" \
        --timeline "$TMP/3/k.nd" --out-dir "$TMP/3/kout" "$TMP/big.tar"
     exit 0) 2>/dev/null
    if [ -e "$TMP/3/k.db" ] && ! "$E" db check --db "$TMP/3/k.db" >/dev/null 2>&1; then
        fail "(3) kill $i after ${delay}s: db check refuses the history"
        bad=1
        break
    fi
    n_kill=$((n_kill + 1))
    if [ $((i % 10)) -eq 0 ]; then
        # The same command converges to the clean run's bytes.
        "$E" -q replay "${R[@]}" --db "$TMP/3/k.db" --timeline "$TMP/3/k.nd" \
            --out-dir "$TMP/3/kout" "$TMP/big.tar" 2>/dev/null ||
            { fail "(3) rerun after kill $i"; bad=1; break; }
        cmp -s "$TMP/3/k.nd" "$TMP/bref.nd" && cmp -s "$TMP/3/k.db" "$TMP/bref.db" &&
            diff -r -q -x "*.tmp.*" "$TMP/3/kout" "$TMP/bref.out" >/dev/null ||
            { fail "(3) after kill $i the rerun is not the clean run's bytes"; bad=1; break; }
        rm -rf "$TMP/3/k.db" "$TMP/3/k.db.prev" "$TMP/3/k.nd" "$TMP/3/kout"
    fi
done
[ $bad -eq 0 ] &&
    ok "(3) SIGINT + resume and $n_kill SIGKILLs (within ${span_ms} ms) + rerun: the bytes of one clean run"

# SIGINT and SIGTERM at random points leave no temporary file anywhere
# (0.1 left *.tmp.* after 14 of 33 interrupted replays) and a history
# that db check accepts; the status is 128 + the signal, or 0 when the
# run finished first.
rm -rf "$TMP/3" && mkdir "$TMP/3"
n_sig=0 n_hit=0 bad=0
for i in $(seq 1 30); do
    ms=$((RANDOM % span_ms + 1))
    delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    if [ $((i % 2)) -eq 0 ]; then sig=INT want=130; else sig=TERM want=143; fi
    "$E" -q replay "${R[@]}" --db "$TMP/3/s.db" --timeline "$TMP/3/s.nd" \
        --out-dir "$TMP/3/sout" --reports-dir "$TMP/3/srep" \
        "$TMP/big.tar" 2>/dev/null &
    bg=$!
    sleep "$delay"
    kill -$sig $bg 2>/dev/null
    wait $bg
    st=$?
    bg=
    n_sig=$((n_sig + 1))
    [ $st -eq $want ] && n_hit=$((n_hit + 1))
    if [ $st -ne $want ] && [ $st -ne 0 ]; then
        fail "(3) SIG$sig after ${delay}s: status $st, expected $want or 0"
        bad=1
        break
    fi
    left=$(find "$TMP/3" -name '*.tmp.*' | head -3)
    if [ -n "$left" ]; then
        fail "(3) SIG$sig after ${delay}s left temporary files: $left"
        bad=1
        break
    fi
    if [ -e "$TMP/3/s.db" ] && ! "$E" db check --db "$TMP/3/s.db" >/dev/null 2>&1; then
        fail "(3) SIG$sig after ${delay}s: db check refuses the history"
        bad=1
        break
    fi
    [ $((i % 6)) -eq 0 ] && rm -rf "$TMP/3"/*
done
[ $bad -eq 0 ] && [ $n_hit -ge 5 ] &&
    ok "(3) $n_sig SIGINT/SIGTERM at random points ($n_hit caught mid-run): no temporary file left, the history valid"
[ $bad -eq 0 ] && [ $n_hit -lt 5 ] &&
    fail "(3) only $n_hit of $n_sig signals arrived mid-run"

# ---- (4) inputs that are not regular files are never peeked -------------
mkfifo "$TMP/fifo"
cat "$TMP/all.tar" >"$TMP/fifo" &
"$E" -q replay --db "$TMP/4a.db" --timeline "$TMP/4a.nd" "$TMP/fifo" ||
    fail "(4) a FIFO"
wait
[ "$(wc -l <"$TMP/4a.nd")" -eq "$n" ] || fail "(4) FIFO: $(wc -l <"$TMP/4a.nd") records"
"$E" -q replay --db "$TMP/4b.db" --timeline "$TMP/4b.nd" <(cat "$TMP/all.tar") ||
    fail "(4) <(cat ...)"
cmp -s "$TMP/4a.nd" "$TMP/4b.nd" && [ "$(wc -l <"$TMP/4b.nd")" -eq "$n" ] ||
    fail "(4) <(cat ...): records differ"
# A first member of exactly 64 KiB (0.1: one document fewer).
head -c 65536 /dev/zero | tr '\0' 'x' >"$TMP/PADDING"
(cd "$TMP" && tar cf "$TMP/pad.tar" PADDING) &&
    tar rf "$TMP/pad.tar" -C "$TMP/g" "${names[@]}"
cat "$TMP/pad.tar" >"$TMP/fifo" &
"$E" -q replay --db "$TMP/4c.db" --timeline "$TMP/4c.nd" "$TMP/fifo" ||
    fail "(4) FIFO with a 64 KiB first member"
wait
cmp -s "$TMP/4c.nd" "$TMP/4a.nd" || fail "(4) 64 KiB first member: records differ"
ok "(4) FIFO, <(...), and a 64 KiB first member: every document read"

# ---- (5) output names by valid-after and flavour ------------------------
mkdir -p "$TMP/5/a" "$TMP/5/b"
cp "$TMP/g/${names[0]}" "$TMP/5/a/cached-consensus"
cp "$TMP/g/${names[1]}" "$TMP/5/b/cached-consensus"
"$E" -q replay --out-dir "$TMP/5/out" --reports-dir "$TMP/5/rep" \
    "$TMP/5/a/cached-consensus" "$TMP/5/b/cached-consensus" ||
    fail "(5) replay"
[ "$(ls "$TMP/5/out")" = "$(printf '%s\n' "${names[0]}" "${names[1]}")" ] ||
    fail "(5) out-dir names: $(ls "$TMP/5/out" | tr '\n' ' ')"
[ "$(ls "$TMP/5/rep" | wc -l)" -eq 2 ] || fail "(5) reports collide"
ok "(5) outputs named by valid-after and flavour: $(ls "$TMP/5/out" | tr '\n' ' ')"

# ---- (6) directory options and abbreviations ----------------------------
"$E" replay --reports-dir - "$TMP/all.tar" 2>"$TMP/6.err"
st=$?
[ $st -eq 2 ] && grep -q "^exitstage: --reports-dir: '-' is not a directory$" "$TMP/6.err" ||
    fail "(6) --reports-dir -: status $st, $(head -1 "$TMP/6.err")"
"$E" replay --report - "$TMP/all.tar" 2>"$TMP/6.err"
st=$?
[ $st -eq 2 ] && grep -q "^exitstage: --reports-dir (given as --report): '-' is not a directory$" "$TMP/6.err" ||
    fail "(6) --report -: status $st, $(head -1 "$TMP/6.err")"
"$E" replay --out - "$TMP/all.tar" 2>"$TMP/6.err"
[ $? -eq 2 ] && grep -q "^exitstage: --out-dir (given as --out): '-' is not a directory$" "$TMP/6.err" ||
    fail "(6) --out -: $(head -1 "$TMP/6.err")"
ok "(6) '-' refused for directories; an abbreviation named in full"

# ---- (7) in memory, nothing new, --since/--until --------------------------
"$E" replay --summary "$TMP/7.json" --timeline "$TMP/7.nd" "$TMP/all.tar" \
    2>/dev/null || fail "(7) replay without --db"
[ -z "$(find "$TMP" -maxdepth 1 -name '*.db' -newer "$TMP/all.tar" ! -name 'ref.db' ! -name '4?.db' ! -name 'bref.db' ! -name 'bt.db')" ] ||
    fail "(7) a history file appeared without --db"
"$E" -q replay --db "$TMP/7.db" --summary "$TMP/7b.json" "$TMP/all.tar" ||
    fail "(7) with --db"
jq -S 'del(.archive)' "$TMP/7.json" >"$TMP/7a.s" &&
    jq -S 'del(.archive)' "$TMP/7b.json" >"$TMP/7b.s" &&
    cmp -s "$TMP/7a.s" "$TMP/7b.s" || fail "(7) in memory and on disk give other figures"
"$E" replay --db "$TMP/7.db" "$TMP/all.tar" 2>"$TMP/7.err" || fail "(7) again"
grep -q "^  nothing new: all $n consensuses were already in the history, so nothing was analysed$" \
    "$TMP/7.err" || fail "(7) nothing new: $(sed -n 2p "$TMP/7.err")"
"$E" -q replay --since 2026-01-01T10:00:00Z --until 2026-01-01T19:00:00Z \
    --timeline "$TMP/7s.nd" --summary "$TMP/7s.json" "$TMP/all.tar" ||
    fail "(7) --since/--until"
[ "$(jq -r .valid_after "$TMP/7s.nd" | sort -u | sed -n '1p;$p' | tr '\n' ' ')" = \
  "2026-01-01T10:00:00Z 2026-01-01T19:00:00Z " ] && [ "$(wc -l <"$TMP/7s.nd")" -eq 20 ] ||
    fail "(7) --since/--until: records $(wc -l <"$TMP/7s.nd")"
[ "$(jq .archive.skipped.outside_since_until "$TMP/7s.json")" -eq $((n - 20)) ] ||
    fail "(7) --since/--until: skipped count"
ok "(7) in-memory history, 'nothing new', --since/--until"

finish
