#!/usr/bin/python3
"""milter-client.py - speak the milter protocol (v6) to a filter, as an MTA would.

Usage: milter-client.py HOST:PORT STEP...

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


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    if not host.startswith("127."):
        raise SystemExit("milter-client: loopback only")
    sock = socket.create_connection((host, int(port)), timeout=10)
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
