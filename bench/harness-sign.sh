#!/bin/bash
# bench/harness-sign.sh - mailward signing against OpenDKIM on the shared
# milter-protocol harness (../shared/bench/run-peers.sh), in the same run.
#
# Usage: bench/harness-sign.sh [--quick] [--durability fsync|none|both]
#                              [--algorithms rsa,ed25519] [-- RUN-PEERS-OPTIONS...]
#
# Starts one mailward per algorithm and durability (unix sockets, the
# harness's RSA-2048 key for RSA so both milters sign with the same key, a
# fresh Ed25519 key for Ed25519), lets run-peers.sh measure them beside
# OpenDKIM at concurrency 2 and 8 for 3 KB and 100 KB messages, then prints
# each mailward cell as a ratio of OpenDKIM's msgs/s and CPU ms/msg.
# The report lands in bench/results/harness-sign-STAMP.md.
#
# Needs: a built ./mailward, make -C ../shared/bench (milterload), the
# packages of tools/deps plus opendkim and opendmarc (the harness starts them).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$top/../shared/bench" && pwd)
work=${BENCH_WORK:-/tmp/mailward-harness}
harness_work=$work/harness
durability=both
algorithms=rsa,ed25519
extra=()

while [ $# -gt 0 ]; do
	case $1 in
	--quick) extra+=(--quick) ;;
	--durability) durability=$2; shift ;;
	--algorithms) algorithms=$2; shift ;;
	--) shift; extra+=("$@"); break ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "harness-sign: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
case $durability in
fsync | none) durabilities=$durability ;;
both) durabilities="fsync none" ;;
*) echo "harness-sign: --durability fsync|none|both" >&2; exit 2 ;;
esac

[ -x "$top/mailward" ] || { echo "harness-sign: build mailward first (tools/build && make)" >&2; exit 1; }
make -s -C "$shared" >/dev/null
rm -rf "$work"
mkdir -p "$work"
"$top/mailward" keygen -a ed25519-sha256 -o "$work" -u "$(id -un)" example.com bench-ed >/dev/null

# The harness wipes its work directory and then makes its RSA key; the
# policy names that path, read when mailward starts (after the key exists).
milters=()
for algo in ${algorithms//,/ }; do
	for d in $durabilities; do
		name=mw-$algo-$d
		case $algo in
		rsa) key="$harness_work/keys/bench.private" sel=bench alg=rsa-sha256 ;;
		ed25519) key="$work/example.com.bench-ed.pem" sel=bench-ed alg=ed25519-sha256 ;;
		*) echo "harness-sign: algorithm rsa or ed25519" >&2; exit 2 ;;
		esac
		cat >"$work/$name.conf" <<EOF
daemon = { socket = "unix:$work/$name.sock"; user = ""; socket_mode = "0666"; };
log = { to = "stderr"; level = "warning"; };
trusted_networks = [ "127.0.0.1/32" ];
domains = ( { domain = "example.com"; selector = "$sel"; key = "$key"; algorithm = "$alg"; } );
events = { spool_dir = "$work/spool-$name"; durability = "$d"; };
store = { path = "$work/state-$name.db"; };
inbound = { mode = "off"; };
EOF
		milters+=(--milter "$name:sign:unix:$work/$name.sock"
			--milter-cmd "$name:$top/mailward -f -c $work/$name.conf")
	done
done

out=$work/run-peers.out
"$shared/run-peers.sh" --work "$harness_work" --peers dkim-sign --conc 2,8 --sizes 3k,100k \
	--no-openssl "${milters[@]}" "${extra[@]}" | tee "$out"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$top/bench/results"
report=$top/bench/results/harness-sign-$stamp.md
{
	cat "$harness_work/results/report.md"
	echo
	echo "## mailward / OpenDKIM (same run)"
	echo
	/usr/bin/python3 - "$harness_work/results/report.md" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip('|').split('|')]
    if len(cells) > 8 and cells[1] == 'sign' and cells[4].replace('.', '').isdigit():
        rows[(cells[0], cells[2], cells[3])] = (float(cells[4]), float(cells[8]))
print('| system | size | conc | msgs/s | ratio to OpenDKIM msgs/s | CPU ms/msg | ratio to OpenDKIM CPU |')
print('|---|---|---|---|---|---|---|')
for (system, size, conc), (rate, cpu) in sorted(rows.items()):
    if system == 'dkim-sign':
        continue
    peer = rows.get(('dkim-sign', size, conc))
    if peer:
        print(f'| {system} | {size} | {conc} | {rate:.0f} | {rate / peer[0]:.2f}x | '
              f'{cpu:.3f} | {cpu / peer[1]:.2f}x |')
PY
} >"$report"
sed -n '/## mailward \/ OpenDKIM/,$p' "$report"
echo "report: $report"
