/*
 * identity - may this sender use this From address?
 *
 * With policy identities configured, every address of an outbound
 * message's From header must be allowed for its SMTP AUTH user or its
 * client network (policy/streams.h says how entries match).  One that is
 * not is refused at the end of the header with
 *
 *	554 5.7.1 mailward: <addr> is not an identity user U may send as
 *
 * ("client ADDR" instead of "user U" without SMTP AUTH), after a Reject
 * event is durably in the spool and a log line with the queue ID.  This is
 * what contains leaked SMTP credentials: they send only as their owner.
 * Without identities, any From is allowed.
 */
#ifndef MW_IDENTITY_H
#define MW_IDENTITY_H

#include <libmilter/mfapi.h>

#include "milter/context.h"
#include "milter/services.h"

/* SMFIS_CONTINUE when the From is allowed; else the refusal (or the spool failure's verdict). */
sfsistat identity_check(SMFICTX *ctx, const struct services *svc, const struct conn *conn,
                        const struct msg *msg);

#endif
