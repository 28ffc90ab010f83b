#!/bin/bash
# inbound.sh - inbound SPF, DKIM and DMARC end to end, through Postfix and
# through the milter protocol alone
#
# A private NSD on MW_TEST_DNS_ADDR (127.0.53.40) serves SPF records of
# every mechanism (ip4, ip6, a, mx, ptr, include, exists with macros, all,
# redirect=, exp=), DKIM keys (RSA and Ed25519, the RFC 8463 keys) and
# DMARC records with every tag (p sp np adkim aspf pct t psd fo rua ruf
# ri), the parent zones (so the DMARC tree walk gets NXDOMAIN), a zone NSD
# cannot load (SERVFAIL) and 0.0.127.in-addr.arpa (ptr).  A server on
# MW_TEST_SLOW_ADDR (127.0.53.41) that never answers takes slow.example.org
# through dns.forward_zones.  Untrusted clients (127.0.0.5, the forwarder
# 127.0.0.9) send through a private Postfix whose milter is mailward.
#
# The table below is one message per row: what the client sends (MAIL
# FROM, From, DKIM signatures by dkimpy, OpenDKIM or mailward's signer,
# perhaps tampered) and what must become of it: delivered to the sink,
# held in Postfix's hold queue, refused with 550 5.7.1 or 451 4.7.0.  For
# a message that arrives (sink or hold) each expected string must be in
# the Authentication-Results or Received-SPF mailward added; for a refused
# one, in mailward's summary log line.  Every message must have exactly
# one summary line with its Postfix queue ID and the right action=.  Then
# forged Authentication-Results, quarantine = "header", monitor mode, and
# mailward still alive.  About 20 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns-lib.sh"
. "$top/tests/e2e/postfix-lib.sh"
. "$top/tests/e2e/inbound-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (DNS on port 53, private Postfix)"
need_tools nsd postfix swaks opendkim openssl
/usr/bin/python3 -c 'import dkim, nacl' 2>/dev/null || skip_all "python3-dkim missing (tools/deps)"
[ -x "$build/tests/tools/dkim-sign-file" ] || skip_all "tests/tools/dkim-sign-file not built"

ib_work inbound

# ------------------------------------------------------------ DNS
DNS_ADDR=${MW_TEST_DNS_ADDR:-127.0.53.40}
SLOW=${MW_TEST_SLOW_ADDR:-127.0.53.41}
ib_keys
dns_setup "$work/dns" "$DNS_ADDR" >/dev/null
for z in com example.com org example.org net example.net 0.0.127.in-addr.arpa; do dns_zone "$z"; done

# SPF: one record per mechanism, all passing 127.0.0.5.
dns_txt spf-ip4.example.com "v=spf1 ip6:2001:db8::/32 ip4:127.0.0.0/29 -all"
dns_txt spf-a.example.com "v=spf1 a:hosts.spf-a.example.com -all"
dns_record hosts.spf-a.example.com A 127.0.0.5
dns_txt spf-mx.example.com "v=spf1 mx -all"
dns_record spf-mx.example.com MX "10 mx.spf-mx.example.com."
dns_record mx.spf-mx.example.com A 127.0.0.5
dns_txt spf-ptr.example.com "v=spf1 ptr -all"
dns_record 5.0.0.127.in-addr.arpa PTR client5.spf-ptr.example.com.
dns_record client5.spf-ptr.example.com A 127.0.0.5
dns_txt spf-include.example.com "v=spf1 include:spf-ip4.example.com -all"
dns_txt spf-exists.example.com "v=spf1 exists:%{ir}.allow.%{d} -all"
dns_record 5.0.0.127.allow.spf-exists.example.com A 127.0.0.2
dns_txt spf-redirect.example.com "v=spf1 ?a:nothing.spf-redirect.example.com redirect=spf-ip4.example.com"
dns_txt spf-fail.example.com "v=spf1 ip4:192.0.2.0/24 -all exp=explain.spf-fail.example.com"
dns_txt explain.spf-fail.example.com "%{i} is not a sender of %{d}"
dns_txt spf-softfail.example.com "v=spf1 ip4:192.0.2.0/24 ~all"
dns_txt spf-neutral.example.com "v=spf1 ip4:192.0.2.0/24 ?all"
dns_txt spf-none.example.com "not an SPF record"
dns_txt spf-permerror.example.com "v=spf1 include:spf-none.example.com -all"

