#!/bin/bash
# streams.sh - sending streams, identities and sending limits, through the
# milter protocol (tests/lib/milter-client.py plays the MTA)
#
# mailward runs on 127.0.53.68 with a policy of five streams.  A message's
# stream is chosen by its SMTP AUTH user, its envelope sender pattern or
# its From domain's default, and a control header overrides them all; the
# stream's tags are in the Send event.  With identities, an AUTH user
# sending as someone else is refused at the end of the header (554 5.7.1)
# with a Reject event; its own address passes.  A stream whose suppression
# scope is "stream" ignores the account's list.  Limits tempfail: the RCPT
# beyond max_recipients (452 4.5.3, the others go on), messages beyond
# max_rate and max_per_day (451 4.7.1), each logged with the queue ID.
# About 5 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
addr=${STREAMS_ADDR:-127.0.53.68}
. "$top/tests/lib/tap.sh"

need_tools sqlite3 perl /usr/bin/python3

work=$(mktemp -d /tmp/mw-streams.XXXXXX)
mw_pid=
cleanup() {
	[ -n "$mw_pid" ] && kill -9 "$mw_pid" 2>/dev/null && wait "$mw_pid" 2>/dev/null
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

plan 32

port=$((20000 + RANDOM % 12000))
cat >"$work/mailward.conf" <<CONF
daemon = { socket = "inet:$port@$addr"; user = ""; };
log = { to = "stderr"; level = "info"; };
inbound = { mode = "off"; };
trusted_networks = [ "127.0.0.0/8", "10.0.0.0/8" ];
streams = (
  { name = "apps"; auth_users = [ "app-user" ]; tags = [ "team=apps" ]; },
  { name = "promo"; senders = [ "*@promo.example.com" ]; max_recipients = 2;
    tags = [ "team=growth", "kind=promo" ]; },
  { name = "org-default"; default_for = [ "example.org" ]; },
  { name = "transactional"; senders = [ "tx@example.com" ]; suppression = "stream"; },
  { name = "throttled"; senders = [ "rate@example.net" ]; max_rate = 1; },
  { name = "daily"; senders = [ "daily@example.net" ]; max_per_day = 3; }
);
identities = (
  { users = [ "app-user" ]; from = [ "*@example.com", "example.org" ]; },
  { users = [ "mallory" ]; from = [ "mallory@example.com" ]; },
  { networks = [ "127.0.0.0/8" ]; from = [ "*" ]; }
);
user_limits = ( { users = [ "app-user" ]; max_recipients = 3; } );
events = { spool_dir = "$work/spool"; };
store = { path = "$work/state.db"; };
CONF
"$mw" -f -c "$work/mailward.conf" 2>"$work/log" &
mw_pid=$!
check "mailward listens on $addr:$port" \
	wait_until 10 bash -c "ss -ltn | grep -q '$addr:$port '"

# mc QID ENVELOPE-SENDER FROM-HEADER [RCPTS [milter-client options...]]
mc() {
	local qid=$1 sender=$2 from=$3 rcpts=${4:-bob@rcpt.test}
	shift 4 2>/dev/null || shift $#
	printf 'From: %s\r\nTo: bob@rcpt.test\r\nSubject: streams\r\n%s\r\nbody\r\n' \
		"$from" "${HEADER:+$HEADER$'\r\n'}" >"$work/$qid.eml"
	/usr/bin/python3 "$top/tests/lib/milter-client.py" "$addr:$port" \
		--message "$work/$qid.eml" --client 127.0.0.5 --from "$sender" --rcpt "$rcpts" \
		--qid "$qid" "$@"
}
# event_of QID TYPE: the event of that type whose mailward:queue-id tag is
# QID, waiting up to 5 s for it (a Send event's file is published a few
# milliseconds after the verdict, once its journal record is durable)
event_of() {
	local i
	for i in $(seq 50); do
		event_of_now "$@" && return 0
		sleep 0.1
	done
	return 1
}
event_of_now() {
	perl -MJSON::PP -e '
		for my $f (glob("$ARGV[0]/new/*.json")) {
			open my $fh, "<", $f or next; local $/; my $e = decode_json(<$fh>);
			next unless ($e->{eventType} // "") eq $ARGV[2];
			next unless (($e->{mail}{tags}{"mailward:queue-id"} // [])->[0] // "") eq $ARGV[1];
			print encode_json($e); exit 0;
		}
		exit 1;' "$work/spool" "$1" "$2"
}
# tag QID NAME: the values of a tag of the Send event, comma separated
tag() {
	event_of "$1" Send | perl -MJSON::PP -e '
		my $e = decode_json(join "", <STDIN>);
		print join ",", @{ $e->{mail}{tags}{$ARGV[0]} // [] };' "$2"
}
logged() { grep -q "$1" "$work/log"; }

# ------------------------------------------------------------- selection
out=$(mc STREAM01 offers@promo.example.com a@example.com bob@rcpt.test --auth app-user --client 192.0.2.10)
check "an AUTH user listed by a stream selects it (over the sender pattern)" \
	bash -c "grep -q '^verdict accept' <<<'$out' && grep -q 'STREAM01: outbound .* stream=apps by=auth_user' '$work/log'"
check "... and the stream's tags are in the Send event with the configuration set" \
	test "$(tag STREAM01 team):$(tag STREAM01 ses:configuration-set)" = "apps:apps"
out=$(mc STREAM02 offers@promo.example.com news@promo.example.com)
check "an envelope sender pattern selects its stream" \
	bash -c "grep -q '^verdict accept' <<<'$out' && grep -q 'STREAM02: outbound .* stream=promo by=sender' '$work/log'"
check "... with every tag of the stream in the Send event" \
	test "$(tag STREAM02 team):$(tag STREAM02 kind)" = "growth:promo"
check "... and a Feedback-ID naming the stream" grep -q '^addheader Feedback-ID: 0:promo:promo.example.com:mailward' <<<"$out"
mc STREAM03 someone@elsewhere.test 'Org <news@example.org>' >/dev/null
check "the From domain's default stream when nothing else chose" \
	logged 'STREAM03: outbound .* stream=org-default by=from_domain'
HEADER='X-SES-CONFIGURATION-SET: org-default' mc STREAM04 offers@promo.example.com news@promo.example.com >/dev/null
check "a control header overrides the sender's stream" \
	logged 'STREAM04: outbound .* stream=org-default by=header'
check "... and the header's stream's tags replace the sender stream's" \
	test "$(tag STREAM04 ses:configuration-set):$(tag STREAM04 team)" = "org-default:"
HEADER='X-Mailward-Stream: promo' mc STREAM05 x@elsewhere.test x@example.org bob@rcpt.test --auth app-user --client 192.0.2.10 >/dev/null
check "a control header overrides the AUTH user's stream" \
	logged 'STREAM05: outbound .* stream=promo by=header'
mc STREAM06 someone@elsewhere.test someone@elsewhere.test >/dev/null
set_tag=$(tag STREAM06 ses:configuration-set)
check "mail nothing selects has no stream" \
	bash -c "grep -q 'STREAM06: outbound ' '$work/log' && ! grep -q 'STREAM06: outbound .* stream=' '$work/log' && [ -z '$set_tag' ]"

# ------------------------------------------------------------- identities
out=$(mc IDENT001 mallory@example.com 'The Boss <boss@example.com>' bob@rcpt.test --auth mallory --client 192.0.2.66)
check "an AUTH user sending as another address is refused at the end of the header: 554 5.7.1" \
	grep -q '^eoh 554 5.7.1 mailward: <boss@example.com> is not an identity user mallory may send as$' <<<"$out"
check "... with a Reject event giving the reason" \
	bash -c "$(declare -f event_of event_of_now); work='$work'; event_of IDENT001 Reject | grep -q '\"reject\":{\"reason\":\"<boss@example.com> is not an identity user mallory may send as\"}'"
check "... and a log line with the queue ID" logged 'IDENT001: identity refused: from=<boss@example.com> user mallory'
check "... and no Send event" bash -c "! grep -l 'IDENT001' '$work'/spool/new/*.json | xargs grep -l '\"Send\"' 2>/dev/null | grep -q ."
check "the same user with its own address passes" \
	grep -q '^verdict accept' <<<"$(mc IDENT002 mallory@example.com mallory@example.com bob@rcpt.test --auth mallory --client 192.0.2.66)"
check "a user's domain pattern allows any address at it" \
	grep -q '^verdict accept' <<<"$(mc IDENT003 a@example.org 'x <billing@example.org>' bob@rcpt.test --auth app-user --client 192.0.2.10)"
check "a trusted client outside every identity network is refused, named by its address" \
	grep -q '^eoh 554 5.7.1 mailward: <a@example.com> is not an identity client 10.1.2.3 may send as' \
	<<<"$(mc IDENT004 a@example.com a@example.com bob@rcpt.test --client 10.1.2.3)"

# ---------------------------------------------------- suppression scope
sqlite3 "$work/state.db" "INSERT INTO suppression VALUES ('dave@rcpt.test', '', 'BOUNCE', 1795000000, 'x')"
check "a stream with suppression = \"stream\" does not apply the account's list" \
	grep -q '^verdict accept' <<<"$(mc SCOPE001 tx@example.com tx@example.com dave@rcpt.test)"
check "... other mail does: 550 5.1.1 at RCPT" \
	grep -q '^rcpt 550 5.1.1 mailward: dave@rcpt.test is on the suppression list' <<<"$(mc SCOPE002 x@example.com x@example.com dave@rcpt.test)"

out=$(HEADER='X-SES-CONFIGURATION-SET: promo' mc SCOPE003 tx@example.com tx@example.com dave@rcpt.test,erin@rcpt.test)
check "when the header then picks a stream with the account's scope, its list applies after the header" \
	test "$(grep -E '^(delrcpt|verdict)' <<<"$out" | tr '\n' ' ')" = "delrcpt <dave@rcpt.test> verdict accept "
check "... with the Bounce event's log line" logged 'SCOPE003: suppressed rcpt=<dave@rcpt.test> reason=BOUNCE'

# ------------------------------------------------------------- limits
out=$(mc LIMIT001 offers@promo.example.com news@promo.example.com a@rcpt.test,b@rcpt.test,c@rcpt.test --refused-rcpt continue)
check "the RCPT beyond the stream's max_recipients gets 452 4.5.3, the message goes on" \
	test "$(grep -E '^(rcpt|verdict)' <<<"$out" | tr '\n' '|')" = "rcpt 452 4.5.3 mailward: too many recipients: stream promo takes 2 per message; send the others in another message|verdict accept|"
check "... logged with the queue ID and the limit" logged 'LIMIT001: limit reached: stream promo max_recipients=2 rcpt=<c@rcpt.test>; tempfail 452 4.5.3'
out=$(mc LIMIT002 x@elsewhere.test a@example.com a@rcpt.test,b@rcpt.test,c@rcpt.test,d@rcpt.test --auth app-user --client 192.0.2.10 --refused-rcpt continue)
check "an AUTH user's max_recipients (user_limits) holds too" \
	test "$(grep -E '^(rcpt|verdict)' <<<"$out" | tr '\n' '|')" = "rcpt 452 4.5.3 mailward: too many recipients: user app-user takes 3 per message; send the others in another message|verdict accept|"
check "... logged with the recipient" logged 'LIMIT002: limit reached: user app-user max_recipients=3 rcpt=<d@rcpt.test>; tempfail 452 4.5.3'
out=$(HEADER='X-SES-CONFIGURATION-SET: promo' mc LIMIT003 x@elsewhere.test x@elsewhere.test a@rcpt.test,b@rcpt.test,c@rcpt.test)
check "a stream the header chooses holds the whole message to its max_recipients (452 4.5.3)" \
	grep -q '^eoh 452 4.5.3 mailward: too many recipients: stream promo takes 2 per message$' <<<"$out"
# Four at once: however slow the machine, they cannot all be a second apart.
for i in 1 2 3 4; do
	mc "LIMIT01$i" rate@example.net rate@example.net >"$work/rate.$i" &
done
wait_until 30 bash -c "[ \$(cat '$work'/rate.? | grep -cE '^(eoh|verdict)') = 4 ]"
answers=$(cat "$work"/rate.? | grep -E '^(eoh|verdict)' | sort | uniq -c | tr -s ' ' | tr '\n' '|')
check "at max_rate = 1, one of four messages at once passes, the others get 451 4.7.1" \
	bash -c "[[ '$answers' == ' 3 eoh 451 4.7.1 mailward: stream throttled is sending faster than 1 messages a second; try again later| 1 verdict accept|' ]] || [[ '$answers' == ' 2 eoh 451 4.7.1 '*'| 2 verdict accept|' ]]"
check "... each logged with its queue ID and the limit" \
	test "$(grep -cE 'LIMIT01[1-4]: limit reached: stream throttled max_rate=1; tempfail 451 4.7.1' "$work/log")" -ge 2
for i in 1 2 3 4; do
	last=$(mc "LIMIT02$i" daily@example.net daily@example.net | grep -E '^(eoh|verdict)')
	[ "$i" -lt 4 ] && [ "$last" != "verdict accept" ] && diag "message $i of the day: $last"
done
check "the message beyond max_per_day gets 451 4.7.1" \
	test "$last" = "eoh 451 4.7.1 mailward: stream daily has sent its 3 messages of the last 24 hours; try again later"
check "... logged with the queue ID and the limit" logged 'LIMIT024: limit reached: stream daily max_per_day=3; tempfail 451 4.7.1'

check "mailward is still running" kill -0 "$mw_pid"

if ! done_testing; then
	sed 's/^/# /' "$work/log" | tail -30
	exit 1
fi
