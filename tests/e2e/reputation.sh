#!/bin/bash
# reputation.sh - complaints past a stream's limits pause it; resume restores it
#
# mailward runs with three streams and the milter protocol spoken straight
# (tests/lib/milter-client.py).  Twenty messages in stream "news" are sent
# (Send: 20 recipients) with VERP envelope senders; ARF complaints naming
# their tokens come back to the complaint address.  With min_sends = 20,
# warn at 4% and pause at 10%: the first complaint (5%) writes one
# ReputationWarning event, the second (10%, not over) nothing, the third
# (15%) pauses the stream: a StreamPaused event and log line, and news's
# next message is tempfailed at end of header (451 4.7.1 with the rate)
# while "billing" still passes.  The pause survives a restart and shows in
# "mailward stream list"; "mailward stream resume" lifts it (StreamResumed,
# by administrator).  Stream "promo" (auto_resume = "3s") resumes by
# itself; "mailward stream pause billing" pauses billing within a second;
# a From domain paused with --domain is tempfailed in every stream.
# Forged complaints (no valid token) count for nothing.  About 20 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"

addr=${REPUTATION_ADDR:-127.0.53.64}
port=${REPUTATION_PORT:-8891}
command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed (run tools/deps)"
ip -o addr show 2>/dev/null | grep -q "inet $addr/" || [ "${addr#127.}" != "$addr" ] ||
	skip_all "no $addr"

