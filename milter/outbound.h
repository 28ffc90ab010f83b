/*
 * outbound - end of an outbound message
 *
 * Today: record the Send event durably, then accept.  Signing, VERP and
 * List-Unsubscribe plug in here, in the order DESIGN.md gives.
 */
#ifndef MW_OUTBOUND_H
#define MW_OUTBOUND_H

#include <stdbool.h>
#include <libmilter/mfapi.h>

#include "milter/context.h"
#include "milter/services.h"

sfsistat outbound_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg);

#endif
