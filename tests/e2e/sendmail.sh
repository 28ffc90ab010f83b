#!/bin/bash
# sendmail.sh - mailward attached to a real Sendmail, end to end
#
# Debian's Sendmail, unpacked into the work directory (tests/e2e/
# sendmail-lib.sh: it conflicts with the postfix package), declares mailward
# with INPUT_MAIL_FILTER on a unix-domain socket, as contrib/sendmail.mc
# does (there mailward asks for no answers but at MAIL, RCPT and end of
# message), and relays everything to an smtp-sink; the DKIM key and the
# inbound senders' SPF and DMARC records are in NSD on loopback.
# The core checks of postfix.sh, dkim.sh, submission.sh and inbound.sh,
# through Sendmail:
# * mail from the trusted network is outbound: delivered with a DKIM
#   signature dkimpy verifies (simple/simple canonicalization, so any
#   change Sendmail made after the milter would show), from the aligned
#   MAIL FROM (smfi_chgfrom), with a Send event that carries Sendmail's
#   queue ID (macro i), which also leads mailward's log line;
# * SMTP AUTH (Cyrus SASL, sasldb) from an untrusted address: outbound by
#   {auth_authen}, signed, callerIdentity in the event; a wrong password is
#   refused by Sendmail and nothing reaches mailward;
# * an unauthenticated client on the listener named ORIGINATING is
#   outbound by {daemon_name};
# * an untrusted client on the MTA listener is inbound: the message gets
#   Authentication-Results (forged ones removed); one from a DMARC p=reject
#   domain that fails is refused with 550 5.7.1 by Sendmail, one from a
#   p=quarantine domain is held in Sendmail's quarantine;
# * a message without Message-ID and Date: mailward adds both before
#   signing, so Sendmail's own (added at delivery) do not break it;
# * a refusal decided at the end of the header (an unknown stream) is held
#   and given at the end of the message: the client hears 451 4.3.0;
# * mailward stopped: the milter's F=T makes Sendmail tempfail (451 4.3.2),
#   nothing is delivered; mailward back: mail flows again.
# In CI (CI=true) a failed download of the packages fails the test rather
# than skipping it.  Addresses: MW_TEST_SM_ADDR (127.0.53.80, Sendmail;
# mailward's socket is in /run), MW_TEST_SINK_ADDR (127.0.53.81, the sink; also the untrusted
# client), MW_TEST_DNS_ADDR (127.0.53.82, NSD).  About 10 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns-lib.sh"
. "$top/tests/e2e/postfix-lib.sh"
. "$top/tests/e2e/sendmail-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (DNS on port 53, namespaces for Sendmail)"
need_tools nsd smtp-sink swaks saslpasswd2 m4 unshare
getent passwd mailward >/dev/null || skip_all "no mailward user (run tools/deps)"
/usr/bin/python3 -c 'import dkim, dns' 2>/dev/null || skip_all "python3-dkim missing (tools/deps)"
if ! sm_fetch; then
	# CI must not pass by skipping what it was meant to prove.
	if [ "${CI:-}" = true ]; then
		echo "Bail out! cannot download Debian's Sendmail (apt-get download sendmail-bin sendmail-base sendmail-cf)"
		exit 1
	fi
	skip_all "cannot download Debian's Sendmail packages (no network to the Debian mirror?)"
fi

SM_ADDR=${MW_TEST_SM_ADDR:-127.0.53.80}
SINK_ADDR=${MW_TEST_SINK_ADDR:-127.0.53.81}
DNS_ADDR=${MW_TEST_DNS_ADDR:-127.0.53.82}
TRUSTED=$SM_ADDR     # a client in trusted_networks
UNTRUSTED=$SINK_ADDR # any other loopback address

work=$(mktemp -d /tmp/mw-sendmail.XXXXXX)
chmod 755 "$work"
# Sendmail refuses a milter socket below a world-writable directory (/tmp).
sock_dir=$(mktemp -d /run/mw-sendmail.XXXXXX)
chmod 755 "$sock_dir"
mw_pid=
cleanup() {
	[ -n "$mw_pid" ] && { kill -9 "$mw_pid" && wait "$mw_pid"; } 2>/dev/null
	sm_cleanup
	dns_cleanup
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
	rm -rf "$sock_dir"
}
trap cleanup EXIT

