/*
 * test_endpoint_route - what the HTTP endpoint answers, request by request:
 * the method, the path, the body and what the headers declared decide the
 * status and the one side effect (an unsubscribe), never a GET or a
 * forged, expired or oversized request
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "milter/endpoint_route.h"
#include "tests/unit/unit.h"

#define ISSUED 1795473600 /* 2026-11-24 00:00 UTC */
#define NOW    (ISSUED + 3600)

static struct verp_key keys[] = {
	{ .id = 1, .secret = "0123456789abcdef0123456789abcdef", .secret_len = 32 },
};

static const struct policy *
test_policy(void)
{
	static struct policy policy;

	policy.verp_key_table = keys;
	policy.verp_key_count = 1;
	policy.unsubscribe_token_days = 30;
	return &policy;
}

/* "/u/" and a token for alice issued `age` seconds before NOW, in out. */
static void
token_url(long age, struct buf *out)
{
	struct unsub_token t = { .key_id = 1, .issued = NOW - age };

	snprintf(t.stream, sizeof(t.stream), "newsletters");
	snprintf(t.rcpt, sizeof(t.rcpt), "alice@example.com");
	buf_puts(out, "/u/");
	assert_int_equal(unsub_token_encode(&keys[0], &t, out), 0);
}

enum url_kind { URL_GOOD, URL_OLD, URL_FORGED, URL_LITERAL };

struct route_case {
	const char *what;
	unsigned routes;
	const char *method;
	enum url_kind kind;
	const char *url; /* URL_LITERAL */
	const char *body;
	bool headers_only;
	bool too_big;
	long long content_length;
	enum endpoint_action action;
	unsigned status;
};

#define BOTH (ENDPOINT_UNSUBSCRIBE | ENDPOINT_METRICS)
#define OC   "List-Unsubscribe=One-Click"

static const struct route_case cases[] = {
	{ "a one-click POST unsubscribes", BOTH, "POST", URL_GOOD, NULL, OC, false, false, 26,
	  ENDPOINT_DO_UNSUBSCRIBE, 200 },
	{ "the one-click field among others", BOTH, "POST", URL_GOOD, NULL, "a=b&" OC "&c=d", false,
	  false, -1, ENDPOINT_DO_UNSUBSCRIBE, 200 },
	{ "a GET shows the page, changes nothing", BOTH, "GET", URL_GOOD, NULL, "", false, false,
	  -1, ENDPOINT_DO_CONFIRM_PAGE, 200 },
	{ "a HEAD is a GET", ENDPOINT_UNSUBSCRIBE, "HEAD", URL_GOOD, NULL, "", false, false, -1,
	  ENDPOINT_DO_CONFIRM_PAGE, 200 },
	{ "headers first: the body is read next", BOTH, "POST", URL_GOOD, NULL, "", true, false, 26,
	  ENDPOINT_DO_READ_BODY, 0 },
	{ "a POST without the one-click body is 400", BOTH, "POST", URL_GOOD, NULL,
	  "List-Unsubscribe=Yes", false, false, -1, ENDPOINT_DO_ANSWER, 400 },
	{ "a forged token is 404", BOTH, "POST", URL_FORGED, NULL, OC, false, false, -1,
	  ENDPOINT_DO_BAD_TOKEN, 404 },
	{ "an expired token is 404", BOTH, "POST", URL_OLD, NULL, OC, false, false, -1,
	  ENDPOINT_DO_BAD_TOKEN, 404 },
	{ "a malformed token is 400", BOTH, "GET", URL_LITERAL, "/u/not*a*token", "", false, false,
	  -1, ENDPOINT_DO_BAD_TOKEN, 400 },
	{ "an empty token is 400", BOTH, "GET", URL_LITERAL, "/u/", "", false, false, -1,
	  ENDPOINT_DO_BAD_TOKEN, 400 },
	{ "a declared body over 1 KB is 413 at the headers", BOTH, "POST", URL_GOOD, NULL, "", true,
	  false, 1025, ENDPOINT_DO_ANSWER, 413 },
	{ "a body that grew over 1 KB is 413, not an unsubscribe", BOTH, "POST", URL_GOOD, NULL, OC,
	  false, true, -1, ENDPOINT_DO_ANSWER, 413 },
	{ "other methods are 405", BOTH, "DELETE", URL_GOOD, NULL, "", true, false, -1,
	  ENDPOINT_DO_ANSWER, 405 },
	{ "GET /metrics", BOTH, "GET", URL_LITERAL, "/metrics", "", true, false, -1,
	  ENDPOINT_DO_SHOW_METRICS, 200 },
	{ "POST /metrics is 405", BOTH, "POST", URL_LITERAL, "/metrics", "", true, false, -1,
	  ENDPOINT_DO_ANSWER, 405 },
	{ "/metrics on a server without metrics is 404", ENDPOINT_UNSUBSCRIBE, "GET", URL_LITERAL,
	  "/metrics", "", true, false, -1, ENDPOINT_DO_ANSWER, 404 },
	{ "/u/ on a metrics-only server is 404", ENDPOINT_METRICS, "POST", URL_GOOD, NULL, OC,
	  false, false, -1, ENDPOINT_DO_ANSWER, 404 },
	{ "any other path is 404", BOTH, "GET", URL_LITERAL, "/", "", true, false, -1,
	  ENDPOINT_DO_ANSWER, 404 },
};

static void
each_request_gets_its_status_and_at_most_its_side_effect(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct route_case *c = &cases[i];
		struct buf url = BUF_INIT;
		struct endpoint_decision d;

		if (c->kind == URL_LITERAL)
			buf_puts(&url, c->url);
		else
			token_url(c->kind == URL_OLD ? 31L * 86400 : 0, &url);
		if (c->kind == URL_FORGED) /* a character of the tag, changed */
			url.data[url.len - 5] = url.data[url.len - 5] == 'A' ? 'B' : 'A';
		struct endpoint_request req = {
			.method = c->method,
			.url = buf_str(&url),
			.body = c->body,
			.body_len = strlen(c->body),
			.headers_only = c->headers_only,
			.body_too_big = c->too_big,
			.content_length = c->content_length,
		};
		endpoint_route(c->routes, test_policy(), NOW, &req, &d);
		if (d.action != c->action || d.status != c->status)
			fail_msg("%s: action %d status %u, expected action %d status %u", c->what,
			         d.action, d.status, c->action, c->status);
		if (d.action == ENDPOINT_DO_UNSUBSCRIBE || d.action == ENDPOINT_DO_CONFIRM_PAGE)
			assert_string_equal(d.token.rcpt, "alice@example.com");
		buf_free(&url);
	}
}

static void
without_a_policy_nothing_is_verified_503(void **state)
{
	struct buf url = BUF_INIT;
	struct endpoint_decision d;

	(void)state;
	token_url(0, &url);
	struct endpoint_request req = {
		.method = "POST",
		.url = buf_str(&url),
		.body = OC,
		.body_len = strlen(OC),
		.content_length = -1,
	};
	endpoint_route(BOTH, NULL, NOW, &req, &d);
	assert_int_equal(d.action, ENDPOINT_DO_ANSWER);
	assert_int_equal(d.status, 503);
	buf_free(&url);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_request_gets_its_status_and_at_most_its_side_effect),
		cmocka_unit_test(without_a_policy_nothing_is_verified_503),
	};
	return cmocka_run_group_tests_name("endpoint_route", tests, NULL, NULL);
}
