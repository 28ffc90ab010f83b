#!/bin/bash
# submission.sh - outbound mail through Postfix with real SMTP AUTH
#
# A private Postfix in SASL mode (tests/e2e/postfix-lib.sh: Cyrus SASL with
# a sasldb on the submission service, which relays for authenticated
# clients only) runs mailward as its milter; the DKIM key is published in
# NSD on loopback.  Proves, end to end:
# * an authenticated submission (swaks --auth PLAIN) from an address that
#   is not a trusted network is outbound by reason=authenticated: the
#   delivered message carries a DKIM-Signature that dkimpy verifies, the
#   envelope sender at the sink is the VERP bounce address whose token
#   names the Send event, and that event carries ses:caller-identity = the
#   SASL login plus the other auto tags (the queue ID Postfix logged for
#   the login);
# * mail from the trusted network is outbound too, with no caller identity;
# * a wrong password gets 535 from Postfix: nothing delivered, signed or
#   evented; an unauthenticated client on the submission port is refused
#   at RCPT by Postfix, so mailward never sees a message;
# * an unauthenticated, untrusted client on the smtp port is inbound
#   (reason=untrusted_client): delivered unsigned, sender unchanged;
# * and what mailward does when a submission service lets an
#   unauthenticated client through: its {daemon_name} ORIGINATING alone
#   makes the mail outbound (outbound.daemon_names), so the service must
#   require AUTH, as SASL mode's (and Postfix's sample) master.cf does.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns-lib.sh"
. "$top/tests/e2e/postfix-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (DNS on port 53, private Postfix)"
need_tools nsd postfix saslpasswd2 swaks
compgen -G '/usr/lib/*/sasl2/libsasldb.so*' >/dev/null || skip_all "Cyrus SASL's sasldb plugin missing (tools/deps)"
/usr/bin/python3 -c 'import dkim, dns' 2>/dev/null || skip_all "python3-dkim missing (tools/deps)"

work=$(mktemp -d /tmp/mw-submission.XXXXXX)
chmod 755 "$work"
mw_pid=
cleanup() {
	[ -n "$mw_pid" ] && { kill -9 "$mw_pid" && wait "$mw_pid"; } 2>/dev/null
	pf_cleanup
	dns_cleanup
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

login=alice@example.com
password='correct horse 7'

plan 26

# ------------------------------------------------------------ key and DNS
mkdir -p "$work/keys"
chown mailward:mailward "$work/keys"
"$mw" keygen -o "$work/keys" example.com sub >"$work/key.out"
DNS_ADDR=${MW_TEST_DNS_ADDR:-127.0.53.5}
dns_setup "$work/dns" "$DNS_ADDR" >/dev/null
dns_zone example.com
# The parent too: DMARC's tree walk asks _dmarc.com, which must answer
# NXDOMAIN (a server that refuses it would make every DMARC check temperror).
dns_zone com
dns_txt sub._domainkey.example.com "$(dns_txt_of_zone_line "$work/key.out")"
dns_start || {
	echo "Bail out! NSD did not start"
	exit 1
}

# ------------------------------------------------------------ Postfix
PF_SASL=1
if ! { pf_setup "$work/pf" >/dev/null && pf_sasl_user "$login" "$password"; }; then
	echo "Bail out! pf_setup (SASL mode) failed"
	exit 1
fi

# ------------------------------------------------------------ mailward
state=$work/mailward
mkdir -p "$state"
head -c 32 /dev/urandom >"$state/verp.key"
chmod 600 "$state/verp.key"
chown -R mailward:mailward "$state"
mw_port=$(pf_free_ports 1)
cat >"$state/mailward.conf" <<CONF
daemon = { socket = "inet:$mw_port@127.0.0.1"; user = "mailward"; };
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "127.0.0.1/32" ];
domains = ( { domain = "example.com"; selector = "sub"; key = "$work/keys/example.com.sub.pem"; } );
mail_from = ( { domain = "example.com"; bounce_domain = "bounce.example.com"; } );
feedback = {
  bounce_domains = [ "bounce.example.com" ];
  verp_keys = ( { id = 1; file = "$state/verp.key"; } );
};
events = { spool_dir = "$state/spool"; };
store = { path = "$state/mailward.db"; };
dns = { nameservers = [ "$DNS_ADDR" ]; };
CONF
"$mw" -f -c "$state/mailward.conf" 2>"$state/log" &
mw_pid=$!

