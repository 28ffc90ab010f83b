#!/bin/bash
# dkim-verify.sh - mailward's DKIM verifier on signatures made by others
#
# A private NSD on loopback (tests/lib/dns-lib.sh) publishes RSA and
# Ed25519 keys and the RFC 8463 example keys; tests/tools/dkim-verify-file
# fetches them through the production resolver (libunbound forwarding to
# NSD).  Messages signed by dkimpy (RSA and Ed25519, relaxed and simple,
# l=, two signatures on one message) and by OpenDKIM (opendkim's test
# mode, rsa-sha256) pass; the same messages with a changed body or Subject
# fail; opendkim-testmsg's rsa-sha1 signature is refused (RFC 8301); a
# revoked key, a missing key and an unreachable zone give permerror,
# permerror and temperror.  Hostile input: 1000 DKIM-Signature fields cost
# at most five key lookups, a 1 MB header field and a DKIM-Signature whose
# h= is 1 MB finish quickly (times are printed, bounded only by a generous
# timeout).  The driver's CPU per verification with cached keys is printed.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOP_BUILDDIR:-$top}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns-lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (DNS on port 53)"
need_tools nsd opendkim opendkim-testmsg openssl
/usr/bin/python3 -c 'import dkim, nacl' 2>/dev/null || skip_all "python3-dkim missing (tools/deps)"
driver=$build/tests/tools/dkim-verify-file
[ -x "$driver" ] || skip_all "$driver not built (make check builds it)"

