/*
 * test_dmarc - DMARC as RFC 9989 (DMARCbis) has it, case by case
 *
 * Every case names the section of RFC 9989 it checks.  DNS comes from an
 * in-memory zone: the dns_static backend behind a thin wrapper that makes
 * chosen name/type pairs fail for now without making the name exist (a
 * dns_static_fail() entry would turn the name's other types into NODATA),
 * and counts every lookup, so a case can say how many queries it takes.
 *
 * Zone lines read "NAME TYPE DATA": TXT text, A/AAAA address, MX exchange,
 * or SERVFAIL for a temporary failure of that name and type.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/dns_impl.h"
#include "common/xalloc.h"
#include "policy/dmarc.h"
#include "tests/unit/unit.h"

#define MAX_RR     12
#define MAX_FAIL   4
#define DMARC(d)   "_dmarc." d " TXT "
#define QUERIES(n) .queries = (n) + 1 /* 0: not checked */

#define NONE DMARC_POLICY_NONE
#define QUAR DMARC_POLICY_QUARANTINE
#define REJ  DMARC_POLICY_REJECT

/* ------------------------------------------------------------ test zone */

struct zone {
	struct dns_resolver base; /* first: the resolver is cast to this */
	struct dns_resolver *inner;
	char *fail_name[MAX_FAIL];
	enum dns_type fail_type[MAX_FAIL];
	size_t n_fail;
	unsigned lookups;
};

static void
zone_lookup(struct dns_resolver *resolver, const char *name, enum dns_type type,
            unsigned timeout_ms, struct dns_answer *ans)
{
	struct zone *z = (struct zone *)resolver;

	z->lookups++;
	for (size_t i = 0; i < z->n_fail; i++) {
		if (z->fail_type[i] == type && strcasecmp(z->fail_name[i], name) == 0) {
			dns_answer_tempfail(ans, "SERVFAIL (test)");
			return;
		}
	}
	z->inner->ops->lookup(z->inner, name, type, timeout_ms, ans);
}

static void
zone_free(struct dns_resolver *resolver)
{
	struct zone *z = (struct zone *)resolver;

	for (size_t i = 0; i < z->n_fail; i++)
		free(z->fail_name[i]);
	dns_resolver_free(z->inner);
	free(z);
}

static const struct dns_ops zone_ops = { zone_lookup, zone_free };

