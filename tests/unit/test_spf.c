/*
 * test_spf - SPF check_host() against the in-memory resolver
 *
 * Tables of published records, a client and a sender, and the result
 * RFC 7208 (and pyspf, the reference) gives: every mechanism and modifier,
 * CIDR forms including /0, the processing limits, syntax errors, macros
 * and their transformers (seen through exp= explanations), IPv4-mapped
 * clients, DNS failures, and the Received-SPF header field.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dns.h"
#include "common/netaddr.h"
#include "common/spf.h"
#include "tests/unit/unit.h"

/* type: "TXT", "A" (either family), "MX" ("PREF NAME"), "PTR", "FAIL-A", ... */
struct rec {
	const char *name;
	const char *type;
	const char *data;
};

struct spf_case {
	const char *what;
	const char *client;
	const char *mail_from;
	struct rec recs[14];
	enum spf_result want;
	const char *want_mech; /* NULL: not checked */
};

#define E    "example.com"
#define C4   "192.0.2.10"
#define C6   "2001:db8::10"
#define CM   "::ffff:192.0.2.10"
#define FROM "joe@example.com"

static enum dns_type
type_of(const char *t)
{
	if (strcmp(t, "TXT") == 0)
		return DNS_T_TXT;
	if (strcmp(t, "MX") == 0)
		return DNS_T_MX;
	if (strcmp(t, "PTR") == 0)
		return DNS_T_PTR;
	if (strcmp(t, "AAAA") == 0)
		return DNS_T_AAAA;
	return DNS_T_A;
}

static struct dns_resolver *
zone_new(const struct rec *recs, size_t n)
{
	struct dns_resolver *r = dns_static_new();

	for (size_t i = 0; i < n && recs[i].name != NULL; i++) {
		const struct rec *x = &recs[i];
		if (strncmp(x->type, "FAIL-", 5) == 0)
			dns_static_fail(r, x->name, type_of(x->type + 5));
		else if (strcmp(x->type, "TXT") == 0)
			dns_static_txt(r, x->name, x->data);
		else if (strcmp(x->type, "A") == 0)
			dns_static_addr(r, x->name, x->data);
		else if (strcmp(x->type, "MX") == 0)
			dns_static_mx(r, x->name, (uint16_t)atoi(x->data),
			              strchr(x->data, ' ') + 1);
		else if (strcmp(x->type, "PTR") == 0)
			dns_static_ptr(r, x->name, x->data);
		else
			fail_msg("bad record type %s", x->type);
	}
	return r;
}

static enum spf_result
run(struct dns_resolver *r, const char *client, const char *from, const char *helo,
    struct spf_outcome *out)
{
	struct sockaddr_storage ss;
	struct spf_request req = { 0 };

	assert_true(sockaddr_pton(client, &ss));
	req.client = (const struct sockaddr *)&ss;
	req.mail_from = from;
	req.helo = helo;
	req.receiver = "mx.example.net";
	req.now = 1700000000;
	return spf_check_mail_from(r, NULL, &req, out);
}

static void
run_table(const struct spf_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct spf_case *c = &cases[i];
		struct dns_resolver *r = zone_new(c->recs, ARRAY_LEN(c->recs));
		struct spf_outcome out;
		enum spf_result got =
		    run(r, c->client, c->mail_from ? c->mail_from : FROM, "helo.example.org", &out);

		if (got != c->want)
			fail_msg("%s: got %s (%s), want %s", c->what, spf_result_name(got),
			         out.problem ? out.problem : "-", spf_result_name(c->want));
		if (c->want_mech != NULL &&
		    (out.mechanism == NULL || strcmp(out.mechanism, c->want_mech) != 0))
			fail_msg("%s: mechanism %s, want %s", c->what,
			         out.mechanism ? out.mechanism : "(none)", c->want_mech);
		if ((got == SPF_PERMERROR || got == SPF_TEMPERROR) != (out.problem != NULL))
			fail_msg("%s: problem must be set exactly for errors", c->what);
		spf_outcome_free(&out);
		dns_resolver_free(r);
	}
}

