#!/bin/bash
# secrets.sh - no secret is ever written to the log, the events or the store
#
# mailward runs at log level debug with every kind of secret it holds: a
# VERP/unsubscribe secret, two DKIM private keys (RSA and Ed25519) and a
# webhook signing key (RSA).  Traffic touches each: outbound mail in a bulk
# stream (signed twice, a VERP MAIL FROM, a List-Unsubscribe link), inbound
# mail through SPF/DKIM/DMARC against a private NSD (one authenticated,
# one forged), a DSN to the VERP address and an ARF complaint, a one-click
# POST of the link's token and a forged one, an unsubscribe mail, and
# "mailward events dispatch" (debug too) delivering the events, signed,
# to a loopback receiver that checks each signature.  Then
# tests/e2e/secret-scan.py looks for every secret (raw, hex, base64 at any
# alignment, whole and in slices) in the daemon's and the dispatcher's
# logs, the spool, the store (its SQLite files, and a dump) and what the
# receiver got: none may be there.  The scanner is first shown to find a
# planted copy of each.  About 15 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns-lib.sh"
. "$top/tests/e2e/postfix-lib.sh"
. "$top/tests/e2e/inbound-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (DNS on port 53)"
need_tools nsd curl sqlite3 openssl
/usr/bin/python3 -c 'import dkim, cryptography' 2>/dev/null ||
	skip_all "python3-dkim or python3-cryptography missing (tools/deps)"

ib_work secrets
plan 17

DNS_ADDR=${MW_TEST_DNS_ADDR:-127.0.53.97}
MILTER_ADDR=${MW_TEST_MILTER_ADDR:-127.0.53.98}
HTTP_ADDR=${MW_TEST_HTTP_ADDR:-127.0.53.99}
py=/usr/bin/python3

# ------------------------------------------------------------ DNS (inbound)
ib_keys
dns_setup "$work/dns" "$DNS_ADDR" >/dev/null
for z in org example.org; do dns_zone "$z"; done
dns_txt example.org "v=spf1 ip4:127.0.0.5 -all"
dns_txt _dmarc.example.org "v=DMARC1; p=reject"
ib_publish_keys example.org
dns_start >/dev/null || skip_all "NSD did not start on $DNS_ADDR"

# ------------------------------------------------------------ mailward's secrets
secrets=$work/secrets
mkdir -p "$secrets"
head -c 32 /dev/urandom >"$secrets/verp.key"
openssl genrsa -out "$secrets/dkim-rsa.pem" 2048 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$secrets/dkim-ed.pem" 2>/dev/null
openssl genrsa -out "$secrets/sns.pem" 2048 2>/dev/null
chmod 600 "$secrets"/*
openssl req -new -x509 -key "$secrets/sns.pem" -subj /CN=mailward-sns -days 2 \
	-out "$work/sns.crt" 2>/dev/null
scan_args=(--raw "$secrets/verp.key" --pem "$secrets/dkim-rsa.pem" --pem "$secrets/dkim-ed.pem"
	--pem "$secrets/sns.pem")
scan() { $py "$top/tests/e2e/secret-scan.py" "${scan_args[@]}" -- "$@"; }

# The scanner finds what it must: a planted copy of each secret, in some form.
plant=$work/planted
mkdir -p "$plant"
xxd -p "$secrets/verp.key" | tr -d '\n' >"$plant/verp.hex"
{ printf 'x'; base64 -w0 <"$secrets/verp.key"; } >"$plant/verp.b64"
cp "$secrets/verp.key" "$plant/verp.raw"
cp "$secrets/dkim-rsa.pem" "$plant/rsa.pem"
openssl pkey -in "$secrets/dkim-ed.pem" -outform DER | tail -c 32 | xxd -p >"$plant/ed.hex"
{ printf 'debug: key='; sed '1d;$d' "$secrets/sns.pem" | tr -d '\n' | cut -c 300-900; } >"$plant/sns.log"
found=$(scan "$plant" | sed -n 's/^LEAK \([^:]*\):.*/\1/p' | sort -u | xargs -n1 basename | tr '\n' ' ')
check "the scanner finds a planted copy of each secret ($found)" \
	test "$found" = "ed.hex rsa.pem sns.log verp.b64 verp.hex verp.raw "

