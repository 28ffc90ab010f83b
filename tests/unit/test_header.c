/*
 * test_header - address lists and domains of header fields, and the UTF-8
 * repair of header text, table-driven
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/header.h"
#include "common/utf8.h"
#include "tests/unit/unit.h"

/* ------------------------------------------------------ addrlist_split */

#define MAX_ITEMS 4

struct split_case {
	const char *what;
	const char *value;
	const char *items[MAX_ITEMS + 1]; /* NULL-terminated */
};

static const struct split_case split_cases[] = {
	{ "single address", "a@example.com", { "a@example.com" } },
	{ "single name-addr", "Alice <a@example.com>", { "Alice <a@example.com>" } },
	{ "several, spaces trimmed",
	  " a@example.com ,b@example.com,  c@example.com ",
	  { "a@example.com", "b@example.com", "c@example.com" } },
	{ "quoted display name with a comma",
	  "\"Doe, Jane\" <jane@example.com>, bob@example.com",
	  { "\"Doe, Jane\" <jane@example.com>", "bob@example.com" } },
	{ "quoted parenthesis is not a comment",
	  "\"(not, a comment\" <a@example.com>, b@example.com",
	  { "\"(not, a comment\" <a@example.com>", "b@example.com" } },
	{ "comment with a comma",
	  "bob@example.com (Bob, the builder), alice@example.com",
	  { "bob@example.com (Bob, the builder)", "alice@example.com" } },
	{ "nested comments",
	  "(a (b, c) d) x@example.com, y@example.com",
	  { "(a (b, c) d) x@example.com", "y@example.com" } },
	{ "quote inside a comment opens no string",
	  "(it's \"odd, ok) a@example.com, b@example.com",
	  { "(it's \"odd, ok) a@example.com", "b@example.com" } },
	{ "escaped parenthesis in a comment",
	  "(x \\) y, z) a@example.com, b@example.com",
	  { "(x \\) y, z) a@example.com", "b@example.com" } },
	{ "angle-addr with a quoted local part holding a comma",
	  "<\"odd,local\"@example.com>, c@example.com",
	  { "<\"odd,local\"@example.com>", "c@example.com" } },
	{ "angle-addr with a bare comma",
	  "Name <a,b@example.com>, c@example.com",
	  { "Name <a,b@example.com>", "c@example.com" } },
	{ "escaped quotes inside a quoted string",
	  "\"Jane \\\"JJ\\\", Doe\" <j@example.com>, k@example.com",
	  { "\"Jane \\\"JJ\\\", Doe\" <j@example.com>", "k@example.com" } },
	{ "escaped backslash ends before the closing quote",
	  "\"back\\\\\" <a@example.com>, b@x",
	  { "\"back\\\\\" <a@example.com>", "b@x" } },
	{ "folded between addresses",
	  "Alice <a@example.com>,\r\n Bob <b@example.com>",
	  { "Alice <a@example.com>", "Bob <b@example.com>" } },
	{ "tab inside an address becomes a space",
	  "Alice\t<a@example.com>",
	  { "Alice <a@example.com>" } },
	{ "folded inside an address",
	  "Alice\r\n\t<a@example.com>, b@example.com",
	  { "Alice <a@example.com>", "b@example.com" } },
	{ "folded inside a quoted display name",
	  "\"Alice\r\n Smith\" <a@example.com>",
	  { "\"Alice Smith\" <a@example.com>" } },
	{ "empty string", "", { NULL } },
	{ "only whitespace", " \t ", { NULL } },
	{ "only commas", ",,,", { NULL } },
	{ "commas and spaces", " , ,\r\n , ", { NULL } },
	{ "trailing comma", "a@example.com,", { "a@example.com" } },
	{ "leading and doubled commas",
	  ",a@example.com,,b@example.com",
	  { "a@example.com", "b@example.com" } },
	{ "empty group", "undisclosed-recipients:;", { "undisclosed-recipients:;" } },
	{ "unterminated quote takes the rest",
	  "\"Doe, Jane <j@example.com>, b@example.com",
	  { "\"Doe, Jane <j@example.com>, b@example.com" } },
};

static bool
split_matches(const struct addrlist *got, const char *const *want, char *why, size_t whylen)
{
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	if (got->count != n) {
		snprintf(why, whylen, "%zu items, expected %zu", got->count, n);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(got->items[i], want[i]) != 0) {
			snprintf(why, whylen, "item %zu is \"%s\", expected \"%s\"", i,
			         got->items[i], want[i]);
			return false;
		}
	}
	return true;
}

