/*
 * test_suppression_format - suppression-list rows as CSV and JSON Lines
 *
 * Tables of lines and what they give (an entry, or the reason a row is
 * refused): headers in any order and none at all, quoting, defaults,
 * bad addresses, reasons, times, overlong fields; JSON objects with
 * numbers for times, unknown keys, wrong types; and what the writers
 * print reads back as the same entry.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/suppression_format.h"
#include "tests/unit/unit.h"

#define NOW 1795000000 /* 2026-11-18T11:06:40Z */

struct row_case {
	const char *header; /* NULL: no header line */
	const char *line;
	const char *address; /* NULL: the row is refused, with why containing error */
	const char *scope;
	enum suppression_reason reason;
	time_t time;
	const char *message_id;
	const char *error;
};

static const struct row_case csv_cases[] = {
	{ "address,scope,reason,time,message_id",
	  "Alice@Example.COM,news,bounce,2026-11-23T19:28:23.123Z,m-1", "alice@example.com", "news",
	  SUPPRESSION_BOUNCE, 1795462103, "m-1", NULL },
	{ "reason,address", "COMPLAINT,bob@example.org", "bob@example.org", "",
	  SUPPRESSION_COMPLAINT, NOW, "", NULL },
	{ "emailAddress,reason,lastUpdateTime,stream,messageId",
	  "c@example.net,UNSUBSCRIBE,1700000000,weekly,x", "c@example.net", "weekly",
	  SUPPRESSION_UNSUBSCRIBE, 1700000000, "x", NULL },
	{ NULL, "d@example.com", "d@example.com", "", SUPPRESSION_MANUAL, NOW, "", NULL },
	{ NULL, "  e@example.com  ,  , MANUAL ,2026-11-23", "e@example.com", "", SUPPRESSION_MANUAL,
	  1795392000, "", NULL },
	{ NULL, "\"f@example.com\",\"a, b\",,2026-11-23T20:28:23+01:00,\"say \"\"hi\"\"\"",
	  "f@example.com", "a, b", SUPPRESSION_MANUAL, 1795462103, "say \"hi\"", NULL },
	{ NULL, "g@example.com,,,,\r", "g@example.com", "", SUPPRESSION_MANUAL, NOW, "", NULL },
	{ NULL, "h@[192.0.2.1]", "h@[192.0.2.1]", "", SUPPRESSION_MANUAL, NOW, "", NULL },
	/* quoted local parts, CSV-quoted as export writes them */
	{ NULL, "\"\"\"John Doe, Jr\"\"@Example.com\"", "\"john doe, jr\"@example.com", "",
	  SUPPRESSION_MANUAL, NOW, "", NULL },
	{ NULL, "\"\"\"a\\\"\"b@c\"\"@example.com\"", "\"a\\\"b@c\"@example.com", "",
	  SUPPRESSION_MANUAL, NOW, "", NULL },
	{ NULL, "j\xc3\xa9r\xc3\xb4me@exampl\xc3\xa9.fr", "j\xc3\xa9r\xc3\xb4me@exampl\xc3\xa9.fr",
	  "", SUPPRESSION_MANUAL, NOW, "", NULL },
	/* refused rows */
	{ NULL, "not-an-address", NULL, NULL, 0, 0, NULL, "address without @" },
	{ NULL, "a b@example.com", NULL, NULL, 0, 0, NULL, "blank" },
	{ NULL, "@example.com", NULL, NULL, 0, 0, NULL, "empty or overlong local part" },
	{ NULL, "a@", NULL, NULL, 0, 0, NULL, "bad domain" },
	{ NULL, "a@example..com", NULL, NULL, 0, 0, NULL, "bad domain" },
	{ NULL, "a@b@example.com", NULL, NULL, 0, 0, NULL, "two @" },
	{ NULL, "<a@example.com>", NULL, NULL, 0, 0, NULL, "one of <>" },
	{ NULL, "\"\"\"john\"\"doe\"\"@example.com\"", NULL, NULL, 0, 0, NULL, "stray" },
	{ NULL, "\"\"\"john@example.com\"", NULL, NULL, 0, 0, NULL, "unterminated quoted local" },
	{ NULL,
	  "a\x01"
	  "b@example.com",
	  NULL, NULL, 0, 0, NULL, "control character" },
	{ NULL,
	  "a\xff"
	  "b@example.com",
	  NULL, NULL, 0, 0, NULL, "not UTF-8" },
	{ NULL, "a@example.com,,SPAM", NULL, NULL, 0, 0, NULL, "unknown reason \"SPAM\"" },
	{ NULL, "a@example.com,,,yesterday", NULL, NULL, 0, 0, NULL, "bad time \"yesterday\"" },
	{ NULL, "a@example.com,,,2026-02-31", NULL, NULL, 0, 0, NULL, "bad time" },
	{ NULL, "a@example.com,,,2026-11-23T10:00:00", NULL, NULL, 0, 0, NULL, "bad time" },
	{ NULL, "a@example.com,,,,,extra", NULL, NULL, 0, 0, NULL,
	  "6 fields where the columns are 5" },
	{ "address,reason", "a@example.com,BOUNCE,x", NULL, NULL, 0, 0, NULL, "3 fields" },
	{ NULL, "\"a@example.com,,", NULL, NULL, 0, 0, NULL, "unterminated quoted field" },
	{ NULL, "a\"b@example.com", NULL, NULL, 0, 0, NULL, "quote inside an unquoted field" },
	{ NULL,
	  "a@example.com,0123456789012345678901234567890123456789012345678901234567890123456789",
	  NULL, NULL, 0, 0, NULL, "stream name longer than 64" },
	{ NULL,
	  "a@example.com,,,,0123456789012345678901234567890123456789012345678901234567890123456789",
	  NULL, NULL, 0, 0, NULL, "message ID longer than 63" },
	{ NULL, "a@example.com,\"x\ty\"", NULL, NULL, 0, 0, NULL, "stream name with a control" },
	{ NULL, "a@example.com,,,,id\xff", NULL, NULL, 0, 0, NULL, "message ID with a control" },
	{ "scope,reason", ",BOUNCE", NULL, NULL, 0, 0, NULL, "no address column" },
	{ "address,colour", "a@example.com,red", NULL, NULL, 0, 0, NULL,
	  "unknown column \"colour\"" },
	{ "address,scope,stream", "a@example.com,,", NULL, NULL, 0, 0, NULL,
	  "column \"stream\" twice" },
};

