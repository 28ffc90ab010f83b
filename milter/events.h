/*
 * events - events in the shape of the SES event-publishing JSON
 *
 * event_send_json() builds the Send event of an accepted outbound message:
 *
 *   { "eventType": "Send",
 *     "mail": { "timestamp", "source", "sourceIp", "callerIdentity",
 *               "messageId", "destination", "headersTruncated", "headers",
 *               "commonHeaders", "tags" },
 *     "send": {} }
 *
 * messageId is mailward's own ID of the message (common/verp.h), as SES
 * gives each message its own ID; the Message-ID header is in
 * commonHeaders.messageId.  Bounces and complaints about the message carry
 * the same messageId, recovered from the bounce-address token.  tags carry
 * the auto-tags SES adds (ses:operation, ses:source-ip, ses:from-domain,
 * ses:caller-identity) and mailward:queue-id, then the message's tags and
 * its stream's (policy streams.tags).  mail.headers stop at
 * events.max_header_bytes (default 10 KB, as SES: headersTruncated), and a
 * document never reaches 256 KB: past it, mail.headers are dropped, then
 * common header values cut to 2 KB, then destination kept to 50.  With events.shape =
 * "notification" the type key is "notificationType" instead of "eventType".
 */
#ifndef MW_EVENTS_H
#define MW_EVENTS_H

#include <stddef.h>

#include "common/unsub_token.h"
#include "milter/context.h"

/* One JSON document ending in a newline; caller frees. */
char *event_send_json(const struct conn *conn, const struct msg *msg, size_t *len);
/* The Send event's mail.tags as one JSON object (the Message-ID index keeps it). */
char *event_tags_json(const struct conn *conn, const struct msg *msg);
/*
 * The Bounce event of a recipient refused because it is on the account's
 * suppression list (bounceSubType OnAccountSuppressionList, as SES says).
 */
char *event_suppressed_json(const struct conn *conn, const struct msg *msg, const char *rcpt,
                            const char *diagnostic, size_t *len);
/*
 * The Reject event of a message mailward refused (SES: eventType Reject,
 * reject.reason), e.g. a From address its sender may not use.
 */
char *event_reject_json(const struct conn *conn, const struct msg *msg, const char *reason,
                        size_t *len);
/*
 * The Subscription event of a one-click unsubscribe (SES's shape: the
 * stream as contactList, the topic opted out, or unsubscribeAll without
 * one); shape is policy->event_shape.
 */
char *event_subscription_json(const struct unsub_token *token, int shape, size_t *len);

#endif
