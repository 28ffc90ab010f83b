/*
 * endpoint - the one-click unsubscribe endpoint (RFC 8058)
 *
 * A small HTTP server (libmicrohttpd, its own thread) on
 * unsubscribe.listen, loopback by default, meant to sit behind the
 * administrator's reverse proxy that serves unsubscribe.url:
 *
 *	POST /u/TOKEN  body "List-Unsubscribe=One-Click"
 *	               -> the recipient goes on the suppression list (reason
 *	                  UNSUBSCRIBE, the token's stream as scope), a
 *	                  Subscription event goes to the spool, 200, no redirect
 *	GET  /u/TOKEN  -> a small page with a button that makes that POST; no
 *	                  state changes on GET, so link scanners unsubscribe
 *	                  nobody
 *
 * A token that is not base64url is 400, one whose tag does not verify or
 * that is older than unsubscribe.token_days is 404; each is logged.  When
 * the store or the spool fails the answer is 503: the mail client retries,
 * nothing is half recorded.
 *
 * The same server answers GET /metrics (milter/stats.h, the Prometheus
 * text format 0.0.4) when metrics are enabled: one server when
 * metrics.listen is unsubscribe.listen, else a server of its own that
 * serves /metrics alone.  What to answer is decided in milter/endpoint_route.c
 * (a pure function, fuzzed); this file is the server around it.
 */
#ifndef MW_ENDPOINT_H
#define MW_ENDPOINT_H

#include "common/buf.h"
#include "milter/endpoint_route.h"
#include "milter/services.h"

struct endpoint;

/*
 * What bounds a client (the unsubscribe.* settings): the seconds a request
 * may take from its first byte to its last (libmicrohttpd's idle timeout
 * is the same; milter/endpoint_deadline.h cuts off a client that trickles
 * bytes), the connections open at once and from one address (0: no limit
 * of its own).  Bodies over ENDPOINT_BODY_MAX are answered 413 and the
 * connection closed; header memory is bounded by libmicrohttpd's memory
 * limit (ENDPOINT_CONNECTION_MEMORY per connection, 431/413 past it).
 */
struct endpoint_limits {
	unsigned timeout;
	unsigned max_connections;
	unsigned max_per_ip;
};

#define ENDPOINT_CONNECTION_MEMORY (16 * 1024)

/*
 * A server for routes (a mask of enum endpoint_route) on listen; NULL and
 * err empty when listen is "", NULL with err on failure.
 */
struct endpoint *endpoint_start(const char *listen, unsigned routes,
                                const struct endpoint_limits *limits, const struct services *svc,
                                struct buf *err);
void endpoint_stop(struct endpoint *endpoint);

#endif
