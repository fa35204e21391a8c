#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# replay_model.sh - `exitstage replay` against an independent model of the
# lifecycle rules and the analysis (SPEC 3.2 runs, 3.3 staging, 3.7
# flavours, bootstrap and phases, 9 lanes, steady figures, watched relays,
# traces).  Generated weeks (several seeds, both flavours, hours missing)
# are replayed in 4 staging periods x 3 reset windows with --timeline,
# --summary, --watchlist, --watch-badexit and --trace; replay_model.py
# parses every generated document with its own code, applies the rules and
# must give, for every record of every lane, the same valid_after, flavour,
# phase, P, W, counts and stripped list; for every lane the same summary
# figures; the same watched relays; and the same trace events.  Done for
# both bootstrap rules, both clocks, and a short P/W pair; the data must
# exercise restarts, bridged absences close to W, grandfathering and
# watched relays, and the model must disagree with a timeline made with
# other parameters (it is not vacuous).
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN, EXST_SRC.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

EXITSTAGE=${EXITSTAGE:-}
GEN=${EXST_GEN:-}
SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
MODEL="$SRC/tests/cli/replay_model.py"
need_exe EXITSTAGE GEN
if [ ! -x "$PY" ]; then
    echo "SKIP: $PY not found"
    exit 77
fi
make_tmp rmodel

P4=86400,172800,345600,604800
W3=43200,86400,172800

# trace_selectors DIR TIMELINE: a few relays worth following: stripped at
# the start, stripped late, one with BadExit, and one by nickname.
trace_selectors() {
    "$PY" - "$1" "$2" <<'EOF'
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[2])]
prim = [r for r in recs if r.get('primary')]
pick = []
for r in (prim[len(prim) // 3], prim[-1]):
    if r['stripped']:
        pick.append(r['stripped'][0])
bad = nick = None
for root, _d, files in os.walk(sys.argv[1]):
    for name in sorted(files):
        cur = None
        for line in open(os.path.join(root, name)):
            if line.startswith('r '):
                cur = line.split()[1]
            elif line.startswith('s ') and 'BadExit' in line and bad is None:
                bad = cur
            elif line.startswith('s ') and 'Exit' in line and nick is None:
                nick = cur
        break
    break
print(' '.join(['--trace ' + p for p in pick] +
               ['--trace ' + n for n in (bad, nick) if n]))
EOF
}

# one SEED FLAVOR CLOCK BOOTSTRAP [P W]: replay, then the model.
one() {
    local seed=$1 flavor=$2 clock=$3 boot=$4 P=${5:-$P4} W=${6:-$W3}
    local name="s$seed-$flavor-$clock-$boot" g="$TMP/g$seed-$flavor"
    if [ ! -d "$g" ]; then
        "$GEN" --out-dir "$g" --days 7 --relays 1200 --seed "$seed" \
            --flavor "$flavor" --missing-hours 4 >/dev/null ||
            { fail "generation $seed"; return; }
        # A watch list: two relays that are exits at some point, one caught
        # mid-week, and one that is never an exit.
        "$PY" - "$g" >"$TMP/watch-$seed-$flavor" <<'EOF'
import base64, os, sys
seen = {}
for root, _d, files in os.walk(sys.argv[1]):
    for name in sorted(files):
        cur = None
        for line in open(os.path.join(root, name)):
            if line.startswith('r '):
                s = line.split()[2]
                cur = base64.b64decode(s + '=' * (-len(s) % 4)).hex().upper()
            elif line.startswith('s ') and cur not in seen:
                seen[cur] = 'Exit' in line.split()
exits = [k for k, v in sorted(seen.items()) if v]
other = [k for k, v in sorted(seen.items()) if not v]
print('# watched relays')
print(exits[3] + '  2026-01-05T12:00:00Z')
print('$' + exits[7].lower())
print(exits[3] + ' 2026-01-06T00:00:00Z  # listed twice: the earliest wins')
print(other[0])
EOF
    fi
    local args=(--clock "$clock" --bootstrap "$boot" --staging-period "$P"
        --reset-after "$W" --watchlist "$TMP/watch-$seed-$flavor"
        --watch-badexit)
    if ! "$EXITSTAGE" -q replay "${args[@]}" --timeline "$TMP/$name.pre" \
        "$g" 2>"$TMP/$name.err"; then
        fail "replay $name: $(head -1 "$TMP/$name.err")"
        return
    fi
    local tr
    tr=$(trace_selectors "$g" "$TMP/$name.pre")
    # shellcheck disable=SC2086
    if ! "$EXITSTAGE" -q replay "${args[@]}" --timeline "$TMP/$name.nd" \
        --summary "$TMP/$name.json" --trace-out "$TMP/$name.tr" $tr \
        "$g" 2>"$TMP/$name.err"; then
        fail "replay $name: $(head -1 "$TMP/$name.err")"
        return
    fi
    cmp -s "$TMP/$name.pre" "$TMP/$name.nd" ||
        fail "$name: tracing changed the timeline"
    local pargs=(--clock "$clock" --bootstrap "$boot")
    pargs+=(--periods "$(durs "$P")" --resets "$(durs "$W")")
    # shellcheck disable=SC2086
    if "$PY" "$MODEL" "$g" "${pargs[@]}" --timeline "$TMP/$name.nd" \
        --summary "$TMP/$name.json" --watchlist "$TMP/watch-$seed-$flavor" \
        --watch-badexit --trace-out "$TMP/$name.tr" $tr \
        --stats "$TMP/$name.stats" --expect-restarts --expect-bridges \
        --expect-watched >"$TMP/$name.model" 2>&1; then
        ok "$name: $(sed -n 1p "$TMP/$name.model" | sed 's/^model [^{]*//')"
    else
        fail "$name: the tool and the model differ"
        cat "$TMP/$name.model"
    fi
}

# durs "1d,12h": seconds, comma-separated.
durs() {
    local out="" v s
    IFS=, read -r -a vs <<<"$1"
    for v in "${vs[@]}"; do
        case $v in
        *d) s=$((${v%d} * 86400)) ;;
        *h) s=$((${v%h} * 3600)) ;;
        *) s=$v ;;
        esac
        out+="${out:+,}$s"
    done
    echo "$out"
}

