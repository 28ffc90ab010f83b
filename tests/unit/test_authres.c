/*
 * test_authres - the Authentication-Results header mailward writes, the
 * forgery check, and the A-label form of From domains, table-driven
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/domain.h"
#include "milter/authres.h"
#include "tests/unit/unit.h"

/* ------------------------------------------------------ authres_claims */

struct claims_case {
	const char *value;
	const char *id;
	bool claims;
};

static const struct claims_case claims_cases[] = {
	{ " mx.example.net; spf=pass smtp.mailfrom=a@example.com", "mx.example.net", true },
	{ " MX.Example.NET; none", "mx.example.net", true },
	{ " mx.example.net 1; dkim=pass", "mx.example.net", true },
	{ " (forged by spammer) mx.example.net; dmarc=pass", "mx.example.net", true },
	{ "\n\tmx.example.net;\n\tspf=pass", "mx.example.net", true },
	{ " mx.example.net.evil.test; spf=pass", "mx.example.net", false },
	{ " example.net; spf=pass", "mx.example.net", false },
	{ " other.example; spf=pass (mx.example.net)", "mx.example.net", false },
	{ "", "mx.example.net", false },
	{ " ((unterminated comment", "mx.example.net", false },
};

static void
claims_only_our_authserv_id(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(claims_cases); i++) {
		const struct claims_case *c = &claims_cases[i];
		if (authres_claims(c->value, c->id) != c->claims)
			fail_msg("\"%s\" claims %s: expected %d", c->value, c->id, c->claims);
	}
}

/* ------------------------------------------------------ authres_format */

static void
expect_header(const struct authres *ar, const char *expected)
{
	struct buf value = BUF_INIT;

	authres_format(ar, &value);
	if (strcmp(buf_str(&value), expected) != 0)
		fail_msg("got:\n%s\nexpected:\n%s", buf_str(&value), expected);
	buf_free(&value);
}

static void
nothing_checked_says_none(void **state)
{
	struct authres ar = { .authserv_id = "mx.example.net" };

	(void)state;
	expect_header(&ar, " mx.example.net; none");
}

static void
every_method_on_its_own_line(void **state)
{
	struct spf_outcome spf = { .result = SPF_PASS,
		                   .identity = SPF_ID_MAILFROM,
		                   .sender = "alice@example.com",
		                   .domain = "example.com" };
	struct dkim_result dkim[2] = {
		{ .verdict = DKIM_PASS,
		  .domain = "example.com",
		  .identity = "@example.com",
		  .selector = "mw1",
		  .algorithm = "rsa-sha256",
		  .b_prefix = "rjVHNqMR",
		  .key_bits = 2048 },
		{ .verdict = DKIM_FAIL,
		  .reason = "body hash did not verify",
		  .domain = "esp.example",
		  .selector = "s1",
		  .algorithm = "ed25519-sha256",
		  .b_prefix = "ab/c+d==" },
	};
	struct dmarc_result dmarc = { .status = DMARC_PASS, .have_record = true };
	struct authres ar = { .authserv_id = "mx.example.net",
		              .spf = &spf,
		              .dkim_checked = true,
		              .dkim = dkim,
		              .n_dkim = 2,
		              .dmarc = &dmarc,
		              .dmarc_from = "example.com",
		              .disposition = "none" };

	(void)state;
	dmarc.record.p = DMARC_POLICY_REJECT;
	expect_header(&ar,
	              " mx.example.net;\n"
	              "\tspf=pass smtp.mailfrom=alice@example.com;\n"
	              "\tdkim=pass (2048-bit key) header.d=example.com header.i=@example.com "
	              "header.s=mw1 header.a=rsa-sha256 header.b=rjVHNqMR;\n"
	              "\tdkim=fail (body hash did not verify) header.d=esp.example header.s=s1 "
	              "header.a=ed25519-sha256 header.b=\"ab/c+d==\";\n"
	              "\tdmarc=pass (p=reject dis=none) header.from=example.com");
}

