#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# install.sh - the installed library works for a program outside the
# project, through both ways of finding it (SPEC 10, "Installation"):
#
#  1. the source tree is configured twice in a scratch directory (never the
#     build this test runs in), static and BUILD_SHARED_LIBS=ON, for a
#     prefix that does not exist; only libexitstage is built, and its
#     Development (and, shared, Library) components are installed with
#     `cmake --install --prefix` into another prefix: the installed files
#     are exactly the expected ones, and exitstage.pc names the prefix
#     actually used;
#  2. pkg-config: exitstage.pc validates, has the project's version and
#     Requires.private lists CMakeLists.txt's EXST_DEPS;
#     tests/install/consumer.c is compiled against the static library with
#     `pkg-config --static` (and, where the dependencies' static archives
#     exist, linked fully -static, which proves Requires.private and
#     Libs.private complete), and against the shared one with plain
#     `pkg-config`; the static program does not need libexitstage.so, the
#     shared one does; without --static the static link fails (so the
#     check above means something);
#  3. CMake: tests/install/CMakeLists.txt, with find_package(exitstage
#     REQUIRED) and exitstage::exitstage, is configured against each
#     prefix, built and run; asking for version 99.0 fails to configure.
#
# Every program prints the library version, each relay's fingerprint of
# testdata/consensus/valid/minimal-ns (parsed back from zstd), the exit
# candidates a staging run counts, and the summary JSON, which must equal
# `exitstage inspect` of the document.
#
# Environment (set by ctest): EXITSTAGE = the built tool, EXST_SRC = the
# source dir.  Skipped without cmake, cc or pkg-config.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
EXITSTAGE=${EXITSTAGE:-}
need_exe EXITSTAGE
need_cmd cmake cc pkg-config readelf
make_tmp install

DOC=$SRC/testdata/consensus/valid/minimal-ns
VERSION=$(sed -n 's/^project(exitstage VERSION \([0-9.]*\).*/\1/p' \
    "$SRC/CMakeLists.txt")
# The pkg-config modules CMakeLists.txt lists in EXST_DEPS, one a line.
DEPS=$(awk '/^set\(EXST_DEPS$/ { on = 1; next }
            on && /^\)/ { exit }
            on { print $1 }' "$SRC/CMakeLists.txt" | xargs)
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
unset CFLAGS LDFLAGS PKG_CONFIG_PATH PKG_CONFIG_LIBDIR
export CMAKE_BUILD_PARALLEL_LEVEL=2

# What every consumer must print.
{
    echo "version $VERSION"
    echo "relay 3F47448E70B8BDA33739B6CDA5CDD11744BC6CCC -"
    echo "relay 6EBA78002794F9D5B4D15AA456B2997B94E98643 -"
    echo "relay 7AAFE5C3B946A287004715EA59F3B66E0E66396C exit"
    echo "relay DE4D6F9ED0889022B3BECE1D789AE5217E7EB7AB exit"
    echo "staged: 2 exit candidates"
    "$EXITSTAGE" inspect "$DOC"
} >"$TMP/expected" || { echo "FAIL: exitstage inspect $DOC"; exit 1; }

# run_consumer LABEL PROGRAM: run it on the document, compare.
run_consumer() {
    if ! "$2" "$DOC" >"$TMP/out.$1" 2>"$TMP/err.$1"; then
        fail "$1: consumer failed: $(head -3 "$TMP/err.$1")"
    elif ! cmp -s "$TMP/expected" "$TMP/out.$1"; then
        fail "$1: consumer output differs:"
        diff "$TMP/expected" "$TMP/out.$1" | head -20
    else
        ok "$1: version, identities (zstd round trip), staging, summary as inspect"
    fi
}

# needs_libexitstage PROGRAM: does its dynamic section ask for the library?
needs_libexitstage() {
    readelf -d "$1" | grep -q 'NEEDED.*\[libexitstage\.so'
}

for kind in static shared; do
    shared=OFF
    [ "$kind" = shared ] && shared=ON
    B=$TMP/build-$kind
    P=$TMP/prefix-$kind
    log=$TMP/log.$kind
    if ! cmake -S "$SRC" -B "$B" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
            -DBUILD_TESTING=OFF -DBUILD_SHARED_LIBS=$shared \
            -DCMAKE_INSTALL_PREFIX=/nonexistent/configured \
            -DCMAKE_INSTALL_LIBDIR=lib >"$log" 2>&1 ||
        ! cmake --build "$B" --target libexitstage >>"$log" 2>&1; then
        fail "$kind: configure or build of libexitstage:"
        tail -20 "$log"
        continue
    fi
    comps=(Development)
    [ "$kind" = shared ] && comps+=(Library)
    for comp in "${comps[@]}"; do
        cmake --install "$B" --prefix "$P" --component "$comp" >>"$log" 2>&1 ||
            fail "$kind: cmake --install --component $comp: $(tail -3 "$log")"
    done

    # 1. exactly these files and links
    if [ "$kind" = static ]; then
        want="lib/libexitstage.a"
    else
        want="lib/libexitstage.so lib/libexitstage.so.${VERSION%%.*}
