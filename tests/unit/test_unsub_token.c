/*
 * test_unsub_token - List-Unsubscribe tokens round-trip, stay URL-safe and
 * bounded, and refuse anything tampered, truncated or signed by a key we
 * do not have
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/unsub_token.h"
#include "tests/unit/unit.h"

static const struct verp_key keys[] = {
	{ .id = 1, .secret = "0123456789abcdef0123456789abcdef", .secret_len = 32 },
	{ .id = 7, .secret = "a different secret of 24b", .secret_len = 24 },
};

struct round_case {
	const char *what;
	const char *stream, *topic, *rcpt;
};

static const struct round_case round_cases[] = {
	{ "typical", "newsletters", "weekly", "alice@example.com" },
	{ "no stream, no topic", "", "", "bob@example.org" },
	{ "8-bit recipient", "promo", "", "j\xc3\xb6rg@example.de" },
	{ "longest fields", "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss",
	  "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt",
	  "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"
	  "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"
	  "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"
	  "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr@example.com" },
};

static void
tokens_round_trip_url_safe_and_bounded(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(round_cases); i++) {
		const struct round_case *c = &round_cases[i];
		struct unsub_token in = { .key_id = 7, .issued = 1795473600 }, out;
		struct buf text = BUF_INIT;

		snprintf(in.stream, sizeof(in.stream), "%s", c->stream);
		snprintf(in.topic, sizeof(in.topic), "%s", c->topic);
		snprintf(in.rcpt, sizeof(in.rcpt), "%s", c->rcpt);
		if (unsub_token_encode(&keys[1], &in, &text) != 0)
			fail_msg("%s: not encoded", c->what);
		if (text.len > UNSUB_TOKEN_MAX ||
		    strspn(text.data, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                      "abcdefghijklmnopqrstuvwxyz0123456789-_") != text.len)
			fail_msg("%s: %zu characters, not all URL-safe: %s", c->what, text.len,
			         text.data);
		if (unsub_token_decode(keys, ARRAY_LEN(keys), text.data, text.len, &out) != 0)
			fail_msg("%s: does not decode", c->what);
		assert_int_equal(out.key_id, 7);
		assert_int_equal(out.issued, 1795473600);
		assert_string_equal(out.stream, c->stream);
		assert_string_equal(out.topic, c->topic);
		assert_string_equal(out.rcpt, c->rcpt);
		buf_free(&text);
	}
}

static void
every_altered_character_is_refused(void **state)
{
	struct unsub_token in = { .key_id = 1, .issued = 1795473600 }, out;
	struct buf text = BUF_INIT;

	(void)state;
	snprintf(in.stream, sizeof(in.stream), "newsletters");
	snprintf(in.rcpt, sizeof(in.rcpt), "alice@example.com");
	assert_int_equal(unsub_token_encode(&keys[0], &in, &text), 0);
	for (size_t i = 0; i < text.len; i++) {
		char saved = text.data[i];
		text.data[i] = saved == 'A' ? 'B' : 'A';
		if (unsub_token_decode(keys, ARRAY_LEN(keys), text.data, text.len, &out) == 0)
			fail_msg("character %zu changed: still accepted", i);
		text.data[i] = saved;
	}
	for (size_t cut = 0; cut < text.len; cut++)
		if (unsub_token_decode(keys, ARRAY_LEN(keys), text.data, cut, &out) == 0)
			fail_msg("cut to %zu characters: still accepted", cut);
	/* Only the key that made it (by id) verifies it; an unknown id is refused. */
	assert_int_equal(unsub_token_decode(keys + 1, 1, text.data, text.len, &out), -1);
	buf_free(&text);
}

static void
bad_fields_and_garbage_are_refused(void **state)
{
	static const char *const garbage[] = { "",      "A",       "!!!!",
		                               "AAAA=", "a b c d", "\xff\xfe\xfd\xfc" };
	struct unsub_token in = { .key_id = 1 }, out;
	struct buf text = BUF_INIT;

	(void)state;
	assert_int_equal(unsub_token_encode(&keys[0], &in, &text), -1); /* no recipient */
	memset(in.stream, 's', UNSUB_FIELD_MAX);
	in.stream[UNSUB_FIELD_MAX] = '\0';
	snprintf(in.rcpt, sizeof(in.rcpt), "a@b");
	assert_int_equal(unsub_token_encode(&keys[0], &in, &text), 0); /* 64 bytes is the most */
	for (size_t i = 0; i < ARRAY_LEN(garbage); i++)
		assert_int_equal(
		    unsub_token_decode(keys, ARRAY_LEN(keys), garbage[i], strlen(garbage[i]), &out),
		    -1);
	buf_free(&text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tokens_round_trip_url_safe_and_bounded),
		cmocka_unit_test(every_altered_character_is_refused),
		cmocka_unit_test(bad_fields_and_garbage_are_refused),
	};
	return cmocka_run_group_tests_name("unsub_token", tests, NULL, NULL);
}
