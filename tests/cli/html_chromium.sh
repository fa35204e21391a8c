#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# html_chromium.sh - a browser shows the HTML report (SPEC 9 "Pictures"):
# headless Chromium, with no network, takes a screenshot of the page of
# testdata/analysis/one-lane.json and of a generated year of twelve lanes;
# each PNG must be the window's size (1280x2000) and not blank (decoded by
# tests/cli/html_check.py).  Skipped without /usr/bin/chromium (Debian's;
# run as root, hence --no-sandbox) or /usr/bin/python3.
#
# Environment (set by ctest): EXITSTAGE = the built tool, EXST_SRC = source
# dir.  Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
CHROMIUM=/usr/bin/chromium
need_exe EXITSTAGE
[ -x "$PY" ] || { echo "SKIP: $PY not installed"; exit 77; }
[ -x "$CHROMIUM" ] || { echo "SKIP: $CHROMIUM not installed"; exit 77; }
CHECK="$PY $SRC/tests/cli/html_check.py"
make_tmp chromium

"$PY" "$SRC/tests/cli/analysis_gen.py" --lanes 12 --hours 8760 --gaps \
    --watched 8 --seed 7 --compact >"$TMP/year-12-lanes.json" ||
    fail "analysis_gen.py could not write year-12-lanes.json"

for doc in "$SRC/testdata/analysis/one-lane.json" "$TMP/year-12-lanes.json"; do
    name=$(basename "$doc" .json)
    page=$TMP/$name.html
    png=$TMP/$name.png
    if ! "$EXITSTAGE" report --html "$page" --analysis "$doc"; then
        fail "$name: report failed"
        continue
    fi
    profile=$(mktemp -d "$TMP/profile.XXXXXX")
    # No network at all: the page must need none.
    HOME=$TMP timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync \
        --user-data-dir="$profile" --screenshot="$png" \
        --window-size=1280,2000 "file://$page" >"$TMP/chromium.log" 2>&1
    st=$?
    if [ ! -s "$png" ]; then
        fail "$name: chromium (status $st) made no screenshot"
        tail -5 "$TMP/chromium.log" | sed 's/^/  /'
    elif $CHECK png "$png" 1280 2000 >"$TMP/out"; then
        ok "$name: screenshot $(sed 's/^[^:]*: //' "$TMP/out")"
    else
        fail "$name: $(cat "$TMP/out")"
    fi
done

finish