static enum dns_type
type_named(const char *word)
{
	static const struct {
		const char *name;
		enum dns_type type;
	} types[] = {
		{ "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "MX", DNS_T_MX }, { "TXT", DNS_T_TXT }
	};

	for (size_t i = 0; i < ARRAY_LEN(types); i++)
		if (strcmp(word, types[i].name) == 0)
			return types[i].type;
	fail_msg("unknown type %s in a test zone", word);
	return DNS_T_TXT;
}

static void
zone_add(struct zone *z, const char *line)
{
	char name[256], word[8];
	int off = 0;
	enum dns_type type;
	const char *data;

	if (sscanf(line, "%255s %7s %n", name, word, &off) != 2 || off == 0)
		fail_msg("bad zone line \"%s\"", line);
	type = type_named(word);
	data = line + off;
	if (strcmp(data, "SERVFAIL") == 0) {
		assert_true(z->n_fail < MAX_FAIL);
		z->fail_name[z->n_fail] = xstrdup(name);
		z->fail_type[z->n_fail++] = type;
	} else if (type == DNS_T_TXT) {
		dns_static_txt(z->inner, name, data);
	} else if (type == DNS_T_MX) {
		dns_static_mx(z->inner, name, 10, data);
	} else {
		dns_static_addr(z->inner, name, data);
	}
}

static struct dns_resolver *
zone_new(const char *const *lines)
{
	struct zone *z = xcalloc(1, sizeof(*z));

	z->inner = dns_static_new();
	z->base = *z->inner;
	z->base.ops = &zone_ops;
	for (size_t i = 0; i < MAX_RR && lines[i] != NULL; i++)
		zone_add(z, lines[i]);
	return &z->base;
}

static unsigned
zone_lookups(const struct dns_resolver *resolver)
{
	return ((const struct zone *)resolver)->lookups;
}

/* ------------------------------------------------------------- checking */

#define CHECK(c, what, got, want)                                                                  \
	do {                                                                                       \
		long long got_ = (long long)(got), want_ = (long long)(want);                      \
		if (got_ != want_)                                                                 \
			fail_msg("RFC 9989 %s, %s: %s is %lld, expected %lld", (c)->section,       \
			         (c)->name, what, got_, want_);                                    \
	} while (0)

#define CHECK_STR(c, what, got, want)                                                              \
	do {                                                                                       \
		const char *got_ = (got), *want_ = (want);                                         \
		if ((got_ == NULL) != (want_ == NULL) ||                                           \
		    (got_ != NULL && strcmp(got_, want_) != 0))                                    \
			fail_msg("RFC 9989 %s, %s: %s is \"%s\", expected \"%s\"", (c)->section,   \
			         (c)->name, what, got_ ? got_ : "(null)",                          \
			         want_ ? want_ : "(null)");                                        \
	} while (0)

#define CHECK_QUERIES(c, resolver)                                                                 \
	do {                                                                                       \
		if ((c)->queries > 0)                                                              \
			CHECK(c, "the number of DNS queries", zone_lookups(resolver),              \
			      (c)->queries - 1);                                                   \
	} while (0)

/* ------------------------------------------------------ record parsing */

struct parse_case {
	const char *section;
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
	enum dmarc_parse parse;
	enum dmarc_policy p, sp, np; /* effective values */
	bool sp_published, np_published, fallback;
	enum dmarc_align adkim, aspf;
	bool testing, t_published;
	unsigned pct; /* checked when pct_published */
	bool pct_published;
	enum dmarc_psd psd;
	unsigned fo; /* 0: the default, DMARC_FO_0 */
	size_t n_rua, n_ruf;
	const char *rua0;
};

#define NUL_RECORD "v=DMARC1; p=reject; aspf=s\0x"

static const struct parse_case parse_cases[] = {
	{ "4.8", "a minimal record", "v=DMARC1; p=none", .fo = DMARC_FO_0 },
	{ "4.8", "white space around '=' and ';', a trailing ';'", "v = DMARC1 ;\tp = reject ; ",
	  .p = REJ, .sp = REJ, .np = REJ },
	{ "4.8", "empty tag-specs between semicolons are skipped", "v=DMARC1;; p=reject;;",
	  .p = REJ, .sp = REJ, .np = REJ },
	{ "4.8", "a tag-spec without '=' is ignored", "v=DMARC1; reject; p=quarantine", .p = QUAR,
	  .sp = QUAR, .np = QUAR },
	{ "4.8", "tag names and keywords in any case",
	  "V=DMARC1; P=Reject; SP=QUARANTINE; ADKIM=S; ASPF=s; T=Y", .p = REJ, .sp = QUAR,
	  .np = QUAR, .sp_published = true, .adkim = DMARC_ALIGN_STRICT, .aspf = DMARC_ALIGN_STRICT,
	  .testing = true, .t_published = true },
	{ "4.7 v", "the value DMARC1 is case-sensitive", "v=dmarc1; p=reject",
	  .parse = DMARC_PARSE_NOT_DMARC },
	{ "4.7 v", "v= must be the first tag", "p=reject; v=DMARC1",
	  .parse = DMARC_PARSE_NOT_DMARC },
	{ "4.7 v", "a record without v=", "p=reject; rua=mailto:d@example.com",
	  .parse = DMARC_PARSE_NOT_DMARC },
	{ "4.7 v", "another version", "v=DMARC2; p=reject", .parse = DMARC_PARSE_NOT_DMARC },
	{ "4.7 v", "an SPF record", "v=spf1 -all", .parse = DMARC_PARSE_NOT_DMARC },
	{ "4.7 p", "a missing p= with a valid rua= acts as p=none",
	  "v=DMARC1; rua=mailto:d@example.com", .fallback = true, .n_rua = 1,
	  .rua0 = "mailto:d@example.com" },
	{ "4.10.1", "a missing p= without rua=: no DMARC processing", "v=DMARC1; adkim=s",
	  .parse = DMARC_PARSE_NO_POLICY, .adkim = DMARC_ALIGN_STRICT },
	{ "4.10.1", "an invalid p= with a valid rua= acts as p=none",
	  "v=DMARC1; p=block; rua=mailto:d@example.com", .fallback = true, .n_rua = 1,
	  .rua0 = "mailto:d@example.com" },
	{ "4.10.1", "an invalid p= without rua=", "v=DMARC1; p=block",
	  .parse = DMARC_PARSE_NO_POLICY },
	{ "4.10.1", "an invalid sp= with rua=: the whole record acts as p=none",
	  "v=DMARC1; p=reject; sp=maybe; rua=mailto:d@example.com", .fallback = true, .n_rua = 1,
	  .rua0 = "mailto:d@example.com" },
	{ "4.10.1", "an invalid np= without rua=", "v=DMARC1; p=reject; np=nope",
	  .parse = DMARC_PARSE_NO_POLICY },
	{ "4.10.1", "a rua= without one valid URI does not rescue a bad p=",
	  "v=DMARC1; p=bad; rua=not a uri", .parse = DMARC_PARSE_NO_POLICY },
	{ "4.7", "unknown and historic tags are ignored",
	  "v=DMARC1; p=quarantine; rf=afrf; ri=3600; future=1", .p = QUAR, .sp = QUAR, .np = QUAR },
	{ "4.8 (RFC 6376 3.2)", "a duplicated p= has no valid value (rua=: p=none)",
	  "v=DMARC1; p=reject; p=none; rua=mailto:d@example.com", .fallback = true, .n_rua = 1,
	  .rua0 = "mailto:d@example.com" },
	{ "4.8 (RFC 6376 3.2)", "a duplicated p= without rua=", "v=DMARC1; p=reject; p=reject",
	  .parse = DMARC_PARSE_NO_POLICY },
	{ "4.8 (RFC 6376 3.2)", "a duplicated adkim= falls back to relaxed",
	  "v=DMARC1; p=reject; adkim=s; adkim=s", .p = REJ, .sp = REJ, .np = REJ },
	{ "4.7 sp np", "sp= defaults to p=, np= to sp=", "v=DMARC1; p=quarantine; sp=reject",
	  .p = QUAR, .sp = REJ, .np = REJ, .sp_published = true },
	{ "4.7 np", "np= alone", "v=DMARC1; p=none; np=reject", .np = REJ, .np_published = true },
	{ "4.7 t", "an invalid t= is t=n", "v=DMARC1; p=reject; t=maybe", .p = REJ, .sp = REJ,
	  .np = REJ },
	{ "4.7 t", "t=n", "v=DMARC1; p=reject; t=n", .p = REJ, .sp = REJ, .np = REJ,
	  .t_published = true },
	{ "A.6 pct", "pct=0 is kept for legacy records", "v=DMARC1; p=reject; pct=0", .p = REJ,
	  .sp = REJ, .np = REJ, .pct = 0, .pct_published = true },
	{ "A.6 pct", "pct=50", "v=DMARC1; p=reject; pct=50", .p = REJ, .sp = REJ, .np = REJ,
	  .pct = 50, .pct_published = true },
	{ "A.6 pct", "pct over 100 is ignored", "v=DMARC1; p=reject; pct=101", .p = REJ, .sp = REJ,
	  .np = REJ },
	{ "A.6 pct", "a pct that is not a number is ignored", "v=DMARC1; p=reject; pct=5x",
	  .p = REJ, .sp = REJ, .np = REJ },
	{ "4.7 psd", "psd=y", "v=DMARC1; p=none; psd=y", .psd = DMARC_PSD_YES },
	{ "4.7 psd", "psd=n", "v=DMARC1; p=none; psd=n", .psd = DMARC_PSD_NO },
	{ "4.7 psd", "psd=u", "v=DMARC1; p=none; psd=u", .psd = DMARC_PSD_UNSPEC },
	{ "4.7 psd", "an invalid psd= is psd=u", "v=DMARC1; p=none; psd=maybe",
	  .psd = DMARC_PSD_UNSPEC },
	{ "4.7 fo", "fo=1:d:s", "v=DMARC1; p=none; fo=1:d:s",
	  .fo = DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S },
	{ "4.8 fo", "fo=0:1 is invalid: fo=0", "v=DMARC1; p=none; fo=0:1", .fo = DMARC_FO_0 },
	{ "4.8 fo", "fo=d:d is invalid: fo=0", "v=DMARC1; p=none; fo=d:d", .fo = DMARC_FO_0 },
	{ "4.8 fo", "a trailing ':' is invalid: fo=0",
	  "v=DMARC1; p=none; fo=1:", .fo = DMARC_FO_0 },
	{ "4.6 4.8", "a rua= list with white space and an obsolete size limit",
	  "v=DMARC1; p=none; rua=mailto:a@example.com!10m , mailto:b@example.net", .n_rua = 2,
	  .rua0 = "mailto:a@example.com" },
	{ "4.6", "an invalid URI is dropped, the others kept",
	  "v=DMARC1; p=none; rua=mailto:a@example.com,:x, https://r.example/x; "
	  "ruf=mailto:f@example.com",
	  .n_rua = 2, .n_ruf = 1, .rua0 = "mailto:a@example.com" },
	{ "4.8", "a control character spoils only its tag", "v=DMARC1; p=reject; adkim=s\001",
	  .p = REJ, .sp = REJ, .np = REJ },
	{ "4.8", "a NUL byte spoils only its tag (binary-safe)", NUL_RECORD,
	  .len = sizeof(NUL_RECORD) - 1, .p = REJ, .sp = REJ, .np = REJ },
	{ "4.8", "an empty record", "", .parse = DMARC_PARSE_NOT_DMARC },
};

static void
check_parse_case(const struct parse_case *c, const struct dmarc_record *r)
{
	CHECK(c, "p", r->p, c->p);
	CHECK(c, "sp", r->sp, c->sp);
	CHECK(c, "np", r->np, c->np);
	CHECK(c, "sp_published", r->sp_published, c->sp_published);
	CHECK(c, "np_published", r->np_published, c->np_published);
	CHECK(c, "policy_fallback", r->policy_fallback, c->fallback);
	CHECK(c, "adkim", r->adkim, c->adkim);
	CHECK(c, "aspf", r->aspf, c->aspf);
	CHECK(c, "testing", r->testing, c->testing);
	CHECK(c, "t_published", r->t_published, c->t_published);
	CHECK(c, "pct_published", r->pct_published, c->pct_published);
	CHECK(c, "pct", r->pct, c->pct_published ? c->pct : 100);
	CHECK(c, "psd", r->psd, c->psd);
	CHECK(c, "fo", r->fo, c->fo != 0 ? c->fo : DMARC_FO_0);
	CHECK(c, "rua count", r->rua.count, c->n_rua);
	CHECK(c, "ruf count", r->ruf.count, c->n_ruf);
	if (c->rua0 != NULL)
		CHECK_STR(c, "first rua", r->rua.uri[0], c->rua0);
}

static void
record_parsing(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct dmarc_record rec;
		struct buf err = BUF_INIT;
		size_t len = c->len != 0 ? c->len : strlen(c->text);
		enum dmarc_parse got = dmarc_record_parse(c->text, len, &rec, &err);

		CHECK(c, "the parse result", got, c->parse);
		if (got != DMARC_PARSE_NOT_DMARC) {
			check_parse_case(c, &rec);
			CHECK(c, "raw length", rec.raw_len, len);
		}
		dmarc_record_free(&rec);
		buf_free(&err);
	}
}

