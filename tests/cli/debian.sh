#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# debian.sh - debian/ stays in step with the build (the packages
# themselves are built and linted by contrib/debian/build.sh, which takes
# a minute or more, so it is not a ctest):
#
#  1. debian/changelog's newest version is CMakeLists.txt's project
#     version (a native package: no Debian revision);
#  2. debian/exitstage.{service,timer,sysusers,tmpfiles} are links to
#     contrib/systemd's files, so the package ships what systemd.sh tests;
#  3. every pkg-config module in CMakeLists.txt's EXST_DEPS comes from a
#     Debian package that debian/control lists in Build-Depends and in
#     libexitstage-dev's Depends (exitstage.pc's Requires.private needs
#     their .pc files): adding a dependency to the build without adding it
#     here fails.
#
# Environment (set by ctest): EXST_SRC = the source dir.  Skipped without
# dpkg-parsechangelog (dpkg-dev); part 3 is skipped for a module whose .pc
# file no Debian package owns (a library built from source).
# Exit status: 0 pass, 1 fail, 77 skip.

set -u
. "$(dirname "$0")/common.bash"

SRC=${EXST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
need_cmd dpkg-parsechangelog dpkg-query pkg-config
D=$SRC/debian

# 1. versions
project=$(sed -n 's/^project(exitstage VERSION \([0-9.]*\).*/\1/p' \
    "$SRC/CMakeLists.txt")
deb=$(dpkg-parsechangelog -l "$D/changelog" -S Version)
if [ "$deb" = "$project" ]; then
    ok "debian/changelog is at the project version $project"
else
    fail "debian/changelog is at '$deb', CMakeLists.txt at '$project':" \
        "add a changelog entry (dch -v $project)"
fi
[ "$(cat "$D/source/format")" = "3.0 (native)" ] ||
    fail "debian/source/format is not 3.0 (native)"

# 2. the units are contrib/systemd's
for f in service timer sysusers tmpfiles; do
    link=$D/exitstage.$f
    if [ -L "$link" ] &&
        [ "$(readlink -f "$link")" = "$(readlink -f "$SRC/contrib/systemd/exitstage.$f")" ]; then
        :
    else
        fail "debian/exitstage.$f is not a link to contrib/systemd/exitstage.$f"
    fi
done
ok "debian/exitstage.{service,timer,sysusers,tmpfiles} link to contrib/systemd"

# 3. the library's dependencies are the packages' dependencies
# field PACKAGE|source FIELD: the field's package names, one a line.
field() {
    awk -v pkg="$1" -v fld="$2" '
        /^Source:/ { cur = "source" }
        /^Package:/ { cur = $2 }
        cur == pkg && $0 ~ "^" fld ":" { on = 1; sub("^" fld ":", ""); print; next }
        on && /^[ \t]/ { print; next }
        { on = 0 }' "$D/control" |
        tr ',|' '\n\n' | sed 's/[[(<].*//; s/^[ \t]*//; s/[ \t]*$//' | grep -v '^$'
}
build_deps=$(field source Build-Depends)
dev_deps=$(field libexitstage-dev Depends)
mods=$(awk '/^set\(EXST_DEPS$/ { on = 1; next }
            on && /^\)/ { exit }
            on { print $1 }' "$SRC/CMakeLists.txt")
[ -n "$mods" ] || fail "no EXST_DEPS list in CMakeLists.txt"
for mod in $mods; do
    pc=$(pkg-config --variable=pcfiledir "$mod" 2>/dev/null)/$mod.pc
    owner=$(dpkg-query -S "$pc" 2>/dev/null | head -1 | cut -d: -f1)
    if [ -z "$owner" ]; then
        echo "note: $mod: no Debian package owns '$pc'; not checked"
        continue
    fi
    grep -qx "$owner" <<<"$build_deps" ||
        fail "$mod: $owner is not in debian/control's Build-Depends"
    grep -qx "$owner" <<<"$dev_deps" ||
        fail "$mod: $owner is not in libexitstage-dev's Depends"
    ok "$mod ($owner): in Build-Depends and libexitstage-dev's Depends"
done
finish
