#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# replay_trust.sh - `replay --certs` and `replay --sign-key` (SPEC 8) on
# the signed live documents of ../shared/testdata: a directory of three
# consensuses (2022-11-18 15:00 microdesc, 2022-11-19 10:00 ns and
# microdesc) whose ns one has one byte changed in its signed part:
#  - --certs: status 3, the message names the document and the reasons,
#    the history holds the first consensus only (db dump: newest, processed)
#    and only its report was written; the warning lists every signature;
#  - --certs --keep-going: status 0, the forged document skipped and
#    counted (summary archive.skipped.bad 1, documents 2), the history at
#    the last consensus; each report carries signatures (5 good, 5
#    required with tor's authorities); without --certs reports say null;
#  - --sign-key: every --out-dir and --reports-dir file has a .minisig
#    (valid-after and input SHA-256 in its trusted comment), and the
#    timeline and --summary signatures verify (no valid-after in theirs),
#    with `exitstage verify` and `minisign -V` (when installed);
#  - --threads 1 and --threads 3 give byte-identical outputs, signatures,
#    timeline, summary and history;
#  - --sign-key with the timeline on standard output: status 2.
# Skips (77) without the shared data, jq or zstd.
set -u
. "$(dirname "$0")/common.bash"

need_exe EXITSTAGE
need_cmd jq zstd sha256sum
need_shared
make_tmp replay-trust
cd "$TMP" || exit 1
umask 022
E=$EXITSTAGE
L=$SHARED/live
have_minisign=0
command -v minisign >/dev/null 2>&1 && have_minisign=1
[ $have_minisign = 1 ] || echo "note: minisign missing: its checks are skipped"

C22=authority-certs-2022-11-safe_tor
tr -d '\r' <"$SHARED/samples/$C22" >$C22
mkdir docs
zstd -qdc "$L/consensus-microdesc-2022-11-18-15-00-00-unverified.zst" >docs/a
zstd -qdc "$L/consensus-ns-2022-11-19-10-00-00.zst" |
    awk '!done && /^w Bandwidth=/ { sub(/=/, "=1"); done = 1 } { print }' >docs/b
zstd -qdc "$L/consensus-microdesc-2022-11-19-10-00-00.zst" >docs/c

newest() { # DB: "newest processed"
    "$E" db dump --db "$1" | jq -r '"\(.newest) \(.processed)"'
}

# --- a forged document stops the replay -----------------------------------
"$E" replay --quiet --db stop.db --certs $C22 --reports-dir stop-rep \
    --threads 1 docs >out 2>err
st=$?
[ $st = 3 ] && ok "a forged document: status 3" || fail "a forged document: status $st: $(cat err)"
grep -q "^exitstage: docs/b: consensus rejected: 0 good signatures, 5 required: 3 unknown-authority, 5 digest-mismatch$" err &&
    ok "the error names the document and counts the reasons" ||
    fail "error: $(cat err)"
[ "$(newest stop.db)" = "2022-11-18T15:00:00Z 1" ] &&
    ok "history committed up to the previous document" ||
    fail "history: $(newest stop.db)"
[ "$(ls stop-rep)" = "2022-11-18-15-00-00-consensus-microdesc.json" ] &&
    ok "only the previous document's report written" ||
    fail "reports: $(ls stop-rep)"
"$E" replay --db warn.db --certs $C22 --threads 1 docs >/dev/null 2>err
grep -q "^exitstage: warning: docs/b: consensus rejected: 0 good signatures from 9 trusted authorities, 5 required: tor26 14C131DFC5C6F93646BE72FA1401C02A8DF2E8B4 unknown-authority, longclaw 23D15D965BC35114467363C165C4F724B64B4F66 digest-mismatch, .*Faravahar EFCBE720AB3A82B99F9E953CD5BF50F7EEFC7B97 unknown-authority$" err &&
    ok "the warning lists every signature and its reason" ||
    fail "warning: $(cat err)"

# --- --keep-going: skipped and counted ------------------------------------
"$E" replay --quiet --keep-going --db kg.db --certs $C22 --reports-dir kg-rep \
    --summary kg.json --threads 1 docs >out 2>err
st=$?
[ $st = 0 ] && ok "--keep-going: status 0" || fail "--keep-going: status $st: $(cat err)"
[ "$(jq -c '[.archive.skipped.bad, .archive.documents]' kg.json)" = "[1,2]" ] &&
    ok "--keep-going: 1 bad document skipped, 2 processed" ||
    fail "--keep-going summary: $(jq -c .archive kg.json)"
[ "$(newest kg.db)" = "2022-11-19T10:00:00Z 2" ] &&
    ok "--keep-going: history at the last document" ||
    fail "--keep-going history: $(newest kg.db)"
