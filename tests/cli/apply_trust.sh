#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# apply_trust.sh - `apply --certs` and `apply --sign-key` (SPEC 8) on the
# real documents of ../shared/testdata (README, "Signature material"):
#  - every certificate/consensus pair of the README: the report's
#    signatures.good, .checked and .required are the listed numbers (with
#    the document's own authorities, --authorities), the verdict is right
#    (status 0 and a report, or 3 and nothing written), and the report's
#    "signatures" object is the one `inspect --certs` prints; the live
#    ones with tor's built-in authorities too; without --certs the report
#    says "signatures": null;
#  - one changed byte in the signed part, a removed signature block, a
#    certificate from another day, an untrusted authority list and a
#    truncated certificate file each: status 3, the reason in the message,
#    and the history, annotated consensus, report and staged list
#    byte-identical to before (cmp), no new file, no temporary left; the
#    metrics file of the failed run says how far the check fell short;
#  - `-v` prints "signatures GOOD/REQUIRED" in its summary line; the
#    metrics of a checked run carry the figures;
#  - --sign-key: every output (consensus, report, staged list, metrics)
#    gets OUTPUT.minisig that verifies with `exitstage verify` and with
#    `minisign -Vm FILE -p PUB` (when minisign is installed), whose trusted
#    comment holds the valid-after and the SHA-256 of the decompressed
#    input; a group-readable key, standard output and a device as outputs
#    are refused (status 2) and nothing is written; a signature that
#    cannot be written fails the run (status 1) before anything is renamed.
# Real documents are read in place; certificate files are copied without
# their CRs.  Skips (77) without the shared data, jq or zstd.
set -u
. "$(dirname "$0")/common.bash"

need_exe EXITSTAGE
need_cmd jq zstd sha256sum
need_shared
make_tmp apply-trust
cd "$TMP" || exit 1
umask 022
E=$EXITSTAGE
have_minisign=0
command -v minisign >/dev/null 2>&1 && have_minisign=1
[ $have_minisign = 1 ] || echo "note: minisign missing: its checks are skipped"

C22=authority-certs-2022-11-safe_tor
C24=authority-certs-2024-05-Tor-VPN
for f in $C22 $C24 stem-testnet-cached-certs-2017-05-25 \
    arti-testnet-authcerts2-2020-08-07; do
    tr -d '\r' <"$SHARED/samples/$f" >"$f"
done

# The v3 identities of a document's own dir-source lines.
own_list() { # DOC OUT
    case $1 in
    *.zst) zstd -qdc "$1" ;;
    *) cat "$1" ;;
    esac | awk '/^dir-source /{print $3}' >"$2"
}

# A new history in DIR/h.db.
fresh() {
    rm -rf "$1"
    mkdir "$1"
    "$E" db init --db "$1/h.db" >/dev/null 2>&1 || fail "db init $1"
}

# run_apply DIR DOC [ARGS...]: apply with every file output into DIR;
# sets status.
run_apply() {
    local d=$1 doc=$2
    shift 2
    "$E" apply --db "$d/h.db" --now 2030-01-01T00:00:00Z --max-future off \
        -o "$d/out" --report "$d/report.json" --staged-list "$d/staged" \
        "$@" "$doc" >"$TMP/stdout" 2>"$TMP/err"
    status=$?
}

sigf() { # FIELD: from DIR's report
    jq -r ".signatures.$2" "$1/report.json"
}

# --- every pair of the README -------------------------------------------
# pair CERTS DOC GOOD CHECKED REQUIRED STATUS [BUILTIN_GOOD BUILTIN_STATUS]
n=0
pair() {
    local certs=$1 doc=$SHARED/$2 name d
    name=$(basename "$2")
    n=$((n + 1))
    d=$TMP/p$n
    own_list "$doc" "$TMP/list"
    fresh "$d"
    run_apply "$d" "$doc" --certs "$certs" --authorities "$TMP/list"
    if [ "$6" = 0 ]; then
        local got="$status $(sigf "$d" good) $(sigf "$d" checked) $(sigf "$d" required)"
        [ "$got" = "0 $3 $4 $5" ] &&
            ok "$name: status 0, $3 good of $4, $5 required" ||
            fail "$name: got status/good/checked/required $got, expected 0 $3 $4 $5: $(cat "$TMP/err")"
        "$E" inspect --certs "$certs" --authorities "$TMP/list" "$doc" |
            jq -S .signatures >"$TMP/insp"
        jq -S .signatures "$d/report.json" >"$TMP/rep"
        cmp -s "$TMP/insp" "$TMP/rep" &&
            ok "$name: the report's signatures are inspect's" ||
            fail "$name: report and inspect differ: $(diff "$TMP/insp" "$TMP/rep")"
    else
        [ "$status" = "$6" ] && [ ! -e "$d/out" ] && [ ! -e "$d/report.json" ] &&
            [ ! -e "$d/h.db.prev" ] &&
            grep -q "consensus rejected: $3 good signatures from $4 trusted authorities, $5 required" "$TMP/err" &&
            ok "$name: rejected (status $6, $3 good of $5 required), nothing written" ||
            fail "$name: status $status, files: $(ls "$d"), $(cat "$TMP/err")"
    fi
    if [ -n "${7:-}" ]; then
        fresh "$d"
        run_apply "$d" "$doc" --certs "$certs"
        local got="$status $(sigf "$d" good) $(sigf "$d" required)"
        [ "$got" = "$8 $7 5" ] &&
            ok "$name, built-in authorities: $7 good, 5 required" ||
            fail "$name, built-in authorities: got $got, expected $8 $7 5"
    fi
}

