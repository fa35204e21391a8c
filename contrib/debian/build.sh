#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# build.sh - build the Debian packages from this tree and check them:
#
#   1. copy the source (a git checkout's tracked and untracked, not
#      ignored, files; otherwise everything but build*/) into a scratch
#      directory outside the tree, so the tree is left as it was;
#   2. dpkg-buildpackage -us -uc -b there (which runs the test suite unless
#      --nocheck; without ../shared beside the copy, the tests that need
#      real documents skip);
#   3. lintian on the binary packages and on the native source package
#      (dpkg-source -b, made before the build): any error fails, warnings
#      and information tags are listed;
#   4. dpkg-deb -c: each package holds the files it must;
#   5. both packages unpacked into a scratch root (dpkg-deb -x): as root,
#      exitstage's postinst, run there with DPKG_ROOT, creates the user and
#      the /var/lib/exitstage it owns; the tool runs and prints the
#      changelog's version, and tests/install/
#      consumer.c builds and runs against the unpacked libexitstage-dev
#      through pkg-config --static and through find_package(exitstage).
#
# usage: contrib/debian/build.sh [--nocheck] [--out DIR]
#   --nocheck   do not run the test suite during the build
#   --out DIR   keep the .deb files (and the build and lintian logs) in DIR
#
# Needs dpkg-dev, debhelper, lintian and the Build-Depends of
# debian/control.  Prints how long each step took.  Exit status: 0 all
# good, 1 a step failed, 2 usage, 77 a tool is missing.

set -euo pipefail

usage() {
    sed -n 's/^# usage: //p; s/^#   --/  --/p' "$0" >&2
    exit 2
}

NOCHECK=0
OUT=
while [ $# -gt 0 ]; do
    case $1 in
    --nocheck) NOCHECK=1 ;;
    --out)
        [ $# -ge 2 ] || usage
        OUT=$2
        shift
        ;;
    --out=*) OUT=${1#--out=} ;;
    *) usage ;;
    esac
    shift
done

SRC=$(cd "$(dirname "$0")/../.." && pwd)
for tool in dpkg-buildpackage dpkg-parsechangelog dpkg-architecture \
    dpkg-source dpkg-deb dh lintian cc cmake pkg-config; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build.sh: SKIP: $tool not installed (dpkg-dev, debhelper, lintian)" >&2
        exit 77
    fi
done

T0=$SECONDS
TS=$SECONDS
step() {
    local d=$((SECONDS - TS))
    [ -n "${STEP:-}" ] && printf -- '---- %s: %dm%02ds\n' "$STEP" $((d / 60)) $((d % 60))
    STEP=$1
    TS=$SECONDS
    [ -n "$STEP" ] && printf '\n==== %s ====\n' "$STEP"
    return 0
}
W=$(mktemp -d "${TMPDIR:-/tmp}/exitstage-deb.XXXXXX")
cleanup() {
    local rc=$?
    if [ $rc -ne 0 ] && [ -n "${STEP:-}" ]; then
        echo "build.sh: FAILED in: $STEP (status $rc)" >&2
    fi
    rm -rf "$W"
    exit $rc
}
trap cleanup EXIT

VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
ARCH=$(dpkg-architecture -q DEB_HOST_ARCH)
MULTIARCH=$(dpkg-architecture -q DEB_HOST_MULTIARCH)
TREE=$W/exitstage-$VERSION

step "copy the source to $TREE"
mkdir -p "$TREE"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
        done | tar --null -T - -cf -) | tar -xf - -C "$TREE"
else
    (cd "$SRC" && tar --exclude='./build*' --exclude=./.git -cf - .) |
        tar -xf - -C "$TREE"
fi
echo "$(find "$TREE" -type f | wc -l) files, version $VERSION, $ARCH"

step "dpkg-source -b (for lintian's source checks)"
(cd "$W" && dpkg-source -b "$(basename "$TREE")") >"$W/source.log" 2>&1 ||
    { cat "$W/source.log"; exit 1; }
DSC=$W/exitstage_$VERSION.dsc
ls -l "$DSC" "$W"/exitstage_"$VERSION".tar.*

step "dpkg-buildpackage -us -uc -b$([ $NOCHECK = 1 ] && echo ' (nocheck)')"
# nocheck is both a build option (no test run) and a build profile (no
# test-only Build-Depends); dpkg-buildpackage checks the Build-Depends.
opts="parallel=$(nproc 2>/dev/null || echo 2)"
profile=()
if [ $NOCHECK = 1 ]; then
    opts="$opts nocheck"
    profile=(-Pnocheck)
fi
if ! (cd "$TREE" && DEB_BUILD_OPTIONS="$opts" \
        dpkg-buildpackage -us -uc -b "${profile[@]}") >"$W/build.log" 2>&1; then
    tail -60 "$W/build.log"
    [ -n "$OUT" ] && mkdir -p "$OUT" && cp "$W/build.log" "$OUT/"
    echo "build.sh: dpkg-buildpackage failed (log above)" >&2
    exit 1
fi
grep -E '^[0-9]+% tests passed|tests failed out of' "$W/build.log" || true
grep -cE 'Not Run|\*\*\*Skipped' "$W/build.log" |
    sed 's/$/ tests skipped/' || true
DEBS=("$W/exitstage_${VERSION}_$ARCH.deb" "$W/libexitstage-dev_${VERSION}_$ARCH.deb")
CHANGES=$W/exitstage_${VERSION}_$ARCH.changes
for f in "${DEBS[@]}" "$CHANGES"; do
    [ -f "$f" ] || { echo "build.sh: $f was not built" >&2; exit 1; }
