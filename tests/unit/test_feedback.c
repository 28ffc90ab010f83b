/*
 * test_feedback - bounces, delays and complaints read from the corpus
 *
 * Every tests/data/feedback/NAME.eml is parsed and its events compared,
 * field by field, with NAME.expect.json: the kind, the VERP token
 * candidates, and for each event every field the expectation names (a
 * subset of the event: arrays must match in length, objects only in the
 * keys written).  Then the classifier's table, the size limits, parsing
 * from several threads at once, and a bounded loop of mutated corpus
 * messages (no crash, every event valid JSON under 256 KB).
 */
#include "config.h"

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/feedback.h"
#include "common/xalloc.h"
#include "tests/unit/unit.h"

#define MUTATIONS_PER_FILE 60

static char *
corpus_dir(void)
{
	const char *top = getenv("TOP_SRCDIR");

	return xasprintf("%s/tests/data/feedback", top != NULL ? top : ".");
}

static char *
file_read(const char *path, size_t *len)
{
	FILE *in = fopen(path, "rb");
	char *data;
	long size;

	assert_non_null(in);
	assert_int_equal(fseek(in, 0, SEEK_END), 0);
	size = ftell(in);
	rewind(in);
	data = xmalloc((size_t)size + 1);
	*len = fread(data, 1, (size_t)size, in);
	data[*len] = '\0';
	fclose(in);
	return data;
}

/* The corpus messages, sorted, as paths without ".eml". */
static size_t
corpus_list(char ***names)
{
	char *dir = corpus_dir();
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t count = 0;

	assert_non_null(d);
	*names = NULL;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".eml") != 0)
			continue;
		*names = xgrow(*names, count, sizeof(**names));
		(*names)[count++] = xasprintf("%s/%.*s", dir, (int)(n - 4), e->d_name);
	}
	closedir(d);
	free(dir);
	qsort(*names, count, sizeof(**names), (int (*)(const void *, const void *))strcmp);
	return count;
}

static void
names_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* Does actual have every field of expected?  Prints the first difference. */
static bool
json_subset(const json_t *expected, const json_t *actual, const char *where)
{
	if (json_is_object(expected)) {
		const char *key;
		json_t *value;
		json_object_foreach((json_t *)expected, key, value)
		{
			char *path = xasprintf("%s.%s", where, key);
			bool ok = json_subset(value, json_object_get(actual, key), path);
			free(path);
			if (!ok)
				return false;
		}
		return json_is_object(actual);
	}
	if (json_is_array(expected)) {
		if (!json_is_array(actual) ||
		    json_array_size(actual) != json_array_size(expected)) {
			print_error("%s: %zu elements expected\n", where,
			            json_array_size(expected));
			return false;
		}
		for (size_t i = 0; i < json_array_size(expected); i++) {
			char *path = xasprintf("%s[%zu]", where, i);
			bool ok = json_subset(json_array_get(expected, i),
			                      json_array_get(actual, i), path);
			free(path);
			if (!ok)
				return false;
		}
		return true;
	}
	if (actual == NULL || !json_equal((json_t *)expected, (json_t *)actual)) {
		char *want = json_dumps(expected, JSON_ENCODE_ANY);
		char *got = actual != NULL ? json_dumps(actual, JSON_ENCODE_ANY) : NULL;
		print_error("%s: expected %s, got %s\n", where, want, got != NULL ? got : "(none)");
		free(want);
		free(got);
		return false;
	}
	return true;
}

static json_t *
tokens_json(const struct feedback *fb)
{
	json_t *array = json_array();

	for (size_t i = 0; i < fb->orig.token_count; i++)
		json_array_append_new(array, json_string(fb->orig.tokens[i]));
	return array;
}

