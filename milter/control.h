/*
 * control - control headers: how an application talks to mailward
 *
 * Applications written for a cloud sending service set
 *
 *	X-SES-CONFIGURATION-SET: newsletters
 *	X-SES-MESSAGE-TAGS: campaign=spring, team=growth
 *
 * and mailward understands the same, plus its own names
 * X-Mailward-Stream and X-Mailward-Tags.  The first picks the sending
 * stream (policy "streams"), over whatever the envelope chose
 * (milter/stream_select.h); the second adds tags to the message's events.
 * Both are internal: they are removed before the message is signed and
 * leaves, and never appear in an event's headers.
 *
 * On outbound mail with a stream, a Feedback-ID header (Gmail's feedback
 * loop: "campaign:stream:from-domain:mailward") is added before signing
 * unless the message has one.
 */
#ifndef MW_CONTROL_H
#define MW_CONTROL_H

#include <stdbool.h>

#include <libmilter/mfapi.h>

struct msg;
struct policy_stream;

/* If name is a control header, record it in msg and return true. */
bool control_header(struct msg *msg, const char *name, const char *value);
/* The stream is unknown to the policy: NULL, or the name that was asked for. */
const char *control_unknown_stream(const struct msg *msg);
/* Queue the removal of the control headers. */
void control_remove(struct msg *msg);
/* The policy's entry of the stream the message asks for, or NULL. */
const struct policy_stream *control_stream(const struct msg *msg);
/* The value of a message tag (X-SES-MESSAGE-TAGS), or NULL. */
const char *control_tag(const struct msg *msg, const char *name);
/* Queue a Feedback-ID when a stream is selected and the message has none. */
void control_add_feedback_id(struct msg *msg);

#endif