work=$(mktemp -d /tmp/mw-reputation.XXXXXX)
mw_pid=
cleanup() {
	[ -n "$mw_pid" ] && kill -9 "$mw_pid" 2>/dev/null
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

plan 24

head -c 32 /dev/urandom >"$work/verp.key"
chmod 600 "$work/verp.key"
cat >"$work/mailward.conf" <<CONF
daemon = { socket = "inet:$port@$addr"; user = ""; };
log = { to = "stderr"; level = "info"; };
inbound = { mode = "off"; };
mail_from = ( { domain = "example.com"; bounce_domain = "bounce.example.com"; } );
streams = (
  { name = "news"; min_sends = 20; warn_complaint_rate = "4%"; pause_complaint_rate = "10%"; },
  { name = "billing"; min_sends = 20; warn_complaint_rate = "4%"; pause_complaint_rate = "10%"; },
  { name = "promo"; min_sends = 1; pause_complaint_rate = "10%"; auto_resume = "3s"; }
);
feedback = {
  bounce_domains = [ "bounce.example.com" ];
  complaint_addresses = [ "fbl@example.com" ];
  complaint_action = "discard";
  verp_keys = ( { id = 1; file = "$work/verp.key"; } );
};
events = { spool_dir = "$work/spool"; durability = "none"; };
store = { path = "$work/state.db"; };
CONF

start_mailward() {
	"$mw" -f -c "$work/mailward.conf" 2>>"$work/log" &
	mw_pid=$!
	wait_until 10 bash -c "ss -ltn | grep -q '$addr:$port '"
}
stop_mailward() {
	kill "$mw_pid" && wait "$mw_pid" 2>/dev/null
	mw_pid=
}
# send STREAM RCPT QID: what the milter did, one line per action
send() {
	printf 'From: sender@example.com\r\nTo: %s\r\nX-SES-CONFIGURATION-SET: %s\r\nSubject: hi\r\n\r\nbody\r\n' \
		"$2" "$1" >"$work/msg.eml"
	/usr/bin/python3 "$top/tests/lib/milter-client.py" "$addr:$port" --message "$work/msg.eml" \
		--client 127.0.0.1 --from sender@example.com --rcpt "$2" --qid "$3"
}
# complain TOKEN QID: an ARF report about the message sent with b-TOKEN
complain() {
	sed -e "s/b-[a-z0-9]*@bounce.example.org/b-$1@bounce.example.com/g" \
		-e 's/billing@example.org/sender@example.com/' \
		"$top/tests/data/feedback/arf-abuse.eml" >"$work/arf.eml"
	/usr/bin/python3 "$top/tests/lib/milter-client.py" "$addr:$port" --message "$work/arf.eml" \
		--client 127.0.0.1 --from fbl@isp.example --rcpt fbl@example.com --qid "$2"
}
events_of() { grep -l "\"eventType\":\"$1\"" "$work"/spool/new/*.json 2>/dev/null | wc -l; }
events_are() { [ "$(events_of "$1")" = "$2" ]; } # for wait_until: counted on each try
stream() { "$mw" stream -c "$work/mailward.conf" "$@"; }
state_of() { sqlite3 "$work/state.db" "SELECT state FROM reputation_state WHERE kind = 'stream' AND name = '$1'" 2>/dev/null; }

check "mailward starts" start_mailward

tokens=()
for i in $(seq 1 20); do
	out=$(send news "r$i@rcpt.test" "NEWS$i")
	tokens+=("$(sed -n 's/^chgfrom <\{0,1\}b-\([a-z0-9]*\)@bounce.example.com>\{0,1\}$/\1/p' <<<"$out")")
done
check "20 messages in stream news are accepted with VERP senders" \
	test "$(grep -c 'outbound .*mail_from=b-' "$work/log"):${#tokens[@]}:${tokens[19]:+x}" = "20:20:x"
check "their sends are counted in the store within a second or two" \
	wait_until 5 bash -c "[ \"\$(sqlite3 '$work/state.db' \"SELECT sum(sends) FROM reputation_counts WHERE kind = 'stream' AND name = 'news'\")\" = 20 ]"

# A forged complaint: no valid token, counts for nothing.
complain aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa FORGED1 >/dev/null
complain "${tokens[0]}" CMP1 >/dev/null
check "the first complaint (5% > 4%) writes a ReputationWarning event" \
	wait_until 5 events_are ReputationWarning 1
check "... and only the correlated complaint was counted" \
	test "$(sqlite3 "$work/state.db" "SELECT sum(complaints) FROM reputation_counts WHERE kind = 'stream' AND name = 'news'")" = 1
w=$(grep -l '"eventType":"ReputationWarning"' "$work"/spool/new/*.json | head -1)
check "... shaped with the stream, window, counts, rate and threshold" \
	/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["reputation"]
assert r["stream"] == "news" and r["window"] == "24h" and r["sends"] == 20, r
assert r["complaints"] == 1 and abs(r["complaintRate"] - 0.05) < 1e-9, r
assert r["metric"] == "complaint" and abs(r["threshold"] - 0.04) < 1e-9, r
assert r["thresholdText"] == "4.00%", r' "$w"
complain "${tokens[1]}" CMP2 >/dev/null
sleep 2
check "the second complaint (10%, not over 10%) pauses nothing, warns no more" \
	test "$(events_of ReputationWarning):$(events_of StreamPaused):$(state_of news)" = "1:0:warning"
complain "${tokens[2]}" CMP3 >/dev/null
check "the third complaint (15% > 10%) pauses the stream: a StreamPaused event" \
	wait_until 5 events_are StreamPaused 1
check "... and a log line" \
	grep -q 'reputation: StreamPaused stream=news by=threshold reason="complaint rate 15.00% > 10.00%"' "$work/log"
sleep 1.2 # the gate re-reads the paused set at most once a second
out=$(send news r21@rcpt.test NEWS21)
check "news's next message is tempfailed at end of header (451 4.7.1, the rate)" \
	grep -q '^eoh 451 4.7.1 mailward: sending stream news is paused (complaint rate 15.00%% > 10.00%%)' <<<"$out"
check "another stream's message is accepted" grep -q '^verdict accept' <<<"$(send billing b1@rcpt.test BILL1)"
check "exactly one ReputationWarning in all" test "$(events_of ReputationWarning)" = 1

stop_mailward
check "mailward restarts" start_mailward
check "... and news is still paused: tempfailed" \
	grep -q '^eoh 451 4.7.1' <<<"$(send news r22@rcpt.test NEWS22)"
check "mailward stream list shows news paused, 20 sent, 3 complaints, 15.00%" \
	grep -qE '^stream +news +paused +20/0/3 +0.00% +15.00%' <<<"$(stream list)"

check "mailward stream resume news resumes it" grep -q 'stream news resumed' <<<"$(stream resume news)"
check "... the daemon writes a StreamResumed event (by administrator) and logs it" \
	wait_until 5 grep -q 'reputation: StreamResumed stream=news by=administrator' "$work/log"
sleep 1.2
check "... and news's mail is accepted again" grep -q '^verdict accept' <<<"$(send news r23@rcpt.test NEWS23)"

# promo: one send, one complaint (100%) pauses it; auto_resume = 3s lifts it.
ptoken=$(send promo p1@rcpt.test PROMO1 | sed -n 's/^chgfrom <\{0,1\}b-\([a-z0-9]*\)@.*/\1/p')
sleep 1.2
complain "$ptoken" CMP4 >/dev/null
wait_until 5 bash -c "grep -q 'StreamPaused stream=promo' '$work/log'"
sleep 1.2
check "promo is paused by its complaint" grep -q '^eoh 451 4.7.1 mailward: sending stream promo' <<<"$(send promo p2@rcpt.test PROMO2)"
check "... and resumes by itself after auto_resume (StreamResumed by auto_resume)" \
	wait_until 8 grep -q 'reputation: StreamResumed stream=promo by=auto_resume' "$work/log"

stream pause billing >/dev/null
sleep 1.2
check "mailward stream pause billing: billing is tempfailed within a second or so" \
	grep -q '^eoh 451 4.7.1 mailward: sending stream billing is paused (paused by an administrator)' <<<"$(send billing b2@rcpt.test BILL2)"
check "... with a StreamPaused event by administrator" \
	wait_until 5 grep -q 'reputation: StreamPaused stream=billing by=administrator' "$work/log"

stream pause --domain example.com >/dev/null
sleep 1.2
check "a paused From domain tempfails its mail in every stream" \
	grep -q '^eoh 451 4.7.1 mailward: From domain example.com is paused' <<<"$(send news r24@rcpt.test NEWS24)"
stream resume --domain example.com >/dev/null
sleep 1.2
check "... until it is resumed (FromDomainResumed)" \
	bash -c "grep -q '^verdict accept' <<<\"\$1\" && grep -q 'FromDomainResumed domain=example.com by=administrator' '$work/log'" _ "$(send news r25@rcpt.test NEWS25)"

if ! done_testing; then
	sed 's/^/# /' "$work/log" | tail -30
	exit 1
fi
