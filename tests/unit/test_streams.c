/*
 * test_streams - address patterns, stream selection, identities and user
 * limits, table-driven
 *
 * Patterns: which addresses each form matches and how specific the match
 * is; which strings the policy loader takes as patterns and tags.  Then,
 * against one policy file: the stream an AUTH user, an envelope sender or
 * a From domain selects (the most specific sender pattern wins, whatever
 * the order of the streams); which From addresses an AUTH user or a
 * client network may use; whose limits apply to a user; and the policy
 * errors for a user or domain claimed by two streams or an identity that
 * names nobody.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/netaddr.h"
#include "policy/policy.h"
#include "policy/streams.h"
#include "tests/unit/unit.h"

/* Load a policy file; NULL with the errors in *errors when it is refused. */
static struct policy *
policy_text(const char *text, struct buf *errors)
{
	char path[PATH_MAX];
	struct policy *policy;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/policy.XXXXXX", unit_tmpdir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	policy = policy_load(path, errors);
	unlink(path);
	return policy;
}

struct pattern_case {
	const char *pattern;
	const char *address;
	int score; /* -1: no match; else the exact score, or 1 for "some match" */
};

static const struct pattern_case patterns[] = {
	{ "news@example.com", "news@example.com", 3000 },
	{ "news@example.com", "NEWS@Example.COM", 3000 },
	{ "news@example.com", "other@example.com", -1 },
	{ "news@example.com", "news@sub.example.com", -1 },
	{ "news@example.com", "xnews@example.com", -1 },
	{ "*@promo.example.com", "anyone@promo.example.com", 1000 },
	{ "*@promo.example.com", "anyone@example.com", -1 },
	{ "*@promo.example.com", "anyone@x.promo.example.com", -1 },
	{ "promo.example.com", "anyone@PROMO.example.com", 1000 },
	{ "*.example.org", "a@mail.example.org", 10 + 11 },
	{ "*.example.org", "a@deep.mail.example.org", 10 + 11 },
	{ "*.example.org", "a@example.org", -1 },
	{ "*.example.org", "a@badexample.org", -1 },
	{ "*@*.example.org", "a@mail.example.org", 10 + 11 },
	{ "news@*.example.org", "news@mail.example.org", 2000 + 10 + 11 },
	{ "news@*.example.org", "other@mail.example.org", -1 },
	{ "*", "a@example.net", 0 },
	{ "*", "", -1 },           /* the null sender matches nothing */
	{ "*", "postmaster", -1 }, /* nor does an address without a domain */
	{ "example.com", "example.com", -1 },
	{ "example.com", "@example.com", -1 },
};

static void
address_patterns_match_and_rank(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(patterns); i++) {
		const struct pattern_case *c = &patterns[i];
		int got = address_pattern_match(c->pattern, c->address);
		if (got != c->score)
			fail_msg("\"%s\" against <%s>: expected %d, got %d", c->pattern, c->address,
			         c->score, got);
	}
	/* the ranking the selection relies on */
	assert_true(address_pattern_match("a@example.com", "a@example.com") >
	            address_pattern_match("*@example.com", "a@example.com"));
	assert_true(address_pattern_match("*@example.com", "a@example.com") >
	            address_pattern_match("*.com", "a@example.com"));
	assert_true(address_pattern_match("*.mail.example.com", "a@x.mail.example.com") >
	            address_pattern_match("*.example.com", "a@x.mail.example.com"));
	assert_true(address_pattern_match("*.com", "a@example.com") >
	            address_pattern_match("*", "a@example.com"));
}

struct check_case {
	const char *value;
	bool pattern_ok;
	bool tag_ok;
};

static const struct check_case checks[] = {
	{ "news@example.com", true, false },
	{ "*@example.com", true, false },
	{ "example.com", true, false },
	{ "*.example.com", true, false },
	{ "*@*.example.com", true, false },
	{ "*", true, false },
	{ "", false, false },
	{ "@example.com", false, false },
	{ "news@", false, false },
	{ "ne ws@example.com", false, false },
	{ "n*s@example.com", false, false },
	{ "*@*@example.com", false, false },
	{ "*@exa mple.com", false, false },
	{ "team=growth", false, true },
	{ "kind=news-letter.v2", false, true },
	{ "=x", false, false },
	{ "x=", false, false },
	{ "a b=c", false, false },
};

static void
loader_checks_patterns_and_tags(void **state)
{
	char err[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(checks); i++) {
		const struct check_case *c = &checks[i];
		if (check_address_pattern(c->value, err, sizeof(err)) != c->pattern_ok)
			fail_msg("pattern \"%s\": expected %s", c->value,
			         c->pattern_ok ? "valid" : "refused");
		if (check_event_tag(c->value, err, sizeof(err)) != c->tag_ok)
			fail_msg("tag \"%s\": expected %s", c->value,
			         c->tag_ok ? "valid" : "refused");
	}
}

