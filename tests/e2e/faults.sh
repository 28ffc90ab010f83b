#!/bin/bash
# faults.sh - faults injected while mail flows, and nothing lost
#
# A private Postfix (tests/e2e/postfix-lib.sh) takes mail on its smtp port
# and queues it; a content_filter hands every message over SMTP to its second
# smtpd (the "submission" port), whose milter is mailward, and from there it
# goes to the sink.  So a 451 from mailward leaves the message in Postfix's
# own queue (deferred), as at a real MX behind a relay, and a queue flush
# retries it.  The second smtpd's milter_macro_daemon_name picks the
# direction: ORIGINATING is outbound (a Send event per message), anything
# else inbound (SPF/DMARC through a private NSD on 127.0.53.84).  mailward
# runs in a private mount namespace whose spool is a small ext4 image, so
# the test can fill it and make it read-only.
#
# Faults: the store locked or corrupt at start; DNS gone and DNS stalled
# (tempfail within dns.message_budget_ms, delivered once DNS is back); spool
# full and read-only; kill -9 under load; 200 SIGHUPs during 500 messages;
# the store locked while a complaint arrives; the store corrupted under a
# running mailward.  After each: every message the test sent is at the
# sink exactly once, every outbound one has exactly one Send event in the
# spool (after kill -9: one per delivery Postfix completed), counts in the
# TAP diagnostics.  About a minute.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns-lib.sh"
. "$top/tests/e2e/postfix-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (private Postfix, mount namespace, DNS on port 53)"
need_tools nsd postfix swaks smtp-source sqlite3 unshare nsenter mkfs.ext4 e2fsck
getent passwd mailward >/dev/null || skip_all "no mailward user (run tools/deps)"

