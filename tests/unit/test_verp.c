/*
 * test_verp - mail IDs and bounce-address tokens
 *
 * A token round-trips, fits a local part, survives a change of case, and
 * any change of a character, a token made with an unknown key or a
 * truncated token is refused.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/verp.h"
#include "tests/unit/unit.h"

static const struct verp_key keys[] = {
	{ .id = 1, .secret = "first secret, 32 bytes long....", .secret_len = 32 },
	{ .id = 2, .secret = "second secret, also long enough", .secret_len = 31 },
};

static struct verp_token
sample_token(void)
{
	struct timespec now = { 1795460000, 123000000 };
	struct verp_token t = { .stream_hash = 0xbeef, .rcpt_hash = verp_hash("Bob@Example.NET") };

	mail_id_new(&t.mail, &now);
	return t;
}

static void
token_round_trips_and_fits_a_local_part(void **state)
{
	struct verp_token in = sample_token(), out;
	char text[VERP_TOKEN_TEXT];

	(void)state;
	verp_encode(&keys[0], &in, text);
	assert_int_equal(strlen(text), 53);
	assert_true(strlen("b-") + strlen(text) <= 64);
	for (const char *p = text; *p; p++)
		assert_true(islower((unsigned char)*p) || isdigit((unsigned char)*p));
	assert_int_equal(verp_decode(keys, 2, text, &out), 0);
	assert_memory_equal(out.mail.bytes, in.mail.bytes, MAIL_ID_BYTES);
	assert_int_equal(out.stream_hash, 0xbeef);
	assert_int_equal(out.rcpt_hash, verp_hash("bob@example.net"));
	assert_int_equal(out.key_id, 1);
}

static void
token_survives_upper_case(void **state)
{
	struct verp_token in = sample_token(), out;
	char text[VERP_TOKEN_TEXT];

	(void)state;
	verp_encode(&keys[1], &in, text);
	for (char *p = text; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	assert_int_equal(verp_decode(keys, 2, text, &out), 0);
	assert_int_equal(out.key_id, 2);
}

static void
any_changed_character_is_refused(void **state)
{
	struct verp_token in = sample_token(), out;
	char text[VERP_TOKEN_TEXT];

	(void)state;
	verp_encode(&keys[0], &in, text);
	for (size_t i = 0; i < strlen(text); i++) {
		char saved = text[i];
		text[i] = saved == 'a' ? 'b' : 'a';
		if (verp_decode(keys, 2, text, &out) == 0)
			fail_msg("a token changed at %zu was accepted", i);
		text[i] = saved;
	}
}

static void
unknown_key_and_malformed_tokens_are_refused(void **state)
{
	struct verp_token in = sample_token(), out;
	char text[VERP_TOKEN_TEXT], longer[VERP_TOKEN_TEXT + 2];
	const struct verp_key other = { .id = 9, .secret = "another", .secret_len = 7 };

	(void)state;
	verp_encode(&other, &in, text);
	assert_int_equal(verp_decode(keys, 2, text, &out), -1);
	verp_encode(&keys[0], &in, text);
	assert_int_equal(verp_decode(&keys[1], 1, text, &out), -1); /* key 1 retired */
	snprintf(longer, sizeof(longer), "%sa", text);
	assert_int_equal(verp_decode(keys, 2, longer, &out), -1);
	text[52] = '\0';
	assert_int_equal(verp_decode(keys, 2, text, &out), -1);
	assert_int_equal(verp_decode(keys, 2, "", &out), -1);
	assert_int_equal(verp_decode(keys, 2, "b-1234", &out), -1);
}

static void
mail_ids_are_26_characters_and_sort_by_time(void **state)
{
	struct timespec t1 = { 1795460000, 0 }, t2 = { 1795460000, 1000000 };
	struct mail_id a, b;
	char ta[MAIL_ID_TEXT], tb[MAIL_ID_TEXT];

	(void)state;
	mail_id_new(&a, &t1);
	mail_id_new(&b, &t2);
	mail_id_text(&a, ta);
	mail_id_text(&b, tb);
	assert_int_equal(strlen(ta), 26);
	assert_true(strcmp(ta, tb) < 0);
	assert_true(mail_id_millis(&a) == 1795460000000ULL);
	mail_id_new(&b, &t1);
	assert_memory_not_equal(a.bytes, b.bytes, MAIL_ID_BYTES); /* random part */
}

static void
hash_ignores_case_and_is_never_zero(void **state)
{
	(void)state;
	assert_int_equal(verp_hash("Bob@Example.NET"), verp_hash("bob@example.net"));
	assert_int_not_equal(verp_hash("bob@example.net"), verp_hash("rob@example.net"));
	assert_int_equal(verp_hash(""), verp_hash(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_round_trips_and_fits_a_local_part),
		cmocka_unit_test(token_survives_upper_case),
		cmocka_unit_test(any_changed_character_is_refused),
		cmocka_unit_test(unknown_key_and_malformed_tokens_are_refused),
		cmocka_unit_test(mail_ids_are_26_characters_and_sort_by_time),
		cmocka_unit_test(hash_ignores_case_and_is_never_zero),
	};
	return cmocka_run_group_tests_name("verp", tests, NULL, NULL);
}
