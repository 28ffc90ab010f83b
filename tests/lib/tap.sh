# tests/lib/tap.sh - TAP output for shell tests (sourced)
#
#   plan N | ok COND-STATUS "description" | pass/fail "description"
#   check "description" command args...   (ok when the command succeeds)
#   done_testing                            (exit status: 0 only if all passed)
#   wait_until SECONDS command...           (bounded polling, from proc.sh)
# Automake's tap-driver reads the output; tools/check sums it up.

TAP_COUNT=0
TAP_FAILED=0

TAP_PLANNED=

plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}
pass() {
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "ok $TAP_COUNT - $1"
}
fail() {
	TAP_COUNT=$((TAP_COUNT + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_COUNT - $1"
	shift
	for line in "$@"; do echo "# $line"; done
}
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what" "command failed: $*"; fi
}
diag() { echo "# $*"; }
done_testing() {
	if [ -n "$TAP_PLANNED" ] && [ "$TAP_COUNT" -ne "$TAP_PLANNED" ]; then
		echo "# planned $TAP_PLANNED tests, ran $TAP_COUNT"
		return 1
	fi
	[ "$TAP_FAILED" -eq 0 ]
}
# Skip the whole file (e.g. not root): one plan line with a reason.
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
# need_tools TOOL...: skip the whole test unless every TOOL is installed
need_tools() {
	local tool
	for tool; do
		command -v "$tool" >/dev/null || skip_all "$tool not installed (run tools/deps)"
	done
}
# wait_until, pid_alive, now_us
# shellcheck source=proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"
