/*
 * outbound - end of header and end of an outbound message
 *
 * outbound_eoh() settles everything the header decides (stream, headers to
 * add or remove, the Send event started on its way to disk, signing
 * begun); outbound_eom() signs, rewrites the envelope sender, commits the
 * event and accepts.  outbound_discard() withdraws the event of a message
 * that ends otherwise (abort, lost connection).
 */
#ifndef MW_OUTBOUND_H
#define MW_OUTBOUND_H

#include <stdbool.h>
#include <libmilter/mfapi.h>

#include "milter/context.h"
#include "milter/services.h"

sfsistat outbound_eoh(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg);
sfsistat outbound_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg);
void outbound_discard(const struct services *svc, struct msg *msg);

#endif
