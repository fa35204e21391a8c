#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# db_show.sh - `exitstage db show` (SPEC 10): is a relay staged, and until
# when, from the history alone.
#
#  1. after hourly applies, a relay the last report lists as stripped is
#     "in_staging" with the report's run_start, eligible_at and
#     remaining_s; P and W come from the history; a relay the history
#     has seen absent is "absent" with absent_since, absent_s and
#     restarts_at = absent_since + W; an unknown fingerprint is
#     found: false, "unknown"; relays come out in the order asked;
#  2. the forms of a fingerprint: "$" in front, "~nickname" or
#     "=nickname" after, lower case, groups of four; a nickname is a
#     usage error that says nicknames are not keys; other words are
#     "not a relay fingerprint"; exact messages, status 2;
#  3. --staging-period and --reset-after override the history's P and W
#     (source "command-line") and belong to db show only;
#  4. a history made by db init --grandfather: the relays are
#     "grandfathered", P is recorded (db show needs no option), and the
#     -v line counts in the right number ("1 grandfather consensus: 1
#     relay graduated").
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN, EXST_SRC.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
EXITSTAGE=${EXITSTAGE:-}
EXST_GEN=${EXST_GEN:-}
need_exe EXITSTAGE EXST_GEN
need_cmd jq
make_tmp dbshow
cd "$TMP" || exit 1
E=$EXITSTAGE

"$EXST_GEN" --out-dir gen --days 1 --relays 150 --seed 11 --flavor ns \
    --missing-hours 0 >/dev/null 2>&1 || { fail "exitstage-gen failed"; finish; }
"$E" db init --db h.db --bootstrap none || fail "db init"
for h in 00 01 02 03 04 05 06 07 08 09; do
    "$E" -q apply --db h.db --now "2026-01-01T$h:10:00Z" -o /dev/null \
        --report rep.json "gen/2026-01-01-$h-00-00-consensus" ||
        fail "apply at $h"
done

# --- 1. states ---------------------------------------------------------------
S=$(jq -r '.stripped[0].fingerprint' rep.json)
AB=$("$E" db dump --db h.db | jq -r '[.relays[] | select(.absence_start != null)][0].fingerprint // empty')
[ -n "$AB" ] || fail "no relay was absent in ten hours of data (test data)"
"$E" db show --db h.db "$S" "$AB" 0000000000000000000000000000000000000000 \
    >show.json 2>err || fail "db show: $(cat err)"
[ "$(jq -r '[.relays[].fingerprint] | join(",")' show.json)" = "$S,$AB,0000000000000000000000000000000000000000" ] ||
    fail "relays not in the order asked"
jq -e --slurpfile r rep.json --arg s "$S" '
    .relays[0] as $x | ($r[0].stripped[] | select(.fingerprint == $s)) as $y |
    $x.state == "in_staging" and $x.in_staging and $x.present and $x.found and
    ($x.grandfathered | not) and $x.run_start == $y.run_start and
    $x.eligible_at == $y.eligible_at and $x.remaining_s == $y.remaining_s and
    $x.last_seen == $r[0].consensus.valid_after and $x.absent_since == null and
    $x.restarts_at == null' show.json >/dev/null ||
    fail "the stripped relay: $(jq -c '.relays[0]' show.json)"
jq -e --slurpfile r rep.json '
    .as_of == $r[0].consensus.valid_after and
    .policy.staging_period_s == $r[0].policy.staging_period_s and
    .policy.staging_period_s_source == "history" and
    .policy.reset_after_s == $r[0].policy.reset_after_s and
    .policy.reset_after_s_source == "history" and .clock == "exit" and
    .phase == $r[0].history.phase and .notes == []' show.json >/dev/null ||
    fail "the header: $(jq -c 'del(.relays)' show.json)"
jq -e '.relays[1] as $a | $a.state == "absent" and ($a.present | not) and
    ($a.in_staging | not) and $a.absent_since != null and
    ($a.absent_s | type) == "number" and
    (($a.restarts_at | fromdate) - ($a.absent_since | fromdate)) == .policy.reset_after_s and
    (((.as_of | fromdate) - ($a.absent_since | fromdate)) == $a.absent_s)' \
    show.json >/dev/null || fail "the absent relay: $(jq -c '.relays[1]' show.json)"
jq -e '.relays[2] | .found == false and .state == "unknown" and
    .in_staging == false and .last_seen == null' show.json >/dev/null ||
    fail "the unknown relay: $(jq -c '.relays[2]' show.json)"
[ $fails -eq 0 ] && ok "in staging (as the report says), absent, unknown"

