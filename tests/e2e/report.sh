#!/bin/bash
# report.sh - "mailward report" writes RFC 7489 aggregate reports that validate
#
# A store is filled through tests/tools/dmarc-history-add with rows for
# three policy domains: IPv4, IPv6 and IPv4-mapped sources, aligned and
# unaligned results, every override reason, a null sender (SPF on HELO),
# ten DKIM signatures on one message, the same signatures in another
# order, text that needs escaping, and rows just outside the period.
# Every report written must validate against the RFC's schema
# (tests/data/rfc7489-aggregate.xsd, xmllint); xmllint --xpath then checks
# the grouping, counts and policy.  Then: stable report IDs, --stdout,
# --domain, the default period (yesterday), nothing to report, bad
# periods, missing and corrupt stores, a policy without report_email,
# --purge-days.  Negative controls: broken reports fail the schema check.
# Needs no servers and no root.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
add=$build/tests/tools/dmarc-history-add
xsd=$top/tests/data/rfc7489-aggregate.xsd
. "$top/tests/lib/tap.sh"

command -v xmllint >/dev/null || skip_all "xmllint not installed (libxml2-utils, tools/deps)"
[ -x "$add" ] || skip_all "tests/tools/dmarc-history-add not built (make check builds it)"

work=$(mktemp -d /tmp/mw-report.XXXXXX)
cleanup() { [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

plan 66

# The period under test: 2026-11-20 (UTC), and the days around it.
day=1795132800
end=$((day + 86399))
receiver=mx.receiver.example
policy=$work/mailward.conf
write_policy() { # STORE [REPORT_EMAIL]
	cat >"$policy" <<-CONF
		inbound = {
		  authserv_id = "$receiver";
		  report_org_name = "Receiver & Co";
		  report_email = "${2-dmarc-reports@receiver.example}";
		};
		store = { path = "$1"; };
	CONF
}
write_policy "$work/mailward.db"

# xpath FILE EXPR: the value of EXPR (count(), sum(), string()).
xpath() { xmllint --xpath "$2" "$1" 2>/dev/null; }
# is WHAT GOT WANT
is() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got: $2" "want: $3"; fi
}
validates() { xmllint --noout --schema "$xsd" "$1" >/dev/null 2>&1; }

# ------------------------------------------------------------ the history
sigs10="dkim=example.com:s1:pass dkim=example.com:s2:fail:body%20hash%20mismatch"
sigs10+=" dkim=esp.example:k1:policy dkim=esp.example:k2:neutral dkim=a.example:x:temperror"
sigs10+=" dkim=b.example:x:permerror:key%20syntax dkim=c.example:x:none dkim=d.example::pass"
sigs10+=" dkim=e.example:y:fail dkim=f.example:z:pass:ok"
out=$("$add" "$work/mailward.db" <<-ROWS 2>&1
	# example.com: p=reject, strict DKIM alignment
	n=5 time=$((day + 100)) ip=192.0.2.1 p=reject adkim=s fo=1:d rua=mailto:agg@example.com dkim=example.com:s1:pass dkim=esp.example:k1:pass dkim_align=pass spf=pass spf_align=pass
	n=3 time=$((day + 200)) ip=192.0.2.1 p=reject adkim=s fo=1:d rua=mailto:agg@example.com dkim=ESP.example:K1:pass dkim=example.com:s1:pass dkim_align=pass spf=pass spf_align=pass
	n=1 time=$((day + 300)) ip=192.0.2.1 rcpt=receiver.example p=reject adkim=s fo=1:d rua=mailto:agg@example.com dkim=example.com:s1:pass dkim=esp.example:k1:pass dkim_align=pass spf=pass spf_align=pass
	n=2 time=$((day + 400)) ip=2001:db8::25 mfrom=bounce.attacker.example p=reject adkim=s fo=1:d rua=mailto:agg@example.com disp=reject dkim=example.com:s1:fail:body%20hash%20did%20not%20verify spf=fail
	n=1 time=$((day + 500)) ip=2001:DB8:0::25 mfrom=lists.example.net p=reject adkim=s fo=1:d rua=mailto:agg@example.com reason=forwarded comment=list%20%26%20co%20%3Cx%3E spf=pass
	n=1 time=$((day + 600)) ip=::ffff:198.51.100.7 mfrom= spf_domain=helo.example scope=helo spf=softfail p=reject adkim=s fo=1:d rua=mailto:agg@example.com reason=sampled_out $sigs10
	n=4 time=$((day - 1)) ip=192.0.2.1 p=reject rua=mailto:agg@example.com
	n=4 time=$((day + 86400)) ip=192.0.2.1 p=reject rua=mailto:agg@example.com
	# example.org, mail from its subdomain: sp=none applies
	n=4 time=$((day + 1000)) ip=203.0.113.9 from=sub.example.org domain=example.org mfrom=example.org p=quarantine sp=none spf=pass dkim=sub.example.org:mail:pass dkim_align=pass
	n=2 time=$((day + 2000)) ip=2001:db8:ffff::1 from=sub.example.org domain=example.org p=quarantine sp=none reason=trusted_forwarder spf=none
	n=1 time=$((day + 3000)) ip=203.0.113.10 from=sub.example.org domain=example.org p=quarantine sp=none reason=mailing_list comment=Sympa spf=neutral
	n=1 time=$((day + 4000)) ip=203.0.113.11 from=sub.example.org domain=example.org p=quarantine sp=none reason=other comment=%C3%A9t%C3%A9%01%FF spf=temperror dkim=sub.example.org:mail:temperror
	# third.example: only the day before
	n=2 time=$((day - 3600)) ip=192.0.2.99 from=third.example p=none spf=permerror
ROWS
)
is "the driver fills the store" "$out" "added 31 rows"

# ------------------------------------------------------------ the reports
mkdir "$work/out"
out=$("$mw" report -c "$policy" --period 2026-11-20..2026-11-21 --out "$work/out" 2>&1)
check "mailward report exits 0" test $? -eq 0
f_com="$work/out/$receiver!example.com!$day!$end.xml"
f_org="$work/out/$receiver!example.org!$day!$end.xml"
is "two reports, named RECEIVER!DOMAIN!BEGIN!END.xml" "$(ls "$work/out" | sort | tr '\n' ' ')" \
	"$receiver!example.com!$day!$end.xml $receiver!example.org!$day!$end.xml "
case $out in
*"$f_com domain=example.com records=5 messages=13 report_id="*"rua=mailto:agg@example.com"*)
	pass "one summary line per file: path, domain, counts, rua" ;;
