#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# staged_list.sh - `apply --staged-list FILE` (SPEC 4.4, 10) read the way
# a directory authority reads its approved-routers file.
#
# The reader below follows tor (src/feature/dirauth/process_descs.c,
# dirserv_load_fingerprint_file, over config_get_lines): blank lines and
# "#" comments (whole lines, or the rest of a line) are skipped; a line is
# a keyword, spaces or tabs, and a value that ends at the newline or at a
# "#"; a backslash before the newline continues the value; the value's
# spaces are removed and 40 hex digits (either case) make an RSA
# fingerprint, anything else is skipped with a warning; the keyword
# "!badexit" (any case) marks BadExit, "!reject", "!invalid" and
# "!middleonly" their own statuses, any other keyword (a nickname) only
# lists the relay.
#
#  1. the list starts with one "#" line naming the tool and the
#     valid-after, then one "!badexit FINGERPRINT" line per stripped relay
#     (the report's stripped list, in its order); tor reads exactly those
#     as BadExit and warns about nothing;
#  2. appended to an operator's own file that lacks a final newline, the
#     "#" line keeps the two from gluing: tor reads the operator's entries
#     and the staged ones, all of them; without that line the last own
#     entry and the first staged one would run together into one invalid
#     value and both be lost (shown with the first line cut off);
#  3. with the capacity guard tripped, the list is the "#" line alone and
#     tor reads no entry from it;
#  4. the man page's recipe regenerates the file as documented: own
#     entries, then the staged list, renamed into place.
#
# Environment (set by ctest): EXITSTAGE, EXST_GEN, EXST_SRC.
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
EXITSTAGE=${EXITSTAGE:-}
EXST_GEN=${EXST_GEN:-}
need_exe EXITSTAGE EXST_GEN
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
need_cmd "$PY" jq
make_tmp stagedlist
cd "$TMP" || exit 1
E=$EXITSTAGE

cat >torread.py <<'EOF'
import json, string, sys

def config_lines(text):
    """(key, value) pairs as tor's parse_config_line_from_str_verbose
    gives them."""
    out, i, n = [], 0, len(text)
    while True:
        while True:
            while i < n and text[i] in ' \t\n\r\f\v':
                i += 1
            if i < n and text[i] == '#':
                while i < n and text[i] != '\n':
                    i += 1
            else:
                break
        if i >= n:
            return out
        k = i
        while i < n and text[i] not in ' \t\n\r\f\v#' and \
                not (text[i] == '\\' and text[i + 1:i + 2] == '\n'):
            i += 1
        key = text[k:i]
        while i < n and text[i] in ' \t':
            i += 1
        if i < n and text[i] == '"':
            raise SystemExit('quoted values are not used here')
        v, cont = i, False
        while i < n and text[i] != '\n' and (text[i] != '#' or cont):
            if text[i] == '\\' and text[i + 1:i + 2] == '\n':
                cont = True
                i += 2
            elif text[i] == '#':
                while i < n and text[i] != '\n':
                    i += 1
                if i < n:
                    i += 1
            else:
                i += 1
        end = i
        if i < n and text[i] == '\n':
            i += 1
        while end > v and text[end - 1] in ' \t\n\r\f\v':
            end -= 1
        value = text[v:end]
        if cont:
            res, j = [], 0
            while j < len(value):
                if value[j] == '#':
                    while j < len(value) and value[j] != '\n':
                        j += 1
                    if j < len(value):
                        j += 1
                elif value[j] == '\\' and value[j + 1:j + 2] == '\n':
                    j += 2
                else:
                    res.append(value[j])
                    j += 1
            value = ''.join(res)
        if i < n and text[i] == '#':
            while i < n and text[i] != '\n':
                i += 1
        while i < n and text[i] in ' \t\n\r\f\v':
            i += 1
        out.append((key, value))

def load(text):
    """What dirserv_load_fingerprint_file keeps: fingerprint -> statuses,
    and the warnings it logs."""
    status, warnings = {}, []
    for key, value in config_lines(text):
        fp = value.replace(' ', '')
        kw = key.lower()
        s = {'!badexit': 'badexit', '!reject': 'reject',
             '!invalid': 'invalid', '!middleonly': 'middleonly'}.get(kw)
        if len(fp) == 40 and all(c in string.hexdigits for c in fp):
            st = status.setdefault(fp.upper(), set())
            if s:
                st.add(s)
        else:
            warnings.append('invalid fingerprint (nickname %r, fingerprint '
                            '%r); skipped' % (key, fp))
    return status, warnings

text = open(sys.argv[1], encoding='utf-8').read()
status, warnings = load(text)
json.dump({'badexit': sorted(f for f, s in status.items() if 'badexit' in s),
           'reject': sorted(f for f, s in status.items() if 'reject' in s),
           'listed': sorted(status), 'warnings': warnings},
          sys.stdout, sort_keys=True)
EOF

"$EXST_GEN" --out-dir gen --days 1 --relays 120 --seed 7 --flavor ns \
    --missing-hours 0 >/dev/null 2>&1 || { fail "exitstage-gen failed"; finish; }
C0=gen/2026-01-01-00-00-00-consensus
"$E" db init --db h.db --bootstrap none || fail "db init"
"$E" apply --db h.db --now 2026-01-01T00:10:00Z -o out --report rep.json \
    --staged-list staged "$C0" 2>err || { fail "apply: $(cat err)"; finish; }