work=$(mktemp -d /tmp/mw-dkim-verify.XXXXXX)
cleanup() {
	dns_cleanup
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# ------------------------------------------------------------ keys and DNS
openssl genrsa -traditional -out "$work/rsa.pem" 2048 2>/dev/null
chmod 600 "$work/rsa.pem"
rsa_pub=$(openssl rsa -in "$work/rsa.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
read -r ed_seed ed_pub < <(/usr/bin/python3 -c '
import base64, nacl.signing
k = nacl.signing.SigningKey.generate()
print(base64.b64encode(bytes(k)).decode(), base64.b64encode(bytes(k.verify_key)).decode())')

DNS_ADDR=${MW_TEST_DNS_ADDR:-127.0.53.30}
dns_setup "$work/dns" "$DNS_ADDR" >/dev/null
dns_zone example.com
dns_txt rsa._domainkey.example.com "v=DKIM1; k=rsa; p=$rsa_pub"
dns_txt ed._domainkey.example.com "v=DKIM1; k=ed25519; p=$ed_pub"
dns_txt od._domainkey.example.com "v=DKIM1; k=rsa; p=$rsa_pub"
dns_txt revoked._domainkey.example.com "v=DKIM1; k=rsa; p="
dns_zone football.example.com # RFC 8463 appendix A.2
dns_txt brisbane._domainkey.football.example.com \
	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
dns_txt test._domainkey.football.example.com "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
dns_start || {
	echo "Bail out! NSD did not start on $DNS_ADDR"
	exit 1
}

verify() { "$driver" --forward "$DNS_ADDR@53" "$@"; }

# dkimpy_sign FILE ALG SELECTOR CANON [l] [DOMAIN]: the signed message on stdout.
cat >"$work/sign.py" <<'PY'
import sys, dkim
path, alg, sel, canon, length, domain, rsa, seed = sys.argv[1:9]
msg = open(path, "rb").read()
key = seed.encode() if alg == "ed25519-sha256" else open(rsa, "rb").read()
hc, bc = canon.encode().split(b"/")
sig = dkim.sign(msg, sel.encode(), domain.encode(), key, canonicalize=(hc, bc),
                signature_algorithm=alg.encode(), length=(length == "l"),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
sys.stdout.buffer.write(sig + msg)
PY
dkimpy_sign() {
	/usr/bin/python3 "$work/sign.py" "$1" "$2" "$3" "$4" "${5:--}" "${6:-example.com}" \
		"$work/rsa.pem" "$ed_seed"
}
# opendkim_sign FILE CANON: OpenDKIM's test mode prints the new field first.
opendkim_sign() {
	printf 'Syslog no\nMode s\nRequireSafeKeys false\nSignatureAlgorithm rsa-sha256\nCanonicalization %s\nDomain example.com\nSelector od\nKeyFile %s\n' \
		"$2" "$work/rsa.pem" >"$work/opendkim.conf"
	opendkim -x "$work/opendkim.conf" -t "$1" 2>/dev/null | sed '1d; s/\r$//; s/$/\r/'
	cat "$1"
}

# expect FILE LINE-PATTERN... : the driver's output lines match, in order.
expect() {
	local file=$1 out
	shift
	out=$(verify "$file" 2>"$file.err")
	printf '%s\n' "$out" >"$file.out"
	[ "$(printf '%s\n' "$out" | wc -l)" -eq $# ] || return 1
	local i=1 pat
	for pat in "$@"; do
		printf '%s\n' "$out" | sed -n "${i}p" | grep -Eq -- "$pat" || return 1
		i=$((i + 1))
	done
}
# check_expect DESCRIPTION FILE PATTERN...: a TAP line, the output shown on failure.
check_expect() {
	local what=$1 file=$2
	shift 2
	if expect "$file" "$@"; then
		pass "$what"
	else
		fail "$what" "$(sed 's/^/got: /' "$file.out" "$file.err" 2>/dev/null)"
	fi
}

plan 36

# ------------------------------------------------------------ the corpus
corpus=$work/corpus
mkdir -p "$corpus"
headers() {
	printf 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: %b\r\n' "$1"
	printf 'Date: Mon, 23 Nov 2026 19:00:00 +0000\r\nMessage-ID: <%s@example.com>\r\n' "$2"
	printf 'MIME-Version: 1.0\r\n'
}
{ headers "plain" plain; printf 'Content-Type: text/plain\r\n\r\nHello Bob,\r\n\r\nsee you.\r\n'; } >"$corpus/plain.eml"
{
	headers "caf\xc3\xa9  8-bit,\r\n\tfolded" eightbit
	printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
	printf 'Gr\xc3\xbc\xc3\x9fe, caf\xc3\xa9 cr\xc3\xa8me  \t \r\n\xe2\x82\xac 10\r\n\r\n\r\n'
} >"$corpus/eightbit.eml"
{ headers "empty body" empty; printf '\r\n'; } >"$corpus/empty.eml"

d='header\.d=example\.com'
for c in plain eightbit empty; do
	for canon in relaxed/relaxed simple/simple relaxed/simple; do
		f=$corpus/$c.rsa.${canon/\//-}
		dkimpy_sign "$corpus/$c.eml" rsa-sha256 rsa "$canon" >"$f"
		check_expect "dkimpy rsa-sha256 $canon, $c: pass" "$f" \
			"^dkim=pass $d header\.s=rsa header\.i=@example\.com header\.a=rsa-sha256 header\.b=[^ ]{8} bits=2048$"
	done
	for canon in relaxed/relaxed simple/simple; do
		f=$corpus/$c.ed.${canon/\//-}
		dkimpy_sign "$corpus/$c.eml" ed25519-sha256 ed "$canon" >"$f"
		check_expect "dkimpy ed25519-sha256 $canon, $c: pass" "$f" \
			"^dkim=pass $d header\.s=ed header\.i=@example\.com header\.a=ed25519-sha256 header\.b=[^ ]{8} bits=256$"
	done
done

f=$corpus/dual
dkimpy_sign "$corpus/plain.rsa.relaxed-relaxed" ed25519-sha256 ed relaxed/relaxed >"$f"
check_expect "dkimpy Ed25519 over dkimpy RSA: both pass, newest first" "$f" \
	"^dkim=pass $d header\.s=ed " "^dkim=pass $d header\.s=rsa "

f=$corpus/length
dkimpy_sign "$corpus/plain.eml" rsa-sha256 rsa relaxed/simple l >"$f"
printf -- '-- \r\nappended by a mailing list\r\n' >>"$f"
check_expect "dkimpy l=, a footer appended: pass, the unsigned part reported" "$f" \
	"^dkim=pass $d header\.s=rsa .*\(l=24, 33 body bytes unsigned\)$"
if verify --refuse-l "$f" 2>/dev/null | grep -q '^dkim=policy .*(l= body length limits are not accepted)$'; then
	pass "... and policy when l= is refused"
else
	fail "... and policy when l= is refused" "$(verify --refuse-l "$f" 2>&1)"
fi

for canon in relaxed/relaxed simple/simple; do
	f=$corpus/opendkim.${canon/\//-}
	opendkim_sign "$corpus/plain.eml" "$canon" >"$f"
	check_expect "OpenDKIM rsa-sha256 $canon: pass" "$f" \
		"^dkim=pass $d header\.s=od header\.i=@example\.com header\.a=rsa-sha256 .* bits=2048$"
done
f=$corpus/testmsg-sha1
opendkim-testmsg -d example.com -k "$work/rsa.pem" -s od <"$corpus/plain.eml" >"$f" 2>/dev/null
check_expect "opendkim-testmsg signs rsa-sha1: permerror, RFC 8301" "$f" \
	"^dkim=permerror $d header\.s=od .*header\.a=rsa-sha1 .*\(rsa-sha1 is not accepted \(RFC 8301\)\)$"

cp "$top/tests/data/rfc8463-a3.eml" "$work/rfc8463.eml"
check_expect "RFC 8463 appendix A.3 with the published keys: both pass" "$work/rfc8463.eml" \
	"^dkim=pass header\.d=football\.example\.com header\.s=brisbane .*header\.b=/gCrinpc bits=256$" \
	"^dkim=pass header\.d=football\.example\.com header\.s=test .*header\.b=F45dVWDf bits=1024$"

# ----------------------------------------------------------- tampering
for f in plain.rsa.relaxed-relaxed plain.ed.simple-simple opendkim.relaxed-relaxed dual; do
	sed 's/see you\./see you later./' "$corpus/$f" >"$corpus/$f.body"
	patterns=()
	for _ in $(seq "$(grep -c '^DKIM-Signature:' "$corpus/$f")"); do
		patterns+=('^dkim=fail .*\(body hash mismatch\)$')
	done
	check_expect "$f, body changed: fail (body hash mismatch)" "$corpus/$f.body" "${patterns[@]}"
done
for f in plain.rsa.simple-simple plain.ed.relaxed-relaxed opendkim.simple-simple; do
	sed 's/^Subject: plain/Subject: changed/' "$corpus/$f" >"$corpus/$f.subject"
	check_expect "$f, Subject changed: fail (signature mismatch)" "$corpus/$f.subject" \
		'^dkim=fail .*\(signature mismatch\)$'
done

# ------------------------------------------------------- keys and DNS
f=$corpus/revoked
dkimpy_sign "$corpus/plain.eml" rsa-sha256 revoked relaxed/relaxed >"$f"
check_expect "a revoked key (p= empty): permerror" "$f" '^dkim=permerror .*header\.s=revoked .*\(key revoked\)$'
f=$corpus/nokey
dkimpy_sign "$corpus/plain.eml" rsa-sha256 nosuch relaxed/relaxed >"$f"
check_expect "no key published (NXDOMAIN): permerror" "$f" '^dkim=permerror .*header\.s=nosuch .*\(no key \(nxdomain\)\)$'
f=$corpus/unserved
dkimpy_sign "$corpus/plain.eml" rsa-sha256 rsa relaxed/relaxed - other.example >"$f"
check_expect "a zone the server refuses: temperror, never fail" "$f" \
	'^dkim=temperror header\.d=other\.example .*\(key lookup failed: .*\)$'

# ------------------------------------------------------- hostile input
good=$corpus/plain.rsa.relaxed-relaxed
f=$corpus/thousand
{
	for i in $(seq 1 999); do
		printf 'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=junk%d; h=from;\r\n bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n' "$i"
	done
	cat "$good"
} >"$f"
t0=$(now_us)
out=$(timeout 60 "$driver" --forward "$DNS_ADDR@53" "$f" 2>"$f.err")
t1=$(now_us)
diag "1000 DKIM-Signature fields: $(((t1 - t0) / 1000)) ms wall ($(cat "$f.err"))"
check "1000 signatures: five evaluated, 995 skipped" \
	test "$(printf '%s\n' "$out" | grep -c '^dkim=permerror .*no key (nxdomain)'):$(printf '%s\n' "$out" | tail -1)" = "5:skipped=995"
check "... with five key lookups, not 1000" grep -q '^# lookups=5 ' "$f.err"

f=$corpus/bigheader
{
	printf 'X-Junk: start\r\n'
	head -c 786432 /dev/urandom | base64 -w 76 | sed 's/^/ /; s/$/\r/'
	cat "$good"
} >"$f"
t0=$(now_us)
timeout 60 "$driver" --forward "$DNS_ADDR@53" "$f" >"$f.out" 2>"$f.err"
t1=$(now_us)
diag "a $(($(wc -c <"$f") / 1024)) KB header: $(((t1 - t0) / 1000)) ms wall ($(cat "$f.err"))"
check "a 1 MB header field (unsigned): the signature still passes" grep -q '^dkim=pass .*header\.s=rsa ' "$f.out"

f=$corpus/bigh
bh=$(tr -d '\r\n\t ' <"$good" | grep -o 'bh=[^;]*' | head -1)
{
	printf 'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa; %s; b=AAAA; h=from' "$bh"
	for _ in $(seq 1 10); do printf ':received%.0s' $(seq 1 10000); done
	printf '\r\n'
	for i in $(seq 1 2000); do printf 'Received: from h%d.example by mx.example; Mon, 23 Nov 2026\r\n' "$i"; done
	cat "$good"
} >"$f"
t0=$(now_us)
timeout 60 "$driver" --forward "$DNS_ADDR@53" "$f" >"$f.out" 2>"$f.err"
t1=$(now_us)
diag "a DKIM-Signature with a $(($(head -1 "$f" | wc -c) / 1024)) KB h= over 2000 Received fields: $(((t1 - t0) / 1000)) ms wall ($(cat "$f.err"))"
check "... its header hash is computed and fails (signature mismatch)" \
	grep -q '^dkim=fail .*header\.s=rsa .*(signature mismatch)$' "$f.out"

# ------------------------------------------------------------- timing
verify --repeat 2000 "$corpus/plain.rsa.relaxed-relaxed" >/dev/null 2>"$work/timing"
diag "rsa-sha256: $(tail -1 "$work/timing")"
verify --repeat 2000 "$corpus/plain.ed.relaxed-relaxed" >/dev/null 2>"$work/timing"
diag "ed25519-sha256: $(tail -1 "$work/timing")"

done_testing
