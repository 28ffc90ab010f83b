#!/bin/bash
# style.sh - every C file is formatted as .clang-format says
#
# One TAP line per file; fix a failure with "make format".
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top/tests/lib/tap.sh"
cd "$top" || exit 1
command -v clang-format >/dev/null || skip_all "clang-format not installed (run tools/deps)"

mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find common policy milter tests -name '*.[ch]')
[ "${#files[@]}" -gt 0 ] || mapfile -t files < <(find common policy milter tests -name '*.[ch]' | sort)
plan "${#files[@]}"
for f in "${files[@]}"; do
	if out=$(clang-format --dry-run -Werror "$f" 2>&1); then
		pass "$f is formatted"
	else
		fail "$f is formatted" "$(echo "$out" | head -5)"
	fi
done
done_testing
