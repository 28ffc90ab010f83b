/*
 * endpoint - the one-click unsubscribe endpoint; see endpoint.h.
 *
 * Each request reads the current policy snapshot (keys, token age, event
 * shape), so a reload takes effect for the next request; the listening
 * address itself is fixed at start.
 */
#include "config.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/netaddr.h"
#include "common/suppression.h"
#include "common/unsub_token.h"
#include "common/xalloc.h"
#include "milter/endpoint.h"
#include "milter/endpoint_deadline.h"
#include "milter/events.h"
#include "milter/stats.h"
#include "milter/unsub_record.h"
#include "policy/policy.h"

/*
 * A body over ENDPOINT_BODY_MAX without a Content-Length that says so
 * (chunked) is read to its end and thrown away, then answered 413; past
 * this much more the connection is closed without an answer.
 */
#define DRAIN_MAX (64 * 1024)

struct endpoint {
	struct MHD_Daemon *daemon;
	struct endpoint_deadline *deadline;
	const struct services *svc;
	unsigned routes; /* enum endpoint_route */
	atomic_ulong bad_tokens;
	atomic_ulong unsubscribed;
};

/* Per request: the body of a POST, up to ENDPOINT_BODY_MAX. */
struct request {
	char body[ENDPOINT_BODY_MAX + 1];
	size_t len;
	size_t dropped; /* bytes past ENDPOINT_BODY_MAX, read and thrown away */
	bool too_big;
	bool answered; /* a response is queued: whatever else arrives is dropped */
};

static enum MHD_Result
answer(struct MHD_Connection *c, unsigned status, const char *type, const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == MHD_HTTP_CONTENT_TOO_LARGE) /* the rest of the body is never read */
		MHD_add_response_header(r, "Connection", "close");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
page(struct MHD_Connection *c, unsigned status, const char *title, const char *text)
{
	char html[2048];

	snprintf(html, sizeof(html),
	         "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>"
	         "<body><h1>%s</h1>%s</body></html>\n",
	         title, title, text);
	return answer(c, status, "text/html; charset=utf-8", html);
}

/* Minimal HTML escaping of outside text into out. */
static void
escape_html(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *in && n + 7 < outlen; in++) {
		const char *rep = NULL;
		switch (*in) {
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '&':
			rep = "&amp;";
			break;
		case '"':
			rep = "&quot;";
			break;
		}
		if (rep != NULL) {
			memcpy(out + n, rep, strlen(rep));
			n += strlen(rep);
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
}

static enum MHD_Result
refuse_token(struct endpoint *ep, struct MHD_Connection *c, const struct endpoint_decision *d)
{
	unsigned long n = atomic_fetch_add(&ep->bad_tokens, 1) + 1;
	const char *reason = unsub_check_name(d->check);

	stats_bad_token(ep->svc, reason);
	log_notice(NULL, "unsubscribe: %s token refused (%lu so far): %.40s%s", reason, n,
	           d->token_text, strlen(d->token_text) > 40 ? "..." : "");
	if (d->check == UNSUB_MALFORMED)
		return page(c, d->status, "Bad unsubscribe link",
		            "<p>This link is not an unsubscribe link.</p>");
	return page(c, d->status, "Unknown or expired link",
	            "<p>This unsubscribe link is unknown or has expired.</p>");
}

static enum MHD_Result
confirm_page(struct MHD_Connection *c, const struct unsub_token *token)
{
	char who[600], html[1400];

	escape_html(token->rcpt, who, sizeof(who));
	snprintf(html, sizeof(html),
	         "<p>Stop mail to <b>%s</b> from this list?</p>"
	         "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
	         "value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>",
	         who);
	return page(c, MHD_HTTP_OK, "Unsubscribe", html);
}

static enum MHD_Result
unsubscribe(struct endpoint *ep, struct MHD_Connection *c, const struct policy *policy,
            const struct unsub_token *token)
{
	if (unsub_record(ep->svc, policy, token, "one-click") < 0)
		return page(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Try again later",
		            "<p>Your request could not be recorded just now.</p>");
	atomic_fetch_add(&ep->unsubscribed, 1);
	return page(c, MHD_HTTP_OK, "Unsubscribed", "<p>You will not get this mail any more.</p>");
}

/* GET /metrics: the registry and this moment's figures. */
static enum MHD_Result
metrics_page(struct endpoint *ep, struct MHD_Connection *c)
{
	struct buf text = BUF_INIT;
	enum MHD_Result rc;

	stats_render(ep->svc, &text);
	rc = answer(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf_str(&text));
	buf_free(&text);
	return rc;
}

/* Carry out what endpoint_route decided. */
static enum MHD_Result
act(struct endpoint *ep, struct MHD_Connection *c, const struct policy *policy,
    const struct endpoint_decision *d)
{
	switch (d->action) {
	case ENDPOINT_DO_READ_BODY:
		return MHD_YES;
	case ENDPOINT_DO_SHOW_METRICS:
		return metrics_page(ep, c);
	case ENDPOINT_DO_BAD_TOKEN:
		return refuse_token(ep, c, d);
	case ENDPOINT_DO_CONFIRM_PAGE:
		return confirm_page(c, &d->token);
	case ENDPOINT_DO_UNSUBSCRIBE:
		return unsubscribe(ep, c, policy, &d->token);
	case ENDPOINT_DO_ANSWER:
		break;
	}
	return page(c, d->status, d->title, d->text);
}

/* The declared Content-Length, or -1. */
static long long
content_length(struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	char *end = NULL;
	long long n;

	if (v == NULL)
		return -1;
	n = strtoll(v, &end, 10);
	return end == v || *end != '\0' || n < 0 ? -1 : n;
}

/* Decide req (headers_only: its body is still to come) and answer. */
static enum MHD_Result
decide(struct endpoint *ep, struct MHD_Connection *c, const char *url, const char *method,
       struct request *req, bool headers_only)
{
	struct policy *policy = headers_only ? NULL : policy_acquire();
	struct endpoint_request r = {
		.method = method,
		.url = url,
		.body = req->body,
		.body_len = req->len,
		.headers_only = headers_only,
		.body_too_big = req->too_big,
		.content_length = content_length(c),
	};
	struct endpoint_decision d;
	enum MHD_Result rc;

	endpoint_route(ep->routes, policy, time(NULL), &r, &d);
	rc = act(ep, c, policy, &d);
	if (policy != NULL)
		policy_release(policy);
	if (d.action != ENDPOINT_DO_READ_BODY) {
		req->answered = true;
		endpoint_deadline_answered(ep->deadline, c);
	}
	return rc;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_size, void **state)
{
	struct endpoint *ep = cls;
	struct request *req = *state;

	(void)version;
	if (req == NULL) { /* first call: headers only */
		*state = req = xcalloc(1, sizeof(struct request));
		return decide(ep, c, url, method, req, true);
	}
	if (req->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) { /* a chunk of the body, kept up to ENDPOINT_BODY_MAX */
		size_t room = ENDPOINT_BODY_MAX - req->len;
		size_t n = *upload_size < room ? *upload_size : room;
		memcpy(req->body + req->len, upload, n);
		req->len += n;
		req->dropped += *upload_size - n;
		req->too_big |= n < *upload_size;
		*upload_size = 0;
		/* libmicrohttpd cannot answer mid-body: drain a little, then hang up */
		return req->dropped > DRAIN_MAX ? MHD_NO : MHD_YES;
	}
	return decide(ep, c, url, method, req, false);
}

static void
completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode code)
{
	(void)cls;
	(void)c;
	(void)code;
	free(*state);
	*state = NULL;
}

