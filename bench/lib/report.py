#!/usr/bin/python3
"""report.py - the Markdown report of bench/postfix-sign.sh.

Usage: report.py META RUNS VERIFY

META is key=value lines about the run, RUNS and VERIFY are the
tab-separated files the driver writes (first line: column names).  Every
figure shown is the median over the repeats of a cell.
"""
import statistics
import sys


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    if not rows:
        return []
    head = rows[0]
    return [dict(zip(head, r)) for r in rows[1:]]


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=2):
    if v is None:
        return "-"
    return f"{v:.{digits}f}"


def main(meta_path, runs_path, verify_path):
    meta = {}
    with open(meta_path, encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    tck = float(meta.get("clk_tck", "100"))
    runs = read_tsv(runs_path)
    verify = read_tsv(verify_path)
    systems = meta["systems"].split(",")
    sizes = meta["sizes"].split(",")
    reps = int(meta.get("repeats", "1"))

    out = []
    w = out.append
    w(f"# postfix-sign: DKIM signing through Postfix, {meta.get('date', '')}")
    w("")
    w(f"- machine: {meta.get('cpus')} CPUs ({meta.get('cpu_model')}), {meta.get('kernel')}; "
      f"load average before the run: {meta.get('loadavg')}")
    w(f"- software: Postfix {meta.get('postfix')}, OpenDKIM {meta.get('opendkim')}, "
      f"mailward {meta.get('mailward')}")
    w(f"- load: smtp-source -s {meta.get('sessions')} (parallel sessions, one message per "
      f"session) -m {meta.get('messages')} per cell after {meta.get('warmup')} warm-up "
      f"messages; From/envelope sender bench@example.com; "
      f"{reps} repeat(s) per cell, median shown; systems measured in turn in each repeat")
    milter_sock = {"inet": "a TCP socket on 127.0.0.1", "unix": "a unix socket"}.get(
        meta.get("transport", "inet"), meta.get("transport"))
    w(f"- path: smtp-source -> Postfix smtpd (smtpd_milters on {milter_sock}, milter_protocol=6, "
      f"milter_default_action=tempfail) -> queue -> Postfix smtp -> smtp-sink -c (counting, "
      f"no disk); work dir {meta.get('work')} on {meta.get('work_fs')} (Postfix queue and "
      f"mailward event spool, events.durability={meta.get('durability')})")
    w(f"- keys: RSA-2048 (selector mwrsa, the same key file content for OpenDKIM and "
      f"mailward-rsa/-dual) and Ed25519 (selector mwed), both from `mailward keygen`; "
      f"relaxed/relaxed everywhere")
    lat = int(meta.get("latency", "0"))
    if lat > 0:
        w(f"- latency: a separate probe after each throughput run, {lat} messages one at a "
          f"time (unloaded), each timed from TCP connect to the reply to the final \".\"")
    else:
        w("- latency: not measured (--latency 0)")
    w("")

    ratio_lines = []
    saturated = []
    nagle = []
    for size in sizes:
        cells = {}
        for s in systems:
            rs = [r for r in runs if r["size_kb"] == size and r["system"] == s]
            if not rs:
                continue
            c = {}
            n = [num(r["n"]) for r in rs]
            deliv = [num(r["delivered"]) for r in rs]
            c["n"] = med(n)
            c["delivered"] = med(deliv)
            c["rate"] = [num(r["delivered"]) / num(r["wall_s"])
                         for r in rs if num(r["wall_s"]) and num(r["delivered"])]

            def per_msg(col, scale, rs=rs):
                vals = []
                for r in rs:
                    v, d = num(r[col]), num(r["delivered"])
                    if v is not None and d:
                        vals.append(v * scale / d)
                return med(vals)

            c["milter_ms"] = per_msg("milter_ticks", 1000.0 / tck)
            c["postfix_ms"] = per_msg("postfix_ticks", 1000.0 / tck)
            loadgen = []
            for r in rs:
                d = num(r["delivered"])
                if d:
                    loadgen.append((num(r["sink_ticks"]) * 1000.0 / tck
                                    + num(r["source_cpu_s"]) * 1000.0) / d)
            c["loadgen_ms"] = med(loadgen)
            total = []
            for r in rs:
                d = num(r["delivered"])
                if d:
                    total.append(((num(r["milter_ticks"]) or 0) + num(r["postfix_ticks"])
                                  + num(r["sink_ticks"])) * 1000.0 / tck / d
                                 + num(r["source_cpu_s"]) * 1000.0 / d)
            c["total_ms"] = med(total)
            c["machine_ms"] = per_msg("machine_busy_ticks", 1000.0 / tck)
            bg = [num(r["bg_busy_ticks"]) / num(r["bg_all_ticks"]) * 100.0
                  for r in rs if num(r["bg_all_ticks"])]
            c["bg"] = med(bg)
            busy = [num(r["machine_busy_ticks"]) / num(r["machine_all_ticks"]) * 100.0
                    for r in rs if num(r["machine_all_ticks"])]
            c["busy"] = med(busy)
            c["signed"] = med([num(r["msgs_signed"]) for r in rs])
            c["sigs"] = med([num(r["sigs"]) for r in rs])
            c["expect"] = int(num(rs[0]["expect_per_msg"]) or 0)
            c["p50"] = med([num(r["lat_p50"]) for r in rs])
            c["p99"] = med([num(r["lat_p99"]) for r in rs])
            c["lat_failed"] = sum(int(num(r["lat_failed"]) or 0) for r in rs)
            c["src_errors"] = sum(int(num(r["src_errors"]) or 0) for r in rs)
            c["log_ok"] = all(r["sent_log"] == r["delivered"] for r in rs)
            cells[s] = c

        w(f"## {size} KB messages")
        w("")
        head = ["system", "delivered", "signed", "msgs/s"]
        if reps > 1:
            head.append("msgs/s min-max")
        head += ["milter CPU ms/msg", "Postfix CPU ms/msg", "source+sink CPU ms/msg",
                 "total CPU ms/msg", "added vs none ms/msg", "machine busy", "background"]
        if lat > 0:
            head += ["latency p50 ms", "latency p99 ms"]
        w("| " + " | ".join(head) + " |")
        w("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        base = cells.get("none", {}).get("total_ms")
        for s in systems:
            c = cells.get(s)
            if not c:
                continue
            rate = med(c["rate"])
            if c["expect"]:
                signed = f"{fmt(c['signed'], 0)}"
                if c["expect"] > 1:
                    signed += f" ({fmt(c['sigs'], 0)} sigs)"
            else:
                signed = f"- ({fmt(c['sigs'], 0)} sigs)"
            row = [s, f"{fmt(c['delivered'], 0)}/{fmt(c['n'], 0)}", signed, fmt(rate, 1)]
            if reps > 1:
                row.append(f"{fmt(min(c['rate']), 1)}-{fmt(max(c['rate']), 1)}" if c["rate"] else "-")
            added = None
            if base is not None and c["total_ms"] is not None and s != "none":
                added = c["total_ms"] - base
            row += [fmt(c["milter_ms"]), fmt(c["postfix_ms"]), fmt(c["loadgen_ms"]),
                    fmt(c["total_ms"]), fmt(added), f"{fmt(c['busy'], 0)} %",
                    f"{fmt(c['bg'], 0)} %"]
            if lat > 0:
                row += [fmt(c["p50"], 1), fmt(c["p99"], 1)]
            w("| " + " | ".join(row) + " |")
            if (meta.get("transport", "inet") == "inet" and s != "none" and c["p50"]
                    and c["p50"] >= 40):
                nagle.append(f"{s} {size} KB")
            if c["busy"] is not None and c["busy"] >= 90:
                saturated.append(f"{s} {size} KB")
        w("")
        problems = []
        for s in systems:
            c = cells.get(s)
            if not c:
                continue
            if c["delivered"] is not None and c["n"] is not None and c["delivered"] < c["n"]:
                problems.append(f"{s}: only {fmt(c['delivered'], 0)} of {fmt(c['n'], 0)} delivered")
            if c["expect"] and c["signed"] is not None and c["delivered"] and c["signed"] < c["delivered"]:
                problems.append(f"{s}: {fmt(c['delivered'] - c['signed'], 0)} delivered without "
                                f"{c['expect']} signature(s)")
            if not c["expect"] and c["sigs"]:
                problems.append(f"{s}: {fmt(c['sigs'], 0)} signatures where none were expected")
            if c["src_errors"]:
                problems.append(f"{s}: smtp-source reported {c['src_errors']} error line(s)")
            if c["lat_failed"]:
                problems.append(f"{s}: {c['lat_failed']} latency-probe message(s) failed")
            if not c["log_ok"]:
                problems.append(f"{s}: Postfix's log has fewer status=sent lines than the sink "
                                f"counted, so the signed count (from the log) may be low")
        split = []
        for s in systems:
            rs = [r for r in runs if r["size_kb"] == size and r["system"] == s]
            u = med([num(r.get("milter_user_ticks")) * 1000.0 / tck / num(r["delivered"])
                     for r in rs if num(r.get("milter_user_ticks")) is not None
                     and num(r["delivered"])])
            y = med([num(r.get("milter_sys_ticks")) * 1000.0 / tck / num(r["delivered"])
                     for r in rs if num(r.get("milter_sys_ticks")) is not None
                     and num(r["delivered"])])
            if u is not None and y is not None:
                split.append(f"{s} {u:.2f} + {y:.2f}")
        if split:
            w("Milter CPU split, user + system ms/msg: " + "; ".join(split) + ".")
            w("")
        vs = [v for v in verify if v["size_kb"] == size]
        if vs:
            parts = []
            for v in vs:
                if v["expect"] == "0":
                    parts.append(f"{v['system']} {v['sigs']} sigs in {v['msgs']} msgs")
                else:
                    parts.append(f"{v['system']} {v['verified']}/{v['sigs']} sigs verified in "
                                 f"{v['msgs']} msgs ({v['rsa']} rsa, {v['ed25519']} ed25519; "
                                 f"{v['min_sigs']}-{v['max_sigs']} per msg)")
                if v["ok"] != "yes":
                    problems.append(f"{v['system']}: the signature check of the sample failed")
            w("Signature check on a sample dumped by smtp-sink -d and verified with dkimpy "
              "(keys from the keygen TXT records, no DNS): " + "; ".join(parts) + ".")
            w("")
        if problems:
            w("**Problems:** " + "; ".join(problems) + ".")
            w("")
        od = cells.get("opendkim")
        if od:
            for s in systems:
                if not s.startswith("mailward") or s not in cells:
                    continue
                c = cells[s]
                r_rate = (med(c["rate"]) / med(od["rate"])) if c["rate"] and od["rate"] else None
                r_cpu = (c["milter_ms"] / od["milter_ms"]) if c["milter_ms"] and od["milter_ms"] else None
                extra = ""
                if base is not None and c["total_ms"] and od["total_ms"]:
                    a, b = c["total_ms"] - base, od["total_ms"] - base
                    if b > 0:
                        extra = f" ({a / b:.2f}x added total CPU vs none)"
                ratio_lines.append(f"{size} KB: {s} / opendkim: {fmt(r_rate)}x msgs/s, "
                                   f"{fmt(r_cpu)}x CPU per message{extra}")

    w("## How to read this")
    w("")
    w("- msgs/s: delivered messages / wall time from smtp-source's start to the sink's count "
      "of the last message.  It is capped by whatever saturates first (cores, or the "
      "per-session round trips), so when machine busy is near 100 % the differences "
      "between milters are compressed.")
    w("- CPU columns (user+system from /proc/PID/stat, all threads, over the run, divided by "
      "delivered messages): milter = the milter process; Postfix = every daemon of the "
      "private instance (live ones plus what the master reaped); source+sink = smtp-source "
      "and the counting smtp-sink; total = their sum, i.e. everything this benchmark runs, "
      "whatever else the machine does.  `added vs none` = total minus the total without a "
      "milter: the whole cost of the milter including Postfix's side of the protocol.  "
      "These are the figures least distorted by the shared cores.")
    w("- machine busy: /proc/stat over the run, all processes including other sessions "
      "(tick-sampled, so bursty load is undercounted); background: /proc/stat busy over "
      "1 s while this benchmark was idle just before the run, i.e. load from elsewhere.  "
      "A large background makes msgs/s noisy; the CPU-per-message columns are not "
      "affected by it (beyond cache effects).")
    if saturated:
        w("")
        w("Machine busy was at least 90 % in: " + ", ".join(saturated) + ".  There the "
          "cores were saturated, so msgs/s mostly measures who leaves Postfix more CPU; "
          "compare the CPU columns.")
    if nagle:
        w("")
        w("Latency p50 of at least 40 ms over TCP (" + ", ".join(nagle) + ") while the "
          "same path without a milter takes a few ms: that is the 40 ms delayed-ACK timer "
          "meeting Nagle's algorithm on the milter connection (a reply written in several "
          "small writes, e.g. a header edit then the verdict), not CPU.  Such cells are "
          "bounded by sessions / latency; compare with --transport unix.")
    w("")
    for line in ratio_lines:
        w(line)
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
