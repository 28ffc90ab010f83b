/*
 * limits - sending limits of streams and SMTP AUTH users
 *
 * A stream (policy streams) and an AUTH user (policy user_limits) may each
 * have max_recipients (per message), max_rate (messages a second, a token
 * bucket holding a second's worth) and max_per_day (messages in any 24
 * hours).  Mail beyond a limit is tempfailed, never dropped, so the MTA
 * or the client sends it later:
 *
 *	RCPT beyond max_recipients	452 4.5.3 for that recipient only (the
 *					client sends it in another message)
 *	a message beyond max_rate	451 4.7.1 at the end of the header
 *	a message beyond max_per_day	451 4.7.1 at the end of the header
 *
 * At RCPT the stream is the one the envelope chose (AUTH user or envelope
 * sender); a stream the header chooses later is held to its
 * max_recipients at the end of the header, for the whole message (452
 * 4.5.3).  A message counts against the rate and the day once it passes
 * every limit at the end of the header; one that a limit refuses counts
 * against none.  Each refusal is logged with the queue ID and the limit,
 * and counted.
 *
 * The counters live in memory, in this process: a restart forgets them,
 * and several mailward processes (a fleet, or several milters on one
 * host) each allow the whole limit.  The store's hourly counters per
 * stream (reputation) are a separate thing.
 */
#ifndef MW_LIMITS_H
#define MW_LIMITS_H

#include <libmilter/mfapi.h>
#include <stdint.h>

#include "milter/context.h"

struct limits;

struct limits *limits_new(void);
void limits_free(struct limits *limits);

/* SMFIS_CONTINUE to take one more recipient; else its 452 4.5.3. */
sfsistat limits_rcpt(SMFICTX *ctx, struct limits *limits, const struct msg *msg, const char *rcpt);
/* At the end of the header, the stream final: SMFIS_CONTINUE (counted), or 451/452. */
sfsistat limits_eoh(SMFICTX *ctx, struct limits *limits, const struct msg *msg);
/* How many messages and recipients the limits of KIND:NAME ("stream", "user") refused. */
uint64_t limits_refused(struct limits *limits, const char *kind, const char *name);

#endif