*) fail "one summary line per file: path, domain, counts, rua" "got: $out" ;;
esac
for f in "$work"/out/*.xml; do
	if xmllint --noout --schema "$xsd" "$f" 2>"$work/xmllint.err"; then
		pass "validates against the RFC 7489 schema: ${f##*/}"
	else
		fail "validates against the RFC 7489 schema: ${f##*/}" "$(cat "$work/xmllint.err")"
	fi
done

# example.com: grouping and counts
is "example.com: five records" "$(xpath "$f_com" 'count(/feedback/record)')" 5
is "example.com: 13 messages in the period" "$(xpath "$f_com" 'sum(/feedback/record/row/count)')" 13
is "same signatures in another order are one record (5 + 3)" \
	"$(xpath "$f_com" 'string(/feedback/record[row/source_ip="192.0.2.1" and not(identifiers/envelope_to)]/row/count)')" 8
is "a different envelope_to is another record" \
	"$(xpath "$f_com" 'string(/feedback/record[identifiers/envelope_to="receiver.example"]/row/count)')" 1
is "largest record first" "$(xpath "$f_com" 'string(/feedback/record[1]/row/count)')" 8
is "IPv6 written as eight groups" \
	"$(xpath "$f_com" 'string(/feedback/record[row/policy_evaluated/disposition="reject"]/row/source_ip)')" \
	"2001:db8:0:0:0:0:0:25"
is "two spellings of one IPv6 address group together" \
	"$(xpath "$f_com" 'count(/feedback/record[row/source_ip="2001:db8:0:0:0:0:0:25"])')" 2
is "IPv4-mapped IPv6 written as IPv4" \
	"$(xpath "$f_com" 'count(/feedback/record[row/source_ip="198.51.100.7"])')" 1
is "ten DKIM results on one record" \
	"$(xpath "$f_com" 'count(/feedback/record[row/source_ip="198.51.100.7"]/auth_results/dkim)')" 10
is "every DKIM result word survives" \
	"$(xpath "$f_com" 'count(//record[row/source_ip="198.51.100.7"]/auth_results/dkim/result[.="policy" or .="neutral" or .="temperror" or .="permerror" or .="none"])')" 5
is "a DKIM result without selector has no <selector>" \
	"$(xpath "$f_com" 'count(//dkim[domain="d.example"]/selector)')" 0
is "human_result kept" "$(xpath "$f_com" 'string(//dkim[domain="b.example"]/human_result)')" "key syntax"
is "null sender: empty envelope_from, SPF on HELO" \
	"$(xpath "$f_com" 'concat("[", //record[row/source_ip="198.51.100.7"]/identifiers/envelope_from, "] ", //record[row/source_ip="198.51.100.7"]/auth_results/spf/scope, " ", //record[row/source_ip="198.51.100.7"]/auth_results/spf/domain)')" \
	"[] helo helo.example"
is "override reason with escaped comment" \
	"$(xpath "$f_com" 'string(//reason[type="forwarded"]/comment)')" "list & co <x>"
