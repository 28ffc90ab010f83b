#!/usr/bin/python3
"""http-probe.py - hostile HTTP clients for tests/e2e/http-limits.sh

    http-probe.py big-body HOST PORT        Content-Length far over the limit
    http-probe.py big-chunked HOST PORT     a chunked body that grows past it
                                            (3 KB, then it waits for the answer)
    http-probe.py endless-chunked HOST PORT a chunked body sent without end
    http-probe.py big-header HOST PORT      100 KB of header lines
    http-probe.py slowloris HOST PORT       a header byte every second
    http-probe.py idle HOST PORT            connect and send nothing
    http-probe.py limits HOST PORT SRC1 SRC2 SRC3
                                            2, 3 and 1 connections from three
                                            addresses: "kept=A,B,C"

The others print one line: "status=NNN closed=yes|no seconds=S" (status
0: no answer), for the shell test to match.  Nothing here waits more than
15 seconds.
"""
import socket
import sys
import time

LIMIT = 15.0


def connect(host, port, src=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(LIMIT)
    s.connect((host, port))
    return s


def read_answer(s, start):
    """Read until the server closes (or LIMIT); the status and whether it closed."""
    data = b""
    closed = False
    while time.monotonic() - start < LIMIT:
        try:
            s.settimeout(max(0.1, LIMIT - (time.monotonic() - start)))
            chunk = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
        except socket.timeout:
            break
        if not chunk:
            closed = True
            break
        data += chunk
    status = 0
    if data.startswith(b"HTTP/1."):
        try:
            status = int(data.split(b" ", 2)[1])
        except ValueError:
            status = 0
    return status, closed


def send_quietly(s, data):
    try:
        s.sendall(data)
        return True
    except (ConnectionResetError, BrokenPipeError):
        return False


def report(status, closed, start):
    print("status=%d closed=%s seconds=%.1f"
          % (status, "yes" if closed else "no", time.monotonic() - start))


def big_body(host, port):
    s, start = connect(host, port), time.monotonic()
    send_quietly(s, b"POST /u/abc HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: 10000000\r\n\r\n" + b"A" * 4096)
    report(*read_answer(s, start), start)


def big_chunked(host, port):
    s, start = connect(host, port), time.monotonic()
    send_quietly(s, b"POST /u/abc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(3):  # 3 KB in 1 KB chunks
        send_quietly(s, b"400\r\n" + b"B" * 1024 + b"\r\n")
    send_quietly(s, b"0\r\n\r\n")
    report(*read_answer(s, start), start)


def endless_chunked(host, port):
    """A chunked body that never ends, as fast as the server takes it."""
    s, start = connect(host, port), time.monotonic()
    send_quietly(s, b"POST /u/abc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    closed = False
    while time.monotonic() - start < LIMIT:
        if not send_quietly(s, b"4000\r\n" + b"E" * 16384 + b"\r\n"):
            closed = True
            break
    report(0, closed, start)


def big_header(host, port):
    s, start = connect(host, port), time.monotonic()
    send_quietly(s, b"GET /u/abc HTTP/1.1\r\nHost: x\r\n")
    for i in range(1000):
        if not send_quietly(s, b"X-Filler-%d: %s\r\n" % (i, b"C" * 100)):
            break
    send_quietly(s, b"\r\n")
    report(*read_answer(s, start), start)


def slowloris(host, port):
    s, start = connect(host, port), time.monotonic()
    request = b"GET /u/abc HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 64
    s.setblocking(False)
    for byte in request:
        if time.monotonic() - start > LIMIT:
            break
        if not send_quietly(s, bytes([byte])):
            report(0, True, start)
            return
        time.sleep(1.0)
        try:
            if s.recv(1) == b"":  # the server closed
                report(0, True, start)
                return
        except BlockingIOError:
            pass
        except (ConnectionResetError, BrokenPipeError):
            report(0, True, start)
            return
    report(0, False, start)


def idle(host, port):
    s, start = connect(host, port), time.monotonic()
    report(*read_answer(s, start), start)


def still_open(socks):
    kept = 0
    for s in socks:
        s.setblocking(False)
        try:
            kept += s.recv(1) != b""
        except BlockingIOError:
            kept += 1
        except (ConnectionResetError, BrokenPipeError):
            pass
    return kept


def limits(host, port, sources):
    """2 connections from the first source, 3 from the second, 1 from the
    third, each batch counted after a moment: "kept=A,B,C"."""
    held, kept = [], []
    for src, n in zip(sources, (2, 3, 1)):
        batch = [connect(host, port, src) for _ in range(n)]
        time.sleep(0.3)
        kept.append(still_open(batch))
        held += batch
    print("kept=%s" % ",".join(str(k) for k in kept))


def main():
    what, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if what == "limits":
        limits(host, port, sys.argv[4:7])
    else:
        {"big-body": big_body, "big-chunked": big_chunked,
         "endless-chunked": endless_chunked, "big-header": big_header,
         "slowloris": slowloris, "idle": idle}[what](host, port)


main()
