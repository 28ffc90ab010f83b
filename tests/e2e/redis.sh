#!/bin/bash
# redis.sh - a fleet: two mailward instances sharing their state in one Redis
#
# One redis-server on loopback (no persistence) and two mailward instances
# (A and B: their own sockets, spools and SQLite files, the same Redis with
# store.backend = "redis"), driven through the milter protocol
# (tests/lib/milter-client.py).  A complaint that instance A receives (an
# ARF report naming the VERP token of a message A sent) puts the recipient
# on the shared suppression list, and instance B refuses it at RCPT (550
# 5.1.1).  "mailward suppression add/list/remove" work on Redis and B sees
# each change at once.  With Redis stopped, B's outbound mail gets the
# failure action (failure.store_unavailable: 451 at RCPT) with a log line
# naming the queue ID, and B keeps running; A, which does not look
# recipients up at RCPT, tempfails at end of header (the pause state is
# unknown); with Redis started again both recover by themselves.  A complaint at A that pauses stream
# "promo" (min_sends = 1) pauses it at B too (451 4.7.1 within a second),
# "mailward stream resume" lifts it on both, and the StreamPaused and
# StreamResumed events are written once between the two instances.  A
# complaint at A without a token finds the message B sent by its
# Message-ID (the Send-event index in Redis, with an expiry).
# About 15 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
. "$top/tests/lib/tap.sh"

raddr=${REDIS_ADDR:-127.0.53.100}
rport=${REDIS_PORT:-6391}
addr_a=${REDIS_MW_A:-127.0.53.101}
addr_b=${REDIS_MW_B:-127.0.53.102}
port=${REDIS_MW_PORT:-8895}
command -v redis-server >/dev/null || skip_all "redis-server not installed (run tools/deps)"
command -v redis-cli >/dev/null || skip_all "redis-cli not installed (run tools/deps)"

