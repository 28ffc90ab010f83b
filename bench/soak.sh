#!/bin/bash
# bench/soak.sh - mixed load on one mailward for a long time: nothing lost,
# no leak.  See bench/README ("soak.sh").
#
#   smtp-source (outbound, 127.0.0.1)  --\
#   soak_smtp.py (inbound 127.0.53.93/94, -> private Postfix -> smtp-sink
#     feedback 127.0.53.95)            --/        | smtpd_milters (unix socket)
#   milterload (milter protocol) ------------> mailward <-> NSD 127.0.53.92
#
# At the end it checks, and prints in bench/results/soak-STAMP.md:
#   * per traffic class, messages in = messages out (sink) + refused (5xx)
#     + discarded (feedback mailward consumed), and Postfix agrees;
#   * events in the spool = events expected, per event type;
#   * RSS after the warm-up vs at the end (growth < 10 %), open fds and
#     threads idle before vs idle after the load (equal);
#   * p50/p99 latency from every generator (reported, not checked).
# Exit status 1 when an invariant fails.  --valgrind runs mailward under
# memcheck and adds: zero errors, zero definite/indirect leaks.
#
# Needs root (Postfix, NSD on port 53), Debian's postfix, nsd, python3-dkim,
# valgrind (for --valgrind) and the mailward user (tools/deps).  Loopback
# only; everything started is stopped by PID on exit; every wait is bounded.
set -u -o pipefail

usage() {
	cat <<'EOF'
Usage: bench/soak.sh [OPTION]...

  --duration S   seconds of load (default 600)
  --valgrind     run mailward under valgrind memcheck (use 60-120 s)
  --report FILE  where the Markdown report goes
                 (default bench/results/soak[-valgrind]-STAMP.md)
  --work DIR     work directory (default a new /tmp/mw-soak.XXXXXX)
  --keep         keep the work directory
  --tap          also print the invariants as TAP (for tests/e2e/soak-smoke.sh)
  -h, --help

Environment: MAILWARD (the binary), MILTERLOAD (default
/work/shared/bench/milterload; that part is skipped if it is missing),
SOAK_ADDRS (four loopback addresses, default 127.0.53.92-95: NSD and the
unsubscribe endpoint, inbound pass client, inbound fail client, feedback
client).
EOF
}

die() {
	printf 'soak: %s\n' "$*" >&2
	exit 2
}
note() { printf 'soak: %s\n' "$*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
MAILWARD=${MAILWARD:-$top/mailward}
MILTERLOAD=${MILTERLOAD:-/work/shared/bench/milterload}
PY=/usr/bin/python3
DURATION=600 VALGRIND=0 REPORT='' WORK='' KEEP=0 TAP=0
while (($# > 0)); do
	case $1 in
	--duration) DURATION=${2:?}; shift ;;
	--valgrind) VALGRIND=1 ;;
	--report) REPORT=${2:?}; shift ;;
	--work) WORK=${2:?}; shift ;;
	--keep) KEEP=1; export KEEP_WORK=1 ;;
	--tap) TAP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 64 ;;
	esac
	shift
done
[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 10)) || die "--duration: at least 10 seconds"
read -r A_DNS A_PASS A_FAIL A_FB <<<"${SOAK_ADDRS:-127.0.53.92 127.0.53.93 127.0.53.94 127.0.53.95}"
[[ -n $A_FB ]] || die "SOAK_ADDRS needs four addresses"

(($(id -u) == 0)) || die "must run as root (Postfix, NSD on port 53)"
for tool in postfix smtp-source smtp-sink nsd; do
	command -v "$tool" >/dev/null || die "$tool not installed (tools/deps)"
done
"$PY" -c 'import dkim' 2>/dev/null || die "python3-dkim not installed (tools/deps)"
getent passwd mailward >/dev/null || die "no mailward user (tools/deps)"
[[ -x $MAILWARD ]] || die "no mailward binary at $MAILWARD (tools/build && make)"
((VALGRIND == 0)) || command -v valgrind >/dev/null || die "valgrind not installed"
USE_ML=1
[[ -x $MILTERLOAD ]] || {
	USE_ML=0
	note "no milterload at $MILTERLOAD: the milter-protocol part is skipped"
}

. "$top/tests/lib/dns-lib.sh"
. "$top/tests/e2e/postfix-lib.sh"

