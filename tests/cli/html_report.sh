#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# html_report.sh - `exitstage report --html` through the command line
# (SPEC 9 "Pictures"), on every document of testdata/analysis and on
# generated ones (three lanes over two weeks with gaps; twelve lanes over a
# year, hourly):
#  - the page parses with a strict XML parser (/usr/bin/python3's
#    ElementTree) and refers to nothing outside itself (no script, src,
#    href or url() but to #fragments, no @import);
#  - each <svg>, cut out into a file of its own, renders with
#    rsvg-convert to a PNG of the svg's width and height that is not blank
#    (decoded by tests/cli/html_check.py; skipped without rsvg-convert);
#  - the same document gives the same bytes, through files or stdin and
#    stdout; a year of twelve lanes stays under 1 MB;
#  - a malformed document gives status 3 with FILE:LINE:COL, one that
#    breaks the schema status 3 with the JSON path, and neither writes or
#    replaces the page; usage errors give status 2.
# The Chromium screenshot is tests/cli/html_chromium.sh.
#
# Environment (set by ctest): EXITSTAGE = the built tool, EXST_SRC = source
# dir.  Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
need_exe EXITSTAGE
[ -x "$PY" ] || { echo "SKIP: $PY not installed"; exit 77; }
CHECK="$PY $SRC/tests/cli/html_check.py"
make_tmp html

# --- the documents ---------------------------------------------------------

