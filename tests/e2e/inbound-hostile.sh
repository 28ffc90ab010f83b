#!/bin/bash
# inbound-hostile.sh - inbound mail built to hurt, through Postfix
#
# The set-up of inbound.sh (tests/e2e/inbound-lib.sh): NSD on
# MW_TEST_DNS_ADDR (127.0.53.42), a server that never answers on
# MW_TEST_SLOW_ADDR (127.0.53.43) for slow.example.org, a private Postfix
# with mailward as its milter, an untrusted client (127.0.0.5).  Each
# message must get a defined outcome in bounded time (measured; the bound
# is a generous 10 s) and one summary line with its queue ID:
#
#   1000 DKIM-Signature fields (five are verified), a header field of
#   1 MB (Postfix hands milters 60 KB of it), a header of 1 MB in 20 signed
#   fields, From with addresses of several domains (the strictest
#   outcome applies), two From fields, no From, a group without an
#   address, UTF-8 and invalid UTF-8 From domains, a MAIL FROM built to
#   break Authentication-Results; DNS answers that are huge (an SPF RRset
#   of 30 KB), truncated over UDP (a DMARC RRset of 3 KB: TCP) or never
#   come (SPF, DKIM key and DMARC lookups end at dns.query_timeout_ms, all
#   three together within dns.message_budget_ms).
#
# Every domain of every From field is judged (addresses without a domain
# are skipped), so a second From field, a harmless domain in front or a
# broken address cannot hide a p=reject domain; a From naming more domains
# than mailward judges is refused.  mailward must be alive at the end.
# About 20 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns-lib.sh"
. "$top/tests/e2e/postfix-lib.sh"
. "$top/tests/e2e/inbound-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (DNS on port 53, private Postfix)"
need_tools nsd postfix swaks openssl
/usr/bin/python3 -c 'import dkim, nacl' 2>/dev/null || skip_all "python3-dkim missing (tools/deps)"

ib_work inbound-hostile

# ------------------------------------------------------------ DNS
DNS_ADDR=${MW_TEST_DNS_ADDR:-127.0.53.42}
SLOW=${MW_TEST_SLOW_ADDR:-127.0.53.43}
ib_keys
dns_setup "$work/dns" "$DNS_ADDR" >/dev/null
for z in com example.com org example.org; do dns_zone "$z"; done
ib_publish_keys dkim.example.com
dns_txt spf-ip4.example.com "v=spf1 ip4:127.0.0.0/29 -all"
for d in reject pnone a b c d; do
	dns_txt "$d.example.com" "v=spf1 -all"
done
dns_txt _dmarc.reject.example.com "v=DMARC1; p=reject"
dns_txt _dmarc.pnone.example.com "v=DMARC1; p=none"
for d in a b c d; do dns_txt "_dmarc.$d.example.com" "v=DMARC1; p=none"; done
# IDNA: bücher.example.com is xn--bcher-kva.example.com.
dns_txt _dmarc.xn--bcher-kva.example.com "v=DMARC1; p=reject"
# A huge SPF answer: 120 other TXT records of 250 bytes beside the SPF record.
for i in $(seq -w 1 120); do
	dns_txt huge.example.com "filler $i $(printf 'x%.0s' $(seq 1 238))"
done
dns_txt huge.example.com "v=spf1 ip4:127.0.0.5 -all"
# A DMARC RRset of 3 KB: over UDP it is truncated (unbound asks for 1232 bytes).
for i in $(seq -w 1 12); do
	dns_txt _dmarc.tcp.example.com "not dmarc $i $(printf 'y%.0s' $(seq 1 235))"
done
dns_txt _dmarc.tcp.example.com "v=DMARC1; p=reject"
dns_start || {
	echo "Bail out! NSD did not start"
	exit 1
}
ib_silent_start "$SLOW" || {
	echo "Bail out! the silent DNS server on $SLOW did not start"
	exit 1
}

