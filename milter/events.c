/*
 * events - SES-shaped event documents; see events.h.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timefmt.h"
#include "common/utf8.h"
#include "common/xalloc.h"
#include "milter/events.h"
#include "policy/streams.h"

#define EVENT_MAX_BYTES        (256 * 1024) /* with the newline, at most */
#define EVENT_MAX_VALUE        2048
#define EVENT_MAX_DESTINATIONS 50

/* A JSON string from outside text, repaired if it is not valid UTF-8. */
static json_t *
json_text(const char *s)
{
	size_t len = strlen(s);
	json_t *value;

	if (utf8_valid(s, len))
		return json_stringn(s, len);
	char *clean = utf8_sanitize(s, len);
	value = json_string(clean);
	free(clean);
	return value;
}

static json_t *
string_array(const char *const *items, size_t count)
{
	json_t *array = json_array();

	for (size_t i = 0; i < count; i++)
		json_array_append_new(array, json_text(items[i]));
	return array;
}

static json_t *
address_array(const char *value)
{
	struct addrlist list;
	json_t *array;

	addrlist_split(value, &list);
	array = string_array((const char *const *)list.items, list.count);
	addrlist_free(&list);
	return array;
}

static json_t *
common_headers(const struct msg *msg)
{
	json_t *common = json_object();

	for (int i = 0; i < COMMON_HEADER_COUNT; i++) {
		const struct common_field *f = common_field(i);
		const char *value = msg->common[i];
		if (value == NULL)
			continue;
		json_object_set_new(common, f->key,
		                    f->addresses ? address_array(value) : json_text(value));
	}
	return common;
}

/* Headers in order, values trimmed, up to max_header_bytes (then *truncated). */
static json_t *
header_array(const struct msg *msg, bool *truncated)
{
	json_t *array = json_array();
	size_t bytes = 0, limit = (size_t)msg->policy->max_header_bytes;

	*truncated = false;
	for (size_t i = 0; i < msg->header_count; i++) {
		const char *value = msg->headers[i].value + strspn(msg->headers[i].value, " \t");
		bytes += strlen(msg->headers[i].name) + strlen(value);
		if (bytes > limit) {
			*truncated = true;
			break;
		}
		json_array_append_new(array, json_pack("{s:o, s:o}", "name",
		                                       json_text(msg->headers[i].name), "value",
		                                       json_text(value)));
	}
	return array;
}

/* Message tags: a name given twice keeps every value, as SES does. */
static void
add_tag(json_t *tags, const char *name, const char *value)
{
	json_t *values = json_object_get(tags, name);

	if (values == NULL) {
		values = json_array();
		json_object_set_new(tags, name, values);
	}
	json_array_append_new(values, json_text(value));
}

static void
tag(json_t *tags, const char *name, const char *value)
{
	if (value != NULL && *value != '\0')
		json_object_set_new(tags, name, json_pack("[o]", json_text(value)));
}

/* The stream's own tags ("name=value", checked by the loader) after the message's. */
static void
stream_tags(json_t *tags, const struct policy_stream *stream)
{
	for (size_t i = 0; stream != NULL && i < stream->tags.count; i++) {
		const char *item = stream->tags.items[i], *eq = strchr(item, '=');
		char *name = xstrndup(item, (size_t)(eq - item));
		add_tag(tags, name, eq + 1);
		free(name);
	}
}

static json_t *
mail_tags(const struct conn *conn, const struct msg *msg)
{
	char *from_domain = first_address_domain(msg->common[COMMON_FROM]);
	json_t *tags = json_object();

	tag(tags, "ses:operation", "SendSmtpEmail");
	tag(tags, "ses:source-ip", conn->client_ip);
	tag(tags, "ses:from-domain", from_domain);
	tag(tags, "ses:caller-identity", msg->auth_user);
	tag(tags, "mailward:queue-id", msg->qid);
	tag(tags, "ses:configuration-set", msg->stream);
	for (size_t i = 0; i < msg->tag_count; i++)
		add_tag(tags, msg->tags[i].name, msg->tags[i].value);
	stream_tags(tags, policy_stream_named(msg->policy, msg->stream));
	free(from_domain);
	return tags;
}

char *
event_tags_json(const struct conn *conn, const struct msg *msg)
{
	json_t *tags = mail_tags(conn, msg);
	char *text = json_dumps(tags, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(tags);
	return text;
}

static json_t *
mail_object(const struct conn *conn, const struct msg *msg)
{
	char stamp[TIMEFMT_ISO8601_LEN];
	char message_id[MAIL_ID_TEXT];
	json_t *mail, *tags = mail_tags(conn, msg), *headers;
	bool truncated;

	timefmt_iso8601(&msg->started, stamp, sizeof(stamp));
	mail_id_text(&msg->id, message_id);
	headers = header_array(msg, &truncated);
	mail = json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o}", "timestamp", stamp,
	                 "source", json_text(msg->sender), "sourceIp", json_text(conn->client_ip),
	                 "messageId", json_string(message_id), "destination",
	                 string_array((const char *const *)msg->rcpts, msg->rcpt_count),
	                 "headersTruncated", truncated, "headers", headers, "commonHeaders",
	                 common_headers(msg), "tags", tags);
	if (mail != NULL && msg->auth_user != NULL)
		json_object_set_new(mail, "callerIdentity", json_text(msg->auth_user));
	return mail;
}

