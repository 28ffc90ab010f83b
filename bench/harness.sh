#!/bin/bash
# bench/harness.sh - mailward against its peers on the shared milter-protocol
# harness (../shared/bench/run-peers.sh), in the same run.
#
# Usage: bench/harness.sh sign [--quick] [--durability fsync|none|both]
#                              [--algorithms rsa,ed25519] [-- RUN-PEERS-OPTIONS...]
#        bench/harness.sh inbound [--quick] [-- RUN-PEERS-OPTIONS...]
#
# sign: one mailward per algorithm and durability (unix sockets, the
# harness's RSA-2048 key for RSA so both milters sign with the same key, a
# fresh Ed25519 key for Ed25519) beside OpenDKIM signing; each mailward
# cell is printed as a ratio of OpenDKIM's msgs/s and CPU ms/msg.
#
# inbound: one mailward doing SPF + DKIM + DMARC (the harness's "dmarc"
# input: an OpenDKIM-signed message from 192.0.2.10, SPF and DMARC records
# in the harness's zone, asked through its loopback DNS server) beside
# OpenDKIM verifying and OpenDMARC; mailward's CPU ms/msg is printed as a
# ratio of the sum of the two (they do together what mailward does alone).
#
# Concurrency 2 and 8, 3 KB and 100 KB messages.  The report lands in
# bench/results/harness-MODE-STAMP.md.
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
mode=${1:-}
case $mode in
sign | inbound) shift ;;
-h | --help) sed -n '2,24p' "$0"; exit 0 ;;
*) echo "usage: bench/harness.sh sign|inbound [options] (--help)" >&2; exit 2 ;;
esac

while [ $# -gt 0 ]; do
	case $1 in
	--quick) extra+=(--quick) ;;
	--durability) durability=$2; shift ;;
	--algorithms) algorithms=$2; shift ;;
	--) shift; extra+=("$@"); break ;;
	-h | --help) sed -n '2,24p' "$0"; exit 0 ;;
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
# Spools of earlier runs are deleted when a run ends, not when the next one
# starts: ext4 without a journal (this machine's root) skips inodes deleted
# in the last minutes when it allocates new ones, which would bill the
# previous run's clean-up to this run's event files.
rm -rf "$work"
mkdir -p "$work"
trap 'find "$work" -maxdepth 1 -name "spool-*" -exec rm -rf {} +' EXIT
"$top/mailward" keygen -a ed25519-sha256 -o "$work" -u "$(id -un)" example.com bench-ed >/dev/null

# The harness wipes its work directory and then makes its RSA key; the
# policy names that path, read when mailward starts (after the key exists).
milters=()
if [ "$mode" = inbound ]; then
	algorithms=
	name=mw-inbound
	cat >"$work/$name.conf" <<EOF
daemon = { socket = "unix:$work/$name.sock"; user = ""; socket_mode = "0666"; };
log = { to = "stderr"; level = "warning"; };
trusted_networks = [ "127.0.0.1/32" ];
events = { spool_dir = "$work/spool-$name"; };
store = { path = "$work/state-$name.db"; };
dns = { nameservers = [ "127.0.53.1" ]; };
inbound = { authserv_id = "mailward.bench"; };
EOF
	milters+=(--milter "$name:dmarc:unix:$work/$name.sock"
		--milter-cmd "$name:$top/mailward -f -c $work/$name.conf")
	peers=dkim-verify,dmarc
else
	peers=dkim-sign
fi
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
"$shared/run-peers.sh" --work "$harness_work" --peers "$peers" --conc 2,8 --sizes 3k,100k \
	--no-openssl "${milters[@]}" "${extra[@]}" | tee "$out"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$top/bench/results"
report=$top/bench/results/harness-$mode-$stamp.md
{
	cat "$harness_work/results/report.md"
	echo
	echo "## mailward / peers (same run)"
	echo
	/usr/bin/python3 - "$mode" "$harness_work/results/report.md" <<'PY'
import sys
mode, report = sys.argv[1], sys.argv[2]
rows = {}
for line in open(report):
    cells = [c.strip() for c in line.strip().strip('|').split('|')]
    if len(cells) > 8 and cells[4].replace('.', '').isdigit():
        rows[(cells[0], cells[2], cells[3])] = (float(cells[4]), float(cells[8]))
if mode == 'sign':
    print('| system | size | conc | msgs/s | ratio to OpenDKIM msgs/s | CPU ms/msg | ratio to OpenDKIM CPU |')
    print('|---|---|---|---|---|---|---|')
    for (system, size, conc), (rate, cpu) in sorted(rows.items()):
        peer = rows.get(('dkim-sign', size, conc))
        if system != 'dkim-sign' and peer:
            print(f'| {system} | {size} | {conc} | {rate:.0f} | {rate / peer[0]:.2f}x | '
                  f'{cpu:.3f} | {cpu / peer[1]:.2f}x |')
else:
    print('| size | conc | mailward CPU ms/msg | OpenDKIM verify + OpenDMARC CPU ms/msg | ratio | mailward msgs/s |')
    print('|---|---|---|---|---|---|')
    for (system, size, conc), (rate, cpu) in sorted(rows.items()):
        verify, dmarc = rows.get(('dkim-verify', size, conc)), rows.get(('dmarc', size, conc))
        if system == 'mw-inbound' and verify and dmarc:
            peers = verify[1] + dmarc[1]
            print(f'| {size} | {conc} | {cpu:.3f} | {verify[1]:.3f} + {dmarc[1]:.3f} = {peers:.3f} '
                  f'| {cpu / peers:.2f}x | {rate:.0f} |')
PY
} >"$report"
sed -n '/## mailward \/ peers/,$p' "$report"
echo "report: $report"
