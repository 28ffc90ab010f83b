/*
 * test_events - the Send event is an SES-shaped, one-line, valid JSON
 * document whatever bytes the message carries
 *
 * Every event is parsed back with jansson (duplicate keys rejected, UTF-8
 * checked) and asserted on by path: "mail/commonHeaders/from/0".
 */
#include "config.h"

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/netaddr.h"
#include "common/xalloc.h"
#include "milter/context.h"
#include "milter/events.h"
#include "policy/policy.h"
#include "tests/unit/unit.h"

#define CLIENT_IP "192.0.2.10"
#define QUEUE_ID  "4Xq7Lm0zZkz9b"

/* ----------------------------------------------------------- fixture */

struct fixture {
	struct conn *conn;
	char dir[64]; /* for policy files; "" until made */
};

static struct conn *
conn_from(const char *ip)
{
	struct sockaddr_storage client;
	struct conn *conn = conn_new();

	if (ip == NULL) {
		conn_set_client(conn, "unknown", NULL, "ORIGINATING");
		return conn;
	}
	assert_true(sockaddr_pton(ip, &client));
	conn_set_client(conn, "client.example", (struct sockaddr *)&client, "ORIGINATING");
	return conn;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	policy_install(policy_defaults());
	fx->conn = conn_from(CLIENT_IP);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	conn_free(fx->conn); /* ends the message, releasing its policy */
	policy_uninstall();
	if (fx->dir[0] != '\0')
		unit_remove_tree(fx->dir);
	free(fx);
	return 0;
}

/* ----------------------------------------------------------- helpers */

/* A typical authenticated outbound message; tests change what they test. */
static struct msg *
msg_typical(struct conn *conn)
{
	struct msg *msg = msg_begin(conn, "<sender@example.com>");

	assert_non_null(msg->policy);
	msg_set_qid(msg, QUEUE_ID);
	msg_add_rcpt(msg, "<rcpt@example.net>");
	msg_add_header(msg, "From", "Sender <sender@example.com>");
	msg_add_header(msg, "To", "rcpt@example.net");
	msg_add_header(msg, "Subject", "Hello");
	msg_add_header(msg, "Date", "Mon, 23 Nov 2026 19:28:23 +0000");
	msg_add_header(msg, "Message-ID", "<abc.123@example.com>");
	return msg;
}

/*
 * The event of msg, parsed.  Asserts the framing on the way: one line,
 * exactly one trailing newline, len matching the text.
 */
static json_t *
event_parse(const struct conn *conn, const struct msg *msg)
{
	size_t len = 0;
	char *text = event_send_json(conn, msg, &len);
	json_error_t error;
	json_t *root;

	if (text == NULL)
		fail_msg("event_send_json returned NULL");
	assert_int_equal(len, strlen(text));
	assert_true(len >= 2);
	assert_int_equal(text[len - 1], '\n');
	assert_int_not_equal(text[len - 2], '\n');
	if (memchr(text, '\n', len - 1) != NULL || memchr(text, '\r', len) != NULL)
		fail_msg("event is not one line: %s", text);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
	if (root == NULL)
		fail_msg("event is not valid JSON (%s at %d): %s", error.text, error.position,
		         text);
	free(text);
	return root;
}

/* The value at a "/"-separated path of keys and array indexes, or NULL. */
static json_t *
json_at(json_t *root, const char *path)
{
	char copy[256], *save = NULL;
	json_t *node = root;

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *p = strtok_r(copy, "/", &save); p != NULL && node != NULL;
	     p = strtok_r(NULL, "/", &save)) {
		if (json_is_array(node))
			node = json_array_get(node, strtoul(p, NULL, 10));
		else
			node = json_object_get(node, p);
	}
	return node;
}

static void
assert_json_string(json_t *root, const char *path, const char *expected)
{
	json_t *node = json_at(root, path);

	if (!json_is_string(node))
		fail_msg("%s: not a string", path);
	if (json_string_length(node) != strlen(expected) ||
	    strcmp(json_string_value(node), expected) != 0)
		fail_msg("%s: \"%s\", expected \"%s\"", path, json_string_value(node), expected);
}

static void
assert_json_absent(json_t *root, const char *path)
{
	if (json_at(root, path) != NULL)
		fail_msg("%s: present, expected absent", path);
}

/* An array of exactly the strings of expected (NULL-terminated). */
static bool
json_strings_equal(json_t *node, const char *const *expected)
{
	size_t n = 0;

	while (expected[n] != NULL)
		n++;
	if (!json_is_array(node) || json_array_size(node) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		json_t *item = json_array_get(node, i);
		if (!json_is_string(item) || strcmp(json_string_value(item), expected[i]) != 0)
			return false;
	}
	return true;
}

