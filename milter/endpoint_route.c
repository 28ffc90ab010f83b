/*
 * endpoint_route - what the HTTP endpoint does with a request; see
 * endpoint_route.h.
 */
#include "config.h"

#include <string.h>

#include "milter/endpoint_route.h"

static void
answer(struct endpoint_decision *out, unsigned status, const char *title, const char *text)
{
	out->action = ENDPOINT_DO_ANSWER;
	out->status = status;
	out->title = title;
	out->text = text;
}

/* RFC 8058: the POST body must say List-Unsubscribe=One-Click (binary-safe). */
static bool
one_click(const struct endpoint_request *req)
{
	static const char want[] = "List-Unsubscribe=One-Click";
	size_t n = sizeof(want) - 1;

	for (size_t i = 0; req->body_len >= n && i <= req->body_len - n; i++)
		if (memcmp(req->body + i, want, n) == 0)
			return true;
	return false;
}

/* /u/TOKEN once its body (if any) is in. */
static void
route_token(const struct policy *policy, time_t now, const struct endpoint_request *req, bool post,
            struct endpoint_decision *out)
{
	if (req->body_too_big) {
		out->close = true;
		answer(out, 413, "Request too large", "<p>The request body is too large.</p>");
		return;
	}
	out->check = unsub_check_at(policy, out->token_text, now, &out->token);
	if (out->check != UNSUB_OK) {
		out->action = ENDPOINT_DO_BAD_TOKEN;
		out->status = out->check == UNSUB_MALFORMED ? 400 : 404;
	} else if (!post) {
		out->action = ENDPOINT_DO_CONFIRM_PAGE;
		out->status = 200;
	} else if (!one_click(req)) {
		answer(out, 400, "Bad request",
		       "<p>A one-click unsubscribe is a POST of List-Unsubscribe=One-Click.</p>");
	} else {
		out->action = ENDPOINT_DO_UNSUBSCRIBE;
		out->status = 200;
	}
}

void
endpoint_route(unsigned routes, const struct policy *policy, time_t now,
               const struct endpoint_request *req, struct endpoint_decision *out)
{
	bool post = strcmp(req->method, "POST") == 0;
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

	memset(out, 0, sizeof(*out));
	if (!post && !get)
		answer(out, 405, "Method not allowed", "");
	else if ((routes & ENDPOINT_METRICS) && strcmp(req->url, "/metrics") == 0) {
		if (post) {
			answer(out, 405, "Method not allowed", "");
		} else {
			out->action = ENDPOINT_DO_SHOW_METRICS;
			out->status = 200;
		}
	} else if (!(routes & ENDPOINT_UNSUBSCRIBE) ||
	           strncmp(req->url, ENDPOINT_PREFIX, strlen(ENDPOINT_PREFIX)) != 0)
		answer(out, 404, "Not found", "");
	else if (req->content_length > ENDPOINT_BODY_MAX) {
		out->close = true;
		answer(out, 413, "Request too large", "<p>The request body is too large.</p>");
	} else if (req->headers_only)
		out->action = ENDPOINT_DO_READ_BODY;
	else if (policy == NULL)
		answer(out, 503, "Try again later", "");
	else {
		out->token_text = req->url + strlen(ENDPOINT_PREFIX);
		route_token(policy, now, req, post, out);
	}
}
