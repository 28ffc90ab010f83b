/*
 * feedback_json - SES-shaped Bounce, DeliveryDelay, Delivery and Complaint
 * events; see feedback.h
 *
 * The recipients of a parse fall into events by what happened to them:
 * failed recipients by (bounceType, bounceSubType), delayed ones into one
 * DeliveryDelay, delivered ones into one Delivery.  Event number i is the
 * i-th such group in recipient order, so the numbering is stable.
 *
 * Size: header values and common headers are capped, mail.headers stop
 * at FEEDBACK_MAX_HEADERS; if the document still passes
 * FEEDBACK_MAX_EVENT it is rebuilt without mail.headers, then with fewer
 * recipients, until it fits.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/feedback_impl.h"
#include "common/header.h"
#include "common/timefmt.h"
#include "common/utf8.h"
#include "common/xalloc.h"

#define MAX_VALUE     2048
#define MAX_ADDRESSES 50

enum group_kind { GROUP_BOUNCE, GROUP_DELAY, GROUP_DELIVERY, GROUP_COMPLAINT };

struct group {
	enum group_kind kind;
	enum bounce_type type;
	enum bounce_subtype subtype;
};

/* A JSON string from outside text: capped, repaired if not UTF-8; null for NULL. */
static json_t *
json_text(const char *s)
{
	char *capped, *clean;
	json_t *value;

	if (s == NULL)
		return json_null();
	capped = fb_capped(s, MAX_VALUE);
	if (utf8_valid(capped, strlen(capped))) {
		value = json_string(capped);
	} else {
		clean = utf8_sanitize(capped, strlen(capped));
		value = json_string(clean);
		free(clean);
	}
	free(capped);
	return value != NULL ? value : json_string("");
}

static void
set_text(json_t *object, const char *key, const char *value)
{
	if (value != NULL)
		json_object_set_new(object, key, json_text(value));
}

static enum group_kind
rcpt_group_kind(const struct feedback *fb, const struct feedback_rcpt *r)
{
	if (fb->kind == FEEDBACK_COMPLAINT)
		return GROUP_COMPLAINT;
	if (r->action != NULL && strcmp(r->action, "delayed") == 0)
		return GROUP_DELAY;
	if (r->action != NULL &&
	    (strcmp(r->action, "delivered") == 0 || strcmp(r->action, "relayed") == 0 ||
	     strcmp(r->action, "expanded") == 0))
		return GROUP_DELIVERY;
	return GROUP_BOUNCE;
}

static struct group
rcpt_group(const struct feedback *fb, const struct feedback_rcpt *r)
{
	struct group g = { rcpt_group_kind(fb, r), r->type, r->subtype };

	if (g.kind != GROUP_BOUNCE) {
		g.type = BOUNCE_UNDETERMINED;
		g.subtype = BOUNCE_SUB_UNDETERMINED;
	}
	return g;
}

static bool
group_equal(struct group a, struct group b)
{
	return a.kind == b.kind && a.type == b.type && a.subtype == b.subtype;
}

static bool
events_possible(const struct feedback *fb)
{
	return fb->kind == FEEDBACK_BOUNCE || fb->kind == FEEDBACK_DELAY ||
	       fb->kind == FEEDBACK_DELIVERY || fb->kind == FEEDBACK_COMPLAINT;
}

/* The distinct groups in recipient order; *count of them. */
static size_t
groups_list(const struct feedback *fb, struct group *out, size_t max)
{
	size_t count = 0;

	if (!events_possible(fb))
		return 0;
	if (fb->kind == FEEDBACK_COMPLAINT) {
		out[0] =
		    (struct group){ GROUP_COMPLAINT, BOUNCE_UNDETERMINED, BOUNCE_SUB_UNDETERMINED };
		return 1;
	}
	/* A bounce nobody could read still says the message bounced (the VERP token may say whom).
	 */
	if (fb->kind == FEEDBACK_BOUNCE && fb->rcpt_count == 0) {
		out[0] =
		    (struct group){ GROUP_BOUNCE, BOUNCE_UNDETERMINED, BOUNCE_SUB_UNDETERMINED };
		return 1;
	}
	for (size_t i = 0; i < fb->rcpt_count && count < max; i++) {
		struct group g = rcpt_group(fb, &fb->rcpts[i]);
		bool seen = false;
		for (size_t j = 0; j < count; j++)
			seen = seen || group_equal(out[j], g);
		if (!seen)
			out[count++] = g;
	}
	return count;
}

