#!/bin/bash
# metrics.sh - GET /metrics and mailward stats, end to end
#
# mailward runs with metrics on (its own loopback address, no unsubscribe
# url), inbound checks against a private NSD, and a webhook endpoint
# whose dead-letter folder holds two events.  The milter protocol
# straight (tests/lib/milter-client.py) sends outbound mail (one stream,
# a From domain of the signing table, one the policy does not know), a
# message to a suppressed recipient, one naming an undefined stream, two
# inbound messages (one that passes SPF, DKIM and DMARC, one that fails
# them under p=reject), a bounce and a complaint.  curl reads the page: every counter moved
# by exactly what was sent, label values come only from the policy, the
# spool and webhook figures match the directories, the page passes a
# strict reader of the format (tests/lib/prom-check.py), a reload shows,
# and mailward stats prints the same figures.  Then, with an unsubscribe
# url on the same address, one server answers both.  About 10 s.
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
/usr/bin/python3 -c 'import dkim' 2>/dev/null || skip_all "python3-dkim missing (tools/deps)"

ib_work metrics
plan 34

DNS_ADDR=${MW_TEST_DNS_ADDR:-127.0.53.72}
HTTP_ADDR=${MW_TEST_HTTP_ADDR:-127.0.53.73}
MILTER_ADDR=${MW_TEST_MILTER_ADDR:-127.0.53.74}

# ------------------------------------------------------------ DNS
ib_keys
dns_setup "$work/dns" "$DNS_ADDR" >/dev/null
for z in org example.org; do dns_zone "$z"; done
dns_txt example.org "v=spf1 ip4:127.0.0.5 -all"
dns_txt _dmarc.example.org "v=DMARC1; p=reject"
ib_publish_keys example.org
dns_start >/dev/null || skip_all "NSD did not start on $DNS_ADDR"

# ------------------------------------------------------------ mailward
read -r mw_port http_port < <(pf_free_ports 2)
state=$work/mailward
mkdir -p "$state/spool/dead/crm"
policy() {
	cat <<CONF
daemon = { socket = "inet:$mw_port@$MILTER_ADDR"; user = ""; };
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "127.0.0.1/32" ];
domains = ( { domain = "example.com"; selector = "rsa"; key = "$work/keys/rsa.pem"; } );
dns = { nameservers = [ "$DNS_ADDR" ]; };
inbound = { authserv_id = "mx.metrics.test"; };
streams = ( { name = "newsletters"; }, { name = "transactional"; } );
feedback = { bounce_domains = [ "bounce.example.org" ]; complaint_addresses = [ "complaints@example.org" ]; };
events = { spool_dir = "$state/spool"; };
webhooks = ( { name = "crm"; url = "http://127.0.0.1:9/"; topic_arn = "arn:aws:sns:local:000000000000:t";
               signing_key = "$work/keys/rsa.pem"; signing_cert_url = "https://example.com/c.pem"; } );
store = { path = "$state/state.db"; };
metrics = { enabled = true; listen = "$HTTP_ADDR:$http_port"; };
CONF
}
policy >"$state/mailward.conf"
"$mw" -f -c "$state/mailward.conf" 2>"$state/log" &
mw_pid=$!
check "metrics are served on their own loopback address, without an unsubscribe url" \
	wait_until 10 bash -c "ss -ltn | grep -q '$HTTP_ADDR:$http_port '"
wait_until 10 bash -c "ss -ltn | grep -q '$MILTER_ADDR:$mw_port '"

url=http://$HTTP_ADDR:$http_port/metrics
scrape() { curl -s -o "$work/page" -D "$work/headers" -w '%{http_code}' "$url"; }
# value NAME [LABEL=VALUE...]: one sample of the last page, or "absent"
value() { /usr/bin/python3 "$top/tests/lib/prom-check.py" "$work/page" "$@"; }

check "GET /metrics is 200, Content-Type text/plain; version=0.0.4" \
	bash -c "[ \"\$(curl -s -o /dev/null -D '$work/h0' -w '%{http_code}' '$url')\" = 200 ] && grep -qi '^Content-Type: text/plain; version=0.0.4' '$work/h0'"
check "... and a server without unsubscribe url does not serve /u/ (404)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "http://$HTTP_ADDR:$http_port/u/x")" = 404

