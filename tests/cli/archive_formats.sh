#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# archive_formats.sh - CollecTor's tarballs as downloaded, and the other
# compressed forms the archive reader takes (SPEC 2.2, added in 0.2).  Two
# days across a month end are generated in CollecTor's layout
# (exitstage-gen --layout collector) and packed the way CollecTor packs
# them, then replayed, each into a fresh history with --timeline:
#   x  consensuses-2026-01.tar.xz and consensuses-2026-02.tar.xz as files
#   g  the same as .tar.gz, z as .tar.zst
#   p  the plain tars (the reference)
#   s  both .tar.xz concatenated on standard input (cat a.xz b.xz)
#   c  every ns consensus concatenated into one file (cat), plain, xz and
#      gzip, and c2 the same through xz on standard input
# All timelines and histories must equal the reference byte for byte.
# Then the microdescs-YYYY-MM.tar.xz as downloaded (consensus-microdesc/
# and micro/ members with "@type microdescriptor 1.0"): the microdesc
# consensuses replayed, every micro/ member skipped and counted, the same
# timeline and history as the directories of microdesc consensuses; and a
# directory in CollecTor's recent/ layout (January's .tar.xz beside
# February's loose hourly files) gives the reference.  Then apply and
# inspect read xz and gzip documents on standard input; a bzip2 document
# is refused with a message that names bzip2 (status 3); a truncated
# .tar.xz is refused naming xz (status 3).
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

EXITSTAGE=${EXITSTAGE:-}
GEN=${EXST_GEN:-}
need_exe EXITSTAGE GEN
need_cmd tar xz gzip zstd bzip2 cmp

make_tmp aformats

"$GEN" --out-dir "$TMP/col" --days 2 --relays 200 --seed 5 --flavor both \
    --start '2026-01-31 00:00:00' --missing-hours 0 --layout collector || {
    echo "FAIL: generation failed"
    exit 1
}
for m in 2026-01 2026-02; do
    (cd "$TMP/col" && tar --sort=name --format=pax -cf "$TMP/c-$m.tar" \
        "consensuses-$m") || fail "tar of $m failed"
    xz -T1 -6 -kc "$TMP/c-$m.tar" >"$TMP/c-$m.tar.xz"
    gzip -c "$TMP/c-$m.tar" >"$TMP/c-$m.tar.gz"
    zstd -q -c "$TMP/c-$m.tar" >"$TMP/c-$m.tar.zst"
    (cd "$TMP/col" && tar --sort=name --format=pax -cf - "microdescs-$m") |
        xz -T1 -6 -c >"$TMP/m-$m.tar.xz" || fail "tar of microdescs-$m failed"
done

# replay NAME ARGS...: a fresh history, the timeline in $TMP/NAME.tl.
replay() {
    local name=$1
    shift
    rm -f "$TMP/$name.db"
    "$EXITSTAGE" replay --quiet --db "$TMP/$name.db" \
        --timeline "$TMP/$name.tl" "$@" 2>"$TMP/$name.err"
}

replay p "$TMP/c-2026-01.tar" "$TMP/c-2026-02.tar" ||
    fail "plain tars: status $? ($(cat "$TMP/p.err"))"
n=$(wc -l <"$TMP/p.tl")
[ "$n" -eq 48 ] && ok "plain tars: 48 consensuses" ||
    fail "plain tars: $n timeline records, expected 48"

check() {
    local name=$1 what=$2
    shift 2
    if replay "$name" "$@" && cmp -s "$TMP/p.tl" "$TMP/$name.tl" &&
        cmp -s "$TMP/p.db" "$TMP/$name.db"; then
        ok "$what: same timeline and history"
    else
        fail "$what: status, timeline or history differs ($(head -c 300 "$TMP/$name.err"))"
    fi
}
check x ".tar.xz as downloaded" "$TMP/c-2026-02.tar.xz" "$TMP/c-2026-01.tar.xz"
check g ".tar.gz" "$TMP/c-2026-01.tar.gz" "$TMP/c-2026-02.tar.gz"
check z ".tar.zst" "$TMP/c-2026-01.tar.zst" "$TMP/c-2026-02.tar.zst"
cat "$TMP/c-2026-01.tar.xz" "$TMP/c-2026-02.tar.xz" >"$TMP/both.xz"
check s "two .tar.xz concatenated on stdin" - <"$TMP/both.xz"

# CollecTor's recent/ layout: a month's tarball beside loose hourly files.
mkdir "$TMP/recent"
cp "$TMP/c-2026-01.tar.xz" "$TMP/recent/"
find "$TMP/col/consensuses-2026-02" -type f -exec cp -t "$TMP/recent/" {} +
check r "a .tar.xz beside loose hourly files in one directory" "$TMP/recent"

