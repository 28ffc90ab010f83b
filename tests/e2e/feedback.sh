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
# A DSN whose token is forged is delivered, not correlated.
#
# Then the rest of the loop: an ARF complaint without any token (sent to
# the complaint address) finds the message by its Message-ID (the index of
# recent Send events, correlation "message-id"); a message of a stream with
# delivery_notifications goes out with NOTIFY=SUCCESS, Postfix reports it
# "relayed" (its smtp client ignores the sink's DSN support), and the
# report becomes one Delivery event.  Finally "mailward events dispatch"
# delivers the spool to tests/e2e/webhook-receiver.py, which verifies every
# SNS signature: the receiver has exactly one Bounce for the message, with
# its recipient and mail.messageId, and the Delivery.  About 25 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/e2e/postfix-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (private Postfix)"
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
	skip_all "python3-cryptography not installed (tools/deps)"
need_tools postfix swaks sqlite3 openssl

work=$(mktemp -d /tmp/mw-feedback.XXXXXX)
chmod 755 "$work"
mw_pid=
refuser_pid=
receiver_pid=
cleanup() {
	[ -n "$mw_pid" ] && { kill -9 "$mw_pid" && wait "$mw_pid"; } 2>/dev/null
	[ -n "$receiver_pid" ] && { kill "$receiver_pid" && wait "$receiver_pid"; } 2>/dev/null
	[ -n "$refuser_pid" ] && { kill "$refuser_pid" && wait "$refuser_pid"; } 2>/dev/null
	pf_cleanup
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

plan 26

pf_setup "$work/pf" >/dev/null || {
	echo "Bail out! pf_setup failed"
	exit 1
}
mw_port=$(pf_free_ports 1)
state=$work/mailward
mkdir -p "$state"
head -c 32 /dev/urandom >"$state/verp.key"
chmod 600 "$state/verp.key"
openssl genrsa -out "$state/sns.pem" 2048 2>/dev/null
openssl req -new -x509 -key "$state/sns.pem" -subj /CN=mailward-sns -days 2 \
	-out "$work/sns.crt" 2>/dev/null
chmod 600 "$state/sns.pem"
chown -R mailward:mailward "$state"
receiver_port=$(pf_free_ports 1)
topic=arn:aws:sns:local:000000000000:mailward-events
cert_url=https://hooks.example/mailward-sns.pem
unsub_url=https://hooks.example/unsubscribe
cat >"$state/mailward.conf" <<CONF
daemon = { socket = "inet:$mw_port@127.0.0.1"; user = "mailward"; };
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "127.0.0.1/32" ];
inbound = { mode = "off"; };
mail_from = ( { domain = "example.com"; bounce_domain = "bounce.example.com"; } );
feedback = {
  bounce_domains = [ "bounce.example.com" ];
  complaint_addresses = [ "fbl@example.com" ];
  verp_keys = ( { id = 1; file = "$state/verp.key"; } );
};
streams = ( { name = "tx"; delivery_notifications = true; } );
events = { spool_dir = "$state/spool"; checkpoint_seconds = 1; };
webhooks = ( { name = "hook"; url = "http://127.0.0.1:$receiver_port/sns"; topic_arn = "$topic";
  signing_key = "$state/sns.pem"; signing_cert_url = "$cert_url";
  unsubscribe_url = "$unsub_url"; max_attempts = 3; retry_min_ms = 50; } );
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
	"transport_maps = inline:{ rcpt.invalid=smtp:[127.0.0.1]:$refuser_port }" \
	"smtp_discard_ehlo_keywords = dsn" "internal_mail_filter_classes = bounce" \
	"smtpd_recipient_restrictions = check_recipient_access inline:{ held@example.net=HOLD }"
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
# The log line follows the durable journal record; the file in new/ comes
# from the publisher a few milliseconds later.
has_send_event() { [ -n "$(events_of Send)" ]; }
wait_until 10 has_send_event
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
timeout 30 swaks --server 127.0.0.1 --port "$PF_PORT" --local-interface 127.0.0.7 --from bob@example.net \
	--to b-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@bounce.example.com \
	--data "@$top/tests/data/feedback/autoreply-vacation.eml" >"$work/autoreply.send" 2>&1
