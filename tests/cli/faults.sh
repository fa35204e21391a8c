#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# faults.sh - `exitstage apply` under faults (SPEC 4.4, 6): the history is
# never corrupted or half-written and no partial output appears.
#   (a) corrupt histories (flipped bytes, truncated, empty, a directory):
#       status 1, a clear message naming the file, the file byte-identical,
#       no output file;
#   (b) SIGKILL at random moments during apply (40 runs): `db check`
#       passes and the history is either the old or the new bytes; the
#       output is absent or complete;
#   (c) full file system (a 600k tmpfs; skipped when mount is not
#       allowed): status 1, history unchanged, no partial output, no
#       temporary file left; a full disk under the history alone leaves
#       the output elsewhere untouched (everything is written before
#       anything is renamed);
#   (d) closed standard output: status 1, history unchanged;
#   (e) two concurrent applies on one history (the 2020-02-29 10:00 and
#       11:00 ns documents; the first is held inside its commit window
#       by a reader of its stdout that waits for a signal file): without
#       --wait the second fails with status 1 and "database ... is
#       locked"; with --wait both succeed, and the history has both
#       (newest 11:00, 2 processed) and equals the history of the two
#       applied one after the other;
#   (f) --dry-run commits nothing.
#
# Exit status: 0 pass, 1 fail, 77 skip (no shared test data).
set -u

: "${EXITSTAGE:?EXITSTAGE must name the exitstage binary}"
E=$EXITSTAGE
LIVE="${EXST_SHARED:-}/live"
DOC10="$LIVE/consensus-ns-2020-02-29-10-00-00-collector.zst"
DOC11="$LIVE/consensus-ns-2020-02-29-11-00-00-collector.zst"
PY=/usr/bin/python3

if [ ! -f "$DOC10" ] || [ ! -f "$DOC11" ]; then
    echo "SKIP: $LIVE (2020-02-29 10:00/11:00 ns) is absent"
    exit 77
fi

