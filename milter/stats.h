/*
 * stats - what the daemon counts, and its /metrics page
 *
 * The daemon's metrics (common/metrics.h) hang off struct services; the
 * capability modules report through these one-line hooks, which choose
 * the label values so that none comes from a message as it is:
 *
 *	stream       a stream the policy defines, "none", or "other"
 *	from_domain  a From domain of the signing table (or its "*.parent"
 *	             entry), a custom MAIL FROM domain, "none", or "other"
 *	everything   else: names of enums (SPF, DKIM, DMARC results,
 *	             verdicts, DNS types and statuses)
 *
 * so a hostile sender cannot grow the label sets, and common/metrics.c
 * caps each family besides.  A policy reload may bring new stream and
 * domain names; the old ones stay in the output (counters never go back).
 *
 * stats_render() writes the registry and the figures computed when the
 * page is asked for: uptime, files waiting in the spool's new/, and per
 * webhook endpoint the dead letters and redriven events the dispatcher
 * (a separate process, mailward events dispatch) left in the spool.
 */
#ifndef MW_STATS_H
#define MW_STATS_H

#include <stdbool.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "common/buf.h"
#include "common/dns.h"
#include "common/feedback.h"
#include "common/metrics.h"
#include "milter/context.h"
#include "milter/services.h"

/* mailward_outbound_total{event=...}: what became of outbound mail. */
enum stats_outbound {
	STATS_SENT,               /* Send event written: the MTA has the message */
	STATS_BOUNCED,            /* per bounced recipient of a DSN that came back */
	STATS_COMPLAINED,         /* per complaining recipient of an ARF report */
	STATS_DELIVERED,          /* per recipient of a "delivered" DSN */
	STATS_DELAYED,            /* per recipient of a "delayed" DSN */
	STATS_UNSUBSCRIBED,       /* one-click or mailto unsubscribe recorded */
	STATS_SUPPRESSED_REFUSED, /* per recipient refused or dropped: suppression list */
	STATS_PAUSED,             /* a message tempfailed because its stream is paused */
	STATS_TEMPFAILED,         /* a message mailward tempfailed (any reason) */
	STATS_REJECTED,           /* a message mailward rejected (any reason) */
	STATS_OUTBOUND_COUNT,
};

/* The registry of the daemon's families; started now (uptime). */
struct metrics *stats_new(void);

/* Outbound outcome n times, labelled from the message (stream, From). */
void stats_outbound(const struct services *svc, const struct msg *msg, enum stats_outbound what,
                    unsigned n);
/* The same from loose parts: stream and from (an address or a domain) may be NULL. */
void stats_outbound_for(const struct services *svc, const struct policy *policy,
                        enum stats_outbound what, const char *stream, const char *from, unsigned n);
/* The recipients of a parsed bounce, delay notice, delivery report or complaint. */
void stats_feedback(const struct services *svc, const struct policy *policy,
                    const struct feedback *fb, const char *stream);
/*
 * The verdict a callback returns at stage ("envfrom", "rcpt", "eoh",
 * "eom"); SMFIS_CONTINUE is not counted.  An outbound message's reject or
 * tempfail (not at RCPT) also counts as rejected or tempfailed.
 */
void stats_verdict(const struct services *svc, const struct msg *msg, const char *stage,
                   sfsistat verdict);

struct inbound_checks;
/* SPF, every DKIM signature, DMARC result and the disposition applied. */
void stats_inbound(const struct services *svc, const struct inbound_checks *c);

/* A refused unsubscribe token: why is "malformed", "invalid" or "expired". */
void stats_bad_token(const struct services *svc, const char *why);
/* A message starts (MAIL FROM) or ends (end, abort, close): in flight. */
void stats_message_begin(const struct services *svc);
void stats_message_end(const struct services *svc);
/* A policy reload: installed, or refused (errors in the file). */
void stats_reload(struct metrics *metrics, bool installed);
/* Time every lookup the resolver sends out (cache hits are not timed). */
void stats_watch_dns(struct dns_resolver *resolver, struct metrics *metrics);

/* The page: registry, then the figures of this moment. */
void stats_render(const struct services *svc, struct buf *out);

#endif
