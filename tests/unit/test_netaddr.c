/*
 * test_netaddr - CIDR parsing and trusted-network matching, table-driven
 */
#include "config.h"

#include <string.h>

#include "common/netaddr.h"
#include "tests/unit/unit.h"

struct parse_case {
	const char *text;
	bool ok;
	const char *error; /* substring of the error when !ok */
};

static const struct parse_case parse_cases[] = {
	{ "192.0.2.0/24", true, NULL },
	{ "192.0.2.1", true, NULL },
	{ "0.0.0.0/0", true, NULL },
	{ "::/0", true, NULL },
	{ "2001:db8::/32", true, NULL },
	{ "::1", true, NULL },
	{ "::ffff:192.0.2.0/120", true, NULL },
	{ "192.0.2.1/24", false, "bits set beyond the /24 prefix" },
	{ "2001:db8::1/32", false, "bits set beyond the /32 prefix" },
	{ "192.0.2.0/33", false, "prefix length must be 0 to 32" },
	{ "2001:db8::/129", false, "prefix length must be 0 to 128" },
	{ "192.0.2.0/", false, "prefix length" },
	{ "192.0.2.0/08", false, "prefix length" },
	{ "192.0.2.0/-1", false, "prefix length" },
	{ "192.0.2.0/24x", false, "prefix length" },
	{ "example.com", false, "not an IP address" },
	{ "", false, "not an IP address" },
	{ "/24", false, "not an IP address" },
	{ "256.0.0.0/8", false, "not an IP address" },
};

static void
cidr_parse_accepts_valid_and_explains_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct cidr net;
		char err[256] = "";
		bool ok = cidr_parse(c->text, &net, err, sizeof(err));
		if (ok != c->ok)
			fail_msg("%s: expected %s, got %s (%s)", c->text, c->ok ? "ok" : "error",
			         ok ? "ok" : "error", err);
		if (!c->ok && strstr(err, c->error) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", c->text, err, c->error);
	}
}

struct match_case {
	const char *net;
	const char *client;
	bool match;
};

static const struct match_case match_cases[] = {
	{ "192.0.2.0/24", "192.0.2.1", true },
	{ "192.0.2.0/24", "192.0.2.255", true },
	{ "192.0.2.0/24", "192.0.3.1", false },
	{ "192.0.2.128/25", "192.0.2.127", false },
	{ "192.0.2.128/25", "192.0.2.200", true },
	{ "10.0.0.0/7", "11.255.0.1", true },
	{ "10.0.0.0/7", "12.0.0.1", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "127.0.0.1", "127.0.0.1", true },
	{ "127.0.0.1", "127.0.0.2", false },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "2001:db8::/33", "2001:db8:8000::1", false },
	{ "::/0", "::1", true },
	{ "::/0", "127.0.0.1", false },
	{ "::1/128", "::1", true },
	/* A dual-stack MTA may report an IPv4 client as IPv4-mapped IPv6. */
	{ "192.0.2.0/24", "::ffff:192.0.2.7", true },
	{ "192.0.2.0/24", "::ffff:198.51.100.7", false },
	{ "192.0.2.0/24", "::192.0.2.7", false },
};

static void
cidr_match_ipv4_ipv6_and_mapped(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(match_cases); i++) {
		const struct match_case *c = &match_cases[i];
		struct cidr net;
		struct sockaddr_storage client;
		char err[256];
		assert_true(cidr_parse(c->net, &net, err, sizeof(err)));
		assert_true(sockaddr_pton(c->client, &client));
		if (cidr_match(&net, (struct sockaddr *)&client) != c->match)
			fail_msg("%s in %s: expected %s", c->client, c->net,
			         c->match ? "match" : "no match");
	}
}

static void
netlist_match_returns_first_matching_network(void **state)
{
	struct cidr nets[3];
	struct netlist list = { nets, 3 };
	struct sockaddr_storage client;
	char err[64];

	(void)state;
	assert_true(cidr_parse("10.0.0.0/8", &nets[0], err, sizeof(err)));
	assert_true(cidr_parse("192.0.2.0/24", &nets[1], err, sizeof(err)));
	assert_true(cidr_parse("192.0.0.0/8", &nets[2], err, sizeof(err)));
	assert_true(sockaddr_pton("192.0.2.9", &client));
	assert_ptr_equal(netlist_match(&list, (struct sockaddr *)&client), &nets[1]);
	assert_true(sockaddr_pton("172.16.0.1", &client));
	assert_null(netlist_match(&list, (struct sockaddr *)&client));
	assert_null(netlist_match(&list, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cidr_parse_accepts_valid_and_explains_invalid),
		cmocka_unit_test(cidr_match_ipv4_ipv6_and_mapped),
		cmocka_unit_test(netlist_match_returns_first_matching_network),
	};
	return cmocka_run_group_tests_name("netaddr", tests, NULL, NULL);
}
