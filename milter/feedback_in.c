/*
 * feedback_in - feedback messages into events; see feedback_in.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/feedback.h"
#include "common/log.h"
#include "common/send_index.h"
#include "common/suppression.h"
#include "common/timefmt.h"
#include "common/verp.h"
#include "common/xalloc.h"
#include "milter/feedback_in.h"
#include "milter/stats.h"
#include "milter/reputation.h"
#include "milter/verdict.h"

bool
feedback_address(const struct policy *policy, const char *rcpt)
{
	char *address = address_strip_brackets(rcpt);
	const char *at = strrchr(address, '@');
	bool found = false;

	for (size_t i = 0; at != NULL && !found && i < policy->bounce_domains.count; i++)
		found = strcasecmp(at + 1, policy->bounce_domains.items[i]) == 0;
	for (size_t i = 0; !found && i < policy->complaint_addresses.count; i++)
		found = strcasecmp(address, policy->complaint_addresses.items[i]) == 0;
	free(address);
	return found;
}

static void
keep(struct msg *msg, const void *data, size_t len)
{
	size_t room;

	if (msg->feedback_raw == NULL)
		msg->feedback_raw = xcalloc(1, sizeof(*msg->feedback_raw));
	room = (size_t)msg->policy->feedback_max_bytes > msg->feedback_raw->len
	           ? (size_t)msg->policy->feedback_max_bytes - msg->feedback_raw->len
	           : 0;
	if (len > room) {
		len = room;
		msg->feedback_truncated = true;
	}
	buf_append(msg->feedback_raw, data, len);
}

void
feedback_keep_header(struct msg *msg, const char *name, const char *value)
{
	keep(msg, name, strlen(name));
	keep(msg, ":", 1);
	keep(msg, value, strlen(value));
	keep(msg, "\r\n", 2);
}

void
feedback_keep_eoh(struct msg *msg)
{
	keep(msg, "\r\n", 2);
}

void
feedback_keep_body(struct msg *msg, const unsigned char *chunk, size_t len)
{
	keep(msg, chunk, len);
}

/* ------------------------------------------------------------ correlation */

struct origin {
	char mail_id[MAIL_ID_TEXT];
	const char *stream;
	const char *correlation;
	uint32_t rcpt_hash;      /* the token's recipient, 0 when it named several */
	struct send_record sent; /* the Message-ID index's record, if found */
	bool indexed;
	char sent_at[TIMEFMT_ISO8601_LEN]; /* when the token's message was made, or "" */
};

/* The token of b-TOKEN@domain, or the text itself when it has no such form. */
static bool
try_token(const struct policy *policy, const char *text, struct origin *o)
{
	char token[VERP_TOKEN_TEXT + 8];
	const char *start = strncasecmp(text, "b-", 2) == 0 ? text + 2 : text;
	size_t len = strcspn(start, "@>");
	struct verp_token t;

	if (len >= sizeof(token))
		return false;
	memcpy(token, start, len);
	token[len] = '\0';
	for (char *p = token; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	if (verp_decode(policy->verp_key_table, policy->verp_key_count, token, &t) < 0)
		return false;
	mail_id_text(&t.mail, o->mail_id);
	uint64_t ms = mail_id_millis(&t.mail);
	struct timespec made = { .tv_sec = (time_t)(ms / 1000),
		                 .tv_nsec = (long)(ms % 1000) * 1000000L };
	timefmt_iso8601(&made, o->sent_at, sizeof(o->sent_at));
	o->rcpt_hash = t.rcpt_hash;
	for (size_t i = 0; i < policy->stream_count; i++)
		if ((uint16_t)verp_hash(policy->streams[i].name) == t.stream_hash)
			o->stream = policy->streams[i].name;
	o->correlation = "verp";
	return true;
}

/*
 * The record the Message-ID index has for the returned Message-ID; with a
 * token, only one naming the same message (it adds source, destination
 * and tags the token does not carry).  A store that fails is logged and
 * read as "not found": the event is still written, partial.
 */
static void
try_index(const struct services *svc, const struct msg *msg, const struct feedback *fb,
          struct origin *o)
{
	struct buf err = BUF_INIT;
	char *key = send_index_key(fb->orig.message_id);
	int found = key != NULL && svc->store != NULL
	                ? send_index_find(svc->store, key, &o->sent, &err)
	                : 0;

	if (found < 0)
		log_warning(msg->qid, "feedback: Message-ID index lookup failed: %s",
		            buf_str(&err));
	if (found == 1 && o->correlation != NULL &&
	    (o->sent.mail_id == NULL || strcmp(o->sent.mail_id, o->mail_id) != 0))
		found = 0;
	if (found == 1) {
		o->indexed = true;
		if (o->correlation == NULL) {
			snprintf(o->mail_id, sizeof(o->mail_id), "%s",
			         o->sent.mail_id ? o->sent.mail_id : "");
			o->stream = o->sent.stream;
			o->correlation = "message-id";
		}
	} else {
		send_record_free(&o->sent);
	}
	free(key);
	buf_free(&err);
}

/* The recipient (where the bounce came), a token the report returned, the Message-ID. */
static void
correlate(const struct services *svc, const struct msg *msg, const struct feedback *fb,
          struct origin *o)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < msg->rcpt_count && o->correlation == NULL; i++) {
		char *address = address_strip_brackets(msg->rcpts[i]);
		try_token(msg->policy, address, o);
		free(address);
	}
	for (size_t i = 0; i < fb->orig.token_count && o->correlation == NULL; i++)
		try_token(msg->policy, fb->orig.tokens[i], o);
	try_index(svc, msg, fb, o);
}

