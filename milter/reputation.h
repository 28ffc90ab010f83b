/*
 * reputation - counting sends, bounces and complaints; pausing what goes bad
 *
 * The message path only counts: reputation_count() adds to totals kept in
 * memory (one lock, no I/O), and one background thread writes them into
 * the store's hourly buckets once a second (common/reputation_store.h).
 * A crash or kill -9 loses at most the last second of counts, never mail
 * or events: the Send, Bounce and Complaint events are in the spool
 * already, and counts are statistics.
 *
 * After each write the thread judges every stream and From domain it just
 * counted (and every five minutes all of them) against the policy's limits (common/reputation.h): a
 * first crossing of a warning limit is announced with a ReputationWarning event, a pause limit
 * pauses the stream or From domain in the store (so a restart and "mailward stream" see it) with a
 * StreamPaused (or FromDomainPaused) event and a log line.  Once a second it also resumes pauses
 * whose auto_resume time has come, and writes the events of changes announced in the store (the
 * CLI's pauses and resumes) to the spool: the daemon is the spool's only writer.
 *
 * reputation_eoh() is the gate: once the header has named the stream, a
 * message of a paused stream or From domain is tempfailed (451 4.7.1,
 * the MTA keeps it queued and retries).  The paused set is read from the
 * store at most once a second, so a pause or resume made with the CLI
 * takes effect within a second.
 */
#ifndef MW_REPUTATION_MILTER_H
#define MW_REPUTATION_MILTER_H

#include <stdbool.h>
#include <stddef.h>

#include <libmilter/mfapi.h>

#include "common/reputation.h"
#include "common/reputation_store.h"
#include "common/spool.h"
#include "common/store.h"
#include "milter/context.h"
#include "policy/policy.h"

struct reputation;
struct services;

struct reputation *reputation_start(struct store *store, struct spool *spool);
/* Writes what is counted, then stops the thread. */
void reputation_stop(struct reputation *rep);

/* Add to the counts of a stream (NULL: none) and a From domain (NULL: none). */
void reputation_count(struct reputation *rep, const char *stream, const char *from_domain,
                      const struct reputation_counts *add);

/*
 * Is it paused?  1 yes, with the reason ("complaint rate 0.42% > 0.30%")
 * in why; 0 no; -1 not paused as far as the last successful read of the
 * store knows, but the store cannot be read now (why says why).
 */
int reputation_paused(struct reputation *rep, enum reputation_kind kind, const char *name,
                      char *why, size_t whylen);
/* End of header of an outbound message: tempfail it if its stream or From domain is paused. */
sfsistat reputation_eoh(SMFICTX *ctx, const struct services *svc, struct msg *msg);

/* The limits of a policy's settings (checked when the policy loaded). */
void reputation_limits_of(const struct policy_reputation *in, struct reputation_limits *out);
/* A stream's settings, or NULL for a stream the policy does not define. */
const struct policy_reputation *reputation_policy_of(const struct policy *policy,
                                                     enum reputation_kind kind, const char *name);
/*
 * The "reputation" object of an announcement (JSON, caller frees): who,
 * when, by whom, and with counts (may be NULL) the window, rates and
 * finding.
 */
char *reputation_note_body(const struct reputation_record *rec, const char *by,
                           const struct reputation_counts *counts, const char *window,
                           const struct reputation_finding *finding);
/* The event types of a kind: "StreamPaused" / "FromDomainPaused", ...Resumed. */
const char *reputation_paused_type(enum reputation_kind kind);
const char *reputation_resumed_type(enum reputation_kind kind);

#endif
