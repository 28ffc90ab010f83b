#!/usr/bin/python3
"""Generate the SPF differential test: DNS records and the cases to ask.

    spf-gen.py OUTDIR

writes, deterministically (no randomness, no clock):

  OUTDIR/zones     the zones to serve, one per line
  OUTDIR/records   "NAME TYPE RDATA" lines (zone-file RDATA; names in RDATA
                   end with a dot), plus "NAME TEMPFAIL TYPE" lines that
                   only in-memory resolvers use (on a real server those
                   names sit outside every zone and answer REFUSED)
  OUTDIR/cases     "CATEGORY<TAB>ID<TAB>IP<TAB>MAIL_FROM<TAB>HELO<TAB>
                   OURS_RESULT<TAB>OURS_EXPLANATION<TAB>NOTE" lines

Every case is answered by pyspf and by mailward; they must agree, except
the cases with an OURS_RESULT other than "-": there mailward deliberately
follows RFC 7208 where pyspf does not, and OURS_* says what mailward must
answer (NOTE says why).  Scenarios publish one record set each under
their own name in ZONE and are asked for several clients: IPv4 inside
and outside the published networks, IPv6, and IPv4-mapped IPv6.
"""
import os
import sys

ZONE = 'spf.test'
REV4 = '2.0.192.in-addr.arpa'
REV4X = '100.51.198.in-addr.arpa'
REV6 = '8.b.d.0.1.0.0.2.ip6.arpa'
BROKEN = 'refused.test'  # not served: every lookup fails (REFUSED)
SILENT = 'silent.test'   # forwarded to a server that never answers
# Top-level names the syntax cases look up: served (empty), they answer
# NXDOMAIN as on the Internet, not REFUSED.
TLDS = ('com', 'bar', '1com', 'com1', 'c-m', '12-34', 'b4r', 'a-1', '1-2', 'spfsingle')

C4, C4X, C6, C6X, CM = ('192.0.2.10', '198.51.100.7', '2001:db8::10',
                        '2001:db8:1::7', '::ffff:192.0.2.10')
CLIENTS = (C4, C4X, C6, CM)
HELO = 'helo.' + ZONE


def txt_rdata(*strings):
    """Zone-file character-strings; long ones split at 255 bytes."""
    out = []
    for s in strings:
        if isinstance(s, str):
            s = s.encode('latin-1')
        chunks = [s[i:i + 255] for i in range(0, len(s), 255)] or [b'']
        for chunk in chunks:
            esc = ''
            for b in chunk:
                if b in (0x22, 0x5c):
                    esc += '\\' + chr(b)
                elif b < 0x20 or b >= 0x7f:
                    esc += '\\%03d' % b
                else:
                    esc += chr(b)
            out.append('"%s"' % esc)
    return ' '.join(out)


def rev4(ip):
    return '.'.join(reversed(ip.split('.'))) + '.in-addr.arpa'


def rev6(ip):
    import ipaddress
    nibbles = ipaddress.IPv6Address(ip).exploded.replace(':', '')
    return '.'.join(reversed(nibbles)) + '.ip6.arpa'


class Gen:
    def __init__(self):
        self.records = []
        self.cases = []
        self.ids = set()

    def rec(self, name, rtype, rdata):
        self.records.append('%s %s %s' % (name, rtype, rdata))

    def txt(self, name, *strings):
        self.rec(name, 'TXT', txt_rdata(*strings))

    def a(self, name, *addrs):
        for ip in addrs:
            self.rec(name, 'AAAA' if ':' in ip else 'A', ip)

    def mx(self, name, pref, exchange):
        self.rec(name, 'MX', '%d %s.' % (pref, exchange))

    def ptr(self, ip, *names):
        owner = rev6(ip) if ':' in ip else rev4(ip)
        for n in names:
            self.rec(owner, 'PTR', n + '.')

    def broken(self, name):
        """A name whose every lookup fails."""
        assert name.endswith('.' + BROKEN)
        for t in ('A', 'AAAA', 'MX', 'PTR', 'TXT'):
            self.rec(name, 'TEMPFAIL', t)

    def case(self, cat, cid, ip, sender, helo=HELO, ours=None, note=''):
        assert cid not in self.ids, cid
        self.ids.add(cid)
        res, exp = (ours if isinstance(ours, tuple) else (ours, None))
        self.cases.append('\t'.join((cat, cid, ip, sender, helo, res or '-', exp or '-',
                                     note)))

    def scenario(self, cat, sid, *records, clients=CLIENTS, sender=None, helo=HELO,
                 ours=None, note=''):
        """Publish records (SPF text or (name, TXT...) tuples) at SID.ZONE."""
        d = '%s.%s' % (sid, ZONE)
        for r in records:
            if isinstance(r, (str, bytes)):
                self.txt(d, r)
            else:
                self.txt(r[0].replace('$D', d), *r[1:])
        for k, ip in enumerate(clients):
            s = (sender or 'joe@$D').replace('$D', d)
            self.case(cat, '%s-%d' % (sid, k), ip, s, helo.replace('$D', d), ours, note)
        return d


def fix_d(g, d):
    """Records published with "$D" name the scenario's own domain."""
    for j, line in enumerate(g.records):
        if '$D' in line:
            g.records[j] = line.replace('$D', d)