/* ------------------------------------------------------ policy discovery */

struct discover_case {
	const char *section;
	const char *name;
	const char *zone[MAX_RR];
	const char *author;
	enum dmarc_found found;
	const char *policy_domain;
	enum dmarc_source source;
	const char *org; /* NULL: not determined by discovery */
	int queries;
};

static const struct discover_case discover_cases[] = {
	{ "4.10.1",
	  "a record at the Author Domain ends discovery after one query",
	  { DMARC("example.com") "v=DMARC1; p=reject", DMARC("com") "v=DMARC1; p=none; psd=y" },
	  .author = "example.com",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "example.com",
	  .source = DMARC_AT_AUTHOR,
	  QUERIES(1) },
	{ "4.10.1",
	  "psd=n at the Author Domain also settles its Organizational Domain",
	  { DMARC("dept.example.com") "v=DMARC1; p=quarantine; psd=n" },
	  .author = "dept.example.com",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "dept.example.com",
	  .source = DMARC_AT_AUTHOR,
	  .org = "dept.example.com",
	  QUERIES(1) },
	{ "4.10.1",
	  "no record at the author: the Organizational Domain's record",
	  { DMARC("example.com") "v=DMARC1; p=reject" },
	  .author = "a.b.example.com",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "example.com",
	  .source = DMARC_AT_ORG,
	  .org = "example.com",
	  QUERIES(4) },
	{ "B.4.2",
	  "a record below the Organizational Domain does not stop the walk",
	  { DMARC("mail.example.com") "v=DMARC1; p=quarantine",
	    DMARC("example.com") "v=DMARC1; p=reject" },
	  .author = "a.mail.example.com",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "example.com",
	  .source = DMARC_AT_ORG,
	  .org = "example.com",
	  QUERIES(4) },
	{ "4.10 step 6",
	  "psd=n stops the walk",
	  { DMARC("dept.example.com") "v=DMARC1; p=quarantine; psd=n",
	    DMARC("example.com") "SERVFAIL" },
	  .author = "a.dept.example.com",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "dept.example.com",
	  .source = DMARC_AT_ORG,
	  .org = "dept.example.com",
	  QUERIES(2) },
	{ "4.10.1",
	  "a PSD record (psd=y) when the organization publishes none",
	  { DMARC("bank.example") "v=DMARC1; p=reject; psd=y", DMARC("example") "SERVFAIL" },
	  .author = "x.bank.example",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "bank.example",
	  .source = DMARC_AT_PSD,
	  .org = "x.bank.example",
	  QUERIES(2) },
	{ "B.4.3",
	  "the domain one label below psd=y is the Organizational Domain, its record wins",
	  { DMARC("giant.bank.example") "v=DMARC1; p=quarantine",
	    DMARC("bank.example") "v=DMARC1; p=reject; psd=y" },
	  .author = "mail.giant.bank.example",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "giant.bank.example",
	  .source = DMARC_AT_ORG,
	  .org = "giant.bank.example",
	  QUERIES(3) },
	{ "4.10.1",
	  "the PSD record when the domain below psd=y has none",
	  { DMARC("b.c.bank.example") "v=DMARC1; p=quarantine",
	    DMARC("bank.example") "v=DMARC1; p=reject; psd=y" },
	  .author = "a.b.c.bank.example",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "bank.example",
	  .source = DMARC_AT_PSD,
	  .org = "c.bank.example",
	  QUERIES(4) },
	{ "4.10 step 4",
	  "thirteen labels: eight queries, the skipped names never asked",
	  { DMARC("example.com") "v=DMARC1; p=reject",
	    DMARC("b.c.d.e.f.g.h.i.j.mail.example.com") "SERVFAIL",
	    DMARC("f.g.h.i.j.mail.example.com") "SERVFAIL" },
	  .author = "a.b.c.d.e.f.g.h.i.j.mail.example.com",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "example.com",
	  .source = DMARC_AT_ORG,
	  .org = "example.com",
	  QUERIES(8) },
	{ "4.10 step 4",
	  "exactly eight labels: every parent, eight queries",
	  { NULL },
	  .author = "a.b.c.d.e.f.example.com",
	  .found = DMARC_FOUND_NONE,
	  .org = "a.b.c.d.e.f.example.com",
	  QUERIES(8) },
	{ "4.10 step 4",
	  "nine labels: the eight-label name is skipped",
	  { DMARC("b.c.d.e.f.g.example.com") "SERVFAIL" },
	  .author = "a.b.c.d.e.f.g.example.com",
	  .found = DMARC_FOUND_NONE,
	  .org = "a.b.c.d.e.f.g.example.com",
	  QUERIES(8) },
	{ "5.1.8",
	  "a psd=n record beyond the shortcut is never seen",
	  { DMARC("b.c.d.e.f.g.example.com") "v=DMARC1; p=none; psd=n",
	    DMARC("example.com") "v=DMARC1; p=reject" },
	  .author = "mail.a.b.c.d.e.f.g.example.com",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "example.com",
	  .source = DMARC_AT_ORG,
	  .org = "example.com",
	  QUERIES(8) },
	{ "4.10 step 2",
	  "several DMARC records at one name are all discarded",
	  { DMARC("sub.example.com") "v=DMARC1; p=none",
	    DMARC("sub.example.com") "v=DMARC1; p=reject",
	    DMARC("example.com") "v=DMARC1; p=quarantine" },
	  .author = "sub.example.com",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "example.com",
	  .source = DMARC_AT_ORG,
	  .org = "example.com",
	  QUERIES(3) },
	{ "4.10 step 2",
	  "other TXT records under _dmarc are not DMARC records",
	  { DMARC("example.com") "site-verification=abc",
	    DMARC("example.com") "v=DMARC1; p=reject" },
	  .author = "example.com",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "example.com",
	  .source = DMARC_AT_AUTHOR,
	  QUERIES(1) },
	{ "4.10.1",
	  "upper case and a trailing dot",
	  { DMARC("example.com") "v=DMARC1; p=reject" },
	  .author = "Example.COM.",
	  .found = DMARC_FOUND_RECORD,
	  .policy_domain = "example.com",
	  .source = DMARC_AT_AUTHOR,
	  QUERIES(1) },
	{ "5.3.2",
	  "no record anywhere",
	  { "example.org A 192.0.2.1" },
	  .author = "a.example.org",
	  .found = DMARC_FOUND_NONE,
	  .org = "a.example.org",
	  QUERIES(3) },
	{ "5.3.2",
	  "a single-label Author Domain",
	  { NULL },
	  .author = "localhost",
	  .found = DMARC_FOUND_NONE,
	  .org = "localhost",
	  QUERIES(1) },
	{ "5.3.6",
	  "the author's _dmarc lookup fails for now",
	  { DMARC("example.com") "SERVFAIL" },
	  .author = "example.com",
	  .found = DMARC_FOUND_TEMPERROR,
	  QUERIES(1) },
	{ "5.3.6",
	  "a parent's _dmarc lookup fails for now",
	  { DMARC("example.com") "SERVFAIL" },
	  .author = "a.example.com",
	  .found = DMARC_FOUND_TEMPERROR,
	  QUERIES(2) },
	{ "5.3.6",
	  "the TLD's _dmarc lookup fails for now",
	  { DMARC("com") "SERVFAIL" },
	  .author = "a.example.com",
	  .found = DMARC_FOUND_TEMPERROR,
	  QUERIES(3) },
};

