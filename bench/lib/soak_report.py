#!/usr/bin/python3
"""soak_report.py - the invariants and the Markdown report of bench/soak.sh.

Reads what soak.sh left in its gen/ directory (generator results, sink
classification, Postfix log counts, event counts, samples, the valgrind
log), checks every invariant, writes the report and exits 1 if one fails.

The accounting, precisely:
  in         every message an SMTP generator started (smtp-source batches,
             soak_smtp.py sessions)
  out        messages in the smtp-sink
  refused    5xx replies the generators got (DMARC rejects on purpose);
             Postfix's log must show as many milter-reject lines
  discarded  feedback mailward consumed (milter-discard in Postfix's log);
             must equal the bounces and delays accepted (bounce_action
             discard), complaints are delivered (complaint_action header)
  in = out + refused + discarded, with no 4xx, no broken session, nothing
  left in Postfix's queue; and per class: every outbound and bulk message
  is in the sink with a DKIM-Signature, every inbound pass message in the
  sink with our Authentication-Results.
Events expected (spool, by eventType):
  Send       one per outbound message accepted: smtp-source outbound and
             bulk, and milterload outbound messages answered "accept"
  Bounce, DeliveryDelay, Complaint
             for each feedback message accepted, the events of its
             .expect.json (a two-recipient DSN gives two Bounce events)
  anything else: none (inbound mail, even refused, writes no event)
"""
import argparse
import json
import os
import re
import statistics
import sys


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def read_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
    return out


class Checks:
    def __init__(self):
        self.items = []

    def add(self, ok, what):
        self.items.append((bool(ok), what))

    def failed(self):
        return [w for ok, w in self.items if not ok]


def smtp_source(gen, label):
    rows = read_tsv(os.path.join(gen, "smtp-source-%s.tsv" % label))
    sent = sum(int(r[0]) for r in rows)
    failed_batches = sum(1 for r in rows if r[3] != "0")
    # mean time per message: wall * sessions / messages, less the 1 s pause
    per_msg = [int(r[2]) / 1e6 * int(r[1]) / int(r[0]) - 1000.0 for r in rows if r[3] == "0"]
    return {"batches": len(rows), "sent": sent, "failed_batches": failed_batches,
            "mean_ms": round(statistics.mean(per_msg), 1) if per_msg else None,
            "max_batch_mean_ms": round(max(per_msg), 1) if per_msg else None}


def milterload(gen, label):
    runs = read_jsonl(os.path.join(gen, "milterload-%s.jsonl" % label))
    disp = {}
    for r in runs:
        for k, v in r.get("dispositions", {}).items():
            disp[k] = disp.get(k, 0) + v
    msgs = sum(r.get("messages", 0) for r in runs)
    p50s = [r["latency_ms"]["p50"] for r in runs if r.get("messages")]
    p99s = [r["latency_ms"]["p99"] for r in runs if r.get("messages")]
    return {"runs": len(runs), "messages": msgs, "dispositions": disp,
            "connections": sum(r.get("connections_opened", 0) for r in runs),
            "connect_errors": sum(r.get("connect_errors", 0) for r in runs),
            "p50_ms": round(statistics.median(p50s), 2) if p50s else None,
            "p99_ms": round(max(p99s), 2) if p99s else None}


def smtp_py(gen, name):
    """soak_smtp.py's counts of both phases; latency of the main phase only."""
    main = read_json(os.path.join(gen, name + "-main.json"), {"jobs": {}, "classes": {}})
    warm = read_json(os.path.join(gen, name + "-warmup.json"), {"jobs": {}, "classes": {}})
    for label, counts in warm["jobs"].items():
        acc = main["jobs"].setdefault(label, {k: 0 for k in counts})
        for k, v in counts.items():
            acc[k] = acc.get(k, 0) + v
    return main


