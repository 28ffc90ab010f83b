/*
 * fuzz_http - the HTTP endpoint's request decision (milter/endpoint_route.c)
 *
 * The input is a request in pieces: "METHOD\n%%\nPATH\n%%\nBODY", then
 * optionally "\n%%\nCONTENT-LENGTH" as its header said it.  Each request
 * is decided for every route mask, with its headers only and whole, at a
 * fixed clock (so a seed's token never expires), with the key the seed
 * tokens were made with.  Besides the sanitizers, the decision must keep
 * the endpoint's promises: only a POST of List-Unsubscribe=One-Click with
 * a verified token unsubscribes anyone, a GET never does, /metrics is only
 * read, bodies over the limit are 413, and the same request is decided
 * the same way twice.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "milter/endpoint_route.h"
#include "tests/fuzz/fuzz.h"

/* The seeds' tokens were issued on 2026-11-24; the clock says 2026-11-26. */
#define FUZZ_NOW ((time_t)1795564800 + 86400)

static struct verp_key keys[] = {
	{ .id = 1, .secret = "first fuzzing secret, 32 bytes.", .secret_len = 32 },
};

static const struct policy *
fuzz_policy(void)
{
	static struct policy policy;

	policy.verp_key_table = keys;
	policy.verp_key_count = 1;
	policy.unsubscribe_token_days = 180;
	return &policy;
}

static bool
has_one_click(const char *body, size_t len)
{
	static const char want[] = "List-Unsubscribe=One-Click";

	return memmem(body, len, want, sizeof(want) - 1) != NULL;
}

/* The promises of endpoint_route.h, checked on one decision. */
static void
check_decision(unsigned routes, const struct endpoint_request *req,
               const struct endpoint_decision *d)
{
	bool post = strcmp(req->method, "POST") == 0;
	bool unsub_url = strncmp(req->url, ENDPOINT_PREFIX, strlen(ENDPOINT_PREFIX)) == 0;

	if (d->status != 200 && d->status != 400 && d->status != 404 && d->status != 405 &&
	    d->status != 413 && d->status != 503 && d->action != ENDPOINT_DO_READ_BODY)
		abort();
	switch (d->action) {
	case ENDPOINT_DO_READ_BODY:
		if (!req->headers_only || !(routes & ENDPOINT_UNSUBSCRIBE) || !unsub_url)
			abort();
		break;
	case ENDPOINT_DO_SHOW_METRICS:
		if (post || !(routes & ENDPOINT_METRICS) || strcmp(req->url, "/metrics") != 0)
			abort();
		break;
	case ENDPOINT_DO_UNSUBSCRIBE:
		if (!post || req->headers_only || req->body_too_big ||
		    !has_one_click(req->body, req->body_len) || d->check != UNSUB_OK ||
		    *d->token.rcpt == '\0' || !unsub_url || !(routes & ENDPOINT_UNSUBSCRIBE))
			abort();
		break;
	case ENDPOINT_DO_CONFIRM_PAGE:
		if (post || d->check != UNSUB_OK || req->headers_only)
			abort();
		break;
	case ENDPOINT_DO_BAD_TOKEN:
		if (d->check == UNSUB_OK || d->token_text == NULL)
			abort();
		break;
	case ENDPOINT_DO_ANSWER:
		if (d->title == NULL || d->text == NULL || d->status == 200)
			abort();
		break;
	}
	if ((req->body_too_big || req->content_length > ENDPOINT_BODY_MAX) && unsub_url &&
	    (routes & ENDPOINT_UNSUBSCRIBE) && d->action != ENDPOINT_DO_ANSWER &&
	    d->action != ENDPOINT_DO_SHOW_METRICS)
		abort(); /* an oversized request went further than a 413 */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts p;
	struct endpoint_request req;
	struct endpoint_decision d, again;

	fuzz_quiet();
	fuzz_split(data, size, 4, &p);
	memset(&req, 0, sizeof(req));
	req.method = p.part[0];
	req.url = p.count > 1 ? p.part[1] : "/";
	req.body = p.count > 2 ? p.part[2] : "";
	req.content_length = p.count > 3 ? strtoll(p.part[3], NULL, 10) : -1;
	for (unsigned routes = 1; routes <= 3; routes++)
		for (int headers_only = 0; headers_only <= 1; headers_only++) {
			/* as the server calls it: no body yet, then what arrived, capped */
			req.headers_only = headers_only;
			req.body_len = headers_only || p.count < 3 ? 0 : p.len[2];
			req.body_too_big = req.body_len > ENDPOINT_BODY_MAX;
			if (req.body_too_big)
				req.body_len = ENDPOINT_BODY_MAX;
			endpoint_route(routes, fuzz_policy(), FUZZ_NOW, &req, &d);
			check_decision(routes, &req, &d);
			endpoint_route(routes, fuzz_policy(), FUZZ_NOW, &req, &again);
			if (again.action != d.action || again.status != d.status)
				abort();
		}
	endpoint_route(ENDPOINT_UNSUBSCRIBE, NULL, FUZZ_NOW, &req, &d);
	if (d.action == ENDPOINT_DO_UNSUBSCRIBE || d.action == ENDPOINT_DO_CONFIRM_PAGE)
		abort(); /* without a policy nothing is verified */
	fuzz_parts_free(&p);
	return 0;
}