static bool
corpus_case_passes(const char *base)
{
	char *eml = xasprintf("%s.eml", base), *expect_path = xasprintf("%s.expect.json", base);
	json_error_t jerr;
	json_t *expect = json_load_file(expect_path, 0, &jerr), *actual = json_object();
	json_t *events = json_array();
	struct buf err = BUF_INIT;
	struct feedback fb;
	size_t len;
	char *msg = file_read(eml, &len);
	bool ok;

	if (expect == NULL)
		print_error("%s: %s\n", expect_path, jerr.text);
	feedback_parse(msg, len, &fb, &err);
	json_object_set_new(actual, "kind", json_string(feedback_kind_name(fb.kind)));
	json_object_set_new(actual, "verpTokens", tokens_json(&fb));
	for (size_t i = 0; i < feedback_event_count(&fb); i++) {
		size_t n;
		char *text = feedback_event_json(&fb, NULL, FEEDBACK_SHAPE_EVENT, i, &n);
		json_t *event = text != NULL ? json_loads(text, 0, NULL) : NULL;
		json_array_append_new(events, event != NULL ? event : json_null());
		free(text);
	}
	json_object_set_new(actual, "events", events);
	ok = expect != NULL && json_subset(expect, actual, strrchr(base, '/') + 1);
	json_decref(expect);
	json_decref(actual);
	feedback_free(&fb);
	buf_free(&err);
	free(msg);
	free(eml);
	free(expect_path);
	return ok;
}

static void
corpus_messages_give_the_expected_events(void **state)
{
	char **names;
	size_t count = corpus_list(&names), failed = 0;

	(void)state;
	assert_true(count >= 25);
	for (size_t i = 0; i < count; i++)
		if (!corpus_case_passes(names[i]))
			failed++;
	names_free(names, count);
	assert_int_equal(failed, 0);
}

static const struct classify_case {
	const char *status, *diagnostic, *action;
	enum bounce_type type;
	enum bounce_subtype subtype;
} classify_cases[] = {
	{ "5.1.1", "smtp; 550 5.1.1 User unknown", "failed", BOUNCE_PERMANENT,
	  BOUNCE_SUB_NO_EMAIL },
	{ "5.1.10", "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound", "failed", BOUNCE_PERMANENT,
	  BOUNCE_SUB_NO_EMAIL },
	{ "5.1.2", "smtp; 550 5.1.2 Host unknown", "failed", BOUNCE_PERMANENT,
	  BOUNCE_SUB_NO_EMAIL },
	{ "5.0.0", "smtp; 550 Requested action not taken: no such user here", "failed",
	  BOUNCE_PERMANENT, BOUNCE_SUB_NO_EMAIL },
	{ "5.0.0", "smtp; 550 5.1.1 <a@b>: Recipient address rejected", "failed", BOUNCE_PERMANENT,
	  BOUNCE_SUB_NO_EMAIL },
	{ "5.7.1", "smtp; 550 5.7.1 Relaying denied", "failed", BOUNCE_PERMANENT,
	  BOUNCE_SUB_GENERAL },
	{ "5.7.1", "smtp; 554 5.7.1 Message rejected: spam detected", "failed", BOUNCE_TRANSIENT,
	  BOUNCE_SUB_CONTENT_REJECTED },
	{ "5.2.2", "smtp; 552 5.2.2 Mailbox full", "failed", BOUNCE_TRANSIENT,
	  BOUNCE_SUB_MAILBOX_FULL },
	{ "4.2.2", "smtp; 452 4.2.2 Over quota", "delayed", BOUNCE_TRANSIENT,
	  BOUNCE_SUB_MAILBOX_FULL },
	{ "5.3.4", "smtp; 552 5.3.4 Message size exceeds fixed limit", "failed", BOUNCE_TRANSIENT,
	  BOUNCE_SUB_MESSAGE_TOO_LARGE },
	{ "5.2.3", NULL, "failed", BOUNCE_TRANSIENT, BOUNCE_SUB_MESSAGE_TOO_LARGE },
	{ "5.7.0", "smtp; 550 5.7.0 Attachment type not allowed (.exe)", "failed", BOUNCE_TRANSIENT,
	  BOUNCE_SUB_ATTACHMENT_REJECTED },
	{ "4.4.1", "X-Postfix; connect to mx[192.0.2.1]:25: Connection timed out", "failed",
	  BOUNCE_TRANSIENT, BOUNCE_SUB_GENERAL },
	{ NULL, "554 delivery error: dd This user doesn't have an account", "failed",
	  BOUNCE_PERMANENT, BOUNCE_SUB_NO_EMAIL },
	{ NULL, "421 Try again later", "failed", BOUNCE_TRANSIENT, BOUNCE_SUB_GENERAL },
	{ NULL, "Sorry, no mailbox here by that name.", "failed", BOUNCE_PERMANENT,
	  BOUNCE_SUB_NO_EMAIL },
	{ NULL, NULL, "failed", BOUNCE_UNDETERMINED, BOUNCE_SUB_UNDETERMINED },
	{ NULL, "something went wrong", NULL, BOUNCE_UNDETERMINED, BOUNCE_SUB_UNDETERMINED },
	{ "4.1.1", "smtp; 450 4.1.1 Recipient address rejected: unverified address", "failed",
	  BOUNCE_TRANSIENT, BOUNCE_SUB_GENERAL },
};

