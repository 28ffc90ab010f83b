/*
 * suppress - outbound recipients on the suppression list are refused at RCPT
 *
 * An address on the account-level suppression list (permanent bounces,
 * complaints, unsubscribes from every stream, manual entries) is refused
 * with 550 5.1.1 and a text that says why and since when; the other
 * recipients of the message go on.  Like SES, mailward records a Bounce
 * event (bounceSubType OnAccountSuppressionList) for it, durably, before
 * it answers.  A store that cannot be read takes failure.internal_error
 * for that recipient (tempfail by default: the MTA retries it).  Only the
 * account-level list is asked here: the sending stream, and with it a
 * stream's own list, is known only once the header has arrived.
 */
#ifndef MW_SUPPRESS_H
#define MW_SUPPRESS_H

#include <libmilter/mfapi.h>

#include "milter/context.h"
#include "milter/services.h"

/* SMFIS_CONTINUE: take the recipient; anything else is the answer for it. */
sfsistat suppress_rcpt(SMFICTX *ctx, const struct services *svc, const struct conn *conn,
                       const struct msg *msg, const char *rcpt);

#endif
