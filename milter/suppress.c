/*
 * suppress - refusing suppressed recipients at RCPT; see suppress.h.
 *
 * Lookups go through suppression_get(), which main() gave a cache
 * (suppression_cache_start): a recipient that is not listed, nearly every
 * one, is answered from memory; a listed one is read from the store.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/suppression.h"
#include "milter/events.h"
#include "milter/stats.h"
#include "milter/suppress.h"
#include "milter/verdict.h"
#include "policy/streams.h"

/*
 * The Bounce event of a suppressed recipient, durably, and its log line;
 * SMFIS_CONTINUE, or the spool failure's verdict.  The entry's scope names
 * the stream ("" for the account's list).
 */
static sfsistat
record_bounce(SMFICTX *ctx, const struct services *svc, const struct conn *conn,
              const struct msg *msg, const struct suppression_entry *entry, const char *why)
{
	char name[SPOOL_NAME_MAX], detail[400];
	size_t len = 0;
	char *event = event_suppressed_json(conn, msg, entry->address, why, &len);
	int rc = event != NULL ? spool_write(svc->spool, event, len, name) : -1;

	if (rc < 0) {
		snprintf(detail, sizeof(detail), "Bounce event for suppressed %s not written: %s",
		         entry->address, event ? strerror(errno) : "cannot build it");
		free(event);
		return verdict_on_failure(ctx, msg->policy->on_spool_unwritable, msg->qid,
		                          "event spool unwritable", detail);
	}
	free(event);
	stats_outbound(svc, msg, STATS_SUPPRESSED_REFUSED, 1);
	log_info(msg->qid, "suppressed rcpt=<%s>%s%s reason=%s event=%s", entry->address,
	         *entry->scope ? " stream=" : "", entry->scope,
	         suppression_reason_name(entry->reason), name);
	return SMFIS_CONTINUE;
}

static sfsistat
record_and_refuse(SMFICTX *ctx, const struct services *svc, const struct conn *conn,
                  const struct msg *msg, const struct suppression_entry *entry)
{
	char since[32], text[600];
	struct tm tm;
	sfsistat verdict;

	gmtime_r(&entry->time, &tm);
	strftime(since, sizeof(since), "%Y-%m-%d", &tm);
	snprintf(text, sizeof(text),
	         "mailward: %s is on the suppression list (%s since %s); not sent to it",
	         entry->address, suppression_reason_name(entry->reason), since);
	verdict = record_bounce(ctx, svc, conn, msg, entry, text + strlen("mailward: "));
	if (verdict != SMFIS_CONTINUE)
		return verdict;
	smfi_setreply(ctx, "550", "5.1.1", text);
	return SMFIS_REJECT;
}

sfsistat
suppress_rcpt(SMFICTX *ctx, const struct services *svc, const struct conn *conn,
              const struct msg *msg, const char *rcpt)
{
	struct suppression_entry entry;
	struct buf err = BUF_INIT;
	char *address;
	sfsistat verdict = SMFIS_CONTINUE;
	int found;

	if (msg->direction != DIRECTION_OUTBOUND || !msg->policy->refuse_suppressed)
		return SMFIS_CONTINUE;
	address = address_strip_brackets(rcpt);
	/* The account's list, unless the envelope's stream has suppression = "stream". */
	found =
	    msg->account_list_skipped ? 0 : suppression_get(svc->store, address, "", &entry, &err);
	/* A stream known from the envelope (AUTH user, sender): its own list too. */
	if (found == 0 && msg->stream != NULL)
		found = suppression_get(svc->store, address, msg->stream, &entry, &err);
	if (found < 0)
		verdict = verdict_on_failure(ctx, msg->policy->on_store_unavailable, msg->qid,
		                             "suppression list unavailable", buf_str(&err));
	else if (found > 0)
		verdict = record_and_refuse(ctx, svc, conn, msg, &entry);
	free(address);
	buf_free(&err);
	return verdict;
}

/* Forget a recipient the MTA will be told to drop. */
static void
drop_rcpt(struct msg *msg, size_t i)
{
	edit_delete_rcpt(msg, msg->rcpts[i]);
	free(msg->rcpts[i]);
	memmove(&msg->rcpts[i], &msg->rcpts[i + 1],
	        (msg->rcpt_count - i - 1) * sizeof(*msg->rcpts));
	msg->rcpt_count--;
}

/*
 * Drop the recipients on the list of scope ("" is the account's), each with
 * its Bounce event; SMFIS_CONTINUE, or the verdict of a failure.
 */
static sfsistat
drop_listed(SMFICTX *ctx, const struct services *svc, const struct conn *conn, struct msg *msg,
            const char *scope, size_t *dropped)
{
	size_t i = 0;

	while (i < msg->rcpt_count) {
		struct suppression_entry entry;
		struct buf err = BUF_INIT;
		char *address = address_strip_brackets(msg->rcpts[i]);
		int found = suppression_get(svc->store, address, scope, &entry, &err);
		char text[400];
		sfsistat verdict;

		free(address);
		if (found < 0) {
			sfsistat v =
			    verdict_on_failure(ctx, msg->policy->on_store_unavailable, msg->qid,
			                       "suppression list unavailable", buf_str(&err));
			buf_free(&err);
			return v;
		}
		buf_free(&err);
		if (found == 0) {
			i++;
			continue;
		}
		if (*scope != '\0')
			snprintf(text, sizeof(text),
			         "%s is on the suppression list of stream %s (%s)", entry.address,
			         scope, suppression_reason_name(entry.reason));
		else
			snprintf(text, sizeof(text), "%s is on the suppression list (%s)",
			         entry.address, suppression_reason_name(entry.reason));
		verdict = record_bounce(ctx, svc, conn, msg, &entry, text);
		if (verdict != SMFIS_CONTINUE)
			return verdict;
		drop_rcpt(msg, i);
		(*dropped)++;
	}
	return SMFIS_CONTINUE;
}

sfsistat
suppress_stream(SMFICTX *ctx, const struct services *svc, const struct conn *conn, struct msg *msg)
{
	const struct policy_stream *stream = policy_stream_named(msg->policy, msg->stream);
	size_t dropped = 0;
	sfsistat verdict = SMFIS_CONTINUE;

	if (!msg->policy->refuse_suppressed)
		return SMFIS_CONTINUE;
	if (stream != NULL)
		verdict = drop_listed(ctx, svc, conn, msg, stream->name, &dropped);
	/* RCPT left the account's list out for the envelope's stream; this one wants it. */
	if (verdict == SMFIS_CONTINUE && msg->account_list_skipped &&
	    (stream == NULL || stream->suppression == SUPPRESSION_SCOPE_ACCOUNT))
		verdict = drop_listed(ctx, svc, conn, msg, "", &dropped);
	if (verdict != SMFIS_CONTINUE)
		return verdict;
	if (dropped > 0 && msg->rcpt_count == 0) {
		smfi_setreply(ctx, "550", "5.1.1",
		              stream != NULL
		                  ? "mailward: every recipient is on the sending stream's "
		                    "or the account's suppression list"
		                  : "mailward: every recipient is on the suppression list");
		return SMFIS_REJECT;
	}
	return SMFIS_CONTINUE;
}