static void
assert_json_strings(json_t *root, const char *path, const char *const *expected)
{
	json_t *node = json_at(root, path);

	if (!json_strings_equal(node, expected)) {
		char *got = node ? json_dumps(node, JSON_COMPACT) : NULL;
		fail_msg("%s: %s, expected [\"%s\", ...]", path, got ? got : "(absent)",
		         expected[0] ? expected[0] : "");
	}
}

/* ------------------------------------------------------------ shape */

static void
send_event_has_ses_top_level_shape_and_mail_keys(void **state)
{
	static const char *const mail_keys[] = {
		"timestamp",   "source",           "sourceIp", "callerIdentity", "messageId",
		"destination", "headersTruncated", "headers",  "commonHeaders",  "tags",
	};
	struct fixture *fx = *state;
	struct msg *msg = msg_typical(fx->conn);
	json_t *root, *mail;

	msg->auth_user = xstrdup("sender");
	root = event_parse(fx->conn, msg);
	assert_true(json_is_object(root));
	assert_int_equal(json_object_size(root), 3);
	assert_json_string(root, "eventType", "Send");
	assert_json_absent(root, "notificationType");
	assert_true(json_is_object(json_at(root, "send")));
	assert_int_equal(json_object_size(json_at(root, "send")), 0);

	mail = json_at(root, "mail");
	assert_true(json_is_object(mail));
	for (size_t i = 0; i < ARRAY_LEN(mail_keys); i++)
		if (json_object_get(mail, mail_keys[i]) == NULL)
			fail_msg("mail/%s missing", mail_keys[i]);
	assert_int_equal(json_object_size(mail), ARRAY_LEN(mail_keys));
	assert_true(json_is_false(json_at(mail, "headersTruncated")));
	assert_true(json_is_object(json_at(mail, "commonHeaders")));
	assert_true(json_is_object(json_at(mail, "tags")));
	json_decref(root);
}

struct shape_case {
	const char *policy_text; /* NULL: policy_defaults() */
	const char *type_key;
	const char *other_key;
};

static const struct shape_case shape_cases[] = {
	{ NULL, "eventType", "notificationType" },
	{ "events = { shape = \"event\"; };\n", "eventType", "notificationType" },
	{ "events = { shape = \"notification\"; };\n", "notificationType", "eventType" },
};

static void
install_policy_text(struct fixture *fx, const char *text)
{
	struct buf errors = BUF_INIT;
	char path[128];
	struct policy *policy;
	FILE *fp;

	if (fx->dir[0] == '\0') {
		snprintf(fx->dir, sizeof(fx->dir), "/tmp/mw-events-XXXXXX");
		assert_non_null(mkdtemp(fx->dir));
	}
	snprintf(path, sizeof(path), "%s/mailward.conf", fx->dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	policy = policy_load(path, &errors);
	if (policy == NULL)
		fail_msg("policy_load: %s", buf_str(&errors));
	buf_free(&errors);
	policy_install(policy);
}

static void
send_event_type_key_follows_policy_event_shape(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < ARRAY_LEN(shape_cases); i++) {
		const struct shape_case *c = &shape_cases[i];
		json_t *root;

		if (c->policy_text != NULL)
			install_policy_text(fx, c->policy_text);
		else
			policy_install(policy_defaults());
		/* msg_begin pins the snapshot installed now. */
		root = event_parse(fx->conn, msg_typical(fx->conn));
		assert_json_string(root, c->type_key, "Send");
		assert_json_absent(root, c->other_key);
		assert_int_equal(json_object_size(json_at(root, "send")), 0);
		json_decref(root);
	}
}

/* ------------------------------------------------------------- mail */

struct timestamp_case {
	struct timespec started;
	const char *expected;
};

static const struct timestamp_case timestamp_cases[] = {
	{ { 0, 0 }, "1970-01-01T00:00:00.000Z" },
	{ { 1700000000, 5000000 }, "2023-11-14T22:13:20.005Z" },
	{ { 1700000000, 999999999 }, "2023-11-14T22:13:20.999Z" },
	{ { 1795461263, 123456789 }, "2026-11-23T19:14:23.123Z" },
};

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
static bool
is_iso8601_millis_utc(const char *s)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	if (strlen(s) != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; pattern[i] != '\0'; i++)
		if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pattern[i])
			return false;
	return true;
}