# DKIM keys (selectors rsa and ed) and RFC 8463's.
ib_publish_keys dkim.example.com dkonly.example.com spfonly.example.com relaxed.example.com \
	strict.example.com reject.example.com
dns_txt brisbane._domainkey.football.example.com \
	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
dns_txt test._domainkey.football.example.com "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

# DMARC: every tag somewhere.  SPF fails for these domains unless said.
for d in dkonly reject quarantine pnone pct0 testing sp np relaxed strict monitored; do
	dns_txt "$d.example.com" "v=spf1 -all"
done
dns_txt _dmarc.dkonly.example.com "v=DMARC1; p=reject"
dns_txt spfonly.example.com "v=spf1 ip4:127.0.0.5 -all"
dns_txt _dmarc.spfonly.example.com "v=DMARC1; p=reject; adkim=s"
dns_txt _dmarc.reject.example.com "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=r; fo=1; rua=mailto:agg@example.com; ruf=mailto:fail@example.com; ri=3600"
dns_txt _dmarc.quarantine.example.com "v=DMARC1; p=quarantine; fo=d:s"
dns_txt _dmarc.pnone.example.com "v=DMARC1; p=none; rua=mailto:agg@example.com"
dns_txt _dmarc.pct0.example.com "v=DMARC1; p=quarantine; pct=0"
dns_txt _dmarc.testing.example.com "v=DMARC1; p=reject; t=y"
dns_txt _dmarc.sp.example.com "v=DMARC1; p=none; sp=reject"
dns_record sub.sp.example.com A 192.0.2.1
dns_txt _dmarc.np.example.com "v=DMARC1; p=none; sp=none; np=reject"
dns_record real.np.example.com A 192.0.2.1
dns_txt _dmarc.relaxed.example.com "v=DMARC1; p=reject"
dns_txt bounce.relaxed.example.com "v=spf1 ip4:127.0.0.5 -all"
dns_txt _dmarc.strict.example.com "v=DMARC1; p=reject; adkim=s; aspf=s"
dns_txt bounce.strict.example.com "v=spf1 ip4:127.0.0.5 -all"
dns_txt _dmarc.monitored.example.com "v=DMARC1; p=reject"
# A Public Suffix Domain (psd=y): its sp= covers organizations without a record.
dns_txt _dmarc.example.net "v=DMARC1; p=none; sp=reject; psd=y"
dns_record shop.example.net A 192.0.2.1
dns_start || {
	echo "Bail out! NSD did not start"
	exit 1
}
# A zone NSD cannot load: it answers SERVFAIL (as in dns.sh).
dns_zone broken.example.org
printf 'this is not a zone file\n' >"$DNS_DIR/zones/broken.example.org.zone"
nsd-control -c "$DNS_CONF" reconfig >/dev/null
servfail() {
	local rc=0
	dns_query x.broken.example.org TXT >/dev/null 2>&1 || rc=$?
	[ "$rc" = 3 ]
}
wait_until 10 servfail || {
	echo "Bail out! NSD does not answer SERVFAIL for broken.example.org"
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
policy() { # $1: inbound settings beyond the common ones
	cat <<CONF
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "127.0.0.1/32" ];
events = { spool_dir = "$work/mailward/spool"; };
store = { path = "$work/mailward/mailward.db"; };
dns = {
  nameservers = [ "$DNS_ADDR" ];
  forward_zones = ( { zone = "slow.example.org"; nameservers = [ "$SLOW" ]; },
                    { zone = "0.0.127.in-addr.arpa"; nameservers = [ "$DNS_ADDR" ]; } );
  query_timeout_ms = 1000;
  message_budget_ms = 3000;
};
inbound = {
  authserv_id = "$IB_AUTHSERV";
  received_spf = true;
  monitor_domains = [ "monitored.example.com" ];
  forwarders = [ "127.0.0.9/32" ];
  ${1:-}
};
CONF
}
if ! ib_mailward_start "$(policy)"; then
	echo "Bail out! mailward did not start"
	sed 's/^/# /' "$work/mailward/log"
	exit 1
