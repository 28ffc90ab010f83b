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
 * stream's own list can be asked only once the header has named the
 * stream: suppress_stream().
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
 */
sfsistat suppress_stream(SMFICTX *ctx, const struct services *svc, const struct conn *conn,
                         struct msg *msg);

/* SMFIS_CONTINUE: take the recipient; anything else is the answer for it. */
sfsistat suppress_rcpt(SMFICTX *ctx, const struct services *svc, const struct conn *conn,
                       const struct msg *msg, const char *rcpt);

#endif
