/*
 * suppress - outbound recipients on the suppression list are refused at RCPT
 *
 * An address on the account-level suppression list (permanent bounces,
 * complaints, unsubscribes from every stream, manual entries) is refused
 * with 550 5.1.1 and a text that says why and since when; the other
 * recipients of the message go on.  Like SES, mailward records a Bounce
 * event (bounceSubType OnAccountSuppressionList) for it, durably, before
 * it answers.  A store that cannot be read takes failure.internal_error
 * for that recipient (tempfail by default: the MTA retries it).  A
 * stream's own list (its unsubscribes) is asked at RCPT too when the
 * envelope chose the stream (AUTH user, envelope sender); otherwise only
 * once the header has named it: suppress_stream().
 */
#ifndef MW_SUPPRESS_H
#define MW_SUPPRESS_H

#include <libmilter/mfapi.h>

#include "milter/context.h"
#include "milter/services.h"

/*
 * At the end of the header, once the sending stream is known: recipients
 * on that stream's own list are dropped (smfi_delrcpt at end of message),
 * each with its Bounce event; the others go on.  All of them: 550 5.1.1.
 *
 * A stream's suppression scope: "account" (the default) applies the
 * account's list and the stream's own; "stream" only the stream's own, as
 * a configuration set's suppression settings override the account's in
 * SES.  RCPT leaves the account's list out when the stream the envelope
 * chose (AUTH user, envelope sender) has scope "stream"; if the header
 * then picks a stream with scope "account", the account's list is applied
 * here instead, dropping its recipients.  The reverse cannot be undone: a
 * recipient refused at RCPT stays refused, so choose streams with scope
 * "stream" by AUTH user or envelope sender.
 */
sfsistat suppress_stream(SMFICTX *ctx, const struct services *svc, const struct conn *conn,
                         struct msg *msg);

/* SMFIS_CONTINUE: take the recipient; anything else is the answer for it. */
sfsistat suppress_rcpt(SMFICTX *ctx, const struct services *svc, const struct conn *conn,
                       const struct msg *msg, const char *rcpt);

#endif