static void
addrlist_split_honours_quotes_comments_and_angles(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(split_cases); i++) {
		const struct split_case *c = &split_cases[i];
		struct addrlist list;
		char why[512] = "";

		addrlist_split(c->value, &list);
		bool ok = split_matches(&list, c->items, why, sizeof(why));
		if (!ok)
			fail_msg("%s: %s", c->what, why);
		addrlist_free(&list);
		assert_null(list.items);
		assert_int_equal(list.count, 0);
	}
}

/* ------------------------------------------------------ address_domain */

struct domain_case {
	const char *what;
	const char *address;
	const char *domain; /* NULL: no domain */
};

static const struct domain_case domain_cases[] = {
	{ "bare address", "a@example.com", "example.com" },
	{ "name-addr, lower-cased", "Name <a@B.Example.COM>", "b.example.com" },
	{ "angle-addr only", "<a@example.org>", "example.org" },
	{ "trailing dot", "a@example.com.", "example.com" },
	{ "trailing dot in angle brackets", "Name <a@example.com.>", "example.com" },
	{ "surrounding whitespace", "  a@example.com \t", "example.com" },
	{ "no @", "postmaster", NULL },
	{ "no @ in angle brackets", "Name <postmaster>", NULL },
	{ "@ with empty domain", "a@", NULL },
	{ "@ with empty domain in angle brackets", "Name <a@>", NULL },
	{ "domain of only a dot", "a@.", NULL },
	{ "empty string", "", NULL },
	{ "@ in a quoted display name", "\"a@b\" <c@d.example>", "d.example" },
	{ "angle brackets in a quoted display name", "\"Bob <bob@evil.example>\" <a@good.example>",
	  "good.example" },
	{ "@ in a quoted local part", "\"x@y\"@example.com", "example.com" },
	{ "unclosed angle bracket", "Name <a@example.com", "example.com" },
	{ "empty group", "undisclosed-recipients:;", NULL },
	{ "group with one member", "Team: a@example.com;", "example.com" },
	{ "bare address with a comment", "a@example.com (Alice)", "example.com" },
	{ "comment holding an @", "a@example.com (via x@evil.example)", "example.com" },
};

static void
address_domain_finds_lower_cased_domain_of_one_address(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(domain_cases); i++) {
		const struct domain_case *c = &domain_cases[i];
		char *domain = address_domain(c->address);
		bool ok = (domain == NULL && c->domain == NULL) ||
		          (domain != NULL && c->domain != NULL && strcmp(domain, c->domain) == 0);

		if (!ok)
			fail_msg("%s: \"%s\" -> %s%s%s, expected %s", c->what, c->address,
			         domain ? "\"" : "", domain ? domain : "NULL", domain ? "\"" : "",
			         c->domain ? c->domain : "NULL");
		free(domain);
	}
}

/* ---------------------------------------------------------------- utf8 */

#define FFFD "\xef\xbf\xbd"

struct utf8_case {
	const char *what;
	const char *bytes;
	size_t len;
	bool valid;
	const char *sanitized; /* NUL-terminated result of utf8_sanitize(bytes, len) */
};

/* len from the literal, so cases may hold NUL bytes. */
#define U(what, literal, valid, sanitized)                                                         \
	{                                                                                          \
		what, literal, sizeof(literal) - 1, valid, sanitized                               \
	}

