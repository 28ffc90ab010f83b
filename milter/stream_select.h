/*
 * stream_select - which sending stream an outbound message is in
 *
 * In this order: the control header (X-SES-CONFIGURATION-SET or
 * X-Mailward-Stream, milter/control.c); the stream that lists the SMTP
 * AUTH user (auth_users); the stream whose senders pattern matches the
 * envelope sender best (MAIL FROM as the application gave it, before any
 * VERP rewrite); the stream that is the default_for the From header's
 * domain; else none.  The first two of the envelope are known at MAIL
 * FROM, so RCPT-time decisions (suppression scope, max_recipients) can use
 * them; a control header may still change the stream at the end of the
 * header, and only then is the From domain's default looked at.
 */
#ifndef MW_STREAM_SELECT_H
#define MW_STREAM_SELECT_H

#include "milter/context.h"

/* At MAIL FROM: the stream of the AUTH user or the envelope sender, if any. */
void stream_select_envelope(struct msg *msg);
/* At the end of the header: the From domain's default if nothing chose yet. */
void stream_select_final(struct msg *msg);

#endif
