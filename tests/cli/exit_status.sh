#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# exit_status.sh - golden tests of every exit status (SPEC 5: 0 success,
# 1 operational failure, 2 usage error, 3 input rejected) with the exact
# first line of standard error.  The expectations are inline below, one
# `check` call per case:
#
#     check NAME STATUS 'FIRST STDERR LINE' ARGS...
#     check_in STDIN_FILE NAME STATUS 'FIRST STDERR LINE' ARGS...
#
# The commands run inside a scratch directory, so the file names in the
# messages are the short relative names used in ARGS.  Inputs are the
# hand-made documents in testdata/consensus/valid (no shared data needed).
#
# Exit status: 0 pass, 1 fail.
set -u

: "${EXITSTAGE:?EXITSTAGE must name the exitstage binary}"
: "${EXST_SRC:?EXST_SRC must name the source directory}"
E=$EXITSTAGE
VALID="$EXST_SRC/testdata/consensus/valid"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
n=0

# check NAME STATUS FIRST_LINE ARGS...: run exitstage ARGS with standard
# input from /dev/null and compare status and first stderr line.
# check_in FILE NAME STATUS FIRST_LINE ARGS...: the same with standard
# input from FILE.
check_in() {
    local input=$1 name=$2 want_st=$3 want_line=$4 st line
    shift 4
    n=$((n + 1))
    # apply reads the wall clock (SPEC 8); the tests give it a fixed one,
    # half an hour after the documents' valid-after, which a --now later
    # in ARGS overrides.
    if [ "${1:-}" = apply ]; then
        set -- apply --now 2024-01-01T12:30:00Z "${@:2}"
    fi
    "$E" "$@" <"$input" >stdout 2>stderr
    st=$?
    line=$(head -n 1 stderr)
    if [ "$st" -ne "$want_st" ]; then
        echo "FAIL: $name: status $st, want $want_st (exitstage $*)"
        fail=1
    fi
    if [ "$line" != "$want_line" ]; then
        echo "FAIL: $name: first stderr line differs (exitstage $*)"
        echo "   got:  $line"
        echo "   want: $want_line"
        fail=1
    fi
}
check() {
    check_in /dev/null "$@"
}

# Inputs.
cp "$VALID/minimal-ns" ns
cp "$VALID/minimal-microdesc" md
# The same document an hour older (valid-after 11:00, still before
# fresh-until 13:00).
sed 's/^valid-after 2024-01-01 12:00:00$/valid-after 2024-01-01 11:00:00/' \
    ns >older
cmp -s ns older && { echo "FAIL: could not make the older document"; exit 1; }
# A malformed w line: line 37, column 13 is where the bad value starts.
sed 's/^w Bandwidth=6000$/w Bandwidth=6x00/' ns >bad
printf 'hello\n' >notcons

USAGE_HINT="Try 'exitstage --help' for more information."

# ---- 0: success ------------------------------------------------------
check inspect-ok 0 '' inspect ns
grep -q '"flavor": "ns"' stdout || { echo "FAIL: inspect-ok: no JSON"; fail=1; }
check_in md inspect-md-stdin 0 '' inspect -
grep -q '"flavor": "microdesc"' stdout ||
    { echo "FAIL: inspect-md-stdin: no JSON"; fail=1; }
check version 0 '' --version
check help 0 '' --help
check db-init 0 '' db init --db h.db
check apply-ok 0 '' apply --db h.db -o out1 --report rep1 ns
check db-check 0 '' db check --db h.db

# ---- 1: operational failure ------------------------------------------
check apply-missing-history 1 \
    "exitstage: history 'missing.db' does not exist; create it with 'exitstage db init --db missing.db' (add --grandfather CONSENSUS to start from today's relays)" \
    apply --db missing.db ns
