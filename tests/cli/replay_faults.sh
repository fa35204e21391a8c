#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# replay_faults.sh - `exitstage replay` under bad input and interruption
# (SPEC 2.2, 4.4, 5):
#   a  members out of time order (a reversed tar on stdin and as a file,
#      two tars concatenated in the wrong order, overlapping tars): status
#      3, the error names the member and says "out of order", the history
#      holds what came before and passes db check;
#   b  a corrupt member in a tar (garbage under the same name, a document
#      cut mid-line, one cut at a line end), a truncated tar, a truncated
#      zstd tar: status 3 naming the member or archive; the history is
#      committed as of the last good consensus (db check passes, newest is
#      the document just before the bad one); after fixing the member the
#      same command resumes ("already in the history: K skipped"), exits 0
#      and ends with the history and records of a clean replay;
#   c  --keep-going: status 0, the summary lists the skipped member (in a
#      tar, and a bad loose file found while sorting); without it a bad
#      loose file is status 3 naming it;
#   d  SIGINT: mid-run (caught by retrying with shorter delays) and while
#      blocked on a stdin pipe: status 130, db check accepts the history,
#      and resuming ends with the history of an uninterrupted replay; a
#      SIGINT while the producer stalls is acted on promptly and not lost
#      when the stream then ends;
#   e  a history with the other clock: status 2, history unchanged;
#   f  the same document twice: skipped as a duplicate, no extra record;
#   g  a path that does not exist: status 1, no history created.
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

EXITSTAGE=${EXITSTAGE:-}
GEN=${EXST_GEN:-}
need_exe EXITSTAGE GEN
need_cmd tar zstd jq