static void
policy_discovery(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(discover_cases); i++) {
		const struct discover_case *c = &discover_cases[i];
		struct dns_resolver *zone = zone_new(c->zone);
		struct dmarc_discovery d;

		CHECK(c, "the discovery result", dmarc_discover(zone, NULL, c->author, &d),
		      c->found);
		CHECK_STR(c, "the policy domain", d.policy_domain, c->policy_domain);
		if (c->found == DMARC_FOUND_RECORD)
			CHECK(c, "the record's source", d.source, c->source);
		CHECK_STR(c, "the Organizational Domain", d.org_domain, c->org);
		CHECK_QUERIES(c, zone);
		dmarc_discovery_free(&d);
		dns_resolver_free(zone);
	}
}

/* ---------------------------------------------- organizational domains */

struct org_case {
	const char *section;
	const char *name;
	const char *zone[MAX_RR];
	const char *domain;
	int rc;
	const char *org;
	int queries;
};

static const struct org_case org_cases[] = {
	{ "B.4.1",
	  "a domain with its own record and none above",
	  { DMARC("example.com") "v=DMARC1; p=reject" },
	  .domain = "example.com",
	  .rc = 0,
	  .org = "example.com",
	  QUERIES(2) },
	{ "B.4.1",
	  "the record with the fewest labels wins",
	  { DMARC("signing.example.com") "v=DMARC1; p=none",
	    DMARC("example.com") "v=DMARC1; p=reject" },
	  .domain = "signing.example.com",
	  .rc = 0,
	  .org = "example.com",
	  QUERIES(3) },
	{ "4.10.2",
	  "a subdomain without a record",
	  { DMARC("example.com") "v=DMARC1; p=reject" },
	  .domain = "mail.example.com",
	  .rc = 0,
	  .org = "example.com",
	  QUERIES(3) },
	{ "B.4.3",
	  "psd=y: the domain one label below it",
	  { DMARC("giant.bank.example") "v=DMARC1; p=reject",
	    DMARC("bank.example") "v=DMARC1; p=none; psd=y" },
	  .domain = "mail.giant.bank.example",
	  .rc = 0,
	  .org = "giant.bank.example",
	  QUERIES(3) },
	{ "B.4.3",
	  "psd=y with no record below it",
	  { DMARC("bank.example") "v=DMARC1; p=none; psd=y" },
	  .domain = "mail.mega.bank.example",
	  .rc = 0,
	  .org = "mega.bank.example",
	  QUERIES(3) },
	{ "4.10.2 rule 1",
	  "psd=n",
	  { DMARC("dept.example.com") "v=DMARC1; p=none; psd=n",
	    DMARC("example.com") "v=DMARC1; p=reject" },
	  .domain = "x.dept.example.com",
	  .rc = 0,
	  .org = "dept.example.com",
	  QUERIES(2) },
	{ "4.10.2 rule 2",
	  "psd=y where the walk starts does not count",
	  { DMARC("bank.example") "v=DMARC1; p=none; psd=y" },
	  .domain = "bank.example",
	  .rc = 0,
	  .org = "bank.example",
	  QUERIES(1) },
	{ "4.10.2",
	  "no record anywhere: the domain itself",
	  { NULL },
	  .domain = "a.b.example.net",
	  .rc = 0,
	  .org = "a.b.example.net",
	  QUERIES(4) },
	{ "4.10 step 4",
	  "ten labels and no record: eight queries",
	  { NULL },
	  .domain = "a.b.c.d.e.f.g.h.example.net",
	  .rc = 0,
	  .org = "a.b.c.d.e.f.g.h.example.net",
	  QUERIES(8) },
	{ "5.3.6",
	  "a lookup fails for now",
	  { DMARC("com") "SERVFAIL" },
	  .domain = "mail.example.com",
	  .rc = -1,
	  QUERIES(3) },
	{ "5.3.1", "not a domain name", { NULL }, .domain = "exa mple.com", .rc = -1, QUERIES(0) },
};

