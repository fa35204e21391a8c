#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# apply_integrity.sh - `exitstage apply` keeps every promise of SPEC 4.4
# "Added in 0.2" and 6 under a hostile test, on generated documents (no
# shared data needed).  Each part names the defect of 0.1 it pins:
#   (1) all or nothing: a failing --staged-list leaves the consensus and
#       report outputs and the history as they were (0.1 renamed outputs
#       one by one before the staged list and the history);
#   (2) 100 SIGKILLs at random points: every output and the history is
#       the old or the new state, and a rerun gives the bytes of a clean
#       run;
#   (3) SIGINT and SIGTERM: no temporary file left (0.1 left *.tmp.*),
#       status 130 / 143 or success, history old or new;
#   (4) --db through a symbolic link: the link stays a link, the target
#       is committed, writers through the link and the target share one
#       lock; outputs through symbolic links (one to /proc/self/fd/1 with
#       standard output redirected to a file, as /dev/stdout is) stay
#       links and the file gets the bytes;
#   (5) modes and owners: umask 077 gives 0600 files; a replaced 0640
#       root:adm file keeps its mode and group; a root run on a service
#       account's history leaves it (and the lock file) to that account,
#       whose next run succeeds (root only);
#   (6) the lock file is never followed through a symbolic link;
#   (7) --enforce badexit with 64 known flags and no BadExit: status 3,
#       nothing written;
#   (8) a consensus a week in the future is refused by default; let in
#       with --max-future off it poisons the history, and `db rollback`
#       puts the history back (FILE.prev);
#   (9) inspect stops reading at the document size limit (0.1 read
#       160 MiB of /dev/zero): bounded memory, status 3.
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN.
# Exit status: 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/common.bash"
E=${EXITSTAGE:-}
GEN=${EXST_GEN:-}
PY=/usr/bin/python3
need_exe E GEN
make_tmp integrity

"$GEN" --out-dir "$TMP/g" --days 1 --relays 400 --seed 7 --flavor ns \
    --missing-hours 0 || { echo "FAIL: generator"; exit 1; }
mapfile -t DOCS < <(find "$TMP/g" -type f | sort)
D0=${DOCS[0]} D1=${DOCS[1]} D2=${DOCS[2]}
NOW=(--now 2026-01-01T12:00:00Z)

# A history that has seen D0 (bootstrap none, so D1 strips relays).
base() {
    rm -f "$1" "$1.prev" "$1.lock"
    "$E" db init --db "$1" --bootstrap none &&
        "$E" apply --db "$1" "${NOW[@]}" -o /dev/null "$D0"
}

# Clean run on D1: the reference bytes of every output and the history.
mkdir "$TMP/ref"
base "$TMP/ref/h.db" || fail "reference base"
cp "$TMP/ref/h.db" "$TMP/old.db"
"$E" apply --db "$TMP/ref/h.db" "${NOW[@]}" -o "$TMP/ref/out" \
    --report "$TMP/ref/rep" --staged-list "$TMP/ref/list" "$D1" ||
    fail "reference apply"
cp "$TMP/ref/h.db" "$TMP/new.db"
grep -q '^!badexit ' "$TMP/ref/list" || fail "reference: nobody staged"
head -1 "$TMP/ref/list" | grep -q '^# exitstage .* valid-after 2026-01-01T01:00:00Z' ||
    fail "staged list does not start with its comment line"

# ---- (1) all or nothing ------------------------------------------------
mkdir "$TMP/1"
base "$TMP/1/h.db"
echo old-out >"$TMP/1/out"
echo old-rep >"$TMP/1/rep"
mkdir "$TMP/1/list" # --staged-list names a directory: must fail
cp "$TMP/1/h.db" "$TMP/1/h.before"
"$E" apply --db "$TMP/1/h.db" "${NOW[@]}" -o "$TMP/1/out" \
    --report "$TMP/1/rep" --staged-list "$TMP/1/list" "$D1" 2>"$TMP/1/err"
st=$?
[ "$st" -eq 1 ] || fail "(1) status $st, want 1"
grep -q "cannot write '$TMP/1/list': is a directory" "$TMP/1/err" ||
    fail "(1) message: $(cat "$TMP/1/err")"