read -r mw_port http_port hook_port < <(pf_free_ports 3)
state=$work/mailward
mkdir -p "$state"
topic=arn:aws:sns:local:000000000000:secrets
cert_url=https://hooks.example/mailward-sns.pem
unsub_url=https://hooks.example/unsubscribe
cat >"$state/mailward.conf" <<CONF
daemon = { socket = "inet:$mw_port@$MILTER_ADDR"; user = ""; };
log = { to = "stderr"; level = "debug"; };
trusted_networks = [ "127.0.0.1/32" ];
domains = ( { domain = "example.com"; selector = "rsa"; key = "$secrets/dkim-rsa.pem"; },
            { domain = "example.com"; selector = "ed"; key = "$secrets/dkim-ed.pem";
              algorithm = "ed25519-sha256"; } );
mail_from = ( { domain = "example.com"; bounce_domain = "bounce.example.com"; } );
dns = { nameservers = [ "$DNS_ADDR" ]; };
inbound = { authserv_id = "mx.secrets.test"; };
streams = ( { name = "newsletters"; bulk = true; } );
unsubscribe = { url = "https://mail.example.com/u/"; mailto = "unsubscribe@bounce.example.com";
  listen = "$HTTP_ADDR:$http_port"; };
feedback = { bounce_domains = [ "bounce.example.com" ];
  complaint_addresses = [ "complaints@example.org" ];
  verp_keys = ( { id = 1; file = "$secrets/verp.key"; } ); };
events = { spool_dir = "$state/spool"; };
webhooks = ( { name = "hook"; url = "http://127.0.0.1:$hook_port/sns"; topic_arn = "$topic";
  signing_key = "$secrets/sns.pem"; signing_cert_url = "$cert_url";
  unsubscribe_url = "$unsub_url"; timeout = 5; max_attempts = 2; } );
store = { path = "$state/state.db"; };
CONF
"$mw" -f -c "$state/mailward.conf" 2>"$state/log" &
mw_pid=$!
check "mailward starts with every secret loaded, at log level debug" \
	wait_until 10 bash -c "ss -ltn | grep -q '$MILTER_ADDR:$mw_port ' && ss -ltn | grep -q '$HTTP_ADDR:$http_port '"

mc() { # mc CLIENT FROM RCPT QID FILE
	$py "$top/tests/lib/milter-client.py" "$MILTER_ADDR:$mw_port" --message "$5" \
		--client "$1" --from "$2" --rcpt "$3" --qid "$4"
}
msg() { # msg FILE FROM [HEADER...]
	local file=$1 from=$2
	shift 2
	{
		printf 'From: %s\r\nTo: bob@rcpt.test\r\nSubject: secrets\r\nDate: Tue, 24 Nov 2026 00:00:00 +0000\r\nMessage-ID: <%s@secrets.test>\r\n' "$from" "$RANDOM$RANDOM"
		for h in "$@"; do printf '%s\r\n' "$h"; done
		printf '\r\nFirst line.\r\nSecond line.\r\n'
	} >"$file"
}

# ------------------------------------------------------------ traffic
msg "$work/out.eml" alice@example.com "X-SES-CONFIGURATION-SET: newsletters"
out=$(mc 127.0.0.1 alice@example.com bob@rcpt.test OUT1 "$work/out.eml")
check "outbound: signed with both keys" \
	test "$(grep -c '^insheader DKIM-Signature:' <<<"$out")" = 2