lib/libexitstage.so.$VERSION"
    fi
    want=$(printf '%s\n' include/exitstage.h $want \
        lib/cmake/exitstage/exitstageConfig.cmake \
        lib/cmake/exitstage/exitstageConfigVersion.cmake \
        lib/cmake/exitstage/exitstageTargets-release.cmake \
        lib/cmake/exitstage/exitstageTargets.cmake \
        lib/pkgconfig/exitstage.pc | sort)
    got=$(cd "$P" && find . ! -type d | sed 's|^\./||' | sort)
    if [ "$got" = "$want" ]; then
        ok "$kind: installed files: $(echo $got)"
    else
        fail "$kind: installed files differ:"
        diff <(echo "$want") <(echo "$got")
    fi
    cmp -s "$SRC/lib/include/exitstage.h" "$P/include/exitstage.h" ||
        fail "$kind: installed header differs from lib/include/exitstage.h"

    # 2. pkg-config
    export PKG_CONFIG_PATH=$P/lib/pkgconfig
    if ! pkg-config --validate exitstage 2>"$TMP/pcerr"; then
        fail "$kind: pkg-config --validate: $(cat "$TMP/pcerr")"
    fi
    v=$(pkg-config --modversion exitstage)
    [ "$v" = "$VERSION" ] || fail "$kind: pkg-config version '$v', want '$VERSION'"
    p=$(pkg-config --variable=prefix exitstage)
    [ "$p" = "$P" ] || fail "$kind: exitstage.pc prefix '$p', want '$P'"
    pv=$(pkg-config --print-requires-private exitstage | awk '{print $1}' | xargs)
    [ "$pv" = "$DEPS" ] ||
        fail "$kind: Requires.private '$pv', want EXST_DEPS '$DEPS'"
    cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror)
    if [ "$kind" = static ]; then
        # shellcheck disable=SC2046
        if cc "${cflags[@]}" -o "$TMP/pc-static" "$SRC/tests/install/consumer.c" \
                $(pkg-config --static --cflags --libs exitstage) 2>"$TMP/ccerr"; then
            run_consumer "pkg-config --static" "$TMP/pc-static"
            if needs_libexitstage "$TMP/pc-static"; then
                fail "pkg-config --static: the program needs libexitstage.so"
            fi
        else
            fail "pkg-config --static: link failed: $(head -5 "$TMP/ccerr")"
        fi
        # shellcheck disable=SC2046
        if cc -o "$TMP/pc-nostatic" "$SRC/tests/install/consumer.c" \
                $(pkg-config --cflags --libs exitstage) 2>/dev/null; then
            fail "static library linked without --static: Requires.private proves nothing"
        else
            ok "static library without --static does not link (dependencies are private)"
        fi
        # Fully static, where every dependency's archive is installed.
        if echo 'int main(void){return 0;}' >"$TMP/t.c" &&
            cc -static -o "$TMP/t" "$TMP/t.c" 2>/dev/null &&
            cc -static -o "$TMP/pc-full" "$SRC/tests/install/consumer.c" \
                $(pkg-config --static --cflags --libs exitstage) 2>"$TMP/ccerr"; then
            run_consumer "pkg-config --static, cc -static" "$TMP/pc-full"
        else
            echo "note: no fully static link here (libc.a or a dependency's .a missing)"
        fi
    else
        libdir=$(pkg-config --variable=libdir exitstage)
        # shellcheck disable=SC2046
        if cc "${cflags[@]}" -o "$TMP/pc-shared" "$SRC/tests/install/consumer.c" \
                $(pkg-config --cflags --libs exitstage) \
                -Wl,-rpath,"$libdir" 2>"$TMP/ccerr"; then
            run_consumer "pkg-config, shared" "$TMP/pc-shared"
            needs_libexitstage "$TMP/pc-shared" ||
                fail "pkg-config, shared: the program does not use libexitstage.so"
        else
            fail "pkg-config, shared: link failed: $(head -5 "$TMP/ccerr")"
        fi
    fi
    unset PKG_CONFIG_PATH

    # 3. the CMake package
    C=$TMP/consumer-$kind
    if cmake -S "$SRC/tests/install" -B "$C" "${GEN[@]}" \
            -DCMAKE_PREFIX_PATH="$P" -DEXST_WANT_VERSION="${VERSION%.*}" \
            >"$log.cmake" 2>&1 &&
        cmake --build "$C" >>"$log.cmake" 2>&1; then
        run_consumer "find_package, $kind" "$C/consumer"
        if [ "$kind" = static ] && needs_libexitstage "$C/consumer"; then
            fail "find_package, static: the program needs libexitstage.so"
        fi
        if [ "$kind" = shared ] && ! needs_libexitstage "$C/consumer"; then
            fail "find_package, shared: the program does not use libexitstage.so"
        fi
    else
        fail "find_package, $kind: consumer project failed:"
        tail -20 "$log.cmake"
    fi
    if [ "$kind" = static ]; then
        if cmake -S "$SRC/tests/install" -B "$TMP/consumer-99" "${GEN[@]}" \
                -DCMAKE_PREFIX_PATH="$P" -DEXST_WANT_VERSION=99.0 \
                >"$log.99" 2>&1; then
            fail "find_package(exitstage 99.0) was satisfied by $VERSION"
        elif grep -q "exitstageConfig.cmake, version: $VERSION" "$log.99"; then
            ok "find_package(exitstage 99.0) refused: version $VERSION"
        else
            fail "find_package(exitstage 99.0) failed for another reason:"
            tail -10 "$log.99"
        fi
    fi
done

finish