[ ! -e missing.db ] || { echo "FAIL: apply created missing.db"; fail=1; }
# ... nor a lock file beside it (issue: 0.1 created missing.db.lock).
[ ! -e missing.db.lock ] || { echo "FAIL: apply created missing.db.lock"; fail=1; }
"$E" db init --db r.db
check rollback-without-prev 1 \
    "exitstage: history 'r.db' has no previous copy ('r.db.prev'): nothing to roll back to" \
    db rollback --db r.db
check apply-unreadable-input 1 \
    "exitstage: cannot open 'nope': No such file or directory" \
    apply --db h.db nope
check inspect-unreadable-input 1 \
    "exitstage: cannot open 'nope': No such file or directory" \
    inspect nope
check db-init-exists 1 \
    "exitstage: history 'h.db' already exists; db init does not overwrite it" \
    db init --db h.db
: >empty.db
check apply-empty-history 1 "exitstage: history 'empty.db' is empty" \
    apply --db empty.db ns

# ---- 2: usage error --------------------------------------------------
check no-command 2 'exitstage: no command given'
[ "$(sed -n 2p stderr)" = "$USAGE_HINT" ] ||
    { echo "FAIL: no-command: second line is not the --help hint"; fail=1; }
check unknown-command 2 "exitstage: unknown command 'frobnicate'" frobnicate
check unknown-global-option 2 "exitstage: unknown option '--bogus'" --bogus
check apply-unknown-option 2 \
    "exitstage: apply: unknown option or missing value in '--bogus'" \
    apply --db h.db --bogus ns
check apply-no-db 2 'exitstage: apply: --db FILE is required' apply ns
check bad-duration-31d 2 \
    "exitstage: --staging-period: duration '31d' is out of range (0 to 2592000 seconds)" \
    apply --db h.db --staging-period 31d ns
check bad-duration-unit 2 \
    "exitstage: --staging-period: invalid duration '4x': unknown unit 'x' (use d, h, m or s)" \
    apply --db h.db --staging-period 4x ns
check report-stdout-without-o 2 \
    'exitstage: apply: --report - needs -o FILE (standard output carries one stream)' \
    apply --db h.db --report - ns
check clock-mismatch 2 \
    "exitstage: history 'h.db' uses --clock exit; it cannot be run with --clock relay" \
    apply --db h.db --clock relay ns
check bad-enforce 2 \
    "exitstage: --enforce: expected 'flag' or 'badexit', found 'nope'" \
    apply --db h.db --enforce nope ns
check bad-fraction 2 \
    "exitstage: --max-strip-fraction: expected a fraction from 0 to 1, found '2'" \
    apply --db h.db --max-strip-fraction 2 ns
check two-inputs 2 'exitstage: apply: expected at most one consensus' \
    apply --db h.db ns md
check db-no-subcommand 2 'exitstage: db: expected init, dump, check, show or rollback' db
check bootstrap-mismatch 2 \
    "exitstage: history 'h.db' uses --bootstrap grandfather; it cannot be run with --bootstrap none" \
    apply --db h.db --bootstrap none ns
check bad-bootstrap 2 \
    "exitstage: --bootstrap: expected 'grandfather' or 'none', found 'maybe'" \
    db init --db new.db --bootstrap maybe
# SPEC 4.4 0.2: two outputs, or an output and the history, naming one file.
check output-is-db 2 "exitstage: --db and -o name the same file 'h.db'" \
    apply --db h.db -o h.db ns
check report-is-db 2 "exitstage: --db and --report name the same file 'h.db'" \
    apply --db h.db -o o --report h.db ns
check output-is-report 2 "exitstage: -o and --report name the same file 'x'" \
    apply --db h.db -o x --report x ns
ln -s h.db link.db
check output-is-db-via-link 2 \
    "exitstage: --db and -o name the same file 'link.db'" \
    apply --db h.db -o link.db ns
check list-is-db-new-file 2 \
    "exitstage: -o and --staged-list name the same file './new-out'" \
    apply --db h.db -o new-out --staged-list ./new-out ns
