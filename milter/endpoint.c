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
#include "milter/events.h"
#include "milter/stats.h"
#include "milter/unsub_record.h"
#include "policy/policy.h"

#define BODY_MAX 1024
#define PREFIX   "/u/"

struct endpoint {
	struct MHD_Daemon *daemon;
	const struct services *svc;
	unsigned routes; /* enum endpoint_route */
	atomic_ulong bad_tokens;
	atomic_ulong unsubscribed;
};

/* Per request: the body of a POST, up to BODY_MAX. */
struct request {
	char body[BODY_MAX + 1];
	size_t len;
	bool too_big;
};

static enum MHD_Result
answer(struct MHD_Connection *c, unsigned status, const char *type, const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
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
refuse_token(struct endpoint *ep, struct MHD_Connection *c, enum unsub_check why, const char *text)
{
	unsigned long n = atomic_fetch_add(&ep->bad_tokens, 1) + 1;
	const char *reason = unsub_check_name(why);

	stats_bad_token(ep->svc, reason);
	log_notice(NULL, "unsubscribe: %s token refused (%lu so far): %.40s%s", reason, n, text,
	           strlen(text) > 40 ? "..." : "");
	if (why == UNSUB_MALFORMED)
		return page(c, MHD_HTTP_BAD_REQUEST, "Bad unsubscribe link",
		            "<p>This link is not an unsubscribe link.</p>");
	return page(c, MHD_HTTP_NOT_FOUND, "Unknown or expired link",
	            "<p>This unsubscribe link is unknown or has expired.</p>");
}

/* RFC 8058: the POST body must say List-Unsubscribe=One-Click. */
static bool
one_click(const struct request *req)
{
	return !req->too_big && strstr(req->body, "List-Unsubscribe=One-Click") != NULL;
}

static enum MHD_Result
respond(struct endpoint *ep, struct MHD_Connection *c, const char *url, bool post,
        const struct request *req)
{
	struct policy *policy = policy_acquire();
	struct unsub_token token;
	enum unsub_check check;
	enum MHD_Result rc;
	char who[600], html[1400];

	if (policy == NULL)
		return page(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Try again later", "");
	check = unsub_check(policy, url + strlen(PREFIX), &token);
	if (check != UNSUB_OK) {
		rc = refuse_token(ep, c, check, url + strlen(PREFIX));
	} else if (!post) {
		escape_html(token.rcpt, who, sizeof(who));
		snprintf(html, sizeof(html),
		         "<p>Stop mail to <b>%s</b> from this list?</p>"
		         "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
		         "value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>",
		         who);
		rc = page(c, MHD_HTTP_OK, "Unsubscribe", html);
	} else if (!one_click(req)) {
		rc =
		    page(c, MHD_HTTP_BAD_REQUEST, "Bad request",
		         "<p>A one-click unsubscribe is a POST of List-Unsubscribe=One-Click.</p>");
	} else if (unsub_record(ep->svc, policy, &token, "one-click") < 0) {
		rc = page(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Try again later",
		          "<p>Your request could not be recorded just now.</p>");
	} else {
		atomic_fetch_add(&ep->unsubscribed, 1);
		rc = page(c, MHD_HTTP_OK, "Unsubscribed",
		          "<p>You will not get this mail any more.</p>");
	}
	policy_release(policy);
	return rc;
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

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_size, void **state)
{
	struct endpoint *ep = cls;
	struct request *req = *state;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;

	(void)version;
	if (!post && strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return page(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed", "");
	if ((ep->routes & ENDPOINT_METRICS) && strcmp(url, "/metrics") == 0)
		return post ? page(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed", "")
		            : metrics_page(ep, c);
	if (!(ep->routes & ENDPOINT_UNSUBSCRIBE) || strncmp(url, PREFIX, strlen(PREFIX)) != 0)
		return page(c, MHD_HTTP_NOT_FOUND, "Not found", "");
	if (req == NULL) { /* first call: headers only */
		*state = xcalloc(1, sizeof(struct request));
		return MHD_YES;
	}
	if (*upload_size > 0) { /* a chunk of the body */
		size_t room = BODY_MAX - req->len, n = *upload_size < room ? *upload_size : room;
		memcpy(req->body + req->len, upload, n);
		req->len += n;
		req->too_big |= n < *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	return respond(ep, c, url, post, req);
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
endpoint_start(const char *listen, unsigned routes, const struct services *svc, struct buf *err)
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
	ep->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, ep, MHD_OPTION_SOCK_ADDR,
	                              (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED,
	                              completed, ep, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
	if (ep->daemon == NULL) {
		buf_printf(err, "%s: cannot listen on %s", setting, listen);
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
	if (ep->routes & ENDPOINT_UNSUBSCRIBE)
		log_info(NULL, "unsubscribe endpoint stopped: %lu unsubscribed, %lu bad tokens",
		         (unsigned long)atomic_load(&ep->unsubscribed),
		         (unsigned long)atomic_load(&ep->bad_tokens));
	free(ep);
}
