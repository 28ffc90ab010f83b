#!/usr/bin/python3
"""secret-scan.py - find secret material in files, in any of its usual forms

    secret-scan.py --raw FILE --pem FILE ... -- PATH...

--raw FILE: the file's bytes are a secret (a VERP/unsubscribe secret).
--pem FILE: a PEM private key: its private numbers (RSA d, p, q, dP, dQ,
            qInv; the Ed25519 seed) are secrets.  Not the whole DER: it
            holds the public modulus, which may be shown anywhere; any copy
            of the key file holds the private numbers, so it is found.
Each secret is looked for in every file under the PATHs (directories
recursively, binary files too: an SQLite store, its WAL) as raw bytes,
hex (both cases), base64 and base64url at every byte alignment, whole and
as 16-byte slices from its start, middle and end, so a truncated or
embedded copy is found too.  Prints "LEAK file: secret (form)" for each
find and exits 1 if there was any, else prints "clean N files" and exits 0.
"""
import base64
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

SLICE = 16


def b64_forms(data):
    """Text that any base64 encoding of a blob containing data must contain."""
    forms = []
    for align in range(3):
        text = base64.b64encode(data[align:]).decode()
        core = text[: len(text) - 4]  # the last group may mix with what follows
        if len(core) >= 16:
            forms.append(core)
            forms.append(core.replace("+", "-").replace("/", "_"))
    return forms


def forms_of(data):
    """(form name, bytes) pairs for data and its 16-byte slices."""
    pieces = [data]
    if len(data) > SLICE:
        mid = len(data) // 2
        pieces += [data[:SLICE], data[mid : mid + SLICE], data[-SLICE:]]
    out = []
    for piece in pieces:
        out.append(("raw", piece))
        out.append(("hex", piece.hex().encode()))
        out.append(("HEX", piece.hex().upper().encode()))
        out.append(("hex:", piece.hex(":").encode()))
        out += [("base64", f.encode()) for f in b64_forms(piece)]
    return out


def int_bytes(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def pem_secrets(path):
    text = open(path, "rb").read()
    key = serialization.load_pem_private_key(text, password=None)
    secrets = []
    if isinstance(key, rsa.RSAPrivateKey):
        nums = key.private_numbers()
        for name in ("d", "p", "q", "dmp1", "dmq1", "iqmp"):
            secrets.append(("%s RSA %s" % (path, name), int_bytes(getattr(nums, name))))
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        secrets.append(("%s Ed25519 seed" % path, seed))
    return secrets


def files_under(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for n in names:
                    yield os.path.join(root, n)
        elif os.path.exists(p):
            yield p


def main():
    args = sys.argv[1:]
    cut = args.index("--")
    opts, paths = args[:cut], args[cut + 1 :]
    needles = []  # (secret name, form name, bytes)
    for flag, value in zip(opts[::2], opts[1::2]):
        if flag == "--raw":
            data = open(value, "rb").read()
            needles += [("%s bytes" % value, f, b) for f, b in forms_of(data)]
        elif flag == "--pem":
            for name, data in pem_secrets(value):
                needles += [(name, f, b) for f, b in forms_of(data)]
        else:
            raise SystemExit("secret-scan: unknown option " + flag)
    leaks = 0
    scanned = 0
    for path in files_under(paths):
        data = open(path, "rb").read()
        scanned += 1
        for name, form, needle in needles:
            if needle in data:
                print("LEAK %s: %s (%s)" % (path, name, form))
                leaks += 1
    if leaks:
        sys.exit(1)
    print("clean %d files" % scanned)


main()