[ ! -e new-out ] || { echo "FAIL: a usage error wrote new-out"; fail=1; }
check bad-now 2 \
    "exitstage: --now: expected a time such as 2024-05-17T17:00:00Z, found 'yesterday'" \
    apply --db h.db --now yesterday ns

# ---- 3: input rejected -----------------------------------------------
check invalid-document 3 \
    "exitstage: bad:37:13: \"w\" line: Bandwidth '6x00' is not an unsigned 32-bit integer" \
    inspect bad
cp h.db h.before
check apply-invalid-document 3 \
    "exitstage: bad:37:13: \"w\" line: Bandwidth '6x00' is not an unsigned 32-bit integer" \
    apply --db h.db -o out-bad bad
check empty-stdin 3 \
    'exitstage: <stdin>:1:1: not a consensus: the document is empty' \
    inspect -
check_in notcons not-a-consensus-stdin 3 \
    "exitstage: <stdin>:1:1: not a consensus: expected \"network-status-version\" as the first item, found 'hello'" \
    inspect -
cp older prev
check older-consensus 3 \
    "exitstage: prev: consensus valid-after 2024-01-01 11:00:00 is older than the history's newest, 2024-01-01 12:00:00" \
    apply --db h.db -o out-older prev
# A file whose name occurs inside the message text ("older" is in "is
# older than") is still named in front of the message.
check older-consensus-name-in-message 3 \
    "exitstage: older: consensus valid-after 2024-01-01 11:00:00 is older than the history's newest, 2024-01-01 12:00:00" \
    apply --db h.db -o out-older older
check reprocess 3 \
    'exitstage: out1:16:1: document was already processed by exitstage; staging it twice would compound (use --allow-reprocess to override)' \
    apply --db h.db -o out-again out1
check_in out1 reprocess-stdin 3 \
    'exitstage: <stdin>:16:1: document was already processed by exitstage; staging it twice would compound (use --allow-reprocess to override)' \
    apply --db h.db -o out-again -
# SPEC 8 clock sanity: a consensus from the future is refused.
check apply-from-the-future 3 \
    "exitstage: ns: valid-after 2024-01-01T12:00:00Z is 7200 s ahead of the system clock (2024-01-01T10:00:00Z); refusing it (--max-future 3600s)" \
    apply --db h.db -o out-future ns --now 2024-01-01T10:00:00Z
check apply-future-limit 3 \
    "exitstage: ns: valid-after 2024-01-01T12:00:00Z is 61 s ahead of the system clock (2024-01-01T11:58:59Z); refusing it (--max-future 60s)" \
    apply --db h.db -o out-future ns --now 2024-01-01T11:58:59Z --max-future 1m
cmp -s h.db h.before || { echo "FAIL: a rejected input changed the history"; fail=1; }
check apply-future-off 0 '' \
    apply --db h.db --dry-run -o out-dry ns --now 2024-01-01T10:00:00Z --max-future off
check apply-stale 0 \
    "exitstage: warning: ns: stale consensus: valid until 2024-01-01T15:00:00Z, more than a day before the system clock (2024-01-02T15:00:01Z); tor has stopped using it" \
    apply --db h.db --dry-run -o out-dry ns --now 2024-01-02T15:00:01Z
check apply-not-stale 0 '' \
    apply --db h.db --dry-run -o out-dry ns --now 2024-01-02T15:00:00Z
for f in out-bad out-older out-again out-future; do
    [ ! -e "$f" ] || { echo "FAIL: rejected input wrote $f"; fail=1; }
done
check allow-reprocess 0 '' apply --db h.db -o out-again --allow-reprocess out1
[ "$(grep -c '^exitstage ' out-again)" = 1 ] ||
    { echo "FAIL: allow-reprocess: not exactly one exitstage item"; fail=1; }

if [ "$fail" -ne 0 ]; then
    echo "exit_status: FAILED"
    exit 1
fi
echo "exit_status: $n cases ok"
exit 0
