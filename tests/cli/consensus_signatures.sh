#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# consensus_signatures.sh - `exitstage inspect --certs` on the real
# documents of ../shared/testdata (README, "Signature material") and on
# the project's generated test network, cross-checked by two independent
# counts (tests/cli/sigcount.py): stem 1.8 for ns documents, and a plain
# python3-cryptography verification for both flavours.
#  - each certificate/consensus pair of the README gives its number of good
#    signatures, with the document's own authorities (the test networks'
#    and 2022's) and with tor's built-in list, and the right verdict
#    (status 0, or 3 when rejected);
#  - one changed byte in the signed part, a removed signature block, a
#    certificate from another day, an untrusted authority list and a
#    truncated certificate file each fail (status 3) with the right
#    reason; the CRLF certificate files as published are refused at their
#    first CR; a directory given to --certs means every file in it.
# Real documents are read in place (certificate files are copied without
# their CRs into the scratch directory only).  Skips (77) without the
# shared data or jq; the cross-checks skip without stem or cryptography.
set -u
. "$(dirname "$0")/common.bash"

need_exe EXITSTAGE
need_cmd jq zstd
need_shared
make_tmp sigs
E=$EXITSTAGE
PY=/usr/bin/python3
COUNT=$SRC/tests/cli/sigcount.py
have_crypto=0
have_stem=0
$PY -c 'import cryptography' 2>/dev/null && have_crypto=1
$PY -c 'import stem, cryptography' 2>/dev/null && have_stem=1
[ $have_crypto = 1 ] || echo "note: python3-cryptography missing: cross-checks skipped"
[ $have_stem = 1 ] || echo "note: stem missing: stem cross-checks skipped"

# Certificates without CRs, in the scratch directory.
for f in authority-certs-2022-11-safe_tor authority-certs-2024-05-Tor-VPN \
    stem-testnet-cached-certs-2017-05-25 arti-testnet-authcerts2-2020-08-07; do
    tr -d '\r' <"$SHARED/samples/$f" >"$TMP/$f"
done

# The v3 identities of a document's own dir-source lines.
own_list() { # DOC OUT
    case $1 in
    *.zst) zstd -dc "$1" ;;
    *) cat "$1" ;;
    esac | awk '/^dir-source /{print $3}' >"$2"
}

# inspect CERTS DOC [LIST]: sets status and sig (the signatures object).
inspect() {
    local list=()
    [ -n "${3:-}" ] && list=(--authorities "$3")
    "$E" inspect --certs "$1" "${list[@]}" "$2" >"$TMP/out" 2>"$TMP/err"
    status=$?
    sig=$(jq -c .signatures "$TMP/out" 2>/dev/null)
}

field() {
    printf '%s' "$sig" | jq -r ".$1"
}

# pair CERTS DOC OWN_GOOD CHECKED REQUIRED STATUS [BUILTIN_GOOD BSTATUS]
pair() {
    local certs=$TMP/$1 doc=$SHARED/$2 name
    name=$(basename "$2")
    own_list "$doc" "$TMP/list"
    inspect "$certs" "$doc" "$TMP/list"
    local got="$(field good) $(field checked) $(field required) $status"
    if [ "$got" = "$3 $4 $5 $6" ]; then
        ok "$name: $3 good of $4, $5 required, status $6"
    else
        fail "$name: got good/checked/required/status $got, expected $3 $4 $5 $6 $(cat "$TMP/err")"
    fi
    if [ -n "${7:-}" ]; then
        inspect "$certs" "$doc"
        got="$(field good) $(field required) $status"
        [ "$got" = "$7 5 $8" ] &&
            ok "$name, built-in authorities: $7 good, status $8" ||
            fail "$name, built-in authorities: got $got, expected $7 5 $8"
    fi
    if [ $have_crypto = 1 ]; then
        got=$($PY "$COUNT" "$certs" "$doc" "$TMP/list")
        [ "$got" = "$3 $4" ] && ok "$name: python3-cryptography agrees" ||
            fail "$name: python3-cryptography counts $got"
    fi
    if [ $have_stem = 1 ] && ! zstd -dc -f "$doc" 2>/dev/null | head -1 |
        grep -q microdesc; then
        got=$($PY "$COUNT" --stem "$certs" "$doc" "$TMP/list")
        [ "$got" = "$3 $4" ] && ok "$name: stem agrees" ||
            fail "$name: stem counts $got"
    fi
}

C22=authority-certs-2022-11-safe_tor
C24=authority-certs-2024-05-Tor-VPN
# shellcheck disable=SC2086 # the expectations split into arguments
while read -r certs doc expect <&3; do
    pair "$certs" "$doc" $expect
done 3< <(grep -v '^#' "$SRC/tests/cli/signature_pairs.txt")

# The generated test network (testdata/trust): both flavours, all tools.
for fl in ns microdesc; do
    inspect "$SRC/testdata/trust/certs" "$SRC/testdata/trust/consensus-$fl" \
        "$SRC/testdata/trust/authorities"
    [ "$(field good) $status" = "4 0" ] &&
        ok "generated $fl consensus: 4 good" || fail "generated $fl: $sig"
    if [ $have_crypto = 1 ]; then
        got=$($PY "$COUNT" "$SRC/testdata/trust/certs" \
            "$SRC/testdata/trust/consensus-$fl" "$SRC/testdata/trust/authorities")
        [ "$got" = "4 4" ] && ok "generated $fl: python3-cryptography agrees" ||
            fail "generated $fl: python3-cryptography counts $got"
    fi