static void
organizational_domains(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(org_cases); i++) {
		const struct org_case *c = &org_cases[i];
		struct dns_resolver *zone = zone_new(c->zone);
		struct buf err = BUF_INIT;
		char *org;

		CHECK(c, "the return code", dmarc_org_domain(zone, NULL, c->domain, &org, &err),
		      c->rc);
		CHECK_STR(c, "the Organizational Domain", org, c->org);
		if (c->rc < 0 && err.len == 0)
			fail_msg("RFC 9989 %s, %s: no reason given", c->section, c->name);
		CHECK_QUERIES(c, zone);
		free(org);
		buf_free(&err);
		dns_resolver_free(zone);
	}
}

/* ----------------------------------------------------------- evaluation */

struct eval_case {
	const char *section;
	const char *name;
	const char *zone[MAX_RR];
	const char *from;
	const char *spf_domain;
	enum dmarc_spf spf;
	enum dmarc_spf_scope scope;
	struct dmarc_dkim_result dkim[3];
	unsigned draw; /* the pct= sample */
	bool budget_spent;
	/* expected */
	enum dmarc_status status;
	bool spf_aligned, dkim_aligned;
	enum dmarc_policy requested; /* checked on a fail */
	enum dmarc_tag tag;          /* checked on a fail */
	enum dmarc_policy policy;
	enum dmarc_override override;
	bool nonexistent;
	int queries;
};

#define PASS(d)                                                                                    \
	{                                                                                          \
		d, "s1", DMARC_DKIM_PASS                                                           \
	}
#define FAIL(d)                                                                                    \
	{                                                                                          \
		d, "s1", DMARC_DKIM_FAIL                                                           \
	}

static size_t
dkim_count(const struct eval_case *c)
{
	size_t n = 0;

	while (n < ARRAY_LEN(c->dkim) && c->dkim[n].domain != NULL)
		n++;
	return n;
}

static unsigned
fixed_draw(void *arg)
{
	return *(const unsigned *)arg;
}

static void
run_eval_case(const struct eval_case *c)
{
	struct dns_resolver *zone = zone_new(c->zone);
	struct dns_budget spent = { 0, 0 };
	unsigned draw = c->draw;
	struct dmarc_input in = {
		.header_from = c->from,
		.envelope_from = c->spf_domain,
		.spf_domain = c->spf_domain,
		.spf_scope = c->scope,
		.spf = c->spf,
		.dkim = c->dkim,
		.n_dkim = dkim_count(c),
		.pct_draw = fixed_draw,
		.pct_arg = &draw,
	};
	struct dmarc_result r;

	dmarc_evaluate(zone, c->budget_spent ? &spent : NULL, &in, &r);
	if (r.status != c->status)
		fail_msg("RFC 9989 %s, %s: result %s (%s), expected %s", c->section, c->name,
		         dmarc_status_name(r.status), buf_str(&r.reason),
		         dmarc_status_name(c->status));
	CHECK(c, "spf_aligned", r.spf_aligned, c->spf_aligned);
	CHECK(c, "dkim_aligned", r.dkim_aligned, c->dkim_aligned);
	if (c->status == DMARC_FAIL) {
		CHECK(c, "the requested policy", r.requested, c->requested);
		CHECK(c, "the policy tag", r.requested_tag, c->tag);
	}
	CHECK(c, "the policy to apply", r.policy, c->policy);
	CHECK(c, "the override", r.override, c->override);
	CHECK(c, "nonexistent", r.nonexistent, c->nonexistent);
	if (r.reason.len == 0 && c->status != DMARC_NONE)
		fail_msg("RFC 9989 %s, %s: no reason given", c->section, c->name);
	CHECK_QUERIES(c, zone);
	dmarc_result_free(&r);
	dns_resolver_free(zone);
}

static void
run_eval_cases(const struct eval_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_eval_case(&cases[i]);
}

#define EXAMPLE_REJECT DMARC("example.com") "v=DMARC1; p=reject"

static const struct eval_case alignment_cases[] = {
	{ "B.1.1 (1)",
	  "SPF strict alignment: identical domains",
	  { DMARC("example.com") "v=DMARC1; p=reject; aspf=s" },
	  .from = "example.com",
	  .spf_domain = "example.com",
	  .spf = DMARC_SPF_PASS,
	  .status = DMARC_PASS,
	  .spf_aligned = true,
	  QUERIES(1) },
	{ "B.1.1 (2)",
	  "SPF relaxed alignment: MAIL FROM a child of the From domain",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .spf_domain = "child.example.com",
	  .spf = DMARC_SPF_PASS,
	  .status = DMARC_PASS,
	  .spf_aligned = true,
	  QUERIES(3) },
	{ "3.2.10.2",
	  "aspf=s refuses a child domain",
	  { DMARC("example.com") "v=DMARC1; p=reject; aspf=s" },
	  .from = "example.com",
	  .spf_domain = "child.example.com",
	  .spf = DMARC_SPF_PASS,
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ,
	  QUERIES(1) },
	{ "B.1.1 (3)",
	  "SPF: another organization, no walk for it",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .spf_domain = "example.net",
	  .spf = DMARC_SPF_PASS,
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ,
	  QUERIES(2) },
	{ "4.4.2",
	  "an SPF fail never aligns",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .spf_domain = "example.com",
	  .spf = DMARC_SPF_FAIL,
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ },
	{ "3.2.4",
	  "SPF pass on the HELO name of a null reverse-path",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .spf_domain = "mx1.example.com",
	  .spf = DMARC_SPF_PASS,
	  .scope = DMARC_SCOPE_HELO,
	  .status = DMARC_PASS,
	  .spf_aligned = true },
	{ "B.1.2 (1)",
	  "DKIM strict alignment: identical domains",
	  { DMARC("example.com") "v=DMARC1; p=reject; adkim=s" },
	  .from = "example.com",
	  .dkim = { PASS("example.com") },
	  .status = DMARC_PASS,
	  .dkim_aligned = true,
	  QUERIES(1) },
	{ "B.1.2 (2)",
	  "DKIM relaxed alignment: d= the parent of the From domain",
	  { EXAMPLE_REJECT, "child.example.com A 192.0.2.1" },
	  .from = "child.example.com",
	  .dkim = { PASS("example.com") },
	  .status = DMARC_PASS,
	  .dkim_aligned = true },
	{ "3.2.10.2",
	  "adkim=s refuses a parent domain",
	  { DMARC("example.com") "v=DMARC1; p=reject; adkim=s", "child.example.com A 192.0.2.1" },
	  .from = "child.example.com",
	  .dkim = { PASS("example.com") },
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ },
	{ "B.1.2 (3)",
	  "DKIM: another organization",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .dkim = { PASS("example.net") },
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ },
	{ "4.4.1",
	  "one aligned signature among several is enough",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .dkim = { PASS("esp.example.net"), FAIL("example.com"), PASS("example.com") },
	  .status = DMARC_PASS,
	  .dkim_aligned = true },
	{ "4.4.1",
	  "a failed signature does not align",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .dkim = { FAIL("example.com") },
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ },
	{ "4.4",
	  "SPF and DKIM both aligned",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .spf_domain = "example.com",
	  .spf = DMARC_SPF_PASS,
	  .dkim = { PASS("example.com") },
	  .status = DMARC_PASS,
	  .spf_aligned = true,
	  .dkim_aligned = true },
	{ "4.4",
	  "domain names compare case-insensitively",
	  { EXAMPLE_REJECT },
	  .from = "Example.COM",
	  .dkim = { PASS("EXAMPLE.com.") },
	  .status = DMARC_PASS,
	  .dkim_aligned = true },
	{ "B.4.1",
	  "the From domain's walk is reused for the DKIM domain",
	  { EXAMPLE_REJECT, DMARC("signing.example.com") "v=DMARC1; p=none" },
	  .from = "example.com",
	  .spf_domain = "example.com",
	  .spf = DMARC_SPF_PASS,
	  .dkim = { PASS("signing.example.com") },
	  .status = DMARC_PASS,
	  .spf_aligned = true,
	  .dkim_aligned = true,
	  QUERIES(3) },
	{ "B.4.3",
	  "PSD boundaries: the SPF domain aligns, the DKIM domain does not",
	  { DMARC("giant.bank.example") "v=DMARC1; p=reject",
	    DMARC("bank.example") "v=DMARC1; p=none; psd=y" },
	  .from = "giant.bank.example",
	  .spf_domain = "mail.giant.bank.example",
	  .spf = DMARC_SPF_PASS,
	  .dkim = { PASS("mail.mega.bank.example") },
	  .status = DMARC_PASS,
	  .spf_aligned = true },
	{ "4.10.2 rule 1",
	  "psd=n splits an organization",
	  { DMARC("dept.example.com") "v=DMARC1; p=reject; psd=n",
	    DMARC("example.com") "v=DMARC1; p=none", "a.dept.example.com A 192.0.2.1" },
	  .from = "a.dept.example.com",
	  .dkim = { PASS("example.com") },
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ },
};

