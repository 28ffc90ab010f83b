/*
 * test_send_index - the Message-ID index in a real SQLite store: keys,
 * records found whole, the latest send wins, pruning by age; and an index
 * record filling a feedback event's mail object
 */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/feedback.h"
#include "common/send_index.h"
#include "common/store.h"
#include "tests/unit/unit.h"

static struct store *
open_store(const char *name)
{
	char path[128];
	struct buf err = BUF_INIT;
	struct store *store;

	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir, name);
	store = store_open(path, &err);
	if (store == NULL)
		fail_msg("store_open: %s", buf_str(&err));
	return store;
}

static void
keys_lose_brackets_and_space_only(void **state)
{
	static const struct {
		const char *value, *key;
	} cases[] = {
		{ " <abc@example.com>", "abc@example.com" },
		{ "<abc@example.com>\r\n", "abc@example.com" },
		{ "abc@example.com", "abc@example.com" },
		{ "  <Case.Kept@Example.COM>  ", "Case.Kept@Example.COM" },
		{ "<>", NULL },
		{ "   ", NULL },
		{ NULL, NULL },
	};
	char long_id[SEND_INDEX_KEY_MAX + 2];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *key = send_index_key(cases[i].value);
		if (cases[i].key == NULL)
			assert_null(key);
		else
			assert_string_equal(key, cases[i].key);
		free(key);
	}
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_null(send_index_key(long_id));
}

static void
records_are_found_whole_and_the_latest_send_wins(void **state)
{
	struct store *store = open_store("a.db");
	char *to[] = { "bob@example.net", "carol@example.org" };
	struct send_record r = { .message_id = "m1@example.com",
		                 .mail_id = "0000018f-aaaa",
		                 .timestamp = "2026-11-24T00:00:00.000Z",
		                 .source = "alice@example.com",
		                 .stream = "newsletters",
		                 .tags = "{\"campaign\":[\"x\"]}",
		                 .destination = to,
		                 .destination_count = 2,
		                 .time = 1000 },
	                   got;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(send_index_add_many(store, &r, 1, &err), 0);
	assert_int_equal(send_index_find(store, "m1@example.com", &got, &err), 1);
	assert_string_equal(got.mail_id, "0000018f-aaaa");
	assert_string_equal(got.timestamp, "2026-11-24T00:00:00.000Z");
	assert_string_equal(got.source, "alice@example.com");
	assert_string_equal(got.stream, "newsletters");
	assert_string_equal(got.tags, "{\"campaign\":[\"x\"]}");
	assert_int_equal(got.destination_count, 2);
	assert_string_equal(got.destination[1], "carol@example.org");
	assert_int_equal(got.time, 1000);
	send_record_free(&got);
	assert_int_equal(send_index_find(store, "M1@example.com", &got, &err), 0);
	/* Sent again under the same Message-ID: the newer message answers. */
	r.mail_id = "0000018f-bbbb";
	r.stream = NULL;
	r.destination_count = 1;
	r.time = 2000;
	assert_int_equal(send_index_add_many(store, &r, 1, &err), 0);
	assert_int_equal(send_index_find(store, "m1@example.com", &got, &err), 1);
	assert_string_equal(got.mail_id, "0000018f-bbbb");
	assert_null(got.stream);
	assert_int_equal(got.destination_count, 1);
	send_record_free(&got);
	assert_int_equal(err.len, 0);
	buf_free(&err);
	store_close(store);
}

static void
pruning_forgets_only_older_records(void **state)
{
	struct store *store = open_store("b.db");
	struct send_record rs[3] = {
		{ .message_id = "old@x", .mail_id = "1", .time = 100 },
		{ .message_id = "edge@x", .mail_id = "2", .time = 500 },
		{ .message_id = "new@x", .mail_id = "3", .time = 900 },
	},
	                   got;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(send_index_add_many(store, rs, 3, &err), 0);
	assert_int_equal(send_index_prune(store, 500, &err), 1);
	assert_int_equal(send_index_find(store, "old@x", &got, &err), 0);
	assert_int_equal(send_index_find(store, "edge@x", &got, &err), 1);
	assert_int_equal(got.destination_count, 0);
	send_record_free(&got);
	assert_int_equal(send_index_prune(store, 500, &err), 0);
	buf_free(&err);
	store_close(store);
}

