#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# metrics.sh - `apply --metrics FILE` (SPEC 10): a Prometheus
# textfile-collector file, written atomically, on failure too.
#
#  1. the strict parser (prom_parse.py) refuses what the format and the
#     textfile collector refuse: no final newline, a timestamp, a series
#     twice, TYPE after samples, split families, a hex value, a bad escape;
#  2. a successful run: the file parses; every family has HELP and TYPE
#     gauge and an exitstage_ name, times end in _seconds and fractions in
#     _ratio; the values equal the report's (valid-after, relays, exit
#     candidates, in staging, stripped, graduated, exempted, stripped and
#     staging fractions, guard, enabled, P, W, phase, weights), exit
#     status 0, run and last-success times = --now, a duration >= 0, and
#     exitstage_signatures_checked 0 (no --certs; apply_trust.sh checks
#     the figures of a checked run);
#  3. failed runs record their exit status (3 an older consensus, 2 a
#     clock the history does not use, 1 a missing history or a lock held,
#     143 SIGTERM while waiting for the lock), keep the last success time
#     of the file they replace, and carry no consensus figure; the history
#     and the other outputs are as they were; a later success replaces it;
#  4. the file goes through the library's output layer like every other:
#     a new file is 0666 less the umask, a replaced one keeps its mode, a
#     symbolic link is written through, no temporary file is left; a
#     metrics file that cannot be written fails the run (status 1) before
#     anything is renamed or committed; `--metrics -' and a metrics path
#     equal to another output are usage errors; --dry-run writes it too.
#
# Where python3-prometheus-client or promtool is installed, the file is
# also read with them.  Environment (set by ctest): EXITSTAGE, EXST_GEN,
# EXST_SRC.  Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
EXITSTAGE=${EXITSTAGE:-}
EXST_GEN=${EXST_GEN:-}
need_exe EXITSTAGE EXST_GEN
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
need_cmd "$PY" jq
PARSE=$SRC/tests/cli/prom_parse.py
make_tmp metrics
cd "$TMP" || exit 1
E=$EXITSTAGE
umask 022

# --- 1. the parser refuses bad files -------------------------------------
bad() {
    printf '%b' "$2" >bad.prom
    if "$PY" "$PARSE" bad.prom >/dev/null 2>bad.err; then
        fail "parser accepted $1"
    fi
}
bad "no final newline" '# TYPE a gauge\na 1'
bad "a timestamp" '# TYPE a gauge\na 1 1700000000000\n'
bad "a series twice" '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'
bad "TYPE after samples" 'a 1\n# TYPE a gauge\n'
bad "a split family" '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="2"} 1\n'
bad "a hex value" '# TYPE a gauge\na 0x10\n'
bad "a bad label escape" '# TYPE a gauge\na{x="\\q"} 1\n'
bad "a bad name" '# TYPE 1a gauge\n1a 1\n'
bad "an unknown type" '# TYPE a meter\na 1\n'
bad "two HELP lines" '# HELP a x\n# HELP a y\na 1\n'
bad "a CR" '# TYPE a gauge\r\na 1\n'
printf '# HELP a x \\\\ y\\n z\n# TYPE a gauge\na{l="q\\"\\\\"} +Inf\n# c\n\nb -1.5e-3\n' >good.prom
"$PY" "$PARSE" good.prom >good.json 2>bad.err ||
    fail "parser refused a valid file: $(cat bad.err)"
[ $fails -eq 0 ] && ok "the parser refuses 11 kinds of bad file and reads a good one"

# --- data: a small generated network, every relay new -------------------
"$EXST_GEN" --out-dir gen --days 1 --relays 120 --seed 5 --flavor ns \
    --missing-hours 0 >/dev/null 2>&1 || { fail "exitstage-gen failed"; finish; }
C0=gen/2026-01-01-00-00-00-consensus
C1=gen/2026-01-01-01-00-00-consensus
C2=gen/2026-01-01-02-00-00-consensus
"$E" db init --db h.db --bootstrap none || fail "db init"

