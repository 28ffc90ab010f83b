#!/bin/bash
# man.sh - the manual pages: clean roff, every setting, option and tool
#
# The pages the build made (TOP_BUILDDIR/man) format without a warning
# (groff -ww, and mandoc -Tlint when installed); mailward.conf(5) names
# every setting of --dump-defaults; mailward(8) names every long option of
# --help; every subcommand of --help has its page, so a new tool fails here
# until man/mailward-NAME.8.in exists (and is listed in Makefile.am).
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$builddir/mailward}
. "$top/tests/lib/tap.sh"

command -v groff >/dev/null || skip_all "groff not installed"
mapfile -t pages < <(ls "$builddir"/man/*.[58] 2>/dev/null)
[ "${#pages[@]}" -gt 0 ] || skip_all "no pages built in $builddir/man (make all)"
mapfile -t tools < <("$mw" --help | sed -n 's/^  mailward \([a-z-]*\) .*/\1/p')

plan $((${#pages[@]} + 3 + ${#tools[@]}))

for page in "${pages[@]}"; do
	out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	if command -v mandoc >/dev/null; then
		out+=$(mandoc -Tlint -W warning "$page" 2>&1)
	fi
	check "${page##*/} formats without warnings" test -z "$out"
	[ -z "$out" ] || printf '%s\n' "$out" | head -5 | sed 's/^/# /'
done

# Every "name =" of the sample (commented examples of list elements too).
missing=
while read -r name; do
	grep -qE "^(\\\\fB([a-z_]+\\.)?$name\\\\fR|\\.SS $name\$)" "$builddir/man/mailward.conf.5" ||
		missing+=" $name"
done < <("$mw" --dump-defaults | sed -n 's/^[# ]*\([a-z_][a-z_0-9]*\) = .*/\1/p' | sort -u)
check "mailward.conf(5) documents every setting of --dump-defaults" test -z "$missing"
[ -z "$missing" ] || diag "missing:$missing"

missing=
for opt in $("$mw" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -qF -- "$(printf '%s' "$opt" | sed 's/-/\\-/g')" "$builddir/man/mailward.8" ||
		missing+=" $opt"
done
check "mailward(8) documents every option of --help" test -z "$missing"
[ -z "$missing" ] || diag "missing:$missing"

check "--help lists the subcommands" test "${#tools[@]}" -gt 0
for tool in "${tools[@]}"; do
	check "mailward $tool has its page mailward-$tool(8)" test -f "$builddir/man/mailward-$tool.8"
done
done_testing