pf_conf "smtpd_milters = inet:127.0.0.1:$mw_port" "milter_default_action = tempfail"
wait_until 10 bash -c "ss -ltn | grep -q '127.0.0.1:$mw_port '" || {
	echo "Bail out! mailward did not start"
	sed 's/^/# /' "$state/log"
	exit 1
}
if ! { sink_start && pf_start; }; then
	echo "Bail out! Postfix or the sink did not start"
	exit 1
fi

# ------------------------------------------------------------ helpers
events_count() { find "$state/spool/new" -name '*.json' 2>/dev/null | wc -l; }
log_count() { grep -cE "$1" "$state/log"; }
# The spool file the last "outbound" log line names.
event_of_last_outbound() {
	local name
	name=$(grep ' outbound ' "$state/log" | tail -1 | sed -n 's/.* event=\([^ ]*\).*/\1/p')
	cat "$state/spool/new/$name"
}
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
envelope_sender() { sink_envelope "$1" | sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p'; }
dkim_verify() {
	/usr/bin/python3 "$top/tests/lib/dkim-verify.py" --dns "$DNS_ADDR" "$1" >"$1.dkimpy" 2>&1
}
submit() {
	send_mail 127.0.0.2 "$PF_SUBMISSION_PORT" "$login" bob@example.net \
		--auth PLAIN --auth-user "$login" --auth-password "$1" "${@:2}" >/dev/null
}

# ------------------------------------------- authenticated submission
SEND_SUBJECT="authenticated submission"
submit "$password"
check "AUTH PLAIN with the right password: Postfix accepts the message (235, 250)" \
	grep -Eq '^<[-~]+ +235 ' "$SEND_LOG"
check "... and delivers it" sink_wait_count 1 20
file=$(sink_message_files | tail -1)
sink_message "$file" | sed 's/$/\r/' >"$work/auth.eml"
if dkim_verify "$work/auth.eml" && grep -q '^dkimpy: pass d=example.com s=sub a=rsa-sha256' "$work/auth.eml.dkimpy"; then
	pass "... with a DKIM-Signature (d=example.com s=sub) that dkimpy verifies"
else
	fail "... with a DKIM-Signature (d=example.com s=sub) that dkimpy verifies" "$(sed 's/^/# /' "$work/auth.eml.dkimpy")"
fi
sender=$(envelope_sender "$file")
check "... from the rewritten MAIL FROM b-TOKEN@bounce.example.com" \
	grep -Eq '^b-[a-z2-7]{53}@bounce\.example\.com$' <<<"$sender"
qid=$(sed -n "s/.*submission\/smtpd\[[0-9]*\]: \([0-9A-F]*\): client=unknown\[127\.0\.0\.2\], sasl_method=PLAIN, sasl_username=$login\$/\1/p" "$PF_LOG" | tail -1)
check "Postfix logged the SASL login with the queue ID" test -n "$qid"
check "mailward logs it as outbound reason=authenticated with the SASL user, signature and new sender" \
	grep -Eq "info: $qid: outbound reason=authenticated sasl_username=$login from=<$login> nrcpt=1 dkim=example.com/sub/rsa-sha256 mail_from=$sender event=" "$state/log"
event=$(event_of_last_outbound)
check "its Send event has tag ses:caller-identity = the SASL login" \
	test "$(echo "$event" | json "d['mail']['tags'].get('ses:caller-identity')")" = "['$login']"
check "... and mail.callerIdentity" test "$(echo "$event" | json "d['mail'].get('callerIdentity')")" = "$login"
check "... and the other auto tags (operation, source IP, From domain, queue ID)" \
	test "$(echo "$event" | json "[d['mail']['tags'].get(k, [None])[0] for k in ('ses:operation', 'ses:source-ip', 'ses:from-domain', 'mailward:queue-id')]")" = \
	"['SendSmtpEmail', '127.0.0.2', 'example.com', '$qid']"
decoded=$("$build/tests/tools/verp-decode" "$state/mailward.conf" "$sender")
check "the envelope sender's token names that event's messageId" \
	test "${decoded%% *}" = "mail_id=$(echo "$event" | json "d['mail']['messageId']")"

SEND_SUBJECT="authenticated with LOGIN"
send_mail 127.0.0.2 "$PF_SUBMISSION_PORT" "$login" bob@example.net \
	--auth LOGIN --auth-user "$login" --auth-password "$password" >/dev/null
check "AUTH LOGIN works too: delivered" sink_wait_count 2 20
check "... and classified authenticated" test "$(log_count "outbound reason=authenticated sasl_username=$login ")" -eq 2

# ------------------------------------------- trusted network, no AUTH
SEND_SUBJECT="trusted network"
send_mail 127.0.0.1 "$PF_PORT" "$login" bob@example.net >/dev/null
check "mail from the trusted network (smtp port, no AUTH) is delivered" sink_wait_count 3 20
file=$(sink_message_files | tail -1)
sink_message "$file" | sed 's/$/\r/' >"$work/trusted.eml"
check "... signed (dkimpy verifies)" dkim_verify "$work/trusted.eml"
check "... from the VERP bounce address" grep -Eq '^b-[a-z2-7]{53}@bounce\.example\.com$' <<<"$(envelope_sender "$file")"
check "... outbound reason=trusted_network" \
	grep -q "outbound reason=trusted_network network=127.0.0.1/32 from=<$login>" "$state/log"
check "... and its Send event has no caller identity" \
	test "$(event_of_last_outbound | json "'ses:caller-identity' in d['mail']['tags'] or 'callerIdentity' in d['mail']")" = False

# ------------------------------------------- refused by Postfix
sink_before=$(sink_count)
events_before=$(events_count)
mw_lines_before=$(log_count ' (in|out)bound ')
SEND_SUBJECT="wrong password"
submit "not the password"
check "a wrong password is refused with 535 (swaks stops at AUTH)" \
	test "$?" -eq 28 -a "$(grep -cE '^<[~*]+ *535 5\.7\.8 ' "$SEND_LOG")" -eq 1
check "... Postfix logged the failure" \
	pf_log_wait "SASL PLAIN authentication failed: authentication failure, sasl_username=$login" 5
SEND_SUBJECT="no AUTH on submission"
send_mail 127.0.0.3 "$PF_SUBMISSION_PORT" "$login" bob@example.net >/dev/null
check "an unauthenticated client on the submission port is refused at RCPT (554 5.7.1)" \
	test "$?" -eq 24 -a "$(grep -cE '^<[~*]+ *554 5\.7\.1 <bob@example.net>: Recipient address rejected: Access denied' "$SEND_LOG")" -eq 1
check "neither was delivered or reached mailward's end of message: no event, no log line" \
	test "$(sink_count):$(events_count):$(log_count ' (in|out)bound ')" = \
	"$sink_before:$events_before:$mw_lines_before"

# ------------------------------------------- untrusted, smtp port
SEND_SUBJECT="untrusted client"
send_mail 127.0.0.3 "$PF_PORT" "$login" bob@example.net >/dev/null
check "an unauthenticated client outside the trusted networks on the smtp port is delivered" \
	sink_wait_count 4 20
file=$(sink_message_files | tail -1)
check "... unsigned, sender unchanged, no event" \
	test "$(grep -c '^DKIM-Signature:' "$file"):$(envelope_sender "$file"):$(events_count)" = "0:$login:$events_before"
check "... mailward: inbound reason=untrusted_client" \
	grep -q "inbound reason=untrusted_client client=unknown\[127.0.0.3\] from=<$login>" "$state/log"

# ------------------------------------------- a submission service without AUTH
# mailward trusts {daemon_name}: the service marked ORIGINATING must demand
# AUTH.  If it does not, its mail is outbound anyway (by design).
pf_conf_service "$PF_SUBMISSION_PORT/inet/smtpd_relay_restrictions=permit_mynetworks,reject"
SEND_SUBJECT="submission without AUTH"
send_mail 127.0.0.3 "$PF_SUBMISSION_PORT" "$login" bob@example.net >/dev/null
check "a submission service that lets an unauthenticated client relay: delivered" sink_wait_count 5 20
file=$(sink_message_files | tail -1)
check "... outbound reason=daemon_name daemon=ORIGINATING, signed" \
	test "$(log_count "outbound reason=daemon_name daemon=ORIGINATING from=<$login>"):$(grep -c '^DKIM-Signature:' "$file")" = 1:1

if ! done_testing; then
	sed 's/^/# /' "$state/log" | tail -30
	pf_diag 30
	exit 1
fi