/* The wildcard stream comes first: specificity, not order, must decide. */
static const char streams_policy[] =
    "streams = (\n"
    "  { name = \"catchall\"; senders = [ \"*\" ]; },\n"
    "  { name = \"promo\"; senders = [ \"*@promo.example.com\", \"*.example.org\" ];\n"
    "    default_for = [ \"example.net\" ]; },\n"
    "  { name = \"news\"; senders = [ \"news@promo.example.com\" ];\n"
    "    auth_users = [ \"newsletter-app\" ]; default_for = [ \"*.example.net\" ];\n"
    "    tags = [ \"team=growth\" ]; suppression = \"stream\"; }\n"
    ");\n"
    "identities = (\n"
    "  { users = [ \"alice\" ]; from = [ \"alice@example.com\", \"*.example.org\" ]; },\n"
    "  { users = [ \"*\" ]; from = [ \"noreply@example.com\" ]; },\n"
    "  { networks = [ \"192.0.2.0/24\" ]; from = [ \"example.com\" ]; }\n"
    ");\n"
    "user_limits = (\n"
    "  { users = [ \"*\" ]; max_rate = 1; },\n"
    "  { users = [ \"bulk\" ]; max_rate = 50; max_per_day = 100000; }\n"
    ");\n";

struct select_case {
	const char *what;
	const char *auth_user, *sender, *from_domain;
	const char *user_stream, *sender_stream, *domain_stream; /* NULL: none */
};

static const struct select_case selections[] = {
	{ "an AUTH user listed by a stream", "newsletter-app", NULL, NULL, "news", NULL, NULL },
	{ "an AUTH user no stream lists", "alice", NULL, NULL, NULL, NULL, NULL },
	{ "an exact sender beats the domain and the catch-all", NULL, "News@promo.example.com",
	  NULL, NULL, "news", NULL },
	{ "a sender at the domain", NULL, "offers@promo.example.com", NULL, NULL, "promo", NULL },
	{ "a sender at a subdomain", NULL, "x@mail.example.org", NULL, NULL, "promo", NULL },
	{ "any other sender: the catch-all", NULL, "x@elsewhere.test", NULL, NULL, "catchall",
	  NULL },
	{ "the null sender: no stream", NULL, "", NULL, NULL, NULL, NULL },
	{ "a default domain", NULL, NULL, "example.net", NULL, NULL, "promo" },
	{ "a default for subdomains", NULL, NULL, "eu.example.net", NULL, NULL, "news" },
	{ "a domain without default", NULL, NULL, "example.com", NULL, NULL, NULL },
};

static void
expect_stream(const char *what, const char *how, const struct policy_stream *got, const char *want)
{
	if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got->name, want) != 0))
		fail_msg("%s (%s): expected %s, got %s", what, how, want ? want : "none",
		         got ? got->name : "none");
}

static void
streams_are_selected_by_user_sender_and_domain(void **state)
{
	struct buf errors = BUF_INIT;
	struct policy *policy = policy_text(streams_policy, &errors);

	(void)state;
	if (policy == NULL)
		fail_msg("policy refused: %s", buf_str(&errors));
	for (size_t i = 0; i < ARRAY_LEN(selections); i++) {
		const struct select_case *c = &selections[i];
		expect_stream(c->what, "auth", policy_stream_for_user(policy, c->auth_user),
		              c->user_stream);
		expect_stream(c->what, "sender", policy_stream_for_sender(policy, c->sender),
		              c->sender_stream);
		expect_stream(c->what, "domain", policy_stream_for_domain(policy, c->from_domain),
		              c->domain_stream);
	}
	assert_string_equal(policy_stream_named(policy, "news")->tags.items[0], "team=growth");
	assert_int_equal(policy_stream_named(policy, "news")->suppression,
	                 SUPPRESSION_SCOPE_STREAM);
	assert_int_equal(policy_stream_named(policy, "promo")->suppression,
	                 SUPPRESSION_SCOPE_ACCOUNT);
	assert_null(policy_stream_named(policy, "nope"));
	policy_release(policy);
	buf_free(&errors);
}

struct identity_case {
	const char *what;
	const char *auth_user, *client, *from;
	bool allowed;
};

