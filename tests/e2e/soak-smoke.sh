#!/bin/bash
# soak-smoke.sh - bench/soak.sh for 20 s, so that the soak script does not rot
#
# The long runs (10 minutes, and a shorter one under valgrind) are for the
# notes (bench/results/soak-*.md); this one runs the same script with the
# same invariants for 20 s of mixed load (plus its 10 s warm-up): messages
# in = out + refused + discarded, events in the spool = events expected,
# RSS flat, fds and threads idle before = idle after, a clean SIGTERM exit.
# soak.sh prints the TAP itself (--tap), one test per invariant.  About 60 s.
# Uses 127.0.53.92-95 (SOAK_ADDRS) for NSD and the SMTP clients.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
. "$top/tests/lib/tap.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (DNS on port 53, private Postfix)"
need_tools nsd postfix smtp-source smtp-sink
/usr/bin/python3 -c 'import dkim' 2>/dev/null || skip_all "python3-dkim missing (tools/deps)"
[ -x "$build/mailward" ] || skip_all "mailward not built"

work=$(mktemp -d /tmp/mw-soak-smoke.XXXXXX)
chmod 755 "$work" # Postfix (user postfix) must reach the work dir below
trap 'rm -rf "$work"' EXIT
rc=0
MAILWARD=$build/mailward "$top/bench/soak.sh" --duration 20 --tap --work "$work/run" \
	--report "$work/report.md" >"$work/tap" 2>"$work/err" || rc=$?
if grep -q '^1\.\.' "$work/tap"; then
	cat "$work/tap"
	[ "$rc" = 0 ] || sed 's/^/# /' "$work/report.md" 2>/dev/null
else
	echo "1..1"
	echo "not ok 1 - bench/soak.sh ran (status $rc)"
	tail -20 "$work/err" | sed 's/^/# /'
fi