check "an auto-reply to a bounce address is no bounce: delivered, never discarded" \
	wait_until 10 grep -q 'feedback: not a report mailward can read (an auto-reply (RFC 3834)); delivered' "$state/log"

# A complaint without a token: the attached message's Message-ID finds it.
header_id=$(json x "d['mail']['commonHeaders']['messageId']" "$send_event")
cat >"$work/arf.eml" <<EOF_ARF
From: fbl@isp.example
To: fbl@example.com
Subject: complaint about a message
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf"

--arf
Content-Type: text/plain

This is an abuse report.
--arf
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: isp-fbl/1.0
Version: 1
Original-Rcpt-To: <nobody@rcpt.invalid>

--arf
Content-Type: message/rfc822

From: alice@example.com
To: nobody@rcpt.invalid
Subject: to nobody
Message-ID: $header_id

the original
--arf--
EOF_ARF
sed -i 's/$/\r/' "$work/arf.eml"
timeout 30 swaks --server 127.0.0.1 --port "$PF_PORT" --local-interface 127.0.0.7 \
	--from fbl@isp.example --to fbl@example.com --data "@$work/arf.eml" >"$work/arf.send" 2>&1
check "a complaint without a token is correlated by Message-ID ($header_id)" \
	wait_until 10 bash -c "grep -q 'feedback kind=complaint .*correlation=message-id mail_id=$mail_id' '$state/log'"
complaint=$(events_of Complaint | head -1)
check "... its mail object is the Send event's (source, destination, correlation)" \
	test "$(json x "[d['mail']['messageId'], d['mail']['source'], d['mail']['destination'], d['mail']['tags']['mailward:correlation']]" "$complaint")" = \
	"['$mail_id', 'alice@example.com', ['nobody@rcpt.invalid'], ['message-id']]"

# The same report to an ordinary address (no feedback address) is read
# too (feedback.read_reports): its events are written, the message goes on.
complaints_before=$(events_of Complaint | wc -l)
sunk_before=$(sink_message_files | wc -l)
sed 's/^To: fbl@example.com/To: postmaster@example.net/' "$work/arf.eml" >"$work/arf2.eml"
timeout 30 swaks --server 127.0.0.1 --port "$PF_PORT" --local-interface 127.0.0.7 \
	--from fbl@isp.example --to postmaster@example.net --data "@$work/arf2.eml" >"$work/arf2.send" 2>&1
check "a report to an ordinary address is read too, correlated by Message-ID" \
	wait_until 10 bash -c "grep -q 'report kind=complaint .*correlation=message-id mail_id=$mail_id .*action=usual' '$state/log'"
check "... one more Complaint event" test "$(events_of Complaint | wc -l)" = $((complaints_before + 1))
check "... and the message is delivered as usual" sink_wait_count $((sunk_before + 1)) 30

# Delivery notifications.  mailward re-adds each recipient of stream tx
# with NOTIFY=SUCCESS,FAILURE,DELAY: a held message shows it in the queue
# file (the original recipient cancelled, the new one with all three
# notify flags).
SEND_SUBJECT="held with a receipt"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com held@example.net \
	--add-header "X-SES-CONFIGURATION-SET: tx" >/dev/null
check "a message of a stream with delivery_notifications asks for them" \
	wait_until 10 grep -q 'outbound .*notify=success' "$state/log"