static const struct identity_case identities[] = {
	{ "a user with an address of theirs", "alice", NULL, "alice@example.com", true },
	{ "a user with a domain of theirs", "alice", NULL, "x@eu.example.org", true },
	{ "a user with an address any user may use", "alice", NULL, "noreply@example.com", true },
	{ "another user with an address only alice may use", "bob", NULL, "alice@example.com",
	  false },
	{ "another user with an address any user may use", "bob", NULL, "noreply@example.com",
	  true },
	{ "a network with its domain", NULL, "192.0.2.9", "billing@example.com", true },
	{ "a network with another domain", NULL, "192.0.2.9", "x@example.org", false },
	{ "an unlisted network", NULL, "198.51.100.1", "billing@example.com", false },
	{ "an unauthenticated client does not get the \"*\" users' addresses", NULL, "198.51.100.1",
	  "noreply@example.com", false },
	{ "a user in a listed network gets both", "bob", "192.0.2.9", "billing@example.com", true },
	{ "no From address", "alice", NULL, "", false },
};

static void
identities_allow_what_they_list(void **state)
{
	struct buf errors = BUF_INIT;
	struct policy *policy = policy_text(streams_policy, &errors);

	(void)state;
	assert_non_null(policy);
	for (size_t i = 0; i < ARRAY_LEN(identities); i++) {
		const struct identity_case *c = &identities[i];
		struct sockaddr_storage client;
		if (c->client != NULL)
			assert_true(sockaddr_pton(c->client, &client));
		bool got = policy_identity_allows(
		    policy, c->auth_user, c->client ? (struct sockaddr *)&client : NULL, c->from);
		if (got != c->allowed)
			fail_msg("%s: expected %s", c->what, c->allowed ? "allowed" : "refused");
	}
	policy_release(policy);
	policy = policy_defaults();
	assert_true(policy_identity_allows(policy, "anyone", NULL, "x@anywhere.test"));
	policy_release(policy);
	buf_free(&errors);
}

static void
user_limits_prefer_exact_names(void **state)
{
	struct buf errors = BUF_INIT;
	struct policy *policy = policy_text(streams_policy, &errors);

	(void)state;
	assert_non_null(policy);
	assert_int_equal(policy_user_limits(policy, "bulk")->max_rate, 50);
	assert_int_equal(policy_user_limits(policy, "alice")->max_rate, 1);
	assert_null(policy_user_limits(policy, NULL));
	assert_null(policy_user_limits(policy, ""));
	policy_release(policy);
	buf_free(&errors);
}

struct refusal_case {
	const char *text;
	const char *error; /* a substring of the errors */
};

static const struct refusal_case refusals[] = {
	{ "streams = ( { name = \"a\"; auth_users = [ \"u\" ]; },"
	  " { name = \"b\"; auth_users = [ \"u\" ]; } );\n",
	  "auth_users \"u\" is in streams \"a\" and \"b\"" },
	{ "streams = ( { name = \"a\"; default_for = [ \"example.com\" ]; },"
	  " { name = \"b\"; default_for = [ \"example.com\" ]; } );\n",
	  "default_for \"example.com\" is in streams \"a\" and \"b\"" },
	{ "streams = ( { name = \"a\"; senders = [ \"n*s@example.com\" ]; } );\n",
	  "is not an address pattern" },
	{ "streams = ( { name = \"a\"; tags = [ \"oops\" ]; } );\n", "is not a tag" },
	{ "streams = ( { name = \"a\"; suppression = \"global\"; } );\n",
	  "is not one of: account, stream" },
	{ "identities = ( { from = [ \"example.com\" ]; } );\n", "names nobody" },
	{ "identities = ( { users = [ \"u\" ]; } );\n", "\"from\" is empty" },
	{ "identities = ( { networks = [ \"300.1.2.3/8\" ]; from = [ \"*\" ]; } );\n",
	  "identities[1].networks" },
};

static void
policy_refuses_ambiguous_or_empty_entries(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(refusals); i++) {
		struct buf errors = BUF_INIT;
		struct policy *policy = policy_text(refusals[i].text, &errors);
		if (policy != NULL || strstr(buf_str(&errors), refusals[i].error) == NULL)
			fail_msg("%s: expected an error with \"%s\", got \"%s\"", refusals[i].text,
			         refusals[i].error, buf_str(&errors));
		buf_free(&errors);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(address_patterns_match_and_rank),
		cmocka_unit_test(loader_checks_patterns_and_tags),
		cmocka_unit_test(streams_are_selected_by_user_sender_and_domain),
		cmocka_unit_test(identities_allow_what_they_list),
		cmocka_unit_test(user_limits_prefer_exact_names),
		cmocka_unit_test(policy_refuses_ambiguous_or_empty_entries),
	};
	return cmocka_run_group_tests_name("streams", tests, unit_tmpdir_make, unit_tmpdir_remove);
}