static const struct spf_case selection_cases[] = {
	{ "no record", C4, NULL, { { E, "A", C4 } }, SPF_NONE, NULL },
	{ "no such domain", C4, NULL, { { "other.org", "A", C4 } }, SPF_NONE, NULL },
	{ "TXT that is not SPF", C4, NULL, { { E, "TXT", "v=spf10 -all" } }, SPF_NONE, NULL },
	{ "version only", C4, NULL, { { E, "TXT", "v=spf1" } }, SPF_NEUTRAL, NULL },
	{ "version any case", C4, NULL, { { E, "TXT", "V=SpF1 -all" } }, SPF_FAIL, "-all" },
	{ "two records",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 -all" }, { E, "TXT", "v=spf1 +all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "one SPF among others",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 +all" }, { E, "TXT", "v=spf10 -all" }, { E, "TXT", "x" } },
	  SPF_PASS,
	  "+all" },
	{ "tab is no separator", C4, NULL, { { E, "TXT", "v=spf1\t-all" } }, SPF_NONE, NULL },
	{ "TXT tempfail", C4, NULL, { { E, "FAIL-TXT", NULL } }, SPF_TEMPERROR, NULL },
	{ "trailing dot", C4, "joe@example.com.", { { E, "TXT", "v=spf1 -all" } }, SPF_NONE, NULL },
	{ "empty label",
	  C4,
	  "joe@a..example.com",
	  { { "a..example.com", "TXT", "v=spf1 -all" } },
	  SPF_NONE,
	  NULL },
	{ "single label",
	  C4,
	  "joe@localhost",
	  { { "localhost", "TXT", "v=spf1 -all" } },
	  SPF_NONE,
	  NULL },
	{ "label of 64",
	  C4,
	  "joe@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  { { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", "TXT",
	      "v=spf1 -all" } },
	  SPF_NONE,
	  NULL },
	{ "domain after the last @",
	  C4,
	  "\"a@b\"@example.com",
	  { { E, "TXT", "v=spf1 -all" } },
	  SPF_FAIL,
	  NULL },
	{ "no local part", C4, "@example.com", { { E, "TXT", "v=spf1 -all" } }, SPF_FAIL, NULL },
	{ "trailing space", C4, NULL, { { E, "TXT", "v=spf1 -all " } }, SPF_FAIL, NULL },
	{ "many spaces", C4, NULL, { { E, "TXT", "v=spf1   ?all  -all" } }, SPF_NEUTRAL, "?all" },
};