[ "$(cat "$TMP/1/out")" = old-out ] || fail "(1) -o replaced"
[ "$(cat "$TMP/1/rep")" = old-rep ] || fail "(1) --report replaced"
cmp -s "$TMP/1/h.db" "$TMP/1/h.before" || fail "(1) history changed"
left=$(find "$TMP/1" -name '*.tmp.*')
[ -z "$left" ] || fail "(1) temporary files left: $left"
ok "(1) a failing --staged-list changes nothing"

# ---- (2) SIGKILL at random points --------------------------------------
mkdir "$TMP/2"
# states FILE REF OLDCONTENT: old or new?
is_old_or_new() {
    if [ ! -e "$1" ]; then
        [ "$3" = absent ]
    else
        cmp -s "$1" "$2" || [ "$(cat "$1")" = "$3" ]
    fi
}
t0=$(date +%s%N)
base "$TMP/2/h.db"
"$E" apply --db "$TMP/2/h.db" "${NOW[@]}" -o "$TMP/2/out" \
    --report "$TMP/2/rep" --staged-list "$TMP/2/list" "$D1"
span_ms=$((($(date +%s%N) - t0) / 1000000 + 5))
n_old=0 n_new=0 bad=0
for i in $(seq 1 100); do
    base "$TMP/2/h.db"
    echo old >"$TMP/2/out"
    echo old >"$TMP/2/rep"
    rm -f "$TMP/2/list"
    cp "$TMP/2/h.db" "$TMP/2/h.before"
    ms=$((RANDOM % span_ms + 1))
    delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    (timeout --foreground -s KILL "$delay" "$E" apply --db "$TMP/2/h.db" "${NOW[@]}" \
        -o "$TMP/2/out" --report "$TMP/2/rep" --staged-list "$TMP/2/list" \
        "$D1"; exit 0) 2>/dev/null
    if cmp -s "$TMP/2/h.db" "$TMP/2/h.before"; then
        n_old=$((n_old + 1))
    elif cmp -s "$TMP/2/h.db" "$TMP/new.db"; then
        n_new=$((n_new + 1))
        # The history is committed last: every output is new.
        cmp -s "$TMP/2/out" "$TMP/ref/out" &&
            cmp -s "$TMP/2/rep" "$TMP/ref/rep" &&
            cmp -s "$TMP/2/list" "$TMP/ref/list" ||
            { fail "(2) run $i: new history beside an old output"; bad=1; }
    else
        fail "(2) run $i (${delay}s): history neither old nor new"
        bad=1
    fi
    is_old_or_new "$TMP/2/out" "$TMP/ref/out" old &&
        is_old_or_new "$TMP/2/rep" "$TMP/ref/rep" old &&
        is_old_or_new "$TMP/2/list" "$TMP/ref/list" absent ||
        { fail "(2) run $i (${delay}s): an output is neither old nor new"; bad=1; }
    # A rerun converges to the clean run's bytes (or, if the kill came
    # after the commit, is refused as a repeat that changes nothing).
    "$E" apply --db "$TMP/2/h.db" "${NOW[@]}" -o "$TMP/2/out" \
        --report "$TMP/2/rep" --staged-list "$TMP/2/list" "$D1" \
        2>"$TMP/2/err" || { fail "(2) run $i: rerun: $(cat "$TMP/2/err")"; bad=1; }
    cmp -s "$TMP/2/h.db" "$TMP/new.db" && cmp -s "$TMP/2/out" "$TMP/ref/out" &&
        cmp -s "$TMP/2/rep" "$TMP/ref/rep" &&
        cmp -s "$TMP/2/list" "$TMP/ref/list" ||
        { fail "(2) run $i: the rerun does not give the clean run's bytes"; bad=1; }
    [ "$bad" -eq 0 ] || break
done
left=$(find "$TMP/2" -name '*.tmp.*' | wc -l)
ok "(2) 100 SIGKILLs within ${span_ms} ms: $n_old old, $n_new new, every rerun converged ($left temporary files left by SIGKILL)"