size_t
feedback_event_count(const struct feedback *fb)
{
	struct group groups[FEEDBACK_MAX_RCPTS + 1];

	return groups_list(fb, groups, FEEDBACK_MAX_RCPTS + 1);
}

static json_t *
address_array(const char *value)
{
	struct addrlist list;
	json_t *array = json_array();

	addrlist_split(value != NULL ? value : "", &list);
	for (size_t i = 0; i < list.count && i < MAX_ADDRESSES; i++)
		json_array_append_new(array, json_text(list.items[i]));
	addrlist_free(&list);
	return array;
}

static json_t *
header_array(const struct feedback_original *o, bool *truncated)
{
	json_t *array = json_array();
	size_t bytes = 0;

	*truncated = false;
	for (size_t i = 0; i < o->header_count; i++) {
		const char *value = o->headers[i].value + strspn(o->headers[i].value, " \t");
		bytes += strlen(o->headers[i].name) + strlen(value);
		if (bytes > FEEDBACK_MAX_HEADERS) {
			*truncated = true;
			break;
		}
		json_array_append_new(array,
		                      json_pack("{s:o, s:o}", "name", json_text(o->headers[i].name),
		                                "value", json_text(value)));
	}
	return array;
}

static json_t *
common_headers(const struct feedback_original *o)
{
	json_t *common = json_object();

	if (o->from != NULL)
		json_object_set_new(common, "from", address_array(o->from));
	if (o->to != NULL)
		json_object_set_new(common, "to", address_array(o->to));
	if (o->message_id != NULL)
		json_object_set_new(common, "messageId", json_text(o->message_id));
	set_text(common, "subject", o->subject);
	set_text(common, "date", o->date);
	return common;
}

/* The Send event's tags, when the caller has them; else an empty object. */
static json_t *
sent_tags(const struct feedback_mail *mail)
{
	json_t *tags = mail != NULL && mail->tags_json != NULL
	                   ? json_loads(mail->tags_json, JSON_REJECT_DUPLICATES, NULL)
	                   : NULL;

	if (tags != NULL && json_is_object(tags))
		return tags;
	json_decref(tags);
	return json_object();
}

static json_t *
mail_tags(const struct feedback *fb, const struct feedback_mail *mail)
{
	json_t *tags = sent_tags(mail);
	const char *stream = mail != NULL && mail->stream != NULL ? mail->stream : fb->orig.stream;
	const char *set = fb->orig.configuration_set != NULL ? fb->orig.configuration_set : stream;
	const char *correlation =
	    mail != NULL && mail->correlation != NULL ? mail->correlation : "none";

	if (set != NULL && json_object_get(tags, "ses:configuration-set") == NULL)
		json_object_set_new(tags, "ses:configuration-set",
		                    json_pack("[o]", json_text(set)));
	if (fb->orig.feedback_id != NULL)
		json_object_set_new(tags, "mailward:feedback-id",
		                    json_pack("[o]", json_text(fb->orig.feedback_id)));
	json_object_set_new(tags, "mailward:correlation", json_pack("[s]", correlation));
	return tags;
}

static json_t *
mail_destination(const struct feedback *fb, const struct feedback_mail *mail)
{
	json_t *array;

	if (mail != NULL && mail->destination != NULL) {
		array = json_array();
		for (size_t i = 0; i < mail->destination_count; i++)
			json_array_append_new(array, json_text(mail->destination[i]));
		return array;
	}
	if (fb->orig.to != NULL)
		return address_array(fb->orig.to);
	array = json_array();
	for (size_t i = 0; i < fb->rcpt_count && i < MAX_ADDRESSES; i++)
		json_array_append_new(array, json_text(fb->rcpts[i].address));
	return array;
}

