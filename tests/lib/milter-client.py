#!/usr/bin/python3
"""milter-client.py - speak the milter protocol (v6) to a filter, as an MTA would.

Usage: milter-client.py HOST:PORT STEP...
       milter-client.py HOST:PORT --message FILE [--client IP] [--helo NAME]
                        [--from ADDR] [--rcpt ADDR] [--qid ID] [--auth USER]
                        [--refused-rcpt stop|continue]

The second form sends a whole message (its header fields one by one, its
body in chunks) and prints what the filter did at end of message, one line
each: "insheader NAME: VALUE", "addheader ...", "delheader NAME INDEX",
"delrcpt ADDR", "rcpt REPLY" or "eoh REPLY" (refused: the message goes
no further), --rcpt taking a comma-separated list,
"chgfrom ADDR", "quarantine REASON", "reply CODE TEXT", then "verdict X"
(--refused-rcpt continue: a refused recipient prints its "rcpt REPLY" line
and the message goes on with the others; --auth sends {auth_authen} with
MAIL, as after SMTP AUTH)
(accept, continue, reject, tempfail, discard, reply).  Folded values are
printed unfolded.

Sends OPTNEG, CONNECT (client 127.0.0.1), HELO, MAIL, RCPT and the header
of a small message from alice@example.com, then the steps given:

    eoh        end of header
    body       one body chunk
    eom        end of message (prints the filter's replies, one per line)
    abort      abort the transaction (no reply expected)
    close      drop the connection at once
    quit       say goodbye and close

Prints the reply letter of every step that has one.  Test use only: it
speaks to loopback and exits non-zero on anything unexpected.
"""
import socket
import struct
import sys


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def read_packet(sock):
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            raise SystemExit("milter-client: connection closed by the filter")
        head += chunk
    (length,) = struct.unpack("!I", head)
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            raise SystemExit("milter-client: short packet")
        body += chunk
    return body[:1], body[1:]


def ask(sock, cmd, data=b""):
    sock.sendall(packet(cmd, data))
    return read_packet(sock)


def unfold(value):
    lines = value.replace("\r", "").split("\n")
    return (lines[0] + "".join(" " + line.lstrip(" \t") for line in lines[1:])).strip()


def parse_message(path):
    data = open(path, "rb").read().replace(b"\r\n", b"\n")
    head, _, body = data.partition(b"\n\n")
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b"\r\n" + line
        elif b":" in line:
            name, _, value = line.partition(b":")
            fields.append([name, value])
    return fields, body.replace(b"\n", b"\r\n")


