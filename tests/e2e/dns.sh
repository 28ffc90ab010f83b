#!/bin/bash
# dns.sh - the production resolver (common/dns_unbound.c) against real servers
#
# A private NSD (tests/lib/dns-lib.sh) on MW_TEST_DNS_ADDR (127.0.53.10)
# serves every record type mailward asks for: TXT with one string, several
# strings, more than 255 bytes, binary bytes, an RRset of 3000 bytes that
# only TCP can carry; A, AAAA, MX with preferences, a null MX, PTR, a CNAME
# to a TXT; names without the asked type (NODATA) and without anything
# (NXDOMAIN); a DNSSEC-signed zone with one good and one tampered record;
# and a zone NSD cannot load (it answers SERVFAIL).  A small Python server
# on MW_TEST_SLOW_ADDR (127.0.53.11) never answers names under slow.test
# (UDP or TCP) and answers names under evil.test with malformed records.
#
# tests/tools/dns-lookup asks, with forwarders (--forward) and per-zone
# forwarders (--zone).  Shown: every outcome maps to found / nodata /
# nxdomain / tempfail and a failure never reads as "no record"; a lookup
# ends at its time limit while unbound keeps trying; a spent message
# budget fails without asking; 8 threads at once all get their answers;
# a cached lookup costs microseconds; /etc/resolv.conf is used when no
# forwarder is given; and valgrind finds no leak.  About 10 s.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
lookup=$build/tests/tools/dns-lookup
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (DNS on port 53, mount namespace for resolv.conf)"
command -v nsd >/dev/null || skip_all "nsd not installed (run tools/deps)"
[ -x "$lookup" ] || skip_all "tests/tools/dns-lookup not built (make check builds it)"