static const struct utf8_case utf8_cases[] = {
	U("empty", "", true, ""),
	U("ASCII", "Hello, world ~\x7f", true, "Hello, world ~\x7f"),
	U("ASCII control characters", "\x01\t\r\n\x1b", true, "\x01\t\r\n\x1b"),
	U("2-byte e-acute", "caf\xc3\xa9", true, "caf\xc3\xa9"),
	U("smallest 2-byte, U+0080", "\xc2\x80", true, "\xc2\x80"),
	U("largest 2-byte, U+07FF", "\xdf\xbf", true, "\xdf\xbf"),
	U("3-byte euro sign", "\xe2\x82\xac", true, "\xe2\x82\xac"),
	U("smallest 3-byte, U+0800", "\xe0\xa0\x80", true, "\xe0\xa0\x80"),
	U("just below the surrogates, U+D7FF", "\xed\x9f\xbf", true, "\xed\x9f\xbf"),
	U("just above the surrogates, U+E000", "\xee\x80\x80", true, "\xee\x80\x80"),
	U("U+FFFF", "\xef\xbf\xbf", true, "\xef\xbf\xbf"),
	U("U+FFFD itself", FFFD, true, FFFD),
	U("4-byte emoji", "\xf0\x9f\x98\x80", true, "\xf0\x9f\x98\x80"),
	U("smallest 4-byte, U+10000", "\xf0\x90\x80\x80", true, "\xf0\x90\x80\x80"),
	U("largest code point, U+10FFFF", "\xf4\x8f\xbf\xbf", true, "\xf4\x8f\xbf\xbf"),
	U("mixed widths", "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", true,
	  "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"),
	/* Invalid: every byte of an invalid sequence becomes one U+FFFD. */
	U("overlong 2-byte slash", "\xc0\xaf", false, FFFD FFFD),
	U("overlong 2-byte, C1 lead", "\xc1\xbf", false, FFFD FFFD),
	U("overlong 3-byte slash", "\xe0\x80\xaf", false, FFFD FFFD FFFD),
	U("overlong 3-byte U+07FF", "\xe0\x9f\xbf", false, FFFD FFFD FFFD),
	U("overlong 4-byte slash", "\xf0\x80\x80\xaf", false, FFFD FFFD FFFD FFFD),
	U("overlong NUL", "\xc0\x80", false, FFFD FFFD),
	U("high surrogate U+D800", "\xed\xa0\x80", false, FFFD FFFD FFFD),
	U("low surrogate U+DFFF", "\xed\xbf\xbf", false, FFFD FFFD FFFD),
	U("surrogate pair as CESU-8", "\xed\xa0\xbd\xed\xb8\x80", false,
	  FFFD FFFD FFFD FFFD FFFD FFFD),
	U("U+110000", "\xf4\x90\x80\x80", false, FFFD FFFD FFFD FFFD),
	U("F5 lead byte", "\xf5\x80\x80\x80", false, FFFD FFFD FFFD FFFD),
	U("FE and FF", "\xfe\xff", false, FFFD FFFD),
	U("truncated 2-byte at the end", "ab\xc3", false, "ab" FFFD),
	U("truncated 3-byte at the end", "x\xe2\x82", false, "x" FFFD FFFD),
	U("truncated 4-byte at the end", "\xf0\x9f\x98", false, FFFD FFFD FFFD),
	U("truncated 3-byte before ASCII", "\xe2\x82z", false, FFFD FFFD "z"),
	U("lone continuation byte", "a\x80z", false, "a" FFFD "z"),
	U("run of continuation bytes", "\x80\xbf\x80", false, FFFD FFFD FFFD),
	U("Latin-1 text", "caf\xe9 cr\xe8me", false, "caf" FFFD " cr" FFFD "me"),
	U("valid then invalid", "\xc3\xa9\xe9", false, "\xc3\xa9" FFFD),
	/* NUL: counted by len, invalid, replaced, so the result has no NUL inside. */
	U("NUL alone", "\0", false, FFFD),
	U("embedded NUL", "a\0b", false, "a" FFFD "b"),
	U("trailing NUL", "ab\0", false, "ab" FFFD),
};

/* len is honoured, not a NUL: a prefix cut inside a sequence is truncated. */
static const struct utf8_case prefix_cases[] = {
	{ "first byte of e-acute", "\xc3\xa9", 1, false, FFFD },
	{ "first two bytes of the euro sign", "\xe2\x82\xac", 2, false, FFFD FFFD },
	{ "ASCII prefix of a longer text", "abc\xe9", 3, true, "abc" },
	{ "zero length of non-empty text", "\xff", 0, true, "" },
};

static void
check_utf8_case(const struct utf8_case *c)
{
	char *clean;

	if (utf8_valid(c->bytes, c->len) != c->valid)
		fail_msg("%s: utf8_valid is %s", c->what, c->valid ? "false" : "true");
	clean = utf8_sanitize(c->bytes, c->len);
	assert_non_null(clean);
	if (strcmp(clean, c->sanitized) != 0)
		fail_msg("%s: utf8_sanitize gave %zu bytes, expected %zu", c->what, strlen(clean),
		         strlen(c->sanitized));
	/* The repaired text is valid, and valid text comes back unchanged. */
	assert_true(utf8_valid(clean, strlen(clean)));
	if (c->valid)
		assert_memory_equal(clean, c->bytes, c->len);
	free(clean);
}

static void
utf8_valid_and_sanitize_agree_on_every_sequence_kind(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(utf8_cases); i++)
		check_utf8_case(&utf8_cases[i]);
}

static void
utf8_functions_read_len_bytes_not_up_to_nul(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(prefix_cases); i++)
		check_utf8_case(&prefix_cases[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addrlist_split_honours_quotes_comments_and_angles),
		cmocka_unit_test(address_domain_finds_lower_cased_domain_of_one_address),
		cmocka_unit_test(utf8_valid_and_sanitize_agree_on_every_sequence_kind),
		cmocka_unit_test(utf8_functions_read_len_bytes_not_up_to_nul),
	};
	return cmocka_run_group_tests_name("header", tests, NULL, NULL);
}
