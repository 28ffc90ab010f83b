#!/bin/bash
# feedback.sh - a bounce comes back to its VERP address and becomes an event
#
# A private Postfix relays to a sink; mailward rewrites MAIL FROM to
# b-TOKEN@bounce.example.com (feedback.bounce_domains).  A message to a
# recipient whose server refuses it (an smtp-sink that answers every RCPT
# with 550) makes Postfix write its own DSN to that address.  The DSN reaches
# mailward (through non_smtpd_milters when Postfix hands its bounces to the
# milter, or sent back over SMTP as a remote MTA would): exactly one Bounce
# event appears, with the recipient, Permanent, the original message's
# mail.messageId (from the token) and correlation "verp"; the address goes
# on the suppression list (refused at RCPT next time); the DSN is discarded.
# A DSN whose token is forged is delivered, not correlated.  About 15 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/e2e/postfix-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (private Postfix)"
for tool in postfix swaks sqlite3; do
	command -v "$tool" >/dev/null || skip_all "$tool not installed (run tools/deps)"
done

work=$(mktemp -d /tmp/mw-feedback.XXXXXX)
chmod 755 "$work"
mw_pid=
refuser_pid=
cleanup() {
	[ -n "$mw_pid" ] && { kill -9 "$mw_pid" && wait "$mw_pid"; } 2>/dev/null
	[ -n "$refuser_pid" ] && { kill "$refuser_pid" && wait "$refuser_pid"; } 2>/dev/null
	pf_cleanup
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

plan 11

pf_setup "$work/pf" >/dev/null || {
	echo "Bail out! pf_setup failed"
	exit 1
}
mw_port=$(pf_free_ports 1)
state=$work/mailward
mkdir -p "$state"
head -c 32 /dev/urandom >"$state/verp.key"
chmod 600 "$state/verp.key"
chown -R mailward:mailward "$state"
cat >"$state/mailward.conf" <<CONF
daemon = { socket = "inet:$mw_port@127.0.0.1"; user = "mailward"; };
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "127.0.0.1/32" ];
inbound = { mode = "off"; };
mail_from = ( { domain = "example.com"; bounce_domain = "bounce.example.com"; } );
feedback = {
  bounce_domains = [ "bounce.example.com" ];
  verp_keys = ( { id = 1; file = "$state/verp.key"; } );
};
events = { spool_dir = "$state/spool"; checkpoint_seconds = 1; };
store = { path = "$state/mailward.db"; };
CONF
"$mw" -f -c "$state/mailward.conf" 2>"$state/log" &
mw_pid=$!
wait_until 10 bash -c "ss -ltn | grep -q '127.0.0.1:$mw_port '" || {
	echo "Bail out! mailward did not start"
	exit 1
}
# rcpt.invalid goes to a server that refuses every recipient (550): Postfix
# has accepted the message by then, so it bounces it with a DSN of its own.
refuser_port=$(pf_free_ports 1)
smtp-sink -u postfix -f rcpt "127.0.0.1:$refuser_port" 10 >/dev/null 2>&1 &
refuser_pid=$!
pf_conf "smtpd_milters = inet:127.0.0.1:$mw_port" "non_smtpd_milters = inet:127.0.0.1:$mw_port" \
	"milter_default_action = tempfail" \
	"transport_maps = inline:{ rcpt.invalid=smtp:[127.0.0.1]:$refuser_port }"
pf_start && sink_start || {
	echo "Bail out! Postfix or the sink did not start"
	exit 1
}