# ---- (3) SIGINT and SIGTERM --------------------------------------------
mkdir "$TMP/3"
n_int=0
for i in $(seq 1 60); do
    base "$TMP/3/h.db"
    cp "$TMP/3/h.db" "$TMP/3/h.before"
    sig=INT
    [ $((i % 2)) -eq 0 ] && sig=TERM
    ms=$((RANDOM % span_ms + 1))
    delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    timeout -s "$sig" "$delay" "$E" apply --db "$TMP/3/h.db" "${NOW[@]}" \
        -o "$TMP/3/out" --report "$TMP/3/rep" "$D1" 2>/dev/null
    st=$?
    case "$st" in
    0) ;;
    130 | 143 | 124) n_int=$((n_int + 1)) ;;
    *) fail "(3) run $i (SIG$sig after ${delay}s): status $st" ;;
    esac
    left=$(find "$TMP/3" -name '*.tmp.*')
    [ -z "$left" ] || { fail "(3) run $i (SIG$sig): left $left"; break; }
    cmp -s "$TMP/3/h.db" "$TMP/3/h.before" || cmp -s "$TMP/3/h.db" "$TMP/new.db" ||
        fail "(3) run $i: history neither old nor new"
done
ok "(3) 60 SIGINT/SIGTERM: no temporary file left ($n_int interrupted)"

# ---- (4) symbolic links ------------------------------------------------
mkdir "$TMP/4" "$TMP/4/real"
base "$TMP/4/real/h.db"
ln -s real/h.db "$TMP/4/link.db"
"$E" apply --db "$TMP/4/link.db" "${NOW[@]}" -o /dev/null "$D1" ||
    fail "(4) apply through a link"
[ -L "$TMP/4/link.db" ] || fail "(4) the --db link was replaced by a file"
cmp -s "$TMP/4/real/h.db" "$TMP/new.db" || fail "(4) target not committed"
[ ! -e "$TMP/4/link.db.lock" ] || fail "(4) a second lock file beside the link"
[ -e "$TMP/4/real/h.db.lock" ] || fail "(4) no lock beside the target"
# One writer holds the lock through the target; one through the link waits.
flock "$TMP/4/real/h.db.lock" sleep 2 &
holder=$!
sleep 0.3
"$E" apply --db "$TMP/4/link.db" "${NOW[@]}" -o /dev/null "$D2" 2>"$TMP/4/err"
st=$?
wait "$holder"
[ "$st" -eq 1 ] && grep -q "is locked" "$TMP/4/err" ||
    fail "(4) a writer through the link ignored the target's lock ($st)"
# Outputs through links: the link stays, the target gets the bytes.
echo x >"$TMP/4/report-target"
ln -s report-target "$TMP/4/rep-link"
ln -s /proc/self/fd/1 "$TMP/4/stdout-link"
base "$TMP/4/h2.db"
"$E" apply --db "$TMP/4/h2.db" "${NOW[@]}" -o "$TMP/4/out" \
    --report "$TMP/4/rep-link" --staged-list "$TMP/4/stdout-link" "$D1" \
    >"$TMP/4/stdout.file" || fail "(4) outputs through links"
[ -L "$TMP/4/rep-link" ] && [ -L "$TMP/4/stdout-link" ] ||
    fail "(4) an output link was replaced by a file"
cmp -s "$TMP/4/report-target" "$TMP/ref/rep" || fail "(4) link target lacks the report"
cmp -s "$TMP/4/stdout.file" "$TMP/ref/list" ||
    fail "(4) the file behind /proc/self/fd/1 lacks the staged list"
ok "(4) symbolic links: history, lock and outputs written through"

# ---- (5) modes and owners ----------------------------------------------
mkdir "$TMP/5"
(umask 077 && base "$TMP/5/h.db" &&
    "$E" apply --db "$TMP/5/h.db" "${NOW[@]}" -o "$TMP/5/out" \
        --report "$TMP/5/rep" "$D1") || fail "(5) umask 077 run"
for f in h.db out rep h.db.lock; do
    m=$(stat -c %a "$TMP/5/$f")
    [ "$m" = 600 ] || fail "(5) umask 077: $f has mode $m, want 600"