verp=$(sed -n 's/^chgfrom <\{0,1\}\(b-[^>@]*@bounce.example.com\)>\{0,1\}.*/\1/p' <<<"$out" | head -1)
token=$(grep -o 'https://mail.example.com/u/[A-Za-z0-9_-]*' <<<"$out" | head -1 | sed 's|.*/u/||')
check "... with a VERP MAIL FROM ($verp) and an unsubscribe link" \
	test -n "$verp" -a -n "$token"

msg "$work/good.eml" a@example.org
ib_sign py:rsa:example.org "$work/good.eml"
msg "$work/bad.eml" x@example.org
check "inbound: an authenticated message is accepted, a forged one refused" \
	test "$(mc 127.0.0.5 a@example.org bob@mx.secrets.test IN1 "$work/good.eml" | tail -1):$(mc 127.0.0.9 x@example.org bob@mx.secrets.test IN2 "$work/bad.eml" | tail -1)" = "verdict accept:verdict reply"

fb=$top/tests/data/feedback
check "feedback: a DSN to the VERP address and an ARF complaint are taken" \
	test "$(mc 127.0.0.5 '' "$verp" FB1 "$fb/postfix-host-not-found.eml" | tail -1):$(mc 127.0.0.5 fbl@isp.example complaints@example.org FB2 "$fb/arf-abuse.eml" | tail -1)" = "verdict discard:verdict accept"
check "... the bounce was correlated by its VERP token" \
	wait_until 5 grep -q 'feedback kind=bounce .*correlation=verp' "$state/log"

url=http://$HTTP_ADDR:$http_port/u
check "one-click: the link's token is honoured (200)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'List-Unsubscribe=One-Click' "$url/$token")" = 200
check "... a forged one refused (404)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'List-Unsubscribe=One-Click' "$url/${token%?????}AAAAA")" = 404
printf 'From: carol@example.com\r\nTo: unsubscribe@bounce.example.com\r\nSubject: unsubscribe %s\r\n\r\n\r\n' "$token" >"$work/unsub.eml"
check "an unsubscribe mail with the token is taken (discarded)" \
	grep -q '^verdict discard' <<<"$(mc 127.0.0.5 carol@example.com unsubscribe@bounce.example.com UNSUB1 "$work/unsub.eml")"

$py "$top/tests/e2e/webhook-receiver.py" "$hook_port" "$work/hook.log" \
	"$work/sns.crt" "$topic" "$cert_url" "$unsub_url" eventType "$work/hook.fail" &
receiver_pid=$!
wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$hook_port" 2>/dev/null
events=$(find "$state/spool/new" -name '*.json' | wc -l)
"$mw" events -c "$state/mailward.conf" dispatch --once 2>"$work/dispatch.log"
check "the webhook got every event ($events), each signed and verified" \
	$py -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == int(sys.argv[2]) and all(r["ok"] for r in recs), recs' "$work/hook.log" "$events"
kill "$receiver_pid" 2>/dev/null
wait "$receiver_pid" 2>/dev/null
kill -HUP "$mw_pid" # a reload reads every secret again
sleep 0.5
check "debug lines were written (the scan reads a full log)" \
	test "$(grep -c ' debug: ' "$state/log")" -gt 10

# ------------------------------------------------------------ the scan
sqlite3 "$state/state.db" .dump >"$work/store.dump"
leaks() { # leaks WHAT PATH...: the scanner's finds, as TAP comments; true when clean
	local said
	said=$(scan "$@") && return 0
	sed 's/^/# /' <<<"$said" | head -10
	return 1
}
check "no secret in mailward's log" leaks "$state/log"
check "no secret in the dispatcher's log" leaks "$work/dispatch.log"
check "no secret in the spool (events, journal, dead letters)" leaks "$state/spool"
check "no secret in the store (its files and a dump)" leaks "$state"/state.db* "$work/store.dump"
check "no secret in what the webhook receiver got" leaks "$work/hook.log" "$work/hook.log.raw"

if [ "$TAP_FAILED" -gt 0 ]; then
	sed 's/^/# /' "$state/log" | tail -20
fi
done_testing
