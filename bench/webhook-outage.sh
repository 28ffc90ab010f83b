#!/bin/bash
# bench/webhook-outage.sh - a webhook receiver down for ten minutes, then back:
# every event is delivered, none twice under different MessageIds.
#
# Usage: bench/webhook-outage.sh [--outage S] [--before S] [--after S]
#            [--rate N] [--retry-min-ms MS] [--retry-max-ms MS]
#            [--drain-timeout S] [--report FILE] [--crash 0|1]
#        bench/webhook-outage.sh --quick [OPTIONS]   (about 35 s)
#
# Starts one mailward (milter on loopback, inbound checks off, 127.0.0.1
# trusted, Send events to a spool), "mailward events dispatch" with one
# webhook, and tests/e2e/webhook-receiver.py (an SNS subscriber that
# verifies every signature).  One outbound message per second (--rate)
# goes through tests/lib/milter-client.py for the whole run: --before
# seconds (30) with the receiver up, --outage seconds (600) with it killed,
# --after seconds (60) once it is back; then the script waits (at most
# --drain-timeout seconds) until the spool's backlog is drained.
#
# The webhook keeps mailward's defaults (retry_min_ms 20000, max_attempts
# 50, max_hours 72) except retry_max_ms = 30000 (default 3600000).  The
# dispatcher holds an endpoint that does not answer until the oldest
# event's next retry, so the receiver's return is noticed within one
# retry_max_ms: with the default that could be an hour, with 30 s it is
# at most 30 s.  It must not be much smaller: only the held event counts
# attempts, one per [retry_max_ms/2, retry_max_ms], so a 600 s outage
# costs it at most 600/15 + 1 = 41 attempts, under max_attempts = 50 (at
# retry_max_ms = 5000 it would be 241: a dead letter).
#
# Then checks and prints: events produced (files that reached the spool),
# events received (distinct MessageIds), duplicates (allowed only as the
# same MessageId with a byte-identical body), events missing (must be 0),
# dead letters (must be 0), unexpected MessageIds (must be 0), one
# MessageId per message, every signature verified by the receiver, time
# from the receiver's restart to its first delivery and to the last event
# of the backlog it found.  The report (Markdown) goes to --report
# (default bench/results/webhook-outage-STAMP.md).  Exit 1 if anything is
# missing, duplicated under another MessageId, dead, unsigned or not
# drained in time; 2 for a usage error or a setup that did not start.
#
# --crash 1: the outage begins with a crash in the middle of a request
# (the receiver logs a notification and exits without answering; killed
# anyway after 5 s), so one event must arrive twice, under one MessageId.
# The default, 0, kills the receiver between requests.
#
# --quick: --before 3 --outage 20 --after 5 --rate 2 --retry-min-ms 500
# --retry-max-ms 2000 --drain-timeout 20 --crash 1 (later options
# override); delays scaled down with the outage.  tests/e2e/webhook-outage.sh runs it in
# make check so the script does not rot.
# Needs a built ./mailward and python3-cryptography (tools/deps); no root.
# Addresses: WEBHOOK_OUTAGE_MILTER_ADDR (127.0.53.104) and
# WEBHOOK_OUTAGE_RECEIVER_ADDR (127.0.53.105).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
mw=${MAILWARD:-${TOP_BUILDDIR:-$top}/mailward}
py=/usr/bin/python3
receiver=$top/tests/e2e/webhook-receiver.py
client=$top/tests/lib/milter-client.py
milter_addr=${WEBHOOK_OUTAGE_MILTER_ADDR:-127.0.53.104}
receiver_addr=${WEBHOOK_OUTAGE_RECEIVER_ADDR:-127.0.53.105}

outage=600 before=30 after=60 rate=1
retry_min_ms=20000 retry_max_ms=30000 drain_timeout=
report= crash=0
usage() { sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) sed -n '2,51p' "$0"; exit 0 ;;
	--quick) ;;
	*) [ $# -ge 2 ] || usage ;;
	esac
	case $1 in
	--outage) outage=$2 ;;
	--before) before=$2 ;;
	--after) after=$2 ;;
	--rate) rate=$2 ;;
	--retry-min-ms) retry_min_ms=$2 ;;
	--retry-max-ms) retry_max_ms=$2 ;;
	--drain-timeout) drain_timeout=$2 ;;
	--report) report=$2 ;;
	--crash) crash=$2 ;;
	--quick) set -- "$1" "" --before 3 --outage 20 --after 5 --rate 2 \
		--retry-min-ms 500 --retry-max-ms 2000 --drain-timeout 20 --crash 1 "${@:2}" ;;
	*) usage ;;
	esac
	shift 2
