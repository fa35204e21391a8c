#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# banned.sh - the banned-function grep (curl's list, STYLE.md): no call to
# gets, strcpy, strcat, sprintf, vsprintf, strtok, atoi, atol, sscanf or
# strncpy anywhere in lib/ cli/ tools/ tests/ bench/ (snprintf and
# vsnprintf are fine: the word boundary keeps them out).  Comments and
# string literals are not parsed, so a mention followed by "(" counts: write
# such prose without the parenthesis.  Then the export check: the shared
# library, when one was built, exports only exst_ symbols.
#
# Environment (set by ctest): EXST_SRC = source dir, EXST_BUILD = build dir.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u

SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${EXST_BUILD:-}
fails=0

banned='gets|strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|sscanf|strncpy'
dirs=()
for d in lib cli tools tests bench; do
    [ -d "$SRC/$d" ] && dirs+=("$SRC/$d")
done
if [ ${#dirs[@]} -eq 0 ]; then
    echo "SKIP: no source directories under '$SRC'"
    exit 77
fi

# This script names the functions itself; it is the one file left out.
hits=$(cd "$SRC" && grep -rnE --include='*.c' --include='*.h' \
    --include='*.in' --include='*.cpp' \
    "(^|[^A-Za-z0-9_])($banned)[[:space:]]*\(" \
    "${dirs[@]#"$SRC"/}" 2>/dev/null)
if [ -n "$hits" ]; then
    echo "FAIL: banned functions (use snprintf, memcpy with a length, or"
    echo "      the exst_ parsers instead):"
    printf '%s\n' "$hits" | sed 's/^/  /'
    fails=$((fails + 1))
else
    echo "ok: no banned function in ${dirs[*]#"$SRC"/}"
fi

# Export check: only exst_ names in the dynamic symbol table.
shared=
if [ -n "$BUILD" ]; then
    for f in "$BUILD"/libexitstage.so*; do
        [ -f "$f" ] && [ ! -L "$f" ] && { shared=$f; break; }
    done
fi
if [ -z "$shared" ]; then
    echo "note: no shared libexitstage in '${BUILD:-(EXST_BUILD unset)}'" \
         "(static build); export check skipped"
elif ! command -v nm >/dev/null 2>&1; then
    echo "note: nm not installed; export check skipped"
else
    bad=$(nm -D --defined-only "$shared" | awk 'NF >= 3 { print $3 }' |
        grep -v '^exst_' | grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$')
    if [ -n "$bad" ]; then
        echo "FAIL: $(basename "$shared") exports names without exst_:"
        printf '%s\n' "$bad" | sed 's/^/  /'
        fails=$((fails + 1))
    else
        n=$(nm -D --defined-only "$shared" | grep -c ' exst_')
        echo "ok: $(basename "$shared") exports only exst_ names ($n)"
    fi
fi

if [ $fails -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all passed"
exit 0
