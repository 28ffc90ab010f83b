/*
 * feedback - what kind of feedback a message is; see feedback.h
 *
 * Order of the questions: a feedback-report part makes a complaint; a
 * delivery-status part makes a bounce, delay or delivery by its
 * recipients' actions; a message that looks like a bounce (from
 * MAILER-DAEMON or postmaster, a bounce subject, or the texts of the
 * common MTAs) is read as text; only then is an RFC 3834 auto-reply an
 * auto-reply.  The order matters: DSNs carry "Auto-Submitted:
 * auto-replied" too.
 */
#include "config.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/feedback_impl.h"
#include "common/header.h"
#include "common/xalloc.h"

static const char *const bounce_senders[] = {
	"mailer-daemon@", "postmaster@", "mail-daemon@", "mailerdaemon@", "<>",
};

static const char *const bounce_subjects[] = {
	"undeliver",
	"delivery status notification",
	"mail delivery failed",
	"failure notice",
	"returned mail",
	"delivery failure",
	"non-delivery",
	"could not be delivered",
	"delivery has failed",
	"mail system error",
	"nondeliverable",
	"delivery failed",
};

static const char *const autoreply_subjects[] = {
	"out of office", "auto:",    "automatic reply", "autoreply",
	"auto-reply",    "vacation", "away from",
};

static bool
any_word(const char *text, const char *const *words, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (fb_contains_ci(text, words[i]))
			return true;
	return false;
}

#define ANY(text, words) any_word(text, words, sizeof(words) / sizeof(words[0]))

/* Sent by a mail system, not a person: a daemon sender, a DSN, an MTA's own words. */
static bool
surely_a_bounce(const struct fb_parts *parts)
{
	const char *from = fb_header(parts->headers, parts->header_count, "From");
	const char *text = buf_str(&parts->text);

	return ANY(from, bounce_senders) || strstr(text, "qmail-send program") != NULL ||
	       strstr(text, "by mail delivery software") != NULL ||
	       (parts->report_type != NULL && strcmp(parts->report_type, "delivery-status") == 0);
}

static bool
looks_like_bounce(const struct fb_parts *parts)
{
	const char *subject = fb_header(parts->headers, parts->header_count, "Subject");

	return surely_a_bounce(parts) || ANY(subject, bounce_subjects);
}

/* What only auto-replies carry (bounces carry Auto-Submitted too). */
static bool
vacation_markers(const struct fb_parts *parts)
{
	const struct feedback_header *h = parts->headers;
	size_t n = parts->header_count;

	return fb_header(h, n, "X-Autoreply") != NULL || fb_header(h, n, "X-Autorespond") != NULL ||
	       fb_contains_ci(fb_header(h, n, "Precedence"), "auto_reply") ||
	       ANY(fb_header(h, n, "Subject"), autoreply_subjects);
}

/* RFC 3834: any Auto-Submitted value but "no" is automatic. */
static bool
looks_like_autoreply(const struct fb_parts *parts)
{
	const char *auto_submitted =
	    fb_header(parts->headers, parts->header_count, "Auto-Submitted");

	if (auto_submitted != NULL) {
		auto_submitted += strspn(auto_submitted, " \t");
		if (strncasecmp(auto_submitted, "no", 2) != 0 ||
		    isalnum((unsigned char)auto_submitted[2]) || auto_submitted[2] == '-')
			return true;
	}
	return vacation_markers(parts);
}

static enum feedback_kind
kind_of_dsn(const struct feedback *fb)
{
	bool failed = false, delayed = false, delivered = false;

	for (size_t i = 0; i < fb->rcpt_count; i++) {
		const char *a = fb->rcpts[i].action;
		if (strcmp(a, "delayed") == 0)
			delayed = true;
		else if (strcmp(a, "delivered") == 0 || strcmp(a, "relayed") == 0 ||
		         strcmp(a, "expanded") == 0)
			delivered = true;
		else
			failed = true;
	}
	if (failed)
		return FEEDBACK_BOUNCE;
	if (delayed)
		return FEEDBACK_DELAY;
	if (delivered)
		return FEEDBACK_DELIVERY;
	return FEEDBACK_NOT_FEEDBACK;
}

/*
 * A bounce nobody could read: Undetermined, for the recipients Exim names
 * in X-Failed-Recipients, else the original's.
 */
static void
undetermined_bounce(const struct fb_parts *parts, struct feedback *fb)
{
	const char *failed = fb_header(parts->headers, parts->header_count, "X-Failed-Recipients");
	struct addrlist list;

	addrlist_split(failed != NULL ? failed : fb->orig.to != NULL ? fb->orig.to : "", &list);
	for (size_t i = 0; i < list.count; i++) {
		struct buf reason = BUF_INIT;
		char *bare = fb_bare_address(list.items[i]);
		fb_text_diagnostic_for(parts, bare, &reason);
		fb_add_rcpt(fb, list.items[i], "failed", NULL, reason.len > 0 ? reason.data : NULL);
		buf_free(&reason);
		free(bare);
	}
	addrlist_free(&list);
	fb->format = failed != NULL ? "x-failed-recipients" : "unreadable";
}

char *
fb_date_iso8601(const char *value)
{
	GDateTime *date, *utc;
	char *text, *copy;

	if (value == NULL)
		return NULL;
	date = g_mime_utils_header_decode_date(value);
	if (date == NULL)
		return NULL;
	utc = g_date_time_to_utc(date);
	text = g_date_time_format(utc, "%Y-%m-%dT%H:%M:%S.000Z");
	copy = text != NULL ? xstrdup(text) : NULL;
	g_free(text);
	g_date_time_unref(utc);
	g_date_time_unref(date);
	return copy;
}