static void
expect_entry(const struct row_case *c, const struct suppression_entry *e)
{
	assert_string_equal(e->address, c->address);
	assert_string_equal(e->scope, c->scope);
	assert_int_equal(e->reason, c->reason);
	assert_int_equal(e->time, c->time);
	assert_string_equal(e->message_id, c->message_id);
}

static void
expect_error(const struct row_case *c, const struct buf *why)
{
	if (strstr(buf_str(why), c->error) == NULL)
		fail_msg("\"%s\": why \"%s\", wanted \"%s\"", c->line, buf_str(why), c->error);
}

/* The case through the reader's path: the header line (or the first line), then the row. */
static void
run_csv_case(const struct row_case *c)
{
	struct suppression_columns cols;
	struct suppression_entry e;
	struct buf why = BUF_INIT;
	int rc;

	if (c->header != NULL) {
		rc = suppression_csv_header(c->header, strlen(c->header), &cols, &why);
		if (rc < 0) {
			assert_null(c->address);
			expect_error(c, &why);
			buf_free(&why);
			return;
		}
		assert_int_equal(rc, 1);
	} else {
		assert_int_equal(suppression_csv_header(c->line, strlen(c->line), &cols, &why), 0);
	}
	rc = suppression_csv_row(&cols, c->line, strlen(c->line), NOW, &e, &why);
	if (c->address != NULL) {
		if (rc != 0)
			fail_msg("\"%s\": refused: %s", c->line, buf_str(&why));
		expect_entry(c, &e);
	} else {
		assert_int_equal(rc, -1);
		expect_error(c, &why);
	}
	buf_free(&why);
}

static void
csv_rows_give_entries_or_reasons(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(csv_cases); i++)
		run_csv_case(&csv_cases[i]);
}