def selection(g):
    c = 'selection'
    g.scenario(c, 'sel-nxdomain', clients=(C4,))
    d = g.scenario(c, 'sel-nodata', clients=(C4,))
    g.a(d, C4)
    g.scenario(c, 'sel-not-spf', 'hello world', 'v=spf2.0/pra -all', clients=(C4,))
    g.scenario(c, 'sel-spf10', 'v=spf10 -all', clients=(C4,))
    g.scenario(c, 'sel-spf10-and-1', 'v=spf10 +all', 'v=spf1 -all', clients=(C4,))
    g.scenario(c, 'sel-two', 'v=spf1 -all', 'v=spf1 +all', clients=(C4,))
    g.scenario(c, 'sel-two-case', 'v=spf1 -all', 'V=SPF1 ?all', clients=(C4,))
    g.scenario(c, 'sel-version-only', 'v=spf1', clients=(C4, C6))
    g.scenario(c, 'sel-upper', 'V=SpF1 -ALL', clients=(C4,))
    g.scenario(c, 'sel-other-txt', 'v=spf1 ~all', 'site-verification=abc', clients=(C4,))
    g.scenario(c, 'sel-8bit-other', 'v=spf1 -all', b'caf\xc3\xa9 \x96', clients=(C4,))
    g.scenario(c, 'sel-leading-space', ' v=spf1 -all', clients=(C4,))
    g.scenario(c, 'sel-tab-after-version', 'v=spf1\t-all', clients=(C4,))
    g.scenario(c, 'sel-two-strings', ('$D', 'v=spf1 ', '-all'), clients=(C4,))
    g.scenario(c, 'sel-joined-strings', ('$D', 'v=spf1', '-all'), clients=(C4,))
    g.scenario(c, 'sel-trailing-space', 'v=spf1 -all ', clients=(C4,))
    g.scenario(c, 'sel-many-spaces', 'v=spf1    ip4:192.0.2.10     -all', clients=(C4, C4X))
    longrec = 'v=spf1 ' + ' '.join('ip4:203.0.113.%d' % i for i in range(1, 30)) + \
        ' ip4:192.0.2.10 -all'
    g.scenario(c, 'sel-long', longrec, clients=(C4, C4X))
    d = g.scenario(c, 'sel-sender-forms', 'v=spf1 -all exp=e.$D', clients=())
    g.txt('e.' + d, 'l=%{l} o=%{o} d=%{d}')
    g.case(c, 'sel-upper-domain', C4, 'joe@' + d.upper())
    g.case(c, 'sel-no-at', C4, d)
    g.case(c, 'sel-trailing-dot', C4, 'joe@%s.' % d)
    g.case(c, 'sel-empty-label', C4, 'joe@x..%s' % d)
    g.case(c, 'sel-label-64', C4, 'joe@%s.%s' % ('a' * 64, d))
    g.case(c, 'sel-empty-domain', C4, 'joe@')
    d63 = '%s.%s' % ('b' * 63, d)
    g.txt(d63, 'v=spf1 -all')
    g.case(c, 'sel-label-63', C4, 'joe@' + d63)
    g.case(c, 'sel-dotted-local', C4, 'first.last+tag@' + d)


def all_mech(g):
    c = 'all'
    for i, (rec, clients) in enumerate((
            ('v=spf1 +all', (C4, C6)), ('v=spf1 -all', (C4, C6)), ('v=spf1 ~all', (C4,)),
            ('v=spf1 ?all', (C4,)), ('v=spf1 all', (C4,)), ('v=spf1 -All', (C4,)),
            ('v=spf1 -all:foo', (C4,)), ('v=spf1 -all/8', (C4,)), ('v=spf1 -all//64', (C4,)),
            ('v=spf1 -all.', (C4,)), ('v=spf1 allx', (C4,)), ('v=spf1 -all -all', (C4,)),
            ('v=spf1 ?all -all', (C4,)), ('v=spf1 -all ip4:192.0.2.10', (C4,)),
            ('v=spf1 -all:', (C4,)), ('v=spf1 !all', (C4,)), ('v=spf1 --all', (C4,)))):
        g.scenario(c, 'all-%d' % i, rec, clients=clients)


def ip_mechs(g):
    c = 'ip4'
    recs4 = ['ip4:192.0.2.10', 'ip4:192.0.2.0/24', 'ip4:192.0.2.11/32', 'ip4:192.0.2.11/31',
             'ip4:0.0.0.0/0', 'ip4:10.0.0.0/8', 'ip4:192.0.2.10/24', 'ip4:192.0.0.0/1',
             'ip4:128.0.0.0/1', 'IP4:192.0.2.10', '-ip4:192.0.2.10', '~ip4:192.0.2.0/25',
             '?ip4:192.0.2.0/28', 'ip4:198.51.100.0/24', 'ip4:192.0.2.10/33',
             'ip4:192.0.2.010', 'ip4:192.0.2.256', 'ip4:192.0.2', 'ip4:192.0.2.10/01',
             'ip4:192.0.2.10//64', 'ip4:', 'ip4', 'ip4:192.0.2.10/', 'ip4:::1',
             'ip4:192.0.2.10/32/', 'ip4:192.0.2.1.5', 'ip4:+192.0.2.10', 'ip4: 192.0.2.10',
             'ip4:192.0.2.10/100', 'ip4:192.0.2.10/-1', 'ip4:192.0.2.10/0']
    for i, r in enumerate(recs4):
        g.scenario(c, 'ip4-%d' % i, 'v=spf1 %s -all' % r)
    c = 'ip6'
    recs6 = ['ip6:2001:db8::10', 'ip6:2001:db8::/32', 'ip6:::/0', 'ip6:2001:db8::11/127',
             'ip6:2001:DB8::10', 'ip6:2001:db8:0:0:0:0:0:10', 'ip6:2001:db8::10/128',
             'ip6:2001:db8::10/129', 'ip6:2001:db8::g', 'ip6:::ffff:192.0.2.10',
             'ip6:::ffff:192.0.2.0/120', 'ip6:2001:db8::10//64', 'ip6:1:2:3:4:5:6:7::',
             'ip6:1::2::3', 'ip6:2001:db8::10/0128', 'ip6:2001:db8::192.0.2.10',
             'ip6:2001:db8:1::/48', '-ip6:2001:db8::/33', 'ip6:', 'ip6',
             'ip6:2001:db8::10/64/', 'ip6:fe80::1%eth0', 'ip6:2001:db8::10/0',
             'ip6:192.0.2.10', 'ip6:2001:0db8::10', 'ip6:2001:00db8::10']
    for i, r in enumerate(recs6):
        g.scenario(c, 'ip6-%d' % i, 'v=spf1 %s -all' % r, clients=(C6, C6X, C4, CM))


