#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# exempt.sh - `--exempt FILE` on apply and replay (SPEC 10): fingerprints
# the operators vouch for are never staged.
#
#  1. apply: the file's forms (comments, blank lines, "$", tor's groups of
#     four, lower case, a trailing comment, a repeat, a relay the
#     consensus lacks) all read; the exempt relays in staging are listed
#     under "exempted" (sorted) and counted, and left out of in_staging,
#     stripped and the staged list; their s lines keep Exit in the output;
#     everything else equals a run without --exempt less those relays;
#     policy.exempt counts the distinct fingerprints; the history keeps
#     their runs (db show: still staged by their own run);
#  2. bad lines are usage errors (status 2) naming file, line and column,
#     with the exact message, and change nothing: no output, the history
#     as it was; a missing file is status 1;
#  3. replay: every timeline record counts the exempted relays, and no
#     exempt relay is ever stripped.
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

EXITSTAGE=${EXITSTAGE:-}
EXST_GEN=${EXST_GEN:-}
need_exe EXITSTAGE EXST_GEN
need_cmd jq
make_tmp exempt
cd "$TMP" || exit 1
E=$EXITSTAGE

"$EXST_GEN" --out-dir gen --days 1 --relays 120 --seed 9 --flavor ns \
    --missing-hours 0 >/dev/null 2>&1 || { fail "exitstage-gen failed"; finish; }
C0=gen/2026-01-01-00-00-00-consensus
NOW=2026-01-01T00:10:00Z
"$E" db init --db h.db --bootstrap none || fail "db init"
"$E" apply --db h.db --dry-run --now $NOW -o plain.out --report plain.json \
    "$C0" 2>/dev/null || fail "apply without --exempt"
X=$(jq -r '.in_staging[0]' plain.json)
Y=$(jq -r '.in_staging[1]' plain.json)
[ "$(jq '.in_staging | length' plain.json)" -gt 3 ] ||
    fail "too few relays in staging for this test"
lower() { printf '%s' "$1" | tr 'A-F' 'a-f'; }
groups() { printf '%s' "$1" | sed -E 's/(....)/\1 /g; s/ $//'; }

# --- 1. apply ----------------------------------------------------------------
{
    echo "# relays we vouch for"
    echo
    echo "  \$$X   # the first"
    groups "$(lower "$Y")"; echo
    echo "$X"
    echo "0000000000000000000000000000000000000001"
} >exempt
cp h.db h.before
"$E" apply --db h.db --now $NOW -o ex.out --report ex.json --staged-list ex.list \
    --exempt exempt "$C0" 2>err || fail "apply --exempt: $(cat err)"
[ "$(jq -c .exempted ex.json)" = "$(printf '%s\n%s\n' "$X" "$Y" | sort | jq -Rsc 'split("\n") | map(select(. != ""))')" ] ||
    fail "exempted: $(jq -c .exempted ex.json)"
[ "$(jq .counts.exempted ex.json)" = 2 ] || fail "counts.exempted $(jq .counts.exempted ex.json)"
"$E" -v apply --db h.db --dry-run --now $NOW -o /dev/null --exempt exempt \
    "$C0" 2>err || fail "apply -v --exempt"
grep -q "^exitstage: 2026-01-01T00:00:00Z ns: [0-9]* exit candidates, [0-9]* in staging, 2 exempted, [0-9]* stripped " err ||
    fail "-v line: $(cat err)"
[ "$(jq .policy.exempt ex.json)" = 3 ] || fail "policy.exempt $(jq .policy.exempt ex.json), want 3"
jq -e --arg x "$X" --arg y "$Y" '(.in_staging | index($x) or index($y)) or
    ([.stripped[].fingerprint] | index($x) or index($y))' ex.json >/dev/null &&
    fail "an exempt relay is in staging or stripped"
grep -q -e "$X" -e "$Y" ex.list && fail "an exempt relay is in the staged list"
[ "$(jq .counts.in_staging ex.json)" = $(($(jq .counts.in_staging plain.json) - 2)) ] ||
    fail "in_staging is not the plain run's less 2"
jq -c --arg x "$X" --arg y "$Y" '.in_staging - [$x, $y]' plain.json >a
jq -c .in_staging ex.json >b
cmp -s a b || fail "in_staging differs from the plain run's less the exempt relays"
[ "$(jq .counts.exit_candidates ex.json)" = "$(jq '.counts.in_staging + .counts.graduated + .counts.exempted' ex.json)" ] ||
    fail "exit_candidates != in_staging + graduated + exempted"