# ------------------------------------------------------------ work dir
[[ -n $WORK ]] || WORK=$(mktemp -d /tmp/mw-soak.XXXXXX) || die "mktemp failed"
mkdir -p "$WORK" && chmod 755 "$WORK"
W=$WORK
mkdir -p "$W/keys" "$W/msgs" "$W/run" "$W/state" "$W/gen"
chmod 755 "$W/run"
MW_PID='' PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	if [[ -n $MW_PID ]] && kill -0 "$MW_PID" 2>/dev/null; then
		kill -KILL "$MW_PID" 2>/dev/null
		wait "$MW_PID" 2>/dev/null
	fi
	pf_cleanup >/dev/null 2>&1
	dns_cleanup >/dev/null 2>&1
	if ((KEEP)); then
		note "work directory kept: $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ keys, DNS
# Outbound: example.com (RSA) and the bulk stream's promo.example.com
# (Ed25519), made by mailward keygen.  Inbound: pass.example.org signs with
# an RSA key of ours (dkimpy); fail.example.org has SPF -all, no signature
# and p=reject, so its mail is refused on purpose.
"$MAILWARD" keygen -o "$W/keys" example.com mwrsa >"$W/keys/example.com.txt" || die "keygen failed"
"$MAILWARD" keygen -a ed25519-sha256 -o "$W/keys" promo.example.com mwed \
	>"$W/keys/promo.txt" || die "keygen failed"
"$MAILWARD" keygen -u root -o "$W/keys" pass.example.org inrsa >"$W/keys/pass.txt" || die "keygen failed"
txt_of() { # the p= record keygen printed, as one string
	sed -n 's/.*IN TXT ( \(.*\) )$/\1/p' "$1" | sed 's/" "//g; s/^"//; s/"$//'
}
head -c 32 /dev/urandom >"$W/keys/verp.key"
chmod 600 "$W/keys/verp.key"
chown mailward:mailward "$W/keys/verp.key"

dns_setup "$W/dns" "$A_DNS" >/dev/null || die "dns_setup failed"
for z in example.com example.org; do dns_zone "$z"; done
dns_txt mwrsa._domainkey.example.com "$(txt_of "$W/keys/example.com.txt")"
dns_txt mwed._domainkey.promo.example.com "$(txt_of "$W/keys/promo.txt")"
dns_txt inrsa._domainkey.pass.example.org "$(txt_of "$W/keys/pass.txt")"
dns_txt pass.example.org "v=spf1 ip4:$A_PASS -all"
dns_txt _dmarc.pass.example.org "v=DMARC1; p=reject"
dns_txt fail.example.org "v=spf1 ip4:192.0.2.1 -all"
dns_txt _dmarc.fail.example.org "v=DMARC1; p=reject"
dns_start || die "NSD did not start on $A_DNS"

# ------------------------------------------------------------ messages
msg() { # FROM TO SUBJECT: a small plain message (LF; the senders make CRLF)
	printf 'From: %s\nTo: %s\nSubject: %s\nDate: %s\nMIME-Version: 1.0\nContent-Type: text/plain\n\n' \
		"$1" "$2" "$3" "$(date -R)"
	local i
	for ((i = 0; i < 40; i++)); do
		printf 'Line %02d of a soak test message, long enough to look like mail.\n' "$i"
	done
}
msg a@pass.example.org user@dest.example.net "inbound, DKIM signed" >"$W/msgs/in-dkim.eml"
"$PY" - "$W/msgs/in-dkim.eml" "$W/keys/pass.example.org.inrsa.pem" <<'PY' || die "dkimpy could not sign"
import sys, dkim
path, key = sys.argv[1:3]
msg = open(path, "rb").read().replace(b"\n", b"\r\n")
sig = dkim.sign(msg, b"inrsa", b"pass.example.org", open(key, "rb").read(),
                canonicalize=(b"relaxed", b"relaxed"))
open(path, "wb").write(sig + msg)
PY
msg b@pass.example.org user@dest.example.net "inbound, SPF only" >"$W/msgs/in-spf.eml"
msg x@fail.example.org user@dest.example.net "inbound, DMARC fails" >"$W/msgs/in-fail.eml"
msg alice@example.com rcpt@dest.example.net "outbound over the milter protocol" >"$W/msgs/ml-out.eml"

