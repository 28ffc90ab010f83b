#!/bin/bash
# webhook-outage.sh - bench/webhook-outage.sh --quick: the webhook
# receiver crashes in the middle of a request (it logged the notification
# but did not answer: the event must come again, under the same
# MessageId) and stays down for 20 s while one message every half second
# goes through the milter, then comes back; every event arrives, none
# under two MessageIds, no dead letter, every signature verified.  Retry
# delays are scaled down (0.5 s to 2 s) so the run takes about 35 s; the
# bench's full run (600 s, mailward's default retry_min_ms) is quoted in
# bench/README.
# Needs python3-cryptography and openssl (tools/deps); no root.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/lib/tap.sh"

/usr/bin/python3 -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography not installed (tools/deps)"
command -v openssl >/dev/null || skip_all "openssl not installed"

work=$(mktemp -d /tmp/mw-webhook-outage-t.XXXXXX)
trap 'rm -rf "$work"' EXIT
plan 9

"$top/bench/webhook-outage.sh" --quick \
	--report "$work/report.md" >"$work/out" 2>"$work/err"
status=$?
sed 's/^/# /' "$work/out"
[ "$status" = 0 ] || sed 's/^/# /' "$work/err"
figure() { sed -n "s/^| $1 | \(.*\) |\$/\1/p" "$work/report.md"; }

check "the run passes (exit 0)" test "$status" = 0
check "the report says PASS" grep -q '^# Webhook receiver outage: PASS' "$work/report.md"
check "events were produced during the outage (a backlog of 20 or more)" \
	test "$(figure 'backlog when the receiver came back')" -ge 20
check "the dispatcher failed while the receiver was down" \
	test "$(figure 'failed attempts logged by the dispatcher')" -gt 0
check "events received = events produced" \
	test "$(figure 'events received (distinct MessageIds)')" = "$(figure 'events produced (files that reached the spool)')"
check "no event missing, no dead letter" \
	eval 'test "$(figure "events missing")" = 0 -a "$(figure "dead letters")" = 0'
check "no message under two MessageIds, every duplicate byte-identical" \
	eval 'test "$(figure "messages received under more than one MessageId")" = 0 && figure "duplicates (same MessageId more than once)" | grep -q "(0 with a different body)"'
check "the receiver's crash mid-request made a duplicate" \
	eval 'figure "duplicates (same MessageId more than once)" | grep -Eq "^[1-9][0-9]* \(0 with"'
check "every signature verified" \
	eval 'figure "signatures verified by the receiver" | grep -Eq "^([0-9]+) of \1\$"'
done_testing