def send_message(sock, args):
    opt = {"--client": "127.0.0.5", "--helo": "client.test.example", "--from": "sender@example.com",
           "--rcpt": "bob@rcpt.test", "--qid": "MILTERCLIENT1", "--message": None,
           "--auth": None, "--refused-rcpt": "stop"}
    i = 0
    while i < len(args):
        opt[args[i]] = args[i + 1]
        i += 2
    fields, body = parse_message(opt["--message"])
    ask(sock, b"O", struct.pack("!III", 6, 0x1FF, 0))
    sock.sendall(packet(b"D", b"Ci\x00" + opt["--qid"].encode() + b"\x00"))
    ask(sock, b"C", b"client.test\x00" + b"4" + struct.pack("!H", 40000) +
        opt["--client"].encode() + b"\x00")
    ask(sock, b"H", opt["--helo"].encode() + b"\x00")
    sender = opt["--from"]
    sender = sender if sender.startswith("<") else "<" + sender + ">"
    if opt["--auth"] is not None:
        sock.sendall(packet(b"D", b"M{auth_authen}\x00" + opt["--auth"].encode() + b"\x00"))
    ask(sock, b"M", sender.encode() + b"\x00")
    accepted = 0
    for rcpt in opt["--rcpt"].split(","):
        cmd, data = ask(sock, b"R", b"<" + rcpt.encode() + b">\x00")
        if cmd != b"c":
            print("rcpt " + (data.split(b"\x00")[0].decode() if cmd == b"y" else cmd.decode()))
            if opt["--refused-rcpt"] == "continue":
                continue
            sock.sendall(packet(b"Q"))
            return
        accepted += 1
    if accepted == 0:
        sock.sendall(packet(b"Q"))
        return
    ask(sock, b"T")
    for name, value in fields:
        cmd, _ = ask(sock, b"L", name + b"\x00" + value + b"\x00")
        if cmd not in (b"c",):
            print("verdict early-" + cmd.decode())
            return
    cmd, data = ask(sock, b"N")
    if cmd != b"c":
        print("eoh " + (data.split(b"\x00")[0].decode() if cmd == b"y" else cmd.decode()))
        sock.sendall(packet(b"Q"))
        return
    for off in range(0, len(body), 65535):
        cmd, _ = ask(sock, b"B", body[off:off + 65535])
        if cmd == b"s":  # skip: the filter does not want the rest
            break
    sock.sendall(packet(b"E"))
    names = {b"a": "accept", b"c": "continue", b"r": "reject", b"t": "tempfail", b"d": "discard"}
    while True:
        cmd, data = read_packet(sock)
        parts = data.split(b"\x00")
        if cmd == b"i":
            (index,) = struct.unpack("!I", data[:4])
            name, value = data[4:].split(b"\x00")[:2]
            print("insheader %s: %s" % (name.decode(), unfold(value.decode("utf-8", "replace"))))
        elif cmd == b"h":
            print("addheader %s: %s" % (parts[0].decode(), unfold(parts[1].decode("utf-8", "replace"))))
        elif cmd == b"m":
            (index,) = struct.unpack("!I", data[:4])
            print("delheader %s %d" % (data[4:].split(b"\x00")[0].decode(), index))
        elif cmd == b"e":
            print("chgfrom " + parts[0].decode())
        elif cmd == b"-":
            print("delrcpt " + parts[0].decode())
        elif cmd == b"q":
            print("quarantine " + parts[0].decode())
        elif cmd == b"y":
            print("reply " + parts[0].decode())
            print("verdict reply")
            break
        elif cmd in names:
            print("verdict " + names[cmd])
            break
    sock.sendall(packet(b"Q"))


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    if not host.startswith("127."):
        raise SystemExit("milter-client: loopback only")
    sock = socket.create_connection((host, int(port)), timeout=30)
    if len(sys.argv) > 2 and sys.argv[2].startswith("--"):
        send_message(sock, sys.argv[2:])
        sock.close()
        return
    # Version 6, every action, no protocol steps skipped.
    ask(sock, b"O", struct.pack("!III", 6, 0x1FF, 0))
    sock.sendall(packet(b"D", b"Ci\x00ABORTTEST1\x00"))
    ask(sock, b"C", b"client.test\x00" + b"4" + struct.pack("!H", 40000) + b"127.0.0.1\x00")
    ask(sock, b"H", b"client.test\x00")
    ask(sock, b"M", b"<alice@example.com>\x00")
    ask(sock, b"R", b"<bob@example.net>\x00")
    ask(sock, b"T")
    for name, value in ((b"From", b" alice@example.com"), (b"To", b" bob@example.net"),
                        (b"Subject", b" aborted"), (b"Date", b" Mon, 23 Nov 2026 22:00:00 +0000")):
        ask(sock, b"L", name + b"\x00" + value + b"\x00")
    for step in sys.argv[2:]:
        if step == "eoh":
            print(ask(sock, b"N")[0].decode())
        elif step == "body":
            print(ask(sock, b"B", b"half a body\r\n")[0].decode())
        elif step == "eom":
            sock.sendall(packet(b"E"))
            while True:
                cmd, _ = read_packet(sock)
                print(cmd.decode())
                if cmd in (b"a", b"c", b"r", b"t", b"d", b"y"):
                    break
        elif step == "abort":
            sock.sendall(packet(b"A"))
        elif step == "close":
            sock.close()
            return
        elif step == "quit":
            sock.sendall(packet(b"Q"))
            sock.close()
            return
        else:
            raise SystemExit("milter-client: unknown step " + step)
    sock.sendall(packet(b"Q"))
    sock.close()


if __name__ == "__main__":
    main()
