#!/bin/bash
# suppression.sh - the suppression list at scale: import, export, RCPT-time lookups
#
#   bench/suppression.sh [-n ROWS] [-l LOOKUPS] [--smoke] [--save] [--keep]
#
# Makes ROWS (1,000,000) random addresses as CSV (a tenth of them on a
# stream's list, the four reasons, times over a year), then, against a
# fresh store in a new work directory:
#   1. "mailward suppression import FILE" (wall seconds, rows/s);
#   2. "mailward suppression export" as CSV and as JSON Lines (seconds; the
#      CSV must hold every row);
#   3. bench/suppression-lookup: LOOKUPS (100,000) listed and LOOKUPS
#      unlisted addresses through suppression_get(), the function the
#      milter calls at RCPT, store only and with the milter's cache;
#      p50/p99/max in microseconds.  The target is p99 < 100 us.  Then
#      LOOKUPS/20 "cold" ones of each kind, with the store file dropped
#      from the kernel's page cache before each (a list larger than the
#      memory left for it): the case the cache is for.
# Not a timed test: it prints figures and fails only on wrong answers or
# failed commands.  --smoke (10,000 rows, 2,000 lookups) is what
# tests/e2e/suppression-cli.sh runs so this script keeps working.
# --save writes the report to bench/results/suppression-DATE.md.
# Needs the build (tools/build: mailward and bench/suppression-lookup);
# MAILWARD=/path/to/mailward measures another binary.  Nothing leaves the
# machine; the work directory is removed at exit unless --keep.
set -euo pipefail
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
lookup=$build/bench/suppression-lookup
rows=1000000 lookups=100000 save=0 keep=0

while [ $# -gt 0 ]; do
	case $1 in
	-n) rows=$2; shift ;;
	-l) lookups=$2; shift ;;
	--smoke) rows=10000 lookups=2000 ;;
	--save) save=1 ;;
	--keep) keep=1 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "suppression.sh: unknown argument $1 (try -h)" >&2; exit 64 ;;
	esac
	shift
done
for f in "$mw" "$lookup"; do
	[ -x "$f" ] || { echo "suppression.sh: $f is not built (run tools/build)" >&2; exit 69; }
done

work=$(mktemp -d /tmp/mw-suppression-bench.XXXXXX)
cleanup() {
	if [ "$keep" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
cat >"$work/mailward.conf" <<CONF
inbound = { mode = "off"; };
events = { spool_dir = "$work/spool"; };
store = { path = "$work/state.db"; };
CONF

seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# Random addresses in random order (the key's hex prefix), unique by the row number.
awk -v n="$rows" 'BEGIN {
	srand(20261124)
	split("BOUNCE COMPLAINT UNSUBSCRIBE MANUAL", reason, " ")
	print "address,scope,reason,time,message_id"
	for (i = 0; i < n; i++)
		printf "%08x.%d@example%d.com,%s,%s,%d,bench-%d\n", int(rand() * 4294967296), i,
			i % 997, i % 10 == 0 ? "news" : "", reason[1 + i % 4],
			1763000000 + int(rand() * 31536000), i
}' >"$work/list.csv"

sup() { "$mw" suppression -c "$work/mailward.conf" "$@"; }

t0=$EPOCHREALTIME
sup import "$work/list.csv" 2>"$work/import.log"
t1=$EPOCHREALTIME
import_s=$(seconds "$t0" "$t1")
import_rate=$(awk -v n="$rows" -v s="$import_s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')

t0=$EPOCHREALTIME
sup export "$work/out.csv" 2>/dev/null
t1=$EPOCHREALTIME
export_csv_s=$(seconds "$t0" "$t1")
t0=$EPOCHREALTIME
sup export "$work/out.jsonl" 2>/dev/null
t1=$EPOCHREALTIME
export_jsonl_s=$(seconds "$t0" "$t1")
exported=$(($(wc -l <"$work/out.csv") - 1))
if [ "$exported" -ne "$rows" ]; then
	echo "suppression.sh: exported $exported rows of $rows" >&2
	exit 1
fi

"$lookup" "$work/state.db" -n "$lookups" -c $((lookups / 20)) >"$work/lookup.txt" 2>"$work/lookup.log" || {
	cat "$work/lookup.txt" "$work/lookup.log" >&2
	exit 1
}

report() {
	echo "# mailward suppression list: $rows rows"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo '```'
	printf '%-28s %8s s  (%s rows/s)\n' "import (CSV, upsert)" "$import_s" "$import_rate"
	printf '%-28s %8s s\n' "export CSV" "$export_csv_s" "export JSON Lines" "$export_jsonl_s"
	echo
	cat "$work/lookup.txt"
	echo '```'
}
report | tee "$work/report.md"
if [ "$save" = 1 ]; then
	mkdir -p "$top/bench/results"
	cp "$work/report.md" "$top/bench/results/suppression-$(date -u +%Y%m%dT%H%M%SZ).md"
fi