got=$(for f in kg-rep/*.json; do jq -c '[.signatures.checked, .signatures.good, .signatures.required]' "$f"; done | tr '\n' ' ')
[ "$got" = "[8,5,5] [8,5,5] " ] &&
    ok "--keep-going: both reports carry signatures (8 checked, 5 good, 5 required)" ||
    fail "--keep-going reports: $got"
"$E" replay --quiet --keep-going --db plain.db --reports-dir plain-rep \
    --threads 1 docs >/dev/null 2>err
got=$(for f in plain-rep/*.json; do jq -c .signatures "$f"; done | tr '\n' ' ')
[ "$got" = "null null null " ] && ok "without --certs: three reports, signatures null" ||
    fail "without --certs: $got $(cat err)"

# --- --sign-key, and threads ---------------------------------------------
"$E" key generate --secret sk --public pk >/dev/null || fail "key generate"
VER=$("$E" --version | head -1 | cut -d' ' -f2)
run_signed() { # THREADS DIR
    mkdir "$2"
    "$E" replay --quiet --keep-going --db "$2/h.db" --certs $C22 \
        --sign-key sk --threads "$1" --out-dir "$2/out" \
        --reports-dir "$2/rep" --timeline "$2/timeline.ndjson" \
        --summary "$2/summary.json" docs >"$2.stdout" 2>"$2.err"
    echo $?
}
st=$(run_signed 1 t1)
[ "$st" = 0 ] && ok "--sign-key: status 0" || fail "--sign-key: status $st: $(cat t1.err)"

# verify FILE COMMENT_TAIL
verify() {
    "$E" verify -p pk "$1" >vout 2>&1 &&
        grep -qx "$1: exitstage $VER$2" vout &&
        ok "$1: exitstage verify" || fail "$1: exitstage verify: $(cat vout)"
    if [ $have_minisign = 1 ]; then
        minisign -Vm "$1" -p pk >vout 2>&1 &&
            grep -qx "Trusted comment: exitstage $VER$2" vout &&
            ok "$1: minisign -V" || fail "$1: minisign -V: $(cat vout)"
    fi
}
for fl in 2022-11-18-15-00-00-consensus-microdesc:a \
    2022-11-19-10-00-00-consensus-microdesc:c; do
    base=${fl%:*}
    sha=$(sha256sum "docs/${fl#*:}" | cut -c1-64)
    va=$(echo "$base" | sed -E 's/^(....-..-..)-(..)-(..)-(..).*/\1T\2:\3:\4Z/')
    verify "t1/out/$base" " valid-after=$va input-sha256=$sha file=$base"
    verify "t1/rep/$base.json" " valid-after=$va input-sha256=$sha file=$base.json"
done
verify t1/timeline.ndjson " file=timeline.ndjson"
verify t1/summary.json " file=summary.json"
got=$(cd t1 && find out rep -type f | sort | tr '\n' ' ')
[ "$got" = "out/2022-11-18-15-00-00-consensus-microdesc out/2022-11-18-15-00-00-consensus-microdesc.minisig out/2022-11-19-10-00-00-consensus-microdesc out/2022-11-19-10-00-00-consensus-microdesc.minisig rep/2022-11-18-15-00-00-consensus-microdesc.json rep/2022-11-18-15-00-00-consensus-microdesc.json.minisig rep/2022-11-19-10-00-00-consensus-microdesc.json rep/2022-11-19-10-00-00-consensus-microdesc.json.minisig " ] &&
    ok "--sign-key: two outputs and two reports, each with one signature" ||
    fail "--sign-key files: $got"

st=$(run_signed 3 t3)
[ "$st" = 0 ] && ok "--threads 3: status 0" || fail "--threads 3: status $st"
sed 's/^exitstage: //' t1.err >t1.msg
sed 's/^exitstage: //' t3.err >t3.msg
diff -r t1/out t3/out >/dev/null && diff -r t1/rep t3/rep >/dev/null &&
    cmp -s t1/timeline.ndjson t3/timeline.ndjson &&
    cmp -s t1/timeline.ndjson.minisig t3/timeline.ndjson.minisig &&
    cmp -s t1/summary.json t3/summary.json &&
    cmp -s t1/summary.json.minisig t3/summary.json.minisig &&
    cmp -s <("$E" db dump --db t1/h.db) <("$E" db dump --db t3/h.db) &&
    cmp -s t1.msg t3.msg &&
    ok "--threads 1 and 3: outputs, signatures, timeline, summary, history and messages identical" ||
    fail "--threads 1 and 3 differ: $(diff -r t1 t3 | head -5)"

# The timeline on standard output cannot be signed.
"$E" replay --quiet --sign-key sk --timeline - docs >out 2>err
st=$?
[ $st = 2 ] && [ ! -s out ] && grep -q -- "--sign-key needs every output in a file" err &&
    ok "--sign-key with --timeline -: status 2" ||
    fail "--sign-key with --timeline -: status $st, $(cat err)"

finish
