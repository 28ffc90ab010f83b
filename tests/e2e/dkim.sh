#!/bin/bash
# dkim.sh - mailward's DKIM signatures checked by three independent verifiers
#
# Keys made by "mailward keygen" are published in a real DNS server on
# loopback (NSD, tests/lib/dns-lib.sh).  Part one signs a corpus of
# messages with the signer alone (tests/tools/dkim-sign-file): both
# algorithms together, simple and relaxed, 8-bit bodies, long folded
# headers, an empty body, a body without final CRLF, a 20 MB attachment,
# hundreds of recipients; dkimpy, Mail::DKIM and opendkim-testmsg must all
# pass them, and fail the negative controls (changed body, changed or
# added oversigned header).  Part two sends mail through a private Postfix
# with mailward: trusted network and authenticated submission, checks the
# signatures, the added Message-ID, the aligned MAIL FROM and its token.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns-lib.sh"
. "$top/tests/e2e/postfix-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (DNS on port 53, private Postfix)"
need_tools nsd opendkim-testmsg postfix
/usr/bin/python3 -c 'import dkim, dns, nacl' 2>/dev/null || skip_all "python3-dkim missing (tools/deps)"

work=$(mktemp -d /tmp/mw-dkim.XXXXXX)
chmod 755 "$work"
mw_pid=
cleanup() {
	[ -n "$mw_pid" ] && { kill -9 "$mw_pid" && wait "$mw_pid"; } 2>/dev/null
	pf_cleanup
	dns_cleanup
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# ------------------------------------------------------------ keys and DNS
mkdir -p "$work/keys"
chown mailward:mailward "$work/keys"
"$mw" keygen -o "$work/keys" example.com rsa >"$work/rsa.out"
"$mw" keygen -a ed25519-sha256 -o "$work/keys" example.com ed >"$work/ed.out"

DNS_ADDR=${MW_TEST_DNS_ADDR:-127.0.53.4}
dns_setup "$work/dns" "$DNS_ADDR" >/dev/null
dns_zone example.com
dns_txt rsa._domainkey.example.com "$(dns_txt_of_zone_line "$work/rsa.out")"
dns_txt ed._domainkey.example.com "$(dns_txt_of_zone_line "$work/ed.out")"
dns_start || {
	echo "Bail out! NSD did not start"
	exit 1
}

rsa_key=$work/keys/example.com.rsa.pem
ed_key=$work/keys/example.com.ed.pem
signer() {
	"$build/tests/tools/dkim-sign-file" -c "$1" \
		-k "$rsa_key:rsa-sha256:example.com:rsa" -k "$ed_key:ed25519-sha256:example.com:ed"
}

# All three verifiers on one file; Mail::DKIM (Debian 12) skips Ed25519.
verify_all() {
	local file=$1 out=0
	/usr/bin/python3 "$top/tests/lib/dkim-verify.py" --dns "$DNS_ADDR" "$file" >"$file.dkimpy" 2>&1 || out=1
	perl "$top/tests/lib/dkim-verify.pl" --dns "$DNS_ADDR" --allow-unsupported "$file" \
		>"$file.maildkim" 2>&1 || out=1
	bash "$top/tests/lib/dkim-verify-opendkim.sh" --dns "$DNS_ADDR" "$file" >"$file.opendkim" 2>&1 || out=1
	return $out
}
# Every verifier refuses the file.
refused_by_all() {
	local file=$1
	! /usr/bin/python3 "$top/tests/lib/dkim-verify.py" --dns "$DNS_ADDR" "$file" >/dev/null 2>&1 &&
		! perl "$top/tests/lib/dkim-verify.pl" --dns "$DNS_ADDR" --allow-unsupported "$file" >/dev/null 2>&1 &&
		! bash "$top/tests/lib/dkim-verify-opendkim.sh" --dns "$DNS_ADDR" "$file" >/dev/null 2>&1
}
verdicts() { cat "$1.dkimpy" "$1.maildkim" "$1.opendkim" 2>/dev/null | sed 's/^/# /'; }
# check_verified FILE DESCRIPTION: one check, all three verifiers pass.
check_verified() {
	if verify_all "$1"; then pass "$2"; else fail "$2" "$(verdicts "$1")"; fi
}
# take_delivered NAME: the last message the sink received, with CRLF, as
# $work/NAME.eml; its sink file in $file.
take_delivered() {
	file=$(sink_message_files | tail -1)
	sink_message "$file" | sed 's/$/\r/' >"$work/$1.eml"
}

plan 74

# ------------------------------------------------------ part one: corpus
corpus=$work/corpus
mkdir -p "$corpus"
headers() {
	printf 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: %s\r\n' "$1"
	printf 'Date: Mon, 23 Nov 2026 19:00:00 +0000\r\nMessage-ID: <%s@example.com>\r\n' "$2"
	printf 'MIME-Version: 1.0\r\n'
}
{ headers "plain" plain; printf 'Content-Type: text/plain\r\n\r\nHello Bob,\r\n\r\nsee you.\r\n'; } >"$corpus/plain.eml"
{
	headers "caf\xc3\xa9 8-bit" eightbit
	printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
	printf 'Gr\xc3\xbc\xc3\x9fe, caf\xc3\xa9 cr\xc3\xa8me  \t \r\n\xe2\x82\xac 10\r\n\r\n\r\n'
} >"$corpus/eightbit.eml"
{
	printf 'From: Alice <alice@example.com>\r\nTo: '
	for i in $(seq 1 40); do printf 'Recipient Number %d <r%d@example.net>,\r\n\t' "$i" "$i"; done
	printf 'last@example.net\r\nSubject: a subject that is long enough to be folded\r\n over\r\n\tthree lines\r\n'
	printf 'Date: Mon, 23 Nov 2026 19:00:00 +0000\r\nMessage-ID: <folded@example.com>\r\n\r\nbody\r\n'
} >"$corpus/folded.eml"
{ headers "empty body" empty; printf '\r\n'; } >"$corpus/empty.eml"
{ headers "no final CRLF" nocrlf; printf '\r\nlast line without line end'; } >"$corpus/nocrlf.eml"
{
	headers "many recipients" many
	printf 'Cc: '
	for i in $(seq 1 300); do printf 'c%d@example.org, ' "$i"; done
	printf 'end@example.org\r\n\r\nto many\r\n'
} >"$corpus/many.eml"
{
	headers "a 20 MB attachment" big
	printf 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
	printf -- '--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'
	head -c 15000000 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
	printf -- '--b1--\r\n'
} >"$corpus/big.eml"

for c in plain eightbit folded empty nocrlf many; do
	for canon in relaxed/relaxed simple/simple; do
		out=$corpus/$c.${canon/\//-}.signed
		signer "$canon" <"$corpus/$c.eml" >"$out"
		if [ "$c/$canon" = nocrlf/simple/simple ]; then
			continue # below: Mail::DKIM reads this one differently
		fi
		if verify_all "$out"; then
			pass "$c, $canon, RSA + Ed25519: all three verifiers pass"
		else
			fail "$c, $canon, RSA + Ed25519: all three verifiers pass" "$(verdicts "$out")"
		fi
	done
done
# A body without its final CRLF under "simple": RFC 6376 3.4.3 adds one, as
# dkimpy and OpenDKIM do; Debian 12's Mail::DKIM does not (its verdict is
# shown).  Over SMTP this cannot happen: DATA always ends with CRLF.
out=$corpus/nocrlf.simple-simple.signed
verify_all "$out"
if grep -q '^dkimpy: pass.*rsa' "$out.dkimpy" && grep -q '^dkimpy: pass.*ed25519' "$out.dkimpy" &&
	! grep -q fail "$out.opendkim"; then
	pass "nocrlf, simple/simple: dkimpy and opendkim-testmsg pass (RFC 6376 3.4.3)"
	diag "Mail::DKIM: $(head -1 "$out.maildkim")"
else
	fail "nocrlf, simple/simple: dkimpy and opendkim-testmsg pass (RFC 6376 3.4.3)" "$(verdicts "$out")"
fi

signer relaxed/simple <"$corpus/big.eml" >"$corpus/big.signed"
check_verified "$corpus/big.signed" "20 MB attachment, relaxed/simple: all three verifiers pass"

# x= (signing.expire): valid for a day, and already expired.
"$build/tests/tools/dkim-sign-file" -x 86400 -k "$rsa_key:rsa-sha256:example.com:rsa" \
	-k "$ed_key:ed25519-sha256:example.com:ed" <"$corpus/plain.eml" >"$corpus/expiring.signed"
if verify_all "$corpus/expiring.signed" && grep -q ' x=' "$corpus/expiring.signed"; then
	pass "a signature with x= one day ahead: all three verifiers pass"
else
	fail "a signature with x= one day ahead: all three verifiers pass" "$(verdicts "$corpus/expiring.signed")"
fi
"$build/tests/tools/dkim-sign-file" -t -7200 -x 3600 -k "$rsa_key:rsa-sha256:example.com:rsa" \
	<"$corpus/plain.eml" >"$corpus/expired.signed"
# dkimpy (1.1.4) does not check x= against the clock; the other two do.
check "an expired signature (x= an hour ago) fails Mail::DKIM and opendkim-testmsg" bash -c "
	! perl '$top/tests/lib/dkim-verify.pl' --dns '$DNS_ADDR' '$corpus/expired.signed' >/dev/null 2>&1 &&
	! bash '$top/tests/lib/dkim-verify-opendkim.sh' --dns '$DNS_ADDR' '$corpus/expired.signed' >/dev/null 2>&1"

# Negative controls on a good signature.
good=$corpus/plain.relaxed-relaxed.signed
sed 's/see you\./see you later./' "$good" >"$corpus/neg-body.eml"
check "a changed body fails every verifier" refused_by_all "$corpus/neg-body.eml"
sed 's/^Subject: plain/Subject: changed/' "$good" >"$corpus/neg-subject.eml"
check "a changed Subject fails every verifier" refused_by_all "$corpus/neg-subject.eml"
{ printf 'From: Mallory <mallory@example.com>\r\n'; cat "$good"; } >"$corpus/neg-from.eml"
check "an added (oversigned) From fails every verifier" refused_by_all "$corpus/neg-from.eml"
{ printf 'To: carol@example.net\r\n'; cat "$good"; } >"$corpus/neg-to.eml"
check "an added (oversigned) To fails every verifier" refused_by_all "$corpus/neg-to.eml"

# ----------------------------------------- part two: through Postfix
pf_setup "$work/pf" >/dev/null || {
	echo "Bail out! pf_setup failed"
	exit 1
}
read -r mw_port http_port < <(pf_free_ports 2)
state=$work/mailward
mkdir -p "$state"
head -c 32 /dev/urandom >"$state/verp.key"
chmod 600 "$state/verp.key"
chown -R mailward:mailward "$state"
cat >"$state/mailward.conf" <<CONF
daemon = { socket = "inet:$mw_port@127.0.0.1"; user = "mailward"; };
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "127.0.0.1/32" ];
domains = (
  { domain = "example.com"; selector = "rsa"; key = "$rsa_key"; },
  { domain = "example.com"; selector = "ed"; key = "$ed_key"; algorithm = "ed25519-sha256"; }
);
mail_from = ( { domain = "example.com"; bounce_domain = "bounce.example.com"; } );
streams = ( { name = "newsletters"; bulk = true; senders = [ "news@example.com" ]; },
            { name = "receipts"; bulk = false; } );
unsubscribe = { url = "https://mail.example.com/u/"; mailto = "unsubscribe@bounce.example.com";
  listen = "127.0.0.1:$http_port"; };
feedback = {
  bounce_domains = [ "bounce.example.com" ];
  verp_keys = ( { id = 1; file = "$state/verp.key"; } );
};
events = { spool_dir = "$state/spool"; checkpoint_seconds = 1; };
store = { path = "$state/mailward.db"; };
dns = { nameservers = [ "$DNS_ADDR" ]; };
CONF
# keygen check: the published records against the keys.
out=$(dns_resolv_conf_run "$mw" keygen check -c "$state/mailward.conf" 2>&1)
check "keygen check finds both published keys matching (exit 0)" \
	test "$?:$out" = "0:rsa._domainkey.example.com: ok
ed._domainkey.example.com: ok"
"$mw" keygen -o "$work/keys" example.com other >/dev/null
dns_txt swap._domainkey.example.com "$(dns_txt_of_zone_line "$work/rsa.out")"
dns_reload
cat >"$state/check.conf" <<CONF
domains = (
  { domain = "example.com"; selector = "swap"; key = "$work/keys/example.com.other.pem"; },
  { domain = "example.com"; selector = "other"; key = "$work/keys/example.com.other.pem"; }
);
CONF
out=$(dns_resolv_conf_run "$mw" keygen check -c "$state/check.conf" 2>&1)
check "keygen check says which record does not match and which is missing (exit 1)" \
	test "$?:$out" = "1:swap._domainkey.example.com: MISMATCH: the published key is not the key in $work/keys/example.com.other.pem
other._domainkey.example.com: not published (publish it with the record keygen printed)"

"$mw" -f -c "$state/mailward.conf" 2>"$state/log" &
mw_pid=$!
check "mailward starts with two keys, a custom MAIL FROM and a VERP secret" \
	wait_until 10 bash -c "ss -ltn | grep -q '127.0.0.1:$mw_port '"
pf_conf "smtpd_milters = inet:127.0.0.1:$mw_port" "milter_default_action = tempfail"
pf_start && sink_start

crlf() { sed 's/$/\r/' "$1"; }
latest_event() { find "$state/spool/new" -name '*.json' | sort | tail -1 | xargs cat; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

SEND_SUBJECT="signed through Postfix"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net >/dev/null
check "a message from the trusted network is delivered" sink_wait_count 1 30
take_delivered trusted
check "... with two DKIM-Signature headers on top" \
	test "$(head -c 20000 "$work/trusted.eml" | grep -c '^DKIM-Signature:')" -eq 2
check_verified "$work/trusted.eml" "... both verify with dkimpy, Mail::DKIM and opendkim-testmsg"
sender=$(sink_envelope "$file" | sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p')
check "... the envelope sender is b-TOKEN@bounce.example.com" \
	grep -Eq '^b-[a-z2-7]{53}@bounce\.example\.com$' <<<"$sender"
decoded=$("$build/tests/tools/verp-decode" "$state/mailward.conf" "$sender")
event=$(latest_event)
check "... its token names the message: the Send event's messageId" \
	test "${decoded%% *}" = "mail_id=$(echo "$event" | json "d['mail']['messageId']")"
check "... and the one recipient" \
	test "${decoded##*rcpt_hash=}" = "$("$build/tests/tools/verp-hash" bob@example.net)"
if [ "${sender:10:1}" = a ]; then swap=b; else swap=a; fi
forged=${sender:0:10}$swap${sender:11}
check "a forged token (one character changed) is refused" \
	bash -c "! '$build/tests/tools/verp-decode' '$state/mailward.conf' '$forged' >/dev/null"
check "mailward logs the signatures and the new sender with the queue ID" \
	grep -Eq 'info: [0-9A-F]+: outbound .* dkim=example.com/rsa/rsa-sha256,example.com/ed/ed25519-sha256 mail_from=b-' "$state/log"

# Authenticated submission (XCLIENT LOGIN= is how Postfix tells milters
# {auth_authen} without a SASL server in the test), from an untrusted address.
SEND_SUBJECT="authenticated, no Message-ID"
send_mail 127.0.0.2 "$PF_PORT" alice@example.com "bob@example.net,carol@example.net" \
	--xclient "LOGIN=alice@example.com" --add-header "X-Test: auth" \
	--header "Message-Id: " >/dev/null
check "an authenticated submission is delivered" sink_wait_count 2 30
take_delivered auth
check_verified "$work/auth.eml" "... signed, and all three verifiers pass"
check "... mailward classified it as authenticated" \
	grep -q "outbound reason=authenticated sasl_username=alice@example.com" "$state/log"
event=$(latest_event)
check "... its Send event carries callerIdentity" \
	test "$(echo "$event" | json "d['mail']['callerIdentity']")" = alice@example.com
sender=$(sink_envelope "$file" | sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p')
decoded=$("$build/tests/tools/verp-decode" "$state/mailward.conf" "$sender")
check "... two recipients: the token names the message, not a recipient" \
	test "${decoded##*rcpt_hash=}" = 00000000

# From 127.0.0.2 (not one of Postfix's own addresses, so Postfix adds no
# Message-Id itself: local_header_rewrite_clients), authenticated.
SEND_SUBJECT="no Message-ID at all"
# (A Date, though: libopendkim calls a message without one a syntax error.)
printf 'From: alice@example.com\r\nTo: bob@example.net\r\nSubject: no id\r\nDate: %s\r\n\r\nbody\r\n' \
	"$(date -R)" >"$work/noid.eml"
send_mail 127.0.0.2 "$PF_PORT" alice@example.com bob@example.net --xclient "LOGIN=alice@example.com" \
	--data "$work/noid.eml" >/dev/null
check "a message without Message-ID is delivered" sink_wait_count 3 30
take_delivered noid-out
check "... with a Message-ID added by mailward" \
	grep -Eiq '^Message-ID: <[0-9]+\.[0-9a-f]{18}@example\.com>' "$work/noid-out.eml"
if verify_all "$work/noid-out.eml" &&
	sed -n '1,/^DKIM-Signature: v=1; a=ed/p' "$work/noid-out.eml" | tr -d '\r\n\t ' | grep -q 'h=[^;]*Message-ID'; then
	pass "... which the signatures cover, and all three verifiers pass"
else
	fail "... which the signatures cover, and all three verifiers pass" "$(verdicts "$work/noid-out.eml")"
fi

SEND_SUBJECT="a bounce"
send_mail 127.0.0.1 "$PF_PORT" "<>" bob@example.net >/dev/null
check "the null sender (a bounce) is delivered" sink_wait_count 4 30
file=$(sink_message_files | tail -1)
check "... and never rewritten" grep -q '^X-Mail-Args: <>' <(sink_envelope "$file")

# Control headers: the stream and tags an application asks for.
SEND_SUBJECT="spring newsletter"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net \
	--add-header "X-SES-CONFIGURATION-SET: newsletters" \
	--add-header "X-SES-MESSAGE-TAGS: campaign=spring, team=growth, topic=weekly" >/dev/null
check "a message with control headers is delivered" sink_wait_count 5 30
take_delivered stream
check "... without them (they are internal)" bash -c "! grep -qi '^X-SES-' '$work/stream.eml'"
check "... with a Feedback-ID for the stream" \
	grep -q '^Feedback-ID: spring:newsletters:example.com:mailward' "$work/stream.eml"
# A bulk stream: one-click unsubscribe (RFC 8058), signed and oversigned.
unsub=$(awk '/^\r?$/ { exit } /^[ \t]/ { if (keep) { sub(/^[ \t]+/, " "); line = line $0 }; next }
	{ if (keep) print line; keep = /^List-Unsubscribe:/; line = $0 } END { if (keep) print line }' \
	"$work/stream.eml" | tr -d '\r')
token=$(sed -n 's|.*<https://mail.example.com/u/\([A-Za-z0-9_-]*\)>.*|\1|p' <<<"$unsub")
check "... with List-Unsubscribe: an https link and a mailto with the same token" \
	grep -q "<mailto:unsubscribe@bounce.example.com?subject=unsubscribe%20$token>" <<<"$unsub"
check "... and List-Unsubscribe-Post: List-Unsubscribe=One-Click" \
	grep -q '^List-Unsubscribe-Post: List-Unsubscribe=One-Click' "$work/stream.eml"
check "... the token names the recipient, the stream and the topic" \
	test "$("$build/tests/tools/unsub-decode" "$state/mailward.conf" "$token")" = "rcpt=bob@example.net stream=newsletters topic=weekly key=1"
check "... both fields are oversigned (named twice in h=)" \
	bash -c "tr -d '\r\n\t ' <'$work/stream.eml' | grep -o 'h=[^;]*' | head -1 | grep -o -i 'list-unsubscribe:' | wc -l | grep -qx 2"
check_verified "$work/stream.eml" "... signed (Feedback-ID covered), all three verifiers pass"
event=$(latest_event)
check "... its Send event has the configuration set and the message tags" \
	test "$(echo "$event" | json "[d['mail']['tags'][k] for k in ('ses:configuration-set', 'campaign', 'team')]")" = "[['newsletters'], ['spring'], ['growth']]"
check "... and none of the control headers in mail.headers" \
	test "$(echo "$event" | json "[h['name'] for h in d['mail']['headers'] if h['name'].lower().startswith('x-ses')]")" = "[]"
SEND_SUBJECT="unknown stream"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net \
	--add-header "X-SES-CONFIGURATION-SET: nosuchstream" >/dev/null
check "a message naming an unknown stream gets the configured tempfail" \
	grep -q '451 4.3.0 mailward: unknown sending stream' "$SEND_LOG"

# A transaction that ends after the header but before end of message (the
# MTA aborts it, or the connection is lost): the Send event started at the
# end of the header is withdrawn, never published, and the journal that held
# it is dropped at the next checkpoint (a leaked entry would pin it).
events_before=$(find "$state/spool/new" -name '*.json' | wc -l)
# Is there a live record (one naming its file's own journal number; a
# reused file keeps stale ones) of an event with the subject "aborted"?
journal_holds_aborted() {
	/usr/bin/python3 - "$state/spool/journal" <<'PY'
import os, sys
d = sys.argv[1]
for name in os.listdir(d):
    data = open(os.path.join(d, name), "rb").read()
    pos = 0
    while True:
        nl = data.find(b"\n", pos)
        f = data[pos:nl].split(b" ") if nl >= 0 else []
        if len(f) == 5 and f[0] == b"E" and int(f[3]) == int(name):
            body = data[nl + 1:nl + 1 + int(f[2])]
            if b"aborted" in body:
                sys.exit(0)
            pos = nl + 2 + int(f[2])
        elif len(f) == 4 and f[0] == b"V" and int(f[2]) == int(name):
            pos = nl + 1
        else:
            break
sys.exit(1)
PY
}
journal_drained() {
	for _ in $(seq 50); do
		journal_holds_aborted || return 0
		sleep 0.2
	done
	return 1
}
check "the end of header is answered (continue)" \
	test "$(/usr/bin/python3 "$top/tests/lib/milter-client.py" "127.0.0.1:$mw_port" eoh body abort)" = "c
c"
check "... an aborted transaction leaves the journal drained" journal_drained
/usr/bin/python3 "$top/tests/lib/milter-client.py" "127.0.0.1:$mw_port" eoh close >/dev/null
check "... so does a connection lost after the header" journal_drained
check "... and nothing was published" \
	test "$(find "$state/spool/new" -name '*.json' | wc -l)" = "$events_before"

SEND_SUBJECT="from a domain without a key"
send_mail 127.0.0.1 "$PF_PORT" carol@example.org bob@example.net >/dev/null
check "mail from a domain without a key is delivered unsigned (signing.unsigned = accept)" \
	sink_wait_count 6 30
file=$(sink_message_files | tail -1)
check "... with no DKIM-Signature" bash -c "! grep -q '^DKIM-Signature:' '$file'"
check "... and the log says why" grep -q "dkim=none (no key for From domain example.org)" "$state/log"

# On a unix-domain socket mailward asks Postfix for no answer to connect,
# HELO and each header (SMFIP_NR_*, a round trip per header saved): the
# headers then arrive without waiting, and the signatures must still cover
# every one of them.
kill "$mw_pid" && wait "$mw_pid" 2>/dev/null
mkdir -p "$state/run" && chmod 755 "$state" "$state/run"
sed 's|socket = "inet:[^"]*"; user = "mailward";|socket = "unix:'"$state"'/run/mw.sock"; user = "mailward"; socket_mode = "0666";|' \
	"$state/mailward.conf" >"$state/unix.conf"
"$mw" -f -c "$state/unix.conf" 2>>"$state/log" &
mw_pid=$!
check "mailward listens on a unix socket" wait_until 10 test -S "$state/run/mw.sock"
pf_conf "smtpd_milters = unix:$state/run/mw.sock"
SEND_SUBJECT="signed over a unix socket"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net \
	--add-header "X-Mailward-Tags: campaign=unix" --add-header "Reply-To: help@example.com" >/dev/null
check "a message signed over a unix socket (no answers to headers) is delivered" \
	sink_wait_count 7 30
take_delivered unix
check_verified "$work/unix.eml" "... both signatures verify with the three verifiers"
check "... Reply-To, after the control header, is signed" \
	bash -c "tr -d '\r\n\t ' <'$work/unix.eml' | grep -o 'h=[^;]*' | head -1 | grep -qi 'reply-to'"
check "... and the control header was read (its tag is in the Send event), then removed" \
	test "$(latest_event | json "d['mail']['tags'].get('campaign')"):$(grep -c '^X-Mailward-Tags' "$work/unix.eml")" = "['unix']:0"
# Nor to the end of the header, nor to body chunks (SMFIP_NR_EOH, _BODY), nor
# any DATA step: a 300 KB body arrives as five unanswered chunks, and a
# refusal decided at the end of the header is given at the end of the message.
/usr/bin/python3 -c 'import sys
for i in range(4000): sys.stdout.write("line %05d of a long body, long enough to need several milter chunks\n" % i)' >"$work/long-body.txt"
SEND_SUBJECT="a long message over a unix socket"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net --body "@$work/long-body.txt" >/dev/null
check "a 300 KB message (body chunks unanswered) is delivered" sink_wait_count 8 30
take_delivered unix-long
check_verified "$work/unix-long.eml" "... its signatures cover the whole body (three verifiers)"
events_before=$(find "$state/spool/new" -name '*.json' | wc -l)
SEND_SUBJECT="unknown stream over a unix socket"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net --body "@$work/long-body.txt" \
	--add-header "X-SES-CONFIGURATION-SET: nosuchstream" >/dev/null
check "an end-of-header refusal over a unix socket reaches the client after DATA" \
	grep -q '451 4.3.0 mailward: unknown sending stream' "$SEND_LOG"
check "... the message is not delivered and has no Send event" \
	test "$(sink_message_files | wc -l):$(find "$state/spool/new" -name '*.json' | wc -l)" = "8:$events_before"
SEND_SUBJECT="after a held refusal"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net >/dev/null
check "... and the next message is delivered" sink_wait_count 9 30

# A transactional stream gets no List-Unsubscribe.
SEND_SUBJECT="your receipt"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net \
	--add-header "X-SES-CONFIGURATION-SET: receipts" >/dev/null
check "a message of a transactional stream is delivered" sink_wait_count 10 30
file=$(sink_message_files | tail -1)
check "... without List-Unsubscribe or List-Unsubscribe-Post" bash -c "! grep -qi '^List-Unsubscribe' '$file'"
# One-click as the recipient's mail program does it: a POST to the link in
# the delivered newsletter (the reverse proxy's part played by pointing the
# link's path at the endpoint on loopback).
link=$(sed -n 's|.*<\(https://mail.example.com/u/[A-Za-z0-9_-]*\)>.*|\1|p' <<<"$unsub")
check "a one-click POST (RFC 8058 body) to the delivered message's link is answered 200" \
	test "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary 'List-Unsubscribe=One-Click' \
		-H 'Content-Type: application/x-www-form-urlencoded' "http://127.0.0.1:$http_port/u/${link##*/u/}")" = 200
bob_bounces() { grep -l '"OnAccountSuppressionList"' "$state"/spool/new/*.json 2>/dev/null | xargs -r grep -l 'bob@example.net' | wc -l; }
bounces_before=$(bob_bounces)
SEND_SUBJECT="next newsletter"
send_mail 127.0.0.1 "$PF_PORT" news@example.com bob@example.net >/dev/null
check "... the stream's next message to bob (stream chosen by its sender) is refused at RCPT" \
	grep -q '550 5.1.1 mailward: bob@example.net is on the suppression list (UNSUBSCRIBE' "$SEND_LOG"
check "... with a Bounce event for bob" test "$(bob_bounces)" = $((bounces_before + 1))
SEND_SUBJECT="another receipt"
send_mail 127.0.0.1 "$PF_PORT" alice@example.com bob@example.net \
	--add-header "X-SES-CONFIGURATION-SET: receipts" >/dev/null
check "... while a message of another stream to bob is still delivered" sink_wait_count 11 30

if ! done_testing; then
	sed 's/^/# /' "$state/log" | tail -30
	exit 1
fi