def a_mech(g):
    c = 'a'
    recs = ['a', 'a:$D', 'a:other.$D', 'a/24', 'a/24//64', 'a//120', 'a:none.$D',
            'a:$D/0', 'a/0//0', 'a/33', 'a//129', 'a:192.0.2.10', 'a:$D.', 'a:$D..',
            'a:foo', 'a:foo.123', 'a:none.a-1', 'a:none.-a', 'a:none.a-', 'a:none.1-2',
            '-a', '~a:other.$D', 'A:$D', 'a:$D:80', 'a:', 'a:nodata.$D', 'a:v6only.$D',
            'a:v6only.$D//64', 'a:x..$D', 'a:%s.$D' % ('c' * 64), 'a/32//128', 'a/01',
            'a/24/64', 'a//64//64', 'a:.$D']
    for i, r in enumerate(recs):
        d = g.scenario(c, 'a-%d' % i, 'v=spf1 %s -all' % r, clients=())
        fix_d(g, d)
        g.a(d, '192.0.2.10', '2001:db8::10')
        g.a('other.' + d, '192.0.2.20', '2001:db8::20')
        g.a('v6only.' + d, '2001:db8::1:1')
        g.mx('nodata.' + d, 10, 'other.' + d)
        for k, ip in enumerate((C4, '192.0.2.20', '192.0.2.77', C6, '2001:db8::20',
                                '2001:db8::99', CM)):
            g.case(c, 'a-%d-%d' % (i, k), ip, 'joe@' + d)


def mx_mech(g):
    c = 'mx'
    recs = ['mx', 'mx:$D', 'mx/24', 'mx//64', 'mx/24//120', 'mx:nomx.$D', 'mx:nx.$D',
            'mx:eleven.$D', 'mx:ten.$D', 'mx:null.$D', 'mx:noaddr.$D', 'mx/0', 'mx/33',
            'mx//129', '-mx:ten.$D', 'mx:', 'MX', 'mx:noaddr.$D mx:nx.$D',
            'mx:twoempty.$D', 'mx:nomx.$D mx:nx.$D', 'mx:$D/30']
    for i, r in enumerate(recs):
        d = g.scenario(c, 'mx-%d' % i, 'v=spf1 %s -all' % r, clients=())
        fix_d(g, d)
        g.mx(d, 10, 'mx1.' + d)
        g.mx(d, 20, 'mx2.' + d)
        g.a('mx1.' + d, '192.0.2.30')
        g.a('mx2.' + d, '192.0.2.10', '2001:db8::10')
        g.a('nomx.' + d, '192.0.2.10')
        for n in range(11):
            g.mx('eleven.' + d, n, 'h%d.%s' % (n, d))
            g.a('h%d.%s' % (n, d), '192.0.2.%d' % (200 + n))
        for n in range(10):
            g.mx('ten.' + d, 10 - n, 'h%d.%s' % (n, d))
        g.rec('null.' + d, 'MX', '0 .')
        g.mx('noaddr.' + d, 5, 'gone.' + d)
        g.mx('twoempty.' + d, 5, 'gone1.' + d)
        g.mx('twoempty.' + d, 6, 'gone2.' + d)
        g.mx('twoempty.' + d, 7, 'mx2.' + d)
        for k, ip in enumerate((C4, '192.0.2.30', '192.0.2.205', '192.0.2.31', C4X, C6,
                                '2001:db8::99', CM)):
            g.case(c, 'mx-%d-%d' % (i, k), ip, 'joe@' + d)


def ptr_mech(g):
    c = 'ptr'
    n = [0]

    def client(v6=False):
        n[0] += 1
        return '2001:db8::1:%x' % n[0] if v6 else '192.0.2.%d' % (100 + n[0])

    def ptr_case(sid, rec, setup, v6=False, mapped=False):
        ip = client(v6)
        d = g.scenario(c, sid, rec, clients=())
        fix_d(g, d)
        setup(d, ip)
        g.case(c, sid, '::ffff:' + ip if mapped else ip, 'joe@' + d)

    ptr_case('ptr-match', 'v=spf1 ptr -all',
             lambda d, ip: (g.ptr(ip, 'mail.' + d), g.a('mail.' + d, ip)))
    ptr_case('ptr-self', 'v=spf1 ptr -all', lambda d, ip: (g.ptr(ip, d), g.a(d, ip)))
    ptr_case('ptr-unvalidated', 'v=spf1 ptr -all',
             lambda d, ip: (g.ptr(ip, 'mail.' + d), g.a('mail.' + d, '192.0.2.250')))
    ptr_case('ptr-other-domain', 'v=spf1 ptr -all',
             lambda d, ip: (g.ptr(ip, 'mail.else.' + ZONE), g.a('mail.else.' + ZONE, ip)))
    ptr_case('ptr-arg', 'v=spf1 ptr:else.%s -all' % ZONE,
             lambda d, ip: (g.ptr(ip, 'host.else.' + ZONE), g.a('host.else.' + ZONE, ip)))
    ptr_case('ptr-no-ptr', 'v=spf1 ptr -all', lambda d, ip: None)
    ptr_case('ptr-suffix-not-label', 'v=spf1 ptr:se.%s -all' % ZONE,
             lambda d, ip: (g.ptr(ip, 'mail.else.' + ZONE), g.a('mail.else.' + ZONE, ip)))
    ptr_case('ptr-second-name', 'v=spf1 ptr -all',
             lambda d, ip: (g.ptr(ip, 'x.' + ZONE, 'mail.' + d), g.a('mail.' + d, ip)))
    ptr_case('ptr-v6', 'v=spf1 ptr -all',
             lambda d, ip: (g.ptr(ip, 'mail.' + d), g.a('mail.' + d, ip)), v6=True)
    ptr_case('ptr-v6-unvalidated', 'v=spf1 ptr -all',
             lambda d, ip: (g.ptr(ip, 'mail.' + d), g.a('mail.' + d, '2001:db8::dead')),
             v6=True)
    ptr_case('ptr-mapped', 'v=spf1 ptr -all',
             lambda d, ip: (g.ptr(ip, 'mail.' + d), g.a('mail.' + d, ip)), mapped=True)
    ptr_case('ptr-cidr', 'v=spf1 ptr/24 -all', lambda d, ip: None)
    ptr_case('ptr-qualified', 'v=spf1 ~ptr ?all',
             lambda d, ip: (g.ptr(ip, 'mail.' + d), g.a('mail.' + d, ip)))
    ptr_case('ptr-empty-arg', 'v=spf1 ptr: -all', lambda d, ip: None)
    ptr_case('ptr-macro', 'v=spf1 ptr:%{d} -all',
             lambda d, ip: (g.ptr(ip, 'mail.' + d), g.a('mail.' + d, ip)))
    ptr_case('ptr-upper', 'v=spf1 PTR -all',
             lambda d, ip: (g.ptr(ip, 'MAIL.' + d), g.a('mail.' + d, ip)))
    ptr_case('ptr-three-void', 'v=spf1 ptr ptr ptr -all', lambda d, ip: None)
    ptr_case('ptr-void-names', 'v=spf1 ptr -all',
             lambda d, ip: g.ptr(ip, 'n1.' + d, 'n2.' + d))
    ptr_case('ptr-void-names3', 'v=spf1 ptr -all',
             lambda d, ip: g.ptr(ip, 'n1.' + d, 'n2.' + d, 'n3.' + d))