static const struct spf_case mechanism_cases[] = {
	{ "ip4 match",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ip4:192.0.2.10 -all" } },
	  SPF_PASS,
	  "ip4:192.0.2.10" },
	{ "ip4 /24", C4, NULL, { { E, "TXT", "v=spf1 ip4:192.0.2.0/24 -all" } }, SPF_PASS, NULL },
	{ "ip4 /31 host bits",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ip4:192.0.2.11/31 -all" } },
	  SPF_PASS,
	  NULL },
	{ "ip4 /32 miss",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ip4:192.0.2.11/32 -all" } },
	  SPF_FAIL,
	  "-all" },
	{ "ip4 /0", C4, NULL, { { E, "TXT", "v=spf1 ip4:0.0.0.0/0 -all" } }, SPF_PASS, NULL },
	{ "ip4 /0 not for IPv6",
	  C6,
	  NULL,
	  { { E, "TXT", "v=spf1 ip4:0.0.0.0/0 -all" } },
	  SPF_FAIL,
	  NULL },
	{ "ip4 /33",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ip4:192.0.2.10/33 -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "ip4 leading zero",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ip4:192.0.2.010 -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "ip4 prefix leading zero",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ip4:192.0.2.10/01 -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "ip4 dual CIDR",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ip4:192.0.2.10//64 -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "ip6 match",
	  C6,
	  NULL,
	  { { E, "TXT", "v=spf1 ip6:2001:db8::/32 -all" } },
	  SPF_PASS,
	  NULL },
	{ "ip6 /0", C6, NULL, { { E, "TXT", "v=spf1 ip6:::/0 -all" } }, SPF_PASS, NULL },
	{ "ip6 /127",
	  C6,
	  NULL,
	  { { E, "TXT", "v=spf1 ip6:2001:db8::11/127 -all" } },
	  SPF_PASS,
	  NULL },
	{ "ip6 /129",
	  C6,
	  NULL,
	  { { E, "TXT", "v=spf1 ip6:2001:db8::10/129 -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "ip6 not for IPv4", C4, NULL, { { E, "TXT", "v=spf1 ip6:::/0 -all" } }, SPF_FAIL, NULL },
	{ "ip6 bad", C6, NULL, { { E, "TXT", "v=spf1 ip6:1::2::3 -all" } }, SPF_PERMERROR, NULL },
	{ "a", C4, NULL, { { E, "TXT", "v=spf1 a -all" }, { E, "A", C4 } }, SPF_PASS, "a" },
	{ "a IPv6", C6, NULL, { { E, "TXT", "v=spf1 a -all" }, { E, "A", C6 } }, SPF_PASS, NULL },
	{ "a/24",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a/24 -all" }, { E, "A", "192.0.2.200" } },
	  SPF_PASS,
	  NULL },
	{ "a/24 is IPv4 only",
	  C6,
	  NULL,
	  { { E, "TXT", "v=spf1 a/24 -all" }, { E, "A", "2001:db8::11" } },
	  SPF_FAIL,
	  NULL },
	{ "a//64",
	  C6,
	  NULL,
	  { { E, "TXT", "v=spf1 a//64 -all" }, { E, "A", "2001:db8::11" } },
	  SPF_PASS,
	  NULL },
	{ "a/0//0",
	  C6,
	  NULL,
	  { { E, "TXT", "v=spf1 a/0//0 -all" }, { E, "A", "2001:db9::1" } },
	  SPF_PASS,
	  NULL },
	{ "a/0 needs an address", C4, NULL, { { E, "TXT", "v=spf1 a/0 -all" } }, SPF_FAIL, NULL },
	{ "a:other",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:mail.example.com -all" }, { "mail." E, "A", C4 } },
	  SPF_PASS,
	  "a:mail.example.com" },
	{ "a/33", C4, NULL, { { E, "TXT", "v=spf1 a/33 -all" } }, SPF_PERMERROR, NULL },
	{ "a//129", C4, NULL, { { E, "TXT", "v=spf1 a//129 -all" } }, SPF_PERMERROR, NULL },
	{ "a tempfail",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a -all" }, { E, "FAIL-A", NULL } },
	  SPF_TEMPERROR,
	  NULL },
	{ "mx",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 mx -all" },
	    { E, "MX", "10 mx1.example.com" },
	    { E, "MX", "20 mx2.example.com" },
	    { "mx1." E, "A", "192.0.2.1" },
	    { "mx2." E, "A", C4 } },
	  SPF_PASS,
	  "mx" },
	{ "mx/24 IPv4-mapped",
	  CM,
	  NULL,
	  { { E, "TXT", "v=spf1 mx/24 -all" },
	    { E, "MX", "10 mx1.example.com" },
	    { "mx1." E, "A", "192.0.2.1" } },
	  SPF_PASS,
	  NULL },
	{ "mx exchange tempfail",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 mx -all" },
	    { E, "MX", "10 mx1.example.com" },
	    { E, "MX", "20 mx2.example.com" },
	    { "mx1." E, "A", C4 },
	    { "mx2." E, "FAIL-A", NULL } },
	  SPF_TEMPERROR,
	  NULL },
	{ "null MX",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 mx -all" }, { E, "MX", "0 " } },
	  SPF_FAIL,
	  NULL },
	{ "exists",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 exists:%{ir}.bl.example.com -all" },
	    { "10.2.0.192.bl." E, "A", "127.0.0.2" } },
	  SPF_PASS,
	  "exists:%{ir}.bl.example.com" },
	{ "exists asks A for IPv6",
	  C6,
	  NULL,
	  { { E, "TXT", "v=spf1 exists:x.example.com -all" }, { "x." E, "A", "127.0.0.2" } },
	  SPF_PASS,
	  NULL },
	{ "exists without target",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 exists -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "exists with CIDR",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 exists:x.example.com/24 -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "ptr",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ptr -all" },
	    { "10.2.0.192.in-addr.arpa", "PTR", "mail." E },
	    { "mail." E, "A", C4 } },
	  SPF_PASS,
	  "ptr" },
	{ "ptr unvalidated",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ptr -all" },
	    { "10.2.0.192.in-addr.arpa", "PTR", "mail." E },
	    { "mail." E, "A", "192.0.2.99" } },
	  SPF_FAIL,
	  NULL },
	{ "ptr suffix on a label boundary",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ptr:ample.com -all" },
	    { "10.2.0.192.in-addr.arpa", "PTR", "mail." E },
	    { "mail." E, "A", C4 } },
	  SPF_FAIL,
	  NULL },
	{ "ptr IPv6",
	  C6,
	  NULL,
	  { { E, "TXT", "v=spf1 ptr -all" },
	    { "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR",
	      "mail." E },
	    { "mail." E, "A", C6 } },
	  SPF_PASS,
	  NULL },
	{ "ptr PTR tempfail is no match",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ptr -all" }, { "10.2.0.192.in-addr.arpa", "FAIL-PTR", NULL } },
	  SPF_FAIL,
	  NULL },
	{ "ptr skips a name that fails",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ptr -all" },
	    { "10.2.0.192.in-addr.arpa", "PTR", "bad." E },
	    { "10.2.0.192.in-addr.arpa", "PTR", "mail." E },
	    { "bad." E, "FAIL-A", NULL },
	    { "mail." E, "A", C4 } },
	  SPF_PASS,
	  NULL },
	{ "all qualifiers", C4, NULL, { { E, "TXT", "v=spf1 ~all" } }, SPF_SOFTFAIL, "~all" },
	{ "all with argument", C4, NULL, { { E, "TXT", "v=spf1 -all:x" } }, SPF_PERMERROR, NULL },
};