fi
if ! { sink_start && pf_start; }; then
	echo "Bail out! Postfix or the sink did not start"
	exit 1
fi

# ------------------------------------------------------------ the cases
mkdir -p "$work/msg"
# message NAME FROM: a CRLF message file; FROM "-" for none.
message() {
	local f=$work/msg/$1.eml
	if [ -e "$f.src" ]; then
		cp "$f.src" "$f"
		printf '%s' "$f"
		return
	fi
	{
		[ "$2" = - ] || printf 'From: %s\r\n' "$2"
		printf 'To: bob@rcpt.test\r\nSubject: inbound case %s\r\n' "$1"
		printf 'Date: Mon, 23 Nov 2026 19:00:00 +0000\r\nMessage-ID: <%s@inbound.test>\r\n' "$1"
		printf '\r\nFirst line.\r\nSecond line.\r\n'
	} >"$f"
	printf '%s' "$f"
}
# verdict OUTCOME: does the last ib_send match? (sets why)
verdict() {
	local action=accept where=sink
	case $1 in
	reject) action=reject where=refused ;;
	tempfail) action=tempfail where=refused ;;
	hold) where=hold ;;
	esac
	summary=$(ib_summary "$IB_QID")
	why="reply=$IB_REPLY where=$IB_WHERE qid=$IB_QID summary lines=$(grep -c . <<<"$summary")"
	[ "$IB_WHERE" = "$where" ] && [ -n "$IB_QID" ] && [ "$(grep -c . <<<"$summary")" = 1 ] &&
		grep -q " action=$action " <<<"$summary" || return 1
	case $1 in
	reject) [ "$IB_REPLY" = "550 5.7.1" ] ;;
	tempfail) [ "$IB_REPLY" = "451 4.7.0" ] ;;
	esac
}
# expect_in TEXT STRING...: every STRING is in TEXT.
expect_in() {
	local text=$1 s
	shift
	for s in "$@"; do
		grep -qF -- "$s" <<<"$text" || { why="$why; missing: $s"; return 1; }
	done
}
run_case() {
	local name=$1 client=$2 mfrom=$3 from=$4 sign=$5 outcome=$6 file text sender=$1@$3 helo=()
	shift 6
	file=$(message "$name" "$from")
	if ! ib_sign "$sign" "$file" 2>"$file.err"; then
		fail "$name: $outcome" "signing failed: $(cat "$file.err")"
		return
	fi
	if [ "$mfrom" = - ]; then
		sender="<>" helo=(--helo spf-mx.example.com)
	fi
	ib_send "$client" "$sender" "$file" "${helo[@]}"
	case_ms[$name]=$IB_MS
	if verdict "$outcome"; then
		if [ "$IB_WHERE" = refused ]; then text=$summary; else text=$(cat "$IB_HEADERS"); fi
		if expect_in "$text" "$@"; then
			pass "$name: $outcome"
			return
		fi
	fi
	fail "$name: $outcome" "$why" "$(sed 's/^/  /' "$IB_HEADERS")" "summary: $summary" \
		"$(grep -E '^<[-*~]' "$SEND_LOG" | tail -2)"
}