# shellcheck disable=SC2086 # the expectations split into arguments
while read -r certs doc expect <&3; do
    pair "$certs" "$doc" $expect
done 3< <(grep -v '^#' "$SRC/tests/cli/signature_pairs.txt")

# Without --certs: "signatures": null, the same staging otherwise.
NS22=$SHARED/live/consensus-ns-2022-11-19-10-00-00.zst
fresh "$TMP/plain"
run_apply "$TMP/plain" "$NS22"
[ "$status $(jq -c .signatures "$TMP/plain/report.json")" = "0 null" ] &&
    ok "without --certs: signatures null" ||
    fail "without --certs: status $status, $(jq -c .signatures "$TMP/plain/report.json")"
cmp -s "$TMP/plain/out" "$TMP/p1/out" &&
    cmp -s <(jq -S 'del(.signatures)' "$TMP/plain/report.json") \
        <(jq -S 'del(.signatures)' "$TMP/p1/report.json") &&
    ok "checking changes nothing but the report's signatures" ||
    fail "a checked run's outputs differ from an unchecked one's"
[ "$(jq -r .consensus.sha256 "$TMP/p1/report.json")" = \
    "$(zstd -qdc "$NS22" | sha256sum | cut -c1-64)" ] &&
    ok "consensus.sha256 is the decompressed input's (one digest pass)" ||
    fail "consensus.sha256 is not the input's"

# --- failures: status 3, the reason, nothing changed ----------------------
zstd -qdc "$NS22" >ns22
own_list ns22 list22
MD18=$SHARED/live/consensus-microdesc-2022-11-18-15-00-00-unverified.zst

# A history and outputs from an earlier run, kept to compare with.
setup_before() { # DIR EARLIER_DOC
    fresh "$1"
    run_apply "$1" "$2" --metrics "$1/m.prom"
    [ "$status" = 0 ] || fail "setup in $1: $(cat "$TMP/err")"
    mkdir "$1/saved"
    cp -p "$1/h.db" "$1/out" "$1/report.json" "$1/staged" "$1/saved/"
}

# unchanged DIR WHAT: the history and the outputs are byte-identical.
unchanged() {
    local f bad=
    for f in h.db out report.json staged; do
        cmp -s "$1/$f" "$1/saved/$f" || bad="$bad $f"
    done
    local extra
    extra=$(ls -A "$1" | grep -v -x -e h.db -e h.db.prev -e h.db.lock \
        -e out -e report.json -e staged -e m.prom -e saved)
    [ -z "$bad" ] && [ -z "$extra" ] &&
        ok "$2: history and outputs byte-identical, no new file" ||
        fail "$2: changed:$bad; new: $extra"
}

# expect_reject DIR WHAT REASON_REGEX
expect_reject() {
    [ "$status" = 3 ] && grep -Eq -- "$3" "$TMP/err" &&
        ok "$2: status 3, '$3'" ||
        fail "$2: status $status, message $(cat "$TMP/err")"
    unchanged "$1" "$2"
}

# One changed byte in the signed part (a bandwidth in a w line).
awk '!done && /^w Bandwidth=/ { sub(/=/, "=1"); done = 1 } { print }' \
    ns22 >changed
setup_before "$TMP/f1" "$MD18"
run_apply "$TMP/f1" changed --certs $C22 --authorities list22 \
    --metrics "$TMP/f1/m.prom"
expect_reject "$TMP/f1" "a changed byte" \
    "changed: consensus rejected: 0 good signatures from 9 trusted authorities, 5 required: tor26 14C131DFC5C6F93646BE72FA1401C02A8DF2E8B4 digest-mismatch, longclaw"
[ "$(grep -c 'digest-mismatch' "$TMP/err")" = 1 ] &&
    [ "$(grep -o 'digest-mismatch' "$TMP/err" | wc -l)" = 8 ] &&
    ok "a changed byte: all 8 signatures named, digest-mismatch" ||
    fail "a changed byte: $(cat "$TMP/err")"
