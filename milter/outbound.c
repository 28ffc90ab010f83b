/*
 * outbound - end of an outbound message; see outbound.h.
 *
 * Order matters.  At the end of the header, control headers go and a
 * missing Message-ID, Date or Feedback-ID comes in, so the signatures cover
 * exactly what leaves, and the Send event (built from the header alone)
 * goes to the spool: its flush to disk runs while the body arrives and is
 * hashed.  At end of message the signatures are made, the event is
 * committed (durable, published) before anything is changed, or withdrawn
 * if the message is not accepted after all; then every change goes to the
 * MTA in one burst with the verdict (milter/edits.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/header.h"
#include "common/log.h"
#include "common/send_index.h"
#include "common/timefmt.h"
#include "milter/control.h"
#include "milter/events.h"
#include "milter/identity.h"
#include "milter/limits.h"
#include "milter/mailfrom.h"
#include "milter/outbound.h"
#include "milter/send_log.h"
#include "milter/reputation.h"
#include "milter/sign.h"
#include "milter/stream_select.h"
#include "milter/stats.h"
#include "milter/suppress.h"
#include "milter/unsubscribe.h"
#include "milter/verdict.h"

static sfsistat
unknown_stream(SMFICTX *ctx, struct msg *msg)
{
	char detail[300];

	snprintf(detail, sizeof(detail),
	         "the message asks for sending stream \"%s\", which the policy does not define",
	         control_unknown_stream(msg));
	return verdict_on_failure(ctx, msg->policy->on_policy_unavailable, msg->qid,
	                          "unknown sending stream", detail);
}

/* Before signing: control headers out, Message-ID, Date and Feedback-ID in. */
static sfsistat
prepare_headers(SMFICTX *ctx, struct msg *msg)
{
	control_remove(msg);
	if (msg->policy->add_message_id && (sign_add_message_id(msg) < 0 || sign_add_date(msg) < 0))
		return verdict_on_failure(ctx, msg->policy->on_internal_error, msg->qid,
		                          "internal error", "cannot make a Message-ID or Date");
	control_add_feedback_id(msg);
	msg->unsubscribe = unsubscribe_add_headers(msg);
	return SMFIS_CONTINUE;
}

/* Sign, or say why not; SMFIS_CONTINUE means "go on". */
static sfsistat
sign_message(SMFICTX *ctx, struct msg *msg, struct buf *signed_by)
{
	struct buf err = BUF_INIT;
	sfsistat verdict = SMFIS_CONTINUE;
	char detail[300];

	switch (sign_finish(msg, signed_by, &err)) {
	case SIGN_SIGNED:
		break;
	case SIGN_FAILED:
		verdict = verdict_on_failure(ctx, msg->policy->on_internal_error, msg->qid,
		                             "signing failed", buf_str(&err));
		break;
	case SIGN_NO_KEY: {
		char *domain = first_address_domain(msg->common[COMMON_FROM]);
		snprintf(detail, sizeof(detail), "none (no key for From domain %s)",
		         domain ? domain : "(none)");
		buf_puts(signed_by, detail);
		if (msg->policy->on_unsigned != ACTION_ACCEPT)
			verdict = verdict_on_failure(ctx, msg->policy->on_unsigned, msg->qid,
			                             "no signing key", detail);
		free(domain);
		break;
	}
	}
	buf_free(&err);
	return verdict;
}

static sfsistat
spool_failure(SMFICTX *ctx, const struct services *svc, struct msg *msg)
{
	char detail[512];

	snprintf(detail, sizeof(detail), "Send event not written to %s: %s", spool_dir(svc->spool),
	         strerror(errno));
	return verdict_on_failure(ctx, msg->policy->on_spool_unwritable, msg->qid,
	                          "event spool unwritable", detail);
}

/* Hand the Send event to the spool; its flush starts now. */
static sfsistat
begin_send_event(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg,
                 struct spool_entry **entry)
{
	size_t len = 0;
	char *event = event_send_json(conn, msg, &len);

	if (event == NULL)
		return verdict_on_failure(ctx, msg->policy->on_internal_error, msg->qid,
		                          "internal error", "cannot build the Send event");
	*entry = spool_begin(svc->spool, event, len);
	free(event);
	return *entry != NULL ? SMFIS_CONTINUE : spool_failure(ctx, svc, msg);
}

/* Wait until the Send event is durable and publish it; SMFIS_CONTINUE when it is. */
static sfsistat
commit_send_event(SMFICTX *ctx, const struct services *svc, struct msg *msg,
                  struct spool_entry *entry, char name[SPOOL_NAME_MAX])
{
	if (spool_commit(svc->spool, entry, name) < 0)
		return spool_failure(ctx, svc, msg);
	stats_outbound(svc, msg, STATS_SENT, 1);
	return SMFIS_CONTINUE;
}

/*
 * The Message-ID index learns the message (in the background): feedback
 * that carries no bounce-address token finds it by its Message-ID.
 */
static void
index_message(const struct services *svc, const struct conn *conn, const struct msg *msg)
{
	char mail_id[MAIL_ID_TEXT], stamp[TIMEFMT_ISO8601_LEN];
	struct send_record r = {
		.mail_id = mail_id,
		.timestamp = stamp,
		.source = msg->sender,
		.stream = msg->stream,
		.destination = msg->rcpts,
		.destination_count = msg->rcpt_count,
		.time = msg->started.tv_sec,
	};

	if (svc->send_log == NULL || msg->policy->correlation_days <= 0)
		return;
	r.message_id = send_index_key(msg->common[COMMON_MESSAGE_ID]);
	if (r.message_id == NULL)
		return;
	mail_id_text(&msg->id, mail_id);
	timefmt_iso8601(&msg->started, stamp, sizeof(stamp));
	r.tags = event_tags_json(conn, msg);
	send_log_add(svc->send_log, &r, msg->policy->correlation_days, msg->qid);
	free(r.message_id);
	free(r.tags);
}

