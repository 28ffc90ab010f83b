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
#include "common/suppression.h"
#include "common/timefmt.h"
#include "common/verp.h"
#include "common/xalloc.h"
#include "milter/feedback_in.h"
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
	uint32_t rcpt_hash; /* the token's recipient, 0 when it named several */
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
	o->rcpt_hash = t.rcpt_hash;
	for (size_t i = 0; i < policy->stream_count; i++)
		if ((uint16_t)verp_hash(policy->streams[i].name) == t.stream_hash)
			o->stream = policy->streams[i].name;
	o->correlation = "verp";
	return true;
}

/* The recipient (where the bounce came), else a token the report returned. */
static void
correlate(const struct msg *msg, const struct feedback *fb, struct origin *o)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		char *address = address_strip_brackets(msg->rcpts[i]);
		bool ok = try_token(msg->policy, address, o);
		free(address);
		if (ok)
			return;
	}
	for (size_t i = 0; i < fb->orig.token_count; i++)
		if (try_token(msg->policy, fb->orig.tokens[i], o))
			return;
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
	};
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
 * message (and, when the token names one recipient, to that address):
 * anyone can send a DSN to a bounce domain, and it must not be a way to
 * silence somebody else's mail.
 */
static bool
bounce_trusted(const struct origin *o, const char *address)
{
	return o->correlation != NULL && (o->rcpt_hash == 0 || o->rcpt_hash == verp_hash(address));
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

sfsistat
feedback_eom(SMFICTX *ctx, const struct services *svc, struct conn *conn, struct msg *msg)
{
	struct feedback fb;
	struct buf err = BUF_INIT, names = BUF_INIT;
	struct origin o;
	const char *done = "deliver";
	enum feedback_kind kind;
	sfsistat verdict;
	int events, suppressed;
	char detail[300];

	feedback_init();
	memset(&fb, 0, sizeof(fb));
	kind = feedback_parse(msg->feedback_raw ? msg->feedback_raw->data : "",
	                      msg->feedback_raw ? msg->feedback_raw->len : 0, &fb, &err);
	if (kind == FEEDBACK_ERROR || kind == FEEDBACK_NOT_FEEDBACK) {
		log_notice(msg->qid, "feedback: not a report mailward can read (%s); delivered",
		           kind == FEEDBACK_ERROR ? buf_str(&err) : "no bounce or complaint in it");
		buf_free(&err);
		feedback_free(&fb);
		return SMFIS_ACCEPT;
	}
	correlate(msg, &fb, &o);
	buf_reset(&err);
	suppressed = suppress(svc, msg, &fb, &o, &err);
	if (suppressed < 0) {
		verdict = verdict_on_failure(ctx, msg->policy->on_internal_error, msg->qid,
		                             "suppression list unavailable", buf_str(&err));
		if (verdict != SMFIS_ACCEPT)
			goto out;
		suppressed = 0; /* failure.internal_error = accept: events, delivery as usual */
	}
	events = write_events(svc, msg, &fb, &o, &names);
	if (events < 0) {
		snprintf(detail, sizeof(detail), "feedback events not written to %s: %s",
		         spool_dir(svc->spool), strerror(errno));
		verdict = verdict_on_failure(ctx, msg->policy->on_spool_unwritable, msg->qid,
		                             "event spool unwritable", detail);
	} else {
		verdict = dispose(ctx, conn, msg, &fb, &done);
		log_info(msg->qid,
		         "feedback kind=%s format=%s rcpts=%zu correlation=%s mail_id=%s events=%s "
		         "suppressed=%d action=%s%s",
		         feedback_kind_name(fb.kind), fb.format ? fb.format : "-", fb.rcpt_count,
		         o.correlation ? o.correlation : "none", o.mail_id[0] ? o.mail_id : "-",
		         names.len ? buf_str(&names) : "-", suppressed, done,
		         msg->feedback_truncated ? " truncated" : "");
	}
out:
	feedback_free(&fb);
	buf_free(&err);
	buf_free(&names);
	return verdict;
}
