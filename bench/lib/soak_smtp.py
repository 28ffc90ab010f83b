#!/usr/bin/python3
"""soak_smtp.py - paced SMTP traffic from chosen loopback addresses, for bench/soak.sh.

smtp-source cannot bind a source address, and mailward tells inbound from
outbound mail by the client address, so the inbound and feedback parts of
the soak come from here.  Every message is one SMTP session:

  connect from SRC, EHLO, MAIL FROM, RCPT TO, DATA FILE (sent as it is,
  LF turned into CRLF, dots stuffed), QUIT

timed from connect to the reply to the final ".".  Jobs are taken in turn
(round robin) by THREADS threads, each sending at most RATE messages a
second, for DURATION seconds.  At the end one JSON object goes to --out:

  {"jobs": {LABEL: {"sent": N, "2xx": N, "4xx": N, "5xx": N, "error": N}},
   "classes": {CLASS: {"count": N, "p50_ms": X, "p99_ms": X, "max_ms": X}}}

where CLASS is the LABEL up to its first "/".  "error" counts sessions that
broke before a reply to DATA (connection refused, timeout, a 4xx/5xx before
DATA is counted as its class), so the caller can tell "refused on purpose"
from "lost".
"""
import argparse
import json
import smtplib
import threading
import time


def parse_job(text):
    # LABEL=SRC,MAILFROM,RCPT,FILE ("<>" for the null sender)
    label, rest = text.split("=", 1)
    src, sender, rcpt, path = rest.split(",", 3)
    with open(path, "rb") as f:
        data = f.read()
    return {"label": label, "src": src, "from": "" if sender == "<>" else sender,
            "rcpt": rcpt, "data": data}


def send_one(args, job):
    """Return (outcome, milliseconds): outcome is "2xx", "4xx", "5xx" or "error"."""
    t0 = time.monotonic()
    try:
        s = smtplib.SMTP(args.server, args.port, local_hostname="client.soak.test",
                         timeout=args.timeout, source_address=(job["src"], 0))
    except OSError:
        return "error", 0.0
    try:
        s.ehlo()
        code, _ = s.mail(job["from"])
        if code < 300:
            code, _ = s.rcpt(job["rcpt"])
        if code < 300:
            try:
                code, _ = s.data(job["data"])
            except smtplib.SMTPDataError as e:
                code = e.smtp_code
        ms = (time.monotonic() - t0) * 1000.0
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            s.close()
    except (OSError, smtplib.SMTPException):
        s.close()
        return "error", 0.0
    return "%dxx" % (code // 100) if code // 100 in (2, 4, 5) else "error", ms


def worker(args, jobs, state, lock, deadline):
    period = 1.0 / args.rate if args.rate > 0 else 0.0
    while time.monotonic() < deadline:
        with lock:
            job = jobs[state["next"] % len(jobs)]
            state["next"] += 1
        start = time.monotonic()
        outcome, ms = send_one(args, job)
        with lock:
            state["jobs"][job["label"]]["sent"] += 1
            state["jobs"][job["label"]][outcome] += 1
            if outcome != "error":
                state["ms"].setdefault(job["label"].split("/", 1)[0], []).append(ms)
        rest = period - (time.monotonic() - start)
        if rest > 0:
            time.sleep(min(rest, max(0.0, deadline - time.monotonic())))


def pct(sorted_ms, p):
    if not sorted_ms:
        return None
    i = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return round(sorted_ms[i], 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rate", type=float, default=2.0, help="messages/s per thread")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--job", action="append", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    jobs = [parse_job(j) for j in args.job]
    state = {"next": 0, "ms": {},
             "jobs": {j["label"]: {"sent": 0, "2xx": 0, "4xx": 0, "5xx": 0, "error": 0}
                      for j in jobs}}
    lock = threading.Lock()
    deadline = time.monotonic() + args.duration
    threads = [threading.Thread(target=worker, args=(args, jobs, state, lock, deadline))
               for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    classes = {}
    for cls, ms in state["ms"].items():
        ms.sort()
        classes[cls] = {"count": len(ms), "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99),
                        "max_ms": round(ms[-1], 1)}
    with open(args.out, "w") as f:
        json.dump({"jobs": state["jobs"], "classes": classes}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
