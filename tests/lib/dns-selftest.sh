#!/usr/bin/env bash
# dns-selftest.sh - prove that dns-lib.sh and the three DKIM verifiers work.
#
# Starts a private NSD (dns-lib.sh) on DNS_ADDR:53 (default 127.0.53.2),
# publishes zone example.com with an RSA-2048 key (selector "rsa", TXT
# record split into 255-byte strings) and an Ed25519 key (selector "ed"),
# signs messages with dkimpy (dkim.sign) and checks that
#
#   dkim-verify.py (dkimpy), dkim-verify.pl (Mail::DKIM) and
#   dkim-verify-opendkim.sh (opendkim-testmsg through dns_resolv_conf_run)
#
# pass the good messages (two signatures, RSA + Ed25519; one with a long
# folded header, an 8-bit UTF-8 body and CRLF line ends; one RSA only) and
# fail the negative controls (body changed, signed Subject changed, key not
# published = NXDOMAIN, published key that does not match, one good and
# one bad signature).  Mail::DKIM in Debian 12 cannot verify ed25519-sha256,
# so it runs with --allow-unsupported (ed25519 = "skip"); the test checks
# that it reports exactly that (or passes, should a later version support it).
#
# Output is TAP (43 tests, about 7-8 s); exit 0 only if every test passed.  Needs root (port 53,
# mount namespace) and the packages listed in dns-lib.sh's header.
# KEEP_WORK=1 keeps the work directory.  DNS_ADDR=127.0.53.x picks another
# loopback address (the default is fixed, so two copies running at the same
# time need different addresses); the port is always 53 here, because
# opendkim-testmsg can only use a resolv.conf name server.

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=tap.sh
. "$HERE/tap.sh"
# shellcheck source-path=SCRIPTDIR source=dns-lib.sh
. "$HERE/dns-lib.sh"

PY=/usr/bin/python3     # Debian's python3: python3-dkim lives there
PLAN=43
DNS_PORT=53

if (( EUID != 0 )); then
    skip_all "needs root (NSD on port 53, unshare --mount)"
fi
missing=()
for c in nsd nsd-control nsd-checkzone opendkim-testmsg openssl unshare findmnt perl; do
    command -v "$c" >/dev/null || missing+=("$c")
