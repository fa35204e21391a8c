#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# manpage.sh - keep man/exitstage.1 true to the code (STYLE.md "Man page
# and README"; jq tests its manual's examples the same way):
#  (a) every long option in a getopt_long table of cli/ (CLI_POLICY_LONGOPTS
#      included) and every "--name" main() compares by hand appears in the
#      man page, and every long option the man page names exists in cli/;
#  (b) `mandoc -Tlint' reports no warning or error (style notes are shown,
#      not failed; skipped when mandoc is missing);
#  (c) every example preceded by a `.\" test: COMMAND' comment is the
#      command shown (with $EXITSTAGE shown as "exitstage" and "$DATA/"
#      left out), and running COMMAND in a scratch directory exits 0, in
#      the order the page gives them.  $DATA holds c.zst and start.zst
#      (two consecutive hours of a real microdesc consensus from
#      ../shared/testdata, or generated ones) and archive/ (a generated
#      archive, or real documents).  Commands that need a missing tool (jq,
#      zstd) or the replay command before it is built are skipped.
#
# Environment (set by ctest): EXITSTAGE = the built tool, EXST_SRC = source
# dir, EXST_SHARED = ../shared/testdata, EXST_GEN = exitstage-gen.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
MAN=$SRC/man/exitstage.1
EXITSTAGE=${EXITSTAGE:-}
SHARED=${EXST_SHARED:-$SRC/../shared/testdata}
GEN=${EXST_GEN:-}

if [ ! -f "$MAN" ]; then
    echo "SKIP: no man page at '$MAN'"
    exit 77
fi

make_tmp man

note() {
    echo "note: $*"
}

# --- (a) options ---------------------------------------------------------

# Long options of the sources: getopt_long table entries, and the options
# main() recognises by hand (strcmp(a, "--help")).
cat "$SRC"/cli/*.c "$SRC"/cli/*.h |
    grep -oE '\{"[a-z][a-z0-9-]*", *(no|required|optional)_argument' |
    sed -E 's/^\{"([^"]*)".*/\1/' >"$TMP/src.raw"
grep -ohE 'strcmp\([a-z_]+, *"--[a-z][a-z0-9-]*"\)' "$SRC"/cli/*.c |
    sed -E 's/.*"--([^"]*)".*/\1/' >>"$TMP/src.raw"
sort -u "$TMP/src.raw" >"$TMP/src.opts"

# Long options of the man page: the "-name" arguments of Fl on macro lines
# (".Fl -db Ar file", ".Fl -help | -version") and "--name" anywhere else
# (literal examples).  Comment lines are left out.
grep -v '^\.\\"' "$MAN" | awk '
    /^\./ {
        infl = 0
        for (i = 1; i <= NF; i++) {
            t = $i
            if (t == "Fl" || t == ".Fl") { infl = 1; continue }
            if (t ~ /^\.?[A-Z][a-z][a-z]?$/) { infl = 0; continue }
            if (infl && t ~ /^-[a-z][a-z0-9-]*[,;.:]?$/) {
                sub(/[,;.:]$/, "", t)
                print substr(t, 2)
            }
        }
    }
    {
        line = $0
        while (match(line, /(^|[^a-z0-9-])--[a-z][a-z0-9-]*/)) {
            m = substr(line, RSTART, RLENGTH)
            sub(/^[^-]*--/, "", m)
            print m
            line = substr(line, RSTART + RLENGTH)
        }
    }' | sort -u >"$TMP/man.opts"

if [ ! -s "$TMP/src.opts" ]; then
    fail "no long options found in $SRC/cli (has the table syntax changed?)"
fi
missing=$(comm -23 "$TMP/src.opts" "$TMP/man.opts")
if [ -n "$missing" ]; then
    fail "options in cli/ but not in the man page:" $missing
else
    ok "all $(wc -l <"$TMP/src.opts") long options of cli/ are in the man page"
fi

# Options the man page names that cli/ does not have.  While cli/cmd_replay.c
# is being written its options are expected, not yet present.
pending=
if [ ! -f "$SRC/cli/cmd_replay.c" ]; then
    pending='checkpoint digests keep-going out-dir reports-dir timeline'
    note "cli/cmd_replay.c not there yet: replay's options ($pending) are" \
         "documented ahead of the code"
fi
extra=
for o in $(comm -13 "$TMP/src.opts" "$TMP/man.opts"); do
    case " $pending " in
    *" $o "*) ;;
    *) extra="$extra $o" ;;
    esac
done
if [ -n "$extra" ]; then
    fail "options in the man page but not in cli/:$extra"
else
    ok "every long option the man page names exists in cli/"
fi

# --- (b) mandoc -Tlint ---------------------------------------------------

if command -v mandoc >/dev/null 2>&1; then
    # mandoc.db staleness is about this machine, not the page.
    mandoc -Tlint "$MAN" 2>&1 | grep -v 'mandoc\.db' >"$TMP/lint"
    if grep -qE ': (WARNING|ERROR|UNSUPP|BADARG):' "$TMP/lint"; then
        fail "mandoc -Tlint:"
        sed 's/^/  /' "$TMP/lint"
    else
        ok "mandoc -Tlint: no warnings or errors"
        if [ -s "$TMP/lint" ]; then
            # e.g. "referenced manual not found: Xr tor 1" where tor is not
            # installed: SEE ALSO names it on purpose.
            sed 's/^/  style note: /' "$TMP/lint"
        fi
    fi
else
    note "mandoc not installed; lint part skipped"
fi

# --- (c) examples --------------------------------------------------------