C=127.0.0.5   # an untrusted client
FWD=127.0.0.9 # inbound.forwarders
E=example.com
# name | client | MAIL FROM domain ("-": null sender, HELO spf-mx.example.com)
#      | From | signatures | outcome | strings expected
CASES=$(cat <<TABLE
spf_pass_ip4        |$C|spf-ip4.$E      |u@spf-ip4.$E      |-|deliver|spf=pass smtp.mailfrom=spf_pass_ip4@spf-ip4.$E|mechanism="ip4:127.0.0.0/29"|dmarc=none
spf_pass_a          |$C|spf-a.$E        |u@spf-a.$E        |-|deliver|spf=pass|mechanism="a:hosts.spf-a.$E"
spf_pass_mx         |$C|spf-mx.$E       |u@spf-mx.$E       |-|deliver|spf=pass|mechanism=mx;
spf_pass_ptr        |$C|spf-ptr.$E      |u@spf-ptr.$E      |-|deliver|spf=pass|mechanism=ptr;
spf_pass_include    |$C|spf-include.$E  |u@spf-include.$E  |-|deliver|spf=pass|mechanism="include:spf-ip4.$E"
spf_pass_exists     |$C|spf-exists.$E   |u@spf-exists.$E   |-|deliver|spf=pass|mechanism="exists:%{ir}.allow.%{d}"
spf_pass_redirect   |$C|spf-redirect.$E |u@spf-redirect.$E |-|deliver|spf=pass|mechanism="ip4:127.0.0.0/29"
spf_pass_helo       |$C|-               |u@spf-none.$E     |-|deliver|spf=pass smtp.helo=spf-mx.$E|identity=helo
spf_fail            |$C|spf-fail.$E     |u@spf-none.$E     |-|deliver|spf=fail|mechanism=-all;
spf_softfail        |$C|spf-softfail.$E |u@spf-none.$E     |-|deliver|spf=softfail|mechanism=~all;
spf_neutral         |$C|spf-neutral.$E  |u@spf-none.$E     |-|deliver|spf=neutral|mechanism=?all;
spf_none            |$C|spf-none.$E     |u@spf-none.$E     |-|deliver|spf=none
spf_temperror       |$C|x.broken.example.org|u@spf-none.$E |-|deliver|spf=temperror|Received-SPF: temperror
spf_permerror       |$C|spf-permerror.$E|u@spf-none.$E     |-|deliver|spf=permerror|Received-SPF: permerror
dkim_none           |$C|spf-none.$E     |u@dkim.$E         |-|deliver|dkim=none
dkim_dkimpy_rsa     |$C|spf-none.$E     |u@dkim.$E         |py:rsa:dkim.$E|deliver|dkim=pass (2048-bit key) header.d=dkim.$E header.i=@dkim.$E header.s=rsa header.a=rsa-sha256 header.b=
dkim_dkimpy_ed25519 |$C|spf-none.$E     |u@dkim.$E         |py:ed:dkim.$E|deliver|dkim=pass (256-bit key) header.d=dkim.$E header.i=@dkim.$E header.s=ed header.a=ed25519-sha256
dkim_opendkim_rsa   |$C|spf-none.$E     |u@dkim.$E         |od:rsa:dkim.$E|deliver|dkim=pass (2048-bit key) header.d=dkim.$E header.i=@dkim.$E header.s=rsa header.a=rsa-sha256
dkim_opendkim_ed25519|$C|spf-none.$E    |u@dkim.$E         |od:ed:dkim.$E|deliver|dkim=pass (256-bit key) header.d=dkim.$E header.i=@dkim.$E header.s=ed header.a=ed25519-sha256
dkim_both_signers   |$C|spf-none.$E     |u@dkim.$E         |od:rsa:dkim.$E,py:ed:dkim.$E|deliver|dkim=pass (256-bit key) header.d=dkim.$E header.i=@dkim.$E header.s=ed|; dkim=pass (2048-bit key) header.d=dkim.$E header.i=@dkim.$E header.s=rsa
dkim_dkimpy_rsa_tampered|$C|spf-none.$E |u@dkim.$E         |py:rsa:dkim.$E,tamper|deliver|dkim=fail (body hash mismatch) header.d=dkim.$E
dkim_dkimpy_ed25519_tampered|$C|spf-none.$E|u@dkim.$E      |py:ed:dkim.$E,tamper|deliver|dkim=fail (body hash mismatch) header.d=dkim.$E header.i=@dkim.$E header.s=ed
dkim_opendkim_rsa_tampered|$C|spf-none.$E|u@dkim.$E        |od:rsa:dkim.$E,tamper|deliver|dkim=fail (body hash mismatch)
dkim_opendkim_ed25519_tampered|$C|spf-none.$E|u@dkim.$E    |od:ed:dkim.$E,tamper|deliver|dkim=fail (body hash mismatch) header.d=dkim.$E header.i=@dkim.$E header.s=ed
dkim_expired        |$C|spf-none.$E     |u@dkim.$E         |mw:rsa:dkim.$E|deliver|dkim=permerror|expired
dmarc_pass_dkim_only|$C|dkonly.$E       |u@dkonly.$E       |py:rsa:dkonly.$E|deliver|spf=fail|dkim=pass|dmarc=pass (p=reject dis=none) header.from=dkonly.$E
dmarc_pass_spf_only |$C|spfonly.$E      |u@spfonly.$E      |py:rsa:dkim.$E|deliver|spf=pass|dkim=pass|header.d=dkim.$E|dmarc=pass (p=reject dis=none) header.from=spfonly.$E
dmarc_reject        |$C|reject.$E       |u@reject.$E       |-|reject|header_from=reject.$E spf=fail dkim=none dmarc=fail policy=reject
dmarc_reject_unaligned_dkim|$C|reject.$E|u@reject.$E       |py:ed:dkim.$E|reject|dmarc=fail policy=reject|dkim=pass:dkim.$E
dmarc_reject_tampered|$C|reject.$E      |u@reject.$E       |py:rsa:reject.$E,tamper|reject|dmarc=fail policy=reject|dkim=fail:reject.$E
dmarc_quarantine    |$C|quarantine.$E   |u@quarantine.$E   |-|hold|dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.$E
dmarc_none          |$C|pnone.$E        |u@pnone.$E        |-|deliver|dmarc=fail (p=none dis=none)
dmarc_pct0          |$C|pct0.$E         |u@pct0.$E         |-|deliver|dmarc=fail (p=quarantine dis=none override=local_policy)
dmarc_testing_t_y   |$C|testing.$E      |u@testing.$E      |-|hold|dmarc=fail (p=reject dis=quarantine override=local_policy)
dmarc_sp_subdomain  |$C|spf-none.$E     |u@sub.sp.$E       |-|reject|header_from=sub.sp.$E|dmarc=fail policy=reject
dmarc_sp_org_itself |$C|spf-none.$E     |u@sp.$E           |-|deliver|dmarc=fail (p=none sp=reject dis=none)
dmarc_np_nonexistent|$C|spf-none.$E     |u@ghost.np.$E     |-|reject|header_from=ghost.np.$E|dmarc=fail policy=reject
dmarc_np_existing   |$C|spf-none.$E     |u@real.np.$E      |-|deliver|dmarc=fail (p=none sp=none np=reject dis=none)
dmarc_psd_sp        |$C|spf-none.$E     |u@shop.example.net|-|reject|header_from=shop.example.net|dmarc=fail policy=reject
dmarc_relaxed_dkim  |$C|spf-none.$E     |u@mail.relaxed.$E |py:rsa:relaxed.$E|deliver|dmarc=pass|header.from=mail.relaxed.$E
dmarc_relaxed_spf   |$C|bounce.relaxed.$E|u@relaxed.$E     |-|deliver|spf=pass|dmarc=pass
dmarc_strict        |$C|bounce.strict.$E|u@mail.strict.$E  |py:rsa:strict.$E|reject|spf=pass dkim=pass:strict.$E dmarc=fail policy=reject
dmarc_temperror_servfail|$C|spf-ip4.$E  |u@x.broken.example.org|-|tempfail|dmarc=temperror
dmarc_temperror_timeout|$C|spf-ip4.$E   |u@x.slow.example.org|-|tempfail|dmarc=temperror
override_monitor_domain|$C|monitored.$E |u@monitored.$E    |-|deliver|dmarc=fail (p=reject dis=none override=local_policy)
override_forwarder  |$FWD|reject.$E     |u@reject.$E       |-|deliver|dmarc=fail (p=reject sp=quarantine dis=none override=trusted_forwarder)
dkim_rfc8463_dual   |$C|spf-none.$E     |joe@football.$E   |-|deliver|dkim=pass (256-bit key) header.d=football.$E header.i=@football.$E header.s=brisbane header.a=ed25519-sha256 header.b="/gCrinpc";|dkim=pass (1024-bit key) header.d=football.$E header.i=@football.$E header.s=test header.a=rsa-sha256 header.b=F45dVWDf
dkim_rfc8463_tampered|$C|spf-none.$E    |joe@football.$E   |-|deliver|dkim=fail (body hash mismatch) header.d=football.$E header.i=@football.$E header.s=brisbane|; dkim=fail (body hash mismatch) header.d=football.$E header.i=@football.$E header.s=test
TABLE
)
# MW_INBOUND_CASES=REGEX runs only the rows whose name matches (and the rest).
CASES=$(grep -E "^(${MW_INBOUND_CASES:-.*}) *[|]" <<<"$CASES")
n_cases=$(grep -c . <<<"$CASES")
declare -A case_ms
plan $((2 * n_cases + 12))