login=alice@example.com
password='correct horse 7'

plan 46

# ------------------------------------------------------------ keys and DNS
mkdir -p "$work/keys"
chown mailward:mailward "$work/keys"
"$mw" keygen -o "$work/keys" example.com sm >"$work/key.out"
dns_setup "$work/dns" "$DNS_ADDR" >/dev/null
for z in com example.com org example.org; do dns_zone "$z"; done
dns_txt sm._domainkey.example.com "$(dns_txt_of_zone_line "$work/key.out")"
# Inbound senders: one whose SPF passes for the untrusted client, one with
# DMARC p=reject that fails SPF and has no signature.
dns_txt pass.example.org "v=spf1 ip4:$UNTRUSTED -all"
dns_txt _dmarc.pass.example.org "v=DMARC1; p=reject"
dns_txt reject.example.org "v=spf1 -all"
dns_txt _dmarc.reject.example.org "v=DMARC1; p=reject"
dns_txt quarantine.example.org "v=spf1 -all"
dns_txt _dmarc.quarantine.example.org "v=DMARC1; p=quarantine"
dns_start || {
	echo "Bail out! NSD did not start on $DNS_ADDR"
	exit 1
}

# ------------------------------------------------------------ mailward
state=$work/mailward
mkdir -p "$state"
chown mailward:mailward "$state"
# The unix-domain socket contrib/sendmail.mc names: there mailward asks for
# no answers at connect, HELO, headers, end of header and body chunks, and
# no DATA step (SMFIP_NR_*, SMFIP_NODATA), which Sendmail must honour.
chown mailward:mailward "$sock_dir"
mw_sock=$sock_dir/mw.sock
head -c 32 /dev/urandom >"$state/verp.key"
chmod 600 "$state/verp.key"
chown mailward:mailward "$state/verp.key"
cat >"$state/mailward.conf" <<CONF
daemon = { socket = "unix:$mw_sock"; user = "mailward"; socket_mode = "0666"; };
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "$TRUSTED/32" ];
domains = ( { domain = "example.com"; selector = "sm"; key = "$work/keys/example.com.sm.pem"; } );
mail_from = ( { domain = "example.com"; bounce_domain = "bounce.example.com"; } );
feedback = {
  bounce_domains = [ "bounce.example.com" ];
  verp_keys = ( { id = 1; file = "$state/verp.key"; } );
};
events = { spool_dir = "$state/spool"; checkpoint_seconds = 1; };
store = { path = "$state/mailward.db"; };
dns = { nameservers = [ "$DNS_ADDR" ]; query_timeout_ms = 1000; message_budget_ms = 3000; };
inbound = { authserv_id = "mx.test.example"; };
signing = { header_canonicalization = "simple"; body_canonicalization = "simple"; };
CONF
start_mailward() {
	"$mw" -f -c "$state/mailward.conf" 2>>"$state/log" &
	mw_pid=$!
	wait_until 10 test -S "$mw_sock"
}
check "mailward starts and listens on $mw_sock" start_mailward

# ------------------------------------------------------------ Sendmail
if ! SM_MILTER="unix:$mw_sock" sm_setup "$work/sm" ||
	! sm_sasl_user "$login" "$password"; then
	echo "Bail out! sm_setup failed"
	exit 1
fi
check "the .mc declares mailward with INPUT_MAIL_FILTER, F=T" \
	grep -q "^INPUT_MAIL_FILTER(\`mailward', \`S=unix:$mw_sock, F=T," "$SM_MC"
check "... and the .cf made from it sends {daemon_name}, {auth_authen} and i" \
	bash -c "grep -q '^O Milter.macros.connect=.*{daemon_name}' '$SM_CF' &&
		grep -q '^O Milter.macros.envfrom=i, .*{auth_authen}' '$SM_CF' &&
		grep -q '^O Milter.macros.eoh=i' '$SM_CF'"