NSD=${MW_TEST_DNS_ADDR:-127.0.53.10}
SLOW=${MW_TEST_SLOW_ADDR:-127.0.53.11}
work=$(mktemp -d /tmp/mw-dns.XXXXXX)
fake_pid=
cleanup() {
	[ -n "$fake_pid" ] && { kill "$fake_pid" && wait "$fake_pid"; } 2>/dev/null
	dns_cleanup
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

plan 32

# ------------------------------------------------------------ the servers
long=$(printf 'L%.0s' $(seq 1 300))
dns_setup "$work/dns" "$NSD" >/dev/null
dns_zone mw.example
dns_txt txt.mw.example "v=spf1 ip4:192.0.2.0/24 -all"
dns_txt multi.mw.example "first part;" " second part"
dns_txt long.mw.example "$long"
dns_record binary.mw.example TXT '"a\000b\"c\\d\255"'
dns_txt two.mw.example "one"
dns_txt two.mw.example "two"
for i in $(seq -w 1 12); do
	dns_txt big.mw.example "$i$(printf 'x%.0s' $(seq 1 248))"
done
dns_record a.mw.example A 192.0.2.1
dns_record a.mw.example A 192.0.2.2
dns_record aaaa.mw.example AAAA 2001:db8::53
dns_record mx.mw.example MX "20 mx2.mw.example."
dns_record mx.mw.example MX "10 mx1.mw.example."
dns_record nullmx.mw.example MX "0 ."
dns_record alias.mw.example CNAME txt.mw.example.
dns_zone fwd.test
dns_txt txt.fwd.test "split horizon"
dns_zone 2.0.192.in-addr.arpa
dns_record 1.2.0.192.in-addr.arpa PTR host.mw.example.

# A zone signed here: its key is the trust anchor; bad.sec.example's text
# is changed after signing.
have_dnssec=no
if /usr/bin/python3 -c 'import dns.dnssec, cryptography' 2>/dev/null; then
	cat >"$work/sign.py" <<'EOF'
import sys, time
import dns.dnssec, dns.name, dns.rrset
from cryptography.hazmat.primitives.asymmetric import ec
zone, anchor = dns.name.from_text(sys.argv[1]), sys.argv[2]
key = ec.generate_private_key(ec.SECP256R1())
dnskey = dns.dnssec.make_dnskey(key.public_key(), dns.dnssec.Algorithm.ECDSAP256SHA256, flags=257)
now = int(time.time())
def record(owner, rtype, rdata):
    print(owner.to_text(omit_final_dot=True), rtype, rdata)
def signed(rrset, shown=None):
    for rd in rrset:
        record(rrset.name, rrset[0].rdtype.name, shown or rd.to_text())
    sig = dns.dnssec.sign(rrset, key, zone, dnskey, inception=now - 3600, expiration=now + 86400)
    record(rrset.name, "RRSIG", sig.to_text())
signed(dns.rrset.from_rdata(zone, 60, dnskey))
signed(dns.rrset.from_text("good." + zone.to_text(), 60, "IN", "TXT", '"signed text"'))
signed(dns.rrset.from_text("bad." + zone.to_text(), 60, "IN", "TXT", '"signed text"'), '"tampered"')
with open(anchor, "w") as f:
    f.write("%s IN DNSKEY %s\n" % (zone.to_text(), dnskey.to_text()))
EOF
	dns_zone sec.example
	while read -r owner rtype rdata; do
		dns_record "$owner" "$rtype" "$rdata"
	done < <(/usr/bin/python3 "$work/sign.py" sec.example "$work/anchor") && have_dnssec=yes
fi
dns_start || {
	echo "Bail out! NSD did not start"
	exit 1
}

# A zone NSD cannot load: declared, but its file is not a zone file.
dns_zone broken.example
printf 'this is not a zone file\n' >"$DNS_DIR/zones/broken.example.zone"
nsd-control -c "$DNS_CONF" reconfig >/dev/null
broken_servfail() {
	local rc=0
	dns_query x.broken.example TXT >/dev/null 2>&1 || rc=$?
	[ "$rc" = 3 ]
}
wait_until 10 broken_servfail || {
	echo "Bail out! NSD does not answer SERVFAIL for the broken zone"
	exit 1
}

cat >"$work/fake.py" <<'EOF'
# slow.test: never answered (UDP or TCP).  evil.test: malformed records.
import selectors, socket, struct, sys
addr = sys.argv[1]
RDATA = {  # rdata that does not fit its type
    b"badtxt": b"\x0ashort",          # string length past the end
    b"badmx": b"\x00\x0a\x3fab",       # label length past the end
    b"bada": b"\x01\x02\x03",          # an address of 3 bytes
}
def answer(query):
    pos = 12
    labels = []
    while query[pos]:
        labels.append(bytes(query[pos + 1:pos + 1 + query[pos]]).lower())
        pos += 1 + query[pos]
    qtype = query[pos + 1:pos + 3]
    question = query[12:pos + 5]
    if len(labels) < 2 or labels[-2:] != [b"evil", b"test"]:
        return None
    rdata = RDATA.get(labels[0], b"\x00")
    header = query[:2] + b"\x84\x00" + struct.pack(">HHHH", 1, 1, 0, 0)
    rr = b"\xc0\x0c" + qtype + b"\x00\x01" + struct.pack(">IH", 60, len(rdata)) + rdata
    return header + question + rr
sel = selectors.DefaultSelector()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((addr, 53))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((addr, 53))
tcp.listen(64)
sel.register(udp, selectors.EVENT_READ, "udp")
sel.register(tcp, selectors.EVENT_READ, "listen")
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if key.data == "udp":
            query, peer = udp.recvfrom(65535)
            try:
                reply = answer(query)
            except IndexError:
                reply = None
            if reply:
                udp.sendto(reply, peer)
        elif key.data == "listen":
            conn, _ = tcp.accept()
            sel.register(conn, selectors.EVENT_READ, "conn")
        elif not key.fileobj.recv(65535):
            sel.unregister(key.fileobj)
            key.fileobj.close()
EOF
/usr/bin/python3 "$work/fake.py" "$SLOW" >"$work/fake.out" 2>&1 &
fake_pid=$!
wait_until 10 grep -q ready "$work/fake.out" || {
	echo "Bail out! the slow server on $SLOW did not start: $(cat "$work/fake.out")"
	exit 1
}

# ------------------------------------------------------------ helpers
# ask ARGS...: dns-lookup through NSD (plus ARGS), output in $out.
ask() { out=$("$lookup" --forward "$NSD" "$@" 2>"$work/stderr"); }
# expect DESCRIPTION EXPECTED ARGS...: the output is exactly EXPECTED.
expect() {
	local what=$1 want=$2
	shift 2
	ask "$@"
	if [ "$out" = "$want" ]; then
		pass "$what"
	else
		fail "$what" "expected: $want" "got: $out" "$(cat "$work/stderr")"
	fi
}
# The records of a one-line answer, sorted (for RRsets in any order).
sorted() { printf '%s\n' "$1" | tr ' ' '\n' | sort | tr '\n' ' '; }
expect_set() {
	local what=$1 want=$2
	shift 2
	ask "$@"
	if [ "$(sorted "$out")" = "$(sorted "$want")" ]; then
		pass "$what"
	else
		fail "$what" "expected (any order): $want" "got: $out"
	fi
}
# elapsed_ms COMMAND...: run it, output in $out, milliseconds in $ms.
elapsed_ms() {
	local t0
	t0=$(now_us)
	out=$("$@" 2>"$work/stderr")
	ms=$((($(now_us) - t0) / 1000))
}

# ------------------------------------------------------------ answers
expect "TXT: one string" 'found "v=spf1 ip4:192.0.2.0/24 -all"' txt.mw.example TXT
expect "TXT: the strings of one record are concatenated" 'found "first part; second part"' \
	multi.mw.example TXT
expect "TXT: 300 bytes (255 + 45) come back whole" "found \"$long\"" long.mw.example TXT
expect "TXT: binary-safe (NUL, quote, backslash, byte 255)" 'found "a\000b\"c\\d\255"' \
	binary.mw.example TXT
expect_set "TXT: an RRset of two records" 'found "one" "two"' two.mw.example TXT
want_big="found"
for i in $(seq -w 1 12); do want_big+=" \"$i$(printf 'x%.0s' $(seq 1 248))\""; done
expect_set "TXT: 12 records of 250 bytes (3000 bytes, over TCP)" "$want_big" big.mw.example TXT
expect_set "A: two addresses" "found 192.0.2.1 192.0.2.2" a.mw.example A
expect "AAAA" "found 2001:db8::53" aaaa.mw.example AAAA
expect_set "MX: exchanges with their preferences" "found 10:mx1.mw.example 20:mx2.mw.example" \
	mx.mw.example MX
expect "MX: a null MX (RFC 7505) is preference 0 and the empty name" "found 0:" nullmx.mw.example MX
expect "CNAME: followed to the TXT record" 'found "v=spf1 ip4:192.0.2.0/24 -all"' alias.mw.example TXT
expect "NODATA: the name has no record of the type" "nodata" txt.mw.example A
expect "NXDOMAIN: the name does not exist" "nxdomain" missing.mw.example TXT
label64=$(printf 'x%.0s' $(seq 1 64))
expect "a name DNS cannot carry (empty or 64-byte label) is nxdomain, not tempfail" \
	"$(printf 'nxdomain\nnxdomain')" a..mw.example TXT "$label64.mw.example" TXT
expect "names: any case, trailing dot or not" "$(printf 'found 2001:db8::53\nnxdomain')" \
	AAAA.MW.Example. AAAA MISSING.mw.example. A

# ------------------------------------------------------------ failures
expect "SERVFAIL (a zone NSD cannot load) is tempfail, not nxdomain" "tempfail SERVFAIL" \
	x.broken.example TXT
expect "REFUSED (a name outside NSD's zones) is tempfail (unbound says SERVFAIL)" \
	"tempfail SERVFAIL" name.elsewhere TXT
for t in TXT:badtxt MX:badmx A:bada; do
	ask --zone "evil.test=$SLOW" "${t#*:}.evil.test" "${t%%:*}"
	case $out in
	"tempfail "*) pass "a malformed ${t%%:*} record is tempfail ($out)" ;;
	*) fail "a malformed ${t%%:*} record is tempfail" "got: $out" "$(cat "$work/stderr")" ;;
	esac