cp "$top/tests/data/rfc8463-a3.eml" "$work/rfc8463.eml"
sed 's/^We lost the game\./We won the game./' "$work/rfc8463.eml" >"$work/rfc8463-tampered.eml"
while IFS='|' read -r name client mfrom from sign outcome expected; do
	name=${name%% *} mfrom=${mfrom%% *} from=${from%% *}
	IFS='|' read -ra strings <<<"$expected"
	case $name in
	dkim_rfc8463_dual) cp "$work/rfc8463.eml" "$work/msg/$name.eml.src" ;;
	dkim_rfc8463_tampered) cp "$work/rfc8463-tampered.eml" "$work/msg/$name.eml.src" ;;
	esac
	run_case "$name" "$client" "$mfrom" "$from" "$sign" "$outcome" "${strings[@]}"
done <<<"$CASES"

# ------------------------------------- the same table through the milter protocol
# The signed files of the rows above go straight to mailward's socket, the
# way an MTA speaks to it (tests/lib/milter-client.py), with the row's
# client address, HELO and MAIL FROM: the same outcome, the same headers.
mc_seq=0
while IFS='|' read -r name client mfrom from sign outcome expected; do
	name=${name%% *} mfrom=${mfrom%% *}
	IFS='|' read -ra strings <<<"$expected"
	mc_seq=$((mc_seq + 1))
	qid=$(printf 'MC%08X' "$mc_seq")
	sender=$name@$mfrom helo=client.test.example
	if [ "$mfrom" = - ]; then
		sender="<>" helo=spf-mx.example.com
	fi
	out=$(/usr/bin/python3 "$top/tests/lib/milter-client.py" "127.0.0.1:$mw_port" \
		--message "$work/msg/$name.eml" --client "$client" --helo "$helo" --from "$sender" \
		--rcpt bob@rcpt.test --qid "$qid" 2>&1)
	case $outcome in
	deliver) want="verdict accept" text=$out ;;
	hold) want="quarantine DMARC policy" text=$out ;;
	reject) want="reply 550 5.7.1" text=$(ib_summary "$qid") ;;
	tempfail) want="reply 451 4.7.0" text=$(ib_summary "$qid") ;;
	esac
	why="milter said: $(tr '\n' ' ' <<<"$out")"
	if grep -qF -- "$want" <<<"$out" && { [ "$outcome" != deliver ] || ! grep -q '^quarantine' <<<"$out"; } &&
		expect_in "$text" "${strings[@]}"; then
		pass "milter protocol: $name: $outcome"
	else
		fail "milter protocol: $name: $outcome" "$why" "summary: $(ib_summary "$qid")"
	fi