# The tests and the commands shown, as tab-separated pairs in page order.
awk '
    function flush() {
        if (cmd != "") {
            gsub(/\t/, " ", shown)
            printf "%s\t%s\n", cmd, shown
        }
        cmd = ""; shown = ""; inblock = 0; started = 0
    }
    /^\.\\" test: / {
        flush()
        cmd = substr($0, length(".\\\" test: ") + 1)
        next
    }
    cmd != "" && /^\.Bd -literal/ { inblock = 1; next }
    cmd != "" && inblock && /^\.Ed/ { flush(); next }
    cmd != "" && inblock {
        line = $0
        gsub(/\\e/, "\\", line)
        gsub(/\\&/, "", line)
        sub(/^\$ /, "", line)
        sub(/^[ \t]+/, "", line)
        if (started && shown ~ /\\$/) {
            sub(/[ ]*\\$/, "", shown)
            shown = shown " " line
        } else if (started) {
            shown = shown " ; " line
        } else {
            shown = line
        }
        started = 1
        next
    }
    END { flush() }' "$MAN" >"$TMP/examples"

n_ex=$(wc -l <"$TMP/examples")
if [ "$n_ex" -eq 0 ]; then
    fail "no '.\\\" test:' examples in the man page"
fi

# Does the shown command match the test command?
while IFS=$'\t' read -r cmd shown; do
    want=${cmd//\$EXITSTAGE/exitstage}
    want=${want//\$DATA\//}
    if [ "$want" != "$shown" ]; then
        fail "example shown differs from its test:"
        echo "  test:  $want"
        echo "  shown: $shown"
    fi
done <"$TMP/examples"
[ $fails -eq 0 ] && ok "$n_ex tested examples are shown as they are run"

if [ -z "$EXITSTAGE" ] || [ ! -x "$EXITSTAGE" ]; then
    note "EXITSTAGE not set or not executable ('$EXITSTAGE'): examples not run"
else
    DATA=$TMP/data
    WORK=$TMP/work
    mkdir -p "$DATA" "$WORK"
    live=$SHARED/live
    have_data=0
    if [ -f "$live/consensus-microdesc-2017-10-29-11-00-00.zst" ] &&
       [ -f "$live/consensus-microdesc-2017-10-29-12-00-00.zst" ]; then
        cp "$live/consensus-microdesc-2017-10-29-11-00-00.zst" "$DATA/start.zst"
        cp "$live/consensus-microdesc-2017-10-29-12-00-00.zst" "$DATA/c.zst"
        have_data=1
    fi
    if [ -n "$GEN" ] && [ -x "$GEN" ]; then
        "$GEN" --out-dir "$DATA/archive" --days 2 --relays 300 --seed 11 \
            >/dev/null 2>"$TMP/gen.err" || {
            cat "$TMP/gen.err"
            fail "exitstage-gen could not make the example archive"
        }
        if [ $have_data -eq 0 ] && command -v zstd >/dev/null 2>&1; then
            zstd -q "$DATA/archive/2026-01-01-00-00-00-consensus-microdesc" \
                -o "$DATA/start.zst" &&
            zstd -q "$DATA/archive/2026-01-01-01-00-00-consensus-microdesc" \
                -o "$DATA/c.zst" && have_data=1
        fi
    elif [ -d "$SHARED/series-2016-2017" ]; then
        mkdir -p "$DATA/archive"
        for f in $(ls "$SHARED/series-2016-2017" | head -6); do
            cp "$SHARED/series-2016-2017/$f" "$DATA/archive/"
        done
    fi
    if [ $have_data -eq 0 ]; then
        note "no test documents (neither $live nor exitstage-gen): examples" \
             "not run"
    else
        replay_built=1
        "$EXITSTAGE" replay --help >/dev/null 2>&1 || replay_built=0
        export EXITSTAGE DATA
        i=0
        while IFS=$'\t' read -r cmd shown; do
            i=$((i + 1))
            case " $cmd " in
            *" jq "*) command -v jq >/dev/null 2>&1 ||
                { note "example $i skipped (no jq): $cmd"; continue; } ;;
            esac
            case " $cmd " in
            *" zstd "*) command -v zstd >/dev/null 2>&1 ||
                { note "example $i skipped (no zstd): $cmd"; continue; } ;;
            esac
            case " $cmd " in
            *" replay "*)
                if [ $replay_built -eq 0 ]; then
                    note "example $i skipped (replay not built yet): $cmd"
                    continue
                fi
                [ -d "$DATA/archive" ] ||
                    { note "example $i skipped (no archive): $cmd"; continue; }
                ;;
            esac
            (cd "$WORK" && bash -o pipefail -c "$cmd") \
                >"$TMP/ex.out" 2>"$TMP/ex.err" </dev/null
            st=$?
            if [ $st -eq 0 ] && [ -s "$TMP/ex.out" ]; then
                ok "example $i: $shown"
            elif [ $st -eq 0 ]; then
                # Every example prints something; silence means a pipe
                # swallowed a failure.
                case $cmd in
                *" db init "*|*" db rollback "*|*"--summary lanes.json --html"*|*"--report report.json"*|*"--report stress.json"*)
                    ok "example $i: $shown" ;;
                *) fail "example $i printed nothing: $shown"
                   sed 's/^/  stderr: /' "$TMP/ex.err" ;;
                esac
            else
                fail "example $i exited $st: $shown"
                head -20 "$TMP/ex.err" | sed 's/^/  stderr: /'
            fi
        done <"$TMP/examples"
    fi
fi

finish
