/*
 * feedback_in - bounces and complaints coming back, turned into events
 *
 * A message is feedback when one of its recipients is a feedback address:
 * an address at one of feedback.bounce_domains (where the aligned MAIL FROM
 * sends bounces: b-TOKEN@bounce.example.com) or one of
 * feedback.complaint_addresses (feedback loops).  Whatever its direction
 * (Postfix hands its own DSNs to non_smtpd_milters as local mail), such a
 * message is neither signed nor checked: it is kept (up to
 * feedback.max_bytes) and parsed at end of message (common/feedback.h).
 *
 * The original message is found from the bounce-address token (the
 * recipient, or one in the returned headers), checked with the policy's
 * VERP keys, else from the returned Message-ID in the index of recent Send
 * events (common/send_index.h); events then carry its mail.messageId,
 * stream, source, destination and tags, and mail.tags
 * "mailward:correlation" says how it was found ("verp", "message-id",
 * "none": a partial mail object).  Each event goes durably to the spool
 * before the MTA hears anything; a permanent bounce whose token is genuine
 * (and names that recipient), or whose Message-ID the index has with that
 * recipient, and a complaint put the address on the suppression list: a
 * forged DSN to a bounce domain must not silence anybody.  "delivered" and
 * "relayed" reports (asked for by streams with delivery_notifications,
 * milter/outbound.c) become Delivery events.  Then
 * the message is discarded, delivered, or delivered with an
 * X-Mailward-Feedback header (feedback.bounce_action, complaint_action);
 * one that is not feedback after all, or cannot be parsed, is delivered
 * and logged, never dropped.
 */
#ifndef MW_FEEDBACK_IN_H
#define MW_FEEDBACK_IN_H

#include <stdbool.h>
#include <stddef.h>

#include <libmilter/mfapi.h>

#include "milter/context.h"
#include "milter/services.h"

/* Is rcpt a feedback address of the policy? */
bool feedback_address(const struct policy *policy, const char *rcpt);
/* Keep a header field or a body chunk of a feedback message. */
void feedback_keep_header(struct msg *msg, const char *name, const char *value);
void feedback_keep_eoh(struct msg *msg);
void feedback_keep_body(struct msg *msg, const unsigned char *chunk, size_t len);

sfsistat feedback_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg);

/*
 * A report (Content-Type multipart/report, delivery-status or
 * feedback-report) to an address that is no feedback address, with
 * feedback.read_reports: at the end of its header, start keeping a copy
 * (true); at its end, write its events as feedback_eom() does, but leave
 * the message to its usual path (verdict stays), except when the events
 * cannot be written: then failure.spool_unwritable.
 */
bool feedback_report_detect(struct msg *msg);
sfsistat feedback_report_eom(SMFICTX *ctx, const struct services *svc, struct msg *msg);

#endif
