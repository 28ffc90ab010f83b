#!/bin/bash
# postfix.sh - mailward attached to a real Postfix, end to end
#
# A private Postfix instance (tests/e2e/postfix-lib.sh) relays everything
# to an SMTP sink, with smtpd_milters pointing at a mailward daemon started
# here.  Mail from a trusted client is outbound (a Send event in the
# spool), from an untrusted one inbound (no event); both arrive unchanged.
# Then: the submission service's {daemon_name}, queue IDs in mailward's
# log, a broken policy on SIGHUP while mail flows, an unwritable new/
# (tempfail, nothing lost), and mailward stopped under both
# milter_default_action settings.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
mw=${MAILWARD:-$top/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/e2e/postfix-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (private Postfix instance)"
command -v postfix >/dev/null || skip_all "postfix not installed (run tools/deps)"
getent passwd mailward >/dev/null || skip_all "no mailward user (run tools/deps)"

work=$(mktemp -d /tmp/mw-postfix.XXXXXX)
mw_pid=
cleanup() {
	[ -n "$mw_pid" ] && { kill -9 "$mw_pid" && wait "$mw_pid"; } 2>/dev/null
	pf_cleanup
}
trap cleanup EXIT

plan 35

pf_setup "$work" || {
	echo "Bail out! pf_setup failed"
	exit 1
}
mw_port=$(pf_free_ports 1)
spool=$work/mailward/spool
mkdir -p "$work/mailward"
chown mailward:mailward "$work/mailward"

write_policy() {
	cat >"$work/mailward/mailward.conf" <<CONF
daemon = { socket = "inet:$mw_port@127.0.0.1"; user = "mailward"; };
log = { to = "stderr"; level = "$1"; };
trusted_networks = [ "127.0.0.1/32" ];
events = { spool_dir = "$spool"; checkpoint_seconds = 1; };
store = { path = "$work/mailward/state/mailward.db"; };
inbound = { mode = "off"; };
CONF
}

start_mailward() {
	"$mw" -f -c "$work/mailward/mailward.conf" 2>>"$work/mailward/log" &
	mw_pid=$!
	wait_until 10 bash -c "ss -ltn | grep -q '127.0.0.1:$mw_port '"
}

events() { find "$spool/new" -name '*.json' 2>/dev/null | sort; }
event_count() { events | wc -l; }
event_count_is() { [ "$(event_count)" -eq "$1" ]; }
# The one event added since a count: its JSON on stdout.
newest_event() { events | tail -1 | xargs cat; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

write_policy info
check "mailward starts and listens on 127.0.0.1:$mw_port" start_mailward
pf_conf "smtpd_milters = inet:127.0.0.1:$mw_port" "milter_default_action = tempfail"
check "Postfix starts with smtpd_milters = inet:127.0.0.1:$mw_port" pf_start
check "the sink starts" sink_start

# ------------------------------------------------ outbound, trusted client
SEND_SUBJECT="outbound from a trusted client"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net \
	--header "Message-Id: <out-1@example.com>" >/dev/null
check "mail from trusted 127.0.0.1 is accepted" test $? -eq 0
check "... and arrives at the sink" sink_wait_count 1 30
out_file=$(sink_message_files | tail -1)
sink_message "$out_file" >"$work/out.eml"
check "... with its body unchanged" grep -qx "This is a test message sent by postfix-lib.sh." "$work/out.eml"
headers=$(sed '/^$/q' "$work/out.eml" | grep -o '^[A-Za-z-]*:' | sort -u | tr '\n' ' ')
check "... and no header added by mailward" \
	test "$headers" = "Date: From: Message-Id: Received: Subject: To: X-Mailer: "
check "one Send event is in the spool" test "$(event_count)" -eq 1
event=$(newest_event)
qid=$(sed -n 's/.*postfix\/smtpd\[[0-9]*\]: \([0-9A-F]*\): client=.*\[127\.0\.0\.1\].*/\1/p' "$PF_LOG" | tail -1)
check "... eventType Send" test "$(echo "$event" | json "d['eventType']")" = Send
check "... mail.source is the envelope sender" \
	test "$(echo "$event" | json "d['mail']['source']")" = alice@example.com
check "... mail.destination is the recipient" \
	test "$(echo "$event" | json "d['mail']['destination']")" = "['bob@example.net']"
check "... mail.messageId is mailward's own ID (26 base32 characters)" \
	grep -Eq '^[a-z2-7]{26}$' <<<"$(echo "$event" | json "d['mail']['messageId']")"
check "... commonHeaders.messageId is the Message-ID header" \
	test "$(echo "$event" | json "d['mail']['commonHeaders']['messageId']")" = "<out-1@example.com>"
check "... mail.sourceIp is the client" \
	test "$(echo "$event" | json "d['mail']['sourceIp']")" = 127.0.0.1
check "... commonHeaders.subject is the Subject" \
	test "$(echo "$event" | json "d['mail']['commonHeaders']['subject']")" = "$SEND_SUBJECT"
check "... tags carry Postfix's queue ID ($qid)" \
	test "$(echo "$event" | json "d['mail']['tags']['mailward:queue-id'][0]")" = "$qid"
check "mailward's log line about it starts with the queue ID" \
	grep -q "info: $qid: outbound reason=trusted_network network=127.0.0.1/32 from=<alice@example.com> nrcpt=1 dkim=none (no key for From domain example.com) mail_from=unchanged event=" "$work/mailward/log"

# ----------------------------------------------- inbound, untrusted client
SEND_SUBJECT="inbound from an untrusted client"
send_mail 127.0.0.2 "$PF_PORT" carol@example.org alice@example.com >/dev/null
check "mail from untrusted 127.0.0.2 is accepted" test $? -eq 0
check "... and arrives at the sink unchanged" sink_wait_count 2 30
in_file=$(sink_message_files | tail -1)
check "... with its body" grep -qx "This is a test message sent by postfix-lib.sh." <(sink_message "$in_file")
check "... and no Send event for it" test "$(event_count)" -eq 1
check "mailward logged it as inbound" wait_until 5 grep -q "inbound reason=untrusted_client client=unknown\[127.0.0.2\] from=<carol@example.org>" "$work/mailward/log"

# --------------------------- the submission service ({daemon_name}), 2 rcpts
SEND_SUBJECT="outbound through submission"
send_mail 127.0.0.2 "$PF_SUBMISSION_PORT" dave@example.com "x@example.net,y@example.net" >/dev/null
check "mail through the ORIGINATING submission service is outbound" \
	wait_until 10 event_count_is 2
check "... its event lists both recipients" \
	test "$(newest_event | json "d['mail']['destination']")" = "['x@example.net', 'y@example.net']"

# ------------------------------------------ SIGHUP with a broken policy
write_policy loud
kill -HUP "$mw_pid"
check "a broken policy on SIGHUP is refused" wait_until 5 grep -q "refused; the running policy stays" "$work/mailward/log"
SEND_SUBJECT="after a refused reload"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net >/dev/null
check "... and mail keeps flowing under the old policy: an event is written" \
	wait_until 10 event_count_is 3
check "... and the message is delivered" sink_wait_count 4 30
write_policy info

# ------------------------- new/ unwritable: durable in the journal, published later
# The event is durable once it is in the journal, so the message is
# accepted; its file in new/ follows as soon as new/ can be written again.
chmod 500 "$spool/new"
before=$(sink_count)
SEND_SUBJECT="while new/ is unwritable"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net >/dev/null
check "with new/ unwritable the message is still accepted and delivered" \
	sink_wait_count $((before + 1)) 30
check "... mailward logs that its event waits in the journal" \
	wait_until 10 grep -q "safe in the journal, publication is retried" "$work/mailward/log"
check "... no event file yet" test "$(event_count)" -eq 3
chmod 750 "$spool/new"
check "... once new/ is writable again, the held event is published" \
	wait_until 10 event_count_is 4
check "... and nothing half-written is left in the spool" \
	test "$(find "$spool/tmp" -type f | wc -l)" = 0
delivered=$(sink_count)

# ------------------------------------------------------ mailward stopped
kill -TERM "$mw_pid"
wait_until 15 bash -c "! kill -0 $mw_pid 2>/dev/null"
mw_pid=
SEND_SUBJECT="mailward down, tempfail"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net >/dev/null
check "mailward stopped + milter_default_action=tempfail: the client gets 451 4.7.1" \
	grep -q '451 4.7.1' "$SEND_LOG"
sleep 1
check "... and nothing is delivered" test "$(sink_count)" -eq "$delivered"
pf_conf "milter_default_action = accept"
SEND_SUBJECT="mailward down, accept"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net >/dev/null
check "mailward stopped + milter_default_action=accept: delivered without mailward" \
	sink_wait_count $((delivered + 1)) 30

if ! done_testing; then
	pf_diag 30
	sed 's/^/# /' "$work/mailward/log" | tail -40
	exit 1
fi