def exists_mech(g):
    c = 'exists'
    recs = ['exists:$D', 'exists:none.$D', 'exists:%{ir}.rbl.$D', 'exists:%{i}.ip.$D',
            'exists:v6only.$D', 'exists', 'exists:', 'exists:$D/24', 'exists:$D//64',
            '-exists:$D', 'EXISTS:$D', 'exists:%{l}.users.$D', 'exists:%{d}',
            'exists:%{ir}.%{v}.rev.$D']
    for i, r in enumerate(recs):
        d = g.scenario(c, 'exists-%d' % i, 'v=spf1 %s -all' % r, clients=())
        fix_d(g, d)
        g.a(d, '192.0.2.77')
        g.a('10.2.0.192.rbl.' + d, '127.0.0.2')
        g.a('192.0.2.10.ip.' + d, '127.0.0.2')
        g.a('v6only.' + d, '2001:db8::5')
        g.a('joe.users.' + d, '127.0.0.2')
        g.a('10.2.0.192.in-addr.rev.' + d, '127.0.0.2')
        g.a('0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.rev.' + d,
            '127.0.0.2')
        for k, ip in enumerate((C4, C4X, C6, CM)):
            g.case(c, 'exists-%d-%d' % (i, k), ip, 'joe@' + d)
        g.case(c, 'exists-%d-bob' % i, C4, 'bob@' + d)


def include_mech(g):
    c = 'include'
    z = ZONE
    g.txt('inc-pass.' + z, 'v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all')
    g.txt('inc-fail.' + z, 'v=spf1 -all')
    g.txt('inc-soft.' + z, 'v=spf1 ~all')
    g.txt('inc-neutral.' + z, 'v=spf1 ?all')
    g.txt('inc-empty.' + z, 'v=spf1')
    g.txt('inc-perm.' + z, 'v=spf1 ip4:192.0.2.10 foo -all')
    g.txt('inc-notspf.' + z, 'just text')
    g.txt('inc-two.' + z, 'v=spf1 -all')
    g.txt('inc-two.' + z, 'v=spf1 +all')
    g.txt('inc-nested.' + z, 'v=spf1 include:inc-pass.%s -all' % z)
    g.txt('inc-redirect.' + z, 'v=spf1 redirect=inc-pass.%s' % z)
    g.txt('inc-exp.' + z, 'v=spf1 -all exp=nothing.%s' % z)
    g.txt('inc-bad-exp.' + z, 'v=spf1 ip4:192.0.2.10 -all exp=%{z}.' + z)
    g.txt('inc-broken.' + z, 'v=spf1 include:x.%s -all' % BROKEN)
    g.txt('inc-dom.' + z, 'v=spf1 a -all')
    g.a('inc-dom.' + z, '192.0.2.10')
    g.txt('inc-macro.' + z, 'v=spf1 exists:%{d}.x.' + z + ' ip4:192.0.2.10 -all')
    g.broken('x.' + BROKEN)
    recs = ['include:inc-pass.$Z', '-include:inc-pass.$Z', '~include:inc-pass.$Z',
            '?include:inc-pass.$Z', 'include:inc-fail.$Z', 'include:inc-soft.$Z',
            'include:inc-neutral.$Z', 'include:inc-empty.$Z', 'include:inc-perm.$Z',
            'include:inc-notspf.$Z', 'include:inc-nx.$Z', 'include:inc-two.$Z',
            'include:inc-nested.$Z', 'include:inc-redirect.$Z', 'include:inc-exp.$Z',
            'include:inc-bad-exp.$Z', 'include:x.$B', 'include', 'include:',
            'include:inc-pass.$Z/24', 'include:%{d}', 'include:$D', 'include:inc-dom.$Z',
            'include:inc-macro.$Z', 'include:inc-fail.$Z include:inc-pass.$Z',
            'ip4:192.0.2.10 include:$D', 'include:inc-nx.$Z ip4:192.0.2.10',
            'include:inc-broken.$Z', 'INCLUDE:inc-pass.$Z', 'include:inc-pass.$Z.',
            'include:inc..$Z']
    for i, r in enumerate(recs):
        r = r.replace('$Z', z).replace('$B', BROKEN)
        d = g.scenario(c, 'inc-%d' % i, 'v=spf1 %s -all' % r, clients=())
        fix_d(g, d)
        for k, ip in enumerate((C4, C4X, C6)):
            g.case(c, 'inc-%d-%d' % (i, k), ip, 'joe@' + d)