grep -qx 'exitstage_exit_status 3' "$TMP/f1/m.prom" &&
    grep -qx 'exitstage_signatures_checked 1' "$TMP/f1/m.prom" &&
    grep -qx 'exitstage_signatures_good 0' "$TMP/f1/m.prom" &&
    grep -qx 'exitstage_signatures_required 5' "$TMP/f1/m.prom" &&
    ! grep -q '^exitstage_relays' "$TMP/f1/m.prom" &&
    ok "a rejected run's metrics: status 3, 0 good of 5, no consensus figure" ||
    fail "a rejected run's metrics: $(grep -v '^#' "$TMP/f1/m.prom")"

# A removed signature block: with tor's authorities only five of the 2022
# signers count, five are required; one fewer is a rejection.
awk '/^directory-signature 23D15D965BC35114467363C165C4F724B64B4F66 / { skip = 1 }
     skip && /^-----END SIGNATURE-----$/ { skip = 0; next }
     !skip { print }' ns22 >removed
setup_before "$TMP/f2" "$MD18"
run_apply "$TMP/f2" removed --certs $C22
expect_reject "$TMP/f2" "a removed signature block" \
    "removed: consensus rejected: 4 good signatures from 9 trusted authorities, 5 required: "

# Certificates from another day: the 2022 file against a 2021 consensus
# (Faravahar's signing key was certified again in February 2022); the
# history holds a 2019 consensus.
NS21=$SHARED/live/consensus-ns-2021-08-29-19-00-00.zst
own_list "$NS21" list21
setup_before "$TMP/f3" "$SHARED/live/consensus-ns-2019-07-14-00-00-00.zst"
run_apply "$TMP/f3" "$NS21" --certs $C22 --authorities list21
expect_reject "$TMP/f3" "certificates from another day" \
    "consensus rejected: 0 good signatures from .*Faravahar EFCBE720AB3A82B99F9E953CD5BF50F7EEFC7B97 certificate-not-yet-valid"

# An untrusted authority list (the arti test network's).
awk '/^fingerprint /{print $2}' arti-testnet-authcerts2-2020-08-07 >arti-list
setup_before "$TMP/f4" "$MD18"
run_apply "$TMP/f4" "$NS22" --certs $C22 --authorities arti-list
expect_reject "$TMP/f4" "an untrusted authority list" \
    "consensus rejected: 0 good signatures from 3 trusted authorities, 2 required: tor26 14C131DFC5C6F93646BE72FA1401C02A8DF2E8B4 unknown-authority"
[ "$(grep -o 'unknown-authority' "$TMP/err" | wc -l)" = 8 ] &&
    ok "an untrusted authority list: 8 unknown-authority" ||
    fail "an untrusted authority list: $(cat "$TMP/err")"

# A truncated certificate file: refused where it stops.
head -n 100 $C22 >truncated
setup_before "$TMP/f5" "$MD18"
run_apply "$TMP/f5" "$NS22" --certs truncated
expect_reject "$TMP/f5" "a truncated certificate file" \
    "truncated:96:1: object not closed before the end of the input"

# --- -v and metrics of an accepted run ------------------------------------
fresh "$TMP/v"
run_apply "$TMP/v" "$NS22" --certs $C22 --authorities list22 -v \
    --metrics "$TMP/v/m.prom"
grep -q '^exitstage: 2022-11-19T10:00:00Z ns: .*, signatures 8/5$' "$TMP/err" &&
    ok "-v: summary line ends 'signatures 8/5'" ||
    fail "-v: $(cat "$TMP/err")"
grep -q '^exitstage: .*: signatures: 8 good signatures from 9 trusted authorities, 5 required$' "$TMP/err" &&
    ok "-v: the check's own line" || fail "-v check line: $(cat "$TMP/err")"
[ "$(grep -E '^exitstage_signatures_(checked|good|required) ' "$TMP/v/m.prom" | tr '\n' ' ')" = \
    "exitstage_signatures_checked 1 exitstage_signatures_good 8 exitstage_signatures_required 5 " ] &&
    ok "metrics: checked 1, good 8, required 5" ||
    fail "metrics: $(grep signatures "$TMP/v/m.prom")"
fresh "$TMP/v0"
run_apply "$TMP/v0" "$NS22" -v --metrics "$TMP/v0/m.prom"
grep -qx 'exitstage_signatures_checked 0' "$TMP/v0/m.prom" &&
    ! grep -q '^exitstage_signatures_good' "$TMP/v0/m.prom" &&
    ! grep -q 'signatures' "$TMP/err" &&
    ok "unchecked: metrics checked 0, no signature figures, none in -v" ||
    fail "unchecked: $(grep signatures "$TMP/v0/m.prom" "$TMP/err")"