events_of() { grep -l "\"$1\"" "$state"/spool/new/*.json 2>/dev/null; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$3"; }

SEND_SUBJECT="to nobody"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com nobody@rcpt.invalid >/dev/null
check "the message leaves with a VERP MAIL FROM (Send event written)" \
	wait_until 10 bash -c "grep -q 'outbound .*mail_from=b-' '$state/log'"
send_event=$(events_of Send | head -1)
mail_id=$(json x "d['mail']['messageId']" "$send_event")

# Postfix bounces it to b-TOKEN@bounce.example.com.  If the DSN went through
# non_smtpd_milters, mailward has it already; otherwise it was relayed to
# the sink: send it back over SMTP, as the bounce domain's MX would get it.
if ! wait_until 15 bash -c "grep -q 'feedback kind=' '$state/log'"; then
	wait_until 15 bash -c "ls '$PF_WORK'/sink/* >/dev/null 2>&1 && grep -l 'Delivery Status' \$(find '$PF_WORK' -path '*sink*' -type f) >/dev/null 2>&1"
	dsn=$(grep -l 'Undelivered Mail Returned to Sender' $(sink_message_files) 2>/dev/null | head -1)
	verp=$(grep -o 'b-[a-z0-9]*@bounce.example.com' "$state/log" | head -1)
	[ -n "$verp" ] && [ -n "$dsn" ] && sink_message "$dsn" | sed 's/$/\r/' >"$work/dsn.eml" &&
	timeout 30 swaks --server 127.0.0.1 --port "$PF_PORT" --local-interface 127.0.0.7 --from '<>' \
		--to "$verp" --data "@$work/dsn.eml" >"$work/dsn.send" 2>&1
fi
check "the DSN is read as a bounce, correlated by its token" \
	wait_until 15 bash -c "grep -q 'feedback kind=bounce .*correlation=verp mail_id=$mail_id' '$state/log'"
bounces=$(events_of Bounce)
check "exactly one Bounce event" test "$(grep -c . <<<"$bounces")" = 1
b=$(head -1 <<<"$bounces")
check "... naming the recipient, Permanent" \
	test "$(json x "[d['bounce']['bouncedRecipients'][0]['emailAddress'], d['bounce']['bounceType']]" "$b")" = "['nobody@rcpt.invalid', 'Permanent']"
check "... with the original message's mail.messageId ($mail_id) and correlation verp" \
	test "$(json x "[d['mail']['messageId'], d['mail']['tags'].get('mailward:correlation')]" "$b")" = "['$mail_id', ['verp']]"
check "the address is on the suppression list (BOUNCE)" \
	test "$(sqlite3 "$state/mailward.db" "SELECT reason FROM suppression WHERE address = 'nobody@rcpt.invalid'")" = BOUNCE
check "the DSN was discarded, not delivered" grep -q 'feedback kind=bounce .*action=discard' "$state/log"
SEND_SUBJECT="to nobody again"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com nobody@rcpt.invalid >/dev/null
check "the next message to it is refused at RCPT as suppressed" \
	wait_until 10 grep -q 'suppressed rcpt=<nobody@rcpt.invalid> reason=BOUNCE' "$state/log"

# A forged token: read, not correlated, and (bounce_action discard) dropped.
sed 's/b-[a-z0-9]*@bounce/b-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@bounce/g' \
	"$top/tests/data/feedback/postfix-user-unknown.eml" >"$work/forged.eml" 2>/dev/null ||
	cp "$top/tests/data/feedback/postfix-user-unknown.eml" "$work/forged.eml"
timeout 30 swaks --server 127.0.0.1 --port "$PF_PORT" --local-interface 127.0.0.7 --from '<>' \
	--to b-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@bounce.example.com \
	--data "@$work/forged.eml" >"$work/forged.send" 2>&1
check "a DSN to a forged token is read but not correlated" \
	wait_until 10 bash -c "grep -q 'feedback kind=bounce .*correlation=none' '$state/log'"
check "... and suppresses nobody (anyone can send a DSN to a bounce domain)" \
	grep -q 'feedback kind=bounce .*correlation=none .*suppressed=0' "$state/log"
check "mailward is still running" kill -0 "$mw_pid"

if ! done_testing; then
	sed 's/^/# /' "$state/log" | tail -30
	exit 1
fi