static json_t *
mail_object(const struct feedback *fb, const struct feedback_mail *mail, bool with_headers)
{
	const struct feedback_original *o = &fb->orig;
	json_t *obj = json_object();
	bool truncated = false;
	char *date = fb_date_iso8601(o->date), *source = NULL;
	struct addrlist from;

	addrlist_split(o->from != NULL ? o->from : "", &from);
	if (from.count > 0)
		source = fb_bare_address(from.items[0]);
	addrlist_free(&from);
	set_text(obj, "timestamp",
	         mail != NULL && mail->timestamp != NULL ? mail->timestamp : date);
	set_text(obj, "source", mail != NULL && mail->source != NULL ? mail->source : source);
	if (mail != NULL)
		set_text(obj, "sourceIp", mail->source_ip);
	json_object_set_new(obj, "messageId", json_text(mail != NULL ? mail->message_id : NULL));
	json_object_set_new(obj, "destination", mail_destination(fb, mail));
	json_t *headers = with_headers ? header_array(o, &truncated) : json_array();
	json_object_set_new(obj, "headersTruncated",
	                    json_boolean(truncated || (!with_headers && o->header_count > 0)));
	json_object_set_new(obj, "headers", headers);
	json_object_set_new(obj, "commonHeaders", common_headers(o));
	json_object_set_new(obj, "tags", mail_tags(fb, mail));
	free(date);
	free(source);
	return obj;
}

static const char *
event_time(const struct feedback *fb, char now[TIMEFMT_ISO8601_LEN])
{
	struct timespec ts;

	if (fb->timestamp != NULL)
		return fb->timestamp;
	clock_gettime(CLOCK_REALTIME, &ts);
	timefmt_iso8601(&ts, now, TIMEFMT_ISO8601_LEN);
	return now;
}

static json_t *
recipient_entry(const struct feedback_rcpt *r, enum group_kind kind)
{
	json_t *entry;

	/* SES: delivery.recipients are bare addresses, complaints name only the address. */
	if (kind == GROUP_DELIVERY)
		return json_text(r->address);
	entry = json_object();
	json_object_set_new(entry, "emailAddress", json_text(r->address));
	if (kind == GROUP_COMPLAINT)
		return entry;
	if (kind == GROUP_BOUNCE)
		set_text(entry, "action", r->action);
	set_text(entry, "status", r->status);
	set_text(entry, "diagnosticCode", r->diagnostic);
	return entry;
}

static const char *
delay_type(const struct feedback_rcpt *r)
{
	if (r->subtype == BOUNCE_SUB_MAILBOX_FULL)
		return "MailboxFull";
	if (r->subtype == BOUNCE_SUB_CONTENT_REJECTED)
		return "SpamDetected";
	if (r->diagnostic != NULL && fb_find_reply_class(r->diagnostic) != 0)
		return "RecipientServerError";
	if (r->diagnostic != NULL || r->status != NULL)
		return "TransientCommunicationFailure";
	return "Undetermined";
}

/* The group's recipients (at most max_rcpts) and its first one. */
static json_t *
group_recipients(const struct feedback *fb, struct group g, size_t max_rcpts,
                 const struct feedback_rcpt **first)
{
	json_t *array = json_array();
	size_t n = 0;

	*first = NULL;
	for (size_t i = 0; i < fb->rcpt_count && n < max_rcpts; i++) {
		const struct feedback_rcpt *r = &fb->rcpts[i];
		if (!group_equal(rcpt_group(fb, r), g) && g.kind != GROUP_COMPLAINT)
			continue;
		if (*first == NULL)
			*first = r;
		json_array_append_new(array, recipient_entry(r, g.kind));
		n++;
	}
	return array;
}

/* Milliseconds since the epoch of an ISO 8601 UTC time as events write it; -1 if not one. */
static long long
iso_millis(const char *text)
{
	struct tm tm = { 0 };
	int ms = 0, n = 0;

	if (text == NULL || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	                           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	if (text[n] == '.' && sscanf(text + n + 1, "%3d", &ms) != 1)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm) * 1000 + ms;
}

/*
 * SES's processingTimeMillis: from the send (the caller's mail.timestamp)
 * to the report's Date.  A Date has whole seconds, so a report written in
 * the second of the send may seem to precede it: that is 0.
 */
static void
set_processing_time(json_t *d, const struct feedback_mail *mail, const char *when)
{
	long long sent = iso_millis(mail != NULL ? mail->timestamp : NULL), done = iso_millis(when);

	if (sent > 0 && done > sent - 1000)
		json_object_set_new(d, "processingTimeMillis",
		                    json_integer(done > sent ? done - sent : 0));
}

