#!/usr/bin/python3
"""Answer SPF test cases with pyspf, the reference of mailward's SPF check.

    spf-pyspf.py (--server ADDR[@PORT] [--zone-server ZONE=ADDR[@PORT]]...
                  | --static RECORDS) [--querytime S]

Reads "IP<TAB>MAIL_FROM<TAB>HELO" lines on standard input and prints, per
line, "RESULT<TAB>EXPLANATION" in the shape tests/tools/spf-check prints:
the explanation only for a fail that has an exp= text (pyspf's default
"SPF fail - not authorized" prints as "-"), bytes outside printable ASCII
and "\\" as \\xHH.

--server points dnspython at one DNS server, with no search domains, so
every name is asked as given; --zone-server sends the names of one zone
(and below) to another server.  --static answers from a file of
"NAME TYPE RDATA" lines instead (the generator's records, see
spf-gen.py), which lets the differential test run without a server.
Needs Debian's python3-spf and python3-dnspython (/usr/bin/python3).
"""
import argparse
import sys

import dns.name
import dns.resolver
import spf

DEFAULT_FAIL = spf.EXPLANATIONS['fail']


def resolver_for(server):
    addr, _, port = server.partition('@')
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [addr]
    res.port = int(port or 53)
    res.domain = dns.name.root
    res.search = []
    return res


def use_server(server, zone_servers):
    default = resolver_for(server)
    zones = [(dns.name.from_text(z), resolver_for(s))
             for z, _, s in (x.partition('=') for x in zone_servers)]
    plain = spf.DNSLookup

    def lookup(name, qtype, strict=True, timeout=None):
        qname = dns.name.from_text(str(name))
        dns.resolver.default_resolver = next(
            (r for z, r in zones if qname.is_subdomain(z)), default)
        return plain(name, qtype, strict, timeout)

    spf.DNSLookup = lookup


def txt_strings(rdata):
    """Zone-file character-strings ("..." with \\DDD escapes) -> bytes."""
    out, i = [], 0
    while i < len(rdata):
        if rdata[i] in ' \t':
            i += 1
            continue
        assert rdata[i] == '"', rdata
        i += 1
        s = bytearray()
        while rdata[i] != '"':
            c = rdata[i]
            if c == '\\':
                if rdata[i + 1:i + 4].isdigit():
                    s.append(int(rdata[i + 1:i + 4]))
                    i += 4
                    continue
                i += 1
                c = rdata[i]
            s += c.encode('latin-1')
            i += 1
        out.append(bytes(s))
        i += 1
    return out


def use_static(path):
    """Replace pyspf's DNS with the records of a file (names any case)."""
    zone, fails, cnames = {}, set(), {}
    with open(path, encoding='latin-1') as f:
        for line in f:
            line = line.rstrip('\r\n')
            if not line.strip() or line.startswith((';', '#')):
                continue
            name, rtype, rdata = line.split(None, 2)
            name = name.rstrip('.').lower()
            if rtype == 'TEMPFAIL':
                fails.add((name, rdata.strip()))
                continue
            if rtype == 'CNAME':
                cnames[name] = rdata.strip().rstrip('.').lower()
                continue
            if rtype == 'TXT':
                value = txt_strings(rdata)
            elif rtype == 'MX':
                pref, exch = rdata.split()
                value = (int(pref), dns.name.from_text(exch))
            elif rtype == 'PTR':
                value = rdata.strip().rstrip('.')
            else:
                value = rdata.strip()
            zone.setdefault(name, []).append((rtype, value))

    def lookup(name, qtype, strict=True, timeout=None):
        key = str(name).rstrip('.').lower()
        for _ in range(10):  # what a resolver does with a CNAME
            if key not in cnames:
                break
            key = cnames[key]
        if (key, qtype) in fails:
            raise spf.TempError('DNS static tempfail')
        return [((name, qtype), v) for t, v in zone.get(key, []) if t == qtype]

    spf.DNSLookup = lookup


def show(text):
    out = []
    for ch in text:
        o = ord(ch)
        out.append('\\x%02x' % o if o < 0x20 or o >= 0x7f or ch == '\\' else ch)
    return ''.join(out) or '-'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--server')
    ap.add_argument('--zone-server', action='append', default=[])
    ap.add_argument('--static')
    ap.add_argument('--querytime', type=float, default=4)
    args = ap.parse_args()
    if args.static:
        use_static(args.static)
    elif args.server:
        use_server(args.server, args.zone_server)
    else:
        ap.error('--server or --static')
    for line in sys.stdin:
        fields = line.rstrip('\r\n').split('\t')
        ip, sender, helo = (fields + ['', '', ''])[:3]
        try:
            result, exp = spf.check2(i=ip, s=sender, h=helo, querytime=args.querytime)
        except Exception as e:  # pyspf crashed: show it, do not stop
            result, exp = 'crash', '%s: %s' % (type(e).__name__, e)
        if result != 'fail' or exp == DEFAULT_FAIL:
            exp = ''
        print('%s\t%s' % (result, show(exp)), flush=True)


if __name__ == '__main__':
    main()
