#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# minisign.sh - signed outputs interoperate with Debian's minisign, the
# real client (SPEC 8):
#  - `exitstage key generate` makes a 0600 secret and a 0644 public key and
#    never replaces a file;
#  - files signed the way apply and replay sign them (cli_trust_sign_output,
#    driven by exst-trust-sign) verify with `minisign -Vm FILE -p PUB`
#    and with `exitstage verify`, whose trusted comment names the tool, the
#    valid-after and the input's SHA-256;
#  - keys made by `minisign -G -W` sign with exitstage; signatures made by
#    `minisign -Sm` (prehashed and legacy) verify with `exitstage verify`;
#  - a changed byte, a wrong key, a swapped trusted comment and a truncated
#    signature file are refused by both tools (exitstage: status 3; a
#    missing signature: 1);
#  - a group-readable key and an encrypted key are refused with their
#    messages (status 2).
# Skipped (77) without minisign.
set -u
. "$(dirname "$0")/common.bash"

need_exe EXITSTAGE EXST_TRUST_SIGN
need_cmd minisign
make_tmp minisign
cd "$TMP" || exit 1
umask 022
E=$EXITSTAGE
S=$EXST_TRUST_SIGN

# expect STATUS DESCRIPTION COMMAND...: run, compare the exit status.
expect() {
    local want=$1 what=$2
    shift 2
    "$@" >out 2>err
    local got=$?
    if [ "$got" -eq "$want" ]; then
        ok "$what (status $got)"
    else
        fail "$what: status $got, expected $want; stderr: $(cat err)"
    fi
}

mode() {
    stat -c %a "$1"
}

# --- key generate --------------------------------------------------------
expect 0 "key generate" "$E" key generate --secret ex.key --public ex.pub
[ "$(mode ex.key)" = 600 ] && ok "secret key mode 0600" ||
    fail "secret key mode $(mode ex.key)"
[ "$(mode ex.pub)" = 644 ] && ok "public key mode 0644" ||
    fail "public key mode $(mode ex.pub)"
grep -q '^key [0-9A-F]\{16\}: secret key' out && ok "key id printed" ||
    fail "no key id in: $(cat out)"
cp ex.key ex.key.orig
expect 1 "key generate refuses an existing file" \
    "$E" key generate --secret ex.key --public other.pub
grep -q "'ex.key' already exists" err && ok "says it exists" ||
    fail "message: $(cat err)"
cmp -s ex.key ex.key.orig && [ ! -e other.pub ] &&
    ok "nothing replaced or left behind" || fail "files changed"
expect 2 "key generate without --public" "$E" key generate --secret x.key

# --- exitstage signs, minisign verifies ----------------------------------
printf '{\n  "schema_version": 2\n}\n' >report.json
printf '!badexit 0011223344556677889900112233445566778899\n' >staged.txt
sha=$(printf 'the input' | sha256sum | cut -c1-64)
expect 0 "sign two outputs" "$S" --sign-key ex.key \
    --valid-after "2026-06-27 04:00:00" --sha256 "$sha" report.json staged.txt
for f in report.json staged.txt; do
    if minisign -Vm "$f" -p ex.pub >out 2>&1; then
        ok "minisign verifies $f"
    else
        fail "minisign refuses $f: $(cat out)"
    fi
done
want="exitstage $("$E" --version | head -1 | cut -d' ' -f2) valid-after=2026-06-27T04:00:00Z input-sha256=$sha file=report.json"
minisign -Vm report.json -p ex.pub >mv.out 2>&1
grep -qxF "Trusted comment: $want" mv.out &&
    ok "trusted comment names tool, valid-after, input digest, file" ||
    fail "trusted comment: $(cat mv.out)"
expect 0 "exitstage verify, two files" "$E" verify -p ex.pub report.json \
    staged.txt
[ "$(head -1 out)" = "report.json: $want" ] &&
    ok "verify prints FILE: TRUSTED COMMENT" || fail "verify said: $(cat out)"

# --- minisign keys and signatures work with exitstage --------------------
minisign -G -W -p ms.pub -s ms.key </dev/null >/dev/null 2>&1 ||
    fail "minisign -G -W"
cp report.json r2.json
expect 0 "exitstage signs with a minisign -G -W key" "$S" --sign-key ms.key \
    r2.json