static const struct row_case jsonl_cases[] = {
	{ NULL,
	  "{\"emailAddress\":\"Alice@Example.com\",\"reason\":\"BOUNCE\",\"lastUpdateTime\":"
	  "\"2026-11-23T19:28:23.000Z\",\"stream\":\"news\",\"messageId\":\"m-1\"}",
	  "alice@example.com", "news", SUPPRESSION_BOUNCE, 1795462103, "m-1", NULL },
	{ NULL, "{\"emailAddress\":\"b@example.com\"}", "b@example.com", "", SUPPRESSION_MANUAL,
	  NOW, "", NULL },
	{ NULL, "{\"emailAddress\":\"c@example.com\",\"lastUpdateTime\":1700000000}",
	  "c@example.com", "", SUPPRESSION_MANUAL, 1700000000, "", NULL },
	{ NULL, "{\"emailAddress\":\"d\\u0040example.com\",\"reason\":\"complaint\"}",
	  "d@example.com", "", SUPPRESSION_COMPLAINT, NOW, "", NULL },
	/* refused */
	{ NULL, "{\"reason\":\"BOUNCE\"}", NULL, NULL, 0, 0, NULL, "no \"emailAddress\"" },
	{ NULL, "{\"emailAddress\":\"a@example.com\",\"colour\":\"red\"}", NULL, NULL, 0, 0, NULL,
	  "unknown key \"colour\"" },
	{ NULL, "{\"emailAddress\":42}", NULL, NULL, 0, 0, NULL, "is not a string" },
	{ NULL, "{\"emailAddress\":\"a@example.com\",\"reason\":\"LOST\"}", NULL, NULL, 0, 0, NULL,
	  "unknown reason" },
	{ NULL, "[\"a@example.com\"]", NULL, NULL, 0, 0, NULL, "not a JSON object" },
	{ NULL, "{\"emailAddress\":\"a@example.com\"", NULL, NULL, 0, 0, NULL, "not JSON" },
	{ NULL, "{\"emailAddress\":\"a\\u0000b@example.com\"}", NULL, NULL, 0, 0, NULL, "NUL" },
	{ NULL, "{\"emailAddress\":\"a@example.com\",\"emailAddress\":\"b@example.com\"}", NULL,
	  NULL, 0, 0, NULL, "not JSON" },
	{ NULL, "{\"emailAddress\":\"nobody\"}", NULL, NULL, 0, 0, NULL, "address without @" },
};

static void
jsonl_rows_give_entries_or_reasons(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(jsonl_cases); i++) {
		const struct row_case *c = &jsonl_cases[i];
		struct suppression_entry e;
		struct buf why = BUF_INIT;
		int rc = suppression_jsonl_row(c->line, strlen(c->line), NOW, &e, &why);

		if (c->address != NULL) {
			if (rc != 0)
				fail_msg("%s: refused: %s", c->line, buf_str(&why));
			expect_entry(c, &e);
		} else {
			assert_int_equal(rc, -1);
			expect_error(c, &why);
		}
		buf_free(&why);
	}
}

static const struct {
	const char *text;
	long long when; /* -1: refused */
} time_cases[] = {
	{ "2026-11-23T19:28:23.123Z", 1795462103 },
	{ "2026-11-23T19:28:23Z", 1795462103 },
	{ "2026-11-23t19:28:23z", 1795462103 },
	{ "2026-11-23 19:28:23Z", 1795462103 },
	{ "2026-11-23T19:28Z", 1795462080 },
	{ "2026-11-23T14:28:23-05:00", 1795462103 },
	{ "2026-11-23T20:28:23+0100", 1795462103 },
	{ "2026-11-23", 1795392000 },
	{ "1795462103", 1795462103 },
	{ "0", 0 },
	{ "", -1 },
	{ "2026-13-01", -1 },
	{ "2026-11-23T25:00:00Z", -1 },
	{ "2026-11-23T19:28:23+2:00", -1 },
	{ "2026/11/23", -1 },
	{ "1969-12-31", -1 },
	{ "99999999999999999999", -1 },
	{ "2026-11-23T19:28:23Zjunk", -1 },
};

static void
times_parse_as_iso8601_or_epoch(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(time_cases); i++) {
		time_t t = 0;
		int rc = suppression_time_parse(time_cases[i].text, &t);

		if (time_cases[i].when < 0) {
			if (rc == 0)
				fail_msg("\"%s\" accepted as %lld", time_cases[i].text,
				         (long long)t);
		} else {
			if (rc != 0 || t != time_cases[i].when)
				fail_msg("\"%s\": rc %d, %lld, wanted %lld", time_cases[i].text, rc,
				         (long long)t, time_cases[i].when);
		}
	}
}

