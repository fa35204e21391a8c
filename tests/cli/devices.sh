#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Outputs that are devices or FIFOs are written in place, never replaced
# by the atomic temp-file-and-rename used for regular files: -o /dev/null
# must leave /dev/null a character device, and a named pipe must receive
# the bytes.
set -u
E=${EXITSTAGE:?}
SRC=${EXST_SRC:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
doc=$SRC/testdata/consensus/valid/minimal-ns
fail() { echo "FAIL: $*"; exit 1; }

"$E" db init --db "$work/h.db" || fail "db init"
"$E" apply --db "$work/h.db" -o /dev/null --report /dev/null \
    --staged-list /dev/null "$doc" || fail "apply to /dev/null"
[ -c /dev/null ] || fail "/dev/null is no longer a character device"

mkfifo "$work/pipe"
cat "$work/pipe" > "$work/from-pipe" &
reader=$!
"$E" apply --db "$work/h.db" --dry-run -o "$work/pipe" "$doc" ||
    fail "apply to a FIFO"
wait "$reader"
[ -p "$work/pipe" ] || fail "the FIFO was replaced"
"$E" apply --db "$work/h.db" --dry-run -o "$work/regular" "$doc" ||
    fail "apply to a file"
cmp -s "$work/from-pipe" "$work/regular" || fail "FIFO output differs"
mkdir "$work/dir"
"$E" apply --db "$work/h.db" --dry-run -o "$work/dir" "$doc" 2>"$work/err"
rc=$?
[ $rc -eq 1 ] || fail "directory as output: status $rc, expected 1"
grep -q "is a directory" "$work/err" || fail "directory message: $(cat "$work/err")"
echo "devices: ok"