done
(umask 022 && base "$TMP/5/h2.db" &&
    "$E" apply --db "$TMP/5/h2.db" "${NOW[@]}" -o "$TMP/5/out2" "$D1")
[ "$(stat -c %a "$TMP/5/out2")" = 644 ] || fail "(5) umask 022: out not 644"
[ "$(stat -c %a "$TMP/5/h2.db")" = 600 ] || fail "(5) umask 022: history not 600"
if [ "$(id -u)" -eq 0 ] && getent group adm >/dev/null &&
    id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
    echo old >"$TMP/5/rep640"
    chgrp adm "$TMP/5/rep640" && chmod 0640 "$TMP/5/rep640"
    base "$TMP/5/h3.db"
    "$E" apply --db "$TMP/5/h3.db" "${NOW[@]}" -o /dev/null \
        --report "$TMP/5/rep640" "$D1" || fail "(5) root run"
    [ "$(stat -c '%a %U %G' "$TMP/5/rep640")" = "640 root adm" ] ||
        fail "(5) replaced file: $(stat -c '%a %U %G' "$TMP/5/rep640")"
    # A service account's history: root runs, the account runs next.
    mkdir "$TMP/5/svc" && chmod 755 "$TMP" "$TMP/5"
    chown nobody "$TMP/5/svc"
    runuser -u nobody -- "$E" db init --db "$TMP/5/svc/h.db" --bootstrap none ||
        fail "(5) db init as nobody"
    "$E" apply --db "$TMP/5/svc/h.db" "${NOW[@]}" -o /dev/null "$D0" ||
        fail "(5) apply as root"
    for f in h.db h.db.lock h.db.prev; do
        [ "$(stat -c %U "$TMP/5/svc/$f")" = nobody ] ||
            fail "(5) root took $f: $(stat -c %U "$TMP/5/svc/$f")"
    done
    runuser -u nobody -- "$E" apply --db "$TMP/5/svc/h.db" "${NOW[@]}" \
        -o /dev/null "$D1" 2>"$TMP/5/err" ||
        fail "(5) the account's run after root's: $(cat "$TMP/5/err")"
    ok "(5) umask honoured; mode, owner and group kept; root leaves the account's history usable"
else
    ok "(5) umask honoured (owner checks skipped: not root, or no runuser/nobody/adm)"
fi

# ---- (6) the lock file is not followed ---------------------------------
mkdir "$TMP/6"
base "$TMP/6/h.db"
rm -f "$TMP/6/h.db.lock"
ln -s "$TMP/6/victim" "$TMP/6/h.db.lock"
"$E" apply --db "$TMP/6/h.db" "${NOW[@]}" -o /dev/null "$D1" 2>"$TMP/6/err"
st=$?
[ "$st" -eq 1 ] || fail "(6) status $st, want 1"
grep -q "lock file '$TMP/6/h.db.lock' is a symbolic link; not following it" \
    "$TMP/6/err" || fail "(6) message: $(cat "$TMP/6/err")"
[ ! -e "$TMP/6/victim" ] || fail "(6) the link's target was created"
ok "(6) a lock file that is a symbolic link is refused, its target untouched"

# ---- (7) --enforce badexit without room in known-flags -----------------
mkdir "$TMP/7"
"$PY" - "$D1" "$TMP/7/d64" <<'EOF'
import re, sys
doc = open(sys.argv[1], 'rb').read().decode()
m = re.search(r'^known-flags (.*)$', doc, re.M)
flags = [f for f in m.group(1).split() if f != 'BadExit']
flags += ['Z%02d' % i for i in range(64 - len(flags))]
doc = doc.replace(m.group(0), 'known-flags ' + ' '.join(sorted(flags)))
# No relay may carry BadExit any more.
doc = re.sub(r'^(s .*)$', lambda l: l.group(1).replace(' BadExit', ''), doc,
             flags=re.M)