/*
 * A stream with delivery_notifications asks the MTA for success DSNs: each
 * recipient is deleted and added again with NOTIFY (the milter protocol
 * cannot change a recipient's parameters in place).  The DSNs come back to
 * the VERP address and become Delivery events (feedback_in.h).  Whatever
 * NOTIFY the client gave is replaced; ORCPT names the address as the
 * client gave it, so reports keep their Original-Recipient.  True when it
 * asked.
 */
static bool
request_delivery_notices(struct msg *msg)
{
	const struct policy_stream *stream = control_stream(msg);
	struct buf args = BUF_INIT;

	if (stream == NULL || !stream->delivery_notifications)
		return false;
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		buf_puts(&args, "NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;");
		/* xtext (RFC 3461): '+', '=' and anything outside 33-126 as +HH */
		for (const unsigned char *p = (const unsigned char *)msg->rcpts[i]; *p; p++)
			if (*p < 33 || *p > 126 || *p == '+' || *p == '=')
				buf_printf(&args, "+%02X", *p);
			else
				buf_append(&args, p, 1);
		edit_delete_rcpt(msg, msg->rcpts[i]);
		edit_add_rcpt(msg, msg->rcpts[i], buf_str(&args));
		buf_reset(&args);
	}
	buf_free(&args);
	return true;
}

/* Each recipient of an accepted message is a send of its stream and From domain. */
static void
count_send(const struct services *svc, const struct msg *msg)
{
	struct reputation_counts add = { .sends = (int64_t)msg->rcpt_count };
	char *domain = first_address_domain(msg->common[COMMON_FROM]);

	reputation_count(svc->reputation, msg->stream, domain, &add);
	free(domain);
}

/* Hand every queued change to the MTA; the verdict follows at once. */
static sfsistat
apply_edits(SMFICTX *ctx, struct conn *conn, struct msg *msg)
{
	struct buf err = BUF_INIT;
	sfsistat verdict = SMFIS_CONTINUE;

	if (edits_apply(ctx, msg, conn->leadspc, &err) < 0)
		verdict = verdict_on_failure(ctx, msg->policy->on_internal_error, msg->qid,
		                             "internal error", buf_str(&err));
	buf_free(&err);
	return verdict;
}

sfsistat
outbound_eoh(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg)
{
	sfsistat verdict = SMFIS_CONTINUE;

	stream_select_final(msg);
	if (control_unknown_stream(msg) != NULL)
		verdict = unknown_stream(ctx, msg);
	if (verdict == SMFIS_CONTINUE)
		verdict = identity_check(ctx, svc, conn, msg);
	if (verdict == SMFIS_CONTINUE)
		verdict = reputation_eoh(ctx, svc, msg);
	if (verdict == SMFIS_CONTINUE)
		verdict = suppress_stream(ctx, svc, conn, msg);
	if (verdict == SMFIS_CONTINUE)
		verdict = limits_eoh(ctx, svc->limits, msg);
	if (verdict == SMFIS_CONTINUE)
		verdict = prepare_headers(ctx, msg);
	if (verdict == SMFIS_CONTINUE)
		verdict = begin_send_event(ctx, svc, conn, msg, &msg->send_event);
	if (verdict == SMFIS_CONTINUE)
		msg->sign = sign_begin(msg);
	return verdict;
}

sfsistat
outbound_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg)
{
	struct buf signed_by = BUF_INIT, mail_from = BUF_INIT;
	char event[SPOOL_NAME_MAX] = "";
	struct spool_entry *entry;
	sfsistat verdict;
	bool notify = false;

	/* An MTA that skipped the end-of-header step: do its work now. */
	if (msg->send_event == NULL &&
	    (verdict = outbound_eoh(ctx, svc, conn, msg)) != SMFIS_CONTINUE)
		return verdict;
	entry = msg->send_event;
	msg->send_event = NULL; /* committed or withdrawn below */
	verdict = sign_message(ctx, msg, &signed_by);
	if (verdict == SMFIS_CONTINUE) {
		mailfrom_rewrite(msg, &mail_from);
		notify = request_delivery_notices(msg);
		verdict = commit_send_event(ctx, svc, msg, entry, event);
	} else {
		spool_abandon(svc->spool, entry); /* not accepted: no Send event */
	}
	if (verdict == SMFIS_CONTINUE)
		verdict = apply_edits(ctx, conn, msg);
	if (verdict == SMFIS_CONTINUE) {
		log_info(
		    msg->qid,
		    "outbound %s from=<%s> nrcpt=%zu%s%s%s%s dkim=%s mail_from=%s event=%s%s%s%s",
		    msg->direction_reason, msg->sender, msg->rcpt_count,
		    msg->stream ? " stream=" : "", msg->stream ? msg->stream : "",
		    msg->stream ? " by=" : "", msg->stream ? msg->stream_by : "",
		    buf_str(&signed_by), mail_from.len ? buf_str(&mail_from) : "unchanged", event,
		    msg->unsubscribe ? " unsubscribe=" : "",
		    msg->unsubscribe ? msg->unsubscribe : "", notify ? " notify=success" : "");
		index_message(svc, conn, msg);
		count_send(svc, msg);
		verdict = SMFIS_ACCEPT;
	}
	buf_free(&signed_by);
	buf_free(&mail_from);
	return verdict;
}

void
outbound_discard(const struct services *svc, struct msg *msg)
{
	if (msg != NULL && msg->send_event != NULL) {
		spool_abandon(svc->spool, msg->send_event);
		msg->send_event = NULL;
	}
}