# parse FILE: the parsed JSON into FILE.json, or a failure.
parse() {
    if ! "$PY" "$PARSE" "$1" >"$1.json" 2>parse.err; then
        fail "$1 does not parse: $(cat parse.err)"
        return 1
    fi
}
# val FILE NAME [PHASE]: the value of a sample.
val() {
    if [ $# -eq 3 ]; then
        jq -r --arg n "$2" --arg p "$3" \
            '.families[$n].samples[] | select(.[0].phase == $p) | .[1]' "$1.json"
    else
        jq -r --arg n "$2" '.families[$n].samples[0][1] // "absent"' "$1.json"
    fi
}
# same A B WHAT: numeric equality within 1e-6.
same() {
    if ! "$PY" -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(abs(a - b) > 1e-6)' "$1" "$2" 2>/dev/null; then
        fail "$3: metrics say $1, want $2"
    fi
}
epoch() {
    "$PY" -c 'import calendar, sys, time; print(calendar.timegm(time.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")))' "$1"
}

# --- 2. success ------------------------------------------------------------
# An exempt relay, so exempted is not 0: the first exit of C0.
EX=$("$E" apply --db h.db --dry-run --now 2026-01-01T00:10:00Z -o /dev/null \
    --report - -q "$C0" 2>/dev/null | jq -r '.in_staging[0]')
echo "$EX" >exempt
NOW0=2026-01-01T00:10:00Z
if ! "$E" apply --db h.db --now $NOW0 -o out0 --report rep0.json \
        --exempt exempt --metrics m.prom "$C0" 2>err; then
    fail "apply with --metrics failed: $(cat err)"
    finish
fi
parse m.prom || finish
# Families: HELP, TYPE gauge, names and units.
jq -r '.families | to_entries[] | select(.value.type != "gauge" or
        (.value.help // "") == "" or (.key | startswith("exitstage_") | not))
      | .key' m.prom.json >badfam
[ -s badfam ] && fail "families without HELP, TYPE gauge or exitstage_ prefix: $(tr '\n' ' ' <badfam)"
jq -r '.families | keys[] | select(test("timestamp|valid_after|duration|period|after_s") and (endswith("_seconds") | not))' m.prom.json >badunit
jq -r '.families | keys[] | select(test("fraction|share|exit_bandwidth") and (endswith("_ratio") | not))' m.prom.json >>badunit
[ -s badunit ] && fail "names without their unit: $(tr '\n' ' ' <badunit)"
want_fams="exitstage_capacity_guard_tripped exitstage_consensus_relays
exitstage_consensus_valid_after_seconds exitstage_exit_candidates
exitstage_exit_status exitstage_history_phase exitstage_history_relays
exitstage_last_success_timestamp_seconds exitstage_relays_exempted
exitstage_relays_graduated exitstage_relays_in_staging
exitstage_relays_stripped exitstage_reset_after_seconds
exitstage_run_duration_seconds exitstage_run_timestamp_seconds
exitstage_signatures_checked exitstage_staging_enabled
exitstage_staging_exit_bandwidth_ratio exitstage_staging_period_seconds
exitstage_stripped_exit_bandwidth_ratio exitstage_weights_recomputed"
got_fams=$(jq -r '.families | keys[]' m.prom.json | tr '\n' ' ')
[ "$got_fams" = "$(echo $want_fams) " ] ||
    fail "families differ: got $got_fams"
R=rep0.json
same "$(val m.prom exitstage_exit_status)" 0 "exit status"
same "$(val m.prom exitstage_run_timestamp_seconds)" "$(epoch $NOW0)" "run time"
same "$(val m.prom exitstage_last_success_timestamp_seconds)" "$(epoch $NOW0)" "last success"
"$PY" -c 'import sys; sys.exit(not 0 <= float(sys.argv[1]) < 60)' \
    "$(val m.prom exitstage_run_duration_seconds)" || fail "duration out of range"
same "$(val m.prom exitstage_consensus_valid_after_seconds)" \
    "$(epoch "$(jq -r .consensus.valid_after $R)")" "valid-after"
same "$(val m.prom exitstage_consensus_relays)" "$(jq .consensus.relays $R)" relays
for k in exit_candidates:exit_candidates relays_in_staging:in_staging \
    relays_stripped:stripped relays_graduated:graduated \
    relays_exempted:exempted; do
    same "$(val m.prom exitstage_${k%%:*})" "$(jq .counts.${k#*:} $R)" "${k%%:*}"
done
[ "$(jq .counts.exempted $R)" = 1 ] || fail "the exempt relay was not exempted"
[ "$(jq .counts.stripped $R)" -gt 0 ] || fail "nothing stripped: the data do not test much"
same "$(val m.prom exitstage_stripped_exit_bandwidth_ratio)" \
    "$(jq .bandwidth.stripped_fraction $R)" "stripped fraction"
same "$(val m.prom exitstage_staging_exit_bandwidth_ratio)" \
    "$(jq .capacity_guard.fraction $R)" "staging fraction"
same "$(val m.prom exitstage_capacity_guard_tripped)" 0 "guard"
same "$(val m.prom exitstage_staging_enabled)" 1 "enabled"
same "$(val m.prom exitstage_staging_period_seconds)" "$(jq .policy.staging_period_s $R)" P
same "$(val m.prom exitstage_reset_after_seconds)" "$(jq .policy.reset_after_s $R)" W
same "$(val m.prom exitstage_weights_recomputed)" 1 "weights"
same "$(val m.prom exitstage_history_relays)" "$(jq .history.relays $R)" "history relays"
same "$(val m.prom exitstage_signatures_checked)" 0 "signatures not checked"
phase=$(jq -r .history.phase $R)
for p in bootstrap ramp steady; do
    w=0
    [ "$p" = "$phase" ] && w=1
    same "$(val m.prom exitstage_history_phase $p)" $w "phase $p"
done
[ "$(stat -c %a m.prom)" = 644 ] || fail "new metrics file mode $(stat -c %a m.prom), want 644"
[ $fails -eq 0 ] && ok "success: $(jq '.families | length' m.prom.json) gauges, all equal to the report's figures"

# The guard tripping shows as such.
"$E" apply --db h.db --dry-run --now $NOW0 -o /dev/null --metrics mg.prom \
    --max-strip-fraction 0.01 "$C0" 2>/dev/null || fail "guard run failed"
parse mg.prom && same "$(val mg.prom exitstage_capacity_guard_tripped)" 1 "guard tripped" &&
    same "$(val mg.prom exitstage_relays_stripped)" 0 "stripped with the guard tripped"

# --- 3. failures -----------------------------------------------------------
chmod 0640 m.prom
"$E" apply --db h.db --now 2026-01-01T01:10:00Z -o out1 --metrics m.prom "$C1" 2>/dev/null ||
    fail "second apply failed"
S1=$(epoch 2026-01-01T01:10:00Z)
cp h.db h.before
cp out1 out1.before
failed() { # NAME STATUS ARGS...: a failing run and its metrics
    local name=$1 want=$2 st
    shift 2
    "$E" apply "$@" >/dev/null 2>err
    st=$?
    [ $st -eq "$want" ] || fail "$name: status $st, want $want ($(head -1 err))"
    parse m.prom || return
    same "$(val m.prom exitstage_exit_status)" "$want" "$name: exit status"
    same "$(val m.prom exitstage_last_success_timestamp_seconds)" $S1 "$name: last success"
    same "$(val m.prom exitstage_run_timestamp_seconds)" "$(epoch 2026-01-01T05:00:00Z)" "$name: run time"
    [ "$(val m.prom exitstage_consensus_valid_after_seconds)" = absent ] ||
        fail "$name: consensus figures in a failed run's metrics"
    [ "$(jq '.families | length' m.prom.json)" = 4 ] ||
        fail "$name: $(jq '.families | length' m.prom.json) families, want 4"
    cmp -s h.db h.before || fail "$name: the history changed"
    cmp -s out1 out1.before || fail "$name: -o changed"
}
failed "older consensus" 3 --db h.db --now 2026-01-01T05:00:00Z -o out1 --metrics m.prom "$C0"
failed "clock mismatch" 2 --db h.db --now 2026-01-01T05:00:00Z -o out1 --metrics m.prom --clock relay "$C2"
failed "missing history" 1 --db nosuch.db --now 2026-01-01T05:00:00Z -o out1 --metrics m.prom "$C2"
failed "bad --exempt" 2 --db h.db --now 2026-01-01T05:00:00Z -o out1 --metrics m.prom --exempt m.prom "$C2"
[ "$(stat -c %a m.prom)" = 640 ] || fail "replaced metrics file lost its mode ($(stat -c %a m.prom))"
if command -v flock >/dev/null 2>&1; then
    # The holder keeps the lock until the gate is opened and closed.
    mkfifo gate
    flock h.db.lock cat gate >/dev/null 2>&1 &
    holder=$!
    sleep 0.3
    failed "lock held" 1 --db h.db --wait=0 --now 2026-01-01T05:00:00Z -o out1 --metrics m.prom "$C2"
    "$E" apply --db h.db --wait --now 2026-01-01T05:00:00Z -o out1 \
        --metrics m.prom "$C2" >/dev/null 2>err &
    waiter=$!
    sleep 0.5
    kill -TERM $waiter
    wait $waiter
    st=$?
    [ $st -eq 143 ] || fail "SIGTERM while waiting: status $st, want 143"
    parse m.prom && same "$(val m.prom exitstage_exit_status)" 143 "SIGTERM: exit status"
    : >gate
    wait $holder
else
    echo "note: flock(1) not installed: lock and signal cases skipped"
fi
[ $fails -eq 0 ] && ok "failed runs record their status (3, 2, 1, 2, 1, 143), keep the last success and nothing else"
"$E" apply --db h.db --now 2026-01-01T02:10:00Z -o out1 --metrics m.prom "$C2" 2>/dev/null ||
    fail "apply after the failures failed"
parse m.prom && same "$(val m.prom exitstage_last_success_timestamp_seconds)" \
    "$(epoch 2026-01-01T02:10:00Z)" "last success after a success" &&
    same "$(val m.prom exitstage_consensus_valid_after_seconds)" \
        "$(epoch 2026-01-01T02:00:00Z)" "valid-after after a success"

# --- 4. the output layer ---------------------------------------------------
mkdir -p textfile
ln -s textfile/exitstage.prom link.prom
"$E" apply --db h.db --dry-run --now 2026-01-01T02:10:00Z -o /dev/null \
    --metrics link.prom "$C2" 2>/dev/null || fail "--metrics through a link failed"
[ -L link.prom ] && [ -f textfile/exitstage.prom ] ||
    fail "the link was not written through"
parse textfile/exitstage.prom
cp h.db h.before
rm -f rep.json
"$E" apply --db h.db --now 2026-01-01T03:10:00Z -o out3 --report rep.json \
    --metrics nodir/m.prom "$C2" >/dev/null 2>err
st=$?
[ $st -eq 1 ] || fail "unwritable metrics: status $st, want 1"
[ -e out3 ] || [ -e rep.json ] && fail "unwritable metrics: other outputs were renamed into place"
cmp -s h.db h.before || fail "unwritable metrics: the history changed"
"$E" apply --db h.db --now 2026-01-01T03:10:00Z -o out3 --metrics - "$C2" >/dev/null 2>err
[ $? -eq 2 ] || fail "--metrics -: not a usage error"
"$E" apply --db h.db --now 2026-01-01T03:10:00Z -o m.prom --metrics m.prom "$C2" >/dev/null 2>err
[ $? -eq 2 ] && grep -q 'name the same file' err || fail "-o = --metrics: not a usage error"
left=$(find . -name '*.tmp.*' | head -3)
[ -z "$left" ] || fail "temporary files left: $left"
[ $fails -eq 0 ] && ok "through a link, modes kept, all or nothing, usage errors, no temporary files"

# --- other readers, where installed ----------------------------------------
if "$PY" -c 'import prometheus_client.parser' 2>/dev/null; then
    "$PY" -c 'import sys
from prometheus_client.parser import text_string_to_metric_families as p
n = sum(1 for _ in p(open(sys.argv[1]).read()))
assert n > 10, n' m.prom && ok "prometheus_client reads it" ||
        fail "prometheus_client refuses it"
fi
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <m.prom >promtool.out 2>&1 &&
        ok "promtool check metrics: clean" ||
        { fail "promtool check metrics:"; cat promtool.out; }
fi

finish
