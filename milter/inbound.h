/*
 * inbound - end of an inbound message
 *
 * Today: log the decision and accept.  SPF, DKIM verification, DMARC,
 * Authentication-Results and feedback parsing plug in here.
 */
#ifndef MW_INBOUND_H
#define MW_INBOUND_H

#include <stdbool.h>
#include <libmilter/mfapi.h>

#include "milter/context.h"
#include "milter/services.h"

sfsistat inbound_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg);

#endif