/* A stable ID: the same message always gets the same one (replays de-duplicate). */
static char *
message_digest(const char *msg, size_t len)
{
	unsigned char md[32];
	unsigned int md_len = 0;
	char *hex = xmalloc(2 * 16 + 1);

	EVP_Digest(msg, len, md, &md_len, EVP_sha256(), NULL);
	for (size_t i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return hex;
}

static enum feedback_kind
classify_message(const struct fb_parts *parts, struct feedback *fb)
{
	if (parts->has_arf) {
		fb_arf_read(parts, fb);
		return FEEDBACK_COMPLAINT;
	}
	if (parts->has_dsn) {
		fb_dsn_read(buf_str(&parts->dsn), parts->dsn.len, fb);
		fb->format = "rfc3464";
		if (fb->rcpt_count > 0)
			return kind_of_dsn(fb);
	} else if (parts->raw_body && fb_contains_ci(buf_str(&parts->text), "Final-Recipient:")) {
		/* Broken MIME (no boundary) around what is still a DSN's fields. */
		fb_dsn_read(buf_str(&parts->text), parts->text.len, fb);
		fb->format = "rfc3464-broken";
		if (fb->rcpt_count > 0)
			return kind_of_dsn(fb);
	}
	/*
	 * A bounce-like subject alone is not enough to call a message that names
	 * no failed recipient a bounce: people write "Delivery failed" too.
	 */
	if (looks_like_bounce(parts)) {
		bool named = fb_text_read(parts, fb);
		/* An out-of-office reply sent from postmaster@ names no failure. */
		if (!named && vacation_markers(parts))
			return FEEDBACK_AUTOREPLY;
		if (named || surely_a_bounce(parts)) {
			if (fb->rcpt_count == 0)
				undetermined_bounce(parts, fb);
			return kind_of_dsn(fb) == FEEDBACK_NOT_FEEDBACK ? FEEDBACK_BOUNCE
			                                                : kind_of_dsn(fb);
		}
	}
	if (looks_like_autoreply(parts))
		return FEEDBACK_AUTOREPLY;
	return FEEDBACK_NOT_FEEDBACK;
}

enum feedback_kind
feedback_parse(const char *msg, size_t len, struct feedback *out, struct buf *err)
{
	struct fb_parts parts;

	memset(out, 0, sizeof(*out));
	memset(&parts, 0, sizeof(parts));
	out->kind = FEEDBACK_ERROR;
	if (len == 0) {
		buf_puts(err, "empty message");
		return out->kind;
	}
	if (fb_mime_walk(msg, len, &parts, &out->orig, err) < 0) {
		fb_parts_free(&parts);
		return out->kind;
	}
	out->kind = classify_message(&parts, out);
	const char *subject = fb_header(parts.headers, parts.header_count, "Subject");
	out->subject = subject != NULL ? xstrdup(subject) : NULL;
	out->timestamp = fb_date_iso8601(fb_header(parts.headers, parts.header_count, "Date"));
	out->feedback_id = message_digest(msg, len);
	fb_parts_free(&parts);
	return out->kind;
}

static void
original_free(struct feedback_original *o)
{
	for (size_t i = 0; i < o->header_count; i++) {
		free(o->headers[i].name);
		free(o->headers[i].value);
	}
	free(o->headers);
	free(o->message_id);
	free(o->from);
	free(o->to);
	free(o->subject);
	free(o->date);
	free(o->return_path);
	free(o->feedback_id);
	free(o->configuration_set);
	free(o->stream);
	for (size_t i = 0; i < o->token_count; i++)
		free(o->tokens[i]);
}

void
feedback_free(struct feedback *fb)
{
	for (size_t i = 0; i < fb->rcpt_count; i++) {
		free(fb->rcpts[i].address);
		free(fb->rcpts[i].original);
		free(fb->rcpts[i].action);
		free(fb->rcpts[i].status);
		free(fb->rcpts[i].diagnostic);
		free(fb->rcpts[i].remote_mta);
	}
	free(fb->rcpts);
	free(fb->reporting_mta);
	free(fb->remote_mta_ip);
	free(fb->arrival_date);
	free(fb->expiration);
	free(fb->timestamp);
	free(fb->feedback_id);
	free(fb->feedback_type);
	free(fb->user_agent);
	free(fb->source_ip);
	free(fb->subject);
	original_free(&fb->orig);
	memset(fb, 0, sizeof(*fb));
}

const char *
feedback_kind_name(enum feedback_kind kind)
{
	switch (kind) {
	case FEEDBACK_BOUNCE:
		return "bounce";
	case FEEDBACK_DELAY:
		return "delay";
	case FEEDBACK_DELIVERY:
		return "delivery";
	case FEEDBACK_COMPLAINT:
		return "complaint";
	case FEEDBACK_AUTOREPLY:
		return "autoreply";
	case FEEDBACK_NOT_FEEDBACK:
		return "not-feedback";
	case FEEDBACK_ERROR:
		break;
	}
	return "error";
}

const char *
bounce_type_name(enum bounce_type type)
{
	static const char *const names[] = { "Undetermined", "Permanent", "Transient" };

	return (size_t)type < sizeof(names) / sizeof(names[0]) ? names[type] : "Undetermined";
}

const char *
bounce_subtype_name(enum bounce_subtype subtype)
{
	static const char *const names[] = {
		"Undetermined",
		"General",
		"NoEmail",
		"Suppressed",
		"OnAccountSuppressionList",
		"MailboxFull",
		"MessageTooLarge",
		"ContentRejected",
		"AttachmentRejected",
	};

	return (size_t)subtype < sizeof(names) / sizeof(names[0]) ? names[subtype] : "Undetermined";
}