static void
classifier_follows_the_ses_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(classify_cases); i++) {
		const struct classify_case *c = &classify_cases[i];
		enum bounce_type type;
		enum bounce_subtype subtype;
		feedback_classify(c->status, c->diagnostic, c->action, &type, &subtype);
		if (type != c->type || subtype != c->subtype)
			print_error("case %zu (%s, %s): %s/%s\n", i, c->status ? c->status : "-",
			            c->diagnostic ? c->diagnostic : "-", bounce_type_name(type),
			            bounce_subtype_name(subtype));
		assert_int_equal(type, c->type);
		assert_int_equal(subtype, c->subtype);
	}
}

/* A DSN for count recipients with long diagnostics, the original's headers padded. */
static char *
huge_dsn(size_t count, size_t *len)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, "From: MAILER-DAEMON@mail.example.org\nSubject: Undelivered Mail\n"
	             "MIME-Version: 1.0\nContent-Type: multipart/report; "
	             "report-type=delivery-status; boundary=XX\n\n--XX\n"
	             "Content-Type: message/delivery-status\n\nReporting-MTA: dns; m.example\n");
	for (size_t i = 0; i < count; i++) {
		buf_printf(&b,
		           "\nFinal-Recipient: rfc822; user%zu@example.net\nAction: failed\n"
		           "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 ",
		           i);
		for (int j = 0; j < 300; j++)
			buf_puts(&b, "unknown ");
		buf_puts(&b, "\n");
	}
	buf_puts(&b, "\n--XX\nContent-Type: text/rfc822-headers\n\n");
	for (int i = 0; i < 400; i++)
		buf_printf(&b, "X-Padding-%d: %0100d\n", i, i);
	buf_puts(&b, "Subject: big\n\n--XX--\n");
	*len = b.len;
	return b.data;
}

static void
events_stay_under_256k_with_headers_truncated(void **state)
{
	struct buf err = BUF_INIT;
	struct feedback fb;
	size_t len, n;
	char *msg = huge_dsn(300, &len), *text;
	json_t *event;

	(void)state;
	assert_int_equal(feedback_parse(msg, len, &fb, &err), FEEDBACK_BOUNCE);
	assert_int_equal(fb.rcpt_count, FEEDBACK_MAX_RCPTS);
	assert_int_equal(feedback_event_count(&fb), 1);
	text = feedback_event_json(&fb, NULL, FEEDBACK_SHAPE_NOTIFICATION, 0, &n);
	assert_non_null(text);
	assert_true(n <= FEEDBACK_MAX_EVENT);
	event = json_loads(text, 0, NULL);
	assert_non_null(event);
	assert_string_equal(json_string_value(json_object_get(event, "notificationType")),
	                    "Bounce");
	assert_true(
	    json_is_true(json_object_get(json_object_get(event, "mail"), "headersTruncated")));
	assert_null(feedback_event_json(&fb, NULL, FEEDBACK_SHAPE_EVENT, 1, &n));
	json_decref(event);
	free(text);
	feedback_free(&fb);
	free(msg);
	buf_free(&err);
}