done <<<"$CASES"

# ------------------------------------------------------------ and more
ms=${case_ms[dmarc_temperror_timeout]}
if [ "$ms" -ge 1000 ] && [ "$ms" -lt 4000 ]; then
	pass "a DMARC lookup that times out ends at dns.query_timeout_ms (1000 ms): $ms ms"
else
	fail "a DMARC lookup that times out ends at dns.query_timeout_ms (1000 ms)" "took $ms ms"
fi
check "the held messages are in the private Postfix's hold queue (postqueue -p marks them !)" \
	test "$(postqueue -c "$PF_DIR" -p | grep -cE '^[0-9A-F]+!')" = "$(grep -cE '\|hold\|' <<<"$CASES")"

# Forged Authentication-Results: ours removed (any case, after a comment),
# foreign ones kept, exactly one of ours, on top.
f=$(message forged u@pnone.example.com)
{
	printf 'Authentication-Results: %s; dmarc=pass header.from=pnone.example.com\r\n' "$IB_AUTHSERV"
	printf 'Authentication-Results: other.example; spf=pass smtp.mailfrom=pnone.example.com\r\n'
	printf 'Authentication-Results: (hidden) MX.Inbound.TEST;\r\n\tdkim=pass header.d=pnone.example.com\r\n'
	printf 'Authentication-Results: %s.evil; dmarc=pass\r\n' "$IB_AUTHSERV"
	cat "$f"
} >"$f.new" && mv "$f.new" "$f"
ib_send "$C" forged@pnone.example.com "$f"
file=$(_ib_sink_file_of "$IB_QID")
ars=$(sink_message "$file" | _ib_unfold | grep -i '^Authentication-Results:')
check "forged A-R: delivered" test "$IB_WHERE" = sink
check "... exactly one Authentication-Results claims $IB_AUTHSERV, ours (dmarc=fail), on top" \
	test "$(grep -ciE "^Authentication-Results: *(\([^)]*\) *)?$IB_AUTHSERV;" <<<"$ars"):$(head -1 <<<"$ars" | grep -c 'dmarc=fail (p=none dis=none)')" = 1:1