work=$(mktemp -d /tmp/mw-redis.XXXXXX)
redis_pid=
pids=()
cleanup() {
	for p in "${pids[@]}" $redis_pid; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

plan 34

rcli() { redis-cli -h "$raddr" -p "$rport" "$@"; }
start_redis() {
	redis-server --bind "$raddr" --port "$rport" --save '' --appendonly no \
		--protected-mode no --dir "$work" --logfile "$work/redis.log" &
	redis_pid=$!
	wait_until 10 bash -c "[ \"\$(redis-cli -h $raddr -p $rport ping 2>/dev/null)\" = PONG ]"
}
stop_redis() {
	kill "$redis_pid" && wait "$redis_pid" 2>/dev/null
	redis_pid=
}

head -c 32 /dev/urandom >"$work/verp.key"
chmod 600 "$work/verp.key"
# A does not look recipients up at RCPT (refuse_suppressed = false): its
# outbound mail meets the store first at the pause gate (end of header).
for n in a b; do
	eval "addr=\$addr_$n"
	refuse=$([ $n = a ] && echo false || echo true)
	cat >"$work/$n.conf" <<CONF
daemon = { socket = "inet:$port@$addr"; user = ""; };
log = { to = "stderr"; level = "info"; };
inbound = { mode = "off"; };
outbound = { refuse_suppressed = $refuse; };
mail_from = ( { domain = "example.com"; bounce_domain = "bounce.example.com"; } );
streams = (
  { name = "news"; },
  { name = "promo"; min_sends = 1; pause_complaint_rate = "10%"; }
);
feedback = {
  bounce_domains = [ "bounce.example.com" ];
  complaint_addresses = [ "fbl@example.com" ];
  complaint_action = "discard";
  verp_keys = ( { id = 1; file = "$work/verp.key"; } );
};
events = { spool_dir = "$work/spool-$n"; durability = "none"; };
store = { backend = "redis"; path = "$work/$n.db"; redis = "$raddr:$rport";
  redis_prefix = "fleet:"; redis_timeout_ms = 300; };
CONF
done

# start_mailward NAME ADDR: instance NAME serving on ADDR:$port
start_mailward() {
	"$mw" -f -c "$work/$1.conf" 2>>"$work/$1.log" &
	pids+=($!)
	eval "pid_$1=$!"
	wait_until 10 bash -c "ss -ltn | grep -q '$2:$port '"
}
# send ADDR RCPT QID [STREAM]: what the milter at ADDR did, one line per action
send() {
	printf 'From: sender@example.com\r\nTo: %s\r\nX-SES-CONFIGURATION-SET: %s\r\nSubject: hi\r\n\r\nbody\r\n' \
		"$2" "${4:-news}" >"$work/msg.eml"
	/usr/bin/python3 "$top/tests/lib/milter-client.py" "$1:$port" --message "$work/msg.eml" \
		--client 127.0.0.1 --from sender@example.com --rcpt "$2" --qid "$3"
}
# complain ADDR TOKEN QID RCPT: an ARF report about the message sent to RCPT with b-TOKEN
complain() {
	sed -e "s/b-[a-z0-9]*@bounce.example.org/b-$2@bounce.example.com/g" \
		-e 's/billing@example.org/sender@example.com/' -e "s/wendy@isp.example/$4/g" \
		"$top/tests/data/feedback/arf-abuse.eml" >"$work/arf.eml"
	/usr/bin/python3 "$top/tests/lib/milter-client.py" "$1:$port" --message "$work/arf.eml" \
		--client 127.0.0.1 --from fbl@isp.example --rcpt fbl@example.com --qid "$3"
}
sup() { "$mw" suppression -c "$work/b.conf" "$@"; }
accepted_at_b() { send "$addr_b" "$@" | grep -q '^verdict accept'; }
accepted_at_a() { send "$addr_a" "$@" | grep -q '^verdict accept'; }
events_of() { cat "$work"/spool-[ab]/new/*.json 2>/dev/null | grep -c "\"eventType\":\"$1\""; }
events_are() { [ "$(events_of "$1")" = "$2" ]; }
stream() { "$mw" stream -c "$work/b.conf" "$@"; }

check "redis-server starts on $raddr:$rport" start_redis
start_both() { start_mailward a "$addr_a" && start_mailward b "$addr_b"; }
check "instances A and B start on the same Redis" start_both

out=$(send "$addr_a" r1@rcpt.test A1)
token=$(sed -n 's/^chgfrom <\{0,1\}b-\([a-z0-9]*\)@bounce.example.com>\{0,1\}$/\1/p' <<<"$out")
check "A sends to r1@rcpt.test with a VERP sender" test -n "$token"
check "B accepts r1@rcpt.test before the complaint" accepted_at_b r1@rcpt.test B1
complain "$addr_a" "$token" CMPA r1@rcpt.test >/dev/null
check "the complaint received by A lands in Redis (a hash under the prefix)" \
	wait_until 5 bash -c "[ \"\$(redis-cli -h $raddr -p $rport hget fleet:supp::r1@rcpt.test reason)\" = COMPLAINT ]"
check "B refuses r1@rcpt.test at RCPT (550 5.1.1)" \
	grep -q '^rcpt 550 5.1.1 mailward: r1@rcpt.test is on the suppression list (COMPLAINT' \
	<<<"$(send "$addr_b" r1@rcpt.test B2)"

check "mailward suppression add puts an address on the shared list" \
	sup add Carol@Example.NET --reason BOUNCE
check "... B refuses it at once" grep -q '^rcpt 550 5.1.1' <<<"$(send "$addr_b" carol@example.net B2b)"
check "mailward suppression list shows both entries in address order" \
	test "$(sup list | grep -o '"emailAddress":"[^"]*"' | tr '\n' ' ')" = \
	'"emailAddress":"carol@example.net" "emailAddress":"r1@rcpt.test" '
check "mailward suppression remove takes it off; B accepts it again" \
	bash -c "'$mw' suppression -c '$work/b.conf' remove carol@example.net &&
		! '$mw' suppression -c '$work/b.conf' get carol@example.net >/dev/null 2>&1" &&
	accepted_at_b carol@example.net B3

# Import and export through Redis, under another prefix (another fleet's list).
sed 's/redis_prefix = "fleet:"/redis_prefix = "other:"/' "$work/b.conf" >"$work/c.conf"
cat >"$work/clean.csv" <<'CSV'
address,scope,reason,time,message_id
"""john doe""@example.com",vip,MANUAL,2024-06-01T00:00:00.000Z,m-0
alice@example.com,,BOUNCE,2026-11-01T10:00:00.000Z,m-1
bob@example.org,news,COMPLAINT,2026-11-10T12:30:00.000Z,m-2
carol@example.net,,UNSUBSCRIBE,2026-11-20T00:00:00.000Z,"id, with comma"
dave@example.com,weekly,MANUAL,2025-01-01T00:00:00.000Z,
CSV
check "mailward suppression import writes a CSV file to Redis" \
	"$mw" suppression -c "$work/c.conf" import "$work/clean.csv" 2>/dev/null
"$mw" suppression -c "$work/c.conf" list --page-size 2 --all >"$work/pages" 2>/dev/null
check "... list pages through it with next tokens (2 a page, 5 in all, in order)" \
	test "$(grep -c emailAddress "$work/pages"):$(grep -o '"emailAddress":"[a-z]' "$work/pages" | cut -c17 | tr -d '\n')" = 5:abcd
check "... export gives it back byte for byte (address order, as from SQLite)" \
	cmp -s "$work/clean.csv" <("$mw" suppression -c "$work/c.conf" export 2>/dev/null)
check "... under its own prefix: the fleet's list does not have them" \
	eval '! sup get alice@example.com >/dev/null 2>&1 && [ "$(rcli zcard other:supp-index)" = 5 ]'

out=$(send "$addr_a" p1@rcpt.test PROMO1 promo)
ptoken=$(sed -n 's/^chgfrom <\{0,1\}b-\([a-z0-9]*\)@bounce.example.com>\{0,1\}$/\1/p' <<<"$out")
complain "$addr_a" "$ptoken" CMPP p1@rcpt.test >/dev/null
check "a complaint at A pauses stream promo (1 send, 1 complaint > 10%): one StreamPaused event" \
	wait_until 5 events_are StreamPaused 1
sleep 1.2 # each instance re-reads the paused set at most once a second
check "B tempfails promo at end of header (451 4.7.1)" \
	grep -q '^eoh 451 4.7.1 mailward: sending stream promo is paused' <<<"$(send "$addr_b" p2@rcpt.test B4 promo)"
check "... while B's other stream passes" accepted_at_b n1@rcpt.test B5 news
check "mailward stream list (on Redis) shows promo paused" \
	grep -qE '^stream +promo +paused' <<<"$(stream list)"
check "mailward stream resume promo lifts the pause" grep -q 'stream promo resumed' <<<"$(stream resume promo)"
check "... on both instances within two seconds" \
	wait_until 3 bash -c "$(declare -f send accepted_at_a accepted_at_b); top='$top' work='$work' port=$port addr_a=$addr_a addr_b=$addr_b
		accepted_at_a p3@rcpt.test A5 promo && accepted_at_b p4@rcpt.test B6 promo"
check "... and exactly one StreamResumed event is written (one instance pops it)" \
	bash -c "sleep 2; $(declare -f events_of); work='$work'; [ \"\$(events_of StreamResumed):\$(events_of StreamPaused)\" = 1:1 ]"

# A complaint without a token at A finds what B sent by its Message-ID.
printf 'From: sender@example.com\r\nTo: m1@rcpt.test\r\nMessage-ID: <fleet-1@example.com>\r\nSubject: hi\r\n\r\nbody\r\n' >"$work/mid.eml"
/usr/bin/python3 "$top/tests/lib/milter-client.py" "$addr_b:$port" --message "$work/mid.eml" \
	--client 127.0.0.1 --from sender@example.com --rcpt m1@rcpt.test --qid MID1 >/dev/null
check "B's Send record is indexed in Redis by Message-ID, with an expiry (correlation_days)" \
	wait_until 5 bash -c "[ \"\$(redis-cli -h $raddr -p $rport ttl fleet:send:fleet-1@example.com)\" -gt 86400 ]"
mail_id=$(rcli hget fleet:send:fleet-1@example.com mail_id)
{
	printf 'From: fbl@isp.example\nTo: fbl@example.com\nSubject: complaint\nMIME-Version: 1.0\n'
	printf 'Content-Type: multipart/report; report-type=feedback-report; boundary="arf"\n\n'
	printf -- '--arf\nContent-Type: text/plain\n\nabuse report\n--arf\n'
	printf 'Content-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: isp/1.0\nVersion: 1\n'
	printf 'Original-Rcpt-To: <m1@rcpt.test>\n\n--arf\nContent-Type: message/rfc822\n\n'
	printf 'From: sender@example.com\nTo: m1@rcpt.test\nSubject: hi\nMessage-ID: <fleet-1@example.com>\n\nbody\n--arf--\n'
} | sed 's/$/\r/' >"$work/arf-mid.eml"
/usr/bin/python3 "$top/tests/lib/milter-client.py" "$addr_a:$port" --message "$work/arf-mid.eml" \
	--client 127.0.0.1 --from fbl@isp.example --rcpt fbl@example.com --qid CMPM >/dev/null
check "a complaint at A without a token is correlated by Message-ID to B's message" \
	wait_until 5 grep -q "feedback kind=complaint .*correlation=message-id mail_id=$mail_id" "$work/a.log"

kill -STOP "$redis_pid" # Redis stalls: connections open, no answers
t0=$(date +%s%N)
out=$(send "$addr_b" s1@rcpt.test STALL1)
t1=$(date +%s%N)
kill -CONT "$redis_pid"
check "Redis stalled: B tempfails at RCPT after store.redis_timeout_ms (300 ms), not later" \
	eval '[ $(((t1 - t0) / 1000000)) -lt 1000 ] && grep -q "^rcpt 451 4.3.0" <<<"$out"'
check "... logged with the queue ID: no reply within 300 ms" \
	grep -q 'STALL1: suppression list unavailable: redis .* unavailable: no reply within 300 ms' "$work/b.log"
check "... and recovers once it answers again" wait_until 5 accepted_at_b s2@rcpt.test STALL2

stop_redis
t0=$(date +%s%N)
out=$(send "$addr_b" d1@rcpt.test DOWN1)
t1=$(date +%s%N)
check "Redis stopped: B tempfails outbound mail at RCPT (451), the failure action" \
	grep -q '^rcpt 451 4.3.0 mailward: suppression list unavailable, try again later' <<<"$out"
check "... within the timeout (well under a second)" test $(((t1 - t0) / 1000000)) -lt 1000
check "... with a log line naming the queue ID" \
	grep -q 'DOWN1: suppression list unavailable: redis .* unavailable: .*action=tempfail' "$work/b.log"
check "... and B is still running" kill -0 "$pid_b"
sleep 1.1 # A's paused set is read again at most once a second
check "... A (no RCPT lookup) tempfails at end of header: pause state unknown (451 4.3.0)" \
	grep -q '^eoh 451 4.3.0 mailward: pause state unavailable, try again later' \
	<<<"$(send "$addr_a" d3@rcpt.test DOWN2)"
check "mailward suppression says Redis is unavailable (exit non-zero)" \
	bash -c "! '$mw' suppression -c '$work/b.conf' get r1@rcpt.test 2>&1 | grep -q COMPLAINT"

start_redis
check "Redis back: B recovers by itself (accepts new mail within a few seconds)" \
	wait_until 5 accepted_at_b d2@rcpt.test UP1
check "... and so does A" wait_until 5 accepted_at_a d4@rcpt.test UP2

if ! done_testing; then
	sed 's/^/# B: /' "$work/b.log" | tail -20
	exit 1
fi