/* A string value cut to at most max bytes, on a UTF-8 character boundary. */
static void
cap_string(json_t *value, size_t max)
{
	const char *s = json_string_value(value);
	size_t len = json_string_length(value);

	if (s == NULL || len <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	json_string_setn(value, s, max);
}

/*
 * Like SES, an event never passes EVENT_MAX_BYTES.  Step by step: the
 * headers go (headersTruncated), then common header values are cut, then
 * the destination keeps its first EVENT_MAX_DESTINATIONS.
 */
static void
event_shrink(json_t *event, int step)
{
	json_t *mail = json_object_get(event, "mail"), *value, *item;
	const char *key;
	size_t i;

	if (step == 0 && json_object_get(mail, "headers") != NULL) {
		json_object_set_new(mail, "headers", json_array());
		json_object_set_new(mail, "headersTruncated", json_true());
	} else if (step == 1) {
		json_object_foreach(json_object_get(mail, "commonHeaders"), key, value)
		{
			cap_string(value, EVENT_MAX_VALUE);
			json_array_foreach(value, i, item) cap_string(item, EVENT_MAX_VALUE);
		}
	} else if (step == 2) {
		value = json_object_get(mail, "destination");
		while (json_array_size(value) > EVENT_MAX_DESTINATIONS)
			json_array_remove(value, json_array_size(value) - 1);
	}
}

/* The document as one line with a newline; NULL if jansson failed. Takes event. */
static char *
finish_document(json_t *event, size_t *len)
{
	char *text;

	if (event == NULL)
		return NULL;
	text = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
	for (int step = 0; text != NULL && strlen(text) >= EVENT_MAX_BYTES && step < 3; step++) {
		free(text);
		event_shrink(event, step);
		text = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
	}
	json_decref(event);
	if (text == NULL)
		return NULL;
	*len = strlen(text);
	text = xrealloc(text, *len + 2);
	text[(*len)++] = '\n';
	text[*len] = '\0';
	return text;
}

static json_t *
topic_preferences(const char *topic, bool all, const char *status)
{
	json_t *topics = json_array();

	if (*topic != '\0')
		json_array_append_new(topics, json_pack("{s:o, s:s}", "topicName", json_text(topic),
		                                        "subscriptionStatus", status));
	return json_pack("{s:b, s:o}", "unsubscribeAll", all, "topicSubscriptionStatus", topics);
}

char *
event_subscription_json(const struct unsub_token *token, int shape, size_t *len)
{
	const char *type_key = shape == EVENT_SHAPE_NOTIFICATION ? "notificationType" : "eventType";
	bool all = token->topic[0] == '\0'; /* no topic: everything from this stream */
	char when[TIMEFMT_ISO8601_LEN];
	struct timespec now;
	json_t *mail, *tags = json_object();

	clock_gettime(CLOCK_REALTIME, &now);
	timefmt_iso8601(&now, when, sizeof(when));
	if (token->stream[0] != '\0')
		json_object_set_new(tags, "ses:configuration-set",
		                    json_pack("[o]", json_text(token->stream)));
	mail = json_pack("{s:s, s:[o], s:o}", "timestamp", when, "destination",
	                 json_text(token->rcpt), "tags", tags);
	return finish_document(
	    json_pack("{s:s, s:o, s:{s:o, s:s, s:s, s:o, s:o}}", type_key, "Subscription", "mail",
	              mail, "subscription", "contactList", json_text(token->stream), "timestamp",
	              when, "source", "UnsubscribeHeader", "newTopicPreferences",
	              topic_preferences(token->topic, all, "OptOut"), "oldTopicPreferences",
	              topic_preferences(token->topic, false, "OptIn")),
	    len);
}

char *
event_suppressed_json(const struct conn *conn, const struct msg *msg, const char *rcpt,
                      const char *diagnostic, size_t *len)
{
	const char *type_key =
	    msg->policy->event_shape == EVENT_SHAPE_NOTIFICATION ? "notificationType" : "eventType";
	char stamp[TIMEFMT_ISO8601_LEN];
	struct timespec now;
	json_t *mail = mail_object(conn, msg);

	if (mail == NULL)
		return NULL;
	json_object_set_new(mail, "destination", json_pack("[o]", json_text(rcpt)));
	clock_gettime(CLOCK_REALTIME, &now);
	timefmt_iso8601(&now, stamp, sizeof(stamp));
	return finish_document(
	    json_pack("{s:s, s:o, s:{s:s, s:s, s:[{s:o, s:s, s:s, s:o}], s:s, s:s}}", type_key,
	              "Bounce", "mail", mail, "bounce", "bounceType", "Permanent", "bounceSubType",
	              "OnAccountSuppressionList", "bouncedRecipients", "emailAddress",
	              json_text(rcpt), "action", "failed", "status", "5.1.1", "diagnosticCode",
	              json_text(diagnostic), "timestamp", stamp, "reportingMTA", "dns; mailward"),
	    len);
}

char *
event_send_json(const struct conn *conn, const struct msg *msg, size_t *len)
{
	const char *type_key =
	    msg->policy->event_shape == EVENT_SHAPE_NOTIFICATION ? "notificationType" : "eventType";
	json_t *mail = mail_object(conn, msg), *event;

	if (mail == NULL)
		return NULL;
	event = json_pack("{s:s, s:o, s:{}}", type_key, "Send", "mail", mail, "send");
	return finish_document(event, len);
}

char *
event_reject_json(const struct conn *conn, const struct msg *msg, const char *reason, size_t *len)
{
	const char *type_key =
	    msg->policy->event_shape == EVENT_SHAPE_NOTIFICATION ? "notificationType" : "eventType";
	json_t *mail = mail_object(conn, msg);

	if (mail == NULL)
		return NULL;
	return finish_document(json_pack("{s:s, s:o, s:{s:o}}", type_key, "Reject", "mail", mail,
	                                 "reject", "reason", json_text(reason)),
	                       len);
}
