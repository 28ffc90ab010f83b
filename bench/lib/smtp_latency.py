#!/usr/bin/python3
"""smtp_latency.py - per-message SMTP latency, one message per session.

Usage: smtp_latency.py HOST PORT COUNT SIZE_KB FROM TO [TIMEOUT]

Sends COUNT messages one after the other (never in parallel), each in its
own session like smtp-source does, and times every one from the TCP
connect to the server's reply to the final "." (which Postfix sends only
after its cleanup daemon, and so every milter, has finished with the
message).  QUIT is not timed.  The message looks like smtp-source's: From,
To, Date, Message-Id, Subject, then SIZE_KB KiB of 80-column lines.

HOST must be a loopback address.  Prints one line:
    ok=N failed=N p50_ms=X p90_ms=X p99_ms=X mean_ms=X max_ms=X
Exit status 0 if every message was accepted.
"""
import email.utils
import ipaddress
import smtplib
import sys
import time


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def body(size_kb):
    want = size_kb * 1024
    lines, n, i = [], 0, 0
    while n < want:
        i += 1
        line = (f"{i}" + "X" * 79)[:79]
        lines.append(line)
        n += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


def main(argv):
    if len(argv) not in (6, 7):
        sys.exit(__doc__)
    host, port, count, size_kb, mfrom, rcpt = argv[:6]
    timeout = float(argv[6]) if len(argv) == 7 else 60.0
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("smtp_latency: HOST must be a loopback address")
    port, count, size_kb = int(port), int(count), int(size_kb)
    text = body(size_kb)
    times, failed = [], 0
    for i in range(count):
        msg = (
            f"From: <{mfrom}>\r\nTo: <{rcpt}>\r\n"
            f"Date: {email.utils.formatdate()}\r\n"
            f"Message-Id: <latency.{time.time_ns()}.{i}@client.test.example>\r\n"
            f"Subject: postfix-sign latency probe {i}\r\n\r\n" + text
        )
        t0 = time.perf_counter()
        s = None
        try:
            s = smtplib.SMTP(host, port, local_hostname="client.test.example", timeout=timeout)
            s.sendmail(mfrom, [rcpt], msg.encode("ascii"))
            times.append((time.perf_counter() - t0) * 1000.0)
        except (smtplib.SMTPException, OSError) as e:
            failed += 1
            print(f"smtp_latency: message {i}: {e}", file=sys.stderr)
        finally:
            if s is not None:
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    s.close()
    times.sort()
    mean = sum(times) / len(times) if times else float("nan")
    print(
        f"ok={len(times)} failed={failed} p50_ms={percentile(times, 50):.2f} "
        f"p90_ms={percentile(times, 90):.2f} p99_ms={percentile(times, 99):.2f} "
        f"mean_ms={mean:.2f} max_ms={(times[-1] if times else float('nan')):.2f}"
    )
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