def redirect_mod(g):
    c = 'redirect'
    z = ZONE
    g.txt('rd-target.' + z, 'v=spf1 ip4:192.0.2.10 -all')
    g.txt('rd-target-exp.' + z, 'v=spf1 ip4:192.0.2.10 -all exp=rd-explain.' + z)
    g.txt('rd-explain.' + z, 'redirect target %{d} says no to %{c}')
    g.txt('rd-own-explain.' + z, 'own record %{d} says no')
    g.txt('rd-chain1.' + z, 'v=spf1 redirect=rd-chain2.' + z)
    g.txt('rd-chain2.' + z, 'v=spf1 redirect=rd-target.' + z)
    g.txt('rd-loop1.' + z, 'v=spf1 redirect=rd-loop2.' + z)
    g.txt('rd-loop2.' + z, 'v=spf1 redirect=rd-loop1.' + z)
    g.txt('rd-notspf.' + z, 'not an spf record')
    g.txt('rd-none-inner.' + z, 'v=spf1 ?ip4:192.0.2.99')
    g.txt('rd-macro.' + z, 'v=spf1 exists:%{d}.m.' + z + ' -all')
    g.a('rd-macro.%s.m.%s' % (z, z), '127.0.0.2')
    recs = ['redirect=rd-target.$Z', 'ip4:198.51.100.7 redirect=rd-target.$Z',
            'redirect=rd-target.$Z ~all', 'redirect=rd-nx.$Z', 'redirect=rd-notspf.$Z',
            'redirect=rd-chain1.$Z', 'redirect=rd-loop1.$Z', 'redirect=$D',
            'redirect=rd-target.$Z redirect=rd-target.$Z', 'redirect=', 'redirect',
            'redirect:rd-target.$Z', 'redirect=rd-target-exp.$Z exp=rd-own-explain.$Z',
            'exp=rd-own-explain.$Z redirect=rd-target.$Z', 'redirect=rd-none-inner.$Z',
            'redirect=rd-macro.$Z', 'redirect=x.$B', 'redirect=x.$B -all',
            'redirect=%{d}.$Z', 'redirect=rd-target.$Z/24', 'redirect=rd..$Z',
            'ip4:192.0.2.99 redirect=rd-target.$Z ?all', 'redirect=rd-target.$Z.']
    for i, r in enumerate(recs):
        r = r.replace('$Z', z).replace('$B', BROKEN)
        d = g.scenario(c, 'rd-%d' % i, 'v=spf1 %s' % r, clients=())
        fix_d(g, d)
        for k, ip in enumerate((C4, C4X, C6)):
            g.case(c, 'rd-%d-%d' % (i, k), ip, 'joe@' + d)


def exp_mod(g):
    c = 'exp'
    z = ZONE
    texts = {
        'plain': 'You are not allowed',
        'macros': '%{i} is not allowed for %{s} (l=%{l} o=%{o} d=%{d} h=%{h} v=%{v})',
        'crt': 'client %{c} receiver %{r}',
        'escapes': 'percent %% space%_here url%-space',
        'upper': 'escaped %{S} and %{L} and %{O}',
        'transform': '%{d1} %{d2} %{dr} %{d2r} %{l-} %{lr-} %{ir}',
        'bad-macro': 'bad %{z} macro',
        'bad-percent': 'bad % here',
        'empty': '',
        'dot': 'ends with a dot.',
        'spaces': '  two  spaces  ',
        'long-ok': 'x' * 200 + ' %{d}',
        'no-dots-long': 'y' * 300,
    }
    for k, t in texts.items():
        g.txt('x-%s.%s' % (k, z), t)
    g.txt('x-two.' + z, 'first')
    g.txt('x-two.' + z, 'second')
    g.txt('x-multi.' + z, 'joined ', 'from ', 'strings')
    g.txt('x-8bit.' + z, b'caf\xc3\xa9')
    g.txt('x-ctrl.' + z, 'tab\there')
    targets = ['x-%s.$Z' % k for k in texts] + \
        ['x-two.$Z', 'x-multi.$Z', 'x-8bit.$Z', 'x-nx.$Z', 'x.$B', 'x-%{l}.$Z']
    g.txt('x-joe.' + z, 'local part chose this text')
    g.broken('x.' + BROKEN)
    for i, t in enumerate(targets):
        t = t.replace('$Z', z).replace('$B', BROKEN)
        # IPv6 %{i} is a deliberate difference, asked in macros only
        v6 = () if '%{i' in texts.get(t.split('.')[0][2:], '') else (C6,)
        g.scenario(c, 'exp-%d' % i, 'v=spf1 -all exp=%s' % t, clients=(C4,) + v6)
        g.scenario(c, 'exp-soft-%d' % i, 'v=spf1 ~all exp=%s' % t, clients=(C4,))
    for i, r in enumerate(['exp=', 'exp=x-plain.%s exp=x-plain.%s' % (z, z), 'exp=%{z}.' + z,
                           'exp=foo', 'exp=x-plain.' + z + ' ip4:192.0.2.10',
                           'exp=%{c}.' + z, 'exp=x-%{l}.' + z + '.']):
        g.scenario(c, 'exp-syntax-%d' % i, 'v=spf1 %s -all' % r, clients=(C4, C4X))


def modifiers(g):
    c = 'modifiers'
    recs = ['moo=cow -all', 'moo.cow-far_out=man:dog/cat -all', 'moo.cow/far_out=man -all',
            'moo.cow:far_out=man -all', '-all foo=', '-all foo=%{l}', '-all foo=%{z}',
            '-all foo=%', '-all foo=%{c}', '-all foo=%{t}', '-all 1foo=bar', '-all _foo=bar',
            '-all foo-=bar', '-all f=%{d2r}.x', 'ip4:192.0.2.10 -all bar=%{p}.baz',
            '-all =foo', '-all foo==bar', '-all foo=bar=baz', '-all x=y:z/w']
    for i, r in enumerate(recs):
        g.scenario(c, 'mod-%d' % i, 'v=spf1 %s' % r, clients=(C4, C4X))
    g.scenario(c, 'mod-repeated', 'v=spf1 foo=1 foo=2 -all', clients=(C4,), ours='fail',
               note='RFC 7208 6: unknown modifiers are ignored however often they appear; '
                    'pyspf makes a repeated one a permerror')
    g.scenario(c, 'mod-redirect-case', 'v=spf1 ReDirect=rd-target.' + ZONE, clients=(C4,),
               ours='pass', note='RFC 5234: modifier names are case-insensitive; pyspf '
                                 'takes "ReDirect=" for an unknown modifier')
    d = g.scenario(c, 'mod-exp-case', 'v=spf1 -all EXP=e.$D', clients=(C4,),
                   ours=('fail', 'upper-case exp'),
                   note='RFC 5234: modifier names are case-insensitive; pyspf takes '
                        '"EXP=" for an unknown modifier')
    fix_d(g, d)
    g.txt('e.' + d, 'upper-case exp')


