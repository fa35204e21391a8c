# SPDX-License-Identifier: BSD-3-Clause
# common.bash - helpers the CLI test scripts source (not a test itself:
# ctest runs tests/cli/*.sh).  Exit statuses: 0 pass, 1 fail, 77 skip.
#
#   need_exe VAR...    skip unless each variable names an executable file
#   need_cmd CMD...    skip unless each command is installed
#   need_shared        SRC := the source tree, SHARED := ../shared/testdata
#                      (EXST_SRC, EXST_SHARED); skip without its samples/
#   make_tmp NAME      TMP := a new directory, removed at exit
#   fail MSG, ok MSG   record a failed / passed check and go on
#   finish             the verdict: "N failure(s)" and 1, or "all passed"

fails=0

need_exe() {
    local v
    for v in "$@"; do
        if [ -z "${!v:-}" ] || [ ! -x "${!v}" ]; then
            echo "SKIP: $v not set or not executable ('${!v:-}')"
            exit 77
        fi
    done
}

need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || {
            echo "SKIP: $c not installed"
            exit 77
        }
    done
}

need_shared() {
    SRC=${EXST_SRC:-$(cd "$(dirname "${BASH_SOURCE[1]}")/../.." && pwd)}
    SHARED=${EXST_SHARED:-$SRC/../shared/testdata}
    if [ ! -d "$SHARED/samples" ]; then
        echo "SKIP: $SHARED absent"
        exit 77
    fi
}

make_tmp() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/exst-$1.XXXXXX") || exit 1
    trap 'rm -rf "$TMP"' EXIT
}

fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

ok() {
    echo "ok: $*"
}

finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$fails failure(s)"
        exit 1
    fi
    echo "all passed"
    exit 0
}
