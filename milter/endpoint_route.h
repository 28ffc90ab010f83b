/*
 * endpoint_route - what the HTTP endpoint does with a request, decided
 *
 * A pure function of the request (method, path, body, what its headers
 * declared), the routes the server serves, the policy snapshot and the
 * clock: it says which status and which kind of answer, and which side
 * effect (an unsubscribe) the caller must carry out.  milter/endpoint.c
 * calls it from libmicrohttpd's callback; tests/fuzz/fuzz_http.c feeds it
 * arbitrary requests.  Nothing here reads a socket, a file or the store.
 *
 * A request for /u/TOKEN is decided twice: when its headers are in
 * (ENDPOINT_DO_READ_BODY, or 413 at once when Content-Length is already over
 * ENDPOINT_BODY_MAX), then with its body.
 */
#ifndef MW_ENDPOINT_ROUTE_H
#define MW_ENDPOINT_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/unsub_token.h"
#include "milter/unsub_record.h"
#include "policy/policy.h"

/* The largest body read; a one-click POST body is 26 bytes. */
#define ENDPOINT_BODY_MAX 1024
#define ENDPOINT_PREFIX   "/u/"

/* What a server answers. */
enum endpoint_route {
	ENDPOINT_UNSUBSCRIBE = 1, /* /u/TOKEN */
	ENDPOINT_METRICS = 2,     /* /metrics */
};

enum endpoint_action {
	ENDPOINT_DO_ANSWER,       /* status with the page title/text; nothing else happens */
	ENDPOINT_DO_READ_BODY,    /* headers only so far: read the body, then decide again */
	ENDPOINT_DO_SHOW_METRICS, /* 200, the metrics text */
	ENDPOINT_DO_BAD_TOKEN,    /* status (400 or 404), counted and logged as check says */
	ENDPOINT_DO_CONFIRM_PAGE, /* 200, the page with the one-click button for token */
	ENDPOINT_DO_UNSUBSCRIBE,  /* record token, then 200 (or 503 when that fails) */
};

struct endpoint_request {
	const char *method;
	const char *url; /* the path, as the server decoded it */
	const char *body;
	size_t body_len;
	bool headers_only;        /* first decision: no body read yet */
	bool body_too_big;        /* more than ENDPOINT_BODY_MAX arrived */
	long long content_length; /* as declared; -1 when none */
};

struct endpoint_decision {
	enum endpoint_action action;
	unsigned status;
	bool close;        /* answer with Connection: close (body not read) */
	const char *title; /* ENDPOINT_DO_ANSWER's page */
	const char *text;
	enum unsub_check check;   /* ENDPOINT_DO_BAD_TOKEN */
	const char *token_text;   /* in req->url: the token of a /u/ request */
	struct unsub_token token; /* ENDPOINT_DO_CONFIRM_PAGE, ENDPOINT_DO_UNSUBSCRIBE */
};

/* Decide req for a server of routes (a mask); policy NULL is 503. */
void endpoint_route(unsigned routes, const struct policy *policy, time_t now,
                    const struct endpoint_request *req, struct endpoint_decision *out);

#endif
