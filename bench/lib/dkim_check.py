#!/usr/bin/python3
"""dkim_check.py - count and verify the DKIM signatures of delivered messages.

Usage: dkim_check.py --txt SELECTOR=FILE [--txt ...] --domain DOMAIN FILE...

Each FILE is one message as the sink received it (headers, blank line, body;
LF or CRLF line ends).  Each --txt FILE is the output of "mailward keygen":
its "IN TXT ( "..." "..." )" line is the DNS record of SELECTOR._domainkey.
DOMAIN.  Signatures are verified with dkimpy (python3-dkim; Ed25519 needs
python3-nacl) against those records only: no DNS query is ever made.

Prints one line of key=value pairs:
    msgs sigs verified failed rsa ed25519 other min_sigs max_sigs
(rsa/ed25519/other count signatures by their a= tag) and, on stderr, one line
per signature that did not verify.  Exit status 0 if every signature found
verified (whether there were any is for the caller to judge).
"""
import re
import sys

import dkim


def txt_record(path):
    with open(path, encoding="ascii") as f:
        for line in f:
            if " IN TXT " in line:
                return "".join(re.findall(r'"([^"]*)"', line)).encode()
    sys.exit(f"dkim_check: no TXT record in {path}")


def main(argv):
    records, domain, files = {}, "example.com", []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--txt":
            sel, path = argv[i + 1].split("=", 1)
            records[sel] = txt_record(path)
            i += 2
        elif a == "--domain":
            domain = argv[i + 1]
            i += 2
        else:
            files.append(a)
            i += 1
    names = {f"{s}._domainkey.{domain}.".encode(): r for s, r in records.items()}

    def dnsfunc(name, timeout=5):
        if not name.endswith(b"."):
            name += b"."
        return names.get(name.lower())

    c = dict(msgs=0, sigs=0, verified=0, failed=0, rsa=0, ed25519=0, other=0)
    per_msg = []
    for path in files:
        with open(path, "rb") as f:
            raw = f.read()
        msg = re.sub(rb"\r?\n", b"\r\n", raw)
        c["msgs"] += 1
        d = dkim.DKIM(msg)
        nsig = 0
        for name, value in d.headers:
            if name.lower() != b"dkim-signature":
                continue
            nsig += 1
            m = re.search(rb"(?:^|;)\s*a\s*=\s*([a-z0-9-]+)", value)
            alg = m.group(1).decode() if m else "?"
            key = {"rsa-sha256": "rsa", "ed25519-sha256": "ed25519"}.get(alg, "other")
            c[key] += 1
        # dkim.verify(idx=N) counts only DKIM-Signature fields, top first.
        for n in range(nsig):
            ok = False
            try:
                ok = dkim.DKIM(msg).verify(idx=n, dnsfunc=dnsfunc)
            except Exception as e:  # noqa: BLE001 - report and go on
                print(f"dkim_check: {path}: signature {n}: {e}", file=sys.stderr)
            if ok:
                c["verified"] += 1
            else:
                c["failed"] += 1
                print(f"dkim_check: {path}: signature {n} does not verify", file=sys.stderr)
        c["sigs"] += nsig
        per_msg.append(nsig)
    c["min_sigs"] = min(per_msg) if per_msg else 0
    c["max_sigs"] = max(per_msg) if per_msg else 0
    print(" ".join(f"{k}={v}" for k, v in c.items()))
    return 0 if c["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