static const struct spf_case include_redirect_cases[] = {
	{ "include pass",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 include:i.example.org -all" },
	    { "i.example.org", "TXT", "v=spf1 ip4:192.0.2.10 -all" } },
	  SPF_PASS,
	  "include:i.example.org" },
	{ "include fail is no match",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 include:i.example.org ?all" },
	    { "i.example.org", "TXT", "v=spf1 -all" } },
	  SPF_NEUTRAL,
	  "?all" },
	{ "-include pass",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 -include:i.example.org +all" },
	    { "i.example.org", "TXT", "v=spf1 +all" } },
	  SPF_FAIL,
	  NULL },
	{ "include of no record",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 include:i.example.org -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "include of a permerror",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 include:i.example.org -all" },
	    { "i.example.org", "TXT", "v=spf1 foo" } },
	  SPF_PERMERROR,
	  NULL },
	{ "include of a tempfail",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 include:i.example.org -all" },
	    { "i.example.org", "FAIL-TXT", NULL } },
	  SPF_TEMPERROR,
	  NULL },
	{ "include of itself",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ip4:192.0.2.10 include:example.com -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "include loop",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 include:i.example.org -all" },
	    { "i.example.org", "TXT", "v=spf1 include:example.com -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "redirect",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 redirect=r.example.org" },
	    { "r.example.org", "TXT", "v=spf1 ip4:192.0.2.10 -all" } },
	  SPF_PASS,
	  "ip4:192.0.2.10" },
	{ "redirect ignored after all",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 -all redirect=r.example.org" },
	    { "r.example.org", "TXT", "v=spf1 +all" } },
	  SPF_FAIL,
	  NULL },
	{ "redirect to no record",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 redirect=r.example.org" } },
	  SPF_PERMERROR,
	  NULL },
	{ "redirect twice",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 redirect=r.example.org redirect=r.example.org" },
	    { "r.example.org", "TXT", "v=spf1 +all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "redirect any case",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ReDirect=r.example.org" },
	    { "r.example.org", "TXT", "v=spf1 +all" } },
	  SPF_PASS,
	  NULL },
	{ "redirect loop",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 redirect=r.example.org" },
	    { "r.example.org", "TXT", "v=spf1 redirect=example.com" } },
	  SPF_PERMERROR,
	  NULL },
	{ "unknown modifiers, repeated",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 foo=1 foo=%{d} bar.baz-x_y= -all" } },
	  SPF_FAIL,
	  NULL },
	{ "unknown modifier with a bad macro",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 -all foo=%{x}" } },
	  SPF_PERMERROR,
	  NULL },
	{ "exp twice",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 -all exp=e.example.com exp=e.example.com" } },
	  SPF_PERMERROR,
	  NULL },
	{ "exp empty", C4, NULL, { { E, "TXT", "v=spf1 -all exp=" } }, SPF_PERMERROR, NULL },
};

