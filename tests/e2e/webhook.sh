#!/bin/bash
# webhook.sh - the spool's events reach webhook endpoints as SNS notifications
#
# Two loopback receivers (tests/e2e/webhook-receiver.py) check every
# notification as an SNS consumer would: headers, every envelope field, and
# the SignatureVersion 2 signature against the configured certificate.
# Endpoint "a" (event shape) is down when the dispatcher starts and comes up
# a few seconds later: every event arrives, each with one stable MessageId.
# Endpoint "b" (notification shape) answers 500: after max_attempts every
# event is in dead/b/, and "mailward events redrive b" delivers them once b
# answers again.  Then an event is in cur/ only when both endpoints are
# finished with it; a restarted dispatcher does not resend what an endpoint
# acknowledged.  Also "mailward events" list, show, ack and tail -f.
# Endpoint "d" asks for SNS's SubscriptionConfirmation handshake: nothing
# reaches it until it answers the (signed, verified) handshake with a 2xx;
# then its events follow, the confirmation is recorded and not asked again,
# and a new topic asks again.
# Needs python3-cryptography (tools/deps); no root.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
mw=${MAILWARD:-$build/mailward}
receiver=$top/tests/e2e/webhook-receiver.py
. "$top/tests/lib/tap.sh"

py=/usr/bin/python3
$py -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography not installed (tools/deps)"
command -v openssl >/dev/null || skip_all "openssl not installed"