static void
formats_come_from_words_and_extensions(void **state)
{
	enum suppression_format f;

	(void)state;
	assert_int_equal(suppression_format_parse("CSV", &f), 0);
	assert_int_equal(f, SUPPRESSION_FORMAT_CSV);
	assert_int_equal(suppression_format_parse("jsonl", &f), 0);
	assert_int_equal(f, SUPPRESSION_FORMAT_JSONL);
	assert_int_equal(suppression_format_parse("xml", &f), -1);
	assert_int_equal(suppression_format_of_path("list.jsonl"), SUPPRESSION_FORMAT_JSONL);
	assert_int_equal(suppression_format_of_path("/tmp/x.NDJSON"), SUPPRESSION_FORMAT_JSONL);
	assert_int_equal(suppression_format_of_path("list.csv"), SUPPRESSION_FORMAT_CSV);
	assert_int_equal(suppression_format_of_path("list"), SUPPRESSION_FORMAT_CSV);
	assert_int_equal(suppression_format_of_path("-"), SUPPRESSION_FORMAT_CSV);
	assert_int_equal(suppression_format_of_path("dir.jsonl/list"), SUPPRESSION_FORMAT_CSV);
}

static struct suppression_entry
awkward_entry(void)
{
	struct suppression_entry e = { .reason = SUPPRESSION_UNSUBSCRIBE, .time = 1795462103 };

	snprintf(e.address, sizeof(e.address), "%s", "\"o'brien, jr\"@example.com");
	snprintf(e.scope, sizeof(e.scope), "%s", "news, weekly");
	snprintf(e.message_id, sizeof(e.message_id), "%s", "<a\"b\\c@x>");
	return e;
}

static void
same_entry(const struct suppression_entry *a, const struct suppression_entry *b)
{
	assert_string_equal(a->address, b->address);
	assert_string_equal(a->scope, b->scope);
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->time, b->time);
	assert_string_equal(a->message_id, b->message_id);
}

static void
written_rows_read_back_the_same(void **state)
{
	struct suppression_entry in = awkward_entry(), out;
	struct suppression_columns cols;
	struct buf text = BUF_INIT, why = BUF_INIT;
	char *nl;

	(void)state;
	suppression_csv_header_write(&text);
	assert_string_equal(buf_str(&text), "address,scope,reason,time,message_id\n");
	assert_int_equal(suppression_csv_header(text.data, text.len - 1, &cols, &why), 1);
	buf_reset(&text);
	suppression_csv_write(&text, &in);
	assert_string_equal(buf_str(&text),
	                    "\"\"\"o'brien, jr\"\"@example.com\",\"news, weekly\",UNSUBSCRIBE,"
	                    "2026-11-23T19:28:23.000Z,\"<a\"\"b\\c@x>\"\n");
	nl = strchr(text.data, '\n');
	assert_int_equal(
	    suppression_csv_row(&cols, text.data, (size_t)(nl - text.data), NOW, &out, &why), 0);
	same_entry(&in, &out);
	buf_reset(&text);
	suppression_jsonl_write(&text, &in);
	assert_string_equal(
	    buf_str(&text),
	    "{\"emailAddress\":\"\\\"o'brien, jr\\\"@example.com\",\"reason\":\"UNSUBSCRIBE\","
	    "\"lastUpdateTime\":\"2026-11-23T19:28:23.000Z\",\"stream\":\"news, "
	    "weekly\",\"messageId\":\"<a\\\"b\\\\c@x>\"}\n");
	assert_int_equal(suppression_jsonl_row(text.data, text.len - 1, NOW, &out, &why), 0);
	same_entry(&in, &out);
	assert_int_equal(why.len, 0);
	buf_free(&text);
	buf_free(&why);
}

static void
blank_lines_hold_no_row(void **state)
{
	(void)state;
	assert_true(suppression_line_blank("", 0));
	assert_true(suppression_line_blank(" \t\r", 3));
	assert_false(suppression_line_blank(" x", 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(csv_rows_give_entries_or_reasons),
		cmocka_unit_test(jsonl_rows_give_entries_or_reasons),
		cmocka_unit_test(times_parse_as_iso8601_or_epoch),
		cmocka_unit_test(formats_come_from_words_and_extensions),
		cmocka_unit_test(written_rows_read_back_the_same),
		cmocka_unit_test(blank_lines_hold_no_row),
	};
	return cmocka_run_group_tests_name("suppression_format", tests, NULL, NULL);
}