done
[[ -x $PY ]] && "$PY" -c 'import dkim, dns.query, nacl' 2>/dev/null || missing+=(python3-dkim)
perl -MMail::DKIM::Verifier -MNet::DNS -e1 2>/dev/null || missing+=(libmail-dkim-perl)
if (( ${#missing[@]} > 0 )); then
    skip_all "missing: ${missing[*]} (see tests/lib/dns-lib.sh)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/dns-selftest.XXXXXX") || exit 1
mounts_before=$(findmnt -n -o TARGET,SOURCE /etc/resolv.conf 2>/dev/null || true)
resolv_before=$(cksum </etc/resolv.conf)
started=${EPOCHREALTIME//[!0-9]/}

finish() {
    local rc=$?
    dns_cleanup
    if [[ ${KEEP_WORK:-0} == 1 ]]; then
        echo "# KEEP_WORK=1: work directory $work"
    else
        rm -rf -- "$work"
    fi
    if (( rc == 0 && (TAP_FAILED > 0 || TAP_COUNT != PLAN) )); then
        rc=1
    fi
    local ms=$(( (${EPOCHREALTIME//[!0-9]/} - started) / 1000 ))
    printf '# dns-selftest: %d tests, %d failed, %d.%03d s\n' "$TAP_COUNT" \
        "$TAP_FAILED" $(( ms / 1000 )) $(( ms % 1000 ))
    exit "$rc"
}
trap finish EXIT
trap 'echo "Bail out! interrupted by a signal"; exit 130' INT TERM HUP

plan "$PLAN"

bail() {
    echo "Bail out! $*"
    exit 1
}

# ok_if DESCRIPTION STATUS [DIAG-LINES...]
ok_if() {
    local desc=$1 st=$2
    shift 2
    if (( st == 0 )); then pass "$desc"; else fail "$desc" "$@"; fi
}

# ---------------------------------------------------------------------------
# Keys and the DNS server
# ---------------------------------------------------------------------------

keys=$work/keys
mkdir -p "$keys"
# RSA: PKCS#1 PEM for dkimpy, SubjectPublicKeyInfo base64 for p=.
# Ed25519 (RFC 8463): dkimpy wants the base64 32-byte seed, p= is the
# base64 32-byte raw public key (the last 32 bytes of the DER forms).
make_keys() {
    local k
    for k in rsa rsa2; do
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
            -out "$keys/$k.p8" 2>/dev/null &&
        openssl rsa -in "$keys/$k.p8" -traditional -out "$keys/$k.pem" 2>/dev/null &&
        openssl pkey -in "$keys/$k.pem" -pubout -outform DER | base64 -w0 >"$keys/$k.pub" ||
            return 1
    done
    for k in ed ed2; do
        openssl genpkey -algorithm ED25519 -out "$keys/$k.pem" &&
        openssl pkey -in "$keys/$k.pem" -outform DER | tail -c 32 | base64 -w0 >"$keys/$k.seed" &&
        openssl pkey -in "$keys/$k.pem" -pubout -outform DER | tail -c 32 | base64 -w0 >"$keys/$k.pub" ||
            return 1
    done
}
make_keys </dev/null || bail "openssl key generation failed"

rsa_rec="v=DKIM1; k=rsa; p=$(<"$keys/rsa.pub")"
ed_rec="v=DKIM1; k=ed25519; p=$(<"$keys/ed.pub")"

st=0
{
    dns_setup "$work/dns" &&
    dns_zone example.com &&
    dns_txt rsa._domainkey.example.com "$rsa_rec" &&
    dns_txt ed._domainkey.example.com "$ed_rec" &&
    dns_record www.example.com A 192.0.2.1 &&
    dns_start
} </dev/null || st=$?
ok_if "NSD starts on $DNS_ADDR:$DNS_PORT with zone example.com" "$st"
(( st == 0 )) || bail "no DNS server"
diag "NSD pid $_DNS_PID, work dir $work"

out=$(dns_query example.com SOA) && [[ $out == "ns.example.com. hostmaster.example.com. 1 "* ]]
ok_if "SOA of example.com answers (serial 1)" $? "got: $out"

# The RSA record: several character-strings of <= 255 bytes whose
# concatenation is the record text.
out=$(dns_query rsa._domainkey.example.com TXT)
st=$?
strings=()
if (( st == 0 )); then
    rest=${out#\"}
    rest=${rest%\"}
    while [[ $rest == *'" "'* ]]; do
        strings+=("${rest%%\" \"*}")
        rest=${rest#*\" \"}
    done
    strings+=("$rest")
fi
joined=$(printf '%s' "${strings[@]}")
(( ${#rsa_rec} > 255 && ${#strings[@]} == (${#rsa_rec} + 254) / 255 &&
   ${#strings[0]} == 255 )) && [[ $joined == "$rsa_rec" ]]
ok_if "RSA key record (${#rsa_rec} bytes) is served as ${#strings[@]} strings of <= 255 bytes" $? \
    "record length ${#rsa_rec}, got: $out"

out=$(dns_query ed._domainkey.example.com TXT)
[[ $out == "\"$ed_rec\"" ]]
ok_if "Ed25519 key record is served as one string" $? "got: $out"

st=0
dns_query missing._domainkey.example.com TXT >/dev/null 2>&1 || st=$?
ok_if "unpublished selector gets NXDOMAIN (dns_query status 2)" $(( st != 2 )) "status $st"

st=0
dns_query www.example.com AAAA >/dev/null 2>&1 || st=$?
ok_if "existing name without that type is NODATA (status 1)" $(( st != 1 )) "status $st"

# Records and a zone added while running, then dns_reload.
st=0
{
    dns_txt rsawrong._domainkey.example.com "v=DKIM1; k=rsa; p=$(<"$keys/rsa2.pub")" &&
    dns_txt edwrong._domainkey.example.com "v=DKIM1; k=ed25519; p=$(<"$keys/ed2.pub")" &&
    dns_record late.example.com A 192.0.2.2 &&
    dns_zone other.test &&
    dns_record other.test MX "10 mx.other.test." &&
    dns_record mx.other.test A 192.0.2.25 &&
    dns_reload
} </dev/null || st=$?
ok_if "dns_reload after adding records and a zone" "$st"
out=$(dns_query late.example.com A)
[[ $out == 192.0.2.2 ]]
ok_if "record added after the start is served" $? "got: $out"
out=$(dns_query other.test MX)
[[ $out == "10 mx.other.test." ]]
ok_if "zone declared after the start is served" $? "got: $out"
out=$(dns_query example.com SOA)
[[ $out == "ns.example.com. hostmaster.example.com. 2 "* ]]
ok_if "SOA serial of the changed zone went up to 2" $? "got: $out"

# The system resolver inside dns_resolv_conf_run.
out=$(dns_resolv_conf_run cat /etc/resolv.conf </dev/null)
grep -qx "nameserver $DNS_ADDR" <<<"$out" && ! grep -v "^nameserver $DNS_ADDR\$" <<<"$out" | grep -q '^nameserver'
ok_if "dns_resolv_conf_run: /etc/resolv.conf names only $DNS_ADDR" $? "got: $out"
out=$(dns_resolv_conf_run getent ahostsv4 late.example.com </dev/null)
[[ $out == 192.0.2.2* ]]
ok_if "dns_resolv_conf_run: getent (glibc resolver) gets the answer from NSD" $? "got: $out"
[[ $(cksum </etc/resolv.conf) == "$resolv_before" &&
   $(findmnt -n -o TARGET,SOURCE /etc/resolv.conf 2>/dev/null || true) == "$mounts_before" ]]
ok_if "host /etc/resolv.conf unchanged and no mount left on it" $? \
    "findmnt now: $(findmnt -n /etc/resolv.conf 2>&1)"

# ---------------------------------------------------------------------------
# Messages, signed by dkimpy
# ---------------------------------------------------------------------------

msgs=$work/msgs
mkdir -p "$msgs"
"$PY" - "$keys" "$msgs" <<'EOF' || bail "signing with dkimpy failed"
import sys, dkim
keys, out = sys.argv[1], sys.argv[2]

def key(name):
    with open("%s/%s" % (keys, name), "rb") as f:
        return f.read()

def sig(msg, sel, alg, keyname, canon, nl):
    return dkim.sign(msg, sel.encode(), b"example.com", key(keyname),
                     signature_algorithm=alg.encode(),
                     canonicalize=tuple(c.encode() for c in canon.split("/")),
                     linesep=nl)

def write(name, data):
    with open("%s/%s.eml" % (out, name), "wb") as f:
        f.write(data)

plain = (b"From: Alice Example <alice@example.com>\n"
         b"To: Bob <bob@example.net>\n"
         b"Subject: dns-lib selftest\n"
         b"Date: Mon, 23 Nov 2026 12:00:00 +0000\n"
         b"Message-ID: <selftest-1@example.com>\n"
         b"MIME-Version: 1.0\n"
         b"Content-Type: text/plain; charset=us-ascii\n"
         b"\n"
         b"Hello Bob,\n"
         b"this message carries an RSA and an Ed25519 signature.\n")

def signed(msg, specs, nl=b"\n"):
    # every signature is computed over the unsigned message; none signs
    # DKIM-Signature, so their order does not matter
    return b"".join(sig(msg, *s, nl) for s in specs) + msg

RSA = ("rsa", "rsa-sha256", "rsa.pem", "relaxed/simple")
ED = ("ed", "ed25519-sha256", "ed.seed", "relaxed/relaxed")

good = signed(plain, [RSA, ED])
write("good", good)
write("rsa-only", signed(plain, [RSA]))
write("body-changed", good.replace(b"Hello Bob,", b"Hello Eve,"))
write("subject-changed",
      good.replace(b"Subject: dns-lib selftest", b"Subject: dns-lib selftesT"))
write("key-unpublished", signed(plain, [
    ("nokey", "rsa-sha256", "rsa.pem", "relaxed/simple"),
    ("ednokey", "ed25519-sha256", "ed.seed", "relaxed/relaxed")]))
write("key-mismatch", signed(plain, [
    ("rsawrong", "rsa-sha256", "rsa.pem", "relaxed/simple"),
    ("edwrong", "ed25519-sha256", "ed.seed", "relaxed/relaxed")]))
# one bad (unpublished RSA key) and one good (Ed25519) signature
write("mixed", signed(plain, [
    ("nokey", "rsa-sha256", "rsa.pem", "relaxed/simple"), ED]))

# Long folded header (To with 24 addresses, Subject of ~300 characters over
# several lines, tabs and runs of spaces), 8-bit UTF-8 body, CRLF.
to = b",\r\n\t".join(b'"Recipient %02d" <r%02d@example.net>' % (i, i)
                     for i in range(1, 25))
words = [b"word%03d" % i for i in range(40)]
subject = (b" ".join(words[:13]) + b"\r\n " + b" ".join(words[13:26])
           + b"  \t  \r\n\t" + b" ".join(words[26:]) + b"   end")
body = ("Grüße aus Köln – ein Test mit 8-Bit-UTF-8.\r\n"
        "日本語のテキスト, emoji ✓ 🎉\r\n"
        "trailing spaces   \r\n"
        "\r\n\r\n").encode("utf-8")
long8 = (b"From: Alice Example <alice@example.com>\r\n"
         b"To: " + to + b"\r\n"
         b"Subject: " + subject + b"\r\n"
         b"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
         b"Message-ID: <selftest-2@example.com>\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\n"
         b"Content-Transfer-Encoding: 8bit\r\n"
         b"\r\n" + body)
write("long-8bit", signed(long8, [
    ("rsa", "rsa-sha256", "rsa.pem", "simple/simple"), ED], nl=b"\r\n"))
EOF

# ---------------------------------------------------------------------------
# The verifiers
# ---------------------------------------------------------------------------

# run_verifier NAME FILE: run one verifier, leaving its stdout+stderr in OUT
# and its exit status in RC.
run_verifier() {
    local v=$1 f=$msgs/$2.eml
    RC=0
    case $v in
        dkimpy) OUT=$("$HERE/dkim-verify.py" --dns "$DNS_ADDR:$DNS_PORT" "$f" 2>&1 </dev/null) || RC=$? ;;
        mail-dkim) OUT=$("$HERE/dkim-verify.pl" --allow-unsupported --dns "$DNS_ADDR:$DNS_PORT" "$f" 2>&1 </dev/null) || RC=$? ;;
        opendkim) OUT=$("$HERE/dkim-verify-opendkim.sh" --dns "$DNS_ADDR:$DNS_PORT" "$f" 2>&1 </dev/null) || RC=$? ;;
    esac
}

prefix() {
    case $1 in
        dkimpy) echo dkimpy ;;
        mail-dkim) echo mail-dkim ;;
        opendkim) echo opendkim-testmsg ;;
    esac
}

# expect_good VERIFIER MESSAGE: exit 0, a pass line for the RSA signature
# and either pass (or, for Mail::DKIM, skip) for the Ed25519 one.
expect_good() {
    local v=$1 m=$2 p ok=0 edre
    p=$(prefix "$v")
    run_verifier "$v" "$m"
    edre="^$p: pass d=example.com s=ed a=ed25519-sha256\$"
    [[ $v == mail-dkim ]] && edre="^$p: (pass d=example.com s=ed a=ed25519-sha256|skip d=example.com s=ed a=ed25519-sha256: unsupported algorithm ed25519-sha256)\$"
    (( RC == 0 )) || ok=1
    grep -qx "$p: pass d=example.com s=rsa a=rsa-sha256" <<<"$OUT" || ok=1
    if [[ $m != rsa-only ]]; then
        grep -qE "$edre" <<<"$OUT" || ok=1
        (( $(grep -c . <<<"$OUT") == 2 )) || ok=1
    fi
    ok_if "$v passes $m" "$ok" "exit $RC" "${OUT//$'\n'/ | }"
}

# expect_bad VERIFIER MESSAGE: non-zero exit, no signature passes.
expect_bad() {
    local v=$1 m=$2 p ok=0
    p=$(prefix "$v")
    run_verifier "$v" "$m"
    (( RC == 1 )) || ok=1
    grep -q "^$p: fail d=example.com " <<<"$OUT" || ok=1
    ! grep -q "^$p: pass" <<<"$OUT" || ok=1
    ok_if "$v fails $m" "$ok" "exit $RC" "${OUT//$'\n'/ | }"
}

# expect_mixed VERIFIER: the RSA signature fails, the Ed25519 one passes
# (skip for Mail::DKIM), and the exit status is 1.
expect_mixed() {
    local v=$1 p ok=0
    p=$(prefix "$v")
    run_verifier "$v" mixed
    (( RC == 1 )) || ok=1
    grep -q "^$p: fail d=example.com s=nokey a=rsa-sha256" <<<"$OUT" || ok=1
    grep -qE "^$p: (pass|skip) d=example.com s=ed a=ed25519-sha256" <<<"$OUT" || ok=1
    ok_if "$v fails a message with one bad and one good signature" "$ok" \
        "exit $RC" "${OUT//$'\n'/ | }"
}

for v in dkimpy mail-dkim opendkim; do
    for m in good long-8bit rsa-only; do
        expect_good "$v" "$m"
    done
    for m in body-changed subject-changed key-unpublished key-mismatch; do
        expect_bad "$v" "$m"
    done
    expect_mixed "$v"
done
for v in dkimpy mail-dkim opendkim; do
    run_verifier "$v" key-unpublished
    diag "$(prefix "$v") on key-unpublished: ${OUT//$'\n'/ | }"
done

# Mail::DKIM without --allow-unsupported: ed25519 must pass or be reported
# as unsupported, and an RSA-only message passes.
RC=0
OUT=$("$HERE/dkim-verify.pl" --dns "$DNS_ADDR:$DNS_PORT" "$msgs/good.eml" 2>&1 </dev/null) || RC=$?
if grep -q '^mail-dkim: pass d=example.com s=ed ' <<<"$OUT"; then
    ok_if "Mail::DKIM verifies ed25519-sha256" "$RC" "${OUT//$'\n'/ | }"
else
    grep -qx 'mail-dkim: fail d=example.com s=ed a=ed25519-sha256: invalid (unsupported algorithm ed25519-sha256)' <<<"$OUT" &&
        (( RC == 1 ))
    ok_if "Mail::DKIM (Debian 12) reports ed25519-sha256 as unsupported" $? \
        "exit $RC" "${OUT//$'\n'/ | }"
fi
RC=0
OUT=$("$HERE/dkim-verify.pl" --dns "$DNS_ADDR:$DNS_PORT" "$msgs/rsa-only.eml" 2>&1 </dev/null) || RC=$?
ok_if "Mail::DKIM passes rsa-only without --allow-unsupported" "$RC" "${OUT//$'\n'/ | }"

# Why the opendkim wrapper splits the message: opendkim-testmsg's own status
# is "pass" when any signature verifies.
RC=0
OUT=$("$HERE/dkim-verify-opendkim.sh" --whole --dns "$DNS_ADDR" "$msgs/mixed.eml" 2>&1 </dev/null) || RC=$?
diag "opendkim-testmsg on the whole mixed message (native behaviour): exit $RC: $OUT"

# A message without any signature fails everywhere.
printf 'From: a@example.com\nSubject: x\n\nunsigned\n' >"$msgs/unsigned.eml"
st=0
for v in dkimpy mail-dkim opendkim; do
    run_verifier "$v" unsigned
    (( RC == 1 )) && grep -q "^$(prefix "$v"): none" <<<"$OUT" || st=1
done
ok_if "all three report 'none' and exit 1 for an unsigned message" "$st"

# ---------------------------------------------------------------------------
# Stop and clean up
# ---------------------------------------------------------------------------

pid=$_DNS_PID
st=0
dns_stop || st=$?
ok_if "dns_stop" "$st"
[[ -z $(_dns_instance_pids) ]] && ! pid_alive "$pid" && ! _dns_port_taken
ok_if "no NSD process left and $DNS_ADDR:$DNS_PORT is free" $? \
    "left: $(_dns_instance_pids | tr '\n' ' ')"
[[ $(findmnt -n -o TARGET,SOURCE /etc/resolv.conf 2>/dev/null || true) == "$mounts_before" &&
   $(cksum </etc/resolv.conf) == "$resolv_before" ]]
ok_if "no mount left on /etc/resolv.conf" $? "findmnt: $(findmnt -n /etc/resolv.conf 2>&1)"

done_testing
