#!/bin/bash
# demo.sh - the README's first command starts a working milter
#
# Runs tools/demo (without its install and build steps, which the suite
# has just done) in a scratch directory on a free port, and checks that it
# prints the Postfix lines and the DNS record, writes a policy that
# passes -n, and leaves a milter listening.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/lib/tap.sh"
. "$top/tests/e2e/postfix-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (the demo runs as the mailward user)"
work=$(mktemp -d /tmp/mw-demo.XXXXXX)
chmod 755 "$work"
demo_pid=
cleanup() {
	[ -n "$demo_pid" ] && { kill -9 "$demo_pid" && wait "$demo_pid"; } 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
plan 6

port=$(pf_free_ports 1)
DEMO_NO_BUILD=1 DEMO_DIR=$work/demo DEMO_PORT=$port MAILWARD=${MAILWARD:-$top/mailward} \
	"$top/tools/demo" >"$work/out" 2>&1 &
demo_pid=$!
check "the demo's milter listens on 127.0.0.1:$port" \
	wait_until 20 bash -c "ss -ltn | grep -q '127.0.0.1:$port '"
check "it prints what to paste into main.cf" grep -q "smtpd_milters = inet:127.0.0.1:$port" "$work/out"
check "it prints the DKIM record to publish" grep -q 'mw1._domainkey.example.com. IN TXT ( "v=DKIM1; k=rsa; p=' "$work/out"
check "its policy passes mailward -n" bash -c "'${MAILWARD:-$top/mailward}' -n -c '$work/demo/mailward.conf' >/dev/null"
check "its key is private (mode 600)" test "$(stat -c %a "$work/demo/keys/example.com.mw1.pem")" = 600
check "it logs that it serves" wait_until 10 grep -q "mailward 0.1.0 serving on inet:$port@127.0.0.1" "$work/out"
done_testing