static const struct spf_case syntax_cases[] = {
	{ "unknown mechanism",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 ip4:192.0.2.10 moo -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "error after a match",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 +all a:foo" } },
	  SPF_PERMERROR,
	  NULL },
	{ "numeric toplabel",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:foo.123 -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "dash toplabel", C4, NULL, { { E, "TXT", "v=spf1 a:foo.1-2 -all" } }, SPF_FAIL, NULL },
	{ "toplabel ends in dash",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:foo.ab- -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "trailing dot allowed",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:mail.example.com. -all" }, { "mail." E, "A", C4 } },
	  SPF_PASS,
	  NULL },
	{ "two trailing dots",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:example.com.. -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "macro ends the spec",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:%{d} -all" }, { E, "A", C4 } },
	  SPF_PASS,
	  NULL },
	{ "letters after a macro",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:%{d}com -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "modifier name then slash",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 moo/x=y -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "qualifier alone", C4, NULL, { { E, "TXT", "v=spf1 - -all" } }, SPF_PERMERROR, NULL },
	{ "bad qualifier", C4, NULL, { { E, "TXT", "v=spf1 !all" } }, SPF_PERMERROR, NULL },
	{ "8-bit byte",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:caf\xc3\xa9.com -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "control character",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:f\x01o.com -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "c macro in a domain",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:%{c}.x.com -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "zero transformer",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:%{d0}.x.com -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "junk in a macro",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:%{dd}.x.com -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "lone percent",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:%x.x.com -all" } },
	  SPF_PERMERROR,
	  NULL },
	{ "macro target", C4, NULL, { { E, "TXT", "v=spf1 a:%{h} -all" } }, SPF_FAIL, NULL },
};

static const struct spf_case limit_cases[] = {
	{ "10 DNS terms",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a a a a a a a a a a:m.example.com -all" },
	    { "m." E, "A", C4 },
	    { E, "A", "192.0.2.99" } },
	  SPF_PASS,
	  NULL },
	{ "11 DNS terms",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a a a a a a a a a a a:m.example.com -all" },
	    { "m." E, "A", C4 },
	    { E, "A", "192.0.2.99" } },
	  SPF_PERMERROR,
	  NULL },
	{ "ip4 and all are free",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a a a a a a a a a a ip4:192.0.2.10 -all" },
	    { E, "A", "192.0.2.99" } },
	  SPF_PASS,
	  NULL },
	{ "a redirect counts even behind all",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a a a a a a a a a a:m.example.com -all redirect=r.example.com" },
	    { "m." E, "A", C4 },
	    { E, "A", "192.0.2.99" } },
	  SPF_PERMERROR,
	  NULL },
	{ "2 void lookups",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:v1.example.com a:v2.example.com ip4:192.0.2.10 -all" } },
	  SPF_PASS,
	  NULL },
	{ "3 void lookups",
	  C4,
	  NULL,
	  { { E, "TXT",
	      "v=spf1 a:v1.example.com a:v2.example.com a:v3.example.com ip4:192.0.2.10" } },
	  SPF_PERMERROR,
	  NULL },
	{ "a name that cannot be is not void",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 a:v1.example.com a:v2.example.com a:a..example.com -all" } },
	  SPF_FAIL,
	  NULL },
	{ "11 MX",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 mx -all" },
	    { E, "MX", "1 m.example.com" },
	    { E, "MX", "2 m.example.com" },
	    { E, "MX", "3 m.example.com" },
	    { E, "MX", "4 m.example.com" },
	    { E, "MX", "5 m.example.com" },
	    { E, "MX", "6 m.example.com" },
	    { E, "MX", "7 m.example.com" },
	    { E, "MX", "8 m.example.com" },
	    { E, "MX", "9 m.example.com" },
	    { E, "MX", "10 m.example.com" },
	    { E, "MX", "11 m.example.com" },
	    { "m." E, "A", C4 } },
	  SPF_PERMERROR,
	  NULL },
	{ "10 MX",
	  C4,
	  NULL,
	  { { E, "TXT", "v=spf1 mx -all" },
	    { E, "MX", "1 m.example.com" },
	    { E, "MX", "2 m.example.com" },
	    { E, "MX", "3 m.example.com" },
	    { E, "MX", "4 m.example.com" },
	    { E, "MX", "5 m.example.com" },
	    { E, "MX", "6 m.example.com" },
	    { E, "MX", "7 m.example.com" },
	    { E, "MX", "8 m.example.com" },
	    { E, "MX", "9 m.example.com" },
	    { E, "MX", "10 m.example.com" },
	    { "m." E, "A", C4 } },
	  SPF_PASS,
	  NULL },
};