/* "ADDR:PORT" or "[ADDR]:PORT" into a socket address. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss)
{
	char addr[128];
	const char *colon = strrchr(listen, ':');
	char *end = NULL;
	long port;

	if (colon == NULL || colon == listen)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	if (listen[0] == '[' && colon[-1] == ']')
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - listen - 2), listen + 1);
	else
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - listen), listen);
	if (!sockaddr_pton(addr, ss))
		return -1;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	return 0;
}

struct endpoint *
endpoint_start(const char *listen, unsigned routes, const struct endpoint_limits *limits,
               const struct services *svc, struct buf *err)
{
	const char *setting =
	    routes & ENDPOINT_UNSUBSCRIBE ? "unsubscribe.listen" : "metrics.listen";
	struct sockaddr_storage ss;
	struct endpoint *ep;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;

	if (*listen == '\0')
		return NULL;
	if (parse_listen(listen, &ss) < 0) {
		buf_printf(err, "%s: \"%s\" is not ADDRESS:PORT", setting, listen);
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	ep = xcalloc(1, sizeof(*ep));
	ep->svc = svc;
	ep->routes = routes;
	ep->deadline = endpoint_deadline_start(limits->timeout);
	ep->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, handle, ep, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, ep, MHD_OPTION_NOTIFY_CONNECTION,
	    endpoint_deadline_notify, ep->deadline, MHD_OPTION_CONNECTION_TIMEOUT, limits->timeout,
	    MHD_OPTION_CONNECTION_LIMIT, limits->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits->max_per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)ENDPOINT_CONNECTION_MEMORY, MHD_OPTION_END);
	if (ep->daemon == NULL) {
		buf_printf(err, "%s: cannot listen on %s", setting, listen);
		endpoint_deadline_stop(ep->deadline);
		free(ep);
		return NULL;
	}
	log_notice(NULL, "%s%s%s listening on %s",
	           routes & ENDPOINT_UNSUBSCRIBE ? "unsubscribe endpoint" : "",
	           routes == (ENDPOINT_UNSUBSCRIBE | ENDPOINT_METRICS) ? " and " : "",
	           routes & ENDPOINT_METRICS ? "metrics" : "", listen);
	return ep;
}

void
endpoint_stop(struct endpoint *ep)
{
	if (ep == NULL)
		return;
	MHD_stop_daemon(ep->daemon);
	endpoint_deadline_stop(ep->deadline);
	if (ep->routes & ENDPOINT_UNSUBSCRIBE)
		log_info(NULL, "unsubscribe endpoint stopped: %lu unsubscribed, %lu bad tokens",
		         (unsigned long)atomic_load(&ep->unsubscribed),
		         (unsigned long)atomic_load(&ep->bad_tokens));
	free(ep);
}