/* Like SES: the returned headers stop at 10 KB (headersTruncated), the rest of the event stays. */
static void
returned_headers_stop_at_10_kb(void **state)
{
	struct buf msg = BUF_INIT, err = BUF_INIT;
	struct feedback fb;
	size_t n, bytes = 0;
	char *text;
	json_t *event, *headers, *h;

	(void)state;
	buf_puts(&msg, "From: fbl@isp.example\nSubject: report\nMIME-Version: 1.0\n"
	               "Content-Type: multipart/report; report-type=feedback-report; boundary=B\n\n"
	               "--B\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
	               "Version: 1\n\n--B\nContent-Type: message/rfc822\n\n"
	               "From: a@example.com\nMessage-ID: <m@example.com>\n");
	for (int i = 0; i < 30; i++) {
		buf_printf(&msg, "X-Pad-%02d: ", i);
		for (int j = 0; j < 490; j++)
			buf_puts(&msg, "p");
		buf_puts(&msg, "\n");
	}
	buf_puts(&msg, "\nbody\n--B--\n");
	assert_int_equal(feedback_parse(msg.data, msg.len, &fb, &err), FEEDBACK_COMPLAINT);
	text = feedback_event_json(&fb, NULL, FEEDBACK_SHAPE_EVENT, 0, &n);
	event = json_loads(text, 0, NULL);
	assert_non_null(event);
	assert_true(
	    json_is_true(json_object_get(json_object_get(event, "mail"), "headersTruncated")));
	headers = json_object_get(json_object_get(event, "mail"), "headers");
	assert_true(json_array_size(headers) > 10);
	for (size_t k = 0; k < json_array_size(headers); k++) {
		h = json_array_get(headers, k);
		bytes += json_string_length(json_object_get(h, "name")) +
		         json_string_length(json_object_get(h, "value"));
	}
	assert_true(bytes <= FEEDBACK_MAX_HEADERS && bytes > FEEDBACK_MAX_HEADERS - 600);
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(json_object_get(event, "mail"), "commonHeaders"), "messageId")),
	    "m@example.com");
	json_decref(event);
	free(text);
	feedback_free(&fb);
	buf_free(&msg);
	buf_free(&err);
}

static void
mail_from_the_caller_wins_over_the_returned_headers(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@m.example\nSubject: Undelivered Mail\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\n"
	    "Content-Type: message/delivery-status\n\nReporting-MTA: dns; m.example\n\n"
	    "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n\n--B\n"
	    "Content-Type: text/rfc822-headers\n\nFrom: s@example.org\nTo: a@example.net\n"
	    "Message-ID: <x@example.org>\n\n--B--\n";
	const char *dest[] = { "a@example.net" };
	struct feedback_mail mail = { .message_id = "01abcdefghijklmnopqrstuvwx",
		                      .source = "b-tok@bounce.example.org",
		                      .destination = dest,
		                      .destination_count = 1,
		                      .correlation = "verp" };
	struct buf err = BUF_INIT;
	struct feedback fb;
	size_t n;
	char *text;
	json_t *event, *m;

	(void)state;
	assert_int_equal(feedback_parse(msg, sizeof(msg) - 1, &fb, &err), FEEDBACK_BOUNCE);
	text = feedback_event_json(&fb, &mail, FEEDBACK_SHAPE_EVENT, 0, &n);
	event = json_loads(text, 0, NULL);
	m = json_object_get(event, "mail");
	assert_string_equal(json_string_value(json_object_get(m, "messageId")),
	                    "01abcdefghijklmnopqrstuvwx");
	assert_string_equal(json_string_value(json_object_get(m, "source")),
	                    "b-tok@bounce.example.org");
	assert_string_equal(
	    json_string_value(json_array_get(
	        json_object_get(json_object_get(m, "tags"), "mailward:correlation"), 0)),
	    "verp");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(m, "commonHeaders"), "messageId")),
	    "x@example.org");
	json_decref(event);
	free(text);
	feedback_free(&fb);
	buf_free(&err);
}

static void
empty_input_is_an_error(void **state)
{
	struct buf err = BUF_INIT;
	struct feedback fb;

	(void)state;
	assert_int_equal(feedback_parse("", 0, &fb, &err), FEEDBACK_ERROR);
	assert_true(err.len > 0);
	assert_int_equal(feedback_event_count(&fb), 0);
	feedback_free(&fb);
	buf_free(&err);
}

