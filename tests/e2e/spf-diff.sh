#!/bin/bash
# spf-diff.sh - mailward's SPF answers as pyspf does, case by case
#
# tests/lib/spf-gen.py generates some 1,500 cases over the whole of RFC
# 7208: record selection, every mechanism and modifier, each CIDR form,
# macros and transformers, syntax errors, 8-bit and control characters,
# the processing limits, void lookups, include/redirect chains and loops,
# IPv4-mapped clients, the HELO identity, names that answer REFUSED and a
# name whose server never answers.  NSD serves the records on loopback
# (tests/lib/dns-lib.sh); pyspf (Debian python3-spf, the reference) and
# mailward (tests/tools/spf-check, libunbound backend) answer every case
# through it.  One TAP line per category: the result, and for a fail the
# exp= explanation, must be identical.  The few cases where mailward
# deliberately follows RFC 7208 against pyspf are listed by the generator
# with mailward's expected answer and a reason; they get their own line.
#
# SPF_DIFF_STATIC=1 runs the same comparison on the in-memory resolver,
# without NSD or root (the records file loaded by both sides).
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns-lib.sh"

static=${SPF_DIFF_STATIC:-0}
if [ "$static" != 1 ]; then
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (DNS on port 53)"
	command -v nsd >/dev/null || skip_all "nsd not installed (run tools/deps)"
fi
/usr/bin/python3 -c 'import spf, dns.resolver' 2>/dev/null ||
	skip_all "python3-spf or python3-dnspython missing (tools/deps)"
checker=$build/tests/tools/spf-check
[ -x "$checker" ] || skip_all "$checker not built (make check)"

