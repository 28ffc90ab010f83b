#!/usr/bin/python3
"""dkim-verify.py - verify every DKIM-Signature of a message with dkimpy.

Usage: dkim-verify.py --dns ADDR[:PORT] [--timeout SECONDS]
                      [--allow-unsupported] FILE|-

Keys are fetched ONLY from the DNS server at ADDR:PORT (port 53 by
default; an IPv6 address is written [ADDR]:PORT), with a non-recursive
query over UDP and a TCP retry when the answer is truncated: the system
resolver and /etc/resolv.conf are never used.

For each DKIM-Signature header field, top to bottom, one line on stdout:

    dkimpy: pass d=DOMAIN s=SELECTOR a=ALGORITHM
    dkimpy: fail d=DOMAIN s=SELECTOR a=ALGORITHM: REASON

and "dkimpy: none: no DKIM-Signature" when there is none.  Exit status:
0 every signature verified and there is at least one; 1 otherwise; 2 usage
or I/O error.  --allow-unsupported is accepted for symmetry with the other
verifiers and changes nothing: dkimpy implements rsa-sha256, rsa-sha1 and
ed25519-sha256 (RFC 8463, via python3-nacl).

Runs with Debian's /usr/bin/python3 on purpose: the dkim module
(python3-dkim, i.e. dkimpy 1.1.x) lives in its dist-packages, which a
python3 earlier in PATH (pyenv, venv) may not see.
"""

import argparse
import logging
import sys

try:
    import dkim
    import dkim.util
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
except ImportError as e:  # pragma: no cover - depends on the host
    sys.stderr.write("dkim-verify.py: %s (apt-get install python3-dkim)\n" % e)
    sys.exit(2)


def parse_server(text):
    """'127.0.53.2:53', '127.0.53.2', '[::1]:5353' -> (addr, port)."""
    if text.startswith("["):
        addr, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else "53"
    elif text.count(":") == 1:
        addr, port = text.split(":")
    else:
        addr, port = text, "53"
    return addr, int(port)


def make_dnsfunc(addr, port):
    """A dnsfunc for dkimpy: name (bytes) -> TXT value (bytes) or None."""

    def get_txt(name, timeout=5):
        qname = name.decode("ascii") if isinstance(name, bytes) else name
        query = dns.message.make_query(qname, dns.rdatatype.TXT)
        query.flags &= ~dns.flags.RD
        try:
            resp = dns.query.udp(query, addr, port=port, timeout=timeout)
            if resp.flags & dns.flags.TC:
                resp = dns.query.tcp(query, addr, port=port, timeout=timeout)
        except dns.exception.Timeout as e:
            raise dkim.DnsTimeoutError("no answer from %s:%d: %s"
                                       % (addr, port, e))
        except OSError as e:
            raise dkim.DnsTimeoutError("cannot query %s:%d: %s"
                                       % (addr, port, e))
        rcode = resp.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return None
        if rcode != dns.rcode.NOERROR:
            raise dkim.DnsTimeoutError("%s TXT: %s"
                                       % (qname, dns.rcode.to_text(rcode)))
        for rrset in resp.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                # Like dkimpy's own lookup: the first TXT record, its
                # character-strings concatenated.
                return b"".join(list(rrset)[0].strings)
        return None

    return get_txt


class LastError(logging.Handler):
    """Keep the last message dkimpy logged (it logs why a key failed)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.last = None

    def emit(self, record):
        self.last = record.getMessage()


def sig_tags(value):
    try:
        tags = dkim.util.parse_tag_value(value)
    except Exception:  # malformed signature: show what we can
        tags = {}

    def get(t):
        v = tags.get(t)
        return v.decode("ascii", "replace") if v is not None else "?"

    return "d=%s s=%s a=%s" % (get(b"d"), get(b"s"), get(b"a"))


def main():
    ap = argparse.ArgumentParser(
        prog="dkim-verify.py",
        description="Verify every DKIM-Signature of FILE with dkimpy.")
    ap.add_argument("--dns", required=True, metavar="ADDR[:PORT]")
    ap.add_argument("--timeout", type=int, default=5)
    ap.add_argument("--allow-unsupported", action="store_true")
    ap.add_argument("file", metavar="FILE")
    args = ap.parse_args()

    try:
        addr, port = parse_server(args.dns)
    except ValueError:
        ap.error("bad --dns value: %s" % args.dns)
    try:
        if args.file == "-":
            msg = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as f:
                msg = f.read()
    except OSError as e:
        sys.stderr.write("dkim-verify.py: %s\n" % e)
        return 2

    dnsfunc = make_dnsfunc(addr, port)
    logger = logging.getLogger("dkim-verify")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    catcher = LastError()
    logger.addHandler(catcher)

    try:
        probe = dkim.DKIM(msg, logger=logger)
    except dkim.DKIMException as e:
        print("dkimpy: fail: cannot parse message: %s" % e)
        return 1
    sigs = [v for k, v in probe.headers if k.lower() == b"dkim-signature"]
    if not sigs:
        print("dkimpy: none: no DKIM-Signature")
        return 1

    failed = 0
    for idx, value in enumerate(sigs):
        tags = sig_tags(value)
        catcher.last = None
        d = dkim.DKIM(msg, logger=logger, timeout=args.timeout)
        try:
            ok = d.verify(idx=idx, dnsfunc=dnsfunc)
            reason = catcher.last or "signature did not verify"
        except dkim.DKIMException as e:
            ok = False
            reason = "%s: %s" % (type(e).__name__, e)
        if ok:
            print("dkimpy: pass %s" % tags)
        else:
            failed += 1
            print("dkimpy: fail %s: %s" % (tags, reason))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