open(sys.argv[2], 'w').write(doc)
EOF
base "$TMP/7/h.db"
cp "$TMP/7/h.db" "$TMP/7/h.before"
"$E" apply --db "$TMP/7/h.db" "${NOW[@]}" --enforce badexit -o "$TMP/7/out" \
    --report "$TMP/7/rep" "$TMP/7/d64" 2>"$TMP/7/err"
st=$?
[ "$st" -eq 3 ] || fail "(7) status $st, want 3: $(cat "$TMP/7/err")"
grep -q "would add BadExit to known-flags, which already lists 64 flags" \
    "$TMP/7/err" || fail "(7) message: $(cat "$TMP/7/err")"
[ ! -e "$TMP/7/out" ] && [ ! -e "$TMP/7/rep" ] || fail "(7) outputs written"
cmp -s "$TMP/7/h.db" "$TMP/7/h.before" || fail "(7) history changed"
ok "(7) no room for BadExit: status 3, nothing written"

# ---- (8) a poisoned consensus and db rollback --------------------------
mkdir "$TMP/8"
base "$TMP/8/h.db"
"$E" apply --db "$TMP/8/h.db" "${NOW[@]}" -o /dev/null "$D1" || fail "(8) D1"
cp "$TMP/8/h.db" "$TMP/8/good.db"
# D2 re-dated a week ahead of the clock.
sed -e 's/^valid-after 2026-01-01 02:00:00/valid-after 2026-01-08 12:00:00/' \
    -e 's/^fresh-until 2026-01-01 03:00:00/fresh-until 2026-01-08 13:00:00/' \
    -e 's/^valid-until 2026-01-01 05:00:00/valid-until 2026-01-08 15:00:00/' \
    "$D2" >"$TMP/8/future"
"$E" apply --db "$TMP/8/h.db" "${NOW[@]}" -o /dev/null "$TMP/8/future" \
    2>"$TMP/8/err"
st=$?
[ "$st" -eq 3 ] || fail "(8) future consensus: status $st, want 3"
grep -q "valid-after 2026-01-08T12:00:00Z is 604800 s ahead of the system clock" \
    "$TMP/8/err" || fail "(8) message: $(cat "$TMP/8/err")"
cmp -s "$TMP/8/h.db" "$TMP/8/good.db" || fail "(8) refused consensus changed the history"
# Let in by an operator's mistake: the next real consensus is refused...
"$E" apply --db "$TMP/8/h.db" "${NOW[@]}" --max-future off -o /dev/null \
    "$TMP/8/future" || fail "(8) --max-future off"
"$E" apply --db "$TMP/8/h.db" "${NOW[@]}" -o /dev/null "$D2" 2>/dev/null
[ $? -eq 3 ] || fail "(8) a real consensus after the poisoned one was accepted"
# ... until db rollback puts the history before it back.
"$E" -v db rollback --db "$TMP/8/h.db" 2>"$TMP/8/err" || fail "(8) rollback"
grep -q "rolled back from newest consensus 2026-01-08T12:00:00Z to 2026-01-01T01:00:00Z" \
    "$TMP/8/err" || fail "(8) rollback message: $(cat "$TMP/8/err")"
cmp -s "$TMP/8/h.db" "$TMP/8/good.db" || fail "(8) rollback did not restore the history"
"$E" apply --db "$TMP/8/h.db" "${NOW[@]}" -o /dev/null "$D2" ||
    fail "(8) the real consensus after rollback"
ok "(8) future consensus refused; a poisoned history rolled back"

# ---- (9) reading stops at the limit ------------------------------------
if [ "${EXST_SANITIZED:-0}" != 1 ]; then
    "$PY" - "$E" <<'EOF' || fail "(9) reading /dev/zero"
import resource, subprocess, sys
p = subprocess.run([sys.argv[1], 'inspect', '/dev/zero'],
                   capture_output=True, text=True)
rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print('inspect /dev/zero: status %d, peak RSS %.0f MB: %s'
      % (p.returncode, rss_mb, p.stderr.strip()))
assert p.returncode == 3, p.returncode
assert 'larger than 67108864 bytes' in p.stderr, p.stderr
assert rss_mb < 100, rss_mb
EOF
    ok "(9) inspect /dev/zero stops at the limit"
fi

finish