static void
selection_picks_one_record(void **state)
{
	(void)state;
	run_table(selection_cases, ARRAY_LEN(selection_cases));
}

static void
mechanisms_match_as_published(void **state)
{
	(void)state;
	run_table(mechanism_cases, ARRAY_LEN(mechanism_cases));
}

static void
include_and_redirect_recurse(void **state)
{
	(void)state;
	run_table(include_redirect_cases, ARRAY_LEN(include_redirect_cases));
}

static void
syntax_errors_are_permerrors(void **state)
{
	(void)state;
	run_table(syntax_cases, ARRAY_LEN(syntax_cases));
}

static void
processing_limits_hold(void **state)
{
	(void)state;
	run_table(limit_cases, ARRAY_LEN(limit_cases));
}

/* Macros, seen through the explanation of a fail. */
struct macro_case {
	const char *client;
	const char *mail_from;
	const char *text; /* the exp= TXT record */
	const char *want; /* NULL: no explanation */
};

static const struct macro_case macro_cases[] = {
	{ C4, "strong-bad@email.example.com", "%{s}", "strong-bad@email.example.com" },
	{ C4, "strong-bad@email.example.com", "%{o} %{d} %{d4} %{d3} %{d2} %{d1}",
	  "email.example.com email.example.com email.example.com email.example.com example.com "
	  "com" },
	{ C4, "strong-bad@email.example.com", "%{dr} %{d2r} %{l} %{l-} %{lr} %{lr-} %{l1r-}",
	  "com.example.email example.email strong-bad strong.bad strong-bad bad.strong strong" },
	{ C4, "strong-bad@email.example.com", "%{ir}.%{v}._spf.%{d2}",
	  "10.2.0.192.in-addr._spf.example.com" },
	{ C4, "a.b-c+d=e@email.example.com", "%{l-+=} %{lr-+=} %{l2.}",
	  "a.b.c.d.e e.d.c.a.b a.b-c+d=e" },
	{ C6, "joe@email.example.com", "%{i}",
	  "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0" },
	{ C6, "joe@email.example.com", "%{c} %{v}", "2001:db8::10 ip6" },
	{ "2001:db8:0:1:0:0:0:1", "joe@email.example.com", "%{c}", "2001:db8:0:1::1" },
	{ "2001:db8:0:0:1:0:0:1", "joe@email.example.com", "%{c}", "2001:db8::1:0:0:1" },
	{ "2001:0:0:1:0:0:0:0", "joe@email.example.com", "%{c}", "2001:0:0:1::" },
	{ CM, "joe@email.example.com", "%{i} %{v} %{c}", "192.0.2.10 in-addr 192.0.2.10" },
	{ C4, "joe@email.example.com", "%{h} %{r} %{t}",
	  "helo.example.org mx.example.net 1700000000" },
	{ C4, "joe+x@email.example.com", "%{L} %{S}", "joe%2Bx joe%2Bx%40email.example.com" },
	{ C4, "joe@email.example.com", "%% %_ %-", "%   %20" },
	{ C4, "joe@email.example.com", "%{d999999999999999999}", "email.example.com" },
	{ C4, "@email.example.com", "%{l} %{s}", "postmaster postmaster@email.example.com" },
	{ C4, "", "%{l} %{s} %{o} %{d}",
	  "postmaster postmaster@helo.example.org helo.example.org helo.example.org" },
	{ C4, "joe@email.example.com", "%{dR}", "com.example.email" },
	{ C4, "joe@email.example.com", "bad %{x}", NULL },
	{ C4, "joe@email.example.com", "bad %", NULL },
	{ C4, "joe@email.example.com", "tab\there", NULL },
	{ C4, "joe@email.example.com", "", NULL },
	{ C4, "joe@email.example.com", "%{p}", "unknown" },
};

