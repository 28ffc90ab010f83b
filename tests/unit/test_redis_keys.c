/*
 * test_redis_keys - where the shared state lives in Redis
 *
 * Keys carry the prefix and read back unambiguously (a scope with ':' or
 * '%' is escaped), index members sort like SQLite's (address, scope)
 * order and split back, and Redis addresses parse or are refused with a
 * reason.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/redis_keys.h"
#include "tests/unit/unit.h"

static void
suppression_keys_escape_the_scope(void **state)
{
	static const struct {
		const char *address, *scope, *key;
	} cases[] = {
		{ "bob@example.net", "", "mw:supp::bob@example.net" },
		{ "bob@example.net", "news", "mw:supp:news:bob@example.net" },
		{ "a:b@example.net", "x:y", "mw:supp:x%3Ay:a:b@example.net" },
		{ "bob@example.net", "100%", "mw:supp:100%25:bob@example.net" },
	};
	struct buf key = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		redis_key_suppression(&key, "mw:", cases[i].address, cases[i].scope);
		assert_string_equal(buf_str(&key), cases[i].key);
	}
	/* "x:" + "y@z" and "x" + ":y@z" were one key without the escape. */
	redis_key_suppression(&key, "mw:", "y@z", "x:");
	assert_string_equal(buf_str(&key), "mw:supp:x%3A:y@z");
	buf_free(&key);
}

static int
member_cmp(const char *a1, const char *s1, const char *a2, const char *s2)
{
	struct buf m1 = BUF_INIT, m2 = BUF_INIT;
	size_t n;
	int c;

	redis_member_suppression(&m1, a1, s1);
	redis_member_suppression(&m2, a2, s2);
	n = m1.len < m2.len ? m1.len : m2.len;
	c = memcmp(m1.data, m2.data, n);
	if (c == 0)
		c = (m1.len > m2.len) - (m1.len < m2.len);
	buf_free(&m1);
	buf_free(&m2);
	return c;
}

static void
index_members_sort_by_address_then_scope(void **state)
{
	(void)state;
	/* SQLite: ("a@x", "zz") < ("a@xb", "") because "a@x" < "a@xb". */
	assert_true(member_cmp("a@x", "zz", "a@xb", "") < 0);
	assert_true(member_cmp("a@x", "", "a@x", "news") < 0);
	assert_true(member_cmp("a@x", "news", "a@x", "news") == 0);
	assert_true(member_cmp("b@x", "", "a@x", "zz") > 0);
}

static void
index_members_split_back(void **state)
{
	char address[321], scope[65];
	struct buf m = BUF_INIT;

	(void)state;
	redis_member_suppression(&m, "bob@example.net", "news:1");
	assert_true(
	    redis_member_split(m.data, m.len, address, sizeof(address), scope, sizeof(scope)));
	assert_string_equal(address, "bob@example.net");
	assert_string_equal(scope, "news:1");
	redis_member_suppression(&m, "bob@example.net", "");
	assert_true(
	    redis_member_split(m.data, m.len, address, sizeof(address), scope, sizeof(scope)));
	assert_string_equal(scope, "");
	assert_false(
	    redis_member_split("no-separator", 12, address, sizeof(address), scope, sizeof(scope)));
	assert_false(
	    redis_member_split("\0scope", 6, address, sizeof(address), scope, sizeof(scope)));
	assert_false(redis_member_split(m.data, m.len, address, 4, scope, sizeof(scope)));
	buf_free(&m);
}

static void
other_keys_carry_the_prefix(void **state)
{
	struct buf key = BUF_INIT;

	(void)state;
	redis_key_bucket(&key, "mailward:", "stream", "news", 498739);
	assert_string_equal(buf_str(&key), "mailward:rep:stream:news:498739");
	redis_key_state(&key, "mailward:", "domain", "example.com");
	assert_string_equal(buf_str(&key), "mailward:rep-state:domain:example.com");
	redis_key_fixed(&key, "mailward:", "rep-outbox");
	assert_string_equal(buf_str(&key), "mailward:rep-outbox");
	redis_key_names(&key, "p:", 12);
	assert_string_equal(buf_str(&key), "p:rep-names:12");
	redis_key_send(&key, "mailward:", "abc@example.com");
	assert_string_equal(buf_str(&key), "mailward:send:abc@example.com");
	redis_key_suppression_index(&key, "mailward:");
	assert_string_equal(buf_str(&key), "mailward:supp-index");
	buf_free(&key);
}

static void
addresses_parse_or_say_why_not(void **state)
{
	static const struct {
		const char *spec;
		bool ok, unix_socket;
		const char *host;
		int port;
	} cases[] = {
		{ "127.0.0.1:6379", true, false, "127.0.0.1", 6379 },
		{ "redis.example.net:7000", true, false, "redis.example.net", 7000 },
		{ "[::1]:6380", true, false, "::1", 6380 },
		{ "unix:/run/redis/redis.sock", true, true, "/run/redis/redis.sock", 0 },
		{ "unix:relative.sock", false, false, "", 0 },
		{ "127.0.0.1", false, false, "", 0 },
		{ "127.0.0.1:0", false, false, "", 0 },
		{ "127.0.0.1:65536", false, false, "", 0 },
		{ "127.0.0.1:63x", false, false, "", 0 },
		{ ":6379", false, false, "", 0 },
		{ "::1:6379", false, false, "", 0 },
		{ "[::1]6379", false, false, "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct redis_address a;
		char err[200] = "";
		bool ok = redis_address_parse(cases[i].spec, &a, err, sizeof(err));

		assert_int_equal(ok, cases[i].ok);
		if (!ok) {
			assert_non_null(
			    strstr(err, cases[i].spec + (cases[i].spec[0] == 'u' ? 5 : 0)));
			continue;
		}
		assert_int_equal(a.unix_socket, cases[i].unix_socket);
		assert_string_equal(a.host, cases[i].host);
		assert_int_equal(a.port, cases[i].port);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(suppression_keys_escape_the_scope),
		cmocka_unit_test(index_members_sort_by_address_then_scope),
		cmocka_unit_test(index_members_split_back),
		cmocka_unit_test(other_keys_carry_the_prefix),
		cmocka_unit_test(addresses_parse_or_say_why_not),
	};
	return cmocka_run_group_tests_name("redis_keys", tests, NULL, NULL);
}