check "... the foreign ones are kept, in order" \
	test "$(tail -n +2 <<<"$ars" | cut -d';' -f1)" = "Authentication-Results: other.example
Authentication-Results: $IB_AUTHSERV.evil"
check "... and mailward logged the two it removed" \
	test "$(grep -c "$IB_QID: removed an Authentication-Results header claiming $IB_AUTHSERV" "$state/log")" = 2

# quarantine = "header": delivered, marked.
ib_reload "$(policy 'quarantine = "header";')"
ib_send "$C" quarantine2@quarantine.example.com "$(message quarantine2 u@quarantine.example.com)"
check "quarantine = header: a p=quarantine failure is delivered with X-Mailward-Quarantine" \
	test "$IB_WHERE:$(grep -c '^X-Mailward-Quarantine: DMARC policy of quarantine.example.com: quarantine' "$IB_HEADERS")" = sink:1

# Monitor mode: never a refusal, the same headers.
ib_reload "$(policy 'mode = "monitor";')"
ib_send "$C" monitor1@reject.example.com "$(message monitor1 u@reject.example.com)"
check "monitor mode: a p=reject failure is delivered, A-R says override=local_policy" \
	test "$IB_WHERE:$(grep -c 'dmarc=fail (p=reject sp=quarantine dis=none override=local_policy)' "$IB_HEADERS")" = sink:1
ib_send "$C" monitor2@spf-ip4.example.com "$(message monitor2 u@x.slow.example.org)"
check "monitor mode: a DMARC temperror (timeout) is accepted ($IB_MS ms), A-R dmarc=temperror" \
	test "$IB_WHERE:$(grep -c 'dmarc=temperror' "$IB_HEADERS")" = sink:1
check "... and summarized action=accept" grep -q " dmarc=temperror .*action=accept " <<<"$(ib_summary "$IB_QID")"

# One summary line per message, mailward alive.
sent=$((n_cases + 4))
check "mailward logged one summary line (queue ID first) per message: $sent" \
	test "$(grep -cE 'info: [0-9A-F]+: inbound reason=untrusted_client ' "$state/log")" = "$sent"
check "mailward is still running (pid $mw_pid), nothing fatal logged" \
	ib_alive
diag "inbound.sh: $((($(now_us) - t_start) / 1000)) ms"

if ! done_testing; then
	sed 's/^/# /' "$state/log" | tail -40
	pf_diag 20
	exit 1
fi