static const char complaint[] =
    "From: fbl@isp.example\r\n"
    "To: fbl@example.com\r\n"
    "Subject: complaint\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n\r\nA complaint.\r\n"
    "--b\r\n"
    "Content-Type: message/feedback-report\r\n\r\n"
    "Feedback-Type: abuse\r\nUser-Agent: isp/1\r\nVersion: 1\r\n"
    "Original-Rcpt-To: <bob@example.net>\r\n\r\n"
    "--b\r\n"
    "Content-Type: message/rfc822\r\n\r\n"
    "From: alice@example.com\r\nTo: bob@example.net\r\nSubject: hi\r\n"
    "Message-ID: <m1@example.com>\r\n\r\nbody\r\n"
    "--b--\r\n";

static void
an_index_record_fills_the_mail_object(void **state)
{
	struct feedback fb;
	struct buf err = BUF_INIT;
	const char *const to[] = { "bob@example.net" };
	struct feedback_mail mail = { .timestamp = "2026-11-24T00:00:00.000Z",
		                      .message_id = "0000018f-aaaa",
		                      .source = "bounce-sender@example.com",
		                      .destination = to,
		                      .destination_count = 1,
		                      .stream = "newsletters",
		                      .correlation = "message-id",
		                      .tags_json = "{\"campaign\":[\"x\"],"
		                                   "\"ses:configuration-set\":[\"newsletters\"]}" };
	size_t len;
	char *text;
	json_t *event, *m;

	(void)state;
	feedback_init();
	assert_int_equal(feedback_parse(complaint, strlen(complaint), &fb, &err),
	                 FEEDBACK_COMPLAINT);
	text = feedback_event_json(&fb, &mail, FEEDBACK_SHAPE_EVENT, 0, &len);
	event = json_loads(text, 0, NULL);
	assert_non_null(event);
	m = json_object_get(event, "mail");
	assert_string_equal(json_string_value(json_object_get(m, "messageId")), "0000018f-aaaa");
	assert_string_equal(json_string_value(json_object_get(m, "source")),
	                    "bounce-sender@example.com");
	assert_string_equal(json_string_value(json_array_get(
	                        json_object_get(json_object_get(m, "tags"), "campaign"), 0)),
	                    "x");
	assert_string_equal(
	    json_string_value(json_array_get(
	        json_object_get(json_object_get(m, "tags"), "mailward:correlation"), 0)),
	    "message-id");
	json_decref(event);
	free(text);
	/* No correlation: the mail object says so, and has no messageId. */
	text = feedback_event_json(&fb, NULL, FEEDBACK_SHAPE_EVENT, 0, &len);
	event = json_loads(text, 0, NULL);
	m = json_object_get(event, "mail");
	assert_true(json_is_null(json_object_get(m, "messageId")));
	assert_string_equal(
	    json_string_value(json_array_get(
	        json_object_get(json_object_get(m, "tags"), "mailward:correlation"), 0)),
	    "none");
	json_decref(event);
	free(text);
	feedback_free(&fb);
	buf_free(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_lose_brackets_and_space_only),
		cmocka_unit_test(records_are_found_whole_and_the_latest_send_wins),
		cmocka_unit_test(pruning_forgets_only_older_records),
		cmocka_unit_test(an_index_record_fills_the_mail_object),
	};
	return cmocka_run_group_tests_name("send_index", tests, unit_tmpdir_make,
	                                   unit_tmpdir_remove);
}