def macros(g):
    c = 'macros'
    # exists: looks up the expansion: the record answers whether it matched.
    specs = ['%{s}', '%{l}', '%{o}', '%{d}', '%{i}', '%{v}', '%{h}', '%{ir}', '%{d2}',
             '%{d1}', '%{d3}', '%{d9}', '%{dr}', '%{d1r}', '%{l-}', '%{lr-}', '%{l1r-}',
             '%{l+}', '%{lr+-}', '%{s.}', '%{ir}.%{v}', '%{i2}', '%{l2}', '%{o1}',
             '%{S}', '%{L}', '%{D}', '%{I}', '%{ir_}', '%{lr=}', '%{l,}', '%{l/}',
             '%{d10}', '%{d100}', '%{d999999999999}']
    for i, spec in enumerate(specs):
        d = g.scenario(c, 'mac-%d' % i, 'v=spf1 -exists:%s.m.$D ?all' % spec, clients=())
        fix_d(g, d)
        for k, (ip, sender) in enumerate(((C4, 'joe@' + d), (C4, 'first.last@' + d),
                                          (C4, 'a-b+c=d@' + d), (C6, 'joe@' + d),
                                          (CM, 'joe@' + d), (C4, ''))):
            g.case(c, 'mac-%d-%d' % (i, k), ip, sender, 'helo.' + d)
    # expansions to look for, per sender/client (the common ones)
    for i in range(len(specs)):
        d = 'mac-%d.%s' % (i, ZONE)
        for name in (
                'joe@%s' % d, 'joe', d, '192.0.2.10', 'in-addr', 'helo.%s' % d,
                '10.2.0.192', 'spf.test', 'test', 'first.last', 'last.first', 'first',
                'first@%s' % d, 'joe@%s' % d, '10.2.0.192.in-addr', '2.10', 'b', 'c=d',
                'a.b.c.d', 'd.c.b.a', 'postmaster@helo.%s' % d, 'postmaster',
                'helo.%s' % d, 'joe%40' + d, ):
            g.a('%s.m.%s' % (name, d), '127.0.0.2') if ok_name('%s.m.%s' % (name, d)) \
                else None
    # syntax and letters in exists (all permerror or deliberate)
    bad = ['%{c}', '%{r}', '%{t}', '%{z}', '%{}', '%', '%{d', '%x', '%{d0}', '%{dd}',
           '%{d2x}', '%{dR}', '%{d.com}', '%%%x', '%{l1r-x}', '%{ l}']
    deliberate = {
        '%{d0}': 'RFC 7208 7.3: a DIGIT transformer MUST be nonzero; pyspf drops a part',
        '%{dd}': 'RFC 7208 7.1 ABNF: only digits, "r" and delimiters in a macro; '
                 'pyspf ignores junk there',
        '%{d2x}': 'RFC 7208 7.1 ABNF: junk in a macro; pyspf ignores it',
        '%{dR}': 'RFC 5234: "r" in the ABNF is case-insensitive; pyspf ignores "R"',
        '%{d.com}': 'RFC 7208 7.1 ABNF: junk in a macro; pyspf ignores it',
        '%%%x': 'RFC 7208 7.1 ABNF: "%x" is not a macro; pyspf misses it after "%%"',
        '%{l1r-x}': 'RFC 7208 7.1 ABNF: junk in a macro; pyspf ignores it',
        '%{d': 'RFC 7208 7.1 ABNF: an unterminated macro; pyspf reads it as text',
    }
    for i, spec in enumerate(bad):
        note = deliberate.get(spec, '')
        ours = 'permerror' if note else None
        if spec == '%{dR}':  # valid: reversed, the name exists
            ours = 'fail'
            note = ('RFC 5234: the ABNF\'s "r" is case-insensitive, "%{dR}" reverses; '
                    'pyspf ignores "R"')
        d = g.scenario(c, 'macbad-%d' % i, 'v=spf1 -exists:%s.m.$D ?all' % spec,
                       clients=(C4,), ours=ours, note=note)
        fix_d(g, d)
        if spec == '%{dR}':
            g.a('test.spf.%s.m.%s' % (d.split('.')[0], d), '127.0.0.2')
    # the delimiter rejoin: RFC says ".", pyspf keeps the original
    d = g.scenario(c, 'mac-rejoin', 'v=spf1 -exists:%{dr-}.m.$D ?all', clients=(C4,),
                   sender='joe@a-b.mac-rejoin.' + ZONE,
                   ours='fail', note='RFC 7208 7.3: parts are rejoined with "."; pyspf '
                   'keeps "-" between the parts of %{d}')
    fix_d(g, d)
    g.txt('a-b.' + d, 'v=spf1 -exists:%{dr-}.m.' + d + ' ?all')
    g.a('rejoin.spf.test.b.mac.a.m.' + d, '127.0.0.2')
    # %{p}
    for i, (rec, v6) in enumerate((('v=spf1 -exists:%{p}.p.$D ?all', False),
                                   ('v=spf1 -exists:%{p2}.p.$D ?all', False),
                                   ('v=spf1 -exists:%{p}.p.$D ?all', True))):
        ip = '2001:db8::2:%d' % i if v6 else '192.0.2.%d' % (60 + i)
        d = g.scenario(c, 'mac-p-%d' % i, rec, clients=())
        fix_d(g, d)
        g.ptr(ip, 'host.' + d)
        g.a('host.' + d, ip)
        g.a('host.%s.p.%s' % (d, d), '127.0.0.2')
        g.a('%s.p.%s' % ('.'.join(d.split('.')[-2:]), d), '127.0.0.2')
        g.case(c, 'mac-p-%d' % i, ip, 'joe@' + d)
    d = g.scenario(c, 'mac-p-unknown', 'v=spf1 -exists:%{p}.p.$D ?all', clients=())
    fix_d(g, d)
    g.a('unknown.p.' + d, '127.0.0.2')
    g.case(c, 'mac-p-unknown', '192.0.2.70', 'joe@' + d)
    # truncation of long expansions to 253 bytes (one label dropped)
    long_local = 'l' * 60 + '.' + 'm' * 60
    d = g.scenario(c, 'mac-long', 'v=spf1 -exists:%{l}.%{l}.%{d} ?all', clients=())
    g.case(c, 'mac-long', C4, '%s@%s' % (long_local, d))
    # IPv6 %{i} in an explanation: RFC lower case, pyspf upper case
    d = g.scenario(c, 'mac-i6-exp', 'v=spf1 -all exp=e.$D', clients=(C6,),
                   ours=('fail', 'client 0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.'
                                 'd.0.1.0.0.2'),
                   note='RFC 7208 7.4 example: %{i} of IPv6 is lower-case nibbles; '
                        'pyspf writes upper case')
    fix_d(g, d)
    g.txt('e.' + d, 'client %{ir}')
    g.scenario(c, 'mac-i4-exp', 'v=spf1 -all exp=e.mac-i6-exp.' + ZONE, clients=(C4, CM))
    # %{s} with no local part
    d = g.scenario(c, 'mac-s-nolocal', 'v=spf1 -all exp=e.$D', clients=(C4,),
                   sender='@$D', ours=('fail', 'sender postmaster@mac-s-nolocal.spf.test'),
                   note='RFC 7208 4.3: no local part reads "postmaster"; pyspf keeps '
                        '%{s} "@domain"')
    fix_d(g, d)
    g.txt('e.' + d, 'sender %{s}')
    d = g.scenario(c, 'mac-l-nolocal', 'v=spf1 -all exp=e.$D', clients=(C4,), sender='@$D')
    fix_d(g, d)
    g.txt('e.' + d, 'local %{l} domain %{o}')


