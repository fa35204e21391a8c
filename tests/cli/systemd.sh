#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# systemd.sh - contrib/systemd is a working unit pair (SPEC 10):
#
#  1. `systemd-analyze verify` accepts exitstage.service and exitstage.timer
#     without a word about them (warnings such as an unknown key or a bad
#     value are only printed, so any line naming a unit fails), run on
#     copies whose ExecStart names the built binary (verify checks that it
#     exists); Documentation=man:exitstage(1) resolves to man/exitstage.1
#     where man(1) is installed;
#  2. the service keeps its sandbox: the directives SPEC 10 names are set,
#     and `systemd-analyze security --offline` rates its exposure at most
#     0.5 (of 10; it is 0.2);
#  3. the timer fires at five past every hour and is persistent;
#  4. the service's command line works with the tool as built: with
#     /var/lib/exitstage moved to a scratch directory, the history is made
#     as the README says (db init --grandfather -, the cached consensus on
#     standard input), then ExecStart runs twice with the consensus on
#     standard input, as StandardInput= gives it: exit status 0 both
#     times, and the staged consensus, report, staged list and metrics are
#     written (the metrics with exit status 0);
#  5. as root: systemd-sysusers and systemd-tmpfiles, given the sysusers.d
#     and tmpfiles.d files with a scratch --root, create the exitstage user
#     and a /var/lib/exitstage that it owns.
#
# Environment (set by ctest): EXITSTAGE = the built tool, EXST_SRC = the
# source dir.  Skipped without systemd-analyze.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UNITS=$SRC/contrib/systemd
EXITSTAGE=${EXITSTAGE:-}
need_exe EXITSTAGE
need_cmd systemd-analyze
make_tmp systemd

DOC=$SRC/testdata/consensus/valid/minimal-ns
SERVICE=$UNITS/exitstage.service
TIMER=$UNITS/exitstage.timer

# 1. verify, on copies that run the built binary
mkdir -p "$TMP/units"
grep -q '^ExecStart=/usr/bin/exitstage ' "$SERVICE" ||
    fail "exitstage.service: ExecStart does not run /usr/bin/exitstage"
sed "s|/usr/bin/exitstage|$EXITSTAGE|" "$SERVICE" >"$TMP/units/exitstage.service"
cp "$TIMER" "$TMP/units/exitstage.timer"
man=(--man=no)
if command -v man >/dev/null 2>&1; then
    mkdir -p "$TMP/man/man1"
    cp "$SRC/man/exitstage.1" "$TMP/man/man1/"
    man=(--man=yes)
    export MANPATH=$TMP/man
fi
(cd "$TMP/units" && systemd-analyze verify "${man[@]}" \
    ./exitstage.service ./exitstage.timer) >"$TMP/verify" 2>&1
rc=$?
unset MANPATH
if [ $rc -ne 0 ] || grep -q 'exitstage' "$TMP/verify"; then
    fail "systemd-analyze verify (status $rc):"
    cat "$TMP/verify"
else
    ok "systemd-analyze verify ${man[*]}: both units clean"
    [ -s "$TMP/verify" ] && sed 's/^/note: (not about our units) /' "$TMP/verify"
fi

# 2. the sandbox
for d in User=exitstage ProtectSystem=strict StateDirectory=exitstage \
    NoNewPrivileges=yes PrivateTmp=yes ProtectHome=yes PrivateNetwork=yes \
    CapabilityBoundingSet= ; do
    grep -qx -- "$d" "$SERVICE" || fail "exitstage.service lacks $d"
done
if systemd-analyze security --offline=yes --threshold=5 \
        "$TMP/units/exitstage.service" >"$TMP/security" 2>&1; then
    ok "$(grep -o 'Overall exposure level.*' "$TMP/security" | sed 's/ [^ ]*$//')"
else
    fail "systemd-analyze security: exposure above 0.5, or it failed:"
    grep -E '^✗|Overall|rror' "$TMP/security"
fi

# 3. the timer
cal=$(sed -n 's/^OnCalendar=//p' "$TIMER")
norm=$(systemd-analyze calendar "$cal" 2>/dev/null |
    sed -n 's/^ *Normalized form: //p')