one 3 both exit grandfather
one 3 both exit none
one 5 ns exit grandfather
one 7 microdesc relay grandfather
one 7 microdesc relay none
one 9 both exit grandfather 1d 6h

# What the data covers.
"$PY" - "$TMP"/s3-both-exit-grandfather.stats "$TMP"/s3-both-exit-none.stats <<'EOF' ||
import json, sys
g = json.load(open(sys.argv[1]))
n = json.load(open(sys.argv[2]))
assert g['restarted_runs'] > 0 and g['bridges'] > 0, g
assert g['near_w_bridges'] > 0, 'no bridged absence within 3 h of W'
assert g['grandfathered'] > 0 and n['grandfathered'] == 0, (g, n)
assert n['stripped'] > g['stripped'], 'none should strip more at the start'
assert g['watched'] > 0 and g['trace_events'] > 4, g
print('coverage: %d restarts, %d bridges (%d near W), %d grandfathered, '
      '%d watched relays, %d trace events'
      % (g['restarted_runs'], g['bridges'], g['near_w_bridges'],
         g['grandfathered'], g['watched'], g['trace_events']))
EOF
    fail "coverage assertions"

# Not vacuous: the model with other lanes must disagree.
if "$PY" "$MODEL" "$TMP/g3-both" --periods 86400 --resets 21600 \
    --timeline "$TMP/s3-both-exit-grandfather.nd" >"$TMP/neg.out" 2>&1; then
    fail "the model agrees with a timeline made with other lanes (vacuous?)"
else
    ok "the model detects a timeline made with other parameters"
fi
# ... and with the other bootstrap rule.
if "$PY" "$MODEL" "$TMP/g3-both" --periods $P4 --resets $W3 \
    --bootstrap none --timeline "$TMP/s3-both-exit-grandfather.nd" \
    >"$TMP/neg2.out" 2>&1; then
    fail "the model agrees with a timeline of the other bootstrap rule"
else
    ok "the model detects the other bootstrap rule"
fi

finish