def valgrind_summary(path):
    text = open(path, errors="replace").read() if os.path.exists(path) else ""
    def num(pattern):
        m = re.findall(pattern, text)
        return int(m[-1].replace(",", "")) if m else None
    return {"present": bool(text),
            "errors": num(r"ERROR SUMMARY: ([\d,]+) errors"),
            "definite": num(r"definitely lost: ([\d,]+) bytes"),
            "indirect": num(r"indirectly lost: ([\d,]+) bytes"),
            "possible": num(r"possibly lost: ([\d,]+) bytes"),
            "reachable": num(r"still reachable: ([\d,]+) bytes"),
            "no_leaks": "All heap blocks were freed" in text or "no leaks are possible" in text,
            "blocks": report_blocks(text)}


def report_blocks(text):
    """Each error and each definite/indirect leak record, with its stack (12 lines at most)."""
    blocks = []
    for block in re.split(r"\n==\d+== ?\n", text):
        lines = [re.sub(r"^==\d+== ?", "", ln) for ln in block.splitlines()]
        lines = [ln for ln in lines if ln.strip()]
        if not lines:
            continue
        head = lines[0]
        if re.search(r"(definitely|indirectly) lost in loss record", head) or re.match(
                r"(Invalid|Conditional|Use of uninitialised|Syscall param|Mismatched|Source and destination|"
                r"Argument)", head):
            blocks.append(lines[:12])
    return blocks


