/*
 * test_signing - which signing-table entries and bounce domain a From
 * domain gets: exact entries first, "*.parent" entries for subdomains,
 * stream-bound entries only for their stream.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "policy/policy.h"
#include "policy/signing.h"
#include "tests/unit/unit.h"

static char dir[] = "/tmp/mw-signing.XXXXXX";
static struct policy *policy;

static int
setup(void **state)
{
	char key[PATH_MAX], conf[PATH_MAX];
	struct buf errors = BUF_INIT;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f;

	(void)state;
	if (mkdtemp(dir) == NULL || pkey == NULL)
		return -1;
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	f = fopen(key, "w");
	if (f == NULL || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL))
		return -1;
	fclose(f);
	EVP_PKEY_free(pkey);
	chmod(key, 0600);
	snprintf(conf, sizeof(conf), "%s/p.conf", dir);
	f = fopen(conf, "w");
	if (f == NULL)
		return -1;
	fprintf(
	    f,
	    "domains = (\n"
	    "  { domain = \"example.com\"; selector = \"a\"; key = \"%s\"; algorithm = "
	    "\"ed25519-sha256\"; },\n"
	    "  { domain = \"example.com\"; selector = \"news\"; key = \"%s\"; algorithm = "
	    "\"ed25519-sha256\";\n"
	    "    stream = \"newsletters\"; },\n"
	    "  { domain = \"*.example.com\"; selector = \"w\"; key = \"%s\"; algorithm = "
	    "\"ed25519-sha256\"; },\n"
	    "  { domain = \"shop.example.com\"; selector = \"s\"; key = \"%s\"; algorithm = "
	    "\"ed25519-sha256\"; }\n"
	    ");\n"
	    "mail_from = ( { domain = \"*.example.com\"; bounce_domain = \"bounce.example.com\"; "
	    "},\n"
	    "              { domain = \"example.org\"; bounce_domain = \"b.example.org\"; } );\n"
	    "feedback = { verp_keys = ( { id = 1; file = \"%s\"; } ); };\n",
	    key, key, key, key, key);
	fclose(f);
	policy = policy_load(conf, &errors);
	if (policy == NULL)
		fprintf(stderr, "%s", buf_str(&errors));
	buf_free(&errors);
	return policy == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	policy_release(policy);
	return unit_remove_tree(dir);
}

struct key_case {
	const char *from_domain;
	const char *stream;
	const char *selectors; /* the chosen entries' selectors, in order */
};

static const struct key_case key_cases[] = {
	{ "example.com", NULL, "a" },
	{ "EXAMPLE.com", NULL, "a" },
	{ "example.com", "newsletters", "a,news" },
	{ "example.com", "other", "a" },
	{ "mail.example.com", NULL, "w" },
	{ "shop.example.com", NULL, "s" }, /* an exact entry beats the wildcard */
	{ "example.org", NULL, "" },
	{ "notexample.com", NULL, "" },
	{ NULL, NULL, "" },
};

static void
keys_follow_domain_wildcard_and_stream(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(key_cases); i++) {
		const struct key_case *c = &key_cases[i];
		const struct policy_domain *out[8];
		size_t n = policy_signing_keys(policy, c->from_domain, c->stream, out, 8);
		struct buf got = BUF_INIT;
		for (size_t k = 0; k < n; k++)
			buf_printf(&got, "%s%s", k ? "," : "", out[k]->selector);
		if (strcmp(buf_str(&got), c->selectors) != 0)
			fail_msg("%s/%s: got \"%s\", expected \"%s\"", c->from_domain, c->stream,
			         buf_str(&got), c->selectors);
		buf_free(&got);
	}
}

static void
wildcard_entries_sign_as_the_parent_domain(void **state)
{
	const struct policy_domain *out[1];

	(void)state;
	assert_int_equal(policy_signing_keys(policy, "mail.example.com", NULL, out, 1), 1);
	assert_string_equal(signing_domain(out[0]), "example.com");
}

static void
bounce_domain_follows_the_from_domain(void **state)
{
	(void)state;
	assert_string_equal(policy_bounce_domain(policy, "www.example.com"), "bounce.example.com");
	assert_null(policy_bounce_domain(policy, "example.com")); /* "*." covers subdomains only */
	assert_string_equal(policy_bounce_domain(policy, "example.org"), "b.example.org");
	assert_null(policy_bounce_domain(policy, "example.net"));
	assert_null(policy_bounce_domain(policy, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_follow_domain_wildcard_and_stream),
		cmocka_unit_test(wildcard_entries_sign_as_the_parent_domain),
		cmocka_unit_test(bounce_domain_follows_the_from_domain),
	};
	return cmocka_run_group_tests_name("signing", tests, setup, teardown);
}