# --- --sign-key -----------------------------------------------------------
"$E" key generate --secret sk --public pk >/dev/null || fail "key generate"
SHA=$(zstd -qdc "$NS22" | sha256sum | cut -c1-64)
VER=$("$E" --version | head -1 | cut -d' ' -f2)
fresh "$TMP/s"
run_apply "$TMP/s" "$NS22" --certs $C22 --sign-key sk --metrics "$TMP/s/m.prom"
[ "$status" = 0 ] && ok "--sign-key: status 0" || fail "--sign-key: $(cat "$TMP/err")"
for f in out report.json staged m.prom; do
    p=$TMP/s/$f
    [ -f "$p.minisig" ] || { fail "$f: no $f.minisig"; continue; }
    "$E" verify -p pk "$p" >"$TMP/vout" 2>&1 &&
        grep -qx "$p: exitstage $VER valid-after=2022-11-19T10:00:00Z input-sha256=$SHA file=$f" "$TMP/vout" &&
        ok "$f: exitstage verify, comment with valid-after and input sha256" ||
        fail "$f: exitstage verify: $(cat "$TMP/vout")"
    if [ $have_minisign = 1 ]; then
        minisign -Vm "$p" -p pk >"$TMP/vout" 2>&1 &&
            grep -qx "Trusted comment: exitstage $VER valid-after=2022-11-19T10:00:00Z input-sha256=$SHA file=$f" "$TMP/vout" &&
            ok "$f: minisign -V verifies" ||
            fail "$f: minisign -V: $(cat "$TMP/vout")"
    fi
done
got=$(ls -A "$TMP/s" | tr '\n' ' ')
[ "$got" = "h.db h.db.lock h.db.prev m.prom m.prom.minisig out out.minisig report.json report.json.minisig staged staged.minisig " ] &&
    ok "--sign-key: the outputs, their signatures, nothing else" ||
    fail "--sign-key: files $got"
# A signature does not verify another file's bytes.
cp "$TMP/s/report.json" "$TMP/s/r2"
cp "$TMP/s/staged.minisig" "$TMP/s/r2.minisig"
"$E" verify -p pk "$TMP/s/r2" >/dev/null 2>&1
[ $? = 3 ] && ok "a signature moved to another file: status 3" ||
    fail "a moved signature verified"

# A group-readable key is refused before anything is read or written.
cp -p sk sk-open
chmod 640 sk-open
setup_before "$TMP/k" "$MD18"
run_apply "$TMP/k" "$NS22" --sign-key sk-open
[ "$status" = 2 ] && grep -q "accessible by group or others (mode 0640)" "$TMP/err" &&
    ok "a group-readable key: status 2, says why" ||
    fail "a group-readable key: status $status, $(cat "$TMP/err")"
unchanged "$TMP/k" "a group-readable key"

# A signature that cannot be written (a directory in its place): status 1,
# nothing renamed, the history as it was, no other signature left.
setup_before "$TMP/d" "$MD18"
mkdir "$TMP/d/report.json.minisig"
run_apply "$TMP/d" "$NS22" --sign-key sk
[ "$status" = 1 ] && grep -q "cannot write '$TMP/d/report.json.minisig': is a directory" "$TMP/err" &&
    ok "an unwritable signature: status 1, says which" ||
    fail "an unwritable signature: status $status, $(cat "$TMP/err")"
rmdir "$TMP/d/report.json.minisig"
unchanged "$TMP/d" "an unwritable signature"

# Outputs that cannot have a signature beside them: usage errors.
fresh "$TMP/u"
"$E" apply --db "$TMP/u/h.db" --sign-key sk --report "$TMP/u/r.json" \
    "$NS22" >"$TMP/stdout" 2>"$TMP/err"
[ $? = 2 ] && [ ! -s "$TMP/stdout" ] && [ ! -e "$TMP/u/r.json" ] &&
    grep -q -- "--sign-key needs every output in a file" "$TMP/err" &&
    ok "--sign-key with the consensus on standard output: status 2" ||
    fail "--sign-key to stdout: $(cat "$TMP/err")"
"$E" apply --db "$TMP/u/h.db" --sign-key sk -o "$TMP/u/o" --report /dev/null \
    "$NS22" >/dev/null 2>"$TMP/err"
[ $? = 2 ] && [ ! -e "$TMP/u/o" ] &&
    grep -q "cannot sign '/dev/null', which is not a regular file" "$TMP/err" &&
    ok "--sign-key with a device as output: status 2" ||
    fail "--sign-key to a device: $(cat "$TMP/err")"
[ ! -e "$TMP/u/h.db.prev" ] &&
    ok "usage errors: the history was not committed" ||
    fail "usage errors committed the history"

finish