tmp=$(mktemp -d)
mnt=""
cleanup() {
    if [ -n "$mnt" ]; then
        umount "$mnt" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0

bad() {
    echo "FAIL: $*"
    fail=1
}

# The old history (after 10:00) and the new one (after 10:00, 11:00) and
# the complete 11:00 output, for comparisons.
"$E" db init --db "$tmp/old.db" || bad "db init"
"$E" apply --db "$tmp/old.db" -o "$tmp/out10" "$DOC10" || bad "apply 10:00"
cp "$tmp/old.db" "$tmp/new.db"
"$E" apply --db "$tmp/new.db" -o "$tmp/out11" "$DOC11" || bad "apply 11:00"
if cmp -s "$tmp/old.db" "$tmp/new.db"; then
    bad "the 11:00 apply did not change the history"
fi

# ---- (a) corrupt histories -------------------------------------------
# expect_refused NAME PATTERN: apply on $tmp/a/NAME must fail with status
# 1 and a message matching PATTERN; the file must be unchanged and no
# output (or temporary output) may appear.
expect_refused() {
    local db="$tmp/a/$1" pat="$2" st
    local before="$tmp/a/before"
    if [ -d "$db" ]; then
        ls -la "$db" >"$before"
    else
        cp "$db" "$before"
    fi
    rm -f "$tmp/a/out"*
    "$E" apply --db "$db" -o "$tmp/a/out" "$DOC11" 2>"$tmp/a/err"
    st=$?
    [ "$st" -eq 1 ] || bad "(a) $1: status $st, want 1"
    if ! grep -Eq "$pat" "$tmp/a/err"; then
        bad "(a) $1: message '$(head -1 "$tmp/a/err")' does not match '$pat'"
    fi
    grep -qF "$db" "$tmp/a/err" || bad "(a) $1: message does not name the file"
    if [ -d "$db" ]; then
        ls -la "$db" | cmp -s - "$before" || bad "(a) $1: directory changed"
    else
        cmp -s "$db" "$before" || bad "(a) $1: file changed"
    fi
    if compgen -G "$tmp/a/out*" >/dev/null; then
        bad "(a) $1: output file created: $(ls "$tmp/a"/out*)"
    fi
    # and db check refuses it too
    "$E" db check --db "$db" >/dev/null 2>&1
    st=$?
    [ "$st" -eq 1 ] || bad "(a) $1: db check status $st, want 1"
}

mkdir "$tmp/a"
size=$(stat -c %s "$tmp/old.db")
for off in 0 7 8 16 40 $((size / 2)) $((size - 5)) $((size - 1)); do
    cp "$tmp/old.db" "$tmp/a/flip$off.db"
    "$PY" -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[o] ^= 0x10
open(p, "wb").write(b)' "$tmp/a/flip$off.db" "$off"
    expect_refused "flip$off.db" "corrupt|not an exitstage history|bad magic|version|checksum"
done
for len in 1 16 $((size / 2)) $((size - 1)); do
    head -c "$len" "$tmp/old.db" >"$tmp/a/trunc$len.db"
    expect_refused "trunc$len.db" "truncated|corrupt|not an exitstage history"
done
cp "$tmp/old.db" "$tmp/a/long.db"
printf 'x' >>"$tmp/a/long.db"
expect_refused long.db "corrupt|trailing|truncated|size"
: >"$tmp/a/empty.db"
expect_refused empty.db "empty"
mkdir "$tmp/a/dir.db"
expect_refused dir.db "directory"
echo "(a) corrupt histories: done"

# ---- (b) SIGKILL during apply ----------------------------------------
mkdir "$tmp/b"
# Kill at a random moment within one apply's running time (measured).
cp "$tmp/old.db" "$tmp/b/h.db"
t0=$(date +%s%N)
"$E" apply --db "$tmp/b/h.db" -o "$tmp/b/out" "$DOC11" || bad "(b) timing run"
span_ms=$((($(date +%s%N) - t0) / 1000000 + 5))
n_old=0
n_new=0
for i in $(seq 1 40); do
    cp "$tmp/old.db" "$tmp/b/h.db"
    rm -f "$tmp/b/out"
    ms=$((RANDOM % span_ms + 1)) # timeout 0 would mean no timeout
    delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    (timeout --foreground -s KILL "$delay" "$E" apply --db "$tmp/b/h.db" \
        -o "$tmp/b/out" "$DOC11"; exit 0) 2>/dev/null
    if ! "$E" db check --db "$tmp/b/h.db" >/dev/null 2>"$tmp/b/err"; then
        bad "(b) run $i (kill after ${delay}s): db check: $(cat "$tmp/b/err")"
    fi
    if cmp -s "$tmp/b/h.db" "$tmp/old.db"; then
        n_old=$((n_old + 1))
    elif cmp -s "$tmp/b/h.db" "$tmp/new.db"; then
        n_new=$((n_new + 1))
    else
        bad "(b) run $i (kill after ${delay}s): history is neither old nor new"
    fi
    if [ -e "$tmp/b/out" ] && ! cmp -s "$tmp/b/out" "$tmp/out11"; then
        bad "(b) run $i (kill after ${delay}s): partial output"
    fi
done
echo "(b) SIGKILL within ${span_ms} ms: 40 runs, $n_old left the old" \
    "history, $n_new the new"

# ---- (c) full file system --------------------------------------------
mkdir "$tmp/c"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=600k tmpfs "$tmp/c" \
    2>/dev/null; then
    mnt="$tmp/c"
    # The output (3 MB) does not fit.
    cp "$tmp/old.db" "$mnt/h.db"
    "$E" apply --db "$mnt/h.db" -o "$mnt/out" "$DOC11" 2>"$tmp/err.c"
    st=$?
    [ "$st" -eq 1 ] || bad "(c) output on a full disk: status $st, want 1"
    grep -qi "No space left on device" "$tmp/err.c" ||
        bad "(c) message: $(cat "$tmp/err.c")"
    cmp -s "$mnt/h.db" "$tmp/old.db" || bad "(c) history changed"
    left=$(cd "$mnt" && ls -A | grep -v -x -e h.db -e h.db.lock)
    [ -z "$left" ] || bad "(c) files left after a failed output: $left"
    # The history itself does not fit: fill the disk, output elsewhere.
    dd if=/dev/zero of="$mnt/filler" bs=1k count=2000 2>/dev/null
    "$E" apply --db "$mnt/h.db" -o "$tmp/c-out" "$DOC11" 2>"$tmp/err.c"
    st=$?
    [ "$st" -eq 1 ] || bad "(c) history on a full disk: status $st, want 1"
    cmp -s "$mnt/h.db" "$tmp/old.db" || bad "(c) history changed (full)"
    # SPEC 4.4 0.2: the history's temporary file is written before any
    # output is renamed, so its failure leaves the output as it was.
    [ ! -e "$tmp/c-out" ] || bad "(c) output renamed before a failed commit"
    left=$(cd "$mnt" && ls -A | grep -v -x -e h.db -e h.db.lock -e filler)
    [ -z "$left" ] || bad "(c) files left after a failed commit: $left"
    "$E" db check --db "$mnt/h.db" >/dev/null || bad "(c) db check"
    echo "(c) full file system: done ($(head -1 "$tmp/err.c"))"
    umount "$mnt" && mnt=""
else
    echo "SKIP (part c): cannot mount a small tmpfs (needs root)"
fi

# ---- (d) closed standard output --------------------------------------
mkdir "$tmp/d"
cp "$tmp/old.db" "$tmp/d/h.db"
"$E" apply --db "$tmp/d/h.db" "$DOC11" 2>"$tmp/d/err" | head -c 10 >/dev/null
st=${PIPESTATUS[0]}
[ "$st" -eq 1 ] || bad "(d) closed stdout: status $st, want 1"
grep -q "standard output" "$tmp/d/err" ||
    bad "(d) message: $(cat "$tmp/d/err")"
cmp -s "$tmp/d/h.db" "$tmp/old.db" || bad "(d) history changed"
echo "(d) closed stdout: done ($(head -1 "$tmp/d/err"))"

# ---- (e) concurrent writers ------------------------------------------
mkdir "$tmp/e"
# The first apply (10:00) writes 3 MB to standard output, a pipe whose
# reader waits for the file "go": it holds the lock inside its commit
# window until then.  lock_held polls the lock side file with flock(1).
lock_held() {
    local i
    for i in $(seq 1 200); do
        if ! flock -n "$tmp/e/h.db.lock" true 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}
start_slow_writer() {
    rm -f "$tmp/e/go"
    # --wait: lock_held's own probe holds the lock for an instant.
    ( "$E" apply --wait --db "$tmp/e/h.db" "$DOC10" 2>"$tmp/e/err1"
      echo $? >"$tmp/e/st1" ) |
        { while [ ! -e "$tmp/e/go" ]; do sleep 0.05; done; cat >/dev/null; } &
    slow=$!
    lock_held || bad "(e) the first writer never took the lock"
}

"$E" db init --db "$tmp/e/h.db" || bad "(e) db init"
start_slow_writer
"$E" apply --db "$tmp/e/h.db" -o "$tmp/e/out11" "$DOC11" 2>"$tmp/e/err2"
st=$?
touch "$tmp/e/go"
wait "$slow"
[ "$st" -eq 1 ] || bad "(e) second writer without --wait: status $st, want 1"
grep -Eq "database .*is locked|database is locked" "$tmp/e/err2" ||
    bad "(e) message: $(cat "$tmp/e/err2")"
grep -qF "$tmp/e/h.db" "$tmp/e/err2" ||
    bad "(e) the locked message does not name the database"
[ "$(cat "$tmp/e/st1")" = 0 ] || bad "(e) first writer: $(cat "$tmp/e/err1")"
[ ! -e "$tmp/e/out11" ] || bad "(e) locked apply wrote its output"
"$E" db check --db "$tmp/e/h.db" >"$tmp/e/check" || bad "(e) db check"
grep -q "1 consensus processed.*newest 2020-02-29T10:00:00Z" \
    "$tmp/e/check" || bad "(e) history: $(cat "$tmp/e/check")"
echo "(e) without --wait: $(head -1 "$tmp/e/err2")"

rm -f "$tmp/e/h.db"
"$E" db init --db "$tmp/e/h.db" || bad "(e) db init"
start_slow_writer
"$E" apply --wait --db "$tmp/e/h.db" -o "$tmp/e/out11" "$DOC11" \
    2>"$tmp/e/err2" &
second=$!
sleep 1 # the second writer is now waiting for the lock
touch "$tmp/e/go"
wait "$second"
st=$?
wait "$slow"
[ "$st" -eq 0 ] || bad "(e) second writer with --wait: status $st: $(cat "$tmp/e/err2")"
[ "$(cat "$tmp/e/st1")" = 0 ] || bad "(e) first writer: $(cat "$tmp/e/err1")"
"$E" db check --db "$tmp/e/h.db" >"$tmp/e/check" || bad "(e) db check"
grep -q "2 consensuses processed.*newest 2020-02-29T11:00:00Z" \
    "$tmp/e/check" || bad "(e) history with --wait: $(cat "$tmp/e/check")"
cmp -s "$tmp/e/h.db" "$tmp/new.db" ||
    bad "(e) history with --wait differs from the sequential one"
echo "(e) with --wait: $(cat "$tmp/e/check")"

# ---- (f) --dry-run ---------------------------------------------------
mkdir "$tmp/f"
cp "$tmp/old.db" "$tmp/f/h.db"
"$E" apply --dry-run --db "$tmp/f/h.db" -o "$tmp/f/out" \
    --report "$tmp/f/rep.json" "$DOC11" || bad "(f) dry run failed"
cmp -s "$tmp/f/h.db" "$tmp/old.db" || bad "(f) --dry-run changed the history"
cmp -s "$tmp/f/out" "$tmp/out11" || bad "(f) dry-run output differs"
# twice: still the same (nothing was committed)
"$E" apply --dry-run --db "$tmp/f/h.db" -o "$tmp/f/out2" "$DOC11" ||
    bad "(f) second dry run failed"
cmp -s "$tmp/f/out2" "$tmp/out11" || bad "(f) second dry-run output differs"
cmp -s "$tmp/f/h.db" "$tmp/old.db" || bad "(f) --dry-run changed the history"
echo "(f) --dry-run: done"

if [ "$fail" -ne 0 ]; then
    echo "faults: FAILED"
    exit 1
fi
echo "faults: ok"
exit 0