static void
identifier_alignment(void **state)
{
	(void)state;
	run_eval_cases(alignment_cases, ARRAY_LEN(alignment_cases));
}

static const struct eval_case policy_cases[] = {
	{ "4.10.1",
	  "the Author Domain's own record: p=",
	  { DMARC("example.com") "v=DMARC1; p=reject; sp=none" },
	  .from = "example.com",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .tag = DMARC_TAG_P,
	  .policy = REJ,
	  QUERIES(1) },
	{ "4.7 sp",
	  "sp= of the author's own record is not used",
	  { DMARC("sub.example.com") "v=DMARC1; p=none; sp=reject" },
	  .from = "sub.example.com",
	  .status = DMARC_FAIL,
	  .requested = NONE,
	  .tag = DMARC_TAG_P,
	  .policy = NONE },
	{ "4.10.1",
	  "a subdomain without a record gets the Organizational Domain's sp=",
	  { DMARC("example.com") "v=DMARC1; p=none; sp=reject", "sub.example.com A 192.0.2.1" },
	  .from = "sub.example.com",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .tag = DMARC_TAG_SP,
	  .policy = REJ,
	  QUERIES(3) },
	{ "4.7 sp",
	  "without sp=, p= covers subdomains",
	  { DMARC("example.com") "v=DMARC1; p=quarantine", "sub.example.com A 192.0.2.1" },
	  .from = "sub.example.com",
	  .status = DMARC_FAIL,
	  .requested = QUAR,
	  .tag = DMARC_TAG_P,
	  .policy = QUAR,
	  QUERIES(3) },
	{ "4.7 np",
	  "np= for a non-existent subdomain (A, AAAA and MX are NXDOMAIN)",
	  { DMARC("example.com") "v=DMARC1; p=none; sp=quarantine; np=reject" },
	  .from = "nx.example.com",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .tag = DMARC_TAG_NP,
	  .policy = REJ,
	  .nonexistent = true,
	  QUERIES(6) },
	{ "4.7 np",
	  "np= does not apply to an existing subdomain",
	  { DMARC("example.com") "v=DMARC1; p=none; sp=quarantine; np=reject",
	    "sub.example.com MX mx.example.com" },
	  .from = "sub.example.com",
	  .status = DMARC_FAIL,
	  .requested = QUAR,
	  .tag = DMARC_TAG_SP,
	  .policy = QUAR,
	  QUERIES(4) },
	{ "A.4",
	  "a name with only other records (NODATA) exists",
	  { DMARC("example.com") "v=DMARC1; p=none; np=reject", "sub.example.com TXT hello" },
	  .from = "sub.example.com",
	  .status = DMARC_FAIL,
	  .requested = NONE,
	  .tag = DMARC_TAG_P,
	  .policy = NONE,
	  QUERIES(4) },
	{ "4.7 np",
	  "without np=, sp= covers non-existent subdomains, no existence test",
	  { DMARC("example.com") "v=DMARC1; p=none; sp=reject" },
	  .from = "nx.example.com",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .tag = DMARC_TAG_SP,
	  .policy = REJ,
	  QUERIES(3) },
	{ "4.7 np",
	  "without np= and sp=, p= covers non-existent subdomains",
	  { DMARC("example.com") "v=DMARC1; p=quarantine" },
	  .from = "nx.example.com",
	  .status = DMARC_FAIL,
	  .requested = QUAR,
	  .tag = DMARC_TAG_P,
	  .policy = QUAR,
	  QUERIES(3) },
	{ "4.7 np",
	  "np= equal to sp= needs no existence test",
	  { DMARC("example.com") "v=DMARC1; p=none; sp=reject; np=reject" },
	  .from = "nx.example.com",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .tag = DMARC_TAG_SP,
	  .policy = REJ,
	  QUERIES(3) },
	{ "4.10.1 (RFC 9091)",
	  "a PSD's np= for a non-existent name under it",
	  { DMARC("bank.example") "v=DMARC1; p=none; np=reject; psd=y" },
	  .from = "nx.bank.example",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .tag = DMARC_TAG_NP,
	  .policy = REJ,
	  .nonexistent = true,
	  QUERIES(5) },
	{ "4.10.1",
	  "a record without a valid policy or rua=: permerror",
	  { DMARC("example.com") "v=DMARC1; p=bogus" },
	  .from = "example.com",
	  .status = DMARC_PERMERROR },
	{ "4.10.1",
	  "a record without p= but with rua=: monitoring only",
	  { DMARC("example.com") "v=DMARC1; rua=mailto:d@example.com" },
	  .from = "example.com",
	  .status = DMARC_FAIL,
	  .requested = NONE,
	  .policy = NONE },
	{ "5.3.5",
	  "a pass applies no policy",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .dkim = { PASS("example.com") },
	  .status = DMARC_PASS,
	  .dkim_aligned = true },
	{ "5.3.2",
	  "no record anywhere: none",
	  { "example.org A 192.0.2.1" },
	  .from = "example.org",
	  .spf_domain = "example.org",
	  .spf = DMARC_SPF_PASS,
	  .status = DMARC_NONE,
	  QUERIES(2) },
	{ "4.10 step 2",
	  "two records at the only name: none",
	  {
	      DMARC("example.org") "v=DMARC1; p=reject",
	      DMARC("example.org") "v=DMARC1; p=none",
	  },
	  .from = "example.org",
	  .status = DMARC_NONE },
	{ "5.3.1",
	  "a From domain that is not a domain name: permerror",
	  { NULL },
	  .from = "exa mple.com",
	  .status = DMARC_PERMERROR,
	  QUERIES(0) },
};