done

elapsed_ms "$lookup" --forward "$NSD" --zone "slow.test=$SLOW" --timeout 500 a.slow.test TXT
if [ "$out" = "tempfail timeout" ] && [ "$ms" -ge 450 ] && [ "$ms" -lt 1500 ]; then
	pass "a server that never answers: tempfail timeout at the 500 ms limit ($ms ms)"
else
	fail "a server that never answers: tempfail timeout at the 500 ms limit" "got: $out in $ms ms"
fi
elapsed_ms "$lookup" --forward "$NSD" --zone "slow.test=$SLOW" --timeout 2000 --budget 300 \
	b.slow.test TXT txt.mw.example TXT
want=$(printf 'tempfail timeout\ntempfail DNS time budget spent\nbudget lookups 1')
if [ "$out" = "$want" ] && [ "$ms" -lt 1300 ]; then
	pass "a spent budget is tempfail without a query ($ms ms)"
else
	fail "a spent budget is tempfail without a query" "got: $out in $ms ms"
fi

# ------------------------------------------------------------ forwarding
expect "per-zone forwarders answer while the default forwarder never does" \
	"$(printf 'found "split horizon"\nfound host.mw.example')" \
	--forward "$SLOW" --zone "fwd.test=$NSD" --zone "2.0.192.in-addr.arpa=$NSD" \
	--timeout 3000 txt.fwd.test TXT 1.2.0.192.in-addr.arpa PTR