/* ------------------------------------------------------------ events, list */

/* Every event durably in the spool; how many, or -1 (errno) when one failed. */
static int
write_events(const struct services *svc, const struct msg *msg, const struct feedback *fb,
             const struct origin *o, struct buf *names)
{
	struct feedback_mail mail = {
		.message_id = o->mail_id[0] ? o->mail_id : NULL,
		.stream = o->stream,
		.correlation = o->correlation,
		.timestamp = o->sent_at[0] ? o->sent_at : NULL,
	};

	if (o->indexed) {
		mail.timestamp = o->sent.timestamp;
		mail.source = o->sent.source;
		mail.destination = (const char *const *)o->sent.destination;
		mail.destination_count = o->sent.destination_count;
		mail.tags_json = o->sent.tags;
	}
	size_t n = feedback_event_count(fb);

	for (size_t i = 0; i < n; i++) {
		char name[SPOOL_NAME_MAX];
		size_t len = 0;
		char *event =
		    feedback_event_json(fb, &mail,
		                        msg->policy->event_shape == EVENT_SHAPE_NOTIFICATION
		                            ? FEEDBACK_SHAPE_NOTIFICATION
		                            : FEEDBACK_SHAPE_EVENT,
		                        i, &len);
		int rc = event != NULL ? spool_write(svc->spool, event, len, name) : -1;

		free(event);
		if (rc < 0)
			return -1;
		buf_printf(names, "%s%s", i ? "," : "", name);
	}
	return (int)n;
}

/*
 * A bounce suppresses an address only when its token proves we sent that
 * message (and, when the token names one recipient, to that address), or
 * the Message-ID index says we sent that message to that address: anyone
 * can send a DSN to a bounce domain, and it must not be a way to silence
 * somebody else's mail (a Message-ID is no secret, but only its recipients
 * have seen it, and they can only silence themselves).
 */
static bool
bounce_trusted(const struct origin *o, const char *address)
{
	if (o->correlation == NULL)
		return false;
	if (strcmp(o->correlation, "verp") == 0)
		return o->rcpt_hash == 0 || o->rcpt_hash == verp_hash(address);
	for (size_t i = 0; i < o->sent.destination_count; i++)
		if (strcasecmp(o->sent.destination[i], address) == 0)
			return true;
	return false;
}

/*
 * Permanent bounces and complaints onto the account's list; how many, or -1
 * with the reason in err when the store failed (locked, I/O error).  Runs
 * before the events are written: the MTA retries a message refused for
 * that, and a retry adds the same rows again (an upsert) without writing
 * its events twice.  An address the list cannot hold is logged and skipped.
 */
static int
suppress(const struct services *svc, const struct msg *msg, const struct feedback *fb,
         const struct origin *o, struct buf *err)
{
	int added = 0;

	if (!msg->policy->feedback_suppress)
		return 0;
	for (size_t i = 0; i < fb->rcpt_count; i++) {
		const struct feedback_rcpt *r = &fb->rcpts[i];
		struct suppression_entry e = { .time = time(NULL) };

		if (fb->kind == FEEDBACK_BOUNCE && r->type == BOUNCE_PERMANENT &&
		    bounce_trusted(o, r->address))
			e.reason = SUPPRESSION_BOUNCE;
		else if (fb->kind == FEEDBACK_COMPLAINT)
			e.reason = SUPPRESSION_COMPLAINT;
		else
			continue;
		if (r->address == NULL || r->address[0] == '\0' ||
		    (size_t)snprintf(e.address, sizeof(e.address), "%s", r->address) >=
		        sizeof(e.address)) {
			log_warning(msg->qid,
			            "feedback: %.200s not suppressed: address empty or too long",
			            r->address);
			continue;
		}
		snprintf(e.message_id, sizeof(e.message_id), "%s", o->mail_id);
		if (suppression_add(svc->store, &e, err) < 0)
			return -1;
		added++;
	}
	return added;
}

