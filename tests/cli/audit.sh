#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# audit.sh - the man page's AUDITING AN AUTHORITY recipe (SPEC 8,
# "Reproducible decisions"), run as written:
#  - an "authority" starts a history with `db init --grandfather FIRST`
#    and runs `apply` hourly (--report, --staged-list, --sign-key) over
#    three days of generated consensuses (P = 1d, so relays are staged
#    and stripped after the bootstrap);
#  - two independent auditors start fresh histories the same way and
#    `replay --reports-dir` the same consensuses (one with --threads 1,
#    one with --threads 3): their reports are byte-identical to each
#    other's, and equal to the authority's after
#    jq -S 'del(.tool.version, .signatures)'; the staged lists rebuilt
#    from their reports with the man page's jq line are byte-identical to
#    the authority's; the authority's report signatures verify;
#  - the same on real signed documents (2022-11-18 15:00 and 2022-11-19
#    10:00, microdesc), where the authority checks signatures (--certs:
#    its reports carry a "signatures" object) and the auditor does not
#    (null): equal after the same normalisation, different before it;
#  - a changed parameter (P = 2d) makes the comparison fail, so the
#    recipe can tell.
# Skips (77) without jq or the generator; the real-document part skips
# without the shared data.
set -u
. "$(dirname "$0")/common.bash"

need_exe EXITSTAGE EXST_GEN
need_cmd jq zstd
SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SHARED=${EXST_SHARED:-$SRC/../shared/testdata}
make_tmp audit
cd "$TMP" || exit 1
E=$EXITSTAGE

"$EXST_GEN" --out-dir cons --days 3 --relays 1000 --flavor microdesc \
    --missing-hours 0 >/dev/null 2>&1 || fail "exitstage-gen"
first=$(ls cons | head -1)
[ "$(ls cons | wc -l)" = 72 ] && ok "72 hourly consensuses" ||
    fail "generated $(ls cons | wc -l) consensuses"

# The man page's normalisation and staged-list program, taken from
# man/exitstage.1 (AUDITING AN AUTHORITY) so the recipe tested is the
# recipe printed.
MAN=$SRC/man/exitstage.1
NORM=$(sed -n "s/^\$ jq -S '\(del([^']*)\)' report.json >theirs$/\1/p" "$MAN")
[ "$NORM" = "del(.tool.version, .signatures)" ] &&
    ok "man page normalisation: $NORM" || fail "man page normalisation: '$NORM'"
LIST=$(/usr/bin/python3 - "$MAN" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
m = re.search(r"\$ jq -r '(\(if \(\.stripped.*?)' \\e\n", s, re.S)
print(m.group(1).replace("\\e", "\\") if m else "")
PY
)
[ -n "$LIST" ] && ok "man page staged-list program found" ||
    fail "no staged-list program in the man page"
norm() {
    jq -S "$NORM" "$1"
}
staged_from_report() {
    jq -r "$LIST" "$1"
}

# --- the authority ---------------------------------------------------------
"$E" key generate --secret auth.key --public auth.pub >/dev/null ||
    fail "key generate"
mkdir auth
"$E" db init --db auth/h.db --grandfather "cons/$first" >/dev/null 2>&1 ||
    fail "authority db init"
bad=0
for f in $(ls cons | tail -n +2); do
    "$E" apply --db auth/h.db --staging-period 1d --now 2026-01-05T00:00:00Z \
        --sign-key auth.key -o "auth/$f" --report "auth/$f.json" \
        --staged-list "auth/$f.list" "cons/$f" 2>/dev/null || bad=$((bad + 1))