out=$(dns_resolv_conf_run "$lookup" txt.mw.example TXT 2>&1)
if [ "$out" = 'found "v=spf1 ip4:192.0.2.0/24 -all"' ]; then
	pass "no forwarder: the nameservers of /etc/resolv.conf"
else
	fail "no forwarder: the nameservers of /etc/resolv.conf" "got: $out"
fi
out=$("$lookup" --forward 192.0.2.300 txt.mw.example TXT 2>&1)
rc=$?
if [ "$rc" = 2 ] && [[ $out == *"nameserver 192.0.2.300"* ]]; then
	pass "a bad forwarder address fails when the resolver is made"
else
	fail "a bad forwarder address fails when the resolver is made" "status $rc: $out"
fi

# ------------------------------------------------------------ DNSSEC
if [ "$have_dnssec" = yes ]; then
	expect "DNSSEC: a validated answer is marked secure; other zones are not" \
		"$(printf 'found "signed text" secure\nfound "v=spf1 ip4:192.0.2.0/24 -all"')" \
		--dnssec "$work/anchor" good.sec.example TXT txt.mw.example TXT
	expect "DNSSEC: a tampered record is tempfail DNSSEC bogus" "tempfail DNSSEC bogus" \
		--dnssec "$work/anchor" bad.sec.example TXT
else
	pass "DNSSEC: secure answer # SKIP python3-dnspython or python3-cryptography missing"
	pass "DNSSEC: bogus answer # SKIP python3-dnspython or python3-cryptography missing"
fi
out=$("$lookup" --forward "$NSD" --dnssec "$work/no-such-anchor" txt.mw.example TXT 2>&1)
rc=$?
if [ "$rc" = 2 ] && [[ $out == *"trust anchor file"* ]]; then
	pass "a missing trust anchor file fails when the resolver is made"
else
	fail "a missing trust anchor file fails when the resolver is made" "status $rc: $out"
fi

# ------------------------------------------------------------ threads, cache
names=(txt.mw.example TXT multi.mw.example TXT big.mw.example TXT a.mw.example A
	aaaa.mw.example AAAA mx.mw.example MX alias.mw.example TXT txt.mw.example A
	missing.mw.example TXT x.broken.example TXT)
ask --threads 1 "${names[@]}"
alone=$out
ask --threads 8 --repeat 20 --timeout 5000 "${names[@]}"
if [ "$(printf '%s\n' "$out" | grep -v '^time ')" = "$alone" ]; then
	pass "8 threads x 20 rounds x 10 names: every answer as asked alone"
else
	fail "8 threads x 20 rounds x 10 names: every answer as asked alone" \
		"$(printf '%s\n' "$out" | grep MISMATCH | head -5)"
fi
elapsed_ms "$lookup" --forward "$NSD" --zone "slow.test=$SLOW" --timeout 500 --threads 8 \
	c.slow.test TXT txt.mw.example TXT d.slow.test A a.mw.example A
if [ "$(printf '%s\n' "$out" | grep -c '^tempfail timeout$')" = 2 ] &&
	! printf '%s\n' "$out" | grep -q MISMATCH && [ "$ms" -lt 2500 ]; then
	pass "8 threads, slow and fast names at once: each ends right ($ms ms)"
else
	fail "8 threads, slow and fast names at once: each ends right" "got ($ms ms): $out"
fi
ask --repeat 10000 txt.mw.example TXT
us=$(printf '%s\n' "$out" | awk '$1 == "time" { print $3 }')
diag "10000 lookups of a cached name: ${us:-?} us"
if [ -n "$us" ] && [ "$us" -lt 2000000 ] && ! printf '%s\n' "$out" | grep -q MISMATCH; then
	pass "10000 cached lookups in $((us / 1000)) ms ($((us / 10000)) us each)"
else
	fail "10000 cached lookups in under 2 s" "got: $out"
fi

# ------------------------------------------------------------ valgrind
if command -v valgrind >/dev/null; then
	valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect,possible \
		--show-leak-kinds=definite,indirect,possible \
		"$lookup" --forward "$NSD" --zone "slow.test=$SLOW" --zone "evil.test=$SLOW" \
		--timeout 3000 --threads 2 txt.mw.example TXT big.mw.example TXT mx.mw.example MX \
		badtxt.evil.test TXT e.slow.test TXT >"$work/valgrind.out" 2>&1
	rc=$?
	if [ "$rc" != 99 ] && grep -q '^found .*10:mx1' "$work/valgrind.out"; then
		pass "valgrind: no memory error or leak (status $rc)"
	else
		fail "valgrind: no memory error or leak" "$(head -20 "$work/valgrind.out")"
	fi
else
	pass "valgrind # SKIP valgrind not installed"
fi

done_testing