DNS_ADDR=${MW_TEST_DNS_ADDR:-127.0.53.20}
SILENT_ADDR=${MW_TEST_SILENT_ADDR:-127.0.53.21}
work=$(mktemp -d /tmp/mw-spf-diff.XXXXXX)
silent_pid=
cleanup() {
	[ -n "$silent_pid" ] && { kill "$silent_pid" && wait "$silent_pid"; } 2>/dev/null
	dns_cleanup
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
started=$(now_us)

/usr/bin/python3 "$top/tests/lib/spf-gen.py" "$work/gen" || {
	echo "Bail out! the generator failed"
	exit 1
}
mapfile -t categories < <(cut -f1 "$work/gen/cases" | awk '!seen[$0]++')
plan $((${#categories[@]} + 3))

# ---------------------------------------------------------------- servers
# A server that reads queries and never answers: lookups under silent.test
# time out, for pyspf and mailward alike.
start_silent() {
	/usr/bin/python3 -c '
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((sys.argv[1], 53))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((sys.argv[1], 53))
t.listen(16)
t.setblocking(False)
held = []
while True:
    try:
        u.settimeout(0.2)
        u.recvfrom(4096)
    except socket.timeout:
        pass
    try:
        held.append(t.accept()[0])
    except BlockingIOError:
        pass
' "$SILENT_ADDR" &
	silent_pid=$!
}

load_records() {
	local name type rdata n=0
	while read -r name type rdata; do
		[ "$type" = TEMPFAIL ] && continue
		dns_record "$name" "$type" "$rdata" || return 1
		n=$((n + 1))
	done <"$work/gen/records"
	diag "$n records in $(wc -l <"$work/gen/zones") zones"
}

if [ "$static" = 1 ]; then
	pass "records loaded into the in-memory resolver (SPF_DIFF_STATIC=1)"
	ours=("$checker" --static "$work/gen/records")
	theirs=(/usr/bin/python3 "$top/tests/lib/spf-pyspf.py" --static "$work/gen/records")
else
	dns_setup "$work/dns" "$DNS_ADDR" >/dev/null
	while read -r zone; do dns_zone "$zone"; done <"$work/gen/zones"
	if load_records && dns_start && start_silent; then
		pass "NSD serves the generated zones on $DNS_ADDR"
	else
		fail "NSD serves the generated zones on $DNS_ADDR"
		echo "Bail out! no DNS server"
		exit 1
	fi
	# Every zone goes to NSD explicitly: libunbound would otherwise answer
	# test. and the documentation reverse zones itself (RFC 6761, AS112).
	ours=("$checker" --timeout 1500 --forward "$DNS_ADDR@53"
		--zone-forward "silent.test=$SILENT_ADDR@53" --zone-forward "test=$DNS_ADDR@53")
	while read -r zone; do ours+=(--zone-forward "$zone=$DNS_ADDR@53"); done <"$work/gen/zones"
	theirs=(/usr/bin/python3 "$top/tests/lib/spf-pyspf.py" --querytime 3
		--server "$DNS_ADDR@53" --zone-server "silent.test=$SILENT_ADDR@53")
fi

# ------------------------------------------------------------------ cases
cut -f3-5 "$work/gen/cases" >"$work/input"
t0=$(now_us)
"${ours[@]}" <"$work/input" >"$work/ours" 2>"$work/ours.err"
t1=$(now_us)
"${theirs[@]}" <"$work/input" >"$work/pyspf" 2>"$work/pyspf.err"
t2=$(now_us)
diag "mailward $(((t1 - t0) / 1000)) ms, pyspf $(((t2 - t1) / 1000)) ms for" \
	"$(wc -l <"$work/input") cases"
if [ "$(wc -l <"$work/ours")" -ne "$(wc -l <"$work/input")" ] ||
	[ "$(wc -l <"$work/pyspf")" -ne "$(wc -l <"$work/input")" ]; then
	echo "Bail out! a checker stopped early"
	sed 's/^/# /' "$work/ours.err" "$work/pyspf.err" | tail -20
	exit 1
fi

# CATEGORY ID OURS_WANT OURS_EXP_WANT NOTE | OURS OURS_EXP MECH PROBLEM | PY PY_EXP
paste <(cut -f1,2,6,7,8 "$work/gen/cases") "$work/ours" "$work/pyspf" |
	awk -F'\t' -v OFS='\t' '
	$3 == "-" { print $1, ($6 == $10 && $7 == $11) ? "agree" : "DIFFER", $2,
	            "mailward " $6 " " $7 " (" $9 ")", "pyspf " $10 " " $11; next }
	{ ok = $6 == $3 && ($4 == "-" || $7 == $4)
	  print "deliberate", ok ? "as-planned" : "DIFFER", $2,
	        "mailward " $6 " " $7 ", planned " $3 " " $4, "pyspf " $10 " " $11 " -- " $5 }
	' >"$work/verdicts"

for cat in "${categories[@]}"; do
	n=$(awk -F'\t' -v c="$cat" '$1 == c' "$work/verdicts" | wc -l)
	bad=$(awk -F'\t' -v c="$cat" '$1 == c && $2 == "DIFFER"' "$work/verdicts")
	if [ "$n" -eq 0 ]; then
		pass "$cat: only deliberate cases"
	elif [ -z "$bad" ]; then
		pass "$cat: $n cases agree with pyspf"
	else
		mapfile -t lines < <(printf '%s\n' "$bad" | cut -f3- | tr '\t' ' ' | head -40)
		fail "$cat: $(printf '%s\n' "$bad" | wc -l) of $n cases differ from pyspf" \
			"${lines[@]}"
	fi
done

n=$(awk -F'\t' '$1 == "deliberate"' "$work/verdicts" | wc -l)
bad=$(awk -F'\t' '$1 == "deliberate" && $2 == "DIFFER"' "$work/verdicts")
mapfile -t lines < <(awk -F'\t' '$1 == "deliberate"' "$work/verdicts" | cut -f2- | tr '\t' ' ')
if [ -z "$bad" ]; then
	pass "deliberate: $n cases answer per RFC 7208 where pyspf does not"
	for l in "${lines[@]}"; do diag "$l"; done
else
	fail "deliberate: some cases do not answer as planned" "${lines[@]}"
fi

total=$(wc -l <"$work/verdicts")
agree=$(awk -F'\t' '$2 == "agree"' "$work/verdicts" | wc -l)
differ=$(awk -F'\t' '$2 == "DIFFER"' "$work/verdicts" | wc -l)
summary="$total cases: $agree agree with pyspf, $n deliberate, $differ differ"
if [ "$differ" -eq 0 ]; then pass "$summary"; else fail "$summary"; fi
diag "results: $(cut -f1 "$work/pyspf" | sort | uniq -c | tr -s ' \n' ' ')"
diag "took $((($(now_us) - started) / 1000000)) s"
done_testing