# ------------------------------------------------------------ Postfix, mailward
pf_setup "$work/pf" >/dev/null || {
	echo "Bail out! pf_setup failed"
	exit 1
}
timeout_ms=1000
budget_ms=2500
if ! ib_mailward_start "$(
	cat <<CONF
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "127.0.0.1/32" ];
events = { spool_dir = "$work/mailward/spool"; };
store = { path = "$work/mailward/mailward.db"; };
dns = {
  nameservers = [ "$DNS_ADDR" ];
  forward_zones = ( { zone = "slow.example.org"; nameservers = [ "$SLOW" ]; } );
  query_timeout_ms = $timeout_ms;
  message_budget_ms = $budget_ms;
};
inbound = { authserv_id = "$IB_AUTHSERV"; };
CONF
)"; then
	echo "Bail out! mailward did not start"
	sed 's/^/# /' "$work/mailward/log"
	exit 1
fi
if ! { sink_start && pf_start; }; then
	echo "Bail out! Postfix or the sink did not start"
	exit 1
fi

# ------------------------------------------------------------ helpers
C=127.0.0.5
mkdir -p "$work/msg"
sent=0
# hostile NAME HEADER-LINES: a message (CRLF) with these header lines (LF
# separated, printf-escaped) above To, Subject, Date and a short body.
hostile() {
	local f=$work/msg/$1.eml
	{
		printf '%b\n' "$2" | sed 's/$/\r/'
		printf 'To: bob@rcpt.test\r\nSubject: hostile %s\r\n' "$1"
		printf 'Date: Mon, 23 Nov 2026 19:00:00 +0000\r\nMessage-ID: <%s@inbound.test>\r\n' "$1"
		printf '\r\nFirst line.\r\nSecond line.\r\n'
	} >"$f"
	printf '%s' "$f"
}
# send NAME SENDER FILE [SWAKS_ARGS]: ib_send from the untrusted client.
send() {
	local name=$1
	shift
	ib_send "$C" "$@"
	sent=$((sent + 1))
	summary=$(ib_summary "$IB_QID")
	diag "$name: $IB_WHERE ${IB_REPLY:-no reply} in $IB_MS ms"
}
# outcome WHERE MAX_MS STRING...: the last message went WHERE within
# MAX_MS, had one summary line, and each STRING is in what mailward added
# (or, when refused, in its summary line).
outcome() {
	local where=$1 max=$2 text s
	shift 2
	why="where=$IB_WHERE reply=$IB_REPLY ms=$IB_MS qid=$IB_QID summaries=$(grep -c . <<<"$summary")"
	[ "$IB_WHERE" = "$where" ] && [ "$IB_MS" -lt "$max" ] && [ "$(grep -c . <<<"$summary")" = 1 ] ||
		return 1
	if [ "$where" = refused ]; then text=$summary; else text=$(cat "$IB_HEADERS"); fi
	for s in "$@"; do
		grep -qF -- "$s" <<<"$text" || { why="$why; missing: $s"; return 1; }
	done
}
check_outcome() {
	local what=$1
	shift
	if outcome "$@"; then
		pass "$what"
	else
		fail "$what" "$why" "$(sed 's/^/  /' "$IB_HEADERS")" "summary: $summary"
	fi
}

plan 23

# ------------------------------------------------------------ header floods
good=$(hostile good "From: u@dkim.example.com")
ib_sign py:rsa:dkim.example.com "$good"
f=$work/msg/thousand.eml
{
	for i in $(seq 1 999); do
		printf 'DKIM-Signature: v=1; a=rsa-sha256; d=dkim.example.com; s=junk%d; h=from;\r\n bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n' "$i"
	done
	cat "$good"
} >"$f"
send "1000 DKIM-Signature fields" thousand@spf-ip4.example.com "$f"
check_outcome "1000 DKIM-Signature fields: delivered in < 10 s, the top five verified (no key: permerror)" \
	sink 10000 "dkim=permerror (no key \\(nxdomain\\)) header.d=dkim.example.com header.i=@dkim.example.com header.s=junk1 " \
	"header.s=junk5 "
check "... and no more than five: not the signature that would pass" \
	test "$(grep -o 'dkim=' "$IB_HEADERS" | wc -l):$(grep -c 'dkim=pass' "$IB_HEADERS")" = 5:0