static void
policy_selection(void **state)
{
	(void)state;
	run_eval_cases(policy_cases, ARRAY_LEN(policy_cases));
}

static const struct eval_case testing_cases[] = {
	{ "4.7 t",
	  "t=y lowers reject to quarantine",
	  { DMARC("example.com") "v=DMARC1; p=reject; t=y" },
	  .from = "example.com",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = QUAR,
	  .override = DMARC_OVERRIDE_TEST_MODE },
	{ "4.7 t",
	  "t=y lowers quarantine to none",
	  { DMARC("example.com") "v=DMARC1; p=quarantine; t=y" },
	  .from = "example.com",
	  .status = DMARC_FAIL,
	  .requested = QUAR,
	  .policy = NONE,
	  .override = DMARC_OVERRIDE_TEST_MODE },
	{ "4.7 t",
	  "t=y has no effect on p=none",
	  { DMARC("example.com") "v=DMARC1; p=none; t=y" },
	  .from = "example.com",
	  .status = DMARC_FAIL,
	  .requested = NONE,
	  .policy = NONE },
	{ "4.7 t",
	  "t=n applies the policy",
	  { DMARC("example.com") "v=DMARC1; p=reject; t=n" },
	  .from = "example.com",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ },
	{ "4.7 t",
	  "t=y applies to sp= too",
	  { DMARC("example.com") "v=DMARC1; p=none; sp=reject; t=y",
	    "sub.example.com A 192.0.2.1" },
	  .from = "sub.example.com",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .tag = DMARC_TAG_SP,
	  .policy = QUAR,
	  .override = DMARC_OVERRIDE_TEST_MODE },
	{ "A.6",
	  "pct=0 acts as t=y",
	  { DMARC("example.com") "v=DMARC1; p=reject; pct=0" },
	  .from = "example.com",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = QUAR,
	  .override = DMARC_OVERRIDE_TEST_MODE },
	{ "A.6",
	  "pct=100 applies the policy",
	  { DMARC("example.com") "v=DMARC1; p=reject; pct=100" },
	  .from = "example.com",
	  .draw = 99,
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ },
	{ "A.6",
	  "pct=50, draw 49: sampled in",
	  { DMARC("example.com") "v=DMARC1; p=reject; pct=50" },
	  .from = "example.com",
	  .draw = 49,
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ },
	{ "A.6",
	  "pct=50, draw 50: sampled out, one step down",
	  { DMARC("example.com") "v=DMARC1; p=reject; pct=50" },
	  .from = "example.com",
	  .draw = 50,
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = QUAR,
	  .override = DMARC_OVERRIDE_SAMPLED_OUT },
	{ "A.6",
	  "pct=50, draw 99: quarantine sampled out to none",
	  { DMARC("example.com") "v=DMARC1; p=quarantine; pct=50" },
	  .from = "example.com",
	  .draw = 99,
	  .status = DMARC_FAIL,
	  .requested = QUAR,
	  .policy = NONE,
	  .override = DMARC_OVERRIDE_SAMPLED_OUT },
	{ "4.7 t",
	  "t= wins over pct=",
	  { DMARC("example.com") "v=DMARC1; p=reject; t=n; pct=0" },
	  .from = "example.com",
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ },
	{ "4.7 t",
	  "a pass is not touched by t=",
	  { DMARC("example.com") "v=DMARC1; p=reject; t=y" },
	  .from = "example.com",
	  .spf_domain = "example.com",
	  .spf = DMARC_SPF_PASS,
	  .status = DMARC_PASS,
	  .spf_aligned = true },
};

static void
testing_and_pct(void **state)
{
	(void)state;
	run_eval_cases(testing_cases, ARRAY_LEN(testing_cases));
}

/* A.6 pct=50 without an injected draw: getrandom() decides, both ways over 200 messages. */
static void
pct_samples_at_random_by_default(void **state)
{
	const char *lines[MAX_RR] = { DMARC("example.com") "v=DMARC1; p=reject; pct=50" };
	struct dns_resolver *zone = zone_new(lines);
	struct dmarc_input in = { .header_from = "example.com" };
	unsigned applied = 0, lowered = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		struct dmarc_result r;
		dmarc_evaluate(zone, NULL, &in, &r);
		assert_int_equal(r.status, DMARC_FAIL);
		applied += r.policy == DMARC_POLICY_REJECT;
		lowered += r.policy == DMARC_POLICY_QUARANTINE;
		dmarc_result_free(&r);
	}
	assert_int_equal(applied + lowered, 200);
	assert_true(applied > 0 && lowered > 0);
	dns_resolver_free(zone);
}

#define NX_SUBDOMAINS DMARC("example.com") "v=DMARC1; p=none; sp=quarantine; np=reject"