static void
mail_timestamp_is_iso8601_utc_with_milliseconds(void **state)
{
	struct fixture *fx = *state;
	struct timespec before, after;
	char expected[40], date[24];
	struct msg *msg;
	struct tm tm;
	json_t *root, *stamp;

	/* The time msg_begin recorded, at millisecond precision. */
	clock_gettime(CLOCK_REALTIME, &before);
	msg = msg_typical(fx->conn);
	clock_gettime(CLOCK_REALTIME, &after);
	assert_true(msg->started.tv_sec >= before.tv_sec && msg->started.tv_sec <= after.tv_sec);
	root = event_parse(fx->conn, msg);
	stamp = json_at(root, "mail/timestamp");
	assert_true(json_is_string(stamp));
	if (!is_iso8601_millis_utc(json_string_value(stamp)))
		fail_msg("timestamp \"%s\" is not YYYY-MM-DDTHH:MM:SS.mmmZ",
		         json_string_value(stamp));
	gmtime_r(&msg->started.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(expected, sizeof(expected), "%s.%03ldZ", date, msg->started.tv_nsec / 1000000L);
	assert_json_string(root, "mail/timestamp", expected);
	json_decref(root);

	for (size_t i = 0; i < ARRAY_LEN(timestamp_cases); i++) {
		msg->started = timestamp_cases[i].started;
		root = event_parse(fx->conn, msg);
		assert_json_string(root, "mail/timestamp", timestamp_cases[i].expected);
		json_decref(root);
	}
}

struct envelope_case {
	const char *what;
	const char *client; /* NULL: unknown client */
	const char *sender;
	const char *rcpts[4];
	const char *source;
	const char *destination[4];
	const char *source_ip; /* "" when unknown */
};

static const struct envelope_case envelope_cases[] = {
	{ "IPv4 client, bracketed addresses",
	  CLIENT_IP,
	  "<a@example.com>",
	  { "<b@example.net>", "<c@example.org>", "<d@example.com>" },
	  "a@example.com",
	  { "b@example.net", "c@example.org", "d@example.com" },
	  CLIENT_IP },
	{ "IPv6 client, bare addresses",
	  "2001:db8::25",
	  "a@example.com",
	  { "b@example.net", "<c@example.org>" },
	  "a@example.com",
	  { "b@example.net", "c@example.org" },
	  "2001:db8::25" },
	{ "IPv4-mapped client",
	  "::ffff:192.0.2.7",
	  "<a@example.com>",
	  { "<b@example.net>" },
	  "a@example.com",
	  { "b@example.net" },
	  "::ffff:192.0.2.7" },
	{ "null sender",
	  CLIENT_IP,
	  "<>",
	  { "<postmaster@example.net>" },
	  "",
	  { "postmaster@example.net" },
	  CLIENT_IP },
	{ "unknown client, no recipients",
	  NULL,
	  "<a@example.com>",
	  { NULL },
	  "a@example.com",
	  { NULL },
	  "" },
};

static void
mail_source_ip_and_destination_without_angle_brackets(void **state)
{
	(void)state; /* its own connection per client */
	for (size_t i = 0; i < ARRAY_LEN(envelope_cases); i++) {
		const struct envelope_case *c = &envelope_cases[i];
		struct conn *conn = conn_from(c->client);
		struct msg *msg = msg_begin(conn, c->sender);
		json_t *root;

		msg_set_qid(msg, QUEUE_ID);
		for (size_t r = 0; c->rcpts[r] != NULL; r++)
			msg_add_rcpt(msg, c->rcpts[r]);
		root = event_parse(conn, msg);
		print_message("# %s\n", c->what);
		assert_json_string(root, "mail/source", c->source);
		assert_json_string(root, "mail/sourceIp", c->source_ip);
		assert_json_strings(root, "mail/destination", c->destination);
		if (*c->source_ip != '\0') {
			const char *const ip[] = { c->source_ip, NULL };
			assert_json_strings(root, "mail/tags/ses:source-ip", ip);
		} else {
			assert_json_absent(root, "mail/tags/ses:source-ip");
		}
		json_decref(root);
		conn_free(conn);
	}
}

/*
 * mail.messageId is mailward's own ID of the message (26 base32 characters,
 * the one bounce tokens carry), whatever the Message-ID header says; the
 * header itself is commonHeaders.messageId.
 */
static void
mail_message_id_is_mailwards_own_id_and_the_header_is_common(void **state)
{
	static const char *const headers[] = { "<1234.5678@mail.example.com>", "", "<>", NULL };
	struct fixture *fx = *state;

	for (size_t i = 0; i < ARRAY_LEN(headers); i++) {
		struct msg *msg = msg_begin(fx->conn, "<a@example.com>");
		char want[MAIL_ID_TEXT];
		json_t *root;

		msg_set_qid(msg, QUEUE_ID);
		if (headers[i] != NULL)
			msg_add_header(msg, "Message-ID", headers[i]);
		mail_id_text(&msg->id, want);
		root = event_parse(fx->conn, msg);
		assert_json_string(root, "mail/messageId", want);
		assert_int_equal(strspn(want, "abcdefghijklmnopqrstuvwxyz234567"), 26);
		if (headers[i] != NULL)
			assert_json_string(root, "mail/commonHeaders/messageId", headers[i]);
		else
			assert_null(json_at(root, "mail/commonHeaders/messageId"));
		json_decref(root);
	}
}

static void
messages_get_distinct_ids(void **state)
{
	struct fixture *fx = *state;
	struct mail_id first = msg_begin(fx->conn, "<a@example.com>")->id;

	assert_memory_not_equal(first.bytes, msg_begin(fx->conn, "<a@example.com>")->id.bytes,
	                        MAIL_ID_BYTES);
}

static void
mail_headers_list_every_header_in_order(void **state)
{
	static const struct header headers[] = {
		{ "Received", "from a.example by b.example; Mon, 23 Nov 2026 19:28:20 +0000" },
		{ "Received", "from c.example by a.example; Mon, 23 Nov 2026 19:28:19 +0000" },
		{ "From", "Sender <sender@example.com>" },
		{ "X-Empty", "" },
		{ "subject", "lower-case name kept as given" },
		{ "Subject", "a second Subject" },
		{ "MIME-Version", "1.0" },
	};
	struct fixture *fx = *state;
	struct msg *msg = msg_begin(fx->conn, "<sender@example.com>");
	json_t *root, *list;

	for (size_t i = 0; i < ARRAY_LEN(headers); i++)
		msg_add_header(msg, headers[i].name, headers[i].value);
	root = event_parse(fx->conn, msg);
	list = json_at(root, "mail/headers");
	assert_true(json_is_array(list));
	assert_int_equal(json_array_size(list), ARRAY_LEN(headers));
	for (size_t i = 0; i < ARRAY_LEN(headers); i++) {
		char path[64];
		json_t *item = json_array_get(list, i);
		assert_int_equal(json_object_size(item), 2);
		snprintf(path, sizeof(path), "mail/headers/%zu/name", i);
		assert_json_string(root, path, headers[i].name);
		snprintf(path, sizeof(path), "mail/headers/%zu/value", i);
		assert_json_string(root, path, headers[i].value);
	}
	assert_true(json_is_false(json_at(root, "mail/headersTruncated")));
	/* commonHeaders holds the first of repeated headers, names matched in any case. */
	assert_json_string(root, "mail/commonHeaders/subject", "lower-case name kept as given");
	json_decref(root);
}

/* ---------------------------------------------------- commonHeaders */

struct common_case {
	const char *name;
	const char *value;
	const char *key;
	const char *list[5]; /* expected array; list[0] == NULL: a string, value itself */
};

static const struct common_case common_cases[] = {
	{ "From",
	  "\"Doe, Jane\" <jane@example.com>",
	  "from",
	  { "\"Doe, Jane\" <jane@example.com>" } },
	{ "To",
	  "a@example.com, \"B, Bee\" <b@example.com>,c@example.com",
	  "to",
	  { "a@example.com", "\"B, Bee\" <b@example.com>", "c@example.com" } },
	{ "CC",
	  "x@example.com (X, the admin), \"Y \\\"Why\\\", Jr\" <y@example.com>",
	  "cc",
	  { "x@example.com (X, the admin)", "\"Y \\\"Why\\\", Jr\" <y@example.com>" } },
	{ "reply-to", "<reply@example.com>", "replyTo", { "<reply@example.com>" } },
	{ "Subject", "Quarterly report, Q3", "subject", { NULL } },
	{ "Date", "Mon, 23 Nov 2026 19:28:23 +0000", "date", { NULL } },
	{ "Message-Id", "<abc.123@example.com>", "messageId", { NULL } },
};

static void
common_headers_split_address_lists_and_keep_strings(void **state)
{
	struct fixture *fx = *state;
	struct msg *msg = msg_begin(fx->conn, "<jane@example.com>");
	json_t *root, *common;

	for (size_t i = 0; i < ARRAY_LEN(common_cases); i++)
		msg_add_header(msg, common_cases[i].name, common_cases[i].value);
	root = event_parse(fx->conn, msg);
	common = json_at(root, "mail/commonHeaders");
	assert_int_equal(json_object_size(common), ARRAY_LEN(common_cases));
	for (size_t i = 0; i < ARRAY_LEN(common_cases); i++) {
		const struct common_case *c = &common_cases[i];
		char path[64];
		snprintf(path, sizeof(path), "mail/commonHeaders/%s", c->key);
		if (c->list[0] != NULL)
			assert_json_strings(root, path, c->list);
		else
			assert_json_string(root, path, c->value);
	}
	json_decref(root);

	/* Absent headers are absent keys, not empty values. */
	msg = msg_begin(fx->conn, "<jane@example.com>");
	msg_add_header(msg, "X-Other", "x");
	root = event_parse(fx->conn, msg);
	assert_int_equal(json_object_size(json_at(root, "mail/commonHeaders")), 0);
	json_decref(root);
}

/* -------------------------------------------------------------- tags */

struct tags_case {
	const char *what;
	const char *auth_user; /* NULL: not authenticated */
	const char *from;      /* NULL: no From header */
	const char *qid;
	const char *from_domain; /* NULL: tag absent */
};

static const struct tags_case tags_cases[] = {
	{ "authenticated, mixed-case domain", "alice", "Alice <alice@Mail.EXAMPLE.com>", QUEUE_ID,
	  "mail.example.com" },
	{ "not authenticated", NULL, "bob@example.org", QUEUE_ID, "example.org" },
	{ "quoted display name holding an address", "alice",
	  "\"Bob <bob@evil.example>\" <alice@good.example>", QUEUE_ID, "good.example" },
	{ "From without a domain", "alice", "undisclosed", QUEUE_ID, NULL },
	{ "no From header", "alice", NULL, QUEUE_ID, NULL },
	{ "no queue ID yet", NULL, "bob@example.org", "", "example.org" },
	{ "From with two mailboxes: the first one's domain", "alice",
	  "Alice <a@first.example>, Bob <b@second.example>", QUEUE_ID, "first.example" },
	{ "From with a trailing comment", "alice", "alice@example.com (Alice Example)", QUEUE_ID,
	  "example.com" },
};

static void
tags_carry_ses_auto_tags_caller_identity_and_queue_id(void **state)
{
	static const char *const operation[] = { "SendSmtpEmail", NULL };
	static const char *const source_ip[] = { CLIENT_IP, NULL };
	struct fixture *fx = *state;

	for (size_t i = 0; i < ARRAY_LEN(tags_cases); i++) {
		const struct tags_case *c = &tags_cases[i];
		struct msg *msg = msg_begin(fx->conn, "<sender@example.com>");
		json_t *root, *tags, *value;
		const char *key;

		msg_set_qid(msg, c->qid);
		msg_add_rcpt(msg, "<rcpt@example.net>");
		if (c->from != NULL)
			msg_add_header(msg, "From", c->from);
		if (c->auth_user != NULL)
			msg->auth_user = xstrdup(c->auth_user);
		root = event_parse(fx->conn, msg);
		print_message("# %s\n", c->what);
		tags = json_at(root, "mail/tags");
		json_object_foreach(tags, key, value) if (!json_is_array(value) ||
		                                          json_array_size(value) != 1 ||
		                                          !json_is_string(json_array_get(value, 0)))
		    fail_msg("%s: tag %s is not an array of one string", c->what, key);

		assert_json_strings(root, "mail/tags/ses:operation", operation);
		assert_json_strings(root, "mail/tags/ses:source-ip", source_ip);
		if (c->auth_user != NULL) {
			const char *const user[] = { c->auth_user, NULL };
			assert_json_strings(root, "mail/tags/ses:caller-identity", user);
			assert_json_string(root, "mail/callerIdentity", c->auth_user);
		} else {
			assert_json_absent(root, "mail/tags/ses:caller-identity");
			assert_json_absent(root, "mail/callerIdentity");
		}
		if (*c->qid != '\0') {
			const char *const qid[] = { c->qid, NULL };
			assert_json_strings(root, "mail/tags/mailward:queue-id", qid);
		} else {
			assert_json_absent(root, "mail/tags/mailward:queue-id");
		}

		json_t *domain = json_at(root, "mail/tags/ses:from-domain");
		bool ok;
		if (c->from_domain != NULL) {
			const char *const want[] = { c->from_domain, NULL };
			ok = json_strings_equal(domain, want);
		} else {
			ok = domain == NULL;
		}
		if (!ok)
			fail_msg("%s: ses:from-domain %s, expected %s", c->what,
			         domain ? json_string_value(json_array_get(domain, 0)) : "absent",
			         c->from_domain ? c->from_domain : "absent");
		json_decref(root);
	}
}

/* --------------------------------------------------- streams, Reject */

static void
stream_tags_follow_the_message_tags(void **state)
{
	static const char *const team[] = { "crm", "growth", NULL };
	static const char *const kind[] = { "promo", NULL };
	static const char *const set[] = { "promo", NULL };
	struct fixture *fx = *state;
	struct msg *msg;
	json_t *root;

	install_policy_text(fx, "streams = ( { name = \"promo\";"
	                        " tags = [ \"team=growth\", \"kind=promo\" ]; } );\n");
	msg = msg_typical(fx->conn);
	msg->stream = xstrdup("promo");
	msg->tags = xcalloc(1, sizeof(*msg->tags));
	msg->tags[0].name = xstrdup("team");
	msg->tags[0].value = xstrdup("crm");
	msg->tag_count = 1;
	root = event_parse(fx->conn, msg);
	assert_json_strings(root, "mail/tags/team", team);
	assert_json_strings(root, "mail/tags/kind", kind);
	assert_json_strings(root, "mail/tags/ses:configuration-set", set);
	json_decref(root);
}

static void
reject_event_has_the_ses_shape_and_reason(void **state)
{
	static const char *const destination[] = { "rcpt@example.net", NULL };
	struct fixture *fx = *state;
	struct msg *msg = msg_typical(fx->conn);
	size_t len = 0;
	char *text = event_reject_json(fx->conn, msg, "<a@example.com> is not an identity", &len);
	json_t *root = json_loadb(text, len, 0, NULL);

	assert_non_null(root);
	assert_int_equal(text[len - 1], '\n');
	assert_json_string(root, "eventType", "Reject");
	assert_json_string(root, "reject/reason", "<a@example.com> is not an identity");
	assert_json_strings(root, "mail/destination", destination);
	assert_json_absent(root, "send");
	json_decref(root);
	free(text);
}

/* -------------------------------------------------------- truncation */

#define DEFAULT_MAX_HEADER_BYTES 10240

/* A header whose name and value together are size bytes. */
static void
add_header_of_size(struct msg *msg, size_t size)
{
	static const char name[] = "X-Fill";
	char *value = malloc(size);

	assert_true(size >= sizeof(name) - 1);
	assert_non_null(value);
	memset(value, 'v', size - (sizeof(name) - 1));
	value[size - (sizeof(name) - 1)] = '\0';
	msg_add_header(msg, name, value);
	free(value);
}

struct limit_case {
	const char *what;
	size_t sizes[4]; /* name + value bytes of each header; 0 ends */
	size_t kept;
	bool truncated;
};

static const struct limit_case limit_cases[] = {
	{ "exactly the limit", { DEFAULT_MAX_HEADER_BYTES }, 1, false },
	{ "one byte over", { DEFAULT_MAX_HEADER_BYTES + 1 }, 0, true },
	{ "two filling the limit", { 10000, 240 }, 2, false },
	{ "the third overflows", { 10000, 200, 41 }, 2, true },
	{ "a small one after the cut is dropped too", { 10000, 241, 10 }, 1, true },
};

static void
headers_stop_at_max_header_bytes_and_set_headers_truncated(void **state)
{
	struct fixture *fx = *state;

	/* The limits below are those of the default policy. */
	assert_int_equal(msg_begin(fx->conn, "<a@example.com>")->policy->max_header_bytes,
	                 DEFAULT_MAX_HEADER_BYTES);
	for (size_t i = 0; i < ARRAY_LEN(limit_cases); i++) {
		const struct limit_case *c = &limit_cases[i];
		struct msg *msg = msg_begin(fx->conn, "<a@example.com>");
		json_t *root;

		for (size_t h = 0; h < ARRAY_LEN(c->sizes) && c->sizes[h] != 0; h++)
			add_header_of_size(msg, c->sizes[h]);
		root = event_parse(fx->conn, msg);
		if (json_array_size(json_at(root, "mail/headers")) != c->kept)
			fail_msg("%s: %zu headers kept, expected %zu", c->what,
			         json_array_size(json_at(root, "mail/headers")), c->kept);
		if (json_boolean_value(json_at(root, "mail/headersTruncated")) != c->truncated)
			fail_msg("%s: headersTruncated is not %d", c->what, c->truncated);
		json_decref(root);
	}
}

static void
common_headers_survive_truncation_of_headers(void **state)
{
	static const char *const from[] = { "\"Late, Sender\" <late@example.com>", NULL };
	struct fixture *fx = *state;
	struct msg *msg = msg_begin(fx->conn, "<late@example.com>");
	json_t *root, *list;
	size_t bytes = 0;

	msg_set_qid(msg, QUEUE_ID);
	for (int i = 0; i < 40; i++) {
		char name[32], value[1001];
		snprintf(name, sizeof(name), "X-Filler-%02d", i);
		memset(value, 'a' + i % 26, sizeof(value) - 1);
		value[sizeof(value) - 1] = '\0';
		msg_add_header(msg, name, value);
	}
	msg_add_header(msg, "From", from[0]);
	msg_add_header(msg, "Subject", "after the limit");
	msg_add_header(msg, "Message-ID", "<late.1@example.com>");
	root = event_parse(fx->conn, msg);

	assert_true(json_is_true(json_at(root, "mail/headersTruncated")));
	list = json_at(root, "mail/headers");
	assert_true(json_array_size(list) > 0 && json_array_size(list) < 40);
	for (size_t i = 0; i < json_array_size(list); i++) {
		char expected[32];
		const char *name = json_string_value(json_at(json_array_get(list, i), "name"));
		const char *value = json_string_value(json_at(json_array_get(list, i), "value"));
		snprintf(expected, sizeof(expected), "X-Filler-%02zu", i);
		assert_string_equal(name, expected); /* a prefix, in order, nothing after */
		bytes += strlen(name) + strlen(value);
	}
	assert_true(bytes <= DEFAULT_MAX_HEADER_BYTES);
	assert_true(bytes + strlen("X-Filler-00") + 1000 > DEFAULT_MAX_HEADER_BYTES);

	assert_json_strings(root, "mail/commonHeaders/from", from);
	assert_json_string(root, "mail/commonHeaders/subject", "after the limit");
	assert_json_string(root, "mail/commonHeaders/messageId", "<late.1@example.com>");

	const char *const domain[] = { "example.com", NULL };
	assert_json_strings(root, "mail/tags/ses:from-domain", domain);
	json_decref(root);
}

/* ------------------------------------------------------ invalid text */

enum field {
	FIELD_SUBJECT,     /* a header value: headers[0].value and commonHeaders.subject */
	FIELD_HEADER_NAME, /* a header name: headers[0].name */
	FIELD_FROM_NAME,   /* a From display name: commonHeaders.from[0] */
	FIELD_SENDER,      /* envelope sender: source */
	FIELD_RCPT,        /* envelope recipient: destination[0] */
	FIELD_AUTH_USER,   /* callerIdentity and its tag */
	FIELD_MESSAGE_ID,  /* commonHeaders.messageId */
};

struct text_case {
	const char *what;
	enum field field;
	const char *raw;
	const char *expected;
};

#define FFFD "\xef\xbf\xbd"

static const struct text_case invalid_cases[] = {
	{ "Latin-1 e-acute in Subject", FIELD_SUBJECT, "Caf\xe9 au lait", "Caf" FFFD " au lait" },
	{ "lone continuation byte", FIELD_SUBJECT, "a\x80z", "a" FFFD "z" },
	{ "overlong slash", FIELD_SUBJECT, "\xc0\xaf", FFFD FFFD },
	{ "UTF-16 surrogate", FIELD_SUBJECT, "\xed\xa0\x80", FFFD FFFD FFFD },
	{ "beyond U+10FFFF", FIELD_SUBJECT, "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD },
	{ "truncated at the end", FIELD_SUBJECT, "x\xe2\x82", "x" FFFD FFFD },
	{ "valid next to invalid", FIELD_SUBJECT, "\xc3\xa9\xe9", "\xc3\xa9" FFFD },
	{ "header name", FIELD_HEADER_NAME, "X-Caf\xe9", "X-Caf" FFFD },
	{ "From display name", FIELD_FROM_NAME, "Ren\xe9 <rene@example.com>",
	  "Ren" FFFD " <rene@example.com>" },
	{ "envelope sender", FIELD_SENDER, "<ren\xe9@example.com>", "ren" FFFD "@example.com" },
	{ "envelope recipient", FIELD_RCPT, "<\xc0\xafx@example.net>", FFFD FFFD "x@example.net" },
	{ "authenticated user", FIELD_AUTH_USER, "us\xe9r", "us" FFFD "r" },
	{ "Message-ID", FIELD_MESSAGE_ID, "<\xed\xa0\x80@example.com>",
	  "<" FFFD FFFD FFFD "@example.com>" },
};

static void
msg_put_field(struct conn *conn, enum field field, const char *raw)
{
	struct msg *msg = msg_begin(conn, field == FIELD_SENDER ? raw : "<a@example.com>");

	msg_set_qid(msg, QUEUE_ID);
	msg_add_rcpt(msg, field == FIELD_RCPT ? raw : "<b@example.net>");
	if (field == FIELD_SUBJECT)
		msg_add_header(msg, "Subject", raw);
	else if (field == FIELD_HEADER_NAME)
		msg_add_header(msg, raw, "value");
	else if (field == FIELD_FROM_NAME)
		msg_add_header(msg, "From", raw);
	else if (field == FIELD_MESSAGE_ID)
		msg_add_header(msg, "Message-ID", raw);
	if (field == FIELD_AUTH_USER)
		msg->auth_user = xstrdup(raw);
}

static void
invalid_utf8_becomes_u_fffd_in_a_valid_event(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < ARRAY_LEN(invalid_cases); i++) {
		const struct text_case *c = &invalid_cases[i];
		json_t *root;

		msg_put_field(fx->conn, c->field, c->raw);
		print_message("# %s\n", c->what);
		root = event_parse(fx->conn, fx->conn->msg); /* valid JSON is valid UTF-8 */
		switch (c->field) {
		case FIELD_SUBJECT:
			assert_json_string(root, "mail/headers/0/value", c->expected);
			assert_json_string(root, "mail/commonHeaders/subject", c->expected);
			break;
		case FIELD_HEADER_NAME:
			assert_json_string(root, "mail/headers/0/name", c->expected);
			break;
		case FIELD_FROM_NAME:
			assert_json_string(root, "mail/commonHeaders/from/0", c->expected);
			break;
		case FIELD_SENDER:
			assert_json_string(root, "mail/source", c->expected);
			break;
		case FIELD_RCPT:
			assert_json_string(root, "mail/destination/0", c->expected);
			break;
		case FIELD_AUTH_USER:
			assert_json_string(root, "mail/callerIdentity", c->expected);
			assert_json_string(root, "mail/tags/ses:caller-identity/0", c->expected);
			break;
		case FIELD_MESSAGE_ID:
			assert_json_string(root, "mail/commonHeaders/messageId", c->expected);
			break;
		}
		json_decref(root);
	}
}

static const struct text_case special_cases[] = {
	{ "quotes and backslashes in a value", FIELD_SUBJECT,
	  "say \"hi\" to C:\\dir\\ and \\\"x\\\"", NULL },
	{ "control characters in a value", FIELD_SUBJECT,
	  "tab\there\x01\x02\x1b[0m\x1f\x7f bell\a form\f back\b", NULL },
	{ "folded value with CR LF", FIELD_SUBJECT, "first line\r\n second line\n\tthird", NULL },
	{ "JSON and HTML look-alikes", FIELD_SUBJECT, "{\"a\":[1]}</script><!-- \\u0041 /", NULL },
	{ "U+2028 and U+2029 line separators", FIELD_SUBJECT, "a\xe2\x80\xa8z\xe2\x80\xa9", NULL },
	{ "quotes, backslash and control in a name", FIELD_HEADER_NAME, "X-\"Odd\"\\Name\t\x01",
	  NULL },
	{ "quoted local part in the sender", FIELD_SENDER, "<\"john \\\"q\\\" doe\"@example.com>",
	  "\"john \\\"q\\\" doe\"@example.com" },
	{ "quotes in an authenticated user", FIELD_AUTH_USER, "dom\\user \"x\"", NULL },
};

static void
special_characters_round_trip_through_json(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < ARRAY_LEN(special_cases); i++) {
		const struct text_case *c = &special_cases[i];
		const char *expected = c->expected ? c->expected : c->raw;
		json_t *root;

		msg_put_field(fx->conn, c->field, c->raw);
		print_message("# %s\n", c->what);
		root = event_parse(fx->conn, fx->conn->msg); /* also: still one line */
		switch (c->field) {
		case FIELD_SUBJECT:
			assert_json_string(root, "mail/headers/0/value", expected);
			assert_json_string(root, "mail/commonHeaders/subject", expected);
			break;
		case FIELD_HEADER_NAME:
			assert_json_string(root, "mail/headers/0/name", expected);
			break;
		case FIELD_SENDER:
			assert_json_string(root, "mail/source", expected);
			break;
		case FIELD_AUTH_USER:
			assert_json_string(root, "mail/callerIdentity", expected);
			break;
		default:
			fail_msg("%s: field not handled", c->what);
		}
		json_decref(root);
	}
}