check "the sink starts on $SINK_ADDR:$SINK_PORT" sink_start
if sm_start; then
	pass "Sendmail starts on $SM_ADDR:$SM_PORT (MTA) and :$SM_SUBMISSION_PORT (ORIGINATING)"
else
	sm_diag 10
	echo "Bail out! Sendmail did not start"
	exit 1
fi

events() { find "$state/spool/new" -name '*.json' 2>/dev/null | sort; }
event_count() { events | wc -l; }
event_count_is() { [ "$(event_count)" -eq "$1" ]; }
newest_event() { events | tail -1 | xargs cat; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# delivered NAME: the newest message at the sink, as CRLF, in $work/NAME.eml
delivered() {
	sink_message "$(sink_message_files | tail -1)" | sed 's/$/\r/' >"$work/$1.eml"
}
dkimpy() {
	/usr/bin/python3 "$top/tests/lib/dkim-verify.py" --dns "$DNS_ADDR" "$1" >"$1.dkimpy" 2>&1
}

# ------------------------------------------------ outbound, trusted client
SEND_SUBJECT="outbound through Sendmail"
sm_send "$TRUSTED" "$SM_PORT" alice@example.com bob@example.net \
	--header "Message-Id: <sm-1@example.com>" >/dev/null
check "mail from the trusted network is accepted by Sendmail (250)" test "$(sm_last_reply)" = "250 2.0.0"
qid=$(sm_last_qid)
check "... and arrives at the sink" sink_wait_count 1 30
delivered trusted
check "... with a DKIM-Signature for example.com" grep -q '^DKIM-Signature: .*d=example.com' "$work/trusted.eml"
if dkimpy "$work/trusted.eml"; then
	pass "... which dkimpy verifies against the key in DNS"
else
	fail "... which dkimpy verifies against the key in DNS" "$(cat "$work/trusted.eml.dkimpy")"
fi
check "... from the aligned MAIL FROM b-TOKEN@bounce.example.com (smfi_chgfrom)" \
	grep -Eq '^X-Mail-Args: <b-[a-z2-7]{53}@bounce\.example\.com>' <(sink_envelope "$(sink_message_files | tail -1)")
check "one Send event is in the spool" wait_until 5 event_count_is 1
event=$(newest_event)
check "... its mailward:queue-id tag is Sendmail's queue ID ($qid, macro i)" \
	test "$(echo "$event" | json "d['mail']['tags']['mailward:queue-id'][0]")" = "$qid"
check "... the ID in Sendmail's Received header" \
	grep -q "by mx.test.example (.*) with ESMTP id $qid\$" <(tr -d '\r' <"$work/trusted.eml")
check "mailward's log line leads with that queue ID" \
	grep -q "info: $qid: outbound reason=trusted_network network=$TRUSTED/32 from=<alice@example.com> nrcpt=1 dkim=example.com/sm/rsa-sha256" "$state/log"

# ------------------------------------------------ SMTP AUTH, untrusted client
SEND_SUBJECT="authenticated through Sendmail"
sm_send "$UNTRUSTED" "$SM_PORT" alice@example.com carol@example.net \
	--auth PLAIN --auth-user "$login" --auth-password "$password" >/dev/null
check "an authenticated submission (AUTH PLAIN) is accepted" test "$(sm_last_reply)" = "250 2.0.0"
check "... and delivered" sink_wait_count 2 30
delivered auth
if dkimpy "$work/auth.eml"; then
	pass "... signed; dkimpy verifies"
else
	fail "... signed; dkimpy verifies" "$(cat "$work/auth.eml.dkimpy")"
fi
check "... mailward saw {auth_authen}: outbound reason=authenticated" \
	grep -q "info: $(sm_last_qid): outbound reason=authenticated sasl_username=$login " "$state/log"
wait_until 5 event_count_is 2
check "... its Send event carries callerIdentity" \
	test "$(newest_event | json "d['mail']['callerIdentity']")" = "$login"
before=$(event_count)
sm_send "$UNTRUSTED" "$SM_PORT" alice@example.com carol@example.net \
	--auth PLAIN --auth-user "$login" --auth-password "wrong" >/dev/null
check "a wrong password is refused by Sendmail (535)" grep -q '^<\** *535 ' "$SEND_LOG"
check "... and nothing is evented" test "$(event_count)" -eq "$before"

# ------------------------------------------- {daemon_name}, no AUTH
SEND_SUBJECT="through the ORIGINATING listener"
sm_send "$UNTRUSTED" "$SM_SUBMISSION_PORT" dave@example.com erin@example.net >/dev/null
check "an unauthenticated client on the ORIGINATING listener is accepted" \
	test "$(sm_last_reply)" = "250 2.0.0"
check "... and outbound by {daemon_name}" \
	grep -q "info: $(sm_last_qid): outbound reason=daemon_name daemon=ORIGINATING " "$state/log"
check "... delivered signed" sink_wait_count 3 30
delivered daemon
check "... (a DKIM-Signature that dkimpy verifies)" dkimpy "$work/daemon.eml"

# ------------------------------------------------ inbound
events_before=$(event_count)
SEND_SUBJECT="inbound through Sendmail"
# Two forged Authentication-Results claiming our authserv-id around a
# foreign one: mailward deletes both (smfi_chgheader by index, which
# Sendmail counts its own way) and keeps the foreign one.
sm_send "$UNTRUSTED" "$SM_PORT" frank@pass.example.org bob@example.com \
	--header "From: frank@pass.example.org" \
	--add-header "Authentication-Results: mx.test.example; dmarc=pass header.from=forged.example" \
	--add-header "Authentication-Results: other.example; spf=pass smtp.mailfrom=pass.example.org" \
	--add-header "Authentication-Results: MX.test.example; dkim=pass header.d=forged.example" >/dev/null
check "mail from an untrusted client on the MTA listener is accepted" test "$(sm_last_reply)" = "250 2.0.0"
in_qid=$(sm_last_qid)
check "... and delivered" sink_wait_count 4 30
delivered inbound
ar=$(awk '/^\r?$/ { exit } /^[ \t]/ { if (keep) { sub(/^[ \t]+/, " "); line = line $0 }; next }
	{ if (keep) print line; keep = /^Authentication-Results:/; line = $0 } END { if (keep) print line }' \
	"$work/inbound.eml" | tr -d '\r')
check "... with Authentication-Results: spf=pass, dmarc=pass" \
	bash -c "grep -q '^Authentication-Results: mx.test.example;' <<<'$ar' &&
		grep -q 'spf=pass smtp.mailfrom=frank@pass.example.org' <<<'$ar' &&
		grep -q 'dmarc=pass' <<<'$ar'"
ars=$(sed -n '/^\r$/q;p' "$work/inbound.eml" | tr -d '\r' | awk '/^[ \t]/ { line = line $0; next }
	{ if (line != "") print line; line = $0 } END { print line }' | grep -i '^Authentication-Results:' | cut -d';' -f1)
check "... the forged ones removed, the foreign one kept, ours on top" \
	test "$ars" = "Authentication-Results: mx.test.example
Authentication-Results: other.example"
check "... mailward's summary line names Sendmail's queue ID" \
	grep -q "info: $in_qid: inbound reason=untrusted_client .* action=accept " "$state/log"
check "... and no Send event" test "$(event_count)" -eq "$events_before"
delivered_now=$(sink_count)
sm_send "$UNTRUSTED" "$SM_PORT" mallory@reject.example.org bob@example.com \
	--header "From: mallory@reject.example.org" >/dev/null
check "a message failing DMARC p=reject is refused by Sendmail: 550 5.7.1" \
	test "$(sm_last_reply)" = "550 5.7.1"
check "... mailward logged action=reject" \
	wait_until 5 grep -q "inbound reason=untrusted_client .* from=<mallory@reject.example.org> .* action=reject " "$state/log"

sm_send "$UNTRUSTED" "$SM_PORT" mallory@quarantine.example.org bob@example.com \
	--header "From: mallory@quarantine.example.org" >/dev/null
check "a message failing DMARC p=quarantine is accepted (250)" test "$(sm_last_reply)" = "250 2.0.0"
check "... and held in Sendmail's quarantine (smfi_quarantine), with the reason" \
	wait_until 5 grep -q "DMARC policy of quarantine.example.org" <(sm_quarantine_reason "$(sm_last_qid)")

# ---------------- what Sendmail adds after the milter: Message-Id and Date
# Sendmail adds a missing Message-Id and Date at delivery, after the
# milter; mailward adds both itself first, spelled as Sendmail's cf spells
# them, so that even simple header canonicalization survives.
SEND_SUBJECT="no Message-ID, no Date"
printf 'From: alice@example.com\r\nTo: bob@example.net\r\nSubject: bare\r\n\r\nbody\r\n' >"$work/bare.src"
sm_send "$TRUSTED" "$SM_PORT" alice@example.com bob@example.net --data "$work/bare.src" >/dev/null
check "a message without Message-ID and Date is delivered" sink_wait_count $((delivered_now + 1)) 30
delivered bare
sed -n '/^\r$/q;p' "$work/bare.eml" | tr -d '\r' >"$work/bare.head"
check "... with one Message-Id and one Date, mailward's" \
	test "$(grep -Ei '^(Message-Id|Date):' "$work/bare.head" | sed 's/:.*//' | sort | tr '\n' ' ')" = "Date Message-Id " -a \
	-n "$(grep -E '^Message-Id: <[0-9]+\.[0-9a-f]{18}@example\.com>$' "$work/bare.head")" -a \
	-n "$(grep -E '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} \+0000$' "$work/bare.head")"
if dkimpy "$work/bare.eml"; then
	pass "... signed simple/simple; dkimpy verifies"
else
	fail "... signed simple/simple; dkimpy verifies" "$(cat "$work/bare.eml.dkimpy")" "$(sed -n '/^\r$/q;p' "$work/bare.eml")"
fi
delivered_now=$(sink_count)

# ---------------- a refusal decided at the end of the header
# Sendmail waits for no answer there (SMFIP_NR_EOH): mailward holds the
# verdict and gives it, with its reply text, at the end of the message.
SEND_SUBJECT="unknown stream"
sm_send "$TRUSTED" "$SM_PORT" alice@example.com bob@example.net \
	--header "X-SES-CONFIGURATION-SET: nosuchstream" >/dev/null
check "an end-of-header refusal (unknown stream) reaches the client after DATA (451 4.3.0)" \
	test "$(sm_last_reply)" = "451 4.3.0"
check "... with mailward's reply text" grep -q "451 4.3.0 mailward: unknown sending stream" "$SEND_LOG"
SEND_SUBJECT="after the refusal"
sm_send "$TRUSTED" "$SM_PORT" alice@example.com bob@example.net >/dev/null
check "... and the next message is accepted and delivered" \
	sink_wait_count $((delivered_now + 1)) 30
delivered_now=$(sink_count)

# ------------------------------------------------ mailward stopped (F=T)
kill -TERM "$mw_pid"
wait_until 15 bash -c "! kill -0 $mw_pid 2>/dev/null"
wait "$mw_pid" 2>/dev/null
mw_pid=
SEND_SUBJECT="mailward down"
sm_send "$TRUSTED" "$SM_PORT" alice@example.com bob@example.net >/dev/null
check "mailward stopped + F=T: Sendmail tempfails the transaction (451 4.3.2)" \
	test "$(sm_last_reply)" = "451 4.3.2"
sleep 1
check "... and nothing is delivered" test "$(sink_count)" -eq "$delivered_now"
check "mailward restarts" start_mailward
sm_send "$TRUSTED" "$SM_PORT" alice@example.com bob@example.net >/dev/null
check "... and mail flows again" sink_wait_count $((delivered_now + 1)) 30
delivered again
check "... signed" dkimpy "$work/again.eml"

if ! done_testing; then
	sm_diag 30
	sed 's/^/# /' "$state/log" | tail -40
	exit 1
fi