static void
macros_expand_in_explanations(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(macro_cases); i++) {
		const struct macro_case *c = &macro_cases[i];
		const char *from = c->mail_from;
		const char *dom = from[0] ? strrchr(from, '@') + 1 : "helo.example.org";
		struct dns_resolver *r = dns_static_new();
		struct spf_outcome out;

		dns_static_txt(r, dom, "v=spf1 -all exp=e.example.net");
		dns_static_txt(r, "e.example.net", c->text);
		assert_int_equal(run(r, c->client, from, "helo.example.org", &out), SPF_FAIL);
		if (c->want == NULL ? out.explanation != NULL
		                    : out.explanation == NULL || strcmp(out.explanation, c->want))
			fail_msg("\"%s\" expanded to \"%s\", want \"%s\"", c->text,
			         out.explanation ? out.explanation : "(none)",
			         c->want ? c->want : "(none)");
		spf_outcome_free(&out);
		dns_resolver_free(r);
	}
}

static void
explanation_comes_from_the_deciding_record(void **state)
{
	struct dns_resolver *r = dns_static_new();
	struct spf_outcome out;

	(void)state;
	dns_static_txt(r, E, "v=spf1 include:i.example.org redirect=r.example.org exp=e1." E);
	dns_static_txt(r, "i.example.org", "v=spf1 -all exp=e2." E);
	dns_static_txt(r, "r.example.org", "v=spf1 -all exp=e3." E);
	dns_static_txt(r, "e1." E, "own");
	dns_static_txt(r, "e2." E, "included");
	dns_static_txt(r, "e3." E, "redirected to %{d}");
	assert_int_equal(run(r, C4, FROM, "h.example.org", &out), SPF_FAIL);
	assert_string_equal(out.explanation, "redirected to r.example.org");
	assert_string_equal(out.mechanism, "-all");
	spf_outcome_free(&out);
	/* a softfail carries none */
	dns_static_txt(r, "s." E, "v=spf1 ~all exp=e1." E);
	assert_int_equal(run(r, C4, "joe@s." E, "h.example.org", &out), SPF_SOFTFAIL);
	assert_null(out.explanation);
	spf_outcome_free(&out);
	dns_resolver_free(r);
}

static void
ptr_macro_prefers_the_domain(void **state)
{
	struct dns_resolver *r = dns_static_new();
	struct spf_outcome out;

	(void)state;
	dns_static_txt(r, E, "v=spf1 -all exp=e." E);
	dns_static_txt(r, "e." E, "%{p} %{p2}");
	dns_static_ptr(r, "10.2.0.192.in-addr.arpa", "other.example.org");
	dns_static_ptr(r, "10.2.0.192.in-addr.arpa", "mail.example.com");
	dns_static_ptr(r, "10.2.0.192.in-addr.arpa", "fake.example.com");
	dns_static_addr(r, "other.example.org", C4);
	dns_static_addr(r, "mail.example.com", C4);
	assert_int_equal(run(r, C4, FROM, "h.example.org", &out), SPF_FAIL);
	assert_string_equal(out.explanation, "mail.example.com example.com");
	spf_outcome_free(&out);
	dns_resolver_free(r);
}

static void
helo_identity_checks_postmaster_at_helo(void **state)
{
	struct dns_resolver *r = dns_static_new();
	struct sockaddr_storage ss;
	struct spf_request req = { 0 };
	struct spf_outcome out;

	(void)state;
	dns_static_txt(r, "helo.example.org", "v=spf1 a -all");
	dns_static_addr(r, "helo.example.org", C4);
	dns_static_txt(r, E, "v=spf1 -all");
	assert_true(sockaddr_pton(C4, &ss));
	req.client = (const struct sockaddr *)&ss;
	req.mail_from = FROM;
	req.helo = "helo.example.org";
	assert_int_equal(spf_check_helo(r, NULL, &req, &out), SPF_PASS);
	assert_int_equal(out.identity, SPF_ID_HELO);
	assert_string_equal(out.sender, "postmaster@helo.example.org");
	assert_string_equal(out.domain, "helo.example.org");
	spf_outcome_free(&out);
	assert_int_equal(spf_check_mail_from(r, NULL, &req, &out), SPF_FAIL);
	assert_int_equal(out.identity, SPF_ID_MAILFROM);
	spf_outcome_free(&out);
	req.mail_from = "";
	assert_int_equal(spf_check_mail_from(r, NULL, &req, &out), SPF_PASS);
	assert_int_equal(out.identity, SPF_ID_HELO);
	spf_outcome_free(&out);
	dns_resolver_free(r);
}