done
if [ $have_stem = 1 ]; then
    got=$($PY "$COUNT" --stem "$SRC/testdata/trust/certs" \
        "$SRC/testdata/trust/consensus-ns" "$SRC/testdata/trust/authorities")
    [ "$got" = "4 4" ] && ok "generated ns: stem agrees" ||
        fail "generated ns: stem counts $got"
fi

# --- failures, each with its reason ---------------------------------------
NS22=$SHARED/live/consensus-ns-2022-11-19-10-00-00.zst
zstd -dc "$NS22" >"$TMP/ns22"
own_list "$TMP/ns22" "$TMP/list22"

reasons() {
    printf '%s' "$sig" | jq -r '[.failed[].reason] | unique | join(",")'
}

# One changed byte in the signed part (a bandwidth in a w line).
awk '!done && /^w Bandwidth=/ { sub(/=/, "=1"); done = 1 } { print }' \
    "$TMP/ns22" >"$TMP/changed"
inspect "$TMP/$C22" "$TMP/changed" "$TMP/list22"
[ "$status $(field good) $(reasons)" = "3 0 digest-mismatch" ] &&
    ok "a changed byte: rejected, every signature a digest mismatch" ||
    fail "a changed byte: status $status, $sig"
grep -q "changed: consensus rejected: 0 good signatures from 9 trusted authorities, 5 required: tor26 14C131DFC5C6F93646BE72FA1401C02A8DF2E8B4 digest-mismatch, longclaw" "$TMP/err" &&
    ok "the message says how many and why" || fail "message: $(cat "$TMP/err")"

# A removed signature block: with today's authorities only five of the
# 2022 signers count, the five required; one fewer is a rejection.
awk '/^directory-signature 23D15D965BC35114467363C165C4F724B64B4F66 / { skip = 1 }
     skip && /^-----END SIGNATURE-----$/ { skip = 0; next }
     !skip { print }' "$TMP/ns22" >"$TMP/removed"
inspect "$TMP/$C22" "$TMP/removed"
[ "$status $(field good) $(field checked) $(field required)" = "3 4 7 5" ] &&
    ok "a removed signature block: 4 good of 5 required, rejected" ||
    fail "a removed signature block: status $status, $sig"

# Certificates from another day: the 2022 file against a 2021 consensus;
# Faravahar's signing key was certified again in February 2022.
NS21=$SHARED/live/consensus-ns-2021-08-29-19-00-00.zst
own_list "$NS21" "$TMP/list21"
inspect "$TMP/$C22" "$NS21" "$TMP/list21"
far=$(printf '%s' "$sig" | jq -r '.failed[] | select(.identity == "EFCBE720AB3A82B99F9E953CD5BF50F7EEFC7B97") | .reason')
[ "$status $(field good) $far" = "3 0 certificate-not-yet-valid" ] &&
    ok "certificates from another day: rejected, not yet valid" ||
    fail "certificates from another day: status $status, $sig"

# An untrusted authority list (the arti test network's).
awk '/^fingerprint /{print $2}' "$TMP/arti-testnet-authcerts2-2020-08-07" \
    >"$TMP/arti-list"
inspect "$TMP/$C22" "$NS22" "$TMP/arti-list"
[ "$status $(field good) $(field required) $(reasons)" = "3 0 2 unknown-authority" ] &&
    ok "an untrusted authority list: every signature unknown-authority" ||
    fail "an untrusted authority list: status $status, $sig"

# A truncated certificate file: refused where it stops, nothing checked.
head -n 100 "$TMP/$C22" >"$TMP/truncated"
inspect "$TMP/truncated" "$NS22"
[ "$status" = 3 ] && [ ! -s "$TMP/out" ] &&
    grep -q "truncated:96:1: object not closed before the end of the input" "$TMP/err" &&
    ok "a truncated certificate file: status 3 at 96:1" ||
    fail "a truncated certificate file: status $status, $(cat "$TMP/err")"

# As published (CRLF): refused at the first CR.
inspect "$SHARED/samples/$C22" "$NS22"
[ "$status" = 3 ] && grep -q "safe_tor:1:30: carriage return (CR) in input" "$TMP/err" &&
    ok "CRLF certificates refused at 1:30" ||
    fail "CRLF certificates: status $status, $(cat "$TMP/err")"

# A directory: every file in it (both live files together).
mkdir "$TMP/certdir"
cp "$TMP/$C22" "$TMP/$C24" "$TMP/certdir/"
inspect "$TMP/certdir" "$SHARED/live/consensus-microdesc-2024-05-17-17-00-00.zst"
[ "$status $(field good)" = "0 6" ] && ok "--certs DIR: 6 good" ||
    fail "--certs DIR: status $status, $sig"

# Usage: --authorities needs --certs.
"$E" inspect --authorities "$TMP/list22" "$NS22" >/dev/null 2>"$TMP/err"
[ $? = 2 ] && ok "--authorities without --certs: status 2" ||
    fail "--authorities without --certs: $(cat "$TMP/err")"

finish