# Feedback: every corpus message that is a bounce, a delay or a complaint;
# the events each gives are in its .expect.json (kept true by the corpus
# tests).  Bounces and delays go to their VERP address, complaints to the
# complaint address.
fb_jobs=()
: >"$W/gen/feedback-expect.tsv"
for f in "$top"/tests/data/feedback/*.eml; do
	n=$(basename "$f" .eml)
	read -r kind nev types < <("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["kind"], len(d["events"]), ",".join(e["eventType"] for e in d["events"]) or "-")' \
		"${f%.eml}.expect.json")
	case $kind in
	bounce | delay) rcpt=$(sed -n 's/^To: *<\{0,1\}\([^> \r]*\).*/\1/p' "$f" | head -1) ;;
	complaint) rcpt=complaints@example.org ;;
	*) continue ;;
	esac
	fb_jobs+=(--job "feedback/$n=$A_FB,<>,$rcpt,$f")
	printf '%s\t%s\t%s\t%s\n' "feedback/$n" "$kind" "$nev" "$types" >>"$W/gen/feedback-expect.tsv"
done

# ------------------------------------------------------------ Postfix
# shellcheck disable=SC2034 # read by postfix-lib.sh's pf_setup
PF_IPV6=0
pf_setup "$W/pf" >/dev/null || die "pf_setup failed"
ML_SOCK=$W/run/mailward.sock
UNSUB_PORT=$(pf_free_ports 1)
pf_conf "smtpd_milters = unix:$ML_SOCK" "milter_default_action = tempfail" \
	"milter_protocol = 6" "default_process_limit = 60" \
	"smtp_destination_concurrency_limit = 20" "smtpd_client_connection_rate_limit = 0" \
	>/dev/null || die "pf_conf failed"