/*
 * Permanent bounces and complaints count against the stream and From
 * domain of the original message, only when its token proves we sent it:
 * forged reports must not be a way to pause somebody's mail.  The From
 * domain is the returned original's, when the report includes it.
 */
static void
count_feedback(const struct services *svc, const struct feedback *fb, const struct origin *o)
{
	struct reputation_counts add = { 0 };
	char *domain;

	if (o->correlation == NULL)
		return;
	for (size_t i = 0; i < fb->rcpt_count; i++) {
		if (fb->kind == FEEDBACK_BOUNCE && fb->rcpts[i].type == BOUNCE_PERMANENT &&
		    bounce_trusted(o, fb->rcpts[i].address))
			add.bounces++;
		else if (fb->kind == FEEDBACK_COMPLAINT)
			add.complaints++;
	}
	if (fb->kind == FEEDBACK_COMPLAINT && add.complaints == 0)
		add.complaints = 1; /* a report that names no recipient is still one complaint */
	if (add.bounces == 0 && add.complaints == 0)
		return;
	domain = fb->orig.from != NULL ? first_address_domain(fb->orig.from) : NULL;
	reputation_count(svc->reputation, o->stream, domain, &add);
	free(domain);
}

/* ------------------------------------------------------------ disposition */

static int
action_of(const struct msg *msg, const struct feedback *fb)
{
	return fb->kind == FEEDBACK_COMPLAINT ? msg->policy->feedback_complaint_action
	                                      : msg->policy->feedback_bounce_action;
}

static sfsistat
dispose(SMFICTX *ctx, struct conn *conn, struct msg *msg, const struct feedback *fb,
        const char **done)
{
	struct buf value = BUF_INIT, err = BUF_INIT;
	int action = action_of(msg, fb);
	sfsistat verdict = SMFIS_ACCEPT;

	/* Discard only what was for feedback addresses alone. */
	if (action == FEEDBACK_ACTION_DISCARD && msg->feedback_rcpts == msg->rcpt_count) {
		*done = "discard";
		return SMFIS_DISCARD;
	}
	*done = "deliver";
	if (action == FEEDBACK_ACTION_HEADER) {
		buf_printf(&value, " %s", feedback_kind_name(fb->kind));
		for (size_t i = 0; i < fb->rcpt_count && i < 5; i++)
			buf_printf(&value, "; %s=%s/%s", fb->rcpts[i].address,
			           bounce_type_name(fb->rcpts[i].type),
			           bounce_subtype_name(fb->rcpts[i].subtype));
		edit_add_header(msg, "X-Mailward-Feedback", buf_str(&value));
		*done = "deliver+header";
	}
	if (edits_apply(ctx, msg, conn->leadspc, &err) < 0)
		verdict = verdict_on_failure(ctx, msg->policy->on_internal_error, msg->qid,
		                             "internal error", buf_str(&err));
	buf_free(&value);
	buf_free(&err);
	return verdict;
}

/* One report read: parsed, correlated, its events written, suppression applied. */
struct reading {
	struct feedback fb;
	struct origin o;
	struct buf names, err;
	enum feedback_kind kind;
	int events; /* -1: the spool failed (errno) */
	int suppressed;
};

static void
reading_free(struct reading *r)
{
	feedback_free(&r->fb);
	send_record_free(&r->o.sent);
	buf_free(&r->err);
	buf_free(&r->names);
}

/* An auto-reply is a person's answer, not a report: it goes where the MTA sends it. */
static bool
is_report(enum feedback_kind kind)
{
	return kind != FEEDBACK_ERROR && kind != FEEDBACK_NOT_FEEDBACK &&
	       kind != FEEDBACK_AUTOREPLY;
}

static sfsistat spool_failed(SMFICTX *ctx, const struct services *svc, const struct msg *msg);

/*
 * Parse what was kept (is_report(r->kind) says whether it was a report),
 * correlate it, put its addresses on the suppression list, then write its
 * events: the suppression first, so a store that fails leaves no events
 * behind and the MTA's retry writes them once.  SMFIS_CONTINUE, or the
 * verdict of the failure (failure.internal_error, spool_unwritable).
 */
