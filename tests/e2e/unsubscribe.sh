#!/bin/bash
# unsubscribe.sh - the one-click unsubscribe endpoint (RFC 8058), over HTTP
#
# mailward runs with an unsubscribe url and its endpoint on a free loopback
# port; curl plays the mail client and the link scanner.  A GET shows a page
# and changes nothing; a POST of List-Unsubscribe=One-Click puts the
# recipient on the stream's suppression list (read back with sqlite3) and
# writes a Subscription event, 200 and no redirect; forged, malformed and
# expired tokens get 404/400/404 and are logged; a POST without the
# one-click body is 400; other methods 405.  Then an outbound recipient on
# the account's suppression list is refused at RCPT (the milter protocol
# straight, tests/lib/milter-client.py), with its Bounce event.  About 10 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/e2e/postfix-lib.sh"

need_tools curl sqlite3 perl

work=$(mktemp -d /tmp/mw-unsubscribe.XXXXXX)
mw_pid=
cleanup() {
	[ -n "$mw_pid" ] && kill -9 "$mw_pid" 2>/dev/null
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

plan 37

read -r mw_port http_port < <(pf_free_ports 2)
head -c 32 /dev/urandom >"$work/verp.key"
chmod 600 "$work/verp.key"
cat >"$work/mailward.conf" <<CONF
daemon = { socket = "inet:$mw_port@127.0.0.1"; user = ""; };
log = { to = "stderr"; level = "info"; };
inbound = { mode = "off"; };
streams = ( { name = "newsletters"; bulk = true; },
  { name = "promos"; bulk = true; unsubscribe_url = "https://promo.example.com/u/";
    unsubscribe_existing = "replace"; } );
unsubscribe = { url = "https://mail.example.com/u/"; mailto = "unsubscribe@bounce.example.com";
  listen = "127.0.0.1:$http_port"; token_days = 30; };
feedback = { verp_keys = ( { id = 1; file = "$work/verp.key"; } ); };
events = { spool_dir = "$work/spool"; };
store = { path = "$work/state.db"; };
CONF
"$mw" -f -c "$work/mailward.conf" 2>"$work/log" &
mw_pid=$!
check "the endpoint listens on its loopback port" \
	wait_until 10 bash -c "ss -ltn | grep -q '127.0.0.1:$http_port '"

url=http://127.0.0.1:$http_port/u
token() { "$build/tests/tools/unsub-decode" "$work/mailward.conf" --encode "$@"; }
good=$(token alice@example.com newsletters weekly)
# status METHOD PATH [BODY]: the HTTP status; the response in $work/body, headers in $work/headers
status() {
	local data=()
	[ $# -ge 3 ] && data=(--data-binary "$3")
	curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' -X "$1" "${data[@]}" \
		-H 'Content-Type: application/x-www-form-urlencoded' "$url/$2"
}
suppressed() {
	sqlite3 "$work/state.db" \
		"SELECT reason || ' ' || scope FROM suppression WHERE address = '$1'" 2>/dev/null
}
events() { find "$work/spool/new" -name '*.json' 2>/dev/null | wc -l; }

check "GET shows a confirmation page (200) naming the recipient" \
	bash -c "[ \"\$(curl -s -o '$work/page' -w '%{http_code}' '$url/$good')\" = 200 ] && grep -q 'alice@example.com' '$work/page' && grep -q 'One-Click' '$work/page'"
check "... and changes nothing: not suppressed, no event" \
	test "$(suppressed alice@example.com):$(events)" = ":0"

check "a one-click POST is answered 200" test "$(status POST "$good" 'List-Unsubscribe=One-Click')" = 200
check "... without a redirect" bash -c "! grep -qi '^Location:' '$work/headers'"
check "... the recipient is on the stream's suppression list (UNSUBSCRIBE)" \
	test "$(suppressed alice@example.com)" = "UNSUBSCRIBE newsletters"
check "... and a Subscription event is in the spool" wait_until 5 test "$(events)" = 1
event=$(cat "$work"/spool/new/*.json 2>/dev/null)
check "... shaped as SES has it: contactList, source, the topic opted out" \
	perl -MJSON::PP -e '
		my $e = decode_json($ARGV[0]);
		my $s = $e->{subscription};
		exit !($e->{eventType} eq "Subscription" && $s->{contactList} eq "newsletters"
			&& $s->{source} eq "UnsubscribeHeader"
			&& $s->{newTopicPreferences}{topicSubscriptionStatus}[0]{topicName} eq "weekly"
			&& $s->{newTopicPreferences}{topicSubscriptionStatus}[0]{subscriptionStatus} eq "OptOut"
			&& $e->{mail}{destination}[0] eq q{alice@example.com});' "$event"
check "a POST again is still 200 (idempotent), one row" \
	bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'List-Unsubscribe=One-Click' '$url/$good')\" = 200 ] && [ \"\$(sqlite3 '$work/state.db' \"SELECT count(*) FROM suppression WHERE address = 'alice@example.com'\")\" = 1 ]"

forged=$(sed 's/.$/A/; t; s/^/x/' <<<"$good")
[ "$forged" = "$good" ] && forged=${good%?}B
check "a forged token is 404" test "$(status POST "$forged" 'List-Unsubscribe=One-Click')" = 404
check "a malformed token is 400" test "$(status POST 'not*a*token' 'List-Unsubscribe=One-Click')" = 400
old=$(token bob@example.com newsletters "" $((31 * 86400)))
check "an expired token (older than token_days) is 404" \
	test "$(status POST "$old" 'List-Unsubscribe=One-Click')" = 404
check "... and none of them suppressed anyone" test "$(suppressed bob@example.com)" = ""
other=$(token carol@example.com newsletters "")
check "a POST without List-Unsubscribe=One-Click is 400, nothing recorded" \
	bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'hello' '$url/$other')\" = 400 ] && [ -z \"\$(sqlite3 '$work/state.db' \"SELECT 1 FROM suppression WHERE address = 'carol@example.com'\")\" ]"
check "other methods are 405" test "$(status PUT "$other" x)" = 405
check "the refused tokens are logged" \
	test "$(grep -cE 'unsubscribe: (invalid|malformed|expired) token refused' "$work/log")" -ge 3
# ------------------------------------------ suppression at RCPT (account level)
sqlite3 "$work/state.db" "INSERT INTO suppression VALUES ('dave@example.com', '', 'BOUNCE', 1795000000, 'x')"
before=$(events)
mc() {
	/usr/bin/python3 "$top/tests/lib/milter-client.py" "127.0.0.1:$mw_port" --message "$work/msg.eml" \
		--client 127.0.0.1 --from sender@example.com --rcpt "$1" --qid "$2"
}
printf 'From: sender@example.com\r\nTo: x@example.com\r\nSubject: hi\r\n\r\nbody\r\n' >"$work/msg.eml"
out=$(mc Dave@Example.com SUPPR0001)
check "an outbound recipient on the account's suppression list is refused at RCPT with 550 5.1.1" \
	grep -q '^rcpt 550 5.1.1 mailward: dave@example.com is on the suppression list (BOUNCE since 2026-' <<<"$out"
check "... with a Bounce event (OnAccountSuppressionList) in the spool" \
	bash -c "[ \$(find '$work/spool/new' -name '*.json' | wc -l) -eq $((before + 1)) ] && grep -l '\"OnAccountSuppressionList\"' '$work'/spool/new/*.json | xargs grep -q '\"emailAddress\":\"dave@example.com\"'"
check "... and a log line with the queue ID" grep -q 'SUPPR0001: suppressed rcpt=<dave@example.com> reason=BOUNCE' "$work/log"
check "a recipient suppressed only for one stream passes RCPT (streams are known after the header)" \
	grep -q '^verdict accept' <<<"$(mc alice@example.com SUPPR0002)"
printf 'From: sender@example.com\r\nTo: x@example.com\r\nX-SES-CONFIGURATION-SET: newsletters\r\nSubject: hi\r\n\r\nbody\r\n' >"$work/msg.eml"
out=$(mc alice@example.com,erin@example.com SUPPR0004)
check "in that stream, the suppressed recipient is dropped after the header, the other one kept" \
	test "$(grep -E '^(delrcpt|verdict)' <<<"$out" | tr '\n' ' ')" = "delrcpt <alice@example.com> verdict accept "
check "... with a Bounce event and a log line" \
	grep -q 'SUPPR0004: suppressed rcpt=<alice@example.com> stream=newsletters reason=UNSUBSCRIBE' "$work/log"
check "a message in that stream to suppressed recipients only is refused (550 5.1.1)" \
	grep -q '^eoh 550 5.1.1 mailward: every recipient is on the sending stream' <<<"$(mc alice@example.com SUPPR0005)"
printf 'From: sender@example.com\r\nTo: x@example.com\r\nSubject: hi\r\n\r\nbody\r\n' >"$work/msg.eml"

# ------------------------------------------------ mailward suppression (CLI)
sup() { "$mw" suppression -c "$work/mailward.conf" "$@"; }
check "suppression get prints an entry as JSON (reason, stream)" \
	bash -c "$(declare -f sup); mw='$mw' work='$work'; sup get ALICE@example.com --stream newsletters | grep -q '\"emailAddress\":\"alice@example.com\",\"reason\":\"UNSUBSCRIBE\"'"
check "... and exits 1 for an address that is not listed" \
	bash -c "$(declare -f sup); mw='$mw' work='$work'; sup get nobody@example.com >/dev/null; [ \$? = 1 ]"
for i in 1 2 3 4 5; do sup add "user$i@example.net" --reason complaint >/dev/null; done
check "suppression add puts addresses on the account's list (refused at RCPT from now on)" \
	grep -q '^rcpt 550 5.1.1 mailward: user3@example.net is on the suppression list (COMPLAINT' <<<"$(mc user3@example.net SUPPR0003)"
page1=$(sup list --reason COMPLAINT --page-size 2)
token=$(tail -1 <<<"$page1" | sed -n 's/{"nextToken":"\(.*\)"}/\1/p')
page2=$(sup list --reason COMPLAINT --page-size 2 --next-token "$token")
check "list pages by --page-size with a next token, in address order" \
	test "$(head -2 <<<"$page1" | grep -c user):$(head -1 <<<"$page2" | grep -o 'user[0-9]')" = "2:user3"
check "list --all follows every page" \
	test "$(sup list --reason COMPLAINT --page-size 2 --all | grep -c emailAddress)" = 5
check "remove takes an address off (exit 1 the second time)" \
	bash -c "$(declare -f sup); mw='$mw' work='$work'; sup remove user1@example.net && ! sup remove user1@example.net"

# ------------------------------------------ a stream's own List-Unsubscribe settings
printf 'From: sender@example.com\r\nTo: x@example.com\r\nX-SES-CONFIGURATION-SET: promos\r\nList-Unsubscribe: <https://app.example/old>\r\nSubject: sale\r\n\r\nbody\r\n' >"$work/msg.eml"
out=$(mc frank@example.com PROMO0001)
check "a stream's unsubscribe_url is the base of its one-click link" \
	grep -Eq '^(ins|add)header List-Unsubscribe: *<https://promo.example.com/u/[A-Za-z0-9_-]+>' <<<"$out"
check "... and its unsubscribe_existing = replace drops the application's field" \
	grep -q '^delheader List-Unsubscribe 1' <<<"$out"

# ------------------------------------------ unsubscribe by mail (the mailto: link)
unsub_mail() { # SUBJECT QID: what the milter answers to a mail to the unsubscribe address
	printf 'From: carol@example.com\r\nTo: unsubscribe@bounce.example.com\r\nSubject: %s\r\n\r\n\r\n' "$1" >"$work/unsub.eml"
	/usr/bin/python3 "$top/tests/lib/milter-client.py" "127.0.0.1:$mw_port" --message "$work/unsub.eml" \
		--client 192.0.2.7 --from carol@example.com --rcpt unsubscribe@bounce.example.com --qid "$2"
}
carol=$(token carol@example.com newsletters weekly)
before=$(events)
check "a mail to the unsubscribe address with \"unsubscribe TOKEN\" as subject is discarded" \
	grep -q '^verdict discard' <<<"$(unsub_mail "Re: unsubscribe $carol" UNSUB0001)"
check "... the recipient is on the stream's suppression list (UNSUBSCRIBE)" \
	test "$(suppressed carol@example.com)" = "UNSUBSCRIBE newsletters"
check "... with a Subscription event, as a one-click POST gives" \
	bash -c "[ \$(find '$work/spool/new' -name '*.json' | wc -l) -eq $((before + 1)) ] && grep -l '\"Subscription\"' '$work'/spool/new/*.json | xargs grep -q 'carol@example.com'"
before=$(events)
check "a forged token in the subject: delivered as usual, no event" \
	bash -c "grep -Eq '^verdict (accept|continue)' <<<\"\$1\" && [ \$(find '$work/spool/new' -name '*.json' | wc -l) -eq $before ]" _ \
	"$(unsub_mail "unsubscribe ${forged}" UNSUB0002)"
check "... and logged with the queue ID" \
	grep -q 'UNSUB0002: unsubscribe mail from=<carol@example.com>: invalid token in the subject; delivered' "$work/log"
check "mailward is still running" kill -0 "$mw_pid"

if ! done_testing; then
	sed 's/^/# /' "$work/log" | tail -20
	exit 1
fi