# --- 1. the list ------------------------------------------------------------
n=$(jq '.counts.stripped' rep.json)
[ "$n" -gt 1 ] || fail "only $n relays stripped: the data do not test much"
want_head="# exitstage $("$E" --version | head -1 | awk '{print $2}'): relays in exit staging at valid-after $(jq -r .consensus.valid_after rep.json) ($n)"
[ "$(head -1 staged)" = "$want_head" ] ||
    fail "first line: '$(head -1 staged)', want '$want_head'"
jq -r '.stripped[] | "!badexit " + .fingerprint' rep.json >want.body
tail -n +2 staged | cmp -s - want.body || fail "entries differ from the report's stripped list"
[ "$(tail -c 1 staged | od -An -c | tr -d ' ')" = '\n' ] || fail "no final newline"
"$PY" torread.py staged >read.json
jq -r '.stripped[].fingerprint' rep.json | sort >want.fps
jq -r '.badexit[]' read.json >got.fps
cmp -s want.fps got.fps || fail "tor reads other BadExit relays than the report's"
[ "$(jq '.warnings | length' read.json)" = 0 ] || fail "tor warns: $(jq -c .warnings read.json)"
[ "$(jq '.listed | length' read.json)" = "$n" ] || fail "tor lists other relays"
[ $fails -eq 0 ] && ok "the list: a '#' line, then $n '!badexit' lines that tor reads as the report's stripped relays"

# --- 2. appended after an own file without a final newline ------------------
A=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
C='CCCC CCCC CCCC CCCC CCCC CCCC CCCC CCCC CCCC CCCC'
printf '# own entries\n!reject %s\nmynode %s  # ours\n!BadExit %s' "$A" "$B" "$C" >own
[ "$(tail -c 1 own)" != "" ] || fail "own file ends with a newline (test setup)"
cat own staged >merged
"$PY" torread.py merged >merged.json
{ echo "$C" | tr -d ' '; cat want.fps; } | sort >want.merged
jq -r '.badexit[]' merged.json | cmp -s - want.merged ||
    fail "merged: tor does not read the own !badexit entry and every staged one"
[ "$(jq -r '.reject | join(",")' merged.json)" = "$A" ] || fail "merged: !reject lost"
jq -e --arg b "${B^^}" '.listed | index($b)' merged.json >/dev/null ||
    fail "merged: the nickname entry lost"
[ "$(jq '.warnings | length' merged.json)" = 0 ] ||
    fail "merged: tor warns: $(jq -c .warnings merged.json)"
# Without the "#" line the two would glue.
{ cat own; tail -n +2 staged; } >glued
"$PY" torread.py glued >glued.json
first=$(tail -n +2 staged | head -1 | cut -d' ' -f2)
if jq -e --arg c "$(echo "$C" | tr -d ' ')" '.badexit | index($c)' glued.json >/dev/null ||
   jq -e --arg f "$first" '.badexit | index($f)' glued.json >/dev/null ||
   [ "$(jq '.warnings | length' glued.json)" = 0 ]; then
    fail "the glued control case did not lose its entries (the reader is too lax)"
fi
[ $fails -eq 0 ] && ok "after an own file without a final newline: every entry read; without the '#' line two would be lost"

# --- 3. guard tripped: no entries ---------------------------------------------
"$E" apply --db h.db --dry-run --now 2026-01-01T00:10:00Z -o /dev/null \
    --max-strip-fraction 0 --staged-list empty "$C0" 2>/dev/null ||
    fail "guard run failed"
[ "$(wc -l <empty)" = 1 ] && head -1 empty | grep -q '^# exitstage .* (0)$' ||
    fail "guard tripped: list is not the '#' line alone: $(cat empty)"
"$PY" torread.py empty >empty.json
[ "$(jq '.listed | length' empty.json)" = 0 ] || fail "guard tripped: tor reads entries"
[ $fails -eq 0 ] && ok "guard tripped: the '#' line alone"

# --- 4. the man page's recipe -------------------------------------------------
MAN=$SRC/man/exitstage.1
script=$(awk '/^\.\\" recipe: approved-routers$/ { on = 1; next }
              on && /^\.Bd -literal/ { inb = 1; next }
              inb && /^\.Ed/ { exit }
              inb { gsub(/\\e/, "\\"); gsub(/\\&/, ""); print }' "$MAN")
if [ -z "$script" ]; then
    fail "man page: no '.\\\" recipe: approved-routers' block"
else
    mkdir -p root/etc/tor root/var/lib/tor root/var/lib/exitstage
    cp own root/etc/tor/approved-routers.local
    cp staged root/var/lib/exitstage/staged-list
    echo old >root/var/lib/tor/approved-routers
    # Run it inside the scratch root, without the chown and the reload.
    printf '%s\n' "$script" |
        sed -e "s|/etc/tor|$TMP/root/etc/tor|g" \
            -e "s|/var/lib/tor|$TMP/root/var/lib/tor|g" \
            -e "s|/var/lib/exitstage|$TMP/root/var/lib/exitstage|g" \
            -e 's|^chown |: chown |' -e 's|^systemctl reload|: systemctl reload|' \
            -e 's|^kill |: kill |' >recipe.sh
    if sh -e recipe.sh 2>recipe.err; then
        cmp -s merged root/var/lib/tor/approved-routers ||
            fail "the recipe's approved-routers differs from own + staged list"
        ls root/var/lib/tor | grep -v '^approved-routers$' | grep -q . &&
            fail "the recipe left files behind: $(ls root/var/lib/tor)"
    else
        fail "the recipe failed: $(cat recipe.err)"
    fi
fi
[ $fails -eq 0 ] && ok "the man page's recipe writes own entries + staged list into place"

finish
