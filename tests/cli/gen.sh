#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# gen.sh - CLI test of exitstage-gen, the synthetic network generator:
# determinism (same seed, same bytes; other seed, other bytes), the
# CollecTor file layout and count with missing hours, every file's first
# lines, the library's own parse and weights self-check (--check), zstd
# output, the CollecTor tarball layout (--layout collector), usage errors,
# and that Debian's stem accepts the documents with validation on (skipped
# when stem is not installed).
#
# Environment (set by ctest): EXST_GEN = path to exitstage-gen.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

GEN=${EXST_GEN:-}
if [ -z "$GEN" ] || [ ! -x "$GEN" ]; then
    echo "SKIP: EXST_GEN not set or not executable ('$GEN')"
    exit 77
fi

make_tmp gen


DAYS=2
RELAYS=150
MISSING=2
common=(--days "$DAYS" --relays "$RELAYS" --start '2026-03-01 00:00:00'
        --missing-hours "$MISSING")

# --- determinism ---------------------------------------------------------
"$GEN" --out-dir "$TMP/a" "${common[@]}" --seed 7 --check ||
    fail "generation with --check failed (status $?)"
"$GEN" --out-dir "$TMP/b" "${common[@]}" --seed 7 ||
    fail "second generation failed"
"$GEN" --out-dir "$TMP/c" "${common[@]}" --seed 8 ||
    fail "generation with another seed failed"
if diff -r "$TMP/a" "$TMP/b" >/dev/null; then
    ok "same seed gives byte-identical files"
else
    fail "same seed gave different files"
fi
if diff -r -q "$TMP/a" "$TMP/c" >/dev/null; then
    fail "a different seed gave identical files"
else
    ok "a different seed gives different files"
fi

# --- layout and count ----------------------------------------------------
expected=$((24 * DAYS * 2 - 2 * MISSING))
count=$(find "$TMP/a" -type f | wc -l)
if [ "$count" -eq "$expected" ]; then
    ok "$count files ($DAYS days, 2 flavours, $MISSING missing hours)"
else
    fail "expected $expected files, found $count"
fi
bad_names=$(find "$TMP/a" -type f -printf '%f\n' |
    grep -Ev '^2026-03-0[12]-[0-2][0-9]-00-00-consensus(-microdesc)?$')