TMP=$(mktemp -d "${TMPDIR:-/tmp}/exst-rfaults.XXXXXX") || exit 1
bgpid=
cleanup() {
    [ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# (Not for background jobs: kill must reach exitstage, not a subshell.)
X() { "$EXITSTAGE" "$@"; }
newest() { X db dump --db "$1" | jq -r .newest; }
dbcheck() { X db check --db "$1" >/dev/null 2>&1; }
# File name -> valid-after, as CollecTor names are built from it.
va_of() {
    sed -E 's/^([0-9]{4}-[0-9]{2}-[0-9]{2})-([0-9]{2})-00-00-consensus.*/\1T\2:00:00Z/' \
        <<<"$1"
}
# mktar OUT DIR NAME...: a tar of those members, in that order.
mktar() {
    local out=$1 dir=$2
    shift 2
    (cd "$dir" && tar cf "$out" "$@")
}

"$GEN" --out-dir "$TMP/g" --days 1 --relays 200 --seed 5 \
    --missing-hours 1 >/dev/null || {
    echo "FAIL: generation failed"
    exit 1
}
mapfile -t names < <(cd "$TMP/g" && ls | LC_ALL=C sort)
n=${#names[@]}
mktar "$TMP/all.tar" "$TMP/g" "${names[@]}"
X replay --db "$TMP/ref.db" --timeline "$TMP/ref.nd" "$TMP/g" \
    2>/dev/null || fail "clean replay failed"
last=$(va_of "${names[n - 1]}")

# --- a: out of order ----------------------------------------------------
mapfile -t rev < <(printf '%s\n' "${names[@]}" | LC_ALL=C sort -r)
mktar "$TMP/rev.tar" "$TMP/g" "${rev[@]}"
# rev: md and ns of the last hour (same hour: fine), then an older one.
culprit=${rev[2]}
X replay --db "$TMP/a1.db" - <"$TMP/rev.tar" 2>"$TMP/a1.err"
st=$?
[ $st -eq 3 ] || fail "reversed tar on stdin: status $st, expected 3"
grep -q "$culprit.*out of order" "$TMP/a1.err" ||
    fail "reversed tar on stdin: no 'out of order' naming $culprit: $(head -n 1 "$TMP/a1.err")"
dbcheck "$TMP/a1.db" || fail "reversed tar: db check"
[ "$(newest "$TMP/a1.db")" = "$last" ] ||
    fail "reversed tar: history newest $(newest "$TMP/a1.db"), expected $last"
X replay --db "$TMP/a2.db" "$TMP/rev.tar" 2>"$TMP/a2.err"
st=$?
[ $st -eq 3 ] && grep -q "$culprit.*out of order" "$TMP/a2.err" ||
    fail "reversed tar as a file: status $st, $(head -n 1 "$TMP/a2.err")"

half=24 # hours 0..11 (both flavours) in the first tar
mktar "$TMP/a.tar" "$TMP/g" "${names[@]:0:half}"
mktar "$TMP/b.tar" "$TMP/g" "${names[@]:half}"
cat "$TMP/b.tar" "$TMP/a.tar" |
    X replay --db "$TMP/a3.db" - 2>"$TMP/a3.err"
st=${PIPESTATUS[1]}
[ $st -eq 3 ] && grep -q "${names[0]}.*out of order" "$TMP/a3.err" ||
    fail "tars concatenated in the wrong order: status $st, $(head -n 1 "$TMP/a3.err")"
dbcheck "$TMP/a3.db" || fail "wrong-order tars: db check"
[ "$(newest "$TMP/a3.db")" = "$last" ] || fail "wrong-order tars: newest"
# Overlapping archives: taken by first member, the second's first member
# is older than what the first already gave.
mktar "$TMP/o.tar" "$TMP/g" "${names[@]:half-6}"
X replay --db "$TMP/a4.db" "$TMP/a.tar" "$TMP/o.tar" 2>"$TMP/a4.err"
st=$?
[ $st -eq 3 ] && grep -q "${names[half-6]}.*out of order" "$TMP/a4.err" ||
    fail "overlapping tars: status $st, $(head -n 1 "$TMP/a4.err")"
[ "$(newest "$TMP/a4.db")" = "$(va_of "${names[half-1]}")" ] ||
    fail "overlapping tars: history should end with the first tar"
ok "out-of-order members: status 3 naming the member, history kept"

# --- b: corrupt members ---------------------------------------------------
k=21 # an ns document, in the middle (index 21 = ns of hour 10 or 11)
[ "${names[k]%-microdesc}" = "${names[k]}" ] || k=$((k + 1))
bad=${names[k]}
prev_va=$(va_of "${names[k - 1]}")
corrupt_case() { # NAME MAKER: MAKER writes the bad member to $1
    local name=$1 maker=$2
    rm -rf "$TMP/c"
    cp -r "$TMP/g" "$TMP/c"
    $maker "$TMP/g/$bad" "$TMP/c/$bad"
    mktar "$TMP/$name.tar" "$TMP/c" "${names[@]}"
    X replay --db "$TMP/$name.db" --timeline "$TMP/$name.nd" \
        "$TMP/$name.tar" 2>"$TMP/$name.err"
    local st=$?
    [ $st -eq 3 ] || fail "$name: status $st, expected 3"
    grep -q "^exitstage: ${bad}:" "$TMP/$name.err" ||
        fail "$name: the error does not name $bad: $(head -n 1 "$TMP/$name.err")"
    grep -q 'stopped early' "$TMP/$name.err" ||
        fail "$name: the summary does not say it stopped early"
    dbcheck "$TMP/$name.db" || fail "$name: db check rejects the history"
    local nw
    nw=$(newest "$TMP/$name.db")
    [ "$nw" = "$prev_va" ] ||
        fail "$name: history newest $nw, expected $prev_va (just before $bad)"
    [ "$(wc -l <"$TMP/$name.nd")" -eq "$k" ] ||
        fail "$name: $(wc -l <"$TMP/$name.nd") records before the bad member, expected $k"
    # Fix the member; the same command resumes.
    mktar "$TMP/$name.tar" "$TMP/g" "${names[@]}"
    X replay --db "$TMP/$name.db" --timeline "$TMP/$name.nd2" \
        "$TMP/$name.tar" 2>"$TMP/$name.err2"
    st=$?
    [ $st -eq 0 ] || fail "$name: resumed replay status $st"
    grep -Eq "^  already in the history: +$k skipped " "$TMP/$name.err2" ||
        fail "$name: resumed replay does not report $k skipped"
    cmp -s "$TMP/$name.db" "$TMP/ref.db" ||
        fail "$name: resumed history differs from a clean replay"
    cat "$TMP/$name.nd" "$TMP/$name.nd2" | cmp -s - "$TMP/ref.nd" ||
        fail "$name: records before + after the fix differ from a clean replay"
}
# Starts like a consensus, so it is one (a malformed one), not a member
# that is skipped as "not a consensus" (SPEC 2.2 0.2).
garbage() { printf 'network-status-version 3\ngarbage garbage\n' >"$2"; }
cut_bytes() { head -c $(($(wc -c <"$1") / 2)) "$1" >"$2"; }
cut_lines() { head -n 300 "$1" >"$2"; }
corrupt_case garbage garbage
rm -rf "$TMP/c" && cp -r "$TMP/g" "$TMP/c" && garbage x "$TMP/c/$bad"
mktar "$TMP/kg.tar" "$TMP/c" "${names[@]}"
corrupt_case cutbytes cut_bytes
corrupt_case cutlines cut_lines
# A bad microdesc member: the history then holds only the ns flavour of
# that hour, and the fixed re-run must still process the microdesc one.
k=$((k + 1))
bad=${names[k]}
prev_va=$(va_of "${names[k - 1]}")
[ "${bad%-microdesc}" != "$bad" ] || fail "test setup: $bad is not microdesc"
corrupt_case garbage-md garbage
k=$((k - 1))
bad=${names[k]}
prev_va=$(va_of "${names[k - 1]}")
ok "corrupt member: status 3 naming it, history up to the document before; fixed re-run resumes to the clean result"

# Truncated archives.
head -c $(($(wc -c <"$TMP/all.tar") / 2 + 1000)) "$TMP/all.tar" >"$TMP/cut.tar"
for form in file stdin; do
    rm -f "$TMP/ct.db"
    if [ $form = file ]; then
        X replay --db "$TMP/ct.db" "$TMP/cut.tar" 2>"$TMP/ct.err"
    else
        X replay --db "$TMP/ct.db" - <"$TMP/cut.tar" 2>"$TMP/ct.err"
    fi
    st=$?
    [ $st -eq 3 ] && grep -q 'truncated' "$TMP/ct.err" ||
        fail "truncated tar ($form): status $st, $(head -n 1 "$TMP/ct.err")"
    dbcheck "$TMP/ct.db" || fail "truncated tar ($form): db check"
done
zstd -q -c "$TMP/all.tar" >"$TMP/all.tar.zst"
head -c $(($(wc -c <"$TMP/all.tar.zst") / 2)) "$TMP/all.tar.zst" \
    >"$TMP/cut.tar.zst"
X replay --db "$TMP/cz.db" "$TMP/cut.tar.zst" 2>"$TMP/cz.err"
st=$?
[ $st -eq 3 ] && grep -q 'cut.tar.zst' "$TMP/cz.err" ||
    fail "truncated zstd tar: status $st, $(head -n 1 "$TMP/cz.err")"
dbcheck "$TMP/cz.db" || fail "truncated zstd tar: db check"
nw=$(newest "$TMP/cz.db")
[ "$nw" != null ] && [[ "$nw" < "$last" ]] ||
    fail "truncated zstd tar: history newest '$nw'"
X replay --db "$TMP/cz.db" "$TMP/all.tar.zst" 2>/dev/null &&
    cmp -s "$TMP/cz.db" "$TMP/ref.db" ||
    fail "truncated zstd tar: resuming from the whole archive"
ok "truncated tar and zstd tar: status 3, history consistent, resumable"

# --- c: --keep-going -----------------------------------------------------
X replay --keep-going --db "$TMP/k.db" --timeline "$TMP/k.nd" \
    "$TMP/kg.tar" 2>"$TMP/k.err"
st=$?
[ $st -eq 0 ] || fail "--keep-going: status $st"
grep -Eq '^  bad documents skipped: +1 ' "$TMP/k.err" ||
    fail "--keep-going: no 'bad documents skipped: 1' in the summary"
grep -q "^    $bad" "$TMP/k.err" ||
    fail "--keep-going: the summary does not list $bad"
[ "$(wc -l <"$TMP/k.nd")" -eq $((n - 1)) ] ||
    fail "--keep-going: $(wc -l <"$TMP/k.nd") records, expected $((n - 1))"
[ "$(newest "$TMP/k.db")" = "$last" ] || fail "--keep-going: newest"
# A bad loose file (found while sorting the inputs).
rm -rf "$TMP/c" && cp -r "$TMP/g" "$TMP/c" && garbage x "$TMP/c/$bad"
X replay --db "$TMP/k2.db" "$TMP/c" 2>"$TMP/k2.err"
st=$?
[ $st -eq 3 ] && grep -q "$bad" "$TMP/k2.err" ||
    fail "bad loose file: status $st, $(head -n 1 "$TMP/k2.err")"
X replay --keep-going --db "$TMP/k3.db" --timeline "$TMP/k3.nd" \
    "$TMP/c" 2>"$TMP/k3.err"
st=$?
[ $st -eq 0 ] && grep -Eq '^  bad documents skipped: +1 ' "$TMP/k3.err" &&
    grep -q "^    .*$bad" "$TMP/k3.err" ||
    fail "--keep-going with a bad loose file: status $st"
[ "$(wc -l <"$TMP/k3.nd")" -eq $((n - 1)) ] ||
    fail "--keep-going loose: $(wc -l <"$TMP/k3.nd") records"
# Same result as the tar with the same member skipped.
cmp -s "$TMP/k.nd" "$TMP/k3.nd" && cmp -s "$TMP/k.db" "$TMP/k3.db" ||
    fail "--keep-going: tar and directory forms differ"
ok "--keep-going: status 0, the bad member listed in the summary"

# Members and files that are not consensuses (SPEC 2.2 0.2): a README as
# the first member of a tar (0.1 with --keep-going dropped the whole
# archive: 0 processed) and a checksum list in a directory are skipped and
# counted, without --keep-going; a file named on the command line that is
# not a consensus is still an error.
printf 'This archive holds consensuses.\n' >"$TMP/README"
(cd "$TMP" && tar cf "$TMP/readme.tar" README) &&
    (cd "$TMP/g" && tar rf "$TMP/readme.tar" "${names[@]}")
X replay --db "$TMP/rm.db" --timeline "$TMP/rm.nd" "$TMP/readme.tar" \
    2>"$TMP/rm.err"
st=$?
[ $st -eq 0 ] || fail "README first in a tar: status $st: $(head -1 "$TMP/rm.err")"
grep -Eq '^  not consensuses: +1 skipped ' "$TMP/rm.err" ||
    fail "README first in a tar: not counted as skipped"
cmp -s "$TMP/rm.nd" "$TMP/ref.nd" ||
    fail "README first in a tar: the records differ from a clean replay"
X -v replay --db "$TMP/rm2.db" "$TMP/readme.tar" 2>"$TMP/rm2.err"
grep -q '^exitstage: skipped README: not a consensus$' "$TMP/rm2.err" ||
    fail "-v does not list the skipped README"
rm -rf "$TMP/c" && cp -r "$TMP/g" "$TMP/c" &&
    printf 'sha256  abc  2026-01-01\n' >"$TMP/c/SHA256SUMS"
X replay --db "$TMP/rm3.db" --timeline "$TMP/rm3.nd" "$TMP/c" 2>"$TMP/rm3.err"
st=$?
[ $st -eq 0 ] && cmp -s "$TMP/rm3.nd" "$TMP/ref.nd" ||
    fail "a checksum list in a directory: status $st or records differ"
X replay --db "$TMP/rm4.db" "$TMP/c/SHA256SUMS" 2>"$TMP/rm4.err"
st=$?
[ $st -eq 3 ] && grep -q 'SHA256SUMS:1:1: not a consensus' "$TMP/rm4.err" ||
    fail "a named non-consensus file: status $st, $(head -1 "$TMP/rm4.err")"
ok "non-consensus members and files skipped and counted; a named one refused"

# --- d: SIGINT -------------------------------------------------------------
# d1: while blocked reading a pipe (deterministic): the first 25 members
# (ends with an ns document), a pause, the rest.
mktar "$TMP/p1.tar" "$TMP/g" "${names[@]:0:25}"
mktar "$TMP/p2.tar" "$TMP/g" "${names[@]:25}"
{ cat "$TMP/p1.tar"; sleep 3; cat "$TMP/p2.tar"; } 2>/dev/null |
    "$EXITSTAGE" replay --db "$TMP/i1.db" - 2>"$TMP/i1.err" &
bgpid=$!
sleep 1.5
kill -INT $bgpid
wait $bgpid
st=$?
bgpid=
[ $st -eq 130 ] || fail "SIGINT while reading a pipe: status $st, expected 130"
grep -q 'interrupted' "$TMP/i1.err" || fail "SIGINT: no 'interrupted' message"
dbcheck "$TMP/i1.db" || fail "SIGINT on a pipe: db check"
nw=$(newest "$TMP/i1.db")
case $nw in
"$(va_of "${names[24]}")" | "$(va_of "${names[25]}")") ;;
*) fail "SIGINT on a pipe: newest $nw, expected that of member 25 or 26" ;;
esac
X replay --db "$TMP/i1.db" "$TMP/all.tar" 2>"$TMP/i1.err2" ||
    fail "resume after SIGINT on a pipe"
cmp -s "$TMP/i1.db" "$TMP/ref.db" ||
    fail "SIGINT on a pipe: resumed history differs from a clean replay"

# d1b: SIGINT while blocked on a pipe whose producer then just ends: the
# interrupt must not be lost (status 130, not 0) and must not wait for the
# producer (it stalls 8 s; we allow 5).
mktar "$TMP/p0.tar" "$TMP/g" "${names[@]:0:10}"
{ cat "$TMP/p0.tar"; sleep 8; } 2>/dev/null |
    "$EXITSTAGE" replay --db "$TMP/i0.db" - 2>"$TMP/i0.err" &
bgpid=$!
sleep 1
s0=$(date +%s)
kill -INT $bgpid
# bash's wait on a pipeline also waits for the stalled producer, so time
# the replay process itself: it must be gone within 5 s.
while kill -0 $bgpid 2>/dev/null && [ $(($(date +%s) - s0)) -lt 6 ]; do
    sleep 0.1
done
el=$(($(date +%s) - s0))
wait $bgpid
st=$?
bgpid=
[ $st -eq 130 ] ||
    fail "SIGINT while blocked on a stalled pipe that then ends: status $st, expected 130 (the interrupt was lost)"
[ $el -lt 5 ] ||
    fail "SIGINT while blocked on a stalled pipe: exited only after ${el}s, when the producer went away"
dbcheck "$TMP/i0.db" || fail "SIGINT on a stalled pipe: db check"
[ "$(newest "$TMP/i0.db")" = "$(va_of "${names[9]}")" ] ||
    fail "SIGINT on a stalled pipe: history should hold the 10 documents read"

# d2: mid-processing.  --digests slows the run; retry until caught.
"$GEN" --out-dir "$TMP/big" --days 3 --relays 3000 --seed 9 \
    --missing-hours 1 >/dev/null || fail "generation (big)"
mapfile -t bnames < <(cd "$TMP/big" && ls | LC_ALL=C sort)
mktar "$TMP/big.tar" "$TMP/big" "${bnames[@]}"
rm -rf "$TMP/big"
X replay --db "$TMP/bigref.db" "$TMP/big.tar" 2>/dev/null ||
    fail "clean replay (big)"
caught=0
for delay in 0.5 0.3 0.2 0.8 0.1 0.05 1.2; do
    rm -f "$TMP/i2.db"
    "$EXITSTAGE" replay --db "$TMP/i2.db" --timeline "$TMP/i2.nd" \
        --digests "$TMP/big.tar" 2>"$TMP/i2.err" &
    bgpid=$!
    sleep $delay
    kill -INT $bgpid 2>/dev/null
    wait $bgpid
    st=$?
    bgpid=
    if [ $st -eq 130 ] && [ -f "$TMP/i2.db" ] &&
       [ "$(newest "$TMP/i2.db")" != "$(va_of "${bnames[${#bnames[@]} - 1]}")" ]; then
        caught=1
        break
    fi
    [ $st -eq 0 ] || [ $st -eq 130 ] ||
        fail "SIGINT mid-run (delay $delay): status $st"
done
if [ $caught -eq 1 ]; then
    dbcheck "$TMP/i2.db" || fail "SIGINT mid-run: db check"
    recs=$(wc -l <"$TMP/i2.nd")
    done_n=$(X db dump --db "$TMP/i2.db" | jq .processed)
    [ "$recs" -eq "$done_n" ] ||
        fail "SIGINT mid-run: $recs records but $done_n processed in the history"
    X replay --db "$TMP/i2.db" "$TMP/big.tar" 2>"$TMP/i2.err2" ||
        fail "resume after SIGINT mid-run"
    grep -Eq "^  already in the history: +$done_n skipped " "$TMP/i2.err2" ||
        fail "resume after SIGINT: not $done_n skipped"
    cmp -s "$TMP/i2.db" "$TMP/bigref.db" ||
        fail "SIGINT mid-run: resumed history differs from a clean replay"
    ok "SIGINT (pipe and mid-run after ${delay}s, $done_n of ${#bnames[@]} done): status 130, history valid, resumable"
else
    fail "could not interrupt a replay mid-run in 7 attempts"
fi

# --- e: the other clock -------------------------------------------------
X db init --db "$TMP/rc.db" --clock relay || fail "db init --clock relay"
cp "$TMP/rc.db" "$TMP/rc0.db"
X replay --db "$TMP/rc.db" --clock exit "$TMP/g" 2>"$TMP/e.err"
st=$?
[ $st -eq 2 ] || fail "relay history replayed with --clock exit: status $st"
cmp -s "$TMP/rc.db" "$TMP/rc0.db" || fail "clock mismatch changed the history"
cp "$TMP/ref.db" "$TMP/ec.db"
X replay --db "$TMP/ec.db" --clock relay "$TMP/all.tar" 2>"$TMP/e2.err"
st=$?
[ $st -eq 2 ] || fail "exit history replayed with --clock relay: status $st"
cmp -s "$TMP/ec.db" "$TMP/ref.db" || fail "clock mismatch changed the history"
ok "a history with the other clock: status 2, unchanged"

# --- f: the same document twice ----------------------------------------
mkdir "$TMP/dup" && cp "$TMP/g/$bad" "$TMP/dup/"
X replay --db "$TMP/f.db" --timeline "$TMP/f.nd" "$TMP/g" "$TMP/dup" \
    2>"$TMP/f.err"
st=$?
[ $st -eq 0 ] || fail "duplicate document: status $st"
grep -Eq '^  duplicates skipped: +1 ' "$TMP/f.err" ||
    fail "duplicate document: no 'duplicates skipped: 1'"
cmp -s "$TMP/f.nd" "$TMP/ref.nd" && cmp -s "$TMP/f.db" "$TMP/ref.db" ||
    fail "duplicate document changed the records or the history"
ok "a duplicate document is skipped without a record"

# --- g: missing path ---------------------------------------------------------
X replay --db "$TMP/m.db" "$TMP/g" "$TMP/no-such-file" 2>"$TMP/m.err"
st=$?
[ $st -eq 1 ] || fail "missing path: status $st, expected 1"
grep -q 'no-such-file' "$TMP/m.err" || fail "missing path: not named"
[ ! -e "$TMP/m.db" ] || fail "missing path: a history was created"
ok "a missing path: status 1, no history"

finish