static void *
parse_corpus_thread(void *arg)
{
	char **names = arg;
	size_t ok = 0;

	for (size_t i = 0; names[i] != NULL; i++) {
		char *eml = xasprintf("%s.eml", names[i]);
		size_t len;
		char *msg = file_read(eml, &len);
		struct buf err = BUF_INIT;
		struct feedback fb;
		if (feedback_parse(msg, len, &fb, &err) != FEEDBACK_ERROR)
			ok++;
		feedback_free(&fb);
		buf_free(&err);
		free(msg);
		free(eml);
	}
	return (void *)ok;
}

static void
parses_from_several_threads_at_once(void **state)
{
	char **names;
	size_t count = corpus_list(&names);
	pthread_t threads[4];

	(void)state;
	names = xrealloc(names, (count + 1) * sizeof(*names));
	names[count] = NULL;
	for (size_t t = 0; t < ARRAY_LEN(threads); t++)
		assert_int_equal(pthread_create(&threads[t], NULL, parse_corpus_thread, names), 0);
	for (size_t t = 0; t < ARRAY_LEN(threads); t++) {
		void *ok;
		pthread_join(threads[t], &ok);
		assert_int_equal((size_t)ok, count);
	}
	names_free(names, count);
}

static void
mutate(char *msg, size_t *len, unsigned *seed)
{
	int op = rand_r(seed) % 4;
	size_t at = *len > 0 ? (size_t)rand_r(seed) % *len : 0;

	if (op == 0)
		*len = at; /* truncate */
	for (int i = 0; op > 0 && i < 1 + rand_r(seed) % 16; i++) {
		at = *len > 0 ? (size_t)rand_r(seed) % *len : 0;
		if (*len == 0)
			break;
		if (op == 1)
			msg[at] = (char)(rand_r(seed) & 0xff);
		else if (op == 2)
			msg[at] = "\n:;<>@-\r\t ="[rand_r(seed) % 11];
		else
			memmove(msg + at, msg + at + 1, *len - at - 1), (*len)--;
	}
}

static void
mutated_corpus_never_crashes(void **state)
{
	char **names;
	size_t count = corpus_list(&names);
	/* FEEDBACK_MUTATIONS and FEEDBACK_SEED make longer or other runs by hand. */
	const char *env_runs = getenv("FEEDBACK_MUTATIONS"), *env_seed = getenv("FEEDBACK_SEED");
	int runs = env_runs != NULL ? atoi(env_runs) : MUTATIONS_PER_FILE;
	unsigned seed = env_seed != NULL ? (unsigned)strtoul(env_seed, NULL, 10) : 6;

	(void)state;
	for (size_t i = 0; i < count; i++) {
		char *eml = xasprintf("%s.eml", names[i]);
		size_t len;
		char *original = file_read(eml, &len);
		for (int m = 0; m < runs; m++) {
			char *copy = xmalloc(len + 1);
			size_t n = len;
			memcpy(copy, original, len);
			mutate(copy, &n, &seed);
			struct buf err = BUF_INIT;
			struct feedback fb;
			feedback_parse(copy, n, &fb, &err);
			for (size_t e = 0; e < feedback_event_count(&fb); e++) {
				size_t jl;
				char *text =
				    feedback_event_json(&fb, NULL, FEEDBACK_SHAPE_EVENT, e, &jl);
				assert_non_null(text);
				assert_true(jl <= FEEDBACK_MAX_EVENT);
				json_t *event = json_loads(text, 0, NULL);
				assert_non_null(event);
				json_decref(event);
				free(text);
			}
			feedback_free(&fb);
			buf_free(&err);
			free(copy);
		}
		free(original);
		free(eml);
	}
	names_free(names, count);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(corpus_messages_give_the_expected_events),
		cmocka_unit_test(classifier_follows_the_ses_table),
		cmocka_unit_test(events_stay_under_256k_with_headers_truncated),
		cmocka_unit_test(returned_headers_stop_at_10_kb),
		cmocka_unit_test(mail_from_the_caller_wins_over_the_returned_headers),
		cmocka_unit_test(empty_input_is_an_error),
		cmocka_unit_test(parses_from_several_threads_at_once),
		cmocka_unit_test(mutated_corpus_never_crashes),
	};

	feedback_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