# One field of 1 MB: with milters Postfix cuts a header field to fit one
# milter packet (about 60 KB, whatever header_size_limit says), so mailward
# gets the cut field; the signature does not cover it.
f=$(hostile bigfield "X-Junk: start\nFrom: u@dkim.example.com")
{
	head -1 "$f"
	head -c 720000 /dev/urandom | base64 -w 76 | sed 's/^/ /; s/$/\r/'
	tail -n +2 "$f"
} >"$f.new" && mv "$f.new" "$f"
ib_sign py:rsa:dkim.example.com "$f"
send "one header field of 1 MB" bigfield@spf-ip4.example.com "$f"
check_outcome "one header field of 1 MB (Postfix passes 60 KB of it): delivered in < 10 s, DKIM passes" \
	sink 10000 "spf=pass" "dkim=pass (2048-bit key) header.d=dkim.example.com" "dmarc=none"
# A header of 1 MB in 20 fields of 50 KB, every one signed: mailward must
# hash all of it to pass.
fields=""
for i in $(seq -w 1 20); do fields+="X-Junk-$i:"; done
f=$(hostile bigheader "X-Junk: start\nFrom: u@dkim.example.com")
{
	for i in $(seq -w 1 20); do
		printf 'X-Junk-%s: %s\r\n' "$i" "$i"
		head -c 37000 /dev/urandom | base64 -w 76 | sed 's/^/ /; s/$/\r/'
	done
	cat "$f"
} >"$f.new" && mv "$f.new" "$f"
IB_SIGN_HEADERS=${fields}from:to:subject ib_sign py:rsa:dkim.example.com "$f"
send "a header of 1 MB" bigheader@spf-ip4.example.com "$f"
check_outcome "a header of $(($(sed '/^\r$/q' "$f" | wc -c) / 1024)) KB (20 signed fields of 50 KB): delivered in < 10 s, DKIM passes" \
	sink 10000 "spf=pass" "dkim=pass (2048-bit key) header.d=dkim.example.com" "dmarc=none"

# ------------------------------------------------------------ From
send "From: two addresses, reject first" from2a@spf-ip4.example.com \
	"$(hostile from2a "From: u@reject.example.com, v@pnone.example.com")"
check_outcome "From with a p=reject and a p=none domain: the strictest applies, rejected 550 5.7.1" \
	refused 10000 "header_from=reject.example.com" "dmarc=fail policy=reject" "action=reject"
send "From: two addresses, reject second" from2b@spf-ip4.example.com \
	"$(hostile from2b "From: \"A, B\" <v@pnone.example.com>, u@reject.example.com")"
check_outcome "... whichever comes first" refused 10000 "header_from=reject.example.com" "action=reject"
send "From: five domains, reject last" from5@spf-ip4.example.com \
	"$(hostile from5 "From: a@a.example.com, b@b.example.com, c@c.example.com, d@d.example.com, e@reject.example.com")"
check_outcome "From with five domains, p=reject the fifth: every one is judged, rejected" \
	refused 10000 "header_from=reject.example.com" "action=reject"
send "From: nine domains" from9@spf-ip4.example.com \
	"$(hostile from9 "From: a@a.example.com, b@b.example.com, c@c.example.com, d@d.example.com, e@e.example.com, f@f.example.com, g@g.example.com, h@h.example.com, i@i.example.com")"
check_outcome "From with more domains than are judged (9): refused rather than half judged" \
	refused 10000 "policy=reject" "action=reject"
send "two From fields" twofrom@spf-ip4.example.com \
	"$(hostile twofrom "From: v@pnone.example.com\nFrom: u@reject.example.com")"
check_outcome "two From fields, p=reject in the second: both judged, rejected" \
	refused 10000 "header_from=reject.example.com" "action=reject"
send "From: a p=reject address and one without a domain" frombroken@spf-ip4.example.com \
	"$(hostile frombroken "From: u@reject.example.com, broken@")"
check_outcome "From with a p=reject address and one without a domain: the valid one judged, rejected" \
	refused 10000 "header_from=reject.example.com" "action=reject"
send "no From" nofrom@spf-ip4.example.com "$(hostile nofrom "Sender: u@reject.example.com")"
check_outcome "no From field: delivered, dmarc=permerror" sink 10000 "spf=pass" \
	"dmarc=permerror (no From header field)"