DNS_ADDR=${MW_TEST_FAULTS_DNS_ADDR:-127.0.53.84}
work=$(mktemp -d /tmp/mw-faults.XXXXXX)
chmod 755 "$work"
state=$work/mailward
spool=$state/spool # mounted in mailward's mount namespace only
db=$state/store/mailward.db
log=$state/log
mw_pid=
ns_pid=
locker_pid=
cleanup() {
	[ -n "$mw_pid" ] && { kill -9 "$mw_pid" && wait "$mw_pid"; } 2>/dev/null
	[ -n "$locker_pid" ] && { kill "$locker_pid" && wait "$locker_pid"; } 2>/dev/null
	[ -n "$ns_pid" ] && { kill "$ns_pid" && wait "$ns_pid"; } 2>/dev/null
	dns_cleanup
	pf_cleanup
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# ------------------------------------------------------------ helpers
# Run a command in mailward's mount namespace (where the spool is mounted).
inns() { nsenter -t "$ns_pid" -m -- "$@"; }
# The spool as seen from here.
sp() { printf '/proc/%s/root%s' "$ns_pid" "$spool"; }

write_policy() {
	cat >"$state/mailward.conf" <<CONF
daemon = { socket = "inet:$mw_port@127.0.0.1"; user = "mailward"; };
log = { to = "stderr"; level = "info"; };
# Nothing on loopback is trusted: the direction comes from the daemon name.
trusted_networks = [ "192.0.2.0/24" ];
events = { spool_dir = "$spool"; checkpoint_seconds = 1; };
store = { path = "$db"; };
dns = { nameservers = [ "$DNS_ADDR" ]; query_timeout_ms = 400; message_budget_ms = 1500; };
inbound = { authserv_id = "mx.faults.test"; };
feedback = { complaint_addresses = [ "complaints@example.org" ]; complaint_action = "deliver"; };
CONF
}

# The spool: a 16 MB ext4 image (no blocks reserved for root), mounted in
# mailward's namespace only; errors=remount-ro lets the test turn it
# read-only under mailward's feet, as a failing disk would.
spool_mount() {
	inns mount -o loop,errors=remount-ro "$work/spool.img" "$spool" &&
		inns chown mailward:mailward "$spool"
}

mw_listening() { ss -ltn | grep -q "127.0.0.1:$mw_port "; }
# Start mailward in the namespace; status 0 once it listens.
mw_start() {
	nsenter -t "$ns_pid" -m -- "$mw" -f -c "$state/mailward.conf" 2>>"$log" &
	mw_pid=$!
	wait_until 15 mw_listening
}
mw_kill9() {
	kill -9 "$mw_pid" 2>/dev/null
	wait "$mw_pid" 2>/dev/null
	mw_pid=
}

# direction outbound|inbound: what the milter's smtpd says it is.
direction() {
	local name=MX
	[ "$1" = outbound ] && name=ORIGINATING
	pf_conf_service "$PF_SUBMISSION_PORT/inet/milter_macro_daemon_name=$name"
}

# tally TAG: what arrived and what the spool says about the messages whose
# Message-Id ends in @TAG, as JSON on stdout.
tally() {
	/usr/bin/python3 - "$1" "$PF_WORK/sink" "$(sp)/new" <<'PY'
import glob, json, os, re, sys
prefix, sink, new = sys.argv[1:4]
delivered = {}
for f in glob.glob(os.path.join(sink, "msg-*")):
    try:
        text = open(f, errors="replace").read()
    except OSError:
        continue
    m = re.search(r"^Message-Id:\s*<([^>]*)>", text, re.I | re.M)
    if m and m.group(1).endswith("@" + prefix):
        delivered[m.group(1)] = delivered.get(m.group(1), 0) + 1
events, bad = {}, 0
for f in glob.glob(os.path.join(new, "*.json")):
    try:
        d = json.load(open(f))
    except (OSError, ValueError):
        bad += 1
        continue
    if d.get("eventType") != "Send":
        continue
    mid = d["mail"]["commonHeaders"].get("messageId", "").strip("<>")
    if mid.endswith("@" + prefix):
        events.setdefault(mid, []).append(d["mail"]["tags"]["mailward:queue-id"][0])
print(json.dumps({
    "delivered": sum(delivered.values()),
    "unique": len(delivered),
    "twice": sorted(k for k, v in delivered.items() if v > 1),
    "events": sum(len(v) for v in events.values()),
    "no_event": sorted(k for k in delivered if k not in events),
    "event_not_delivered": sorted(k for k in events if k not in delivered),
    "multi": {k: v for k, v in events.items() if len(v) > 1},
    "bad_json": bad,
}))
PY
}
field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

# The queue IDs Postfix's second smtpd handed to a delivery (status=sent
# into the sink); a Send event whose queue ID is not among them belongs to
# an attempt Postfix never completed.
delivered_qids() {
	grep -E 'postfix/smtp\[[0-9]+\]: [0-9A-F]+: .*relay=127\.0\.0\.1\[127\.0\.0\.1\]:'"$SINK_PORT"'.*status=sent' "$PF_LOG" |
		sed -E 's/.*: ([0-9A-F]+): to=.*/\1/' | sort -u
}

# every_message_once TAG SENT [outbound|crash]: the tally says nothing was
# lost: SENT messages arrived, each once; outbound: each has exactly one
# Send event; crash (kill -9): at least one (see one_event_per_delivery).
every_message_once() {
	local t=$work/tally.json
	tally "$1" >"$t"
	diag "$1: sent $2, $(field delivered <"$t") delivered ($(field unique <"$t") distinct), $(field events <"$t") Send events, twice: $(field twice <"$t"), without event: $(field no_event <"$t"), unreadable event files: $(field bad_json <"$t")"
	[ "$(field delivered <"$t")" = "$2" ] && [ "$(field unique <"$t")" = "$2" ] &&
		[ "$(field bad_json <"$t")" = 0 ] || return 1
	[ -n "${3:-}" ] || return 0
	[ "$(field no_event <"$t")" = "[]" ] && [ "$(field event_not_delivered <"$t")" = "[]" ] || return 1
	[ "$3" = crash ] || [ "$(field multi <"$t")" = "{}" ]
}

# Exactly one Send event per message, counting only attempts Postfix
# completed; the others (cut by kill -9 after the event was durable) listed.
one_event_per_delivery() {
	local t=$work/tally.json
	tally "$1" >"$t"
	delivered_qids >"$work/qids"
	/usr/bin/python3 - "$t" "$work/qids" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
done = set(open(sys.argv[2]).read().split())
extra = {m: [q for q in qs if q not in done] for m, qs in t["multi"].items()}
counted = {m: [q for q in qs if q in done] for m, qs in t["multi"].items()}
wrong = {m: qs for m, qs in counted.items() if len(qs) != 1}
print("# Send events of attempts Postfix did not complete (queue IDs): %s"
      % ({m: q for m, q in extra.items() if q} or "none"))
sys.exit(1 if wrong else 0)
PY
}

# Every journal file is whole records to its last byte ("E NAME LEN\n"
# LEN bytes "\n", or "V NAME\n"; common/spool_journal.h): a failed append
# was cut back.  Prints how many records, or the file with a torn tail.
journal_whole() {
	# Records are "E NAME LEN NUMBER SUM\n" DATA "\n" and "V NAME NUMBER SUM\n"
	# (common/spool_journal.h); a file ends at the first line that is no
	# record of its own number (zeros written in advance, or what a reused
	# file held before).  Torn: a record of this number cut short or failing
	# its checksum.
	/usr/bin/python3 - "$(sp)/journal" <<'PY'
import os, sys
def fnv(b, h=0xcbf29ce484222325):
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return h
d, records, torn = sys.argv[1], 0, []
for name in sorted(os.listdir(d)):
    data, pos, number = open(os.path.join(d, name), "rb").read(), 0, int(name)
    while True:
        nl = data.find(b"\n", pos, pos + 200)
        f = data[pos:nl].split(b" ") if nl >= 0 else []
        try:
            ok_e = len(f) == 5 and f[0] == b"E" and int(f[3]) == number
            ok_v = len(f) == 4 and f[0] == b"V" and int(f[2]) == number
        except ValueError:
            ok_e = ok_v = False
        if not (ok_e or ok_v):
            break
        head = data[pos:nl].rsplit(b" ", 1)[0]
        body = data[nl + 1:nl + 1 + int(f[2])] if ok_e else b""
        end = nl + 1 + (len(body) + 1 if ok_e else 0)
        if (ok_e and (len(body) != int(f[2]) or data[end - 1:end] != b"\n")) or \
                fnv(body, fnv(head)) != int(f[-1], 16):
            torn.append("%s at %d" % (name, pos))
            break
        records += 1
        pos = end
print("%d records%s" % (records, ", torn: " + " ".join(torn) if torn else ""))
sys.exit(1 if torn else 0)
PY
}

# No half-written file: tmp/ empty, every journal whole.
spool_clean() {
	local half journal rc=0
	half=$(find "$(sp)/tmp" -type f | wc -l)
	journal=$(journal_whole) || rc=1
	diag "spool: $half files in tmp/, $(find "$(sp)/new" -name '*.json' | wc -l) in new/, journal: $(ls "$(sp)/journal" 2>/dev/null | tr '\n' ' ')($journal)"
	[ "$half" = 0 ] && [ "$rc" = 0 ]
}

deferred_with() { pf_log_count "status=deferred .*$1"; }

# load N SESSIONS TAG: N messages from smtp-source, Message-Id
# <HEX.HEX.HEX@TAG> (unique per run: its pid and a counter; -M sets TAG).
load() {
	timeout 120 smtp-source -c -s "$2" -m "$1" -M "$3" -f alice@example.com -t bob@example.net \
		-S "load $3" 127.0.0.1:"$PF_PORT" >"$work/source-$3.log" 2>&1
}

# send_tagged TAG N FROM [PORT]: N messages with Message-Id <I@TAG>, to
# Postfix's queueing port unless PORT says otherwise; 0 when all were
# accepted.
send_tagged() {
	local i rc=0
	for i in $(seq 1 "$2"); do
		SEND_SUBJECT="faults $1 $i"
		send_mail 127.0.0.1 "${4:-$PF_PORT}" "$3" bob@example.net \
			--header "From: <$3>" --header "Message-Id: <$i@$1>" >/dev/null || rc=1
	done
	return "$rc"
}
events_are() { [ "$(tally "$1" | field events)" -ge "$2" ]; }
# Wait until N Send events of TAG are in new/ (published moments after the
# message was accepted).
wait_events() { wait_until "${3:-10}" events_are "$1" "$2"; }
delivered_is() { [ "$(tally "$1" | field delivered)" -ge "$2" ]; }
# Wait until N messages of TAG arrived, flushing Postfix's queue now and then.
wait_delivered() {
	local tag=$1 n=$2 secs=${3:-60} i
	for ((i = 0; i < secs; i += 5)); do
		pf_flush >/dev/null 2>&1
		wait_until 5 delivered_is "$tag" "$n" && return 0
	done
	return 1
}
deferred_at_least() { [ "$(deferred_with "$1")" -ge "$2" ]; }
ms_since() { echo $((($(now_us) - $1) / 1000)); }
bail() {
	echo "Bail out! $*"
	sed 's/^/# /' "$log" 2>/dev/null | tail -20
	exit 1
}

# ------------------------------------------------------------ setup
PF_IPV6=0 pf_setup "$work/pf" >/dev/null || bail "pf_setup failed"
mw_port=$(pf_free_ports 1)
mkdir -p "$state/store" "$spool"
chown -R mailward:mailward "$state"
write_policy

unshare -m --propagation private sleep 900 & # the namespace lives as long as this
ns_pid=$!
ns_apart() { [ "$(readlink /proc/$ns_pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]; }
wait_until 5 ns_apart || bail "no private mount namespace"
truncate -s 16M "$work/spool.img" && mkfs.ext4 -q -m 0 "$work/spool.img" &&
	spool_mount 2>"$work/mount.err" ||
	skip_all "cannot mount an ext4 image on a loop device: $(head -1 "$work/mount.err")"
plan 44

dns_setup "$work/dns" "$DNS_ADDR" >/dev/null || bail "dns_setup failed"
for z in example.org test.example isp.example; do dns_zone "$z"; done
dns_txt mx.test.example "v=spf1 ip4:127.0.0.0/8 -all"
for d in gone.example.org slow.example.org hist.example.org isp.example; do
	dns_txt "$d" "v=spf1 ip4:127.0.0.0/8 -all"
	dns_txt "_dmarc.$d" "v=DMARC1; p=reject"
done
dns_start || bail "NSD did not start on $DNS_ADDR"

# The smtp port queues and hands over to the submission port, whose milter
# is mailward; it has a name of its own (Postfix's SMTP client refuses a
# server that greets with its own $myhostname: "loops back to myself").
pf_conf "milter_default_action = tempfail" >/dev/null
pf_conf_service "$PF_PORT/inet/content_filter=relay:[127.0.0.1]:$PF_SUBMISSION_PORT" \
	"$PF_SUBMISSION_PORT/inet/smtpd_milters=inet:127.0.0.1:$mw_port" \
	"$PF_SUBMISSION_PORT/inet/myhostname=filter.test.example" \
	"$PF_SUBMISSION_PORT/inet/milter_macro_daemon_name=ORIGINATING" >/dev/null ||
	bail "cannot configure Postfix"

# ------------------------------------------------------------ 1. store at start
printf 'this is not an SQLite database\n%.0s' $(seq 1 200) >"$db"
chown mailward:mailward "$db"
rc=0
timeout 30 nsenter -t "$ns_pid" -m -- "$mw" -f -c "$state/mailward.conf" 2>"$work/corrupt.log" || rc=$?
diag "corrupt store: exit $rc, $(grep -m1 'store' "$work/corrupt.log")"
check "a corrupt store file at start: mailward exits non-zero ($rc), saying why" \
	eval '[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "fatal: store.path: .*not a database" "$work/corrupt.log"'
rm -f "$db" "$db-wal" "$db-shm"

sqlite3 "$db" 'PRAGMA journal_mode=WAL; CREATE TABLE other(x);' >/dev/null
chown mailward:mailward "$db"*
# Another process holds the write lock; mailward must write to start.
lock_store() {
	/usr/bin/python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
c.execute("CREATE TABLE IF NOT EXISTS lock_holder(x)")
print("locked", flush=True)
time.sleep(300)' "$db" >"$work/locker.out" 2>&1 &
	locker_pid=$!
	wait_until 10 grep -q locked "$work/locker.out"
}
unlock_store() {
	kill "$locker_pid" 2>/dev/null
	wait "$locker_pid" 2>/dev/null
	locker_pid=
}
lock_store || bail "cannot lock the store"
rc=0
t0=$(now_us)
timeout 30 nsenter -t "$ns_pid" -m -- "$mw" -f -c "$state/mailward.conf" 2>"$work/locked.log" || rc=$?
diag "locked store: exit $rc after $(ms_since "$t0") ms, $(grep -m1 'store' "$work/locked.log")"
check "a store locked by another process at start: mailward exits non-zero ($rc), saying why" \
	eval '[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "fatal: store.path: .*locked" "$work/locked.log"'
unlock_store

check "once the lock is gone, mailward starts" mw_start
pf_start >/dev/null && sink_start >/dev/null || bail "Postfix or the sink did not start"

# ------------------------------------------------------------ 2. DNS gone, DNS stalled
# Inbound: SPF and DMARC need the NSD.  Each phase uses a sender domain of
# its own, so no answer is in mailward's cache yet.  The client that talks
# to mailward's smtpd directly measures how long the tempfail takes; the
# messages sent to the queueing port wait in Postfix's queue.
direction inbound >/dev/null
budget=1500
dns_phase() { # TAG DOMAIN: tempfail in time, queued, nothing delivered
	local tag=$1 domain=$2 t0 ms before
	before=$(deferred_with '451 4\.7\.0')
	t0=$(now_us)
	send_tagged "$tag-direct" 1 "u@$domain" "$PF_SUBMISSION_PORT"
	ms=$(ms_since "$t0")
	check "$tag: a client gets 451 4.7.0 in $ms ms (dns.message_budget_ms $budget)" \
		eval 'grep -q "^<\*\* 451 4\.7\.0" "$SEND_LOG" && [ "$ms" -le $((budget + 1000)) ]'
	send_tagged "$tag" 3 "u@$domain" >/dev/null
	check "$tag: 3 messages accepted into Postfix's queue are deferred with 451 4.7.0" \
		wait_until 20 deferred_at_least '451 4\.7\.0' $((before + 3))
	diag "$tag: $(pf_queue_count) messages in Postfix's queue, $(tally "$tag" | field delivered) delivered"
}

# Stalled: NSD stopped in its tracks, every query times out.
mapfile -t nsd < <(_dns_instance_pids)
kill -STOP "${nsd[@]}"
dns_phase dns-slow slow.example.org
kill -CONT "${nsd[@]}"
# Gone: no server at all (queries are refused by the kernel).
dns_stop >/dev/null
dns_phase dns-gone gone.example.org
dns_start >/dev/null || bail "NSD did not come back"

check "DNS back: the queued messages are delivered once each" \
	eval 'wait_delivered dns-slow 3 && wait_delivered dns-gone 3'
check "... exactly once (nothing lost, nothing twice)" \
	eval 'every_message_once dns-slow 3 && every_message_once dns-gone 3'
send_tagged dns-slow-direct 1 u@slow.example.org "$PF_SUBMISSION_PORT"
send_tagged dns-gone-direct 1 u@gone.example.org "$PF_SUBMISSION_PORT"
check "the clients that got 451 retry: delivered once each" \
	eval 'every_message_once dns-slow-direct 1 && every_message_once dns-gone-direct 1'

# ------------------------------------------------------------ 3. spool full, read-only
# Outbound from here on: every message needs its Send event in the spool
# before mailward lets it go (failure.spool_unwritable = tempfail).
direction outbound >/dev/null
send_tagged spool-before 2 alice@example.com
check "outbound mail flows: delivered with its Send event" \
	eval 'wait_delivered spool-before 2 && wait_events spool-before 2 && every_message_once spool-before 2 outbound'

# spool_fault TAG CODE: 3 messages while the spool cannot take them.
spool_fault() {
	local tag=$1 before
	before=$(deferred_with "$2")
	send_tagged "$tag" 3 alice@example.com
	check "$tag: 3 messages are deferred in Postfix's queue with $2 (failure.spool_unwritable)" \
		wait_until 20 deferred_at_least "$2" $((before + 3))
	check "$tag: none delivered, no Send event, no half-written file in the spool" \
		eval '[ "$(tally "$tag" | field delivered)" = 0 ] && [ "$(tally "$tag" | field events)" = 0 ] && spool_clean'
}

# Full: once a checkpoint has moved to a fresh journal file, whose first
# event needs a block the disk no longer has.
sleep 2
inns sh -c 'dd if=/dev/zero of="$1" bs=64k; dd if=/dev/zero bs=1k >>"$1"' - "$spool/fill" >/dev/null 2>&1
diag "spool filled: $(inns df -k "$spool" | tail -1)"
spool_fault spool-full '451 4\.3\.0'
check "... mailward said why, with the queue ID" \
	grep -Eq 'error: [0-9A-F]+: event spool unwritable: .*No space left on device' "$log"
inns rm -f "$spool/fill"
check "space again: the deferred messages are delivered" wait_delivered spool-full 3
check "... each once, with exactly one Send event" \
	eval 'wait_events spool-full 3 && every_message_once spool-full 3 outbound'

# Read-only: an ext4 error with errors=remount-ro (what a failing disk
# does; a plain "mount -o remount,ro" is refused while mailward has its
# journal open for writing).  The admin's way back: stop mailward, fsck,
# mount, start; the journal replay publishes what was acknowledged.
dev=$(basename "$(inns findmnt -no SOURCE "$spool")")
if [ -w "/sys/fs/ext4/$dev/trigger_fs_error" ]; then
	echo "faults.sh: simulated disk error" >"/sys/fs/ext4/$dev/trigger_fs_error"
	diag "spool mount after the error: $(inns findmnt -no OPTIONS "$spool")"
	spool_fault spool-ro '451 4\.3\.0'
	kill -TERM "$mw_pid"
	wait_until 20 eval '! pid_alive "$mw_pid"' || mw_kill9
	wait "$mw_pid" 2>/dev/null
	mw_pid=
	inns umount "$spool"
	e2fsck -fy "$work/spool.img" >"$work/fsck.log" 2>&1
	diag "e2fsck: exit $?, $(tail -1 "$work/fsck.log")"
	spool_mount
	check "mailward starts again on the repaired spool" mw_start
	check "the deferred messages are delivered" wait_delivered spool-ro 3
	check "... each once, with exactly one Send event" \
		eval 'wait_events spool-ro 3 && every_message_once spool-ro 3 outbound'
else
	skip_n=5
	for i in $(seq 1 $skip_n); do pass "# SKIP no /sys/fs/ext4/$dev/trigger_fs_error"; done
fi
check "the earlier events are all still there" eval 'every_message_once spool-full 3 outbound && every_message_once spool-before 2 outbound'

# ------------------------------------------------------------ 4. kill -9 under load
# 200 messages in 5 sessions; mailward is killed while the relay hands them
# over (in the middle of transactions: milter_default_action = tempfail
# answers 451 4.7.1 for those), restarted a second later: the spool replays
# its journal, the store opens, and Postfix's retries deliver the rest.
load 200 5 kill9 &
src=$!
wait_until 60 delivered_is kill9 40
before=$(deferred_with '451 4\.7\.1')
log_lines=$(wc -l <"$log")
mw_kill9
diag "killed mailward with $(tally kill9 | field delivered) of 200 delivered"
sleep 1
check "mailward restarts after kill -9 (spool journal replayed, store opened)" mw_start
wait "$src"
diag "smtp-source: exit $?; $(grep -c . "$work/source-kill9.log") lines of output"
check "... meanwhile Postfix applied milter_default_action (deferred with 451 4.7.1)" \
	deferred_at_least '451 4\.7\.1' $((before + 1))
recovered=$(tail -n +$((log_lines + 1)) "$log" | grep -Eo 'recovered [0-9]+ events from the journal')
diag "after the restart: ${recovered:-nothing to recover (every durable event was in new/ already)}"
check "the store passes PRAGMA integrity_check" \
	test "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok
check "all 200 messages are delivered" wait_delivered kill9 200 90
check "... each once, each with a Send event, no unreadable event file" \
	eval 'wait_events kill9 200 && every_message_once kill9 200 crash && spool_clean'
check "... exactly one Send event per completed delivery" one_event_per_delivery kill9

# ------------------------------------------------------------ 5. SIGHUP storm
# 200 SIGHUPs while 500 messages go through: each reload swaps the policy
# snapshot; messages in flight finish on the one they started with.
reloads_before=$(grep -c 'reload: policy .* installed' "$log")
load 500 10 hup &
src=$!
for i in $(seq 1 200); do
	kill -HUP "$mw_pid"
	sleep 0.04
done
wait "$src"
diag "smtp-source: exit $?; reloads logged: $(($(grep -c 'reload: policy .* installed' "$log") - reloads_before)) for 200 SIGHUPs"
check "200 SIGHUPs during 500 messages: all 500 delivered" wait_delivered hup 500 120
check "... each once, with exactly one Send event (500 events, no duplicate)" \
	eval 'wait_events hup 500 && every_message_once hup 500 outbound'
check "... and mailward still runs" pid_alive "$mw_pid"

# ------------------------------------------------------------ 6. store locked while running
# A complaint (ARF) to a complaint address puts the complainer on the
# suppression list, a write.  While another process holds the store's write
# lock the write fails after SQLite's busy timeout: the configured action
# (failure.internal_error = tempfail), a log line, and no Complaint event
# yet; Postfix retries once the lock is gone: one event, one suppression.
# An ordinary inbound message is delivered meanwhile; its DMARC history
# row (written in the background) waits for the store.
direction inbound >/dev/null
complaints() { grep -l '"eventType": *"Complaint"' "$(sp)"/new/*.json 2>/dev/null | wc -l; }
history_rows() { sqlite3 "$db" "SELECT count(*) FROM dmarc_history WHERE header_from = 'hist.example.org'"; }
history_rows_are() { [ "$(history_rows)" = "$1" ]; }
lock_store || bail "cannot lock the store"
send_tagged hist 1 u@hist.example.org
before=$(deferred_with '451 4\.3\.0')
sed 's/$/\r/' "$top/tests/data/feedback/arf-abuse.eml" >"$work/arf.eml"
timeout 60 swaks --server 127.0.0.1 --port "$PF_PORT" --local-interface 127.0.0.1 \
	--from fbl@isp.example --to complaints@example.org --data "@$work/arf.eml" >"$work/arf.send" 2>&1
check "store locked: the complaint is deferred in Postfix's queue (failure.internal_error)" \
	wait_until 30 deferred_at_least '451 4\.3\.0' $((before + 1))
check "... mailward said why, with the queue ID" \
	grep -Eq 'error: [0-9A-F]+: .*(store|suppression).*locked' "$log"
check "... no Complaint event, nothing delivered yet" \
	eval '[ "$(complaints)" = 0 ] && [ "$(tally isp.example | field delivered)" = 0 ]'
check "... an inbound message is delivered meanwhile" wait_delivered hist 1
check "... its DMARC history row waits for the store (logged)" \
	eval 'wait_until 15 grep -Eq "warning: DMARC history: store unavailable, [0-9]+ rows kept for a retry" "$log" && history_rows_are 0'
unlock_store
check "lock released: the DMARC history row is stored" wait_until 10 history_rows_are 1
check "lock released: the complaint is delivered once" \
	eval 'wait_delivered isp.example 1 && every_message_once isp.example 1'
check "... with one Complaint event and the complainer on the suppression list" \
	eval 'wait_until 10 eval "[ \$(complaints) = 1 ]" && [ "$(sqlite3 "$db" "SELECT reason FROM suppression WHERE address = '"'"'wendy@isp.example'"'"'")" = COMPLAINT ]'

check "mailward is still running" pid_alive "$mw_pid"

# ------------------------------------------------------------ 7. store corrupted under mailward
# Garbage over the store while mailward runs: SQLite serves what it has
# cached and notices nothing, so the test makes mailward start again (as
# after a crash).  It refuses, saying why; meanwhile Postfix's
# milter_default_action keeps the mail queued.  The admin moves the file
# aside; mailward starts with a fresh store, and the mail arrives once.
direction outbound >/dev/null
mw_kill9
dd if=/dev/urandom of="$db" bs=1k count=64 conv=notrunc 2>/dev/null
rc=0
timeout 30 nsenter -t "$ns_pid" -m -- "$mw" -f -c "$state/mailward.conf" 2>"$work/corrupt2.log" || rc=$?
diag "store corrupted: exit $rc, $(grep -m1 'store' "$work/corrupt2.log")"
check "a store corrupted while running: the next start exits non-zero ($rc), saying why" \
	eval '[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "fatal: store.path: " "$work/corrupt2.log"'
before=$(deferred_with '451 4\.7\.1')
send_tagged corrupt 3 alice@example.com
check "... the mail sent meanwhile waits in Postfix's queue (451 4.7.1)" \
	wait_until 20 deferred_at_least '451 4\.7\.1' $((before + 3))
mv "$db" "$db.corrupt"
rm -f "$db-wal" "$db-shm"
check "the corrupt store moved aside: mailward starts with a fresh one" mw_start
check "... and the queued mail arrives once, each with one Send event" \
	eval 'wait_delivered corrupt 3 && wait_events corrupt 3 && every_message_once corrupt 3 outbound'
if ! done_testing; then
	pf_diag 20
	sed 's/^/# /' "$log" | grep -v ' info: ' | tail -30
	exit 1
fi
