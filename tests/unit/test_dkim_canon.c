/*
 * test_dkim_canon - DKIM canonicalization against RFC 6376 and itself
 *
 * The RFC 6376 section 3.4.5 example, table-driven body cases for both
 * algorithms, and stream invariance: the body hash does not depend on how
 * the body is cut into chunks (the MTA decides that).
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "common/dkim_canon.h"
#include "tests/unit/unit.h"

static void
sha256(const char *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static void
body_hash(enum dkim_canon canon, const char *body, size_t len, size_t chunk, unsigned char out[32])
{
	struct dkim_body b;

	dkim_body_init(&b, canon);
	for (size_t i = 0; i < len; i += chunk)
		dkim_body_update(&b, (const unsigned char *)body + i,
		                 len - i < chunk ? len - i : chunk);
	dkim_body_final(&b, out);
	dkim_body_free(&b);
}

static void
rfc6376_example_headers(void **state)
{
	struct buf relaxed = BUF_INIT, simple = BUF_INIT;

	(void)state;
	dkim_canon_header(DKIM_CANON_RELAXED, "A", " X", &relaxed, true);
	dkim_canon_header(DKIM_CANON_RELAXED, "B ", " Y\t\n\tZ  ", &relaxed, true);
	assert_string_equal(buf_str(&relaxed), "a:X\r\nb:Y Z\r\n");
	dkim_canon_header(DKIM_CANON_SIMPLE, "B ", " Y\t\r\n\tZ  ", &simple, true);
	dkim_canon_header(DKIM_CANON_SIMPLE, "C", " one\n two", &simple, false);
	assert_string_equal(buf_str(&simple), "B : Y\t\r\n\tZ  \r\nC: one\r\n two");
	buf_free(&relaxed);
	buf_free(&simple);
}

struct body_case {
	const char *what;
	enum dkim_canon canon;
	const char *body;
	const char *canonical;
};

static const struct body_case body_cases[] = {
	{ "RFC 6376 example, relaxed", DKIM_CANON_RELAXED, " C \r\nD \t E\r\n\r\n\r\n",
	  " C\r\nD E\r\n" },
	{ "RFC 6376 example, simple", DKIM_CANON_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n",
	  " C \r\nD \t E\r\n" },
	{ "empty body, simple is one CRLF", DKIM_CANON_SIMPLE, "", "\r\n" },
	{ "empty body, relaxed is empty", DKIM_CANON_RELAXED, "", "" },
	{ "only empty lines, simple", DKIM_CANON_SIMPLE, "\r\n\r\n", "\r\n" },
	{ "only empty lines, relaxed", DKIM_CANON_RELAXED, "\r\n\r\n", "" },
	{ "no final line end, simple", DKIM_CANON_SIMPLE, "abc", "abc\r\n" },
	{ "no final line end, relaxed", DKIM_CANON_RELAXED, "abc  ", "abc\r\n" },
	{ "bare LF line ends count as CRLF", DKIM_CANON_SIMPLE, "a\nb\n\n", "a\r\nb\r\n" },
	{ "white-space-only lines are empty under relaxed", DKIM_CANON_RELAXED,
	  "a\r\n \t\r\n\r\nb\r\n \r\n", "a\r\n\r\n\r\nb\r\n" },
	{ "inner empty lines are kept", DKIM_CANON_SIMPLE, "a\r\n\r\n\r\nb\r\n",
	  "a\r\n\r\n\r\nb\r\n" },
	{ "leading white space becomes one space", DKIM_CANON_RELAXED, "\t\t x\r\n", " x\r\n" },
	{ "a bare CR is content", DKIM_CANON_SIMPLE, "a\rb\r\n", "a\rb\r\n" },
	{ "8-bit bytes pass through", DKIM_CANON_RELAXED, "caf\xc3\xa9  \xff\r\n",
	  "caf\xc3\xa9 \xff\r\n" },
};

static void
body_canonical_forms_hash_as_rfc6376_says(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(body_cases); i++) {
		const struct body_case *c = &body_cases[i];
		unsigned char want[32], got[32];
		sha256(c->canonical, strlen(c->canonical), want);
		for (size_t chunk = 1; chunk <= strlen(c->body) + 1; chunk++) {
			body_hash(c->canon, c->body, strlen(c->body), chunk, got);
			if (memcmp(want, got, 32) != 0)
				fail_msg("%s (chunks of %zu)", c->what, chunk);
		}
	}
}

static void
large_body_hash_is_independent_of_chunking(void **state)
{
	static char body[200000];
	unsigned char whole[32], pieces[32];

	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = "ab \t\r\n"[(i * 7 + i / 13) % 6];
	for (int canon = DKIM_CANON_SIMPLE; canon <= DKIM_CANON_RELAXED; canon++) {
		body_hash(canon, body, sizeof(body), sizeof(body), whole);
		body_hash(canon, body, sizeof(body), 65535, pieces);
		assert_memory_equal(whole, pieces, 32);
		body_hash(canon, body, sizeof(body), 4093, pieces);
		assert_memory_equal(whole, pieces, 32);
	}
}

/* l=: only the first limit canonical bytes are hashed; length counts them all. */
static void
limit_hashes_a_prefix_and_counts_everything(void **state)
{
	const char *body = "a  b\r\nsecond line\r\n\r\n";
	const char *canonical = "a b\r\nsecond line\r\n"; /* relaxed, 18 bytes */
	unsigned char want[32], got[32];

	(void)state;
	for (size_t limit = 0; limit <= 20; limit++) {
		for (size_t chunk = 1; chunk <= strlen(body); chunk++) {
			struct dkim_body b;
			dkim_body_init(&b, DKIM_CANON_RELAXED);
			dkim_body_set_limit(&b, limit);
			for (size_t i = 0; i < strlen(body); i += chunk)
				dkim_body_update(&b, (const unsigned char *)body + i,
				                 strlen(body) - i < chunk ? strlen(body) - i
				                                          : chunk);
			dkim_body_final(&b, got);
			sha256(canonical, limit < 18 ? limit : 18, want);
			if (memcmp(want, got, 32) != 0 || b.length != 18)
				fail_msg("limit %zu, chunks of %zu", limit, chunk);
			dkim_body_free(&b);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc6376_example_headers),
		cmocka_unit_test(body_canonical_forms_hash_as_rfc6376_says),
		cmocka_unit_test(large_body_hash_is_independent_of_chunking),
		cmocka_unit_test(limit_hashes_a_prefix_and_counts_everything),
	};
	return cmocka_run_group_tests_name("dkim_canon", tests, NULL, NULL);
}