static sfsistat
read_report(SMFICTX *ctx, const struct services *svc, struct msg *msg, struct reading *r)
{
	memset(r, 0, sizeof(*r));
	feedback_init();
	r->kind = feedback_parse(msg->feedback_raw ? msg->feedback_raw->data : "",
	                         msg->feedback_raw ? msg->feedback_raw->len : 0, &r->fb, &r->err);
	if (!is_report(r->kind))
		return SMFIS_CONTINUE;
	correlate(svc, msg, &r->fb, &r->o);
	buf_reset(&r->err);
	r->suppressed = suppress(svc, msg, &r->fb, &r->o, &r->err);
	if (r->suppressed < 0) {
		sfsistat verdict =
		    verdict_on_failure(ctx, msg->policy->on_internal_error, msg->qid,
		                       "suppression list unavailable", buf_str(&r->err));
		if (verdict != SMFIS_ACCEPT)
			return verdict;
		r->suppressed = 0; /* failure.internal_error = accept: events, delivery as usual */
	}
	r->events = write_events(svc, msg, &r->fb, &r->o, &r->names);
	if (r->events < 0)
		return spool_failed(ctx, svc, msg);
	stats_feedback(svc, msg->policy, &r->fb, r->o.stream);
	count_feedback(svc, &r->fb, &r->o);
	return SMFIS_CONTINUE;
}

static const char *
unread_reason(const struct reading *r)
{
	return r->kind == FEEDBACK_ERROR       ? buf_str(&r->err)
	       : r->kind == FEEDBACK_AUTOREPLY ? "an auto-reply (RFC 3834)"
	                                       : "no bounce or complaint in it";
}

static sfsistat
spool_failed(SMFICTX *ctx, const struct services *svc, const struct msg *msg)
{
	char detail[300];

	snprintf(detail, sizeof(detail), "feedback events not written to %s: %s",
	         spool_dir(svc->spool), strerror(errno));
	return verdict_on_failure(ctx, msg->policy->on_spool_unwritable, msg->qid,
	                          "event spool unwritable", detail);
}

static void
log_reading(const struct msg *msg, const struct reading *r, const char *what, const char *done)
{
	log_info(msg->qid,
	         "%s kind=%s format=%s rcpts=%zu correlation=%s mail_id=%s events=%s "
	         "suppressed=%d action=%s%s",
	         what, feedback_kind_name(r->fb.kind), r->fb.format ? r->fb.format : "-",
	         r->fb.rcpt_count, r->o.correlation ? r->o.correlation : "none",
	         r->o.mail_id[0] ? r->o.mail_id : "-", r->names.len ? buf_str(&r->names) : "-",
	         r->suppressed, done, msg->feedback_truncated ? " truncated" : "");
}

sfsistat
feedback_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg)
{
	struct reading r;
	const char *done = "deliver";
	sfsistat verdict = read_report(ctx, svc, msg, &r);

	if (!is_report(r.kind)) {
		log_notice(msg->qid, "feedback: not a report mailward can read (%s); delivered",
		           unread_reason(&r));
		verdict = SMFIS_ACCEPT;
	} else if (verdict == SMFIS_CONTINUE) {
		verdict = dispose(ctx, conn, msg, &r.fb, &done);
		log_reading(msg, &r, "feedback", done);
	}
	reading_free(&r);
	return verdict;
}

bool
feedback_report_detect(struct msg *msg)
{
	const char *type = NULL;

	if (!msg->policy->feedback_read_reports)
		return false;
	for (size_t i = 0; i < msg->header_count && type == NULL; i++)
		if (strcasecmp(msg->headers[i].name, "Content-Type") == 0)
			type = msg->headers[i].value;
	if (type == NULL || strcasestr(type, "multipart/report") == NULL ||
	    (strcasestr(type, "delivery-status") == NULL &&
	     strcasestr(type, "feedback-report") == NULL))
		return false;
	msg->report_copy = true;
	for (size_t i = 0; i < msg->header_count; i++)
		feedback_keep_header(msg, msg->headers[i].name, msg->headers[i].value);
	feedback_keep_eoh(msg);
	return true;
}

sfsistat
feedback_report_eom(SMFICTX *ctx, const struct services *svc, struct msg *msg)
{
	struct reading r;
	sfsistat verdict = read_report(ctx, svc, msg, &r);

	if (!is_report(r.kind))
		log_info(msg->qid, "report: not one mailward can read (%s)", unread_reason(&r));
	else if (verdict == SMFIS_CONTINUE)
		log_reading(msg, &r, "report", "usual");
	reading_free(&r);
	return verdict;
}