# ------------------------------------------------------------ mail
mc() { # mc CLIENT FROM RCPT QID FILE
	/usr/bin/python3 "$top/tests/lib/milter-client.py" "$MILTER_ADDR:$mw_port" --message "$5" \
		--client "$1" --from "$2" --rcpt "$3" --qid "$4"
}
msg() { # msg FILE FROM [HEADER...]
	local file=$1 from=$2
	shift 2
	{
		printf 'From: %s\r\nTo: bob@rcpt.test\r\nSubject: metrics\r\nDate: Tue, 24 Nov 2026 00:00:00 +0000\r\nMessage-ID: <%s@metrics.test>\r\n' "$from" "$RANDOM$RANDOM"
		for h in "$@"; do printf '%s\r\n' "$h"; done
		printf '\r\nFirst line.\r\nSecond line.\r\n'
	} >"$file"
}
msg "$work/stream.eml" alice@example.com "X-SES-CONFIGURATION-SET: newsletters"
msg "$work/plain.eml" carol@example.com
msg "$work/unknown.eml" mallory@evil-8341.test
msg "$work/nosuch.eml" carol@example.com "X-SES-CONFIGURATION-SET: nosuch"
sqlite3 "$state/state.db" "INSERT INTO suppression VALUES ('dave@example.net', '', 'BOUNCE', 1795000000, 'x')"

verdicts=$(
	mc 127.0.0.1 alice@example.com bob@rcpt.test OUT1 "$work/stream.eml"
	mc 127.0.0.1 carol@example.com bob@rcpt.test OUT2 "$work/plain.eml"
	mc 127.0.0.1 carol@example.com bob@rcpt.test OUT3 "$work/plain.eml"
	mc 127.0.0.1 mallory@evil-8341.test bob@rcpt.test OUT4 "$work/unknown.eml"
)
check "outbound mail is accepted (one stream, twice no stream, one unknown domain)" \
	test "$(grep -c '^verdict accept' <<<"$verdicts")" = 4
check "a suppressed recipient is refused at RCPT" \
	grep -q '^rcpt 550 5.1.1' <<<"$(mc 127.0.0.1 carol@example.com dave@example.net OUT5 "$work/plain.eml")"
check "a message naming an undefined stream is tempfailed" \
	grep -q '^verdict tempfail\|^eoh 451\|^verdict reply' <<<"$(mc 127.0.0.1 carol@example.com bob@rcpt.test OUT6 "$work/nosuch.eml")"

msg "$work/good.eml" a@example.org
ib_sign py:rsa:example.org "$work/good.eml"
msg "$work/bad.eml" x@example.org
check "inbound: an authenticated message is accepted" \
	grep -q '^verdict accept' <<<"$(mc 127.0.0.5 a@example.org bob@mx.metrics.test IN1 "$work/good.eml")"
check "inbound: a forged one is rejected (p=reject)" \
	grep -q '^verdict reply' <<<"$(mc 127.0.0.9 x@example.org bob@mx.metrics.test IN2 "$work/bad.eml")"
fb=$top/tests/data/feedback
check "feedback: a DSN to the bounce domain and an ARF complaint are taken" \
	test "$(mc 127.0.0.5 '' b-x@bounce.example.org FB1 "$fb/postfix-host-not-found.eml" | tail -1):$(mc 127.0.0.5 fbl@isp.example complaints@example.org FB2 "$fb/arf-abuse.eml" | tail -1)" = "verdict discard:verdict accept"

# ------------------------------------------------------------ the page
touch "$state/spool/dead/crm/1795000000.000001.1_0000000001.json" \
	"$state/spool/dead/crm/1795000000.000002.1_0000000002.json"
# The Send and Bounce events reach new/ moments after they are durable.
wait_until 5 test "$(find "$state/spool/new" -name '*.json' | wc -l)" -ge 7
scrape >/dev/null
# format_ok FILE: the strict reader is content; its problems as TAP comments
format_ok() {
	local said
	said=$(/usr/bin/python3 "$top/tests/lib/prom-check.py" "$1") || {
		sed 's/^/# /' <<<"$said"
		return 1
	}
}
check "the page passes a strict reader of the text format" format_ok "$work/page"
refuses_broken() {
	local page
	for page in '# TYPE x counter\nx 1\n' 'a{l="\\q"} 1\n' 'a 1\nb 1\na{x="1"} 2\n' 'a 1' \
		'# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'; do
		printf "$page" >"$work/broken"
		/usr/bin/python3 "$top/tests/lib/prom-check.py" "$work/broken" >/dev/null && return 1
	done
	return 0
}
check "... which refuses broken pages (counter name, escape, split family, no newline, buckets)" \
	refuses_broken
out() { value mailward_outbound_total "event=$1" "stream=$2" "from_domain=$3"; }
check "sent: 1 in stream newsletters from example.com" test "$(out sent newsletters example.com)" = 1
check "sent: 2 without a stream from example.com" test "$(out sent none example.com)" = 2
check "sent: 1 from a domain the policy does not know, as \"other\"" test "$(out sent none other)" = 1
check "... and that domain is not a label value anywhere" bash -c "! grep -q evil-8341 '$work/page'"
check "suppressed_refused: 1 (at RCPT, stream and From not yet known)" \
	test "$(out suppressed_refused none none)" = 1