work=$(mktemp -d /tmp/mw-webhook.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

plan 42

# Four free loopback ports, as postfix-lib.sh's pf_free_ports picks them.
read -r port_a port_b port_c port_d < <($py -c '
import random, socket
ports, held = [], []
while len(ports) < 4:
    p = random.randint(20000, 32767)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    held.append(s)
    if p not in ports:
        ports.append(p)
print(*ports)')

spool=$work/spool
mkdir -p "$spool/new" "$spool/cur" "$spool/tmp"
openssl genrsa -out "$work/sns.pem" 2048 2>/dev/null
chmod 600 "$work/sns.pem"
openssl req -new -x509 -key "$work/sns.pem" -subj /CN=mailward-sns -days 2 \
	-out "$work/sns.crt" 2>/dev/null

topic=arn:aws:sns:local:000000000000:mailward-events
cert_url=https://hooks.example/mailward-sns.pem
unsub_url=https://hooks.example/unsubscribe
policy=$work/mailward.conf
cat >"$policy" <<CONF
log = { to = "stderr"; level = "info"; };
events = { spool_dir = "$spool"; };
webhooks = (
  { name = "a"; url = "http://127.0.0.1:$port_a/sns"; topic_arn = "$topic";
    signing_key = "$work/sns.pem"; signing_cert_url = "$cert_url";
    unsubscribe_url = "$unsub_url"; retry_min_ms = 100; retry_max_ms = 400;
    max_attempts = 1000; timeout = 5; },
  { name = "b"; url = "http://127.0.0.1:$port_b/sns"; topic_arn = "$topic";
    shape = "notification";
    signing_key = "$work/sns.pem"; signing_cert_url = "$cert_url";
    unsubscribe_url = "$unsub_url"; retry_min_ms = 50; retry_max_ms = 100;
    max_attempts = 3; timeout = 5; }
);
CONF

# Events as the milter writes them: one JSON document per file, named by time.
now=$(date +%s)
names=()
for i in 1 2 3 4 5 6; do
	name=$now.00000$i.4242_000000000$i.json
	names+=("$name")
	type=Bounce
	[ "$i" = 2 ] && type=Complaint
	printf '{"eventType":"%s","mail":{"messageId":"m%s","source":"a@example.com"},"n":"caf\\u00e9 \\"%s\\""}\n' \
		"$type" "$i" "$i" >"$spool/new/$name"
done

# --- the CLI -------------------------------------------------------------
out=$("$mw" events -d "$spool" list)
check "list prints one JSON line per event in new/" test "$(printf '%s\n' "$out" | wc -l)" = 6
check "... with its name and the event, oldest first" $py -c '
import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [l["name"] for l in lines] == sys.argv[2:], lines
assert lines[1]["event"]["eventType"] == "Complaint"
assert lines[0]["event"]["mail"]["messageId"] == "m1"' "$out" "${names[@]}"

out=$("$mw" events -d "$spool" show "${names[0]}")
check "show prints the event as stored" test "$out" = "$(cat "$spool/new/${names[0]}")"
"$mw" events -d "$spool" show 1.2.nothing.json 2>/dev/null
ok_status=$?
check "show of an unknown event exits 66" test "$ok_status" = 66

check "ack moves an event from new/ to cur/" "$mw" events -d "$spool" ack "${names[5]}"
check "... it is in cur/ and no longer in new/" \
	test -f "$spool/cur/${names[5]}" -a ! -e "$spool/new/${names[5]}"
"$mw" events -d "$spool" ack "${names[5]}" 2>/dev/null
ok_status=$?
check "ack of an event not in new/ exits 66" test "$ok_status" = 66
check "show finds an event in cur/" bash -c "'$mw' events -d '$spool' show '${names[5]}' >/dev/null"
out=$("$mw" events -d "$spool" list --cur)
check "list --cur lists the acknowledged event" test "$(printf '%s\n' "$out" | wc -l)" = 1
out=$("$mw" events -d "$spool" tail -n 2)
check "tail -n 2 prints the two newest events" $py -c '
import json, sys
assert [json.loads(l)["name"] for l in sys.argv[1].splitlines()] == sys.argv[2:]' \
	"$out" "${names[3]}" "${names[4]}"
"$mw" events -d "$spool" frobnicate 2>/dev/null
ok_status=$?
check "an unknown command exits 64" test "$ok_status" = 64
check "events --help documents every command" \
	bash -c "'$mw' events --help | grep -q 'redrive ENDPOINT' && '$mw' events --help | grep -q 'tail \[-f\]'"

# tail -f on a spool of its own: an event written later is printed.
spool2=$work/spool2
mkdir -p "$spool2/new" "$spool2/cur"
"$mw" events -d "$spool2" tail -f >"$work/tail.out" &
tail_pid=$!
pids+=("$tail_pid")
sleep 0.3
printf '{"eventType":"Send","mail":{"messageId":"t1"}}\n' >"$spool2/new/.t1"
mv "$spool2/new/.t1" "$spool2/new/$now.000001.1_0000000001.json"
check "tail -f prints an event that arrives later" \
	wait_until 5 grep -q '"messageId":"t1"' "$work/tail.out"
kill "$tail_pid"

# --- the dispatcher --------------------------------------------------------
touch "$work/b.fail"
$py "$receiver" "$port_b" "$work/b.log" "$work/sns.crt" "$topic" "$cert_url" "$unsub_url" \
	notificationType "$work/b.fail" &
pids+=($!)
"$mw" events -c "$policy" dispatch 2>"$work/dispatch.log" &
dispatch_pid=$!
pids+=("$dispatch_pid")

count() { find "$1" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l; }
count_is() { [ "$(count "$1")" = "$2" ]; }            # DIR N
delivered_ge() { [ "$(sort -u "$1" 2>/dev/null | grep -c '"ok": true')" -ge "$2" ]; } # LOG N
check "b answers 500: after 3 attempts all 5 events are in dead/b/" \
	wait_until 15 count_is "$spool/dead/b" 5
check "... and still in new/ (a has not had them)" count_is "$spool/new" 5
sleep 1 # a is down a while longer: connection refused, backoff
$py "$receiver" "$port_a" "$work/a.log" "$work/sns.crt" "$topic" "$cert_url" "$unsub_url" \
	eventType "$work/a.fail" &
pids+=($!)
check "a comes up: all 5 events arrive" \
	wait_until 20 delivered_ge "$work/a.log" 5
check "... and then they are in cur/ (a delivered, b dead-lettered)" \
	wait_until 5 eval 'count_is "$spool/new" 0 && count_is "$spool/cur" 6'

# Every notification passed the receiver's checks; ids are stable per event.
verify_log() { # LOG: all ok, mail ids m1..m5, one MessageId per mail id
	$py - "$1" <<-'PY'
		import json, sys
		recs = [json.loads(l) for l in open(sys.argv[1])]
		bad = [r for r in recs if not r["ok"]]
		assert not bad, bad
		ids = {}
		for r in recs:
		    ids.setdefault(r["mail_id"], set()).add(r["id"])
		assert sorted(ids) == ["m%d" % i for i in range(1, 6)], sorted(ids)
		assert all(len(v) == 1 for v in ids.values()), ids
		assert len({v.pop() for v in ids.values()}) == 5
	PY
}
check "a: every notification verifies (signature, fields, headers), one MessageId per event" \
	verify_log "$work/a.log"
# An independent check of one signature with the openssl command.
/usr/bin/python3 - "$work/a.log.raw" "$work" <<-'PY'
	import base64, json, sys
	n = json.loads(json.loads(open(sys.argv[1]).readline()))
	text = "".join("%s\n%s\n" % (k, n[k]) for k in
	               ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type") if k in n)
	open(sys.argv[2] + "/to-sign", "w").write(text)
	open(sys.argv[2] + "/sig", "wb").write(base64.b64decode(n["Signature"]))
PY
openssl x509 -in "$work/sns.crt" -pubkey -noout >"$work/sns.pub"
check "openssl dgst verifies a notification's signature with the certificate's key" \
	bash -c "openssl dgst -sha256 -verify '$work/sns.pub' -signature '$work/sig' '$work/to-sign' | grep -q 'Verified OK'"
check "the acknowledged event was never sent" bash -c "! grep -q '\"m6\"' '$work/a.log'"
check "b received nothing while failing" test ! -s "$work/b.log"
check "the dispatcher logged the dead letters" grep -q 'dead letter after 3 attempts' "$work/dispatch.log"
out=$("$mw" events -d "$spool" list --dead b)
check "list --dead b lists the 5 dead letters" test "$(printf '%s\n' "$out" | wc -l)" = 5

rm -f "$work/b.fail"
out=$("$mw" events -c "$policy" redrive b)
check "redrive b queues the 5 dead letters again" test "$out" = "5 events redriven to b"
check "... and b receives all 5" \
	wait_until 10 delivered_ge "$work/b.log" 5
check "... each verified, in the notification shape" verify_log "$work/b.log"
check "... the same MessageId for an event at a and at b" $py -c '
import json, sys
ids = lambda p: {(r["mail_id"], r["id"]) for r in map(json.loads, open(p))}
assert ids(sys.argv[1]) == ids(sys.argv[2])' "$work/a.log" "$work/b.log"
check "... the dead-letter folder and redrive queue are empty" \
	wait_until 5 eval 'count_is "$spool/dead/b" 0 && count_is "$spool/webhook/b/redrive" 0'
"$mw" events -c "$policy" redrive nobody 2>/dev/null
ok_status=$?
check "redrive of an endpoint the policy does not name exits 66" test "$ok_status" = 66

kill -TERM "$dispatch_pid"
wait_until 5 bash -c "! kill -0 $dispatch_pid 2>/dev/null"
wait "$dispatch_pid"
ok_status=$?
check "the dispatcher stops on SIGTERM with status 0" test "$ok_status" = 0
# Restarts: what an endpoint acknowledged is not sent again (the done marker).
sed 's/max_attempts = 3;/max_attempts = 1000;/' "$policy" >"$work/patient.conf"
touch "$work/b.fail"
name7=$now.000007.4242_0000000007.json
printf '{"eventType":"Delivery","mail":{"messageId":"m7"}}\n' >"$spool/new/$name7"
"$mw" events -c "$work/patient.conf" dispatch --once 2>/dev/null
check "one pass: a has the new event, b refused it, it stays in new/ with a's marker" \
	eval 'test "$(grep -c "\"m7\"" "$work/a.log")" = 1 -a -f "$spool/new/$name7" -a -f "$spool/webhook/a/done/$name7"'
"$mw" events -c "$work/patient.conf" dispatch --once 2>/dev/null
check "a second process does not send it to a again" test "$(grep -c '"m7"' "$work/a.log")" = 1
rm -f "$work/b.fail"
"$mw" events -c "$work/patient.conf" dispatch --once 2>/dev/null
check "a third, with b answering: b has it, it is in cur/, the marker is gone" \
	eval 'test "$(grep -c "\"m7\"" "$work/b.log")" = 1 -a -f "$spool/cur/$name7" -a ! -e "$spool/webhook/a/done/$name7"'

# TLS: verified by default; a self-signed certificate is refused unless tls_verify = false.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/tls.key" -out "$work/tls.crt" \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 2 2>/dev/null
RECEIVER_TLS=$work/tls.crt:$work/tls.key $py "$receiver" "$port_c" "$work/c.log" "$work/sns.crt" \
	"$topic" "$cert_url" "$unsub_url" eventType "$work/c.fail" &
pids+=($!)
spool3=$work/spool3
mkdir -p "$spool3/new" "$spool3/cur"
printf '{"eventType":"Send","mail":{"messageId":"tls1"}}\n' >"$spool3/new/$now.000001.1_0000000001.json"
tls_endpoint() { # NAME TLS_VERIFY
	echo "{ name = \"$1\"; url = \"https://127.0.0.1:$port_c/\"; topic_arn = \"$topic\";"
	echo "  signing_key = \"$work/sns.pem\"; signing_cert_url = \"$cert_url\";"
	echo "  unsubscribe_url = \"$unsub_url\"; tls_verify = $2; max_attempts = 1; }"
}
cat >"$work/tls.conf" <<CONF
log = { to = "stderr"; };
events = { spool_dir = "$spool3"; };
webhooks = ( $(tls_endpoint strict true), $(tls_endpoint lax false) );
CONF
wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port_c" 2>/dev/null
"$mw" events -c "$work/tls.conf" dispatch --once 2>"$work/tls.log"
check "https with tls_verify = false delivers to a self-signed endpoint" \
	grep -q '"mail_id": "tls1"' "$work/c.log"
check "with tls_verify (the default) the self-signed certificate is refused" \
	eval 'count_is "$spool3/dead/strict" 1 && grep -qi "webhook strict.*certificate" "$work/tls.log"'

# The SubscriptionConfirmation handshake (endpoint d, confirm_subscription).
touch "$work/d.fail"
$py "$receiver" "$port_d" "$work/d.log" "$work/sns.crt" "$topic" "$cert_url" "$unsub_url" \
	eventType "$work/d.fail" &
pids+=($!)
spool4=$work/spool4
mkdir -p "$spool4/new" "$spool4/cur"
for i in 1 2; do
	printf '{"eventType":"Bounce","mail":{"messageId":"h%s"}}\n' "$i" \
		>"$spool4/new/$now.00000$i.7_000000000$i.json"
done
handshake_conf() { # TOPIC
	cat <<-CONF
		log = { to = "stderr"; level = "info"; };
		events = { spool_dir = "$spool4"; };
		webhooks = ( { name = "d"; url = "http://127.0.0.1:$port_d/sns?from=mailward"; topic_arn = "$1";
		  signing_key = "$work/sns.pem"; signing_cert_url = "$cert_url";
		  unsubscribe_url = "$unsub_url"; confirm_subscription = true; max_attempts = 1; } );
	CONF
}
handshake_conf "$topic" >"$work/d.conf"
wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port_d" 2>/dev/null
"$mw" events -c "$work/d.conf" dispatch --once 2>"$work/d1.log"
check "an endpoint that has not confirmed gets no event (its handshake answered 500)" \
	eval 'grep -q "SubscriptionConfirmation: HTTP status 500" "$work/d1.log" && count_is "$spool4/new" 2 && test ! -e "$spool4/webhook/d/confirmed"'
check "... and its events are not dead letters (they wait)" count_is "$spool4/dead/d" 0
rm -f "$work/d.fail"
"$mw" events -c "$work/d.conf" dispatch --once 2>"$work/d2.log"
check "once it answers, the first request was a SubscriptionConfirmation that verifies" \
	$py -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert recs[0]["type"] == "SubscriptionConfirmation" and recs[0]["ok"], recs[0]' "$work/d.log"
check "... then both events, verified, and they are in cur/" \
	eval '$py -c "
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])][1:]
assert [(r[\"type\"], r[\"ok\"], r[\"mail_id\"]) for r in recs] == [(\"Notification\", True, \"h1\"), (\"Notification\", True, \"h2\")], recs" "$work/d.log" && count_is "$spool4/cur" 2'
check "... the confirmation is recorded with its topic" \
	test "$(head -1 "$spool4/webhook/d/confirmed")" = "$topic"
printf '{"eventType":"Bounce","mail":{"messageId":"h3"}}\n' >"$spool4/new/$now.000003.7_0000000003.json"
"$mw" events -c "$work/d.conf" dispatch --once 2>/dev/null
check "a later dispatcher does not ask again: the next event goes straight through" \
	$py -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["type"] for r in recs] == ["SubscriptionConfirmation"] + ["Notification"] * 3, recs' "$work/d.log"
handshake_conf "$topic-2" >"$work/d2.conf"
printf '{"eventType":"Bounce","mail":{"messageId":"h4"}}\n' >"$spool4/new/$now.000004.7_0000000004.json"
"$mw" events -c "$work/d2.conf" dispatch --once 2>"$work/d3.log"
check "a new topic_arn asks again (this receiver refuses the other topic: 400, nothing sent)" \
	eval 'grep -q "SubscriptionConfirmation: HTTP status 400" "$work/d3.log" && ! grep -q "\"h4\"" "$work/d.log"'

done_testing