[ -z "$bad_names" ] || fail "unexpected file names: $bad_names"
# Missing hours are missing in both flavours; first and last hour exist.
for f in "$TMP"/a/*-consensus; do
    [ -f "$f-microdesc" ] || fail "no microdesc flavour for $(basename "$f")"
done
for h in 2026-03-01-00 2026-03-02-23; do
    [ -f "$TMP/a/$h-00-00-consensus" ] || fail "hour $h is missing"
done

# --- first lines ---------------------------------------------------------
firstbad=0
for f in "$TMP"/a/*; do
    case $f in
    *-consensus-microdesc)
        want1='@type network-status-microdesc-consensus-3 1.0'
        want2='network-status-version 3 microdesc' ;;
    *)
        want1='@type network-status-consensus-3 1.0'
        want2='network-status-version 3' ;;
    esac
    { IFS= read -r l1 && IFS= read -r l2; } <"$f"
    if [ "$l1" != "$want1" ] || [ "$l2" != "$want2" ]; then
        fail "$(basename "$f"): first lines '$l1' / '$l2'"
        firstbad=1
    fi
done
[ $firstbad -eq 0 ] && ok "every file starts with its @type annotation"
va=$(sed -n 's/^valid-after //p' "$TMP/a/2026-03-01-05-00-00-consensus")
[ "$va" = "2026-03-01 05:00:00" ] || fail "valid-after '$va' does not match"

# Both flavours of an hour carry the same bandwidth-weights line.
f="$TMP/a/2026-03-01-05-00-00-consensus"
if [ "$(grep '^bandwidth-weights ' "$f")" = \
     "$(grep '^bandwidth-weights ' "$f-microdesc")" ] &&
   grep -q '^bandwidth-weights Wbd=' "$f"; then
    ok "both flavours carry the same bandwidth-weights line"
else
    fail "bandwidth-weights lines differ between the flavours"
fi

# --- options -------------------------------------------------------------
"$GEN" --out-dir "$TMP/ns" --days 1 --relays 50 --flavor ns \
    --missing-hours 0 || fail "--flavor ns failed"
n=$(find "$TMP/ns" -type f -name '*-consensus' | wc -l)
m=$(find "$TMP/ns" -type f | wc -l)
[ "$n" -eq 24 ] && [ "$m" -eq 24 ] && ok "--flavor ns writes 24 ns files" ||
    fail "--flavor ns wrote $m files ($n ns)"
"$GEN" --out-dir "$TMP/def" --days 1 --relays 50 ||
    fail "default missing hours run failed"
n=$(find "$TMP/def" -type f | wc -l)
[ "$n" -eq 48 ] || fail "1 day by default: expected 48 files, found $n"

if command -v zstd >/dev/null 2>&1; then
    "$GEN" --out-dir "$TMP/z" "${common[@]}" --seed 7 --zstd ||
        fail "--zstd failed"
    zf="$TMP/z/2026-03-01-07-00-00-consensus-microdesc.zst"
    if [ -f "$zf" ] && zstd -qdc "$zf" |
        cmp -s - "$TMP/a/2026-03-01-07-00-00-consensus-microdesc"; then
        ok "--zstd output decompresses to the plain file"
    else
        fail "--zstd output differs from the plain file"
    fi
fi

"$GEN" --help >/dev/null || fail "--help did not exit 0"
"$GEN" --help | grep -q -- '--missing-hours' || fail "--help lacks options"
for args in "" "--out-dir $TMP/u --days 0" "--out-dir $TMP/u --days x" \
            "--out-dir $TMP/u --start 2026-13-01" \
            "--out-dir $TMP/u --start '2026-01-01 10:30:00'" \
            "--out-dir $TMP/u --flavor vote" "--out-dir $TMP/u --bogus" \
            "--out-dir $TMP/u --param bad" \
            "--out-dir $TMP/u --days 1 --missing-hours 23"; do
    eval "\"\$GEN\" $args" >/dev/null 2>&1
    st=$?
    [ $st -eq 2 ] || fail "'$args': expected status 2, got $st"
done
ok "usage errors exit with status 2"

# A --param lands in the sorted params line.
"$GEN" --out-dir "$TMP/p" --days 1 --relays 50 --flavor microdesc \
    --param exit_staging_secs=172800 --check || fail "--param run failed"
grep -q '^params .* cfx_low_exit_threshold=5000 exit_staging_secs=172800 ' \
    "$TMP/p/2026-01-01-00-00-00-consensus-microdesc" ||
    fail "--param not in the params line"

# --- CollecTor layout ---------------------------------------------------
# Two days across a month end: each month gets its consensuses-YYYY-MM and
# microdescs-YYYY-MM tree, and every microdescriptor a month's consensuses
# reference is in that month's micro/ tree, named by its digest.
"$GEN" --out-dir "$TMP/col" --days 2 --relays 60 --seed 3 \
    --start '2026-01-31 00:00:00' --missing-hours 0 --layout collector ||
    fail "--layout collector failed"
"$GEN" --out-dir "$TMP/flat" --days 2 --relays 60 --seed 3 \
    --start '2026-01-31 00:00:00' --missing-hours 0 || fail "flat failed"
layout_ok=1
for m in 2026-01:31 2026-02:01; do
    mon=${m%%:*} day=${m##*:}
    n=$(find "$TMP/col/consensuses-$mon/$day" -type f \
        -name "$mon-$day-??-00-00-consensus" | wc -l)
    k=$(find "$TMP/col/microdescs-$mon/consensus-microdesc/$day" -type f \
        -name "$mon-$day-??-00-00-consensus-microdesc" | wc -l)
    if [ "$n" -ne 24 ] || [ "$k" -ne 24 ]; then
        fail "$mon: $n ns and $k microdesc consensuses, expected 24 each"
        layout_ok=0
    fi
done
other=$(cd "$TMP/col" && find . -type f | grep -Ev \
    '^\./(consensuses-2026-0[12]/[0-9]{2}/[-0-9]{19}-consensus|microdescs-2026-0[12]/(consensus-microdesc/[0-9]{2}/[-0-9]{19}-consensus-microdesc|micro/([0-9a-f])/([0-9a-f])/[0-9a-f]{64}))$')
[ -z "$other" ] || { fail "unexpected paths: $other"; layout_ok=0; }
# The same documents as the flat layout, byte for byte.
for f in "$TMP"/flat/*; do
    b=$(basename "$f")
    c=$(find "$TMP/col" -name "$b" -type f)
    cmp -s "$f" "$c" || { fail "$b differs from the flat layout"; layout_ok=0; }
done
[ $layout_ok -eq 1 ] && ok "collector layout: month trees, same documents"
if /usr/bin/python3 - "$TMP/col" <<'EOF2'
import base64, os, sys
root = sys.argv[1]
for month in ('2026-01', '2026-02'):
    base = os.path.join(root, 'microdescs-' + month)
    want = set()
    cdir = os.path.join(base, 'consensus-microdesc')
    for day in os.listdir(cdir):
        for name in os.listdir(os.path.join(cdir, day)):
            for line in open(os.path.join(cdir, day, name)):
                if line.startswith('m '):
                    want.add(base64.b64decode(line[2:].strip() + '=').hex())
    have = {}
    for d, _, files in os.walk(os.path.join(base, 'micro')):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), os.path.join(base, 'micro'))
            assert rel == '%s/%s/%s' % (f[0], f[1], f), rel
            have[f] = open(os.path.join(d, f)).read()
    assert set(have) == want, (month, len(have), len(want))
    for text in have.values():
        assert text.startswith('@type microdescriptor 1.0\nonion-key\n'), text
    print('micro ok:', month, len(have), 'microdescriptors')
EOF2
then
    ok "each month's micro/ holds exactly the microdescriptors it references"
else
    fail "micro/ does not match the consensuses' m lines"
fi
if /usr/bin/python3 -c 'import stem' >/dev/null 2>&1; then
    m=$(find "$TMP/col/microdescs-2026-02/micro" -type f | head -1)
    /usr/bin/python3 -c 'import sys, stem.descriptor as d
ds = list(d.parse_file(sys.argv[1], "microdescriptor 1.0", validate=True))
assert len(ds) == 1 and ds[0].identifiers["ed25519"]' "$m" &&
        ok "stem reads a generated microdescriptor" ||
        fail "stem rejected a generated microdescriptor"
fi
"$GEN" --out-dir "$TMP/u" --layout tree >/dev/null 2>&1
[ $? -eq 2 ] || fail "--layout tree: expected status 2"

# --- stem ----------------------------------------------------------------
if /usr/bin/python3 -c 'import stem' >/dev/null 2>&1; then
    if /usr/bin/python3 - "$TMP"/a/2026-03-01-0[05]-00-00-consensus* \
        "$TMP"/a/2026-03-02-23-00-00-consensus* <<'EOF'
import sys
import stem.descriptor

for path in sys.argv[1:]:
    md = path.endswith('-microdesc')
    kind = ('network-status-microdesc-consensus-3 1.0' if md
            else 'network-status-consensus-3 1.0')
    docs = list(stem.descriptor.parse_file(path, kind, validate=True,
                                           document_handler='DOCUMENT'))
    assert len(docs) == 1, path
    doc = docs[0]
    assert len(doc.routers) > 100, (path, len(doc.routers))
    assert len(doc.signatures) == 9, path
    assert len(doc.bandwidth_weights) == 19, path
    exits = sum(1 for r in doc.routers.values() if 'Exit' in r.flags)
    assert exits > 0, path
    print('stem ok:', path.rsplit('/', 1)[-1], len(doc.routers), 'relays,',
          exits, 'exits')
EOF
    then
        ok "stem parses the documents with validate=True"
    else
        fail "stem rejected a document"
    fi
else
    echo "note: /usr/bin/python3 has no stem; stem part skipped"
fi

finish