def ok_name(name):
    labels = name.split('.')
    return all(0 < len(x) < 64 and all(ch.isalnum() or ch in '-_' for ch in x)
               for x in labels) and len(name) <= 253


def syntax(g):
    c = 'syntax'
    recs = ['a:foo-bar', 'a:mail.example...com', 'a:%{d}com', 'a:%{d}.com', 'a:x.%{d}',
            'a:%%.%{d}', 'a:foo.bar.', 'a:foo.bar..', 'a:.foo', 'a:foo.1com', 'a:foo.com1',
            'a:foo.c-m', 'a:foo.-cm', 'a:foo.cm-', 'a:foo.c_m', 'a:foo.12-34',
            'mx:foo.b4r', 'ptr:123', 'exists:a.b.c.%{d}x', 'a:foo.%_', 'a:foo.%-',
            'a:foo/24', 'a:foo.com/24', '+', '-', 'foo', 'a,', 'a:foo.com,',
            'ip4:192.0.2.10,', '=a', '*all', 'prt', 'ipv4:192.0.2.10', '192.0.2.10',
            'include:foo.com:bar', 'a:foo:bar.com', 'mx:foo.com:25', 'a:foo.com#bar',
            'a:foo.com?x', 'a:@.com', 'a:~.com', 'a:f{o}o.com', 'a:%{d}.%{d}',
            'exists:%{l}%{d}']
    for i, r in enumerate(recs):
        g.scenario(c, 'syn-%d' % i, 'v=spf1 %s ?all' % r, clients=(C4,))
        g.scenario(c, 'syn-late-%d' % i, 'v=spf1 ip4:192.0.2.10 %s ?all' % r, clients=(C4,))


def chars(g):
    c = 'chars'
    both = [b'v=spf1 \xc3\xa9 -all', b'v=spf1 a:caf\xc3\xa9.com -all',
            b'v=spf1 ip4:192.0.2.10 \x96all', b'v=spf1 -all \xef\xbb\xbf',
            b'v=spf1 a:ctrl.example.com\rptr -all', b'v=spf1 -all\x01',
            b'v=spf1 \x7fall', b'v=spf1 ip4:192.0.2.10\t-all', b'v=spf1 -all\x00',
            b'v=spf1 ip4:192.0.2.10 -all exp=\xc3\xa9.spf.test']
    for i, r in enumerate(both):
        g.scenario(c, 'chr-%d' % i, r, clients=(C4, C4X))
    note = ('RFC 7208 7.1: macro-literal is visible ASCII; pyspf passes control '
            'characters on into the name it looks up')
    g.scenario(c, 'chr-ctrl-domain', b'v=spf1 ip4:192.0.2.10 a:fo\x01o.spf.test -all',
               clients=(C4,), ours='permerror', note=note)
    g.scenario(c, 'chr-ctrl-modifier', b'v=spf1 ip4:192.0.2.10 -all foo=b\x02ar',
               clients=(C4,), ours='permerror', note=note)
    g.scenario(c, 'chr-del-domain', b'v=spf1 ip4:192.0.2.10 exists:a\x7fb.spf.test -all',
               clients=(C4,), ours='permerror', note=note)


def limits(g):
    c = 'limits'
    z = ZONE
    for n in range(1, 13):
        g.a('n%d.lim.%s' % (n, z), '192.0.2.%d' % (150 + n))
    for n in (9, 10, 11):
        terms = ' '.join('a:n%d.lim.%s' % (k, z) for k in range(1, n + 1))
        g.scenario(c, 'lim-a-%d' % n, 'v=spf1 %s -all' % terms,
                   clients=('192.0.2.%d' % (150 + n), '192.0.2.151', C4))
    # nested includes: the limit spans the whole evaluation
    for k in range(1, 12):
        nxt = 'include:l%d.lim.%s' % (k + 1, z) if k < 11 else 'ip4:192.0.2.10'
        g.txt('l%d.lim.%s' % (k, z), 'v=spf1 %s -all' % nxt)
    for start in (1, 2, 3):
        g.scenario(c, 'lim-chain-%d' % start, 'v=spf1 include:l%d.lim.%s -all' % (start, z),
                   clients=(C4,))
    # a redirect counts where it is parsed, even behind an "all"
    nine = ' '.join('a:n%d.lim.%s' % (k, z) for k in range(1, 10))
    ten = nine + ' a:n10.lim.' + z
    g.scenario(c, 'lim-redirect-counted', 'v=spf1 %s redirect=n1.lim.%s' % (ten, z),
               clients=('192.0.2.160', C4))
    g.scenario(c, 'lim-redirect-all', 'v=spf1 %s -all redirect=n1.lim.%s' % (nine, z),
               clients=('192.0.2.159', C4))
    g.scenario(c, 'lim-ip-free', 'v=spf1 %s ip4:192.0.2.10 ip4:192.0.2.11 -all' % ten,
               clients=(C4, '192.0.2.11', C4X))
    g.scenario(c, 'lim-exists-10', 'v=spf1 %s exists:n11.lim.%s -all' % (nine, z),
               clients=(C4,))
    g.scenario(c, 'lim-mx-ptr', 'v=spf1 %s mx ptr -all' % nine, clients=(C4,))
    # void lookups: 2 allowed, the 3rd is a permerror
    for n in (1, 2, 3, 4):
        terms = ' '.join('a:void%d.lim.%s' % (k, z) for k in range(n))
        g.scenario(c, 'lim-void-%d' % n, 'v=spf1 %s ip4:192.0.2.10 -all' % terms,
                   clients=(C4, C4X))
    g.scenario(c, 'lim-void-mixed',
               'v=spf1 exists:v1.lim.%s mx:v2.lim.%s a:v3.lim.%s -all' % (z, z, z),
               clients=(C4,))
    g.scenario(c, 'lim-void-include',
               'v=spf1 a:v1.lim.%s include:v2.lim.%s -all' % (z, z), clients=(C4,))
    g.scenario(c, 'lim-void-nodata', 'v=spf1 a:n1.lim.%s//64 a:n2.lim.%s//64 '
               'a:n3.lim.%s//64 -all' % (z, z, z), clients=(C6, C4))
    g.scenario(c, 'lim-void-exp-free', 'v=spf1 a:v1.lim.%s a:v2.lim.%s -all '
               'exp=v3.lim.%s' % (z, z, z), clients=(C4,))
    g.txt('vinc.lim.' + z, 'v=spf1 a:v8.lim.%s a:v9.lim.%s ?all' % (z, z))
    g.scenario(c, 'lim-void-across-include', 'v=spf1 a:v7.lim.%s include:vinc.lim.%s -all'
               % (z, z), clients=(C4,))