check "tempfailed: 1, the undefined stream as \"other\"" \
	test "$(out tempfailed other example.com)" = 1
check "bounced 1, complained 1: the stream the returned original names, its From domain unknown" \
	test "$(out bounced transactional other):$(out complained transactional other)" = 1:1
check "verdicts: outbound eom accept 4, rcpt reject 1" \
	test "$(value mailward_verdicts_total direction=outbound stage=eom verdict=accept):$(value mailward_verdicts_total direction=outbound stage=rcpt verdict=reject)" = 4:1
check "inbound SPF: pass 1, fail 1" \
	test "$(value mailward_inbound_spf_total result=pass):$(value mailward_inbound_spf_total result=fail)" = 1:1
check "inbound DKIM: pass 1, none 1" \
	test "$(value mailward_inbound_dkim_signatures_total result=pass):$(value mailward_inbound_dkim_signatures_total result=none)" = 1:1
check "inbound DMARC: pass/none 1, fail/reject 1" \
	test "$(value mailward_inbound_dmarc_total result=pass disposition=none):$(value mailward_inbound_dmarc_total result=fail disposition=reject)" = 1:1
check "DNS: TXT lookups timed in the histogram" \
	test "$(value mailward_dns_query_duration_seconds_count type=TXT status=found)" -ge 2
check "spool backlog: the files in new/, counted when asked" \
	test "$(value mailward_spool_backlog_events)" = "$(find "$state/spool/new" -name '*.json' | wc -l)"
check "webhook dead letters of endpoint crm: 2" test "$(value mailward_webhook_dead_letters endpoint=crm)" = 2
check "no message in flight, policy generation 1" \
	test "$(value mailward_messages_in_flight):$(value mailward_policy_generation)" = 0:1

kill -HUP "$mw_pid"
wait_until 5 grep -q 'reload: policy .* installed' "$state/log"
scrape >/dev/null
check "a reload: reloads installed 1, generation 2" \
	test "$(value mailward_policy_reloads_total result=installed):$(value mailward_policy_generation)" = 1:2

# ------------------------------------------------------------ mailward stats
"$mw" stats -c "$state/mailward.conf" >"$work/stats" 2>&1
check "mailward stats: a row for stream newsletters / example.com with 1 sent" \
	bash -c "grep -qE '^  newsletters +example.com +1( |$)' '$work/stats'"
check "... the inbound DMARC results and the dead letters" \
	bash -c "grep -qE '^  fail reject +1$' '$work/stats' && grep -q '^webhook crm: 2 dead letters' '$work/stats'"
"$mw" stats -c "$state/mailward.conf" --raw >"$work/raw" 2>&1
raw_ok() { grep -q '^# TYPE mailward_outbound_total counter' "$work/raw" && format_ok "$work/raw"; }
check "mailward stats --raw prints the page, which passes the reader" raw_ok
check "mailward alive, nothing fatal logged" ib_alive

# ------------------------------------------------------------ one server for both
kill "$mw_pid" && wait "$mw_pid" 2>/dev/null
head -c 32 /dev/urandom >"$work/verp.key"
chmod 600 "$work/verp.key"
{
	policy | sed 's/^feedback = .*//'
	echo "unsubscribe = { url = \"https://mail.example.com/u/\"; listen = \"$HTTP_ADDR:$http_port\"; };"
	echo "feedback = { verp_keys = ( { id = 1; file = \"$work/verp.key\"; } ); };"
} >"$state/mailward.conf"
"$mw" -f -c "$state/mailward.conf" 2>"$state/log" &
mw_pid=$!
wait_until 10 bash -c "ss -ltn | grep -q '$HTTP_ADDR:$http_port '"
check "metrics.listen = unsubscribe.listen: one server, logged as such" \
	grep -q "unsubscribe endpoint and metrics listening on $HTTP_ADDR:$http_port" "$state/log"
check "... it answers a one-click POST of a malformed token (400) and /metrics (200)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'List-Unsubscribe=One-Click' "http://$HTTP_ADDR:$http_port/u/not*a*token"):$(scrape)" = 400:200
check "... where the refused link is counted" \
	test "$(value mailward_unsubscribe_bad_tokens_total reason=malformed)" = 1
[ "$TAP_FAILED" -eq 0 ] || { tail -20 "$state/log" | sed 's/^/# /'; sed 's/^/# /' "$work/stats"; }
done_testing