# ------------------------------------------------------------ mailward
cp "$W"/keys/*.pem "$W/state/" 2>/dev/null
chown -R mailward:mailward "$W/state"
chmod 600 "$W"/state/*.pem
cat >"$W/state/mailward.conf" <<CONF
daemon = { socket = "unix:$ML_SOCK"; user = "mailward"; socket_group = "postfix"; };
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "127.0.0.1/32" ];
domains = (
  { domain = "example.com"; selector = "mwrsa"; key = "$W/state/example.com.mwrsa.pem"; algorithm = "rsa-sha256"; },
  { domain = "promo.example.com"; selector = "mwed"; key = "$W/state/promo.example.com.mwed.pem"; algorithm = "ed25519-sha256"; }
);
mail_from = ( { domain = "example.com"; bounce_domain = "bounce.example.com"; } );
feedback = {
  bounce_domains = [ "bounce.example.com", "bounce.example.org" ];
  complaint_addresses = [ "complaints@example.org" ];
  verp_keys = ( { id = 1; file = "$W/keys/verp.key"; } );
};
streams = ( { name = "promo"; bulk = true; senders = [ "*@promo.example.com" ]; } );
unsubscribe = { url = "https://mail.example.com/u/"; mailto = "unsubscribe@bounce.example.com";
  listen = "$A_DNS:$UNSUB_PORT"; };
metrics = { listen = "$A_DNS:$UNSUB_PORT"; };
inbound = { mode = "enforce"; authserv_id = "mx.soak.test"; };
dns = { nameservers = [ "$A_DNS" ]; };
events = { spool_dir = "$W/state/spool"; };
store = { path = "$W/state/mailward.db"; };
CONF
chown mailward:mailward "$W/state/mailward.conf"

VG_LOG=$W/valgrind.log
start_mailward() {
	local cmd=("$MAILWARD" -f -c "$W/state/mailward.conf")
	if ((VALGRIND)); then
		# shellcheck disable=SC2054 # the commas belong to the options
		cmd=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect
			--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30
			--track-fds=no --vgdb=no --log-file="$VG_LOG" "${cmd[@]}")
		[[ -s $here/valgrind.supp ]] && cmd=("${cmd[0]}" --suppressions="$here/valgrind.supp" "${cmd[@]:1}")
	fi
	"${cmd[@]}" 2>"$W/mailward.log" &
	MW_PID=$!
	# valgrind needs much longer to start
	wait_until $((VALGRIND ? 120 : 15)) test -S "$ML_SOCK" || {
		tail -20 "$W/mailward.log" >&2
		die "mailward did not create $ML_SOCK"
	}
}
start_mailward
pf_start >/dev/null && sink_start >/dev/null || die "Postfix or the sink did not start"

# ------------------------------------------------------------ sampling
# One line per sample: seconds since the start, RSS KiB, open fds, threads.
sample() {
	local rss thr fds
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$MW_PID/status" 2>/dev/null)
	thr=$(awk '/^Threads:/ { print $2 }' "/proc/$MW_PID/status" 2>/dev/null)
	fds=$(find "/proc/$MW_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$(($(date +%s) - T0))" "${rss:-0}" "$fds" "${thr:-0}" >>"$W/gen/samples.tsv"
}
# Idle: every milter connection of Postfix closed (smtpd keeps none between
# sessions), so the count of open fds and threads is mailward's own.
settle() { # wait until the fds stop changing (max 30 s)
	local a b i
	for ((i = 0; i < 30; i++)); do
		a=$(find "/proc/$MW_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		sleep 1
		b=$(find "/proc/$MW_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		[[ $a == "$b" ]] && ((i >= 2)) && return 0
	done
}
# Rates are modest on purpose: the machine is shared; the point is long
# mixed traffic with nothing lost, not peak throughput (bench/postfix-sign.sh).
smtp_loop() { # LABEL SESSIONS FROM TO END: batches of smtp-source until END
	local label=$1 s=$2 from=$3 to=$4 end=$5 n t0 t1 rc
	local out=$W/gen/smtp-source-$label.tsv
	while (($(date +%s) < end)); do
		# each session sends up to 20 messages, pausing 1 s after each (-w 1)
		n=$(((end - $(date +%s)) / 2))
		((n > 20)) && n=20
		((n < 1)) && n=1
		n=$((n * s))
		t0=$(date +%s%N)
		rc=0
		timeout 300 smtp-source -c -s "$s" -m "$n" -w 1 -l 2048 -f "$from" -t "$to" \
			-M client.soak.test "127.0.0.1:$PF_PORT" >"$W/gen/smtp-source-$label.out" 2>&1 || rc=$?
		t1=$(date +%s%N)
		# messages, sessions, nanoseconds, exit status
		printf '%s\t%s\t%s\t%s\n' "$n" "$s" "$((t1 - t0))" "$rc" >>"$out"
	done
}
ml_loop() { # LABEL END ARGS...: bursts of milterload (it has no rate limit)
	local label=$1 end=$2
	shift 2
	while (($(date +%s) < end)); do
		timeout 300 "$MILTERLOAD" -s "unix:$ML_SOCK" -c 2 -n 40 --json "$@" \
			>>"$W/gen/milterload-$label.jsonl" 2>>"$W/gen/milterload-$label.err"
		sleep 1
	done
}
# run_load PHASE SECONDS: every generator at once for SECONDS (batches
# started before the end finish); counts are appended to gen/ (the
# soak_smtp.py ones go to gen/*-PHASE.json), samples taken in phase main.
run_load() {
	local phase=$1 secs=$2 end p alive next
	local -a pids=()
	end=$(($(date +%s) + secs))
	smtp_loop outbound 3 alice@example.com rcpt@dest.example.net "$end" &
	pids+=($!)
	smtp_loop bulk 2 news@promo.example.com reader@dest.example.net "$end" &
	pids+=($!)
	"$PY" "$here/lib/soak_smtp.py" --port "$PF_PORT" --duration "$secs" --threads 3 --rate 2 \
		--job "inbound/dkim=$A_PASS,a@pass.example.org,user@dest.example.net,$W/msgs/in-dkim.eml" \
		--job "inbound/spf=$A_PASS,b@pass.example.org,user@dest.example.net,$W/msgs/in-spf.eml" \
		--job "inbound/dmarc-fail=$A_FAIL,x@fail.example.org,user@dest.example.net,$W/msgs/in-fail.eml" \
		--out "$W/gen/inbound-$phase.json" 2>>"$W/gen/inbound.err" &
	pids+=($!)
	"$PY" "$here/lib/soak_smtp.py" --port "$PF_PORT" --duration "$secs" --threads 2 --rate 1 \
		"${fb_jobs[@]}" --out "$W/gen/feedback-$phase.json" 2>>"$W/gen/feedback.err" &
	pids+=($!)
	if ((USE_ML)); then
		ml_loop outbound "$end" -i 127.0.0.1 -f alice@example.com -r rcpt@dest.example.net \
			-m "$W/msgs/ml-out.eml" --qid-prefix MO &
		pids+=($!)
		ml_loop inbound "$end" -i "$A_PASS" -f a@pass.example.org -r user@dest.example.net \
			-m "$W/msgs/in-dkim.eml" --qid-prefix MI &
		pids+=($!)
	fi
	PIDS=("${pids[@]}")
	next=$(($(date +%s) + 10))
	while :; do
		alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		((alive)) || break
		kill -0 "$MW_PID" 2>/dev/null || break
		if [[ $phase == main ]] && (($(date +%s) >= next)); then
			sample load
			next=$((next + 10))
		fi
		sleep 1
	done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
}

# Warm-up: one-time allocations (the resolver's sockets, the store's writer
# thread, caches) happen here, so "idle before" is mailward warmed up.
: >"$W/gen/samples.tsv"
T0=$(date +%s)
note "warm-up 10 s (work $W)"
run_load warmup 10
pf_wait_queue_empty 60 || note "Postfix queue not empty after the warm-up"
settle
T0=$(date +%s)
sample idle-before
note "load for ${DURATION}s"
run_load main "$DURATION"
note "load done; draining"
pf_wait_queue_empty 180 || note "Postfix queue not empty after 180 s: $(pf_queue_count) left"
sleep 3
settle
sample idle-after

# ------------------------------------------------------------ stop mailward
MW_RC=dead
if kill -0 "$MW_PID" 2>/dev/null; then
	kill -TERM "$MW_PID"
	MW_RC=timeout
	if wait_until $((VALGRIND ? 300 : 30)) bash -c "! kill -0 $MW_PID 2>/dev/null"; then
		MW_RC=0
		wait "$MW_PID" || MW_RC=$?
	fi
fi
MW_PID=''
sink_stop

# ------------------------------------------------------------ collect
# Sink: classify each delivered message by its header From.
{
	sink_message_files | while IFS= read -r f; do
		from=$(awk '/^\r?$/ { exit } tolower($0) ~ /^from:/ { print; exit }' "$f")
		signed=$(grep -c '^DKIM-Signature:.*' "$f")
		ours=$(grep -c '^Authentication-Results: mx.soak.test' "$f")
		printf '%s\t%s\t%s\n' "$from" "$signed" "$ours"
	done
} >"$W/gen/sink.tsv"
# Postfix's verdicts: refused (milter 5xx) and discarded, by its own log.
{
	# "milter-reject: END-OF-MESSAGE from unknown[IP]: 5.7.1 ..." (no reply code)
	printf 'reject\t%s\n' "$(pf_log_count 'milter-reject: END-OF-MESSAGE from [^ ]*: 5\.')"
	printf 'reject_other\t%s\n' "$(pf_log_count 'milter-reject: (CONNECT|HELO|MAIL|RCPT|DATA|END-OF-HEADER)')"
	printf 'tempfail\t%s\n' "$(pf_log_count 'milter-reject: [A-Z-]+ from [^ ]*: 4\.')"
	printf 'discard\t%s\n' "$(pf_log_count 'milter-discard: END-OF-MESSAGE')"
	printf 'queue_left\t%s\n' "$(pf_queue_count)"
	printf 'milter_errors\t%s\n' "$(pf_log_count 'milter .*(error|timeout|can.t connect|unreachable)')"
} >"$W/gen/postfix.tsv"
find "$W/state/spool" -name '*.json' -type f -exec grep -ho '"eventType":"[A-Za-z]*"' {} + 2>/dev/null |
	sed 's/.*:"//; s/"//' | sort | uniq -c >"$W/gen/events.txt"
# Log lines at level warning or worse (the level follows "mailward[PID]: ").
grep -cE '^[^ ]+ [^ ]+\]: (warning|error|crit|alert|emerg|fatal):|[Aa]ssertion' "$W/mailward.log" >"$W/gen/mw-fatal.txt"

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
if [[ -z $REPORT ]]; then
	mkdir -p "$here/results"
	REPORT=$here/results/soak$( ((VALGRIND)) && echo -valgrind)-$STAMP.md
fi
rc=0
"$PY" "$here/lib/soak_report.py" --gen "$W/gen" --duration "$DURATION" --valgrind "$VALGRIND" \
	--valgrind-log "$VG_LOG" --mw-rc "$MW_RC" --milterload "$USE_ML" --tap "$TAP" \
	--stamp "$STAMP" --mailward "$MAILWARD" --report "$REPORT" || rc=$?
note "report: $REPORT"
exit "$rc"