done
ls -l "$W"/*.deb

step "lintian"
# Errors fail; warnings and information tags are shown.
lintian --fail-on error --info "$CHANGES" "$DSC" | tee "$W/lintian.log"
echo "lintian: $(grep -c '^E:' "$W/lintian.log" || true) errors," \
    "$(grep -c '^W:' "$W/lintian.log" || true) warnings"

step "contents (dpkg-deb -c)"
fails=0
# contains DEB PATH-REGEX...: each regex matches one path in the package.
contains() {
    local deb=$1 re list
    shift
    list=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
    for re in "$@"; do
        if ! grep -qxE "$re" <<<"$list"; then
            echo "FAIL: $(basename "$deb") has no $re"
            fails=$((fails + 1))
        fi
    done
}
contains "${DEBS[0]}" /usr/bin/exitstage /usr/share/man/man1/exitstage.1.gz \
    '(/usr)?/lib/systemd/system/exitstage\.service' \
    '(/usr)?/lib/systemd/system/exitstage\.timer' \
    /usr/lib/sysusers.d/exitstage.conf /usr/lib/tmpfiles.d/exitstage.conf \
    /usr/share/doc/exitstage/copyright
contains "${DEBS[1]}" /usr/include/exitstage.h \
    "/usr/lib/$MULTIARCH/libexitstage.a" \
    "/usr/lib/$MULTIARCH/pkgconfig/exitstage.pc" \
    "/usr/lib/$MULTIARCH/cmake/exitstage/exitstageConfig.cmake" \
    "/usr/lib/$MULTIARCH/cmake/exitstage/exitstageConfigVersion.cmake" \
    "/usr/lib/$MULTIARCH/cmake/exitstage/exitstageTargets.cmake"
if dpkg-deb -c "${DEBS[1]}" | grep -q 'libexitstage\.so'; then
    echo "FAIL: libexitstage-dev ships a shared library"
    fails=$((fails + 1))
fi
for deb in "${DEBS[@]}"; do
    echo "$(basename "$deb"): $(dpkg-deb -c "$deb" | grep -vc '/$') files;" \
        "Depends: $(dpkg-deb -f "$deb" Depends)"
done
[ $fails -eq 0 ] || exit 1

step "unpacked into a scratch root"
ROOT=$W/root
mkdir -p "$ROOT/etc"
for deb in "${DEBS[@]}"; do dpkg-deb -x "$deb" "$ROOT"; done
# The postinst, with DPKG_ROOT: sysusers.d before tmpfiles.d makes a user
# that owns /var/lib/exitstage.  (deb-systemd-helper does nothing outside
# dpkg, so the system's unit state is left alone.)  Only root can chown.
if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null 2>&1; then
    dpkg-deb -e "${DEBS[0]}" "$W/control"
    DPKG_ROOT=$ROOT sh "$W/control/postinst" configure >"$W/postinst.log" 2>&1 ||
        { cat "$W/postinst.log"; echo "FAIL: postinst configure"; exit 1; }
    uid=$(awk -F: '$1 == "exitstage" { print $3 }' "$ROOT/etc/passwd")
    own=$(stat -c '%u %a' "$ROOT/var/lib/exitstage" 2>/dev/null || true)
    if [ -z "$uid" ] || [ "$own" != "$uid 755" ]; then
        echo "FAIL: postinst: user exitstage '$uid', /var/lib/exitstage '$own'"
        exit 1
    fi
    echo "ok: postinst (DPKG_ROOT): user exitstage ($uid) owns /var/lib/exitstage, 0755"
else
    echo "note: not root; the postinst was not tried"
fi
got=$("$ROOT/usr/bin/exitstage" --version | head -1)
case $got in
*"$VERSION"*) echo "ok: $got" ;;
*) echo "FAIL: exitstage --version says '$got', want $VERSION"; exit 1 ;;
esac
DOC=$SRC/testdata/consensus/valid/minimal-ns
want="version $VERSION"
# shellcheck disable=SC2046
cc -o "$W/consumer-pc" "$SRC/tests/install/consumer.c" $(
    PKG_CONFIG_SYSROOT_DIR=$ROOT \
    PKG_CONFIG_LIBDIR=$ROOT/usr/lib/$MULTIARCH/pkgconfig:/usr/lib/$MULTIARCH/pkgconfig:/usr/share/pkgconfig \
    pkg-config --static --cflags --libs exitstage)
[ "$("$W/consumer-pc" "$DOC" | head -1)" = "$want" ] ||
    { echo "FAIL: consumer via pkg-config --static"; exit 1; }
echo "ok: consumer built with pkg-config --static against the unpacked package"
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
cmake -S "$SRC/tests/install" -B "$W/consumer-cmake" "${gen[@]}" \
    -DCMAKE_PREFIX_PATH="$ROOT/usr" >"$W/cmake.log" 2>&1 &&
    cmake --build "$W/consumer-cmake" >>"$W/cmake.log" 2>&1 ||
    { cat "$W/cmake.log"; echo "FAIL: consumer via find_package"; exit 1; }
[ "$("$W/consumer-cmake/consumer" "$DOC" | head -1)" = "$want" ] ||
    { echo "FAIL: consumer via find_package"; exit 1; }
echo "ok: consumer built with find_package(exitstage) against the unpacked package"

if [ -n "$OUT" ]; then
    mkdir -p "$OUT"
    cp "${DEBS[@]}" "$W/build.log" "$W/lintian.log" "$OUT/"
    echo "kept in $OUT: $(cd "$OUT" && ls | xargs)"
fi
step ""
d=$((SECONDS - T0))
printf '\n==== packages built and checked in %dm%02ds ====\n' $((d / 60)) $((d % 60))
