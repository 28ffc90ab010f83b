#!/bin/bash
# suppression-cli.sh - "mailward suppression import/export", and the milter's cache
#
# Import reads CSV and JSON Lines, from files and standard input: good
# rows are upserted, bad ones reported as FILE:LINE: reason and skipped
# (exit 1), --strict imports nothing when any row is bad, an unusable CSV
# header is exit 65.  Export gives back what was imported (sorted, the
# same bytes) and filters like list (reason, stream, date range).  Then a
# running milter (the milter protocol straight, tests/lib/milter-client.py)
# refuses an address the CLI added a moment before, accepts it again at
# the next message once the CLI removed it, and refuses what the CLI
# imported: the cache in front of its lookups notices other processes'
# changes at once.  Last, the benchmark's smoke run (10,000 rows).  About
# 5 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/e2e/postfix-lib.sh"

[ -x /usr/bin/python3 ] || skip_all "/usr/bin/python3 not installed"

work=$(mktemp -d /tmp/mw-suppression-cli.XXXXXX)
mw_pid=
cleanup() {
	[ -n "$mw_pid" ] && kill -9 "$mw_pid" 2>/dev/null
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

plan 39

milter_addr=127.0.53.60
read -r mw_port < <(pf_free_ports 1)
# conf NAME: a policy whose store is $work/NAME.db (one store per part of the test)
conf() {
	cat >"$work/$1.conf" <<CONF
daemon = { socket = "inet:$mw_port@$milter_addr"; user = ""; };
log = { to = "stderr"; level = "info"; };
inbound = { mode = "off"; };
events = { spool_dir = "$work/spool"; };
store = { path = "$work/$1.db"; };
CONF
}
# sup NAME ARGS...: mailward suppression on store NAME; stderr in $work/err
sup() {
	local name=$1
	shift
	[ -f "$work/$name.conf" ] || conf "$name"
	"$mw" suppression -c "$work/$name.conf" "$@" 2>"$work/err"
}
# status CMD...: its exit status (its output dropped)
status() {
	"$@" >/dev/null
	echo $?
}

# ------------------------------------------------------------------ CSV
cat >"$work/clean.csv" <<'CSV'
address,scope,reason,time,message_id
"""john doe""@example.com",vip,MANUAL,2024-06-01T00:00:00.000Z,m-0
alice@example.com,,BOUNCE,2026-11-01T10:00:00.000Z,m-1
bob@example.org,news,COMPLAINT,2026-11-10T12:30:00.000Z,m-2
carol@example.net,,UNSUBSCRIBE,2026-11-20T00:00:00.000Z,"id, with comma"
dave@example.com,weekly,MANUAL,2025-01-01T00:00:00.000Z,
CSV
rc=$(status sup a import "$work/clean.csv")
check "a clean CSV file (with a quoted local part) imports (exit 0) and says how many" \
	bash -c "[ $rc = 0 ] && grep -q '5 entries imported from $work/clean.csv' '$work/err'"
sup a export "$work/back.csv"
check "export gives back the same CSV, byte for byte (sorted by address)" \
	cmp -s "$work/clean.csv" "$work/back.csv"
check "export to standard output is the same" \
	bash -c "cmp -s '$work/back.csv' <('$mw' suppression -c '$work/a.conf' export 2>/dev/null)"

cat >"$work/mixed.csv" <<'CSV'
emailAddress,reason
Erin@Example.COM,bounce
not-an-address,BOUNCE
frank@example.com,SPAMMED

gina@example.com,
"unterminated@example.com,BOUNCE
CSV
rc=$(status sup b import "$work/mixed.csv")
check "a CSV with bad rows: the good ones are imported, exit 1" \
	bash -c "[ $rc = 1 ] && grep -q '2 entries imported.*3 bad rows skipped' '$work/err'"
check "... each bad row is named FILE:LINE with its reason" \
	bash -c "grep -q '^$work/mixed.csv:3: address without @: \"not-an-address\"' '$work/err' &&
		grep -q '^$work/mixed.csv:4: unknown reason \"SPAMMED\"' '$work/err' &&
		grep -q '^$work/mixed.csv:7: unterminated quoted field' '$work/err'"
check "... addresses are lower-cased, a missing reason is MANUAL" \
	test "$(sup b export | cut -d, -f1,3 | tr '\n' ' ')" = \
	"address,reason erin@example.com,BOUNCE gina@example.com,MANUAL "

rc=$(status sup c import --strict "$work/mixed.csv")
check "--strict with bad rows: exit 1, every bad row reported" \
	bash -c "[ $rc = 1 ] && [ \$(grep -c '^$work/mixed.csv:[0-9]*:' '$work/err') = 3 ] &&
		grep -q 'nothing imported (--strict)' '$work/err'"
check "... and nothing imported" test "$(sup c export | wc -l)" = 1
check "--strict with a clean file imports it all" \
	bash -c "[ $(status sup c import "$work/clean.csv" --strict) = 0 ] && [ \$('$mw' suppression -c '$work/c.conf' export 2>/dev/null | wc -l) = 6 ]"

printf 'address,colour\nx@example.com,red\n' >"$work/header.csv"
rc=$(status sup d import "$work/header.csv")
check "an unknown CSV column is exit 65 (not the format), nothing imported" \
	bash -c "[ $rc = 65 ] && grep -q 'header.csv:1: header: unknown column \"colour\"' '$work/err'"
check "a missing input file is exit 66" test "$(status sup d import "$work/nope.csv")" = 66
printf 'h1@example.com\nh2@example.com,news\n' >"$work/plain.txt"
check "a plain list of addresses (no header) imports as MANUAL entries" \
	bash -c "[ $(status sup d import "$work/plain.txt") = 0 ] && [ \"\$('$mw' suppression -c '$work/d.conf' get h2@example.com --stream news 2>/dev/null | grep -o MANUAL)\" = MANUAL ]"
printf '\xef\xbb\xbfh3@example.com\r\n' >"$work/bom.csv"
check "a byte-order mark and CRLF line ends (as spreadsheets write) are no part of a row" \
	bash -c "[ $(status sup d import "$work/bom.csv") = 0 ] && '$mw' suppression -c '$work/d.conf' get h3@example.com >/dev/null 2>&1"
printf 'address,reason,time\nh1@example.com,COMPLAINT,2026-11-23T10:00:00+01:00\n' >"$work/again.csv"
sup d import "$work/again.csv"
check "importing an address again updates its entry (upsert)" \
	bash -c "'$mw' suppression -c '$work/d.conf' get h1@example.com 2>/dev/null | grep -q '\"reason\":\"COMPLAINT\",\"lastUpdateTime\":\"2026-11-23T09:00:00.000Z\"'"

# ----------------------------------------------------------- JSON Lines
cat >"$work/clean.jsonl" <<'JSON'
{"emailAddress":"alice@example.com","reason":"BOUNCE","lastUpdateTime":"2026-11-01T10:00:00.000Z","stream":"","messageId":"m-1"}
{"emailAddress":"bob@example.org","reason":"COMPLAINT","lastUpdateTime":"2026-11-10T12:30:00.000Z","stream":"news","messageId":"m-2"}
{"emailAddress":"zoe@example.com","reason":"UNSUBSCRIBE","lastUpdateTime":"2026-11-20T00:00:00.000Z","stream":"news","messageId":"say \"hi\""}
JSON
check "a JSON Lines file imports (format from the extension)" \
	test "$(status sup e import "$work/clean.jsonl")" = 0
check "export --format jsonl gives back the same lines" \
	bash -c "cmp -s '$work/clean.jsonl' <('$mw' suppression -c '$work/e.conf' export --format jsonl 2>/dev/null)"
sup e export "$work/back.jsonl"
check "... and so does export to FILE.jsonl" cmp -s "$work/clean.jsonl" "$work/back.jsonl"
check "list prints the same objects" \
	bash -c "cmp -s '$work/clean.jsonl' <('$mw' suppression -c '$work/e.conf' list 2>/dev/null)"
cat >"$work/mixed.jsonl" <<'JSON'
{"emailAddress":"ok@example.com","lastUpdateTime":1795000000}
{"emailAddress":"bad@@example.com"}
{"emailAddress":"x@example.com","reason":"LOST"}
{"emailAddress":"y@example.com","colour":"red"}
not json at all
JSON
rc=$(status sup f import "$work/mixed.jsonl")
check "JSON Lines with bad rows: good ones imported, each bad one FILE:LINE, exit 1" \
	bash -c "[ $rc = 1 ] && [ \$(grep -c '^$work/mixed.jsonl:[2-5]: ' '$work/err') = 4 ] &&
		grep -q 'mixed.jsonl:4: unknown key \"colour\"' '$work/err' &&
		[ \"\$('$mw' suppression -c '$work/f.conf' export 2>/dev/null | tail -n +2)\" = 'ok@example.com,,MANUAL,2026-11-18T11:06:40.000Z,' ]"

# -------------------------------------------------------------- stdin
rc=$(status sup g import - <"$work/clean.csv")
check "import - reads CSV from standard input" \
	bash -c "[ $rc = 0 ] && grep -q '5 entries imported from stdin' '$work/err'"
rc=$(status sup h import - --format jsonl <"$work/clean.jsonl")
check "import - --format jsonl reads JSON Lines from standard input" \
	bash -c "[ $rc = 0 ] && [ \$('$mw' suppression -c '$work/h.conf' export 2>/dev/null | wc -l) = 4 ]"
rc=$(status sup i import - --strict <"$work/mixed.csv")
check "import - --strict: nothing imported from a bad standard input" \
	bash -c "[ $rc = 1 ] && grep -q '^stdin:3: address without @' '$work/err' && [ \$('$mw' suppression -c '$work/i.conf' export 2>/dev/null | wc -l) = 1 ]"
rc=$(status sup i import - --strict <"$work/clean.csv")
check "import - --strict: all of a clean standard input" \
	bash -c "[ $rc = 0 ] && [ \$('$mw' suppression -c '$work/i.conf' export 2>/dev/null | wc -l) = 6 ]"

# ------------------------------------------------------------ filters
addresses() { sup a "$@" | tail -n +2 | cut -d, -f1 | tr '\n' ' '; }
check "export --reason" test "$(addresses export --reason complaint)" = "bob@example.org "
check "export --stream" test "$(addresses export --stream weekly)" = "dave@example.com "
check "export --stream '' (the account's list only)" \
	test "$(addresses export --stream '')" = "alice@example.com carol@example.net "
check "export --start-date / --end-date (start included, end excluded)" \
	test "$(addresses export --start-date 2026-11-01T10:00:00Z --end-date 2026-11-20)" = \
	"alice@example.com bob@example.org "
check "list takes the same date filters" \
	test "$(sup a list --start-date 2026-11-15 | grep -o '"emailAddress":"[^"]*"')" = '"emailAddress":"carol@example.net"'
check "a bad date is a usage error (64)" test "$(status sup a export --start-date yesterday)" = 64
check "--help documents import and export" \
	bash -c "'$mw' suppression --help | grep -q 'import FILE|- \[--format F\] \[--strict\]' && '$mw' suppression --help | grep -q 'export \[FILE|-\]'"

# -------------------------------------- the milter's cache sees the CLI
conf m
sup m import "$work/clean.csv"
"$mw" -f -c "$work/m.conf" 2>"$work/milter.log" &
mw_pid=$!
check "the milter reads the list into its cache at start" \
	wait_until 10 grep -q 'suppression cache: 5 entries read' "$work/milter.log"
wait_until 10 bash -c "ss -ltn | grep -q '$milter_addr:$mw_port '"
printf 'From: sender@example.com\r\nTo: x@example.com\r\nSubject: hi\r\n\r\nbody\r\n' >"$work/msg.eml"
mc() {
	/usr/bin/python3 "$top/tests/lib/milter-client.py" "$milter_addr:$mw_port" \
		--message "$work/msg.eml" --client 127.0.0.1 --from sender@example.com \
		--rcpt "$1" --qid "$2"
}
check "an address imported before the start is refused at RCPT" \
	grep -q '^rcpt 550 5.1.1 mailward: alice@example.com is on the suppression list (BOUNCE' <<<"$(mc alice@example.com CACHE0001)"
check "an address not listed is accepted" grep -q '^verdict accept' <<<"$(mc new@example.com CACHE0002)"
sup m add New@Example.com --reason complaint
check "the CLI adds it: the next message to it is refused" \
	grep -q '^rcpt 550 5.1.1 mailward: new@example.com is on the suppression list (COMPLAINT' <<<"$(mc new@example.com CACHE0003)"
sup m remove new@example.com
check "the CLI removes it: the next message to it is accepted" \
	grep -q '^verdict accept' <<<"$(mc new@example.com CACHE0004)"
printf 'imported@example.com,,BOUNCE\n' | sup m import -
check "the CLI imports an address: refused at once" \
	grep -q '^rcpt 550 5.1.1 mailward: imported@example.com is on the suppression list' <<<"$(mc imported@example.com CACHE0005)"
check "... and the cache read the list again in the background" \
	wait_until 10 grep -q 'suppression cache: 6 entries read again' "$work/milter.log"
check "mailward is still running" pid_alive "$mw_pid"

# ---------------------------------------------------- the benchmark, small
check "bench/suppression.sh --smoke runs and prints lookup percentiles" \
	bash -c "TOP_SRCDIR='$top' TOP_BUILDDIR='$build' MAILWARD='$mw' '$top/bench/suppression.sh' --smoke >'$work/bench.txt' 2>&1 && grep -q '^with cache miss' '$work/bench.txt'"

if ! done_testing; then
	sed 's/^/# /' "$work/milter.log" 2>/dev/null | tail -20
	sed 's/^/# bench: /' "$work/bench.txt" 2>/dev/null | tail -20
	exit 1
fi