mkdir -p "$TMP/docs"
cp "$SRC"/testdata/analysis/*.json "$TMP/docs/"
"$PY" "$SRC/tests/cli/analysis_gen.py" --lanes 3 --hours 336 --gaps \
    --watched 5 --seed 3 >"$TMP/docs/two-weeks.json" ||
    fail "analysis_gen.py could not write two-weeks.json"
"$PY" "$SRC/tests/cli/analysis_gen.py" --lanes 12 --hours 8760 --gaps \
    --watched 8 --seed 7 --compact >"$TMP/docs/year-12-lanes.json" ||
    fail "analysis_gen.py could not write year-12-lanes.json"

have_rsvg=1
command -v rsvg-convert >/dev/null 2>&1 || {
    have_rsvg=0
    echo "note: rsvg-convert not installed: SVG rendering not checked"
}

for doc in "$TMP"/docs/*.json; do
    name=$(basename "$doc" .json)
    page=$TMP/$name.html
    if ! "$EXITSTAGE" report --html "$page" --analysis "$doc" 2>"$TMP/err"; then
        fail "$name: report failed: $(cat "$TMP/err")"
        continue
    fi
    if $CHECK page "$page" >"$TMP/out"; then
        ok "$(cat "$TMP/out")"
    else
        fail "$name: $(cat "$TMP/out")"
    fi
    [ $have_rsvg -eq 1 ] || continue
    mkdir -p "$TMP/$name.svg"
    if ! $CHECK svgs "$page" "$TMP/$name.svg" >"$TMP/svgs"; then
        fail "$name: $(cat "$TMP/svgs")"
        continue
    fi
    while read -r svg w h; do
        png=${svg%.svg}.png
        if ! rsvg-convert -o "$png" "$svg" 2>"$TMP/err"; then
            fail "$name: rsvg-convert $(basename "$svg"): $(cat "$TMP/err")"
        elif $CHECK png "$png" "$w" "$h" >"$TMP/out"; then
            ok "$name: $(basename "$svg") renders: $(sed 's/^[^:]*: //' "$TMP/out")"
        else
            fail "$name: $(cat "$TMP/out")"
        fi
    done <"$TMP/svgs"
done

# --- size, determinism, standard streams -------------------------------------

size=$(wc -c <"$TMP/year-12-lanes.html")
docsize=$(wc -c <"$TMP/docs/year-12-lanes.json")
if [ "$size" -lt 1000000 ]; then
    ok "a year of 12 lanes ($docsize bytes of JSON) makes a page of $size bytes"
else
    fail "a year of 12 lanes makes a page of $size bytes (1 MB or more)"
fi

"$EXITSTAGE" report --html "$TMP/again.html" \
    --analysis "$TMP/docs/year-12-lanes.json" &&
    cmp -s "$TMP/again.html" "$TMP/year-12-lanes.html" &&
    ok "the same document gives the same bytes" ||
    fail "two runs on the same document differ"

"$EXITSTAGE" report --html - --analysis - \
    <"$TMP/docs/one-lane.json" >"$TMP/stdout.html" &&
    cmp -s "$TMP/stdout.html" "$TMP/one-lane.html" &&
    ok "--analysis - and --html - give the same page" ||
    fail "the page through stdin and stdout differs"

"$EXITSTAGE" report --html "$TMP/titled.html" --title 'Q1 <2026> & more' \
    --analysis "$TMP/docs/one-lane.json" &&
    grep -q '<title>Q1 &lt;2026&gt; &amp; more</title>' "$TMP/titled.html" &&
    ok "--title is the page's title, escaped" ||
    fail "--title is not the page's title"

# --- refused documents: status 3, no page ------------------------------------

run_refused() { # NAME DOCUMENT-TEXT EXPECTED-STDERR
    local out=$TMP/refused.html
    printf 'an older page\n' >"$out"
    printf '%s' "$2" >"$TMP/$1.json"
    (cd "$TMP" && "$EXITSTAGE" report --html refused.html \
        --analysis "$1.json") >/dev/null 2>"$TMP/err"
    local st=$?
    if [ $st -ne 3 ]; then
        fail "$1: exit status $st, expected 3"
    elif [ "$(cat "$TMP/err")" != "$3" ]; then
        fail "$1: stderr '$(cat "$TMP/err")', expected '$3'"
    elif [ "$(cat "$out")" != "an older page" ]; then
        fail "$1: the older page was replaced"
    elif ls "$TMP"/refused.html.tmp.* >/dev/null 2>&1; then
        fail "$1: a temporary file was left behind"
    else
        ok "$1: status 3, '$3', the older page kept"
    fi
}
run_refused syntax $'{"schema_version": 1,\n "tool": }' \
    "exitstage: syntax.json:2:10: unexpected token near '}'"
run_refused schema "$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["lanes"][0]["series"]["phase"][7] = "warm"
print(json.dumps(d))' "$TMP/docs/one-lane.json")" \
    "exitstage: schema.json: lanes[0].series.phase[7]: expected \"bootstrap\", \"ramp\" or \"steady\", found \"warm\""
run_refused version '{"schema_version": 2}' \
    "exitstage: version.json: schema_version: expected 1, found 2 (this version reads schema_version 1)"

# --- usage -------------------------------------------------------------------

usage() { # WHAT ARGS...
    local what=$1
    shift
    "$EXITSTAGE" report "$@" >/dev/null 2>"$TMP/err"
    local st=$?
    if [ $st -eq 2 ] && grep -q "^Try 'exitstage --help'" "$TMP/err"; then
        ok "usage error ($what): status 2"
    else
        fail "$what: status $st, stderr '$(cat "$TMP/err")'"
    fi
}
usage "no --html" --analysis "$TMP/docs/one-lane.json"
usage "no --analysis" --html "$TMP/x.html"
usage "an operand" --html "$TMP/x.html" --analysis "$TMP/docs/one-lane.json" extra
usage "an unknown option" --html "$TMP/x.html" --colour
usage "a missing value" --html
"$EXITSTAGE" report --html "$TMP/x.html" --analysis "$TMP/missing.json" \
    2>"$TMP/err"
st=$?
[ $st -eq 1 ] && grep -q "cannot open '$TMP/missing.json'" "$TMP/err" &&
    ok "a missing document: status 1, cannot open" ||
    fail "a missing document: status $st, '$(cat "$TMP/err")'"
"$EXITSTAGE" report --help | grep -q -- '--analysis FILE' &&
    ok "report --help lists --analysis" || fail "report --help"

finish