def main():
    ap = argparse.ArgumentParser()
    for a in ("gen", "valgrind-log", "mw-rc", "stamp", "mailward", "report"):
        ap.add_argument("--" + a, required=True)
    for a in ("duration", "valgrind", "milterload", "tap"):
        ap.add_argument("--" + a, type=int, required=True)
    args = ap.parse_args()
    gen = args.gen
    c = Checks()

    # ---------------------------------------------------------- messages
    out_cls = {"outbound": 0, "bulk": 0, "inbound": 0, "other": 0}
    unsigned = {"outbound": 0, "bulk": 0}
    no_ar = 0
    sink = read_tsv(os.path.join(gen, "sink.tsv"))
    for row in sink:
        frm, signed, ours = row[0].lower(), int(row[1]), int(row[2])
        if "alice@example.com" in frm:
            cls = "outbound"
        elif "news@promo.example.com" in frm:
            cls = "bulk"
        elif "@pass.example.org" in frm:
            cls = "inbound"
            no_ar += ours == 0
        else:
            cls = "other"
        out_cls[cls] += 1
        if cls in unsigned and signed < 1:
            unsigned[cls] += 1
    out = len(sink)

    ss = {lab: smtp_source(gen, lab) for lab in ("outbound", "bulk")}
    inb = smtp_py(gen, "inbound")
    fb = smtp_py(gen, "feedback")
    pf = {r[0]: int(r[1]) for r in read_tsv(os.path.join(gen, "postfix.tsv"))}
    fb_expect = {r[0]: (r[1], int(r[2]), [] if r[3] == "-" else r[3].split(","))
                 for r in read_tsv(os.path.join(gen, "feedback-expect.tsv"))}

    def tot(jobs, key, prefix=""):
        return sum(v[key] for k, v in jobs.items() if k.startswith(prefix))

    py_jobs = dict(inb["jobs"])
    py_jobs.update(fb["jobs"])
    msg_in = ss["outbound"]["sent"] + ss["bulk"]["sent"] + tot(py_jobs, "sent")
    refused = tot(py_jobs, "5xx")
    tempfailed = tot(py_jobs, "4xx")
    broken = tot(py_jobs, "error")
    discarded = pf.get("discard", 0)
    fb_discard_expect = sum(v["2xx"] for k, v in fb["jobs"].items()
                            if fb_expect.get(k, ("",))[0] in ("bounce", "delay"))
    fb_deliver_expect = sum(v["2xx"] for k, v in fb["jobs"].items()
                            if fb_expect.get(k, ("",))[0] == "complaint")
    inbound_pass = tot(inb["jobs"], "2xx", "inbound/dkim") + tot(inb["jobs"], "2xx", "inbound/spf")
    dmarc_fail = inb["jobs"].get("inbound/dmarc-fail", {"sent": 0, "2xx": 0, "5xx": 0})

    c.add(msg_in > 0, "traffic was generated (%d messages in)" % msg_in)
    c.add(msg_in == out + refused + discarded,
          "messages in (%d) = out (%d) + refused (%d) + discarded (%d)" % (msg_in, out, refused, discarded))
    c.add(tempfailed == 0 and broken == 0,
          "no 4xx (%d) and no broken SMTP session (%d)" % (tempfailed, broken))
    c.add(all(s["failed_batches"] == 0 for s in ss.values()),
          "every smtp-source batch succeeded (failed: %s)" %
          ", ".join("%s %d" % (k, v["failed_batches"]) for k, v in ss.items()))
    c.add(pf.get("queue_left", 0) == 0, "Postfix's queue is empty at the end (%d left)" % pf.get("queue_left", 0))
    c.add(pf.get("reject", 0) == refused and pf.get("reject_other", 0) == 0,
          "Postfix logged as many milter rejects (%d) as the generators got 5xx (%d)" % (pf.get("reject", 0), refused))
    c.add(pf.get("tempfail", 0) == 0, "Postfix logged no milter tempfail (%d)" % pf.get("tempfail", 0))
    c.add(pf.get("milter_errors", 0) == 0, "Postfix logged no milter error (%d)" % pf.get("milter_errors", 0))
    c.add(out_cls["outbound"] == ss["outbound"]["sent"] and unsigned["outbound"] == 0,
          "outbound: %d sent, %d in the sink, %d unsigned" %
          (ss["outbound"]["sent"], out_cls["outbound"], unsigned["outbound"]))
    c.add(out_cls["bulk"] == ss["bulk"]["sent"] and unsigned["bulk"] == 0,
          "bulk stream: %d sent, %d in the sink, %d unsigned" %
          (ss["bulk"]["sent"], out_cls["bulk"], unsigned["bulk"]))
    c.add(out_cls["inbound"] == inbound_pass and no_ar == 0,
          "inbound pass: %d accepted, %d in the sink, %d without our Authentication-Results" %
          (inbound_pass, out_cls["inbound"], no_ar))
    c.add(dmarc_fail["5xx"] == dmarc_fail["sent"] and dmarc_fail["sent"] > 0,
          "inbound DMARC fail: %d sent, %d refused (5xx)" % (dmarc_fail["sent"], dmarc_fail["5xx"]))
    c.add(discarded == fb_discard_expect and out_cls["other"] == fb_deliver_expect,
          "feedback: %d bounces/delays discarded (expected %d), %d complaints delivered (expected %d)" %
          (discarded, fb_discard_expect, out_cls["other"], fb_deliver_expect))

    # ---------------------------------------------------------- milterload
    ml = {}
    if args.milterload:
        ml = {lab: milterload(gen, lab) for lab in ("outbound", "inbound")}
        for lab, r in ml.items():
            other = {k: v for k, v in r["dispositions"].items() if k != "accept" and v}
            c.add(r["messages"] > 0 and r["dispositions"].get("accept", 0) == r["messages"] and not other
                  and r["connect_errors"] == 0,
                  "milterload %s: %d messages, all accepted (others: %s, connect errors %d)" %
                  (lab, r["messages"], other or "none", r["connect_errors"]))

    # ---------------------------------------------------------- events
    expected = {}
    def expect(kind, n):
        if n:
            expected[kind] = expected.get(kind, 0) + n
    expect("Send", ss["outbound"]["sent"] + ss["bulk"]["sent"])
    if ml:
        expect("Send", ml["outbound"]["dispositions"].get("accept", 0))
    for label, v in fb["jobs"].items():
        for t in fb_expect.get(label, ("", 0, []))[2]:
            expect(t, v["2xx"])
    actual = {}
    if os.path.exists(os.path.join(gen, "events.txt")):
        for line in open(os.path.join(gen, "events.txt")):
            parts = line.split()
            if len(parts) == 2:
                actual[parts[1]] = int(parts[0])
    for kind in sorted(set(expected) | set(actual)):
        c.add(expected.get(kind, 0) == actual.get(kind, 0),
              "events %s: %d in the spool, %d expected" % (kind, actual.get(kind, 0), expected.get(kind, 0)))

    # ---------------------------------------------------------- resources
    samples = read_tsv(os.path.join(gen, "samples.tsv"))
    idle_before = next((s for s in samples if s[0] == "idle-before"), None)
    idle_after = next((s for s in samples if s[0] == "idle-after"), None)
    load = [s for s in samples if s[0] == "load"]
    warmup = max(10, min(120, args.duration // 5))
    after_warm = [s for s in load if int(s[1]) >= warmup] or load
    rss_first = int(after_warm[0][2]) if after_warm else 0
    rss_last = int(idle_after[2]) if idle_after else 0
    rss_max = max([int(s[2]) for s in samples] or [0])
    growth = (rss_last - rss_first) * 100.0 / rss_first if rss_first else 0.0
    # Under valgrind RSS is memcheck's own bookkeeping: reported, not checked
    # (the leak check is the stronger test there).
    c.add(rss_first > 0 and (growth < 10.0 or args.valgrind),
          "RSS flat: %d KiB after the warm-up (%d s), %d KiB at the end (%+.1f %%, limit 10 %%%s)" %
          (rss_first, warmup, rss_last, growth, "; not checked under valgrind" if args.valgrind else ""))
    if idle_before and idle_after:
        c.add(idle_before[3] == idle_after[3],
              "open fds idle before = idle after (%s, %s)" % (idle_before[3], idle_after[3]))
        c.add(idle_before[4] == idle_after[4],
              "threads idle before = idle after (%s, %s)" % (idle_before[4], idle_after[4]))
    else:
        c.add(False, "idle samples before and after the load")

    fatal = open(os.path.join(gen, "mw-fatal.txt")).read().strip() if os.path.exists(
        os.path.join(gen, "mw-fatal.txt")) else "?"
    c.add(fatal == "0", "mailward logged no warning or error (%s lines)" % fatal)
    vg = valgrind_summary(args.valgrind_log) if args.valgrind else None
    if args.valgrind:
        c.add(args.mw_rc == "0", "mailward under valgrind exited 0 after SIGTERM (status %s)" % args.mw_rc)
        c.add(vg["present"] and vg["errors"] == 0,
              "valgrind: %s errors" % vg["errors"])
        c.add(vg["present"] and (vg["no_leaks"] or (vg["definite"] == 0 and vg["indirect"] == 0)),
              "valgrind: definitely lost %s, indirectly lost %s bytes" % (vg["definite"], vg["indirect"]))
    else:
        c.add(args.mw_rc == "0", "mailward exited 0 after SIGTERM (status %s)" % args.mw_rc)

    # ---------------------------------------------------------- report
    failed = c.failed()
    L = []
    L.append("# mailward soak %s%s\n" % (args.stamp, " (valgrind memcheck)" if args.valgrind else ""))
    L.append("Duration %d s of mixed load; `bench/soak.sh --duration %d%s`; binary `%s`.\n" %
             (args.duration, args.duration, " --valgrind" if args.valgrind else "", args.mailward))
    L.append("**Result: %s** (%d of %d invariants hold)\n" %
             ("PASS" if not failed else "FAIL", len(c.items) - len(failed), len(c.items)))
    L.append("## Invariants\n")
    for ok, what in c.items:
        L.append("- [%s] %s" % ("x" if ok else " ", what))
    L.append("\n## Traffic\n")
    L.append("| generator | class | sent | 2xx | 5xx | 4xx | broken | p50 ms | p99 ms |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for lab, s in ss.items():
        L.append("| smtp-source (127.0.0.1) | %s | %d | %d | 0 | 0 | %d batches failed | mean %s | worst batch mean %s |"
                 % (lab, s["sent"], s["sent"], s["failed_batches"], s["mean_ms"], s["max_batch_mean_ms"]))
    for name, data in (("soak_smtp.py", inb), ("soak_smtp.py", fb)):
        groups = {}
        for k, v in data["jobs"].items():
            g = k if k.startswith("inbound") else "feedback"
            acc = groups.setdefault(g, {"sent": 0, "2xx": 0, "4xx": 0, "5xx": 0, "error": 0})
            for key in acc:
                acc[key] += v[key]
        for g, v in sorted(groups.items()):
            cls = data["classes"].get(g.split("/")[0], {})
            L.append("| %s | %s | %d | %d | %d | %d | %d | %s | %s |" %
                     (name, g, v["sent"], v["2xx"], v["5xx"], v["4xx"], v["error"],
                      cls.get("p50_ms"), cls.get("p99_ms")))
    for lab, r in ml.items():
        L.append("| milterload (%d runs, %d connections) | %s | %d | accept %d | reject %d | tempfail %d | "
                 "errors %d | %s | %s |" %
                 (r["runs"], r["connections"], lab, r["messages"], r["dispositions"].get("accept", 0),
                  r["dispositions"].get("reject", 0), r["dispositions"].get("tempfail", 0),
                  r["dispositions"].get("error", 0), r["p50_ms"], r["p99_ms"]))
    L.append("\nSMTP latency is connect to the reply to the final \".\" (soak_smtp.py, per message); "
             "smtp-source has no per-message timing, so its figure is the batch wall time x sessions / "
             "messages less its 1 s pause. The inbound and feedback p50/p99 are per class over the whole run "
             "(inbound: both pass and refused messages). milterload runs in bursts of 40 messages on 2 "
             "connections (it has no rate limit): p50 is the median of the bursts' p50, p99 the worst "
             "burst's p99. The machine is shared with other sessions: latency is noisy.\n")
    L.append("Sink: %d messages (outbound %d, bulk %d, inbound %d, complaints %d). Postfix: %d milter "
             "rejects, %d discards, %d left in the queue.\n" %
             (out, out_cls["outbound"], out_cls["bulk"], out_cls["inbound"], out_cls["other"],
              pf.get("reject", 0), discarded, pf.get("queue_left", 0)))
    L.append("## Events\n")
    L.append("| eventType | in the spool | expected |")
    L.append("|---|---:|---:|")
    for kind in sorted(set(expected) | set(actual)):
        L.append("| %s | %d | %d |" % (kind, actual.get(kind, 0), expected.get(kind, 0)))
    L.append("\n## mailward over time\n")
    L.append("| sample | t (s) | RSS KiB | open fds | threads |")
    L.append("|---|---:|---:|---:|---:|")
    for s in samples:
        L.append("| %s | %s | %s | %s | %s |" % tuple(s[:5]))
    L.append("\nRSS: max %d KiB; after the warm-up %d KiB, at the end %d KiB (%+.1f %%).\n" %
             (rss_max, rss_first, rss_last, growth))
    if vg:
        L.append("## valgrind\n")
        L.append("memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect: "
                 "%s errors; definitely lost %s, indirectly lost %s, possibly lost %s, still reachable %s bytes.\n"
                 % (vg["errors"], vg["definite"], vg["indirect"], vg["possible"], vg["reachable"]))
        for block in vg["blocks"][:20]:
            L.extend("    " + ln for ln in block)
            L.append("")
    with open(args.report, "w") as f:
        f.write("\n".join(L) + "\n")
    if not args.tap:
        print("\n".join(L))
    else:
        print("1..%d" % len(c.items))
        for i, (ok, what) in enumerate(c.items, 1):
            print("%s %d - %s" % ("ok" if ok else "not ok", i, what))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
