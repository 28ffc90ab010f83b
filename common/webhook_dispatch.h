/*
 * webhook_dispatch - deliver the spool's events to webhook endpoints
 *
 * The dispatcher is a consumer of the spool (common/spool.h), run as its own
 * process (mailward events dispatch), never on the mail path.  It takes the
 * events of SPOOL/new/ in name order (creation order) and POSTs each to
 * every endpoint as an SNS notification (common/webhook.h).
 *
 * Progress lives in the file system, so a restart resends nothing that an
 * endpoint acknowledged (a 2xx answer):
 *
 *	SPOOL/webhook/E/done/NAME	event NAME reached endpoint E (a marker)
 *	SPOOL/dead/E/NAME		E gave up on NAME (dead letter)
 *	SPOOL/webhook/E/redrive/NAME	NAME, redriven to E alone
 *
 * When every endpoint has NAME done or dead, new/NAME moves to cur/NAME and
 * its markers go.  Redriven events are a queue of their own per endpoint:
 * delivered, they are deleted; given up again, they return to dead/E.
 *
 * Delivery is at least once: a crash between an endpoint's answer and the
 * marker resends that event with the same MessageId.
 *
 * An endpoint with confirm_subscription gets nothing until it has
 * confirmed: first a SubscriptionConfirmation (common/webhook.h) is POSTed,
 * and a 2xx answer confirms.  The confirmation is kept in
 * SPOOL/webhook/E/confirmed (the TopicArn and the time), so it happens once
 * per endpoint and topic; a new topic_arn asks again.  Until then the
 * handshake is retried with the endpoint's backoff and its events wait in
 * new/ (they count no attempts, so none becomes a dead letter for it).
 *
 * A failed POST is retried after retry_min_ms, doubling each time up to
 * retry_max_ms, each delay drawn between half and all of it (jitter, so
 * that many events do not retry together).  After max_attempts attempts,
 * or max_hours after the event was made (a redriven one: redriven), the
 * event is a dead letter.  While an endpoint cannot be reached at all, it
 * is asked again only when its oldest waiting event is due, not once per
 * event.  Attempt counts live in memory: a restart starts them again
 * (max_hours still holds, it counts from the event's name).
 */
#ifndef MW_WEBHOOK_DISPATCH_H
#define MW_WEBHOOK_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/webhook.h"

struct webhook_endpoint {
	const char *name; /* a token: names its directories */
	const char *url;
	struct sns_topic topic;
	long max_attempts;
	long max_hours;
	long retry_min_ms;
	long retry_max_ms;
	long timeout_seconds;
	bool tls_verify;
	bool confirm_subscription; /* SubscriptionConfirmation before the first event */
};

struct webhook_dispatcher;

/* Ready to dispatch (creates the directories); NULL with a reason in err. */
struct webhook_dispatcher *webhook_dispatcher_new(const char *spool_dir,
                                                  const struct webhook_endpoint *endpoints,
                                                  size_t count, struct buf *err);
void webhook_dispatcher_free(struct webhook_dispatcher *d);

/*
 * Deliver what is due; returns the milliseconds until the next retry is
 * due (-1: none waiting).
 */
long webhook_dispatch_pass(struct webhook_dispatcher *d);

/*
 * Run passes until stop_fd becomes readable (e.g. a signalfd), waking for
 * new events in new/ or redrive queues and when retries are due.
 */
void webhook_dispatch_run(struct webhook_dispatcher *d, int stop_fd);

/*
 * Queue the dead letters of endpoint E again (SPOOL/dead/E/ into
 * SPOOL/webhook/E/redrive/); the number moved, or -1 with a reason.
 */
long webhook_redrive(const char *spool_dir, const char *endpoint, struct buf *err);

/* Is NAME a plain file name an event could have (no '/', not hidden)? */
bool webhook_valid_name(const char *name);

#endif