[ "$norm" = '*-*-* *:05:00' ] ||
    fail "exitstage.timer: OnCalendar '$cal' is '$norm', want '*-*-* *:05:00'"
grep -qx 'Persistent=true' "$TIMER" || fail "exitstage.timer is not Persistent"
grep -qx 'WantedBy=timers.target' "$TIMER" ||
    fail "exitstage.timer is not WantedBy=timers.target"

# 4. the command line, with /var/lib/exitstage in a scratch directory
cmd=$(awk '/^ExecStart=/ { on = 1; sub(/^ExecStart=/, "") }
           on { line = $0; cont = sub(/\\$/, "", line); printf "%s ", line
                if (!cont) exit }' "$SERVICE")
case $cmd in
*\"* | *\'* | *%* | *\$*)
    fail "ExecStart uses quotes or specifiers this test does not expand: $cmd"
    ;;
esac
stdin=$(sed -n 's/^StandardInput=file://p' "$SERVICE")
[ "$stdin" = /var/lib/tor/cached-consensus ] ||
    fail "StandardInput= is '$stdin', want file:/var/lib/tor/cached-consensus"
state=$TMP/state
mkdir -p "$state"
read -ra argv <<<"${cmd//\/var\/lib\/exitstage/$state}"
argv[0]=$EXITSTAGE
if ! "$EXITSTAGE" db init --db "$state/history.db" --grandfather - \
        <"$DOC" >"$TMP/init.out" 2>&1; then
    fail "db init --grandfather - failed: $(cat "$TMP/init.out")"
fi
for run in 1 2; do
    if "${argv[@]}" <"$DOC" >"$TMP/run.out" 2>&1; then
        ok "ExecStart, run $run: status 0"
    else
        fail "ExecStart, run $run: status $?: $(cat "$TMP/run.out")"
    fi
done
for f in staged-consensus report.json history.db exitstage.prom; do
    [ -s "$state/$f" ] || fail "ExecStart wrote no $f"
done
# Empty here: every relay of a history's first consensus is grandfathered.
[ -f "$state/staged-list" ] || fail "ExecStart wrote no staged-list"
grep -qx 'exitstage_exit_status 0' "$state/exitstage.prom" ||
    fail "exitstage.prom does not record exit status 0"
grep -q '"valid_after": "2024-01-01T12:00:00Z"' "$state/report.json" ||
    fail "report.json does not describe the document given on stdin"
cmp -s <(grep -v '^exitstage' "$state/staged-consensus" | head -3) \
    <(head -3 "$DOC") || fail "staged-consensus does not begin as the input"

# 5. the user and the state directory, in a scratch root
if [ "$(id -u)" -ne 0 ]; then
    echo "note: not root; sysusers.d and tmpfiles.d not applied"
elif ! command -v systemd-sysusers >/dev/null 2>&1 ||
    ! command -v systemd-tmpfiles >/dev/null 2>&1; then
    echo "note: systemd-sysusers or systemd-tmpfiles missing; not applied"
else
    root=$TMP/root
    mkdir -p "$root/etc"
    if systemd-sysusers --root="$root" "$UNITS/exitstage.sysusers" \
            >"$TMP/sysusers" 2>&1 &&
        systemd-tmpfiles --root="$root" --create "$UNITS/exitstage.tmpfiles" \
            >>"$TMP/sysusers" 2>&1; then
        uid=$(awk -F: '$1 == "exitstage" { print $3 }' "$root/etc/passwd")
        home=$(awk -F: '$1 == "exitstage" { print $6 }' "$root/etc/passwd")
        own=$(stat -c '%u %a' "$root/var/lib/exitstage" 2>/dev/null)
        if [ -n "$uid" ] && [ "$home" = /var/lib/exitstage ] &&
            [ "$own" = "$uid 755" ]; then
            ok "sysusers.d + tmpfiles.d: user exitstage ($uid), /var/lib/exitstage 0755 its own"
        else
            fail "sysusers.d + tmpfiles.d: uid '$uid' home '$home', directory '$own'"
        fi
    else
        fail "systemd-sysusers / systemd-tmpfiles --root: $(cat "$TMP/sysusers")"
    fi
fi
finish