static void
spent_budget_is_a_temperror(void **state)
{
	struct dns_resolver *r = dns_static_new();
	struct sockaddr_storage ss;
	struct spf_request req = { 0 };
	struct dns_budget budget = { .deadline_us = 1 }; /* long past */
	struct spf_outcome out;

	(void)state;
	dns_static_txt(r, E, "v=spf1 -all");
	assert_true(sockaddr_pton(C4, &ss));
	req.client = (const struct sockaddr *)&ss;
	req.mail_from = FROM;
	assert_int_equal(spf_check_mail_from(r, &budget, &req, &out), SPF_TEMPERROR);
	assert_non_null(strstr(out.problem, "budget"));
	spf_outcome_free(&out);
	dns_resolver_free(r);
}

static void
evaluation_stops_at_the_first_match(void **state)
{
	struct dns_resolver *r = dns_static_new();
	struct spf_outcome out;

	(void)state;
	dns_static_txt(r, E, "v=spf1 ip4:192.0.2.10 a mx include:x.example.org -all");
	assert_int_equal(run(r, C4, FROM, "h.example.org", &out), SPF_PASS);
	assert_int_equal(dns_static_lookups(r), 1); /* the TXT record only */
	spf_outcome_free(&out);
	dns_resolver_free(r);
}

struct header_case {
	enum spf_result result;
	const char *from;
	const char *mech;
	const char *problem;
	const char *want;
};

static const struct header_case header_cases[] = {
	{ SPF_PASS, FROM, "ip4:192.0.2.0/24", NULL,
	  "pass (mx.example.net: domain of joe@example.com designates 192.0.2.10 as permitted "
	  "sender) client-ip=192.0.2.10; envelope-from=\"joe@example.com\"; helo=helo.example.org; "
	  "receiver=mx.example.net; mechanism=\"ip4:192.0.2.0/24\"; identity=mailfrom" },
	{ SPF_PERMERROR, "a\"b\\c(d)@example.com", NULL, "unknown mechanism: moo",
	  "permerror (mx.example.net: permanent error in processing the record of "
	  "a\"b\\\\c\\(d\\)@example.com) client-ip=192.0.2.10; envelope-from=\"a\\\"b\\\\c(d)"
	  "@example.com\"; helo=helo.example.org; receiver=mx.example.net; problem=\"unknown "
	  "mechanism: moo\"; identity=mailfrom" },
};

static void
received_spf_is_well_formed(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(header_cases); i++) {
		const struct header_case *c = &header_cases[i];
		struct sockaddr_storage ss;
		struct spf_request req = { 0 };
		struct spf_outcome out = { 0 };
		struct buf b = BUF_INIT;

		assert_true(sockaddr_pton(C4, &ss));
		req.client = (const struct sockaddr *)&ss;
		req.mail_from = c->from;
		req.helo = "helo.example.org";
		req.receiver = "mx.example.net";
		out.result = c->result;
		out.sender = (char *)c->from;
		out.mechanism = (char *)c->mech;
		out.problem = (char *)c->problem;
		spf_received_spf(&b, &req, &out);
		assert_string_equal(buf_str(&b), c->want);
		buf_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(selection_picks_one_record),
		cmocka_unit_test(mechanisms_match_as_published),
		cmocka_unit_test(include_and_redirect_recurse),
		cmocka_unit_test(syntax_errors_are_permerrors),
		cmocka_unit_test(processing_limits_hold),
		cmocka_unit_test(macros_expand_in_explanations),
		cmocka_unit_test(explanation_comes_from_the_deciding_record),
		cmocka_unit_test(ptr_macro_prefers_the_domain),
		cmocka_unit_test(helo_identity_checks_postmaster_at_helo),
		cmocka_unit_test(spent_budget_is_a_temperror),
		cmocka_unit_test(evaluation_stops_at_the_first_match),
		cmocka_unit_test(received_spf_is_well_formed),
	};
	return cmocka_run_group_tests_name("spf", tests, NULL, NULL);
}