static void
hostile_values_cannot_break_the_syntax(void **state)
{
	struct spf_outcome spf = { .result = SPF_PERMERROR,
		                   .identity = SPF_ID_MAILFROM,
		                   .sender = "\"odd; local\"@example.com",
		                   .domain = "example.com",
		                   .problem = "bad (term) \\ here\r\n" };
	struct authres ar = { .authserv_id = "mx.example.net", .spf = &spf, .dkim_checked = true };

	(void)state;
	expect_header(&ar, " mx.example.net;\n"
	                   "\tspf=permerror (bad \\(term\\) \\\\ here  ) "
	                   "smtp.mailfrom=\"\\\"odd; local\\\"@example.com\";\n"
	                   "\tdkim=none");
}

static void
helo_identity_and_dmarc_problem(void **state)
{
	struct spf_outcome spf = { .result = SPF_NONE,
		                   .identity = SPF_ID_HELO,
		                   .sender = "postmaster@mail.example",
		                   .domain = "mail.example" };
	struct authres ar = { .authserv_id = "mx",
		              .spf = &spf,
		              .dmarc_problem = "no From header field" };

	(void)state;
	expect_header(&ar, " mx;\n\tspf=none smtp.helo=mail.example;\n"
	                   "\tdmarc=permerror (no From header field)");
}

static void
quarantine_with_override(void **state)
{
	struct dmarc_result dmarc = { .status = DMARC_FAIL, .have_record = true };
	struct authres ar = { .authserv_id = "mx",
		              .dmarc = &dmarc,
		              .dmarc_from = "example.org",
		              .disposition = "none",
		              .override = "trusted_forwarder" };

	(void)state;
	dmarc.record.p = DMARC_POLICY_QUARANTINE;
	dmarc.record.sp = DMARC_POLICY_NONE;
	dmarc.record.sp_published = true;
	expect_header(&ar, " mx;\n\tdmarc=fail (p=quarantine sp=none dis=none "
	                   "override=trusted_forwarder) header.from=example.org");
}

/* ------------------------------------------------------ domain_alabel */

struct alabel_case {
	const char *in;
	const char *out; /* NULL: refused */
};

static const struct alabel_case alabel_cases[] = {
	{ "Example.COM.", "example.com" },
	{ "mail.example.com", "mail.example.com" },
	{ "b\xc3\xbc"
	  "cher.example",
	  "xn--bcher-kva.example" },
	{ "XN--BCHER-KVA.example", "xn--bcher-kva.example" },
	{ "_dmarc.example.com", "_dmarc.example.com" },
	{ "", NULL },
	{ ".", NULL },
	{ "-bad.example", NULL },
	{ "bad-.example", NULL },
	{ "a..b", NULL },
	{ "exa mple.com", NULL },
	{ "ex\xff"
	  "ample.com",
	  NULL },
	{ "0123456789012345678901234567890123456789012345678901234567890123.example", NULL },
};

static void
from_domains_become_lower_case_a_labels(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(alabel_cases); i++) {
		const struct alabel_case *c = &alabel_cases[i];
		char *got = domain_alabel(c->in);

		if ((got == NULL) != (c->out == NULL) || (got && strcmp(got, c->out) != 0))
			fail_msg("domain_alabel(\"%s\") = %s, expected %s", c->in,
			         got ? got : "NULL", c->out ? c->out : "NULL");
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(claims_only_our_authserv_id),
		cmocka_unit_test(nothing_checked_says_none),
		cmocka_unit_test(every_method_on_its_own_line),
		cmocka_unit_test(hostile_values_cannot_break_the_syntax),
		cmocka_unit_test(helo_identity_and_dmarc_problem),
		cmocka_unit_test(quarantine_with_override),
		cmocka_unit_test(from_domains_become_lower_case_a_labels),
	};
	return cmocka_run_group_tests_name("authres", tests, NULL, NULL);
}