done
[ $bad = 0 ] && ok "authority: 71 apply runs" || fail "authority: $bad failed runs"
stripped=$(cat auth/*.list | grep -c '^!badexit ')
[ "$stripped" -gt 0 ] && ok "authority: $stripped staged-list entries over the run" ||
    fail "authority: nothing was ever staged (the test would prove nothing)"

# --- two independent auditors ---------------------------------------------
audit() { # DIR THREADS [P]
    mkdir "$1"
    "$E" db init --db "$1/h.db" --grandfather "cons/$first" >/dev/null 2>&1 ||
        fail "$1: db init"
    "$E" replay --quiet --db "$1/h.db" --threads "$2" \
        --staging-period "${3:-1d}" --reports-dir "$1/rep" --out-dir "$1/out" \
        cons >/dev/null 2>"$1.err" || fail "$1: replay: $(cat "$1.err")"
}
audit a1 1
audit a2 3
[ "$(ls a1/rep | wc -l)" = 71 ] && diff -r a1/rep a2/rep >/dev/null &&
    ok "two auditors: 71 reports each, byte-identical" ||
    fail "two auditors differ: $(diff -r a1/rep a2/rep | head -3)"

same=0 diff_n=0 lists=0 sigs=0
for f in $(ls cons | tail -n +2); do
    mine=a1/rep/$f.json
    if cmp -s <(norm "auth/$f.json") <(norm "$mine"); then
        same=$((same + 1))
    else
        diff_n=$((diff_n + 1))
    fi
    cmp -s <(staged_from_report "$mine") "auth/$f.list" && lists=$((lists + 1))
    "$E" verify -p auth.pub "auth/$f.json" "auth/$f.list" >/dev/null 2>&1 &&
        sigs=$((sigs + 1))
done
[ "$same $diff_n" = "71 0" ] &&
    ok "every authority report equals the auditor's after del(.tool.version, .signatures)" ||
    fail "reports: $same equal, $diff_n differ"
[ $lists = 71 ] && ok "every staged list rebuilt from the auditor's reports is byte-identical" ||
    fail "staged lists: $lists of 71 identical"
[ $sigs = 71 ] && ok "every authority report and staged list verifies" ||
    fail "authority signatures: $sigs of 71 verify"
cmp -s "auth/$f" "a1/out/$f" && ok "the annotated consensus is byte-identical too" ||
    fail "annotated consensus differs"

# A different parameter is caught.
audit a3 1 2d
n=0
for f in $(ls cons | tail -n +2); do
    cmp -s <(norm "auth/$f.json") <(norm "a3/rep/$f.json") || n=$((n + 1))
done
[ $n = 71 ] && ok "an auditor with P = 2d differs on all 71 reports" ||
    fail "P = 2d: only $n reports differ"

# --- real signed documents: signatures differ, nothing else ----------------
if [ -d "$SHARED/live" ]; then
    C22=authority-certs-2022-11-safe_tor
    tr -d '\r' <"$SHARED/samples/$C22" >$C22
    mkdir live lauth
    zstd -qdc "$SHARED/live/consensus-microdesc-2022-11-18-15-00-00-unverified.zst" \
        >live/2022-11-18-15-00-00-consensus-microdesc
    zstd -qdc "$SHARED/live/consensus-microdesc-2022-11-19-10-00-00.zst" \
        >live/2022-11-19-10-00-00-consensus-microdesc
    "$E" db init --db lauth/h.db >/dev/null 2>&1
    for f in $(ls live); do
        "$E" apply --db lauth/h.db --certs $C22 --max-future off \
            --now 2022-11-19T10:30:00Z -o "lauth/$f" --report "lauth/$f.json" \
            "live/$f" 2>/dev/null || fail "live authority: $f"
    done
    "$E" replay --quiet --db laud.db --reports-dir laud --out-dir laudo live \
        >/dev/null 2>&1 || fail "live auditor replay"
    eq=0 ne=0
    for f in $(ls live); do
        cmp -s <(norm "lauth/$f.json") <(norm "laud/$f.json") && eq=$((eq + 1))
        cmp -s <(jq -S . "lauth/$f.json") <(jq -S . "laud/$f.json") || ne=$((ne + 1))
        [ "$(jq -c '[.signatures.good, .signatures.required]' "lauth/$f.json") $(jq -c .signatures "laud/$f.json")" = "[5,5] null" ] ||
            fail "live $f: signatures $(jq -c .signatures "lauth/$f.json") / $(jq -c .signatures "laud/$f.json")"
    done
    [ "$eq $ne" = "2 2" ] &&
        ok "live documents: checked and unchecked reports differ only in signatures" ||
        fail "live documents: $eq equal after normalisation, $ne differ before"
else
    echo "note: $SHARED absent: the real-document part is skipped"
fi

finish
