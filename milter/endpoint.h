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
 */
#ifndef MW_ENDPOINT_H
#define MW_ENDPOINT_H

#include "common/buf.h"
#include "milter/services.h"

struct endpoint;

/* NULL and err empty when unsubscribe.listen is ""; NULL with err on failure. */
struct endpoint *endpoint_start(const char *listen, const struct services *svc, struct buf *err);
void endpoint_stop(struct endpoint *endpoint);

#endif