is "escaping is entity references in the file" \
	"$(grep -c '<comment>list &amp; co &lt;x&gt;</comment>' "$f_com")" 1
is "sampled_out without comment has no <comment>" \
	"$(xpath "$f_com" 'count(//reason[type="sampled_out"]/comment)')" 0
is "aligned results: pass/pass on the main record" \
	"$(xpath "$f_com" 'concat(/feedback/record[1]/row/policy_evaluated/dkim, "/", /feedback/record[1]/row/policy_evaluated/spf)')" "pass/pass"
is "policy published: domain p sp adkim aspf pct fo" \
	"$(xpath "$f_com" 'concat(//policy_published/domain, " ", //p, " ", //sp, " ", //adkim, " ", //aspf, " ", //pct, " ", //fo)')" \
	"example.com reject reject s r 100 1:d"
is "metadata: org_name, email, date_range" \
	"$(xpath "$f_com" 'concat(//org_name, "|", //email, "|", //date_range/begin, "|", //date_range/end)')" \
	"Receiver & Co|dmarc-reports@receiver.example|$day|$end"
is "version 1.0" "$(xpath "$f_com" 'string(/feedback/version)')" "1.0"

# example.org
is "example.org: four records, eight messages" \
	"$(xpath "$f_org" 'concat(count(/feedback/record), " ", sum(/feedback/record/row/count))')" "4 8"
is "example.org: p=quarantine sp=none as published" \
	"$(xpath "$f_org" 'concat(//p, " ", //sp)')" "quarantine none"
is "example.org: header_from is the subdomain" \
	"$(xpath "$f_org" 'string(/feedback/record[1]/identifiers/header_from)')" "sub.example.org"
is "trusted_forwarder and mailing_list reasons" \
	"$(xpath "$f_org" 'concat(count(//reason[type="trusted_forwarder"]), count(//reason[type="mailing_list"][comment="Sympa"]))')" "11"
is "control bytes and broken UTF-8 become U+FFFD" \
	"$(xpath "$f_org" 'string(//reason[type="other"]/comment)')" "été��"

# ------------------------------------------------------- stable report IDs
id_com=$(xpath "$f_com" 'string(//report_id)')
id_org=$(xpath "$f_org" 'string(//report_id)')
cp "$f_com" "$work/first.xml"
"$mw" report -c "$policy" --period 2026-11-20..2026-11-21 --out "$work/out" >/dev/null 2>&1
check "the same period again: the same file, byte for byte" cmp -s "$f_com" "$work/first.xml"
check "report IDs differ between domains" test "$id_com" != "$id_org"
check "no temporary files left behind" test -z "$(ls -A "$work/out" | grep -v '\.xml$')"
"$mw" report -c "$policy" --period 2026-11-20T00:00..2026-11-20T12:00 --out "$work/half" >/dev/null 2>&1
check "an unwritable (missing) output directory exits 73" test $? -eq 73
mkdir "$work/half"
"$mw" report -c "$policy" --period 2026-11-20T00:00..2026-11-20T12:00Z --domain EXAMPLE.com --out "$work/half" >/dev/null 2>&1
f_half=$(ls "$work"/half/*.xml 2>/dev/null)
is "--domain: only that domain, any case" "${f_half##*/}" "$receiver!example.com!$day!$((day + 43199)).xml"
check "another period: another report ID" test "$(xpath "$f_half" 'string(//report_id)')" != "$id_com"
check "the half-day report validates" validates "$f_half"

# ------------------------------------------------------------------ stdout
"$mw" report -c "$policy" --period 2026-11-20..2026-11-21 --domain example.org --stdout \
	>"$work/stdout.xml" 2>"$work/stdout.err"
check "--stdout exits 0" test $? -eq 0
check "--stdout: the report on standard output validates" validates "$work/stdout.xml"
check "--stdout: the same report as the file" cmp -s "$work/stdout.xml" "$f_org"
check "--stdout: the summary goes to standard error" grep -q 'domain=example.org records=4' "$work/stdout.err"
out=$("$mw" report -c "$policy" --period 2026-11-20..2026-11-21 --stdout 2>&1 >/dev/null)
status=$?
case "$status:$out" in
"64:"*"2 policy domains"*"--domain"*) pass "--stdout with two reports exits 64 and says to pick one" ;;
*) fail "--stdout with two reports exits 64 and says to pick one" "got $status: $out" ;;
esac

# -------------------------------------------------------- default period
now=$(date +%s)
midnight=$((now - now % 86400))
echo "time=$((midnight - 86400 + 600)) ip=192.0.2.50 from=yesterday.example p=none spf=pass" |
	"$add" "$work/mailward.db" >/dev/null