# --- 2. forms and nicknames ------------------------------------------------------
low=$(printf '%s' "$S" | tr 'A-F' 'a-f')
grp=$(printf '%s' "$S" | sed -E 's/(....)/\1 /g; s/ $//')
for form in "\$$S" "\$$S~nick" "\$$S=nick" "$low" "$grp"; do
    "$E" db show --db h.db "$form" >f.json 2>err &&
        [ "$(jq -r '.relays[0].fingerprint' f.json)" = "$S" ] ||
        fail "form '$form' not read: $(head -1 err)"
done
usage() { # ARG FIRST-LINE
    "$E" db show --db h.db "$1" >/dev/null 2>err
    st=$?
    [ $st -eq 2 ] || fail "'$1': status $st, want 2"
    [ "$(head -1 err)" = "$2" ] || { fail "'$1': message"; echo "  got:  $(head -1 err)"; echo "  want: $2"; }
    [ "$(sed -n 2p err)" = "Try 'exitstage --help' for more information." ] ||
        fail "'$1': no --help hint"
}
usage moria1 "exitstage: db show: 'moria1' looks like a nickname; the history knows relays by fingerprint only (nicknames are not unique, and are not kept): give its 40 hex digits, e.g. from the report's stripped list or tor's fingerprint file"
usage "${S:0:39}" "exitstage: db show: '${S:0:39}' is not a relay fingerprint (40 hex digits)"
usage "\$$S~" "exitstage: db show: '\$$S~' is not a relay fingerprint (40 hex digits)"
usage "relay-1" "exitstage: db show: 'relay-1' is not a relay fingerprint (40 hex digits)"
[ $fails -eq 0 ] && ok "fingerprint forms read; nicknames and other words refused with status 2"

# --- 3. overrides ------------------------------------------------------------------
"$E" db show --db h.db --staging-period 1h --reset-after 2h "$S" >o.json ||
    fail "db show --staging-period"
jq -e --slurpfile r rep.json '.policy == {"staging_period_s": 3600,
    "staging_period_s_source": "command-line", "reset_after_s": 7200,
    "reset_after_s_source": "command-line"} and
    .relays[0].in_staging == (((.as_of | fromdate) - (.relays[0].run_start | fromdate)) < 3600)' \
    o.json >/dev/null || fail "override: $(jq -c '.policy, .relays[0]' o.json)"
"$E" db dump --db h.db --staging-period 1h >/dev/null 2>err
[ $? -eq 2 ] && [ "$(head -1 err)" = "exitstage: db dump: --staging-period and --reset-after belong to db show" ] ||
    fail "db dump --staging-period: $(head -1 err)"
"$E" db show --db h.db --staging-period 31d "$S" >/dev/null 2>err
[ $? -eq 2 ] || fail "--staging-period 31d accepted"
[ $fails -eq 0 ] && ok "--staging-period and --reset-after override, on db show only"

# --- 4. grandfathered --------------------------------------------------------------
# One exit relay: the minimal document with Exit taken from one of its two.
VALID=$SRC/testdata/consensus/valid
awk '$1 == "s" && /Exit/ && !done { sub(/ Exit/, ""); done = 1 } { print }' \
    "$VALID/minimal-ns" >one-exit
"$E" -v db init --db g.db --grandfather one-exit 2>err || fail "db init --grandfather: $(cat err)"
[ "$(cat err)" = "exitstage: history 'g.db' started from 1 grandfather consensus: 1 relay graduated" ] ||
    fail "db init -v: '$(cat err)'"
G=$("$E" db dump --db g.db | jq -r '.relays[0].fingerprint')
"$E" db show --db g.db "$G" >g.json 2>err || fail "db show (grandfathered): $(cat err)"
[ -s err ] && fail "db show (grandfathered) warns: $(cat err)"
jq -e '.relays[0] | .state == "grandfathered" and .grandfathered and
    .run_start == null and .eligible_at == null and .in_staging == false' \
    g.json >/dev/null || fail "grandfathered: $(jq -c '.relays[0]' g.json)"
jq -e '.policy.staging_period_s_source == "history" and .notes == []' g.json >/dev/null ||
    fail "after db init --grandfather: $(jq -c '.policy, .notes' g.json)"
"$E" -v db init --db g2.db --grandfather "$VALID/minimal-ns" 2>err
[ "$(cat err)" = "exitstage: history 'g2.db' started from 1 grandfather consensus: 2 relays graduated" ] ||
    fail "db init -v (2): '$(cat err)'"
[ $fails -eq 0 ] && ok "grandfathered relays; P recorded by db init --grandfather; counts in the right number"

finish