static json_t *
detail_object(const struct feedback *fb, const struct feedback_mail *mail, struct group g,
              size_t max_rcpts, const char *when)
{
	const struct feedback_rcpt *first;
	json_t *rcpts = group_recipients(fb, g, max_rcpts, &first);
	json_t *d = json_object();
	char *arrival = NULL;

	switch (g.kind) {
	case GROUP_BOUNCE:
		json_object_set_new(d, "bounceType", json_string(bounce_type_name(g.type)));
		json_object_set_new(d, "bounceSubType",
		                    json_string(bounce_subtype_name(g.subtype)));
		json_object_set_new(d, "bouncedRecipients", rcpts);
		break;
	case GROUP_DELAY:
		json_object_set_new(
		    d, "delayType",
		    json_string(first != NULL ? delay_type(first) : "Undetermined"));
		arrival = fb_date_iso8601(fb->expiration);
		set_text(d, "expirationTime", arrival != NULL ? arrival : fb->expiration);
		free(arrival);
		json_object_set_new(d, "delayedRecipients", rcpts);
		break;
	case GROUP_DELIVERY:
		json_object_set_new(d, "recipients", rcpts);
		if (first != NULL)
			set_text(d, "smtpResponse", first->diagnostic);
		set_processing_time(d, mail, when);
		break;
	case GROUP_COMPLAINT:
		json_object_set_new(d, "complainedRecipients", rcpts);
		json_object_set_new(d, "complaintSubType", json_null());
		set_text(d, "userAgent", fb->user_agent);
		set_text(d, "complaintFeedbackType", fb->feedback_type);
		arrival = fb_date_iso8601(fb->arrival_date);
		set_text(d, "arrivalDate", arrival != NULL ? arrival : fb->arrival_date);
		free(arrival);
		break;
	}
	json_object_set_new(d, "timestamp", json_string(when));
	json_object_set_new(d, "feedbackId", json_text(fb->feedback_id));
	if (g.kind != GROUP_COMPLAINT) {
		set_text(d, "reportingMTA", fb->reporting_mta);
		set_text(d, "remoteMtaIp", fb->remote_mta_ip);
	}
	return d;
}

static const char *const type_names[] = { "Bounce", "DeliveryDelay", "Delivery", "Complaint" };
static const char *const detail_keys[] = { "bounce", "deliveryDelay", "delivery", "complaint" };

static char *
event_dump(const struct feedback *fb, const struct feedback_mail *mail, enum feedback_shape shape,
           struct group g, bool with_headers, size_t max_rcpts)
{
	char now[TIMEFMT_ISO8601_LEN];
	const char *type_key =
	    shape == FEEDBACK_SHAPE_NOTIFICATION ? "notificationType" : "eventType";
	json_t *event = json_object();
	char *text;

	json_object_set_new(event, type_key, json_string(type_names[g.kind]));
	json_object_set_new(event, "mail", mail_object(fb, mail, with_headers));
	json_object_set_new(event, detail_keys[g.kind],
	                    detail_object(fb, mail, g, max_rcpts, event_time(fb, now)));
	text = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(event);
	return text;
}

char *
feedback_event_json(const struct feedback *fb, const struct feedback_mail *mail,
                    enum feedback_shape shape, size_t index, size_t *len)
{
	struct group groups[FEEDBACK_MAX_RCPTS + 1];
	size_t count = groups_list(fb, groups, FEEDBACK_MAX_RCPTS + 1);
	size_t max_rcpts = FEEDBACK_MAX_RCPTS;
	bool with_headers = true;
	char *text;

	if (index >= count)
		return NULL;
	for (;;) {
		text = event_dump(fb, mail, shape, groups[index], with_headers, max_rcpts);
		if (text == NULL)
			return NULL;
		*len = strlen(text);
		if (*len + 1 <= FEEDBACK_MAX_EVENT || max_rcpts == 0)
			break;
		free(text);
		if (with_headers)
			with_headers = false;
		else
			max_rcpts /= 2;
	}
	text = xrealloc(text, *len + 2);
	text[(*len)++] = '\n';
	text[*len] = '\0';
	return text;
}