minisign -Vm r2.json -p ms.pub >/dev/null 2>&1 &&
    ok "minisign verifies it" || fail "minisign refuses r2.json"
printf 'data signed by minisign\n' >m.txt
minisign -S -s ms.key -m m.txt -t "from minisign" </dev/null >/dev/null 2>&1 ||
    fail "minisign -S"
expect 0 "exitstage verifies minisign -Sm" "$E" verify -p ms.pub m.txt
[ "$(cat out)" = "m.txt: from minisign" ] && ok "its trusted comment" ||
    fail "verify said: $(cat out)"
cp m.txt legacy.txt
minisign -S -l -s ms.key -m legacy.txt </dev/null >/dev/null 2>&1 ||
    fail "minisign -S -l"
expect 0 "exitstage verifies a legacy signature" "$E" verify -p ms.pub \
    legacy.txt

# --- refusals, by both tools ----------------------------------------------
both_refuse() { # what file pub
    local what=$1 file=$2 pub=$3
    if minisign -Vm "$file" -p "$pub" >/dev/null 2>&1; then
        fail "minisign accepts $what"
    else
        ok "minisign refuses $what"
    fi
    expect 3 "exitstage refuses $what" "$E" verify -p "$pub" "$file"
}

cp report.json changed.json
cp report.json.minisig changed.json.minisig
printf '{\n  "schema_version": 3\n}\n' >changed.json
both_refuse "a changed byte" changed.json ex.pub
grep -q "changed.json.minisig: signature does not match the file" err &&
    ok "message names the signature file" || fail "message: $(cat err)"

both_refuse "another key's signature" report.json ms.pub
grep -q "signed with key [0-9A-F]\{16\}, not with the public key's" err &&
    ok "message names both key ids" || fail "message: $(cat err)"

# The trusted comment of another hour's signature of the same file.
cp report.json swap.json
"$S" --sign-key ex.key --valid-after "2026-06-27 05:00:00" swap.json
sed -n 3p swap.json.minisig >other-tc
{ sed -n 1,2p report.json.minisig; cat other-tc; sed -n 4p report.json.minisig; } \
    >swap.json.minisig
both_refuse "a swapped trusted comment" swap.json ex.pub
grep -q "swap.json.minisig:3:1: the trusted comment does not match" err &&
    ok "at line 3" || fail "message: $(cat err)"

cp report.json trunc.json
head -c 150 report.json.minisig >trunc.json.minisig
both_refuse "a truncated signature file" trunc.json ex.pub
grep -q "trunc.json.minisig:2:1: signature: expected 74 bytes of base64" err &&
    ok "at line 2" || fail "message: $(cat err)"

cp report.json nosig.json
expect 1 "exitstage: a missing signature file" "$E" verify -p ex.pub nosig.json
expect 1 "one missing among good ones: 1 wins" "$E" verify -p ex.pub \
    report.json nosig.json changed.json
grep -q "^report.json: " out && ok "the good one still printed" ||
    fail "out: $(cat out)"
expect 3 "a bad one among good ones: 3" "$E" verify -p ex.pub report.json \
    changed.json

# --- key files --------------------------------------------------------------
cp ex.key open.key
chmod 644 open.key
expect 2 "a 0644 secret key is refused" "$S" --sign-key open.key report.json
grep -qF "secret key 'open.key' is accessible by group or others (mode 0644)" err &&
    ok "says why" || fail "message: $(cat err)"
# An encrypted key: minisign's own file with the KDF set to scrypt
# ("Sc"), which is what `minisign -G` without -W writes.
/usr/bin/python3 - ms.key enc.key <<'EOF' || fail "making an encrypted key"
import base64, sys
lines = open(sys.argv[1]).read().split("\n")
raw = bytearray(base64.b64decode(lines[1]))
raw[2:4] = b"Sc"
with open(sys.argv[2], "w") as f:
    f.write("untrusted comment: minisign encrypted secret key\n")
    f.write(base64.b64encode(bytes(raw)).decode() + "\n")
EOF
chmod 600 enc.key
expect 2 "an encrypted secret key is refused" "$S" --sign-key enc.key \
    report.json
grep -qF "is encrypted with a password; unattended signing needs an unencrypted key: make one with \`minisign -G -W\`" err &&
    ok "says to use minisign -G -W" || fail "message: $(cat err)"
expect 2 "--sign-key with an output on standard output" "$S" --sign-key \
    ex.key -

finish