held_queue_file() {
	for q in $(postqueue -c "$PF_DIR" -j | /usr/bin/python3 -c '
import json, sys
for l in sys.stdin:
    print(json.loads(l)["queue_id"])'); do postcat -c "$PF_DIR" -e -q "$q"; done
}
check "... Postfix has the recipient again with NOTIFY=SUCCESS,FAILURE,DELAY and ORCPT, the original cancelled" \
	wait_until 10 bash -c "$(declare -f held_queue_file); held_queue_file | tr '\n' ' ' |
		grep -q 'canceled_recipient: held@example.net named_attribute: notify_flags=14 named_attribute: dsn_orig_rcpt=rfc822;held@example.net original_recipient: held@example.net recipient: held@example.net'"
# Postfix 3.7 sends success DSNs only for messages where the client itself
# asked for one (qmgr's per-message flag is not set by recipients a milter
# adds; see README), so the round trip is shown with a client asking
# NOTIFY=SUCCESS: Postfix relays to a sink without DSN support and writes
# a "relayed" report to the VERP address.
/usr/bin/python3 - "$PF_PORT" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.sendmail("alice@example.com", ["someone@example.net"],
           "From: alice@example.com\r\nTo: someone@example.net\r\nSubject: with a receipt\r\n"
           "X-SES-CONFIGURATION-SET: tx\r\n\r\nhello\r\n", rcpt_options=["NOTIFY=SUCCESS"])
s.quit()
PY
check "Postfix's 'relayed' report comes back and is read as a delivery" \
	wait_until 20 bash -c "grep -q 'feedback kind=delivery ' '$state/log'"
check "... which becomes one Delivery event, correlated by its token" \
	wait_until 5 bash -c "[ \$(grep -l '\"Delivery\"' '$state'/spool/new/*.json | wc -l) = 1 ] && grep -q 'feedback kind=delivery .*correlation=verp' '$state/log'"
delivery=$(events_of Delivery | head -1)
check "... naming the recipient, with smtpResponse, reportingMTA and processingTimeMillis" \
	/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = d["delivery"]
assert v["recipients"] == ["someone@example.net"], v
assert v["reportingMTA"] and v["smtpResponse"] and v["processingTimeMillis"] >= 0, v
assert d["mail"]["tags"]["ses:configuration-set"] == ["tx"], d["mail"]["tags"]' "$delivery"
check "... and the recipient is not suppressed" \
	test -z "$(sqlite3 "$state/mailward.db" "SELECT reason FROM suppression WHERE address = 'someone@example.net'")"
check "the sink got the message once (recipient re-added, the original deleted)" \
	test "$(grep -l 'Subject: with a receipt' $(sink_message_files) 2>/dev/null | wc -l)" = 1

# The webhook: every event reaches the receiver, verified.
/usr/bin/python3 "$top/tests/e2e/webhook-receiver.py" "$receiver_port" "$work/hook.log" \
	"$work/sns.crt" "$topic" "$cert_url" "$unsub_url" eventType "$work/hook.fail" &
receiver_pid=$!
wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$receiver_port" 2>/dev/null
"$mw" events -c "$state/mailward.conf" dispatch --once 2>"$work/dispatch.log"
check "dispatch delivers every event, each notification verified by the receiver" \
	/usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert recs and all(r["ok"] for r in recs), recs
assert len(recs) == len(sys.argv[2:]), (len(recs), sys.argv[2:])' "$work/hook.log" "$state"/spool/cur/*.json
check "the receiver has exactly one Bounce for the message, its recipient and messageId" \
	/usr/bin/python3 -c '
import json, sys
events = [json.loads(json.loads(json.loads(l))["Message"]) for l in open(sys.argv[1])]
b = [e for e in events if e["eventType"] == "Bounce" and e["mail"]["messageId"] == sys.argv[2]]
assert len(b) == 1, b
assert [r["emailAddress"] for r in b[0]["bounce"]["bouncedRecipients"]] == ["nobody@rcpt.invalid"]
d = [e for e in events if e["eventType"] == "Delivery"]
assert len(d) == 1 and d[0]["delivery"]["recipients"] == ["someone@example.net"], d' \
	"$work/hook.log.raw" "$mail_id"
check "mailward is still running" kill -0 "$mw_pid"

if ! done_testing; then
	sed 's/^/# /' "$state/log" | tail -30
	exit 1
fi