def mapped_and_helo(g):
    c = 'mapped'
    for i, rec in enumerate(('v=spf1 ip4:192.0.2.10 -all', 'v=spf1 ip6:::ffff:0:0/96 -all',
                             'v=spf1 a -all', 'v=spf1 mx -all', 'v=spf1 -all exp=e.$D')):
        d = g.scenario(c, 'map-%d' % i, rec, clients=(CM, '::ffff:198.51.100.7', C4,
                                                      '::ffff:c000:20a'))
        fix_d(g, d)
        g.a(d, '192.0.2.10', '::ffff:192.0.2.10')
        g.mx(d, 10, d)
        g.txt('e.' + d, '%{i} %{v} %{c} %{ir}')
    c = 'helo'
    for i, rec in enumerate(('v=spf1 a -all', 'v=spf1 -all exp=e.$D',
                             'v=spf1 -exists:%{l}.%{o}.%{s}.%{h}.x.$D ?all',
                             'v=spf1 ip4:192.0.2.10 ~all')):
        d = g.scenario(c, 'helo-%d' % i, rec, clients=(C4, C4X), sender='', helo='$D')
        fix_d(g, d)
        g.a(d, '192.0.2.10')
        g.txt('e.' + d, 'helo %{h} sender %{s} local %{l} domain %{o} %{d}')
    g.case(c, 'helo-ip-literal', C4, '', '[192.0.2.10]')
    g.txt('spfsingle', 'v=spf1 +all')
    g.case(c, 'helo-single-label', C4, '', 'spfsingle', ours='none',
           note='RFC 7208 4.3: a <domain> of one label is "none" without a lookup; '
                'pyspf looks it up')
    g.case(c, 'helo-empty', C4, '', '')
    g.case(c, 'helo-not-used', C4, 'joe@helo-0.' + ZONE, 'helo-1.' + ZONE)


def dns_errors(g):
    c = 'dnserror'
    b = BROKEN
    g.broken('top.' + b)
    g.case(c, 'err-top', C4, 'joe@top.' + b)
    g.case(c, 'err-helo', C4, '', 'top.' + b)
    for i, r in enumerate(('a:x.$B', 'mx:x.$B', 'exists:x.$B', 'include:x.$B',
                           'ip4:192.0.2.10 a:x.$B', 'a:x.$B ip4:192.0.2.10',
                           'mx:brokenmx.$D', 'redirect=x.$B', '-all exp=x.$B',
                           'a:%{l}.$B')):
        d = g.scenario(c, 'err-%d' % i, 'v=spf1 %s ?all' % r.replace('$B', b),
                       clients=(C4, C4X))
        fix_d(g, d)
        g.mx('brokenmx.' + d, 10, 'x.' + b)
    g.broken('x.' + b)
    g.broken('joe.' + b)
    # a server that never answers: pyspf and mailward must both give up
    d = g.scenario(c, 'err-timeout', 'v=spf1 a:x.%s -all' % SILENT, clients=(C4,))
    g.scenario(c, 'err-timeout-behind-match', 'v=spf1 ip4:192.0.2.10 a:x.%s -all' % SILENT,
               clients=(C4,))
    # ptr: RFC 7208 5.5 says a DNS error is no match; pyspf says temperror
    note = ('RFC 7208 5.5: a DNS error in ptr is no match (or skips the name); pyspf '
            'returns temperror')
    ip = '192.0.2.90'
    d = g.scenario(c, 'err-ptr-name', 'v=spf1 ptr -all', clients=(ip,), ours='fail',
                   note=note)
    g.ptr(ip, 'x.' + b)


def main():
    out = sys.argv[1]
    g = Gen()
    for part in (selection, all_mech, ip_mechs, a_mech, mx_mech, ptr_mech, exists_mech,
                 include_mech, redirect_mod, exp_mod, modifiers, macros, syntax, chars,
                 limits, mapped_and_helo, dns_errors):
        part(g)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'zones'), 'w') as f:
        f.write('\n'.join((ZONE, REV4, REV4X, REV6) + TLDS) + '\n')
    seen, lines = set(), []
    for line in g.records:
        assert '$D' not in line, line
        if line not in seen:  # DNS keeps one copy of identical records
            seen.add(line)
            lines.append(line)
    with open(os.path.join(out, 'records'), 'w', encoding='latin-1') as f:
        f.write('\n'.join(lines) + '\n')
    with open(os.path.join(out, 'cases'), 'w') as f:
        f.write('\n'.join(g.cases) + '\n')


if __name__ == '__main__':
    main()
