#!/bin/bash
# flush-cost.sh - what one disk flush per message costs this machine
#
#   bench/flush-cost.sh [-r RATE] [-n RUNS] [--algorithm rsa|ed25519] [--save]
#
# Why signing with durable Send events (events.durability = fsync) is
# slower at 2 concurrent messages than the signature alone explains: the
# flush itself.  Three cells, RUNS (3) times each, interleaved, on the
# shared milter-protocol load generator (../shared/bench/milterload, 2
# connections, 3 KB messages, unix socket), one mailward signing:
#   none         events.durability = none: no flush at all;
#   none+flush   the same, while another process flushes a file of its own
#                RATE (2000) times a second: nothing waits for those
#                flushes, so what this cell loses is what the flushes take
#                from the machine (on a virtual machine, the host's fsync);
#   fsync        events.durability = fsync: each message waits for the
#                flush that makes its Send event durable.
# Prints the median msgs/s of each cell and the ratios.  Not a timed test.
# Needs a built ./mailward and make -C ../shared/bench (milterload); the
# spool lives under the work directory on the disk being measured
# (BENCH_WORK, default /var/tmp/mailward-flush-cost), removed at exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$top/../shared/bench" && pwd)
work=${BENCH_WORK:-/var/tmp/mailward-flush-cost}
rate=2000 runs=3 algorithm=rsa save=0
while [ $# -gt 0 ]; do
	case $1 in
	-r) rate=$2; shift ;;
	-n) runs=$2; shift ;;
	--algorithm) algorithm=$2; shift ;;
	--save) save=1 ;;
	-h | --help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "flush-cost: unknown option $1 (--help)" >&2; exit 2 ;;
	esac
	shift
done
case $algorithm in rsa) alg=rsa-sha256 ;; ed25519) alg=ed25519-sha256 ;; *) echo "flush-cost: rsa or ed25519" >&2; exit 2 ;; esac
[ -x "$top/mailward" ] || { echo "flush-cost: build mailward first" >&2; exit 1; }
make -s -C "$shared" milterload >/dev/null

rm -rf "$work"
mkdir -p "$work"
mw_pid= load_pid=
cleanup() {
	[ -n "$mw_pid" ] && kill "$mw_pid" 2>/dev/null && wait "$mw_pid" 2>/dev/null
	[ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
"$top/mailward" keygen -a "$alg" -o "$work" -u "$(id -un)" example.com bench >/dev/null
/usr/bin/python3 "$shared/lib/genmsg.py" 3k "$work/msg.eml" >/dev/null

# A process that flushes its own file RATE times a second until killed.
flusher() {
	exec /usr/bin/python3 - "$work/flusher.bin" "$rate" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
os.write(fd, bytes(8 << 20)); os.fsync(fd)
rate, n, start, record = int(sys.argv[2]), 0, time.monotonic(), b"e" * 1500
while True:
    if n < (time.monotonic() - start) * rate:
        os.pwrite(fd, record, (n * 1500) % (8 << 20)); os.fdatasync(fd); n += 1
    else:
        time.sleep(0.0001)
PY
}

# one_run DURABILITY [flush]: prints msgs/s
one_run() {
	local d=$1 name sock
	name=run-$RANDOM$RANDOM sock=$work/$name.sock
	cat >"$work/$name.conf" <<EOF
daemon = { socket = "unix:$sock"; user = ""; socket_mode = "0600"; };
log = { to = "stderr"; level = "warning"; };
trusted_networks = [ "127.0.0.1/32" ];
domains = ( { domain = "example.com"; selector = "bench"; key = "$work/example.com.bench.pem"; algorithm = "$alg"; } );
events = { spool_dir = "$work/spool-$name"; durability = "$d"; };
store = { path = "$work/$name.db"; };
inbound = { mode = "off"; };
EOF
	"$top/mailward" -f -c "$work/$name.conf" 2>>"$work/mailward.log" &
	mw_pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	if [ "${2:-}" = flush ]; then
		flusher &
		load_pid=$!
		sleep 0.3
	fi
	"$shared/milterload" -s "unix:$sock" -m "$work/msg.eml" -c 2 -w 50 -d 3 \
		-a benchuser -f alice@example.com 2>/dev/null | sed -n 's/^msgs\/s *//p'
	if [ -n "$load_pid" ]; then kill "$load_pid"; wait "$load_pid" 2>/dev/null || true; load_pid=; fi
	kill "$mw_pid"; wait "$mw_pid" 2>/dev/null || true; mw_pid=
}

declare -A results
for r in $(seq "$runs"); do
	a=$(one_run none) b=$(one_run none flush) c=$(one_run fsync)
	results[none]+="$a " results[none+flush]+="$b " results[fsync]+="$c "
	echo "run $r/$runs: none $a, none + flushes $b, fsync $c msgs/s" >&2
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
none=$(median <<<"${results[none]}")
loaded=$(median <<<"${results[none+flush]}")
fsync=$(median <<<"${results[fsync]}")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
report=$(
	echo "# flush cost, $algorithm, 2 connections, 3 KB ($stamp)"
	echo
	echo "| cell | msgs/s (median of $runs) | runs |"
	echo "|---|---:|---|"
	echo "| none | $none | ${results[none]}|"
	echo "| none + $rate flushes/s elsewhere | $loaded | ${results[none+flush]}|"
	echo "| fsync (a flush per message, waited for) | $fsync | ${results[fsync]}|"
	echo
	awk -v n="$none" -v l="$loaded" -v f="$fsync" -v r="$rate" 'BEGIN {
		printf "Flushes nobody waits for, %d a second, take %.0f %% of the rate without them;\n", r, 100 * (1 - l / n)
		printf "waiting for one per message leaves %.0f %% of it.\n", 100 * f / n }'
)
echo "$report"
if [ "$save" = 1 ]; then
	mkdir -p "$top/bench/results"
	echo "$report" >"$top/bench/results/flush-cost-$stamp.md"
	echo "report: bench/results/flush-cost-$stamp.md"
fi