/* Like SES, no event reaches 256 KB: headers go, long values are cut, destinations capped. */
static void
send_event_never_reaches_256_kb(void **state)
{
	struct fixture *fx = *state;
	struct msg *msg = msg_begin(fx->conn, "<a@example.com>");
	size_t big = 300 * 1024, len = 0;
	char *subject = malloc(big + 1), rcpt[700], *text;
	json_t *root;

	assert_non_null(subject);
	memset(subject, 's', big);
	subject[big] = '\0';
	msg_add_header(msg, "Subject", subject);
	for (int i = 0; i < 450; i++) {
		snprintf(rcpt, sizeof(rcpt), "<%0600d@example.net>", i);
		msg_add_rcpt(msg, rcpt);
	}
	text = event_send_json(fx->conn, msg, &len);
	assert_non_null(text);
	assert_true(len < 256 * 1024);
	root = json_loads(text, 0, NULL);
	assert_non_null(root);
	assert_true(json_is_true(json_at(root, "mail/headersTruncated")));
	assert_int_equal(json_array_size(json_at(root, "mail/headers")), 0);
	assert_int_equal(json_string_length(json_at(root, "mail/commonHeaders/subject")), 2048);
	assert_int_equal(json_array_size(json_at(root, "mail/destination")), 50);
	json_decref(root);
	free(text);
	free(subject);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(send_event_has_ses_top_level_shape_and_mail_keys,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(send_event_type_key_follows_policy_event_shape,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(mail_timestamp_is_iso8601_utc_with_milliseconds,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    mail_source_ip_and_destination_without_angle_brackets, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    mail_message_id_is_mailwards_own_id_and_the_header_is_common, setup, teardown),
		cmocka_unit_test_setup_teardown(messages_get_distinct_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(mail_headers_list_every_header_in_order, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(common_headers_split_address_lists_and_keep_strings,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		    tags_carry_ses_auto_tags_caller_identity_and_queue_id, setup, teardown),
		cmocka_unit_test_setup_teardown(stream_tags_follow_the_message_tags, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(reject_event_has_the_ses_shape_and_reason, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		    headers_stop_at_max_header_bytes_and_set_headers_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(common_headers_survive_truncation_of_headers, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(invalid_utf8_becomes_u_fffd_in_a_valid_event, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(special_characters_round_trip_through_json, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(send_event_never_reaches_256_kb, setup, teardown),
	};
	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