static const struct eval_case temperror_cases[] = {
	{ "5.3.6",
	  "the author's _dmarc lookup",
	  { DMARC("example.com") "SERVFAIL" },
	  .from = "example.com",
	  .spf_domain = "example.com",
	  .spf = DMARC_SPF_PASS,
	  .status = DMARC_TEMPERROR,
	  QUERIES(1) },
	{ "5.3.6",
	  "a parent's _dmarc lookup",
	  { DMARC("example.com") "SERVFAIL" },
	  .from = "sub.example.com",
	  .status = DMARC_TEMPERROR,
	  QUERIES(2) },
	{ "5.3.6",
	  "the walk for the author's Organizational Domain (relaxed SPF)",
	  { EXAMPLE_REJECT, DMARC("com") "SERVFAIL" },
	  .from = "example.com",
	  .spf_domain = "mail.example.com",
	  .spf = DMARC_SPF_PASS,
	  .status = DMARC_TEMPERROR,
	  QUERIES(2) },
	{ "5.3.6",
	  "the walk for the identifier's Organizational Domain",
	  { EXAMPLE_REJECT, DMARC("mail.example.com") "SERVFAIL" },
	  .from = "example.com",
	  .spf_domain = "mail.example.com",
	  .spf = DMARC_SPF_PASS,
	  .status = DMARC_TEMPERROR,
	  QUERIES(3) },
	{ "5.3.6",
	  "a failed walk does not matter once another identifier aligns",
	  { EXAMPLE_REJECT, DMARC("mail.example.com") "SERVFAIL" },
	  .from = "example.com",
	  .spf_domain = "mail.example.com",
	  .spf = DMARC_SPF_PASS,
	  .dkim = { PASS("example.com") },
	  .status = DMARC_PASS,
	  .dkim_aligned = true },
	{ "5.3.6",
	  "the existence test: A",
	  { NX_SUBDOMAINS, "nx.example.com A SERVFAIL" },
	  .from = "nx.example.com",
	  .status = DMARC_TEMPERROR,
	  QUERIES(4) },
	{ "5.3.6",
	  "the existence test: AAAA",
	  { NX_SUBDOMAINS, "nx.example.com AAAA SERVFAIL" },
	  .from = "nx.example.com",
	  .status = DMARC_TEMPERROR,
	  QUERIES(5) },
	{ "5.3.6",
	  "the existence test: MX",
	  { NX_SUBDOMAINS, "nx.example.com MX SERVFAIL" },
	  .from = "nx.example.com",
	  .status = DMARC_TEMPERROR,
	  QUERIES(6) },
	{ "5.3.6",
	  "SPF temperror for the author's domain, nothing passes: no verdict yet",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .spf_domain = "example.com",
	  .spf = DMARC_SPF_TEMPERROR,
	  .status = DMARC_TEMPERROR,
	  QUERIES(1) },
	{ "5.3.6",
	  "DKIM temperror for a signature that would align: no verdict yet",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .spf_domain = "example.net",
	  .spf = DMARC_SPF_FAIL,
	  .dkim = { FAIL("example.org"), { "example.com", "s1", DMARC_DKIM_TEMPERROR } },
	  .status = DMARC_TEMPERROR,
	  QUERIES(1) },
	{ "5.3.6",
	  "SPF temperror for another organization cannot align: fail",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .spf_domain = "example.net",
	  .spf = DMARC_SPF_TEMPERROR,
	  .status = DMARC_FAIL,
	  .requested = REJ,
	  .policy = REJ,
	  QUERIES(2) },
	{ "5.3.6",
	  "the message's DNS budget is spent",
	  { EXAMPLE_REJECT },
	  .from = "example.com",
	  .budget_spent = true,
	  .status = DMARC_TEMPERROR,
	  QUERIES(0) },
};

static void
temporary_errors(void **state)
{
	(void)state;
	run_eval_cases(temperror_cases, ARRAY_LEN(temperror_cases));
}

/* ------------------------------------------------------- the report row */

/* RFC 9990: one evaluation carries everything its aggregate report row needs. */
static void
result_holds_the_report_row(void **state)
{
	const char *lines[MAX_RR] = {
		DMARC("example.com") "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; "
		                     "pct=50; fo=1; rua=mailto:agg@example.com",
		"news.example.com A 192.0.2.7",
	};
	struct dns_resolver *zone = zone_new(lines);
	const struct dmarc_dkim_result dkim[] = {
		{ "esp.example.net", "k1", DMARC_DKIM_PASS },
		{ "news.example.com", NULL, DMARC_DKIM_FAIL },
	};
	unsigned draw = 10;
	struct dmarc_input in = {
		.header_from = "news.example.com",
		.envelope_from = "bounce.esp.example.net",
		.envelope_to = "example.org",
		.spf_domain = "bounce.esp.example.net",
		.spf = DMARC_SPF_PASS,
		.dkim = dkim,
		.n_dkim = ARRAY_LEN(dkim),
		.pct_draw = fixed_draw,
		.pct_arg = &draw,
	};
	struct dmarc_result r;

	(void)state;
	dmarc_evaluate(zone, NULL, &in, &r);
	assert_int_equal(r.status, DMARC_FAIL);
	assert_string_equal(dmarc_status_name(r.status), "fail");
	assert_string_equal(r.header_from, "news.example.com");
	assert_string_equal(r.envelope_from, "bounce.esp.example.net");
	assert_string_equal(r.envelope_to, "example.org");
	assert_string_equal(r.spf_domain, "bounce.esp.example.net");
	assert_int_equal(r.spf_scope, DMARC_SCOPE_MFROM);
	assert_string_equal(dmarc_spf_name(r.spf), "pass");
	assert_false(r.spf_aligned);
	assert_int_equal(r.n_dkim, 2);
	assert_string_equal(r.dkim[0].domain, "esp.example.net");
	assert_string_equal(r.dkim[0].selector, "k1");
	assert_string_equal(dmarc_dkim_name(r.dkim[0].result), "pass");
	assert_false(r.dkim[0].aligned);
	assert_null(r.dkim[1].selector);
	assert_string_equal(dmarc_dkim_name(r.dkim[1].result), "fail");
	assert_true(r.have_record);
	assert_string_equal(r.policy_domain, "example.com");
	assert_int_equal(r.source, DMARC_AT_ORG);
	assert_string_equal(dmarc_policy_name(r.record.p), "reject");
	assert_string_equal(dmarc_policy_name(r.record.sp), "quarantine");
	assert_string_equal(dmarc_policy_name(r.record.np), "reject");
	assert_int_equal(r.record.adkim, DMARC_ALIGN_STRICT);
	assert_int_equal(r.record.aspf, DMARC_ALIGN_RELAXED);
	assert_int_equal(r.record.pct, 50);
	assert_int_equal(r.record.fo, DMARC_FO_1);
	assert_false(r.record.testing);
	assert_string_equal(r.record.rua.uri[0], "mailto:agg@example.com");
	assert_non_null(strstr(r.record.raw, "rua=mailto:agg@example.com"));
	assert_int_equal(r.requested, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.requested_tag, DMARC_TAG_SP);
	assert_string_equal(dmarc_policy_name(r.policy), "quarantine");
	assert_false(r.nonexistent);
	assert_string_equal(r.org_domain, "example.com");
	dmarc_result_free(&r);
	dns_resolver_free(zone);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_parsing),
		cmocka_unit_test(policy_discovery),
		cmocka_unit_test(organizational_domains),
		cmocka_unit_test(identifier_alignment),
		cmocka_unit_test(policy_selection),
		cmocka_unit_test(testing_and_pct),
		cmocka_unit_test(pct_samples_at_random_by_default),
		cmocka_unit_test(temporary_errors),
		cmocka_unit_test(result_holds_the_report_row),
	};
	return cmocka_run_group_tests_name("dmarc", tests, NULL, NULL);
}
