/*
 * inbound - authentication of inbound mail: SPF, DKIM, DMARC, one header
 *
 * While the message arrives, every header field and body chunk goes to the
 * DKIM verifier (the body only when there is a signature to check).  At
 * end of message, inbound_eom() runs, on one DNS budget:
 *
 *	SPF          the MAIL FROM identity, or HELO for the null sender
 *	DKIM         every signature, up to inbound.dkim_max_signatures
 *	DMARC        for the From domain (each distinct one, if several)
 *	overrides    monitor mode, monitor_domains, forwarders
 *	header       forged Authentication-Results claiming our authserv-id
 *	             removed, ours inserted on top (and Received-SPF)
 *	history      one row per DMARC evaluation for aggregate reports
 *	disposition  reject (550 5.7.1), quarantine (hold or header) or accept;
 *	             a DMARC temperror takes failure.dns_temperror
 *
 * and logs one summary line with the queue ID.
 */
#ifndef MW_INBOUND_H
#define MW_INBOUND_H

#include <stdbool.h>
#include <stddef.h>

#include <libmilter/mfapi.h>

#include "milter/context.h"
#include "milter/services.h"

struct inbound;

/* State for one inbound message; NULL when inbound.mode is off. */
struct inbound *inbound_begin(const struct policy *policy);
/* value as after the colon, leading space included. */
void inbound_header(struct inbound *in, const char *name, const char *value);
/* Is there a signature whose body hash needs the body? */
bool inbound_wants_body(const struct inbound *in);
void inbound_body(struct inbound *in, const unsigned char *chunk, size_t len);
void inbound_free(struct inbound *in);

sfsistat inbound_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg);

#endif