send "a group without addresses" group@spf-ip4.example.com "$(hostile group "From: undisclosed-recipients:;")"
check_outcome "From: a group without addresses: delivered, dmarc=permerror" sink 10000 "dmarc=permerror ("
send "UTF-8 From domain" utf8@spf-ip4.example.com \
	"$(hostile utf8 "From: J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbccher.example.com>")"
check_outcome "From: jörg@bücher.example.com (UTF-8): its A-label's p=reject applies, rejected" \
	refused 10000 "header_from=xn--bcher-kva.example.com" "dmarc=fail policy=reject"
send "invalid UTF-8 From domain" badutf8@spf-ip4.example.com \
	"$(hostile badutf8 "From: u@b\xff\xfecher.example.com")"
check_outcome "From with invalid UTF-8 in its domain: delivered, dmarc=permerror" sink 10000 \
	"dmarc=permerror ("
f=$(hostile quoted "From: u@spf-ip4.example.com")
send "MAIL FROM with specials" '"a;b (c) dmarc=pass\"x"@spf-ip4.example.com' "$f"
check_outcome "MAIL FROM with ; ( ) = and a quote: quoted in smtp.mailfrom, the header stays well formed" \
	sink 10000 'spf=pass smtp.mailfrom="\"a;b (c) dmarc=pass\\\"x\"@spf-ip4.example.com";' "dmarc=none ("

# ------------------------------------------------------------ DNS answers
send "a 30 KB SPF answer" huge@huge.example.com "$(hostile huge "From: u@pnone.example.com")"
check_outcome "an SPF RRset of 30 KB (121 TXT records, over TCP): the SPF record is found, spf=pass" \
	sink 10000 "spf=pass smtp.mailfrom=huge@huge.example.com"
send "a truncated DMARC answer" tcp@spf-ip4.example.com "$(hostile tcp "From: u@tcp.example.com")"
check_outcome "a DMARC RRset of 3 KB (truncated over UDP, asked again over TCP): its p=reject applies" \
	refused 10000 "header_from=tcp.example.com" "dmarc=fail policy=reject"

slow_max=$((timeout_ms + 1500))
send "SPF lookup never answered" slowspf@x.slow.example.org "$(hostile slowspf "From: u@pnone.example.com")"
check_outcome "SPF: a lookup never answered is spf=temperror after dns.query_timeout_ms ($IB_MS ms < $slow_max)" \
	sink "$slow_max" "spf=temperror" "dmarc=fail (p=none dis=none)"
check "... and not less than dns.query_timeout_ms" test "$IB_MS" -ge "$timeout_ms"
f=$(hostile slowkey "From: u@pnone.example.com")
ib_sign py:rsa:slow.example.org "$f"
send "DKIM key lookup never answered" slowkey@spf-ip4.example.com "$f"
check_outcome "DKIM: a key lookup never answered is dkim=temperror ($IB_MS ms < $slow_max)" \
	sink "$slow_max" "dkim=temperror (key lookup failed: timeout) header.d=slow.example.org"
f=$(hostile slowall "From: u@x.slow.example.org")
ib_sign py:rsa:slow.example.org "$f"
send "SPF, DKIM and DMARC never answered" slowall@y.slow.example.org "$f"
check_outcome "SPF, DKIM key and DMARC all unanswered: 451 4.7.0 within dns.message_budget_ms ($IB_MS ms < $((budget_ms + 1500)))" \
	refused $((budget_ms + 1500)) "spf=temperror dkim=temperror:slow.example.org dmarc=temperror" \
	"action=tempfail"

# ------------------------------------------------------------ and still there
check "mailward logged one summary line per message ($sent), queue ID first" \
	test "$(grep -cE 'info: [0-9A-F]+: inbound reason=untrusted_client ' "$state/log")" = "$sent"
check "mailward is still running (pid $mw_pid), nothing fatal logged" \
	ib_alive
diag "inbound-hostile.sh: $((($(now_us) - t_start) / 1000)) ms"

if ! done_testing; then
	sed 's/^/# /' "$state/log" | tail -30
	pf_diag 20
	exit 1
fi
