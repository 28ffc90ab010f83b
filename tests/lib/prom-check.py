#!/usr/bin/python3
"""prom-check.py - a strict reader of the Prometheus text format 0.0.4.

Usage: prom-check.py FILE       (exit 0 and "valid: N samples", or 1 and the problems)
       prom-check.py FILE NAME [LABEL=VALUE...]
                                print the value of that sample (exact label set),
                                or "absent"

Checks what a scraper relies on: every line is a comment, HELP, TYPE or a
sample; metric and label names are valid; label values are quoted with
only \\\\, \\" and \\n escapes; values are floats (or +Inf, -Inf, NaN);
HELP and TYPE come at most once per family and before its samples; a
family's samples are together; counters end in _total; no sample (name
and labels) appears twice; a histogram's buckets are cumulative, in
ascending le order, end with le="+Inf" equal to its _count, and have a
_sum.  The page must end with a newline.
"""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", text):
        raise ValueError("bad value %r" % text)
    return float(text)


def parse_labels(text, i):
    """text[i] is just after '{'; returns (labels, index after '}')."""
    labels = []
    while True:
        if text[i] == "}":
            return labels, i + 1
        m = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(text, i)
        if not m or text[m.end():m.end() + 2] != '="':
            raise ValueError("bad label at %r" % text[i:])
        name, i = m.group(0), m.end() + 2
        value = []
        while text[i] != '"':
            if text[i] == "\\":
                nxt = text[i + 1]
                if nxt not in '\\"n':
                    raise ValueError("bad escape \\%s" % nxt)
                value.append("\n" if nxt == "n" else nxt)
                i += 2
            elif text[i] == "\n":
                raise ValueError("newline in a label value")
            else:
                value.append(text[i])
                i += 1
        labels.append((name, "".join(value)))
        i += 1
        if text[i] == ",":
            i += 1
        elif text[i] != "}":
            raise ValueError("expected , or } at %r" % text[i:])


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    return name


def read(path):
    text = open(path, encoding="utf-8").read()
    problems, samples = [], {}
    types, helps, seen_families, current = {}, set(), set(), None
    if text and not text.endswith("\n"):
        problems.append("the page does not end with a newline")
    for n, line in enumerate(text.splitlines(), 1):
        where = "line %d: " % n
        try:
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                parts = line.split(" ", 3)
                kind, name = parts[1], parts[2]
                if not NAME.match(name):
                    raise ValueError("bad metric name %r" % name)
                if name in seen_families:
                    raise ValueError("%s after samples of %s" % (kind, name))
                if kind == "HELP":
                    if name in helps:
                        raise ValueError("second HELP for " + name)
                    helps.add(name)
                else:
                    if name in types or len(parts) != 4 or parts[3] not in TYPES:
                        raise ValueError("bad or second TYPE: " + line)
                    types[name] = parts[3]
                    if parts[3] == "counter" and not name.endswith("_total"):
                        raise ValueError("counter %s does not end in _total" % name)
                continue
            if line.startswith("#") or line == "":
                continue
            m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
            if not m:
                raise ValueError("not a sample: %r" % line)
            name, i = m.group(0), m.end()
            labels = []
            if line[i:i + 1] == "{":
                labels, i = parse_labels(line + "\n", i + 1)
            if line[i:i + 1] != " ":
                raise ValueError("no space before the value")
            value = parse_value(line[i + 1:].split(" ")[0])
            if len(set(l for l, _ in labels)) != len(labels):
                raise ValueError("a label twice")
            family = family_of(name, types)
            if family != current and family in seen_families:
                raise ValueError("samples of %s are not together" % family)
            current = family
            seen_families.add(family)
            key = (name, tuple(labels))
            if key in samples:
                raise ValueError("duplicate sample %s%s" % key)
            samples[key] = value
        except (ValueError, IndexError) as e:
            problems.append(where + str(e))
    problems += check_histograms(samples, types)
    return samples, problems


def check_histograms(samples, types):
    problems = []
    for family in (f for f, t in types.items() if t == "histogram"):
        series = {}
        for (name, labels), value in samples.items():
            if name == family + "_bucket":
                rest = tuple(l for l in labels if l[0] != "le")
                le = dict(labels).get("le")
                if le is None:
                    problems.append("%s bucket without le" % family)
                    continue
                series.setdefault(rest, []).append((parse_value(le), value))
        for rest, buckets in series.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            if counts != sorted(counts):
                problems.append("%s%s: buckets not cumulative" % (family, rest))
            if not math.isinf(buckets[-1][0]):
                problems.append("%s%s: no le=\"+Inf\" bucket" % (family, rest))
            count = samples.get((family + "_count", rest))
            if count != buckets[-1][1]:
                problems.append("%s%s: _count %s != +Inf bucket %s" % (family, rest, count, buckets[-1][1]))
            if (family + "_sum", rest) not in samples:
                problems.append("%s%s: no _sum" % (family, rest))
    return problems


def main():
    samples, problems = read(sys.argv[1])
    if len(sys.argv) > 2:
        want = (sys.argv[2], tuple(tuple(a.split("=", 1)) for a in sys.argv[3:]))
        for (name, labels), value in samples.items():
            if name == want[0] and sorted(labels) == sorted(want[1]):
                print("%g" % value)
                return 0
        print("absent")
        return 0
    for p in problems:
        print(p)
    if problems:
        return 1
    print("valid: %d samples" % len(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