mkdir "$work/yday"
(cd "$work/yday" && "$mw" report -c "$policy" >/dev/null 2>&1)
is "no --period: yesterday, into the current directory" "$(ls "$work/yday")" \
	"$receiver!yesterday.example!$((midnight - 86400))!$((midnight - 1)).xml"

# --------------------------------------------------------------- nothing
out=$("$mw" report -c "$policy" --period 2026-11-10..2026-11-11 --out "$work/out" 2>&1)
status=$?
case "$status:$out" in
"0:"*"nothing to report"*) pass "an empty period exits 0 with a note" ;;
*) fail "an empty period exits 0 with a note" "got $status: $out" ;;
esac
is "an empty period writes nothing" "$(ls "$work/out" | wc -l)" 2

# ------------------------------------------------------------------ errors
for bad in next-week 2026-02-30..2026-03-01 2026-11-21..2026-11-20 2026-11-20..tomorrow \
	"2026-11-20T25:00..2026-11-21" " 2026-11-20..2026-11-21"; do
	out=$("$mw" report -c "$policy" --period "$bad" 2>&1)
	status=$?
	case "$status:$out" in
	"64:"*"--period"*) pass "bad period \"$bad\" exits 64 and names it" ;;
	*) fail "bad period \"$bad\" exits 64 and names it" "got $status: $out" ;;
	esac
done
write_policy "$work/no-such.db"
out=$("$mw" report -c "$policy" 2>&1)
status=$?
case "$status:$out" in
"66:$work/no-such.db"*|"66:mailward report: $work/no-such.db: No such file"*) pass "a missing store exits 66 and names it" ;;
*) fail "a missing store exits 66 and names it" "got $status: $out" ;;
esac
head -c 4096 /dev/urandom >"$work/garbage.db"
write_policy "$work/garbage.db"
out=$("$mw" report -c "$policy" 2>&1)
status=$?
case "$status:$out" in
"66:"*"$work/garbage.db"*"not a database"*) pass "a corrupt store exits 66 and says why" ;;
*) fail "a corrupt store exits 66 and says why" "got $status: $out" ;;
esac
write_policy "$work/mailward.db" ""
out=$("$mw" report -c "$policy" 2>&1)
status=$?
case "$status:$out" in
"78:"*"report_email"*) pass "a policy without report_email exits 78 and names the setting" ;;
*) fail "a policy without report_email exits 78 and names the setting" "got $status: $out" ;;
esac
write_policy "$work/mailward.db"
"$mw" report -c "$policy" --purge-days 0 >/dev/null 2>&1
check "--purge-days 0 is refused (64)" test $? -eq 64
out=$("$mw" report --help)
case $out in
*"RECEIVER!DOMAIN!BEGIN!END.xml"*"README"*"--domain"*"--period"*"yesterday"*"--out"*"--stdout"*"--purge-days"*)
	pass "--help documents the options, file names and where sending is described" ;;
*) fail "--help documents the options, file names and where sending is described" ;;
esac

# ------------------------------------------------------------------- purge
out=$("$mw" report -c "$policy" --period 2026-11-10..2026-11-11 --purge-days 2 2>&1)
case $out in
*"purged 31 evaluations older than 2 days"*) pass "--purge-days removes what is older (31 rows)" ;;
*) fail "--purge-days removes what is older (31 rows)" "got: $out" ;;
esac
out=$("$mw" report -c "$policy" --period 2026-11-20..2026-11-21 --out "$work/out" 2>&1)
case $out in
*"nothing to report"*) pass "after the purge the old period is empty" ;;
*) fail "after the purge the old period is empty" "got: $out" ;;
esac
out=$("$mw" report -c "$policy" --stdout 2>/dev/null)
case $out in
*"<header_from>yesterday.example</header_from>"*) pass "the purge keeps what is newer" ;;
*) fail "the purge keeps what is newer" "got: $out" ;;
esac

# ------------------------------------------------------ negative controls
broken() { # NAME SED-EXPRESSION: a broken copy of the example.com report
	sed "$2" "$work/first.xml" >"$work/broken-$1.xml"
	if validates "$work/broken-$1.xml"; then
		fail "the schema refuses a report with $1"
	else
		pass "the schema refuses a report with $1"
	fi
}
broken "no <fo>" '/<fo>/d'
broken "a compressed IPv6 address" 's/2001:db8:0:0:0:0:0:25/2001:db8::25/'
broken "an unknown disposition" '0,/<disposition>none</s//<disposition>accept</'
broken "no <spf> auth result" '/<spf>$/,/<\/spf>$/d'
broken "no policy_published" '/<policy_published>/,/<\/policy_published>/d'
head -c 300 "$work/first.xml" >"$work/broken-truncated.xml"
if validates "$work/broken-truncated.xml"; then
	fail "the schema check refuses a truncated report"
else
	pass "the schema check refuses a truncated report"
fi

done_testing