# Their s lines keep Exit: the entries of X and Y are as in the input.
b64id() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')" | base64 | tr -d '='; }
for f in "$X" "$Y"; do
    id=$(b64id "$f")
    want=$(awk -v id="$id" '$1 == "r" { on = ($3 == id) } on && $1 == "s"' "$C0")
    got=$(awk -v id="$id" '$1 == "r" { on = ($3 == id) } on && $1 == "s"' ex.out)
    [ -n "$want" ] && [ "$want" = "$got" ] && case $got in *" Exit "*) ;; *) false ;; esac ||
        fail "relay $f: s line '$got', want '$want' with Exit"
done
"$E" db show --db h.db "$X" >show.json || fail "db show"
[ "$(jq -r '.relays[0].state' show.json)" = in_staging ] ||
    fail "the history lost the exempt relay's run: $(jq -c '.relays[0]' show.json)"
[ $fails -eq 0 ] && ok "apply: 2 exempt relays in staging listed, counted, not stripped, runs kept"

# --- 2. bad lines ---------------------------------------------------------------
cp h.db h.before
bad() { # CONTENT FIRST-STDERR-LINE
    printf '%b' "$1" >bad
    rm -f bad.out bad.json
    "$E" apply --db h.db --now 2026-01-01T01:10:00Z -o bad.out --report bad.json \
        --exempt bad gen/2026-01-01-01-00-00-consensus 2>err
    st=$?
    [ $st -eq 2 ] || fail "'$1': status $st, want 2"
    [ "$(head -1 err)" = "$2" ] || { fail "'$1': message"; echo "  got:  $(head -1 err)"; echo "  want: $2"; }
    [ -e bad.out ] || [ -e bad.json ] && fail "'$1': outputs written"
    cmp -s h.db h.before || fail "'$1': the history changed"
}
F40=$X
bad "# ok\n\nmynode $F40\n" "exitstage: bad:3:1: --exempt: expected a relay fingerprint (40 hex digits), found 'mynode ${F40:0:33}...'"
bad "!badexit $F40\n" "exitstage: bad:1:1: --exempt: expected a relay fingerprint (40 hex digits), found '!badexit ${F40:0:31}...'"
bad "$F40\n${F40:0:39}\n" "exitstage: bad:2:40: --exempt: expected a relay fingerprint (40 hex digits), found '${F40:0:39}'"
bad "  ${F40}0\n" "exitstage: bad:1:43: --exempt: expected a relay fingerprint (40 hex digits), found '${F40}...'"
bad "$F40 extra\n" "exitstage: bad:1:42: --exempt: expected a relay fingerprint (40 hex digits), found '$F40...'"
bad "${F40:0:10}  ${F40:10}\n" "exitstage: bad:1:11: --exempt: expected a relay fingerprint (40 hex digits), found '${F40:0:10}  ${F40:10:28}...'"
bad "$F40\r\n" "exitstage: bad:1:41: --exempt: expected a relay fingerprint (40 hex digits), found '$F40...'"
"$E" apply --db h.db --now 2026-01-01T01:10:00Z -o bad.out --exempt nosuch \
    gen/2026-01-01-01-00-00-consensus 2>err
st=$?
[ $st -eq 1 ] || fail "missing file: status $st, want 1"
[ "$(head -1 err)" = "exitstage: --exempt: cannot open 'nosuch': No such file or directory" ] ||
    fail "missing file: '$(head -1 err)'"
[ $fails -eq 0 ] && ok "bad lines: status 2 with file, line, column and the line; missing file: status 1"

# --- 3. replay ---------------------------------------------------------------------
"$E" -q replay --db r.db --bootstrap none --exempt exempt --timeline tl.ndjson gen \
    2>err || fail "replay --exempt: $(cat err)"
[ -s tl.ndjson ] || fail "no timeline"
jq -e --arg x "$X" --arg y "$Y" 'select(.stripped | index($x) or index($y))' \
    tl.ndjson >/dev/null && fail "replay stripped an exempt relay"
[ "$(jq -s 'map(.counts.exempted) | (add > 0) and (max <= 2)' tl.ndjson)" = true ] ||
    fail "replay: exempted counts $(jq -s -c 'map(.counts.exempted)' tl.ndjson)"
[ "$(jq -s 'map(select(.counts.exit_candidates != .counts.in_staging + .counts.graduated + .counts.exempted)) | length' tl.ndjson)" = 0 ] ||
    fail "replay: exit_candidates != in_staging + graduated + exempted"
[ $fails -eq 0 ] && ok "replay: $(wc -l <tl.ndjson) records count the exempted, none strips them"

finish
