/*
 * mailfrom - the aligned custom MAIL FROM (VERP)
 *
 * When the From domain has a mail_from entry, the envelope sender becomes
 * b-TOKEN@BOUNCE-DOMAIN (smfi_chgfrom), TOKEN naming the message (see
 * common/verp.h).  SPF then checks the bounce domain, which aligns with
 * the From domain, and bounces come back to an address that says which
 * message they are about.
 *
 * One envelope sender serves every recipient of a message: a milter
 * cannot give each recipient its own (Postfix's per-recipient VERP,
 * XVERP, works only for mail submitted with it, before the milter).  So a
 * message with one recipient gets a token naming that recipient too, and
 * a message with several gets a token naming the message; the bounce's
 * DSN names the recipient.  The null sender (bounces, auto-replies) is
 * never rewritten.
 */
#ifndef MW_MAILFROM_H
#define MW_MAILFROM_H

#include <stdbool.h>

#include <libmilter/mfapi.h>

#include "common/buf.h"

struct msg;

/* Queue the new envelope sender (in out too); false when it stays. */
bool mailfrom_rewrite(struct msg *msg, struct buf *out);

#endif