# microdescs-YYYY-MM.tar.xz as downloaded: the reference is the two
# directories of microdesc consensuses.
md_ref() {
    rm -f "$TMP/mref.db"
    "$EXITSTAGE" replay --quiet --db "$TMP/mref.db" --timeline "$TMP/mref.tl" \
        "$TMP/col/microdescs-2026-01/consensus-microdesc" \
        "$TMP/col/microdescs-2026-02/consensus-microdesc" 2>"$TMP/mref.err"
}
md_ref || fail "microdesc directories: status $? ($(cat "$TMP/mref.err"))"
n_micro=$(find "$TMP/col" -path '*/micro/*' -type f | wc -l)
n_md=$(wc -l <"$TMP/mref.tl")
rm -f "$TMP/m.db"
"$EXITSTAGE" replay --db "$TMP/m.db" --timeline "$TMP/m.tl" \
    "$TMP/m-2026-01.tar.xz" "$TMP/m-2026-02.tar.xz" 2>"$TMP/m.err"
st=$?
if [ $st -eq 0 ] && [ "$n_md" -eq 48 ] && cmp -s "$TMP/mref.tl" "$TMP/m.tl" &&
    cmp -s "$TMP/mref.db" "$TMP/m.db" &&
    grep -Eq "^  not consensuses: +$n_micro skipped " "$TMP/m.err" &&
    grep -Eq "^  consensuses processed: +48 \(ns 0, microdesc 48\)" "$TMP/m.err"; then
    ok "microdescs .tar.xz as downloaded: 48 microdesc consensuses, $n_micro micro/ members skipped, same timeline and history"
else
    fail "microdescs .tar.xz: status $st, $n_md reference records; $(grep -E 'processed|not consensuses' "$TMP/m.err")"
fi

# Documents back to back in one file, in time order.
find "$TMP/col/consensuses-2026-01" "$TMP/col/consensuses-2026-02" \
    -type f -name '*-consensus' | sort | xargs cat >"$TMP/all.txt"
xz -T1 -kc "$TMP/all.txt" >"$TMP/all.txt.xz"
gzip -c "$TMP/all.txt" >"$TMP/all.txt.gz"
check c "48 documents in one plain file" "$TMP/all.txt"
check cx "48 documents in one .xz" "$TMP/all.txt.xz"
check cg "48 documents in one .gz" "$TMP/all.txt.gz"
check c2 "48 documents through xz on stdin" - <"$TMP/all.txt.xz"

# apply and inspect on standard input.
one=$(find "$TMP/col" -type f -name '2026-01-31-05-00-00-consensus')
"$EXITSTAGE" inspect "$one" >"$TMP/plain.json" || fail "inspect plain"
for z in xz gzip; do
    if "$z" -c "$one" | "$EXITSTAGE" inspect - >"$TMP/$z.json" &&
        cmp -s "$TMP/plain.json" "$TMP/$z.json"; then
        ok "inspect reads $z on stdin"
    else
        fail "inspect of $z input differs or failed"
    fi
    for form in plain "$z"; do
        rm -f "$TMP/a.db"
        "$EXITSTAGE" db init --db "$TMP/a.db" || fail "db init"
        if [ "$form" = plain ]; then
            "$EXITSTAGE" apply --db "$TMP/a.db" -o "$TMP/$form.out" - <"$one"
        else
            "$z" -c "$one" |
                "$EXITSTAGE" apply --db "$TMP/a.db" -o "$TMP/$form.out" -
        fi || fail "apply of $form input failed (status $?)"
    done
    cmp -s "$TMP/plain.out" "$TMP/$z.out" &&
        ok "apply reads $z on stdin (same output)" ||
        fail "apply of $z input gives another output"
done
bzip2 -c "$one" | "$EXITSTAGE" inspect - >/dev/null 2>"$TMP/bz.err"
st=$?
if [ $st -eq 3 ] && grep -q 'bzip2-compressed data, which is not read' \
    "$TMP/bz.err"; then
    ok "bzip2 input: status 3 and a message that names it"
else
    fail "bzip2 input: status $st, '$(cat "$TMP/bz.err")'"
fi

# A truncated .tar.xz names the format.
size=$(stat -c %s "$TMP/c-2026-01.tar.xz")
head -c $((size / 2)) "$TMP/c-2026-01.tar.xz" >"$TMP/cut.tar.xz"
replay cut "$TMP/cut.tar.xz"
st=$?
if [ $st -eq 3 ] && grep -q "truncated xz data" "$TMP/cut.err"; then
    ok "truncated .tar.xz: status 3, 'truncated xz data'"
else
    fail "truncated .tar.xz: status $st, '$(cat "$TMP/cut.err")'"
fi

finish
