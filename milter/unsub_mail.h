/*
 * unsub_mail - unsubscribing by mail (the List-Unsubscribe mailto: link)
 *
 * The mailto: link mailward adds asks the recipient's mail program to send
 * "unsubscribe TOKEN" as the subject to unsubscribe.mailto.  Such a
 * message is not delivered through the usual paths: at its end the token
 * in the subject is honoured exactly as a one-click POST is
 * (unsub_record.h), and the message, which nobody reads, is discarded.  A
 * subject without a valid token is logged and the message delivered as
 * usual (the MTA decides what that address means); when the store or the
 * spool fails the message is tempfailed, so the sender retries and no
 * unsubscribe is lost.  Only a message to the unsubscribe address alone is
 * read this way: one with other recipients too goes its usual way.
 */
#ifndef MW_UNSUB_MAIL_H
#define MW_UNSUB_MAIL_H

#include <libmilter/mfapi.h>
#include <stdbool.h>

#include "milter/context.h"
#include "milter/services.h"

/* Is rcpt (as the MTA passes it) the unsubscribe address? */
bool unsub_mail_address(const struct policy *policy, const char *rcpt);
/* Does every recipient of the message go to the unsubscribe address? */
bool unsub_mail_only(const struct msg *msg);
/* At end of message: honour the token in the subject; the verdict. */
sfsistat unsub_mail_eom(SMFICTX *ctx, const struct services *svc, struct msg *msg);

#endif