done
for n in "$outage" "$before" "$after" "$rate" "$retry_min_ms" "$retry_max_ms" ${drain_timeout:+"$drain_timeout"}; do
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || usage
done
case $crash in 0 | 1) ;; *) usage ;; esac
# After the last message: one retry delay to notice, then time to send the rest.
: "${drain_timeout:=$((retry_max_ms / 1000 + 120))}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
: "${report:=$top/bench/results/webhook-outage-$stamp.md}"

die() { echo "webhook-outage: $*" >&2; exit 2; }
[ -x "$mw" ] || die "build mailward first (tools/build && make)"
$py -c 'import cryptography' 2>/dev/null || die "python3-cryptography not installed (tools/deps)"
command -v openssl >/dev/null || die "openssl not installed"

work=$(mktemp -d /tmp/mw-webhook-outage.XXXXXX)
pids=()
producer_pid='' receiver_pid=''
cleanup() {
	for p in $producer_pid $receiver_pid "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# A free port on ADDR, picked as tests/e2e/postfix-lib.sh's pf_free_ports does.
free_port() {
	$py -c '
import random, socket, sys
while True:
    p = random.randint(20000, 32767)
    s = socket.socket()
    try:
        s.bind((sys.argv[1], p))
    except OSError:
        continue
    print(p)
    break' "$1"
}
listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_listening() { # ADDR PORT: up to 10 s
	for _ in $(seq 100); do listening "$1" "$2" && return 0; sleep 0.1; done
	return 1
}
now() { echo "$EPOCHREALTIME"; }

milter_port=$(free_port "$milter_addr") || die "no free port on $milter_addr"
receiver_port=$(free_port "$receiver_addr") || die "no free port on $receiver_addr"

spool=$work/spool
openssl genrsa -out "$work/sns.pem" 2048 2>/dev/null
chmod 600 "$work/sns.pem"
openssl req -new -x509 -key "$work/sns.pem" -subj /CN=mailward-sns -days 2 \
	-out "$work/sns.crt" 2>/dev/null
"$mw" keygen -o "$work" -u "$(id -un)" example.com outage >/dev/null || die "keygen failed"
topic=arn:aws:sns:local:000000000000:mailward-outage
cert_url=https://hooks.example/mailward-sns.pem
unsub_url=https://hooks.example/unsubscribe
cat >"$work/mailward.conf" <<CONF
daemon = { socket = "inet:$milter_port@$milter_addr"; user = ""; };
log = { to = "stderr"; level = "info"; };
trusted_networks = [ "127.0.0.1/32" ];
inbound = { mode = "off"; };
domains = ( { domain = "example.com"; selector = "outage"; key = "$work/example.com.outage.pem"; } );
events = { spool_dir = "$spool"; };
store = { path = "$work/state.db"; };
webhooks = (
  { name = "receiver"; url = "http://$receiver_addr:$receiver_port/sns"; topic_arn = "$topic";
    signing_key = "$work/sns.pem"; signing_cert_url = "$cert_url";
    unsubscribe_url = "$unsub_url";
    retry_min_ms = $retry_min_ms; retry_max_ms = $retry_max_ms; }
);
CONF

start_receiver() {
	RECEIVER_ADDR=$receiver_addr RECEIVER_DIE_FILE=$work/crash $py "$receiver" "$receiver_port" "$work/received.log" \
		"$work/sns.crt" "$topic" "$cert_url" "$unsub_url" eventType "$work/never-fail" \
		2>>"$work/receiver.err" &
	receiver_pid=$!
	wait_listening "$receiver_addr" "$receiver_port"
}

"$mw" -f -c "$work/mailward.conf" 2>"$work/mailward.log" &
pids+=($!)
wait_listening "$milter_addr" "$milter_port" || die "mailward did not start: $(tail -3 "$work/mailward.log")"
start_receiver || die "the receiver did not start: $(tail -3 "$work/receiver.err")"
"$mw" events -c "$work/mailward.conf" dispatch 2>"$work/dispatch.log" &
dispatch_pid=$!
pids+=("$dispatch_pid")

# One message per 1/rate seconds, on a fixed schedule; each line of
# sent.log is "N VERDICT".
produce() {
	local i=0 start t wait_s
	start=$(now)
	while [ ! -e "$work/stop" ]; do
		i=$((i + 1))
		printf 'From: news@example.com\r\nTo: rcpt%d@rcpt.test\r\nSubject: outage %d\r\nDate: %s\r\nMessage-ID: <outage-%d-%s@example.com>\r\n\r\nMessage %d.\r\n' \
			"$i" "$i" "$(date -R)" "$i" "$stamp" "$i" >"$work/msg.eml"
		verdict=$($py "$client" "$milter_addr:$milter_port" --message "$work/msg.eml" \
			--client 127.0.0.1 --from news@example.com --rcpt "rcpt$i@rcpt.test" \
			--qid "Q$i" 2>&1 | grep '^verdict' || echo "verdict none")
		echo "$i ${verdict#verdict }" >>"$work/sent.log"
		t=$(now)
		wait_s=$(awk -v s="$start" -v i="$i" -v r="$rate" -v t="$t" \
			'BEGIN { d = s + i / r - t; printf "%.3f", (d > 0 ? d : 0) }')
		sleep "$wait_s"
	done
}
produce &
producer_pid=$!

echo "webhook-outage: ${before}s up, ${outage}s down, ${after}s up, $rate msg/s (work $work)" >&2
sleep "$before"
if [ "$crash" = 1 ]; then
	touch "$work/crash"
	for _ in $(seq 50); do kill -0 "$receiver_pid" 2>/dev/null || break; sleep 0.1; done
fi
kill "$receiver_pid" 2>/dev/null
wait "$receiver_pid" 2>/dev/null
rm -f "$work/crash"
receiver_pid=
down_at=$(now)
echo "webhook-outage: receiver down" >&2
sleep "$outage"
# The backlog the receiver comes back to: what the dispatcher has not delivered.
ls "$spool/new" >"$work/backlog"
# Restart times count from the receiver's launch: the dispatcher may reach
# it before this script sees it listen.
up_at=$(now)
start_receiver || { echo "webhook-outage: the receiver did not restart" >&2; exit 2; }
echo "webhook-outage: receiver back, backlog $(wc -l <"$work/backlog") events" >&2
sleep "$after"
touch "$work/stop"
wait "$producer_pid"
producer_pid=
stopped_at=$(now)

spool_busy() { # events still to send: in new/ or in the redrive queue
	[ -n "$(find "$spool/new" "$spool/webhook/receiver/redrive" -type f ! -name '.*' 2>/dev/null | head -1)" ]
}
drained=1
deadline=$((${stopped_at%.*} + drain_timeout))
while spool_busy; do
	[ "$(date +%s)" -lt "$deadline" ] || { drained=0; break; }
	sleep 0.2
done
drained_at=$(now)
kill -TERM "$dispatch_pid"
wait "$dispatch_pid" 2>/dev/null

mkdir -p "$(dirname "$report")"
$py - "$work" "$report" "$drained" "$down_at" "$up_at" "$stopped_at" "$drained_at" \
	"outage=$outage before=$before after=$after rate=$rate retry_min_ms=$retry_min_ms retry_max_ms=$retry_max_ms drain_timeout=$drain_timeout crash=$crash" <<'PY'
import json, os, sys, uuid

work, report, drained = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
down_at, up_at, stopped_at, drained_at = map(float, sys.argv[4:8])
params = sys.argv[8]
spool = os.path.join(work, "spool")
# common/webhook.c: MessageId = UUID version 5 of the event's file name.
NS = uuid.UUID(bytes=bytes([0x3b, 0x8f, 0x52, 0x1e, 0x9a, 0x4d, 0x4c, 0x71,
                            0xa6, 0x0e, 0x5d, 0x2b, 0x61, 0x77, 0xe0, 0x94]))

def names(d):
    try:
        return [n for n in os.listdir(d) if not n.startswith(".")]
    except FileNotFoundError:
        return []

sent = [l.split(None, 1) for l in open(os.path.join(work, "sent.log"))]
accepted = sum(1 for _, v in sent if v.strip() == "accept")
produced = {}                      # expected MessageId -> (event name, where)
for where in ("new", "cur"):
    for n in names(os.path.join(spool, where)):
        produced[str(uuid.uuid5(NS, n))] = (n, where)
dead = names(os.path.join(spool, "dead", "receiver"))
for n in dead:
    produced[str(uuid.uuid5(NS, n))] = (n, "dead")
backlog = {str(uuid.uuid5(NS, l.strip())) for l in open(os.path.join(work, "backlog")) if l.strip()}

log_path = os.path.join(work, "received.log")
records, bad_lines = [], 0
for l in open(log_path):
    try:
        records.append(json.loads(l))
    except ValueError:
        bad_lines += 1
bodies = {}                        # MessageId -> set of bodies seen
not_as_spooled = set()             # MessageIds whose Message is not the spooled event
for l in open(log_path + ".raw"):
    try:
        body = json.loads(l)
        n = json.loads(body)
        bodies.setdefault(n["MessageId"], set()).add(body)
        if n["MessageId"] not in produced:
            continue               # counted as unexpected below
        name, where = produced[n["MessageId"]]
        path = os.path.join(spool, "dead/receiver" if where == "dead" else where, name)
        if json.loads(n["Message"]) != json.load(open(path)):
            not_as_spooled.add(n["MessageId"])
    except (ValueError, KeyError):
        bad_lines += 1
# One Send event per accepted message: its queue id Q<N> exactly once.
qids = {}
for i, (name, where) in produced.items():
    path = os.path.join(spool, "dead/receiver" if where == "dead" else where, name)
    for q in json.load(open(path))["mail"]["tags"].get("mailward:queue-id", []):
        qids[q] = qids.get(q, 0) + 1
want_qids = {"Q" + n for n, v in sent if v.strip() == "accept"}
qid_problems = len(want_qids ^ set(qids)) + sum(1 for c in qids.values() if c > 1)
unverified = [r for r in records if not r["ok"]]
count = {}
first = {}
mail_ids = {}                      # the event's mail.messageId -> MessageIds
for r in records:
    count[r["id"]] = count.get(r["id"], 0) + 1
    first.setdefault(r["id"], r["t"])
    mail_ids.setdefault(r["mail_id"], set()).add(r["id"])
received = set(count)
missing = sorted(produced[i][0] for i in set(produced) - received)
unexpected = sorted(received - set(produced))
dups = {i: c for i, c in count.items() if c > 1}
dup_differs = [i for i in dups if len(bodies.get(i, ())) != 1]
split_ids = {m: s for m, s in mail_ids.items() if len(s) > 1}
after_up = [t for t in first.values() if t >= up_at]
first_after = min(after_up) - up_at if after_up else None
backlog_got = [first[i] for i in backlog if i in first]
backlog_drain = max(backlog_got) - up_at if backlog_got and len(backlog_got) == len(backlog) else None
during = [t for t in first.values() if down_at <= t < up_at]
refused = sum(1 for l in open(os.path.join(work, "dispatch.log"))
              if "webhook receiver: event" in l and "delivered" not in l)

failures = []
if missing: failures.append("%d events missing" % len(missing))
if dead: failures.append("%d dead letters" % len(dead))
if unexpected: failures.append("%d unexpected MessageIds" % len(unexpected))
if dup_differs: failures.append("%d duplicates with a different body" % len(dup_differs))
if split_ids: failures.append("%d messages under more than one MessageId" % len(split_ids))
if unverified: failures.append("%d notifications failed verification" % len(unverified))
if bad_lines: failures.append("%d unreadable receiver log lines" % bad_lines)
if len(produced) != accepted or qid_problems:
    failures.append("%d messages accepted, %d events spooled, %d queue ids not once" % (accepted, len(produced), qid_problems))
if not_as_spooled: failures.append("%d notifications whose Message is not the spooled event" % len(not_as_spooled))
if not drained: failures.append("backlog not drained in time")
if during: failures.append("%d events received while the receiver was down" % len(during))

fmt = lambda s: "%.1f s" % s if s is not None else "n/a"
rows = [
    ("messages sent / accepted by the milter", "%d / %d" % (len(sent), accepted)),
    ("events produced (files that reached the spool)", len(produced)),
    ("accepted messages without exactly one event", qid_problems),
    ("events received (distinct MessageIds)", len(received)),
    ("notifications received (with duplicates)", len(records)),
    ("duplicates (same MessageId more than once)", "%d (%d with a different body)" % (len(dups), len(dup_differs))),
    ("messages received under more than one MessageId", len(split_ids)),
    ("events missing", len(missing)),
    ("unexpected MessageIds", len(unexpected)),
    ("dead letters", len(dead)),
    ("signatures verified by the receiver", "%d of %d" % (len(records) - len(unverified), len(records))),
    ("notifications whose Message is not the spooled event", len(not_as_spooled)),
    ("backlog when the receiver came back", len(backlog)),
    ("failed attempts logged by the dispatcher", refused),
    ("receiver restart -> first delivery", fmt(first_after)),
    ("receiver restart -> backlog drained", fmt(backlog_drain)),
    ("producer stopped -> spool empty", fmt(drained_at - stopped_at) if drained else "not drained"),
]
out = ["# Webhook receiver outage: %s" % ("PASS" if not failures else "FAIL"), "",
       "bench/webhook-outage.sh, %s UTC; %s." % (os.popen("date -u '+%Y-%m-%d %H:%M'").read().strip(), params),
       "Webhook: mailward's defaults (max_attempts 50, max_hours 72, timeout 15) but retry_min_ms/retry_max_ms as above.", "",
       "| figure | value |", "|---|---|"]
out += ["| %s | %s |" % r for r in rows]
out.append("")
out.append("Result: " + ("nothing lost, nothing sent twice under another MessageId, every signature verified."
                         if not failures else "; ".join(failures) + "."))
if missing:
    out += ["", "Missing events (first 20): " + ", ".join(missing[:20])]
open(report, "w").write("\n".join(out) + "\n")
print("\n".join(out), flush=True)
sys.exit(1 if failures else 0)
PY
rc=$?
[ "${KEEP_WORK:-0}" = 1 ] && echo "webhook-outage: work kept in $work" >&2
echo "webhook-outage: report in $report" >&2
exit "$rc"
